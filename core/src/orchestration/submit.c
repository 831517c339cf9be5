/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* submit.c - the job manager's way to gearmand: background submits and
 * foreground (sync) jobs through blocking libgearman clients of each
 * thread, and the admin "status" command that says which handlers have
 * workers.
 *
 * Several gearmand servers: each thread keeps one client per server (one
 * libgearman client for the whole list does not fail over reliably); a
 * request tries the servers in jm->server_list's order (rotating start,
 * servers marked down last) and goes to the next when one cannot take the
 * job. */
#include "orchestration/submit_internal.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libgearman-1.0/gearman.h>

#include "gearbox/log.h"

/* How long the list of registered handlers is trusted; a name not in it is
 * asked again when the list is older than KNOWN_RECHECK (so at most one ask
 * a second, however many callers miss). */
#define KNOWN_TTL 2.0
#define KNOWN_RECHECK 1.0
/* Seconds the admin "status" command may take per server. */
#define ADMIN_TIMEOUT 2.0

/* libgearman appends " -> file.cc:line: pid(n)" for its developers. */
static void trim_gearman_error(char *msg) {
    char *arrow = strstr(msg, " -> ");
    if (arrow) *arrow = '\0';
}

void gbx__jm_thread_close_gearman(gbx__jm_thread *t) {
    if (!t || !t->gearman) return;
    size_t n = gbx_servers_count(t->owner->server_list);
    for (size_t i = 0; i < n; i++)
        if (t->gearman[i]) gearman_client_free(t->gearman[i]);
    free(t->gearman);
    t->gearman = NULL;
}

/* The calling thread's client for server `i`, with `timeout` s for every
 * wait; *fresh when it was created now (no connection yet). */
static gearman_client_st *client_for(gbx_jobmanager *jm, size_t i, double timeout, bool *fresh,
                                     char *why, size_t whylen) {
    *fresh = false;
    gbx__jm_thread *t = gbx__jm_thread_get(jm, true);
    if (t && !t->gearman && !(t->gearman = calloc(gbx_servers_count(jm->server_list), sizeof(void *))))
        gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    if (!t || !t->gearman) {
        snprintf(why, whylen, "%s", gbx_error_last()->message);
        return NULL;
    }
    const char *server = gbx_servers_name(jm->server_list, i);
    if (!t->gearman[i]) {
        gearman_client_st *c = gearman_client_create(NULL);
        if (!c) {
            snprintf(why, whylen, "cannot create a Gearman client");
            return NULL;
        }
        if (gearman_failed(gearman_client_add_servers(c, server))) {
            snprintf(why, whylen, "bad server \"%s\": %s", server, gearman_client_error(c));
            gearman_client_free(c);
            return NULL;
        }
        t->gearman[i] = c;
        *fresh = true;
    }
    int ms = timeout > 0 ? (int)(timeout * 1000 + 0.5) : 5000;
    if (ms < 1) ms = 1;
    gearman_client_set_timeout(t->gearman[i], ms);
    return t->gearman[i];
}

/* Drops the thread's client for server `i` after a failure: the next call
 * reconnects. */
static void drop_client(gbx_jobmanager *jm, size_t i) {
    gbx__jm_thread *t = gbx__jm_thread_get(jm, false);
    if (!t || !t->gearman || !t->gearman[i]) return;
    gearman_client_free(t->gearman[i]);
    t->gearman[i] = NULL;
}

static void client_error(char *why, size_t whylen, gearman_client_st *c, gearman_return_t rc) {
    snprintf(why, whylen, "%s", c ? gearman_client_error(c) : "");
    if (!*why) snprintf(why, whylen, "%s", gearman_strerror(rc));
    trim_gearman_error(why);
}

/* The servers to try for one request, in order (gbx_servers_order); NULL
 * when out of memory (error set). */
