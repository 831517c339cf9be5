/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* legacy.c - the Gearbox legacy dialect and the schema API around it:
 * Gearbox's error texts, "optional", "requires", default filling,
 * additionalProperties on objects and tuples, violations with pointers,
 * file loading with comments, registry, dialect names and compile errors. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "gearbox/json.h"
#include "gearbox/schema.h"

static json_t *parse(const char *text) {
    json_t *v = NULL;
    if (gbx_json_parse(&v, text, strlen(text)) != GBX_OK) {
        fprintf(stderr, "bad test JSON: %s\n", text);
        exit(2);
    }
    return v;
}

static gbx_schema *compile(const char *text, gbx_dialect force) {
    json_t *doc = parse(text);
    gbx_schema_options o;
    gbx_schema_options_init(&o);
    o.force_dialect = force;
    gbx_schema *s = NULL;
    if (gbx_schema_compile(&s, doc, &o) != GBX_OK) fprintf(stderr, "compile: %s\n", gbx_error_last()->message);
    json_decref(doc);
    return s;
}

/* Validates; returns the first message ("" when valid). */
static const char *first_message(gbx_schema *s, const char *instance) {
    static char buf[1024];
    json_t *inst = parse(instance);
    gbx_err rc = gbx_schema_validate(NULL, s, inst);
    snprintf(buf, sizeof buf, "%s", rc ? gbx_error_last()->message : "");
    json_decref(inst);
    return buf;
}

static const char *barn =
    "{ \"type\": \"object\",\n"
    "  \"properties\": {\n"
    "    \"name\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 8, \"pattern\": \"[A-Z][a-z]+\"},\n"
    "    \"stuff\": {\"type\": [\"string\", \"null\"]},\n"
    "    \"legs\": {\"type\": \"integer\", \"optional\": true, \"minimum\": 0, \"maximum\": 8, \"default\": 4},\n"
    "    \"weight\": {\"type\": \"number\", \"optional\": true, \"default\": 100, \"maxDecimal\": 2},\n"
    "    \"born\": {\"type\": \"string\", \"optional\": true, \"format\": \"date-time\"},\n"
    "    \"home\": {\"type\": \"string\", \"optional\": true, \"format\": \"uri\"},\n"
    "    \"ip\": {\"type\": \"string\", \"optional\": true, \"format\": \"ipv4\"},\n"
    "    \"color\": {\"type\": \"string\", \"optional\": true, \"enum\": [\"pink\", \"brown\"]},\n"
    "    \"friend\": {\"type\": \"string\", \"optional\": true, \"requires\": [\"name\", \"color\"]},\n"
    "    \"tags\": {\"type\": \"array\", \"optional\": true, \"items\": {\"type\": \"string\"}, \"maxItems\": 2},\n"
    "    \"pair\": {\"type\": \"array\", \"optional\": true, \"items\": [{\"type\": \"integer\"}, {\"type\": \"string\"}],\n"
    "             \"additionalProperties\": false},\n"
    "    \"anything\": {\"type\": \"any\", \"optional\": true}\n"
    "  },\n"
    "  \"additionalProperties\": false }";

