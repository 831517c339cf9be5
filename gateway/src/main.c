/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* main.c - gearbox-gateway: command line, logging, pid file, signals. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "gearbox/jobmanager.h"
#include "gearbox/log.h"
#include "gearbox/store.h"
#include "gw_auth.h"
#include "gw_check.h"
#include "gw_config.h"
#include "gw_server.h"

#ifndef GBX_GATEWAY_VERSION
#define GBX_GATEWAY_VERSION "0.0.0"
#endif

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define EXIT_PROBLEMS 1 /* --check found something wrong */

static const char usage_text[] =
    "NAME\n"
    "    gearbox-gateway - the HTTP front door of Gearbox services\n"
    "\n"
    "SYNOPSIS\n"
    "    gearbox-gateway --config FILE [--port N] [--pid-file FILE] [--log-file FILE]\n"
    "                    [--log-level LEVEL] [--check]\n"
    "    gearbox-gateway --help | --version\n"
    "\n"
    "DESCRIPTION\n"
    "    Serves the REST contract of Gearbox: each request below a location's prefix\n"
    "    (<prefix>/<version>/<resource>[/<arg>...][;k=v...][?k=v...]) is mapped to the\n"
    "    handler do_<method>_<component>_<resource>_<version> (else\n"
    "    do_<method>_global_<resource>_<version>) of the location's component config,\n"
    "    its JSON body is validated against the service's schema, and the job goes to\n"
    "    gearmand.  GET and HEAD (and the methods a location lists as \"sync\") wait for\n"
    "    the worker's answer without holding a thread; PUT, POST and DELETE are queued\n"
    "    and answered with 202 and a status object whose status_uri the client polls.\n"
    "    GET <prefix>/v1/status/<id> and GET <prefix>/v1/status;k=v... are served from\n"
    "    the status store directly; POST <prefix>/v1/status/<id> with {\"state\": \"CANCELLED\"}\n"
    "    cancels a job, with {\"ytime\": <unix seconds>} runs its waiting job at that time.\n"
    "    A scheduler thread submits delayed jobs, retries and continuations when they are\n"
    "    due (\"scheduler\": false turns it off).\n"
    "\n"
    "OPTIONS\n"
    "    -c, --config FILE     the gateway config (JSON with comments); required\n"
    "    -p, --port N          listen on port N instead of listen.port (the first\n"
    "                          listener's; 0 = any free port)\n"
    "    -P, --pid-file FILE   write the process id to FILE; removed on exit\n"
    "    -l, --log-file FILE   append the log to FILE instead of standard error\n"
    "    -L, --log-level LEVEL debug, info, warn or error (default info; one access-log\n"
    "                          line per request is logged at info)\n"
    "    -t, --check           load and check the config, open the store, ask gearmand\n"
    "                          which handlers exist, and print per location each handler\n"
    "                          and the schema file it uses, with warnings (schema files\n"
    "                          that match no handler, write handlers without a schema, a\n"
    "                          component config naming another status store); exit 0\n"
    "                          when all is well, 1 when something is wrong\n"
    "    -h, --help            this text\n"
    "    -V, --version         the version\n"
    "\n"
    "CONFIGURATION\n"
    "    { \"listen\": {\"address\": \"127.0.0.1\", \"port\": 4080},\n"
    "      \"gearman\": {\"servers\": [\"127.0.0.1:4730\"]},\n"
    "      \"status\": {\"type\": \"sqlite\", \"path\": \"state/status.db\"},\n"
    "      \"max_body_bytes\": 8388608, \"threads\": 4, \"max_connections\": 16384,\n"
    "      \"scheduler\": true, \"jobs\": {\"retry_max_attempts\": 25},\n"
    "      \"log\": {\"level\": \"info\", \"file\": \"gateway.log\"},\n"
    "      \"locations\": [ {\"prefix\": \"/barn\", \"config\": \"barn.conf\", \"sync\": [\"PUT\"],\n"
    "                       \"environ\": {\"K\": \"V\"}, \"timeout\": 30} ] }\n"
    "    \"listen\" may be a list; a listener with \"tls\": {\"cert\", \"key\"} serves HTTPS.\n"
    "    URIs come from a location's \"public_url\", a Host among \"server_names\", or\n"
    "    the address the connection came in on (docs/security.md).\n"
    "    Strings may use ${VAR} and ${VAR:-default}.  Relative paths are relative to\n"
    "    the config file's directory.  Every key is described in docs/gateway.md.\n"
    "\n"
    "SIGNALS\n"
    "    SIGTERM, SIGINT  stop accepting connections, give sync requests in flight up to\n"
    "                     shutdown_grace seconds, then exit\n"
    "    SIGHUP           re-read the locations' token and password files (auth); the\n"
    "                     rest of the configuration needs a restart\n"
    "\n"
    "EXIT STATUS\n"
    "    0 after a clean stop, 1 when the gateway cannot run (port in use, ...),\n"
    "    2 for a bad command line or configuration.  With --check: 0 OK, 1 problems\n"
    "    (a bad configuration included), 2 a bad command line.\n";

