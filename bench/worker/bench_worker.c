/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* bench_worker - the trivial "bench" component the benchmarks run against,
 * built on the Gearbox C worker runtime (gearbox/worker.h).
 *
 *   bench_worker --config bench/conf/bench.conf [--threads N]
 *                [--dump-envelope DIR] [--log-level warn]
 *
 * Handlers:
 *   do_get_bench_echo_v1   sync: answers {"echo": "<resource name>", "ok": true}
 *   do_put_bench_echo_v1   async: does nothing and succeeds
 *   do_get_bench_sleep_v1  sync: sleeps 1 s (or ;ms=N / ?ms=N), then answers
 *
 * Orchestration handlers (scenario 7 of bench/run; docs/orchestration.md):
 *   do_put_bench_chain_v1  async: step 1 of 3 adds a message to its status
 *                          and hands over with afterwards() + WORKER_CONTINUE
 *                          to do_next_bench_chain_v1 (step 2, the same), which
 *                          hands over to do_last_bench_chain_v1 (step 3,
 *                          completes): three handlers, one status
 *   do_put_bench_single_v1 async: the same three messages in one handler
 *   do_put_bench_delay_v1  async: {"seconds": S} starts a child job
 *                          do_ring_bench_delay_v1 due in S s (delay(); at once
 *                          for S = 0) and completes; the child's status gets
 *                          meta "due" (its ytime, or the time of the run()
 *                          call for S = 0) and, from the child's handler,
 *                          meta "ran" (when that handler started)
 *   do_put_bench_spin_v1   async: {"seconds": S, "checkpoint_ms": M} runs S s,
 *                          calling gbx_status_checkpoint every M ms, so that a
 *                          cancellation stops it at the next checkpoint (410)
 *
 * Every thread runs its own gbx_worker (its own Gearman connection, one job
 * at a time), so one process with N threads stands for N worker processes
 * without their memory.  --dump-envelope writes each handler's first
 * envelope to DIR/<handler>.json: the raw libgearman anchors send exactly
 * those bytes.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gearbox/envelope.h"
#include "gearbox/jobmanager.h"
#include "gearbox/log.h"
#include "gearbox/status.h"
#include "gearbox/worker.h"

#define MAX_THREADS 4096

static const char *g_config_path;
static const char *g_dump_dir;
/* One "already dumped" flag per handler, passed as the handler's user data. */
static atomic_int g_dumped_get_echo, g_dumped_put_echo, g_dumped_get_sleep;
static atomic_int g_stop;
static _Atomic(gbx_worker *) g_workers[MAX_THREADS];

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&g_stop, 1);
    for (int i = 0; i < MAX_THREADS; i++) {
        gbx_worker *w = atomic_load(&g_workers[i]);
        if (w)
            gbx_worker_stop(w);
    }
}

/* Writes the envelope of a handler's first job to <g_dump_dir>/<handler>.json
 * (via a temporary file, so a reader never sees half of it). */
static void dump_envelope(gbx_job *job, atomic_int *dumped)
{
    if (!g_dump_dir || atomic_exchange(dumped, 1))
        return;
    char *text = NULL;
    if (gbx_envelope_serialize(&text, gbx_job_envelope(job)) != GBX_OK) {
        gbx_log(GBX_LOG_ERROR, "bench: cannot serialise the envelope: %s",
                gbx_error_last()->message);
        return;
    }
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s.json", g_dump_dir, gbx_job_name(job));
    snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, path) != 0)
        gbx_log(GBX_LOG_ERROR, "bench: cannot write %s: %s", path, strerror(errno));
    free(text);
}

static gbx_worker_result answer_json(gbx_response *resp, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!text) {
        gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
        return GBX_WORKER_ERROR;
    }
    gbx_err rc = gbx_response_set_content(resp, text, strlen(text));
    free(text);
    if (rc == GBX_OK)
        rc = gbx_response_add_header(resp, "Content-Type", "application/json");
    return rc == GBX_OK ? GBX_WORKER_SUCCESS : GBX_WORKER_ERROR;
}

static gbx_worker_result get_echo(gbx_job *job, gbx_response *resp, void *user)
{
    dump_envelope(job, user);
    const char *name = gbx_job_resource_name(job);
    return answer_json(resp, json_pack("{s:s, s:b}", "echo", name ? name : "", "ok", 1));
}

static gbx_worker_result put_echo(gbx_job *job, gbx_response *resp, void *user)
{
    (void)resp;
    dump_envelope(job, user);
    return GBX_WORKER_SUCCESS;
}

static gbx_worker_result get_sleep(gbx_job *job, gbx_response *resp, void *user)
{
    dump_envelope(job, user);
    long ms = 1000;
    json_t *v = json_object_get(gbx_job_matrix_arguments(job), "ms");
    if (!v)
        v = json_object_get(gbx_job_query_params(job), "ms");
    if (json_is_string(v))
        ms = strtol(json_string_value(v), NULL, 10);
    if (ms < 0 || ms > 600000) {
        gbx_error_set(GBX_ERR_BAD_REQUEST, "ms must be between 0 and 600000");
        return GBX_WORKER_ERROR;
    }
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !atomic_load(&g_stop))
        ;
    return answer_json(resp, json_pack("{s:i, s:b}", "slept_ms", (json_int_t)ms, "ok", 1));
}

