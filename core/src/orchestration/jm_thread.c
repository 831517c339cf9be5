/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* jm_thread.c - the bottom of the job manager: per-thread state, the
 * current job and its status, the clock and small shared helpers.  submit.c,
 * rest.c and jobmanager.c build on it; it calls none of them. */
#include "orchestration/jm_thread.h"

#include <stdlib.h>
#include <time.h>

#include "gearbox/log.h"

double gbx__jm_mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- per-thread state --------------------------------------------------- */

void gbx__jm_thread_unlist(gbx_jobmanager *jm, gbx__jm_thread *t) {
    if (t->prev) t->prev->next = t->next;
    else jm->threads = t->next;
    if (t->next) t->next->prev = t->prev;
    t->next = t->prev = NULL;
}

gbx__jm_thread *gbx__jm_thread_get(const gbx_jobmanager *cjm, bool create) {
    gbx_jobmanager *jm = (gbx_jobmanager *)cjm;
    gbx__jm_thread *t = pthread_getspecific(jm->key);
    if (t || !create) return t;
    t = calloc(1, sizeof *t);
    if (!t) {
        gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
        return NULL;
    }
    t->owner = jm;
    pthread_mutex_lock(&jm->lock);
    t->next = jm->threads;
    if (jm->threads) jm->threads->prev = t;
    jm->threads = t;
    pthread_mutex_unlock(&jm->lock);
    if (pthread_setspecific(jm->key, t) != 0) {
        pthread_mutex_lock(&jm->lock);
        gbx__jm_thread_unlist(jm, t);
        pthread_mutex_unlock(&jm->lock);
        free(t);
        gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "pthread_setspecific failed");
        return NULL;
    }
    return t;
}

/* ---- the current job ----------------------------------------------------- */

void gbx_jobmanager_set_current(gbx_jobmanager *jm, gbx_job *job) {
    if (!jm) return;
    gbx__jm_thread *t = gbx__jm_thread_get(jm, job != NULL);
    if (t) t->current = job;
    else if (job)
        gbx_log(GBX_LOG_ERROR, "job manager: cannot remember the current job: %s",
                gbx_error_last()->message);
}

gbx_job *gbx_jobmanager_current(const gbx_jobmanager *jm) {
    if (!jm) return NULL;
    gbx__jm_thread *t = gbx__jm_thread_get(jm, false);
    return t ? t->current : NULL;
}

/* ---- statuses and responses ---------------------------------------------- */

gbx_err gbx__jm_job_status(gbx_status **out, bool *owned, gbx_jobmanager *jm, gbx_job *job) {
    *out = NULL;
    *owned = false;
    gbx_status *st = gbx_job_status(job);
    if (st) {
        *out = st;
        return GBX_OK;
    }
    const char *id = gbx_envelope_get(gbx_job_envelope(job), "status");
    if (!id) return GBX_OK;
    if (!jm->store)
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "job manager has no status store");
    gbx_err err = gbx_status_fetch(&st, jm->store, id);
    if (err != GBX_OK) return err;
    *out = st;
    *owned = true;
    return GBX_OK;
}

gbx_err gbx__jm_hand_over(gbx_response **out, gbx_response *resp, gbx_err err) {
    if (err == GBX_OK && out) *out = resp;
    else gbx_response_free(resp);
    return err;
}

gbx_err gbx__jm_current_status(gbx_status **out, bool *owned, gbx_jobmanager *jm) {
    *out = NULL;
    *owned = false;
    gbx_job *current = gbx_jobmanager_current(jm);
    if (!current || gbx_envelope_is_sync(gbx_job_envelope(current))) return GBX_OK;
    return gbx__jm_job_status(out, owned, jm, current);
}

const char *gbx__jm_method_name(gbx_http_method method) {
    switch (method) {
    case GBX_METHOD_GET: return "GET";
    case GBX_METHOD_DELETE: return "DELETE";
    case GBX_METHOD_POST: return "POST";
    case GBX_METHOD_PUT: return "PUT";
    case GBX_METHOD_HEAD: return "HEAD";
    }
    return NULL;
}

