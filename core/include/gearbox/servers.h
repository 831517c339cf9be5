/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gearbox/servers.h - a list of gearmand servers and which of them seem
 * down: the failover bookkeeping that the job manager and the gateway's
 * dispatcher share.
 *
 * A request tries the servers in the order gbx_servers_order gives, until
 * one takes it: those not marked down, starting at an index that moves on
 * with every request (so that load spreads over the servers), then those
 * marked down.  A server that failed is marked down for
 * GBX_SERVERS_DOWN_SECONDS: meanwhile it comes last, so it costs a request
 * nothing as long as another server takes it; after that it is tried in
 * turn again.  Safe to share between threads.
 */
#ifndef GEARBOX_SERVERS_H
#define GEARBOX_SERVERS_H

#include <stdbool.h>
#include <stddef.h>

#include "gearbox/error.h"
#include "gearbox/json.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How long a server that failed is skipped. */
#define GBX_SERVERS_DOWN_SECONDS 2.0

typedef struct gbx_servers gbx_servers;

/* Splits a libgearman server list ("h1:p1,h2:p2", as
 * gbx_config_gearman_servers gives it) into its servers.  *out: free with
 * gbx_servers_free.  GBX_ERR_BAD_REQUEST when the list names no server. */
gbx_err gbx_servers_new(gbx_servers **out, const char *list);

/* NULL is accepted. */
void gbx_servers_free(gbx_servers *s);

/* The number of servers (at least 1). */
size_t gbx_servers_count(const gbx_servers *s);

/* Server `i` as "host:port" (borrowed; NULL when i is out of range). */
const char *gbx_servers_name(const gbx_servers *s, size_t i);

/* Fills order[] (room for gbx_servers_count entries) with the indexes of
 * all servers in the order one request should try them, and returns their
 * number. */
size_t gbx_servers_order(gbx_servers *s, size_t *order);

/* Marks server `i` down (skipped for GBX_SERVERS_DOWN_SECONDS from now);
 * `why` goes to the log when it was up until now. */
void gbx_servers_mark_down(gbx_servers *s, size_t i, const char *why);

/* Marks server `i` up (it answered). */
void gbx_servers_mark_up(gbx_servers *s, size_t i);

/* Whether server `i` is marked down now. */
bool gbx_servers_is_down(gbx_servers *s, size_t i);

/* Asks gearmand `server` ("host:port", "[v6]:port" or "host", port 4730)
 * for its admin "status" within `timeout` seconds.  *out (new reference,
 * the caller decrefs): {"<function>": {"total": n, "running": n,
 * "workers": n}} - jobs queued (running ones included), jobs running, and
 * workers that registered the function.  GBX_ERR_SERVICE_UNAVAILABLE when
 * the server cannot be reached or does not answer in time. */
gbx_err gbx_servers_admin_status(json_t **out, const char *server, double timeout);

#ifdef __cplusplus
}
#endif

#endif
