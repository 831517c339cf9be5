/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit tests of what is MariaDB's own in the MariaDB status store
 * (store_mariadb.c), on a server this test starts (it restarts it, so it is
 * not shared): configuration and its errors, password_file, the schema
 * (version, a newer one refused, several processes creating it at once),
 * outages (server stopped, killed, a row lock held too long: 503, then
 * working again by itself), exact times and literal uri matching.  What
 * every backend promises is tested by the store suites run on both
 * (unit.<suite>.mariadb). */
#define _GNU_SOURCE /* nftw's FTW_DEPTH / FTW_PHYS */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "fixtures.h"
#include "mariadb.h"
#include "gearbox/status.h"
#include "gearbox/store.h"

static mariadb_server server;
static char dir[64];

static gbx_store *open_db(const char *database) {
    json_t *sec = mariadb_section(&server, database);
    gbx_store *st = NULL;
    if (gbx_store_open(&st, sec, NULL) != GBX_OK) {
        fprintf(stderr, "open %s failed: %s\n", database, gbx_error_last()->message);
        check_failed++;
    }
    json_decref(sec);
    return st;
}

/* The message of the last error contains `text`. */
static void check_message(const char *text) {
    if (!strstr(gbx_error_last()->message, text)) {
        fprintf(stderr, "message \"%s\" lacks \"%s\"\n", gbx_error_last()->message, text);
        check_failed++;
    }
}

