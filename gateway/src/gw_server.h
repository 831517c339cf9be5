/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_server.h - the HTTP side of the gateway (libmicrohttpd).
 *
 * A thread pool of MHD threads (epoll) parses requests and answers
 * everything that needs no worker at once: routing errors, schema errors,
 * status reads and lists (straight from the store), async submits (status
 * row + background job -> 202), status changes (cancel, reschedule).  A sync
 * request suspends its connection and goes to the dispatcher
 * (gw_dispatch.h); the dispatcher resumes it with the worker's answer, so no
 * MHD thread waits for a worker.  Async submits, cancellation and the
 * scheduler thread (gw_scheduler.h) go through one gbx_jobmanager.
 */
#ifndef GBX_GW_SERVER_H
#define GBX_GW_SERVER_H

#include "gearbox/error.h"
#include "gearbox/store.h"
#include "gw_config.h"

typedef struct gbx_gw_server gbx_gw_server;

/* A server for `cfg` and `store` (both borrowed; they must outlive the
 * server).  Starts the dispatcher thread and makes the job manager; does not
 * listen yet.  *out: free with gbx_gw_server_free. */
gbx_err gbx_gw_server_new(gbx_gw_server **out, const gbx_gw_config *cfg, gbx_store *store);

/* Binds cfg->listen_address:cfg->port and starts serving; starts the
 * scheduler thread unless cfg->scheduler is false. */
gbx_err gbx_gw_server_start(gbx_gw_server *srv);

/* Housekeeping that has no thread of its own (the request-timeout
 * watchdog, gw_limits.h; giving the heap back after bursts): the caller
 * (main's thread) calls it again after the seconds it returns. */
double gbx_gw_server_tick(gbx_gw_server *srv);

/* The port actually bound (useful with port 0); 0 before start. */
int gbx_gw_server_port(const gbx_gw_server *srv);

/* The first listener's libmicrohttpd daemon (NULL before start or after stop), for
 * MHD_add_connection in tests/fuzz/fuzz_request.c.  Borrowed. */
struct MHD_Daemon *gbx_gw_server_daemon(const gbx_gw_server *srv);

/* Graceful stop: the scheduler stops, no new connections, sync requests in
 * flight get up to `grace` seconds to be answered (then 503), then every
 * connection closes.  Safe to call twice. */
void gbx_gw_server_stop(gbx_gw_server *srv, double grace);

/* Stops if needed and frees; NULL accepted. */
void gbx_gw_server_free(gbx_gw_server *srv);

#endif
