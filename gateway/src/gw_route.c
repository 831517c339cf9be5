/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_route.c - location matching, handler resolution and friends. */
#include "gw_route.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gearbox/uri.h"

int gbx_gw_match_location(const gbx_gw_location *locs, size_t n, const char *path,
                          const char **rest) {
    int best = -1;
    size_t best_len = 0;
    if (rest) *rest = NULL;
    if (!path || path[0] != '/') return -1;
    for (size_t i = 0; i < n; i++) {
        const char *loc_path = locs[i].path;
        size_t len = strlen(loc_path);
        if (strncmp(path, loc_path, len) != 0) continue;
        /* Matrix arguments may follow a path that goes below the prefix
         * (a nested location's, which ends in a resource or argument). */
        bool below_prefix = strlen(locs[i].prefix) < len;
        if (path[len] != '\0' && path[len] != '/' && !(below_prefix && path[len] == ';')) continue;
        if (best < 0 || len > best_len) {
            best = (int)i;
            best_len = len;
        }
    }
    if (best >= 0 && rest) *rest = path + strlen(locs[best].prefix);
    return best;
}

gbx_err gbx_gw_resolve_handler(char **out, const gbx_gw_location *loc, const char *method,
                               const char *resource, const char *version, gbx_gw_known_fn known,
                               void *user) {
    *out = NULL;
    const char *components[2] = {loc->component, "global"};
    for (int i = 0; i < 2; i++) {
        char *name = NULL;
        gbx_err e = gbx_handler_name(&name, method, components[i], resource, version);
        if (e != GBX_OK) return e;
        bool found = gbx_gw_location_has_handler(loc, name);
        if (!found && known) e = known(&found, user, name);
        if (e != GBX_OK || found) {
            if (e == GBX_OK) *out = name;
            else free(name);
            return e;
        }
        free(name);
    }
    return gbx_error_set(GBX_ERR_BAD_REQUEST, GBX_URI_ERR_NO_HANDLER);
}

bool gbx_gw_is_sync(const gbx_gw_location *loc, gbx_gw_method method) {
    if (method == GBX_GW_GET || method == GBX_GW_HEAD) return true;
    return (loc->sync_methods & (unsigned)method) != 0;
}

bool gbx_gw_host_is_valid(const char *host) {
    if (!host || !*host || strlen(host) > 255) return false;
    for (const char *p = host; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr(".-_:[]", *p)) return false;
    return true;
}

static gbx_err parse_int(int *out, const char *key, const char *s, int min, int max) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "status filter %s must be an integer from %d to %d, not \"%s\"", key, min,
                             max, s);
    *out = (int)v;
    return GBX_OK;
}

static gbx_err apply_filter(gbx_status_filter *f, bool *expand, const char *key, const char *value,
                            bool strict) {
    if (strcmp(key, "uri") == 0) {
        f->uri = value;
    } else if (strcmp(key, "state") == 0) {
        if (gbx_state_from_name(value) < 0)
            return gbx_error_set(GBX_ERR_BAD_REQUEST, "status filter state: unknown state \"%s\"",
                                 value);
        f->state = value;
    } else if (strcmp(key, "operation") == 0) {
        f->operation = value;
    } else if (strcmp(key, "component") == 0) {
        f->component = value;
    } else if (strcmp(key, "code") == 0) {
        return parse_int(&f->code, key, value, 0, 999);
    } else if (strcmp(key, "progress") == 0) {
        return parse_int(&f->progress, key, value, 0, 100);
    } else if (strcmp(key, "_count") == 0) {
        return parse_int(&f->count, key, value, 1, GBX_STATUS_LIST_MAX);
    } else if (strcmp(key, "_expand") == 0) {
        if (!strcmp(value, "1") || !strcasecmp(value, "true")) *expand = true;
        else if (!strcmp(value, "0") || !strcasecmp(value, "false")) *expand = false;
        else
            return gbx_error_set(GBX_ERR_BAD_REQUEST, "_expand must be 1 or 0, not \"%s\"", value);
    } else if (strict) {
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "unknown status filter \"%s\" (known: uri, state, operation, component, "
                             "code, progress, _count, _expand)",
                             key);
    }
    return GBX_OK;
}

gbx_err gbx_gw_status_filter(gbx_status_filter *filter, bool *expand, const json_t *matrix,
                             const json_t *query) {
    gbx_status_filter_init(filter);
    *expand = false;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)matrix, key, value) {
        gbx_err e = apply_filter(filter, expand, key, json_string_value(value) ? json_string_value(value) : "",
                                 true);
        if (e != GBX_OK) return e;
    }
    json_object_foreach((json_t *)query, key, value) {
        if (matrix && json_object_get(matrix, key)) continue;
        gbx_err e = apply_filter(filter, expand, key, json_string_value(value) ? json_string_value(value) : "",
                                 false);
        if (e != GBX_OK) return e;
    }
    return GBX_OK;
}