static void test_config(void) {
    CHECK(mariadb_create_database(&server, "conf"));
    /* "mysql" names the same backend; the unix socket works as TCP does. */
    json_t *sec = mariadb_section(&server, "conf");
    json_object_set_new(sec, "type", json_string("mysql"));
    json_object_set_new(sec, "socket", json_string(server.socket));
    gbx_store *st = NULL;
    CHECK_INT(gbx_store_open(&st, sec, NULL), GBX_OK);
    CHECK_STR(gbx_store_backend(st), "mariadb");
    gbx_status *s = fixture_create(st, "u");
    gbx_status_free(s);
    gbx_store_free(st);
    json_decref(sec);

    /* password_file: its first line, line end stripped; relative to base_dir. */
    char pw_path[128];
    snprintf(pw_path, sizeof pw_path, "%s/db-password", dir);
    FILE *f = fopen(pw_path, "w");
    fprintf(f, "%s\r\n", server.password);
    fclose(f);
    sec = mariadb_section(&server, "conf");
    json_object_del(sec, "password");
    json_object_set_new(sec, "password_file", json_string("db-password"));
    CHECK_INT(gbx_store_open(&st, sec, dir), GBX_OK);
    gbx_store_free(st);
    /* A wrong password is the server's refusal, not an outage. */
    f = fopen(pw_path, "w");
    fprintf(f, "wrong\n");
    fclose(f);
    CHECK_INT(gbx_store_open(&st, sec, dir), GBX_ERR_INTERNAL_SERVER_ERROR);
    check_message("Access denied");
    CHECK(st == NULL);
    json_decref(sec);

    /* Nothing listens: unavailable, not an internal error. */
    sec = mariadb_section(&server, "conf");
    json_object_set_new(sec, "port", json_integer(1));
    CHECK_INT(gbx_store_open(&st, sec, NULL), GBX_ERR_SERVICE_UNAVAILABLE);
    check_message("cannot connect");
    json_decref(sec);
    /* A database that does not exist is named. */
    sec = mariadb_section(&server, "no_such_db");
    CHECK_INT(gbx_store_open(&st, sec, NULL), GBX_ERR_INTERNAL_SERVER_ERROR);
    check_message("no_such_db");
    json_decref(sec);

    /* Bad members, each named. */
    struct {
        const char *key, *json;
        const char *text;
    } bad[] = {
        {"password", "null", "cannot read \"password_file\" /nonexistent/pw"},
        {"port", "\"33o6\"", "\"port\" must be an integer"},
        {"port", "0", "\"port\" must be an integer from 1 to 65535"},
        {"port", "70000", "\"port\" must be an integer"},
        {"host", "\"\"", "\"host\" must not be empty"},
        {"host", "[1]", "\"host\" must be a string"},
        {"user", "7", "\"user\" must be a string"},
        {"database", "\"\"", "\"database\" must not be empty"},
        {"password", "false", "\"password\" must be a string"},
        {"password_file", "\"pw\"", "give \"password\" or \"password_file\", not both"},
        {"socket", "\"\"", "\"socket\" must not be empty"},
        {"connect_timeout", "0", "\"connect_timeout\" must be at least 1"},
        {"lock_wait_timeout", "-1", "\"lock_wait_timeout\" must be an integer"},
        {"io_timeout", "1.5", "\"io_timeout\" must be an integer"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sec = mariadb_section(&server, "conf");
        json_object_set_new(sec, bad[i].key, json_loads(bad[i].json, JSON_DECODE_ANY, NULL));
        if (i == 0) json_object_set_new(sec, "password_file", json_string("/nonexistent/pw"));
        st = (gbx_store *)1;
        CHECK_INT(gbx_store_open(&st, sec, dir), GBX_ERR_BAD_REQUEST);
        check_message(bad[i].text);
        CHECK(st == NULL);
        json_decref(sec);
    }
}

/* The schema records its version; a newer one is refused; processes that
 * open a new database at once all get a working store. */
static void test_schema(void) {
    CHECK(mariadb_create_database(&server, "schema"));
    enum { PROCS = 4 };
    pid_t pids[PROCS];
    fflush(NULL);
    for (int i = 0; i < PROCS; i++) {
        if ((pids[i] = fork()) == 0) {
            gbx_store *mine = open_db("schema");
            gbx_status *s = mine ? fixture_create(mine, "u") : NULL;
            bool ok = s != NULL;
            gbx_status_free(s);
            gbx_store_free(mine);
            _exit(ok ? 0 : 1);
        }
    }
    for (int i = 0; i < PROCS; i++) {
        int ws = 0;
        CHECK_INT(waitpid(pids[i], &ws, 0), pids[i]);
        CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    }
    gbx_store *st = open_db("schema");
    json_t *ids = NULL;
    gbx_status_filter f;
    gbx_status_filter_init(&f);
    CHECK_INT(gbx_status_list(&ids, st, &f), GBX_OK);
    CHECK_INT(json_array_size(ids), PROCS);
    json_decref(ids);
    gbx_store_free(st);

    CHECK(mariadb_root_sql(&server, "UPDATE schema.gbx_schema_version SET version = 99"));
    st = (gbx_store *)1;
    json_t *sec = mariadb_section(&server, "schema");
    CHECK_INT(gbx_store_open(&st, sec, NULL), GBX_ERR_INTERNAL_SERVER_ERROR);
    check_message("schema version 99");
    CHECK(st == NULL);
    json_decref(sec);
}

/* Times keep every bit; a uri part is matched literally, ASCII case
 * insensitive only. */
static void test_values(void) {
    CHECK(mariadb_create_database(&server, "vals"));
    gbx_store *st = open_db("vals");
    if (!st) return;
    gbx_status *a = fixture_create(st, "http://h/barn/v1/animal/100%_Pig");
    gbx_status *b = fixture_create(st, "http://h/barn/v1/animal/100xyPig");
    gbx_status *c = fixture_create(st, "http://h/barn/v1/animal/\xc3\x89mile");
    if (!a || !b || !c) return;
    CHECK_INT(gbx_status_set_ytime(a, 1764870000.123456), GBX_OK);
    gbx_status *again = NULL;
    CHECK_INT(gbx_status_fetch(&again, st, gbx_status_id(a)), GBX_OK);
    if (again) {
        CHECK(gbx_status_ctime(again) == gbx_status_ctime(a));
        CHECK(gbx_status_mtime(again) == gbx_status_mtime(a));
        CHECK(gbx_status_ytime(again) == 1764870000.123456);
    }
    gbx_status_free(again);
    struct {
        const char *part;
        size_t n;
    } cases[] = {{"100%_pig", 1}, {"100%", 1}, {"_", 1}, {"100", 2}, {"PIG", 2},
                 {"\xc3\x89mile", 1}, {"\xc3\xa9mile", 0}, {"ANIMAL/", 3}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gbx_status_filter f;
        gbx_status_filter_init(&f);
        f.uri = cases[i].part;
        json_t *ids = NULL;
        CHECK_INT(gbx_status_list(&ids, st, &f), GBX_OK);
        if (json_array_size(ids) != cases[i].n) {
            fprintf(stderr, "uri part \"%s\": %zu ids, expected %zu\n", cases[i].part,
                    json_array_size(ids), cases[i].n);
            check_failed++;
        }
        json_decref(ids);
    }
    gbx_status_free(a);
    gbx_status_free(b);
    gbx_status_free(c);
    gbx_store_free(st);
}

/* A thread that works on the store while the server goes away. */
typedef struct worker_arg {
    gbx_store *store;
    const char *id;
    int ok;
} worker_arg;

static void *add_one(void *p) {
    worker_arg *a = p;
    gbx_status *s = NULL;
    if (gbx_status_fetch(&s, a->store, a->id) == GBX_OK && gbx_status_add_message(s, "t") == GBX_OK)
        a->ok++;
    else
        fprintf(stderr, "worker thread: %s\n", gbx_error_last()->message);
    gbx_status_free(s);
    return NULL;
}

/* Tries `op` until it succeeds (bounded); every failure must be 503. */
static bool recovers(gbx_status *s) {
    for (int i = 0; i < 600; i++) {
        gbx_err rc = gbx_status_add_message(s, "after");
        if (rc == GBX_OK) return true;
        if (rc != GBX_ERR_SERVICE_UNAVAILABLE) {
            fprintf(stderr, "during recovery: %d %s\n", rc, gbx_error_last()->message);
            return false;
        }
        mariadb_pause_ms(50);
    }
    return false;
}

static void test_outage(void) {
    CHECK(mariadb_create_database(&server, "outage"));
    json_t *sec = mariadb_section(&server, "outage");
    json_object_set_new(sec, "connect_timeout", json_integer(2));
    json_object_set_new(sec, "lock_wait_timeout", json_integer(1));
    gbx_store *st = NULL;
    CHECK_INT(gbx_store_open(&st, sec, NULL), GBX_OK);
    json_decref(sec);
    if (!st) return;
    gbx_status *s = fixture_create(st, "u");
    if (!s) return;
    /* Other threads, with connections of their own. */
    char id[64];
    snprintf(id, sizeof id, "%s", gbx_status_id(s));
    worker_arg arg = {st, id, 0};
    pthread_t th;
    pthread_create(&th, NULL, add_one, &arg);
    pthread_join(th, NULL);
    CHECK_INT(arg.ok, 1);

    for (int round = 0; round < 2; round++) {
        /* Stopped (round 0) or crashed (round 1): every call is 503. */
        CHECK(round == 0 ? mariadb_stop(&server) : mariadb_kill(&server));
        CHECK_INT(gbx_status_add_message(s, "lost"), GBX_ERR_SERVICE_UNAVAILABLE);
        check_message("unavailable");
        gbx_status *t = NULL;
        CHECK_INT(gbx_status_fetch(&t, st, gbx_status_id(s)), GBX_ERR_SERVICE_UNAVAILABLE);
        gbx_status_filter f;
        gbx_status_filter_init(&f);
        json_t *ids = NULL;
        CHECK_INT(gbx_status_list(&ids, st, &f), GBX_ERR_SERVICE_UNAVAILABLE);
        CHECK(ids == NULL);
        /* Back: the same handle works again by itself. */
        CHECK(mariadb_start(&server));
        CHECK(recovers(s));
        pthread_create(&th, NULL, add_one, &arg);
        pthread_join(th, NULL);
        CHECK_INT(arg.ok, round + 2);
    }
    CHECK_INT(gbx_status_refresh(s), GBX_OK);
    CHECK_INT(json_array_size(gbx_status_messages(s)), 1 + 2 + 2);

    /* A row locked longer than lock_wait_timeout: 503 (after one retry),
     * nothing written; then it works again. */
    MYSQL *raw = mysql_init(NULL);
    CHECK(mysql_real_connect(raw, "localhost", "root", NULL, "outage", 0, server.socket, 0) !=
          NULL);
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT id FROM gbx_status WHERE id = '%s' FOR UPDATE",
             gbx_status_id(s));
    CHECK_INT(mysql_query(raw, "START TRANSACTION"), 0);
    CHECK_INT(mysql_query(raw, sql), 0);
    mysql_free_result(mysql_store_result(raw));
    CHECK_INT(gbx_status_set_state(s, GBX_STATE_RUNNING), GBX_ERR_SERVICE_UNAVAILABLE);
    check_message("Lock wait timeout");
    CHECK_INT(mysql_query(raw, "ROLLBACK"), 0);
    mysql_close(raw);
    CHECK_INT(gbx_status_state(s), GBX_STATE_PENDING);
    CHECK_INT(gbx_status_set_state(s, GBX_STATE_RUNNING), GBX_OK);
    gbx_status_free(s);
    gbx_store_free(st);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/gbx-test-mdb-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    if (!mariadb_start_new(&server)) return 1;
    test_config();
    test_schema();
    test_values();
    test_outage();
    mariadb_discard(&server);
    mysql_library_end();
    fixture_remove(dir);
    return check_done();
}