static void test_messages(void) {
    gbx_schema *s = compile(barn, GBX_DIALECT_LEGACY);
    CHECK(s != NULL);
    if (!s) return;
    CHECK_INT(gbx_schema_dialect(s), GBX_DIALECT_LEGACY);
    CHECK_STR(first_message(s, "{\"name\": \"Wilbur\", \"stuff\": null}"), "");
    CHECK_STR(first_message(s, "{\"name\": \"Wilbur\"}"), "non-optional property \"stuff\" is missing");
    CHECK_STR(first_message(s, "{\"name\": \"Wilbur\", \"stuff\": null, \"x\": 1}"),
              "invalid property \"x\": schema does not allow for this property");
    CHECK_STR(first_message(s, "[]"), "schema does not allow for type \"array\"");
    CHECK_STR(first_message(s, "{\"name\": {}, \"stuff\": null}"), "schema does not allow for type \"object\"");
    CHECK_STR(first_message(s, "{\"name\": \"Wilbur\", \"stuff\": 1.5}"), "schema does not allow for type \"number\"");
    CHECK_STR(first_message(s, "{\"name\": \"Wilbur\", \"stuff\": null, \"legs\": 2.0}"),
              "schema does not allow for type \"number\"");
    CHECK_STR(first_message(s, "{\"name\": \"Wilbur\", \"stuff\": null, \"legs\": 9}"),
              "value 9 is larger than schema maximum value 8");
    CHECK_STR(first_message(s, "{\"name\": \"Wilbur\", \"stuff\": null, \"legs\": -1}"),
              "value -1 is less than schema minimum value 0");
    CHECK_STR(first_message(s, "{\"name\": \"\", \"stuff\": null}"), "string length 0 is less than schema minimum length 1");
    CHECK_STR(first_message(s, "{\"name\": \"Wilburwilbur\", \"stuff\": null}"),
              "string length 12 is larger than schema maximum length 8");
    /* lengths count code points, not bytes */
    CHECK_STR(first_message(s, "{\"name\": \"Z\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\", \"stuff\": null}"),
              "value does not match schema pattern \"[A-Z][a-z]+\"");
    /* Gearbox patterns match the whole value */
    CHECK_STR(first_message(s, "{\"name\": \"xWilbur\", \"stuff\": null}"), "value does not match schema pattern \"[A-Z][a-z]+\"");
    CHECK_STR(first_message(s, "{\"name\": \"Wilbur\", \"stuff\": null, \"born\": \"2012-13-01T00:00:00Z\"}"),
              "value does not match required schema format date-time");
    CHECK_STR(first_message(s, "{\"name\": \"Wilbur\", \"stuff\": null, \"born\": \"2012-12-01T10:00:00Z\"}"), "");
    CHECK_STR(first_message(s, "{\"name\": \"Wilbur\", \"stuff\": null, \"home\": \"not a uri\"}"),
              "value does not match required schema format uri");
    CHECK_STR(first_message(s, "{\"name\": \"Wilbur\", \"stuff\": null, \"ip\": \"300.1.1.1\"}"),
              "value does not match required schema format ipv4");
    CHECK_STR(first_message(s, "{\"name\": \"Wilbur\", \"stuff\": null, \"color\": \"green\"}"),
              "value is not valid in schema enum");
    CHECK_STR(first_message(s, "{\"name\": \"Wilbur\", \"stuff\": null, \"friend\": \"Charlotte\"}"),
              "property \"friend\" requires additional property \"color\" to be set according to schema");
    CHECK_STR(first_message(s, "{\"name\": \"Wilbur\", \"stuff\": null, \"weight\": 1.125}"),
              "value 1.125 has 3 decimal places, but the schema has specified maximum of 2 decimal places");
    CHECK_STR(first_message(s, "{\"name\": \"Wilbur\", \"stuff\": null, \"tags\": [\"a\", \"b\", \"c\"]}"),
              "array size is larger than schema maximum size 2");
    CHECK_STR(first_message(s, "{\"name\": \"Wilbur\", \"stuff\": null, \"tags\": [1]}"),
              "schema does not allow for type \"integer\"");
    CHECK_STR(first_message(s, "{\"name\": \"Wilbur\", \"stuff\": null, \"pair\": [1, \"a\"]}"), "");
    CHECK_STR(first_message(s, "{\"name\": \"Wilbur\", \"stuff\": null, \"pair\": [1]}"),
              "array size 1 does not match schema required size of tuple type 2");
    CHECK_STR(first_message(s, "{\"name\": \"Wilbur\", \"stuff\": null, \"pair\": [1, \"a\", 2]}"),
              "array size 3 does not match schema required size of tuple type 2");
    CHECK_STR(first_message(s, "{\"name\": \"Wilbur\", \"stuff\": null, \"anything\": [{}]}"), "");
    gbx_schema_free(s);

    s = compile("{\"type\": \"object\", \"additionalProperties\": false}", GBX_DIALECT_LEGACY);
    CHECK_STR(first_message(s, "{\"a\": 1}"), "invalid property \"a\": schema allows for no properties");
    gbx_schema_free(s);
}

