/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gearbox-supervise - starts the daemons of a stack config, keeps them
 * running, and stops exactly the processes it started.
 *
 *   gearbox-supervise [--pid-file F] [--log-dir D] [--foreground] STACK_CONF
 *
 * STACK_CONF is a Gearbox config file (JSON with comments, ${VAR} expanded by
 * the config module) with a `daemons` array.  Each daemon is started in order
 * (`count` processes, each in its own process group, output appended to
 * <log-dir>/<name>.<i>.log, pid in <log-dir>/<name>.<i>.pid); a daemon with
 * `ready` is waited for before the next one starts.  A process that dies is
 * restarted with backoff until it fails too often in a row.  SIGTERM, SIGINT
 * or SIGHUP stop every process, last daemon first: SIGTERM to its process
 * group, SIGKILL after the grace period.  docs/stack.md has the details.
 */
#include "gearbox/config.h"
#include "gearbox/error.h"
#include "gearbox/json.h"
#include "gearbox/log.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SV_DEFAULT_READY_TIMEOUT 30.0 /* seconds to wait for a `ready` check */
#define SV_DEFAULT_STOP_TIMEOUT 10.0  /* seconds between SIGTERM and SIGKILL */
#define SV_DEFAULT_MIN_UPTIME 10.0    /* an exit sooner than this is a failure */
#define SV_DEFAULT_MAX_FAILURES 5     /* failures in a row before giving up */
#define SV_MAX_BACKOFF 30.0           /* longest wait before a restart */
#define SV_FORCE_AFTER 2.0            /* a stop signal this long after the first kills */

typedef struct sv_daemon sv_daemon;

/* One process slot of a daemon ("barn.1"). */
typedef struct sv_proc {
    sv_daemon *daemon;
    int index;
    char *label;          /* "<name>.<index>" */
    char *log_path;       /* <log-dir>/<label>.log */
    char *pid_path;       /* <log-dir>/<label>.pid while running */
    pid_t pid;            /* 0 when not running */
    double started_at;    /* monotonic seconds */
    int failures;         /* consecutive exits within min_uptime of starting */
    double restart_at;    /* monotonic time of a scheduled restart, 0 = none */
} sv_proc;

struct sv_daemon {
    char *name;
    char **argv;          /* NULL-terminated */
    char **env;           /* "K=V" strings added to the environment, NULL-terminated */
    int count;
    bool restart;
    char *ready_host;     /* NULL: no readiness check */
    char *ready_port;
    double ready_timeout;
    double min_uptime;
    int max_failures;
    sv_proc *procs;
};

typedef struct sv_stack {
    sv_daemon *daemons;
    size_t n_daemons;
    double stop_timeout;
    char *log_dir;
} sv_stack;

/* What the signal loop has seen. */
static bool sv_stopping;       /* a stop signal arrived (or start-up failed) */
static double sv_stop_since;   /* when */
static bool sv_force;          /* a second stop signal: SIGKILL what is left */
static bool sv_failed;         /* exit status 1 */
static sigset_t sv_signals;    /* the signals the loop waits for (blocked) */

/* ---- small helpers ------------------------------------------------------ */

static double sv_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *sv_xmalloc(size_t n) {
    void *p = calloc(1, n ? n : 1);
    if (!p) {
        fputs("gearbox-supervise: out of memory\n", stderr);
        exit(1);
    }
    return p;
}

static char *sv_strdup(const char *s) {
    char *d = sv_xmalloc(strlen(s) + 1);
    memcpy(d, s, strlen(s) + 1);
    return d;
}

static char *sv_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *sv_sprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = sv_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* mkdir -p. */
static int sv_mkdirs(const char *path) {
    char *p = sv_strdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *s = '/';
    }
    int rc = (mkdir(p, 0755) != 0 && errno != EEXIST) ? -1 : 0;
    free(p);
    return rc;
}

/* An absolute version of `path` (which need not exist).  Malloc'ed. */
static char *sv_absolute(const char *path) {
    if (path[0] == '/') return sv_strdup(path);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) return sv_strdup(path);
    while (path[0] == '.' && path[1] == '/') path += 2;
    if (strcmp(path, ".") == 0) return sv_strdup(cwd);
    return sv_sprintf("%s/%s", cwd, path);
}

