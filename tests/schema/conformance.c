/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* conformance.c - runs the JSON-Schema-Test-Suite against gearbox's
 * validator.
 *
 *   schema-conformance SUITE_DIR [--all-dialects] [--verbose] [--dialect NAME] [--file SUBSTRING]
 *
 * Every case of tests/<dialect>/NAME.json is mandatory: a wrong verdict fails
 * the run, unless the case is in the skip list below (with its reason).
 * Cases under tests/<dialect>/optional/ run too and are counted, with
 * format assertion on.  Remote references
 * (http://localhost:1234/...) resolve to SUITE_DIR/remotes through the
 * registry - never over the network.  A missing suite is a failure.  A
 * dialect the suite does not hold (Debian's package stops at draft7) is
 * reported as skipped, unless --all-dialects says the suite is the full one.
 * The run ends by naming the suite and the dialects it ran. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gearbox/json.h"
#include "gearbox/schema.h"

typedef struct dialect_dir {
    const char *dir;
    gbx_dialect dialect;
} dialect_dir;

static const dialect_dir dialects[] = {
    {"draft3", GBX_DIALECT_DRAFT3},         {"draft4", GBX_DIALECT_DRAFT4},
    {"draft6", GBX_DIALECT_DRAFT6},         {"draft7", GBX_DIALECT_DRAFT7},
    {"draft2019-09", GBX_DIALECT_2019_09},  {"draft2020-12", GBX_DIALECT_2020_12},
};

/* Mandatory cases we decided not to support, each with its reason.  A
 * NULL field matches anything.  (Keep this list short and honest: every
 * entry is reported in docs/schema.md.) */
typedef struct skip {
    const char *dialect, *file, *group, *test;
    const char *reason;
} skip;

static const skip skips[] = {
    {NULL, NULL, NULL, NULL, NULL},
};

static const skip *find_skip(const char *dialect, const char *file, const char *group, const char *test) {
    for (const skip *s = skips; s->reason; s++) {
        if (s->dialect && strcmp(s->dialect, dialect) != 0) continue;
        if (s->file && strcmp(s->file, file) != 0) continue;
        if (s->group && strcmp(s->group, group) != 0) continue;
        if (s->test && strcmp(s->test, test) != 0) continue;
        return s;
    }
    return NULL;
}

typedef struct counts {
    int pass, fail, skipped;
} counts;

static int verbose;
static const char *only_file;

/* "a/b" (or "ab" when sep is ""), malloc'ed. */
static char *join(const char *a, const char *sep, const char *b) {
    size_t n = strlen(a) + strlen(sep) + strlen(b) + 1;
    char *r = malloc(n);
    if (!r) {
        perror("malloc");
        exit(2);
    }
    snprintf(r, n, "%s%s%s", a, sep, b);
    return r;
}

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted entries of a directory (malloc'ed array of malloc'ed names). */
static char **list_dir(const char *path, size_t *n) {
    *n = 0;
    DIR *d = opendir(path);
    if (!d) return NULL;
    size_t cap = 64;
    char **names = malloc(cap * sizeof *names);
    struct dirent *e;
    while (names && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (*n == cap) {
            cap *= 2;
            char **bigger = realloc(names, cap * sizeof *names);
            if (!bigger) break;
            names = bigger;
        }
        names[(*n)++] = strdup(e->d_name);
    }
    closedir(d);
    if (names) qsort(names, *n, sizeof *names, name_cmp);
    return names;
}

static json_t *load_suite_file(const char *path) {
    char *text;
    size_t len;
    if (gbx_read_file(&text, &len, path)) return NULL;
    json_error_t err;
    json_t *doc = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (!doc) /* numbers beyond 64-bit integers (bignum cases) */
        doc = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &err);
    if (!doc) fprintf(stderr, "%s: %s at line %d\n", path, err.text, err.line);
    free(text);
    return doc;
}

static void run_file(const char *path, const char *rel, const dialect_dir *dd, bool optional, bool formats,
                     const gbx_schema_registry *reg, counts *cnt) {
    if (only_file && !strstr(rel, only_file)) return;
    json_t *doc = load_suite_file(path);
    if (!doc) {
        cnt->fail++;
        printf("FAIL %s/%s: cannot read\n", dd->dir, rel);
        return;
    }
    size_t gi;
    json_t *group;
    json_array_foreach(doc, gi, group) {
        const char *gdesc = json_string_value(json_object_get(group, "description"));
        json_t *tests = json_object_get(group, "tests");
        gbx_schema_options opts;
        gbx_schema_options_init(&opts);
        opts.default_dialect = dd->dialect;
        opts.registry = reg;
        opts.validate_formats = formats;
        gbx_schema *schema = NULL;
        gbx_err crc = gbx_schema_compile(&schema, json_object_get(group, "schema"), &opts);
        char cmsg[1024];
        snprintf(cmsg, sizeof cmsg, "%s", crc ? gbx_error_last()->message : "");
        size_t ti;
        json_t *test;
        json_array_foreach(tests, ti, test) {
            const char *tdesc = json_string_value(json_object_get(test, "description"));
            bool expected = json_is_true(json_object_get(test, "valid"));
            const skip *sk = optional ? NULL : find_skip(dd->dir, rel, gdesc, tdesc);
            if (sk) {
                cnt->skipped++;
                if (verbose) printf("SKIP %s/%s: %s / %s (%s)\n", dd->dir, rel, gdesc, tdesc, sk->reason);
                continue;
            }
            bool ok;
            char why[1200] = "";
            if (crc) {
                ok = false;
                snprintf(why, sizeof why, "compile error: %s", cmsg);
            } else {
                /* the instance is copied: legacy defaults could change it */
                json_t *inst = json_deep_copy(json_object_get(test, "data"));
                json_t *viol = NULL;
                gbx_err quick = gbx_schema_validate(NULL, schema, inst);
                gbx_err full = gbx_schema_validate(&viol, schema, inst);
                bool valid = quick == GBX_OK;
                ok = valid == expected && (quick == GBX_OK) == (full == GBX_OK) &&
                     (json_array_size(viol) == 0) == valid;
                if (!ok) {
                    char *vs = json_dumps(viol, JSON_COMPACT);
                    snprintf(why, sizeof why, "expected %s, got %s%s%s", expected ? "valid" : "invalid",
                             valid ? "valid" : "invalid", (quick == GBX_OK) != (full == GBX_OK) ? " (modes disagree)" : "",
                             vs ? vs : "");
                    free(vs);
                }
                json_decref(viol);
                json_decref(inst);
            }
            if (ok) {
                cnt->pass++;
            } else {
                cnt->fail++;
                if (!optional || verbose)
                    printf("%s %s/%s: %s / %s: %s\n", optional ? "optional-fail" : "FAIL", dd->dir, rel, gdesc, tdesc, why);
            }
        }
        gbx_schema_free(schema);
    }
    json_decref(doc);
}

/* Runs every .json under dir (recursively), rel being its path below the
 * dialect directory. */
static void run_tree(const char *dir, const char *rel_prefix, const dialect_dir *dd, bool optional,
                     const gbx_schema_registry *reg, counts *cnt) {
    size_t n;
    char **names = list_dir(dir, &n);
    for (size_t i = 0; i < n; i++) {
        char *path = join(dir, "/", names[i]), *rel = join(rel_prefix, "", names[i]);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            /* only optional/ below the dialect's own directory */
            if (optional || strcmp(names[i], "optional") == 0) {
                char *sub = join(rel, "/", "");
                run_tree(path, sub, dd, true, reg, cnt);
                free(sub);
            }
        } else if (strstr(names[i], ".json")) {
            /* Optional cases run with format assertion on: optional/format/
             * needs it, and older suites (Debian's 2.0.0) keep their format
             * cases in optional/format.json and optional/ecmascript-regex.json.
             * It changes no verdict of the full suite's other optional cases. */
            run_file(path, rel, dd, optional, optional, reg, cnt);
        }
        free(path);
        free(rel);
        free(names[i]);
    }
    free(names);
}

