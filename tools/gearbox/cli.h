/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* cli.h - what the files of the gearbox command share (docs/cli.md).
 *
 * gearbox.c   main: the command table, the usage texts, `help`
 * new.c       gearbox new (service skeletons)
 * http.c      HTTP on libcurl: one request, its answer, Ctrl-C aborts it
 * render.c    the terminal: colour, progress bars, status and tree views
 * status.c    status, tree, ls, cancel, reschedule
 * watch.c     watch and submit (submit --wait is a watch of the new status)
 * queue.c     queue (gearmand's admin status)
 * util.c      strings, times, exit codes
 * validate:   tools/gearbox-json/validate.c, shared with gearbox-json */
#ifndef GEARBOX_CLI_H
#define GEARBOX_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/* ---- exit codes (docs/cli.md, "Exit codes") -------------------------------- */
enum {
    GBX_CLI_OK = 0,
    GBX_CLI_FAILED = 1,      /* a job failed with a code outside 400-515; validate: not valid */
    GBX_CLI_USAGE = 2,       /* bad command line: unknown option, missing argument, bad URL or time */
    GBX_CLI_UNREACHABLE = 3, /* no answer: connection refused, DNS, timeout, gearmand down */
    GBX_CLI_PROTOCOL = 4,    /* an answer we do not understand (not JSON, no status_uri, ...) */
    GBX_CLI_INPUT = 5,       /* a local file: unreadable, malformed JSON, invalid schema */
    GBX_CLI_TIMEOUT = 6,     /* --timeout passed before the job ended */
    GBX_CLI_INTERRUPTED = 130, /* Ctrl-C: watching stopped, the job goes on */
};

/* A job's (or an error answer's) code as an exit status: 0 for 0, code-390
 * for 400-515 (404 -> 14, 409 -> 19, 410 -> 20, 500 -> 110, 504 -> 114),
 * GBX_CLI_FAILED for any other code. */
int gbx_cli_exit_for_code(long code);

/* ---- global state ------------------------------------------------------------ */

/* Set from the command line and the environment by main. */
typedef struct {
    bool json;      /* --json: machine output on stdout */
    bool tty;       /* stdout is a terminal */
    bool color;     /* tty and NO_COLOR unset (or --color/--no-color) */
    bool utf8;      /* the locale is UTF-8: box drawing and block characters */
    const char *cmd; /* "gearbox status": the prefix of messages */
} gbx_cli_options;

extern gbx_cli_options gbx_cli;

/* Set by SIGINT (watch, submit --wait): stop at the next chance. */
extern volatile int gbx_cli_interrupted;
void gbx_cli_catch_interrupt(void);

/* "gearbox <cmd>: <message>" on stderr; returns `code`. */
int gbx_cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- strings ----------------------------------------------------------------- */

typedef struct {
    char *s;
    size_t len, cap;
} buf;

void gbx_cli_die_oom(void);
void buf_add(buf *b, const char *s, size_t n);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_json(buf *b, const char *s); /* s as a JSON string */

/* ---- times ------------------------------------------------------------------- */

double gbx_cli_now(void); /* unix seconds */

/* Parses TIME as unix seconds ("1796186948", "1796186948.5"), ISO-8601
 * ("2026-12-04T21:30:00Z", "…+01:00", "2026-12-04 21:30" = local time) or
 * relative to now ("+30s", "+5m", "+2h", "+1d", "+90" = seconds).  Returns
 * false (and says why in *why) when it is none of these. */
bool gbx_cli_parse_time(double *out, const char *text, const char **why);

/* Parses a duration in seconds ("30", "2.5", "30s", "5m", "2h"). */
bool gbx_cli_parse_seconds(double *out, const char *text);

/* "1:05" / "1:02:03" for a number of seconds. */
void gbx_cli_format_elapsed(char *out, size_t size, double seconds);

/* "2026-12-04 21:30:00" (local time). */
void gbx_cli_format_time(char *out, size_t size, double unix_seconds);

/* An option's value as an integer in [min, max], or seconds (gbx_cli_parse_
 * seconds) in [min, max]: 0, or GBX_CLI_USAGE with a message naming --`name`. */
int gbx_cli_int_option(long *out, const char *name, const char *arg, long min, long max);
int gbx_cli_seconds_option(double *out, const char *name, const char *arg, double min, double max);

/* ---- HTTP (http.c) ------------------------------------------------------------ */

typedef struct {
    long code;          /* HTTP status */
    char *body;         /* NUL-terminated */
    size_t len;
    char *content_type; /* or NULL */
    char *location;     /* the Location header, or NULL */
    const char *error;  /* why no answer came (static), or NULL */
} gbx_cli_response;

/* Sends one request (body NULL: none; a body goes as application/json;
 * headers: NULL-terminated "Name: value" strings or NULL).  Returns
 * GBX_CLI_OK with *resp filled (any HTTP status), GBX_CLI_UNREACHABLE
 * when no answer came (resp->error says why), GBX_CLI_INTERRUPTED on Ctrl-C.
 * Free *resp with gbx_cli_response_free. */
int gbx_cli_http(gbx_cli_response *resp, const char *method, const char *url, const char *body,
                 size_t body_len, const char *const *headers, double timeout);
void gbx_cli_response_free(gbx_cli_response *resp);
void gbx_cli_http_cleanup(void);

/* GETs (or POSTs `body` to) url and parses the answer as a JSON object.
 * Returns GBX_CLI_OK, the mapped code of an HTTP error (its messages
 * printed, *out the error body when it is JSON), GBX_CLI_UNREACHABLE,
 * GBX_CLI_PROTOCOL or GBX_CLI_INTERRUPTED.  With `quiet` nothing is printed;
 * *why (if not NULL) gets the reason (caller frees). */
int gbx_cli_fetch_json(json_t **out, long *http_code, const char *method, const char *url, const char *body,
                       bool quiet, char **why);

/* The messages of a Gearbox error body joined with "; " (or its problem
 * "detail", or the start of `raw`).  Caller frees. */
char *gbx_cli_error_text(const json_t *body, const char *raw);

/* Checks that `url` is an absolute http(s) URL; prints why not. */
bool gbx_cli_check_url(const char *url);

/* ---- rendering (render.c) ------------------------------------------------------ */

/* A status and its children, as watch and tree follow them. */
typedef struct gbx_cli_node {
    char *url;
    json_t *status; /* the last status read, or NULL */
    char *error;    /* why the last read failed, or NULL */
    struct gbx_cli_node **children;
    size_t n_children;
    /* What watch last reported of it (lines per change when piped). */
    bool shown;
    char shown_state[24];
    long shown_progress;
    size_t shown_messages;
} gbx_cli_node;

gbx_cli_node *gbx_cli_node_new(const char *url);
void gbx_cli_node_free(gbx_cli_node *n);
/* Reads the node's status and, up to `depth` levels and `*budget` nodes in
 * all, its children's.  Returns the exit code of reading the root (children
 * that cannot be read only get an error). */
int gbx_cli_node_refresh(gbx_cli_node *n, int depth, int *budget);
/* Whether the node and all its children have ended (or cannot be read). */
bool gbx_cli_node_ended(const gbx_cli_node *n);
/* {"status": {...}, "children": [...]} (or "error"); new reference. */
json_t *gbx_cli_node_json(const gbx_cli_node *n);

/* Whether a status object's state is final (COMPLETED or CANCELLED). */
bool gbx_cli_status_ended(const json_t *status);
bool gbx_cli_status_ended_state(const char *state);

/* Colour escape codes (empty strings when colour is off). */
const char *gbx_cli_color_for(const json_t *status);
const char *gbx_cli_c(const char *code); /* "\033[<code>m" (0 1 2 31 32 33 35 36) or "" */
#define GBX_CLI_RESET gbx_cli_c("0")
#define GBX_CLI_DIM gbx_cli_c("2")
#define GBX_CLI_BOLD gbx_cli_c("1")

/* Appends a `width`-cell progress bar for `progress` (0-100). */
void gbx_cli_bar(buf *b, long progress, int width, const char *color);

/* "create /barn/v1/field/north": what a status is about, short. */
void gbx_cli_label(buf *b, const json_t *status);

/* The terminal's width in columns (80 when unknown). */
int gbx_cli_columns(void);

/* Writes `text` with every line cut at `columns` display cells. */
void gbx_cli_print_clipped(FILE *f, const char *text, int columns);

/* One status in full (gearbox status), or a tree of them (tree, watch). */
void gbx_cli_render_status(buf *b, const json_t *status);
/* The W3C trace-id a status keeps (meta "trace_id"); NULL without one.  Borrowed. */
const char *gbx_cli_trace_id(const json_t *status);
/* `messages`: the newest messages shown under the root (0: none); `spinner`:
 * a frame number for the animation, or -1 for none. */
void gbx_cli_render_tree(buf *b, const gbx_cli_node *root, int messages, int spinner);

/* ---- commands ----------------------------------------------------------------- */

/* Each command gets its arguments (argv[0] is its name) and its usage text. */
typedef int gbx_cli_command_fn(int argc, char **argv, const char *usage);
gbx_cli_command_fn gbx_cli_new, gbx_cli_status, gbx_cli_tree, gbx_cli_ls, gbx_cli_cancel,
    gbx_cli_reschedule, gbx_cli_watch, gbx_cli_submit, gbx_cli_queue, gbx_cli_validate;

struct option;
/* One option of a command: getopt_long's entry and the handler's key. */
typedef int gbx_cli_option_fn(int key, const char *arg, void *ctx);

/* Parses a command's options: `specific` (terminated by a zeroed entry;
 * `val` is the key given to `fn`, and the short option when printable)
 * plus --json, --help, --color, --no-color, which every command has.
 * Options may come before and after the positional arguments, which are
 * left in argv[*first .. argc-1]; their number must be within
 * [min_args, max_args].  Returns -1 to go on, else the exit status to
 * return now (0 after --help, GBX_CLI_USAGE with a message, or what `fn`
 * returned when that was not 0). */
int gbx_cli_parse(int argc, char **argv, const char *usage, const struct option *specific,
                  gbx_cli_option_fn *fn, void *ctx, int min_args, int max_args, int *first);

/* Follows the status at `url` until it and its children end (watch's view:
 * live on a terminal, a line per change otherwise, JSON lines with --json
 * unless `final_json_only`, then only the last status).  `timeout` <= 0:
 * none.  Returns the status's code mapped (gbx_cli_exit_for_code),
 * GBX_CLI_INTERRUPTED, GBX_CLI_TIMEOUT or a reading error. */
int gbx_cli_follow(const char *url, int messages, double interval, double timeout, bool final_json_only);

/* The options of the commands that follow a status (watch, submit, cancel):
 * GBX_CLI_FOLLOW_OPTIONS in their option table (submit and cancel add
 * --wait 'w'; submit -d, -H, --no-wait 'W'), gbx_cli_follow_option their
 * handler. */
typedef struct {
    int messages;
    double interval, timeout;
    bool wait, no_wait;
    const char *body;
    const char *headers[33];
    int n_headers;
} gbx_cli_follow_opts;
#define GBX_CLI_FOLLOW_DEFAULTS {.messages = 5, .interval = 0.5}
#define GBX_CLI_FOLLOW_OPTIONS \
    {"messages", required_argument, NULL, 'm'}, {"interval", required_argument, NULL, 'i'}, \
        {"timeout", required_argument, NULL, 'T'}
gbx_cli_option_fn gbx_cli_follow_option;

/* Reads a request body argument: "@FILE", "@-" (standard input) or the text
 * itself; it must be JSON.  Returns GBX_CLI_OK or GBX_CLI_INPUT (said why). */
int gbx_cli_read_body(char **out, size_t *len, const char *arg);

/* Prints one JSON value on stdout (indented, or one line when `compact`). */
void gbx_cli_print_json(const json_t *value, bool compact);

#endif
