/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_auth.h - who may do what on a location (docs/security.md,
 * "Authentication and access").
 *
 * Each location says how its clients prove who they are:
 *   "auth": {"type": "bearer", "tokens_file": "tokens"}
 *       lines "<sha256 of the token, lowercase hex> <principal> <scope>[,<scope>...]"
 *   "auth": {"type": "basic", "htpasswd": "htpasswd"}
 *       lines "<user>:<crypt hash>[:<scope>,<scope>...]" (bcrypt, yescrypt,
 *       SHA-512-crypt; without scopes: read,write,cancel)
 *   "auth": "none"   (open: anyone, as Gearbox was)
 * In both files '#' starts a comment.
 * A location without "auth" is refused at start-up; a nested location
 * inherits its parent's.  The files are read at start-up and again on
 * SIGHUP (gbx_gw_auth_reload); a file that no longer loads keeps the old
 * table.  Secrets are compared in constant time and never logged.
 */
#ifndef GBX_GW_AUTH_H
#define GBX_GW_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "gearbox/error.h"

/* Scopes, as bits. */
typedef enum gbx_gw_scope {
    GBX_GW_SCOPE_READ = 1,   /* GET, HEAD, status reads */
    GBX_GW_SCOPE_WRITE = 2,  /* PUT, POST, DELETE */
    GBX_GW_SCOPE_CANCEL = 4, /* cancel and reschedule a status */
    GBX_GW_SCOPE_ADMIN = 8,  /* everything, every principal's statuses */
} gbx_gw_scope;

#define GBX_GW_PRINCIPAL_MAX 128

/* A verified client. */
typedef struct gbx_gw_principal {
    char name[GBX_GW_PRINCIPAL_MAX];
    unsigned scopes;         /* gbx_gw_scope bits */
} gbx_gw_principal;

typedef struct gbx_gw_auth gbx_gw_auth;

/* Reads a location's "auth" value (`spec`; NULL when the key is absent).
 * "none" gives *out NULL and GBX_OK.  A bearer or basic section loads its
 * file now (relative paths against `base_dir`).  Absent: GBX_ERR_BAD_REQUEST
 * naming `where` (a nested location inherits instead: its caller does not
 * ask).  *out: free with gbx_gw_auth_free. */
gbx_err gbx_gw_auth_new(gbx_gw_auth **out, const json_t *spec, const char *base_dir, const char *where);
void gbx_gw_auth_free(gbx_gw_auth *auth);

/* Re-reads the file; on failure the loaded table stays and the error says
 * why.  Safe while other threads verify. */
gbx_err gbx_gw_auth_reload(gbx_gw_auth *auth);

/* "bearer" or "basic". */
const char *gbx_gw_auth_type(const gbx_gw_auth *auth);
/* Entries loaded now. */
size_t gbx_gw_auth_size(const gbx_gw_auth *auth);

/* The WWW-Authenticate challenge of a 401 (static string). */
const char *gbx_gw_auth_challenge(const gbx_gw_auth *auth);

/* Checks the Authorization header (NULL when absent).  GBX_OK with *out
 * filled; GBX_ERR_UNAUTHORIZED with a message that holds no secret when the
 * credentials are missing, malformed or wrong. */
gbx_err gbx_gw_auth_verify(gbx_gw_principal *out, const gbx_gw_auth *auth, const char *authorization);

/* Parses "read,write" (commas and/or spaces) into *out.  GBX_ERR_BAD_REQUEST
 * naming an unknown scope. */
gbx_err gbx_gw_scopes_parse(unsigned *out, const char *text);
/* "read,write,..." for `scopes` into buf (always terminated). */
void gbx_gw_scopes_format(char *buf, size_t len, unsigned scopes);

struct gbx_gw_config;

/* Logs, per location, who may use it: "open to anyone" for "auth": "none"
 * (a warning unless the gateway listens on loopback only), else the type
 * and how many tokens or users are loaded. */
void gbx_gw_auth_log_locations(const struct gbx_gw_config *cfg);

/* SIGHUP: re-reads every location's token or password file; one that fails
 * keeps its old table and is logged as an error.  Returns the failures. */
size_t gbx_gw_auth_reload_all(const struct gbx_gw_config *cfg);

/* Lowercase hex SHA-256 of data into hex[65]. */
void gbx_gw_sha256_hex(char hex[65], const void *data, size_t len);

/* Equal contents, in time that depends only on the lengths. */
bool gbx_gw_secure_equal(const char *a, size_t alen, const char *b, size_t blen);

#endif
