/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* store.c - opening a status store by its config `type` through the table
 * of backends (store/backend.h), and the job queue's checked entry points
 * (queue_internal.h), each call to the backend timed (optime.h); the
 * metrics' store calls (gearbox/metrics.h). */
#include "gearbox/store.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gearbox/metrics.h"
#include "gearbox/state.h"
#include "store/backend.h"
#include "store/optime.h"
#include "store/queue_internal.h"

/* The backends this build knows ("mysql" names the MariaDB backend too);
 * open NULL = known but not built in. */
static const gbx__store_backend *const backends[] = {
    &gbx__store_backend_sqlite,
    &gbx__store_backend_mariadb,
    &gbx__store_backend_mysql,
};
#define BACKEND_COUNT (sizeof backends / sizeof backends[0])

gbx_err gbx_store_open(gbx_store **out, const json_t *section, const char *base_dir) {
    if (!out) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status store: no output handle");
    *out = NULL;
    if (!json_is_object(section))
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "status store: the configuration must be an object like "
                             "{\"type\": \"sqlite\", \"path\": \"state/status.db\"}");
    const char *type;
    gbx_err rc = gbx__store_option_string(&type, section, "type");
    if (rc) return rc;
    if (!type) type = "sqlite";
    char known[128] = "";
    for (size_t i = 0; i < BACKEND_COUNT; i++) {
        if (strcmp(type, backends[i]->type) == 0) {
            if (!backends[i]->open)
                return gbx_error_set(GBX_ERR_NOT_IMPLEMENTED,
                                     "status store: type \"%s\" is not available in this build",
                                     type);
            return backends[i]->open(out, section, base_dir);
        }
        size_t used = strlen(known);
        snprintf(known + used, sizeof known - used, "%s\"%s\"",
                 i == 0 ? "" : i + 1 == BACKEND_COUNT ? " or " : ", ", backends[i]->type);
    }
    return gbx_error_set(GBX_ERR_BAD_REQUEST, "status store: unknown type \"%s\" (expected %s)",
                         type, known);
}

gbx_err gbx_store_open_sqlite(gbx_store **out, const char *path) {
    if (!out) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status store: no output handle");
    *out = NULL;
    if (!path || !*path)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "status store: no SQLite path given");
    json_t *section = json_pack("{s:s, s:s}", "type", "sqlite", "path", path);
    if (!section) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status store: path is not UTF-8");
    gbx_err rc = gbx_store_open(out, section, NULL);
    json_decref(section);
    return rc;
}

void gbx_store_free(gbx_store *store) {
    if (store) store->ops->close(store);
}

void gbx_store_set_patience(gbx_store *store, double seconds) {
    if (store) store->patience = seconds > 0 && seconds < 86400 ? seconds : 0;
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
                       .name = (char *)name, .envelope = (char *)envelope, .due = due,
                       .submitted = submitted ? gbx__now() : 0};
    gbx__store_wait wait = {0};
    do GBX__STORE_TIMED(GBX__OP_QUEUE_PUT, rc = s->ops->queue_put(s, &row));
    while (gbx__store_again(s, rc, &wait));
    return rc;
}

static gbx_err lease_check(double lease_seconds) {
    if (!isfinite(lease_seconds) || lease_seconds <= 0)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "job queue: lease_seconds must be > 0");
    return GBX_OK;
}

gbx_err gbx__queue_take(bool *taken, gbx_store *s, const char *ticket, double lease_seconds,
                        bool retryable) {
    if (!taken) return gbx_error_set(GBX_ERR_BAD_REQUEST, "job queue: no output pointer");
    *taken = false;
    gbx_err rc = queue_check(s, ticket);
    if (!rc) rc = lease_check(lease_seconds);
    if (rc) return rc;
    gbx__store_wait wait = {0};
    do {
        double now = gbx__now();
        GBX__STORE_TIMED(GBX__OP_QUEUE_TAKE,
                         rc = s->ops->queue_take(s, ticket, now, now + lease_seconds, retryable, taken));
    } while (gbx__store_again(s, rc, &wait));
    return rc;
}

gbx_err gbx__queue_renew(bool *held, gbx_store *s, const char *ticket, double lease_seconds) {
    if (!held) return gbx_error_set(GBX_ERR_BAD_REQUEST, "job queue: no output pointer");
    *held = false;
    gbx_err rc = queue_check(s, ticket);
    if (!rc) rc = lease_check(lease_seconds);
    if (rc) return rc;
    GBX__STORE_TIMED(GBX__OP_QUEUE_RENEW, rc = s->ops->queue_renew(s, ticket, gbx__now() + lease_seconds, held));
    return rc;
}

gbx_err gbx__queue_done(gbx_store *s, const char *ticket) {
    gbx_err rc = queue_check(s, ticket);
    if (rc) return rc;
    gbx__store_wait wait = {0};
    do GBX__STORE_TIMED(GBX__OP_QUEUE_DONE, rc = s->ops->queue_done(s, ticket));
    while (gbx__store_again(s, rc, &wait));
    return rc;
}

