/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gearbox/metrics.h - what the core measures for a metrics endpoint
 * (docs/metrics.md): latency histograms, the status store's operation
 * timings, statuses counted by state, and the worker processes' published
 * figures (their scoreboards and job counts).
 *
 * Histograms are lock-free (relaxed atomics): observing is cheap enough for
 * every request and every store call.  All latency histograms share one set
 * of bucket bounds, GBX_HISTOGRAM_BOUNDS.
 */
#ifndef GEARBOX_METRICS_H
#define GEARBOX_METRICS_H

#include <stddef.h>
#include <jansson.h>

#include "gearbox/error.h"
#include "gearbox/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The upper bounds (seconds) of the finite buckets, ascending; a last,
 * implicit bucket is +Inf. */
#define GBX_HISTOGRAM_BUCKETS 14
extern const double gbx_histogram_bounds[GBX_HISTOGRAM_BUCKETS];

typedef struct gbx_histogram gbx_histogram;

/* A reading of a histogram: per-bucket counts (not cumulative; the last is
 * the +Inf bucket) and the sum of the observed values. */
typedef struct gbx_histogram_counts {
    unsigned long long buckets[GBX_HISTOGRAM_BUCKETS + 1];
    double sum;
} gbx_histogram_counts;

/* A histogram at zero.  *out: free with gbx_histogram_free. */
gbx_err gbx_histogram_new(gbx_histogram **out);

/* NULL accepted. */
void gbx_histogram_free(gbx_histogram *h);

/* Records one value (seconds; negative counts as 0).  Thread-safe, no lock. */
void gbx_histogram_observe(gbx_histogram *h, double seconds);

/* Adds the histogram's counts to *into (zero it first for a plain reading). */
void gbx_histogram_read(const gbx_histogram *h, gbx_histogram_counts *into);

/* Monotonic seconds (for timing something with gbx_histogram_observe). */
double gbx_metrics_clock(void);

/* ---- the status store --------------------------------------------------- */

/* The store operations timed in this process (every call a store makes to
 * its backend is observed, whatever the store handle): their number, and
 * operation i's name ("insert", "load", "update", "queue_take", ...; static
 * string, NULL out of range). */
size_t gbx_store_operation_count(void);
const char *gbx_store_operation_name(size_t i);

/* Adds the timings of operation i to *into. */
void gbx_store_operation_timings(size_t i, gbx_histogram_counts *into);

/* Statuses counted by state: *out (new reference) {"PENDING": n, ...},
 * with every state present (0 when none).  One query over all statuses of
 * the store: cache the answer.  Errors as the store's (an outage is
 * GBX_ERR_SERVICE_UNAVAILABLE). */
gbx_err gbx_store_count_states(json_t **out, gbx_store *store);

/* What worker processes published (gbx_worker does so every
 * metrics.publish_seconds and when freed): *out (new reference) an array
 * of {"worker": "host:pid", "component": c, "updated": unix seconds,
 * "figures": {"scoreboard": <gbx_scoreboard_snapshot>, "jobs": {"<component>":
 * {"completed": n, "failed": n}}}}, one per process that published within
 * the last `max_age` seconds. */
gbx_err gbx_store_worker_figures(json_t **out, gbx_store *store, double max_age);

/* Publishes this process's figures (the object "figures" above) as the row
 * of `worker` now, and deletes the rows of processes silent for more than
 * GBX_METRICS_FORGET_SECONDS.  The worker runtime calls it; exposed for
 * tests and for processes that run no gbx_worker. */
#define GBX_METRICS_FORGET_SECONDS 3600.0
gbx_err gbx_store_publish_worker_figures(gbx_store *store, const char *worker,
                                         const char *component, const json_t *figures);

#ifdef __cplusplus
}
#endif
#endif
