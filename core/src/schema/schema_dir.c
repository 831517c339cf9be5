/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* schema_dir.c - the request schemas of one service, compiled once each. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gearbox/log.h"
#include "gearbox/schema.h"

typedef struct dir_entry {
    struct dir_entry *next;
    char *key;          /* "<operation>-<component>-<resource>-<version>" */
    char *path;         /* the file used, or the one looked for first */
    gbx_schema *schema; /* NULL: neither file exists */
} dir_entry;

struct gbx_schema_dir {
    char *dir;
    gbx_dialect dialect;
    pthread_rwlock_t lock;
    dir_entry *entries; /* only ever grows; entries are never freed before the cache */
};

gbx_err gbx_schema_dir_new(gbx_schema_dir **out, const char *dir, gbx_dialect dialect) {
    *out = NULL;
    if (!dir) return gbx_error_set(GBX_ERR_BAD_REQUEST, "no schema directory given");
    gbx_schema_dir *sd = calloc(1, sizeof *sd);
    if (!sd || !(sd->dir = strdup(dir))) {
        free(sd);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    }
    sd->dialect = dialect;
    pthread_rwlock_init(&sd->lock, NULL);
    *out = sd;
    return GBX_OK;
}

static void entry_free(dir_entry *e) {
    if (!e) return;
    gbx_schema_free(e->schema);
    free(e->key);
    free(e->path);
    free(e);
}

void gbx_schema_dir_free(gbx_schema_dir *sd) {
    if (!sd) return;
    for (dir_entry *e = sd->entries, *next; e; e = next) {
        next = e->next;
        entry_free(e);
    }
    pthread_rwlock_destroy(&sd->lock);
    free(sd->dir);
    free(sd);
}

/* Names that go into a file name must not leave the schema directory. */
static bool safe_name_part(const char *s) {
    if (!s || !*s) return false;
    for (; *s; s++)
        if (*s == '/' || *s == '\\' || (*s == '.' && s[1] == '.')) return false;
    return true;
}

static bool is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static dir_entry *lookup(gbx_schema_dir *sd, const char *key) {
    for (dir_entry *e = sd->entries; e; e = e->next)
        if (strcmp(e->key, key) == 0) return e;
    return NULL;
}

/* Finds and compiles the file of `key`, outside the lock. */
static gbx_err load_entry(dir_entry **out, gbx_schema_dir *sd, const char *key,
                          const char *operation, const char *resource, const char *version) {
    *out = NULL;
    char own[4096], global[4096];
    int n1 = snprintf(own, sizeof own, "%s/%s.js", sd->dir, key);
    int n2 = snprintf(global, sizeof global, "%s/%s-global-%s-%s.js", sd->dir, operation, resource,
                      version);
    if (n1 < 0 || (size_t)n1 >= sizeof own || n2 < 0 || (size_t)n2 >= sizeof global)
        return gbx_error_set(GBX_ERR_REQUEST_URI_TOO_LONG, "schema file name too long for %s", key);
    const char *found = is_file(own) ? own : is_file(global) ? global : NULL;

    gbx_schema *schema = NULL;
    if (found) {
        gbx_schema_options opts;
        gbx_schema_options_init(&opts);
        opts.default_dialect = sd->dialect;
        if (gbx_schema_load_file(&schema, found, &opts) != GBX_OK) {
            gbx_err err = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "schema file %s: %s", found,
                                        gbx_error_last()->message);
            gbx_log(GBX_LOG_ERROR, "%s", gbx_error_last()->message);
            return err;
        }
        gbx_log(GBX_LOG_DEBUG, "schema %s loaded for %s", found, key);
    }
    dir_entry *e = calloc(1, sizeof *e);
    if (!e || !(e->key = strdup(key)) || !(e->path = strdup(found ? found : own))) {
        if (e) free(e->key);
        free(e);
        gbx_schema_free(schema);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    }
    e->schema = schema;
    *out = e;
    return GBX_OK;
}

gbx_err gbx_schema_dir_find(const gbx_schema **out, const char **path, gbx_schema_dir *sd,
                            const char *operation, const char *component, const char *resource,
                            const char *version) {
    *out = NULL;
    if (path) *path = NULL;
    if (!sd) return GBX_OK;
    if (!safe_name_part(operation) || !safe_name_part(component) || !safe_name_part(resource) ||
        !safe_name_part(version))
        return GBX_OK;
    char key[512];
    int n = snprintf(key, sizeof key, "%s-%s-%s-%s", operation, component, resource, version);
    if (n < 0 || (size_t)n >= sizeof key)
        return gbx_error_set(GBX_ERR_REQUEST_URI_TOO_LONG, "schema name too long: %.64s...", key);

    pthread_rwlock_rdlock(&sd->lock);
    dir_entry *e = lookup(sd, key);
    pthread_rwlock_unlock(&sd->lock);
    if (!e) {
        /* Compile outside the lock; if another thread got there first, keep its. */
        dir_entry *fresh = NULL;
        gbx_err err = load_entry(&fresh, sd, key, operation, resource, version);
        if (err != GBX_OK) return err;
        pthread_rwlock_wrlock(&sd->lock);
        e = lookup(sd, key);
        if (!e) {
            fresh->next = sd->entries;
            sd->entries = e = fresh;
            fresh = NULL;
        }
        pthread_rwlock_unlock(&sd->lock);
        entry_free(fresh);
    }
    *out = e->schema;
    if (path) *path = e->path;
    return GBX_OK;
}