static void sv_write_file(const char *path, const char *text) {
    char *tmp = sv_sprintf("%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f || fputs(text, f) == EOF || fclose(f) != 0 || rename(tmp, path) != 0) {
        gbx_log(GBX_LOG_WARN, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
}

/* "exited with 1" / "killed by signal 9 (Killed)".  Static buffer. */
static const char *sv_describe(int status) {
    static char text[96];
    if (WIFEXITED(status))
        snprintf(text, sizeof text, "exited with %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(text, sizeof text, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(text, sizeof text, "ended with status %d", status);
    return text;
}

/* ---- configuration ------------------------------------------------------ */

/* A command that the shell would run as one simple command is run with
 * `exec`, so that the pid the supervisor sees is the daemon's own. */
static bool sv_is_simple_command(const char *cmd) {
    while (*cmd == ' ' || *cmd == '\t') cmd++;
    if (strncmp(cmd, "exec ", 5) == 0) return false;
    if (strpbrk(cmd, ";&|()`\n<>")) return false;
    /* A leading VAR=value assignment cannot follow `exec`. */
    size_t word = strcspn(cmd, " \t");
    return memchr(cmd, '=', word) == NULL;
}

static bool sv_valid_name(const char *s) {
    if (!*s) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return false;
    return true;
}

static int sv_config_error(const char *conf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int sv_config_error(const char *conf, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "gearbox-supervise: %s: ", conf);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return -1;
}

static bool sv_number(json_t *v, double *out) {
    if (!json_is_number(v)) return false;
    *out = json_number_value(v);
    return isfinite(*out);
}

/* Parses one entry of `daemons`.  Returns 0, or -1 after printing why. */
static int sv_parse_daemon(sv_daemon *d, json_t *entry, size_t i, const char *conf) {
    if (!json_is_object(entry)) return sv_config_error(conf, "daemons[%zu] is not an object", i);
    static const char *const known[] = {"name", "command", "count", "restart", "ready",
                                        "env", "min_uptime", "max_failures", NULL};
    const char *key;
    json_t *value;
    json_object_foreach(entry, key, value) {
        bool ok = false;
        for (int k = 0; known[k]; k++) ok = ok || strcmp(key, known[k]) == 0;
        if (!ok) return sv_config_error(conf, "daemons[%zu]: unknown key \"%s\"", i, key);
    }
    json_t *name = json_object_get(entry, "name");
    if (!json_is_string(name) || !sv_valid_name(json_string_value(name)))
        return sv_config_error(conf, "daemons[%zu]: \"name\" must be a string of letters, digits, - and _", i);
    d->name = sv_strdup(json_string_value(name));

    json_t *cmd = json_object_get(entry, "command");
    if (json_is_string(cmd) && json_string_length(cmd) > 0) {
        const char *text = json_string_value(cmd);
        d->argv = sv_xmalloc(4 * sizeof(char *));
        d->argv[0] = sv_strdup("/bin/sh");
        d->argv[1] = sv_strdup("-c");
        d->argv[2] = sv_is_simple_command(text) ? sv_sprintf("exec %s", text) : sv_strdup(text);
    } else if (json_is_array(cmd) && json_array_size(cmd) > 0) {
        d->argv = sv_xmalloc((json_array_size(cmd) + 1) * sizeof(char *));
        size_t j;
        json_t *arg;
        json_array_foreach(cmd, j, arg) {
            if (!json_is_string(arg))
                return sv_config_error(conf, "%s: \"command\"[%zu] is not a string", d->name, j);
            d->argv[j] = sv_strdup(json_string_value(arg));
        }
    } else {
        return sv_config_error(conf, "%s: \"command\" must be a non-empty string or array of strings", d->name);
    }

    json_t *count = json_object_get(entry, "count");
    d->count = 1;
    if (count) {
        if (!json_is_integer(count) || json_integer_value(count) < 0 || json_integer_value(count) > 1000)
            return sv_config_error(conf, "%s: \"count\" must be an integer from 0 to 1000", d->name);
        d->count = (int)json_integer_value(count);
    }

    json_t *restart = json_object_get(entry, "restart");
    d->restart = true;
    if (restart) {
        if (!json_is_boolean(restart)) return sv_config_error(conf, "%s: \"restart\" must be true or false", d->name);
        d->restart = json_is_true(restart);
    }

    d->min_uptime = SV_DEFAULT_MIN_UPTIME;
    json_t *uptime = json_object_get(entry, "min_uptime");
    if (uptime && (!sv_number(uptime, &d->min_uptime) || d->min_uptime < 0))
        return sv_config_error(conf, "%s: \"min_uptime\" must be a number of seconds", d->name);
    d->max_failures = SV_DEFAULT_MAX_FAILURES;
    json_t *maxf = json_object_get(entry, "max_failures");
    if (maxf) {
        if (!json_is_integer(maxf) || json_integer_value(maxf) < 1 || json_integer_value(maxf) > 1000)
            return sv_config_error(conf, "%s: \"max_failures\" must be an integer from 1 to 1000", d->name);
        d->max_failures = (int)json_integer_value(maxf);
    }

    json_t *ready = json_object_get(entry, "ready");
    d->ready_timeout = SV_DEFAULT_READY_TIMEOUT;
    if (ready) {
        json_t *tcp = json_object_get(ready, "tcp");
        if (!json_is_object(ready) || !json_is_string(tcp))
            return sv_config_error(conf, "%s: \"ready\" must be {\"tcp\": \"host:port\"}", d->name);
        json_object_foreach(ready, key, value) {
            if (strcmp(key, "tcp") != 0 && strcmp(key, "timeout") != 0)
                return sv_config_error(conf, "%s: \"ready\": unknown key \"%s\"", d->name, key);
        }
        const char *addr = json_string_value(tcp);
        const char *colon = strrchr(addr, ':');
        if (!colon || colon == addr || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1))
            return sv_config_error(conf, "%s: \"ready.tcp\" must be \"host:port\", not \"%s\"", d->name, addr);
        size_t hlen = (size_t)(colon - addr);
        if (addr[0] == '[' && hlen >= 2 && addr[hlen - 1] == ']') { /* [::1]:80 */
            addr++;
            hlen -= 2;
        }
        d->ready_host = sv_xmalloc(hlen + 1);
        memcpy(d->ready_host, addr, hlen);
        d->ready_port = sv_strdup(colon + 1);
        json_t *timeout = json_object_get(ready, "timeout");
        if (timeout && (!sv_number(timeout, &d->ready_timeout) || d->ready_timeout <= 0))
            return sv_config_error(conf, "%s: \"ready.timeout\" must be a positive number of seconds", d->name);
    }

    json_t *env = json_object_get(entry, "env");
    d->env = sv_xmalloc((json_object_size(env) + 1) * sizeof(char *));
    if (env) {
        if (!json_is_object(env)) return sv_config_error(conf, "%s: \"env\" must be an object", d->name);
        size_t j = 0;
        json_object_foreach(env, key, value) {
            if (!json_is_string(value))
                return sv_config_error(conf, "%s: \"env\": value of \"%s\" is not a string", d->name, key);
            if (!*key || strchr(key, '='))
                return sv_config_error(conf, "%s: \"env\": bad variable name \"%s\"", d->name, key);
            d->env[j++] = sv_sprintf("%s=%s", key, json_string_value(value));
        }
    }
    return 0;
}

static int sv_load(sv_stack *s, const char *conf) {
    gbx_config *cfg = NULL;
    if (gbx_config_load(&cfg, conf) != GBX_OK)
        return sv_config_error(conf, "%s", gbx_error_last()->message);
    int rc = 0;
    json_t *daemons = gbx_config_get(cfg, "daemons");
    json_t *stop = gbx_config_get(cfg, "stop_timeout");
    s->stop_timeout = SV_DEFAULT_STOP_TIMEOUT;
    if (!json_is_array(daemons)) {
        rc = sv_config_error(conf, "no \"daemons\" array");
    } else if (stop && (!sv_number(stop, &s->stop_timeout) || s->stop_timeout < 0)) {
        rc = sv_config_error(conf, "\"stop_timeout\" must be a number of seconds");
    } else {
        s->n_daemons = json_array_size(daemons);
        s->daemons = sv_xmalloc(s->n_daemons * sizeof(sv_daemon));
        for (size_t i = 0; i < s->n_daemons && rc == 0; i++) {
            rc = sv_parse_daemon(&s->daemons[i], json_array_get(daemons, i), i, conf);
            for (size_t j = 0; j < i && rc == 0; j++)
                if (strcmp(s->daemons[j].name, s->daemons[i].name) == 0)
                    rc = sv_config_error(conf, "two daemons are named \"%s\"", s->daemons[i].name);
        }
    }
    gbx_config_free(cfg);
    if (rc != 0) return rc;
    for (size_t i = 0; i < s->n_daemons; i++) {
        sv_daemon *d = &s->daemons[i];
        d->procs = sv_xmalloc((size_t)(d->count ? d->count : 1) * sizeof(sv_proc));
        for (int j = 0; j < d->count; j++) {
            sv_proc *p = &d->procs[j];
            p->daemon = d;
            p->index = j;
            p->label = sv_sprintf("%s.%d", d->name, j);
            p->log_path = sv_sprintf("%s/%s.log", s->log_dir, p->label);
            p->pid_path = sv_sprintf("%s/%s.pid", s->log_dir, p->label);
        }
    }
    return 0;
}

static void sv_free(sv_stack *s) {
    for (size_t i = 0; i < s->n_daemons; i++) {
        sv_daemon *d = &s->daemons[i];
        for (char **a = d->argv; a && *a; a++) free(*a);
        for (char **e = d->env; e && *e; e++) free(*e);
        free(d->argv);
        free(d->env);
        for (int j = 0; d->procs && j < d->count; j++) {
            free(d->procs[j].label);
            free(d->procs[j].log_path);
            free(d->procs[j].pid_path);
        }
        free(d->procs);
        free(d->name);
        free(d->ready_host);
        free(d->ready_port);
    }
    free(s->daemons);
    free(s->log_dir);
}

/* ---- processes ---------------------------------------------------------- */

/* Starts one process of a daemon.  Returns false (logged) if it could not. */
static bool sv_spawn(sv_proc *p) {
    sv_daemon *d = p->daemon;
    p->restart_at = 0;
    int logfd = open(p->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644);
    if (logfd < 0) {
        gbx_log(GBX_LOG_ERROR, "cannot open %s: %s", p->log_path, strerror(errno));
        return false;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        gbx_log(GBX_LOG_ERROR, "cannot start %s: fork: %s", p->label, strerror(errno));
        close(logfd);
        return false;
    }
    if (pid == 0) {
        /* Own process group: a Ctrl-C at the terminal reaches the supervisor
         * only, and a stop signal reaches everything the daemon forked. */
        setpgid(0, 0);
        /* If the supervisor itself is killed, its daemons do not linger. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(127);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        int handled[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGPIPE};
        for (size_t k = 0; k < sizeof handled / sizeof handled[0]; k++) signal(handled[k], SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (char **e = d->env; *e; e++) putenv(*e);
        char index[16];
        snprintf(index, sizeof index, "%d", p->index);
        setenv("GEARBOX_DAEMON_NAME", d->name, 1);
        setenv("GEARBOX_DAEMON_INDEX", index, 1);
        time_t t = time(NULL);
        struct tm tm;
        char when[32];
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
        dprintf(1, "--- %s gearbox-supervise: starting %s (pid %d)\n", when, p->label, (int)getpid());
        execvp(d->argv[0], d->argv);
        dprintf(2, "gearbox-supervise: cannot run %s: %s\n", d->argv[0], strerror(errno));
        _exit(127);
    }
    /* Also here, so that the group exists whichever process runs first. */
    setpgid(pid, pid);
    close(logfd);
    p->pid = pid;
    p->started_at = sv_now();
    /* Logged before the pid file appears, so a reader of the file finds
     * the line too. */
    gbx_log(GBX_LOG_INFO, "started %s pid %d", p->label, (int)pid);
    char text[32];
    snprintf(text, sizeof text, "%d\n", (int)pid);
    sv_write_file(p->pid_path, text);
    return true;
}

static sv_proc *sv_find(sv_stack *s, pid_t pid) {
    for (size_t i = 0; i < s->n_daemons; i++)
        for (int j = 0; j < s->daemons[i].count; j++)
            if (s->daemons[i].procs[j].pid == pid) return &s->daemons[i].procs[j];
    return NULL;
}

/* Bookkeeping after one of our processes ended: restart it, or not. */
static void sv_exited(sv_proc *p, int status) {
    sv_daemon *d = p->daemon;
    /* "barn.0 pid 1234", or "barn.0" when it could not even be started. */
    char who[256];
    if (p->pid)
        snprintf(who, sizeof who, "%s pid %d", p->label, (int)p->pid);
    else
        snprintf(who, sizeof who, "%s", p->label);
    const char *how = p->pid ? sv_describe(status) : "could not be started";
    p->pid = 0;
    unlink(p->pid_path);
    if (sv_stopping) {
        gbx_log(GBX_LOG_INFO, "%s stopped (%s)", who, how);
        return;
    }
    if (!d->restart) {
        gbx_log(GBX_LOG_WARN, "%s %s; not restarting (restart is off)", who, how);
        return;
    }
    double uptime = sv_now() - p->started_at;
    double delay = 1.0;
    if (uptime < d->min_uptime) {
        p->failures++;
        if (p->failures >= d->max_failures) {
            gbx_log(GBX_LOG_ERROR, "%s %s, %d times in a row within %gs of starting; giving up",
                    who, how, p->failures, d->min_uptime);
            return;
        }
        delay = ldexp(1.0, p->failures - 1);
        if (delay > SV_MAX_BACKOFF) delay = SV_MAX_BACKOFF;
    } else {
        p->failures = 0;
    }
    gbx_log(GBX_LOG_WARN, "%s %s, restarting in %gs", who, how, delay);
    p->restart_at = sv_now() + delay;
}

/* Reaps every child that has ended.  Before reaping one of ours, whatever
 * it left behind in its process group is told to stop too (the zombie keeps
 * the group id ours until it is reaped).  Orphans of our daemons come here as
 * well (we are their subreaper) and are simply reaped. */
static void sv_reap(sv_stack *s) {
    for (;;) {
        siginfo_t info;
        memset(&info, 0, sizeof info);
        if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0) return;
        pid_t pid = info.si_pid;
        sv_proc *p = sv_find(s, pid);
        if (p) kill(-pid, SIGTERM);
        int status = 0;
        if (waitpid(pid, &status, 0) < 0) return;
        if (p) sv_exited(p, status);
    }
}

static const char *sv_signal_name(int sig) {
    switch (sig) {
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGHUP: return "SIGHUP";
    default: return strsignal(sig);
    }
}

static void sv_on_signal(int sig) {
    if (!sv_stopping) {
        gbx_log(GBX_LOG_INFO, "received %s; stopping", sv_signal_name(sig));
        sv_stopping = true;
        sv_stop_since = sv_now();
    } else if (!sv_force && sv_now() - sv_stop_since >= SV_FORCE_AFTER) {
        gbx_log(GBX_LOG_WARN, "received %s again; killing what is left", sv_signal_name(sig));
        sv_force = true;
    }
}

/* Sleeps until a signal arrives, `max_wait` seconds pass or a restart is
 * due, then handles what happened: stop requests, exits, due restarts. */
static void sv_wait_events(sv_stack *s, double max_wait) {
    double now = sv_now();
    double wait = max_wait;
    if (!sv_stopping)
        for (size_t i = 0; i < s->n_daemons; i++)
            for (int j = 0; j < s->daemons[i].count; j++) {
                sv_proc *p = &s->daemons[i].procs[j];
                if (p->restart_at > 0 && p->restart_at - now < wait) wait = p->restart_at - now;
            }
    if (wait < 0) wait = 0;
    struct timespec ts = {(time_t)wait, (long)((wait - floor(wait)) * 1e9)};
    static const struct timespec zero = {0, 0};
    siginfo_t si;
    int sig = sigtimedwait(&sv_signals, &si, &ts);
    while (sig > 0) {
        if (sig != SIGCHLD) sv_on_signal(sig);
        sig = sigtimedwait(&sv_signals, &si, &zero);
    }
    sv_reap(s);
    if (sv_stopping) return;
    now = sv_now();
    for (size_t i = 0; i < s->n_daemons; i++)
        for (int j = 0; j < s->daemons[i].count; j++) {
            sv_proc *p = &s->daemons[i].procs[j];
            if (p->restart_at > 0 && p->restart_at <= now && !sv_spawn(p)) {
                /* Could not even fork or open the log: a failure like any other. */
                p->started_at = now;
                sv_exited(p, 0);
            }
        }
}

/* True when something accepts TCP connections at host:port. */
static bool sv_tcp_ready(const char *host, const char *port) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0) return false;
    bool ok = false;
    for (struct addrinfo *ai = res; ai && !ok; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        struct timeval tv = {1, 0}; /* bounds connect() to a host that does not answer */
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        ok = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
        close(fd);
    }
    freeaddrinfo(res);
    return ok;
}

