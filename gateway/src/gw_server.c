/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_server.c - libmicrohttpd glue and the life of one request.
 *
 * MHD calls the access handler several times per request: once when the
 * headers are in, once per chunk of body, then with no body left.  Answers
 * are queued on that last call, never on the first (MHD would drop
 * keep-alive).  A sync request suspends its connection on the last call;
 * the dispatcher's callback stores the outcome and resumes it, and MHD calls
 * the handler once more, which queues the answer.
 */
#include "gw_server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "gearbox/envelope.h"
#include "gearbox/id.h"
#include "gearbox/jobmanager.h"
#include "gearbox/json.h"
#include "gearbox/log.h"
#include "gearbox/response.h"
#include "gearbox/status.h"
#include "gearbox/trace.h"
#include "gearbox/uri.h"
#include "gw_auth.h"
#include "gw_dashboard.h"
#include "gw_dispatch.h"
#include "gw_limits.h"
#include "gw_metrics.h"
#include "gw_origin.h"
#include "gw_ratelimit.h"
#include "gw_route.h"
#include "gw_callback.h"
#include "gw_scheduler.h"
#include "gw_schema.h"
#include "gw_status.h"
#include "gw_util.h"
#include "gw_watch.h"

/* A body larger than the limit is read and thrown away (so that the client
 * sees the 413 on a live connection) up to this much; beyond it, or when
 * the client waits for "100 Continue", the 413 goes out at once and the
 * connection is closed. */
#define DRAIN_LIMIT (64u * 1024u * 1024u)
#define LISTEN_BACKLOG 4096
#define ALLOWED_METHODS "GET, HEAD, PUT, POST, DELETE"
/* The request header naming the status that a new status is a child of
 * (sent by REST jobs of the job manager). */
#define PARENT_URI_HEADER "Gearbox-Parent-Uri"

struct gbx_gw_server {
    const gbx_gw_config *cfg;
    gbx_store *store;
    gbx_gw_dispatcher *dispatcher;
    gbx_jobmanager *jm;           /* async submits, cancel, reschedule, scheduler */
    gbx_gw_scheduler *scheduler;  /* NULL when the config turns it off */
    gbx_gw_metrics *metrics;      /* counters, /metrics, /healthz, /readyz */
    gbx_gw_watchdog *watchdog;    /* drops connections slow to send a request */
    gbx_gw_handler guarded;       /* on_request, as gw_limits.c calls it */
    /* Requests per client address and per principal, failed logins per
     * address (gw_ratelimit.h). */
    gbx_gw_ratelimit *per_address, *per_principal, *failed_auth;
    gbx_gw_callbacks *callbacks;  /* the callback sender; NULL without scheduler or callbacks */
    gbx_gw_watch *watch;          /* long-polls and Prefer: wait (gw_watch.h) */
    struct MHD_Daemon *daemons[GBX_GW_MAX_LISTENERS]; /* one per listener (gw_tls.h) */
    gbx_gw_local locals[GBX_GW_MAX_LISTENERS];        /* each one's own address, when fixed */
    atomic_size_t nlocals;        /* locals[] (and daemons[]) ready to be read by HTTP threads */
    size_t ndaemons;
    int port;                     /* the first listener's */
    atomic_int suspended;         /* sync and waiting requests not yet answered */
    atomic_uint answered;         /* answers since the last malloc_trim */
    bool stopped;
};

typedef enum sync_state { SYNC_NONE = 0, SYNC_WAITING, SYNC_ANSWERED } sync_state;

/* What a suspended request waits for: a sync job's answer, a change of the
 * status it holds an ETag of (long-poll), or its async job's end
 * (Prefer: wait on an async request). */
typedef enum wait_kind { WAIT_JOB = 0, WAIT_STATUS, WAIT_ASYNC } wait_kind;

typedef struct gw_request {
    gbx_gw_server *srv;
    struct MHD_Connection *conn;
    char *path;                   /* raw (still percent-encoded) path */
    char *query;                  /* raw query string or NULL */
    const char *method_name;      /* MHD's string, lives as long as the request */
    gbx_gw_method method;
    int location;                 /* index into cfg->locations, or GBX_GW_LOCATION_* */
    double start;
    bool headers_seen;
    bool processed;
    bool too_large;
    gbx_err refused;              /* the head broke a limit (gw_limits.h) */
    const gbx_gw_location *loc;   /* of a sync request, for its answer's headers */
    char *body;
    size_t body_len, body_cap;
    size_t discarded;
    /* The answer, ready to queue. */
    struct MHD_Response *response;
    unsigned status;
    /* Error bodies. */
    char *request_url;            /* http://host/path */
    const char *operation;
    /* The client: its address and, on a location with "auth", who it
     * proved to be. */
    char ip[INET6_ADDRSTRLEN];
    gbx_gw_principal who;
    bool verified;
    /* Prefer (RFC 7240) and, while waiting for a status (gw_watch.h), which
     * status, for whom, until when (gbx_gw_now seconds). */
    gbx_gw_prefer prefer;
    wait_kind waiting;
    char wait_id[GBX_ID_MAX];
    gbx_gw_viewer viewer;
    double wait_deadline;
    bool replayed;                /* an async answer repeats an Idempotency-Key's */
    char traceparent[GBX_TRACEPARENT_SIZE]; /* its job's W3C trace context, answered too */
    /* Sync outcome, written by the dispatcher thread before it resumes
     * (SYNC_* also for WAIT_STATUS and WAIT_ASYNC, set by the watcher). */
    atomic_int sync;
    gbx_err sync_err;
    char *sync_message;
    char *sync_data;
    size_t sync_len;
} gw_request;

/* ---- responses ---------------------------------------------------------- */

static void set_response(gw_request *r, unsigned status, struct MHD_Response *resp) {
    if (r->response) MHD_destroy_response(r->response);
    r->response = resp;
    r->status = status;
}

static struct MHD_Response *response_from(const char *data, size_t len) {
    return MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
}

/* Answers `text` (malloc'ed JSON, taken over; NULL: out of memory). */
static void respond_dumped(gw_request *r, unsigned status, char *text) {
    if (!text) {
        static const char fallback[] = "{\"code\":500,\"messages\":[\"out of memory\"]}";
        set_response(r, 500, response_from(fallback, sizeof fallback - 1));
        return;
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    set_response(r, status, resp);
}

static void respond_json(gw_request *r, unsigned status, const json_t *body) {
    char *text = NULL;
    respond_dumped(r, status, gbx_json_dump(&text, body) == GBX_OK ? text : NULL);
}

/* True when the client asked for RFC 9457 problem details. */
static bool wants_problem(gw_request *r) {
    const char *accept = r->conn ? MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                               MHD_HTTP_HEADER_ACCEPT)
                                 : NULL;
    if (!accept) return false;
    static const char wanted[] = "application/problem+json";
    for (const char *p = accept; *p; p++)  /* media types are case-insensitive */
        if (strncasecmp(p, wanted, sizeof wanted - 1) == 0) return true;
    return false;
}

/* The same error as RFC 9457 problem details: type, title, status, detail,
 * instance, plus Gearbox's operation and, for schema violations, "errors"
 * with the JSON pointers of each one (where in the body, which keyword). */
static json_t *problem_body(gw_request *r, const char *operation, int code, const char *message,
                            const json_t *violations) {
    const char *title = MHD_get_reason_phrase_for((unsigned)code);
    /* The errors name where each violation is; detail is the first one's. */
    if (json_array_size(violations) > 0)
        message = json_string_value(json_object_get(json_array_get(violations, 0), "message"));
    json_t *body = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "type", "about:blank", "title",
                             title && *title ? title : "Error", "status", code, "detail",
                             message ? message : "", "instance",
                             r->request_url ? r->request_url : "", "operation", operation);
    if (body && json_array_size(violations) > 0) {
        json_t *errors = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(violations, i, v) {
            json_array_append_new(errors, json_pack("{s:O?, s:O?, s:O?}", "pointer",
                                                    json_object_get(v, "pointer"), "detail",
                                                    json_object_get(v, "message"), "keyword",
                                                    json_object_get(v, "keyword")));
        }
        json_object_set_new(body, "errors", errors);
    }
    return body;
}

