/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* metrics.c - lock-free latency histograms (gearbox/metrics.h). */
#include "gearbox/metrics.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

/* From half a millisecond (a store read) to a minute (a long sync job). */
const double gbx_histogram_bounds[GBX_HISTOGRAM_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60,
};

struct gbx_histogram {
    atomic_ullong buckets[GBX_HISTOGRAM_BUCKETS + 1];
    atomic_ullong sum_ns;
};

gbx_err gbx_histogram_new(gbx_histogram **out) {
    *out = calloc(1, sizeof **out);
    return *out ? GBX_OK : gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
}

void gbx_histogram_free(gbx_histogram *h) { free(h); }

void gbx_histogram_observe(gbx_histogram *h, double seconds) {
    if (!h) return;
    if (!(seconds > 0)) seconds = 0;
    size_t i = 0;
    while (i < GBX_HISTOGRAM_BUCKETS && seconds > gbx_histogram_bounds[i]) i++;
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    double ns = seconds * 1e9;
    atomic_fetch_add_explicit(&h->sum_ns, ns < 1.8e19 ? (unsigned long long)ns : 0,
                              memory_order_relaxed);
}

void gbx_histogram_read(const gbx_histogram *h, gbx_histogram_counts *into) {
    if (!h || !into) return;
    for (size_t i = 0; i <= GBX_HISTOGRAM_BUCKETS; i++)
        into->buckets[i] += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
    into->sum += (double)atomic_load_explicit(&h->sum_ns, memory_order_relaxed) / 1e9;
}

double gbx_metrics_clock(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
