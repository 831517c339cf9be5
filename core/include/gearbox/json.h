/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gearbox/json.h - small jansson helpers shared by every module.
 *
 * Gearbox speaks jansson's json_t throughout.  Ownership follows jansson:
 * functions documented "new reference" hand the caller a reference it must
 * json_decref(); "borrowed" ones must not be released.
 */
#ifndef GEARBOX_JSON_H
#define GEARBOX_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "gearbox/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parses `len` bytes of JSON text (any value, not only objects; duplicate
 * keys are an error).  *out: new reference.  Malformed text is
 * GBX_ERR_BAD_REQUEST with "malformed JSON: <reason> at line L column C". */
gbx_err gbx_json_parse(json_t **out, const char *text, size_t len);

/* The same, after removing comments (`// ...`, `/\* ... *\/` and lines whose
 * first non-blank character is `#`) outside strings: the format of config
 * files and Gearbox schema files. */
gbx_err gbx_json_parse_commented(json_t **out, const char *text, size_t len);

/* Reads and parses a whole file (comments allowed when `comments`).
 * *out: new reference.  A missing or unreadable file is GBX_ERR_NOT_FOUND /
 * GBX_ERR_INTERNAL_SERVER_ERROR naming the path; bad JSON names the path too. */
gbx_err gbx_json_load_file(json_t **out, const char *path, bool comments);

/* Serialises compactly, keys in insertion order.  *out: malloc'ed string the
 * caller frees. */
gbx_err gbx_json_dump(char **out, const json_t *value);

/* Reads a whole file into a malloc'ed, NUL-terminated buffer (*out), its
 * length in *len (may be NULL). */
gbx_err gbx_read_file(char **out, size_t *len, const char *path);

/* Looks up a dotted path ("status.sqlite.path") in nested objects.
 * Borrowed; NULL when any step is missing or not an object. */
json_t *gbx_json_path(const json_t *root, const char *dotted);

#ifdef __cplusplus
}
#endif
#endif
