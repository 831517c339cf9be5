/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit tests of the signed callbacks' parts that need no network
 * (gateway/src/gw_callback.c): the signature, the location keys and which
 * URLs a location allows.  Delivery, retries and restarts are tested on a
 * real stack (tests/stack/test_callbacks.py). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "gearbox/json.h"
#include "gw_callback.h"
#include "gw_config.h"

/* The callback keys of a location written as JSON: its callback settings,
 * or NULL with the error's message in `message`. */
static gbx_gw_callback_location *load(const char *json, char *message, size_t len) {
    json_t *spec = json_loads(json, 0, NULL);
    gbx_gw_callback_location *cb = NULL;
    message[0] = '\0';
    if (!spec) return NULL;
    if (gbx_gw_callback_location_load(&cb, spec, "/tmp", "location \"/barn\"") != GBX_OK)
        snprintf(message, len, "%s", gbx_error_last()->message);
    json_decref(spec);
    return cb;
}

static void test_sign(void) {
    char sig[128];
    const char *secret = "0123456789abcdef-secret", *body = "{\"state\":\"COMPLETED\"}";
    CHECK_INT(gbx_gw_callback_sign(sig, sizeof sig, secret, strlen(secret), 1764892800LL, body,
                                   strlen(body)),
              GBX_OK);
    /* Python: hmac.new(secret, b"1764892800." + body, sha256).hexdigest() */
    CHECK_STR(sig, "t=1764892800,v1=5e8b0a9d14756b12ea88b21f302b62e87f01cb12c597f7dfec47bbaa81257c95");
    char small[20];
    CHECK_INT(gbx_gw_callback_sign(small, sizeof small, secret, strlen(secret), 1, "", 0),
              GBX_ERR_INTERNAL_SERVER_ERROR);
}

static void test_location_keys(void) {
    char msg[512];
    CHECK(load("{}", msg, sizeof msg) == NULL && msg[0] == '\0'); /* none: no callbacks */
    static const struct {
        const char *json, *error;
    } bad[] = {
        {"{\"callback_secret\": \"0123456789abcdef\"}", "without \"callback_hosts\""},
        {"{\"callback_hosts\": [\"h\"]}", "exactly one of"},
        {"{\"callback_hosts\": [\"h\"], \"callback_secret\": \"0123456789abcdef\","
         " \"callback_secret_file\": \"f\"}", "exactly one of"},
        {"{\"callback_hosts\": [\"h\"], \"callback_secret\": \"short\"}", "at least 16 bytes"},
        {"{\"callback_hosts\": [], \"callback_secret\": \"0123456789abcdef\"}", "non-empty array"},
        {"{\"callback_hosts\": \"h\", \"callback_secret\": \"0123456789abcdef\"}", "non-empty array"},
        {"{\"callback_hosts\": [\"ftp://h\"], \"callback_secret\": \"0123456789abcdef\"}", "callback_hosts[0]"},
        {"{\"callback_hosts\": [\"h\", \"https://h/path\"], \"callback_secret\": \"0123456789abcdef\"}",
         "callback_hosts[1]"},
        {"{\"callback_hosts\": [\"u:p@h\"], \"callback_secret\": \"0123456789abcdef\"}", "callback_hosts[0]"},
        {"{\"callback_hosts\": [\"h\"], \"callback_secret_file\": \"/nonexistent/gbx-secret\"}",
         "cannot read callback_secret_file"},
        {"{\"callback_hosts\": [\"h\"], \"callback_secret\": 5}", "must be a string"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gbx_gw_callback_location *cb = load(bad[i].json, msg, sizeof msg);
        CHECK(cb == NULL);
        if (!strstr(msg, bad[i].error) || !strstr(msg, "location \"/barn\"")) {
            fprintf(stderr, "%s: got \"%s\", expected \"%s\"\n", bad[i].json, msg, bad[i].error);
            check_failed++;
        }
        gbx_gw_callback_location_free(cb);
    }
    /* A secret file: trailing white space is not part of the secret. */
    char path[] = "/tmp/gbx-test-secret-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, "0123456789abcdef\n", 17) == 17);
    close(fd);
    char json[256];
    snprintf(json, sizeof json, "{\"callback_hosts\": [\"h\"], \"callback_secret_file\": \"%s\"}", path);
    gbx_gw_callback_location *cb = load(json, msg, sizeof msg);
    CHECK(cb != NULL);
    gbx_gw_callback_location_free(cb);
    unlink(path);
}

static void test_allowed_urls(void) {
    char msg[512];
    gbx_gw_location parent, nested, none;
    memset(&parent, 0, sizeof parent);
    memset(&nested, 0, sizeof nested);
    memset(&none, 0, sizeof none);
    parent.path = "/barn";
    nested.path = "/barn/v1/hello";
    nested.parent = &parent;
    none.path = "/silo";
    parent.callback = load("{\"callback_hosts\": [\"Hooks.Example.com\", \"api.example.com:8443\","
                           " \"http://127.0.0.1:9000\", \"https://[::1]\"],"
                           " \"callback_secret\": \"0123456789abcdef\"}",
                           msg, sizeof msg);
    CHECK(parent.callback != NULL);
    static const char *const good[] = {
        "https://hooks.example.com/done?x=1", "https://HOOKS.example.com:444/", "https://api.example.com:8443/a",
        "http://127.0.0.1:9000/x#f", "https://[::1]:1/x"};
    static const char *const refused[] = {
        "http://hooks.example.com/done", "https://api.example.com/a", "https://api.example.com:8444/a",
        "http://127.0.0.1:9001/x", "https://127.0.0.1:9000/x", "http://127.0.0.1/x",
        "https://evil.example/x", "https://hooks.example.com.evil.example/", "https://user@hooks.example.com/",
        "ftp://hooks.example.com/", "/relative", "hooks.example.com", "https://hooks.example.com/a b",
        "", "https://"};
    for (int pass = 0; pass < 2; pass++) {
        const gbx_gw_location *loc = pass ? &nested : &parent; /* nested: the parent's settings */
        for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
            const char *url = NULL, *owner = NULL;
            CHECK_INT(gbx_gw_callback_check(&url, &owner, loc, good[i]), GBX_OK);
            CHECK(url == good[i]);
            CHECK_STR(owner ? owner : "", "/barn");
        }
        for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
            const char *url = NULL, *owner = NULL;
            gbx_err e = gbx_gw_callback_check(&url, &owner, loc, refused[i]);
            if (e != GBX_ERR_BAD_REQUEST) fprintf(stderr, "allowed: \"%s\"\n", refused[i]);
            CHECK_INT(e, GBX_ERR_BAD_REQUEST);
            CHECK(url == NULL && owner == NULL);
        }
    }
    const char *url = NULL, *owner = NULL;
    CHECK_INT(gbx_gw_callback_check(&url, &owner, &none, NULL), GBX_OK); /* no header */
    CHECK(url == NULL);
    CHECK_INT(gbx_gw_callback_check(&url, &owner, &none, "https://hooks.example.com/"), GBX_ERR_BAD_REQUEST);
    CHECK(strstr(gbx_error_last()->message, "no callback_hosts") != NULL);
    gbx_gw_callback_location_free(parent.callback);
}

