/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* store_mariadb.c - the MariaDB / MySQL status store backend (libmariadb,
 * MariaDB Connector/C; MariaDB 10.6+ and MySQL 8).
 *
 * One connection per thread (opened on first use, closed when the thread
 * exits or the store is freed), READ COMMITTED, text protocol with escaped
 * literals.  Every change to a status is a read-modify-write of its row in a
 * short transaction that holds the row's lock (SELECT ... FOR UPDATE, then
 * gbx__change_apply() in C, then one UPDATE of the columns that changed), so
 * the row handed back is exactly the row after this change.  Counters are
 * INSERT ... ON DUPLICATE KEY UPDATE, queue claims SELECT ... FOR UPDATE SKIP
 * LOCKED (several schedulers share the due rows rather than wait for each
 * other) followed by an UPDATE in the same transaction, idempotency keys an
 * upsert that replaces only an expired key.  Statements of one step go to
 * the server as one multi-statement batch where they can (an update is two
 * round trips, an insert with its queue row one).
 *
 * Failures: a deadlock or a lock wait timeout rolls back and runs the whole
 * operation again a few times; a server that cannot be reached, a lost
 * connection, a full disk or a read-only server is
 * GBX_ERR_SERVICE_UNAVAILABLE, and the lost connection is reopened by the
 * next call (an idle connection is pinged first, so a server restarted in
 * between costs no failed call).  Strings the store compares (ids, tickets,
 * names, uris) are binary columns: exact, byte-wise, the same on MariaDB and
 * MySQL; JSON and envelopes are utf8mb4 text.
 */
#include <errno.h>
#include <errmsg.h>
#include <limits.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/backend.h"

/* Schema migrations, applied in order (each statement safe to run again: a
 * process may die between two); the database records how many it has seen
 * in gbx_schema_version.  Later issues append entries, never edit old ones. */
static const char *const migration_1[] = {
    "CREATE TABLE IF NOT EXISTS gbx_status ("
    " seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " id VARBINARY(255) NOT NULL,"
    " operation MEDIUMBLOB, component MEDIUMBLOB, uri MEDIUMBLOB,"
    " uri_fold MEDIUMBLOB," /* uri in ASCII lower case, for list() */
    " status_uri MEDIUMBLOB, parent_uri MEDIUMBLOB, scope MEDIUMBLOB,"
    " state VARCHAR(16) CHARACTER SET ascii NOT NULL,"
    " progress INT NOT NULL, code INT NULL,"
    " messages LONGTEXT NOT NULL, children LONGTEXT NOT NULL, meta LONGTEXT NOT NULL,"
    " events LONGTEXT NOT NULL, priv LONGTEXT NOT NULL,"
    " failures INT NOT NULL, concurrency INT NOT NULL,"
    " ctime DOUBLE NOT NULL, mtime DOUBLE NOT NULL, ytime DOUBLE NOT NULL,"
    " envelope LONGTEXT NULL,"
    " UNIQUE KEY gbx_status_id (id),"
    " KEY gbx_status_newest (ctime, seq),"
    " KEY gbx_status_finished (state, mtime)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
    /* A row is waiting (lease 0, submitted 0), submitted (lease 0) or taken
     * by a worker until `lease` (backend.h). */
    "CREATE TABLE IF NOT EXISTS gbx_queue ("
    " ticket VARBINARY(255) NOT NULL PRIMARY KEY,"
    " status_id VARBINARY(255) NULL,"
    " name VARBINARY(512) NOT NULL,"
    " envelope LONGTEXT NOT NULL,"
    " due DOUBLE NOT NULL,"
    " submitted DOUBLE NOT NULL DEFAULT 0,"
    " lease DOUBLE NOT NULL DEFAULT 0,"
    " retryable TINYINT NOT NULL DEFAULT 1,"
    " KEY gbx_queue_due (due),"
    " KEY gbx_queue_status (status_id)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
    "CREATE TABLE IF NOT EXISTS gbx_counter ("
    " status_id VARBINARY(255) NOT NULL,"
    " name VARBINARY(512) NOT NULL,"
    " value BIGINT NOT NULL,"
    " PRIMARY KEY (status_id, name)"
    ") ENGINE=InnoDB",
    NULL,
};
static const char *const migration_2[] = {
    /* Idempotency keys (the Idempotency-Key request header), scoped by
     * the caller: the status of the first request that carried the key. */
    "CREATE TABLE IF NOT EXISTS gbx_idempotency ("
    " idem_key VARBINARY(3072) NOT NULL PRIMARY KEY,"
    " digest VARBINARY(255) NOT NULL,"
    " status_id VARBINARY(255) NOT NULL,"
    " created DOUBLE NOT NULL,"
    " KEY gbx_idempotency_created (created)"
    ") ENGINE=InnoDB",
    NULL,
};
static const char *const migration_3[] = {
    /* Metrics: one row per worker process, the figures it published (its
     * scoreboards and job counts, JSON) and when. */
    "CREATE TABLE IF NOT EXISTS gbx_worker_figures ("
    " worker VARBINARY(255) NOT NULL PRIMARY KEY,"
    " component MEDIUMBLOB NOT NULL,"
    " figures LONGTEXT NOT NULL,"
    " updated DOUBLE NOT NULL,"
    " KEY gbx_worker_figures_updated (updated)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
    NULL,
};
static const char *const migration_4[] = {
    /* The principal that owns a status (the gateway's verified client;
     * NULL on open locations), listed per scope and owner. */
    "ALTER TABLE gbx_status ADD COLUMN IF NOT EXISTS owner VARBINARY(255) NULL",
    "CREATE INDEX IF NOT EXISTS gbx_status_owner ON gbx_status (owner, ctime, seq)",
    NULL,
};
static const char *const migration_5[] = {
    /* Completion callbacks owed (the gateway's Gearbox-Callback header):
     * sent once the status is final; `lease` is the claim of the gateway
     * sending it. */
    "CREATE TABLE IF NOT EXISTS gbx_callback ("
    " status_id VARBINARY(255) NOT NULL PRIMARY KEY,"
    " url MEDIUMBLOB NOT NULL,"
    " location MEDIUMBLOB NOT NULL,"
    " due DOUBLE NOT NULL DEFAULT 0,"
    " lease DOUBLE NOT NULL DEFAULT 0,"
    " attempts INT NOT NULL DEFAULT 0,"
    " first_try DOUBLE NOT NULL DEFAULT 0"
    ") ENGINE=InnoDB",
    NULL,
};
static const char *const *const migrations[] = {migration_1, migration_2, migration_3, migration_4,
                                                 migration_5};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

#define ROW_COLUMNS                                                                     \
    "seq, id, operation, component, uri, status_uri, parent_uri, scope, state, progress," \
    " code, messages, children, meta, failures, concurrency, ctime, mtime, ytime, events," \
    " priv, owner"
#define QUEUE_COLUMNS "ticket, status_id, name, envelope, due, lease, retryable"

#define DEFAULT_PORT 3306
#define DEFAULT_CONNECT_TIMEOUT 5   /* seconds to reach the server */
#define DEFAULT_IO_TIMEOUT 30       /* seconds a read or write may take */
#define DEFAULT_LOCK_WAIT_TIMEOUT 5 /* seconds a statement waits for a row lock */
#define PING_AFTER_IDLE 1.0         /* seconds of idleness after which a connection is pinged */
#define DEADLOCK_ATTEMPTS 8         /* runs of an operation that meets deadlocks */
#define LOCK_WAIT_ATTEMPTS 2        /* runs of an operation whose lock wait times out */

struct mariadb_store;

/* One thread's connection; db NULL once it was lost (reopened on next use). */
typedef struct conn {
    gbx__conn_link link; /* first: a gbx__conn_link* is a conn* */
    MYSQL *db;
    struct mariadb_store *owner;
    unsigned last_errno; /* error number of the last failed statement, 0 if none */
    bool in_tx;          /* a transaction is open */
    double used;         /* monotonic seconds of the last statement */
} conn;

typedef struct mariadb_store {
    gbx_store base; /* first: a gbx_store* is a mariadb_store* */
    char *host, *socket, *user, *password, *database;
    char *where; /* "user@host:port/database" for messages */
    unsigned port;
    int connect_timeout, io_timeout, lock_wait_timeout;
    gbx__conn_set conns;   /* one connection per thread */
    bool conns_ready;      /* conns was set up (close() undoes it) */
} mariadb_store;

static const gbx__store_ops mariadb_ops;

/* ---- errors ------------------------------------------------------------ */

static gbx_err out_of_memory(void) {
    return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "status store: out of memory");
}

/* Errors after which the connection cannot be used again. */
static bool connection_lost(unsigned e) {
    switch (e) {
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_SERVER_LOST_EXTENDED:
    case CR_SERVER_HANDSHAKE_ERR:
    case CR_COMMANDS_OUT_OF_SYNC:
    case ER_SERVER_SHUTDOWN:
    case ER_CONNECTION_KILLED:
    case 4031: /* MySQL 8: disconnected by the server because of inactivity */
        return true;
    default: return false;
    }
}

/* Errors that say "try again later": the database is down, full, read-only
 * or too busy. */
static bool unavailable(unsigned e) {
    switch (e) {
    case ER_CON_COUNT_ERROR:
    case ER_TOO_MANY_USER_CONNECTIONS:
    case ER_DISK_FULL:
    case ER_RECORD_FILE_FULL:
    case ER_OUT_OF_RESOURCES:
    case ER_OUTOFMEMORY:
    case ER_OPTION_PREVENTS_STATEMENT: /* --read-only */
    case ER_LOCK_DEADLOCK:
    case ER_LOCK_WAIT_TIMEOUT:
    case ER_QUERY_INTERRUPTED:
        return true;
    default: return connection_lost(e);
    }
}

static void conn_drop(conn *c) {
    if (c->db) mysql_close(c->db);
    c->db = NULL;
    c->in_tx = false;
}

