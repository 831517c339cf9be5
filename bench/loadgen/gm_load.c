/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gm_load - the raw libgearman anchor: N threads, each with its own
 * gearman_client, calling one Gearman function as fast as they can.
 *
 *   gm_load --servers 127.0.0.1:4730 --function do_get_bench_echo_v1
 *           --workload-file env.json [--threads 64] [--duration 5] [--warmup 1]
 *           [--requests N] [--background] [--timeout-ms 10000]
 *
 * Sync mode calls gearman_client_do (with a timeout) and counts a request as
 * ok when it returns GEARMAN_SUCCESS; --background submits with
 * gearman_client_do_background (a unique per job, so gearmand does not
 * coalesce them) and counts a request as ok once gearmand has queued it.
 * With --requests the run stops after that many requests in total
 * (no warm-up); otherwise it runs for --warmup + --duration seconds and only
 * requests that finish inside the measured window count.
 * Prints one JSON summary line (see stats.h).
 */
#include <errno.h>
#include <getopt.h>
#include <libgearman/gearman.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stats.h"

typedef struct options {
    const char *servers;
    const char *function;
    char *workload;
    size_t workload_len;
    int threads;
    double duration;
    double warmup;
    long long requests;
    bool background;
    int timeout_ms;
} options;

typedef struct thread_ctx {
    pthread_t tid;
    int index;
    const options *opt;
    bench_samples samples;
    unsigned long long ok;
    unsigned long long errors;
    char first_error[256];
} thread_ctx;

static atomic_llong g_issued;
static uint64_t g_window_start;
static uint64_t g_window_end;

