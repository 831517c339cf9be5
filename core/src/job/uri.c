/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* uri.c - the REST naming convention of DESIGN §3: request paths, matrix
 * arguments, query strings, handler names. */
#include "gearbox/uri.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct gbx_uri {
    char *version;
    char *resource;
    json_t *arguments; /* array of strings */
    json_t *matrix;    /* object of strings */
    json_t *query;     /* object of strings */
};

/* Longest piece of user input quoted back in an error message. */
#define QUOTE_MAX 200
#define QUOTE(len) ((int)((len) < QUOTE_MAX ? (len) : QUOTE_MAX))

static gbx_err oom(void) { return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory"); }

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Percent-decodes s[0..len); with `plus_is_space` a '+' becomes ' ' (query
 * strings, as HTML forms send them). */
static gbx_err decode(char **out, const char *s, size_t len, bool plus_is_space) {
    *out = NULL;
    char *buf = malloc(len + 1);
    if (!buf) return oom();
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            if (len - i < 3 || hex_value(s[i + 1]) < 0 || hex_value(s[i + 2]) < 0) {
                free(buf);
                return gbx_error_set(GBX_ERR_BAD_REQUEST, "Malformed percent-encoding in \"%.*s\"",
                                     QUOTE(len), s);
            }
            char v = (char)(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
            if (v == '\0') {
                free(buf);
                return gbx_error_set(GBX_ERR_BAD_REQUEST, "Encoded NUL byte in \"%.*s\"",
                                     QUOTE(len), s);
            }
            buf[o++] = v;
            i += 2;
        } else if (c == '+' && plus_is_space) {
            buf[o++] = ' ';
        } else {
            buf[o++] = c;
        }
    }
    buf[o] = '\0';
    *out = buf;
    return GBX_OK;
}

gbx_err gbx_uri_decode(char **out, const char *s, size_t len) {
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_uri_decode: out is NULL");
    *out = NULL;
    if (!s && len) return gbx_error_set(GBX_ERR_BAD_REQUEST, "gbx_uri_decode: no input");
    if (memchr(s ? s : "", '\0', len))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "NUL byte in URI");
    return decode(out, s ? s : "", len, false);
}

gbx_err gbx_uri_encode(char **out, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_uri_encode: out is NULL");
    *out = NULL;
    if (!s) s = "";
    size_t len = strlen(s);
    char *buf = malloc(len * 3 + 1);
    if (!buf) return oom();
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (is_alnum((char)*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            buf[o++] = (char)*p;
        } else {
            buf[o++] = '%';
            buf[o++] = hex[*p >> 4];
            buf[o++] = hex[*p & 15];
        }
    }
    buf[o] = '\0';
    *out = buf;
    return GBX_OK;
}

