/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* lease.c - the lease keeper thread of a worker (lease.h).
 *
 * Most jobs end long before their lease needs renewing, so hold() and
 * release() do not wake the thread: it sleeps until the renewal of the
 * ticket it holds is due and looks then.  Only a hold() while the thread
 * waits with nothing to do, release() while a renewal is in flight, and
 * free() signal it.
 */
#include "worker/lease.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gearbox/log.h"
#include "store/queue_internal.h"

/* After a renewal that failed (the store is away), the next try comes
 * sooner, so that the lease is renewed as soon as the store is back. */
#define RETRY_PAUSE_S 0.25

struct gbx__lease_keeper {
    gbx_store *store;
    double seconds;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
    pthread_t thread;
    bool started, quit;
    bool idle;            /* the thread waits for a ticket (hold() wakes it) */
    bool renewing;        /* a renewal is in flight (outside the lock) */
    char *ticket;         /* the lease held, NULL when none */
    unsigned long holds;  /* counts hold() calls: a renewal belongs to one */
    double renew_at;      /* monotonic seconds when the held lease is renewed next */
};

static double mono_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void timespec_at(struct timespec *ts, double at) {
    ts->tv_sec = (time_t)at;
    ts->tv_nsec = (long)((at - (double)ts->tv_sec) * 1e9);
}

static void *keeper_main(void *arg) {
    gbx__lease_keeper *k = arg;
    bool failing = false; /* said once per outage */
    pthread_mutex_lock(&k->lock);
    while (!k->quit) {
        if (!k->ticket) {
            k->idle = true;
            pthread_cond_wait(&k->cond, &k->lock);
            k->idle = false;
            continue;
        }
        if (mono_now() < k->renew_at) {
            struct timespec ts;
            timespec_at(&ts, k->renew_at);
            pthread_cond_timedwait(&k->cond, &k->lock, &ts);
            continue; /* look again: another ticket, none, or due */
        }
        unsigned long hold = k->holds;
        char *ticket = strdup(k->ticket);
        if (!ticket) {
            k->renew_at = mono_now() + RETRY_PAUSE_S;
            continue;
        }
        k->renewing = true;
        pthread_mutex_unlock(&k->lock);
        bool held = false;
        double pause = k->seconds / 3;
        if (gbx__queue_renew(&held, k->store, ticket, k->seconds) != GBX_OK) {
            pause = pause < RETRY_PAUSE_S ? pause : RETRY_PAUSE_S;
            gbx_log(failing ? GBX_LOG_DEBUG : GBX_LOG_WARN,
                    "ticket %s: cannot renew its lease (trying again every %.2f s): %s", ticket,
                    pause, gbx_error_last()->message);
            failing = true;
        } else {
            if (failing) gbx_log(GBX_LOG_INFO, "ticket %s: lease renewed again", ticket);
            else if (!held)
                gbx_log(GBX_LOG_DEBUG, "ticket %s: lease no longer held (the job was cancelled)",
                        ticket);
            failing = false;
        }
        free(ticket);
        pthread_mutex_lock(&k->lock);
        k->renewing = false;
        if (k->holds == hold) k->renew_at = mono_now() + pause;
        pthread_cond_broadcast(&k->cond); /* a release() waiting for this renewal */
    }
    pthread_mutex_unlock(&k->lock);
    return NULL;
}

gbx_err gbx__lease_keeper_new(gbx__lease_keeper **out, gbx_store *store, double lease_seconds) {
    *out = NULL;
    if (!store || !(lease_seconds > 0))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "lease keeper: no store or lease_seconds <= 0");
    gbx__lease_keeper *k = calloc(1, sizeof *k);
    if (!k) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    k->store = store;
    k->seconds = lease_seconds;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&k->cond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&k->lock, NULL);
    *out = k;
    return GBX_OK;
}

void gbx__lease_keeper_free(gbx__lease_keeper *k) {
    if (!k) return;
    pthread_mutex_lock(&k->lock);
    k->quit = true;
    pthread_cond_broadcast(&k->cond);
    pthread_mutex_unlock(&k->lock);
    if (k->started) pthread_join(k->thread, NULL);
    free(k->ticket);
    pthread_cond_destroy(&k->cond);
    pthread_mutex_destroy(&k->lock);
    free(k);
}

gbx_err gbx__lease_keeper_hold(gbx__lease_keeper *k, const char *ticket) {
    char *copy = strdup(ticket);
    if (!copy) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    pthread_mutex_lock(&k->lock);
    if (!k->started) {
        int rc = pthread_create(&k->thread, NULL, keeper_main, k);
        if (rc != 0) {
            pthread_mutex_unlock(&k->lock);
            free(copy);
            return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                                 "cannot start the lease keeper thread: %s", strerror(rc));
        }
        k->started = true;
    }
    free(k->ticket);
    k->ticket = copy;
    k->holds++;
    k->renew_at = mono_now() + k->seconds / 3;
    if (k->idle) pthread_cond_broadcast(&k->cond);
    pthread_mutex_unlock(&k->lock);
    return GBX_OK;
}

void gbx__lease_keeper_release(gbx__lease_keeper *k) {
    if (!k) return;
    pthread_mutex_lock(&k->lock);
    free(k->ticket);
    k->ticket = NULL;
    k->holds++;
    /* A renewal in flight finishes before the caller deletes the row. */
    while (k->renewing) pthread_cond_wait(&k->cond, &k->lock);
    pthread_mutex_unlock(&k->lock);
}

double gbx__lease_keeper_seconds(const gbx__lease_keeper *k) { return k->seconds; }
