/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* backend.c - helpers every store backend may use (backend.h). */
#include "store/backend.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

gbx_err gbx__store_not_found(const char *id) {
    return gbx_error_set(GBX_ERR_NOT_FOUND, "status \"%s\" not found", id ? id : "");
}

gbx_err gbx__store_conflict(gbx_state current) {
    return gbx_error_set(GBX_ERR_CONFLICT, "state is currently %s", gbx_state_name(current));
}

double gbx__now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The process id, kept rather than asked for: getpid() is a system call,
 * and every store operation checks it.  A fork() child sets its own. */
static atomic_int pid_now;
static pthread_once_t pid_once = PTHREAD_ONCE_INIT;

static void pid_forked(void) { atomic_store(&pid_now, (int)getpid()); }

static void pid_init(void) {
    atomic_store(&pid_now, (int)getpid());
    pthread_atfork(NULL, NULL, pid_forked);
}

pid_t gbx__pid(void) {
    pthread_once(&pid_once, pid_init);
    return (pid_t)atomic_load_explicit(&pid_now, memory_order_relaxed);
}

/* ---- one connection per thread ------------------------------------------ */

static void conn_unlink(gbx__conn_set *set, gbx__conn_link *c) {
    if (c->prev) c->prev->next = c->next;
    else set->head = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

/* pthread key destructor: the thread that owned the connection exits. */
static void conn_thread_exit(void *p) {
    gbx__conn_link *c = p;
    gbx__conn_set *set = c->set;
    pthread_mutex_lock(&set->lock);
    conn_unlink(set, c);
    pthread_mutex_unlock(&set->lock);
    set->free_conn(c);
    if (set->thread_end) set->thread_end();
}

gbx_err gbx__conn_set_init(gbx__conn_set *set, void (*free_conn)(gbx__conn_link *),
                           void (*thread_end)(void)) {
    memset(set, 0, sizeof *set);
    if (pthread_key_create(&set->key, conn_thread_exit) != 0)
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "status store: no thread-local key left");
    pthread_mutex_init(&set->lock, NULL);
    set->pid = getpid();
    set->free_conn = free_conn;
    set->thread_end = thread_end;
    return GBX_OK;
}

gbx_err gbx__conn_set_mine(gbx__conn_link **out, gbx__conn_set *set, const char *where) {
    *out = NULL;
    if (set->pid != gbx__pid())
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                             "status store %s was opened before fork(); open it again in this "
                             "process",
                             where);
    *out = pthread_getspecific(set->key);
    return GBX_OK;
}

void gbx__conn_set_add(gbx__conn_set *set, gbx__conn_link *c) {
    c->set = set;
    pthread_mutex_lock(&set->lock);
    c->prev = NULL;
    c->next = set->head;
    if (set->head) set->head->prev = c;
    set->head = c;
    pthread_mutex_unlock(&set->lock);
    pthread_setspecific(set->key, c);
}

void gbx__conn_set_close(gbx__conn_set *set) {
    /* After the key is gone no thread-exit destructor runs for it. */
    pthread_key_delete(set->key);
    pthread_mutex_lock(&set->lock);
    gbx__conn_link *c = set->head;
    set->head = NULL;
    pthread_mutex_unlock(&set->lock);
    /* In a forked child the connections are the parent's (its locks, its
     * sessions): closing them here would disturb the parent. */
    bool mine = set->pid == getpid();
    while (c) {
        gbx__conn_link *next = c->next;
        if (mine) set->free_conn(c);
        c = next;
    }
    pthread_mutex_destroy(&set->lock);
}

gbx_err gbx__store_parse_json(json_t **out, const char *text, size_t len, bool object,
                              const char *column) {
    if (!text) {
        *out = object ? json_object() : json_array();
        return *out ? GBX_OK
                    : gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "status store: out of memory");
    }
    json_error_t jerr;
    *out = json_loadb(text, len, 0, &jerr);
    if (*out && (object ? !json_is_object(*out) : !json_is_array(*out))) {
        json_decref(*out);
        *out = NULL;
    }
    if (!*out)
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR,
                             "status store: column %s holds malformed JSON", column);
    return GBX_OK;
}

static double monotonic_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool gbx__store_again(const gbx_store *store, gbx_err rc, gbx__store_wait *wait) {
    if (rc != GBX_ERR_SERVICE_UNAVAILABLE || !store || !(store->patience > 0)) return false;
    double now = monotonic_now();
    if (wait->since == 0) {
        wait->since = now;
        wait->pause = 0.05;
    }
    double left = wait->since + store->patience - now;
    if (left <= 0) return false;
    double pause = wait->pause < left ? wait->pause : left;
    struct timespec ts = {(time_t)pause, (long)((pause - (double)(time_t)pause) * 1e9)};
    nanosleep(&ts, NULL);
    wait->pause = wait->pause * 2 > 2 ? 2 : wait->pause * 2;
    return true;
}

