/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* config.c - configuration files: JSON with comments, ${VAR} expansion from
 * the environment, config.d sections, typed getters. */
#include "gearbox/config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gearbox/json.h"

struct gbx_config {
    json_t *root;
    char *dir;  /* absolute when loaded from a file */
    char *file; /* the file loaded, for messages; NULL from gbx_config_from_json */
};

static gbx_err oom(void) { return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory"); }

/* Copies the thread's last error message, so that a new one can quote it. */
static void last_message(char *buf, size_t size) { snprintf(buf, size, "%s", gbx_error_last()->message); }

/* ---- ${VAR} expansion ---- */

/* A growing string. */
typedef struct {
    char *s;
    size_t len, cap;
} strbuf;

static bool sb_put(strbuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1) cap *= 2;
        char *bigger = realloc(b->s, cap);
        if (!bigger) return false;
        b->s = bigger;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
    return true;
}

/* Where a string sits in the document ("gearman.servers[0]"), for messages. */
typedef struct {
    const char *file;
    const char *where;
} expand_ctx;

static bool is_var_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
static bool is_var_char(char c) { return is_var_start(c) || (c >= '0' && c <= '9'); }

static gbx_err expand_error(const expand_ctx *ctx, const char *fmt, const char *arg) {
    char what[300];
    snprintf(what, sizeof what, fmt, arg);
    return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "%s: %s (at %s)", ctx->file, what,
                         ctx->where[0] ? ctx->where : "top level");
}

/* Expands s[*pos..len) into `b` up to an unmatched '}' when `in_default`
 * (the default of an enclosing ${VAR:-...}), else to the end.  Shell rules:
 * ${VAR} must be set (an empty value is fine), ${VAR:-dflt} uses dflt when
 * VAR is unset or empty, $$ is a literal '$', any other '$' is kept. */
static gbx_err expand_into(strbuf *b, const char *s, size_t len, size_t *pos, bool in_default,
                           const expand_ctx *ctx) {
    size_t i = *pos;
    while (i < len) {
        char c = s[i];
        if (in_default && c == '}') break;
        if (c != '$' || i + 1 >= len || (s[i + 1] != '$' && s[i + 1] != '{')) {
            if (!sb_put(b, &c, 1)) return oom();
            i++;
            continue;
        }
        if (s[i + 1] == '$') {
            if (!sb_put(b, "$", 1)) return oom();
            i += 2;
            continue;
        }
        /* ${NAME} or ${NAME:-default} */
        size_t name_start = i + 2, j = name_start;
        if (j >= len || !is_var_start(s[j])) {
            char bad[64];
            snprintf(bad, sizeof bad, "%.40s", s + i);
            return expand_error(ctx, "invalid variable reference \"%s\"", bad);
        }
        while (j < len && is_var_char(s[j])) j++;
        char name[256];
        if (j - name_start >= sizeof name) return expand_error(ctx, "variable name too long: %s", "");
        memcpy(name, s + name_start, j - name_start);
        name[j - name_start] = '\0';
        const char *value = getenv(name);
        if (j + 1 < len && s[j] == ':' && s[j + 1] == '-') {
            /* The default is expanded (it may hold ${...} itself) even when
             * unused, so that a broken default is always reported. */
            strbuf dflt = {0};
            size_t k = j + 2;
            gbx_err rc = expand_into(&dflt, s, len, &k, true, ctx);
            if (rc) {
                free(dflt.s);
                return rc;
            }
            if (k >= len) {
                free(dflt.s);
                return expand_error(ctx, "unterminated \"${%s\"", name);
            }
            bool ok = (value && *value) ? sb_put(b, value, strlen(value))
                                        : sb_put(b, dflt.s ? dflt.s : "", dflt.len);
            free(dflt.s);
            if (!ok) return oom();
            i = k + 1;
        } else if (j < len && s[j] == '}') {
            if (!value) return expand_error(ctx, "environment variable %s is not set", name);
            if (!sb_put(b, value, strlen(value))) return oom();
            i = j + 1;
        } else {
            return expand_error(ctx, j < len ? "invalid variable reference \"${%s...\"" : "unterminated \"${%s\"",
                                name);
        }
    }
    *pos = i;
    return GBX_OK;
}

