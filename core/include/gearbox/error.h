/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gearbox/error.h - one error type for the whole library.
 *
 * A gbx_err is either GBX_OK (0) or an HTTP status code from the table below:
 * the code a failing call returns is the code a client would see.  Failures
 * that are not about HTTP (out of memory, I/O, a broken database) are
 * GBX_ERR_INTERNAL_SERVER_ERROR with a message that says what happened.
 *
 * Every fallible call returns a gbx_err and, when it is not GBX_OK, leaves a
 * message in the calling thread's last error (gbx_error_last()).
 */
#ifndef GEARBOX_ERROR_H
#define GEARBOX_ERROR_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The HTTP errors, under the names Yahoo Gearbox gave them in
 * gearbox/core/Errors.h (DEFINE_ERROR), plus 425 and 449: X(NAME, code).
 * This list is the one source for the C enum, the name table and every
 * language binding's ERR_<NAME> / ERR_CODE_<n> classes; its name is the
 * one gbx_err_name and gbx_error_format give. */
#define GBX_ERROR_TABLE(X)                      \
    X(MULTIPLE_CHOICES, 300)                    \
    X(MOVED_PERMANENTLY, 301)                   \
    X(MOVED_TEMPORARILY, 302)                   \
    X(SEE_OTHER, 303)                           \
    X(NOT_MODIFIED, 304)                        \
    X(USE_PROXY, 305)                           \
    X(TEMPORARY_REDIRECT, 307)                  \
    X(BAD_REQUEST, 400)                         \
    X(UNAUTHORIZED, 401)                        \
    X(PAYMENT_REQUIRED, 402)                    \
    X(FORBIDDEN, 403)                           \
    X(NOT_FOUND, 404)                           \
    X(METHOD_NOT_ALLOWED, 405)                  \
    X(NOT_ACCEPTABLE, 406)                      \
    X(PROXY_AUTHENTICATION_REQUIRED, 407)       \
    X(REQUEST_TIME_OUT, 408)                    \
    X(CONFLICT, 409)                            \
    X(GONE, 410)                                \
    X(LENGTH_REQUIRED, 411)                     \
    X(PRECONDITION_FAILED, 412)                 \
    X(REQUEST_ENTITY_TOO_LARGE, 413)            \
    X(REQUEST_URI_TOO_LARGE, 414)               \
    X(UNSUPPORTED_MEDIA_TYPE, 415)              \
    X(RANGE_NOT_SATISFIABLE, 416)               \
    X(EXPECTATION_FAILED, 417)                  \
    X(UNPROCESSABLE_ENTITY, 422)                \
    X(LOCKED, 423)                              \
    X(FAILED_DEPENDENCY, 424)                   \
    X(UNORDERED_COLLECTION, 425)                \
    X(UPGRADE_REQUIRED, 426)                    \
    X(RETRY_WITH, 449)                          \
    X(INTERNAL_SERVER_ERROR, 500)               \
    X(NOT_IMPLEMENTED, 501)                     \
    X(BAD_GATEWAY, 502)                         \
    X(SERVICE_UNAVAILABLE, 503)                 \
    X(GATEWAY_TIME_OUT, 504)                    \
    X(VERSION_NOT_SUPPORTED, 505)               \
    X(VARIANT_ALSO_VARIES, 506)                 \
    X(INSUFFICIENT_STORAGE, 507)                \
    X(NOT_EXTENDED, 510)

/* Other names of codes of GBX_ERROR_TABLE (today's HTTP spellings, which
 * this library used before it took Gearbox's): X(NAME, code).  They exist
 * as C enumerators and as binding classes that are the same class as the
 * table's (ERR_GATEWAY_TIMEOUT is ERR_GATEWAY_TIME_OUT). */
#define GBX_ERROR_ALIASES(X)                    \
    X(FOUND, 302)                               \
    X(REQUEST_TIMEOUT, 408)                     \
    X(REQUEST_URI_TOO_LONG, 414)                \
    X(REQUESTED_RANGE_NOT_SATISFIABLE, 416)     \
    X(GATEWAY_TIMEOUT, 504)                     \
    X(HTTP_VERSION_NOT_SUPPORTED, 505)

typedef enum gbx_err {
    GBX_OK = 0,
#define GBX_ERR_ENUM_(name, code) GBX_ERR_##name = code,
    GBX_ERROR_TABLE(GBX_ERR_ENUM_)
    GBX_ERROR_ALIASES(GBX_ERR_ENUM_)
#undef GBX_ERR_ENUM_
} gbx_err;

/* The last error of the calling thread.  `message` is never NULL. */
typedef struct gbx_error {
    gbx_err code;
    const char *message;
} gbx_error;

/* Number of entries in GBX_ERROR_TABLE. */
size_t gbx_err_count(void);

/* The i-th code of the table (0 <= i < gbx_err_count()), in table order. */
gbx_err gbx_err_at(size_t i);

/* "NOT_FOUND" for 404 (the table's name, never an alias); NULL for a code
 * outside the table.  Static string. */
const char *gbx_err_name(int code);

/* 404 for "NOT_FOUND" (also accepts "ERR_NOT_FOUND", any case, and the
 * aliases: 504 for "GATEWAY_TIMEOUT"); 0 if unknown. */
int gbx_err_from_name(const char *name);

/* Number of names: the table's and the aliases together. */
size_t gbx_err_name_count(void);

/* The i-th name (0 <= i < gbx_err_name_count()): the table's in table
 * order, then the aliases; NULL past the end.  Static string.  Its code is
 * gbx_err_from_name(name); it is an alias when gbx_err_name(code) differs.
 * The bindings make their ERR_<NAME> classes from this list. */
const char *gbx_err_name_at(size_t i);

/* Sets the calling thread's last error and returns `code`, so that a failing
 * call can end with `return gbx_error_set(GBX_ERR_NOT_FOUND, "...", ...)`.
 * A code outside the table is kept as given (workers may use any 3xx-5xx). */
gbx_err gbx_error_set(gbx_err code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
gbx_err gbx_error_setv(gbx_err code, const char *fmt, va_list ap);

/* The calling thread's last error; code GBX_OK and message "" when none.
 * Borrowed: valid until the thread's next gbx_error_set/clear. */
const gbx_error *gbx_error_last(void);

/* Forgets the calling thread's last error. */
void gbx_error_clear(void);

/* Formats `NAME [code]: message` as Gearbox did (e.g.
 * `NOT_FOUND [404]: thing "x" not found`); a code outside the table is
 * formatted as `ERROR [code]: message`.  Returns a malloc'ed string the
 * caller frees, or NULL when out of memory. */
char *gbx_error_format(int code, const char *message);

#ifdef __cplusplus
}
#endif
#endif
