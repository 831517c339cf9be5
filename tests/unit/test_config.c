/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit tests of core/src/config.c: files with comments, ${VAR} expansion,
 * config.d sections, typed getters, paths, gearmand server lists, and the
 * errors of broken files (a table of file texts -> message). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "gearbox/config.h"

static char data_dir[4096];

static void find_data_dir(void) {
    const char *d = getenv("GBX_TEST_DATA");
    if (d) {
        snprintf(data_dir, sizeof data_dir, "%s/config", d);
        return;
    }
    const char *src = getenv("GBX_SOURCE_DIR");
    snprintf(data_dir, sizeof data_dir, "%s/tests/data/config", src ? src : ".");
}

static gbx_config *load(const char *rel) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", data_dir, rel);
    gbx_config *cfg = NULL;
    gbx_err rc = gbx_config_load(&cfg, path);
    if (rc) fprintf(stderr, "loading %s: %s\n", path, gbx_error_last()->message);
    CHECK_INT(rc, GBX_OK);
    return cfg;
}

static void test_main_file(void) {
    setenv("GBX_TEST_PORT", "5080", 1);
    setenv("GBX_TEST_NAME", "wilbur", 1);
    setenv("GBX_TEST_EMPTY", "", 1);
    unsetenv("GBX_TEST_GEARMAN_PORT");
    unsetenv("GBX_TEST_STATE");
    unsetenv("GBX_TEST_UNSET_A");
    unsetenv("GBX_TEST_UNSET_B");
    gbx_config *cfg = load("main/app.conf");
    if (!cfg) return;

    /* comments gone, strings untouched by comment stripping */
    CHECK_STR(gbx_config_get_string(cfg, "component", NULL), "barn");
    CHECK_STR(gbx_config_get_string(cfg, "url", NULL), "http://example.com/a//b#not-a-comment");
    /* expansion: set, defaulted, escaped, empty (":-" also replaces empty), nested */
    CHECK_STR(gbx_config_get_string(cfg, "listen.port", NULL), "5080");
    CHECK_INT(gbx_config_get_int(cfg, "listen.port", 0), 5080);
    CHECK_STR(gbx_config_get_string(cfg, "status.path", NULL), "state/status.db");
    CHECK_STR(gbx_config_get_string(cfg, "price", NULL), "$5 and $HOME and fallback and []");
    CHECK_STR(gbx_config_get_string(cfg, "nested", NULL), "deep");
    json_t *list = gbx_config_get(cfg, "list");
    CHECK_INT(json_integer_value(json_array_get(list, 0)), 1);
    CHECK_STR(json_string_value(json_array_get(list, 1)), "two");
    CHECK_STR(json_string_value(json_array_get(json_array_get(list, 2), 0)), "wilbur");
    CHECK_STR(json_string_value(json_object_get(json_array_get(list, 3), "k")), "wilbur-x");

    /* typed getters with numeric strings */
    CHECK_INT(gbx_config_get_int(cfg, "threads", 0), 4);
    CHECK_INT(gbx_config_get_int(cfg, "whole_real", 0), 8);
    CHECK_INT(gbx_config_get_int(cfg, "fraction", -1), -1);
    CHECK_INT(gbx_config_get_int(cfg, "not_a_number", -1), -1);
    CHECK_INT(gbx_config_get_int(cfg, "component", -1), -1);
    CHECK_INT(gbx_config_get_int(cfg, "missing", 77), 77);
    CHECK_INT(gbx_config_get_int(cfg, "listen.port.deeper", 9), 9);
    CHECK(gbx_config_get_real(cfg, "ratio", 0) == 0.25);
    CHECK(gbx_config_get_real(cfg, "threads", 0) == 4.0);
    CHECK(gbx_config_get_real(cfg, "fraction", 0) == 2.5);
    CHECK(gbx_config_get_real(cfg, "not_a_number", 1.5) == 1.5);
    CHECK(gbx_config_get_bool(cfg, "verbose", false) == true);
    CHECK(gbx_config_get_bool(cfg, "quiet", true) == false);
    CHECK(gbx_config_get_bool(cfg, "flag", false) == true);
    CHECK(gbx_config_get_bool(cfg, "barn.keep", false) == true);
    CHECK(gbx_config_get_bool(cfg, "component", true) == true);
    CHECK(gbx_config_get_bool(cfg, "missing", true) == true);
    CHECK_STR(gbx_config_get_string(cfg, "threads", "dflt"), "dflt");

    /* config.d: merged sections; barn.conf overrides the main file's keys */
    CHECK_STR(gbx_config_get_string(cfg, "barn.state_dir", NULL), "state/barn");
    CHECK_INT(gbx_config_get_int(cfg, "barn.animals", 0), 3);
    CHECK(gbx_config_get_bool(cfg, "barn.keep", false));
    CHECK_INT(gbx_config_get_int(cfg, "alpha.order", 0), 1);
    CHECK_STR(json_string_value(json_array_get(gbx_config_get(cfg, "zeta"), 0)), "z");
    CHECK(gbx_config_get(cfg, "notes") == NULL);
    CHECK(gbx_config_get(cfg, ".hidden") == NULL);
    CHECK(gbx_config_get(cfg, "") == NULL || gbx_config_get(cfg, "") == gbx_config_root(cfg));
    /* new sections come after the main file's keys, in file-name order */
    const char *keys[64];
    size_t n = 0;
    const char *key;
    json_t *value;
    json_object_foreach(gbx_config_root(cfg), key, value) if (n < 64) keys[n++] = key;
    CHECK(n >= 2);
    CHECK_STR(keys[n - 2], "alpha");
    CHECK_STR(keys[n - 1], "zeta");

    /* paths resolve against the (absolute) directory of the file */
    const char *dir = gbx_config_dir(cfg);
    CHECK(dir && dir[0] == '/');
    CHECK(dir && strstr(dir, "tests/data/config/main") != NULL);
    char *p = NULL;
    CHECK_INT(gbx_config_get_path(&p, cfg, "schemadir", NULL), GBX_OK);
    char expected[4300];
    snprintf(expected, sizeof expected, "%s/../schemas", dir);
    CHECK_STR(p, expected);
    free(p);
    CHECK_INT(gbx_config_get_path(&p, cfg, "absolute", NULL), GBX_OK);
    CHECK_STR(p, "/etc/gearbox");
    free(p);
    CHECK_INT(gbx_config_get_path(&p, cfg, "nowhere", "logs"), GBX_OK);
    snprintf(expected, sizeof expected, "%s/logs", dir);
    CHECK_STR(p, expected);
    free(p);
    p = (char *)1;
    CHECK_INT(gbx_config_get_path(&p, cfg, "nowhere", NULL), GBX_OK);
    CHECK(p == NULL);
    CHECK_INT(gbx_config_get_path(&p, cfg, "threads", NULL), GBX_ERR_INTERNAL_SERVER_ERROR);
    CHECK(strstr(gbx_error_last()->message, "threads") != NULL);
    CHECK(strstr(gbx_error_last()->message, "app.conf") != NULL);

    char *servers = NULL;
    CHECK_INT(gbx_config_gearman_servers(&servers, cfg), GBX_OK);
    CHECK_STR(servers, "127.0.0.1:4730,10.0.0.2:4731");
    free(servers);
    gbx_config_free(cfg);
    gbx_config_free(NULL);
}

