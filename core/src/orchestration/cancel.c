/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* cancel.c - cooperative cancellation and rescheduling of async jobs
 * (POST .../status/<id> {"state": "CANCELLED"} / {"ytime": t}).
 *
 * The chain of a target T and its cancel operation's own status C:
 *   request      C is made (RUNNING, progress 1); T.private.cancel_status = C.
 *   PRECANCEL    T's PRECANCEL job (if any) runs as a child of C; when it
 *                completes, a failure vetoes (C fails with its code, T is left
 *                alone), a success lets the chain go on.
 *   stop         PENDING|RUNNING -> STOPPING; with nobody working on T
 *                (concurrency 0: pending, or waiting in the queue) its queued
 *                jobs are dropped and T is STOPPED at once; otherwise the
 *                worker running its handler finishes the step when the
 *                handler returns (worker.c).  STOPPED fires T's STOPPED events,
 *                then its COMPLETED and FAILED events (as Gearbox did).
 *   cancelling   STOPPED|COMPLETED -> CANCELLING; T's children are cancelled
 *                (local ones in this process, others by POST to their status
 *                URI; their cancel statuses become children of C); T's CANCEL
 *                job (if any) runs as compensation, a child of T.
 *   end          once the compensation has completed (or there is none):
 *                T -> CANCELLED (code 410 unless it had completed with a code),
 *                T's CANCELLED events fire, C completes (failed with the
 *                compensation's code if that failed).
 * No step polls: each runs when the one before it is seen to finish, by
 * whichever process sees it (the request, the worker of the target, the
 * worker of the PRECANCEL / compensation job).  Steps may run twice; state
 * changes are compare-and-set and the one-off steps are guarded by store
 * counters (see cancel_internal.h).
 */
#include "orchestration/cancel_internal.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gearbox/json.h"
#include "gearbox/log.h"
#include "job/job_internal.h"
#include "store/queue_internal.h"
#include "store/status_internal.h"

/* Private keys of the target. */
#define P_CANCEL_STATUS "cancel_status"
#define P_PRECANCEL "precancel"
#define P_PRECANCEL_OK "precancel_ok"
#define P_COMPENSATION "compensation"
/* How many children the target had when it stopped: the ones its STOPPED
 * events add after them are not cancelled with it. */
#define P_STOP_CHILDREN "stop_children"
/* Private key of a PRECANCEL / compensation job's status. */
#define P_NOTIFY "notify_cancel"
/* Counter of the target: 1 while a cancellation is in progress. */
#define C_ACTIVE "cancel"

/* Rounds of the stop loop: each round moves the state on or stops. */
#define ADVANCE_ROUNDS 8

static gbx_err cancel_local(gbx_status **out, gbx_jobmanager *jm, gbx_status *target,
                            gbx_status *parent);

/* ---- small helpers ------------------------------------------------------- */

static bool is_http(const char *s) {
    return s && (strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0);
}

static gbx_err need_store(gbx_jobmanager *jm) {
    if (!jm || !gbx_jobmanager_store(jm))
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "job manager has no status store");
    return GBX_OK;
}

static const char *priv_str(const gbx_status *st, const char *key) {
    return json_string_value(json_object_get(gbx__status_private(st), key));
}

/* private[key] = value (a string; NULL deletes it). */
static gbx_err set_priv(gbx_status *st, const char *key, const char *value) {
    json_t *v = NULL;
    if (value && !(v = json_string(value)))
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    gbx_err err = gbx__status_set_private(st, key, v);
    json_decref(v);
    return err;
}

/* A store counter of `st` named "<prefix>:<id>:<what>", raised by one; true
 * for the first caller only. */
static bool first_to(gbx_status *st, const char *cancel_id, const char *what) {
    char name[256];
    snprintf(name, sizeof name, "cancel:%s:%s", cancel_id, what);
    long long v = 0;
    if (gbx_status_counter_add(&v, st, name, 1) != GBX_OK) {
        gbx_log(GBX_LOG_ERROR, "status %s: counter %s: %s", gbx_status_id(st), name,
                gbx_error_last()->message);
        return false;
    }
    return v == 1;
}

/* The last message of a status ("" if none). */
static const char *last_message(const gbx_status *st) {
    json_t *m = gbx_status_messages(st);
    const char *s = json_string_value(json_array_get(m, json_array_size(m) - 1));
    return s ? s : "";
}

/* Tells a client polling the cancel status C where the chain is: raises
 * its progress and adds `message` (logged, never fatal: the chain goes on
 * without it). */