/* The gateway's "callbacks" section, as docs/security.md shows it. */
static void test_settings(void) {
    static const struct {
        const char *json;
        gbx_err rc;
    } cases[] = {
        {"{}", GBX_OK},
        {"{\"callbacks\": {\"timeout\": 10, \"retry_base\": 1, \"retry_cap\": 3600,"
         " \"give_up_after\": 86400, \"ca_file\": null}}", GBX_OK},
        {"{\"callbacks\": {\"ca_file\": \"/etc/ssl/certs/ca-certificates.crt\"}}", GBX_OK},
        {"{\"callbacks\": {\"ca_file\": 1}}", GBX_ERR_BAD_REQUEST},
        {"{\"callbacks\": {\"timeout\": 0}}", GBX_ERR_BAD_REQUEST},
        {"{\"callbacks\": {\"retry_cap\": \"1\"}}", GBX_ERR_BAD_REQUEST},
        {"{\"callbacks\": {\"retries\": 3}}", GBX_ERR_BAD_REQUEST},
        {"{\"callbacks\": []}", GBX_ERR_BAD_REQUEST},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *root = json_loads(cases[i].json, 0, NULL);
        gbx_config *cfg = NULL;
        CHECK(root && gbx_config_from_json(&cfg, root, "/tmp") == GBX_OK);
        gbx_gw_callback_settings *s = NULL;
        gbx_err rc = cfg ? gbx_gw_callback_settings_load(&s, cfg) : GBX_ERR_INTERNAL_SERVER_ERROR;
        if (rc != cases[i].rc) fprintf(stderr, "%s: %s\n", cases[i].json, gbx_error_last()->message);
        CHECK_INT(rc, cases[i].rc);
        CHECK((rc == GBX_OK) == (s != NULL));
        gbx_gw_callback_settings_free(s);
        gbx_config_free(cfg);
        json_decref(root);
    }
}

int main(void) {
    test_sign();
    test_settings();
    test_location_keys();
    test_allowed_urls();
    return check_done();
}
