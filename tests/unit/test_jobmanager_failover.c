/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* test_jobmanager_failover.c - the job manager with two gearmand servers:
 * background submits, sync runs and the handler lookup go on with either
 * one killed (kill -9), a gbx_worker registered with both keeps serving and
 * registers again with a restarted one, and a server that accepts
 * connections but never answers costs one submit timeout now and then, not
 * one per request (it is marked down and skipped for a while).
 *
 * Starts its own gearmands on free 127.0.0.1 ports ($GEARMAND, else
 * /usr/sbin/gearmand; skipped when there is none) and kills exactly those,
 * by pid.  Waits poll with generous bounds.
 */
#include <errno.h>
#include <fcntl.h>
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
#include "thing_jobs.h"

#define WAIT_LIMIT_S 30.0
#define ROUNDS 8

static char tmpdir[] = "/tmp/gbx-jm-failover-XXXXXX";
static char dir_a[700], dir_b[700];
static int port_a, port_b;
static pid_t pid_a = -1, pid_b = -1;
static gbx_worker *worker;
static gbx_store *store;

/* ---- processes ------------------------------------------------------------ */

static pid_t start(const char *dir, int port) {
    pid_t pid = gearmand_start(gearmand_bin(), port, dir, WAIT_LIMIT_S);
    if (pid < 0) exit(2);
    return pid;
}

/* kill -9 of the gearmand `*pid` (ours), and waits until its port is closed. */
static void kill9(pid_t *pid, int port) {
    kill(*pid, SIGKILL);
    int st;
    waitpid(*pid, &st, 0);
    *pid = -1;
    double until = mono_s() + WAIT_LIMIT_S;
    while (port_open(port) && mono_s() < until) pause_ms(20);
}

static void remove_tree(void) {
    static const char *const files[] = {"test.conf", "silent.conf", "worker.log", "a/gearmand.pid",
                                        "a/gearmand.log", "b/gearmand.pid", "b/gearmand.log",
                                        "status.db", "status.db-wal", "status.db-shm"};
    char path[800];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, files[i]);
        unlink(path);
    }
    rmdir(dir_a);
    rmdir(dir_b);
    rmdir(tmpdir);
}

static void cleanup(void) {
    gearmand_stop(&pid_a, WAIT_LIMIT_S);
    gearmand_stop(&pid_b, WAIT_LIMIT_S);
    if (!getenv("GBX_KEEP_TMP")) remove_tree();
}

/* ---- helpers ------------------------------------------------------------- */

static void *run_worker(void *arg) {
    (void)arg;
    gbx_worker_run(worker);
    return NULL;
}

/* Workers gearmand servers list for `name`, summed over the servers that
 * answer (-1 when none does). */
static long workers_for(gbx_jobmanager *jm, const char *name) {
    json_t *map = NULL;
    if (gbx_jobmanager_registered(&map, jm) != GBX_OK) return -1;
    long n = (long)json_integer_value(json_object_get(map, name));
    json_decref(map);
    return n;
}

static bool wait_workers(gbx_jobmanager *jm, const char *name, long n) {
    double until = mono_s() + WAIT_LIMIT_S;
    while (workers_for(jm, name) != n) {
        if (mono_s() > until) return false;
        pause_ms(50);
    }
    return true;
}

/* Jobs of both kinds; the rotating start sends every other one to each
 * server first. */
static void traffic(gbx_jobmanager *jm) {
    for (int i = 0; i < ROUNDS; i++) {
        thing_submit(jm, store, WAIT_LIMIT_S);
        gbx_job_free(thing_sync(jm));
    }
}

/* Connections waiting on the listener (taken off it, kept open). */
static int take_connections(int fd, int *held, int room) {
    int n = 0;
    for (int c; n < room && (c = accept(fd, NULL, NULL)) >= 0;) held[n++] = c;
    return n;
}

/* ---- tests ------------------------------------------------------------------ */

static gbx_jobmanager *manager(gbx_config **cfg, const char *conf_name, const char *servers) {
    char conf[1024], path[800];
    snprintf(conf, sizeof conf,
             "{\"component\": \"test\",\n"
             " \"gearman\": {\"servers\": [%s]},\n"
             " \"status\": {\"type\": \"sqlite\", \"path\": \"status.db\"},\n"
             " \"jobs\": {\"submit_timeout\": 1, \"sync_timeout\": 30}}\n",
             servers);
    files_write(tmpdir, conf_name, conf);
    snprintf(path, sizeof path, "%s/%s", tmpdir, conf_name);
    gbx_jobmanager *jm = NULL;
    if (gbx_config_load(cfg, path) != GBX_OK || gbx_jobmanager_new(&jm, *cfg, store) != GBX_OK) {
        fprintf(stderr, "%s: %s\n", conf_name, gbx_error_last()->message);
        exit(1);
    }
    gbx_jobmanager_set_base_uri(jm, "http://127.0.0.1:1/test/v1");
    return jm;
}

