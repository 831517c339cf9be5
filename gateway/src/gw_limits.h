/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_limits.h - limits against abuse and checks on hostile input
 * (docs/security.md, "Limits" and "Hostile input").
 *
 * The gateway's "limits" section:
 *   "limits": {"max_connections_per_address": 1024, "request_timeout": 30,
 *              "max_headers": 32, "max_header_bytes": 4096,
 *              "max_uri_bytes": 4096, "max_json_depth": 512}
 * (body size and connections in total stay the top-level keys
 * max_body_bytes and max_connections).
 *
 * The request path calls in here at three points: when a request's head is
 * in (gbx_gw_check_head), once its URI is parsed (gbx_gw_check_uri) and
 * before its body reaches a parser (gbx_gw_check_json_depth); answers from
 * workers go through gbx_gw_worker_header_ok.  The watchdog drops
 * connections that take too long to send a complete request, and the
 * answers libmicrohttpd makes itself for requests it cannot parse get the
 * JSON error body too (see gw_limits.c).
 */
#ifndef GBX_GW_LIMITS_H
#define GBX_GW_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <microhttpd.h>

#include "gearbox/config.h"
#include "gearbox/error.h"
#include "gearbox/uri.h"

typedef struct gbx_gw_limits {
    unsigned max_connections_per_address; /* 0: no limit */
    double request_timeout;    /* seconds a connection has to deliver a complete request */
    unsigned max_headers;      /* header fields in one request (431 beyond) */
    size_t max_header_bytes;   /* names + values of all header fields (431 beyond) */
    size_t max_uri_bytes;      /* the request target (414 beyond) */
    unsigned max_json_depth;   /* nesting of a JSON body (400 beyond) */
} gbx_gw_limits;

/* Reads the "limits" section of the gateway config (every key optional,
 * defaults above); GBX_ERR_BAD_REQUEST naming the key for a bad value. */
gbx_err gbx_gw_limits_load(gbx_gw_limits *out, const gbx_config *cfg);

/* libmicrohttpd's memory pool per connection: room for a head at the
 * limits and for the answer's head, so that the gateway (not
 * libmicrohttpd) answers one beyond them.  Every open connection holds it
 * (12 KiB with the default limits). */
size_t gbx_gw_limits_pool_bytes(const gbx_gw_limits *limits);

/* Checks a request's head once libmicrohttpd has read it (`method` and
 * `version`: the access handler's, which point into libmicrohttpd's buffer
 * where the head is): the URI length
 * (414), the number and size of header fields (431), a NUL, a control
 * character or bytes that are not UTF-8 in a header, an obsolete folded
 * header line, and conflicting or ambiguous Content-Length (400).  The
 * error is set (code and message) when the head is refused. */
gbx_err gbx_gw_check_head(const gbx_gw_limits *limits, struct MHD_Connection *conn, const char *method,
                          const char *version, size_t uri_len);

/* A JSON body nested deeper than `max` levels is a 400, found by counting
 * brackets (no recursion) before any parser sees it.  Bodies that do not
 * start with '{' or '[' are left alone. */
gbx_err gbx_gw_check_json_depth(const char *body, size_t len, unsigned max);

/* Checks what a parsed URI hands to workers: path arguments (no "." or
 * "..", no '/', '\' or control characters once decoded), matrix and query
 * keys and values (no control characters).  400 for anything else. */
gbx_err gbx_gw_check_uri(const gbx_uri *uri);

/* A status id in its exact format ("s-" + 26 lowercase Crockford base32);
 * otherwise 404 (as for an unknown id), without asking the store. */
gbx_err gbx_gw_check_status_id(const char *id);

/* True if a header from a worker's answer may reach the client: not a
 * framing or hop-by-hop header, name a token, no CR, LF or NUL in name or
 * value, and Set-Cookie only when the location allows it.  *why says what
 * is wrong otherwise (static string). */
bool gbx_gw_worker_header_ok(const char *name, const json_t *value, bool allow_set_cookie,
                             const char **why);

/* ---- the request-timeout watchdog ---------------------------------------- */

typedef struct gbx_gw_watchdog gbx_gw_watchdog;

/* The watchdog, which shuts down connections that have not delivered a
 * complete request within `timeout` seconds of opening or of their last
 * answer (slowloris, idle keep-alive).  It has no thread of its own: its
 * owner calls gbx_gw_watchdog_tick.  Free with gbx_gw_watchdog_free after
 * libmicrohttpd has stopped. */
gbx_err gbx_gw_watchdog_new(gbx_gw_watchdog **out, double timeout);
void gbx_gw_watchdog_free(gbx_gw_watchdog *wd);
/* One look: shuts down the connections past their deadline.  Returns the
 * seconds until the next look is due. */
double gbx_gw_watchdog_tick(gbx_gw_watchdog *wd);

/* MHD_OPTION_NOTIFY_CONNECTION callback; cls: the watchdog. */
void gbx_gw_watchdog_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                            enum MHD_ConnectionNotificationCode code);
/* The request on `conn` is complete (or being answered): stop its clock. */
void gbx_gw_watchdog_request_in(struct MHD_Connection *conn);
/* The answer on `conn` is done: the next request's clock starts. */
void gbx_gw_watchdog_answered(struct MHD_Connection *conn);

/* True if one more line of libmicrohttpd's log may be written now (at most
 * 10 a second, so that a flood of refused connections cannot flood the
 * log); *suppressed: lines left out in the second before, to say so. */
bool gbx_gw_log_budget(unsigned *suppressed);

/* ---- libmicrohttpd's own error answers ------------------------------------ */

/* The gateway's access handler and its closure. */
typedef struct gbx_gw_handler {
    MHD_AccessHandlerCallback fn;
    void *cls;
} gbx_gw_handler;

/* The access handler to give libmicrohttpd (cls: a gbx_gw_handler): calls
 * the gateway's, and marks the answers queued meanwhile as the gateway's
 * own; those queued outside of it are libmicrohttpd's (malformed requests),
 * which get the JSON error body. */
enum MHD_Result gbx_gw_guarded_request(void *cls, struct MHD_Connection *conn, const char *url,
                                       const char *method, const char *version, const char *upload_data,
                                       size_t *upload_size, void **con_cls);

#endif
