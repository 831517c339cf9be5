/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* test_jobmanager.c - the job manager without gearmand: making jobs,
 * handler lookup (against a fake gearmand admin port), the retry schedule,
 * async runs, delays, retries, job events and the scheduler step against a
 * real SQLite store (gearmand itself is a closed port here, so every submit
 * fails and the rows stay for the scheduler), REST jobs and remote statuses
 * against a small HTTP server in a thread.  Runs with gearmand are in
 * test_jobmanager_gearmand.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "gearmand.h" /* pause_ms */
#include "gearbox/gearbox.h"
#include "job/job_internal.h"
#include "orchestration/jobmanager_internal.h"
#include "store/queue_internal.h"
#include "store/status_internal.h"

/* ---- a loopback server in a thread --------------------------------------- */

typedef enum { FAKE_ADMIN, FAKE_HTTP } fake_kind;

typedef struct fake_server {
    fake_kind kind;
    int fd, port;
    pthread_t thread;
    volatile bool stop;
    pthread_mutex_t lock;
    char last_request[8192]; /* HTTP: the last request, headers and body */
    int requests;
} fake_server;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int listen_any(int *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0 || listen(fd, 16) != 0) {
        perror("listen_any");
        exit(2);
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* A port nobody listens on (bound, then closed). */
static int closed_port(void) {
    int port;
    int fd = listen_any(&port);
    close(fd);
    return port;
}

static void send_all(int fd, const char *s, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

static void serve_admin(int c) {
    char buf[256];
    size_t len = 0;
    while (len < sizeof buf - 1 && !memchr(buf, '\n', len)) {
        ssize_t n = recv(c, buf + len, sizeof buf - 1 - len, 0);
        if (n <= 0) return;
        len += (size_t)n;
    }
    static const char answer[] = "do_get_barn_animal_v1\t3\t1\t2\n"
                                 "do_get_barn_ghost_v1\t3\t0\t0\n"
                                 ".\n";
    send_all(c, answer, sizeof answer - 1);
}

static void serve_http(fake_server *s, int c) {
    char buf[8192];
    size_t len = 0;
    char *end = NULL;
    while (len < sizeof buf - 1) {
        ssize_t n = recv(c, buf + len, sizeof buf - 1 - len, 0);
        if (n <= 0) break;
        len += (size_t)n;
        buf[len] = '\0';
        if (!end) end = strstr(buf, "\r\n\r\n");
        if (end) {
            const char *cl = strstr(buf, "\r\nContent-Length:");
            size_t body = cl && cl < end ? (size_t)strtoul(cl + 17, NULL, 10) : 0;
            if (len >= (size_t)(end + 4 - buf) + body) break;
        }
    }
    buf[len] = '\0';
    pthread_mutex_lock(&s->lock);
    snprintf(s->last_request, sizeof s->last_request, "%s", buf);
    s->requests++;
    pthread_mutex_unlock(&s->lock);
    char body[1024], answer[2048];
    int code;
    if (strncmp(buf, "GET /remote/v1/status/s-missing", 31) == 0) {
        code = 404;
        snprintf(body, sizeof body, "{\"code\": 404, \"messages\": [\"NOT_FOUND [404]: status not found\"]}");
    } else if (strncmp(buf, "GET /remote/v1/status/", 22) == 0) {
        code = 200;
        snprintf(body, sizeof body,
                 "{\"operation\": \"create\", \"component\": \"remote\", \"state\": \"RUNNING\","
                 " \"uri\": \"http://127.0.0.1:%d/remote/v1/thing/x\","
                 " \"status_uri\": \"http://127.0.0.1:%d/remote/v1/status/s-remote\","
                 " \"progress\": 40, \"messages\": [], \"children\": [], \"failures\": 0,"
                 " \"ctime\": 1, \"mtime\": 2, \"concurrency\": 1}",
                 s->port, s->port);
    } else if (strncmp(buf, "POST ", 5) == 0) {
        code = 202;
        snprintf(body, sizeof body,
                 "{\"state\": \"PENDING\", \"status_uri\": \"http://127.0.0.1:%d/remote/v1/status/s-remote\"}",
                 s->port);
    } else {
        code = 200;
        snprintf(body, sizeof body, "{\"hello\": \"world\"}");
    }
    int n = snprintf(answer, sizeof answer,
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nX-Remote: yes\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     code, strlen(body), strncmp(buf, "HEAD ", 5) == 0 ? "" : body);
    send_all(c, answer, (size_t)n);
}

static void *fake_main(void *arg) {
    fake_server *s = arg;
    while (!s->stop) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (s->kind == FAKE_ADMIN) serve_admin(c);
        else serve_http(s, c);
        close(c);
    }
    return NULL;
}

static void fake_start(fake_server *s, fake_kind kind) {
    memset(s, 0, sizeof *s);
    s->kind = kind;
    pthread_mutex_init(&s->lock, NULL);
    s->fd = listen_any(&s->port);
    if (pthread_create(&s->thread, NULL, fake_main, s) != 0) exit(2);
}

static void fake_stop(fake_server *s) {
    s->stop = true;
    shutdown(s->fd, SHUT_RDWR); /* wakes accept() */
    pthread_join(s->thread, NULL);
    close(s->fd);
    pthread_mutex_destroy(&s->lock);
}

/* ---- helpers ------------------------------------------------------------- */

static gbx_config *make_config(int gearman_port) {
    char text[1024];
    snprintf(text, sizeof text,
             "{\"gearman\": {\"servers\": [\"127.0.0.1:%d\"]},"
             " \"handlers\": [\"do_put_barn_animal_v1\", \"do_get_barn_animal_v1\","
             "                \"do_post_barn_event_v2\", \"do_delete_barn_animal_v1\"],"
             " \"jobs\": {\"retry_max_attempts\": 3, \"retry_max_delay\": 60, \"sync_timeout\": 2,"
             "          \"submit_timeout\": 1, \"rest_timeout\": 10, \"rest_hosts\": [\"127.0.0.1\"]}}",
             gearman_port);
    json_t *root = NULL;
    CHECK_INT(gbx_json_parse(&root, text, strlen(text)), GBX_OK);
    gbx_config *cfg = NULL;
    CHECK_INT(gbx_config_from_json(&cfg, root, NULL), GBX_OK);
    json_decref(root);
    return cfg;
}

static bool contains(const json_t *array, const char *s) {
    size_t i;
    json_t *v;
    json_array_foreach(array, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) return true;
    }
    return false;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_basics(void) {
    gbx_jobmanager *jm = NULL;
    CHECK_INT(gbx_jobmanager_new(&jm, NULL, NULL), GBX_OK);
    CHECK(gbx_jobmanager_store(jm) == NULL);
    CHECK(gbx_jobmanager_config(jm) == NULL);
    CHECK(gbx_jobmanager_current(jm) == NULL);
    CHECK_INT(gbx_jobmanager_set_base_uri(jm, "http://h/barn/v1/"), GBX_OK);
    CHECK_INT(gbx_jobmanager_set_base_uri(jm, NULL), GBX_OK);
    gbx_jobmanager_free(jm);
    gbx_jobmanager_free(NULL);

    char *id = NULL;
    CHECK_INT(gbx_jobmanager_gen_id(&id, "a"), GBX_OK);
    CHECK(id && gbx_id_is_valid(id, "a"));
    CHECK_INT(strlen(id), 2 + GBX_ID_CHARS);
    char *id2 = NULL;
    CHECK_INT(gbx_jobmanager_gen_id(&id2, "a"), GBX_OK);
    CHECK(id2 && strcmp(id, id2) != 0);
    free(id);
    free(id2);
    CHECK_INT(gbx_jobmanager_gen_id(&id, "waytoolongprefixwaytoolongprefixwaytoolong"), GBX_ERR_BAD_REQUEST);
    CHECK(id == NULL);
}

static void test_retry_schedule(void) {
    static const double fib[] = {1, 1, 2, 3, 5, 8, 13};
    for (int i = 0; i < 7; i++) CHECK(gbx__jm_retry_delay(i + 1, 60, 15, 1) == fib[i]); /* no jitter <= 15 s */
    CHECK(gbx__jm_retry_delay(0, 60, 15, 0) == 1);
    CHECK(gbx__jm_retry_delay(8, 60, 15, 0) == 21);
    CHECK(gbx__jm_retry_delay(9, 60, 15, 0) == 34);
    CHECK(gbx__jm_retry_delay(10, 60, 15, 0) == 55);
    CHECK(gbx__jm_retry_delay(11, 60, 15, 0) == 60); /* 89, capped */
    CHECK(gbx__jm_retry_delay(1000, 300, 15, 0) == 300);
    CHECK(gbx__jm_retry_delay(5, 3, 15, 0) == 3); /* a small cap */
    /* Gearbox's jitter: up to max_jitter s added once the pause is above
     * max_jitter, after the cap. */
    double d = gbx__jm_retry_delay(11, 60, 15, 0.5);
    CHECK(d > 67.49 && d < 67.51);
    CHECK(gbx__jm_retry_delay(11, 60, 15, 7) <= 75); /* jitter clamped */
    CHECK(gbx__jm_retry_delay(11, 60, 15, -1) == 60);
    CHECK(gbx__jm_retry_delay(5, 4, 3, 1) == 7);   /* 4 > 3: 4 + 3 */
    CHECK(gbx__jm_retry_delay(5, 4, 5, 1) == 4);   /* 4 <= 5: none */
    CHECK(gbx__jm_retry_delay(12, 300, 0, 1) == 144); /* max_jitter 0: none */
}

/* A job manager on a config parsed from `text` and a SQLite store at `path`
 * (no gearmand needs to listen: the store is what these tests look at). */
typedef struct jm_fixture {
    gbx_config *cfg;
    gbx_store *store;
    gbx_jobmanager *jm;
} jm_fixture;

static jm_fixture jm_fixture_open(const char *text, const char *path) {
    jm_fixture f = {0};
    json_t *root = NULL;
    CHECK_INT(gbx_json_parse(&root, text, strlen(text)), GBX_OK);
    CHECK_INT(gbx_config_from_json(&f.cfg, root, NULL), GBX_OK);
    json_decref(root);
    CHECK_INT(gbx_store_open_sqlite(&f.store, path), GBX_OK);
    CHECK_INT(gbx_jobmanager_new(&f.jm, f.cfg, f.store), GBX_OK);
    return f;
}

/* Frees the fixture and deletes the database with its WAL files. */
static void jm_fixture_close(jm_fixture *f, const char *path) {
    gbx_jobmanager_free(f->jm);
    gbx_store_free(f->store);
    gbx_config_free(f->cfg);
    static const char *const sides[] = {"", "-wal", "-shm"};
    for (size_t k = 0; k < 3; k++) {
        char side[620];
        snprintf(side, sizeof side, "%s%s", path, sides[k]);
        unlink(side);
    }
}

/* retry(job, max_delay, max_jitter) on a job manager with `jobs` as its
 * config section: the caller's cap and jitter bound the pause; after
 * `give_up` failures (0: none within `tries`) the status fails. */
static void retry_attempts(const char *dir, const char *jobs, int give_up, int tries) {
    char path[600], text[1024];
    snprintf(path, sizeof path, "%s/retry.db", dir);
    snprintf(text, sizeof text,
             "{\"gearman\": {\"servers\": [\"127.0.0.1:%d\"]},"
             " \"handlers\": [\"do_put_barn_animal_v1\"], \"jobs\": %s}",
             closed_port(), jobs);
    jm_fixture f = jm_fixture_open(text, path);
    gbx_jobmanager *jm = f.jm;
    gbx_job *job = NULL;
    CHECK_INT(gbx_jobmanager_job(&job, jm, "do_put_barn_animal_v1"), GBX_OK);
    CHECK_INT(gbx_jobmanager_run(NULL, jm, job), GBX_OK); /* stays queued: no gearmand */
    gbx_status *st = job ? gbx_job_status(job) : NULL;
    CHECK(st != NULL);
    if (!st) tries = 0;
    else CHECK_INT(gbx_status_set_state(st, GBX_STATE_RUNNING), GBX_OK);
    for (int i = 1; i <= tries; i++) {
        double before = now_s();
        gbx_error_set(GBX_ERR_SERVICE_UNAVAILABLE, "backend is flaky");
        gbx_err err = gbx_jobmanager_retry(jm, job, 2, 0.5);
        CHECK_INT(gbx_status_failures(st), i);
        if (i == give_up) {
            CHECK_INT(err, GBX_ERR_INTERNAL_SERVER_ERROR);
            char want[128];
            snprintf(want, sizeof want, "do_put_barn_animal_v1 gave up after %d attempts: backend is flaky", i);
            CHECK_STR(gbx_error_last()->message, want);
            CHECK(gbx_status_has_completed(st));
            break;
        }
        CHECK_INT(err, GBX_OK);
        /* Fibonacci 1, 1, then capped at 2; 2 > 0.5 adds up to 0.5 s. */
        double pause = gbx_status_ytime(st) - before;
        CHECK(pause >= (i <= 2 ? 1 : 2) - 0.01);
        CHECK(pause <= (i <= 2 ? 1.5 : 2.5) + 1); /* + the clock's slack */
        CHECK(!gbx_status_has_completed(st));
    }
    gbx_job_free(job);
    jm_fixture_close(&f, path);
}

static void test_retry_caps(const char *dir) {
    retry_attempts(dir, "{}", 25, 25);                         /* the default cap */
    retry_attempts(dir, "{\"retry_max_attempts\": 4}", 4, 4);
    retry_attempts(dir, "{\"retry_max_attempts\": 0}", 0, 40); /* never gives up */
}

/* A job whose worker died (its lease ran out): the scheduler step decides
 * by its status.  No gearmand listens; the store is what matters. */
static void worker_died(const char *dir, gbx_state state, bool retryable) {
    char path[600], text[512];
    snprintf(path, sizeof path, "%s/died.db", dir);
    snprintf(text, sizeof text,
             "{\"gearman\": {\"servers\": [\"127.0.0.1:%d\"]}, \"handlers\": [\"do_put_barn_animal_v1\"],"
             " \"jobs\": {\"submit_timeout\": 1}}", closed_port());
    jm_fixture f = jm_fixture_open(text, path);
    gbx_jobmanager *jm = f.jm;
    gbx_store *store = f.store;
    gbx_job *job = NULL;
    CHECK_INT(gbx_jobmanager_job(&job, jm, "do_put_barn_animal_v1"), GBX_OK);
    CHECK_INT(gbx_jobmanager_run(NULL, jm, job), GBX_OK);
    gbx_status *st = job ? gbx_job_status(job) : NULL;
    const char *ticket = job ? gbx_envelope_get(gbx_job_envelope(job), "ticket") : NULL;
    CHECK(st && ticket);
    if (!st || !ticket) goto done;
    /* A worker takes it for 50 ms, starts it (or not), and dies. */
    bool taken = false;
    CHECK_INT(gbx__queue_take(&taken, store, ticket, 0.05, retryable), GBX_OK);
    CHECK(taken);
    if (state == GBX_STATE_RUNNING) {
        CHECK_INT(gbx_status_set_state(st, GBX_STATE_RUNNING), GBX_OK);
        CHECK_INT(gbx_status_add_concurrency(st, 1), GBX_OK);
    }
    double until = now_s() + 30;
    bool handled = false;
    while (!handled && now_s() < until) {
        pause_ms(20);
        CHECK_INT(gbx_jobmanager_run_due(NULL, NULL, jm), GBX_OK);
        CHECK_INT(gbx_status_refresh(st), GBX_OK);
        if (state == GBX_STATE_PENDING) {
            /* Back in the queue as it was: the next worker takes it. */
            CHECK_INT(gbx__queue_take(&taken, store, ticket, 30, true), GBX_OK);
            handled = taken;
        } else {
            handled = gbx_status_failures(st) > 0 || gbx_status_has_completed(st);
        }
    }
    CHECK(handled);
    json_t *messages = gbx_status_messages(st);
    const char *last = json_string_value(json_array_get(messages, json_array_size(messages) - 1));
    if (state == GBX_STATE_PENDING) {
        /* Never started: no failure counted. */
        CHECK_INT(gbx_status_state(st), GBX_STATE_PENDING);
        CHECK_INT(gbx_status_failures(st), 0);
    } else if (retryable) {
        /* A failed attempt, retried after the first Fibonacci pause. */
        CHECK_INT(gbx_status_state(st), GBX_STATE_RUNNING);
        CHECK_INT(gbx_status_failures(st), 1);
        CHECK_INT(gbx_status_concurrency(st), 0);
        CHECK(gbx_status_ytime(st) > 0);
        CHECK_INT(gbx__queue_take(&taken, store, ticket, 30, true), GBX_OK);
        CHECK(!taken); /* the dead worker's row is gone ... */
        size_t rows = 0;
        CHECK_INT(gbx__queue_reschedule(&rows, store, gbx_status_id(st), gbx__now()), GBX_OK);
        CHECK_INT(rows, 1); /* ... and the retry's is there */
    } else {
        CHECK_INT(gbx_status_state(st), GBX_STATE_COMPLETED);
        CHECK_INT(gbx_status_code(st), 500);
        CHECK(last && strstr(last, "worker died") != NULL);
    }
done:
    gbx_job_free(job);
    jm_fixture_close(&f, path);
}

static void test_worker_died(const char *dir) {
    worker_died(dir, GBX_STATE_RUNNING, true);
    worker_died(dir, GBX_STATE_RUNNING, false);
    worker_died(dir, GBX_STATE_PENDING, true);
}

/* The scheduler step deletes finished statuses past status.retention_days
 * (here 0.00001 days, 0.864 s) and keeps the others. */
static void test_retention(const char *dir) {
    char path[600], text[512];
    snprintf(path, sizeof path, "%s/retention.db", dir);
    snprintf(text, sizeof text,
             "{\"gearman\": {\"servers\": [\"127.0.0.1:%d\"]},"
             " \"status\": {\"retention_days\": 0.00001}}", closed_port());
    jm_fixture f = jm_fixture_open(text, path);
    gbx_store *store = f.store;
    gbx_status_spec done_spec = {.id = "s-old-done", .operation = "create"};
    gbx_status_spec open_spec = {.id = "s-old-open", .operation = "create"};
    gbx_status *done = NULL, *open = NULL;
    CHECK_INT(gbx_status_create(&done, store, &done_spec), GBX_OK);
    CHECK_INT(gbx_status_create(&open, store, &open_spec), GBX_OK);
    if (done) {
        CHECK_INT(gbx_status_set_state(done, GBX_STATE_RUNNING), GBX_OK);
        CHECK_INT(gbx_status_success(done), GBX_OK);
    }
    double until = now_s() + 30;
    while (now_s() < gbx_status_mtime(done) + 1 && now_s() < until) pause_ms(20);
    CHECK_INT(gbx_jobmanager_run_due(NULL, NULL, f.jm), GBX_OK);
    gbx_status *st = NULL;
    CHECK_INT(gbx_status_fetch(&st, store, "s-old-done"), GBX_ERR_NOT_FOUND);
    CHECK_INT(gbx_status_fetch(&st, store, "s-old-open"), GBX_OK);
    gbx_status_free(st);
    gbx_status_free(done);
    gbx_status_free(open);
    jm_fixture_close(&f, path);
}

static void test_job_from_name(void) {
    int port = closed_port();
    gbx_config *cfg = make_config(port);
    gbx_jobmanager *jm = NULL;
    CHECK_INT(gbx_jobmanager_new(&jm, cfg, NULL), GBX_OK);
    CHECK(gbx_jobmanager_config(jm) == cfg);
    gbx_job *job = NULL;

    /* No base URI yet. */
    CHECK_INT(gbx_jobmanager_job(&job, jm, "do_put_barn_animal_v1"), GBX_OK);
    if (job) {
        CHECK_STR(gbx_job_name(job), "do_put_barn_animal_v1");
        CHECK_STR(gbx_job_operation(job), "create");
        CHECK_STR(gbx_job_component(job), "barn");
        CHECK_STR(gbx_job_resource_type(job), "animal");
        CHECK_STR(gbx_job_type(job), "async");
        CHECK_STR(gbx_job_api_version(job), "v1");
        CHECK(gbx_job_base_uri(job) == NULL);
        CHECK(gbx_job_status_id(job) == NULL);
        CHECK(gbx_job_status(job) == NULL);
        CHECK(!gbx_job_is_rest(job));
        CHECK_INT(gbx_envelope_validate(gbx_job_envelope(job)), GBX_OK);
    }
    gbx_job_free(job);

    CHECK_INT(gbx_jobmanager_set_base_uri(jm, "http://h:4080/barn/v1/"), GBX_OK);
    static const struct {
        const char *name, *operation, *base;
    } cases[] = {
        {"do_get_barn_animal_v1", "get", "http://h:4080/barn/v1"},
        {"do_put_barn_animal_v1", "create", "http://h:4080/barn/v1"},
        {"do_post_barn_event_v2", "create", "http://h:4080/barn/v2"}, /* the handler's version */
        {"do_delete_barn_animal_v1", "delete", "http://h:4080/barn/v1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        job = NULL;
        CHECK_INT(gbx_jobmanager_job(&job, jm, cases[i].name), GBX_OK);
        if (!job) continue;
        CHECK_STR(gbx_job_operation(job), cases[i].operation);
        CHECK_STR(gbx_job_base_uri(job), cases[i].base);
        gbx_job_free(job);
    }
    CHECK_INT(gbx_jobmanager_job(&job, jm, "do_post_barn_event_v2"), GBX_OK);
    if (job) CHECK_STR(gbx_job_resource_uri(job), "http://h:4080/barn/v2/event");
    gbx_job_free(job);

    /* Not a handler name; a name gearmand cannot confirm (it is not running). */
    job = (gbx_job *)1;
    CHECK_INT(gbx_jobmanager_job(&job, jm, "get_barn"), GBX_ERR_BAD_REQUEST);
    CHECK(job == NULL);
    CHECK_INT(gbx_jobmanager_job(&job, jm, NULL), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_jobmanager_job(&job, jm, "do_get_barn_pig_v1"), GBX_ERR_SERVICE_UNAVAILABLE);
    CHECK(strstr(gbx_error_last()->message, "do_get_barn_pig_v1") != NULL);

    /* The current job gives base_uri, remote, trace context and environ. */
    gbx_envelope *env = NULL;
    CHECK_INT(gbx_envelope_new(&env), GBX_OK);
    gbx_envelope_set(env, "name", "do_get_barn_animal_v1");
    gbx_envelope_set(env, "operation", "get");
    gbx_envelope_set(env, "component", "barn");
    gbx_envelope_set(env, "resource.type", "animal");
    gbx_envelope_set(env, "base_uri", "http://other:1/farm/v3");
    gbx_envelope_set(env, "remote.ip", "10.0.0.7");
    gbx_envelope_set(env, "remote.user", "fern");
    gbx_envelope_set(env, "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    gbx_envelope_set(env, "tracestate", "congo=t61rcWkgMzE");
    json_t *environ_ = json_pack("{s:s}", "STAGE", "test");
    gbx_envelope_set_json(env, "environ", environ_);
    json_decref(environ_);
    gbx_job *current = NULL;
    CHECK_INT(gbx_job_new(&current, env), GBX_OK);
    gbx_jobmanager_set_current(jm, current);
    CHECK(gbx_jobmanager_current(jm) == current);
    CHECK_INT(gbx_jobmanager_job(&job, jm, "do_get_barn_animal_v1"), GBX_OK);
    if (job) {
        CHECK_STR(gbx_job_base_uri(job), "http://other:1/farm/v1");
        CHECK_STR(gbx_job_remote_ip(job), "10.0.0.7");
        CHECK_STR(gbx_job_remote_user(job), "fern");
        /* The next hop of the trace: same trace-id and flags, the current
         * job's span as the parent-id; its tracestate. */
        const char *tp = gbx_job_traceparent(job);
        CHECK(tp && strncmp(tp, "00-0af7651916cd43dd8448eb211c80319c-", 36) == 0 &&
              strlen(tp) == 55 && strcmp(tp + 52, "-01") == 0);
        CHECK(tp && strncmp(tp + 36, "b7ad6b7169203331", 16) != 0);
        CHECK_STR(gbx_job_trace_id(job), "0af7651916cd43dd8448eb211c80319c");
        CHECK_STR(gbx_job_tracestate(job), "congo=t61rcWkgMzE");
        CHECK_STR(json_string_value(json_object_get(gbx_job_environ(job), "STAGE")), "test");
        /* A sibling has the same parent (one span per run of the job). */
        gbx_job *sibling = NULL;
        CHECK_INT(gbx_jobmanager_job(&sibling, jm, "do_get_barn_animal_v1"), GBX_OK);
        if (sibling && tp) CHECK_STR(gbx_job_traceparent(sibling), tp);
        gbx_job_free(sibling);
    }
    gbx_job_free(job);
    gbx_jobmanager_set_current(jm, NULL);
    CHECK(gbx_jobmanager_current(jm) == NULL);

    /* job(name, envelope): a renamed deep copy, status kept, ticket dropped. */
    gbx_envelope_set(env, "status", "s-6xh9p61rczmddwett5ahzwmke1");
    gbx_envelope_set(env, "ticket", "t-6xh9p61rczmddwett5ahzwmke1");
    CHECK_INT(gbx_jobmanager_job_from_envelope(&job, jm, "do_put_barn_animal_v1", env), GBX_OK);
    if (job) {
        CHECK_STR(gbx_job_name(job), "do_put_barn_animal_v1");
        CHECK_STR(gbx_job_status_id(job), "s-6xh9p61rczmddwett5ahzwmke1");
        CHECK(gbx_envelope_get(gbx_job_envelope(job), "ticket") == NULL);
        CHECK_STR(gbx_job_remote_user(job), "fern");
        CHECK(gbx_job_envelope(job) != env);
    }
    gbx_job_free(job);
    CHECK_INT(gbx_jobmanager_job_from_envelope(&job, jm, NULL, env), GBX_OK);
    if (job) CHECK_STR(gbx_job_name(job), "do_get_barn_animal_v1");
    gbx_job_free(job);
    CHECK_INT(gbx_jobmanager_job_from_envelope(&job, jm, "x", NULL), GBX_ERR_BAD_REQUEST);
    gbx_envelope_free(env);
    gbx_job_free(current);

    /* REST jobs. */
    CHECK_INT(gbx_jobmanager_rest_job(&job, jm, GBX_METHOD_PUT, "http://h:1/silo/v1/grain/x"), GBX_OK);
    if (job) {
        CHECK(gbx_job_is_rest(job));
        CHECK_INT(gbx_job_rest_method(job), GBX_METHOD_PUT);
        CHECK_STR(gbx_job_rest_uri(job), "http://h:1/silo/v1/grain/x");
        CHECK_STR(gbx_job_name(job), "PUT http://h:1/silo/v1/grain/x");
        CHECK_STR(gbx_job_operation(job), "create");
        gbx_job *copy = NULL;
        CHECK_INT(gbx_job_copy(&copy, job), GBX_OK);
        CHECK(copy && gbx_job_is_rest(copy));
        gbx_job_free(copy);
        /* Only async jobs can be delayed or retried. */
        CHECK_INT(gbx_jobmanager_delay(NULL, jm, job, 1), GBX_ERR_BAD_REQUEST);
        CHECK_INT(gbx_jobmanager_retry(jm, job, 0, -1), GBX_ERR_BAD_REQUEST);
    }
    gbx_job_free(job);
    CHECK_INT(gbx_jobmanager_rest_job(&job, jm, GBX_METHOD_DELETE, "ftp://h/x"), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_jobmanager_rest_job(&job, jm, (gbx_http_method)17, "http://h/x"), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_jobmanager_rest_job(&job, jm, GBX_METHOD_GET, NULL), GBX_ERR_BAD_REQUEST);

    /* A sync run with gearmand away: 503, never a hang. */
    CHECK_INT(gbx_jobmanager_job(&job, jm, "do_get_barn_animal_v1"), GBX_OK);
    CHECK_INT(gbx_job_set_type(job, GBX_JOB_SYNC), GBX_OK);
    gbx_response *resp = (gbx_response *)1;
    CHECK_INT(gbx_jobmanager_run(&resp, jm, job), GBX_ERR_SERVICE_UNAVAILABLE);
    CHECK(resp == NULL);
    /* An async job without a store cannot run. */
    CHECK_INT(gbx_job_set_type(job, GBX_JOB_ASYNC), GBX_OK);
    CHECK_INT(gbx_jobmanager_run(&resp, jm, job), GBX_ERR_INTERNAL_SERVER_ERROR);
    CHECK_INT(gbx_jobmanager_submit(jm, "do_get_barn_animal_v1", "u", "{}", 2), GBX_ERR_SERVICE_UNAVAILABLE);
    CHECK(strstr(gbx_error_last()->message, "cannot queue job do_get_barn_animal_v1") != NULL);
    gbx_job_free(job);
    gbx_jobmanager_free(jm);
    gbx_config_free(cfg);
}

/* Which handlers gearmand knows: its admin "status" answer, workers > 0. */
static void test_known_handlers(void) {
    fake_server admin;
    fake_start(&admin, FAKE_ADMIN);
    json_t *map = NULL;
    char server[64];
    snprintf(server, sizeof server, "127.0.0.1:%d", admin.port);
    CHECK_INT(gbx_servers_admin_status(&map, server, 5), GBX_OK);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(map, "do_get_barn_animal_v1"), "workers")), 2);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(map, "do_get_barn_animal_v1"), "total")), 3);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(map, "do_get_barn_animal_v1"), "running")), 1);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(map, "do_get_barn_ghost_v1"), "workers")), 0);
    CHECK_INT(json_object_size(map), 2);
    json_decref(map);
    snprintf(server, sizeof server, "127.0.0.1:%d", closed_port());
    CHECK_INT(gbx_servers_admin_status(&map, server, 5), GBX_ERR_SERVICE_UNAVAILABLE);
    CHECK(map == NULL);

    snprintf(server, sizeof server, "127.0.0.1:%d", admin.port);
    json_t *root = json_pack("{s:s}", "gearman", server);
    gbx_config *cfg = NULL;
    CHECK_INT(gbx_config_from_json(&cfg, root, NULL), GBX_OK);
    json_decref(root);
    gbx_jobmanager *jm = NULL;
    CHECK_INT(gbx_jobmanager_new(&jm, cfg, NULL), GBX_OK);
    gbx_job *job = NULL;
    CHECK_INT(gbx_jobmanager_job(&job, jm, "do_get_barn_animal_v1"), GBX_OK);
    gbx_job_free(job);
    job = NULL;
    /* Known to gearmand, but no worker serves it. */
    CHECK_INT(gbx_jobmanager_job(&job, jm, "do_get_barn_ghost_v1"), GBX_ERR_NOT_FOUND);
    CHECK_STR(gbx_error_last()->message, "handler \"do_get_barn_ghost_v1\" is not known");
    CHECK_INT(gbx_jobmanager_job(&job, jm, "do_get_barn_nothing_v1"), GBX_ERR_NOT_FOUND);
    CHECK(job == NULL);
    gbx_jobmanager_free(jm);
    gbx_config_free(cfg);
    fake_stop(&admin);
}

