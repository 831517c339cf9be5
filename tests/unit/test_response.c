/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit tests of core/src/response.c: the response object, its wire format
 * (round trips, binary content, malformed replies), the error body and the
 * framing headers. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gearbox/json.h"
#include "gearbox/response.h"
#include "gearbox/status.h"
#include "store/status_internal.h"

/* Serialises `resp`, parses it back and checks code, headers and content. */
static void check_round_trip(const gbx_response *resp) {
    char *wire = NULL;
    CHECK_INT(gbx_response_serialize(&wire, resp), GBX_OK);
    if (!wire) return;
    gbx_response *back = NULL;
    CHECK_INT(gbx_response_parse(&back, wire, strlen(wire)), GBX_OK);
    if (back) {
        size_t a_len, b_len;
        const char *a = gbx_response_content(resp, &a_len);
        const char *b = gbx_response_content(back, &b_len);
        CHECK_INT(b_len, a_len);
        CHECK(a_len == b_len && memcmp(a, b, a_len) == 0);
        CHECK_INT(gbx_response_code(back), gbx_response_code(resp));
        CHECK(json_equal(gbx_response_headers(back), gbx_response_headers(resp)));
    }
    gbx_response_free(back);
    free(wire);
}

static void test_basics(void) {
    gbx_response *r = NULL;
    CHECK_INT(gbx_response_new(&r), GBX_OK);
    size_t len = 99;
    CHECK_STR(gbx_response_content(r, &len), "");
    CHECK_INT(len, 0);
    CHECK_INT(gbx_response_code(r), 0);
    CHECK_INT(json_object_size(gbx_response_headers(r)), 0);

    char *wire;
    CHECK_INT(gbx_response_serialize(&wire, r), GBX_OK);
    CHECK_STR(wire, "{\"code\":0,\"headers\":{},\"content\":\"\"}");
    free(wire);

    CHECK_INT(gbx_response_set_content(r, "{\"name\":\"Wilbur\"}", 17), GBX_OK);
    gbx_response_set_code(r, 201);
    CHECK_INT(gbx_response_add_header(r, "Content-Type", "text/plain"), GBX_OK);
    CHECK_INT(gbx_response_add_header(r, "X-Thing", "1"), GBX_OK);
    /* replacing is case-insensitive and keeps the new spelling */
    CHECK_INT(gbx_response_add_header(r, "content-type", "application/json"), GBX_OK);
    CHECK_INT(json_object_size(gbx_response_headers(r)), 2);
    CHECK(json_object_get(gbx_response_headers(r), "Content-Type") == NULL);
    CHECK_STR(json_string_value(json_object_get(gbx_response_headers(r), "content-type")),
              "application/json");
    CHECK_INT(gbx_response_serialize(&wire, r), GBX_OK);
    CHECK_STR(wire, "{\"code\":201,\"headers\":{\"X-Thing\":\"1\",\"content-type\":\"application/json\"},"
                    "\"content\":\"{\\\"name\\\":\\\"Wilbur\\\"}\"}");
    free(wire);
    check_round_trip(r);

    /* header injection and bad names are refused, the headers stay as they were */
    CHECK_INT(gbx_response_add_header(r, "X-Evil", "a\r\nSet-Cookie: x"), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_response_add_header(r, "X-Evil", "a\nb"), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_response_add_header(r, "Bad Name", "v"), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_response_add_header(r, "Bad:Name", "v"), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_response_add_header(r, "", "v"), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_response_add_header(r, NULL, "v"), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_response_add_header(r, "X-Latin1", "caf\xe9"), GBX_ERR_BAD_REQUEST);
    CHECK_INT(json_object_size(gbx_response_headers(r)), 2);

    /* status_uri: set by the job manager for async answers, not on the wire */
    CHECK(gbx_response_status_uri(r) == NULL);
    CHECK_INT(gbx_response_set_status_uri(r, "http://h/barn/v1/status/s-1"), GBX_OK);
    CHECK_STR(gbx_response_status_uri(r), "http://h/barn/v1/status/s-1");
    CHECK_INT(gbx_response_serialize(&wire, r), GBX_OK);
    CHECK(strstr(wire, "status") == NULL);
    free(wire);
    CHECK_INT(gbx_response_set_status_uri(r, "http://h/barn/v1/status/s-2"), GBX_OK);
    CHECK_STR(gbx_response_status_uri(r), "http://h/barn/v1/status/s-2");
    CHECK_INT(gbx_response_set_status_uri(r, NULL), GBX_OK);
    CHECK(gbx_response_status_uri(r) == NULL);
    CHECK_INT(gbx_response_set_status_uri(NULL, "x"), GBX_ERR_INTERNAL_SERVER_ERROR);
    CHECK(gbx_response_status_uri(NULL) == NULL);
    CHECK_INT(gbx_response_set_status_uri(r, "http://h/barn/v1/status/s-3"), GBX_OK); /* freed with r */
    gbx_response_free(r);
    gbx_response_free(NULL);
}

