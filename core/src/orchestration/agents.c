/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* agents.c - agents: handlers run level by level in dependency order.
 *
 * Three parts:
 *  - leveling (plan_agents): Kahn-style layering of the agent list; level of
 *    an agent = 1 + the highest level of its requirements;
 *  - gbx_job_queue and gbx_jobmanager_job_queue_run: a blocking runner for
 *    handlers (and tools) that may wait;
 *  - the event-driven runner registered by gbx_worker_register_agents: it
 *    never blocks a worker.  It starts the agents of a level as children of
 *    its status, each with on(COMPLETED) = a copy of the runner job (same
 *    status: a continuation) marked with the level in
 *    environ[GEARBOX_AGENTS_LEVEL]; every such event job adds 1 to the
 *    status counter "level-<k>" and the one that completes the level starts
 *    the next one (or completes the runner).
 */
#include "gearbox/agents.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gearbox/jobmanager.h"
#include "gearbox/json.h"
#include "gearbox/log.h"
#include "orchestration/jm_thread.h"

/* The environ entry of the runner's event jobs that says which level (1-based,
 * in run order) the agent that fired it belongs to. */
#define LEVEL_MARKER "GEARBOX_AGENTS_LEVEL"

#define NO_LEVEL SIZE_MAX

static gbx_err oom(void) {
    return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
}

/* ---- leveling ---------------------------------------------------------- */

/* Levels of an agent list.  level[i] is the 0-based level of agent i;
 * order[] lists the agents level by level, in list order within a level;
 * start[l] .. start[l + 1] is level l's slice of order[]. */
typedef struct plan {
    size_t n, nlevels;
    size_t *level;
    size_t *order;
    size_t *start; /* nlevels + 1 entries */
} plan;

static void plan_free(plan *p) {
    free(p->level);
    free(p->order);
    free(p->start);
    memset(p, 0, sizeof *p);
}

static const char *agent_name(const json_t *agents, size_t i) {
    return json_string_value(json_object_get(json_array_get(agents, i), "name"));
}

/* The requirements of an agent as given: NULL/null (none), a string or an
 * array of strings (checked by check_agents). */
static size_t req_count(const json_t *agent) {
    json_t *req = json_object_get(agent, "require");
    if (json_is_string(req)) return 1;
    return json_is_array(req) ? json_array_size(req) : 0;
}

static const char *req_at(const json_t *agent, size_t j) {
    json_t *req = json_object_get(agent, "require");
    if (json_is_string(req)) return json_string_value(req);
    return json_string_value(json_array_get(req, j));
}

static size_t find_agent(const json_t *agents, const char *name) {
    size_t n = json_array_size(agents);
    for (size_t i = 0; i < n; i++)
        if (strcmp(agent_name(agents, i), name) == 0) return i;
    return NO_LEVEL;
}

/* The HTTP method of a REST agent (a name of gbx__jm_method_name, any
 * case); false for another word. */
static bool agent_method(gbx_http_method *out, const char *name) {
    for (int m = GBX_METHOD_GET; name && m <= GBX_METHOD_HEAD; m++)
        if (strcasecmp(name, gbx__jm_method_name((gbx_http_method)m)) == 0) {
            *out = (gbx_http_method)m;
            return true;
        }
    return false;
}

/* Gearbox's object form {handler: {"require": [...], "type": "SYNC",
 * "method": M, "uri": U}, ...} as the list form (the keys become "name", in
 * the object's order); a list is returned as it is.  A value may be null or
 * [] (PHP's empty array) for {}.  *out: new reference. */
static gbx_err agents_as_list(json_t **out, const json_t *agents) {
    *out = NULL;
    if (!json_is_object(agents)) {
        *out = json_incref((json_t *)agents);
        return GBX_OK;
    }
    json_t *list = json_array();
    if (!list) return oom();
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)agents, key, value) {
        bool empty = json_is_null(value) || (json_is_array(value) && json_array_size(value) == 0);
        if (!empty && !json_is_object(value)) {
            json_decref(list);
            return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                                 "agent \"%s\" must be an object {\"require\": [handler names]}", key);
        }
        json_t *agent = json_is_object(value) ? json_copy(value) : json_object();
        if (!agent || json_object_set_new(agent, "name", json_string(key)) != 0 ||
            json_array_append_new(list, agent) != 0) {
            json_decref(list);
            return oom();
        }
    }
    *out = list;
    return GBX_OK;
}

