/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* barn.c - the barn example service's worker in C (gearbox-barn-worker).
 *
 * The barn keeps animals as JSON files, <state_dir>/animals/<name>.json:
 *   GET    /barn/v1/animal          -> {"animals": [names]}           (sync)
 *   GET    /barn/v1/animal/<name>   -> the animal, or 404             (sync)
 *   PUT    /barn/v1/animal/<name>   -> create or replace it           (async)
 *   POST   /barn/v1/animal          -> create under a generated name  (async)
 *   POST   /barn/v1/animal/<name>   -> update some fields, or 404     (async)
 *   DELETE /barn/v1/animal/<name>   -> remove it, or 404              (async)
 * Afterwards every created or updated animal goes to work: a pig rolls in
 * the mud, a spider ("species": "Araneus cavaticus") spins a web for a few
 * seconds and reports its progress, as in Yahoo Gearbox's barn tutorial.
 *
 * The same worker also serves the barn's orchestration handlers
 * (farmwork.c: chores, families, litters, alarms, mules, fields, agents).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "barn.h"

#define NAME_MAX_LEN 64
#define DEFAULT_SPECIES "Sus domestica"
#define SPIDER_SPECIES "Araneus cavaticus"

typedef struct barn {
    char *animals_dir;  /* <state_dir>/animals */
    double web_seconds; /* how long a spider spins */
} barn;

/* ---- storage ----------------------------------------------------------- */

/* Names become file names: [A-Za-z0-9._-], not starting with a dot (no
 * hidden files, no "." or ".."), at most NAME_MAX_LEN characters; so no
 * name can leave the animals directory. */
static gbx_err check_name(const char *name) {
    if (!name || !*name)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "the URL must name the animal: /barn/v1/animal/<name>");
    size_t len = strlen(name);
    if (len > NAME_MAX_LEN)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "invalid animal name: longer than %d characters",
                             NAME_MAX_LEN);
    if (name[0] == '.')
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "invalid animal name \"%s\": it may not start with a dot",
                             name);
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return gbx_error_set(GBX_ERR_BAD_REQUEST,
                                 "invalid animal name \"%s\": only letters, digits, '.', '_' and '-' are allowed",
                                 name);
    }
    return GBX_OK;
}

static gbx_err animal_path(char *buf, size_t size, const barn *b, const char *name) {
    int n = snprintf(buf, size, "%s/%s.json", b->animals_dir, name);
    if (n < 0 || (size_t)n >= size)
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "path of animal \"%s\" too long", name);
    return GBX_OK;
}

/* The stored text of an animal.  *out: malloc'ed. */
static gbx_err read_animal_text(char **out, size_t *len, const barn *b, const char *name) {
    char path[4096];
    gbx_err err = animal_path(path, sizeof path, b, name);
    if (err != GBX_OK) return err;
    if (access(path, F_OK) != 0) {
        if (errno == ENOENT) return gbx_error_set(GBX_ERR_NOT_FOUND, "animal \"%s\" not found", name);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "%s: %s", path, strerror(errno));
    }
    return gbx_read_file(out, len, path);
}

static gbx_err read_animal(json_t **out, const barn *b, const char *name) {
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    gbx_err err = read_animal_text(&text, &len, b, name);
    if (err != GBX_OK) return err;
    err = gbx_json_parse(out, text, len);
    free(text);
    if (err != GBX_OK) {
        char why[512]; /* the last error's buffer cannot format into itself */
        snprintf(why, sizeof why, "%s", gbx_error_last()->message);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "stored animal \"%s\" is damaged: %s",
                             name, why);
    }
    return GBX_OK;
}

/* Writes the animal atomically: a temporary file in the same directory,
 * flushed, then renamed over the old one.  Readers see the old animal or
 * the new one, never half of it. */
