// Body of PUT /barn/v1/field/<name>, the long job that can be cancelled:
// rows to plough (default 10) and seconds per row (0.5), seconds the
// compensation takes when cancelled (0), whether a pre-cancel guard vetoes
// every cancellation (false), and how many helper fields run as children
// here ("helpers") and in the barn next door ("neighbours").
{
    "type": ["object", "null"],
    "additionalProperties": false,
    "properties": {
        "rows":            { "type": "integer", "minimum": 1, "maximum": 100000, "optional": true },
        "row_seconds":     { "type": "number", "minimum": 0, "maximum": 60, "optional": true },
        "restore_seconds": { "type": "number", "minimum": 0, "maximum": 60, "optional": true },
        "guarded":         { "type": "boolean", "optional": true },
        "helpers":         { "type": "integer", "minimum": 0, "maximum": 5, "optional": true },
        "neighbours":      { "type": "integer", "minimum": 0, "maximum": 5, "optional": true }
    }
}