static bool sv_daemon_dead(const sv_daemon *d) {
    for (int j = 0; j < d->count; j++)
        if (d->procs[j].pid || d->procs[j].restart_at > 0) return false;
    return d->count > 0;
}

/* Starts the daemons in order.  False if start-up failed (logged). */
static bool sv_start_all(sv_stack *s) {
    for (size_t i = 0; i < s->n_daemons && !sv_stopping; i++) {
        sv_daemon *d = &s->daemons[i];
        for (int j = 0; j < d->count; j++)
            if (!sv_spawn(&d->procs[j])) return false;
        if (!d->ready_host || d->count == 0) continue;
        double deadline = sv_now() + d->ready_timeout;
        for (;;) {
            if (sv_stopping) return true;
            if (sv_tcp_ready(d->ready_host, d->ready_port)) {
                gbx_log(GBX_LOG_INFO, "%s ready on %s:%s", d->name, d->ready_host, d->ready_port);
                break;
            }
            if (sv_daemon_dead(d)) {
                gbx_log(GBX_LOG_ERROR, "%s is not running; see %s/%s.*.log", d->name, s->log_dir, d->name);
                return false;
            }
            if (sv_now() >= deadline) {
                gbx_log(GBX_LOG_ERROR, "%s did not accept connections on %s:%s within %gs; see %s/%s.*.log",
                        d->name, d->ready_host, d->ready_port, d->ready_timeout, s->log_dir, d->name);
                return false;
            }
            sv_wait_events(s, 0.1);
        }
    }
    return true;
}

