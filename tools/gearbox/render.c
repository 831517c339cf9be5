/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* render.c - how the gearbox command shows statuses: colours (only on a
 * terminal, never with NO_COLOR), progress bars, one status in full, a status
 * with its children as a tree; and the tree of statuses itself, read over
 * HTTP (children may live under other locations: their URIs are absolute). */
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"

/* ---- the tree of statuses ------------------------------------------------------ */

gbx_cli_node *gbx_cli_node_new(const char *url) {
    gbx_cli_node *n = calloc(1, sizeof *n);
    if (!n || !(n->url = strdup(url))) gbx_cli_die_oom();
    return n;
}

void gbx_cli_node_free(gbx_cli_node *n) {
    if (!n) return;
    for (size_t i = 0; i < n->n_children; i++) gbx_cli_node_free(n->children[i]);
    free(n->children);
    json_decref(n->status);
    free(n->error);
    free(n->url);
    free(n);
}

/* Makes n's children those of its status, keeping the nodes already known. */
static void reconcile_children(gbx_cli_node *n) {
    json_t *list = json_object_get(n->status, "children");
    size_t want = json_array_size(list);
    gbx_cli_node **next = calloc(want + 1, sizeof *next);
    if (!next) gbx_cli_die_oom();
    size_t k = 0, i;
    json_t *u;
    json_array_foreach(list, i, u) {
        const char *url = json_string_value(u);
        if (!url) continue;
        gbx_cli_node *found = NULL;
        for (size_t j = 0; j < n->n_children && !found; j++)
            if (n->children[j] && strcmp(n->children[j]->url, url) == 0) found = n->children[j], n->children[j] = NULL;
        next[k++] = found ? found : gbx_cli_node_new(url);
    }
    for (size_t j = 0; j < n->n_children; j++) gbx_cli_node_free(n->children[j]);
    free(n->children);
    n->children = next;
    n->n_children = k;
}

int gbx_cli_node_refresh(gbx_cli_node *n, int depth, int *budget) {
    (*budget)--;
    int rc = GBX_CLI_OK;
    /* An ended status does not change any more, as far as watching goes (a
     * COMPLETED job may be cancelled later; watch follows until the end). */
    if (!n->status || n->error || !gbx_cli_status_ended(n->status)) {
        json_t *st = NULL;
        char *why = NULL;
        rc = gbx_cli_fetch_json(&st, NULL, "GET", n->url, NULL, true, &why);
        free(n->error);
        n->error = NULL;
        if (rc == GBX_CLI_OK) {
            json_decref(n->status);
            n->status = st;
            free(why);
        } else {
            json_decref(st);
            n->error = why ? why : strdup("cannot read");
        }
    }
    if (n->status && depth > 0) {
        reconcile_children(n);
        for (size_t i = 0; i < n->n_children && *budget > 0 && !gbx_cli_interrupted; i++)
            gbx_cli_node_refresh(n->children[i], depth - 1, budget);
    }
    return rc;
}

bool gbx_cli_status_ended_state(const char *state) {
    return state && (strcmp(state, "COMPLETED") == 0 || strcmp(state, "CANCELLED") == 0);
}

bool gbx_cli_status_ended(const json_t *status) {
    return gbx_cli_status_ended_state(json_string_value(json_object_get(status, "state")));
}

bool gbx_cli_node_ended(const gbx_cli_node *n) {
    if (n->error && n->status == NULL) return true; /* unreadable: nothing to wait for */
    if (!gbx_cli_status_ended(n->status)) return false;
    for (size_t i = 0; i < n->n_children; i++)
        if (!gbx_cli_node_ended(n->children[i])) return false;
    return true;
}

json_t *gbx_cli_node_json(const gbx_cli_node *n) {
    json_t *o = json_object();
    json_t *children = json_array();
    if (!o || !children) gbx_cli_die_oom();
    json_object_set_new(o, "status_uri", json_string(n->url));
    if (n->status) json_object_set(o, "status", n->status);
    if (n->error) json_object_set_new(o, "error", json_string(n->error));
    for (size_t i = 0; i < n->n_children; i++) json_array_append_new(children, gbx_cli_node_json(n->children[i]));
    json_object_set_new(o, "children", children);
    return o;
}

