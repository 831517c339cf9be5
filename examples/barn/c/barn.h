/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* barn.h - what the two files of gearbox-barn-worker share: the small
 * helpers of the animal handlers (barn.c) that the orchestration handlers
 * (farmwork.c) use too, and farmwork's entry points.
 */
#ifndef BARN_H
#define BARN_H

#include <gearbox/gearbox.h>

/* Adds a message to the job's status (async jobs only; a failure is
 * logged, not returned: a lost message must not fail the job). */
void barn_note(gbx_job *job, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Raises the progress of the job's status (async jobs only). */
void barn_progress(gbx_job *job, int percent);

/* Sleeps `seconds` (fractions allowed; <= 0: not at all). */
void barn_sleep(double seconds);

/* The validated body as an object (null -> empty object).  *out: new
 * reference. */
gbx_err barn_body_object(json_t **out, gbx_job *job);

/* What a request is about: the resource name (the gateway sets the
 * generated one for POST without a name), else the first argument.
 * Borrowed from the job; NULL if neither is there. */
const char *barn_resource_name(gbx_job *job);

/* The barn's orchestration handlers (farmwork.c): continuations, children,
 * job events, delays, retries, cancellation and agents, on the resources
 * chore, family, litter, alarm, mule, field and agents. */
typedef struct farmwork farmwork;

/* Registers every orchestration handler with the worker (borrowed; it must
 * outlive *out).  Reads "barn.neighbour" from the worker's config: the
 * gateway prefix of the barn next door, for REST children (default
 * "/python/barn").  *out: free with farmwork_free after the worker stopped. */
gbx_err farmwork_new(farmwork **out, gbx_worker *worker);
void farmwork_free(farmwork *fw);

#endif
