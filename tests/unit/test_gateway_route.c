/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit tests of the gateway's routing helpers (gateway/src/gw_route.c). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "gearbox/error.h"
#include "gearbox/uri.h"
#include "gw_config.h"
#include "gw_origin.h"
#include "gw_route.h"

static gbx_gw_location make_location(const char *prefix, const char *component,
                                     const char *const *handlers, size_t n, unsigned sync) {
    gbx_gw_location loc;
    memset(&loc, 0, sizeof loc);
    loc.path = (char *)prefix;
    loc.prefix = (char *)prefix;
    loc.component = component;
    loc.handlers = (char **)handlers;
    loc.nhandlers = n;
    loc.sync_methods = sync;
    return loc;
}

static void test_match_location(void) {
    gbx_gw_location locs[3];
    locs[0] = make_location("/barn", "barn", NULL, 0, 0);
    locs[1] = make_location("/barn/deep", "deep", NULL, 0, 0);
    locs[2] = make_location("/zoo", "zoo", NULL, 0, 0);
    const char *rest = NULL;

    CHECK_INT(gbx_gw_match_location(locs, 3, "/barn/v1/animal/Wilbur", &rest), 0);
    CHECK_STR(rest, "/v1/animal/Wilbur");
    /* The longest prefix wins, whatever the order of the locations. */
    CHECK_INT(gbx_gw_match_location(locs, 3, "/barn/deep/v1/x", &rest), 1);
    CHECK_STR(rest, "/v1/x");
    /* A prefix matches whole segments only. */
    CHECK_INT(gbx_gw_match_location(locs, 3, "/barnyard/v1/x", &rest), -1);
    CHECK(rest == NULL);
    CHECK_INT(gbx_gw_match_location(locs, 3, "/barn/deeper/v1/x", &rest), 0);
    CHECK_STR(rest, "/deeper/v1/x");
    CHECK_INT(gbx_gw_match_location(locs, 3, "/barn", &rest), 0);
    CHECK_STR(rest, "");
    CHECK_INT(gbx_gw_match_location(locs, 3, "/nothing", &rest), -1);
    CHECK_INT(gbx_gw_match_location(locs, 3, "barn/v1/x", &rest), -1);

    /* A root location ("" after normalisation) takes what nothing else does. */
    gbx_gw_location with_root[2] = {make_location("", "root", NULL, 0, 0),
                                    make_location("/zoo", "zoo", NULL, 0, 0)};
    CHECK_INT(gbx_gw_match_location(with_root, 2, "/v1/thing", &rest), 0);
    CHECK_STR(rest, "/v1/thing");
    CHECK_INT(gbx_gw_match_location(with_root, 2, "/zoo/v1/thing", &rest), 1);
    CHECK_STR(rest, "/v1/thing");
}

/* A location nested below `parent` at `path`, as the config loader makes
 * it: the parent's prefix and component, its own sync methods. */
static gbx_gw_location make_nested(const char *path, const gbx_gw_location *parent, unsigned sync) {
    gbx_gw_location loc = *parent;
    loc.path = (char *)path;
    loc.parent = parent;
    loc.sync_methods = sync;
    return loc;
}

static void test_prefix_length(void) {
    CHECK_INT(gbx_gw_prefix_length("/perl/test-chained/v1/hello2"), strlen("/perl/test-chained"));
    CHECK_INT(gbx_gw_prefix_length("/barn/v12"), strlen("/barn"));
    /* "/very" and "/v1x" are not version segments. */
    CHECK_INT(gbx_gw_prefix_length("/a/very/v3/x"), strlen("/a/very"));
    CHECK_INT(gbx_gw_prefix_length("/a/v1x/b"), strlen("/a/v1x/b"));
    CHECK_INT(gbx_gw_prefix_length("/a/v"), strlen("/a/v"));
    CHECK_INT(gbx_gw_prefix_length("/barn"), strlen("/barn"));
    CHECK_INT(gbx_gw_prefix_length("/v1/hello"), 0);
    CHECK_INT(gbx_gw_prefix_length(""), 0);
}

