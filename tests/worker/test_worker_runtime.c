/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* test_worker_runtime.c - the worker runtime against a real gearmand.
 *
 * Starts its own gearmand on a free 127.0.0.1 port (pid and log files in a
 * temporary directory), runs a gbx_worker in a thread with test handlers,
 * submits jobs with a libgearman client (always with a timeout) and checks
 * the sync replies and the status store.  Waits poll with generous bounds;
 * nothing asserts on time.  Stops exactly the gearmand it started, by pid.
 *
 * Orchestration: continuations (afterwards + CONTINUE) through queue
 * tickets, a ticketed job delivered twice running once, STOPPING jobs that
 * never start, retries re-queued by a scheduler thread of the test's own
 * (gbx_jobmanager_run_due, as the gateway runs it) until the attempt cap,
 * job events, and the cancellation of a running job at its checkpoint.
 *
 * Argument: number of extra sync+async round trips for the leak run
 * (default 50; the valgrind variant of this test uses it too).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <libgearman/gearman.h>

#include "../unit/check.h"
#include "../unit/gearmand.h"
#include "gearbox/gearbox.h"
#include "store/queue_internal.h"

#define WAIT_LIMIT_S 30.0

static char tmpdir[] = "/tmp/gbx-worker-test-XXXXXX";
static char config_path[512], db_path[512];
static int gearmand_port;
static pid_t gearmand_pid = -1;
static gbx_store *store;   /* the test's own connection to the store */
static gbx_worker *worker;
static gearman_client_st *client;

static atomic_int handler_calls, pre_calls, post_calls;
static atomic_int next_calls, event_calls;
static gbx_config *test_cfg;     /* the test's own job manager (scheduler, cancel) */
static gbx_jobmanager *test_jm;

/* ---- helpers ----------------------------------------------------------- */

static void start_gearmand(void) {
    gearmand_pid = gearmand_start(gearmand_bin(), gearmand_port, tmpdir, WAIT_LIMIT_S);
    if (gearmand_pid < 0) exit(2);
}

static void stop_gearmand(void) { gearmand_stop(&gearmand_pid, WAIT_LIMIT_S); }

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

/* An envelope as the gateway builds it.  Caller frees the text. */
static char *envelope(const char *handler, const char *job_type, const char *operation,
                      const char *arg, const char *status_id, const char *content) {
    gbx_envelope *env = NULL;
    CHECK_INT(gbx_envelope_new(&env), GBX_OK);
    gbx_envelope_set(env, "name", handler);
    gbx_envelope_set(env, "job_type", job_type);
    gbx_envelope_set(env, "operation", operation);
    gbx_envelope_set(env, "component", "test");
    gbx_envelope_set(env, "resource.type", "thing");
    if (arg) {
        gbx_envelope_set(env, "resource.name", arg);
        json_t *args = json_pack("[s]", arg);
        gbx_envelope_set_json(env, "arguments", args);
        json_decref(args);
    }
    gbx_envelope_set(env, "base_uri", "http://127.0.0.1:4080/test/v1");
    if (status_id) gbx_envelope_set(env, "status", status_id);
    if (content) gbx_envelope_set_content(env, content, strlen(content));
    char *text = NULL;
    CHECK_INT(gbx_envelope_serialize(&text, env), GBX_OK);
    gbx_envelope_free(env);
    return text;
}

/* A PENDING status that keeps `env`, as the gateway creates it. */
static gbx_status *new_status(const char *operation, const char *arg) {
    gbx_status *st = NULL;
    char uri[256];
    snprintf(uri, sizeof uri, "http://127.0.0.1:4080/test/v1/thing/%s", arg ? arg : "");
    gbx_status_spec spec = {.operation = operation, .component = "test", .uri = uri,
                            .status_base = "http://127.0.0.1:4080/test/v1/status", .scope = "/test"};
    CHECK_INT(gbx_status_create(&st, store, &spec), GBX_OK);
    return st;
}

/* Submits a background job; the reply of an async job is not read. */
static void submit_background(const char *function, const char *workload) {
    char handle[GEARMAN_JOB_HANDLE_SIZE];
    gearman_return_t rc = gearman_client_do_background(client, function, NULL, workload,
                                                       strlen(workload), handle);
    if (gearman_failed(rc)) fprintf(stderr, "do_background: %s\n", gearman_client_error(client));
    CHECK_INT(rc, GEARMAN_SUCCESS);
}

/* Submits a sync job and parses the reply (NULL on failure). */
static gbx_response *submit_sync(const char *function, const char *workload) {
    size_t size = 0;
    gearman_return_t rc = GEARMAN_SUCCESS;
    void *result = gearman_client_do(client, function, NULL, workload, strlen(workload), &size, &rc);
    if (gearman_failed(rc)) fprintf(stderr, "do %s: %s\n", function, gearman_client_error(client));
    CHECK_INT(rc, GEARMAN_SUCCESS);
    gbx_response *resp = NULL;
    if (result && gbx_response_parse(&resp, result, size) != GBX_OK) {
        fprintf(stderr, "bad reply: %.*s (%s)\n", (int)size, (char *)result, gbx_error_last()->message);
        resp = NULL;
    }
    free(result);
    CHECK(resp != NULL);
    return resp;
}

/* Re-reads the status until it has completed (progress 100) and nobody
 * works on it any more.  Returns whether that happened within the bound. */
static bool wait_completed(gbx_status *st) {
    double until = mono_s() + WAIT_LIMIT_S;
    for (;;) {
        CHECK_INT(gbx_status_refresh(st), GBX_OK);
        if (gbx_status_has_completed(st) && gbx_status_concurrency(st) == 0) return true;
        if (mono_s() > until) {
            fprintf(stderr, "status %s did not complete: state %s\n", gbx_status_id(st),
                    gbx_state_name(gbx_status_state(st)));
            return false;
        }
        pause_ms(20);
    }
}

static bool has_message(gbx_status *st, const char *message) {
    json_t *messages = gbx_status_messages(st);
    size_t i;
    json_t *m;
    json_array_foreach(messages, i, m) if (strcmp(json_string_value(m), message) == 0) return true;
    return false;
}

/* Waits until the worker has taken `count` jobs in all. */
static bool wait_requests(unsigned long count) {
    double until = mono_s() + WAIT_LIMIT_S;
    while (gbx_worker_request_count(worker) < count) {
        if (mono_s() > until) return false;
        pause_ms(20);
    }
    return true;
}

/* ---- handlers ---------------------------------------------------------- */

static void pre_hook(gbx_job *job, void *user) {
    (void)job;
    (void)user;
    atomic_fetch_add(&pre_calls, 1);
}