/* ---- the terminal --------------------------------------------------------------- */

const char *gbx_cli_c(const char *code) {
    static const char *const sgr[][2] = {{"0", "\033[0m"},   {"1", "\033[1m"},   {"2", "\033[2m"},
                                         {"31", "\033[31m"}, {"32", "\033[32m"}, {"33", "\033[33m"},
                                         {"35", "\033[35m"}, {"36", "\033[36m"}};
    for (size_t i = 0; gbx_cli.color && i < sizeof sgr / sizeof sgr[0]; i++)
        if (strcmp(code, sgr[i][0]) == 0) return sgr[i][1];
    return "";
}

static long code_of(const json_t *status) {
    json_t *c = json_object_get(status, "code");
    return json_is_integer(c) ? (long)json_integer_value(c) : 0;
}

static const char *state_of(const json_t *status) {
    const char *s = json_string_value(json_object_get(status, "state"));
    return s ? s : "?";
}

static long progress_of(const json_t *status) {
    json_t *p = json_object_get(status, "progress");
    long v = json_is_number(p) ? (long)json_number_value(p) : 0;
    return v < 0 ? 0 : v > 100 ? 100 : v;
}

const char *gbx_cli_color_for(const json_t *status) {
    const char *s = state_of(status);
    if (strcmp(s, "COMPLETED") == 0) return gbx_cli_c(code_of(status) == 0 ? "32" : "31");
    if (strcmp(s, "RUNNING") == 0) return gbx_cli_c("36");
    if (strcmp(s, "PENDING") == 0) return gbx_cli_c("33");
    return gbx_cli_c("35"); /* STOPPING ... CANCELLED */
}

void gbx_cli_bar(buf *b, long progress, int width, const char *color) {
    int full = (int)(progress * width / 100);
    buf_printf(b, "%s", color);
    for (int i = 0; i < width; i++) {
        if (i == full) buf_printf(b, "%s", GBX_CLI_DIM);
        if (gbx_cli.utf8)
            buf_add(b, i < full ? "\u2588" : "\u2591", 3);
        else
            buf_add(b, i < full ? "#" : "-", 1);
    }
    buf_printf(b, "%s", GBX_CLI_RESET);
}

/* The path of an absolute URI ("http://h:p/barn/v1/x" -> "/barn/v1/x"). */
static const char *path_of(const char *uri) {
    const char *p = strstr(uri, "://");
    if (!p) return uri;
    p = strchr(p + 3, '/');
    return p ? p : uri;
}

void gbx_cli_label(buf *b, const json_t *status) {
    const char *op = json_string_value(json_object_get(status, "operation"));
    const char *uri = json_string_value(json_object_get(status, "uri"));
    buf_printf(b, "%s %s", op ? op : "?", uri ? path_of(uri) : "?");
}

int gbx_cli_columns(void) {
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10) return ws.ws_col;
    const char *c = getenv("COLUMNS");
    int n = c ? atoi(c) : 0;
    return n > 10 ? n : 80;
}

void gbx_cli_print_clipped(FILE *f, const char *text, int columns) {
    int col = 0;
    bool clipped = false;
    for (const char *p = text; *p; p++) {
        if (*p == '\n') {
            if (clipped && gbx_cli.color) fputs("\033[0m", f);
            fputc('\n', f);
            col = 0;
            clipped = false;
        } else if (*p == '\033') { /* an escape sequence takes no room */
            const char *e = p;
            while (*e && !(*e >= '@' && *e <= '~' && e != p && e != p + 1)) e++;
            if (!clipped) fwrite(p, 1, (size_t)(e - p + (*e ? 1 : 0)), f);
            p = *e ? e : e - 1;
        } else if (((unsigned char)*p & 0xC0) == 0x80) { /* a continuation byte */
            if (!clipped) fputc(*p, f);
        } else if (col < columns - 1) {
            fputc(*p, f);
            col++;
        } else {
            clipped = true;
        }
    }
}

