/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* test_jobmanager_gearmand.c - the job manager against a real gearmand and
 * a gbx_worker: the gateway's submit, handler lookup through gearmand's
 * admin port, sync runs (reply and error), async runs, children started in
 * a handler, delayed jobs through the scheduler step, and retries up to the
 * attempt cap.
 *
 * Starts its own gearmand on a free 127.0.0.1 port ($GEARMAND, else
 * /usr/sbin/gearmand; skipped when there is none) and stops exactly that
 * one, by pid.  Waits poll with generous bounds; only lower bounds on delays
 * are asserted.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "files.h"
#include "gearmand.h"
#include "thing_jobs.h"
#include "gearbox/gearbox.h"

#define WAIT_LIMIT_S 30.0

static char tmpdir[] = "/tmp/gbx-jm-gearmand-XXXXXX";
static int gearmand_port;
static pid_t gearmand_pid = -1;
static gbx_worker *worker;
static gbx_store *store;
static gbx_config *cfg;
static gbx_jobmanager *jm;
static atomic_int flaky_calls;
/* The ytime that do_put_punctual saw on its status when it ran (-1: not run). */
static _Atomic double punctual_ytime = -1;

/* ---- processes ----------------------------------------------------------- */

/* Wall-clock seconds. */
static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void start_gearmand(const char *bin) {
    gearmand_pid = gearmand_start(bin, gearmand_port, tmpdir, WAIT_LIMIT_S);
    if (gearmand_pid < 0) exit(2);
}

static void stop_gearmand(void) { gearmand_stop(&gearmand_pid, WAIT_LIMIT_S); }

static void remove_tree(const char *dir) {
    static const char *const files[] = {"test.conf", "gearmand.pid", "gearmand.log", "worker.log",
                                        "state/status.db", "state/status.db-wal",
                                        "state/status.db-shm"};
    char path[700];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/state", dir);
    rmdir(path);
    rmdir(dir);
}

static void cleanup(void) {
    stop_gearmand();
    if (!getenv("GBX_KEEP_TMP")) remove_tree(tmpdir);
}

/* ---- handlers ------------------------------------------------------------- */

/* Starts a child job and completes. */
static gbx_worker_result do_put_parent(gbx_job *job, gbx_response *resp, void *user) {
    (void)resp;
    (void)user;
    gbx_jobmanager *wjm = gbx_worker_job_manager(worker);
    if (gbx_jobmanager_current(wjm) != job) {
        gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "the current job is not the handler's job");
        return GBX_WORKER_ERROR;
    }
    gbx_job *child = NULL;
    if (gbx_jobmanager_job(&child, wjm, "do_put_test_thing_v1") != GBX_OK) return GBX_WORKER_ERROR;
    gbx_job_set(child, "resource.name", "kid");
    gbx_err err = gbx_jobmanager_run(NULL, wjm, child);
    gbx_job_free(child);
    return err == GBX_OK ? GBX_WORKER_SUCCESS : GBX_WORKER_ERROR;
}

/* Records the ytime its status shows while it runs. */
static gbx_worker_result do_put_punctual(gbx_job *job, gbx_response *resp, void *user) {
    (void)resp;
    (void)user;
    gbx_status *st = gbx_job_status(job);
    if (!st || gbx_status_refresh(st) != GBX_OK) return GBX_WORKER_ERROR;
    atomic_store(&punctual_ytime, gbx_status_ytime(st));
    return GBX_WORKER_SUCCESS;
}

static gbx_worker_result do_post_flaky(gbx_job *job, gbx_response *resp, void *user) {
    (void)job;
    (void)resp;
    (void)user;
    atomic_fetch_add(&flaky_calls, 1);
    gbx_error_set(GBX_ERR_SERVICE_UNAVAILABLE, "the backend is flaky");
    return GBX_WORKER_RETRY;
}

static void *run_worker(void *arg) {
    (void)arg;
    gbx_worker_run(worker);
    return NULL;
}

/* ---- helpers ------------------------------------------------------------- */

