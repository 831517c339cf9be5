/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* log.c - process-wide log callback. */
#include "gearbox/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <pthread.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static gbx_log_fn log_fn;
static void *log_user;
static atomic_int log_level = GBX_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void gbx_log_set_callback(gbx_log_fn fn, void *user) {
    pthread_mutex_lock(&log_lock);
    log_fn = fn;
    log_user = user;
    pthread_mutex_unlock(&log_lock);
}

void gbx_log_set_level(gbx_log_level level) { atomic_store(&log_level, (int)level); }

gbx_log_level gbx_log_get_level(void) { return (gbx_log_level)atomic_load(&log_level); }

const char *gbx_log_level_name(gbx_log_level level) {
    return (level >= GBX_LOG_DEBUG && level <= GBX_LOG_ERROR) ? level_names[level] : "?";
}

int gbx_log_level_from_name(const char *name) {
    if (!name) return -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(level_names[i], name) == 0) return i;
    if (strcmp(name, "warning") == 0) return GBX_LOG_WARN;
    return -1;
}

void gbx_log(gbx_log_level level, const char *fmt, ...) {
    if ((int)level < atomic_load(&log_level)) return;
    pthread_mutex_lock(&log_lock);
    gbx_log_fn fn = log_fn;
    void *user = log_user;
    pthread_mutex_unlock(&log_lock);
    if (!fn) return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fn(level, line, user);
}

void gbx_log_to_file(gbx_log_level level, const char *msg, void *user) {
    FILE *f = user ? (FILE *)user : stderr;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    /* One fprintf per line keeps lines from several threads whole. */
    fprintf(f, "%s.%03ldZ %-5s %s\n", when, ts.tv_nsec / 1000000L, gbx_log_level_name(level), msg);
    fflush(f);
}
