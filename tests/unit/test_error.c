/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit tests of core/src/base/error.c: the table, Gearbox's names and the
 * aliases, names both ways, formatting, and the per-thread last error. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gearbox/error.h"

/* Yahoo Gearbox's errors, as gearbox/core/Errors.h defined them
 * (DEFINE_ERROR(NAME, code)); written out here, not taken from the table, so
 * that the test fails if the table loses or renames one. */
#define GEARBOX_ERRORS(X)                                                                     \
    X(MULTIPLE_CHOICES, 300) X(MOVED_PERMANENTLY, 301) X(MOVED_TEMPORARILY, 302)               \
    X(SEE_OTHER, 303) X(NOT_MODIFIED, 304) X(USE_PROXY, 305) X(TEMPORARY_REDIRECT, 307)        \
    X(BAD_REQUEST, 400) X(UNAUTHORIZED, 401) X(PAYMENT_REQUIRED, 402) X(FORBIDDEN, 403)        \
    X(NOT_FOUND, 404) X(METHOD_NOT_ALLOWED, 405) X(NOT_ACCEPTABLE, 406)                        \
    X(PROXY_AUTHENTICATION_REQUIRED, 407) X(REQUEST_TIME_OUT, 408) X(CONFLICT, 409)            \
    X(GONE, 410) X(LENGTH_REQUIRED, 411) X(PRECONDITION_FAILED, 412)                           \
    X(REQUEST_ENTITY_TOO_LARGE, 413) X(REQUEST_URI_TOO_LARGE, 414)                             \
    X(UNSUPPORTED_MEDIA_TYPE, 415) X(RANGE_NOT_SATISFIABLE, 416) X(EXPECTATION_FAILED, 417)    \
    X(UNPROCESSABLE_ENTITY, 422) X(LOCKED, 423) X(FAILED_DEPENDENCY, 424)                      \
    X(UPGRADE_REQUIRED, 426) X(INTERNAL_SERVER_ERROR, 500) X(NOT_IMPLEMENTED, 501)             \
    X(BAD_GATEWAY, 502) X(SERVICE_UNAVAILABLE, 503) X(GATEWAY_TIME_OUT, 504)                   \
    X(VERSION_NOT_SUPPORTED, 505) X(VARIANT_ALSO_VARIES, 506) X(INSUFFICIENT_STORAGE, 507)     \
    X(NOT_EXTENDED, 510)

/* The names this library used before it took Gearbox's: still there. */
#define OLD_NAMES(X)                                                                          \
    X(FOUND, 302) X(REQUEST_TIMEOUT, 408) X(REQUEST_URI_TOO_LONG, 414)                         \
    X(REQUESTED_RANGE_NOT_SATISFIABLE, 416) X(GATEWAY_TIMEOUT, 504)                            \
    X(HTTP_VERSION_NOT_SUPPORTED, 505)

typedef struct {
    const char *name;
    int code, constant;
} named;