/* The names a fake gearmand knows, and how often it was asked. */
static const char *const *learned;
static int asks;

static gbx_err fake_known(bool *known, void *user, const char *name) {
    (void)user;
    asks++;
    *known = false;
    for (size_t i = 0; learned && learned[i]; i++)
        if (strcmp(learned[i], name) == 0) *known = true;
    return GBX_OK;
}

static gbx_err gearmand_down(bool *known, void *user, const char *name) {
    (void)user;
    *known = false;
    return gbx_error_set(GBX_ERR_SERVICE_UNAVAILABLE, "cannot tell whether handler \"%s\" is known", name);
}

/* What the server does with a request: the location (index), then the
 * handler for the part below the location's prefix, then sync or not. */
static void expect_route(const gbx_gw_location *locs, size_t n, const char *method, const char *path,
                         int want_location, const char *want_handler, bool want_sync) {
    const char *rest = NULL;
    int li = gbx_gw_match_location(locs, n, path, &rest);
    CHECK_INT(li, want_location);
    gbx_uri *uri = NULL;
    if (li < 0 || gbx_uri_parse(&uri, rest, NULL) != GBX_OK) {
        CHECK(uri != NULL);
        return;
    }
    char *handler = NULL;
    CHECK_INT(gbx_gw_resolve_handler(&handler, &locs[li], method, gbx_uri_resource(uri),
                                     gbx_uri_version(uri), fake_known, NULL),
              GBX_OK);
    CHECK_STR(handler, want_handler);
    CHECK(gbx_gw_is_sync(&locs[li], gbx_gw_method_from_name(method)) == want_sync);
    free(handler);
    gbx_uri_free(uri);
}

static void test_nested_locations(void) {
    static const char *const registered[] = {
        "do_post_testchainedperl_hello2_v1", "do_post_testchainedperl_hello_v1",
        "do_put_barn_animal_v2", "do_put_barn_animal_v1", "do_get_barntwo_thing_v1", NULL};
    learned = registered;
    gbx_gw_location locs[5];
    locs[0] = make_location("/barn", "barn", NULL, 0, GBX_GW_GET | GBX_GW_HEAD);
    locs[1] = make_location("/perl/test-chained", "testchainedperl", NULL, 0, GBX_GW_GET | GBX_GW_HEAD);
    locs[2] = make_location("/barn2", "barntwo", NULL, 0, GBX_GW_GET | GBX_GW_HEAD);
    locs[3] = make_nested("/perl/test-chained/v1/hello2", &locs[1], GBX_GW_GET | GBX_GW_HEAD | GBX_GW_POST);
    locs[4] = make_nested("/barn/v2", &locs[0], GBX_GW_GET | GBX_GW_HEAD | GBX_GW_PUT);
    const char *rest = NULL;

    /* The deepest match wins; the rest is what lies below the prefix, so
     * the version and resource are parsed as under the parent. */
    CHECK_INT(gbx_gw_match_location(locs, 5, "/perl/test-chained/v1/hello2", &rest), 3);
    CHECK_STR(rest, "/v1/hello2");
    CHECK_INT(gbx_gw_match_location(locs, 5, "/perl/test-chained/v1/hello2/Fern", &rest), 3);
    CHECK_STR(rest, "/v1/hello2/Fern");
    CHECK_INT(gbx_gw_match_location(locs, 5, "/perl/test-chained/v1/hello2;x=1", &rest), 3);
    CHECK_STR(rest, "/v1/hello2;x=1");
    /* Only whole segments: hello22 and hello are the parent's. */
    CHECK_INT(gbx_gw_match_location(locs, 5, "/perl/test-chained/v1/hello22", &rest), 1);
    CHECK_STR(rest, "/v1/hello22");
    CHECK_INT(gbx_gw_match_location(locs, 5, "/perl/test-chained/v1/hello", &rest), 1);
    CHECK_INT(gbx_gw_match_location(locs, 5, "/barn/v2/animal/Wilbur", &rest), 4);
    CHECK_STR(rest, "/v2/animal/Wilbur");
    CHECK_INT(gbx_gw_match_location(locs, 5, "/barn/v1/animal/Wilbur", &rest), 0);
    /* A sibling that merely shares a string prefix is another location... */
    CHECK_INT(gbx_gw_match_location(locs, 5, "/barn2/v1/thing", &rest), 2);
    CHECK_STR(rest, "/v1/thing");
    /* ...and no location at all when it is not configured. */
    CHECK_INT(gbx_gw_match_location(locs, 2, "/barn2/v1/thing", &rest), -1);
    CHECK_INT(gbx_gw_match_location(locs, 5, "/barn;x=1", &rest), -1);

    /* The handler name is the parent's; only the sync choice differs. */
    expect_route(locs, 5, "POST", "/perl/test-chained/v1/hello2", 3, "do_post_testchainedperl_hello2_v1", true);
    expect_route(locs, 5, "POST", "/perl/test-chained/v1/hello", 1, "do_post_testchainedperl_hello_v1", false);
    expect_route(locs, 5, "PUT", "/barn/v2/animal/Wilbur", 4, "do_put_barn_animal_v2", true);
    expect_route(locs, 5, "PUT", "/barn/v1/animal/Wilbur", 0, "do_put_barn_animal_v1", false);
    expect_route(locs, 5, "GET", "/barn2/v1/thing", 2, "do_get_barntwo_thing_v1", true);
    learned = NULL;
}

