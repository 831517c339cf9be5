/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gearbox/agents.h - agents: a set of handlers run in dependency order
 * (Gearbox's JobManager::job_queue / job_queue_run and the
 * do_run_global_agents_v1 runner).
 *
 * Agents come in Gearbox's form, an object whose keys are handler names:
 *   {handler: {"require": [handler names], "type": "SYNC", "method": M,
 *              "uri": U}, ...}
 * (a value may be {}, [] or null: no requirements), or as a JSON array of
 * objects:
 *   {"name": handler, "require": [agent names] | "name" | null,
 *    "content": <any JSON>, "envelope": {<job envelope>},
 *    "type": "SYNC" | "ASYNC", "method": M, "uri": U}
 * Only "name" is required.  An agent becomes an async job for its handler
 * (gbx_jobmanager_job, or gbx_jobmanager_job_from_envelope over "envelope"),
 * a sync one when its "type" is "SYNC", or a REST job (gbx_jobmanager_rest_job)
 * when it has a "method" (PUT, POST, DELETE, GET, HEAD): to its "uri", else
 * to its name, as Gearbox's keys were; other agents require it by its name.
 * "content" is its body (a string as is, any other value as JSON text).
 * Agents are put on levels: level 1 holds the agents that require nothing,
 * and an agent's level is 1 + the highest level of the agents it requires.
 * Within a level the agents keep the order of the list.  The agents of a
 * level run in parallel; a level starts when the previous one has finished
 * successfully.
 */
#ifndef GEARBOX_AGENTS_H
#define GEARBOX_AGENTS_H

#include <stddef.h>
#include <jansson.h>

#include "gearbox/error.h"
#include "gearbox/job.h"
#include "gearbox/jobmanager.h"
#include "gearbox/worker.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gbx_job_queue gbx_job_queue;

/* Levels agents ({handler: {"require": [names…]}, …} or [{"name": handler,
 * "require": [names…]}, …]) by dependency (level 1 has no requirements)
 * and makes their jobs.  Errors are GBX_ERR_INTERNAL_SERVER_ERROR naming
 * the agents: a malformed list ("agent #2 is not an object", `agent "a"
 * must be an object {"require": [handler names]}`, a bad "method", …), an agent listed twice, a `require`
 * naming no agent (`agent "a" requires "z", which is not an agent`), an
 * agent requiring itself (`agent "a" requires itself`), a cycle (`agents
 * form a dependency cycle: "a" requires "b" requires "a"`); errors of making
 * the jobs as they are (e.g. 404 for an unknown handler).  *out: free with
 * gbx_job_queue_free. */
gbx_err gbx_jobmanager_job_queue(gbx_job_queue **out, gbx_jobmanager *jm, const json_t *agents);

/* An empty queue (no levels), to fill with gbx_job_queue_add: how the
 * bindings build one from the levels a caller holds (job_queue's levels,
 * changed or not).  *out: free with gbx_job_queue_free. */
gbx_err gbx_job_queue_new(gbx_job_queue **out);

/* Appends a copy of `job` (gbx_job_copy; the caller keeps `job`) to a level
 * (from 0).  level == gbx_job_queue_levels(q) adds a new last level; a
 * larger one is GBX_ERR_BAD_REQUEST ("job queue level 5 does not exist: the
 * queue has 2 levels (add level 2 first)"), as are a NULL queue or job. */
gbx_err gbx_job_queue_add(gbx_job_queue *q, size_t level, const gbx_job *job);

/* Frees the queue and its jobs; NULL is accepted. */
void gbx_job_queue_free(gbx_job_queue *q);

/* Number of levels (0 for an empty agent list). */
size_t gbx_job_queue_levels(const gbx_job_queue *q);

/* Number of jobs on a level (level from 0; 0 outside the range). */
size_t gbx_job_queue_level_size(const gbx_job_queue *q, size_t level);

/* The index-th job of a level (level from 0), in the order of the agent
 * list; NULL outside the range.  Borrowed: owned by the queue. */
gbx_job *gbx_job_queue_job(gbx_job_queue *q, size_t level, size_t index);

/* Reverses the order of the levels (used for "delete": undo in reverse). */
void gbx_job_queue_reverse(gbx_job_queue *q);

/* Runs level after level (the jobs of a level in parallel, as async
 * children of the current status, via gbx_jobmanager_run) and waits for
 * each level with gbx_jobmanager_wait (a REST job: its answer, >= 400 being
 * its failure, and the status it names if any).  Stops at the first failed agent
 * (returns its code, message = its last status message) or when `timeout`
 * seconds (<= 0: no limit) have passed in all (GBX_ERR_GATEWAY_TIMEOUT). */
gbx_err gbx_jobmanager_job_queue_run(gbx_jobmanager *jm, gbx_job_queue *q, double timeout);

/* Registers the built-in event-driven runner under `name` (e.g.
 * "do_run_global_agents_v1").  Its content: {"agents": [...], "content":
 * <body of every agent without a "content" of its own>}.  The levels run in
 * order (reversed when the job's operation is "delete"); each agent is a
 * child of the runner's status.  The runner starts level 1 and returns
 * CONTINUE; every agent has on(COMPLETED) = a copy of the runner job (same
 * status, so it runs as a continuation) whose environ carries
 * "GEARBOX_AGENTS_LEVEL": "<k>" (1-based, in run order), and the runner
 * resumes there: a failed agent fails the runner with its code and last
 * message (only the first); otherwise the status counter "level-<k>"
 * (gbx_status_counter_add on the runner's status) goes up by one, and the
 * event that completes level k starts level k + 1 or, after the last level,
 * completes the runner (SUCCESS).  Progress at the start of level k is
 * max(1, floor(100/levels)*(k-1)).  Sync and REST agents run inline when
 * their level starts, before its async agents (a REST answer >= 400 fails
 * the agent; one naming a status is waited for, up to jobs.sync_timeout),
 * and count towards the level at once; a level of only such agents is done
 * there and the next one starts.  A sync call runs the same levels with
 * gbx_jobmanager_job_queue_run (timeout jobs.sync_timeout). */
gbx_err gbx_worker_register_agents(gbx_worker *w, const char *name);

#ifdef __cplusplus
}
#endif
#endif
