/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit tests of the gateway's config loader (gateway/src/gw_config.c):
 * every key is checked at start-up, with a message that names it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "gearbox/error.h"
#include "gw_config.h"

static char dir[256];

static void write_file(const char *name, const char *fmt, ...) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
}

static const char component_conf[] =
    "// a component\n"
    "{ \"component\": \"barn\", \"schemadir\": \"schemas\",\n"
    "  \"handlers\": [\"do_put_barn_animal_v1\", \"do_get_barn_animal_v1\",\n"
    "                 \"do_delete_global_thing_v1\", \"do_get_barn_animal_v1\"] }\n";

/* A gateway config around one location and extra top-level keys. */
static void write_gateway(const char *location, const char *extra) {
    write_file("gateway.conf",
               "{ \"status\": {\"type\": \"sqlite\", \"path\": \"status.db\"},\n"
               "  %s\n"
               "  \"locations\": [ %s ] }\n",
               extra, location);
}

static gbx_err load(gbx_gw_config **cfg) {
    char path[512];
    snprintf(path, sizeof path, "%s/gateway.conf", dir);
    *cfg = NULL;
    return gbx_gw_config_load(cfg, path);
}

/* Loading fails with 400 and a message containing `needle`. */
static void expect_error(const char *location, const char *extra, const char *needle) {
    gbx_gw_config *cfg;
    write_gateway(location, extra);
    gbx_err e = load(&cfg);
    CHECK_INT(e, GBX_ERR_BAD_REQUEST);
    CHECK(cfg == NULL);
    const char *msg = gbx_error_last()->message;
    if (!strstr(msg, needle)) {
        fprintf(stderr, "expected \"%s\" in: %s\n", needle, msg);
        CHECK(strstr(msg, needle) != NULL);
    }
    gbx_gw_config_free(cfg);
}

static void test_good_config(void) {
    write_file("barn.conf", "%s", component_conf);
    write_gateway("{\"prefix\": \"/barn/\", \"auth\": \"none\", \"config\": \"barn.conf\", \"sync\": [\"put\"],"
                  " \"environ\": {\"MODE\": \"test\"}, \"timeout\": 2.5}",
                  "\"listen\": {\"address\": \"127.0.0.1\", \"port\": \"4999\"}, \"threads\": 3,"
                  " \"max_body_bytes\": 1000, \"log\": {\"level\": \"debug\", \"file\": \"gw.log\"},");
    gbx_gw_config *cfg = NULL;
    CHECK_INT(load(&cfg), GBX_OK);
    if (!cfg) return;
    CHECK_STR(cfg->listen_address, "127.0.0.1");
    CHECK_INT(cfg->port, 4999);
    CHECK_INT(cfg->threads, 3);
    CHECK_INT(cfg->max_body_bytes, 1000);
    CHECK_STR(cfg->gearman_servers, "127.0.0.1:4730");
    CHECK_STR(cfg->log_level, "debug");
    char expect[512];
    snprintf(expect, sizeof expect, "%s/gw.log", dir);
    CHECK_STR(cfg->log_file, expect);
    CHECK_INT(cfg->nlocations, 1);
    const gbx_gw_location *loc = &cfg->locations[0];
    CHECK_STR(loc->prefix, "/barn");
    CHECK_STR(loc->component, "barn");
    CHECK_INT(loc->nhandlers, 3); /* the duplicate is kept once */
    CHECK(gbx_gw_location_has_handler(loc, "do_get_barn_animal_v1"));
    CHECK(gbx_gw_location_has_handler(loc, "do_delete_global_thing_v1"));
    CHECK(!gbx_gw_location_has_handler(loc, "do_post_barn_animal_v1"));
    CHECK_INT(loc->sync_methods, GBX_GW_GET | GBX_GW_HEAD | GBX_GW_PUT);
    CHECK(loc->timeout == 2.5);
    CHECK_STR(json_string_value(json_object_get(loc->environ, "MODE")), "test");
    snprintf(expect, sizeof expect, "%s/schemas", dir);
    CHECK_STR(loc->schemadir, expect);
    CHECK_INT(loc->dialect, GBX_DIALECT_LEGACY); /* schema_dialect absent */
    CHECK(!loc->require_schemas);
    /* Connections idle longer than the longest sync wait, at least. */
    CHECK(cfg->connection_timeout >= 3);
    gbx_gw_config_free(cfg);
}

