/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* jobmanager.c - the job manager: making jobs, running them (sync through
 * gearmand, async through the store's queue, REST through rest.c),
 * delays, retries, the scheduler step and job events.
 *
 * Async jobs: every job handed over is a gbx_queue row first (with a fresh
 * ticket, also carried in its envelope), then submitted to gearmand with the
 * ticket as unique.  A failed submit leaves the row to the scheduler
 * (gbx_jobmanager_run_due), which submits rows that are due and not yet
 * submitted, or submitted but still unclaimed after resubmit_after seconds.
 */
#include "orchestration/jobmanager_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gearbox/id.h"
#include "gearbox/json.h"
#include "gearbox/log.h"
#include "gearbox/trace.h"
#include "gearbox/uri.h"
#include "job/job_internal.h"
#include "store/queue_internal.h"
#include "store/status_internal.h"
#include "store/backend.h" /* gbx__now, gbx__queued */

/* Retry defaults, Gearbox's (max_delay 300, max_jitter 15) and an attempt
 * cap that lets a job retry for about an hour (as Sidekiq does). */
#define RETRY_MAX_ATTEMPTS 25
#define RETRY_MAX_DELAY 300.0
#define RETRY_MAX_JITTER 15.0

/* Rows the scheduler claims per step. */
#define RUN_DUE_BATCH 256

static gbx_err oom(void) { return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory"); }

/* ---- per-thread state --------------------------------------------------- */

static void thread_state_free(gbx__jm_thread *t) {
    if (!t) return;
    gbx__jm_thread_close_gearman(t);
    gbx__jm_thread_close_curl(t);
    free(t);
}

/* Thread exit. */
static void thread_state_destroy(void *p) {
    gbx__jm_thread *t = p;
    gbx_jobmanager *jm = t->owner;
    pthread_mutex_lock(&jm->lock);
    gbx__jm_thread_unlist(jm, t);
    pthread_mutex_unlock(&jm->lock);
    thread_state_free(t);
}

/* ---- construction ----------------------------------------------------- */

static double cfg_real(const gbx_config *cfg, const char *path, double dflt) {
    return cfg ? gbx_config_get_real(cfg, path, dflt) : dflt;
}

gbx_err gbx_jobmanager_new(gbx_jobmanager **out, const gbx_config *cfg, gbx_store *store) {
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_jobmanager_new: out is NULL");
    *out = NULL;
    gbx_err err = gbx__jm_curl_init();
    if (err != GBX_OK) return err;
    gbx_jobmanager *jm = calloc(1, sizeof *jm);
    if (!jm) return oom();
    jm->cfg = cfg;
    jm->store = store;
    if (cfg) {
        err = gbx_config_gearman_servers(&jm->servers, cfg);
        if (err != GBX_OK) {
            free(jm);
            return err;
        }
    } else if (!(jm->servers = strdup("127.0.0.1:4730"))) {
        free(jm);
        return oom();
    }
    if ((err = gbx_servers_new(&jm->server_list, jm->servers)) != GBX_OK) {
        free(jm->servers);
        free(jm);
        return err;
    }
    jm->sync_timeout = cfg_real(cfg, "jobs.sync_timeout", 30);
    jm->rest_timeout = cfg_real(cfg, "jobs.rest_timeout", 30);
    jm->submit_timeout = cfg_real(cfg, "jobs.submit_timeout", cfg_real(cfg, "submit_timeout", 5));
    jm->retry_max_attempts =
        (int)(cfg ? gbx_config_get_int(cfg, "jobs.retry_max_attempts", RETRY_MAX_ATTEMPTS) : RETRY_MAX_ATTEMPTS);
    jm->retry_max_delay = cfg_real(cfg, "jobs.retry_max_delay", RETRY_MAX_DELAY);
    jm->retry_max_jitter = cfg_real(cfg, "jobs.retry_max_jitter", RETRY_MAX_JITTER);
    jm->resubmit_after = cfg_real(cfg, "jobs.resubmit_after", 60);
    if (!(jm->sync_timeout > 0)) jm->sync_timeout = 30;
    if (!(jm->rest_timeout > 0)) jm->rest_timeout = 30;
    if (!(jm->submit_timeout > 0)) jm->submit_timeout = 5;
    if (jm->retry_max_attempts < 0) jm->retry_max_attempts = RETRY_MAX_ATTEMPTS; /* 0: no limit */
    if (!(jm->retry_max_delay >= 1)) jm->retry_max_delay = 1;
    if (!(jm->retry_max_jitter >= 0)) jm->retry_max_jitter = 0;
    if (!(jm->resubmit_after > 0)) jm->resubmit_after = 60;
    double retention_days = cfg_real(cfg, "status.retention_days", 30);
    jm->retention_s = retention_days > 0 ? retention_days * 86400 : 0; /* 0: keep forever */
    if (pthread_key_create(&jm->key, thread_state_destroy) != 0) {
        gbx_servers_free(jm->server_list);
        free(jm->servers);
        free(jm);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "pthread_key_create failed");
    }
    pthread_mutex_init(&jm->lock, NULL);
    *out = jm;
    return GBX_OK;
}

void gbx_jobmanager_free(gbx_jobmanager *jm) {
    if (!jm) return;
    pthread_key_delete(jm->key);
    while (jm->threads) {
        gbx__jm_thread *t = jm->threads;
        gbx__jm_thread_unlist(jm, t);
        thread_state_free(t);
    }
    pthread_mutex_destroy(&jm->lock);
    json_decref(jm->known);
    free(jm->base_uri);
    gbx_servers_free(jm->server_list);
    free(jm->servers);
    free(jm);
}

gbx_store *gbx_jobmanager_store(const gbx_jobmanager *jm) { return jm ? jm->store : NULL; }

const gbx_config *gbx_jobmanager_config(const gbx_jobmanager *jm) { return jm ? jm->cfg : NULL; }

gbx_err gbx_jobmanager_set_base_uri(gbx_jobmanager *jm, const char *base_uri) {
    if (!jm) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_jobmanager_set_base_uri: no job manager");
    char *copy = NULL;
    if (base_uri) {
        size_t n = strlen(base_uri);
        while (n > 0 && base_uri[n - 1] == '/') n--;
        if (!(copy = strndup(base_uri, n))) return oom();
    }
    pthread_mutex_lock(&jm->lock);
    free(jm->base_uri);
    jm->base_uri = copy;
    pthread_mutex_unlock(&jm->lock);
    return GBX_OK;
}

/* ---- making jobs ------------------------------------------------------- */

/* The operation a handler method stands for (as the gateway names them). */
static const char *operation_of(const char *method) {
    if (strcmp(method, "get") == 0 || strcmp(method, "head") == 0) return "get";
    if (strcmp(method, "put") == 0 || strcmp(method, "post") == 0) return "create";
    if (strcmp(method, "delete") == 0) return "delete";
    return method;
}

/* `base` with a trailing "/v<digits>" replaced by "/<version>".  malloc'ed. */
static char *with_version(const char *base, const char *version) {
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/') n--;
    size_t end = n;
    while (end > 0 && base[end - 1] >= '0' && base[end - 1] <= '9') end--;
    bool versioned = end < n && end >= 2 && base[end - 1] == 'v' && base[end - 2] == '/';
    size_t keep = versioned ? end - 2 : n;
    size_t len = keep + (versioned ? 1 + strlen(version) : 0) + 1;
    char *out = malloc(len);
    if (!out) return NULL;
    snprintf(out, len, "%.*s%s%s", (int)keep, base, versioned ? "/" : "", versioned ? version : "");
    return out;
}

/* The W3C trace context a job made or run by `current` carries on: the
 * same trace-id, current's span as the parent-id (a new hop), and current's
 * tracestate.  A job of another trace keeps its own. */
static gbx_err carry_trace(gbx_envelope *env, gbx_job *current) {
    gbx_traceparent tp;
    if (!current || !gbx_traceparent_parse(&tp, gbx_job_traceparent(current))) return GBX_OK;
    char own[GBX_TRACE_ID_SIZE];
    if (gbx_trace_id_of(own, gbx_envelope_get(env, "traceparent")) && strcmp(own, tp.trace_id) != 0)
        return GBX_OK;
    memcpy(tp.parent_id, gbx__job_span_id(current), GBX_SPAN_ID_SIZE);
    char value[GBX_TRACEPARENT_SIZE];
    gbx_traceparent_format(value, &tp);
    gbx_err err = gbx_envelope_set(env, "traceparent", value);
    const char *state = gbx_job_tracestate(current);
    if (err == GBX_OK && state && !gbx_envelope_get(env, "tracestate"))
        err = gbx_envelope_set(env, "tracestate", state);
    return err;
}

/* What a new job inherits from the current one: who asked, trace context,
 * the location's environ. */
static gbx_err inherit(gbx_envelope *env, gbx_job *current) {
    if (!current) return GBX_OK;
    static const char *const fields[] = {"remote.ip", "remote.user", "remote.scopes"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const char *v = gbx_envelope_get(gbx_job_envelope(current), fields[i]);
        if (!v) continue;
        gbx_err err = gbx_envelope_set(env, fields[i], v);
        if (err != GBX_OK) return err;
    }
    gbx_err err = carry_trace(env, current);
    if (err != GBX_OK) return err;
    return gbx_envelope_set_json(env, "environ", gbx_job_environ(current));
}

gbx_err gbx_jobmanager_job(gbx_job **out, gbx_jobmanager *jm, const char *name) {
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_jobmanager_job: out is NULL");
    *out = NULL;
    if (!jm) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_jobmanager_job: no job manager");
    gbx_handler_parts parts;
    if (!name || gbx_handler_parse(&parts, name) != GBX_OK)
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "\"%s\" is not a handler name (do_<method>_<component>_<resource>_<version>)",
                             name ? name : "(null)");
    bool known = false;
    gbx_err err = gbx__jm_handler_known(&known, jm, name);
    if (err != GBX_OK) return err;
    if (!known) return gbx_error_set(GBX_ERR_NOT_FOUND, "handler \"%s\" is not known", name);

    gbx_envelope *env = NULL;
    if ((err = gbx_envelope_new(&env)) != GBX_OK) return err;
    gbx_job *current = gbx_jobmanager_current(jm);
    char *base = NULL;
    const char *from = current ? gbx_job_base_uri(current) : NULL;
    pthread_mutex_lock(&jm->lock);
    if (!from) from = jm->base_uri;
    if (from && !(base = with_version(from, parts.version))) err = oom();
    pthread_mutex_unlock(&jm->lock);
    if (err == GBX_OK) err = gbx_envelope_set(env, "name", name);
    if (err == GBX_OK) err = gbx_envelope_set(env, "operation", operation_of(parts.method));
    if (err == GBX_OK) err = gbx_envelope_set(env, "component", parts.component);
    if (err == GBX_OK) err = gbx_envelope_set(env, "resource.type", parts.resource);
    if (err == GBX_OK && base) err = gbx_envelope_set(env, "base_uri", base);
    if (err == GBX_OK) err = inherit(env, current);
    free(base);
    if (err != GBX_OK) {
        gbx_envelope_free(env);
        return err;
    }
    return gbx__job_new_owned(out, env);
}

