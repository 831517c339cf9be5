/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit tests of the status store's metrics (gearbox/metrics.h; run on SQLite
 * and on MariaDB): statuses counted by state, the worker figures published
 * and read back (one row per worker, stale rows left out, long-gone ones
 * forgotten), and the timings of the store's operations. */
#define _GNU_SOURCE /* nftw's FTW_DEPTH / FTW_PHYS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fixtures.h"
#include "gearbox/metrics.h"
#include "gearbox/status.h"
#include "gearbox/store.h"
#include "store/backend.h" /* gbx__now */

static char dir[64];
static char db_path[128];
static gbx_store *store;
static fixture_raw raw;

static long long state_count(const json_t *counts, const char *state) {
    json_t *v = json_object_get(counts, state);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

static void test_count_states(void) {
    json_t *counts = NULL;
    CHECK_INT(gbx_store_count_states(&counts, store), GBX_OK);
    /* Every state is there, at 0 in an empty store. */
    CHECK_INT(json_object_size(counts), 7);
    CHECK_INT(state_count(counts, "PENDING"), 0);
    CHECK_INT(state_count(counts, "COMPLETED"), 0);
    CHECK(json_object_get(counts, "UNKNOWN") == NULL);
    json_decref(counts);

    gbx_status *st[4] = {NULL};
    for (int i = 0; i < 4; i++) {
        char id[32];
        snprintf(id, sizeof id, "s-metrics-%d", i);
        gbx_status_spec spec = {.id = id, .operation = "create", .component = "barn",
                                .uri = "http://h/barn/v1/animal/x", .status_base = "http://h/barn/v1/status"};
        st[i] = fixture_status(store, &spec);
    }
    if (st[1]) CHECK_INT(gbx_status_set_state(st[1], GBX_STATE_RUNNING), GBX_OK);
    if (st[2]) CHECK_INT(gbx_status_set_state(st[2], GBX_STATE_RUNNING), GBX_OK);
    if (st[2]) CHECK_INT(gbx_status_success(st[2]), GBX_OK);
    CHECK_INT(gbx_store_count_states(&counts, store), GBX_OK);
    CHECK_INT(state_count(counts, "PENDING"), 2);
    CHECK_INT(state_count(counts, "RUNNING"), 1);
    CHECK_INT(state_count(counts, "COMPLETED"), 1);
    CHECK_INT(state_count(counts, "CANCELLED"), 0);
    json_decref(counts);
    for (int i = 0; i < 4; i++) gbx_status_free(st[i]);

    CHECK_INT(gbx_store_count_states(NULL, store), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_store_count_states(&counts, NULL), GBX_ERR_BAD_REQUEST);
    CHECK(counts == NULL);
}

static json_t *figures(long long put, long long completed) {
    return json_pack("{s:{s:{s:{s:{s:{s:I}}}}}, s:{s:{s:I, s:I}}}", "scoreboard", "components", "meter",
                     "counters", "readings", "put", (json_int_t)put, "jobs", "meter", "completed",
                     (json_int_t)completed, "failed", (json_int_t)0);
}

static json_t *row_of(const json_t *rows, const char *worker) {
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
        if (strcmp(json_string_value(json_object_get(r, "worker")), worker) == 0) return r;
    return NULL;
}

static void test_worker_figures(void) {
    json_t *rows = NULL;
    CHECK_INT(gbx_store_worker_figures(&rows, store, 60), GBX_OK);
    CHECK(json_is_array(rows) && json_array_size(rows) == 0);
    json_decref(rows);

    double before = gbx__now();
    json_t *f = figures(3, 2);
    CHECK_INT(gbx_store_publish_worker_figures(store, "host:1", "meter", f), GBX_OK);
    json_decref(f);
    /* Publishing again replaces the process's row. */
    f = figures(5, 4);
    CHECK_INT(gbx_store_publish_worker_figures(store, "host:1", "meter", f), GBX_OK);
    CHECK_INT(gbx_store_publish_worker_figures(store, "host:2", "other", f), GBX_OK);
    CHECK_INT(gbx_store_worker_figures(&rows, store, 60), GBX_OK);
    CHECK_INT(json_array_size(rows), 2);
    json_t *r = row_of(rows, "host:1");
    CHECK(r != NULL);
    if (r) {
        CHECK_STR(json_string_value(json_object_get(r, "component")), "meter");
        CHECK(json_real_value(json_object_get(r, "updated")) >= before - 0.01);
        CHECK(json_equal(json_object_get(r, "figures"), f));
    }
    /* Ordered by worker. */
    CHECK_STR(json_string_value(json_object_get(json_array_get(rows, 1), "worker")), "host:2");
    json_decref(rows);
    json_decref(f);

    /* A row not updated within max_age is left out; one older than
     * GBX_METRICS_FORGET_SECONDS is deleted by the next publish. */
    char sql[200];
    snprintf(sql, sizeof sql, "UPDATE gbx_worker_figures SET updated = %.3f WHERE worker = 'host:2'",
             gbx__now() - 120);
    CHECK(fixture_raw_exec(&raw, sql));
    CHECK_INT(gbx_store_worker_figures(&rows, store, 60), GBX_OK);
    CHECK_INT(json_array_size(rows), 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(rows, 0), "worker")), "host:1");
    json_decref(rows);
    CHECK_INT(fixture_raw_number(&raw, "SELECT count(*) FROM gbx_worker_figures", -1), 2);
    snprintf(sql, sizeof sql, "UPDATE gbx_worker_figures SET updated = %.3f WHERE worker = 'host:2'",
             gbx__now() - GBX_METRICS_FORGET_SECONDS - 10);
    CHECK(fixture_raw_exec(&raw, sql));
    f = json_object();
    CHECK_INT(gbx_store_publish_worker_figures(store, "host:3", "", f), GBX_OK);
    json_decref(f);
    CHECK_INT(fixture_raw_number(&raw, "SELECT count(*) FROM gbx_worker_figures", -1), 2);
    CHECK_INT(fixture_raw_number(&raw,
                                 "SELECT count(*) FROM gbx_worker_figures WHERE worker = 'host:2'", -1),
              0);

    /* Argument errors. */
    CHECK_INT(gbx_store_publish_worker_figures(store, "", "meter", f), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_store_publish_worker_figures(NULL, "w", "meter", NULL), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_store_worker_figures(&rows, store, -1), GBX_ERR_BAD_REQUEST);
    CHECK(rows == NULL);
}