gbx_err gbx__idempotency_put(char **existing_id, char **existing_digest, gbx_store *s,
                             const char *key, const char *digest, const char *status_id,
                             double window) {
    if (!existing_id || !existing_digest)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "idempotency key: no output pointer");
    *existing_id = *existing_digest = NULL;
    if (!s || !key || !*key || !digest || !status_id || !*status_id || !(window > 0))
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "idempotency key: store, key, digest, status id and window required");
    double now = gbx__now();
    gbx_err rc;
    GBX__STORE_TIMED(GBX__OP_IDEMPOTENCY_PUT,
                     rc = s->ops->idempotency_put(s, key, digest, status_id, now, now - window,
                                                  existing_id, existing_digest));
    return rc;
}

gbx_err gbx__idempotency_drop(gbx_store *s, const char *key, const char *status_id) {
    if (!s || !key || !status_id)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "idempotency key: store, key and status id required");
    gbx_err rc;
    GBX__STORE_TIMED(GBX__OP_IDEMPOTENCY_DROP, rc = s->ops->idempotency_drop(s, key, status_id));
    return rc;
}

gbx_err gbx__store_purge(size_t *n, gbx_store *s, double before, size_t max) {
    size_t deleted = 0;
    if (n) *n = 0;
    if (!s) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status store: no store");
    if (!isfinite(before)) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status store: bad purge time");
    if (max == 0) return GBX_OK;
    gbx_err rc;
    GBX__STORE_TIMED(GBX__OP_PURGE, rc = s->ops->purge(s, before, max, &deleted));
    if (n) *n = deleted;
    return rc;
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
    gbx_err rc;
    GBX__STORE_TIMED(GBX__OP_QUEUE_CLAIM_DUE,
                     rc = s->ops->queue_claim_due(s, now, resubmit_after, max, out, n));
    return rc;
}

gbx_err gbx__queue_next_due(double *out, gbx_store *s) {
    if (!out) return gbx_error_set(GBX_ERR_BAD_REQUEST, "job queue: no output pointer");
    *out = 0;
    if (!s) return gbx_error_set(GBX_ERR_BAD_REQUEST, "job queue: no store");
    gbx_err rc;
    GBX__STORE_TIMED(GBX__OP_QUEUE_NEXT_DUE, rc = s->ops->queue_next_due(s, out));
    return rc;
}

gbx_err gbx__queue_reschedule(size_t *n, gbx_store *s, const char *status_id, double due) {
    size_t changed = 0;
    if (n) *n = 0;
    gbx_err rc = queue_check(s, status_id);
    if (rc) return rc;
    if (!isfinite(due) || due < 0)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "job queue: due must be unix seconds >= 0");
    GBX__STORE_TIMED(GBX__OP_QUEUE_RESCHEDULE, rc = s->ops->queue_reschedule(s, status_id, due, &changed));
    if (n) *n = changed;
    return rc;
}

gbx_err gbx__queue_drop(size_t *n, gbx_store *s, const char *status_id) {
    size_t changed = 0;
    if (n) *n = 0;
    gbx_err rc = queue_check(s, status_id);
    if (rc) return rc;
    GBX__STORE_TIMED(GBX__OP_QUEUE_DROP, rc = s->ops->queue_drop(s, status_id, &changed));
    if (n) *n = changed;
    return rc;
}

/* ---- metrics ------------------------------------------------------------ */

static const char *const op_names[GBX__OP_COUNT] = {
    [GBX__OP_INSERT] = "insert",
    [GBX__OP_LOAD] = "load",
    [GBX__OP_LOAD_ENVELOPE] = "load_envelope",
    [GBX__OP_UPDATE] = "update",
    [GBX__OP_LIST] = "list",
    [GBX__OP_COUNTER_ADD] = "counter_add",
    [GBX__OP_QUEUE_PUT] = "queue_put",
    [GBX__OP_QUEUE_TAKE] = "queue_take",
    [GBX__OP_QUEUE_RENEW] = "queue_renew",
    [GBX__OP_QUEUE_DONE] = "queue_done",
    [GBX__OP_QUEUE_CLAIM_DUE] = "queue_claim_due",
    [GBX__OP_QUEUE_NEXT_DUE] = "queue_next_due",
    [GBX__OP_QUEUE_RESCHEDULE] = "queue_reschedule",
    [GBX__OP_QUEUE_DROP] = "queue_drop",
    [GBX__OP_IDEMPOTENCY_PUT] = "idempotency_put",
    [GBX__OP_IDEMPOTENCY_DROP] = "idempotency_drop",
    [GBX__OP_PURGE] = "purge",
    [GBX__OP_COUNT_STATES] = "count_states",
    [GBX__OP_WORKERS_PUBLISH] = "workers_publish",
    [GBX__OP_WORKERS_READ] = "workers_read",
    [GBX__OP_CHANGED] = "changed",
};

/* One histogram per operation, for the life of the process. */
static gbx_histogram *op_timings[GBX__OP_COUNT];
static pthread_once_t op_timings_once = PTHREAD_ONCE_INIT;

static void op_timings_init(void) {
    for (size_t i = 0; i < GBX__OP_COUNT; i++)
        if (gbx_histogram_new(&op_timings[i]) != GBX_OK) op_timings[i] = NULL;
}