/* A parent status and a current job reporting to it, as the worker has them. */
static gbx_job *make_current(gbx_store *store, gbx_status **parent_out) {
    gbx_status_spec spec = {.operation = "create", .component = "barn",
                            .uri = "http://h:4080/barn/v1/farm/x",
                            .status_base = "http://h:4080/barn/v1/status", .scope = "/barn"};
    gbx_status *parent = NULL;
    CHECK_INT(gbx_status_create(&parent, store, &spec), GBX_OK);
    CHECK_INT(gbx_status_set_state(parent, GBX_STATE_RUNNING), GBX_OK);
    gbx_envelope *env = NULL;
    gbx_envelope_new(&env);
    gbx_envelope_set(env, "name", "do_put_barn_farm_v1");
    gbx_envelope_set(env, "operation", "create");
    gbx_envelope_set(env, "component", "barn");
    gbx_envelope_set(env, "resource.type", "farm");
    gbx_envelope_set(env, "base_uri", "http://h:4080/barn/v1");
    gbx_envelope_set(env, "status", gbx_status_id(parent));
    json_t *headers = json_pack("{s:s, s:s, s:s, s:s, s:s}", "X-Trace", "abc", "Host", "h:4080",
                                "Content-Length", "5", "Authorization", "Basic Zm9vOmJhcg==",
                                "Idempotency-Key", "k1");
    gbx_envelope_set_json(env, "headers", headers);
    json_decref(headers);
    gbx_job *job = NULL;
    CHECK_INT(gbx_job_new(&job, env), GBX_OK);
    gbx_envelope_free(env);
    /* The job owns the handle, as a handler's job does; the test borrows it. */
    gbx__job_set_status(job, parent);
    *parent_out = parent;
    return job;
}

