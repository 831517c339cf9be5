/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_watch.h - long-poll: requests that wait for a status to change.
 *
 * One watcher thread serves every waiting request of the gateway.  A waiter
 * names a status and the mtime it saw; every GBX_GW_WATCH_TICK_MS the thread
 * asks the store, in one read (gbx_status_changed), which of all the waited
 * statuses changed since, whoever changed them (workers in other processes,
 * other gateways), and wakes exactly the waiters whose status moved, or
 * whose deadline came.  A waiting request holds no thread: its connection
 * stays suspended in libmicrohttpd until its wake-up resumes it.
 *
 * Also what a request's Prefer headers ask for (RFC 7240: wait=N,
 * respond-async).
 */
#ifndef GBX_GW_WATCH_H
#define GBX_GW_WATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "gearbox/error.h"
#include "gearbox/store.h"

/* How often the watcher asks the store (a change reaches its waiters within
 * about this long), and the longest wait a client may ask for. */
#define GBX_GW_WATCH_TICK_MS 100
#define GBX_GW_WAIT_MAX 60

typedef struct gbx_gw_watch gbx_gw_watch;

/* Called exactly once per gbx_gw_watch_add, on the watcher thread (or the
 * thread that stops the watcher): `changed` true when the status's mtime
 * moved past the one given, false when the deadline came or the watcher
 * stops.  It must not call back into the watcher. */
typedef void (*gbx_gw_wake_fn)(void *user, bool changed);

/* Starts the watcher thread for `store` (borrowed; it outlives the watcher).
 * *out: stop and free with gbx_gw_watch_free. */
gbx_err gbx_gw_watch_new(gbx_gw_watch **out, gbx_store *store);

/* Waits for status `id` (copied) to change after `mtime` (gbx_status_mtime
 * of the status the caller saw), at most until `deadline` (gbx_gw_now()
 * seconds).  GBX_OK: `wake(user, ...)` will be called once, possibly before
 * this returns.  GBX_ERR_SERVICE_UNAVAILABLE once the watcher is stopping
 * (then `wake` is never called). */
gbx_err gbx_gw_watch_add(gbx_gw_watch *w, const char *id, double mtime, double deadline,
                         gbx_gw_wake_fn wake, void *user);

/* Requests waiting now. */
size_t gbx_gw_watch_waiting(gbx_gw_watch *w);

/* Wakes every waiter (changed false) and ends the thread; later adds fail.
 * Idempotent; NULL accepted. */
void gbx_gw_watch_stop(gbx_gw_watch *w);

/* Stops (if needed) and frees.  NULL accepted. */
void gbx_gw_watch_free(gbx_gw_watch *w);

/* ---- Prefer -------------------------------------------------------------- */

/* What a request's Prefer headers ask for (RFC 7240). */
typedef struct gbx_gw_prefer {
    int wait;            /* wait=N seconds, clamped to GBX_GW_WAIT_MAX; 0 = none */
    bool respond_async;  /* respond-async */
} gbx_gw_prefer;

/* Adds one Prefer header value (a comma-separated list of preferences, each
 * `token[=value]` with ;parameters, names case-insensitive) to *p.  Unknown
 * preferences and malformed waits are ignored, as RFC 7240 asks; the first
 * wait counts. */
void gbx_gw_prefer_parse(gbx_gw_prefer *p, const char *value);

#endif