static void post_hook(gbx_job *job, void *user) {
    (void)job;
    (void)user;
    atomic_fetch_add(&post_calls, 1);
}

/* Sync: answers {"thing": arg, "uri": resource uri}; "missing" -> 404. */
static gbx_worker_result do_get(gbx_job *job, gbx_response *resp, void *user) {
    (void)user;
    atomic_fetch_add(&handler_calls, 1);
    const char *name = json_string_value(json_array_get(gbx_job_arguments(job), 0));
    if (name && strcmp(name, "missing") == 0) {
        gbx_error_set(GBX_ERR_NOT_FOUND, "thing \"%s\" not found", name);
        return GBX_WORKER_ERROR;
    }
    if (name && strcmp(name, "afterwards") == 0) { /* work after the answer, never a wait */
        if (gbx_worker_afterwards(worker, job, "do_put_test_last_v1", 0) != GBX_OK) return GBX_WORKER_ERROR;
        gbx_response_set_content(resp, "answered", 8);
        return GBX_WORKER_SUCCESS;
    }
    if (name && strcmp(name, "status") == 0) { /* a throw-away status, never stored */
        gbx_status *st = gbx_response_status(resp);
        if (!st || gbx_job_status(job) ||
            gbx_status_add_message(st, "halfway") != GBX_OK ||
            gbx_status_set_progress(st, 50) != GBX_OK ||
            gbx_status_set_meta_new(st, "sheep", json_integer(3)) != GBX_OK ||
            gbx_status_success(st) != GBX_OK)
            return GBX_WORKER_ERROR;
        json_t *snapshot = NULL;
        if (gbx_status_to_json(&snapshot, st) != GBX_OK) return GBX_WORKER_ERROR;
        json_object_set_new(snapshot, "id", json_string(gbx_status_id(st)));
        json_object_set_new(snapshot, "local", json_boolean(gbx_status_is_local(st)));
        char *text = json_dumps(snapshot, JSON_COMPACT);
        gbx_response_set_content(resp, text, strlen(text));
        free(text);
        json_decref(snapshot);
        return GBX_WORKER_SUCCESS;
    }
    if (name && strcmp(name, "teapot") == 0) { /* any code reaches the caller as is */
        gbx_response_set_code(resp, 418);
        gbx_response_set_content(resp, "short and stout", 15);
        return GBX_WORKER_SUCCESS;
    }
    json_t *body = json_pack("{s:s?,s:s?,s:s?}", "thing", name, "uri", gbx_job_resource_uri(job),
                             "version", gbx_job_api_version(job));
    char *text = json_dumps(body, JSON_COMPACT);
    gbx_response_set_content(resp, text, strlen(text));
    gbx_response_add_header(resp, "X-Thing", name ? name : "-");
    free(text);
    json_decref(body);
    return GBX_WORKER_SUCCESS;
}

/* Async: behaviour chosen by the argument. */
static gbx_worker_result do_put(gbx_job *job, gbx_response *resp, void *user) {
    (void)resp;
    (void)user;
    atomic_fetch_add(&handler_calls, 1);
    gbx_status *st = gbx_job_status(job);
    const char *name = json_string_value(json_array_get(gbx_job_arguments(job), 0));
    if (!st || !name) {
        gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "async handler without status or name");
        return GBX_WORKER_ERROR;
    }
    char msg[256];
    snprintf(msg, sizeof msg, "thing \"%s\" running (concurrency %d)", name,
             gbx_status_concurrency(st));
    gbx_status_add_message(st, msg);

    if (strcmp(name, "missing") == 0) {
        gbx_error_set(GBX_ERR_NOT_FOUND, "thing \"%s\" not found", name);
        return GBX_WORKER_ERROR;
    }
    if (strcmp(name, "silent") == 0) return GBX_WORKER_ERROR; /* no error set */
    if (strcmp(name, "later") == 0) {
        gbx_status_set_progress(st, 40);
        return GBX_WORKER_CONTINUE;
    }
    if (strcmp(name, "again") == 0) return GBX_WORKER_RETRY;
    if (strcmp(name, "chain") == 0) { /* step 1 of 3, sharing one status */
        gbx_status_add_message(st, "step 1");
        if (gbx_worker_afterwards(worker, job, "do_put_test_next_v1", 0) != GBX_OK) return GBX_WORKER_ERROR;
        return GBX_WORKER_CONTINUE;
    }
    if (strcmp(name, "slow") == 0) { /* runs until cancelled (bounded) */
        gbx_status_add_message(st, "slow running");
        double until = mono_s() + WAIT_LIMIT_S;
        while (mono_s() < until) {
            if (gbx_status_checkpoint(st) != GBX_OK) return GBX_WORKER_ERROR; /* 410 */
            pause_ms(20);
        }
        return GBX_WORKER_SUCCESS;
    }
    if (strcmp(name, "outlast") == 0) { /* runs 2.5 s: longer than the 1 s lease */
        pause_ms(2500);
        return GBX_WORKER_SUCCESS;
    }
    if (strcmp(name, "self") == 0) { /* completes the status itself */
        gbx_status_fail(st, 409, "CONFLICT [409]: handled by the handler");
        return GBX_WORKER_SUCCESS;
    }
    if (strcmp(name, "validate") == 0) {
        json_t *body = NULL;
        if (gbx_job_json_content(&body, job) != GBX_OK) return GBX_WORKER_ERROR;
        snprintf(msg, sizeof msg, "legs %lld", json_integer_value(json_object_get(body, "legs")));
        json_decref(body);
        gbx_status_add_message(st, msg);
    }
    snprintf(msg, sizeof msg, "thing \"%s\" created", name);
    gbx_status_add_message(st, msg);
    return GBX_WORKER_SUCCESS;
}

/* Step 2 ("chain": queues step 3) or a ticketed job run twice ("twice"). */
static gbx_worker_result do_next(gbx_job *job, gbx_response *resp, void *user) {
    (void)resp;
    (void)user;
    atomic_fetch_add(&next_calls, 1);
    gbx_status *st = gbx_job_status(job);
    if (!st) return GBX_WORKER_SUCCESS; /* a sync barrier */
    const char *name = json_string_value(json_array_get(gbx_job_arguments(job), 0));
    gbx_status_add_message(st, "step 2");
    if (name && strcmp(name, "chain") == 0) {
        if (gbx_worker_afterwards(worker, job, "do_put_test_last_v1", 0) != GBX_OK) return GBX_WORKER_ERROR;
        return GBX_WORKER_CONTINUE;
    }
    return GBX_WORKER_SUCCESS;
}