static size_t *server_order(size_t *n, gbx_jobmanager *jm) {
    size_t *order = malloc(gbx_servers_count(jm->server_list) * sizeof *order);
    if (!order) {
        gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
        return NULL;
    }
    *n = gbx_servers_order(jm->server_list, order);
    return order;
}

/* A failed call on server `i`: an old connection may only have outlived a
 * gearmand restarted since (*retry: once more on a fresh one); a fresh one
 * failing means the server is down. */
static void server_failed(gbx_jobmanager *jm, size_t i, bool fresh, bool *retry, const char *why) {
    drop_client(jm, i);
    *retry = !fresh;
    if (fresh) gbx_servers_mark_down(jm->server_list, i, why);
}

gbx_err gbx_jobmanager_submit(gbx_jobmanager *jm, const char *function, const char *unique,
                              const char *workload, size_t len) {
    if (!jm || !function || !*function || (!workload && len))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_jobmanager_submit: missing argument");
    size_t n = 0, *order = server_order(&n, jm);
    if (!order) return GBX_ERR_INTERNAL_SERVER_ERROR;
    char why[512] = "";
    /* Server by server, from the rotating start; a server that is down is
     * marked so and the job goes to the next. */
    for (size_t k = 0; k < n; k++) {
        size_t i = order[k];
        bool retry = true;
        for (int attempt = 0; attempt < 2 && retry; attempt++) {
            bool fresh = false;
            gearman_client_st *c = client_for(jm, i, jm->submit_timeout, &fresh, why, sizeof why);
            if (!c) break;
            char handle[GEARMAN_JOB_HANDLE_SIZE];
            gearman_return_t rc =
                gearman_client_do_background(c, function, unique, workload ? workload : "", len, handle);
            if (gearman_success(rc)) {
                gbx_servers_mark_up(jm->server_list, i);
                gbx_log(GBX_LOG_DEBUG, "queued %s (%s) as %s on %s", function, unique ? unique : "",
                        handle, gbx_servers_name(jm->server_list, i));
                free(order);
                return GBX_OK;
            }
            client_error(why, sizeof why, c, rc);
            gbx_log(GBX_LOG_WARN, "cannot queue %s on gearmand %s: %s", function,
                    gbx_servers_name(jm->server_list, i), why);
            server_failed(jm, i, fresh, &retry, why);
        }
    }
    free(order);
    return gbx_error_set(GBX_ERR_SERVICE_UNAVAILABLE, "cannot queue job %s on gearmand (%s): %s",
                         function, jm->servers, why);
}

/* Whether server `i` answers an echo on the new client `c` within the
 * submit timeout: a job's own wait (up to the sync timeout) is no time to
 * find out that a server does not answer at all.  Marks it down when not. */
static bool echoed(gbx_jobmanager *jm, gearman_client_st *c, size_t i, double left, char *why,
                   size_t whylen) {
    double wait = jm->submit_timeout < left ? jm->submit_timeout : left;
    gearman_client_set_timeout(c, wait * 1000 < 1 ? 1 : (int)(wait * 1000 + 0.5));
    gearman_return_t rc = gearman_client_echo(c, "ping", 4);
    gearman_client_set_timeout(c, (int)(left * 1000 + 0.5));
    if (gearman_success(rc)) return true;
    client_error(why, whylen, c, rc);
    drop_client(jm, i);
    gbx_servers_mark_down(jm->server_list, i, why);
    return false;
}

/* One foreground run on server `i`: GBX_OK with the result, *next when
 * the server could not take the job (try the next one), else the job's
 * own error. */