gbx_err gbx_jobmanager_job_from_envelope(gbx_job **out, gbx_jobmanager *jm, const char *name,
                                         const gbx_envelope *env) {
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_jobmanager_job_from_envelope: out is NULL");
    *out = NULL;
    (void)jm;
    if (!env) return gbx_error_set(GBX_ERR_BAD_REQUEST, "job from envelope: no envelope");
    if (name && !*name) return gbx_error_set(GBX_ERR_BAD_REQUEST, "job from envelope: empty name");
    gbx_envelope *copy = NULL;
    gbx_err err = gbx_envelope_copy(&copy, env);
    if (err == GBX_OK && name) err = gbx_envelope_set(copy, "name", name);
    if (err == GBX_OK) err = gbx_envelope_set(copy, "ticket", NULL); /* a ticket is one run's */
    if (err != GBX_OK) {
        gbx_envelope_free(copy);
        return err;
    }
    return gbx__job_new_owned(out, copy);
}

gbx_err gbx_jobmanager_rest_job(gbx_job **out, gbx_jobmanager *jm, gbx_http_method method,
                                const char *uri) {
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_jobmanager_rest_job: out is NULL");
    *out = NULL;
    const char *mname = gbx__jm_method_name(method);
    if (!mname) return gbx_error_set(GBX_ERR_BAD_REQUEST, "REST job: unknown method %d", (int)method);
    if (!uri || (strncasecmp(uri, "http://", 7) != 0 && strncasecmp(uri, "https://", 8) != 0))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "REST job: \"%s\" is not an http(s) URI",
                             uri ? uri : "(null)");
    gbx_envelope *env = NULL;
    gbx_err err = gbx_envelope_new(&env);
    if (err != GBX_OK) return err;
    size_t n = strlen(mname) + strlen(uri) + 2;
    char *name = malloc(n);
    if (!name) err = oom();
    else snprintf(name, n, "%s %s", mname, uri);
    if (err == GBX_OK) err = gbx_envelope_set(env, "name", name);
    if (err == GBX_OK) err = gbx_envelope_set(env, "operation", gbx_operation_for_method(mname, false));
    if (err == GBX_OK) err = gbx_envelope_set(env, "base_uri", uri);
    if (err == GBX_OK) err = inherit(env, gbx_jobmanager_current(jm));
    free(name);
    if (err != GBX_OK) {
        gbx_envelope_free(env);
        return err;
    }
    gbx_job *job = NULL;
    if ((err = gbx__job_new_owned(&job, env)) != GBX_OK) return err;
    if ((err = gbx__job_set_rest(job, method, uri)) != GBX_OK) {
        gbx_job_free(job);
        return err;
    }
    *out = job;
    return GBX_OK;
}

