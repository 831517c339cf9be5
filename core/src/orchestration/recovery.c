/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* recovery.c - what the scheduler step does besides submitting due jobs:
 * it takes care of jobs whose worker died (their lease ran out) and deletes
 * statuses past their retention.
 *
 * A job whose worker died is decided by its status: PENDING (the worker died
 * before it started the handler) runs again as it is; RUNNING counts a
 * failed attempt and is retried like a handler's WORKER_RETRY (Fibonacci
 * backoff, jobs.retry_max_attempts), or, when its handler is not retryable,
 * fails with 500 "worker died"; STOPPING finishes the stop the dead worker
 * would have finished; a final state only drops the row.  The dead worker's
 * share of the status's concurrency is given back.
 */
#include "orchestration/jobmanager_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gearbox/envelope.h"
#include "gearbox/log.h"
#include "job/job_internal.h"
#include "orchestration/cancel_internal.h"
#include "store/queue_internal.h"

/* How many statuses one scheduler step deletes at most, and how often it
 * looks for them when the last look found fewer. */
#define PURGE_BATCH 200
#define PURGE_INTERVAL_S 60.0

static void drop_row(gbx_jobmanager *jm, const gbx__queued *r) {
    if (gbx__queue_done(jm->store, r->ticket) != GBX_OK)
        gbx_log(GBX_LOG_WARN, "scheduler: cannot delete queue row %s of status %s: %s", r->ticket,
                r->status_id, gbx_error_last()->message);
}

/* A RUNNING job whose worker died: a failed attempt. */
static void died_running(gbx_jobmanager *jm, const gbx__queued *r, gbx_status *st,
                         gbx_envelope *env) {
    char why[512];
    snprintf(why, sizeof why, "worker died: %s stopped renewing its lease", r->name);
    if (!r->retryable) {
        char *formatted = gbx_error_format(GBX_ERR_INTERNAL_SERVER_ERROR, why);
        gbx_err err = gbx_status_fail(st, GBX_ERR_INTERNAL_SERVER_ERROR, formatted ? formatted : why);
        free(formatted);
        if (err != GBX_OK && err != GBX_ERR_CONFLICT) {
            gbx_log(GBX_LOG_ERROR, "status %s: cannot record that its worker died: %s",
                    gbx_status_id(st), gbx_error_last()->message);
            gbx_status_free(st);
            return; /* the row stays; it is sent again after the resubmit window */
        }
        gbx_log(GBX_LOG_WARN, "status %s: %s (not retryable)", gbx_status_id(st), why);
        if (err == GBX_OK) gbx__job_completed(jm, env, st);
        gbx_status_free(st);
        drop_row(jm, r);
        return;
    }
    gbx_job *job = NULL;
    gbx_envelope *copy = NULL;
    gbx_err err = gbx_envelope_copy(&copy, env);
    if (err == GBX_OK) err = gbx__job_new_owned(&job, copy);
    if (err == GBX_OK) {
        gbx__job_set_status(job, st); /* the job owns it from here */
        gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "%s", why); /* the reason retry reports */
        err = gbx_jobmanager_retry(jm, job, 0, -1);
        if (err == GBX_OK) {
            drop_row(jm, r);
        } else if (gbx_status_refresh(st) == GBX_OK && gbx_status_has_completed(st)) {
            gbx__job_completed(jm, env, st); /* it gave up after too many attempts */
            drop_row(jm, r);
        } else {
            gbx_log(GBX_LOG_ERROR, "status %s: cannot retry %s after its worker died: %s",
                    gbx_status_id(st), r->name, gbx_error_last()->message);
        }
        gbx_job_free(job);
        return;
    }
    gbx_log(GBX_LOG_ERROR, "status %s: cannot retry %s after its worker died: %s",
            gbx_status_id(st), r->name, gbx_error_last()->message);
    gbx_status_free(st);
}

bool gbx__jm_recover(gbx_jobmanager *jm, const gbx__queued *r) {
    gbx_log(GBX_LOG_WARN, "scheduler: job %s ticket %s status %s: its lease ran out (the worker "
            "died or hangs)", r->name, r->ticket, r->status_id ? r->status_id : "-");
    if (!r->status_id) return true;
    gbx_status *st = NULL;
    gbx_err err = gbx_status_fetch(&st, jm->store, r->status_id);
    if (err == GBX_ERR_NOT_FOUND) {
        drop_row(jm, r);
        return false;
    }
    if (err != GBX_OK) {
        /* Not claimed again before the resubmit window; then it simply
         * runs again. */
        gbx_log(GBX_LOG_ERROR, "scheduler: status %s: %s", r->status_id, gbx_error_last()->message);
        return false;
    }
    gbx_state state = gbx_status_state(st);
    if (state == GBX_STATE_PENDING) { /* died before it started: runs as it is */
        gbx_status_free(st);
        return true;
    }
    if (state != GBX_STATE_RUNNING && state != GBX_STATE_STOPPING) {
        gbx_status_free(st);
        drop_row(jm, r);
        return false;
    }
    /* The dead worker's share; re-reads the row in the same update. */
    if (gbx_status_add_concurrency(st, -1) != GBX_OK) {
        gbx_log(GBX_LOG_ERROR, "scheduler: status %s: %s", r->status_id, gbx_error_last()->message);
        gbx_status_free(st);
        return false;
    }
    gbx_envelope *env = NULL;
    if (gbx_envelope_parse(&env, r->envelope, strlen(r->envelope)) != GBX_OK) {
        gbx_log(GBX_LOG_ERROR, "scheduler: status %s: bad envelope in queue row %s: %s",
                r->status_id, r->ticket, gbx_error_last()->message);
        gbx_status_free(st);
        drop_row(jm, r);
        return false;
    }
    if (gbx_status_state(st) == GBX_STATE_STOPPING) {
        /* Being cancelled: the stop the dead worker would have finished. */
        gbx__job_stop_if_idle(jm, st, env);
        gbx_status_free(st);
        drop_row(jm, r);
    } else if (gbx_status_state(st) == GBX_STATE_RUNNING) {
        died_running(jm, r, st, env); /* takes st */
    } else {
        gbx_status_free(st);
        drop_row(jm, r);
    }
    gbx_envelope_free(env);
    return false;
}

void gbx__jm_purge_old(gbx_jobmanager *jm, double now) {
    if (!(jm->retention_s > 0)) return;
    pthread_mutex_lock(&jm->lock);
    bool due = now >= jm->next_purge;
    if (due) jm->next_purge = now + PURGE_INTERVAL_S;
    pthread_mutex_unlock(&jm->lock);
    if (!due) return;
    size_t n = 0;
    if (gbx__store_purge(&n, jm->store, now - jm->retention_s, PURGE_BATCH) != GBX_OK) {
        gbx_log(GBX_LOG_WARN, "scheduler: cannot delete old statuses: %s", gbx_error_last()->message);
        gbx_error_clear();
        return;
    }
    if (n > 0)
        gbx_log(GBX_LOG_INFO, "scheduler: deleted %zu statuses finished more than %g days ago", n,
                jm->retention_s / 86400);
    if (n == PURGE_BATCH) { /* more to delete: on the next step */
        pthread_mutex_lock(&jm->lock);
        jm->next_purge = now;
        pthread_mutex_unlock(&jm->lock);
    }
}
