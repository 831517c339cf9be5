/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gearbox/jobmanager.h - starting jobs from code: the job manager of
 * DESIGN §5 (Gearbox's JobManager).
 *
 * A job manager makes jobs (for a handler, from an envelope, or REST jobs
 * over HTTP) and runs them: sync jobs wait for the handler's reply through
 * gearmand, async jobs get a status and go through the store's queue
 * (gbx_queue) before gearmand ("no lost jobs": a job handed over inside the
 * system is a row in the store first; the worker claims it by deleting the
 * row, so it runs exactly once), REST jobs go through libcurl.  It also
 * retries jobs, submits delayed and due jobs (the scheduler step), fires job
 * events, and reads statuses (local or remote).
 *
 * Config (borrowed from the caller): the gearman servers (see
 * gbx_config_gearman_servers), "handlers" (optional list of handler names
 * known besides those registered with gearmand) and the section "jobs":
 *   sync_timeout 30       seconds a sync run waits for the reply
 *   rest_timeout 30       seconds a REST run (or remote status read) waits
 *   retry_max_attempts 25 failures after which retry gives up (0: never)
 *   retry_max_delay 300   cap of the retry pause, in seconds (retry's default)
 *   retry_max_jitter 15   most random seconds added to a pause above it
 *   resubmit_after 60     seconds after which a submitted but unclaimed
 *                         queue row is submitted again
 *
 * Threads: a job manager may be shared by threads; each thread gets its own
 * gearman client and curl handle on first use.  The current job
 * (gbx_jobmanager_set_current) is per thread as well.
 */
#ifndef GEARBOX_JOBMANAGER_H
#define GEARBOX_JOBMANAGER_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "gearbox/config.h"
#include "gearbox/envelope.h"
#include "gearbox/error.h"
#include "gearbox/job.h"
#include "gearbox/response.h"
#include "gearbox/status.h"
#include "gearbox/store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gbx_jobmanager gbx_jobmanager;

/* Over a config (gearman servers; section "jobs": sync_timeout 30,
 * rest_timeout 30, retry_max_attempts 25, retry_max_delay 300,
 * retry_max_jitter 15, resubmit_after 60) and a store (both borrowed; both must outlive the job manager; store
 * may be NULL for a manager that only runs sync and REST jobs).  Thread-safe
 * (one gearman client and one curl handle per thread).  *out: free with
 * gbx_jobmanager_free. */
gbx_err gbx_jobmanager_new(gbx_jobmanager **out, const gbx_config *cfg, gbx_store *store);

/* Frees the manager and the clients of every thread; NULL is accepted.  Call
 * it once no thread uses it any more. */
void gbx_jobmanager_free(gbx_jobmanager *jm);

/* The store and config given to gbx_jobmanager_new.  Borrowed. */
gbx_store *gbx_jobmanager_store(const gbx_jobmanager *jm);
const gbx_config *gbx_jobmanager_config(const gbx_jobmanager *jm);

/* The job whose handler runs now in the calling thread (the worker sets it
 * around each handler call; borrowed, NULL clears): async jobs started
 * meanwhile become children of its status; REST jobs forward its headers. */
void gbx_jobmanager_set_current(gbx_jobmanager *jm, gbx_job *job);
/* The calling thread's current job, or NULL.  Borrowed. */
gbx_job *gbx_jobmanager_current(const gbx_jobmanager *jm);

/* base_uri for new jobs when there is no current job (e.g.
 * "http://127.0.0.1:4080/barn/v1"; the version part is replaced by the
 * handler's version).  The string is copied; NULL clears it. */
gbx_err gbx_jobmanager_set_base_uri(gbx_jobmanager *jm, const char *base_uri);

/* job(name): a new async job for handler `name`
 * (do_<method>_<component>_<resource>_<version>; operation get/create/
 * create/delete for get/put/post/delete, component and resource type from
 * the name; base_uri, remote and trace context from the current job).  The
 * handler must be known (registered with gearmand - admin "status" command,
 * cached a few seconds - or listed in the config's "handlers"):
 * GBX_ERR_NOT_FOUND `handler "x" is not known` else; a name of another
 * shape is GBX_ERR_BAD_REQUEST.  *out: free with gbx_job_free. */
gbx_err gbx_jobmanager_job(gbx_job **out, gbx_jobmanager *jm, const char *name);

/* job(name, envelope): a deep copy of env, renamed to `name` (NULL keeps the
 * envelope's name).  Keeps the status id, so running it continues that
 * status.  *out: free with gbx_job_free. */
gbx_err gbx_jobmanager_job_from_envelope(gbx_job **out, gbx_jobmanager *jm, const char *name,
                                         const gbx_envelope *env);

/* job(method, uri): a REST job; run() sends it through libcurl (content as
 * body except for GET, HEAD and DELETE; headers of the current job forwarded
 * plus Gearbox-Parent-Uri).  *out: free with gbx_job_free. */
gbx_err gbx_jobmanager_rest_job(gbx_job **out, gbx_jobmanager *jm, gbx_http_method method,
                                const char *uri);

/* gen_id(prefix): "<prefix>-<26 chars>" (see gearbox/id.h).  *out:
 * malloc'ed. */
gbx_err gbx_jobmanager_gen_id(char **out, const char *prefix);

/* Runs a job.  Sync: waits (sync_timeout) for the handler's reply; a reply
 * code >= 400 is returned as that error (code + message of the reply body).
 * Async without a status: creates its status (parent_uri = current job's
 * status_uri, which gains it as a child, in start order), queues it; *out
 * has code 202, the status JSON as content and its status_uri.  Async with a
 * status (a copy of a job, Job(job)): a continuation sharing that status.
 * REST: the HTTP answer (any code); a 202 makes the remote status (body's
 * status_uri) a child of the current status.  When gearmand does not take an
 * async job it stays queued in the store (the scheduler submits it again)
 * and the run still succeeds.  *out: free with gbx_response_free (may be
 * NULL if not wanted). */
gbx_err gbx_jobmanager_run(gbx_response **out, gbx_jobmanager *jm, gbx_job *job);

/* Like run (async only; GBX_ERR_BAD_REQUEST for sync and REST jobs) but due
 * in `seconds`; the status shows ytime until it runs. */
gbx_err gbx_jobmanager_delay(gbx_response **out, gbx_jobmanager *jm, gbx_job *job, double seconds);

/* Retries the job (which has a status), as Gearbox's retry(job, max_delay,
 * max_jitter): failures += 1; if failures reached retry_max_attempts (0 =
 * no limit) the status fails (500 "<name> gave up after N attempts: <last
 * error>") and this returns that error; else the job is re-queued after
 * Fibonacci(failures) seconds (1,1,2,3,5,...) capped at `max_delay`, plus a
 * random 0..`max_jitter` s when that pause is above `max_jitter`; ytime
 * shows it.  max_delay <= 0 takes jobs.retry_max_delay (300), max_jitter < 0
 * takes jobs.retry_max_jitter (15). */
gbx_err gbx_jobmanager_retry(gbx_jobmanager *jm, gbx_job *job, double max_delay, double max_jitter);

/* A status by id or URI: from the store, else (http URI) read over HTTP as a
 * remote status whose refresh polls that URI.  *out: free with
 * gbx_status_free. */
gbx_err gbx_jobmanager_status(gbx_status **out, gbx_jobmanager *jm, const char *id_or_uri);

/* Waits (refreshing with a growing pause, 10 ms .. 500 ms) until the status
 * has completed; GBX_ERR_GATEWAY_TIMEOUT after `timeout` seconds (<= 0: no
 * limit). */
gbx_err gbx_jobmanager_wait(gbx_jobmanager *jm, gbx_status *status, double timeout);

/* Accepts an async job as the gateway does: creates its PENDING status
 * (`spec`; spec->id required) and, in the same write, the job's first queue
 * row, whose ticket is the status id (spec->envelope is the job's envelope
 * and carries "ticket": spec->id), then submits job `name` to gearmand.  If
 * no gearmand takes it, nothing is left behind: the status records the
 * failure, the row goes, and the submit's error (GBX_ERR_SERVICE_UNAVAILABLE)
 * comes back.  If gearmand loses it later, the scheduler submits it again
 * (jobs.resubmit_after).  *out: the new status, free with gbx_status_free. */
gbx_err gbx_jobmanager_accept(gbx_status **out, gbx_jobmanager *jm, const char *name,
                              const gbx_status_spec *spec);

/* gbx_jobmanager_accept for a request with an Idempotency-Key: `key` (the
 * client's, scoped by the caller, e.g. "<location> <key>") names the status
 * of the first request that carried it for 24 hours.  A repeat with the same
 * `digest` (of the request: method, path and body) gets that status back
 * (*replayed true, no new job); another digest is GBX_ERR_UNPROCESSABLE_ENTITY;
 * a repeat while the first is still being accepted is GBX_ERR_CONFLICT.  A
 * first request that fails leaves the key free.  *out as for accept. */
gbx_err gbx_jobmanager_accept_idempotent(gbx_status **out, bool *replayed, gbx_jobmanager *jm,
                                         const char *name, const gbx_status_spec *spec,
                                         const char *key, const char *digest);

/* Queues a serialized envelope on gearmand as a background job (the
 * gateway's submit); `unique` (may be NULL) makes gearmand merge a repeated
 * submit.  GBX_ERR_SERVICE_UNAVAILABLE with the reason when gearmand does
 * not take it (after one retry on a fresh connection). */
gbx_err gbx_jobmanager_submit(gbx_jobmanager *jm, const char *function, const char *unique,
                              const char *workload, size_t len);

/* Whether handler `name` is known: listed in the config's "handlers", or
 * registered with a gearmand server by a live worker (admin "status").
 * gearmand's answer is cached: a hit is trusted 2 s, a miss asks again once
 * the answer is a second old, and one thread asks at a time while the others
 * use the cache, so callers cost gearmand at most one ask a second.
 * GBX_ERR_SERVICE_UNAVAILABLE when the name is not listed and no server
 * answered (the last ask, within that second). */
gbx_err gbx_jobmanager_handler_known(bool *known, gbx_jobmanager *jm, const char *name);

/* Asks every gearmand server now (no cache) which functions live workers
 * registered: *out a new {function: available workers} object over the
 * servers that answered; GBX_ERR_SERVICE_UNAVAILABLE with the reason when
 * none did.  For reports such as gearbox-gateway --check. */
gbx_err gbx_jobmanager_registered(json_t **out, gbx_jobmanager *jm);

/* Scheduler step: submits every due queue row (claimed atomically, so
 * several gateways may run it), clearing the ytime of each one's status before
 * submitting it (a finished job never shows ytime); *submitted =
 * rows submitted, *next_due = earliest future due (0 = none).  Either out may
 * be NULL. */
gbx_err gbx_jobmanager_run_due(size_t *submitted, double *next_due, gbx_jobmanager *jm);

/* Fires the job events of a job whose status just changed (worker and cancel
 * use it): event is COMPLETED/FAILED/SUCCEEDED/STARTED/STOPPED/CANCELLED;
 * COMPLETED fires both COMPLETED and SUCCEEDED|FAILED per the code.  Each
 * event job gets event_status = status_uri and runs as by
 * gbx_jobmanager_run (new status child of `status` when it has none). */
gbx_err gbx_jobmanager_fire(gbx_jobmanager *jm, const gbx_envelope *env, gbx_status *status,
                            gbx_job_event event);

/* Cancellation (core/src/cancel.c): POST .../status/<id>
 * {"state":"CANCELLED"}.  *out: the cancel operation's own status
 * (operation "cancel", uri = target's status_uri, under the target's status
 * base and scope); free with gbx_status_free.  GBX_ERR_CONFLICT "state is
 * currently <STATE>" for STOPPING/STOPPED/CANCELLING or a cancellation
 * already in progress. */
gbx_err gbx_jobmanager_cancel(gbx_status **out, gbx_jobmanager *jm, const char *id_or_uri);

/* POST .../status/<id> {"ytime": t}: its queued job runs at t
 * (GBX_ERR_CONFLICT if it has no waiting job).  *out: the target status,
 * refreshed; free with gbx_status_free. */
gbx_err gbx_jobmanager_reschedule(gbx_status **out, gbx_jobmanager *jm, const char *id_or_uri,
                                  double ytime);

#ifdef __cplusplus
}
#endif
#endif