static void report(gbx_jobmanager *jm, const char *cancel_id, int progress, const char *message) {
    gbx_status *c = NULL;
    if (!cancel_id || gbx_status_fetch(&c, gbx_jobmanager_store(jm), cancel_id) != GBX_OK) {
        gbx_error_clear();
        return;
    }
    if (!gbx_status_has_completed(c) &&
        (gbx_status_set_progress(c, progress) != GBX_OK || gbx_status_add_message(c, message) != GBX_OK)) {
        gbx_log(GBX_LOG_WARN, "cancel status %s: cannot report \"%s\": %s", cancel_id, message,
                gbx_error_last()->message);
        gbx_error_clear();
    }
    gbx_status_free(c);
}

/* The status's stored envelope, parsed (*out NULL when none is kept). */
static gbx_err stored_envelope(gbx_envelope **out, const gbx_status *st) {
    *out = NULL;
    char *text = NULL;
    gbx_err err = gbx_status_envelope(&text, st);
    if (err != GBX_OK || !text) return err;
    err = gbx_envelope_parse(out, text, strlen(text));
    free(text);
    return err;
}

/* Fires `event` from the status's stored envelope (logged, never fatal). */
static void fire_stored(gbx_jobmanager *jm, gbx_status *st, const gbx_envelope *env,
                        gbx_job_event event) {
    gbx_envelope *own = NULL;
    if (!env) {
        if (stored_envelope(&own, st) != GBX_OK) {
            gbx_log(GBX_LOG_WARN, "status %s: stored envelope unreadable, no %s events: %s",
                    gbx_status_id(st), gbx_job_event_name(event), gbx_error_last()->message);
            return;
        }
        env = own;
    }
    if (env && gbx_jobmanager_fire(jm, env, st, event) != GBX_OK)
        gbx_log(GBX_LOG_ERROR, "status %s: %s events: %s", gbx_status_id(st),
                gbx_job_event_name(event), gbx_error_last()->message);
    gbx_envelope_free(own);
}

/* Runs `job` with this thread's current job standing for status
 * `parent_id` (so that a new async job becomes its child and a REST job
 * sends it as Gearbox-Parent-Uri); the current job is restored after. */
static gbx_err run_under(gbx_response **out, gbx_jobmanager *jm, gbx_job *job,
                         const char *parent_id) {
    gbx_envelope *env = NULL;
    gbx_job *stand_in = NULL;
    gbx_err err = gbx_envelope_new(&env);
    if (err == GBX_OK) err = gbx_envelope_set(env, "name", "cancel");
    if (err == GBX_OK) err = gbx_envelope_set(env, "status", parent_id);
    if (err == GBX_OK) err = gbx__job_new_owned(&stand_in, env);
    else gbx_envelope_free(env);
    if (err != GBX_OK) return err;
    gbx_job *previous = gbx_jobmanager_current(jm);
    gbx_jobmanager_set_current(jm, stand_in);
    err = gbx_jobmanager_run(out, jm, job);
    gbx_jobmanager_set_current(jm, previous);
    gbx_job_free(stand_in);
    return err;
}

/* A POST of `body` to the status URI of another service.  On a 2xx answer
 * *status_uri (malloc'ed, may be NULL) is the status the answer names; any
 * other answer is an error with its code and message.  `parent_id` (may be
 * NULL): the status that a 202's status becomes a child of. */
static gbx_err post_remote(char **status_uri, gbx_jobmanager *jm, const char *uri,
                           const char *body, const char *parent_id) {
    *status_uri = NULL;
    gbx_job *job = NULL;
    gbx_response *resp = NULL;
    gbx_err err = gbx_jobmanager_rest_job(&job, jm, GBX_METHOD_POST, uri);
    if (err == GBX_OK) err = gbx_job_set_content(job, body, strlen(body));
    if (err == GBX_OK)
        err = parent_id ? run_under(&resp, jm, job, parent_id) : gbx_jobmanager_run(&resp, jm, job);
    gbx_job_free(job);
    if (err != GBX_OK) return err;
    int code = gbx_response_code(resp);
    if (code < 200 || code > 299) {
        size_t len = 0;
        const char *content = gbx_response_content(resp, &len);
        json_t *obj = NULL;
        const char *msg = NULL;
        if (gbx_json_parse(&obj, content, len) == GBX_OK) {
            json_t *messages = json_object_get(obj, "messages");
            msg = json_string_value(json_array_get(messages, json_array_size(messages) - 1));
            if (!msg) msg = json_string_value(json_object_get(obj, "detail"));
        }
        err = gbx_error_set(code >= 300 && code <= 599 ? (gbx_err)code : GBX_ERR_BAD_GATEWAY,
                            "%s answered %d: %s", uri, code, msg ? msg : "(no message)");
        json_decref(obj);
        gbx_response_free(resp);
        return err;
    }
    const char *suri = gbx_response_status_uri(resp);
    if (suri && !(*status_uri = strdup(suri)))
        err = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    gbx_response_free(resp);
    return err;
}

/* ---- the cancel operation's status ------------------------------------- */