/* ---- views ------------------------------------------------------------------------ */

static double number(const json_t *status, const char *key) {
    return json_number_value(json_object_get(status, key));
}

static double elapsed_of(const json_t *status) {
    double ctime = number(status, "ctime");
    if (ctime <= 0) return 0;
    double end = gbx_cli_status_ended(status) ? number(status, "mtime") : gbx_cli_now();
    return end - ctime;
}

void gbx_cli_render_status(buf *b, const json_t *st) {
    char t1[64], t2[64], el[32];
    const char *color = gbx_cli_color_for(st);
    const char *status_uri = json_string_value(json_object_get(st, "status_uri"));
    buf_printf(b, "%s", GBX_CLI_BOLD);
    gbx_cli_label(b, st);
    buf_printf(b, "%s\n", GBX_CLI_RESET);
    buf_printf(b, "  state       %s%s%s", color, state_of(st), GBX_CLI_RESET);
    if (json_object_get(st, "code")) buf_printf(b, " (code %ld)", code_of(st));
    buf_printf(b, "\n  progress    ");
    gbx_cli_bar(b, progress_of(st), 20, color);
    buf_printf(b, " %3ld%%\n", progress_of(st));
    const char *component = json_string_value(json_object_get(st, "component"));
    if (component) buf_printf(b, "  component   %s\n", component);
    const char *uri = json_string_value(json_object_get(st, "uri"));
    if (uri) buf_printf(b, "  uri         %s\n", uri);
    if (status_uri) buf_printf(b, "  status_uri  %s\n", status_uri);
    const char *parent = json_string_value(json_object_get(st, "parent_uri"));
    if (parent) buf_printf(b, "  parent_uri  %s\n", parent);
    const char *trace = gbx_cli_trace_id(st);
    if (trace) buf_printf(b, "  trace_id    %s\n", trace);
    gbx_cli_format_time(t1, sizeof t1, number(st, "ctime"));
    gbx_cli_format_time(t2, sizeof t2, number(st, "mtime"));
    gbx_cli_format_elapsed(el, sizeof el, elapsed_of(st));
    buf_printf(b, "  created     %s   modified %s   elapsed %s\n", t1, t2, el);
    if (number(st, "ytime") > 0) {
        gbx_cli_format_time(t1, sizeof t1, number(st, "ytime"));
        buf_printf(b, "  runs at     %s (ytime %.0f)\n", t1, number(st, "ytime"));
    }
    buf_printf(b, "  failures    %.0f   concurrency %.0f\n", number(st, "failures"), number(st, "concurrency"));
    json_t *meta = json_object_get(st, "meta");
    if (meta) {
        char *m = json_dumps(meta, JSON_COMPACT | JSON_PRESERVE_ORDER);
        buf_printf(b, "  meta        %s\n", m ? m : "?");
        free(m);
    }
    size_t i;
    json_t *v;
    json_t *messages = json_object_get(st, "messages");
    if (json_array_size(messages)) buf_printf(b, "  messages\n");
    json_array_foreach(messages, i, v) buf_printf(b, "    %s\n", json_string_value(v) ? json_string_value(v) : "?");
    json_t *children = json_object_get(st, "children");
    if (json_array_size(children)) buf_printf(b, "  children\n");
    json_array_foreach(children, i, v) buf_printf(b, "    %s\n", json_string_value(v) ? json_string_value(v) : "?");
}

const char *gbx_cli_trace_id(const json_t *status) {
    return json_string_value(json_object_get(json_object_get(status, "meta"), "trace_id"));
}

static const char *newest_message(const json_t *status) {
    json_t *m = json_object_get(status, "messages");
    size_t n = json_array_size(m);
    return n ? json_string_value(json_array_get(m, n - 1)) : NULL;
}

/* One line for a status: state, bar, percent, label, code; `detail`: its
 * newest message too. */
