/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gearbox/schema.h - JSON Schema validation.
 *
 * A schema is compiled once into a gbx_schema and applied many times.  The
 * dialect comes from `$schema`, else from the options' default.  The Gearbox
 * legacy dialect (properties required unless "optional": true, `requires`,
 * `default` filling) keeps Gearbox's error texts, e.g.
 *   invalid property "x": schema does not allow for this property
 *   non-optional property "stuff" is missing
 *   schema does not allow for type "object"
 * Remote `$ref`s resolve only through the registry the caller fills; the
 * validator never touches the network.
 */
#ifndef GEARBOX_SCHEMA_H
#define GEARBOX_SCHEMA_H

#include <stdbool.h>
#include <jansson.h>

#include "gearbox/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum gbx_dialect {
    GBX_DIALECT_AUTO = 0,  /* from $schema, else the options' default */
    GBX_DIALECT_DRAFT3,
    GBX_DIALECT_DRAFT4,
    GBX_DIALECT_DRAFT6,
    GBX_DIALECT_DRAFT7,
    GBX_DIALECT_2019_09,
    GBX_DIALECT_2020_12,
    GBX_DIALECT_LEGACY,    /* Gearbox's schemas */
} gbx_dialect;

/* "draft3", "draft4", "draft6", "draft7", "2019-09", "2020-12", "legacy";
 * parses the same back (also "3", "4", "6", "7"); -1 if unknown. */
const char *gbx_dialect_name(gbx_dialect dialect);
int gbx_dialect_from_name(const char *name);

/* Documents that `$ref`s may name: URI prefixes mapped to directories, and
 * single documents by URI.  Shared by many schemas; not thread-safe while
 * being filled, read-only afterwards. */
typedef struct gbx_schema_registry gbx_schema_registry;

gbx_err gbx_schema_registry_new(gbx_schema_registry **out);
void gbx_schema_registry_free(gbx_schema_registry *reg);
/* `http://localhost:1234/` -> files under `dir`. */
gbx_err gbx_schema_registry_add_dir(gbx_schema_registry *reg, const char *uri_prefix, const char *dir);
/* One document under its URI (takes a new reference). */
gbx_err gbx_schema_registry_add(gbx_schema_registry *reg, const char *uri, json_t *document);

typedef struct gbx_schema_options {
    gbx_dialect default_dialect;      /* for schemas without $schema; AUTO = 2020-12 */
    gbx_dialect force_dialect;        /* AUTO = honour $schema */
    const gbx_schema_registry *registry;  /* may be NULL; borrowed, must outlive the schema */
    bool validate_formats;            /* assert "format" (legacy always asserts date-time, uri, ipv4, ipv6) */
} gbx_schema_options;

/* Fills options with defaults (AUTO, no registry, formats not asserted). */
void gbx_schema_options_init(gbx_schema_options *opts);

typedef struct gbx_schema gbx_schema;

/* Compiles `schema` (borrowed; the compiled form keeps what it needs).
 * GBX_ERR_BAD_REQUEST "invalid schema: ..." for a schema that is not one, an
 * unresolvable $ref included.  opts may be NULL.  *out: free with
 * gbx_schema_free.  A compiled schema is immutable and may be used from many
 * threads at once. */
gbx_err gbx_schema_compile(gbx_schema **out, const json_t *schema, const gbx_schema_options *opts);

/* Reads a schema file (comments allowed, as Gearbox's `.js` schema files
 * have them) and compiles it; its base URI is the file's `file://` URI. */
gbx_err gbx_schema_load_file(gbx_schema **out, const char *path, const gbx_schema_options *opts);

void gbx_schema_free(gbx_schema *schema);

/* The dialect the schema was compiled as. */
gbx_dialect gbx_schema_dialect(const gbx_schema *schema);

/* Validates `instance`.  GBX_OK when valid; otherwise GBX_ERR_BAD_REQUEST
 * whose message is the first violation's message.  When `violations` is not
 * NULL, *violations receives a new reference to an array of
 *   {"pointer": "/name", "keyword": "/properties/name/type", "message": "..."}
 * (empty when valid; both pointers as described below).  With the legacy dialect, `default`s are written into
 * `instance` (that is why it is not const); other dialects leave it alone. */
gbx_err gbx_schema_validate(json_t **violations, const gbx_schema *schema, json_t *instance);

/* Both locations of a violation are JSON Pointers, as keywordLocation and
 * instanceLocation of the JSON Schema output format ("" is the whole
 * document; a URI fragment would add '#').  This is the one-line text of a
 * violation: "<pointer>: <message>" ("/tags/0: expected string, got
 * integer"), or the message alone for the whole document, so that Gearbox's
 * legacy texts about the body itself stay as they were.  A member or item
 * that may not be there (additional/unevaluated properties and items) is
 * named by its message, so the text names the object holding it:
 * `invalid property "wings": ...` about the body, `/owner: invalid property
 * "wings": ...` below it.  *out: malloc'ed. */
gbx_err gbx_schema_violation_text(char **out, const json_t *violation);

/* The request schemas of one service: in one directory, the file
 * `<operation>-<component>-<resource>-<version>.js`, else
 * `<operation>-global-<resource>-<version>.js` (DESIGN §3).  Each file is
 * compiled on first use and kept, and a missing file is remembered too, so
 * files are read once: restart after changing them.  Safe to use from many
 * threads at once.  The gateway and the worker runtime both use it. */
typedef struct gbx_schema_dir gbx_schema_dir;

/* A cache over `dir` (copied); schemas without `$schema` compile as
 * `dialect`.  *out: free with gbx_schema_dir_free. */
gbx_err gbx_schema_dir_new(gbx_schema_dir **out, const char *dir, gbx_dialect dialect);
void gbx_schema_dir_free(gbx_schema_dir *sd);

/* The schema for a request.  *out: borrowed from the cache (lives until
 * gbx_schema_dir_free), NULL with GBX_OK when neither file exists.  *path
 * (may be NULL): the file used, or the component's file looked for when
 * none exists; borrowed likewise.  Names that could leave the directory
 * ('/', "..") find no schema.  A file that is not a valid schema is
 * GBX_ERR_INTERNAL_SERVER_ERROR naming it. */
gbx_err gbx_schema_dir_find(const gbx_schema **out, const char **path, gbx_schema_dir *sd,
                            const char *operation, const char *component, const char *resource,
                            const char *version);

#ifdef __cplusplus
}
#endif
#endif
