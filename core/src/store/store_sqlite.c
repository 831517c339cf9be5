/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* store_sqlite.c - the SQLite status store backend.
 *
 * One database file shared by every thread and process that opens it: WAL
 * journal (readers never wait for the writer), a busy timeout for writers,
 * prepared statements cached per connection.  Reads go through one
 * connection per thread (created on first use, closed when the thread exits
 * or the store is freed); writes through the process's one writer
 * connection, by group commit: a thread that writes queues its write; the
 * first one finding no commit under way leads: it runs every write queued
 * meanwhile in one transaction, each in a savepoint of its own (a write that
 * fails is rolled back alone), commits, and wakes their threads, each with
 * its own result.  Writes that arrive while a group commits form the next
 * group, so a busy process commits a few writes at a time and an idle one
 * waits for nothing; the writer's page cache stays warm, as no other
 * connection of the process writes.  Every change is one UPDATE ...
 * RETURNING (so the write and the fresh snapshot are one atomic step) except
 * meta, events and private, which are a read-modify-write inside the write
 * transaction (SQLite's JSON paths cannot name every key).  Counters and the job queue (backend.h) are
 * one statement each: INSERT ... ON CONFLICT DO UPDATE ... RETURNING, DELETE,
 * UPDATE ... WHERE ticket IN (SELECT ... LIMIT) RETURNING.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gearbox/log.h"
#include "store/backend.h"

/* Schema migrations, applied in order inside one write transaction; the
 * database records how many it has seen in gbx_schema_version.  Later issues
 * append entries (never edit old ones). */
static const char *const migrations[] = {
    /* 1: statuses */
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
    "CREATE INDEX gbx_status_newest ON gbx_status (ctime DESC, seq DESC);",
    /* 2: orchestration - status events and bookkeeping (never in the status
     * JSON), the job queue (a job handed over inside the system is a row here
     * until a worker claims it by deleting it; `submitted` is when the
     * scheduler last handed it to gearmand, 0 = not yet) and fan-in counters. */
    "ALTER TABLE gbx_status ADD COLUMN events TEXT NOT NULL DEFAULT '{}';"
    "ALTER TABLE gbx_status ADD COLUMN private TEXT NOT NULL DEFAULT '{}';"
    "CREATE TABLE gbx_queue ("
    " ticket TEXT PRIMARY KEY,"
    " status_id TEXT,"
    " name TEXT NOT NULL,"
    " envelope TEXT NOT NULL,"
    " due REAL NOT NULL,"
    " submitted REAL NOT NULL DEFAULT 0);"
    "CREATE INDEX gbx_queue_due ON gbx_queue (due);"
    "CREATE INDEX gbx_queue_status ON gbx_queue (status_id);"
    "CREATE TABLE gbx_counter ("
    " status_id TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " value INTEGER NOT NULL,"
    " PRIMARY KEY (status_id, name));",
    /* 3: leases (a worker takes a queued job by leasing its row until
     * `lease` and deletes it when done; a lease that runs out sends the job
     * back to the scheduler; lease_expired is set by the claim that found
     * it so), and an index for retention. */
    "ALTER TABLE gbx_queue ADD COLUMN lease REAL NOT NULL DEFAULT 0;"
    "ALTER TABLE gbx_queue ADD COLUMN retryable INTEGER NOT NULL DEFAULT 1;"
    "ALTER TABLE gbx_queue ADD COLUMN lease_expired INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX gbx_queue_lease ON gbx_queue (lease) WHERE lease > 0;"
    "CREATE INDEX gbx_status_final ON gbx_status (mtime)"
    " WHERE state IN ('COMPLETED', 'CANCELLED');",
    /* 4: idempotency keys (the Idempotency-Key request header). */
    "CREATE TABLE gbx_idempotency ("
    " key TEXT PRIMARY KEY,"
    " digest TEXT NOT NULL,"
    " status_id TEXT NOT NULL,"
    " created REAL NOT NULL);",
    /* 5: metrics - one row per worker process: the figures it published
     * (its scoreboards and job counts, JSON) and when. */
    "CREATE TABLE gbx_worker_figures ("
    " worker TEXT PRIMARY KEY,"
    " component TEXT NOT NULL,"
    " figures TEXT NOT NULL,"
    " updated REAL NOT NULL);"
    "CREATE INDEX gbx_worker_figures_updated ON gbx_worker_figures (updated);",
    /* 6: the principal that owns a status (the gateway's verified client;
     * NULL on open locations), listed per scope and owner. */
    "ALTER TABLE gbx_status ADD COLUMN owner TEXT;"
    "CREATE INDEX gbx_status_owner ON gbx_status (scope, owner, ctime DESC, seq DESC)"
    " WHERE owner IS NOT NULL;",
    /* 7: completion callbacks owed (the gateway's Gearbox-Callback header):
     * sent once the status is final; `lease` is the claim of the gateway
     * sending it. */
    "CREATE TABLE gbx_callback ("
    " status_id TEXT PRIMARY KEY,"
    " url TEXT NOT NULL,"
    " location TEXT NOT NULL,"
    " due REAL NOT NULL DEFAULT 0,"
    " lease REAL NOT NULL DEFAULT 0,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " first_try REAL NOT NULL DEFAULT 0);",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

#define ROW_COLUMNS                                                                     \
    "seq, id, operation, component, uri, status_uri, parent_uri, scope, state, progress," \
    " code, messages, children, meta, failures, concurrency, ctime, mtime, ytime, events," \
    " private, owner"

/* Every write statement is OR FAIL: it checks its constraints before it
 * writes a row, so one that fails on a single row changed nothing, and
 * SQLite keeps no statement journal for it inside a transaction (with the
 * default ABORT each statement of a group commit would allocate, and free,
 * a 64 KiB sub-journal).
 * Every UPDATE binds ?1 = now, ?2 = id, ?3... = its own values. */
#define UPDATE_HEAD "UPDATE OR FAIL gbx_status SET mtime = MAX(mtime, ?1), "
#define UPDATE_TAIL " RETURNING " ROW_COLUMNS

typedef enum stmt_id {
    ST_INSERT,
    ST_LOAD,
    ST_STATE_OF,
    ST_ENVELOPE,
    ST_SET_STATE,
    ST_COMPLETE,
    ST_PROGRESS,
    ST_MESSAGE,
    ST_CHILD,
    ST_META_READ,
    ST_META_WRITE,
    ST_EVENTS_READ,
    ST_EVENTS_WRITE,
    ST_PRIVATE_READ,
    ST_PRIVATE_WRITE,
    ST_FINISH_CANCEL,
    ST_ENTER,
    ST_COMPLETE_LEAVE,
    ST_COUNTER_ADD,
    ST_QUEUE_PUT,
    ST_QUEUE_TAKE,
    ST_QUEUE_RENEW,
    ST_QUEUE_DONE,
    ST_QUEUE_CLAIM,
    ST_QUEUE_NEXT,
    ST_QUEUE_RESCHEDULE,
    ST_QUEUE_DROP,
    ST_CONCURRENCY,
    ST_FAILURE,
    ST_YTIME,
    ST_SET_ENVELOPE,
    ST_BEGIN_IMMEDIATE,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_SAVEPOINT,
    ST_RELEASE,
    ST_ROLLBACK_TO,
    ST_LIST,
    ST_CHANGED,
    ST_DATA_VERSION,
    ST_PURGE_COUNTERS,
    ST_PURGE_QUEUE,
    ST_PURGE_STATUSES,
    ST_PURGE_KEYS,
    ST_IDEM_PUT,
    ST_IDEM_GET,
    ST_IDEM_DROP,
    ST_COUNT_STATES,
    ST_WORKERS_PUBLISH,
    ST_WORKERS_FORGET,
    ST_WORKERS_READ,
    ST_CB_PUT,
    ST_CB_CLAIM,
    ST_CB_RETRY,
    ST_CB_DONE,
    ST_PURGE_CALLBACKS,
    ST_COUNT
} stmt_id;

static const char *const stmt_sql[ST_COUNT] = {
    [ST_INSERT] = "INSERT OR FAIL INTO gbx_status (id, operation, component, uri, status_uri,"
                  " parent_uri, scope, state, progress, code, messages, children, meta,"
                  " failures, concurrency, ctime, mtime, ytime, envelope, owner)"
                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
                  " ?16, ?17, ?18, ?19, ?20) RETURNING " ROW_COLUMNS,
    [ST_LOAD] = "SELECT " ROW_COLUMNS " FROM gbx_status WHERE id = ?1",
    [ST_STATE_OF] = "SELECT state FROM gbx_status WHERE id = ?1",
    [ST_ENVELOPE] = "SELECT envelope FROM gbx_status WHERE id = ?1",
    /* ?4 = ",PENDING,RUNNING," : the states the change may start from. */
    [ST_SET_STATE] = UPDATE_HEAD "state = ?3"
                     " WHERE id = ?2 AND instr(?4, ',' || state || ',') > 0" UPDATE_TAIL,
    [ST_COMPLETE] = UPDATE_HEAD "state = ?3, progress = 100, code = ?5,"
                    " messages = CASE WHEN ?6 IS NULL THEN messages"
                    " ELSE json_insert(messages, '$[#]', ?6) END"
                    " WHERE id = ?2 AND instr(?4, ',' || state || ',') > 0" UPDATE_TAIL,
    [ST_PROGRESS] = UPDATE_HEAD "progress = MAX(progress, ?3) WHERE id = ?2" UPDATE_TAIL,
    [ST_MESSAGE] = UPDATE_HEAD "messages = json_insert(messages, '$[#]', ?3)"
                   " WHERE id = ?2" UPDATE_TAIL,
    [ST_CHILD] = UPDATE_HEAD "children = json_insert(children, '$[#]', ?3)"
                 " WHERE id = ?2" UPDATE_TAIL,
    [ST_META_READ] = "SELECT meta FROM gbx_status WHERE id = ?1",
    [ST_META_WRITE] = UPDATE_HEAD "meta = ?3 WHERE id = ?2" UPDATE_TAIL,
    [ST_EVENTS_READ] = "SELECT events FROM gbx_status WHERE id = ?1",
    [ST_EVENTS_WRITE] = UPDATE_HEAD "events = ?3 WHERE id = ?2" UPDATE_TAIL,
    [ST_PRIVATE_READ] = "SELECT private FROM gbx_status WHERE id = ?1",
    [ST_PRIVATE_WRITE] = UPDATE_HEAD "private = ?3 WHERE id = ?2" UPDATE_TAIL,
    /* As ST_COMPLETE, but a code already set stays. */
    [ST_FINISH_CANCEL] = UPDATE_HEAD "state = ?3, progress = 100, code = COALESCE(code, ?5),"
                         " messages = CASE WHEN ?6 IS NULL THEN messages"
                         " ELSE json_insert(messages, '$[#]', ?6) END"
                         " WHERE id = ?2 AND instr(?4, ',' || state || ',') > 0" UPDATE_TAIL,
    [ST_ENTER] = UPDATE_HEAD "state = ?3, concurrency = concurrency + 1"
                 " WHERE id = ?2 AND instr(?4, ',' || state || ',') > 0" UPDATE_TAIL,
    /* As ST_COMPLETE, and one worker fewer. */
    [ST_COMPLETE_LEAVE] = UPDATE_HEAD "state = ?3, progress = 100, code = ?5,"
                          " concurrency = MAX(0, concurrency - 1),"
                          " messages = CASE WHEN ?6 IS NULL THEN messages"
                          " ELSE json_insert(messages, '$[#]', ?6) END"
                          " WHERE id = ?2 AND instr(?4, ',' || state || ',') > 0" UPDATE_TAIL,
    /* The WHERE also keeps the SELECT from swallowing ON CONFLICT. */
    [ST_COUNTER_ADD] = "INSERT OR FAIL INTO gbx_counter (status_id, name, value) SELECT ?1, ?2, ?3"
                       " WHERE EXISTS (SELECT 1 FROM gbx_status WHERE id = ?1)"
                       " ON CONFLICT (status_id, name) DO UPDATE SET value = value + excluded.value"
                       " RETURNING value",
    [ST_QUEUE_PUT] = "INSERT OR FAIL INTO gbx_queue (ticket, status_id, name, envelope, due, submitted)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    /* ?1 = ticket, ?2 = now, ?3 = lease, ?4 = retryable. */
    [ST_QUEUE_TAKE] = "UPDATE OR FAIL gbx_queue SET lease = ?3, retryable = ?4"
                      " WHERE ticket = ?1 AND lease = 0 AND due <= ?2 + 0.5",
    [ST_QUEUE_RENEW] = "UPDATE OR FAIL gbx_queue SET lease = ?2 WHERE ticket = ?1 AND lease > 0",
    [ST_QUEUE_DONE] = "DELETE FROM gbx_queue WHERE ticket = ?1",
    /* ?1 = now, ?2 = resubmit_after, ?3 = max.  SET reads the old row, so
     * lease_expired says whether this claim found an expired lease. */
    [ST_QUEUE_CLAIM] = "UPDATE OR FAIL gbx_queue SET submitted = ?1, lease_expired = (lease > 0), lease = 0"
                       " WHERE ticket IN ("
                       " SELECT ticket FROM gbx_queue WHERE (lease = 0 AND due <= ?1"
                       " AND (submitted = 0 OR submitted < ?1 - ?2)) OR (lease > 0 AND lease < ?1)"
                       " ORDER BY due, ticket LIMIT ?3)"
                       " RETURNING ticket, status_id, name, envelope, due, lease_expired, retryable",
    [ST_QUEUE_NEXT] = "SELECT MIN(t) FROM ("
                      " SELECT MIN(due) AS t FROM gbx_queue WHERE submitted = 0 AND lease = 0"
                      " UNION ALL SELECT MIN(lease) FROM gbx_queue WHERE lease > 0)",
    [ST_QUEUE_RESCHEDULE] = "UPDATE OR FAIL gbx_queue SET due = ?2, submitted = 0"
                            " WHERE status_id = ?1 AND lease = 0",
    [ST_QUEUE_DROP] = "DELETE FROM gbx_queue WHERE status_id = ?1 AND lease = 0",
    [ST_CONCURRENCY] = UPDATE_HEAD "concurrency = MAX(0, concurrency + ?3)"
                       " WHERE id = ?2" UPDATE_TAIL,
    [ST_FAILURE] = UPDATE_HEAD "failures = failures + 1 WHERE id = ?2" UPDATE_TAIL,
    [ST_YTIME] = UPDATE_HEAD "ytime = ?3 WHERE id = ?2" UPDATE_TAIL,
    [ST_SET_ENVELOPE] = UPDATE_HEAD "envelope = ?3 WHERE id = ?2" UPDATE_TAIL,
    [ST_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    /* Each write of a group commit runs inside its own savepoint. */
    [ST_SAVEPOINT] = "SAVEPOINT gbx_write",
    [ST_RELEASE] = "RELEASE gbx_write",
    [ST_ROLLBACK_TO] = "ROLLBACK TO gbx_write",
    [ST_LIST] = "SELECT id FROM gbx_status"
                " WHERE (?1 IS NULL OR uri LIKE ?1 ESCAPE '\\')"
                " AND (?2 IS NULL OR state = ?2)"
                " AND (?3 IS NULL OR operation = ?3)"
                " AND (?4 IS NULL OR component = ?4)"
                " AND (?5 IS NULL OR scope = ?5)"
                " AND (?6 IS NULL OR code = ?6)"
                " AND (?7 IS NULL OR progress = ?7)"
                " AND (?9 IS NULL OR owner = ?9)"
                " AND (?10 = 0 OR owner IS NULL)"
                " ORDER BY ctime DESC, seq DESC LIMIT ?8",
    /* ?1 = the ids as a JSON array, ?2 = since: one lookup of the id index
     * per id (CROSS JOIN keeps json_each the outer loop). */
    [ST_CHANGED] = "SELECT DISTINCT s.id, s.mtime FROM json_each(?1) AS j CROSS JOIN gbx_status AS s"
                   " ON s.id = j.value WHERE s.mtime > ?2",
    /* Changes when another connection (any process) has committed since
     * this one last asked: no I/O, SQLite reads the WAL index. */
    [ST_DATA_VERSION] = "PRAGMA data_version",
    /* Retention, in one write transaction: ?1 = before, ?2 = max. */
#define PURGED "(SELECT id FROM gbx_status WHERE state IN ('COMPLETED', 'CANCELLED')" \
               " AND mtime < ?1 ORDER BY mtime LIMIT ?2)"
    [ST_PURGE_COUNTERS] = "DELETE FROM gbx_counter WHERE status_id IN " PURGED,
    [ST_PURGE_QUEUE] = "DELETE FROM gbx_queue WHERE status_id IN " PURGED,
    [ST_PURGE_CALLBACKS] = "DELETE FROM gbx_callback WHERE status_id IN " PURGED,
    [ST_PURGE_STATUSES] = "DELETE FROM gbx_status WHERE id IN " PURGED,
#undef PURGED
    [ST_PURGE_KEYS] = "DELETE FROM gbx_idempotency WHERE key IN"
                      " (SELECT key FROM gbx_idempotency WHERE created < ?1 LIMIT ?2)",
    /* In an upsert's WHERE, `created` is the existing row's. */
    [ST_IDEM_PUT] = "INSERT OR FAIL INTO gbx_idempotency (key, digest, status_id, created)"
                    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (key) DO UPDATE SET"
                    " digest = excluded.digest, status_id = excluded.status_id,"
                    " created = excluded.created WHERE created < ?5",
    [ST_IDEM_GET] = "SELECT status_id, digest FROM gbx_idempotency WHERE key = ?1",
    [ST_IDEM_DROP] = "DELETE FROM gbx_idempotency WHERE key = ?1 AND status_id = ?2",
    [ST_COUNT_STATES] = "SELECT state, count(*) FROM gbx_status GROUP BY state",
    [ST_WORKERS_PUBLISH] = "INSERT OR FAIL INTO gbx_worker_figures (worker, component, figures, updated)"
                           " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (worker) DO UPDATE SET"
                           " component = excluded.component, figures = excluded.figures,"
                           " updated = excluded.updated",
    [ST_WORKERS_FORGET] = "DELETE FROM gbx_worker_figures WHERE updated < ?1",
    [ST_WORKERS_READ] = "SELECT worker, component, updated, figures FROM gbx_worker_figures"
                        " WHERE updated >= ?1 ORDER BY worker",
    [ST_CB_PUT] = "INSERT OR FAIL INTO gbx_callback (status_id, url, location) VALUES (?1, ?2, ?3)",
    /* ?1 = now, ?2 = lease seconds, ?3 = max. */
    [ST_CB_CLAIM] = "UPDATE OR FAIL gbx_callback SET lease = ?1 + ?2 WHERE status_id IN ("
                    " SELECT c.status_id FROM gbx_callback c JOIN gbx_status s ON s.id = c.status_id"
                    " WHERE c.due <= ?1 AND c.lease < ?1 AND s.state IN ('COMPLETED', 'CANCELLED')"
                    " ORDER BY c.due LIMIT ?3)"
                    " RETURNING status_id, url, location, attempts, first_try",
    /* ?1 = status id, ?2 = due, ?3 = first_try, ?4 = attempts. */
    [ST_CB_RETRY] = "UPDATE OR FAIL gbx_callback SET due = ?2, first_try = ?3, attempts = ?4,"
                    " lease = 0 WHERE status_id = ?1",
    [ST_CB_DONE] = "DELETE FROM gbx_callback WHERE status_id = ?1",
};

struct sqlite_store;

/* One thread's connection (or the process's writer). */
typedef struct conn {
    gbx__conn_link link; /* first: a gbx__conn_link* is a conn* */
    sqlite3 *db;
    sqlite3_stmt *stmts[ST_COUNT];
    struct sqlite_store *owner;
    int failed_step; /* extended code of the last step that failed */
    double busy_since; /* monotonic seconds when the current wait for a lock began */
} conn;

typedef struct sqlite_store {
    gbx_store base; /* first: a gbx_store* is a sqlite_store* */
    char *path;     /* absolute */
    pid_t pid;      /* the process that opened it: connections do not survive fork */
    int busy_timeout_ms;
    bool sync_full;
    gbx__conn_set conns;    /* the threads' connections (reads) */
    /* Group commit: writers of one process queue here (rather than poll
     * SQLite's lock, so a busy thread pool cannot starve one of them). */
    pthread_mutex_t group_lock;
    pthread_cond_t group_done;
    struct write_op *queued, *queued_last; /* writes waiting for the next group */
    bool leading;                           /* a group is being committed */
    unsigned long groups, grouped;          /* groups committed, writes in them */
    conn *writer; /* every write of the process (the connection open() made) */
    /* Checkpoints (copying the WAL back into the database, with fsyncs)
     * run in a thread of their own, started on the first one, rather than
     * inside the commit that filled the WAL, which would hold up every
     * write of the process meanwhile. */
    pthread_mutex_t checkpoint_lock;
    pthread_cond_t checkpoint_due;
    pthread_t checkpointer;
    bool checkpointer_started, checkpoint_wanted, checkpointer_quit;
} sqlite_store;

/* The WAL's size in pages at which a checkpoint is due (SQLite's default). */
#define CHECKPOINT_PAGES 1000

static const gbx__store_ops sqlite_ops;

/* ---- errors ------------------------------------------------------------ */

/* Locked past the busy timeout, full, or failing I/O: the database is
 * unavailable for now (503 with Retry-After), not broken (500). */
static bool unavailable(int code) {
    switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
        return true;
    default:
        return false;
    }
}

static gbx_err db_error(sqlite3 *db, const char *what) {
    if (db && unavailable(sqlite3_extended_errcode(db)))
        return gbx_error_set(GBX_ERR_SERVICE_UNAVAILABLE, "status store unavailable: %s: %s", what,
                             sqlite3_errmsg(db));
    return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "status store: %s: %s", what,
                         db ? sqlite3_errmsg(db) : "out of memory");
}

