/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit tests of the gateway's limits and input checks (gateway/src/gw_limits.c);
 * the request path itself is tried by tests/security against a real stack. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gearbox/config.h"
#include "gearbox/error.h"
#include "gearbox/uri.h"
#include "gw_limits.h"

static gbx_err load(gbx_gw_limits *out, const char *json) {
    gbx_config *cfg = NULL;
    json_t *root = json_loads(json, 0, NULL);
    CHECK(root != NULL);
    CHECK_INT(gbx_config_from_json(&cfg, root, "."), GBX_OK);
    gbx_err e = gbx_gw_limits_load(out, cfg);
    gbx_config_free(cfg);
    json_decref(root);
    return e;
}

static void test_load(void) {
    gbx_gw_limits l;
    CHECK_INT(load(&l, "{}"), GBX_OK);
    CHECK_INT((int)l.max_connections_per_address, 1024);
    CHECK(l.request_timeout == 30.0);
    CHECK_INT((int)l.max_headers, 32);
    CHECK_INT((int)l.max_header_bytes, 4096);
    CHECK_INT((int)l.max_uri_bytes, 4096);
    CHECK_INT((int)l.max_json_depth, 512);
    /* The pool holds a head at the limits, libmicrohttpd's 64 bytes per
     * header field and 2 KiB for the answer's head: 12 KiB, what every
     * open connection costs (docs/security.md#limits). */
    CHECK_INT((int)gbx_gw_limits_pool_bytes(&l), 12 * 1024);
    CHECK(gbx_gw_limits_pool_bytes(&l) >= l.max_uri_bytes + l.max_header_bytes + 64u * l.max_headers + 2048);
    CHECK_INT(load(&l, "{\"limits\": {\"request_timeout\": 2.5, \"max_headers\": \"50\"}}"), GBX_OK);
    CHECK(l.request_timeout == 2.5);
    CHECK_INT((int)l.max_headers, 50);
    CHECK_INT(load(&l, "{\"limits\": {\"max_header\": 5}}"), GBX_ERR_BAD_REQUEST);
    CHECK(strstr(gbx_error_last()->message, "limits.max_header") != NULL);
    CHECK_INT(load(&l, "{\"limits\": {\"request_timeout\": 0}}"), GBX_ERR_BAD_REQUEST);
    CHECK_INT(load(&l, "{\"limits\": {\"max_json_depth\": -1}}"), GBX_ERR_BAD_REQUEST);
    CHECK_INT(load(&l, "{\"limits\": 5}"), GBX_ERR_BAD_REQUEST);
}

static char *nested(unsigned depth, const char *open, const char *close) {
    size_t n = strlen(open) * depth + strlen(close) * depth + 1;
    char *s = malloc(n);
    CHECK(s != NULL);
    s[0] = '\0';
    for (unsigned i = 0; i < depth; i++) strcat(s, open);
    for (unsigned i = 0; i < depth; i++) strcat(s, close);
    return s;
}

static void test_json_depth(void) {
    char *ok = nested(512, "[", "]");
    char *deep = nested(513, "[", "]");
    char *objects = nested(513, "{\"a\":", "}");
    CHECK_INT(gbx_gw_check_json_depth(ok, strlen(ok), 512), GBX_OK);
    CHECK_INT(gbx_gw_check_json_depth(deep, strlen(deep), 512), GBX_ERR_BAD_REQUEST);
    CHECK(strstr(gbx_error_last()->message, "deeper than 512") != NULL);
    CHECK_INT(gbx_gw_check_json_depth(objects, strlen(objects), 512), GBX_ERR_BAD_REQUEST);
    /* An unclosed body counts the same: no parser has run yet. */
    CHECK_INT(gbx_gw_check_json_depth(deep, 513, 512), GBX_ERR_BAD_REQUEST);
    free(ok);
    free(deep);
    free(objects);
    /* Brackets inside strings, escaped quotes included, do not count. */
    const char *strings = "  {\"a\": \"[[[[\\\"[[[[\", \"b\": [1]}";
    CHECK_INT(gbx_gw_check_json_depth(strings, strlen(strings), 2), GBX_OK);
    CHECK_INT(gbx_gw_check_json_depth("[[[", 3, 2), GBX_ERR_BAD_REQUEST);
    /* Bodies that are not JSON objects or arrays are not looked at. */
    CHECK_INT(gbx_gw_check_json_depth("x[[[", 4, 2), GBX_OK);
    CHECK_INT(gbx_gw_check_json_depth("", 0, 2), GBX_OK);
    CHECK_INT(gbx_gw_check_json_depth(NULL, 0, 2), GBX_OK);
}

