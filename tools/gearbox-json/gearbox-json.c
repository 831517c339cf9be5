/* gearbox-json - validate JSON against JSON Schemas, pretty-print JSON.
 *
 *   gearbox-json validate [--draft D] [--ref URI-PREFIX=DIR]... [--formats] SCHEMA [INSTANCE|-]
 *   gearbox-json format [FILE|-]
 *
 * validate exits 0 when the instance is valid, 1 when it is not (one
 * violation per line on stdout: pointer, message, schema location, tab
 * separated, both locations JSON Pointers as the core reports them), 2 on a usage, schema or input error (message on stderr). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gearbox/json.h"
#include "gearbox/log.h"
#include "gearbox/schema.h"

static const char usage[] =
    "usage: gearbox-json validate [--draft D] [--ref URI-PREFIX=DIR]... [--formats] SCHEMA [INSTANCE|-]\n"
    "       gearbox-json format [FILE|-]\n"
    "       gearbox-json --help\n"
    "\n"
    "validate  checks INSTANCE (a JSON file, or standard input when it is '-' or\n"
    "          missing) against the JSON Schema in SCHEMA (comments allowed, as in\n"
    "          Gearbox .js schema files).  Exit status 0: valid; 1: not valid, one\n"
    "          violation per line on standard output as\n"
    "              POINTER <tab> MESSAGE <tab> SCHEMA-LOCATION\n"
    "          (JSON Pointers, as the gateway's problem details have them: an\n"
    "          empty POINTER is the whole document);\n"
    "          2: usage error, unreadable file, malformed JSON or invalid schema.\n"
    "  --draft D      dialect for schemas without \"$schema\": 3, 4, 6, 7, 2019-09,\n"
    "                 2020-12 (the default), or legacy (Gearbox's dialect, used\n"
    "                 whatever \"$schema\" says; fills in defaults)\n"
    "  --ref P=DIR    resolve $refs to URIs starting with P from files under DIR\n"
    "                 (e.g. --ref http://localhost:1234/=remotes); never the network\n"
    "  --formats      assert \"format\" (date-time, email, uri, ...) as well\n"
    "format    pretty-prints JSON (comments allowed) from FILE or standard input.\n"
    "          Exit status 0, 1 for malformed JSON, 2 for a usage error.\n";

static int read_json(json_t **out, const char *path, bool comments) {
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
            fprintf(stderr, "gearbox-json: out of memory reading standard input\n");
            return 2;
        }
        text[len] = '\0';
        path = "<stdin>";
    } else if (gbx_read_file(&text, &len, path) != GBX_OK) {
        fprintf(stderr, "gearbox-json: %s\n", gbx_error_last()->message);
        return 2;
    }
    gbx_err rc = comments ? gbx_json_parse_commented(out, text, len) : gbx_json_parse(out, text, len);
    free(text);
    if (rc) {
        fprintf(stderr, "gearbox-json: %s: %s\n", path, gbx_error_last()->message);
        return 1;
    }
    return 0;
}

static int cmd_format(int argc, char **argv) {
    if (argc > 1) {
        fprintf(stderr, "%s", usage);
        return 2;
    }
    json_t *doc;
    int rc = read_json(&doc, argc ? argv[0] : NULL, true);
    if (rc) return rc;
    char *out = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    json_decref(doc);
    if (!out) {
        fprintf(stderr, "gearbox-json: cannot serialise\n");
        return 2;
    }
    puts(out);
    free(out);
    return 0;
}

static int cmd_validate(int argc, char **argv) {
    gbx_schema_options opts;
    gbx_schema_options_init(&opts);
    gbx_schema_registry *reg = NULL;
    const char *schema_path = NULL, *instance_path = NULL;
    int status = 2;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--draft") == 0 || strncmp(a, "--draft=", 8) == 0) {
            const char *v = a[7] == '=' ? a + 8 : (i + 1 < argc ? argv[++i] : NULL);
            int d = v ? gbx_dialect_from_name(v) : -1;
            if (d <= 0) {
                fprintf(stderr, "gearbox-json: unknown dialect \"%s\" (3, 4, 6, 7, 2019-09, 2020-12, legacy)\n", v ? v : "");
                goto out;
            }
            opts.default_dialect = (gbx_dialect)d;
            opts.force_dialect = d == GBX_DIALECT_LEGACY ? GBX_DIALECT_LEGACY : GBX_DIALECT_AUTO;
        } else if (strcmp(a, "--ref") == 0 || strncmp(a, "--ref=", 6) == 0) {
            const char *v = a[5] == '=' ? a + 6 : (i + 1 < argc ? argv[++i] : NULL);
            const char *eq = v ? strchr(v, '=') : NULL;
            if (!eq || eq == v || !eq[1]) {
                fprintf(stderr, "gearbox-json: --ref needs URI-PREFIX=DIR\n");
                goto out;
            }
            if (!reg && gbx_schema_registry_new(&reg) != GBX_OK) goto out;
            char *prefix = strndup(v, (size_t)(eq - v));
            gbx_err rc = prefix ? gbx_schema_registry_add_dir(reg, prefix, eq + 1) : GBX_ERR_INTERNAL_SERVER_ERROR;
            free(prefix);
            if (rc) {
                fprintf(stderr, "gearbox-json: %s\n", gbx_error_last()->message);
                goto out;
            }
        } else if (strcmp(a, "--formats") == 0) {
            opts.validate_formats = true;
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "gearbox-json: unknown option %s\n%s", a, usage);
            goto out;
        } else if (!schema_path) {
            schema_path = a;
        } else if (!instance_path) {
            instance_path = a;
        } else {
            fprintf(stderr, "%s", usage);
            goto out;
        }
    }
    if (!schema_path) {
        fprintf(stderr, "%s", usage);
        goto out;
    }
    opts.registry = reg;
    gbx_schema *schema;
    if (gbx_schema_load_file(&schema, schema_path, &opts) != GBX_OK) {
        fprintf(stderr, "gearbox-json: %s\n", gbx_error_last()->message);
        goto out;
    }
    json_t *instance;
    int rc = read_json(&instance, instance_path, false);
    if (rc) {
        gbx_schema_free(schema);
        status = 2;
        goto out;
    }
    json_t *violations = NULL;
    gbx_err vr = gbx_schema_validate(&violations, schema, instance);
    if (vr == GBX_OK) {
        status = 0;
    } else if (vr == GBX_ERR_BAD_REQUEST) {
        size_t i;
        json_t *v;
        json_array_foreach(violations, i, v) {
            /* The core's JSON Pointers as they are, like the gateway's "errors". */
            printf("%s\t%s\t%s\n", json_string_value(json_object_get(v, "pointer")),
                   json_string_value(json_object_get(v, "message")),
                   json_string_value(json_object_get(v, "keyword")));
        }
        status = 1;
    } else {
        fprintf(stderr, "gearbox-json: %s\n", gbx_error_last()->message);
    }
    json_decref(violations);
    json_decref(instance);
    gbx_schema_free(schema);
out:
    gbx_schema_registry_free(reg);
    return status;
}

int main(int argc, char **argv) {
    gbx_log_set_callback(gbx_log_to_file, NULL);
    if (argc < 2) {
        fprintf(stderr, "%s", usage);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(argv[1], "validate") == 0) return cmd_validate(argc - 2, argv + 2);
    if (strcmp(argv[1], "format") == 0) return cmd_format(argc - 2, argv + 2);
    fprintf(stderr, "gearbox-json: unknown command \"%s\"\n%s", argv[1], usage);
    return 2;
}
