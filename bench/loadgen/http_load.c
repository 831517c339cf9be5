/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* http_load - a small epoll HTTP/1.1 load generator for what wrk does not
 * do: a fixed number of requests (end-to-end jobs), thousands of requests
 * in flight at once (the waiting-requests scenario), and keeping the
 * Location header of every answer.
 *
 *   http_load --port P [--host 127.0.0.1] [--method GET] --path /x/{n}
 *             [--body-file F | --body S] [--header 'K: V']...
 *             [--concurrency C] (--requests N | --duration S [--warmup S])
 *             [--no-keepalive] [--connect-batch K] [--timeout S]
 *             [--locations FILE]
 *
 * `{n}` in the path is replaced by the request's sequence number.  C
 * connections each carry one request at a time (keep-alive unless
 * --no-keepalive or the server closes); at most K connects are in progress
 * at once, so that a burst does not overflow the server's listen backlog.
 * A request's latency runs from the moment it was issued (including the
 * connect of a new connection) to the last byte of its answer.  A 2xx
 * answer is ok; anything else is an error, counted by code.
 * Prints one JSON summary line (see stats.h) with extra fields: codes,
 * connect_errors, timeouts, all_issued_s (when the last request was issued).
 */
#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stats.h"

enum conn_state { C_IDLE, C_WAITING, C_CONNECTING, C_SENDING, C_RECEIVING };

typedef struct conn {
    int fd;
    enum conn_state state;
    char *req;
    size_t req_len, req_sent;
    char *buf;
    size_t buf_len, buf_cap;
    uint64_t started;
    unsigned long long seq;
    bool reused;
} conn;

static struct {
    const char *host;
    int port;
    const char *method;
    const char *path;
    char *body;
    size_t body_len;
    const char *headers[16];
    int nheaders;
    int concurrency;
    long long requests;
    double duration, warmup;
    bool keepalive;
    int connect_batch;
    double timeout;
    const char *locations_path;
} opt = {.host = "127.0.0.1", .method = "GET", .concurrency = 1, .duration = 0, .warmup = 0,
         .keepalive = true, .connect_batch = 256, .timeout = 60};

static int g_epoll;
static struct sockaddr_in g_addr;
static unsigned long long g_issued, g_ok, g_errors, g_connect_errors, g_timeouts;
static unsigned long long g_codes[600];
static int g_connecting, g_waiting;
static uint64_t g_t0, g_window_start, g_window_end, g_last_issue, g_last_finish;
static bench_samples g_samples;
static FILE *g_locations;
static char g_first_error[200];

static void note_error(const char *what, int err)
{
    if (!g_first_error[0])
        snprintf(g_first_error, sizeof g_first_error, "%s: %s", what, strerror(err));
}

static bool more_to_issue(void)
{
    if (opt.requests > 0)
        return g_issued < (unsigned long long)opt.requests;
    return bench_now_us() < g_window_end;
}

static bool in_window(uint64_t t)
{
    return opt.requests > 0 || (t >= g_window_start && t <= g_window_end);
}

/* Builds the request text for sequence number `seq`. */
static char *build_request(unsigned long long seq, size_t *len)
{
    char path[2048];
    const char *mark = strstr(opt.path, "{n}");
    if (mark)
        snprintf(path, sizeof path, "%.*s%llu%s", (int)(mark - opt.path), opt.path, seq, mark + 3);
    else
        snprintf(path, sizeof path, "%s", opt.path);
    size_t cap = strlen(path) + opt.body_len + 1024;
    for (int i = 0; i < opt.nheaders; i++)
        cap += strlen(opt.headers[i]) + 2;
    char *req = malloc(cap);
    if (!req)
        return NULL;
    int n = snprintf(req, cap, "%s %s HTTP/1.1\r\nHost: %s:%d\r\n", opt.method, path, opt.host,
                     opt.port);
    for (int i = 0; i < opt.nheaders; i++)
        n += snprintf(req + n, cap - (size_t)n, "%s\r\n", opt.headers[i]);
    if (!opt.keepalive)
        n += snprintf(req + n, cap - (size_t)n, "Connection: close\r\n");
    if (opt.body || strcmp(opt.method, "PUT") == 0 || strcmp(opt.method, "POST") == 0)
        n += snprintf(req + n, cap - (size_t)n, "Content-Length: %zu\r\n", opt.body_len);
    n += snprintf(req + n, cap - (size_t)n, "\r\n");
    if (opt.body_len) {
        memcpy(req + n, opt.body, opt.body_len);
        n += (int)opt.body_len;
    }
    *len = (size_t)n;
    return req;
}