/* The expanded text of one string value; NULL in *out when nothing changed. */
static gbx_err expand_string(json_t **out, json_t *str, const expand_ctx *ctx) {
    *out = NULL;
    const char *s = json_string_value(str);
    size_t len = json_string_length(str);
    if (!memchr(s, '$', len)) return GBX_OK;
    strbuf b = {0};
    size_t pos = 0;
    gbx_err rc = expand_into(&b, s, len, &pos, false, ctx);
    if (rc) {
        free(b.s);
        return rc;
    }
    *out = json_stringn(b.s ? b.s : "", b.len);
    free(b.s);
    if (!*out) return expand_error(ctx, "expanded value is not valid UTF-8%s", "");
    return GBX_OK;
}

/* Expands every string value below `node` in place; `where` is its path. */
static gbx_err expand_tree(json_t *node, const char *file, const char *where) {
    char child[512];
    if (json_is_object(node)) {
        const char *key;
        json_t *value;
        json_object_foreach(node, key, value) {
            snprintf(child, sizeof child, "%s%s%s", where, where[0] ? "." : "", key);
            if (json_is_string(value)) {
                json_t *expanded;
                expand_ctx ctx = {file, child};
                gbx_err rc = expand_string(&expanded, value, &ctx);
                if (rc) return rc;
                if (expanded && json_object_set_new(node, key, expanded) != 0) return oom();
            } else {
                gbx_err rc = expand_tree(value, file, child);
                if (rc) return rc;
            }
        }
    } else if (json_is_array(node)) {
        size_t i;
        json_t *value;
        json_array_foreach(node, i, value) {
            snprintf(child, sizeof child, "%s[%zu]", where, i);
            if (json_is_string(value)) {
                json_t *expanded;
                expand_ctx ctx = {file, child};
                gbx_err rc = expand_string(&expanded, value, &ctx);
                if (rc) return rc;
                if (expanded && json_array_set_new(node, i, expanded) != 0) return oom();
            } else {
                gbx_err rc = expand_tree(value, file, child);
                if (rc) return rc;
            }
        }
    }
    return GBX_OK;
}

/* Reads one file: comments allowed, variables expanded.  *out: new ref. */
static gbx_err load_expanded(json_t **out, const char *path) {
    *out = NULL;
    /* A file that cannot be opened says so plainly, with the reason. */
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        int e = errno;
        return gbx_error_set(e == ENOENT ? GBX_ERR_NOT_FOUND : GBX_ERR_INTERNAL_SERVER_ERROR,
                             "cannot open config %s: %s", path, strerror(e));
    }
    fclose(probe);
    json_t *doc;
    gbx_err rc = gbx_json_load_file(&doc, path, true);
    if (rc) {
        /* gbx_json_load_file names the path for bad JSON; make sure any
         * other failure does too, and that both say it is a config. */
        char msg[900];
        last_message(msg, sizeof msg);
        size_t n = strlen(path);
        if (strncmp(msg, path, n) == 0 && msg[n] == ':') return gbx_error_set(rc, "config %s", msg);
        return gbx_error_set(rc, "config %s: %s", path, msg);
    }
    rc = expand_tree(doc, path, "");
    if (rc) {
        json_decref(doc);
        char msg[900];
        last_message(msg, sizeof msg);
        return gbx_error_set(rc, "config %s", msg);
    }
    *out = doc;
    return GBX_OK;
}

/* ---- paths ---- */

static char *join_path(const char *dir, const char *rel) {
    if (rel[0] == '/' || !dir || !dir[0]) return strdup(rel);
    size_t n = strlen(dir) + 1 + strlen(rel) + 1;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", rel);
    return p;
}

/* The absolute directory of `path` (its parent, made absolute). */
static char *dir_of(const char *path) {
    char *copy = strdup(path);
    if (!copy) return NULL;
    char *slash = strrchr(copy, '/');
    if (!slash)
        strcpy(copy, ".");
    else if (slash == copy)
        copy[1] = '\0';
    else
        *slash = '\0';
    char *abs = realpath(copy, NULL);
    if (abs) {
        free(copy);
        return abs;
    }
    return copy;
}

/* ---- config.d ---- */

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_conf_suffix(const char *name) {
    size_t n = strlen(name);
    return n > 5 && strcmp(name + n - 5, ".conf") == 0 && name[0] != '.';
}

