/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit tests of cancellation and rescheduling (core/src/cancel.c) against a
 * real SQLite store, without gearmand: the job manager points at a closed
 * port, so the jobs it starts (PRECANCEL, compensation) stay queued in the
 * store, and the test plays their workers by completing their statuses and
 * calling gbx__cancel_notify, as the worker runtime does. */
#define _GNU_SOURCE /* nftw (fixtures.h) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "orchestration/cancel_internal.h"
#include "check.h"
#include "fixtures.h"
#include "gearbox/gearbox.h"
#include "store/queue_internal.h"
#include "store/status_internal.h"
#include "store/backend.h" /* gbx__now, gbx__queued */

#define BASE "http://127.0.0.1:4080/barn/v1"

static gbx_store *store;
static gbx_jobmanager *jm;

static gbx_status *create(const char *parent_uri) {
    gbx_status_spec spec = {.operation = "create", .component = "barn",
                            .uri = BASE "/animal/Wilbur", .status_base = BASE "/status",
                            .parent_uri = parent_uri, .scope = "/barn",
                            .envelope = "{\"version\":1,\"name\":\"do_put_barn_animal_v1\","
                                        "\"job_type\":\"async\",\"operation\":\"create\","
                                        "\"component\":\"barn\",\"resource\":{\"type\":\"animal\"}}"};
    gbx_status *st = NULL;
    CHECK_INT(gbx_status_create(&st, store, &spec), GBX_OK);
    return st;
}

static gbx_status *fetch(const char *id) {
    gbx_status *st = NULL;
    CHECK_INT(gbx_status_fetch(&st, store, id), GBX_OK);
    return st;
}

/* An envelope for an event job of handler `name`. */
static gbx_envelope *event_envelope(const char *name) {
    gbx_envelope *env = NULL;
    CHECK_INT(gbx_envelope_new(&env), GBX_OK);
    gbx_envelope_set(env, "name", name);
    gbx_envelope_set(env, "operation", "update");
    gbx_envelope_set(env, "component", "barn");
    gbx_envelope_set(env, "resource.type", "animal");
    gbx_envelope_set(env, "base_uri", BASE);
    return env;
}

static void store_event(gbx_status *st, gbx_status_event event, const char *name) {
    gbx_envelope *env = event_envelope(name);
    CHECK_INT(gbx_status_on(st, event, env), GBX_OK);
    gbx_envelope_free(env);
}

/* Plays the worker of a PRECANCEL / compensation job: completes its status
 * with `code` and tells the cancellation. */
static void worker_completes(const char *id, int code) {
    gbx_status *st = fetch(id);
    if (!st) return;
    CHECK_INT(gbx_status_transition(st, GBX_STATE_PENDING, GBX_STATE_RUNNING), GBX_OK);
    if (code == 0) CHECK_INT(gbx_status_success(st), GBX_OK);
    else CHECK_INT(gbx_status_fail(st, code, "FORBIDDEN [403]: not today"), GBX_OK);
    CHECK_INT(gbx__cancel_notify(jm, st), GBX_OK);
    gbx_status_free(st);
}

static const char *state_of(gbx_status *st) {
    CHECK_INT(gbx_status_refresh(st), GBX_OK);
    return gbx_state_name(gbx_status_state(st));
}

/* The messages of a status as one JSON text, for substring checks. */
static bool said(const gbx_status *st, const char *needle) {
    char *text = json_dumps(gbx_status_messages(st), 0);
    bool found = text && strstr(text, needle) != NULL;
    free(text);
    return found;
}

static bool has_row(const char *ticket) {
    /* take deletes it: only for rows the test does not need any more */
    bool taken = false;
    CHECK_INT(gbx__queue_take(&taken, store, ticket, 30, true), GBX_OK);
    return taken;
}