/* Step 3: completes the shared status. */
static gbx_worker_result do_last(gbx_job *job, gbx_response *resp, void *user) {
    (void)resp;
    (void)user;
    gbx_status_add_message(gbx_job_status(job), "step 3");
    return GBX_WORKER_SUCCESS;
}

/* An event job: says whose event it got. */
static gbx_worker_result do_event(gbx_job *job, gbx_response *resp, void *user) {
    (void)resp;
    (void)user;
    atomic_fetch_add(&event_calls, 1);
    char msg[600];
    snprintf(msg, sizeof msg, "event for %s", gbx_job_event_status(job) ? gbx_job_event_status(job) : "-");
    gbx_status_add_message(gbx_job_status(job), msg);
    return GBX_WORKER_SUCCESS;
}

/* ---- the scheduler thread (as the gateway's) ------------------------------ */

static atomic_int scheduler_stop, scheduler_paused;

static void *run_scheduler(void *arg) {
    (void)arg;
    while (!atomic_load(&scheduler_stop)) {
        if (!atomic_load(&scheduler_paused) && gbx_jobmanager_run_due(NULL, NULL, test_jm) != GBX_OK)
            fprintf(stderr, "run_due: %s\n", gbx_error_last()->message);
        pause_ms(50);
    }
    return NULL;
}

/* ---- the worker thread ------------------------------------------------- */

static atomic_int run_returned;
static gbx_err run_result;

static void *run_worker(void *arg) {
    (void)arg;
    run_result = gbx_worker_run(worker);
    atomic_store(&run_returned, 1);
    return NULL;
}

static bool wait_run_returned(void) {
    double until = mono_s() + WAIT_LIMIT_S;
    while (!atomic_load(&run_returned)) {
        if (mono_s() > until) return false;
        pause_ms(20);
    }
    return true;
}

/* ---- tests ------------------------------------------------------------- */

static void test_sync(void) {
    char *w = envelope("do_get_test_thing_v1", "sync", "get", "Wilbur", NULL, NULL);
    gbx_response *resp = submit_sync("do_get_test_thing_v1", w);
    free(w);
    if (resp) {
        CHECK_INT(gbx_response_code(resp), 0); /* the gateway maps 0 to 200 */
        size_t len = 0;
        const char *content = gbx_response_content(resp, &len);
        json_t *body = json_loadb(content, len, 0, NULL);
        CHECK_STR(json_string_value(json_object_get(body, "thing")), "Wilbur");
        CHECK_STR(json_string_value(json_object_get(body, "uri")),
                  "http://127.0.0.1:4080/test/v1/thing/Wilbur");
        CHECK_STR(json_string_value(json_object_get(body, "version")), "v1");
        CHECK_STR(json_string_value(json_object_get(gbx_response_headers(resp), "X-Thing")), "Wilbur");
        json_decref(body);
    }
    gbx_response_free(resp);

    w = envelope("do_get_test_thing_v1", "sync", "get", "teapot", NULL, NULL);
    resp = submit_sync("do_get_test_thing_v1", w);
    free(w);
    if (resp) {
        CHECK_INT(gbx_response_code(resp), 418);
        CHECK_STR(gbx_response_content(resp, NULL), "short and stout");
    }
    gbx_response_free(resp);
}

/* Statuses in the store (the newest GBX_STATUS_LIST_MAX). */
static size_t stored_statuses(void) {
    gbx_status_filter f;
    gbx_status_filter_init(&f);
    f.count = GBX_STATUS_LIST_MAX;
    json_t *ids = NULL;
    CHECK_INT(gbx_status_list(&ids, store, &f), GBX_OK);
    size_t n = json_array_size(ids);
    json_decref(ids);
    return n;
}

/* A sync handler's resp.status() is a usable throw-away status (Gearbox's
 * "st-"): messages, progress, meta and success work on it, the answer is
 * 200, and nothing reaches the store. */
static void test_sync_status(void) {
    size_t before = stored_statuses();
    char *w = envelope("do_get_test_thing_v1", "sync", "get", "status", NULL, NULL);
    gbx_response *resp = submit_sync("do_get_test_thing_v1", w);
    free(w);
    CHECK(resp != NULL);
    if (resp) {
        CHECK_INT(gbx_response_code(resp), 0);
        json_t *st = json_loads(gbx_response_content(resp, NULL), 0, NULL);
        const char *id = json_string_value(json_object_get(st, "id"));
        CHECK(id && strncmp(id, "st-", 3) == 0);
        CHECK(json_is_true(json_object_get(st, "local")));
        CHECK_STR(json_string_value(json_object_get(st, "state")), "COMPLETED");
        CHECK_INT((int)json_integer_value(json_object_get(st, "progress")), 100);
        CHECK_STR(json_string_value(json_array_get(json_object_get(st, "messages"), 0)),
                  "halfway");
        CHECK_INT((int)json_integer_value(json_object_get(json_object_get(st, "meta"), "sheep")),
                  3);
        CHECK_STR(json_string_value(json_object_get(st, "operation")), "get");
        CHECK(json_is_null(json_object_get(st, "status_uri")));
        if (id) {
            gbx_status *found = NULL;
            CHECK_INT(gbx_status_fetch(&found, store, id), GBX_ERR_NOT_FOUND);
            gbx_status_free(found);
        }
        json_decref(st);
    }
    gbx_response_free(resp);
    CHECK_INT((int)stored_statuses(), (int)before);
}

/* A sync handler's afterwards job runs async, with a status of its own,
 * after the answer. */
static void test_sync_afterwards(void) {
    char *w = envelope("do_get_test_thing_v1", "sync", "get", "afterwards", NULL, NULL);
    gbx_response *resp = submit_sync("do_get_test_thing_v1", w);
    free(w);
    if (resp) CHECK_STR(gbx_response_content(resp, NULL), "answered");
    gbx_response_free(resp);
    gbx_status_filter filter;
    gbx_status_filter_init(&filter);
    filter.uri = "thing/afterwards";
    json_t *ids = NULL;
    gbx_status *st = NULL;
    double until = mono_s() + WAIT_LIMIT_S;
    while (!st && mono_s() < until) {
        CHECK_INT(gbx_status_list(&ids, store, &filter), GBX_OK);
        if (json_array_size(ids) > 0)
            CHECK_INT(gbx_status_fetch(&st, store, json_string_value(json_array_get(ids, 0))), GBX_OK);
        json_decref(ids);
        if (!st) pause_ms(20);
    }
    CHECK(st != NULL);
    if (!st) return;
    while (!gbx_status_has_completed(st) && mono_s() < until) {
        pause_ms(20);
        CHECK_INT(gbx_status_refresh(st), GBX_OK);
    }
    CHECK_INT(gbx_status_code(st), 0);
    CHECK_STR(json_string_value(json_array_get(gbx_status_messages(st), 0)), "step 3");
    gbx_status_free(st);
}

