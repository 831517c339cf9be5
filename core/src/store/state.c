/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* state.c - state names and the state machine (gearbox/state.h). */
#include "gearbox/state.h"

#include <string.h>
#include <strings.h>

static const char *const state_names[] = {
    [GBX_STATE_UNKNOWN] = "UNKNOWN",       [GBX_STATE_PENDING] = "PENDING",
    [GBX_STATE_RUNNING] = "RUNNING",       [GBX_STATE_STOPPING] = "STOPPING",
    [GBX_STATE_STOPPED] = "STOPPED",       [GBX_STATE_CANCELLING] = "CANCELLING",
    [GBX_STATE_CANCELLED] = "CANCELLED",   [GBX_STATE_COMPLETED] = "COMPLETED",
};
#define STATE_COUNT ((int)(sizeof state_names / sizeof state_names[0]))

#define BIT(state) (1u << (unsigned)(state))

/* The states each state may move to. */
static const unsigned transitions[] = {
    [GBX_STATE_PENDING] = BIT(GBX_STATE_RUNNING) | BIT(GBX_STATE_STOPPING),
    [GBX_STATE_RUNNING] = BIT(GBX_STATE_COMPLETED) | BIT(GBX_STATE_STOPPING),
    [GBX_STATE_COMPLETED] = BIT(GBX_STATE_CANCELLING),
    [GBX_STATE_STOPPING] = BIT(GBX_STATE_STOPPED),
    [GBX_STATE_STOPPED] = BIT(GBX_STATE_CANCELLING),
    [GBX_STATE_CANCELLING] = BIT(GBX_STATE_CANCELLED),
    [GBX_STATE_CANCELLED] = 0,
    [GBX_STATE_UNKNOWN] = 0,
};

/* A state a status can be in (UNKNOWN is not). */
static bool state_valid(int s) { return s >= GBX_STATE_PENDING && s < STATE_COUNT; }

const char *gbx_state_name(gbx_state state) {
    return state_valid((int)state) ? state_names[state] : "UNKNOWN";
}

int gbx_state_from_name(const char *name) {
    if (!name) return -1;
    for (int s = GBX_STATE_PENDING; s < STATE_COUNT; s++)
        if (strcasecmp(state_names[s], name) == 0) return s;
    return -1;
}

bool gbx_state_can_transition(gbx_state from, gbx_state to) {
    if (!state_valid((int)from) || !state_valid((int)to)) return false;
    return (transitions[from] & BIT(to)) != 0;
}