static void *load_thread(void *arg)
{
    thread_ctx *ctx = arg;
    const options *opt = ctx->opt;
    gearman_client_st *client = gearman_client_create(NULL);
    if (!client) {
        snprintf(ctx->first_error, sizeof ctx->first_error, "gearman_client_create failed");
        ctx->errors++;
        return NULL;
    }
    if (gearman_client_add_servers(client, opt->servers) != GEARMAN_SUCCESS) {
        snprintf(ctx->first_error, sizeof ctx->first_error, "add_servers: %s",
                 gearman_client_error(client));
        ctx->errors++;
        gearman_client_free(client);
        return NULL;
    }
    gearman_client_set_timeout(client, opt->timeout_ms);

    unsigned long long seq = 0;
    for (;;) {
        if (opt->requests > 0) {
            if (atomic_fetch_add(&g_issued, 1) >= opt->requests)
                break;
        } else if (bench_now_us() >= g_window_end) {
            break;
        }
        uint64_t start = bench_now_us();
        gearman_return_t rc;
        if (opt->background) {
            char unique[64];
            snprintf(unique, sizeof unique, "bench-%d-%d-%llu", (int)getpid(), ctx->index, seq++);
            gearman_job_handle_t handle;
            rc = gearman_client_do_background(client, opt->function, unique, opt->workload,
                                              opt->workload_len, handle);
        } else {
            size_t result_len = 0;
            void *result = gearman_client_do(client, opt->function, NULL, opt->workload,
                                             opt->workload_len, &result_len, &rc);
            free(result);
        }
        uint64_t end = bench_now_us();
        bool counted = opt->requests > 0 || (end >= g_window_start && end <= g_window_end);
        if (!counted)
            continue;
        if (rc == GEARMAN_SUCCESS) {
            ctx->ok++;
            if (bench_samples_add(&ctx->samples, end - start) != 0)
                break;
        } else {
            if (ctx->errors++ == 0)
                snprintf(ctx->first_error, sizeof ctx->first_error, "%s: %s",
                         gearman_strerror(rc), gearman_client_error(client));
        }
    }
    gearman_client_free(client);
    return NULL;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: gm_load --servers H:P --function NAME (--workload-file F | --workload S)\n"
            "               [--threads N] [--duration S] [--warmup S] [--requests N]\n"
            "               [--background] [--timeout-ms MS]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    options opt = {.servers = "127.0.0.1:4730", .threads = 1, .duration = 5, .warmup = 1,
                   .timeout_ms = 10000};
    static const struct option longopts[] = {
        {"servers", required_argument, NULL, 's'},   {"function", required_argument, NULL, 'f'},
        {"workload-file", required_argument, NULL, 'F'}, {"workload", required_argument, NULL, 'w'},
        {"threads", required_argument, NULL, 't'},   {"duration", required_argument, NULL, 'd'},
        {"warmup", required_argument, NULL, 'W'},    {"requests", required_argument, NULL, 'n'},
        {"background", no_argument, NULL, 'b'},      {"timeout-ms", required_argument, NULL, 'T'},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 's': opt.servers = optarg; break;
        case 'f': opt.function = optarg; break;
        case 'F':
            opt.workload = bench_read_file(optarg, &opt.workload_len);
            if (!opt.workload) {
                fprintf(stderr, "gm_load: cannot read %s: %s\n", optarg, strerror(errno));
                return 1;
            }
            /* A trailing newline is not part of the document. */
            while (opt.workload_len && (opt.workload[opt.workload_len - 1] == '\n'))
                opt.workload[--opt.workload_len] = '\0';
            break;
        case 'w':
            opt.workload = strdup(optarg);
            opt.workload_len = strlen(optarg);
            break;
        case 't': opt.threads = atoi(optarg); break;
        case 'd': opt.duration = atof(optarg); break;
        case 'W': opt.warmup = atof(optarg); break;
        case 'n': opt.requests = atoll(optarg); break;
        case 'b': opt.background = true; break;
        case 'T': opt.timeout_ms = atoi(optarg); break;
        default: usage();
        }
    }
    if (!opt.function || !opt.workload || opt.threads < 1 || opt.duration <= 0)
        usage();

    thread_ctx *ctxs = calloc((size_t)opt.threads, sizeof *ctxs);
    if (!ctxs)
        return 1;
    uint64_t t0 = bench_now_us();
    if (opt.requests > 0) {
        g_window_start = t0;
        g_window_end = UINT64_MAX;
    } else {
        g_window_start = t0 + (uint64_t)(opt.warmup * 1e6);
        g_window_end = g_window_start + (uint64_t)(opt.duration * 1e6);
    }
    int started = 0;
    for (int i = 0; i < opt.threads; i++) {
        ctxs[i].index = i;
        ctxs[i].opt = &opt;
        if (pthread_create(&ctxs[i].tid, NULL, load_thread, &ctxs[i]) != 0) {
            fprintf(stderr, "gm_load: cannot start thread %d\n", i);
            break;
        }
        started++;
    }
    bench_samples all = {0};
    unsigned long long ok = 0, errors = 0;
    const char *first_error = NULL;
    for (int i = 0; i < started; i++) {
        pthread_join(ctxs[i].tid, NULL);
        ok += ctxs[i].ok;
        errors += ctxs[i].errors;
        if (!first_error && ctxs[i].first_error[0])
            first_error = ctxs[i].first_error;
        bench_samples_merge(&all, &ctxs[i].samples);
    }
    uint64_t t_end = bench_now_us();
    double seconds = opt.requests > 0 ? (double)(t_end - t0) / 1e6 : opt.duration;
    char extra[512] = "";
    if (first_error) {
        char escaped[300];
        size_t j = 0;
        for (const char *p = first_error; *p && j + 2 < sizeof escaped; p++)
            escaped[j++] = (*p == '"' || *p == '\\') ? '\'' : (*p < 0x20 ? ' ' : *p);
        escaped[j] = '\0';
        snprintf(extra, sizeof extra, ", \"first_error\": \"%s\"", escaped);
    }
    bench_print_summary(&all, ok, errors, seconds, extra);
    free(all.us);
    free(ctxs);
    free(opt.workload);
    return started == opt.threads ? 0 : 1;
}
