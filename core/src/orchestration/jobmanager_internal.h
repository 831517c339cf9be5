/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* jobmanager_internal.h - the job manager's private parts in one include
 * (private to libgearbox; agents.c and tests use it).
 *
 * The files of the job manager, from the bottom up: jm_thread.c (state,
 * per-thread clients, the current job), submit.c (gearmand) and rest.c
 * (libcurl) on it, jobmanager.c on all three.
 */
#ifndef GBX_JOBMANAGER_INTERNAL_H
#define GBX_JOBMANAGER_INTERNAL_H

#include "orchestration/jm_thread.h"
#include "orchestration/rest_internal.h"
#include "orchestration/submit_internal.h"

/* The pause before retry number `failures` (1 = first retry), as Gearbox
 * computed it: Fibonacci (1, 1, 2, 3, 5, ...) capped at `max_delay`; when
 * that is above `max_jitter`, plus jitter * max_jitter (jitter in 0..1;
 * 0 = none). */
double gbx__jm_retry_delay(int failures, double max_delay, double max_jitter, double jitter);

/* recovery.c, for the scheduler step (gbx_jobmanager_run_due). */
#include "store/backend.h" /* gbx__queued */

/* A queue row whose lease ran out (its worker died): decides by its status
 * (recovery.c says how).  True when the caller submits the row again as it
 * is; false when it was handled here (or stays for a later look). */
bool gbx__jm_recover(gbx_jobmanager *jm, const gbx__queued *row);

/* Retention: at most once a minute (at once again while there is more),
 * deletes a batch of statuses finished more than status.retention_days ago. */
void gbx__jm_purge_old(gbx_jobmanager *jm, double now);

#endif