static gbx_err write_animal(const barn *b, const char *name, const json_t *animal) {
    char path[4096], tmp[4096];
    gbx_err err = animal_path(path, sizeof path, b, name);
    if (err != GBX_OK) return err;
    int n = snprintf(tmp, sizeof tmp, "%s/.%s.json.XXXXXX", b->animals_dir, name);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "path of animal \"%s\" too long", name);
    char *text = NULL;
    if ((err = gbx_json_dump(&text, animal)) != GBX_OK) return err;

    int fd = mkstemp(tmp);
    if (fd < 0) {
        free(text);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "cannot create %s: %s", tmp, strerror(errno));
    }
    size_t len = strlen(text), done = 0;
    while (done < len) {
        ssize_t w = write(fd, text + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        done += (size_t)w;
    }
    free(text);
    int saved = errno;
    bool ok = done == len && fchmod(fd, 0644) == 0 && fsync(fd) == 0;
    if (!ok && done == len) saved = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        saved = errno;
    }
    if (!ok) {
        unlink(tmp);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "cannot write %s: %s", path, strerror(saved));
    }
    return GBX_OK;
}

static int compare_names(const void *a, const void *b) {
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

/* {"animals": [names, sorted]}. *out: new reference. */
static gbx_err list_animals(json_t **out, const barn *b) {
    *out = NULL;
    DIR *dir = opendir(b->animals_dir);
    if (!dir)
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "cannot read %s: %s", b->animals_dir,
                             strerror(errno));
    json_t *names = json_array();
    struct dirent *de;
    while (names && (de = readdir(dir))) {
        const char *f = de->d_name;
        size_t len = strlen(f);
        if (f[0] == '.' || len <= 5 || strcmp(f + len - 5, ".json") != 0) continue;
        json_array_append_new(names, json_stringn(f, len - 5));
    }
    closedir(dir);
    if (!names) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");

    /* readdir order is arbitrary; answer in name order. */
    size_t count = json_array_size(names);
    json_t **items = count ? malloc(count * sizeof *items) : NULL;
    if (count && !items) {
        json_decref(names);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    }
    for (size_t i = 0; i < count; i++) items[i] = json_incref(json_array_get(names, i));
    qsort(items, count, sizeof *items, compare_names);
    json_array_clear(names);
    for (size_t i = 0; i < count; i++) json_array_append_new(names, items[i]);
    free(items);
    *out = json_pack("{s:o}", "animals", names);
    return *out ? GBX_OK : gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
}

/* ---- helpers for handlers ---------------------------------------------- */

const char *barn_resource_name(gbx_job *job) {
    const char *name = gbx_job_resource_name(job);
    if (name && *name) return name;
    json_t *args = gbx_job_arguments(job);
    return json_string_value(json_array_get(args, 0));
}

static bool has_arguments(gbx_job *job) { return json_array_size(gbx_job_arguments(job)) > 0; }

gbx_err barn_body_object(json_t **out, gbx_job *job) {
    *out = NULL;
    json_t *body = NULL;
    gbx_err err = gbx_job_json_content(&body, job);
    if (err != GBX_OK) return err;
    if (json_is_null(body)) {
        json_decref(body);
        *out = json_object();
        return GBX_OK;
    }
    if (!json_is_object(body)) {
        json_decref(body);
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "the body must be a JSON object describing the animal");
    }
    /* A copy: the handler changes it, and the job keeps the body it validated. */
    *out = json_deep_copy(body);
    json_decref(body);
    return *out ? GBX_OK : gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
}

void barn_note(gbx_job *job, const char *fmt, ...) {
    gbx_status *status = gbx_job_status(job);
    if (!status) return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (gbx_status_add_message(status, msg) != GBX_OK)
        gbx_log(GBX_LOG_WARN, "cannot add message \"%s\": %s", msg, gbx_error_last()->message);
}

void barn_progress(gbx_job *job, int percent) {
    gbx_status *status = gbx_job_status(job);
    if (status && gbx_status_set_progress(status, percent) != GBX_OK)
        gbx_log(GBX_LOG_WARN, "cannot set progress %d: %s", percent, gbx_error_last()->message);
}

