// Body of PUT /barn/v1/animal/<name> and of POST /barn/v1/animal (create).
// Legacy Gearbox dialect: every property is required unless "optional": true.
{
    "type": "object",
    "additionalProperties": false,
    "properties": {
        "name": {
            "type": "string",
            "minLength": 1,
            "maxLength": 64,
            "pattern": "^[A-Za-z0-9][A-Za-z0-9 ._'-]*$"
        },
        "species": { "type": "string", "maxLength": 128, "optional": true },
        "sound":   { "type": "string", "maxLength": 64, "optional": true },
        "legs":    { "type": "integer", "minimum": 0, "maximum": 1000, "optional": true }
    }
}