static bool sv_any_running(const sv_daemon *d) {
    for (int j = 0; j < d->count; j++)
        if (d->procs[j].pid) return true;
    return false;
}

/* True while some process runs or is about to be restarted. */
static bool sv_anything_left(const sv_stack *s) {
    for (size_t i = 0; i < s->n_daemons; i++)
        for (int j = 0; j < s->daemons[i].count; j++)
            if (s->daemons[i].procs[j].pid || s->daemons[i].procs[j].restart_at > 0) return true;
    return false;
}

/* Stops everything, last daemon first; returns when all are reaped. */
static void sv_stop_all(sv_stack *s) {
    if (!sv_stopping) {
        sv_stopping = true;
        sv_stop_since = sv_now();
    }
    for (size_t i = 0; i < s->n_daemons; i++)
        for (int j = 0; j < s->daemons[i].count; j++) s->daemons[i].procs[j].restart_at = 0;
    for (size_t i = s->n_daemons; i-- > 0;) {
        sv_daemon *d = &s->daemons[i];
        if (!sv_any_running(d)) continue;
        for (int j = 0; j < d->count; j++) {
            sv_proc *p = &d->procs[j];
            if (!p->pid) continue;
            gbx_log(GBX_LOG_INFO, "stopping %s pid %d", p->label, (int)p->pid);
            if (kill(-p->pid, SIGTERM) != 0) kill(p->pid, SIGTERM);
        }
        double deadline = sv_now() + s->stop_timeout;
        bool killed = false;
        while (sv_any_running(d)) {
            if (!killed && (sv_force || sv_now() >= deadline)) {
                for (int j = 0; j < d->count; j++) {
                    sv_proc *p = &d->procs[j];
                    if (!p->pid) continue;
                    gbx_log(GBX_LOG_WARN, "%s pid %d did not stop within %gs; sending SIGKILL",
                            p->label, (int)p->pid, sv_force ? sv_now() - sv_stop_since : s->stop_timeout);
                    if (kill(-p->pid, SIGKILL) != 0) kill(p->pid, SIGKILL);
                }
                killed = true;
            }
            sv_wait_events(s, 0.1);
        }
    }
    gbx_log(GBX_LOG_INFO, "all daemons stopped");
}

