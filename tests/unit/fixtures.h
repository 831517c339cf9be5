/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* fixtures.h - a temporary directory with a status store in it, for the C
 * unit tests that work on a real store: a SQLite file in the directory, or,
 * with GBX_TEST_STORE=mariadb (ctest runs the store tests both ways), a
 * database of its own on the test program's MariaDB server (mariadb.h).
 * Either way the store's "path" is a string fixture_open_other() opens again:
 * the file, or "mariadb:<database>".
 *
 * Needs _GNU_SOURCE, defined before any include (nftw's FTW_DEPTH and
 * FTW_PHYS). */
#ifndef GBX_TEST_FIXTURES_H
#define GBX_TEST_FIXTURES_H

#ifndef _GNU_SOURCE
#error "fixtures.h needs _GNU_SOURCE defined before any include (nftw)"
#endif

#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "mariadb.h"
#include "gearbox/error.h"
#include "gearbox/status.h"
#include "gearbox/store.h"

#define FIXTURE_MARIADB "mariadb:"

/* Whether the store fixtures use MariaDB (GBX_TEST_STORE=mariadb). */
static inline bool fixture_on_mariadb(void) {
    const char *backend = getenv("GBX_TEST_STORE");
    return backend && strcmp(backend, "mariadb") == 0;
}

/* The section that opens `path` (a SQLite file or "mariadb:<database>"),
 * with a lock wait long enough for a slow machine when `patient` (valgrind,
 * a loaded CI box: the contention tests check correctness, not speed). */
static inline json_t *fixture_section(const char *path, bool patient) {
    if (strncmp(path, FIXTURE_MARIADB, strlen(FIXTURE_MARIADB)) == 0) {
        mariadb_server *m = mariadb_shared();
        json_t *sec = m ? mariadb_section(m, path + strlen(FIXTURE_MARIADB)) : NULL;
        if (sec && patient) json_object_set_new(sec, "lock_wait_timeout", json_integer(120));
        return sec;
    }
    return patient ? json_pack("{s:s, s:i}", "path", path, "busy_timeout_ms", 120000)
                   : json_pack("{s:s}", "path", path);
}

/* Opens `path` patiently (above). */
static inline gbx_err fixture_open_patient(gbx_store **out, const char *path) {
    json_t *sec = fixture_section(path, true);
    gbx_err rc = gbx_store_open(out, sec, NULL);
    json_decref(sec);
    return rc;
}

/* A second handle on a file the test has open already: a connection (and
 * process-local write lock) of its own, so races between the two are
 * decided by SQLite alone.  NULL and a test failure if it cannot open. */
static inline gbx_store *fixture_open_other(const char *path) {
    gbx_store *s = NULL;
    if (fixture_open_patient(&s, path) != GBX_OK) {
        fprintf(stderr, "open failed: %s\n", gbx_error_last()->message);
        check_failed++;
    }
    return s;
}

/* Makes the directory `dir` (a mkdtemp template, filled in in place) and
 * opens a new store: <dir>/status.db, or on MariaDB the new database
 * gbx_<the directory's random part>; `db_path` receives its path (see
 * above).  Patient (above) or with the default lock wait.  NULL, with a
 * message on stderr, when any of it fails. */
static inline gbx_store *fixture_store(char *dir, char *db_path, size_t db_len, bool patient) {
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return NULL;
    }
    snprintf(db_path, db_len, "%s/status.db", dir);
    if (fixture_on_mariadb()) {
        mariadb_server *m = mariadb_shared();
        const char *tail = strrchr(dir, '-');
        char name[64];
        snprintf(name, sizeof name, "gbx_%d_%s", (int)getpid(), tail ? tail + 1 : "test");
        if (!m || !mariadb_create_database(m, name)) return NULL;
        snprintf(db_path, db_len, FIXTURE_MARIADB "%s", name);
    }
    json_t *sec = fixture_section(db_path, patient);
    gbx_store *store = NULL;
    gbx_err rc = gbx_store_open(&store, sec, NULL);
    json_decref(sec);
    if (rc != GBX_OK) fprintf(stderr, "open failed: %s\n", gbx_error_last()->message);
    return store;
}

