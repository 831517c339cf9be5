/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_metrics.c - /metrics, the request counters and the admin listener
 * (gw_metrics.h; every metric is described in docs/metrics.md). */
#include "gw_metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "gearbox/json.h"
#include "gearbox/log.h"
#include "gearbox/response.h"
#include "gearbox/servers.h"
#include "gw_health.h"
#include "gw_limits.h"
#include "gw_util.h"

#define METHODS 6 /* GET HEAD PUT POST DELETE, then any other */
#define CODES 500 /* 100 to 599 */
/* How long one gearmand may take to answer the admin "status". */
#define GEARMAND_STATUS_SECONDS 1.0
#define TEXT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static const char *const method_names[METHODS] = {"GET", "HEAD", "PUT", "POST", "DELETE", "OTHER"};

/* The figures read from the store and gearmand, cached. */
typedef struct cached {
    double at;             /* gbx_gw_now() of the reading; 0 = none */
    json_t *states;        /* {"PENDING": n, ...} or NULL (the store failed) */
    json_t *workers;       /* gbx_store_worker_figures or NULL */
    json_t *functions;     /* {"fn": {"total", "running", "workers"}} summed over servers */
    json_t *servers_up;    /* {"host:port": true/false} */
} cached;

struct gbx_gw_metrics {
    const gbx_gw_config *cfg;
    gbx_store *store;
    gbx_gw_gauges_fn gauges;
    void *gauges_ctx;
    gbx_servers *servers;
    gbx_gw_health *health;
    gbx_gw_handler guarded;      /* on_admin, marked as the gateway's own answers */
    size_t slots;                /* nlocations + 2 (none, gateway) */
    atomic_ullong *codes;        /* [slot][method][code - 100] */
    gbx_histogram **latency;     /* [slot][method] */
    atomic_ullong *accepted;     /* [slot] */
    pthread_mutex_t cache_lock;  /* guards `cache`; held while it is refreshed */
    cached cache;
    struct MHD_Daemon *admin;
    int admin_port;
};

/* ---- the text format ------------------------------------------------------- */

static bool reserve(gbx_gw_prom *t, size_t more) {
    if (t->oom) return false;
    if (t->len + more + 1 <= t->cap) return true;
    size_t cap = t->cap ? t->cap : 4096;
    while (cap < t->len + more + 1) cap *= 2;
    char *p = realloc(t->p, cap);
    if (!p) {
        t->oom = true;
        return false;
    }
    t->p = p;
    t->cap = cap;
    return true;
}