static void test_defaults(void) {
    write_file("plain.conf", "{ \"component\": \"plain\", \"schema_dialect\": \"draft7\", \"handlers\": [] }");
    write_gateway("{\"prefix\": \"/\", \"auth\": \"none\", \"config\": \"plain.conf\", \"env\": {\"A\": \"b\"}}", "");
    gbx_gw_config *cfg = NULL;
    CHECK_INT(load(&cfg), GBX_OK);
    if (!cfg) return;
    CHECK_INT(cfg->port, 4080);
    CHECK_INT(cfg->threads, 4);
    CHECK_INT(cfg->max_body_bytes, 8 * 1024 * 1024);
    CHECK(cfg->max_connections >= 10000);
    CHECK(cfg->log_file == NULL);
    CHECK(cfg->pid_file == NULL);
    const gbx_gw_location *loc = &cfg->locations[0];
    CHECK_STR(loc->prefix, "");
    CHECK(loc->schemadir == NULL);
    CHECK_INT(loc->dialect, GBX_DIALECT_DRAFT7);
    CHECK(loc->timeout == 30);
    CHECK_INT(loc->sync_methods, GBX_GW_GET | GBX_GW_HEAD);
    CHECK_STR(json_string_value(json_object_get(loc->environ, "A")), "b"); /* "env" alias */
    gbx_gw_config_free(cfg);
}

static void test_bad_configs(void) {
    write_file("barn.conf", "%s", component_conf);
    const char *good = "{\"prefix\": \"/barn\", \"auth\": \"none\", \"config\": \"barn.conf\"}";
    expect_error("{\"config\": \"barn.conf\"}", "", "\"prefix\"");
    expect_error("{\"prefix\": \"barn\", \"auth\": \"none\", \"config\": \"barn.conf\"}", "", "must start with '/'");
    expect_error("{\"prefix\": \"/a//b\", \"auth\": \"none\", \"config\": \"barn.conf\"}", "", "empty");
    expect_error("{\"prefix\": \"/barn\"}", "", "\"config\"");
    expect_error("{\"prefix\": \"/barn\", \"auth\": \"none\", \"config\": \"missing.conf\"}", "", "missing.conf");
    expect_error("{\"prefix\": \"/barn\", \"auth\": \"none\", \"config\": \"barn.conf\", \"sync\": [\"PATCH\"]}", "", "sync[0]");
    expect_error("{\"prefix\": \"/barn\", \"auth\": \"none\", \"config\": \"barn.conf\", \"sync\": \"PUT\"}", "", "\"sync\"");
    expect_error("{\"prefix\": \"/barn\", \"auth\": \"none\", \"config\": \"barn.conf\", \"timeout\": 0}", "", "\"timeout\"");
    expect_error("{\"prefix\": \"/barn\", \"auth\": \"none\", \"config\": \"barn.conf\", \"timeout\": \"5\"}", "", "\"timeout\"");
    expect_error("{\"prefix\": \"/barn\", \"auth\": \"none\", \"config\": \"barn.conf\", \"environ\": {\"N\": 1}}", "", "environ \"N\"");
    expect_error("{\"prefix\": \"/barn\", \"auth\": \"none\", \"config\": \"barn.conf\", \"colour\": 1}", "", "unknown key \"colour\"");
    expect_error("{\"prefix\": \"/barn\", \"auth\": \"none\", \"config\": \"barn.conf\"}, {\"prefix\": \"/barn/\", \"auth\": \"none\", \"config\": \"barn.conf\"}",
                 "", "same prefix");
    expect_error("", "", "\"locations\"");
    expect_error(good, "\"listen\": {\"port\": 70000},", "listen.port");
    expect_error(good, "\"listen\": {\"port\": \"http\"},", "listen.port");
    expect_error(good, "\"threads\": 0,", "\"threads\"");
    expect_error(good, "\"max_body_bytes\": -1,", "max_body_bytes");
    expect_error(good, "\"log\": {\"level\": \"loud\"},", "log.level");
    expect_error(good, "\"gearman\": 5,", "\"gearman\"");

    /* Component configs. */
    write_file("badhandler.conf", "{ \"component\": \"barn\", \"handlers\": [\"do_x\", 7] }");
    expect_error("{\"prefix\": \"/barn\", \"auth\": \"none\", \"config\": \"badhandler.conf\"}", "", "handlers[1]");
    write_file("badhandlers.conf", "{ \"component\": \"barn\", \"handlers\": \"do_get_barn_animal_v1\" }");
    expect_error("{\"prefix\": \"/barn\", \"auth\": \"none\", \"config\": \"badhandlers.conf\"}", "", "must be an array");
    write_file("nocomponent.conf", "{ \"handlers\": [] }");
    expect_error("{\"prefix\": \"/barn\", \"auth\": \"none\", \"config\": \"nocomponent.conf\"}", "", "\"component\"");
    write_file("global.conf", "{ \"component\": \"global\", \"handlers\": [] }");
    expect_error("{\"prefix\": \"/barn\", \"auth\": \"none\", \"config\": \"global.conf\"}", "", "\"component\"");
    write_file("nodir.conf", "{ \"component\": \"barn\", \"handlers\": [], \"schemadir\": \"nowhere\" }");
    expect_error("{\"prefix\": \"/barn\", \"auth\": \"none\", \"config\": \"nodir.conf\"}", "", "not a directory");
    write_file("dialect.conf", "{ \"component\": \"barn\", \"handlers\": [], \"schema_dialect\": \"draft99\" }");
    expect_error("{\"prefix\": \"/barn\", \"auth\": \"none\", \"config\": \"dialect.conf\"}", "", "schema_dialect");
    write_file("require.conf", "{ \"component\": \"barn\", \"handlers\": [], \"require_schemas\": true }");
    expect_error("{\"prefix\": \"/barn\", \"auth\": \"none\", \"config\": \"require.conf\"}", "", "require_schemas");
    write_file("broken.conf", "{ \"component\": ");
    expect_error("{\"prefix\": \"/barn\", \"auth\": \"none\", \"config\": \"broken.conf\"}", "", "broken.conf");

    /* No status store. */
    write_file("gateway.conf", "{ \"locations\": [ %s ] }", good);
    gbx_gw_config *cfg;
    CHECK_INT(load(&cfg), GBX_ERR_BAD_REQUEST);
    CHECK(strstr(gbx_error_last()->message, "\"status\"") != NULL);
}

