/* gw_dispatch.c - sync jobs through one non-blocking libgearman client.
 *
 * HTTP threads append jobs to the inbox and write the eventfd; the
 * dispatcher thread takes them, adds them as tasks, and drives all tasks
 * with gearman_client_run_tasks().  While tasks are in flight it sleeps in
 * gearman_client_wait(), which polls the Gearman connections but cannot
 * watch our eventfd (libgearman 1.1 has no hook for it), so the wait is cut
 * into short ticks: a job queued meanwhile is picked up within DISPATCH_TICK_MS.
 * With nothing in flight the thread sleeps on the eventfd alone.
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

#define DISPATCH_TICK_MS 2

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
    bool finished;                     /* set by the libgearman callbacks */
    gbx_err err;
    char *message;
    char *result;
    size_t result_len;
} dispatch_job;

struct gbx_gw_dispatcher {
    char *servers;
    pthread_t thread;
    bool thread_started;
    int wake_fd;
    pthread_mutex_t lock;
    dispatch_job *inbox_head, *inbox_tail;
    bool stopping;
    atomic_size_t pending;
    /* Owned by the dispatcher thread. */
    gearman_client_st *client;
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

/* Answers the job and frees it. */
static void job_answer(gbx_gw_dispatcher *d, dispatch_job *j) {
    if (j->task) {
        gearman_task_set_context(j->task, NULL);
        gearman_task_free(j->task);
        j->task = NULL;
    }
    if (j->err != GBX_OK)
        gbx_log(GBX_LOG_DEBUG, "sync job %s (%s): %d %s", j->function, j->unique, (int)j->err,
                j->message ? j->message : "");
    j->done(j->user, j->err, j->message ? j->message : "", j->result ? j->result : "",
            j->result_len);
    if (j->finished) d->nfinished--;
    job_free(j);
    atomic_fetch_sub(&d->pending, 1);
}

static void client_reset(gbx_gw_dispatcher *d) {
    if (!d->client) return;
    for (dispatch_job *j = d->flight; j; j = j->next) j->task = NULL;
    gearman_client_free(d->client);
    d->client = NULL;
}

static bool client_ensure(gbx_gw_dispatcher *d) {
    if (d->client) return true;
    gearman_client_st *c = gearman_client_create(NULL);
    if (!c) return false;
    if (gearman_failed(gearman_client_add_servers(c, d->servers))) {
        gbx_log(GBX_LOG_ERROR, "dispatcher: bad gearmand server list \"%s\": %s", d->servers,
                gearman_client_error(c));
        gearman_client_free(c);
        return false;
    }
    gearman_client_add_options(c, GEARMAN_CLIENT_NON_BLOCKING);
    gearman_client_set_data_fn(c, on_data);
    gearman_client_set_complete_fn(c, on_complete);
    gearman_client_set_fail_fn(c, on_fail);
    gearman_client_set_exception_fn(c, on_exception);
    d->client = c;
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

static void submit(gbx_gw_dispatcher *d, dispatch_job *j) {
    flight_add(d, j);
    j->attempts++;
    if (!client_ensure(d)) {
        job_set_outcome(j, GBX_ERR_SERVICE_UNAVAILABLE, "cannot create a Gearman client for %s",
                        d->servers);
        return;
    }
    gearman_return_t rc = GEARMAN_SUCCESS;
    j->task = gearman_client_add_task(d->client, NULL, j, j->function, j->unique, j->workload,
                                      j->len, &rc);
    if (!j->task || gearman_failed(rc)) {
        j->task = NULL;
        char why[512];
        snprintf(why, sizeof why, "%s", gearman_client_error(d->client));
        gbx_gw_trim_gearman_error(why);
        job_set_outcome(j, GBX_ERR_SERVICE_UNAVAILABLE, "cannot submit job %s to gearmand (%s): %s",
                        j->function, d->servers, why);
    }
}

static void wait_wake_fd(gbx_gw_dispatcher *d, int timeout_ms) {
    struct pollfd p = {.fd = d->wake_fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) > 0) {
        uint64_t v;
        if (read(d->wake_fd, &v, sizeof v) < 0 && errno != EAGAIN)
            gbx_log(GBX_LOG_WARN, "dispatcher: reading the wake-up fd: %s", strerror(errno));
    }
}

static void *dispatcher_main(void *arg) {
    gbx_gw_dispatcher *d = arg;
    /* run_tasks walks every task, so it runs only when there is news: new
     * jobs, or activity on a Gearman connection.  A quiet tick costs one
     * poll(), however many jobs are waiting. */
    bool need_run = false;
    gearman_return_t rc = GEARMAN_SUCCESS;
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
            need_run = true;
        }
        if (stopping) {
            fail_all(d, GBX_ERR_SERVICE_UNAVAILABLE, "gateway is shutting down");
            break;
        }
        answer_finished(d);  /* jobs that could not even be added */

