/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* figures.c - the figures a worker process publishes (figures.h). */
#include "worker/figures.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "gearbox/metrics.h"
#include "gearbox/scoreboard.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *jobs; /* {"<component>": {"completed": n, "failed": n}}; NULL until first */

void gbx__figures_count_job(const char *component, bool failed) {
    const char *key = failed ? "failed" : "completed";
    if (!component || !*component) component = "-";
    pthread_mutex_lock(&lock);
    if (!jobs) jobs = json_object();
    json_t *c = json_object_get(jobs, component);
    if (!c && jobs && json_object_set_new(jobs, component, c = json_pack("{s:I, s:I}", "completed",
                                                                          (json_int_t)0, "failed",
                                                                          (json_int_t)0)) != 0)
        c = NULL;
    if (c) json_object_set_new(c, key, json_integer(json_integer_value(json_object_get(c, key)) + 1));
    pthread_mutex_unlock(&lock);
}

gbx_err gbx__figures_publish(gbx_store *store, const char *component) {
    char *board = NULL;
    gbx_err rc = gbx_scoreboard_snapshot(&board);
    if (rc) return rc;
    json_t *scoreboard = json_loads(board, 0, NULL);
    free(board);
    pthread_mutex_lock(&lock);
    json_t *counts = jobs ? json_deep_copy(jobs) : json_object();
    pthread_mutex_unlock(&lock);
    json_t *figures = json_pack("{s:o?, s:o?}", "scoreboard", scoreboard, "jobs", counts);
    if (!figures) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0) snprintf(host, sizeof host, "localhost");
    char worker[300];
    snprintf(worker, sizeof worker, "%s:%ld", host, (long)getpid());
    rc = gbx_store_publish_worker_figures(store, worker, component, figures);
    json_decref(figures);
    return rc;
}