static void usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "gearbox-gateway: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'gearbox-gateway --help'.\n");
    exit(EXIT_USAGE);
}

static long parse_port(const char *s) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > 65535) usage_error("invalid port \"%s\"", s);
    return v;
}

static void raise_fd_limit(unsigned want) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    rlim_t target = rl.rlim_max;
    if (rl.rlim_cur < target) {
        rl.rlim_cur = target;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            gbx_log(GBX_LOG_WARN, "cannot raise the open-file limit: %s", strerror(errno));
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)want + 64)
        gbx_log(GBX_LOG_WARN,
                "open-file limit %llu is below max_connections %u: raise it (ulimit -n) to hold "
                "that many connections",
                (unsigned long long)rl.rlim_cur, want);
}

static int write_pid_file(const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    ssize_t w = write(fd, buf, (size_t)n);
    close(fd);
    return w == n ? 0 : -1;
}

/* Removes the pid file only if it is still ours. */
static void remove_pid_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return;
    long pid = 0;
    int ok = fscanf(f, "%ld", &pid);
    fclose(f);
    if (ok == 1 && pid == (long)getpid()) unlink(path);
}

static void report_to_stdout(void *user, bool warning, const char *line) {
    (void)user;
    (void)warning;
    puts(line);
}

static void report_to_log(void *user, bool warning, const char *line) {
    (void)user;
    gbx_log(warning ? GBX_LOG_WARN : GBX_LOG_INFO, "%s", line);
}

/* Each location's handlers and schema files, with warnings, through
 * `report`; gearmand is asked once (when it answers).  Returns the number of
 * warnings. */
static size_t report_locations(const gbx_gw_config *cfg, gbx_store *store, gbx_gw_report_fn report) {
    gbx_jobmanager *jm = NULL;
    json_t *registered = NULL;
    char why[512] = "";
    if (gbx_jobmanager_new(&jm, cfg->cfg, store) != GBX_OK ||
        gbx_jobmanager_registered(&registered, jm) != GBX_OK)
        snprintf(why, sizeof why, "%s", gbx_error_last()->message);
    size_t warnings = gbx_gw_check(cfg, registered, why, report, NULL);
    json_decref(registered);
    gbx_jobmanager_free(jm);
    return warnings;
}

