/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit tests of core/src/envelope.c: defaults, accessors, round trips (NUL
 * and binary content), schema violations as a table, and the built-in
 * schema compiled once across threads. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gearbox/envelope.h"
#include "gearbox/json.h"

/* A valid minimal envelope. */
static const char *const base_text =
    "{\"version\":1,\"name\":\"do_get_barn_animal_v1\",\"job_type\":\"sync\",\"operation\":\"get\","
    "\"component\":\"barn\",\"resource\":{\"type\":\"animal\",\"name\":\"Wilbur\"}}";

/* The base envelope with `patch` applied: its keys replace the base's, a
 * null value removes the key.  Returns malloc'ed JSON text. */
static char *patched(const char *patch) {
    json_t *doc = json_loads(base_text, 0, NULL);
    json_t *p = json_loads(patch, 0, NULL);
    if (!doc || !p) {
        fprintf(stderr, "bad patch %s\n", patch);
        exit(2);
    }
    const char *key;
    json_t *value;
    json_object_foreach(p, key, value) {
        if (json_is_null(value))
            json_object_del(doc, key);
        else
            json_object_set(doc, key, value);
    }
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    json_decref(p);
    return text;
}

static void test_defaults(void) {
    gbx_envelope *env = NULL;
    CHECK_INT(gbx_envelope_new(&env), GBX_OK);
    char *text;
    CHECK_INT(gbx_envelope_serialize(&text, env), GBX_OK);
    CHECK_STR(text, "{\"version\":1,\"job_type\":\"async\",\"arguments\":[],\"matrix_arguments\":{},"
                    "\"query_params\":{},\"headers\":{},\"environ\":{},\"on\":{},\"content\":\"\"}");
    free(text);
    CHECK_INT(gbx_envelope_get_int(env, "version"), 1);
    CHECK_INT(gbx_envelope_get_int(env, "attempt"), 0);
    CHECK(!gbx_envelope_is_sync(env));
    CHECK_STR(gbx_envelope_get(env, "job_type"), "async");
    CHECK(gbx_envelope_get(env, "name") == NULL);
    CHECK(gbx_envelope_get(env, "resource.type") == NULL);
    CHECK_STR(gbx_envelope_get(env, "content"), "");
    const char *fields[] = {"arguments", "matrix_arguments", "query_params", "headers", "environ", "on"};
    for (size_t i = 0; i < 6; i++) CHECK(gbx_envelope_get_json(env, fields[i]) != NULL);
    CHECK(json_is_array(gbx_envelope_get_json(env, "arguments")));
    /* a fresh envelope lacks the required fields */
    CHECK_INT(gbx_envelope_validate(env), GBX_ERR_BAD_REQUEST);
    CHECK(strncmp(gbx_error_last()->message, "invalid job envelope: ", 22) == 0);
    gbx_envelope_free(env);
    gbx_envelope_free(NULL);
}

/* Builds an envelope the way the gateway does and checks it survives
 * serialise + parse unchanged. */
