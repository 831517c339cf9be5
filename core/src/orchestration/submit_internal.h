/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* submit_internal.h - submit.c: the job manager's way to gearmand (private
 * to libgearbox). */
#ifndef GBX_SUBMIT_INTERNAL_H
#define GBX_SUBMIT_INTERNAL_H

#include "orchestration/jm_thread.h"

/* Runs `function` as a foreground job and waits up to `timeout` s for its
 * result (*result malloc'ed, NUL-terminated, *len bytes; NULL for an empty
 * result).  GBX_ERR_GATEWAY_TIMEOUT when no worker answered in time,
 * GBX_ERR_SERVICE_UNAVAILABLE when no gearmand of the list takes the job
 * (the servers are tried in turn; one that fails is marked down),
 * GBX_ERR_BAD_GATEWAY when the worker failed the job. */
gbx_err gbx__jm_gearman_do(char **result, size_t *len, gbx_jobmanager *jm, const char *function,
                           const char *unique, const char *workload, size_t wlen, double timeout);

/* Whether `name` is registered with (one of) the gearmand servers by a
 * live worker, from the admin "status" command (cached: see
 * gbx_jobmanager_handler_known), or
 * listed in the config's "handlers".  GBX_ERR_SERVICE_UNAVAILABLE when it
 * is not listed and no gearmand answers. */
gbx_err gbx__jm_handler_known(bool *known, gbx_jobmanager *jm, const char *name);

/* Releases the thread's gearman clients, one per server (NULL-safe). */
void gbx__jm_thread_close_gearman(gbx__jm_thread *t);

#endif
