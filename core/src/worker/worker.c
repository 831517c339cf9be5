/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* worker.c - the worker runtime: gearmand connection, job dispatch, and the
 * mapping of handler results onto statuses and sync replies.
 *
 * Rule of the house: a job taken from gearmand is always answered with
 * GEARMAN_SUCCESS.  Failing it (or dropping the connection) would make
 * gearmand hand it out again, and a job that cannot succeed would loop
 * forever; failures are recorded in the status store instead.
 *
 * Orchestration (DESIGN §6): every async job carries a `ticket`, the
 * gbx_queue row it came from (the gateway's first submit too); the worker
 * claims the row by leasing it (gbx__queue_take) before anything else, so
 * the job runs once however often gearmand delivers it.  The lease is
 * renewed while the handler runs (lease.c) and the row is deleted when the
 * job is done; a worker that dies lets the lease run out and the scheduler
 * runs the job again (jobmanager recovery).  Only ticketed jobs
 * (continuations, event jobs, retries) may run on a RUNNING status.  Cancellation is cooperative:
 * a STOPPING status never starts a job, the claim of the status (one write:
 * the state and this worker counted) is the check just before the handler,
 * and a status found STOPPING after the handler is moved on to STOPPED by
 * the worker (cancel_internal.h).  A plain job costs the store four writes:
 * lease the queue row, claim the status, complete it (uncounted in the same
 * write), delete the row.
 */
#include "gearbox/worker.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libgearman/gearman.h>

#include "orchestration/cancel_internal.h"
#include "gearbox/jobmanager.h"
#include "gearbox/json.h"
#include "gearbox/log.h"
#include "gearbox/schema.h"
#include "gearbox/scoreboard.h"
#include "job/job_internal.h"
#include "store/queue_internal.h"
#include "store/status_internal.h"
#include "worker/figures.h"
#include "worker/lease.h"

/* stop() is called from signal handlers and from other threads: a lock-free
 * atomic is safe for both. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "stop flag must be lock-free");

/* How long run() waits in gearman_worker_work before it looks at the stop
 * flag again. */
#define RUN_WAIT_MS 1000
/* jobs.lease_seconds: how long a worker's claim on a job lasts unrenewed. */
#define LEASE_SECONDS_DEFAULT 30.0
/* jobs.store_patience: how long store calls wait out a database outage. */
#define STORE_PATIENCE_DEFAULT 60.0
/* metrics.publish_seconds: how often the process's figures (scoreboards,
 * job counts) go to the store for the gateway's /metrics; 0 = never. */
#define PUBLISH_SECONDS_DEFAULT 10.0
/* Backoff while no gearmand can be reached. */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000

/* A job queued by gbx_worker_afterwards. */
typedef struct after_job {
    struct after_job *next;
    gbx_job *job;   /* owned copy */
    double delay;   /* seconds; <= 0 runs it at once */
} after_job;

typedef struct handler_entry {
    struct handler_entry *next;
    struct gbx_worker *worker;
    char *name;
    gbx_handler_fn fn;
    void *user;
    bool added;     /* registered with the gearman worker */
    bool retryable; /* run again when its worker dies mid-job (default) */
} handler_entry;

struct gbx_worker {
    gbx_config *cfg;
    gbx_store *store;
    gbx_schema_dir *schemas; /* NULL: the config has no schemadir */
    gbx_jobmanager *jm;
    char *servers;
    gearman_worker_st *gm; /* created on first use */
    int gm_timeout;        /* the timeout last given to gm */
    handler_entry *handlers;
    size_t handler_count;
    gbx_request_hook pre, post;
    void *hook_user;
    atomic_ulong max_requests;
    atomic_ulong request_count;
    atomic_int stop_requested;
    unsigned backoff_ms;        /* 0 while gearmand is reachable */
    unsigned long failure_streak;
    after_job *after, *after_last; /* afterwards queue of the job being served */
    gbx__lease_keeper *leases;     /* renews the lease of the job being served */
    double publish_every;          /* seconds; 0 = the figures are not published */
    double published_ms;           /* now_ms() of the last publish; 0 = none yet */
};

static const char *result_name(gbx_worker_result r) {
    switch (r) {
    case GBX_WORKER_SUCCESS: return "SUCCESS";
    case GBX_WORKER_ERROR: return "ERROR";
    case GBX_WORKER_CONTINUE: return "CONTINUE";
    case GBX_WORKER_RETRY: return "RETRY";
    }
    return "UNKNOWN";
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* ---- construction ---------------------------------------------------- */

gbx_err gbx_worker_new(gbx_worker **out, const char *config_path) {
    *out = NULL;
    if (!config_path) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_worker_new: no config path");
    gbx_config *cfg = NULL;
    gbx_err err = gbx_config_load(&cfg, config_path);
    if (err != GBX_OK) return err;
    return gbx_worker_new_from_config(out, cfg);
}

gbx_err gbx_worker_new_from_config(gbx_worker **out, gbx_config *cfg) {
    *out = NULL;
    if (!cfg) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_worker_new_from_config: no config");
    gbx_worker *w = calloc(1, sizeof *w);
    if (!w) {
        gbx_config_free(cfg);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    }
    w->cfg = cfg;
    w->gm_timeout = -2; /* never a value given to libgearman */
    atomic_init(&w->max_requests, 0);
    atomic_init(&w->request_count, 0);
    atomic_init(&w->stop_requested, 0);

    gbx_err err = gbx_config_gearman_servers(&w->servers, cfg);
    if (err != GBX_OK) goto fail;

    const json_t *status_section = gbx_config_get(cfg, "status");
    if (!status_section) {
        err = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                            "config %s has no \"status\" section (the status store)",
                            gbx_config_dir(cfg));
        goto fail;
    }
    err = gbx_store_open(&w->store, status_section, gbx_config_dir(cfg));
    if (err != GBX_OK) goto fail;
    /* A database restart must not fail the jobs running meanwhile. */
    gbx_store_set_patience(w->store, gbx_config_get_real(cfg, "jobs.store_patience",
                                                         STORE_PATIENCE_DEFAULT));
    err = gbx_jobmanager_new(&w->jm, cfg, w->store);
    if (err != GBX_OK) goto fail;
    double lease_seconds = gbx_config_get_real(cfg, "jobs.lease_seconds", LEASE_SECONDS_DEFAULT);
    if (!(lease_seconds >= 1)) {
        err = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                            "config: jobs.lease_seconds must be a number >= 1");
        goto fail;
    }
    err = gbx__lease_keeper_new(&w->leases, w->store, lease_seconds);
    if (err != GBX_OK) goto fail;
    w->publish_every = gbx_config_get_real(cfg, "metrics.publish_seconds", PUBLISH_SECONDS_DEFAULT);
    if (!(w->publish_every >= 0)) w->publish_every = 0;

    const char *dialect_name = gbx_config_get_string(cfg, "schema_dialect", NULL);
    gbx_dialect dialect = GBX_DIALECT_AUTO;
    if (dialect_name) {
        int d = gbx_dialect_from_name(dialect_name);
        if (d < 0) {
            err = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                                "config: unknown schema_dialect \"%s\"", dialect_name);
            goto fail;
        }
        dialect = (gbx_dialect)d;
    }
    char *schemadir = NULL;
    err = gbx_config_get_path(&schemadir, cfg, "schemadir", NULL);
    if (err != GBX_OK) goto fail;
    if (schemadir && access(schemadir, R_OK | X_OK) != 0)
        gbx_log(GBX_LOG_WARN, "schemadir %s is not readable: %s", schemadir, strerror(errno));
    err = schemadir ? gbx_schema_dir_new(&w->schemas, schemadir, dialect) : GBX_OK;
    free(schemadir);
    if (err != GBX_OK) goto fail;

    /* As Gearbox's Worker did: its component's scoreboard becomes the
     * current one, so handlers may call get_scoreboard() at once. */
    const char *component = gbx_config_get_string(cfg, "component", NULL);
    if (component && *component && (err = gbx_scoreboard_initialize(component)) != GBX_OK) goto fail;

    *out = w;
    return GBX_OK;