static void test_binary_content(void) {
    gbx_response *r;
    CHECK_INT(gbx_response_new(&r), GBX_OK);
    /* NUL bytes are fine in a JSON string */
    CHECK_INT(gbx_response_set_content(r, "a\0b\0", 4), GBX_OK);
    char *wire;
    CHECK_INT(gbx_response_serialize(&wire, r), GBX_OK);
    CHECK(strstr(wire, "\"a\\u0000b\\u0000\"") != NULL);
    CHECK(strstr(wire, "encoding") == NULL);
    free(wire);
    check_round_trip(r);

    /* bytes that are not UTF-8 travel base64-encoded, every length mod 3 */
    unsigned char bytes[256];
    for (int i = 0; i < 256; i++) bytes[i] = (unsigned char)(255 - i);
    for (size_t n = 1; n <= 6; n++) {
        CHECK_INT(gbx_response_set_content(r, (const char *)bytes + 256 - n - 1, n + 1), GBX_OK);
        check_round_trip(r);
    }
    CHECK_INT(gbx_response_set_content(r, (const char *)bytes, sizeof bytes), GBX_OK);
    CHECK_INT(gbx_response_serialize(&wire, r), GBX_OK);
    CHECK(strstr(wire, "\"encoding\":\"base64\"") != NULL);
    free(wire);
    check_round_trip(r);

    /* "\xff\xfe\xfd" is "//79" in base64 */
    CHECK_INT(gbx_response_set_content(r, "\xff\xfe\xfd", 3), GBX_OK);
    CHECK_INT(gbx_response_serialize(&wire, r), GBX_OK);
    CHECK_STR(wire, "{\"code\":0,\"headers\":{},\"content\":\"//79\",\"encoding\":\"base64\"}");
    free(wire);
    /* back to text: the encoding marker goes away */
    CHECK_INT(gbx_response_set_content(r, "ok", 2), GBX_OK);
    CHECK_INT(gbx_response_serialize(&wire, r), GBX_OK);
    CHECK_STR(wire, "{\"code\":0,\"headers\":{},\"content\":\"ok\"}");
    free(wire);
    gbx_response_free(r);
}

