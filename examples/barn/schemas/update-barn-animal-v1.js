// Body of POST /barn/v1/animal/<name> (update): the fields to change.  An
// empty body (null) changes nothing and just puts the animal to work again.
// The name of an animal cannot change; giving its current name is allowed.
{
    "type": ["object", "null"],
    "additionalProperties": false,
    "properties": {
        "name": {
            "type": "string",
            "minLength": 1,
            "maxLength": 64,
            "pattern": "^[A-Za-z0-9][A-Za-z0-9 ._'-]*$",
            "optional": true
        },
        "species": { "type": "string", "maxLength": 128, "optional": true },
        "sound":   { "type": "string", "maxLength": 64, "optional": true },
        "legs":    { "type": "integer", "minimum": 0, "maximum": 1000, "optional": true }
    }
}
