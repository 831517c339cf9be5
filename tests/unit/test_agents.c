/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* test_agents.c - agents: leveling by `require` (diamond, chain,
 * independent), every error with its message, reversed levels, the jobs
 * made from the agents (content, envelope), queues built job by job
 * (gbx_job_queue_new, gbx_job_queue_add).
 *
 * Then, against a gearmand of its own (on a free 127.0.0.1 port, stopped by
 * pid; skipped when there is no gearmand), the event-driven runner in a
 * worker thread (diamond 1/33/66/100, reversed on delete, first failure,
 * leveling errors) and gbx_jobmanager_job_queue_run (success, failure,
 * timeout).  Waits are bounded generously; only lower bounds on time are
 * asserted.  The runner is tested end to end through HTTP in tests/stack. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "gearmand.h"
#include "gearbox/gearbox.h"

static gbx_jobmanager *jm;

/* Handlers the job manager knows from the config (no gearmand needed). */
static const char *const handlers[] = {
    "do_create_farm_a_v1", "do_create_farm_b_v1", "do_create_farm_c_v1",
    "do_create_farm_d_v1", "do_create_farm_e_v1", "do_create_farm_x_v1",
};

#define A "do_create_farm_a_v1"
#define B "do_create_farm_b_v1"
#define C "do_create_farm_c_v1"
#define D "do_create_farm_d_v1"
#define E "do_create_farm_e_v1"
#define X "do_create_farm_x_v1"

static json_t *parse(const char *text) {
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    if (!v) fprintf(stderr, "bad test JSON: %s: %s\n", text, e.text);
    return v;
}

/* The queue's levels as "A|B,C|D" (handler names shortened to their letter). */
static char *levels_of(gbx_job_queue *q) {
    static char buf[256];
    size_t off = 0;
    buf[0] = 0;
    for (size_t l = 0; l < gbx_job_queue_levels(q); l++) {
        for (size_t i = 0; i < gbx_job_queue_level_size(q, l); i++) {
            const char *name = gbx_job_name(gbx_job_queue_job(q, l, i));
            /* "do_create_farm_<letter>_v1" */
            char letter = name && strlen(name) > 15 ? (char)(name[15] - 'a' + 'A') : '?';
            off += (size_t)snprintf(buf + off, sizeof buf - off, "%s%c", i ? "," : (l ? "|" : ""), letter);
        }
    }
    return buf;
}

/* Levels of an agent list, or "ERR <code>: <message>". */
static char *level_text(const char *agents_json) {
    static char buf[512];
    json_t *agents = parse(agents_json);
    gbx_job_queue *q = NULL;
    gbx_err err = gbx_jobmanager_job_queue(&q, jm, agents);
    if (err != GBX_OK) {
        snprintf(buf, sizeof buf, "ERR %d: %s", (int)err, gbx_error_last()->message);
        CHECK(q == NULL);
    } else {
        snprintf(buf, sizeof buf, "%s", levels_of(q));
    }
    gbx_job_queue_free(q);
    json_decref(agents);
    return buf;
}

static void test_leveling(void) {
    /* Diamond A -> (B || C) -> D, listed out of order. */
    CHECK_STR(level_text("[{\"name\": \"" D "\", \"require\": [\"" B "\", \"" C "\"]},"
                         " {\"name\": \"" B "\", \"require\": [\"" A "\"]},"
                         " {\"name\": \"" C "\", \"require\": \"" A "\"},"
                         " {\"name\": \"" A "\"}]"),
              "A|B,C|D");
    /* Chain D -> C -> B -> A. */
    CHECK_STR(level_text("[{\"name\": \"" A "\", \"require\": [\"" B "\"]},"
                         " {\"name\": \"" B "\", \"require\": [\"" C "\"]},"
                         " {\"name\": \"" C "\", \"require\": [\"" D "\"]},"
                         " {\"name\": \"" D "\", \"require\": []}]"),
              "D|C|B|A");
    /* Independent agents: one level, in list order. */
    CHECK_STR(level_text("[{\"name\": \"" C "\"}, {\"name\": \"" A "\", \"require\": null},"
                         " {\"name\": \"" B "\"}]"),
              "C,A,B");
    /* Level = 1 + the highest level required (not the first or shortest path):
     * E requires A (level 1) and C (level 3). */
    CHECK_STR(level_text("[{\"name\": \"" E "\", \"require\": [\"" A "\", \"" C "\"]},"
                         " {\"name\": \"" A "\"},"
                         " {\"name\": \"" B "\", \"require\": [\"" A "\"]},"
                         " {\"name\": \"" C "\", \"require\": [\"" B "\", \"" A "\", \"" B "\"]},"
                         " {\"name\": \"" D "\"}]"),
              "A,D|B|C|E");
    /* No agents: no levels. */
    CHECK_STR(level_text("[]"), "");
}

