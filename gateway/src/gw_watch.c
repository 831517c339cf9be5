/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_watch.c - one thread watching the statuses that requests wait for.
 *
 * HTTP threads only add waiters (under the lock); the watcher thread alone
 * removes them, so it may read the ids of the waiters it has listed without
 * the lock while it asks the store.  Each tick costs one read of the store
 * per WATCH_CHUNK waited statuses, however many processes change them; and
 * none when the store says nothing was written since the last read and no
 * waiter came (gbx_status_store_version: SQLite's data_version).
 */
#include "gw_watch.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "gearbox/log.h"
#include "gearbox/status.h"
#include "gw_util.h"

/* Ids per read of the store.  The waiters are read in order of the mtime
 * they saw, so each read's `since` (its first waiter's) is close to all of
 * its waiters': the store hands back little more than what changed. */
#define WATCH_CHUNK 100

typedef struct waiter {
    struct waiter *prev, *next;
    double mtime;
    double deadline;
    gbx_gw_wake_fn wake;
    void *user;
    bool changed;
    char id[]; /* NUL-terminated */
} waiter;

struct gbx_gw_watch {
    gbx_store *store;
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t cond;  /* a first waiter, or stop */
    waiter *head;
    size_t count;
    bool stopping;
    bool added;           /* a waiter came since the last listing */
    /* The watcher thread's own. */
    waiter **listed;
    const char **ids;
    size_t cap;
    double last_warning;
    uint64_t version;     /* the store's version before the last full read, 0: none */
};

static void unlink_waiter(gbx_gw_watch *w, waiter *x) {
    if (x->prev) x->prev->next = x->next;
    else w->head = x->next;
    if (x->next) x->next->prev = x->prev;
    w->count--;
}

/* Calls and frees the waiters of the list `done` (linked by next). */
static void wake_all(waiter *done) {
    while (done) {
        waiter *next = done->next;
        done->wake(done->user, done->changed);
        free(done);
        done = next;
    }
}

static int by_mtime(const void *a, const void *b) {
    double x = (*(waiter *const *)a)->mtime, y = (*(waiter *const *)b)->mtime;
    return x < y ? -1 : x > y;
}

/* Lists the waiters now (the watcher thread's arrays), earliest mtime
 * first; false when out of memory. */
static bool list_waiters(gbx_gw_watch *w, size_t *n) {
    if (w->count > w->cap) {
        size_t cap = w->count * 2;
        waiter **listed = realloc(w->listed, cap * sizeof *listed);
        if (listed) w->listed = listed;
        const char **ids = realloc(w->ids, cap * sizeof *ids);
        if (ids) w->ids = ids;
        if (!listed || !ids) return false;
        w->cap = cap;
    }
    size_t i = 0;
    for (waiter *x = w->head; x; x = x->next) w->listed[i++] = x;
    qsort(w->listed, i, sizeof *w->listed, by_mtime);
    for (size_t k = 0; k < i; k++) w->ids[k] = w->listed[k]->id;
    *n = i;
    return true;
}

/* One look: which listed statuses changed (NULL on a store failure: then
 * only deadlines count). */
static json_t *ask_store(gbx_gw_watch *w, size_t n) {
    json_t *all = json_object();
    for (size_t off = 0; all && off < n; off += WATCH_CHUNK) {
        size_t k = n - off < WATCH_CHUNK ? n - off : WATCH_CHUNK;
        json_t *found = NULL;
        double since = w->listed[off]->mtime;
        if (gbx_status_changed(&found, w->store, w->ids + off, k, since) != GBX_OK) {
            double now = gbx_gw_now();
            if (now - w->last_warning > 10) {
                w->last_warning = now;
                gbx_log(GBX_LOG_WARN, "long-poll: cannot read status changes: %s",
                        gbx_error_last()->message);
            }
            json_decref(all);
            return NULL;
        }
        json_object_update(all, found);
        json_decref(found);
    }
    return all;
}

static void *watch_main(void *arg) {
    gbx_gw_watch *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->lock);
        while (!w->head && !w->stopping) pthread_cond_wait(&w->cond, &w->lock);
        if (w->stopping) {
            waiter *all = w->head;
            w->head = NULL;
            w->count = 0;
            pthread_mutex_unlock(&w->lock);
            wake_all(all);
            return NULL;
        }
        /* Read before the statuses: a write after it shows next tick. */
        uint64_t version = 0;
        if (gbx_status_store_version(&version, w->store) != GBX_OK) version = 0;
        size_t n = 0;
        bool listed = list_waiters(w, &n);
        bool quiet = !w->added && version != 0 && version == w->version;
        w->added = false;
        pthread_mutex_unlock(&w->lock);

        json_t *changed = NULL;
        if (listed && !quiet) {
            changed = ask_store(w, n);
            w->version = changed ? version : 0;
        }
        double now = gbx_gw_now();
        waiter *done = NULL;
        pthread_mutex_lock(&w->lock);
        for (size_t i = 0; listed && i < n; i++) {
            waiter *x = w->listed[i];
            json_t *m = json_object_get(changed, x->id);
            x->changed = m && json_real_value(m) != x->mtime;
            if (!x->changed && now < x->deadline) continue;
            unlink_waiter(w, x);
            x->next = done;
            done = x;
        }
        /* Sleep a tick (a stop cuts it short). */
        struct timespec until;
        gbx_gw_deadline_in(&until, GBX_GW_WATCH_TICK_MS / 1000.0);
        pthread_mutex_unlock(&w->lock);
        json_decref(changed);
        wake_all(done);
        pthread_mutex_lock(&w->lock);
        while (!w->stopping && pthread_cond_timedwait(&w->cond, &w->lock, &until) != ETIMEDOUT) {
        }
        pthread_mutex_unlock(&w->lock);
    }
}