static gbx_err do_on(char **result, size_t *len, bool *next, gbx_jobmanager *jm, size_t i,
                     const char *function, const char *unique, const char *workload, size_t wlen,
                     double timeout, double until, char *why, size_t whylen) {
    *next = false;
    bool retry = true;
    for (int attempt = 0; attempt < 2 && retry; attempt++) {
        double left = until - gbx__jm_mono();
        if (left <= 0) break;
        bool fresh = false;
        gearman_client_st *c = client_for(jm, i, left, &fresh, why, whylen);
        if (!c) break;
        if (fresh && !echoed(jm, c, i, left, why, whylen)) break;
        gearman_return_t rc = GEARMAN_SUCCESS;
        size_t size = 0;
        void *data = gearman_client_do(c, function, unique, workload, wlen, &size, &rc);
        if (gearman_success(rc)) {
            gbx_servers_mark_up(jm->server_list, i);
            char *copy = malloc(size + 1);
            if (!copy) {
                free(data);
                return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
            }
            if (size) memcpy(copy, data, size);
            copy[size] = '\0';
            free(data);
            *result = copy;
            *len = size;
            return GBX_OK;
        }
        free(data);
        client_error(why, whylen, c, rc);
        /* Whatever the failure, the connection may still carry the job's
         * answer: the next call starts on a fresh one. */
        drop_client(jm, i);
        switch (rc) {
        case GEARMAN_TIMEOUT:
            return gbx_error_set(GBX_ERR_GATEWAY_TIMEOUT, "no worker answered %s within %g s", function,
                                 timeout);
        case GEARMAN_WORK_FAIL:
            return gbx_error_set(GBX_ERR_BAD_GATEWAY, "the worker failed job %s", function);
        case GEARMAN_WORK_EXCEPTION:
            return gbx_error_set(GBX_ERR_BAD_GATEWAY, "the worker raised an exception in job %s: %s",
                                 function, why);
        default:
            gbx_log(GBX_LOG_WARN, "cannot run %s on gearmand %s: %s", function,
                    gbx_servers_name(jm->server_list, i), why);
            server_failed(jm, i, fresh, &retry, why);
        }
    }
    *next = true;
    return GBX_ERR_SERVICE_UNAVAILABLE;
}

gbx_err gbx__jm_gearman_do(char **result, size_t *len, gbx_jobmanager *jm, const char *function,
                           const char *unique, const char *workload, size_t wlen, double timeout) {
    *result = NULL;
    *len = 0;
    size_t n = 0, *order = server_order(&n, jm);
    if (!order) return GBX_ERR_INTERNAL_SERVER_ERROR;
    char why[512] = "";
    double until = gbx__jm_mono() + (timeout > 0 ? timeout : 5);
    bool next = true;
    gbx_err err = GBX_ERR_SERVICE_UNAVAILABLE;
    for (size_t k = 0; k < n && next; k++)
        err = do_on(result, len, &next, jm, order[k], function, unique, workload, wlen, timeout, until,
                    why, sizeof why);
    free(order);
    if (next)
        return gbx_error_set(GBX_ERR_SERVICE_UNAVAILABLE, "cannot run job %s on gearmand (%s): %s",
                             function, jm->servers, why[0] ? why : "no time left");
    return err;
}

/* ---- the admin "status" command ------------------------------------------- */

/* The handlers listed in the config's "handlers". */
static bool configured(const gbx_jobmanager *jm, const char *name) {
    json_t *list = jm->cfg ? gbx_config_get(jm->cfg, "handlers") : NULL;
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item) {
        if (json_is_string(item) && strcmp(json_string_value(item), name) == 0) return true;
    }
    return false;
}

/* Asks every server that is not marked down (those marked down only when
 * none of the others answers); *out {function: workers}, summed over those
 * that answered. */