/* "handlers" is optional (gearmand says which handlers exist) and may name
 * any handler, the component's internal ones too, so that the workers'
 * config serves the gateway as well. */
static void test_optional_handlers(void) {
    write_file("nohandlers.conf", "{ \"component\": \"barn\" }");
    write_gateway("{\"prefix\": \"/barn\", \"auth\": \"none\", \"config\": \"nohandlers.conf\"}", "");
    gbx_gw_config *cfg = NULL;
    CHECK_INT(load(&cfg), GBX_OK);
    if (!cfg) return;
    CHECK_INT(cfg->locations[0].nhandlers, 0);
    gbx_gw_config_free(cfg);
    write_file("workers.conf", "{ \"component\": \"barn\", \"handlers\": [\"do_append_barn_log_v1\","
                               " \"do_patch_barn_animal_v1\", \"do_get_other_thing_v1\", \"get_animal\"] }");
    write_gateway("{\"prefix\": \"/barn\", \"auth\": \"none\", \"config\": \"workers.conf\"}", "");
    CHECK_INT(load(&cfg), GBX_OK);
    if (!cfg) return;
    CHECK_INT(cfg->locations[0].nhandlers, 4);
    CHECK(gbx_gw_location_has_handler(&cfg->locations[0], "do_append_barn_log_v1"));
    gbx_gw_config_free(cfg);
}

static const gbx_gw_location *find(const gbx_gw_config *cfg, const char *path) {
    for (size_t i = 0; i < cfg->nlocations; i++)
        if (strcmp(cfg->locations[i].path, path) == 0) return &cfg->locations[i];
    return NULL;
}

