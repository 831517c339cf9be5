/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* job.c - a job as a handler sees it: accessors over its envelope, the
 * validated JSON body, and the status it reports to. */
#include "job/job_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gearbox/json.h"
#include "gearbox/trace.h"
#include "gearbox/uri.h"

struct gbx_job {
    gbx_envelope *env;          /* owned */
    gbx_status *status;         /* owned; NULL for a sync job */
    gbx_schema_dir *schemas;    /* borrowed from the worker; may be NULL */
    char *resource_uri;         /* computed once; NULL without base_uri/type */
    char version[16];           /* from the handler name; "" if not parseable */
    json_t *json_content;       /* the validated body, once asked for */
    bool rest;                  /* a REST job (job manager) */
    gbx_http_method rest_method;
    char *rest_uri;             /* owned; REST jobs only */
    char trace_id[GBX_TRACE_ID_SIZE]; /* of the traceparent, read when asked for */
    char span_id[GBX_SPAN_ID_SIZE];   /* this run's span, made when first asked for */
};

/* ---- constants --------------------------------------------------------- */

static const char *const event_names[] = {
    [GBX_EVENT_UNKNOWN] = "UNKNOWN",     [GBX_EVENT_COMPLETED] = "COMPLETED",
    [GBX_EVENT_FAILED] = "FAILED",       [GBX_EVENT_SUCCEEDED] = "SUCCEEDED",
    [GBX_EVENT_STARTED] = "STARTED",     [GBX_EVENT_STOPPED] = "STOPPED",
    [GBX_EVENT_CANCELLED] = "CANCELLED",
};
#define EVENT_COUNT ((int)(sizeof event_names / sizeof event_names[0]))

const char *gbx_job_event_name(gbx_job_event event) {
    return ((int)event > 0 && (int)event < EVENT_COUNT) ? event_names[event] : "UNKNOWN";
}

gbx_job_event gbx_job_event_from_name(const char *name) {
    for (int e = 1; name && e < EVENT_COUNT; e++)
        if (strcasecmp(event_names[e], name) == 0) return (gbx_job_event)e;
    return GBX_EVENT_UNKNOWN;
}

/* ---- construction ---------------------------------------------------- */

static gbx_err fill_collection(gbx_envelope *env, const char *field, bool array) {
    if (gbx_envelope_get_json(env, field)) return GBX_OK;
    json_t *empty = array ? json_array() : json_object();
    if (!empty) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    gbx_err err = gbx_envelope_set_json(env, field, empty);
    json_decref(empty);
    return err;
}

static gbx_err build_resource_uri(gbx_job *job) {
    free(job->resource_uri);
    job->resource_uri = NULL;
    const char *base = gbx_envelope_get(job->env, "base_uri");
    const char *type = gbx_envelope_get(job->env, "resource.type");
    const char *name = gbx_envelope_get(job->env, "resource.name");
    if (!base || !type) return GBX_OK;

    char *encoded = NULL;
    if (name && *name) {
        gbx_err err = gbx_uri_encode(&encoded, name);
        if (err != GBX_OK) return err;
    }
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/') blen--; /* never "…/v1//animal" */
    size_t len = blen + 1 + strlen(type) + (encoded ? 1 + strlen(encoded) : 0) + 1;
    job->resource_uri = malloc(len);
    if (!job->resource_uri) {
        free(encoded);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    }
    snprintf(job->resource_uri, len, "%.*s/%s%s%s", (int)blen, base, type, encoded ? "/" : "",
             encoded ? encoded : "");
    free(encoded);
    return GBX_OK;
}

/* api_version from the handler name ("" if the name is not one). */
static void parse_version(gbx_job *job) {
    const char *name = gbx_envelope_get(job->env, "name");
    gbx_handler_parts parts;
    job->version[0] = '\0';
    if (name && gbx_handler_parse(&parts, name) == GBX_OK)
        snprintf(job->version, sizeof job->version, "%s", parts.version);
    else
        gbx_error_clear(); /* an unparseable name only means "no version" */
}

