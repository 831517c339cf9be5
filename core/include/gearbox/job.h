/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gearbox/job.h - a job as a handler sees it: its envelope plus the status
 * it reports to.
 *
 * Jobs handed to a handler are owned by the worker runtime and live until
 * the handler returns.  The job manager of [C] creates further jobs.
 */
#ifndef GEARBOX_JOB_H
#define GEARBOX_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "gearbox/envelope.h"
#include "gearbox/error.h"
#include "gearbox/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gbx_job gbx_job;

/* Job types and job events, numbered as Gearbox's Job::JOB_* and
 * Job::EVENT_* so that the bindings take them from here. */
typedef enum gbx_job_kind {
    GBX_JOB_UNKNOWN = 0,
    GBX_JOB_SYNC = 1,
    GBX_JOB_ASYNC = 2,
} gbx_job_kind;

typedef enum gbx_job_event {
    GBX_EVENT_UNKNOWN = 0,
    GBX_EVENT_COMPLETED = 1,
    GBX_EVENT_FAILED = 2,
    GBX_EVENT_SUCCEEDED = 3,
    GBX_EVENT_STARTED = 4,
    GBX_EVENT_STOPPED = 5,
    GBX_EVENT_CANCELLED = 6,
} gbx_job_event;

/* "COMPLETED" ... for an event ("UNKNOWN" otherwise); parses the same back
 * (GBX_EVENT_UNKNOWN if unknown).  Static strings. */
const char *gbx_job_event_name(gbx_job_event event);
gbx_job_event gbx_job_event_from_name(const char *name);

/* The methods of a REST job (Gearbox's HttpClient::METHOD_*). */
typedef enum gbx_http_method {
    GBX_METHOD_GET = 0,
    GBX_METHOD_DELETE = 1,
    GBX_METHOD_POST = 2,
    GBX_METHOD_PUT = 3,
    GBX_METHOD_HEAD = 4,
} gbx_http_method;

/* A job over a deep copy of `env` (for tools, tests and the job manager;
 * the worker runtime builds the jobs it hands to handlers itself).  It has
 * no status and no schema directory: json_content parses without
 * validating.  *out: free with gbx_job_free. */
gbx_err gbx_job_new(gbx_job **out, const gbx_envelope *env);

/* Frees a job made with gbx_job_new; NULL is accepted.  Never free the job
 * a handler receives. */
void gbx_job_free(gbx_job *job);

/* The envelope.  Borrowed. */
const gbx_envelope *gbx_job_envelope(const gbx_job *job);

/* The handler (Gearman function) name, e.g. "do_get_barn_animal_v1". */
const char *gbx_job_name(const gbx_job *job);
/* "sync" or "async". */
const char *gbx_job_type(const gbx_job *job);
const char *gbx_job_operation(const gbx_job *job);
const char *gbx_job_component(const gbx_job *job);
const char *gbx_job_resource_type(const gbx_job *job);
const char *gbx_job_resource_name(const gbx_job *job);
/* base_uri + "/" + resource type [+ "/" + resource name].  Borrowed (cached). */
const char *gbx_job_resource_uri(const gbx_job *job);
/* "http://host:port/barn/v1". */
const char *gbx_job_base_uri(const gbx_job *job);
/* "v1", from the handler name. */
const char *gbx_job_api_version(const gbx_job *job);
/* The status id ("s-…"), NULL for a sync job. */
const char *gbx_job_status_id(const gbx_job *job);
const char *gbx_job_remote_ip(const gbx_job *job);
/* The principal the gateway verified (NULL on open locations) and its
 * scopes, e.g. "read,write" (docs/security.md). */
const char *gbx_job_remote_user(const gbx_job *job);
const char *gbx_job_remote_scopes(const gbx_job *job);
const char *gbx_job_event_status(const gbx_job *job);
/* W3C trace context (docs/gateway.md "Trace context"): the traceparent the
 * job runs under ("00-<trace-id>-<parent-id>-<flags>"), its tracestate, and
 * the trace-id (32 hex) alone; NULL when the job has none.  Borrowed. */
