/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* farmwork.c - the barn's orchestration handlers (docs/orchestration.md).
 *
 * Each resource shows one thing a worker does beyond answering its own
 * request (all asynchronous, each a 202 and a status to poll):
 *
 *   PUT /barn/v1/chore/<name>    a continuation chain: feed -> milk -> sweep,
 *                                three handlers sharing one status
 *   PUT /barn/v1/family/<name>   a parent with a local child (a piglet in this
 *                                barn) and a REST child (a calf in the barn
 *                                next door), waiting for both
 *   PUT /barn/v1/litter/<name>   an event continuation: the child's COMPLETED
 *                                event runs a copy of the parent job, which
 *                                completes the parent
 *   PUT /barn/v1/alarm/<name>    a delayed job: afterwards(job, name, delay), or
 *                                with {"child": true} delay() of a new job
 *   PUT /barn/v1/mule/<name>     WORKER_RETRY until the mule moves (Fibonacci
 *                                pauses, at most jobs.retry_max_attempts)
 *   PUT /barn/v1/field/<name>    a long job that can be cancelled: a checkpoint
 *                                per row, an on-CANCEL compensation, optionally
 *                                a PRECANCEL guard that vetoes, helper children
 *   POST|DELETE /barn/v1/agents  the built-in agents runner over the agents
 *                                do_agent_barn_<letter>_v1
 *
 * The Python barn (examples/barn/python/farmwork.py) does exactly the same,
 * with the same messages, under its own component name.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gearbox/gearbox.h>

#include "barn.h"

#define DEFAULT_NEIGHBOUR "/python/barn"
/* Seconds a parent waits for its children. */
#define CHILD_TIMEOUT 120.0

struct farmwork {
    gbx_worker *worker;  /* borrowed */
    gbx_jobmanager *jm;  /* the worker's, borrowed */
    char *neighbour;     /* gateway prefix of the barn next door, e.g. "/python/barn" */
};

/* ---- helpers ----------------------------------------------------------- */

