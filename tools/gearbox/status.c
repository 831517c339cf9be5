/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* status.c - gearbox status, tree, ls, cancel and reschedule: the status
 * endpoints of docs/gateway.md (GET/POST …/status/<id>, GET …/status;k=v). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Prints a status the command read: JSON or the full view. */
static void print_status(const json_t *st) {
    if (gbx_cli.json) {
        gbx_cli_print_json(st, false);
        return;
    }
    buf b = {0};
    gbx_cli_render_status(&b, st);
    fputs(b.s, stdout);
    free(b.s);
}

int gbx_cli_status(int argc, char **argv, const char *usage) {
    int first;
    int rc = gbx_cli_parse(argc, argv, usage, NULL, NULL, NULL, 1, 1, &first);
    if (rc >= 0) return rc;
    const char *url = argv[first];
    if (!gbx_cli_check_url(url)) return GBX_CLI_USAGE;
    json_t *st;
    if ((rc = gbx_cli_fetch_json(&st, NULL, "GET", url, NULL, false, NULL)) == GBX_CLI_OK) print_status(st);
    json_decref(st);
    return rc;
}

/* ---- tree ---------------------------------------------------------------------- */

typedef struct {
    long depth, messages;
} tree_opts;

static int tree_option(int key, const char *arg, void *ctx) {
    tree_opts *o = ctx;
    if (key == 'D') return gbx_cli_int_option(&o->depth, "depth", arg, 0, 100);
    return gbx_cli_int_option(&o->messages, "messages", arg, 0, 1000);
}

int gbx_cli_tree(int argc, char **argv, const char *usage) {
    static const struct option opts[] = {
        {"depth", required_argument, NULL, 'D'},
        {"messages", required_argument, NULL, 'm'},
        {NULL, 0, NULL, 0},
    };
    tree_opts o = {.depth = 8, .messages = 3};
    int first;
    int rc = gbx_cli_parse(argc, argv, usage, opts, tree_option, &o, 1, 1, &first);
    if (rc >= 0) return rc;
    if (!gbx_cli_check_url(argv[first])) return GBX_CLI_USAGE;
    gbx_cli_node *root = gbx_cli_node_new(argv[first]);
    int budget = 500;
    rc = gbx_cli_node_refresh(root, (int)o.depth, &budget);
    if (rc != GBX_CLI_OK) {
        gbx_cli_fail(0, "cannot read %s: %s", root->url, root->error ? root->error : "?");
    } else if (gbx_cli.json) {
        json_t *j = gbx_cli_node_json(root);
        gbx_cli_print_json(j, false);
        json_decref(j);
    } else {
        buf b = {0};
        gbx_cli_render_tree(&b, root, (int)o.messages, -1);
        fputs(b.s, stdout);
        free(b.s);
    }
    gbx_cli_node_free(root);
    return rc;
}

/* ---- ls -------------------------------------------------------------------------- */

typedef struct {
    const char *state, *component, *operation;
    long count;
    double since;
    bool has_since;
} ls_opts;

static const char *const STATES[] = {"PENDING", "RUNNING", "STOPPING", "STOPPED", "CANCELLING", "CANCELLED", "COMPLETED", NULL};

static bool token(const char *s) {
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
            return false;
    return true;
}

static int ls_option(int key, const char *arg, void *ctx) {
    ls_opts *o = ctx;
    const char *why;
    switch (key) {
    case 's':
        for (int i = 0; STATES[i]; i++)
            if (strcasecmp(arg, STATES[i]) == 0) o->state = STATES[i];
        if (!o->state)
            return gbx_cli_fail(GBX_CLI_USAGE, "unknown state \"%s\" (PENDING, RUNNING, STOPPING, STOPPED, CANCELLING, CANCELLED, COMPLETED)", arg);
        return 0;
    case 'n': return gbx_cli_int_option(&o->count, "count", arg, 1, 1000);
    case 'S':
        /* An age has a unit ("5m": 5 minutes ago); a bare number is unix time. */
        if (*arg && strchr("smhd", arg[strlen(arg) - 1]) && gbx_cli_parse_seconds(&o->since, arg)) {
            o->since = gbx_cli_now() - o->since;
        } else if (!gbx_cli_parse_time(&o->since, arg, &why) || arg[0] == '+') {
            return gbx_cli_fail(GBX_CLI_USAGE, "--since \"%s\": expected a time (unix seconds or ISO-8601) or an age (30s, 5m, 2h, 1d)", arg);
        }
        o->has_since = true;
        return 0;
    case 'c':
    case 'o':
        if (!*arg || !token(arg))
            return gbx_cli_fail(GBX_CLI_USAGE, "--%s \"%s\": letters, digits, '-' and '_' only",
                                key == 'c' ? "component" : "operation", arg);
        *(key == 'c' ? &o->component : &o->operation) = arg;
        return 0;
    }
    return 0;
}