fail:
    gbx_worker_free(w);
    return err;
}

static void publish_figures(gbx_worker *w);

void gbx_worker_free(gbx_worker *w) {
    if (!w) return;
    /* The last figures of a worker that served (published before). */
    if (w->published_ms > 0) publish_figures(w);
    gbx_worker_clear_afterwards(w);
    if (w->gm) gearman_worker_free(w->gm);
    handler_entry *h = w->handlers;
    while (h) {
        handler_entry *next = h->next;
        free(h->name);
        free(h);
        h = next;
    }
    gbx_schema_dir_free(w->schemas);
    gbx__lease_keeper_free(w->leases); /* before the store it renews in */
    gbx_jobmanager_free(w->jm);
    gbx_store_free(w->store);
    free(w->servers);
    gbx_config_free(w->cfg);
    free(w);
}

static void *on_gearman_job(gearman_job_st *gjob, void *context, size_t *result_size,
                            gearman_return_t *ret_ptr);

static gbx_err add_to_gearman(gbx_worker *w, handler_entry *h) {
    gearman_return_t rc = gearman_worker_add_function(w->gm, h->name, 0, on_gearman_job, h);
    if (gearman_failed(rc))
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "cannot register %s with gearman: %s",
                             h->name, gearman_worker_error(w->gm));
    h->added = true;
    return GBX_OK;
}

gbx_err gbx_worker_register(gbx_worker *w, const char *name, gbx_handler_fn fn, void *user) {
    if (!name || !*name || !fn)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_worker_register: name and function required");
    for (handler_entry *h = w->handlers; h; h = h->next)
        if (strcmp(h->name, name) == 0) {
            h->fn = fn;
            h->user = user;
            return GBX_OK;
        }
    handler_entry *h = calloc(1, sizeof *h);
    if (!h || !(h->name = strdup(name))) {
        free(h);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    }
    h->worker = w;
    h->fn = fn;
    h->user = user;
    h->retryable = true;
    h->next = w->handlers;
    w->handlers = h;
    w->handler_count++;
    if (w->gm) return add_to_gearman(w, h);
    return GBX_OK;
}

gbx_err gbx_worker_set_retryable(gbx_worker *w, const char *name, bool retryable) {
    if (!w || !name) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_worker_set_retryable: no worker or name");
    for (handler_entry *h = w->handlers; h; h = h->next)
        if (strcmp(h->name, name) == 0) {
            h->retryable = retryable;
            return GBX_OK;
        }
    return gbx_error_set(GBX_ERR_NOT_FOUND, "handler \"%s\" is not registered", name);
}

void gbx_worker_set_hooks(gbx_worker *w, gbx_request_hook pre, gbx_request_hook post, void *user) {
    w->pre = pre;
    w->post = post;
    w->hook_user = user;
}

void gbx_worker_set_max_requests(gbx_worker *w, unsigned long n) { atomic_store(&w->max_requests, n); }

unsigned long gbx_worker_request_count(const gbx_worker *w) {
    return atomic_load(&((gbx_worker *)w)->request_count);
}

void gbx_worker_stop(gbx_worker *w) { atomic_store(&w->stop_requested, 1); }

const gbx_config *gbx_worker_config(const gbx_worker *w) { return w->cfg; }

gbx_store *gbx_worker_store(const gbx_worker *w) { return w->store; }

gbx_jobmanager *gbx_worker_job_manager(gbx_worker *w) { return w->jm; }

/* ---- afterwards ------------------------------------------------------- */

