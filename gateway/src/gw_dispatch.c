/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_dispatch.c - sync jobs through one non-blocking libgearman client.
 *
 * HTTP threads append jobs to the inbox and write the eventfd; the
 * dispatcher thread takes them, adds them as tasks, and drives all tasks
 * with gearman_client_run_tasks().  While tasks are in flight it sleeps in
 * gearman_client_wait(), which polls the Gearman connections but cannot
 * watch our eventfd (libgearman 1.1 has no hook for it), so the wait is cut
 * into short ticks: a job queued meanwhile is picked up within DISPATCH_TICK_MS.
 * With nothing in flight the thread sleeps on the eventfd alone; then an
 * HTTP thread adds its job and sends it itself (under run_lock) before it
 * wakes the dispatcher, so that a lone request does not wait for the
 * dispatcher thread to be scheduled before gearmand sees its job: the
 * wake-up overlaps the job's trip through gearmand and the worker.
 *
 * Several gearmand servers: one client per server (a single libgearman
 * client for the whole list does not fail over).  A job goes to the first
 * server of gbx_servers_order (rotating start, servers marked down
 * last); when that server cannot be reached, or its connection breaks
 * before gearmand took the job, the job is added again on the next server
 * it has not tried, so a job is answered 503 only when every server
 * failed it.  A connection that worked before and breaks (a gearmand
 * restarted since) gets each job one more try on a fresh connection.
 */
#include "gw_dispatch.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <libgearman-1.0/gearman.h>

#include "gearbox/log.h"
#include "gearbox/servers.h"

#define DISPATCH_TICK_MS 2
/* A new connection on which gearmand has taken no job within this many
 * seconds is given up (a server that accepts connections but does not
 * answer, or whose connect hangs). */
#define DISPATCH_ANSWER_S 3.0
/* A job's tried servers are bits of a uint64_t. */
#define MAX_SERVERS 64

typedef struct dispatch_job {
    struct dispatch_job *next, *prev;  /* inbox (next only), then in-flight list */
    gbx_gw_dispatcher *owner;
    char *function;
    char *unique;
    char *workload;
    size_t len;
    double timeout;
    double deadline;                   /* monotonic seconds */
    gbx_gw_done_fn done;
    void *user;
    gearman_task_st *task;
    int attempts;                      /* submits so far */
    size_t server;                     /* index of the server of the last submit */
    uint64_t tried;                    /* bit i: submitted to server i */
    bool fresh_retry;                  /* had its one more try after a broken old connection */
    char why[256];                     /* why the last server failed it */
    bool finished;                     /* set by the libgearman callbacks */
    gbx_err err;
    char *message;
    char *result;
    size_t result_len;
} dispatch_job;

/* One gearmand server's client (dispatcher thread only). */
typedef struct dispatch_conn {
    gearman_client_st *client;         /* NULL until a job needs it */
    gearman_return_t rc;               /* of the last run_tasks */
    bool need_run;                     /* news since: run its tasks */
    bool worked;                       /* gearmand took a job on this connection */
    double since;                      /* monotonic seconds it was made */
    size_t tasks;                      /* jobs in flight on it */
} dispatch_conn;

struct gbx_gw_dispatcher {
    char *servers;
    gbx_servers *list;
    pthread_t thread;
    bool thread_started;
    int wake_fd;
    pthread_mutex_t lock;
    dispatch_job *inbox_head, *inbox_tail;
    bool stopping;
    atomic_size_t pending;
    /* Held by the dispatcher thread except while it sleeps on the wake-up
     * fd with nothing in flight (`idle`); an HTTP thread that gets it then
     * submits its job itself.  Lock order: run_lock, then lock. */
    pthread_mutex_t run_lock;
    bool idle;
    /* Guarded by run_lock (the dispatcher thread's, or a direct submit's). */
    dispatch_conn *conns;              /* one per server of `list` */
    size_t *order;                     /* room for gbx_servers_order */
    dispatch_job *flight;
    size_t nflight;
    size_t nfinished;                  /* in flight with an outcome, not yet answered */
    double next_deadline;
};

void gbx_gw_trim_gearman_error(char *msg) {
    /* libgearman appends " -> file.cc:line: pid(n)" for its developers. */
    char *arrow = strstr(msg, " -> ");
    if (arrow) *arrow = '\0';
}

