/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_schema.h - request body validation.  Each location's schemas are a
 * gbx_schema_dir (schema.h): files are read once, on first use (absence is
 * remembered too): restart the gateway after changing them. */
#ifndef GBX_GW_SCHEMA_H
#define GBX_GW_SCHEMA_H

#include <stddef.h>

#include "gearbox/error.h"
#include "gearbox/schema.h"
#include "gw_config.h"

/* Checks a request body for `loc`: the body must be JSON (empty = null;
 * malformed -> GBX_ERR_BAD_REQUEST "malformed JSON: ...") and, when a
 * schema exists, valid (-> GBX_ERR_BAD_REQUEST naming where the first
 * violation is: gbx_schema_violation_text, "/tags/0: expected string, got
 * integer").  A missing schema fails only when loc->require_schemas.
 * *violations (may be NULL): a new reference to the schema violations,
 * [{"pointer", "keyword", "message"}], or NULL when there are none. */
gbx_err gbx_gw_validate_body(json_t **violations, const gbx_gw_location *loc,
                             const char *operation, const char *resource, const char *version,
                             const char *body, size_t len);

#endif