gbx_err gbx_worker_afterwards(gbx_worker *w, const gbx_job *job, const char *name, double delay) {
    if (!job) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_worker_afterwards: no job");
    if (gbx_job_is_rest(job))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "afterwards: REST jobs cannot run afterwards");
    after_job *a = calloc(1, sizeof *a);
    if (!a) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    gbx_err err = gbx_job_copy(&a->job, job);
    /* The copy runs from a queue row of its own. */
    if (err == GBX_OK) err = gbx_job_set(a->job, "ticket", NULL);
    if (err == GBX_OK && name) err = gbx_job_set_name(a->job, name);
    /* Afterwards means later, never a wait: the copy of a sync job runs
     * async, with a status of its own. */
    if (err == GBX_OK && gbx_job_kind_of(a->job) != GBX_JOB_ASYNC)
        err = gbx_job_set_type(a->job, GBX_JOB_ASYNC);
    if (err != GBX_OK) {
        gbx_job_free(a->job);
        free(a);
        return err;
    }
    a->delay = delay;
    if (w->after_last) w->after_last->next = a;
    else w->after = a;
    w->after_last = a;
    return GBX_OK;
}

void gbx_worker_clear_afterwards(gbx_worker *w) {
    after_job *a = w->after;
    while (a) {
        after_job *next = a->next;
        gbx_job_free(a->job);
        free(a);
        a = next;
    }
    w->after = w->after_last = NULL;
}

/* Runs (or delays) every job of the afterwards queue, in order, and empties
 * it.  A job that cannot be queued is logged, and the first such error is
 * returned (code + message in the thread's last error); the others still
 * run. */
static gbx_err run_afterwards(gbx_worker *w) {
    gbx_err first = GBX_OK;
    char why[1024] = "";
    after_job *a = w->after;
    w->after = w->after_last = NULL;
    while (a) {
        after_job *next = a->next;
        gbx_err err = a->delay > 0 ? gbx_jobmanager_delay(NULL, w->jm, a->job, a->delay)
                                   : gbx_jobmanager_run(NULL, w->jm, a->job);
        if (err != GBX_OK) {
            gbx_log(GBX_LOG_ERROR, "afterwards job %s (status %s): %s", gbx_job_name(a->job),
                    gbx_job_status_id(a->job) ? gbx_job_status_id(a->job) : "-",
                    gbx_error_last()->message);
            if (first == GBX_OK) {
                first = err;
                snprintf(why, sizeof why, "cannot run %s afterwards: %s", gbx_job_name(a->job),
                         gbx_error_last()->message);
            }
        }
        gbx_job_free(a->job);
        free(a);
        a = next;
    }
    if (first != GBX_OK) gbx_error_set(first, "%s", why);
    return first;
}

/* ---- replies ---------------------------------------------------------- */

/* The Gearman result of a sync job that failed: code and the error body of
 * DESIGN §3 as JSON.  malloc'ed; NULL (logged) if even that cannot be built. */
static char *error_reply(const char *uri, const char *operation, int code, const char *message,
                         size_t *len) {
    json_t *body = NULL;
    char *text = NULL, *reply = NULL;
    gbx_response *resp = NULL;
    if (gbx_error_body(&body, uri ? uri : "", operation ? operation : "", code, message) == GBX_OK &&
        gbx_json_dump(&text, body) == GBX_OK && gbx_response_new(&resp) == GBX_OK &&
        gbx_response_set_content(resp, text, strlen(text)) == GBX_OK &&
        gbx_response_add_header(resp, "Content-Type", "application/json") == GBX_OK) {
        gbx_response_set_code(resp, code);
        if (gbx_response_serialize(&reply, resp) != GBX_OK) reply = NULL;
    }
    if (!reply) gbx_log(GBX_LOG_ERROR, "cannot build the error reply: %s", gbx_error_last()->message);
    gbx_response_free(resp);
    free(text);
    json_decref(body);
    *len = reply ? strlen(reply) : 0;
    return reply;
}

/* Completes `status` as failed with `code` and "NAME [code]: message",
 * passing through RUNNING when it is still PENDING (PENDING -> COMPLETED
 * is not a transition of the state machine). */
static void fail_status(gbx_status *status, int code, const char *message) {
    if (gbx_status_state(status) == GBX_STATE_PENDING &&
        gbx_status_set_state(status, GBX_STATE_RUNNING) != GBX_OK)
        gbx_log(GBX_LOG_WARN, "status %s: cannot start it to record a failure: %s",
                gbx_status_id(status), gbx_error_last()->message);
    char *formatted = gbx_error_format(code, message);
    if (gbx_status_fail(status, code, formatted ? formatted : message) != GBX_OK)
        gbx_log(GBX_LOG_ERROR, "status %s: cannot record failure %d: %s", gbx_status_id(status),
                code, gbx_error_last()->message);
    free(formatted);
}

/* ---- one job ---------------------------------------------------------- */

/* A workload that is not a valid envelope: log it, fail the status it names
 * (if any, and if still open), and answer with a 400 error reply (read only
 * by a sync caller). */
static char *reject_envelope(gbx_worker *w, const char *function, const char *workload,
                             size_t size, const char *why, size_t *len) {
    char reason[1024]; /* `why` may be the thread's last error, which the calls below reuse */
    snprintf(reason, sizeof reason, "%s", why);
    const char *status_id = NULL, *uri = NULL, *operation = NULL;
    json_t *raw = NULL;
    const char *ticket = NULL;
    if (gbx_json_parse(&raw, workload, size) == GBX_OK && json_is_object(raw)) {
        status_id = json_string_value(json_object_get(raw, "status"));
        operation = json_string_value(json_object_get(raw, "operation"));
        uri = json_string_value(json_object_get(raw, "base_uri"));
        ticket = json_string_value(json_object_get(raw, "ticket"));
    }
    gbx_log(GBX_LOG_ERROR, "job %s: bad envelope (status %s): %s", function,
            status_id ? status_id : "-", reason);
    /* Its queue row goes too, or the scheduler would submit it forever. */
    if (ticket && gbx__queue_done(w->store, ticket) != GBX_OK)
        gbx_log(GBX_LOG_WARN, "job %s: cannot drop ticket %s of the bad envelope: %s", function,
                ticket, gbx_error_last()->message);
    if (status_id) {
        gbx_status *status = NULL;
        if (gbx_status_fetch(&status, w->store, status_id) != GBX_OK) {
            gbx_log(GBX_LOG_WARN, "job %s: status %s of the bad envelope: %s", function, status_id,
                    gbx_error_last()->message);
        } else if (!gbx_status_has_completed(status)) {
            fail_status(status, GBX_ERR_BAD_REQUEST, reason);
        }
        gbx_status_free(status);
    }
    char *reply = error_reply(uri, operation, GBX_ERR_BAD_REQUEST, reason, len);
    json_decref(raw);
    return reply;
}

