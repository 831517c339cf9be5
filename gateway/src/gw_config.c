/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_config.c - load and check the gateway configuration. */
#include "gw_config.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "gearbox/json.h"
#include "gearbox/log.h"
#include "gearbox/uri.h"
#include "gw_origin.h"
#include "gw_callback.h"
#include "gw_util.h"

#define DEFAULT_PORT 4080
#define DEFAULT_MAX_BODY (8u * 1024u * 1024u)
#define DEFAULT_THREADS 4
#define DEFAULT_MAX_CONNECTIONS 16384
#define DEFAULT_SUBMIT_TIMEOUT 5.0
#define DEFAULT_SHUTDOWN_GRACE 5.0
#define DEFAULT_LOCATION_TIMEOUT 30.0

static const struct {
    const char *name;
    gbx_gw_method method;
} method_names[] = {
    {"GET", GBX_GW_GET}, {"HEAD", GBX_GW_HEAD}, {"PUT", GBX_GW_PUT},
    {"POST", GBX_GW_POST}, {"DELETE", GBX_GW_DELETE},
};

gbx_gw_method gbx_gw_method_from_name(const char *name) {
    if (!name) return 0;
    for (size_t i = 0; i < sizeof method_names / sizeof method_names[0]; i++)
        if (strcmp(method_names[i].name, name) == 0) return method_names[i].method;
    return 0;
}

gbx_err gbx_gw_normalize_prefix(char **out, const char *prefix) {
    *out = NULL;
    if (!prefix || prefix[0] != '/')
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "prefix \"%s\" must start with '/'",
                             prefix ? prefix : "");
    size_t len = strlen(prefix);
    while (len > 0 && prefix[len - 1] == '/') len--;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)prefix[i];
        if (c <= ' ' || c >= 0x7f || strchr("?;#%\\", c))
            return gbx_error_set(GBX_ERR_BAD_REQUEST,
                                 "prefix \"%s\" may not contain '%c' (only plain path characters)",
                                 prefix, c > ' ' && c < 0x7f ? c : '?');
    }
    /* Segments: none empty ("//"), none "." or "..". */
    for (size_t i = 0; i < len;) {
        size_t j = i + 1;
        while (j < len && prefix[j] != '/') j++;
        size_t seg = j - i - 1;
        if (seg == 0 || (seg == 1 && prefix[i + 1] == '.') ||
            (seg == 2 && prefix[i + 1] == '.' && prefix[i + 2] == '.'))
            return gbx_error_set(GBX_ERR_BAD_REQUEST,
                                 "prefix \"%s\" has an empty, \".\" or \"..\" segment", prefix);
        i = j;
    }
    char *p = strndup(prefix, len);
    if (!p) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    *out = p;
    return GBX_OK;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

bool gbx_gw_location_has_handler(const gbx_gw_location *loc, const char *name) {
    if (!loc || !name || loc->nhandlers == 0) return false;
    return bsearch(&name, loc->handlers, loc->nhandlers, sizeof(char *), cmp_str) != NULL;
}

size_t gbx_gw_prefix_length(const char *path) {
    for (const char *p = strchr(path, '/'); p; p = strchr(p + 1, '/')) {
        if (p[1] != 'v' || !isdigit((unsigned char)p[2])) continue;
        const char *q = p + 2;
        while (isdigit((unsigned char)*q)) q++;
        if (*q == '\0' || *q == '/') return (size_t)(p - path);
    }
    return strlen(path);
}

void gbx_gw_location_clear(gbx_gw_location *loc) {
    if (!loc) return;
    free(loc->path);
    free(loc->prefix);
    free(loc->public_url);
    json_decref(loc->environ);
    gbx_gw_callback_location_free(loc->callback);
    if (!loc->parent) {
        free(loc->config_path);
        gbx_config_free(loc->component_cfg);
        for (size_t i = 0; i < loc->nhandlers; i++) free(loc->handlers[i]);
        free(loc->handlers);
        free(loc->schemadir);
        gbx_schema_dir_free(loc->schemas);
    }
    gbx_gw_auth_free(loc->own_auth);
    memset(loc, 0, sizeof *loc);
}

static bool is_component_name(const char *s) {
    if (!s || !*s) return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p)) return false;
    return true;
}

/* Reads the component config's optional handlers list: names the gateway
 * routes to even before a worker has registered them with gearmand (any
 * name, so that the workers' own config can list their internal handlers
 * too). */
