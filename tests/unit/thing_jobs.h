/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* thing_jobs.h - the "thing" service of the job manager tests that run a
 * gbx_worker on a real gearmand: its two handlers and the two ways to run
 * them, each checked.
 *
 *   do_get_test_thing_v1  sync: {"name": ARG} with 200; 404 for "missing"
 *   do_put_test_thing_v1  async: succeeds
 */
#ifndef GBX_TEST_THING_JOBS_H
#define GBX_TEST_THING_JOBS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gearbox/gearbox.h"

static inline gbx_worker_result do_get_thing(gbx_job *job, gbx_response *resp, void *user) {
    (void)user;
    const char *name = json_string_value(json_array_get(gbx_job_arguments(job), 0));
    if (name && strcmp(name, "missing") == 0) {
        gbx_error_set(GBX_ERR_NOT_FOUND, "thing \"%s\" not found", name);
        return GBX_WORKER_ERROR;
    }
    char body[256];
    snprintf(body, sizeof body, "{\"name\": \"%s\"}", name ? name : "");
    gbx_response_set_content(resp, body, strlen(body));
    gbx_response_set_code(resp, 200);
    return GBX_WORKER_SUCCESS;
}

static inline gbx_worker_result do_put_thing(gbx_job *job, gbx_response *resp, void *user) {
    (void)job;
    (void)resp;
    (void)user;
    return GBX_WORKER_SUCCESS;
}

/* The gateway's way: a status first, then the envelope to gearmand with the
 * status id as unique; checks that the job completes within wait_s. */
static inline void thing_submit(gbx_jobmanager *jm, gbx_store *store, double wait_s) {
    gbx_status_spec spec = {.operation = "create", .component = "test",
                            .status_base = "http://127.0.0.1:1/test/v1/status"};
    gbx_status *st = NULL;
    CHECK_INT(gbx_status_create(&st, store, &spec), GBX_OK);
    if (!st) return;
    gbx_envelope *env = NULL;
    gbx_envelope_new(&env);
    gbx_envelope_set(env, "name", "do_put_test_thing_v1");
    gbx_envelope_set(env, "operation", "create");
    gbx_envelope_set(env, "component", "test");
    gbx_envelope_set(env, "resource.type", "thing");
    gbx_envelope_set(env, "status", gbx_status_id(st));
    char *text = NULL;
    gbx_envelope_serialize(&text, env);
    gbx_err err = gbx_jobmanager_submit(jm, "do_put_test_thing_v1", gbx_status_id(st), text, strlen(text));
    CHECK_INT(err, GBX_OK);
    if (err != GBX_OK) fprintf(stderr, "submit: %s\n", gbx_error_last()->message);
    else CHECK_INT(gbx_jobmanager_wait(jm, st, wait_s), GBX_OK);
    CHECK(gbx_status_is_success(st));
    free(text);
    gbx_envelope_free(env);
    gbx_status_free(st);
}

/* A sync run of do_get_test_thing_v1 for "Wilbur"; checks the 200 and the
 * body.  Returns the job (arguments cleared) for more runs; free it. */
static inline gbx_job *thing_sync(gbx_jobmanager *jm) {
    gbx_job *job = NULL;
    gbx_response *resp = NULL;
    CHECK_INT(gbx_jobmanager_job(&job, jm, "do_get_test_thing_v1"), GBX_OK);
    if (!job) return NULL;
    CHECK_INT(gbx_job_set_type(job, GBX_JOB_SYNC), GBX_OK);
    CHECK_INT(gbx_job_add_argument(job, "Wilbur"), GBX_OK);
    gbx_err err = gbx_jobmanager_run(&resp, jm, job);
    CHECK_INT(err, GBX_OK);
    if (err != GBX_OK) fprintf(stderr, "sync: %s\n", gbx_error_last()->message);
    CHECK_INT(gbx_response_code(resp), 200);
    CHECK_STR(gbx_response_content(resp, NULL), "{\"name\": \"Wilbur\"}");
    gbx_response_free(resp);
    CHECK_INT(gbx_job_set_json(job, "arguments", NULL), GBX_OK);
    return job;
}

#endif
