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
#include "gearbox/log.h"
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
            GBX_OK) {
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