/* ---- orchestration (scenario 7) ---------------------------------------- */

/* The orchestration handlers get their thread's gbx_worker as user data
 * (afterwards() and the job manager belong to it). */

static double wall_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleeps `ms` milliseconds (less if the worker is being stopped). */
static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !atomic_load(&g_stop))
        ;
}

/* body[key] as a number in [min, max], `dflt` when the body (an object or
 * none) has no such key; 400 otherwise. */
static gbx_err body_number(double *out, gbx_job *job, const char *key, double dflt, double min,
                           double max)
{
    json_t *body = NULL;
    gbx_err err = gbx_job_json_content(&body, job);
    if (err != GBX_OK)
        return err;
    json_t *v = json_is_object(body) ? json_object_get(body, key) : NULL;
    if (!json_is_null(body) && !json_is_object(body))
        err = gbx_error_set(GBX_ERR_BAD_REQUEST, "the body must be a JSON object");
    else if (v && !json_is_number(v))
        err = gbx_error_set(GBX_ERR_BAD_REQUEST, "%s must be a number", key);
    *out = v ? json_number_value(v) : dflt;
    if (err == GBX_OK && (*out < min || *out > max))
        err = gbx_error_set(GBX_ERR_BAD_REQUEST, "%s must be between %g and %g", key, min, max);
    json_decref(body);
    return err;
}

/* The work of one step: a message on the job's status. */
static gbx_err chain_work(gbx_job *job, int step)
{
    char message[64];
    snprintf(message, sizeof message, "step %d of 3 done", step);
    return gbx_status_add_message(gbx_job_status(job), message);
}

/* The steps of the chain: a handler's name gives its step and the next one. */
static const struct {
    const char *name;
    const char *next; /* NULL: the last step, which completes the status */
} g_chain[] = {
    {"do_put_bench_chain_v1", "do_next_bench_chain_v1"},
    {"do_next_bench_chain_v1", "do_last_bench_chain_v1"},
    {"do_last_bench_chain_v1", NULL},
};

static gbx_worker_result chain_step(gbx_job *job, gbx_response *resp, void *user)
{
    (void)resp;
    const char *name = gbx_job_name(job);
    for (int i = 0; i < (int)(sizeof g_chain / sizeof g_chain[0]); i++) {
        if (strcmp(name, g_chain[i].name) != 0)
            continue;
        /* Queued first, as a real step would: a failing step drops it. */
        if (g_chain[i].next && gbx_worker_afterwards(user, job, g_chain[i].next, 0) != GBX_OK)
            return GBX_WORKER_ERROR;
        if (chain_work(job, i + 1) != GBX_OK)
            return GBX_WORKER_ERROR;
        return g_chain[i].next ? GBX_WORKER_CONTINUE : GBX_WORKER_SUCCESS;
    }
    gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "%s is not a step of the chain", name);
    return GBX_WORKER_ERROR;
}

static gbx_worker_result put_single(gbx_job *job, gbx_response *resp, void *user)
{
    (void)resp;
    (void)user;
    for (int step = 1; step <= 3; step++)
        if (chain_work(job, step) != GBX_OK)
            return GBX_WORKER_ERROR;
    return GBX_WORKER_SUCCESS;
}

static gbx_worker_result put_delay(gbx_job *job, gbx_response *resp, void *user)
{
    (void)resp;
    gbx_jobmanager *jm = gbx_worker_job_manager(user);
    double seconds = 1;
    gbx_job *ring = NULL;
    gbx_response *answer = NULL;
    gbx_status *child = NULL;
    const char *name = gbx_job_resource_name(job);
    gbx_err err = body_number(&seconds, job, "seconds", 1, 0, 86400);
    if (err == GBX_OK)
        err = gbx_jobmanager_job(&ring, jm, "do_ring_bench_delay_v1");
    if (err == GBX_OK && name)
        err = gbx_job_set(ring, "resource.name", name);
    double due = wall_clock();
    if (err == GBX_OK)
        err = seconds > 0 ? gbx_jobmanager_delay(&answer, jm, ring, seconds)
                          : gbx_jobmanager_run(&answer, jm, ring);
    if (err == GBX_OK)
        err = gbx_jobmanager_status(&child, jm, gbx_response_status_uri(answer));
    /* The due time Gearbox shows (set just before the queue row's). */
    if (err == GBX_OK && seconds > 0)
        due = gbx_status_ytime(child);
    if (err == GBX_OK)
        err = gbx_status_set_meta_new(child, "due", json_real(due));
    gbx_status_free(child);
    gbx_response_free(answer);
    gbx_job_free(ring);
    return err == GBX_OK ? GBX_WORKER_SUCCESS : GBX_WORKER_ERROR;
}

