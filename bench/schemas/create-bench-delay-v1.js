// Body of PUT /bench/v1/delay/<name>: in how many seconds its child job runs
// (default 1; 0 = at once).
{
  "type": ["object", "null"],
  "properties": {
    "seconds": {"type": "number", "minimum": 0, "maximum": 86400, "optional": true}
  },
  "additionalProperties": false
}
