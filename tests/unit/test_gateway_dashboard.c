/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit tests of the dashboard's config section and of what it answers
 * (gateway/src/gw_dashboard.c, the "dashboard" block of gw_config.c).  The
 * page itself is tested in a browser: tests/browser/test_dashboard.py. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "gearbox/error.h"
#include "gw_config.h"
#include "gw_dashboard.h"

static char dir[256];

static void write_file(const char *name, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

/* Loads a gateway config with one /barn location and `extra` keys. */
static gbx_err load(gbx_gw_config **cfg, const char *extra) {
    char text[2048], path[512];
    snprintf(text, sizeof text,
             "{ \"status\": {\"type\": \"sqlite\", \"path\": \"status.db\"}, %s\n"
             "  \"locations\": [ {\"prefix\": \"/barn\", \"auth\": \"none\", \"config\": \"barn.conf\"} ] }\n",
             extra);
    write_file("gateway.conf", text);
    snprintf(path, sizeof path, "%s/gateway.conf", dir);
    *cfg = NULL;
    return gbx_gw_config_load(cfg, path);
}

static void expect_error(const char *extra, const char *needle) {
    gbx_gw_config *cfg;
    CHECK_INT(load(&cfg, extra), GBX_ERR_BAD_REQUEST);
    const char *msg = gbx_error_last()->message;
    if (!strstr(msg, needle)) fprintf(stderr, "expected \"%s\" in: %s\n", needle, msg);
    CHECK(strstr(msg, needle) != NULL);
    gbx_gw_config_free(cfg);
}

static void test_config(void) {
    gbx_gw_config *cfg = NULL;
    CHECK_INT(load(&cfg, ""), GBX_OK);
    if (cfg) {
        CHECK(cfg->dashboard.enabled);
        CHECK_STR(cfg->dashboard.path, "/_gearbox");
        CHECK(cfg->dashboard.dir == NULL);
    }
    gbx_gw_config_free(cfg);

    CHECK_INT(load(&cfg, "\"dashboard\": {\"enabled\": false, \"path\": \"/ops/board/\", \"dir\": \".\"},"),
              GBX_OK);
    if (cfg) {
        CHECK(!cfg->dashboard.enabled);
        CHECK_STR(cfg->dashboard.path, "/ops/board");
        CHECK(cfg->dashboard.dir && strncmp(cfg->dashboard.dir, dir, strlen(dir)) == 0);
    }
    gbx_gw_config_free(cfg);

    expect_error("\"dashboard\": true,", "\"dashboard\" must be an object");
    expect_error("\"dashboard\": {\"colour\": \"red\"},", "unknown key \"colour\"");
    expect_error("\"dashboard\": {\"enabled\": \"maybe\"},", "\"dashboard.enabled\" must be true or false");
    expect_error("\"dashboard\": {\"path\": 7},", "\"dashboard.path\" must be a path");
    expect_error("\"dashboard\": {\"path\": \"nope\"},", "must start with '/'");
    expect_error("\"dashboard\": {\"path\": \"/\"},", "cannot be \"/\"");
    expect_error("\"dashboard\": {\"dir\": \"missing\"},", "is not a directory");
    expect_error("\"dashboard\": {\"path\": \"/barn\"},", "inside the dashboard's path");
    /* Off, it may sit anywhere. */
    CHECK_INT(load(&cfg, "\"dashboard\": {\"path\": \"/barn\", \"enabled\": false},"), GBX_OK);
    gbx_gw_config_free(cfg);
}

/* The answer to GET `path`: the status, or 0 when the dashboard passes. */
static unsigned answer(const gbx_gw_config *cfg, const char *method, const char *path,
                       const char *inm, char *etag, size_t etag_len, char *type, size_t type_len) {
    struct MHD_Response *resp = NULL;
    unsigned status = 0;
    if (!gbx_gw_dashboard_answer(&resp, &status, cfg, method, path, inm)) return 0;
    CHECK(resp != NULL);
    if (!resp) return status;
    const char *v = MHD_get_response_header(resp, MHD_HTTP_HEADER_ETAG);
    if (etag) snprintf(etag, etag_len, "%s", v ? v : "");
    v = MHD_get_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (type) snprintf(type, type_len, "%s", v ? v : "");
    MHD_destroy_response(resp);
    return status;
}

static void test_answers(void) {
    gbx_gw_config *cfg = NULL;
    CHECK_INT(load(&cfg, ""), GBX_OK);
    if (!cfg) return;
    char etag[64], type[64];
    CHECK_INT(answer(cfg, "GET", "/barn/v1/animal", NULL, NULL, 0, NULL, 0), 0);
    CHECK_INT(answer(cfg, "GET", "/_gearboxes/", NULL, NULL, 0, NULL, 0), 0);
    CHECK_INT(answer(cfg, "GET", "/_gearbox", NULL, NULL, 0, NULL, 0), 302);
    CHECK_INT(answer(cfg, "GET", "/_gearbox/", NULL, etag, sizeof etag, type, sizeof type), 200);
    CHECK_STR(type, "text/html; charset=utf-8");
    CHECK(etag[0] == '"');
    CHECK_INT(answer(cfg, "GET", "/_gearbox/", etag, NULL, 0, NULL, 0), 304);
    CHECK_INT(answer(cfg, "HEAD", "/_gearbox/dashboard.js", NULL, NULL, 0, type, sizeof type), 200);
    CHECK_STR(type, "text/javascript; charset=utf-8");
    CHECK_INT(answer(cfg, "GET", "/_gearbox/api/info", NULL, NULL, 0, type, sizeof type), 200);
    CHECK_STR(type, "application/json");
    CHECK_INT(answer(cfg, "GET", "/_gearbox/secret.conf", NULL, NULL, 0, NULL, 0), 404);
    CHECK_INT(answer(cfg, "DELETE", "/_gearbox/", NULL, NULL, 0, NULL, 0), 405);

    json_t *info = NULL;
    CHECK_INT(gbx_gw_dashboard_info(&info, cfg), GBX_OK);
    CHECK_STR(json_string_value(json_object_get(info, "metrics_path")), "/metrics");
    CHECK_STR(json_string_value(json_object_get(info, "dashboard_path")), "/_gearbox/");
    json_t *loc = json_array_get(json_object_get(info, "locations"), 0);
    CHECK_STR(json_string_value(json_object_get(loc, "prefix")), "/barn");
    CHECK_STR(json_string_value(json_object_get(loc, "component")), "barn");
    json_decref(info);
    gbx_gw_config_free(cfg);

    /* Off: every path is the locations'. */
    CHECK_INT(load(&cfg, "\"dashboard\": {\"enabled\": false},"), GBX_OK);
    if (cfg) CHECK_INT(answer(cfg, "GET", "/_gearbox/", NULL, NULL, 0, NULL, 0), 0);
    gbx_gw_config_free(cfg);

    /* From a directory: its plain files with a known extension, nothing else. */
    char web[300];
    snprintf(web, sizeof web, "%s/web", dir);
    mkdir(web, 0755);
    write_file("web/index.html", "<p>mine</p>");
    write_file("web/logo.svg", "<svg/>");
    write_file("web/.hidden.js", "x");
    write_file("web/notes.md", "x");
    CHECK_INT(load(&cfg, "\"dashboard\": {\"path\": \"/ops\", \"dir\": \"web\"},"), GBX_OK);
    if (!cfg) return;
    CHECK_INT(answer(cfg, "GET", "/ops/", NULL, etag, sizeof etag, NULL, 0), 200);
    CHECK_INT(answer(cfg, "GET", "/ops/index.html", etag, NULL, 0, NULL, 0), 304);
    CHECK_INT(answer(cfg, "GET", "/ops/logo.svg", NULL, NULL, 0, type, sizeof type), 200);
    CHECK_STR(type, "image/svg+xml");
    CHECK_INT(answer(cfg, "GET", "/ops/dashboard.js", NULL, NULL, 0, NULL, 0), 404);
    CHECK_INT(answer(cfg, "GET", "/ops/.hidden.js", NULL, NULL, 0, NULL, 0), 404);
    CHECK_INT(answer(cfg, "GET", "/ops/notes.md", NULL, NULL, 0, NULL, 0), 404);
    CHECK_INT(answer(cfg, "GET", "/ops/..%2Fgateway.conf", NULL, NULL, 0, NULL, 0), 404);
    CHECK_INT(answer(cfg, "GET", "/ops/web/index.html", NULL, NULL, 0, NULL, 0), 404);
    CHECK_INT(answer(cfg, "GET", "/_gearbox/", NULL, NULL, 0, NULL, 0), 0);
    gbx_gw_config_free(cfg);
}

static void test_builtin(void) {
    const gbx_gw_dashboard_file *f = gbx_gw_dashboard_builtin("index.html");
    CHECK(f && f->len > 100 && strstr(f->data, "dashboard.js"));
    CHECK(gbx_gw_dashboard_builtin("dashboard.css") != NULL);
    CHECK(gbx_gw_dashboard_builtin("gateway.conf") == NULL);
    CHECK_STR(gbx_gw_dashboard_content_type("a.css"), "text/css; charset=utf-8");
    CHECK(gbx_gw_dashboard_content_type("Makefile") == NULL);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/gbx-test-gwdashboard-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    write_file("barn.conf", "{ \"component\": \"barn\" }\n");
    test_config();
    test_answers();
    test_builtin();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_done();
}
