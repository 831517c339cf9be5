// Body of PUT /hello/v1/greeting/<name> (the method PUT is the operation
// "create"): {"text": "Hello"}.  Legacy Gearbox dialect: every property is
// required unless "optional": true.
{
    "type": "object",
    "additionalProperties": false,
    "properties": {
        "text": { "type": "string", "minLength": 1, "maxLength": 100 }
    }
}
