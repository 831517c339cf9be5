/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit tests of the job queue of the status store (core/src/store/queue_internal.h,
 * store.c and the backend; run on SQLite and on MariaDB): put, take exactly
 * once (also racing threads on two connections), claim_due exactly once per
 * resubmit window (also racing), next_due, reschedule, drop, leases (take,
 * renew, done, expiry), the first queue row written with its status,
 * retention, and argument errors. */
#define _GNU_SOURCE /* nftw's FTW_DEPTH / FTW_PHYS */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "fixtures.h"
#include "gearbox/status.h"
#include "gearbox/store.h"
#include "store/queue_internal.h"
#include "store/status_internal.h"
#include "store/backend.h" /* gbx__now */

#define RACE_ROUNDS 20
#define CLAIM_ROWS 120

static char dir[64];
static char db_path[128];
static gbx_store *store;
static fixture_raw raw; /* a separate connection for looking behind the API */

static int rows_where(const char *where) {
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM gbx_queue WHERE %s", where);
    return (int)fixture_raw_number(&raw, sql, -1);
}

static double submitted_of(const char *ticket) {
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT submitted FROM gbx_queue WHERE ticket = '%s'", ticket);
    return fixture_raw_number(&raw, sql, -1);
}

static void clear_queue(void) { fixture_raw_exec(&raw, "DELETE FROM gbx_queue"); }

/* ---- put and take -------------------------------------------------------- */

static void test_put_take(void) {
    clear_queue();
    double now = gbx__now();
    CHECK_INT(gbx__queue_put(store, "t-1", "s-a", "do_x", "{\"name\":\"do_x\"}", now, false),
              GBX_OK);
    CHECK(submitted_of("t-1") == 0);
    /* submitted = true marks it submitted now. */
    CHECK_INT(gbx__queue_put(store, "t-2", NULL, "do_y", "{}", now, true), GBX_OK);
    CHECK(submitted_of("t-2") >= now);
    /* A ticket is unique. */
    CHECK_INT(gbx__queue_put(store, "t-1", "s-b", "do_z", "{}", now, false), GBX_ERR_CONFLICT);
    CHECK(strstr(gbx_error_last()->message, "t-1") != NULL);
    CHECK_INT(rows_where("1"), 2);

    bool taken = false;
    CHECK_INT(gbx__queue_take(&taken, store, "t-1", 30, true), GBX_OK);
    CHECK(taken);
    CHECK_INT(gbx__queue_take(&taken, store, "t-1", 30, true), GBX_OK);
    CHECK(!taken); /* already run */
    CHECK_INT(gbx__queue_take(&taken, store, "t-2", 30, true), GBX_OK);
    CHECK(taken); /* submitted or not, it runs once */
    CHECK_INT(gbx__queue_take(&taken, store, "t-unknown", 30, true), GBX_OK);
    CHECK(!taken);

    /* Not yet due (beyond the 0.5 s grace): not taken, and still there. */
    CHECK_INT(gbx__queue_put(store, "t-later", "s-a", "do_x", "{}", now + 3600, false), GBX_OK);
    CHECK_INT(gbx__queue_take(&taken, store, "t-later", 30, true), GBX_OK);
    CHECK(!taken);
    CHECK_INT(rows_where("ticket = 't-later'"), 1);
    /* Within the grace (a gearmand clock a little ahead): taken. */
    CHECK_INT(gbx__queue_put(store, "t-soon", "s-a", "do_x", "{}", gbx__now() + 0.2, false),
              GBX_OK);
    CHECK_INT(gbx__queue_take(&taken, store, "t-soon", 30, true), GBX_OK);
    CHECK(taken);

    /* Errors. */
    CHECK_INT(gbx__queue_put(NULL, "t", NULL, "n", "{}", now, false), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx__queue_put(store, NULL, NULL, "n", "{}", now, false), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx__queue_put(store, "", NULL, "n", "{}", now, false), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx__queue_put(store, "t", NULL, NULL, "{}", now, false), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx__queue_put(store, "t", NULL, "n", NULL, now, false), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx__queue_put(store, "t", NULL, "n", "{}", NAN, false), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx__queue_put(store, "t", NULL, "n", "{}", -1, false), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx__queue_take(NULL, store, "t", 30, true), GBX_ERR_BAD_REQUEST);
    taken = true;
    CHECK_INT(gbx__queue_take(&taken, store, NULL, 30, true), GBX_ERR_BAD_REQUEST);
    CHECK(!taken);
    CHECK_INT(rows_where("ticket = 't'"), 0);
}

