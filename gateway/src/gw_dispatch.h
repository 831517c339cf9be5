/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_dispatch.h - the gateway's sync-job dispatcher.
 *
 * One thread owns one NON-BLOCKING libgearman client.  HTTP threads hand it
 * jobs (gbx_gw_dispatch) and return at once (their connection stays
 * suspended); the dispatcher submits them with gearman_client_add_task,
 * drives every task with gearman_client_run_tasks, tracks each job's
 * deadline and reports the outcome exactly once through the job's `done`
 * callback, on the dispatcher thread.  No HTTP thread ever waits for a
 * worker.
 */
#ifndef GBX_GW_DISPATCH_H
#define GBX_GW_DISPATCH_H

#include <stddef.h>

#include "gearbox/error.h"

typedef struct gbx_gw_dispatcher gbx_gw_dispatcher;

/* The outcome of one job.  `err` is GBX_OK with the worker's result in
 * data/len, or GBX_ERR_SERVICE_UNAVAILABLE (gearmand unreachable or the job
 * not accepted), GBX_ERR_GATEWAY_TIMEOUT (no worker answered in time) or
 * GBX_ERR_BAD_GATEWAY (the worker failed the job) with a message.  data and
 * message are borrowed for the duration of the call. */
typedef void (*gbx_gw_done_fn)(void *user, gbx_err err, const char *message,
                               const char *data, size_t len);

/* Starts the dispatcher thread for the libgearman server list `servers`
 * ("h1:p1,h2:p2").  The client connects lazily, on the first job.
 * *out: stop and free with gbx_gw_dispatcher_free. */
gbx_err gbx_gw_dispatcher_new(gbx_gw_dispatcher **out, const char *servers);

/* Stops the thread; every job still pending gets `done` with
 * GBX_ERR_SERVICE_UNAVAILABLE "gateway is shutting down", and later
 * gbx_gw_dispatch calls fail with that error.  The handle stays valid (other
 * threads may still call gbx_gw_dispatch) until freed.  Idempotent. */
void gbx_gw_dispatcher_stop(gbx_gw_dispatcher *d);

/* Stops (if needed) and frees; no other thread may use `d` any more.  NULL
 * accepted. */
void gbx_gw_dispatcher_free(gbx_gw_dispatcher *d);

/* Queues a job for Gearman function `function` with the given unique id
 * and workload (all copied), answered within `timeout` seconds.  On GBX_OK
 * `done(user, ...)` will be called exactly once, from the dispatcher thread
 * (possibly before this call returns); on an error it is never called. */
gbx_err gbx_gw_dispatch(gbx_gw_dispatcher *d, const char *function, const char *unique,
                        const char *workload, size_t len, double timeout,
                        gbx_gw_done_fn done, void *user);

/* Jobs accepted and not yet answered. */
size_t gbx_gw_dispatcher_pending(gbx_gw_dispatcher *d);

/* Cuts libgearman's source-location suffix (" -> file.cc:123: pid(n)")
 * off an error text, in place, so that clients see only the reason. */
void gbx_gw_trim_gearman_error(char *msg);

#endif
