/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gearbox/store.h - the status store: where every async job's status and
 * envelope live (DESIGN §1).
 *
 * A gbx_store is one open database, shared by all threads of a process: each
 * thread gets its own connection on first use (closed when that thread exits
 * or the store is freed).  Several processes may open the same database at
 * once; every status update is atomic across them.  A store does not cross
 * fork(): in the child every call fails (GBX_ERR_INTERNAL_SERVER_ERROR) until
 * the child opens a store of its own.  Backends: "sqlite" (WAL, busy
 * timeout; the default) and "mariadb" (alias "mysql": a MariaDB 10.6+ or
 * MySQL 8 server, docs/stack.md); each implements the private interface
 * core/src/store/backend.h.  The row layout is private to the
 * backends; everything else goes through gearbox/status.h.
 */
#ifndef GEARBOX_STORE_H
#define GEARBOX_STORE_H

#include <jansson.h>

#include "gearbox/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gbx_store gbx_store;

/* Opens the store a config section describes, creating the schema if needed:
 *   {"type": "sqlite", "path": "state/status.db", "busy_timeout_ms": 5000,
 *    "synchronous": "normal"}
 *   {"type": "mariadb", "host": "127.0.0.1", "port": 3306, "socket": null,
 *    "user": "gearbox", "password_file": "db-password", "database": "gearbox"}
 * `type` defaults to "sqlite".  SQLite: `busy_timeout_ms` (default 5000) is
 * how long a writer waits for another's lock; `synchronous` is "normal"
 * (default; WAL stays consistent, a power cut may lose the last commits) or
 * "full" (fsync on every commit); the file's directory is created if
 * missing.  MariaDB: `host` (127.0.0.1) and `port` (3306) or a unix
 * `socket`; `user` and `database` (both "gearbox"); `password` or
 * `password_file` (its first line, read once); `connect_timeout` (5 s),
 * `io_timeout` (30 s) and `lock_wait_timeout` (5 s); the database must exist,
 * its tables are created.  `base_dir` (may be NULL = current directory)
 * resolves relative paths.  Bad settings are GBX_ERR_BAD_REQUEST (naming the
 * member), a database that cannot be reached, is locked too long or full
 * GBX_ERR_SERVICE_UNAVAILABLE, other database failures
 * GBX_ERR_INTERNAL_SERVER_ERROR.  *out: free with gbx_store_free. */
gbx_err gbx_store_open(gbx_store **out, const json_t *section, const char *base_dir);

/* Shorthand for a SQLite file with the default settings (a relative path is
 * resolved against the current directory). */
gbx_err gbx_store_open_sqlite(gbx_store **out, const char *path);

/* Closes every connection of every thread; NULL is accepted.  Call it once
 * no other thread uses the store any more.  In a forked child it releases
 * the handle but leaves the parent's connections alone. */
void gbx_store_free(gbx_store *store);

/* How long calls wait out an unavailable database (GBX_ERR_SERVICE_UNAVAILABLE:
 * locked, full, unreachable), trying again with a backoff from 50 ms to 2 s:
 * 0 (the default, the gateway's: answer 503 at once) fails at once.  The
 * worker runtime sets jobs.store_patience (default 60 s), so that a database
 * restart does not fail the jobs running meanwhile. */
void gbx_store_set_patience(gbx_store *store, double seconds);

/* "sqlite" or "mariadb".  Static string. */
const char *gbx_store_backend(const gbx_store *store);

/* ---- completion callbacks (the gateway's Gearbox-Callback header) -------
 * A callback owed for a status: kept in the store so that it survives a
 * gateway restart, and claimed like the job queue's rows so that exactly one
 * of several gateways sharing the store sends it at a time. */
typedef struct gbx_store_callback {
    char *status_id; /* malloc'ed */
    char *url;       /* where to POST the final status; malloc'ed */
    char *location;  /* the gateway location whose secret signs it; malloc'ed */
    int attempts;    /* attempts made so far */
    double first_try; /* unix seconds of the first attempt, 0 before it */
} gbx_store_callback;

/* Records that the final status of `status_id` is owed to `url`, signed
 * with the secret of `location`.  One callback per status: GBX_ERR_CONFLICT
 * when the status has one already. */
gbx_err gbx_store_callback_put(gbx_store *store, const char *status_id, const char *url,
                               const char *location);

/* Claims up to `max` callbacks that are due and whose status is final
 * (COMPLETED or CANCELLED) for `lease_seconds` (a claim that is neither
 * retried nor done by then goes to the next caller), in one atomic step.
 * *out: malloc'ed array (NULL when *n is 0), free with
 * gbx_store_callbacks_free. */
gbx_err gbx_store_callback_claim(gbx_store_callback **out, size_t *n, gbx_store *store,
                                 double lease_seconds, size_t max);

/* After a failed attempt: the callback is due again at `due` (unix seconds),
 * with `attempts` and `first_try` recorded; its claim ends. */
gbx_err gbx_store_callback_retry(gbx_store *store, const char *status_id, double due,
                                 int attempts, double first_try);

/* Deletes the callback of `status_id` (delivered, given up, or its request
 * was not accepted); nothing happens when there is none. */
gbx_err gbx_store_callback_done(gbx_store *store, const char *status_id);

/* Frees `n` callbacks and the array; NULL accepted. */
void gbx_store_callbacks_free(gbx_store_callback *rows, size_t n);

#ifdef __cplusplus
}
#endif
#endif
