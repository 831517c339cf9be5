/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit tests of core/src/uri.c: request paths (DESIGN §3) as a table of
 * URI -> expected parts or error, handler names both ways, operations,
 * percent-coding. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gearbox/uri.h"

/* One request: path and query in, either the parts (JSON texts) or the
 * error (its code and the start of its message) out. */
typedef struct {
    const char *path;
    const char *query;
    const char *version;
    const char *resource;
    const char *arguments;
    const char *matrix;
    const char *query_params;
    int error;
    const char *message;
} uri_case;

#define OK(p, q, v, r, a, m, qp) {p, q, v, r, a, m, qp, 0, NULL}
#define ERR(p, q, msg) {p, q, NULL, NULL, NULL, NULL, NULL, 400, msg}

static const uri_case cases[] = {
    OK("/v1/animal/Wilbur", NULL, "v1", "animal", "[\"Wilbur\"]", "{}", "{}"),
    OK("/v1/animal", NULL, "v1", "animal", "[]", "{}", "{}"),
    OK("/v1/animal/", NULL, "v1", "animal", "[]", "{}", "{}"),
    OK("/v1/animal/Wilbur/", "", "v1", "animal", "[\"Wilbur\"]", "{}", "{}"),
    OK("/v12/animal/a/b/c", NULL, "v12", "animal", "[\"a\",\"b\",\"c\"]", "{}", "{}"),
    /* empty segments (doubled slashes) are skipped */
    OK("//v1//animal//Wilbur", NULL, "v1", "animal", "[\"Wilbur\"]", "{}", "{}"),
    /* the example of the brief: matrix values may hold '/', query split on & and ; */
    OK("/v1/animal/Wilbur;a=b/c;d=e", "x=1&y;z=%20", "v1", "animal", "[\"Wilbur\"]",
       "{\"a\":\"b/c\",\"d\":\"e\"}", "{\"x\":\"1\",\"y\":\"1\",\"z\":\" \"}"),
    OK("/v1/status;state=PENDING;_count=5", NULL, "v1", "status", "[]",
       "{\"state\":\"PENDING\",\"_count\":\"5\"}", "{}"),
    /* a matrix key without '=' is "1", like a query key */
    OK("/v1/status;_expand", NULL, "v1", "status", "[]", "{\"_expand\":\"1\"}", "{}"),
    OK("/v1/status;uri=a=b", NULL, "v1", "status", "[]", "{\"uri\":\"a=b\"}", "{}"),
    OK("/v1/status;empty=", NULL, "v1", "status", "[]", "{\"empty\":\"\"}", "{}"),
    /* matrix directly after the version segment's resource */
    OK("/v1/animal;k=v", NULL, "v1", "animal", "[]", "{\"k\":\"v\"}", "{}"),
    /* percent-decoding: %2F in an argument stays inside it; '+' is literal in paths */
    OK("/v1/animal/a%2Fb/c+d%20e", NULL, "v1", "animal", "[\"a/b\",\"c+d e\"]", "{}", "{}"),
    OK("/v1/animal/%C3%A9t%C3%A9", NULL, "v1", "animal", "[\"\xc3\xa9t\xc3\xa9\"]", "{}", "{}"),
    OK("/v1/x;k%3D=v%3B", NULL, "v1", "x", "[]", "{\"k=\":\"v;\"}", "{}"),
    OK("/v1/x;p=a+b", NULL, "v1", "x", "[]", "{\"p\":\"a+b\"}", "{}"),
    /* '+' is a space in the query, %2B a plus */
    OK("/v1/x", "q=a+b%2Bc&r+s=t", "v1", "x", "[]", "{}", "{\"q\":\"a b+c\",\"r s\":\"t\"}"),
    /* empty query parts are skipped; a repeated key keeps the last value */
    OK("/v1/x", "a=1&&b=2&;a=3&", "v1", "x", "[]", "{}", "{\"a\":\"3\",\"b\":\"2\"}"),
    OK("/v1/x", "a==b", "v1", "x", "[]", "{}", "{\"a\":\"=b\"}"),
    OK("/v1/Animal2", NULL, "v1", "Animal2", "[]", "{}", "{}"),

    ERR("", NULL, GBX_URI_ERR_VERSION),
    ERR("/", NULL, GBX_URI_ERR_VERSION),
    ERR("/animal/Wilbur", NULL, GBX_URI_ERR_VERSION),
    ERR("/v/animal", NULL, GBX_URI_ERR_VERSION),
    ERR("/V1/animal", NULL, GBX_URI_ERR_VERSION),
    ERR("/v1x/animal", NULL, GBX_URI_ERR_VERSION),
    ERR("/1/animal", NULL, GBX_URI_ERR_VERSION),
    ERR("/%761/animal", NULL, GBX_URI_ERR_VERSION),
    ERR("/v1", NULL, GBX_URI_ERR_NO_RESOURCE),
    ERR("/v1/", NULL, GBX_URI_ERR_NO_RESOURCE),
    ERR("/v1//", NULL, GBX_URI_ERR_NO_RESOURCE),
    ERR("/v1;a=b", NULL, GBX_URI_ERR_NO_RESOURCE),
    ERR("/v1/ani_mal", NULL, "Invalid resource name: \"ani_mal\""),
    ERR("/v1/ani-mal/x", NULL, "Invalid resource name: \"ani-mal\""),
    ERR("/v1/ani%5Fmal", NULL, "Invalid resource name: \"ani_mal\""),
    ERR("/v1/%C3%A9", NULL, "Invalid resource name"),
    ERR("/v1/animal;=v", NULL, "Malformed matrix argument: \"=v\""),
    ERR("/v1/animal;a=b;;c=d", NULL, "Malformed matrix argument: \"\""),
    ERR("/v1/animal;", NULL, "Malformed matrix argument: \"\""),
    ERR("/v1/animal;a=b;", NULL, "Malformed matrix argument: \"\""),
    ERR("/v1/animal", "=v", "Malformed query parameter: \"=v\""),
    ERR("/v1/animal/a%2", NULL, "Malformed percent-encoding in \"a%2\""),
    ERR("/v1/animal/a%zz", NULL, "Malformed percent-encoding"),
    ERR("/v1/animal/a%00b", NULL, "Encoded NUL byte"),
    ERR("/v1/animal;k=%", NULL, "Malformed percent-encoding"),
    ERR("/v1/animal", "q=%G0", "Malformed percent-encoding"),
    ERR("/v1/animal/%FF", NULL, "URI argument \"%FF\" is not valid UTF-8"),
    ERR("/v1/animal", "q=%FF", "URI parameter \"q\" is not valid UTF-8"),
};

