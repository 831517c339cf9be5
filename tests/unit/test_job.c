/* test_job.c - job accessors over an envelope, and json_content with the
 * schema lookup of the worker runtime. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "gearbox/gearbox.h"
#include "job_internal.h"

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
    return check_done();
}
