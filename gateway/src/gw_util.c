/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_util.c - small helpers shared by the gateway's files. */
#include "gw_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
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

void gbx_gw_cond_init_monotonic(pthread_cond_t *cond) {
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
}

void gbx_gw_deadline_in(struct timespec *ts, double seconds) {
    clock_gettime(CLOCK_MONOTONIC, ts);
    long long ns = (long long)ts->tv_nsec + (long long)(seconds * 1e9);
    ts->tv_sec += (time_t)(ns / 1000000000LL);
    ts->tv_nsec = (long)(ns % 1000000000LL);
}

gbx_err gbx_gw_listen_address(struct sockaddr_storage *out, bool *v6, const char *address, int port,
                              const char *key) {
    memset(out, 0, sizeof *out);
    struct sockaddr_in *in4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
    *v6 = false;
    if (inet_pton(AF_INET, address, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, address, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *v6 = true;
    } else {
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s \"%s\" is not an IPv4 or IPv6 address", key,
                             address);
    }
    return GBX_OK;
}

bool gbx_gw_json_int(long long *out, const json_t *v) {
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    const char *s = json_string_value(v);
    if (!s) return false;
    char *end;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (errno || end == s || *end) return false;
    *out = n;
    return true;
}

void gbx_gw_etag(char out[GBX_GW_ETAG_SIZE], const char *data, size_t len) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)data[i]) * 1099511628211ULL;
    snprintf(out, GBX_GW_ETAG_SIZE, "\"%016llx\"", (unsigned long long)h);
}

bool gbx_gw_etag_matches(const char *inm, const char *etag) {
    if (!inm) return false;
    size_t elen = strlen(etag);
    const char *s = inm;
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == ',') s++;
        if (*s == '*') return true;
        if (strncmp(s, "W/", 2) == 0) s += 2;
        if (*s != '"') { /* not an entity tag: skip it */
            while (*s && *s != ',') s++;
            continue;
        }
        const char *end = strchr(s + 1, '"');
        if (!end) return false;
        if ((size_t)(end + 1 - s) == elen && strncmp(s, etag, elen) == 0) return true;
        s = end + 1;
    }
    return false;
}
