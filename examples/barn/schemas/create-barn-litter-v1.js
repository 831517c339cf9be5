// PUT /barn/v1/litter/<name> takes no body.
{ "type": "null" }
