/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_origin.c - public URLs and the Host header (see gw_origin.h). */
#include "gw_origin.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "gw_config.h"
#include "gw_route.h"
#include "gw_tls.h"
#include "gw_util.h"

void gbx_gw_server_names_free(char **names, size_t n) {
    if (!names) return;
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

static void lower(char *s) {
    for (; *s; s++) *s = (char)tolower((unsigned char)*s);
}

gbx_err gbx_gw_server_names_load(char ***out, size_t *n, const gbx_config *cfg) {
    *out = NULL;
    *n = 0;
    json_t *list = gbx_config_get(cfg, "server_names");
    if (!list || json_is_null(list)) return GBX_OK;
    if (!json_is_array(list) || json_array_size(list) == 0)
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "\"server_names\" must be a non-empty array of host names "
                             "(\"api.example.com\", \"api.example.com:8443\")");
    size_t count = json_array_size(list);
    char **names = calloc(count, sizeof *names);
    if (!names) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    for (size_t i = 0; i < count; i++) {
        const char *s = json_string_value(json_array_get(list, i));
        if (!s || !gbx_gw_host_is_valid(s)) {
            gbx_gw_server_names_free(names, count);
            return gbx_error_set(GBX_ERR_BAD_REQUEST,
                                 "server_names[%zu] must be a host name, optionally with :port", i);
        }
        if (!(names[i] = strdup(s))) {
            gbx_gw_server_names_free(names, count);
            return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
        }
        lower(names[i]);
    }
    *out = names;
    *n = count;
    return GBX_OK;
}

gbx_err gbx_gw_public_url_load(char **out, const json_t *spec, const char *prefix,
                               const char *inherited, const char *where) {
    *out = NULL;
    json_t *v = json_object_get(spec, "public_url");
    if (!v || json_is_null(v)) {
        if (inherited && !(*out = strdup(inherited)))
            return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
        return GBX_OK;
    }
    const char *url = json_string_value(v);
    const char *rest = NULL;
    const char *scheme = NULL;
    if (url && strncasecmp(url, "https://", 8) == 0) scheme = "https", rest = url + 8;
    else if (url && strncasecmp(url, "http://", 7) == 0) scheme = "http", rest = url + 7;
    size_t alen = rest ? strcspn(rest, "/") : 0;
    char authority[256] = "";
    if (rest && alen > 0 && alen < sizeof authority) memcpy(authority, rest, alen), authority[alen] = '\0';
    if (!scheme || !gbx_gw_host_is_valid(authority))
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "%s: \"public_url\" must be an http:// or https:// URL such as "
                             "\"https://api.example.com/barn\" (no user, query or fragment)", where);
    lower(authority);
    char *path = NULL;
    const char *p = rest + alen;
    if (*p && strcmp(p, "/") != 0 && gbx_gw_normalize_prefix(&path, p) != GBX_OK)
        return gbx_gw_error_wrap(GBX_ERR_BAD_REQUEST, "%s: \"public_url\"", where);
    const char *tail = path ? path : prefix;
    size_t n = strlen(scheme) + 3 + strlen(authority) + strlen(tail) + 1;
    *out = malloc(n);
    if (*out) snprintf(*out, n, "%s://%s%s", scheme, authority, tail);
    free(path);
    return *out ? GBX_OK : gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
}

/* `ss` as an authority, "address:port" (IPv6 in brackets, IPv4 mapped
 * into IPv6 as IPv4), and its port; false for another family. */
static bool format_address(char *out, size_t len, int *port, const struct sockaddr_storage *ss) {
    char ip[INET6_ADDRSTRLEN];
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        *port = ntohs(in->sin_port);
        snprintf(out, len, "%s:%d", ip, *port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        *port = ntohs(in6->sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], ip, sizeof ip);
            snprintf(out, len, "%s:%d", ip, *port);
        } else {
            inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
            snprintf(out, len, "[%s]:%d", ip, *port);
        }
    } else {
        return false;
    }
    return true;
}