static void test_round_trip(void) {
    gbx_envelope *env;
    CHECK_INT(gbx_envelope_new(&env), GBX_OK);
    CHECK_INT(gbx_envelope_set(env, "name", "do_put_barn_animal_v1"), GBX_OK);
    CHECK_INT(gbx_envelope_set(env, "operation", "create"), GBX_OK);
    CHECK_INT(gbx_envelope_set(env, "component", "barn"), GBX_OK);
    CHECK_INT(gbx_envelope_set(env, "resource.type", "animal"), GBX_OK);
    CHECK_INT(gbx_envelope_set(env, "resource.name", "Wilbur"), GBX_OK);
    CHECK_INT(gbx_envelope_set(env, "status", "s-6xh9p61rczmddwett5ahzwmke1"), GBX_OK);
    CHECK_INT(gbx_envelope_set(env, "base_uri", "http://127.0.0.1:4080/barn/v1"), GBX_OK);
    CHECK_INT(gbx_envelope_set(env, "parent_uri", "http://127.0.0.1:4080/barn/v1/status/s-1"), GBX_OK);
    CHECK_INT(gbx_envelope_set(env, "remote.ip", "127.0.0.1"), GBX_OK);
    CHECK_INT(gbx_envelope_set(env, "remote.user", "alice"), GBX_OK);
    CHECK_INT(gbx_envelope_set(env, "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), GBX_OK);
    CHECK_INT(gbx_envelope_set(env, "tracestate", "congo=t61rcWkgMzE"), GBX_OK);
    CHECK_INT(gbx_envelope_set(env, "event_status", "{\"state\":\"COMPLETED\"}"), GBX_OK);
    CHECK_INT(gbx_envelope_set(env, "ticket", "t-6xh9p61rczmddwett5ahzwmke1"), GBX_OK);
    CHECK_INT(gbx_envelope_set_int(env, "attempt", 2), GBX_OK);
    CHECK_INT(gbx_envelope_set_int(env, "deadline", 1700000000), GBX_OK);
    json_t *args = json_pack("[s]", "Wilbur");
    CHECK_INT(gbx_envelope_set_json(env, "arguments", args), GBX_OK);
    json_decref(args);
    json_t *matrix = json_pack("{s:s}", "a", "b/c");
    CHECK_INT(gbx_envelope_set_json(env, "matrix_arguments", matrix), GBX_OK);
    json_decref(matrix);
    json_t *headers = json_pack("{s:s}", "content-type", "application/json");
    CHECK_INT(gbx_envelope_set_json(env, "headers", headers), GBX_OK);
    json_decref(headers);
    json_t *on = json_pack("{s:{s:s}}", "COMPLETED", "name", "do_post_barn_notify_v1");
    CHECK_INT(gbx_envelope_set_json(env, "on", on), GBX_OK);
    json_decref(on);
    /* a body with NUL bytes */
    CHECK_INT(gbx_envelope_set_content(env, "{\"a\":1}\0tail", 12), GBX_OK);
    gbx_err rc = gbx_envelope_validate(env);
    if (rc) fprintf(stderr, "%s\n", gbx_error_last()->message);
    CHECK_INT(rc, GBX_OK);

    char *text;
    CHECK_INT(gbx_envelope_serialize(&text, env), GBX_OK);
    CHECK(strstr(text, "\\u0000tail") != NULL);
    gbx_envelope *back = NULL;
    CHECK_INT(gbx_envelope_parse(&back, text, strlen(text)), GBX_OK);
    if (!back) {
        fprintf(stderr, "parse failed: %s\n", gbx_error_last()->message);
        free(text);
        gbx_envelope_free(env);
        return;
    }
    CHECK(json_equal(gbx_envelope_json(back), gbx_envelope_json(env)));
    size_t len;
    const char *content = gbx_envelope_content(back, &len);
    CHECK_INT(len, 12);
    CHECK(content && memcmp(content, "{\"a\":1}\0tail", 12) == 0);
    CHECK_STR(gbx_envelope_get(back, "resource.name"), "Wilbur");
    CHECK_STR(gbx_envelope_get(back, "remote.user"), "alice");
    CHECK_STR(gbx_envelope_get(back, "event_status"), "{\"state\":\"COMPLETED\"}");
    CHECK_INT(gbx_envelope_get_int(back, "deadline"), 1700000000);
    CHECK_STR(gbx_envelope_get(back, "ticket"), "t-6xh9p61rczmddwett5ahzwmke1");
    CHECK_INT(gbx_envelope_get_int(back, "attempt"), 2);
    CHECK_STR(json_string_value(json_array_get(gbx_envelope_get_json(back, "arguments"), 0)), "Wilbur");

    /* a copy is deep */
    gbx_envelope *copy;
    CHECK_INT(gbx_envelope_copy(&copy, back), GBX_OK);
    CHECK_INT(gbx_envelope_set(copy, "resource.name", "Charlotte"), GBX_OK);
    json_array_append_new(gbx_envelope_get_json(copy, "arguments"), json_string("x"));
    CHECK_STR(gbx_envelope_get(back, "resource.name"), "Wilbur");
    CHECK_INT(json_array_size(gbx_envelope_get_json(back, "arguments")), 1);
    gbx_envelope_free(copy);

    /* removing fields */
    CHECK_INT(gbx_envelope_set(back, "remote.user", NULL), GBX_OK);
    CHECK(gbx_envelope_get(back, "remote.user") == NULL);
    CHECK_STR(gbx_envelope_get(back, "remote.ip"), "127.0.0.1");
    CHECK_INT(gbx_envelope_set(back, "status", NULL), GBX_OK);
    CHECK(gbx_envelope_get(back, "status") == NULL);
    CHECK_INT(gbx_envelope_set(back, "tracestate", NULL), GBX_OK);
    CHECK_INT(gbx_envelope_set(back, "ticket", NULL), GBX_OK);
    CHECK(gbx_envelope_get(back, "ticket") == NULL);
    CHECK_INT(gbx_envelope_set(back, "nothing.here", NULL), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_envelope_validate(back), GBX_OK);
    /* NULL resets a collection to empty */
    CHECK_INT(gbx_envelope_set_json(back, "on", NULL), GBX_OK);
    CHECK_INT(json_object_size(gbx_envelope_get_json(back, "on")), 0);

    gbx_envelope_free(back);
    free(text);
    gbx_envelope_free(env);
}

/* A body that is not UTF-8 travels base64-encoded and comes back intact. */
static void test_binary_content(void) {
    char *text = patched("{}");
    gbx_envelope *env;
    CHECK_INT(gbx_envelope_parse(&env, text, strlen(text)), GBX_OK);
    free(text);
    unsigned char body[300];
    for (size_t i = 0; i < sizeof body; i++) body[i] = (unsigned char)(i * 7 + 128);
    CHECK_INT(gbx_envelope_set_content(env, (const char *)body, sizeof body), GBX_OK);
    CHECK_STR(json_string_value(json_object_get(gbx_envelope_json(env), "content_encoding")), "base64");
    size_t len;
    const char *c = gbx_envelope_content(env, &len);
    CHECK_INT(len, sizeof body);
    CHECK(c && memcmp(c, body, sizeof body) == 0);
    CHECK_INT(gbx_envelope_validate(env), GBX_OK);
    CHECK_INT(gbx_envelope_serialize(&text, env), GBX_OK);
    gbx_envelope *back;
    CHECK_INT(gbx_envelope_parse(&back, text, strlen(text)), GBX_OK);
    free(text);
    c = gbx_envelope_content(back, &len);
    CHECK_INT(len, sizeof body);
    CHECK(c && memcmp(c, body, sizeof body) == 0);
    /* setting text again drops the encoding, and the getter follows */
    CHECK_INT(gbx_envelope_set(back, "content", "plain"), GBX_OK);
    CHECK(json_object_get(gbx_envelope_json(back), "content_encoding") == NULL);
    CHECK_STR(gbx_envelope_content(back, &len), "plain");
    CHECK_INT(len, 5);
    CHECK_INT(gbx_envelope_set_content(back, "\xff", 1), GBX_OK);
    CHECK_STR(gbx_envelope_get(back, "content"), "\xff");
    gbx_envelope_free(back);
    gbx_envelope_free(env);

    text = patched("{\"content\":\"!!!!\",\"content_encoding\":\"base64\"}");
    env = (gbx_envelope *)1;
    CHECK_INT(gbx_envelope_parse(&env, text, strlen(text)), GBX_ERR_BAD_REQUEST);
    CHECK(env == NULL);
    CHECK_STR(gbx_error_last()->message, "invalid job envelope: /content: not valid base64");
    free(text);
}

/* Envelopes that break the schema: the message names the place. */
static void test_violations(void) {
    static const struct {
        const char *patch;
        const char *where; /* must appear in the message */
    } cases[] = {
        {"{\"version\":null}", "version"},
        {"{\"name\":null}", "name"},
        {"{\"job_type\":null}", "job_type"},
        {"{\"operation\":null}", "operation"},
        {"{\"component\":null}", "component"},
        {"{\"resource\":null}", "resource"},
        {"{\"version\":\"1\"}", "/version"},
        {"{\"version\":0}", "/version"},
        {"{\"version\":1.5}", "/version"},
        {"{\"name\":\"\"}", "/name"},
        {"{\"name\":7}", "/name"},
        {"{\"job_type\":\"later\"}", "/job_type"},
        {"{\"operation\":[]}", "/operation"},
        {"{\"resource\":\"animal\"}", "/resource"},
        {"{\"resource\":{\"name\":\"x\"}}", "/resource"},
        {"{\"resource\":{\"type\":\"a\",\"size\":1}}", "/resource"},
        {"{\"status\":5}", "/status"},
        {"{\"base_uri\":{}}", "/base_uri"},
        {"{\"arguments\":\"Wilbur\"}", "/arguments"},
        {"{\"arguments\":[\"a\",2]}", "/arguments/1"},
        {"{\"matrix_arguments\":{\"a\":1}}", "/matrix_arguments/a"},
        {"{\"query_params\":[]}", "/query_params"},
        {"{\"headers\":{\"x\":null}}", "/headers/x"},
        {"{\"environ\":\"K=V\"}", "/environ"},
        {"{\"remote\":{\"ip\":1}}", "/remote/ip"},
        {"{\"remote\":{\"port\":\"1\"}}", "/remote"},
        {"{\"content\":{}}", "/content"},
        {"{\"content_encoding\":\"gzip\"}", "/content_encoding"},
        {"{\"on\":{\"DONE\":{\"name\":\"x\"}}}", "/on"},
        {"{\"on\":{\"COMPLETED\":{}}}", "/on/COMPLETED"},
        {"{\"on\":{\"FAILED\":{\"name\":\"x\",\"envelope\":{\"version\":1}}}}", "/on/FAILED/envelope"},
        {"{\"event_status\":{}}", "/event_status"},
        {"{\"traceparent\":\"xyz\"}", "/traceparent"},
        {"{\"tracestate\":1}", "/tracestate"},
        {"{\"attempt\":-1}", "/attempt"},
        {"{\"deadline\":\"soon\"}", "/deadline"},
        {"{\"ticket\":\"\"}", "/ticket"},
        {"{\"ticket\":7}", "/ticket"},
        {"{\"surprise\":true}", "surprise"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = patched(cases[i].patch);
        gbx_envelope *env = (gbx_envelope *)1;
        gbx_err rc = gbx_envelope_parse(&env, text, strlen(text));
        const char *msg = gbx_error_last()->message;
        int ok = rc == GBX_ERR_BAD_REQUEST && env == NULL &&
                 strncmp(msg, "invalid job envelope: ", 22) == 0 && strstr(msg, cases[i].where);
        if (!ok || getenv("GBX_TEST_VERBOSE"))
            fprintf(stderr, "%s: rc %d, message \"%s\"\n", cases[i].patch, rc, msg);
        CHECK(ok);
        if (rc == GBX_OK) gbx_envelope_free(env);
        free(text);
    }
    /* not an object, not JSON */
    static const char *const junk[] = {"[]", "\"x\"", "", "{", "{\"version\":1,\"version\":1}"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        gbx_envelope *env = (gbx_envelope *)1;
        CHECK_INT(gbx_envelope_parse(&env, junk[i], strlen(junk[i])), GBX_ERR_BAD_REQUEST);
        CHECK(env == NULL);
        CHECK(strncmp(gbx_error_last()->message, "invalid job envelope: ", 22) == 0);
    }
    /* the extension fields are allowed */
    char *text = patched("{\"traceparent\":\"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\","
                         "\"tracestate\":\"a=b\",\"attempt\":0,\"deadline\":1,"
                         "\"ticket\":\"t-6xh9p61rczmddwett5ahzwmke1\"}");
    gbx_envelope *env;
    CHECK_INT(gbx_envelope_parse(&env, text, strlen(text)), GBX_OK);
    gbx_envelope_free(env);
    free(text);
    /* parse fills the missing collections */
    CHECK_INT(gbx_envelope_parse(&env, base_text, strlen(base_text)), GBX_OK);
    CHECK(json_is_array(gbx_envelope_get_json(env, "arguments")));
    CHECK(json_is_object(gbx_envelope_get_json(env, "on")));
    CHECK(gbx_envelope_is_sync(env));
    gbx_envelope_free(env);
}

static void test_accessor_errors(void) {
    gbx_envelope *env;
    CHECK_INT(gbx_envelope_new(&env), GBX_OK);
    CHECK_INT(gbx_envelope_set(env, "version", "1"), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_envelope_set(env, "arguments", "x"), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_envelope_set(env, "bogus", "x"), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_envelope_set(env, NULL, "x"), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_envelope_set(env, "name", "caf\xe9"), GBX_ERR_BAD_REQUEST);
    CHECK(gbx_envelope_get(env, "name") == NULL);
    CHECK(gbx_envelope_get(env, "bogus") == NULL);
    CHECK(gbx_envelope_get(env, "version") == NULL);
    json_t *obj = json_object(), *arr = json_array(), *mixed = json_pack("[s,i]", "a", 1);
    json_t *nested = json_pack("{s:{}}", "k");
    CHECK_INT(gbx_envelope_set_json(env, "arguments", obj), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_envelope_set_json(env, "headers", arr), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_envelope_set_json(env, "arguments", mixed), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_envelope_set_json(env, "environ", nested), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_envelope_set_json(env, "content", obj), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_envelope_set_json(env, "on", nested), GBX_OK); /* the schema judges "on" */
    CHECK(gbx_envelope_get_json(env, "on") == nested);
    CHECK(gbx_envelope_get_json(env, "name") == NULL);
    CHECK_INT(gbx_envelope_set_int(env, "name", 1), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_envelope_get_int(env, "name"), 0);
    json_decref(obj);
    json_decref(arr);
    json_decref(mixed);
    json_decref(nested);
    /* resource.type when "resource" is not an object replaces it */
    json_object_set_new(gbx_envelope_json(env), "resource", json_string("x"));
    CHECK(gbx_envelope_get(env, "resource.type") == NULL);
    CHECK_INT(gbx_envelope_set(env, "resource.type", "animal"), GBX_OK);
    CHECK_STR(gbx_envelope_get(env, "resource.type"), "animal");
    gbx_envelope_free(env);
}

/* The embedded schema is the file in the tree. */
static void test_embedded_schema(void) {
    extern const char gbx_embedded_envelope_schema[];
    const char *src = getenv("GBX_SOURCE_DIR");
    if (!src) {
        fprintf(stderr, "GBX_SOURCE_DIR not set; skipping the embedded-schema check\n");
        return;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/core/schemas/envelope.schema.json", src);
    json_t *file, *embedded;
    CHECK_INT(gbx_json_load_file(&file, path, false), GBX_OK);
    CHECK_INT(gbx_json_parse(&embedded, gbx_embedded_envelope_schema, strlen(gbx_embedded_envelope_schema)),
              GBX_OK);
    CHECK(file && embedded && json_equal(file, embedded));
    json_decref(file);
    json_decref(embedded);
}

/* Many threads validating at once share one lazily compiled schema. */
static void *validate_many(void *arg) {
    const char *text = arg;
    long failures = 0;
    for (int i = 0; i < 200; i++) {
        gbx_envelope *env;
        if (gbx_envelope_parse(&env, text, strlen(text)) != GBX_OK)
            failures++;
        else
            gbx_envelope_free(env);
    }
    return (void *)failures;
}

static void test_threads(void) {
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, validate_many, (void *)base_text);
    for (int i = 0; i < 4; i++) {
        void *failures;
        pthread_join(t[i], &failures);
        CHECK(failures == NULL);
    }
}

int main(void) {
    test_threads(); /* first, so that the schema is compiled under contention */
    test_defaults();
    test_round_trip();
    test_binary_content();
    test_violations();
    test_accessor_errors();
    test_embedded_schema();
    return check_done();
}
