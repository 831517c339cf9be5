/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* fuzz_uri.c - libFuzzer target: the URI parser and name mangling
 * (core/src/job/uri.c), as the gateway feeds them from a request line.
 *
 * Input: a request target "<path>[?<query>]" (bytes up to the first NUL).
 * Checks beyond "no crash": a parsed URI has a version "v<digits>" and a
 * resource; percent-encoding then decoding gives the input back; a handler
 * name built from the parts parses back into them. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gearbox/uri.h"

static void check_roundtrip(const char *s) {
    char *enc = NULL, *dec = NULL;
    if (gbx_uri_encode(&enc, s) != GBX_OK) return;
    if (gbx_uri_decode(&dec, enc, strlen(enc)) != GBX_OK || strcmp(dec, s) != 0) __builtin_trap();
    free(enc);
    free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *target = strndup((const char *)data, size);
    if (!target) return 0;
    char *query = strchr(target, '?');
    if (query) *query++ = '\0';
    gbx_uri *uri = NULL;
    if (gbx_uri_parse(&uri, target, query) == GBX_OK) {
        const char *version = gbx_uri_version(uri), *resource = gbx_uri_resource(uri);
        if (!version || version[0] != 'v' || !resource || !*resource) __builtin_trap();
        json_t *args = gbx_uri_arguments(uri);
        if (!json_is_array(args) || !json_is_object(gbx_uri_matrix(uri)) ||
            !json_is_object(gbx_uri_query(uri)))
            __builtin_trap();
        size_t i;
        json_t *a;
        json_array_foreach(args, i, a) check_roundtrip(json_string_value(a));
        const char *op = gbx_operation_for_method("POST", json_array_size(args) > 0);
        if (!op) __builtin_trap();
        char *name = NULL;
        if (gbx_handler_name(&name, "GET", "barn", resource, version) == GBX_OK) {
            gbx_handler_parts parts;
            if (gbx_handler_parse(&parts, name) == GBX_OK &&
                (strcmp(parts.resource, resource) != 0 || strcmp(parts.version, version) != 0))
                __builtin_trap();
            free(name);
        }
        gbx_uri_free(uri);
    }
    char *dec = NULL;
    if (gbx_uri_decode(&dec, (const char *)data, size) == GBX_OK) free(dec);
    check_roundtrip(target);
    gbx_handler_parts parts;
    (void)gbx_handler_parse(&parts, target);
    free(target);
    return 0;
}