static void test_parse(void) {
    gbx_response *r = NULL;
    const char *ok = "{\"code\":404,\"headers\":{\"X-A\":\"b\"},\"content\":\"nope\",\"extra\":1}";
    CHECK_INT(gbx_response_parse(&r, ok, strlen(ok)), GBX_OK);
    CHECK_INT(gbx_response_code(r), 404);
    CHECK_STR(gbx_response_content(r, NULL), "nope");
    CHECK_STR(json_string_value(json_object_get(gbx_response_headers(r), "X-A")), "b");
    gbx_response_free(r);

    /* headers and content may be left out */
    CHECK_INT(gbx_response_parse(&r, "{\"code\":0}", 10), GBX_OK);
    CHECK_STR(gbx_response_content(r, NULL), "");
    CHECK_INT(json_object_size(gbx_response_headers(r)), 0);
    gbx_response_free(r);

    const char *decoded_wire = "{\"code\":200,\"content\":\"AAEC\",\"encoding\":\"base64\"}";
    CHECK_INT(gbx_response_parse(&r, decoded_wire, strlen(decoded_wire)), GBX_OK);
    size_t len;
    const char *c = gbx_response_content(r, &len);
    CHECK_INT(len, 3);
    CHECK(c && c[0] == 0 && c[1] == 1 && c[2] == 2);
    gbx_response_free(r);

    /* malformed replies: 502 naming the problem */
    static const struct {
        const char *wire;
        const char *why;
    } bad[] = {
        {"", "malformed JSON"},
        {"not json", "malformed JSON"},
        {"{\"code\":0", "malformed JSON"},
        {"[1,2]", "not a JSON object"},
        {"\"x\"", "not a JSON object"},
        {"{}", "\"code\" is missing"},
        {"{\"code\":\"200\"}", "\"code\" is missing or not an integer"},
        {"{\"code\":1.5}", "not an integer"},
        {"{\"code\":42}", "\"code\" 42 is not 0 or an HTTP status"},
        {"{\"code\":600}", "\"code\" 600"},
        {"{\"code\":-1}", "\"code\" -1"},
        {"{\"code\":0,\"headers\":[]}", "\"headers\" is not an object"},
        {"{\"code\":0,\"headers\":{\"X\":1}}", "header \"X\" is not a string"},
        {"{\"code\":0,\"headers\":{\"X\":\"a\\r\\nB: c\"}}", "header X: value contains CR or LF"},
        {"{\"code\":0,\"headers\":{\"A B\":\"c\"}}", "invalid header name"},
        {"{\"code\":0,\"content\":7}", "\"content\" is not a string"},
        {"{\"code\":0,\"content\":\"AA\",\"encoding\":\"base64\"}", "malformed base64"},
        {"{\"code\":0,\"content\":\"A*==\",\"encoding\":\"base64\"}", "malformed base64"},
        {"{\"code\":0,\"content\":\"A=A=\",\"encoding\":\"base64\"}", "malformed base64"},
        {"{\"code\":0,\"content\":\"AA==AAAA\",\"encoding\":\"base64\"}", "malformed base64"},
        {"{\"code\":0,\"content\":\"x\",\"encoding\":\"gzip\"}", "\"encoding\" must be \"base64\""},
        {"{\"code\":0,\"code\":1}", "malformed JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = (gbx_response *)1;
        gbx_err rc = gbx_response_parse(&r, bad[i].wire, strlen(bad[i].wire));
        CHECK_INT(rc, GBX_ERR_BAD_GATEWAY);
        CHECK(r == NULL);
        const char *msg = gbx_error_last()->message;
        int named = strncmp(msg, "malformed worker reply: ", 24) == 0 && strstr(msg, bad[i].why);
        if (!named) fprintf(stderr, "%s: message \"%s\", expected \"%s\"\n", bad[i].wire, msg, bad[i].why);
        CHECK(named);
    }
    CHECK_INT(gbx_response_parse(&r, NULL, 0), GBX_ERR_BAD_GATEWAY);
}

static void test_error_body(void) {
    json_t *body = NULL;
    CHECK_INT(gbx_error_body(&body, "http://h/barn/v1/animal/x", "get", 404, "thing \"x\" not found"),
              GBX_OK);
    char *text;
    CHECK_INT(gbx_json_dump(&text, body), GBX_OK);
    CHECK_STR(text, "{\"uri\":\"http://h/barn/v1/animal/x\",\"progress\":100,\"state\":\"COMPLETED\","
                    "\"operation\":\"get\",\"code\":404,"
                    "\"messages\":[\"NOT_FOUND [404]: thing \\\"x\\\" not found\"]}");
    free(text);
    json_decref(body);

    CHECK_INT(gbx_error_body(&body, NULL, NULL, 599, NULL), GBX_OK);
    CHECK_INT(gbx_json_dump(&text, body), GBX_OK);
    CHECK_STR(text, "{\"uri\":\"\",\"progress\":100,\"state\":\"COMPLETED\",\"operation\":\"\","
                    "\"code\":599,\"messages\":[\"ERROR [599]: \"]}");
    free(text);
    json_decref(body);

    /* client input that is not UTF-8 is replaced, not fatal */
    CHECK_INT(gbx_error_body(&body, "/v1/\xff", "get", 400, "Invalid resource name: \"\xc3(\""), GBX_OK);
    CHECK_STR(json_string_value(json_object_get(body, "uri")), "/v1/\xef\xbf\xbd");
    CHECK_STR(json_string_value(json_array_get(json_object_get(body, "messages"), 0)),
              "BAD_REQUEST [400]: Invalid resource name: \"\xef\xbf\xbd(\"");
    json_decref(body);
}

static void test_framing(void) {
    static const char *const framing[] = {"Content-Length", "content-length", "TRANSFER-ENCODING",
                                          "Connection", "Host", "keep-alive", "Upgrade", "TE",
                                          "te", "Trailer"};
    for (size_t i = 0; i < sizeof framing / sizeof framing[0]; i++) CHECK(gbx_header_is_framing(framing[i]));
    static const char *const end_to_end[] = {"Content-Type", "Location", "X-Host", "Hosts", "T",
                                             "ETag", "Retry-After", ""};
    for (size_t i = 0; i < sizeof end_to_end / sizeof end_to_end[0]; i++)
        CHECK(!gbx_header_is_framing(end_to_end[i]));
    CHECK(!gbx_header_is_framing(NULL));
}

/* The sync status a response carries is made on first use, borrowed, and
 * never on the wire. */
static int makes;
static gbx_status *make_local(void *user) {
    gbx_status **slot = user;
    makes++;
    if (!*slot && gbx__status_new_local(slot, "get", NULL, NULL) != GBX_OK) return NULL;
    return *slot;
}

static void test_status(void) {
    gbx_response *resp = NULL;
    CHECK_INT(gbx_response_new(&resp), GBX_OK);
    CHECK(gbx_response_status(resp) == NULL);
    gbx_status *st = NULL;
    gbx_response_set_status_maker(resp, make_local, &st);
    char *wire = NULL;
    CHECK_INT(gbx_response_serialize(&wire, resp), GBX_OK);
    CHECK_INT(makes, 0); /* nobody asked: nothing made */
    free(wire);
    CHECK(gbx_response_status(resp) != NULL && gbx_response_status(resp) == st);
    CHECK_INT(makes, 1); /* made once */
    CHECK_INT(gbx_response_serialize(&wire, resp), GBX_OK);
    CHECK(wire && !strstr(wire, "st-"));
    free(wire);
    gbx_response_set_status_maker(resp, NULL, NULL);
    CHECK(gbx_response_status(resp) == NULL);
    gbx_response_free(resp);
    gbx_status_free(st); /* still the maker's */
}

int main(void) {
    test_basics();
    test_binary_content();
    test_parse();
    test_error_body();
    test_framing();
    test_status();
    return check_done();
}