/* C: operation "update" (Gearbox's), uri = target's status_uri, under the target's
 * status base and scope, RUNNING with progress 1; a child of `parent` when
 * given. */
static gbx_err make_cancel_status(gbx_status **out, gbx_jobmanager *jm, gbx_status *target,
                                  gbx_status *parent) {
    *out = NULL;
    const char *suri = gbx_status_status_uri(target);
    char *base = NULL;
    const char *slash = suri ? strrchr(suri, '/') : NULL;
    if (slash && !(base = strndup(suri, (size_t)(slash - suri))))
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    gbx_status_spec spec = {
        .operation = "update",
        .component = gbx_status_component(target),
        .uri = suri,
        .status_base = base,
        .parent_uri = parent ? gbx_status_status_uri(parent) : NULL,
        .scope = gbx_status_scope(target),
        .owner = gbx_status_owner(target),
    };
    gbx_status *c = NULL;
    gbx_err err = gbx_status_create(&c, gbx_jobmanager_store(jm), &spec);
    free(base);
    if (err == GBX_OK) err = gbx_status_transition(c, GBX_STATE_PENDING, GBX_STATE_RUNNING);
    if (err == GBX_OK) err = gbx_status_set_progress(c, 1);
    if (err == GBX_OK && parent) {
        const char *child = gbx_status_status_uri(c) ? gbx_status_status_uri(c) : gbx_status_id(c);
        err = gbx_status_add_child(parent, child);
    }
    if (err != GBX_OK) {
        gbx_status_free(c);
        return err;
    }
    *out = c;
    return GBX_OK;
}

/* Completes C (success, or failure with code/message); a C already
 * completed is left as it is. */
static void complete_cancel_status(gbx_jobmanager *jm, const char *cancel_id, int code,
                                   const char *message) {
    gbx_status *c = NULL;
    if (gbx_status_fetch(&c, gbx_jobmanager_store(jm), cancel_id) != GBX_OK) {
        gbx_log(GBX_LOG_ERROR, "cancel status %s: %s", cancel_id, gbx_error_last()->message);
        return;
    }
    if (!gbx_status_has_completed(c)) {
        gbx_err err;
        if (code == 0) {
            err = message ? gbx_status_add_message(c, message) : GBX_OK;
            if (err == GBX_OK) err = gbx_status_success(c);
        } else {
            char *formatted = gbx_error_format(code, message ? message : "");
            err = gbx_status_fail(c, code, formatted ? formatted : message);
            free(formatted);
        }
        if (err != GBX_OK && err != GBX_ERR_CONFLICT)
            gbx_log(GBX_LOG_ERROR, "cancel status %s: cannot complete it: %s", cancel_id,
                    gbx_error_last()->message);
    }
    gbx_status_free(c);
}

/* ---- event jobs of the chain ------------------------------------------- */

/* Starts the status event job `event` of target T as a new async job, child
 * of `parent_id`, with event_status = T's status_uri; its status gets
 * private.notify_cancel = T and T.private[key] names it.  *done: it has
 * completed already (then the caller goes on itself). */
static gbx_err start_event_job(bool *done, gbx_jobmanager *jm, gbx_status *target,
                               gbx_status_event event, const char *parent_id, const char *key,
                               const char *cancel_id, int progress, const char *label) {
    *done = false;
    json_t *entry = json_object_get(gbx_status_events(target), gbx_status_event_name(event));
    const char *name = json_string_value(json_object_get(entry, "name"));
    json_t *stored = json_object_get(entry, "envelope");
    if (!name || !*name)
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "%s job of status %s has no name",
                             gbx_status_event_name(event), gbx_status_id(target));
    gbx_envelope *env = NULL;
    gbx_job *job = NULL;
    gbx_response *resp = NULL;
    gbx_status *st = NULL;
    char *text = NULL;
    gbx_err err = GBX_OK;
    if (json_is_string(stored)) {
        err = gbx_envelope_parse(&env, json_string_value(stored), strlen(json_string_value(stored)));
    } else if (json_is_object(stored)) {
        err = gbx_json_dump(&text, stored);
        if (err == GBX_OK) err = gbx_envelope_parse(&env, text, strlen(text));
    }
    /* Without a stored envelope the job is made from its name alone. */
    if (err == GBX_OK)
        err = env ? gbx_jobmanager_job_from_envelope(&job, jm, name, env)
                  : gbx_jobmanager_job(&job, jm, name);
    /* A job of its own: a new status under the parent, never a continuation. */
    if (err == GBX_OK) err = gbx_job_set(job, "status", NULL);
    if (err == GBX_OK) err = gbx_job_set(job, "parent_uri", NULL);
    if (err == GBX_OK) err = gbx_job_set_type(job, GBX_JOB_ASYNC);
    if (err == GBX_OK) {
        const char *suri = gbx_status_status_uri(target);
        err = gbx_job_set(job, "event_status", suri ? suri : gbx_status_id(target));
    }
    if (err == GBX_OK) err = run_under(&resp, jm, job, parent_id);
    const char *child = err == GBX_OK ? gbx_response_status_uri(resp) : NULL;
    if (err == GBX_OK && !child)
        err = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "%s job %s got no status",
                            gbx_status_event_name(event), name);
    if (err == GBX_OK) err = gbx_status_fetch(&st, gbx_jobmanager_store(jm), child);
    /* The cancel status tells of the job before the job can notify T: what
     * its completion leads to (a veto, "cancelled") comes after. */
    if (err == GBX_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s %s started", label, gbx_status_id(st));
        report(jm, cancel_id, progress, msg);
    }
    /* T names it before it can notify, so that whoever sees it complete
     * finds it. */
    if (err == GBX_OK) err = set_priv(target, key, gbx_status_id(st));
    if (err == GBX_OK) err = set_priv(st, P_NOTIFY, gbx_status_id(target));
    if (err == GBX_OK) err = gbx_status_refresh(st);
    if (err == GBX_OK) {
        *done = gbx_status_has_completed(st);
        gbx_log(GBX_LOG_INFO, "status %s: %s job %s started as %s", gbx_status_id(target),
                gbx_status_event_name(event), name, gbx_status_id(st));
    }
    gbx_status_free(st);
    gbx_response_free(resp);
    gbx_job_free(job);
    gbx_envelope_free(env);
    free(text);
    return err;
}