typedef struct take_arg {
    gbx_store *store;
    const char *ticket;
    pthread_barrier_t *start;
    gbx_err rc;
    bool taken;
} take_arg;

static void *take_thread(void *p) {
    take_arg *a = p;
    pthread_barrier_wait(a->start);
    a->rc = gbx__queue_take(&a->taken, a->store, a->ticket, 30, true);
    return NULL;
}

/* The same ticket delivered twice at once (two workers, two connections):
 * exactly one runs it. */
static void test_take_race(void) {
    clear_queue();
    gbx_store *other = fixture_open_other(db_path);
    if (!other) return;
    for (int round = 0; round < RACE_ROUNDS; round++) {
        char ticket[32];
        snprintf(ticket, sizeof ticket, "t-race-%d", round);
        CHECK_INT(gbx__queue_put(store, ticket, "s-r", "do_x", "{}", gbx__now(), true), GBX_OK);
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, 2);
        take_arg args[2];
        pthread_t th[2];
        for (int i = 0; i < 2; i++) {
            args[i] = (take_arg){.store = i ? other : store, .ticket = ticket, .start = &start};
            pthread_create(&th[i], NULL, take_thread, &args[i]);
        }
        for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
        pthread_barrier_destroy(&start);
        CHECK_INT(args[0].rc, GBX_OK);
        CHECK_INT(args[1].rc, GBX_OK);
        CHECK_INT((int)args[0].taken + (int)args[1].taken, 1);
    }
    /* Taken rows stay, leased, until their worker is done. */
    CHECK_INT(rows_where("lease > 0"), RACE_ROUNDS);
    gbx_store_free(other);
}

/* ---- claim_due ----------------------------------------------------------- */

static void test_claim_due(void) {
    clear_queue();
    double now = 1000000.0; /* the caller's clock; any time works */
    CHECK_INT(gbx__queue_put(store, "c-3", "s-1", "do_c", "{\"c\":3}", now - 1, false), GBX_OK);
    CHECK_INT(gbx__queue_put(store, "c-1", "s-1", "do_a", "{\"c\":1}", now - 30, false), GBX_OK);
    CHECK_INT(gbx__queue_put(store, "c-2", NULL, "do_b", "{\"c\":2}", now - 10, false), GBX_OK);
    CHECK_INT(gbx__queue_put(store, "c-future", "s-2", "do_f", "{}", now + 100, false), GBX_OK);

    gbx__queued *rows = NULL;
    size_t n = 99;
    CHECK_INT(gbx__queue_claim_due(&rows, &n, store, now, 60, 10), GBX_OK);
    CHECK_INT(n, 3);
    if (n == 3) {
        /* Earliest due first, every field copied. */
        CHECK_STR(rows[0].ticket, "c-1");
        CHECK_STR(rows[0].status_id, "s-1");
        CHECK_STR(rows[0].name, "do_a");
        CHECK_STR(rows[0].envelope, "{\"c\":1}");
        CHECK(rows[0].due == now - 30);
        CHECK_STR(rows[1].ticket, "c-2");
        CHECK(rows[1].status_id == NULL);
        CHECK_STR(rows[2].ticket, "c-3");
    }
    gbx__queued_free(rows, n);
    CHECK(submitted_of("c-1") == now);
    CHECK(submitted_of("c-future") == 0);

    /* Within the resubmit window nobody gets them again. */
    CHECK_INT(gbx__queue_claim_due(&rows, &n, store, now + 59, 60, 10), GBX_OK);
    CHECK_INT(n, 0);
    CHECK(rows == NULL);
    /* After it, they are due again (gearmand lost them?), once. */
    CHECK_INT(gbx__queue_claim_due(&rows, &n, store, now + 61, 60, 10), GBX_OK);
    CHECK_INT(n, 3);
    gbx__queued_free(rows, n);
    /* `max` limits, earliest due first. */
    CHECK_INT(gbx__queue_claim_due(&rows, &n, store, now + 200, 60, 2), GBX_OK);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_STR(rows[0].ticket, "c-1");
        CHECK_STR(rows[1].ticket, "c-2");
    }
    gbx__queued_free(rows, n);
    CHECK_INT(gbx__queue_claim_due(&rows, &n, store, now + 200, 60, 0), GBX_OK);
    CHECK_INT(n, 0);
    CHECK(submitted_of("c-future") == 0);
    /* resubmit_after 0: a row claimed at t is not due again at t. */
    CHECK_INT(gbx__queue_claim_due(&rows, &n, store, now + 300, 0, 100), GBX_OK);
    CHECK_INT(n, 4);
    gbx__queued_free(rows, n);
    CHECK_INT(gbx__queue_claim_due(&rows, &n, store, now + 300, 0, 100), GBX_OK);
    CHECK_INT(n, 0);

    /* A row put as submitted waits for its window. */
    clear_queue();
    double t = gbx__now();
    CHECK_INT(gbx__queue_put(store, "c-sub", "s-1", "do_a", "{}", t - 5, true), GBX_OK);
    CHECK_INT(gbx__queue_claim_due(&rows, &n, store, gbx__now(), 60, 10), GBX_OK);
    CHECK_INT(n, 0);
    CHECK_INT(gbx__queue_claim_due(&rows, &n, store, t + 61, 60, 10), GBX_OK);
    CHECK_INT(n, 1);
    gbx__queued_free(rows, n);

    CHECK_INT(gbx__queue_claim_due(NULL, &n, store, now, 60, 1), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx__queue_claim_due(&rows, &n, NULL, now, 60, 1), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx__queue_claim_due(&rows, &n, store, now, -1, 1), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx__queue_claim_due(&rows, &n, store, NAN, 60, 1), GBX_ERR_BAD_REQUEST);
    gbx__queued_free(NULL, 0);
}