static void test_sync_error(void) {
    char *w = envelope("do_get_test_thing_v1", "sync", "get", "missing", NULL, NULL);
    gbx_response *resp = submit_sync("do_get_test_thing_v1", w);
    free(w);
    if (!resp) return;
    CHECK_INT(gbx_response_code(resp), 404);
    CHECK_STR(json_string_value(json_object_get(gbx_response_headers(resp), "Content-Type")),
              "application/json");
    size_t len = 0;
    const char *content = gbx_response_content(resp, &len);
    json_t *body = json_loadb(content, len, 0, NULL);
    CHECK(json_is_object(body));
    CHECK_STR(json_string_value(json_object_get(body, "uri")),
              "http://127.0.0.1:4080/test/v1/thing/missing");
    CHECK_STR(json_string_value(json_object_get(body, "state")), "COMPLETED");
    CHECK_STR(json_string_value(json_object_get(body, "operation")), "get");
    CHECK_INT(json_integer_value(json_object_get(body, "progress")), 100);
    CHECK_INT(json_integer_value(json_object_get(body, "code")), 404);
    CHECK_STR(json_string_value(json_array_get(json_object_get(body, "messages"), 0)),
              "NOT_FOUND [404]: thing \"missing\" not found");
    json_decref(body);
    gbx_response_free(resp);
}

/* Runs one async job through a fresh status; the caller frees it. */
static gbx_status *run_async(const char *arg, const char *content) {
    gbx_status *st = new_status("create", arg);
    if (!st) return NULL;
    char *w = envelope("do_put_test_thing_v1", "async", "create", arg, gbx_status_id(st), content);
    submit_background("do_put_test_thing_v1", w);
    free(w);
    CHECK(wait_completed(st));
    return st;
}

static void test_async(void) {
    int pre = atomic_load(&pre_calls), post = atomic_load(&post_calls);
    gbx_status *st = run_async("Wilbur", NULL);
    if (!st) return;
    CHECK_STR(gbx_state_name(gbx_status_state(st)), "COMPLETED");
    CHECK_INT(gbx_status_code(st), 0);
    CHECK_INT(gbx_status_progress_value(st), 100);
    CHECK_INT(gbx_status_concurrency(st), 0);
    CHECK(has_message(st, "thing \"Wilbur\" running (concurrency 1)"));
    CHECK(has_message(st, "thing \"Wilbur\" created"));
    CHECK_INT(atomic_load(&pre_calls), pre + 1);
    CHECK_INT(atomic_load(&post_calls), post + 1);
    gbx_status_free(st);
}

/* A job accepted as the gateway does (status and queue row in one write)
 * whose handler runs longer than the lease (1 s here): the worker renews
 * the lease, so the scheduler running beside never takes it for dead, and
 * the job runs once; its row is gone when it is done. */
static void test_lease_renewed(void) {
    char sid[GBX_ID_MAX];
    CHECK_INT(gbx_id_generate(sid, sizeof sid, "s"), GBX_OK);
    char *w = envelope("do_put_test_thing_v1", "async", "create", "outlast", sid, NULL);
    gbx_envelope *env = NULL;
    char *text = NULL;
    CHECK_INT(gbx_envelope_parse(&env, w, strlen(w)), GBX_OK);
    CHECK_INT(gbx_envelope_set(env, "ticket", sid), GBX_OK);
    CHECK_INT(gbx_envelope_serialize(&text, env), GBX_OK);
    gbx_status_spec spec = {.id = sid, .operation = "create", .component = "test", .envelope = text};
    gbx_status *st = NULL;
    CHECK_INT(gbx_jobmanager_accept(&st, test_jm, "do_put_test_thing_v1", &spec), GBX_OK);
    if (st) {
        CHECK(wait_completed(st));
        CHECK_INT(gbx_status_code(st), 0);
        CHECK_INT(gbx_status_failures(st), 0);
        int runs = 0;
        json_t *m;
        size_t i;
        json_array_foreach(gbx_status_messages(st), i, m)
            if (strstr(json_string_value(m), "\"outlast\" running")) runs++;
        CHECK_INT(runs, 1);
        bool taken = true;
        CHECK_INT(gbx__queue_take(&taken, store, sid, 30, true), GBX_OK);
        CHECK(!taken); /* the row went with the job */
    }
    gbx_status_free(st);
    gbx_envelope_free(env);
    free(text);
    free(w);
}

static void test_async_errors(void) {
    gbx_status *st = run_async("missing", NULL);
    if (st) {
        CHECK_INT(gbx_status_code(st), 404);
        CHECK_INT(gbx_status_concurrency(st), 0);
        CHECK(has_message(st, "NOT_FOUND [404]: thing \"missing\" not found"));
        gbx_status_free(st);
    }
    st = run_async("silent", NULL);
    if (st) {
        CHECK_INT(gbx_status_code(st), 500);
        CHECK(has_message(st, "INTERNAL_SERVER_ERROR [500]: handler failed without an error"));
        gbx_status_free(st);
    }
    /* RETRY: re-queued after 1 s, 1 s (the scheduler submits it), then the
     * attempt cap of the config (3) fails it. */
    double t0 = mono_s();
    st = run_async("again", NULL);
    if (st) {
        CHECK(mono_s() - t0 >= 1.5);
        CHECK_INT(gbx_status_code(st), 500);
        CHECK_INT(gbx_status_failures(st), 3);
        size_t runs = 0, i;
        json_t *m;
        json_array_foreach(gbx_status_messages(st), i, m)
            if (strncmp(json_string_value(m), "thing \"again\" running", 21) == 0) runs++;
        CHECK_INT(runs, 3);
        json_t *last = json_array_get(gbx_status_messages(st), json_array_size(gbx_status_messages(st)) - 1);
        CHECK(last && strstr(json_string_value(last), "gave up after 3 attempts") != NULL);
        gbx_status_free(st);
    }
    /* A handler that completed the status itself keeps its result. */
    st = run_async("self", NULL);
    if (st) {
        CHECK_INT(gbx_status_code(st), 409);
        CHECK_INT(json_array_size(gbx_status_messages(st)), 2);
        gbx_status_free(st);
    }
    /* json_content validates against schemadir (legacy dialect, default filled). */
    st = run_async("validate", "{\"name\": \"x\"}");
    if (st) {
        CHECK_INT(gbx_status_code(st), 0);
        CHECK(has_message(st, "legs 4"));
        gbx_status_free(st);
    }
    st = run_async("validate", "{\"name\": \"x\", \"color\": \"pink\"}");
    if (st) {
        CHECK_INT(gbx_status_code(st), 400);
        json_t *last = json_array_get(gbx_status_messages(st), json_array_size(gbx_status_messages(st)) - 1);
        const char *text = last ? json_string_value(last) : "";
        CHECK(strncmp(text, "BAD_REQUEST [400]: ", 19) == 0 && strstr(text, "color") != NULL);
        gbx_status_free(st);
    }
}