gbx_err gbx__job_new_owned(gbx_job **out, gbx_envelope *env) {
    *out = NULL;
    gbx_job *job = calloc(1, sizeof *job);
    if (!job) {
        gbx_envelope_free(env);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    }
    job->env = env;
    gbx_err err;
    if ((err = fill_collection(env, "arguments", true)) != GBX_OK ||
        (err = fill_collection(env, "matrix_arguments", false)) != GBX_OK ||
        (err = fill_collection(env, "query_params", false)) != GBX_OK ||
        (err = fill_collection(env, "headers", false)) != GBX_OK ||
        (err = fill_collection(env, "environ", false)) != GBX_OK ||
        (err = build_resource_uri(job)) != GBX_OK) {
        gbx_job_free(job);
        return err;
    }
    parse_version(job);
    *out = job;
    return GBX_OK;
}

gbx_err gbx_job_new(gbx_job **out, const gbx_envelope *env) {
    *out = NULL;
    if (!env) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_job_new: no envelope");
    gbx_envelope *copy = NULL;
    gbx_err err = gbx_envelope_copy(&copy, env);
    if (err != GBX_OK) return err;
    return gbx__job_new_owned(out, copy);
}

void gbx_job_free(gbx_job *job) {
    if (!job) return;
    json_decref(job->json_content);
    free(job->resource_uri);
    free(job->rest_uri);
    gbx_status_free(job->status);
    gbx_envelope_free(job->env);
    free(job);
}

void gbx__job_set_schemas(gbx_job *job, gbx_schema_dir *schemas) { job->schemas = schemas; }

void gbx__job_set_status(gbx_job *job, gbx_status *status) {
    if (job->status != status) gbx_status_free(job->status);
    job->status = status;
}

/* ---- accessors ------------------------------------------------------- */

const gbx_envelope *gbx_job_envelope(const gbx_job *job) { return job->env; }

const char *gbx_job_name(const gbx_job *job) { return gbx_envelope_get(job->env, "name"); }

const char *gbx_job_type(const gbx_job *job) {
    const char *type = gbx_envelope_get(job->env, "job_type");
    return type ? type : "async";
}

const char *gbx_job_operation(const gbx_job *job) { return gbx_envelope_get(job->env, "operation"); }

const char *gbx_job_component(const gbx_job *job) { return gbx_envelope_get(job->env, "component"); }

const char *gbx_job_resource_type(const gbx_job *job) {
    return gbx_envelope_get(job->env, "resource.type");
}

const char *gbx_job_resource_name(const gbx_job *job) {
    return gbx_envelope_get(job->env, "resource.name");
}

const char *gbx_job_resource_uri(const gbx_job *job) { return job->resource_uri; }

const char *gbx_job_base_uri(const gbx_job *job) { return gbx_envelope_get(job->env, "base_uri"); }

const char *gbx_job_api_version(const gbx_job *job) {
    return job->version[0] ? job->version : NULL;
}

const char *gbx_job_status_id(const gbx_job *job) {
    if (gbx_envelope_is_sync(job->env)) return NULL;
    return gbx_envelope_get(job->env, "status");
}

const char *gbx_job_remote_ip(const gbx_job *job) { return gbx_envelope_get(job->env, "remote.ip"); }

const char *gbx_job_remote_user(const gbx_job *job) {
    return gbx_envelope_get(job->env, "remote.user");
}

const char *gbx_job_remote_scopes(const gbx_job *job) {
    return gbx_envelope_get(job->env, "remote.scopes");
}

const char *gbx_job_traceparent(const gbx_job *job) {
    return gbx_envelope_get(job->env, "traceparent");
}

const char *gbx_job_tracestate(const gbx_job *job) {
    return gbx_envelope_get(job->env, "tracestate");
}

const char *gbx_job_trace_id(const gbx_job *job) {
    /* A cache in a const job, as the envelope's content getter has one. */
    char *id = ((gbx_job *)job)->trace_id;
    return gbx_trace_id_of(id, gbx_envelope_get(job->env, "traceparent")) ? id : NULL;
}

