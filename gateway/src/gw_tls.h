/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_tls.h - the gateway's listeners: where it listens, and HTTPS on those
 * that have a certificate (libmicrohttpd's GnuTLS support, TLS 1.2+ only).
 *
 *   "listen": {"address": "127.0.0.1", "port": 4080}
 *   "listen": [ {"address": "127.0.0.1", "port": 4080},
 *               {"address": "0.0.0.0", "port": 4443,
 *                "tls": {"cert": "gateway.crt", "key": "gateway.key"}} ]
 *
 * The certificate file may hold the chain (server certificate first); both
 * files are PEM and read once, at start-up.
 */
#ifndef GBX_GW_TLS_H
#define GBX_GW_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>

#include "gearbox/config.h"
#include "gearbox/error.h"

/* Most listeners one gateway has. */
#define GBX_GW_MAX_LISTENERS 8
/* GnuTLS priorities of every HTTPS listener: TLS 1.2 and 1.3, nothing older. */
#define GBX_GW_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
/* Entries gbx_gw_tls_options fills (the last is MHD_OPTION_END). */
#define GBX_GW_TLS_OPTIONS 4

typedef struct gbx_gw_listener {
    char *address;   /* "127.0.0.1", "::" */
    int port;        /* 0 = any free port */
    char *cert_file; /* NULL: plain HTTP; resolved path */
    char *key_file;
    char *cert_pem;  /* the files' contents (HTTPS only) */
    char *key_pem;
} gbx_gw_listener;

/* Reads "listen" (one object, or an array of them; absent: 127.0.0.1:4080)
 * with each listener's "tls".  Checks addresses, ports, that the files are
 * readable PEM and that libmicrohttpd has TLS support when any listener
 * asks for it.  *out: free with gbx_gw_listeners_free. */
gbx_err gbx_gw_listeners_load(gbx_gw_listener **out, size_t *n, const gbx_config *cfg,
                              int default_port);

void gbx_gw_listeners_free(gbx_gw_listener *l, size_t n);

/* The MHD flags a listener adds (MHD_USE_TLS for HTTPS, 0 otherwise). */
unsigned gbx_gw_tls_flags(const gbx_gw_listener *l);

/* Fills `opts` with the listener's TLS options (certificate, key,
 * priorities), for MHD_OPTION_ARRAY; just MHD_OPTION_END for plain HTTP.
 * The strings are the listener's: it must outlive the daemon. */
void gbx_gw_tls_options(struct MHD_OptionItem opts[GBX_GW_TLS_OPTIONS], const gbx_gw_listener *l);

/* True when the connection came in over one of the HTTPS listeners. */
bool gbx_gw_connection_is_tls(struct MHD_Connection *conn);

#endif
