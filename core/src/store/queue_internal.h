/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* queue_internal.h - the job queue of the status store (private).
 *
 * Every job handed over inside the system (continuations, event jobs,
 * delayed jobs, retries, children started by workers) is a gbx_queue row
 * first, so that no job is lost: the scheduler (gbx__queue_claim_due)
 * submits due rows to gearmand, and the worker claims a row by leasing it
 * (gbx__queue_take), so it runs once however often gearmand delivers it; the
 * worker renews the lease while the handler runs and deletes the row when it
 * is done (gbx__queue_done).  A row whose lease runs out (its worker died)
 * goes back to the scheduler, which records a failed attempt and runs the
 * job again (at least once for a job whose worker died mid-run, exactly once
 * otherwise).  Every call is one atomic statement, safe from any number of threads
 * and processes sharing the database.  Times are unix seconds with sub-second
 * precision (gbx__now()).
 */
#ifndef GBX_QUEUE_INTERNAL_H
#define GBX_QUEUE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "gearbox/error.h"
#include "gearbox/store.h"
#include "store/backend.h" /* gbx__queued, gbx__queued_free, gbx__now */

/* Adds a row: job `name` with its serialized `envelope`, for status
 * `status_id` (may be NULL), due at `due`.  `submitted` true marks it
 * submitted now (the caller submits it itself; the scheduler resubmits it
 * only after its resubmit window).  GBX_ERR_CONFLICT if the ticket exists. */
gbx_err gbx__queue_put(gbx_store *s, const char *ticket, const char *status_id, const char *name,
                       const char *envelope, double due, bool submitted);

/* Claims a row for running: leases it for `lease_seconds` if it exists, is
 * not leased and due <= now + 0.5; *taken says if this caller got it (false:
 * already run or running, cancelled, or rescheduled to later).  `retryable`
 * false: if the lease runs out the job is not run again but fails. */
gbx_err gbx__queue_take(bool *taken, gbx_store *s, const char *ticket, double lease_seconds,
                        bool retryable);

/* Moves the lease of a taken row to now + lease_seconds; *held false when the
 * row is gone (done, or dropped by a cancel). */
gbx_err gbx__queue_renew(bool *held, gbx_store *s, const char *ticket, double lease_seconds);

/* Deletes the row: its job is done (or will never run). */
gbx_err gbx__queue_done(gbx_store *s, const char *ticket);

/* Marks up to `max` rows with due <= now and (submitted == 0 or submitted <
 * now - resubmit_after), and taken rows whose lease ran out (lease_expired
 * set in the copy; the lease is cleared), as submitted now, in one atomic
 * statement, and returns them, earliest due first: a due row goes to exactly
 * one caller per resubmit window.  *out: malloc'ed array (NULL when *n is 0), free with
 * gbx__queued_free. */
gbx_err gbx__queue_claim_due(gbx__queued **out, size_t *n, gbx_store *s, double now,
                             double resubmit_after, size_t max);

/* When the next row becomes claimable without a resubmit: the earliest due
 * of rows neither submitted nor taken, or lease of taken ones (0 if none). */
gbx_err gbx__queue_next_due(double *out, gbx_store *s);

/* The rows of a status that are not taken: due = `due` and submitted = 0
 * (reschedule) / deleted (drop, when it is cancelled); *n = rows changed
 * (may be NULL). */
gbx_err gbx__queue_reschedule(size_t *n, gbx_store *s, const char *status_id, double due);
gbx_err gbx__queue_drop(size_t *n, gbx_store *s, const char *status_id);

/* Idempotency keys: `key` names the status made for the first request that
 * carried it (with the request's digest) until it is `window` seconds old.
 * Keeps (key -> status_id, digest) unless a younger row holds the key; then
 * *existing_id / *existing_digest receive that row (malloc'ed; both NULL when
 * this call's row went in). */
gbx_err gbx__idempotency_put(char **existing_id, char **existing_digest, gbx_store *s,
                             const char *key, const char *digest, const char *status_id,
                             double window);

/* Deletes `key` if it still names `status_id` (its status was not made). */
gbx_err gbx__idempotency_drop(gbx_store *s, const char *key, const char *status_id);

/* Retention: deletes up to `max` statuses that are COMPLETED or CANCELLED
 * and unchanged since `before` (unix seconds), with their counters and queue
 * rows, and idempotency keys older than `before`; *n = statuses deleted
 * (may be NULL). */
gbx_err gbx__store_purge(size_t *n, gbx_store *s, double before, size_t max);

#endif
