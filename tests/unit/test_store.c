/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit tests of the status store behind gearbox/store.h, run on each backend
 * (unit.store on SQLite, unit.store.mariadb on MariaDB; tests/unit/fixtures.h):
 * reopening, several handles and processes on one database, many threads on
 * one status without lost updates, racing transitions with one winner, the
 * worker's claim and finish (ENTER, COMPLETE_LEAVE), a
 * store refused across fork, the cap and order of collections, and which
 * of many statuses changed since a time (gbx_status_changed, and the
 * store's version that says whether to ask).  What is
 * a backend's own is in test_store_sqlite.c and test_store_mariadb.c. */
#define _GNU_SOURCE /* nftw's FTW_DEPTH / FTW_PHYS */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "fixtures.h"
#include "gearbox/status.h"
#include "gearbox/store.h"
#include "store/backend.h" /* gbx__now */
#include "store/status_internal.h"

#define HAMMER 100 /* rounds of updates per thread / process */
#define STORES 10  /* stores the tests make */

static char dirs[STORES][64];
static int ndirs;

/* A new, empty store (patient or not, as fixture_store); `path` receives
 * what opens it again.  NULL and a test failure if it cannot be made. */
static gbx_store *new_store(char *path, size_t len, bool patient) {
    if (ndirs == STORES) return NULL;
    char *dir = dirs[ndirs++];
    snprintf(dir, sizeof dirs[0], "/tmp/gbx-test-store-XXXXXX");
    gbx_store *st = fixture_store(dir, path, len, patient);
    if (!st) check_failed++;
    return st;
}

/* Opens the store at `path` again, with the default lock wait. */
static gbx_err open_path(gbx_store **out, const char *path) {
    json_t *sec = fixture_section(path, false);
    gbx_err rc = gbx_store_open(out, sec, NULL);
    json_decref(sec);
    return rc;
}

static void test_reopen_and_two_handles(void) {
    char db[128];
    gbx_store *a = new_store(db, sizeof db, false), *b = NULL;
    gbx_status *s = a ? fixture_create(a, "http://h/barn/v1/animal/Wilbur") : NULL;
    if (!s) return;
    char id[64];
    snprintf(id, sizeof id, "%s", gbx_status_id(s));
    CHECK_INT(gbx_status_add_message(s, "one"), GBX_OK);
    CHECK_INT(gbx_status_set_meta_new(s, "k", json_string("v")), GBX_OK);
    gbx_status_free(s);
    gbx_store_free(a);

    /* Reopen after free: everything is still there. */
    CHECK_INT(open_path(&a, db), GBX_OK);
    CHECK_INT(gbx_status_fetch(&s, a, id), GBX_OK);
    if (s) {
        CHECK_STR(gbx_status_uri(s), "http://h/barn/v1/animal/Wilbur");
        CHECK_STR(json_string_value(json_array_get(gbx_status_messages(s), 0)), "one");
        CHECK_STR(json_string_value(json_object_get(gbx_status_meta(s), "k")), "v");
    }

    /* A second handle on the same database (as another process would have). */
    CHECK_INT(open_path(&b, db), GBX_OK);
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
    gbx_store *a = new_store(db, sizeof db, true), *b = NULL;
    CHECK_INT(fixture_open_patient(&b, db), GBX_OK);
    gbx_status *s = a && b ? fixture_create(a, "u") : NULL;
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

/* Two real processes on one database, each with a store of its own (a store
 * is never carried across fork). */
static void test_processes(void) {
    char db[128];
    gbx_store *a = new_store(db, sizeof db, false);
    gbx_status *s = a ? fixture_create(a, "u") : NULL;
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
    gbx_store *st = new_store(db, sizeof db, true);
    for (int round = 0; st && round < 5; round++) {
        gbx_status *s = fixture_create(st, "u");
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

/* The worker's two writes (GBX__CHANGE_ENTER, GBX__CHANGE_COMPLETE_LEAVE):
 * state and concurrency change together or not at all, and of 6 workers
 * entering one PENDING status at once exactly one gets it. */
static pthread_barrier_t enter_start;

typedef struct enter_arg {
    gbx_store *store;
    const char *id;
    gbx_err rc;
} enter_arg;

static void *enter_thread(void *p) {
    enter_arg *a = p;
    gbx_status *s = NULL;
    pthread_barrier_wait(&enter_start);
    a->rc = gbx__status_enter(&s, a->store, a->id, GBX_STATE_PENDING, GBX_STATE_RUNNING);
    gbx_status_free(s);
    return NULL;
}

static void test_enter_and_leave(void) {
    char db[128];
    gbx_store *st = new_store(db, sizeof db, true);
    gbx_status *made = st ? fixture_create(st, "u") : NULL;
    if (!made) return;
    const char *id = gbx_status_id(made);
    enter_arg args[6];
    pthread_t th[6];
    pthread_barrier_init(&enter_start, NULL, 6);
    for (int i = 0; i < 6; i++) {
        args[i] = (enter_arg){.store = st, .id = id};
        pthread_create(&th[i], NULL, enter_thread, &args[i]);
    }
    int won = 0, lost = 0;
    for (int i = 0; i < 6; i++) {
        pthread_join(th[i], NULL);
        won += args[i].rc == GBX_OK;
        lost += args[i].rc == GBX_ERR_CONFLICT;
    }
    pthread_barrier_destroy(&enter_start);
    CHECK_INT(won, 1);
    CHECK_INT(lost, 5);
    /* A continuation joins the running status. */
    gbx_status *s = NULL;
    CHECK_INT(gbx__status_enter(&s, st, id, GBX_STATE_RUNNING, GBX_STATE_RUNNING), GBX_OK);
    if (!s) return;
    CHECK_INT(gbx_status_state(s), GBX_STATE_RUNNING);
    CHECK_INT(gbx_status_concurrency(s), 2);
    CHECK_INT(gbx__status_complete_leave(s, 0, NULL), GBX_OK);
    CHECK_INT(gbx_status_state(s), GBX_STATE_COMPLETED);
    CHECK_INT(gbx_status_code(s), 0);
    CHECK_INT(gbx_status_concurrency(s), 1);
    /* Once completed, neither changes anything. */
    CHECK_INT(gbx__status_complete_leave(s, 500, "late"), GBX_ERR_CONFLICT);
    gbx_status *again = NULL;
    CHECK_INT(gbx__status_enter(&again, st, id, GBX_STATE_RUNNING, GBX_STATE_RUNNING),
              GBX_ERR_CONFLICT);
    CHECK(again == NULL);
    CHECK_INT(gbx_status_refresh(s), GBX_OK);
    CHECK_INT(gbx_status_concurrency(s), 1);
    CHECK_INT(gbx_status_code(s), 0);
    CHECK_INT((int)json_array_size(gbx_status_messages(s)), 0);
    gbx_status_free(s);
    gbx_status_free(made);
    gbx_store_free(st);
}

/* At most GBX_STATUS_LIST_MAX ids, newest first; equal ctimes go by
 * creation, the later first. */
static void test_list_cap(void) {
    char db[128];
    gbx_store *st = new_store(db, sizeof db, false);
    gbx_status *first = st ? fixture_create(st, "u") : NULL;
    if (!first) return;
    char last[64] = "";
    for (int i = 0; i < GBX_STATUS_LIST_MAX + 20; i++) {
        gbx_status *s = fixture_create(st, "u");
        if (!s) return;
        snprintf(last, sizeof last, "%s", gbx_status_id(s));
        gbx_status_free(s);
    }
    fixture_raw raw;
    char sql[200];
    snprintf(sql, sizeof sql, "UPDATE gbx_status SET ctime = %.6f WHERE id <> '%s'",
             gbx_status_ctime(first) - 10, gbx_status_id(first));
    CHECK(fixture_raw_open(&raw, db) && fixture_raw_exec(&raw, sql));
    fixture_raw_close(&raw);
    gbx_status_filter f;
    gbx_status_filter_init(&f);
    f.count = 5000;
    json_t *ids = NULL;
    CHECK_INT(gbx_status_list(&ids, st, &f), GBX_OK);
    CHECK_INT(json_array_size(ids), GBX_STATUS_LIST_MAX);
    CHECK_STR(json_string_value(json_array_get(ids, 0)), gbx_status_id(first));
    CHECK_STR(json_string_value(json_array_get(ids, 1)), last);
    json_decref(ids);
    gbx_status_free(first);
    gbx_store_free(st);
}

/* Completion callbacks: one per status, claimable once the status is final
 * and the row is due, by one caller per lease. */
static void test_callbacks(void) {
    char db[128];
    gbx_store *st = new_store(db, sizeof db, false);
    gbx_status *s = st ? fixture_create(st, "u") : NULL;
    if (!s) return;
    gbx_store *other = NULL;
    CHECK_INT(open_path(&other, db), GBX_OK);
    char id[64]; /* a copy: the snapshot's string changes with it */
    snprintf(id, sizeof id, "%s", gbx_status_id(s));
    gbx_store_callback *rows = NULL;
    size_t n = 9;
    CHECK_INT(gbx_store_callback_put(st, id, "https://h/x", "/barn"), GBX_OK);
    CHECK_INT(gbx_store_callback_put(st, id, "https://h/y", "/barn"), GBX_ERR_CONFLICT);
    CHECK_INT(gbx_store_callback_claim(&rows, &n, st, 60, 10), GBX_OK);
    CHECK_INT((int)n, 0); /* PENDING: not owed yet */
    CHECK_INT(gbx_status_success(s), GBX_OK);
    CHECK_INT(gbx_store_callback_claim(&rows, &n, st, 60, 10), GBX_OK);
    CHECK_INT((int)n, 1);
    if (n == 1) {
        CHECK_STR(rows[0].status_id, id);
        CHECK_STR(rows[0].url, "https://h/x");
        CHECK_STR(rows[0].location, "/barn");
        CHECK_INT(rows[0].attempts, 0);
    }
    gbx_store_callbacks_free(rows, n);
    /* Claimed: nobody else gets it while the lease runs. */
    CHECK_INT(gbx_store_callback_claim(&rows, &n, other, 60, 10), GBX_OK);
    CHECK_INT((int)n, 0);
    gbx_store_callbacks_free(rows, n);
    /* Retried later: not due yet; then due. */
    CHECK_INT(gbx_store_callback_retry(st, id, gbx__now() + 100, 1, 5.5), GBX_OK);
    CHECK_INT(gbx_store_callback_claim(&rows, &n, other, 60, 10), GBX_OK);
    CHECK_INT((int)n, 0);
    CHECK_INT(gbx_store_callback_retry(st, id, 0, 2, 5.5), GBX_OK);
    CHECK_INT(gbx_store_callback_claim(&rows, &n, other, 0.05, 10), GBX_OK);
    CHECK_INT((int)n, 1);
    if (n == 1) {
        CHECK_INT(rows[0].attempts, 2);
        CHECK(rows[0].first_try == 5.5);
    }
    gbx_store_callbacks_free(rows, n);
    /* A claim whose lease ran out (its gateway died) goes to the next caller. */
    n = 0;
    for (int i = 0; i < 400 && n == 0; i++) {
        usleep(10000);
        CHECK_INT(gbx_store_callback_claim(&rows, &n, st, 60, 10), GBX_OK);
        if (n == 0) gbx_store_callbacks_free(rows, n);
    }
    CHECK_INT((int)n, 1);
    gbx_store_callbacks_free(rows, n);
    CHECK_INT(gbx_store_callback_done(st, id), GBX_OK);
    CHECK_INT(gbx_store_callback_retry(st, id, 0, 3, 5.5), GBX_OK); /* gone: nothing to change */
    CHECK_INT(gbx_store_callback_claim(&rows, &n, st, 60, 10), GBX_OK);
    CHECK_INT((int)n, 0);
    CHECK_INT(gbx_store_callback_put(st, "", "https://h/x", "/barn"), GBX_ERR_BAD_REQUEST);
    gbx_store_free(other);
    gbx_status_free(s);
    gbx_store_free(st);
}

/* gbx_status_changed: the ids changed after `since` by any handle, with
 * their mtime; unchanged and unknown ids are absent. */
static void test_changed(void) {
    char db[128];
    gbx_store *st = new_store(db, sizeof db, false);
    gbx_status *a = st ? fixture_create(st, "u") : NULL;
    gbx_status *b = a ? fixture_create(st, "u") : NULL;
    if (!b) {
        gbx_status_free(a);
        gbx_store_free(st);
        return;
    }
    gbx_store *other = NULL;
    CHECK_INT(open_path(&other, db), GBX_OK);
    const char *ids[] = {gbx_status_id(a), gbx_status_id(b), "s-nosuchstatus", gbx_status_id(a)};
    double since = gbx_status_mtime(a) > gbx_status_mtime(b) ? gbx_status_mtime(a)
                                                              : gbx_status_mtime(b);
    json_t *out = NULL;
    CHECK_INT(gbx_status_changed(&out, st, ids, 4, since), GBX_OK);
    CHECK_INT((int)json_object_size(out), 0);
    json_decref(out);
    /* b changes through another handle (as a worker's process would); the
     * store's version tells (SQLite), or says it cannot (0, MariaDB). */
    uint64_t v1 = 0, v2 = 0, v3 = 0;
    CHECK_INT(gbx_status_store_version(&v1, st), GBX_OK);
    gbx_status *b2 = NULL;
    CHECK_INT(gbx_status_fetch(&b2, other, gbx_status_id(b)), GBX_OK);
    CHECK_INT(gbx_status_add_message(b2, "moved"), GBX_OK);
    CHECK_INT(gbx_status_store_version(&v2, st), GBX_OK);
    CHECK_INT(gbx_status_store_version(&v3, st), GBX_OK);
    if (fixture_on_mariadb()) {
        CHECK(v1 == 0 && v2 == 0 && v3 == 0);
    } else {
        CHECK(v1 != 0 && v2 != v1);
        CHECK(v3 == v2); /* nothing written since */
    }
    CHECK_INT(gbx_status_changed(&out, st, ids, 4, since), GBX_OK);
    CHECK_INT((int)json_object_size(out), 1);
    json_t *m = json_object_get(out, gbx_status_id(b));
    CHECK(m && json_real_value(m) == gbx_status_mtime(b2));
    json_decref(out);
    /* Since before both: both, once each. */
    CHECK_INT(gbx_status_changed(&out, st, ids, 4, 0), GBX_OK);
    CHECK_INT((int)json_object_size(out), 2);
    CHECK(json_real_value(json_object_get(out, gbx_status_id(a))) == gbx_status_mtime(a));
    json_decref(out);
    /* Many ids in one read. */
    enum { MANY = 600 };
    static char names[MANY][32];
    const char *many[MANY];
    for (int i = 0; i < MANY; i++) {
        snprintf(names[i], sizeof names[i], "s-missing%d", i);
        many[i] = names[i];
    }
    many[MANY - 1] = gbx_status_id(b);
    CHECK_INT(gbx_status_changed(&out, st, many, MANY, since), GBX_OK);
    CHECK_INT((int)json_object_size(out), 1);
    json_decref(out);
    CHECK_INT(gbx_status_changed(&out, st, ids, 0, 0), GBX_OK);
    CHECK_INT((int)json_object_size(out), 0);
    json_decref(out);
    CHECK_INT(gbx_status_changed(&out, st, NULL, 1, 0), GBX_ERR_BAD_REQUEST);
    gbx_status_free(b2);
    gbx_status_free(a);
    gbx_status_free(b);
    gbx_store_free(other);
    gbx_store_free(st);
}

int main(void) {
    test_changed();
    test_callbacks();
    test_reopen_and_two_handles();
    test_threads();
    test_processes();
    test_transition_race();
    test_enter_and_leave();
    test_list_cap();
    for (int i = 0; i < ndirs; i++) fixture_remove(dirs[i]);
    return check_done();
}