static void put(gbx_gw_prom *t, const char *s, size_t n) {
    if (!reserve(t, n)) return;
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void puts_(gbx_gw_prom *t, const char *s) { put(t, s, strlen(s)); }

/* `s` with backslash and newline escaped, and the double quote too in a
 * label value (HELP text keeps it). */
static void put_escaped(gbx_gw_prom *t, const char *s, bool quote) {
    for (const char *p = s; *p; p++) {
        if (*p == '\\') puts_(t, "\\\\");
        else if (*p == '\n') puts_(t, "\\n");
        else if (*p == '"' && quote) puts_(t, "\\\"");
        else put(t, p, 1);
    }
}

static void put_value(gbx_gw_prom *t, double v) {
    char num[64];
    if (isnan(v)) snprintf(num, sizeof num, "NaN");
    else if (isinf(v)) snprintf(num, sizeof num, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15) snprintf(num, sizeof num, "%.0f", v);
    else snprintf(num, sizeof num, "%.17g", v);
    puts_(t, num);
}

void gbx_gw_prom_family(gbx_gw_prom *t, const char *name, const char *type, const char *help) {
    puts_(t, "# HELP ");
    puts_(t, name);
    puts_(t, " ");
    put_escaped(t, help, false);
    puts_(t, "\n# TYPE ");
    puts_(t, name);
    puts_(t, " ");
    puts_(t, type);
    puts_(t, "\n");
}

/* name{labels[,extra_name="extra_value"]} value */
static void sample_with(gbx_gw_prom *t, const char *name, const char *const *labels,
                        const char *extra_name, const char *extra_value, double value) {
    puts_(t, name);
    bool any = (labels && labels[0]) || extra_name;
    if (any) puts_(t, "{");
    size_t n = 0;
    for (size_t i = 0; labels && labels[i] && labels[i + 1]; i += 2, n++) {
        if (n) puts_(t, ",");
        puts_(t, labels[i]);
        puts_(t, "=\"");
        put_escaped(t, labels[i + 1], true);
        puts_(t, "\"");
    }
    if (extra_name) {
        if (n) puts_(t, ",");
        puts_(t, extra_name);
        puts_(t, "=\"");
        put_escaped(t, extra_value, true);
        puts_(t, "\"");
    }
    if (any) puts_(t, "}");
    puts_(t, " ");
    put_value(t, value);
    puts_(t, "\n");
}

void gbx_gw_prom_sample(gbx_gw_prom *t, const char *name, const char *const *labels, double value) {
    sample_with(t, name, labels, NULL, NULL, value);
}

void gbx_gw_prom_histogram(gbx_gw_prom *t, const char *name, const char *const *labels,
                           const gbx_histogram_counts *c) {
    char bucket[200], sum[200], count[200];
    snprintf(bucket, sizeof bucket, "%s_bucket", name);
    snprintf(sum, sizeof sum, "%s_sum", name);
    snprintf(count, sizeof count, "%s_count", name);
    unsigned long long cumulative = 0;
    for (size_t i = 0; i <= GBX_HISTOGRAM_BUCKETS; i++) {
        cumulative += c->buckets[i];
        char le[32];
        if (i < GBX_HISTOGRAM_BUCKETS) snprintf(le, sizeof le, "%g", gbx_histogram_bounds[i]);
        else snprintf(le, sizeof le, "+Inf");
        sample_with(t, bucket, labels, "le", le, (double)cumulative);
    }
    sample_with(t, sum, labels, NULL, NULL, c->sum);
    sample_with(t, count, labels, NULL, NULL, (double)cumulative);
}

void gbx_gw_prom_free(gbx_gw_prom *t) {
    free(t->p);
    memset(t, 0, sizeof *t);
}

/* ---- the registry ------------------------------------------------------------ */

static size_t slot_of(const gbx_gw_metrics *m, int location) {
    if (location >= 0 && (size_t)location < m->cfg->nlocations) return (size_t)location;
    return location == GBX_GW_LOCATION_GATEWAY ? m->slots - 1 : m->slots - 2;
}

static const char *slot_label(const gbx_gw_metrics *m, size_t slot) {
    if (slot == m->slots - 1) return "(gateway)";
    if (slot == m->slots - 2) return "(none)";
    const char *path = m->cfg->locations[slot].path;
    return path && *path ? path : "/";
}

static size_t method_index(const char *method) {
    for (size_t i = 0; method && i < METHODS - 1; i++)
        if (strcmp(method, method_names[i]) == 0) return i;
    return METHODS - 1;
}

static void cache_clear(cached *c) {
    json_decref(c->states);
    json_decref(c->workers);
    json_decref(c->functions);
    json_decref(c->servers_up);
    memset(c, 0, sizeof *c);
}

gbx_err gbx_gw_metrics_new(gbx_gw_metrics **out, const gbx_gw_config *cfg, gbx_store *store,
                           gbx_gw_gauges_fn gauges, void *ctx) {
    *out = NULL;
    gbx_gw_metrics *m = calloc(1, sizeof *m);
    if (!m) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    m->cfg = cfg;
    m->store = store;
    m->gauges = gauges;
    m->gauges_ctx = ctx;
    m->slots = cfg->nlocations + 2;
    pthread_mutex_init(&m->cache_lock, NULL);
    m->codes = calloc(m->slots * METHODS * CODES, sizeof *m->codes);
    m->latency = calloc(m->slots * METHODS, sizeof *m->latency);
    m->accepted = calloc(m->slots, sizeof *m->accepted);
    gbx_err e = m->codes && m->latency && m->accepted
                    ? GBX_OK
                    : gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    for (size_t i = 0; e == GBX_OK && i < m->slots * METHODS; i++) e = gbx_histogram_new(&m->latency[i]);
    if (e == GBX_OK) e = gbx_servers_new(&m->servers, cfg->gearman_servers);
    if (e == GBX_OK) e = gbx_gw_health_new(&m->health, store, m->servers);
    if (e != GBX_OK) {
        gbx_gw_metrics_free(m);
        return e;
    }
    *out = m;
    return GBX_OK;
}

void gbx_gw_metrics_free(gbx_gw_metrics *m) {
    if (!m) return;
    gbx_gw_metrics_stop(m);
    for (size_t i = 0; m->latency && i < m->slots * METHODS; i++) gbx_histogram_free(m->latency[i]);
    free(m->latency);
    free(m->codes);
    free(m->accepted);
    cache_clear(&m->cache);
    gbx_gw_health_free(m->health);
    gbx_servers_free(m->servers);
    pthread_mutex_destroy(&m->cache_lock);
    free(m);
}

void gbx_gw_metrics_request(gbx_gw_metrics *m, int location, const char *method, unsigned code,
                            double seconds) {
    if (!m || code < 100 || code > 599) return;
    size_t i = slot_of(m, location) * METHODS + method_index(method);
    atomic_fetch_add_explicit(&m->codes[i * CODES + (code - 100)], 1, memory_order_relaxed);
    gbx_histogram_observe(m->latency[i], seconds);
}

void gbx_gw_metrics_accepted(gbx_gw_metrics *m, int location) {
    if (m) atomic_fetch_add_explicit(&m->accepted[slot_of(m, location)], 1, memory_order_relaxed);
}

/* ---- what the store and gearmand say (cached) ---------------------------------- */

/* Adds `add`'s numbers to `into`'s, member by member. */
static void add_numbers(json_t *into, const json_t *add) {
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)add, key, v) {
        json_t *have = json_object_get(into, key);
        json_object_set_new(into, key, json_integer(json_integer_value(have) + json_integer_value(v)));
    }
}

