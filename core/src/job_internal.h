/* job_internal.h - how the worker runtime builds the jobs it hands to
 * handlers (private to libgearbox; tests may include it).
 *
 * A worker owns one schema cache: schema files are read and compiled the
 * first time a job of that operation/component/resource/version asks for
 * its json_content, and kept for the worker's lifetime (a missing file is
 * remembered too, so a service without schemas does not stat per job).
 */
#ifndef GEARBOX_JOB_INTERNAL_H
#define GEARBOX_JOB_INTERNAL_H

#include "gearbox/job.h"
#include "gearbox/schema.h"

typedef struct gbx__schema_cache gbx__schema_cache;

/* A cache over the schema files of `schemadir` (copied; NULL = no schemas,
 * nothing is validated); schemas without `$schema` are compiled as
 * `dialect`.  *out: free with gbx__schema_cache_free. */
gbx_err gbx__schema_cache_new(gbx__schema_cache **out, const char *schemadir, gbx_dialect dialect);
void gbx__schema_cache_free(gbx__schema_cache *cache);

/* The schema for a request: `<operation>-<component>-<resource>-<version>.js`,
 * else `<operation>-global-<resource>-<version>.js`.  *out is NULL (and the
 * result GBX_OK) when neither file exists.  Borrowed from the cache.  A file
 * that is not a valid schema is GBX_ERR_INTERNAL_SERVER_ERROR naming it. */
gbx_err gbx__schema_cache_find(const gbx_schema **out, gbx__schema_cache *cache,
                               const char *operation, const char *component,
                               const char *resource, const char *version);

/* A job over `env`, taking ownership of it (also on failure).  Collections
 * missing from the envelope are filled in empty. */
gbx_err gbx__job_new_owned(gbx_job **out, gbx_envelope *env);

/* Where json_content finds its schemas (borrowed; must outlive the job). */
void gbx__job_set_schemas(gbx_job *job, gbx__schema_cache *cache);

/* The status the job reports to; the job takes ownership (NULL clears). */
void gbx__job_set_status(gbx_job *job, gbx_status *status);

#endif
