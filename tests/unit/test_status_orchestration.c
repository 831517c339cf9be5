/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit tests of the orchestration calls of core/src/status.c on a SQLite
 * store (status.h, status_internal.h): compare-and-set transitions (also
 * racing over two connections), checkpoints, status events, counters from
 * several threads, private bookkeeping, the end of the cancel chain, and
 * remote statuses over a fake fetch callback. */
#define _GNU_SOURCE /* nftw's FTW_DEPTH / FTW_PHYS */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "fixtures.h"
#include "gearbox/envelope.h"
#include "gearbox/status.h"
#include "gearbox/store.h"
#include "store/status_internal.h"

#define ROUNDS 10        /* racing rounds */
#define COUNTER_ADDS 150 /* additions per counter thread */

static char dir[64];
static char db_path[128];
static gbx_store *store;

static gbx_status *create(void) {
    gbx_status_spec spec = {.operation = "create", .component = "barn",
                            .uri = "http://127.0.0.1:4080/barn/v1/animal/Wilbur",
                            .status_base = "http://127.0.0.1:4080/barn/v1/status",
                            .scope = "/barn"};
    return fixture_status(store, &spec);
}

static bool last_error_is(const char *message) {
    return strcmp(gbx_error_last()->message, message) == 0;
}

/* Moves a status along the state machine with set_state. */
static gbx_err walk(gbx_status *s, const gbx_state *path, int n) {
    for (int i = 0; i < n; i++) {
        gbx_err rc = gbx_status_set_state(s, path[i]);
        if (rc) return rc;
    }
    return GBX_OK;
}

static gbx_err walk_to(gbx_status *s, gbx_state state) {
    static const gbx_state to_cancelled[] = {GBX_STATE_STOPPING, GBX_STATE_STOPPED,
                                             GBX_STATE_CANCELLING, GBX_STATE_CANCELLED};
    switch (state) {
    case GBX_STATE_PENDING: return GBX_OK;
    case GBX_STATE_RUNNING: return gbx_status_set_state(s, GBX_STATE_RUNNING);
    case GBX_STATE_COMPLETED:
        if (gbx_status_set_state(s, GBX_STATE_RUNNING)) return GBX_ERR_INTERNAL_SERVER_ERROR;
        return gbx_status_success(s);
    case GBX_STATE_STOPPING: return walk(s, to_cancelled, 1);
    case GBX_STATE_STOPPED: return walk(s, to_cancelled, 2);
    case GBX_STATE_CANCELLING: return walk(s, to_cancelled, 3);
    case GBX_STATE_CANCELLED: return walk(s, to_cancelled, 4);
    default: return GBX_ERR_INTERNAL_SERVER_ERROR;
    }
}

/* ---- transitions --------------------------------------------------------- */

