/* worker.c - the worker runtime: gearmand connection, job dispatch, and the
 * mapping of handler results onto statuses and sync replies.
 *
 * Rule of the house: a job taken from gearmand is always answered with
 * GEARMAN_SUCCESS.  Failing it (or dropping the connection) would make
 * gearmand hand it out again, and a job that cannot succeed would loop
 * forever; failures are recorded in the status store instead.
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

#include "gearbox/json.h"
#include "gearbox/log.h"
#include "gearbox/schema.h"
#include "job_internal.h"

/* stop() is called from signal handlers and from other threads: a lock-free
 * atomic is safe for both. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "stop flag must be lock-free");

/* How long run() waits in gearman_worker_work before it looks at the stop
 * flag again. */
#define RUN_WAIT_MS 1000
/* Backoff while no gearmand can be reached. */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000

typedef struct handler_entry {
    struct handler_entry *next;
    struct gbx_worker *worker;
    char *name;
    gbx_handler_fn fn;
    void *user;
    bool added; /* registered with the gearman worker */
} handler_entry;

struct gbx_worker {
    gbx_config *cfg;
    gbx_store *store;
    gbx_schema_dir *schemas; /* NULL: the config has no schemadir */
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

    *out = w;
    return GBX_OK;
fail:
    gbx_worker_free(w);
    return err;
}

void gbx_worker_free(gbx_worker *w) {
    if (!w) return;
    if (w->gm) gearman_worker_free(w->gm);
    handler_entry *h = w->handlers;
    while (h) {
        handler_entry *next = h->next;
        free(h->name);
        free(h);
        h = next;
    }
    gbx_schema_dir_free(w->schemas);
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
    h->next = w->handlers;
    w->handlers = h;
    w->handler_count++;
    if (w->gm) return add_to_gearman(w, h);
    return GBX_OK;
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
    if (gbx_json_parse(&raw, workload, size) == GBX_OK && json_is_object(raw)) {
        status_id = json_string_value(json_object_get(raw, "status"));
        operation = json_string_value(json_object_get(raw, "operation"));
        uri = json_string_value(json_object_get(raw, "base_uri"));
    }
    gbx_log(GBX_LOG_ERROR, "job %s: bad envelope (status %s): %s", function,
            status_id ? status_id : "-", reason);
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
 * receive the handler's error when it returned anything but SUCCESS or
 * CONTINUE. */
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
    case GBX_WORKER_RETRY:
        *code = GBX_ERR_NOT_IMPLEMENTED;
        snprintf(message, message_size,
                 "%s asked for a retry, but retries are not available yet", h->name);
        break;
    default:
        *code = GBX_ERR_INTERNAL_SERVER_ERROR;
        snprintf(message, message_size, "%s returned an unknown result %d", h->name, (int)result);
        break;
    }
    return result;
}

static char *serve_sync(gbx_worker *w, handler_entry *h, gbx_job *job, size_t *len,
                        gbx_worker_result *result, int *code) {
    gbx_response *resp = NULL;
    char message[1024];
    char *reply = NULL;
    if (gbx_response_new(&resp) != GBX_OK) {
        *code = GBX_ERR_INTERNAL_SERVER_ERROR;
        snprintf(message, sizeof message, "%s", gbx_error_last()->message);
        return error_reply(gbx_job_resource_uri(job), gbx_job_operation(job), *code, message, len);
    }
    *result = call_handler(w, h, job, resp, code, message, sizeof message);
    if (*result == GBX_WORKER_CONTINUE)
        gbx_log(GBX_LOG_WARN, "job %s: CONTINUE from a sync job is treated as SUCCESS", h->name);
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
    return reply;
}

/* Moves the async job's status onto RUNNING, runs the handler and records
 * its result.  The Gearman reply of an async job is empty. */