static void conn_close(conn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(g_epoll, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    if (c->state == C_CONNECTING)
        g_connecting--;
    c->fd = -1;
    c->state = C_IDLE;
    c->reused = false;
}

static void conn_watch(conn *c, uint32_t events, int op)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(g_epoll, op, c->fd, &ev);
}

/* Gives the connection its next request; opens a socket when it has none. */
static void conn_issue(conn *c)
{
    free(c->req);
    c->seq = g_issued++;
    c->req = build_request(c->seq, &c->req_len);
    c->req_sent = 0;
    c->buf_len = 0;
    c->started = bench_now_us();
    g_last_issue = c->started;
    if (c->fd >= 0) {
        c->state = C_SENDING;
        c->reused = true;
        conn_watch(c, EPOLLOUT, EPOLL_CTL_MOD);
        return;
    }
    if (g_connecting >= opt.connect_batch) {
        c->state = C_WAITING;
        g_waiting++;
        return;
    }
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        note_error("socket", errno);
        g_connect_errors++;
        g_errors++;
        c->state = C_IDLE;
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->state = C_CONNECTING;
    g_connecting++;
    if (connect(c->fd, (struct sockaddr *)&g_addr, sizeof g_addr) != 0 && errno != EINPROGRESS) {
        note_error("connect", errno);
        g_connect_errors++;
        g_errors++;
        conn_close(c);
        return;
    }
    conn_watch(c, EPOLLOUT, EPOLL_CTL_ADD);
}

/* Parses a complete response in c->buf: returns 1 when complete (code and
 * close flag filled), 0 when more bytes are needed, -1 when malformed. */
static int parse_response(conn *c, int *code, bool *server_close, bool eof)
{
    char *end = NULL;
    for (size_t i = 3; i < c->buf_len; i++)
        if (memcmp(c->buf + i - 3, "\r\n\r\n", 4) == 0) {
            end = c->buf + i + 1;
            break;
        }
    if (!end)
        return eof ? -1 : 0;
    if (c->buf_len < 12 || strncmp(c->buf, "HTTP/1.", 7) != 0)
        return -1;
    *code = atoi(c->buf + 9);
    long long content_length = -1;
    bool chunked = false;
    *server_close = strncmp(c->buf, "HTTP/1.0", 8) == 0;
    for (char *line = strstr(c->buf, "\r\n") + 2; line < end - 2;) {
        char *eol = strstr(line, "\r\n");
        if (!eol)
            break;
        if (strncasecmp(line, "Content-Length:", 15) == 0)
            content_length = atoll(line + 15);
        else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0 && strstr(line, "chunked") &&
                 strstr(line, "chunked") < eol)
            chunked = true;
        else if (strncasecmp(line, "Connection:", 11) == 0) {
            char *v = line + 11;
            while (*v == ' ')
                v++;
            if (strncasecmp(v, "close", 5) == 0)
                *server_close = true;
            else if (strncasecmp(v, "keep-alive", 10) == 0)
                *server_close = false;
        }
        line = eol + 2;
    }
    size_t head = (size_t)(end - c->buf);
    size_t have = c->buf_len - head;
    if (*code == 204 || *code == 304 || (*code >= 100 && *code < 200))
        return 1;
    if (chunked) {
        size_t pos = head;
        for (;;) {
            char *eol = memmem(c->buf + pos, c->buf_len - pos, "\r\n", 2);
            if (!eol)
                return eof ? -1 : 0;
            unsigned long size = strtoul(c->buf + pos, NULL, 16);
            pos = (size_t)(eol - c->buf) + 2;
            if (size == 0) {
                /* Final chunk: optional trailers, then an empty line. */
                char *fin = memmem(c->buf + pos, c->buf_len - pos, "\r\n", 2);
                if (!fin)
                    return eof ? -1 : 0;
                if (fin == c->buf + pos)
                    return 1;
                char *trail = memmem(c->buf + pos, c->buf_len - pos, "\r\n\r\n", 4);
                return trail ? 1 : (eof ? -1 : 0);
            }
            if (c->buf_len - pos < size + 2)
                return eof ? -1 : 0;
            pos += size + 2;
        }
    }
    if (content_length >= 0)
        return have >= (size_t)content_length ? 1 : (eof ? -1 : 0);
    *server_close = true;
    return eof ? 1 : 0;
}