static void test_transition(void) {
    gbx_status *s = create();
    if (!s) return;
    char id[64];
    snprintf(id, sizeof id, "%s", gbx_status_id(s));

    CHECK_INT(gbx_status_transition(s, GBX_STATE_PENDING, GBX_STATE_RUNNING), GBX_OK);
    CHECK_INT(gbx_status_state(s), GBX_STATE_RUNNING);
    CHECK_INT(gbx_status_progress_value(s), 0); /* only the state changes */

    /* The stored state is not `from`: conflict, named. */
    CHECK_INT(gbx_status_transition(s, GBX_STATE_PENDING, GBX_STATE_RUNNING), GBX_ERR_CONFLICT);
    CHECK(last_error_is("state is currently RUNNING"));
    CHECK_INT(gbx_status_transition(s, GBX_STATE_PENDING, GBX_STATE_STOPPING),
              GBX_ERR_CONFLICT);
    CHECK(last_error_is("state is currently RUNNING"));
    /* `from` is right but the state machine forbids the move. */
    CHECK_INT(gbx_status_transition(s, GBX_STATE_RUNNING, GBX_STATE_PENDING), GBX_ERR_CONFLICT);
    CHECK(last_error_is("state is currently RUNNING"));
    CHECK_INT(gbx_status_transition(s, GBX_STATE_RUNNING, GBX_STATE_RUNNING), GBX_ERR_CONFLICT);
    CHECK_INT(gbx_status_state(s), GBX_STATE_RUNNING);

    /* A stale snapshot does not matter: the store decides. */
    gbx_status *other = NULL;
    CHECK_INT(gbx_status_fetch(&other, store, id), GBX_OK);
    CHECK_INT(gbx_status_transition(s, GBX_STATE_RUNNING, GBX_STATE_STOPPING), GBX_OK);
    CHECK_INT(gbx_status_state(other), GBX_STATE_RUNNING);
    CHECK_INT(gbx_status_transition(other, GBX_STATE_RUNNING, GBX_STATE_COMPLETED),
              GBX_ERR_CONFLICT);
    CHECK(last_error_is("state is currently STOPPING"));
    CHECK_INT(gbx_status_transition(other, GBX_STATE_STOPPING, GBX_STATE_STOPPED), GBX_OK);
    CHECK_INT(gbx_status_state(other), GBX_STATE_STOPPED);
    gbx_status_free(other);

    /* Bad states. */
    CHECK_INT(gbx_status_transition(s, GBX_STATE_UNKNOWN, GBX_STATE_RUNNING),
              GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_status_transition(s, GBX_STATE_STOPPED, (gbx_state)42), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_status_transition(NULL, GBX_STATE_PENDING, GBX_STATE_RUNNING),
              GBX_ERR_BAD_REQUEST);
    gbx_status_free(s);
}

typedef struct race_arg {
    gbx_store *store;
    const char *id;
    pthread_barrier_t *start;
    gbx_err rc;
    char message[128];
} race_arg;

static void *race_thread(void *p) {
    race_arg *a = p;
    gbx_status *s = NULL;
    a->rc = gbx_status_fetch(&s, a->store, a->id);
    pthread_barrier_wait(a->start);
    if (!a->rc) a->rc = gbx_status_transition(s, GBX_STATE_PENDING, GBX_STATE_RUNNING);
    snprintf(a->message, sizeof a->message, "%s", gbx_error_last()->message);
    gbx_status_free(s);
    return NULL;
}

/* Two connections (two store handles) race PENDING -> RUNNING: one wins. */
static void test_transition_race(void) {
    gbx_store *other = fixture_open_other(db_path);
    if (!other) return;
    for (int round = 0; round < ROUNDS; round++) {
        gbx_status *s = create();
        if (!s) break;
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, 2);
        race_arg args[2];
        pthread_t th[2];
        for (int i = 0; i < 2; i++) {
            args[i] = (race_arg){.store = i ? other : store, .id = gbx_status_id(s),
                                 .start = &start};
            pthread_create(&th[i], NULL, race_thread, &args[i]);
        }
        int won = 0, lost = 0;
        for (int i = 0; i < 2; i++) {
            pthread_join(th[i], NULL);
            if (args[i].rc == GBX_OK) won++;
            else if (args[i].rc == GBX_ERR_CONFLICT &&
                     strcmp(args[i].message, "state is currently RUNNING") == 0)
                lost++;
        }
        pthread_barrier_destroy(&start);
        CHECK_INT(won, 1);
        CHECK_INT(lost, 1);
        CHECK_INT(gbx_status_refresh(s), GBX_OK);
        CHECK_INT(gbx_status_state(s), GBX_STATE_RUNNING);
        gbx_status_free(s);
    }
    gbx_store_free(other);
}

/* ---- checkpoint ---------------------------------------------------------- */