gbx_err gbx_gw_watch_new(gbx_gw_watch **out, gbx_store *store) {
    *out = NULL;
    gbx_gw_watch *w = calloc(1, sizeof *w);
    if (!w) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    w->store = store;
    pthread_mutex_init(&w->lock, NULL);
    gbx_gw_cond_init_monotonic(&w->cond);
    int rc = pthread_create(&w->thread, NULL, watch_main, w);
    if (rc != 0) {
        gbx_gw_watch_free(w);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "cannot start the long-poll watcher: %s",
                             strerror(rc));
    }
    w->started = true;
    *out = w;
    return GBX_OK;
}

gbx_err gbx_gw_watch_add(gbx_gw_watch *w, const char *id, double mtime, double deadline,
                         gbx_gw_wake_fn wake, void *user) {
    size_t len = strlen(id);
    waiter *x = calloc(1, sizeof *x + len + 1);
    if (!x) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    memcpy(x->id, id, len + 1);
    x->mtime = mtime;
    x->deadline = deadline;
    x->wake = wake;
    x->user = user;
    pthread_mutex_lock(&w->lock);
    if (w->stopping) {
        pthread_mutex_unlock(&w->lock);
        free(x);
        return gbx_error_set(GBX_ERR_SERVICE_UNAVAILABLE, "gateway is shutting down");
    }
    x->next = w->head;
    if (w->head) w->head->prev = x;
    w->head = x;
    w->added = true;
    if (w->count++ == 0) pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    return GBX_OK;
}

size_t gbx_gw_watch_waiting(gbx_gw_watch *w) {
    if (!w) return 0;
    pthread_mutex_lock(&w->lock);
    size_t n = w->count;
    pthread_mutex_unlock(&w->lock);
    return n;
}

void gbx_gw_watch_stop(gbx_gw_watch *w) {
    if (!w) return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    if (w->started) pthread_join(w->thread, NULL);
    w->started = false;
}

void gbx_gw_watch_free(gbx_gw_watch *w) {
    if (!w) return;
    gbx_gw_watch_stop(w);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    free(w->listed);
    free(w->ids);
    free(w);
}

/* ---- Prefer -------------------------------------------------------------- */

void gbx_gw_prefer_parse(gbx_gw_prefer *p, const char *value) {
    const char *s = value ? value : "";
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == ',') s++;
        const char *name = s;
        while (*s && *s != '=' && *s != ',' && *s != ';' && *s != ' ' && *s != '\t') s++;
        size_t nlen = (size_t)(s - name);
        while (*s == ' ' || *s == '\t') s++;
        char val[32] = "";
        if (*s == '=') {
            s++;
            while (*s == ' ' || *s == '\t') s++;
            bool quoted = *s == '"';
            if (quoted) s++;
            size_t k = 0;
            while (*s && (quoted ? *s != '"' : (*s != ',' && *s != ';' && *s != ' ' && *s != '\t'))) {
                if (k + 1 < sizeof val) val[k++] = *s;
                s++;
            }
            val[k] = '\0';
            if (quoted && *s == '"') s++;
        }
        /* Parameters (;...) say nothing to us: skip to the next preference. */
        while (*s && *s != ',') {
            if (*s == '"') {
                for (s++; *s && *s != '"'; s++) {
                }
                if (*s) s++;
            } else {
                s++;
            }
        }
        if (nlen == 13 && strncasecmp(name, "respond-async", 13) == 0) {
            p->respond_async = true;
        } else if (nlen == 4 && strncasecmp(name, "wait", 4) == 0 && p->wait == 0 && val[0]) {
            char *end;
            errno = 0;
            unsigned long long n = strtoull(val, &end, 10);
            bool digits = isdigit((unsigned char)val[0]) && *end == '\0';
            if (digits && (errno == ERANGE || n > GBX_GW_WAIT_MAX)) n = GBX_GW_WAIT_MAX;
            if (digits) p->wait = (int)n;
        }
    }
}