int main(int argc, char **argv) {
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},   {"port", required_argument, NULL, 'p'},
        {"pid-file", required_argument, NULL, 'P'}, {"log-file", required_argument, NULL, 'l'},
        {"log-level", required_argument, NULL, 'L'}, {"check", no_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},           {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    const char *config_path = NULL, *pid_file = NULL, *log_file = NULL, *log_level = NULL;
    long port = -1;
    bool check_only = false;
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":c:p:P:l:L:thV", options, NULL)) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 'p': port = parse_port(optarg); break;
        case 'P': pid_file = optarg; break;
        case 'l': log_file = optarg; break;
        case 'L': log_level = optarg; break;
        case 't': check_only = true; break;
        case 'h': fputs(usage_text, stdout); return 0;
        case 'V': printf("gearbox-gateway %s\n", GBX_GATEWAY_VERSION); return 0;
        case ':': usage_error("option %s needs a value", argv[optind - 1]); break;
        default: usage_error("unknown option \"%s\"", argv[optind - 1]); break;
        }
    }
    if (optind < argc) usage_error("unexpected argument \"%s\"", argv[optind]);
    if (!config_path) usage_error("%s", "--config FILE is required");
    if (log_level && gbx_log_level_from_name(log_level) < 0)
        usage_error("invalid log level \"%s\" (debug, info, warn, error)", log_level);

    gbx_log_set_callback(gbx_log_to_file, NULL); /* stderr until the log file is open */

    gbx_gw_config *cfg = NULL;
    if (gbx_gw_config_load(&cfg, config_path) != GBX_OK) {
        fprintf(stderr, "gearbox-gateway: bad configuration: %s\n", gbx_error_last()->message);
        return check_only ? EXIT_PROBLEMS : EXIT_USAGE;
    }
    if (port >= 0) cfg->port = cfg->listeners[0].port = (int)port;
    if (!log_level) log_level = cfg->log_level ? cfg->log_level : "info";
    gbx_log_set_level((gbx_log_level)gbx_log_level_from_name(log_level));
    if (!pid_file) pid_file = cfg->pid_file;
    if (!log_file) log_file = cfg->log_file;

    FILE *log = NULL;
    if (log_file && !check_only) {
        log = fopen(log_file, "a");
        if (!log) {
            fprintf(stderr, "gearbox-gateway: cannot open log file %s: %s\n", log_file, strerror(errno));
            gbx_gw_config_free(cfg);
            return EXIT_USAGE;
        }
        setvbuf(log, NULL, _IOLBF, 0);
        gbx_log_set_callback(gbx_log_to_file, log);
    }

    gbx_store *store = NULL;
    if (gbx_store_open(&store, gbx_config_get(cfg->cfg, "status"), gbx_config_dir(cfg->cfg)) != GBX_OK) {
        gbx_log(GBX_LOG_ERROR, "cannot open the status store: %s", gbx_error_last()->message);
        if (log) fprintf(stderr, "gearbox-gateway: cannot open the status store: %s\n", gbx_error_last()->message);
        gbx_gw_config_free(cfg);
        if (log) fclose(log);
        return check_only ? EXIT_PROBLEMS : EXIT_USAGE;
    }
    if (check_only) {
        size_t warnings = report_locations(cfg, store, report_to_stdout);
        if (warnings == 0)
            printf("%s: configuration OK (%zu location%s)\n", config_path, cfg->nlocations,
                   cfg->nlocations == 1 ? "" : "s");
        else
            printf("%s: %zu problem%s (the lines with \"warning:\" above)\n", config_path,
                   warnings, warnings == 1 ? "" : "s");
        gbx_store_free(store);
        gbx_gw_config_free(cfg);
        return warnings ? EXIT_PROBLEMS : 0;
    }

    /* Signals are taken by sigtimedwait in this thread only: block them before
     * any thread starts so that every thread inherits the mask. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit(cfg->max_connections);

    int status = 0;
    gbx_gw_server *srv = NULL;
    bool pid_written = false;
    if (gbx_gw_server_new(&srv, cfg, store) != GBX_OK || gbx_gw_server_start(srv) != GBX_OK) {
        gbx_log(GBX_LOG_ERROR, "cannot start: %s", gbx_error_last()->message);
        if (log) fprintf(stderr, "gearbox-gateway: cannot start: %s\n", gbx_error_last()->message);
        status = EXIT_RUNTIME;
        goto out;
    }
    if (pid_file) {
        if (write_pid_file(pid_file) != 0) {
            gbx_log(GBX_LOG_ERROR, "cannot write pid file %s: %s", pid_file, strerror(errno));
            status = EXIT_RUNTIME;
            goto out;
        }
        pid_written = true;
    }
    gbx_log(GBX_LOG_INFO, "gearbox-gateway %s listening on %s port %d (%u threads, gearmand %s, "
            "scheduler %s)", GBX_GATEWAY_VERSION, cfg->listen_address, gbx_gw_server_port(srv),
            cfg->threads, cfg->gearman_servers, cfg->scheduler ? "on" : "off");
    report_locations(cfg, store, report_to_log);
    gbx_gw_auth_log_locations(cfg);

    for (;;) {
        /* This thread also does the server's housekeeping between signals:
         * one thread fewer. */
        double next = gbx_gw_server_tick(srv);
        struct timespec wait = {(time_t)next, (long)((next - (double)(time_t)next) * 1e9)};
        int sig = sigtimedwait(&stop_signals, NULL, &wait);
        if (sig < 0) continue;
        if (sig == SIGHUP) {
            gbx_gw_auth_reload_all(cfg);
            continue;
        }
        gbx_log(GBX_LOG_INFO, "%s: stopping (grace %gs for sync requests in flight)",
                sig == SIGTERM ? "SIGTERM" : "SIGINT", cfg->shutdown_grace);
        break;
    }
    gbx_gw_server_stop(srv, cfg->shutdown_grace);
    gbx_log(GBX_LOG_INFO, "stopped");
out:
    gbx_gw_server_free(srv);
    if (pid_written) remove_pid_file(pid_file);
    gbx_store_free(store);
    gbx_gw_config_free(cfg);
    gbx_log_set_callback(NULL, NULL);
    if (log) fclose(log);
    return status;
}