/* The error body of DESIGN §3 with HTTP status = code (or problem details
 * when the client accepts them; `violations` may be NULL). */
/* A 503 says that something the gateway needs (gearmand, the status store)
 * is away: the reason is logged, at most once a second, beside the access
 * lines. */
static void log_unavailable(const gw_request *r, const char *message) {
    static atomic_llong last_ms;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    long long last = atomic_load(&last_ms);
    if (now - last < 1000 || !atomic_compare_exchange_strong(&last_ms, &last, now)) return;
    gbx_log(GBX_LOG_WARN, "%s %s: 503: %s", r->method_name ? r->method_name : "-", r->path,
            message ? message : "");
}

static void respond_problem(gw_request *r, int code, const char *message, const json_t *violations) {
    if (code < 300 || code > 599) code = 500;
    if (code == 503) log_unavailable(r, message);
    json_t *body = NULL;
    char op[16] = "";
    const char *operation = r->operation;
    if (!operation) {
        for (size_t i = 0; r->method_name && r->method_name[i] && i + 1 < sizeof op; i++)
            op[i] = (char)tolower((unsigned char)r->method_name[i]);
        operation = op;
    }
    bool problem = wants_problem(r);
    if (problem)
        body = problem_body(r, operation, code, message, violations);
    else if (gbx_error_body(&body, r->request_url, operation, code, message) != GBX_OK)
        body = NULL;
    if (!body) {
        set_response(r, (unsigned)code, response_from("", 0));
        return;
    }
    respond_json(r, (unsigned)code, body);
    json_decref(body);
    if (problem && r->response) {
        MHD_del_response_header(r->response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        MHD_add_response_header(r->response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/problem+json");
    }
    if (code == 503 && r->response) MHD_add_response_header(r->response, MHD_HTTP_HEADER_RETRY_AFTER, "5");
}

static void respond_error(gw_request *r, int code, const char *message) {
    respond_problem(r, code, message, NULL);
}

/* Responds with the thread's last error and the code `e`. */
static void respond_last_error(gw_request *r, gbx_err e) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", gbx_error_last()->message);
    respond_error(r, (int)e, msg);
}

/* ---- request context ----------------------------------------------------- */

static void request_free(gw_request *r) {
    if (!r) return;
    if (r->response) MHD_destroy_response(r->response);
    free(r->path);
    free(r->query);
    free(r->body);
    free(r->request_url);
    free(r->sync_message);
    free(r->sync_data);
    free(r);
}

/* MHD_OPTION_URI_LOG_CALLBACK: the first sight of a request, with its raw
 * URI (MHD hands the access handler the path only, without the query). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
    gw_request *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->srv = cls;
    r->conn = conn;
    r->start = gbx_gw_now();
    r->location = GBX_GW_LOCATION_NONE;
    atomic_init(&r->sync, SYNC_NONE);
    const char *q = strchr(uri, '?');
    r->path = q ? strndup(uri, (size_t)(q - uri)) : strdup(uri);
    const char *hash = q ? strchr(q + 1, '#') : NULL;
    if (q) r->query = hash ? strndup(q + 1, (size_t)(hash - q - 1)) : strdup(q + 1);
    char *frag = r->path ? strchr(r->path, '#') : NULL;
    if (frag) *frag = '\0';
    if (!r->path || (q && !r->query)) {
        request_free(r);
        return NULL;
    }
    /* The query is the gateway's copy from here on.  Blank it in
     * libmicrohttpd's buffer: 0.9 parses it right after this callback into
     * 64-byte records per parameter in the connection's memory pool (sized
     * for the head limits, gw_limits.h), which the gateway never reads. */
    if (q) ((char *)q)[1] = '\0';
    return r;
}

/* Keeps MHD from percent-decoding: the uri module decodes each part. */
static size_t keep_escaped(void *cls, struct MHD_Connection *c, char *s) {
    return strlen(s);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    gw_request *r = *con_cls;
    gbx_gw_watchdog_answered(conn);
    if (!r) return;
    atomic_fetch_add_explicit(&r->srv->answered, 1, memory_order_relaxed);
    double ms = (gbx_gw_now() - r->start) * 1000.0;
    gbx_gw_metrics_request(r->srv->metrics, r->location, r->method_name, r->status, ms / 1000.0);
    const char *q = r->query ? "?" : "";
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK || r->status)
        gbx_log(GBX_LOG_INFO, "%s %s%s%s %u %.1fms", r->method_name ? r->method_name : "-", r->path, q,
                r->query ? r->query : "", r->status, ms);
    else
        gbx_log(GBX_LOG_INFO, "%s %s%s%s - %.1fms (connection closed before the answer)",
                r->method_name ? r->method_name : "-", r->path, q, r->query ? r->query : "", ms);
    request_free(r);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
    unsigned suppressed = 0;
    bool ok = gbx_gw_log_budget(&suppressed);
    if (suppressed) gbx_log(GBX_LOG_WARN, "libmicrohttpd: %u more messages left out", suppressed);
    if (!ok) return;
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    gbx_log(GBX_LOG_WARN, "libmicrohttpd: %s", line);
}

/* ---- request data for the envelope --------------------------------------- */

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value) {
    json_t *headers = cls;
    char name[256];
    size_t n = 0;
    for (; key[n] && n + 1 < sizeof name; n++) name[n] = (char)tolower((unsigned char)key[n]);
    name[n] = '\0';
    /* Credentials never reach gearmand, the store or a worker: the worker
     * gets the verified principal (remote.user, remote.scopes) instead. */
    if (strcmp(name, "authorization") == 0 || strcmp(name, "proxy-authorization") == 0 ||
        strcmp(name, "cookie") == 0)
        return MHD_YES;
    if (!value) value = "";
    json_t *prev = json_object_get(headers, name);
    json_t *v;
    if (prev) {
        /* A repeated header: one value, comma-joined (RFC 9110 5.3). */
        size_t len = strlen(json_string_value(prev)) + 2 + strlen(value) + 1;
        char *joined = malloc(len);
        if (!joined) return MHD_YES;
        snprintf(joined, len, "%s, %s", json_string_value(prev), value);
        v = json_string(joined);
        free(joined);
    } else {
        v = json_string(value);
    }
    if (v) json_object_set_new(headers, name, v); /* NULL: not UTF-8, left out */
    return MHD_YES;
}

/* Every Prefer header into the gbx_gw_prefer `cls`. */
static enum MHD_Result collect_prefer(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value) {
    (void)kind;
    if (strcasecmp(key, "Prefer") == 0) gbx_gw_prefer_parse(cls, value);
    return MHD_YES;
}

static void client_ip(char *out, size_t outlen, struct MHD_Connection *conn) {
    out[0] = '\0';
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!info || !info->client_addr) return;
    const struct sockaddr *sa = info->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out, (socklen_t)outlen);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)outlen);
}

/* ---- sync completion (dispatcher thread) ---------------------------------- */

static void on_sync_done(void *user, gbx_err err, const char *message, const char *data, size_t len) {
    gw_request *r = user;
    r->sync_err = err;
    r->sync_message = strdup(message ? message : "");
    if (err == GBX_OK) {
        r->sync_data = malloc(len + 1);
        if (r->sync_data) {
            memcpy(r->sync_data, data, len);
            r->sync_data[len] = '\0';
            r->sync_len = len;
        } else {
            r->sync_err = GBX_ERR_INTERNAL_SERVER_ERROR;
        }
    }
    atomic_store_explicit(&r->sync, SYNC_ANSWERED, memory_order_release);
    MHD_resume_connection(r->conn);
}

