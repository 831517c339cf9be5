/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* fuzz_request.c - libFuzzer target: the gateway's request path on raw HTTP.
 *
 * The gateway's real server (gateway/src, libmicrohttpd, the status store on
 * SQLite, schema validation with the barn's schemas) runs in this process;
 * each input is written as raw bytes into one end of a socketpair whose
 * other end the server got through MHD_add_connection, the write side is
 * then shut and the answer read to its end.  gearmand is absent (its
 * address refuses connections), so sync and async requests must still be
 * answered (503), and nothing on the path is stubbed.
 *
 * Checks beyond "no crash, no leak, no undefined behaviour": whatever the
 * server sends starts with a status line.  An incomplete request (headers
 * or body cut short) gets no answer: libmicrohttpd keeps such a connection
 * until its timeout even when the client has shut its side, so the harness
 * stops waiting after QUIET_S without a byte and closes its end (the
 * gateway's connection_timeout, 3 s here, reaps the connection); a long
 * poll (Prefer: wait) is left the same way, which exercises a client
 * leaving mid-wait. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gearbox/log.h"
#include "gearbox/store.h"
#include "gw_config.h"
#include "gw_server.h"

#define QUIET_S 0.3 /* seconds without a byte after which the harness stops reading */

static char dir[64];
static gbx_gw_config *cfg;
static gbx_store *store;
static gbx_gw_server *srv;
static struct MHD_Daemon *mhd;

static void discard_log(gbx_log_level level, const char *msg, void *user) {
    (void)level;
    (void)msg;
    (void)user;
}

static void write_text(const char *name, const char *text) {
    char path[160];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) abort();
}

static void stop(void) {
    gbx_gw_server_free(srv);
    gbx_store_free(store);
    gbx_gw_config_free(cfg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "fuzz_request: could not remove %s\n", dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN);
    gbx_log_set_level(GBX_LOG_DEBUG); /* every log line is formatted, then dropped */
    gbx_log_set_callback(discard_log, NULL);
    snprintf(dir, sizeof dir, "/tmp/gbx-fuzz-request-XXXXXX");
    if (!mkdtemp(dir)) abort();
    char text[4096];
    snprintf(text, sizeof text,
             "{\"component\": \"barn\", \"gearman\": {\"servers\": [\"127.0.0.1:1\"]},\n"
             " \"status\": {\"type\": \"sqlite\", \"path\": \"%s/status.db\"},\n"
             " \"schemadir\": \"%s/examples/barn/schemas\", \"schema_dialect\": \"legacy\",\n"
             " \"handlers\": [\"do_get_barn_animal_v1\", \"do_put_barn_animal_v1\",\n"
             "   \"do_post_barn_animal_v1\", \"do_delete_barn_animal_v1\", \"do_put_barn_family_v1\"]}\n",
             dir, GBX_SOURCE_DIR);
    write_text("barn.conf", text);
    /* /vault needs a bearer token ("fuzz-token"), so the credentials path is fuzzed too. */
    write_text("tokens", "# sha256 principal scopes\n33cc09ba35314d19e32ed9a5a30fca56eebbfab5faec7247fd0403cd26e155b5 fuzz read,write\n");
    snprintf(text, sizeof text,
             "{\"listen\": {\"address\": \"127.0.0.1\", \"port\": 0},\n"
             " \"gearman\": {\"servers\": [\"127.0.0.1:1\"]},\n"
             " \"status\": {\"type\": \"sqlite\", \"path\": \"%s/status.db\"},\n"
             " \"threads\": 2, \"max_body_bytes\": 65536, \"submit_timeout\": 1,\n"
             " \"scheduler\": false, \"shutdown_grace\": 0, \"connection_timeout\": 3,\n"
             " \"locations\": [\n"
             "  {\"prefix\": \"/barn\", \"auth\": \"none\", \"config\": \"barn.conf\", \"timeout\": 2,\n"
             "   \"environ\": {\"ZONE\": \"fuzz\"},\n"
             "   \"callback_hosts\": [\"hooks.example.com\", \"http://127.0.0.1:9\"],\n"
             "   \"callback_secret\": \"fuzz-secret-0123456789\"},\n"
             "  {\"prefix\": \"/barn/v1/hello\", \"sync\": [\"POST\", \"PUT\"], \"timeout\": 1},\n"
             "  {\"prefix\": \"/vault\", \"config\": \"barn.conf\", \"timeout\": 1,\n"
             "   \"auth\": {\"type\": \"bearer\", \"tokens_file\": \"tokens\"}}]}\n",
             dir);
    write_text("gateway.conf", text);
    char path[160];
    snprintf(path, sizeof path, "%s/gateway.conf", dir);
    if (gbx_gw_config_load(&cfg, path) != GBX_OK ||
        gbx_store_open(&store, gbx_config_get(cfg->cfg, "status"), gbx_config_dir(cfg->cfg)) != GBX_OK ||
        gbx_gw_server_new(&srv, cfg, store) != GBX_OK || gbx_gw_server_start(srv) != GBX_OK) {
        fprintf(stderr, "fuzz_request: cannot start the gateway: %s\n", gbx_error_last()->message);
        abort();
    }
    mhd = gbx_gw_server_daemon(srv);
    atexit(stop);
    return 0;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) abort();
    struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(40000)};
    peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* MHD owns sv[1] from here, failure or not. */
    if (MHD_add_connection(mhd, sv[1], (const struct sockaddr *)&peer, sizeof peer) != MHD_YES) {
        close(sv[0]);
        return 0;
    }
    size_t sent = 0;
    double quiet_since = now();
    while (sent < size && now() - quiet_since < QUIET_S) {
        ssize_t n = send(sv[0], data + sent, size - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            sent += (size_t)n;
            quiet_since = now();
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            struct pollfd p = {.fd = sv[0], .events = POLLOUT};
            poll(&p, 1, 100);
        } else {
            break; /* the server closed its end: it answered early */
        }
    }
    shutdown(sv[0], SHUT_WR);
    char head[16];
    size_t got = 0;
    bool closed = false;
    quiet_since = now();
    while (!closed && now() - quiet_since < QUIET_S) {
        struct pollfd p = {.fd = sv[0], .events = POLLIN};
        if (poll(&p, 1, 100) <= 0) continue;
        char buf[8192];
        ssize_t n = recv(sv[0], buf, sizeof buf, 0);
        if (n > 0) {
            if (got < sizeof head) memcpy(head + got, buf, (size_t)n < sizeof head - got ? (size_t)n : sizeof head - got);
            got += (size_t)n;
            quiet_since = now();
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
            closed = true;
        }
    }
    close(sv[0]);
    if (got > 0 && (got < 9 || memcmp(head, "HTTP/1.", 7) != 0)) {
        fprintf(stderr, "fuzz_request: the answer does not start with a status line\n");
        __builtin_trap();
    }
    return 0;
}