static gbx_err ask_gearmand(json_t **out, gbx_jobmanager *jm) {
    *out = NULL;
    size_t n = 0, *order = server_order(&n, jm);
    json_t *all = order ? json_object() : NULL;
    if (!all) {
        free(order);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    }
    bool any = false;
    char why[512] = "";
    for (size_t k = 0; k < n; k++) {
        if (any && gbx_servers_is_down(jm->server_list, order[k])) break; /* the rest are down too */
        const char *server = gbx_servers_name(jm->server_list, order[k]);
        json_t *one = NULL;
        if (gbx_servers_admin_status(&one, server, ADMIN_TIMEOUT) != GBX_OK) {
            snprintf(why, sizeof why, "%s", gbx_error_last()->message);
            gbx_servers_mark_down(jm->server_list, order[k], why);
            continue;
        }
        gbx_servers_mark_up(jm->server_list, order[k]);
        any = true;
        const char *key;
        json_t *v;
        json_object_foreach(one, key, v) {
            json_t *prev = json_object_get(all, key);
            json_int_t workers = json_integer_value(json_object_get(v, "workers"));
            json_object_set_new(all, key, json_integer(workers + (prev ? json_integer_value(prev) : 0)));
        }
        json_decref(one);
    }
    free(order);
    if (!any) {
        json_decref(all);
        return gbx_error_set(GBX_ERR_SERVICE_UNAVAILABLE, "%s", why[0] ? why : "no gearmand servers");
    }
    *out = all;
    return GBX_OK;
}

static bool has_workers(const json_t *map, const char *name) {
    return json_integer_value(json_object_get(map, name)) > 0;
}

gbx_err gbx__jm_handler_known(bool *known, gbx_jobmanager *jm, const char *name) {
    *known = false;
    if (configured(jm, name)) {
        *known = true;
        return GBX_OK;
    }
    /* jm->known: NULL before the first answer, json null when no server
     * answered the last ask, else {function: workers}. */
    pthread_mutex_lock(&jm->lock);
    double now = gbx__jm_mono();
    /* The first ask is under way: nothing is cached yet, so wait for it. */
    while (jm->known_at > 0 && !jm->known && now - jm->known_at < ADMIN_TIMEOUT + 1) {
        pthread_mutex_unlock(&jm->lock);
        struct timespec pause = {0, 5 * 1000 * 1000};
        nanosleep(&pause, NULL);
        pthread_mutex_lock(&jm->lock);
        now = gbx__jm_mono();
    }
    double age = jm->known ? now - jm->known_at : 1e9;
    bool hit = has_workers(jm->known, name);
    if (age < (hit ? KNOWN_TTL : KNOWN_RECHECK)) {
        bool unanswered = json_is_null(jm->known);
        pthread_mutex_unlock(&jm->lock);
        *known = hit;
        if (unanswered)
            return gbx_error_set(GBX_ERR_SERVICE_UNAVAILABLE,
                                 "cannot tell whether handler \"%s\" is known: no gearmand (%s) "
                                 "answered the last ask, %.1f s ago", name, jm->servers, age);
        return GBX_OK;
    }
    /* This thread asks; until it has the answer, the others go by what is
     * cached, so that gearmand gets one ask at a time. */
    jm->known_at = now;
    pthread_mutex_unlock(&jm->lock);
    json_t *fresh = NULL;
    gbx_err err = ask_gearmand(&fresh, jm);
    if (err == GBX_OK) *known = has_workers(fresh, name);
    pthread_mutex_lock(&jm->lock);
    json_decref(jm->known);
    jm->known = err == GBX_OK ? fresh : json_null();
    jm->known_at = gbx__jm_mono();
    pthread_mutex_unlock(&jm->lock);
    if (err != GBX_OK)
        return gbx_error_set(err, "cannot tell whether handler \"%s\" is known: %s", name,
                             gbx_error_last()->message);
    return GBX_OK;
}

gbx_err gbx_jobmanager_handler_known(bool *known, gbx_jobmanager *jm, const char *name) {
    if (!known) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_jobmanager_handler_known: known is NULL");
    *known = false;
    if (!jm || !name) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_jobmanager_handler_known: no job manager or name");
    return gbx__jm_handler_known(known, jm, name);
}

gbx_err gbx_jobmanager_registered(json_t **out, gbx_jobmanager *jm) {
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_jobmanager_registered: out is NULL");
    *out = NULL;
    if (!jm) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_jobmanager_registered: no job manager");
    return ask_gearmand(out, jm);
}
