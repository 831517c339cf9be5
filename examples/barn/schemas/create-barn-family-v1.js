// Body of PUT /barn/v1/family/<name>: none, or {"orphan": true} to make the
// local child fail (an update of an animal that does not exist: 404).
{
    "type": ["object", "null"],
    "additionalProperties": false,
    "properties": {
        "orphan": { "type": "boolean", "optional": true }
    }
}