static gbx_err out_of_memory(void) {
    return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "status store: out of memory");
}

/* ---- connections ------------------------------------------------------- */

static gbx_err conn_open(sqlite_store *s, struct conn **out);
static void conn_close(struct conn *c);

/* The checkpoint thread: a PASSIVE checkpoint (it never waits for readers
 * or writers) on a connection of its own whenever the writer asks. */
static void *checkpointer_main(void *arg) {
    sqlite_store *s = arg;
    struct conn *c = NULL;
    if (conn_open(s, &c) != GBX_OK) {
        gbx_log(GBX_LOG_WARN, "status store %s: no checkpoint connection: %s", s->path,
                gbx_error_last()->message);
        c = NULL;
    }
    pthread_mutex_lock(&s->checkpoint_lock);
    for (;;) {
        while (!s->checkpoint_wanted && !s->checkpointer_quit)
            pthread_cond_wait(&s->checkpoint_due, &s->checkpoint_lock);
        if (s->checkpointer_quit) break;
        s->checkpoint_wanted = false;
        pthread_mutex_unlock(&s->checkpoint_lock);
        if (c) (void)sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&s->checkpoint_lock);
    }
    pthread_mutex_unlock(&s->checkpoint_lock);
    if (c) conn_close(c);
    return NULL;
}