static void test_continue(void) {
    gbx_status *st = new_status("create", "later");
    if (!st) return;
    char *w = envelope("do_put_test_thing_v1", "async", "create", "later", gbx_status_id(st), NULL);
    submit_background("do_put_test_thing_v1", w);
    free(w);
    /* The handler's message appears while it runs (concurrency 1); once
     * concurrency is back to 0 the runtime is done with the job. */
    double until = mono_s() + WAIT_LIMIT_S;
    bool finished = false;
    while (!finished && mono_s() < until) {
        CHECK_INT(gbx_status_refresh(st), GBX_OK);
        finished = has_message(st, "thing \"later\" running (concurrency 1)") &&
                   gbx_status_concurrency(st) == 0;
        if (!finished) pause_ms(20);
    }
    CHECK(finished);
    CHECK_STR(gbx_state_name(gbx_status_state(st)), "RUNNING");
    CHECK_INT(gbx_status_progress_value(st), 40);
    CHECK(!gbx_status_has_completed(st));
    gbx_status_free(st);
}

static void barrier(void);

/* Three handlers share one status through afterwards + CONTINUE. */
static void test_continuation_chain(void) {
    int before = atomic_load(&next_calls);
    gbx_status *st = run_async("chain", NULL);
    if (!st) return;
    CHECK_INT(gbx_status_code(st), 0);
    json_t *messages = gbx_status_messages(st);
    CHECK_INT(json_array_size(messages), 4);
    CHECK_STR(json_string_value(json_array_get(messages, 1)), "step 1");
    CHECK_STR(json_string_value(json_array_get(messages, 2)), "step 2");
    CHECK_STR(json_string_value(json_array_get(messages, 3)), "step 3");
    CHECK_INT(atomic_load(&next_calls), before + 1);
    CHECK_INT(json_array_size(gbx_status_children(st)), 0); /* continuations are no children */
    gbx_status_free(st);
}

/* A ticketed job that gearmand delivers twice runs once. */
static void test_ticket_once(void) {
    int before = atomic_load(&next_calls);
    gbx_status *st = new_status("create", "twice");
    if (!st) return;
    CHECK_INT(gbx_status_transition(st, GBX_STATE_PENDING, GBX_STATE_RUNNING), GBX_OK);
    gbx_envelope *env = NULL;
    char *w = envelope("do_put_test_next_v1", "async", "create", "twice", gbx_status_id(st), NULL);
    CHECK_INT(gbx_envelope_parse(&env, w, strlen(w)), GBX_OK);
    free(w);
    gbx_envelope_set(env, "ticket", "t-twice");
    CHECK_INT(gbx_envelope_serialize(&w, env), GBX_OK);
    gbx_envelope_free(env);
    CHECK_INT(gbx__queue_put(store, "t-twice", gbx_status_id(st), "do_put_test_next_v1", w,
                             gbx_status_ctime(st), true), GBX_OK);
    submit_background("do_put_test_next_v1", w);
    submit_background("do_put_test_next_v1", w);
    free(w);
    CHECK(wait_completed(st));
    /* Both deliveries have been taken once the queue behind them is served. */
    char *b = envelope("do_put_test_next_v1", "sync", "get", "barrier", NULL, NULL);
    gbx_response_free(submit_sync("do_put_test_next_v1", b));
    free(b);
    CHECK_INT(atomic_load(&next_calls), before + 2); /* the ticketed job once, the barrier */
    CHECK_INT(gbx_status_refresh(st), GBX_OK);
    CHECK_INT(gbx_status_code(st), 0);
    CHECK_INT(json_array_size(gbx_status_messages(st)), 1);
    /* An unticketed job on a RUNNING status is not run either. */
    gbx_status *running = new_status("create", "running");
    if (running) {
        CHECK_INT(gbx_status_transition(running, GBX_STATE_PENDING, GBX_STATE_RUNNING), GBX_OK);
        w = envelope("do_put_test_next_v1", "async", "create", "x", gbx_status_id(running), NULL);
        submit_background("do_put_test_next_v1", w);
        free(w);
        b = envelope("do_put_test_next_v1", "sync", "get", "barrier", NULL, NULL);
        gbx_response_free(submit_sync("do_put_test_next_v1", b));
        free(b);
        CHECK_INT(atomic_load(&next_calls), before + 3); /* only the second barrier */
        CHECK_INT(gbx_status_refresh(running), GBX_OK);
        CHECK_STR(gbx_state_name(gbx_status_state(running)), "RUNNING");
        gbx_status_free(running);
    }
    gbx_status_free(st);
}

/* A status being cancelled (STOPPING) never starts its job; the worker
 * moves it on to STOPPED. */
static void test_stopping_never_starts(void) {
    int calls = atomic_load(&handler_calls);
    gbx_status *st = new_status("create", "stopping");
    if (!st) return;
    CHECK_INT(gbx_status_set_state(st, GBX_STATE_STOPPING), GBX_OK);
    char *w = envelope("do_put_test_thing_v1", "async", "create", "stopping", gbx_status_id(st), NULL);
    submit_background("do_put_test_thing_v1", w);
    free(w);
    double until = mono_s() + WAIT_LIMIT_S;
    while (gbx_status_state(st) != GBX_STATE_STOPPED && mono_s() < until) {
        pause_ms(20);
        CHECK_INT(gbx_status_refresh(st), GBX_OK);
    }
    CHECK_STR(gbx_state_name(gbx_status_state(st)), "STOPPED");
    CHECK_INT(atomic_load(&handler_calls), calls);
    CHECK_INT(json_array_size(gbx_status_messages(st)), 0);
    gbx_status_free(st);
}

/* An envelope of `handler` for `arg` (status `status_id`) whose `events`
 * each run `event` (an envelope; NULL: do_put_test_event_v1 with a status
 * of its own); caller frees. */
