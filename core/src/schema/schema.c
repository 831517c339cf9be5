/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* schema.c - the public schema API: dialect names, the registry of
 * documents that `$ref`s may name, compiling and validating. */
#include "gearbox/schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gearbox/json.h"
#include "schema/schema_internal.h"

static const char *const dialect_names[] = {
    [GBX_DIALECT_AUTO] = "auto",       [GBX_DIALECT_DRAFT3] = "draft3",   [GBX_DIALECT_DRAFT4] = "draft4",
    [GBX_DIALECT_DRAFT6] = "draft6",   [GBX_DIALECT_DRAFT7] = "draft7",   [GBX_DIALECT_2019_09] = "2019-09",
    [GBX_DIALECT_2020_12] = "2020-12", [GBX_DIALECT_LEGACY] = "legacy",
};

const char *gbx_dialect_name(gbx_dialect dialect) {
    if ((int)dialect < 0 || (size_t)dialect >= sizeof dialect_names / sizeof dialect_names[0]) return "unknown";
    return dialect_names[dialect];
}

int gbx_dialect_from_name(const char *name) {
    static const struct {
        const char *name;
        gbx_dialect d;
    } aliases[] = {
        {"3", GBX_DIALECT_DRAFT3},          {"4", GBX_DIALECT_DRAFT4},
        {"6", GBX_DIALECT_DRAFT6},          {"7", GBX_DIALECT_DRAFT7},
        {"draft-03", GBX_DIALECT_DRAFT3},   {"draft-04", GBX_DIALECT_DRAFT4},
        {"draft-06", GBX_DIALECT_DRAFT6},   {"draft-07", GBX_DIALECT_DRAFT7},
        {"draft2019-09", GBX_DIALECT_2019_09}, {"draft2020-12", GBX_DIALECT_2020_12},
        {"2019", GBX_DIALECT_2019_09},      {"2020", GBX_DIALECT_2020_12},
    };
    if (!name) return -1;
    for (size_t i = 0; i < sizeof dialect_names / sizeof dialect_names[0]; i++)
        if (strcmp(dialect_names[i], name) == 0) return (int)i;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(aliases[i].name, name) == 0) return (int)aliases[i].d;
    return -1;
}

/* ---- registry ------------------------------------------------------------- */

gbx_err gbx_schema_registry_new(gbx_schema_registry **out) {
    *out = calloc(1, sizeof **out);
    if (!*out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    return GBX_OK;
}

static void decref_doc(void *p) { json_decref(p); }

void gbx_schema_registry_free(gbx_schema_registry *reg) {
    if (!reg) return;
    gbx__sch_smap_free(&reg->docs, decref_doc);
    for (size_t i = 0; i < reg->ndirs; i++) {
        free(reg->prefixes[i]);
        free(reg->dirs[i]);
    }
    free(reg->prefixes);
    free(reg->dirs);
    free(reg);
}

gbx_err gbx_schema_registry_add_dir(gbx_schema_registry *reg, const char *uri_prefix, const char *dir) {
    if (!reg || !uri_prefix || !dir || !*uri_prefix)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "registry: a URI prefix and a directory are required");
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return gbx_error_set(GBX_ERR_NOT_FOUND, "registry: %s is not a directory", dir);
    char **p = realloc(reg->prefixes, (reg->ndirs + 1) * sizeof *p);
    if (!p) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    reg->prefixes = p;
    char **d = realloc(reg->dirs, (reg->ndirs + 1) * sizeof *d);
    if (!d) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    reg->dirs = d;
    char *ps = strdup(uri_prefix), *ds = strdup(dir);
    if (!ps || !ds) {
        free(ps);
        free(ds);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    }
    reg->prefixes[reg->ndirs] = ps;
    reg->dirs[reg->ndirs] = ds;
    reg->ndirs++;
    return GBX_OK;
}

gbx_err gbx_schema_registry_add(gbx_schema_registry *reg, const char *uri, json_t *document) {
    if (!reg || !uri || !document) return gbx_error_set(GBX_ERR_BAD_REQUEST, "registry: a URI and a document are required");
    char *abs = gbx__sch_uri_strip_fragment(uri, NULL);
    if (!abs) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    json_t *old = gbx__sch_smap_get(&reg->docs, abs);
    bool ok = gbx__sch_smap_put(&reg->docs, abs, json_incref(document));
    free(abs);
    if (!ok) {
        json_decref(document);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    }
    json_decref(old);
    return GBX_OK;
}

/* ---- compile and validate -------------------------------------------------- */