static void test_nested_locations(void) {
    write_file("chained.conf", "{ \"component\": \"testchainedperl\", \"schemadir\": \"schemas\" }");
    write_file("barn.conf", "%s", component_conf);
    /* The nested location comes first: the order in the file does not matter. */
    write_gateway("{\"prefix\": \"/perl/test-chained/v1/hello2\", \"sync\": [\"POST\"]},\n"
                  "{\"prefix\": \"/perl/test-chained\", \"auth\": \"none\", \"config\": \"chained.conf\", \"sync\": [\"PUT\"],"
                  " \"environ\": {\"A\": \"1\"}, \"timeout\": 5, \"require_schemas\": true},\n"
                  "{\"prefix\": \"/perl/test-chained/v2/\", \"auth\": \"none\", \"config\": \"./chained.conf\", \"timeout\": 9,"
                  " \"env\": {\"B\": \"2\"}, \"require_schemas\": false},\n"
                  "{\"prefix\": \"/rm/v1/resource\", \"auth\": \"none\", \"config\": \"barn.conf\"}",
                  "");
    gbx_gw_config *cfg = NULL;
    CHECK_INT(load(&cfg), GBX_OK);
    if (!cfg) return;
    CHECK_INT(cfg->nlocations, 4);
    const gbx_gw_location *parent = find(cfg, "/perl/test-chained");
    const gbx_gw_location *hello2 = find(cfg, "/perl/test-chained/v1/hello2");
    const gbx_gw_location *v2 = find(cfg, "/perl/test-chained/v2");
    const gbx_gw_location *rm = find(cfg, "/rm/v1/resource");
    CHECK(parent && hello2 && v2 && rm);
    if (!parent || !hello2 || !v2 || !rm) {
        gbx_gw_config_free(cfg);
        return;
    }
    CHECK(parent->parent == NULL);
    CHECK_STR(parent->prefix, "/perl/test-chained");
    /* Keeps the parent's prefix, component and component config... */
    CHECK(hello2->parent == parent);
    CHECK_STR(hello2->prefix, "/perl/test-chained");
    CHECK_STR(hello2->component, "testchainedperl");
    CHECK(hello2->component_cfg == parent->component_cfg);
    CHECK(hello2->schemas == parent->schemas && hello2->schemas != NULL);
    /* ...sets its own sync methods and inherits the rest. */
    CHECK_INT(hello2->sync_methods, GBX_GW_GET | GBX_GW_HEAD | GBX_GW_POST);
    CHECK_INT(parent->sync_methods, GBX_GW_GET | GBX_GW_HEAD | GBX_GW_PUT);
    CHECK(hello2->timeout == 5);
    CHECK_STR(json_string_value(json_object_get(hello2->environ, "A")), "1");
    CHECK(hello2->require_schemas);
    /* Repeating the parent's config (spelt differently) is allowed; what it
     * sets replaces the parent's. */
    CHECK(v2->parent == parent);
    CHECK_INT(v2->sync_methods, GBX_GW_GET | GBX_GW_HEAD | GBX_GW_PUT);
    CHECK(v2->timeout == 9);
    CHECK(json_object_get(v2->environ, "A") == NULL);
    CHECK_STR(json_string_value(json_object_get(v2->environ, "B")), "2");
    CHECK(!v2->require_schemas);
    /* A versioned path with no location at its prefix: Gearbox's
     * <Location /rm/v1/resource>, a location of its own with prefix /rm. */
    CHECK(rm->parent == NULL);
    CHECK_STR(rm->prefix, "/rm");
    CHECK_STR(rm->component, "barn");
    CHECK_INT(rm->nhandlers, 3);
    gbx_gw_config_free(cfg);

    /* Contradictions are refused, naming the location. */
    write_file("other.conf", "{ \"component\": \"other\" }");
    expect_error("{\"prefix\": \"/perl/test-chained\", \"auth\": \"none\", \"config\": \"chained.conf\"},"
                 "{\"prefix\": \"/perl/test-chained/v1/hello2\", \"auth\": \"none\", \"config\": \"other.conf\"}",
                 "", "location \"/perl/test-chained/v1/hello2\": \"config\"");
    expect_error("{\"prefix\": \"/perl/test-chained\", \"auth\": \"none\", \"config\": \"chained.conf\"},"
                 "{\"prefix\": \"/perl/test-chained/v1/hello2\", \"auth\": \"none\", \"config\": \"missing.conf\"}",
                 "", "which a nested location keeps");
    expect_error("{\"prefix\": \"/barn\", \"auth\": \"none\", \"config\": \"barn.conf\"},"
                 "{\"prefix\": \"/perl/test-chained/v1/hello2\", \"sync\": [\"POST\"]}",
                 "", "location \"/perl/test-chained/v1/hello2\": \"config\" (the component config file) "
                     "is missing, and no location \"/perl/test-chained\"");
    expect_error("{\"prefix\": \"/rm/v1/a\", \"auth\": \"none\", \"config\": \"barn.conf\"},"
                 "{\"prefix\": \"/rm/v1/b\", \"auth\": \"none\", \"config\": \"other.conf\"}",
                 "", "share the prefix \"/rm\"");
    expect_error("{\"prefix\": \"/barn\", \"auth\": \"none\", \"config\": \"barn.conf\"},"
                 "{\"prefix\": \"/barn/v1/x\", \"timeout\": -1}",
                 "", "location \"/barn/v1/x\": \"timeout\"");
    expect_error("{\"prefix\": \"/barn\", \"auth\": \"none\", \"config\": \"barn.conf\"},"
                 "{\"prefix\": \"/barn/v1/x/\"}, {\"prefix\": \"/barn/v1/x\"}",
                 "", "same prefix \"/barn/v1/x\"");
    /* require_schemas on a nested location whose component has no schemas. */
    expect_error("{\"prefix\": \"/rm\", \"auth\": \"none\", \"config\": \"other.conf\"},"
                 "{\"prefix\": \"/rm/v1/x\", \"require_schemas\": true}",
                 "", "require_schemas");
}

