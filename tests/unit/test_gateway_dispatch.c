/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit tests of the gateway's sync dispatcher (gateway/src/gw_dispatch.c)
 * without a gearmand: a closed port (-> 503 at once), a port that accepts
 * but never answers (-> 503 at the deadline, or at shutdown), and the
 * exactly-once callback; with a gearmand of the test's own (skipped when
 * there is none) behind a silent server and a closed port: every job goes
 * to the gearmand, and a job that runs longer than the silence limit is not
 * taken for one on a silent server. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libgearman-1.0/gearman.h>

#include "check.h"
#include "gearbox/error.h"
#include "gearmand.h"
#include "gw_dispatch.h"

#define JOBS 20

typedef struct outcome {
    atomic_int calls;
    gbx_err err;
    char message[512];
    char data[64];
} outcome;

static outcome outcomes[JOBS];

static void done(void *user, gbx_err err, const char *message, const char *data, size_t len) {
    outcome *o = user;
    if (atomic_fetch_add(&o->calls, 1) == 0) {
        o->err = err;
        snprintf(o->message, sizeof o->message, "%s", message);
        snprintf(o->data, sizeof o->data, "%.*s", (int)(len < 63 ? len : 63), data);
    }
}

static void reset(void) {
    for (int i = 0; i < JOBS; i++) {
        atomic_store(&outcomes[i].calls, 0);
        outcomes[i].err = GBX_OK;
        outcomes[i].message[0] = '\0';
        outcomes[i].data[0] = '\0';
    }
}

