// Body of POST /barn/v1/agents (the built-in agents runner): the agents,
// each a handler name with the names of the agents it requires - as a
// list, or in Gearbox's form {handler: {"require": [...]}} - and the
// content every agent receives.
{
    "type": "object",
    "additionalProperties": false,
    "properties": {
        "agents": {
            "type": ["array", "object"],
            "minItems": 1,
            "additionalProperties": { "type": ["object", "array", "null"] },
            "items": {
                "type": "object",
                "properties": {
                    "name":    { "type": "string", "minLength": 1 },
                    "require": { "type": ["array", "string"], "optional": true }
                }
            }
        },
        "content": { "type": "any", "optional": true }
    }
}