static char *envelope_on(const char *handler, const char *arg, const char *status_id,
                         const gbx_job_event *events, size_t n, const char *event) {
    char *w = envelope(handler, "async", "create", arg, status_id, NULL);
    char *e = event ? NULL : envelope("do_put_test_event_v1", "async", "create", "event", NULL, NULL);
    if (!event) event = e;
    gbx_envelope *env = NULL, *eenv = NULL;
    gbx_job *job = NULL, *ejob = NULL;
    CHECK_INT(gbx_envelope_parse(&env, w, strlen(w)), GBX_OK);
    CHECK_INT(gbx_envelope_parse(&eenv, event, strlen(event)), GBX_OK);
    CHECK_INT(gbx_job_new(&job, env), GBX_OK);
    CHECK_INT(gbx_job_new(&ejob, eenv), GBX_OK);
    for (size_t i = 0; i < n; i++) CHECK_INT(gbx_job_on(job, events[i], ejob), GBX_OK);
    free(w);
    CHECK_INT(gbx_envelope_serialize(&w, gbx_job_envelope(job)), GBX_OK);
    gbx_job_free(job);
    gbx_job_free(ejob);
    gbx_envelope_free(env);
    gbx_envelope_free(eenv);
    free(e);
    return w;
}

static char *envelope_with_events(const char *handler, const char *arg, const char *status_id,
                                  const gbx_job_event *events, size_t n) {
    return envelope_on(handler, arg, status_id, events, n, NULL);
}

/* Waits until `st` has `n` children and the first n have completed;
 * returns the first child's status (caller frees) or NULL. */
static gbx_status *wait_children(gbx_status *st, size_t n) {
    double until = mono_s() + WAIT_LIMIT_S;
    while (mono_s() < until) {
        CHECK_INT(gbx_status_refresh(st), GBX_OK);
        if (json_array_size(gbx_status_children(st)) >= n) break;
        pause_ms(20);
    }
    if (json_array_size(gbx_status_children(st)) < n) {
        fprintf(stderr, "status %s: %zu children, expected %zu\n", gbx_status_id(st),
                json_array_size(gbx_status_children(st)), n);
        return NULL;
    }
    gbx_status *first = NULL;
    for (size_t i = 0; i < n; i++) {
        gbx_status *child = NULL;
        CHECK_INT(gbx_status_fetch(&child, store, json_string_value(json_array_get(gbx_status_children(st), i))), GBX_OK);
        if (!child) return first;
        CHECK(wait_completed(child));
        if (i == 0) first = child;
        else gbx_status_free(child);
    }
    return first;
}

/* Job events: COMPLETED fires, FAILED does not (the job succeeds); the
 * event job is a child of the status and gets it as event_status. */
static void test_events(void) {
    gbx_status *st = new_status("create", "Wilbur");
    if (!st) return;
    gbx_job_event events[] = {GBX_EVENT_COMPLETED, GBX_EVENT_FAILED, GBX_EVENT_STARTED};
    char *w = envelope_with_events("do_put_test_thing_v1", "Wilbur", gbx_status_id(st), events, 3);
    submit_background("do_put_test_thing_v1", w);
    free(w);
    CHECK(wait_completed(st));
    CHECK_INT(gbx_status_code(st), 0);
    gbx_status *child = wait_children(st, 2); /* STARTED, COMPLETED */
    if (child) {
        char expected[600];
        snprintf(expected, sizeof expected, "event for %s", gbx_status_status_uri(st));
        CHECK(has_message(child, expected));
        CHECK_STR(gbx_status_parent_uri(child), gbx_status_status_uri(st));
        CHECK_INT(gbx_status_code(child), 0);
    }
    gbx_status_free(child);
    barrier();
    CHECK_INT(gbx_status_refresh(st), GBX_OK);
    CHECK_INT(json_array_size(gbx_status_children(st)), 2); /* no FAILED event */
    gbx_status_free(st);
}

/* Cancelling a running job: it stops at its checkpoint (410), its STOPPED
 * event fires and then COMPLETED and FAILED (as Gearbox's worker fired them
 * for a STOPPED status), it ends CANCELLED and the cancel status succeeds. */
static void test_cancel_running(void) {
    gbx_status *st = new_status("create", "slow");
    if (!st) return;
    gbx_job_event events[] = {GBX_EVENT_STOPPED, GBX_EVENT_COMPLETED, GBX_EVENT_FAILED};
    char *w = envelope_with_events("do_put_test_thing_v1", "slow", gbx_status_id(st), events, 3);
    CHECK_INT(gbx_status_set_envelope(st, w), GBX_OK);
    submit_background("do_put_test_thing_v1", w);
    free(w);
    double until = mono_s() + WAIT_LIMIT_S;
    while (!has_message(st, "slow running") && mono_s() < until) {
        pause_ms(20);
        CHECK_INT(gbx_status_refresh(st), GBX_OK);
    }
    gbx_status *c = NULL;
    CHECK_INT(gbx_jobmanager_cancel(&c, test_jm, gbx_status_id(st)), GBX_OK);
    if (!c) return;
    CHECK(wait_completed(c));
    CHECK_INT(gbx_status_code(c), 0);
    CHECK_INT(gbx_status_refresh(st), GBX_OK);
    CHECK_STR(gbx_state_name(gbx_status_state(st)), "CANCELLED");
    CHECK_INT(gbx_status_code(st), 410);
    CHECK_INT(gbx_status_concurrency(st), 0);
    gbx_status *child = wait_children(st, 3); /* STOPPED, COMPLETED, FAILED */
    if (child) {
        char expected[600];
        snprintf(expected, sizeof expected, "event for %s", gbx_status_status_uri(st));
        CHECK(has_message(child, expected));
    }
    gbx_status_free(child);
    barrier();
    CHECK_INT(gbx_status_refresh(st), GBX_OK);
    CHECK_INT(json_array_size(gbx_status_children(st)), 3);
    gbx_status_free(c);
    gbx_status_free(st);
}

/* A parent waits for its child's COMPLETED event (a continuation of the
 * parent's status, no worker held); the child retries and is cancelled
 * while its next attempt waits in the queue.  The cancellation fires the
 * child's COMPLETED event, so the parent goes on and completes (before,
 * it stayed RUNNING forever).  The scheduler is paused meanwhile, so the
 * retry cannot run (or give up) before the cancel. */