static gbx_err check_agents(const json_t *agents) {
    if (!json_is_array(agents))
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                             "agents must be an object {handler: {\"require\": [handler names]}} or a list "
                             "of {\"name\": handler, \"require\": [agent names]} objects");
    size_t n = json_array_size(agents);
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(agents, i);
        if (!json_is_object(a))
            return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "agent #%zu is not an object", i + 1);
        const char *name = agent_name(agents, i);
        if (!name || !*name)
            return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                                 "agent #%zu has no \"name\" (its handler)", i + 1);
        for (size_t k = 0; k < i; k++)
            if (strcmp(agent_name(agents, k), name) == 0)
                return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "agent \"%s\" is listed twice", name);
        json_t *req = json_object_get(a, "require");
        bool ok = !req || json_is_null(req) || json_is_string(req) || json_is_array(req);
        for (size_t j = 0; ok && json_is_array(req) && j < json_array_size(req); j++)
            ok = json_is_string(json_array_get(req, j));
        if (!ok)
            return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                                 "agent \"%s\": \"require\" must be a list of agent names", name);
        json_t *env = json_object_get(a, "envelope");
        if (env && !json_is_object(env))
            return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                                 "agent \"%s\": \"envelope\" must be an object", name);
        json_t *type = json_object_get(a, "type");
        if (type && !json_is_string(type))
            return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                                 "agent \"%s\": \"type\" must be \"SYNC\" or \"ASYNC\"", name);
        json_t *method = json_object_get(a, "method");
        gbx_http_method m;
        if (method && !agent_method(&m, json_string_value(method)))
            return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                                 "agent \"%s\": \"method\" must be PUT, POST, DELETE or GET", name);
        json_t *uri = json_object_get(a, "uri");
        if (uri && !json_is_string(uri))
            return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "agent \"%s\": \"uri\" must be a string",
                                 name);
    }
    /* Requirements name other agents. */
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(agents, i);
        const char *name = agent_name(agents, i);
        for (size_t j = 0; j < req_count(a); j++) {
            const char *r = req_at(a, j);
            if (strcmp(r, name) == 0)
                return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "agent \"%s\" requires itself", name);
            if (find_agent(agents, r) == NO_LEVEL)
                return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                                     "agent \"%s\" requires \"%s\", which is not an agent", name, r);
        }
    }
    return GBX_OK;
}

/* Every agent left unleveled requires at least one other unleveled agent, so
 * following such requirements from any of them must come back to an agent
 * already seen: that loop is a cycle.  Reports it with its agents in order. */
static gbx_err report_cycle(const json_t *agents, const size_t *level) {
    size_t n = json_array_size(agents);
    size_t *seen_at = malloc(n * sizeof *seen_at);
    size_t *path = malloc((n + 1) * sizeof *path);
    if (!seen_at || !path) {
        free(seen_at);
        free(path);
        return oom();
    }
    for (size_t i = 0; i < n; i++) seen_at[i] = NO_LEVEL;
    size_t cur = 0;
    while (cur < n && level[cur] != NO_LEVEL) cur++;
    size_t len = 0;
    while (cur < n && seen_at[cur] == NO_LEVEL) {
        seen_at[cur] = len;
        path[len++] = cur;
        json_t *a = json_array_get(agents, cur);
        size_t next = n;
        for (size_t j = 0; j < req_count(a) && next == n; j++) {
            size_t r = find_agent(agents, req_at(a, j));
            if (r != NO_LEVEL && level[r] == NO_LEVEL) next = r;
        }
        cur = next;
    }
    /* "A" requires "B" requires "C" requires "A" */
    size_t from = cur < n ? seen_at[cur] : 0;
    size_t cap = 64;
    for (size_t i = from; i < len; i++) cap += strlen(agent_name(agents, path[i])) + 16;
    if (cur < n) cap += strlen(agent_name(agents, cur)) + 4;
    char *msg = malloc(cap);
    if (!msg) {
        free(seen_at);
        free(path);
        return oom();
    }
    size_t off = 0;
    for (size_t i = from; i < len; i++)
        off += (size_t)snprintf(msg + off, cap - off, "%s\"%s\"", i > from ? " requires " : "",
                                agent_name(agents, path[i]));
    if (cur < n) snprintf(msg + off, cap - off, " requires \"%s\"", agent_name(agents, cur));
    gbx_err err = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "agents form a dependency cycle: %s", msg);
    free(msg);
    free(seen_at);
    free(path);
    return err;
}

