/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* jm_thread.h - the job manager's state and what every part of it shares:
 * the per-thread state (gearman client, curl handle, current job), the
 * clock, the current job's status and small helpers (private to
 * libgearbox).  It sits below submit.c, rest.c and jobmanager.c: they use
 * it, it uses none of them.
 *
 * A job manager keeps, per thread that uses it, one gbx__jm_thread.  The
 * states of threads still alive are listed so that gbx_jobmanager_free can
 * release them; a thread that exits releases its own (jobmanager.c closes
 * the clients, which belong to submit.c and rest.c).
 */
#ifndef GBX_JM_THREAD_H
#define GBX_JM_THREAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "gearbox/jobmanager.h"
#include "gearbox/servers.h"

typedef struct gbx__jm_thread {
    struct gbx__jm_thread *next, *prev;
    gbx_jobmanager *owner;
    void **gearman; /* gearman_client_st * per server of owner->server_list, each
                     * created on first use (submit.c) */
    void *curl;    /* CURL *, created on first use (rest.c) */
    gbx_job *current; /* borrowed */
} gbx__jm_thread;

struct gbx_jobmanager {
    const gbx_config *cfg;  /* borrowed; may be NULL (all defaults) */
    gbx_store *store;       /* borrowed; may be NULL (no async jobs) */
    char *servers;          /* libgearman server list */
    gbx_servers *server_list; /* the same, one by one, with down marks (submit.c) */
    double sync_timeout;    /* jobs.sync_timeout */
    double rest_timeout;    /* jobs.rest_timeout */
    double submit_timeout;  /* jobs.submit_timeout, else submit_timeout, else 5 */
    int retry_max_attempts; /* jobs.retry_max_attempts; 0 = unlimited */
    double retry_max_delay; /* jobs.retry_max_delay */
    double retry_max_jitter; /* jobs.retry_max_jitter */
    double resubmit_after;  /* jobs.resubmit_after */
    pthread_key_t key;
    pthread_mutex_t lock;   /* guards threads, base_uri and the handler cache */
    gbx__jm_thread *threads;
    char *base_uri;
    json_t *known;          /* {handler: workers} from gearmand's status; NULL before the first
                             * answer, json null when no server answered the last ask */
    double known_at;        /* monotonic seconds of the last ask (set when it starts) */
    double retention_s;     /* status.retention_days in seconds; 0 = keep forever */
    double next_purge;      /* unix seconds of the next look for old statuses (lock) */
};

/* The calling thread's state; created when `create` (NULL then only when
 * out of memory, with the error set). */
gbx__jm_thread *gbx__jm_thread_get(const gbx_jobmanager *jm, bool create);

/* Takes a thread's state off the manager's list (caller holds jm->lock). */
void gbx__jm_thread_unlist(gbx_jobmanager *jm, gbx__jm_thread *t);

/* Monotonic seconds (unix seconds: gbx__now(), store/backend.h). */
double gbx__jm_mono(void);

/* A status to work with for `job`: its own handle (borrowed, *owned false)
 * or one fetched from the store by the job's status id (*owned true: free
 * it); NULL when the job has no status. */
gbx_err gbx__jm_job_status(gbx_status **out, bool *owned, gbx_jobmanager *jm, gbx_job *job);

/* The status of the calling thread's current job (NULL when there is none
 * or it is a sync job), as gbx__jm_job_status. */
gbx_err gbx__jm_current_status(gbx_status **out, bool *owned, gbx_jobmanager *jm);

/* The end of a run: on GBX_OK `resp` goes to *out (freed when `out` is
 * NULL); on an error it is freed.  Returns `err`. */
gbx_err gbx__jm_hand_over(gbx_response **out, gbx_response *resp, gbx_err err);

/* "GET", "DELETE", "POST", "PUT", "HEAD"; NULL for a value outside the
 * enum. */
const char *gbx__jm_method_name(gbx_http_method method);

#endif
