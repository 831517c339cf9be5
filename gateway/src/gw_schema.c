/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_schema.c - request body validation against the location's schemas. */
#include "gw_schema.h"

#include <stdlib.h>

#include "gearbox/json.h"

gbx_err gbx_gw_validate_body(json_t **violations, const gbx_gw_location *loc,
                             const char *operation, const char *resource, const char *version,
                             const char *body, size_t len) {
    if (violations) *violations = NULL;
    json_t *instance = NULL;
    if (len == 0) {
        instance = json_null();
    } else if (gbx_json_parse(&instance, body, len) != GBX_OK) {
        return GBX_ERR_BAD_REQUEST;  /* "malformed JSON: ..." is the last error */
    }
    gbx_err err = GBX_OK;
    if (loc->schemas) {
        const gbx_schema *schema = NULL;
        const char *file = NULL;
        err = gbx_schema_dir_find(&schema, &file, loc->schemas, operation, loc->component,
                                  resource, version);
        if (err == GBX_OK && schema) {
            json_t *found = NULL;
            err = gbx_schema_validate(&found, schema, instance);
            char *text = NULL;
            /* The plain message names where the first violation is. */
            if (err == GBX_ERR_BAD_REQUEST && json_array_size(found) > 0 &&
                gbx_schema_violation_text(&text, json_array_get(found, 0)) == GBX_OK)
                gbx_error_set(err, "%s", text);
            free(text);
            if (violations && json_array_size(found) > 0) *violations = json_incref(found);
            json_decref(found);
        } else if (err == GBX_OK && loc->require_schemas) {
            err = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                                "no schema %s (nor a -global- one) and this service requires schemas",
                                file ? file : "");
        }
    }
    json_decref(instance);
    return err;
}
