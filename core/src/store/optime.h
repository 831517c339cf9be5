/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* optime.h - timing of the status store's calls to its backend (private):
 * every place that dispatches to store->ops observes the call's duration in
 * its operation's histogram (gearbox/metrics.h gbx_store_operation_timings).
 *
 *   GBX__STORE_TIMED(GBX__OP_LOAD, rc = store->ops->load(store, id, &row));
 */
#ifndef GBX_STORE_OPTIME_H
#define GBX_STORE_OPTIME_H

#include "gearbox/metrics.h"

typedef enum gbx__store_op {
    GBX__OP_INSERT,
    GBX__OP_LOAD,
    GBX__OP_LOAD_ENVELOPE,
    GBX__OP_UPDATE,
    GBX__OP_LIST,
    GBX__OP_COUNTER_ADD,
    GBX__OP_QUEUE_PUT,
    GBX__OP_QUEUE_TAKE,
    GBX__OP_QUEUE_RENEW,
    GBX__OP_QUEUE_DONE,
    GBX__OP_QUEUE_CLAIM_DUE,
    GBX__OP_QUEUE_NEXT_DUE,
    GBX__OP_QUEUE_RESCHEDULE,
    GBX__OP_QUEUE_DROP,
    GBX__OP_IDEMPOTENCY_PUT,
    GBX__OP_IDEMPOTENCY_DROP,
    GBX__OP_PURGE,
    GBX__OP_COUNT_STATES,
    GBX__OP_WORKERS_PUBLISH,
    GBX__OP_WORKERS_READ,
    GBX__OP_CHANGED,
    GBX__OP_COUNT
} gbx__store_op;

/* Observes gbx_metrics_clock() - start in op's histogram. */
void gbx__store_timed(gbx__store_op op, double start);

/* Runs the statement `call` (a dispatch to the backend), timed as `op`. */
#define GBX__STORE_TIMED(op, call)                  \
    do {                                            \
        double gbx__start_ = gbx_metrics_clock();   \
        call;                                       \
        gbx__store_timed(op, gbx__start_);          \
    } while (0)

#endif