/* "v" followed by one or more digits. */
static bool is_version(const char *s, size_t len) {
    if (len < 2 || s[0] != 'v') return false;
    for (size_t i = 1; i < len; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

static bool is_name(const char *s, size_t len) {
    if (len == 0) return false;
    for (size_t i = 0; i < len; i++)
        if (!is_alnum(s[i])) return false;
    return true;
}

/* Decodes key and value and stores them in `obj` (a repeated key keeps its
 * last value). */
static gbx_err put_pair(json_t *obj, const char *key, size_t key_len, const char *val,
                        size_t val_len, bool plus_is_space) {
    char *k, *v;
    gbx_err rc = decode(&k, key, key_len, plus_is_space);
    if (rc) return rc;
    rc = decode(&v, val, val_len, plus_is_space);
    if (rc) {
        free(k);
        return rc;
    }
    json_t *jv = json_string(v);
    if (!jv) {
        rc = gbx_error_set(GBX_ERR_BAD_REQUEST, "URI parameter \"%.*s\" is not valid UTF-8",
                           QUOTE(key_len), key);
    } else if (json_object_set_new(obj, k, jv) != 0) {
        rc = gbx_error_set(GBX_ERR_BAD_REQUEST, "URI parameter name \"%.*s\" is not valid UTF-8",
                           QUOTE(key_len), key);
    }
    free(k);
    free(v);
    return rc;
}

/* Matrix arguments: `part(;part)*`, each `key=value` or a bare `key` (value
 * "1", as for query parameters).  An empty part or an empty key is an error. */
static gbx_err parse_matrix(json_t *matrix, const char *s, size_t len) {
    const char *end = s + len;
    const char *p = s;
    for (;;) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *part_end = semi ? semi : end;
        size_t part_len = (size_t)(part_end - p);
        const char *eq = memchr(p, '=', part_len);
        size_t key_len = eq ? (size_t)(eq - p) : part_len;
        if (key_len == 0)
            return gbx_error_set(GBX_ERR_BAD_REQUEST, "Malformed matrix argument: \"%.*s\"",
                                 QUOTE(part_len), p);
        gbx_err rc = eq ? put_pair(matrix, p, key_len, eq + 1, (size_t)(part_end - eq - 1), false)
                        : put_pair(matrix, p, key_len, "1", 1, false);
        if (rc) return rc;
        if (!semi) return GBX_OK;
        p = semi + 1;
    }
}

/* Query parameters, split on '&' and ';'.  Empty parts ("a=1&&b=2", a
 * trailing '&') are skipped as browsers produce them; an empty key ("=v") is
 * an error. */
static gbx_err parse_query(json_t *query, const char *s) {
    const char *p = s;
    while (*p) {
        size_t part_len = strcspn(p, "&;");
        if (part_len > 0) {
            const char *eq = memchr(p, '=', part_len);
            size_t key_len = eq ? (size_t)(eq - p) : part_len;
            if (key_len == 0)
                return gbx_error_set(GBX_ERR_BAD_REQUEST, "Malformed query parameter: \"%.*s\"",
                                     QUOTE(part_len), p);
            gbx_err rc = eq ? put_pair(query, p, key_len, eq + 1, part_len - key_len - 1, true)
                            : put_pair(query, p, key_len, "1", 1, true);
            if (rc) return rc;
        }
        p += part_len;
        if (*p) p++;
    }
    return GBX_OK;
}

/* Walks the '/'-separated segments of path[0..len): the version, the
 * resource, then the arguments.  Empty segments (a doubled or trailing '/')
 * are skipped. */
static gbx_err parse_segments(gbx_uri *uri, const char *path, size_t len) {
    const char *end = path + len;
    const char *p = path;
    int index = 0;
    while (p < end) {
        if (*p == '/') {
            p++;
            continue;
        }
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *seg_end = slash ? slash : end;
        size_t seg_len = (size_t)(seg_end - p);
        if (index == 0) {
            if (!is_version(p, seg_len))
                return gbx_error_set(GBX_ERR_BAD_REQUEST, GBX_URI_ERR_VERSION);
            uri->version = strndup(p, seg_len);
            if (!uri->version) return oom();
        } else {
            char *seg;
            gbx_err rc = decode(&seg, p, seg_len, false);
            if (rc) return rc;
            if (index == 1) {
                if (!is_name(seg, strlen(seg))) {
                    rc = gbx_error_set(GBX_ERR_BAD_REQUEST,
                                       "Invalid resource name: \"%.*s\" (letters and digits only)",
                                       QUOTE(strlen(seg)), seg);
                    free(seg);
                    return rc;
                }
                uri->resource = seg;
            } else {
                json_t *arg = json_string(seg);
                free(seg);
                if (!arg)
                    return gbx_error_set(GBX_ERR_BAD_REQUEST,
                                         "URI argument \"%.*s\" is not valid UTF-8", QUOTE(seg_len), p);
                if (json_array_append_new(uri->arguments, arg) != 0) return oom();
            }
        }
        index++;
        p = seg_end;
    }
    if (index == 0) return gbx_error_set(GBX_ERR_BAD_REQUEST, GBX_URI_ERR_VERSION);
    if (index == 1) return gbx_error_set(GBX_ERR_BAD_REQUEST, GBX_URI_ERR_NO_RESOURCE);
    return GBX_OK;
}

gbx_err gbx_uri_parse(gbx_uri **out, const char *path, const char *query) {
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_uri_parse: out is NULL");
    *out = NULL;
    if (!path) path = "";
    gbx_uri *uri = calloc(1, sizeof *uri);
    if (!uri) return oom();
    uri->arguments = json_array();
    uri->matrix = json_object();
    uri->query = json_object();
    if (!uri->arguments || !uri->matrix || !uri->query) {
        gbx_uri_free(uri);
        return oom();
    }
    /* The matrix part is everything after the first ';' of the path, so its
     * values may contain '/'. */
    const char *semi = strchr(path, ';');
    size_t path_len = semi ? (size_t)(semi - path) : strlen(path);
    gbx_err rc = parse_segments(uri, path, path_len);
    if (!rc && semi) rc = parse_matrix(uri->matrix, semi + 1, strlen(semi + 1));
    if (!rc && query) rc = parse_query(uri->query, query);
    if (rc) {
        gbx_uri_free(uri);
        return rc;
    }
    *out = uri;
    return GBX_OK;
}

void gbx_uri_free(gbx_uri *uri) {
    if (!uri) return;
    free(uri->version);
    free(uri->resource);
    json_decref(uri->arguments);
    json_decref(uri->matrix);
    json_decref(uri->query);
    free(uri);
}

const char *gbx_uri_version(const gbx_uri *uri) { return uri ? uri->version : NULL; }
const char *gbx_uri_resource(const gbx_uri *uri) { return uri ? uri->resource : NULL; }
json_t *gbx_uri_arguments(const gbx_uri *uri) { return uri ? uri->arguments : NULL; }
json_t *gbx_uri_matrix(const gbx_uri *uri) { return uri ? uri->matrix : NULL; }
json_t *gbx_uri_query(const gbx_uri *uri) { return uri ? uri->query : NULL; }

const char *gbx_operation_for_method(const char *method, bool has_arguments) {
    if (!method) return NULL;
    if (strcasecmp(method, "GET") == 0 || strcasecmp(method, "HEAD") == 0) return "get";
    if (strcasecmp(method, "DELETE") == 0) return "delete";
    if (strcasecmp(method, "PUT") == 0) return "create";
    if (strcasecmp(method, "POST") == 0) return has_arguments ? "update" : "create";
    return NULL;
}

/* Method names in handler names: letters only, lower-cased. */
static bool is_method(const char *s, size_t len) {
    if (len == 0) return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z'))) return false;
    return true;
}

gbx_err gbx_handler_name(char **out, const char *method, const char *component,
                         const char *resource, const char *version) {
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_handler_name: out is NULL");
    *out = NULL;
    if (!method || !is_method(method, strlen(method)))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "invalid method \"%s\" for a handler name",
                             method ? method : "(null)");
    if (!component || !is_name(component, strlen(component)))
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "invalid component name \"%s\" (letters and digits only)",
                             component ? component : "(null)");
    if (!resource || !is_name(resource, strlen(resource)))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "Invalid resource name: \"%s\" (letters and digits only)",
                             resource ? resource : "(null)");
    if (!version || !is_version(version, strlen(version)))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, GBX_URI_ERR_VERSION);
    const char *m = strcasecmp(method, "HEAD") == 0 ? "get" : method;
    int n = snprintf(NULL, 0, "do_%s_%s_%s_%s", m, component, resource, version);
    char *name = malloc((size_t)n + 1);
    if (!name) return oom();
    snprintf(name, (size_t)n + 1, "do_%s_%s_%s_%s", m, component, resource, version);
    for (size_t i = 3; name[i] != '_'; i++)
        if (name[i] >= 'A' && name[i] <= 'Z') name[i] = (char)(name[i] - 'A' + 'a');
    *out = name;
    return GBX_OK;
}

