/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* stopwatch.c - start/stop timing on CLOCK_MONOTONIC. */
#include "gearbox/stopwatch.h"

#include <stdlib.h>
#include <time.h>

struct gbx_stopwatch {
    double started; /* monotonic seconds at start; < 0: never started */
    double stopped; /* monotonic seconds at stop, when !running */
    bool running;
};

static double mono_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

gbx_err gbx_stopwatch_new(gbx_stopwatch **out) {
    if (!out) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_stopwatch_new: no out parameter");
    *out = malloc(sizeof **out);
    if (!*out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    **out = (gbx_stopwatch){.started = -1, .stopped = -1, .running = false};
    return GBX_OK;
}

void gbx_stopwatch_free(gbx_stopwatch *sw) { free(sw); }

void gbx_stopwatch_start(gbx_stopwatch *sw) {
    if (!sw) return;
    sw->started = mono_now();
    sw->running = true;
}

double gbx_stopwatch_stop(gbx_stopwatch *sw) {
    if (!sw) return 0;
    if (sw->running) {
        sw->stopped = mono_now();
        sw->running = false;
    }
    return gbx_stopwatch_elapsed(sw);
}

double gbx_stopwatch_elapsed(const gbx_stopwatch *sw) {
    if (!sw || sw->started < 0) return 0;
    double end = sw->running ? mono_now() : sw->stopped;
    return end > sw->started ? end - sw->started : 0;
}

bool gbx_stopwatch_running(const gbx_stopwatch *sw) { return sw && sw->running; }
