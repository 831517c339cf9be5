/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit tests of core/src/status.c on a SQLite store: the state machine,
 * every mutator, the JSON shape, collection queries, and the errors. */
#define _GNU_SOURCE /* nftw's FTW_DEPTH / FTW_PHYS */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "fixtures.h"
#include "gearbox/id.h"
#include "gearbox/status.h"
#include "gearbox/store.h"
#include "store/status_internal.h"

static char dir[64];
static char db_path[128];
static gbx_store *store;
static fixture_raw raw; /* a separate connection for looking behind the API */

/* Runs SQL on the raw connection (test set-up only). */
static void raw_exec(const char *sql) { fixture_raw_exec(&raw, sql); }

static double raw_mtime(const char *id) {
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT mtime FROM gbx_status WHERE id = '%s'", id);
    return fixture_raw_number(&raw, sql, -1);
}

static void raw_set_mtime(const char *id, double t) {
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE gbx_status SET mtime = %.6f WHERE id = '%s'", t, id);
    raw_exec(sql);
}

static gbx_status *create(const char *operation, const char *component, const char *uri) {
    gbx_status_spec spec = {.operation = operation,
                            .component = component,
                            .uri = uri,
                            .status_base = "http://127.0.0.1:4080/barn/v1/status",
                            .scope = "/barn"};
    return fixture_status(store, &spec);
}

/* Moves a fresh status to `state` along the state machine. */
static gbx_err walk_to(gbx_status *s, gbx_state state) {
    static const gbx_state paths[][4] = {
        [GBX_STATE_PENDING] = {GBX_STATE_PENDING},
        [GBX_STATE_RUNNING] = {GBX_STATE_RUNNING},
        [GBX_STATE_COMPLETED] = {GBX_STATE_RUNNING, GBX_STATE_COMPLETED},
        [GBX_STATE_STOPPING] = {GBX_STATE_STOPPING},
        [GBX_STATE_STOPPED] = {GBX_STATE_STOPPING, GBX_STATE_STOPPED},
        [GBX_STATE_CANCELLING] = {GBX_STATE_STOPPING, GBX_STATE_STOPPED, GBX_STATE_CANCELLING},
        [GBX_STATE_CANCELLED] = {GBX_STATE_STOPPING, GBX_STATE_STOPPED, GBX_STATE_CANCELLING,
                                 GBX_STATE_CANCELLED},
    };
    for (int i = 0; i < 4; i++) {
        gbx_state step = paths[state][i];
        if (step == GBX_STATE_UNKNOWN || step == GBX_STATE_PENDING) break; /* padding */
        gbx_err rc = gbx_status_set_state(s, step);
        if (rc) return rc;
    }
    return gbx_status_state(s) == state ? GBX_OK : GBX_ERR_INTERNAL_SERVER_ERROR;
}

static void test_state_names(void) {
    CHECK_STR(gbx_state_name(GBX_STATE_PENDING), "PENDING");
    CHECK_STR(gbx_state_name(GBX_STATE_CANCELLED), "CANCELLED");
    CHECK_STR(gbx_state_name((gbx_state)42), "UNKNOWN");
    /* Numbered as Gearbox numbered them; UNKNOWN is no state to be in. */
    CHECK_INT(GBX_STATE_PENDING, 1);
    CHECK_INT(GBX_STATE_COMPLETED, 7);
    CHECK_STR(gbx_state_name(GBX_STATE_UNKNOWN), "UNKNOWN");
    CHECK_INT(gbx_state_from_name("UNKNOWN"), -1);
    CHECK_STR(gbx_status_event_name(GBX_STATUS_EVENT_PRECANCEL), "PRECANCEL");
    CHECK_INT(gbx_status_event_from_name("cancel"), GBX_STATUS_EVENT_CANCEL);
    CHECK_INT(gbx_status_event_from_name("x"), GBX_STATUS_EVENT_UNKNOWN);
    for (int s = GBX_STATE_PENDING; s <= GBX_STATE_COMPLETED; s++)
        CHECK_INT(gbx_state_from_name(gbx_state_name((gbx_state)s)), s);
    CHECK_INT(gbx_state_from_name("completed"), GBX_STATE_COMPLETED);
    CHECK_INT(gbx_state_from_name("DONE"), -1);
    CHECK_INT(gbx_state_from_name(NULL), -1);
}

/* The whole 7x7 matrix: gbx_state_can_transition and what the store does. */
static void test_transitions(void) {
    static const char *const allowed[] = {
        "PENDING>RUNNING",   "PENDING>STOPPING",     "RUNNING>COMPLETED",
        "RUNNING>STOPPING",  "STOPPING>STOPPED",     "STOPPED>CANCELLING",
        "COMPLETED>CANCELLING", "CANCELLING>CANCELLED",
    };
    int allowed_count = 0;
    for (int from = GBX_STATE_PENDING; from <= GBX_STATE_COMPLETED; from++) {
        for (int to = GBX_STATE_PENDING; to <= GBX_STATE_COMPLETED; to++) {
            char pair[64];
            snprintf(pair, sizeof pair, "%s>%s", gbx_state_name((gbx_state)from),
                     gbx_state_name((gbx_state)to));
            bool expect = false;
            for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
                if (strcmp(allowed[i], pair) == 0) expect = true;
            allowed_count += expect;
            if (gbx_state_can_transition((gbx_state)from, (gbx_state)to) != expect) {
                fprintf(stderr, "can_transition %s wrong\n", pair);
                check_failed++;
            } else {
                check_passed++;
            }

            gbx_status *s = create("create", "barn", "http://h/barn/v1/animal/x");
            if (!s) continue;
            CHECK_INT(walk_to(s, (gbx_state)from), GBX_OK);
            gbx_err rc = gbx_status_set_state(s, (gbx_state)to);
            if (expect) {
                CHECK_INT(rc, GBX_OK);
                CHECK_INT(gbx_status_state(s), to);
            } else {
                CHECK_INT(rc, GBX_ERR_CONFLICT);
                char msg[64];
                snprintf(msg, sizeof msg, "state is currently %s",
                         gbx_state_name((gbx_state)from));
                CHECK_STR(gbx_error_last()->message, msg);
                CHECK_INT(gbx_status_state(s), from); /* snapshot untouched */
            }
            /* What the store holds agrees with the snapshot. */
            gbx_status *again = NULL;
            CHECK_INT(gbx_status_fetch(&again, store, gbx_status_id(s)), GBX_OK);
            if (again) CHECK_INT(gbx_status_state(again), gbx_status_state(s));
            gbx_status_free(again);
            gbx_status_free(s);
        }
    }
    CHECK_INT(allowed_count, 8);
    CHECK(!gbx_state_can_transition((gbx_state)-1, GBX_STATE_RUNNING));
    CHECK(!gbx_state_can_transition(GBX_STATE_PENDING, (gbx_state)99));

    gbx_status *s = create("create", "barn", "u");
    CHECK_INT(gbx_status_set_state(s, (gbx_state)99), GBX_ERR_BAD_REQUEST);
    gbx_status_free(s);
}

