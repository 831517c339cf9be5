/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* test_gateway_known.c - how the gateway learns which handlers exist
 * (gw_route.c gbx_gw_resolve_handler over gbx_jobmanager_handler_known):
 *
 *   - against a real gearmand: a handler that a worker registers after the
 *     gateway started, and that no "handlers" list names, is found within
 *     about a second (the global fallback too); before, it is the 400 of
 *     DESIGN §3;
 *   - against a fake admin port that counts its connections: however many
 *     threads miss, gearmand is asked at most once a second;
 *   - with no gearmand: 503, not 400, and not one connection per request.
 *
 * Starts its own gearmand on a free 127.0.0.1 port ($GEARMAND, else
 * /usr/sbin/gearmand; skipped when there is none) and stops exactly that
 * one, by pid.  Waits poll with generous bounds.
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "gearmand.h"
#include "gearbox/gearbox.h"
#include "gw_config.h"
#include "gw_route.h"
#include "orchestration/jobmanager_internal.h"

#define WAIT_LIMIT_S 30.0
/* The cache promises a second; the rest is room for a loaded machine. */
#define FOUND_WITHIN_S 3.0

static char tmpdir[] = "/tmp/gbx-gw-known-XXXXXX";
static pid_t gearmand_pid = -1;

static void cleanup(void) {
    gearmand_stop(&gearmand_pid, WAIT_LIMIT_S);
    if (getenv("GBX_KEEP_TMP")) return;
    static const char *const files[] = {"worker.conf", "gearmand.pid", "gearmand.log",
                                        "status.db", "status.db-wal", "status.db-shm"};
    char path[700];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, files[i]);
        unlink(path);
    }
    rmdir(tmpdir);
}

/* The gateway's way to ask (gw_server.c). */
static gbx_err known_to_gearmand(bool *known, void *jm, const char *name) {
    return gbx_jobmanager_handler_known(known, jm, name);
}

static gbx_gw_location late_location(void) {
    gbx_gw_location loc;
    memset(&loc, 0, sizeof loc);
    loc.path = loc.prefix = (char *)"/late";
    loc.component = "late"; /* no "handlers" list */
    return loc;
}

/* Resolves <method> /late/v1/<resource>: the code; *name (malloc'ed or NULL). */
static gbx_err resolve_late(char **name, gbx_jobmanager *jm, const char *method, const char *resource) {
    gbx_gw_location loc = late_location();
    *name = NULL;
    return gbx_gw_resolve_handler(name, &loc, method, resource, "v1", known_to_gearmand, jm);
}

static gbx_jobmanager *jobmanager_for(gbx_config **cfg, const char *servers) {
    json_t *root = json_pack("{s:s}", "gearman", servers);
    gbx_jobmanager *jm = NULL;
    CHECK_INT(gbx_config_from_json(cfg, root, NULL), GBX_OK);
    json_decref(root);
    CHECK_INT(gbx_jobmanager_new(&jm, *cfg, NULL), GBX_OK);
    return jm;
}

/* ---- a worker that registers late ------------------------------------------ */

static gbx_worker_result answer(gbx_job *job, gbx_response *resp, void *user) {
    (void)job;
    (void)user;
    return gbx_response_set_content(resp, "{}", 2) == GBX_OK ? GBX_WORKER_SUCCESS : GBX_WORKER_ERROR;
}

static void *run_worker(void *worker) {
    gbx_worker_run(worker);
    return NULL;
}

static bool registered(int port, const char *name) {
    char server[64];
    snprintf(server, sizeof server, "127.0.0.1:%d", port);
    json_t *map = NULL;
    bool yes = gbx_servers_admin_status(&map, server, 5) == GBX_OK &&
               json_integer_value(json_object_get(json_object_get(map, name), "workers")) > 0;
    json_decref(map);
    return yes;
}