void barn_sleep(double s) {
    if (s <= 0) return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* What an animal does once created or updated. */
static void put_to_work(gbx_job *job, const barn *b, const json_t *animal, const char *id) {
    const char *name = json_string_value(json_object_get(animal, "name"));
    if (!name) name = id;
    const char *species = json_string_value(json_object_get(animal, "species"));
    if (!species || strcmp(species, SPIDER_SPECIES) != 0) {
        barn_note(job, "%s is happily rolling around in the mud!", name);
        return;
    }
    static const char *const words[] = {"SOME PIG", "TERRIFIC", "RADIANT", "HUMBLE"};
    barn_progress(job, 10);
    barn_note(job, "%s is beginning to spin a web.", name);
    barn_sleep(b->web_seconds / 2);
    barn_progress(job, 50);
    barn_note(job, "%s is still spinning...", name);
    barn_sleep(b->web_seconds / 2);
    barn_note(job, "%s's web is complete! It says: '%s'", name,
         words[(unsigned)time(NULL) % (sizeof words / sizeof words[0])]);
}

static gbx_worker_result answer_json(gbx_response *resp, const char *text, size_t len) {
    if (gbx_response_set_content(resp, text, len) != GBX_OK ||
        gbx_response_add_header(resp, "Content-Type", "application/json") != GBX_OK)
        return GBX_WORKER_ERROR;
    return GBX_WORKER_SUCCESS;
}

/* A sync caller (a location that makes PUT/POST synchronous) gets the
 * stored animal back; for an async job the reply is not used. */
static gbx_worker_result answer_animal(gbx_response *resp, const json_t *animal) {
    char *text = NULL;
    if (gbx_json_dump(&text, animal) != GBX_OK) return GBX_WORKER_ERROR;
    gbx_worker_result r = answer_json(resp, text, strlen(text));
    free(text);
    return r;
}

/* ---- handlers ---------------------------------------------------------- */

static gbx_worker_result do_get_barn_animal_v1(gbx_job *job, gbx_response *resp, void *user) {
    const barn *b = user;
    if (!has_arguments(job)) {
        json_t *list = NULL;
        char *text = NULL;
        if (list_animals(&list, b) != GBX_OK || gbx_json_dump(&text, list) != GBX_OK) {
            json_decref(list);
            return GBX_WORKER_ERROR;
        }
        json_decref(list);
        gbx_worker_result r = answer_json(resp, text, strlen(text));
        free(text);
        return r;
    }
    const char *name = barn_resource_name(job);
    char *text = NULL;
    size_t len = 0;
    if (check_name(name) != GBX_OK || read_animal_text(&text, &len, b, name) != GBX_OK)
        return GBX_WORKER_ERROR;
    gbx_worker_result r = answer_json(resp, text, len);
    free(text);
    return r;
}

/* PUT: create the animal, or replace it whole. */
static gbx_worker_result do_put_barn_animal_v1(gbx_job *job, gbx_response *resp, void *user) {
    const barn *b = user;
    const char *name = has_arguments(job) ? barn_resource_name(job) : NULL;
    json_t *animal = NULL;
    if (check_name(name) != GBX_OK || barn_body_object(&animal, job) != GBX_OK) return GBX_WORKER_ERROR;
    char path[4096];
    bool existed = animal_path(path, sizeof path, b, name) == GBX_OK && access(path, F_OK) == 0;
    if (write_animal(b, name, animal) != GBX_OK) {
        json_decref(animal);
        return GBX_WORKER_ERROR;
    }
    barn_note(job, "animal \"%s\" %s", name, existed ? "replaced" : "created");
    put_to_work(job, b, animal, name);
    gbx_worker_result r = answer_animal(resp, animal);
    json_decref(animal);
    return r;
}

/* POST without a name: create under the generated name (a pig unless told
 * otherwise).  POST with a name: update the given fields of an existing
 * animal (its name cannot change). */
static gbx_worker_result do_post_barn_animal_v1(gbx_job *job, gbx_response *resp, void *user) {
    const barn *b = user;
    const char *name = barn_resource_name(job);
    json_t *body = NULL, *animal = NULL;
    if (check_name(name) != GBX_OK || barn_body_object(&body, job) != GBX_OK) return GBX_WORKER_ERROR;

    const char *operation = gbx_job_operation(job);
    bool create = operation ? strcmp(operation, "create") == 0 : !has_arguments(job);
    if (create) {
        animal = json_incref(body);
        if (!json_object_get(animal, "species"))
            json_object_set_new(animal, "species", json_string(DEFAULT_SPECIES));
    } else {
        if (read_animal(&animal, b, name) != GBX_OK) {
            json_decref(body);
            return GBX_WORKER_ERROR;
        }
        const char *old_name = json_string_value(json_object_get(animal, "name"));
        const char *new_name = json_string_value(json_object_get(body, "name"));
        if (new_name && old_name && strcmp(old_name, new_name) != 0) {
            gbx_error_set(GBX_ERR_BAD_REQUEST, "the name of animal \"%s\" cannot change", name);
            json_decref(body);
            json_decref(animal);
            return GBX_WORKER_ERROR;
        }
        json_object_update(animal, body);
    }
    json_decref(body);
    if (write_animal(b, name, animal) != GBX_OK) {
        json_decref(animal);
        return GBX_WORKER_ERROR;
    }
    barn_note(job, "animal \"%s\" %s", name, create ? "created" : "updated");
    put_to_work(job, b, animal, name);
    gbx_worker_result r = answer_animal(resp, animal);
    json_decref(animal);
    return r;
}

static gbx_worker_result do_delete_barn_animal_v1(gbx_job *job, gbx_response *resp, void *user) {
    const barn *b = user;
    const char *name = has_arguments(job) ? barn_resource_name(job) : NULL;
    char path[4096];
    if (check_name(name) != GBX_OK || animal_path(path, sizeof path, b, name) != GBX_OK)
        return GBX_WORKER_ERROR;
    if (unlink(path) != 0) {
        if (errno == ENOENT)
            gbx_error_set(GBX_ERR_NOT_FOUND, "animal \"%s\" not found", name);
        else
            gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "cannot delete %s: %s", path, strerror(errno));
        return GBX_WORKER_ERROR;
    }
    barn_note(job, "animal \"%s\" deleted", name);
    return GBX_WORKER_SUCCESS;
}