static gbx_err plan_agents(plan *p, const json_t *agents) {
    memset(p, 0, sizeof *p);
    gbx_err err = check_agents(agents);
    if (err != GBX_OK) return err;
    size_t n = p->n = json_array_size(agents);
    p->level = malloc((n ? n : 1) * sizeof *p->level);
    p->order = malloc((n ? n : 1) * sizeof *p->order);
    p->start = malloc((n + 1) * sizeof *p->start);
    bool *ready = calloc(n ? n : 1, sizeof *ready);
    if (!p->level || !p->order || !p->start || !ready) {
        free(ready);
        plan_free(p);
        return oom();
    }
    for (size_t i = 0; i < n; i++) p->level[i] = NO_LEVEL;

    /* Round r levels every agent whose requirements all got a level in
     * rounds before r: its level is then 1 + the highest of theirs. */
    size_t done = 0;
    p->start[0] = 0;
    while (done < n) {
        size_t found = 0;
        for (size_t i = 0; i < n; i++) {
            ready[i] = false;
            if (p->level[i] != NO_LEVEL) continue;
            json_t *a = json_array_get(agents, i);
            bool ok = true;
            for (size_t j = 0; ok && j < req_count(a); j++)
                ok = p->level[find_agent(agents, req_at(a, j))] != NO_LEVEL;
            ready[i] = ok;
            found += ok;
        }
        if (!found) {
            err = report_cycle(agents, p->level);
            free(ready);
            plan_free(p);
            return err;
        }
        for (size_t i = 0; i < n; i++)
            if (ready[i]) {
                p->level[i] = p->nlevels;
                p->order[done++] = i;
            }
        p->start[++p->nlevels] = done;
    }
    free(ready);
    return GBX_OK;
}

static size_t plan_level_size(const plan *p, size_t l) {
    return l < p->nlevels ? p->start[l + 1] - p->start[l] : 0;
}

static size_t plan_agent(const plan *p, size_t l, size_t i) {
    return p->order[p->start[l] + i];
}

/* ---- agent jobs -------------------------------------------------------- */

/* Sets a JSON value as a job's body: a string as is, anything else as JSON
 * text. */
static gbx_err set_json_content(gbx_job *job, const json_t *content) {
    if (json_is_string(content))
        return gbx_job_set_content(job, json_string_value(content), json_string_length(content));
    char *text = NULL;
    gbx_err err = gbx_json_dump(&text, content);
    if (err != GBX_OK) return err;
    err = gbx_job_set_content(job, text, strlen(text));
    free(text);
    return err;
}

/* The job of an agent: a REST job when it has a "method" (to its "uri", else
 * to its name, as Gearbox's keys were), else job(name) or job(name,
 * envelope); sync when its "type" is "SYNC".  Its body is the agent's own
 * "content", else `dflt` (may be NULL: left as it is). */
