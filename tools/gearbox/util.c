/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* util.c - strings, times, exit codes and option parsing of the gearbox command. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "cli.h"

gbx_cli_options gbx_cli = {.cmd = "gearbox"};
volatile int gbx_cli_interrupted;

static void on_interrupt(int sig) {
    (void)sig;
    gbx_cli_interrupted = 1;
}

void gbx_cli_catch_interrupt(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt; /* no SA_RESTART: sleeps end at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
}

int gbx_cli_fail(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", gbx_cli.cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

int gbx_cli_exit_for_code(long code) {
    if (code == 0) return GBX_CLI_OK;
    if (code >= 400 && code <= 515) return (int)(code - 390);
    return GBX_CLI_FAILED;
}

void gbx_cli_print_json(const json_t *value, bool compact) {
    char *s = json_dumps(value, (compact ? JSON_COMPACT : JSON_INDENT(2)) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    if (!s) gbx_cli_die_oom();
    puts(s);
    fflush(stdout);
    free(s);
}

/* ---- strings ------------------------------------------------------------------ */

void gbx_cli_die_oom(void) {
    fprintf(stderr, "gearbox: out of memory\n");
    exit(GBX_CLI_FAILED);
}

void buf_add(buf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        if (!(b->s = realloc(b->s, b->cap))) gbx_cli_die_oom();
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void buf_printf(buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *tmp = NULL;
    int n = vasprintf(&tmp, fmt, ap);
    va_end(ap);
    if (n < 0) gbx_cli_die_oom();
    buf_add(b, tmp, (size_t)n);
    free(tmp);
}

void buf_json(buf *b, const char *s) {
    buf_add(b, "\"", 1);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') buf_add(b, "\\", 1);
        buf_add(b, s, 1);
    }
    buf_add(b, "\"", 1);
}

/* ---- times -------------------------------------------------------------------- */

double gbx_cli_now(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

bool gbx_cli_parse_seconds(double *out, const char *text) {
    if (!isdigit((unsigned char)text[0]) && text[0] != '.') return false;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || !isfinite(v) || v < 0) return false;
    double unit = 1;
    if (*end == 's') end++;
    else if (*end == 'm') unit = 60, end++;
    else if (*end == 'h') unit = 3600, end++;
    else if (*end == 'd') unit = 86400, end++;
    if (*end) return false;
    *out = v * unit;
    return true;
}

/* ISO-8601: YYYY-MM-DD[(T| )hh:mm[:ss[.fff]]][Z|±hh[:]mm]; no zone = local time. */
static bool parse_iso(double *out, const char *s) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *p = strptime(s, "%Y-%m-%d", &tm);
    if (!p) return false;
    double frac = 0;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        const char *q = strptime(p + 1, "%H:%M", &tm);
        if (!q) return false;
        p = q;
        if (*p == ':') {
            if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2])) return false;
            tm.tm_sec = (p[1] - '0') * 10 + (p[2] - '0');
            p += 3;
            if (*p == '.' || *p == ',') {
                char *end;
                char tmp[32];
                snprintf(tmp, sizeof tmp, "0.%s", p + 1);
                frac = strtod(tmp, &end);
                p += 1 + (size_t)(end - tmp - 2);
            }
        }
    }
    if (!*p) {
        tm.tm_isdst = -1;
        time_t t = mktime(&tm);
        if (t == (time_t)-1) return false;
        *out = (double)t + frac;
        return true;
    }
    long offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, hh, mm = 0;
        p++;
        if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1])) return false;
        hh = (p[0] - '0') * 10 + (p[1] - '0');
        p += 2;
        if (*p == ':') p++;
        if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1])) {
            mm = (p[0] - '0') * 10 + (p[1] - '0');
            p += 2;
        }
        offset = sign * (hh * 3600L + mm * 60L);
    } else {
        return false;
    }
    if (*p) return false;
    time_t t = timegm(&tm);
    if (t == (time_t)-1) return false;
    *out = (double)t - (double)offset + frac;
    return true;
}

bool gbx_cli_parse_time(double *out, const char *text, const char **why) {
    *why = "expected unix seconds (1796186948), ISO-8601 (2026-12-04T21:30:00Z) or a time from now "
           "(+30s, +5m, +2h, +1d)";
    if (!text || !*text) return false;
    if (text[0] == '+') {
        double d;
        if (!gbx_cli_parse_seconds(&d, text + 1)) return false;
        *out = gbx_cli_now() + d;
        return true;
    }
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end != text && !*end && !errno && isfinite(v) && isdigit((unsigned char)text[0])) {
        if (v < 0) return false;
        *out = v;
        return true;
    }
    return parse_iso(out, text);
}

