/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gearbox/log.h - the library never prints; it logs through this callback.
 *
 * Programs (the gateway, workers, tools) install a callback once at start-up;
 * until they do, log lines are dropped.  The callback may be called from any
 * thread that uses the library, so it must be thread-safe.
 */
#ifndef GEARBOX_LOG_H
#define GEARBOX_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum gbx_log_level {
    GBX_LOG_DEBUG = 0,
    GBX_LOG_INFO = 1,
    GBX_LOG_WARN = 2,
    GBX_LOG_ERROR = 3,
} gbx_log_level;

/* Receives one formatted line (no trailing newline); `msg` is borrowed for the
 * duration of the call. */
typedef void (*gbx_log_fn)(gbx_log_level level, const char *msg, void *user);

/* Installs the process-wide callback (NULL drops every line). */
void gbx_log_set_callback(gbx_log_fn fn, void *user);

/* Lines below `level` are not formatted at all.  Default: GBX_LOG_INFO. */
void gbx_log_set_level(gbx_log_level level);

/* The current threshold. */
gbx_log_level gbx_log_get_level(void);

/* Formats and hands one line to the callback. */
void gbx_log(gbx_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "debug", "info", "warn", "error"; parses the same back (-1 if unknown). */
const char *gbx_log_level_name(gbx_log_level level);
int gbx_log_level_from_name(const char *name);

/* A ready-made callback for programs: writes "<ISO time> <level> <msg>\n" to
 * the FILE* passed as `user` (stderr when NULL).  The library never installs
 * it by itself. */
void gbx_log_to_file(gbx_log_level level, const char *msg, void *user);

#ifdef __cplusplus
}
#endif
#endif