/* The error of the last statement on `c` as a gbx_err: SERVICE_UNAVAILABLE
 * for outages (a lost connection is dropped, to be reopened by the next
 * call), CONFLICT for a duplicate key (the caller words the message), else
 * INTERNAL_SERVER_ERROR with the server's message.  Messages may reach
 * clients (a 503's body): they do not name the server or the user. */
static gbx_err db_error(conn *c, const char *what) {
    unsigned e = c->db ? mysql_errno(c->db) : CR_SERVER_GONE_ERROR;
    char message[512];
    snprintf(message, sizeof message, "%s", c->db ? mysql_error(c->db) : "not connected");
    c->last_errno = e;
    if (connection_lost(e)) conn_drop(c);
    if (e == ER_DUP_ENTRY || e == ER_DUP_ENTRY_WITH_KEY_NAME)
        return gbx_error_set(GBX_ERR_CONFLICT, "status store: %s: %s", what, message);
    if (unavailable(e))
        return gbx_error_set(GBX_ERR_SERVICE_UNAVAILABLE, "status store unavailable: %s: %s",
                             what, message);
    return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "status store: %s: %s", what, message);
}

/* ---- SQL text ---------------------------------------------------------- */

/* A statement being built; `oom` makes every later append a no-op. */
typedef struct sqlbuf {
    char *p;
    size_t len, cap;
    bool oom;
    MYSQL *db; /* for escaping */
} sqlbuf;