static void test_cancel_retrying_child(void) {
    gbx_status *parent = new_status("create", "parent");
    gbx_status *st = new_status("create", "again");
    if (!parent || !st) return;
    CHECK_INT(gbx_status_transition(parent, GBX_STATE_PENDING, GBX_STATE_RUNNING), GBX_OK);
    atomic_store(&scheduler_paused, 1);
    char *p = envelope("do_put_test_last_v1", "async", "create", "parent", gbx_status_id(parent), NULL);
    gbx_job_event completed = GBX_EVENT_COMPLETED;
    char *w = envelope_on("do_put_test_thing_v1", "again", gbx_status_id(st), &completed, 1, p);
    CHECK_INT(gbx_status_set_envelope(st, w), GBX_OK);
    submit_background("do_put_test_thing_v1", w);
    /* Its first attempt asks for a retry: the next one waits in the queue. */
    double until = mono_s() + WAIT_LIMIT_S;
    while (!(gbx_status_failures(st) == 1 && gbx_status_concurrency(st) == 0) && mono_s() < until) {
        pause_ms(20);
        CHECK_INT(gbx_status_refresh(st), GBX_OK);
    }
    CHECK_INT(gbx_status_failures(st), 1);
    CHECK_STR(gbx_state_name(gbx_status_state(st)), "RUNNING");
    gbx_status *c = NULL;
    CHECK_INT(gbx_jobmanager_cancel(&c, test_jm, gbx_status_id(st)), GBX_OK);
    atomic_store(&scheduler_paused, 0);
    CHECK_INT(gbx_status_refresh(st), GBX_OK);
    CHECK_STR(gbx_state_name(gbx_status_state(st)), "CANCELLED");
    CHECK_INT(gbx_status_code(st), 410);
    CHECK_INT(gbx_status_failures(st), 1); /* it never gave up */
    /* The parent's continuation ran: step 3 completed it. */
    CHECK(wait_completed(parent));
    CHECK(gbx_status_is_success(parent));
    CHECK(has_message(parent, "step 3"));
    gbx_status_free(c);
    free(w);
    free(p);
    gbx_status_free(st);
    gbx_status_free(parent);
}

/* Jobs the runtime must not run: each is taken once and never again.  A
 * sync job of the same function queued behind it (gearmand hands out one
 * function's jobs in order) proves the first one is done; the count of
 * requests proves nothing came back. */
static void barrier(void) {
    char *w = envelope("do_get_test_thing_v1", "sync", "get", "barrier", NULL, NULL);
    gbx_response *resp = submit_sync("do_get_test_thing_v1", w);
    free(w);
    gbx_response_free(resp);
}

static void test_rejected_jobs(void) {
    int calls = atomic_load(&handler_calls);
    unsigned long before = gbx_worker_request_count(worker);

    /* Not JSON at all, on the sync function: answered 400 at once. */
    gbx_response *resp = submit_sync("do_get_test_thing_v1", "this is not an envelope");
    if (resp) {
        CHECK_INT(gbx_response_code(resp), 400);
        CHECK(strstr(gbx_response_content(resp, NULL), "BAD_REQUEST [400]") != NULL);
    }
    gbx_response_free(resp);

    /* Not JSON, in the background. */
    submit_background("do_put_test_thing_v1", "{{{");

    /* A broken envelope that names a status: the status fails with 400. */
    gbx_status *st = new_status("create", "broken");
    char bad[512];
    snprintf(bad, sizeof bad, "{\"version\": \"one\", \"job_type\": \"async\", \"status\": \"%s\"}",
             st ? gbx_status_id(st) : "s-x");
    submit_background("do_put_test_thing_v1", bad);
    if (st) {
        CHECK(wait_completed(st));
        CHECK_INT(gbx_status_code(st), 400);
        json_t *first = json_array_get(gbx_status_messages(st), 0);
        CHECK(first && strncmp(json_string_value(first), "BAD_REQUEST [400]: ", 19) == 0);
        gbx_status_free(st);
    }

    /* An envelope for another handler. */
    char *w = envelope("do_get_test_thing_v1", "async", "create", "x", "s-00000000000000000000000000", NULL);
    submit_background("do_put_test_thing_v1", w);
    free(w);

    /* An unknown status: dropped. */
    w = envelope("do_put_test_thing_v1", "async", "create", "ghost", "s-zzzzzzzzzzzzzzzzzzzzzzzzzz", NULL);
    submit_background("do_put_test_thing_v1", w);
    free(w);

    /* A status that is no longer PENDING (gearmand re-delivered a finished
     * job): skipped, the status stays as it was. */
    st = new_status("create", "done");
    if (st) {
        CHECK_INT(gbx_status_set_state(st, GBX_STATE_RUNNING), GBX_OK);
        CHECK_INT(gbx_status_success(st), GBX_OK);
        double mtime = gbx_status_mtime(st);
        w = envelope("do_put_test_thing_v1", "async", "create", "done", gbx_status_id(st), NULL);
        submit_background("do_put_test_thing_v1", w);
        free(w);
        CHECK(wait_requests(before + 6));
        barrier();
        CHECK_INT(gbx_status_refresh(st), GBX_OK);
        CHECK_INT(gbx_status_code(st), 0);
        CHECK_INT(json_array_size(gbx_status_messages(st)), 0);
        CHECK(gbx_status_mtime(st) == mtime);
        gbx_status_free(st);
    }
    barrier();
    /* 6 rejected/skipped jobs + 2 barriers, each taken exactly once. */
    CHECK_INT(gbx_worker_request_count(worker), before + 8);
    CHECK_INT(atomic_load(&handler_calls), calls + 2); /* only the barriers */
}

/* Many round trips, so that a leak per job shows in the valgrind run. */
static void test_many(int rounds) {
    for (int i = 0; i < rounds; i++) {
        char name[32];
        snprintf(name, sizeof name, "n%d", i);
        char *w = envelope("do_get_test_thing_v1", "sync", "get", i % 5 ? name : "missing", NULL, NULL);
        gbx_response_free(submit_sync("do_get_test_thing_v1", w));
        free(w);
        gbx_status *st = run_async(i % 7 ? name : "missing", i % 3 ? NULL : "{\"name\": \"x\"}");
        gbx_status_free(st);
    }
}

/* gearmand goes away and comes back on the same port: the worker notices,
 * retries, registers again and serves. */
static void test_reconnect(void) {
    stop_gearmand();
    pause_ms(1500); /* let the worker see the loss and back off */
    start_gearmand();
    gearman_client_free(client);
    client = gearman_client_create(NULL);
    char server[64];
    snprintf(server, sizeof server, "127.0.0.1:%d", gearmand_port);
    gearman_client_add_servers(client, server);
    gearman_client_set_timeout(client, (int)(WAIT_LIMIT_S * 1000));
    gbx_status *st = run_async("Phoenix", NULL);
    if (st) {
        CHECK_INT(gbx_status_code(st), 0);
        CHECK(has_message(st, "thing \"Phoenix\" created"));
        gbx_status_free(st);
    }
}

