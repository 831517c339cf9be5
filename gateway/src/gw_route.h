/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_route.h - the pure parts of request routing (no HTTP, no I/O), so
 * that they can be unit-tested: location matching, handler resolution,
 * sync/async choice, base URIs, Basic-auth user names and the filters of a
 * status collection query. */
#ifndef GBX_GW_ROUTE_H
#define GBX_GW_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "gearbox/error.h"
#include "gearbox/status.h"
#include "gw_config.h"

/* The location with the longest path that `path` equals or continues with
 * '/' ("/barn" matches "/barn/v1/x", not "/barnyard"; a nested location's
 * path "/barn/v1/hello" also matches "/barn/v1/hello;k=v"), or -1.  *rest
 * points into `path` at the part below the location's prefix ("/v1/x", or
 * "" when path equals the prefix), nested or not. */
int gbx_gw_match_location(const gbx_gw_location *locs, size_t n, const char *path,
                          const char **rest);

/* Whether a handler is known beyond the location's "handlers" list (the
 * gateway asks gearmand: gbx_jobmanager_handler_known).  An error ends the
 * resolution with that error. */
typedef gbx_err (*gbx_gw_known_fn)(bool *known, void *user, const char *name);

/* The handler of a request under `loc`: do_<method>_<component>_<resource>_<version>
 * if the location lists it or `known` knows it, else the same with
 * "global"; otherwise GBX_ERR_BAD_REQUEST GBX_URI_ERR_NO_HANDLER.  `known`
 * may be NULL (the list only).  *out: malloc'ed. */
gbx_err gbx_gw_resolve_handler(char **out, const gbx_gw_location *loc, const char *method,
                               const char *resource, const char *version, gbx_gw_known_fn known,
                               void *user);

/* True if a request with this method waits for its worker's answer. */
bool gbx_gw_is_sync(const gbx_gw_location *loc, gbx_gw_method method);

/* True if a Host header value is safe to put into a URI (host names, IPv4,
 * [IPv6], optional :port). */
bool gbx_gw_host_is_valid(const char *host);

/* Fills `filter` (strings borrowed from the JSON) and *expand from the
 * matrix arguments of GET .../status;k=v..., then from query parameters
 * not given as matrix arguments.  Keys: uri, state, operation, component,
 * code, progress, _count, _expand.  GBX_ERR_BAD_REQUEST for an unknown
 * matrix key or a bad value. */
gbx_err gbx_gw_status_filter(gbx_status_filter *filter, bool *expand, const json_t *matrix,
                             const json_t *query);

#endif
