/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gearbox/status.h - status objects and their state machine (DESIGN §3).
 *
 * A gbx_status is a snapshot of one row of the store plus the store it came
 * from (a remote status reads another service's over HTTP; a local one, a
 * sync handler's, lives in memory only: see gbx_status_is_local).  Getters read the snapshot; every mutator writes through to the store
 * in one atomic update (so several processes may update one status at once),
 * sets mtime, and refreshes the snapshot.  Reading never changes mtime.
 *
 * States (gearbox/state.h): PENDING -> RUNNING -> COMPLETED; PENDING|RUNNING
 * -> STOPPING -> STOPPED -> CANCELLING -> CANCELLED; COMPLETED -> CANCELLING.
 * Any other transition is GBX_ERR_CONFLICT "state is currently <STATE>".  Failure is
 * COMPLETED with a non-zero code.
 *
 * Times: the store keeps ctime/mtime/ytime as unix seconds with sub-second
 * precision (the getters return them so); the JSON object carries whole
 * unix seconds (integers), as Gearbox did.  mtime never goes backwards.
 *
 * A gbx_status handle belongs to one thread at a time; the store it came
 * from may be shared (see store.h).  Errors: unknown id -> GBX_ERR_NOT_FOUND
 * `status "<id>" not found`; bad arguments -> GBX_ERR_BAD_REQUEST; database
 * failures -> GBX_ERR_INTERNAL_SERVER_ERROR with the database's message.
 */
#ifndef GEARBOX_STATUS_H
#define GEARBOX_STATUS_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "gearbox/envelope.h"
#include "gearbox/error.h"
#include "gearbox/state.h"
#include "gearbox/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Events of a status (Gearbox's Status::EVENT_*): jobs run before a
 * cancellation may proceed (PRECANCEL) and as its compensation (CANCEL). */
typedef enum gbx_status_event {
    GBX_STATUS_EVENT_UNKNOWN = 0,
    GBX_STATUS_EVENT_PRECANCEL = 1,
    GBX_STATUS_EVENT_CANCEL = 2,
} gbx_status_event;

/* "PRECANCEL" / "CANCEL" ("UNKNOWN" otherwise); parses the same back
 * (GBX_STATUS_EVENT_UNKNOWN if unknown).  Static strings. */
const char *gbx_status_event_name(gbx_status_event event);
gbx_status_event gbx_status_event_from_name(const char *name);

typedef struct gbx_status gbx_status;

/* What a new status is made of.  Strings are copied; NULL fields are left
 * out.  `id` NULL generates `s-<26 chars>`. */
typedef struct gbx_status_spec {
    const char *id;
    const char *operation;    /* "create", "get", ... */
    const char *component;    /* "barn" */
    const char *uri;          /* the resource: http://host/barn/v1/animal/Wilbur */
    const char *status_base;  /* status_uri = status_base + "/" + id, e.g. http://host/barn/v1/status */
    const char *parent_uri;   /* the parent's status_uri */
    const char *envelope;     /* serialised job envelope to keep with it */
    const char *scope;        /* the gateway location that created it (visibility) */
    const char *owner;        /* the verified principal that created it (NULL: nobody's) */
    const char *trace_id;     /* W3C trace-id of its job, kept as meta "trace_id" */
} gbx_status_spec;

/* Creates a PENDING status with progress 0, ctime = mtime = now.  *out: free
 * with gbx_status_free.  A caller-chosen id must be 1-128 characters of
 * [A-Za-z0-9._~-] (GBX_ERR_BAD_REQUEST otherwise); an existing id is
 * GBX_ERR_CONFLICT. */
gbx_err gbx_status_create(gbx_status **out, gbx_store *store, const gbx_status_spec *spec);

/* Reads a status by id (`s-…`) or by a URI ending in `/<id>` (a trailing
 * `;matrix`, `?query` or `#fragment` is ignored).
 * GBX_ERR_NOT_FOUND `status "<id>" not found` if unknown. */
gbx_err gbx_status_fetch(gbx_status **out, gbx_store *store, const char *id_or_uri);

/* Re-reads the snapshot from the store. */
gbx_err gbx_status_refresh(gbx_status *status);

void gbx_status_free(gbx_status *status);

/* Snapshot getters.  Strings are borrowed until the next mutator or refresh
 * of this handle; NULL when the field is unset. */
const char *gbx_status_id(const gbx_status *status);
const char *gbx_status_operation(const gbx_status *status);
const char *gbx_status_component(const gbx_status *status);
const char *gbx_status_uri(const gbx_status *status);
const char *gbx_status_status_uri(const gbx_status *status);
const char *gbx_status_parent_uri(const gbx_status *status);
const char *gbx_status_scope(const gbx_status *status);
const char *gbx_status_owner(const gbx_status *status);
gbx_state gbx_status_state(const gbx_status *status);
int gbx_status_progress_value(const gbx_status *status);
/* -1 while progress < 100; 0 = success, else an HTTP-style code. */
int gbx_status_code(const gbx_status *status);
int gbx_status_failures(const gbx_status *status);
int gbx_status_concurrency(const gbx_status *status);
/* Unix seconds with sub-second precision. */
double gbx_status_ctime(const gbx_status *status);
double gbx_status_mtime(const gbx_status *status);
double gbx_status_ytime(const gbx_status *status);
/* Borrowed arrays of strings / object, never NULL. */
json_t *gbx_status_messages(const gbx_status *status);
json_t *gbx_status_children(const gbx_status *status);
json_t *gbx_status_meta(const gbx_status *status);
/* COMPLETED (or beyond, in the cancel chain) with progress 100. */
bool gbx_status_has_completed(const gbx_status *status);
/* Completed with code 0. */
bool gbx_status_is_success(const gbx_status *status);

/* The stored job envelope.  *out: malloc'ed; NULL when none was kept. */
gbx_err gbx_status_envelope(char **out, const gbx_status *status);

/* The status object of DESIGN §3, keys in this order: operation, component,
 * state, uri, status_uri, progress, code (once progress is 100 and a code was
 * set by success/fail), messages, children, meta (if non-empty), parent_uri
 * (if set), failures, ctime, mtime, ytime (if > 0), concurrency.  Unset
 * operation/component/uri/status_uri are JSON null.  Times are whole unix
 * seconds.  *out: new reference. */
gbx_err gbx_status_to_json(json_t **out, const gbx_status *status);

/* Mutators (write-through, atomic, refresh the snapshot). */

/* Moves to `state` if the state machine allows it from the stored state
 * (checked inside the update, so two racing callers cannot both win).  Only
 * the state changes: complete a job with gbx_status_success/fail, which
 * also set progress and code. */
gbx_err gbx_status_set_state(gbx_status *status, gbx_state state);
/* Raises progress to `progress` (0-100); a lower value is ignored. */
gbx_err gbx_status_set_progress(gbx_status *status, int progress);
gbx_err gbx_status_add_message(gbx_status *status, const char *message);
gbx_err gbx_status_add_child(gbx_status *status, const char *child_status_uri);
/* Sets meta[key] (takes a new reference to value); NULL value deletes it. */
gbx_err gbx_status_set_meta(gbx_status *status, const char *key, json_t *value);
/* The same, but steals the reference to value (as json_object_set_new), so
 * `gbx_status_set_meta_new(s, "k", json_string("v"))` does not leak; the
 * reference is released even when the call fails. */
gbx_err gbx_status_set_meta_new(gbx_status *status, const char *key, json_t *value);
/* COMPLETED, progress 100, code 0; from PENDING or RUNNING only (otherwise
 * GBX_ERR_CONFLICT "state is currently <STATE>"). */
gbx_err gbx_status_success(gbx_status *status);
/* COMPLETED, progress 100, code `code` (1-999), plus `message` appended to
 * messages if not NULL; same states as gbx_status_success. */
gbx_err gbx_status_fail(gbx_status *status, int code, const char *message);
/* concurrency += delta (never below 0). */
gbx_err gbx_status_add_concurrency(gbx_status *status, int delta);
/* failures += 1. */
gbx_err gbx_status_add_failure(gbx_status *status);
gbx_err gbx_status_set_ytime(gbx_status *status, double ytime);
gbx_err gbx_status_set_envelope(gbx_status *status, const char *envelope);

/* Orchestration (DESIGN §6). */

/* Compare-and-set: moves to `to` only if the stored state is `from` (and the
 * state machine allows from -> to), checked inside the update, so of two
 * racing callers exactly one wins; GBX_ERR_CONFLICT "state is currently
 * <STATE>" otherwise. */
gbx_err gbx_status_transition(gbx_status *status, gbx_state from, gbx_state to);
/* Re-reads the status; GBX_ERR_GONE "status <id> is being cancelled" when its
 * state is STOPPING, STOPPED, CANCELLING or CANCELLED (the handler should
 * stop: return the error).  GBX_OK otherwise. */
gbx_err gbx_status_checkpoint(gbx_status *status);
/* Stores `job` (its name and a copy of its whole envelope) as the status's
 * PRECANCEL or CANCEL job; NULL removes it. */
gbx_err gbx_status_on(gbx_status *status, gbx_status_event event, const gbx_envelope *job);
/* The status's event jobs {"PRECANCEL": {"name", "envelope"}, "CANCEL":
 * {...}} (not part of the status JSON).  Borrowed like the other snapshot
 * getters, never NULL. */
json_t *gbx_status_events(const gbx_status *status);
/* Atomically adds `delta` to the named counter of this status (created at 0)
 * and gives the new value in *out (may be NULL).  Counters live in the store,
 * so every process sees them; they do not change mtime. */
gbx_err gbx_status_counter_add(long long *out, gbx_status *status, const char *name,
                               long long delta);
/* True for a status read over HTTP from another service (see
 * gbx_jobmanager_status): read-only, refresh polls its status_uri. */
bool gbx_status_is_remote(const gbx_status *status);

/* True for the throw-away status of a sync job (gbx_response_status): id
 * "st-…", kept in memory only; its changes are never stored. */
bool gbx_status_is_local(const gbx_status *status);

/* Collection size when the filter's count is 0, and the most one query
 * returns (larger counts are capped). */
#define GBX_STATUS_LIST_DEFAULT 10
#define GBX_STATUS_LIST_MAX 1000

/* Filters for a collection query; NULL (or "") / -1 means "any".  uri is a
 * substring match (SQL LIKE with % and _ escaped, so ASCII case-insensitive);
 * state is matched case-insensitively; an unknown state, code < -1 or a
 * progress outside 0-100 is GBX_ERR_BAD_REQUEST. */
typedef struct gbx_status_filter {
    const char *uri;        /* substring of the resource uri */
    const char *state;      /* exact state name */
    const char *operation;
    const char *component;
    const char *scope;      /* only statuses created under this location */
    const char *owner;      /* only statuses of this principal */
    bool ownerless;         /* only statuses that belong to nobody (owner unset) */
    int code;               /* -1 = any */
    int progress;           /* -1 = any */
    int count;              /* 0 = GBX_STATUS_LIST_DEFAULT, capped at GBX_STATUS_LIST_MAX */
} gbx_status_filter;

/* Sets every field of a filter to "any". */
void gbx_status_filter_init(gbx_status_filter *filter);

/* Ids of matching statuses, newest first: by ctime (sub-second), ties broken
 * by creation order, the later created first.  *out: new reference to an
 * array of strings. */
gbx_err gbx_status_list(json_t **out, gbx_store *store, const gbx_status_filter *filter);

/* Which of `ids` (n of them) changed after `since` (unix seconds, an mtime
 * as gbx_status_mtime gives it), whoever changed them, in one read of the
 * store: *out a new object {id: mtime} of those whose mtime > since; ids of
 * statuses that do not exist, or have not changed since, are absent.  n 0:
 * an empty object without a read. */
gbx_err gbx_status_changed(json_t **out, gbx_store *store, const char *const *ids, size_t n,
                           double since);

/* A number that differs from the one this thread read before whenever any
 * process has written to the store in between: while it stays the same, no
 * status changed and gbx_status_changed need not be asked again.  0 when
 * the backend cannot tell cheaply (MariaDB): then always ask. */
gbx_err gbx_status_store_version(uint64_t *out, gbx_store *store);

#ifdef __cplusplus
}
#endif
#endif