/* Polls (up to 30 s) until `n` jobs were answered. */
static int wait_answers(int n) {
    for (int i = 0; i < 3000; i++) {
        int answered = 0;
        for (int k = 0; k < n; k++) answered += atomic_load(&outcomes[k].calls) > 0;
        if (answered == n) return 1;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* A listening socket on a free loopback port (the test stops when there is
 * none). */
static int listener(int *port) {
    int fd = silent_listener(port);
    if (fd < 0) exit(1);
    return fd;
}

static void test_unreachable(void) {
    /* A port that was free a moment ago and that nobody listens on. */
    int port;
    close(listener(&port));
    char servers[64];
    snprintf(servers, sizeof servers, "127.0.0.1:%d", port);
    gbx_gw_dispatcher *d = NULL;
    CHECK_INT(gbx_gw_dispatcher_new(&d, servers), GBX_OK);
    reset();
    for (int i = 0; i < JOBS; i++) {
        char unique[32];
        snprintf(unique, sizeof unique, "u-%d", i);
        CHECK_INT(gbx_gw_dispatch(d, "do_get_barn_animal_v1", unique, "{}", 2, 30, done, &outcomes[i]),
                  GBX_OK);
    }
    CHECK(wait_answers(JOBS));
    for (int i = 0; i < JOBS; i++) {
        CHECK_INT(outcomes[i].err, GBX_ERR_SERVICE_UNAVAILABLE);
        CHECK(strstr(outcomes[i].message, servers) != NULL);
        /* libgearman's " -> file.cc:line" is not for clients. */
        CHECK(strstr(outcomes[i].message, " -> ") == NULL);
    }
    CHECK_INT(gbx_gw_dispatcher_pending(d), 0);
    gbx_gw_dispatcher_free(d);
    for (int i = 0; i < JOBS; i++) CHECK_INT(atomic_load(&outcomes[i].calls), 1);
}

static void test_silent_server(void) {
    /* Accepts connections (the kernel does) but never speaks Gearman. */
    int port;
    int fd = listener(&port);
    char servers[64];
    snprintf(servers, sizeof servers, "127.0.0.1:%d", port);
    gbx_gw_dispatcher *d = NULL;
    CHECK_INT(gbx_gw_dispatcher_new(&d, servers), GBX_OK);

    /* Short deadline: the job was never accepted, so 503 (not 504). */
    reset();
    CHECK_INT(gbx_gw_dispatch(d, "do_get_barn_animal_v1", "short", "{}", 2, 0.2, done, &outcomes[0]),
              GBX_OK);
    CHECK(wait_answers(1));
    CHECK_INT(outcomes[0].err, GBX_ERR_SERVICE_UNAVAILABLE);
    CHECK(strstr(outcomes[0].message, "did not accept") != NULL);

    /* Long deadline: still pending when the dispatcher stops. */
    reset();
    for (int i = 0; i < 5; i++)
        CHECK_INT(gbx_gw_dispatch(d, "do_get_barn_animal_v1", NULL, "{}", 2, 600, done, &outcomes[i]),
                  GBX_OK);
    CHECK_INT(gbx_gw_dispatcher_pending(d), 5);
    gbx_gw_dispatcher_stop(d);
    for (int i = 0; i < 5; i++) {
        CHECK_INT(atomic_load(&outcomes[i].calls), 1);
        CHECK_INT(outcomes[i].err, GBX_ERR_SERVICE_UNAVAILABLE);
        CHECK_STR(outcomes[i].message, "gateway is shutting down");
    }
    CHECK_INT(gbx_gw_dispatcher_pending(d), 0);
    /* Stopped: new jobs are refused (and never called back). */
    reset();
    CHECK_INT(gbx_gw_dispatch(d, "do_get_barn_animal_v1", NULL, "{}", 2, 1, done, &outcomes[0]),
              GBX_ERR_SERVICE_UNAVAILABLE);
    gbx_gw_dispatcher_stop(d); /* idempotent */
    gbx_gw_dispatcher_free(d);
    CHECK_INT(atomic_load(&outcomes[0].calls), 0);
    close(fd);
}

/* A raw libgearman worker: "slow" answers "done" after 4 s (longer than
 * the dispatcher's silence limit), "fast" at once. */
static atomic_int worker_stop;
static int worker_port;

static void *answer(gearman_job_st *job, void *context, size_t *size, gearman_return_t *rc) {
    (void)job;
    if (context) pause_ms(4000);
    *rc = GEARMAN_SUCCESS;
    *size = 4;
    return strdup("done");
}

static void *raw_worker(void *arg) {
    (void)arg;
    gearman_worker_st *w = gearman_worker_create(NULL);
    char server[64];
    snprintf(server, sizeof server, "127.0.0.1:%d", worker_port);
    gearman_worker_add_servers(w, server);
    gearman_worker_add_function(w, "slow", 0, answer, (void *)1);
    gearman_worker_add_function(w, "fast", 0, answer, NULL);
    gearman_worker_set_timeout(w, 100);
    while (!atomic_load(&worker_stop)) gearman_worker_work(w);
    gearman_worker_free(w);
    return NULL;
}

static void test_failover(void) {
    if (access(gearmand_bin(), X_OK) != 0) {
        printf("test_failover skipped: no gearmand at %s\n", gearmand_bin());
        return;
    }
    char dir[] = "/tmp/gbx-dispatch-XXXXXX";
    if (!mkdtemp(dir)) return;
    worker_port = free_port();
    pid_t gearmand = gearmand_start(gearmand_bin(), worker_port, dir, 30);
    CHECK(gearmand > 0);
    if (gearmand <= 0) return;
    pthread_t thread;
    atomic_store(&worker_stop, 0);
    CHECK_INT(pthread_create(&thread, NULL, raw_worker, NULL), 0);
    int silent_port, closed_port;
    int silent = listener(&silent_port);
    close(listener(&closed_port));
    char servers[128];
    snprintf(servers, sizeof servers, "127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d", silent_port, closed_port,
             worker_port);
    gbx_gw_dispatcher *d = NULL;
    CHECK_INT(gbx_gw_dispatcher_new(&d, servers), GBX_OK);
    reset();
    /* The rotating start sends these first to each of the three servers. */
    for (int i = 0; i < 6; i++)
        CHECK_INT(gbx_gw_dispatch(d, "fast", NULL, "{}", 2, 30, done, &outcomes[i]), GBX_OK);
    CHECK_INT(gbx_gw_dispatch(d, "slow", NULL, "{}", 2, 30, done, &outcomes[6]), GBX_OK);
    CHECK(wait_answers(7));
    for (int i = 0; i < 7; i++) {
        CHECK_INT(outcomes[i].err, GBX_OK);
        CHECK_STR(outcomes[i].data, "done");
        if (outcomes[i].err != GBX_OK) fprintf(stderr, "job %d: %s\n", i, outcomes[i].message);
    }
    gbx_gw_dispatcher_free(d);
    close(silent);
    atomic_store(&worker_stop, 1);
    pthread_join(thread, NULL);
    gearmand_stop(&gearmand, 30);
    char path[600];
    snprintf(path, sizeof path, "%s/gearmand.log", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/gearmand.pid", dir);
    unlink(path);
    rmdir(dir);
}

static void test_arguments(void) {
    gbx_gw_dispatcher *d = NULL;
    CHECK_INT(gbx_gw_dispatcher_new(&d, "127.0.0.1:1"), GBX_OK);
    CHECK_INT(gbx_gw_dispatch(d, "", NULL, "", 0, 1, done, &outcomes[0]), GBX_ERR_INTERNAL_SERVER_ERROR);
    CHECK_INT(gbx_gw_dispatch(d, "f", NULL, "", 0, 1, NULL, NULL), GBX_ERR_INTERNAL_SERVER_ERROR);
    gbx_gw_dispatcher_free(d);
    gbx_gw_dispatcher_free(NULL);
    CHECK_INT(gbx_gw_dispatcher_pending(NULL), 0);

    char msg[] = "flush(GEARMAN_COULD_NOT_CONNECT) Connection to x failed -> libgearman/connection.cc:724: pid(1)";
    gbx_gw_trim_gearman_error(msg);
    CHECK_STR(msg, "flush(GEARMAN_COULD_NOT_CONNECT) Connection to x failed");
}

int main(void) {
    test_unreachable();
    test_silent_server();
    test_failover();
    test_arguments();
    return check_done();
}
