/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_limits.c - limits against abuse and checks on hostile input. */
#define _GNU_SOURCE /* RTLD_NEXT */
#include "gw_limits.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "gearbox/id.h"
#include "gearbox/json.h"
#include "gearbox/log.h"
#include "gearbox/response.h"
#include "gw_config.h"
#include "gw_util.h"

#define DEFAULT_PER_ADDRESS 1024
#define DEFAULT_REQUEST_TIMEOUT 30.0
/* The head limits size libmicrohttpd's memory pool, which every open
 * connection holds in full once it has been answered (the pool is zeroed
 * for the next request): with these, 12 KiB a connection
 * (gbx_gw_limits_pool_bytes; docs/security.md#limits). */
#define DEFAULT_MAX_HEADERS 32
#define DEFAULT_MAX_HEADER_BYTES (4u * 1024u)
#define DEFAULT_MAX_URI_BYTES (4u * 1024u)
#define DEFAULT_MAX_JSON_DEPTH 512
/* Not in Gearbox's table of codes: its messages read "ERROR [431]: ...". */
#define ERR_HEADERS_TOO_LARGE ((gbx_err)MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE)
/* What libmicrohttpd keeps per header field besides its bytes, and what it
 * needs besides the head: the request line's method and version, and the
 * answer's status line and headers, which it builds in the same pool. */
#define POOL_PER_HEADER 64u
#define POOL_SPARE (2u * 1024u)

/* ---- configuration ---------------------------------------------------------- */

gbx_err gbx_gw_limits_load(gbx_gw_limits *out, const gbx_config *cfg) {
    static const char *const known[] = {"max_connections_per_address", "request_timeout", "max_headers",
                                        "max_header_bytes", "max_uri_bytes", "max_json_depth"};
    json_t *section = gbx_config_get(cfg, "limits");
    if (section && !json_is_object(section))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "\"limits\" must be an object");
    const char *key;
    json_t *val;
    json_object_foreach(section, key, val) {
        bool ok = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) ok = ok || strcmp(key, known[i]) == 0;
        if (!ok) return gbx_error_set(GBX_ERR_BAD_REQUEST, "unknown key \"limits.%s\"", key);
    }
    long long n;
    gbx_err e;
    if ((e = gbx_gw_config_int(&n, cfg, "limits.max_connections_per_address", DEFAULT_PER_ADDRESS, 0,
                               1000000)) != GBX_OK)
        return e;
    out->max_connections_per_address = (unsigned)n;
    if ((e = gbx_gw_config_seconds(&out->request_timeout, cfg, "limits.request_timeout",
                                   DEFAULT_REQUEST_TIMEOUT)) != GBX_OK)
        return e;
    if (out->request_timeout <= 0)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "\"limits.request_timeout\" must be more than 0 seconds");
    if ((e = gbx_gw_config_int(&n, cfg, "limits.max_headers", DEFAULT_MAX_HEADERS, 8, 10000)) != GBX_OK)
        return e;
    out->max_headers = (unsigned)n;
    if ((e = gbx_gw_config_int(&n, cfg, "limits.max_header_bytes", DEFAULT_MAX_HEADER_BYTES, 1024,
                               1024 * 1024)) != GBX_OK)
        return e;
    out->max_header_bytes = (size_t)n;
    if ((e = gbx_gw_config_int(&n, cfg, "limits.max_uri_bytes", DEFAULT_MAX_URI_BYTES, 256,
                               1024 * 1024)) != GBX_OK)
        return e;
    out->max_uri_bytes = (size_t)n;
    if ((e = gbx_gw_config_int(&n, cfg, "limits.max_json_depth", DEFAULT_MAX_JSON_DEPTH, 1, 100000)) !=
        GBX_OK)
        return e;
    out->max_json_depth = (unsigned)n;
    return GBX_OK;
}

size_t gbx_gw_limits_pool_bytes(const gbx_gw_limits *l) {
    return l->max_uri_bytes + l->max_header_bytes + (size_t)l->max_headers * POOL_PER_HEADER + POOL_SPARE;
}

/* ---- the request's head ------------------------------------------------------ */