gbx_err gbx_jobmanager_gen_id(char **out, const char *prefix) {
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_jobmanager_gen_id: out is NULL");
    *out = NULL;
    char *id = malloc(GBX_ID_MAX);
    if (!id) return oom();
    gbx_err err = gbx_id_generate(id, GBX_ID_MAX, prefix);
    if (err != GBX_OK) {
        free(id);
        return err;
    }
    *out = id;
    return GBX_OK;
}

/* ---- statuses ------------------------------------------------------------ */

/* The scope of a status made without a parent: the path of base_uri
 * without its "/v<N>" (the gateway location's prefix); "/" for none. */
static char *scope_of(const char *base_uri) {
    const char *p = strstr(base_uri, "://");
    p = p ? strchr(p + 3, '/') : NULL;
    if (!p) return strdup("/");
    char *path = strdup(p);
    if (!path) return NULL;
    char *q = strpbrk(path, "?#;");
    if (q) *q = '\0';
    size_t n = strlen(path);
    while (n > 0 && path[n - 1] == '/') path[--n] = '\0';
    char *slash = strrchr(path, '/');
    if (slash && slash[1] == 'v' && slash[2]) {
        bool digits = true;
        for (const char *d = slash + 2; *d; d++)
            if (*d < '0' || *d > '9') digits = false;
        if (digits) *slash = '\0';
    }
    if (!*path) {
        free(path);
        return strdup("/");
    }
    return path;
}

/* The response of an async run: 202, the status JSON, its status_uri. */
static gbx_err accepted(gbx_response **out, gbx_status *st) {
    if (!out) return GBX_OK;
    *out = NULL;
    json_t *body = NULL;
    char *text = NULL;
    gbx_response *resp = NULL;
    gbx_err err = gbx_status_to_json(&body, st);
    if (err == GBX_OK) err = gbx_json_dump(&text, body);
    if (err == GBX_OK) err = gbx_response_new(&resp);
    if (err == GBX_OK) err = gbx_response_set_content(resp, text, strlen(text));
    if (err == GBX_OK) err = gbx_response_add_header(resp, "Content-Type", "application/json");
    if (err == GBX_OK && gbx_status_status_uri(st))
        err = gbx_response_add_header(resp, "Location", gbx_status_status_uri(st));
    /* A status made without a base URI has no status_uri: its id still
     * finds it (gbx_jobmanager_status takes either), so that a caller never
     * mistakes the queued job for one that has finished. */
    if (err == GBX_OK)
        err = gbx_response_set_status_uri(resp, gbx_status_status_uri(st) ? gbx_status_status_uri(st)
                                                                          : gbx_status_id(st));
    json_decref(body);
    free(text);
    if (err != GBX_OK) {
        gbx_response_free(resp);
        return err;
    }
    gbx_response_set_code(resp, 202);
    *out = resp;
    return GBX_OK;
}

/* ---- async runs --------------------------------------------------------- */

/* Puts the job (its envelope given a fresh ticket) into the queue, due in
 * `delay` s, and submits it at once when not delayed.  A failed submit only
 * logs: the row stays for the scheduler. */
