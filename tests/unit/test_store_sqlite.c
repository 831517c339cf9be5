/* Unit tests of the SQLite status store (core/src/store.c, store_sqlite.c):
 * configuration, files and schema, reopening, several handles and processes
 * on one file, many threads on one status without lost updates, connection
 * life cycle, the busy timeout and database errors, and the migration of a
 * schema version 1 database. */
#define _GNU_SOURCE /* nftw's FTW_DEPTH / FTW_PHYS */
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "fixtures.h"
#include "gearbox/status.h"
#include "gearbox/store.h"
#include "store/queue_internal.h"
#include "store/status_internal.h"

#define HAMMER 100 /* rounds of updates per thread / process */

static char dir[64];

static void path_in(char *buf, size_t len, const char *name) {
    snprintf(buf, len, "%s/%s", dir, name);
}

static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static gbx_status *create_in(gbx_store *store, const char *uri) {
    gbx_status_spec spec = {.operation = "create", .component = "barn", .uri = uri,
                            .status_base = "http://h/barn/v1/status"};
    return fixture_status(store, &spec);
}

/* Number of this process's file descriptors open on files under `prefix`. */
static int fds_on(const char *prefix) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char link[300], target[PATH_MAX];
        snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
        ssize_t len = readlink(link, target, sizeof target - 1);
        if (len <= 0) continue;
        target[len] = '\0';
        if (strncmp(target, prefix, strlen(prefix)) == 0) n++;
    }
    closedir(d);
    return n;
}