/* A store <dir>/<file>, a job manager on it whose gearmand is a closed
 * port, and a current job reporting to a RUNNING parent (make_current). */
typedef struct {
    char path[600];
    gbx_store *store;
    gbx_config *cfg;
    gbx_jobmanager *jm;
    gbx_status *parent; /* owned by `current` */
    gbx_job *current;
} offline_jm;

static void offline_open(offline_jm *o, const char *dir, const char *file) {
    snprintf(o->path, sizeof o->path, "%s/%s", dir, file);
    o->store = NULL;
    o->jm = NULL;
    CHECK_INT(gbx_store_open_sqlite(&o->store, o->path), GBX_OK);
    o->cfg = make_config(closed_port());
    CHECK_INT(gbx_jobmanager_new(&o->jm, o->cfg, o->store), GBX_OK);
    CHECK(gbx_jobmanager_store(o->jm) == o->store);
    o->parent = NULL;
    o->current = make_current(o->store, &o->parent);
    gbx_jobmanager_set_current(o->jm, o->current);
}

static void offline_close(offline_jm *o) {
    gbx_jobmanager_set_current(o->jm, NULL);
    gbx_job_free(o->current);
    gbx_jobmanager_free(o->jm);
    gbx_config_free(o->cfg);
    gbx_store_free(o->store);
    unlink(o->path);
}

