/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* watch.c - gearbox watch and gearbox submit: following a status until it and
 * its children end.  On a terminal the view redraws in place (a frame per
 * poll, a spinner); piped, it writes one line per change; with --json one
 * JSON line per change.  Ctrl-C stops the watching, never the job. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "gearbox/json.h"

#include "cli.h"

#define WATCH_DEPTH 8
#define WATCH_NODES 200
#define WATCH_PATIENCE 30.0 /* seconds a status that was read may stay unreadable */

static void sleep_for(double seconds) {
    struct timespec ts = {(time_t)seconds, (long)((seconds - floor(seconds)) * 1e9)};
    while (!gbx_cli_interrupted && nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int rows(void) {
    struct winsize ws;
    return ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 3 ? ws.ws_row : 24;
}

/* ---- a line per change (piped) ----------------------------------------------- */

static void change_lines(buf *b, gbx_cli_node *n, double since, int depth) {
    if (n->status) {
        const char *state = json_string_value(json_object_get(n->status, "state"));
        long progress = (long)json_number_value(json_object_get(n->status, "progress"));
        json_t *messages = json_object_get(n->status, "messages");
        size_t count = json_array_size(messages);
        bool moved = !n->shown || strcmp(n->shown_state, state ? state : "?") != 0 || n->shown_progress != progress;
        char head[160];
        snprintf(head, sizeof head, "[+%.1fs] %*s%-10s %3ld%%", gbx_cli_now() - since, depth * 2, "",
                 state ? state : "?", progress);
        bool ends = gbx_cli_status_ended(n->status) && (!n->shown || !gbx_cli_status_ended_state(n->shown_state));
        buf what = {0};
        if (ends && json_object_get(n->status, "code"))
            buf_printf(&what, "code %lld", (long long)json_integer_value(json_object_get(n->status, "code")));
        if (depth == 0) {
            /* The root: what it is, then each new message on its line. */
            if (!n->shown) {
                buf label = {0};
                gbx_cli_label(&label, n->status);
                buf_printf(b, "%s  %s\n", head, label.s);
                const char *trace = gbx_cli_trace_id(n->status);
                if (trace) buf_printf(b, "%s  trace %s\n", head, trace);
                free(label.s);
                moved = false;
            }
            for (size_t i = n->shown ? n->shown_messages : 0; i < count; i++, moved = false) {
                const char *m = json_string_value(json_array_get(messages, i));
                buf_printf(b, "%s  %s\n", head, m ? m : "?");
            }
            if (moved || what.len) buf_printf(b, "%s%s%s\n", head, what.len ? "  " : "", what.len ? what.s : "");
        } else if (moved || !n->shown || n->shown_messages != count) {
            /* A child: what it is, its state and newest message. */
            const char *newest = count ? json_string_value(json_array_get(messages, count - 1)) : NULL;
            buf label = {0};
            gbx_cli_label(&label, n->status);
            buf_printf(b, "%s  %s%s%s%s%s\n", head, label.s, what.len ? "  " : "", what.len ? what.s : "",
                       newest ? "  - " : "", newest ? newest : "");
            free(label.s);
        }
        free(what.s);
        n->shown = true;
        snprintf(n->shown_state, sizeof n->shown_state, "%s", state ? state : "?");
        n->shown_progress = progress;
        n->shown_messages = count;
    }
    for (size_t i = 0; i < n->n_children; i++) change_lines(b, n->children[i], since, depth + 1);
}

/* ---- following ------------------------------------------------------------------ */

int gbx_cli_follow(const char *url, int messages, double interval, double timeout, bool final_json_only) {
    gbx_cli_node *root = gbx_cli_node_new(url);
    double start = gbx_cli_now();
    int rc = GBX_CLI_OK, frame = 0, drawn = 0;
    char *last_json = NULL;
    double failing_since = 0;
    bool live = gbx_cli.tty && !gbx_cli.json;
    if (live) fputs("\033[?25l", stdout); /* no cursor while redrawing */
    for (;;) {
        int budget = WATCH_NODES;
        rc = gbx_cli_node_refresh(root, WATCH_DEPTH, &budget);
        if (rc == GBX_CLI_INTERRUPTED || gbx_cli_interrupted) {
            rc = GBX_CLI_INTERRUPTED;
            break;
        }
        /* Unreadable at first: the URL is wrong.  Later: keep showing the last
         * status read (a gateway restarting) for WATCH_PATIENCE seconds. */
        if (rc == GBX_CLI_OK) failing_since = 0;
        else if (!failing_since) failing_since = gbx_cli_now();
        if (rc != GBX_CLI_OK && (!root->status || gbx_cli_now() - failing_since > WATCH_PATIENCE)) {
            if (live && drawn) fputs("\n", stdout);
            gbx_cli_fail(0, "cannot read %s: %s", url, root->error ? root->error : "?");
            break;
        }
        bool ended = gbx_cli_node_ended(root);
        if (gbx_cli.json && !final_json_only) {
            json_t *snapshot = gbx_cli_node_json(root);
            char *text = json_dumps(snapshot, JSON_COMPACT | JSON_PRESERVE_ORDER);
            if (text && (!last_json || strcmp(text, last_json) != 0)) {
                puts(text);
                fflush(stdout);
                free(last_json);
                last_json = text;
            } else {
                free(text);
            }
            json_decref(snapshot);
        } else if (live) {
            buf b = {0};
            gbx_cli_render_tree(&b, root, messages, frame++);
            if (!ended) buf_printf(&b, "  %s(Ctrl-C stops watching; the job goes on)%s\n", GBX_CLI_DIM, GBX_CLI_RESET);
            /* Never taller than the screen: the cursor cannot go above it. */
            int max = rows() - 1, lines = 0;
            for (size_t i = 0; i < b.len; i++) {
                if (b.s[i] == '\n' && ++lines == max) {
                    b.len = i + 1;
                    b.s[b.len] = '\0';
                    break;
                }
            }
            if (drawn) printf("\033[%dA", drawn);
            fputs("\r\033[J", stdout);
            gbx_cli_print_clipped(stdout, b.s, gbx_cli_columns());
            fflush(stdout);
            drawn = lines;
            free(b.s);
        } else if (!gbx_cli.json) {
            buf b = {0};
            change_lines(&b, root, start, 0);
            if (b.s) fputs(b.s, stdout);
            fflush(stdout);
            free(b.s);
        }
        if (ended) break;
        if (timeout > 0 && gbx_cli_now() - start >= timeout) {
            rc = GBX_CLI_TIMEOUT;
            break;
        }
        sleep_for(interval);
    }
    if (live) fputs("\033[?25h", stdout);
    fflush(stdout);
    free(last_json);
    if (rc == GBX_CLI_INTERRUPTED) {
        fprintf(stderr, "%s%s: stopped watching; the job goes on: %s\n", live ? "\n" : "", gbx_cli.cmd, url);
    } else if (rc == GBX_CLI_TIMEOUT) {
        gbx_cli_fail(0, "gave up after %gs: %s has not ended", timeout, url);
    } else if (root->status) {
        if (gbx_cli.json && final_json_only) gbx_cli_print_json(root->status, false);
        if (rc == GBX_CLI_OK) rc = gbx_cli_exit_for_code(json_integer_value(json_object_get(root->status, "code")));
    }
    gbx_cli_node_free(root);
    return rc;
}

/* ---- watch ------------------------------------------------------------------------ */

int gbx_cli_follow_option(int key, const char *arg, void *ctx) {
    gbx_cli_follow_opts *o = ctx;
    long messages;
    switch (key) {
    case 'm': {
        int rc = gbx_cli_int_option(&messages, "messages", arg, 0, 1000);
        o->messages = (int)messages;
        return rc;
    }
    case 'i': return gbx_cli_seconds_option(&o->interval, "interval", arg, 0.05, 3600);
    case 'T': return gbx_cli_seconds_option(&o->timeout, "timeout", arg, 0.01, 1e9);
    case 'w': o->wait = true; return 0;
    case 'W': o->no_wait = true; return 0;
    case 'd': o->body = arg; return 0;
    case 'H':
        if (!strchr(arg, ':') || arg[0] == ':')
            return gbx_cli_fail(GBX_CLI_USAGE, "-H needs \"Name: value\", not \"%s\"", arg);
        if (o->n_headers == 32) return gbx_cli_fail(GBX_CLI_USAGE, "at most 32 headers");
        o->headers[o->n_headers++] = arg;
        return 0;
    }
    return 0;
}

int gbx_cli_watch(int argc, char **argv, const char *usage) {
    static const struct option opts[] = {GBX_CLI_FOLLOW_OPTIONS, {NULL, 0, NULL, 0}};
    gbx_cli_follow_opts o = GBX_CLI_FOLLOW_DEFAULTS;
    int first;
    int rc = gbx_cli_parse(argc, argv, usage, opts, gbx_cli_follow_option, &o, 1, 1, &first);
    if (rc >= 0) return rc;
    if (!gbx_cli_check_url(argv[first])) return GBX_CLI_USAGE;
    gbx_cli_catch_interrupt();
    return gbx_cli_follow(argv[first], o.messages, o.interval, o.timeout, false);
}

/* ---- submit ----------------------------------------------------------------------- */

int gbx_cli_read_body(char **out, size_t *len, const char *arg) {
    char *text = NULL;
    size_t n = 0;
    if (arg[0] == '@' && strcmp(arg, "@-") == 0) {
        buf b = {0};
        char chunk[8192];
        size_t got;
        buf_add(&b, "", 0);
        while ((got = fread(chunk, 1, sizeof chunk, stdin)) > 0) buf_add(&b, chunk, got);
        text = b.s, n = b.len;
    } else if (arg[0] == '@') {
        if (gbx_read_file(&text, &n, arg + 1) != GBX_OK)
            return gbx_cli_fail(GBX_CLI_INPUT, "cannot read the body: %s", gbx_error_last()->message);
    } else {
        if (!(text = strdup(arg))) gbx_cli_die_oom();
        n = strlen(arg);
    }
    json_error_t err;
    json_t *doc = json_loadb(text, n, JSON_DECODE_ANY, &err);
    if (!doc) {
        free(text);
        return gbx_cli_fail(GBX_CLI_INPUT, "the body (%s) is not JSON: line %d: %s",
                            arg[0] == '@' ? arg + 1 : "-d", err.line, err.text);
    }
    json_decref(doc);
    *out = text;
    *len = n;
    return GBX_CLI_OK;
}

/* --json for an answer that is not JSON: {"code", "content_type", "body"}
 * (the body as a string when it is UTF-8 text). */
static void print_raw_answer(const gbx_cli_response *r) {
    json_t *o = json_pack("{s:i, s:s?}", "code", (int)r->code, "content_type", r->content_type);
    if (!o) gbx_cli_die_oom();
    json_t *text = json_stringn(r->body ? r->body : "", r->len);
    if (text) json_object_set_new(o, "body", text);
    gbx_cli_print_json(o, false);
    json_decref(o);
}

static bool method_ok(char *m) {
    if (!*m || strlen(m) > 16) return false;
    for (char *p = m; *p; p++) {
        if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 'a' + 'A');
        if (*p < 'A' || *p > 'Z') return false;
    }
    return true;
}

/* TRACEPARENT and TRACESTATE from the environment (the names OpenTelemetry
 * uses to carry a W3C trace context into a process) become the request's
 * traceparent/tracestate headers, unless -H gave those.  *kept: the
 * malloc'ed header lines, freed by the caller. */
static void trace_from_environment(gbx_cli_follow_opts *o, char *kept[2]) {
    static const char *const names[][2] = {{"TRACEPARENT", "traceparent"}, {"TRACESTATE", "tracestate"}};
    for (size_t i = 0; i < 2; i++) {
        kept[i] = NULL;
        const char *value = getenv(names[i][0]);
        if (!value || !*value || o->n_headers >= (int)(sizeof o->headers / sizeof o->headers[0]) - 1) continue;
        size_t n = strlen(names[i][1]);
        bool given = false;
        for (int h = 0; h < o->n_headers; h++)
            given |= strncasecmp(o->headers[h], names[i][1], n) == 0 && o->headers[h][n] == ':';
        if (given) continue;
        buf line = {0};
        buf_printf(&line, "%s: %s", names[i][1], value);
        kept[i] = line.s;
        o->headers[o->n_headers++] = line.s;
        o->headers[o->n_headers] = NULL;
    }
}

int gbx_cli_submit(int argc, char **argv, const char *usage) {
    static const struct option opts[] = {
        GBX_CLI_FOLLOW_OPTIONS,
        {"data", required_argument, NULL, 'd'},
        {"header", required_argument, NULL, 'H'},
        {"wait", no_argument, NULL, 'w'},
        {"no-wait", no_argument, NULL, 'W'},
        {NULL, 0, NULL, 0},
    };
    gbx_cli_follow_opts o = GBX_CLI_FOLLOW_DEFAULTS;
    int first;
    int rc = gbx_cli_parse(argc, argv, usage, opts, gbx_cli_follow_option, &o, 2, 2, &first);
    if (rc >= 0) return rc;
    char *method = argv[first];
    const char *url = argv[first + 1];
    if (!method_ok(method)) return gbx_cli_fail(GBX_CLI_USAGE, "\"%s\" is not an HTTP method (GET, PUT, POST, DELETE, ...)", method);
    if (!gbx_cli_check_url(url)) return GBX_CLI_USAGE;
    if (o.wait && o.no_wait) return gbx_cli_fail(GBX_CLI_USAGE, "--wait or --no-wait, not both");
    char *body = NULL;
    size_t len = 0;
    if (o.body && (rc = gbx_cli_read_body(&body, &len, o.body)) != GBX_CLI_OK) return rc;
    gbx_cli_catch_interrupt();
    gbx_cli_response r;
    char *trace_headers[2];
    trace_from_environment(&o, trace_headers);
    rc = gbx_cli_http(&r, method, url, body, len, o.headers, 0);
    free(body);
    free(trace_headers[0]);
    free(trace_headers[1]);
    if (rc != GBX_CLI_OK) {
        if (rc == GBX_CLI_UNREACHABLE) gbx_cli_fail(0, "no answer from %s: %s", url, r.error);
        return rc;
    }
    json_error_t err;
    json_t *doc = r.len ? json_loadb(r.body, r.len, JSON_DECODE_ANY, &err) : NULL;
    if (r.code == 202) {
        const char *status_uri = json_string_value(json_object_get(doc, "status_uri"));
        if (!status_uri) status_uri = r.location;
        bool wait = o.wait || (!o.no_wait && gbx_cli.tty && !gbx_cli.json);
        if (!status_uri) {
            rc = gbx_cli_fail(GBX_CLI_PROTOCOL, "202 from %s without a status_uri or Location", url);
        } else if (wait) {
            if (!gbx_cli.json && !gbx_cli.tty) printf("accepted: %s\n", status_uri);
            rc = gbx_cli_follow(status_uri, o.messages, o.interval, o.timeout, true);
        } else if (gbx_cli.json && doc) {
            gbx_cli_print_json(doc, false);
        } else {
            printf("%s\n", status_uri);
        }
    } else {
        /* A synchronous answer (or an error): the body as it came, JSON indented. */
        if (r.code >= 400) {
            char *m = gbx_cli_error_text(doc, r.body);
            gbx_cli_fail(0, "%ld from %s: %s", r.code, url, m);
            free(m);
            long code = json_integer_value(json_object_get(doc, "code"));
            rc = gbx_cli_exit_for_code(code >= 400 ? code : r.code);
        }
        /* Errors went to stderr above; --json has their body on stdout too. */
        if (doc && (r.code < 400 || gbx_cli.json))
            gbx_cli_print_json(doc, false);
        else if (!doc && gbx_cli.json)
            print_raw_answer(&r);
        else if (!doc && r.len && r.code < 400)
            fwrite(r.body, 1, r.len, stdout);
    }
    json_decref(doc);
    gbx_cli_response_free(&r);
    return rc;
}