/* Turns the worker's serialised gbx_response into the HTTP answer. */
static void respond_sync(gw_request *r) {
    if (r->sync_err != GBX_OK) {
        respond_error(r, (int)r->sync_err, r->sync_message ? r->sync_message : "");
        return;
    }
    gbx_response *wr = NULL;
    if (gbx_response_parse(&wr, r->sync_data, r->sync_len) != GBX_OK) {
        char msg[1200];
        snprintf(msg, sizeof msg, "malformed answer from the worker: %s", gbx_error_last()->message);
        respond_error(r, GBX_ERR_BAD_GATEWAY, msg);
        return;
    }
    int code = gbx_response_code(wr);
    if (code == 0) code = 200;
    if (code < 100 || code > 599) {
        char msg[128];
        snprintf(msg, sizeof msg, "the worker answered with an invalid HTTP code %d", code);
        gbx_response_free(wr);
        respond_error(r, GBX_ERR_BAD_GATEWAY, msg);
        return;
    }
    size_t len = 0;
    const char *content = gbx_response_content(wr, &len);
    struct MHD_Response *resp = response_from(content ? content : "", content ? len : 0);
    if (!resp) {
        gbx_response_free(wr);
        respond_error(r, GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
        return;
    }
    bool has_type = false;
    const char *name;
    json_t *value;
    json_object_foreach(gbx_response_headers(wr), name, value) {
        const char *why = NULL;
        if (!gbx_gw_worker_header_ok(name, value, r->loc && r->loc->allow_set_cookie, &why)) {
            if (!gbx_header_is_framing(name))
                gbx_log(GBX_LOG_WARN, "%s %s: worker header \"%.64s\" dropped: %s", r->method_name,
                        r->path, name, why);
            continue;
        }
        if (MHD_add_response_header(resp, name, json_string_value(value)) != MHD_YES) {
            gbx_log(GBX_LOG_WARN, "%s %s: worker header \"%s\" dropped (invalid)", r->method_name,
                    r->path, name);
            continue;
        }
        if (strcasecmp(name, "Content-Type") == 0) has_type = true;
    }
    if (!has_type && len > 0) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    gbx_response_free(wr);
    set_response(r, (unsigned)code, resp);
}

/* ---- processing ----------------------------------------------------------- */

typedef struct routed {
    const gbx_gw_location *loc;
    gbx_uri *uri;
    char *handler;
    char *base_uri;
    char *resource_name;   /* first argument or generated */
    json_t *arguments;     /* own reference */
} routed;

static void routed_clear(routed *rt) {
    gbx_uri_free(rt->uri);
    free(rt->handler);
    free(rt->base_uri);
    free(rt->resource_name);
    json_decref(rt->arguments);
}

static const char *host_header(gw_request *r) {
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
}

static gbx_err build_envelope(char **out, gw_request *r, const routed *rt, bool sync,
                              const char *status_id, const char *parent_uri) {
    *out = NULL;
    const gbx_gw_location *loc = rt->loc;
    gbx_envelope *env = NULL;
    gbx_err e = gbx_envelope_new(&env);
    if (e != GBX_OK) return e;
    json_t *headers = json_object();
    char scopes[64] = "";
    if (r->verified) gbx_gw_scopes_format(scopes, sizeof scopes, r->who.scopes);
    if (headers) MHD_get_connection_values(r->conn, MHD_HEADER_KIND, collect_header, headers);
    if (!headers) e = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    if (e == GBX_OK) e = gbx_envelope_set(env, "name", rt->handler);
    if (e == GBX_OK) e = gbx_envelope_set(env, "job_type", sync ? "sync" : "async");
    if (e == GBX_OK) e = gbx_envelope_set(env, "operation", r->operation);
    if (e == GBX_OK) e = gbx_envelope_set(env, "component", loc->component);
    if (e == GBX_OK) e = gbx_envelope_set(env, "resource.type", gbx_uri_resource(rt->uri));
    if (e == GBX_OK && rt->resource_name) e = gbx_envelope_set(env, "resource.name", rt->resource_name);
    if (e == GBX_OK && status_id) e = gbx_envelope_set(env, "status", status_id);
    /* The job's first queue row is named by its status id (the worker leases
     * it; gbx_jobmanager_accept). */
    if (e == GBX_OK && status_id) e = gbx_envelope_set(env, "ticket", status_id);
    if (e == GBX_OK && parent_uri) e = gbx_envelope_set(env, "parent_uri", parent_uri);
    if (e == GBX_OK) e = gbx_envelope_set(env, "base_uri", rt->base_uri);
    if (e == GBX_OK) e = gbx_envelope_set_json(env, "arguments", rt->arguments);
    if (e == GBX_OK) e = gbx_envelope_set_json(env, "matrix_arguments", gbx_uri_matrix(rt->uri));
    if (e == GBX_OK) e = gbx_envelope_set_json(env, "query_params", gbx_uri_query(rt->uri));
    if (e == GBX_OK) e = gbx_envelope_set_json(env, "headers", headers);
    if (e == GBX_OK) e = gbx_envelope_set_json(env, "environ", loc->environ);
    if (e == GBX_OK && r->ip[0]) e = gbx_envelope_set(env, "remote.ip", r->ip);
    if (e == GBX_OK && r->verified) e = gbx_envelope_set(env, "remote.user", r->who.name);
    if (e == GBX_OK && r->verified) e = gbx_envelope_set(env, "remote.scopes", scopes);
    /* W3C trace context: the request's, else a new trace (docs/gateway.md). */
    char *tracestate = NULL;
    if (e == GBX_OK)
        e = gbx_trace_continue(r->traceparent, &tracestate, NULL,
                               json_string_value(json_object_get(headers, "traceparent")),
                               json_string_value(json_object_get(headers, "tracestate")));
    if (e == GBX_OK) e = gbx_envelope_set(env, "traceparent", r->traceparent);
    if (e == GBX_OK && tracestate) e = gbx_envelope_set(env, "tracestate", tracestate);
    free(tracestate);
    if (e == GBX_OK) e = gbx_envelope_set_content(env, r->body ? r->body : "", r->body_len);
    if (e == GBX_OK && sync) e = gbx_envelope_set_int(env, "deadline", (long long)time(NULL) + (long long)(loc->timeout + 0.999));
    if (e == GBX_OK) e = gbx_envelope_serialize(out, env);
    json_decref(headers);
    gbx_envelope_free(env);
    return e;
}

static void process_sync(gw_request *r, routed *rt) {
    gbx_gw_server *srv = r->srv;
    char *workload = NULL;
    r->loc = rt->loc;
    if (MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, GBX_GW_CALLBACK_HEADER)) {
        respond_error(r, GBX_ERR_BAD_REQUEST, GBX_GW_CALLBACK_HEADER " is for async requests only");
        return;
    }
    gbx_err e = build_envelope(&workload, r, rt, true, NULL, NULL);
    if (e != GBX_OK) {
        respond_last_error(r, e);
        return;
    }
    char unique[GBX_ID_MAX];
    if (gbx_id_generate(unique, sizeof unique, "q") != GBX_OK) {
        free(workload);
        respond_last_error(r, GBX_ERR_INTERNAL_SERVER_ERROR);
        return;
    }
    /* Suspend before handing over: the dispatcher may answer (and resume)
     * before gbx_gw_dispatch even returns. */
    atomic_store(&r->sync, SYNC_WAITING);
    atomic_fetch_add(&srv->suspended, 1);
    MHD_suspend_connection(r->conn);
    e = gbx_gw_dispatch(srv->dispatcher, rt->handler, unique, workload, strlen(workload),
                        rt->loc->timeout, on_sync_done, r);
    free(workload);
    if (e != GBX_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", gbx_error_last()->message);
        on_sync_done(r, e, msg, "", 0);
    }
}