/* sqlite3_wal_hook of the writer, after each commit: a full WAL wakes the
 * checkpoint thread (or, if it cannot start, is checkpointed here). */
static int wal_committed(void *arg, sqlite3 *db, const char *name, int pages) {
    sqlite_store *s = arg;
    (void)name;
    if (pages < CHECKPOINT_PAGES) return SQLITE_OK;
    pthread_mutex_lock(&s->checkpoint_lock);
    if (!s->checkpointer_started && !s->checkpointer_quit &&
        pthread_create(&s->checkpointer, NULL, checkpointer_main, s) == 0)
        s->checkpointer_started = true;
    bool started = s->checkpointer_started;
    if (started) {
        s->checkpoint_wanted = true;
        pthread_cond_signal(&s->checkpoint_due);
    }
    pthread_mutex_unlock(&s->checkpoint_lock);
    if (!started) (void)sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
}

static void conn_close(conn *c) {
    for (int i = 0; i < ST_COUNT; i++) sqlite3_finalize(c->stmts[i]);
    sqlite3_close_v2(c->db);
    free(c);
}

static void conn_free_link(gbx__conn_link *link) { conn_close((conn *)link); }

static gbx_err exec_sql(sqlite3 *db, const char *sql, const char *what) {
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK) return GBX_OK;
    gbx_err rc = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "status store: %s: %s", what,
                               err ? err : sqlite3_errmsg(db));
    sqlite3_free(err);
    return rc;
}

static double monotonic_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits for another connection's lock up to busy_timeout_ms, polling often
 * (50 µs, doubling to 10 ms): another process's write holds the lock for
 * a fraction of a millisecond, so a first pause of 1 ms or more (SQLite's
 * own handler backs off to 100 ms) would set the pace of every process
 * that writes beside it. */
static int busy_wait(void *arg, int count) {
    conn *c = arg;
    double now = monotonic_seconds();
    if (count == 0) c->busy_since = now;
    if ((now - c->busy_since) * 1000.0 >= c->owner->busy_timeout_ms) return 0;
    long us = count < 8 ? 50L << count : 10000; /* 50 µs .. 6.4 ms, then 10 ms */
    if (us > 10000) us = 10000;
    struct timespec pause = {0, us * 1000};
    nanosleep(&pause, NULL);
    return 1;
}

/* Opens a connection with this store's settings (not yet registered). */
static gbx_err conn_open(sqlite_store *s, conn **out) {
    *out = NULL;
    conn *c = calloc(1, sizeof *c);
    if (!c) return out_of_memory();
    c->owner = s;
    int rc = sqlite3_open_v2(s->path, &c->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        gbx_err e = gbx_error_set(unavailable(rc) ? GBX_ERR_SERVICE_UNAVAILABLE
                                                  : GBX_ERR_INTERNAL_SERVER_ERROR,
                                  "status store %s: %s", s->path,
                                  c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        conn_close(c);
        return e;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_handler(c->db, busy_wait, c);
    gbx_err e = exec_sql(c->db, s->sync_full ? "PRAGMA synchronous=FULL"
                                             : "PRAGMA synchronous=NORMAL",
                         "setting synchronous");
    /* Reads of the database file from the page cache's mapping rather than
     * a pread each (the pages in the WAL are still read). */
    if (!e) e = exec_sql(c->db, "PRAGMA mmap_size=268435456", "setting mmap_size");
    if (e) {
        conn_close(c);
        return e;
    }
    *out = c;
    return GBX_OK;
}

/* The calling thread's connection, opened on first use. */
static gbx_err conn_get(gbx_store *store, conn **out) {
    sqlite_store *s = (sqlite_store *)store;
    gbx__conn_link *link = NULL;
    gbx_err rc = gbx__conn_set_mine(&link, &s->conns, s->path);
    if (rc) return rc;
    conn *c = (conn *)link;
    if (!c) {
        if ((rc = conn_open(s, &c))) return rc;
        gbx__conn_set_add(&s->conns, &c->link);
    }
    *out = c;
    return GBX_OK;
}

static gbx_err prepare(conn *c, stmt_id id, sqlite3_stmt **out) {
    if (!c->stmts[id] &&
        sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &c->stmts[id],
                           NULL) != SQLITE_OK) {
        c->stmts[id] = NULL;
        return db_error(c->db, "preparing a statement");
    }
    *out = c->stmts[id];
    return GBX_OK;
}

/* The calling thread's connection (*c) and its cached statement `id` (*st). */
static gbx_err conn_statement(gbx_store *store, stmt_id id, conn **c, sqlite3_stmt **st) {
    gbx_err rc = conn_get(store, c);
    return rc ? rc : prepare(*c, id, st);
}

/* Whether the last step that failed broke a unique key (a row with that
 * key exists already). */
static bool duplicate_key(const conn *c) {
    return c->failed_step == SQLITE_CONSTRAINT_PRIMARYKEY ||
           c->failed_step == SQLITE_CONSTRAINT_UNIQUE;
}

/* Makes a cached statement ready for its next use. */
static void finish(sqlite3_stmt *st) {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static void bind_text(sqlite3_stmt *st, int i, const char *text) {
    if (text) sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC);
    else sqlite3_bind_null(st, i);
}

/* ---- schema ------------------------------------------------------------ */

/* Switches the file to WAL (persistent; a no-op when it already is). */
static gbx_err enable_wal(sqlite_store *s, sqlite3 *db) {
    /* Another process creating the same file may hold the lock a moment;
     * retry within the busy timeout. */
    int waited_ms = 0;
    for (;;) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
        if (rc == SQLITE_OK) rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            const char *mode = (const char *)sqlite3_column_text(st, 0);
            if (!mode || strcmp(mode, "wal") != 0)
                gbx_log(GBX_LOG_WARN, "status store %s: journal mode is %s, not wal", s->path,
                        mode ? mode : "unknown");
            sqlite3_finalize(st);
            return GBX_OK;
        }
        gbx_err e = GBX_OK;
        if ((rc & 0xff) != SQLITE_BUSY || waited_ms >= s->busy_timeout_ms)
            e = db_error(db, "enabling WAL");
        sqlite3_finalize(st);
        if (e) return e;
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
        waited_ms += 10;
    }
}

static gbx_err migrate(sqlite3 *db, const char *path) {
    gbx_err rc = exec_sql(db, "BEGIN IMMEDIATE", "creating the schema");
    if (rc) return rc;
    rc = exec_sql(db,
                  "CREATE TABLE IF NOT EXISTS gbx_schema_version ("
                  " part TEXT PRIMARY KEY, version INTEGER NOT NULL)",
                  "creating the schema");
    int version = 0;
    if (!rc) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, "SELECT version FROM gbx_schema_version WHERE part = 'status'",
                               -1, &st, NULL) != SQLITE_OK) {
            rc = db_error(db, "reading the schema version");
        } else {
            int step = sqlite3_step(st);
            if (step == SQLITE_ROW) version = sqlite3_column_int(st, 0);
            else if (step != SQLITE_DONE) rc = db_error(db, "reading the schema version");
        }
        sqlite3_finalize(st);
    }
    if (!rc && version > SCHEMA_VERSION)
        rc = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                           "status store %s: schema version %d is newer than this build "
                           "understands (%d)",
                           path, version, SCHEMA_VERSION);
    for (int v = version; !rc && v < SCHEMA_VERSION; v++)
        rc = exec_sql(db, migrations[v], "migrating the schema");
    if (!rc && version < SCHEMA_VERSION) {
        char sql[128];
        snprintf(sql, sizeof sql,
                 "INSERT OR REPLACE INTO gbx_schema_version (part, version) VALUES ('status', %d)",
                 SCHEMA_VERSION);
        rc = exec_sql(db, sql, "recording the schema version");
    }
    if (!rc) rc = exec_sql(db, "COMMIT", "creating the schema");
    if (rc) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* ---- opening ----------------------------------------------------------- */

/* Creates the store file (if it does not exist) readable by its owner
 * only, or by the directory's group too when the directory is set-group-id
 * (the service's group, docs/security.md); SQLite gives its -wal and -shm
 * files the same mode. */
static void create_private(const char *path) {
    struct stat dir;
    char *d = strdup(path);
    char *slash = d ? strrchr(d, '/') : NULL;
    if (slash) *(slash == d ? slash + 1 : slash) = '\0';
    mode_t mode = slash && stat(d, &dir) == 0 && (dir.st_mode & S_ISGID) ? 0640 : 0600;
    free(d);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd >= 0) close(fd);
}

/* mkdir -p for the directory part of `path`. */
static gbx_err make_parent_dirs(const char *path) {
    char *dir = strdup(path);
    if (!dir) return out_of_memory();
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) {
        free(dir);
        return GBX_OK;
    }
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        bool last = (*p == '\0');
        if (*p == '/' || last) {
            char saved = *p;
            *p = '\0';
            if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
                gbx_err rc = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                                           "status store: cannot create directory %s: %s", dir,
                                           strerror(errno));
                free(dir);
                return rc;
            }
            *p = saved;
            if (last) break;
        }
    }
    struct stat st;
    gbx_err rc = GBX_OK;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        rc = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "status store: %s is not a directory",
                           dir);
    free(dir);
    return rc;
}

/* `path` made absolute, so that threads opening connections later do not
 * depend on the current directory. */
static char *absolute_path(const char *path) {
    if (path[0] == '/') return strdup(path);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) return NULL;
    size_t n = strlen(cwd) + strlen(path) + 2;
    char *abs = malloc(n);
    if (abs) snprintf(abs, n, "%s/%s", cwd, path);
    return abs;
}