static bool sql_reserve(sqlbuf *b, size_t more) {
    if (b->oom) return false;
    if (b->len + more + 1 <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

static void sql_add(sqlbuf *b, const char *text) {
    size_t n = strlen(text);
    if (!sql_reserve(b, n)) return;
    memcpy(b->p + b->len, text, n + 1);
    b->len += n;
}

/* 'text' escaped, or NULL. */
static void sql_str(sqlbuf *b, const char *text) {
    if (!text) {
        sql_add(b, "NULL");
        return;
    }
    size_t n = strlen(text);
    if (!sql_reserve(b, 2 * n + 2)) return;
    b->p[b->len++] = '\'';
    b->len += mysql_real_escape_string(b->db, b->p + b->len, text, (unsigned long)n);
    b->p[b->len++] = '\'';
    b->p[b->len] = '\0';
}

static void sql_fmt_num(sqlbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sql_fmt_num(sqlbuf *b, const char *fmt, ...) {
    char num[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(num, sizeof num, fmt, ap);
    va_end(ap);
    sql_add(b, num);
}

/* Doubles with 17 significant digits: the stored value is the one given. */
static void sql_double(sqlbuf *b, double v) { sql_fmt_num(b, "%.17g", v); }
static void sql_int(sqlbuf *b, long long v) { sql_fmt_num(b, "%lld", v); }

/* A JSON value as compact text ('...'). */
static void sql_json(sqlbuf *b, const json_t *v) {
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) : NULL;
    if (!text) {
        b->oom = true;
        return;
    }
    sql_str(b, text);
    free(text);
}

static void sql_free(sqlbuf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ---- statements -------------------------------------------------------- */

static double monotonic_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs one statement without result rows; *affected (may be NULL) = rows
 * it matched (CLIENT_FOUND_ROWS). */
static gbx_err exec_n(conn *c, const char *sql, size_t len, unsigned long long *affected,
                      const char *what) {
    if (!c->db) return db_error(c, what);
    c->used = monotonic_seconds();
    if (mysql_real_query(c->db, sql, (unsigned long)len) != 0) return db_error(c, what);
    if (affected) *affected = mysql_affected_rows(c->db);
    return GBX_OK;
}

static gbx_err exec_sql(conn *c, const char *sql, const char *what) {
    return exec_n(c, sql, strlen(sql), NULL, what);
}

/* Runs a built statement (out of memory while building is reported here). */
static gbx_err exec_buf(conn *c, const sqlbuf *b, unsigned long long *affected,
                        const char *what) {
    if (b->oom) return out_of_memory();
    return exec_n(c, b->p, b->len, affected, what);
}

/* Runs a built query; *res: its whole result (mysql_free_result). */
static gbx_err query_buf(conn *c, const sqlbuf *b, MYSQL_RES **res, const char *what) {
    *res = NULL;
    gbx_err rc = exec_buf(c, b, NULL, what);
    if (rc) return rc;
    *res = mysql_store_result(c->db);
    if (!*res) return mysql_errno(c->db) ? db_error(c, what) : out_of_memory();
    return GBX_OK;
}

/* Runs a batch of statements separated by ";" in one round trip (the
 * server stops at the first that fails); *res (may be NULL) receives the
 * first result set, *insert_id (may be NULL) the id of the first INSERT
 * that made one. */
static gbx_err exec_batch(conn *c, const sqlbuf *b, MYSQL_RES **res, uint64_t *insert_id,
                          const char *what) {
    if (res) *res = NULL;
    if (insert_id) *insert_id = 0;
    gbx_err rc = exec_buf(c, b, NULL, what);
    while (!rc) {
        MYSQL_RES *r = mysql_store_result(c->db);
        if (r && res && !*res) *res = r;
        else if (r) mysql_free_result(r);
        else if (mysql_field_count(c->db) != 0) rc = db_error(c, what);
        if (insert_id && !*insert_id) *insert_id = mysql_insert_id(c->db);
        if (rc) break;
        int next = mysql_next_result(c->db);
        if (next < 0) break;
        if (next > 0) rc = db_error(c, what);
    }
    if (rc && res && *res) {
        mysql_free_result(*res);
        *res = NULL;
    }
    return rc;
}

static gbx_err begin(conn *c) {
    gbx_err rc = exec_sql(c, "START TRANSACTION", "starting a transaction");
    if (!rc) c->in_tx = true;
    return rc;
}

static gbx_err commit(conn *c, const char *what) {
    c->in_tx = false;
    return exec_sql(c, "COMMIT", what);
}

/* Ends an open transaction without its changes (errors ignored: a lost
 * connection has rolled back by itself). */
static void rollback(conn *c) {
    if (!c->in_tx) return;
    c->in_tx = false;
    if (c->db && mysql_query(c->db, "ROLLBACK") != 0 && connection_lost(mysql_errno(c->db)))
        conn_drop(c);
}

static sqlbuf sql_for(conn *c) {
    return (sqlbuf){.db = c->db};
}

/* Ends the SELECT in `b` with " LIMIT max FOR UPDATE SKIP LOCKED", runs it
 * in a new transaction (rows another process holds are skipped, not waited
 * for: they are its own) and frees `b`. */
static gbx_err select_skip_locked(conn *c, sqlbuf *b, size_t max, MYSQL_RES **res,
                                  const char *what) {
    sql_add(b, " LIMIT ");
    sql_fmt_num(b, "%zu", max > (size_t)INT32_MAX ? (size_t)INT32_MAX : max);
    sql_add(b, " FOR UPDATE SKIP LOCKED");
    gbx_err rc = begin(c);
    if (!rc) rc = query_buf(c, b, res, what);
    sql_free(b);
    return rc;
}

/* ---- connections ------------------------------------------------------- */

static pthread_once_t library_once = PTHREAD_ONCE_INIT;
static bool library_ready;

static void library_init(void) {
    library_ready = mysql_library_init(0, NULL, NULL) == 0;
}

static void conn_free(conn *c) {
    conn_drop(c);
    free(c);
}

static void conn_free_link(gbx__conn_link *link) { conn_free((conn *)link); }

/* Opens c->db with the store's settings. */
static gbx_err conn_connect(conn *c) {
    mariadb_store *s = c->owner;
    conn_drop(c);
    MYSQL *db = mysql_init(NULL);
    if (!db) return out_of_memory();
    unsigned connect_timeout = (unsigned)s->connect_timeout, io_timeout = (unsigned)s->io_timeout;
    char session[200];
    snprintf(session, sizeof session,
             "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION',"
             " SESSION innodb_lock_wait_timeout = %d",
             s->lock_wait_timeout);
    mysql_options(db, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
    mysql_options(db, MYSQL_OPT_READ_TIMEOUT, &io_timeout);
    mysql_options(db, MYSQL_OPT_WRITE_TIMEOUT, &io_timeout);
    mysql_options(db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_options(db, MYSQL_INIT_COMMAND, session);
    mysql_options(db, MYSQL_INIT_COMMAND,
                  "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
    const char *host = s->socket ? "localhost" : s->host;
    if (!mysql_real_connect(db, host, s->user, s->password, s->database, s->port, s->socket,
                            CLIENT_FOUND_ROWS | CLIENT_MULTI_STATEMENTS)) {
        unsigned e = mysql_errno(db);
        gbx_err code = unavailable(e) || e == 0 ? GBX_ERR_SERVICE_UNAVAILABLE
                                                : GBX_ERR_INTERNAL_SERVER_ERROR;
        gbx_err rc = gbx_error_set(code, "status store%s: cannot connect: %s",
                                   code == GBX_ERR_SERVICE_UNAVAILABLE ? " unavailable" : "",
                                   mysql_error(db));
        c->last_errno = e;
        mysql_close(db);
        return rc;
    }
    c->db = db;
    c->used = monotonic_seconds();
    return GBX_OK;
}

/* The calling thread's connection, opened on first use and after it was
 * lost; one idle for a while is pinged first (a restarted server). */
static gbx_err conn_get(gbx_store *store, conn **out) {
    mariadb_store *s = (mariadb_store *)store;
    gbx__conn_link *link = NULL;
    gbx_err rc = gbx__conn_set_mine(&link, &s->conns, s->where);
    if (rc) return rc;
    conn *c = (conn *)link;
    if (!c) {
        if (!(c = calloc(1, sizeof *c))) return out_of_memory();
        mysql_thread_init();
        c->owner = s;
        gbx__conn_set_add(&s->conns, &c->link);
    }
    *out = c;
    c->last_errno = 0;
    if (c->db && monotonic_seconds() - c->used > PING_AFTER_IDLE) {
        if (mysql_ping(c->db) == 0) c->used = monotonic_seconds();
        else conn_drop(c);
    }
    return c->db ? GBX_OK : conn_connect(c);
}

/* One operation's body: runs on a connection, may open a transaction
 * (committed by the body on success, rolled back by run_op otherwise). */
typedef gbx_err (*op_body)(conn *c, void *arg);

static void pause_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Runs `body` on the calling thread's connection: again after a deadlock or
 * lock wait timeout (a few times, with a short pause), and once more on a
 * fresh connection when a read-only body lost its connection (nothing can
 * have been written). */
static gbx_err run_op(gbx_store *store, op_body body, void *arg, bool read_only) {
    conn *c = NULL;
    gbx_err rc = conn_get(store, &c);
    if (rc) return rc;
    int deadlocks = 0, lock_waits = 0, reconnects = 0;
    for (;;) {
        c->last_errno = 0;
        rc = body(c, arg);
        rollback(c);
        if (!rc) return GBX_OK;
        unsigned e = c->last_errno;
        if (e == ER_LOCK_DEADLOCK && ++deadlocks < DEADLOCK_ATTEMPTS) {
            pause_ms(1L << (deadlocks < 5 ? deadlocks : 5));
            continue;
        }
        if (e == ER_LOCK_WAIT_TIMEOUT && ++lock_waits < LOCK_WAIT_ATTEMPTS) continue;
        if (read_only && connection_lost(e) && ++reconnects < 2 && !conn_connect(c)) continue;
        return rc;
    }
}

/* ---- rows -------------------------------------------------------------- */

/* A malloc'ed copy of a field (NULL stays NULL); false when out of memory. */
static bool dup_field(char **out, const char *v, unsigned long n) {
    *out = NULL;
    if (!v) return true;
    if (!(*out = malloc(n + 1))) return false;
    memcpy(*out, v, n);
    (*out)[n] = '\0';
    return true;
}

static double field_double(const char *v) { return v ? strtod(v, NULL) : 0; }
static int field_int(const char *v) { return v ? (int)strtol(v, NULL, 10) : 0; }

/* A row of ROW_COLUMNS; on failure nothing is left in *row. */
static gbx_err read_row(MYSQL_RES *res, MYSQL_ROW r, gbx__status_row *row) {
    memset(row, 0, sizeof *row);
    unsigned long *n = mysql_fetch_lengths(res);
    bool ok = dup_field(&row->id, r[1], n[1]) && dup_field(&row->operation, r[2], n[2]) &&
              dup_field(&row->component, r[3], n[3]) && dup_field(&row->uri, r[4], n[4]) &&
              dup_field(&row->status_uri, r[5], n[5]) &&
              dup_field(&row->parent_uri, r[6], n[6]) && dup_field(&row->scope, r[7], n[7]) &&
              dup_field(&row->owner, r[21], n[21]);
    if (!ok) {
        gbx__status_row_clear(row);
        return out_of_memory();
    }
    int state = r[8] ? gbx_state_from_name(r[8]) : -1;
    if (state < 0) {
        gbx_err rc = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                                   "status store: status \"%s\" has unknown state \"%s\"",
                                   row->id ? row->id : "", r[8] ? r[8] : "");
        gbx__status_row_clear(row);
        return rc;
    }
    row->seq = r[0] ? strtoll(r[0], NULL, 10) : 0;
    row->state = (gbx_state)state;
    row->progress = field_int(r[9]);
    row->code = r[10] ? field_int(r[10]) : -1;
    row->failures = field_int(r[14]);
    row->concurrency = field_int(r[15]);
    row->ctime = field_double(r[16]);
    row->mtime = field_double(r[17]);
    row->ytime = field_double(r[18]);
    gbx_err rc = gbx__store_parse_json(&row->messages, r[11], n[11], false, "messages");
    if (!rc) rc = gbx__store_parse_json(&row->children, r[12], n[12], false, "children");
    if (!rc) rc = gbx__store_parse_json(&row->meta, r[13], n[13], true, "meta");
    if (!rc) rc = gbx__store_parse_json(&row->events, r[19], n[19], true, "events");
    if (!rc) rc = gbx__store_parse_json(&row->priv, r[20], n[20], true, "priv");
    if (rc) gbx__status_row_clear(row);
    return rc;
}

/* Reads the one status `id`; *found says whether it exists.  `lock`: in a
 * new transaction that holds the row's lock until it ends. */
static gbx_err select_row(conn *c, const char *id, bool lock, gbx__status_row *out,
                          bool *found) {
    *found = false;
    sqlbuf b = sql_for(c);
    if (lock) sql_add(&b, "START TRANSACTION; ");
    sql_add(&b, "SELECT " ROW_COLUMNS " FROM gbx_status WHERE id = ");
    sql_str(&b, id);
    if (lock) sql_add(&b, " FOR UPDATE");
    MYSQL_RES *res = NULL;
    c->in_tx = lock;
    gbx_err rc = exec_batch(c, &b, &res, NULL, "reading a status");
    sql_free(&b);
    if (!rc && !res) rc = out_of_memory();
    if (rc) return rc;
    MYSQL_ROW r = mysql_fetch_row(res);
    if (r && !(rc = read_row(res, r, out))) *found = true;
    mysql_free_result(res);
    return rc;
}

/* The ASCII-lower-case copy of `s` that list() matches against. */
static char *ascii_fold(const char *s) {
    char *f = strdup(s ? s : "");
    if (f)
        for (char *p = f; *p; p++)
            if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    return f;
}

static char *dup_or_null(const char *s, bool *ok) {
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *ok = false;
    return d;
}

static json_t *copy_or_empty(const json_t *v, bool object, bool *ok) {
    json_t *c = v ? json_deep_copy(v) : object ? json_object() : json_array();
    if (!c) *ok = false;
    return c;
}

/* The row insert() stored: `row` with its seq, events and priv {}. */
static gbx_err stored_copy(gbx__status_row *out, const gbx__status_row *row, int64_t seq) {
    bool ok = true;
    *out = *row;
    out->seq = seq;
    out->id = dup_or_null(row->id, &ok);
    out->operation = dup_or_null(row->operation, &ok);
    out->component = dup_or_null(row->component, &ok);
    out->uri = dup_or_null(row->uri, &ok);
    out->status_uri = dup_or_null(row->status_uri, &ok);
    out->parent_uri = dup_or_null(row->parent_uri, &ok);
    out->scope = dup_or_null(row->scope, &ok);
    out->owner = dup_or_null(row->owner, &ok);
    out->messages = copy_or_empty(row->messages, false, &ok);
    out->children = copy_or_empty(row->children, false, &ok);
    out->meta = copy_or_empty(row->meta, true, &ok);
    out->events = json_object();
    out->priv = json_object();
    if (ok && out->events && out->priv) return GBX_OK;
    gbx__status_row_clear(out);
    return out_of_memory();
}

/* ---- statuses ---------------------------------------------------------- */

typedef struct insert_arg {
    const gbx__status_row *row;
    const char *envelope;
    const gbx__queued *queued;
    gbx__status_row *out;
} insert_arg;

static void sql_queue_values(sqlbuf *b, const gbx__queued *q) {
    sql_add(b, "INSERT INTO gbx_queue (ticket, status_id, name, envelope, due, submitted)"
               " VALUES (");
    sql_str(b, q->ticket);
    sql_add(b, ", ");
    sql_str(b, q->status_id);
    sql_add(b, ", ");
    sql_str(b, q->name);
    sql_add(b, ", ");
    sql_str(b, q->envelope);
    sql_add(b, ", ");
    sql_double(b, q->due);
    sql_add(b, ", ");
    sql_double(b, q->submitted);
    sql_add(b, ")");
}

static gbx_err ticket_exists(const char *ticket) {
    return gbx_error_set(GBX_ERR_CONFLICT, "job queue: ticket \"%s\" already exists", ticket);
}

static gbx_err insert_body(conn *c, void *p) {
    insert_arg *a = p;
    const gbx__status_row *row = a->row;
    char *fold = ascii_fold(row->uri);
    if (!fold) return out_of_memory();
    sqlbuf b = sql_for(c);
    if (a->queued) sql_add(&b, "START TRANSACTION; ");
    sql_add(&b, "INSERT INTO gbx_status (id, operation, component, uri, uri_fold, status_uri,"
                " parent_uri, scope, state, progress, code, messages, children, meta, events,"
                " priv, failures, concurrency, ctime, mtime, ytime, envelope, owner) VALUES (");
    const char *strings[] = {row->id, row->operation, row->component, row->uri,
                             row->uri ? fold : NULL, row->status_uri, row->parent_uri,
                             row->scope, gbx_state_name(row->state)};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        sql_str(&b, strings[i]);
        sql_add(&b, ", ");
    }
    sql_int(&b, row->progress);
    sql_add(&b, ", ");
    if (row->code >= 0) sql_int(&b, row->code);
    else sql_add(&b, "NULL");
    json_t *empty_array = json_array(), *empty_object = json_object();
    const json_t *json[] = {row->messages ? row->messages : empty_array,
                            row->children ? row->children : empty_array,
                            row->meta ? row->meta : empty_object, empty_object, empty_object};
    for (size_t i = 0; i < sizeof json / sizeof json[0]; i++) {
        sql_add(&b, ", ");
        sql_json(&b, json[i]);
    }
    json_decref(empty_array);
    json_decref(empty_object);
    sql_add(&b, ", ");
    sql_int(&b, row->failures);
    sql_add(&b, ", ");
    sql_int(&b, row->concurrency);
    const double times[] = {row->ctime, row->mtime, row->ytime};
    for (size_t i = 0; i < 3; i++) {
        sql_add(&b, ", ");
        sql_double(&b, times[i]);
    }
    sql_add(&b, ", ");
    sql_str(&b, a->envelope);
    sql_add(&b, ", ");
    sql_str(&b, row->owner);
    sql_add(&b, ")");
    free(fold);
    /* With a queue row: both in one transaction, in one round trip. */
    if (a->queued) {
        sql_add(&b, "; ");
        sql_queue_values(&b, a->queued);
        sql_add(&b, "; COMMIT");
        c->in_tx = true;
    }
    uint64_t seq = 0;
    gbx_err rc = exec_batch(c, &b, NULL, &seq, "creating a status");
    sql_free(&b);
    if (!rc) c->in_tx = false;
    /* Which key was duplicate: the status's id or the queue's ticket. */
    if (rc == GBX_ERR_CONFLICT && a->queued && !strstr(gbx_error_last()->message, "gbx_status_id"))
        return ticket_exists(a->queued->ticket);
    if (rc == GBX_ERR_CONFLICT)
        return gbx_error_set(GBX_ERR_CONFLICT, "status \"%s\" already exists", row->id);
    return rc ? rc : stored_copy(a->out, row, (int64_t)seq);
}

static gbx_err md_insert(gbx_store *store, const gbx__status_row *row, const char *envelope,
                         const gbx__queued *queued, gbx__status_row *out) {
    insert_arg a = {row, envelope, queued, out};
    return run_op(store, insert_body, &a, false);
}

typedef struct load_arg {
    const char *id;
    gbx__status_row *out;
} load_arg;

static gbx_err load_body(conn *c, void *p) {
    load_arg *a = p;
    bool found;
    gbx_err rc = select_row(c, a->id, false, a->out, &found);
    return rc ? rc : found ? GBX_OK : gbx__store_not_found(a->id);
}

static gbx_err md_load(gbx_store *store, const char *id, gbx__status_row *out) {
    load_arg a = {id, out};
    return run_op(store, load_body, &a, true);
}

typedef struct envelope_arg {
    const char *id;
    char **out;
} envelope_arg;

static gbx_err envelope_body(conn *c, void *p) {
    envelope_arg *a = p;
    sqlbuf b = sql_for(c);
    sql_add(&b, "SELECT envelope FROM gbx_status WHERE id = ");
    sql_str(&b, a->id);
    MYSQL_RES *res = NULL;
    gbx_err rc = query_buf(c, &b, &res, "reading an envelope");
    sql_free(&b);
    if (rc) return rc;
    MYSQL_ROW r = mysql_fetch_row(res);
    if (!r) rc = gbx__store_not_found(a->id);
    else if (!dup_field(a->out, r[0], mysql_fetch_lengths(res)[0])) rc = out_of_memory();
    mysql_free_result(res);
    return rc;
}

static gbx_err md_load_envelope(gbx_store *store, const char *id, char **out) {
    *out = NULL;
    envelope_arg a = {id, out};
    return run_op(store, envelope_body, &a, true);
}

/* ---- changes ----------------------------------------------------------- */

typedef struct update_arg {
    const char *id;
    const gbx__change *change;
    gbx__status_row *out;
} update_arg;

/* ", column = <value>" for each column `kind` changes in `row`. */
static void sql_changed_columns(sqlbuf *b, const gbx__change *ch, const gbx__status_row *row) {
    switch (ch->kind) {
    case GBX__CHANGE_ENTER:
        sql_add(b, ", concurrency = ");
        sql_int(b, row->concurrency);
        sql_add(b, ", state = ");
        sql_str(b, gbx_state_name(row->state));
        break;
    case GBX__CHANGE_COMPLETE_LEAVE:
        sql_add(b, ", concurrency = ");
        sql_int(b, row->concurrency);
        /* fall through */
    case GBX__CHANGE_COMPLETE:
    case GBX__CHANGE_FINISH_CANCEL:
        sql_add(b, ", progress = ");
        sql_int(b, row->progress);
        sql_add(b, ", code = ");
        if (row->code >= 0) sql_int(b, row->code);
        else sql_add(b, "NULL");
        sql_add(b, ", messages = ");
        sql_json(b, row->messages);
        /* fall through */
    case GBX__CHANGE_STATE:
        sql_add(b, ", state = ");
        sql_str(b, gbx_state_name(row->state));
        break;
    case GBX__CHANGE_PROGRESS:
        sql_add(b, ", progress = ");
        sql_int(b, row->progress);
        break;
    case GBX__CHANGE_MESSAGE:
        sql_add(b, ", messages = ");
        sql_json(b, row->messages);
        break;
    case GBX__CHANGE_CHILD:
        sql_add(b, ", children = ");
        sql_json(b, row->children);
        break;
    case GBX__CHANGE_META:
        sql_add(b, ", meta = ");
        sql_json(b, row->meta);
        break;
    case GBX__CHANGE_EVENT:
        sql_add(b, ", events = ");
        sql_json(b, row->events);
        break;
    case GBX__CHANGE_PRIVATE:
        sql_add(b, ", priv = ");
        sql_json(b, row->priv);
        break;
    case GBX__CHANGE_CONCURRENCY:
        sql_add(b, ", concurrency = ");
        sql_int(b, row->concurrency);
        break;
    case GBX__CHANGE_FAILURE:
        sql_add(b, ", failures = ");
        sql_int(b, row->failures);
        break;
    case GBX__CHANGE_YTIME:
        sql_add(b, ", ytime = ");
        sql_double(b, row->ytime);
        break;
    case GBX__CHANGE_ENVELOPE:
        sql_add(b, ", envelope = ");
        sql_str(b, ch->text);
        break;
    }
}

static gbx_err update_body(conn *c, void *p) {
    update_arg *a = p;
    gbx__status_row row = {0};
    bool found = false;
    gbx_err rc = select_row(c, a->id, true, &row, &found);
    if (!rc && !found) rc = gbx__store_not_found(a->id);
    /* A failed precondition changes nothing: the transaction is rolled back. */
    if (!rc) rc = gbx__change_apply(&row, a->change);
    if (!rc) {
        sqlbuf b = sql_for(c);
        sql_add(&b, "UPDATE gbx_status SET mtime = ");
        sql_double(&b, row.mtime);
        sql_changed_columns(&b, a->change, &row);
        sql_add(&b, " WHERE id = ");
        sql_str(&b, a->id);
        sql_add(&b, "; COMMIT");
        rc = exec_batch(c, &b, NULL, NULL, "updating a status");
        sql_free(&b);
        if (!rc) c->in_tx = false;
    }
    if (rc) {
        gbx__status_row_clear(&row);
        return rc;
    }
    *a->out = row;
    return GBX_OK;
}

static gbx_err md_update(gbx_store *store, const char *id, const gbx__change *ch,
                         gbx__status_row *out) {
    update_arg a = {id, ch, out};
    return run_op(store, update_body, &a, false);
}

/* ---- collections ------------------------------------------------------- */

typedef struct list_arg {
    const gbx__status_query *q;
    json_t **out;
} list_arg;

/* '%<part, ASCII lower case, with ! % _ escaped by !>%'. */
static void sql_like_part(sqlbuf *b, const char *part) {
    char *fold = ascii_fold(part);
    char *pattern = fold ? malloc(2 * strlen(fold) + 3) : NULL;
    if (!pattern) {
        free(fold);
        b->oom = true;
        return;
    }
    size_t o = 0;
    pattern[o++] = '%';
    for (const char *s = fold; *s; s++) {
        if (*s == '!' || *s == '%' || *s == '_') pattern[o++] = '!';
        pattern[o++] = *s;
    }
    pattern[o++] = '%';
    pattern[o] = '\0';
    sql_str(b, pattern);
    free(pattern);
    free(fold);
}

static void sql_where_str(sqlbuf *b, const char *column, const char *value) {
    if (!value) return;
    sql_add(b, " AND ");
    sql_add(b, column);
    sql_add(b, " = ");
    sql_str(b, value);
}

static gbx_err list_body(conn *c, void *p) {
    list_arg *a = p;
    const gbx__status_query *q = a->q;
    sqlbuf b = sql_for(c);
    sql_add(&b, "SELECT id FROM gbx_status WHERE 1 = 1");
    if (q->uri_part) {
        sql_add(&b, " AND uri_fold LIKE ");
        sql_like_part(&b, q->uri_part);
        sql_add(&b, " ESCAPE '!'");
    }
    sql_where_str(&b, "state", q->state == GBX_STATE_UNKNOWN ? NULL : gbx_state_name(q->state));
    sql_where_str(&b, "operation", q->operation);
    sql_where_str(&b, "component", q->component);
    sql_where_str(&b, "scope", q->scope);
    sql_where_str(&b, "owner", q->owner);
    if (q->ownerless) sql_add(&b, " AND owner IS NULL");
    if (q->code >= 0) {
        sql_add(&b, " AND code = ");
        sql_int(&b, q->code);
    }
    if (q->progress >= 0) {
        sql_add(&b, " AND progress = ");
        sql_int(&b, q->progress);
    }
    sql_add(&b, " ORDER BY ctime DESC, seq DESC LIMIT ");
    sql_int(&b, q->count);
    MYSQL_RES *res = NULL;
    gbx_err rc = query_buf(c, &b, &res, "listing statuses");
    sql_free(&b);
    if (rc) return rc;
    json_t *ids = json_array();
    MYSQL_ROW r;
    while (ids && (r = mysql_fetch_row(res))) {
        unsigned long n = mysql_fetch_lengths(res)[0];
        if (json_array_append_new(ids, json_stringn(r[0] ? r[0] : "", r[0] ? n : 0)) != 0) {
            json_decref(ids);
            ids = NULL;
        }
    }
    mysql_free_result(res);
    if (!ids) return out_of_memory();
    *a->out = ids;
    return GBX_OK;
}

static gbx_err md_list(gbx_store *store, const gbx__status_query *q, json_t **out) {
    *out = NULL;
    list_arg a = {q, out};
    return run_op(store, list_body, &a, true);
}

typedef struct changed_arg {
    const char *const *ids;
    size_t n;
    double since;
    json_t **out;
} changed_arg;

/* One range read of the unique id index: id IN (...) AND mtime > since. */
static gbx_err changed_body(conn *c, void *p) {
    changed_arg *a = p;
    sqlbuf b = sql_for(c);
    sql_add(&b, "SELECT id, mtime FROM gbx_status WHERE mtime > ");
    sql_double(&b, a->since);
    sql_add(&b, " AND id IN (");
    for (size_t i = 0; i < a->n; i++) {
        if (i) sql_add(&b, ", ");
        sql_str(&b, a->ids[i]);
    }
    sql_add(&b, ")");
    MYSQL_RES *res = NULL;
    gbx_err rc = query_buf(c, &b, &res, "reading which statuses changed");
    sql_free(&b);
    if (rc) return rc;
    json_t *found = json_object();
    MYSQL_ROW r;
    while (found && (r = mysql_fetch_row(res))) {
        unsigned long n = mysql_fetch_lengths(res)[0];
        char *id = r[0] ? strndup(r[0], n) : NULL;
        if (!id || json_object_set_new(found, id, json_real(field_double(r[1]))) != 0) {
            json_decref(found);
            found = NULL;
        }
        free(id);
    }
    mysql_free_result(res);
    if (!found) return out_of_memory();
    json_decref(*a->out);
    *a->out = found;
    return GBX_OK;
}

/* No change counter cheap enough to read every tick (InnoDB has none per
 * table that a client may read without a scan): callers read changed(). */
static gbx_err md_version(gbx_store *store, uint64_t *out) {
    (void)store;
    *out = 0;
    return GBX_OK;
}

static gbx_err md_changed(gbx_store *store, const char *const *ids, size_t n, double since,
                          json_t **out) {
    *out = NULL;
    changed_arg a = {ids, n, since, out};
    return run_op(store, changed_body, &a, true);
}

/* ---- counters ---------------------------------------------------------- */

typedef struct counter_arg {
    const char *id, *name;
    long long delta, *out;
} counter_arg;

static gbx_err counter_body(conn *c, void *p) {
    counter_arg *a = p;
    sqlbuf b = sql_for(c);
    /* Only a status that exists gets counters: no row to insert otherwise. */
    sql_add(&b, "INSERT INTO gbx_counter (status_id, name, value) SELECT id, ");
    sql_str(&b, a->name);
    sql_add(&b, ", ");
    sql_int(&b, a->delta);
    sql_add(&b, " FROM gbx_status WHERE id = ");
    sql_str(&b, a->id);
    sql_add(&b, " ON DUPLICATE KEY UPDATE value = value + ");
    sql_int(&b, a->delta);
    unsigned long long affected = 0;
    gbx_err rc = begin(c);
    if (!rc) rc = exec_buf(c, &b, &affected, "adding to a counter");
    sql_free(&b);
    if (!rc && affected == 0) return gbx__store_not_found(a->id);
    MYSQL_RES *res = NULL;
    if (!rc) {
        /* Our own row, locked until the commit: the value after our add. */
        b = sql_for(c);
        sql_add(&b, "SELECT value FROM gbx_counter WHERE status_id = ");
        sql_str(&b, a->id);
        sql_add(&b, " AND name = ");
        sql_str(&b, a->name);
        rc = query_buf(c, &b, &res, "reading a counter");
        sql_free(&b);
    }
    if (!rc) {
        MYSQL_ROW r = mysql_fetch_row(res);
        if (r && r[0]) *a->out = strtoll(r[0], NULL, 10);
        else rc = gbx__store_not_found(a->id);
    }
    mysql_free_result(res);
    if (!rc) rc = commit(c, "adding to a counter");
    return rc;
}

static gbx_err md_counter_add(gbx_store *store, const char *id, const char *name,
                              long long delta, long long *out) {
    counter_arg a = {id, name, delta, out};
    return run_op(store, counter_body, &a, false);
}

/* ---- the job queue ----------------------------------------------------- */

/* One statement (the queue's, an idempotency key's) and the rows it matched. */
typedef struct one_stmt_arg {
    sqlbuf sql;
    const char *what;
    unsigned long long matched;
} one_stmt_arg;

static gbx_err one_stmt_body(conn *c, void *p) {
    one_stmt_arg *a = p;
    return exec_buf(c, &a->sql, &a->matched, a->what);
}

/* Runs the statement `build` writes, on the calling thread's connection
 * (escaping needs one); *n = rows matched (may be NULL). */
static gbx_err one_statement(gbx_store *store, void (*build)(sqlbuf *b, const void *arg),
                               const void *arg, const char *what, size_t *n) {
    conn *c = NULL;
    gbx_err rc = conn_get(store, &c);
    if (rc) return rc;
    one_stmt_arg a = {.sql = sql_for(c), .what = what};
    build(&a.sql, arg);
    rc = run_op(store, one_stmt_body, &a, false);
    sql_free(&a.sql);
    if (n) *n = rc ? 0 : (size_t)a.matched;
    return rc;
}

static void build_put(sqlbuf *b, const void *arg) { sql_queue_values(b, arg); }

static gbx_err md_queue_put(gbx_store *store, const gbx__queued *row) {
    gbx_err rc = one_statement(store, build_put, row, "queueing a job", NULL);
    return rc == GBX_ERR_CONFLICT ? ticket_exists(row->ticket) : rc;
}

typedef struct take_arg {
    const char *ticket;
    double now, lease;
    bool retryable;
} take_arg;

static void build_take(sqlbuf *b, const void *arg) {
    const take_arg *a = arg;
    sql_add(b, "UPDATE gbx_queue SET lease = ");
    sql_double(b, a->lease);
    sql_add(b, a->retryable ? ", retryable = 1" : ", retryable = 0");
    sql_add(b, " WHERE ticket = ");
    sql_str(b, a->ticket);
    sql_add(b, " AND lease = 0 AND due <= ");
    sql_double(b, a->now + 0.5);
}

static gbx_err md_queue_take(gbx_store *store, const char *ticket, double now, double lease,
                             bool retryable, bool *taken) {
    take_arg a = {ticket, now, lease, retryable};
    size_t n = 0;
    gbx_err rc = one_statement(store, build_take, &a, "taking a queued job", &n);
    *taken = !rc && n > 0;
    return rc;
}

static void build_renew(sqlbuf *b, const void *arg) {
    const take_arg *a = arg;
    sql_add(b, "UPDATE gbx_queue SET lease = ");
    sql_double(b, a->lease);
    sql_add(b, " WHERE ticket = ");
    sql_str(b, a->ticket);
    sql_add(b, " AND lease > 0");
}

static gbx_err md_queue_renew(gbx_store *store, const char *ticket, double lease, bool *held) {
    take_arg a = {.ticket = ticket, .lease = lease};
    size_t n = 0;
    gbx_err rc = one_statement(store, build_renew, &a, "renewing a lease", &n);
    *held = !rc && n > 0;
    return rc;
}

static void build_done(sqlbuf *b, const void *arg) {
    sql_add(b, "DELETE FROM gbx_queue WHERE ticket = ");
    sql_str(b, arg);
}

static gbx_err md_queue_done(gbx_store *store, const char *ticket) {
    return one_statement(store, build_done, ticket, "finishing a queued job", NULL);
}

typedef struct claim_arg {
    double now, resubmit_after;
    size_t max;
    gbx__queued *rows;
    size_t count;
} claim_arg;

/* Copies the claimed rows of QUEUE_COLUMNS into a->rows. */
static gbx_err read_claimed(MYSQL_RES *res, claim_arg *a) {
    size_t total = (size_t)mysql_num_rows(res);
    if (total == 0) return GBX_OK;
    if (!(a->rows = calloc(total, sizeof *a->rows))) return out_of_memory();
    MYSQL_ROW r;
    while ((r = mysql_fetch_row(res))) {
        unsigned long *n = mysql_fetch_lengths(res);
        gbx__queued *q = &a->rows[a->count++];
        if (!dup_field(&q->ticket, r[0], n[0]) || !dup_field(&q->status_id, r[1], n[1]) ||
            !dup_field(&q->name, r[2], n[2]) || !dup_field(&q->envelope, r[3], n[3]) ||
            !q->ticket || !q->name || !q->envelope)
            return out_of_memory();
        q->due = field_double(r[4]);
        q->lease_expired = field_double(r[5]) > 0;
        q->retryable = field_int(r[6]) != 0;
        q->submitted = a->now;
    }
    return GBX_OK;
}

static gbx_err claim_body(conn *c, void *p) {
    claim_arg *a = p;
    gbx__queued_free(a->rows, a->count);
    a->rows = NULL;
    a->count = 0;
    sqlbuf b = sql_for(c);
    sql_add(&b, "SELECT " QUEUE_COLUMNS " FROM gbx_queue WHERE (lease = 0 AND due <= ");
    sql_double(&b, a->now);
    sql_add(&b, " AND (submitted = 0 OR submitted < ");
    sql_double(&b, a->now - a->resubmit_after);
    sql_add(&b, ")) OR (lease > 0 AND lease < ");
    sql_double(&b, a->now);
    sql_add(&b, ") ORDER BY due, ticket");
    MYSQL_RES *res = NULL;
    gbx_err rc = select_skip_locked(c, &b, a->max, &res, "claiming due jobs");
    if (!rc) rc = read_claimed(res, a);
    mysql_free_result(res);
    if (!rc && a->count > 0) {
        b = sql_for(c);
        sql_add(&b, "UPDATE gbx_queue SET lease = 0, submitted = ");
        sql_double(&b, a->now);
        sql_add(&b, " WHERE ticket IN (");
        for (size_t i = 0; i < a->count; i++) {
            if (i) sql_add(&b, ", ");
            sql_str(&b, a->rows[i].ticket);
        }
        sql_add(&b, ")");
        rc = exec_buf(c, &b, NULL, "claiming due jobs");
        sql_free(&b);
    }
    if (!rc) rc = commit(c, "claiming due jobs");
    if (rc) {
        gbx__queued_free(a->rows, a->count);
        a->rows = NULL;
        a->count = 0;
    }
    return rc;
}

static gbx_err md_queue_claim_due(gbx_store *store, double now, double resubmit_after,
                                  size_t max, gbx__queued **out, size_t *n) {
    claim_arg a = {.now = now, .resubmit_after = resubmit_after, .max = max};
    gbx_err rc = run_op(store, claim_body, &a, false);
    if (rc) return rc;
    *out = a.rows;
    *n = a.count;
    return GBX_OK;
}

static gbx_err next_due_body(conn *c, void *p) {
    double *out = p;
    sqlbuf b = sql_for(c);
    sql_add(&b, "SELECT MIN(CASE WHEN lease > 0 THEN lease ELSE due END) FROM gbx_queue"
                " WHERE lease > 0 OR submitted = 0");
    MYSQL_RES *res = NULL;
    gbx_err rc = query_buf(c, &b, &res, "reading the queue");
    sql_free(&b);
    if (rc) return rc;
    MYSQL_ROW r = mysql_fetch_row(res);
    *out = r && r[0] ? strtod(r[0], NULL) : 0;
    mysql_free_result(res);
    return GBX_OK;
}

static gbx_err md_queue_next_due(gbx_store *store, double *out) {
    return run_op(store, next_due_body, out, true);
}

typedef struct by_status_arg {
    const char *status_id;
    double due;
} by_status_arg;

static void build_reschedule(sqlbuf *b, const void *arg) {
    const by_status_arg *a = arg;
    sql_add(b, "UPDATE gbx_queue SET submitted = 0, due = ");
    sql_double(b, a->due);
    sql_add(b, " WHERE lease = 0 AND status_id = ");
    sql_str(b, a->status_id);
}

static void build_drop(sqlbuf *b, const void *arg) {
    const by_status_arg *a = arg;
    sql_add(b, "DELETE FROM gbx_queue WHERE lease = 0 AND status_id = ");
    sql_str(b, a->status_id);
}

static gbx_err md_queue_reschedule(gbx_store *store, const char *status_id, double due,
                                   size_t *n) {
    by_status_arg a = {status_id, due};
    return one_statement(store, build_reschedule, &a, "rescheduling queued jobs", n);
}

static gbx_err md_queue_drop(gbx_store *store, const char *status_id, size_t *n) {
    by_status_arg a = {status_id, 0};
    return one_statement(store, build_drop, &a, "dropping queued jobs", n);
}

/* ---- retention --------------------------------------------------------- */

typedef struct purge_arg {
    double before;
    size_t max, *n;
} purge_arg;

static gbx_err purge_body(conn *c, void *p) {
    purge_arg *a = p;
    *a->n = 0;
    sqlbuf b = sql_for(c);
    sql_add(&b, "SELECT id FROM gbx_status WHERE state IN (");
    sql_str(&b, gbx_state_name(GBX_STATE_COMPLETED));
    sql_add(&b, ", ");
    sql_str(&b, gbx_state_name(GBX_STATE_CANCELLED));
    sql_add(&b, ") AND mtime < ");
    sql_double(&b, a->before);
    sql_add(&b, " ORDER BY mtime");
    MYSQL_RES *res = NULL;
    gbx_err rc = select_skip_locked(c, &b, a->max, &res, "purging statuses");
    if (rc) return rc;
    /* " IN ('id1', 'id2', ...)" of the rows found, then one DELETE per table. */
    sqlbuf in = sql_for(c);
    size_t count = 0;
    MYSQL_ROW r;
    sql_add(&in, " IN (");
    while ((r = mysql_fetch_row(res))) {
        if (count++) sql_add(&in, ", ");
        sql_str(&in, r[0]);
    }
    sql_add(&in, ")");
    mysql_free_result(res);
    static const char *const deletes[] = {"DELETE FROM gbx_counter WHERE status_id",
                                          "DELETE FROM gbx_queue WHERE status_id",
                                          "DELETE FROM gbx_callback WHERE status_id",
                                          "DELETE FROM gbx_status WHERE id"};
    for (size_t i = 0; count && !rc && i < sizeof deletes / sizeof deletes[0]; i++) {
        b = sql_for(c);
        sql_add(&b, deletes[i]);
        sql_add(&b, in.oom ? "" : in.p);
        if (in.oom) b.oom = true;
        rc = exec_buf(c, &b, NULL, "purging statuses");
        sql_free(&b);
    }
    sql_free(&in);
    if (!rc) {
        b = sql_for(c);
        sql_add(&b, "DELETE FROM gbx_idempotency WHERE created < ");
        sql_double(&b, a->before);
        sql_add(&b, " LIMIT ");
        sql_fmt_num(&b, "%zu", a->max > (size_t)INT32_MAX ? (size_t)INT32_MAX : a->max);
        rc = exec_buf(c, &b, NULL, "purging idempotency keys");
        sql_free(&b);
    }
    if (!rc) rc = commit(c, "purging statuses");
    if (!rc) *a->n = count;
    return rc;
}

static gbx_err md_purge(gbx_store *store, double before, size_t max, size_t *n) {
    size_t deleted = 0;
    purge_arg a = {before, max, &deleted};
    gbx_err rc = max ? run_op(store, purge_body, &a, false) : GBX_OK;
    *n = rc ? 0 : deleted;
    return rc;
}

/* ---- completion callbacks ----------------------------------------------- */

typedef struct callback_arg {
    const char *status_id, *url, *location;
    double now, lease, due, first_try;
    int attempts;
    size_t max;
    gbx_store_callback *rows;
    size_t count;
} callback_arg;

static void build_callback_put(sqlbuf *b, const void *arg) {
    const callback_arg *a = arg;
    sql_add(b, "INSERT INTO gbx_callback (status_id, url, location) VALUES (");
    sql_str(b, a->status_id);
    sql_add(b, ", ");
    sql_str(b, a->url);
    sql_add(b, ", ");
    sql_str(b, a->location);
    sql_add(b, ")");
}

static gbx_err md_callback_put(gbx_store *store, const char *status_id, const char *url,
                               const char *location) {
    callback_arg a = {.status_id = status_id, .url = url, .location = location};
    gbx_err rc = one_statement(store, build_callback_put, &a, "keeping a callback", NULL);
    if (rc == GBX_ERR_CONFLICT)
        return gbx_error_set(GBX_ERR_CONFLICT, "callbacks: status \"%s\" has one already", status_id);
    return rc;
}

static gbx_err callback_claim_body(conn *c, void *p) {
    callback_arg *a = p;
    gbx_store_callbacks_free(a->rows, a->count);
    a->rows = NULL;
    a->count = 0;
    sqlbuf b = sql_for(c);
    sql_add(&b, "SELECT c.status_id, c.url, c.location, c.attempts, c.first_try"
                " FROM gbx_callback c JOIN gbx_status s ON s.id = c.status_id WHERE c.due <= ");
    sql_double(&b, a->now);
    sql_add(&b, " AND c.lease < ");
    sql_double(&b, a->now);
    sql_add(&b, " AND s.state IN (");
    sql_str(&b, gbx_state_name(GBX_STATE_COMPLETED));
    sql_add(&b, ", ");
    sql_str(&b, gbx_state_name(GBX_STATE_CANCELLED));
    sql_add(&b, ") ORDER BY c.due");
    MYSQL_RES *res = NULL;
    gbx_err rc = select_skip_locked(c, &b, a->max, &res, "claiming callbacks");
    size_t total = rc ? 0 : (size_t)mysql_num_rows(res);
    if (total && !(a->rows = calloc(total, sizeof *a->rows))) rc = out_of_memory();
    MYSQL_ROW r;
    while (!rc && total && (r = mysql_fetch_row(res))) {
        unsigned long *n = mysql_fetch_lengths(res);
        gbx_store_callback *cb = &a->rows[a->count++];
        if (!dup_field(&cb->status_id, r[0], n[0]) || !dup_field(&cb->url, r[1], n[1]) ||
            !dup_field(&cb->location, r[2], n[2]) || !cb->status_id || !cb->url || !cb->location)
            rc = out_of_memory();
        cb->attempts = field_int(r[3]);
        cb->first_try = field_double(r[4]);
    }
    mysql_free_result(res);
    if (!rc && a->count > 0) {
        b = sql_for(c);
        sql_add(&b, "UPDATE gbx_callback SET lease = ");
        sql_double(&b, a->now + a->lease);
        sql_add(&b, " WHERE status_id IN (");
        for (size_t i = 0; i < a->count; i++) {
            if (i) sql_add(&b, ", ");
            sql_str(&b, a->rows[i].status_id);
        }
        sql_add(&b, ")");
        rc = exec_buf(c, &b, NULL, "claiming callbacks");
        sql_free(&b);
    }
    if (!rc) rc = commit(c, "claiming callbacks");
    if (rc) {
        gbx_store_callbacks_free(a->rows, a->count);
        a->rows = NULL;
        a->count = 0;
    }
    return rc;
}

static gbx_err md_callback_claim(gbx_store *store, double now, double lease, size_t max,
                                 gbx_store_callback **out, size_t *n) {
    callback_arg a = {.now = now, .lease = lease, .max = max > 1000 ? 1000 : max};
    gbx_err rc = run_op(store, callback_claim_body, &a, false);
    if (rc) return rc;
    *out = a.rows;
    *n = a.count;
    return GBX_OK;
}

static void build_callback_retry(sqlbuf *b, const void *arg) {
    const callback_arg *a = arg;
    sql_add(b, "UPDATE gbx_callback SET lease = 0, due = ");
    sql_double(b, a->due);
    sql_add(b, ", first_try = ");
    sql_double(b, a->first_try);
    sql_add(b, ", attempts = ");
    sql_int(b, a->attempts);
    sql_add(b, " WHERE status_id = ");
    sql_str(b, a->status_id);
}

static gbx_err md_callback_retry(gbx_store *store, const char *status_id, double due,
                                 int attempts, double first_try) {
    callback_arg a = {.status_id = status_id, .due = due, .attempts = attempts,
                      .first_try = first_try};
    return one_statement(store, build_callback_retry, &a, "rescheduling a callback", NULL);
}

static void build_callback_done(sqlbuf *b, const void *arg) {
    sql_add(b, "DELETE FROM gbx_callback WHERE status_id = ");
    sql_str(b, arg);
}

static gbx_err md_callback_done(gbx_store *store, const char *status_id) {
    return one_statement(store, build_callback_done, status_id, "deleting a callback", NULL);
}

/* ---- idempotency keys -------------------------------------------------- */

typedef struct idem_arg {
    const char *key, *digest, *status_id;
    double now, expire_before;
    char **existing_id, **existing_digest;
} idem_arg;

static gbx_err idem_put_body(conn *c, void *p) {
    idem_arg *a = p;
    free(*a->existing_id);
    free(*a->existing_digest);
    *a->existing_id = *a->existing_digest = NULL;
    /* One round trip: the upsert replaces only a row older than the window
     * (`created` is assigned last: the IFs before it see the old one), and
     * the SELECT reads, under the row's lock, what stays. */
    sqlbuf b = sql_for(c);
    sql_add(&b, "START TRANSACTION; INSERT INTO gbx_idempotency (idem_key, digest, status_id,"
                " created) VALUES (");
    sql_str(&b, a->key);
    sql_add(&b, ", ");
    sql_str(&b, a->digest);
    sql_add(&b, ", ");
    sql_str(&b, a->status_id);
    sql_add(&b, ", ");
    sql_double(&b, a->now);
    sql_add(&b, ") ON DUPLICATE KEY UPDATE");
    const char *columns[] = {"digest", "status_id", "created"};
    for (size_t i = 0; i < 3; i++) {
        sql_add(&b, i ? ", " : " ");
        sql_add(&b, columns[i]);
        sql_add(&b, " = IF(created < ");
        sql_double(&b, a->expire_before);
        sql_add(&b, ", VALUES(");
        sql_add(&b, columns[i]);
        sql_add(&b, "), ");
        sql_add(&b, columns[i]);
        sql_add(&b, ")");
    }
    sql_add(&b, "; SELECT status_id, digest FROM gbx_idempotency WHERE idem_key = ");
    sql_str(&b, a->key);
    sql_add(&b, "; COMMIT");
    MYSQL_RES *res = NULL;
    c->in_tx = true;
    gbx_err rc = exec_batch(c, &b, &res, NULL, "keeping an idempotency key");
    sql_free(&b);
    if (rc) return rc;
    c->in_tx = false;
    MYSQL_ROW r = res ? mysql_fetch_row(res) : NULL;
    if (!r || !r[0] || !r[1]) {
        rc = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                           "status store: idempotency key \"%s\" vanished", a->key);
    } else if (strcmp(r[0], a->status_id) != 0) {
        unsigned long *n = mysql_fetch_lengths(res);
        if (!dup_field(a->existing_id, r[0], n[0]) || !dup_field(a->existing_digest, r[1], n[1]))
            rc = out_of_memory();
    }
    mysql_free_result(res);
    if (rc) {
        free(*a->existing_id);
        free(*a->existing_digest);
        *a->existing_id = *a->existing_digest = NULL;
    }
    return rc;
}

static gbx_err md_idempotency_put(gbx_store *store, const char *key, const char *digest,
                                  const char *status_id, double now, double expire_before,
                                  char **existing_id, char **existing_digest) {
    *existing_id = *existing_digest = NULL;
    idem_arg a = {key, digest, status_id, now, expire_before, existing_id, existing_digest};
    return run_op(store, idem_put_body, &a, false);
}

static void build_idem_drop(sqlbuf *b, const void *arg) {
    const idem_arg *a = arg;
    sql_add(b, "DELETE FROM gbx_idempotency WHERE idem_key = ");
    sql_str(b, a->key);
    sql_add(b, " AND status_id = ");
    sql_str(b, a->status_id);
}

static gbx_err md_idempotency_drop(gbx_store *store, const char *key, const char *status_id) {
    idem_arg a = {.key = key, .status_id = status_id};
    return one_statement(store, build_idem_drop, &a, "dropping an idempotency key", NULL);
}

/* ---- schema ------------------------------------------------------------ */

/* Reads one integer from a query (*out = dflt when there is no row or it is
 * NULL). */
static gbx_err query_int(conn *c, const char *sql, long long dflt, long long *out,
                         const char *what) {
    sqlbuf b = sql_for(c);
    sql_add(&b, sql);
    MYSQL_RES *res = NULL;
    gbx_err rc = query_buf(c, &b, &res, what);
    sql_free(&b);
    if (rc) return rc;
    MYSQL_ROW r = mysql_fetch_row(res);
    *out = r && r[0] ? strtoll(r[0], NULL, 10) : dflt;
    mysql_free_result(res);
    return GBX_OK;
}

/* Creates or migrates the schema.  DDL commits by itself in MySQL, so the
 * processes that open a new database at once take turns by a named lock. */
static gbx_err migrate_locked(conn *c) {
    gbx_err rc = exec_sql(c,
                          "CREATE TABLE IF NOT EXISTS gbx_schema_version ("
                          " part VARCHAR(64) CHARACTER SET ascii NOT NULL PRIMARY KEY,"
                          " version INT NOT NULL) ENGINE=InnoDB",
                          "creating the schema");
    long long version = 0;
    if (!rc)
        rc = query_int(c, "SELECT version FROM gbx_schema_version WHERE part = 'status'", 0,
                       &version, "reading the schema version");
    if (!rc && version > SCHEMA_VERSION)
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                             "status store: schema version %lld is newer than this build "
                             "understands (%d)",
                             version, SCHEMA_VERSION);
    for (long long v = version; !rc && v < SCHEMA_VERSION; v++) {
        for (const char *const *st = migrations[v]; !rc && *st; st++)
            rc = exec_sql(c, *st, "migrating the schema");
        if (!rc) {
            char sql[128];
            snprintf(sql, sizeof sql,
                     "REPLACE INTO gbx_schema_version (part, version) VALUES ('status', %lld)",
                     v + 1);
            rc = exec_sql(c, sql, "recording the schema version");
        }
    }
    return rc;
}

static gbx_err migrate(conn *c) {
    /* One lock per database (names are at most 64 characters). */
    sqlbuf b = sql_for(c);
    char name[65];
    snprintf(name, sizeof name, "gbx_schema.%.53s", c->owner->database);
    sql_add(&b, "SELECT GET_LOCK(");
    sql_str(&b, name);
    sql_add(&b, ", 60)");
    long long got = 0;
    gbx_err rc = b.oom ? out_of_memory() : query_int(c, b.p, 0, &got, "locking the schema");
    sql_free(&b);
    if (rc) return rc;
    if (got != 1)
        return gbx_error_set(GBX_ERR_SERVICE_UNAVAILABLE,
                             "status store unavailable: another process kept the schema "
                             "locked for 60 s");
    rc = migrate_locked(c);
    b = sql_for(c);
    sql_add(&b, "DO RELEASE_LOCK(");
    sql_str(&b, name);
    sql_add(&b, ")");
    if (!b.oom && c->db) mysql_real_query(c->db, b.p, (unsigned long)b.len);
    sql_free(&b);
    return rc;
}

/* ---- opening ----------------------------------------------------------- */

/* What a "mariadb" config section says (gearbox/store.h). */
typedef struct mariadb_options {
    const char *host, *socket, *user, *password, *password_file, *database;
    int port, connect_timeout, io_timeout, lock_wait_timeout;
} mariadb_options;

static gbx_err read_options(mariadb_options *o, const json_t *section) {
    gbx_err rc = gbx__store_option_string(&o->host, section, "host");
    if (!rc) rc = gbx__store_option_string(&o->socket, section, "socket");
    if (!rc) rc = gbx__store_option_string(&o->user, section, "user");
    if (!rc) rc = gbx__store_option_string(&o->password, section, "password");
    if (!rc) rc = gbx__store_option_string(&o->password_file, section, "password_file");
    if (!rc) rc = gbx__store_option_string(&o->database, section, "database");
    if (!rc) rc = gbx__store_option_int(&o->port, section, "port", DEFAULT_PORT, 65535);
    if (!rc)
        rc = gbx__store_option_int(&o->connect_timeout, section, "connect_timeout",
                                   DEFAULT_CONNECT_TIMEOUT, 3600);
    if (!rc)
        rc = gbx__store_option_int(&o->io_timeout, section, "io_timeout", DEFAULT_IO_TIMEOUT,
                                   3600);
    if (!rc)
        rc = gbx__store_option_int(&o->lock_wait_timeout, section, "lock_wait_timeout",
                                   DEFAULT_LOCK_WAIT_TIMEOUT, 3600);
    if (rc) return rc;
    if (!o->host) o->host = "127.0.0.1";
    if (!o->user) o->user = "gearbox";
    if (!o->database) o->database = "gearbox";
    const struct {
        const char *key, *value;
    } nonempty[] = {{"host", o->host}, {"user", o->user}, {"database", o->database},
                    {"socket", o->socket}, {"password_file", o->password_file}};
    for (size_t i = 0; i < sizeof nonempty / sizeof nonempty[0]; i++)
        if (nonempty[i].value && !*nonempty[i].value)
            return gbx_error_set(GBX_ERR_BAD_REQUEST,
                                 "status store: \"%s\" must not be empty", nonempty[i].key);
    if (o->port == 0)
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "status store: \"port\" must be an integer from 1 to 65535");
    if (o->connect_timeout == 0 || o->io_timeout == 0 || o->lock_wait_timeout == 0)
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "status store: \"%s\" must be at least 1 (seconds)",
                             o->connect_timeout == 0 ? "connect_timeout"
                             : o->io_timeout == 0    ? "io_timeout"
                                                     : "lock_wait_timeout");
    if (o->password && o->password_file)
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "status store: give \"password\" or \"password_file\", not both");
    return GBX_OK;
}

