/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_origin.h - the scheme and host of every URI the gateway builds
 * (status_uri, Location, a job's base_uri, error bodies' "uri").
 *
 * The Host header is never trusted blindly:
 * - a location's "public_url" ("https://api.example.com/barn") builds its
 *   URIs whatever the request says;
 * - otherwise a Host header that is one of "server_names" (or the
 *   address:port the connection came in on) is used, with the scheme of
 *   the listener (https on a TLS listener);
 * - with no "server_names" configured the Host header is not looked at: the
 *   connection's own address:port is used;
 * - with "server_names" configured, a Host that matches none is a 400, and
 *   its value is neither reflected nor logged (a request without Host, as
 *   HTTP/1.0 allows, gets the connection's address).
 */
#ifndef GBX_GW_ORIGIN_H
#define GBX_GW_ORIGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include <microhttpd.h>

#include "gearbox/config.h"
#include "gearbox/error.h"

typedef struct gbx_gw_config gbx_gw_config;
typedef struct gbx_gw_location gbx_gw_location;

/* Where one request came in, as URIs should name it. */
typedef struct gbx_gw_origin {
    char scheme[8];       /* "http" or "https" */
    char authority[300];  /* "api.example.com", "127.0.0.1:4080", "[::1]:4080" */
} gbx_gw_origin;

/* Reads the top-level "server_names" (array of "host" or "host:port", lower
 * case; absent: none).  *out: free with gbx_gw_server_names_free. */
gbx_err gbx_gw_server_names_load(char ***out, size_t *n, const gbx_config *cfg);
void gbx_gw_server_names_free(char **names, size_t n);

/* A location's "public_url" from its JSON spec, checked and normalised:
 * "http(s)://host[:port][/path]" without a trailing '/', query or
 * fragment; without a path, the location's `prefix` is appended.  Absent:
 * *out is a copy of `inherited` (the parent's, may be NULL).  `where` names
 * the location in errors.  *out: malloc'ed or NULL. */
gbx_err gbx_gw_public_url_load(char **out, const json_t *spec, const char *prefix,
                               const char *inherited, const char *where);

/* The address:port a listener is bound to, as an authority
 * ("127.0.0.1:4080", "[::1]:4080"), when it is bound to one address: then
 * every connection it accepts came in on that address, and the request
 * path need not ask the socket.  authority "" for a wildcard address
 * (0.0.0.0, ::), whose connections each have their own. */
typedef struct gbx_gw_local {
    char authority[64];
    int port;
} gbx_gw_local;
void gbx_gw_listener_local(gbx_gw_local *out, int listen_fd);

/* The origin of a request on `conn` with Host header `host` (may be NULL),
 * as described above; `local` is the connection's listener's (may be NULL
 * or empty: the connection's own address is looked up).  GBX_ERR_BAD_REQUEST when server_names are configured
 * and `host` matches none of them (*out is still filled, from the
 * connection's address, for the error body). */
gbx_err gbx_gw_request_origin(gbx_gw_origin *out, const gbx_gw_config *cfg, struct MHD_Connection *conn,
                              const gbx_gw_local *local, const char *host);

/* "<scheme>://<authority><path>"; malloc'ed (NULL when out of memory). */
char *gbx_gw_origin_url(const gbx_gw_origin *o, const char *path);

/* A job's base_uri: "<public_url>/<version>" when the location has one,
 * else "<scheme>://<authority><prefix>/<version>".  *out: malloc'ed. */
gbx_err gbx_gw_base_uri(char **out, const gbx_gw_location *loc, const gbx_gw_origin *o,
                        const char *version);

#endif