static void test_learned_from_gearmand(int port) {
    char servers[64], path[700];
    snprintf(servers, sizeof servers, "127.0.0.1:%d", port);
    gbx_config *cfg = NULL;
    gbx_jobmanager *jm = jobmanager_for(&cfg, servers);
    char *name = NULL;

    /* Nothing registered yet: the 400 of DESIGN §3. */
    CHECK_INT(resolve_late(&name, jm, "GET", "thing"), GBX_ERR_BAD_REQUEST);
    CHECK_STR(gbx_error_last()->message, "No valid handler found!");

    /* A worker of the component starts now, with handlers of its own, a
     * global one and an internal one that no list names. */
    snprintf(path, sizeof path, "%s/worker.conf", tmpdir);
    FILE *f = fopen(path, "w");
    if (!f) exit(2);
    fprintf(f, "{\"component\": \"late\", \"gearman\": {\"servers\": [\"%s\"]},\n"
               " \"status\": {\"type\": \"sqlite\", \"path\": \"status.db\"}}\n", servers);
    fclose(f);
    gbx_worker *worker = NULL;
    CHECK_INT(gbx_worker_new(&worker, path), GBX_OK);
    if (!worker) exit(2);
    static const char *const handlers[] = {"do_get_late_thing_v1", "do_put_global_gadget_v1",
                                           "do_append_late_thing_v1"};
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
        CHECK_INT(gbx_worker_register(worker, handlers[i], answer, NULL), GBX_OK);
    pthread_t thread;
    CHECK_INT(pthread_create(&thread, NULL, run_worker, worker), 0);

    double until = mono_s() + WAIT_LIMIT_S;
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
        while (!registered(port, handlers[i]) && mono_s() < until) pause_ms(20);
    CHECK(registered(port, handlers[2]));
    double since = mono_s();
    gbx_err e;
    while ((e = resolve_late(&name, jm, "GET", "thing")) != GBX_OK && mono_s() < until)
        pause_ms(20);
    double took = mono_s() - since;
    CHECK_INT(e, GBX_OK);
    CHECK_STR(name, "do_get_late_thing_v1");
    if (took > FOUND_WITHIN_S) fprintf(stderr, "found after %.2f s\n", took);
    CHECK(took <= FOUND_WITHIN_S);
    free(name);
    name = NULL;
    /* The global fallback, with a handler learned from gearmand. */
    CHECK_INT(resolve_late(&name, jm, "PUT", "gadget"), GBX_OK);
    CHECK_STR(name, "do_put_global_gadget_v1");
    free(name);
    name = NULL;
    bool known = false;
    CHECK_INT(gbx_jobmanager_handler_known(&known, jm, "do_append_late_thing_v1"), GBX_OK);
    CHECK(known);
    /* Still unknown: no worker for it. */
    CHECK_INT(resolve_late(&name, jm, "DELETE", "thing"), GBX_ERR_BAD_REQUEST);

    gbx_worker_stop(worker);
    pthread_join(thread, NULL);
    gbx_worker_free(worker);
    gbx_jobmanager_free(jm);
    gbx_config_free(cfg);
}

/* ---- a fake admin port that counts the asks -------------------------------- */

typedef struct fake_admin {
    int fd;
    int port;
    bool mute;            /* close without an answer */
    atomic_int asks;
    atomic_bool stop;
    pthread_t thread;
} fake_admin;

static void *serve_admin(void *arg) {
    fake_admin *a = arg;
    static const char reply[] = "do_get_fake_known_v1\t0\t0\t1\n.\n";
    while (!atomic_load(&a->stop)) {
        struct pollfd p = {.fd = a->fd, .events = POLLIN};
        if (poll(&p, 1, 50) != 1) continue;
        int c = accept(a->fd, NULL, NULL);
        if (c < 0) continue;
        atomic_fetch_add(&a->asks, 1);
        char buf[64];
        struct pollfd q = {.fd = c, .events = POLLIN};
        if (!a->mute && poll(&q, 1, 5000) == 1 && recv(c, buf, sizeof buf, 0) > 0)
            (void)!send(c, reply, sizeof reply - 1, MSG_NOSIGNAL);
        close(c);
    }
    return NULL;
}

