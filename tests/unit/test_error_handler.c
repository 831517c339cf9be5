/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* test_error_handler.c - a C handler that fails with any of Gearbox's error
 * codes (gbx_error_set(GBX_ERR_<NAME>, ...) + GBX_WORKER_ERROR) fails its
 * job with that code and Gearbox's name, through a real gearmand and a
 * gbx_worker: sync jobs answer the code, async jobs complete their status
 * with it.  Skipped when there is no gearmand. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "files.h"
#include "gearmand.h"
#include "gearbox/gearbox.h"

#define WAIT_LIMIT_S 30.0

static char tmpdir[] = "/tmp/gbx-err-handler-XXXXXX";
static pid_t gearmand_pid = -1;
static gbx_worker *worker;

static void cleanup(void) {
    gearmand_stop(&gearmand_pid, WAIT_LIMIT_S);
    if (getenv("GBX_KEEP_TMP")) return;
    static const char *const files[] = {"test.conf", "gearmand.pid", "gearmand.log", "worker.log",
                                        "state/status.db", "state/status.db-wal", "state/status.db-shm"};
    char path[700];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, files[i]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/state", tmpdir);
    rmdir(path);
    rmdir(tmpdir);
}

/* Fails with the error named by the first argument (any of its names). */
static gbx_worker_result do_fail(gbx_job *job, gbx_response *resp, void *user) {
    (void)resp;
    (void)user;
    const char *name = json_string_value(json_array_get(gbx_job_arguments(job), 0));
    gbx_error_set((gbx_err)gbx_err_from_name(name), "raised %s", name ? name : "?");
    return GBX_WORKER_ERROR;
}

static void *run_worker(void *arg) {
    (void)arg;
    gbx_worker_run(worker);
    return NULL;
}

/* Runs do_fail with `name` as a sync job; the code it answered. */
static int sync_code(gbx_jobmanager *jm, const char *name) {
    gbx_job *job = NULL;
    gbx_response *resp = NULL;
    if (gbx_jobmanager_job(&job, jm, "do_get_cerr_fail_v1") != GBX_OK) return -1;
    gbx_job_set_type(job, GBX_JOB_SYNC);
    gbx_job_add_argument(job, name);
    gbx_err err = gbx_jobmanager_run(&resp, jm, job);
    int code = err != GBX_OK ? (int)err : gbx_response_code(resp);
    if (err != GBX_OK) CHECK(strstr(gbx_error_last()->message, name) != NULL);
    gbx_response_free(resp);
    gbx_job_free(job);
    return code;
}

/* Runs do_fail with `name` as an async job and waits for its status; the
 * status's code, and its last message in `msg`. */
static int async_code(gbx_jobmanager *jm, const char *name, char *msg, size_t msglen) {
    gbx_job *job = NULL;
    gbx_response *resp = NULL;
    gbx_status *st = NULL;
    int code = -1;
    msg[0] = '\0';
    if (gbx_jobmanager_job(&job, jm, "do_put_cerr_fail_v1") != GBX_OK) return -1;
    gbx_job_add_argument(job, name);
    if (gbx_jobmanager_run(&resp, jm, job) == GBX_OK &&
        gbx_jobmanager_status(&st, jm, gbx_response_status_uri(resp)) == GBX_OK &&
        gbx_jobmanager_wait(jm, st, WAIT_LIMIT_S) == GBX_OK) {
        code = gbx_status_code(st);
        json_t *messages = gbx_status_messages(st);
        snprintf(msg, msglen, "%s", json_string_value(json_array_get(messages, json_array_size(messages) - 1)));
    }
    gbx_status_free(st);
    gbx_response_free(resp);
    gbx_job_free(job);
    return code;
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    const char *bin = gearmand_bin();
    if (access(bin, X_OK) != 0) {
        printf("skipped: no gearmand at %s\n", bin);
        return 0;
    }
    if (!mkdtemp(tmpdir)) return 2;
    atexit(cleanup);
    char path[700], conf[1024];
    /* The handlers are listed in the config, so jobs for them can be made
     * before the worker has registered with gearmand (gearmand queues them). */
    snprintf(path, sizeof path, "%s/worker.log", tmpdir);
    FILE *log = fopen(path, "w");
    gbx_log_set_callback(gbx_log_to_file, log);
    int port = free_port();
    gearmand_pid = gearmand_start(bin, port, tmpdir, WAIT_LIMIT_S);
    if (gearmand_pid < 0) return 2;
    snprintf(path, sizeof path, "%s/state", tmpdir);
    mkdir(path, 0755);
    snprintf(conf, sizeof conf,
             "{\"component\": \"cerr\", \"gearman\": {\"servers\": [\"127.0.0.1:%d\"]},\n"
             " \"status\": {\"type\": \"sqlite\", \"path\": \"state/status.db\"},\n"
             " \"handlers\": [\"do_get_cerr_fail_v1\", \"do_put_cerr_fail_v1\"],\n"
             " \"jobs\": {\"sync_timeout\": 30}}\n",
             port);
    files_write(tmpdir, "test.conf", conf);
    snprintf(path, sizeof path, "%s/test.conf", tmpdir);

    if (gbx_worker_new(&worker, path) != GBX_OK) {
        fprintf(stderr, "gbx_worker_new: %s\n", gbx_error_last()->message);
        return 1;
    }
    /* The worker made its component the current scoreboard, as Gearbox's did. */
    char *component = NULL;
    CHECK_INT(gbx_scoreboard_component(&component), GBX_OK);
    CHECK_STR(component, "cerr");
    free(component);
    CHECK_INT(gbx_worker_register(worker, "do_get_cerr_fail_v1", do_fail, NULL), GBX_OK);
    CHECK_INT(gbx_worker_register(worker, "do_put_cerr_fail_v1", do_fail, NULL), GBX_OK);
    pthread_t thread;
    CHECK_INT(pthread_create(&thread, NULL, run_worker, NULL), 0);

    gbx_config *cfg = NULL;
    gbx_store *store = NULL;
    gbx_jobmanager *jm = NULL;
    CHECK_INT(gbx_config_load(&cfg, path), GBX_OK);
    snprintf(path, sizeof path, "%s/state/status.db", tmpdir);
    CHECK_INT(gbx_store_open_sqlite(&store, path), GBX_OK);
    CHECK_INT(gbx_jobmanager_new(&jm, cfg, store), GBX_OK);
    CHECK_INT(gbx_jobmanager_set_base_uri(jm, "http://127.0.0.1:1/cerr/v1"), GBX_OK);

    /* Every name of the table (Gearbox's) and every alias. */
    for (size_t i = 0; i < gbx_err_name_count(); i++) {
        const char *name = gbx_err_name_at(i);
        int code = gbx_err_from_name(name);
        CHECK_INT(sync_code(jm, name), code);
        char msg[256], want[256];
        CHECK_INT(async_code(jm, name, msg, sizeof msg), code);
        snprintf(want, sizeof want, "%s [%d]: raised %s", gbx_err_name(code), code, name);
        CHECK_STR(msg, want);
    }

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