static void test_errors(void) {
    CHECK_STR(level_text("[{\"name\": \"" A "\", \"require\": [\"" X "\"]}, {\"name\": \"" B "\", "
                         "\"require\": [\"do_create_farm_z_v1\"]}]"),
              "ERR 500: agent \"" A "\" requires \"" X "\", which is not an agent");
    CHECK_STR(level_text("[{\"name\": \"" A "\"}, {\"name\": \"" B "\", \"require\": [\"" A "\", \"" B "\"]}]"),
              "ERR 500: agent \"" B "\" requires itself");
    CHECK_STR(level_text("[{\"name\": \"" A "\", \"require\": [\"" B "\"]}, {\"name\": \"" B "\", \"require\": [\"" A "\"]}]"),
              "ERR 500: agents form a dependency cycle: \"" A "\" requires \"" B "\" requires \"" A "\"");
    /* A longer cycle behind an agent that is not part of it (X), next to a
     * levelable one (D): only the agents in the cycle are named. */
    CHECK_STR(level_text("[{\"name\": \"" D "\"},"
                         " {\"name\": \"" X "\", \"require\": [\"" D "\", \"" A "\"]},"
                         " {\"name\": \"" A "\", \"require\": [\"" B "\"]},"
                         " {\"name\": \"" B "\", \"require\": [\"" C "\"]},"
                         " {\"name\": \"" C "\", \"require\": [\"" D "\", \"" A "\"]}]"),
              "ERR 500: agents form a dependency cycle: \"" A "\" requires \"" B "\" requires \"" C
              "\" requires \"" A "\"");
    /* Malformed lists. */
    CHECK_STR(level_text("3"),
              "ERR 500: agents must be an object {handler: {\"require\": [handler names]}} or a list of "
              "{\"name\": handler, \"require\": [agent names]} objects");
    CHECK_STR(level_text("[{\"name\": \"" A "\"}, 3]"), "ERR 500: agent #2 is not an object");
    CHECK_STR(level_text("[{\"require\": [\"" A "\"]}]"), "ERR 500: agent #1 has no \"name\" (its handler)");
    CHECK_STR(level_text("[{\"name\": \"\"}]"), "ERR 500: agent #1 has no \"name\" (its handler)");
    CHECK_STR(level_text("[{\"name\": \"" A "\"}, {\"name\": \"" A "\"}]"),
              "ERR 500: agent \"" A "\" is listed twice");
    CHECK_STR(level_text("[{\"name\": \"" A "\", \"require\": [1]}]"),
              "ERR 500: agent \"" A "\": \"require\" must be a list of agent names");
    CHECK_STR(level_text("[{\"name\": \"" A "\", \"require\": {}}]"),
              "ERR 500: agent \"" A "\": \"require\" must be a list of agent names");
    CHECK_STR(level_text("[{\"name\": \"" A "\", \"envelope\": \"x\"}]"),
              "ERR 500: agent \"" A "\": \"envelope\" must be an object");
    /* A NULL list is malformed too. */
    gbx_job_queue *q = (gbx_job_queue *)1;
    CHECK_INT(gbx_jobmanager_job_queue(&q, jm, NULL), GBX_ERR_INTERNAL_SERVER_ERROR);
    CHECK(q == NULL);
    /* A handler nobody knows: the job manager's error as it is (404, or here,
     * with no gearmand to ask, 503 "cannot tell whether handler ... is known"). */
    char *text = level_text("[{\"name\": \"do_create_farm_nobody_v1\"}]");
    CHECK(strncmp(text, "ERR ", 4) == 0 && strstr(text, "handler \"do_create_farm_nobody_v1\""));
}

static void test_reverse(void) {
    json_t *agents = parse("[{\"name\": \"" D "\", \"require\": [\"" B "\", \"" C "\"]},"
                           " {\"name\": \"" B "\", \"require\": [\"" A "\"]},"
                           " {\"name\": \"" C "\", \"require\": [\"" A "\"]},"
                           " {\"name\": \"" A "\"}, {\"name\": \"" E "\", \"require\": [\"" D "\"]}]");
    gbx_job_queue *q = NULL;
    CHECK_INT(gbx_jobmanager_job_queue(&q, jm, agents), GBX_OK);
    CHECK_STR(levels_of(q), "A|B,C|D|E");
    gbx_job_queue_reverse(q);
    CHECK_STR(levels_of(q), "E|D|B,C|A");
    CHECK_INT(gbx_job_queue_levels(q), 4);
    CHECK_INT(gbx_job_queue_level_size(q, 2), 2);
    CHECK_INT(gbx_job_queue_level_size(q, 4), 0);
    CHECK(gbx_job_queue_job(q, 2, 2) == NULL);
    CHECK(gbx_job_queue_job(q, 4, 0) == NULL);
    gbx_job_queue_reverse(q);
    CHECK_STR(levels_of(q), "A|B,C|D|E");
    gbx_job_queue_free(q);
    json_decref(agents);

    /* Three levels (odd) and one level. */
    agents = parse("[{\"name\": \"" A "\"}, {\"name\": \"" B "\", \"require\": \"" A "\"},"
                   " {\"name\": \"" C "\", \"require\": \"" B "\"}]");
    CHECK_INT(gbx_jobmanager_job_queue(&q, jm, agents), GBX_OK);
    gbx_job_queue_reverse(q);
    CHECK_STR(levels_of(q), "C|B|A");
    gbx_job_queue_free(q);
    json_decref(agents);
    agents = parse("[{\"name\": \"" A "\"}, {\"name\": \"" B "\"}]");
    CHECK_INT(gbx_jobmanager_job_queue(&q, jm, agents), GBX_OK);
    gbx_job_queue_reverse(q);
    CHECK_STR(levels_of(q), "A,B");
    gbx_job_queue_free(q);
    json_decref(agents);

    /* NULL queues are accepted. */
    gbx_job_queue_reverse(NULL);
    gbx_job_queue_free(NULL);
    CHECK_INT(gbx_job_queue_levels(NULL), 0);
}

