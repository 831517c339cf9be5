/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gearbox/stopwatch.h - a stopwatch on the monotonic clock (Gearbox's
 * StopWatch: `new StopWatch(); start(); stop();`), whose reading a
 * scoreboard records as a duration (gbx_scoreboard_update_duration_hours).
 *
 * A stopwatch belongs to one thread at a time (no locking).
 */
#ifndef GEARBOX_STOPWATCH_H
#define GEARBOX_STOPWATCH_H

#include <stdbool.h>

#include "gearbox/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gbx_stopwatch gbx_stopwatch;

/* A stopwatch reading 0, not running.  *out: free with gbx_stopwatch_free. */
gbx_err gbx_stopwatch_new(gbx_stopwatch **out);

/* NULL is accepted. */
void gbx_stopwatch_free(gbx_stopwatch *sw);

/* Starts timing from zero (a running stopwatch restarts). */
void gbx_stopwatch_start(gbx_stopwatch *sw);

/* Stops timing and returns the seconds between start and stop (0 when it
 * was never started; a stopped stopwatch keeps its reading). */
double gbx_stopwatch_stop(gbx_stopwatch *sw);

/* Seconds between start and stop, or between start and now while it runs;
 * 0 when it was never started. */
double gbx_stopwatch_elapsed(const gbx_stopwatch *sw);

/* True between start and stop. */
bool gbx_stopwatch_running(const gbx_stopwatch *sw);

#ifdef __cplusplus
}
#endif
#endif
