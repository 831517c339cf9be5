/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* bench/loadgen/stats.h - latency samples shared by the bench load generators.
 *
 * Each load thread appends its own samples (microseconds); at the end the
 * samples are merged, sorted and summarised as one JSON line on stdout.
 */
#ifndef GBX_BENCH_STATS_H
#define GBX_BENCH_STATS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct bench_samples {
    uint32_t *us;
    size_t len;
    size_t cap;
} bench_samples;

/* Monotonic clock in microseconds. */
static inline uint64_t bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Appends one latency; returns 0, or -1 when out of memory. */
static inline int bench_samples_add(bench_samples *s, uint64_t us)
{
    if (s->len == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4096;
        uint32_t *grown = realloc(s->us, cap * sizeof *grown);
        if (!grown)
            return -1;
        s->us = grown;
        s->cap = cap;
    }
    s->us[s->len++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
    return 0;
}

/* Moves every sample of `from` into `into`. */
static inline int bench_samples_merge(bench_samples *into, bench_samples *from)
{
    for (size_t i = 0; i < from->len; i++)
        if (bench_samples_add(into, from->us[i]) != 0)
            return -1;
    free(from->us);
    memset(from, 0, sizeof *from);
    return 0;
}

static int bench__cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The p-th percentile (0..100) in milliseconds, nearest-rank, of sorted samples. */
static inline double bench_percentile_ms(const bench_samples *s, double p)
{
    if (s->len == 0)
        return 0.0;
    size_t rank = (size_t)((p / 100.0) * (double)s->len + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > s->len)
        rank = s->len;
    return s->us[rank - 1] / 1000.0;
}

/* Sorts the samples and prints the summary line:
 * {"requests", "ok", "errors", "seconds", "rps", "p50_ms", "p99_ms", "max_ms", "mean_ms"}
 * followed by `extra` (a JSON fragment starting with ',' or ""). */
static inline void bench_print_summary(bench_samples *s, unsigned long long ok,
                                       unsigned long long errors, double seconds,
                                       const char *extra)
{
    qsort(s->us, s->len, sizeof *s->us, bench__cmp_u32);
    double sum = 0;
    for (size_t i = 0; i < s->len; i++)
        sum += s->us[i];
    printf("{\"requests\": %llu, \"ok\": %llu, \"errors\": %llu, \"seconds\": %.3f, "
           "\"rps\": %.1f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, "
           "\"mean_ms\": %.3f%s}\n",
           ok + errors, ok, errors, seconds, seconds > 0 ? (double)ok / seconds : 0.0,
           bench_percentile_ms(s, 50), bench_percentile_ms(s, 99), bench_percentile_ms(s, 100),
           s->len ? sum / (double)s->len / 1000.0 : 0.0, extra ? extra : "");
    fflush(stdout);
}

/* Reads a whole file; *len receives its size.  NULL on failure. */
static inline char *bench_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *grown = realloc(buf, cap);
            if (!grown) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = grown;
        }
        size_t got = fread(buf + n, 1, 4096, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

#endif