/* Calls the handler with hooks and error bookkeeping.  *code / message
 * receive the handler's error when it returned ERROR or an unknown result
 * (0 for SUCCESS, CONTINUE and RETRY). */
static gbx_worker_result call_handler(gbx_worker *w, handler_entry *h, gbx_job *job,
                                      gbx_response *resp, int *code, char *message,
                                      size_t message_size) {
    if (w->pre) w->pre(job, w->hook_user);
    gbx_error_clear(); /* a stale error must not be mistaken for the handler's */
    gbx_worker_result result = h->fn(job, resp, h->user);
    const gbx_error *e = gbx_error_last();
    *code = 0;
    message[0] = '\0';
    switch (result) {
    case GBX_WORKER_SUCCESS:
    case GBX_WORKER_CONTINUE:
    case GBX_WORKER_RETRY:
        break;
    case GBX_WORKER_ERROR:
        if (e->code == GBX_OK) {
            *code = GBX_ERR_INTERNAL_SERVER_ERROR;
            snprintf(message, message_size, "handler failed without an error");
        } else if ((int)e->code < 300 || (int)e->code > 599) {
            *code = GBX_ERR_INTERNAL_SERVER_ERROR;
            snprintf(message, message_size, "handler failed with invalid code %d: %s",
                     (int)e->code, e->message);
        } else {
            *code = (int)e->code;
            snprintf(message, message_size, "%s", e->message);
        }
        break;
    default:
        *code = GBX_ERR_INTERNAL_SERVER_ERROR;
        snprintf(message, message_size, "%s returned an unknown result %d", h->name, (int)result);
        break;
    }
    return result;
}

/* resp.status() of a sync job: a throw-away status, never stored, made
 * only if the handler asks for it. */
typedef struct sync_status {
    const gbx_job *job;
    gbx_status *local;
} sync_status;

static gbx_status *make_sync_status(void *user) {
    sync_status *ss = user;
    if (!ss->local &&
        gbx__status_new_local(&ss->local, gbx_job_operation(ss->job), gbx_job_component(ss->job),
                              gbx_job_resource_uri(ss->job)) != GBX_OK)
        return NULL;
    return ss->local;
}

static char *serve_sync(gbx_worker *w, handler_entry *h, gbx_job *job, size_t *len,
                        gbx_worker_result *result, int *code) {
    gbx_response *resp = NULL;
    sync_status ss = {.job = job, .local = NULL};
    char message[1024];
    char *reply = NULL;
    if (gbx_response_new(&resp) != GBX_OK) {
        *code = GBX_ERR_INTERNAL_SERVER_ERROR;
        snprintf(message, sizeof message, "%s", gbx_error_last()->message);
        return error_reply(gbx_job_resource_uri(job), gbx_job_operation(job), *code, message, len);
    }
    gbx_response_set_status_maker(resp, make_sync_status, &ss);
    gbx_jobmanager_set_current(w->jm, job);
    *result = call_handler(w, h, job, resp, code, message, sizeof message);
    if (*result == GBX_WORKER_CONTINUE)
        gbx_log(GBX_LOG_WARN, "job %s: CONTINUE from a sync job is treated as SUCCESS", h->name);
    if (*result == GBX_WORKER_RETRY) {
        *code = GBX_ERR_INTERNAL_SERVER_ERROR;
        snprintf(message, sizeof message,
                 "%s asked for a retry, but only async jobs can be retried", h->name);
    }
    if (*code == 0 && run_afterwards(w) != GBX_OK) {
        *code = (int)gbx_error_last()->code;
        snprintf(message, sizeof message, "%s", gbx_error_last()->message);
    }
    gbx_worker_clear_afterwards(w); /* dropped when the handler failed */
    gbx_jobmanager_set_current(w->jm, NULL);
    if (*code == 0) {
        if (gbx_response_serialize(&reply, resp) != GBX_OK) {
            *code = GBX_ERR_INTERNAL_SERVER_ERROR;
            snprintf(message, sizeof message, "cannot serialise the response: %s",
                     gbx_error_last()->message);
            reply = NULL;
        } else {
            *code = gbx_response_code(resp);
        }
    }
    if (!reply)
        reply = error_reply(gbx_job_resource_uri(job), gbx_job_operation(job), *code, message, len);
    else
        *len = strlen(reply);
    if (w->post) w->post(job, w->hook_user);
    gbx_response_free(resp);
    gbx_status_free(ss.local);
    return reply;
}

/* True for the states of a status that is being cancelled. */
static bool being_cancelled(gbx_state state) {
    return state == GBX_STATE_STOPPING || state == GBX_STATE_STOPPED ||
           state == GBX_STATE_CANCELLING || state == GBX_STATE_CANCELLED;
}

/* Fires the job events of `env` for `status` (logged, never fatal). */
static void fire(gbx_worker *w, const gbx_envelope *env, gbx_status *status, gbx_job_event event) {
    if (gbx_jobmanager_fire(w->jm, env, status, event) != GBX_OK)
        gbx_log(GBX_LOG_ERROR, "status %s: cannot fire %s events: %s", gbx_status_id(status),
                gbx_job_event_name(event), gbx_error_last()->message);
}