static bool fake_start(fake_admin *a, bool mute) {
    memset(a, 0, sizeof *a);
    a->mute = mute;
    a->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (a->fd < 0 || bind(a->fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(a->fd, 64) != 0 || getsockname(a->fd, (struct sockaddr *)&addr, &len) != 0)
        return false;
    a->port = ntohs(addr.sin_port);
    return pthread_create(&a->thread, NULL, serve_admin, a) == 0;
}

static void fake_stop(fake_admin *a) {
    atomic_store(&a->stop, true);
    pthread_join(a->thread, NULL);
    close(a->fd);
}

typedef struct asker {
    gbx_jobmanager *jm;
    double until;
    int id;
    gbx_err expect;
    long calls;
    long unexpected;
} asker;

/* Resolves handlers nobody registered, as fast as it can. */
static void *keep_missing(void *arg) {
    asker *k = arg;
    char resource[32];
    while (mono_s() < k->until) {
        char *name = NULL;
        snprintf(resource, sizeof resource, "miss%d%ld", k->id, k->calls % 50);
        gbx_err e = resolve_late(&name, k->jm, "GET", resource);
        if (e != k->expect) k->unexpected++;
        free(name);
        k->calls++;
    }
    return NULL;
}

/* THREADS threads miss for `seconds` against the fake admin port; checks
 * that it was asked at most once a second and every answer was `expect`. */
static void hammer(gbx_jobmanager *jm, fake_admin *admin, double seconds, gbx_err expect) {
    enum { THREADS = 4 };
    asker askers[THREADS];
    pthread_t threads[THREADS];
    double start = mono_s();
    for (int i = 0; i < THREADS; i++) {
        askers[i] = (asker){.jm = jm, .until = start + seconds, .id = i, .expect = expect};
        CHECK_INT(pthread_create(&threads[i], NULL, keep_missing, &askers[i]), 0);
    }
    long calls = 0, unexpected = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        calls += askers[i].calls;
        unexpected += askers[i].unexpected;
    }
    double elapsed = mono_s() - start;
    int asks = atomic_load(&admin->asks);
    /* One ask at the start, then at most one per second. */
    int most = 1 + (int)elapsed;
    if (asks > most) fprintf(stderr, "%d asks in %.2f s (%ld requests)\n", asks, elapsed, calls);
    CHECK(asks <= most);
    CHECK(asks >= 2);       /* misses do ask again */
    CHECK(calls > 100);     /* and were answered from the cache meanwhile */
    CHECK_INT(unexpected, 0);
}

static void test_asks_at_most_once_a_second(void) {
    fake_admin admin;
    if (!fake_start(&admin, false)) {
        perror("fake admin");
        exit(2);
    }
    char servers[64];
    snprintf(servers, sizeof servers, "127.0.0.1:%d", admin.port);
    gbx_config *cfg = NULL;
    gbx_jobmanager *jm = jobmanager_for(&cfg, servers);
    hammer(jm, &admin, 2.5, GBX_ERR_BAD_REQUEST);

    /* A hit is answered from the same cache. */
    bool known = false;
    CHECK_INT(gbx_jobmanager_handler_known(&known, jm, "do_get_fake_known_v1"), GBX_OK);
    CHECK(known);
    gbx_jobmanager_free(jm);
    gbx_config_free(cfg);
    fake_stop(&admin);
}

/* No answer from gearmand: 503 (not "No valid handler found!"), and the
 * failure is remembered for a second, not tried again per request. */
static void test_no_gearmand(void) {
    char servers[64];
    snprintf(servers, sizeof servers, "127.0.0.1:%d", free_port());
    gbx_config *cfg = NULL;
    gbx_jobmanager *jm = jobmanager_for(&cfg, servers);
    char *name = NULL;
    CHECK_INT(resolve_late(&name, jm, "GET", "thing"), GBX_ERR_SERVICE_UNAVAILABLE);
    CHECK(strstr(gbx_error_last()->message, "do_get_late_thing_v1") != NULL);
    CHECK(name == NULL);
    gbx_jobmanager_free(jm);
    gbx_config_free(cfg);

    fake_admin mute;
    if (!fake_start(&mute, true)) {
        perror("fake admin");
        exit(2);
    }
    snprintf(servers, sizeof servers, "127.0.0.1:%d", mute.port);
    jm = jobmanager_for(&cfg, servers);
    hammer(jm, &mute, 1.5, GBX_ERR_SERVICE_UNAVAILABLE);
    gbx_jobmanager_free(jm);
    gbx_config_free(cfg);
    fake_stop(&mute);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    test_asks_at_most_once_a_second();
    test_no_gearmand();

    const char *bin = gearmand_bin();
    if (access(bin, X_OK) != 0) {
        printf("skipped the gearmand part: no gearmand at %s\n", bin);
        return check_done();
    }
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    atexit(cleanup);
    int port = free_port();
    if (port < 0) return 2;
    gearmand_pid = gearmand_start(bin, port, tmpdir, WAIT_LIMIT_S);
    if (gearmand_pid < 0) return 2;
    test_learned_from_gearmand(port);
    return check_done();
}