static gbx_err enqueue(gbx_jobmanager *jm, gbx_job *job, const char *status_id, double delay) {
    char ticket[GBX_ID_MAX];
    char *text = NULL;
    gbx_err err = gbx_id_generate(ticket, sizeof ticket, "t");
    if (err == GBX_OK) err = gbx_job_set(job, "ticket", ticket);
    if (err == GBX_OK) err = gbx_envelope_serialize(&text, gbx_job_envelope(job));
    if (err != GBX_OK) return err;
    bool now = !(delay > 0);
    const char *name = gbx_job_name(job);
    err = gbx__queue_put(jm->store, ticket, status_id, name, text, gbx__now() + (now ? 0 : delay),
                         now);
    if (err == GBX_OK && now) {
        if (gbx_jobmanager_submit(jm, name, ticket, text, strlen(text)) != GBX_OK)
            gbx_log(GBX_LOG_WARN, "job %s (status %s) stays queued for the scheduler: %s", name,
                    status_id ? status_id : "-", gbx_error_last()->message);
        gbx_error_clear();
    }
    free(text);
    return err;
}

gbx_err gbx_jobmanager_accept(gbx_status **out, gbx_jobmanager *jm, const char *name,
                              const gbx_status_spec *spec) {
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_jobmanager_accept: out is NULL");
    *out = NULL;
    if (!jm || !name || !*name || !spec || !spec->id || !spec->envelope)
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "gbx_jobmanager_accept: job manager, name, spec id and envelope required");
    if (!jm->store) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "job manager has no status store");
    gbx_status *st = NULL;
    gbx_err err = gbx__status_create_queued(&st, jm->store, spec, name, spec->id);
    if (err != GBX_OK) return err;
    err = gbx_jobmanager_submit(jm, name, spec->id, spec->envelope, strlen(spec->envelope));
    if (err != GBX_OK) {
        char why[1024];
        snprintf(why, sizeof why, "%s", gbx_error_last()->message);
        if (gbx__queue_drop(NULL, jm->store, spec->id) != GBX_OK)
            gbx_log(GBX_LOG_ERROR, "status %s: cannot drop the job no gearmand took: %s", spec->id,
                    gbx_error_last()->message);
        char *formatted = gbx_error_format((int)err, why);
        if (gbx_status_fail(st, (int)err, formatted ? formatted : why) != GBX_OK)
            gbx_log(GBX_LOG_ERROR, "status %s: cannot record the failed submit: %s", spec->id,
                    gbx_error_last()->message);
        free(formatted);
        gbx_status_free(st);
        return gbx_error_set(err, "%s", why);
    }
    *out = st;
    return GBX_OK;
}

/* How long an Idempotency-Key names its first request's status. */
#define IDEMPOTENCY_WINDOW_S 86400.0

gbx_err gbx_jobmanager_accept_idempotent(gbx_status **out, bool *replayed, gbx_jobmanager *jm,
                                         const char *name, const gbx_status_spec *spec,
                                         const char *key, const char *digest) {
    if (!out || !replayed)
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_jobmanager_accept_idempotent: no output");
    *out = NULL;
    *replayed = false;
    if (!jm || !spec || !spec->id || !key || !*key || !digest)
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "gbx_jobmanager_accept_idempotent: job manager, spec id, key and digest required");
    if (!jm->store) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "job manager has no status store");
    char *existing = NULL, *existing_digest = NULL;
    gbx_err err = gbx__idempotency_put(&existing, &existing_digest, jm->store, key, digest, spec->id,
                                       IDEMPOTENCY_WINDOW_S);
    if (err != GBX_OK) return err;
    if (!existing) {
        err = gbx_jobmanager_accept(out, jm, name, spec);
        if (err != GBX_OK) {
            /* Not accepted: the key stays free for the client's retry. */
            char why[1024];
            snprintf(why, sizeof why, "%s", gbx_error_last()->message);
            if (gbx__idempotency_drop(jm->store, key, spec->id) != GBX_OK)
                gbx_log(GBX_LOG_ERROR, "status %s: cannot free its idempotency key: %s", spec->id,
                        gbx_error_last()->message);
            gbx_error_set(err, "%s", why);
        }
        return err;
    }
    if (strcmp(existing_digest, digest) != 0) {
        err = gbx_error_set(GBX_ERR_UNPROCESSABLE_ENTITY,
                            "the Idempotency-Key was used for another request (status %s) within "
                            "the last 24 hours", existing);
    } else {
        err = gbx_status_fetch(out, jm->store, existing);
        if (err == GBX_ERR_NOT_FOUND)
            err = gbx_error_set(GBX_ERR_CONFLICT, "a request with this Idempotency-Key is still "
                                                  "being accepted; try again");
        *replayed = err == GBX_OK;
    }
    free(existing);
    free(existing_digest);
    return err;
}

/* Creates the status of an async job that has none, as a child of
 * `parent` (may be NULL), and queues the job.  *out: the new status. */
