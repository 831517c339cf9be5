/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gearbox/uri.h - the REST naming convention of DESIGN §3.
 *
 * A request path below a location's prefix is
 *   /<version>/<resource>[/<arg>...][;k=v...]
 * and the query string is split on `&` and `;`.  Handler names are
 *   do_<method>_<component>_<resource>_<version>
 * e.g. GET /barn/v1/animal/Wilbur -> do_get_barn_animal_v1 with ["Wilbur"].
 */
#ifndef GEARBOX_URI_H
#define GEARBOX_URI_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "gearbox/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The exact texts of the three routing errors (all GBX_ERR_BAD_REQUEST). */
#define GBX_URI_ERR_VERSION "Invalid API version designation."
#define GBX_URI_ERR_NO_RESOURCE "Incomplete API uri specified - no resource."
#define GBX_URI_ERR_NO_HANDLER "No valid handler found!"

typedef struct gbx_uri gbx_uri;

/* Parses `path` (the part below the prefix, starting with '/', still
 * percent-encoded) and `query` (the raw query string without '?', may be
 * NULL).  Arguments, matrix and query values are percent-decoded.  Errors
 * (GBX_ERR_BAD_REQUEST): GBX_URI_ERR_VERSION when the first segment is not
 * `v<digits>`, GBX_URI_ERR_NO_RESOURCE when there is no resource segment,
 * "Malformed matrix argument: ..." for a matrix part without a key, and
 * "Invalid resource name: ..." for a resource with characters other than
 * [A-Za-z0-9] (names may not contain '_').  *out: free with gbx_uri_free.
 *
 * Details:
 * - Path segments are split on '/' before decoding (so %2F stays inside an
 *   argument); empty segments (a doubled or trailing '/') are skipped.
 * - The matrix part is everything after the first ';' of the path, split on
 *   ';': `k=v` (split at the first '='; values may hold '/' and '=') or a
 *   bare `k`, whose value is "1" as for query keys.  An empty part (`;;`, a
 *   trailing ';') or an empty key (`;=v`) is "Malformed matrix argument".
 * - The query is split on '&' and ';'; empty parts are skipped, an empty key
 *   (`=v`) is "Malformed query parameter: ..."; '+' means space there (not
 *   in the path).  A repeated matrix or query key keeps its last value.
 * - A broken %-escape, an encoded NUL or a decoded value that is not UTF-8
 *   is a 400 as well. */
gbx_err gbx_uri_parse(gbx_uri **out, const char *path, const char *query);

void gbx_uri_free(gbx_uri *uri);

/* "v1".  Borrowed. */
const char *gbx_uri_version(const gbx_uri *uri);
/* "animal".  Borrowed. */
const char *gbx_uri_resource(const gbx_uri *uri);
/* The decoded path arguments after the resource: ["Wilbur"].  Borrowed array. */
json_t *gbx_uri_arguments(const gbx_uri *uri);
/* Matrix arguments {k: v}; a value may contain '/'.  Borrowed object. */
json_t *gbx_uri_matrix(const gbx_uri *uri);
/* Query parameters {k: v}; a key without '=' has the value "1".  Borrowed. */
json_t *gbx_uri_query(const gbx_uri *uri);

/* The operation Gearbox names for a method: GET/HEAD -> "get",
 * DELETE -> "delete", PUT -> "create", POST -> "update" with arguments or
 * "create" without.  NULL for any other method.  Static string. */
const char *gbx_operation_for_method(const char *method, bool has_arguments);

/* "do_get_barn_animal_v1" from ("GET", "barn", "animal", "v1"); the method
 * is lower-cased, HEAD becomes get; component and resource keep their case.
 * GBX_ERR_BAD_REQUEST unless method is letters, component and resource are
 * [A-Za-z0-9]+ and version is v<digits>.  *out: malloc'ed. */
gbx_err gbx_handler_name(char **out, const char *method, const char *component,
                         const char *resource, const char *version);

/* The parts of a handler name; each is a NUL-terminated copy. */
typedef struct gbx_handler_parts {
    char method[16];     /* "get" */
    char component[64];  /* "barn" */
    char resource[64];   /* "animal" */
    char version[16];    /* "v1" */
} gbx_handler_parts;

/* Splits "do_get_barn_animal_v1" back into its parts (method lower-cased);
 * GBX_ERR_BAD_REQUEST for anything that is not of that shape or whose parts
 * do not fit the fields (out is then all empty strings). */
gbx_err gbx_handler_parse(gbx_handler_parts *out, const char *name);

/* Percent-decodes `len` bytes ('+' is kept as is).  *out: malloc'ed;
 * GBX_ERR_BAD_REQUEST for a broken escape or an encoded NUL. */
gbx_err gbx_uri_decode(char **out, const char *s, size_t len);

/* Percent-encodes everything but unreserved characters (RFC 3986).  *out:
 * malloc'ed. */
gbx_err gbx_uri_encode(char **out, const char *s);

#ifdef __cplusplus
}
#endif
#endif
