/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_dashboard.c - serves the dashboard's files and its info endpoint. */
#include "gw_dashboard.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gearbox/json.h"
#include "gearbox/response.h"
#include "gw_util.h"

#ifndef GBX_GATEWAY_VERSION
#define GBX_GATEWAY_VERSION "0.0.0"
#endif

/* Written by core/embed.cmake from gateway/dashboard/ (gateway/CMakeLists.txt). */
extern const char gbx_embedded_index_html[];
extern const char gbx_embedded_dashboard_css[];
extern const char gbx_embedded_dashboard_js[];

#define API_INFO "api/info"
#define MAX_FILE_BYTES (4u * 1024u * 1024u) /* from dashboard.dir */
/* The page's own files only; the status API of other services (children
 * elsewhere) may be fetched; never framed (its Cancel button). */
#define CSP "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
            "connect-src 'self' http: https:; base-uri 'none'; form-action 'none'; "         \
            "frame-ancestors 'none'"

static const struct {
    const char *ext;
    const char *type;
} content_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
};

const char *gbx_gw_dashboard_content_type(const char *name) {
    const char *dot = name ? strrchr(name, '.') : NULL;
    if (!dot) return NULL;
    for (size_t i = 0; i < sizeof content_types / sizeof content_types[0]; i++)
        if (strcmp(dot, content_types[i].ext) == 0) return content_types[i].type;
    return NULL;
}

static gbx_gw_dashboard_file builtin_files[] = {
    {"index.html", NULL, gbx_embedded_index_html, 0},
    {"dashboard.css", NULL, gbx_embedded_dashboard_css, 0},
    {"dashboard.js", NULL, gbx_embedded_dashboard_js, 0},
};
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

static void builtin_init(void) {
    for (size_t i = 0; i < sizeof builtin_files / sizeof builtin_files[0]; i++) {
        builtin_files[i].content_type = gbx_gw_dashboard_content_type(builtin_files[i].name);
        builtin_files[i].len = strlen(builtin_files[i].data);
    }
}

const gbx_gw_dashboard_file *gbx_gw_dashboard_builtin(const char *name) {
    pthread_once(&builtin_once, builtin_init);
    for (size_t i = 0; name && i < sizeof builtin_files / sizeof builtin_files[0]; i++)
        if (strcmp(builtin_files[i].name, name) == 0) return &builtin_files[i];
    return NULL;
}

gbx_err gbx_gw_dashboard_info(json_t **out, const gbx_gw_config *cfg) {
    *out = NULL;
    json_t *locations = json_array();
    for (size_t i = 0; locations && i < cfg->nlocations; i++) {
        const gbx_gw_location *loc = &cfg->locations[i];
        json_t *item = json_pack("{s:s, s:s, s:s}", "path", loc->path, "prefix", loc->prefix,
                                 "component", loc->component ? loc->component : "");
        if (!item || json_array_append_new(locations, item) != 0) {
            json_decref(locations);
            locations = NULL;
        }
    }
    char dashboard[1024];
    snprintf(dashboard, sizeof dashboard, "%s/", cfg->dashboard.path ? cfg->dashboard.path : "");
    /* The page reads the metrics from its own origin: none when they are
     * off or served on the separate admin listener. */
    const char *metrics = cfg->metrics.enabled && !cfg->metrics.listen_address ? cfg->metrics.path : NULL;
    if (locations)
        *out = json_pack("{s:s, s:s, s:s?, s:o}", "version", GBX_GATEWAY_VERSION, "dashboard_path",
                         dashboard, "metrics_path", metrics, "locations", locations);
    return *out ? GBX_OK : gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
}

/* ---- answers ---------------------------------------------------------------- */

static void common_headers(struct MHD_Response *resp) {
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Content-Security-Policy", CSP);
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
}

static struct MHD_Response *json_response(const json_t *body) {
    char *text = NULL;
    if (gbx_json_dump(&text, body) != GBX_OK) return NULL;
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return NULL;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    common_headers(resp);
    return resp;
}

/* The error body every gateway error has (DESIGN §3). */
static struct MHD_Response *error_response(const char *path, int code, const char *message) {
    json_t *body = NULL;
    if (gbx_error_body(&body, path, "get", code, message) != GBX_OK) return NULL;
    struct MHD_Response *resp = json_response(body);
    json_decref(body);
    return resp;
}