static void test_handlers_from_gearmand(void) {
    static const char *const listed[] = {"do_get_barn_animal_v1"};
    static const char *const registered[] = {"do_put_barn_animal_v1", "do_get_global_thing_v1",
                                             "do_append_barn_animal_v1", NULL};
    gbx_gw_location loc = make_location("/barn", "barn", listed, 1, 0);
    char *name = NULL;
    learned = registered;
    asks = 0;
    /* Listed: gearmand is not asked. */
    CHECK_INT(gbx_gw_resolve_handler(&name, &loc, "GET", "animal", "v1", fake_known, NULL), GBX_OK);
    CHECK_STR(name, "do_get_barn_animal_v1");
    CHECK_INT(asks, 0);
    free(name);
    /* Registered by a worker, not listed. */
    CHECK_INT(gbx_gw_resolve_handler(&name, &loc, "PUT", "animal", "v1", fake_known, NULL), GBX_OK);
    CHECK_STR(name, "do_put_barn_animal_v1");
    CHECK_INT(asks, 1);
    free(name);
    /* The global fallback works with handlers learned from gearmand. */
    CHECK_INT(gbx_gw_resolve_handler(&name, &loc, "GET", "thing", "v1", fake_known, NULL), GBX_OK);
    CHECK_STR(name, "do_get_global_thing_v1");
    CHECK_INT(asks, 3);
    free(name);
    /* Known nowhere. */
    CHECK_INT(gbx_gw_resolve_handler(&name, &loc, "DELETE", "animal", "v1", fake_known, NULL),
              GBX_ERR_BAD_REQUEST);
    CHECK_STR(gbx_error_last()->message, "No valid handler found!");
    CHECK(name == NULL);
    /* Without a way to ask, the list alone. */
    CHECK_INT(gbx_gw_resolve_handler(&name, &loc, "PUT", "animal", "v1", NULL, NULL), GBX_ERR_BAD_REQUEST);
    /* gearmand cannot be asked: its error, not a 400. */
    CHECK_INT(gbx_gw_resolve_handler(&name, &loc, "PUT", "animal", "v1", gearmand_down, NULL),
              GBX_ERR_SERVICE_UNAVAILABLE);
    CHECK(name == NULL);
    CHECK_INT(gbx_gw_resolve_handler(&name, &loc, "GET", "animal", "v1", gearmand_down, NULL), GBX_OK);
    free(name);
    learned = NULL;
}

