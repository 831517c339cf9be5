/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* batch.c - validates many (schema, instance) pairs in one process, for the
 * differential test and the benchmark.
 *
 *   schema-batch CASES.json
 *
 * CASES.json is an array of {"dialect": NAME, "schema": S, "instance": I}.
 * One line per case on stdout: "1" valid, "0" invalid, "E <message>" when
 * the schema does not compile. */
#include <stdio.h>
#include <stdlib.h>

#include "gearbox/json.h"
#include "gearbox/schema.h"

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CASES.json\n", argv[0]);
        return 2;
    }
    json_t *cases;
    if (gbx_json_load_file(&cases, argv[1], false) != GBX_OK || !json_is_array(cases)) {
        fprintf(stderr, "schema-batch: %s\n", gbx_error_last()->message);
        return 2;
    }
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        gbx_schema_options opts;
        gbx_schema_options_init(&opts);
        int d = gbx_dialect_from_name(json_string_value(json_object_get(c, "dialect")));
        if (d > 0) opts.default_dialect = (gbx_dialect)d;
        gbx_schema *s;
        if (gbx_schema_compile(&s, json_object_get(c, "schema"), &opts) != GBX_OK) {
            printf("E %s\n", gbx_error_last()->message);
            continue;
        }
        json_t *inst = json_deep_copy(json_object_get(c, "instance"));
        json_t *viol = NULL;
        gbx_err quick = gbx_schema_validate(NULL, s, inst);
        gbx_err full = gbx_schema_validate(&viol, s, inst);
        if ((quick == GBX_OK) != (full == GBX_OK) || (json_array_size(viol) == 0) != (full == GBX_OK))
            printf("E verdicts differ between the quick and the full mode\n");
        else
            printf("%d\n", quick == GBX_OK);
        json_decref(viol);
        json_decref(inst);
        gbx_schema_free(s);
    }
    json_decref(cases);
    return 0;
}