#define DEFAULT_BUSY_TIMEOUT_MS 5000

/* What a "sqlite" config section says (see gearbox/store.h). */
typedef struct sqlite_options {
    const char *path;        /* absolute, or relative to base_dir / cwd */
    int busy_timeout_ms;     /* how long a writer waits for the lock */
    const char *synchronous; /* "normal" (default) or "full" */
} sqlite_options;

static gbx_err read_options(sqlite_options *o, const json_t *section) {
    gbx_err rc = gbx__store_option_string(&o->path, section, "path");
    if (!rc)
        rc = gbx__store_option_int(&o->busy_timeout_ms, section, "busy_timeout_ms",
                                   DEFAULT_BUSY_TIMEOUT_MS, 3600000);
    if (!rc) rc = gbx__store_option_string(&o->synchronous, section, "synchronous");
    if (!rc && (!o->path || !*o->path))
        rc = gbx_error_set(GBX_ERR_BAD_REQUEST,
                           "status store: \"path\" is required for type \"sqlite\"");
    return rc;
}

/* base_dir/path for a relative path (NULL: keep `path`); *out malloc'ed. */
static gbx_err join_base(char **out, const char *base_dir, const char *path) {
    *out = NULL;
    if (path[0] == '/' || strcmp(path, ":memory:") == 0 || !base_dir || !*base_dir)
        return GBX_OK;
    size_t n = strlen(base_dir) + strlen(path) + 2;
    if (!(*out = malloc(n))) return out_of_memory();
    snprintf(*out, n, "%s%s%s", base_dir, base_dir[strlen(base_dir) - 1] == '/' ? "" : "/",
             path);
    return GBX_OK;
}

static gbx_err sq_open_options(gbx_store **out, const sqlite_options *options);

static gbx_err sq_open(gbx_store **out, const json_t *section, const char *base_dir) {
    *out = NULL;
    sqlite_options options = {0};
    char *joined = NULL;
    gbx_err rc = read_options(&options, section);
    if (!rc) rc = join_base(&joined, base_dir, options.path);
    if (rc) return rc;
    if (joined) options.path = joined;
    rc = sq_open_options(out, &options);
    free(joined);
    return rc;
}

const gbx__store_backend gbx__store_backend_sqlite = {.type = "sqlite", .open = sq_open};

static gbx_err sq_open_options(gbx_store **out, const sqlite_options *options) {
    const char *path = options->path;
    if (strcmp(path, ":memory:") == 0)
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "status store: \":memory:\" cannot be shared between connections; "
                             "give a file path");
    bool sync_full = false;
    if (options->synchronous) {
        if (strcmp(options->synchronous, "full") == 0) sync_full = true;
        else if (strcmp(options->synchronous, "normal") != 0)
            return gbx_error_set(GBX_ERR_BAD_REQUEST,
                                 "status store: \"synchronous\" must be \"normal\" or \"full\", "
                                 "not \"%s\"",
                                 options->synchronous);
    }

    sqlite_store *s = calloc(1, sizeof *s);
    if (!s) return out_of_memory();
    s->base.ops = &sqlite_ops;
    s->pid = getpid();
    s->busy_timeout_ms = options->busy_timeout_ms;
    s->sync_full = sync_full;
    s->path = absolute_path(path);
    if (!s->path) {
        free(s);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                             "status store: cannot resolve %s: %s", path, strerror(errno));
    }
    gbx_err rc = make_parent_dirs(s->path);
    if (rc) {
        free(s->path);
        free(s);
        return rc;
    }
    create_private(s->path);
    if ((rc = gbx__conn_set_init(&s->conns, conn_free_link, NULL))) {
        free(s->path);
        free(s);
        return rc;
    }
    pthread_mutex_init(&s->group_lock, NULL);
    pthread_cond_init(&s->group_done, NULL);
    pthread_mutex_init(&s->checkpoint_lock, NULL);
    pthread_cond_init(&s->checkpoint_due, NULL);

    conn *c = NULL;
    rc = conn_open(s, &c);
    if (!rc) {
        rc = enable_wal(s, c->db);
        if (!rc) rc = migrate(c->db, s->path);
        if (rc) conn_close(c);
    }
    if (rc) {
        gbx__conn_set_close(&s->conns);
        pthread_mutex_destroy(&s->group_lock);
        pthread_cond_destroy(&s->group_done);
        pthread_mutex_destroy(&s->checkpoint_lock);
        pthread_cond_destroy(&s->checkpoint_due);
        free(s->path);
        free(s);
        return rc;
    }
    s->writer = c; /* every write of this process goes through it */
    sqlite3_wal_hook(c->db, wal_committed, s);
    *out = &s->base;
    return GBX_OK;
}

static void sq_close(gbx_store *store) {
    sqlite_store *s = (sqlite_store *)store;
    /* In a forked child the connections are the parent's: closing them here
     * could disturb the parent's locks, so they are left alone (the writer
     * and checkpointer below; gbx__conn_set_close knows it for the rest). */
    if (s->groups)
        gbx_log(GBX_LOG_DEBUG, "status store %s: %lu writes in %lu group commits", s->path,
                s->grouped, s->groups);
    if (s->pid != getpid()) {
        s->writer = NULL;
        s->checkpointer_started = false; /* the parent's thread */
    }
    pthread_mutex_lock(&s->checkpoint_lock);
    s->checkpointer_quit = true;
    pthread_cond_signal(&s->checkpoint_due);
    pthread_mutex_unlock(&s->checkpoint_lock);
    if (s->checkpointer_started) pthread_join(s->checkpointer, NULL);
    if (s->writer) conn_close(s->writer);
    gbx__conn_set_close(&s->conns);
    pthread_mutex_destroy(&s->group_lock);
    pthread_cond_destroy(&s->group_done);
    pthread_mutex_destroy(&s->checkpoint_lock);
    pthread_cond_destroy(&s->checkpoint_due);
    free(s->path);
    free(s);
}

/* ---- rows -------------------------------------------------------------- */

static bool dup_column(char **out, sqlite3_stmt *st, int i) {
    const unsigned char *t = sqlite3_column_text(st, i);
    if (!t) {
        *out = NULL;
        return true;
    }
    *out = strdup((const char *)t);
    return *out != NULL;
}

/* Parses a JSON column's text (NULL = empty) into an array or object. */
static gbx_err parse_json_text(json_t **out, const char *text, bool object, const char *column) {
    return gbx__store_parse_json(out, text, text ? strlen(text) : 0, object, column);
}

/* The JSON columns of a row, copied while the statement runs and parsed
 * after it has finished (so that a writer holds the lock for a copy only). */
typedef struct json_texts {
    char *messages, *children, *meta, *events, *priv;
} json_texts;

static void json_texts_free(json_texts *t) {
    free(t->messages);
    free(t->children);
    free(t->meta);
    free(t->events);
    free(t->priv);
    memset(t, 0, sizeof *t);
}

/* Copies a row of ROW_COLUMNS; the JSON columns go to *texts. */
static gbx_err read_row(sqlite3_stmt *st, gbx__status_row *row, json_texts *texts) {
    memset(row, 0, sizeof *row);
    memset(texts, 0, sizeof *texts);
    row->seq = sqlite3_column_int64(st, 0);
    bool ok = dup_column(&row->id, st, 1) && dup_column(&row->operation, st, 2) &&
              dup_column(&row->component, st, 3) && dup_column(&row->uri, st, 4) &&
              dup_column(&row->status_uri, st, 5) && dup_column(&row->parent_uri, st, 6) &&
              dup_column(&row->scope, st, 7) && dup_column(&texts->messages, st, 11) &&
              dup_column(&texts->children, st, 12) && dup_column(&texts->meta, st, 13) &&
              dup_column(&texts->events, st, 19) && dup_column(&texts->priv, st, 20) &&
              dup_column(&row->owner, st, 21);
    if (!ok) {
        gbx__status_row_clear(row);
        json_texts_free(texts);
        return out_of_memory();
    }
    const char *state = (const char *)sqlite3_column_text(st, 8);
    int s = gbx_state_from_name(state);
    if (s < 0) {
        gbx_err rc = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                                   "status store: status \"%s\" has unknown state \"%s\"",
                                   row->id ? row->id : "", state ? state : "");
        gbx__status_row_clear(row);
        json_texts_free(texts);
        return rc;
    }
    row->state = (gbx_state)s;
    row->progress = sqlite3_column_int(st, 9);
    row->code = sqlite3_column_type(st, 10) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 10);
    row->failures = sqlite3_column_int(st, 14);
    row->concurrency = sqlite3_column_int(st, 15);
    row->ctime = sqlite3_column_double(st, 16);
    row->mtime = sqlite3_column_double(st, 17);
    row->ytime = sqlite3_column_double(st, 18);
    return GBX_OK;
}

/* Parses the JSON columns into the row and frees the texts. */
static gbx_err complete_row(gbx__status_row *row, json_texts *texts) {
    gbx_err rc = parse_json_text(&row->messages, texts->messages, false, "messages");
    if (!rc) rc = parse_json_text(&row->children, texts->children, false, "children");
    if (!rc) rc = parse_json_text(&row->meta, texts->meta, true, "meta");
    if (!rc) rc = parse_json_text(&row->events, texts->events, true, "events");
    if (!rc) rc = parse_json_text(&row->priv, texts->priv, true, "private");
    json_texts_free(texts);
    if (rc) gbx__status_row_clear(row);
    return rc;
}

/* Steps a statement that yields at most one row of ROW_COLUMNS, to the end
 * (a RETURNING statement commits when it completes), and resets it.  *found
 * tells whether a row came back; on error nothing is left in *out. */
static gbx_err step_row(conn *c, sqlite3_stmt *st, gbx__status_row *out, bool *found,
                        const char *what) {
    *found = false;
    json_texts texts = {0};
    int step = sqlite3_step(st);
    gbx_err rc = GBX_OK;
    if (step == SQLITE_ROW) {
        rc = read_row(st, out, &texts);
        if (!rc) *found = true;
        while (step == SQLITE_ROW) step = sqlite3_step(st);
    }
    if (step != SQLITE_DONE && !rc) {
        c->failed_step = sqlite3_extended_errcode(c->db);
        rc = db_error(c->db, what);
    }
    finish(st);
    if (rc) {
        if (*found) gbx__status_row_clear(out);
        json_texts_free(&texts);
        *found = false;
        return rc;
    }
    if (*found && (rc = complete_row(out, &texts))) *found = false;
    return rc;
}

/* ---- group commit ------------------------------------------------------ */

static gbx_err run_simple(conn *c, stmt_id id, const char *what);

/* One caller's write, run by whichever thread commits its group.  The
 * caller embeds it first in a struct holding its arguments and results. */
typedef struct write_op {
    /* Runs the write's statements on the writer connection.  Errors are set
     * with gbx_error_set as usual (the group copies them to the caller). */
    gbx_err (*run)(conn *c, struct write_op *op);
    bool several;          /* more than one statement: a transaction even alone */
    gbx_err rc;            /* the write's result */
    char message[512];     /* its error message when rc != GBX_OK */
    bool done;             /* guarded by group_lock */
    struct write_op *next; /* in the queue or the group */
} write_op;