static void check_json(json_t *actual, const char *expected_text, const char *what,
                       const char *path) {
    json_error_t jerr;
    json_t *expected = json_loads(expected_text, 0, &jerr);
    if (!expected) {
        fprintf(stderr, "bad expectation for %s: %s\n", path, expected_text);
        CHECK(0);
        return;
    }
    int same = json_equal(actual, expected);
    if (!same) {
        char *got = json_dumps(actual, JSON_COMPACT | JSON_ENCODE_ANY);
        fprintf(stderr, "%s of %s: got %s, expected %s\n", what, path, got ? got : "NULL",
                expected_text);
        free(got);
    }
    CHECK(same);
    json_decref(expected);
}

static void check_case(const uri_case *c) {
    gbx_uri *uri = (gbx_uri *)1;
    gbx_error_clear();
    gbx_err rc = gbx_uri_parse(&uri, c->path, c->query);
    if (c->error) {
        if ((int)rc != c->error) fprintf(stderr, "expected %d for \"%s\"\n", c->error, c->path);
        CHECK_INT(rc, c->error);
        CHECK(uri == NULL);
        const char *msg = gbx_error_last()->message;
        if (strncmp(msg, c->message, strlen(c->message)) != 0)
            fprintf(stderr, "\"%s\": message \"%s\", expected \"%s...\"\n", c->path, msg, c->message);
        CHECK(strncmp(msg, c->message, strlen(c->message)) == 0);
        return;
    }
    if (rc != GBX_OK) {
        fprintf(stderr, "\"%s\" failed: %s\n", c->path, gbx_error_last()->message);
        CHECK_INT(rc, GBX_OK);
        return;
    }
    CHECK_STR(gbx_uri_version(uri), c->version);
    CHECK_STR(gbx_uri_resource(uri), c->resource);
    check_json(gbx_uri_arguments(uri), c->arguments, "arguments", c->path);
    check_json(gbx_uri_matrix(uri), c->matrix, "matrix", c->path);
    check_json(gbx_uri_query(uri), c->query_params, "query", c->path);
    gbx_uri_free(uri);
}

typedef struct {
    const char *method, *component, *resource, *version, *expected;
} name_case;