static gbx_err start_new(gbx_status **out, gbx_jobmanager *jm, gbx_job *job, gbx_status *parent,
                         double delay) {
    *out = NULL;
    char sid[GBX_ID_MAX];
    char *status_base = NULL, *scope = NULL, *text = NULL;
    gbx_status *st = NULL;
    const char *parent_uri = parent ? gbx_status_status_uri(parent) : NULL;
    const char *base_uri = gbx_job_base_uri(job);
    /* Statuses live beside the job's base URI, else beside the parent's. */
    const char *parent_dir = parent_uri ? strrchr(parent_uri, '/') : NULL;
    const char *parent_scope = parent ? gbx_status_scope(parent) : NULL;
    gbx_err err = gbx_id_generate(sid, sizeof sid, "s");
    if (err == GBX_OK && base_uri) {
        size_t n = strlen(base_uri) + sizeof "/status";
        if ((status_base = malloc(n))) snprintf(status_base, n, "%s/status", base_uri);
        else err = oom();
    } else if (err == GBX_OK && parent_dir) {
        if (!(status_base = strndup(parent_uri, (size_t)(parent_dir - parent_uri)))) err = oom();
    }
    /* Visible where the parent is, else under the location of base_uri. */
    if (err == GBX_OK && (parent_scope || base_uri)) {
        scope = parent_scope ? strdup(parent_scope) : scope_of(base_uri);
        if (!scope) err = oom();
    }
    if (err == GBX_OK) err = gbx_job_set(job, "status", sid);
    if (err == GBX_OK && parent_uri) err = gbx_job_set(job, "parent_uri", parent_uri);
    /* Every status belongs to a trace: a job made outside one starts one. */
    if (err == GBX_OK && !gbx_job_trace_id(job)) {
        gbx_traceparent tp;
        char value[GBX_TRACEPARENT_SIZE];
        gbx_traceparent_start(&tp);
        gbx_traceparent_format(value, &tp);
        err = gbx_job_set(job, "traceparent", value);
        if (err == GBX_OK) err = gbx_job_set(job, "tracestate", NULL);
    }
    if (err == GBX_OK) err = gbx_envelope_serialize(&text, gbx_job_envelope(job));
    if (err == GBX_OK) {
        gbx_status_spec spec = {
            .id = sid,
            .operation = gbx_job_operation(job),
            .component = gbx_job_component(job),
            .uri = gbx_job_resource_uri(job),
            .status_base = status_base,
            .parent_uri = parent_uri,
            .envelope = text,
            .scope = scope,
            /* Owned by whom the parent is, else by the job's verified
             * principal (the gateway sets remote.user only for those). */
            .owner = parent ? gbx_status_owner(parent) : gbx_job_remote_user(job),
            .trace_id = gbx_job_trace_id(job),
        };
        err = gbx_status_create(&st, jm->store, &spec);
    }
    /* The parent lists it before it can run: children in start order. */
    if (err == GBX_OK && parent) {
        const char *child = gbx_status_status_uri(st) ? gbx_status_status_uri(st) : sid;
        err = gbx_status_add_child(parent, child);
    }
    if (err == GBX_OK && delay > 0) err = gbx_status_set_ytime(st, gbx__now() + delay);
    if (err == GBX_OK) err = enqueue(jm, job, sid, delay);
    free(status_base);
    free(scope);
    free(text);
    if (err != GBX_OK) {
        if (st) {
            /* Made but not queued: say so rather than leave it PENDING forever. */
            char why[512];
            snprintf(why, sizeof why, "%s", gbx_error_last()->message);
            gbx_err failed = err;
            if (gbx_status_set_state(st, GBX_STATE_RUNNING) == GBX_OK)
                (void)gbx_status_fail(st, GBX_ERR_INTERNAL_SERVER_ERROR, why);
            gbx_status_free(st);
            gbx_error_set(failed, "%s", why);
        }
        return err;
    }
    *out = st;
    return GBX_OK;
}

/* Runs an async job: a continuation of its status, or a new status that is
 * a child of `parent`. */
static gbx_err run_async(gbx_response **out, gbx_jobmanager *jm, gbx_job *job, gbx_status *parent,
                         double delay) {
    const char *name = gbx_job_name(job);
    if (!name || !*name) return gbx_error_set(GBX_ERR_BAD_REQUEST, "job has no name");
    if (!jm->store)
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                             "job manager has no status store: cannot run async job %s", name);
    gbx_status *st = NULL;
    bool owned = false;
    gbx_err err = gbx__jm_job_status(&st, &owned, jm, job);
    if (err != GBX_OK) return err;
    if (!st) {
        err = start_new(&st, jm, job, parent, delay);
        if (err != GBX_OK) return err;
        gbx__job_set_status(job, st); /* the job owns it now; job.status() works */
    } else {
        /* A continuation: the status's job is this one from now on.  Its
         * writes to the status come before the submit, so that the worker
         * taking the job does not wait for this one's write lock.  It is
         * the next hop of the trace of the job that queues it. */
        gbx_job *current = gbx_jobmanager_current(jm);
        if (current != job) err = carry_trace(gbx__job_envelope_mut(job), current);
        if (err != GBX_OK) {
            if (owned) gbx_status_free(st);
            return err;
        }
        char *text = NULL;
        if (gbx_envelope_serialize(&text, gbx_job_envelope(job)) == GBX_OK &&
            gbx_status_set_envelope(st, text) != GBX_OK)
            gbx_log(GBX_LOG_WARN, "status %s: cannot keep the continuation's envelope: %s",
                    gbx_status_id(st), gbx_error_last()->message);
        free(text);
        gbx_error_clear();
        if (delay > 0) err = gbx_status_set_ytime(st, gbx__now() + delay);
        if (err == GBX_OK) err = enqueue(jm, job, gbx_status_id(st), delay);
        if (err != GBX_OK) {
            if (owned) gbx_status_free(st);
            return err;
        }
    }
    err = accepted(out, st);
    if (owned) gbx_status_free(st);
    return err;
}

/* ---- sync runs ------------------------------------------------------------- */

/* The message of an error reply body: its last message without the
 * "NAME [code]: " that gbx_error_format put in front. */
static void reply_message(char *buf, size_t size, const char *content, size_t len) {
    json_t *body = NULL;
    buf[0] = '\0';
    if (len && gbx_json_parse(&body, content, len) == GBX_OK) {
        json_t *messages = json_object_get(body, "messages");
        const char *m = json_string_value(json_array_get(messages, json_array_size(messages) - 1));
        if (!m) m = json_string_value(json_object_get(body, "message"));
        if (m) {
            const char *p = strstr(m, "]: ");
            const char *b = strchr(m, '[');
            if (p && b && b < p && b > m && b[-1] == ' ') m = p + 3;
            snprintf(buf, size, "%s", m);
        }
        json_decref(body);
    } else {
        gbx_error_clear();
    }
    if (!buf[0] && len) snprintf(buf, size, "%.*s", (int)(len > 512 ? 512 : len), content);
}

