// Body of PUT /bench/v1/chain/<name> (three handlers, one status) and, the
// same, of PUT /bench/v1/single/<name> (one handler): none, or an empty object.
{
  "type": ["object", "null"],
  "properties": {},
  "additionalProperties": false
}