static void test_normalize_prefix(void) {
    char *p = NULL;
    CHECK_INT(gbx_gw_normalize_prefix(&p, "/barn"), GBX_OK);
    CHECK_STR(p, "/barn");
    free(p);
    CHECK_INT(gbx_gw_normalize_prefix(&p, "/barn/ghost//"), GBX_OK);
    CHECK_STR(p, "/barn/ghost");
    free(p);
    CHECK_INT(gbx_gw_normalize_prefix(&p, "/"), GBX_OK);
    CHECK_STR(p, "");
    free(p);
    const char *bad[] = {"barn", "", "/ba rn", "/barn?x", "/barn;x", "/a//b", "/a/../b", "/./a", "/a%20b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p = NULL;
        CHECK_INT(gbx_gw_normalize_prefix(&p, bad[i]), GBX_ERR_BAD_REQUEST);
        CHECK(p == NULL);
    }
    CHECK_INT(gbx_gw_normalize_prefix(&p, NULL), GBX_ERR_BAD_REQUEST);
}

static void test_resolve_handler(void) {
    /* Sorted, as the config loader keeps them. */
    static const char *const handlers[] = {
        "do_delete_global_thing_v1",
        "do_get_barn_animal_v1",
        "do_get_global_animal_v1",
        "do_get_global_thing_v2",
        "do_put_barn_animal_v1",
    };
    gbx_gw_location loc = make_location("/barn", "barn", handlers, 5, 0);
    char *name = NULL;

    CHECK_INT(gbx_gw_resolve_handler(&name, &loc, "GET", "animal", "v1", NULL, NULL), GBX_OK);
    CHECK_STR(name, "do_get_barn_animal_v1");
    free(name);
    /* HEAD is GET. */
    CHECK_INT(gbx_gw_resolve_handler(&name, &loc, "HEAD", "animal", "v1", NULL, NULL), GBX_OK);
    CHECK_STR(name, "do_get_barn_animal_v1");
    free(name);
    /* Falls back to the global handler. */
    CHECK_INT(gbx_gw_resolve_handler(&name, &loc, "DELETE", "thing", "v1", NULL, NULL), GBX_OK);
    CHECK_STR(name, "do_delete_global_thing_v1");
    free(name);
    CHECK_INT(gbx_gw_resolve_handler(&name, &loc, "GET", "thing", "v2", NULL, NULL), GBX_OK);
    CHECK_STR(name, "do_get_global_thing_v2");
    free(name);
    /* Nothing known: the exact text of DESIGN §3. */
    name = NULL;
    CHECK_INT(gbx_gw_resolve_handler(&name, &loc, "POST", "animal", "v1", NULL, NULL), GBX_ERR_BAD_REQUEST);
    CHECK(name == NULL);
    CHECK_STR(gbx_error_last()->message, "No valid handler found!");
    CHECK_INT(gbx_gw_resolve_handler(&name, &loc, "GET", "animal", "v2", NULL, NULL), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_gw_resolve_handler(&name, &loc, "GET", "cow", "v1", NULL, NULL), GBX_ERR_BAD_REQUEST);
}