static gbx_err run_sync(gbx_response **out, gbx_jobmanager *jm, gbx_job *job) {
    const char *name = gbx_job_name(job);
    if (!name || !*name) return gbx_error_set(GBX_ERR_BAD_REQUEST, "job has no name");
    gbx_envelope *env = NULL;
    char unique[GBX_ID_MAX];
    char *text = NULL, *result = NULL;
    size_t rlen = 0;
    gbx_response *resp = NULL;
    gbx_err err = gbx_envelope_copy(&env, gbx_job_envelope(job));
    if (err == GBX_OK) err = gbx_envelope_set(env, "ticket", NULL);
    if (err == GBX_OK)
        err = gbx_envelope_set_int(env, "deadline",
                                   (long long)time(NULL) + (long long)ceil(jm->sync_timeout));
    if (err == GBX_OK) err = gbx_envelope_serialize(&text, env);
    if (err == GBX_OK) err = gbx_id_generate(unique, sizeof unique, "q");
    if (err == GBX_OK)
        err = gbx__jm_gearman_do(&result, &rlen, jm, name, unique, text, strlen(text), jm->sync_timeout);
    if (err == GBX_OK) {
        if (!result || !rlen)
            err = gbx_error_set(GBX_ERR_BAD_GATEWAY, "malformed worker reply: %s answered nothing", name);
        else
            err = gbx_response_parse(&resp, result, rlen);
    }
    if (err == GBX_OK && gbx_response_code(resp) >= 400) {
        size_t clen = 0;
        const char *content = gbx_response_content(resp, &clen);
        char message[1024];
        reply_message(message, sizeof message, content, clen);
        err = gbx_error_set((gbx_err)gbx_response_code(resp), "%s", message);
    }
    gbx_envelope_free(env);
    free(text);
    free(result);
    return gbx__jm_hand_over(out, resp, err);
}

/* ---- run, delay, retry ------------------------------------------------------ */

gbx_err gbx_jobmanager_run(gbx_response **out, gbx_jobmanager *jm, gbx_job *job) {
    if (out) *out = NULL;
    if (!jm || !job) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_jobmanager_run: no job manager or job");
    if (gbx_job_is_rest(job)) return gbx__jm_rest_run(out, jm, job);
    if (gbx_envelope_is_sync(gbx_job_envelope(job))) return run_sync(out, jm, job);
    gbx_status *parent = NULL;
    bool owned = false;
    gbx_err err = gbx__jm_current_status(&parent, &owned, jm);
    if (err != GBX_OK) return err;
    err = run_async(out, jm, job, parent, 0);
    if (owned) gbx_status_free(parent);
    return err;
}

gbx_err gbx_jobmanager_delay(gbx_response **out, gbx_jobmanager *jm, gbx_job *job, double seconds) {
    if (out) *out = NULL;
    if (!jm || !job) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_jobmanager_delay: no job manager or job");
    if (gbx_job_is_rest(job) || gbx_envelope_is_sync(gbx_job_envelope(job)))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "only async jobs can be delayed (%s is not)",
                             gbx_job_name(job) ? gbx_job_name(job) : "the job");
    if (!(seconds >= 0) || seconds > 1e9)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "delay: %g is not a number of seconds", seconds);
    gbx_status *parent = NULL;
    bool owned = false;
    gbx_err err = gbx__jm_current_status(&parent, &owned, jm);
    if (err != GBX_OK) return err;
    err = run_async(out, jm, job, parent, seconds);
    if (owned) gbx_status_free(parent);
    return err;
}

double gbx__jm_retry_delay(int failures, double max_delay, double max_jitter, double jitter) {
    if (failures < 1) failures = 1;
    double a = 1, b = 1; /* F(1), F(2) */
    for (int i = 1; i < failures && a < max_delay; i++) {
        double next = a + b;
        a = b;
        b = next;
    }
    double d = a < max_delay ? a : max_delay;
    if (d > max_jitter && max_jitter > 0) {
        if (jitter > 1) jitter = 1;
        if (jitter < 0) jitter = 0;
        d += jitter * max_jitter;
    }
    return d;
}

/* A jitter in 0..1 (not for anything secret). */
static double random_jitter(void) {
    static _Thread_local unsigned seed;
    if (!seed) seed = (unsigned)(gbx__jm_mono() * 1e6) ^ (unsigned)(uintptr_t)&seed;
    return (double)rand_r(&seed) / ((double)RAND_MAX + 1.0);
}

/* Gearbox capped max_delay at Fibonacci(35) s (about 106 days). */
#define RETRY_DELAY_LIMIT 9220695.0