typedef struct head_scan {
    const gbx_gw_limits *limits;
    unsigned count;
    size_t bytes;
    const char *content_length;   /* the first one */
    bool conflicting_length;
    bool chunked;
    const char *prev_end;         /* end of the previous field's value (or of the request line) */
    char bad[200];                /* the first header that is refused (400) */
} head_scan;

static bool has_control(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) return true;
    }
    return false;
}

/* RFC 9110 token characters. */
static bool is_token(const char *s) {
    if (!*s) return false;
    for (; *s; s++)
        if (!strchr("!#$%&'*+-.^_`|~", *s) && !((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
                                                  (*s >= 'A' && *s <= 'Z')))
            return false;
    return true;
}

static bool is_utf8(const char *s, size_t n) {
    json_t *j = json_stringn(s, n);
    json_decref(j);
    return j != NULL;
}

/* libmicrohttpd keeps the request's head in its read buffer, header fields
 * in the order they came, each line's CR LF (or LF) overwritten with NULs,
 * and measures values with strlen: a NUL inside a value would cut it
 * silently.  So the next field's name must start right after the one or two
 * NULs ending a value, and after the last value only the NULs of its line's
 * end and of the empty line may come before the head's end (`next_key`
 * NULL, `head_end` the method plus the head's size; unknown: one NUL more
 * is all that can be checked).  This also refuses a folded (obs-fold) line,
 * which libmicrohttpd copies elsewhere, as RFC 9112 5.2 allows, and a line
 * that libmicrohttpd would take for the head's end (one starting with ':'),
 * whose rest would be read as a further request. */
static bool hidden_bytes(const char *prev_end, const char *next_key, const char *head_end) {
    if (!prev_end) return false;
    const char *end = next_key;
    size_t most = 2;
    if (!next_key) {
        if (!head_end) return prev_end[1] != '\0';
        end = head_end;
        most = 4;
    }
    if (end <= prev_end || (size_t)(end - prev_end) > most || (!next_key && end - prev_end < 2)) return true;
    for (const char *p = prev_end; p < end; p++)
        if (*p) return true;
    return false;
}

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
                                   const char *value, size_t value_size) {
    (void)kind;
    head_scan *s = cls;
    if (!value) value = "";
    s->count++;
    s->bytes += key_size + value_size + 4;
    if (s->bad[0]) return MHD_YES;
    if (hidden_bytes(s->prev_end, key, NULL)) {
        snprintf(s->bad, sizeof s->bad, "a header field holds a NUL byte or is folded over lines");
        return MHD_YES;
    }
    s->prev_end = value + value_size;
    if (!is_token(key))
        snprintf(s->bad, sizeof s->bad, "header name \"%.64s\" is not an HTTP token", key);
    else if (has_control(value, value_size))
        snprintf(s->bad, sizeof s->bad, "header \"%.64s\" holds a control character", key);
    else if (!is_utf8(key, key_size) || !is_utf8(value, value_size))
        snprintf(s->bad, sizeof s->bad, "header \"%.64s\" is not valid UTF-8", key);
    else if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        if (s->content_length && strcmp(s->content_length, value) != 0) s->conflicting_length = true;
        if (!s->content_length) s->content_length = value;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        s->chunked = true;
    }
    return MHD_YES;
}

static struct watched *watched_of(struct MHD_Connection *conn);
static void mark_head_seen(struct watched *w, bool seen);