static gbx_worker_result ring_delay(gbx_job *job, gbx_response *resp, void *user)
{
    (void)resp;
    (void)user;
    double ran = wall_clock();
    return gbx_status_set_meta_new(gbx_job_status(job), "ran", json_real(ran)) == GBX_OK
               ? GBX_WORKER_SUCCESS
               : GBX_WORKER_ERROR;
}

static gbx_worker_result put_spin(gbx_job *job, gbx_response *resp, void *user)
{
    (void)resp;
    (void)user;
    double seconds = 60, every_ms = 10;
    if (body_number(&seconds, job, "seconds", 60, 0, 3600) != GBX_OK ||
        body_number(&every_ms, job, "checkpoint_ms", 10, 1, 60000) != GBX_OK)
        return GBX_WORKER_ERROR;
    gbx_status *status = gbx_job_status(job);
    double until = wall_clock() + seconds;
    do {
        /* GBX_ERR_GONE (410) once the job is being cancelled: return it. */
        if (gbx_status_checkpoint(status) != GBX_OK)
            return GBX_WORKER_ERROR;
        if (atomic_load(&g_stop)) {
            gbx_error_set(GBX_ERR_SERVICE_UNAVAILABLE, "the bench worker is stopping");
            return GBX_WORKER_ERROR;
        }
        sleep_ms((long)every_ms);
    } while (wall_clock() < until);
    return GBX_WORKER_SUCCESS;
}

static void *worker_thread(void *arg)
{
    int index = (int)(intptr_t)arg;
    gbx_worker *worker = NULL;
    if (gbx_worker_new(&worker, g_config_path) != GBX_OK) {
        gbx_log(GBX_LOG_ERROR, "bench: worker %d: %s", index, gbx_error_last()->message);
        return (void *)1;
    }
    if (gbx_worker_register(worker, "do_get_bench_echo_v1", get_echo, &g_dumped_get_echo) !=
            GBX_OK ||
        gbx_worker_register(worker, "do_put_bench_echo_v1", put_echo, &g_dumped_put_echo) !=
            GBX_OK ||
        gbx_worker_register(worker, "do_get_bench_sleep_v1", get_sleep, &g_dumped_get_sleep) !=
            GBX_OK ||
        gbx_worker_register(worker, "do_put_bench_chain_v1", chain_step, worker) != GBX_OK ||
        gbx_worker_register(worker, "do_next_bench_chain_v1", chain_step, worker) != GBX_OK ||
        gbx_worker_register(worker, "do_last_bench_chain_v1", chain_step, worker) != GBX_OK ||
        gbx_worker_register(worker, "do_put_bench_single_v1", put_single, worker) != GBX_OK ||
        gbx_worker_register(worker, "do_put_bench_delay_v1", put_delay, worker) != GBX_OK ||
        gbx_worker_register(worker, "do_ring_bench_delay_v1", ring_delay, worker) != GBX_OK ||
        gbx_worker_register(worker, "do_put_bench_spin_v1", put_spin, worker) != GBX_OK) {
        gbx_log(GBX_LOG_ERROR, "bench: worker %d: %s", index, gbx_error_last()->message);
        gbx_worker_free(worker);
        return (void *)1;
    }
    atomic_store(&g_workers[index], worker);
    void *result = NULL;
    if (!atomic_load(&g_stop) && gbx_worker_run(worker) != GBX_OK) {
        gbx_log(GBX_LOG_ERROR, "bench: worker %d: %s", index, gbx_error_last()->message);
        result = (void *)1;
    }
    atomic_store(&g_workers[index], NULL);
    gbx_worker_free(worker);
    return result;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_worker --config FILE [--threads N] [--dump-envelope DIR]\n"
                    "                    [--log-level debug|info|warn|error]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int threads = 1;
    const char *level = "warn";
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"threads", required_argument, NULL, 't'},
        {"dump-envelope", required_argument, NULL, 'd'},
        {"log-level", required_argument, NULL, 'l'}, {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': g_config_path = optarg; break;
        case 't': threads = atoi(optarg); break;
        case 'd': g_dump_dir = optarg; break;
        case 'l': level = optarg; break;
        default: usage();
        }
    }
    if (!g_config_path || threads < 1 || threads > MAX_THREADS ||
        gbx_log_level_from_name(level) < 0)
        usage();
    gbx_log_set_callback(gbx_log_to_file, stderr);
    gbx_log_set_level((gbx_log_level)gbx_log_level_from_name(level));

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    if (!tids)
        return 1;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1024 * 1024);
    int started = 0, failed = 0;
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&tids[i], &attr, worker_thread, (void *)(intptr_t)i) != 0) {
            gbx_log(GBX_LOG_ERROR, "bench: cannot start thread %d", i);
            failed = 1;
            break;
        }
        started++;
    }
    pthread_attr_destroy(&attr);
    for (int i = 0; i < started; i++) {
        void *result = NULL;
        pthread_join(tids[i], &result);
        failed |= result != NULL;
    }
    free(tids);
    return failed ? 1 : 0;
}
