/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit tests of core/src/base/stopwatch.c and scoreboard.c: the stopwatch's
 * readings, counters and durations per component, the JSON snapshot, and
 * counting from several threads at once. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "check.h"
#include "gearbox/scoreboard.h"
#include "gearbox/stopwatch.h"

#define THREADS 8
#define PER_THREAD 5000

static json_t *snapshot(void) {
    char *text = NULL;
    CHECK_INT(gbx_scoreboard_snapshot(&text), GBX_OK);
    json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
    CHECK(doc != NULL);
    free(text);
    return doc;
}

static void test_stopwatch(void) {
    gbx_stopwatch *sw = NULL;
    CHECK_INT(gbx_stopwatch_new(&sw), GBX_OK);
    CHECK(!gbx_stopwatch_running(sw));
    CHECK(gbx_stopwatch_elapsed(sw) == 0);
    CHECK(gbx_stopwatch_stop(sw) == 0); /* never started */
    gbx_stopwatch_start(sw);
    CHECK(gbx_stopwatch_running(sw));
    struct timespec ten_ms = {0, 10 * 1000 * 1000};
    nanosleep(&ten_ms, NULL); /* a lower bound on the reading, not a wait for an event */
    double running = gbx_stopwatch_elapsed(sw);
    CHECK(running >= 0.010);
    double stopped = gbx_stopwatch_stop(sw);
    CHECK(!gbx_stopwatch_running(sw));
    CHECK(stopped >= running);
    /* Stopped: the reading holds. */
    nanosleep(&ten_ms, NULL);
    CHECK(gbx_stopwatch_elapsed(sw) == stopped);
    CHECK(gbx_stopwatch_stop(sw) == stopped);
    /* start again: from zero. */
    gbx_stopwatch_start(sw);
    CHECK(gbx_stopwatch_elapsed(sw) < stopped);
    gbx_stopwatch_free(sw);
    gbx_stopwatch_free(NULL);
}

static void test_counters(void) {
    gbx_scoreboard_reset();
    char *component = NULL;
    /* Nothing is current before initialize. */
    CHECK_INT(gbx_scoreboard_component(&component), GBX_ERR_PRECONDITION_FAILED);
    CHECK(component == NULL);
    CHECK_INT(gbx_scoreboard_increment_counter(NULL, "status", "x"), GBX_ERR_PRECONDITION_FAILED);
    CHECK(strstr(gbx_error_last()->message, "Scoreboard::initialize") != NULL);
    CHECK_INT(gbx_scoreboard_initialize(""), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_scoreboard_initialize(NULL), GBX_ERR_BAD_REQUEST);

    CHECK_INT(gbx_scoreboard_initialize("testbasic"), GBX_OK);
    CHECK_INT(gbx_scoreboard_component(&component), GBX_OK);
    CHECK_STR(component, "testbasic");
    free(component);
    long long n = -1;
    CHECK_INT(gbx_scoreboard_counter(&n, NULL, "status", "testbasic"), GBX_OK);
    CHECK_INT(n, 0);
    CHECK_INT(gbx_scoreboard_increment_counter(NULL, "status", "testbasic"), GBX_OK);
    CHECK_INT(gbx_scoreboard_increment_counter(NULL, "status", "testbasic"), GBX_OK);
    CHECK_INT(gbx_scoreboard_add_counter(&n, NULL, "status", "other", 5), GBX_OK);
    CHECK_INT(n, 5);
    CHECK_INT(gbx_scoreboard_add_counter(&n, NULL, "status", "other", -2), GBX_OK);
    CHECK_INT(n, 3);
    CHECK_INT(gbx_scoreboard_counter(&n, "testbasic", "status", "testbasic"), GBX_OK);
    CHECK_INT(n, 2);
    CHECK_INT(gbx_scoreboard_increment_counter(NULL, "", "x"), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_scoreboard_increment_counter(NULL, "status", NULL), GBX_ERR_BAD_REQUEST);

    /* Another component is another scoreboard; switching keeps the first. */
    CHECK_INT(gbx_scoreboard_increment_counter("barn", "jobs", "do_put_barn_animal_v1"), GBX_OK);
    CHECK_INT(gbx_scoreboard_initialize("barn"), GBX_OK);
    CHECK_INT(gbx_scoreboard_counter(&n, NULL, "jobs", "do_put_barn_animal_v1"), GBX_OK);
    CHECK_INT(n, 1);
    CHECK_INT(gbx_scoreboard_counter(&n, NULL, "status", "testbasic"), GBX_OK);
    CHECK_INT(n, 0);
    CHECK_INT(gbx_scoreboard_counter(&n, "testbasic", "status", "testbasic"), GBX_OK);
    CHECK_INT(n, 2);

    /* Reading makes nothing: an unknown component reads 0 and stays unknown. */
    CHECK_INT(gbx_scoreboard_counter(&n, "ghost", "status", "x"), GBX_OK);
    CHECK_INT(n, 0);

    json_t *doc = snapshot();
    CHECK(json_object_get(json_object_get(doc, "components"), "ghost") == NULL);
    json_t *tb = json_object_get(json_object_get(doc, "components"), "testbasic");
    CHECK_INT(json_integer_value(json_object_get(json_object_get(json_object_get(tb, "counters"), "status"),
                                                 "testbasic")),
              2);
    CHECK(json_object_get(json_object_get(doc, "components"), "barn") != NULL);
    json_decref(doc);
}