static gbx_err load_handlers(gbx_gw_location *loc, const char *where) {
    json_t *list = gbx_config_get(loc->component_cfg, "handlers");
    if (!list) return GBX_OK;
    if (!json_is_array(list))
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "%s: \"handlers\" in %s must be an array of handler names", where,
                             loc->config_path);
    size_t n = json_array_size(list);
    loc->handlers = calloc(n ? n : 1, sizeof(char *));
    if (!loc->handlers) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *name = json_string_value(json_array_get(list, i));
        if (!name || !*name)
            return gbx_error_set(GBX_ERR_BAD_REQUEST,
                                 "%s: handlers[%zu] in %s is not a handler name (a non-empty string)",
                                 where, i, loc->config_path);
        if (gbx_gw_location_has_handler(loc, name)) continue;
        loc->handlers[loc->nhandlers] = strdup(name);
        if (!loc->handlers[loc->nhandlers])
            return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
        loc->nhandlers++;
        qsort(loc->handlers, loc->nhandlers, sizeof(char *), cmp_str);
    }
    return GBX_OK;
}

static gbx_err load_schema_settings(gbx_gw_location *loc, const char *where) {
    gbx_err e = gbx_config_get_path(&loc->schemadir, loc->component_cfg, "schemadir", NULL);
    if (e != GBX_OK)
        return gbx_gw_error_wrap(GBX_ERR_BAD_REQUEST, "%s: \"schemadir\" in %s", where,
                                 loc->config_path);
    if (loc->schemadir) {
        struct stat st;
        if (stat(loc->schemadir, &st) != 0 || !S_ISDIR(st.st_mode))
            return gbx_error_set(GBX_ERR_BAD_REQUEST,
                                 "%s: schemadir \"%s\" of %s is not a directory", where,
                                 loc->schemadir, loc->config_path);
    }
    json_t *dialect = gbx_config_get(loc->component_cfg, "schema_dialect");
    loc->dialect = GBX_DIALECT_LEGACY;
    if (dialect) {
        int d = gbx_dialect_from_name(json_string_value(dialect));
        if (!json_is_string(dialect) || d < 0 || d == GBX_DIALECT_AUTO)
            return gbx_error_set(GBX_ERR_BAD_REQUEST,
                                 "%s: \"schema_dialect\" in %s must be one of legacy, draft3, "
                                 "draft4, draft6, draft7, 2019-09, 2020-12",
                                 where, loc->config_path);
        loc->dialect = (gbx_dialect)d;
    }
    if (loc->schemadir) return gbx_schema_dir_new(&loc->schemas, loc->schemadir, loc->dialect);
    return GBX_OK;
}

/* Loads the location's own component config: component, handlers, schemas. */
static gbx_err load_component(gbx_gw_location *loc, const char *config, const char *base_dir,
                              const char *where) {
    loc->config_path = gbx_gw_join_path(base_dir, config);
    if (!loc->config_path) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    if (gbx_config_load(&loc->component_cfg, loc->config_path) != GBX_OK)
        return gbx_gw_error_wrap(GBX_ERR_BAD_REQUEST, "%s: cannot load component config", where);
    loc->component = gbx_config_get_string(loc->component_cfg, "component", NULL);
    if (!is_component_name(loc->component) || strcmp(loc->component, "global") == 0)
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "%s: %s needs \"component\": a name of letters and digits (not \"global\")",
                             where, loc->config_path);
    gbx_err e = load_handlers(loc, where);
    if (e == GBX_OK) e = load_schema_settings(loc, where);
    return e;
}

/* A nested location keeps its parent's component config; naming another
 * file would contradict that. */
static gbx_err borrow_component(gbx_gw_location *loc, const gbx_gw_location *parent,
                                const char *config, const char *base_dir, const char *where) {
    if (config) {
        char *mine = gbx_gw_join_path(base_dir, config);
        char *a = mine ? realpath(mine, NULL) : NULL;
        char *b = realpath(parent->config_path, NULL);
        bool same = a && b && strcmp(a, b) == 0;
        free(a);
        free(b);
        if (!same) {
            gbx_err e = gbx_error_set(GBX_ERR_BAD_REQUEST,
                                      "%s: \"config\" %s is not the component config of location "
                                      "\"%s\" (%s), which a nested location keeps: leave it out",
                                      where, mine ? mine : config,
                                      parent->path[0] ? parent->path : "/", parent->config_path);
            free(mine);
            return e;
        }
        free(mine);
    }
    loc->parent = parent;
    loc->config_path = parent->config_path;
    loc->component_cfg = parent->component_cfg;
    loc->component = parent->component;
    loc->handlers = parent->handlers;
    loc->nhandlers = parent->nhandlers;
    loc->schemadir = parent->schemadir;
    loc->schemas = parent->schemas;
    loc->dialect = parent->dialect;
    return GBX_OK;
}