static gbx_err make_agent_job(gbx_job **out, gbx_jobmanager *jm, const json_t *agent,
                              const json_t *dflt) {
    *out = NULL;
    const char *name = json_string_value(json_object_get(agent, "name"));
    json_t *envobj = json_object_get(agent, "envelope");
    const char *method = json_string_value(json_object_get(agent, "method"));
    gbx_http_method m;
    gbx_job *job = NULL;
    gbx_err err;
    if (method && agent_method(&m, method)) {
        const char *uri = json_string_value(json_object_get(agent, "uri"));
        err = gbx_jobmanager_rest_job(&job, jm, m, uri ? uri : name);
        if (err != GBX_OK)
            err = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "agent \"%s\": %s", name,
                                gbx_error_last()->message);
    } else if (envobj) {
        char *text = NULL;
        gbx_envelope *env = NULL;
        err = gbx_json_dump(&text, envobj);
        if (err == GBX_OK) {
            err = gbx_envelope_parse(&env, text, strlen(text));
            if (err != GBX_OK)
                err = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "agent \"%s\": %s", name,
                                    gbx_error_last()->message);
        }
        if (err == GBX_OK) err = gbx_jobmanager_job_from_envelope(&job, jm, name, env);
        gbx_envelope_free(env);
        free(text);
    } else {
        err = gbx_jobmanager_job(&job, jm, name);
    }
    if (err != GBX_OK) return err;
    const char *type = json_string_value(json_object_get(agent, "type"));
    if (!method && type && strcasecmp(type, "SYNC") == 0) err = gbx_job_set_type(job, GBX_JOB_SYNC);
    const json_t *content = json_object_get(agent, "content");
    if (!content) content = dflt;
    if (err == GBX_OK && content) err = set_json_content(job, content);
    if (err != GBX_OK) {
        gbx_job_free(job);
        return err;
    }
    *out = job;
    return GBX_OK;
}

/* ---- job queue --------------------------------------------------------- */

typedef struct queue_level {
    size_t n;
    size_t *agent;  /* index in the agent list of each job */
    gbx_job **jobs; /* NULL until made (the runner makes one level at a time) */
} queue_level;

struct gbx_job_queue {
    size_t nlevels;
    queue_level *levels;
};

void gbx_job_queue_free(gbx_job_queue *q) {
    if (!q) return;
    for (size_t l = 0; l < q->nlevels; l++) {
        for (size_t i = 0; i < q->levels[l].n; i++) gbx_job_free(q->levels[l].jobs[i]);
        free(q->levels[l].jobs);
        free(q->levels[l].agent);
    }
    free(q->levels);
    free(q);
}

/* Makes the jobs of level l that are not made yet; `dflt` (may be NULL) is
 * the body of the agents without a "content" of their own. */
static gbx_err make_level_jobs(gbx_job_queue *q, size_t l, gbx_jobmanager *jm, const json_t *agents,
                               const json_t *dflt) {
    queue_level *lv = &q->levels[l];
    for (size_t i = 0; i < lv->n; i++) {
        if (lv->jobs[i]) continue;
        gbx_err err = make_agent_job(&lv->jobs[i], jm, json_array_get(agents, lv->agent[i]), dflt);
        if (err != GBX_OK) return err;
    }
    return GBX_OK;
}

/* The queue of an agent list, with the jobs of every level made or (`jobs`
 * false) none of them. */
static gbx_err build_queue(gbx_job_queue **out, gbx_jobmanager *jm, const json_t *agents,
                           const json_t *dflt, bool jobs) {
    *out = NULL;
    plan p;
    gbx_err err = plan_agents(&p, agents);
    if (err != GBX_OK) return err;
    gbx_job_queue *q = calloc(1, sizeof *q);
    if (!q || !(q->levels = calloc(p.nlevels ? p.nlevels : 1, sizeof *q->levels))) {
        free(q);
        plan_free(&p);
        return oom();
    }
    q->nlevels = p.nlevels;
    for (size_t l = 0; l < p.nlevels && err == GBX_OK; l++) {
        queue_level *lv = &q->levels[l];
        size_t n = plan_level_size(&p, l);
        lv->jobs = calloc(n, sizeof *lv->jobs);
        lv->agent = calloc(n, sizeof *lv->agent);
        if (!lv->jobs || !lv->agent) {
            err = oom();
            break;
        }
        lv->n = n;
        for (size_t i = 0; i < n; i++) lv->agent[i] = plan_agent(&p, l, i);
        if (jobs) err = make_level_jobs(q, l, jm, agents, dflt);
    }
    plan_free(&p);
    if (err != GBX_OK) {
        gbx_job_queue_free(q);
        return err;
    }
    *out = q;
    return GBX_OK;
}

gbx_err gbx_jobmanager_job_queue(gbx_job_queue **out, gbx_jobmanager *jm, const json_t *agents) {
    if (!out) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_jobmanager_job_queue: out is required");
    *out = NULL;
    json_t *list = NULL;
    gbx_err err = agents_as_list(&list, agents);
    if (err == GBX_OK) err = build_queue(out, jm, list, NULL, true);
    json_decref(list);
    return err;
}