static void test_gearbox_names(void) {
    /* GBX_ERR_<NAME> compiles for every name, with Gearbox's code. */
#define ROW_(name, code) {#name, code, GBX_ERR_##name},
    static const named gearbox[] = {GEARBOX_ERRORS(ROW_)};
    static const named old[] = {OLD_NAMES(ROW_)};
#undef ROW_
    size_t n = sizeof gearbox / sizeof gearbox[0];
    CHECK_INT(n, 38);
    for (size_t i = 0; i < n; i++) {
        CHECK_INT(gearbox[i].constant, gearbox[i].code);
        CHECK_STR(gbx_err_name(gearbox[i].code), gearbox[i].name);
        CHECK_INT(gbx_err_from_name(gearbox[i].name), gearbox[i].code);
        char prefixed[64];
        snprintf(prefixed, sizeof prefixed, "ERR_%s", gearbox[i].name);
        CHECK_INT(gbx_err_from_name(prefixed), gearbox[i].code);
    }
    for (size_t i = 0; i < sizeof old / sizeof old[0]; i++) {
        CHECK_INT(old[i].constant, old[i].code);
        CHECK_INT(gbx_err_from_name(old[i].name), old[i].code);
        CHECK(strcmp(gbx_err_name(old[i].code), old[i].name) != 0); /* Gearbox's name wins */
    }
    CHECK_INT(gbx_err_from_name("gateway_timeout"), 504);

    /* Formatting uses Gearbox's names, as Gearbox's what() did. */
    char *s = gbx_error_format(504, "slow");
    CHECK_STR(s, "GATEWAY_TIME_OUT [504]: slow");
    free(s);
    s = gbx_error_format(GBX_ERR_NOT_EXTENDED, "x");
    CHECK_STR(s, "NOT_EXTENDED [510]: x");
    free(s);

    /* The name list: the table's names first, then the aliases, each once. */
    CHECK_INT(gbx_err_name_count(), gbx_err_count() + sizeof old / sizeof old[0]);
    for (size_t i = 0; i < gbx_err_count(); i++)
        CHECK_STR(gbx_err_name_at(i), gbx_err_name(gbx_err_at(i)));
    for (size_t i = 0; i < gbx_err_name_count(); i++) {
        CHECK(gbx_err_from_name(gbx_err_name_at(i)) != 0);
        for (size_t j = i + 1; j < gbx_err_name_count(); j++)
            CHECK(strcmp(gbx_err_name_at(i), gbx_err_name_at(j)) != 0);
    }
    CHECK(gbx_err_name_at(gbx_err_name_count()) == NULL);
}

static void *other_thread(void *arg) {
    (void)arg;
    /* A fresh thread starts without an error and does not see main's. */
    CHECK_INT(gbx_error_last()->code, GBX_OK);
    gbx_error_set(GBX_ERR_GONE, "from thread");
    return NULL;
}

int main(void) {
    CHECK_INT(gbx_err_count(), 40); /* Gearbox's 38, and 425 and 449 */
    test_gearbox_names();
    CHECK_STR(gbx_err_name(404), "NOT_FOUND");
    CHECK_STR(gbx_err_name(500), "INTERNAL_SERVER_ERROR");
    CHECK(gbx_err_name(200) == NULL);
    CHECK_INT(gbx_err_from_name("CONFLICT"), 409);
    CHECK_INT(gbx_err_from_name("ERR_GONE"), 410);
    CHECK_INT(gbx_err_from_name("NO_SUCH"), 0);
    for (size_t i = 0; i < gbx_err_count(); i++) {
        int code = gbx_err_at(i);
        CHECK(code >= 300 && code < 600);
        CHECK_INT(gbx_err_from_name(gbx_err_name(code)), code);
    }

    char *s = gbx_error_format(404, "thing \"x\" not found");
    CHECK_STR(s, "NOT_FOUND [404]: thing \"x\" not found");
    free(s);
    s = gbx_error_format(599, "odd");
    CHECK_STR(s, "ERROR [599]: odd");
    free(s);

    CHECK_INT(gbx_error_last()->code, GBX_OK);
    CHECK_INT(gbx_error_set(GBX_ERR_NOT_FOUND, "missing %d", 7), 404);
    CHECK_STR(gbx_error_last()->message, "missing 7");
    /* Quoting the previous message is safe. */
    gbx_error_set(GBX_ERR_NOT_FOUND, "wrapped: %s", gbx_error_last()->message);
    CHECK_STR(gbx_error_last()->message, "wrapped: missing 7");
    pthread_t t;
    pthread_create(&t, NULL, other_thread, NULL);
    pthread_join(t, NULL);
    CHECK_INT(gbx_error_last()->code, GBX_ERR_NOT_FOUND);
    gbx_error_clear();
    CHECK_INT(gbx_error_last()->code, GBX_OK);
    CHECK_STR(gbx_error_last()->message, "");
    return check_done();
}
