/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gearbox-global-worker - serves Gearbox's global handlers, so that a
 * service needs no worker of its own for them (docs/stack.md).
 *
 * Yahoo Gearbox's global worker served delays, the global status handlers,
 * cancellation and the agents runner.  Here the gateway reads and cancels
 * statuses in the store and schedules delayed jobs itself, so what is left
 * for a global worker is the runner: do_run_global_agents_v1, the core's
 * event-driven agents runner (gbx_worker_register_agents), which never
 * blocks the worker while the agents run.
 *
 *   gearbox-global-worker [--config] CONFIG [--max-requests N]
 *                         [--log-file F] [--log-level L]
 *
 * CONFIG is a worker config (gearman servers, the status store every
 * component shares with the gateway).  SIGTERM or SIGINT stops it after the
 * current job. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gearbox/gearbox.h"

#define PROG "gearbox-global-worker"

/* The handlers this worker serves. */
static const char *const agent_runners[] = {"do_run_global_agents_v1"};

static void usage(FILE *f) {
    fprintf(f,
            "usage: " PROG " [--config] CONFIG [--max-requests N] [--log-file F]\n"
            "                             [--log-level debug|info|warn|error] [--help]\n"
            "Serves Gearbox's global handlers: do_run_global_agents_v1 (runs the agents\n"
            "of {\"agents\": ...} level by level, as children of the job's status).\n"
            "  CONFIG, --config CONFIG  worker config: gearman servers and the status\n"
            "                      store shared with the gateway and the components\n"
            "  --max-requests N    exit after N jobs (default: never)\n"
            "  --log-file F        append the log to F (default: stderr)\n"
            "  --log-level L       debug, info (default), warn or error\n"
            "SIGTERM or SIGINT stops the worker after the current job.\n");
}

/* Parses the command line into the out parameters; returns -1 to go on, or
 * the exit status. */
static int parse_args(int argc, char **argv, const char **config, const char **log_file,
                      const char **log_level, unsigned long *max_requests) {
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"max-requests", required_argument, NULL, 'm'},
        {"log-file", required_argument, NULL, 'l'},
        {"log-level", required_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "c:m:l:L:h", options, NULL)) != -1) {
        switch (opt) {
        case 'c': *config = optarg; break;
        case 'l': *log_file = optarg; break;
        case 'L': *log_level = optarg; break;
        case 'm': {
            char *end = NULL;
            errno = 0;
            *max_requests = strtoul(optarg, &end, 10);
            if (errno || !end || *end || optarg[0] == '-') {
                fprintf(stderr, PROG ": --max-requests needs a number, not \"%s\"\n", optarg);
                return 2;
            }
            break;
        }
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    /* Gearbox's workers took the config as their one argument. */
    if (!*config && optind < argc) *config = argv[optind++];
    if (optind < argc || !*config) {
        if (optind < argc) fprintf(stderr, PROG ": unexpected argument \"%s\"\n", argv[optind]);
        else fprintf(stderr, PROG ": a CONFIG is required\n");
        usage(stderr);
        return 2;
    }
    return -1;
}

int main(int argc, char **argv) {
    const char *config = NULL, *log_file = NULL, *log_level = NULL;
    unsigned long max_requests = 0;
    int rc = parse_args(argc, argv, &config, &log_file, &log_level, &max_requests);
    if (rc >= 0) return rc;

    FILE *log = stderr;
    if (log_file && !(log = fopen(log_file, "a"))) {
        fprintf(stderr, PROG ": cannot open log file %s: %s\n", log_file, strerror(errno));
        return 1;
    }
    gbx_log_set_callback(gbx_log_to_file, log);
    if (log_level) {
        int level = gbx_log_level_from_name(log_level);
        if (level < 0) {
            fprintf(stderr, PROG ": unknown log level \"%s\"\n", log_level);
            if (log != stderr) fclose(log);
            return 2;
        }
        gbx_log_set_level((gbx_log_level)level);
    }

    rc = 1;
    gbx_worker *worker = NULL;
    if (gbx_worker_new(&worker, config) != GBX_OK) {
        gbx_log(GBX_LOG_ERROR, "global worker: %s", gbx_error_last()->message);
        goto out;
    }
    for (size_t i = 0; i < sizeof agent_runners / sizeof agent_runners[0]; i++) {
        if (gbx_worker_register_agents(worker, agent_runners[i]) != GBX_OK) {
            gbx_log(GBX_LOG_ERROR, "global worker: %s: %s", agent_runners[i], gbx_error_last()->message);
            goto out;
        }
        gbx_log(GBX_LOG_INFO, "global worker: serving %s", agent_runners[i]);
    }
    gbx_worker_set_max_requests(worker, max_requests);

    if (gbx_worker_run_until_signal(worker) != GBX_OK) {
        gbx_log(GBX_LOG_ERROR, "global worker: %s", gbx_error_last()->message);
        goto out;
    }
    gbx_log(GBX_LOG_INFO, "global worker: stopped after %lu jobs", gbx_worker_request_count(worker));
    rc = 0;
out:
    gbx_worker_free(worker);
    gbx_log_set_callback(NULL, NULL);
    if (log != stderr) fclose(log);
    return rc;
}
