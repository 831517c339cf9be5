/* fixtures.h - a temporary directory with a SQLite status store in it, for
 * the C unit tests that work on a real store.
 *
 * Needs _GNU_SOURCE, defined before any include (nftw's FTW_DEPTH and
 * FTW_PHYS). */
#ifndef GBX_TEST_FIXTURES_H
#define GBX_TEST_FIXTURES_H

#ifndef _GNU_SOURCE
#error "fixtures.h needs _GNU_SOURCE defined before any include (nftw)"
#endif

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "gearbox/error.h"
#include "gearbox/status.h"
#include "gearbox/store.h"

/* Opens `path` with a lock wait long enough for a slow machine (valgrind,
 * a loaded CI box): the contention tests check correctness, not speed. */
static inline gbx_err fixture_open_patient(gbx_store **out, const char *path) {
    json_t *sec = json_pack("{s:s, s:i}", "path", path, "busy_timeout_ms", 120000);
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
 * opens the store <dir>/status.db in it (that path in `db_path`), patient
 * (above) or with the default lock wait.  NULL, with a message on stderr,
 * when either fails. */
static inline gbx_store *fixture_store(char *dir, char *db_path, size_t db_len, bool patient) {
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return NULL;
    }
    snprintf(db_path, db_len, "%s/status.db", dir);
    gbx_store *store = NULL;
    gbx_err rc = patient ? fixture_open_patient(&store, db_path) : gbx_store_open_sqlite(&store, db_path);
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