static void test_pending(void) {
    gbx_status *t = create(NULL);
    /* A delayed job of it waits in the queue. */
    CHECK_INT(gbx__queue_put(store, "t-pending", gbx_status_id(t), "do_put_barn_animal_v1", "{}",
                             gbx__now() + 3600, false), GBX_OK);
    CHECK_INT(gbx_status_set_ytime(t, gbx__now() + 3600), GBX_OK);
    gbx_status *c = NULL;
    CHECK_INT(gbx_jobmanager_cancel(&c, jm, gbx_status_id(t)), GBX_OK);
    if (!c) return;
    /* Nothing to wait for: stopped, cancelled and done within the request. */
    CHECK_STR(state_of(t), "CANCELLED");
    CHECK_INT(gbx_status_code(t), 410);
    CHECK_INT(gbx_status_progress_value(t), 100);
    CHECK(gbx_status_ytime(t) == 0);
    CHECK(!has_row("t-pending"));
    CHECK_STR(gbx_status_operation(c), "update");
    CHECK_STR(gbx_status_uri(c), gbx_status_status_uri(t));
    CHECK_STR(gbx_status_scope(c), "/barn");
    CHECK(strncmp(gbx_status_status_uri(c), BASE "/status/s-", strlen(BASE "/status/s-")) == 0);
    CHECK_STR(state_of(c), "COMPLETED");
    CHECK_INT(gbx_status_code(c), 0);
    /* The cancel status tells its client each step. */
    char *steps = json_dumps(gbx_status_messages(c), JSON_COMPACT);
    CHECK_STR(steps, "[\"stopping\",\"stopped\",\"cancelling\",\"cancelled\"]");
    free(steps);

    /* Cancelling it again: a cancel status completed at once. */
    gbx_status *again = NULL;
    CHECK_INT(gbx_jobmanager_cancel(&again, jm, gbx_status_status_uri(t)), GBX_OK);
    if (again) {
        CHECK_STR(state_of(again), "COMPLETED");
        CHECK_INT(gbx_status_code(again), 0);
        CHECK_STR(json_string_value(json_array_get(gbx_status_messages(again), 0)), "already cancelled");
    }
    gbx_status_free(again);
    gbx_status_free(c);
    gbx_status_free(t);
}

static void test_running(void) {
    gbx_status *t = create(NULL);
    CHECK_INT(gbx_status_transition(t, GBX_STATE_PENDING, GBX_STATE_RUNNING), GBX_OK);
    CHECK_INT(gbx_status_add_concurrency(t, 1), GBX_OK); /* a handler runs it */
    gbx_status *c = NULL;
    CHECK_INT(gbx_jobmanager_cancel(&c, jm, gbx_status_id(t)), GBX_OK);
    if (!c) return;
    CHECK_STR(state_of(t), "STOPPING");
    CHECK_STR(state_of(c), "RUNNING");
    CHECK_INT(gbx_status_progress_value(c), 10);
    CHECK(said(c, "the handler stops at its next checkpoint"));
    CHECK_INT(gbx_status_checkpoint(t), GBX_ERR_GONE);

    /* While it stops, other requests are refused. */
    gbx_status *other = NULL;
    CHECK_INT(gbx_jobmanager_cancel(&other, jm, gbx_status_id(t)), GBX_ERR_CONFLICT);
    CHECK(strstr(gbx_error_last()->message, "state is currently STOPPING") != NULL);
    CHECK_INT(gbx_jobmanager_reschedule(&other, jm, gbx_status_id(t), gbx__now()), GBX_ERR_CONFLICT);

    /* The handler returns: the worker lowers concurrency and finishes. */
    CHECK_INT(gbx_status_add_concurrency(t, -1), GBX_OK);
    CHECK_INT(gbx__cancel_stopped(jm, t, NULL), GBX_OK);
    CHECK_STR(state_of(t), "CANCELLED");
    CHECK_INT(gbx_status_code(t), 410);
    CHECK_STR(state_of(c), "COMPLETED");
    CHECK_INT(gbx_status_code(c), 0);
    /* A second finisher (a racing worker) changes nothing. */
    CHECK_INT(gbx__cancel_stopped(jm, t, NULL), GBX_OK);
    CHECK_STR(state_of(t), "CANCELLED");
    gbx_status_free(c);
    gbx_status_free(t);
}

/* RUNNING with nobody on it (its continuation waits in the queue): stopped
 * at once, the continuation dropped. */
static void test_running_queued(void) {
    gbx_status *t = create(NULL);
    CHECK_INT(gbx_status_transition(t, GBX_STATE_PENDING, GBX_STATE_RUNNING), GBX_OK);
    CHECK_INT(gbx__queue_put(store, "t-cont", gbx_status_id(t), "do_put_barn_animal_v1", "{}",
                             gbx__now(), true), GBX_OK);
    gbx_status *c = NULL;
    CHECK_INT(gbx_jobmanager_cancel(&c, jm, gbx_status_id(t)), GBX_OK);
    CHECK_STR(state_of(t), "CANCELLED");
    CHECK(!has_row("t-cont"));
    gbx_status_free(c);
    gbx_status_free(t);
}

/* A retrying job (RUNNING, its next attempt waiting in the queue) that a
 * cancel stops fires COMPLETED and FAILED besides STOPPED, as Gearbox's
 * worker did for a STOPPED status: a parent waiting for its COMPLETED
 * event (a continuation of the parent's status) goes on. */
