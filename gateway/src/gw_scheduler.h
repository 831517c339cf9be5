/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_scheduler.h - the gateway's scheduler thread: submits the jobs of the
 * store's queue (delayed jobs, retries, continuations, event jobs) once they
 * are due, through gbx_jobmanager_run_due.
 *
 * The thread sleeps until the earliest due time it knows of, at most one
 * second (another process may queue a job meanwhile), so a due job waits at
 * most about a second.  Several gateways may run a scheduler over one store:
 * every row is claimed atomically, so it is submitted once. */
#ifndef GBX_GW_SCHEDULER_H
#define GBX_GW_SCHEDULER_H

#include "gearbox/error.h"
#include "gearbox/jobmanager.h"

typedef struct gbx_gw_scheduler gbx_gw_scheduler;

/* Starts the thread over `jm` (borrowed; must outlive the scheduler).
 * *out: stop and free with gbx_gw_scheduler_free. */
gbx_err gbx_gw_scheduler_start(gbx_gw_scheduler **out, gbx_jobmanager *jm);

/* Wakes the thread so that it looks at the queue now (e.g. after a job was
 * rescheduled to an earlier time).  Thread-safe; NULL accepted. */
void gbx_gw_scheduler_wake(gbx_gw_scheduler *s);

/* Stops the thread (it returns within one store round trip); the object
 * stays valid, so a gbx_gw_scheduler_wake racing with the stop is harmless.
 * Called by the owning thread only; twice is fine; NULL accepted. */
void gbx_gw_scheduler_stop(gbx_gw_scheduler *s);

/* Stops the thread if needed and frees; NULL accepted.  Nobody may call
 * gbx_gw_scheduler_wake any more (the HTTP threads have ended). */
void gbx_gw_scheduler_free(gbx_gw_scheduler *s);

/* Seconds the scheduler's last run started behind the earliest due time
 * the run before named (0 when on time, nothing was due, or s is NULL):
 * the gauge gearbox_scheduler_lag_seconds. */
double gbx_gw_scheduler_lag(const gbx_gw_scheduler *s);

#endif
