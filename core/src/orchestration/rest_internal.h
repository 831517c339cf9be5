/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* rest_internal.h - rest.c: REST jobs and remote statuses through libcurl
 * (private to libgearbox). */
#ifndef GBX_REST_INTERNAL_H
#define GBX_REST_INTERNAL_H

#include "orchestration/jm_thread.h"

/* curl_global_init, once per process. */
gbx_err gbx__jm_curl_init(void);

/* Sends a REST job (see gbx_jobmanager_run). */
gbx_err gbx__jm_rest_run(gbx_response **out, gbx_jobmanager *jm, gbx_job *job);

/* A gbx__status_fetch_fn: GET `status_uri` (user: the gbx_jobmanager) and
 * parse the status object. */
gbx_err gbx__jm_fetch_status(void *user, const char *status_uri, json_t **out);

/* Releases the thread's curl handle (NULL-safe). */
void gbx__jm_thread_close_curl(gbx__jm_thread *t);

#endif