void gbx__status_row_clear(gbx__status_row *row) {
    if (!row) return;
    free(row->id);
    free(row->operation);
    free(row->component);
    free(row->uri);
    free(row->status_uri);
    free(row->parent_uri);
    free(row->scope);
    free(row->owner);
    json_decref(row->messages);
    json_decref(row->children);
    json_decref(row->meta);
    json_decref(row->events);
    json_decref(row->priv);
    memset(row, 0, sizeof *row);
}

void gbx__queued_free(gbx__queued *rows, size_t n) {
    if (!rows) return;
    for (size_t i = 0; i < n; i++) {
        free(rows[i].ticket);
        free(rows[i].status_id);
        free(rows[i].name);
        free(rows[i].envelope);
    }
    free(rows);
}

gbx_err gbx__store_option_int(int *out, const json_t *section, const char *key, int dflt,
                              int max) {
    const json_t *v = json_object_get(section, key);
    *out = dflt;
    if (!v || json_is_null(v)) return GBX_OK;
    /* A string of digits too: what "${DB_PORT:-3306}" expands to. */
    long long value = -1;
    if (json_is_integer(v)) {
        value = json_integer_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end = NULL;
        if (*s >= '0' && *s <= '9' && strlen(s) <= 10) value = strtoll(s, &end, 10);
        if (!end || *end) value = -1;
    }
    if (value < 0 || value > max)
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "status store: \"%s\" must be an integer from 0 to %d", key, max);
    *out = (int)value;
    return GBX_OK;
}

gbx_err gbx__store_option_string(const char **out, const json_t *section, const char *key) {
    const json_t *v = json_object_get(section, key);
    *out = NULL;
    if (!v || json_is_null(v)) return GBX_OK;
    if (!json_is_string(v))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "status store: \"%s\" must be a string", key);
    *out = json_string_value(v);
    return GBX_OK;
}

/* Appends a copy of `text` to a JSON array. */
static gbx_err append_text(json_t *array, const char *text) {
    if (json_array_append_new(array, json_string(text)) != 0)
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    return GBX_OK;
}

/* object[key] = copy of value; NULL value deletes the key. */
static gbx_err set_key(json_t *object, const char *key, const json_t *value) {
    if (!value) {
        json_object_del(object, key);
        return GBX_OK;
    }
    if (json_object_set_new(object, key, json_deep_copy(value)) != 0)
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    return GBX_OK;
}

gbx_err gbx__change_apply(gbx__status_row *row, const gbx__change *ch) {
    bool guarded = ch->kind == GBX__CHANGE_STATE || ch->kind == GBX__CHANGE_COMPLETE ||
                   ch->kind == GBX__CHANGE_FINISH_CANCEL || ch->kind == GBX__CHANGE_ENTER ||
                   ch->kind == GBX__CHANGE_COMPLETE_LEAVE;
    if (guarded && !(ch->allowed_from & GBX__STATE_BIT(row->state)))
        return gbx__store_conflict(row->state);
    if (ch->now > row->mtime) row->mtime = ch->now;
    switch (ch->kind) {
    case GBX__CHANGE_STATE: row->state = ch->to; return GBX_OK;
    case GBX__CHANGE_ENTER:
        row->state = ch->to;
        row->concurrency++;
        return GBX_OK;
    case GBX__CHANGE_COMPLETE_LEAVE:
        if (row->concurrency > 0) row->concurrency--;
        /* fall through - the rest is COMPLETE */
    case GBX__CHANGE_COMPLETE:
    case GBX__CHANGE_FINISH_CANCEL:
        row->state = ch->to;
        row->progress = 100;
        if (ch->kind != GBX__CHANGE_FINISH_CANCEL || row->code < 0) row->code = ch->number;
        return ch->text ? append_text(row->messages, ch->text) : GBX_OK;
    case GBX__CHANGE_PROGRESS:
        if (ch->number > row->progress) row->progress = ch->number;
        return GBX_OK;
    case GBX__CHANGE_MESSAGE: return append_text(row->messages, ch->text);
    case GBX__CHANGE_CHILD: return append_text(row->children, ch->text);
    case GBX__CHANGE_META: return set_key(row->meta, ch->text, ch->value);
    case GBX__CHANGE_EVENT: return set_key(row->events, ch->text, ch->value);
    case GBX__CHANGE_PRIVATE: return set_key(row->priv, ch->text, ch->value);
    case GBX__CHANGE_CONCURRENCY:
        row->concurrency = row->concurrency + ch->number < 0 ? 0 : row->concurrency + ch->number;
        return GBX_OK;
    case GBX__CHANGE_FAILURE: row->failures++; return GBX_OK;
    case GBX__CHANGE_YTIME: row->ytime = ch->real; return GBX_OK;
    case GBX__CHANGE_ENVELOPE: return GBX_OK; /* the envelope is not part of the row */
    }
    return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "unknown status change %d", (int)ch->kind);
}