void gbx_schema_options_init(gbx_schema_options *opts) {
    memset(opts, 0, sizeof *opts);
    opts->default_dialect = GBX_DIALECT_AUTO;
    opts->force_dialect = GBX_DIALECT_AUTO;
}

static gbx_err compile_with_uri(gbx_schema **out, const json_t *schema, const gbx_schema_options *opts,
                                const char *uri) {
    *out = NULL;
    if (!schema) return gbx_error_set(GBX_ERR_BAD_REQUEST, "invalid schema: no schema given");
    gbx_schema *s = calloc(1, sizeof *s);
    if (!s) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    if (opts)
        s->opts = *opts;
    else
        gbx_schema_options_init(&s->opts);
    if ((int)s->opts.default_dialect < 0 || s->opts.default_dialect > GBX_DIALECT_LEGACY ||
        (int)s->opts.force_dialect < 0 || s->opts.force_dialect > GBX_DIALECT_LEGACY) {
        free(s);
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "invalid schema options: unknown dialect");
    }
    /* the compiled form points into its own copy, so the caller's schema
     * may change or go away afterwards */
    json_t *copy = json_deep_copy(schema);
    if (!copy) {
        free(s);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    }
    s->file_refs = uri && strncmp(uri, "file://", 7) == 0;
    gbx_err rc = gbx__sch_compile(s, copy, uri);
    json_decref(copy); /* s->docs keeps it */
    if (rc) {
        char msg[1024];
        const gbx_error *e = gbx_error_last();
        snprintf(msg, sizeof msg, "%s", e->message);
        gbx__schema_destroy(s);
        free(s);
        return gbx_error_set(rc, "%s", msg);
    }
    *out = s;
    return GBX_OK;
}

gbx_err gbx_schema_compile(gbx_schema **out, const json_t *schema, const gbx_schema_options *opts) {
    return compile_with_uri(out, schema, opts, NULL);
}

gbx_err gbx_schema_load_file(gbx_schema **out, const char *path, const gbx_schema_options *opts) {
    *out = NULL;
    json_t *doc;
    gbx_err rc = gbx_json_load_file(&doc, path, true);
    if (rc) return rc;
    char *uri = gbx__sch_uri_from_path(path);
    if (!uri) {
        json_decref(doc);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    }
    rc = compile_with_uri(out, doc, opts, uri);
    if (rc) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", gbx_error_last()->message);
        rc = gbx_error_set(rc, "%s: %s", path, msg);
    }
    free(uri);
    json_decref(doc);
    return rc;
}

void gbx_schema_free(gbx_schema *schema) {
    if (!schema) return;
    gbx__schema_destroy(schema);
    free(schema);
}

gbx_dialect gbx_schema_dialect(const gbx_schema *schema) { return schema ? schema->dialect : GBX_DIALECT_AUTO; }

gbx_err gbx_schema_validate(json_t **violations, const gbx_schema *schema, json_t *instance) {
    if (violations) *violations = NULL;
    if (!schema || !instance) return gbx_error_set(GBX_ERR_BAD_REQUEST, "validate: no schema or no instance");
    return gbx__sch_validate(schema, instance, violations);
}

gbx_err gbx_schema_violation_text(char **out, const json_t *violation) {
    *out = NULL;
    const char *pointer = json_string_value(json_object_get(violation, "pointer"));
    const char *message = json_string_value(json_object_get(violation, "message"));
    if (!message) return gbx_error_set(GBX_ERR_BAD_REQUEST, "not a schema violation: no \"message\"");
    if (!pointer) pointer = "";
    size_t where = strlen(pointer);
    /* A member or item that may not be there is named by the message
     * ("invalid property \"wings\": ..."): name the object holding it. */
    const char *keyword = json_string_value(json_object_get(violation, "keyword"));
    const char *last = keyword ? strrchr(keyword, '/') : NULL;
    if (last && (strcmp(last, "/additionalProperties") == 0 || strcmp(last, "/unevaluatedProperties") == 0 ||
                 strcmp(last, "/additionalItems") == 0 || strcmp(last, "/unevaluatedItems") == 0) &&
        strrchr(pointer, '/'))
        where = (size_t)(strrchr(pointer, '/') - pointer);
    size_t n = where + 2 + strlen(message) + 1;
    if (!(*out = malloc(n))) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    if (where)
        snprintf(*out, n, "%.*s: %s", (int)where, pointer, message);
    else
        snprintf(*out, n, "%s", message);
    return GBX_OK;
}