gbx_err gbx_gw_check_head(const gbx_gw_limits *limits, struct MHD_Connection *conn, const char *method,
                          const char *version, size_t uri_len) {
    mark_head_seen(watched_of(conn), true);
    if (uri_len > limits->max_uri_bytes)
        return gbx_error_set(GBX_ERR_REQUEST_URI_TOO_LONG, "request URI longer than %zu bytes",
                             limits->max_uri_bytes);
    /* The first field starts right after the request line. */
    head_scan s = {.limits = limits, .prev_end = version && *version ? version + strlen(version) : NULL};
    MHD_get_connection_values_n(conn, MHD_HEADER_KIND, scan_header, &s);
    const union MHD_ConnectionInfo *size = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    if (!s.bad[0] && hidden_bytes(s.prev_end, NULL, size && method ? method + size->header_size : NULL))
        snprintf(s.bad, sizeof s.bad, "a header field holds a NUL byte, or a line ends the head early");
    if (s.count > limits->max_headers)
        return gbx_error_set(ERR_HEADERS_TOO_LARGE, "more than %u header fields",
                             limits->max_headers);
    if (s.bytes > limits->max_header_bytes)
        return gbx_error_set(ERR_HEADERS_TOO_LARGE,
                             "header fields larger than %zu bytes in all", limits->max_header_bytes);
    if (s.bad[0]) return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s", s.bad);
    if (s.conflicting_length)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "conflicting Content-Length headers");
    if (s.content_length && s.chunked)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "both Content-Length and Transfer-Encoding");
    return GBX_OK;
}

/* ---- bodies and URIs ----------------------------------------------------------- */

gbx_err gbx_gw_check_json_depth(const char *body, size_t len, unsigned max) {
    size_t i = 0;
    while (i < len && strchr(" \t\r\n", body[i]) && body[i]) i++;
    if (i == len || (body[i] != '{' && body[i] != '[')) return GBX_OK;
    unsigned depth = 0;
    bool in_string = false;
    for (; i < len; i++) {
        char c = body[i];
        if (in_string) {
            if (c == '\\') i++;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max)
                return gbx_error_set(GBX_ERR_BAD_REQUEST, "JSON body nested deeper than %u levels", max);
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return GBX_OK;
}

static gbx_err check_argument(const char *arg) {
    size_t n = strlen(arg);
    if (strcmp(arg, ".") == 0 || strcmp(arg, "..") == 0 || strpbrk(arg, "/\\") || has_control(arg, n))
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "invalid resource name \"%.200s\": a path argument may not be \".\" or "
                             "\"..\", nor hold '/', '\\' or control characters",
                             arg);
    return GBX_OK;
}

static gbx_err check_params(const json_t *params, const char *what) {
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)params, key, value) {
        const char *v = json_string_value(value);
        if (!*key || has_control(key, strlen(key)) || (v && has_control(v, json_string_length(value))))
            return gbx_error_set(GBX_ERR_BAD_REQUEST,
                                 "%s parameter \"%.100s\": empty name or control characters", what, key);
    }
    return GBX_OK;
}

gbx_err gbx_gw_check_uri(const gbx_uri *uri) {
    size_t i;
    json_t *arg;
    json_array_foreach(gbx_uri_arguments(uri), i, arg) {
        gbx_err e = check_argument(json_string_value(arg));
        if (e != GBX_OK) return e;
    }
    gbx_err e = check_params(gbx_uri_matrix(uri), "matrix");
    if (e == GBX_OK) e = check_params(gbx_uri_query(uri), "query");
    return e;
}

gbx_err gbx_gw_check_status_id(const char *id) {
    if (gbx_id_is_valid(id, "s")) return GBX_OK;
    return gbx_error_set(GBX_ERR_NOT_FOUND, "no status \"%.100s\": not a status id (s- and 26 characters "
                         "of lowercase Crockford base32)", id);
}

/* ---- headers from workers ------------------------------------------------------- */

bool gbx_gw_worker_header_ok(const char *name, const json_t *value, bool allow_set_cookie,
                             const char **why) {
    /* Hop-by-hop headers besides the framing ones (RFC 9110 7.6.1). */
    static const char *const hop[] = {"Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization"};
    *why = NULL;
    if (!json_is_string(value)) *why = "its value is not a string";
    else if (gbx_header_is_framing(name)) *why = "framing headers are the gateway's";
    else if (!is_token(name)) *why = "its name is not an HTTP token";
    else if (strpbrk(json_string_value(value), "\r\n") ||
             strlen(json_string_value(value)) != json_string_length(value))
        *why = "its value holds CR, LF or NUL";
    else if (!allow_set_cookie && strcasecmp(name, "Set-Cookie") == 0)
        *why = "the location does not allow Set-Cookie (allow_set_cookie)";
    for (size_t i = 0; !*why && i < sizeof hop / sizeof hop[0]; i++)
        if (strcasecmp(name, hop[i]) == 0) *why = "hop-by-hop headers are the gateway's";
    return *why == NULL;
}