static gbx_err load_require_schemas(gbx_gw_location *loc, const json_t *spec, const char *where) {
    json_t *req = json_object_get(spec, "require_schemas");
    if (!req && loc->parent) {
        loc->require_schemas = loc->parent->require_schemas;
        return GBX_OK;
    }
    if (!req) req = gbx_config_get(loc->component_cfg, "require_schemas");
    if (req && !json_is_boolean(req))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s: \"require_schemas\" must be true or false",
                             where);
    loc->require_schemas = req && json_is_true(req);
    if (loc->require_schemas && !loc->schemadir)
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "%s: require_schemas is set but %s has no \"schemadir\"", where,
                             loc->config_path);
    return GBX_OK;
}

static gbx_err load_environ(gbx_gw_location *loc, const json_t *spec, const char *where) {
    json_t *env = json_object_get(spec, "environ");
    json_t *alias = json_object_get(spec, "env");
    if (env && alias)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s: give \"environ\" or \"env\", not both", where);
    if (!env) env = alias;
    if (!env && loc->parent) {
        loc->environ = json_incref(loc->parent->environ);
        return GBX_OK;
    }
    loc->environ = json_object();
    if (!loc->environ) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    if (!env) return GBX_OK;
    if (!json_is_object(env))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s: \"environ\" must be an object of strings",
                             where);
    const char *k;
    json_t *v;
    json_object_foreach(env, k, v) {
        if (!json_is_string(v))
            return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s: environ \"%s\" must be a string", where,
                                 k);
        json_object_set(loc->environ, k, v);
    }
    return GBX_OK;
}

static gbx_err load_sync(gbx_gw_location *loc, const json_t *spec, const char *where) {
    json_t *sync = json_object_get(spec, "sync");
    if (!sync && loc->parent) {
        loc->sync_methods = loc->parent->sync_methods;
        return GBX_OK;
    }
    loc->sync_methods = GBX_GW_GET | GBX_GW_HEAD;
    if (!sync) return GBX_OK;
    if (!json_is_array(sync))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s: \"sync\" must be an array of methods", where);
    size_t i;
    json_t *m;
    json_array_foreach(sync, i, m) {
        char upper[16] = "";
        const char *s = json_string_value(m);
        if (s && strlen(s) < sizeof upper)
            for (size_t k = 0; s[k]; k++) upper[k] = (char)toupper((unsigned char)s[k]);
        gbx_gw_method method = gbx_gw_method_from_name(upper);
        if (!method)
            return gbx_error_set(GBX_ERR_BAD_REQUEST,
                                 "%s: sync[%zu] must be one of GET, HEAD, PUT, POST, DELETE", where, i);
        loc->sync_methods |= method;
    }
    return GBX_OK;
}

static gbx_err load_timeout(gbx_gw_location *loc, const json_t *spec, const char *where) {
    json_t *timeout = json_object_get(spec, "timeout");
    loc->timeout = loc->parent ? loc->parent->timeout : DEFAULT_LOCATION_TIMEOUT;
    if (!timeout) return GBX_OK;
    double t = json_number_value(timeout);
    if (!json_is_number(timeout) || !(t > 0) || t > 86400)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s: \"timeout\" must be seconds in (0, 86400]",
                             where);
    loc->timeout = t;
    return GBX_OK;
}