static void test_create_and_fetch(void) {
    gbx_status_spec spec = {.operation = "create",
                            .component = "barn",
                            .uri = "http://127.0.0.1:4080/barn/v1/animal/Wilbur",
                            .status_base = "http://127.0.0.1:4080/barn/v1/status/",
                            .envelope = "{\"version\":1}",
                            .scope = "/barn"};
    gbx_status *s = NULL;
    CHECK_INT(gbx_status_create(&s, store, &spec), GBX_OK);
    if (!s) return;
    const char *id = gbx_status_id(s);
    CHECK(gbx_id_is_valid(id, "s"));
    char want_uri[128];
    snprintf(want_uri, sizeof want_uri, "http://127.0.0.1:4080/barn/v1/status/%s", id);
    CHECK_STR(gbx_status_status_uri(s), want_uri);
    CHECK_STR(gbx_status_operation(s), "create");
    CHECK_STR(gbx_status_component(s), "barn");
    CHECK_STR(gbx_status_uri(s), "http://127.0.0.1:4080/barn/v1/animal/Wilbur");
    CHECK_STR(gbx_status_scope(s), "/barn");
    CHECK(gbx_status_parent_uri(s) == NULL);
    CHECK_INT(gbx_status_state(s), GBX_STATE_PENDING);
    CHECK_INT(gbx_status_progress_value(s), 0);
    CHECK_INT(gbx_status_code(s), -1);
    CHECK_INT(gbx_status_failures(s), 0);
    CHECK_INT(gbx_status_concurrency(s), 0);
    CHECK(gbx_status_ctime(s) > 1600000000.0);
    CHECK(gbx_status_ctime(s) == gbx_status_mtime(s));
    CHECK(gbx_status_ytime(s) == 0);
    CHECK_INT(json_array_size(gbx_status_messages(s)), 0);
    CHECK_INT(json_array_size(gbx_status_children(s)), 0);
    CHECK_INT(json_object_size(gbx_status_meta(s)), 0);
    CHECK(!gbx_status_has_completed(s));
    CHECK(!gbx_status_is_success(s));

    char *env = NULL;
    CHECK_INT(gbx_status_envelope(&env, s), GBX_OK);
    CHECK_STR(env, "{\"version\":1}");
    free(env);

    /* Fetch by id, by status URI, by URI with matrix/query. */
    const char *ways[3];
    char with_query[200];
    snprintf(with_query, sizeof with_query, "%s;_expand=1?x=y", want_uri);
    ways[0] = id;
    ways[1] = want_uri;
    ways[2] = with_query;
    for (int i = 0; i < 3; i++) {
        gbx_status *f = NULL;
        CHECK_INT(gbx_status_fetch(&f, store, ways[i]), GBX_OK);
        if (!f) continue;
        CHECK_STR(gbx_status_id(f), id);
        CHECK_STR(gbx_status_uri(f), gbx_status_uri(s));
        CHECK(gbx_status_ctime(f) == gbx_status_ctime(s));
        gbx_status_free(f);
    }

    /* A trace id is kept as meta "trace_id", in the store as in the JSON. */
    spec.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    gbx_status *traced = NULL, *back = NULL;
    CHECK_INT(gbx_status_create(&traced, store, &spec), GBX_OK);
    if (traced) CHECK_INT(gbx_status_fetch(&back, store, gbx_status_id(traced)), GBX_OK);
    if (back) {
        CHECK_STR(json_string_value(json_object_get(gbx_status_meta(back), "trace_id")), spec.trace_id);
        json_t *obj = NULL;
        CHECK_INT(gbx_status_to_json(&obj, back), GBX_OK);
        CHECK_STR(json_string_value(json_object_get(json_object_get(obj, "meta"), "trace_id")), spec.trace_id);
        json_decref(obj);
    }
    gbx_status_free(back);
    gbx_status_free(traced);
    spec.trace_id = "\xff";
    CHECK_INT(gbx_status_create(&traced, store, &spec), GBX_ERR_BAD_REQUEST);
    spec.trace_id = NULL;

    /* Unknown, empty, NULL. */
    gbx_status *f = (gbx_status *)1;
    CHECK_INT(gbx_status_fetch(&f, store, "s-0000000000000000000000000z"), GBX_ERR_NOT_FOUND);
    CHECK_STR(gbx_error_last()->message, "status \"s-0000000000000000000000000z\" not found");
    CHECK(f == NULL);
    CHECK_INT(gbx_status_fetch(&f, store, "http://h/barn/v1/status/s-nope"), GBX_ERR_NOT_FOUND);
    CHECK_STR(gbx_error_last()->message, "status \"s-nope\" not found");
    CHECK_INT(gbx_status_fetch(&f, store, ""), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_status_fetch(&f, store, NULL), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_status_fetch(&f, store, "http://h/status/"), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_status_fetch(&f, NULL, id), GBX_ERR_BAD_REQUEST);

    /* Chosen ids: accepted, unique, URL-safe. */
    gbx_status_spec chosen = {.id = "my-job.1", .operation = "get", .status_base = "http://h/s"};
    gbx_status *c = NULL;
    CHECK_INT(gbx_status_create(&c, store, &chosen), GBX_OK);
    CHECK_STR(gbx_status_id(c), "my-job.1");
    CHECK_STR(gbx_status_status_uri(c), "http://h/s/my-job.1");
    char *none = (char *)1;
    CHECK_INT(gbx_status_envelope(&none, c), GBX_OK);
    CHECK(none == NULL);
    gbx_status_free(c);
    c = (gbx_status *)1;
    CHECK_INT(gbx_status_create(&c, store, &chosen), GBX_ERR_CONFLICT);
    CHECK_STR(gbx_error_last()->message, "status \"my-job.1\" already exists");
    CHECK(c == NULL);
    chosen.id = "a/b";
    CHECK_INT(gbx_status_create(&c, store, &chosen), GBX_ERR_BAD_REQUEST);
    chosen.id = "";
    CHECK_INT(gbx_status_create(&c, store, &chosen), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_status_create(&c, store, NULL), GBX_ERR_BAD_REQUEST);
    gbx_status_spec latin1 = {.operation = "create", .uri = "http://h/barn/v1/animal/\xe9"};
    CHECK_INT(gbx_status_create(&c, store, &latin1), GBX_ERR_BAD_REQUEST);
    CHECK_STR(gbx_error_last()->message, "status uri is not valid UTF-8");
    CHECK_INT(gbx_status_create(&c, NULL, &spec), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_status_create(NULL, store, &spec), GBX_ERR_BAD_REQUEST);

    /* A bare spec: every optional field unset. */
    gbx_status_spec bare = {0};
    CHECK_INT(gbx_status_create(&c, store, &bare), GBX_OK);
    CHECK(gbx_status_operation(c) == NULL && gbx_status_status_uri(c) == NULL);
    json_t *j = NULL;
    CHECK_INT(gbx_status_to_json(&j, c), GBX_OK);
    CHECK(json_is_null(json_object_get(j, "operation")));
    CHECK(json_is_null(json_object_get(j, "status_uri")));
    json_decref(j);
    gbx_status_free(c);

    /* Envelope replaced and cleared. */
    CHECK_INT(gbx_status_set_envelope(s, "{\"version\":2}"), GBX_OK);
    CHECK_INT(gbx_status_envelope(&env, s), GBX_OK);
    CHECK_STR(env, "{\"version\":2}");
    free(env);
    CHECK_INT(gbx_status_set_envelope(s, NULL), GBX_OK);
    CHECK_INT(gbx_status_envelope(&env, s), GBX_OK);
    CHECK(env == NULL);
    gbx_status_free(s);
    gbx_status_free(NULL);
}