static void test_cancel_fires_completed(void) {
    gbx_status *parent = create(NULL);
    CHECK_INT(gbx_status_transition(parent, GBX_STATE_PENDING, GBX_STATE_RUNNING), GBX_OK);
    char envelope[1024];
    snprintf(envelope, sizeof envelope,
             "{\"version\":1,\"name\":\"do_put_barn_animal_v1\",\"job_type\":\"async\","
             "\"operation\":\"create\",\"component\":\"barn\",\"resource\":{\"type\":\"animal\"},"
             "\"on\":{\"COMPLETED\":{\"name\":\"do_post_barn_parent_v1\",\"envelope\":"
             "{\"version\":1,\"name\":\"do_post_barn_parent_v1\",\"job_type\":\"async\","
             "\"operation\":\"create\",\"component\":\"barn\",\"resource\":{\"type\":\"parent\"},"
             "\"status\":\"%s\"}},"
             "\"FAILED\":{\"name\":\"do_post_barn_failed_v1\",\"envelope\":"
             "{\"version\":1,\"name\":\"do_post_barn_failed_v1\",\"job_type\":\"async\","
             "\"operation\":\"create\",\"component\":\"barn\",\"resource\":{\"type\":\"failed\"},"
             "\"base_uri\":\"" BASE "\"}}}}",
             gbx_status_id(parent));
    gbx_status_spec spec = {.operation = "create", .component = "barn",
                            .uri = BASE "/animal/Wilbur", .status_base = BASE "/status",
                            .parent_uri = gbx_status_status_uri(parent), .scope = "/barn",
                            .envelope = envelope};
    gbx_status *t = NULL;
    CHECK_INT(gbx_status_create(&t, store, &spec), GBX_OK);
    if (!t) return;
    CHECK_INT(gbx_status_transition(t, GBX_STATE_PENDING, GBX_STATE_RUNNING), GBX_OK);
    CHECK_INT(gbx_status_add_failure(t), GBX_OK);
    CHECK_INT(gbx__queue_put(store, "t-retry", gbx_status_id(t), "do_put_barn_animal_v1", "{}",
                             gbx__now() + 60, false), GBX_OK);
    CHECK_INT(gbx_status_set_ytime(t, gbx__now() + 60), GBX_OK);
    size_t before = json_array_size(gbx_status_children(t));

    gbx_status *c = NULL;
    CHECK_INT(gbx_jobmanager_cancel(&c, jm, gbx_status_id(t)), GBX_OK);
    CHECK_STR(state_of(t), "CANCELLED");
    CHECK(!has_row("t-retry"));
    /* COMPLETED: the parent's continuation waits in the queue (no gearmand). */
    size_t queued = 0;
    CHECK_INT(gbx__queue_drop(&queued, store, gbx_status_id(parent)), GBX_OK);
    CHECK_INT(queued, 1);
    /* FAILED (its code is not 0): a new job, a child of the stopped status
     * that is not cancelled with it. */
    CHECK_INT(json_array_size(gbx_status_children(t)), before + 1);
    gbx_status *failed = NULL;
    if (json_array_size(gbx_status_children(t)) == before + 1) {
        failed = fetch(json_string_value(json_array_get(gbx_status_children(t), before)));
        if (failed) CHECK_STR(state_of(failed), "PENDING");
    }
    gbx_status_free(failed);
    gbx_status_free(c);
    gbx_status_free(t);
    gbx_status_free(parent);
}

