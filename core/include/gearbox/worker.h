/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gearbox/worker.h - the worker runtime (DESIGN §1, §5, §6).
 *
 * A worker connects to the gearmand servers of its config, registers its
 * handlers and takes one job at a time.  For every job it decodes and
 * validates the envelope; a job with a `ticket` (handed over inside the
 * system: continuation, event job, delayed job, retry) runs only if the
 * worker claims its queue row, so it runs once however often gearmand
 * delivers it.  For an async job it moves the status PENDING -> RUNNING
 * (firing the STARTED job events); a RUNNING status is accepted only for a
 * ticketed job; a status being cancelled (STOPPING) never starts the
 * handler: the worker moves it on to STOPPED.  It keeps `concurrency` right,
 * checks the status once more just before the handler (in the row read
 * back when it raises `concurrency`), calls the handler with the job set as
 * the job manager's current job, and maps the result onto the status:
 *   SUCCESS  -> the afterwards queue runs, then COMPLETED code 0 (+ events
 *               COMPLETED, SUCCEEDED);
 *   ERROR    -> COMPLETED with the handler's error code and message (+ events
 *               COMPLETED, FAILED); the afterwards queue is dropped;
 *   CONTINUE -> the afterwards queue runs; the status stays open;
 *   RETRY    -> gbx_jobmanager_retry (re-queued with a backoff, or failed
 *               after the configured number of attempts).
 * A status found STOPPING after the handler (a cancel arrived; e.g. its
 * checkpoint returned 410) is not completed: it becomes STOPPED, its STOPPED
 * events fire, and the cancellation goes on.  For a sync job the result
 * becomes the Gearman reply (RETRY is a 500 there).
 *
 * Errors from handlers: set the thread's last error (gbx_error_set(code,
 * "...")) and return GBX_WORKER_ERROR; a handler that returns
 * GBX_WORKER_ERROR without setting one fails with 500.
 */
#ifndef GEARBOX_WORKER_H
#define GEARBOX_WORKER_H

#include <stdbool.h>

#include "gearbox/config.h"
#include "gearbox/error.h"
#include "gearbox/job.h"
#include "gearbox/jobmanager.h"
#include "gearbox/response.h"
#include "gearbox/store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum gbx_worker_result {
    GBX_WORKER_SUCCESS = 0,
    GBX_WORKER_ERROR = 1,
    GBX_WORKER_CONTINUE = 2,
    GBX_WORKER_RETRY = 3,
} gbx_worker_result;

typedef gbx_worker_result (*gbx_handler_fn)(gbx_job *job, gbx_response *resp, void *user);
typedef void (*gbx_request_hook)(gbx_job *job, void *user);

typedef struct gbx_worker gbx_worker;

/* Loads the config file (gearman servers, status store, schemadir, ...)
 * and opens the store.  Connects to gearmand lazily, in run.  *out: free
 * with gbx_worker_free. */
gbx_err gbx_worker_new(gbx_worker **out, const char *config_path);

/* The same from a loaded config; the worker takes ownership of `cfg` (it
 * is freed on failure too).  Keys read: gearman (see
 * gbx_config_gearman_servers), status (required: the store section, paths
 * relative to the config's directory), schemadir (optional; no schemas ->
 * json_content does not validate), schema_dialect (default dialect of the
 * schema files, e.g. "legacy"), component (for the worker's identifier). */
gbx_err gbx_worker_new_from_config(gbx_worker **out, gbx_config *cfg);

void gbx_worker_free(gbx_worker *worker);

/* Registers `fn` for the Gearman function `name` (a handler name such as
 * "do_get_barn_animal_v1"); registering a name again replaces it. */
gbx_err gbx_worker_register(gbx_worker *worker, const char *name, gbx_handler_fn fn, void *user);

/* Whether the job of handler `name` (registered) is run again when its
 * worker dies in the middle of it (true, the default: at-least-once) or
 * fails with 500 "worker died" (false: for handlers that must never run
 * twice).  GBX_ERR_NOT_FOUND if `name` is not registered. */
gbx_err gbx_worker_set_retryable(gbx_worker *worker, const char *name, bool retryable);

/* Called before / after every handler call (either may be NULL); not for
 * jobs that are rejected or skipped.  `post` runs once the result is
 * recorded on the status, before concurrency is lowered again. */
void gbx_worker_set_hooks(gbx_worker *worker, gbx_request_hook pre, gbx_request_hook post, void *user);

/* run() returns once request_count reaches `n` (0 = never).  Every job
 * taken from gearmand counts, also one that was rejected or skipped. */
void gbx_worker_set_max_requests(gbx_worker *worker, unsigned long n);
unsigned long gbx_worker_request_count(const gbx_worker *worker);

/* Serves jobs until gbx_worker_stop() or max_requests.  Waits for jobs with
 * a timeout so that stop and reconnects are noticed within a second; losing
 * gearmand is logged and retried, not fatal. */
gbx_err gbx_worker_run(gbx_worker *worker);

/* gbx_worker_run() for a worker process's main(): SIGTERM and SIGINT stop
 * the worker after the job in hand (gbx_worker_stop) and SIGPIPE is
 * ignored while it runs; the previous signal dispositions are restored
 * before it returns, so no signal reaches the worker once run() is over.
 * One worker per process may use it at a time (GBX_ERR_CONFLICT otherwise).
 * Language bindings do not wrap it: their interpreters own the signals. */
gbx_err gbx_worker_run_until_signal(gbx_worker *worker);

/* Serves at most one job, waiting up to timeout_ms (-1 = no limit).  GBX_OK
 * whether or not a job came; *served (may be NULL) says which.  When no
 * gearmand can be reached it waits a short, growing backoff (at most
 * timeout_ms) and returns GBX_ERR_SERVICE_UNAVAILABLE: call again to retry. */
gbx_err gbx_worker_work_once(gbx_worker *worker, int timeout_ms, bool *served);

/* Asks run() to return after the current job.  Async-signal-safe and
 * thread-safe.  A stopped worker stays stopped: a later run() returns at
 * once. */
void gbx_worker_stop(gbx_worker *worker);

/* Borrowed. */
const gbx_config *gbx_worker_config(const gbx_worker *worker);
gbx_store *gbx_worker_store(const gbx_worker *worker);

/* The worker's job manager (made with the worker over its config and
 * store; borrowed). */
gbx_jobmanager *gbx_worker_job_manager(gbx_worker *worker);

/* afterwards(job[, name][, delay]): once the running handler has returned
 * SUCCESS or CONTINUE, a copy of `job` (renamed to `name` if not NULL) runs,
 * or is delayed by `delay` seconds when delay > 0.  A copy of the current
 * job shares its status (a continuation: return GBX_WORKER_CONTINUE so that
 * the status stays open for it).  Jobs run in the order given; when the
 * handler fails (ERROR, RETRY, or the job is being cancelled) the queue is
 * dropped.  A queued job that cannot be started fails the status.  The
 * copy always runs async (a sync job's copy gets a status of its own).
 * GBX_ERR_BAD_REQUEST for a REST job. */
gbx_err gbx_worker_afterwards(gbx_worker *worker, const gbx_job *job, const char *name,
                              double delay);
/* Empties the afterwards queue. */
void gbx_worker_clear_afterwards(gbx_worker *worker);

#ifdef __cplusplus
}
#endif
#endif
