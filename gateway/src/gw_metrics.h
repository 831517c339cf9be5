/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_metrics.h - the gateway's operator endpoints: GET /metrics (the
 * Prometheus text format, docs/metrics.md), /healthz and /readyz
 * (gw_health.h), on the main listener or on a separate admin listener
 * ("metrics": {"listen": ...}).
 *
 * The request path only counts: a relaxed atomic add per counter and
 * histogram bucket, no lock.  What needs the store or gearmand (statuses by
 * state, gearmand's queues, the workers' published figures) is read when
 * /metrics is scraped, and cached for metrics.cache_seconds.
 */
#ifndef GBX_GW_METRICS_H
#define GBX_GW_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "gearbox/error.h"
#include "gearbox/metrics.h"
#include "gearbox/store.h"
#include "gw_config.h"

/* The location index of a request that matched no location, and of one to
 * the gateway's own endpoints (/metrics, /healthz, /readyz). */
#define GBX_GW_LOCATION_NONE (-1)
#define GBX_GW_LOCATION_GATEWAY (-2)

typedef struct gbx_gw_metrics gbx_gw_metrics;

/* What only the server knows, read at scrape time. */
typedef struct gbx_gw_gauges {
    double connections;   /* open HTTP connections (main listener) */
    double suspended;     /* sync requests waiting for their worker */
    double scheduler_lag; /* seconds the scheduler ran behind the earliest due job */
} gbx_gw_gauges;
typedef void (*gbx_gw_gauges_fn)(void *ctx, gbx_gw_gauges *out);

/* The registry for `cfg` (its locations and "metrics" settings) and
 * `store`, both borrowed.  `gauges(ctx, ...)` fills the server's gauges.
 * *out: free with gbx_gw_metrics_free (after the listeners stopped). */
gbx_err gbx_gw_metrics_new(gbx_gw_metrics **out, const gbx_gw_config *cfg, gbx_store *store,
                           gbx_gw_gauges_fn gauges, void *ctx);
void gbx_gw_metrics_free(gbx_gw_metrics *m);

/* Starts the admin listener when the config has one (else does nothing). */
gbx_err gbx_gw_metrics_start(gbx_gw_metrics *m);
/* Stops the admin listener; safe to call twice. */
void gbx_gw_metrics_stop(gbx_gw_metrics *m);
/* The admin listener's port (0 when there is none). */
int gbx_gw_metrics_admin_port(const gbx_gw_metrics *m);

/* Hot path: one answered request (`location` an index into cfg->locations
 * or GBX_GW_LOCATION_*; `method` MHD's name; `code` the HTTP status, 0 =
 * none sent; `seconds` from first byte to answer). */
void gbx_gw_metrics_request(gbx_gw_metrics *m, int location, const char *method, unsigned code,
                            double seconds);
/* Hot path: one async job accepted (202) for a location. */
void gbx_gw_metrics_accepted(gbx_gw_metrics *m, int location);

/* If `path` is an operator endpoint that the main listener (admin false)
 * or the admin listener (true) serves, answers it: *code, *body
 * (malloc'ed, *len bytes) and *content_type (static), and returns true.
 * `url` names the request in error bodies. */
bool gbx_gw_metrics_answer(gbx_gw_metrics *m, bool admin, const char *method, const char *path,
                           const char *url, unsigned *code, char **body, size_t *len,
                           const char **content_type);

/* The Prometheus text the registry shows now.  *out: malloc'ed. */
gbx_err gbx_gw_metrics_render(char **out, size_t *len, gbx_gw_metrics *m);

/* ---- the text format (exposed for the unit tests) ------------------------- */

/* A text being written; `oom` makes every later write a no-op. */
typedef struct gbx_gw_prom {
    char *p;
    size_t len, cap;
    bool oom;
} gbx_gw_prom;

/* "# HELP name help" (help escaped) and "# TYPE name type". */
void gbx_gw_prom_family(gbx_gw_prom *t, const char *name, const char *type, const char *help);
/* One sample: name{l1="v1",...} value.  `labels`: name, value, name,
 * value, ..., NULL (NULL or empty: none); values escaped. */
void gbx_gw_prom_sample(gbx_gw_prom *t, const char *name, const char *const *labels, double value);
/* A histogram's _bucket (cumulative, le="..." after `labels`, +Inf last),
 * _sum and _count samples. */
void gbx_gw_prom_histogram(gbx_gw_prom *t, const char *name, const char *const *labels,
                           const gbx_histogram_counts *c);
void gbx_gw_prom_free(gbx_gw_prom *t);

#endif