/* Records a handler failure; false when the status turned out to be
 * cancelled meanwhile (then nothing was recorded). */
static bool record_failure(gbx_status *status, int code, const char *message) {
    if (gbx_status_has_completed(status)) {
        gbx_log(GBX_LOG_WARN, "status %s already completed; handler error %d not recorded: %s",
                gbx_status_id(status), code, message);
        return false;
    }
    fail_status(status, code, message);
    if (gbx_status_refresh(status) != GBX_OK) return false;
    return gbx_status_state(status) == GBX_STATE_COMPLETED;
}

/* Whether the job's envelope names a job for `event` (gbx_jobmanager_fire
 * would run something). */
static bool has_event(const gbx_envelope *env, gbx_job_event event) {
    return json_object_get(gbx_envelope_get_json(env, "on"), gbx_job_event_name(event)) != NULL;
}

/* The worker's end of a plain job in one write (gbx__status_complete_leave):
 * the handler's SUCCESS or ERROR recorded and this worker uncounted.  False
 * when that write did not happen (a cancel or the handler's own completion
 * came first, the store failed): then serve_async takes the long way, which
 * re-reads the status and sorts it out. */
static bool finish_in_one_write(gbx_worker *w, gbx_status *status, gbx_worker_result result,
                                int code, const char *message) {
    if (w->after || gbx_status_has_completed(status) ||
        (result != GBX_WORKER_SUCCESS && code == 0))
        return false;
    char *formatted = code ? gbx_error_format(code, message) : NULL;
    gbx_err rc = gbx__status_complete_leave(status, code,
                                            code ? (formatted ? formatted : message) : NULL);
    free(formatted);
    if (rc != GBX_OK && rc != GBX_ERR_CONFLICT)
        gbx_log(GBX_LOG_WARN, "status %s: cannot complete it: %s", gbx_status_id(status),
                gbx_error_last()->message);
    return rc == GBX_OK;
}

/* Runs the handler of an async job whose status is RUNNING and counts this
 * worker (claim_status) and maps its result onto the status.  `started`
 * says the job moved it PENDING -> RUNNING (STARTED events fire).  The
 * Gearman reply of an async job is empty. */
static void serve_async(gbx_worker *w, handler_entry *h, gbx_job *job, gbx_status *status,
                        bool started, gbx_worker_result *result, int *code) {
    char message[1024] = "";
    const gbx_envelope *env = gbx_job_envelope(job);
    /* The last check before the handler was the claim's write; STARTED jobs
     * take time, so after them the status is read once more. */
    bool gone = false;
    if (started && has_event(env, GBX_EVENT_STARTED)) {
        fire(w, env, status, GBX_EVENT_STARTED);
        gone = gbx_status_checkpoint(status) == GBX_ERR_GONE;
    }

    bool was_completed = gbx_status_has_completed(status);
    gbx_response *resp = NULL;
    gbx_jobmanager_set_current(w->jm, job);
    if (gone) {
        /* Cancelled between the claim and now: the handler never starts. */
        gbx_log(GBX_LOG_INFO, "job %s status %s: not started, state is %s", h->name,
                gbx_status_id(status), gbx_state_name(gbx_status_state(status)));
        *result = GBX_WORKER_ERROR;
        *code = GBX_ERR_GONE;
    } else if (gbx_response_new(&resp) != GBX_OK) {
        *result = GBX_WORKER_ERROR;
        *code = GBX_ERR_INTERNAL_SERVER_ERROR;
        snprintf(message, sizeof message, "%s", gbx_error_last()->message);
    } else {
        *result = call_handler(w, h, job, resp, code, message, sizeof message);
    }

    bool now_completed = false; /* this job completed the status */
    const char *component = gbx_envelope_get(env, "component");
    if (!gone && finish_in_one_write(w, status, *result, *code, message)) {
        gbx__figures_count_job(component, *code != 0);
        gbx_jobmanager_set_current(w->jm, NULL);
        if (w->post) w->post(job, w->hook_user);
        gbx__job_completed(w->jm, env, status);
        gbx_response_free(resp);
        return;
    }
    /* The handler may have completed the status itself, through this handle
     * or another one, and a cancel may have arrived. */
    if (gbx_status_refresh(status) != GBX_OK)
        gbx_log(GBX_LOG_WARN, "status %s: cannot re-read it: %s", gbx_status_id(status),
                gbx_error_last()->message);
    bool cancelled = gone || being_cancelled(gbx_status_state(status));
    if (cancelled) {
        gbx_log(GBX_LOG_INFO, "job %s status %s: stopped (%s), result %d not recorded", h->name,
                gbx_status_id(status), gbx_state_name(gbx_status_state(status)), (int)*result);
        gbx_worker_clear_afterwards(w);
    } else if (*code != 0) {
        gbx_worker_clear_afterwards(w);
        now_completed = record_failure(status, *code, message);
    } else if (*result == GBX_WORKER_RETRY) {
        gbx_worker_clear_afterwards(w);
        if (gbx_jobmanager_retry(w->jm, job, 0, -1) != GBX_OK) {
            /* Gave up (the status failed), or could not re-queue it. */
            *code = (int)gbx_error_last()->code;
            snprintf(message, sizeof message, "%s", gbx_error_last()->message);
            gbx_log(GBX_LOG_WARN, "job %s status %s: retry: %s", h->name, gbx_status_id(status),
                    message);
            if (gbx_status_refresh(status) == GBX_OK && !gbx_status_has_completed(status))
                record_failure(status, *code, message);
            now_completed = gbx_status_refresh(status) == GBX_OK &&
                            gbx_status_state(status) == GBX_STATE_COMPLETED;
        }
    } else {
        /* SUCCESS or CONTINUE: the afterwards queue runs (a continuation
         * shares this status). */
        if (run_afterwards(w) != GBX_OK) {
            *code = (int)gbx_error_last()->code;
            snprintf(message, sizeof message, "%s", gbx_error_last()->message);
            if (gbx_status_refresh(status) == GBX_OK)
                now_completed = record_failure(status, *code, message);
        } else if (*result == GBX_WORKER_SUCCESS) {
            if (!gbx_status_has_completed(status)) {
                if (gbx_status_success(status) == GBX_OK)
                    now_completed = true;
                else if (gbx_status_refresh(status) != GBX_OK ||
                         !being_cancelled(gbx_status_state(status)))
                    gbx_log(GBX_LOG_WARN, "status %s: cannot complete it: %s",
                            gbx_status_id(status), gbx_error_last()->message);
            } else {
                now_completed = !was_completed; /* the handler completed it */
            }
        }
    }
    gbx_jobmanager_set_current(w->jm, NULL);
    if (!cancelled && (*code != 0 || *result == GBX_WORKER_SUCCESS))
        gbx__figures_count_job(component, *code != 0);

    if (w->post) w->post(job, w->hook_user);
    /* Lowering concurrency re-reads the row in the same atomic update: a
     * STOPPING seen there with concurrency 0 is this worker's to finish (a
     * cancel that came later sees concurrency 0 and finishes it itself). */
    if (gbx_status_add_concurrency(status, -1) != GBX_OK)
        gbx_log(GBX_LOG_ERROR, "status %s: cannot lower concurrency: %s", gbx_status_id(status),
                gbx_error_last()->message);
    gbx__job_stop_if_idle(w->jm, status, env);
    if (now_completed) gbx__job_completed(w->jm, env, status);
    gbx_response_free(resp);
}

