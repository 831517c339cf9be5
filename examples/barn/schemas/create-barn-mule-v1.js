// Body of PUT /barn/v1/mule/<name>: how many times the mule refuses to
// move before it does (default 2); each refusal is a WORKER_RETRY.
{
    "type": ["object", "null"],
    "additionalProperties": false,
    "properties": {
        "refusals": { "type": "integer", "minimum": 0, "maximum": 100, "optional": true }
    }
}
