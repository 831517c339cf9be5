/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_check.c - what the gateway knows of each location, and the silent
 * mistakes made loud: schema files no request ever uses, write handlers
 * whose bodies nothing checks, a component writing to another store. */
#include "gw_check.h"

#include <dirent.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gearbox/uri.h"

typedef struct reporter {
    gbx_gw_report_fn fn;
    void *user;
    size_t warnings;
} reporter;

static void say(reporter *rep, bool warning, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(reporter *rep, bool warning, const char *fmt, ...) {
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (warning) rep->warnings++;
    if (rep->fn) rep->fn(rep->user, warning, line);
}

static const char *const operations[] = {"get", "create", "update", "delete"};
#define NOPS (sizeof operations / sizeof operations[0])

static bool is_operation(const char *op) {
    for (size_t i = 0; i < NOPS; i++)
        if (strcmp(op, operations[i]) == 0) return true;
    return false;
}

/* Edit distance of two short names (longer ones are simply "far"). */
static size_t distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 31 || lb > 31) return 99;
    size_t d[32][32];
    for (size_t i = 0; i <= la; i++) d[i][0] = i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

/* The operation a misnamed schema file most likely meant, NULL if none,
 * and why: HTTP methods name their operation, near misses the nearest one. */
static const char *meant_operation(const char *op, const char **why) {
    static const struct { const char *method, *op, *why; } methods[] = {
        {"put", "create", "PUT requests are validated against the create schema"},
        {"post", "create", "POST without arguments uses the create schema, with arguments update"},
        {"head", "get", "HEAD requests are validated against the get schema"},
    };
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcasecmp(op, methods[i].method) == 0) {
            *why = methods[i].why;
            return methods[i].op;
        }
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; i < NOPS; i++) {
        size_t d = distance(op, operations[i]);
        if (d < best_d) best_d = d, best = operations[i];
    }
    *why = "the nearest operation";
    return best;
}

/* The operations whose schemas a handler's method uses (gbx_operation_for_method). */
static size_t operations_of(const char *method, const char *ops[2]) {
    if (strcmp(method, "post") == 0) {
        ops[0] = "create", ops[1] = "update";
        return 2;
    }
    ops[0] = gbx_operation_for_method(method, false);
    return ops[0] ? 1 : 0;
}

static bool routable(const gbx_gw_location *loc, const char *name, gbx_handler_parts *parts) {
    if (gbx_handler_parse(parts, name) != GBX_OK) return false;
    const char *ops[2];
    if (strcmp(parts->method, "head") == 0 || operations_of(parts->method, ops) == 0) return false;
    return strcmp(parts->component, loc->component) == 0 || strcmp(parts->component, "global") == 0;
}

/* handlers: {name: [where it is known from, ...]} */
static void known_from(json_t *handlers, const char *name, const char *source) {
    json_t *sources = json_object_get(handlers, name);
    if (!sources) json_object_set_new(handlers, name, sources = json_array());
    size_t i;
    json_t *s;
    json_array_foreach(sources, i, s) if (strcmp(json_string_value(s), source) == 0) return;
    json_array_append_new(sources, json_string(source));
}

