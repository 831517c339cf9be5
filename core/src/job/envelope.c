/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* envelope.c - the job envelope of DESIGN §4: a JSON object with typed
 * accessors, validated against the schema core/schemas/envelope.schema.json
 * that is built into the library. */
#include "gearbox/envelope.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gearbox/json.h"
#include "gearbox/schema.h"

/* Generated from core/schemas/envelope.schema.json (core/embed.cmake). */
extern const char gbx_embedded_envelope_schema[];

/* Shared with response.c (defined there): base64 for bodies that are not
 * UTF-8, stored as "content" + `encoding_key`: "base64". */
gbx_err gbx__base64_decode(char **out, size_t *out_len, const char *text, size_t len);
gbx_err gbx__json_set_content(json_t *obj, const char *encoding_key, const char *data, size_t len);
gbx_err gbx__json_get_content(char **out, size_t *out_len, const json_t *obj, const char *encoding_key);

#define ENCODING_KEY "content_encoding"
#define ERR_PREFIX "invalid job envelope: "

/* The decoded body of a base64 "content", kept so that
 * gbx_envelope_content() can hand out a borrowed pointer.  `source` is the
 * JSON string it was decoded from (a reference is held, so the pointer
 * cannot be reused by another string while we compare against it). */
typedef struct content_cache {
    json_t *source;
    char *data;
    size_t len;
} content_cache;

struct gbx_envelope {
    json_t *root;
    content_cache *cache; /* separate allocation: filled by const getters */
};

static gbx_err oom(void) { return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory"); }

/* ---- the schema, compiled once per process ---- */

static pthread_once_t schema_once = PTHREAD_ONCE_INIT;
static gbx_schema *envelope_schema;
static char schema_failure[512];

static void compile_schema(void) {
    json_t *doc;
    gbx_err rc = gbx_json_parse(&doc, gbx_embedded_envelope_schema, strlen(gbx_embedded_envelope_schema));
    if (rc == GBX_OK) {
        rc = gbx_schema_compile(&envelope_schema, doc, NULL);
        json_decref(doc);
    }
    if (rc != GBX_OK)
        snprintf(schema_failure, sizeof schema_failure, "the built-in envelope schema is broken: %s",
                 gbx_error_last()->message);
}

static gbx_err get_schema(const gbx_schema **out) {
    pthread_once(&schema_once, compile_schema);
    *out = envelope_schema;
    if (!envelope_schema) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "%s", schema_failure);
    return GBX_OK;
}

/* ---- field tables ---- */

static const char *const string_fields[] = {
    "name",        "job_type",   "operation",     "component",     "status",
    "parent_uri",  "base_uri",   "content",       "event_status",  "traceparent",
    "tracestate",  "resource.type", "resource.name", "remote.ip",  "remote.user",
    "remote.scopes", "ticket",
};

static const struct {
    const char *name;
    bool array;
} collection_fields[] = {
    {"arguments", true}, {"matrix_arguments", false}, {"query_params", false},
    {"headers", false},  {"environ", false},          {"on", false},
};

