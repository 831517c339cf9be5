/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gm_raw_worker - a plain libgearman worker, the anchor for end-to-end async
 * jobs: it registers one function that does nothing but answer `--result`.
 *
 *   gm_raw_worker --servers 127.0.0.1:4730 --function NAME [--threads N]
 *                 [--result '{"ok":true}']
 *
 * Each thread owns one gearman_worker and takes one job at a time (as a
 * Gearbox worker process does).  Waits with gearman_worker_work and a 1 s
 * timeout so that SIGTERM/SIGINT end it promptly.
 */
#include <getopt.h>
#include <libgearman/gearman.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t g_stop;
static const char *g_servers = "127.0.0.1:4730";
static const char *g_function;
static const char *g_result = "{\"ok\":true}";

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static gearman_return_t answer(gearman_job_st *job, void *context)
{
    (void)context;
    return gearman_job_send_data(job, g_result, strlen(g_result));
}

static void *worker_thread(void *arg)
{
    (void)arg;
    gearman_worker_st *worker = gearman_worker_create(NULL);
    if (!worker)
        return NULL;
    gearman_function_t fn = gearman_function_create(answer);
    if (gearman_worker_add_servers(worker, g_servers) != GEARMAN_SUCCESS ||
        gearman_worker_define_function(worker, g_function, strlen(g_function), fn, 0, NULL) !=
            GEARMAN_SUCCESS) {
        fprintf(stderr, "gm_raw_worker: %s\n", gearman_worker_error(worker));
        gearman_worker_free(worker);
        return NULL;
    }
    gearman_worker_set_timeout(worker, 1000);
    while (!g_stop) {
        gearman_return_t rc = gearman_worker_work(worker);
        if (rc == GEARMAN_SUCCESS || rc == GEARMAN_TIMEOUT || rc == GEARMAN_NO_JOBS ||
            rc == GEARMAN_IO_WAIT || rc == GEARMAN_NO_ACTIVE_FDS)
            continue;
        if (!g_stop) {
            fprintf(stderr, "gm_raw_worker: %s\n", gearman_worker_error(worker));
            struct timespec pause = {0, 100 * 1000 * 1000};
            nanosleep(&pause, NULL);
        }
    }
    gearman_worker_free(worker);
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = 1;
    static const struct option longopts[] = {
        {"servers", required_argument, NULL, 's'}, {"function", required_argument, NULL, 'f'},
        {"threads", required_argument, NULL, 't'}, {"result", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 's': g_servers = optarg; break;
        case 'f': g_function = optarg; break;
        case 't': threads = atoi(optarg); break;
        case 'r': g_result = optarg; break;
        default:
            fprintf(stderr, "usage: gm_raw_worker --servers H:P --function NAME [--threads N]\n");
            return 2;
        }
    }
    if (!g_function || threads < 1) {
        fprintf(stderr, "usage: gm_raw_worker --servers H:P --function NAME [--threads N]\n");
        return 2;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    if (!tids)
        return 1;
    int started = 0;
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&tids[i], NULL, worker_thread, NULL) != 0)
            break;
        started++;
    }
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    free(tids);
    return started == threads ? 0 : 1;
}