/* The first line of the file `path` (relative to base_dir), without its
 * line end; *out malloc'ed. */
static gbx_err read_password_file(char **out, const char *path, const char *base_dir) {
    *out = NULL;
    char full[PATH_MAX];
    if (path[0] != '/' && base_dir && *base_dir)
        snprintf(full, sizeof full, "%s/%s", base_dir, path);
    else
        snprintf(full, sizeof full, "%s", path);
    FILE *f = fopen(full, "r");
    if (!f)
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "status store: cannot read \"password_file\" %s: %s", full,
                             strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    fclose(f);
    if (n < 0) {
        free(line);
        line = strdup("");
        if (!line) return out_of_memory();
        n = 0;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    *out = line;
    return GBX_OK;
}

static char *dup_opt(const char *s, bool *ok) {
    return dup_or_null(s, ok);
}

static void store_free_fields(mariadb_store *s) {
    free(s->host);
    free(s->socket);
    free(s->user);
    if (s->password) memset(s->password, 0, strlen(s->password));
    free(s->password);
    free(s->database);
    free(s->where);
    free(s);
}

static gbx_err md_open(gbx_store **out, const json_t *section, const char *base_dir) {
    *out = NULL;
    mariadb_options o = {0};
    gbx_err rc = read_options(&o, section);
    if (rc) return rc;
    char *file_password = NULL;
    if (o.password_file && (rc = read_password_file(&file_password, o.password_file, base_dir)))
        return rc;

    pthread_once(&library_once, library_init);
    if (!library_ready) {
        free(file_password);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                             "status store: the MariaDB client library failed to initialise");
    }
    mariadb_store *s = calloc(1, sizeof *s);
    if (!s) {
        free(file_password);
        return out_of_memory();
    }
    bool ok = true;
    s->base.ops = &mariadb_ops;
    s->host = dup_opt(o.host, &ok);
    s->socket = dup_opt(o.socket, &ok);
    s->user = dup_opt(o.user, &ok);
    s->password = file_password ? file_password : dup_opt(o.password, &ok);
    s->database = dup_opt(o.database, &ok);
    s->port = (unsigned)o.port;
    s->connect_timeout = o.connect_timeout;
    s->io_timeout = o.io_timeout;
    s->lock_wait_timeout = o.lock_wait_timeout;
    char where[1024];
    if (o.socket)
        snprintf(where, sizeof where, "mariadb %s@%s/%s", o.user, o.socket, o.database);
    else
        snprintf(where, sizeof where, "mariadb %s@%s:%d/%s", o.user, o.host, o.port, o.database);
    s->where = dup_opt(where, &ok);
    if (!ok) {
        store_free_fields(s);
        return out_of_memory();
    }
    if ((rc = gbx__conn_set_init(&s->conns, conn_free_link, mysql_thread_end))) {
        store_free_fields(s);
        return rc;
    }
    s->conns_ready = true;
    conn *c = NULL;
    rc = conn_get(&s->base, &c);
    if (!rc) rc = migrate(c);
    if (rc) {
        /* At start the operator wants to know which database failed. */
        char message[512];
        snprintf(message, sizeof message, "%s", gbx_error_last()->message);
        gbx_error_set(rc, "%s (%s)", message, s->where);
        mariadb_ops.close(&s->base);
        return rc;
    }
    *out = &s->base;
    return GBX_OK;
}

