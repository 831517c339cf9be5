// Body of PUT /barn/v1/chore/<name>: none, or which step should go wrong
// (that step fails with 409 and the chain stops there).
{
    "type": ["object", "null"],
    "additionalProperties": false,
    "properties": {
        "fail": { "type": "string", "enum": ["feed", "milk", "sweep"], "optional": true }
    }
}