/* Runs the scheduler step until the status has completed (or the limit). */
static bool complete_with_scheduler(gbx_status *st) {
    double until = mono_s() + WAIT_LIMIT_S;
    while (mono_s() < until) {
        CHECK_INT(gbx_jobmanager_run_due(NULL, NULL, jm), GBX_OK);
        if (gbx_status_refresh(st) == GBX_OK && gbx_status_has_completed(st)) return true;
        pause_ms(50);
    }
    return false;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_known(void) {
    /* The worker registers its functions once it runs: wait for all of
     * them (gearmand may list one before the others). */
    static const char *const registered[] = {"do_put_test_thing_v1", "do_put_test_parent_v1",
                                             "do_post_test_flaky_v1", "do_get_test_thing_v1",
                                             "do_put_test_punctual_v1"};
    gbx_job *job = NULL;
    double until = mono_s() + WAIT_LIMIT_S;
    gbx_err err = GBX_OK;
    for (size_t i = 0; i < sizeof registered / sizeof registered[0]; i++) {
        gbx_job_free(job);
        job = NULL;
        while ((err = gbx_jobmanager_job(&job, jm, registered[i])) != GBX_OK && mono_s() < until)
            pause_ms(50);
        CHECK_INT(err, GBX_OK);
    }
    gbx_job_free(job);
    job = NULL;
    CHECK_INT(gbx_jobmanager_job(&job, jm, "do_get_test_nothing_v1"), GBX_ERR_NOT_FOUND);
    CHECK_STR(gbx_error_last()->message, "handler \"do_get_test_nothing_v1\" is not known");
    CHECK(job == NULL);
}

static void test_submit(void) { thing_submit(jm, store, WAIT_LIMIT_S); }

static void test_sync(void) {
    gbx_job *job = thing_sync(jm);
    if (!job) return;
    /* A reply code >= 400 is that error, with the handler's message. */
    gbx_response *resp = NULL;
    CHECK_INT(gbx_job_add_argument(job, "missing"), GBX_OK);
    CHECK_INT(gbx_jobmanager_run(&resp, jm, job), GBX_ERR_NOT_FOUND);
    CHECK_STR(gbx_error_last()->message, "thing \"missing\" not found");
    CHECK(resp == NULL);
    gbx_job_free(job);
}

static void test_async_and_children(void) {
    gbx_job *job = NULL;
    gbx_response *resp = NULL;
    CHECK_INT(gbx_jobmanager_job(&job, jm, "do_put_test_parent_v1"), GBX_OK);
    if (!job) return;
    CHECK_INT(gbx_jobmanager_run(&resp, jm, job), GBX_OK);
    CHECK_INT(gbx_response_code(resp), 202);
    gbx_status *st = NULL;
    CHECK_INT(gbx_jobmanager_status(&st, jm, gbx_response_status_uri(resp)), GBX_OK);
    gbx_response_free(resp);
    if (!st) {
        gbx_job_free(job);
        return;
    }
    CHECK_INT(gbx_jobmanager_wait(jm, st, WAIT_LIMIT_S), GBX_OK);
    if (!gbx_status_is_success(st))
        fprintf(stderr, "parent: %s\n", json_dumps(gbx_status_messages(st), 0));
    CHECK(gbx_status_is_success(st));
    json_t *children = gbx_status_children(st);
    CHECK_INT(json_array_size(children), 1);
    gbx_status *child = NULL;
    CHECK_INT(gbx_jobmanager_status(&child, jm, json_string_value(json_array_get(children, 0))), GBX_OK);
    if (child) {
        CHECK_STR(gbx_status_parent_uri(child), gbx_status_status_uri(st));
        CHECK_STR(gbx_status_uri(child), "http://127.0.0.1:1/test/v1/thing/kid");
        CHECK_INT(gbx_jobmanager_wait(jm, child, WAIT_LIMIT_S), GBX_OK);
        CHECK(gbx_status_is_success(child));
    }
    gbx_status_free(child);
    gbx_status_free(st);
    gbx_job_free(job);
}

static void test_delay(void) {
    gbx_job *job = NULL;
    CHECK_INT(gbx_jobmanager_job(&job, jm, "do_put_test_punctual_v1"), GBX_OK);
    if (!job) return;
    double before = now_s();
    CHECK_INT(gbx_jobmanager_delay(NULL, jm, job, 0.5), GBX_OK);
    gbx_status *st = gbx_job_status(job);
    CHECK(st && gbx_status_ytime(st) >= before + 0.5);
    /* Nothing runs it but the scheduler step, and not before it is due. */
    size_t submitted = 0;
    double until = mono_s() + WAIT_LIMIT_S;
    while (submitted == 0 && mono_s() < until) {
        CHECK_INT(gbx_jobmanager_run_due(&submitted, NULL, jm), GBX_OK);
        if (submitted == 0) pause_ms(20);
    }
    CHECK_INT(submitted, 1);
    CHECK(now_s() >= before + 0.5);
    CHECK_INT(gbx_jobmanager_wait(jm, st, WAIT_LIMIT_S), GBX_OK);
    CHECK(st && gbx_status_is_success(st));
    CHECK(st && gbx_status_ytime(st) == 0);
    /* The scheduler cleared ytime before it submitted the job: the handler,
     * however fast, never sees it set. */
    CHECK(atomic_load(&punctual_ytime) == 0);
    gbx_job_free(job);
}

static void test_retry(void) {
    gbx_job *job = NULL;
    CHECK_INT(gbx_jobmanager_job(&job, jm, "do_post_test_flaky_v1"), GBX_OK);
    if (!job) return;
    double before = now_s();
    CHECK_INT(gbx_jobmanager_run(NULL, jm, job), GBX_OK);
    gbx_status *st = gbx_job_status(job);
    CHECK(st && complete_with_scheduler(st));
    if (!st) return;
    /* Two attempts (the config's cap), the second after the 1 s pause. */
    CHECK_INT(atomic_load(&flaky_calls), 2);
    CHECK_INT(gbx_status_failures(st), 2);
    CHECK_INT(gbx_status_code(st), 500);
    CHECK(now_s() >= before + 1);
    json_t *messages = gbx_status_messages(st);
    const char *last = json_string_value(json_array_get(messages, json_array_size(messages) - 1));
    CHECK(last && strstr(last, "do_post_test_flaky_v1 gave up after 2 attempts: the backend is flaky"));
    gbx_job_free(job);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    const char *bin = gearmand_bin();
    if (access(bin, X_OK) != 0) {
        printf("skipped: no gearmand at %s\n", bin);
        return 0;
    }
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    atexit(cleanup);
    char path[700];
    snprintf(path, sizeof path, "%s/worker.log", tmpdir);
    FILE *log = fopen(path, "w");
    gbx_log_set_callback(gbx_log_to_file, log);
    gbx_log_set_level(GBX_LOG_DEBUG);

    gearmand_port = free_port();
    if (gearmand_port < 0) return 2;
    start_gearmand(bin);
    snprintf(path, sizeof path, "%s/state", tmpdir);
    mkdir(path, 0755);
    char conf[1024];
    snprintf(conf, sizeof conf,
             "{\"component\": \"test\",\n"
             " \"gearman\": {\"servers\": [\"127.0.0.1:%d\"]},\n"
             " \"status\": {\"type\": \"sqlite\", \"path\": \"state/status.db\"},\n"
             " \"jobs\": {\"retry_max_attempts\": 2, \"sync_timeout\": 30}}\n",
             gearmand_port);
    files_write(tmpdir, "test.conf", conf);
    snprintf(path, sizeof path, "%s/test.conf", tmpdir);

    if (gbx_worker_new(&worker, path) != GBX_OK) {
        fprintf(stderr, "gbx_worker_new: %s\n", gbx_error_last()->message);
        return 1;
    }
    CHECK_INT(gbx_worker_register(worker, "do_get_test_thing_v1", do_get_thing, NULL), GBX_OK);
    CHECK_INT(gbx_worker_register(worker, "do_put_test_thing_v1", do_put_thing, NULL), GBX_OK);
    CHECK_INT(gbx_worker_register(worker, "do_put_test_parent_v1", do_put_parent, NULL), GBX_OK);
    CHECK_INT(gbx_worker_register(worker, "do_post_test_flaky_v1", do_post_flaky, NULL), GBX_OK);
    CHECK_INT(gbx_worker_register(worker, "do_put_test_punctual_v1", do_put_punctual, NULL), GBX_OK);
    pthread_t thread;
    CHECK_INT(pthread_create(&thread, NULL, run_worker, NULL), 0);

    CHECK_INT(gbx_config_load(&cfg, path), GBX_OK);
    snprintf(path, sizeof path, "%s/state/status.db", tmpdir);
    CHECK_INT(gbx_store_open_sqlite(&store, path), GBX_OK);
    CHECK_INT(gbx_jobmanager_new(&jm, cfg, store), GBX_OK);
    CHECK_INT(gbx_jobmanager_set_base_uri(jm, "http://127.0.0.1:1/test/v1"), GBX_OK);

    test_known();
    test_submit();
    test_sync();
    test_async_and_children();
    test_delay();
    test_retry();

    gbx_worker_stop(worker);
    pthread_join(thread, NULL);
    gbx_jobmanager_free(jm);
    gbx_store_free(store);
    gbx_config_free(cfg);
    gbx_worker_free(worker);
    gbx_log_set_callback(NULL, NULL);
    if (log) fclose(log);
    return check_done();
}