const gbx__store_backend gbx__store_backend_mariadb = {.type = "mariadb", .open = md_open};
const gbx__store_backend gbx__store_backend_mysql = {.type = "mysql", .open = md_open};

static void md_close(gbx_store *store) {
    mariadb_store *s = (mariadb_store *)store;
    /* In a forked child the connections are the parent's sessions: closing
     * them would end those (COM_QUIT); gbx__conn_set_close leaves them. */
    if (s->conns_ready) gbx__conn_set_close(&s->conns);
    store_free_fields(s);
}

/* ---- metrics ------------------------------------------------------------ */

typedef struct count_states_arg {
    long long *counts;
    size_t n;
} count_states_arg;

static gbx_err count_states_body(conn *c, void *p) {
    count_states_arg *a = p;
    for (size_t i = 0; i < a->n; i++) a->counts[i] = 0;
    sqlbuf b = sql_for(c);
    sql_add(&b, "SELECT state, COUNT(*) FROM gbx_status GROUP BY state");
    MYSQL_RES *res = NULL;
    gbx_err rc = query_buf(c, &b, &res, "counting statuses");
    sql_free(&b);
    if (rc) return rc;
    MYSQL_ROW r;
    while ((r = mysql_fetch_row(res))) {
        int state = r[0] ? gbx_state_from_name(r[0]) : -1;
        if (state >= 0 && (size_t)state < a->n) a->counts[state] += r[1] ? strtoll(r[1], NULL, 10) : 0;
    }
    mysql_free_result(res);
    return GBX_OK;
}