/* The Gearbox-Parent-Uri header: NULL when absent; a value that is not an
 * http(s) URI is a 400. */
static gbx_err parent_uri_header(const char **out, gw_request *r) {
    const char *v = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, PARENT_URI_HEADER);
    *out = NULL;
    if (!v || !*v) return GBX_OK;
    if (strncasecmp(v, "http://", 7) != 0 && strncasecmp(v, "https://", 8) != 0)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, PARENT_URI_HEADER " must be an http(s) status URI");
    *out = v;
    return GBX_OK;
}

#define IDEMPOTENCY_KEY_HEADER "Idempotency-Key"
#define IDEMPOTENCY_KEY_MAX 255

/* The Idempotency-Key header (an RFC 8941 string, quotes optional): *out
 * NULL when absent; a key that is empty, too long or not printable ASCII is
 * a 400. */
static gbx_err idempotency_key(char *out, size_t len, gw_request *r, bool *present) {
    const char *v = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, IDEMPOTENCY_KEY_HEADER);
    *present = v != NULL;
    if (!v) return GBX_OK;
    size_t n = strlen(v);
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        v++;
        n -= 2;
    }
    bool printable = n > 0 && n <= IDEMPOTENCY_KEY_MAX && n < len;
    for (size_t i = 0; printable && i < n; i++)
        printable = v[i] >= 0x20 && v[i] < 0x7f && v[i] != '"' && v[i] != '\\';
    if (!printable)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, IDEMPOTENCY_KEY_HEADER " must be 1 to %d "
                             "printable ASCII characters", IDEMPOTENCY_KEY_MAX);
    memcpy(out, v, n);
    out[n] = '\0';
    return GBX_OK;
}

/* FNV-1a (64 bit) of the request a key stands for: method, path, query and
 * body.  Not a secret: it only tells one request from another. */