static void op_failed(write_op *op, gbx_err rc, const char *message) {
    op->rc = rc;
    snprintf(op->message, sizeof op->message, "%s", message);
}

/* The thread's last error into op (after op->run or a group statement). */
static void op_failed_last(write_op *op, gbx_err rc) {
    op_failed(op, rc, gbx_error_last()->message);
}

/* The group is lost (the transaction could not start, went away, or did
 * not commit): every write of it that had succeeded, or not yet run, fails
 * with `rc` / `message` (nothing of the group was written). */
static void group_lost(conn *c, write_op *group, gbx_err rc, const char *message) {
    if (!sqlite3_get_autocommit(c->db)) (void)run_simple(c, ST_ROLLBACK, "rolling back a group");
    for (write_op *op = group; op; op = op->next)
        if (op->rc == GBX_OK) op_failed(op, rc, message);
}

/* Whether a write that failed so changed nothing (a one-statement write:
 * a duplicate key, a failed precondition, no such row). */
static bool clean_failure(gbx_err rc) {
    return rc == GBX_ERR_CONFLICT || rc == GBX_ERR_NOT_FOUND;
}

/* Runs one group on the writer connection: alone, a one-statement write
 * runs as it is (autocommit); otherwise BEGIN IMMEDIATE, the writes, COMMIT.
 * A write of several statements runs in a savepoint of its own (one that
 * fails is rolled back alone); one statement that fails cleanly changed
 * nothing (clean_failure).  Any other failure (the database locked, full,
 * failing I/O: the transaction is gone or cannot go on) fails the whole
 * group. */
static void run_group(sqlite_store *s, write_op *group) {
    size_t n = 0;
    for (write_op *op = group; op; op = op->next) {
        op->rc = GBX_OK;
        n++;
    }
    gbx_err rc = GBX_OK;
    if (!s->writer && (rc = conn_open(s, &s->writer))) {
        for (write_op *op = group; op; op = op->next) op_failed_last(op, rc);
        return;
    }
    conn *c = s->writer;
    if (n == 1 && !group->several) {
        if ((rc = group->run(c, group))) op_failed_last(group, rc);
        return;
    }
    if ((rc = run_simple(c, ST_BEGIN_IMMEDIATE, "starting a transaction"))) {
        group_lost(c, group, rc, gbx_error_last()->message);
        return;
    }
    for (write_op *op = group; op; op = op->next) {
        bool savepoint = n > 1 && op->several;
        if (savepoint && (rc = run_simple(c, ST_SAVEPOINT, "starting a savepoint"))) {
            group_lost(c, group, rc, gbx_error_last()->message);
            return;
        }
        if ((rc = op->run(c, op))) {
            op_failed_last(op, rc);
            if (rc == GBX_ERR_SERVICE_UNAVAILABLE || sqlite3_get_autocommit(c->db) || n == 1 ||
                (!savepoint && !clean_failure(rc))) {
                group_lost(c, group, rc, op->message);
                return;
            }
            if (savepoint && (rc = run_simple(c, ST_ROLLBACK_TO, "rolling back a write"))) {
                group_lost(c, group, rc, gbx_error_last()->message);
                return;
            }
        }
        if (savepoint && (rc = run_simple(c, ST_RELEASE, "releasing a savepoint"))) {
            group_lost(c, group, rc, gbx_error_last()->message);
            return;
        }
    }
    if ((rc = run_simple(c, ST_COMMIT, "committing")))
        group_lost(c, group, rc, gbx_error_last()->message);
}

/* Runs `op` in the next group commit and returns its result (its error set
 * in this thread, as if it had run here). */
static gbx_err write_grouped(gbx_store *store, write_op *op) {
    sqlite_store *s = (sqlite_store *)store;
    if (s->pid != gbx__pid())
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                             "status store %s was opened before fork(); open it again in this "
                             "process",
                             s->path);
    op->rc = GBX_OK;
    op->message[0] = '\0';
    op->done = false;
    op->next = NULL;
    pthread_mutex_lock(&s->group_lock);
    if (s->queued_last) s->queued_last->next = op;
    else s->queued = op;
    s->queued_last = op;
    while (!op->done) {
        if (s->leading) {
            pthread_cond_wait(&s->group_done, &s->group_lock);
            continue;
        }
        /* Lead: take every queued write (this one among them). */
        s->leading = true;
        write_op *group = s->queued;
        s->queued = s->queued_last = NULL;
        pthread_mutex_unlock(&s->group_lock);
        run_group(s, group);
        pthread_mutex_lock(&s->group_lock);
        for (write_op *g = group, *next; g; g = next) {
            next = g->next; /* g may be gone once it is done and the lock free */
            g->done = true;
            s->grouped++;
        }
        s->groups++;
        s->leading = false;
        pthread_cond_broadcast(&s->group_done);
    }
    pthread_mutex_unlock(&s->group_lock);
    if (op->rc) return gbx_error_set(op->rc, "%s", op->message);
    return GBX_OK;
}

/* ---- operations -------------------------------------------------------- */

static gbx_err queue_put_locked(conn *c, const gbx__queued *row);

/* sq_insert's write. */
typedef struct insert_op {
    write_op op;
    const gbx__status_row *row;
    const char *envelope, *messages, *children, *meta;
    const gbx__queued *queued;
    gbx__status_row *out;
    bool found;
} insert_op;

static gbx_err run_insert(conn *c, write_op *w) {
    insert_op *o = (insert_op *)w;
    const gbx__status_row *row = o->row;
    sqlite3_stmt *st = NULL;
    gbx_err rc = prepare(c, ST_INSERT, &st);
    if (rc) return rc;
    bind_text(st, 1, row->id);
    bind_text(st, 2, row->operation);
    bind_text(st, 3, row->component);
    bind_text(st, 4, row->uri);
    bind_text(st, 5, row->status_uri);
    bind_text(st, 6, row->parent_uri);
    bind_text(st, 7, row->scope);
    bind_text(st, 8, gbx_state_name(row->state));
    sqlite3_bind_int(st, 9, row->progress);
    if (row->code >= 0) sqlite3_bind_int(st, 10, row->code);
    else sqlite3_bind_null(st, 10);
    bind_text(st, 11, o->messages);
    bind_text(st, 12, o->children);
    bind_text(st, 13, o->meta);
    sqlite3_bind_int(st, 14, row->failures);
    sqlite3_bind_int(st, 15, row->concurrency);
    sqlite3_bind_double(st, 16, row->ctime);
    sqlite3_bind_double(st, 17, row->mtime);
    sqlite3_bind_double(st, 18, row->ytime);
    bind_text(st, 19, o->envelope);
    bind_text(st, 20, row->owner);
    c->failed_step = SQLITE_OK;
    rc = step_row(c, st, o->out, &o->found, "creating a status");
    if (rc && duplicate_key(c))
        return gbx_error_set(GBX_ERR_CONFLICT, "status \"%s\" already exists", row->id);
    if (!rc && !o->found)
        rc = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "status store: insert returned no row");
    /* With the job's first queue row: both in one transaction. */
    if (!rc && o->queued) rc = queue_put_locked(c, o->queued);
    return rc;
}

static gbx_err sq_insert(gbx_store *store, const gbx__status_row *row, const char *envelope,
                         const gbx__queued *queued, gbx__status_row *out) {
    char *messages = json_dumps(row->messages, JSON_COMPACT);
    char *children = json_dumps(row->children, JSON_COMPACT);
    char *meta = json_dumps(row->meta, JSON_COMPACT | JSON_PRESERVE_ORDER);
    gbx_err rc = GBX_OK;
    if (!messages || !children || !meta) {
        rc = out_of_memory();
    } else {
        insert_op o = {.op = {.run = run_insert, .several = queued != NULL},
                       .row = row, .envelope = envelope, .messages = messages,
                       .children = children, .meta = meta, .queued = queued, .out = out};
        rc = write_grouped(store, &o.op);
        /* A row read back but then not committed goes. */
        if (rc && o.found) gbx__status_row_clear(out);
    }
    free(messages);
    free(children);
    free(meta);
    return rc;
}

static gbx_err sq_load(gbx_store *store, const char *id, gbx__status_row *out) {
    conn *c = NULL;
    sqlite3_stmt *st = NULL;
    gbx_err rc = conn_statement(store, ST_LOAD, &c, &st);
    if (rc) return rc;
    bind_text(st, 1, id);
    bool found;
    rc = step_row(c, st, out, &found, "reading a status");
    if (!rc && !found) rc = gbx__store_not_found(id);
    return rc;
}

static gbx_err sq_load_envelope(gbx_store *store, const char *id, char **out) {
    *out = NULL;
    conn *c = NULL;
    sqlite3_stmt *st = NULL;
    gbx_err rc = conn_statement(store, ST_ENVELOPE, &c, &st);
    if (rc) return rc;
    bind_text(st, 1, id);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (t && !(*out = strdup(t))) rc = out_of_memory();
    } else if (step == SQLITE_DONE) {
        rc = gbx__store_not_found(id);
    } else {
        rc = db_error(c->db, "reading an envelope");
    }
    finish(st);
    return rc;
}

/* The stored state of `id`: GBX_OK and *state, or NOT_FOUND / an error. */
static gbx_err current_state(conn *c, const char *id, gbx_state *state) {
    sqlite3_stmt *st = NULL;
    gbx_err rc = prepare(c, ST_STATE_OF, &st);
    if (rc) return rc;
    bind_text(st, 1, id);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        int s = gbx_state_from_name((const char *)sqlite3_column_text(st, 0));
        *state = s < 0 ? GBX_STATE_PENDING : (gbx_state)s;
    } else if (step == SQLITE_DONE) {
        rc = gbx__store_not_found(id);
    } else {
        rc = db_error(c->db, "reading a state");
    }
    finish(st);
    return rc;
}

/* ",PENDING,RUNNING," for a mask, as ST_SET_STATE / ST_COMPLETE expect. */
static void state_set_text(char *buf, size_t len, unsigned mask) {
    size_t o = 0;
    buf[o++] = ',';
    for (int s = GBX_STATE_PENDING; s <= GBX_STATE_COMPLETED; s++) {
        if (!(mask & GBX__STATE_BIT(s))) continue;
        int n = snprintf(buf + o, len - o, "%s,", gbx_state_name((gbx_state)s));
        if (n < 0 || (size_t)n >= len - o) break;
        o += (size_t)n;
    }
    buf[o] = '\0';
}

static bool object_change(gbx__change_kind kind) {
    return kind == GBX__CHANGE_META || kind == GBX__CHANGE_EVENT || kind == GBX__CHANGE_PRIVATE;
}

/* column[key] = value for an object column (meta, events, private) as a
 * read-modify-write inside the group's write transaction. */
