/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gearmand.h - a gearmand of the test's own, for the C tests that need one
 * (tests/unit, tests/worker).
 *
 * gearmand_start() runs gearmand on a free 127.0.0.1 port with its pid and
 * log files in the test's temporary directory and waits until it listens;
 * gearmand_stop() stops exactly that process, by pid (SIGTERM, then SIGKILL
 * when it does not go within the wait limit).  Nothing here exits: the
 * callers decide whether a failure ends or skips the test. */
#ifndef GBX_TEST_GEARMAND_H
#define GBX_TEST_GEARMAND_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Seconds on the monotonic clock. */
static inline double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void pause_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The gearmand to run: $GEARMAND, else /usr/sbin/gearmand. */
static inline const char *gearmand_bin(void) {
    const char *bin = getenv("GEARMAND");
    return bin && *bin ? bin : "/usr/sbin/gearmand";
}

/* A loopback port nobody listens on now; -1 (message on stderr) if none. */
static inline int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    else
        perror("free_port");
    if (fd >= 0) close(fd);
    return port;
}

/* A socket listening on a free 127.0.0.1 port (*port) that nobody answers
 * on: the kernel completes connections to it.  -1 (message on stderr) if
 * none. */
static inline int silent_listener(int *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        perror("silent_listener");
        if (fd >= 0) close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static inline bool port_open(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0) close(fd);
    return ok;
}

/* Stops the gearmand `*pid` (if any) and sets *pid to -1. */
static inline void gearmand_stop(pid_t *pid, double wait_s) {
    if (*pid <= 0) return;
    kill(*pid, SIGTERM);
    double until = mono_s() + wait_s;
    int st;
    while (waitpid(*pid, &st, WNOHANG) == 0) {
        if (mono_s() > until) {
            kill(*pid, SIGKILL);
            waitpid(*pid, &st, 0);
            break;
        }
        pause_ms(20);
    }
    *pid = -1;
}

/* Starts `bin` on 127.0.0.1:`port` (pid and log files in `dir`) and waits
 * up to `wait_s` for it to listen.  Its pid, or -1 with a message on stderr
 * (a gearmand that did not listen in time is stopped again). */
static inline pid_t gearmand_start(const char *bin, int port, const char *dir, double wait_s) {
    char portstr[16], pidfile[600], logfile[600];
    if (port <= 0) return -1;
    snprintf(portstr, sizeof portstr, "%d", port);
    snprintf(pidfile, sizeof pidfile, "%s/gearmand.pid", dir);
    snprintf(logfile, sizeof logfile, "%s/gearmand.log", dir);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return -1;
    }
    if (pid == 0) {
        execl(bin, bin, "--listen=127.0.0.1", "--port", portstr, "--pid-file", pidfile, "--log-file",
              logfile, "--threads=1", "--config-file", "/dev/null", (char *)NULL);
        perror(bin);
        _exit(127);
    }
    double until = mono_s() + wait_s;
    while (!port_open(port)) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            fprintf(stderr, "gearmand exited early (see %s)\n", logfile);
            return -1;
        }
        if (mono_s() > until) {
            fprintf(stderr, "gearmand did not listen on %d (see %s)\n", port, logfile);
            gearmand_stop(&pid, wait_s);
            return -1;
        }
        pause_ms(20);
    }
    return pid;
}

#endif