static void test_jobs(void) {
    json_t *agents = parse("[{\"name\": \"" A "\", \"content\": {\"x\": 1}},"
                           " {\"name\": \"" B "\", \"content\": \"raw text\", \"require\": \"" A "\"},"
                           " {\"name\": \"" C "\", \"require\": \"" A "\", \"envelope\": {"
                           "   \"version\": 1, \"name\": \"do_delete_barn_animal_v1\", \"job_type\": \"async\","
                           "   \"operation\": \"delete\", \"component\": \"barn\","
                           "   \"resource\": {\"type\": \"animal\", \"name\": \"Wilbur\"},"
                           "   \"arguments\": [\"Wilbur\"], \"content\": \"from the envelope\"}}]");
    gbx_job_queue *q = NULL;
    CHECK_INT(gbx_jobmanager_job_queue(&q, jm, agents), GBX_OK);
    if (!q) {
        json_decref(agents);
        return;
    }
    gbx_job *a = gbx_job_queue_job(q, 0, 0), *b = gbx_job_queue_job(q, 1, 0), *c = gbx_job_queue_job(q, 1, 1);
    CHECK(a && b && c);
    if (a && b && c) {
        CHECK_STR(gbx_job_name(a), A);
        CHECK_STR(gbx_job_type(a), "async");
        CHECK_INT(gbx_job_kind_of(a), GBX_JOB_ASYNC);
        CHECK_STR(gbx_job_operation(a), "create");
        CHECK_STR(gbx_job_component(a), "farm");
        CHECK_STR(gbx_job_content(a, NULL), "{\"x\":1}");
        CHECK_STR(gbx_job_content(b, NULL), "raw text");
        /* From the envelope, renamed to the agent's handler. */
        CHECK_STR(gbx_job_name(c), C);
        CHECK_STR(gbx_job_operation(c), "delete");
        CHECK_STR(gbx_job_component(c), "barn");
        CHECK_STR(gbx_job_resource_name(c), "Wilbur");
        CHECK_STR(json_string_value(json_array_get(gbx_job_arguments(c), 0)), "Wilbur");
        CHECK_STR(gbx_job_content(c, NULL), "from the envelope");
        CHECK(gbx_job_status(a) == NULL);
    }
    gbx_job_queue_free(q);
    json_decref(agents);

    /* An envelope that is not a valid envelope. */
    static const char prefix[] = "ERR 500: agent \"" A "\": invalid job envelope: ";
    CHECK(strncmp(level_text("[{\"name\": \"" A "\", \"envelope\": {\"version\": 1}}]"), prefix,
                  strlen(prefix)) == 0);
}

/* Gearbox's object form: {handler: {"require": [...], "type": "SYNC",
 * "method": M, "uri": U}}, levelled as the list form (Gearbox's own
 * workers/test-agents/conf/test-agents-agents.conf, "register"). */
#define GEARBOX_REGISTER                                                                           \
    "{\"" A "\": {}, \"" B "\": {\"require\": [\"" A "\"]}, \"" C "\": {\"require\": [\"" A "\"]},"      \
    " \"" D "\": {\"require\": [\"" B "\", \"" C "\"]}}"

static void test_object_form(void) {
    CHECK_STR(level_text(GEARBOX_REGISTER), "A|B,C|D");
    /* Keys out of order, [] and null for {} (PHP encodes an empty array as []). */
    CHECK_STR(level_text("{\"" D "\": {\"require\": [\"" C "\"]}, \"" C "\": {\"require\": [\"" A "\"]},"
                         " \"" A "\": [], \"" B "\": null}"),
              "A,B|C|D");
    CHECK_STR(level_text("{}"), "");
    /* The errors of the list form, by handler name. */
    CHECK_STR(level_text("{\"" A "\": {\"require\": [\"" X "\"]}}"),
              "ERR 500: agent \"" A "\" requires \"" X "\", which is not an agent");
    CHECK_STR(level_text("{\"" A "\": {\"require\": [\"" A "\"]}}"), "ERR 500: agent \"" A "\" requires itself");
    CHECK_STR(level_text("{\"" A "\": {\"require\": [\"" B "\"]}, \"" B "\": {\"require\": [\"" A "\"]}}"),
              "ERR 500: agents form a dependency cycle: \"" A "\" requires \"" B "\" requires \"" A "\"");
    CHECK_STR(level_text("{\"" A "\": 3}"),
              "ERR 500: agent \"" A "\" must be an object {\"require\": [handler names]}");
    CHECK_STR(level_text("{\"" A "\": {\"method\": \"PATCH\", \"uri\": \"http://h/x\"}}"),
              "ERR 500: agent \"" A "\": \"method\" must be PUT, POST, DELETE or GET");
    CHECK_STR(level_text("{\"" A "\": {\"type\": 1}}"),
              "ERR 500: agent \"" A "\": \"type\" must be \"SYNC\" or \"ASYNC\"");
    CHECK_STR(level_text("{\"rest\": {\"method\": \"PUT\", \"uri\": \"ftp://h/x\"}}"),
              "ERR 500: agent \"rest\": REST job: \"ftp://h/x\" is not an http(s) URI");

    /* SYNC and REST entries: a REST job to "uri", or to the key (Gearbox's
     * way), after the agents it requires. */
    json_t *agents = parse("{\"" A "\": {\"type\": \"SYNC\"},"
                           " \"notify\": {\"method\": \"POST\", \"uri\": \"http://127.0.0.1:1/farm/v1/note\","
                           "              \"require\": [\"" A "\"]},"
                           " \"http://127.0.0.1:1/farm/v1/thing/x\": {\"method\": \"DELETE\", \"require\": [\"notify\"]},"
                           " \"" B "\": {\"type\": \"ASYNC\", \"require\": [\"notify\"]}}");
    gbx_job_queue *q = NULL;
    CHECK_INT(gbx_jobmanager_job_queue(&q, jm, agents), GBX_OK);
    CHECK_INT(gbx_job_queue_levels(q), 3);
    CHECK_INT(gbx_job_queue_level_size(q, 1), 1);
    CHECK_INT(gbx_job_queue_level_size(q, 2), 2);
    gbx_job *a = gbx_job_queue_job(q, 0, 0), *notify = gbx_job_queue_job(q, 1, 0);
    gbx_job *del = gbx_job_queue_job(q, 2, 0), *b = gbx_job_queue_job(q, 2, 1);
    CHECK(a && notify && del && b);
    if (a && notify && del && b) {
        CHECK_INT(gbx_job_kind_of(a), GBX_JOB_SYNC);
        CHECK(!gbx_job_is_rest(a));
        CHECK(gbx_job_is_rest(notify));
        CHECK_INT(gbx_job_rest_method(notify), GBX_METHOD_POST);
        CHECK_STR(gbx_job_name(notify), "POST http://127.0.0.1:1/farm/v1/note");
        CHECK(gbx_job_is_rest(del));
        CHECK_INT(gbx_job_rest_method(del), GBX_METHOD_DELETE);
        CHECK_STR(gbx_job_name(del), "DELETE http://127.0.0.1:1/farm/v1/thing/x");
        CHECK_INT(gbx_job_kind_of(b), GBX_JOB_ASYNC);
    }
    gbx_job_queue_free(q);
    json_decref(agents);
}

