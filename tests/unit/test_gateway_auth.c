/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit tests of the gateway's authentication (gateway/src/gw_auth.c) and
 * rate limits (gw_ratelimit.c): token and htpasswd files, verification,
 * reload, scopes; htpasswd hashes are made here with libcrypt. */
#define _GNU_SOURCE /* crypt_r */
#include <crypt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "files.h"
#include "gearbox/error.h"
#include "gw_auth.h"
#include "gw_config.h"
#include "gw_ratelimit.h"

static char dir[] = "/tmp/gbx-test-gwauth-XXXXXX";

/* files_write with printf formatting. */
static void write_file(const char *name, const char *fmt, ...) {
    char text[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    files_write(dir, name, text);
}

static void remove_file(const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
}

static void b64(char *out, const char *in) {
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(in), o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)in[i] << 16;
        if (i + 1 < n) v |= (unsigned char)in[i + 1] << 8;
        if (i + 2 < n) v |= (unsigned char)in[i + 2];
        out[o++] = t[v >> 18 & 63];
        out[o++] = t[v >> 12 & 63];
        out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? t[v & 63] : '=';
    }
    out[o] = '\0';
}

/* "Basic <base64(user:password)>" */
static const char *basic(const char *user, const char *password) {
    static char header[512];
    char pair[256], enc[400];
    snprintf(pair, sizeof pair, "%s:%s", user, password);
    b64(enc, pair);
    snprintf(header, sizeof header, "Basic %s", enc);
    return header;
}

/* A crypt hash of `password` with the method of `prefix` ("$6$", ...). */
static char *hash(const char *prefix, const char *password) {
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    if (!crypt_gensalt_rn(prefix, 0, NULL, 0, setting, sizeof setting)) return NULL;
    struct crypt_data data;
    memset(&data, 0, sizeof data);
    const char *h = crypt_r(password, setting, &data);
    return h && h[0] != '*' ? strdup(h) : NULL;
}

static gbx_gw_auth *load(const char *json) {
    json_t *spec = json_loads(json, JSON_DECODE_ANY, NULL);
    gbx_gw_auth *auth = NULL;
    gbx_err e = gbx_gw_auth_new(&auth, spec, dir, "location \"/t\"");
    if (e != GBX_OK) fprintf(stderr, "auth: %s\n", gbx_error_last()->message);
    json_decref(spec);
    return auth;
}

static void expect_load_error(const char *json, const char *needle) {
    json_t *spec = json ? json_loads(json, JSON_DECODE_ANY, NULL) : NULL;
    gbx_gw_auth *auth = NULL;
    CHECK_INT(gbx_gw_auth_new(&auth, spec, dir, "location \"/t\""), GBX_ERR_BAD_REQUEST);
    CHECK(auth == NULL);
    if (!strstr(gbx_error_last()->message, needle))
        fprintf(stderr, "expected \"%s\" in: %s\n", needle, gbx_error_last()->message);
    CHECK(strstr(gbx_error_last()->message, needle) != NULL);
    json_decref(spec);
}