static void refresh(gbx_gw_metrics *m) {
    cache_clear(&m->cache);
    cached *c = &m->cache;
    if (gbx_store_count_states(&c->states, m->store) != GBX_OK) c->states = NULL;
    if (gbx_store_worker_figures(&c->workers, m->store, m->cfg->metrics.worker_stale_seconds) != GBX_OK)
        c->workers = NULL;
    c->functions = json_object();
    c->servers_up = json_object();
    for (size_t i = 0; i < gbx_servers_count(m->servers); i++) {
        const char *name = gbx_servers_name(m->servers, i);
        json_t *status = NULL;
        bool up = gbx_servers_admin_status(&status, name, GEARMAND_STATUS_SECONDS) == GBX_OK;
        json_object_set_new(c->servers_up, name, json_boolean(up));
        const char *fn;
        json_t *figures;
        json_object_foreach(status, fn, figures) {
            json_t *sum = json_object_get(c->functions, fn);
            if (!sum) json_object_set_new(c->functions, fn, sum = json_object());
            add_numbers(sum, figures);
        }
        json_decref(status);
    }
    gbx_error_clear();
    c->at = gbx_gw_now();
}

/* ---- rendering ------------------------------------------------------------------- */

/* A family with one sample per member of `values` ({"<label value>":
 * integer}), labelled `label`. */
static void by_label(gbx_gw_prom *t, const char *name, const char *type, const char *help,
                     const char *label, const json_t *values) {
    gbx_gw_prom_family(t, name, type, help);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)values, key, v) {
        const char *labels[] = {label, key, NULL};
        gbx_gw_prom_sample(t, name, labels, (double)json_integer_value(v));
    }
}

static void render_requests(gbx_gw_prom *t, gbx_gw_metrics *m) {
    gbx_gw_prom_family(t, "gearbox_http_requests_total", "counter",
                       "HTTP requests answered, by location, method and status code.");
    for (size_t s = 0; s < m->slots; s++)
        for (size_t me = 0; me < METHODS; me++)
            for (size_t code = 0; code < CODES; code++) {
                size_t i = (s * METHODS + me) * CODES + code;
                unsigned long long n = atomic_load_explicit(&m->codes[i], memory_order_relaxed);
                if (!n) continue;
                char num[8];
                snprintf(num, sizeof num, "%zu", code + 100);
                const char *labels[] = {"location", slot_label(m, s), "method", method_names[me],
                                        "code", num, NULL};
                gbx_gw_prom_sample(t, "gearbox_http_requests_total", labels, (double)n);
            }
    gbx_gw_prom_family(t, "gearbox_http_request_duration_seconds", "histogram",
                       "Time from a request's first byte to its answer, by location and method.");
    for (size_t s = 0; s < m->slots; s++)
        for (size_t me = 0; me < METHODS; me++) {
            gbx_histogram_counts c = {{0}, 0};
            gbx_histogram_read(m->latency[s * METHODS + me], &c);
            unsigned long long total = 0;
            for (size_t b = 0; b <= GBX_HISTOGRAM_BUCKETS; b++) total += c.buckets[b];
            if (!total) continue;
            const char *labels[] = {"location", slot_label(m, s), "method", method_names[me], NULL};
            gbx_gw_prom_histogram(t, "gearbox_http_request_duration_seconds", labels, &c);
        }
}