static const char *const int_fields[] = {"version", "attempt", "deadline"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static bool is_string_field(const char *field) {
    for (size_t i = 0; field && i < COUNT(string_fields); i++)
        if (strcmp(field, string_fields[i]) == 0) return true;
    return false;
}

static int collection_index(const char *field) {
    for (size_t i = 0; field && i < COUNT(collection_fields); i++)
        if (strcmp(field, collection_fields[i].name) == 0) return (int)i;
    return -1;
}

static bool is_int_field(const char *field) {
    for (size_t i = 0; field && i < COUNT(int_fields); i++)
        if (strcmp(field, int_fields[i]) == 0) return true;
    return false;
}

/* Adds the empty collections that are missing, so that getters never return
 * NULL for them. */
static gbx_err fill_collections(json_t *root) {
    for (size_t i = 0; i < COUNT(collection_fields); i++) {
        if (json_object_get(root, collection_fields[i].name)) continue;
        json_t *empty = collection_fields[i].array ? json_array() : json_object();
        if (!empty || json_object_set_new(root, collection_fields[i].name, empty) != 0) return oom();
    }
    return GBX_OK;
}

static void cache_clear(content_cache *c) {
    json_decref(c->source);
    free(c->data);
    c->source = NULL;
    c->data = NULL;
    c->len = 0;
}

/* Takes over `root` (a reference the caller owned). */
static gbx_err wrap(gbx_envelope **out, json_t *root) {
    gbx_envelope *env = calloc(1, sizeof *env);
    content_cache *cache = calloc(1, sizeof *cache);
    if (!env || !cache) {
        free(env);
        free(cache);
        json_decref(root);
        return oom();
    }
    env->root = root;
    env->cache = cache;
    *out = env;
    return GBX_OK;
}

gbx_err gbx_envelope_new(gbx_envelope **out) {
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_envelope_new: out is NULL");
    *out = NULL;
    json_t *root = json_pack("{s:i, s:s}", "version", GBX_ENVELOPE_VERSION, "job_type", "async");
    if (!root) return oom();
    if (fill_collections(root) != GBX_OK || json_object_set_new(root, "content", json_string("")) != 0) {
        json_decref(root);
        return oom();
    }
    return wrap(out, root);
}

void gbx_envelope_free(gbx_envelope *env) {
    if (!env) return;
    json_decref(env->root);
    if (env->cache) cache_clear(env->cache);
    free(env->cache);
    free(env);
}

gbx_err gbx_envelope_copy(gbx_envelope **out, const gbx_envelope *env) {
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_envelope_copy: out is NULL");
    *out = NULL;
    if (!env) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_envelope_copy: no envelope");
    json_t *root = json_deep_copy(env->root);
    if (!root) return oom();
    return wrap(out, root);
}

/* The first violation as "invalid job envelope: <pointer>: <reason>". */
static gbx_err report_violation(json_t *violations) {
    json_t *first = json_array_get(violations, 0);
    const char *pointer = json_string_value(json_object_get(first, "pointer"));
    const char *message = json_string_value(json_object_get(first, "message"));
    char reason[900];
    snprintf(reason, sizeof reason, "%s", message ? message : gbx_error_last()->message);
    return gbx_error_set(GBX_ERR_BAD_REQUEST, ERR_PREFIX "%s: %s",
                         pointer && *pointer ? pointer : "(root)", reason);
}

gbx_err gbx_envelope_validate(const gbx_envelope *env) {
    if (!env) return gbx_error_set(GBX_ERR_BAD_REQUEST, ERR_PREFIX "no envelope");
    const gbx_schema *schema;
    gbx_err rc = get_schema(&schema);
    if (rc) return rc;
    json_t *violations = NULL;
    rc = gbx_schema_validate(&violations, schema, env->root);
    if (rc == GBX_ERR_BAD_REQUEST) rc = report_violation(violations);
    json_decref(violations);
    return rc;
}

gbx_err gbx_envelope_parse(gbx_envelope **out, const char *text, size_t len) {
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_envelope_parse: out is NULL");
    *out = NULL;
    json_t *root;
    if (gbx_json_parse(&root, text, len) != GBX_OK) {
        char reason[900];
        snprintf(reason, sizeof reason, "%s", gbx_error_last()->message);
        return gbx_error_set(GBX_ERR_BAD_REQUEST, ERR_PREFIX "%s", reason);
    }
    gbx_envelope *env = NULL;
    gbx_err rc = wrap(&env, root);
    if (rc) return rc;
    rc = gbx_envelope_validate(env);
    if (!rc) {
        /* A base64 body must decode; doing it now also fills the cache. */
        size_t n;
        if (!gbx_envelope_content(env, &n))
            rc = gbx_error_set(GBX_ERR_BAD_REQUEST, ERR_PREFIX "/content: not valid base64");
    }
    if (!rc) rc = fill_collections(env->root);
    if (rc) {
        gbx_envelope_free(env);
        return rc;
    }
    *out = env;
    return GBX_OK;
}

gbx_err gbx_envelope_serialize(char **out, const gbx_envelope *env) {
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_envelope_serialize: out is NULL");
    *out = NULL;
    if (!env) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_envelope_serialize: no envelope");
    return gbx_json_dump(out, env->root);
}

json_t *gbx_envelope_json(const gbx_envelope *env) { return env ? env->root : NULL; }

/* The object holding `field` and the key inside it: "resource.type" ->
 * (root.resource, "type").  With `create`, a missing or non-object parent
 * is replaced by an empty object. */
static json_t *field_parent(json_t *root, const char *field, const char **key, bool create) {
    const char *dot = strchr(field, '.');
    if (!dot) {
        *key = field;
        return root;
    }
    *key = dot + 1;
    size_t n = (size_t)(dot - field);
    json_t *parent = json_object_getn(root, field, n);
    if (!json_is_object(parent) && create) {
        parent = json_object();
        if (!parent || json_object_setn_new(root, field, n, parent) != 0) return NULL;
    }
    return json_is_object(parent) ? parent : NULL;
}

const char *gbx_envelope_get(const gbx_envelope *env, const char *field) {
    if (!env || !is_string_field(field)) return NULL;
    if (strcmp(field, "content") == 0) return gbx_envelope_content(env, NULL);
    const char *key;
    json_t *parent = field_parent(env->root, field, &key, false);
    return json_string_value(json_object_get(parent, key));
}

gbx_err gbx_envelope_set(gbx_envelope *env, const char *field, const char *value) {
    if (!env) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_envelope_set: no envelope");
    if (!is_string_field(field))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "envelope: \"%s\" is not a string field",
                             field ? field : "(null)");
    if (strcmp(field, "content") == 0) {
        if (value) return gbx_envelope_set_content(env, value, strlen(value));
        json_object_del(env->root, "content");
        json_object_del(env->root, ENCODING_KEY);
        return GBX_OK;
    }
    const char *key;
    if (!value) {
        json_t *parent = field_parent(env->root, field, &key, false);
        if (parent) json_object_del(parent, key);
        return GBX_OK;
    }
    json_t *s = json_string(value);
    if (!s) return gbx_error_set(GBX_ERR_BAD_REQUEST, "envelope %s: value is not valid UTF-8", field);
    json_t *parent = field_parent(env->root, field, &key, true);
    if (!parent || json_object_set_new(parent, key, s) != 0) {
        if (!parent) json_decref(s);
        return oom();
    }
    return GBX_OK;
}

