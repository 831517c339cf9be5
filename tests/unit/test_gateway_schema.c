/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit tests of request schemas: the schema directory cache of the core
 * (core/src/schema_dir.c: file lookup with the -global- fallback, compiled
 * once, many threads) and body validation in the gateway
 * (gateway/src/gw_schema.c: JSON parsing, violations, require_schemas, the
 * 400 text naming where the violation is in each dialect). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "files.h"
#include "gearbox/error.h"
#include "gw_config.h"
#include "gw_schema.h"

static char dir[64];

static void write_file(const char *name, const char *text) { files_write(dir, name, text); }

static gbx_gw_location location(gbx_schema_dir *schemas) {
    gbx_gw_location loc;
    memset(&loc, 0, sizeof loc);
    loc.prefix = "/barn";
    loc.component = "barn";
    loc.schemadir = dir;
    loc.schemas = schemas;
    loc.dialect = GBX_DIALECT_LEGACY;
    return loc;
}

static gbx_err validate(const gbx_gw_location *loc, const char *op, const char *resource,
                        const char *body) {
    return gbx_gw_validate_body(NULL, loc, op, resource, "v1", body, strlen(body));
}

typedef struct {
    const gbx_gw_location *loc;
    int failures;
} race_arg;

static void *race(void *p) {
    race_arg *a = p;
    for (int i = 0; i < 200; i++) {
        if (validate(a->loc, "create", "animal", "{\"name\": \"Wilbur\"}") != GBX_OK) a->failures++;
        if (validate(a->loc, "create", "animal", "{}") != GBX_ERR_BAD_REQUEST) a->failures++;
    }
    return NULL;
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/gbx-test-gwschema-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    /* Gearbox legacy schema files: comments allowed, properties required
     * unless optional. */
    write_file("create-barn-animal-v1.js",
               "// the animal\n{ \"type\": \"object\", \"properties\": {\n"
               "  \"name\": {\"type\": \"string\"},\n"
               "  \"age\": {\"type\": \"integer\", \"optional\": true} },\n"
               "  \"additionalProperties\": false }\n");
    write_file("get-global-animal-v1.js", "{ \"type\": \"null\" }");
    write_file("update-barn-broken-v1.js", "{ \"type\": 12 }");

    gbx_schema_dir *cache = NULL;
    CHECK_INT(gbx_schema_dir_new(&cache, dir, GBX_DIALECT_LEGACY), GBX_OK);
    gbx_gw_location loc = location(cache);

    /* Lookup: the component's file, the global one, none. */
    const gbx_schema *schema = NULL;
    const char *file = NULL;
    CHECK_INT(gbx_schema_dir_find(&schema, &file, cache, "create", "barn",
                                 "animal", "v1"), GBX_OK);
    CHECK(schema != NULL);
    CHECK(file && strstr(file, "create-barn-animal-v1.js"));
    const gbx_schema *again = NULL;
    CHECK_INT(gbx_schema_dir_find(&again, NULL, cache, "create", "barn",
                                 "animal", "v1"), GBX_OK);
    CHECK(again == schema); /* compiled once */
    CHECK_INT(gbx_schema_dir_find(&schema, &file, cache, "get", "barn",
                                 "animal", "v1"), GBX_OK);
    CHECK(schema != NULL);
    CHECK(file && strstr(file, "get-global-animal-v1.js"));
    CHECK_INT(gbx_schema_dir_find(&schema, &file, cache, "delete", "barn",
                                 "animal", "v1"), GBX_OK);
    CHECK(schema == NULL);
    CHECK(file && strstr(file, "delete-barn-animal-v1.js"));

    /* Bodies. */
    CHECK_INT(validate(&loc, "create", "animal", "{\"name\": \"Wilbur\", \"age\": 1}"), GBX_OK);
    CHECK_INT(validate(&loc, "create", "animal", "{\"age\": 1}"), GBX_ERR_BAD_REQUEST);
    CHECK_STR(gbx_error_last()->message, "non-optional property \"name\" is missing");
    CHECK_INT(validate(&loc, "create", "animal", "{\"name\": \"W\", \"x\": 1}"), GBX_ERR_BAD_REQUEST);
    CHECK(strstr(gbx_error_last()->message, "\"x\"") != NULL);
    CHECK_INT(validate(&loc, "create", "animal", "{\"name\": "), GBX_ERR_BAD_REQUEST);
    CHECK(strncmp(gbx_error_last()->message, "malformed JSON", 14) == 0);
    /* Empty body = null: valid for the get schema, not for create. */
    CHECK_INT(validate(&loc, "get", "animal", ""), GBX_OK);
    CHECK_INT(validate(&loc, "get", "animal", "{}"), GBX_ERR_BAD_REQUEST);
    CHECK_INT(validate(&loc, "create", "animal", ""), GBX_ERR_BAD_REQUEST);
    /* No schema: any JSON passes, but it must be JSON. */
    CHECK_INT(validate(&loc, "delete", "animal", "[1, 2]"), GBX_OK);
    CHECK_INT(validate(&loc, "delete", "animal", "not json"), GBX_ERR_BAD_REQUEST);
    /* A schema that does not compile is the server's fault. */
    CHECK_INT(validate(&loc, "update", "broken", "{}"), GBX_ERR_INTERNAL_SERVER_ERROR);
    CHECK(strstr(gbx_error_last()->message, "update-barn-broken-v1.js") != NULL);
    /* require_schemas: a request without a schema fails. */
    loc.require_schemas = true;
    CHECK_INT(validate(&loc, "delete", "animal", ""), GBX_ERR_INTERNAL_SERVER_ERROR);
    CHECK_INT(validate(&loc, "create", "animal", "{\"name\": \"W\"}"), GBX_OK);
    loc.require_schemas = false;
    /* No schemadir: no validation beyond JSON. */
    gbx_gw_location noschemas = location(NULL);
    noschemas.schemadir = NULL;
    CHECK_INT(validate(&noschemas, "create", "animal", "{}"), GBX_OK);

    /* The plain 400 names where the violation is, in every dialect; the
     * legacy texts about the body itself stay Gearbox's. */
    write_file("create-barn-tags-v1.js",
               "{ \"type\": \"object\", \"properties\": {\n"
               "  \"tags\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}} },\n"
               "  \"additionalProperties\": false }\n");
    static const struct { const char *dialect, *nested, *root; } texts[] = {
        {"legacy", "/tags/0: schema does not allow for type \"integer\"",
         "invalid property \"wings\": schema does not allow for this property"},
        {"draft4", "/tags/0: expected string, got integer", NULL},
        {"draft7", "/tags/0: expected string, got integer", NULL},
        {"2019-09", "/tags/0: expected string, got integer", NULL},
        {"2020-12", "/tags/0: expected string, got integer", NULL},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        gbx_schema_dir *sd = NULL;
        CHECK_INT(gbx_schema_dir_new(&sd, dir, (gbx_dialect)gbx_dialect_from_name(texts[i].dialect)), GBX_OK);
        gbx_gw_location dl = location(sd);
        json_t *violations = NULL;
        const char *body = "{\"tags\": [7, \"x\"]}";
        CHECK_INT(gbx_gw_validate_body(&violations, &dl, "create", "tags", "v1", body, strlen(body)),
                  GBX_ERR_BAD_REQUEST);
        CHECK_STR(gbx_error_last()->message, texts[i].nested);
        /* problem+json keeps the pointers apart, as JSON Pointers */
        json_t *first = json_array_get(violations, 0);
        CHECK_STR(json_string_value(json_object_get(first, "pointer")), "/tags/0");
        CHECK_STR(json_string_value(json_object_get(first, "keyword")), "/properties/tags/items/type");
        json_decref(violations);
        body = "{\"tags\": [], \"wings\": 2}";
        CHECK_INT(validate(&dl, "create", "tags", body), GBX_ERR_BAD_REQUEST);
        if (texts[i].root) CHECK_STR(gbx_error_last()->message, texts[i].root);
        else CHECK(gbx_error_last()->message[0] != '/'); /* about the whole body: no pointer */
        gbx_schema_dir_free(sd);
    }
    char *text = NULL;
    json_t *v = json_pack("{s:s, s:s}", "pointer", "", "message", "m");
    CHECK_INT(gbx_schema_violation_text(&text, v), GBX_OK);
    CHECK_STR(text, "m");
    free(text);
    json_object_set_new(v, "pointer", json_string("/a~1b/0"));
    CHECK_INT(gbx_schema_violation_text(&text, v), GBX_OK);
    CHECK_STR(text, "/a~1b/0: m");
    free(text);
    json_object_set_new(v, "pointer", json_string("/owner/wings"));
    json_object_set_new(v, "keyword", json_string("/properties/owner/additionalProperties"));
    CHECK_INT(gbx_schema_violation_text(&text, v), GBX_OK);
    CHECK_STR(text, "/owner: m"); /* the message names the member */
    free(text);
    json_decref(v);

    /* Many threads on a fresh cache. */
    gbx_schema_dir *fresh = NULL;
    CHECK_INT(gbx_schema_dir_new(&fresh, dir, GBX_DIALECT_LEGACY), GBX_OK);
    gbx_gw_location fresh_loc = location(fresh);
    pthread_t threads[4];
    race_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (race_arg){&fresh_loc, 0};
        pthread_create(&threads[i], NULL, race, &args[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        CHECK_INT(args[i].failures, 0);
    }
    gbx_schema_dir_free(fresh);
    gbx_schema_dir_free(cache);
    gbx_schema_dir_free(NULL);
    /* Names that would leave the directory find nothing. */
    CHECK_INT(gbx_schema_dir_new(&fresh, dir, GBX_DIALECT_LEGACY), GBX_OK);
    const gbx_schema *escaped = NULL;
    CHECK_INT(gbx_schema_dir_find(&escaped, NULL, fresh, "create", "../x", "animal", "v1"), GBX_OK);
    CHECK(escaped == NULL);
    gbx_schema_dir_free(fresh);

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_done();
}
