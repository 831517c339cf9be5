/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* status_internal.h - status calls for the orchestration code only
 * (jobmanager.c, worker.c, cancel.c, agents.c), not part of the public API.
 *
 * `private` is a JSON object kept in the store beside each status (never in
 * the status JSON): the bookkeeping of cancellations, e.g.
 * {"cancel_status": "s-…", "notify_cancel": "s-…"}.
 */
#ifndef GBX_STATUS_INTERNAL_H
#define GBX_STATUS_INTERNAL_H

#include <jansson.h>

#include "gearbox/error.h"
#include "gearbox/status.h"

/* Borrowed object of orchestration bookkeeping (snapshot, like meta), never
 * NULL; always {} for a remote status. */
json_t *gbx__status_private(const gbx_status *status);

/* private[key] = value (a new reference is taken; NULL deletes the key),
 * atomically with respect to every other writer; refreshes the snapshot. */
gbx_err gbx__status_set_private(gbx_status *status, const char *key, json_t *value);

/* Ends the cancel chain: state CANCELLED, progress 100, code `code` only if
 * no code was set yet (plus `message` appended to messages if not NULL); only
 * from CANCELLING (GBX_ERR_CONFLICT "state is currently <STATE>" otherwise). */
gbx_err gbx__status_finish_cancel(gbx_status *status, int code, const char *message);

/* A worker starts on status `id_or_uri`: state `from` -> `to` (`to` may
 * equal `from`: RUNNING -> RUNNING for a continuation) and concurrency + 1,
 * in one atomic write that is also the read (*out: the status as that write
 * left it; free with gbx_status_free).  GBX_ERR_CONFLICT "state is currently
 * <STATE>" (nothing changed) when the stored state is not `from`;
 * gbx_status_fetch's errors otherwise. */
gbx_err gbx__status_enter(gbx_status **out, gbx_store *store, const char *id_or_uri,
                          gbx_state from, gbx_state to);

/* The worker's end of a job in one write: COMPLETED with `code` (0 =
 * success, else 1-999; `message` appended if not NULL) and concurrency - 1,
 * only from PENDING or RUNNING (GBX_ERR_CONFLICT, nothing changed, else). */
gbx_err gbx__status_complete_leave(gbx_status *status, int code, const char *message);

/* gbx_status_create, and when `job_name` and `ticket` are given, in the same
 * write, the queue row of the job's first submit (marked submitted now: the
 * caller submits it; the scheduler submits it again if no worker takes it).
 * The spec's envelope is the job's and must carry `ticket`. */
gbx_err gbx__status_create_queued(gbx_status **out, gbx_store *store, const gbx_status_spec *spec,
                                  const char *job_name, const char *ticket);

/* Reads the status object at `status_uri` (an http URI of another service):
 * *out receives a new reference to the object (as gbx_status_to_json makes
 * it); an error code (with gbx_error_set) otherwise. */
typedef gbx_err (*gbx__status_fetch_fn)(void *user, const char *status_uri, json_t **out);

/* A read-only status over a status object (JSON, DESIGN §3) of another
 * service; `obj` is copied and must have a string status_uri (the id is its
 * last path segment).  gbx_status_refresh() calls `fetch(user, status_uri,
 * &json)` again (NULL fetch: refresh keeps the snapshot); `user` must outlive
 * the status.  Every mutator fails with GBX_ERR_METHOD_NOT_ALLOWED "status
 * <uri> belongs to another service".  *out: free with gbx_status_free. */
gbx_err gbx__status_new_remote(gbx_status **out, const json_t *obj, gbx__status_fetch_fn fetch,
                               void *user);

/* A local status: the throw-away status of a sync job (Gearbox's "st-"
 * status), kept in memory only.  Id "st-…", state RUNNING, the given
 * operation, component and resource uri (each may be NULL), no status_uri.
 * Its mutators work on the memory copy and cost nothing (no store, no
 * network); refresh keeps it; counters are GBX_ERR_METHOD_NOT_ALLOWED.
 * *out: free with gbx_status_free. */
gbx_err gbx__status_new_local(gbx_status **out, const char *operation, const char *component,
                              const char *uri);

#endif