static void test_progress_messages_children(void) {
    gbx_status *s = create("create", "barn", "u");
    if (!s) return;
    CHECK_INT(gbx_status_set_progress(s, 10), GBX_OK);
    CHECK_INT(gbx_status_progress_value(s), 10);
    CHECK_INT(gbx_status_set_progress(s, 5), GBX_OK); /* ignored, not an error */
    CHECK_INT(gbx_status_progress_value(s), 10);
    CHECK_INT(gbx_status_set_progress(s, 60), GBX_OK);
    CHECK_INT(gbx_status_progress_value(s), 60);
    CHECK_INT(gbx_status_set_progress(s, 101), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_status_set_progress(s, -1), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_status_progress_value(s), 60);

    const char *msgs[] = {"first", "second \"quoted\"", "third\nline", "", "ünïcødé"};
    for (int i = 0; i < 5; i++) CHECK_INT(gbx_status_add_message(s, msgs[i]), GBX_OK);
    CHECK_INT(gbx_status_add_message(s, NULL), GBX_ERR_BAD_REQUEST);
    /* Not UTF-8: refused, so the stored JSON stays readable. */
    CHECK_INT(gbx_status_add_message(s, "bad \xff\xfe byte"), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_status_add_child(s, "http://h/\xc3"), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_status_fail(s, 500, "\xff"), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_status_state(s), GBX_STATE_PENDING);
    const char *kids[] = {"http://h/barn/v1/status/s-1", "http://h/barn/v1/status/s-2",
                          "http://other/v1/status/s-0"};
    for (int i = 0; i < 3; i++) CHECK_INT(gbx_status_add_child(s, kids[i]), GBX_OK);
    CHECK_INT(gbx_status_add_child(s, ""), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_status_add_child(s, NULL), GBX_ERR_BAD_REQUEST);

    /* Order as added, both in the snapshot and in a fresh read. */
    gbx_status *f = NULL;
    CHECK_INT(gbx_status_fetch(&f, store, gbx_status_id(s)), GBX_OK);
    gbx_status *views[2] = {s, f};
    for (int v = 0; v < 2; v++) {
        if (!views[v]) continue;
        json_t *m = gbx_status_messages(views[v]);
        CHECK_INT(json_array_size(m), 5);
        for (int i = 0; i < 5; i++) CHECK_STR(json_string_value(json_array_get(m, i)), msgs[i]);
        json_t *c = gbx_status_children(views[v]);
        CHECK_INT(json_array_size(c), 3);
        for (int i = 0; i < 3; i++) CHECK_STR(json_string_value(json_array_get(c, i)), kids[i]);
        CHECK_INT(gbx_status_progress_value(views[v]), 60);
    }
    gbx_status_free(f);

    /* Progress 100 by hand is not completion: no code yet. */
    CHECK_INT(gbx_status_set_progress(s, 100), GBX_OK);
    CHECK_INT(gbx_status_code(s), -1);
    CHECK(!gbx_status_has_completed(s));
    json_t *j = NULL;
    CHECK_INT(gbx_status_to_json(&j, s), GBX_OK);
    CHECK(json_object_get(j, "code") == NULL);
    json_decref(j);
    gbx_status_free(s);
}

