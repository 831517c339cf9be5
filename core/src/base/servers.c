/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* servers.c - gearmand server lists with down marks and a rotating start
 * (gearbox/servers.h). */
#include "gearbox/servers.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gearbox/log.h"

typedef struct server_entry {
    char *name;
    double down_until; /* monotonic seconds; 0 while up */
} server_entry;

struct gbx_servers {
    pthread_mutex_t lock; /* guards down_until and next */
    server_entry *list;
    size_t count;
    size_t next; /* where the next request starts */
};

static double mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

gbx_err gbx_servers_new(gbx_servers **out, const char *list) {
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_servers_new: out is NULL");
    *out = NULL;
    gbx_servers *s = calloc(1, sizeof *s);
    char *copy = list ? strdup(list) : NULL;
    if (!s || (list && !copy)) {
        free(s);
        free(copy);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    }
    pthread_mutex_init(&s->lock, NULL);
    char *save = NULL;
    for (char *p = copy ? strtok_r(copy, ",", &save) : NULL; p; p = strtok_r(NULL, ",", &save)) {
        while (*p == ' ' || *p == '\t') p++;
        size_t n = strlen(p);
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t')) p[--n] = '\0';
        if (!n) continue;
        server_entry *grown = realloc(s->list, (s->count + 1) * sizeof *grown);
        char *name = strdup(p);
        if (!grown || !name) {
            if (grown) s->list = grown;
            free(name);
            free(copy);
            gbx_servers_free(s);
            return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
        }
        s->list = grown;
        s->list[s->count++] = (server_entry){.name = name};
    }
    free(copy);
    if (s->count == 0) {
        gbx_servers_free(s);
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "no gearmand server in \"%s\"", list ? list : "");
    }
    *out = s;
    return GBX_OK;
}

void gbx_servers_free(gbx_servers *s) {
    if (!s) return;
    for (size_t i = 0; i < s->count; i++) free(s->list[i].name);
    free(s->list);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

size_t gbx_servers_count(const gbx_servers *s) { return s ? s->count : 0; }

const char *gbx_servers_name(const gbx_servers *s, size_t i) {
    return s && i < s->count ? s->list[i].name : NULL;
}

size_t gbx_servers_order(gbx_servers *s, size_t *order) {
    double now = mono();
    pthread_mutex_lock(&s->lock);
    size_t start = s->next++ % s->count, n = 0;
    for (int pass = 0; pass < 2; pass++) /* those up, then those down */
        for (size_t k = 0; k < s->count; k++) {
            size_t i = (start + k) % s->count;
            if ((s->list[i].down_until > now) == (pass == 1)) order[n++] = i;
        }
    pthread_mutex_unlock(&s->lock);
    return n;
}

void gbx_servers_mark_down(gbx_servers *s, size_t i, const char *why) {
    if (!s || i >= s->count) return;
    pthread_mutex_lock(&s->lock);
    bool was_up = s->list[i].down_until == 0;
    s->list[i].down_until = mono() + GBX_SERVERS_DOWN_SECONDS;
    pthread_mutex_unlock(&s->lock);
    if (was_up)
        gbx_log(GBX_LOG_WARN, "gearmand %s is down (skipped for %g s at a time until it answers): %s",
                s->list[i].name, GBX_SERVERS_DOWN_SECONDS, why ? why : "");
}

void gbx_servers_mark_up(gbx_servers *s, size_t i) {
    if (!s || i >= s->count) return;
    pthread_mutex_lock(&s->lock);
    bool was_down = s->list[i].down_until != 0;
    s->list[i].down_until = 0;
    pthread_mutex_unlock(&s->lock);
    if (was_down) gbx_log(GBX_LOG_INFO, "gearmand %s answers again", s->list[i].name);
}

bool gbx_servers_is_down(gbx_servers *s, size_t i) {
    if (!s || i >= s->count) return false;
    pthread_mutex_lock(&s->lock);
    bool down = s->list[i].down_until > mono();
    pthread_mutex_unlock(&s->lock);
    return down;
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
    double left = until - mono();
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

gbx_err gbx_servers_admin_status(json_t **out, const char *server, double timeout) {
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_servers_admin_status: out is NULL");
    *out = NULL;
    char host[256], port[32], why[512] = "no address";
    if (!split_server(server, host, sizeof host, port, sizeof port))
        return gbx_error_set(GBX_ERR_SERVICE_UNAVAILABLE, "gearmand server \"%s\": bad address", server);
    double until = mono() + timeout;
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
        /* function \t total \t running \t available_workers; a function
         * listed twice is summed. */
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
            static const char *const names[3] = {"total", "running", "workers"};
            json_t *entry = json_object_get(map, line);
            if (!entry && (!(entry = json_pack("{s:I,s:I,s:I}", "total", (json_int_t)0, "running",
                                               (json_int_t)0, "workers", (json_int_t)0)) ||
                           json_object_set_new(map, line, entry) != 0)) {
                json_decref(map);
                map = NULL;
                err = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
                break;
            }
            for (int i = 0; i < 3; i++) {
                json_t *v = json_object_get(entry, names[i]);
                json_integer_set(v, json_integer_value(v) + strtoll(tab[i], NULL, 10));
            }
        }
        if (err == GBX_OK) *out = map;
    }
    free(buf);
    return err;
}
