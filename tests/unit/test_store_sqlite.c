/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit tests of what is SQLite's own in the status store (core/src/store.c,
 * store_sqlite.c): configuration, files and schema, connection life cycle,
 * the busy timeout and database errors, group commit (concurrent writes of
 * one process, one failing alone), and the migration of a schema
 * version 1 database.  What every backend promises is in test_store.c. */
#define _GNU_SOURCE /* nftw's FTW_DEPTH / FTW_PHYS */
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "fixtures.h"
#include "gearbox/status.h"
#include "gearbox/store.h"
#include "store/queue_internal.h"
#include "store/status_internal.h"

static char dir[64];

static void path_in(char *buf, size_t len, const char *name) {
    snprintf(buf, len, "%s/%s", dir, name);
}

static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
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
    CHECK_INT(sqlite3_column_int(q, 0), 7);
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
    gbx_status *s = fixture_create(st, "u");
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
        {"{\"type\": \"oracle\", \"path\": \"x\"}", GBX_ERR_BAD_REQUEST,
         "unknown type \"oracle\" (expected \"sqlite\", \"mariadb\" or \"mysql\")"},
        {"{\"type\": 7}", GBX_ERR_BAD_REQUEST, "\"type\" must be a string"},
        {"{\"type\": \"sqlite\"}", GBX_ERR_BAD_REQUEST, "\"path\" is required"},
        {"{\"path\": \"\"}", GBX_ERR_BAD_REQUEST, "\"path\" is required"},
        {"{\"path\": \"x.db\", \"busy_timeout_ms\": \"5 s\"}", GBX_ERR_BAD_REQUEST,
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
    gbx_status *shared = fixture_create(st, "shared");
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
    gbx_status *s = fixture_create(lifecycle_store, "u");
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
    gbx_status *s = fixture_create(st, "u");
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
    CHECK_INT(sqlite3_column_int(q, 0), 7);
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
    test_group_commit();
    test_connection_lifecycle();
    test_busy();
    test_migrate_v1();
    fixture_remove(dir);
    return check_done();
}