typedef struct claim_arg {
    gbx_store *store;
    double now;
    pthread_barrier_t *start;
    int errors;
    int got[CLAIM_ROWS]; /* how often this caller got row i */
} claim_arg;

static void *claim_thread(void *p) {
    claim_arg *a = p;
    pthread_barrier_wait(a->start);
    for (;;) {
        gbx__queued *rows = NULL;
        size_t n = 0;
        if (gbx__queue_claim_due(&rows, &n, a->store, a->now, 60, 7) != GBX_OK) {
            fprintf(stderr, "claim_due: %s\n", gbx_error_last()->message);
            a->errors++;
            break;
        }
        for (size_t i = 0; i < n; i++) {
            int k = atoi(rows[i].ticket + 2);
            if (k >= 0 && k < CLAIM_ROWS) a->got[k]++;
            else a->errors++;
        }
        gbx__queued_free(rows, n);
        if (n == 0) break;
    }
    return NULL;
}

/* Two schedulers (two connections) claim the same due rows at once: every
 * row goes to exactly one of them. */
static void test_claim_race(void) {
    clear_queue();
    gbx_store *other = fixture_open_other(db_path);
    if (!other) return;
    double now = gbx__now();
    for (int i = 0; i < CLAIM_ROWS; i++) {
        char ticket[32];
        snprintf(ticket, sizeof ticket, "q-%d", i);
        CHECK_INT(gbx__queue_put(store, ticket, "s-q", "do_q", "{}", now - i * 0.001, false),
                  GBX_OK);
    }
    for (int pass = 0; pass < 2; pass++) {
        /* pass 1: after the resubmit window, all are due again - once. */
        double at = pass ? now + 61 : now;
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, 2);
        static claim_arg args[2];
        pthread_t th[2];
        for (int i = 0; i < 2; i++) {
            memset(&args[i], 0, sizeof args[i]);
            args[i].store = i ? other : store;
            args[i].now = at;
            args[i].start = &start;
            pthread_create(&th[i], NULL, claim_thread, &args[i]);
        }
        for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
        pthread_barrier_destroy(&start);
        CHECK_INT(args[0].errors + args[1].errors, 0);
        int once = 0;
        for (int k = 0; k < CLAIM_ROWS; k++)
            if (args[0].got[k] + args[1].got[k] == 1) once++;
        CHECK_INT(once, CLAIM_ROWS);
    }
    gbx_store_free(other);
}

/* ---- next_due, reschedule, drop ------------------------------------------ */

