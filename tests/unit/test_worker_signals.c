/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit test of gbx_worker_run_until_signal: SIGTERM stops the worker, the
 * previous signal dispositions come back, and a second worker of the same
 * process cannot take the signals while the first has them.  The worker
 * points at a closed port: run() retries gearmand until it is stopped, which
 * is all this test needs. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "fixtures.h"
#include "gearmand.h" /* pause_ms */
#include "gearbox/config.h"
#include "gearbox/worker.h"

static char tmpdir[] = "/tmp/gbx-test-signals-XXXXXX";
static atomic_int run_result = -1;

static gbx_worker_result do_nothing(gbx_job *job, gbx_response *resp, void *user) {
    return GBX_WORKER_SUCCESS;
}

static void *run(void *worker) {
    atomic_store(&run_result, (int)gbx_worker_run_until_signal(worker));
    return NULL;
}

static gbx_worker *new_worker(void) {
    char db[sizeof tmpdir + 16];
    snprintf(db, sizeof db, "%s/status.db", tmpdir);
    json_t *root = json_pack("{s:s, s:s, s:{s:s, s:s}}", "component", "quiet", "gearman",
                             "127.0.0.1:1", "status", "type", "sqlite", "path", db);
    gbx_config *cfg = NULL;
    gbx_worker *worker = NULL;
    if (gbx_config_from_json(&cfg, root, tmpdir) != GBX_OK ||
        gbx_worker_new_from_config(&worker, cfg) != GBX_OK ||
        gbx_worker_register(worker, "do_get_quiet_thing_v1", do_nothing, NULL) != GBX_OK)
        fprintf(stderr, "worker: %s\n", gbx_error_last()->message);
    json_decref(root);
    return worker;
}

static sighandler_t handler_of(int sig) {
    struct sigaction now;
    sigaction(sig, NULL, &now);
    return now.sa_handler;
}

int main(void) {
    if (!mkdtemp(tmpdir)) return 1;
    gbx_worker *worker = new_worker(), *other = new_worker();
    CHECK(worker && other);
    if (!worker || !other) return check_done();

    CHECK(handler_of(SIGTERM) == SIG_DFL);
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, run, worker) == 0);
    /* Wait (generously) until the worker has taken SIGTERM. */
    for (int i = 0; i < 60000 && handler_of(SIGTERM) == SIG_DFL; i++) pause_ms(1);
    CHECK(handler_of(SIGTERM) != SIG_DFL);
    CHECK(handler_of(SIGPIPE) == SIG_IGN);

    CHECK_INT(gbx_worker_run_until_signal(other), GBX_ERR_CONFLICT);
    CHECK_INT(atomic_load(&run_result), -1); /* still running */

    kill(getpid(), SIGTERM);
    pthread_join(thread, NULL);
    CHECK_INT(atomic_load(&run_result), GBX_OK);
    CHECK(handler_of(SIGTERM) == SIG_DFL);
    CHECK(handler_of(SIGINT) == SIG_DFL);
    CHECK(handler_of(SIGPIPE) == SIG_DFL);

    /* The signals are free again for another worker. */
    atomic_store(&run_result, -1);
    CHECK(pthread_create(&thread, NULL, run, other) == 0);
    for (int i = 0; i < 60000 && handler_of(SIGINT) == SIG_DFL; i++) pause_ms(1);
    kill(getpid(), SIGINT);
    pthread_join(thread, NULL);
    CHECK_INT(atomic_load(&run_result), GBX_OK);

    CHECK_INT(gbx_worker_run_until_signal(NULL), GBX_ERR_BAD_REQUEST);
    gbx_worker_free(worker);
    gbx_worker_free(other);
    fixture_remove(tmpdir);
    return check_done();
}