static gbx_err check_uri(const char *path, const char *query) {
    gbx_uri *uri = NULL;
    gbx_err e = gbx_uri_parse(&uri, path, query);
    if (e == GBX_OK) e = gbx_gw_check_uri(uri);
    gbx_uri_free(uri);
    return e;
}

static void test_uri(void) {
    CHECK_INT(check_uri("/v1/animal/Wilbur;colour=red/blue", "a=1&b"), GBX_OK);
    CHECK_INT(check_uri("/v1/animal/caf%C3%A9", NULL), GBX_OK);
    CHECK_INT(check_uri("/v1/animal/..%2F..%2Fetc%2Fpasswd", NULL), GBX_ERR_BAD_REQUEST);
    CHECK(strstr(gbx_error_last()->message, "invalid resource name \"../../etc/passwd\"") != NULL);
    CHECK_INT(check_uri("/v1/animal/..", NULL), GBX_ERR_BAD_REQUEST);
    CHECK_INT(check_uri("/v1/animal/%2E%2E", NULL), GBX_ERR_BAD_REQUEST);
    CHECK_INT(check_uri("/v1/animal/a%5Cb", NULL), GBX_ERR_BAD_REQUEST);
    CHECK_INT(check_uri("/v1/animal/a%0Ab", NULL), GBX_ERR_BAD_REQUEST);
    CHECK_INT(check_uri("/v1/animal/x;k=a%0Db", NULL), GBX_ERR_BAD_REQUEST);
    CHECK(strstr(gbx_error_last()->message, "matrix parameter \"k\"") != NULL);
    CHECK_INT(check_uri("/v1/animal/x", "k=%1B[31m"), GBX_ERR_BAD_REQUEST);
    CHECK_INT(check_uri("/v1/animal/x", "=v"), GBX_ERR_BAD_REQUEST);
    CHECK_INT(check_uri("/v1/animal/x", "k%7F=v"), GBX_ERR_BAD_REQUEST);
}

static void test_status_id(void) {
    CHECK_INT(gbx_gw_check_status_id("s-6xh9p61rczmddwett5ahzwmke1"), GBX_OK);
    CHECK_INT(gbx_gw_check_status_id("s-6xh9p61rczmddwett5ahzwmke"), GBX_ERR_NOT_FOUND);
    CHECK_INT(gbx_gw_check_status_id("s-6xh9p61rczmddwett5ahzwmkeu"), GBX_ERR_NOT_FOUND); /* no u */
    CHECK_INT(gbx_gw_check_status_id("S-6XH9P61RCZMDDWETT5AHZWMKE1"), GBX_ERR_NOT_FOUND);
    CHECK_INT(gbx_gw_check_status_id("a-6xh9p61rczmddwett5ahzwmke1"), GBX_ERR_NOT_FOUND);
    CHECK_INT(gbx_gw_check_status_id("' OR 1=1 --"), GBX_ERR_NOT_FOUND);
}

static void test_worker_headers(void) {
    const char *why = NULL;
    json_t *v = json_string("text/plain");
    CHECK(gbx_gw_worker_header_ok("Content-Type", v, false, &why));
    CHECK(why == NULL);
    CHECK(!gbx_gw_worker_header_ok("Content-Length", v, false, &why));
    CHECK(!gbx_gw_worker_header_ok("transfer-encoding", v, false, &why));
    CHECK(!gbx_gw_worker_header_ok("Proxy-Authenticate", v, false, &why));
    CHECK(!gbx_gw_worker_header_ok("Bad Name", v, false, &why));
    CHECK(!gbx_gw_worker_header_ok("X-A\r\nSet-Cookie", v, false, &why));
    CHECK(!gbx_gw_worker_header_ok("", v, false, &why));
    json_decref(v);
    v = json_string("a\r\nSet-Cookie: session=evil");
    CHECK(!gbx_gw_worker_header_ok("X-Split", v, true, &why));
    CHECK(strstr(why, "CR, LF or NUL") != NULL);
    json_decref(v);
    v = json_string("a\nb");
    CHECK(!gbx_gw_worker_header_ok("X-Split", v, true, &why));
    json_decref(v);
    v = json_stringn("a\0b", 3);
    CHECK(!gbx_gw_worker_header_ok("X-Nul", v, true, &why));
    json_decref(v);
    v = json_integer(5);
    CHECK(!gbx_gw_worker_header_ok("X-Number", v, true, &why));
    json_decref(v);
    v = json_string("id=1; HttpOnly");
    CHECK(!gbx_gw_worker_header_ok("Set-Cookie", v, false, &why));
    CHECK(strstr(why, "allow_set_cookie") != NULL);
    CHECK(gbx_gw_worker_header_ok("set-cookie", v, true, &why));
    json_decref(v);
}

int main(void) {
    test_load();
    test_json_depth();
    test_uri();
    test_status_id();
    test_worker_headers();
    return check_done();
}
