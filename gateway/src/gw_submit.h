/* gw_submit.h - queueing async jobs: gearman_client_do_background through
 * one blocking libgearman client per calling thread (a submit takes a
 * round trip to gearmand, bounded by the submit timeout). */
#ifndef GBX_GW_SUBMIT_H
#define GBX_GW_SUBMIT_H

#include <stddef.h>

#include "gearbox/error.h"

typedef struct gbx_gw_submitter gbx_gw_submitter;

/* For the libgearman server list `servers`; every submit gives up after
 * `timeout` seconds.  *out: free with gbx_gw_submitter_free once no thread
 * submits any more. */
gbx_err gbx_gw_submitter_new(gbx_gw_submitter **out, const char *servers, double timeout);
void gbx_gw_submitter_free(gbx_gw_submitter *s);

/* Queues a background job; `unique` (the status id) makes gearmand merge a
 * repeated submit of the same job.  GBX_ERR_SERVICE_UNAVAILABLE with the
 * reason when gearmand does not take it (one retry on a fresh connection
 * first). */
gbx_err gbx_gw_submit_background(gbx_gw_submitter *s, const char *function, const char *unique,
                                 const char *workload, size_t len);

#endif