gbx_err gbx_gw_location_init(gbx_gw_location *loc, const json_t *spec, const char *base_dir,
                             size_t index, const gbx_gw_location *parent) {
    memset(loc, 0, sizeof *loc);
    char where[300];
    snprintf(where, sizeof where, "locations[%zu]", index);
    gbx_err e;
    if (!json_is_object(spec)) {
        e = gbx_error_set(GBX_ERR_BAD_REQUEST, "%s must be an object", where);
        goto fail;
    }
    static const char *const known[] = {"prefix", "config", "sync", "environ", "env",
                                        "timeout", "require_schemas", "allow_set_cookie",
                                        "public_url", "auth"};
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)spec, key, val) {
        bool ok = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            if (strcmp(key, known[i]) == 0) ok = true;
        if (!ok && !gbx_gw_callback_location_key(key)) {
            e = gbx_error_set(GBX_ERR_BAD_REQUEST, "%s: unknown key \"%s\"", where, key);
            goto fail;
        }
    }
    const char *prefix = json_string_value(json_object_get(spec, "prefix"));
    if (!prefix) {
        e = gbx_error_set(GBX_ERR_BAD_REQUEST, "%s: \"prefix\" (a string such as \"/barn\") is missing",
                          where);
        goto fail;
    }
    if ((e = gbx_gw_normalize_prefix(&loc->path, prefix)) != GBX_OK) {
        e = gbx_gw_error_wrap(GBX_ERR_BAD_REQUEST, "%s", where);
        goto fail;
    }
    snprintf(where, sizeof where, "location \"%.200s\"", prefix);
    loc->prefix = strndup(loc->path, gbx_gw_prefix_length(loc->path));
    if (!loc->prefix) {
        e = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
        goto fail;
    }
    if (parent && (strcmp(parent->path, loc->prefix) != 0 || parent->parent)) {
        e = gbx_error_set(GBX_ERR_BAD_REQUEST, "%s is not nested below location \"%s\"", where,
                          parent->path[0] ? parent->path : "/");
        goto fail;
    }

    const char *config = json_string_value(json_object_get(spec, "config"));
    if (json_object_get(spec, "config") && !config) {
        e = gbx_error_set(GBX_ERR_BAD_REQUEST, "%s: \"config\" must be a file name", where);
        goto fail;
    }
    if (parent) {
        e = borrow_component(loc, parent, config, base_dir, where);
    } else if (!config) {
        bool nested = strcmp(loc->prefix, loc->path) != 0;
        e = gbx_error_set(GBX_ERR_BAD_REQUEST,
                          nested ? "%s: \"config\" (the component config file) is missing, and no "
                                   "location \"%s\" above it has one to keep"
                                 : "%s: \"config\" (the component config file) is missing",
                          where, loc->prefix[0] ? loc->prefix : "/");
    } else {
        e = load_component(loc, config, base_dir, where);
    }
    if (e != GBX_OK) goto fail;
    if ((e = load_require_schemas(loc, spec, where)) != GBX_OK) goto fail;
    if ((e = load_sync(loc, spec, where)) != GBX_OK) goto fail;
    if ((e = load_environ(loc, spec, where)) != GBX_OK) goto fail;
    if ((e = load_timeout(loc, spec, where)) != GBX_OK) goto fail;
    json_t *cookie = json_object_get(spec, "allow_set_cookie");
    if (cookie && !json_is_boolean(cookie)) {
        e = gbx_error_set(GBX_ERR_BAD_REQUEST, "%s: \"allow_set_cookie\" must be true or false", where);
        goto fail;
    }
    loc->allow_set_cookie = cookie ? json_is_true(cookie) : loc->parent && loc->parent->allow_set_cookie;
    if ((e = gbx_gw_public_url_load(&loc->public_url, spec, loc->prefix,
                                    parent ? parent->public_url : NULL, where)) != GBX_OK)
        goto fail;
    json_t *auth = json_object_get(spec, "auth");
    if (!auth && parent) {
        loc->auth = parent->auth;
    } else {
        if ((e = gbx_gw_auth_new(&loc->own_auth, auth, base_dir, where)) != GBX_OK) goto fail;
        loc->auth = loc->own_auth;
    }
    if ((e = gbx_gw_callback_location_load(&loc->callback, spec, base_dir, where)) != GBX_OK) goto fail;
    return GBX_OK;
fail:
    gbx_gw_location_clear(loc);
    return e;
}

