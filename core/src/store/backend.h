/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* backend.h - the status store backend interface (private): what status.c
 * and store.c call and every backend (store_sqlite.c; MariaDB next)
 * implements.  Backends include this header and gearbox/state.h only.
 *
 * THE CONTRACT A BACKEND FULFILS
 *
 * Layering.  status.c owns the rules: the state machine, argument checks,
 * UTF-8, ids, the JSON shape, remote statuses (another service's, read over
 * HTTP) and local ones (a sync job's, in memory): those never reach a
 * backend.  store.c opens a backend by its config `type` (its table of
 * gbx__store_backend) and checks the job queue's arguments.  A backend owns
 * rows and keeps them; it validates nothing that status.c already checked.
 *
 * Handle.  open() returns a struct whose first member is `struct gbx_store`
 * with `ops` set.  The handle is shared by every thread of the process and
 * every call may come from any thread at once (e.g. one connection per
 * thread).  Several processes may open the same database at once; nothing
 * may rely on being the only writer.  A handle does not cross fork(): in the
 * child every call fails with GBX_ERR_INTERNAL_SERVER_ERROR and close()
 * frees the handle without touching the parent's connections.
 *
 * Errors.  Every failing call returns its gbx_err after gbx_error_set():
 * an unknown status id is gbx__store_not_found(id) (GBX_ERR_NOT_FOUND), a
 * failed state precondition gbx__store_conflict(current state), a duplicate
 * id or ticket GBX_ERR_CONFLICT, bad settings in open() GBX_ERR_BAD_REQUEST,
 * everything the database says GBX_ERR_INTERNAL_SERVER_ERROR with its
 * message.  On failure an output holds nothing the caller must free.
 *
 * Rows.  A status row is a gbx__status_row.  insert() assigns seq, a number
 * that grows with each insert across all processes.  States are stored by
 * name (gbx_state_name) or number, as the backend likes; what load() hands
 * back must equal what was written.  Times are unix seconds as doubles and
 * must keep sub-second precision (at least milliseconds).  messages and
 * children are JSON arrays kept in order, meta/events/priv JSON objects;
 * none of them is ever NULL in a row handed back.  code is -1 while unset.
 *
 * Changes.  Every write to a status is one gbx__change, applied atomically
 * with respect to every other writer of the same database, in any process
 * (one UPDATE, or a short write-locked transaction): two concurrent
 * MESSAGE changes both land, two concurrent STATE changes from the same
 * state let exactly one win.  Each also sets mtime = MAX(mtime, change.now)
 * (mtime never goes backwards) and hands back the row as it is right after
 * this change (not a later read).  A change whose precondition
 * (allowed_from) fails changes nothing, not even mtime.  What each kind
 * means is said at gbx__change_kind; gbx__change_apply() is the same in C,
 * on a row in memory.
 *
 * Collections.  list() returns at most query->count ids of the rows that
 * match every set field, ordered by ctime descending, then seq descending
 * (the later created first when two share a ctime).
 *
 * Watching.  changed() reads, in one statement, the mtime of those of the
 * given ids whose row exists and has mtime > since (ids of no row, or not
 * changed since, are left out; repeated ids are answered once).  It is how
 * a gateway learns which of many watched statuses changed, whoever wrote.
 * version() is a number that changes whenever any connection, of any
 * process, has committed a write since the calling thread last asked (0:
 * the backend has no cheap way to tell; then the caller must read).
 *
 * Counters.  counter_add() is one atomic increment of the counter (id, name)
 * (created at 0), returning the new value: N concurrent adds of 1 yield N
 * distinct values.  Counters live as long as the database.
 *
 * Events and private.  events and priv are kept beside the status and never
 * shown in its JSON; they are changed key by key (EVENT, PRIVATE) like meta.
 *
 * Envelopes.  insert() keeps the envelope text given (NULL: none); ENVELOPE
 * replaces it; load_envelope() reads it back.  It is opaque text.
 *
 * The job queue.  Each queue call is one atomic statement, and a queued row
 * goes to exactly one caller at a time.  A row is waiting (lease 0,
 * submitted 0), submitted (lease 0, submitted = when it was last handed to
 * gearmand) or taken (lease > 0: a worker runs it until `lease`, unix
 * seconds, and renews the lease while it runs).  queue_put() adds a row
 * (row->submitted as given, lease 0).  queue_take() leases the row to its
 * one caller: it sets lease and retryable and says so only if the row
 * existed, was not leased and due <= now + 0.5.  queue_renew() moves the
 * lease of a taken row on (held = false when the row is gone: cancelled or
 * done elsewhere); queue_done() deletes the row.  queue_claim_due() marks up
 * to `max` rows as submitted = now and returns them, earliest due first:
 * waiting or submitted rows with due <= now and (submitted == 0 or submitted
 * < now - resubmit_after), and taken rows whose lease < now (their worker
 * died: lease_expired is true in the copy handed back, with the retryable
 * flag the worker set; the row's lease goes back to 0), so that a row goes
 * to one caller per resubmit window even when several schedulers run at
 * once.  queue_next_due() is the earliest moment a row becomes claimable:
 * the due of rows neither submitted nor leased, and the lease of taken ones
 * (0 if none).  queue_reschedule() sets due and submitted = 0, and
 * queue_drop() deletes, the rows of a status that are not taken (a running
 * job's row stays until its worker is done or its lease expires).  Queue
 * rows are not tied to status rows (status_id may be NULL or name a status
 * that does not exist).  insert() may add one queue row in the same
 * transaction as the status (the first submit of a job).
 *
 * Retention.  purge() deletes, in one transaction, up to `max` statuses in
 * a final state (COMPLETED, CANCELLED) whose mtime < before, with their
 * counters and queue rows, and idempotency keys created before `before`.
 *
 * Idempotency keys.  idempotency_put() keeps, per key (scoped by the
 * caller), the status made for the first request that carried it and a
 * digest of that request, atomically: it adds (key, digest, status_id,
 * created = now) unless the key exists with created >= expire_before (an
 * older row is replaced); when the existing row stays, *existing_id and
 * *existing_digest receive it (malloc'ed), else both are NULL.
 * idempotency_drop() deletes the key if it still names status_id.
 *
 * Metrics.  count_states() counts the statuses per state in one read.
 * workers_publish() keeps one row per worker process (`worker`, e.g.
 * "host:pid"): it replaces that row's component, figures (JSON object text,
 * opaque) and updated = now, and deletes, in the same transaction, the rows
 * whose updated < forget_before (processes long gone).  workers_read()
 * returns the rows with updated >= since, "figures" parsed, ordered by
 * worker.
 * Callbacks.  callback_put() adds the row (status_id, url, location, due 0,
 * lease 0, attempts 0, first_try 0); GBX_ERR_CONFLICT if the status has one.
 * callback_claim() sets lease = now + lease_seconds on up to `max` rows with
 * due <= now and lease < now whose status exists in state COMPLETED or
 * CANCELLED, in one atomic step (a row goes to one caller per lease), and
 * returns them.  callback_retry() sets due, attempts, first_try and lease 0;
 * callback_done() deletes the row.  purge() deletes the rows of the statuses
 * it deletes.
 *
 * Outages.  When the database cannot be reached, stays locked beyond the
 * backend's wait, or is full, a call fails with GBX_ERR_SERVICE_UNAVAILABLE
 * (the caller may try again later; the gateway answers 503 with
 * Retry-After); the next call reconnects by itself.
 *
 * Schema.  open() creates or migrates the backend's schema (in one
 * transaction, safe when several processes open a new database at once).
 *
 * Proof.  tests/unit/test_store_sqlite.c, test_status*.c and test_queue.c
 * hold these promises for "sqlite" (concurrent writers in threads and
 * processes included); a second backend passes them too.
 */
#ifndef GBX_STORE_BACKEND_H
#define GBX_STORE_BACKEND_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#include "gearbox/error.h"
#include "gearbox/state.h"
#include "gearbox/store.h" /* gbx_store_callback */

/* The handle gearbox/store.h names opaquely (C11 allows the same typedef
 * twice); its layout is below. */
typedef struct gbx_store gbx_store;

/* One status row, as a backend hands it to status.c.  Strings are malloc'ed
 * (NULL when unset), arrays/objects are owned references. */
typedef struct gbx__status_row {
    int64_t seq;              /* creation sequence: later created, larger */
    char *id;
    char *operation;
    char *component;
    char *uri;
    char *status_uri;
    char *parent_uri;
    char *scope;
    char *owner;              /* the principal that created it; NULL = nobody's */
    gbx_state state;
    int progress;
    int code;                 /* -1 while unset */
    int failures;
    int concurrency;
    double ctime, mtime, ytime; /* unix seconds, sub-second precision */
    json_t *messages;         /* array of strings */
    json_t *children;         /* array of strings */
    json_t *meta;             /* object */
    json_t *events;           /* object {"PRECANCEL": {"name", "envelope"}, ...} */
    json_t *priv;             /* object: orchestration bookkeeping (status_internal.h) */
} gbx__status_row;

/* Set of states as a bit mask. */
#define GBX__STATE_BIT(state) (1u << (unsigned)(state))

typedef enum gbx__change_kind {
    GBX__CHANGE_STATE,       /* state = to, if the stored state is in allowed_from */
    GBX__CHANGE_COMPLETE,    /* state = to, progress 100, code = number, append text if
                                not NULL; only if the stored state is in allowed_from */
    GBX__CHANGE_PROGRESS,    /* progress = MAX(progress, number) */
    GBX__CHANGE_MESSAGE,     /* append text to messages */
    GBX__CHANGE_CHILD,       /* append text to children */
    GBX__CHANGE_META,        /* meta[text] = value; value NULL deletes the key */
    GBX__CHANGE_CONCURRENCY, /* concurrency = MAX(0, concurrency + number) */
    GBX__CHANGE_FAILURE,     /* failures += 1 */
    GBX__CHANGE_YTIME,       /* ytime = real */
    GBX__CHANGE_ENVELOPE,    /* envelope = text (NULL clears it) */
    GBX__CHANGE_EVENT,       /* events[text] = value; value NULL deletes the key */
    GBX__CHANGE_PRIVATE,     /* private[text] = value; value NULL deletes the key */
    GBX__CHANGE_FINISH_CANCEL, /* state = to, progress 100, code = number unless a code
                                  is set, append text if not NULL; only if the stored
                                  state is in allowed_from */
    /* The two changes of a worker's job, each one write where STATE +
     * CONCURRENCY and COMPLETE + CONCURRENCY were two (issue [E] §4):
     * ENTER: a worker starts on the status: state = to (which may equal the
     *   stored state, e.g. RUNNING -> RUNNING for a continuation) and
     *   concurrency = concurrency + 1, both or neither: only if the stored
     *   state is in allowed_from (else a conflict, nothing changes). */
    GBX__CHANGE_ENTER,
    /* COMPLETE_LEAVE: the worker is done: exactly COMPLETE (state = to,
     *   progress 100, code = number, text appended if not NULL) and
     *   concurrency = MAX(0, concurrency - 1), both or neither: only if the
     *   stored state is in allowed_from. */
    GBX__CHANGE_COMPLETE_LEAVE,
} gbx__change_kind;

/* One change; every change also sets mtime = MAX(mtime, now). */
typedef struct gbx__change {
    gbx__change_kind kind;
    double now;
    unsigned allowed_from;   /* STATE, COMPLETE, FINISH_CANCEL, ENTER, COMPLETE_LEAVE:
                                GBX__STATE_BIT mask */
    gbx_state to;            /* STATE, COMPLETE, FINISH_CANCEL, ENTER, COMPLETE_LEAVE */
    int number;              /* COMPLETE, FINISH_CANCEL, COMPLETE_LEAVE: code; PROGRESS;
                                CONCURRENCY: delta */
    double real;             /* YTIME */
    const char *text;        /* MESSAGE, CHILD, META/EVENT/PRIVATE key, COMPLETE,
                                FINISH_CANCEL and COMPLETE_LEAVE message, ENVELOPE */
    const json_t *value;     /* META, EVENT, PRIVATE */
} gbx__change;

/* A collection query, already checked and normalised by status.c: NULL /
 * GBX_STATE_UNKNOWN / -1 mean "any". */
typedef struct gbx__status_query {
    const char *uri_part;    /* substring of uri, ASCII case-insensitive, taken
                                literally (no wildcards) */
    gbx_state state;
    const char *operation, *component, *scope; /* exact */
    const char *owner;       /* exact; NULL = any */
    bool ownerless;          /* only rows whose owner is NULL */
    int code, progress;
    int count;               /* 1 to GBX_STATUS_LIST_MAX */
} gbx__status_query;

/* One row of the job queue (queue_internal.h).  Strings are malloc'ed
 * (status_id may be NULL). */
typedef struct gbx__queued {
    char *ticket, *status_id, *name, *envelope;
    double due;
    double submitted;   /* queue_put/insert: 0 = not submitted, else when */
    bool lease_expired; /* queue_claim_due: the row was taken and its lease ran out */
    bool retryable;     /* queue_claim_due of an expired row: what its worker said */
} gbx__queued;

typedef struct gbx__store_ops {
    const char *name; /* the config type, e.g. "sqlite" */
    /* Closes every connection and frees the handle. */
    void (*close)(gbx_store *store);
    /* Inserts `row` (seq is assigned by the backend, events and priv start
     * as {}; the rest is kept as given) with its envelope (NULL: none) and,
     * in the same transaction, the queue row `queued` (NULL: none); *out
     * receives the stored row.  GBX_ERR_CONFLICT if the id or the ticket
     * exists (then neither is written). */
    gbx_err (*insert)(gbx_store *store, const gbx__status_row *row, const char *envelope,
                      const gbx__queued *queued, gbx__status_row *out);
    /* Reads one row; gbx__store_not_found if there is none. */
    gbx_err (*load)(gbx_store *store, const char *id, gbx__status_row *out);
    /* *out: malloc'ed envelope, NULL when none is kept. */
    gbx_err (*load_envelope)(gbx_store *store, const char *id, char **out);
    /* Applies one change atomically; *out receives the row after it.  A state
     * change whose precondition fails is gbx__store_conflict(current state). */
    gbx_err (*update)(gbx_store *store, const char *id, const gbx__change *change,
                      gbx__status_row *out);
    /* Ids matching the query, ctime descending then seq descending.  *out:
     * new array reference. */
    gbx_err (*list)(gbx_store *store, const gbx__status_query *query, json_t **out);
    /* {id: mtime} for the ids (n of them, 1 or more) whose row has mtime >
     * since, in one read.  *out: new object reference. */
    gbx_err (*changed)(gbx_store *store, const char *const *ids, size_t n, double since,
                       json_t **out);
    /* *out: the store's change counter as the calling thread sees it, 0 if
     * the backend has none. */
    gbx_err (*version)(gbx_store *store, uint64_t *out);
    /* counter[id, name] += delta (created at 0) in one atomic statement;
     * *out = the new value.  gbx__store_not_found if the status does not exist. */
    gbx_err (*counter_add)(gbx_store *store, const char *id, const char *name,
                           long long delta, long long *out);

    /* The job queue, each one atomic statement (see the contract above).
     * `now`/`submitted` are the caller's clock (gbx__now()); submitted 0 =
     * not submitted yet.  Arguments are checked by store.c. */
    gbx_err (*queue_put)(gbx_store *store, const gbx__queued *row);
    gbx_err (*queue_take)(gbx_store *store, const char *ticket, double now, double lease,
                          bool retryable, bool *taken);
    gbx_err (*queue_renew)(gbx_store *store, const char *ticket, double lease, bool *held);
    gbx_err (*queue_done)(gbx_store *store, const char *ticket);
    /* *out: malloc'ed array (NULL when *n is 0), freed with gbx__queued_free. */
    gbx_err (*queue_claim_due)(gbx_store *store, double now, double resubmit_after,
                               size_t max, gbx__queued **out, size_t *n);
    gbx_err (*queue_next_due)(gbx_store *store, double *out);
    /* *n = rows changed. */
    gbx_err (*queue_reschedule)(gbx_store *store, const char *status_id, double due,
                                size_t *n);
    gbx_err (*queue_drop)(gbx_store *store, const char *status_id, size_t *n);

    /* Idempotency keys (see the contract above). */
    gbx_err (*idempotency_put)(gbx_store *store, const char *key, const char *digest,
                               const char *status_id, double now, double expire_before,
                               char **existing_id, char **existing_digest);
    gbx_err (*idempotency_drop)(gbx_store *store, const char *key, const char *status_id);

    /* Completion callbacks (see the contract above); claim's *out is a
     * malloc'ed array (NULL when *n is 0). */
    gbx_err (*callback_put)(gbx_store *store, const char *status_id, const char *url,
                            const char *location);
    gbx_err (*callback_claim)(gbx_store *store, double now, double lease_seconds, size_t max,
                              gbx_store_callback **out, size_t *n);
    gbx_err (*callback_retry)(gbx_store *store, const char *status_id, double due, int attempts,
                              double first_try);
    gbx_err (*callback_done)(gbx_store *store, const char *status_id);

    /* Retention: *n = statuses deleted (see the contract above). */
    gbx_err (*purge)(gbx_store *store, double before, size_t max, size_t *n);

    /* Metrics (see the contract above).  counts[s] = the number of
     * statuses in state s, for every s < n (the others 0). */
    gbx_err (*count_states)(gbx_store *store, long long *counts, size_t n);
    gbx_err (*workers_publish)(gbx_store *store, const char *worker, const char *component,
                               const char *figures, double now, double forget_before);
    /* *out: new array of {"worker", "component", "updated", "figures"}. */
    gbx_err (*workers_read)(gbx_store *store, double since, json_t **out);
} gbx__store_ops;

/* Every backend handle starts with this (zeroed but for ops). */
struct gbx_store {
    const gbx__store_ops *ops;
    double patience; /* gbx_store_set_patience; 0 = fail at once */
};

/* A backend as store.c's table lists it. */
typedef struct gbx__store_backend {
    const char *type; /* the config section's "type" */
    /* Opens the store `section` describes (the whole config section, "type"
     * included), creating the schema if needed; `base_dir` (may be NULL =
     * current directory) resolves relative file paths. */
    gbx_err (*open)(gbx_store **out, const json_t *section, const char *base_dir);
} gbx__store_backend;

/* The backends of this build (store.c's table names each). */
extern const gbx__store_backend gbx__store_backend_sqlite;
extern const gbx__store_backend gbx__store_backend_mariadb, gbx__store_backend_mysql;

/* ---- helpers for every backend (backend.c) ------------------------------ */

/* Sets and returns GBX_ERR_NOT_FOUND `status "<id>" not found`. */
gbx_err gbx__store_not_found(const char *id);

/* Sets and returns GBX_ERR_CONFLICT `state is currently <STATE>`. */
gbx_err gbx__store_conflict(gbx_state current);

/* Waiting out an outage: `do rc = call; while (gbx__store_again(store, rc,
 * &wait));` runs a call again while it fails with GBX_ERR_SERVICE_UNAVAILABLE,
 * pausing 50 ms, doubling up to 2 s, for up to the store's patience.  Only
 * for calls that change nothing when they fail so. */
typedef struct gbx__store_wait {
    double since, pause;
} gbx__store_wait;
bool gbx__store_again(const gbx_store *store, gbx_err rc, gbx__store_wait *wait);

/* ---- one connection per thread (every backend keeps them so) ----------- */

/* A backend's connection starts with this link. */
typedef struct gbx__conn_link {
    struct gbx__conn_link *prev, *next;
    struct gbx__conn_set *set;
} gbx__conn_link;

/* The connections of one store handle, one per thread that used it. */
typedef struct gbx__conn_set {
    pthread_key_t key;
    pthread_mutex_t lock; /* guards the list */
    gbx__conn_link *head;
    pid_t pid; /* the process that opened the store: connections do not survive fork */
    void (*free_conn)(gbx__conn_link *conn); /* closes and frees one */
    void (*thread_end)(void); /* after a thread's own connection is freed at its exit (or NULL) */
} gbx__conn_set;

/* Sets up an empty set; GBX_ERR_INTERNAL_SERVER_ERROR when no thread key is left. */
gbx_err gbx__conn_set_init(gbx__conn_set *set, void (*free_conn)(gbx__conn_link *),
                           void (*thread_end)(void));

/* *out: the calling thread's connection, NULL when it has none yet.  In a
 * forked child: GBX_ERR_INTERNAL_SERVER_ERROR naming `where`. */
gbx_err gbx__conn_set_mine(gbx__conn_link **out, gbx__conn_set *set, const char *where);

/* Makes `conn` the calling thread's (freed when the thread exits or the
 * set is closed). */
void gbx__conn_set_add(gbx__conn_set *set, gbx__conn_link *conn);

/* Frees every connection (in a forked child they are the parent's, and are
 * left alone) and the set's key and lock. */
void gbx__conn_set_close(gbx__conn_set *set);

/* A JSON column's text (`len` bytes; NULL: empty) as an array, or an object
 * when `object`: *out a new reference; GBX_ERR_INTERNAL_SERVER_ERROR naming
 * `column` when it holds something else. */
gbx_err gbx__store_parse_json(json_t **out, const char *text, size_t len, bool object,
                              const char *column);

/* Current time, unix seconds with sub-second precision. */
double gbx__now(void);
/* getpid() without a system call (kept; updated in a fork() child). */
pid_t gbx__pid(void);

/* Frees what the row owns and zeroes it (NULL is accepted). */
void gbx__status_row_clear(gbx__status_row *row);

/* Frees `n` queue rows and the array. */
void gbx__queued_free(gbx__queued *rows, size_t n);

/* What `change` means, applied to a row in memory (all but ENVELOPE, which
 * is not part of the row): a failed precondition is gbx__store_conflict and
 * leaves the row as it was.  Local statuses (status.c) live by it; a backend
 * may use it for a read-modify-write inside its write-locked transaction. */
gbx_err gbx__change_apply(gbx__status_row *row, const gbx__change *change);

/* Reads an optional member of a config section: *out = dflt (NULL) when it
 * is absent or null; GBX_ERR_BAD_REQUEST "status store: ..." when it is not
 * an integer from 0 to `max` / not a string.  The string is borrowed. */
gbx_err gbx__store_option_int(int *out, const json_t *section, const char *key, int dflt,
                              int max);
gbx_err gbx__store_option_string(const char **out, const json_t *section, const char *key);

#endif