const char *gbx__job_span_id(gbx_job *job) {
    if (!job->span_id[0]) gbx_trace_random_hex(job->span_id, 16);
    return job->span_id;
}

const char *gbx_job_event_status(const gbx_job *job) {
    return gbx_envelope_get(job->env, "event_status");
}

json_t *gbx_job_arguments(const gbx_job *job) {
    return gbx_envelope_get_json(job->env, "arguments");
}

json_t *gbx_job_matrix_arguments(const gbx_job *job) {
    return gbx_envelope_get_json(job->env, "matrix_arguments");
}

json_t *gbx_job_query_params(const gbx_job *job) {
    return gbx_envelope_get_json(job->env, "query_params");
}

json_t *gbx_job_headers(const gbx_job *job) { return gbx_envelope_get_json(job->env, "headers"); }

json_t *gbx_job_environ(const gbx_job *job) { return gbx_envelope_get_json(job->env, "environ"); }

const char *gbx_job_content(const gbx_job *job, size_t *len) {
    size_t n = 0;
    const char *content = gbx_envelope_content(job->env, &n);
    if (!content) {
        content = "";
        n = 0;
    }
    if (len) *len = n;
    return content;
}

static bool all_blank(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)s[i])) return false;
    return true;
}

gbx_err gbx_job_json_content(json_t **out, gbx_job *job) {
    *out = NULL;
    if (job->json_content) {
        *out = json_incref(job->json_content);
        return GBX_OK;
    }

    size_t len = 0;
    const char *text = gbx_job_content(job, &len);
    json_t *value = NULL;
    if (all_blank(text, len)) {
        value = json_null();
    } else {
        gbx_err err = gbx_json_parse(&value, text, len);
        if (err != GBX_OK) return err;
    }

    const gbx_schema *schema = NULL;
    if (job->schemas) {
        const char *op = gbx_job_operation(job), *component = gbx_job_component(job),
                   *resource = gbx_job_resource_type(job), *version = gbx_job_api_version(job);
        if (op && component && resource && version) {
            gbx_err err = gbx_schema_dir_find(&schema, NULL, job->schemas, op, component, resource,
                                              version);
            if (err != GBX_OK) {
                json_decref(value);
                return err;
            }
        }
    }
    if (schema) {
        gbx_err err = gbx_schema_validate(NULL, schema, value);
        if (err != GBX_OK) {
            json_decref(value);
            return err;
        }
    }
    job->json_content = value;
    *out = json_incref(value);
    return GBX_OK;
}

gbx_status *gbx_job_status(gbx_job *job) { return job->status; }

/* ---- building jobs ----------------------------------------------------- */

static gbx_err oom(void) { return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory"); }

gbx_envelope *gbx__job_envelope_mut(gbx_job *job) { return job->env; }

gbx_err gbx__job_set_rest(gbx_job *job, gbx_http_method method, const char *uri) {
    char *copy = NULL;
    if (uri && !(copy = strdup(uri))) return oom();
    free(job->rest_uri);
    job->rest_uri = copy;
    job->rest = uri != NULL;
    job->rest_method = uri ? method : GBX_METHOD_GET;
    return GBX_OK;
}

/* Drops what was computed from the envelope and computes it again. */
static gbx_err invalidate(gbx_job *job) {
    json_decref(job->json_content);
    job->json_content = NULL;
    parse_version(job);
    return build_resource_uri(job);
}

gbx_err gbx_job_copy(gbx_job **out, const gbx_job *job) {
    *out = NULL;
    if (!job) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_job_copy: no job");
    gbx_job *copy = NULL;
    gbx_err err = gbx_job_new(&copy, job->env);
    if (err == GBX_OK && job->rest) err = gbx__job_set_rest(copy, job->rest_method, job->rest_uri);
    if (err != GBX_OK) {
        gbx_job_free(copy);
        return err;
    }
    copy->schemas = job->schemas;
    *out = copy;
    return GBX_OK;
}

gbx_err gbx_job_set(gbx_job *job, const char *field, const char *value) {
    if (!job) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_job_set: no job");
    gbx_err err = gbx_envelope_set(job->env, field, value);
    if (err != GBX_OK) return err;
    return invalidate(job);
}

gbx_err gbx_job_set_name(gbx_job *job, const char *name) {
    if (!name || !*name) return gbx_error_set(GBX_ERR_BAD_REQUEST, "job name: must not be empty");
    return gbx_job_set(job, "name", name);
}

gbx_err gbx_job_set_type(gbx_job *job, gbx_job_kind kind) {
    if (kind != GBX_JOB_SYNC && kind != GBX_JOB_ASYNC)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "job type: %d is neither JOB_SYNC nor JOB_ASYNC",
                             (int)kind);
    return gbx_job_set(job, "job_type", kind == GBX_JOB_SYNC ? "sync" : "async");
}