static void test_meta(void) {
    gbx_status *s = create("create", "barn", "u");
    if (!s) return;
    CHECK_INT(gbx_status_set_meta_new(s, "owner", json_string("fern")), GBX_OK);
    json_t *nested = json_pack("{s:i, s:[i,i]}", "a", 1, "b", 2, 3);
    CHECK_INT(gbx_status_set_meta(s, "we\"ird.key$[0]", nested), GBX_OK);
    CHECK_INT(gbx_status_set_meta(s, "n", json_null()), GBX_OK);
    json_t *m = gbx_status_meta(s);
    CHECK_INT(json_object_size(m), 3);
    CHECK_STR(json_string_value(json_object_get(m, "owner")), "fern");
    CHECK(json_equal(json_object_get(m, "we\"ird.key$[0]"), nested));
    CHECK(json_is_null(json_object_get(m, "n")));
    /* Replacing a value replaces it whole (no merge). */
    json_t *other = json_pack("{s:i}", "c", 9);
    CHECK_INT(gbx_status_set_meta(s, "we\"ird.key$[0]", other), GBX_OK);
    CHECK(json_equal(json_object_get(gbx_status_meta(s), "we\"ird.key$[0]"), other));
    /* The caller keeps its references. */
    CHECK_INT(nested->refcount, 1);
    json_decref(nested);
    json_decref(other);

    /* Delete, also of a key that is not there. */
    CHECK_INT(gbx_status_set_meta(s, "owner", NULL), GBX_OK);
    CHECK_INT(gbx_status_set_meta(s, "never-set", NULL), GBX_OK);
    CHECK(json_object_get(gbx_status_meta(s), "owner") == NULL);
    CHECK_INT(json_object_size(gbx_status_meta(s)), 2);
    CHECK_INT(gbx_status_set_meta(s, NULL, json_true()), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_status_set_meta_new(s, NULL, json_string("released")), GBX_ERR_BAD_REQUEST);

    gbx_status *f = NULL;
    CHECK_INT(gbx_status_fetch(&f, store, gbx_status_id(s)), GBX_OK);
    if (f) CHECK(json_equal(gbx_status_meta(f), gbx_status_meta(s)));
    gbx_status_free(f);

    /* to_json shows meta while non-empty only. */
    json_t *j = NULL;
    CHECK_INT(gbx_status_to_json(&j, s), GBX_OK);
    CHECK(json_is_object(json_object_get(j, "meta")));
    json_decref(j);
    CHECK_INT(gbx_status_set_meta(s, "we\"ird.key$[0]", NULL), GBX_OK);
    CHECK_INT(gbx_status_set_meta(s, "n", NULL), GBX_OK);
    CHECK_INT(gbx_status_to_json(&j, s), GBX_OK);
    CHECK(json_object_get(j, "meta") == NULL);
    json_decref(j);
    gbx_status_free(s);
}

static void test_success_fail(void) {
    /* success from PENDING */
    gbx_status *s = create("create", "barn", "u");
    CHECK_INT(gbx_status_success(s), GBX_OK);
    CHECK_INT(gbx_status_state(s), GBX_STATE_COMPLETED);
    CHECK_INT(gbx_status_progress_value(s), 100);
    CHECK_INT(gbx_status_code(s), 0);
    CHECK(gbx_status_has_completed(s));
    CHECK(gbx_status_is_success(s));
    CHECK_INT(gbx_status_success(s), GBX_ERR_CONFLICT);
    CHECK_STR(gbx_error_last()->message, "state is currently COMPLETED");
    CHECK_INT(gbx_status_fail(s, 500, "late"), GBX_ERR_CONFLICT);
    CHECK_INT(json_array_size(gbx_status_messages(s)), 0); /* nothing half-written */
    CHECK_INT(gbx_status_code(s), 0);
    gbx_status_free(s);

    /* fail from RUNNING with a message */
    s = create("delete", "barn", "u");
    CHECK_INT(gbx_status_set_state(s, GBX_STATE_RUNNING), GBX_OK);
    CHECK_INT(gbx_status_add_message(s, "working"), GBX_OK);
    CHECK_INT(gbx_status_fail(s, 404, "NOT_FOUND [404]: animal \"x\" not found"), GBX_OK);
    CHECK_INT(gbx_status_state(s), GBX_STATE_COMPLETED);
    CHECK_INT(gbx_status_progress_value(s), 100);
    CHECK_INT(gbx_status_code(s), 404);
    CHECK(gbx_status_has_completed(s));
    CHECK(!gbx_status_is_success(s));
    json_t *m = gbx_status_messages(s);
    CHECK_INT(json_array_size(m), 2);
    CHECK_STR(json_string_value(json_array_get(m, 1)), "NOT_FOUND [404]: animal \"x\" not found");
    CHECK_INT(gbx_status_fail(s, 500, NULL), GBX_ERR_CONFLICT);
    /* A completed job may be cancelled; completion facts stay. */
    CHECK_INT(gbx_status_set_state(s, GBX_STATE_CANCELLING), GBX_OK);
    CHECK(gbx_status_has_completed(s));
    CHECK_INT(gbx_status_code(s), 404);
    gbx_status_free(s);

    /* fail without a message, from PENDING (a job that could not be queued) */
    s = create("create", "barn", "u");
    CHECK_INT(gbx_status_fail(s, 0, "zero"), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_status_fail(s, -3, NULL), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_status_fail(s, 1000, NULL), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_status_state(s), GBX_STATE_PENDING);
    CHECK_INT(gbx_status_fail(s, 503, NULL), GBX_OK);
    CHECK_INT(gbx_status_code(s), 503);
    CHECK_INT(json_array_size(gbx_status_messages(s)), 0);
    gbx_status_free(s);

    /* Not from the cancel chain */
    s = create("create", "barn", "u");
    CHECK_INT(gbx_status_set_state(s, GBX_STATE_STOPPING), GBX_OK);
    CHECK_INT(gbx_status_success(s), GBX_ERR_CONFLICT);
    CHECK_STR(gbx_error_last()->message, "state is currently STOPPING");
    CHECK_INT(gbx_status_progress_value(s), 0);
    gbx_status_free(s);

    CHECK_INT(gbx_status_success(NULL), GBX_ERR_BAD_REQUEST);
}

