// Body of PUT /bench/v1/spin/<name>: how long the handler runs (default
// 60 s) and how often it calls gbx_status_checkpoint (default every 10 ms).
{
  "type": ["object", "null"],
  "properties": {
    "seconds": {"type": "number", "minimum": 0, "maximum": 3600, "optional": true},
    "checkpoint_ms": {"type": "number", "minimum": 1, "maximum": 60000, "optional": true}
  },
  "additionalProperties": false
}