/* ---- program ----------------------------------------------------------- */

static int mkdirs(const char *path) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
    return 0;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: gearbox-barn-worker [--config] FILE [--max-requests N] [--log-file F]\n"
            "                           [--log-level debug|info|warn|error] [--help]\n"
            "Serves the barn example service (do_{get,put,post,delete}_barn_animal_v1)\n"
            "and its orchestration handlers (chore, family, litter, alarm, mule, field,\n"
            "agents: see examples/barn/README.md).\n"
            "  FILE, --config FILE the component config (e.g. examples/barn/conf/barn.conf)\n"
            "  --max-requests N    exit after N jobs (default: never)\n"
            "  --log-file F        append the log to F (default: stderr)\n"
            "  --log-level L       debug, info (default), warn or error\n"
            "SIGTERM or SIGINT stops the worker after the current job.\n");
}

int main(int argc, char **argv) {
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"max-requests", required_argument, NULL, 'm'},
        {"log-file", required_argument, NULL, 'l'},
        {"log-level", required_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *log_file = NULL, *log_level = NULL;
    unsigned long max_requests = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:m:l:L:h", options, NULL)) != -1) {
        switch (opt) {
        case 'c': config = optarg; break;
        case 'l': log_file = optarg; break;
        case 'L': log_level = optarg; break;
        case 'm': {
            char *end = NULL;
            errno = 0;
            max_requests = strtoul(optarg, &end, 10);
            if (errno || !end || *end || optarg[0] == '-') {
                fprintf(stderr, "gearbox-barn-worker: --max-requests needs a number, not \"%s\"\n", optarg);
                return 2;
            }
            break;
        }
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    /* The config may also come as the one argument (WORKER CONFIG, as
     * Gearbox's workers were started). */
    if (!config && optind == argc - 1) config = argv[optind++];
    if (optind < argc || !config) {
        if (optind < argc) fprintf(stderr, "gearbox-barn-worker: unexpected argument \"%s\"\n", argv[optind]);
        else fprintf(stderr, "gearbox-barn-worker: no config given: run it as gearbox-barn-worker FILE or --config FILE\n");
        usage(stderr);
        return 2;
    }

    FILE *log = stderr;
    if (log_file && !(log = fopen(log_file, "a"))) {
        fprintf(stderr, "gearbox-barn-worker: cannot open log file %s: %s\n", log_file, strerror(errno));
        return 1;
    }
    gbx_log_set_callback(gbx_log_to_file, log);
    if (log_level) {
        int level = gbx_log_level_from_name(log_level);
        if (level < 0) {
            fprintf(stderr, "gearbox-barn-worker: unknown log level \"%s\"\n", log_level);
            return 2;
        }
        gbx_log_set_level((gbx_log_level)level);
    }

    int rc = 1;
    barn b = {0};
    gbx_worker *worker = NULL;
    farmwork *fw = NULL;
    char *state_dir = NULL;
    if (gbx_worker_new(&worker, config) != GBX_OK) {
        gbx_log(GBX_LOG_ERROR, "barn: %s", gbx_error_last()->message);
        goto out;
    }
    const gbx_config *cfg = gbx_worker_config(worker);
    if (gbx_config_get_path(&state_dir, cfg, "barn.state_dir", "state/barn") != GBX_OK) {
        gbx_log(GBX_LOG_ERROR, "barn: %s", gbx_error_last()->message);
        goto out;
    }
    b.web_seconds = gbx_config_get_real(cfg, "barn.web_seconds", 4.0);
    size_t len = strlen(state_dir) + sizeof "/animals";
    if (!(b.animals_dir = malloc(len))) goto out;
    snprintf(b.animals_dir, len, "%s/animals", state_dir);
    if (mkdirs(b.animals_dir) != 0) {
        gbx_log(GBX_LOG_ERROR, "barn: cannot create %s: %s", b.animals_dir, strerror(errno));
        goto out;
    }

    if (gbx_worker_register(worker, "do_get_barn_animal_v1", do_get_barn_animal_v1, &b) != GBX_OK ||
        gbx_worker_register(worker, "do_put_barn_animal_v1", do_put_barn_animal_v1, &b) != GBX_OK ||
        gbx_worker_register(worker, "do_post_barn_animal_v1", do_post_barn_animal_v1, &b) != GBX_OK ||
        gbx_worker_register(worker, "do_delete_barn_animal_v1", do_delete_barn_animal_v1, &b) != GBX_OK) {
        gbx_log(GBX_LOG_ERROR, "barn: %s", gbx_error_last()->message);
        goto out;
    }
    if (farmwork_new(&fw, worker) != GBX_OK) {
        gbx_log(GBX_LOG_ERROR, "barn: %s", gbx_error_last()->message);
        goto out;
    }
    gbx_worker_set_max_requests(worker, max_requests);

    gbx_log(GBX_LOG_INFO, "barn: animals in %s", b.animals_dir);
    if (gbx_worker_run_until_signal(worker) != GBX_OK) {
        gbx_log(GBX_LOG_ERROR, "barn: %s", gbx_error_last()->message);
        goto out;
    }
    rc = 0;
out:
    gbx_worker_free(worker);
    farmwork_free(fw);
    free(state_dir);
    free(b.animals_dir);
    if (log != stderr) fclose(log);
    return rc;
}