static void test_counters(void) {
    gbx_status *s = create("create", "barn", "u");
    CHECK_INT(gbx_status_add_concurrency(s, 1), GBX_OK);
    CHECK_INT(gbx_status_add_concurrency(s, 1), GBX_OK);
    CHECK_INT(gbx_status_concurrency(s), 2);
    CHECK_INT(gbx_status_add_concurrency(s, -1), GBX_OK);
    CHECK_INT(gbx_status_concurrency(s), 1);
    CHECK_INT(gbx_status_add_concurrency(s, -5), GBX_OK);
    CHECK_INT(gbx_status_concurrency(s), 0);
    CHECK_INT(gbx_status_add_concurrency(s, -1), GBX_OK);
    CHECK_INT(gbx_status_concurrency(s), 0);
    CHECK_INT(gbx_status_add_concurrency(s, 3), GBX_OK);
    CHECK_INT(gbx_status_concurrency(s), 3);

    CHECK_INT(gbx_status_add_failure(s), GBX_OK);
    CHECK_INT(gbx_status_add_failure(s), GBX_OK);
    CHECK_INT(gbx_status_failures(s), 2);

    CHECK_INT(gbx_status_set_ytime(s, 2000000000.25), GBX_OK);
    CHECK(gbx_status_ytime(s) == 2000000000.25);
    CHECK_INT(gbx_status_set_ytime(s, -1), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_status_set_ytime(s, NAN), GBX_ERR_BAD_REQUEST);
    CHECK(gbx_status_ytime(s) == 2000000000.25);

    gbx_status *f = NULL;
    CHECK_INT(gbx_status_fetch(&f, store, gbx_status_id(s)), GBX_OK);
    if (f) {
        CHECK_INT(gbx_status_concurrency(f), 3);
        CHECK_INT(gbx_status_failures(f), 2);
        CHECK(gbx_status_ytime(f) == 2000000000.25);
    }
    gbx_status_free(f);
    gbx_status_free(s);
}

static const char *const full_order[] = {
    "operation", "component", "state",    "uri",    "status_uri", "progress",
    "code",      "messages",  "children", "meta",   "parent_uri", "failures",
    "ctime",     "mtime",     "ytime",    "concurrency",
};

/* The keys of `j` in order, against full_order minus the ones left out. */
static void check_keys(json_t *j, const char *const *omitted, int n_omitted) {
    const char *expect[16];
    int n = 0;
    for (int i = 0; i < 16; i++) {
        bool skip = false;
        for (int k = 0; k < n_omitted; k++)
            if (strcmp(full_order[i], omitted[k]) == 0) skip = true;
        if (!skip) expect[n++] = full_order[i];
    }
    CHECK_INT(json_object_size(j), n);
    int i = 0;
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) {
        (void)v;
        if (i < n) CHECK_STR(key, expect[i]);
        i++;
    }
}

