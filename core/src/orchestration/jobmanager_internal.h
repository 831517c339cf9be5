/* jobmanager_internal.h - what jobmanager.c, submit.c, rest.c and agents.c share
 * (private to libgearbox; tests may include it).
 *
 * A job manager keeps, per thread that uses it, one gbx__jm_thread: the
 * blocking gearman client (submit.c), the curl handle (rest.c) and the
 * current job.  The states of threads still alive are listed so that
 * gbx_jobmanager_free can release them; a thread that exits releases its
 * own.
 */
#ifndef GBX_JOBMANAGER_INTERNAL_H
#define GBX_JOBMANAGER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "gearbox/jobmanager.h"

typedef struct gbx__jm_thread {
    struct gbx__jm_thread *next, *prev;
    gbx_jobmanager *owner;
    void *gearman; /* gearman_client_st *, created on first use (submit.c) */
    void *curl;    /* CURL *, created on first use (rest.c) */
    gbx_job *current; /* borrowed */
} gbx__jm_thread;

struct gbx_jobmanager {
    const gbx_config *cfg;  /* borrowed; may be NULL (all defaults) */
    gbx_store *store;       /* borrowed; may be NULL (no async jobs) */
    char *servers;          /* libgearman server list */
    double sync_timeout;    /* jobs.sync_timeout */
    double rest_timeout;    /* jobs.rest_timeout */
    double submit_timeout;  /* jobs.submit_timeout, else submit_timeout, else 5 */
    int retry_max_attempts; /* jobs.retry_max_attempts */
    double retry_max_delay; /* jobs.retry_max_delay */
    double resubmit_after;  /* jobs.resubmit_after */
    pthread_key_t key;
    pthread_mutex_t lock;   /* guards threads, base_uri and the handler cache */
    gbx__jm_thread *threads;
    char *base_uri;
    json_t *known;          /* {handler: workers} from gearmand's status; NULL before the first
                             * answer, json null when no server answered the last ask */
    double known_at;        /* monotonic seconds of the last ask (set when it starts) */
};

/* The calling thread's state; created when `create` (NULL then only when
 * out of memory, with the error set). */
gbx__jm_thread *gbx__jm_thread_get(const gbx_jobmanager *jm, bool create);

/* Monotonic seconds (unix seconds: gbx__now(), store_internal.h). */
double gbx__jm_mono(void);

/* The status of the calling thread's current job (NULL when there is none
 * or it is a sync job): the job's own handle (*owned false) or one fetched
 * from the store by its status id (*owned true: free it). */
gbx_err gbx__jm_current_status(gbx_status **out, bool *owned, gbx_jobmanager *jm);

/* The end of a run: on GBX_OK `resp` goes to *out (freed when `out` is
 * NULL); on an error it is freed.  Returns `err`. */
gbx_err gbx__jm_hand_over(gbx_response **out, gbx_response *resp, gbx_err err);

/* "GET", "DELETE", "POST", "PUT", "HEAD"; NULL for a value outside the
 * enum. */
const char *gbx__jm_method_name(gbx_http_method method);

/* The pause before retry number `failures` (1 = first retry): Fibonacci
 * (1, 1, 2, 3, 5, ...) capped at `max_delay`; above 15 s moved by
 * jitter * 10 % (jitter in -1..1; 0 = none). */
double gbx__jm_retry_delay(int failures, double max_delay, double jitter);

/* ---- submit.c: gearmand ---------------------------------------------- */

/* Runs `function` as a foreground job and waits up to `timeout` s for its
 * result (*result malloc'ed, NUL-terminated, *len bytes; NULL for an empty
 * result).  GBX_ERR_GATEWAY_TIMEOUT when no worker answered in time,
 * GBX_ERR_SERVICE_UNAVAILABLE when gearmand cannot be reached,
 * GBX_ERR_BAD_GATEWAY when the worker failed the job. */
gbx_err gbx__jm_gearman_do(char **result, size_t *len, gbx_jobmanager *jm, const char *function,
                           const char *unique, const char *workload, size_t wlen, double timeout);

/* Whether `name` is registered with (one of) the gearmand servers by a
 * live worker, from the admin "status" command (cached: see
 * gbx_jobmanager_handler_known), or listed in the config's "handlers".  GBX_ERR_SERVICE_UNAVAILABLE when it
 * is not listed and no gearmand answers. */
gbx_err gbx__jm_handler_known(bool *known, gbx_jobmanager *jm, const char *name);

/* Sends the admin "status" command to the server `host:port` and returns
 * {function: available workers} (*out: new reference). */
gbx_err gbx__jm_gearman_status(json_t **out, const char *server, double timeout);

/* Releases the thread's gearman client (NULL-safe). */
void gbx__jm_thread_close_gearman(gbx__jm_thread *t);

/* ---- rest.c: libcurl --------------------------------------------------- */

/* curl_global_init, once per process. */
gbx_err gbx__jm_curl_init(void);

/* Sends a REST job (see gbx_jobmanager_run). */
gbx_err gbx__jm_rest_run(gbx_response **out, gbx_jobmanager *jm, gbx_job *job);

/* A gbx__status_fetch_fn: GET `status_uri` (user: the gbx_jobmanager) and
 * parse the status object. */
gbx_err gbx__jm_fetch_status(void *user, const char *status_uri, json_t **out);

/* Releases the thread's curl handle (NULL-safe). */
void gbx__jm_thread_close_curl(gbx__jm_thread *t);

#endif