void gbx_cli_format_elapsed(char *out, size_t size, double seconds) {
    long s = seconds < 0 ? 0 : (long)seconds;
    if (s >= 3600)
        snprintf(out, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(out, size, "%ld:%02ld", s / 60, s % 60);
}

void gbx_cli_format_time(char *out, size_t size, double unix_seconds) {
    time_t t = (time_t)unix_seconds;
    struct tm tm;
    if (!localtime_r(&t, &tm) || !strftime(out, size, "%Y-%m-%d %H:%M:%S", &tm)) snprintf(out, size, "%.0f", unix_seconds);
}

int gbx_cli_int_option(long *out, const char *name, const char *arg, long min, long max) {
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || v < min || v > max)
        return gbx_cli_fail(GBX_CLI_USAGE, "--%s needs a number from %ld to %ld, not \"%s\"", name, min, max, arg);
    *out = v;
    return 0;
}

int gbx_cli_seconds_option(double *out, const char *name, const char *arg, double min, double max) {
    double v;
    if (!gbx_cli_parse_seconds(&v, arg) || v < min || v > max)
        return gbx_cli_fail(GBX_CLI_USAGE, "--%s needs seconds from %g to %g (2.5, 30s, 5m), not \"%s\"", name,
                            min, max, arg);
    *out = v;
    return 0;
}

/* ---- options ------------------------------------------------------------------ */

int gbx_cli_parse(int argc, char **argv, const char *usage, const struct option *specific,
                  gbx_cli_option_fn *fn, void *ctx, int min_args, int max_args, int *first) {
    enum { OPT_JSON = 0x1001, OPT_COLOR, OPT_NO_COLOR };
    static const struct option common[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {"color", no_argument, NULL, OPT_COLOR},
        {"no-color", no_argument, NULL, OPT_NO_COLOR},
    };
    size_t n = 0;
    while (specific && specific[n].name) n++;
    struct option *all = calloc(n + 5, sizeof *all);
    char *shorts = calloc(3 * n + 5, 1);
    if (!all || !shorts) gbx_cli_die_oom();
    memcpy(all, specific, n * sizeof *all);
    memcpy(all + n, common, sizeof common);
    char *sp = shorts;
    *sp++ = '+'; /* stop at the first positional argument: the loop below collects them */
    *sp++ = ':'; /* a missing value is ':', an unknown option '?' */
    *sp++ = 'h';
    for (size_t i = 0; i < n; i++) {
        if (specific[i].val > 0 && specific[i].val < 128 && isalnum(specific[i].val)) {
            *sp++ = (char)specific[i].val;
            if (specific[i].has_arg) *sp++ = ':';
        }
    }
    /* Positional arguments may come between options: collect them. */
    char **positional = calloc((size_t)argc + 1, sizeof *positional);
    if (!positional) gbx_cli_die_oom();
    int np = 0, rc = -1;
    optind = 1;
    opterr = 0;
    while (rc < 0 && optind < argc) {
        if (argv[optind][0] != '-' || strcmp(argv[optind], "-") == 0) {
            positional[np++] = argv[optind++];
            continue;
        }
        if (strcmp(argv[optind], "--") == 0) {
            for (optind++; optind < argc;) positional[np++] = argv[optind++];
            break;
        }
        int prev = optind;
        int c = getopt_long(argc, argv, shorts, all, NULL);
        if (c == -1) break;
        switch (c) {
        case 'h': fputs(usage, stdout); rc = 0; break;
        case OPT_JSON: gbx_cli.json = true; break;
        case OPT_COLOR: gbx_cli.color = true; break;
        case OPT_NO_COLOR: gbx_cli.color = false; break;
        case ':':
            gbx_cli_fail(0, "option %s needs a value", argv[prev]);
            fprintf(stderr, "%s", usage);
            rc = GBX_CLI_USAGE;
            break;
        case '?':
            gbx_cli_fail(0, "unknown option %s", argv[prev]);
            fprintf(stderr, "%s", usage);
            rc = GBX_CLI_USAGE;
            break;
        default: {
            int r = fn ? fn(c, optarg, ctx) : 0;
            if (r != 0) rc = r;
        }
        }
    }
    if (rc < 0) {
        if (np < min_args) {
            gbx_cli_fail(0, "%s", np == 0 ? "missing arguments" : "too few arguments");
            fprintf(stderr, "%s", usage);
            rc = GBX_CLI_USAGE;
        } else if (np > max_args) {
            gbx_cli_fail(0, "unexpected argument \"%s\"", positional[max_args]);
            fprintf(stderr, "%s", usage);
            rc = GBX_CLI_USAGE;
        } else {
            /* Positional arguments go to the end of argv. */
            memcpy(argv + argc - np, positional, (size_t)np * sizeof *argv);
            *first = argc - np;
        }
    }
    free(positional);
    free(all);
    free(shorts);
    return rc;
}
