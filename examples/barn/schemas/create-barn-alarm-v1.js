// Body of PUT /barn/v1/alarm/<name>: after how many seconds it rings
// (default 5), and whether the ringing is a child job of its own (delay())
// rather than a continuation of the alarm's job (afterwards with a delay).
{
    "type": ["object", "null"],
    "additionalProperties": false,
    "properties": {
        "seconds": { "type": "number", "minimum": 0, "maximum": 86400, "optional": true },
        "child":   { "type": "boolean", "optional": true }
    }
}