/* ---- the steps ------------------------------------------------------------ */

/* Drops T's queued jobs and moves it STOPPING -> STOPPED; true for the
 * caller that made the move (it fires the STOPPED, then the COMPLETED and
 * FAILED events). */
static bool stop_step(gbx_jobmanager *jm, gbx_status *target, const gbx_envelope *env) {
    char cancel_id[160] = "";
    const char *cid = priv_str(target, P_CANCEL_STATUS);
    if (cid) snprintf(cancel_id, sizeof cancel_id, "%s", cid);
    size_t dropped = 0;
    if (gbx__queue_drop(&dropped, gbx_jobmanager_store(jm), gbx_status_id(target)) != GBX_OK)
        gbx_log(GBX_LOG_ERROR, "status %s: cannot drop its queued jobs: %s", gbx_status_id(target),
                gbx_error_last()->message);
    if (gbx_status_transition(target, GBX_STATE_STOPPING, GBX_STATE_STOPPED) != GBX_OK) {
        gbx_error_clear();
        (void)gbx_status_refresh(target);
        return false;
    }
    gbx_log(GBX_LOG_INFO, "status %s: stopped (%zu queued job(s) dropped)", gbx_status_id(target),
            dropped);
    report(jm, cancel_id[0] ? cancel_id : NULL, 40, "stopped");
    if (gbx_status_ytime(target) > 0 && gbx_status_set_ytime(target, 0) != GBX_OK)
        gbx_log(GBX_LOG_WARN, "status %s: cannot clear ytime: %s", gbx_status_id(target),
                gbx_error_last()->message);
    json_t *n = json_integer((json_int_t)json_array_size(gbx_status_children(target)));
    if (!n || gbx__status_set_private(target, P_STOP_CHILDREN, n) != GBX_OK)
        gbx_log(GBX_LOG_WARN, "status %s: cannot note its children", gbx_status_id(target));
    json_decref(n);
    fire_stored(jm, target, env, GBX_EVENT_STOPPED);
    /* The job ended here: as Gearbox's worker did for a STOPPED status, its
     * COMPLETED events fire too (and FAILED: its code is not 0), so that
     * whoever waits for it to complete goes on. */
    fire_stored(jm, target, env, GBX_EVENT_COMPLETED);
    return true;
}

/* Cancels every child of T (C = cancel_id is the parent of their cancel
 * statuses); trouble with one child is a message on C, not a failure. */