gbx_err gbx_jobmanager_retry(gbx_jobmanager *jm, gbx_job *job, double max_delay, double max_jitter) {
    if (!jm || !job) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_jobmanager_retry: no job manager or job");
    if (!(max_delay > 0)) max_delay = jm->retry_max_delay; /* also NaN */
    if (max_delay > RETRY_DELAY_LIMIT) max_delay = RETRY_DELAY_LIMIT;
    if (!(max_jitter >= 0)) max_jitter = jm->retry_max_jitter;
    if (max_jitter > RETRY_DELAY_LIMIT) max_jitter = RETRY_DELAY_LIMIT;
    /* What made the handler ask for a retry, before anything below resets it. */
    char last[1024];
    snprintf(last, sizeof last, "%s", gbx_error_last()->code != GBX_OK ? gbx_error_last()->message : "");
    const char *name = gbx_job_name(job) ? gbx_job_name(job) : "job";
    if (gbx_job_is_rest(job) || gbx_envelope_is_sync(gbx_job_envelope(job)))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "retry: %s is not an async job", name);
    if (!jm->store) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "job manager has no status store");
    gbx_status *st = NULL;
    bool owned = false;
    gbx_err err = gbx__jm_job_status(&st, &owned, jm, job);
    if (err != GBX_OK) return err;
    if (!st) return gbx_error_set(GBX_ERR_BAD_REQUEST, "retry: %s has no status", name);

    gbx_job *copy = NULL;
    err = gbx_status_add_failure(st);
    int failures = gbx_status_failures(st);
    if (err == GBX_OK && jm->retry_max_attempts > 0 && failures >= jm->retry_max_attempts) {
        if (!last[0]) {
            json_t *messages = gbx_status_messages(st);
            const char *m = json_string_value(json_array_get(messages, json_array_size(messages) - 1));
            snprintf(last, sizeof last, "%s", m ? m : "no error given");
        }
        char message[1400];
        snprintf(message, sizeof message, "%s gave up after %d attempts: %s", name, failures, last);
        gbx_log(GBX_LOG_WARN, "status %s: %s", gbx_status_id(st), message);
        if (gbx_status_state(st) == GBX_STATE_PENDING) (void)gbx_status_set_state(st, GBX_STATE_RUNNING);
        char *formatted = gbx_error_format(GBX_ERR_INTERNAL_SERVER_ERROR, message);
        if (!gbx_status_has_completed(st) &&
            gbx_status_fail(st, GBX_ERR_INTERNAL_SERVER_ERROR, formatted ? formatted : message) != GBX_OK)
            gbx_log(GBX_LOG_ERROR, "status %s: cannot record that it gave up: %s", gbx_status_id(st),
                    gbx_error_last()->message);
        free(formatted);
        err = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "%s", message);
    } else if (err == GBX_OK) {
        double delay = gbx__jm_retry_delay(failures, max_delay, max_jitter, random_jitter());
        char cap[32] = "no limit";
        if (jm->retry_max_attempts > 0) snprintf(cap, sizeof cap, "%d", jm->retry_max_attempts);
        gbx_log(GBX_LOG_INFO, "status %s: %s retries in %.1f s (failure %d of %s)", gbx_status_id(st),
                name, delay, failures, cap);
        err = gbx_job_copy(&copy, job);
        if (err == GBX_OK)
            err = gbx_envelope_set_int(gbx__job_envelope_mut(copy), "attempt", failures);
        if (err == GBX_OK) err = gbx_status_set_ytime(st, gbx__now() + delay);
        if (err == GBX_OK) err = enqueue(jm, copy, gbx_status_id(st), delay);
    }
    gbx_job_free(copy);
    if (owned) gbx_status_free(st);
    return err;
}

/* ---- statuses, waiting ----------------------------------------------------- */

gbx_err gbx_jobmanager_status(gbx_status **out, gbx_jobmanager *jm, const char *id_or_uri) {
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_jobmanager_status: out is NULL");
    *out = NULL;
    if (!jm || !id_or_uri || !*id_or_uri)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_jobmanager_status: no status id or URI");
    bool http = strncasecmp(id_or_uri, "http://", 7) == 0 || strncasecmp(id_or_uri, "https://", 8) == 0;
    gbx_err err = GBX_ERR_NOT_FOUND;
    if (jm->store) {
        err = gbx_status_fetch(out, jm->store, id_or_uri);
        if (err != GBX_ERR_NOT_FOUND || !http) return err;
    } else if (!http) {
        return gbx_error_set(GBX_ERR_NOT_FOUND, "status \"%s\" not found (no status store)", id_or_uri);
    }
    json_t *obj = NULL;
    err = gbx__jm_fetch_status(jm, id_or_uri, &obj);
    if (err != GBX_OK) return err;
    err = gbx__status_new_remote(out, obj, gbx__jm_fetch_status, jm);
    json_decref(obj);
    return err;
}

gbx_err gbx_jobmanager_wait(gbx_jobmanager *jm, gbx_status *status, double timeout) {
    (void)jm;
    if (!status) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_jobmanager_wait: no status");
    double until = timeout > 0 ? gbx__jm_mono() + timeout : 0;
    double pause = 0.01;
    for (;;) {
        gbx_err err = gbx_status_refresh(status);
        if (err != GBX_OK) return err;
        if (gbx_status_has_completed(status)) return GBX_OK;
        double now = gbx__jm_mono();
        if (until && now >= until)
            return gbx_error_set(GBX_ERR_GATEWAY_TIMEOUT, "status %s has not completed within %g s",
                                 gbx_status_id(status) ? gbx_status_id(status) : "?", timeout);
        double nap = pause;
        if (until && now + nap > until) nap = until - now;
        struct timespec ts = {(time_t)nap, (long)((nap - (double)(time_t)nap) * 1e9)};
        nanosleep(&ts, NULL);
        pause = pause * 2 > 0.5 ? 0.5 : pause * 2;
    }
}

/* ---- the scheduler step ---------------------------------------------------- */