static void test_checkpoint(void) {
    static const struct {
        gbx_state state;
        gbx_err expect;
    } cases[] = {
        {GBX_STATE_PENDING, GBX_OK},           {GBX_STATE_RUNNING, GBX_OK},
        {GBX_STATE_COMPLETED, GBX_OK},         {GBX_STATE_STOPPING, GBX_ERR_GONE},
        {GBX_STATE_STOPPED, GBX_ERR_GONE},     {GBX_STATE_CANCELLING, GBX_ERR_GONE},
        {GBX_STATE_CANCELLED, GBX_ERR_GONE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gbx_status *s = create();
        if (!s) return;
        CHECK_INT(walk_to(s, cases[i].state), GBX_OK);
        CHECK_INT(gbx_status_checkpoint(s), cases[i].expect);
        if (cases[i].expect == GBX_ERR_GONE) {
            char want[128];
            snprintf(want, sizeof want, "status %s is being cancelled", gbx_status_id(s));
            CHECK(last_error_is(want));
        }
        gbx_status_free(s);
    }

    /* It re-reads: a cancellation by someone else is seen. */
    gbx_status *s = create(), *other = NULL;
    if (!s) return;
    CHECK_INT(gbx_status_set_state(s, GBX_STATE_RUNNING), GBX_OK);
    CHECK_INT(gbx_status_fetch(&other, store, gbx_status_id(s)), GBX_OK);
    CHECK_INT(gbx_status_checkpoint(s), GBX_OK);
    CHECK_INT(gbx_status_set_state(other, GBX_STATE_STOPPING), GBX_OK);
    CHECK_INT(gbx_status_state(s), GBX_STATE_RUNNING);
    CHECK_INT(gbx_status_checkpoint(s), GBX_ERR_GONE);
    CHECK_INT(gbx_status_state(s), GBX_STATE_STOPPING);
    CHECK_INT(gbx_status_checkpoint(NULL), GBX_ERR_BAD_REQUEST);
    gbx_status_free(other);
    gbx_status_free(s);
}

/* ---- events -------------------------------------------------------------- */

static gbx_envelope *job_named(const char *name) {
    gbx_envelope *env = NULL;
    if (gbx_envelope_new(&env) != GBX_OK) {
        check_failed++;
        return NULL;
    }
    gbx_envelope_set(env, "name", name);
    gbx_envelope_set(env, "operation", "delete");
    gbx_envelope_set(env, "component", "barn");
    gbx_envelope_set(env, "resource.type", "animal");
    return env;
}

static void test_events(void) {
    gbx_status *s = create(), *f = NULL;
    if (!s) return;
    CHECK(json_is_object(gbx_status_events(s)));
    CHECK_INT(json_object_size(gbx_status_events(s)), 0);

    gbx_envelope *pre = job_named("do_precancel_barn_animal_v1");
    gbx_envelope *comp = job_named("do_delete_barn_animal_v1");
    if (!pre || !comp) goto done;
    CHECK_INT(gbx_status_on(s, GBX_STATUS_EVENT_PRECANCEL, pre), GBX_OK);
    CHECK_INT(gbx_status_on(s, GBX_STATUS_EVENT_CANCEL, comp), GBX_OK);
    json_t *ev = gbx_status_events(s);
    CHECK_INT(json_object_size(ev), 2);
    CHECK_STR(json_string_value(json_object_get(json_object_get(ev, "PRECANCEL"), "name")),
              "do_precancel_barn_animal_v1");
    CHECK(json_equal(json_object_get(json_object_get(ev, "CANCEL"), "envelope"),
                     gbx_envelope_json(comp)));

    /* Round trip through the store: another handle reads the same, and the
     * stored envelope parses back into a valid one. */
    CHECK_INT(gbx_status_fetch(&f, store, gbx_status_id(s)), GBX_OK);
    if (f) {
        CHECK(json_equal(gbx_status_events(f), ev));
        char *text = json_dumps(json_object_get(json_object_get(gbx_status_events(f), "CANCEL"),
                                                "envelope"),
                                JSON_COMPACT);
        gbx_envelope *back = NULL;
        CHECK_INT(gbx_envelope_parse(&back, text, strlen(text)), GBX_OK);
        if (back) CHECK_STR(gbx_envelope_get(back, "name"), "do_delete_barn_animal_v1");
        gbx_envelope_free(back);
        free(text);
    }

    /* Events are not part of the status JSON. */
    json_t *j = NULL;
    CHECK_INT(gbx_status_to_json(&j, s), GBX_OK);
    CHECK(j && !json_object_get(j, "events") && !json_object_get(j, "PRECANCEL"));
    json_decref(j);

    /* Replacing and removing. */
    CHECK_INT(gbx_status_on(s, GBX_STATUS_EVENT_PRECANCEL, comp), GBX_OK);
    CHECK_STR(json_string_value(json_object_get(
                  json_object_get(gbx_status_events(s), "PRECANCEL"), "name")),
              "do_delete_barn_animal_v1");
    CHECK_INT(gbx_status_on(s, GBX_STATUS_EVENT_PRECANCEL, NULL), GBX_OK);
    CHECK(json_object_get(gbx_status_events(s), "PRECANCEL") == NULL);
    CHECK(json_object_get(gbx_status_events(s), "CANCEL") != NULL);
    CHECK_INT(gbx_status_on(s, GBX_STATUS_EVENT_CANCEL, NULL), GBX_OK);
    CHECK_INT(json_object_size(gbx_status_events(s)), 0);

    /* Errors. */
    CHECK_INT(gbx_status_on(s, GBX_STATUS_EVENT_UNKNOWN, pre), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_status_on(s, (gbx_status_event)9, pre), GBX_ERR_BAD_REQUEST);
    gbx_envelope_set(pre, "name", NULL);
    CHECK_INT(gbx_status_on(s, GBX_STATUS_EVENT_CANCEL, pre), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_status_on(NULL, GBX_STATUS_EVENT_CANCEL, comp), GBX_ERR_BAD_REQUEST);
done:
    gbx_envelope_free(pre);
    gbx_envelope_free(comp);
    gbx_status_free(f);
    gbx_status_free(s);
}

/* ---- counters ------------------------------------------------------------ */

typedef struct counter_arg {
    gbx_store *store;
    const char *id;
    pthread_barrier_t *start;
    long long seen[COUNTER_ADDS]; /* the values each addition returned */
    int errors;
} counter_arg;

static void *counter_thread(void *p) {
    counter_arg *a = p;
    gbx_status *s = NULL;
    if (gbx_status_fetch(&s, a->store, a->id) != GBX_OK) a->errors++;
    pthread_barrier_wait(a->start);
    for (int i = 0; s && i < COUNTER_ADDS; i++) {
        if (gbx_status_counter_add(&a->seen[i], s, "done", 1) != GBX_OK) {
            fprintf(stderr, "counter_add: %s\n", gbx_error_last()->message);
            a->errors++;
        }
    }
    gbx_status_free(s);
    return NULL;
}

static void test_counters(void) {
    gbx_status *s = create(), *f = NULL;
    if (!s) return;
    long long v = -1;
    CHECK_INT(gbx_status_counter_add(&v, s, "agents", 0), GBX_OK);
    CHECK_INT(v, 0);
    CHECK_INT(gbx_status_counter_add(&v, s, "agents", 5), GBX_OK);
    CHECK_INT(v, 5);
    CHECK_INT(gbx_status_counter_add(&v, s, "agents", -7), GBX_OK);
    CHECK_INT(v, -2);
    CHECK_INT(gbx_status_counter_add(NULL, s, "agents", 2), GBX_OK);
    /* Per status and per name. */
    CHECK_INT(gbx_status_counter_add(&v, s, "other", 1), GBX_OK);
    CHECK_INT(v, 1);
    CHECK_INT(gbx_status_fetch(&f, store, gbx_status_id(s)), GBX_OK);
    CHECK_INT(gbx_status_counter_add(&v, f, "agents", 1), GBX_OK);
    CHECK_INT(v, 1);
    gbx_status_free(f);
    f = create();
    if (f) {
        CHECK_INT(gbx_status_counter_add(&v, f, "agents", 1), GBX_OK);
        CHECK_INT(v, 1);
    }
    gbx_status_free(f);
    /* Counters do not touch the status JSON or mtime. */
    double mtime = gbx_status_mtime(s);
    CHECK_INT(gbx_status_refresh(s), GBX_OK);
    CHECK(gbx_status_mtime(s) == mtime);
    CHECK_INT(gbx_status_counter_add(&v, s, "", 1), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_status_counter_add(&v, s, NULL, 1), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_status_counter_add(&v, NULL, "x", 1), GBX_ERR_BAD_REQUEST);
    gbx_status_free(s);

    /* Two threads on two connections: no addition is lost, and every
     * addition saw a value of its own (1 .. 2N, each exactly once). */
    gbx_store *other = fixture_open_other(db_path);
    s = create();
    if (!other || !s) {
        gbx_store_free(other);
        gbx_status_free(s);
        return;
    }
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 2);
    static counter_arg args[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        memset(&args[i], 0, sizeof args[i]);
        args[i].store = i ? other : store;
        args[i].id = gbx_status_id(s);
        args[i].start = &start;
        pthread_create(&th[i], NULL, counter_thread, &args[i]);
    }
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start);
    CHECK_INT(args[0].errors + args[1].errors, 0);
    static bool hit[2 * COUNTER_ADDS + 1];
    memset(hit, 0, sizeof hit);
    int distinct = 0;
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < COUNTER_ADDS; k++) {
            long long x = args[i].seen[k];
            if (x >= 1 && x <= 2 * COUNTER_ADDS && !hit[x]) {
                hit[x] = true;
                distinct++;
            }
        }
    CHECK_INT(distinct, 2 * COUNTER_ADDS);
    CHECK_INT(gbx_status_counter_add(&v, s, "done", 0), GBX_OK);
    CHECK_INT(v, 2 * COUNTER_ADDS);
    gbx_status_free(s);
    gbx_store_free(other);
}

