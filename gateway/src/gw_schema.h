/* gw_schema.h - request body validation with compiled schemas cached per
 * file.  Schema files are read once, on first use (and absence is
 * remembered too): restart the gateway after changing them. */
#ifndef GBX_GW_SCHEMA_H
#define GBX_GW_SCHEMA_H

#include <stddef.h>

#include "gearbox/error.h"
#include "gearbox/schema.h"
#include "gw_config.h"

typedef struct gbx_gw_schemas gbx_gw_schemas;

/* An empty cache, safe to use from many threads at once.  *out: free with
 * gbx_gw_schemas_free. */
gbx_err gbx_gw_schemas_new(gbx_gw_schemas **out);
void gbx_gw_schemas_free(gbx_gw_schemas *cache);

/* The schema for a request: `<operation>-<component>-<resource>-<version>.js`
 * in `dir`, else `<operation>-global-<resource>-<version>.js`.  *out is
 * NULL (and GBX_OK) when neither file exists; otherwise borrowed from the
 * cache, valid until it is freed.  *path (may be NULL) receives the file
 * name used or looked for, borrowed likewise.  A schema that does not
 * compile is GBX_ERR_INTERNAL_SERVER_ERROR naming the file. */
gbx_err gbx_gw_schema_find(const gbx_schema **out, const char **path, gbx_gw_schemas *cache,
                           const char *dir, gbx_dialect dialect, const char *operation,
                           const char *component, const char *resource, const char *version);

/* Checks a request body for `loc`: the body must be JSON (empty = null;
 * malformed -> GBX_ERR_BAD_REQUEST "malformed JSON: ...") and, when a
 * schema exists, valid (-> GBX_ERR_BAD_REQUEST with the validator's
 * message).  A missing schema fails only when loc->require_schemas. */
gbx_err gbx_gw_validate_body(gbx_gw_schemas *cache, const gbx_gw_location *loc,
                             const char *operation, const char *resource, const char *version,
                             const char *body, size_t len);

#endif