/* Merges every *.conf of `dir` (sorted by name) into root as sections. */
static gbx_err merge_config_d(json_t *root, const char *dir) {
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) return GBX_OK;
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "config directory %s: %s", dir, strerror(errno));
    }
    char **names = NULL;
    size_t count = 0, cap = 0;
    gbx_err rc = GBX_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!has_conf_suffix(e->d_name)) continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            char **bigger = realloc(names, cap * sizeof *names);
            if (!bigger) {
                rc = oom();
                break;
            }
            names = bigger;
        }
        if (!(names[count] = strdup(e->d_name))) {
            rc = oom();
            break;
        }
        count++;
    }
    closedir(d);
    if (!rc && count) qsort(names, count, sizeof *names, compare_names);
    for (size_t i = 0; i < count && !rc; i++) {
        char *path = join_path(dir, names[i]);
        if (!path) {
            rc = oom();
            break;
        }
        json_t *section;
        rc = load_expanded(&section, path);
        free(path);
        if (rc) break;
        names[i][strlen(names[i]) - 5] = '\0'; /* "barn.conf" -> "barn" */
        json_t *existing = json_object_get(root, names[i]);
        if (json_is_object(existing) && json_is_object(section)) {
            /* The file's keys override those the main file gave the section. */
            if (json_object_update_recursive(existing, section) != 0) rc = oom();
            json_decref(section);
        } else if (json_object_set_new(root, names[i], section) != 0) {
            rc = oom();
        }
    }
    for (size_t i = 0; i < count; i++) free(names[i]);
    free(names);
    return rc;
}

/* ---- handles ---- */

static gbx_err wrap(gbx_config **out, json_t *root, const char *dir, const char *file) {
    gbx_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) return oom();
    cfg->root = json_incref(root);
    cfg->dir = strdup(dir ? dir : ".");
    cfg->file = file ? strdup(file) : NULL;
    if (!cfg->dir || (file && !cfg->file)) {
        gbx_config_free(cfg);
        return oom();
    }
    *out = cfg;
    return GBX_OK;
}

gbx_err gbx_config_load(gbx_config **out, const char *path) {
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_config_load: out is NULL");
    *out = NULL;
    if (!path || !*path) return gbx_error_set(GBX_ERR_NOT_FOUND, "config: no file given");
    json_t *root;
    gbx_err rc = load_expanded(&root, path);
    if (rc) return rc;
    if (!json_is_object(root)) {
        json_decref(root);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "config %s: not a JSON object", path);
    }
    char *dir = dir_of(path);
    if (!dir) {
        json_decref(root);
        return oom();
    }
    char *sections = NULL;
    json_t *config_dir = json_object_get(root, "config_dir");
    if (config_dir && !json_is_string(config_dir)) {
        rc = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "config %s: config_dir must be a string", path);
    } else {
        sections = join_path(dir, config_dir ? json_string_value(config_dir) : "config.d");
        rc = sections ? merge_config_d(root, sections) : oom();
    }
    if (!rc) rc = wrap(out, root, dir, path);
    free(sections);
    free(dir);
    json_decref(root);
    return rc;
}

gbx_err gbx_config_from_json(gbx_config **out, json_t *root, const char *base_dir) {
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_config_from_json: out is NULL");
    *out = NULL;
    if (!json_is_object(root))
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "config: not a JSON object");
    return wrap(out, root, base_dir, NULL);
}

void gbx_config_free(gbx_config *cfg) {
    if (!cfg) return;
    json_decref(cfg->root);
    free(cfg->dir);
    free(cfg->file);
    free(cfg);
}

json_t *gbx_config_root(const gbx_config *cfg) { return cfg ? cfg->root : NULL; }

const char *gbx_config_dir(const gbx_config *cfg) { return cfg ? cfg->dir : NULL; }

json_t *gbx_config_get(const gbx_config *cfg, const char *path) {
    return cfg ? gbx_json_path(cfg->root, path) : NULL;
}

/* ---- typed getters ---- */

const char *gbx_config_get_string(const gbx_config *cfg, const char *path, const char *dflt) {
    json_t *v = gbx_config_get(cfg, path);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

/* The whole of `s`, trimmed of blanks, as a number (env-expanded values such
 * as "4080" are strings). */
static bool parse_ll(const char *s, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno) return false;
    while (*end == ' ' || *end == '\t') end++;
    if (*end) return false;
    *out = v;
    return true;
}