static void test_config_dir_key(void) {
    setenv("GBX_TEST_NAME", "charlotte", 1);
    unsetenv("GBX_TEST_SECTIONS");
    gbx_config *cfg = load("alt/app.conf");
    if (!cfg) return;
    CHECK_STR(gbx_config_get_string(cfg, "one.value", NULL), "charlotte");
    char *servers;
    CHECK_INT(gbx_config_gearman_servers(&servers, cfg), GBX_OK);
    CHECK_STR(servers, "h1:1,h2:2");
    free(servers);
    gbx_config_free(cfg);
    /* config_dir pointing nowhere: no sections, no error */
    setenv("GBX_TEST_SECTIONS", "no-such-dir", 1);
    cfg = load("alt/app.conf");
    CHECK(cfg && gbx_config_get(cfg, "one") == NULL);
    gbx_config_free(cfg);
    unsetenv("GBX_TEST_SECTIONS");
}

static void test_bad_section(void) {
    char path[4200];
    snprintf(path, sizeof path, "%s/badsection/app.conf", data_dir);
    gbx_config *cfg = (gbx_config *)1;
    CHECK(gbx_config_load(&cfg, path) != GBX_OK);
    CHECK(cfg == NULL);
    const char *msg = gbx_error_last()->message;
    CHECK(strstr(msg, "badsection/config.d/broken.conf") != NULL);
    CHECK(strstr(msg, "line 3") != NULL || strstr(msg, "line 2") != NULL);
}

