/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* bench.c - gearbox's side of bench/schema/run: compiles each case's schema
 * once and validates its documents over and over for a fixed time, once
 * stopping at the first violation and once collecting all of them.  The
 * compile figure is the mean over repeated compiles.  `bench.c CASES.json
 * SECONDS CASE-INDEX` measures one case only (run alternates the two
 * sides case by case).
 * Output: one JSON object per case on stdout.
 *
 * `bench.c CASES.json --iterations N [CASE-INDEX [first|all]]` instead
 * validates every document of each case (or of one) N times in each mode
 * (or in one), untimed: the
 * repeatable workload to run under `valgrind --tool=callgrind`.
 *
 * `bench.c CASES.json --dump` prints, for every document of every case, the
 * verdict and message of first-error mode and the violations of all-errors
 * mode: the output an optimisation must leave byte for byte unchanged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gearbox/json.h"
#include "gearbox/schema.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define ROUNDS 5

/* Validations per second: the best of ROUNDS rounds that together take
 * `seconds` (the best round is the one least disturbed by the rest of the
 * machine); *nvalid: how many documents are valid. */
static double measure(const gbx_schema *s, json_t *docs, int all, double seconds, int *nvalid) {
    size_t n = json_array_size(docs);
    double best = 0;
    *nvalid = 0;
    for (int r = 0; r < ROUNDS; r++) {
        long count = 0;
        double start = now(), elapsed;
        do {
            for (size_t i = 0; i < n; i++) {
                json_t *viol = NULL;
                gbx_err rc = gbx_schema_validate(all ? &viol : NULL, s, json_array_get(docs, i));
                if (r == 0 && count < (long)n && rc == GBX_OK) (*nvalid)++;
                json_decref(viol);
                count++;
            }
            elapsed = now() - start;
        } while (elapsed < seconds / ROUNDS);
        if ((double)count / elapsed > best) best = (double)count / elapsed;
    }
    return best;
}

/* The profiling workload: every document validated `iterations` times in
 * each mode; prints the valid count per mode. */
__attribute__((noinline)) static void repeat(const char *name, const gbx_schema *s, json_t *docs, long iterations, const char *mode) {
    size_t n = json_array_size(docs);
    for (int all = 0; all < 2; all++) {
        if (mode && strcmp(mode, all ? "all" : "first") != 0) continue;
        long valid = 0;
        for (long r = 0; r < iterations; r++)
            for (size_t i = 0; i < n; i++) {
                json_t *viol = NULL;
                if (gbx_schema_validate(all ? &viol : NULL, s, json_array_get(docs, i)) == GBX_OK) valid++;
                json_decref(viol);
            }
        printf("%s, %s: %ld valid\n", name, all ? "all errors" : "first error", valid);
    }
}

/* Every document's verdicts, messages and violations, in both modes. */
static void dump(json_t *cases) {
    size_t i, d;
    json_t *c, *doc;
    json_array_foreach(cases, i, c) {
        gbx_schema_options opts;
        gbx_schema_options_init(&opts);
        opts.default_dialect = (gbx_dialect)gbx_dialect_from_name(json_string_value(json_object_get(c, "dialect")));
        gbx_schema *s = NULL;
        if (gbx_schema_compile(&s, json_object_get(c, "schema"), &opts)) {
            printf("case %zu: %s\n", i, gbx_error_last()->message);
            continue;
        }
        json_array_foreach(json_object_get(c, "documents"), d, doc) {
            gbx_err rc = gbx_schema_validate(NULL, s, doc);
            printf("case %zu doc %zu first: %d %s\n", i, d, (int)rc, rc ? gbx_error_last()->message : "");
            json_t *viol = NULL;
            rc = gbx_schema_validate(&viol, s, doc);
            char *text = json_dumps(viol, JSON_COMPACT | JSON_PRESERVE_ORDER);
            printf("case %zu doc %zu all: %d %s %s\n", i, d, (int)rc, rc ? gbx_error_last()->message : "", text);
            free(text);
            json_decref(viol);
        }
        gbx_schema_free(s);
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s CASES.json [SECONDS [CASE-INDEX] | --iterations N [CASE-INDEX [first|all]] | --dump]\n", argv[0]);
        return 2;
    }
    bool profile = argc > 3 && strcmp(argv[2], "--iterations") == 0;
    long iterations = profile ? atol(argv[3]) : 0;
    long only = profile ? (argc > 4 ? atol(argv[4]) : -1) : (argc > 3 ? atol(argv[3]) : -1);
    const char *mode = profile && argc > 5 ? argv[5] : NULL;
    double seconds = argc > 2 && !profile ? atof(argv[2]) : 1.0;
    json_t *cases;
    if (gbx_json_load_file(&cases, argv[1], false)) {
        fprintf(stderr, "%s\n", gbx_error_last()->message);
        return 2;
    }
    if (argc > 2 && strcmp(argv[2], "--dump") == 0) {
        dump(cases);
        json_decref(cases);
        return 0;
    }
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        if (only >= 0 && (long)i != only) continue;
        gbx_schema_options opts;
        gbx_schema_options_init(&opts);
        opts.default_dialect = (gbx_dialect)gbx_dialect_from_name(json_string_value(json_object_get(c, "dialect")));
        gbx_schema *s = NULL;
        if (profile) {
            if (gbx_schema_compile(&s, json_object_get(c, "schema"), &opts)) {
                fprintf(stderr, "%s\n", gbx_error_last()->message);
                return 1;
            }
            repeat(json_string_value(json_object_get(c, "name")), s, json_object_get(c, "documents"), iterations, mode);
            gbx_schema_free(s);
            continue;
        }
        int reps = 0;
        double t0 = now();
        do { /* compile time: average over repeated compiles */
            gbx_schema_free(s);
            if (gbx_schema_compile(&s, json_object_get(c, "schema"), &opts)) {
                fprintf(stderr, "%s\n", gbx_error_last()->message);
                return 1;
            }
            reps++;
        } while (now() - t0 < seconds / 4);
        double compile_us = (now() - t0) / reps * 1e6;
        json_t *docs = json_object_get(c, "documents");
        int valid_first, valid_all;
        double first = measure(s, docs, 0, seconds, &valid_first);
        double all = measure(s, docs, 1, seconds, &valid_all);
        printf("{\"name\": \"%s\", \"compile_us\": %.1f, \"first\": %.1f, \"all\": %.1f, \"valid\": %d, \"documents\": %zu}\n",
               json_string_value(json_object_get(c, "name")), compile_us, first, all, valid_first,
               json_array_size(docs));
        gbx_schema_free(s);
    }
    json_decref(cases);
    return 0;
}