/* gbx_job_queue_new + gbx_job_queue_add: a queue built job by job (as the
 * bindings build one from the levels a caller holds); the queue keeps
 * copies; a level past the next new one is refused. */
static void test_queue_add(void) {
    gbx_job_queue *q = NULL;
    CHECK_INT(gbx_job_queue_new(&q), GBX_OK);
    CHECK(q != NULL);
    if (!q) return;
    CHECK_INT(gbx_job_queue_levels(q), 0);
    CHECK_STR(levels_of(q), "");
    gbx_job *a = NULL, *b = NULL, *c = NULL;
    CHECK_INT(gbx_jobmanager_job(&a, jm, A), GBX_OK);
    CHECK_INT(gbx_jobmanager_job(&b, jm, B), GBX_OK);
    CHECK_INT(gbx_jobmanager_job(&c, jm, C), GBX_OK);
    CHECK_INT(gbx_job_queue_add(q, 1, a), GBX_ERR_BAD_REQUEST);
    CHECK_STR(gbx_error_last()->message,
              "job queue level 1 does not exist: the queue has 0 levels (add level 0 first)");
    CHECK_INT(gbx_job_queue_add(q, 0, a), GBX_OK);
    CHECK_INT(gbx_job_queue_add(q, 1, c), GBX_OK);
    CHECK_INT(gbx_job_queue_add(q, 0, b), GBX_OK);
    CHECK_INT(gbx_job_queue_add(q, 3, a), GBX_ERR_BAD_REQUEST);
    CHECK_STR(gbx_error_last()->message,
              "job queue level 3 does not exist: the queue has 2 levels (add level 2 first)");
    CHECK_INT(gbx_job_queue_add(NULL, 0, a), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_job_queue_add(q, 0, NULL), GBX_ERR_BAD_REQUEST);
    CHECK_STR(levels_of(q), "A,B|C");
    CHECK_INT(gbx_job_queue_level_size(q, 0), 2);
    /* Copies: the caller's job stays the caller's, changes to it do not
     * reach the queue. */
    gbx_job *qa = gbx_job_queue_job(q, 0, 0);
    CHECK(qa != NULL && qa != a);
    CHECK_INT(gbx_job_set_content(a, "later", 5), GBX_OK);
    const char *qc = qa ? gbx_job_content(qa, NULL) : NULL;
    CHECK(qa && (!qc || strcmp(qc, "later") != 0));
    gbx_job_queue_reverse(q);
    CHECK_STR(levels_of(q), "C|A,B");
    gbx_job_queue_free(q);

    /* Adding to a queue made from agents: onto a level and as a new one. */
    json_t *agents = parse("[{\"name\": \"" A "\"}, {\"name\": \"" B "\", \"require\": \"" A "\"}]");
    q = NULL;
    CHECK_INT(gbx_jobmanager_job_queue(&q, jm, agents), GBX_OK);
    CHECK_INT(gbx_job_queue_add(q, 1, c), GBX_OK);
    CHECK_INT(gbx_job_queue_add(q, 2, a), GBX_OK);
    CHECK_STR(levels_of(q), "A|B,C|A");
    gbx_job_queue_free(q);
    json_decref(agents);
    CHECK_INT(gbx_job_queue_new(NULL), GBX_ERR_BAD_REQUEST);
    gbx_job_free(a);
    gbx_job_free(b);
    gbx_job_free(c);
}

/* ---- the runner and job_queue_run against gearmand ---------------------- */

#define WAIT_LIMIT_S 60.0
#define SETUP "do_create_farm_setup_v1"
#define TEARDOWN "do_delete_farm_setup_v1"
#define CONTENT "{\"farm\":\"Zuckerman\"}"

static char tmpdir[] = "/tmp/gbx-test-agents-gm-XXXXXX";
static pid_t gearmand_pid = -1;
static gbx_worker *worker, *worker2; /* worker2: agents only, for sync runners */
static pthread_t worker_thread, worker2_thread;
static gbx_jobmanager *client_jm; /* the test's own job manager */

/* What the agents saw, in the order they ran: "A@1 B@33 …" = the agent and
 * the progress of its parent (the runner) then; -1 without a parent. */