static unsigned long long timed(const char *op) {
    for (size_t i = 0; i < gbx_store_operation_count(); i++)
        if (strcmp(gbx_store_operation_name(i), op) == 0) {
            gbx_histogram_counts c = {{0}, 0};
            gbx_store_operation_timings(i, &c);
            unsigned long long n = 0;
            for (size_t b = 0; b <= GBX_HISTOGRAM_BUCKETS; b++) n += c.buckets[b];
            return n;
        }
    return 0;
}

static void test_operation_timings(void) {
    CHECK(gbx_store_operation_count() >= 20);
    CHECK(gbx_store_operation_name(gbx_store_operation_count()) == NULL);
    unsigned long long loads = timed("load"), counts = timed("count_states");
    gbx_status *st = NULL;
    CHECK_INT(gbx_status_fetch(&st, store, "s-metrics-0"), GBX_OK);
    gbx_status_free(st);
    st = NULL;
    CHECK_INT(gbx_status_fetch(&st, store, "s-no-such"), GBX_ERR_NOT_FOUND);
    gbx_status_free(st);
    CHECK_INT(timed("load"), loads + 2); /* a failing call is timed too */
    json_t *c = NULL;
    CHECK_INT(gbx_store_count_states(&c, store), GBX_OK);
    json_decref(c);
    CHECK_INT(timed("count_states"), counts + 1);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/gbx-test-smetrics-XXXXXX");
    store = fixture_store(dir, db_path, sizeof db_path, true);
    if (!store) return 1;
    CHECK(fixture_raw_open(&raw, db_path));
    test_count_states();
    test_worker_figures();
    test_operation_timings();
    fixture_raw_close(&raw);
    gbx_store_free(store);
    fixture_remove(dir);
    return check_done();
}
