/* gw_util.h - small helpers shared by the gateway's files. */
#ifndef GBX_GW_UTIL_H
#define GBX_GW_UTIL_H

#include "gearbox/error.h"

/* Sets the thread's last error to `code` with "<fmt...>: <previous last
 * error message>" (the previous message is copied first: it lives in the
 * buffer being written).  Returns `code`. */
gbx_err gbx_gw_error_wrap(gbx_err code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* `path` resolved against `dir` (kept as is when absolute or when dir is
 * NULL or ""); malloc'ed, NULL when out of memory or `path` is NULL. */
char *gbx_gw_join_path(const char *dir, const char *path);

/* Monotonic clock in seconds. */
double gbx_gw_now(void);

#endif
