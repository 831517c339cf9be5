/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_ratelimit.h - request rates per client address and per principal
 * (429 with Retry-After), and the rate of failed logins per address.
 *
 *   "rate_limit": {"per_address": 200, "per_principal": 100, "burst": 2,
 *                  "failed_auth_per_minute": 30, "limit_loopback": false}
 * per_address / per_principal: requests per second (0 = no limit);
 * burst: seconds of that rate a client may use at once; failed auth: after
 * that many failed attempts in a minute an address gets 429 for a while on
 * every location that asks for credentials.  The per-address limits leave
 * loopback clients alone unless limit_loopback is true: there sits a local
 * reverse proxy, whose address every client would share.
 *
 * Token buckets in a fixed table (a hash of the key picks a slot; a busy
 * table forgets its longest-idle buckets, so memory never grows with the
 * number of clients).
 */
#ifndef GBX_GW_RATELIMIT_H
#define GBX_GW_RATELIMIT_H

#include <stdbool.h>
#include <jansson.h>

#include "gearbox/error.h"

typedef struct gbx_gw_rate_config {
    double per_address;       /* requests/s per client address, 0 = unlimited */
    double per_principal;     /* requests/s per principal (and location), 0 = unlimited */
    double burst;             /* seconds of rate allowed at once */
    double failed_per_minute; /* failed authentications per address per minute */
    bool limit_loopback;      /* per-address limits apply to 127.0.0.0/8 and ::1 too */
} gbx_gw_rate_config;

/* True for an address of 127.0.0.0/8, ::1 or ::ffff:127.x.y.z. */
bool gbx_gw_is_loopback(const char *ip);

/* Reads the "rate_limit" section (NULL: the defaults).  GBX_ERR_BAD_REQUEST
 * naming the key for a bad value. */
gbx_err gbx_gw_rate_config_parse(gbx_gw_rate_config *out, const json_t *section);

typedef struct gbx_gw_ratelimit gbx_gw_ratelimit;

/* A limiter of `rate` per second with bursts of `burst` requests (rate 0:
 * everything passes).  *out: free with gbx_gw_ratelimit_free. */
gbx_err gbx_gw_ratelimit_new(gbx_gw_ratelimit **out, double rate, double burst);
void gbx_gw_ratelimit_free(gbx_gw_ratelimit *rl);

/* Takes one token of `key`'s bucket at time `now` (seconds, monotonic).
 * True if there was one; false with *retry_after (whole seconds >= 1) when
 * the key is over its rate.  Thread-safe. */
bool gbx_gw_ratelimit_take(gbx_gw_ratelimit *rl, const char *key, double now, unsigned *retry_after);

/* Like take, but only looks: true if `key` has a token left. */
bool gbx_gw_ratelimit_check(gbx_gw_ratelimit *rl, const char *key, double now, unsigned *retry_after);

#endif