static bool parse_double(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v)) return false;
    while (*end == ' ' || *end == '\t') end++;
    if (*end) return false;
    *out = v;
    return true;
}

long long gbx_config_get_int(const gbx_config *cfg, const char *path, long long dflt) {
    json_t *v = gbx_config_get(cfg, path);
    long long n;
    if (json_is_integer(v)) return (long long)json_integer_value(v);
    if (json_is_real(v)) {
        double d = json_real_value(v);
        return (d == floor(d) && d >= (double)LLONG_MIN && d < (double)LLONG_MAX) ? (long long)d : dflt;
    }
    if (json_is_string(v) && parse_ll(json_string_value(v), &n)) return n;
    return dflt;
}

double gbx_config_get_real(const gbx_config *cfg, const char *path, double dflt) {
    json_t *v = gbx_config_get(cfg, path);
    double d;
    if (json_is_number(v)) return json_number_value(v);
    if (json_is_string(v) && parse_double(json_string_value(v), &d)) return d;
    return dflt;
}

bool gbx_config_get_bool(const gbx_config *cfg, const char *path, bool dflt) {
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    json_t *v = gbx_config_get(cfg, path);
    if (json_is_boolean(v)) return json_is_true(v);
    if (json_is_integer(v)) return json_integer_value(v) != 0;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        for (size_t i = 0; i < 4; i++) {
            if (strcasecmp(s, yes[i]) == 0) return true;
            if (strcasecmp(s, no[i]) == 0) return false;
        }
    }
    return dflt;
}

/* "config <file>: " or "config: " for messages. */
static const char *config_name(const gbx_config *cfg) { return cfg && cfg->file ? cfg->file : "(in memory)"; }

gbx_err gbx_config_get_path(char **out, const gbx_config *cfg, const char *path, const char *dflt) {
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_config_get_path: out is NULL");
    *out = NULL;
    json_t *v = gbx_config_get(cfg, path);
    const char *value = dflt;
    if (v) {
        if (!json_is_string(v) || json_string_length(v) == 0)
            return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "config %s: %s must be a non-empty path string",
                                 config_name(cfg), path);
        value = json_string_value(v);
    }
    if (!value) return GBX_OK;
    *out = join_path(cfg ? cfg->dir : NULL, value);
    return *out ? GBX_OK : oom();
}

/* Appends "host:port" (or a "h1:p1,h2:p2" string) to the list in `b`. */
static gbx_err add_server(strbuf *b, const char *server) {
    if ((b->len && !sb_put(b, ",", 1)) || !sb_put(b, server, strlen(server))) return oom();
    return GBX_OK;
}

/* {"host": h, "port": p}: either may be missing (127.0.0.1, 4730); the port
 * may be a string, as ${VAR} expansion makes it. */
static gbx_err add_host_port(strbuf *b, const gbx_config *cfg, const json_t *obj, const char *where) {
    json_t *host = json_object_get(obj, "host");
    json_t *port = json_object_get(obj, "port");
    if (host && (!json_is_string(host) || json_string_length(host) == 0))
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "config %s: %s.host must be a host name",
                             config_name(cfg), where);
    long long p = 4730;
    bool port_ok = true;
    if (json_is_integer(port))
        p = (long long)json_integer_value(port);
    else if (port)
        port_ok = json_is_string(port) && parse_ll(json_string_value(port), &p);
    if (!port_ok)
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "config %s: %s.port must be a port number",
                             config_name(cfg), where);
    if (p < 1 || p > 65535)
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "config %s: %s.port %lld is out of range",
                             config_name(cfg), where, p);
    char server[600];
    snprintf(server, sizeof server, "%s:%lld", host ? json_string_value(host) : "127.0.0.1", p);
    return add_server(b, server);
}

static gbx_err bad_servers(const gbx_config *cfg, const char *what) {
    return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                         "config %s: %s (expected \"host:port,...\", {\"host\", \"port\"} or "
                         "{\"servers\": [\"host:port\", ...]})",
                         config_name(cfg), what);
}