static void request_digest(char out[17], const gw_request *r) {
    uint64_t h = 1469598103934665603ULL;
    const char *parts[] = {r->method_name, r->path, r->query};
    for (size_t p = 0; p <= sizeof parts / sizeof parts[0]; p++) {
        const unsigned char *s = (const unsigned char *)(p < 3 ? parts[p] : r->body);
        size_t n = p < 3 ? (s ? strlen((const char *)s) : 0) : r->body_len;
        for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL; /* separator */
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* ---- waiting for a status (gw_watch.h) ---------------------------------- */

/* The watcher's wake-up (a gbx_gw_wake_fn): the handler looks again. */
static void on_wake(void *user, bool changed) {
    (void)changed;
    gw_request *r = user;
    atomic_store_explicit(&r->sync, SYNC_ANSWERED, memory_order_release);
    MHD_resume_connection(r->conn);
}

/* Suspends the request until status r->wait_id changes after `mtime` or
 * r->wait_deadline comes (then the handler calls answer_waiting). */
static void wait_for_change(gw_request *r, double mtime) {
    gbx_gw_server *srv = r->srv;
    /* Suspend first: the watcher may wake it before the add returns. */
    atomic_store(&r->sync, SYNC_WAITING);
    atomic_fetch_add(&srv->suspended, 1);
    MHD_suspend_connection(r->conn);
    if (gbx_gw_watch_add(srv->watch, r->wait_id, mtime, r->wait_deadline, on_wake, r) != GBX_OK) {
        r->wait_deadline = 0; /* shutting down: answer with what there is */
        on_wake(r, false);
    }
}

static void add_preference_applied(gw_request *r) {
    char applied[32];
    snprintf(applied, sizeof applied, "wait=%d", r->prefer.wait);
    if (r->response) MHD_add_response_header(r->response, "Preference-Applied", applied);
}

/* Answers `body` with `code` and its strong ETag, or 304 (no body) when
 * the request's If-None-Match holds that ETag. */
static void respond_etagged(gw_request *r, unsigned code, const json_t *body) {
    char etag[GBX_GW_ETAG_SIZE];
    char *text = NULL;
    if (gbx_json_dump(&text, body) != GBX_OK) {
        respond_dumped(r, 500, NULL);
        return;
    }
    gbx_gw_etag(etag, text, strlen(text));
    const char *inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (code == MHD_HTTP_OK && gbx_gw_etag_matches(inm, etag)) {
        free(text);
        set_response(r, MHD_HTTP_NOT_MODIFIED, response_from("", 0));
    } else {
        respond_dumped(r, code, text);
    }
    if (r->response) MHD_add_response_header(r->response, MHD_HTTP_HEADER_ETAG, etag);
}

/* A status read's outcome: the error (false), or `body` (taken) with 200
 * and its ETag, 304 when the client holds that tag. */
static bool respond_read(gw_request *r, gbx_err e, json_t *body) {
    if (e != GBX_OK) {
        respond_last_error(r, e);
        return false;
    }
    respond_etagged(r, MHD_HTTP_OK, body);
    json_decref(body);
    return true;
}

/* GET of one status (r->wait_id): 200 with its ETag, 304 when the client
 * holds that ETag already, or, with Prefer: wait=N, a wait until it
 * changes or the N seconds pass (then 304). */
static void answer_status(gw_request *r) {
    json_t *body = NULL;
    double mtime = 0;
    gbx_err e = gbx_gw_status_get_one(&body, &mtime, r->srv->store, &r->viewer, r->wait_id);
    if (!respond_read(r, e, body) || r->prefer.wait <= 0) return;
    if (r->status == MHD_HTTP_NOT_MODIFIED && gbx_gw_now() < r->wait_deadline) {
        set_response(r, 0, NULL);
        r->waiting = WAIT_STATUS;
        wait_for_change(r, mtime);
        return;
    }
    if (r->waiting) add_preference_applied(r);
}

/* The usual async answer: 202 with the status, Location, Retry-After. */
static void respond_accepted(gw_request *r, const gbx_status *st) {
    json_t *body = NULL;
    if (gbx_status_to_json(&body, st) != GBX_OK) {
        respond_last_error(r, GBX_ERR_INTERNAL_SERVER_ERROR);
        return;
    }
    respond_json(r, MHD_HTTP_ACCEPTED, body);
    json_decref(body);
    if (!r->response) return;
    MHD_add_response_header(r->response, MHD_HTTP_HEADER_LOCATION, gbx_status_status_uri(st));
    MHD_add_response_header(r->response, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    if (r->replayed) MHD_add_response_header(r->response, "Idempotent-Replayed", "true");
}

/* An async job's answer with Prefer: wait=N: once its status is final (or
 * cancelled), the final status itself with the status's code as the HTTP
 * status (0 -> 200, a failure's 4xx/5xx as is, anything else 500), as a
 * sync request would get the worker's code; before that the wait goes on,
 * and after N seconds it is the usual 202. */
static void answer_async(gw_request *r, const gbx_status *st) {
    gbx_state state = gbx_status_state(st);
    bool final = state == GBX_STATE_COMPLETED || state == GBX_STATE_CANCELLED;
    if (!final && gbx_gw_now() < r->wait_deadline) {
        r->waiting = WAIT_ASYNC;
        wait_for_change(r, gbx_status_mtime(st));
        return;
    }
    if (!final) {
        respond_accepted(r, st);
    } else {
        int code = gbx_status_code(st);
        unsigned http = code <= 0 ? MHD_HTTP_OK : code >= 400 && code <= 599 ? (unsigned)code : 500;
        json_t *body = NULL;
        if (gbx_status_to_json(&body, st) != GBX_OK) {
            respond_last_error(r, GBX_ERR_INTERNAL_SERVER_ERROR);
            return;
        }
        respond_etagged(r, http, body);
        json_decref(body);
        if (r->response)
            MHD_add_response_header(r->response, MHD_HTTP_HEADER_CONTENT_LOCATION,
                                    gbx_status_status_uri(st));
    }
    add_preference_applied(r);
}

/* A waiting request woken (the handler's call after the resume). */
static void answer_waiting(gw_request *r) {
    if (r->waiting == WAIT_STATUS) {
        answer_status(r);
        return;
    }
    gbx_status *st = NULL;
    gbx_err e = gbx_status_fetch(&st, r->srv->store, r->wait_id);
    if (e != GBX_OK) respond_last_error(r, e);
    else answer_async(r, st);
    gbx_status_free(st);
}

static void process_async(gw_request *r, routed *rt) {
    gbx_gw_server *srv = r->srv;
    char sid[GBX_ID_MAX];
    char *workload = NULL, *status_base = NULL, *resource_uri = NULL;
    const char *parent_uri = NULL;
    gbx_status *st = NULL;
    char key[IDEMPOTENCY_KEY_MAX + 1], digest[17];
    bool has_key = false;
    bool *replayed = &r->replayed;
    const char *callback = NULL, *callback_location = NULL;
    bool callback_kept = false;
    gbx_err e = parent_uri_header(&parent_uri, r);
    if (e == GBX_OK)
        e = gbx_gw_callback_check(&callback, &callback_location, rt->loc,
                                  MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, GBX_GW_CALLBACK_HEADER));
    if (e == GBX_OK) e = idempotency_key(key, sizeof key, r, &has_key);
    if (e == GBX_OK) e = gbx_id_generate(sid, sizeof sid, "s");
    if (e == GBX_OK) e = build_envelope(&workload, r, rt, false, sid, parent_uri);
    if (e == GBX_OK) {
        size_t n = strlen(rt->base_uri) + sizeof "/status";
        status_base = malloc(n);
        char *encoded = NULL;
        if (rt->resource_name && gbx_uri_encode(&encoded, rt->resource_name) != GBX_OK) encoded = NULL;
        size_t m = strlen(rt->base_uri) + strlen(gbx_uri_resource(rt->uri)) + (encoded ? strlen(encoded) : 0) + 3;
        resource_uri = malloc(m);
        if (!status_base || !resource_uri) {
            e = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
        } else {
            snprintf(status_base, n, "%s/status", rt->base_uri);
            snprintf(resource_uri, m, "%s/%s%s%s", rt->base_uri, gbx_uri_resource(rt->uri),
                     encoded ? "/" : "", encoded ? encoded : "");
        }
        free(encoded);
    }
    char trace_id[GBX_TRACE_ID_SIZE];
    bool traced = e == GBX_OK && gbx_trace_id_of(trace_id, r->traceparent);
    if (e == GBX_OK) {
        gbx_status_spec spec = {
            .id = sid,
            .operation = r->operation,
            .component = rt->loc->component,
            .uri = resource_uri,
            .status_base = status_base,
            .parent_uri = parent_uri,
            .envelope = workload,
            .scope = gbx_gw_status_scope(rt->loc->prefix),
            .owner = r->verified ? r->who.name : NULL,
            .trace_id = traced ? trace_id : NULL,
        };
        /* The callback owed is kept first: the job may finish at once. */
        if (callback) e = gbx_store_callback_put(srv->store, sid, callback, callback_location);
        callback_kept = callback && e == GBX_OK;
        /* Status and queue row in one write, then gearmand.  A key is
         * scoped by the location and the principal. */
        if (e == GBX_OK && has_key) {
            const char *owner = r->verified ? r->who.name : "";
            size_t n = strlen(rt->loc->prefix) + strlen(owner) + strlen(key) + 3;
            char *scoped = malloc(n);
            if (scoped) snprintf(scoped, n, "%s %s%s%s", rt->loc->prefix, owner, *owner ? " " : "", key);
            if (!scoped) {
                e = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
            } else {
                request_digest(digest, r);
                e = gbx_jobmanager_accept_idempotent(&st, replayed, srv->jm, rt->handler, &spec,
                                                     scoped, digest);
                free(scoped);
            }
        } else if (e == GBX_OK) {
            e = gbx_jobmanager_accept(&st, srv->jm, rt->handler, &spec);
        }
    }
    if (e != GBX_OK) {
        respond_last_error(r, e);
        goto done;
    }
    if (!*replayed) gbx_gw_metrics_accepted(srv->metrics, r->location);
    else r->traceparent[0] = '\0'; /* no job of this request: the first one's trace is in meta */
    if (r->prefer.wait > 0) {
        snprintf(r->wait_id, sizeof r->wait_id, "%s", gbx_status_id(st));
        r->wait_deadline = r->start + r->prefer.wait;
        answer_async(r, st);
    } else {
        respond_accepted(r, st);
    }
    if (r->prefer.respond_async && gbx_gw_is_sync(rt->loc, r->method) && r->response)
        MHD_add_response_header(r->response, "Preference-Applied", "respond-async");
done:
    /* Not accepted, or a replay answering with the first request's status. */
    if (callback_kept && (!st || *replayed)) gbx_store_callback_done(srv->store, sid);
    gbx_status_free(st);
    free(workload);
    free(status_base);
    free(resource_uri);
}

static void process_status(gw_request *r, routed *rt) {
    gbx_gw_viewer who = {gbx_gw_status_scope(rt->loc->prefix), r->verified ? r->who.name : NULL,
                         r->verified && (r->who.scopes & GBX_GW_SCOPE_ADMIN)};
    if (r->method == GBX_GW_POST) {
        json_t *body = NULL;
        int code = 0;
        gbx_err e = gbx_gw_status_post(&body, &code, r->srv->jm, &who, rt->uri, r->body, r->body_len);
        if (e != GBX_OK) {
            respond_last_error(r, e);
            return;
        }
        respond_json(r, (unsigned)code, body);
        if (code == MHD_HTTP_ACCEPTED && r->response) {
            const char *location = json_string_value(json_object_get(body, "status_uri"));
            if (location) MHD_add_response_header(r->response, MHD_HTTP_HEADER_LOCATION, location);
        }
        json_decref(body);
        /* A job rescheduled to an earlier time must not wait for the
         * scheduler's next look. */
        if (code == MHD_HTTP_OK) gbx_gw_scheduler_wake(r->srv->scheduler);
        return;
    }
    if (r->method != GBX_GW_GET && r->method != GBX_GW_HEAD) {
        respond_error(r, GBX_ERR_METHOD_NOT_ALLOWED, "the status resource allows GET, HEAD and POST");
        if (r->response) MHD_add_response_header(r->response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD, POST");
        return;
    }
    json_t *args = gbx_uri_arguments(rt->uri);
    if (json_array_size(args) == 1) {
        /* Kept in the request: a long-poll reads it again when woken. */
        snprintf(r->wait_id, sizeof r->wait_id, "%s", json_string_value(json_array_get(args, 0)));
        r->viewer = (gbx_gw_viewer){who.scope, r->verified ? r->who.name : NULL, who.admin};
        r->wait_deadline = r->start + r->prefer.wait;
        answer_status(r);
        return;
    }
    json_t *body = NULL;
    gbx_err e = gbx_gw_status_get(&body, r->srv->store, &who, rt->uri);
    respond_read(r, e, body);
}

/* A gbx_gw_known_fn: handlers that workers registered with gearmand (the
 * job manager caches gearmand's answer and asks at most once a second). */
static gbx_err known_to_gearmand(bool *known, void *jm, const char *name) {
    return gbx_jobmanager_handler_known(known, jm, name);
}

/* /metrics, /healthz and /readyz (gw_metrics.h): true when answered. */
static bool process_operator(gw_request *r) {
    unsigned code = 0;
    char *body = NULL;
    size_t len = 0;
    const char *type = NULL;
    if (!gbx_gw_metrics_answer(r->srv->metrics, false, r->method_name, r->path, r->request_url,
                               &code, &body, &len, &type))
        return false;
    r->location = GBX_GW_LOCATION_GATEWAY;
    struct MHD_Response *resp = body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
                                     : NULL;
    if (!resp) {
        free(body);
        respond_error(r, GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
        return true;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    set_response(r, code, resp);
    return true;
}

/* ---- who may do what (gw_auth.h, gw_ratelimit.h) ------------------------ */

static void respond_limited(gw_request *r, unsigned retry_after, const char *what) {
    char msg[160], secs[16];
    snprintf(msg, sizeof msg, "too many requests %s: try again in %u s", what, retry_after);
    respond_error(r, MHD_HTTP_TOO_MANY_REQUESTS, msg);
    snprintf(secs, sizeof secs, "%u", retry_after);
    if (r->response) MHD_add_response_header(r->response, MHD_HTTP_HEADER_RETRY_AFTER, secs);
}

/* The client's request rate and, on a location with "auth", its
 * credentials: false when the answer (429, 401) is set.  `loc` may be NULL
 * (no location matched). */
static bool admit(gw_request *r, const gbx_gw_location *loc) {
    gbx_gw_server *srv = r->srv;
    double now = gbx_gw_now();
    unsigned wait = 0;
    bool by_address = srv->cfg->rate_limit.limit_loopback || !gbx_gw_is_loopback(r->ip);
    if (by_address && !gbx_gw_ratelimit_take(srv->per_address, r->ip, now, &wait)) {
        respond_limited(r, wait, "from this address");
        return false;
    }
    if (!loc || !loc->auth) return true;
    if (by_address && !gbx_gw_ratelimit_check(srv->failed_auth, r->ip, now, &wait)) {
        respond_limited(r, wait, "after failed authentication attempts");
        return false;
    }
    const char *authorization =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (gbx_gw_auth_verify(&r->who, loc->auth, authorization) != GBX_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", gbx_error_last()->message);
        /* Without credentials a client only asks what to send; with wrong
         * ones it is an attempt: counted, and logged (never the secret). */
        if (authorization) {
            if (by_address) gbx_gw_ratelimit_take(srv->failed_auth, r->ip, now, NULL);
            gbx_log(GBX_LOG_WARN, "authentication failed: %s %.200s from %s: %s", r->method_name,
                    r->path, r->ip, msg);
        }
        respond_error(r, GBX_ERR_UNAUTHORIZED, msg);
        if (r->response)
            MHD_add_response_header(r->response, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                    gbx_gw_auth_challenge(loc->auth));
        return false;
    }
    r->verified = true;
    char key[GBX_GW_PRINCIPAL_MAX + 256];
    snprintf(key, sizeof key, "%.200s %s", loc->prefix, r->who.name);
    if (!gbx_gw_ratelimit_take(srv->per_principal, key, now, &wait)) {
        respond_limited(r, wait, "for this principal");
        return false;
    }
    return true;
}

/* The scope the request needs (read: GET and HEAD; cancel: a change to a
 * status; write: the rest), or admin: false with 403 set without it. */
static bool permitted(gw_request *r, bool status_resource) {
    if (!r->verified) return true;
    unsigned need = r->method == GBX_GW_GET || r->method == GBX_GW_HEAD ? GBX_GW_SCOPE_READ
                    : status_resource                                   ? GBX_GW_SCOPE_CANCEL
                                                                        : GBX_GW_SCOPE_WRITE;
    if (r->who.scopes & (need | GBX_GW_SCOPE_ADMIN)) return true;
    char scope[16], msg[256];
    gbx_gw_scopes_format(scope, sizeof scope, need);
    snprintf(msg, sizeof msg, "\"%s\" may not do this: it needs the \"%s\" scope", r->who.name, scope);
    respond_error(r, GBX_ERR_FORBIDDEN, msg);
    return false;
}

/* The local address of the listener that accepted `conn` (NULL: unknown). */
static const gbx_gw_local *listener_local(gbx_gw_server *srv, struct MHD_Connection *conn) {
    size_t n = atomic_load_explicit(&srv->nlocals, memory_order_acquire);
    if (n == 1 && srv->cfg->nlisteners == 1) return &srv->locals[0];
    const union MHD_ConnectionInfo *ci = n ? MHD_get_connection_info(conn, MHD_CONNECTION_INFO_DAEMON) : NULL;
    for (size_t i = 0; ci && i < n; i++)
        if (srv->daemons[i] == ci->daemon) return &srv->locals[i];
    return NULL;
}

static void process(gw_request *r) {
    gbx_gw_server *srv = r->srv;
    const gbx_gw_config *cfg = srv->cfg;
    routed rt = {0};
    client_ip(r->ip, sizeof r->ip, r->conn);
    gbx_gw_origin origin;
    gbx_err host_err = gbx_gw_request_origin(&origin, cfg, r->conn, listener_local(srv, r->conn),
                                             host_header(r));
    r->request_url = gbx_gw_origin_url(&origin, r->path);
    if (r->refused || host_err != GBX_OK) {
        respond_last_error(r, r->refused ? r->refused : host_err);
        return;
    }

    struct MHD_Response *page = NULL;
    unsigned page_status = 0;
    if (gbx_gw_dashboard_answer(&page, &page_status, cfg, r->method_name, r->path,
                                MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                            MHD_HTTP_HEADER_IF_NONE_MATCH))) {
        set_response(r, page_status, page);
        return;
    }
    if (process_operator(r)) return;
    if (!r->method) {
        char msg[128];
        snprintf(msg, sizeof msg, "method %.32s is not allowed (allowed: " ALLOWED_METHODS ")",
                 r->method_name);
        respond_error(r, GBX_ERR_METHOD_NOT_ALLOWED, msg);
        if (r->response) MHD_add_response_header(r->response, MHD_HTTP_HEADER_ALLOW, ALLOWED_METHODS);
        return;
    }
    const char *rest = NULL;
    int li = gbx_gw_match_location(cfg->locations, cfg->nlocations, r->path, &rest);
    if (!admit(r, li >= 0 ? &cfg->locations[li] : NULL)) return;
    if (li < 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "no service at \"%.200s\"", r->path);
        respond_error(r, GBX_ERR_NOT_FOUND, msg);
        return;
    }
    rt.loc = &cfg->locations[li];
    r->location = li;
    gbx_err e = gbx_uri_parse(&rt.uri, *rest ? rest : "/", r->query);
    if (e == GBX_OK) e = gbx_gw_check_uri(rt.uri);
    if (e != GBX_OK) {
        respond_last_error(r, e);
        goto done;
    }
    size_t nargs = json_array_size(gbx_uri_arguments(rt.uri));
    r->operation = gbx_operation_for_method(r->method_name, nargs > 0);
    if (r->too_large) {
        char msg[128];
        snprintf(msg, sizeof msg, "request body larger than %zu bytes", cfg->max_body_bytes);
        respond_error(r, GBX_ERR_REQUEST_ENTITY_TOO_LARGE, msg);
        goto done;
    }
    if ((e = gbx_gw_check_json_depth(r->body, r->body_len, cfg->limits.max_json_depth)) != GBX_OK) {
        respond_last_error(r, e);
        goto done;
    }
    if ((e = gbx_gw_base_uri(&rt.base_uri, rt.loc, &origin, gbx_uri_version(rt.uri))) != GBX_OK) {
        respond_last_error(r, e);
        goto done;
    }
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, collect_prefer, &r->prefer);
    bool status_resource = strcmp(gbx_uri_resource(rt.uri), GBX_GW_STATUS_RESOURCE) == 0 &&
                           strcmp(gbx_uri_version(rt.uri), GBX_GW_STATUS_VERSION) == 0;
    if (!permitted(r, status_resource)) goto done;
    if (status_resource) {
        if (nargs == 1 && (e = gbx_gw_check_status_id(json_string_value(
                               json_array_get(gbx_uri_arguments(rt.uri), 0)))) != GBX_OK)
            respond_last_error(r, e);
        else
            process_status(r, &rt);
        goto done;
    }
    if ((e = gbx_gw_resolve_handler(&rt.handler, rt.loc, r->method_name, gbx_uri_resource(rt.uri),
                                    gbx_uri_version(rt.uri), known_to_gearmand, srv->jm)) != GBX_OK) {
        respond_last_error(r, e);
        goto done;
    }
    json_t *violations = NULL;
    e = gbx_gw_validate_body(&violations, rt.loc, r->operation, gbx_uri_resource(rt.uri),
                             gbx_uri_version(rt.uri), r->body, r->body_len);
    if (e != GBX_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", gbx_error_last()->message);
        respond_problem(r, (int)e, msg, violations);
        json_decref(violations);
        goto done;
    }
    json_decref(violations);
    rt.arguments = json_deep_copy(gbx_uri_arguments(rt.uri));
    if (!rt.arguments) {
        respond_error(r, GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
        goto done;
    }
    if (nargs > 0) {
        rt.resource_name = strdup(json_string_value(json_array_get(rt.arguments, 0)));
    } else if (r->method == GBX_GW_POST) {
        /* POST without a name creates a resource named by the gateway; the
         * worker sees it as if the client had named it. */
        char id[GBX_ID_MAX];
        if ((e = gbx_id_for_resource(id, sizeof id, gbx_uri_resource(rt.uri))) != GBX_OK) {
            respond_last_error(r, e);
            goto done;
        }
        rt.resource_name = strdup(id);
        if (rt.resource_name) json_array_append_new(rt.arguments, json_string(id));
    }
    if ((nargs > 0 || r->method == GBX_GW_POST) && !rt.resource_name) {
        respond_error(r, GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
        goto done;
    }
    if (gbx_gw_is_sync(rt.loc, r->method) && !r->prefer.respond_async)
        process_sync(r, &rt);
    else
        process_async(r, &rt);
done:
    routed_clear(&rt);
}

/* ---- the access handler --------------------------------------------------- */

static enum MHD_Result queue(gw_request *r) {
    if (!r->response) respond_error(r, GBX_ERR_INTERNAL_SERVER_ERROR, "no answer could be built");
    if (!r->response) return MHD_NO;
    gbx_gw_watchdog_request_in(r->conn);
    if (r->traceparent[0] && !MHD_get_response_header(r->response, "traceparent"))
        MHD_add_response_header(r->response, "traceparent", r->traceparent);
    enum MHD_Result ok = MHD_queue_response(r->conn, r->status, r->response);
    MHD_destroy_response(r->response);
    r->response = NULL;
    return ok;
}

static bool expects_continue(struct MHD_Connection *conn) {
    const char *expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
    return expect && strcasecmp(expect, "100-continue") == 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls) {
    gbx_gw_server *srv = cls;
    gw_request *r = *con_cls;
    if (!r) {
        r = on_uri(srv, url, conn); /* the URI callback could not allocate */
        if (!r) return MHD_NO;
        *con_cls = r;
    }
    if (!r->headers_seen) {
        r->headers_seen = true;
        r->conn = conn;
        r->method_name = method;
        r->method = gbx_gw_method_from_name(method);
        size_t uri_len = strlen(r->path) + (r->query ? strlen(r->query) + 1 : 0);
        if ((r->refused = gbx_gw_check_head(&srv->cfg->limits, conn, method, version, uri_len)) != GBX_OK) {
            r->processed = true; /* answered now; the connection then closes */
            process(r);
            return queue(r);
        }
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            /* MHD has rejected a malformed Content-Length already; what is
             * left to catch is a number too large even for strtoull. */
            char *end;
            errno = 0;
            unsigned long long len = strtoull(cl, &end, 10);
            bool huge = errno == ERANGE || len > (unsigned long long)srv->cfg->max_body_bytes + DRAIN_LIMIT;
            if (huge || len > srv->cfg->max_body_bytes) {
                r->too_large = true;
                /* Refuse now rather than read what we will not keep; the
                 * connection then closes, which is right for such a client. */
                if (huge || expects_continue(conn)) {
                    r->processed = true;
                    process(r);
                    return queue(r);
                }
            }
        }
        return MHD_YES;
    }
    if (*upload_size > 0) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (r->processed) return MHD_YES; /* answered early; MHD discards the rest */
        if (!r->too_large && r->body_len + n > srv->cfg->max_body_bytes) {
            r->too_large = true;
            free(r->body);
            r->body = NULL;
            r->discarded = r->body_len;
            r->body_len = r->body_cap = 0;
        }
        if (r->too_large) {
            r->discarded += n;
            if (r->discarded > srv->cfg->max_body_bytes + DRAIN_LIMIT) {
                r->processed = true;
                process(r);
                return queue(r);
            }
            return MHD_YES;
        }
        if (r->body_len + n + 1 > r->body_cap) {
            size_t cap = r->body_cap ? r->body_cap : 4096;
            while (cap < r->body_len + n + 1) cap *= 2;
            if (cap > srv->cfg->max_body_bytes + 1) cap = srv->cfg->max_body_bytes + 1;
            char *p = realloc(r->body, cap);
            if (!p) return MHD_NO;
            r->body = p;
            r->body_cap = cap;
        }
        memcpy(r->body + r->body_len, upload_data, n);
        r->body_len += n;
        r->body[r->body_len] = '\0';
        return MHD_YES;
    }
    /* The request is complete. */
    gbx_gw_watchdog_request_in(conn);
    int sync = atomic_load_explicit(&r->sync, memory_order_acquire);
    if (sync == SYNC_ANSWERED) {
        atomic_store(&r->sync, SYNC_NONE);
        atomic_fetch_sub(&srv->suspended, 1);
        if (r->waiting == WAIT_JOB) {
            respond_sync(r);
        } else {
            answer_waiting(r);
            if (atomic_load(&r->sync) != SYNC_NONE) return MHD_YES; /* waits on */
        }
        return queue(r);
    }
    if (sync == SYNC_WAITING) return MHD_YES; /* not ours to answer yet */
    if (r->processed) return r->response ? queue(r) : MHD_YES;
    r->processed = true;
    process(r);
    if (atomic_load(&r->sync) != SYNC_NONE) return MHD_YES; /* suspended */
    return queue(r);
}

/* ---- life cycle ----------------------------------------------------------- */

/* The gauges only the server knows (a gbx_gw_gauges_fn). */
static void server_gauges(void *ctx, gbx_gw_gauges *out) {
    gbx_gw_server *srv = ctx;
    out->connections = 0;
    for (size_t i = 0; i < srv->ndaemons; i++) {
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(srv->daemons[i], MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (info) out->connections += info->num_connections;
    }
    out->suspended = atomic_load(&srv->suspended);
    out->scheduler_lag = gbx_gw_scheduler_lag(srv->scheduler);
}

gbx_err gbx_gw_server_new(gbx_gw_server **out, const gbx_gw_config *cfg, gbx_store *store) {
    *out = NULL;
    gbx_gw_server *srv = calloc(1, sizeof *srv);
    if (!srv) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    srv->cfg = cfg;
    srv->store = store;
    atomic_init(&srv->suspended, 0);
    atomic_init(&srv->nlocals, 0);
    atomic_init(&srv->answered, 0);
    gbx_err e = gbx_gw_dispatcher_new(&srv->dispatcher, cfg->gearman_servers);
    if (e == GBX_OK) e = gbx_jobmanager_new(&srv->jm, cfg->cfg, store);
    if (e == GBX_OK) e = gbx_gw_watch_new(&srv->watch, store);
    if (e == GBX_OK) e = gbx_gw_metrics_new(&srv->metrics, cfg, store, server_gauges, srv);
    const gbx_gw_rate_config *rl = &cfg->rate_limit;
    if (e == GBX_OK) e = gbx_gw_ratelimit_new(&srv->per_address, rl->per_address, rl->burst);
    if (e == GBX_OK) e = gbx_gw_ratelimit_new(&srv->per_principal, rl->per_principal, rl->burst);
    if (e == GBX_OK) e = gbx_gw_ratelimit_new(&srv->failed_auth, rl->failed_per_minute / 60.0, 60.0);
    if (e != GBX_OK) {
        gbx_gw_server_free(srv);
        return e;
    }
    *out = srv;
    return GBX_OK;
}

/* Starts the daemon of one listener (HTTPS when it has a certificate). */
static gbx_err start_listener(gbx_gw_server *srv, const gbx_gw_listener *l, struct MHD_Daemon **out) {
    const gbx_gw_config *cfg = srv->cfg;
    struct sockaddr_storage addr;
    bool v6 = false;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                         MHD_USE_ERROR_LOG | gbx_gw_tls_flags(l);
    gbx_err e = gbx_gw_listen_address(&addr, &v6, l->address, l->port, "listen.address");
    if (e != GBX_OK) return e;
    if (v6) flags |= MHD_USE_IPv6;
    struct MHD_OptionItem tls[GBX_GW_TLS_OPTIONS];
    gbx_gw_tls_options(tls, l);
    *out = MHD_start_daemon(
        flags, (uint16_t)l->port, NULL, NULL, gbx_gw_guarded_request, &srv->guarded,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)cfg->threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->connection_timeout,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)cfg->limits.max_connections_per_address,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, gbx_gw_limits_pool_bytes(&cfg->limits),
        MHD_OPTION_NOTIFY_CONNECTION, gbx_gw_watchdog_notify, srv->watchdog,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)LISTEN_BACKLOG,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
        MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_ARRAY, tls,
        MHD_OPTION_END);
    if (!*out)
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                             "cannot listen on %s port %d (address in use, no permission%s?)", l->address,
                             l->port, l->cert_pem ? ", or a certificate and key that do not fit" : "");
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(*out, MHD_DAEMON_INFO_BIND_PORT);
    gbx_log(GBX_LOG_INFO, "listening on %s://%s%s%s:%d", l->cert_pem ? "https" : "http",
            flags & MHD_USE_IPv6 ? "[" : "", l->address, flags & MHD_USE_IPv6 ? "]" : "",
            info ? info->port : l->port);
    return GBX_OK;
}

