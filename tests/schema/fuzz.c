/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* fuzz.c - libFuzzer harness for the JSON parser plus the schema compiler
 * and validator (tests/schema/fuzz.sh runs it for a bounded time).
 *
 * Input: one byte choosing the dialect and the options, then JSON text.
 *   [S, I]       compile S, validate I against it (both modes)
 *   "pattern"    compile as an ECMA-262 regex, search and full-match it
 *                against itself
 *   anything     compile it as a schema and validate it against itself */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gearbox/json.h"
#include "gearbox/schema.h"
#include "schema/schema_internal.h"

static void check(const json_t *schema, json_t *instance, uint8_t mode) {
    gbx_schema_options opts;
    gbx_schema_options_init(&opts);
    opts.default_dialect = (gbx_dialect)(mode % 8);
    if (mode & 8) opts.force_dialect = opts.default_dialect;
    opts.validate_formats = (mode & 16) != 0;
    gbx_schema *s;
    if (gbx_schema_compile(&s, schema, &opts) != GBX_OK) return;
    json_t *copy = json_deep_copy(instance);
    json_t *viol = NULL;
    gbx_err quick = gbx_schema_validate(NULL, s, instance);
    gbx_err full = gbx_schema_validate(&viol, s, copy);
    /* both modes must agree (legacy defaults may have changed the first
     * instance, so only for the others) */
    if (gbx_schema_dialect(s) != GBX_DIALECT_LEGACY && (quick == GBX_OK) != (full == GBX_OK)) __builtin_trap();
    if ((full == GBX_OK) != (json_array_size(viol) == 0)) __builtin_trap();
    json_decref(viol);
    json_decref(copy);
    gbx_schema_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t mode = data[0];
    json_t *doc;
    if (gbx_json_parse(&doc, (const char *)data + 1, size - 1) != GBX_OK) return 0;
    if (json_is_array(doc) && json_array_size(doc) == 2) {
        check(json_array_get(doc, 0), json_array_get(doc, 1), mode);
    } else if (json_is_string(doc)) {
        const char *err;
        if (strlen(json_string_value(doc)) == json_string_length(doc)) {
            gbx__regex *re = gbx__sch_regex_compile(json_string_value(doc), &err);
            if (re) {
                gbx__sch_regex_search(re, json_string_value(doc), json_string_length(doc));
                gbx__sch_regex_full_match(re, json_string_value(doc), json_string_length(doc));
                gbx__sch_regex_free(re);
            }
        }
    } else {
        json_t *inst = json_deep_copy(doc);
        check(doc, inst, mode);
        json_decref(inst);
    }
    json_decref(doc);
    return 0;
}