static void test_next_reschedule_drop(void) {
    clear_queue();
    double due = -1;
    CHECK_INT(gbx__queue_next_due(&due, store), GBX_OK);
    CHECK(due == 0);
    CHECK_INT(gbx__queue_put(store, "n-1", "s-a", "do_a", "{}", 5000.5, false), GBX_OK);
    CHECK_INT(gbx__queue_put(store, "n-2", "s-a", "do_a", "{}", 7000, false), GBX_OK);
    CHECK_INT(gbx__queue_put(store, "n-3", "s-b", "do_b", "{}", 6000, false), GBX_OK);
    CHECK_INT(gbx__queue_put(store, "n-0", "s-c", "do_c", "{}", 1000, true), GBX_OK);
    CHECK_INT(gbx__queue_next_due(&due, store), GBX_OK);
    CHECK(due == 5000.5); /* submitted rows do not count */

    /* Reschedule moves every row of a status and makes it unsubmitted. */
    size_t n = 99;
    CHECK_INT(gbx__queue_reschedule(&n, store, "s-c", 900), GBX_OK);
    CHECK_INT(n, 1);
    CHECK(submitted_of("n-0") == 0);
    CHECK_INT(gbx__queue_next_due(&due, store), GBX_OK);
    CHECK(due == 900);
    CHECK_INT(gbx__queue_reschedule(&n, store, "s-a", 8000), GBX_OK);
    CHECK_INT(n, 2);
    CHECK_INT(rows_where("status_id = 's-a' AND due = 8000 AND submitted = 0"), 2);
    CHECK_INT(gbx__queue_reschedule(&n, store, "s-none", 1), GBX_OK);
    CHECK_INT(n, 0);
    CHECK_INT(gbx__queue_reschedule(NULL, store, "s-b", 6500), GBX_OK);
    CHECK_INT(rows_where("ticket = 'n-3' AND due = 6500"), 1);

    /* A job rescheduled later is not taken when gearmand delivers it early. */
    bool taken = true;
    CHECK_INT(gbx__queue_reschedule(&n, store, "s-c", gbx__now() + 3600), GBX_OK);
    CHECK_INT(gbx__queue_take(&taken, store, "n-0", 30, true), GBX_OK);
    CHECK(!taken);

    /* Drop deletes every row of a status (cancel). */
    CHECK_INT(gbx__queue_drop(&n, store, "s-a"), GBX_OK);
    CHECK_INT(n, 2);
    CHECK_INT(gbx__queue_drop(&n, store, "s-a"), GBX_OK);
    CHECK_INT(n, 0);
    CHECK_INT(gbx__queue_take(&taken, store, "n-1", 30, true), GBX_OK);
    CHECK(!taken);
    CHECK_INT(gbx__queue_drop(NULL, store, "s-b"), GBX_OK);
    CHECK_INT(rows_where("1"), 1);

    CHECK_INT(gbx__queue_next_due(NULL, store), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx__queue_next_due(&due, NULL), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx__queue_reschedule(&n, store, NULL, 1), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx__queue_reschedule(&n, store, "s-c", INFINITY), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx__queue_drop(&n, store, ""), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx__queue_drop(&n, NULL, "s-c"), GBX_ERR_BAD_REQUEST);
}

/* ---- leases ------------------------------------------------------------------ */