/* ---- the request-timeout watchdog ------------------------------------------------ */

/* One connection libmicrohttpd has open.  The list is the watchdog's,
 * under its lock; `deadline` (monotonic ms, 0 = none) is set by the HTTP
 * threads without it. */
struct watched {
    struct watched *prev, *next;
    struct gbx_gw_watchdog *wd;
    MHD_socket fd;
    atomic_llong deadline;
    atomic_bool head_seen;  /* the access handler has had this request's head */
};
typedef struct watched watched;

static void mark_head_seen(watched *w, bool seen) {
    if (w) atomic_store(&w->head_seen, seen);
}

struct gbx_gw_watchdog {
    pthread_mutex_t lock;
    watched *head;
    long long timeout_ms;
};

static long long now_ms(void) { return (long long)(gbx_gw_now() * 1000.0); }

double gbx_gw_watchdog_tick(gbx_gw_watchdog *wd) {
    /* A quarter of the timeout between looks, within 50 ms and 1 s. */
    long long period = wd->timeout_ms / 4;
    if (period < 50) period = 50;
    if (period > 1000) period = 1000;
    pthread_mutex_lock(&wd->lock);
    long long now = now_ms();
    unsigned dropped = 0;
    for (watched *w = wd->head; w; w = w->next) {
        long long d = atomic_load(&w->deadline);
        if (d == 0 || d > now) continue;
        atomic_store(&w->deadline, 0);
        /* libmicrohttpd sees the end of the stream and closes the
         * connection itself; the socket stays open until it has been
         * told (notify CLOSED, under this lock), so fd is still ours. */
        shutdown(w->fd, SHUT_RDWR);
        dropped++;
    }
    pthread_mutex_unlock(&wd->lock);
    if (dropped)
        gbx_log(GBX_LOG_INFO, "dropped %u connection%s that sent no complete request within %.1f s",
                dropped, dropped == 1 ? "" : "s", (double)wd->timeout_ms / 1000.0);
    return (double)period / 1000.0;
}

gbx_err gbx_gw_watchdog_new(gbx_gw_watchdog **out, double timeout) {
    *out = NULL;
    gbx_gw_watchdog *wd = calloc(1, sizeof *wd);
    if (!wd) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    pthread_mutex_init(&wd->lock, NULL);
    wd->timeout_ms = (long long)(timeout * 1000.0);
    *out = wd;
    return GBX_OK;
}

void gbx_gw_watchdog_free(gbx_gw_watchdog *wd) {
    if (!wd) return;
    while (wd->head) {
        watched *w = wd->head;
        wd->head = w->next;
        free(w);
    }
    pthread_mutex_destroy(&wd->lock);
    free(wd);
}

void gbx_gw_watchdog_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                            enum MHD_ConnectionNotificationCode code) {
    gbx_gw_watchdog *wd = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        watched *w = info ? calloc(1, sizeof *w) : NULL;
        *socket_context = w;
        if (!w) return;
        w->wd = wd;
        w->fd = info->connect_fd;
        atomic_init(&w->deadline, now_ms() + wd->timeout_ms);
        pthread_mutex_lock(&wd->lock);
        w->next = wd->head;
        if (wd->head) wd->head->prev = w;
        wd->head = w;
        pthread_mutex_unlock(&wd->lock);
        return;
    }
    watched *w = *socket_context;
    if (!w) return;
    pthread_mutex_lock(&wd->lock);
    if (w->prev) w->prev->next = w->next;
    else wd->head = w->next;
    if (w->next) w->next->prev = w->prev;
    pthread_mutex_unlock(&wd->lock);
    free(w);
    *socket_context = NULL;
}

static watched *watched_of(struct MHD_Connection *conn) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

void gbx_gw_watchdog_request_in(struct MHD_Connection *conn) {
    watched *w = watched_of(conn);
    if (w) atomic_store(&w->deadline, 0);
}