gbx_err gbx_config_gearman_servers(char **out, const gbx_config *cfg) {
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_config_gearman_servers: out is NULL");
    *out = NULL;
    json_t *g = gbx_config_get(cfg, "gearman");
    strbuf b = {0};
    gbx_err rc = GBX_OK;
    if (!g) {
        rc = add_server(&b, "127.0.0.1:4730");
    } else if (json_is_string(g)) {
        rc = json_string_length(g) ? add_server(&b, json_string_value(g)) : bad_servers(cfg, "gearman is empty");
    } else if (json_is_object(g)) {
        json_t *servers = json_object_get(g, "servers");
        if (!servers) {
            rc = add_host_port(&b, cfg, g, "gearman");
        } else if (json_is_string(servers) && json_string_length(servers)) {
            rc = add_server(&b, json_string_value(servers));
        } else if (json_is_array(servers) && json_array_size(servers)) {
            size_t i;
            json_t *s;
            json_array_foreach(servers, i, s) {
                char where[64];
                snprintf(where, sizeof where, "gearman.servers[%zu]", i);
                if (json_is_string(s) && json_string_length(s))
                    rc = add_server(&b, json_string_value(s));
                else if (json_is_object(s))
                    rc = add_host_port(&b, cfg, s, where);
                else
                    rc = bad_servers(cfg, "gearman.servers holds something that is not a server");
                if (rc) break;
            }
        } else {
            rc = bad_servers(cfg, "gearman.servers is empty or not a list");
        }
    } else {
        rc = bad_servers(cfg, "gearman has the wrong type");
    }
    if (rc) {
        free(b.s);
        return rc;
    }
    *out = b.s;
    return GBX_OK;
}

/* ---- the config path of a worker program ---- */

gbx_err gbx_config_path_from_argv(char **out, int argc, char *const argv[]) {
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_config_path_from_argv: out is NULL");
    *out = NULL;
    const char *prog = argc > 0 && argv && argv[0] && argv[0][0] ? argv[0] : "worker";
    const char *slash = strrchr(prog, '/');
    if (slash && slash[1]) prog = slash + 1;
    const char *path = NULL;
    for (int i = 1; i < argc && argv[i]; i++) {
        const char *value;
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc || !argv[i + 1])
                return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s: --config needs a path after it", prog);
            value = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            value = argv[i] + 9;
        } else {
            continue; /* the program's own arguments */
        }
        if (path)
            return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s: --config given twice (\"%s\" and \"%s\")", prog,
                                 path, value);
        if (!value[0]) return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s: --config needs a path, not \"\"", prog);
        path = value;
    }
    /* Without --config, Gearbox's form: the config is the first argument. */
    if (!path && argc > 1 && argv[1] && argv[1][0] && argv[1][0] != '-') path = argv[1];
    if (!path)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s: no config given: run it as %s CONFIG or %s --config CONFIG",
                             prog, prog, prog);
    return (*out = strdup(path)) ? GBX_OK : oom();
}

gbx_err gbx_config_path_from_args(char **out, const json_t *args) {
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_config_path_from_args: out is NULL");
    *out = NULL;
    if (json_is_string(args)) {
        const char *s = json_string_value(args);
        if (strcmp(s, "--config") == 0)
            return gbx_error_set(GBX_ERR_BAD_REQUEST,
                                 "\"--config\" is an option, not a config file: give the worker the program's "
                                 "arguments (its argv) to take --config CONFIG, or the config's path");
        if (strncmp(s, "--config=", 9) == 0) s += 9;
        if (!s[0]) return gbx_error_set(GBX_ERR_BAD_REQUEST, "no config given: the config path is empty");
        return (*out = strdup(s)) ? GBX_OK : oom();
    }
    if (!json_is_array(args))
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "no config given: a worker takes the config's path or the program's arguments");
    size_t n = json_array_size(args);
    if (n > INT_MAX - 1) return gbx_error_set(GBX_ERR_BAD_REQUEST, "too many arguments");
    const char **argv = calloc(n + 1, sizeof *argv);
    if (!argv) return oom();
    for (size_t i = 0; i < n; i++) {
        argv[i] = json_string_value(json_array_get(args, i));
        if (!argv[i]) {
            free(argv);
            return gbx_error_set(GBX_ERR_BAD_REQUEST, "the program's arguments must be strings (item %zu is not)", i);
        }
    }
    gbx_err rc = gbx_config_path_from_argv(out, (int)n, (char *const *)argv);
    free(argv);
    return rc;
}