gbx_job_kind gbx_job_kind_of(const gbx_job *job) {
    return gbx_envelope_is_sync(job->env) ? GBX_JOB_SYNC : GBX_JOB_ASYNC;
}

gbx_err gbx_job_set_content(gbx_job *job, const char *data, size_t len) {
    if (!job) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_job_set_content: no job");
    gbx_err err = gbx_envelope_set_content(job->env, data, len);
    if (err != GBX_OK) return err;
    json_decref(job->json_content);
    job->json_content = NULL;
    return GBX_OK;
}

gbx_err gbx_job_set_json(gbx_job *job, const char *field, json_t *value) {
    if (!job) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_job_set_json: no job");
    if (field && strcmp(field, "on") == 0)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "job: set event jobs with gbx_job_on");
    return gbx_envelope_set_json(job->env, field, value);
}

gbx_err gbx_job_add_argument(gbx_job *job, const char *argument) {
    if (!job) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_job_add_argument: no job");
    json_t *s = argument ? json_string(argument) : NULL;
    if (!s) return gbx_error_set(GBX_ERR_BAD_REQUEST, "job argument: not a UTF-8 string");
    json_t *args = gbx_envelope_get_json(job->env, "arguments");
    if (!json_is_array(args)) {
        json_decref(s);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "job: envelope has no arguments array");
    }
    return json_array_append_new(args, s) == 0 ? GBX_OK : oom();
}

gbx_err gbx_job_on(gbx_job *job, gbx_job_event event, const gbx_job *other) {
    if (!job) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_job_on: no job");
    if (event <= GBX_EVENT_UNKNOWN || (int)event >= EVENT_COUNT)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "job on: unknown event %d", (int)event);
    if (job->rest || (other && other->rest))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "job on: REST jobs have no job events");
    json_t *on = gbx_envelope_get_json(job->env, "on");
    if (!json_is_object(on))
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "job: envelope has no \"on\" object");
    const char *key = gbx_job_event_name(event);
    if (!other) {
        json_object_del(on, key);
        return GBX_OK;
    }
    const char *name = gbx_job_name(other);
    if (!name || !*name) return gbx_error_set(GBX_ERR_BAD_REQUEST, "job on %s: the event job has no name", key);
    json_t *envelope = json_deep_copy(gbx_envelope_json(other->env));
    if (!envelope) return oom();
    json_object_del(envelope, "ticket"); /* a ticket belongs to one run */
    json_t *entry = json_pack("{s:s, s:o}", "name", name, "envelope", envelope);
    if (!entry) return oom();
    return json_object_set_new(on, key, entry) == 0 ? GBX_OK : oom();
}

bool gbx_job_is_rest(const gbx_job *job) { return job && job->rest; }

gbx_http_method gbx_job_rest_method(const gbx_job *job) {
    return job && job->rest ? job->rest_method : GBX_METHOD_GET;
}

const char *gbx_job_rest_uri(const gbx_job *job) { return job && job->rest ? job->rest_uri : NULL; }
