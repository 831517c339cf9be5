/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* fuzz_envelope.c - libFuzzer target: the job envelope parser
 * (core/src/job/envelope.c) on what a worker receives from gearmand.
 *
 * Input: the workload bytes.  Checks beyond "no crash": an envelope that
 * parses can be read through every getter, copied and serialised, and the
 * serialised text parses again into the same text. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gearbox/envelope.h"

static const char *const strings[] = {
    "name", "job_type", "operation", "component", "status", "parent_uri", "base_uri",
    "content", "event_status", "ticket", "traceparent", "tracestate", "resource.type",
    "resource.name", "remote.ip", "remote.user"};
static const char *const collections[] = {"arguments", "matrix_arguments", "query_params",
                                          "headers", "environ", "on"};
static const char *const numbers[] = {"version", "attempt", "deadline"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gbx_envelope *env = NULL;
    if (gbx_envelope_parse(&env, (const char *)data, size) != GBX_OK) return 0;
    (void)gbx_envelope_validate(env);
    size_t len = 0;
    const char *content = gbx_envelope_content(env, &len);
    unsigned sum = 0; /* every byte of the body is readable */
    for (size_t i = 0; content && i < len; i++) sum += (unsigned char)content[i];
    (void)sum;
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        const char *v = gbx_envelope_get(env, strings[i]);
        if (v) (void)strlen(v);
    }
    for (size_t i = 0; i < sizeof collections / sizeof collections[0]; i++)
        (void)gbx_envelope_get_json(env, collections[i]);
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
        (void)gbx_envelope_get_int(env, numbers[i]);
    (void)gbx_envelope_is_sync(env);
    gbx_envelope *copy = NULL;
    char *text = NULL, *again = NULL;
    if (gbx_envelope_copy(&copy, env) != GBX_OK) __builtin_trap();
    if (gbx_envelope_serialize(&text, copy) == GBX_OK) {
        gbx_envelope *re = NULL;
        if (gbx_envelope_parse(&re, text, strlen(text)) != GBX_OK) __builtin_trap();
        if (gbx_envelope_serialize(&again, re) != GBX_OK || strcmp(text, again) != 0) __builtin_trap();
        gbx_envelope_free(re);
    }
    free(text);
    free(again);
    gbx_envelope_free(copy);
    gbx_envelope_free(env);
    return 0;
}