static void test_async(const char *dir) {
    offline_jm o;
    offline_open(&o, dir, "async.db");
    gbx_store *store = o.store;
    gbx_jobmanager *jm = o.jm;
    gbx_status *parent = o.parent;

    /* A child: its own status, parent_uri set, listed by the parent; queued
     * although gearmand is away (202 all the same). */
    gbx_job *child = NULL;
    gbx_response *resp = NULL;
    CHECK_INT(gbx_jobmanager_job(&child, jm, "do_put_barn_animal_v1"), GBX_OK);
    CHECK_INT(gbx_job_set(child, "resource.name", "Wilbur"), GBX_OK);
    CHECK_INT(gbx_jobmanager_run(&resp, jm, child), GBX_OK);
    CHECK_INT(gbx_response_code(resp), 202);
    const char *suri = gbx_response_status_uri(resp);
    CHECK(suri && strncmp(suri, "http://h:4080/barn/v1/status/s-", 31) == 0);
    json_t *body = NULL;
    size_t blen = 0;
    const char *content = gbx_response_content(resp, &blen);
    CHECK_INT(gbx_json_parse(&body, content, blen), GBX_OK);
    CHECK_STR(json_string_value(json_object_get(body, "state")), "PENDING");
    CHECK_STR(json_string_value(json_object_get(body, "status_uri")), suri);
    CHECK_STR(json_string_value(json_object_get(body, "parent_uri")), gbx_status_status_uri(parent));
    CHECK_STR(json_string_value(json_object_get(body, "uri")), "http://h:4080/barn/v1/animal/Wilbur");
    CHECK_STR(json_string_value(json_object_get(body, "operation")), "create");
    json_decref(body);
    CHECK(contains(gbx_status_children(parent), suri));
    CHECK(gbx_job_status(child) != NULL);
    const char *child_id = gbx_job_status_id(child);
    CHECK(child_id && gbx_id_is_valid(child_id, "s"));
    CHECK_STR(gbx_status_scope(gbx_job_status(child)), "/barn");
    CHECK_STR(gbx_envelope_get(gbx_job_envelope(child), "parent_uri"), gbx_status_status_uri(parent));
    char ticket[GBX_ID_MAX];
    snprintf(ticket, sizeof ticket, "%s", gbx_envelope_get(gbx_job_envelope(child), "ticket"));
    CHECK(gbx_id_is_valid(ticket, "t"));
    char *stored = NULL;
    CHECK_INT(gbx_status_envelope(&stored, gbx_job_status(child)), GBX_OK);
    CHECK(stored && strstr(stored, child_id) != NULL); /* the envelope, with its status id */
    free(stored);
    gbx_response_free(resp);

    /* A second child comes after the first: children in start order. */
    gbx_job *child2 = NULL;
    CHECK_INT(gbx_jobmanager_job(&child2, jm, "do_get_barn_animal_v1"), GBX_OK);
    CHECK_INT(gbx_jobmanager_run(NULL, jm, child2), GBX_OK);
    json_t *children = gbx_status_children(parent);
    CHECK_INT(json_array_size(children), 2);
    CHECK_STR(json_string_value(json_array_get(children, 1)), gbx_status_status_uri(gbx_job_status(child2)));
    gbx_job_free(child2);

    /* The row is there: the worker takes it exactly once. */
    bool taken = false;
    CHECK_INT(gbx__queue_take(&taken, store, ticket, 30, true), GBX_OK);
    CHECK(taken);
    CHECK_INT(gbx__queue_take(&taken, store, ticket, 30, true), GBX_OK);
    CHECK(!taken);
    CHECK_INT(gbx__queue_done(store, ticket), GBX_OK);

    /* A continuation (a copy of the job): same status, a new ticket. */
    gbx_job *cont = NULL;
    CHECK_INT(gbx_job_copy(&cont, child), GBX_OK);
    CHECK_INT(gbx_job_set_name(cont, "do_get_barn_animal_v1"), GBX_OK);
    CHECK_INT(gbx_jobmanager_run(&resp, jm, cont), GBX_OK);
    CHECK_STR(gbx_response_status_uri(resp), gbx_status_status_uri(gbx_job_status(child)));
    CHECK_STR(gbx_job_status_id(cont), child_id);
    const char *ticket2 = gbx_envelope_get(gbx_job_envelope(cont), "ticket");
    CHECK(ticket2 && strcmp(ticket2, ticket) != 0);
    CHECK_INT(gbx__queue_take(&taken, store, ticket2, 30, true), GBX_OK);
    CHECK(taken);
    CHECK_INT(gbx__queue_done(store, ticket2), GBX_OK);
    CHECK_INT(json_array_size(gbx_status_children(parent)), 2); /* no new child */
    gbx_response_free(resp);
    gbx_job_free(cont);

    /* A delayed job: row due later, not submitted; ytime shows it. */
    double before = now_s();
    gbx_job *later = NULL;
    CHECK_INT(gbx_jobmanager_job(&later, jm, "do_delete_barn_animal_v1"), GBX_OK);
    CHECK_INT(gbx_jobmanager_delay(&resp, jm, later, 30), GBX_OK);
    CHECK_INT(gbx_response_code(resp), 202);
    gbx_response_free(resp);
    gbx_status *lst = gbx_job_status(later);
    CHECK(lst && gbx_status_ytime(lst) >= before + 30);
    CHECK(lst && gbx_status_state(lst) == GBX_STATE_PENDING);
    size_t submitted = 99;
    double next = 0;
    CHECK_INT(gbx_jobmanager_run_due(&submitted, &next, jm), GBX_OK);
    CHECK_INT(submitted, 0);
    CHECK(next >= before + 30);
    CHECK_INT(gbx_jobmanager_delay(&resp, jm, later, -1), GBX_ERR_BAD_REQUEST);

    /* Due now: the scheduler claims it (the submit fails: gearmand is away)
     * and clears ytime; claimed rows wait for resubmit_after. */
    size_t moved = 0;
    CHECK_INT(gbx__queue_reschedule(&moved, store, gbx_status_id(lst), now_s() - 1), GBX_OK);
    CHECK_INT(moved, 1);
    CHECK_INT(gbx_jobmanager_run_due(&submitted, &next, jm), GBX_OK);
    CHECK_INT(submitted, 0);
    CHECK_INT(gbx_status_refresh(lst), GBX_OK);
    CHECK(gbx_status_ytime(lst) == 0);
    CHECK_INT(gbx_jobmanager_run_due(NULL, NULL, jm), GBX_OK);
    CHECK_INT(gbx_jobmanager_run_due(&submitted, &next, jm), GBX_OK);
    CHECK_INT(submitted, 0);
    gbx_job_free(later);

    /* Retries: Fibonacci pauses, then the cap of 3 attempts fails it. */
    gbx_status *cst = gbx_job_status(child);
    CHECK_INT(gbx_status_set_state(cst, GBX_STATE_RUNNING), GBX_OK);
    before = now_s();
    gbx_error_set(GBX_ERR_SERVICE_UNAVAILABLE, "backend is flaky");
    CHECK_INT(gbx_jobmanager_retry(jm, child, 0, -1), GBX_OK);
    CHECK_INT(gbx_status_failures(cst), 1);
    CHECK(gbx_status_ytime(cst) >= before + 1);
    CHECK(gbx_status_state(cst) == GBX_STATE_RUNNING);
    double due = 0;
    CHECK_INT(gbx__queue_next_due(&due, store), GBX_OK);
    CHECK(due >= before + 1 && due < before + 30);
    before = now_s();
    gbx_error_set(GBX_ERR_SERVICE_UNAVAILABLE, "backend is flaky");
    CHECK_INT(gbx_jobmanager_retry(jm, child, 0, -1), GBX_OK);
    CHECK_INT(gbx_status_failures(cst), 2);
    CHECK(gbx_status_ytime(cst) >= before + 1);
    gbx_error_set(GBX_ERR_SERVICE_UNAVAILABLE, "backend is flaky");
    CHECK_INT(gbx_jobmanager_retry(jm, child, 0, -1), GBX_ERR_INTERNAL_SERVER_ERROR);
    CHECK_STR(gbx_error_last()->message, "do_put_barn_animal_v1 gave up after 3 attempts: backend is flaky");
    CHECK_INT(gbx_status_failures(cst), 3);
    CHECK(gbx_status_has_completed(cst));
    CHECK_INT(gbx_status_code(cst), 500);
    json_t *msgs = gbx_status_messages(cst);
    CHECK(strstr(json_string_value(json_array_get(msgs, json_array_size(msgs) - 1)),
                 "gave up after 3 attempts") != NULL);
    /* The retry rows carry the attempt number. */
    gbx__queued *rows = NULL;
    size_t n = 0;
    CHECK_INT(gbx__queue_reschedule(&moved, store, child_id, now_s() - 1), GBX_OK);
    CHECK_INT(moved, 2);
    CHECK_INT(gbx__queue_claim_due(&rows, &n, store, now_s(), 60, 10), GBX_OK);
    CHECK_INT(n, 2);
    for (size_t i = 0; i < n; i++) {
        CHECK_STR(rows[i].status_id, child_id);
        CHECK(strstr(rows[i].envelope, "\"attempt\":") != NULL);
    }
    gbx__queued_free(rows, n);

    /* Job events: COMPLETED fires COMPLETED and SUCCEEDED (not FAILED); the
     * event jobs are children of the status, with event_status. */
    gbx_job *a = NULL, *ev_done = NULL, *ev_ok = NULL, *ev_fail = NULL;
    CHECK_INT(gbx_jobmanager_job(&a, jm, "do_put_barn_animal_v1"), GBX_OK);
    CHECK_INT(gbx_jobmanager_job(&ev_done, jm, "do_get_barn_animal_v1"), GBX_OK);
    CHECK_INT(gbx_jobmanager_job(&ev_ok, jm, "do_post_barn_event_v2"), GBX_OK);
    CHECK_INT(gbx_jobmanager_job(&ev_fail, jm, "do_delete_barn_animal_v1"), GBX_OK);
    CHECK_INT(gbx_job_on(a, GBX_EVENT_COMPLETED, ev_done), GBX_OK);
    CHECK_INT(gbx_job_on(a, GBX_EVENT_SUCCEEDED, ev_ok), GBX_OK);
    CHECK_INT(gbx_job_on(a, GBX_EVENT_FAILED, ev_fail), GBX_OK);
    CHECK_INT(gbx_jobmanager_run(NULL, jm, a), GBX_OK);
    gbx_status *ast = gbx_job_status(a);
    CHECK_INT(gbx_status_set_state(ast, GBX_STATE_RUNNING), GBX_OK);
    CHECK_INT(gbx_status_success(ast), GBX_OK);
    gbx_jobmanager_set_current(jm, NULL); /* events run outside any handler */
    CHECK_INT(gbx_jobmanager_fire(jm, gbx_job_envelope(a), ast, GBX_EVENT_COMPLETED), GBX_OK);
    CHECK_INT(gbx_status_refresh(ast), GBX_OK);
    json_t *ach = gbx_status_children(ast);
    CHECK_INT(json_array_size(ach), 2);
    for (size_t i = 0; i < json_array_size(ach); i++) {
        gbx_status *ev = NULL;
        CHECK_INT(gbx_jobmanager_status(&ev, jm, json_string_value(json_array_get(ach, i))), GBX_OK);
        if (!ev) continue;
        CHECK_STR(gbx_status_parent_uri(ev), gbx_status_status_uri(ast));
        char *text = NULL;
        gbx_envelope *eenv = NULL;
        CHECK_INT(gbx_status_envelope(&text, ev), GBX_OK);
        CHECK_INT(gbx_envelope_parse(&eenv, text, text ? strlen(text) : 0), GBX_OK);
        CHECK_STR(gbx_envelope_get(eenv, "event_status"), gbx_status_status_uri(ast));
        CHECK_STR(gbx_envelope_get(eenv, "name"), i == 0 ? "do_get_barn_animal_v1" : "do_post_barn_event_v2");
        gbx_envelope_free(eenv);
        free(text);
        gbx_status_free(ev);
    }
    /* STARTED has no job here: nothing happens. */
    CHECK_INT(gbx_jobmanager_fire(jm, gbx_job_envelope(a), ast, GBX_EVENT_STARTED), GBX_OK);
    CHECK_INT(gbx_status_refresh(ast), GBX_OK);
    CHECK_INT(json_array_size(gbx_status_children(ast)), 2);
    CHECK_INT(gbx_jobmanager_fire(jm, gbx_job_envelope(a), ast, GBX_EVENT_UNKNOWN), GBX_ERR_BAD_REQUEST);
    /* An event job that is a copy of a job with a status continues that status. */
    gbx_job *b = NULL, *resume = NULL;
    CHECK_INT(gbx_jobmanager_job(&b, jm, "do_put_barn_animal_v1"), GBX_OK);
    CHECK_INT(gbx_job_copy(&resume, a), GBX_OK);
    CHECK_INT(gbx_job_on(b, GBX_EVENT_FAILED, resume), GBX_OK);
    CHECK_INT(gbx_jobmanager_run(NULL, jm, b), GBX_OK);
    gbx_status *bst = gbx_job_status(b);
    CHECK_INT(gbx_status_set_state(bst, GBX_STATE_RUNNING), GBX_OK);
    CHECK_INT(gbx_status_fail(bst, 409, "nope"), GBX_OK);
    CHECK_INT(gbx_jobmanager_fire(jm, gbx_job_envelope(b), bst, GBX_EVENT_COMPLETED), GBX_OK);
    CHECK_INT(gbx_status_refresh(bst), GBX_OK);
    CHECK_INT(json_array_size(gbx_status_children(bst)), 0);
    gbx_job_free(b);
    gbx_job_free(resume);
    gbx_job_free(a);
    gbx_job_free(ev_done);
    gbx_job_free(ev_ok);
    gbx_job_free(ev_fail);

    /* Statuses and waiting. */
    gbx_status *st = NULL;
    CHECK_INT(gbx_jobmanager_status(&st, jm, child_id), GBX_OK);
    CHECK(st && gbx_status_has_completed(st));
    CHECK_INT(gbx_jobmanager_wait(jm, st, 5), GBX_OK);
    gbx_status_free(st);
    CHECK_INT(gbx_jobmanager_status(&st, jm, "s-00000000000000000000000000"), GBX_ERR_NOT_FOUND);
    CHECK_INT(gbx_jobmanager_wait(jm, parent, 0.2), GBX_ERR_GATEWAY_TIMEOUT); /* still RUNNING */
    char uri[128];
    snprintf(uri, sizeof uri, "http://127.0.0.1:%d/x/v1/status/s-nothere", closed_port());
    CHECK_INT(gbx_jobmanager_status(&st, jm, uri), GBX_ERR_BAD_GATEWAY);
    CHECK(st == NULL);

    /* Without a base URI (a tool's job manager, no current job) the status
     * has no URI: the answer names it by id, so nobody takes the queued job
     * for a finished one. */
    gbx_jobmanager *bare = NULL;
    gbx_envelope *env = NULL;
    gbx_job *lone = NULL;
    CHECK_INT(gbx_jobmanager_new(&bare, NULL, store), GBX_OK);
    CHECK_INT(gbx_envelope_new(&env), GBX_OK);
    CHECK_INT(gbx_envelope_set(env, "operation", "create"), GBX_OK);
    CHECK_INT(gbx_envelope_set(env, "component", "barn"), GBX_OK);
    CHECK_INT(gbx_envelope_set(env, "resource.type", "animal"), GBX_OK);
    CHECK_INT(gbx_jobmanager_job_from_envelope(&lone, bare, "do_put_barn_animal_v1", env), GBX_OK);
    CHECK_INT(gbx_jobmanager_run(&resp, bare, lone), GBX_OK);
    const char *lone_ref = resp ? gbx_response_status_uri(resp) : NULL;
    CHECK(lone_ref && gbx_id_is_valid(lone_ref, "s"));
    CHECK_INT(gbx_jobmanager_status(&st, bare, lone_ref), GBX_OK);
    CHECK(st && gbx_status_state(st) == GBX_STATE_PENDING);
    gbx_status_free(st);
    gbx_response_free(resp);
    gbx_job_free(lone);
    gbx_envelope_free(env);
    gbx_jobmanager_free(bare);

    gbx_job_free(child);
    offline_close(&o);
}

