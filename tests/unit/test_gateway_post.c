/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit tests of POST .../v1/status/<id> (gateway/src/gw_status.c): the
 * body's parsing, and cancel / reschedule through a job manager over a real
 * SQLite store (no gearmand needed: nothing is submitted). */
#define _GNU_SOURCE /* nftw (fixtures.h) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "fixtures.h"
#include "gearbox/gearbox.h"
#include "gw_status.h"
#include "store/queue_internal.h"

static gbx_store *store;
static gbx_jobmanager *jm;

static void parse_ok(const char *body, gbx_gw_status_action want, double want_ytime) {
    gbx_gw_status_action action = 0;
    double ytime = -1;
    CHECK_INT(gbx_gw_status_parse_post(&action, &ytime, body, strlen(body)), GBX_OK);
    CHECK_INT(action, want);
    CHECK(ytime == want_ytime);
}

static void parse_bad(const char *body, const char *message_part) {
    gbx_gw_status_action action = 0;
    double ytime = 0;
    CHECK_INT(gbx_gw_status_parse_post(&action, &ytime, body, strlen(body)), GBX_ERR_BAD_REQUEST);
    if (!strstr(gbx_error_last()->message, message_part))
        fprintf(stderr, "body %s: message \"%s\" lacks \"%s\"\n", body, gbx_error_last()->message,
                message_part);
    CHECK(strstr(gbx_error_last()->message, message_part) != NULL);
}

/* POST <path> with `body` (under any location: statuses are found by id
 * alone): the code; *out the body. */
static gbx_err post(json_t **out, int *code, const char *path, const char *body) {
    gbx_uri *uri = NULL;
    CHECK_INT(gbx_uri_parse(&uri, path, NULL), GBX_OK);
    gbx_gw_viewer open = {"/", NULL, false};
    gbx_err e = gbx_gw_status_post(out, code, jm, &open, uri, body, strlen(body));
    gbx_uri_free(uri);
    return e;
}

int main(void) {
    parse_ok("{\"state\": \"CANCELLED\"}", GBX_GW_STATUS_CANCEL, 0);
    parse_ok("{\"state\": \"cancelled\"}", GBX_GW_STATUS_CANCEL, 0);
    parse_ok("{\"ytime\": 1700000000}", GBX_GW_STATUS_RESCHEDULE, 1700000000);
    parse_ok("{\"ytime\": 12.5}", GBX_GW_STATUS_RESCHEDULE, 12.5);
    parse_bad("", "empty body");
    parse_bad("{\"state\": ", "malformed JSON");
    parse_bad("[1]", "cannot change a status that way");
    parse_bad("{}", "cannot change a status that way");
    parse_bad("{\"progress\": 50}", "cannot change a status that way");
    parse_bad("{\"state\": \"CANCELLED\", \"ytime\": 1}", "cannot change a status that way");
    parse_bad("{\"state\": \"RUNNING\"}", "can only be set to \"CANCELLED\"");
    parse_bad("{\"state\": 6}", "can only be set to \"CANCELLED\"");
    parse_bad("{\"ytime\": \"soon\"}", "\"ytime\" must be");
    parse_bad("{\"ytime\": -1}", "\"ytime\" must be");

    char dir[] = "/tmp/gbx-test-gwpost-XXXXXX", path[128];
    store = fixture_store(dir, path, sizeof path, false);
    if (!store) return 1;
    json_t *root = json_pack("{s:s}", "gearman", "127.0.0.1:1");
    gbx_config *cfg = NULL;
    CHECK_INT(gbx_config_from_json(&cfg, root, NULL), GBX_OK);
    json_decref(root);
    CHECK_INT(gbx_jobmanager_new(&jm, cfg, store), GBX_OK);

    gbx_status_spec spec = {.operation = "create", .component = "barn",
                            .uri = "http://h/barn/v1/animal/Wilbur",
                            .status_base = "http://h/barn/v1/status", .scope = "/barn"};
    gbx_status *st = NULL;
    CHECK_INT(gbx_status_create(&st, store, &spec), GBX_OK);
    char one[128];
    snprintf(one, sizeof one, "/v1/status/%s", st ? gbx_status_id(st) : "x");

    json_t *body = NULL;
    int code = 0;
    /* An unknown status, no id, a bad body. */
    CHECK_INT(post(&body, &code, "/v1/status/s-zzzzzzzzzzzzzzzzzzzzzzzzzz",
                   "{\"state\": \"CANCELLED\"}"), GBX_ERR_NOT_FOUND);
    CHECK_INT(post(&body, &code, "/v1/status", "{\"state\": \"CANCELLED\"}"),
              GBX_ERR_BAD_REQUEST);
    CHECK_INT(post(&body, &code, one, "{\"state\": \"DONE\"}"), GBX_ERR_BAD_REQUEST);
    /* Nothing waits in the queue for it: no reschedule. */
    CHECK_INT(post(&body, &code, one, "{\"ytime\": 1}"), GBX_ERR_CONFLICT);
    CHECK(body == NULL);

    /* Cancel: 202 with the cancel operation's status. */
    CHECK_INT(post(&body, &code, one, "{\"state\": \"CANCELLED\"}"), GBX_OK);
    CHECK_INT(code, 202);
    CHECK_STR(json_string_value(json_object_get(body, "operation")), "update");
    CHECK_STR(json_string_value(json_object_get(body, "uri")), st ? gbx_status_status_uri(st) : "");
    CHECK_STR(json_string_value(json_object_get(body, "state")), "COMPLETED");
    CHECK(strncmp(json_string_value(json_object_get(body, "status_uri")), "http://h/barn/v1/status/s-",
                  26) == 0);
    json_decref(body);
    body = NULL;
    CHECK_INT(gbx_status_refresh(st), GBX_OK);
    CHECK_STR(gbx_state_name(gbx_status_state(st)), "CANCELLED");
    /* Cancelled: no reschedule any more. */
    CHECK_INT(post(&body, &code, one, "{\"ytime\": 1}"), GBX_ERR_CONFLICT);
    CHECK(strstr(gbx_error_last()->message, "state is currently CANCELLED") != NULL);
    gbx_status_free(st);

    /* Reschedule: a delayed job waits in the queue. */
    CHECK_INT(gbx_status_create(&st, store, &spec), GBX_OK);
    snprintf(one, sizeof one, "/v1/status/%s", st ? gbx_status_id(st) : "x");
    CHECK_INT(gbx__queue_put(store, "t-post", st ? gbx_status_id(st) : "x", "do_put_barn_animal_v1",
                             "{}", 4000000000.0, false), GBX_OK);
    CHECK_INT(post(&body, &code, one, "{\"ytime\": 3000000000}"), GBX_OK);
    CHECK_INT(code, 200);
    CHECK_INT(json_integer_value(json_object_get(body, "ytime")), 3000000000LL);
    CHECK_STR(json_string_value(json_object_get(body, "state")), "PENDING");
    json_decref(body);
    gbx_status_free(st);

    gbx_jobmanager_free(jm);
    gbx_config_free(cfg);
    gbx_store_free(store);
    fixture_remove(dir);
    return check_done();
}