void gbx_gw_listener_local(gbx_gw_local *out, int listen_fd) {
    out->authority[0] = '\0';
    out->port = 0;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (listen_fd < 0 || getsockname(listen_fd, (struct sockaddr *)&ss, &sl) != 0) return;
    /* A wildcard address: each connection has its own (which interface). */
    if (ss.ss_family == AF_INET && ((struct sockaddr_in *)&ss)->sin_addr.s_addr == htonl(INADDR_ANY))
        return;
    if (ss.ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr))
        return;
    if (!format_address(out->authority, sizeof out->authority, &out->port, &ss)) out->authority[0] = '\0';
}

/* The address:port the connection came in on, and its port: the
 * listener's when it is bound to one address, else the socket's own (a
 * system call). */
static void local_authority(char *out, size_t len, int *port, struct MHD_Connection *conn,
                            const gbx_gw_local *local) {
    if (local && local->authority[0]) {
        snprintf(out, len, "%s", local->authority);
        *port = local->port;
        return;
    }
    snprintf(out, len, "localhost");
    *port = 0;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci) return;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(ci->connect_fd, (struct sockaddr *)&ss, &sl) != 0) return;
    format_address(out, len, port, &ss);
}

/* Splits "host[:port]" / "[v6][:port]": the host's length, and the port
 * (-1 when none). */
static size_t split_host(const char *s, long *port) {
    const char *colon = s[0] == '[' ? strchr(s, ']') : s;
    if (colon) colon = strrchr(colon, ':');
    if (s[0] != '[' && colon && strchr(s, ':') != colon) colon = NULL; /* a bare IPv6: no port */
    *port = colon ? strtol(colon + 1, NULL, 10) : -1;
    return colon ? (size_t)(colon - s) : strlen(s);
}

/* True when Host `host` is server name `name`: same host; the same port
 * when the name has one (a Host without port means the scheme's default);
 * otherwise no port or the port the connection came in on. */
static bool is_name(const char *host, const char *name, int local_port, bool tls) {
    long hport, nport;
    size_t hlen = split_host(host, &hport), nlen = split_host(name, &nport);
    if (hlen != nlen || strncasecmp(host, name, hlen) != 0) return false;
    if (nport >= 0) return (hport >= 0 ? hport : tls ? 443 : 80) == nport;
    return hport < 0 || hport == local_port;
}

gbx_err gbx_gw_request_origin(gbx_gw_origin *out, const gbx_gw_config *cfg, struct MHD_Connection *conn,
                              const gbx_gw_local *local, const char *host) {
    bool tls = gbx_gw_connection_is_tls(conn);
    int port = 0;
    snprintf(out->scheme, sizeof out->scheme, "%s", tls ? "https" : "http");
    local_authority(out->authority, sizeof out->authority, &port, conn, local);
    /* No names to check against, or no Host at all (HTTP/1.0): the
     * connection's own address. */
    if (cfg->nserver_names == 0 || !host || strcasecmp(host, out->authority) == 0) return GBX_OK;
    if (gbx_gw_host_is_valid(host) && strlen(host) < sizeof out->authority) {
        for (size_t i = 0; i < cfg->nserver_names; i++) {
            if (!is_name(host, cfg->server_names[i], port, tls)) continue;
            snprintf(out->authority, sizeof out->authority, "%s", host);
            lower(out->authority);
            return GBX_OK;
        }
    }
    return gbx_error_set(GBX_ERR_BAD_REQUEST,
                         "the Host header names no server of this gateway (server_names)");
}

char *gbx_gw_origin_url(const gbx_gw_origin *o, const char *path) {
    size_t n = strlen(o->scheme) + 3 + strlen(o->authority) + strlen(path) + 1;
    char *url = malloc(n);
    if (url) snprintf(url, n, "%s://%s%s", o->scheme, o->authority, path);
    return url;
}

gbx_err gbx_gw_base_uri(char **out, const gbx_gw_location *loc, const gbx_gw_origin *o,
                        const char *version) {
    size_t n = (loc->public_url ? strlen(loc->public_url)
                                : strlen(o->scheme) + 3 + strlen(o->authority) + strlen(loc->prefix)) +
               strlen(version) + 2;
    *out = malloc(n);
    if (!*out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    if (loc->public_url) snprintf(*out, n, "%s/%s", loc->public_url, version);
    else snprintf(*out, n, "%s://%s%s/%s", o->scheme, o->authority, loc->prefix, version);
    return GBX_OK;
}
