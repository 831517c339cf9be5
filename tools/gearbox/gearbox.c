/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gearbox: the command-line tool of Gearbox (docs/cli.md).
 *
 *   gearbox COMMAND [OPTIONS] ARGS     (gearbox help lists the commands)
 *
 * One program for people at a terminal and for scripts: --json gives
 * machine output on every command, exit codes mean something (cli.h),
 * colour and animation only on a terminal.  This file is the command table
 * and the usage texts; cli.h says where each command lives. */
#include <langinfo.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "gearbox/log.h"

#include "cli.h"
#include "validate.h"

#define COMMON \
    "  --json        machine output: JSON on stdout\n" \
    "  --no-color    no colour even on a terminal (NO_COLOR=1 does the same);\n" \
    "                --color: colour even when not on a terminal\n" \
    "  -h, --help    this text\n"

#define EXITS "Exit codes: docs/cli.md (gearbox help exit-codes).\n"

static const char USAGE_NEW[] =
    "usage: gearbox new SERVICE --lang python|perl|php|c [--dir D]\n"
    "\n"
    "Writes a runnable skeleton of the service SERVICE into D (default ./SERVICE):\n"
    "its component config, one schema per handler, the worker, a gateway config\n"
    "and a gearbox-supervise stack config; then prints how to run and call it.\n"
    "SERVICE is the component name: lowercase letters and digits.  D must not\n"
    "exist or be empty.  docs/first-service.md explains the files.\n";

static const char USAGE_SUBMIT[] =
    "usage: gearbox submit METHOD URL [-d BODY|@FILE|@-] [-H 'Name: value']... [--wait|--no-wait]\n"
    "\n"
    "Sends a request to the gateway.  A synchronous answer is printed as it came\n"
    "(JSON indented).  An asynchronous one (202) prints its status URI, or, with\n"
    "--wait (the default on a terminal, without --json), follows the status as\n"
    "`gearbox watch` does and exits with the job's code (0 on success).  With\n"
    "--json and --wait only the final status is printed.  TRACEPARENT and\n"
    "TRACESTATE in the environment are sent as the W3C traceparent/tracestate\n"
    "headers (unless -H gives them); the status's trace id is shown when followed.\n"
    "  -d, --data BODY   the request body: JSON text, @FILE, or @- for standard input\n"
    "  -H, --header H    an extra request header (repeatable)\n"
    "  --wait, --no-wait follow an asynchronous job or not\n"
    "  --timeout S       give up waiting after S seconds (exit 6)\n"
    "  --interval S      poll every S seconds (0.5)\n"
    "  --messages N      newest messages shown on a terminal (5)\n" COMMON EXITS;

static const char USAGE_WATCH[] =
    "usage: gearbox watch STATUS_URL [--messages N] [--interval S] [--timeout S]\n"
    "\n"
    "Follows a status until it and its children end: on a terminal a view that\n"
    "redraws in place (state, progress bar, newest messages, the children as a\n"
    "tree with their own progress, elapsed time); piped, one line per change;\n"
    "with --json one JSON object per change ({\"status\", \"children\": [...]}).\n"
    "Ctrl-C stops watching (exit 130); the job goes on.  The exit code is the\n"
    "job's code, mapped (0 success, 14 for 404, 19 for 409, 20 cancelled, ...).\n"
    "  --messages N   newest messages shown (5)\n"
    "  --interval S   poll every S seconds (0.5)\n"
    "  --timeout S    give up after S seconds (exit 6)\n" COMMON EXITS;

static const char USAGE_STATUS[] =
    "usage: gearbox status STATUS_URL\n"
    "\n"
    "Prints one status: state, code, progress, the resource, times, messages,\n"
    "children.  Exit 0 when it was read (whatever the job's state).\n" COMMON EXITS;

static const char USAGE_TREE[] =
    "usage: gearbox tree STATUS_URL [--depth N] [--messages N]\n"
    "\n"
    "Prints a status and its children (and theirs: children may live under\n"
    "other locations and gateways) as a tree with each one's state and progress.\n"
    "  --depth N      levels of children followed (8)\n"
    "  --messages N   newest messages of the top status shown (3)\n" COMMON EXITS;

static const char USAGE_LS[] =
    "usage: gearbox ls BASE_URL [--state S] [--count N] [--since T] [--component C] [--operation O]\n"
    "\n"
    "Lists statuses, newest first, from the status collection of BASE_URL\n"
    "(http://host:port/barn, .../barn/v1 or .../barn/v1/status).\n"
    "  --state S       only this state (PENDING, RUNNING, COMPLETED, CANCELLED, ...)\n"
    "  --count N       at most N statuses (10)\n"
    "  --since T       only those created since T: unix seconds, ISO-8601, or an age\n"
    "                  (30s, 5m, 2h, 1d)\n"
    "  --component C, --operation O   only those of this component / operation\n" COMMON EXITS;

