/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* test_job.c - job accessors over an envelope, and json_content with the
 * schema lookup of the worker runtime. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "gearbox/gearbox.h"
#include "job/job_internal.h"

static gbx_envelope *make_envelope(const char *job_type, const char *operation, const char *name,
                                   const char *content) {
    gbx_envelope *env = NULL;
    CHECK_INT(gbx_envelope_new(&env), GBX_OK);
    if (!env) return NULL;
    gbx_envelope_set(env, "name", name);
    gbx_envelope_set(env, "job_type", job_type);
    gbx_envelope_set(env, "operation", operation);
    gbx_envelope_set(env, "component", "barn");
    gbx_envelope_set(env, "resource.type", "animal");
    gbx_envelope_set(env, "resource.name", "Wilbur");
    gbx_envelope_set(env, "base_uri", "http://127.0.0.1:4080/barn/v1");
    if (content) gbx_envelope_set_content(env, content, strlen(content));
    return env;
}

static void test_accessors(void) {
    gbx_envelope *env = make_envelope("sync", "get", "do_get_barn_animal_v1", NULL);
    json_t *args = json_pack("[s]", "Wilbur");
    json_t *matrix = json_pack("{s:s}", "color", "pink/white");
    json_t *query = json_pack("{s:s}", "verbose", "1");
    json_t *headers = json_pack("{s:s}", "x-trace", "abc");
    json_t *environ_ = json_pack("{s:s}", "STAGE", "test");
    CHECK_INT(gbx_envelope_set_json(env, "arguments", args), GBX_OK);
    CHECK_INT(gbx_envelope_set_json(env, "matrix_arguments", matrix), GBX_OK);
    CHECK_INT(gbx_envelope_set_json(env, "query_params", query), GBX_OK);
    CHECK_INT(gbx_envelope_set_json(env, "headers", headers), GBX_OK);
    CHECK_INT(gbx_envelope_set_json(env, "environ", environ_), GBX_OK);
    json_decref(args);
    json_decref(matrix);
    json_decref(query);
    json_decref(headers);
    json_decref(environ_);
    gbx_envelope_set(env, "remote.ip", "127.0.0.1");
    gbx_envelope_set(env, "remote.user", "fern");
    gbx_envelope_set(env, "remote.scopes", "read,write");
    gbx_envelope_set(env, "status", "s-00000000000000000000000000");

    gbx_job *job = NULL;
    CHECK_INT(gbx_job_new(&job, env), GBX_OK);
    /* The job holds a copy: later changes to the envelope do not reach it. */
    gbx_envelope_set(env, "operation", "delete");
    gbx_envelope_free(env);
    if (!job) return;

    CHECK_STR(gbx_job_name(job), "do_get_barn_animal_v1");
    CHECK_STR(gbx_job_type(job), "sync");
    CHECK_STR(gbx_job_operation(job), "get");
    CHECK_STR(gbx_job_component(job), "barn");
    CHECK_STR(gbx_job_resource_type(job), "animal");
    CHECK_STR(gbx_job_resource_name(job), "Wilbur");
    CHECK_STR(gbx_job_base_uri(job), "http://127.0.0.1:4080/barn/v1");
    CHECK_STR(gbx_job_resource_uri(job), "http://127.0.0.1:4080/barn/v1/animal/Wilbur");
    CHECK_STR(gbx_job_api_version(job), "v1");
    CHECK(gbx_job_status_id(job) == NULL); /* a sync job reports to no status */
    CHECK(gbx_job_status(job) == NULL);
    CHECK_STR(gbx_job_remote_ip(job), "127.0.0.1");
    CHECK_STR(gbx_job_remote_user(job), "fern");
    CHECK_STR(gbx_job_remote_scopes(job), "read,write");
    CHECK(gbx_job_event_status(job) == NULL);
    CHECK_INT(json_array_size(gbx_job_arguments(job)), 1);
    CHECK_STR(json_string_value(json_array_get(gbx_job_arguments(job), 0)), "Wilbur");
    CHECK_STR(json_string_value(json_object_get(gbx_job_matrix_arguments(job), "color")), "pink/white");
    CHECK_STR(json_string_value(json_object_get(gbx_job_query_params(job), "verbose")), "1");
    CHECK_STR(json_string_value(json_object_get(gbx_job_headers(job), "x-trace")), "abc");
    CHECK_STR(json_string_value(json_object_get(gbx_job_environ(job), "STAGE")), "test");
    CHECK(gbx_job_envelope(job) != NULL);
    CHECK_STR(gbx_envelope_get(gbx_job_envelope(job), "operation"), "get");
    size_t len = 99;
    CHECK_STR(gbx_job_content(job, &len), "");
    CHECK_INT(len, 0);
    gbx_job_free(job);
    gbx_job_free(NULL);
}

