/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_tls.c - listeners and HTTPS (see gw_tls.h). */
#include "gw_tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_util.h"

#define DEFAULT_ADDRESS "127.0.0.1"
#define MAX_PEM (1u << 20)

void gbx_gw_listeners_free(gbx_gw_listener *l, size_t n) {
    if (!l) return;
    for (size_t i = 0; i < n; i++) {
        free(l[i].address);
        free(l[i].cert_file);
        free(l[i].key_file);
        free(l[i].cert_pem);
        if (l[i].key_pem) memset(l[i].key_pem, 0, strlen(l[i].key_pem)); /* a secret */
        free(l[i].key_pem);
    }
    free(l);
}

/* A port written as a number or as a string of digits ("${GEARBOX_PORT}"). */
static gbx_err read_port(int *out, const json_t *v, int dflt, const char *where) {
    *out = dflt;
    if (!v) return GBX_OK;
    long long n = -1;
    if (!gbx_gw_json_int(&n, v) || n < 0 || n > 65535)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s.port must be a port number (0 to 65535)", where);
    *out = (int)n;
    return GBX_OK;
}

/* The whole of a PEM file, or an error naming it. */
static gbx_err read_pem(char **out, const char *path, const char *what, const char *where) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s.tls.%s: cannot read %s: %s", where, what, path,
                             strerror(errno));
    char *buf = malloc(MAX_PEM + 1);
    size_t n = buf ? fread(buf, 1, MAX_PEM + 1, f) : 0;
    fclose(f);
    if (!buf) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    buf[n > MAX_PEM ? MAX_PEM : n] = '\0';
    if (n > MAX_PEM || !strstr(buf, "-----BEGIN ")) {
        free(buf);
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s.tls.%s: %s is not a PEM file", where, what, path);
    }
    *out = buf;
    return GBX_OK;
}

static gbx_err load_tls(gbx_gw_listener *l, const json_t *tls, const gbx_config *cfg, const char *where) {
    if (!json_is_object(tls))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s.tls must be an object {\"cert\": ..., \"key\": ...}",
                             where);
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)tls, key, val) {
        if (strcmp(key, "cert") != 0 && strcmp(key, "key") != 0)
            return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s.tls: unknown key \"%s\"", where, key);
    }
    const char *cert = json_string_value(json_object_get(tls, "cert"));
    const char *pkey = json_string_value(json_object_get(tls, "key"));
    if (!cert || !*cert || !pkey || !*pkey)
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "%s.tls needs \"cert\" and \"key\": the paths of PEM files", where);
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "%s.tls: this libmicrohttpd was built without TLS support", where);
    l->cert_file = gbx_gw_join_path(gbx_config_dir(cfg), cert);
    l->key_file = gbx_gw_join_path(gbx_config_dir(cfg), pkey);
    if (!l->cert_file || !l->key_file) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    gbx_err e = read_pem(&l->cert_pem, l->cert_file, "cert", where);
    if (e == GBX_OK) e = read_pem(&l->key_pem, l->key_file, "key", where);
    return e;
}

static gbx_err load_one(gbx_gw_listener *l, const json_t *spec, const gbx_config *cfg, int default_port,
                        const char *where) {
    if (!json_is_object(spec))
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "%s must be an object {\"address\": ..., \"port\": ..., \"tls\": ...}", where);
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)spec, key, val) {
        if (strcmp(key, "address") != 0 && strcmp(key, "port") != 0 && strcmp(key, "tls") != 0)
            return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s: unknown key \"%s\"", where, key);
    }
    json_t *addr = json_object_get(spec, "address");
    if (addr && !json_is_string(addr))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s.address must be a string", where);
    const char *a = addr ? json_string_value(addr) : DEFAULT_ADDRESS;
    unsigned char probe[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, a, probe) != 1 && inet_pton(AF_INET6, a, probe) != 1)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s.address \"%s\" is not an IPv4 or IPv6 address",
                             where, a);
    if (!(l->address = strdup(a))) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    gbx_err e = read_port(&l->port, json_object_get(spec, "port"), default_port, where);
    json_t *tls = json_object_get(spec, "tls");
    if (e == GBX_OK && tls && !json_is_null(tls)) e = load_tls(l, tls, cfg, where);
    return e;
}

gbx_err gbx_gw_listeners_load(gbx_gw_listener **out, size_t *n, const gbx_config *cfg,
                              int default_port) {
    *out = NULL;
    *n = 0;
    json_t *listen = gbx_config_get(cfg, "listen");
    json_t *one = listen ? NULL : json_object();
    size_t count = json_is_array(listen) ? json_array_size(listen) : 1;
    if (listen && !json_is_object(listen) && !json_is_array(listen))
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "\"listen\" must be an object {\"address\": ..., \"port\": ...} or an "
                             "array of them");
    if (count == 0 || count > GBX_GW_MAX_LISTENERS) {
        json_decref(one);
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "\"listen\" must list 1 to %d listeners",
                             GBX_GW_MAX_LISTENERS);
    }
    gbx_gw_listener *l = calloc(count, sizeof *l);
    gbx_err e = l ? GBX_OK : gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    for (size_t i = 0; e == GBX_OK && i < count; i++) {
        char where[32];
        if (json_is_array(listen)) snprintf(where, sizeof where, "listen[%zu]", i);
        else snprintf(where, sizeof where, "listen");
        const json_t *spec = json_is_array(listen) ? json_array_get(listen, i) : listen ? listen : one;
        e = load_one(&l[i], spec, cfg, default_port, where);
    }
    json_decref(one);
    if (e != GBX_OK) {
        gbx_gw_listeners_free(l, count);
        return e;
    }
    *out = l;
    *n = count;
    return GBX_OK;
}

unsigned gbx_gw_tls_flags(const gbx_gw_listener *l) { return l->cert_pem ? MHD_USE_TLS : 0; }

void gbx_gw_tls_options(struct MHD_OptionItem opts[GBX_GW_TLS_OPTIONS], const gbx_gw_listener *l) {
    size_t i = 0;
    if (l->cert_pem) {
        opts[i++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, l->cert_pem};
        opts[i++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, l->key_pem};
        opts[i++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)GBX_GW_TLS_PRIORITIES};
    }
    opts[i] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
}

bool gbx_gw_connection_is_tls(struct MHD_Connection *conn) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_DAEMON);
    if (!ci || !ci->daemon) return false;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(ci->daemon, MHD_DAEMON_INFO_FLAGS);
    return di && (di->flags & MHD_USE_TLS) != 0;
}
