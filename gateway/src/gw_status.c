/* gw_status.c - GET .../v1/status[/<id>] straight from the store. */
#include "gw_status.h"

#include <stdbool.h>
#include <string.h>

#include "gearbox/status.h"
#include "gw_route.h"

const char *gbx_gw_status_scope(const char *prefix) {
    return prefix && *prefix ? prefix : "/";
}

static gbx_err fetch_in_scope(gbx_status **out, gbx_store *store, const char *scope, const char *id) {
    *out = NULL;
    gbx_status *st = NULL;
    gbx_err e = gbx_status_fetch(&st, store, id);
    if (e != GBX_OK) return e;
    const char *owner = gbx_status_scope(st);
    if (!owner || strcmp(owner, scope) != 0) {
        gbx_status_free(st);
        /* The same answer as for an unknown id: other locations' statuses
         * are not even confirmed to exist. */
        return gbx_error_set(GBX_ERR_NOT_FOUND, "status \"%s\" not found", id);
    }
    *out = st;
    return GBX_OK;
}

static gbx_err get_one(json_t **body, gbx_store *store, const char *scope, const char *id) {
    gbx_status *st;
    gbx_err e = fetch_in_scope(&st, store, scope, id);
    if (e != GBX_OK) return e;
    e = gbx_status_to_json(body, st);
    gbx_status_free(st);
    return e;
}

static gbx_err get_list(json_t **body, gbx_store *store, const char *scope, const gbx_uri *uri) {
    gbx_status_filter filter;
    bool expand = false;
    gbx_err e = gbx_gw_status_filter(&filter, &expand, gbx_uri_matrix(uri), gbx_uri_query(uri));
    if (e != GBX_OK) return e;
    filter.scope = scope;
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
            e = fetch_in_scope(&st, store, scope, json_string_value(id));
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

gbx_err gbx_gw_status_get(json_t **body, gbx_store *store, const char *scope, const gbx_uri *uri) {
    *body = NULL;
    json_t *args = gbx_uri_arguments(uri);
    size_t n = json_array_size(args);
    if (n == 0) return get_list(body, store, scope, uri);
    if (n == 1) return get_one(body, store, scope, json_string_value(json_array_get(args, 0)));
    return gbx_error_set(GBX_ERR_NOT_FOUND, "no such status resource");
}
