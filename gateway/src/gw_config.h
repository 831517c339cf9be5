/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_config.h - the gateway's configuration, loaded and checked in full at
 * start-up (docs/gateway.md lists every key).
 *
 *   { "listen": {"address": "127.0.0.1", "port": 4080},
 *     "gearman": {"servers": ["127.0.0.1:4730"]},
 *     "status": {"type": "sqlite", "path": "state/status.db"},
 *     "max_body_bytes": 8388608, "threads": 4, "max_connections": 16384,
 *     "connection_timeout": 0, "submit_timeout": 5, "shutdown_grace": 5,
 *     "scheduler": true, "jobs": {...job manager settings...},
 *     "log": {"level": "info", "file": "gateway.log"}, "pid_file": "...",
 *     "metrics": {"path": "/metrics", "listen": {"address": ..., "port": ...}},
 *     "locations": [ {"prefix": "/barn", "config": "barn.conf", "sync": ["PUT"],
 *                     "environ": {"K": "V"}, "timeout": 30},
 *                    {"prefix": "/barn/v1/hello", "sync": ["POST"]} ],
 *     "rate_limit": {"per_address": 200, ...} }
 * Every location says who may use it: "auth" (gw_auth.h).
 *
 * A location whose path has a version segment ("/barn/v1/hello") is nested:
 * its prefix is the path before that segment, as in Gearbox, and when a
 * location sits at that prefix the nested one keeps its component config
 * and inherits what it does not set itself (sync, environ, timeout,
 * require_schemas).
 */
#ifndef GBX_GW_CONFIG_H
#define GBX_GW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "gearbox/config.h"
#include "gearbox/error.h"
#include "gearbox/schema.h"
#include "gw_limits.h"
#include "gw_tls.h"
#include "gw_auth.h"
#include "gw_ratelimit.h"

/* HTTP methods the gateway serves (bit flags for a location's sync set). */
typedef enum gbx_gw_method {
    GBX_GW_GET = 1,
    GBX_GW_HEAD = 2,
    GBX_GW_PUT = 4,
    GBX_GW_POST = 8,
    GBX_GW_DELETE = 16,
} gbx_gw_method;

/* The method for an HTTP method name (exact, upper case), 0 if unknown. */
gbx_gw_method gbx_gw_method_from_name(const char *name);

typedef struct gbx_gw_location gbx_gw_location;
struct gbx_gw_location {
    char *path;            /* what requests match: the prefix, or the deeper
                            * path of a nested location ("/barn/v1/hello") */
    char *prefix;          /* "/barn": no trailing '/'; "" mounts at the root */
    /* The location at `prefix` that a nested location sits below; NULL for
     * the others.  A nested location borrows its parent's component config,
     * handlers and schemas: config_path, component_cfg, handlers, schemadir
     * and schemas are its parent's pointers, not freed with it. */
    const gbx_gw_location *parent;
    char *config_path;     /* the component config file, resolved */
    gbx_config *component_cfg;
    const char *component; /* "barn", borrowed from component_cfg */
    char **handlers;       /* the config's "handlers" (optional), sorted (strcmp) */
    size_t nhandlers;
    unsigned sync_methods; /* gbx_gw_method bits; GET and HEAD always */
    json_t *environ;       /* object of strings passed as envelope.environ */
    double timeout;        /* seconds a sync request waits */
    char *schemadir;       /* NULL: no validation */
    gbx_schema_dir *schemas; /* the schemas of schemadir, compiled on first use; NULL without one */
    gbx_dialect dialect;   /* default dialect of the schemas */
    bool require_schemas;  /* a missing schema file fails the request */
    bool allow_set_cookie; /* workers' Set-Cookie headers reach the client */
    char *public_url;      /* "https://api.example.com/barn": base of its URIs; NULL:
                            * from the request (gw_origin.h); a nested one inherits */
    /* Who may use it (gw_auth.h): NULL for "auth": "none".  A nested
     * location without "auth" borrows its parent's; own_auth is what it
     * loaded itself (freed with it). */
    const gbx_gw_auth *auth;
    gbx_gw_auth *own_auth;
    struct gbx_gw_callback_location *callback; /* callback_hosts + secret; NULL: none (gw_callback.h) */
};

/* The "dashboard" section (gw_dashboard.h serves it):
 *   "dashboard": {"enabled": true, "path": "/_gearbox", "dir": "..."} */