static void cancel_children(gbx_jobmanager *jm, gbx_status *target, const char *cancel_id) {
    json_t *children = json_deep_copy(gbx_status_children(target));
    json_t *limit = json_object_get(gbx__status_private(target), P_STOP_CHILDREN);
    if (children && json_is_integer(limit))
        while (json_array_size(children) > (size_t)json_integer_value(limit))
            json_array_remove(children, json_array_size(children) - 1);
    gbx_status *c = NULL;
    if (json_array_size(children) == 0 ||
        gbx_status_fetch(&c, gbx_jobmanager_store(jm), cancel_id) != GBX_OK) {
        json_decref(children);
        return;
    }
    size_t i;
    json_t *v;
    json_array_foreach(children, i, v) {
        const char *uri = json_string_value(v);
        if (!uri) continue;
        gbx_status *child = NULL, *cc = NULL;
        char why[1024] = "";
        gbx_err err = gbx_status_fetch(&child, gbx_jobmanager_store(jm), uri);
        if (err == GBX_OK) {
            gbx_state s = gbx_status_state(child);
            if (s == GBX_STATE_CANCELLED || s == GBX_STATE_STOPPING || s == GBX_STATE_STOPPED ||
                s == GBX_STATE_CANCELLING) {
                gbx_log(GBX_LOG_DEBUG, "status %s: child %s already %s", gbx_status_id(target), uri,
                        gbx_state_name(s));
            } else if (cancel_local(&cc, jm, child, c) != GBX_OK) {
                snprintf(why, sizeof why, "%s", gbx_error_last()->message);
            }
        } else if (err == GBX_ERR_NOT_FOUND && is_http(uri)) {
            char *remote = NULL;
            if (post_remote(&remote, jm, uri, "{\"state\":\"CANCELLED\"}", cancel_id) != GBX_OK)
                snprintf(why, sizeof why, "%s", gbx_error_last()->message);
            free(remote);
        } else {
            snprintf(why, sizeof why, "%s", gbx_error_last()->message);
        }
        if (why[0]) {
            char msg[1400];
            snprintf(msg, sizeof msg, "child %s not cancelled: %s", uri, why);
            gbx_log(GBX_LOG_WARN, "status %s: %s", gbx_status_id(target), msg);
            if (gbx_status_add_message(c, msg) != GBX_OK) gbx_error_clear();
        }
        gbx_status_free(cc);
        gbx_status_free(child);
    }
    gbx_status_free(c);
    json_decref(children);
}

/* The end of the chain: T -> CANCELLED, its CANCELLED events, C completes
 * (failed with `code` / `message` when the compensation failed). */
static void finish(gbx_jobmanager *jm, gbx_status *target, const char *cancel_id, int code,
                   const char *message) {
    bool had_code = gbx_status_code(target) >= 0;
    char *formatted = had_code ? NULL : gbx_error_format(GBX_ERR_GONE, "cancelled");
    gbx_err err = gbx__status_finish_cancel(target, GBX_ERR_GONE, had_code ? "cancelled" : formatted);
    free(formatted);
    if (err == GBX_OK) {
        gbx_log(GBX_LOG_INFO, "status %s: cancelled", gbx_status_id(target));
        fire_stored(jm, target, NULL, GBX_EVENT_CANCELLED);
    } else {
        gbx_error_clear(); /* another process finished it */
    }
    complete_cancel_status(jm, cancel_id, code, code ? message : "cancelled");
}

/* The CANCELLING part: children, compensation, end.  Returns with the
 * chain waiting for the compensation job when it runs. */
static gbx_err cancelling(gbx_jobmanager *jm, gbx_status *target, const char *cancel_id) {
    if (first_to(target, cancel_id, "children")) {
        report(jm, cancel_id, 60, "cancelling");
        cancel_children(jm, target, cancel_id);
    }
    json_t *comp = json_object_get(gbx_status_events(target), "CANCEL");
    if (!comp) {
        finish(jm, target, cancel_id, 0, NULL);
        return GBX_OK;
    }
    if (first_to(target, cancel_id, "compensation")) {
        bool done = false;
        if (start_event_job(&done, jm, target, GBX_STATUS_EVENT_CANCEL, gbx_status_id(target),
                            P_COMPENSATION, cancel_id, 70, "compensation") != GBX_OK) {
            char msg[1200];
            snprintf(msg, sizeof msg, "cannot start the compensation: %s", gbx_error_last()->message);
            int code = (int)gbx_error_last()->code;
            gbx_log(GBX_LOG_ERROR, "status %s: %s", gbx_status_id(target), msg);
            (void)gbx_status_refresh(target);
            finish(jm, target, cancel_id, code ? code : GBX_ERR_INTERNAL_SERVER_ERROR, msg);
            return GBX_OK;
        }
        if (!done) return GBX_OK; /* its worker goes on when it completes */
        if (gbx_status_refresh(target) != GBX_OK) return gbx_error_last()->code;
    }
    const char *qid = priv_str(target, P_COMPENSATION);
    if (!qid) return GBX_OK; /* being started by another process, which goes on */
    gbx_status *q = NULL;
    gbx_err err = gbx_status_fetch(&q, gbx_jobmanager_store(jm), qid);
    if (err != GBX_OK) return err;
    if (gbx_status_has_completed(q)) {
        int code = gbx_status_code(q) > 0 ? gbx_status_code(q) : 0;
        char msg[1200];
        snprintf(msg, sizeof msg, "compensation %s failed: %s",
                 gbx_status_status_uri(q) ? gbx_status_status_uri(q) : qid, last_message(q));
        finish(jm, target, cancel_id, code, msg);
    }
    gbx_status_free(q);
    return GBX_OK;
}

