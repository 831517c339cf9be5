/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* mariadb.h - a MariaDB server for the C unit tests, never a system service.
 *
 * tests/pylib/mariadb.py does the work (template datadir, mariadbd on its
 * own socket and free port, a `gearbox` user with a password): this header
 * runs its command line and reads the server.json it writes.  A test program
 * shares one server (mariadb_shared(): ctest's "mariadb" fixture server
 * when GBX_TEST_MARIADB_DIR names one that runs, else one it starts and stops
 * at exit) and gives every test a database of its own.  Servers are stopped
 * by the PID they were started with; one this process starts is its child
 * (it is the servers' subreaper), so it is reaped, not left a zombie.
 */
#ifndef GBX_TEST_MARIADB_H
#define GBX_TEST_MARIADB_H

#include <errno.h>
#include <jansson.h>
#include <mysql.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct mariadb_server {
    char dir[256];      /* work directory: datadir, log, server.json */
    char socket[256];
    char password[128];
    char user[64];
    int port;
    pid_t pid;
    bool owned;         /* started by this process: stopped at exit */
} mariadb_server;

/* tests/pylib/mariadb.py, found from this header's path. */
static inline void mariadb_script(char *buf, size_t len) {
    const char *file = __FILE__, *tail = strstr(file, "unit/mariadb.h");
    snprintf(buf, len, "%.*spylib/mariadb.py", tail ? (int)(tail - file) : 0, file);
}

/* Reads <dir>/server.json into `m`; false if it is not there. */
static inline bool mariadb_read_state(mariadb_server *m) {
    char path[300];
    snprintf(path, sizeof path, "%s/server.json", m->dir);
    json_t *j = json_load_file(path, 0, NULL);
    if (!j) return false;
    snprintf(m->socket, sizeof m->socket, "%s", json_string_value(json_object_get(j, "socket")));
    snprintf(m->password, sizeof m->password, "%s",
             json_string_value(json_object_get(j, "password")));
    snprintf(m->user, sizeof m->user, "%s", json_string_value(json_object_get(j, "user")));
    m->port = (int)json_integer_value(json_object_get(j, "port"));
    m->pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
    json_decref(j);
    return m->port > 0;
}

/* Runs `mariadb.py <command> <dir>`; true if it succeeded. */
static inline bool mariadb_command(mariadb_server *m, const char *command) {
    char script[512], cmd[1200];
    mariadb_script(script, sizeof script);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' %s '%s' >/dev/null", script, command,
             m->dir);
    fflush(NULL);
    int rc = system(cmd);
    if (rc != 0) {
        fprintf(stderr, "mariadb.py %s %s failed (%d); see %s/mariadbd.log\n", command, m->dir,
                rc, m->dir);
        return false;
    }
    return mariadb_read_state(m);
}

/* Starts (or restarts) the server of m->dir and waits until it serves. */
static inline bool mariadb_start(mariadb_server *m) { return mariadb_command(m, "start"); }

/* Whether `pid` still runs (a zombie does not). */
static inline bool mariadb_pid_alive(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *paren = strrchr(buf, ')');
    return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

static inline void mariadb_pause_ms(int ms) {
    struct timespec pause = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
}

/* Signals the server by its PID and waits (up to 60 s) until it is gone. */
static inline bool mariadb_signal(mariadb_server *m, int sig) {
    if (m->pid <= 0) return true;
    kill(m->pid, sig);
    for (int i = 0; i < 6000 && mariadb_pid_alive(m->pid); i++) {
        if (waitpid(m->pid, NULL, WNOHANG) == m->pid) break;
        mariadb_pause_ms(10);
    }
    waitpid(m->pid, NULL, WNOHANG);
    bool gone = !mariadb_pid_alive(m->pid);
    if (!gone) fprintf(stderr, "mariadbd %d did not stop\n", (int)m->pid);
    return gone;
}

static inline bool mariadb_stop(mariadb_server *m) { return mariadb_signal(m, SIGTERM); }
static inline bool mariadb_kill(mariadb_server *m) { return mariadb_signal(m, SIGKILL); }

/* A new server in a temporary directory; false with a message if not. */
static inline bool mariadb_start_new(mariadb_server *m) {
    memset(m, 0, sizeof *m);
    snprintf(m->dir, sizeof m->dir, "/tmp/gbx-test-mariadb-XXXXXX");
    if (!mkdtemp(m->dir)) {
        perror("mkdtemp");
        return false;
    }
    m->owned = true;
    /* mariadb.py's server outlives the script: it becomes our child. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    return mariadb_start(m);
}

/* Stops a server this process started and removes its directory. */
static inline void mariadb_discard(mariadb_server *m) {
    if (!m->owned) return;
    mariadb_stop(m);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", m->dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", m->dir);
    m->owned = false;
}

static mariadb_server mariadb_shared_server;
static pid_t mariadb_shared_owner;

static inline void mariadb_shared_stop(void) {
    if (getpid() == mariadb_shared_owner) mariadb_discard(&mariadb_shared_server);
}

/* The server this test program shares; NULL (with a message) if none can
 * be had. */
static inline mariadb_server *mariadb_shared(void) {
    mariadb_server *m = &mariadb_shared_server;
    if (m->port) return m;
    const char *dir = getenv("GBX_TEST_MARIADB_DIR");
    if (dir && *dir) {
        snprintf(m->dir, sizeof m->dir, "%s", dir);
        if (mariadb_read_state(m) && mariadb_pid_alive(m->pid)) return m;
        memset(m, 0, sizeof *m);
    }
    if (!mariadb_start_new(m)) {
        memset(m, 0, sizeof *m);
        return NULL;
    }
    mariadb_shared_owner = getpid();
    atexit(mariadb_shared_stop);
    return m;
}

/* Runs SQL as root on the server's socket; false with a message if it fails. */
static inline bool mariadb_root_sql(const mariadb_server *m, const char *sql) {
    MYSQL *db = mysql_init(NULL);
    bool ok = db && mysql_real_connect(db, "localhost", "root", NULL, NULL, 0, m->socket, 0) &&
              mysql_query(db, sql) == 0;
    if (!ok) fprintf(stderr, "mariadb: %s: %s\n", sql, db ? mysql_error(db) : "no memory");
    mysql_close(db);
    mysql_thread_end();
    return ok;
}

/* Creates (empty) the database `name` for the test user. */
static inline bool mariadb_create_database(const mariadb_server *m, const char *name) {
    char sql[600];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS `%s`", name);
    if (!mariadb_root_sql(m, sql)) return false;
    snprintf(sql, sizeof sql, "CREATE DATABASE `%s` CHARACTER SET utf8mb4", name);
    if (!mariadb_root_sql(m, sql)) return false;
    const char *hosts[] = {"localhost", "127.0.0.1"};
    for (int i = 0; i < 2; i++) {
        snprintf(sql, sizeof sql, "GRANT ALL ON `%s`.* TO '%s'@'%s'", name, m->user, hosts[i]);
        if (!mariadb_root_sql(m, sql)) return false;
    }
    return true;
}

/* The status section for database `name` over TCP (new reference). */
static inline json_t *mariadb_section(const mariadb_server *m, const char *name) {
    return json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "type", "mariadb", "host", "127.0.0.1",
                     "port", m->port, "user", m->user, "password", m->password, "database",
                     name);
}

#endif