void gbx_gw_config_free(gbx_gw_config *cfg) {
    if (!cfg) return;
    free(cfg->dashboard.path);
    free(cfg->dashboard.dir);
    for (size_t i = 0; i < cfg->nlocations; i++) gbx_gw_location_clear(&cfg->locations[i]);
    free(cfg->locations);
    free(cfg->listen_address);
    gbx_gw_listeners_free(cfg->listeners, cfg->nlisteners);
    gbx_gw_server_names_free(cfg->server_names, cfg->nserver_names);
    free(cfg->gearman_servers);
    free(cfg->log_level);
    free(cfg->log_file);
    free(cfg->pid_file);
    free(cfg->metrics.path);
    free(cfg->metrics.listen_address);
    gbx_gw_callback_settings_free(cfg->callbacks);
    gbx_config_free(cfg->cfg);
    free(cfg);
}

/* An integer setting that may also be written as a string (so that
 * "${GEARBOX_PORT:-4080}" works). */
static gbx_err get_int(long long *out, const gbx_config *cfg, const char *key, long long dflt,
                       long long min, long long max) {
    json_t *v = gbx_config_get(cfg, key);
    *out = dflt;
    if (!v) return GBX_OK;
    long long n;
    if (!gbx_gw_json_int(&n, v)) {
        if (json_is_string(v))
            return gbx_error_set(GBX_ERR_BAD_REQUEST, "\"%s\" must be an integer, not \"%s\"", key,
                                 json_string_value(v));
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "\"%s\" must be an integer", key);
    }
    if (n < min || n > max)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "\"%s\" must be between %lld and %lld (got %lld)",
                             key, min, max, n);
    *out = n;
    return GBX_OK;
}

static gbx_err get_seconds(double *out, const gbx_config *cfg, const char *key, double dflt) {
    json_t *v = gbx_config_get(cfg, key);
    *out = dflt;
    if (!v) return GBX_OK;
    if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 86400)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "\"%s\" must be seconds between 0 and 86400", key);
    *out = json_number_value(v);
    return GBX_OK;
}

gbx_err gbx_gw_config_int(long long *out, const gbx_config *cfg, const char *key, long long dflt,
                          long long min, long long max) {
    return get_int(out, cfg, key, dflt, min, max);
}

gbx_err gbx_gw_config_seconds(double *out, const gbx_config *cfg, const char *key, double dflt) {
    return get_seconds(out, cfg, key, dflt);
}

static gbx_err get_opt_string(char **out, const gbx_config *cfg, const char *key) {
    json_t *v = gbx_config_get(cfg, key);
    *out = NULL;
    if (!v || json_is_null(v)) return GBX_OK;
    if (!json_is_string(v) || !*json_string_value(v))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "\"%s\" must be a non-empty string", key);
    *out = strdup(json_string_value(v));
    return *out ? GBX_OK : gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
}

/* The "metrics" section: the operator endpoints (docs/metrics.md). */
static gbx_err load_metrics(gbx_gw_config *c) {
    gbx_gw_metrics_config *m = &c->metrics;
    m->enabled = true;
    m->cache_seconds = 5;
    m->worker_stale_seconds = 60;
    json_t *section = gbx_config_get(c->cfg, "metrics");
    if (section && !json_is_object(section))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "\"metrics\" must be an object");
    static const char *const known[] = {"enabled", "path", "listen", "cache_seconds",
                                        "worker_stale_seconds", "publish_seconds"};
    const char *key;
    json_t *val;
    json_object_foreach(section, key, val) {
        bool ok = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            if (strcmp(key, known[i]) == 0) ok = true;
        if (!ok) return gbx_error_set(GBX_ERR_BAD_REQUEST, "metrics: unknown key \"%s\"", key);
    }
    json_t *enabled = json_object_get(section, "enabled");
    if (enabled && !json_is_boolean(enabled))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "\"metrics.enabled\" must be true or false");
    m->enabled = !enabled || json_is_true(enabled);
    const char *path = gbx_config_get_string(c->cfg, "metrics.path", "/metrics");
    if (!json_is_string(json_object_get(section, "path")) && json_object_get(section, "path"))
        path = NULL;
    if (!path || path[0] != '/' || strpbrk(path, "?#% \t") || strcmp(path, "/healthz") == 0 ||
        strcmp(path, "/readyz") == 0)
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "\"metrics.path\" must be a path starting with '/' (not /healthz "
                             "or /readyz)");
    if (!(m->path = strdup(path))) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    gbx_err e;
    if ((e = get_seconds(&m->cache_seconds, c->cfg, "metrics.cache_seconds", 5)) != GBX_OK) return e;
    if ((e = get_seconds(&m->worker_stale_seconds, c->cfg, "metrics.worker_stale_seconds", 60)) != GBX_OK)
        return e;
    json_t *listen = json_object_get(section, "listen");
    if (!listen || json_is_null(listen)) return GBX_OK;
    const char *addr = json_string_value(json_object_get(listen, "address"));
    if (!json_is_object(listen) || (json_object_get(listen, "address") && !addr))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "\"metrics.listen\" must be an object "
                             "{\"address\": \"127.0.0.1\", \"port\": 9464}");
    long long port;
    if ((e = get_int(&port, c->cfg, "metrics.listen.port", 9464, 0, 65535)) != GBX_OK) return e;
    m->listen_port = (int)port;
    if (!(m->listen_address = strdup(addr ? addr : "127.0.0.1")))
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    return GBX_OK;
}