/* Moves the cancellation of `target` (a fresh snapshot) on. */
static gbx_err advance(gbx_jobmanager *jm, gbx_status *target) {
    const char *cid = priv_str(target, P_CANCEL_STATUS);
    if (!cid) return GBX_OK;
    char cancel_id[160];
    snprintf(cancel_id, sizeof cancel_id, "%s", cid);
    gbx_status *c = NULL;
    gbx_err err = gbx_status_fetch(&c, gbx_jobmanager_store(jm), cancel_id);
    if (err != GBX_OK) return err;
    bool over = gbx_status_has_completed(c);
    gbx_status_free(c);
    if (over && gbx_status_state(target) != GBX_STATE_CANCELLING) return GBX_OK;

    /* The PRECANCEL job decides first. */
    const char *pid = priv_str(target, P_PRECANCEL);
    if (pid && !json_is_true(json_object_get(gbx__status_private(target), P_PRECANCEL_OK))) {
        gbx_status *p = NULL;
        if ((err = gbx_status_fetch(&p, gbx_jobmanager_store(jm), pid)) != GBX_OK) return err;
        if (!gbx_status_has_completed(p)) {
            gbx_status_free(p);
            return GBX_OK; /* its worker goes on when it completes */
        }
        if (gbx_status_code(p) != 0) {
            char msg[1200];
            snprintf(msg, sizeof msg, "cancellation vetoed by %s: %s",
                     gbx_status_status_uri(p) ? gbx_status_status_uri(p) : pid, last_message(p));
            int code = gbx_status_code(p) >= 300 ? gbx_status_code(p) : GBX_ERR_CONFLICT;
            gbx_status_free(p);
            gbx_log(GBX_LOG_INFO, "status %s: %s", gbx_status_id(target), msg);
            complete_cancel_status(jm, cancel_id, code, msg);
            /* The target may be cancelled again later. */
            if ((err = set_priv(target, P_PRECANCEL, NULL)) != GBX_OK) return err;
            if ((err = set_priv(target, P_CANCEL_STATUS, NULL)) != GBX_OK) return err;
            return gbx_status_counter_add(NULL, target, C_ACTIVE, -1);
        }
        gbx_status_free(p);
        if ((err = gbx__status_set_private(target, P_PRECANCEL_OK, json_true())) != GBX_OK)
            return err;
    }

    for (int round = 0; round < ADVANCE_ROUNDS; round++) {
        gbx_state state = gbx_status_state(target);
        switch (state) {
        case GBX_STATE_PENDING:
        case GBX_STATE_RUNNING:
            /* The transition's fresh row tells whether anyone works on it. */
            if (gbx_status_transition(target, state, GBX_STATE_STOPPING) != GBX_OK) {
                gbx_error_clear();
                if ((err = gbx_status_refresh(target)) != GBX_OK) return err;
                continue;
            }
            gbx_log(GBX_LOG_INFO, "status %s: stopping (%s, concurrency %d)", gbx_status_id(target),
                    gbx_state_name(state), gbx_status_concurrency(target));
            report(jm, cancel_id, 10,
                   gbx_status_concurrency(target) > 0 ? "stopping: the handler stops at its next checkpoint"
                                                      : "stopping");
            if (gbx_status_concurrency(target) > 0) return GBX_OK; /* the worker goes on */
            stop_step(jm, target, NULL);
            break;
        case GBX_STATE_STOPPING:
            if (gbx_status_concurrency(target) > 0) return GBX_OK;
            stop_step(jm, target, NULL);
            break;
        case GBX_STATE_STOPPED:
        case GBX_STATE_COMPLETED:
            if (gbx_status_transition(target, state, GBX_STATE_CANCELLING) != GBX_OK) gbx_error_clear();
            break;
        case GBX_STATE_CANCELLING:
            return cancelling(jm, target, cancel_id);
        case GBX_STATE_CANCELLED:
            complete_cancel_status(jm, cancel_id, 0, NULL);
            return GBX_OK;
        default:
            return GBX_OK;
        }
        if ((err = gbx_status_refresh(target)) != GBX_OK) return err;
    }
    gbx_log(GBX_LOG_WARN, "status %s: cancellation did not settle (state %s); it goes on at its "
            "next event", gbx_status_id(target), gbx_state_name(gbx_status_state(target)));
    return GBX_OK;
}

/* ---- internal API ---------------------------------------------------------- */

gbx_err gbx__cancel_advance(gbx_jobmanager *jm, const char *target_id) {
    gbx_err err = need_store(jm);
    if (err != GBX_OK) return err;
    gbx_status *target = NULL;
    if ((err = gbx_status_fetch(&target, gbx_jobmanager_store(jm), target_id)) != GBX_OK) return err;
    err = advance(jm, target);
    gbx_status_free(target);
    return err;
}