static void test_to_json(void) {
    gbx_status_spec spec = {.operation = "create",
                            .component = "barn",
                            .uri = "http://h/barn/v1/animal/Wilbur",
                            .status_base = "http://h/barn/v1/status",
                            .scope = "/barn"};
    gbx_status *s = NULL;
    CHECK_INT(gbx_status_create(&s, store, &spec), GBX_OK);
    if (!s) return;
    json_t *j = NULL;
    CHECK_INT(gbx_status_to_json(&j, s), GBX_OK);
    const char *fresh_omits[] = {"code", "meta", "parent_uri", "ytime"};
    check_keys(j, fresh_omits, 4);
    CHECK_STR(json_string_value(json_object_get(j, "operation")), "create");
    CHECK_STR(json_string_value(json_object_get(j, "component")), "barn");
    CHECK_STR(json_string_value(json_object_get(j, "state")), "PENDING");
    CHECK_STR(json_string_value(json_object_get(j, "uri")), "http://h/barn/v1/animal/Wilbur");
    CHECK_STR(json_string_value(json_object_get(j, "status_uri")), gbx_status_status_uri(s));
    CHECK_INT(json_integer_value(json_object_get(j, "progress")), 0);
    CHECK(json_is_array(json_object_get(j, "messages")));
    CHECK(json_is_array(json_object_get(j, "children")));
    CHECK_INT(json_integer_value(json_object_get(j, "failures")), 0);
    CHECK(json_is_integer(json_object_get(j, "ctime")));
    CHECK(json_is_integer(json_object_get(j, "mtime")));
    CHECK_INT(json_integer_value(json_object_get(j, "ctime")), (long long)floor(gbx_status_ctime(s)));
    CHECK_INT(json_integer_value(json_object_get(j, "concurrency")), 0);
    CHECK(json_object_get(j, "scope") == NULL); /* internal, never shown */
    json_decref(j);

    /* Everything set: every key, in order. */
    spec.parent_uri = "http://h/barn/v1/status/s-parent";
    gbx_status *c = NULL;
    CHECK_INT(gbx_status_create(&c, store, &spec), GBX_OK);
    CHECK_INT(gbx_status_add_message(c, "hello"), GBX_OK);
    CHECK_INT(gbx_status_add_child(c, "http://h/barn/v1/status/s-kid"), GBX_OK);
    CHECK_INT(gbx_status_set_meta_new(c, "k", json_string("v")), GBX_OK);
    CHECK_INT(gbx_status_set_ytime(c, 1900000000.9), GBX_OK);
    CHECK_INT(gbx_status_success(c), GBX_OK);
    CHECK_INT(gbx_status_to_json(&j, c), GBX_OK);
    check_keys(j, NULL, 0);
    CHECK_INT(json_integer_value(json_object_get(j, "code")), 0);
    CHECK_INT(json_integer_value(json_object_get(j, "progress")), 100);
    CHECK_STR(json_string_value(json_object_get(j, "parent_uri")),
              "http://h/barn/v1/status/s-parent");
    CHECK_INT(json_integer_value(json_object_get(j, "ytime")), 1900000000);
    CHECK_STR(json_string_value(json_array_get(json_object_get(j, "messages"), 0)), "hello");
    CHECK_STR(json_string_value(json_object_get(json_object_get(j, "meta"), "k")), "v");
    /* The JSON is a copy: changing it leaves the snapshot alone. */
    json_array_clear(json_object_get(j, "messages"));
    CHECK_INT(json_array_size(gbx_status_messages(c)), 1);
    json_decref(j);
    CHECK_INT(gbx_status_to_json(&j, NULL), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_status_to_json(NULL, c), GBX_ERR_BAD_REQUEST);
    gbx_status_free(c);
    gbx_status_free(s);
}

/* Every mutator moves mtime; reads never do; a refused change does not. */
static void test_mtime(void) {
    gbx_status *s = create("create", "barn", "u");
    if (!s) return;
    char id[GBX_ID_MAX]; /* a copy: the getter's string lives until the next mutator */
    snprintf(id, sizeof id, "%s", gbx_status_id(s));
    for (int m = 0; m < 11; m++) {
        raw_set_mtime(id, 1000.5);
        gbx_err rc = GBX_OK;
        switch (m) {
        case 0: rc = gbx_status_set_progress(s, 1 + m); break;
        case 1: rc = gbx_status_add_message(s, "m"); break;
        case 2: rc = gbx_status_add_child(s, "c"); break;
        case 3: rc = gbx_status_set_meta(s, "k", json_true()); break;
        case 4: rc = gbx_status_add_concurrency(s, 1); break;
        case 5: rc = gbx_status_add_failure(s); break;
        case 6: rc = gbx_status_set_ytime(s, 5); break;
        case 7: rc = gbx_status_set_envelope(s, "{}"); break;
        case 8: rc = gbx_status_set_state(s, GBX_STATE_RUNNING); break;
        case 9: rc = gbx_status_set_progress(s, 0); break; /* no-op value, still a write */
        case 10: rc = gbx_status_success(s); break;
        }
        CHECK_INT(rc, GBX_OK);
        CHECK(gbx_status_mtime(s) > 1000000000.0);
        CHECK(raw_mtime(id) == gbx_status_mtime(s));
    }

    /* A refused transition leaves mtime where it was. */
    raw_set_mtime(id, 1000.5);
    CHECK_INT(gbx_status_set_state(s, GBX_STATE_RUNNING), GBX_ERR_CONFLICT);
    CHECK(raw_mtime(id) == 1000.5);

    /* Reads: fetch, refresh, to_json, envelope, list. */
    double before = raw_mtime(id);
    gbx_status *f = NULL;
    CHECK_INT(gbx_status_fetch(&f, store, id), GBX_OK);
    CHECK(f && gbx_status_mtime(f) == before);
    CHECK_INT(gbx_status_refresh(s), GBX_OK);
    CHECK(gbx_status_mtime(s) == before);
    json_t *j = NULL;
    CHECK_INT(gbx_status_to_json(&j, s), GBX_OK);
    CHECK_INT(json_integer_value(json_object_get(j, "mtime")), 1000);
    json_decref(j);
    char *env = NULL;
    CHECK_INT(gbx_status_envelope(&env, s), GBX_OK);
    free(env);
    gbx_status_filter filter;
    gbx_status_filter_init(&filter);
    json_t *ids = NULL;
    CHECK_INT(gbx_status_list(&ids, store, &filter), GBX_OK);
    json_decref(ids);
    CHECK(raw_mtime(id) == before);

    /* mtime never goes backwards, even if another writer's clock ran ahead. */
    raw_set_mtime(id, 4000000000.0);
    CHECK_INT(gbx_status_add_message(s, "late clock"), GBX_OK);
    CHECK(gbx_status_mtime(s) == 4000000000.0);
    gbx_status_free(f);
    gbx_status_free(s);
}

static bool list_is(const gbx_status_filter *f, gbx_status **expect, int n) {
    json_t *ids = NULL;
    if (gbx_status_list(&ids, store, f) != GBX_OK) {
        fprintf(stderr, "list failed: %s\n", gbx_error_last()->message);
        return false;
    }
    bool ok = (int)json_array_size(ids) == n;
    for (int i = 0; ok && i < n; i++)
        ok = strcmp(json_string_value(json_array_get(ids, i)), gbx_status_id(expect[i])) == 0;
    if (!ok) {
        char *d = json_dumps(ids, 0);
        fprintf(stderr, "list gave %s\n", d);
        free(d);
    }
    json_decref(ids);
    return ok;
}

