/* gw_submit.c - background submits through per-thread blocking clients. */
#include "gw_submit.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libgearman-1.0/gearman.h>

#include "gearbox/log.h"
#include "gw_dispatch.h"

/* One client per thread, also kept in a list so that the clients of
 * threads still alive at the end can be freed. */
typedef struct thread_client {
    struct thread_client *next, *prev;
    gbx_gw_submitter *owner;
    gearman_client_st *client;
} thread_client;

struct gbx_gw_submitter {
    char *servers;
    int timeout_ms;
    pthread_key_t key;
    pthread_mutex_t lock;
    thread_client *clients;
};

static void list_remove(gbx_gw_submitter *s, thread_client *tc) {
    if (tc->prev) tc->prev->next = tc->next;
    else s->clients = tc->next;
    if (tc->next) tc->next->prev = tc->prev;
}

static void thread_client_free(thread_client *tc) {
    if (!tc) return;
    gearman_client_free(tc->client);
    free(tc);
}

/* Thread exit. */
static void thread_client_destroy(void *p) {
    thread_client *tc = p;
    gbx_gw_submitter *s = tc->owner;
    pthread_mutex_lock(&s->lock);
    list_remove(s, tc);
    pthread_mutex_unlock(&s->lock);
    thread_client_free(tc);
}

gbx_err gbx_gw_submitter_new(gbx_gw_submitter **out, const char *servers, double timeout) {
    *out = NULL;
    gbx_gw_submitter *s = calloc(1, sizeof *s);
    if (!s || !(s->servers = strdup(servers ? servers : "127.0.0.1:4730"))) {
        free(s);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    }
    s->timeout_ms = timeout > 0 ? (int)(timeout * 1000) : 5000;
    if (pthread_key_create(&s->key, thread_client_destroy) != 0) {
        free(s->servers);
        free(s);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "pthread_key_create failed");
    }
    pthread_mutex_init(&s->lock, NULL);
    *out = s;
    return GBX_OK;
}

void gbx_gw_submitter_free(gbx_gw_submitter *s) {
    if (!s) return;
    pthread_key_delete(s->key);
    while (s->clients) {
        thread_client *tc = s->clients;
        list_remove(s, tc);
        thread_client_free(tc);
    }
    pthread_mutex_destroy(&s->lock);
    free(s->servers);
    free(s);
}

static thread_client *client_for_thread(gbx_gw_submitter *s, char *why, size_t whylen) {
    thread_client *tc = pthread_getspecific(s->key);
    if (tc) return tc;
    gearman_client_st *c = gearman_client_create(NULL);
    if (!c) {
        snprintf(why, whylen, "cannot create a Gearman client");
        return NULL;
    }
    if (gearman_failed(gearman_client_add_servers(c, s->servers))) {
        snprintf(why, whylen, "bad server list \"%s\": %s", s->servers, gearman_client_error(c));
        gearman_client_free(c);
        return NULL;
    }
    gearman_client_set_timeout(c, s->timeout_ms);
    tc = calloc(1, sizeof *tc);
    if (!tc) {
        gearman_client_free(c);
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    tc->owner = s;
    tc->client = c;
    pthread_mutex_lock(&s->lock);
    tc->next = s->clients;
    if (s->clients) s->clients->prev = tc;
    s->clients = tc;
    pthread_mutex_unlock(&s->lock);
    pthread_setspecific(s->key, tc);
    return tc;
}

/* Drops the thread's client after a failure: the next submit reconnects. */
static void drop_thread_client(gbx_gw_submitter *s, thread_client *tc) {
    pthread_setspecific(s->key, NULL);
    pthread_mutex_lock(&s->lock);
    list_remove(s, tc);
    pthread_mutex_unlock(&s->lock);
    thread_client_free(tc);
}

gbx_err gbx_gw_submit_background(gbx_gw_submitter *s, const char *function, const char *unique,
                                 const char *workload, size_t len) {
    char why[512] = "";
    for (int attempt = 0; attempt < 2; attempt++) {
        thread_client *tc = client_for_thread(s, why, sizeof why);
        if (!tc) break;
        char handle[GEARMAN_JOB_HANDLE_SIZE];
        gearman_return_t rc = gearman_client_do_background(tc->client, function, unique, workload,
                                                           len, handle);
        if (gearman_success(rc)) {
            gbx_log(GBX_LOG_DEBUG, "queued %s (%s) as %s", function, unique ? unique : "", handle);
            return GBX_OK;
        }
        snprintf(why, sizeof why, "%s", gearman_client_error(tc->client));
        if (!*why) snprintf(why, sizeof why, "%s", gearman_strerror(rc));
        gbx_gw_trim_gearman_error(why);
        drop_thread_client(s, tc);
        gbx_log(GBX_LOG_WARN, "cannot queue %s on gearmand (%s), attempt %d: %s", function, s->servers,
                attempt + 1, why);
    }
    return gbx_error_set(GBX_ERR_SERVICE_UNAVAILABLE, "cannot queue job %s on gearmand (%s): %s",
                         function, s->servers, why);
}
