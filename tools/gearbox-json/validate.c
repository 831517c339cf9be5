/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* validate.c - JSON Schema validation from the command line, shared by
 * gearbox-json and the gearbox command (validate.h). */
#include "validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gearbox/json.h"
#include "gearbox/schema.h"

gbx_jsontool_result gbx_jsontool_read(json_t **out, const char *path, bool comments, const char *prog) {
    char *text = NULL;
    size_t len = 0;
    if (!path || strcmp(path, "-") == 0) {
        size_t cap = 65536;
        text = malloc(cap);
        while (text) {
            size_t got = fread(text + len, 1, cap - len - 1, stdin);
            len += got;
            if (got == 0) break;
            if (len + 1 == cap) {
                char *bigger = realloc(text, cap * 2);
                if (!bigger) {
                    free(text);
                    text = NULL;
                    break;
                }
                text = bigger;
                cap *= 2;
            }
        }
        if (!text) {
            fprintf(stderr, "%s: out of memory reading standard input\n", prog);
            return GBX_JSONTOOL_INPUT;
        }
        text[len] = '\0';
        path = "<stdin>";
    } else if (gbx_read_file(&text, &len, path) != GBX_OK) {
        fprintf(stderr, "%s: %s\n", prog, gbx_error_last()->message);
        return GBX_JSONTOOL_INPUT;
    }
    gbx_err rc = comments ? gbx_json_parse_commented(out, text, len) : gbx_json_parse(out, text, len);
    free(text);
    if (rc) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, gbx_error_last()->message);
        return GBX_JSONTOOL_INVALID;
    }
    return GBX_JSONTOOL_VALID;
}

/* Prints the outcome of one validation in `format`. */
static void report(gbx_jsontool_format format, const char *doc, const json_t *violations) {
    size_t i;
    json_t *v;
    if (format == GBX_JSONTOOL_JSON) {
        json_t *out = json_pack("{s:b, s:O}", "valid", json_array_size(violations) == 0, "violations", (json_t *)violations);
        char *s = out ? json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        if (s) puts(s);
        free(s);
        json_decref(out);
        return;
    }
    if (format == GBX_JSONTOOL_HUMAN)
        printf("%s: %s\n", doc && strcmp(doc, "-") != 0 ? doc : "<stdin>", json_array_size(violations) ? "not valid" : "valid");
    json_array_foreach(violations, i, v) {
        /* The core's JSON Pointers as they are, like the gateway's "errors". */
        const char *pointer = json_string_value(json_object_get(v, "pointer"));
        const char *message = json_string_value(json_object_get(v, "message"));
        const char *keyword = json_string_value(json_object_get(v, "keyword"));
        if (format == GBX_JSONTOOL_TSV)
            printf("%s\t%s\t%s\n", pointer, message, keyword);
        else
            printf("  at \"%s\": %s  (schema: %s)\n", pointer, message, keyword);
    }
}

gbx_jsontool_result gbx_jsontool_validate(int argc, char **argv, const char *prog, const char *usage,
                                          gbx_jsontool_format format) {
    gbx_schema_options opts;
    gbx_schema_options_init(&opts);
    gbx_schema_registry *reg = NULL;
    const char *schema_path = NULL, *instance_path = NULL;
    gbx_jsontool_result status = GBX_JSONTOOL_USAGE;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--draft") == 0 || strncmp(a, "--draft=", 8) == 0) {
            const char *v = a[7] == '=' ? a + 8 : (i + 1 < argc ? argv[++i] : NULL);
            int d = v ? gbx_dialect_from_name(v) : -1;
            if (d <= 0) {
                fprintf(stderr, "%s: unknown dialect \"%s\" (3, 4, 6, 7, 2019-09, 2020-12, legacy)\n", prog, v ? v : "");
                goto out;
            }
            opts.default_dialect = (gbx_dialect)d;
            opts.force_dialect = d == GBX_DIALECT_LEGACY ? GBX_DIALECT_LEGACY : GBX_DIALECT_AUTO;
        } else if (strcmp(a, "--ref") == 0 || strncmp(a, "--ref=", 6) == 0) {
            const char *v = a[5] == '=' ? a + 6 : (i + 1 < argc ? argv[++i] : NULL);
            const char *eq = v ? strchr(v, '=') : NULL;
            if (!eq || eq == v || !eq[1]) {
                fprintf(stderr, "%s: --ref needs URI-PREFIX=DIR\n", prog);
                goto out;
            }
            if (!reg && gbx_schema_registry_new(&reg) != GBX_OK) goto out;
            char *prefix = strndup(v, (size_t)(eq - v));
            gbx_err rc = prefix ? gbx_schema_registry_add_dir(reg, prefix, eq + 1) : GBX_ERR_INTERNAL_SERVER_ERROR;
            free(prefix);
            if (rc) {
                fprintf(stderr, "%s: %s\n", prog, gbx_error_last()->message);
                status = GBX_JSONTOOL_INPUT;
                goto out;
            }
        } else if (strcmp(a, "--formats") == 0) {
            opts.validate_formats = true;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "%s: unknown option %s\n%s", prog, a, usage);
            goto out;
        } else if (!schema_path) {
            schema_path = a;
        } else if (!instance_path) {
            instance_path = a;
        } else {
            fprintf(stderr, "%s: unexpected argument \"%s\"\n%s", prog, a, usage);
            goto out;
        }
    }
    if (!schema_path) {
        fprintf(stderr, "%s: name the schema\n%s", prog, usage);
        goto out;
    }
    status = GBX_JSONTOOL_INPUT;
    opts.registry = reg;
    gbx_schema *schema;
    if (gbx_schema_load_file(&schema, schema_path, &opts) != GBX_OK) {
        fprintf(stderr, "%s: %s\n", prog, gbx_error_last()->message);
        goto out;
    }
    json_t *instance;
    if (gbx_jsontool_read(&instance, instance_path, false, prog) != GBX_JSONTOOL_VALID) {
        gbx_schema_free(schema);
        goto out;
    }
    json_t *violations = NULL;
    gbx_err vr = gbx_schema_validate(&violations, schema, instance);
    if (vr == GBX_OK || vr == GBX_ERR_BAD_REQUEST) {
        json_t *none = vr == GBX_OK ? json_array() : NULL;
        report(format, instance_path, none ? none : violations);
        json_decref(none);
        status = vr == GBX_OK ? GBX_JSONTOOL_VALID : GBX_JSONTOOL_INVALID;
    } else {
        fprintf(stderr, "%s: %s\n", prog, gbx_error_last()->message);
    }
    json_decref(violations);
    json_decref(instance);
    gbx_schema_free(schema);
out:
    gbx_schema_registry_free(reg);
    return status;
}