static void test_precancel_veto(void) {
    gbx_status *t = create(NULL);
    store_event(t, GBX_STATUS_EVENT_PRECANCEL, "do_update_barn_guard_v1");
    gbx_status *c = NULL;
    CHECK_INT(gbx_jobmanager_cancel(&c, jm, gbx_status_id(t)), GBX_OK);
    if (!c) return;
    /* The PRECANCEL job runs as a child of C; the target waits for it. */
    CHECK_STR(state_of(t), "PENDING");
    CHECK_STR(state_of(c), "RUNNING");
    CHECK_INT(json_array_size(gbx_status_children(c)), 1);
    const char *pid = json_string_value(json_object_get(gbx__status_private(t), "precancel"));
    CHECK(pid != NULL);
    if (!pid) return;
    gbx_status *p = fetch(pid);
    CHECK_STR(gbx_status_parent_uri(p), gbx_status_status_uri(c));
    CHECK_STR(json_string_value(json_array_get(gbx_status_children(c), 0)), gbx_status_status_uri(p));
    char *text = NULL;
    CHECK_INT(gbx_status_envelope(&text, p), GBX_OK);
    gbx_envelope *penv = NULL;
    if (text) CHECK_INT(gbx_envelope_parse(&penv, text, strlen(text)), GBX_OK);
    if (penv) {
        CHECK_STR(gbx_envelope_get(penv, "event_status"), gbx_status_status_uri(t));
        CHECK_STR(gbx_envelope_get(penv, "name"), "do_update_barn_guard_v1");
    }
    gbx_envelope_free(penv);
    free(text);
    /* A second request meanwhile: 409. */
    gbx_status *other = NULL;
    CHECK_INT(gbx_jobmanager_cancel(&other, jm, gbx_status_id(t)), GBX_ERR_CONFLICT);

    /* It fails: a veto. */
    worker_completes(gbx_status_id(p), 403);
    CHECK_STR(state_of(t), "PENDING");
    CHECK_STR(state_of(c), "COMPLETED");
    CHECK_INT(gbx_status_code(c), 403);
    CHECK(said(c, "PRECANCEL job s-"));
    CHECK(said(c, "cancellation vetoed by"));
    gbx_status_free(p);
    gbx_status_free(c);

    /* A later request may try again; this time the PRECANCEL job agrees. */
    CHECK_INT(gbx_jobmanager_cancel(&c, jm, gbx_status_id(t)), GBX_OK);
    if (!c) return;
    CHECK_STR(state_of(t), "PENDING");
    pid = json_string_value(json_object_get(gbx__status_private(t), "precancel"));
    CHECK(pid != NULL);
    if (pid) worker_completes(pid, 0);
    CHECK_STR(state_of(t), "CANCELLED");
    CHECK_STR(state_of(c), "COMPLETED");
    CHECK_INT(gbx_status_code(c), 0);
    gbx_status_free(c);
    gbx_status_free(t);
}

static void test_compensation(void) {
    /* A COMPLETED job may be cancelled to run its compensation. */
    gbx_status *t = create(NULL);
    CHECK_INT(gbx_status_transition(t, GBX_STATE_PENDING, GBX_STATE_RUNNING), GBX_OK);
    CHECK_INT(gbx_status_success(t), GBX_OK);
    store_event(t, GBX_STATUS_EVENT_CANCEL, "do_delete_barn_animal_v1");
    gbx_status *c = NULL;
    CHECK_INT(gbx_jobmanager_cancel(&c, jm, gbx_status_id(t)), GBX_OK);
    if (!c) return;
    CHECK_STR(state_of(t), "CANCELLING");
    CHECK_STR(state_of(c), "RUNNING");
    const char *qid = json_string_value(json_object_get(gbx__status_private(t), "compensation"));
    CHECK(qid != NULL);
    if (!qid) return;
    gbx_status *q = fetch(qid);
    /* The compensation is a child of the target. */
    CHECK_STR(gbx_status_parent_uri(q), gbx_status_status_uri(t));
    CHECK_STR(json_string_value(json_array_get(gbx_status_children(t), 0)), gbx_status_status_uri(q));
    CHECK_STR(gbx_status_operation(q), "update");

    worker_completes(qid, 0);
    CHECK_STR(state_of(t), "CANCELLED");
    CHECK_INT(gbx_status_code(t), 0); /* it had completed with code 0 */
    CHECK_STR(state_of(c), "COMPLETED");
    CHECK_INT(gbx_status_code(c), 0);
    gbx_status_free(q);
    gbx_status_free(c);
    gbx_status_free(t);

    /* A failing compensation: the target is cancelled, C fails with its code. */
    t = create(NULL);
    store_event(t, GBX_STATUS_EVENT_CANCEL, "do_delete_barn_animal_v1");
    CHECK_INT(gbx_jobmanager_cancel(&c, jm, gbx_status_id(t)), GBX_OK);
    if (!c) return;
    CHECK_STR(state_of(t), "CANCELLING");
    qid = json_string_value(json_object_get(gbx__status_private(t), "compensation"));
    if (qid) worker_completes(qid, 403);
    CHECK_STR(state_of(t), "CANCELLED");
    CHECK_INT(gbx_status_code(t), 410);
    CHECK_STR(state_of(c), "COMPLETED");
    CHECK_INT(gbx_status_code(c), 403);
    gbx_status_free(c);
    gbx_status_free(t);
}