static void test_rest(const char *dir) {
    fake_server http;
    fake_start(&http, FAKE_HTTP);
    offline_jm o;
    offline_open(&o, dir, "rest.db");
    gbx_jobmanager *jm = o.jm;
    gbx_status *parent = o.parent;

    char uri[256];
    snprintf(uri, sizeof uri, "http://127.0.0.1:%d/remote/v1/thing", http.port);
    gbx_job *job = NULL;
    gbx_response *resp = NULL;
    CHECK_INT(gbx_jobmanager_rest_job(&job, jm, GBX_METHOD_POST, uri), GBX_OK);
    CHECK_INT(gbx_job_set_content(job, "{\"name\":\"x\"}", 12), GBX_OK);
    json_t *headers = json_pack("{s:s}", "X-Own", "mine");
    gbx_job_set_json(job, "headers", headers);
    json_decref(headers);
    json_t *query = json_pack("{s:s}", "q", "a b");
    gbx_job_set_json(job, "query_params", query);
    json_decref(query);
    CHECK_INT(gbx_jobmanager_run(&resp, jm, job), GBX_OK);
    CHECK_INT(gbx_response_code(resp), 202);
    char remote_status[256];
    snprintf(remote_status, sizeof remote_status, "http://127.0.0.1:%d/remote/v1/status/s-remote", http.port);
    CHECK_STR(gbx_response_status_uri(resp), remote_status);
    CHECK_STR(json_string_value(json_object_get(gbx_response_headers(resp), "X-Remote")), "yes");
    CHECK(json_object_get(gbx_response_headers(resp), "Content-Length") == NULL);
    CHECK(contains(gbx_status_children(parent), remote_status));
    pthread_mutex_lock(&http.lock);
    const char *req = http.last_request;
    CHECK(strncmp(req, "POST /remote/v1/thing?q=a%20b HTTP/1.1\r\n", 40) == 0);
    CHECK(strstr(req, "\r\nX-Own: mine\r\n") != NULL);
    CHECK(strstr(req, "\r\nX-Trace: abc\r\n") != NULL);          /* forwarded */
    CHECK(strstr(req, "\r\nAuthorization: Basic Zm9vOmJhcg==\r\n") != NULL);
    CHECK(strstr(req, "Idempotency-Key") == NULL);               /* that request's own */
    CHECK(strstr(req, "Host: h:4080") == NULL);                  /* not the old Host */
    CHECK(strstr(req, "\r\nContent-Length: 12\r\n") != NULL);
    CHECK(strstr(req, "\r\nExpect") == NULL);                   /* none, not even empty */
    char parent_line[300];
    snprintf(parent_line, sizeof parent_line, "\r\nGearbox-Parent-Uri: %s\r\n", gbx_status_status_uri(parent));
    CHECK(strstr(req, parent_line) != NULL);
    CHECK(strstr(req, "\r\n\r\n{\"name\":\"x\"}") != NULL);
    pthread_mutex_unlock(&http.lock);
    gbx_response_free(resp);
    gbx_job_free(job);

    /* GET: no body, any answer is the job's response. */
    CHECK_INT(gbx_jobmanager_rest_job(&job, jm, GBX_METHOD_GET, uri), GBX_OK);
    CHECK_INT(gbx_job_set_content(job, "ignored", 7), GBX_OK);
    CHECK_INT(gbx_jobmanager_run(&resp, jm, job), GBX_OK);
    CHECK_INT(gbx_response_code(resp), 200);
    size_t len = 0;
    CHECK_STR(gbx_response_content(resp, &len), "{\"hello\": \"world\"}");
    CHECK(gbx_response_status_uri(resp) == NULL);
    pthread_mutex_lock(&http.lock);
    CHECK(strncmp(http.last_request, "GET /remote/v1/thing HTTP/1.1", 29) == 0);
    CHECK(strstr(http.last_request, "ignored") == NULL);
    pthread_mutex_unlock(&http.lock);
    gbx_response_free(resp);
    gbx_job_free(job);
    CHECK_INT(gbx_jobmanager_rest_job(&job, jm, GBX_METHOD_DELETE, uri), GBX_OK);
    CHECK_INT(gbx_jobmanager_run(NULL, jm, job), GBX_OK);
    pthread_mutex_lock(&http.lock);
    CHECK(strncmp(http.last_request, "DELETE /remote/v1/thing HTTP/1.1", 32) == 0);
    pthread_mutex_unlock(&http.lock);
    gbx_job_free(job);

    /* A remote status: read over HTTP, read-only. */
    gbx_status *st = NULL;
    CHECK_INT(gbx_jobmanager_status(&st, jm, remote_status), GBX_OK);
    if (st) {
        CHECK(gbx_status_is_remote(st));
        CHECK(gbx_status_state(st) == GBX_STATE_RUNNING);
        CHECK_INT(gbx_status_progress_value(st), 40);
        CHECK_STR(gbx_status_status_uri(st), remote_status);
        CHECK_INT(gbx_status_refresh(st), GBX_OK); /* polls the URI again */
        CHECK_INT(gbx_status_add_message(st, "x"), GBX_ERR_METHOD_NOT_ALLOWED);
        CHECK_INT(gbx_jobmanager_wait(jm, st, 0.1), GBX_ERR_GATEWAY_TIMEOUT);
    }
    gbx_status_free(st);
    snprintf(uri, sizeof uri, "http://127.0.0.1:%d/remote/v1/status/s-missing", http.port);
    CHECK_INT(gbx_jobmanager_status(&st, jm, uri), GBX_ERR_NOT_FOUND);

    /* Only to this job's gateway and the hosts of jobs.rest_hosts. */
    pthread_mutex_lock(&http.lock);
    http.last_request[0] = '\0';
    pthread_mutex_unlock(&http.lock);
    const char *refused[] = {"http://localhost:%d/remote/v1/thing", "http://x@127.0.0.1:%d/remote/v1/thing",
                             "http://127.0.0.2:%d/remote/v1/thing"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        snprintf(uri, sizeof uri, refused[i], http.port);
        CHECK_INT(gbx_jobmanager_rest_job(&job, jm, GBX_METHOD_GET, uri), GBX_OK);
        CHECK_INT(gbx_jobmanager_run(&resp, jm, job), GBX_ERR_FORBIDDEN);
        gbx_job_free(job);
        CHECK_INT(gbx_jobmanager_status(&st, jm, uri), GBX_ERR_FORBIDDEN);
    }
    pthread_mutex_lock(&http.lock);
    CHECK_STR(http.last_request, ""); /* nothing was sent */
    pthread_mutex_unlock(&http.lock);
    /* Without rest_hosts: the origin of the job manager's base URI only. */
    gbx_jobmanager *bare = NULL;
    CHECK_INT(gbx_jobmanager_new(&bare, NULL, NULL), GBX_OK);
    snprintf(uri, sizeof uri, "http://127.0.0.1:%d/remote/v1/thing", http.port);
    CHECK_INT(gbx_jobmanager_rest_job(&job, bare, GBX_METHOD_GET, uri), GBX_OK);
    CHECK_INT(gbx_jobmanager_run(&resp, bare, job), GBX_ERR_FORBIDDEN);
    /* An event job may call the gateway of the status that fired it. */
    snprintf(uri, sizeof uri, "http://127.0.0.1:%d/remote/v1/status/s-fired", http.port);
    CHECK_INT(gbx_job_set(job, "event_status", uri), GBX_OK);
    CHECK_INT(gbx_jobmanager_run(&resp, bare, job), GBX_OK);
    gbx_response_free(resp);
    CHECK_INT(gbx_job_set(job, "event_status", NULL), GBX_OK);
    CHECK_INT(gbx_jobmanager_run(&resp, bare, job), GBX_ERR_FORBIDDEN);
    snprintf(uri, sizeof uri, "HTTP://127.0.0.1:%d/remote/v1", http.port);
    CHECK_INT(gbx_jobmanager_set_base_uri(bare, uri), GBX_OK);
    CHECK_INT(gbx_jobmanager_run(&resp, bare, job), GBX_OK);
    CHECK_INT(gbx_response_code(resp), 200);
    gbx_response_free(resp);
    gbx_job_free(job);
    gbx_jobmanager_free(bare);

    offline_close(&o);
    fake_stop(&http);
}

