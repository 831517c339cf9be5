/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* lease.h - keeps the lease of the job a worker runs (private).
 *
 * A worker takes a queued job by leasing its queue row for lease_seconds
 * (gbx__queue_take).  While the handler runs, a keeper thread renews the
 * lease every lease_seconds / 3, so that only a worker that died (or hangs
 * without its process running) lets it run out; then the scheduler sends the
 * job back (jobmanager recovery).  One keeper per worker, one ticket at a
 * time; its thread starts on the first hold() and ends in free().
 */
#ifndef GBX_WORKER_LEASE_H
#define GBX_WORKER_LEASE_H

#include "gearbox/error.h"
#include "gearbox/store.h"

typedef struct gbx__lease_keeper gbx__lease_keeper;

/* A keeper renewing leases in `store` (borrowed; must outlive it). */
gbx_err gbx__lease_keeper_new(gbx__lease_keeper **out, gbx_store *store, double lease_seconds);

/* Stops and joins the thread; NULL is accepted. */
void gbx__lease_keeper_free(gbx__lease_keeper *keeper);

/* Renews the lease of `ticket` (copied) from now on, until release(). */
gbx_err gbx__lease_keeper_hold(gbx__lease_keeper *keeper, const char *ticket);

/* Stops renewing; returns once no renewal of the ticket is in flight. */
void gbx__lease_keeper_release(gbx__lease_keeper *keeper);

/* The lease length this keeper renews to. */
double gbx__lease_keeper_seconds(const gbx__lease_keeper *keeper);

#endif
