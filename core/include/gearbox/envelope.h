/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gearbox/envelope.h - the job envelope (DESIGN §4).
 *
 * The envelope is the JSON document carried as a Gearman workload and kept in
 * the status store beside each async job's status.  Fields:
 *   version (1), name (the handler / Gearman function), job_type ("sync" |
 *   "async"), operation, component, resource {type, name}, status (status
 *   id), parent_uri, base_uri, arguments[], matrix_arguments{},
 *   query_params{}, headers{}, environ{}, remote {ip, user}, content (the raw
 *   body as a string), on {EVENT: {name, envelope}}, event_status (the
 *   status_uri of the status that fired an event job), ticket (the gbx_queue
 *   row that carries the job), traceparent, tracestate (W3C trace context,
 *   gearbox/trace.h), attempt, deadline.
 * It has a JSON Schema of its own (core/schemas/envelope.schema.json, built
 * into the library, draft-07) and is validated whenever it is parsed.
 * Required: version, name, job_type, operation, component, resource.type;
 * no other top-level fields than those above (and content_encoding).
 *
 * Content that is not valid UTF-8 cannot be a JSON string: it is stored
 * base64-encoded with "content_encoding": "base64" beside it, and
 * gbx_envelope_content() decodes it again.  An envelope is not meant to be
 * shared between threads without a lock (the content getter caches).
 */
#ifndef GEARBOX_ENVELOPE_H
#define GEARBOX_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "gearbox/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GBX_ENVELOPE_VERSION 1

typedef struct gbx_envelope gbx_envelope;

/* A new envelope: version 1, job_type "async", empty arguments, matrix,
 * query, headers, environ and on, and content "".  *out: free with
 * gbx_envelope_free. */
gbx_err gbx_envelope_new(gbx_envelope **out);

/* Parses and validates a serialised envelope; missing collections
 * (arguments, matrix_arguments, query_params, headers, environ, on) are
 * then added empty.  GBX_ERR_BAD_REQUEST with
 * "invalid job envelope: <pointer>: <reason>" when it does not conform
 * (<pointer> is "(root)" for the top level), "invalid job envelope:
 * malformed JSON: ..." when it is not JSON. */
gbx_err gbx_envelope_parse(gbx_envelope **out, const char *text, size_t len);

/* A deep copy. */
gbx_err gbx_envelope_copy(gbx_envelope **out, const gbx_envelope *env);

void gbx_envelope_free(gbx_envelope *env);

/* Validates against the envelope schema (setters do not); errors as for
 * gbx_envelope_parse.  The built-in schema is compiled once per process, on
 * first use (thread-safe). */
gbx_err gbx_envelope_validate(const gbx_envelope *env);

/* Compact JSON.  *out: malloc'ed. */
gbx_err gbx_envelope_serialize(char **out, const gbx_envelope *env);

/* The underlying object.  Borrowed; changes through it are not validated. */
json_t *gbx_envelope_json(const gbx_envelope *env);

/* String fields by name: "name", "job_type", "operation", "component",
 * "status", "parent_uri", "base_uri", "content", "event_status" (the
 * status_uri of the status that fired the event), "ticket" (the queue row
 * carrying the job), "traceparent", "tracestate", and the nested
 * "resource.type", "resource.name", "remote.ip", "remote.user".  The getter
 * returns NULL for an absent field; borrowed until the field is set again.
 * "content" through these is the decoded body up to its first NUL; prefer
 * gbx_envelope_content.
 * The setter copies `value`; NULL removes the field.  GBX_ERR_BAD_REQUEST for
 * a field name not in that list. */
const char *gbx_envelope_get(const gbx_envelope *env, const char *field);
gbx_err gbx_envelope_set(gbx_envelope *env, const char *field, const char *value);

/* The body of a request, which may hold NUL bytes: *len receives its
 * length (may be NULL).  "" when absent; NULL only when the stored base64
 * is broken.  Borrowed until the content is set again.  The setter copies. */
const char *gbx_envelope_content(const gbx_envelope *env, size_t *len);
gbx_err gbx_envelope_set_content(gbx_envelope *env, const char *data, size_t len);

/* Collection fields: "arguments" (array of strings), "matrix_arguments",
 * "query_params", "headers", "environ" (objects of strings), "on" (object).
 * The getter returns a borrowed reference (never NULL for a valid envelope);
 * the setter takes a new reference to `value` and checks its type (and that
 * the members are strings, except for "on", which the schema checks); a NULL
 * value sets the empty collection. */
json_t *gbx_envelope_get_json(const gbx_envelope *env, const char *field);
gbx_err gbx_envelope_set_json(gbx_envelope *env, const char *field, json_t *value);

/* Numeric fields: "version", "attempt", "deadline" (unix seconds); 0 when
 * absent. */
long long gbx_envelope_get_int(const gbx_envelope *env, const char *field);
gbx_err gbx_envelope_set_int(gbx_envelope *env, const char *field, long long value);

/* True when job_type is "sync". */
bool gbx_envelope_is_sync(const gbx_envelope *env);

#ifdef __cplusplus
}
#endif
#endif