static void test_config(void) {
    gbx_store *st = (gbx_store *)1;
    char base[128], db[200];
    path_in(base, sizeof base, "conf");

    /* Relative path against base_dir; missing directories are created. */
    json_t *sec = json_pack("{s:s, s:s, s:i}", "type", "sqlite", "path", "state/deep/status.db",
                            "busy_timeout_ms", 250);
    CHECK_INT(gbx_store_open(&st, sec, base), GBX_OK);
    CHECK_STR(gbx_store_backend(st), "sqlite");
    snprintf(db, sizeof db, "%s/state/deep/status.db", base);
    CHECK(exists(db));
    gbx_store_free(st);
    json_decref(sec);

    /* The file is in WAL mode and records its schema version. */
    sqlite3 *raw = NULL;
    CHECK_INT(sqlite3_open(db, &raw), SQLITE_OK);
    sqlite3_stmt *q = NULL;
    sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &q, NULL);
    CHECK_INT(sqlite3_step(q), SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    sqlite3_prepare_v2(raw, "SELECT version FROM gbx_schema_version WHERE part = 'status'", -1,
                       &q, NULL);
    CHECK_INT(sqlite3_step(q), SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(q, 0), 4);
    sqlite3_finalize(q);
    /* A database from a newer build is refused, not misread. */
    sqlite3_exec(raw, "UPDATE gbx_schema_version SET version = 99", NULL, NULL, NULL);
    sqlite3_close(raw);
    CHECK_INT(gbx_store_open_sqlite(&st, db), GBX_ERR_INTERNAL_SERVER_ERROR);
    CHECK(strstr(gbx_error_last()->message, "schema version 99") != NULL);
    CHECK(st == NULL);

    /* type defaults to sqlite; base_dir NULL means the current directory. */
    char cwd[PATH_MAX];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK_INT(chdir(dir), 0);
    sec = json_pack("{s:s}", "path", "rel/status.db");
    CHECK_INT(gbx_store_open(&st, sec, NULL), GBX_OK);
    json_decref(sec);
    /* Connections opened later do not depend on the current directory. */
    CHECK_INT(chdir("/"), 0);
    gbx_status *s = create_in(st, "u");
    gbx_status_free(s);
    gbx_store_free(st);
    char rel[200];
    path_in(rel, sizeof rel, "rel/status.db");
    CHECK(exists(rel));
    CHECK_INT(chdir(cwd), 0);

    /* Bad settings. */
    struct {
        const char *json;
        gbx_err code;
        const char *text;
    } bad[] = {
        {"{\"type\": \"mysql\", \"path\": \"x\"}", GBX_ERR_NOT_IMPLEMENTED, "mysql"},
        {"{\"type\": \"oracle\", \"path\": \"x\"}", GBX_ERR_BAD_REQUEST, "unknown type \"oracle\""},
        {"{\"type\": 7}", GBX_ERR_BAD_REQUEST, "\"type\" must be a string"},
        {"{\"type\": \"sqlite\"}", GBX_ERR_BAD_REQUEST, "\"path\" is required"},
        {"{\"path\": \"\"}", GBX_ERR_BAD_REQUEST, "\"path\" is required"},
        {"{\"path\": \"x.db\", \"busy_timeout_ms\": \"5000\"}", GBX_ERR_BAD_REQUEST,
         "\"busy_timeout_ms\" must be an integer"},
        {"{\"path\": \"x.db\", \"busy_timeout_ms\": -1}", GBX_ERR_BAD_REQUEST,
         "\"busy_timeout_ms\" must be an integer"},
        {"{\"path\": \"x.db\", \"synchronous\": \"sometimes\"}", GBX_ERR_BAD_REQUEST,
         "\"synchronous\" must be"},
        {"{\"path\": \":memory:\"}", GBX_ERR_BAD_REQUEST, ":memory:"},
        {"[]", GBX_ERR_BAD_REQUEST, "must be an object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *j = json_loads(bad[i].json, 0, NULL);
        st = (gbx_store *)1;
        CHECK_INT(gbx_store_open(&st, j, base), bad[i].code);
        if (!strstr(gbx_error_last()->message, bad[i].text)) {
            fprintf(stderr, "%s: message \"%s\" lacks \"%s\"\n", bad[i].json,
                    gbx_error_last()->message, bad[i].text);
            check_failed++;
        }
        CHECK(st == NULL);
        json_decref(j);
    }
    CHECK_INT(gbx_store_open(&st, NULL, base), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_store_open_sqlite(&st, NULL), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_store_open_sqlite(&st, ""), GBX_ERR_BAD_REQUEST);
    sec = json_pack("{s:s, s:s}", "path", "x.db", "synchronous", "full");
    CHECK_INT(gbx_store_open(&st, sec, base), GBX_OK);
    gbx_store_free(st);
    json_decref(sec);
    gbx_store_free(NULL);
    CHECK(gbx_store_backend(NULL) == NULL);

    /* Database errors carry SQLite's message. */
    char junk[200];
    path_in(junk, sizeof junk, "junk.db");
    FILE *f = fopen(junk, "w");
    for (int i = 0; i < 200; i++) fputs("this is not a database file. ", f);
    fclose(f);
    CHECK_INT(gbx_store_open_sqlite(&st, junk), GBX_ERR_INTERNAL_SERVER_ERROR);
    CHECK(strstr(gbx_error_last()->message, "not a database") != NULL);
    /* A parent "directory" that is a file. */
    char under_file[220];
    snprintf(under_file, sizeof under_file, "%s/sub/status.db", junk);
    CHECK_INT(gbx_store_open_sqlite(&st, under_file), GBX_ERR_INTERNAL_SERVER_ERROR);
    CHECK(strstr(gbx_error_last()->message, "cannot create directory") != NULL);
}

static void test_reopen_and_two_handles(void) {
    char db[128];
    path_in(db, sizeof db, "shared.db");
    gbx_store *a = NULL, *b = NULL;
    CHECK_INT(gbx_store_open_sqlite(&a, db), GBX_OK);
    gbx_status *s = create_in(a, "http://h/barn/v1/animal/Wilbur");
    if (!s) return;
    char id[64];
    snprintf(id, sizeof id, "%s", gbx_status_id(s));
    CHECK_INT(gbx_status_add_message(s, "one"), GBX_OK);
    CHECK_INT(gbx_status_set_meta_new(s, "k", json_string("v")), GBX_OK);
    gbx_status_free(s);
    gbx_store_free(a);

    /* Reopen after free: everything is still there. */
    CHECK_INT(gbx_store_open_sqlite(&a, db), GBX_OK);
    CHECK_INT(gbx_status_fetch(&s, a, id), GBX_OK);
    if (s) {
        CHECK_STR(gbx_status_uri(s), "http://h/barn/v1/animal/Wilbur");
        CHECK_STR(json_string_value(json_array_get(gbx_status_messages(s), 0)), "one");
        CHECK_STR(json_string_value(json_object_get(gbx_status_meta(s), "k")), "v");
    }

    /* A second handle on the same file (as another process would have). */
    CHECK_INT(gbx_store_open_sqlite(&b, db), GBX_OK);
    gbx_status *t = NULL;
    CHECK_INT(gbx_status_fetch(&t, b, id), GBX_OK);
    CHECK_INT(gbx_status_set_state(t, GBX_STATE_RUNNING), GBX_OK);
    CHECK_INT(gbx_status_add_message(t, "two"), GBX_OK);
    /* a's snapshot is stale until refreshed; its next write still sees b's. */
    CHECK_INT(gbx_status_state(s), GBX_STATE_PENDING);
    CHECK_INT(gbx_status_set_state(s, GBX_STATE_RUNNING), GBX_ERR_CONFLICT);
    CHECK_STR(gbx_error_last()->message, "state is currently RUNNING");
    CHECK_INT(gbx_status_add_message(s, "three"), GBX_OK);
    CHECK_INT(json_array_size(gbx_status_messages(s)), 3);
    CHECK_INT(gbx_status_state(s), GBX_STATE_RUNNING);
    CHECK_INT(gbx_status_refresh(t), GBX_OK);
    CHECK_STR(json_string_value(json_array_get(gbx_status_messages(t), 2)), "three");
    /* The status survives one handle being closed while the other works on. */
    gbx_status_free(t);
    gbx_store_free(b);
    CHECK_INT(gbx_status_success(s), GBX_OK);
    gbx_status_free(s);
    gbx_store_free(a);
}

/* ---- many writers on one status --------------------------------------- */

typedef struct hammer_arg {
    gbx_store *store;
    const char *id;
    int who;
    int errors;
} hammer_arg;

/* HAMMER rounds of message + progress + concurrency + meta on one status. */
static int hammer(gbx_store *store, const char *id, int who) {
    gbx_status *s = NULL;
    int errors = 0, highest = 0;
    if (gbx_status_fetch(&s, store, id) != GBX_OK) return 1;
    for (int i = 0; i < HAMMER; i++) {
        char msg[64], key[32];
        snprintf(msg, sizeof msg, "w%d-%d", who, i);
        snprintf(key, sizeof key, "w%d-%d", who, (i / 5) % 10);
        if (gbx_status_add_message(s, msg) != GBX_OK) errors++;
        if (gbx_status_set_progress(s, (i * 100) / HAMMER) != GBX_OK) errors++;
        if (gbx_status_add_concurrency(s, 1) != GBX_OK) errors++;
        if (i % 5 == 0) {
            json_t *value = json_integer(i);
            if (gbx_status_set_meta(s, key, value) != GBX_OK) errors++;
            json_decref(value);
        }
        /* Progress seen by this writer never goes back, whoever wrote it. */
        if (gbx_status_progress_value(s) < highest) {
            fprintf(stderr, "writer %d: progress went back from %d to %d\n", who, highest,
                    gbx_status_progress_value(s));
            errors++;
        }
        highest = gbx_status_progress_value(s);
    }
    if (errors) fprintf(stderr, "writer %d: last error %s\n", who, gbx_error_last()->message);
    gbx_status_free(s);
    return errors;
}

static void *hammer_thread(void *p) {
    hammer_arg *a = p;
    a->errors = hammer(a->store, a->id, a->who);
    return NULL;
}

/* Every writer's messages are all there, each writer's in its own order. */
static void check_hammered(gbx_store *store, const char *id, int writers) {
    gbx_status *s = NULL;
    CHECK_INT(gbx_status_fetch(&s, store, id), GBX_OK);
    if (!s) return;
    json_t *m = gbx_status_messages(s);
    CHECK_INT(json_array_size(m), writers * HAMMER);
    int next[16] = {0};
    bool in_order = true;
    size_t i;
    json_t *v;
    json_array_foreach(m, i, v) {
        int who, n;
        if (sscanf(json_string_value(v), "w%d-%d", &who, &n) != 2 || who < 0 || who >= writers ||
            n != next[who]) {
            in_order = false;
            break;
        }
        next[who]++;
    }
    CHECK(in_order);
    CHECK_INT(gbx_status_concurrency(s), writers * HAMMER);
    CHECK_INT(gbx_status_progress_value(s), ((HAMMER - 1) * 100) / HAMMER);
    CHECK_INT(json_object_size(gbx_status_meta(s)), writers * 10);
    gbx_status_free(s);
}

static void test_threads(void) {
    char db[128];
    path_in(db, sizeof db, "threads.db");
    gbx_store *a = NULL, *b = NULL;
    CHECK_INT(fixture_open_patient(&a, db), GBX_OK);
    CHECK_INT(fixture_open_patient(&b, db), GBX_OK);
    gbx_status *s = create_in(a, "u");
    if (!s) return;

    /* Four writers: two threads on one handle, two on another. */
    hammer_arg args[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (hammer_arg){.store = i < 2 ? a : b, .id = gbx_status_id(s), .who = i};
        pthread_create(&th[i], NULL, hammer_thread, &args[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(args[i].errors, 0);
    }
    check_hammered(a, gbx_status_id(s), 4);
    gbx_status_free(s);
    gbx_store_free(b);
    gbx_store_free(a);
}

/* Two real processes on one file, each with a store of its own (a store is
 * never carried across fork). */
static void test_processes(void) {
    char db[128];
    path_in(db, sizeof db, "procs.db");
    gbx_store *a = NULL;
    CHECK_INT(gbx_store_open_sqlite(&a, db), GBX_OK);
    gbx_status *s = create_in(a, "u");
    if (!s) return;
    char id[64];
    snprintf(id, sizeof id, "%s", gbx_status_id(s));
    gbx_status_free(s);
    gbx_store_free(a);

    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        gbx_store *mine = NULL;
        int errors = 1;
        if (fixture_open_patient(&mine, db) == GBX_OK) errors = hammer(mine, id, 1);
        gbx_store_free(mine);
        _exit(errors ? 1 : 0);
    }
    CHECK(pid > 0);
    CHECK_INT(fixture_open_patient(&a, db), GBX_OK);
    CHECK_INT(hammer(a, id, 0), 0);
    int wstatus = 0;
    CHECK_INT(waitpid(pid, &wstatus, 0), pid);
    CHECK(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
    check_hammered(a, id, 2);

    /* A store carried across fork refuses to work in the child. */
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        gbx_status *x = NULL;
        gbx_err rc = gbx_status_fetch(&x, a, id);
        bool said_so = strstr(gbx_error_last()->message, "fork") != NULL;
        _exit(rc == GBX_ERR_INTERNAL_SERVER_ERROR && said_so && !x ? 0 : 1);
    }
    CHECK_INT(waitpid(pid, &wstatus, 0), pid);
    CHECK(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
    gbx_store_free(a);
}

/* Racing transitions: exactly one of many wins. */
typedef struct race_arg {
    gbx_store *store;
    const char *id;
    gbx_err rc;
    char message[128];
} race_arg;

static pthread_barrier_t race_start;

static void *race_thread(void *p) {
    race_arg *a = p;
    gbx_status *s = NULL;
    a->rc = gbx_status_fetch(&s, a->store, a->id);
    pthread_barrier_wait(&race_start);
    if (!a->rc) a->rc = gbx_status_set_state(s, GBX_STATE_RUNNING);
    snprintf(a->message, sizeof a->message, "%s", gbx_error_last()->message);
    gbx_status_free(s);
    return NULL;
}

static void test_transition_race(void) {
    char db[128];
    path_in(db, sizeof db, "race.db");
    gbx_store *st = NULL;
    CHECK_INT(fixture_open_patient(&st, db), GBX_OK);
    for (int round = 0; round < 5; round++) {
        gbx_status *s = create_in(st, "u");
        if (!s) return;
        race_arg args[6];
        pthread_t th[6];
        pthread_barrier_init(&race_start, NULL, 6);
        for (int i = 0; i < 6; i++) {
            args[i] = (race_arg){.store = st, .id = gbx_status_id(s)};
            pthread_create(&th[i], NULL, race_thread, &args[i]);
        }
        int won = 0, lost = 0;
        for (int i = 0; i < 6; i++) {
            pthread_join(th[i], NULL);
            if (args[i].rc == GBX_OK) won++;
            if (args[i].rc == GBX_ERR_CONFLICT &&
                strcmp(args[i].message, "state is currently RUNNING") == 0)
                lost++;
        }
        pthread_barrier_destroy(&race_start);
        CHECK_INT(won, 1);
        CHECK_INT(lost, 5);
        gbx_status_free(s);
    }
    gbx_store_free(st);
}

/* Group commit: threads of one process writing at once share transactions;
 * a write that fails (a duplicate id, a duplicate ticket after its status
 * row was inserted) fails alone and leaves nothing behind, and every caller
 * gets its own row back. */
#define GROUP_THREADS 8
#define GROUP_ROUNDS 40

typedef struct group_arg {
    gbx_store *store;
    const char *shared; /* a status every thread appends to */
    int who, errors;
} group_arg;

static void *group_thread(void *p) {
    group_arg *a = p;
    for (int i = 0; i < GROUP_ROUNDS; i++) {
        char id[64], ticket[64], env[256];
        snprintf(id, sizeof id, "g%d-%d", a->who, i);
        snprintf(ticket, sizeof ticket, "t%d-%d", a->who, i);
        int kind = i % 4;
        if (kind == 0) snprintf(id, sizeof id, "%s", a->shared); /* exists */
        if (kind == 1) snprintf(ticket, sizeof ticket, "t-taken"); /* exists */
        snprintf(env, sizeof env, "{\"status\":\"%s\",\"ticket\":\"%s\"}", id, ticket);
        gbx_status_spec spec = {.id = id, .operation = "create", .uri = "u", .envelope = env};
        gbx_status *s = NULL;
        gbx_err rc = gbx__status_create_queued(&s, a->store, &spec, "do_it", ticket);
        if (kind <= 1) {
            if (rc != GBX_ERR_CONFLICT) a->errors++;
        } else if (rc != GBX_OK || strcmp(gbx_status_id(s), id) != 0) {
            a->errors++;
        }
        gbx_status_free(s);
        gbx_status *shared = NULL;
        char msg[32];
        snprintf(msg, sizeof msg, "w%d-%d", a->who, i);
        if (gbx_status_fetch(&shared, a->store, a->shared) != GBX_OK ||
            gbx_status_add_message(shared, msg) != GBX_OK)
            a->errors++;
        gbx_status_free(shared);
    }
    return NULL;
}

static void test_group_commit(void) {
    char db[128];
    path_in(db, sizeof db, "group.db");
    gbx_store *st = NULL;
    CHECK_INT(fixture_open_patient(&st, db), GBX_OK);
    gbx_status *shared = create_in(st, "shared");
    if (!shared) return;
    CHECK_INT(gbx__queue_put(st, "t-taken", NULL, "do_it", "{}", 0, false), GBX_OK);
    group_arg args[GROUP_THREADS];
    pthread_t th[GROUP_THREADS];
    for (int i = 0; i < GROUP_THREADS; i++) {
        args[i] = (group_arg){.store = st, .shared = gbx_status_id(shared), .who = i};
        pthread_create(&th[i], NULL, group_thread, &args[i]);
    }
    for (int i = 0; i < GROUP_THREADS; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(args[i].errors, 0);
    }
    int present = 0, absent = 0, queued = 0;
    for (int w = 0; w < GROUP_THREADS; w++)
        for (int i = 0; i < GROUP_ROUNDS; i++) {
            if (i % 4 == 0) continue;
            char id[64], ticket[64];
            snprintf(id, sizeof id, "g%d-%d", w, i);
            snprintf(ticket, sizeof ticket, "t%d-%d", w, i);
            gbx_status *s = NULL;
            gbx_err rc = gbx_status_fetch(&s, st, id);
            gbx_status_free(s);
            if (i % 4 == 1) {
                absent += rc == GBX_ERR_NOT_FOUND; /* rolled back with its queue row */
            } else {
                present += rc == GBX_OK;
                bool taken = false;
                queued += gbx__queue_take(&taken, st, ticket, 30, true) == GBX_OK && taken;
            }
        }
    CHECK_INT(absent, GROUP_THREADS * GROUP_ROUNDS / 4);
    CHECK_INT(present, GROUP_THREADS * GROUP_ROUNDS / 2);
    CHECK_INT(queued, GROUP_THREADS * GROUP_ROUNDS / 2);
    CHECK_INT(gbx_status_refresh(shared), GBX_OK);
    CHECK_INT(json_array_size(gbx_status_messages(shared)), GROUP_THREADS * GROUP_ROUNDS);
    gbx_status_free(shared);
    gbx_store_free(st);
}

/* Each thread gets its own connection, closed when the thread exits (so a
 * stream of short-lived threads does not pile up open files), and the rest
 * are closed when the store is freed. */
static gbx_store *lifecycle_store;
static int fds_in_thread;
static char lifecycle_prefix[128];

static void *lifecycle_thread(void *p) {
    (void)p;
    gbx_status *s = create_in(lifecycle_store, "u");
    /* Writes go through the store's one writer connection; a read opens
     * the thread's own. */
    CHECK_INT(gbx_status_refresh(s), GBX_OK);
    gbx_status_free(s);
    fds_in_thread = fds_on(lifecycle_prefix);
    return NULL;
}

static void test_connection_lifecycle(void) {
    path_in(lifecycle_prefix, sizeof lifecycle_prefix, "life.db");
    CHECK_INT(gbx_store_open_sqlite(&lifecycle_store, lifecycle_prefix), GBX_OK);
    int before = fds_on(lifecycle_prefix);
    CHECK(before > 0);
    int after_first = 0, most = 0;
    for (int i = 0; i < 12; i++) {
        pthread_t th;
        pthread_create(&th, NULL, lifecycle_thread, NULL);
        pthread_join(th, NULL);
        CHECK(fds_in_thread > before); /* the thread had a connection of its own */
        int now = fds_on(lifecycle_prefix);
        if (i == 0) after_first = now;
        if (now > most) most = now;
    }
    /* SQLite may keep one descriptor of a closed connection for reuse while
     * another connection holds locks on the file, but no more pile up. */
    CHECK(most <= after_first);
    CHECK(most <= before + 1);
    gbx_store_free(lifecycle_store);
    CHECK_INT(fds_on(lifecycle_prefix), 0);
}

/* A writer that waits longer than busy_timeout_ms gets SQLite's message. */
/* Commits the lock holder's transaction 300 ms later. */
static void *commit_later(void *raw) {
    struct timespec pause = {0, 300 * 1000 * 1000};
    nanosleep(&pause, NULL);
    sqlite3_exec(raw, "COMMIT", NULL, NULL, NULL);
    return NULL;
}

static void test_busy(void) {
    char db[128];
    path_in(db, sizeof db, "busy.db");
    json_t *sec = json_pack("{s:s, s:i}", "path", db, "busy_timeout_ms", 50);
    gbx_store *st = NULL;
    CHECK_INT(gbx_store_open(&st, sec, NULL), GBX_OK);
    json_decref(sec);
    gbx_status *s = create_in(st, "u");
    if (!s) return;

    sqlite3 *raw = NULL;
    CHECK_INT(sqlite3_open(db, &raw), SQLITE_OK);
    CHECK_INT(sqlite3_exec(raw, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    /* Locked past the busy timeout: unavailable (503), not broken (500). */
    CHECK_INT(gbx_status_add_message(s, "blocked"), GBX_ERR_SERVICE_UNAVAILABLE);
    CHECK(strstr(gbx_error_last()->message, "database is locked") != NULL);
    CHECK_INT(gbx_status_set_meta(s, "k", json_true()), GBX_ERR_SERVICE_UNAVAILABLE);
    /* Reading is not blocked by a writer (WAL). */
    gbx_status *r = NULL;
    CHECK_INT(gbx_status_fetch(&r, st, gbx_status_id(s)), GBX_OK);
    gbx_status_free(r);
    CHECK_INT(sqlite3_exec(raw, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    /* Nothing half-written, and the connection is usable again. */
    CHECK_INT(json_array_size(gbx_status_messages(s)), 0);
    CHECK_INT(gbx_status_add_message(s, "free"), GBX_OK);
    CHECK_INT(gbx_status_set_meta(s, "k", json_true()), GBX_OK);
    CHECK_INT(json_array_size(gbx_status_messages(s)), 1);

    /* With patience (a worker's), a write waits the lock out. */
    gbx_store_set_patience(st, 60);
    CHECK_INT(sqlite3_open(db, &raw), SQLITE_OK);
    CHECK_INT(sqlite3_exec(raw, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    pthread_t unlocker;
    CHECK_INT(pthread_create(&unlocker, NULL, commit_later, raw), 0);
    CHECK_INT(gbx_status_add_message(s, "waited"), GBX_OK);
    pthread_join(unlocker, NULL);
    sqlite3_close(raw);
    CHECK_INT(json_array_size(gbx_status_messages(s)), 2);
    gbx_status_free(s);
    gbx_store_free(st);
}

static void test_list_cap(void) {
    char db[128];
    path_in(db, sizeof db, "cap.db");
    gbx_store *st = NULL;
    CHECK_INT(gbx_store_open_sqlite(&st, db), GBX_OK);
    sqlite3 *raw = NULL;
    CHECK_INT(sqlite3_open(db, &raw), SQLITE_OK);
    gbx_status *first = create_in(st, "u");
    /* Bulk rows through SQL keep the test quick; the API sees them as any. */
    char sql[600];
    snprintf(sql, sizeof sql,
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)"
             " INSERT INTO gbx_status (id, uri, ctime, mtime) SELECT 's-bulk' || i, 'u', %f, %f"
             " FROM n",
             GBX_STATUS_LIST_MAX + 20, gbx_status_ctime(first) - 10, gbx_status_ctime(first) - 10);
    CHECK_INT(sqlite3_exec(raw, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    gbx_status_filter f;
    gbx_status_filter_init(&f);
    f.count = 5000;
    json_t *ids = NULL;
    CHECK_INT(gbx_status_list(&ids, st, &f), GBX_OK);
    CHECK_INT(json_array_size(ids), GBX_STATUS_LIST_MAX);
    CHECK_STR(json_string_value(json_array_get(ids, 0)), gbx_status_id(first));
    /* Equal ctimes: the later inserted first. */
    char last[32];
    snprintf(last, sizeof last, "s-bulk%d", GBX_STATUS_LIST_MAX + 20);
    CHECK_STR(json_string_value(json_array_get(ids, 1)), last);
    json_decref(ids);
    gbx_status_free(first);
    gbx_store_free(st);
}

/* A database written by the first release (schema version 1: statuses
 * only) is migrated when opened: its statuses keep their data and gain
 * empty events and private; the queue and counters work. */
static void test_migrate_v1(void) {
    char db[128];
    path_in(db, sizeof db, "v1.db");
    sqlite3 *raw = NULL;
    CHECK_INT(sqlite3_open(db, &raw), SQLITE_OK);
    const char *v1 =
        "PRAGMA journal_mode=WAL;"
        "CREATE TABLE gbx_schema_version (part TEXT PRIMARY KEY, version INTEGER NOT NULL);"
        "INSERT INTO gbx_schema_version VALUES ('status', 1);"
        "CREATE TABLE gbx_status ("
        " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        " id TEXT NOT NULL UNIQUE,"
        " operation TEXT, component TEXT, uri TEXT, status_uri TEXT, parent_uri TEXT,"
        " scope TEXT,"
        " state TEXT NOT NULL DEFAULT 'PENDING',"
        " progress INTEGER NOT NULL DEFAULT 0,"
        " code INTEGER,"
        " messages TEXT NOT NULL DEFAULT '[]',"
        " children TEXT NOT NULL DEFAULT '[]',"
        " meta TEXT NOT NULL DEFAULT '{}',"
        " failures INTEGER NOT NULL DEFAULT 0,"
        " concurrency INTEGER NOT NULL DEFAULT 0,"
        " ctime REAL NOT NULL, mtime REAL NOT NULL, ytime REAL NOT NULL DEFAULT 0,"
        " envelope TEXT);"
        "CREATE INDEX gbx_status_newest ON gbx_status (ctime DESC, seq DESC);"
        "INSERT INTO gbx_status (id, operation, component, uri, status_uri, state, progress,"
        " code, messages, meta, ctime, mtime, envelope) VALUES ('s-old', 'create', 'barn',"
        " 'http://h/barn/v1/animal/Wilbur', 'http://h/barn/v1/status/s-old', 'COMPLETED', 100,"
        " 0, '[\"done\"]', '{\"k\":1}', 1700000000.5, 1700000001.5, '{\"name\":\"x\"}');";
    char *err = NULL;
    CHECK_INT(sqlite3_exec(raw, v1, NULL, NULL, &err), SQLITE_OK);
    if (err) fprintf(stderr, "v1 schema: %s\n", err);
    sqlite3_free(err);

    gbx_store *st = NULL;
    CHECK_INT(gbx_store_open_sqlite(&st, db), GBX_OK);
    if (!st) {
        sqlite3_close(raw);
        return;
    }
    sqlite3_stmt *q = NULL;
    sqlite3_prepare_v2(raw, "SELECT version FROM gbx_schema_version WHERE part = 'status'", -1,
                       &q, NULL);
    CHECK_INT(sqlite3_step(q), SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(q, 0), 4);
    sqlite3_finalize(q);
    sqlite3_prepare_v2(raw, "SELECT events, private FROM gbx_status WHERE id = 's-old'", -1, &q,
                       NULL);
    CHECK_INT(sqlite3_step(q), SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(q, 0), "{}");
    CHECK_STR((const char *)sqlite3_column_text(q, 1), "{}");
    sqlite3_finalize(q);

    /* The old status reads as before. */
    gbx_status *s = NULL;
    CHECK_INT(gbx_status_fetch(&s, st, "s-old"), GBX_OK);
    if (s) {
        CHECK_STR(gbx_status_uri(s), "http://h/barn/v1/animal/Wilbur");
        CHECK_INT(gbx_status_state(s), GBX_STATE_COMPLETED);
        CHECK(gbx_status_is_success(s));
        CHECK(gbx_status_ctime(s) == 1700000000.5);
        CHECK_INT(json_object_size(gbx_status_events(s)), 0);
        CHECK_INT(json_integer_value(json_object_get(gbx_status_meta(s), "k")), 1);
        char *env = NULL;
        CHECK_INT(gbx_status_envelope(&env, s), GBX_OK);
        CHECK_STR(env, "{\"name\":\"x\"}");
        free(env);
        long long v = 0;
        CHECK_INT(gbx_status_counter_add(&v, s, "n", 2), GBX_OK);
        CHECK_INT(v, 2);
        CHECK_INT(gbx_status_set_state(s, GBX_STATE_CANCELLING), GBX_OK);
    }
    gbx_status_free(s);
    /* The new tables are there. */
    CHECK_INT(gbx__queue_put(st, "t-1", "s-old", "do_x", "{}", 1, false), GBX_OK);
    bool taken = false;
    CHECK_INT(gbx__queue_take(&taken, st, "t-1", 30, true), GBX_OK);
    CHECK(taken);
    gbx_store_free(st);

    /* Opening again migrates nothing and loses nothing. */
    CHECK_INT(gbx_store_open_sqlite(&st, db), GBX_OK);
    CHECK_INT(gbx_status_fetch(&s, st, "s-old"), GBX_OK);
    if (s) {
        long long v = 0;
        CHECK_INT(gbx_status_counter_add(&v, s, "n", 1), GBX_OK);
        CHECK_INT(v, 3);
        CHECK_INT(gbx_status_state(s), GBX_STATE_CANCELLING);
    }
    gbx_status_free(s);
    gbx_store_free(st);
    sqlite3_close(raw);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/gbx-test-store-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_config();
    test_reopen_and_two_handles();
    test_threads();
    test_processes();
    test_transition_race();
    test_group_commit();
    test_connection_lifecycle();
    test_busy();
    test_list_cap();
    test_migrate_v1();
    fixture_remove(dir);
    return check_done();
}
