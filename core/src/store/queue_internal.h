/* queue_internal.h - the job queue of the status store (private).
 *
 * Every job handed over inside the system (continuations, event jobs,
 * delayed jobs, retries, children started by workers) is a gbx_queue row
 * first, so that no job is lost: the scheduler (gbx__queue_claim_due)
 * submits due rows to gearmand, and the worker claims a row by deleting it
 * (gbx__queue_take), so it runs exactly once however often gearmand delivers
 * it.  Every call is one atomic statement, safe from any number of threads
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

/* Claims a row for running: deletes it if it exists and due <= now + 0.5;
 * *taken says if this caller got it (false: already run, cancelled, or
 * rescheduled to later). */
gbx_err gbx__queue_take(bool *taken, gbx_store *s, const char *ticket);

/* Marks up to `max` rows with due <= now and (submitted == 0 or submitted <
 * now - resubmit_after) as submitted now, in one atomic statement, and
 * returns them, earliest due first: a due row goes to exactly one caller per
 * resubmit window.  *out: malloc'ed array (NULL when *n is 0), free with
 * gbx__queued_free. */
gbx_err gbx__queue_claim_due(gbx__queued **out, size_t *n, gbx_store *s, double now,
                             double resubmit_after, size_t max);

/* Earliest due among rows not submitted (0 if none). */
gbx_err gbx__queue_next_due(double *out, gbx_store *s);

/* The rows of a status: due = `due` and submitted = 0 (reschedule) /
 * deleted (drop, when it is cancelled); *n = rows changed (may be NULL). */
gbx_err gbx__queue_reschedule(size_t *n, gbx_store *s, const char *status_id, double due);
gbx_err gbx__queue_drop(size_t *n, gbx_store *s, const char *status_id);

#endif