gbx_err gbx_job_queue_new(gbx_job_queue **out) {
    if (!out) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_job_queue_new: out is required");
    *out = calloc(1, sizeof **out);
    return *out ? GBX_OK : oom();
}

gbx_err gbx_job_queue_add(gbx_job_queue *q, size_t level, const gbx_job *job) {
    if (!q || !job) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_job_queue_add: a queue and a job are required");
    if (level > q->nlevels)
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "job queue level %zu does not exist: the queue has %zu levels (add level %zu first)",
                             level, q->nlevels, q->nlevels);
    gbx_job *copy = NULL;
    gbx_err err = gbx_job_copy(&copy, job);
    if (err != GBX_OK) return err;
    if (level == q->nlevels) {
        queue_level *levels = realloc(q->levels, (q->nlevels + 1) * sizeof *levels);
        if (!levels) {
            gbx_job_free(copy);
            return oom();
        }
        memset(&levels[q->nlevels], 0, sizeof *levels);
        q->levels = levels;
        q->nlevels++;
    }
    queue_level *lv = &q->levels[level];
    gbx_job **jobs = realloc(lv->jobs, (lv->n + 1) * sizeof *jobs);
    if (jobs) lv->jobs = jobs;
    size_t *agent = jobs ? realloc(lv->agent, (lv->n + 1) * sizeof *agent) : NULL;
    if (agent) lv->agent = agent;
    if (!jobs || !agent) {
        gbx_job_free(copy);
        return oom();
    }
    /* Made here, not from an agent: make_level_jobs never looks at it. */
    lv->agent[lv->n] = NO_LEVEL;
    lv->jobs[lv->n++] = copy;
    return GBX_OK;
}

size_t gbx_job_queue_levels(const gbx_job_queue *q) {
    return q ? q->nlevels : 0;
}

size_t gbx_job_queue_level_size(const gbx_job_queue *q, size_t level) {
    return q && level < q->nlevels ? q->levels[level].n : 0;
}

gbx_job *gbx_job_queue_job(gbx_job_queue *q, size_t level, size_t index) {
    if (!q || level >= q->nlevels || index >= q->levels[level].n) return NULL;
    return q->levels[level].jobs[index];
}

void gbx_job_queue_reverse(gbx_job_queue *q) {
    if (!q) return;
    for (size_t a = 0, b = q->nlevels; a + 1 < b; a++, b--) {
        queue_level t = q->levels[a];
        q->levels[a] = q->levels[b - 1];
        q->levels[b - 1] = t;
    }
}

/* The error of a failed (completed, not successful) agent status: its code
 * (500 if it has none) and its last message, without the "NAME [code]: "
 * the worker put in front of it (the caller's failure gets it again). */
static gbx_err agent_failure(const gbx_status *st, const char *name) {
    int code = gbx_status_code(st);
    if (code <= 0) code = GBX_ERR_INTERNAL_SERVER_ERROR;
    json_t *msgs = gbx_status_messages(st);
    const char *last = json_string_value(json_array_get(msgs, json_array_size(msgs) - 1));
    if (!last) return gbx_error_set((gbx_err)code, "agent \"%s\" failed with code %d", name, code);
    char *prefix = gbx_error_format(code, "");
    size_t plen = prefix ? strlen(prefix) : 0;
    if (plen && strncmp(last, prefix, plen) == 0) last += plen;
    free(prefix);
    return gbx_error_set((gbx_err)code, "%s", last);
}

static bool is_async(const gbx_job *job) {
    return !gbx_job_is_rest(job) && !gbx_envelope_is_sync(gbx_job_envelope(job));
}

/* Runs an agent's job; *st: the status to wait for (an async job's; a REST
 * job's remote status when it answered with one, e.g. 202), NULL when it
 * has finished (a sync job, a REST answer without a status).  A REST answer
 * >= 400 is the agent's failure. */
