/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_health.h - GET /healthz (the process is up: 200) and GET /readyz (the
 * status store answers and at least one gearmand does: 200, else 503 with
 * the reason in the error body of DESIGN §3), for load balancers and
 * systemd.  A readiness answer is reused for a second, so that a probe storm
 * costs the store and gearmand one look a second.
 */
#ifndef GBX_GW_HEALTH_H
#define GBX_GW_HEALTH_H

#include <stddef.h>

#include "gearbox/error.h"
#include "gearbox/servers.h"
#include "gearbox/store.h"

typedef struct gbx_gw_health gbx_gw_health;

/* Readiness of `store` and `servers` (both borrowed).  *out: free with
 * gbx_gw_health_free. */
gbx_err gbx_gw_health_new(gbx_gw_health **out, gbx_store *store, const gbx_servers *servers);
void gbx_gw_health_free(gbx_gw_health *h);

/* /healthz: *code 200, *body {"status": "ok"} (malloc'ed, *len bytes). */
void gbx_gw_health_live(unsigned *code, char **body, size_t *len);

/* /readyz: 200 {"status": "ready", "store": "ok", "gearmand": "host:port"}
 * or 503 with the DESIGN §3 error body naming what is unreachable (`url`
 * in it).  *body: malloc'ed (NULL when out of memory). */
void gbx_gw_health_ready(gbx_gw_health *h, const char *url, unsigned *code, char **body,
                         size_t *len);

#endif