static const char USAGE_CANCEL[] =
    "usage: gearbox cancel STATUS_URL [--wait] [--timeout S]\n"
    "\n"
    "Cancels a job (POST {\"state\": \"CANCELLED\"} to its status) and prints the\n"
    "cancellation's own status URI.  With --wait, follows the cancellation until\n"
    "it ends: exit 0 once the job is CANCELLED, 19 when it was vetoed (409).\n"
    "Cancelling a job that is being cancelled already exits 19 (409).\n"
    "  --wait        follow the cancellation (the view of `gearbox watch`)\n"
    "  --timeout S   give up waiting after S seconds (exit 6)\n"
    "  --interval S, --messages N   as for watch\n" COMMON EXITS;

static const char USAGE_RESCHEDULE[] =
    "usage: gearbox reschedule STATUS_URL TIME\n"
    "\n"
    "Runs a delayed job at TIME instead (POST {\"ytime\": t} to its status).\n"
    "TIME: unix seconds (1796186948), ISO-8601 (2026-12-04T21:30:00Z, with an\n"
    "offset, or without one in local time), or from now (+30s, +5m, +2h, +1d).\n"
    "A status without a waiting job exits 19 (409).\n" COMMON EXITS;

static const char USAGE_QUEUE[] =
    "usage: gearbox queue [--gearmand HOST:PORT[,HOST:PORT...]] [--timeout S]\n"
    "\n"
    "Shows, per gearmand and function, the jobs queued (waiting), running, and\n"
    "the workers that registered it (gearmand's admin \"status\").  Functions with\n"
    "jobs and no worker are shown in red.  Exit 3 when a gearmand cannot be reached.\n"
    "  --gearmand LIST   the servers (default $GEARBOX_GEARMAND, else 127.0.0.1:4730)\n"
    "  --timeout S       per server (5)\n" COMMON EXITS;

static const char USAGE_VALIDATE[] =
    "usage: gearbox validate SCHEMA [DOC|-] [--draft D] [--ref URI-PREFIX=DIR]... [--formats]\n"
    "\n"
    "Checks the JSON document DOC (standard input when '-' or missing) against\n"
    "the JSON Schema in SCHEMA (comments allowed, as in Gearbox .js schemas),\n"
    "as gearbox-json validate does (the same code).  Exit 0 valid, 1 not valid\n"
    "(each violation printed: where, what, which schema keyword), 2 usage,\n"
    "5 unreadable file, malformed JSON or invalid schema.\n"
    "  --draft D      dialect for schemas without \"$schema\": 3, 4, 6, 7, 2019-09,\n"
    "                 2020-12 (default), legacy (Gearbox's dialect)\n"
    "  --ref P=DIR    resolve $refs to URIs starting with P from files under DIR\n"
    "  --formats      assert \"format\" (date-time, email, uri, ...) as well\n" COMMON EXITS;

static const char EXIT_CODES[] =
    "Exit codes of gearbox:\n"
    "    0  success (the job's code was 0; the status was read; the document is valid)\n"
    "    1  the job failed with a code outside 400-515; validate: the document is not valid\n"
    "    2  bad usage: unknown option, missing or bad argument (URL, TIME, METHOD)\n"
    "    3  no answer: connection refused, name not resolved, timeout, gearmand down\n"
    "    4  an answer gearbox does not understand (not JSON, a 202 without status URI)\n"
    "    5  a local file: unreadable, malformed JSON, invalid schema\n"
    "    6  --timeout passed before the job ended\n"
    "   10-125  the job's code (or the HTTP error's) C in 400-515, as C - 390:\n"
    "           400 -> 10, 404 -> 14, 409 -> 19, 410 (cancelled) -> 20,\n"
    "           500 -> 110, 503 -> 113, 504 -> 114\n"
    "  130  Ctrl-C: watching stopped (the job goes on)\n";

static int cmd_validate(int argc, char **argv, const char *usage);

