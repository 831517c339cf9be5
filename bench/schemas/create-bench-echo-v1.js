{
  "type": "object",
  "properties": {
    "name": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[a-z][a-z0-9-]*$"},
    "count": {"type": "integer", "minimum": 0, "maximum": 1000000, "optional": true},
    "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 8, "optional": true},
    "born": {"type": "string", "format": "date-time", "optional": true}
  },
  "additionalProperties": false
}