static gbx_err update_object(conn *c, const char *id, const gbx__change *ch,
                             gbx__status_row *out) {
    stmt_id read_id = ST_META_READ, write_id = ST_META_WRITE;
    const char *column = "meta";
    if (ch->kind == GBX__CHANGE_EVENT) {
        read_id = ST_EVENTS_READ, write_id = ST_EVENTS_WRITE;
        column = "events";
    } else if (ch->kind == GBX__CHANGE_PRIVATE) {
        read_id = ST_PRIVATE_READ, write_id = ST_PRIVATE_WRITE;
        column = "private";
    }
    sqlite3_stmt *read = NULL, *write = NULL;
    gbx_err rc = prepare(c, read_id, &read);
    if (!rc) rc = prepare(c, write_id, &write);
    if (rc) return rc;

    json_t *meta = NULL;
    char *text = NULL;
    bool found = false;
    bind_text(read, 1, id);
    int step = sqlite3_step(read);
    if (step == SQLITE_ROW) {
        rc = parse_json_text(&meta, (const char *)sqlite3_column_text(read, 0), true, column);
    } else if (step == SQLITE_DONE) {
        rc = gbx__store_not_found(id);
    } else {
        rc = db_error(c->db, "reading an object column");
    }
    finish(read);

    if (!rc) {
        if (ch->value) {
            if (json_object_set(meta, ch->text, (json_t *)ch->value) != 0)
                rc = gbx_error_set(GBX_ERR_BAD_REQUEST, "%s key \"%s\" is not valid UTF-8",
                                   column, ch->text);
        } else {
            json_object_del(meta, ch->text);
        }
    }
    if (!rc && !(text = json_dumps(meta, JSON_COMPACT | JSON_PRESERVE_ORDER)))
        rc = gbx_error_set(GBX_ERR_BAD_REQUEST, "%s value cannot be serialised", column);
    if (!rc) {
        sqlite3_bind_double(write, 1, ch->now);
        bind_text(write, 2, id);
        bind_text(write, 3, text);
        rc = step_row(c, write, out, &found, "writing an object column");
        if (!rc && !found) rc = gbx__store_not_found(id);
    }
    json_decref(meta);
    free(text);
    return rc;
}

static gbx_err update_locked(conn *c, const char *id, const gbx__change *ch,
                             gbx__status_row *out) {
    gbx_err rc;
    if (object_change(ch->kind)) return update_object(c, id, ch, out);

    stmt_id sid;
    switch (ch->kind) {
    case GBX__CHANGE_STATE: sid = ST_SET_STATE; break;
    case GBX__CHANGE_COMPLETE: sid = ST_COMPLETE; break;
    case GBX__CHANGE_FINISH_CANCEL: sid = ST_FINISH_CANCEL; break;
    case GBX__CHANGE_ENTER: sid = ST_ENTER; break;
    case GBX__CHANGE_COMPLETE_LEAVE: sid = ST_COMPLETE_LEAVE; break;
    case GBX__CHANGE_PROGRESS: sid = ST_PROGRESS; break;
    case GBX__CHANGE_MESSAGE: sid = ST_MESSAGE; break;
    case GBX__CHANGE_CHILD: sid = ST_CHILD; break;
    case GBX__CHANGE_CONCURRENCY: sid = ST_CONCURRENCY; break;
    case GBX__CHANGE_FAILURE: sid = ST_FAILURE; break;
    case GBX__CHANGE_YTIME: sid = ST_YTIME; break;
    case GBX__CHANGE_ENVELOPE: sid = ST_SET_ENVELOPE; break;
    default:
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "status store: unknown change %d",
                             (int)ch->kind);
    }
    sqlite3_stmt *st = NULL;
    if ((rc = prepare(c, sid, &st))) return rc;

    char allowed[128];
    bool guarded = ch->kind == GBX__CHANGE_STATE || ch->kind == GBX__CHANGE_COMPLETE ||
                   ch->kind == GBX__CHANGE_FINISH_CANCEL || ch->kind == GBX__CHANGE_ENTER ||
                   ch->kind == GBX__CHANGE_COMPLETE_LEAVE;
    if (guarded) state_set_text(allowed, sizeof allowed, ch->allowed_from);

    /* A guarded change that finds the row in a state it may not start from
     * is a conflict; if the state moved on to an allowed one meanwhile, try
     * again rather than report a conflict that no longer holds. */
    for (int attempt = 0;; attempt++) {
        sqlite3_bind_double(st, 1, ch->now);
        bind_text(st, 2, id);
        switch (ch->kind) {
        case GBX__CHANGE_STATE:
        case GBX__CHANGE_ENTER:
            bind_text(st, 3, gbx_state_name(ch->to));
            bind_text(st, 4, allowed);
            break;
        case GBX__CHANGE_COMPLETE:
        case GBX__CHANGE_FINISH_CANCEL:
        case GBX__CHANGE_COMPLETE_LEAVE:
            bind_text(st, 3, gbx_state_name(ch->to));
            bind_text(st, 4, allowed);
            sqlite3_bind_int(st, 5, ch->number);
            bind_text(st, 6, ch->text);
            break;
        case GBX__CHANGE_PROGRESS:
        case GBX__CHANGE_CONCURRENCY: sqlite3_bind_int(st, 3, ch->number); break;
        case GBX__CHANGE_MESSAGE:
        case GBX__CHANGE_CHILD:
        case GBX__CHANGE_ENVELOPE: bind_text(st, 3, ch->text); break;
        case GBX__CHANGE_YTIME: sqlite3_bind_double(st, 3, ch->real); break;
        default: break;
        }
        bool found;
        rc = step_row(c, st, out, &found, "updating a status");
        if (rc || found) return rc;
        if (!guarded) return gbx__store_not_found(id);
        gbx_state now_state = GBX_STATE_PENDING;
        if ((rc = current_state(c, id, &now_state))) return rc;
        if (!(ch->allowed_from & GBX__STATE_BIT(now_state)) || attempt >= 3)
            return gbx__store_conflict(now_state);
    }
}

/* sq_update's write. */
typedef struct update_op {
    write_op op;
    const char *id;
    const gbx__change *change;
    gbx__status_row *out;
    bool found;
} update_op;

static gbx_err run_update(conn *c, write_op *w) {
    update_op *o = (update_op *)w;
    gbx_err rc = update_locked(c, o->id, o->change, o->out);
    o->found = rc == GBX_OK;
    return rc;
}

static gbx_err sq_update(gbx_store *store, const char *id, const gbx__change *ch,
                         gbx__status_row *out) {
    /* A read-modify-write needs its transaction even alone; every other
     * change is one UPDATE (a conflict's read of the state after it needs
     * none, as it changes nothing). */
    update_op o = {.op = {.run = run_update, .several = object_change(ch->kind)}, .id = id,
                   .change = ch, .out = out};
    gbx_err rc = write_grouped(store, &o.op);
    if (rc && o.found) gbx__status_row_clear(out);
    return rc;
}

/* "%<uri with % _ \ escaped>%" for LIKE ... ESCAPE '\'. */
static char *like_pattern(const char *s) {
    size_t n = strlen(s);
    char *p = malloc(2 * n + 3);
    if (!p) return NULL;
    size_t o = 0;
    p[o++] = '%';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' || s[i] == '_' || s[i] == '\\') p[o++] = '\\';
        p[o++] = s[i];
    }
    p[o++] = '%';
    p[o] = '\0';
    return p;
}

static gbx_err sq_list(gbx_store *store, const gbx__status_query *f, json_t **out) {
    *out = NULL;
    conn *c = NULL;
    sqlite3_stmt *st = NULL;
    gbx_err rc = conn_statement(store, ST_LIST, &c, &st);
    if (rc) return rc;
    char *pattern = NULL;
    if (f->uri_part && !(pattern = like_pattern(f->uri_part))) return out_of_memory();
    json_t *ids = json_array();
    if (!ids) {
        free(pattern);
        return out_of_memory();
    }
    bind_text(st, 1, pattern);
    bind_text(st, 2, f->state == GBX_STATE_UNKNOWN ? NULL : gbx_state_name(f->state));
    bind_text(st, 3, f->operation);
    bind_text(st, 4, f->component);
    bind_text(st, 5, f->scope);
    if (f->code >= 0) sqlite3_bind_int(st, 6, f->code);
    if (f->progress >= 0) sqlite3_bind_int(st, 7, f->progress);
    sqlite3_bind_int(st, 8, f->count);
    bind_text(st, 9, f->owner);
    sqlite3_bind_int(st, 10, f->ownerless ? 1 : 0);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        if (json_array_append_new(ids, json_string(id ? id : "")) != 0) {
            rc = out_of_memory();
            break;
        }
    }
    if (!rc && step != SQLITE_DONE) rc = db_error(c->db, "listing statuses");
    finish(st);
    free(pattern);
    if (rc) {
        json_decref(ids);
        return rc;
    }
    *out = ids;
    return GBX_OK;
}

static gbx_err sq_changed(gbx_store *store, const char *const *ids, size_t n, double since,
                          json_t **out) {
    *out = NULL;
    json_t *list = json_array();
    for (size_t i = 0; list && i < n; i++)
        if (json_array_append_new(list, json_string(ids[i])) != 0) {
            json_decref(list);
            list = NULL;
        }
    char *text = list ? json_dumps(list, JSON_COMPACT) : NULL;
    json_decref(list);
    json_t *found = json_object();
    if (!text || !found) {
        free(text);
        json_decref(found);
        return out_of_memory();
    }
    conn *c = NULL;
    sqlite3_stmt *st = NULL;
    gbx_err rc = conn_statement(store, ST_CHANGED, &c, &st);
    if (rc) {
        free(text);
        json_decref(found);
        return rc;
    }
    sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 2, since);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        if (id && json_object_set_new(found, id, json_real(sqlite3_column_double(st, 1))) != 0) {
            rc = out_of_memory();
            break;
        }
    }
    if (!rc && step != SQLITE_DONE) rc = db_error(c->db, "reading which statuses changed");
    finish(st);
    free(text);
    if (rc) {
        json_decref(found);
        return rc;
    }
    *out = found;
    return GBX_OK;
}

static gbx_err sq_version(gbx_store *store, uint64_t *out) {
    *out = 0;
    conn *c = NULL;
    sqlite3_stmt *st = NULL;
    gbx_err rc = conn_statement(store, ST_DATA_VERSION, &c, &st);
    if (rc) return rc;
    if (sqlite3_step(st) == SQLITE_ROW) *out = (uint64_t)sqlite3_column_int64(st, 0);
    else rc = db_error(c->db, "reading the data version");
    finish(st);
    return rc;
}

/* ---- counters ---------------------------------------------------------- */

/* sq_counter_add's write. */
typedef struct counter_op {
    write_op op;
    const char *id, *name;
    long long delta, value;
    bool found;
} counter_op;

