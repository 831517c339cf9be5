/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gearbox/state.h - the states of a status and its state machine (DESIGN §3).
 *
 * PENDING -> RUNNING -> COMPLETED; PENDING|RUNNING -> STOPPING -> STOPPED ->
 * CANCELLING -> CANCELLED; COMPLETED -> CANCELLING.  Kept apart from
 * gearbox/status.h so that store backends can name states without the
 * status layer that sits on top of them.
 */
#ifndef GEARBOX_STATE_H
#define GEARBOX_STATE_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Numbered as Gearbox numbered its Status::STATE_* constants, so that the
 * bindings take them from here.  UNKNOWN is never a stored state. */
typedef enum gbx_state {
    GBX_STATE_UNKNOWN = 0,
    GBX_STATE_PENDING = 1,
    GBX_STATE_RUNNING = 2,
    GBX_STATE_STOPPING = 3,
    GBX_STATE_STOPPED = 4,
    GBX_STATE_CANCELLING = 5,
    GBX_STATE_CANCELLED = 6,
    GBX_STATE_COMPLETED = 7,
} gbx_state;

/* "PENDING" ... ("UNKNOWN" for a value outside the enum); parses the same
 * back, case-insensitively (-1 if unknown).  Static strings. */
const char *gbx_state_name(gbx_state state);
int gbx_state_from_name(const char *name);

/* True if the state machine allows from -> to (a state to itself is not a
 * transition and is false). */
bool gbx_state_can_transition(gbx_state from, gbx_state to);

#ifdef __cplusplus
}
#endif
#endif
