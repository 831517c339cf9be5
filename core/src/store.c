/* store.c - opening a status store from its config section and dispatching
 * to the backend (store_sqlite.c; MySQL later). */
#include "gearbox/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_internal.h"

#define DEFAULT_BUSY_TIMEOUT_MS 5000

void gbx__status_row_clear(gbx__status_row *row) {
    if (!row) return;
    free(row->id);
    free(row->operation);
    free(row->component);
    free(row->uri);
    free(row->status_uri);
    free(row->parent_uri);
    free(row->scope);
    json_decref(row->messages);
    json_decref(row->children);
    json_decref(row->meta);
    memset(row, 0, sizeof *row);
}

gbx_err gbx__store_not_found(const char *id) {
    return gbx_error_set(GBX_ERR_NOT_FOUND, "status \"%s\" not found", id ? id : "");
}

gbx_err gbx__store_conflict(gbx_state current) {
    return gbx_error_set(GBX_ERR_CONFLICT, "state is currently %s", gbx_state_name(current));
}

double gbx__now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads an optional non-negative integer member. */
static gbx_err optional_int(int *out, const json_t *section, const char *key, int dflt) {
    const json_t *v = json_object_get(section, key);
    if (!v || json_is_null(v)) {
        *out = dflt;
        return GBX_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 3600000)
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "status store: \"%s\" must be an integer from 0 to 3600000", key);
    *out = (int)json_integer_value(v);
    return GBX_OK;
}

/* Reads an optional string member (NULL when absent). */
static gbx_err optional_string(const char **out, const json_t *section, const char *key) {
    const json_t *v = json_object_get(section, key);
    *out = NULL;
    if (!v || json_is_null(v)) return GBX_OK;
    if (!json_is_string(v))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "status store: \"%s\" must be a string", key);
    *out = json_string_value(v);
    return GBX_OK;
}

gbx_err gbx_store_open(gbx_store **out, const json_t *section, const char *base_dir) {
    if (!out) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status store: no output handle");
    *out = NULL;
    if (!json_is_object(section))
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "status store: the configuration must be an object like "
                             "{\"type\": \"sqlite\", \"path\": \"state/status.db\"}");
    const char *type;
    gbx_err rc = optional_string(&type, section, "type");
    if (rc) return rc;
    if (!type) type = "sqlite";
    if (strcmp(type, "mysql") == 0)
        return gbx_error_set(GBX_ERR_NOT_IMPLEMENTED,
                             "status store: type \"mysql\" is not available in this build");
    if (strcmp(type, "sqlite") != 0)
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "status store: unknown type \"%s\" (expected \"sqlite\" or \"mysql\")",
                             type);

    gbx__store_options options = {0};
    if ((rc = optional_string(&options.path, section, "path"))) return rc;
    if ((rc = optional_int(&options.busy_timeout_ms, section, "busy_timeout_ms",
                           DEFAULT_BUSY_TIMEOUT_MS)))
        return rc;
    if ((rc = optional_string(&options.synchronous, section, "synchronous"))) return rc;
    if (!options.path || !*options.path)
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "status store: \"path\" is required for type \"sqlite\"");

    char *joined = NULL;
    if (options.path[0] != '/' && strcmp(options.path, ":memory:") != 0 && base_dir &&
        *base_dir) {
        size_t n = strlen(base_dir) + strlen(options.path) + 2;
        joined = malloc(n);
        if (!joined) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
        snprintf(joined, n, "%s%s%s", base_dir,
                 base_dir[strlen(base_dir) - 1] == '/' ? "" : "/", options.path);
        options.path = joined;
    }
    rc = gbx__store_sqlite_open(out, &options);
    free(joined);
    return rc;
}

gbx_err gbx_store_open_sqlite(gbx_store **out, const char *path) {
    if (!out) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status store: no output handle");
    *out = NULL;
    if (!path || !*path)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "status store: no SQLite path given");
    gbx__store_options options = {.path = path, .busy_timeout_ms = DEFAULT_BUSY_TIMEOUT_MS};
    return gbx__store_sqlite_open(out, &options);
}

void gbx_store_free(gbx_store *store) {
    if (store) store->ops->close(store);
}

const char *gbx_store_backend(const gbx_store *store) {
    return store ? store->ops->name : NULL;
}