/* Sums component -> {"completed", "failed"} over the workers' rows. */
static json_t *jobs_by_component(const json_t *workers) {
    json_t *sum = json_object();
    size_t i;
    json_t *w;
    json_array_foreach(workers, i, w) {
        const char *component;
        json_t *counts;
        json_object_foreach(json_object_get(json_object_get(w, "figures"), "jobs"), component, counts) {
            json_t *have = json_object_get(sum, component);
            if (!have) json_object_set_new(sum, component, have = json_object());
            add_numbers(have, counts);
        }
    }
    return sum;
}

static void render_jobs(gbx_gw_prom *t, gbx_gw_metrics *m) {
    /* Accepted: by the component of each location (several may share one). */
    json_t *accepted = json_object();
    for (size_t s = 0; s < m->cfg->nlocations; s++) {
        const char *component = m->cfg->locations[s].component;
        json_t *have = json_object_get(accepted, component);
        unsigned long long n = atomic_load_explicit(&m->accepted[s], memory_order_relaxed);
        json_object_set_new(accepted, component, json_integer(json_integer_value(have) + (json_int_t)n));
    }
    by_label(t, "gearbox_jobs_accepted_total", "counter",
             "Async jobs this gateway accepted (answered 202), by component.", "component", accepted);
    json_decref(accepted);
    const char *component;
    json_t *v;

    json_t *ended = jobs_by_component(m->cache.workers);
    static const char *const kinds[][2] = {
        {"completed", "Async jobs the workers completed successfully, by component (summed over "
                      "the worker processes that published lately)."},
        {"failed", "Async jobs that ended in an error in the workers, by component (summed over "
                   "the worker processes that published lately)."}};
    for (size_t k = 0; k < 2; k++) {
        char name[64];
        snprintf(name, sizeof name, "gearbox_jobs_%s_total", kinds[k][0]);
        gbx_gw_prom_family(t, name, "counter", kinds[k][1]);
        json_object_foreach(ended, component, v) {
            const char *labels[] = {"component", component, NULL};
            gbx_gw_prom_sample(t, name, labels, (double)json_integer_value(json_object_get(v, kinds[k][0])));
        }
    }
    json_decref(ended);
}

static void render_store(gbx_gw_prom *t, gbx_gw_metrics *m) {
    by_label(t, "gearbox_statuses", "gauge", "Statuses in the status store, by state.", "state",
             m->cache.states);
    gbx_gw_prom_family(t, "gearbox_store_up", "gauge",
                       "1 when the status store answered the last look, else 0.");
    gbx_gw_prom_sample(t, "gearbox_store_up", NULL, m->cache.states ? 1 : 0);
    gbx_gw_prom_family(t, "gearbox_store_operation_duration_seconds", "histogram",
                       "Time the gateway's calls to the status store took, by operation.");
    for (size_t i = 0; i < gbx_store_operation_count(); i++) {
        gbx_histogram_counts c = {{0}, 0};
        gbx_store_operation_timings(i, &c);
        const char *labels[] = {"operation", gbx_store_operation_name(i), NULL};
        gbx_gw_prom_histogram(t, "gearbox_store_operation_duration_seconds", labels, &c);
    }
}

static void render_gearmand(gbx_gw_prom *t, gbx_gw_metrics *m) {
    static const char *const gauges[][3] = {
        {"gearbox_gearmand_jobs", "total", "Jobs queued in gearmand (running ones included), by "
                                           "function, summed over the servers."},
        {"gearbox_gearmand_running_jobs", "running", "Jobs gearmand has handed to a worker, by "
                                                     "function, summed over the servers."},
        {"gearbox_gearmand_workers", "workers", "Workers registered for the function, summed "
                                                "over the servers."}};
    for (size_t g = 0; g < 3; g++) {
        gbx_gw_prom_family(t, gauges[g][0], "gauge", gauges[g][2]);
        const char *fn;
        json_t *figures;
        json_object_foreach(m->cache.functions, fn, figures) {
            const char *labels[] = {"function", fn, NULL};
            gbx_gw_prom_sample(t, gauges[g][0], labels,
                               (double)json_integer_value(json_object_get(figures, gauges[g][1])));
        }
    }
    gbx_gw_prom_family(t, "gearbox_gearmand_up", "gauge",
                       "1 when the gearmand answered the last look, else 0.");
    const char *server;
    json_t *up;
    json_object_foreach(m->cache.servers_up, server, up) {
        const char *labels[] = {"server", server, NULL};
        gbx_gw_prom_sample(t, "gearbox_gearmand_up", labels, json_is_true(up) ? 1 : 0);
    }
}