gbx_err gbx__cancel_stopped(gbx_jobmanager *jm, gbx_status *status, const gbx_envelope *env) {
    gbx_err err = need_store(jm);
    if (err != GBX_OK) return err;
    if (!stop_step(jm, status, env)) return GBX_OK;
    if ((err = gbx_status_refresh(status)) != GBX_OK) return err;
    return advance(jm, status);
}

void gbx__job_completed(gbx_jobmanager *jm, const gbx_envelope *env, gbx_status *status) {
    if (env && gbx_jobmanager_fire(jm, env, status, GBX_EVENT_COMPLETED) != GBX_OK)
        gbx_log(GBX_LOG_ERROR, "status %s: cannot fire COMPLETED events: %s", gbx_status_id(status),
                gbx_error_last()->message);
    if (gbx__cancel_notify(jm, status) != GBX_OK)
        gbx_log(GBX_LOG_ERROR, "status %s: cannot continue the cancellation it belongs to: %s",
                gbx_status_id(status), gbx_error_last()->message);
}

void gbx__job_stop_if_idle(gbx_jobmanager *jm, gbx_status *status, const gbx_envelope *env) {
    if (gbx_status_state(status) != GBX_STATE_STOPPING || gbx_status_concurrency(status) > 0) return;
    if (gbx__cancel_stopped(jm, status, env) != GBX_OK)
        gbx_log(GBX_LOG_ERROR, "status %s: cannot finish stopping it: %s", gbx_status_id(status),
                gbx_error_last()->message);
}

gbx_err gbx__cancel_notify(gbx_jobmanager *jm, gbx_status *status) {
    if (!status || gbx_status_is_remote(status) || !gbx_status_has_completed(status)) return GBX_OK;
    const char *target = priv_str(status, P_NOTIFY);
    if (!target) return GBX_OK;
    char id[160];
    snprintf(id, sizeof id, "%s", target);
    return gbx__cancel_advance(jm, id);
}

/* ---- requests ---------------------------------------------------------------- */

/* Cancels a status of this store; C becomes a child of `parent` when given. */
static gbx_err cancel_local(gbx_status **out, gbx_jobmanager *jm, gbx_status *target,
                            gbx_status *parent) {
    *out = NULL;
    gbx_state state = gbx_status_state(target);
    gbx_status *c = NULL;
    gbx_err err;
    if (state == GBX_STATE_CANCELLED) {
        err = make_cancel_status(&c, jm, target, parent);
        if (err == GBX_OK) err = gbx_status_add_message(c, "already cancelled");
        if (err == GBX_OK) err = gbx_status_success(c);
        if (err != GBX_OK) {
            gbx_status_free(c);
            return err;
        }
        *out = c;
        return GBX_OK;
    }
    if (state == GBX_STATE_STOPPING || state == GBX_STATE_STOPPED || state == GBX_STATE_CANCELLING)
        return gbx_error_set(GBX_ERR_CONFLICT, "state is currently %s", gbx_state_name(state));
    /* One cancellation at a time: the store counter decides between racing
     * requests. */
    long long active = 0;
    if ((err = gbx_status_counter_add(&active, target, C_ACTIVE, 1)) != GBX_OK) return err;
    if (active != 1) {
        (void)gbx_status_counter_add(NULL, target, C_ACTIVE, -1);
        const char *cid = priv_str(target, P_CANCEL_STATUS);
        return gbx_error_set(GBX_ERR_CONFLICT, "state is currently %s (cancellation %s in progress)",
                             gbx_state_name(state), cid ? cid : "already");
    }
    err = make_cancel_status(&c, jm, target, parent);
    if (err == GBX_OK) err = set_priv(target, P_CANCEL_STATUS, gbx_status_id(c));
    if (err == GBX_OK) err = set_priv(target, P_PRECANCEL, NULL);
    if (err == GBX_OK) err = gbx__status_set_private(target, P_PRECANCEL_OK, NULL);
    if (err == GBX_OK) err = set_priv(target, P_COMPENSATION, NULL);
    if (err == GBX_OK) err = gbx__status_set_private(target, P_STOP_CHILDREN, NULL);
    if (err != GBX_OK) {
        char why[1024];
        snprintf(why, sizeof why, "%s", gbx_error_last()->message);
        (void)gbx_status_counter_add(NULL, target, C_ACTIVE, -1);
        if (c) complete_cancel_status(jm, gbx_status_id(c), GBX_ERR_INTERNAL_SERVER_ERROR, why);
        gbx_status_free(c);
        return gbx_error_set(err, "%s", why);
    }
    gbx_log(GBX_LOG_INFO, "status %s: cancel requested (%s), cancel status %s",
            gbx_status_id(target), gbx_state_name(state), gbx_status_id(c));

    bool go_on = true;
    if (json_object_get(gbx_status_events(target), "PRECANCEL")) {
        bool done = false;
        err = start_event_job(&done, jm, target, GBX_STATUS_EVENT_PRECANCEL, gbx_status_id(c),
                              P_PRECANCEL, gbx_status_id(c), 5, "PRECANCEL job");
        if (err != GBX_OK) {
            /* A PRECANCEL job that cannot run cannot agree: a veto. */
            char why[1200];
            snprintf(why, sizeof why, "cannot start the PRECANCEL job: %s", gbx_error_last()->message);
            gbx_log(GBX_LOG_ERROR, "status %s: %s", gbx_status_id(target), why);
            complete_cancel_status(jm, gbx_status_id(c), (int)err, why);
            (void)set_priv(target, P_CANCEL_STATUS, NULL);
            (void)gbx_status_counter_add(NULL, target, C_ACTIVE, -1);
            go_on = false;
        } else {
            go_on = done;
        }
    }
    if (go_on) {
        if ((err = gbx_status_refresh(target)) == GBX_OK) err = advance(jm, target);
        if (err != GBX_OK)
            gbx_log(GBX_LOG_ERROR, "status %s: cancellation: %s", gbx_status_id(target),
                    gbx_error_last()->message);
    }
    gbx_error_clear();
    if (gbx_status_refresh(c) != GBX_OK) gbx_error_clear();
    *out = c;
    return GBX_OK;
}

