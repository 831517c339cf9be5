/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* trace.c - W3C Trace Context level 1: reading traceparent and tracestate,
 * writing version 00, and fresh trace and span ids. */
#include "gearbox/trace.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* ---- fresh ids ----------------------------------------------------------- */

/* xoshiro256** per thread, seeded from getrandom(2) on first use; a fork
 * clears the forking thread's seed so that parent and child part ways. */
static _Thread_local uint64_t rng[4];
static _Thread_local bool seeded;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void forget_seed(void) { seeded = false; }
static void register_atfork(void) { pthread_atfork(NULL, NULL, forget_seed); }

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next_random(void) {
    if (!seeded) {
        pthread_once(&atfork_once, register_atfork);
        ssize_t got;
        do got = getrandom(rng, sizeof rng, 0);
        while (got < 0 && errno == EINTR);
        if (got != (ssize_t)sizeof rng) {
            /* No kernel randomness: clock and addresses are unique enough
             * for ids that are not secrets. */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            rng[0] = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
            rng[1] = (uint64_t)(uintptr_t)&seeded;
            rng[2] = (uint64_t)clock();
            rng[3] = 0x9e3779b97f4a7c15u;
        }
        if (!(rng[0] | rng[1] | rng[2] | rng[3])) rng[0] = 1;
        seeded = true;
    }
    uint64_t result = rotl(rng[1] * 5, 7) * 9;
    uint64_t t = rng[1] << 17;
    rng[2] ^= rng[0];
    rng[3] ^= rng[1];
    rng[1] ^= rng[2];
    rng[0] ^= rng[3];
    rng[2] ^= t;
    rng[3] = rotl(rng[3], 45);
    return result;
}

static const char hexdigits[] = "0123456789abcdef";

void gbx_trace_random_hex(char *out, size_t hex) {
    bool zero = true;
    for (size_t i = 0; i < hex; i += 16) {
        uint64_t v = next_random();
        for (size_t k = 0; k < 16 && i + k < hex; k++, v >>= 4) {
            out[i + k] = hexdigits[v & 15];
            if (out[i + k] != '0') zero = false;
        }
    }
    if (zero && hex) out[hex - 1] = '1'; /* all zero is invalid */
    out[hex] = '\0';
}

void gbx_traceparent_start(gbx_traceparent *out) {
    gbx_trace_random_hex(out->trace_id, 32);
    gbx_trace_random_hex(out->parent_id, 16);
    out->flags = 0;
}

/* ---- traceparent ----------------------------------------------------------- */

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1; /* uppercase is not allowed */
}

/* `n` lowercase hex digits at s, not all zero when `nonzero`. */
static bool hex_field(const char *s, size_t n, bool nonzero) {
    bool zero = true;
    for (size_t i = 0; i < n; i++) {
        if (hexval(s[i]) < 0) return false;
        if (s[i] != '0') zero = false;
    }
    return !(nonzero && zero);
}

