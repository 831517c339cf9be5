/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* scoreboard.c - per-component counters and durations, in memory.
 *
 * Everything is one jansson tree, {"<component>": {"counters": ...,
 * "durations": ...}}, guarded by one mutex: updates are a few object
 * look-ups, and a snapshot is the tree printed under the lock. */
#include "gearbox/scoreboard.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

/* How many UTC hours of duration figures a metric keeps. */
#define KEEP_HOURS 24

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *boards;   /* component -> scoreboard; NULL until first use */
static char *current;    /* component of gbx_scoreboard_initialize */

static gbx_err oom(void) { return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory"); }

static bool empty(const char *s) { return !s || !*s; }

/* obj[key] as an object, created when missing; NULL when out of memory. */
static json_t *child(json_t *obj, const char *key) {
    json_t *c = json_object_get(obj, key);
    if (json_is_object(c)) return c;
    c = json_object();
    if (!c || json_object_set_new(obj, key, c) != 0) return NULL;
    return c;
}

/* The component a call means (NULL: the current one).  Called with the lock
 * held; sets the error when it returns NULL. */
static const char *resolve(const char *component) {
    if (!component) {
        if (!current) {
            gbx_error_set(GBX_ERR_PRECONDITION_FAILED,
                          "no scoreboard: call Scoreboard::initialize(component) first");
            return NULL;
        }
        component = current;
    }
    if (!*component) {
        gbx_error_set(GBX_ERR_BAD_REQUEST, "a scoreboard needs a component name");
        return NULL;
    }
    return component;
}

/* The scoreboard of `component` (NULL: the current one), created on first
 * use.  Called with the lock held; sets the error when it returns NULL. */
static json_t *board(const char *component) {
    if (!(component = resolve(component))) return NULL;
    if (!boards && !(boards = json_object())) {
        oom();
        return NULL;
    }
    json_t *b = child(boards, component);
    if (!b || !child(b, "counters") || !child(b, "durations")) {
        oom();
        return NULL;
    }
    return b;
}

static gbx_err check_names(const char *group, const char *name) {
    if (empty(group) || empty(name))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "scoreboard counters and durations need a group and a name");
    return GBX_OK;
}

gbx_err gbx_scoreboard_initialize(const char *component) {
    if (empty(component)) return gbx_error_set(GBX_ERR_BAD_REQUEST, "Scoreboard::initialize needs a component name");
    char *copy = strdup(component);
    if (!copy) return oom();
    pthread_mutex_lock(&lock);
    gbx_err err = board(component) ? GBX_OK : gbx_error_last()->code;
    if (err == GBX_OK) {
        free(current);
        current = copy;
        copy = NULL;
    }
    pthread_mutex_unlock(&lock);
    free(copy);
    return err;
}

gbx_err gbx_scoreboard_component(char **out) {
    if (!out) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_scoreboard_component: no out parameter");
    pthread_mutex_lock(&lock);
    *out = current ? strdup(current) : NULL;
    bool had = current != NULL;
    pthread_mutex_unlock(&lock);
    if (!had)
        return gbx_error_set(GBX_ERR_PRECONDITION_FAILED,
                             "no scoreboard: call Scoreboard::initialize(component) first");
    return *out ? GBX_OK : oom();
}

/* Reads (!add: creates nothing) or adds `n` to a counter, with the lock held. */
static gbx_err counter_op(long long *out, const char *component, const char *group, const char *name,
                          long long n, bool add) {
    gbx_err err = check_names(group, name);
    if (err != GBX_OK) return err;
    json_t *b = add ? board(component) : NULL;
    if (add && !b) return gbx_error_last()->code;
    if (!add) {
        if (!(component = resolve(component))) return gbx_error_last()->code;
        b = json_object_get(boards, component);
    }
    json_t *g = add ? child(json_object_get(b, "counters"), group)
                    : json_object_get(json_object_get(b, "counters"), group);
    if (add && !g) return oom();
    long long value = json_integer_value(json_object_get(g, name)) + n;
    if (add && json_object_set_new(g, name, json_integer(value)) != 0) return oom();
    if (out) *out = value;
    return GBX_OK;
}

gbx_err gbx_scoreboard_add_counter(long long *out, const char *component, const char *group,
                                   const char *name, long long n) {
    pthread_mutex_lock(&lock);
    gbx_err err = counter_op(out, component, group, name, n, true);
    pthread_mutex_unlock(&lock);
    return err;
}