static void test_sha256(void) {
    char hex[65];
    gbx_gw_sha256_hex(hex, "", 0);
    CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    gbx_gw_sha256_hex(hex, "abc", 3);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    gbx_gw_sha256_hex(hex, two, strlen(two));
    CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char million[1000];
    memset(million, 'a', sizeof million);
    gbx_gw_sha256_hex(hex, million, sizeof million);
    CHECK_STR(hex, "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
}

static void test_helpers(void) {
    CHECK(gbx_gw_secure_equal("abc", 3, "abc", 3));
    CHECK(!gbx_gw_secure_equal("abc", 3, "abd", 3));
    CHECK(!gbx_gw_secure_equal("abc", 3, "abcd", 4));
    CHECK(!gbx_gw_secure_equal("", 0, "a", 1));
    CHECK(gbx_gw_secure_equal("", 0, "", 0));
    unsigned s = 0;
    CHECK_INT(gbx_gw_scopes_parse(&s, "read,write"), GBX_OK);
    CHECK_INT(s, GBX_GW_SCOPE_READ | GBX_GW_SCOPE_WRITE);
    CHECK_INT(gbx_gw_scopes_parse(&s, " cancel, admin "), GBX_OK);
    CHECK_INT(s, GBX_GW_SCOPE_CANCEL | GBX_GW_SCOPE_ADMIN);
    CHECK_INT(gbx_gw_scopes_parse(&s, "read,delete"), GBX_ERR_BAD_REQUEST);
    CHECK(strstr(gbx_error_last()->message, "\"delete\"") != NULL);
    CHECK_INT(gbx_gw_scopes_parse(&s, ""), GBX_ERR_BAD_REQUEST);
    char buf[64];
    gbx_gw_scopes_format(buf, sizeof buf, GBX_GW_SCOPE_READ | GBX_GW_SCOPE_CANCEL);
    CHECK_STR(buf, "read,cancel");
}

static void test_bearer(void) {
    char alice[65], bob[65];
    gbx_gw_sha256_hex(alice, "alice-token", strlen("alice-token"));
    gbx_gw_sha256_hex(bob, "bob-token", strlen("bob-token"));
    write_file("tokens", "# tokens of the test\n\n%s alice read,write\n  %s bob read # a reader\n", alice,
               bob);
    gbx_gw_auth *auth = load("{\"type\": \"bearer\", \"tokens_file\": \"tokens\"}");
    CHECK(auth != NULL);
    if (!auth) return;
    CHECK_STR(gbx_gw_auth_type(auth), "bearer");
    CHECK_INT(gbx_gw_auth_size(auth), 2);
    CHECK(strncmp(gbx_gw_auth_challenge(auth), "Bearer", 6) == 0);
    gbx_gw_principal who;
    CHECK_INT(gbx_gw_auth_verify(&who, auth, "Bearer alice-token"), GBX_OK);
    CHECK_STR(who.name, "alice");
    CHECK_INT(who.scopes, GBX_GW_SCOPE_READ | GBX_GW_SCOPE_WRITE);
    CHECK_INT(gbx_gw_auth_verify(&who, auth, "bearer   bob-token"), GBX_OK);
    CHECK_STR(who.name, "bob");
    CHECK_INT(who.scopes, GBX_GW_SCOPE_READ);
    CHECK_INT(gbx_gw_auth_verify(&who, auth, "Bearer carol-token"), GBX_ERR_UNAUTHORIZED);
    CHECK(strstr(gbx_error_last()->message, "carol") == NULL); /* no secret in the message */
    CHECK_STR(who.name, "");
    CHECK_INT(gbx_gw_auth_verify(&who, auth, NULL), GBX_ERR_UNAUTHORIZED);
    CHECK_INT(gbx_gw_auth_verify(&who, auth, "Bearer"), GBX_ERR_UNAUTHORIZED);
    CHECK_INT(gbx_gw_auth_verify(&who, auth, basic("alice", "alice-token")), GBX_ERR_UNAUTHORIZED);
    /* The hash itself is not a token. */
    char header[100];
    snprintf(header, sizeof header, "Bearer %s", alice);
    CHECK_INT(gbx_gw_auth_verify(&who, auth, header), GBX_ERR_UNAUTHORIZED);

    /* Reload: bob goes, carol comes; a broken file keeps the table. */
    char carol[65];
    gbx_gw_sha256_hex(carol, "carol-token", strlen("carol-token"));
    write_file("tokens", "%s alice read,write\n%s carol admin\n", alice, carol);
    CHECK_INT(gbx_gw_auth_reload(auth), GBX_OK);
    CHECK_INT(gbx_gw_auth_verify(&who, auth, "Bearer bob-token"), GBX_ERR_UNAUTHORIZED);
    CHECK_INT(gbx_gw_auth_verify(&who, auth, "Bearer carol-token"), GBX_OK);
    CHECK_INT(who.scopes, GBX_GW_SCOPE_ADMIN);
    write_file("tokens", "carol-token carol admin\n");
    CHECK_INT(gbx_gw_auth_reload(auth), GBX_ERR_BAD_REQUEST);
    CHECK(strstr(gbx_error_last()->message, "SHA-256") != NULL);
    CHECK(strstr(gbx_error_last()->message, "carol-token") == NULL);
    CHECK_INT(gbx_gw_auth_verify(&who, auth, "Bearer carol-token"), GBX_OK);
    remove_file("tokens");
    CHECK_INT(gbx_gw_auth_reload(auth), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_gw_auth_verify(&who, auth, "Bearer alice-token"), GBX_OK);
    gbx_gw_auth_free(auth);

    /* Bad files. */
    write_file("tokens", "%s alice read\n%s alice2 write\n", alice, alice);
    expect_load_error("{\"type\": \"bearer\", \"tokens_file\": \"tokens\"}", "listed twice");
    write_file("tokens", "%s alice\n", alice);
    expect_load_error("{\"type\": \"bearer\", \"tokens_file\": \"tokens\"}", "tokens:1");
    write_file("tokens", "%s al/ice read\n", alice);
    expect_load_error("{\"type\": \"bearer\", \"tokens_file\": \"tokens\"}", "principal");
    write_file("tokens", "%s alice read,root\n", alice);
    expect_load_error("{\"type\": \"bearer\", \"tokens_file\": \"tokens\"}", "\"root\"");
    expect_load_error("{\"type\": \"bearer\", \"tokens_file\": \"nothing-here\"}", "nothing-here");
}

static void test_basic(void) {
    char *sha = hash("$6$", "some pig"), *bcrypt = hash("$2b$", "terrific"),
         *yes = hash("$y$", "radiant");
    CHECK(sha && bcrypt && yes);
    if (!sha || !bcrypt || !yes) return;
    write_file("htpasswd", "# users\nwilbur:%s\ncharlotte:%s:read,cancel\nfern:%s:admin\n", sha, bcrypt,
               yes);
    gbx_gw_auth *auth = load("{\"type\": \"basic\", \"htpasswd\": \"htpasswd\"}");
    CHECK(auth != NULL);
    if (!auth) return;
    CHECK_INT(gbx_gw_auth_size(auth), 3);
    CHECK(strncmp(gbx_gw_auth_challenge(auth), "Basic", 5) == 0);
    gbx_gw_principal who;
    CHECK_INT(gbx_gw_auth_verify(&who, auth, basic("wilbur", "some pig")), GBX_OK);
    CHECK_STR(who.name, "wilbur");
    CHECK_INT(who.scopes, GBX_GW_SCOPE_READ | GBX_GW_SCOPE_WRITE | GBX_GW_SCOPE_CANCEL);
    CHECK_INT(gbx_gw_auth_verify(&who, auth, basic("charlotte", "terrific")), GBX_OK);
    CHECK_INT(who.scopes, GBX_GW_SCOPE_READ | GBX_GW_SCOPE_CANCEL);
    CHECK_INT(gbx_gw_auth_verify(&who, auth, basic("fern", "radiant")), GBX_OK);
    CHECK_INT(who.scopes, GBX_GW_SCOPE_ADMIN);
    CHECK_INT(gbx_gw_auth_verify(&who, auth, basic("wilbur", "some pig!")), GBX_ERR_UNAUTHORIZED);
    CHECK(strstr(gbx_error_last()->message, "pig") == NULL);
    CHECK_INT(gbx_gw_auth_verify(&who, auth, basic("wilbur", "")), GBX_ERR_UNAUTHORIZED);
    CHECK_INT(gbx_gw_auth_verify(&who, auth, basic("templeton", "some pig")), GBX_ERR_UNAUTHORIZED);
    /* A password with a colon is the password's. */
    CHECK_INT(gbx_gw_auth_verify(&who, auth, basic("fern", "radiant:x")), GBX_ERR_UNAUTHORIZED);
    CHECK_INT(gbx_gw_auth_verify(&who, auth, "Basic !!!!"), GBX_ERR_UNAUTHORIZED);
    CHECK_INT(gbx_gw_auth_verify(&who, auth, "Basic d2lsYnVy"), GBX_ERR_UNAUTHORIZED); /* no colon */
    CHECK_INT(gbx_gw_auth_verify(&who, auth, "Basic OnB3"), GBX_ERR_UNAUTHORIZED);     /* ":pw" */
    CHECK_INT(gbx_gw_auth_verify(&who, auth, "Bearer some-pig"), GBX_ERR_UNAUTHORIZED);
    /* The hash is not the password. */
    CHECK_INT(gbx_gw_auth_verify(&who, auth, basic("wilbur", sha)), GBX_ERR_UNAUTHORIZED);
    gbx_gw_auth_free(auth);

    /* Weak or plain-text entries are refused. */
    write_file("htpasswd", "wilbur:$1$abc$0123456789abcdefghijkl\n");
    expect_load_error("{\"type\": \"basic\", \"htpasswd\": \"htpasswd\"}", "only bcrypt");
    write_file("htpasswd", "wilbur:some pig\n");
    expect_load_error("{\"type\": \"basic\", \"htpasswd\": \"htpasswd\"}", "only bcrypt");
    write_file("htpasswd", "wilbur\n");
    expect_load_error("{\"type\": \"basic\", \"htpasswd\": \"htpasswd\"}", "htpasswd:1");
    free(sha);
    free(bcrypt);
    free(yes);
}

static void test_sections(void) {
    gbx_gw_auth *auth = (gbx_gw_auth *)1;
    json_t *none = json_string("none");
    CHECK_INT(gbx_gw_auth_new(&auth, none, dir, "x"), GBX_OK);
    CHECK(auth == NULL);
    json_decref(none);
    expect_load_error(NULL, "location \"/t\" has no \"auth\"");
    expect_load_error("\"open\"", "\"none\"");
    expect_load_error("{\"type\": \"digest\", \"file\": \"x\"}", "\"digest\" is unknown");
    expect_load_error("{\"type\": \"bearer\"}", "\"tokens_file\"");
    expect_load_error("{\"type\": \"bearer\", \"tokens_file\": \"t\", \"realm\": \"x\"}", "\"realm\"");
    expect_load_error("{\"type\": \"basic\", \"tokens_file\": \"t\"}", "\"tokens_file\"");
}

/* The gateway config: "auth" required per location, nested ones inherit. */
static void test_config(void) {
    char alice[65];
    gbx_gw_sha256_hex(alice, "alice-token", strlen("alice-token"));
    write_file("tokens", "%s alice read\n", alice);
    write_file("barn.conf", "{\"component\": \"barn\"}");
    write_file("gateway.conf",
               "{\"status\": {\"type\": \"sqlite\", \"path\": \"status.db\"},\n"
               " \"locations\": [{\"prefix\": \"/barn\", \"config\": \"barn.conf\"}]}\n");
    char path[512];
    snprintf(path, sizeof path, "%s/gateway.conf", dir);
    gbx_gw_config *cfg = NULL;
    CHECK_INT(gbx_gw_config_load(&cfg, path), GBX_ERR_BAD_REQUEST);
    CHECK(strstr(gbx_error_last()->message, "location \"/barn\" has no \"auth\"") != NULL);
    write_file("gateway.conf",
               "{\"status\": {\"type\": \"sqlite\", \"path\": \"status.db\"},\n"
               " \"rate_limit\": {\"per_address\": 5, \"burst\": 1},\n"
               " \"locations\": [{\"prefix\": \"/barn\", \"config\": \"barn.conf\",\n"
               "                  \"auth\": {\"type\": \"bearer\", \"tokens_file\": \"tokens\"}},\n"
               "                 {\"prefix\": \"/barn/v1/open\", \"auth\": \"none\"},\n"
               "                 {\"prefix\": \"/barn/v1/same\"}]}\n");
    CHECK_INT(gbx_gw_config_load(&cfg, path), GBX_OK);
    if (cfg) {
        CHECK(cfg->locations[0].auth != NULL && cfg->locations[0].auth == cfg->locations[0].own_auth);
        CHECK(cfg->locations[1].auth == NULL);
        CHECK(cfg->locations[2].auth == cfg->locations[0].auth);
        CHECK(cfg->locations[2].own_auth == NULL);
        CHECK(cfg->rate_limit.per_address == 5);
        CHECK(cfg->rate_limit.burst == 1);
        CHECK(cfg->rate_limit.per_principal > 0); /* default */
        CHECK(!cfg->rate_limit.limit_loopback);   /* default */
        CHECK_INT(gbx_gw_auth_reload_all(cfg), 0);
        gbx_gw_config_free(cfg);
    }
    write_file("gateway.conf",
               "{\"status\": {\"type\": \"sqlite\", \"path\": \"status.db\"},\n"
               " \"rate_limit\": {\"per_second\": 5},\n"
               " \"locations\": [{\"prefix\": \"/barn\", \"config\": \"barn.conf\", \"auth\": \"none\"}]}\n");
    CHECK_INT(gbx_gw_config_load(&cfg, path), GBX_ERR_BAD_REQUEST);
    CHECK(strstr(gbx_error_last()->message, "\"per_second\"") != NULL);
}

static void test_ratelimit(void) {
    gbx_gw_ratelimit *rl = NULL;
    CHECK_INT(gbx_gw_ratelimit_new(&rl, 10, 1), GBX_OK); /* 10/s, bursts of 10 */
    unsigned wait = 99;
    for (int i = 0; i < 10; i++) CHECK(gbx_gw_ratelimit_take(rl, "10.0.0.1", 100.0, &wait));
    CHECK_INT(wait, 0);
    CHECK(!gbx_gw_ratelimit_check(rl, "10.0.0.1", 100.0, &wait));
    CHECK(!gbx_gw_ratelimit_take(rl, "10.0.0.1", 100.0, &wait));
    CHECK_INT(wait, 1);
    /* Other keys have their own buckets. */
    CHECK(gbx_gw_ratelimit_take(rl, "10.0.0.2", 100.0, &wait));
    /* Half a second refills five. */
    for (int i = 0; i < 5; i++) CHECK(gbx_gw_ratelimit_take(rl, "10.0.0.1", 100.5, &wait));
    CHECK(!gbx_gw_ratelimit_take(rl, "10.0.0.1", 100.5, &wait));
    /* check() does not take. */
    CHECK(gbx_gw_ratelimit_check(rl, "10.0.0.3", 100.5, &wait));
    CHECK(gbx_gw_ratelimit_check(rl, "10.0.0.3", 100.5, &wait));
    /* Many clients: memory stays bounded and new ones start full. */
    char key[32];
    for (int i = 0; i < 50000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        gbx_gw_ratelimit_take(rl, key, 101.0, NULL);
    }
    CHECK(gbx_gw_ratelimit_take(rl, "newcomer", 101.0, &wait));
    gbx_gw_ratelimit_free(rl);
    /* Slow rates: Retry-After in whole seconds. */
    CHECK_INT(gbx_gw_ratelimit_new(&rl, 0.5, 2), GBX_OK); /* capacity 1 */
    CHECK(gbx_gw_ratelimit_take(rl, "a", 0, &wait));
    CHECK(!gbx_gw_ratelimit_take(rl, "a", 0, &wait));
    CHECK_INT(wait, 2);
    gbx_gw_ratelimit_free(rl);
    CHECK(gbx_gw_is_loopback("127.0.0.1") && gbx_gw_is_loopback("127.1.2.3"));
    CHECK(gbx_gw_is_loopback("::1") && gbx_gw_is_loopback("::ffff:127.0.0.1"));
    CHECK(!gbx_gw_is_loopback("10.0.0.1") && !gbx_gw_is_loopback("::2") && !gbx_gw_is_loopback(NULL));
    /* Rate 0: no limit. */
    CHECK_INT(gbx_gw_ratelimit_new(&rl, 0, 1), GBX_OK);
    for (int i = 0; i < 1000; i++) CHECK(gbx_gw_ratelimit_take(rl, "a", 0, NULL));
    gbx_gw_ratelimit_free(rl);
}

int main(void) {
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_sha256();
    test_helpers();
    test_bearer();
    test_basic();
    test_sections();
    test_config();
    test_ratelimit();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_done();
}
