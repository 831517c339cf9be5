/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* ceiling_server - the ceiling for status GETs: a minimal libmicrohttpd
 * server that answers every GET with the same JSON document (a real status
 * object, fetched from the gateway by the harness) and does nothing else.
 *
 *   ceiling_server --port P --file status.json [--threads 4] [--etag '"x"']
 *
 * It runs libmicrohttpd the way the gateway does (internal thread pool,
 * epoll when available) and, like the gateway, queues its response on the
 * handler's second call so that keep-alive holds.  The difference between
 * the gateway's status GET and this server is the cost of Gearbox's own work
 * (routing, reading the store, serialising the status).
 */
#include <errno.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../loadgen/stats.h"

static struct MHD_Response *g_response;

static enum MHD_Result answer(void *cls, struct MHD_Connection *connection, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    (void)upload_data;
    static int first_call_marker;
    if (*con_cls == NULL) {
        *con_cls = &first_call_marker;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        *upload_data_size = 0; /* bodies are ignored */
        return MHD_YES;
    }
    return MHD_queue_response(connection, MHD_HTTP_OK, g_response);
}

int main(int argc, char **argv)
{
    int port = 0, threads = 4;
    const char *file = NULL, *etag = NULL;
    static const struct option longopts[] = {
        {"port", required_argument, NULL, 'p'}, {"file", required_argument, NULL, 'f'},
        {"threads", required_argument, NULL, 't'}, {"etag", required_argument, NULL, 'e'},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'p': port = atoi(optarg); break;
        case 'f': file = optarg; break;
        case 't': threads = atoi(optarg); break;
        case 'e': etag = optarg; break;
        default:
            fprintf(stderr, "usage: ceiling_server --port P --file F [--threads N]\n");
            return 2;
        }
    }
    if (port <= 0 || !file || threads < 1) {
        fprintf(stderr, "usage: ceiling_server --port P --file F [--threads N]\n");
        return 2;
    }
    size_t len = 0;
    char *body = bench_read_file(file, &len);
    if (!body) {
        fprintf(stderr, "ceiling_server: cannot read %s: %s\n", file, strerror(errno));
        return 1;
    }
    g_response = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!g_response)
        return 1;
    MHD_add_response_header(g_response, "Content-Type", "application/json");
    if (etag)
        MHD_add_response_header(g_response, "ETag", etag);

    /* Signals go to the main thread only (the pool threads inherit the mask). */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, (uint16_t)port, NULL,
        NULL, answer, NULL, MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)16384, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)60, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)4096, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_END);
    if (!daemon) {
        fprintf(stderr, "ceiling_server: cannot listen on port %d\n", port);
        return 1;
    }
    int sig = 0;
    sigwait(&set, &sig);
    MHD_stop_daemon(daemon);
    MHD_destroy_response(g_response);
    return 0;
}