const char *gbx_job_traceparent(const gbx_job *job);
const char *gbx_job_tracestate(const gbx_job *job);
const char *gbx_job_trace_id(const gbx_job *job);

/* Borrowed collections (never NULL): array of strings; objects of strings. */
json_t *gbx_job_arguments(const gbx_job *job);
json_t *gbx_job_matrix_arguments(const gbx_job *job);
json_t *gbx_job_query_params(const gbx_job *job);
json_t *gbx_job_headers(const gbx_job *job);
json_t *gbx_job_environ(const gbx_job *job);

/* The raw body.  Borrowed; *len (may be NULL) receives its length. */
const char *gbx_job_content(const gbx_job *job, size_t *len);

/* The body parsed as JSON (empty body = null), validated against the
 * handler's schema (`<operation>-<component>-<resource>-<version>.js` in the
 * config's schemadir, else the `-global-` one) with defaults filled.  *out:
 * a new reference the caller releases with json_decref (the body is parsed
 * once and kept with the job, so asking again is cheap).
 * GBX_ERR_BAD_REQUEST on malformed JSON or a schema violation. */
gbx_err gbx_job_json_content(json_t **out, gbx_job *job);

/* The status this job reports to; NULL for a sync job.  Borrowed. */
gbx_status *gbx_job_status(gbx_job *job);

/* ---- building jobs (the job manager's Job API) ------------------------ */

/* Job(job): a new job over a deep copy of job's envelope, status id
 * included (running the copy continues that status); the status handle is
 * not shared: the copy has none (gbx_job_status is NULL) until the job
 * manager runs it.  REST jobs copy as REST jobs.  *out: free with
 * gbx_job_free. */
gbx_err gbx_job_copy(gbx_job **out, const gbx_job *job);

/* Sets an envelope string field (see gbx_envelope_set: "name",
 * "operation", "component", "status", "parent_uri", "base_uri",
 * "event_status", "ticket", "resource.type", "resource.name", ...); NULL
 * removes it.  Cached values (resource_uri, api_version, json_content) are
 * recomputed.  GBX_ERR_BAD_REQUEST for an unknown field. */
gbx_err gbx_job_set(gbx_job *job, const char *field, const char *value);
/* The handler name (also updates api_version). */
gbx_err gbx_job_set_name(gbx_job *job, const char *name);
/* job_type "sync" or "async"; GBX_ERR_BAD_REQUEST for GBX_JOB_UNKNOWN. */
gbx_err gbx_job_set_type(gbx_job *job, gbx_job_kind kind);
/* GBX_JOB_SYNC or GBX_JOB_ASYNC from job_type. */
gbx_job_kind gbx_job_kind_of(const gbx_job *job);
/* The raw body (may hold NUL bytes; copied). */
gbx_err gbx_job_set_content(gbx_job *job, const char *data, size_t len);
/* A collection: "arguments" (array of strings), "matrix_arguments",
 * "query_params", "headers", "environ" (objects of strings).  Takes a new
 * reference to value; NULL sets the empty collection. */
gbx_err gbx_job_set_json(gbx_job *job, const char *field, json_t *value);
/* Appends a string to arguments. */
gbx_err gbx_job_add_argument(gbx_job *job, const char *argument);
/* on(event, other): when this job's status reaches `event`, `other` runs
 * (its name and whole envelope are stored in the envelope's "on"; a copy,
 * so other may be freed afterwards).  NULL other removes the event job.
 * GBX_ERR_BAD_REQUEST for GBX_EVENT_UNKNOWN or a REST job on either side. */
gbx_err gbx_job_on(gbx_job *job, gbx_job_event event, const gbx_job *other);

/* True for a REST job (gbx_jobmanager_rest_job). */
bool gbx_job_is_rest(const gbx_job *job);
/* The HTTP method and URI of a REST job (GBX_METHOD_GET / NULL for other
 * jobs).  The URI is borrowed. */
gbx_http_method gbx_job_rest_method(const gbx_job *job);
const char *gbx_job_rest_uri(const gbx_job *job);

#ifdef __cplusplus
}
#endif
#endif