gbx_err gbx_gw_server_start(gbx_gw_server *srv) {
    const gbx_gw_config *cfg = srv->cfg;
    gbx_err e = gbx_gw_watchdog_new(&srv->watchdog, cfg->limits.request_timeout);
    if (e != GBX_OK) return e;
    srv->guarded = (gbx_gw_handler){on_request, srv};
    for (size_t i = 0; i < cfg->nlisteners && i < GBX_GW_MAX_LISTENERS; i++) {
        e = start_listener(srv, &cfg->listeners[i], &srv->daemons[i]);
        if (e != GBX_OK) return e;
        const union MHD_DaemonInfo *fd = MHD_get_daemon_info(srv->daemons[i], MHD_DAEMON_INFO_LISTEN_FD);
        gbx_gw_listener_local(&srv->locals[i], fd ? fd->listen_fd : -1);
        srv->ndaemons = i + 1;
        atomic_store_explicit(&srv->nlocals, srv->ndaemons, memory_order_release);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemons[0], MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : cfg->port;
    e = gbx_gw_metrics_start(srv->metrics);
    if (e != GBX_OK) return e;
    if (cfg->scheduler) {
        e = gbx_gw_scheduler_start(&srv->scheduler, srv->jm);
        if (e == GBX_OK) e = gbx_gw_callbacks_start(&srv->callbacks, cfg, srv->store);
        if (e != GBX_OK) return e;
    }
    return GBX_OK;
}

/* Answers after which the next tick hands the memory their requests freed
 * back to the system: after a burst of waiting requests the heap of each
 * thread that served them is left with free pages between live blocks,
 * which glibc keeps otherwise (docs/benchmarks.md, "Memory of waiting
 * requests"). */
#define TRIM_AFTER_ANSWERS 256

double gbx_gw_server_tick(gbx_gw_server *srv) {
    if (!srv) return 1.0;
    if (atomic_load_explicit(&srv->answered, memory_order_relaxed) >= TRIM_AFTER_ANSWERS) {
        atomic_store_explicit(&srv->answered, 0, memory_order_relaxed);
        malloc_trim(0);
    }
    return srv->watchdog ? gbx_gw_watchdog_tick(srv->watchdog) : 1.0;
}

int gbx_gw_server_port(const gbx_gw_server *srv) { return srv ? srv->port : 0; }

struct MHD_Daemon *gbx_gw_server_daemon(const gbx_gw_server *srv) { return srv && srv->ndaemons > 0 ? srv->daemons[0] : NULL; }

static void wait_until(gbx_gw_server *srv, double seconds, bool dispatcher_only) {
    double end = gbx_gw_now() + seconds;
    while (gbx_gw_now() < end) {
        if (dispatcher_only ? gbx_gw_dispatcher_pending(srv->dispatcher) == 0
                            : atomic_load(&srv->suspended) == 0)
            return;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

void gbx_gw_server_stop(gbx_gw_server *srv, double grace) {
    if (!srv || srv->stopped) return;
    srv->stopped = true;
    /* Due jobs wait in the store for the next gateway.  Only stopped here:
     * HTTP threads may still wake it (a reschedule during the grace); it is
     * freed once they have ended. */
    gbx_gw_scheduler_stop(srv->scheduler);
    gbx_gw_callbacks_free(srv->callbacks);
    srv->callbacks = NULL;
    gbx_gw_metrics_stop(srv->metrics);
    if (srv->ndaemons > 0) {
        /* Stop accepting, and let go of the ports at once so that a new
         * gateway can take them while this one finishes. */
        for (size_t i = 0; i < srv->ndaemons; i++) {
            MHD_socket fd = MHD_quiesce_daemon(srv->daemons[i]);
            if (fd != MHD_INVALID_SOCKET) close(fd);
        }
        /* Sync requests in flight: let their workers answer for a while. */
        wait_until(srv, grace, true);
    }
    /* The rest get 503 from the dispatcher, which resumes them, and
     * long-polls their answer as it is now... */
    gbx_gw_dispatcher_stop(srv->dispatcher);
    gbx_gw_watch_stop(srv->watch);
    if (srv->ndaemons > 0) {
        /* ...and MHD needs a moment to send those answers. */
        wait_until(srv, 2.0, false);
        for (size_t i = 0; i < srv->ndaemons; i++) MHD_stop_daemon(srv->daemons[i]);
        srv->ndaemons = 0;
    }
    gbx_gw_watchdog_free(srv->watchdog);
    srv->watchdog = NULL;
    gbx_gw_scheduler_free(srv->scheduler);
    srv->scheduler = NULL;
}

void gbx_gw_server_free(gbx_gw_server *srv) {
    if (!srv) return;
    gbx_gw_server_stop(srv, 0);
    gbx_gw_dispatcher_free(srv->dispatcher);
    gbx_gw_watch_free(srv->watch);
    gbx_jobmanager_free(srv->jm);
    gbx_gw_metrics_free(srv->metrics);
    gbx_gw_ratelimit_free(srv->per_address);
    gbx_gw_ratelimit_free(srv->per_principal);
    gbx_gw_ratelimit_free(srv->failed_auth);
    free(srv);
}