static void test_durations(void) {
    gbx_scoreboard_reset();
    CHECK_INT(gbx_scoreboard_initialize("testbasic"), GBX_OK);
    gbx_stopwatch *sw = NULL;
    CHECK_INT(gbx_stopwatch_new(&sw), GBX_OK);
    gbx_stopwatch_start(sw);
    gbx_stopwatch_stop(sw);
    double reading = gbx_stopwatch_elapsed(sw);
    CHECK_INT(gbx_scoreboard_update_duration_hours(NULL, "status", "testbasic", "duration_success", sw), GBX_OK);
    CHECK_INT(gbx_scoreboard_update_duration(NULL, "status", "testbasic", "duration_success", 2.5), GBX_OK);
    CHECK_INT(gbx_scoreboard_update_duration(NULL, "status", "testbasic", "duration_success", 0.5), GBX_OK);
    CHECK_INT(gbx_scoreboard_update_duration(NULL, "status", "testbasic", "duration_success", -1), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_scoreboard_update_duration(NULL, "status", "testbasic", "", 1), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_scoreboard_update_duration_hours(NULL, "status", "testbasic", "d", NULL), GBX_ERR_BAD_REQUEST);

    json_t *doc = snapshot();
    json_t *m = json_object_get(
        json_object_get(json_object_get(json_object_get(json_object_get(json_object_get(doc, "components"),
                                                                         "testbasic"),
                                                         "durations"),
                                        "status"),
                        "testbasic"),
        "duration_success");
    CHECK_INT(json_integer_value(json_object_get(m, "count")), 3);
    CHECK(fabs(json_number_value(json_object_get(m, "total_seconds")) - (3.0 + reading)) < 1e-6);
    CHECK(fabs(json_number_value(json_object_get(m, "min_seconds")) - reading) < 1e-6);
    CHECK(fabs(json_number_value(json_object_get(m, "max_seconds")) - 2.5) < 1e-9);
    /* One hourly entry (this hour), named like "2026-12-04T15". */
    json_t *hours = json_object_get(m, "hours");
    CHECK_INT(json_object_size(hours), 1);
    const char *key;
    json_t *h;
    json_object_foreach(hours, key, h) {
        CHECK_INT(strlen(key), 13);
        CHECK(key[10] == 'T');
        CHECK_INT(json_integer_value(json_object_get(h, "count")), 3);
    }
    json_decref(doc);
    gbx_stopwatch_free(sw);
}

static void *count_many(void *arg) {
    const char *component = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        gbx_scoreboard_increment_counter(component, "jobs", "shared");
        gbx_scoreboard_update_duration(component, "jobs", "shared", "run", 0.001);
        if (i % 500 == 0) {
            char *text = NULL;
            gbx_scoreboard_snapshot(&text);
            free(text);
        }
    }
    return NULL;
}

static void test_threads(void) {
    gbx_scoreboard_reset();
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, count_many, i % 2 ? "odd" : "even");
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    long long n = 0;
    CHECK_INT(gbx_scoreboard_counter(&n, "odd", "jobs", "shared"), GBX_OK);
    CHECK_INT(n, THREADS / 2 * PER_THREAD);
    CHECK_INT(gbx_scoreboard_counter(&n, "even", "jobs", "shared"), GBX_OK);
    CHECK_INT(n, THREADS / 2 * PER_THREAD);
    json_t *doc = snapshot();
    json_t *run = json_object_get(
        json_object_get(
            json_object_get(json_object_get(json_object_get(json_object_get(doc, "components"), "odd"), "durations"),
                            "jobs"),
            "shared"),
        "run");
    CHECK_INT(json_integer_value(json_object_get(run, "count")), THREADS / 2 * PER_THREAD);
    json_decref(doc);
    gbx_scoreboard_reset();
}

int main(void) {
    test_stopwatch();
    test_counters();
    test_durations();
    test_threads();
    return check_done();
}
