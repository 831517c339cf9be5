// GET /hello/v1/greeting/<name> takes no body.
{ "type": "null" }
