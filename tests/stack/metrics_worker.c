/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* metrics_worker.c - a C worker for tests/stack/test_metrics.py: the
 * component of its config ("meter"), whose handlers count in its Scoreboard.
 *
 *   PUT /meter/v1/reading/<name>   async; counts readings/put; the body
 *                                  {"fail": true} makes the job fail (409)
 *   GET /meter/v1/reading/<name>   sync; counts readings/get
 *
 * Usage: gbx-test-metrics-worker CONFIG
 */
#include <stdio.h>
#include <string.h>

#include "gearbox/gearbox.h"

static gbx_worker_result count_put(gbx_job *job, gbx_response *resp, void *user) {
    (void)resp;
    (void)user;
    gbx_scoreboard_increment_counter(NULL, "readings", "put");
    size_t len = 0;
    const char *content = gbx_job_content(job, &len);
    if (content && strstr(content, "\"fail\"")) {
        gbx_scoreboard_increment_counter(NULL, "readings", "refused");
        gbx_error_set(GBX_ERR_CONFLICT, "the reading was refused as asked");
        return GBX_WORKER_ERROR;
    }
    return GBX_WORKER_SUCCESS;
}

static gbx_worker_result count_get(gbx_job *job, gbx_response *resp, void *user) {
    (void)job;
    (void)user;
    gbx_scoreboard_increment_counter(NULL, "readings", "get");
    static const char body[] = "{\"reading\": 1}";
    gbx_response_set_content(resp, body, sizeof body - 1);
    return GBX_WORKER_SUCCESS;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CONFIG\n", argv[0]);
        return 2;
    }
    gbx_worker *worker = NULL;
    if (gbx_worker_new(&worker, argv[1]) != GBX_OK ||
        gbx_worker_register(worker, "do_put_meter_reading_v1", count_put, NULL) != GBX_OK ||
        gbx_worker_register(worker, "do_get_meter_reading_v1", count_get, NULL) != GBX_OK ||
        gbx_worker_run_until_signal(worker) != GBX_OK) {
        fprintf(stderr, "metrics worker: %s\n", gbx_error_last()->message);
        gbx_worker_free(worker);
        return 1;
    }
    gbx_worker_free(worker);
    return 0;
}