static double now_mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void job_free(dispatch_job *j) {
    if (!j) return;
    free(j->function);
    free(j->unique);
    free(j->workload);
    free(j->message);
    free(j->result);
    free(j);
}

/* Records the outcome (first one wins); the job is answered after the
 * libgearman call that reported it has returned. */
static void job_set_outcome(dispatch_job *j, gbx_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void job_set_outcome(dispatch_job *j, gbx_err err, const char *fmt, ...) {
    if (j->finished) return;
    j->finished = true;
    j->owner->nfinished++;
    j->err = err;
    if (fmt) {
        char buf[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        j->message = strdup(buf);
    }
}

static bool append_result(dispatch_job *j, const void *data, size_t n) {
    if (n == 0 && j->result) return true;
    char *p = realloc(j->result, j->result_len + n + 1);
    if (!p) return false;
    if (n) memcpy(p + j->result_len, data, n);
    j->result = p;
    j->result_len += n;
    p[j->result_len] = '\0';
    return true;
}

/* libgearman callbacks: they only record; the loop answers. */

/* gearmand took the job: its server works. */
static void took(dispatch_job *j) {
    dispatch_conn *cn = &j->owner->conns[j->server];
    if (cn->worked) return;
    cn->worked = true;
    gbx_servers_mark_up(j->owner->list, j->server);
}

static gearman_return_t on_created(gearman_task_st *task) {
    dispatch_job *j = gearman_task_context(task);
    if (j) took(j);
    return GEARMAN_SUCCESS;
}

static gearman_return_t on_data(gearman_task_st *task) {
    dispatch_job *j = gearman_task_context(task);
    if (!j || j->finished) return GEARMAN_SUCCESS;
    if (!append_result(j, gearman_task_data(task), gearman_task_data_size(task)))
        job_set_outcome(j, GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory reading the worker's answer");
    return GEARMAN_SUCCESS;
}

static gearman_return_t on_complete(gearman_task_st *task) {
    dispatch_job *j = gearman_task_context(task);
    if (!j || j->finished) return GEARMAN_SUCCESS;
    took(j);
    if (!append_result(j, gearman_task_data(task), gearman_task_data_size(task)))
        job_set_outcome(j, GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory reading the worker's answer");
    else
        job_set_outcome(j, GBX_OK, NULL);
    return GEARMAN_SUCCESS;
}

static gearman_return_t on_fail(gearman_task_st *task) {
    dispatch_job *j = gearman_task_context(task);
    if (j) job_set_outcome(j, GBX_ERR_BAD_GATEWAY, "the worker failed job %s", j->function);
    return GEARMAN_SUCCESS;
}

static gearman_return_t on_exception(gearman_task_st *task) {
    dispatch_job *j = gearman_task_context(task);
    if (!j) return GEARMAN_SUCCESS;
    size_t n = gearman_task_data_size(task);
    const char *data = gearman_task_data(task);
    job_set_outcome(j, GBX_ERR_BAD_GATEWAY, "the worker raised an exception in job %s: %.*s",
                    j->function, (int)(n > 512 ? 512 : n), data ? data : "");
    return GEARMAN_SUCCESS;
}

/* In-flight list. */

static void flight_add(gbx_gw_dispatcher *d, dispatch_job *j) {
    j->prev = NULL;
    j->next = d->flight;
    if (d->flight) d->flight->prev = j;
    d->flight = j;
    d->nflight++;
    if (d->nflight == 1 || j->deadline < d->next_deadline) d->next_deadline = j->deadline;
}

static void flight_remove(gbx_gw_dispatcher *d, dispatch_job *j) {
    if (j->prev) j->prev->next = j->next;
    else d->flight = j->next;
    if (j->next) j->next->prev = j->prev;
    j->next = j->prev = NULL;
    d->nflight--;
}

/* Frees the job's task (if any) and takes it off its connection. */
static void job_detach(gbx_gw_dispatcher *d, dispatch_job *j) {
    if (!j->task) return;
    gearman_task_set_context(j->task, NULL);
    gearman_task_free(j->task);
    j->task = NULL;
    d->conns[j->server].tasks--;
}

/* Answers the job and frees it. */
static void job_answer(gbx_gw_dispatcher *d, dispatch_job *j) {
    job_detach(d, j);
    if (j->err != GBX_OK)
        gbx_log(GBX_LOG_DEBUG, "sync job %s (%s): %d %s", j->function, j->unique, (int)j->err,
                j->message ? j->message : "");
    j->done(j->user, j->err, j->message ? j->message : "", j->result ? j->result : "",
            j->result_len);
    if (j->finished) d->nfinished--;
    job_free(j);
    atomic_fetch_sub(&d->pending, 1);
}

/* Drops server i's client with its tasks (the jobs stay in flight). */
static void client_reset(gbx_gw_dispatcher *d, size_t i) {
    dispatch_conn *cn = &d->conns[i];
    if (!cn->client) return;
    for (dispatch_job *j = d->flight; j; j = j->next)
        if (j->server == i) j->task = NULL;
    gearman_client_free(cn->client);
    *cn = (dispatch_conn){.rc = GEARMAN_SUCCESS};
}

static bool client_ensure(gbx_gw_dispatcher *d, size_t i, char *why, size_t whylen) {
    dispatch_conn *cn = &d->conns[i];
    if (cn->client) return true;
    const char *server = gbx_servers_name(d->list, i);
    gearman_client_st *c = gearman_client_create(NULL);
    if (!c) {
        snprintf(why, whylen, "cannot create a Gearman client for %s", server);
        return false;
    }
    if (gearman_failed(gearman_client_add_servers(c, server))) {
        snprintf(why, whylen, "bad gearmand server \"%s\": %s", server, gearman_client_error(c));
        gbx_gw_trim_gearman_error(why);
        gearman_client_free(c);
        return false;
    }
    gearman_client_add_options(c, GEARMAN_CLIENT_NON_BLOCKING);
    gearman_client_set_created_fn(c, on_created);
    gearman_client_set_data_fn(c, on_data);
    gearman_client_set_complete_fn(c, on_complete);
    gearman_client_set_fail_fn(c, on_fail);
    gearman_client_set_exception_fn(c, on_exception);
    cn->client = c;
    cn->since = now_mono();
    return true;
}

/* Answers every job of the in-flight list that has an outcome. */
static void answer_finished(gbx_gw_dispatcher *d) {
    if (d->nfinished == 0) return; /* the common case: no walk over the list */
    dispatch_job *j = d->flight;
    while (j) {
        dispatch_job *next = j->next;
        if (j->finished) {
            flight_remove(d, j);
            job_answer(d, j);
        }
        j = next;
    }
}

/* Gives up on every job whose deadline has passed. */
static void expire(gbx_gw_dispatcher *d, double now) {
    if (d->nflight == 0 || now < d->next_deadline) return;
    double next = 0;
    bool have_next = false;
    dispatch_job *j = d->flight;
    while (j) {
        dispatch_job *next_job = j->next;
        if (j->deadline <= now) {
            if (j->task && gearman_task_is_known(j->task))
                job_set_outcome(j, GBX_ERR_GATEWAY_TIMEOUT,
                                "no worker answered %s within %g s", j->function, j->timeout);
            else
                job_set_outcome(j, GBX_ERR_SERVICE_UNAVAILABLE,
                                "gearmand (%s) did not accept job %s within %g s", d->servers,
                                j->function, j->timeout);
            flight_remove(d, j);
            job_answer(d, j);
        } else if (!have_next || j->deadline < next) {
            next = j->deadline;
            have_next = true;
        }
        j = next_job;
    }
    d->next_deadline = next;
}

static void fail_all(gbx_gw_dispatcher *d, gbx_err err, const char *message) {
    while (d->flight) {
        dispatch_job *j = d->flight;
        job_set_outcome(j, err, "%s", message);
        flight_remove(d, j);
        job_answer(d, j);
    }
}

/* The next server for the job: the first of this request's order it has
 * not tried; false when none is left. */
static bool next_server(gbx_gw_dispatcher *d, const dispatch_job *j, size_t *server) {
    size_t n = gbx_servers_order(d->list, d->order);
    for (size_t k = 0; k < n; k++)
        if (!(j->tried & (UINT64_C(1) << d->order[k]))) {
            *server = d->order[k];
            return true;
        }
    return false;
}

/* Adds the job as a task on the next server it has not tried; when every
 * server has failed it, records 503. */
static void submit(gbx_gw_dispatcher *d, dispatch_job *j) {
    flight_add(d, j);
    size_t i;
    while (next_server(d, j, &i)) {
        j->attempts++;
        j->server = i;
        j->tried |= UINT64_C(1) << i;
        if (!client_ensure(d, i, j->why, sizeof j->why)) continue;
        dispatch_conn *cn = &d->conns[i];
        gearman_return_t rc = GEARMAN_SUCCESS;
        j->task = gearman_client_add_task(cn->client, NULL, j, j->function, j->unique, j->workload,
                                          j->len, &rc);
        if (j->task && !gearman_failed(rc)) {
            cn->tasks++;
            cn->need_run = true;
            return;
        }
        j->task = NULL;
        snprintf(j->why, sizeof j->why, "%s: %s", gbx_servers_name(d->list, i),
                 gearman_client_error(cn->client));
        gbx_gw_trim_gearman_error(j->why);
    }
    job_set_outcome(j, GBX_ERR_SERVICE_UNAVAILABLE, "cannot submit job %s to gearmand (%s): %s",
                    j->function, d->servers, j->why[0] ? j->why : "no server left");
}

/* Server i's connection failed (`why`): jobs that gearmand had taken are
 * lost with it (503); the others go to the next server.  A connection that
 * never worked means the server is down. */
static void conn_failed(gbx_gw_dispatcher *d, size_t i, const char *why) {
    dispatch_conn *cn = &d->conns[i];
    bool worked = cn->worked;
    gbx_log(GBX_LOG_WARN, "dispatcher: gearmand %s: %s", gbx_servers_name(d->list, i), why);
    if (!worked) gbx_servers_mark_down(d->list, i, why);
    dispatch_job *retry = NULL;
    for (dispatch_job *j = d->flight, *next; j; j = next) {
        next = j->next;
        if (j->server != i || j->finished) continue;
        if (j->task && gearman_task_is_known(j->task)) {
            job_set_outcome(j, GBX_ERR_SERVICE_UNAVAILABLE, "gearmand %s was lost while running job %s: %s",
                            gbx_servers_name(d->list, i), j->function, why);
            continue;
        }
        flight_remove(d, j);
        j->task = NULL; /* freed with the client below */
        snprintf(j->why, sizeof j->why, "%s: %.200s", gbx_servers_name(d->list, i), why);
        if (worked && !j->fresh_retry) {
            j->fresh_retry = true;
            j->tried &= ~(UINT64_C(1) << i);
        }
        j->next = retry;
        retry = j;
    }
    client_reset(d, i);
    answer_finished(d);
    for (dispatch_job *j = retry, *next; j; j = next) {
        next = j->next;
        j->next = NULL;
        submit(d, j);
    }
    answer_finished(d);
}

static void wait_wake_fd(gbx_gw_dispatcher *d, int timeout_ms) {
    struct pollfd p = {.fd = d->wake_fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) > 0) {
        uint64_t v;
        if (read(d->wake_fd, &v, sizeof v) < 0 && errno != EAGAIN)
            gbx_log(GBX_LOG_WARN, "dispatcher: reading the wake-up fd: %s", strerror(errno));
    }
}

/* Runs the tasks of every connection with news; a connection that fails
 * hands its jobs on (conn_failed). */
static void run_connections(gbx_gw_dispatcher *d) {
    size_t n = gbx_servers_count(d->list);
    for (size_t i = 0; i < n; i++) {
        dispatch_conn *cn = &d->conns[i];
        if (!cn->need_run || !cn->client) continue;
        cn->need_run = false;
        cn->rc = gearman_client_run_tasks(cn->client);
        answer_finished(d);
        if (cn->rc != GEARMAN_SUCCESS && cn->rc != GEARMAN_IO_WAIT && cn->tasks > 0) {
            /* Refused, lost, ...: the answers of its jobs will never come. */
            char why[512];
            snprintf(why, sizeof why, "%s", gearman_client_error(cn->client));
            gbx_gw_trim_gearman_error(why);
            conn_failed(d, i, why);
        }
    }
}

/* Gives up on new connections on which gearmand has not taken a job in
 * DISPATCH_ANSWER_S: their jobs go to the next server. */
static void give_up_silent(gbx_gw_dispatcher *d, double now) {
    size_t n = gbx_servers_count(d->list);
    for (size_t i = 0; i < n; i++) {
        dispatch_conn *cn = &d->conns[i];
        if (!cn->client || cn->worked || cn->tasks == 0 || now - cn->since < DISPATCH_ANSWER_S) continue;
        for (dispatch_job *j = d->flight; j && !cn->worked; j = j->next)
            if (j->server == i && j->task && gearman_task_is_known(j->task)) took(j);
        if (cn->worked) continue;
        char why[64];
        snprintf(why, sizeof why, "no answer within %g s", DISPATCH_ANSWER_S);
        conn_failed(d, i, why);
    }
}

/* Waits up to wait_ms for news on any connection with tasks, or for the
 * wake-up fd.  libgearman waits on one client at a time: the first busy
 * one gets the time, the others are only polled. */
static void wait_connections(gbx_gw_dispatcher *d, int wait_ms) {
    size_t n = gbx_servers_count(d->list);
    bool slept = false;
    for (size_t i = 0; i < n; i++) {
        dispatch_conn *cn = &d->conns[i];
        if (!cn->client || cn->tasks == 0) continue;
        if (cn->rc != GEARMAN_IO_WAIT) {
            cn->need_run = true;
            continue;
        }
        gearman_client_set_timeout(cn->client, slept ? 1 : wait_ms);
        gearman_return_t wrc = gearman_client_wait(cn->client);
        if (wrc != GEARMAN_TIMEOUT) cn->need_run = true;
        if (wrc == GEARMAN_SUCCESS || wrc == GEARMAN_TIMEOUT) slept = true;
    }
    if (!slept) wait_wake_fd(d, wait_ms); /* nothing to poll: do not spin */
}

static void *dispatcher_main(void *arg) {
    gbx_gw_dispatcher *d = arg;
    /* run_tasks walks every task of a client, so it runs only when there is
     * news: new jobs, or activity on that client's connection.  A quiet
     * tick costs one poll(), however many jobs are waiting. */
    pthread_mutex_lock(&d->run_lock);
    for (;;) {
        pthread_mutex_lock(&d->lock);
        dispatch_job *inbox = d->inbox_head;
        d->inbox_head = d->inbox_tail = NULL;
        bool stopping = d->stopping;
        pthread_mutex_unlock(&d->lock);

        for (dispatch_job *j = inbox, *next; j; j = next) {
            next = j->next;
            j->next = NULL;
            submit(d, j);
        }
        if (stopping) {
            fail_all(d, GBX_ERR_SERVICE_UNAVAILABLE, "gateway is shutting down");
            break;
        }
        answer_finished(d);  /* jobs that could not even be added */

        if (d->nflight == 0) {
            d->idle = true;
            pthread_mutex_unlock(&d->run_lock);
            wait_wake_fd(d, -1);
            pthread_mutex_lock(&d->run_lock);
            d->idle = false;
            continue;
        }
        run_connections(d);
        double now = now_mono();
        give_up_silent(d, now);
        expire(d, now);
        if (d->nflight == 0) continue;

        int wait_ms = DISPATCH_TICK_MS;
        double until = (d->next_deadline - now) * 1000.0;
        if (until < wait_ms) wait_ms = until < 0 ? 0 : (int)until;
        wait_connections(d, wait_ms);
    }
    for (size_t i = 0; i < gbx_servers_count(d->list); i++) client_reset(d, i);
    pthread_mutex_unlock(&d->run_lock);
    return NULL;
}

gbx_err gbx_gw_dispatcher_new(gbx_gw_dispatcher **out, const char *servers) {
    *out = NULL;
    gbx_gw_dispatcher *d = calloc(1, sizeof *d);
    if (!d) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    d->wake_fd = -1;
    d->servers = strdup(servers ? servers : "127.0.0.1:4730");
    pthread_mutex_init(&d->lock, NULL);
    pthread_mutex_init(&d->run_lock, NULL);
    atomic_init(&d->pending, 0);
    if (!d->servers) {
        gbx_gw_dispatcher_free(d);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    }
    gbx_err e = gbx_servers_new(&d->list, d->servers);
    if (e != GBX_OK) {
        gbx_gw_dispatcher_free(d);
        return e;
    }
    size_t n = gbx_servers_count(d->list);
    if (n > MAX_SERVERS) {
        gbx_gw_dispatcher_free(d);
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "more than %d gearmand servers", MAX_SERVERS);
    }
    d->conns = calloc(n, sizeof *d->conns);
    d->order = calloc(n, sizeof *d->order);
    if (!d->conns || !d->order) {
        gbx_gw_dispatcher_free(d);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    }
    d->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (d->wake_fd < 0) {
        e = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "eventfd: %s", strerror(errno));
        gbx_gw_dispatcher_free(d);
        return e;
    }
    int rc = pthread_create(&d->thread, NULL, dispatcher_main, d);
    if (rc != 0) {
        e = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "cannot start the dispatcher thread: %s",
                          strerror(rc));
        gbx_gw_dispatcher_free(d);
        return e;
    }
    d->thread_started = true;
    *out = d;
    return GBX_OK;
}