static void test_children(void) {
    gbx_status *t = create(NULL);
    CHECK_INT(gbx_status_transition(t, GBX_STATE_PENDING, GBX_STATE_RUNNING), GBX_OK);
    gbx_status *a = create(gbx_status_status_uri(t));
    gbx_status *b = create(gbx_status_status_uri(t));
    CHECK_INT(gbx_status_add_child(t, gbx_status_status_uri(a)), GBX_OK);
    CHECK_INT(gbx_status_add_child(t, gbx_status_status_uri(b)), GBX_OK);
    CHECK_INT(gbx_status_transition(b, GBX_STATE_PENDING, GBX_STATE_RUNNING), GBX_OK);
    CHECK_INT(gbx_status_success(b), GBX_OK);
    /* A child that belongs to no store here and no service: a message on C. */
    CHECK_INT(gbx_status_add_child(t, "s-00000000000000000000000000"), GBX_OK);

    gbx_status *c = NULL;
    CHECK_INT(gbx_jobmanager_cancel(&c, jm, gbx_status_id(t)), GBX_OK);
    if (!c) return;
    CHECK_STR(state_of(t), "CANCELLED");
    CHECK_STR(state_of(a), "CANCELLED");
    CHECK_INT(gbx_status_code(a), 410);
    CHECK_STR(state_of(b), "CANCELLED"); /* completed, cancelled all the same */
    CHECK_INT(gbx_status_code(b), 0);
    CHECK_STR(state_of(c), "COMPLETED");
    /* The children's cancel statuses are children of C. */
    CHECK_INT(json_array_size(gbx_status_children(c)), 2);
    gbx_status *ca = fetch(json_string_value(json_array_get(gbx_status_children(c), 0)));
    if (ca) {
        CHECK_STR(gbx_status_operation(ca), "update");
        CHECK_STR(gbx_status_uri(ca), gbx_status_status_uri(a));
        CHECK_STR(gbx_status_parent_uri(ca), gbx_status_status_uri(c));
    }
    CHECK(said(c, "s-00000000000000000000000000 not cancelled"));
    gbx_status_free(ca);
    gbx_status_free(c);
    gbx_status_free(a);
    gbx_status_free(b);
    gbx_status_free(t);
}

static void test_reschedule(void) {
    gbx_status *t = create(NULL);
    gbx_status *out = NULL;
    /* Queued by the gateway straight to gearmand: nothing waits here. */
    CHECK_INT(gbx_jobmanager_reschedule(&out, jm, gbx_status_id(t), gbx__now() + 5), GBX_ERR_CONFLICT);
    CHECK(strstr(gbx_error_last()->message, "no job waiting") != NULL);
    double due = gbx__now() + 3600;
    CHECK_INT(gbx__queue_put(store, "t-later", gbx_status_id(t), "do_put_barn_animal_v1", "{}", due,
                             false), GBX_OK);
    double when = gbx__now() + 1;
    CHECK_INT(gbx_jobmanager_reschedule(&out, jm, gbx_status_id(t), when), GBX_OK);
    if (out) CHECK(gbx_status_ytime(out) > when - 0.01 && gbx_status_ytime(out) < when + 0.01);
    double next = 0;
    CHECK_INT(gbx__queue_next_due(&next, store), GBX_OK);
    CHECK(next > 0 && next < due);
    gbx_status_free(out);
    CHECK_INT(gbx_jobmanager_reschedule(&out, jm, "s-zzzzzzzzzzzzzzzzzzzzzzzzzz", when), GBX_ERR_NOT_FOUND);
    CHECK_INT(gbx_jobmanager_reschedule(&out, jm, gbx_status_id(t), -1), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_jobmanager_cancel(&out, jm, "s-zzzzzzzzzzzzzzzzzzzzzzzzzz"), GBX_ERR_NOT_FOUND);
    gbx_status_free(t);
}

int main(void) {
    char dir[] = "/tmp/gbx-test-cancel-XXXXXX", path[128];
    if (getenv("GBX_TEST_LOG")) {
        gbx_log_set_callback(gbx_log_to_file, stderr);
        gbx_log_set_level(GBX_LOG_DEBUG);
    }
    store = fixture_store(dir, path, sizeof path, false);
    if (!store) return 1;
    /* Nothing listens on port 1: submits fail at once, jobs stay queued. */
    json_t *root = json_pack("{s:s, s:i}", "gearman", "127.0.0.1:1", "submit_timeout", 1);
    gbx_config *cfg = NULL;
    CHECK_INT(gbx_config_from_json(&cfg, root, NULL), GBX_OK);
    json_decref(root);
    CHECK_INT(gbx_jobmanager_new(&jm, cfg, store), GBX_OK);

    test_pending();
    test_running();
    test_running_queued();
    test_cancel_fires_completed();
    test_precancel_veto();
    test_compensation();
    test_children();
    test_reschedule();

    gbx_jobmanager_free(jm);
    gbx_config_free(cfg);
    gbx_store_free(store);
    fixture_remove(dir);
    return check_done();
}
