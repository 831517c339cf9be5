/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* figures.h - what a worker process publishes for the gateway's /metrics
 * (private): its scoreboards (gearbox/scoreboard.h) and the async jobs its
 * workers completed and failed, per component, as one row per process in
 * the status store (gbx_store_publish_worker_figures).
 */
#ifndef GBX_WORKER_FIGURES_H
#define GBX_WORKER_FIGURES_H

#include <stdbool.h>

#include "gearbox/error.h"
#include "gearbox/store.h"

/* Counts one async job of `component` that ended: failed or completed.
 * Process-wide, thread-safe. */
void gbx__figures_count_job(const char *component, bool failed);

/* Publishes the process's figures to `store` as the row "<host>:<pid>",
 * naming `component` (the worker's). */
gbx_err gbx__figures_publish(gbx_store *store, const char *component);

#endif