static gbx_err md_count_states(gbx_store *store, long long *counts, size_t n) {
    count_states_arg a = {counts, n};
    return run_op(store, count_states_body, &a, true);
}

typedef struct publish_arg {
    const char *worker, *component, *figures;
    double now, forget_before;
} publish_arg;

static gbx_err publish_body(conn *c, void *p) {
    publish_arg *a = p;
    gbx_err rc = begin(c);
    sqlbuf b = sql_for(c);
    sql_add(&b, "INSERT INTO gbx_worker_figures (worker, component, figures, updated) VALUES (");
    sql_str(&b, a->worker);
    sql_add(&b, ", ");
    sql_str(&b, a->component);
    sql_add(&b, ", ");
    sql_str(&b, a->figures);
    sql_add(&b, ", ");
    sql_double(&b, a->now);
    sql_add(&b, ") ON DUPLICATE KEY UPDATE component = VALUES(component),"
                " figures = VALUES(figures), updated = VALUES(updated)");
    if (!rc) rc = exec_buf(c, &b, NULL, "publishing worker figures");
    sql_free(&b);
    b = sql_for(c);
    sql_add(&b, "DELETE FROM gbx_worker_figures WHERE updated < ");
    sql_double(&b, a->forget_before);
    if (!rc) rc = exec_buf(c, &b, NULL, "forgetting old workers");
    sql_free(&b);
    if (!rc) rc = commit(c, "publishing worker figures");
    return rc;
}