static void test_sync(void) {
    gbx_gw_location plain = make_location("/barn", "barn", NULL, 0, GBX_GW_GET | GBX_GW_HEAD);
    CHECK(gbx_gw_is_sync(&plain, GBX_GW_GET));
    CHECK(gbx_gw_is_sync(&plain, GBX_GW_HEAD));
    CHECK(!gbx_gw_is_sync(&plain, GBX_GW_PUT));
    CHECK(!gbx_gw_is_sync(&plain, GBX_GW_POST));
    CHECK(!gbx_gw_is_sync(&plain, GBX_GW_DELETE));
    gbx_gw_location put_sync = make_location("/barn", "barn", NULL, 0, GBX_GW_GET | GBX_GW_HEAD | GBX_GW_PUT);
    CHECK(gbx_gw_is_sync(&put_sync, GBX_GW_PUT));
    CHECK(!gbx_gw_is_sync(&put_sync, GBX_GW_POST));
    /* Even a location that forgot them answers GET and HEAD inline. */
    gbx_gw_location none = make_location("/barn", "barn", NULL, 0, 0);
    CHECK(gbx_gw_is_sync(&none, GBX_GW_GET));

    CHECK_INT(gbx_gw_method_from_name("GET"), GBX_GW_GET);
    CHECK_INT(gbx_gw_method_from_name("DELETE"), GBX_GW_DELETE);
    CHECK_INT(gbx_gw_method_from_name("get"), 0);
    CHECK_INT(gbx_gw_method_from_name("PATCH"), 0);
    CHECK_INT(gbx_gw_method_from_name(NULL), 0);
}

static void test_base_uri(void) {
    char *uri = NULL;
    gbx_gw_location loc = {.prefix = "/barn"};
    gbx_gw_origin o = {"https", "127.0.0.1:4443"};
    CHECK_INT(gbx_gw_base_uri(&uri, &loc, &o, "v1"), GBX_OK);
    CHECK_STR(uri, "https://127.0.0.1:4443/barn/v1");
    free(uri);
    gbx_gw_origin v6 = {"http", "[::1]:8080"};
    loc.prefix = "";
    CHECK_INT(gbx_gw_base_uri(&uri, &loc, &v6, "v2"), GBX_OK);
    CHECK_STR(uri, "http://[::1]:8080/v2");
    free(uri);
    /* public_url wins over the request's origin. */
    loc.public_url = "https://api.example.com/svc/barn";
    CHECK_INT(gbx_gw_base_uri(&uri, &loc, &o, "v1"), GBX_OK);
    CHECK_STR(uri, "https://api.example.com/svc/barn/v1");
    free(uri);

    /* public_url: without a path the prefix is appended; checked. */
    json_t *spec = json_pack("{s:s}", "public_url", "HTTPS://API.Example.com");
    CHECK_INT(gbx_gw_public_url_load(&uri, spec, "/barn", NULL, "here"), GBX_OK);
    CHECK_STR(uri, "https://api.example.com/barn");
    free(uri);
    json_object_set_new(spec, "public_url", json_string("http://h:8080/proxy/barn/"));
    CHECK_INT(gbx_gw_public_url_load(&uri, spec, "/barn", NULL, "here"), GBX_OK);
    CHECK_STR(uri, "http://h:8080/proxy/barn");
    free(uri);
    const char *bad[] = {"ftp://h/x", "https://", "https://u@h/x", "https://h/x?y", "https://h/a/../b",
                         "//h/x", "h"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_object_set_new(spec, "public_url", json_string(bad[i]));
        CHECK_INT(gbx_gw_public_url_load(&uri, spec, "/barn", NULL, "here"), GBX_ERR_BAD_REQUEST);
        CHECK(uri == NULL);
    }
    json_object_del(spec, "public_url");
    CHECK_INT(gbx_gw_public_url_load(&uri, spec, "/barn", "https://x/barn", "here"), GBX_OK);
    CHECK_STR(uri, "https://x/barn");
    free(uri);
    CHECK_INT(gbx_gw_public_url_load(&uri, spec, "/barn", NULL, "here"), GBX_OK);
    CHECK(uri == NULL);
    json_decref(spec);

    CHECK(gbx_gw_host_is_valid("example.com"));
    CHECK(gbx_gw_host_is_valid("my-host_1.example.com:80"));
    CHECK(!gbx_gw_host_is_valid(""));
    CHECK(!gbx_gw_host_is_valid(NULL));
    CHECK(!gbx_gw_host_is_valid("a b"));
    CHECK(!gbx_gw_host_is_valid("a/b"));
    CHECK(!gbx_gw_host_is_valid("a@b"));
}

