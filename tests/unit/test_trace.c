/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit tests of core/src/job/trace.c: traceparent (version 00 and the
 * forward-compatible reading of later versions), tracestate cleaning,
 * fresh ids, and the context a request continues. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "gearbox/trace.h"

#define TID "0af7651916cd43dd8448eb211c80319c"
#define PID "b7ad6b7169203331"

static const struct {
    const char *value;
    const char *formatted; /* NULL: invalid */
} traceparents[] = {
    {"00-" TID "-" PID "-01", "00-" TID "-" PID "-01"},
    {"00-" TID "-" PID "-00", "00-" TID "-" PID "-00"},
    {"00-" TID "-" PID "-09", "00-" TID "-" PID "-09"}, /* unknown flags of 00 stay */
    /* Later versions: the same fields, then the end or "-"; only "sampled" kept. */
    {"01-" TID "-" PID "-03", "00-" TID "-" PID "-01"},
    {"cc-" TID "-" PID "-02-what-comes-next", "00-" TID "-" PID "-00"},
    {"cc-" TID "-" PID "-01x", NULL},
    {"ff-" TID "-" PID "-01", NULL},                      /* version ff is invalid */
    {"00-" TID "-" PID "-01-", NULL},                     /* 00 is exactly 55 */
    {"00-" TID "-" PID "-1", NULL},
    {"00-0AF7651916CD43DD8448EB211C80319C-" PID "-01", NULL}, /* uppercase */
    {"00-" TID "-B7AD6B7169203331-01", NULL},
    {"00-" TID "-" PID "-0A", NULL},
    {"0A-" TID "-" PID "-01", NULL},
    {"00-00000000000000000000000000000000-" PID "-01", NULL},
    {"00-" TID "-0000000000000000-01", NULL},
    {"00_" TID "-" PID "-01", NULL},
    {"00-" TID "_" PID "-01", NULL},
    {"00-" TID "-" PID "_01", NULL},
    {"00-0af7651916cd43dd8448eb211c80319-" PID "-01x", NULL}, /* short trace id */
    {"00-" TID "-" PID "-0g", NULL},
    {" 00-" TID "-" PID "-01", NULL},
    {"00-" TID "-" PID, NULL},
    {"", NULL},
    {"xyz", NULL},
};

static const struct {
    const char *value;
    const char *clean; /* NULL: nothing left */
} tracestates[] = {
    {"congo=t61rcWkgMzE", "congo=t61rcWkgMzE"},
    {"rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"},
    {" rojo=1 ,\t congo=2\t", "rojo=1,congo=2"},           /* whitespace around members */
    {"rojo=1,,  ,congo=2", "rojo=1,congo=2"},              /* empty members */
    {"rojo=1,rojo=2,congo=3", "rojo=1,congo=3"},           /* the first of a repeated key */
    {"Rojo=1,congo=2", "congo=2"},                         /* uppercase key */
    {"1rojo=1,congo=2", "congo=2"},                        /* a simple key starts lcalpha */
    {"a_-*/9=1", "a_-*/9=1"},
    {"t3n@vendor=x,1@v=y", "t3n@vendor=x,1@v=y"},          /* multi-tenant keys */
    {"t@1v=x,t@=x,@v=x,t@v@w=x,ok=1", "ok=1"},
    {"t@abcdefghijklmn=x,t@abcdefghijklmno=y", "t@abcdefghijklmn=x"}, /* system-id <= 14 */
    {"k=a b,k2=a ,k3= b", "k=a b,k2=a,k3= b"},             /* inner/leading space; trailing is OWS */
    {"k=,k2=v=w,k3=v", "k3=v"},                            /* empty value, "=" in a value */
    {"k=\x7f,k2=\x01,k3=ok", "k3=ok"},
    {"novalue,k=v", "k=v"},
    {"", NULL},
    {" , ", NULL},
    {"=v", NULL},
};

static void test_traceparent(void) {
    for (size_t i = 0; i < sizeof traceparents / sizeof traceparents[0]; i++) {
        gbx_traceparent tp;
        memset(&tp, 'x', sizeof tp);
        bool ok = gbx_traceparent_parse(&tp, traceparents[i].value);
        if (!ok != !traceparents[i].formatted)
            fprintf(stderr, "traceparent case %zu \"%s\"\n", i, traceparents[i].value);
        CHECK(ok == (traceparents[i].formatted != NULL));
        if (!ok || !traceparents[i].formatted) continue;
        char out[GBX_TRACEPARENT_SIZE];
        gbx_traceparent_format(out, &tp);
        CHECK_STR(out, traceparents[i].formatted);
        CHECK_STR(tp.trace_id, TID);
        CHECK_STR(tp.parent_id, PID);
    }
    gbx_traceparent tp;
    CHECK(!gbx_traceparent_parse(&tp, NULL));
    char id[GBX_TRACE_ID_SIZE];
    CHECK(gbx_trace_id_of(id, "00-" TID "-" PID "-01"));
    CHECK_STR(id, TID);
    CHECK(!gbx_trace_id_of(id, "00-" TID "-" PID));
}