/* Broken files: each text is written to a temporary file and must fail
 * with a message holding every given piece (the file name is checked for
 * all of them). */
static void test_errors(void) {
    static const struct {
        const char *text;
        const char *pieces[3];
    } cases[] = {
        {"{\"a\": \"${GBX_TEST_UNSET_A}\"}", {"GBX_TEST_UNSET_A", "is not set", "(at a)"}},
        {"{\"a\": {\"b\": [\"x\", \"${GBX_TEST_UNSET_B}\"]}}", {"GBX_TEST_UNSET_B", "(at a.b[1])", NULL}},
        {"{\"a\": \"${GBX_TEST_UNSET_A:-${GBX_TEST_UNSET_B}}\"}", {"GBX_TEST_UNSET_B", "is not set", NULL}},
        {"{\"a\": \"${GBX_TEST_NAME\"}", {"unterminated", "GBX_TEST_NAME", NULL}},
        {"{\"a\": \"${GBX_TEST_NAME:-x\"}", {"unterminated", NULL, NULL}},
        {"{\"a\": \"${1ABC}\"}", {"invalid variable reference", NULL, NULL}},
        {"{\"a\": \"${}\"}", {"invalid variable reference", NULL, NULL}},
        {"{\"a\": \"${GBX_TEST_NAME-x}\"}", {"invalid variable reference", NULL, NULL}},
        {"{\"a\": 1,\n \"b\": }", {"malformed JSON", "line 2", NULL}},
        {"{\"a\": 1, \"a\": 2}", {"malformed JSON", NULL, NULL}},
        {"", {"malformed JSON", NULL, NULL}},
        {"[1, 2]", {"not a JSON object", NULL, NULL}},
        {"{\"config_dir\": 5}", {"config_dir must be a string", NULL, NULL}},
    };
    char dir[] = "/tmp/gbx-test-config-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0);
        return;
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/case%zu.conf", dir, i);
        FILE *f = fopen(path, "w");
        if (!f) {
            CHECK(0);
            continue;
        }
        fputs(cases[i].text, f);
        fclose(f);
        gbx_config *cfg = (gbx_config *)1;
        gbx_err rc = gbx_config_load(&cfg, path);
        const char *msg = gbx_error_last()->message;
        int ok = rc != GBX_OK && cfg == NULL && strstr(msg, path) != NULL;
        for (int k = 0; k < 3 && cases[i].pieces[k]; k++) ok = ok && strstr(msg, cases[i].pieces[k]) != NULL;
        if (!ok) fprintf(stderr, "case %zu (%s): rc %d, message \"%s\"\n", i, cases[i].text, rc, msg);
        CHECK(ok);
        if (rc == GBX_OK) gbx_config_free(cfg);
        unlink(path);
    }
    rmdir(dir);

    gbx_config *cfg = (gbx_config *)1;
    CHECK_INT(gbx_config_load(&cfg, "/nonexistent/gearbox.conf"), GBX_ERR_NOT_FOUND);
    CHECK(cfg == NULL);
    CHECK_STR(gbx_error_last()->message, "cannot open config /nonexistent/gearbox.conf: No such file or directory");
    CHECK_INT(gbx_config_load(&cfg, NULL), GBX_ERR_NOT_FOUND);
}