static void test_status_filter(void) {
    gbx_status_filter f;
    bool expand = true;
    json_t *matrix = json_pack("{s:s, s:s, s:s, s:s, s:s}", "state", "COMPLETED", "code", "0",
                               "_count", "5", "uri", "Wilbur", "_expand", "1");
    json_t *query = json_pack("{s:s, s:s}", "operation", "create", "state", "PENDING");
    CHECK_INT(gbx_gw_status_filter(&f, &expand, matrix, query), GBX_OK);
    CHECK_STR(f.state, "COMPLETED"); /* matrix wins over query */
    CHECK_INT(f.code, 0);
    CHECK_INT(f.count, 5);
    CHECK_STR(f.uri, "Wilbur");
    CHECK_STR(f.operation, "create");
    CHECK(f.component == NULL);
    CHECK_INT(f.progress, -1);
    CHECK(expand);
    json_decref(matrix);
    json_decref(query);

    CHECK_INT(gbx_gw_status_filter(&f, &expand, NULL, NULL), GBX_OK);
    CHECK(!expand);
    CHECK_INT(f.code, -1);

    const char *bad[][2] = {{"state", "DONE"},   {"code", "x"},     {"progress", "101"},
                            {"_count", "0"},     {"_expand", "yes"}, {"colour", "red"},
                            {"code", "1.5"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *m = json_pack("{s:s}", bad[i][0], bad[i][1]);
        CHECK_INT(gbx_gw_status_filter(&f, &expand, m, NULL), GBX_ERR_BAD_REQUEST);
        json_decref(m);
    }
    /* Unknown query parameters (cache busters...) are ignored. */
    json_t *q = json_pack("{s:s}", "t", "12345");
    CHECK_INT(gbx_gw_status_filter(&f, &expand, NULL, q), GBX_OK);
    json_decref(q);
}

/* A listener bound to one address names it; a wildcard one leaves it to
 * each connection (gw_origin.h, gbx_gw_listener_local). */
static int listen_on(int family, const char *address, int *port) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        inet_pton(AF_INET, address, &in->sin_addr);
        len = sizeof *in;
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        inet_pton(AF_INET6, address, &in6->sin6_addr);
        len = sizeof *in6;
    }
    int fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    *port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                    : ((struct sockaddr_in6 *)&ss)->sin6_port);
    return fd;
}

static void test_listener_local(void) {
    gbx_gw_local local;
    char want[64];
    int port = 0;
    int fd = listen_on(AF_INET, "127.0.0.1", &port);
    CHECK(fd >= 0);
    gbx_gw_listener_local(&local, fd);
    snprintf(want, sizeof want, "127.0.0.1:%d", port);
    CHECK_STR(local.authority, want);
    CHECK_INT(local.port, port);
    close(fd);
    fd = listen_on(AF_INET, "0.0.0.0", &port);
    CHECK(fd >= 0);
    gbx_gw_listener_local(&local, fd);
    CHECK_STR(local.authority, "");
    close(fd);
    fd = listen_on(AF_INET6, "::1", &port);
    if (fd >= 0) { /* a machine without IPv6 loopback skips these */
        gbx_gw_listener_local(&local, fd);
        snprintf(want, sizeof want, "[::1]:%d", port);
        CHECK_STR(local.authority, want);
        close(fd);
    }
    fd = listen_on(AF_INET6, "::", &port);
    if (fd >= 0) {
        gbx_gw_listener_local(&local, fd);
        CHECK_STR(local.authority, "");
        close(fd);
    }
    gbx_gw_listener_local(&local, -1);
    CHECK_STR(local.authority, "");
}

int main(void) {
    test_match_location();
    test_prefix_length();
    test_nested_locations();
    test_handlers_from_gearmand();
    test_normalize_prefix();
    test_resolve_handler();
    test_sync();
    test_base_uri();
    test_status_filter();
    test_listener_local();
    return check_done();
}