static gbx_err start_agent(gbx_status **st, gbx_jobmanager *jm, gbx_job *job) {
    *st = NULL;
    gbx_response *resp = NULL;
    gbx_err err = gbx_jobmanager_run(&resp, jm, job);
    int code = err == GBX_OK ? gbx_response_code(resp) : 0;
    if (err == GBX_OK && gbx_job_is_rest(job) && code >= 400)
        err = gbx_error_set(code <= 599 ? (gbx_err)code : GBX_ERR_BAD_GATEWAY, "agent \"%s\" answered %d",
                            gbx_job_name(job), code);
    const char *uri = err == GBX_OK ? gbx_response_status_uri(resp) : NULL;
    if (uri) err = gbx_jobmanager_status(st, jm, uri);
    gbx_response_free(resp);
    return err;
}

/* Waits for an agent's status until the monotonic `deadline` (0: none);
 * its failure is the error.  `timeout` and `level` (1-based) only word the
 * timeout. */
static gbx_err wait_agent(gbx_jobmanager *jm, gbx_status *st, const gbx_job *job, double deadline,
                          double timeout, size_t level) {
    double left = 0;
    if (deadline > 0 && (left = deadline - gbx__jm_mono()) <= 0) left = -1;
    gbx_err err = left < 0 ? GBX_ERR_GATEWAY_TIMEOUT : gbx_jobmanager_wait(jm, st, left);
    if (err == GBX_ERR_GATEWAY_TIMEOUT)
        return gbx_error_set(GBX_ERR_GATEWAY_TIMEOUT,
                             "agents did not finish within %g seconds (agent \"%s\" on level %zu is still running)",
                             timeout, gbx_job_name(job), level);
    if (err == GBX_OK && !gbx_status_is_success(st)) return agent_failure(st, gbx_job_name(job));
    return err;
}

gbx_err gbx_jobmanager_job_queue_run(gbx_jobmanager *jm, gbx_job_queue *q, double timeout) {
    double deadline = timeout > 0 ? gbx__jm_mono() + timeout : 0;
    for (size_t l = 0; l < gbx_job_queue_levels(q); l++) {
        queue_level *lv = &q->levels[l];
        gbx_status **sts = calloc(lv->n ? lv->n : 1, sizeof *sts);
        if (!sts) return oom();
        gbx_err err = GBX_OK;
        for (size_t i = 0; i < lv->n && err == GBX_OK; i++) err = start_agent(&sts[i], jm, lv->jobs[i]);
        for (size_t i = 0; i < lv->n && err == GBX_OK; i++)
            if (sts[i]) err = wait_agent(jm, sts[i], lv->jobs[i], deadline, timeout, l + 1);
        for (size_t i = 0; i < lv->n; i++) gbx_status_free(sts[i]);
        free(sts);
        if (err != GBX_OK) return err;
    }
    return GBX_OK;
}

/* ---- the event-driven runner ------------------------------------------- */

/* floor(100 / levels) * done, at least 1. */
static int level_progress(size_t nlevels, size_t done) {
    long long p = (long long)(100 / nlevels) * (long long)done;
    return p < 1 ? 1 : p > 100 ? 100 : (int)p;
}

/* Level k (0-based, in run order) of the runner.  Its sync and REST agents
 * run first, here (they block the runner while they run, as every agent did
 * in Gearbox's runner; a REST agent's remote status is waited for, up to
 * jobs.sync_timeout), and count towards the level at once.  Every async
 * agent then runs as a child of the runner's status with on(COMPLETED) = a
 * copy of the runner job (same status, so it runs as a continuation) marked
 * with k + 1.  *done: the level has finished here (no async agents). */