/* A status made from `spec` in `store`; NULL and a test failure if not. */
static inline gbx_status *fixture_status(gbx_store *store, const gbx_status_spec *spec) {
    gbx_status *s = NULL;
    if (gbx_status_create(&s, store, spec) != GBX_OK) {
        fprintf(stderr, "create failed: %s\n", gbx_error_last()->message);
        check_failed++;
    }
    return s;
}

/* A connection of the test's own to a fixture store's database, for looking
 * behind the API (portable SQL only: it runs on SQLite and MariaDB). */
typedef struct fixture_raw {
    sqlite3 *lite;
    MYSQL *my;
} fixture_raw;

/* Opens the database of `path` (a fixture store's path); false with a
 * message if it cannot. */
static inline bool fixture_raw_open(fixture_raw *r, const char *path) {
    memset(r, 0, sizeof *r);
    if (strncmp(path, FIXTURE_MARIADB, strlen(FIXTURE_MARIADB)) != 0) {
        if (sqlite3_open(path, &r->lite) == SQLITE_OK) {
            sqlite3_busy_timeout(r->lite, 120000);
            return true;
        }
        fprintf(stderr, "raw open %s: %s\n", path, sqlite3_errmsg(r->lite));
        return false;
    }
    mariadb_server *m = mariadb_shared();
    r->my = mysql_init(NULL);
    if (m && r->my &&
        mysql_real_connect(r->my, "localhost", "root", NULL, path + strlen(FIXTURE_MARIADB), 0,
                           m->socket, CLIENT_FOUND_ROWS))
        return true;
    fprintf(stderr, "raw open %s: %s\n", path, r->my ? mysql_error(r->my) : "no server");
    return false;
}

static inline void fixture_raw_close(fixture_raw *r) {
    if (r->lite) sqlite3_close(r->lite);
    if (r->my) mysql_close(r->my);
    memset(r, 0, sizeof *r);
}

/* Runs SQL; false (with a message and a test failure) if it fails. */
static inline bool fixture_raw_exec(fixture_raw *r, const char *sql) {
    char *err = NULL;
    bool ok = r->lite ? sqlite3_exec(r->lite, sql, NULL, NULL, &err) == SQLITE_OK
                      : r->my && mysql_query(r->my, sql) == 0;
    if (!ok) {
        fprintf(stderr, "raw SQL failed: %s: %s\n", sql,
                r->lite ? (err ? err : "?") : r->my ? mysql_error(r->my) : "not open");
        check_failed++;
    }
    sqlite3_free(err);
    return ok;
}

/* The first column of the first row of a query as a double (`missing` when
 * there is no row or it is NULL). */
static inline double fixture_raw_number(fixture_raw *r, const char *sql, double missing) {
    double v = missing;
    if (r->lite) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(r->lite, sql, -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
            v = sqlite3_column_double(st, 0);
        sqlite3_finalize(st);
    } else if (r->my && mysql_query(r->my, sql) == 0) {
        MYSQL_RES *res = mysql_store_result(r->my);
        MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
        if (row && row[0]) v = strtod(row[0], NULL);
        mysql_free_result(res);
    }
    return v;
}

/* A barn "create" status for `uri` in `store`; NULL and a test failure if
 * not. */
static inline gbx_status *fixture_create(gbx_store *store, const char *uri) {
    gbx_status_spec spec = {.operation = "create", .component = "barn", .uri = uri,
                            .status_base = "http://h/barn/v1/status"};
    return fixture_status(store, &spec);
}

static inline int fixture_remove_entry(const char *path, const struct stat *sb, int flag,
                                       struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* Removes the directory `dir` and all in it. */
static inline void fixture_remove(const char *dir) {
    nftw(dir, fixture_remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

#endif