/* The first line of the suite's SOURCE file (where the copy came from), if any. */
static void print_source(const char *suite) {
    char *path = join(suite, "/", "SOURCE"), *text;
    size_t len;
    if (gbx_read_file(&text, &len, path) == GBX_OK) {
        printf("source: %.*s\n", (int)strcspn(text, ";\n"), text);
        free(text);
    }
    free(path);
}

int main(int argc, char **argv) {
    const char *suite = NULL, *only = NULL;
    bool all_dialects = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--verbose") == 0)
            verbose = 1;
        else if (strcmp(argv[i], "--all-dialects") == 0)
            all_dialects = true;
        else if (strcmp(argv[i], "--dialect") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--file") == 0 && i + 1 < argc)
            only_file = argv[++i];
        else
            suite = argv[i];
    }
    if (!suite) {
        fprintf(stderr, "usage: %s SUITE_DIR [--all-dialects] [--verbose] [--dialect DIR] [--file SUBSTRING]\n", argv[0]);
        return 2;
    }
    char *tests_dir = join(suite, "/", "tests"), *remotes = join(suite, "/", "remotes");
    struct stat st;
    if (stat(tests_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        printf("FAIL: JSON-Schema-Test-Suite not found at %s (install Debian's json-schema-test-suite, listed in "
               "packaging/apt-packages.txt, or put the full suite at ../shared/json-schema-test-suite)\n",
               suite);
        return 1;
    }
    gbx_schema_registry *reg;
    if (gbx_schema_registry_new(&reg) || gbx_schema_registry_add_dir(reg, "http://localhost:1234/", remotes)) {
        printf("FAIL: registry: %s\n", gbx_error_last()->message);
        return 1;
    }
    int total_fail = 0;
    printf("%-14s %22s %22s %8s\n", "dialect", "mandatory passed", "optional passed", "skipped");
    char lines[8][128], ran[128] = "", absent[128] = "";
    size_t nlines = 0;
    for (size_t i = 0; i < sizeof dialects / sizeof dialects[0]; i++) {
        const dialect_dir *dd = &dialects[i];
        if (only && strcmp(only, dd->dir) != 0) continue;
        char *dir = join(tests_dir, "/", dd->dir);
        if (stat(dir, &st) != 0) {
            if (all_dialects) {
                printf("FAIL: %s missing\n", dir);
                total_fail++;
            } else {
                printf("SKIP: %s is not in this suite\n", dd->dir);
                snprintf(lines[nlines++], sizeof lines[0], "%-14s %s", dd->dir, "not in this suite: skipped");
            }
            strcat(strcat(absent, " "), dd->dir);
            free(dir);
            continue;
        }
        strcat(strcat(ran, " "), dd->dir);
        counts mand = {0}, opt = {0};
        /* mandatory files first, then optional/ */
        size_t n;
        char **names = list_dir(dir, &n);
        for (size_t f = 0; f < n; f++) {
            char *path = join(dir, "/", names[f]);
            if (strstr(names[f], ".json") && stat(path, &st) == 0 && S_ISREG(st.st_mode))
                run_file(path, names[f], dd, false, false, reg, &mand);
            free(path);
            free(names[f]);
        }
        free(names);
        char *optdir = join(dir, "/", "optional");
        if (stat(optdir, &st) == 0) run_tree(optdir, "optional/", dd, true, reg, &opt);
        free(optdir);
        free(dir);
        total_fail += mand.fail;
        snprintf(lines[nlines++], sizeof lines[0], "%-14s %12d / %-7d %12d / %-7d %8d", dd->dir, mand.pass,
                 mand.pass + mand.fail, opt.pass, opt.pass + opt.fail, mand.skipped);
    }
    printf("\n%-14s %22s %22s %8s\n", "dialect", "mandatory passed", "optional passed", "skipped");
    for (size_t i = 0; i < nlines; i++) printf("%s\n", lines[i]);
    printf("\nsuite: %s\n", suite);
    print_source(suite);
    printf("dialects run:%s\n", ran[0] ? ran : " none");
    if (absent[0]) printf("not in this suite%s:%s\n", all_dialects ? " (required: failed)" : ", skipped", absent);
    gbx_schema_registry_free(reg);
    free(tests_dir);
    free(remotes);
    if (!ran[0] && !total_fail) {
        printf("\nFAIL: no dialect of the suite ran\n");
        return 1;
    }
    if (total_fail) {
        printf("\n%d mandatory case(s) or required dialect(s) failed\n", total_fail);
        return 1;
    }
    printf("\nall mandatory cases pass\n");
    return 0;
}