static pthread_mutex_t trail_lock = PTHREAD_MUTEX_INITIALIZER;
static char trail[1024];

static void stop_gearmand(void) { gearmand_stop(&gearmand_pid, WAIT_LIMIT_S); }

/* Agents A-E: note the parent's progress; E fails with 409; X never
 * finishes (CONTINUE without a continuation). */
static gbx_worker_result do_agent(gbx_job *job, gbx_response *resp, void *user) {
    (void)resp;
    gbx_jobmanager *wjm = gbx_worker_job_manager((gbx_worker *)user);
    char letter = (char)(gbx_job_name(job)[15] - 'a' + 'A');
    int progress = -1;
    gbx_status *st = gbx_job_status(job), *parent = NULL;
    const char *parent_uri = st ? gbx_status_parent_uri(st) : NULL;
    if (parent_uri && gbx_jobmanager_status(&parent, wjm, parent_uri) == GBX_OK)
        progress = gbx_status_progress_value(parent);
    gbx_status_free(parent);
    /* Every agent gets the runner's "content" (here, also job_queue_run's). */
    const char *content = gbx_job_content(job, NULL);
    bool content_ok = content && strcmp(content, CONTENT) == 0;
    pthread_mutex_lock(&trail_lock);
    size_t off = strlen(trail);
    snprintf(trail + off, sizeof trail - off, "%s%c@%d%s", off ? " " : "", letter, progress,
             content_ok ? "" : "!");
    pthread_mutex_unlock(&trail_lock);
    if (letter == 'E') {
        gbx_error_set(GBX_ERR_CONFLICT, "E refuses");
        return GBX_WORKER_ERROR;
    }
    return letter == 'X' ? GBX_WORKER_CONTINUE : GBX_WORKER_SUCCESS;
}

static void *run_worker(void *arg) {
    gbx_err err = gbx_worker_run((gbx_worker *)arg);
    if (err != GBX_OK) fprintf(stderr, "worker: %s\n", gbx_error_last()->message);
    return NULL;
}

static void trail_take(char *out, size_t size) {
    pthread_mutex_lock(&trail_lock);
    snprintf(out, size, "%s", trail);
    trail[0] = 0;
    pthread_mutex_unlock(&trail_lock);
}

/* Runs the runner `name` async over `body` and waits for it; *out: its
 * status (NULL if it could not start). */
static void run_runner(gbx_status **out, const char *name, const char *body) {
    *out = NULL;
    gbx_job *job = NULL;
    gbx_response *resp = NULL;
    CHECK_INT(gbx_jobmanager_job(&job, client_jm, name), GBX_OK);
    if (!job) return;
    CHECK_INT(gbx_job_set_content(job, body, strlen(body)), GBX_OK);
    CHECK_INT(gbx_jobmanager_run(&resp, client_jm, job), GBX_OK);
    const char *uri = resp ? gbx_response_status_uri(resp) : NULL;
    CHECK(uri != NULL);
    if (uri) {
        CHECK_INT(gbx_jobmanager_status(out, client_jm, uri), GBX_OK);
        if (*out) CHECK_INT(gbx_jobmanager_wait(client_jm, *out, WAIT_LIMIT_S), GBX_OK);
    }
    gbx_response_free(resp);
    gbx_job_free(job);
}

#define DIAMOND                                                                                    \
    "[{\"name\": \"" D "\", \"require\": [\"" B "\", \"" C "\"]},"                                 \
    " {\"name\": \"" B "\", \"require\": [\"" A "\"]}, {\"name\": \"" C "\", \"require\": [\"" A "\"]}," \
    " {\"name\": \"" A "\"}]"

/* "A@1 B@33 C@33 D@66" or "A@1 C@33 B@33 D@66" (one level runs in parallel). */
static bool trail_is(const char *got, const char *first, const char *mid1, const char *mid2,
                     const char *last) {
    char a[128], b[128];
    snprintf(a, sizeof a, "%s %s %s %s", first, mid1, mid2, last);
    snprintf(b, sizeof b, "%s %s %s %s", first, mid2, mid1, last);
    bool ok = strcmp(got, a) == 0 || strcmp(got, b) == 0;
    if (!ok) fprintf(stderr, "trail: \"%s\", expected \"%s\" (or B, C swapped)\n", got, a);
    return ok;
}

static long long counter(gbx_status *st, const char *name) {
    long long v = -1;
    CHECK_INT(gbx_status_counter_add(&v, st, name, 0), GBX_OK);
    return v;
}

static void test_runner_diamond(void) {
    char got[1024];
    gbx_status *st = NULL;
    run_runner(&st, SETUP, "{\"agents\": " DIAMOND ", \"content\": " CONTENT "}");
    if (!st) return;
    CHECK(gbx_status_is_success(st));
    CHECK_INT(gbx_status_progress_value(st), 100);
    CHECK_INT(gbx_status_code(st), 0);
    trail_take(got, sizeof got);
    CHECK(trail_is(got, "A@1", "B@33", "C@33", "D@66"));
    CHECK_INT(json_array_size(gbx_status_children(st)), 4);
    CHECK_INT(counter(st, "level-1"), 1);
    CHECK_INT(counter(st, "level-2"), 2);
    CHECK_INT(counter(st, "level-3"), 1);
    CHECK_INT(counter(st, "failed"), 0);
    gbx_status_free(st);

    /* delete: the levels in reverse. */
    run_runner(&st, TEARDOWN, "{\"agents\": " DIAMOND ", \"content\": " CONTENT "}");
    if (!st) return;
    CHECK(gbx_status_is_success(st));
    CHECK_STR(gbx_status_operation(st), "delete");
    trail_take(got, sizeof got);
    CHECK(trail_is(got, "D@1", "B@33", "C@33", "A@66"));
    CHECK_INT(json_array_size(gbx_status_children(st)), 4);
    gbx_status_free(st);

    /* One level, no levels. */
    run_runner(&st, SETUP, "{\"agents\": [{\"name\": \"" A "\"}], \"content\": " CONTENT "}");
    if (st) CHECK(gbx_status_is_success(st));
    trail_take(got, sizeof got);
    CHECK_STR(got, "A@1");
    gbx_status_free(st);
    run_runner(&st, SETUP, "{\"agents\": []}");
    if (st) CHECK(gbx_status_is_success(st));
    if (st) CHECK_INT(json_array_size(gbx_status_children(st)), 0);
    gbx_status_free(st);
}

