/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gearbox/scoreboard.h - per-component worker metrics (Gearbox's
 * Scoreboard: `Scoreboard::initialize(component)`, `get_scoreboard()`,
 * `increment_counter(group, name)`, `update_duration_hours(group, name,
 * metric, stopwatch)`).
 *
 * The scoreboards of a process live in memory, one per component, behind
 * this one API; every call is thread-safe (one lock).  gbx_scoreboard_snapshot
 * gives all of them as one JSON document, which is what a metrics endpoint
 * exports:
 *
 *   {"components": {
 *      "<component>": {
 *        "counters":  {"<group>": {"<name>": <count>}},
 *        "durations": {"<group>": {"<name>": {"<metric>": {
 *            "count": n, "total_seconds": s, "min_seconds": s, "max_seconds": s,
 *            "hours": {"2026-12-04T15": {"count": n, "total_seconds": s}, ...}}}}}}}}
 *
 * "hours" keeps the samples of the last 24 UTC hours, one entry per hour in
 * which a sample was recorded (Gearbox kept durations per hour); the other
 * figures cover the life of the process.  Counters and durations are not
 * persisted: a restarted worker starts from zero, as a metrics scraper
 * expects of a process counter.
 *
 * `component` may be NULL in every call below: the current component, set by
 * gbx_scoreboard_initialize (GBX_ERR_PRECONDITION_FAILED before that).  A
 * worker made from a config with a "component" initializes it, as Gearbox's
 * Worker did, so its handlers need no initialize of their own.
 * Groups, names and metrics are any non-empty strings.
 */
#ifndef GEARBOX_SCOREBOARD_H
#define GEARBOX_SCOREBOARD_H

#include "gearbox/error.h"
#include "gearbox/stopwatch.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Makes `component` the process's current scoreboard (creating it empty
 * if new); initializing again with another component switches, and the
 * other scoreboard keeps its figures.  GBX_ERR_BAD_REQUEST for NULL or "". */
gbx_err gbx_scoreboard_initialize(const char *component);

/* The current component.  *out: malloc'ed, the caller frees it.
 * GBX_ERR_PRECONDITION_FAILED before gbx_scoreboard_initialize. */
gbx_err gbx_scoreboard_component(char **out);

/* Adds `n` (may be negative) to counter `name` of `group`; a new counter
 * starts at 0.  `*out` (may be NULL) receives the new value. */
gbx_err gbx_scoreboard_add_counter(long long *out, const char *component, const char *group,
                                   const char *name, long long n);

/* Adds 1 to counter `name` of `group` (Gearbox's increment_counter). */
gbx_err gbx_scoreboard_increment_counter(const char *component, const char *group, const char *name);

/* The value of counter `name` of `group` into *out (0 when it was never
 * counted). */
gbx_err gbx_scoreboard_counter(long long *out, const char *component, const char *group,
                               const char *name);

/* Records one sample of `seconds` (>= 0) for duration `metric` of
 * (group, name): count, total, min, max and the current UTC hour's figures. */
gbx_err gbx_scoreboard_update_duration(const char *component, const char *group, const char *name,
                                       const char *metric, double seconds);

/* The same with the reading of a stopwatch (gbx_stopwatch_elapsed), as
 * Gearbox's update_duration_hours(group, name, metric, stopwatch). */
gbx_err gbx_scoreboard_update_duration_hours(const char *component, const char *group,
                                             const char *name, const char *metric,
                                             const gbx_stopwatch *sw);

/* Every scoreboard of the process as JSON text (the format above; compact,
 * keys sorted).  *out: malloc'ed, the caller frees it. */
gbx_err gbx_scoreboard_snapshot(char **out);

/* Forgets every scoreboard and the current component (tests; a worker
 * never needs it). */
void gbx_scoreboard_reset(void);

#ifdef __cplusplus
}
#endif
#endif
