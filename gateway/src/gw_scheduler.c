/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_scheduler.c - the scheduler thread (see gw_scheduler.h). */
#include "gw_scheduler.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "gearbox/log.h"
#include "gw_util.h"

/* The longest sleep between two looks at the queue. */
#define SCHEDULER_MAX_SLEEP_S 1.0
/* After a failing step (store or gearmand trouble), the next try. */
#define SCHEDULER_ERROR_SLEEP_S 1.0

struct gbx_gw_scheduler {
    gbx_jobmanager *jm;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
    bool stopping;
    bool woken;
    bool joined; /* the thread has ended (gbx_gw_scheduler_stop) */
    atomic_llong lag_us; /* how late the last run was behind the due time it woke for */
};

static double wall_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *scheduler_main(void *arg) {
    gbx_gw_scheduler *s = arg;
    bool failing = false;
    double expected = 0; /* the earliest due time the last run named (0: none) */
    for (;;) {
        pthread_mutex_lock(&s->lock);
        bool stop = s->stopping;
        s->woken = false;
        pthread_mutex_unlock(&s->lock);
        if (stop) break;

        /* Lag: the run that should have started at `expected` starts now. */
        double started = wall_now();
        atomic_store(&s->lag_us, expected > 0 && started > expected
                                     ? (long long)((started - expected) * 1e6) : 0);
        size_t submitted = 0;
        double next_due = 0;
        double sleep_s = SCHEDULER_MAX_SLEEP_S;
        if (gbx_jobmanager_run_due(&submitted, &next_due, s->jm) != GBX_OK) {
            /* Logged once per streak: a store or gearmand outage would
             * otherwise write a line a second. */
            if (!failing)
                gbx_log(GBX_LOG_WARN, "scheduler: %s (retrying every %g s)",
                        gbx_error_last()->message, SCHEDULER_ERROR_SLEEP_S);
            failing = true;
            sleep_s = SCHEDULER_ERROR_SLEEP_S;
        } else {
            if (failing) gbx_log(GBX_LOG_INFO, "scheduler: working again");
            failing = false;
            if (submitted) gbx_log(GBX_LOG_DEBUG, "scheduler: submitted %zu due job(s)", submitted);
            expected = next_due;
            if (next_due > 0) {
                double until = next_due - wall_now();
                if (until < sleep_s) sleep_s = until > 0 ? until : 0;
            }
        }
        if (sleep_s <= 0) continue;

        struct timespec ts;
        gbx_gw_deadline_in(&ts, sleep_s);
        pthread_mutex_lock(&s->lock);
        while (!s->stopping && !s->woken)
            if (pthread_cond_timedwait(&s->cond, &s->lock, &ts) != 0) break; /* timed out */
        pthread_mutex_unlock(&s->lock);
    }
    return NULL;
}

gbx_err gbx_gw_scheduler_start(gbx_gw_scheduler **out, gbx_jobmanager *jm) {
    *out = NULL;
    gbx_gw_scheduler *s = calloc(1, sizeof *s);
    if (!s) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    s->jm = jm;
    gbx_gw_cond_init_monotonic(&s->cond);
    pthread_mutex_init(&s->lock, NULL);
    int rc = pthread_create(&s->thread, NULL, scheduler_main, s);
    if (rc != 0) {
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "cannot start the scheduler thread: %s",
                             strerror(rc));
    }
    *out = s;
    return GBX_OK;
}

void gbx_gw_scheduler_wake(gbx_gw_scheduler *s) {
    if (!s) return;
    pthread_mutex_lock(&s->lock);
    s->woken = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

void gbx_gw_scheduler_stop(gbx_gw_scheduler *s) {
    if (!s || s->joined) return;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    s->joined = true;
}

void gbx_gw_scheduler_free(gbx_gw_scheduler *s) {
    if (!s) return;
    gbx_gw_scheduler_stop(s);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

double gbx_gw_scheduler_lag(const gbx_gw_scheduler *s) {
    return s ? (double)atomic_load(&((gbx_gw_scheduler *)s)->lag_us) / 1e6 : 0;
}