/* ---- main --------------------------------------------------------------- */

static void sv_noop_handler(int sig) { (void)sig; }

static void sv_usage(FILE *f) {
    fputs("usage: gearbox-supervise [--pid-file FILE] [--log-dir DIR] [--foreground] STACK_CONF\n"
          "\n"
          "Starts the processes listed in the `daemons` array of STACK_CONF, in order,\n"
          "restarts those that die, and stops every one of them (by pid) on SIGTERM,\n"
          "SIGINT or SIGHUP.  Each entry:\n"
          "  {\"name\": \"barn\",                      names logs <name>.<i>.log and pid files\n"
          "   \"command\": \"prog --opt ${VAR}\",      run by /bin/sh -c, or an argv array\n"
          "   \"count\": 2,                          processes (default 1)\n"
          "   \"restart\": true,                     restart when it dies (default true)\n"
          "   \"ready\": {\"tcp\": \"127.0.0.1:4080\", \"timeout\": 30},\n"
          "                                        wait for this before the next daemon\n"
          "   \"env\": {\"K\": \"V\"},                   extra environment\n"
          "   \"min_uptime\": 10, \"max_failures\": 5}  give up after 5 exits in a row, each\n"
          "                                        within 10 s of starting\n"
          "Top level: \"stop_timeout\": seconds between SIGTERM and SIGKILL (default 10).\n"
          "${VAR} and ${VAR:-default} are expanded from the environment; the supervisor\n"
          "sets GEARBOX_STACK_DIR (the directory of STACK_CONF) and GEARBOX_LOG_DIR first.\n"
          "\n"
          "  --log-dir DIR    where the logs and pid files go\n"
          "                   (default ${GEARBOX_STATE_DIR:-state}/log)\n"
          "  --pid-file FILE  write the supervisor's own pid there\n"
          "  --foreground     stay attached and log to stderr; otherwise the supervisor\n"
          "                   detaches once every daemon has started and is ready, and\n"
          "                   logs to DIR/supervise.log\n"
          "  --help           this text\n"
          "\n"
          "Exit status: 0 after a requested stop, 1 if start-up failed or every process\n"
          "gave up, 2 for bad arguments or a bad STACK_CONF.\n",
          f);
}

