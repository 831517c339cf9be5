/* store_internal.h - what a status store backend implements (private).
 *
 * status.c owns the rules (state machine, argument checks, JSON shape); a
 * backend owns the rows.  Each change to a status is handed to the backend as
 * one gbx__change, which the backend must apply atomically with respect to
 * every other process and thread writing the same database (one UPDATE, or a
 * short write-locked transaction), and answer with the row as it is after the
 * change.  A new backend (MySQL) fills a gbx__store_ops and embeds gbx_store
 * as the first member of its handle; status.c does not change.
 */
#ifndef GBX_STORE_INTERNAL_H
#define GBX_STORE_INTERNAL_H

#include <stdint.h>
#include <jansson.h>

#include "gearbox/status.h"
#include "gearbox/store.h"
#include "store/queue_internal.h"

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

/* Frees what the row owns and zeroes it. */
void gbx__status_row_clear(gbx__status_row *row);

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
} gbx__change_kind;

/* One change; every change also sets mtime = MAX(mtime, now). */
typedef struct gbx__change {
    gbx__change_kind kind;
    double now;
    unsigned allowed_from;   /* STATE, COMPLETE, FINISH_CANCEL: GBX__STATE_BIT mask */
    gbx_state to;            /* STATE, COMPLETE, FINISH_CANCEL */
    int number;              /* COMPLETE, FINISH_CANCEL: code; PROGRESS; CONCURRENCY: delta */
    double real;             /* YTIME */
    const char *text;        /* MESSAGE, CHILD, META/EVENT/PRIVATE key, COMPLETE and
                                FINISH_CANCEL message, ENVELOPE */
    const json_t *value;     /* META, EVENT, PRIVATE */
} gbx__change;

typedef struct gbx__store_ops {
    const char *name; /* "sqlite" */
    /* Closes every connection and frees the handle. */
    void (*close)(gbx_store *store);
    /* Inserts `row` (seq is assigned by the backend) with its envelope; *out
     * receives the stored row.  GBX_ERR_CONFLICT if the id exists. */
    gbx_err (*insert)(gbx_store *store, const gbx__status_row *row, const char *envelope,
                      gbx__status_row *out);
    /* Reads one row; GBX_ERR_NOT_FOUND via gbx__store_not_found. */
    gbx_err (*load)(gbx_store *store, const char *id, gbx__status_row *out);
    /* *out: malloc'ed envelope, NULL when none is kept. */
    gbx_err (*load_envelope)(gbx_store *store, const char *id, char **out);
    /* Applies one change atomically; *out receives the row after it.  A state
     * change whose precondition fails is gbx__store_conflict(current state). */
    gbx_err (*update)(gbx_store *store, const char *id, const gbx__change *change,
                      gbx__status_row *out);
    /* Ids matching the (normalised) filter, newest first: ctime descending,
     * then seq descending.  *out: new array reference. */
    gbx_err (*list)(gbx_store *store, const gbx_status_filter *filter, json_t **out);
    /* counter[id, name] += delta (created at 0) in one atomic statement;
     * *out = the new value.  GBX_ERR_NOT_FOUND if the status does not exist. */
    gbx_err (*counter_add)(gbx_store *store, const char *id, const char *name, long long delta,
                           long long *out);

    /* The job queue (queue_internal.h); each one atomic statement.  `now`
     * is the caller's clock (gbx__now()). */
    gbx_err (*queue_put)(gbx_store *store, const gbx__queued *row, double submitted);
    gbx_err (*queue_take)(gbx_store *store, const char *ticket, double now, bool *taken);
    gbx_err (*queue_claim_due)(gbx_store *store, double now, double resubmit_after, size_t max,
                               gbx__queued **out, size_t *n);
    gbx_err (*queue_next_due)(gbx_store *store, double *out);
    gbx_err (*queue_reschedule)(gbx_store *store, const char *status_id, double due, size_t *n);
    gbx_err (*queue_drop)(gbx_store *store, const char *status_id, size_t *n);
} gbx__store_ops;

/* Every backend handle starts with this. */
struct gbx_store {
    const gbx__store_ops *ops;
};

/* Backend options common to all backends, parsed by store.c. */
typedef struct gbx__store_options {
    const char *path;        /* sqlite: absolute or relative to cwd */
    int busy_timeout_ms;     /* sqlite: how long a writer waits for the lock */
    const char *synchronous; /* sqlite: "normal" (default) or "full" */
} gbx__store_options;

gbx_err gbx__store_sqlite_open(gbx_store **out, const gbx__store_options *options);

/* Sets and returns GBX_ERR_NOT_FOUND `status "<id>" not found`. */
gbx_err gbx__store_not_found(const char *id);

/* Sets and returns GBX_ERR_CONFLICT `state is currently <STATE>`. */
gbx_err gbx__store_conflict(gbx_state current);

/* Current time, unix seconds with sub-second precision. */
double gbx__now(void);

#endif