/* The "metrics" section (docs/metrics.md). */
static void test_metrics_config(void) {
    write_file("barn.conf", "%s", component_conf);
    const char *loc = "{\"prefix\": \"/barn\", \"auth\": \"none\", \"config\": \"barn.conf\"}";
    gbx_gw_config *cfg = NULL;
    write_gateway(loc, "");
    CHECK_INT(load(&cfg), GBX_OK);
    if (cfg) {
        CHECK(cfg->metrics.enabled);
        CHECK_STR(cfg->metrics.path, "/metrics");
        CHECK(cfg->metrics.listen_address == NULL); /* no admin listener */
        CHECK(cfg->metrics.cache_seconds == 5);
        CHECK(cfg->metrics.worker_stale_seconds == 60);
    }
    gbx_gw_config_free(cfg);
    write_gateway(loc, "\"metrics\": {\"enabled\": false, \"path\": \"/_m\", \"cache_seconds\": 0,"
                       " \"listen\": {\"port\": \"9999\"}, \"publish_seconds\": 1},");
    CHECK_INT(load(&cfg), GBX_OK);
    if (cfg) {
        CHECK(!cfg->metrics.enabled);
        CHECK_STR(cfg->metrics.path, "/_m");
        CHECK_STR(cfg->metrics.listen_address, "127.0.0.1");
        CHECK_INT(cfg->metrics.listen_port, 9999);
        CHECK(cfg->metrics.cache_seconds == 0);
    }
    gbx_gw_config_free(cfg);
    expect_error(loc, "\"metrics\": [],", "\"metrics\" must be an object");
    expect_error(loc, "\"metrics\": {\"colour\": 1},", "metrics: unknown key \"colour\"");
    expect_error(loc, "\"metrics\": {\"enabled\": 1},", "metrics.enabled");
    expect_error(loc, "\"metrics\": {\"path\": \"metrics\"},", "metrics.path");
    expect_error(loc, "\"metrics\": {\"path\": \"/readyz\"},", "metrics.path");
    expect_error(loc, "\"metrics\": {\"path\": 5},", "metrics.path");
    expect_error(loc, "\"metrics\": {\"cache_seconds\": -1},", "metrics.cache_seconds");
    expect_error(loc, "\"metrics\": {\"listen\": 9464},", "metrics.listen");
    expect_error(loc, "\"metrics\": {\"listen\": {\"port\": 70000}},", "metrics.listen.port");
}

