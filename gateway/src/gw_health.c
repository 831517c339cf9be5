/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_health.c - /healthz and /readyz (gw_health.h). */
#include "gw_health.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gearbox/json.h"
#include "gearbox/response.h"
#include "gearbox/status.h"
#include "gw_util.h"

/* How long a readiness answer is reused. */
#define READY_CACHE_SECONDS 1.0
/* How long one gearmand may take to answer the probe. */
#define GEARMAND_PROBE_SECONDS 1.0
/* The status id the store probe reads: no status has it, so a store that
 * answers says "not found". */
#define STORE_PROBE_ID "gbx-readyz-probe"

struct gbx_gw_health {
    gbx_store *store;
    const gbx_servers *servers;
    pthread_mutex_t lock;   /* guards the cached answer; held while probing */
    double checked;         /* gbx_gw_now() of the last probe; 0 = none */
    bool ready;
    char detail[512];       /* the server that answered, or why not ready */
};

gbx_err gbx_gw_health_new(gbx_gw_health **out, gbx_store *store, const gbx_servers *servers) {
    *out = calloc(1, sizeof **out);
    if (!*out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    (*out)->store = store;
    (*out)->servers = servers;
    pthread_mutex_init(&(*out)->lock, NULL);
    return GBX_OK;
}

void gbx_gw_health_free(gbx_gw_health *h) {
    if (!h) return;
    pthread_mutex_destroy(&h->lock);
    free(h);
}

static void set_body(char **body, size_t *len, json_t *json) {
    *body = NULL;
    *len = 0;
    if (json && gbx_json_dump(body, json) == GBX_OK) *len = strlen(*body);
    json_decref(json);
}

void gbx_gw_health_live(unsigned *code, char **body, size_t *len) {
    *code = 200;
    set_body(body, len, json_pack("{s:s}", "status", "ok"));
}

/* Probes the store and the gearmands (in order, until one answers). */
static void probe(gbx_gw_health *h) {
    gbx_status *st = NULL;
    gbx_err rc = gbx_status_fetch(&st, h->store, STORE_PROBE_ID);
    gbx_status_free(st);
    if (rc != GBX_OK && rc != GBX_ERR_NOT_FOUND) {
        h->ready = false;
        snprintf(h->detail, sizeof h->detail, "the status store is unreachable: %s",
                 gbx_error_last()->message);
        return;
    }
    char tried[400] = "";
    for (size_t i = 0; i < gbx_servers_count(h->servers); i++) {
        const char *name = gbx_servers_name(h->servers, i);
        json_t *status = NULL;
        rc = gbx_servers_admin_status(&status, name, GEARMAND_PROBE_SECONDS);
        json_decref(status);
        if (rc == GBX_OK) {
            h->ready = true;
            snprintf(h->detail, sizeof h->detail, "%s", name);
            return;
        }
        size_t used = strlen(tried);
        snprintf(tried + used, sizeof tried - used, "%s%s", used ? ", " : "", name);
    }
    h->ready = false;
    snprintf(h->detail, sizeof h->detail, "no gearmand is reachable (tried %s)", tried);
}

void gbx_gw_health_ready(gbx_gw_health *h, const char *url, unsigned *code, char **body,
                         size_t *len) {
    pthread_mutex_lock(&h->lock);
    double now = gbx_gw_now();
    if (h->checked == 0 || now - h->checked >= READY_CACHE_SECONDS) {
        probe(h);
        h->checked = gbx_gw_now();
    }
    bool ready = h->ready;
    char detail[sizeof h->detail];
    memcpy(detail, h->detail, sizeof detail);
    pthread_mutex_unlock(&h->lock);
    if (ready) {
        *code = 200;
        set_body(body, len, json_pack("{s:s, s:s, s:s}", "status", "ready", "store", "ok",
                                      "gearmand", detail));
        return;
    }
    *code = 503;
    json_t *err = NULL;
    if (gbx_error_body(&err, url, "get", GBX_ERR_SERVICE_UNAVAILABLE, detail) != GBX_OK) err = NULL;
    set_body(body, len, err);
}