/* One job manager, many threads: each its own client and current job. */
static gbx_jobmanager *shared_jm;

static void *thread_main(void *arg) {
    (void)arg;
    gbx_job *job = NULL;
    for (int i = 0; i < 20; i++) {
        if (gbx_jobmanager_job(&job, shared_jm, "do_get_barn_animal_v1") != GBX_OK) return (void *)1;
        gbx_jobmanager_set_current(shared_jm, job);
        if (gbx_jobmanager_current(shared_jm) != job) return (void *)1;
        gbx_jobmanager_set_current(shared_jm, NULL);
        gbx_job_free(job);
    }
    if (gbx_jobmanager_submit(shared_jm, "do_get_barn_animal_v1", NULL, "{}", 2) != GBX_ERR_SERVICE_UNAVAILABLE)
        return (void *)1;
    return NULL;
}

static void test_threads(void) {
    gbx_config *cfg = make_config(closed_port());
    CHECK_INT(gbx_jobmanager_new(&shared_jm, cfg, NULL), GBX_OK);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) CHECK_INT(pthread_create(&t[i], NULL, thread_main, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *rv = (void *)1;
        pthread_join(t[i], &rv);
        CHECK(rv == NULL);
    }
    gbx_jobmanager_free(shared_jm);
    gbx_config_free(cfg);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    gbx_log_set_level(GBX_LOG_ERROR);
    char dir[] = "/tmp/gbx-test-jm-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    test_basics();
    test_retry_schedule();
    test_retry_caps(dir);
    test_worker_died(dir);
    test_retention(dir);
    test_job_from_name();
    test_known_handlers();
    test_async(dir);
    test_rest(dir);
    test_threads();
    char path[600];
    static const char *const leftovers[] = {"async.db-wal", "async.db-shm", "rest.db-wal", "rest.db-shm"};
    for (size_t i = 0; i < sizeof leftovers / sizeof leftovers[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, leftovers[i]);
        unlink(path);
    }
    rmdir(dir);
    return check_done();
}
