/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit tests of the gateway's long-poll watcher (gateway/src/gw_watch.c)
 * on a real SQLite store changed through a second handle (as a worker's
 * process changes it): exactly the waiters of a changed status wake, the
 * others at their deadline, all of them when it stops; and the Prefer and
 * If-None-Match parsers. */
#define _GNU_SOURCE /* nftw (fixtures.h) */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "fixtures.h"
#include "gearbox/status.h"
#include "gearbox/store.h"
#include "gw_util.h"
#include "gw_watch.h"

typedef struct woken {
    atomic_int calls;
    atomic_int changed;
    double at;
} woken;

static void on_wake(void *user, bool changed) {
    woken *w = user;
    w->at = gbx_gw_now();
    atomic_store(&w->changed, changed ? 1 : 0);
    atomic_fetch_add(&w->calls, 1);
}

/* Polls (bounded: 10 s) until `w` has been called. */
static bool wait_called(woken *w) {
    for (int i = 0; i < 1000 && atomic_load(&w->calls) == 0; i++) usleep(10000);
    return atomic_load(&w->calls) == 1;
}

static void test_watch(gbx_store *store, const char *db) {
    gbx_status *a = fixture_create(store, "u");
    gbx_status *b = fixture_create(store, "u");
    gbx_store *other = fixture_open_other(db);
    if (!a || !b || !other) return;
    gbx_gw_watch *w = NULL;
    CHECK_INT(gbx_gw_watch_new(&w, store), GBX_OK);
    enum { MANY = 300 };
    static woken onb[MANY];
    woken ona = {0}, late = {0};
    double now = gbx_gw_now();
    CHECK_INT(gbx_gw_watch_add(w, gbx_status_id(a), gbx_status_mtime(a), now + 30, on_wake, &ona), GBX_OK);
    for (int i = 0; i < MANY; i++)
        CHECK_INT(gbx_gw_watch_add(w, gbx_status_id(b), gbx_status_mtime(b), now + 30, on_wake, &onb[i]),
                  GBX_OK);
    CHECK_INT(gbx_gw_watch_add(w, gbx_status_id(b), gbx_status_mtime(b), now + 0.3, on_wake, &late),
              GBX_OK);
    CHECK_INT((int)gbx_gw_watch_waiting(w), MANY + 2);
    /* Nothing changes: only the short deadline comes. */
    CHECK(wait_called(&late));
    CHECK_INT(atomic_load(&late.changed), 0);
    CHECK(late.at >= now + 0.3);
    CHECK_INT(atomic_load(&ona.calls), 0);
    /* a changes in "another process": a's waiter wakes, b's do not. */
    gbx_status *a2 = NULL;
    CHECK_INT(gbx_status_fetch(&a2, other, gbx_status_id(a)), GBX_OK);
    double changed_at = gbx_gw_now();
    CHECK_INT(gbx_status_set_progress(a2, 50), GBX_OK);
    CHECK(wait_called(&ona));
    CHECK_INT(atomic_load(&ona.changed), 1);
    CHECK(ona.at - changed_at < 5);
    CHECK_INT(atomic_load(&onb[0].calls), 0);
    CHECK_INT((int)gbx_gw_watch_waiting(w), MANY);
    /* Stopping wakes the rest, unchanged; adding afterwards is refused. */
    gbx_gw_watch_stop(w);
    int all = 0;
    for (int i = 0; i < MANY; i++) all += atomic_load(&onb[i].calls) == 1 && !atomic_load(&onb[i].changed);
    CHECK_INT(all, MANY);
    CHECK_INT(gbx_gw_watch_add(w, gbx_status_id(a), 0, now + 30, on_wake, &ona), GBX_ERR_SERVICE_UNAVAILABLE);
    gbx_gw_watch_free(w);
    gbx_status_free(a2);
    gbx_status_free(a);
    gbx_status_free(b);
    gbx_store_free(other);
}

static int prefer_wait(const char *v) {
    gbx_gw_prefer p = {0};
    gbx_gw_prefer_parse(&p, v);
    return p.wait;
}

static void test_prefer(void) {
    CHECK_INT(prefer_wait("wait=10"), 10);
    CHECK_INT(prefer_wait("WAIT = 7"), 7);
    CHECK_INT(prefer_wait("return=minimal, wait=\"3\";x=\"a,b\""), 3);
    CHECK_INT(prefer_wait("wait=600"), GBX_GW_WAIT_MAX);
    CHECK_INT(prefer_wait("wait=99999999999999999999999"), GBX_GW_WAIT_MAX);
    CHECK_INT(prefer_wait("wait=-1"), 0);
    CHECK_INT(prefer_wait("wait=1x"), 0);
    CHECK_INT(prefer_wait("wait"), 0);
    CHECK_INT(prefer_wait("waiting=5"), 0);
    CHECK_INT(prefer_wait(""), 0);
    CHECK_INT(prefer_wait(NULL), 0);
    gbx_gw_prefer p = {0};
    gbx_gw_prefer_parse(&p, "Respond-Async; x=1");
    gbx_gw_prefer_parse(&p, "wait=2");
    CHECK(p.respond_async);
    CHECK_INT(p.wait, 2);
    gbx_gw_prefer q = {0};
    gbx_gw_prefer_parse(&q, "respond-asynchronously");
    CHECK(!q.respond_async);
}

static void test_etag(void) {
    char e1[GBX_GW_ETAG_SIZE], e2[GBX_GW_ETAG_SIZE];
    gbx_gw_etag(e1, "{\"a\":1}", 7);
    gbx_gw_etag(e2, "{\"a\":2}", 7);
    CHECK_INT((int)strlen(e1), 18);
    CHECK(e1[0] == '"' && e1[17] == '"');
    CHECK(strcmp(e1, e2) != 0);
    char list[64], weak[32], prefix[32];
    snprintf(list, sizeof list, "\"x\", %s", e1);
    snprintf(weak, sizeof weak, "W/%s", e1);
    snprintf(prefix, sizeof prefix, "%.17s", e1); /* the tag without its closing quote */
    CHECK(gbx_gw_etag_matches(e1, e1));
    CHECK(gbx_gw_etag_matches(list, e1));
    CHECK(gbx_gw_etag_matches(weak, e1));
    CHECK(gbx_gw_etag_matches("*", e1));
    CHECK(!gbx_gw_etag_matches(e2, e1));
    CHECK(!gbx_gw_etag_matches(prefix, e1));
    CHECK(!gbx_gw_etag_matches(NULL, e1));
    CHECK(!gbx_gw_etag_matches("", e1));
}

int main(void) {
    char dir[] = "/tmp/gbx-test-watch-XXXXXX", db[128];
    gbx_store *store = fixture_store(dir, db, sizeof db, true);
    CHECK(store != NULL);
    if (store) test_watch(store, db);
    test_prefer();
    test_etag();
    gbx_store_free(store);
    fixture_remove(dir);
    return check_done();
}