static void test_defaults_and_violations(void) {
    gbx_schema *s = compile(barn, GBX_DIALECT_LEGACY);
    if (!s) return;
    json_t *inst = parse("{\"name\": \"Wilbur\", \"stuff\": null, \"legs\": 2}");
    json_t *viol = NULL;
    CHECK_INT(gbx_schema_validate(&viol, s, inst), GBX_OK);
    CHECK_INT(json_array_size(viol), 0);
    json_decref(viol);
    /* the given value stays; the missing one is filled; "number" makes 100 a real */
    CHECK_INT(json_integer_value(json_object_get(inst, "legs")), 2);
    CHECK(json_is_real(json_object_get(inst, "weight")));
    CHECK(json_real_value(json_object_get(inst, "weight")) == 100.0);
    CHECK(json_object_get(inst, "born") == NULL);
    json_decref(inst);

    /* every violation, with its pointer and keyword location */
    inst = parse("{\"name\": 5, \"x\": true, \"tags\": [\"a\", 3]}");
    CHECK_INT(gbx_schema_validate(&viol, s, inst), GBX_ERR_BAD_REQUEST);
    CHECK_INT(json_array_size(viol), 4);
    int seen = 0;
    size_t i;
    json_t *v;
    json_array_foreach(viol, i, v) {
        const char *ptr = json_string_value(json_object_get(v, "pointer"));
        const char *kw = json_string_value(json_object_get(v, "keyword"));
        const char *msg = json_string_value(json_object_get(v, "message"));
        if (strcmp(ptr, "") == 0 && strcmp(msg, "non-optional property \"stuff\" is missing") == 0) seen |= 1;
        if (strcmp(ptr, "/name") == 0 && strcmp(kw, "/properties/name/type") == 0) seen |= 2;
        if (strcmp(ptr, "/x") == 0 && strcmp(kw, "/additionalProperties") == 0) seen |= 4;
        if (strcmp(ptr, "/tags/1") == 0 && strcmp(kw, "/properties/tags/items/type") == 0) seen |= 8;
    }
    CHECK_INT(seen, 15);
    json_decref(viol);
    json_decref(inst);
    gbx_schema_free(s);

    /* other dialects never change the instance */
    s = compile("{\"properties\": {\"a\": {\"default\": 1}}}", GBX_DIALECT_AUTO);
    inst = parse("{}");
    CHECK_INT(gbx_schema_validate(NULL, s, inst), GBX_OK);
    CHECK_INT(json_object_size(inst), 0);
    json_decref(inst);
    gbx_schema_free(s);
}