static void write_location(const conn *c)
{
    const char *p = c->buf;
    while ((p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (strncmp(p, "\r\n", 2) == 0)
            break;
        if (strncasecmp(p, "Location:", 9) == 0) {
            const char *v = p + 9;
            while (*v == ' ')
                v++;
            const char *eol = strstr(v, "\r\n");
            if (eol)
                fprintf(g_locations, "%.*s\n", (int)(eol - v), v);
            return;
        }
    }
}

static void start_waiting(conn *conns)
{
    for (int i = 0; i < opt.concurrency && g_connecting < opt.connect_batch; i++) {
        conn *w = &conns[i];
        if (w->state != C_WAITING)
            continue;
        g_waiting--;
        /* Issue again: keeps its sequence number and start time. */
        w->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (w->fd < 0) {
            note_error("socket", errno);
            g_connect_errors++;
            g_errors++;
            w->state = C_IDLE;
            continue;
        }
        int one = 1;
        setsockopt(w->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        w->state = C_CONNECTING;
        g_connecting++;
        if (connect(w->fd, (struct sockaddr *)&g_addr, sizeof g_addr) != 0 &&
            errno != EINPROGRESS) {
            note_error("connect", errno);
            g_connect_errors++;
            g_errors++;
            conn_close(w);
            continue;
        }
        conn_watch(w, EPOLLOUT, EPOLL_CTL_ADD);
    }
}

/* One request finished (ok or not): account for it, then reuse or close. */
static void finish(conn *c, int code, bool server_close, bool failed)
{
    uint64_t now = bench_now_us();
    g_last_finish = now;
    if (in_window(now)) {
        if (!failed && code / 100 == 2) {
            g_ok++;
            bench_samples_add(&g_samples, now - c->started);
            if (g_locations)
                write_location(c);
        } else {
            g_errors++;
        }
        if (!failed && code > 0 && code < 600)
            g_codes[code]++;
    }
    if (failed || server_close || !opt.keepalive)
        conn_close(c);
    else
        c->state = C_IDLE;
    if (more_to_issue())
        conn_issue(c);
}

static void on_event(conn *c, uint32_t events)
{
    if (c->state == C_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        g_connecting--;
        if (err != 0) {
            note_error("connect", err);
            c->state = C_SENDING; /* so conn_close does not count it again */
            g_connect_errors++;
            finish(c, 0, true, true);
            return;
        }
        c->state = C_SENDING;
    }
    if (c->state == C_SENDING) {
        while (c->req_sent < c->req_len) {
            ssize_t n = send(c->fd, c->req + c->req_sent, c->req_len - c->req_sent, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN)
                    return;
                note_error("send", errno);
                finish(c, 0, true, true);
                return;
            }
            c->req_sent += (size_t)n;
        }
        c->state = C_RECEIVING;
        conn_watch(c, EPOLLIN, EPOLL_CTL_MOD);
        return;
    }
    if (c->state == C_RECEIVING && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
        for (;;) {
            if (c->buf_cap - c->buf_len < 4097) {
                size_t cap = c->buf_cap ? c->buf_cap * 2 : 8192;
                char *grown = realloc(c->buf, cap);
                if (!grown) {
                    finish(c, 0, true, true);
                    return;
                }
                c->buf = grown;
                c->buf_cap = cap;
            }
            ssize_t n = recv(c->fd, c->buf + c->buf_len, c->buf_cap - c->buf_len - 1, 0);
            if (n < 0 && errno == EAGAIN)
                break;
            bool eof = n <= 0;
            if (n > 0) {
                c->buf_len += (size_t)n;
                c->buf[c->buf_len] = '\0';
            }
            int code = 0;
            bool server_close = false;
            int st = parse_response(c, &code, &server_close, eof);
            if (st == 1) {
                finish(c, code, server_close || eof, false);
                return;
            }
            if (st < 0 || eof) {
                if (eof && c->buf_len == 0 && c->reused) {
                    /* The server closed an idle keep-alive connection: retry
                     * the same request on a fresh one. */
                    conn_close(c);
                    g_issued--;
                    conn_issue(c);
                    return;
                }
                note_error(c->buf_len ? "malformed response" : "connection closed",
                           n < 0 ? errno : EPIPE);
                finish(c, 0, true, true);
                return;
            }
        }
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: http_load --port P --path PATH [--method M] [--body-file F|--body S]\n"
                    "  [--header 'K: V'] [--concurrency C] (--requests N | --duration S)\n"
                    "  [--warmup S] [--no-keepalive] [--connect-batch K] [--timeout S]\n"
                    "  [--locations FILE]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'h'},         {"port", required_argument, NULL, 'p'},
        {"method", required_argument, NULL, 'm'},       {"path", required_argument, NULL, 'P'},
        {"body-file", required_argument, NULL, 'F'},    {"body", required_argument, NULL, 'b'},
        {"header", required_argument, NULL, 'H'},       {"concurrency", required_argument, NULL, 'c'},
        {"requests", required_argument, NULL, 'n'},     {"duration", required_argument, NULL, 'd'},
        {"warmup", required_argument, NULL, 'W'},       {"no-keepalive", no_argument, NULL, 'K'},
        {"connect-batch", required_argument, NULL, 'B'}, {"timeout", required_argument, NULL, 'T'},
        {"locations", required_argument, NULL, 'L'},    {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h': opt.host = optarg; break;
        case 'p': opt.port = atoi(optarg); break;
        case 'm': opt.method = optarg; break;
        case 'P': opt.path = optarg; break;
        case 'F':
            opt.body = bench_read_file(optarg, &opt.body_len);
            if (!opt.body) {
                fprintf(stderr, "http_load: cannot read %s: %s\n", optarg, strerror(errno));
                return 1;
            }
            break;
        case 'b':
            opt.body = strdup(optarg);
            opt.body_len = strlen(optarg);
            break;
        case 'H':
            if (opt.nheaders < 16)
                opt.headers[opt.nheaders++] = optarg;
            break;
        case 'c': opt.concurrency = atoi(optarg); break;
        case 'n': opt.requests = atoll(optarg); break;
        case 'd': opt.duration = atof(optarg); break;
        case 'W': opt.warmup = atof(optarg); break;
        case 'K': opt.keepalive = false; break;
        case 'B': opt.connect_batch = atoi(optarg); break;
        case 'T': opt.timeout = atof(optarg); break;
        case 'L': opt.locations_path = optarg; break;
        default: usage();
        }
    }
    if (opt.port <= 0 || !opt.path || opt.concurrency < 1 || opt.connect_batch < 1 ||
        (opt.requests <= 0 && opt.duration <= 0))
        usage();
    if (opt.requests > 0 && opt.concurrency > opt.requests)
        opt.concurrency = (int)opt.requests;

    /* Thousands of sockets: take the hard limit. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    memset(&g_addr, 0, sizeof g_addr);
    g_addr.sin_family = AF_INET;
    g_addr.sin_port = htons((uint16_t)opt.port);
    if (inet_pton(AF_INET, opt.host, &g_addr.sin_addr) != 1) {
        fprintf(stderr, "http_load: --host must be an IPv4 address\n");
        return 2;
    }
    if (opt.locations_path && !(g_locations = fopen(opt.locations_path, "w"))) {
        fprintf(stderr, "http_load: cannot write %s: %s\n", opt.locations_path, strerror(errno));
        return 1;
    }
    g_epoll = epoll_create1(EPOLL_CLOEXEC);
    conn *conns = calloc((size_t)opt.concurrency, sizeof *conns);
    struct epoll_event *events = calloc(1024, sizeof *events);
    if (g_epoll < 0 || !conns || !events)
        return 1;

    g_t0 = bench_now_us();
    if (opt.requests > 0) {
        g_window_start = g_t0;
        g_window_end = UINT64_MAX;
    } else {
        g_window_start = g_t0 + (uint64_t)(opt.warmup * 1e6);
        g_window_end = g_window_start + (uint64_t)(opt.duration * 1e6);
    }
    for (int i = 0; i < opt.concurrency; i++) {
        conns[i].fd = -1;
        conns[i].state = C_IDLE;
        if (more_to_issue())
            conn_issue(&conns[i]);
    }
    uint64_t timeout_us = (uint64_t)(opt.timeout * 1e6);
    uint64_t last_scan = g_t0;
    for (;;) {
        if (g_waiting > 0)
            start_waiting(conns);
        uint64_t now = bench_now_us();
        if (opt.requests <= 0 && now > g_window_end)
            break; /* the window is over: outstanding requests do not count */
        int n = epoll_wait(g_epoll, events, 1024, 20);
        for (int i = 0; i < n; i++)
            on_event(events[i].data.ptr, events[i].events);
        now = bench_now_us();
        if (n == 0 || now - last_scan > 20000) {
            /* Full scans (time-outs, anything left to do) are O(connections):
             * only every 20 ms. */
            last_scan = now;
            int busy = 0;
            for (int i = 0; i < opt.concurrency; i++) {
                conn *c = &conns[i];
                if (c->state != C_IDLE && now - c->started > timeout_us) {
                    g_timeouts++;
                    if (!g_first_error[0])
                        snprintf(g_first_error, sizeof g_first_error, "timeout after %.0f s",
                                 opt.timeout);
                    if (c->state == C_WAITING) {
                        g_waiting--;
                        c->state = C_SENDING; /* finish() closes nothing */
                    }
                    finish(c, 0, true, true);
                }
                busy += c->state != C_IDLE;
            }
            if (busy == 0)
                break;
        }
    }
    double seconds = opt.requests > 0 ? (double)(g_last_finish - g_t0) / 1e6 : opt.duration;

    char extra[2048];
    int len = snprintf(extra, sizeof extra,
                       ", \"connect_errors\": %llu, \"timeouts\": %llu, \"all_issued_s\": %.3f, "
                       "\"codes\": {",
                       g_connect_errors, g_timeouts, (double)(g_last_issue - g_t0) / 1e6);
    bool first = true;
    for (int code = 0; code < 600 && len < (int)sizeof extra - 64; code++)
        if (g_codes[code]) {
            len += snprintf(extra + len, sizeof extra - (size_t)len, "%s\"%d\": %llu",
                            first ? "" : ", ", code, g_codes[code]);
            first = false;
        }
    len += snprintf(extra + len, sizeof extra - (size_t)len, "}");
    if (g_first_error[0] && len < (int)sizeof extra - 300) {
        len += snprintf(extra + len, sizeof extra - (size_t)len, ", \"first_error\": \"");
        for (const char *p = g_first_error; *p; p++)
            extra[len++] = (*p == '"' || *p == '\\') ? '\'' : *p;
        len += snprintf(extra + len, sizeof extra - (size_t)len, "\"");
    }
    bench_print_summary(&g_samples, g_ok, g_errors, seconds, extra);
    if (g_locations)
        fclose(g_locations);
    for (int i = 0; i < opt.concurrency; i++) {
        if (conns[i].fd >= 0)
            close(conns[i].fd);
        free(conns[i].req);
        free(conns[i].buf);
    }
    free(conns);
    free(events);
    free(g_samples.us);
    free(opt.body);
    return 0;
}