typedef struct gbx_gw_dashboard_config {
    bool enabled;          /* default true */
    char *path;            /* normalized like a prefix: "/_gearbox" (no trailing '/') */
    char *dir;             /* NULL: the copy built into the binary; else resolved */
} gbx_gw_dashboard_config;
/* The "metrics" section (docs/metrics.md). */
typedef struct gbx_gw_metrics_config {
    bool enabled;                /* serve the metrics path (default true) */
    char *path;                  /* "/metrics" */
    char *listen_address;        /* the admin listener; NULL = none (all on the main one) */
    int listen_port;
    double cache_seconds;        /* how long store and gearmand figures are reused */
    double worker_stale_seconds; /* workers silent longer are left out */
} gbx_gw_metrics_config;

typedef struct gbx_gw_config {
    gbx_config *cfg;
    char *listen_address;  /* "127.0.0.1": the first listener's */
    int port;              /* the first listener's; 0 = any free port */
    gbx_gw_listener *listeners; /* "listen" (gw_tls.h) */
    size_t nlisteners;
    char **server_names;   /* Host values trusted to build URIs (gw_origin.h) */
    size_t nserver_names;
    char *gearman_servers; /* "h1:p1,h2:p2" */
    size_t max_body_bytes;
    unsigned threads;
    unsigned max_connections;
    unsigned connection_timeout; /* idle seconds before MHD closes a connection */
    /* Seconds to queue an async job: checked here, used by the job manager,
     * which reads the same key. */
    double submit_timeout;
    double shutdown_grace;       /* seconds in-flight sync requests get on stop */
    bool scheduler;              /* run the scheduler thread (submits due queued jobs) */
    gbx_gw_limits limits;        /* the "limits" section (gw_limits.h) */
    char *log_level;             /* NULL = info */
    char *log_file;              /* NULL = stderr; resolved */
    char *pid_file;              /* NULL = none; resolved */
    gbx_gw_location *locations;
    size_t nlocations;
    gbx_gw_dashboard_config dashboard;
    gbx_gw_metrics_config metrics;
    gbx_gw_rate_config rate_limit; /* "rate_limit" (gw_ratelimit.h) */
    struct gbx_gw_callback_settings *callbacks; /* the "callbacks" section (gw_callback.h) */
} gbx_gw_config;

/* Loads and checks the whole configuration: every location's path, its
 * component config (loaded), handlers list, schema directory and dialect,
 * sync methods, environ and timeout, and how nested locations fit their
 * parents.  GBX_ERR_BAD_REQUEST with a message naming the file, location
 * and key for anything wrong.  *out: free with gbx_gw_config_free. */
gbx_err gbx_gw_config_load(gbx_gw_config **out, const char *path);

/* Checks and fills one location from its JSON (used by the loader; exposed
 * for tests).  `base_dir` resolves a relative component config path.
 * `parent`: for a nested location, the location at its prefix (NULL when
 * there is none, or for a location that is not nested); it must outlive
 * `loc`.  On error the location is left empty. */
gbx_err gbx_gw_location_init(gbx_gw_location *loc, const json_t *spec, const char *base_dir,
                             size_t index, const gbx_gw_location *parent);
/* Frees what the location owns (not what it borrows from its parent). */
void gbx_gw_location_clear(gbx_gw_location *loc);

void gbx_gw_config_free(gbx_gw_config *cfg);

/* The config's integer at `key` (a number or a numeric string) between min
 * and max, or `dflt` when absent; its seconds (0 to 86400).  For the
 * gateway's other sections' loaders. */
gbx_err gbx_gw_config_int(long long *out, const gbx_config *cfg, const char *key, long long dflt,
                          long long min, long long max);
gbx_err gbx_gw_config_seconds(double *out, const gbx_config *cfg, const char *key, double dflt);

/* A prefix as the gateway keeps it: must start with '/', may not contain
 * '?', ';', '#', '%', whitespace or an empty or dot segment; trailing '/'
 * removed ("/" becomes "").  *out: malloc'ed. */
gbx_err gbx_gw_normalize_prefix(char **out, const char *prefix);

/* The length of the prefix part of a location path: the offset of its
 * first "/v<digits>" segment, or strlen(path) when it has none (the path of
 * a location that is not nested). */
size_t gbx_gw_prefix_length(const char *path);

/* True if `name` is in the "handlers" list of the location's component
 * config (gearmand may know more: gbx_gw_resolve_handler asks it). */
bool gbx_gw_location_has_handler(const gbx_gw_location *loc, const char *name);

#endif
