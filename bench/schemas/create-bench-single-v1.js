// Body of PUT /bench/v1/single/<name> (the same three steps in one handler)
// and, the same, of PUT /bench/v1/chain/<name>: none, or an empty object.
{
  "type": ["object", "null"],
  "properties": {},
  "additionalProperties": false
}