static void test_leases(void) {
    clear_queue();
    double now = gbx__now();
    CHECK_INT(gbx__queue_put(store, "t-l", "s-l", "do_x", "{}", now, true), GBX_OK);
    bool taken = false, held = false;
    CHECK_INT(gbx__queue_take(&taken, store, "t-l", 30, false), GBX_OK);
    CHECK(taken);
    CHECK_INT(gbx__queue_take(&taken, store, "t-l", 30, true), GBX_OK);
    CHECK(!taken); /* leased: one worker at a time */
    /* A live lease is not claimed, whatever the resubmit window says. */
    gbx__queued *rows = NULL;
    size_t n = 9;
    CHECK_INT(gbx__queue_claim_due(&rows, &n, store, now + 20, 1, 10), GBX_OK);
    CHECK_INT(n, 0);
    double next = 0;
    CHECK_INT(gbx__queue_next_due(&next, store), GBX_OK);
    CHECK(next >= now + 29 && next <= gbx__now() + 30); /* the lease's end */
    /* Renewed, it lasts longer. */
    CHECK_INT(gbx__queue_renew(&held, store, "t-l", 60), GBX_OK);
    CHECK(held);
    CHECK_INT(gbx__queue_claim_due(&rows, &n, store, now + 45, 1, 10), GBX_OK);
    CHECK_INT(n, 0);
    /* Run out, the row goes back to the scheduler once, marked. */
    CHECK_INT(gbx__queue_claim_due(&rows, &n, store, gbx__now() + 61, 1000, 10), GBX_OK);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_STR(rows[0].ticket, "t-l");
        CHECK_STR(rows[0].status_id, "s-l");
        CHECK(rows[0].lease_expired);
        CHECK(!rows[0].retryable);
    }
    gbx__queued_free(rows, n);
    CHECK_INT(gbx__queue_claim_due(&rows, &n, store, gbx__now() + 62, 1000, 10), GBX_OK);
    CHECK_INT(n, 0);
    /* The resubmitted job is taken by the next worker, which is done. */
    CHECK_INT(gbx__queue_take(&taken, store, "t-l", 30, true), GBX_OK);
    CHECK(taken);
    CHECK_INT(gbx__queue_done(store, "t-l"), GBX_OK);
    CHECK_INT(gbx__queue_renew(&held, store, "t-l", 30), GBX_OK);
    CHECK(!held);
    CHECK_INT(gbx__queue_take(&taken, store, "t-l", 30, true), GBX_OK);
    CHECK(!taken);
    CHECK_INT(rows_where("1"), 0);
    /* Reschedule and drop (a cancel) leave a running job's row alone. */
    CHECK_INT(gbx__queue_put(store, "t-m", "s-m", "do_x", "{}", now, true), GBX_OK);
    CHECK_INT(gbx__queue_take(&taken, store, "t-m", 30, true), GBX_OK);
    size_t changed = 9;
    CHECK_INT(gbx__queue_drop(&changed, store, "s-m"), GBX_OK);
    CHECK_INT(changed, 0);
    CHECK_INT(gbx__queue_reschedule(&changed, store, "s-m", now + 100), GBX_OK);
    CHECK_INT(changed, 0);
    CHECK_INT(gbx__queue_done(store, "t-m"), GBX_OK);
    /* Bad arguments. */
    CHECK_INT(gbx__queue_take(&taken, store, "t-m", 0, true), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx__queue_renew(&held, store, "t-m", NAN), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx__queue_done(store, NULL), GBX_ERR_BAD_REQUEST);
}

/* The gateway's first submit: status and queue row in one write. */
static void test_create_queued(void) {
    clear_queue();
    gbx_status_spec spec = {.id = "s-q1", .operation = "create", .component = "t",
                            .envelope = "{\"ticket\":\"s-q1\"}"};
    gbx_status *st = NULL;
    CHECK_INT(gbx__status_create_queued(&st, store, &spec, "do_put_t_x_v1", "s-q1"), GBX_OK);
    gbx_status_free(st);
    CHECK_INT(rows_where("ticket = 's-q1' AND status_id = 's-q1' AND submitted > 0"), 1);
    bool taken = false;
    CHECK_INT(gbx__queue_take(&taken, store, "s-q1", 30, true), GBX_OK);
    CHECK(taken);
    /* A ticket that exists already: neither the status nor the row is written. */
    CHECK_INT(gbx__queue_put(store, "t-dup", NULL, "do_x", "{}", gbx__now(), false), GBX_OK);
    spec.id = "s-q2";
    st = NULL;
    CHECK_INT(gbx__status_create_queued(&st, store, &spec, "do_put_t_x_v1", "t-dup"),
              GBX_ERR_CONFLICT);
    CHECK(st == NULL);
    CHECK_INT(gbx_status_fetch(&st, store, "s-q2"), GBX_ERR_NOT_FOUND);
    CHECK_INT(rows_where("status_id = 's-q2'"), 0);
    /* A name without a ticket is a mistake, not a status without a row. */
    spec.id = "s-q3";
    CHECK_INT(gbx__status_create_queued(&st, store, &spec, "", "s-q3"), GBX_ERR_BAD_REQUEST);
}

/* ---- idempotency keys -------------------------------------------------------- */