static gbx_err run_counter(conn *c, write_op *w) {
    counter_op *o = (counter_op *)w;
    sqlite3_stmt *st = NULL;
    gbx_err rc = prepare(c, ST_COUNTER_ADD, &st);
    if (rc) return rc;
    bind_text(st, 1, o->id);
    bind_text(st, 2, o->name);
    sqlite3_bind_int64(st, 3, o->delta);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        o->found = true;
        o->value = sqlite3_column_int64(st, 0);
        while (step == SQLITE_ROW) step = sqlite3_step(st);
    }
    if (step != SQLITE_DONE) rc = db_error(c->db, "adding to a counter");
    finish(st);
    if (!rc && !o->found) rc = gbx__store_not_found(o->id);
    return rc;
}

static gbx_err sq_counter_add(gbx_store *store, const char *id, const char *name,
                              long long delta, long long *out) {
    counter_op o = {.op = {.run = run_counter}, .id = id, .name = name, .delta = delta};
    gbx_err rc = write_grouped(store, &o.op);
    if (!rc) *out = o.value;
    return rc;
}

/* ---- the job queue ----------------------------------------------------- */

/* Runs a statement without parameters or rows (BEGIN, COMMIT, ROLLBACK). */
static gbx_err run_simple(conn *c, stmt_id id, const char *what) {
    sqlite3_stmt *st = NULL;
    gbx_err rc = prepare(c, id, &st);
    if (rc) return rc;
    int step = sqlite3_step(st);
    if (step != SQLITE_DONE) {
        c->failed_step = sqlite3_extended_errcode(c->db);
        rc = db_error(c->db, what);
    }
    finish(st);
    return rc;
}

/* Inserts a queue row inside a write. */
static gbx_err queue_put_locked(conn *c, const gbx__queued *row) {
    sqlite3_stmt *st = NULL;
    gbx_err rc = prepare(c, ST_QUEUE_PUT, &st);
    if (rc) return rc;
    bind_text(st, 1, row->ticket);
    bind_text(st, 2, row->status_id);
    bind_text(st, 3, row->name);
    bind_text(st, 4, row->envelope);
    sqlite3_bind_double(st, 5, row->due);
    sqlite3_bind_double(st, 6, row->submitted);
    c->failed_step = SQLITE_OK;
    if (sqlite3_step(st) != SQLITE_DONE) {
        c->failed_step = sqlite3_extended_errcode(c->db);
        rc = duplicate_key(c) ? gbx_error_set(GBX_ERR_CONFLICT,
                                              "job queue: ticket \"%s\" already exists",
                                              row->ticket)
                              : db_error(c->db, "queueing a job");
    }
    finish(st);
    return rc;
}

/* sq_queue_put's write. */
typedef struct queue_put_op {
    write_op op;
    const gbx__queued *row;
} queue_put_op;

static gbx_err run_queue_put(conn *c, write_op *w) {
    return queue_put_locked(c, ((queue_put_op *)w)->row);
}

static gbx_err sq_queue_put(gbx_store *store, const gbx__queued *row) {
    queue_put_op o = {.op = {.run = run_queue_put}, .row = row};
    return write_grouped(store, &o.op);
}

/* A write of one statement without result rows: ?1 = text, then text2 (if
 * set), the reals, then (if has_int) the integer; changes = rows it changed. */
typedef struct simple_op {
    write_op op;
    stmt_id sid;
    const char *what;
    const char *text, *text2;
    double reals[2];
    int nreals;
    bool has_int;
    int integer;
    size_t changes;
} simple_op;

static gbx_err run_simple_op(conn *c, write_op *w) {
    simple_op *o = (simple_op *)w;
    sqlite3_stmt *st = NULL;
    gbx_err rc = prepare(c, o->sid, &st);
    if (rc) return rc;
    int i = 1;
    bind_text(st, i++, o->text);
    if (o->text2) bind_text(st, i++, o->text2);
    for (int r = 0; r < o->nreals; r++) sqlite3_bind_double(st, i++, o->reals[r]);
    if (o->has_int) sqlite3_bind_int(st, i, o->integer);
    c->failed_step = SQLITE_OK;
    if (sqlite3_step(st) != SQLITE_DONE) {
        c->failed_step = sqlite3_extended_errcode(c->db);
        rc = db_error(c->db, o->what);
    } else {
        o->changes = (size_t)sqlite3_changes(c->db);
    }
    finish(st);
    return rc;
}

static gbx_err sq_queue_take(gbx_store *store, const char *ticket, double now, double lease,
                             bool retryable, bool *taken) {
    simple_op o = {.op = {.run = run_simple_op}, .sid = ST_QUEUE_TAKE,
                   .what = "taking a queued job", .text = ticket, .reals = {now, lease},
                   .nreals = 2, .has_int = true, .integer = retryable ? 1 : 0};
    gbx_err rc = write_grouped(store, &o.op);
    *taken = !rc && o.changes > 0;
    return rc;
}

static gbx_err sq_queue_renew(gbx_store *store, const char *ticket, double lease, bool *held) {
    simple_op o = {.op = {.run = run_simple_op}, .sid = ST_QUEUE_RENEW,
                   .what = "renewing a lease", .text = ticket, .reals = {lease}, .nreals = 1};
    gbx_err rc = write_grouped(store, &o.op);
    *held = !rc && o.changes > 0;
    return rc;
}

static gbx_err sq_queue_done(gbx_store *store, const char *ticket) {
    simple_op o = {.op = {.run = run_simple_op}, .sid = ST_QUEUE_DONE,
                   .what = "deleting a done job", .text = ticket};
    return write_grouped(store, &o.op);
}

static int queued_by_due(const void *a, const void *b) {
    const gbx__queued *x = a, *y = b;
    if (x->due != y->due) return x->due < y->due ? -1 : 1;
    return strcmp(x->ticket, y->ticket);
}

/* sq_queue_claim_due's write. */
typedef struct claim_op {
    write_op op;
    double now, resubmit_after;
    size_t max;
    gbx__queued *rows;
    size_t count;
} claim_op;

static gbx_err run_claim(conn *c, write_op *w) {
    claim_op *o = (claim_op *)w;
    sqlite3_stmt *st = NULL;
    gbx_err rc = prepare(c, ST_QUEUE_CLAIM, &st);
    if (rc) return rc;
    sqlite3_bind_double(st, 1, o->now);
    sqlite3_bind_double(st, 2, o->resubmit_after);
    sqlite3_bind_int64(st, 3, o->max > (size_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)o->max);
    size_t cap = 0;
    bool oom = false;
    int step;
    /* Every row is stepped (the update completes with the statement);
     * copies that fail for memory are counted and reported. */
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (oom) continue;
        if (o->count == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            gbx__queued *grown = realloc(o->rows, ncap * sizeof *grown);
            if (!grown) {
                oom = true;
                continue;
            }
            o->rows = grown;
            cap = ncap;
        }
        gbx__queued *r = &o->rows[o->count];
        memset(r, 0, sizeof *r);
        o->count++;
        if (!dup_column(&r->ticket, st, 0) || !dup_column(&r->status_id, st, 1) ||
            !dup_column(&r->name, st, 2) || !dup_column(&r->envelope, st, 3) || !r->ticket ||
            !r->name || !r->envelope)
            oom = true;
        r->due = sqlite3_column_double(st, 4);
        r->submitted = o->now;
        r->lease_expired = sqlite3_column_int(st, 5) != 0;
        r->retryable = sqlite3_column_int(st, 6) != 0;
    }
    if (step != SQLITE_DONE) rc = db_error(c->db, "claiming due jobs");
    finish(st);
    if (!rc && oom) rc = out_of_memory();
    return rc;
}

static gbx_err sq_queue_claim_due(gbx_store *store, double now, double resubmit_after,
                                  size_t max, gbx__queued **out, size_t *n) {
    claim_op o = {.op = {.run = run_claim}, .now = now, .resubmit_after = resubmit_after,
                  .max = max};
    gbx_err rc = write_grouped(store, &o.op);
    if (rc) {
        /* Rows claimed but not handed out are submitted again after the
         * resubmit window: nothing is lost. */
        gbx__queued_free(o.rows, o.count);
        return rc;
    }
    if (o.count > 1) qsort(o.rows, o.count, sizeof *o.rows, queued_by_due);
    *out = o.rows;
    *n = o.count;
    return GBX_OK;
}

static gbx_err sq_queue_next_due(gbx_store *store, double *out) {
    conn *c = NULL;
    sqlite3_stmt *st = NULL;
    gbx_err rc = conn_statement(store, ST_QUEUE_NEXT, &c, &st);
    if (rc) return rc;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        *out = sqlite3_column_type(st, 0) == SQLITE_NULL ? 0 : sqlite3_column_double(st, 0);
        step = sqlite3_step(st);
    }
    if (step != SQLITE_DONE) rc = db_error(c->db, "reading the queue");
    finish(st);
    return rc;
}

static gbx_err sq_queue_reschedule(gbx_store *store, const char *status_id, double due,
                                   size_t *n) {
    simple_op o = {.op = {.run = run_simple_op}, .sid = ST_QUEUE_RESCHEDULE,
                   .what = "rescheduling queued jobs", .text = status_id, .reals = {due},
                   .nreals = 1};
    gbx_err rc = write_grouped(store, &o.op);
    *n = rc ? 0 : o.changes;
    return rc;
}

static gbx_err sq_queue_drop(gbx_store *store, const char *status_id, size_t *n) {
    simple_op o = {.op = {.run = run_simple_op}, .sid = ST_QUEUE_DROP,
                   .what = "dropping queued jobs", .text = status_id};
    gbx_err rc = write_grouped(store, &o.op);
    *n = rc ? 0 : o.changes;
    return rc;
}

/* ---- retention ---------------------------------------------------------- */

/* sq_purge's write. */
typedef struct purge_op {
    write_op op;
    double before;
    size_t max, deleted;
} purge_op;

static gbx_err run_purge(conn *c, write_op *w) {
    purge_op *o = (purge_op *)w;
    static const stmt_id steps[] = {ST_PURGE_COUNTERS, ST_PURGE_QUEUE, ST_PURGE_CALLBACKS,
                                    ST_PURGE_STATUSES, ST_PURGE_KEYS};
    sqlite3_int64 limit = o->max > (size_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)o->max;
    gbx_err rc = GBX_OK;
    for (size_t i = 0; !rc && i < sizeof steps / sizeof steps[0]; i++) {
        sqlite3_stmt *st = NULL;
        if ((rc = prepare(c, steps[i], &st))) break;
        sqlite3_bind_double(st, 1, o->before);
        sqlite3_bind_int64(st, 2, limit);
        if (sqlite3_step(st) != SQLITE_DONE) rc = db_error(c->db, "deleting old statuses");
        else if (steps[i] == ST_PURGE_STATUSES) o->deleted = (size_t)sqlite3_changes(c->db);
        finish(st);
    }
    return rc;
}

static gbx_err sq_purge(gbx_store *store, double before, size_t max, size_t *n) {
    purge_op o = {.op = {.run = run_purge, .several = true}, .before = before, .max = max};
    gbx_err rc = write_grouped(store, &o.op);
    *n = rc ? 0 : o.deleted;
    return rc;
}

