/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gearbox/response.h - what a handler answers, and the error body.
 *
 * For a sync job the worker runtime serialises the response as the Gearman
 * result and the gateway turns it into the HTTP answer: code 0 -> 200, any
 * other code as is; headers copied except the framing ones (Content-Length,
 * Transfer-Encoding, Connection, Host, Keep-Alive, Upgrade, TE, Trailer),
 * which are the gateway's own.
 * Wire format: {"code": n, "headers": {k: v}, "content": "..."}; content
 * that is not valid UTF-8 (a JSON string cannot hold it) is sent base64
 * encoded with "encoding": "base64" added.
 */
#ifndef GEARBOX_RESPONSE_H
#define GEARBOX_RESPONSE_H

#include <stddef.h>
#include <jansson.h>

#include "gearbox/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gbx_response gbx_response;
struct gbx_status; /* gearbox/status.h */

/* An empty response: code 0, no headers, content "".  Free with
 * gbx_response_free. */
gbx_err gbx_response_new(gbx_response **out);
void gbx_response_free(gbx_response *resp);

/* The body; may hold NUL bytes.  The setter copies.  The getter's pointer is
 * borrowed until the next set; *len (may be NULL) receives the length. */
gbx_err gbx_response_set_content(gbx_response *resp, const char *data, size_t len);
const char *gbx_response_content(const gbx_response *resp, size_t *len);

/* Adds or replaces a header (names keep the case given; an existing header
 * of the same name in any case is replaced).  GBX_ERR_BAD_REQUEST for a name
 * that is not an HTTP token or a value with CR/LF or not UTF-8. */
gbx_err gbx_response_add_header(gbx_response *resp, const char *name, const char *value);
/* Borrowed object {name: value}. */
json_t *gbx_response_headers(const gbx_response *resp);

void gbx_response_set_code(gbx_response *resp, int code);
int gbx_response_code(const gbx_response *resp);

/* The status_uri of the async job a response answers (202 from the job
 * manager; the status id when the status has no URI, having been made
 * without a base URI).  Not part of the wire format.  The setter copies (NULL clears);
 * the getter returns NULL if none, borrowed until the next set. */
gbx_err gbx_response_set_status_uri(gbx_response *resp, const char *uri);
const char *gbx_response_status_uri(const gbx_response *resp);

/* Makes the status of gbx_response_status on its first call (NULL, with
 * the error set, when it cannot). */
typedef struct gbx_status *(*gbx_response_status_fn)(void *user);

/* The status a sync handler reports to through its response: the worker
 * runtime sets a maker of a throw-away local status (gbx_status_is_local:
 * id "st-…", in memory, never stored), as Gearbox gave sync handlers a
 * transient "st-" status; it is made the first time a handler asks, so a
 * handler that never asks costs nothing.  The status belongs to the maker's
 * owner, who must outlive the response's use of it (the worker runtime
 * frees it after the handler).  NULL `make` clears.  The getter returns
 * NULL when no maker is set (async handlers report to gbx_job_status).
 * Not part of the wire format. */
void gbx_response_set_status_maker(gbx_response *resp, gbx_response_status_fn make, void *user);
struct gbx_status *gbx_response_status(gbx_response *resp);

/* Serialises to / parses from the wire format above.  *out: malloc'ed /
 * new handle.  Parsing a malformed reply is GBX_ERR_BAD_GATEWAY ("malformed
 * worker reply: ..."): not a JSON object, "code" not an integer that is 0 or
 * 100-599, "headers" not an object of valid headers, "content" not a
 * string, a bad "encoding".  Unknown keys are ignored; headers and content
 * may be absent. */
gbx_err gbx_response_serialize(char **out, const gbx_response *resp);
gbx_err gbx_response_parse(gbx_response **out, const char *text, size_t len);

/* The error body of DESIGN §3, keys in this order:
 *   {"uri", "progress": 100, "state": "COMPLETED", "operation", "code",
 *    "messages": ["NOT_FOUND [404]: thing \"x\" not found"]}
 * `message` is formatted with gbx_error_format.  NULL uri / operation /
 * message become "".  Bytes that are not UTF-8 (client input quoted in a
 * message) become U+FFFD.  *out: new reference. */
gbx_err gbx_error_body(json_t **out, const char *uri, const char *operation, int code,
                       const char *message);

/* True for header names the gateway owns (case-insensitive). */
int gbx_header_is_framing(const char *name);

#ifdef __cplusplus
}
#endif
#endif