/* The async part of serve(): claims the job's status, counted in its
 * concurrency.  *status receives it (NULL: the job is not run; already
 * logged), *started whether this job moved it PENDING -> RUNNING.  The claim
 * is one write (gbx__status_enter: the state's compare-and-set and this
 * worker counted, atomically), which is also the check for a cancel: one
 * that came before it shows as a conflict here, one that comes later sees
 * this worker counted and leaves the stop to it. */
static void claim_status(gbx_worker *w, const char *name, const gbx_envelope *env,
                         bool ticketed, gbx_status **out, bool *started, bool *store_failed) {
    *out = NULL;
    *started = false;
    const char *status_id = gbx_envelope_get(env, "status");
    gbx_status *status = NULL;
    /* The usual case first: a PENDING status, started by this job. */
    gbx_state from = GBX_STATE_PENDING;
    /* Three rounds: the state may change under us (a cancel, another worker). */
    int round;
    for (round = 0; round < 3; round++) {
        gbx_status *entered = NULL;
        gbx_err rc = gbx__status_enter(&entered, w->store, status_id, from, GBX_STATE_RUNNING);
        if (rc == GBX_OK) {
            gbx_status_free(status);
            *started = from == GBX_STATE_PENDING;
            *out = entered;
            return;
        }
        if (rc != GBX_ERR_CONFLICT) {
            /* A status that does not exist is dropped; a store that fails
             * keeps the job for later (its lease runs out, the scheduler
             * resends it). */
            *store_failed = rc != GBX_ERR_NOT_FOUND;
            gbx_log(GBX_LOG_WARN, "job %s status %s: %s: %s", name, status_id,
                    *store_failed ? "not started, the store failed" : "dropped",
                    gbx_error_last()->message);
            break;
        }
        gbx_status_free(status);
        status = NULL;
        if (gbx_status_fetch(&status, w->store, status_id) != GBX_OK) {
            *store_failed = gbx_error_last()->code != GBX_ERR_NOT_FOUND;
            gbx_log(GBX_LOG_WARN, "job %s status %s: %s: %s", name, status_id,
                    *store_failed ? "not started, the store failed" : "dropped",
                    gbx_error_last()->message);
            return;
        }
        gbx_state state = gbx_status_state(status);
        if (state == GBX_STATE_PENDING || (state == GBX_STATE_RUNNING && ticketed)) {
            from = state;
            continue;
        }
        if (state == GBX_STATE_STOPPING) {
            /* Being cancelled before it started: it never starts. */
            gbx_log(GBX_LOG_INFO, "job %s status %s: not started, being cancelled", name,
                    status_id);
            gbx__job_stop_if_idle(w->jm, status, env);
            gbx_status_free(status);
            return;
        }
        /* Re-delivered by gearmand, an unticketed job on a running status,
         * or being cancelled: not ours to run. */
        gbx_log(GBX_LOG_WARN, "job %s status %s: skipped, state is %s%s", name, status_id,
                gbx_state_name(state), state == GBX_STATE_RUNNING ? " (job has no ticket)" : "");
        break;
    }
    if (round == 3)
        gbx_log(GBX_LOG_WARN, "job %s status %s: skipped, its state keeps changing", name,
                status_id);
    gbx_status_free(status);
}

/* Serves one job; returns the Gearman result (malloc'ed, or NULL for an
 * empty one) and its length. */
static char *serve_leased(gbx_worker *w, handler_entry *h, gbx_envelope *env, bool sync,
                          const char *ticket, size_t *len, double started_ms, bool *keep_row);