static void test_api(void) {
    CHECK_STR(gbx_dialect_name(GBX_DIALECT_2019_09), "2019-09");
    CHECK_STR(gbx_dialect_name(GBX_DIALECT_LEGACY), "legacy");
    CHECK_INT(gbx_dialect_from_name("7"), GBX_DIALECT_DRAFT7);
    CHECK_INT(gbx_dialect_from_name("draft4"), GBX_DIALECT_DRAFT4);
    CHECK_INT(gbx_dialect_from_name("2020-12"), GBX_DIALECT_2020_12);
    CHECK_INT(gbx_dialect_from_name("legacy"), GBX_DIALECT_LEGACY);
    CHECK_INT(gbx_dialect_from_name("draft5"), -1);

    /* $schema picks the dialect; the default applies otherwise */
    gbx_schema *s = compile("{\"$schema\": \"http://json-schema.org/draft-04/schema#\"}", GBX_DIALECT_AUTO);
    CHECK_INT(gbx_schema_dialect(s), GBX_DIALECT_DRAFT4);
    gbx_schema_free(s);
    s = compile("{}", GBX_DIALECT_AUTO);
    CHECK_INT(gbx_schema_dialect(s), GBX_DIALECT_2020_12);
    gbx_schema_free(s);

    /* compile errors */
    const char *bad[] = {"{\"minLength\": -1}", "{\"type\": \"strin\"}", "{\"pattern\": \"(\"}",
                         "{\"$ref\": \"#/nowhere\"}", "{\"$ref\": \"http://example.com/x.json\"}", "{\"allOf\": {}}",
                         "[]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *doc = parse(bad[i]);
        gbx_schema *x = (gbx_schema *)1;
        CHECK_INT(gbx_schema_compile(&x, doc, NULL), GBX_ERR_BAD_REQUEST);
        CHECK(x == NULL);
        CHECK(strncmp(gbx_error_last()->message, "invalid schema: ", 16) == 0);
        json_decref(doc);
    }

    /* files (with comments), file:// base URIs and the registry */
    char dir[] = "/tmp/gbx-schema-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256], other[256];
    snprintf(path, sizeof path, "%s/create-barn-animal-v1.js", dir);
    snprintf(other, sizeof other, "%s/name.json", dir);
    FILE *f = fopen(path, "w");
    fputs("// a Gearbox schema file\n{ \"type\": \"object\", /* inline */ \"properties\": {\n"
          "  \"name\": {\"$ref\": \"name.json\"},\n"
          "  \"id\": {\"$ref\": \"http://schemas.example.com/id.json\"} } }\n",
          f);
    fclose(f);
    f = fopen(other, "w");
    fputs("{\"type\": \"string\", \"maxLength\": 3}", f);
    fclose(f);
    gbx_schema_registry *reg;
    CHECK_INT(gbx_schema_registry_new(&reg), GBX_OK);
    json_t *id = parse("{\"type\": \"integer\"}");
    CHECK_INT(gbx_schema_registry_add(reg, "http://schemas.example.com/id.json", id), GBX_OK);
    json_decref(id);
    CHECK_INT(gbx_schema_registry_add_dir(reg, "http://nowhere.example.com/", "/nonexistent-dir"), GBX_ERR_NOT_FOUND);
    gbx_schema_options o;
    gbx_schema_options_init(&o);
    o.registry = reg;
    o.default_dialect = GBX_DIALECT_DRAFT7;
    CHECK_INT(gbx_schema_load_file(&s, path, &o), GBX_OK);
    if (s) {
        CHECK_INT(gbx_schema_dialect(s), GBX_DIALECT_DRAFT7);
        CHECK_STR(first_message(s, "{\"name\": \"abc\", \"id\": 1}"), "");
        CHECK_STR(first_message(s, "{\"name\": \"abcd\"}"), "string is longer than 3 characters");
        CHECK_STR(first_message(s, "{\"id\": \"x\"}"), "expected integer, got string");
    }
    gbx_schema_free(s);
    CHECK_INT(gbx_schema_load_file(&s, "/nonexistent/schema.js", &o), GBX_ERR_NOT_FOUND);
    gbx_schema_registry_free(reg);
    unlink(path);
    unlink(other);
    rmdir(dir);

    /* a $ref cycle that never descends into the instance stops, invalid */
    s = compile("{\"allOf\": [{\"$ref\": \"#\"}]}", GBX_DIALECT_AUTO);
    CHECK(strncmp(first_message(s, "{}"), "schema evaluation nested too deeply", 35) == 0);
    json_t *cyc = parse("[1]"), *cviol = NULL;
    CHECK_INT(gbx_schema_validate(&cviol, s, cyc), GBX_ERR_BAD_REQUEST);
    CHECK_INT(json_array_size(cviol), 1);
    json_decref(cviol);
    json_decref(cyc);
    gbx_schema_free(s);

    /* the compiled schema owns what it needs: the source may go away */
    json_t *doc = parse("{\"properties\": {\"a\": {\"type\": \"string\"}}}");
    CHECK_INT(gbx_schema_compile(&s, doc, NULL), GBX_OK);
    json_object_clear(doc);
    json_decref(doc);
    CHECK_STR(first_message(s, "{\"a\": 1}"), "expected string, got integer");
    gbx_schema_free(s);
    gbx_schema_free(NULL);
    gbx_schema_registry_free(NULL);
}

/* One compiled schema, validated from several threads at once. */
typedef struct thread_job {
    gbx_schema *schema;
    int wrong;
} thread_job;

static void *validate_many(void *arg) {
    thread_job *job = arg;
    for (int i = 0; i < 2000; i++) {
        char text[128];
        snprintf(text, sizeof text, "{\"name\": \"W%d\", \"stuff\": %s}", i, i % 3 ? "null" : "1");
        json_t *inst;
        if (gbx_json_parse(&inst, text, strlen(text)) != GBX_OK) {
            job->wrong++;
            continue;
        }
        json_t *viol = NULL;
        gbx_err rc = gbx_schema_validate(&viol, job->schema, inst);
        bool want_valid = i % 3 != 0;
        if ((rc == GBX_OK) != want_valid || (!want_valid && json_array_size(viol) != 1)) job->wrong++;
        json_decref(viol);
        json_decref(inst);
    }
    return NULL;
}

static void test_threads(void) {
    gbx_schema *s = compile("{\"properties\": {\"name\": {\"type\": \"string\", \"pattern\": \"^W[0-9]+$\"},"
                            " \"stuff\": {\"type\": [\"string\", \"null\"]}}}",
                            GBX_DIALECT_LEGACY);
    if (!s) return;
    pthread_t t[4];
    thread_job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (thread_job){s, 0};
        CHECK_INT(pthread_create(&t[i], NULL, validate_many, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT(jobs[i].wrong, 0);
    }
    gbx_schema_free(s);
}

int main(void) {
    test_messages();
    test_defaults_and_violations();
    test_api();
    test_threads();
    return check_done();
}
