/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* job_internal.h - how the worker runtime builds the jobs it hands to
 * handlers (private to libgearbox; tests may include it).
 *
 * A worker owns one gbx_schema_dir (schema.h) over its schemadir: schema
 * files are read and compiled the first time a job asks for its
 * json_content, and kept for the worker's lifetime.
 */
#ifndef GEARBOX_JOB_INTERNAL_H
#define GEARBOX_JOB_INTERNAL_H

#include "gearbox/job.h"
#include "gearbox/schema.h"

/* A job over `env`, taking ownership of it (also on failure).  Collections
 * missing from the envelope are filled in empty. */
gbx_err gbx__job_new_owned(gbx_job **out, gbx_envelope *env);

/* Where json_content finds its schemas (borrowed; must outlive the job;
 * NULL = no validation). */
void gbx__job_set_schemas(gbx_job *job, gbx_schema_dir *schemas);

/* The status the job reports to; the job takes ownership (NULL clears). */
void gbx__job_set_status(gbx_job *job, gbx_status *status);

/* The job's envelope, for the job manager to change (ticket, deadline,
 * ...).  Borrowed; call gbx_job_set for fields that feed cached values. */
gbx_envelope *gbx__job_envelope_mut(gbx_job *job);

/* Makes `job` a REST job for `method` and `uri` (copied); NULL uri makes it
 * an ordinary job again. */
gbx_err gbx__job_set_rest(gbx_job *job, gbx_http_method method, const char *uri);

/* The span id (16 hex) of this run of the job: the parent-id of the
 * traceparent its children, continuations and REST calls carry.  Made on
 * first use; a copy of the job gets one of its own.  Borrowed. */
const char *gbx__job_span_id(gbx_job *job);

#endif