gbx_err gbx_jobmanager_run_due(size_t *submitted, double *next_due, gbx_jobmanager *jm) {
    if (submitted) *submitted = 0;
    if (next_due) *next_due = 0;
    if (!jm) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_jobmanager_run_due: no job manager");
    if (!jm->store) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "job manager has no status store");
    double now = gbx__now();
    gbx__queued *rows = NULL;
    size_t n = 0, done = 0;
    gbx_err err = gbx__queue_claim_due(&rows, &n, jm->store, now, jm->resubmit_after, RUN_DUE_BATCH);
    if (err != GBX_OK) return err;
    for (size_t i = 0; i < n; i++) {
        gbx__queued *r = &rows[i];
        if (r->lease_expired && !gbx__jm_recover(jm, r)) continue;
        /* Due long before its resubmit window: gearmand lost it, or no
         * worker took it (a first submit is due about now). */
        if (!r->lease_expired && r->due < now - jm->resubmit_after)
            gbx_log(GBX_LOG_INFO, "scheduler: job %s ticket %s status %s submitted again: no "
                    "worker took it within %g s (gearmand lost it, or none is free)", r->name,
                    r->ticket, r->status_id ? r->status_id : "-", jm->resubmit_after);
        /* It runs now, whatever time was shown (a reschedule may have moved
         * the row).  Cleared before the submit: a fast worker must never
         * finish the job while its status still shows ytime. */
        gbx_status *st = NULL;
        if (r->status_id && gbx_status_fetch(&st, jm->store, r->status_id) == GBX_OK &&
            gbx_status_ytime(st) > 0 && gbx_status_set_ytime(st, 0) != GBX_OK)
            gbx_log(GBX_LOG_WARN, "scheduler: status %s: cannot clear ytime: %s", r->status_id,
                    gbx_error_last()->message);
        gbx_status_free(st);
        if (gbx_jobmanager_submit(jm, r->name, r->ticket, r->envelope, strlen(r->envelope)) == GBX_OK) {
            done++;
        } else {
            gbx_log(GBX_LOG_WARN, "scheduler: job %s (ticket %s) not submitted, trying again in %g s: %s",
                    r->name, r->ticket, jm->resubmit_after, gbx_error_last()->message);
        }
    }
    gbx__queued_free(rows, n);
    gbx__jm_purge_old(jm, now);
    gbx_error_clear();
    if (submitted) *submitted = done;
    if (next_due) {
        if (n == RUN_DUE_BATCH) {
            *next_due = now; /* more are due: come back at once */
        } else {
            err = gbx__queue_next_due(next_due, jm->store);
            if (err != GBX_OK) return err;
        }
    }
    return GBX_OK;
}

/* ---- job events ----------------------------------------------------------- */

/* Runs the event job stored under on[event] of `env`, if any. */
static gbx_err fire_one(gbx_jobmanager *jm, const gbx_envelope *env, gbx_status *status,
                        gbx_job_event event) {
    json_t *entry = json_object_get(gbx_envelope_get_json(env, "on"), gbx_job_event_name(event));
    if (!entry) return GBX_OK;
    const char *name = json_string_value(json_object_get(entry, "name"));
    json_t *stored = json_object_get(entry, "envelope");
    if (!name || !*name)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "event %s of status %s has no job name",
                             gbx_job_event_name(event), gbx_status_id(status));
    gbx_job *job = NULL;
    gbx_err err;
    if (json_is_object(stored)) {
        char *text = NULL;
        gbx_envelope *e = NULL;
        err = gbx_json_dump(&text, stored);
        if (err == GBX_OK) err = gbx_envelope_parse(&e, text, strlen(text));
        free(text);
        if (err == GBX_OK) err = gbx_jobmanager_job_from_envelope(&job, jm, name, e);
        gbx_envelope_free(e);
    } else {
        err = gbx_jobmanager_job(&job, jm, name);
    }
    const char *suri = gbx_status_status_uri(status) ? gbx_status_status_uri(status) : gbx_status_id(status);
    if (err == GBX_OK) err = gbx_job_set(job, "event_status", suri);
    if (err == GBX_OK) {
        if (gbx_job_is_rest(job) || gbx_envelope_is_sync(gbx_job_envelope(job))) {
            gbx_response *resp = NULL;
            err = gbx_jobmanager_run(&resp, jm, job);
            gbx_response_free(resp);
        } else {
            err = run_async(NULL, jm, job, status, 0);
        }
    }
    if (err == GBX_OK)
        gbx_log(GBX_LOG_INFO, "status %s: %s fired %s", gbx_status_id(status),
                gbx_job_event_name(event), name);
    gbx_job_free(job);
    return err;
}

gbx_err gbx_jobmanager_fire(gbx_jobmanager *jm, const gbx_envelope *env, gbx_status *status,
                            gbx_job_event event) {
    if (!jm || !env || !status)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_jobmanager_fire: missing argument");
    gbx_job_event events[2] = {event, GBX_EVENT_UNKNOWN};
    switch (event) {
    case GBX_EVENT_COMPLETED:
        events[1] = gbx_status_code(status) == 0 ? GBX_EVENT_SUCCEEDED : GBX_EVENT_FAILED;
        break;
    case GBX_EVENT_FAILED:
    case GBX_EVENT_SUCCEEDED:
    case GBX_EVENT_STARTED:
    case GBX_EVENT_STOPPED:
    case GBX_EVENT_CANCELLED:
        break;
    default:
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "fire: unknown job event %d", (int)event);
    }
    gbx_err first = GBX_OK;
    char why[1024] = "";
    for (size_t i = 0; i < 2 && events[i] != GBX_EVENT_UNKNOWN; i++) {
        gbx_err err = fire_one(jm, env, status, events[i]);
        if (err != GBX_OK) {
            gbx_log(GBX_LOG_ERROR, "status %s: cannot fire %s: %s", gbx_status_id(status),
                    gbx_job_event_name(events[i]), gbx_error_last()->message);
            if (first == GBX_OK) {
                first = err;
                snprintf(why, sizeof why, "%s", gbx_error_last()->message);
            }
        }
    }
    if (first != GBX_OK) return gbx_error_set(first, "%s", why);
    return GBX_OK;
}