static gbx_err load_settings(gbx_gw_config *c) {
    const gbx_config *cfg = c->cfg;
    static const char *const known[] = {
        "listen", "gearman", "status", "max_body_bytes", "threads", "max_connections",
        "connection_timeout", "submit_timeout", "shutdown_grace", "log", "pid_file",
        "locations", "config_dir", "scheduler", "jobs", "handlers", "dashboard", "metrics", "limits",
        "server_names", "rate_limit", "callbacks"};
    const char *key;
    json_t *val;
    json_object_foreach(gbx_config_root(cfg), key, val) {
        bool ok = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            if (strcmp(key, known[i]) == 0) ok = true;
        /* config.d sections are objects named after their files. */
        if (!ok && !json_is_object(val))
            return gbx_error_set(GBX_ERR_BAD_REQUEST, "unknown key \"%s\"", key);
    }
    long long n;
    gbx_err e;
    if ((e = gbx_gw_listeners_load(&c->listeners, &c->nlisteners, cfg, DEFAULT_PORT)) != GBX_OK ||
        (e = gbx_gw_server_names_load(&c->server_names, &c->nserver_names, cfg)) != GBX_OK)
        return e;
    if (!(c->listen_address = strdup(c->listeners[0].address)))
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    c->port = c->listeners[0].port;
    if ((e = get_int(&n, cfg, "max_body_bytes", DEFAULT_MAX_BODY, 1, (long long)1 << 40)) != GBX_OK)
        return e;
    c->max_body_bytes = (size_t)n;
    if ((e = get_int(&n, cfg, "threads", DEFAULT_THREADS, 1, 1024)) != GBX_OK) return e;
    c->threads = (unsigned)n;
    if ((e = get_int(&n, cfg, "max_connections", DEFAULT_MAX_CONNECTIONS, 16, 1000000)) != GBX_OK)
        return e;
    c->max_connections = (unsigned)n;
    if ((e = get_int(&n, cfg, "connection_timeout", 0, 0, 86400)) != GBX_OK) return e;
    c->connection_timeout = (unsigned)n;
    if ((e = get_seconds(&c->submit_timeout, cfg, "submit_timeout", DEFAULT_SUBMIT_TIMEOUT)) != GBX_OK)
        return e;
    if (c->submit_timeout <= 0) c->submit_timeout = DEFAULT_SUBMIT_TIMEOUT;
    if ((e = get_seconds(&c->shutdown_grace, cfg, "shutdown_grace", DEFAULT_SHUTDOWN_GRACE)) != GBX_OK)
        return e;
    if ((e = gbx_gw_limits_load(&c->limits, cfg)) != GBX_OK) return e;

    /* A value the boolean getter cannot read gives back either default. */
    c->scheduler = gbx_config_get_bool(cfg, "scheduler", true);
    if (gbx_config_get(cfg, "scheduler") &&
        c->scheduler != gbx_config_get_bool(cfg, "scheduler", false))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "\"scheduler\" must be true or false");
    if ((e = gbx_gw_rate_config_parse(&c->rate_limit, gbx_config_get(cfg, "rate_limit"))) != GBX_OK)
        return e;
    json_t *jobs = gbx_config_get(cfg, "jobs");
    if (jobs && !json_is_object(jobs))
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "\"jobs\" must be an object (the job manager's settings)");

    if (gbx_config_gearman_servers(&c->gearman_servers, cfg) != GBX_OK)
        return gbx_gw_error_wrap(GBX_ERR_BAD_REQUEST, "\"gearman\"");

    json_t *status = gbx_config_get(cfg, "status");
    if (!json_is_object(status))
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "\"status\" (the status store, e.g. {\"type\": \"sqlite\", \"path\": "
                             "\"state/status.db\"}) is missing or not an object");

    if ((e = gbx_gw_callback_settings_load(&c->callbacks, cfg)) != GBX_OK) return e;

    json_t *log = gbx_config_get(cfg, "log");
    if (log && !json_is_object(log))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "\"log\" must be an object {\"level\", \"file\"}");
    if ((e = get_opt_string(&c->log_level, cfg, "log.level")) != GBX_OK) return e;
    if (c->log_level && gbx_log_level_from_name(c->log_level) < 0)
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "\"log.level\" must be debug, info, warn or error, not \"%s\"", c->log_level);
    if (gbx_config_get(cfg, "log.file")) {
        if (gbx_config_get_path(&c->log_file, cfg, "log.file", NULL) != GBX_OK ||
            !json_is_string(gbx_config_get(cfg, "log.file")))
            return gbx_error_set(GBX_ERR_BAD_REQUEST, "\"log.file\" must be a path");
    }
    if (gbx_config_get(cfg, "pid_file")) {
        if (gbx_config_get_path(&c->pid_file, cfg, "pid_file", NULL) != GBX_OK ||
            !json_is_string(gbx_config_get(cfg, "pid_file")))
            return gbx_error_set(GBX_ERR_BAD_REQUEST, "\"pid_file\" must be a path");
    }
    return load_metrics(c);
}

