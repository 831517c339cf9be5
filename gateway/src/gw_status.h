/* gw_status.h - the built-in status endpoints, served from the store
 * without a Gearman round trip:
 *   GET <prefix>/v1/status/<id>     -> the status object (200, even failed)
 *   GET <prefix>/v1/status;k=v...   -> {"statuses": [ids]} or, with
 *                                      ;_expand=1, the whole objects
 * Only statuses created under the same location (`scope`) are visible. */
#ifndef GBX_GW_STATUS_H
#define GBX_GW_STATUS_H

#include <jansson.h>

#include "gearbox/error.h"
#include "gearbox/store.h"
#include "gearbox/uri.h"

/* The resource name of the built-in endpoints and their API version. */
#define GBX_GW_STATUS_RESOURCE "status"
#define GBX_GW_STATUS_VERSION "v1"

/* The scope a location's statuses are created with: its prefix, "/" for
 * the root. */
const char *gbx_gw_status_scope(const char *prefix);

/* Answers a GET of the status resource parsed into `uri`.  GBX_OK with
 * *body (new reference) to send with 200; otherwise the error code
 * (404 unknown or out-of-scope id, 400 bad filter, 500 store failure) with
 * the thread's last error saying why. */
gbx_err gbx_gw_status_get(json_t **body, gbx_store *store, const char *scope, const gbx_uri *uri);

#endif