/* BASE_URL as the status collection: ".../barn" -> ".../barn/v1/status". */
static char *collection_url(const char *base) {
    buf b = {0};
    size_t len = strlen(base);
    while (len > 0 && base[len - 1] == '/') len--;
    buf_add(&b, base, len);
    const char *last = strrchr(b.s, '/');
    last = last ? last + 1 : b.s;
    bool version = last[0] == 'v' && last[1] && strspn(last + 1, "0123456789") == strlen(last + 1);
    if (strcmp(last, "status") != 0) buf_printf(&b, version ? "/status" : "/v1/status");
    return b.s;
}

int gbx_cli_ls(int argc, char **argv, const char *usage) {
    static const struct option opts[] = {
        {"state", required_argument, NULL, 's'},
        {"count", required_argument, NULL, 'n'},
        {"since", required_argument, NULL, 'S'},
        {"component", required_argument, NULL, 'c'},
        {"operation", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    ls_opts o = {.count = 10};
    int first;
    int rc = gbx_cli_parse(argc, argv, usage, opts, ls_option, &o, 1, 1, &first);
    if (rc >= 0) return rc;
    if (!gbx_cli_check_url(argv[first])) return GBX_CLI_USAGE;
    const char *path = strchr(strstr(argv[first], "://") + 3, '/');
    if (!path || !path[strspn(path, "/")])
        return gbx_cli_fail(GBX_CLI_USAGE, "BASE_URL names a location of the gateway: http://HOST:PORT/PREFIX, not \"%s\"", argv[first]);
    char *url = collection_url(argv[first]);
    buf b = {0};
    buf_printf(&b, "%s;_expand=1;_count=%ld", url, o.has_since ? 1000 : o.count);
    if (o.state) buf_printf(&b, ";state=%s", o.state);
    if (o.component) buf_printf(&b, ";component=%s", o.component);
    if (o.operation) buf_printf(&b, ";operation=%s", o.operation);
    json_t *doc;
    rc = gbx_cli_fetch_json(&doc, NULL, "GET", b.s, NULL, false, NULL);
    json_t *list = json_object_get(doc, "statuses");
    if (rc == GBX_CLI_OK && !json_is_array(list))
        rc = gbx_cli_fail(GBX_CLI_PROTOCOL, "%s: the answer has no \"statuses\" array", b.s);
    if (rc == GBX_CLI_OK) {
        /* Newest first: --since keeps the head of the list. */
        json_t *kept = json_array();
        size_t i;
        json_t *st;
        json_array_foreach(list, i, st) {
            if ((long)json_array_size(kept) >= o.count) break;
            if (o.has_since && json_number_value(json_object_get(st, "ctime")) < (double)(long)o.since) break;
            json_array_append(kept, st);
        }
        if (gbx_cli.json) {
            json_t *out = json_pack("{s:O}", "statuses", kept);
            gbx_cli_print_json(out, false);
            json_decref(out);
        } else {
            buf line = {0};
            if (gbx_cli.tty)
                buf_printf(&line, "%s%-10s %4s %4s  %-19s  %s%s\n", GBX_CLI_DIM, "STATE", "PROG", "CODE", "CREATED",
                           "WHAT / STATUS", GBX_CLI_RESET);
            json_array_foreach(kept, i, st) {
                char created[64], code[16] = "-";
                gbx_cli_format_time(created, sizeof created, json_number_value(json_object_get(st, "ctime")));
                if (json_is_integer(json_object_get(st, "code")))
                    snprintf(code, sizeof code, "%lld", (long long)json_integer_value(json_object_get(st, "code")));
                const char *state = json_string_value(json_object_get(st, "state"));
                buf_printf(&line, "%s%-10s%s %3.0f%% %4s  %s  ", gbx_cli_color_for(st), state ? state : "?",
                           GBX_CLI_RESET, json_number_value(json_object_get(st, "progress")), code, created);
                gbx_cli_label(&line, st);
                const char *su = json_string_value(json_object_get(st, "status_uri"));
                buf_printf(&line, "  %s\n", su ? su : "");
            }
            if (!json_array_size(kept) && gbx_cli.tty) buf_printf(&line, "(no statuses)\n");
            if (line.s) fputs(line.s, stdout);
            free(line.s);
        }
        json_decref(kept);
    }
    json_decref(doc);
    free(b.s);
    free(url);
    return rc;
}

/* ---- cancel, reschedule ------------------------------------------------------------ */

int gbx_cli_cancel(int argc, char **argv, const char *usage) {
    static const struct option opts[] = {GBX_CLI_FOLLOW_OPTIONS, {"wait", no_argument, NULL, 'w'}, {NULL, 0, NULL, 0}};
    gbx_cli_follow_opts o = GBX_CLI_FOLLOW_DEFAULTS;
    int first;
    int rc = gbx_cli_parse(argc, argv, usage, opts, gbx_cli_follow_option, &o, 1, 1, &first);
    if (rc >= 0) return rc;
    const char *url = argv[first];
    if (!gbx_cli_check_url(url)) return GBX_CLI_USAGE;
    json_t *st;
    rc = gbx_cli_fetch_json(&st, NULL, "POST", url, "{\"state\": \"CANCELLED\"}", false, NULL);
    const char *own = json_string_value(json_object_get(st, "status_uri"));
    if (rc == GBX_CLI_OK && !own) rc = gbx_cli_fail(GBX_CLI_PROTOCOL, "the answer from %s has no status_uri", url);
    if (rc == GBX_CLI_OK) {
        if (gbx_cli.json && !o.wait)
            gbx_cli_print_json(st, false);
        else if (!gbx_cli.json)
            printf("cancelling %s\nthe cancellation's status: %s\n", url, own);
        fflush(stdout);
        /* The cancellation's own status ends once the job is CANCELLED (code
         * 0), or with the code of a veto or a failed compensation. */
        if (o.wait) {
            gbx_cli_catch_interrupt();
            rc = gbx_cli_follow(own, o.messages, o.interval, o.timeout, true);
        }
    }
    json_decref(st);
    return rc;
}

int gbx_cli_reschedule(int argc, char **argv, const char *usage) {
    int first;
    int rc = gbx_cli_parse(argc, argv, usage, NULL, NULL, NULL, 2, 2, &first);
    if (rc >= 0) return rc;
    const char *url = argv[first], *when = argv[first + 1], *why;
    if (!gbx_cli_check_url(url)) return GBX_CLI_USAGE;
    double t;
    if (!gbx_cli_parse_time(&t, when, &why)) return gbx_cli_fail(GBX_CLI_USAGE, "bad TIME \"%s\": %s", when, why);
    buf body = {0};
    buf_printf(&body, "{\"ytime\": %.3f}", t);
    json_t *st;
    rc = gbx_cli_fetch_json(&st, NULL, "POST", url, body.s, false, NULL);
    if (rc == GBX_CLI_OK) {
        if (gbx_cli.json) {
            gbx_cli_print_json(st, false);
        } else {
            char at[64];
            gbx_cli_format_time(at, sizeof at, t);
            buf line = {0};
            gbx_cli_label(&line, st);
            printf("%s: runs at %s (ytime %.0f)\n", line.s, at, json_number_value(json_object_get(st, "ytime")));
            free(line.s);
        }
    }
    json_decref(st);
    free(body.s);
    return rc;
}
