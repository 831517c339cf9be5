/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* queue.c - gearbox queue: what each gearmand has queued, running and
 * registered per function (its admin "status", via gbx_servers_admin_status). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "gearbox/servers.h"

#include "cli.h"

typedef struct {
    const char *servers;
    double timeout;
} queue_opts;

static int queue_option(int key, const char *arg, void *ctx) {
    queue_opts *o = ctx;
    if (key == 'T') return gbx_cli_seconds_option(&o->timeout, "timeout", arg, 0.01, 3600);
    if (!*arg) return gbx_cli_fail(GBX_CLI_USAGE, "--gearmand needs HOST:PORT[,HOST:PORT...]");
    o->servers = arg;
    return 0;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static long field(const json_t *f, const char *key) {
    return (long)json_integer_value(json_object_get(f, key));
}

int gbx_cli_queue(int argc, char **argv, const char *usage) {
    static const struct option opts[] = {
        {"gearmand", required_argument, NULL, 'g'},
        {"timeout", required_argument, NULL, 'T'},
        {NULL, 0, NULL, 0},
    };
    const char *env = getenv("GEARBOX_GEARMAND");
    queue_opts o = {.servers = env && *env ? env : "127.0.0.1:4730", .timeout = 5};
    int first;
    int rc = gbx_cli_parse(argc, argv, usage, opts, queue_option, &o, 0, 0, &first);
    if (rc >= 0) return rc;
    gbx_servers *list;
    if (gbx_servers_new(&list, o.servers) != GBX_OK)
        return gbx_cli_fail(GBX_CLI_USAGE, "--gearmand \"%s\": %s", o.servers, gbx_error_last()->message);
    json_t *all = json_object();
    size_t reached = 0, n = gbx_servers_count(list);
    buf out = {0};
    for (size_t i = 0; i < n; i++) {
        const char *name = gbx_servers_name(list, i);
        json_t *st = NULL;
        if (gbx_servers_admin_status(&st, name, o.timeout) != GBX_OK) {
            const char *why = gbx_error_last()->message;
            gbx_cli_fail(0, "%s", why);
            json_object_set_new(all, name, json_pack("{s:s}", "error", why));
            if (!gbx_cli.json) buf_printf(&out, "%s%s%s  %s(unreachable)%s\n", GBX_CLI_BOLD, name, GBX_CLI_RESET, gbx_cli_c("31"), GBX_CLI_RESET);
            continue;
        }
        reached++;
        /* "queued": waiting, not yet running (gearmand's total counts both). */
        const char *fn;
        json_t *f;
        json_object_foreach(st, fn, f) json_object_set_new(f, "queued", json_integer(field(f, "total") - field(f, "running")));
        if (!gbx_cli.json) {
            size_t count = json_object_size(st), k = 0;
            const char **names = calloc(count + 1, sizeof *names);
            if (!names) gbx_cli_die_oom();
            int width = 8;
            json_object_foreach(st, fn, f) {
                names[k++] = fn;
                if ((int)strlen(fn) > width) width = (int)strlen(fn);
            }
            qsort(names, count, sizeof *names, by_name);
            buf_printf(&out, "%s%s%s  %zu function%s\n", GBX_CLI_BOLD, name, GBX_CLI_RESET, count, count == 1 ? "" : "s");
            buf_printf(&out, "  %s%-*s %7s %7s %7s%s\n", GBX_CLI_DIM, width, "FUNCTION", "QUEUED", "RUNNING", "WORKERS", GBX_CLI_RESET);
            for (k = 0; k < count; k++) {
                f = json_object_get(st, names[k]);
                /* Jobs that no worker will take stand out. */
                bool stuck = field(f, "workers") == 0 && field(f, "total") > 0;
                buf_printf(&out, "  %s%-*s %7ld %7ld %7ld%s\n", stuck ? gbx_cli_c("31") : "", width, names[k],
                           field(f, "queued"), field(f, "running"), field(f, "workers"), stuck ? GBX_CLI_RESET : "");
            }
            free(names);
        }
        json_object_set_new(all, name, st);
    }
    if (gbx_cli.json) {
        json_t *doc = json_pack("{s:o}", "servers", all);
        gbx_cli_print_json(doc, false);
        json_decref(doc);
    } else {
        if (out.s) fputs(out.s, stdout);
        json_decref(all);
    }
    free(out.s);
    gbx_servers_free(list);
    return reached == n ? GBX_CLI_OK : GBX_CLI_UNREACHABLE;
}