/* Either server killed: everything goes to the other one; the killed one,
 * started again, gets the worker back and takes jobs again. */
static void test_kill_and_restart(gbx_jobmanager *jm) {
    CHECK(wait_workers(jm, "do_get_test_thing_v1", 2));
    traffic(jm);

    kill9(&pid_a, port_a);
    CHECK_INT(workers_for(jm, "do_get_test_thing_v1"), 1);
    traffic(jm);

    pid_a = start(dir_a, port_a);
    CHECK(wait_workers(jm, "do_get_test_thing_v1", 2));
    /* The job manager's connections to the first process are dead: the
     * first job on each goes on a fresh one. */
    kill9(&pid_b, port_b);
    traffic(jm);
    pid_b = start(dir_b, port_b);
    CHECK(wait_workers(jm, "do_get_test_thing_v1", 2));
}

/* A server that never answers is skipped while it is marked down. */
static void test_silent_server(void) {
    int silent_port;
    int fd = silent_listener(&silent_port);
    CHECK(fd >= 0 && fcntl(fd, F_SETFL, O_NONBLOCK) == 0);
    if (fd < 0) return;
    char servers[128];
    snprintf(servers, sizeof servers, "\"127.0.0.1:%d\", \"127.0.0.1:%d\"", silent_port, port_b);
    gbx_config *cfg = NULL;
    gbx_jobmanager *jm = manager(&cfg, "silent.conf", servers);
    int held[4 * ROUNDS];
    int nheld = 0;
    double started = mono_s();
    for (int i = 0; i < ROUNDS; i++) {
        thing_submit(jm, store, WAIT_LIMIT_S);
        gbx_job_free(thing_sync(jm));
        nheld += take_connections(fd, held + nheld, (int)(sizeof held / sizeof held[0]) - nheld);
    }
    double elapsed = mono_s() - started;
    /* Without the down mark every other request would connect (and wait
     * the 1 s submit timeout): 2 * ROUNDS / 2.  With it: one connection
     * per down period at most, and the first. */
    int bound = 2 + (int)(elapsed / GBX_SERVERS_DOWN_SECONDS);
    if (nheld > bound) fprintf(stderr, "silent server: %d connections in %.1f s\n", nheld, elapsed);
    CHECK(nheld >= 1);
    CHECK(nheld <= bound);
    for (int i = 0; i < nheld; i++) close(held[i]);
    close(fd);
    gbx_jobmanager_free(jm);
    gbx_config_free(cfg);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    if (access(gearmand_bin(), X_OK) != 0) {
        printf("skipped: no gearmand at %s\n", gearmand_bin());
        return 0;
    }
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    snprintf(dir_a, sizeof dir_a, "%s/a", tmpdir);
    snprintf(dir_b, sizeof dir_b, "%s/b", tmpdir);
    mkdir(dir_a, 0755);
    mkdir(dir_b, 0755);
    atexit(cleanup);
    char path[800];
    snprintf(path, sizeof path, "%s/worker.log", tmpdir);
    FILE *log = fopen(path, "w");
    gbx_log_set_callback(gbx_log_to_file, log);
    gbx_log_set_level(GBX_LOG_DEBUG);

    port_a = free_port();
    port_b = free_port();
    if (port_a < 0 || port_b < 0 || port_a == port_b) return 2;
    pid_a = start(dir_a, port_a);
    pid_b = start(dir_b, port_b);
    snprintf(path, sizeof path, "%s/status.db", tmpdir);
    CHECK_INT(gbx_store_open_sqlite(&store, path), GBX_OK);

    char servers[128];
    snprintf(servers, sizeof servers, "\"127.0.0.1:%d\", \"127.0.0.1:%d\"", port_a, port_b);
    gbx_config *cfg = NULL;
    gbx_jobmanager *jm = manager(&cfg, "test.conf", servers);
    snprintf(path, sizeof path, "%s/test.conf", tmpdir);
    if (gbx_worker_new(&worker, path) != GBX_OK) {
        fprintf(stderr, "gbx_worker_new: %s\n", gbx_error_last()->message);
        return 1;
    }
    CHECK_INT(gbx_worker_register(worker, "do_get_test_thing_v1", do_get_thing, NULL), GBX_OK);
    CHECK_INT(gbx_worker_register(worker, "do_put_test_thing_v1", do_put_thing, NULL), GBX_OK);
    pthread_t thread;
    CHECK_INT(pthread_create(&thread, NULL, run_worker, NULL), 0);

    test_kill_and_restart(jm);
    test_silent_server();

    gbx_worker_stop(worker);
    pthread_join(thread, NULL);
    gbx_jobmanager_free(jm);
    gbx_config_free(cfg);
    gbx_worker_free(worker);
    gbx_store_free(store);
    gbx_log_set_callback(NULL, NULL);
    if (log) fclose(log);
    return check_done();
}
