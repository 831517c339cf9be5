/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_status.h - the built-in status endpoints, served from the store
 * without a Gearman round trip:
 *   GET <prefix>/v1/status/<id>     -> the status object (200, even failed)
 *   GET <prefix>/v1/status;k=v...   -> {"statuses": [ids]} or, with
 *                                      ;_expand=1, the whole objects
 *   POST <prefix>/v1/status/<id>    -> {"state": "CANCELLED"} cancels the job
 *                                      (202, the cancel operation's status);
 *                                      {"ytime": t} runs its waiting job at t
 *                                      (200, the status)
 * GETs carry a strong ETag (of the body) and answer If-None-Match with 304;
 * a GET of one status with Prefer: wait=N and a matching If-None-Match
 * waits (gw_watch.h) until the status changes or N seconds pass.
 * A status is found by id under any location (as in Gearbox's global
 * status store); a list shows the statuses created under the location
 * (`scope`).  docs/gateway.md says why. */
#ifndef GBX_GW_STATUS_H
#define GBX_GW_STATUS_H

#include <jansson.h>
#include <stdbool.h>

#include "gearbox/error.h"
#include "gearbox/jobmanager.h"
#include "gearbox/status.h"
#include "gearbox/store.h"
#include "gearbox/uri.h"

/* The resource name of the built-in endpoints and their API version. */
#define GBX_GW_STATUS_RESOURCE "status"
#define GBX_GW_STATUS_VERSION "v1"

/* The scope a location's statuses are created with: its prefix, "/" for
 * the root. */
const char *gbx_gw_status_scope(const char *prefix);

/* Who asks for statuses, and which ones they may see:
 * - on an open location (owner NULL, admin false): every status that has no
 *   owner, by id under any location as in Gearbox; lists: the location's
 *   statuses that have no owner;
 * - a verified principal: the statuses it created under this location's
 *   scope; with admin, every status of the scope.  Any other status is
 *   "not found" (never "forbidden": its existence is not confirmed). */
typedef struct gbx_gw_viewer {
    const char *scope;   /* gbx_gw_status_scope of the location */
    const char *owner;   /* the verified principal; NULL on an open location */
    bool admin;          /* the principal has the admin scope */
} gbx_gw_viewer;

/* True if `who` may see `st`. */
bool gbx_gw_status_visible(const gbx_gw_viewer *who, const gbx_status *st);

/* Answers a GET of the status resource parsed into `uri`: one status by id,
 * or the list of the statuses of who->scope (and who->owner unless admin).
 * GBX_OK with *body (new reference) to send with 200; otherwise the error
 * code (404 unknown or not visible id, 400 bad filter, 500 store failure)
 * with the thread's last error saying why. */
gbx_err gbx_gw_status_get(json_t **body, gbx_store *store, const gbx_gw_viewer *who,
                          const gbx_uri *uri);

/* One status by id, as gbx_gw_status_get answers it, and its mtime (*mtime
 * if not NULL: what gbx_gw_watch_add waits to see change). */
gbx_err gbx_gw_status_get_one(json_t **body, double *mtime, gbx_store *store,
                              const gbx_gw_viewer *who, const char *id);

/* What a POST to a status asks for. */
typedef enum gbx_gw_status_action {
    GBX_GW_STATUS_CANCEL = 1,     /* {"state": "CANCELLED"} */
    GBX_GW_STATUS_RESCHEDULE = 2, /* {"ytime": t} */
} gbx_gw_status_action;

/* Parses the body of a POST to a status: *action and, for a reschedule,
 * *ytime (unix seconds, >= 0).  GBX_ERR_BAD_REQUEST with a message saying
 * what is accepted for malformed JSON, a body that is not an object, or any
 * other content. */
gbx_err gbx_gw_status_parse_post(gbx_gw_status_action *action, double *ytime, const char *body,
                                 size_t len);

/* Answers a POST of the status resource parsed into `uri` with `body`
 * (a status `who` may see, gbx_gw_status_visible; others are 404):
 * cancel -> GBX_OK, *http_code 202, *out the cancel operation's status;
 * reschedule -> GBX_OK, *http_code 200, *out the status.  *out: new
 * reference.  Errors: 400 (body, or no id), 404 (unknown id), 409 (state
 * does not allow it), 500 (store). */
gbx_err gbx_gw_status_post(json_t **out, int *http_code, gbx_jobmanager *jm,
                           const gbx_gw_viewer *who, const gbx_uri *uri, const char *body,
                           size_t len);

#endif
