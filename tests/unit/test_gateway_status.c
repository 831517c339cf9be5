/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit tests of the gateway's status endpoints (gateway/src/gw_status.c)
 * against a real SQLite store: reads (any location's status), lists (the
 * location's own), filters. */
#define _GNU_SOURCE /* nftw (fixtures.h) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "fixtures.h"
#include "gearbox/error.h"
#include "gearbox/status.h"
#include "gearbox/store.h"
#include "gearbox/uri.h"
#include "gw_status.h"

static gbx_store *store;

static char *create_owned(const char *scope, const char *owner, const char *uri,
                          const char *operation) {
    gbx_status_spec spec = {.operation = operation, .component = "barn", .uri = uri,
                            .status_base = "http://h/barn/v1/status", .scope = scope,
                            .envelope = "{}", .owner = owner};
    gbx_status *st = NULL;
    CHECK_INT(gbx_status_create(&st, store, &spec), GBX_OK);
    char *id = st ? strdup(gbx_status_id(st)) : strdup("");
    gbx_status_free(st);
    return id;
}

/* GET <path>?<query> under `scope`: the code, and the body in *body. */
static gbx_err get(json_t **body, const char *scope, const char *path, const char *query) {
    gbx_uri *uri = NULL;
    *body = NULL;
    gbx_err e = gbx_uri_parse(&uri, path, query);
    CHECK_INT(e, GBX_OK);
    if (e != GBX_OK) return e;
    gbx_gw_viewer open = {scope, NULL, false};
    e = gbx_gw_status_get(body, store, &open, uri);
    gbx_uri_free(uri);
    return e;
}

static char *create(const char *scope, const char *uri, const char *operation) {
    return create_owned(scope, NULL, uri, operation);
}

/* GET <path> as `who`: the code; the body is dropped. */
static gbx_err get_as(json_t **body, const char *scope, const char *owner, bool admin,
                      const char *path) {
    gbx_uri *uri = NULL;
    gbx_err e = gbx_uri_parse(&uri, path, NULL);
    CHECK_INT(e, GBX_OK);
    gbx_gw_viewer who = {scope, owner, admin};
    if (e == GBX_OK) e = gbx_gw_status_get(body, store, &who, uri);
    gbx_uri_free(uri);
    return e;
}

static int list_has(json_t *list, const char *id) {
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) if (json_is_string(v) && strcmp(json_string_value(v), id) == 0) return 1;
    return 0;
}