void gbx__store_timed(gbx__store_op op, double start) {
    pthread_once(&op_timings_once, op_timings_init);
    if ((size_t)op < GBX__OP_COUNT) gbx_histogram_observe(op_timings[op], gbx_metrics_clock() - start);
}

size_t gbx_store_operation_count(void) { return GBX__OP_COUNT; }

const char *gbx_store_operation_name(size_t i) { return i < GBX__OP_COUNT ? op_names[i] : NULL; }

void gbx_store_operation_timings(size_t i, gbx_histogram_counts *into) {
    pthread_once(&op_timings_once, op_timings_init);
    if (i < GBX__OP_COUNT) gbx_histogram_read(op_timings[i], into);
}

gbx_err gbx_store_count_states(json_t **out, gbx_store *s) {
    if (!out) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status store: no output pointer");
    *out = NULL;
    if (!s) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status store: no store");
    long long counts[GBX_STATE_COMPLETED + 1] = {0};
    size_t n = sizeof counts / sizeof counts[0];
    gbx_err rc;
    GBX__STORE_TIMED(GBX__OP_COUNT_STATES, rc = s->ops->count_states(s, counts, n));
    if (rc) return rc;
    json_t *obj = json_object();
    for (size_t i = GBX_STATE_PENDING; obj && i < n; i++)
        if (json_object_set_new(obj, gbx_state_name((gbx_state)i), json_integer(counts[i])) != 0) {
            json_decref(obj);
            obj = NULL;
        }
    if (!obj) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    *out = obj;
    return GBX_OK;
}

gbx_err gbx_store_worker_figures(json_t **out, gbx_store *s, double max_age) {
    if (!out) return gbx_error_set(GBX_ERR_BAD_REQUEST, "status store: no output pointer");
    *out = NULL;
    if (!s || !isfinite(max_age) || max_age < 0)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "status store: store and max_age >= 0 required");
    gbx_err rc;
    GBX__STORE_TIMED(GBX__OP_WORKERS_READ, rc = s->ops->workers_read(s, gbx__now() - max_age, out));
    return rc;
}

gbx_err gbx_store_publish_worker_figures(gbx_store *s, const char *worker, const char *component,
                                         const json_t *figures) {
    if (!s || !worker || !*worker || !json_is_object(figures))
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "status store: store, worker name and figures (an object) required");
    char *text = json_dumps(figures, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    double now = gbx__now();
    gbx_err rc;
    GBX__STORE_TIMED(GBX__OP_WORKERS_PUBLISH,
                     rc = s->ops->workers_publish(s, worker, component ? component : "", text, now,
                                                  now - GBX_METRICS_FORGET_SECONDS));
    free(text);
    return rc;
}

/* ---- completion callbacks ---------------------------------------------- */

static gbx_err callback_check(gbx_store *s, const char *status_id) {
    if (!s) return gbx_error_set(GBX_ERR_BAD_REQUEST, "callbacks: no store");
    if (!status_id || !*status_id) return gbx_error_set(GBX_ERR_BAD_REQUEST, "callbacks: no status id");
    return GBX_OK;
}

gbx_err gbx_store_callback_put(gbx_store *store, const char *status_id, const char *url,
                               const char *location) {
    gbx_err rc = callback_check(store, status_id);
    if (rc) return rc;
    if (!url || !*url || !location)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "callbacks: a URL and a location are required");
    return store->ops->callback_put(store, status_id, url, location);
}

gbx_err gbx_store_callback_claim(gbx_store_callback **out, size_t *n, gbx_store *store,
                                 double lease_seconds, size_t max) {
    if (!out || !n) return gbx_error_set(GBX_ERR_BAD_REQUEST, "callbacks: no output pointer");
    *out = NULL;
    *n = 0;
    if (!store) return gbx_error_set(GBX_ERR_BAD_REQUEST, "callbacks: no store");
    if (!isfinite(lease_seconds) || lease_seconds <= 0)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "callbacks: the lease must be > 0 seconds");
    if (max == 0) return GBX_OK;
    return store->ops->callback_claim(store, gbx__now(), lease_seconds, max, out, n);
}

gbx_err gbx_store_callback_retry(gbx_store *store, const char *status_id, double due,
                                 int attempts, double first_try) {
    gbx_err rc = callback_check(store, status_id);
    if (rc) return rc;
    if (!isfinite(due) || due < 0 || !isfinite(first_try) || first_try < 0 || attempts < 0)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "callbacks: bad retry time or attempts");
    return store->ops->callback_retry(store, status_id, due, attempts, first_try);
}

gbx_err gbx_store_callback_done(gbx_store *store, const char *status_id) {
    gbx_err rc = callback_check(store, status_id);
    if (rc) return rc;
    return store->ops->callback_done(store, status_id);
}

void gbx_store_callbacks_free(gbx_store_callback *rows, size_t n) {
    if (!rows) return;
    for (size_t i = 0; i < n; i++) {
        free(rows[i].status_id);
        free(rows[i].url);
        free(rows[i].location);
    }
    free(rows);
}