void gbx_gw_watchdog_answered(struct MHD_Connection *conn) {
    watched *w = watched_of(conn);
    if (w) atomic_store(&w->deadline, now_ms() + w->wd->timeout_ms);
    mark_head_seen(w, false);
}

/* ---- libmicrohttpd's log -------------------------------------------------------- */

#define LOG_LINES_PER_SECOND 10

bool gbx_gw_log_budget(unsigned *suppressed) {
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static long long second;
    static unsigned used, dropped;
    long long now = (long long)gbx_gw_now();
    pthread_mutex_lock(&lock);
    *suppressed = 0;
    if (now != second) {
        *suppressed = dropped;
        second = now;
        used = dropped = 0;
    }
    bool ok = used < LOG_LINES_PER_SECOND;
    if (ok) used++;
    else dropped++;
    pthread_mutex_unlock(&lock);
    return ok;
}

/* ---- libmicrohttpd's own error answers --------------------------------------------- */

/* libmicrohttpd 0.9 answers requests it cannot parse (a malformed request
 * line or header, a head larger than its memory pool, a bad chunk) itself,
 * with a fixed HTML body, and offers no hook to change it.  It queues that
 * answer through its exported MHD_queue_response, outside of any access
 * handler; the definition below takes its place in the process (the
 * executable's symbols come first) and gives such answers the JSON error
 * body of DESIGN §3.  Answers queued inside the access handler (the
 * gateway's own) pass through untouched. */

static _Thread_local int in_handler;

enum MHD_Result gbx_gw_guarded_request(void *cls, struct MHD_Connection *conn, const char *url,
                                       const char *method, const char *version, const char *upload_data,
                                       size_t *upload_size, void **con_cls) {
    const gbx_gw_handler *h = cls;
    in_handler++;
    enum MHD_Result ok = h->fn(h->cls, conn, url, method, version, upload_data, upload_size, con_cls);
    in_handler--;
    return ok;
}

typedef enum MHD_Result (*queue_fn)(struct MHD_Connection *, unsigned int, struct MHD_Response *);

static const char *internal_message(unsigned int status) {
    switch (status) {
    case MHD_HTTP_BAD_REQUEST: return "malformed HTTP request";
    case MHD_HTTP_CONTENT_TOO_LARGE: return "request body or chunk too large";
    case MHD_HTTP_URI_TOO_LONG: return "request URI too long";
    case MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE: return "request header fields too large";
    case MHD_HTTP_HTTP_VERSION_NOT_SUPPORTED: return "HTTP version not supported";
    default: return MHD_get_reason_phrase_for(status);
    }
}

enum MHD_Result MHD_queue_response(struct MHD_Connection *connection, unsigned int status_code,
                                   struct MHD_Response *response) {
    static _Atomic(queue_fn) real;
    queue_fn fn = atomic_load(&real);
    if (!fn) {
        fn = (queue_fn)dlsym(RTLD_NEXT, "MHD_queue_response");
        if (!fn) return MHD_NO;
        atomic_store(&real, fn);
    }
    if (in_handler || status_code < 400) return fn(connection, status_code, response);
    /* A head that libmicrohttpd read in full but refuses before the
     * access handler sees it (a malformed Content-Length): 0.9.75 would
     * send such an answer's header block twice, which a client reads as a
     * garbled body.  The connection is closed without an answer instead. */
    const union MHD_ConnectionInfo *head =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    watched *w = watched_of(connection);
    if (head && head->header_size > 0 && w && !atomic_load(&w->head_seen)) return MHD_NO;
    json_t *body = NULL;
    char *text = NULL;
    struct MHD_Response *json = NULL;
    if (gbx_error_body(&body, "", "", (int)status_code, internal_message(status_code)) == GBX_OK &&
        gbx_json_dump(&text, body) == GBX_OK)
        json = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    json_decref(body);
    if (!json) {
        free(text);
        return fn(connection, status_code, response);
    }
    MHD_add_response_header(json, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    enum MHD_Result ok = fn(connection, status_code, json);
    MHD_destroy_response(json);
    return ok;
}
