/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_util.h - small helpers shared by the gateway's files. */
#ifndef GBX_GW_UTIL_H
#define GBX_GW_UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <time.h>
#include <jansson.h>

#include "gearbox/error.h"

/* Sets the thread's last error to `code` with "<fmt...>: <previous last
 * error message>" (the previous message is copied first: it lives in the
 * buffer being written).  Returns `code`. */
gbx_err gbx_gw_error_wrap(gbx_err code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The socket address of a numeric IPv4 or IPv6 `address` and `port`;
 * *v6 says which.  GBX_ERR_BAD_REQUEST naming `key` ("listen.address") for
 * anything else. */
gbx_err gbx_gw_listen_address(struct sockaddr_storage *out, bool *v6, const char *address, int port,
                              const char *key);

/* Monotonic clock in seconds. */
double gbx_gw_now(void);

/* Initialises `cond` to time its waits by CLOCK_MONOTONIC (a wall-clock
 * step neither stretches nor cuts them): pair with gbx_gw_deadline_in. */
void gbx_gw_cond_init_monotonic(pthread_cond_t *cond);

/* *ts = `seconds` from now on CLOCK_MONOTONIC, for pthread_cond_timedwait
 * on a condition made by gbx_gw_cond_init_monotonic. */
void gbx_gw_deadline_in(struct timespec *ts, double seconds);

/* `path` resolved against `dir` (kept when absolute or `dir` is empty);
 * malloc'ed, NULL for a NULL path or out of memory. */
char *gbx_gw_join_path(const char *dir, const char *path);

/* An integer written as a JSON integer or as a string of digits (so that
 * "${GEARBOX_PORT:-4080}" works); false for anything else. */
bool gbx_gw_json_int(long long *out, const json_t *v);

/* The strong entity tag of `len` bytes at `data`: "\"<16 hex digits>\""
 * (FNV-1a, 64 bit), NUL-terminated in out. */
#define GBX_GW_ETAG_SIZE 20
void gbx_gw_etag(char out[GBX_GW_ETAG_SIZE], const char *data, size_t len);

/* True when the If-None-Match value `inm` (NULL: absent) is "*" or lists
 * `etag`, compared weakly as RFC 9110 asks for If-None-Match (W/"x"
 * matches "x"). */
bool gbx_gw_etag_matches(const char *inm, const char *etag);

#endif