        if (d->nflight == 0) {
            wait_wake_fd(d, -1);
            continue;
        }

        if (need_run && d->client) {
            need_run = false;
            rc = gearman_client_run_tasks(d->client);
            answer_finished(d);
            if (rc != GEARMAN_SUCCESS && rc != GEARMAN_IO_WAIT && d->nflight > 0) {
                /* The connection is gone (refused, lost, ...): the answers
                 * of the jobs in flight will never come. */
                char msg[1024];
                snprintf(msg, sizeof msg, "gearmand unreachable (%s): %s", d->servers,
                         gearman_client_error(d->client));
                gbx_gw_trim_gearman_error(msg);
                gbx_log(GBX_LOG_WARN, "dispatcher: %s (reconnecting)", msg);
                /* Jobs gearmand had not taken yet get one more try on a
                 * fresh connection (a gearmand restarted since the last
                 * request leaves a dead connection behind); the others
                 * are lost. */
                dispatch_job *retry = NULL;
                for (dispatch_job *j = d->flight, *next; j; j = next) {
                    next = j->next;
                    if (!j->finished && j->attempts < 2 &&
                        !(j->task && gearman_task_is_known(j->task))) {
                        flight_remove(d, j);
                        j->next = retry;
                        retry = j;
                    }
                }
                client_reset(d);
                fail_all(d, GBX_ERR_SERVICE_UNAVAILABLE, msg);
                for (dispatch_job *j = retry, *next; j; j = next) {
                    next = j->next;
                    j->next = NULL;
                    j->task = NULL;
                    submit(d, j);
                    need_run = true;
                }
                answer_finished(d);
                continue;
            }
        }
        double now = now_mono();
        expire(d, now);
        if (d->nflight == 0) continue;

        int wait_ms = DISPATCH_TICK_MS;
        double until = (d->next_deadline - now) * 1000.0;
        if (until < wait_ms) wait_ms = until < 0 ? 0 : (int)until;
        if (rc == GEARMAN_IO_WAIT && d->client) {
            gearman_client_set_timeout(d->client, wait_ms);
            gearman_return_t wrc = gearman_client_wait(d->client);
            if (wrc != GEARMAN_TIMEOUT) need_run = true;
            if (wrc != GEARMAN_SUCCESS && wrc != GEARMAN_TIMEOUT)
                wait_wake_fd(d, wait_ms);  /* nothing to poll: do not spin */
        } else {
            need_run = true;
            wait_wake_fd(d, wait_ms);
        }
    }
    client_reset(d);
    return NULL;
}

gbx_err gbx_gw_dispatcher_new(gbx_gw_dispatcher **out, const char *servers) {
    *out = NULL;
    gbx_gw_dispatcher *d = calloc(1, sizeof *d);
    if (!d) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    d->wake_fd = -1;
    d->servers = strdup(servers ? servers : "127.0.0.1:4730");
    pthread_mutex_init(&d->lock, NULL);
    atomic_init(&d->pending, 0);
    if (!d->servers) {
        gbx_gw_dispatcher_free(d);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    }
    d->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (d->wake_fd < 0) {
        gbx_err e = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "eventfd: %s", strerror(errno));
        gbx_gw_dispatcher_free(d);
        return e;
    }
    int rc = pthread_create(&d->thread, NULL, dispatcher_main, d);
    if (rc != 0) {
        gbx_err e = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "cannot start the dispatcher thread: %s",
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