static void test_tracestate(void) {
    for (size_t i = 0; i < sizeof tracestates / sizeof tracestates[0]; i++) {
        char *clean = (char *)"unset";
        CHECK_INT(gbx_tracestate_clean(&clean, tracestates[i].value), GBX_OK);
        if (tracestates[i].clean) {
            CHECK_STR(clean, tracestates[i].clean);
        } else {
            if (clean) fprintf(stderr, "tracestate case %zu gave \"%s\"\n", i, clean);
            CHECK(clean == NULL);
        }
        free(clean);
    }
    char *clean = (char *)"unset";
    CHECK_INT(gbx_tracestate_clean(&clean, NULL), GBX_OK);
    CHECK(clean == NULL);

    /* At most 32 members: the 33rd and later are dropped. */
    char many[40 * 8] = "";
    for (int i = 0; i < 40; i++) {
        char m[16];
        snprintf(m, sizeof m, "%sk%d=%d", i ? "," : "", i, i);
        strcat(many, m);
    }
    CHECK_INT(gbx_tracestate_clean(&clean, many), GBX_OK);
    int members = 1;
    for (const char *p = clean; p && *p; p++) members += *p == ',';
    CHECK_INT(members, 32);
    CHECK(clean && strstr(clean, "k31=31") && !strstr(clean, "k32="));
    free(clean);

    /* Keys of 256 characters and values of 256 pass; one more does not. */
    char longest[600], *p = longest;
    memset(p, 'k', 256);
    p += 256;
    *p++ = '=';
    memset(p, 'v', 256);
    p[256] = '\0';
    CHECK_INT(gbx_tracestate_clean(&clean, longest), GBX_OK);
    CHECK(clean && strcmp(clean, longest) == 0);
    free(clean);
    p[256] = 'v';
    p[257] = '\0';
    CHECK_INT(gbx_tracestate_clean(&clean, longest), GBX_OK);
    CHECK(clean == NULL);
}

static bool is_hex(const char *s, size_t n) {
    return strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

static void test_fresh(void) {
    gbx_traceparent a, b;
    gbx_traceparent_start(&a);
    gbx_traceparent_start(&b);
    CHECK(is_hex(a.trace_id, 32));
    CHECK(is_hex(a.parent_id, 16));
    CHECK_INT(a.flags, 0);
    CHECK(strcmp(a.trace_id, b.trace_id) != 0);
    CHECK(strcmp(a.parent_id, b.parent_id) != 0);
    char out[GBX_TRACEPARENT_SIZE];
    gbx_traceparent_format(out, &a);
    gbx_traceparent back;
    CHECK(gbx_traceparent_parse(&back, out)); /* what it writes, it reads */
    CHECK_STR(back.trace_id, a.trace_id);

    /* A forked child does not repeat its parent's ids. */
    int fds[2];
    CHECK_INT(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        char id[17];
        gbx_trace_random_hex(id, 16);
        ssize_t w = write(fds[1], id, 16);
        _exit(w == 16 ? 0 : 1);
    }
    char mine[17], theirs[17] = "";
    gbx_trace_random_hex(mine, 16);
    CHECK_INT(read(fds[0], theirs, 16), 16);
    theirs[16] = '\0';
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(strcmp(mine, theirs) != 0);
    close(fds[0]);
    close(fds[1]);
}

static void test_continue(void) {
    char tp[GBX_TRACEPARENT_SIZE];
    char *ts = NULL;
    bool restarted = true;
    /* Valid: kept (as version 00), with its cleaned tracestate. */
    CHECK_INT(gbx_trace_continue(tp, &ts, &restarted, "00-" TID "-" PID "-01", " a=1,,A=2"), GBX_OK);
    CHECK_STR(tp, "00-" TID "-" PID "-01");
    CHECK_STR(ts, "a=1");
    CHECK(!restarted);
    free(ts);
    CHECK_INT(gbx_trace_continue(tp, &ts, &restarted, "01-" TID "-" PID "-01-x", NULL), GBX_OK);
    CHECK_STR(tp, "00-" TID "-" PID "-01");
    CHECK(ts == NULL);
    /* Invalid: a new trace, and the tracestate is dropped with it. */
    CHECK_INT(gbx_trace_continue(tp, &ts, &restarted, "00-" TID "-" PID "-0X", "a=1"), GBX_OK);
    gbx_traceparent back;
    CHECK(gbx_traceparent_parse(&back, tp));
    CHECK(strcmp(back.trace_id, TID) != 0);
    CHECK_INT(back.flags, 0);
    CHECK(restarted);
    CHECK(ts == NULL);
    /* Absent: a new trace too. */
    CHECK_INT(gbx_trace_continue(tp, &ts, NULL, NULL, "a=1"), GBX_OK);
    CHECK(gbx_traceparent_parse(&back, tp));
    CHECK(ts == NULL);
}

int main(void) {
    test_traceparent();
    test_tracestate();
    test_fresh();
    test_continue();
    return check_done();
}
