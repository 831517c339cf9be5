/* servers.c - gearmand server lists with down marks and a rotating start
 * (gearbox/servers.h). */
#include "gearbox/servers.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gearbox/log.h"

typedef struct server {
    char *name;
    double down_until; /* monotonic seconds; 0 while up */
} server;

struct gbx_servers {
    pthread_mutex_t lock; /* guards down_until and next */
    server *list;
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
        server *grown = realloc(s->list, (s->count + 1) * sizeof *grown);
        char *name = strdup(p);
        if (!grown || !name) {
            if (grown) s->list = grown;
            free(name);
            free(copy);
            gbx_servers_free(s);
            return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
        }
        s->list = grown;
        s->list[s->count++] = (server){.name = name};
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