/* ---- private ------------------------------------------------------------- */

static void test_private(void) {
    gbx_status *s = create(), *f = NULL;
    if (!s) return;
    CHECK(json_is_object(gbx__status_private(s)));
    CHECK_INT(json_object_size(gbx__status_private(s)), 0);
    json_t *v = json_string("s-cancel");
    CHECK_INT(gbx__status_set_private(s, "cancel_status", v), GBX_OK);
    json_decref(v); /* a new reference was taken */
    CHECK_STR(json_string_value(json_object_get(gbx__status_private(s), "cancel_status")),
              "s-cancel");
    v = json_pack("{s:i}", "n", 3);
    CHECK_INT(gbx__status_set_private(s, "odd \"key\".$[0]", v), GBX_OK);
    json_decref(v);

    CHECK_INT(gbx_status_fetch(&f, store, gbx_status_id(s)), GBX_OK);
    if (f) {
        CHECK(json_equal(gbx__status_private(f), gbx__status_private(s)));
        CHECK_INT(json_object_size(gbx__status_private(f)), 2);
        CHECK_INT(json_object_size(gbx_status_meta(f)), 0); /* not meta */
    }
    gbx_status_free(f);

    json_t *j = NULL;
    CHECK_INT(gbx_status_to_json(&j, s), GBX_OK);
    CHECK(j && !json_object_get(j, "private") && !json_object_get(j, "meta"));
    json_decref(j);

    CHECK_INT(gbx__status_set_private(s, "cancel_status", NULL), GBX_OK);
    CHECK(json_object_get(gbx__status_private(s), "cancel_status") == NULL);
    CHECK_INT(json_object_size(gbx__status_private(s)), 1);
    CHECK_INT(gbx__status_set_private(s, NULL, NULL), GBX_ERR_BAD_REQUEST);
    gbx_status_free(s);
}

