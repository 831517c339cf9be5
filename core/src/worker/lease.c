/* lease.c - the lease keeper thread of a worker (lease.h). */
#include "worker/lease.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gearbox/log.h"
#include "store/queue_internal.h"

struct gbx__lease_keeper {
    gbx_store *store;
    double seconds;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
    pthread_t thread;
    bool started, quit;
    bool renewing;        /* a renewal is in flight (outside the lock) */
    char *ticket;         /* the lease held, NULL when none */
    unsigned long holds;  /* counts hold() calls: a renewal belongs to one */
};

static void deadline_after(struct timespec *ts, double seconds) {
    clock_gettime(CLOCK_MONOTONIC, ts);
    double whole = (double)(time_t)seconds;
    ts->tv_sec += (time_t)whole;
    ts->tv_nsec += (long)((seconds - whole) * 1e9);
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* After a renewal that failed (the store is away), the next try comes
 * sooner, so that the lease is renewed as soon as the store is back. */
#define RETRY_PAUSE_S 0.25

static void *keeper_main(void *arg) {
    gbx__lease_keeper *k = arg;
    double pause = k->seconds / 3;
    bool failing = false; /* said once per outage */
    pthread_mutex_lock(&k->lock);
    while (!k->quit) {
        if (!k->ticket) {
            pthread_cond_wait(&k->cond, &k->lock);
            continue;
        }
        unsigned long hold = k->holds;
        struct timespec ts;
        deadline_after(&ts, pause);
        int rc = 0;
        while (!k->quit && k->ticket && k->holds == hold && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&k->cond, &k->lock, &ts);
        if (k->quit || !k->ticket || k->holds != hold) continue;
        char *ticket = strdup(k->ticket);
        if (!ticket) continue;
        k->renewing = true;
        pthread_mutex_unlock(&k->lock);
        bool held = false;
        pause = k->seconds / 3;
        if (gbx__queue_renew(&held, k->store, ticket, k->seconds) != GBX_OK) {
            pause = pause < RETRY_PAUSE_S ? pause : RETRY_PAUSE_S;
            gbx_log(failing ? GBX_LOG_DEBUG : GBX_LOG_WARN,
                    "ticket %s: cannot renew its lease (trying again every %.2f s): %s", ticket,
                    pause, gbx_error_last()->message);
            failing = true;
        } else if (failing) {
            failing = false;
            gbx_log(GBX_LOG_INFO, "ticket %s: lease renewed again", ticket);
        }
        if (!held && !failing)
            gbx_log(GBX_LOG_DEBUG, "ticket %s: lease no longer held (the job was cancelled)", ticket);
        free(ticket);
        pthread_mutex_lock(&k->lock);
        k->renewing = false;
        pthread_cond_broadcast(&k->cond);
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
    pthread_cond_broadcast(&k->cond);
    pthread_mutex_unlock(&k->lock);
    return GBX_OK;
}

void gbx__lease_keeper_release(gbx__lease_keeper *k) {
    if (!k) return;
    pthread_mutex_lock(&k->lock);
    free(k->ticket);
    k->ticket = NULL;
    k->holds++;
    pthread_cond_broadcast(&k->cond);
    /* A renewal in flight finishes before the caller deletes the row. */
    while (k->renewing) pthread_cond_wait(&k->cond, &k->lock);
    pthread_mutex_unlock(&k->lock);
}

double gbx__lease_keeper_seconds(const gbx__lease_keeper *k) { return k->seconds; }