static char *serve(gbx_worker *w, handler_entry *h, const char *workload, size_t size, size_t *len) {
    *len = 0;
    double started_ms = now_ms();
    gbx_envelope *env = NULL;
    if (gbx_envelope_parse(&env, workload, size) != GBX_OK)
        return reject_envelope(w, h->name, workload, size, gbx_error_last()->message, len);

    /* The envelope's name is the handler it was meant for. */
    const char *name = gbx_envelope_get(env, "name");
    if (!name) {
        if (gbx_envelope_set(env, "name", h->name) != GBX_OK) {
            gbx_envelope_free(env);
            return reject_envelope(w, h->name, workload, size, gbx_error_last()->message, len);
        }
    } else if (strcmp(name, h->name) != 0) {
        char reason[512];
        snprintf(reason, sizeof reason, "envelope for %s was submitted to %s", name, h->name);
        gbx_envelope_free(env);
        return reject_envelope(w, h->name, workload, size, reason, len);
    }
    bool sync = gbx_envelope_is_sync(env);
    long long deadline = gbx_envelope_get_int(env, "deadline");
    if (sync && deadline > 0 && (long long)time(NULL) > deadline) {
        /* The gateway has already answered 504 and nobody reads this reply:
         * running the handler now would only do work twice. */
        gbx_log(GBX_LOG_WARN, "job %s: skipped, its deadline passed %lld s ago", h->name,
                (long long)time(NULL) - deadline);
        char *reply = error_reply(gbx_envelope_get(env, "base_uri"), gbx_envelope_get(env, "operation"),
                                  GBX_ERR_GATEWAY_TIMEOUT, "the request's deadline has passed", len);
        gbx_envelope_free(env);
        return reply;
    }
    const char *status_id = sync ? NULL : gbx_envelope_get(env, "status");
    if (!sync && !status_id) {
        gbx_envelope_free(env);
        return reject_envelope(w, h->name, workload, size, "async envelope without a status",
                               len);
    }

    /* A ticketed job runs only if this worker leases its queue row. */
    const char *ticket = gbx_envelope_get(env, "ticket");
    if (ticket) {
        bool taken = false;
        if (gbx__queue_take(&taken, w->store, ticket, gbx__lease_keeper_seconds(w->leases),
                            h->retryable) != GBX_OK) {
            /* The row stays; the scheduler submits it again later. */
            gbx_log(GBX_LOG_ERROR, "job %s ticket %s: cannot claim it: %s", h->name, ticket,
                    gbx_error_last()->message);
            taken = false;
        } else if (!taken) {
            gbx_log(GBX_LOG_INFO, "job %s ticket %s status %s: skipped (already run, cancelled "
                    "or rescheduled)", h->name, ticket, status_id ? status_id : "-");
        }
        if (!taken) {
            char *reply = sync ? error_reply(gbx_envelope_get(env, "base_uri"),
                                             gbx_envelope_get(env, "operation"), GBX_ERR_CONFLICT,
                                             "the job's ticket was already used", len)
                               : NULL;
            gbx_envelope_free(env);
            return reply;
        }
    }
    /* The ticket outlives the envelope, which the job takes over. */
    char *leased = ticket ? strdup(ticket) : NULL;
    if (ticket && !leased) {
        gbx_envelope_free(env);
        gbx_log(GBX_LOG_ERROR, "job %s: out of memory", h->name);
        return NULL; /* the lease runs out; the scheduler sends the job again */
    }
    if (leased && gbx__lease_keeper_hold(w->leases, leased) != GBX_OK)
        gbx_log(GBX_LOG_WARN, "job %s ticket %s: its lease is not renewed: %s", h->name, leased,
                gbx_error_last()->message);
    bool keep_row = false;
    char *reply = serve_leased(w, h, env, sync, leased, len, started_ms, &keep_row);
    if (leased) {
        /* Done (or not ours to run): the row goes.  A row kept (the store
         * failed before the job started), or one whose delete fails, waits
         * for its lease to run out: then the scheduler sends it again. */
        gbx__lease_keeper_release(w->leases);
        if (!keep_row && gbx__queue_done(w->store, leased) != GBX_OK)
            gbx_log(GBX_LOG_WARN, "job %s ticket %s: cannot delete its queue row: %s", h->name,
                    leased, gbx_error_last()->message);
        free(leased);
    }
    return reply;
}

/* serve() once the job's ticket (if any) is leased: claims the status of an
 * async job and runs the handler.  Takes `env` over. */
static char *serve_leased(gbx_worker *w, handler_entry *h, gbx_envelope *env, bool sync,
                          const char *ticket, size_t *len, double started_ms, bool *keep_row) {
    gbx_status *status = NULL;
    bool started = false;
    if (!sync) {
        claim_status(w, h->name, env, ticket != NULL, &status, &started, keep_row);
        if (!status) {
            gbx_envelope_free(env);
            return NULL;
        }
    }

    gbx_job *job = NULL;
    if (gbx__job_new_owned(&job, env) != GBX_OK) { /* env is the job's now, even on failure */
        char why[1024];
        snprintf(why, sizeof why, "%s", gbx_error_last()->message);
        gbx_log(GBX_LOG_ERROR, "job %s: %s", h->name, why);
        if (status) {
            fail_status(status, GBX_ERR_INTERNAL_SERVER_ERROR, why);
            gbx_status_free(status);
            return NULL;
        }
        return error_reply(NULL, NULL, GBX_ERR_INTERNAL_SERVER_ERROR, why, len);
    }
    gbx__job_set_schemas(job, w->schemas);
    gbx__job_set_status(job, status); /* the job owns it from here */

    const char *id = gbx_job_status_id(job);
    gbx_log(GBX_LOG_INFO, "job start %s status %s%s%s", h->name, id ? id : "-",
            ticket ? " ticket " : "", ticket ? ticket : "");
    gbx_worker_result result = GBX_WORKER_SUCCESS;
    int code = 0;
    char *reply = NULL;
    gbx_worker_clear_afterwards(w); /* nothing left over from another job */
    if (sync)
        reply = serve_sync(w, h, job, len, &result, &code);
    else
        serve_async(w, h, job, status, started, &result, &code);
    gbx_worker_clear_afterwards(w);
    gbx_log(GBX_LOG_INFO, "job end %s status %s result %s code %d %.1f ms", h->name,
            id ? id : "-", result_name(result), code, now_ms() - started_ms);
    gbx_job_free(job);
    return reply;
}