static gbx_err md_workers_publish(gbx_store *store, const char *worker, const char *component,
                                  const char *figures, double now, double forget_before) {
    publish_arg a = {worker, component, figures, now, forget_before};
    return run_op(store, publish_body, &a, false);
}

typedef struct workers_read_arg {
    double since;
    json_t **out;
} workers_read_arg;

static gbx_err workers_read_body(conn *c, void *p) {
    workers_read_arg *a = p;
    sqlbuf b = sql_for(c);
    sql_add(&b, "SELECT worker, component, updated, figures FROM gbx_worker_figures"
                " WHERE updated >= ");
    sql_double(&b, a->since);
    sql_add(&b, " ORDER BY worker");
    MYSQL_RES *res = NULL;
    gbx_err rc = query_buf(c, &b, &res, "reading worker figures");
    sql_free(&b);
    if (rc) return rc;
    json_t *rows = json_array();
    if (!rows) rc = out_of_memory();
    MYSQL_ROW r;
    while (!rc && (r = mysql_fetch_row(res))) {
        unsigned long *len = mysql_fetch_lengths(res);
        json_t *figures = NULL;
        rc = gbx__store_parse_json(&figures, r[3], r[3] ? len[3] : 0, true, "figures");
        if (rc) break;
        json_t *row = json_pack("{s:s%, s:s%, s:f, s:o}", "worker", r[0] ? r[0] : "",
                                (size_t)(r[0] ? len[0] : 0), "component", r[1] ? r[1] : "",
                                (size_t)(r[1] ? len[1] : 0), "updated", field_double(r[2]),
                                "figures", figures);
        if (!row || json_array_append_new(rows, row) != 0) rc = out_of_memory();
    }
    mysql_free_result(res);
    if (rc) {
        json_decref(rows);
        return rc;
    }
    json_decref(*a->out);
    *a->out = rows;
    return GBX_OK;
}