static void test_list(void) {
    raw_exec("DELETE FROM gbx_status");
    gbx_status *a = create("create", "barn", "http://h/barn/v1/animal/Wilbur");
    gbx_status *b = create("update", "barn", "http://h/barn/v1/animal/Charlotte");
    gbx_status *c = create("delete", "farm", "http://h/farm/v1/field/a_c%d");
    gbx_status *d = create("create", "farm", "http://h/farm/v1/field/abcd");
    gbx_status_spec other = {.operation = "create", .component = "barn", .uri = "http://h/x/v1/y",
                             .scope = "/other"};
    gbx_status *e = NULL;
    CHECK_INT(gbx_status_create(&e, store, &other), GBX_OK);
    if (!a || !b || !c || !d || !e) return;
    CHECK_INT(gbx_status_success(a), GBX_OK);
    CHECK_INT(gbx_status_set_state(b, GBX_STATE_RUNNING), GBX_OK);
    CHECK_INT(gbx_status_set_progress(b, 40), GBX_OK);
    CHECK_INT(gbx_status_fail(c, 404, NULL), GBX_OK);

    /* Ties within one second (indeed: identical ctimes) go by creation
     * order, the later first. */
    raw_exec("UPDATE gbx_status SET ctime = 1700000000.0");
    gbx_status_filter f;
    gbx_status_filter_init(&f);
    CHECK(list_is(&f, (gbx_status *[]){e, d, c, b, a}, 5));
    /* Sub-second ctime decides before creation order. */
    char sql[200];
    snprintf(sql, sizeof sql, "UPDATE gbx_status SET ctime = 1700000000.5 WHERE id = '%s'",
             gbx_status_id(a));
    raw_exec(sql);
    CHECK(list_is(&f, (gbx_status *[]){a, e, d, c, b}, 5));
    raw_exec("UPDATE gbx_status SET ctime = 1700000000.0");

    f.uri = "animal";
    CHECK(list_is(&f, (gbx_status *[]){b, a}, 2));
    f.uri = "a_c%"; /* wildcards are literal */
    CHECK(list_is(&f, (gbx_status *[]){c}, 1));
    f.uri = "a%d";
    CHECK(list_is(&f, NULL, 0));
    f.uri = "";
    CHECK(list_is(&f, (gbx_status *[]){e, d, c, b, a}, 5));
    gbx_status_filter_init(&f);
    f.state = "COMPLETED";
    CHECK(list_is(&f, (gbx_status *[]){c, a}, 2));
    f.state = "running";
    CHECK(list_is(&f, (gbx_status *[]){b}, 1));
    gbx_status_filter_init(&f);
    f.operation = "create";
    CHECK(list_is(&f, (gbx_status *[]){e, d, a}, 3));
    f.component = "barn";
    CHECK(list_is(&f, (gbx_status *[]){e, a}, 2));
    f.scope = "/barn";
    CHECK(list_is(&f, (gbx_status *[]){a}, 1));
    gbx_status_filter_init(&f);
    f.code = 404;
    CHECK(list_is(&f, (gbx_status *[]){c}, 1));
    f.code = 0;
    CHECK(list_is(&f, (gbx_status *[]){a}, 1));
    gbx_status_filter_init(&f);
    f.progress = 40;
    CHECK(list_is(&f, (gbx_status *[]){b}, 1));
    f.progress = 0;
    CHECK(list_is(&f, (gbx_status *[]){e, d}, 2));
    gbx_status_filter_init(&f);
    f.count = 2;
    CHECK(list_is(&f, (gbx_status *[]){e, d}, 2));
    CHECK(list_is(NULL, (gbx_status *[]){e, d, c, b, a}, 5));

    /* Default count 10. */
    gbx_status *more[8];
    for (int i = 0; i < 8; i++) more[i] = create("get", "barn", "u");
    json_t *ids = NULL;
    gbx_status_filter_init(&f);
    CHECK_INT(gbx_status_list(&ids, store, &f), GBX_OK);
    CHECK_INT(json_array_size(ids), 10);
    /* The new ones (real ctime, later than 1700000000) come first, newest first. */
    CHECK_STR(json_string_value(json_array_get(ids, 0)), gbx_status_id(more[7]));
    CHECK_STR(json_string_value(json_array_get(ids, 7)), gbx_status_id(more[0]));
    CHECK_STR(json_string_value(json_array_get(ids, 8)), gbx_status_id(e));
    json_decref(ids);
    for (int i = 0; i < 8; i++) gbx_status_free(more[i]);

    /* Bad filters. */
    gbx_status_filter_init(&f);
    f.state = "FINISHED";
    CHECK_INT(gbx_status_list(&ids, store, &f), GBX_ERR_BAD_REQUEST);
    CHECK_STR(gbx_error_last()->message, "unknown state \"FINISHED\"");
    CHECK(ids == NULL);
    gbx_status_filter_init(&f);
    f.count = -1;
    CHECK_INT(gbx_status_list(&ids, store, &f), GBX_ERR_BAD_REQUEST);
    gbx_status_filter_init(&f);
    f.progress = 101;
    CHECK_INT(gbx_status_list(&ids, store, &f), GBX_ERR_BAD_REQUEST);
    gbx_status_filter_init(&f);
    f.code = -2;
    CHECK_INT(gbx_status_list(&ids, store, &f), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_status_list(&ids, NULL, &f), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_status_list(NULL, store, &f), GBX_ERR_BAD_REQUEST);

    gbx_status_free(a);
    gbx_status_free(b);
    gbx_status_free(c);
    gbx_status_free(d);
    gbx_status_free(e);
}

