// DELETE /barn/v1/animal/<name> takes no body.
{ "type": "null" }