static int strcmp_ptr(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Splits "<operation>-<component>-<resource>-<version>.js" in place. */
static bool split_schema_name(char *name, char *part[4]) {
    size_t len = strlen(name);
    if (len < 3 || strcmp(name + len - 3, ".js") != 0) return false;
    name[len - 3] = '\0';
    for (int i = 0; i < 4; i++) {
        part[i] = name;
        char *dash = strchr(name, '-');
        if (i < 3) {
            if (!dash) return false;
            *dash = '\0';
            name = dash + 1;
        } else if (dash) {
            return false;
        }
        if (!*part[i]) return false;
    }
    return true;
}

/* Reads the location's schema directory: the handlers its files imply, and
 * a warning for each file no request can ever use. */
static void scan_schemas(reporter *rep, const gbx_gw_location *loc, json_t *handlers) {
    DIR *d = opendir(loc->schemadir);
    if (!d) {
        say(rep, true, "  warning: cannot read the schema directory %s", loc->schemadir);
        return;
    }
    char **names = NULL;
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 3 || strcmp(e->d_name + len - 3, ".js") != 0) continue;
        char **more = realloc(names, (n + 1) * sizeof *names);
        if (!more) break;
        names = more;
        if ((names[n] = strdup(e->d_name))) n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, strcmp_ptr);
    for (size_t i = 0; i < n; i++) {
        char copy[NAME_MAX + 1], *part[4];
        snprintf(copy, sizeof copy, "%s", names[i]);
        char *handler = NULL;
        if (!split_schema_name(copy, part) ||
            gbx_handler_name(&handler, "get", part[1], part[2], part[3]) != GBX_OK) {
            say(rep, true, "  warning: schema file %s matches no handler: its name is not "
                "<operation>-<component>-<resource>-<version>.js (e.g. create-%s-<resource>-v1.js)",
                names[i], loc->component);
        } else if (!is_operation(part[0])) {
            const char *why = NULL, *meant = meant_operation(part[0], &why);
            if (meant)
                say(rep, true, "  warning: schema file %s matches no handler: \"%s\" is not an "
                    "operation (get, create, update, delete), so no request is validated against "
                    "it; the right name is %s-%s-%s-%s.js (%s)", names[i], part[0], meant, part[1],
                    part[2], part[3], why);
            else
                say(rep, true, "  warning: schema file %s matches no handler: \"%s\" is not an "
                    "operation (get, create, update, delete), so no request is validated against it",
                    names[i], part[0]);
        } else if (strcmp(part[1], loc->component) != 0 && strcmp(part[1], "global") != 0) {
            say(rep, true, "  warning: schema file %s is for component \"%s\", not this location's "
                "\"%s\": no request here is validated against it", names[i], part[1], loc->component);
        } else {
            /* The handler the file is for: create is PUT's, or POST's when only that is known. */
            const char *method = strcmp(part[0], "get") == 0      ? "get"
                                 : strcmp(part[0], "update") == 0 ? "post"
                                 : strcmp(part[0], "delete") == 0 ? "delete"
                                                                  : "put";
            char *post = NULL, *put = NULL;
            if (strcmp(method, "put") == 0 &&
                gbx_handler_name(&post, "post", part[1], part[2], part[3]) == GBX_OK &&
                gbx_handler_name(&put, "put", part[1], part[2], part[3]) == GBX_OK &&
                json_object_get(handlers, post) && !json_object_get(handlers, put))
                method = "post";
            free(post);
            free(put);
            free(handler);
            handler = NULL;
            if (gbx_handler_name(&handler, method, part[1], part[2], part[3]) == GBX_OK)
                known_from(handlers, handler, "schema file");
        }
        free(handler);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* One line per handler: where it is known from and the schema file each of
 * its operations uses; a warning for a write handler that has none. */
static void report_handler(reporter *rep, const gbx_gw_location *loc, const char *name,
                           const json_t *sources) {
    gbx_handler_parts parts;
    if (gbx_handler_parse(&parts, name) != GBX_OK) return;
    char from[256] = "";
    size_t i;
    json_t *s;
    json_array_foreach(sources, i, s) {
        size_t used = strlen(from);
        snprintf(from + used, sizeof from - used, "%s%s", i ? ", " : "", json_string_value(s));
    }
    const char *ops[2];
    size_t nops = operations_of(parts.method, ops);
    char uses[1024] = "";
    bool any = false;
    for (size_t k = 0; k < nops; k++) {
        const gbx_schema *schema = NULL;
        const char *path = NULL;
        const char *file = "no schema";
        if (loc->schemas) {
            if (gbx_schema_dir_find(&schema, &path, loc->schemas, ops[k], loc->component,
                                    parts.resource, parts.version) != GBX_OK) {
                say(rep, true, "  warning: %s", gbx_error_last()->message);
                file = "an invalid schema";
                any = true; /* reported already */
            } else if (schema) {
                file = base_name(path);
                any = true;
            }
        }
        size_t used = strlen(uses);
        snprintf(uses + used, sizeof uses - used, "%s%s -> %s", k ? ", " : "", ops[k], file);
    }
    say(rep, false, "  %s (%s): %s", name, from, uses);
    if (any || strcmp(parts.method, "get") == 0) return;
    char want[256];
    if (nops == 2)
        snprintf(want, sizeof want, "create-%s-%s-%s.js (POST without arguments) or update-%s-%s-%s.js",
                 loc->component, parts.resource, parts.version, loc->component, parts.resource,
                 parts.version);
    else
        snprintf(want, sizeof want, "%s-%s-%s-%s.js", ops[0], loc->component, parts.resource,
                 parts.version);
    if (loc->schemadir)
        say(rep, true, "  warning: write handler %s has no schema: any JSON body is queued (add %s "
            "to %s)", name, want, loc->schemadir);
    else
        say(rep, true, "  warning: write handler %s has no schema: any JSON body is queued (the "
            "component config has no \"schemadir\"; add one holding %s)", name, want);
}

/* "sqlite /abs/path/status.db" or "mariadb host:port/database" for a store
 * section, paths resolved against the config that holds it, so that two
 * configs can be compared.  Never the password: this is logged. */
static void store_identity(char *out, size_t n, const gbx_config *cfg) {
    const char *type = gbx_config_get_string(cfg, "status.type", "sqlite");
    if (strcmp(type, "sqlite") == 0) {
        char *path = NULL, real[PATH_MAX];
        if (gbx_config_get_path(&path, cfg, "status.path", NULL) == GBX_OK && path) {
            snprintf(out, n, "sqlite %s", realpath(path, real) ? real : path);
            free(path);
            return;
        }
    }
    if (strcmp(type, "mariadb") == 0 || strcmp(type, "mysql") == 0) {
        const char *socket = gbx_config_get_string(cfg, "status.socket", NULL);
        snprintf(out, n, "mariadb %s:%lld/%s",
                 socket ? socket : gbx_config_get_string(cfg, "status.host", "127.0.0.1"),
                 socket ? 0LL : gbx_config_get_int(cfg, "status.port", 3306),
                 gbx_config_get_string(cfg, "status.database", "gearbox"));
        return;
    }
    snprintf(out, n, "%s", type);
}

static void check_store(reporter *rep, const gbx_gw_config *cfg, const gbx_gw_location *loc) {
    if (!gbx_config_get(loc->component_cfg, "status")) return;
    char ours[PATH_MAX + 64], theirs[PATH_MAX + 64];
    store_identity(ours, sizeof ours, cfg->cfg);
    store_identity(theirs, sizeof theirs, loc->component_cfg);
    if (strcmp(ours, theirs) == 0) return;
    say(rep, true, "  warning: the component config %s names the status store %s but the gateway "
        "uses %s: a location must share its component's store, or clients poll statuses that "
        "its workers never update", loc->config_path, theirs, ours);
}

size_t gbx_gw_check_location(const gbx_gw_config *cfg, const gbx_gw_location *loc,
                             const json_t *registered, gbx_gw_report_fn report, void *user) {
    reporter rep = {report, user, 0};
    const char *path = loc->path[0] ? loc->path : "/";
    if (loc->parent) {
        say(&rep, false, "location %s: nested in %s, whose handlers and schemas it uses", path,
            loc->parent->path[0] ? loc->parent->path : "/");
        return 0;
    }
    say(&rep, false, "location %s: component %s (%s), schemas %s%s%s", path, loc->component,
        loc->config_path, loc->schemadir ? loc->schemadir : "none: bodies are not validated",
        loc->schemadir ? ", dialect " : "", loc->schemadir ? gbx_dialect_name(loc->dialect) : "");
    check_store(&rep, cfg, loc);

    json_t *handlers = json_object();
    if (!handlers) return rep.warnings;
    gbx_handler_parts parts;
    for (size_t i = 0; i < loc->nhandlers; i++)
        if (routable(loc, loc->handlers[i], &parts)) known_from(handlers, loc->handlers[i], "config");
    const char *name;
    json_t *workers;
    json_object_foreach((json_t *)registered, name, workers) {
        if (json_integer_value(workers) > 0 && routable(loc, name, &parts))
            known_from(handlers, name, "gearmand");
    }
    if (loc->schemadir) scan_schemas(&rep, loc, handlers);

    size_t n = json_object_size(handlers), k = 0;
    const char **names = calloc(n ? n : 1, sizeof *names);
    if (names) {
        json_t *v;
        json_object_foreach(handlers, name, v) names[k++] = name;
        qsort(names, n, sizeof *names, strcmp_ptr);
        if (n == 0)
            say(&rep, false, "  no handlers known yet (none listed, none registered, no schema files)");
        for (size_t i = 0; i < n; i++)
            report_handler(&rep, loc, names[i], json_object_get(handlers, names[i]));
        free(names);
    }
    json_decref(handlers);
    return rep.warnings;
}

size_t gbx_gw_check(const gbx_gw_config *cfg, const json_t *registered, const char *gearmand_why,
                    gbx_gw_report_fn report, void *user) {
    reporter rep = {report, user, 0};
    if (registered)
        say(&rep, false, "gearmand %s: %zu functions registered", cfg->gearman_servers,
            json_object_size(registered));
    else
        say(&rep, false, "gearmand %s not reachable (%s): the handlers below are those of the "
            "\"handlers\" lists and of the schema files only", cfg->gearman_servers,
            gearmand_why ? gearmand_why : "not asked");
    size_t warnings = 0;
    for (size_t i = 0; i < cfg->nlocations; i++)
        warnings += gbx_gw_check_location(cfg, &cfg->locations[i], registered, report, user);
    return warnings;
}
