// Body of PUT /faults/v1/job/<name>: {"i": <the request's number in its burst>}.
{
    "type": "object",
    "additionalProperties": false,
    "properties": {
        "i": { "type": "integer", "minimum": 0 }
    }
}