static double wall_clock(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The name in the URL (…/<resource>/<name>); 400 if there is none. */
static const char *need_name(gbx_job *job) {
    const char *name = barn_resource_name(job);
    if (name && *name) return name;
    gbx_error_set(GBX_ERR_BAD_REQUEST, "the URL must name the %s: /barn/v1/%s/<name>",
                  gbx_job_resource_type(job), gbx_job_resource_type(job));
    return NULL;
}

static double number_or(const json_t *obj, const char *key, double dflt) {
    json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

/* Sets the job's resource name and first argument to `name`, and its body
 * to `body` (not NULL: serialised). */
static gbx_err address_job(gbx_job *job, const char *name, const json_t *body) {
    gbx_err err = GBX_OK;
    if (name && ((err = gbx_job_set(job, "resource.name", name)) != GBX_OK ||
                 (err = gbx_job_add_argument(job, name)) != GBX_OK))
        return err;
    if (body) {
        char *text = NULL;
        if ((err = gbx_json_dump(&text, body)) != GBX_OK) return err;
        err = gbx_job_set_content(job, text, strlen(text));
        free(text);
    }
    return err;
}

/* A new async job for handler `handler` about `name` with `body` (may be
 * NULL).  *out: free with gbx_job_free. */
static gbx_err new_job(gbx_job **out, farmwork *fw, const char *handler, const char *name,
                       const json_t *body) {
    gbx_err err = gbx_jobmanager_job(out, fw->jm, handler);
    if (err == GBX_OK && (err = address_job(*out, name, body)) != GBX_OK) {
        gbx_job_free(*out);
        *out = NULL;
    }
    return err;
}

/* The status URI a 202 answered with (the job manager takes it from the
 * answer: an async job's own status, a REST job's body or Location).
 * *out: malloc'ed. */
static gbx_err answered_status_uri(char **out, const gbx_response *resp) {
    const char *uri = gbx_response_status_uri(resp);
    if (!uri)
        return gbx_error_set(GBX_ERR_BAD_GATEWAY, "the answer (%d) carries no status_uri",
                             gbx_response_code(resp));
    *out = strdup(uri);
    return *out ? GBX_OK : gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
}

/* Runs an async or REST job that must answer 202 (it becomes a child of
 * the current status); *status_uri (may be NULL): the child's status URI,
 * malloc'ed. */
static gbx_err start_child(char **status_uri, farmwork *fw, gbx_job *job) {
    if (status_uri) *status_uri = NULL;
    gbx_response *resp = NULL;
    gbx_err err = gbx_jobmanager_run(&resp, fw->jm, job);
    if (err == GBX_OK && gbx_response_code(resp) != 202) {
        size_t len = 0;
        const char *text = gbx_response_content(resp, &len);
        int code = gbx_response_code(resp);
        err = gbx_error_set(code >= 400 ? (gbx_err)code : GBX_ERR_BAD_GATEWAY,
                            "%s answered %d: %.*s", gbx_job_is_rest(job) ? gbx_job_rest_uri(job) : gbx_job_name(job),
                            code, (int)(len > 300 ? 300 : len), text ? text : "");
    }
    if (err == GBX_OK && status_uri) err = answered_status_uri(status_uri, resp);
    gbx_response_free(resp);
    return err;
}

/* "http://host:port" of the job's base_uri + the neighbour's prefix +
 * "/v1/" + path.  *out: malloc'ed. */
static gbx_err neighbour_uri(char **out, farmwork *fw, gbx_job *job, const char *path) {
    *out = NULL;
    const char *base = gbx_job_base_uri(job);
    const char *scheme = base ? strstr(base, "://") : NULL;
    if (!scheme)
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "the job has no base_uri to find the barn next door");
    const char *slash = strchr(scheme + 3, '/');
    int origin = slash ? (int)(slash - base) : (int)strlen(base);
    size_t len = (size_t)origin + strlen(fw->neighbour) + strlen(path) + sizeof "/v1/";
    if (!(*out = malloc(len))) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    snprintf(*out, len, "%.*s%s/v1/%s", origin, base, fw->neighbour, path);
    return GBX_OK;
}

/* Waits for a child status to complete; a failed child's code and last
 * message become the error of the parent (`what` names the child). */
static gbx_err wait_child(farmwork *fw, const char *status_uri, const char *what) {
    gbx_status *child = NULL;
    gbx_err err = gbx_jobmanager_status(&child, fw->jm, status_uri);
    if (err == GBX_OK) err = gbx_jobmanager_wait(fw->jm, child, CHILD_TIMEOUT);
    if (err == GBX_OK && !gbx_status_is_success(child)) {
        json_t *messages = gbx_status_messages(child);
        const char *last = json_string_value(json_array_get(messages, json_array_size(messages) - 1));
        int code = gbx_status_code(child);
        err = gbx_error_set(code >= 400 ? (gbx_err)code : GBX_ERR_INTERNAL_SERVER_ERROR,
                            "%s failed: %s", what, last ? last : "no message");
    }
    gbx_status_free(child);
    return err;
}

/* ---- chore: a continuation chain --------------------------------------- */

/* One step of a chore.  `next` (NULL for the last step) is queued with
 * afterwards() before anything can fail, as a real handler would: when the
 * step then fails ({"fail": "<step>"}), the worker drops the queue and the
 * next step never runs. */
static gbx_worker_result chore_step(farmwork *fw, gbx_job *job, const char *step, const char *done,
                                    const char *next, int percent) {
    const char *name = need_name(job);
    json_t *body = NULL;
    if (!name || barn_body_object(&body, job) != GBX_OK) return GBX_WORKER_ERROR;
    const char *fail = json_string_value(json_object_get(body, "fail"));
    bool fails = fail && strcmp(fail, step) == 0;
    json_decref(body);
    if (next && gbx_worker_afterwards(fw->worker, job, next, 0) != GBX_OK) return GBX_WORKER_ERROR;
    if (fails) {
        gbx_error_set(GBX_ERR_CONFLICT, "chore %s: the %s went wrong", name, step);
        return GBX_WORKER_ERROR;
    }
    barn_note(job, "chore %s: %s", name, done);
    if (!next) return GBX_WORKER_SUCCESS; /* the last step completes the status */
    barn_progress(job, percent);
    return GBX_WORKER_CONTINUE;
}

/* PUT /barn/v1/chore/<name> [{"fail": "feed"|"milk"|"sweep"}] */
static gbx_worker_result do_put_barn_chore_v1(gbx_job *job, gbx_response *resp, void *user) {
    (void)resp;
    return chore_step(user, job, "feed", "the animals are fed", "do_milk_barn_chore_v1", 33);
}

static gbx_worker_result do_milk_barn_chore_v1(gbx_job *job, gbx_response *resp, void *user) {
    (void)resp;
    return chore_step(user, job, "milk", "the cow is milked", "do_sweep_barn_chore_v1", 66);
}

static gbx_worker_result do_sweep_barn_chore_v1(gbx_job *job, gbx_response *resp, void *user) {
    (void)resp;
    return chore_step(user, job, "sweep", "the barn is swept", NULL, 100);
}

/* ---- family: a local child and a REST child ---------------------------- */

/* PUT /barn/v1/family/<name> [{"orphan": true}]: a piglet "<name>-piglet"
 * created in this barn (a local async job, do_put_barn_animal_v1) and a calf
 * "<name>-calf" in the barn next door (a REST job: PUT <neighbour>/v1/animal/
 * <name>-calf through the gateway).  Both are children of the family's
 * status; the family waits for them and fails with a failed child's code.
 * With "orphan" the piglet is an update of an animal that does not exist
 * (do_post_barn_animal_v1: 404), to show that. */
static gbx_worker_result do_put_barn_family_v1(gbx_job *job, gbx_response *resp, void *user) {
    (void)resp;
    farmwork *fw = user;
    const char *name = need_name(job);
    json_t *body = NULL;
    if (!name || barn_body_object(&body, job) != GBX_OK) return GBX_WORKER_ERROR;
    bool orphan = json_is_true(json_object_get(body, "orphan"));
    json_decref(body);

    char piglet[128], calf[128], path[160];
    snprintf(piglet, sizeof piglet, "%s-piglet", name);
    snprintf(calf, sizeof calf, "%s-calf", name);
    snprintf(path, sizeof path, "animal/%s", calf);
    json_t *piglet_body = json_pack("{s:s}", "name", piglet);
    json_t *calf_body = json_pack("{s:s}", "name", calf);
    gbx_job *local = NULL, *rest = NULL;
    char *rest_uri = NULL, *local_status = NULL, *rest_status = NULL;
    gbx_err err = piglet_body && calf_body ? GBX_OK
                                           : gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    if (err == GBX_OK && !orphan) err = new_job(&local, fw, "do_put_barn_animal_v1", piglet, piglet_body);
    if (err == GBX_OK && orphan && (err = new_job(&local, fw, "do_post_barn_animal_v1", piglet, NULL)) == GBX_OK)
        err = gbx_job_set(local, "operation", "update"); /* a job for a POST handler creates by default */
    if (err == GBX_OK) err = start_child(&local_status, fw, local);
    if (err == GBX_OK) err = neighbour_uri(&rest_uri, fw, job, path);
    if (err == GBX_OK) err = gbx_jobmanager_rest_job(&rest, fw->jm, GBX_METHOD_PUT, rest_uri);
    if (err == GBX_OK) err = address_job(rest, NULL, calf_body);
    if (err == GBX_OK) err = start_child(&rest_status, fw, rest);
    if (err == GBX_OK) {
        barn_note(job, "family %s: waiting for the piglet and the calf", name);
        err = wait_child(fw, local_status, "the piglet");
    }
    if (err == GBX_OK) err = wait_child(fw, rest_status, "the calf");
    if (err == GBX_OK) barn_note(job, "family %s: the piglet and the calf are born", name);
    json_decref(piglet_body);
    json_decref(calf_body);
    gbx_job_free(local);
    gbx_job_free(rest);
    free(rest_uri);
    free(local_status);
    free(rest_status);
    return err == GBX_OK ? GBX_WORKER_SUCCESS : GBX_WORKER_ERROR;
}

/* ---- litter: an event continuation ------------------------------------- */

/* PUT /barn/v1/litter/<name>: starts a child (the kit "<name>-kit", created
 * in this barn) whose COMPLETED event runs a copy of this job renamed to
 * do_count_barn_litter_v1.  The copy shares this job's status, so it is a
 * continuation that waits for the child without holding a worker. */
static gbx_worker_result do_put_barn_litter_v1(gbx_job *job, gbx_response *resp, void *user) {
    (void)resp;
    farmwork *fw = user;
    const char *name = need_name(job);
    if (!name) return GBX_WORKER_ERROR;
    char kit[128];
    snprintf(kit, sizeof kit, "%s-kit", name);
    json_t *kit_body = json_pack("{s:s}", "name", kit);
    gbx_job *child = NULL, *then = NULL;
    gbx_err err = kit_body ? new_job(&child, fw, "do_put_barn_animal_v1", kit, kit_body)
                           : gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    if (err == GBX_OK) err = gbx_job_copy(&then, job);
    if (err == GBX_OK) err = gbx_job_set_name(then, "do_count_barn_litter_v1");
    if (err == GBX_OK) err = gbx_job_on(child, GBX_EVENT_COMPLETED, then);
    if (err == GBX_OK) err = start_child(NULL, fw, child);
    if (err == GBX_OK) barn_note(job, "litter %s: waiting for the kit", name);
    json_decref(kit_body);
    gbx_job_free(child);
    gbx_job_free(then);
    return err == GBX_OK ? GBX_WORKER_CONTINUE : GBX_WORKER_ERROR;
}

/* The event job: event_status names the kit's status. */
static gbx_worker_result do_count_barn_litter_v1(gbx_job *job, gbx_response *resp, void *user) {
    (void)resp;
    farmwork *fw = user;
    const char *name = need_name(job);
    const char *event_status = gbx_job_event_status(job);
    if (!name) return GBX_WORKER_ERROR;
    if (!event_status) {
        gbx_error_set(GBX_ERR_BAD_REQUEST, "litter %s: not started by an event", name);
        return GBX_WORKER_ERROR;
    }
    gbx_status *kit = NULL;
    if (gbx_jobmanager_status(&kit, fw->jm, event_status) != GBX_OK) return GBX_WORKER_ERROR;
    int code = gbx_status_code(kit);
    barn_note(job, "litter %s: %s completed with code %d", name, gbx_status_status_uri(kit), code);
    gbx_status_free(kit);
    if (code != 0) {
        gbx_error_set(code >= 400 ? (gbx_err)code : GBX_ERR_INTERNAL_SERVER_ERROR, "litter %s: the kit failed", name);
        return GBX_WORKER_ERROR;
    }
    return GBX_WORKER_SUCCESS;
}

/* ---- alarm: delayed jobs ------------------------------------------------ */

/* PUT /barn/v1/alarm/<name> [{"seconds": 5, "child": false}]: rings after
 * `seconds`.  By default the ringing is a continuation of this job
 * (afterwards with a delay: the status stays RUNNING and shows ytime);
 * with "child" it is a new job run with delay() (a child status, PENDING
 * with ytime) and this job completes at once.  POST …/status/<id>
 * {"ytime": t} moves the ringing to t. */
static gbx_worker_result do_put_barn_alarm_v1(gbx_job *job, gbx_response *resp, void *user) {
    (void)resp;
    farmwork *fw = user;
    const char *name = need_name(job);
    json_t *body = NULL;
    if (!name || barn_body_object(&body, job) != GBX_OK) return GBX_WORKER_ERROR;
    double seconds = number_or(body, "seconds", 5);
    bool child = json_is_true(json_object_get(body, "child"));
    json_decref(body);

    barn_note(job, "alarm %s: set at %.3f for %g s", name, wall_clock(), seconds);
    if (!child)
        return gbx_worker_afterwards(fw->worker, job, "do_ring_barn_alarm_v1", seconds) == GBX_OK
                   ? GBX_WORKER_CONTINUE
                   : GBX_WORKER_ERROR;
    gbx_job *ring = NULL;
    gbx_err err = new_job(&ring, fw, "do_ring_barn_alarm_v1", name, NULL);
    if (err == GBX_OK) err = gbx_jobmanager_delay(NULL, fw->jm, ring, seconds);
    gbx_job_free(ring);
    return err == GBX_OK ? GBX_WORKER_SUCCESS : GBX_WORKER_ERROR;
}

static gbx_worker_result do_ring_barn_alarm_v1(gbx_job *job, gbx_response *resp, void *user) {
    (void)resp;
    (void)user;
    const char *name = need_name(job);
    if (!name) return GBX_WORKER_ERROR;
    barn_note(job, "alarm %s: rang at %.3f", name, wall_clock());
    return GBX_WORKER_SUCCESS;
}

/* ---- mule: retries ------------------------------------------------------ */

/* PUT /barn/v1/mule/<name> [{"refusals": 2}]: the mule refuses to move
 * `refusals` times (WORKER_RETRY: the job runs again after 1, 1, 2, 3, 5 …
 * seconds); every attempt adds its time.  After jobs.retry_max_attempts
 * failures the status fails with "… gave up after N attempts: …". */
static gbx_worker_result do_put_barn_mule_v1(gbx_job *job, gbx_response *resp, void *user) {
    (void)resp;
    (void)user;
    const char *name = need_name(job);
    json_t *body = NULL;
    if (!name || barn_body_object(&body, job) != GBX_OK) return GBX_WORKER_ERROR;
    double refusals = number_or(body, "refusals", 2);
    json_decref(body);
    int attempt = gbx_status_failures(gbx_job_status(job)) + 1;
    barn_note(job, "mule %s: attempt %d at %.3f", name, attempt, wall_clock());
    if (attempt <= refusals) {
        gbx_error_set(GBX_ERR_SERVICE_UNAVAILABLE, "mule %s refuses to move", name);
        return GBX_WORKER_RETRY;
    }
    barn_note(job, "mule %s: moves at last", name);
    return GBX_WORKER_SUCCESS;
}

/* ---- field: a long job that can be cancelled ---------------------------- */

/* PUT /barn/v1/field/<name> [{"rows": 10, "row_seconds": 0.5,
 * "restore_seconds": 0, "guarded": false, "helpers": 0, "neighbours": 0}]:
 * ploughs `rows` rows, one every `row_seconds`, calling checkpoint() before
 * each, so that a cancellation (POST …/status/<id> {"state":"CANCELLED"})
 * stops it at the next row.  Its status's CANCEL job, do_restore_barn_field_v1,
 * is the compensation (a child of the field's status once it runs); with
 * "guarded" its PRECANCEL job, do_guard_barn_field_v1, vetoes every
 * cancellation.  "helpers" local and "neighbours" REST children plough
 * fields of their own ("<name>-helper<i>", "<name>-neighbour<i>"): they are
 * cancelled with it. */
static gbx_worker_result do_put_barn_field_v1(gbx_job *job, gbx_response *resp, void *user) {
    (void)resp;
    farmwork *fw = user;
    const char *name = need_name(job);
    json_t *body = NULL;
    if (!name || barn_body_object(&body, job) != GBX_OK) return GBX_WORKER_ERROR;
    gbx_status *status = gbx_job_status(job);
    int rows = (int)number_or(body, "rows", 10);
    double row_seconds = number_or(body, "row_seconds", 0.5);
    int helpers = (int)number_or(body, "helpers", 0);
    int neighbours = (int)number_or(body, "neighbours", 0);
    bool guarded = json_is_true(json_object_get(body, "guarded"));
    json_t *child_body = json_pack("{s:i, s:f, s:f}", "rows", rows, "row_seconds", row_seconds,
                                   "restore_seconds", number_or(body, "restore_seconds", 0));
    json_t *restore_body = json_pack("{s:f}", "restore_seconds", number_or(body, "restore_seconds", 0));
    json_decref(body);

    gbx_job *j = NULL;
    gbx_err err = child_body && restore_body ? GBX_OK
                                             : gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    /* The compensation, and the guard: stored with the status, run by a cancellation. */
    if (err == GBX_OK && (err = new_job(&j, fw, "do_restore_barn_field_v1", name, restore_body)) == GBX_OK)
        err = gbx_status_on(status, GBX_STATUS_EVENT_CANCEL, gbx_job_envelope(j));
    gbx_job_free(j);
    j = NULL;
    if (err == GBX_OK && guarded && (err = new_job(&j, fw, "do_guard_barn_field_v1", name, NULL)) == GBX_OK)
        err = gbx_status_on(status, GBX_STATUS_EVENT_PRECANCEL, gbx_job_envelope(j));
    gbx_job_free(j);
    j = NULL;
    /* Helpers here and next door: children with fields of their own. */
    for (int i = 1; err == GBX_OK && i <= helpers; i++) {
        char helper[128];
        snprintf(helper, sizeof helper, "%s-helper%d", name, i);
        if ((err = new_job(&j, fw, "do_put_barn_field_v1", helper, child_body)) == GBX_OK)
            err = start_child(NULL, fw, j);
        gbx_job_free(j);
        j = NULL;
    }
    for (int i = 1; err == GBX_OK && i <= neighbours; i++) {
        char path[160];
        char *uri = NULL;
        snprintf(path, sizeof path, "field/%s-neighbour%d", name, i);
        if ((err = neighbour_uri(&uri, fw, job, path)) == GBX_OK &&
            (err = gbx_jobmanager_rest_job(&j, fw->jm, GBX_METHOD_PUT, uri)) == GBX_OK &&
            (err = address_job(j, NULL, child_body)) == GBX_OK)
            err = start_child(NULL, fw, j);
        free(uri);
        gbx_job_free(j);
        j = NULL;
    }
    json_decref(child_body);
    json_decref(restore_body);
    if (err != GBX_OK) return GBX_WORKER_ERROR;

    for (int row = 1; row <= rows; row++) {
        /* GBX_ERR_GONE (410) once the field is being cancelled: return it. */
        if (gbx_status_checkpoint(status) != GBX_OK) return GBX_WORKER_ERROR;
        barn_sleep(row_seconds);
        barn_note(job, "field %s: row %d ploughed", name, row);
        barn_progress(job, row * 100 / rows < 100 ? row * 100 / rows : 99);
    }
    barn_note(job, "field %s: all %d rows ploughed", name, rows);
    return GBX_WORKER_SUCCESS;
}

/* The compensation (the field's CANCEL job): event_status is the field's status. */
static gbx_worker_result do_restore_barn_field_v1(gbx_job *job, gbx_response *resp, void *user) {
    (void)resp;
    (void)user;
    const char *name = need_name(job);
    json_t *body = NULL;
    if (!name || barn_body_object(&body, job) != GBX_OK) return GBX_WORKER_ERROR;
    barn_sleep(number_or(body, "restore_seconds", 0));
    json_decref(body);
    barn_note(job, "field %s: restored", name);
    return GBX_WORKER_SUCCESS;
}

/* The veto (the guarded field's PRECANCEL job): failing stops the cancellation. */
static gbx_worker_result do_guard_barn_field_v1(gbx_job *job, gbx_response *resp, void *user) {
    (void)resp;
    (void)user;
    const char *name = need_name(job);
    if (name) gbx_error_set(GBX_ERR_CONFLICT, "field %s is guarded: the ploughing goes on", name);
    return GBX_WORKER_ERROR;
}

/* ---- agents ------------------------------------------------------------- */

/* An agent of the runner (POST or DELETE /barn/v1/agents with {"agents":
 * [{"name": "do_agent_barn_a_v1", "require": [...]}, ...], "content": {...}}):
 * adds "<LETTER> at progress <p>" to the runner's status (its parent), p
 * being the runner's progress now, so the order of the levels shows.
 * Content {"fail": "<letter>"} makes that agent fail with 409. */
static gbx_worker_result do_agent(gbx_job *job, gbx_response *resp, void *user) {
    (void)resp;
    farmwork *fw = user;
    char letter[32];
    snprintf(letter, sizeof letter, "%s", gbx_job_resource_type(job) ? gbx_job_resource_type(job) : "?");
    json_t *content = NULL;
    if (gbx_job_json_content(&content, job) != GBX_OK) return GBX_WORKER_ERROR;
    const char *fail = json_string_value(json_object_get(content, "fail"));
    bool fails = fail && strcmp(fail, letter) == 0;
    json_decref(content);
    for (char *c = letter; *c; c++)
        if (*c >= 'a' && *c <= 'z') *c = (char)(*c - 'a' + 'A');

    const char *runner_uri = gbx_status_parent_uri(gbx_job_status(job));
    gbx_status *runner = NULL;
    if (!runner_uri) {
        gbx_error_set(GBX_ERR_BAD_REQUEST, "agent %s: not started by an agents runner", letter);
        return GBX_WORKER_ERROR;
    }
    if (gbx_jobmanager_status(&runner, fw->jm, runner_uri) != GBX_OK) return GBX_WORKER_ERROR;
    char message[128];
    snprintf(message, sizeof message, "%s at progress %d", letter, gbx_status_progress_value(runner));
    gbx_err err = gbx_status_add_message(runner, message);
    gbx_status_free(runner);
    if (err != GBX_OK) return GBX_WORKER_ERROR;
    if (fails) {
        gbx_error_set(GBX_ERR_CONFLICT, "agent %s failed as asked", letter);
        return GBX_WORKER_ERROR;
    }
    barn_note(job, "agent %s done", letter);
    return GBX_WORKER_SUCCESS;
}

/* ---- registration ------------------------------------------------------- */

gbx_err farmwork_new(farmwork **out, gbx_worker *worker) {
    *out = NULL;
    farmwork *fw = calloc(1, sizeof *fw);
    if (!fw) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    fw->worker = worker;
    fw->jm = gbx_worker_job_manager(worker);
    const char *neighbour = gbx_config_get_string(gbx_worker_config(worker), "barn.neighbour", DEFAULT_NEIGHBOUR);
    if (!(fw->neighbour = strdup(neighbour))) {
        free(fw);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    }
    static const struct {
        const char *name;
        gbx_handler_fn fn;
    } handlers[] = {
        {"do_put_barn_chore_v1", do_put_barn_chore_v1},
        {"do_milk_barn_chore_v1", do_milk_barn_chore_v1},
        {"do_sweep_barn_chore_v1", do_sweep_barn_chore_v1},
        {"do_put_barn_family_v1", do_put_barn_family_v1},
        {"do_put_barn_litter_v1", do_put_barn_litter_v1},
        {"do_count_barn_litter_v1", do_count_barn_litter_v1},
        {"do_put_barn_alarm_v1", do_put_barn_alarm_v1},
        {"do_ring_barn_alarm_v1", do_ring_barn_alarm_v1},
        {"do_put_barn_mule_v1", do_put_barn_mule_v1},
        {"do_put_barn_field_v1", do_put_barn_field_v1},
        {"do_restore_barn_field_v1", do_restore_barn_field_v1},
        {"do_guard_barn_field_v1", do_guard_barn_field_v1},
        {"do_agent_barn_a_v1", do_agent},
        {"do_agent_barn_b_v1", do_agent},
        {"do_agent_barn_c_v1", do_agent},
        {"do_agent_barn_d_v1", do_agent},
    };
    gbx_err err = GBX_OK;
    for (size_t i = 0; err == GBX_OK && i < sizeof handlers / sizeof handlers[0]; i++)
        err = gbx_worker_register(worker, handlers[i].name, handlers[i].fn, fw);
    /* The built-in runner; DELETE runs the levels in reverse. */
    if (err == GBX_OK) err = gbx_worker_register_agents(worker, "do_post_barn_agents_v1");
    if (err == GBX_OK) err = gbx_worker_register_agents(worker, "do_delete_barn_agents_v1");
    if (err != GBX_OK) {
        farmwork_free(fw);
        return err;
    }
    *out = fw;
    return GBX_OK;
}

void farmwork_free(farmwork *fw) {
    if (!fw) return;
    free(fw->neighbour);
    free(fw);
}
