/* gw_util.c - small helpers shared by the gateway's files. */
#include "gw_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

gbx_err gbx_gw_error_wrap(gbx_err code, const char *fmt, ...) {
    char previous[1024], prefix[512];
    snprintf(previous, sizeof previous, "%s", gbx_error_last()->message);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    return gbx_error_set(code, "%s: %s", prefix, previous);
}

char *gbx_gw_join_path(const char *dir, const char *path) {
    if (!path) return NULL;
    if (path[0] == '/' || !dir || !*dir) return strdup(path);
    size_t n = strlen(dir) + strlen(path) + 2;
    char *out = malloc(n);
    if (out) snprintf(out, n, "%s/%s", dir, path);
    return out;
}

double gbx_gw_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