/* ---- the "dashboard" section (docs/dashboard.md) ---- */

#define DEFAULT_DASHBOARD_PATH "/_gearbox"

static gbx_err load_dashboard(gbx_gw_config *c) {
    gbx_gw_dashboard_config *d = &c->dashboard;
    json_t *section = gbx_config_get(c->cfg, "dashboard");
    if (section && !json_is_object(section))
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "\"dashboard\" must be an object {\"enabled\", \"path\", \"dir\"}");
    const char *key;
    json_t *val;
    json_object_foreach(section, key, val) {
        if (strcmp(key, "enabled") != 0 && strcmp(key, "path") != 0 && strcmp(key, "dir") != 0)
            return gbx_error_set(GBX_ERR_BAD_REQUEST,
                                 "\"dashboard\": unknown key \"%s\" (known: enabled, path, dir)", key);
    }
    d->enabled = gbx_config_get_bool(c->cfg, "dashboard.enabled", true);
    if (json_object_get(section, "enabled") &&
        d->enabled != gbx_config_get_bool(c->cfg, "dashboard.enabled", false))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "\"dashboard.enabled\" must be true or false");
    json_t *path = json_object_get(section, "path");
    if (path && !json_is_string(path))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "\"dashboard.path\" must be a path such as \"/_gearbox\"");
    if (gbx_gw_normalize_prefix(&d->path, path ? json_string_value(path) : DEFAULT_DASHBOARD_PATH) != GBX_OK)
        return gbx_gw_error_wrap(GBX_ERR_BAD_REQUEST, "\"dashboard.path\"");
    if (!d->path[0])
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "\"dashboard.path\" cannot be \"/\": the dashboard needs a path of its own");
    if (json_object_get(section, "dir")) {
        struct stat st;
        if (gbx_config_get_path(&d->dir, c->cfg, "dashboard.dir", NULL) != GBX_OK ||
            !json_is_string(json_object_get(section, "dir")))
            return gbx_error_set(GBX_ERR_BAD_REQUEST, "\"dashboard.dir\" must be a directory path");
        if (stat(d->dir, &st) != 0 || !S_ISDIR(st.st_mode))
            return gbx_error_set(GBX_ERR_BAD_REQUEST, "\"dashboard.dir\" \"%s\" is not a directory",
                                 d->dir);
    }
    /* A location at or below the dashboard's path would never be reached. */
    for (size_t i = 0; d->enabled && i < c->nlocations; i++) {
        const char *p = c->locations[i].path;
        size_t n = strlen(d->path);
        if (strncmp(p, d->path, n) == 0 && (p[n] == '\0' || p[n] == '/'))
            return gbx_error_set(GBX_ERR_BAD_REQUEST,
                                 "location \"%s\" is inside the dashboard's path \"%s\": move one "
                                 "(\"dashboard\": {\"path\": ...}) or turn the dashboard off",
                                 p, d->path);
    }
    return GBX_OK;
}