/* Refuses a pid file that names another live process. */
static int sv_check_pid_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int pid = 0;
    int rc = 0;
    if (fscanf(f, "%d", &pid) == 1 && pid > 0 && pid != getpid() && kill(pid, 0) == 0) {
        fprintf(stderr, "gearbox-supervise: %s names running process %d; is it already running?\n",
                path, pid);
        rc = -1;
    }
    fclose(f);
    return rc;
}

int main(int argc, char **argv) {
    static const struct option options[] = {
        {"pid-file", required_argument, NULL, 'p'},
        {"log-dir", required_argument, NULL, 'l'},
        {"foreground", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *pid_file = NULL, *log_dir = NULL;
    bool foreground = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "p:l:fh", options, NULL)) != -1) {
        switch (opt) {
        case 'p': pid_file = optarg; break;
        case 'l': log_dir = optarg; break;
        case 'f': foreground = true; break;
        case 'h': sv_usage(stdout); return 0;
        default: sv_usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        sv_usage(stderr);
        return 2;
    }
    const char *conf = argv[optind];

    /* The variables a stack config may use, set before it is loaded. */
    sv_stack stack;
    memset(&stack, 0, sizeof stack);
    if (log_dir) {
        stack.log_dir = sv_absolute(log_dir);
    } else {
        const char *state = getenv("GEARBOX_STATE_DIR");
        char *dflt = sv_sprintf("%s/log", state && *state ? state : "state");
        stack.log_dir = sv_absolute(dflt);
        free(dflt);
    }
    char *conf_abs = sv_absolute(conf);
    char *slash = strrchr(conf_abs, '/');
    *slash = '\0';
    setenv("GEARBOX_STACK_DIR", *conf_abs ? conf_abs : "/", 1);
    free(conf_abs);
    setenv("GEARBOX_LOG_DIR", stack.log_dir, 1);

    if (sv_load(&stack, conf) != 0) {
        sv_free(&stack);
        return 2;
    }
    if (pid_file && sv_check_pid_file(pid_file) != 0) {
        sv_free(&stack);
        return 2;
    }
    if (sv_mkdirs(stack.log_dir) != 0) {
        fprintf(stderr, "gearbox-supervise: cannot create %s: %s\n", stack.log_dir, strerror(errno));
        sv_free(&stack);
        return 2;
    }

    /* Detach: the parent stays until start-up is over, to report it. */
    int notify = -1;
    if (!foreground) {
        int fds[2];
        if (pipe(fds) != 0) {
            perror("gearbox-supervise: pipe");
            return 1;
        }
        pid_t pid = fork();
        if (pid < 0) {
            perror("gearbox-supervise: fork");
            return 1;
        }
        if (pid > 0) {
            close(fds[1]);
            char c = 0;
            ssize_t n;
            do n = read(fds[0], &c, 1);
            while (n < 0 && errno == EINTR);
            if (n == 1 && c == '1') return 0;
            fprintf(stderr, "gearbox-supervise: start-up failed; see %s/supervise.log\n", stack.log_dir);
            return 1;
        }
        close(fds[0]);
        notify = fds[1];
        setsid();
        char *log = sv_sprintf("%s/supervise.log", stack.log_dir);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_NOCTTY, 0644);
        free(log);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) dup2(devnull, 0);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
    }
    gbx_log_set_callback(gbx_log_to_file, stderr);

    if (pid_file) {
        char text[32];
        snprintf(text, sizeof text, "%d\n", (int)getpid());
        sv_write_file(pid_file, text);
    }

    /* Signals are only ever taken by sigtimedwait; handlers exist so that
     * none of them is ignored (a shell starts background jobs with SIGINT
     * ignored) and exec gives the daemons default dispositions. */
    sigemptyset(&sv_signals);
    int handled[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = sv_noop_handler;
    sigemptyset(&sa.sa_mask);
    for (size_t k = 0; k < sizeof handled / sizeof handled[0]; k++) {
        sigaddset(&sv_signals, handled[k]);
        sigaction(handled[k], &sa, NULL);
    }
    sigprocmask(SIG_BLOCK, &sv_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* Orphans of our daemons (children of a shell that was killed, say)
     * become ours to reap instead of init's. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);

    gbx_log(GBX_LOG_INFO, "supervising %s (pid %d, logs in %s)", conf, (int)getpid(), stack.log_dir);
    bool started = sv_start_all(&stack);
    if (!started) sv_failed = true;
    if (notify >= 0) {
        ssize_t w = write(notify, started && !sv_stopping ? "1" : "0", 1);
        (void)w;
        close(notify);
    }
    if (started && !sv_stopping) gbx_log(GBX_LOG_INFO, "all daemons started");
    while (started && !sv_stopping) {
        if (!sv_anything_left(&stack)) {
            gbx_log(GBX_LOG_ERROR, "no process left to supervise; exiting");
            sv_failed = true;
            break;
        }
        sv_wait_events(&stack, 1.0);
    }
    sv_stop_all(&stack);
    if (pid_file) unlink(pid_file);
    sv_free(&stack);
    return sv_failed ? 1 : 0;
}
