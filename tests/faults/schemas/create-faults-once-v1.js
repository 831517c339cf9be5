// Body of PUT /faults/v1/once/<name>, as of /job/: {"i": <the request's number in its burst>}.
{
    "type": "object",
    "additionalProperties": false,
    "properties": {
        "i": { "type": "integer", "minimum": 0 }
    }
}