static json_t *last_message(gbx_status *st) {
    json_t *m = gbx_status_messages(st);
    return json_array_get(m, json_array_size(m) - 1);
}

static void test_runner_failures(void) {
    char got[1024];
    gbx_status *st = NULL;
    /* A -> E (fails) -> D: D never starts. */
    run_runner(&st, SETUP,
               "{\"agents\": [{\"name\": \"" A "\"}, {\"name\": \"" E "\", \"require\": \"" A "\"},"
               " {\"name\": \"" D "\", \"require\": \"" E "\"}], \"content\": " CONTENT "}");
    if (!st) return;
    CHECK(gbx_status_has_completed(st));
    CHECK_INT(gbx_status_code(st), 409);
    CHECK_STR(json_string_value(last_message(st)), "CONFLICT [409]: E refuses");
    trail_take(got, sizeof got);
    CHECK_STR(got, "A@1 E@33");
    CHECK_INT(json_array_size(gbx_status_children(st)), 2);
    CHECK_INT(counter(st, "failed"), 1);
    gbx_status_free(st);

    /* Leveling errors fail the runner with 500 and start nothing. */
    run_runner(&st, SETUP, "{\"agents\": [{\"name\": \"" A "\", \"require\": \"" B "\"},"
                           " {\"name\": \"" B "\", \"require\": \"" A "\"}]}");
    if (!st) return;
    CHECK_INT(gbx_status_code(st), 500);
    CHECK(strstr(json_string_value(last_message(st)),
                 "agents form a dependency cycle: \"" A "\" requires \"" B "\" requires \"" A "\""));
    CHECK_INT(json_array_size(gbx_status_children(st)), 0);
    gbx_status_free(st);

    /* An unknown handler on a later level fails the runner before any agent starts. */
    run_runner(&st, SETUP, "{\"agents\": [{\"name\": \"" A "\"},"
                           " {\"name\": \"do_create_farm_nobody_v1\", \"require\": \"" A "\"}]}");
    if (!st) return;
    CHECK_INT(gbx_status_code(st), 404);
    CHECK(strstr(json_string_value(last_message(st)), "handler \"do_create_farm_nobody_v1\" is not known"));
    CHECK_INT(json_array_size(gbx_status_children(st)), 0);
    gbx_status_free(st);

    /* Content without "agents". */
    run_runner(&st, SETUP, "{\"content\": {}}");
    if (st) CHECK_INT(gbx_status_code(st), 400);
    gbx_status_free(st);
    trail_take(got, sizeof got);
    CHECK_STR(got, "");
}

/* A sync call runs the levels inside the runner (job_queue_run). */
static void test_runner_sync(void) {
    char got[1024];
    gbx_job *job = NULL;
    gbx_response *resp = NULL;
    static const char body[] = "{\"agents\": " DIAMOND ", \"content\": " CONTENT "}";
    CHECK_INT(gbx_jobmanager_job(&job, client_jm, SETUP), GBX_OK);
    if (!job) return;
    CHECK_INT(gbx_job_set_type(job, GBX_JOB_SYNC), GBX_OK);
    CHECK_INT(gbx_job_set_content(job, body, strlen(body)), GBX_OK);
    CHECK_INT(gbx_jobmanager_run(&resp, client_jm, job), GBX_OK);
    if (resp) CHECK(gbx_response_code(resp) == 0 || gbx_response_code(resp) == 200);
    trail_take(got, sizeof got);
    CHECK(trail_is(got, "A@-1", "B@-1", "C@-1", "D@-1"));
    gbx_response_free(resp);
    resp = NULL;
    static const char failing[] = "{\"agents\": [{\"name\": \"" A "\"}, {\"name\": \"" E "\", "
                                  "\"require\": \"" A "\"}], \"content\": " CONTENT "}";
    CHECK_INT(gbx_job_set_content(job, failing, strlen(failing)), GBX_OK);
    CHECK_INT(gbx_jobmanager_run(&resp, client_jm, job), GBX_ERR_CONFLICT);
    CHECK_STR(gbx_error_last()->message, "E refuses");
    trail_take(got, sizeof got);
    CHECK_STR(got, "A@-1 E@-1");
    gbx_response_free(resp);
    gbx_job_free(job);
}

/* Gearbox's object form through the runner: a SYNC agent runs inline (so it
 * has no status and sees no parent progress) before the async agents of
 * its level start; a REST agent that cannot be reached fails the runner. */
