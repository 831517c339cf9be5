/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gearbox/trace.h - W3C Trace Context (level 1): the traceparent and
 * tracestate values that follow a request through its jobs (DESIGN §4,
 * docs/gateway.md "Trace context").
 *
 * traceparent version 00 is "00-<trace-id: 32 hex>-<parent-id: 16 hex>-<flags:
 * 2 hex>", lowercase hex only, ids not all zero.  A higher version (not ff)
 * is read by the spec's forward-compatible rules (at least 55 characters,
 * the same three fields, then the end or "-"); of its flags only "sampled"
 * is kept.  What Gearbox writes is always version 00.
 *
 * Fresh ids come from a per-thread generator seeded once from the kernel
 * (not a system call per id; reseeded in a forked child).  They are unique,
 * not secret.
 */
#ifndef GEARBOX_TRACE_H
#define GEARBOX_TRACE_H

#include <stdbool.h>
#include <stddef.h>

#include "gearbox/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GBX_TRACEPARENT_SIZE 56 /* "00-" 32 "-" 16 "-" 2, and the NUL */
#define GBX_TRACE_ID_SIZE 33    /* 32 hex and the NUL */
#define GBX_SPAN_ID_SIZE 17     /* 16 hex and the NUL */
#define GBX_TRACESTATE_MAX_MEMBERS 32

typedef struct gbx_traceparent {
    char trace_id[GBX_TRACE_ID_SIZE];  /* 32 lowercase hex, not all zero */
    char parent_id[GBX_SPAN_ID_SIZE];  /* 16 lowercase hex, not all zero */
    unsigned flags;                    /* trace-flags; bit 0 = sampled */
} gbx_traceparent;

/* Reads a traceparent value.  false (and *out untouched) when it is not
 * one (NULL, malformed, uppercase, all-zero ids, version ff). */
bool gbx_traceparent_parse(gbx_traceparent *out, const char *value);

/* The version 00 form of `tp` into `out`. */
void gbx_traceparent_format(char out[GBX_TRACEPARENT_SIZE], const gbx_traceparent *tp);

/* A new trace: random trace-id and parent-id, flags 00 (Gearbox records no
 * spans, so it does not claim to have sampled). */
void gbx_traceparent_start(gbx_traceparent *out);

/* `hex` random lowercase hex digits, not all zero, and a NUL into `out`
 * (hex + 1 bytes): 16 for a span (parent) id, 32 for a trace id. */
void gbx_trace_random_hex(char *out, size_t hex);

/* The trace-id (32 hex) of a traceparent value into `out`; false when the
 * value is not a traceparent. */
bool gbx_trace_id_of(char out[GBX_TRACE_ID_SIZE], const char *traceparent);

/* A tracestate value with what the spec does not allow dropped: members
 * that are not key=value with a valid key and value, repeated keys (the
 * first one stays), and members after the 32nd; empty members and the
 * whitespace around members go too.  *out: malloc'ed, "k=v,k2=v2", or NULL
 * when no member is left (or `value` is NULL). */
gbx_err gbx_tracestate_clean(char **out, const char *value);

/* The trace context a request continues: `traceparent` when valid (in its
 * version 00 form) with its cleaned `tracestate`; otherwise a new trace
 * (gbx_traceparent_start) and no tracestate, as the spec says for an
 * invalid traceparent.  *tracestate: malloc'ed or NULL.  *restarted (may
 * be NULL): true when a new trace was started. */
gbx_err gbx_trace_continue(char traceparent_out[GBX_TRACEPARENT_SIZE], char **tracestate,
                           bool *restarted, const char *traceparent, const char *tracestate_in);

#ifdef __cplusplus
}
#endif
#endif