/* The scoreboards' counters, summed per (component, group, name) over the
 * worker processes. */
static void render_workers(gbx_gw_prom *t, gbx_gw_metrics *m) {
    json_t *sum = json_object(), *processes = json_object();
    size_t i;
    json_t *w;
    json_array_foreach(m->cache.workers, i, w) {
        const char *wc = json_string_value(json_object_get(w, "component"));
        json_t *have = json_object_get(processes, wc && *wc ? wc : "-");
        json_object_set_new(processes, wc && *wc ? wc : "-", json_integer(json_integer_value(have) + 1));
        const char *component;
        json_t *board;
        json_object_foreach(json_object_get(json_object_get(json_object_get(w, "figures"), "scoreboard"),
                                            "components"),
                            component, board) {
            json_t *into = json_object_get(sum, component);
            if (!into) json_object_set_new(sum, component, into = json_object());
            const char *group;
            json_t *counters;
            json_object_foreach(json_object_get(board, "counters"), group, counters) {
                json_t *g = json_object_get(into, group);
                if (!g) json_object_set_new(into, group, g = json_object());
                add_numbers(g, counters);
            }
        }
    }
    by_label(t, "gearbox_worker_processes", "gauge",
             "Worker processes that published their figures lately, by component.", "component",
             processes);
    const char *component;
    json_t *v;
    /* Not "gearbox_worker_counter": promtool refuses a type in a name. */
    gbx_gw_prom_family(t, "gearbox_worker_scoreboard_total", "counter",
                       "The workers' Scoreboard counters, by component, group and name, summed "
                       "over the worker processes that published lately.");
    json_t *board;
    json_object_foreach(sum, component, board) {
        const char *group;
        json_t *counters;
        json_object_foreach(board, group, counters) {
            const char *name;
            json_object_foreach(counters, name, v) {
                const char *labels[] = {"component", component, "group", group, "name", name, NULL};
                gbx_gw_prom_sample(t, "gearbox_worker_scoreboard_total", labels, (double)json_integer_value(v));
            }
        }
    }
    json_decref(sum);
    json_decref(processes);
}

static void render_gateway(gbx_gw_prom *t, gbx_gw_metrics *m) {
    gbx_gw_gauges g = {0, 0, 0};
    if (m->gauges) m->gauges(m->gauges_ctx, &g);
    gbx_gw_prom_family(t, "gearbox_gateway_connections", "gauge",
                       "Open HTTP connections of the main listener.");
    gbx_gw_prom_sample(t, "gearbox_gateway_connections", NULL, g.connections);
    gbx_gw_prom_family(t, "gearbox_gateway_suspended_requests", "gauge",
                       "Sync requests waiting for their worker's answer.");
    gbx_gw_prom_sample(t, "gearbox_gateway_suspended_requests", NULL, g.suspended);
    gbx_gw_prom_family(t, "gearbox_scheduler_lag_seconds", "gauge",
                       "How late the scheduler's last run was behind the earliest job due then "
                       "(0 when it was on time or nothing was due).");
    gbx_gw_prom_sample(t, "gearbox_scheduler_lag_seconds", NULL, g.scheduler_lag);
}

gbx_err gbx_gw_metrics_render(char **out, size_t *len, gbx_gw_metrics *m) {
    *out = NULL;
    *len = 0;
    gbx_gw_prom t = {0};
    render_requests(&t, m);
    pthread_mutex_lock(&m->cache_lock);
    if (m->cache.at == 0 || gbx_gw_now() - m->cache.at >= m->cfg->metrics.cache_seconds) refresh(m);
    render_jobs(&t, m);
    render_store(&t, m);
    render_gearmand(&t, m);
    render_workers(&t, m);
    pthread_mutex_unlock(&m->cache_lock);
    render_gateway(&t, m);
    if (t.oom) {
        gbx_gw_prom_free(&t);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    }
    *out = t.p;
    *len = t.len;
    return GBX_OK;
}