int main(void) {
    char dir[] = "/tmp/gbx-test-gwstatus-XXXXXX", path[128];
    store = fixture_store(dir, path, sizeof path, false);
    if (!store) return 1;
    CHECK_STR(gbx_gw_status_scope("/barn"), "/barn");
    CHECK_STR(gbx_gw_status_scope(""), "/");

    char *wilbur = create("/barn", "http://h/barn/v1/animal/Wilbur", "create");
    char *fern = create("/barn", "http://h/barn/v1/animal/Fern", "delete");
    char *zoo = create("/zoo", "http://h/zoo/v1/animal/Leo", "create");

    /* One status. */
    json_t *body = NULL;
    char p[128];
    snprintf(p, sizeof p, "/v1/status/%s", wilbur);
    CHECK_INT(get(&body, "/barn", p, NULL), GBX_OK);
    CHECK_STR(json_string_value(json_object_get(body, "state")), "PENDING");
    CHECK_STR(json_string_value(json_object_get(body, "uri")), "http://h/barn/v1/animal/Wilbur");
    CHECK(strstr(json_string_value(json_object_get(body, "status_uri")), wilbur) != NULL);
    json_decref(body);

    /* A failed job's status is still a 200 read. */
    gbx_status *st = NULL;
    CHECK_INT(gbx_status_fetch(&st, store, fern), GBX_OK);
    CHECK_INT(gbx_status_fail(st, 404, "NOT_FOUND [404]: animal \"Fern\" not found"), GBX_OK);
    gbx_status_free(st);
    snprintf(p, sizeof p, "/v1/status/%s", fern);
    CHECK_INT(get(&body, "/barn", p, NULL), GBX_OK);
    CHECK_INT(json_integer_value(json_object_get(body, "code")), 404);
    json_decref(body);

    /* Unknown: 404. */
    CHECK_INT(get(&body, "/barn", "/v1/status/s-00000000000000000000000000", NULL), GBX_ERR_NOT_FOUND);
    CHECK(body == NULL);
    CHECK(strstr(gbx_error_last()->message, "not found") != NULL);
    /* Another location's: found by id under any location, unchanged (its
     * status_uri still names the location that created it). */
    snprintf(p, sizeof p, "/v1/status/%s", zoo);
    CHECK_INT(get(&body, "/barn", p, NULL), GBX_OK);
    CHECK_STR(json_string_value(json_object_get(body, "uri")), "http://h/zoo/v1/animal/Leo");
    json_t *under_zoo = NULL;
    CHECK_INT(get(&under_zoo, "/zoo", p, NULL), GBX_OK);
    CHECK(json_equal(body, under_zoo));
    json_decref(under_zoo);
    json_decref(body);
    /* A status without a scope (none of a location's) is found as well. */
    char *loose = create(NULL, "http://h/loose/v1/thing/x", "create");
    snprintf(p, sizeof p, "/v1/status/%s", loose);
    CHECK_INT(get(&body, "/barn", p, NULL), GBX_OK);
    json_decref(body);
    CHECK_INT(get(&body, "/barn", "/v1/status/a/b", NULL), GBX_ERR_NOT_FOUND);

    /* Lists: only this location's, newest first. */
    CHECK_INT(get(&body, "/zoo", "/v1/status", NULL), GBX_OK);
    CHECK_INT(json_array_size(json_object_get(body, "statuses")), 1);
    CHECK(list_has(json_object_get(body, "statuses"), zoo));
    json_decref(body);
    CHECK_INT(get(&body, "/barn", "/v1/status", NULL), GBX_OK);
    json_t *ids = json_object_get(body, "statuses");
    CHECK_INT(json_array_size(ids), 2);
    CHECK_STR(json_string_value(json_array_get(ids, 0)), fern);
    CHECK_STR(json_string_value(json_array_get(ids, 1)), wilbur);
    CHECK(!list_has(ids, zoo));
    json_decref(body);

    /* Filters as matrix arguments and as query parameters. */
    CHECK_INT(get(&body, "/barn", "/v1/status;operation=create", NULL), GBX_OK);
    ids = json_object_get(body, "statuses");
    CHECK_INT(json_array_size(ids), 1);
    CHECK(list_has(ids, wilbur));
    json_decref(body);
    CHECK_INT(get(&body, "/barn", "/v1/status;code=404;state=COMPLETED", NULL), GBX_OK);
    ids = json_object_get(body, "statuses");
    CHECK_INT(json_array_size(ids), 1);
    CHECK(list_has(ids, fern));
    json_decref(body);
    CHECK_INT(get(&body, "/barn", "/v1/status", "uri=Wilbur"), GBX_OK);
    ids = json_object_get(body, "statuses");
    CHECK_INT(json_array_size(ids), 1);
    CHECK(list_has(ids, wilbur));
    json_decref(body);
    CHECK_INT(get(&body, "/barn", "/v1/status;_count=1", NULL), GBX_OK);
    CHECK_INT(json_array_size(json_object_get(body, "statuses")), 1);
    json_decref(body);

    /* Expanded: whole objects. */
    CHECK_INT(get(&body, "/barn", "/v1/status;_expand=1", NULL), GBX_OK);
    ids = json_object_get(body, "statuses");
    CHECK_INT(json_array_size(ids), 2);
    CHECK(json_is_object(json_array_get(ids, 0)));
    CHECK_STR(json_string_value(json_object_get(json_array_get(ids, 1), "uri")),
              "http://h/barn/v1/animal/Wilbur");
    json_decref(body);

    CHECK_INT(get(&body, "/barn", "/v1/status;state=DONE", NULL), GBX_ERR_BAD_REQUEST);
    CHECK_INT(get(&body, "/barn", "/v1/status;colour=red", NULL), GBX_ERR_BAD_REQUEST);

    /* Owned statuses: their principal's and admins' on their location only. */
    char *alices = create_owned("/safe", "alice", "http://h/safe/v1/animal/A", "create");
    char *bobs = create_owned("/safe", "bob", "http://h/safe/v1/animal/B", "create");
    snprintf(p, sizeof p, "/v1/status/%s", alices);
    CHECK_INT(get_as(&body, "/safe", "alice", false, p), GBX_OK);
    json_decref(body);
    CHECK_INT(get_as(&body, "/safe", "bob", false, p), GBX_ERR_NOT_FOUND);
    CHECK(strstr(gbx_error_last()->message, "not found") != NULL);
    CHECK_INT(get_as(&body, "/safe", "boss", true, p), GBX_OK);
    json_decref(body);
    CHECK_INT(get_as(&body, "/other", "alice", false, p), GBX_ERR_NOT_FOUND); /* another location */
    CHECK_INT(get_as(&body, "/other", "boss", true, p), GBX_ERR_NOT_FOUND);
    CHECK_INT(get(&body, "/barn", p, NULL), GBX_ERR_NOT_FOUND);               /* an open one */
    /* A principal does not see the statuses that belong to nobody. */
    snprintf(p, sizeof p, "/v1/status/%s", wilbur);
    CHECK_INT(get_as(&body, "/barn", "alice", false, p), GBX_ERR_NOT_FOUND);
    CHECK_INT(get_as(&body, "/safe", "alice", false, "/v1/status"), GBX_OK);
    ids = json_object_get(body, "statuses");
    CHECK_INT(json_array_size(ids), 1);
    CHECK(list_has(ids, alices) && !list_has(ids, bobs));
    json_decref(body);
    CHECK_INT(get_as(&body, "/safe", "boss", true, "/v1/status"), GBX_OK);
    ids = json_object_get(body, "statuses");
    CHECK_INT(json_array_size(ids), 2);
    json_decref(body);
    /* An open location at the same prefix (a nested one) lists none of them. */
    CHECK_INT(get(&body, "/safe", "/v1/status", NULL), GBX_OK);
    CHECK_INT(json_array_size(json_object_get(body, "statuses")), 0);
    json_decref(body);

    free(alices);
    free(bobs);
    free(wilbur);
    free(fern);
    free(zoo);
    free(loose);
    gbx_store_free(store);
    fixture_remove(dir);
    return check_done();
}