static const char *shown(const char *path) { return path[0] ? path : "/"; }

/* The location a nested location at `path` sits below: the one at its
 * prefix (never itself nested), or NULL. */
static const gbx_gw_location *parent_of(const gbx_gw_config *c, const char *path) {
    size_t len = gbx_gw_prefix_length(path);
    if (len == strlen(path)) return NULL;
    for (size_t k = 0; k < c->nlocations; k++) {
        const gbx_gw_location *p = &c->locations[k];
        if (p->path && !p->parent && strlen(p->path) == len && strncmp(p->path, path, len) == 0)
            return p;
    }
    return NULL;
}

/* Locations that share a prefix share its status scope and base URIs, so
 * they must be one service: one component. */
static gbx_err check_shared_prefixes(const gbx_gw_config *c) {
    for (size_t i = 0; i < c->nlocations; i++) {
        const gbx_gw_location *a = &c->locations[i];
        for (size_t k = 0; k < i; k++) {
            const gbx_gw_location *b = &c->locations[k];
            if (strcmp(a->path, b->path) == 0)
                return gbx_error_set(GBX_ERR_BAD_REQUEST,
                                     "locations[%zu] and locations[%zu] have the same prefix \"%s\"", k,
                                     i, shown(a->path));
            if (strcmp(a->prefix, b->prefix) == 0 && strcmp(a->component, b->component) != 0)
                return gbx_error_set(GBX_ERR_BAD_REQUEST,
                                     "location \"%s\" (component \"%s\") and location \"%s\" "
                                     "(component \"%s\") share the prefix \"%s\": one prefix "
                                     "serves one component",
                                     shown(b->path), b->component, shown(a->path), a->component,
                                     shown(a->prefix));
        }
    }
    return GBX_OK;
}

static gbx_err load_locations(gbx_gw_config *c) {
    json_t *locs = gbx_config_get(c->cfg, "locations");
    if (!json_is_array(locs) || json_array_size(locs) == 0)
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "\"locations\" must be a non-empty array of {\"prefix\", \"config\", ...}");
    size_t n = json_array_size(locs);
    c->locations = calloc(n, sizeof *c->locations);
    if (!c->locations) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    /* All entries are valid (empty ones free nothing), so that a nested
     * location may come before its parent in the file: the locations that
     * are not nested are loaded first. */
    c->nlocations = n;
    for (int nested = 0; nested <= 1; nested++) {
        for (size_t i = 0; i < n; i++) {
            json_t *spec = json_array_get(locs, i);
            const char *path = json_string_value(json_object_get(spec, "prefix"));
            bool is_nested = path && gbx_gw_prefix_length(path) < strlen(path);
            if (is_nested != (nested == 1)) continue;
            char *normal = NULL;
            const gbx_gw_location *parent = NULL;
            if (nested && gbx_gw_normalize_prefix(&normal, path) == GBX_OK)
                parent = parent_of(c, normal);
            free(normal);
            gbx_err e = gbx_gw_location_init(&c->locations[i], spec, gbx_config_dir(c->cfg), i, parent);
            if (e != GBX_OK) return e;
        }
    }
    return check_shared_prefixes(c);
}

gbx_err gbx_gw_config_load(gbx_gw_config **out, const char *path) {
    *out = NULL;
    gbx_gw_config *c = calloc(1, sizeof *c);
    if (!c) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    gbx_err e = gbx_config_load(&c->cfg, path);
    if (e != GBX_OK) {
        e = GBX_ERR_BAD_REQUEST;  /* the message names the file already */
    } else if ((e = load_settings(c)) != GBX_OK || (e = load_locations(c)) != GBX_OK ||
               (e = load_dashboard(c)) != GBX_OK) {
        e = gbx_gw_error_wrap(GBX_ERR_BAD_REQUEST, "%s", path);
    }
    if (e != GBX_OK) {
        gbx_gw_config_free(c);
        return e;
    }
    /* Idle connections must outlive the longest sync wait. */
    if (c->connection_timeout == 0) {
        double longest = 0;
        for (size_t i = 0; i < c->nlocations; i++)
            if (c->locations[i].timeout > longest) longest = c->locations[i].timeout;
        c->connection_timeout = (unsigned)ceil(longest) + 60;
    }
    *out = c;
    return GBX_OK;
}