/* Copies s[0..len) into dst[size] if it fits. */
static bool copy_part(char *dst, size_t size, const char *s, size_t len) {
    if (len >= size) return false;
    memcpy(dst, s, len);
    dst[len] = '\0';
    return true;
}

gbx_err gbx_handler_parse(gbx_handler_parts *out, const char *name) {
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_handler_parse: out is NULL");
    memset(out, 0, sizeof *out);
    if (!name || strncmp(name, "do_", 3) != 0)
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "invalid handler name \"%s\" (expected do_<method>_<component>_<resource>_<version>)",
                             name ? name : "(null)");
    const char *parts[4];
    size_t lens[4];
    const char *p = name + 3;
    for (int i = 0; i < 4; i++) {
        const char *us = strchr(p, '_');
        if ((i < 3) != (us != NULL)) goto bad; /* exactly three more '_' */
        parts[i] = p;
        lens[i] = us ? (size_t)(us - p) : strlen(p);
        p = us ? us + 1 : p + lens[i];
    }
    if (!is_method(parts[0], lens[0]) || !is_name(parts[1], lens[1]) ||
        !is_name(parts[2], lens[2]) || !is_version(parts[3], lens[3]))
        goto bad;
    if (!copy_part(out->method, sizeof out->method, parts[0], lens[0]) ||
        !copy_part(out->component, sizeof out->component, parts[1], lens[1]) ||
        !copy_part(out->resource, sizeof out->resource, parts[2], lens[2]) ||
        !copy_part(out->version, sizeof out->version, parts[3], lens[3]))
        goto bad;
    for (char *c = out->method; *c; c++)
        if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
    return GBX_OK;
bad:
    memset(out, 0, sizeof *out);
    return gbx_error_set(GBX_ERR_BAD_REQUEST,
                         "invalid handler name \"%.*s\" (expected do_<method>_<component>_<resource>_<version>)",
                         QUOTE(strlen(name)), name);
}