gbx_err gbx_jobmanager_cancel(gbx_status **out, gbx_jobmanager *jm, const char *id_or_uri) {
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_jobmanager_cancel: out is NULL");
    *out = NULL;
    if (!id_or_uri || !*id_or_uri)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "cancel: no status id or URI");
    gbx_err err = need_store(jm);
    if (err != GBX_OK) return err;
    gbx_status *target = NULL;
    err = gbx_status_fetch(&target, gbx_jobmanager_store(jm), id_or_uri);
    if (err == GBX_ERR_NOT_FOUND && is_http(id_or_uri)) {
        /* Another service's status: ask it. */
        char *suri = NULL;
        gbx_job *current = gbx_jobmanager_current(jm);
        const char *parent = current ? gbx_job_status_id(current) : NULL;
        err = post_remote(&suri, jm, id_or_uri, "{\"state\":\"CANCELLED\"}", parent);
        if (err != GBX_OK) return err;
        if (!suri) return gbx_error_set(GBX_ERR_BAD_GATEWAY, "%s accepted the cancel but named no "
                                        "status", id_or_uri);
        err = gbx_jobmanager_status(out, jm, suri);
        free(suri);
        return err;
    }
    if (err != GBX_OK) return err;
    err = cancel_local(out, jm, target, NULL);
    gbx_status_free(target);
    return err;
}

gbx_err gbx_jobmanager_reschedule(gbx_status **out, gbx_jobmanager *jm, const char *id_or_uri,
                                  double ytime) {
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_jobmanager_reschedule: out is NULL");
    *out = NULL;
    if (!id_or_uri || !*id_or_uri)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "reschedule: no status id or URI");
    if (!(ytime >= 0) || ytime > 1e12)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "reschedule: %g is not a time in unix seconds", ytime);
    gbx_err err = need_store(jm);
    if (err != GBX_OK) return err;
    gbx_status *target = NULL;
    err = gbx_status_fetch(&target, gbx_jobmanager_store(jm), id_or_uri);
    if (err == GBX_ERR_NOT_FOUND && is_http(id_or_uri)) {
        char body[64], *suri = NULL;
        snprintf(body, sizeof body, "{\"ytime\":%.3f}", ytime);
        if ((err = post_remote(&suri, jm, id_or_uri, body, NULL)) != GBX_OK) return err;
        free(suri);
        return gbx_jobmanager_status(out, jm, id_or_uri);
    }
    if (err != GBX_OK) return err;
    gbx_state state = gbx_status_state(target);
    if (state != GBX_STATE_PENDING && state != GBX_STATE_RUNNING) {
        gbx_status_free(target);
        return gbx_error_set(GBX_ERR_CONFLICT, "state is currently %s", gbx_state_name(state));
    }
    size_t n = 0;
    err = gbx__queue_reschedule(&n, gbx_jobmanager_store(jm), gbx_status_id(target), ytime);
    if (err == GBX_OK && n == 0)
        err = gbx_error_set(GBX_ERR_CONFLICT, "status %s has no job waiting to run",
                            gbx_status_id(target));
    if (err == GBX_OK) err = gbx_status_set_ytime(target, ytime);
    if (err != GBX_OK) {
        gbx_status_free(target);
        return err;
    }
    gbx_log(GBX_LOG_INFO, "status %s: %zu queued job(s) rescheduled to %.3f", gbx_status_id(target),
            n, ytime);
    *out = target;
    return GBX_OK;
}