static void test_async_and_uris(void) {
    gbx_envelope *env = make_envelope("async", "create", "do_post_barn_animal_v1", "{\"name\":\"x\"}");
    gbx_envelope_set(env, "status", "s-6xh9p61rczmddwett5ahzwmke1");
    gbx_envelope_set(env, "resource.name", NULL);
    gbx_envelope_set(env, "base_uri", "http://h:1/barn/v2/");
    gbx_envelope_set(env, "name", "do_post_barn_animal_v2");
    gbx_job *job = NULL;
    CHECK_INT(gbx_job_new(&job, env), GBX_OK);
    if (job) {
        CHECK_STR(gbx_job_type(job), "async");
        CHECK_STR(gbx_job_status_id(job), "s-6xh9p61rczmddwett5ahzwmke1");
        CHECK(gbx_job_resource_name(job) == NULL);
        /* Without a name the uri is the collection's; no doubled slash. */
        CHECK_STR(gbx_job_resource_uri(job), "http://h:1/barn/v2/animal");
        CHECK_STR(gbx_job_api_version(job), "v2");
        size_t len = 0;
        CHECK_STR(gbx_job_content(job, &len), "{\"name\":\"x\"}");
        CHECK_INT(len, 12);
        CHECK(gbx_job_arguments(job) != NULL && json_array_size(gbx_job_arguments(job)) == 0);
    }
    gbx_job_free(job);

    /* Names are percent-encoded in the resource uri. */
    gbx_envelope_set(env, "resource.name", "Hammy McHammerson");
    CHECK_INT(gbx_job_new(&job, env), GBX_OK);
    if (job) CHECK_STR(gbx_job_resource_uri(job), "http://h:1/barn/v2/animal/Hammy%20McHammerson");
    gbx_job_free(job);

    /* A name that is not a handler name has no version. */
    gbx_envelope_set(env, "name", "not-a-handler");
    CHECK_INT(gbx_job_new(&job, env), GBX_OK);
    if (job) CHECK(gbx_job_api_version(job) == NULL);
    gbx_job_free(job);
    gbx_envelope_free(env);
}

