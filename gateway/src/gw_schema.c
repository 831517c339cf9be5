/* gw_schema.c - compiled request schemas, cached per file. */
#include "gw_schema.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gearbox/json.h"
#include "gearbox/log.h"
#include "gw_util.h"

typedef struct schema_entry {
    struct schema_entry *next;
    char *path;
    gbx_dialect dialect;
    gbx_schema *schema;  /* NULL: the file does not exist */
} schema_entry;

struct gbx_gw_schemas {
    pthread_rwlock_t lock;
    schema_entry *entries;
};

gbx_err gbx_gw_schemas_new(gbx_gw_schemas **out) {
    *out = calloc(1, sizeof **out);
    if (!*out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    pthread_rwlock_init(&(*out)->lock, NULL);
    return GBX_OK;
}

void gbx_gw_schemas_free(gbx_gw_schemas *cache) {
    if (!cache) return;
    schema_entry *e = cache->entries;
    while (e) {
        schema_entry *next = e->next;
        gbx_schema_free(e->schema);
        free(e->path);
        free(e);
        e = next;
    }
    pthread_rwlock_destroy(&cache->lock);
    free(cache);
}

static schema_entry *find_entry(gbx_gw_schemas *cache, const char *path, gbx_dialect dialect) {
    for (schema_entry *e = cache->entries; e; e = e->next)
        if (e->dialect == dialect && strcmp(e->path, path) == 0) return e;
    return NULL;
}

/* The cache entry of one file, loading it on first use. */
static gbx_err entry_for(schema_entry **out, gbx_gw_schemas *cache, const char *path,
                         gbx_dialect dialect) {
    pthread_rwlock_rdlock(&cache->lock);
    schema_entry *e = find_entry(cache, path, dialect);
    pthread_rwlock_unlock(&cache->lock);
    if (e) {
        *out = e;
        return GBX_OK;
    }
    /* Compile outside the lock; if another thread got there first, keep its. */
    gbx_schema *schema = NULL;
    struct stat st;
    if (stat(path, &st) == 0) {
        gbx_schema_options opts;
        gbx_schema_options_init(&opts);
        opts.default_dialect = dialect;
        if (gbx_schema_load_file(&schema, path, &opts) != GBX_OK) {
            gbx_err err = gbx_gw_error_wrap(GBX_ERR_INTERNAL_SERVER_ERROR, "schema %s", path);
            gbx_log(GBX_LOG_ERROR, "%s", gbx_error_last()->message);
            return err;
        }
    }
    e = calloc(1, sizeof *e);
    if (!e || !(e->path = strdup(path))) {
        free(e);
        gbx_schema_free(schema);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    }
    e->dialect = dialect;
    e->schema = schema;
    pthread_rwlock_wrlock(&cache->lock);
    schema_entry *existing = find_entry(cache, path, dialect);
    if (existing) {
        pthread_rwlock_unlock(&cache->lock);
        gbx_schema_free(e->schema);
        free(e->path);
        free(e);
        *out = existing;
        return GBX_OK;
    }
    e->next = cache->entries;
    cache->entries = e;
    pthread_rwlock_unlock(&cache->lock);
    if (schema) gbx_log(GBX_LOG_DEBUG, "schema %s loaded", path);
    *out = e;
    return GBX_OK;
}

gbx_err gbx_gw_schema_find(const gbx_schema **out, const char **path, gbx_gw_schemas *cache,
                           const char *dir, gbx_dialect dialect, const char *operation,
                           const char *component, const char *resource, const char *version) {
    *out = NULL;
    if (path) *path = NULL;
    const char *components[2] = {component, "global"};
    for (int i = 0; i < 2; i++) {
        char file[4096];
        int n = snprintf(file, sizeof file, "%s/%s-%s-%s-%s.js", dir, operation, components[i],
                         resource, version);
        if (n < 0 || (size_t)n >= sizeof file)
            return gbx_error_set(GBX_ERR_REQUEST_URI_TOO_LONG, "schema file name too long");
        schema_entry *e = NULL;
        gbx_err err = entry_for(&e, cache, file, dialect);
        if (err != GBX_OK) return err;
        if (path && (i == 0 || e->schema)) *path = e->path;
        if (e->schema) {
            *out = e->schema;
            return GBX_OK;
        }
    }
    return GBX_OK;
}

gbx_err gbx_gw_validate_body(gbx_gw_schemas *cache, const gbx_gw_location *loc,
                             const char *operation, const char *resource, const char *version,
                             const char *body, size_t len) {
    json_t *instance = NULL;
    if (len == 0) {
        instance = json_null();
    } else if (gbx_json_parse(&instance, body, len) != GBX_OK) {
        return GBX_ERR_BAD_REQUEST;  /* "malformed JSON: ..." is the last error */
    }
    gbx_err err = GBX_OK;
    if (loc->schemadir) {
        const gbx_schema *schema = NULL;
        const char *file = NULL;
        err = gbx_gw_schema_find(&schema, &file, cache, loc->schemadir, loc->dialect, operation,
                                 loc->component, resource, version);
        if (err == GBX_OK && schema) {
            err = gbx_schema_validate(NULL, schema, instance);
        } else if (err == GBX_OK && loc->require_schemas) {
            err = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                                "no schema %s (nor a -global- one) and this service requires schemas",
                                file ? file : "");
        }
    }
    json_decref(instance);
    return err;
}
