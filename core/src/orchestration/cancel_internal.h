/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* cancel_internal.h - the steps of a cancellation that the worker runtime
 * triggers (private to libgearbox; tests may include it).
 *
 * A cancellation (gbx_jobmanager_cancel) moves its target along
 * PENDING|RUNNING -> STOPPING -> STOPPED -> CANCELLING -> CANCELLED (or
 * COMPLETED -> CANCELLING -> CANCELLED) without polling: each step runs as
 * soon as the one before it has finished, in whichever process saw it
 * finish.  Bookkeeping lives in the target's private object:
 *   cancel_status  the cancel operation's own status (C)
 *   precancel      the status of the running PRECANCEL job
 *   precancel_ok   the PRECANCEL job succeeded (no veto)
 *   compensation   the status of the running CANCEL (compensation) job
 *   stop_children  how many children it had when it stopped (the STOPPED
 *                  event jobs added after them are not cancelled with it)
 * and in the private object of a PRECANCEL / compensation job's status:
 *   notify_cancel  the target whose cancellation continues when it completes.
 * Every step may run twice (two processes seeing the same event): state
 * changes are compare-and-set, and the one-off steps (cancelling children,
 * starting the compensation) are guarded by store counters.
 */
#ifndef GBX_CANCEL_INTERNAL_H
#define GBX_CANCEL_INTERNAL_H

#include "gearbox/envelope.h"
#include "gearbox/error.h"
#include "gearbox/jobmanager.h"
#include "gearbox/status.h"

/* Moves the cancellation of status `target_id` on as far as it can go now;
 * nothing when it has no cancellation in progress.  The worker calls it when
 * a status with private.notify_cancel completes. */
gbx_err gbx__cancel_advance(gbx_jobmanager *jm, const char *target_id);

/* The job of `status` has stopped running (its state is STOPPING and
 * nobody works on it, concurrency 0): drops its queued jobs, moves it
 * STOPPING -> STOPPED (of racing callers one wins; the others return GBX_OK
 * and do nothing more), fires its STOPPED job events from `env` (NULL: the
 * status's stored envelope) and advances the cancellation.  `status` is
 * refreshed. */
gbx_err gbx__cancel_stopped(gbx_jobmanager *jm, gbx_status *status, const gbx_envelope *env);

/* When `status` has completed and its private object names a cancellation
 * to notify (notify_cancel), advances that cancellation; GBX_OK otherwise.
 * `status` is not re-read: pass a snapshot taken when or after it completed
 * (the row a mutator returned is one).  A notify_cancel set after that
 * snapshot is no loss: whoever sets it re-reads the status and goes on
 * itself when it has completed (cancel.c, start_event_job). */
gbx_err gbx__cancel_notify(gbx_jobmanager *jm, gbx_status *status);

/* A status that the caller's job completed (a worker's handler, or the
 * scheduler for a job whose worker died): fires its COMPLETED events from
 * `env` (then SUCCEEDED or FAILED) and advances a cancellation waiting for
 * it (gbx__cancel_notify).  Failures are logged, never returned. */
void gbx__job_completed(gbx_jobmanager *jm, const gbx_envelope *env, gbx_status *status);

/* When `status` is STOPPING and nobody works on it any more (concurrency
 * 0), finishes the stop (gbx__cancel_stopped); else nothing.  Failures are
 * logged. */
void gbx__job_stop_if_idle(gbx_jobmanager *jm, gbx_status *status, const gbx_envelope *env);

#endif