static void test_handler_names(void) {
    static const name_case names[] = {
        {"GET", "barn", "animal", "v1", "do_get_barn_animal_v1"},
        {"HEAD", "barn", "animal", "v1", "do_get_barn_animal_v1"},
        {"head", "barn", "animal", "v1", "do_get_barn_animal_v1"},
        {"PUT", "barn", "animal", "v2", "do_put_barn_animal_v2"},
        {"Post", "global", "status", "v1", "do_post_global_status_v1"},
        {"DELETE", "Barn", "Animal", "v10", "do_delete_Barn_Animal_v10"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const name_case *n = &names[i];
        char *name = NULL;
        CHECK_INT(gbx_handler_name(&name, n->method, n->component, n->resource, n->version), GBX_OK);
        CHECK_STR(name, n->expected);
        gbx_handler_parts parts;
        CHECK_INT(gbx_handler_parse(&parts, name), GBX_OK);
        CHECK_STR(parts.component, n->component);
        CHECK_STR(parts.resource, n->resource);
        CHECK_STR(parts.version, n->version);
        free(name);
    }
    gbx_handler_parts parts;
    CHECK_INT(gbx_handler_parse(&parts, "do_get_barn_animal_v1"), GBX_OK);
    CHECK_STR(parts.method, "get");
    CHECK_STR(parts.component, "barn");
    CHECK_STR(parts.resource, "animal");
    CHECK_STR(parts.version, "v1");
    CHECK_INT(gbx_handler_parse(&parts, "do_GET_barn_animal_v1"), GBX_OK);
    CHECK_STR(parts.method, "get");

    static const char *const bad_names[] = {
        "get_barn_animal_v1", "do_get_barn_animal", "do_get_barn_animal_v1_x", "do__barn_animal_v1",
        "do_get__animal_v1", "do_get_barn__v1", "do_get_barn_animal_", "do_get_barn_animal_1",
        "do_get_barn_animal_vx", "do_get1_barn_animal_v1", "do_get_ba-rn_animal_v1", "",
        "do_get_barn_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_v1",
        "do_get_barn_animal_v1234567890123456",
    };
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        parts.method[0] = 'x';
        gbx_err rc = gbx_handler_parse(&parts, bad_names[i]);
        if (rc != GBX_ERR_BAD_REQUEST) fprintf(stderr, "accepted \"%s\"\n", bad_names[i]);
        CHECK_INT(rc, GBX_ERR_BAD_REQUEST);
        CHECK_STR(parts.method, "");
        CHECK(strstr(gbx_error_last()->message, "invalid handler name") != NULL);
    }
    CHECK_INT(gbx_handler_parse(&parts, NULL), GBX_ERR_BAD_REQUEST);

    char *name = (char *)1;
    CHECK_INT(gbx_handler_name(&name, "GET", "ba_rn", "animal", "v1"), GBX_ERR_BAD_REQUEST);
    CHECK(name == NULL);
    CHECK_INT(gbx_handler_name(&name, "GET", "barn", "ani_mal", "v1"), GBX_ERR_BAD_REQUEST);
    CHECK(strstr(gbx_error_last()->message, "Invalid resource name") != NULL);
    CHECK_INT(gbx_handler_name(&name, "GET", "barn", "animal", "1"), GBX_ERR_BAD_REQUEST);
    CHECK_STR(gbx_error_last()->message, GBX_URI_ERR_VERSION);
    CHECK_INT(gbx_handler_name(&name, "G-T", "barn", "animal", "v1"), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_handler_name(&name, NULL, "barn", "animal", "v1"), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_handler_name(&name, "GET", "", "animal", "v1"), GBX_ERR_BAD_REQUEST);
}

static void test_operations(void) {
    CHECK_STR(gbx_operation_for_method("GET", false), "get");
    CHECK_STR(gbx_operation_for_method("GET", true), "get");
    CHECK_STR(gbx_operation_for_method("HEAD", true), "get");
    CHECK_STR(gbx_operation_for_method("DELETE", true), "delete");
    CHECK_STR(gbx_operation_for_method("PUT", true), "create");
    CHECK_STR(gbx_operation_for_method("POST", true), "update");
    CHECK_STR(gbx_operation_for_method("POST", false), "create");
    CHECK_STR(gbx_operation_for_method("post", false), "create");
    CHECK(gbx_operation_for_method("PATCH", true) == NULL);
    CHECK(gbx_operation_for_method("OPTIONS", false) == NULL);
    CHECK(gbx_operation_for_method(NULL, false) == NULL);
}

static void test_coding(void) {
    char *s;
    CHECK_INT(gbx_uri_decode(&s, "a%20b+c%2fd", 11), GBX_OK);
    CHECK_STR(s, "a b+c/d");
    free(s);
    CHECK_INT(gbx_uri_decode(&s, "abc%41", 3), GBX_OK); /* only len bytes */
    CHECK_STR(s, "abc");
    free(s);
    CHECK_INT(gbx_uri_decode(&s, "abc%41", 4), GBX_ERR_BAD_REQUEST); /* cut escape */
    s = (char *)1;
    CHECK_INT(gbx_uri_decode(&s, "abc%4", 5), GBX_ERR_BAD_REQUEST);
    CHECK(s == NULL);
    CHECK_INT(gbx_uri_decode(&s, "%00", 3), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_uri_decode(&s, "a\0b", 3), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_uri_decode(&s, "", 0), GBX_OK);
    CHECK_STR(s, "");
    free(s);

    CHECK_INT(gbx_uri_encode(&s, "a b/c~d_e.f-g%\xc3\xa9"), GBX_OK);
    CHECK_STR(s, "a%20b%2Fc~d_e.f-g%25%C3%A9");
    char *back;
    CHECK_INT(gbx_uri_decode(&back, s, strlen(s)), GBX_OK);
    CHECK_STR(back, "a b/c~d_e.f-g%\xc3\xa9");
    free(back);
    free(s);

    /* Every byte but NUL survives encode + decode. */
    char all[256];
    for (int i = 1; i < 256; i++) all[i - 1] = (char)i;
    all[255] = '\0';
    CHECK_INT(gbx_uri_encode(&s, all), GBX_OK);
    CHECK_INT(gbx_uri_decode(&back, s, strlen(s)), GBX_OK);
    CHECK(back && memcmp(back, all, 256) == 0);
    free(back);
    free(s);
}

int main(void) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_case(&cases[i]);
    test_handler_names();
    test_operations();
    test_coding();
    return check_done();
}