static void test_idempotency_keys(void) {
    char *id = NULL, *digest = NULL;
    /* The first request's status stays with the key ... */
    CHECK_INT(gbx__idempotency_put(&id, &digest, store, "/barn k1", "d1", "s-i1", 3600), GBX_OK);
    CHECK(id == NULL && digest == NULL);
    CHECK_INT(gbx__idempotency_put(&id, &digest, store, "/barn k1", "d2", "s-i2", 3600), GBX_OK);
    CHECK_STR(id, "s-i1");
    CHECK_STR(digest, "d1");
    free(id);
    free(digest);
    /* ... until it is older than the window: then the next one takes it. */
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL);
    CHECK_INT(gbx__idempotency_put(&id, &digest, store, "/barn k1", "d3", "s-i3", 0.01), GBX_OK);
    CHECK(id == NULL);
    CHECK_INT(gbx__idempotency_put(&id, &digest, store, "/barn k1", "d4", "s-i4", 3600), GBX_OK);
    CHECK_STR(id, "s-i3");
    free(id);
    free(digest);
    /* Dropped only while it names the status that was not made. */
    CHECK_INT(gbx__idempotency_drop(store, "/barn k1", "s-i1"), GBX_OK);
    CHECK_INT(gbx__idempotency_put(&id, &digest, store, "/barn k1", "d5", "s-i5", 3600), GBX_OK);
    CHECK_STR(id, "s-i3");
    free(id);
    free(digest);
    CHECK_INT(gbx__idempotency_drop(store, "/barn k1", "s-i3"), GBX_OK);
    CHECK_INT(gbx__idempotency_put(&id, &digest, store, "/barn k1", "d6", "s-i6", 3600), GBX_OK);
    CHECK(id == NULL);
    /* Keys are scoped by the caller: another scope is another key. */
    CHECK_INT(gbx__idempotency_put(&id, &digest, store, "/farm k1", "d1", "s-i7", 3600), GBX_OK);
    CHECK(id == NULL);
    CHECK_INT(gbx__idempotency_put(&id, &digest, store, "", "d", "s-x", 3600), GBX_ERR_BAD_REQUEST);
}

/* ---- retention ------------------------------------------------------------- */

static gbx_status *finished(const char *id, bool complete) {
    gbx_status_spec spec = {.id = id, .operation = "create", .component = "t"};
    gbx_status *st = NULL;
    CHECK_INT(gbx_status_create(&st, store, &spec), GBX_OK);
    if (st && complete) {
        CHECK_INT(gbx_status_set_state(st, GBX_STATE_RUNNING), GBX_OK);
        CHECK_INT(gbx_status_success(st), GBX_OK);
    }
    return st;
}

static void test_purge(void) {
    clear_queue();
    gbx_status *done1 = finished("s-p1", true), *done2 = finished("s-p2", true);
    gbx_status *open = finished("s-p3", false);
    long long value = 0;
    if (done1) CHECK_INT(gbx_status_counter_add(&value, done1, "n", 1), GBX_OK);
    CHECK_INT(gbx__queue_put(store, "t-p1", "s-p1", "do_x", "{}", gbx__now() + 100, false), GBX_OK);
    double after = gbx__now() + 1;
    size_t n = 9;
    /* Not old enough: nothing goes. */
    CHECK_INT(gbx__store_purge(&n, store, after - 3600, 10), GBX_OK);
    CHECK_INT(n, 0);
    /* Small batches. */
    CHECK_INT(gbx__store_purge(&n, store, after, 1), GBX_OK);
    CHECK_INT(n, 1);
    CHECK_INT(gbx__store_purge(&n, store, after, 10), GBX_OK);
    CHECK_INT(n, 1);
    CHECK_INT(gbx__store_purge(&n, store, after, 10), GBX_OK);
    CHECK_INT(n, 0);
    gbx_status *st = NULL;
    CHECK_INT(gbx_status_fetch(&st, store, "s-p1"), GBX_ERR_NOT_FOUND);
    CHECK_INT(gbx_status_fetch(&st, store, "s-p2"), GBX_ERR_NOT_FOUND);
    CHECK_INT(gbx_status_fetch(&st, store, "s-p3"), GBX_OK); /* not finished: kept */
    gbx_status_free(st);
    CHECK_INT(rows_where("status_id = 's-p1'"), 0);
    /* Its counters went with it: counting anew on it is an unknown status. */
    if (done1) CHECK_INT(gbx_status_counter_add(&value, done1, "n", 1), GBX_ERR_NOT_FOUND);
    gbx_status_free(done1);
    gbx_status_free(done2);
    gbx_status_free(open);
    CHECK_INT(gbx__store_purge(&n, NULL, after, 10), GBX_ERR_BAD_REQUEST);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/gbx-test-queue-XXXXXX");
    store = fixture_store(dir, db_path, sizeof db_path, true);
    if (!store) return 1;
    CHECK(fixture_raw_open(&raw, db_path));

    test_put_take();
    test_take_race();
    test_claim_due();
    test_claim_race();
    test_next_reschedule_drop();
    test_leases();
    test_create_queued();
    test_idempotency_keys();
    test_purge();

    fixture_raw_close(&raw);
    gbx_store_free(store);
    fixture_remove(dir);
    return check_done();
}