static struct MHD_Response *file_response(unsigned *status, const char *data, size_t len,
                                          const char *type, const char *if_none_match) {
    char etag[GBX_GW_ETAG_SIZE];
    gbx_gw_etag(etag, data, len);
    struct MHD_Response *resp;
    if (gbx_gw_etag_matches(if_none_match, etag)) {
        *status = MHD_HTTP_NOT_MODIFIED;
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    } else {
        *status = MHD_HTTP_OK;
        resp = MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
        if (resp) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    }
    if (!resp) return NULL;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    /* Revalidate every time: an upgraded gateway serves new files at once. */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    common_headers(resp);
    return resp;
}

/* A name the dashboard may serve from its directory: one plain file name,
 * no path, not hidden. */
static bool plain_name(const char *name) {
    if (!name[0] || name[0] == '.') return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Reads `dir`/`name` (a regular file of at most MAX_FILE_BYTES).  *out:
 * malloc'ed; false when it cannot be read. */
static bool read_file(char **out, size_t *len, const char *dir, const char *name) {
    char path[4096];
    *out = NULL;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) return false;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return false;
    struct stat st;
    char *buf = NULL;
    bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= (off_t)MAX_FILE_BYTES &&
              (buf = malloc((size_t)st.st_size + 1)) != NULL;
    size_t got = 0;
    while (ok && got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) ok = false;
        else got += (size_t)n;
    }
    close(fd);
    if (!ok) {
        free(buf);
        return false;
    }
    *out = buf;
    *len = got;
    return true;
}

static struct MHD_Response *serve_file(unsigned *status, const gbx_gw_dashboard_config *d,
                                       const char *path, const char *name, const char *if_none_match) {
    const char *type = gbx_gw_dashboard_content_type(name);
    if (d->dir) {
        char *data = NULL;
        size_t len = 0;
        if (type && plain_name(name) && read_file(&data, &len, d->dir, name)) {
            struct MHD_Response *resp = file_response(status, data, len, type, if_none_match);
            free(data);
            return resp;
        }
    } else {
        const gbx_gw_dashboard_file *f = gbx_gw_dashboard_builtin(name);
        if (f) return file_response(status, f->data, f->len, f->content_type, if_none_match);
    }
    *status = MHD_HTTP_NOT_FOUND;
    return error_response(path, MHD_HTTP_NOT_FOUND, "the dashboard has no such file");
}

bool gbx_gw_dashboard_answer(struct MHD_Response **resp, unsigned *status, const gbx_gw_config *cfg,
                             const char *method_name, const char *path, const char *if_none_match) {
    const gbx_gw_dashboard_config *d = &cfg->dashboard;
    if (!d->enabled || !d->path || !path) return false;
    size_t n = strlen(d->path);
    if (strncmp(path, d->path, n) != 0 || (path[n] != '\0' && path[n] != '/')) return false;
    *resp = NULL;
    bool get = method_name && (strcmp(method_name, "GET") == 0 || strcmp(method_name, "HEAD") == 0);
    if (!get) {
        *status = MHD_HTTP_METHOD_NOT_ALLOWED;
        *resp = error_response(path, MHD_HTTP_METHOD_NOT_ALLOWED, "the dashboard allows GET and HEAD");
        if (*resp) MHD_add_response_header(*resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    } else if (path[n] == '\0') {
        /* The page's relative links need the trailing '/'. */
        char location[1100];
        snprintf(location, sizeof location, "%s/", d->path);
        *status = MHD_HTTP_FOUND;
        *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (*resp) MHD_add_response_header(*resp, MHD_HTTP_HEADER_LOCATION, location);
    } else if (strcmp(path + n + 1, API_INFO) == 0) {
        json_t *info = NULL;
        if (gbx_gw_dashboard_info(&info, cfg) == GBX_OK) *resp = json_response(info);
        json_decref(info);
        *status = MHD_HTTP_OK;
    } else {
        const char *name = path[n + 1] ? path + n + 1 : "index.html";
        *resp = serve_file(status, d, path, name, if_none_match);
    }
    if (!*resp) {
        *status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    return true;
}