static void test_max_requests(pthread_t *thread) {
    unsigned long count = gbx_worker_request_count(worker);
    gbx_worker_set_max_requests(worker, count + 2);
    barrier();
    CHECK(!atomic_load(&run_returned)); /* one job short of the maximum */
    barrier();
    CHECK(wait_run_returned());
    CHECK_INT(run_result, GBX_OK);
    CHECK_INT(gbx_worker_request_count(worker), count + 2);
    pthread_join(*thread, NULL);

    /* A job submitted now waits for the next run. */
    gbx_status *st = new_status("create", "queued");
    if (!st) return;
    char *w = envelope("do_put_test_thing_v1", "async", "create", "queued", gbx_status_id(st), NULL);
    submit_background("do_put_test_thing_v1", w);
    free(w);
    CHECK_INT(gbx_status_refresh(st), GBX_OK);
    CHECK_STR(gbx_state_name(gbx_status_state(st)), "PENDING");

    /* work_once serves it. */
    bool served = false;
    double until = mono_s() + WAIT_LIMIT_S;
    while (!served && mono_s() < until) CHECK_INT(gbx_worker_work_once(worker, 500, &served), GBX_OK);
    CHECK(served);
    CHECK_INT(gbx_status_refresh(st), GBX_OK);
    CHECK_INT(gbx_status_code(st), 0);
    gbx_status_free(st);

    /* stop() ends run() (no max any more). */
    gbx_worker_set_max_requests(worker, 0);
    atomic_store(&run_returned, 0);
    CHECK_INT(pthread_create(thread, NULL, run_worker, NULL), 0);
    pause_ms(200);
    gbx_worker_stop(worker);
    CHECK(wait_run_returned());
    CHECK_INT(run_result, GBX_OK);
    pthread_join(*thread, NULL);
}

static void cleanup(void) {
    stop_gearmand();
    char cmd[700];
    if (!getenv("GBX_KEEP_TMP")) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    }
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 50;
    signal(SIGPIPE, SIG_IGN);
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    atexit(cleanup);
    FILE *log = NULL;
    char path[600];
    snprintf(path, sizeof path, "%s/worker.log", tmpdir);
    log = fopen(path, "w");
    gbx_log_set_callback(gbx_log_to_file, log);
    gbx_log_set_level(GBX_LOG_DEBUG);

    gearmand_port = free_port();
    if (gearmand_port < 0) return 2;
    start_gearmand();

    /* The component config, with a schema for the "validate" case. */
    snprintf(path, sizeof path, "%s/schemas", tmpdir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/schemas/create-test-thing-v1.js", tmpdir);
    write_file(path, "// legacy dialect from the config\n"
                     "{\"type\": [\"object\", \"null\"], \"additionalProperties\": false,\n"
                     " \"properties\": {\"name\": {\"type\": \"string\"},\n"
                     "   \"legs\": {\"type\": \"integer\", \"optional\": true, \"default\": 4}}}\n");
    char conf[1024];
    snprintf(conf, sizeof conf,
             "// written by test_worker_runtime\n"
             "{\"component\": \"test\",\n"
             " \"gearman\": {\"servers\": [\"127.0.0.1:%d\"]},\n"
             " \"status\": {\"type\": \"sqlite\", \"path\": \"state/status.db\"},\n"
             " \"jobs\": {\"retry_max_attempts\": 3, \"lease_seconds\": 1},\n"
             " \"schemadir\": \"schemas\", \"schema_dialect\": \"legacy\"}\n",
             gearmand_port);
    snprintf(config_path, sizeof config_path, "%s/test.conf", tmpdir);
    write_file(config_path, conf);
    snprintf(path, sizeof path, "%s/state", tmpdir);
    mkdir(path, 0755);
    snprintf(db_path, sizeof db_path, "%s/state/status.db", tmpdir);

    if (gbx_worker_new(&worker, config_path) != GBX_OK) {
        fprintf(stderr, "gbx_worker_new: %s\n", gbx_error_last()->message);
        return 1;
    }
    CHECK_INT(gbx_store_open_sqlite(&store, db_path), GBX_OK);
    CHECK(gbx_worker_store(worker) != NULL);
    CHECK_STR(gbx_config_get_string(gbx_worker_config(worker), "component", NULL), "test");
    /* Without handlers there is nothing to run. */
    CHECK_INT(gbx_worker_run(worker), GBX_ERR_INTERNAL_SERVER_ERROR);
    CHECK_INT(gbx_worker_register(worker, "do_get_test_thing_v1", do_get, NULL), GBX_OK);
    CHECK_INT(gbx_worker_register(worker, "do_put_test_thing_v1", do_get, NULL), GBX_OK);
    CHECK_INT(gbx_worker_register(worker, "do_put_test_thing_v1", do_put, NULL), GBX_OK); /* replaces */
    CHECK_INT(gbx_worker_register(worker, "", do_put, NULL), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_worker_register(worker, "do_put_test_next_v1", do_next, NULL), GBX_OK);
    CHECK_INT(gbx_worker_register(worker, "do_put_test_last_v1", do_last, NULL), GBX_OK);
    CHECK_INT(gbx_worker_register(worker, "do_put_test_event_v1", do_event, NULL), GBX_OK);
    CHECK(gbx_worker_job_manager(worker) != NULL);
    CHECK_INT(gbx_config_load(&test_cfg, config_path), GBX_OK);
    CHECK_INT(gbx_jobmanager_new(&test_jm, test_cfg, store), GBX_OK);
    pthread_t scheduler;
    CHECK_INT(pthread_create(&scheduler, NULL, run_scheduler, NULL), 0);
    gbx_worker_set_hooks(worker, pre_hook, post_hook, NULL);

    client = gearman_client_create(NULL);
    char server[64];
    snprintf(server, sizeof server, "127.0.0.1:%d", gearmand_port);
    gearman_client_add_servers(client, server);
    gearman_client_set_timeout(client, (int)(WAIT_LIMIT_S * 1000));

    pthread_t thread;
    CHECK_INT(pthread_create(&thread, NULL, run_worker, NULL), 0);

    test_sync();
    test_sync_status();
    test_sync_afterwards();
    test_sync_error();
    test_async();
    test_async_errors();
    test_lease_renewed();
    test_continue();
    test_continuation_chain();
    test_ticket_once();
    test_stopping_never_starts();
    test_events();
    test_cancel_running();
    test_cancel_retrying_child();
    test_rejected_jobs();
    test_many(rounds);
    test_reconnect();
    test_max_requests(&thread);

    atomic_store(&scheduler_stop, 1);
    pthread_join(scheduler, NULL);
    gearman_client_free(client);
    gbx_worker_free(worker);
    gbx_jobmanager_free(test_jm);
    gbx_config_free(test_cfg);
    gbx_store_free(store);
    int rc = check_done();
    if (rc) fprintf(stderr, "logs in %s (kept)\n", tmpdir);
    if (rc) setenv("GBX_KEEP_TMP", "1", 1);
    if (log) fclose(log);
    gbx_log_set_callback(NULL, NULL);
    return rc;
}
