/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_dashboard.h - the operators' dashboard (docs/dashboard.md).
 *
 * Below the configured path ("/_gearbox" by default) the gateway serves:
 *   <path>            -> 302 to <path>/
 *   <path>/           -> index.html
 *   <path>/<file>     -> one of the page's files (gateway/dashboard/), built
 *                        into the binary, or read from "dashboard.dir"
 *   <path>/api/info   -> {"version", "dashboard_path", "metrics_path",
 *                         "locations": [{"path", "prefix", "component"}]}
 * Everything else the page needs is the gateway's own API: the status
 * endpoints of each location and /metrics.  Files carry a strong ETag and
 * "Cache-Control: no-cache" (a browser revalidates, 304 when unchanged), and
 * a Content-Security-Policy that allows the page's own files only.
 */
#ifndef GBX_GW_DASHBOARD_H
#define GBX_GW_DASHBOARD_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <microhttpd.h>

#include "gearbox/error.h"
#include "gw_config.h"

/* A file built into the gateway: `name` as under gateway/dashboard/. */
typedef struct gbx_gw_dashboard_file {
    const char *name;
    const char *content_type;
    const char *data;
    size_t len;
} gbx_gw_dashboard_file;

/* The built-in file `name` ("index.html", "dashboard.js", ...), NULL if
 * there is none.  Static: not to be freed. */
const gbx_gw_dashboard_file *gbx_gw_dashboard_builtin(const char *name);

/* The content type the dashboard sends for a file name (by extension),
 * NULL for an extension it does not serve. */
const char *gbx_gw_dashboard_content_type(const char *name);

/* The body of <path>/api/info for `cfg`.  *out: new reference. */
gbx_err gbx_gw_dashboard_info(json_t **out, const gbx_gw_config *cfg);

/* Answers a request for `path` (raw, without the query) when it is the
 * dashboard's: returns true with *resp (the caller queues and destroys it)
 * and *status.  Returns false, setting nothing, for other paths and when
 * the dashboard is turned off.  `method_name` as sent ("GET", "HEAD" are
 * served, others get 405); `if_none_match`: the request's header or NULL. */
bool gbx_gw_dashboard_answer(struct MHD_Response **resp, unsigned *status, const gbx_gw_config *cfg,
                             const char *method_name, const char *path, const char *if_none_match);

#endif