/* "listen" as one object or a list, with "tls"; "server_names";
 * "public_url" (gw_tls.c, gw_origin.c). */
static void test_listeners_and_origins(void) {
    write_file("barn.conf", "%s", component_conf);
    write_file("c.pem", "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n");
    write_file("k.pem", "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n");
    write_file("notpem.txt", "hello\n");
    const char *good = "{\"prefix\": \"/barn\", \"auth\": \"none\", \"config\": \"barn.conf\"}";
    gbx_gw_config *cfg = NULL;
    write_gateway("{\"prefix\": \"/barn\", \"auth\": \"none\", \"config\": \"barn.conf\", \"public_url\": \"https://API.example.com\"},"
                  "{\"prefix\": \"/barn/v1/animal\"}",
                  "\"listen\": [{\"port\": \"4080\"}, {\"address\": \"::1\", \"port\": 4443,"
                  " \"tls\": {\"cert\": \"c.pem\", \"key\": \"k.pem\"}}],"
                  " \"server_names\": [\"GW.example\", \"gw.example:8443\"],");
    CHECK_INT(load(&cfg), GBX_OK);
    if (cfg) {
        CHECK_INT((int)cfg->nlisteners, 2);
        CHECK_STR(cfg->listen_address, "127.0.0.1");
        CHECK_INT(cfg->port, 4080);
        CHECK(cfg->listeners[0].cert_pem == NULL && gbx_gw_tls_flags(&cfg->listeners[0]) == 0);
        CHECK_STR(cfg->listeners[1].address, "::1");
        CHECK_INT(cfg->listeners[1].port, 4443);
        CHECK(cfg->listeners[1].cert_pem && strstr(cfg->listeners[1].cert_pem, "BEGIN CERTIFICATE"));
        CHECK(gbx_gw_tls_flags(&cfg->listeners[1]) != 0);
        CHECK_INT((int)cfg->nserver_names, 2);
        CHECK_STR(cfg->server_names[0], "gw.example");
        CHECK_STR(cfg->locations[0].public_url, "https://api.example.com/barn");
        CHECK_STR(cfg->locations[1].public_url, "https://api.example.com/barn"); /* inherited */
    }
    gbx_gw_config_free(cfg);
    expect_error(good, "\"listen\": [],", "1 to 8 listeners");
    expect_error(good, "\"listen\": 4080,", "\"listen\" must be");
    expect_error(good, "\"listen\": [{\"port\": 1}, {\"port\": -1}],", "listen[1].port");
    expect_error(good, "\"listen\": {\"address\": \"example.com\"},", "not an IPv4 or IPv6");
    expect_error(good, "\"listen\": {\"colour\": 1},", "listen: unknown key \"colour\"");
    expect_error(good, "\"listen\": {\"tls\": {\"cert\": \"c.pem\"}},", "listen.tls needs \"cert\" and \"key\"");
    expect_error(good, "\"listen\": {\"tls\": {\"cert\": \"c.pem\", \"key\": \"none.pem\"}},",
                 "listen.tls.key: cannot read");
    expect_error(good, "\"listen\": {\"tls\": {\"cert\": \"notpem.txt\", \"key\": \"k.pem\"}},",
                 "is not a PEM file");
    expect_error(good, "\"listen\": {\"tls\": {\"cert\": \"c.pem\", \"key\": \"k.pem\", \"ca\": 1}},",
                 "unknown key \"ca\"");
    expect_error(good, "\"server_names\": [],", "\"server_names\"");
    expect_error(good, "\"server_names\": [\"a b\"],", "server_names[0]");
    expect_error("{\"prefix\": \"/barn\", \"auth\": \"none\", \"config\": \"barn.conf\", \"public_url\": \"ftp://x\"}", "",
                 "\"public_url\"");
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/gbx-test-gwconfig-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char schemas[512];
    snprintf(schemas, sizeof schemas, "%s/schemas", dir);
    mkdir(schemas, 0755);
    test_good_config();
    test_defaults();
    test_bad_configs();
    test_optional_handlers();
    test_nested_locations();
    test_metrics_config();
    test_listeners_and_origins();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_done();
}