static gbx_err runner_start_level(bool *done, gbx_jobmanager *jm, gbx_job *runner, gbx_job_queue *q,
                                  size_t k) {
    *done = false;
    gbx_status *st = gbx_job_status(runner);
    gbx_err err = gbx_status_set_progress(st, level_progress(q->nlevels, k));
    if (err != GBX_OK) return err;

    queue_level *lv = &q->levels[k];
    long long inline_done = 0;
    double deadline = gbx__jm_mono() + jm->sync_timeout;
    for (size_t i = 0; i < lv->n && err == GBX_OK; i++) {
        if (is_async(lv->jobs[i])) continue;
        gbx_status *ast = NULL;
        err = start_agent(&ast, jm, lv->jobs[i]);
        if (err == GBX_OK && ast) err = wait_agent(jm, ast, lv->jobs[i], deadline, jm->sync_timeout, k + 1);
        gbx_status_free(ast);
        inline_done++;
    }
    if (err != GBX_OK) return err;
    if (inline_done == (long long)lv->n) {
        *done = true;
        return GBX_OK;
    }
    char counter[32];
    long long value = 0;
    snprintf(counter, sizeof counter, "level-%zu", k + 1);
    if (inline_done && (err = gbx_status_counter_add(&value, st, counter, inline_done)) != GBX_OK)
        return err;

    json_t *environ_ = json_deep_copy(gbx_job_environ(runner));
    char mark[32];
    snprintf(mark, sizeof mark, "%zu", k + 1);
    if (!environ_ || json_object_set_new(environ_, LEVEL_MARKER, json_string(mark)) != 0) {
        json_decref(environ_);
        return oom();
    }
    gbx_job *next = NULL;
    err = gbx_job_copy(&next, runner);
    if (err == GBX_OK) err = gbx_job_set_json(next, "environ", environ_);
    /* The event job gets a ticket and event_status of its own when fired. */
    if (err == GBX_OK) err = gbx_job_set(next, "ticket", NULL);
    if (err == GBX_OK) err = gbx_job_set(next, "event_status", NULL);
    json_decref(environ_);

    for (size_t i = 0; i < lv->n && err == GBX_OK; i++) {
        if (!is_async(lv->jobs[i])) continue;
        err = gbx_job_on(lv->jobs[i], GBX_EVENT_COMPLETED, next);
        if (err == GBX_OK) err = gbx_jobmanager_run(NULL, jm, lv->jobs[i]);
    }
    gbx_job_free(next);
    if (err == GBX_OK)
        gbx_log(GBX_LOG_DEBUG, "agents runner %s: level %zu of %zu started (%zu agents)",
                gbx_status_id(st), k + 1, q->nlevels, lv->n);
    return err;
}

/* Starts the levels from k (0-based) on: until one waits for its async
 * agents (CONTINUE) or the last one has finished (SUCCESS). */
static gbx_worker_result runner_from(gbx_jobmanager *jm, gbx_job *job, gbx_job_queue *q, size_t k,
                                     const json_t *agents, const json_t *content) {
    for (; k < q->nlevels; k++) {
        bool done = false;
        gbx_err err = make_level_jobs(q, k, jm, agents, content);
        if (err == GBX_OK) err = runner_start_level(&done, jm, job, q, k);
        if (err != GBX_OK) return GBX_WORKER_ERROR;
        if (!done) return GBX_WORKER_CONTINUE;
    }
    gbx_log(GBX_LOG_DEBUG, "agents runner %s: all %zu levels done", gbx_status_id(gbx_job_status(job)),
            q->nlevels);
    return GBX_WORKER_SUCCESS;
}

/* An event invocation: the agent of level k (1-based) behind event_status
 * has finished. */
static gbx_worker_result runner_resume(gbx_jobmanager *jm, gbx_job *job, gbx_job_queue *q,
                                       size_t k, const json_t *agents, const json_t *content) {
    gbx_status *st = gbx_job_status(job);
    const char *ev = gbx_job_event_status(job);
    if (!ev) {
        gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                      "agents runner resumed for level %zu without an event_status", k);
        return GBX_WORKER_ERROR;
    }
    gbx_status *agent = NULL;
    if (gbx_jobmanager_status(&agent, jm, ev) != GBX_OK) return GBX_WORKER_ERROR;
    long long value = 0;
    gbx_err err;
    if (!gbx_status_is_success(agent)) {
        /* The first failed agent fails the runner; later ones change nothing. */
        gbx_err code = agent_failure(agent, ev);
        char *msg = strdup(gbx_error_last()->message);
        gbx_status_free(agent);
        if (!msg) {
            oom();
            return GBX_WORKER_ERROR;
        }
        err = gbx_status_counter_add(&value, st, "failed", 1);
        if (err == GBX_OK && value == 1) {
            gbx_log(GBX_LOG_INFO, "agents runner %s: agent %s failed (%d): %s", gbx_status_id(st), ev,
                    (int)code, msg);
            gbx_error_set(code, "%s", msg);
        }
        free(msg);
        if (err != GBX_OK) return GBX_WORKER_ERROR;
        return value == 1 ? GBX_WORKER_ERROR : GBX_WORKER_CONTINUE;
    }
    gbx_status_free(agent);

    char counter[32];
    snprintf(counter, sizeof counter, "level-%zu", k);
    if (gbx_status_counter_add(&value, st, counter, 1) != GBX_OK) return GBX_WORKER_ERROR;
    size_t size = gbx_job_queue_level_size(q, k - 1);
    if (value < (long long)size) return GBX_WORKER_CONTINUE;
    if (value > (long long)size) {
        gbx_log(GBX_LOG_WARN, "agents runner %s: level %zu counted %lld of %zu agents",
                gbx_status_id(st), k, value, size);
        return GBX_WORKER_CONTINUE;
    }
    return runner_from(jm, job, q, k, agents, content);
}