static void test_json_content_plain(void) {
    gbx_job *job = NULL;
    json_t *value = NULL;

    gbx_envelope *env = make_envelope("async", "create", "do_put_barn_animal_v1", "");
    CHECK_INT(gbx_job_new(&job, env), GBX_OK);
    CHECK_INT(gbx_job_json_content(&value, job), GBX_OK);
    CHECK(json_is_null(value)); /* empty body = null */
    json_decref(value); /* a new reference */
    gbx_job_free(job);
    gbx_envelope_free(env);

    env = make_envelope("async", "create", "do_put_barn_animal_v1", "{\"name\": \"Wilbur\", \"legs\": 4}");
    CHECK_INT(gbx_job_new(&job, env), GBX_OK);
    CHECK_INT(gbx_job_json_content(&value, job), GBX_OK);
    CHECK(json_is_object(value));
    CHECK_INT(json_integer_value(json_object_get(value, "legs")), 4);
    json_t *again = NULL;
    CHECK_INT(gbx_job_json_content(&again, job), GBX_OK);
    CHECK(again == value); /* parsed once, kept with the job */
    json_decref(again);
    json_decref(value);
    gbx_job_free(job);
    gbx_envelope_free(env);

    env = make_envelope("async", "create", "do_put_barn_animal_v1", "{\"name\": ");
    CHECK_INT(gbx_job_new(&job, env), GBX_OK);
    value = (json_t *)1;
    CHECK_INT(gbx_job_json_content(&value, job), GBX_ERR_BAD_REQUEST);
    CHECK(value == NULL);
    CHECK(strstr(gbx_error_last()->message, "malformed JSON") != NULL);
    gbx_job_free(job);
    gbx_envelope_free(env);
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* json_content through a worker's schema cache: the component's file, the
 * -global- fallback, no file, defaults filled, and the barn's own schemas. */
static void test_json_content_schemas(void) {
    char dir[] = "/tmp/gbx-test-job-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[512];
    snprintf(path, sizeof path, "%s/create-barn-animal-v1.js", dir);
    write_text(path,
               "// comments are allowed\n"
               "{\"type\": \"object\", \"additionalProperties\": false,\n"
               " \"properties\": {\"name\": {\"type\": \"string\"},\n"
               "                \"legs\": {\"type\": \"integer\", \"optional\": true, \"default\": 4}}}\n");
    snprintf(path, sizeof path, "%s/update-global-animal-v1.js", dir);
    write_text(path, "{\"type\": \"object\", \"properties\": {\"sound\": {\"type\": \"string\"}}}");

    gbx_schema_dir *cache = NULL;
    CHECK_INT(gbx_schema_dir_new(&cache, dir, GBX_DIALECT_LEGACY), GBX_OK);

    gbx_job *job = NULL;
    json_t *value = NULL;
    gbx_envelope *env = make_envelope("async", "create", "do_put_barn_animal_v1", "{\"name\": \"Wilbur\"}");
    CHECK_INT(gbx_job_new(&job, env), GBX_OK);
    gbx__job_set_schemas(job, cache);
    CHECK_INT(gbx_job_json_content(&value, job), GBX_OK);
    CHECK_INT(json_integer_value(json_object_get(value, "legs")), 4); /* default filled */
    json_decref(value);
    gbx_job_free(job);
    gbx_envelope_free(env);

    env = make_envelope("async", "create", "do_put_barn_animal_v1", "{\"name\": \"Templeton\", \"personality\": \"greedy\"}");
    CHECK_INT(gbx_job_new(&job, env), GBX_OK);
    gbx__job_set_schemas(job, cache);
    CHECK_INT(gbx_job_json_content(&value, job), GBX_ERR_BAD_REQUEST);
    CHECK(strstr(gbx_error_last()->message, "personality") != NULL);
    gbx_job_free(job);
    gbx_envelope_free(env);

    /* update-barn-animal-v1.js is missing: update-global-animal-v1.js applies. */
    env = make_envelope("async", "update", "do_post_barn_animal_v1", "{}");
    CHECK_INT(gbx_job_new(&job, env), GBX_OK);
    gbx__job_set_schemas(job, cache);
    CHECK_INT(gbx_job_json_content(&value, job), GBX_ERR_BAD_REQUEST);
    CHECK(strstr(gbx_error_last()->message, "sound") != NULL);
    gbx_job_free(job);
    gbx_envelope_free(env);

    /* No file for delete: anything goes. */
    env = make_envelope("async", "delete", "do_delete_barn_animal_v1", "[1, 2]");
    CHECK_INT(gbx_job_new(&job, env), GBX_OK);
    gbx__job_set_schemas(job, cache);
    CHECK_INT(gbx_job_json_content(&value, job), GBX_OK);
    CHECK_INT(json_array_size(value), 2);
    json_decref(value);
    gbx_job_free(job);
    gbx_envelope_free(env);

    /* The cache hands out the same compiled schema again, and remembers
     * that there is none for delete. */
    const gbx_schema *s1 = NULL, *s2 = NULL;
    CHECK_INT(gbx_schema_dir_find(&s1, NULL, cache, "create", "barn", "animal", "v1"), GBX_OK);
    CHECK_INT(gbx_schema_dir_find(&s2, NULL, cache, "create", "barn", "animal", "v1"), GBX_OK);
    CHECK(s1 != NULL && s1 == s2);
    CHECK_INT(gbx_schema_dir_find(&s1, NULL, cache, "delete", "barn", "animal", "v1"), GBX_OK);
    CHECK(s1 == NULL);
    /* Parts that could leave the directory are never looked up. */
    CHECK_INT(gbx_schema_dir_find(&s1, NULL, cache, "create", "../x", "animal", "v1"), GBX_OK);
    CHECK(s1 == NULL);
    gbx_schema_dir_free(cache);

    /* A broken schema file is a server error that names the file. */
    snprintf(path, sizeof path, "%s/get-barn-animal-v1.js", dir);
    write_text(path, "{\"type\": ");
    CHECK_INT(gbx_schema_dir_new(&cache, dir, GBX_DIALECT_LEGACY), GBX_OK);
    CHECK_INT(gbx_schema_dir_find(&s1, NULL, cache, "get", "barn", "animal", "v1"),
              GBX_ERR_INTERNAL_SERVER_ERROR);
    CHECK(strstr(gbx_error_last()->message, "get-barn-animal-v1.js") != NULL);
    gbx_schema_dir_free(cache);

    unlink(path);
    snprintf(path, sizeof path, "%s/create-barn-animal-v1.js", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/update-global-animal-v1.js", dir);
    unlink(path);
    rmdir(dir);

    /* The barn example's schemas, as its worker uses them. */
    const char *src = getenv("GBX_SOURCE_DIR");
    char barn_schemas[512];
    snprintf(barn_schemas, sizeof barn_schemas, "%s/examples/barn/schemas", src ? src : ".");
    CHECK_INT(gbx_schema_dir_new(&cache, barn_schemas, GBX_DIALECT_LEGACY), GBX_OK);
    static const struct {
        const char *operation, *handler, *body;
        gbx_err expect;
    } cases[] = {
        {"create", "do_put_barn_animal_v1", "{\"name\": \"Wilbur\"}", GBX_OK},
        {"create", "do_put_barn_animal_v1", "{\"name\": \"Charlotte\", \"species\": \"Araneus cavaticus\", \"legs\": 8}", GBX_OK},
        {"create", "do_put_barn_animal_v1", "{\"name\": \"Templeton\", \"personality\": \"greedy\"}", GBX_ERR_BAD_REQUEST},
        {"create", "do_put_barn_animal_v1", "{\"species\": \"pig\"}", GBX_ERR_BAD_REQUEST},
        {"create", "do_put_barn_animal_v1", "{\"name\": \"x\", \"legs\": \"four\"}", GBX_ERR_BAD_REQUEST},
        {"create", "do_put_barn_animal_v1", "{\"name\": \"../etc\"}", GBX_ERR_BAD_REQUEST},
        {"update", "do_post_barn_animal_v1", "{\"species\": \"Sus domestica\"}", GBX_OK},
        {"update", "do_post_barn_animal_v1", "", GBX_OK},
        {"get", "do_get_barn_animal_v1", "", GBX_OK},
        {"get", "do_get_barn_animal_v1", "{}", GBX_ERR_BAD_REQUEST},
        {"delete", "do_delete_barn_animal_v1", "", GBX_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        env = make_envelope("async", cases[i].operation, cases[i].handler, cases[i].body);
        CHECK_INT(gbx_job_new(&job, env), GBX_OK);
        gbx__job_set_schemas(job, cache);
        gbx_err err = gbx_job_json_content(&value, job);
        if (err != cases[i].expect)
            fprintf(stderr, "barn case %zu (%s %s): %d %s\n", i, cases[i].operation, cases[i].body,
                    err, gbx_error_last()->message);
        CHECK_INT(err, cases[i].expect);
        json_decref(value);
        value = NULL;
        gbx_job_free(job);
        gbx_envelope_free(env);
    }
    gbx_schema_dir_free(cache);
}


/* The Job API of the job manager: copy, setters, on(). */
static void test_building(void) {
    gbx_envelope *env = make_envelope("async", "create", "do_put_barn_animal_v1", "{\"a\":1}");
    gbx_envelope_set(env, "status", "s-6xh9p61rczmddwett5ahzwmke1");
    gbx_envelope_set(env, "ticket", "t-6xh9p61rczmddwett5ahzwmke1");
    gbx_job *job = NULL, *copy = NULL, *other = NULL;
    CHECK_INT(gbx_job_new(&job, env), GBX_OK);
    gbx_envelope_free(env);
    if (!job) return;
    json_t *value = NULL;
    CHECK_INT(gbx_job_json_content(&value, job), GBX_OK);
    json_decref(value);

    /* Job(job): same envelope (status id included), no status handle. */
    CHECK_INT(gbx_job_copy(&copy, job), GBX_OK);
    CHECK_STR(gbx_job_status_id(copy), "s-6xh9p61rczmddwett5ahzwmke1");
    CHECK_STR(gbx_envelope_get(gbx_job_envelope(copy), "ticket"), "t-6xh9p61rczmddwett5ahzwmke1");
    CHECK(gbx_job_status(copy) == NULL);
    CHECK(gbx_job_envelope(copy) != gbx_job_envelope(job));
    CHECK(!gbx_job_is_rest(copy));

    /* Renaming updates the version; setters invalidate the cached values. */
    CHECK_INT(gbx_job_set_name(copy, "do_post_barn_animal_v2"), GBX_OK);
    CHECK_STR(gbx_job_name(copy), "do_post_barn_animal_v2");
    CHECK_STR(gbx_job_api_version(copy), "v2");
    CHECK_STR(gbx_job_name(job), "do_put_barn_animal_v1"); /* the original is untouched */
    CHECK_INT(gbx_job_set_name(copy, ""), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_job_set(copy, "resource.name", "Charlotte"), GBX_OK);
    CHECK_STR(gbx_job_resource_uri(copy), "http://127.0.0.1:4080/barn/v1/animal/Charlotte");
    CHECK_INT(gbx_job_set(copy, "base_uri", "http://h/barn/v2"), GBX_OK);
    CHECK_STR(gbx_job_resource_uri(copy), "http://h/barn/v2/animal/Charlotte");
    CHECK_INT(gbx_job_set(copy, "event_status", "http://h/barn/v2/status/s-1"), GBX_OK);
    CHECK_STR(gbx_job_event_status(copy), "http://h/barn/v2/status/s-1");
    CHECK_INT(gbx_job_set(copy, "nonsense", "x"), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_job_set(copy, "base_uri", NULL), GBX_OK);
    CHECK(gbx_job_resource_uri(copy) == NULL);

    CHECK_INT(gbx_job_kind_of(copy), GBX_JOB_ASYNC);
    CHECK_INT(gbx_job_set_type(copy, GBX_JOB_SYNC), GBX_OK);
    CHECK_INT(gbx_job_kind_of(copy), GBX_JOB_SYNC);
    CHECK_STR(gbx_job_type(copy), "sync");
    CHECK(gbx_job_status_id(copy) == NULL);
    CHECK_INT(gbx_job_set_type(copy, GBX_JOB_UNKNOWN), GBX_ERR_BAD_REQUEST);

    CHECK_INT(gbx_job_set_content(copy, "{\"b\":\0}", 7), GBX_OK);
    size_t len = 0;
    CHECK(memcmp(gbx_job_content(copy, &len), "{\"b\":\0}", 7) == 0);
    CHECK_INT(len, 7);
    CHECK_INT(gbx_job_set_content(copy, "{\"b\":2}", 7), GBX_OK);
    CHECK_INT(gbx_job_json_content(&value, copy), GBX_OK); /* parsed again, not the cached body */
    CHECK_INT(json_integer_value(json_object_get(value, "b")), 2);
    json_decref(value);

    json_t *headers = json_pack("{s:s}", "X-Trace", "abc");
    CHECK_INT(gbx_job_set_json(copy, "headers", headers), GBX_OK);
    json_decref(headers);
    CHECK_STR(json_string_value(json_object_get(gbx_job_headers(copy), "X-Trace")), "abc");
    CHECK_INT(gbx_job_set_json(copy, "query_params", NULL), GBX_OK);
    CHECK_INT(json_object_size(gbx_job_query_params(copy)), 0);
    json_t *bad = json_pack("{s:i}", "n", 1);
    CHECK_INT(gbx_job_set_json(copy, "environ", bad), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_job_set_json(copy, "on", bad), GBX_ERR_BAD_REQUEST);
    json_decref(bad);
    CHECK_INT(gbx_job_add_argument(copy, "Wilbur"), GBX_OK);
    CHECK_INT(gbx_job_add_argument(copy, "Fern"), GBX_OK);
    CHECK_INT(json_array_size(gbx_job_arguments(copy)), 2);
    CHECK_STR(json_string_value(json_array_get(gbx_job_arguments(copy), 1)), "Fern");
    CHECK_INT(gbx_job_add_argument(copy, NULL), GBX_ERR_BAD_REQUEST);

    /* on(): the other job's name and whole envelope, without its ticket. */
    CHECK_INT(gbx_job_copy(&other, job), GBX_OK);
    CHECK_INT(gbx_job_set_name(other, "do_post_barn_event_v1"), GBX_OK);
    CHECK_INT(gbx_job_on(job, GBX_EVENT_COMPLETED, other), GBX_OK);
    CHECK_INT(gbx_job_set_name(other, "do_post_barn_other_v1"), GBX_OK); /* stored as a copy */
    json_t *on = gbx_envelope_get_json(gbx_job_envelope(job), "on");
    json_t *entry = json_object_get(on, "COMPLETED");
    CHECK_STR(json_string_value(json_object_get(entry, "name")), "do_post_barn_event_v1");
    json_t *stored = json_object_get(entry, "envelope");
    CHECK_STR(json_string_value(json_object_get(stored, "status")), "s-6xh9p61rczmddwett5ahzwmke1");
    CHECK(json_object_get(stored, "ticket") == NULL);
    CHECK_INT(gbx_envelope_validate(gbx_job_envelope(job)), GBX_OK);
    CHECK_INT(gbx_job_on(job, GBX_EVENT_FAILED, other), GBX_OK);
    CHECK_INT(json_object_size(on), 2);
    CHECK_INT(gbx_job_on(job, GBX_EVENT_FAILED, NULL), GBX_OK);
    CHECK_INT(json_object_size(on), 1);
    CHECK_INT(gbx_job_on(job, GBX_EVENT_UNKNOWN, other), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_job_on(job, (gbx_job_event)42, other), GBX_ERR_BAD_REQUEST);

    /* Not a REST job. */
    CHECK(!gbx_job_is_rest(job));
    CHECK(gbx_job_rest_uri(job) == NULL);
    CHECK_INT(gbx_job_rest_method(job), GBX_METHOD_GET);

    /* A REST job copies as one; it has no events. */
    CHECK_INT(gbx__job_set_rest(other, GBX_METHOD_PUT, "http://h/x"), GBX_OK);
    gbx_job *rest_copy = NULL;
    CHECK_INT(gbx_job_copy(&rest_copy, other), GBX_OK);
    CHECK(gbx_job_is_rest(rest_copy));
    CHECK_INT(gbx_job_rest_method(rest_copy), GBX_METHOD_PUT);
    CHECK_STR(gbx_job_rest_uri(rest_copy), "http://h/x");
    CHECK_INT(gbx_job_on(job, GBX_EVENT_COMPLETED, rest_copy), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_job_on(rest_copy, GBX_EVENT_COMPLETED, job), GBX_ERR_BAD_REQUEST);
    gbx_job_free(rest_copy);

    gbx_job_free(other);
    gbx_job_free(copy);
    gbx_job_free(job);
    CHECK_INT(gbx_job_copy(&copy, NULL), GBX_ERR_BAD_REQUEST);
}

int main(void) {
    /* Event names both ways, numbered as Gearbox's Job::EVENT_*. */
    CHECK_INT(GBX_EVENT_COMPLETED, 1);
    CHECK_STR(gbx_job_event_name(GBX_EVENT_CANCELLED), "CANCELLED");
    CHECK_STR(gbx_job_event_name((gbx_job_event)99), "UNKNOWN");
    CHECK_INT(gbx_job_event_from_name("succeeded"), GBX_EVENT_SUCCEEDED);
    CHECK_INT(gbx_job_event_from_name("nope"), GBX_EVENT_UNKNOWN);
    test_accessors();
    test_async_and_uris();
    test_json_content_plain();
    test_json_content_schemas();
    test_building();
    return check_done();
}