/* ---- the end of the cancel chain ----------------------------------------- */

static void test_finish_cancel(void) {
    /* Only from CANCELLING. */
    gbx_status *s = create();
    if (!s) return;
    CHECK_INT(gbx__status_finish_cancel(s, 410, "cancelled"), GBX_ERR_CONFLICT);
    CHECK(last_error_is("state is currently PENDING"));
    CHECK_INT(walk_to(s, GBX_STATE_STOPPED), GBX_OK);
    CHECK_INT(gbx__status_finish_cancel(s, 410, "cancelled"), GBX_ERR_CONFLICT);
    CHECK(last_error_is("state is currently STOPPED"));
    CHECK_INT(gbx_status_set_state(s, GBX_STATE_CANCELLING), GBX_OK);
    CHECK_INT(gbx__status_finish_cancel(s, 410, "cancelled"), GBX_OK);
    CHECK_INT(gbx_status_state(s), GBX_STATE_CANCELLED);
    CHECK_INT(gbx_status_progress_value(s), 100);
    CHECK_INT(gbx_status_code(s), 410);
    json_t *m = gbx_status_messages(s);
    CHECK_STR(json_string_value(json_array_get(m, json_array_size(m) - 1)), "cancelled");
    CHECK(gbx_status_has_completed(s));
    CHECK(!gbx_status_is_success(s));
    CHECK_INT(gbx__status_finish_cancel(s, 410, NULL), GBX_ERR_CONFLICT);
    CHECK(last_error_is("state is currently CANCELLED"));
    gbx_status_free(s);

    /* A job that had completed keeps its code; no message is fine. */
    s = create();
    if (!s) return;
    CHECK_INT(walk_to(s, GBX_STATE_COMPLETED), GBX_OK);
    CHECK_INT(gbx_status_set_state(s, GBX_STATE_CANCELLING), GBX_OK);
    size_t before = json_array_size(gbx_status_messages(s));
    CHECK_INT(gbx__status_finish_cancel(s, 410, NULL), GBX_OK);
    CHECK_INT(gbx_status_state(s), GBX_STATE_CANCELLED);
    CHECK_INT(gbx_status_code(s), 0);
    CHECK_INT(json_array_size(gbx_status_messages(s)), before);
    gbx_status_free(s);

    s = create();
    if (!s) return;
    CHECK_INT(gbx_status_fail(s, 500, "boom"), GBX_OK);
    CHECK_INT(gbx_status_set_state(s, GBX_STATE_CANCELLING), GBX_OK);
    CHECK_INT(gbx__status_finish_cancel(s, 410, "cancelled"), GBX_OK);
    CHECK_INT(gbx_status_code(s), 500);
    CHECK_INT(gbx__status_finish_cancel(s, 1000, NULL), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx__status_finish_cancel(s, -1, NULL), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx__status_finish_cancel(s, 410, "\xff"), GBX_ERR_BAD_REQUEST);
    gbx_status_free(s);
}