/* The level marker of an event job: 0 when absent (the first call). */
static gbx_err read_marker(size_t *out, const gbx_job *job, size_t nlevels) {
    *out = 0;
    const char *mark = json_string_value(json_object_get(gbx_job_environ(job), LEVEL_MARKER));
    if (!mark) return GBX_OK;
    char *end = NULL;
    errno = 0;
    unsigned long long k = strtoull(mark, &end, 10);
    if (errno || end == mark || *end || k < 1 || k > nlevels)
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                             "agents runner: bad level marker %s=\"%s\" (%zu levels)", LEVEL_MARKER,
                             mark, nlevels);
    *out = (size_t)k;
    return GBX_OK;
}

static gbx_worker_result run_agents(gbx_job *job, gbx_response *resp, void *user) {
    (void)resp;
    gbx_jobmanager *jm = gbx_worker_job_manager((gbx_worker *)user);
    json_t *body = NULL;
    if (gbx_job_json_content(&body, job) != GBX_OK) return GBX_WORKER_ERROR;
    json_t *given = json_object_get(body, "agents");
    json_t *agents = NULL;
    if (!json_is_object(body) || !given) {
        json_decref(body);
        gbx_error_set(GBX_ERR_BAD_REQUEST,
                      "%s: content must be {\"agents\": {handler: {\"require\": [...]}, ...} or "
                      "[{\"name\", \"require\"}, ...], \"content\": ...}",
                      gbx_job_name(job));
        return GBX_WORKER_ERROR;
    }
    if (agents_as_list(&agents, given) != GBX_OK) {
        json_decref(body);
        return GBX_WORKER_ERROR;
    }
    json_t *content = json_object_get(body, "content");
    const char *op = gbx_job_operation(job);
    bool reverse = op && strcmp(op, "delete") == 0;
    gbx_job_queue *q = NULL;
    gbx_worker_result result = GBX_WORKER_ERROR;
    size_t k = 0;
    /* Resuming (an event job), only the level to start next needs its jobs;
     * the first call makes them all, so that an unknown handler fails it
     * before any agent starts. */
    bool resuming = gbx_job_status(job) &&
                    json_object_get(gbx_job_environ(job), LEVEL_MARKER) != NULL;
    if (build_queue(&q, jm, agents, content, !resuming) != GBX_OK) goto done;
    if (reverse) gbx_job_queue_reverse(q);

    if (!gbx_job_status(job)) {
        /* A sync call: run the levels here, waiting (bounded by the sync
         * timeout, as the job manager read and checked it). */
        if (gbx_jobmanager_job_queue_run(jm, q, jm->sync_timeout) == GBX_OK)
            result = GBX_WORKER_SUCCESS;
    } else if (read_marker(&k, job, q->nlevels) != GBX_OK) {
        result = GBX_WORKER_ERROR;
    } else if (q->nlevels == 0) {
        result = GBX_WORKER_SUCCESS;
    } else if (k == 0) {
        result = runner_from(jm, job, q, 0, agents, content);
    } else {
        result = runner_resume(jm, job, q, k, agents, content);
    }
done:
    gbx_job_queue_free(q);
    json_decref(agents);
    json_decref(body);
    return result;
}

gbx_err gbx_worker_register_agents(gbx_worker *w, const char *name) {
    if (!w || !name || !*name)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_worker_register_agents: worker and name are required");
    return gbx_worker_register(w, name, run_agents, w);
}
