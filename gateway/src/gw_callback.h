/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_callback.h - signed completion callbacks (docs/security.md).
 *
 * A client asks for one with `Gearbox-Callback: https://host/path` on an
 * async request; the location must allow the host (`callback_hosts`) and
 * have a secret (`callback_secret` or `callback_secret_file`), else 400.
 * The callback is kept in the status store (gbx_store_callback_put), so it
 * survives a restart, and once the status is final (COMPLETED or CANCELLED)
 * a sender thread of the gateway (started with the scheduler) claims it and
 * POSTs the final status there, signed:
 *
 *   Gearbox-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 *
 * A failed attempt (no answer, or not 2xx) is retried with exponential
 * backoff (retry_base doubling, capped at retry_cap) until give_up_after
 * seconds after the first attempt.  Every attempt is recorded in the
 * status's meta.callback: {"url", "state": "pending"|"delivered"|"failed",
 * "attempts": [{"time", "code"} | {"time", "error"}]}.
 *
 * Settings: per location "callback_hosts" (["api.example.com",
 * "hooks.example.com:8443", "http://127.0.0.1:9000"]: a bare host[:port]
 * allows https only, a scheme://host[:port] entry exactly that origin; no
 * port = any port), "callback_secret" / "callback_secret_file"; for the
 * gateway "callbacks": {"timeout": 10, "retry_base": 1, "retry_cap": 3600,
 * "give_up_after": 86400, "ca_file": null}.
 */
#ifndef GBX_GW_CALLBACK_H
#define GBX_GW_CALLBACK_H

#include <stddef.h>
#include <jansson.h>

#include "gearbox/config.h"
#include "gearbox/error.h"
#include "gearbox/store.h"

#define GBX_GW_CALLBACK_HEADER "Gearbox-Callback"
#define GBX_GW_SIGNATURE_HEADER "Gearbox-Signature"

typedef struct gbx_gw_callback_location gbx_gw_callback_location;
typedef struct gbx_gw_callback_settings gbx_gw_callback_settings;
typedef struct gbx_gw_callbacks gbx_gw_callbacks;
struct gbx_gw_config;
struct gbx_gw_location;

/* True for the location keys this file reads. */
int gbx_gw_callback_location_key(const char *key);

/* Reads a location's callback keys from its JSON `spec` (`base_dir`
 * resolves a relative secret file; `where` names the location in errors).
 * *out: NULL when the location has none; free with
 * gbx_gw_callback_location_free.  GBX_ERR_BAD_REQUEST for bad values, hosts
 * without a secret or a secret without hosts. */
gbx_err gbx_gw_callback_location_load(gbx_gw_callback_location **out, const json_t *spec,
                                      const char *base_dir, const char *where);
void gbx_gw_callback_location_free(gbx_gw_callback_location *loc);

/* Reads the gateway's "callbacks" section (defaults when absent).  *out:
 * free with gbx_gw_callback_settings_free. */
gbx_err gbx_gw_callback_settings_load(gbx_gw_callback_settings **out, const gbx_config *cfg);
void gbx_gw_callback_settings_free(gbx_gw_callback_settings *settings);

/* At request time: `header` is the Gearbox-Callback value (NULL: none).
 * *url = header and *location = the path of the location whose settings
 * sign it (borrowed from `loc` or its parent) when it is allowed; both NULL
 * without a header; GBX_ERR_BAD_REQUEST (with the reason) when `loc` has no
 * callbacks or does not allow the URL. */
gbx_err gbx_gw_callback_check(const char **url, const char **location,
                              const struct gbx_gw_location *loc, const char *header);

/* The Gearbox-Signature value for `body` sent at unix time `t`:
 * "t=<t>,v1=<64 hex digits>" into out (at least 96 bytes). */
gbx_err gbx_gw_callback_sign(char *out, size_t len, const char *secret, size_t secret_len,
                             long long t, const char *body, size_t body_len);

/* Starts the sender thread over `store` when a location of `cfg` has
 * callbacks (*out NULL otherwise); both borrowed, they must outlive it.
 * Stop and free with gbx_gw_callbacks_free (NULL accepted). */
gbx_err gbx_gw_callbacks_start(gbx_gw_callbacks **out, const struct gbx_gw_config *cfg,
                               gbx_store *store);
void gbx_gw_callbacks_free(gbx_gw_callbacks *callbacks);

#endif
