/* submit.c - the job manager's way to gearmand: background submits and
 * foreground (sync) jobs through one blocking libgearman client per
 * thread, and the admin "status" command that says which handlers have
 * workers. */
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
    gearman_client_free(t->gearman);
    t->gearman = NULL;
}

/* The calling thread's client, with `timeout` s for every wait. */
static gearman_client_st *client_for_thread(gbx_jobmanager *jm, double timeout, char *why,
                                            size_t whylen) {
    gbx__jm_thread *t = gbx__jm_thread_get(jm, true);
    if (!t) {
        snprintf(why, whylen, "%s", gbx_error_last()->message);
        return NULL;
    }
    if (!t->gearman) {
        gearman_client_st *c = gearman_client_create(NULL);
        if (!c) {
            snprintf(why, whylen, "cannot create a Gearman client");
            return NULL;
        }
        if (gearman_failed(gearman_client_add_servers(c, jm->servers))) {
            snprintf(why, whylen, "bad server list \"%s\": %s", jm->servers, gearman_client_error(c));
            gearman_client_free(c);
            return NULL;
        }
        t->gearman = c;
    }
    int ms = timeout > 0 ? (int)(timeout * 1000 + 0.5) : 5000;
    if (ms < 1) ms = 1;
    gearman_client_set_timeout(t->gearman, ms);
    return t->gearman;
}

/* Drops the thread's client after a failure: the next call reconnects. */
static void drop_thread_client(gbx_jobmanager *jm) {
    gbx__jm_thread_close_gearman(gbx__jm_thread_get(jm, false));
}

static void client_error(char *why, size_t whylen, gearman_client_st *c, gearman_return_t rc) {
    snprintf(why, whylen, "%s", c ? gearman_client_error(c) : "");
    if (!*why) snprintf(why, whylen, "%s", gearman_strerror(rc));
    trim_gearman_error(why);
}

gbx_err gbx_jobmanager_submit(gbx_jobmanager *jm, const char *function, const char *unique,
                              const char *workload, size_t len) {
    if (!jm || !function || !*function || (!workload && len))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_jobmanager_submit: missing argument");
    char why[512] = "";
    for (int attempt = 0; attempt < 2; attempt++) {
        gearman_client_st *c = client_for_thread(jm, jm->submit_timeout, why, sizeof why);
        if (!c) break;
        char handle[GEARMAN_JOB_HANDLE_SIZE];
        gearman_return_t rc =
            gearman_client_do_background(c, function, unique, workload ? workload : "", len, handle);
        if (gearman_success(rc)) {
            gbx_log(GBX_LOG_DEBUG, "queued %s (%s) as %s", function, unique ? unique : "", handle);
            return GBX_OK;
        }
        client_error(why, sizeof why, c, rc);
        drop_thread_client(jm);
        gbx_log(GBX_LOG_WARN, "cannot queue %s on gearmand (%s), attempt %d: %s", function,
                jm->servers, attempt + 1, why);
    }
    return gbx_error_set(GBX_ERR_SERVICE_UNAVAILABLE, "cannot queue job %s on gearmand (%s): %s",
                         function, jm->servers, why);
}

gbx_err gbx__jm_gearman_do(char **result, size_t *len, gbx_jobmanager *jm, const char *function,
                           const char *unique, const char *workload, size_t wlen, double timeout) {
    *result = NULL;
    *len = 0;
    char why[512] = "";
    gearman_client_st *c = client_for_thread(jm, timeout, why, sizeof why);
    if (!c)
        return gbx_error_set(GBX_ERR_SERVICE_UNAVAILABLE, "cannot run job %s on gearmand (%s): %s",
                             function, jm->servers, why);
    gearman_return_t rc = GEARMAN_SUCCESS;
    size_t size = 0;
    void *data = gearman_client_do(c, function, unique, workload, wlen, &size, &rc);
    if (gearman_success(rc)) {
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
    client_error(why, sizeof why, c, rc);
    /* Whatever the failure, the connection may still carry the job's
     * answer: start the next call on a fresh one. */
    drop_thread_client(jm);
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
        return gbx_error_set(GBX_ERR_SERVICE_UNAVAILABLE, "cannot run job %s on gearmand (%s): %s",
                             function, jm->servers, why);
    }
}

/* ---- the admin "status" command ------------------------------------------- */

/* Splits "host:port" / "[v6]:port" / "host" (port 4730). */
static bool split_server(const char *server, char *host, size_t hlen, char *port, size_t plen) {
    const char *colon;
    if (server[0] == '[') {
        const char *end = strchr(server, ']');
        if (!end) return false;
        snprintf(host, hlen, "%.*s", (int)(end - server - 1), server + 1);
        colon = end[1] == ':' ? end + 1 : NULL;
    } else {
        colon = strrchr(server, ':');
        snprintf(host, hlen, "%.*s", (int)(colon ? (size_t)(colon - server) : strlen(server)), server);
    }
    snprintf(port, plen, "%s", colon && colon[1] ? colon + 1 : "4730");
    if (!host[0]) snprintf(host, hlen, "127.0.0.1");
    return true;
}