static void *on_gearman_job(gearman_job_st *gjob, void *context, size_t *result_size,
                            gearman_return_t *ret_ptr) {
    handler_entry *h = context;
    gbx_worker *w = h->worker;
    atomic_fetch_add(&w->request_count, 1);
    const char *workload = gearman_job_workload(gjob);
    size_t size = gearman_job_workload_size(gjob);
    size_t len = 0;
    char *reply = serve(w, h, workload ? workload : "", workload ? size : 0, &len);
    *ret_ptr = GEARMAN_SUCCESS; /* never make gearmand hand the job out again */
    *result_size = reply ? len : 0;
    return reply;
}

/* ---- the loop ---------------------------------------------------------- */

static gbx_err ensure_gearman(gbx_worker *w) {
    if (!w->gm) {
        w->gm = gearman_worker_create(NULL);
        if (!w->gm) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gearman_worker_create failed");
        if (gearman_failed(gearman_worker_add_servers(w->gm, w->servers))) {
            gbx_err err = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "bad gearman servers \"%s\": %s",
                                        w->servers, gearman_worker_error(w->gm));
            gearman_worker_free(w->gm);
            w->gm = NULL;
            return err;
        }
        char ident[128];
        snprintf(ident, sizeof ident, "gearbox-%s-%ld",
                 gbx_config_get_string(w->cfg, "component", "worker"), (long)getpid());
        gearman_worker_set_identifier(w->gm, ident, strlen(ident));
    }
    for (handler_entry *h = w->handlers; h; h = h->next)
        if (!h->added) {
            gbx_err err = add_to_gearman(w, h);
            if (err != GBX_OK) return err;
        }
    return GBX_OK;
}

/* Sleeps up to ms milliseconds, waking early when stop is requested. */
static void nap(gbx_worker *w, unsigned ms) {
    while (ms > 0 && !atomic_load(&w->stop_requested)) {
        unsigned slice = ms < 50 ? ms : 50;
        struct timespec ts = {0, (long)slice * 1000000L};
        nanosleep(&ts, NULL);
        ms -= slice;
    }
}

/* Publishes the process's figures (logged, never fatal). */
static void publish_figures(gbx_worker *w) {
    w->published_ms = now_ms();
    if (gbx__figures_publish(w->store, gbx_config_get_string(w->cfg, "component", "")) != GBX_OK)
        gbx_log(GBX_LOG_WARN, "worker: cannot publish its metrics: %s", gbx_error_last()->message);
}

/* Publishes at once the first time, then every publish_every seconds. */
static void publish_when_due(gbx_worker *w) {
    if (w->publish_every > 0 &&
        (w->published_ms == 0 || now_ms() - w->published_ms >= w->publish_every * 1000.0))
        publish_figures(w);
}

gbx_err gbx_worker_work_once(gbx_worker *w, int timeout_ms, bool *served) {
    if (served) *served = false;
    publish_when_due(w);
    if (!w->handlers)
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "no handlers registered");
    gbx_err err = ensure_gearman(w);
    if (err != GBX_OK) return err;
    if (timeout_ms != w->gm_timeout) {
        gearman_worker_set_timeout(w->gm, timeout_ms);
        w->gm_timeout = timeout_ms;
    }

    unsigned long before = atomic_load(&w->request_count);
    gearman_return_t rc = gearman_worker_work(w->gm);
    bool got_job = atomic_load(&w->request_count) != before;
    if (served) *served = got_job;

    switch (rc) {
    case GEARMAN_SUCCESS:
    case GEARMAN_TIMEOUT:
    case GEARMAN_IO_WAIT:
        if (w->backoff_ms) {
            gbx_log(GBX_LOG_INFO, "gearmand %s reachable again", w->servers);
            w->backoff_ms = 0;
            w->failure_streak = 0;
        }
        return GBX_OK;
    default:
        break;
    }
    if (got_job) {
        /* The job ran; only its reply may have been lost.  gearmand re-delivers
         * it then, and the status check skips it. */
        gbx_log(GBX_LOG_WARN, "gearmand connection lost after a job: %s",
                gearman_worker_error(w->gm));
        return GBX_OK;
    }
    if (w->failure_streak++ == 0)
        gbx_log(GBX_LOG_WARN, "gearmand %s unreachable (%s: %s); retrying", w->servers,
                gearman_strerror(rc), gearman_worker_error(w->gm));
    else
        gbx_log(GBX_LOG_DEBUG, "gearmand %s still unreachable (%s)", w->servers,
                gearman_strerror(rc));
    w->backoff_ms = w->backoff_ms ? w->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (w->backoff_ms > BACKOFF_MAX_MS) w->backoff_ms = BACKOFF_MAX_MS;
    unsigned wait = w->backoff_ms;
    if (timeout_ms >= 0 && (unsigned)timeout_ms < wait) wait = (unsigned)timeout_ms;
    nap(w, wait);
    return gbx_error_set(GBX_ERR_SERVICE_UNAVAILABLE, "gearmand %s unreachable: %s", w->servers,
                         gearman_strerror(rc));
}

gbx_err gbx_worker_run(gbx_worker *w) {
    if (!w->handlers)
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "no handlers registered");
    gbx_err err = ensure_gearman(w);
    if (err != GBX_OK) return err;
    gbx_log(GBX_LOG_INFO, "worker %s serving %zu handler(s) from gearmand %s",
            gbx_config_get_string(w->cfg, "component", "-"), w->handler_count, w->servers);
    while (!atomic_load(&w->stop_requested)) {
        unsigned long max = atomic_load(&w->max_requests);
        if (max && atomic_load(&w->request_count) >= max) {
            gbx_log(GBX_LOG_INFO, "worker: %lu requests served, max_requests reached", max);
            break;
        }
        err = gbx_worker_work_once(w, RUN_WAIT_MS, NULL);
        if (err != GBX_OK && err != GBX_ERR_SERVICE_UNAVAILABLE) return err;
    }
    gbx_log(GBX_LOG_INFO, "worker stopped after %lu request(s)", atomic_load(&w->request_count));
    return GBX_OK;
}