static void wake(gbx_gw_dispatcher *d) {
    uint64_t one = 1;
    if (write(d->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        gbx_log(GBX_LOG_WARN, "dispatcher: waking the thread: %s", strerror(errno));
}

void gbx_gw_dispatcher_stop(gbx_gw_dispatcher *d) {
    if (!d) return;
    pthread_mutex_lock(&d->lock);
    bool already = d->stopping;
    d->stopping = true;
    pthread_mutex_unlock(&d->lock);
    if (already || !d->thread_started) return;
    wake(d);
    pthread_join(d->thread, NULL);
    d->thread_started = false;
    /* The thread took the inbox together with the stop flag, so nothing
     * should be left; answer whatever is, all the same. */
    pthread_mutex_lock(&d->lock);
    dispatch_job *j = d->inbox_head;
    d->inbox_head = d->inbox_tail = NULL;
    pthread_mutex_unlock(&d->lock);
    while (j) {
        dispatch_job *next = j->next;
        job_set_outcome(j, GBX_ERR_SERVICE_UNAVAILABLE, "gateway is shutting down");
        j->done(j->user, j->err, j->message ? j->message : "", "", 0);
        job_free(j);
        atomic_fetch_sub(&d->pending, 1);
        j = next;
    }
}

void gbx_gw_dispatcher_free(gbx_gw_dispatcher *d) {
    if (!d) return;
    gbx_gw_dispatcher_stop(d);
    if (d->wake_fd >= 0) close(d->wake_fd);
    pthread_mutex_destroy(&d->lock);
    pthread_mutex_destroy(&d->run_lock);
    free(d->conns);
    free(d->order);
    gbx_servers_free(d->list);
    free(d->servers);
    free(d);
}

gbx_err gbx_gw_dispatch(gbx_gw_dispatcher *d, const char *function, const char *unique,
                        const char *workload, size_t len, double timeout,
                        gbx_gw_done_fn done, void *user) {
    if (!d || !function || !*function || !done)
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_gw_dispatch: missing argument");
    if (!(timeout > 0)) timeout = 30;
    dispatch_job *j = calloc(1, sizeof *j);
    if (!j) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    j->function = strdup(function);
    j->unique = unique ? strdup(unique) : NULL;
    j->workload = malloc(len + 1);
    if (!j->function || (unique && !j->unique) || !j->workload) {
        job_free(j);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    }
    if (len) memcpy(j->workload, workload, len);
    j->workload[len] = '\0';
    j->len = len;
    j->timeout = timeout;
    j->deadline = now_mono() + timeout;
    j->done = done;
    j->user = user;
    j->owner = d;

    pthread_mutex_lock(&d->lock);
    if (d->stopping) {
        pthread_mutex_unlock(&d->lock);
        job_free(j);
        return gbx_error_set(GBX_ERR_SERVICE_UNAVAILABLE, "gateway is shutting down");
    }
    atomic_fetch_add(&d->pending, 1);
    /* The dispatcher asleep with nothing in flight: send the job from here
     * (a stop meanwhile waits for run_lock, then fails it with the rest). */
    if (pthread_mutex_trylock(&d->run_lock) == 0) {
        if (d->idle) {
            pthread_mutex_unlock(&d->lock);
            submit(d, j);
            run_connections(d);
            answer_finished(d);
            pthread_mutex_unlock(&d->run_lock);
            wake(d); /* to wait for the answer */
            return GBX_OK;
        }
        pthread_mutex_unlock(&d->run_lock);
    }
    if (d->inbox_tail) d->inbox_tail->next = j;
    else d->inbox_head = j;
    d->inbox_tail = j;
    pthread_mutex_unlock(&d->lock);
    wake(d);
    return GBX_OK;
}

size_t gbx_gw_dispatcher_pending(gbx_gw_dispatcher *d) {
    return d ? atomic_load(&d->pending) : 0;
}