static void test_runner_object_form(void) {
    char got[1024];
    gbx_status *st = NULL;
    run_runner(&st, SETUP,
               "{\"agents\": {\"" A "\": {}, \"" B "\": {\"require\": [\"" A "\"], \"type\": \"SYNC\"},"
               " \"" C "\": {\"require\": [\"" A "\"]}, \"" D "\": {\"require\": [\"" B "\", \"" C "\"]}},"
               " \"content\": " CONTENT "}");
    if (!st) return;
    CHECK(gbx_status_is_success(st));
    trail_take(got, sizeof got);
    CHECK_STR(got, "A@1 B@-1 C@33 D@66");
    CHECK_INT(json_array_size(gbx_status_children(st)), 3); /* A, C, D: B ran sync */
    CHECK_INT(counter(st, "level-2"), 2);
    gbx_status_free(st);

    /* A level of sync agents only finishes inline and the next one starts. */
    run_runner(&st, SETUP,
               "{\"agents\": {\"" A "\": {\"type\": \"SYNC\"}, \"" B "\": {\"require\": [\"" A "\"]}},"
               " \"content\": " CONTENT "}");
    if (!st) return;
    CHECK(gbx_status_is_success(st));
    trail_take(got, sizeof got);
    CHECK_STR(got, "A@-1 B@50");
    gbx_status_free(st);

    run_runner(&st, SETUP,
               "{\"agents\": {\"" A "\": {}, \"http://127.0.0.1:1/farm/v1/thing/x\": {\"method\": \"PUT\","
               " \"require\": [\"" A "\"]}, \"" D "\": {\"require\": [\"http://127.0.0.1:1/farm/v1/thing/x\"]}},"
               " \"content\": " CONTENT "}");
    if (!st) return;
    CHECK(gbx_status_has_completed(st) && !gbx_status_is_success(st));
    CHECK(gbx_status_code(st) >= 500);
    trail_take(got, sizeof got);
    CHECK_STR(got, "A@1"); /* D never starts */
    gbx_status_free(st);
}

static void test_queue_run(void) {
    char got[1024];
    json_t *agents = parse(DIAMOND);
    gbx_job_queue *q = NULL;
    CHECK_INT(gbx_jobmanager_job_queue(&q, client_jm, agents), GBX_OK);
    for (size_t l = 0; l < gbx_job_queue_levels(q); l++)
        for (size_t i = 0; i < gbx_job_queue_level_size(q, l); i++)
            gbx_job_set_content(gbx_job_queue_job(q, l, i), CONTENT, strlen(CONTENT));
    CHECK_INT(gbx_jobmanager_job_queue_run(client_jm, q, WAIT_LIMIT_S), GBX_OK);
    trail_take(got, sizeof got);
    CHECK(trail_is(got, "A@-1", "B@-1", "C@-1", "D@-1"));
    gbx_job_queue_free(q);
    json_decref(agents);

    /* The first failure, with its code and message; D never starts. */
    agents = parse("[{\"name\": \"" A "\", \"content\": " CONTENT "},"
                   " {\"name\": \"" E "\", \"require\": \"" A "\", \"content\": " CONTENT "},"
                   " {\"name\": \"" D "\", \"require\": \"" E "\", \"content\": " CONTENT "}]");
    CHECK_INT(gbx_jobmanager_job_queue(&q, client_jm, agents), GBX_OK);
    CHECK_INT(gbx_jobmanager_job_queue_run(client_jm, q, WAIT_LIMIT_S), GBX_ERR_CONFLICT);
    CHECK_STR(gbx_error_last()->message, "E refuses");
    trail_take(got, sizeof got);
    CHECK_STR(got, "A@-1 E@-1");
    gbx_job_queue_free(q);
    json_decref(agents);

    /* An agent that never finishes: 504 after the timeout (not before). */
    agents = parse("[{\"name\": \"" X "\", \"content\": " CONTENT "}, {\"name\": \"" A "\", \"require\": \"" X "\"}]");
    CHECK_INT(gbx_jobmanager_job_queue(&q, client_jm, agents), GBX_OK);
    double t0 = mono_s();
    CHECK_INT(gbx_jobmanager_job_queue_run(client_jm, q, 1.0), GBX_ERR_GATEWAY_TIMEOUT);
    CHECK(mono_s() - t0 >= 1.0);
    CHECK_STR(gbx_error_last()->message,
              "agents did not finish within 1 seconds (agent \"" X "\" on level 1 is still running)");
    trail_take(got, sizeof got);
    CHECK_STR(got, "X@-1");
    gbx_job_queue_free(q);
    json_decref(agents);

    /* A queue built with gbx_job_queue_add runs what was added: A, then B
     * with C in parallel, then D (jobs made here, not from agents). */
    CHECK_INT(gbx_job_queue_new(&q), GBX_OK);
    const char *names[] = {A, B, C, D};
    const size_t at[] = {0, 1, 1, 2};
    for (size_t i = 0; q && i < 4; i++) {
        gbx_job *job = NULL;
        CHECK_INT(gbx_jobmanager_job(&job, client_jm, names[i]), GBX_OK);
        if (!job) continue;
        CHECK_INT(gbx_job_set_content(job, CONTENT, strlen(CONTENT)), GBX_OK);
        CHECK_INT(gbx_job_queue_add(q, at[i], job), GBX_OK);
        gbx_job_free(job);
    }
    CHECK_INT(gbx_jobmanager_job_queue_run(client_jm, q, WAIT_LIMIT_S), GBX_OK);
    trail_take(got, sizeof got);
    CHECK(trail_is(got, "A@-1", "B@-1", "C@-1", "D@-1"));
    gbx_job_queue_free(q);
}

/* Sets up gearmand, a worker with the agents and the runner, and a job
 * manager of the test's own; false (skip) without gearmand. */