/* ---- the endpoints ------------------------------------------------------------- */

bool gbx_gw_metrics_answer(gbx_gw_metrics *m, bool admin, const char *method, const char *path,
                           const char *url, unsigned *code, char **body, size_t *len,
                           const char **content_type) {
    if (!m || !path) return false;
    const gbx_gw_metrics_config *mc = &m->cfg->metrics;
    bool metrics = mc->enabled && strcmp(path, mc->path) == 0 && (admin || !mc->listen_address);
    bool live = strcmp(path, "/healthz") == 0, ready = strcmp(path, "/readyz") == 0;
    if (!metrics && !live && !ready) return false;
    *content_type = "application/json";
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        *code = 405;
        json_t *err = NULL;
        *body = NULL;
        *len = 0;
        if (gbx_error_body(&err, url, "get", GBX_ERR_METHOD_NOT_ALLOWED,
                           "this endpoint allows GET and HEAD") == GBX_OK &&
            gbx_json_dump(body, err) == GBX_OK)
            *len = strlen(*body);
        json_decref(err);
        return true;
    }
    if (live) {
        gbx_gw_health_live(code, body, len);
    } else if (ready) {
        gbx_gw_health_ready(m->health, url, code, body, len);
    } else {
        *content_type = TEXT_TYPE;
        *code = 200;
        if (gbx_gw_metrics_render(body, len, m) != GBX_OK) {
            *code = 500;
            *body = strdup("out of memory\n");
            *len = *body ? strlen(*body) : 0;
        }
    }
    return true;
}

/* ---- the admin listener -------------------------------------------------------- */

static enum MHD_Result on_admin(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version, const char *upload_data,
                                size_t *upload_size, void **con_cls) {
    gbx_gw_metrics *m = cls;
    static int seen;
    if (!*con_cls) {
        *con_cls = &seen;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0; /* a body is read and ignored */
        return MHD_YES;
    }
    unsigned code = 404;
    char *body = NULL;
    size_t len = 0;
    const char *type = "application/json";
    double start = gbx_gw_now();
    if (!gbx_gw_metrics_answer(m, true, method, url, url, &code, &body, &len, &type)) {
        json_t *err = NULL;
        if (gbx_error_body(&err, url, "get", GBX_ERR_NOT_FOUND,
                           "the admin listener serves the metrics path, /healthz and /readyz") == GBX_OK &&
            gbx_json_dump(&body, err) == GBX_OK)
            len = strlen(body);
        json_decref(err);
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, body ? body : (void *)"", body ? MHD_RESPMEM_MUST_FREE
                                                                            : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result ok = MHD_queue_response(conn, code, resp);
    MHD_destroy_response(resp);
    gbx_gw_metrics_request(m, GBX_GW_LOCATION_GATEWAY, method, code, gbx_gw_now() - start);
    return ok;
}

gbx_err gbx_gw_metrics_start(gbx_gw_metrics *m) {
    const gbx_gw_metrics_config *mc = &m->cfg->metrics;
    if (!mc->listen_address || m->admin) return GBX_OK;
    struct sockaddr_storage addr;
    bool v6 = false;
    gbx_err e = gbx_gw_listen_address(&addr, &v6, mc->listen_address, mc->listen_port,
                                      "metrics.listen.address");
    if (e != GBX_OK) return e;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
    m->guarded = (gbx_gw_handler){on_admin, m};
    m->admin = MHD_start_daemon(flags, (uint16_t)mc->listen_port, NULL, NULL, gbx_gw_guarded_request,
                                &m->guarded,
                                MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30, MHD_OPTION_END);
    if (!m->admin)
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                             "cannot listen on %s port %d for metrics (address in use, or no "
                             "permission?)",
                             mc->listen_address, mc->listen_port);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->admin, MHD_DAEMON_INFO_BIND_PORT);
    m->admin_port = info ? info->port : mc->listen_port;
    gbx_log(GBX_LOG_INFO, "metrics and health on http://%s:%d%s", mc->listen_address,
            m->admin_port, mc->path);
    return GBX_OK;
}

void gbx_gw_metrics_stop(gbx_gw_metrics *m) {
    if (!m || !m->admin) return;
    MHD_stop_daemon(m->admin);
    m->admin = NULL;
}

int gbx_gw_metrics_admin_port(const gbx_gw_metrics *m) { return m ? m->admin_port : 0; }