/* ---- remote statuses ----------------------------------------------------- */

/* What the fake service answers: the next object, or an error. */
typedef struct fake_service {
    json_t *next;     /* handed out (a new reference) on each fetch */
    gbx_err fail;     /* if set, fetch fails with it */
    int calls;
    char last_uri[256];
} fake_service;

static gbx_err fake_fetch(void *user, const char *status_uri, json_t **out) {
    fake_service *svc = user;
    svc->calls++;
    snprintf(svc->last_uri, sizeof svc->last_uri, "%s", status_uri);
    *out = NULL;
    if (svc->fail) return gbx_error_set(svc->fail, "service unavailable");
    *out = json_incref(svc->next);
    return GBX_OK;
}

#define REMOTE_URI "http://127.0.0.1:4081/farm/v1/status/s-remote1"

static void test_remote(void) {
    json_t *obj = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:i, s:[s], s:[], s:{s:s}, s:s, s:i, s:i, s:i, s:i, s:i}",
        "operation", "create", "component", "farm", "state", "RUNNING", "uri",
        "http://127.0.0.1:4081/farm/v1/field/North", "status_uri", REMOTE_URI, "progress", 40,
        "messages", "ploughing", "children", "meta", "k", "v", "parent_uri",
        "http://127.0.0.1:4080/barn/v1/status/s-parent", "failures", 1, "ctime", 1700000000,
        "mtime", 1700000010, "ytime", 1700000100, "concurrency", 2);
    fake_service svc = {0};
    gbx_status *r = NULL;
    CHECK_INT(gbx__status_new_remote(&r, obj, fake_fetch, &svc), GBX_OK);
    if (!r) {
        json_decref(obj);
        return;
    }
    CHECK(gbx_status_is_remote(r));
    CHECK_STR(gbx_status_id(r), "s-remote1");
    CHECK_STR(gbx_status_status_uri(r), REMOTE_URI);
    CHECK_STR(gbx_status_operation(r), "create");
    CHECK_STR(gbx_status_component(r), "farm");
    CHECK_STR(gbx_status_uri(r), "http://127.0.0.1:4081/farm/v1/field/North");
    CHECK_STR(gbx_status_parent_uri(r), "http://127.0.0.1:4080/barn/v1/status/s-parent");
    CHECK(gbx_status_scope(r) == NULL);
    CHECK_INT(gbx_status_state(r), GBX_STATE_RUNNING);
    CHECK_INT(gbx_status_progress_value(r), 40);
    CHECK_INT(gbx_status_code(r), -1);
    CHECK_INT(gbx_status_failures(r), 1);
    CHECK_INT(gbx_status_concurrency(r), 2);
    CHECK(gbx_status_ctime(r) == 1700000000.0);
    CHECK(gbx_status_ytime(r) == 1700000100.0);
    CHECK_INT(json_array_size(gbx_status_messages(r)), 1);
    CHECK_STR(json_string_value(json_object_get(gbx_status_meta(r), "k")), "v");
    CHECK_INT(json_object_size(gbx_status_events(r)), 0);
    CHECK_INT(json_object_size(gbx__status_private(r)), 0);
    CHECK(!gbx_status_has_completed(r));
    char *env = (char *)"x";
    CHECK_INT(gbx_status_envelope(&env, r), GBX_OK);
    CHECK(env == NULL);
    /* The JSON comes back as it was. */
    json_t *j = NULL;
    CHECK_INT(gbx_status_to_json(&j, r), GBX_OK);
    CHECK(json_equal(j, obj));
    json_decref(j);
    /* `obj` was copied. */
    json_object_set_new(obj, "state", json_string("PENDING"));
    CHECK_INT(gbx_status_state(r), GBX_STATE_RUNNING);

    /* Every mutator is refused, with the same error. */
    gbx_envelope *job = job_named("do_x_farm_field_v1");
    json_t *val = json_true();
    long long v = 0;
    gbx_err got[] = {
        gbx_status_set_state(r, GBX_STATE_STOPPING),
        gbx_status_transition(r, GBX_STATE_RUNNING, GBX_STATE_STOPPING),
        gbx_status_set_progress(r, 50),
        gbx_status_add_message(r, "m"),
        gbx_status_add_child(r, "http://x/status/s-1"),
        gbx_status_set_meta(r, "k", val),
        gbx_status_success(r),
        gbx_status_fail(r, 500, "x"),
        gbx_status_add_concurrency(r, 1),
        gbx_status_add_failure(r),
        gbx_status_set_ytime(r, 5),
        gbx_status_set_envelope(r, "{}"),
        gbx_status_on(r, GBX_STATUS_EVENT_CANCEL, job),
        gbx_status_counter_add(&v, r, "n", 1),
        gbx__status_set_private(r, "k", val),
        gbx__status_finish_cancel(r, 410, NULL),
    };
    for (size_t i = 0; i < sizeof got / sizeof got[0]; i++) {
        if (got[i] != GBX_ERR_METHOD_NOT_ALLOWED) fprintf(stderr, "mutator %zu\n", i);
        CHECK_INT(got[i], GBX_ERR_METHOD_NOT_ALLOWED);
    }
    CHECK(last_error_is("status " REMOTE_URI " belongs to another service"));
    gbx_envelope_free(job);
    json_decref(val);
    CHECK_INT(svc.calls, 0);

    /* refresh calls fetch with the status_uri and takes what it answers. */
    svc.next = json_deep_copy(obj);
    json_object_set_new(svc.next, "state", json_string("COMPLETED"));
    json_object_set_new(svc.next, "progress", json_integer(100));
    json_object_set_new(svc.next, "code", json_integer(0));
    CHECK_INT(gbx_status_refresh(r), GBX_OK);
    CHECK_INT(svc.calls, 1);
    CHECK_STR(svc.last_uri, REMOTE_URI);
    CHECK_INT(gbx_status_state(r), GBX_STATE_COMPLETED);
    CHECK(gbx_status_is_success(r));
    CHECK_INT(gbx_status_checkpoint(r), GBX_OK);
    CHECK_INT(svc.calls, 2);

    /* checkpoint on a remote status being cancelled. */
    json_object_set_new(svc.next, "state", json_string("STOPPING"));
    CHECK_INT(gbx_status_checkpoint(r), GBX_ERR_GONE);
    CHECK(last_error_is("status s-remote1 is being cancelled"));

    /* A failing fetch leaves the snapshot as it was. */
    svc.fail = GBX_ERR_BAD_GATEWAY;
    CHECK_INT(gbx_status_refresh(r), GBX_ERR_BAD_GATEWAY);
    CHECK(last_error_is("service unavailable"));
    CHECK_INT(gbx_status_state(r), GBX_STATE_STOPPING);
    /* So does an answer that is no status object. */
    svc.fail = GBX_OK;
    json_object_set_new(svc.next, "state", json_string("SLEEPING"));
    CHECK_INT(gbx_status_refresh(r), GBX_ERR_BAD_GATEWAY);
    CHECK_INT(gbx_status_state(r), GBX_STATE_STOPPING);
    json_decref(svc.next);
    svc.next = json_string("nope");
    CHECK_INT(gbx_status_refresh(r), GBX_ERR_BAD_GATEWAY);
    CHECK_STR(gbx_status_status_uri(r), REMOTE_URI);
    json_decref(svc.next);
    gbx_status_free(r);

    /* Without a fetch callback, refresh keeps the snapshot. */
    CHECK_INT(gbx__status_new_remote(&r, obj, NULL, NULL), GBX_OK);
    CHECK_INT(gbx_status_refresh(r), GBX_OK);
    CHECK_INT(gbx_status_state(r), GBX_STATE_PENDING);
    gbx_status_free(r);

    /* Objects that are not statuses. */
    json_t *bad = json_deep_copy(obj);
    json_object_del(bad, "status_uri");
    r = (gbx_status *)1;
    CHECK_INT(gbx__status_new_remote(&r, bad, NULL, NULL), GBX_ERR_BAD_GATEWAY);
    CHECK(r == NULL);
    json_object_set_new(bad, "status_uri", json_string(REMOTE_URI));
    json_object_set_new(bad, "progress", json_integer(101));
    CHECK_INT(gbx__status_new_remote(&r, bad, NULL, NULL), GBX_ERR_BAD_GATEWAY);
    json_object_set_new(bad, "progress", json_integer(10));
    json_object_set_new(bad, "messages", json_string("x"));
    CHECK_INT(gbx__status_new_remote(&r, bad, NULL, NULL), GBX_ERR_BAD_GATEWAY);
    json_decref(bad);
    CHECK_INT(gbx__status_new_remote(&r, NULL, NULL, NULL), GBX_ERR_BAD_GATEWAY);
    CHECK_INT(gbx__status_new_remote(NULL, obj, NULL, NULL), GBX_ERR_BAD_REQUEST);
    json_decref(obj);

    /* A local status is not remote. */
    gbx_status *s = create();
    CHECK(s && !gbx_status_is_remote(s));
    CHECK(!gbx_status_is_remote(NULL));
    gbx_status_free(s);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/gbx-test-orch-XXXXXX");
    store = fixture_store(dir, db_path, sizeof db_path, true);
    if (!store) return 1;

    test_transition();
    test_transition_race();
    test_checkpoint();
    test_events();
    test_counters();
    test_private();
    test_finish_cancel();
    test_remote();

    gbx_store_free(store);
    fixture_remove(dir);
    return check_done();
}