static bool runner_setup(void) {
    const char *bin = gearmand_bin();
    if (access(bin, X_OK) != 0) {
        printf("no gearmand at %s: runner tests skipped\n", bin);
        return false;
    }
    int port = free_port();
    if (!mkdtemp(tmpdir) || port < 0 ||
        (gearmand_pid = gearmand_start(bin, port, tmpdir, WAIT_LIMIT_S)) < 0) {
        CHECK(!"gearmand started");
        return false;
    }
    char server[64];
    snprintf(server, sizeof server, "127.0.0.1:%d", port);
    json_t *names = json_array();
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
        json_array_append_new(names, json_string(handlers[i]));
    json_array_append_new(names, json_string(SETUP));
    json_array_append_new(names, json_string(TEARDOWN));
    json_t *root = json_pack("{s:s, s:s, s:{s:s, s:s}, s:O}", "component", "farm", "gearman", server,
                             "status", "type", "sqlite", "path", "status.db", "handlers", names);
    gbx_config *wcfg = NULL, *ccfg = NULL;
    gbx_store *store = NULL;
    char db[sizeof tmpdir + 16];
    snprintf(db, sizeof db, "%s/status.db", tmpdir);
    bool ok = gbx_config_from_json(&wcfg, root, tmpdir) == GBX_OK &&
              gbx_worker_new_from_config(&worker, wcfg) == GBX_OK;
    for (size_t i = 0; ok && i < sizeof handlers / sizeof handlers[0]; i++)
        ok = gbx_worker_register(worker, handlers[i], do_agent, worker) == GBX_OK;
    ok = ok && gbx_worker_register_agents(worker, SETUP) == GBX_OK &&
         gbx_worker_register_agents(worker, TEARDOWN) == GBX_OK;
    CHECK_INT(gbx_worker_register_agents(worker, ""), GBX_ERR_BAD_REQUEST);
    ok = ok && gbx_config_from_json(&ccfg, root, tmpdir) == GBX_OK &&
         gbx_store_open_sqlite(&store, db) == GBX_OK && gbx_jobmanager_new(&client_jm, ccfg, store) == GBX_OK &&
         gbx_jobmanager_set_base_uri(client_jm, "http://127.0.0.1:1/farm/v1") == GBX_OK &&
         pthread_create(&worker_thread, NULL, run_worker, worker) == 0;
    /* A second worker serves the agents while a sync runner waits in the first. */
    ok = ok && gbx_config_from_json(&wcfg, root, tmpdir) == GBX_OK &&
         gbx_worker_new_from_config(&worker2, wcfg) == GBX_OK;
    for (size_t i = 0; ok && i < sizeof handlers / sizeof handlers[0]; i++)
        ok = gbx_worker_register(worker2, handlers[i], do_agent, worker2) == GBX_OK;
    ok = ok && pthread_create(&worker2_thread, NULL, run_worker, worker2) == 0;
    json_decref(names);
    json_decref(root);
    if (!ok) {
        fprintf(stderr, "runner setup: %s\n", gbx_error_last()->message);
        CHECK(!"runner setup");
        return false;
    }
    return true;
}

static void runner_teardown(void) {
    if (worker) {
        gbx_worker_stop(worker);
        pthread_join(worker_thread, NULL);
    }
    if (worker2) {
        gbx_worker_stop(worker2);
        pthread_join(worker2_thread, NULL);
    }
    gbx_worker_free(worker2);
    gbx_store *store = client_jm ? gbx_jobmanager_store(client_jm) : NULL;
    gbx_config *cfg = client_jm ? (gbx_config *)gbx_jobmanager_config(client_jm) : NULL;
    gbx_jobmanager_free(client_jm);
    gbx_config_free(cfg);
    gbx_store_free(store);
    gbx_worker_free(worker);
    stop_gearmand();
    char cmd[sizeof tmpdir + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (strcmp(tmpdir + strlen(tmpdir) - 6, "XXXXXX") != 0 && !getenv("GBX_KEEP_TMP") && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
}

int main(void) {
    char dir[] = "/tmp/gbx-test-agents-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char db[sizeof dir + 16];
    snprintf(db, sizeof db, "%s/status.db", dir);
    gbx_store *store = NULL;
    gbx_config *cfg = NULL;
    json_t *names = json_array();
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
        json_array_append_new(names, json_string(handlers[i]));
    /* Nothing listens on port 1: every handler is known from the config. */
    json_t *root = json_pack("{s:s, s:o}", "gearman", "127.0.0.1:1", "handlers", names);
    if (gbx_store_open_sqlite(&store, db) != GBX_OK || gbx_config_from_json(&cfg, root, dir) != GBX_OK ||
        gbx_jobmanager_new(&jm, cfg, store) != GBX_OK ||
        gbx_jobmanager_set_base_uri(jm, "http://127.0.0.1:4080/farm/v1") != GBX_OK) {
        fprintf(stderr, "setup: %s\n", gbx_error_last()->message);
        return 1;
    }
    json_decref(root);

    test_leveling();
    test_errors();
    test_reverse();
    test_jobs();
    test_object_form();
    test_queue_add();

    signal(SIGPIPE, SIG_IGN);
    if (runner_setup()) {
        test_runner_diamond();
        test_runner_failures();
        test_runner_sync();
        test_runner_object_form();
        test_queue_run();
    }
    runner_teardown();

    gbx_jobmanager_free(jm);
    gbx_config_free(cfg);
    gbx_store_free(store);
    unlink(db);
    char wal[sizeof db + 8];
    snprintf(wal, sizeof wal, "%s-wal", db);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", db);
    unlink(wal);
    rmdir(dir);
    return check_done();
}
