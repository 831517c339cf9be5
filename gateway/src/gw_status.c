/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_status.c - GET .../v1/status[/<id>] straight from the store, and POST
 * .../v1/status/<id> (cancel, reschedule) through the job manager. */
#include "gw_status.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <strings.h>
#include <string.h>

#include "gearbox/json.h"
#include "gearbox/status.h"
#include "gw_route.h"

const char *gbx_gw_status_scope(const char *prefix) {
    return prefix && *prefix ? prefix : "/";
}

bool gbx_gw_status_visible(const gbx_gw_viewer *who, const gbx_status *st) {
    const char *owner = gbx_status_owner(st);
    if (!who->owner && !who->admin) return owner == NULL;
    const char *scope = gbx_status_scope(st);
    if (!scope || strcmp(scope, who->scope) != 0) return false;
    return who->admin || (owner && strcmp(owner, who->owner) == 0);
}

/* The status `id` if `who` may see it; else 404 as for an unknown id. */
static gbx_err fetch_visible(gbx_status **out, gbx_store *store, const gbx_gw_viewer *who,
                             const char *id) {
    gbx_err e = gbx_status_fetch(out, store, id);
    if (e != GBX_OK || gbx_gw_status_visible(who, *out)) return e;
    gbx_status_free(*out);
    *out = NULL;
    return gbx_error_set(GBX_ERR_NOT_FOUND, "status \"%s\" not found", id);
}

/* Any location's status on an open location, as in Gearbox (docs/gateway.md,
 * "Which statuses a location sees"); a principal's own. */
gbx_err gbx_gw_status_get_one(json_t **body, double *mtime, gbx_store *store,
                              const gbx_gw_viewer *who, const char *id) {
    *body = NULL;
    gbx_status *st;
    gbx_err e = fetch_visible(&st, store, who, id);
    if (e != GBX_OK) return e;
    e = gbx_status_to_json(body, st);
    if (mtime) *mtime = gbx_status_mtime(st);
    gbx_status_free(st);
    return e;
}

static gbx_err get_list(json_t **body, gbx_store *store, const gbx_gw_viewer *who,
                        const gbx_uri *uri) {
    gbx_status_filter filter;
    bool expand = false;
    gbx_err e = gbx_gw_status_filter(&filter, &expand, gbx_uri_matrix(uri), gbx_uri_query(uri));
    if (e != GBX_OK) return e;
    filter.scope = who->scope;
    if (!who->admin) filter.owner = who->owner;
    filter.ownerless = !who->owner && !who->admin;
    json_t *ids = NULL;
    if ((e = gbx_status_list(&ids, store, &filter)) != GBX_OK) return e;
    json_t *list = ids;
    if (expand) {
        list = json_array();
        size_t i;
        json_t *id;
        json_array_foreach(ids, i, id) {
            gbx_status *st = NULL;
            json_t *obj = NULL;
            e = gbx_status_fetch(&st, store, json_string_value(id));
            if (e == GBX_ERR_NOT_FOUND) continue; /* removed since the list was read */
            if (e == GBX_OK) e = gbx_status_to_json(&obj, st);
            gbx_status_free(st);
            if (e != GBX_OK) {
                json_decref(list);
                json_decref(ids);
                return e;
            }
            json_array_append_new(list, obj);
        }
        json_decref(ids);
    }
    *body = json_pack("{s:o}", "statuses", list);
    return *body ? GBX_OK : gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
}

gbx_err gbx_gw_status_get(json_t **body, gbx_store *store, const gbx_gw_viewer *who,
                          const gbx_uri *uri) {
    *body = NULL;
    json_t *args = gbx_uri_arguments(uri);
    size_t n = json_array_size(args);
    if (n == 0) return get_list(body, store, who, uri);
    if (n == 1)
        return gbx_gw_status_get_one(body, NULL, store, who,
                                     json_string_value(json_array_get(args, 0)));
    return gbx_error_set(GBX_ERR_NOT_FOUND, "no such status resource");
}

#define POST_USAGE "expected {\"state\": \"CANCELLED\"} (cancel) or {\"ytime\": <unix seconds>} (reschedule)"

gbx_err gbx_gw_status_parse_post(gbx_gw_status_action *action, double *ytime, const char *body,
                                 size_t len) {
    *action = 0;
    *ytime = 0;
    json_t *obj = NULL;
    if (!body || len == 0)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "empty body: " POST_USAGE);
    if (gbx_json_parse(&obj, body, len) != GBX_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", gbx_error_last()->message);
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s", msg);
    }
    gbx_err e = GBX_OK;
    json_t *state = json_object_get(obj, "state");
    json_t *yt = json_object_get(obj, "ytime");
    if (!json_is_object(obj) || json_object_size(obj) != 1 || (!state && !yt)) {
        e = gbx_error_set(GBX_ERR_BAD_REQUEST, "cannot change a status that way: " POST_USAGE);
    } else if (state) {
        if (!json_is_string(state) || strcasecmp(json_string_value(state), "CANCELLED") != 0)
            e = gbx_error_set(GBX_ERR_BAD_REQUEST,
                              "\"state\" can only be set to \"CANCELLED\" (cancel the job)");
        else
            *action = GBX_GW_STATUS_CANCEL;
    } else {
        double t = json_number_value(yt);
        if (!json_is_number(yt) || !isfinite(t) || t < 0)
            e = gbx_error_set(GBX_ERR_BAD_REQUEST,
                              "\"ytime\" must be a time in unix seconds (a number >= 0)");
        else {
            *action = GBX_GW_STATUS_RESCHEDULE;
            *ytime = t;
        }
    }
    json_decref(obj);
    return e;
}

gbx_err gbx_gw_status_post(json_t **out, int *http_code, gbx_jobmanager *jm,
                           const gbx_gw_viewer *who, const gbx_uri *uri, const char *body,
                           size_t len) {
    *out = NULL;
    *http_code = 0;
    json_t *args = gbx_uri_arguments(uri);
    if (json_array_size(args) == 0)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "POST a change to one status: .../status/<id>");
    if (json_array_size(args) > 1) return gbx_error_set(GBX_ERR_NOT_FOUND, "no such status resource");
    const char *id = json_string_value(json_array_get(args, 0));
    gbx_status *target = NULL;
    /* On an open location any location's status: Gearbox's status store was
     * global too (docs/gateway.md, "Which statuses a location sees"). */
    gbx_err e = fetch_visible(&target, gbx_jobmanager_store(jm), who, id);
    if (e != GBX_OK) return e;
    gbx_gw_status_action action;
    double ytime;
    if ((e = gbx_gw_status_parse_post(&action, &ytime, body, len)) != GBX_OK) {
        gbx_status_free(target);
        return e;
    }
    gbx_status *result = NULL;
    if (action == GBX_GW_STATUS_CANCEL) {
        e = gbx_jobmanager_cancel(&result, jm, gbx_status_id(target));
        *http_code = 202;
    } else {
        e = gbx_jobmanager_reschedule(&result, jm, gbx_status_id(target), ytime);
        *http_code = 200;
    }
    gbx_status_free(target);
    if (e == GBX_OK) e = gbx_status_to_json(out, result);
    gbx_status_free(result);
    if (e != GBX_OK) *http_code = 0;
    return e;
}