static const struct {
    const char *name;
    gbx_cli_command_fn *fn;
    const char *usage;
    const char *summary;
} COMMANDS[] = {
    {"submit", gbx_cli_submit, USAGE_SUBMIT, "submit METHOD URL [-d BODY] [--wait]   send a request, follow its job"},
    {"watch", gbx_cli_watch, USAGE_WATCH, "watch STATUS_URL                       follow a job live, with its children"},
    {"status", gbx_cli_status, USAGE_STATUS, "status STATUS_URL                      one status in full"},
    {"tree", gbx_cli_tree, USAGE_TREE, "tree STATUS_URL                        a status and its children"},
    {"ls", gbx_cli_ls, USAGE_LS, "ls BASE_URL [--state S] [--count N] [--since T]   recent statuses"},
    {"cancel", gbx_cli_cancel, USAGE_CANCEL, "cancel STATUS_URL [--wait]             cancel a job"},
    {"reschedule", gbx_cli_reschedule, USAGE_RESCHEDULE, "reschedule STATUS_URL TIME             run a delayed job at TIME"},
    {"queue", gbx_cli_queue, USAGE_QUEUE, "queue [--gearmand HOST:PORT,...]       gearmand's queues and workers"},
    {"validate", cmd_validate, USAGE_VALIDATE, "validate SCHEMA DOC                    check JSON against a JSON Schema"},
    {"new", gbx_cli_new, USAGE_NEW, "new SERVICE --lang python|perl|php|c   write a service skeleton"},
};
#define N_COMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

static void usage(FILE *f) {
    fprintf(f, "usage: gearbox COMMAND [OPTIONS] [ARGS]\n\nCommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++) fprintf(f, "  %s\n", COMMANDS[i].summary);
    fprintf(f, "  help [COMMAND|exit-codes]              this text, a command's, or the exit codes\n"
               "\nEvery command takes --help, and --json for machine output.\n"
               "docs/cli.md describes the tool, docs/first-service.md the service `new` writes.\n");
}

/* gearbox validate: the options every command has, then gearbox-json's validation. */
static int cmd_validate(int argc, char **argv, const char *usage_text) {
    int n = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_text, stdout);
            return GBX_CLI_OK;
        } else if (strcmp(argv[i], "--json") == 0) {
            gbx_cli.json = true;
        } else if (strcmp(argv[i], "--no-color") != 0 && strcmp(argv[i], "--color") != 0) {
            argv[n++] = argv[i];
        }
    }
    switch (gbx_jsontool_validate(n, argv, gbx_cli.cmd, usage_text, gbx_cli.json ? GBX_JSONTOOL_JSON : GBX_JSONTOOL_HUMAN)) {
    case GBX_JSONTOOL_VALID: return GBX_CLI_OK;
    case GBX_JSONTOOL_INVALID: return GBX_CLI_FAILED;
    case GBX_JSONTOOL_USAGE: return GBX_CLI_USAGE;
    default: return GBX_CLI_INPUT;
    }
}

int main(int argc, char **argv) {
    setlocale(LC_CTYPE, "");
    gbx_cli.utf8 = strcasecmp(nl_langinfo(CODESET), "UTF-8") == 0;
    gbx_cli.tty = isatty(STDOUT_FILENO);
    const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");
    gbx_cli.color = gbx_cli.tty && !(no_color && *no_color) && !(term && strcmp(term, "dumb") == 0);
    gbx_log_set_callback(gbx_log_to_file, NULL);
    gbx_log_set_level(GBX_LOG_ERROR);
    if (argc < 2) {
        usage(stderr);
        return GBX_CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return GBX_CLI_OK;
    }
    if (strcmp(cmd, "help") == 0) {
        if (argc == 2) {
            usage(stdout);
            return GBX_CLI_OK;
        }
        if (strcmp(argv[2], "exit-codes") == 0) {
            fputs(EXIT_CODES, stdout);
            return GBX_CLI_OK;
        }
        for (size_t i = 0; i < N_COMMANDS; i++) {
            if (strcmp(argv[2], COMMANDS[i].name) == 0) {
                fputs(COMMANDS[i].usage, stdout);
                return GBX_CLI_OK;
            }
        }
        fprintf(stderr, "gearbox: unknown command \"%s\"\n", argv[2]);
        return GBX_CLI_USAGE;
    }
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(cmd, COMMANDS[i].name) == 0) {
            static char prefix[64];
            snprintf(prefix, sizeof prefix, "gearbox %s", cmd);
            gbx_cli.cmd = prefix;
            int rc = COMMANDS[i].fn(argc - 1, argv + 1, COMMANDS[i].usage);
            gbx_cli_http_cleanup();
            return rc;
        }
    }
    fprintf(stderr, "gearbox: unknown command \"%s\"\n", cmd);
    usage(stderr);
    return GBX_CLI_USAGE;
}