bool gbx_traceparent_parse(gbx_traceparent *out, const char *v) {
    if (!v) return false;
    size_t len = strnlen(v, 56);
    if (len < 55 || !hex_field(v, 2, false) || strncmp(v, "ff", 2) == 0) return false;
    bool v00 = v[0] == '0' && v[1] == '0';
    /* Version 00 is exactly 55 characters; a later one may go on after "-". */
    if (v00 ? len != 55 : len > 55 && v[55] != '-') return false;
    if (v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
    if (!hex_field(v + 3, 32, true) || !hex_field(v + 36, 16, true) || !hex_field(v + 53, 2, false))
        return false;
    memcpy(out->trace_id, v + 3, 32);
    out->trace_id[32] = '\0';
    memcpy(out->parent_id, v + 36, 16);
    out->parent_id[16] = '\0';
    out->flags = (unsigned)(hexval(v[53]) * 16 + hexval(v[54]));
    if (!v00) out->flags &= 1u; /* the flags of a later version: only "sampled" is known */
    return true;
}

void gbx_traceparent_format(char out[GBX_TRACEPARENT_SIZE], const gbx_traceparent *tp) {
    /* By hand: snprintf was half the cost of a request's trace context. */
    memcpy(out, "00-", 3);
    memcpy(out + 3, tp->trace_id, 32);
    out[35] = '-';
    memcpy(out + 36, tp->parent_id, 16);
    out[52] = '-';
    out[53] = hexdigits[(tp->flags >> 4) & 15];
    out[54] = hexdigits[tp->flags & 15];
    out[55] = '\0';
}

bool gbx_trace_id_of(char out[GBX_TRACE_ID_SIZE], const char *traceparent) {
    gbx_traceparent tp;
    if (!gbx_traceparent_parse(&tp, traceparent)) return false;
    memcpy(out, tp.trace_id, GBX_TRACE_ID_SIZE);
    return true;
}

/* ---- tracestate ------------------------------------------------------------ */

static bool lc_alpha(char c) { return c >= 'a' && c <= 'z'; }
static bool digit(char c) { return c >= '0' && c <= '9'; }
static bool key_char(char c) {
    return lc_alpha(c) || digit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}

/* key = lcalpha 0*255(keychar) | (lcalpha / DIGIT) 0*240(keychar) "@" lcalpha 0*13(keychar) */
static bool valid_key(const char *k, size_t n) {
    const char *at = memchr(k, '@', n);
    if (!at) {
        if (n < 1 || n > 256 || !lc_alpha(k[0])) return false;
        for (size_t i = 1; i < n; i++)
            if (!key_char(k[i])) return false;
        return true;
    }
    size_t tenant = (size_t)(at - k), system = n - tenant - 1;
    if (tenant < 1 || tenant > 241 || !(lc_alpha(k[0]) || digit(k[0]))) return false;
    if (system < 1 || system > 14 || !lc_alpha(at[1])) return false;
    for (size_t i = 1; i < n; i++)
        if (i != tenant && !key_char(k[i])) return false;
    return true;
}

/* value = 0*255(chr) nblk-chr; chr = " " / nblk-chr; nblk-chr = 0x21-0x7e but "," and "=" */
static bool valid_value(const char *v, size_t n) {
    if (n < 1 || n > 256 || v[n - 1] == ' ') return false;
    for (size_t i = 0; i < n; i++)
        if (v[i] < 0x20 || v[i] > 0x7e || v[i] == ',' || v[i] == '=') return false;
    return true;
}

static bool ows(char c) { return c == ' ' || c == '\t'; }

gbx_err gbx_tracestate_clean(char **out, const char *value) {
    *out = NULL;
    if (!value) return GBX_OK;
    size_t cap = strlen(value) + 1;
    char *clean = malloc(cap);
    if (!clean) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    size_t used = 0;
    int members = 0;
    const char *p = value;
    while (*p && members < GBX_TRACESTATE_MAX_MEMBERS) {
        const char *end = strchr(p, ',');
        if (!end) end = p + strlen(p);
        const char *a = p, *b = end;
        p = *end ? end + 1 : end;
        while (a < b && ows(*a)) a++;
        while (b > a && ows(b[-1])) b--;
        const char *eq = memchr(a, '=', (size_t)(b - a));
        if (a == b || !eq) continue; /* empty, or not key=value */
        size_t klen = (size_t)(eq - a);
        if (!valid_key(a, klen) || !valid_value(eq + 1, (size_t)(b - eq - 1))) continue;
        bool repeated = false;
        for (const char *q = clean; q < clean + used && !repeated;) {
            const char *qe = memchr(q, '=', (size_t)(clean + used - q));
            repeated = qe && (size_t)(qe - q) == klen && memcmp(q, a, klen) == 0;
            const char *next = memchr(q, ',', (size_t)(clean + used - q));
            q = next ? next + 1 : clean + used;
        }
        if (repeated) continue;
        if (used) clean[used++] = ',';
        memcpy(clean + used, a, (size_t)(b - a));
        used += (size_t)(b - a);
        members++;
    }
    if (!used) {
        free(clean);
        return GBX_OK;
    }
    clean[used] = '\0';
    *out = clean;
    return GBX_OK;
}

/* ---- a request's context ----------------------------------------------------- */

gbx_err gbx_trace_continue(char traceparent_out[GBX_TRACEPARENT_SIZE], char **tracestate,
                           bool *restarted, const char *traceparent, const char *tracestate_in) {
    *tracestate = NULL;
    gbx_traceparent tp;
    bool valid = gbx_traceparent_parse(&tp, traceparent);
    if (restarted) *restarted = !valid;
    if (!valid) {
        /* Invalid or absent: a new trace, and the tracestate is not read. */
        gbx_traceparent_start(&tp);
        gbx_traceparent_format(traceparent_out, &tp);
        return GBX_OK;
    }
    gbx_traceparent_format(traceparent_out, &tp);
    return gbx_tracestate_clean(tracestate, tracestate_in);
}