/* ---- idempotency keys ---------------------------------------------------- */

/* sq_idempotency_put's write. */
typedef struct idempotency_op {
    write_op op;
    const char *key, *digest, *status_id;
    double now, expire_before;
    char **existing_id, **existing_digest;
} idempotency_op;

static gbx_err run_idempotency_put(conn *c, write_op *w) {
    idempotency_op *o = (idempotency_op *)w;
    sqlite3_stmt *put = NULL, *get = NULL;
    gbx_err rc;
    if ((rc = prepare(c, ST_IDEM_PUT, &put)) || (rc = prepare(c, ST_IDEM_GET, &get))) return rc;
    bool added = false;
    bind_text(put, 1, o->key);
    bind_text(put, 2, o->digest);
    bind_text(put, 3, o->status_id);
    sqlite3_bind_double(put, 4, o->now);
    sqlite3_bind_double(put, 5, o->expire_before);
    if (sqlite3_step(put) != SQLITE_DONE) rc = db_error(c->db, "keeping an idempotency key");
    else added = sqlite3_changes(c->db) > 0;
    finish(put);
    if (!rc && !added) {
        bind_text(get, 1, o->key);
        int step = sqlite3_step(get);
        if (step == SQLITE_ROW) {
            if (!dup_column(o->existing_id, get, 0) || !dup_column(o->existing_digest, get, 1))
                rc = out_of_memory();
        } else {
            rc = db_error(c->db, "reading an idempotency key");
        }
        finish(get);
    }
    return rc;
}

static gbx_err sq_idempotency_put(gbx_store *store, const char *key, const char *digest,
                                  const char *status_id, double now, double expire_before,
                                  char **existing_id, char **existing_digest) {
    idempotency_op o = {.op = {.run = run_idempotency_put, .several = true}, .key = key,
                        .digest = digest, .status_id = status_id, .now = now,
                        .expire_before = expire_before, .existing_id = existing_id,
                        .existing_digest = existing_digest};
    gbx_err rc = write_grouped(store, &o.op);
    if (rc) {
        free(*existing_id);
        free(*existing_digest);
        *existing_id = *existing_digest = NULL;
    }
    return rc;
}

static gbx_err sq_idempotency_drop(gbx_store *store, const char *key, const char *status_id) {
    simple_op o = {.op = {.run = run_simple_op}, .sid = ST_IDEM_DROP,
                   .what = "dropping an idempotency key", .text = key, .text2 = status_id};
    return write_grouped(store, &o.op);
}

/* ---- metrics ------------------------------------------------------------ */

static gbx_err sq_count_states(gbx_store *store, long long *counts, size_t n) {
    conn *c = NULL;
    sqlite3_stmt *st = NULL;
    gbx_err rc = conn_statement(store, ST_COUNT_STATES, &c, &st);
    if (rc) return rc;
    for (size_t i = 0; i < n; i++) counts[i] = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int state = gbx_state_from_name((const char *)sqlite3_column_text(st, 0));
        if (state >= 0 && (size_t)state < n) counts[state] += sqlite3_column_int64(st, 1);
    }
    if (step != SQLITE_DONE) rc = db_error(c->db, "counting statuses");
    finish(st);
    return rc;
}

/* ---- completion callbacks ----------------------------------------------- */

/* sq_callback_put's write. */
typedef struct callback_put_op {
    write_op op;
    const char *status_id, *url, *location;
} callback_put_op;

static gbx_err run_callback_put(conn *c, write_op *w) {
    callback_put_op *o = (callback_put_op *)w;
    sqlite3_stmt *st = NULL;
    gbx_err rc = prepare(c, ST_CB_PUT, &st);
    if (rc) return rc;
    bind_text(st, 1, o->status_id);
    bind_text(st, 2, o->url);
    bind_text(st, 3, o->location);
    c->failed_step = SQLITE_OK;
    if (sqlite3_step(st) != SQLITE_DONE) {
        c->failed_step = sqlite3_extended_errcode(c->db);
        rc = duplicate_key(c) ? gbx_error_set(GBX_ERR_CONFLICT,
                                              "callbacks: status \"%s\" has one already",
                                              o->status_id)
                              : db_error(c->db, "keeping a callback");
    }
    finish(st);
    return rc;
}

/* sq_workers_publish's write. */
typedef struct publish_op {
    write_op op;
    const char *worker, *component, *figures;
    double now, forget_before;
} publish_op;

static gbx_err run_publish(conn *c, write_op *w) {
    publish_op *o = (publish_op *)w;
    sqlite3_stmt *put = NULL, *forget = NULL;
    gbx_err rc;
    if ((rc = prepare(c, ST_WORKERS_PUBLISH, &put)) || (rc = prepare(c, ST_WORKERS_FORGET, &forget)))
        return rc;
    bind_text(put, 1, o->worker);
    bind_text(put, 2, o->component);
    bind_text(put, 3, o->figures);
    sqlite3_bind_double(put, 4, o->now);
    if (sqlite3_step(put) != SQLITE_DONE) rc = db_error(c->db, "publishing worker figures");
    finish(put);
    sqlite3_bind_double(forget, 1, o->forget_before);
    if (!rc && sqlite3_step(forget) != SQLITE_DONE) rc = db_error(c->db, "forgetting old workers");
    finish(forget);
    return rc;
}

static gbx_err sq_workers_publish(gbx_store *store, const char *worker, const char *component,
                                  const char *figures, double now, double forget_before) {
    publish_op o = {.op = {.run = run_publish, .several = true}, .worker = worker,
                    .component = component, .figures = figures, .now = now,
                    .forget_before = forget_before};
    return write_grouped(store, &o.op);
}

static gbx_err sq_workers_read(gbx_store *store, double since, json_t **out) {
    *out = NULL;
    conn *c = NULL;
    sqlite3_stmt *st = NULL;
    gbx_err rc = conn_statement(store, ST_WORKERS_READ, &c, &st);
    if (rc) return rc;
    json_t *rows = json_array();
    if (!rows) {
        finish(st);
        return out_of_memory();
    }
    sqlite3_bind_double(st, 1, since);
    int step = SQLITE_DONE;
    while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *figures = NULL;
        const char *text = (const char *)sqlite3_column_text(st, 3);
        rc = gbx__store_parse_json(&figures, text, text ? strlen(text) : 0, true, "figures");
        if (rc) break;
        json_t *row = json_pack("{s:s?, s:s?, s:f, s:o}", "worker", sqlite3_column_text(st, 0),
                                "component", sqlite3_column_text(st, 1), "updated",
                                sqlite3_column_double(st, 2), "figures", figures);
        if (!row || json_array_append_new(rows, row) != 0) rc = out_of_memory();
    }
    if (!rc && step != SQLITE_DONE) rc = db_error(c->db, "reading worker figures");
    finish(st);
    if (rc) {
        json_decref(rows);
        return rc;
    }
    *out = rows;
    return GBX_OK;
}

static gbx_err sq_callback_put(gbx_store *store, const char *status_id, const char *url,
                               const char *location) {
    callback_put_op o = {.op = {.run = run_callback_put}, .status_id = status_id, .url = url,
                         .location = location};
    return write_grouped(store, &o.op);
}

/* sq_callback_claim's write. */
typedef struct callback_claim_op {
    write_op op;
    double now, lease;
    size_t max;
    gbx_store_callback *rows;
    size_t count;
} callback_claim_op;

static gbx_err run_callback_claim(conn *c, write_op *w) {
    callback_claim_op *o = (callback_claim_op *)w;
    sqlite3_stmt *st = NULL;
    gbx_err rc = prepare(c, ST_CB_CLAIM, &st);
    if (rc) return rc;
    sqlite3_bind_double(st, 1, o->now);
    sqlite3_bind_double(st, 2, o->lease);
    sqlite3_bind_int64(st, 3, o->max > (size_t)INT32_MAX ? INT32_MAX : (sqlite3_int64)o->max);
    bool oom = false;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (oom || o->count >= o->max) continue;
        if (!o->rows && !(o->rows = calloc(o->max, sizeof *o->rows))) {
            oom = true;
            continue;
        }
        gbx_store_callback *r = &o->rows[o->count++];
        if (!dup_column(&r->status_id, st, 0) || !dup_column(&r->url, st, 1) ||
            !dup_column(&r->location, st, 2) || !r->status_id || !r->url || !r->location)
            oom = true;
        r->attempts = sqlite3_column_int(st, 3);
        r->first_try = sqlite3_column_double(st, 4);
    }
    if (step != SQLITE_DONE) rc = db_error(c->db, "claiming callbacks");
    finish(st);
    if (!rc && oom) rc = out_of_memory();
    return rc;
}

static gbx_err sq_callback_claim(gbx_store *store, double now, double lease, size_t max,
                                 gbx_store_callback **out, size_t *n) {
    callback_claim_op o = {.op = {.run = run_callback_claim}, .now = now, .lease = lease,
                           .max = max > 1000 ? 1000 : max};
    gbx_err rc = write_grouped(store, &o.op);
    if (rc) {
        /* Claimed rows not handed out go to the next claim after the lease. */
        gbx_store_callbacks_free(o.rows, o.count);
        return rc;
    }
    *out = o.rows;
    *n = o.count;
    return GBX_OK;
}

static gbx_err sq_callback_retry(gbx_store *store, const char *status_id, double due,
                                 int attempts, double first_try) {
    simple_op o = {.op = {.run = run_simple_op}, .sid = ST_CB_RETRY,
                   .what = "rescheduling a callback", .text = status_id,
                   .reals = {due, first_try}, .nreals = 2, .has_int = true, .integer = attempts};
    return write_grouped(store, &o.op);
}

static gbx_err sq_callback_done(gbx_store *store, const char *status_id) {
    simple_op o = {.op = {.run = run_simple_op}, .sid = ST_CB_DONE,
                   .what = "deleting a callback", .text = status_id};
    return write_grouped(store, &o.op);
}

static const gbx__store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .insert = sq_insert,
    .load = sq_load,
    .load_envelope = sq_load_envelope,
    .update = sq_update,
    .list = sq_list,
    .counter_add = sq_counter_add,
    .queue_put = sq_queue_put,
    .queue_take = sq_queue_take,
    .queue_renew = sq_queue_renew,
    .queue_done = sq_queue_done,
    .queue_claim_due = sq_queue_claim_due,
    .queue_next_due = sq_queue_next_due,
    .queue_reschedule = sq_queue_reschedule,
    .queue_drop = sq_queue_drop,
    .idempotency_put = sq_idempotency_put,
    .idempotency_drop = sq_idempotency_drop,
    .callback_put = sq_callback_put,
    .callback_claim = sq_callback_claim,
    .callback_retry = sq_callback_retry,
    .callback_done = sq_callback_done,
    .purge = sq_purge,
    .count_states = sq_count_states,
    .workers_publish = sq_workers_publish,
    .workers_read = sq_workers_read,
    .changed = sq_changed,
    .version = sq_version,
};