const char *gbx_envelope_content(const gbx_envelope *env, size_t *len) {
    if (len) *len = 0;
    if (!env) return NULL;
    json_t *content = json_object_get(env->root, "content");
    if (!content) return "";
    if (!json_is_string(content)) return NULL;
    if (!json_object_get(env->root, ENCODING_KEY)) {
        if (len) *len = json_string_length(content);
        return json_string_value(content);
    }
    content_cache *c = env->cache;
    if (c->source != content) {
        char *data;
        size_t n;
        if (gbx__json_get_content(&data, &n, env->root, ENCODING_KEY) != GBX_OK) return NULL;
        cache_clear(c);
        c->source = json_incref(content);
        c->data = data;
        c->len = n;
    }
    if (len) *len = c->len;
    return c->data;
}

gbx_err gbx_envelope_set_content(gbx_envelope *env, const char *data, size_t len) {
    if (!env) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_envelope_set_content: no envelope");
    if (!data && len) return gbx_error_set(GBX_ERR_BAD_REQUEST, "envelope content: NULL data");
    return gbx__json_set_content(env->root, ENCODING_KEY, data, len);
}

json_t *gbx_envelope_get_json(const gbx_envelope *env, const char *field) {
    if (!env || collection_index(field) < 0) return NULL;
    return json_object_get(env->root, field);
}

/* An array of strings, or an object whose values are strings. */
static bool all_strings(const json_t *value) {
    size_t i;
    const char *key;
    json_t *item;
    if (json_is_array(value)) {
        json_array_foreach(value, i, item) {
            if (!json_is_string(item)) return false;
        }
    } else {
        json_object_foreach((json_t *)value, key, item) {
            if (!json_is_string(item)) return false;
        }
    }
    return true;
}

gbx_err gbx_envelope_set_json(gbx_envelope *env, const char *field, json_t *value) {
    if (!env) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_envelope_set_json: no envelope");
    int i = collection_index(field);
    if (i < 0)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "envelope: \"%s\" is not a collection field",
                             field ? field : "(null)");
    bool array = collection_fields[i].array;
    json_t *v;
    if (!value) {
        v = array ? json_array() : json_object();
        if (!v) return oom();
    } else {
        if (array ? !json_is_array(value) : !json_is_object(value))
            return gbx_error_set(GBX_ERR_BAD_REQUEST, "envelope %s: must be an %s", field,
                                 array ? "array" : "object");
        if (strcmp(field, "on") != 0 && !all_strings(value))
            return gbx_error_set(GBX_ERR_BAD_REQUEST, "envelope %s: every value must be a string", field);
        v = json_incref(value);
    }
    return json_object_set_new(env->root, field, v) == 0 ? GBX_OK : oom();
}

long long gbx_envelope_get_int(const gbx_envelope *env, const char *field) {
    if (!env || !is_int_field(field)) return 0;
    return (long long)json_integer_value(json_object_get(env->root, field));
}

gbx_err gbx_envelope_set_int(gbx_envelope *env, const char *field, long long value) {
    if (!env) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_envelope_set_int: no envelope");
    if (!is_int_field(field))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "envelope: \"%s\" is not a numeric field",
                             field ? field : "(null)");
    return json_object_set_new(env->root, field, json_integer((json_int_t)value)) == 0 ? GBX_OK : oom();
}

bool gbx_envelope_is_sync(const gbx_envelope *env) {
    const char *type = gbx_envelope_get(env, "job_type");
    return type && strcmp(type, "sync") == 0;
}