gbx_err gbx_scoreboard_increment_counter(const char *component, const char *group, const char *name) {
    return gbx_scoreboard_add_counter(NULL, component, group, name, 1);
}

gbx_err gbx_scoreboard_counter(long long *out, const char *component, const char *group,
                               const char *name) {
    if (!out) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_scoreboard_counter: no out parameter");
    *out = 0;
    pthread_mutex_lock(&lock);
    gbx_err err = counter_op(out, component, group, name, 0, false);
    pthread_mutex_unlock(&lock);
    return err;
}

static double number(const json_t *obj, const char *key) { return json_number_value(json_object_get(obj, key)); }

/* Adds one sample to {"count", "total_seconds"} (and min/max when `extremes`). */
static bool add_sample(json_t *fig, double seconds, bool extremes) {
    json_int_t count = json_integer_value(json_object_get(fig, "count"));
    bool ok = json_object_set_new(fig, "count", json_integer(count + 1)) == 0 &&
              json_object_set_new(fig, "total_seconds", json_real(number(fig, "total_seconds") + seconds)) == 0;
    if (ok && extremes) {
        double lo = number(fig, "min_seconds"), hi = number(fig, "max_seconds");
        ok = json_object_set_new(fig, "min_seconds", json_real(count == 0 || seconds < lo ? seconds : lo)) == 0 &&
             json_object_set_new(fig, "max_seconds", json_real(seconds > hi ? seconds : hi)) == 0;
    }
    return ok;
}

/* "2026-12-04T15": the UTC hour of `t`. */
static void hour_key(char *buf, size_t len, time_t t) {
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H", &tm);
}

/* Adds the sample to this hour's entry and drops entries older than
 * KEEP_HOURS (keys sort as times). */
static bool add_hourly(json_t *metric, double seconds) {
    json_t *hours = child(metric, "hours");
    if (!hours) return false;
    time_t now = time(NULL);
    char key[32], oldest[32];
    hour_key(key, sizeof key, now);
    hour_key(oldest, sizeof oldest, now - (time_t)(KEEP_HOURS - 1) * 3600);
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(hours, tmp, k, v) {
        if (strcmp(k, oldest) < 0) json_object_del(hours, k);
    }
    json_t *h = child(hours, key);
    return h && add_sample(h, seconds, false);
}

gbx_err gbx_scoreboard_update_duration(const char *component, const char *group, const char *name,
                                       const char *metric, double seconds) {
    gbx_err err = check_names(group, name);
    if (err != GBX_OK) return err;
    if (empty(metric)) return gbx_error_set(GBX_ERR_BAD_REQUEST, "a scoreboard duration needs a metric name");
    if (!(seconds >= 0) || isinf(seconds))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "a duration is a finite number of seconds >= 0, not %g", seconds);
    pthread_mutex_lock(&lock);
    json_t *b = board(component);
    if (!b) {
        err = gbx_error_last()->code;
    } else {
        json_t *m = child(child(child(json_object_get(b, "durations"), group), name), metric);
        if (!m || !add_sample(m, seconds, true) || !add_hourly(m, seconds)) err = oom();
    }
    pthread_mutex_unlock(&lock);
    return err;
}

gbx_err gbx_scoreboard_update_duration_hours(const char *component, const char *group,
                                             const char *name, const char *metric,
                                             const gbx_stopwatch *sw) {
    if (!sw) return gbx_error_set(GBX_ERR_BAD_REQUEST, "update_duration_hours needs a StopWatch");
    return gbx_scoreboard_update_duration(component, group, name, metric, gbx_stopwatch_elapsed(sw));
}

gbx_err gbx_scoreboard_snapshot(char **out) {
    if (!out) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_scoreboard_snapshot: no out parameter");
    pthread_mutex_lock(&lock);
    json_t *doc = boards ? json_pack("{s:O}", "components", boards) : json_pack("{s:{}}", "components");
    *out = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(9)) : NULL;
    pthread_mutex_unlock(&lock);
    json_decref(doc);
    return *out ? GBX_OK : oom();
}

void gbx_scoreboard_reset(void) {
    pthread_mutex_lock(&lock);
    json_decref(boards);
    boards = NULL;
    free(current);
    current = NULL;
    pthread_mutex_unlock(&lock);
}
