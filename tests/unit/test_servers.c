/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit tests of gbx_servers (gearbox/servers.h): splitting a server list,
 * the rotating start, down marks (last in the order, then tried again). */
#include <stdio.h>
#include <time.h>

#include "check.h"
#include "gearbox/servers.h"

static double mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_parse(void) {
    gbx_servers *s = NULL;
    CHECK_INT(gbx_servers_new(&s, " a:1, b:2 ,,c "), GBX_OK);
    CHECK_INT(gbx_servers_count(s), 3);
    CHECK_STR(gbx_servers_name(s, 0), "a:1");
    CHECK_STR(gbx_servers_name(s, 1), "b:2");
    CHECK_STR(gbx_servers_name(s, 2), "c");
    CHECK(gbx_servers_name(s, 3) == NULL);
    gbx_servers_free(s);
    s = NULL;
    CHECK_INT(gbx_servers_new(&s, " , "), GBX_ERR_BAD_REQUEST);
    CHECK(s == NULL);
    CHECK_INT(gbx_servers_new(&s, NULL), GBX_ERR_BAD_REQUEST);
    gbx_servers_free(NULL);
}

static void test_order(void) {
    gbx_servers *s = NULL;
    CHECK_INT(gbx_servers_new(&s, "a:1,b:2,c:3"), GBX_OK);
    if (!s) return;
    size_t order[3];
    /* The start moves on with every request; every server is listed. */
    for (size_t r = 0; r < 6; r++) {
        CHECK_INT(gbx_servers_order(s, order), 3);
        for (size_t k = 0; k < 3; k++) CHECK_INT(order[k], (r + k) % 3);
    }
    /* A server marked down comes last, whatever the start. */
    gbx_servers_mark_down(s, 1, "refused");
    CHECK(gbx_servers_is_down(s, 1));
    CHECK(!gbx_servers_is_down(s, 0));
    for (size_t r = 0; r < 3; r++) {
        CHECK_INT(gbx_servers_order(s, order), 3);
        CHECK_INT(order[2], 1);
        CHECK(order[0] != 1 && order[1] != 1 && order[0] != order[1]);
    }
    /* Up again as soon as it answers... */
    gbx_servers_mark_up(s, 1);
    CHECK(!gbx_servers_is_down(s, 1));
    /* ... or, unasked, after GBX_SERVERS_DOWN_SECONDS. */
    double marked = mono();
    gbx_servers_mark_down(s, 2, "refused");
    while (gbx_servers_is_down(s, 2) && mono() < marked + GBX_SERVERS_DOWN_SECONDS + 30) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    CHECK(!gbx_servers_is_down(s, 2));
    CHECK(mono() >= marked + GBX_SERVERS_DOWN_SECONDS);
    /* Every one down: all are still listed. */
    for (size_t i = 0; i < 3; i++) gbx_servers_mark_down(s, i, "refused");
    CHECK_INT(gbx_servers_order(s, order), 3);
    CHECK(order[0] != order[1] && order[1] != order[2] && order[0] != order[2]);
    gbx_servers_free(s);
}

int main(void) {
    test_parse();
    test_order();
    return check_done();
}