static void test_from_json_and_servers(void) {
    static const struct {
        const char *json;
        const char *servers; /* NULL: an error */
    } cases[] = {
        {"{}", "127.0.0.1:4730"},
        {"{\"gearman\": \"a:1\"}", "a:1"},
        {"{\"gearman\": {\"host\": \"gm\", \"port\": 4000}}", "gm:4000"},
        {"{\"gearman\": {\"host\": \"gm\", \"port\": \"4001\"}}", "gm:4001"},
        {"{\"gearman\": {\"host\": \"gm\"}}", "gm:4730"},
        {"{\"gearman\": {\"port\": 4002}}", "127.0.0.1:4002"},
        {"{\"gearman\": {\"servers\": [\"a:1\"]}}", "a:1"},
        {"{\"gearman\": {\"servers\": [\"a:1\", {\"host\": \"b\", \"port\": 2}]}}", "a:1,b:2"},
        {"{\"gearman\": {\"servers\": \"a:1,b:2\"}}", "a:1,b:2"},
        {"{\"gearman\": {\"servers\": []}}", NULL},
        {"{\"gearman\": {\"servers\": [5]}}", NULL},
        {"{\"gearman\": {\"servers\": [\"\"]}}", NULL},
        {"{\"gearman\": {\"port\": \"x\"}}", NULL},
        {"{\"gearman\": {\"port\": 70000}}", NULL},
        {"{\"gearman\": {\"host\": 5}}", NULL},
        {"{\"gearman\": \"\"}", NULL},
        {"{\"gearman\": 4730}", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *root = json_loads(cases[i].json, 0, NULL);
        gbx_config *cfg = NULL;
        CHECK_INT(gbx_config_from_json(&cfg, root, NULL), GBX_OK);
        json_decref(root); /* the config holds its own reference */
        char *servers = (char *)1;
        gbx_err rc = gbx_config_gearman_servers(&servers, cfg);
        if (cases[i].servers) {
            if (rc) fprintf(stderr, "%s: %s\n", cases[i].json, gbx_error_last()->message);
            CHECK_INT(rc, GBX_OK);
            CHECK_STR(servers, cases[i].servers);
            free(servers);
        } else {
            CHECK_INT(rc, GBX_ERR_INTERNAL_SERVER_ERROR);
            CHECK(servers == NULL);
            CHECK(strstr(gbx_error_last()->message, "gearman") != NULL);
        }
        gbx_config_free(cfg);
    }

    /* base_dir for relative paths; NULL means "." */
    json_t *root = json_pack("{s:s}", "dir", "sub/x");
    gbx_config *cfg;
    CHECK_INT(gbx_config_from_json(&cfg, root, "/srv/app"), GBX_OK);
    CHECK(gbx_config_root(cfg) == root);
    CHECK_STR(gbx_config_dir(cfg), "/srv/app");
    char *p;
    CHECK_INT(gbx_config_get_path(&p, cfg, "dir", NULL), GBX_OK);
    CHECK_STR(p, "/srv/app/sub/x");
    free(p);
    gbx_config_free(cfg);
    CHECK_INT(gbx_config_from_json(&cfg, root, NULL), GBX_OK);
    CHECK_STR(gbx_config_dir(cfg), ".");
    gbx_config_free(cfg);
    json_decref(root);
    json_t *arr = json_array();
    cfg = (gbx_config *)1;
    CHECK(gbx_config_from_json(&cfg, arr, NULL) != GBX_OK);
    CHECK(cfg == NULL);
    json_decref(arr);
}

/* The config path out of a worker's argv: each case is an argv (program
 * first) and the path picked, or NULL and a piece of the error message. */
static void test_path_from_argv(void) {
    static const struct {
        const char *argv[6];
        const char *path, *error;
    } cases[] = {
        {{"w.pl", "my.conf"}, "my.conf", NULL},
        {{"w.pl", "--config", "my.conf"}, "my.conf", NULL},
        {{"w.pl", "--config=my.conf"}, "my.conf", NULL},
        {{"w.pl", "--max-requests", "5", "--config", "/a/b.conf"}, "/a/b.conf", NULL},
        {{"w.pl", "first.conf", "--config", "other.conf"}, "other.conf", NULL},
        {{"w.pl", "my.conf", "--log-file", "x"}, "my.conf", NULL},
        {{"/usr/bin/w.pl"}, NULL, "w.pl: no config given: run it as w.pl CONFIG or w.pl --config CONFIG"},
        {{"w.pl", "--max-requests", "5"}, NULL, "w.pl: no config given"},
        {{"w.pl", ""}, NULL, "no config given"},
        {{"w.pl", "--config"}, NULL, "w.pl: --config needs a path after it"},
        {{"w.pl", "--config="}, NULL, "--config needs a path"},
        {{"w.pl", "--config", "a", "--config=b"}, NULL, "--config given twice (\"a\" and \"b\")"},
        {{NULL}, NULL, "worker: no config given"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int argc = 0;
        while (argc < 6 && cases[i].argv[argc]) argc++;
        char *path = (char *)1;
        gbx_err rc = gbx_config_path_from_argv(&path, argc, (char *const *)cases[i].argv);
        if (cases[i].path) {
            CHECK_INT(rc, GBX_OK);
            CHECK_STR(path, cases[i].path);
            free(rc ? NULL : path);
        } else {
            const char *msg = gbx_error_last()->message;
            int ok = rc == GBX_ERR_BAD_REQUEST && path == NULL && strstr(msg, cases[i].error);
            if (!ok) fprintf(stderr, "argv case %zu: rc %d, message \"%s\"\n", i, rc, msg);
            CHECK(ok);
        }
    }
}

/* The bindings' form: a JSON array (an argv) or one string (a path). */
static void test_path_from_args(void) {
    static const struct {
        const char *json, *path, *error;
    } cases[] = {
        {"\"my.conf\"", "my.conf", NULL},
        {"\"--config=my.conf\"", "my.conf", NULL},
        {"[\"w.php\", \"--config\", \"my.conf\"]", "my.conf", NULL},
        {"[\"w.php\", \"my.conf\"]", "my.conf", NULL},
        {"\"--config\"", NULL, "\"--config\" is an option, not a config file: give the worker the program's arguments"},
        {"\"\"", NULL, "no config given"},
        {"[\"w.php\"]", NULL, "w.php: no config given"},
        {"[\"w.php\", 5]", NULL, "must be strings (item 1 is not)"},
        {"null", NULL, "a worker takes the config's path or the program's arguments"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *args = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
        CHECK(args != NULL);
        char *path = NULL;
        gbx_err rc = gbx_config_path_from_args(&path, args);
        if (cases[i].path) {
            CHECK_INT(rc, GBX_OK);
            CHECK_STR(path, cases[i].path);
        } else {
            const char *msg = gbx_error_last()->message;
            int ok = rc == GBX_ERR_BAD_REQUEST && path == NULL && strstr(msg, cases[i].error);
            if (!ok) fprintf(stderr, "args case %zu (%s): rc %d, message \"%s\"\n", i, cases[i].json, rc, msg);
            CHECK(ok);
        }
        free(path);
        json_decref(args);
    }
    char *path = (char *)1;
    CHECK_INT(gbx_config_path_from_args(&path, NULL), GBX_ERR_BAD_REQUEST);
    CHECK(path == NULL);
}

int main(void) {
    find_data_dir();
    test_main_file();
    test_config_dir_key();
    test_bad_section();
    test_errors();
    test_from_json_and_servers();
    test_path_from_argv();
    test_path_from_args();
    return check_done();
}
