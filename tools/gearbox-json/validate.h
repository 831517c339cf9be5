/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* validate.h - JSON Schema validation from the command line, shared by
 * `gearbox-json validate` and `gearbox validate` (one implementation: the
 * options, the reading of both files, the checking and the report). */
#ifndef GEARBOX_JSONTOOL_VALIDATE_H
#define GEARBOX_JSONTOOL_VALIDATE_H

#include <stdbool.h>

#include <jansson.h>

/* How the violations are reported on stdout. */
typedef enum {
    GBX_JSONTOOL_TSV,   /* POINTER <tab> MESSAGE <tab> SCHEMA-LOCATION per line (gearbox-json) */
    GBX_JSONTOOL_HUMAN, /* "DOC: valid", or "DOC: not valid" and a line per violation */
    GBX_JSONTOOL_JSON,  /* {"valid": bool, "violations": [{"pointer", "message", "keyword"}]} */
} gbx_jsontool_format;

/* What became of a validation. */
typedef enum {
    GBX_JSONTOOL_VALID = 0,
    GBX_JSONTOOL_INVALID = 1,
    GBX_JSONTOOL_USAGE = 2, /* a bad option or argument (the message and `usage` on stderr) */
    GBX_JSONTOOL_INPUT = 3, /* unreadable file, malformed JSON, invalid schema (message on stderr) */
} gbx_jsontool_result;

/* Runs a validation from arguments: [--draft D] [--ref URI-PREFIX=DIR]...
 * [--formats] SCHEMA [INSTANCE|-] (standard input when INSTANCE is "-" or
 * missing).  Messages start with `prog`. */
gbx_jsontool_result gbx_jsontool_validate(int argc, char **argv, const char *prog, const char *usage,
                                          gbx_jsontool_format format);

/* Reads JSON (comments allowed when `comments`) from `path`, or standard
 * input when path is NULL or "-".  *out: new reference.  Returns
 * GBX_JSONTOOL_VALID; GBX_JSONTOOL_INVALID for malformed JSON and
 * GBX_JSONTOOL_INPUT for an unreadable file, with the message on stderr. */
gbx_jsontool_result gbx_jsontool_read(json_t **out, const char *path, bool comments, const char *prog);

#endif
