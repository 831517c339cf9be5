/* store.c - opening a status store from its config section and dispatching
 * to the backend (store_sqlite.c; MySQL later), including the job queue
 * (queue_internal.h). */
#include "gearbox/store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_internal.h"

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
    json_decref(row->events);
    json_decref(row->priv);
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

/* ---- the job queue ----------------------------------------------------- */

static gbx_err queue_check(gbx_store *s, const char *what) {
    if (!s) return gbx_error_set(GBX_ERR_BAD_REQUEST, "job queue: no store");
    if (!what || !*what)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "job queue: no ticket or status id given");
    return GBX_OK;
}

gbx_err gbx__queue_put(gbx_store *s, const char *ticket, const char *status_id, const char *name,
                       const char *envelope, double due, bool submitted) {
    gbx_err rc = queue_check(s, ticket);
    if (rc) return rc;
    if (!name || !*name) return gbx_error_set(GBX_ERR_BAD_REQUEST, "job queue: no job name");
    if (!envelope) return gbx_error_set(GBX_ERR_BAD_REQUEST, "job queue: no envelope");
    if (!isfinite(due) || due < 0)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "job queue: due must be unix seconds >= 0");
    gbx__queued row = {.ticket = (char *)ticket, .status_id = (char *)status_id,
                       .name = (char *)name, .envelope = (char *)envelope, .due = due};
    return s->ops->queue_put(s, &row, submitted ? gbx__now() : 0);
}

gbx_err gbx__queue_take(bool *taken, gbx_store *s, const char *ticket) {
    if (!taken) return gbx_error_set(GBX_ERR_BAD_REQUEST, "job queue: no output pointer");
    *taken = false;
    gbx_err rc = queue_check(s, ticket);
    if (rc) return rc;
    return s->ops->queue_take(s, ticket, gbx__now(), taken);
}

gbx_err gbx__queue_claim_due(gbx__queued **out, size_t *n, gbx_store *s, double now,
                             double resubmit_after, size_t max) {
    if (!out || !n) return gbx_error_set(GBX_ERR_BAD_REQUEST, "job queue: no output pointer");
    *out = NULL;
    *n = 0;
    if (!s) return gbx_error_set(GBX_ERR_BAD_REQUEST, "job queue: no store");
    if (!isfinite(now) || !isfinite(resubmit_after) || resubmit_after < 0)
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "job queue: now and resubmit_after must be finite, "
                             "resubmit_after >= 0");
    if (max == 0) return GBX_OK;
    return s->ops->queue_claim_due(s, now, resubmit_after, max, out, n);
}

gbx_err gbx__queue_next_due(double *out, gbx_store *s) {
    if (!out) return gbx_error_set(GBX_ERR_BAD_REQUEST, "job queue: no output pointer");
    *out = 0;
    if (!s) return gbx_error_set(GBX_ERR_BAD_REQUEST, "job queue: no store");
    return s->ops->queue_next_due(s, out);
}

gbx_err gbx__queue_reschedule(size_t *n, gbx_store *s, const char *status_id, double due) {
    size_t changed = 0;
    if (n) *n = 0;
    gbx_err rc = queue_check(s, status_id);
    if (rc) return rc;
    if (!isfinite(due) || due < 0)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "job queue: due must be unix seconds >= 0");
    rc = s->ops->queue_reschedule(s, status_id, due, &changed);
    if (n) *n = changed;
    return rc;
}

gbx_err gbx__queue_drop(size_t *n, gbx_store *s, const char *status_id) {
    size_t changed = 0;
    if (n) *n = 0;
    gbx_err rc = queue_check(s, status_id);
    if (rc) return rc;
    rc = s->ops->queue_drop(s, status_id, &changed);
    if (n) *n = changed;
    return rc;
}

void gbx__queued_free(gbx__queued *rows, size_t n) {
    if (!rows) return;
    for (size_t i = 0; i < n; i++) {
        free(rows[i].ticket);
        free(rows[i].status_id);
        free(rows[i].name);
        free(rows[i].envelope);
    }
    free(rows);
}