static void serve_async(gbx_worker *w, handler_entry *h, gbx_job *job, gbx_status *status,
                        gbx_worker_result *result, int *code) {
    char message[1024];
    bool counted = gbx_status_add_concurrency(status, 1) == GBX_OK;
    if (!counted)
        gbx_log(GBX_LOG_WARN, "status %s: cannot raise concurrency: %s", gbx_status_id(status),
                gbx_error_last()->message);

    gbx_response *resp = NULL;
    if (gbx_response_new(&resp) != GBX_OK) {
        *result = GBX_WORKER_ERROR;
        *code = GBX_ERR_INTERNAL_SERVER_ERROR;
        snprintf(message, sizeof message, "%s", gbx_error_last()->message);
    } else {
        *result = call_handler(w, h, job, resp, code, message, sizeof message);
    }

    /* The handler may have completed the status itself, through this handle
     * or another one. */
    if (gbx_status_refresh(status) != GBX_OK)
        gbx_log(GBX_LOG_WARN, "status %s: cannot re-read it: %s", gbx_status_id(status),
                gbx_error_last()->message);
    if (*code != 0) {
        if (gbx_status_has_completed(status))
            gbx_log(GBX_LOG_WARN, "status %s already completed; handler error %d not recorded: %s",
                    gbx_status_id(status), *code, message);
        else
            fail_status(status, *code, message);
    } else if (*result == GBX_WORKER_SUCCESS && !gbx_status_has_completed(status)) {
        if (gbx_status_success(status) != GBX_OK)
            gbx_log(GBX_LOG_WARN, "status %s: cannot complete it: %s", gbx_status_id(status),
                    gbx_error_last()->message);
    }

    if (w->post) w->post(job, w->hook_user);
    if (counted && gbx_status_add_concurrency(status, -1) != GBX_OK)
        gbx_log(GBX_LOG_ERROR, "status %s: cannot lower concurrency: %s", gbx_status_id(status),
                gbx_error_last()->message);
    gbx_response_free(resp);
}

/* Serves one job; returns the Gearman result (malloc'ed, or NULL for an
 * empty one) and its length. */
static char *serve(gbx_worker *w, handler_entry *h, const char *workload, size_t size, size_t *len) {
    *len = 0;
    double started = now_ms();
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

    gbx_status *status = NULL;
    if (!sync) {
        if (gbx_status_fetch(&status, w->store, status_id) != GBX_OK) {
            gbx_log(GBX_LOG_WARN, "job %s status %s: dropped: %s", h->name, status_id,
                    gbx_error_last()->message);
            gbx_envelope_free(env);
            return NULL;
        }
        gbx_state state = gbx_status_state(status);
        if (state != GBX_STATE_PENDING) {
            /* Re-delivered by gearmand, or being cancelled: not ours to run. */
            gbx_log(GBX_LOG_WARN, "job %s status %s: skipped, state is %s", h->name, status_id,
                    gbx_state_name(state));
            gbx_status_free(status);
            gbx_envelope_free(env);
            return NULL;
        }
        if (gbx_status_set_state(status, GBX_STATE_RUNNING) != GBX_OK) {
            gbx_log(GBX_LOG_WARN, "job %s status %s: skipped, cannot start it: %s", h->name,
                    status_id, gbx_error_last()->message);
            gbx_status_free(status);
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
    gbx_log(GBX_LOG_INFO, "job start %s status %s", h->name, id ? id : "-");
    gbx_worker_result result = GBX_WORKER_SUCCESS;
    int code = 0;
    char *reply = NULL;
    if (sync)
        reply = serve_sync(w, h, job, len, &result, &code);
    else
        serve_async(w, h, job, status, &result, &code);
    gbx_log(GBX_LOG_INFO, "job end %s status %s result %s code %d %.1f ms", h->name,
            id ? id : "-", result_name(result), code, now_ms() - started);
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

gbx_err gbx_worker_work_once(gbx_worker *w, int timeout_ms, bool *served) {
    if (served) *served = false;
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