static gbx_err md_workers_read(gbx_store *store, double since, json_t **out) {
    *out = NULL;
    workers_read_arg a = {since, out};
    return run_op(store, workers_read_body, &a, true);
}

static const gbx__store_ops mariadb_ops = {
    .name = "mariadb",
    .close = md_close,
    .insert = md_insert,
    .load = md_load,
    .load_envelope = md_load_envelope,
    .update = md_update,
    .list = md_list,
    .counter_add = md_counter_add,
    .queue_put = md_queue_put,
    .queue_take = md_queue_take,
    .queue_renew = md_queue_renew,
    .queue_done = md_queue_done,
    .queue_claim_due = md_queue_claim_due,
    .queue_next_due = md_queue_next_due,
    .queue_reschedule = md_queue_reschedule,
    .queue_drop = md_queue_drop,
    .idempotency_put = md_idempotency_put,
    .idempotency_drop = md_idempotency_drop,
    .callback_put = md_callback_put,
    .callback_claim = md_callback_claim,
    .callback_retry = md_callback_retry,
    .callback_done = md_callback_done,
    .purge = md_purge,
    .count_states = md_count_states,
    .workers_publish = md_workers_publish,
    .workers_read = md_workers_read,
    .changed = md_changed,
    .version = md_version,
};