static void node_line(buf *b, const gbx_cli_node *n, int bar, bool detail) {
    if (!n->status) {
        buf_printf(b, "%s%-10s%s %s  %s(%s)%s\n", gbx_cli_c("31"), "UNKNOWN", GBX_CLI_RESET, n->url, GBX_CLI_DIM,
                   n->error ? n->error : "not read yet", GBX_CLI_RESET);
        return;
    }
    const json_t *st = n->status;
    const char *color = gbx_cli_color_for(st);
    buf_printf(b, "%s%-10s%s ", color, state_of(st), GBX_CLI_RESET);
    gbx_cli_bar(b, progress_of(st), bar, color);
    buf_printf(b, " %3ld%%  ", progress_of(st));
    gbx_cli_label(b, st);
    if (gbx_cli_status_ended(st) && code_of(st) != 0)
        buf_printf(b, "  %scode %ld%s", gbx_cli_c("31"), code_of(st), GBX_CLI_RESET);
    if (n->error) buf_printf(b, "  %s(%s)%s", gbx_cli_c("31"), n->error, GBX_CLI_RESET);
    const char *msg = detail ? newest_message(st) : NULL;
    if (msg) buf_printf(b, "  %s%s %s%s", GBX_CLI_DIM, gbx_cli.utf8 ? "\u00b7" : "-", msg, GBX_CLI_RESET);
    buf_add(b, "\n", 1);
}

static void render_children(buf *b, const gbx_cli_node *n, buf *prefix) {
    for (size_t i = 0; i < n->n_children; i++) {
        bool last = i + 1 == n->n_children;
        const char *branch = gbx_cli.utf8 ? (last ? "\u2514\u2500 " : "\u251c\u2500 ") : (last ? "`- " : "|- ");
        const char *stem = gbx_cli.utf8 ? (last ? "   " : "\u2502  ") : (last ? "   " : "|  ");
        buf_printf(b, "%s%s", prefix->s, branch);
        node_line(b, n->children[i], 10, true);
        size_t keep = prefix->len;
        buf_printf(prefix, "%s", stem);
        render_children(b, n->children[i], prefix);
        prefix->len = keep;
        prefix->s[keep] = '\0';
    }
}

void gbx_cli_render_tree(buf *b, const gbx_cli_node *root, int messages, int spinner) {
    static const char *const braille[] = {"\u280b", "\u2819", "\u2839", "\u2838", "\u283c", "\u2834", "\u2826", "\u2827", "\u2807", "\u280f"};
    static const char ascii[] = "|/-\\";
    if (spinner >= 0) {
        bool done = root->status && gbx_cli_status_ended(root->status);
        bool ok = done && code_of(root->status) == 0 && strcmp(state_of(root->status), "COMPLETED") == 0;
        if (done)
            buf_printf(b, "%s%s%s ", gbx_cli_c(ok ? "32" : "31"), gbx_cli.utf8 ? (ok ? "\u2714" : "\u2718") : (ok ? "+" : "x"), GBX_CLI_RESET);
        else if (gbx_cli.utf8)
            buf_printf(b, "%s%s%s ", gbx_cli_c("36"), braille[spinner % 10], GBX_CLI_RESET);
        else
            buf_printf(b, "%c ", ascii[spinner % 4]);
    }
    node_line(b, root, 20, false);
    if (root->status) {
        char el[32];
        gbx_cli_format_elapsed(el, sizeof el, elapsed_of(root->status));
        const char *status_uri = json_string_value(json_object_get(root->status, "status_uri"));
        buf_printf(b, "  %selapsed %s   %s%s\n", GBX_CLI_DIM, el, status_uri ? status_uri : root->url, GBX_CLI_RESET);
        const char *trace = gbx_cli_trace_id(root->status);
        if (trace) buf_printf(b, "  %strace   %s%s\n", GBX_CLI_DIM, trace, GBX_CLI_RESET);
        json_t *m = json_object_get(root->status, "messages");
        size_t n = json_array_size(m);
        for (size_t i = n > (size_t)messages ? n - (size_t)messages : 0; i < n; i++)
            buf_printf(b, "    %s\n", json_string_value(json_array_get(m, i)) ? json_string_value(json_array_get(m, i)) : "?");
    }
    buf prefix = {0};
    buf_printf(&prefix, "  ");
    render_children(b, root, &prefix);
    free(prefix.s);
}