/* A status deleted behind a handle's back: mutators and refresh say 404. */
static void test_vanished(void) {
    gbx_status *s = create("create", "barn", "u");
    if (!s) return;
    char sql[200];
    snprintf(sql, sizeof sql, "DELETE FROM gbx_status WHERE id = '%s'", gbx_status_id(s));
    raw_exec(sql);
    char want[100];
    snprintf(want, sizeof want, "status \"%s\" not found", gbx_status_id(s));
    CHECK_INT(gbx_status_add_message(s, "x"), GBX_ERR_NOT_FOUND);
    CHECK_STR(gbx_error_last()->message, want);
    CHECK_INT(gbx_status_set_state(s, GBX_STATE_RUNNING), GBX_ERR_NOT_FOUND);
    CHECK_INT(gbx_status_success(s), GBX_ERR_NOT_FOUND);
    CHECK_INT(gbx_status_set_meta(s, "k", json_true()), GBX_ERR_NOT_FOUND);
    CHECK_INT(gbx_status_refresh(s), GBX_ERR_NOT_FOUND);
    char *env = NULL;
    CHECK_INT(gbx_status_envelope(&env, s), GBX_ERR_NOT_FOUND);
    /* The snapshot is still readable. */
    CHECK_INT(gbx_status_state(s), GBX_STATE_PENDING);
    gbx_status_free(s);
}

/* Rows in the database, read beside the library. */
static int row_count(void) {
    return (int)fixture_raw_number(&raw, "SELECT COUNT(*) FROM gbx_status", -1);
}

/* A local status (a sync job's): every change works in memory, nothing is
 * stored, the state machine still holds. */
static void test_local(void) {
    int rows = row_count();
    gbx_status *st = NULL;
    CHECK_INT(gbx__status_new_local(&st, "get", "barn", "http://h/barn/v1/animal/Wilbur"), GBX_OK);
    if (!st) return;
    CHECK(strncmp(gbx_status_id(st), "st-", 3) == 0);
    CHECK(gbx_status_is_local(st));
    CHECK(!gbx_status_is_remote(st));
    CHECK(gbx_status_status_uri(st) == NULL);
    CHECK_STR(gbx_status_operation(st), "get");
    CHECK_STR(gbx_status_component(st), "barn");
    CHECK_INT(gbx_status_state(st), GBX_STATE_RUNNING);
    double mtime = gbx_status_mtime(st);

    CHECK_INT(gbx_status_add_message(st, "one"), GBX_OK);
    CHECK_INT(gbx_status_set_progress(st, 40), GBX_OK);
    CHECK_INT(gbx_status_set_progress(st, 10), GBX_OK); /* never backwards */
    CHECK_INT(gbx_status_progress_value(st), 40);
    CHECK_INT(gbx_status_set_meta_new(st, "k", json_string("v")), GBX_OK);
    CHECK_INT(gbx_status_set_meta_new(st, "gone", json_true()), GBX_OK);
    CHECK_INT(gbx_status_set_meta(st, "gone", NULL), GBX_OK);
    CHECK_INT(gbx_status_add_child(st, "http://h/barn/v1/status/s-1"), GBX_OK);
    CHECK_INT(gbx_status_refresh(st), GBX_OK); /* keeps the memory copy */
    CHECK_INT((int)json_array_size(gbx_status_messages(st)), 1);
    CHECK_STR(json_string_value(json_object_get(gbx_status_meta(st), "k")), "v");
    CHECK(json_object_get(gbx_status_meta(st), "gone") == NULL);
    CHECK_INT((int)json_array_size(gbx_status_children(st)), 1);
    CHECK(gbx_status_mtime(st) >= mtime);
    CHECK_INT(gbx_status_add_message(st, "\xff"), GBX_ERR_BAD_REQUEST);

    long long counter = 0;
    CHECK_INT(gbx_status_counter_add(&counter, st, "n", 1), GBX_ERR_METHOD_NOT_ALLOWED);
    char *env = (char *)"x";
    CHECK_INT(gbx_status_envelope(&env, st), GBX_OK);
    CHECK(env == NULL);
    CHECK_INT(gbx_status_checkpoint(st), GBX_OK);

    CHECK_INT(gbx_status_fail(st, 404, "no such sheep"), GBX_OK);
    CHECK_INT(gbx_status_code(st), 404);
    CHECK(gbx_status_has_completed(st));
    CHECK_INT(gbx_status_success(st), GBX_ERR_CONFLICT); /* completed already */
    CHECK_STR(gbx_error_last()->message, "state is currently COMPLETED");
    CHECK_INT((int)json_array_size(gbx_status_messages(st)), 2);

    json_t *obj = NULL;
    CHECK_INT(gbx_status_to_json(&obj, st), GBX_OK);
    CHECK_STR(json_string_value(json_object_get(obj, "state")), "COMPLETED");
    json_decref(obj);
    gbx_status *stored = NULL;
    CHECK_INT(gbx_status_fetch(&stored, store, gbx_status_id(st)), GBX_ERR_NOT_FOUND);
    CHECK_INT(row_count(), rows);
    gbx_status_free(st);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/gbx-test-status-XXXXXX");
    store = fixture_store(dir, db_path, sizeof db_path, false);
    if (!store) return 1;
    CHECK_STR(gbx_store_backend(store), fixture_on_mariadb() ? "mariadb" : "sqlite");
    CHECK(fixture_raw_open(&raw, db_path));

    test_state_names();
    test_transitions();
    test_create_and_fetch();
    test_progress_messages_children();
    test_meta();
    test_success_fail();
    test_counters();
    test_to_json();
    test_mtime();
    test_list();
    test_vanished();
    test_local();

    fixture_raw_close(&raw);
    gbx_store_free(store);
    fixture_remove(dir);
    return check_done();
}