static int remaining_ms(double until) {
    double left = until - gbx__jm_mono();
    return left <= 0 ? 0 : (int)(left * 1000) + 1;
}

static int connect_until(const char *host, const char *port, double until, char *why, size_t whylen) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0) {
        snprintf(why, whylen, "%s:%s: %s", host, port, gai_strerror(gai));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
        if (errno == EINPROGRESS) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (poll(&p, 1, remaining_ms(until)) == 1 &&
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
                break;
            snprintf(why, whylen, "%s:%s: %s", host, port, soerr ? strerror(soerr) : "connect timed out");
        } else {
            snprintf(why, whylen, "%s:%s: %s", host, port, strerror(errno));
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

gbx_err gbx__jm_gearman_status(json_t **out, const char *server, double timeout) {
    *out = NULL;
    char host[256], port[32], why[512] = "no address";
    if (!split_server(server, host, sizeof host, port, sizeof port))
        return gbx_error_set(GBX_ERR_SERVICE_UNAVAILABLE, "gearmand server \"%s\": bad address", server);
    double until = gbx__jm_mono() + timeout;
    int fd = connect_until(host, port, until, why, sizeof why);
    if (fd < 0) return gbx_error_set(GBX_ERR_SERVICE_UNAVAILABLE, "gearmand %s: %s", server, why);

    static const char cmd[] = "status\n";
    size_t sent = 0;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    gbx_err err = GBX_OK;
    while (sent < sizeof cmd - 1 && err == GBX_OK) {
        ssize_t n = send(fd, cmd + sent, sizeof cmd - 1 - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += (size_t)n;
            continue;
        }
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        if ((n < 0 && errno != EAGAIN && errno != EINTR) || poll(&p, 1, remaining_ms(until)) < 1)
            err = gbx_error_set(GBX_ERR_SERVICE_UNAVAILABLE, "gearmand %s: cannot send \"status\"", server);
    }
    /* The answer ends with a line holding a single '.'. */
    while (err == GBX_OK) {
        if (len >= 2 && ((len == 2 && memcmp(buf, ".\n", 2) == 0) ||
                         (len >= 3 && memcmp(buf + len - 3, "\n.\n", 3) == 0)))
            break;
        if (len + 4096 + 1 > cap) {
            size_t ncap = cap ? cap * 2 : 8192;
            char *nb = ncap > (64u << 20) ? NULL : realloc(buf, ncap);
            if (!nb) {
                err = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gearmand %s: status answer too large", server);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
        if (n > 0) {
            len += (size_t)n;
            continue;
        }
        if (n == 0) {
            err = gbx_error_set(GBX_ERR_SERVICE_UNAVAILABLE, "gearmand %s closed the admin connection", server);
            break;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if ((errno != EAGAIN && errno != EINTR) || poll(&p, 1, remaining_ms(until)) < 1)
            err = gbx_error_set(GBX_ERR_SERVICE_UNAVAILABLE, "gearmand %s: no answer to \"status\" within %g s",
                                server, timeout);
    }
    close(fd);
    json_t *map = err == GBX_OK ? json_object() : NULL;
    if (err == GBX_OK && !map) err = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    if (err == GBX_OK) {
        buf[len] = '\0';
        /* function \t total \t running \t available_workers */
        for (char *line = buf, *next; line && *line; line = next) {
            next = strchr(line, '\n');
            if (next) *next++ = '\0';
            char *tab[3] = {NULL, NULL, NULL};
            char *p = line;
            for (int i = 0; i < 3 && p; i++) {
                p = strchr(p, '\t');
                if (p) {
                    *p++ = '\0';
                    tab[i] = p;
                }
            }
            if (!tab[2] || !*line) continue;
            long workers = strtol(tab[2], NULL, 10);
            json_t *prev = json_object_get(map, line);
            json_object_set_new(map, line, json_integer(workers + (prev ? json_integer_value(prev) : 0)));
        }
        *out = map;
    }
    free(buf);
    return err;
}

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

/* Asks every server; *out {function: workers} of those that answered. */
static gbx_err ask_gearmand(json_t **out, gbx_jobmanager *jm) {
    *out = NULL;
    char *list = strdup(jm->servers);
    json_t *all = json_object();
    if (!list || !all) {
        free(list);
        json_decref(all);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    }
    bool any = false;
    char why[512] = "";
    char *save = NULL;
    for (char *s = strtok_r(list, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
        while (*s == ' ') s++;
        if (!*s) continue;
        json_t *one = NULL;
        if (gbx__jm_gearman_status(&one, s, ADMIN_TIMEOUT) != GBX_OK) {
            snprintf(why, sizeof why, "%s", gbx_error_last()->message);
            continue;
        }
        any = true;
        const char *k;
        json_t *v;
        json_object_foreach(one, k, v) {
            json_t *prev = json_object_get(all, k);
            json_object_set_new(all, k, json_integer(json_integer_value(v) + (prev ? json_integer_value(prev) : 0)));
        }
        json_decref(one);
    }
    free(list);
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
