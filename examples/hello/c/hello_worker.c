/* The hello service in C (docs/first-service.md), component "hello":
 *
 *   PUT /hello/v1/greeting/<name> {"text": "Hello"}  async: 202 and a status to poll
 *   GET /hello/v1/greeting/<name>                    sync: 200 {"name", "greeting"}, or 404
 *
 * Usage: gearbox-hello-worker CONFIG   (SIGTERM or SIGINT stops it) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gearbox/gearbox.h>

static char *greetings; /* the directory of the greetings: "hello.dir" of the config */

/* The file of the greeting the URL names, <dir>/<name>.json; false (400) for a name
 * that is not letters and digits, so that no name leaves the directory. */
static bool greeting_file(char *path, size_t size, gbx_job *job) {
    const char *name = gbx_job_resource_name(job);
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > 64 ||
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != len) {
        gbx_error_set(GBX_ERR_BAD_REQUEST, "a greeting's name is letters and digits");
        return false;
    }
    snprintf(path, size, "%s/%s.json", greetings, name);
    return true;
}

/* PUT /hello/v1/greeting/<name>: async, so the client gets 202 and polls the status. */
static gbx_worker_result do_put_hello_greeting_v1(gbx_job *job, gbx_response *resp, void *user) {
    (void)resp, (void)user;
    char path[4096], msg[256];
    json_t *body = NULL;
    if (!greeting_file(path, sizeof path, job)) return GBX_WORKER_ERROR;
    /* The body, checked against schemas/create-hello-greeting-v1.js. */
    if (gbx_job_json_content(&body, job) != GBX_OK) return GBX_WORKER_ERROR;
    const char *name = gbx_job_resource_name(job);
    gbx_status *status = gbx_job_status(job);

    snprintf(msg, sizeof msg, "writing the greeting for %s", name);
    gbx_status_add_message(status, msg);
    gbx_status_set_progress(status, 50);
    char greeting[256];
    snprintf(greeting, sizeof greeting, "%s, %s!", json_string_value(json_object_get(body, "text")), name);
    json_t *doc = json_pack("{s:s, s:s}", "name", name, "greeting", greeting);
    int rc = json_dump_file(doc, path, JSON_COMPACT);
    json_decref(doc);
    json_decref(body);
    if (rc != 0) {
        gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "cannot write %s", path);
        return GBX_WORKER_ERROR;                        /* COMPLETED with code 500 */
    }
    snprintf(msg, sizeof msg, "greeting for %s saved", name);
    gbx_status_add_message(status, msg);
    return GBX_WORKER_SUCCESS;                          /* COMPLETED, progress 100, code 0 */
}

/* GET /hello/v1/greeting/<name>: sync, the answer is the HTTP response. */
static gbx_worker_result do_get_hello_greeting_v1(gbx_job *job, gbx_response *resp, void *user) {
    (void)user;
    char path[4096];
    if (!greeting_file(path, sizeof path, job)) return GBX_WORKER_ERROR;
    json_t *doc = json_load_file(path, 0, NULL);
    if (!doc) {
        gbx_error_set(GBX_ERR_NOT_FOUND, "no greeting for %s", gbx_job_resource_name(job));
        return GBX_WORKER_ERROR;                        /* HTTP 404 */
    }
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    gbx_response_add_header(resp, "Content-Type", "application/json");
    gbx_response_set_content(resp, text, strlen(text));
    free(text);
    return GBX_WORKER_SUCCESS;                          /* HTTP 200 */
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CONFIG\n", argv[0]);
        return 2;
    }
    gbx_log_set_callback(gbx_log_to_file, NULL);        /* the library itself never prints */
    gbx_worker *w = NULL;
    if (gbx_worker_new(&w, argv[1]) != GBX_OK ||
        gbx_config_get_path(&greetings, gbx_worker_config(w), "hello.dir", "state/hello") != GBX_OK) {
        fprintf(stderr, "%s\n", gbx_error_last()->message);
        gbx_worker_free(w);
        return 1;
    }
    if (mkdir(greetings, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "cannot make %s: %s\n", greetings, strerror(errno));
        return 1;
    }
    gbx_worker_register(w, "do_put_hello_greeting_v1", do_put_hello_greeting_v1, NULL);
    gbx_worker_register(w, "do_get_hello_greeting_v1", do_get_hello_greeting_v1, NULL);
    gbx_err rc = gbx_worker_run_until_signal(w);        /* until SIGTERM or SIGINT */
    gbx_worker_free(w);
    free(greetings);
    return rc == GBX_OK ? 0 : 1;
}
