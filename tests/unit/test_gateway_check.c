/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit tests of the --check report (gateway/src/gw_check.c): the handlers
 * of a location from its "handlers" list, from gearmand's answer and from
 * the schema files, the file each uses, and the warnings: misnamed schema
 * files (with the right name), schema files of another component, write
 * handlers without a schema, an invalid schema, another status store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "files.h"
#include "gearbox/error.h"
#include "gearbox/log.h"
#include "gw_check.h"
#include "gw_config.h"

static char dir[64];

static void write_file(const char *name, const char *text) { files_write(dir, name, text); }

typedef struct lines {
    char text[8192];
    size_t warnings, total;
} lines;

static void collect(void *user, bool warning, const char *line) {
    lines *l = user;
    size_t used = strlen(l->text);
    snprintf(l->text + used, sizeof l->text - used, "%s%s\n", warning ? "W " : "", line);
    l->warnings += warning;
    l->total++;
}

static void quiet(gbx_log_level level, const char *message, void *user) {
    (void)level, (void)message, (void)user;
}

static gbx_gw_config *load(void) {
    char path[256];
    snprintf(path, sizeof path, "%s/gw.conf", dir);
    gbx_gw_config *cfg = NULL;
    CHECK_INT(gbx_gw_config_load(&cfg, path), GBX_OK);
    if (!cfg) fprintf(stderr, "load: %s\n", gbx_error_last()->message);
    return cfg;
}

static bool has(const lines *l, const char *text) {
    if (strstr(l->text, text)) return true;
    fprintf(stderr, "report lacks \"%s\":\n%s", text, l->text);
    return false;
}

int main(void) {
    gbx_log_set_callback(quiet, NULL);
    snprintf(dir, sizeof dir, "/tmp/gbx-test-gwcheck-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    char sub[128];
    snprintf(sub, sizeof sub, "%s/schemas", dir);
    if (mkdir(sub, 0755) != 0) return 1;

    /* The notes component: its config lists one handler, gearmand knows
     * others, the schema directory holds good and misnamed files. */
    write_file("notes.conf", "{\"component\": \"notes\", \"schemadir\": \"schemas\",\n"
                             " \"handlers\": [\"do_get_notes_note_v1\", \"do_append_notes_log_v1\"],\n"
                             " \"status\": {\"type\": \"sqlite\", \"path\": \"status.db\"}}\n");
    write_file("gw.conf", "{\"status\": {\"type\": \"sqlite\", \"path\": \"status.db\"},\n"
                          " \"locations\": [{\"prefix\": \"/notes\", \"auth\": \"none\", \"config\": \"notes.conf\"},\n"
                          "               {\"prefix\": \"/notes/v1/note\", \"sync\": [\"PUT\"]}]}\n");
    write_file("schemas/get-notes-note-v1.js", "{\"type\": \"null\"}");
    write_file("schemas/put-notes-note-v1.js", "{\"type\": \"object\"}");
    write_file("schemas/crate-notes-tag-v1.js", "{\"type\": \"object\"}");
    write_file("schemas/create-barn-animal-v1.js", "{\"type\": \"object\"}");
    write_file("schemas/create-notes-tag.js", "{\"type\": \"object\"}");
    write_file("schemas/update-notes-broken-v1.js", "{\"type\": 12}");
    write_file("schemas/delete-global-note-v1.js", "{\"type\": \"null\"}");
    write_file("schemas/README", "not a schema");

    json_t *registered = json_pack("{s:i, s:i, s:i, s:i, s:i}", "do_put_notes_note_v1", 2,
                                   "do_delete_notes_note_v1", 1, "do_post_notes_tag_v1", 1,
                                   "do_get_barn_animal_v1", 1, "do_put_notes_gone_v1", 0);
    gbx_gw_config *cfg = load();
    if (!cfg) return check_done();
    lines l = {0};
    size_t warnings = gbx_gw_check(cfg, registered, NULL, collect, &l);
    CHECK_INT(warnings, l.warnings);
    /* Handlers, where they are known from, the schema file each uses. */
    CHECK(has(&l, "location /notes: component notes ("));
    CHECK(has(&l, "  do_get_notes_note_v1 (config, schema file): get -> get-notes-note-v1.js\n"));
    CHECK(has(&l, "  do_put_notes_note_v1 (gearmand): create -> no schema\n"));
    CHECK(has(&l, "  do_delete_notes_note_v1 (gearmand): delete -> delete-global-note-v1.js\n"));
    CHECK(has(&l, "  do_post_notes_tag_v1 (gearmand): create -> no schema, update -> no schema\n"));
    CHECK(has(&l, "  do_post_notes_broken_v1 (schema file): create -> no schema, update -> an invalid schema\n"));
    CHECK(has(&l, "  do_delete_global_note_v1 (schema file): delete -> delete-global-note-v1.js\n"));
    CHECK(!strstr(l.text, "do_append_notes_log_v1")); /* not an HTTP handler */
    CHECK(!strstr(l.text, "do_get_barn_animal_v1"));  /* another component's */
    CHECK(!strstr(l.text, "do_put_notes_gone_v1"));   /* no worker left */
    CHECK(has(&l, "location /notes/v1/note: nested in /notes, whose handlers and schemas it uses\n"));
    /* The warnings. */
    CHECK(has(&l, "W   warning: schema file put-notes-note-v1.js matches no handler: \"put\" is not "
                  "an operation (get, create, update, delete), so no request is validated against "
                  "it; the right name is create-notes-note-v1.js (PUT requests are validated "
                  "against the create schema)\n"));
    CHECK(has(&l, "W   warning: schema file crate-notes-tag-v1.js matches no handler: \"crate\" is "
                  "not an operation"));
    CHECK(has(&l, "the right name is create-notes-tag-v1.js (the nearest operation)\n"));
    CHECK(has(&l, "W   warning: schema file create-barn-animal-v1.js is for component \"barn\", "
                  "not this location's \"notes\""));
    CHECK(has(&l, "W   warning: schema file create-notes-tag.js matches no handler: its name is not "
                  "<operation>-<component>-<resource>-<version>.js"));
    CHECK(has(&l, "W   warning: write handler do_put_notes_note_v1 has no schema: any JSON body is "
                  "queued (add create-notes-note-v1.js to "));
    CHECK(has(&l, "W   warning: write handler do_post_notes_tag_v1 has no schema: any JSON body is "
                  "queued (add create-notes-tag-v1.js (POST without arguments) or update-notes-tag-v1.js to "));
    CHECK(has(&l, "W   warning: schema file "));
    CHECK(has(&l, "update-notes-broken-v1.js: invalid schema"));
    CHECK(!strstr(l.text, "README"));
    CHECK(!strstr(l.text, "status store")); /* both configs name the same file */
    CHECK_INT(l.warnings, 7);
    gbx_gw_config_free(cfg);

    /* gearmand unreachable: said once; another status store; no schemadir. */
    write_file("notes.conf", "{\"component\": \"notes\", \"handlers\": [\"do_put_notes_note_v1\"],\n"
                             " \"status\": {\"type\": \"sqlite\", \"path\": \"elsewhere/other.db\"}}\n");
    cfg = load();
    if (!cfg) return check_done();
    memset(&l, 0, sizeof l);
    warnings = gbx_gw_check(cfg, NULL, "connection refused", collect, &l);
    CHECK(has(&l, "not reachable (connection refused): the handlers below are those of the "
                  "\"handlers\" lists and of the schema files only\n"));
    CHECK(has(&l, "schemas none: bodies are not validated\n"));
    CHECK(has(&l, "W   warning: the component config "));
    CHECK(has(&l, "names the status store sqlite "));
    CHECK(has(&l, "elsewhere/other.db but the gateway uses sqlite "));
    CHECK(has(&l, "W   warning: write handler do_put_notes_note_v1 has no schema: any JSON body is "
                  "queued (the component config has no \"schemadir\"; add one holding "
                  "create-notes-note-v1.js)\n"));
    CHECK_INT(warnings, 2);
    gbx_gw_config_free(cfg);

    /* MariaDB: one database whether the password is inline or in a file;
     * another database is another store, named without its password. */
    write_file("notes.conf", "{\"component\": \"notes\", \"handlers\": [\"do_get_notes_note_v1\"],\n"
                             " \"status\": {\"type\": \"mysql\", \"host\": \"db\", \"port\": 3306,"
                             " \"password_file\": \"pw\"}}\n");
    write_file("gw.conf", "{\"status\": {\"type\": \"mariadb\", \"host\": \"db\",\n"
                          "  \"password\": \"s3cret\", \"database\": \"gearbox\"},\n"
                          " \"locations\": [{\"prefix\": \"/notes\", \"auth\": \"none\", \"config\": \"notes.conf\"}]}\n");
    cfg = load();
    if (!cfg) return check_done();
    memset(&l, 0, sizeof l);
    gbx_gw_check(cfg, NULL, NULL, collect, &l);
    CHECK(!strstr(l.text, "status store"));
    gbx_gw_config_free(cfg);
    write_file("notes.conf", "{\"component\": \"notes\", \"handlers\": [\"do_get_notes_note_v1\"],\n"
                             " \"status\": {\"type\": \"mariadb\", \"host\": \"db\", \"database\": \"other\","
                             " \"password\": \"s3cret\"}}\n");
    cfg = load();
    if (!cfg) return check_done();
    memset(&l, 0, sizeof l);
    gbx_gw_check(cfg, NULL, NULL, collect, &l);
    CHECK(has(&l, "names the status store mariadb db:3306/other but the gateway uses mariadb "
                  "db:3306/gearbox"));
    CHECK(!strstr(l.text, "s3cret"));
    gbx_gw_config_free(cfg);
    write_file("gw.conf", "{\"status\": {\"type\": \"sqlite\", \"path\": \"status.db\"},\n"
                          " \"locations\": [{\"prefix\": \"/notes\", \"auth\": \"none\", \"config\": \"notes.conf\"},\n"
                          "               {\"prefix\": \"/notes/v1/note\", \"sync\": [\"PUT\"]}]}\n");

    /* A clean location: no warnings. */
    write_file("notes.conf", "{\"component\": \"notes\", \"schemadir\": \"good\"}\n");
    snprintf(sub, sizeof sub, "%s/good", dir);
    if (mkdir(sub, 0755) != 0) return 1;
    write_file("good/create-notes-note-v1.js", "{\"type\": \"object\"}");
    cfg = load();
    if (!cfg) return check_done();
    memset(&l, 0, sizeof l);
    json_t *one = json_pack("{s:i}", "do_put_notes_note_v1", 1);
    CHECK_INT(gbx_gw_check(cfg, one, NULL, collect, &l), 0);
    CHECK(has(&l, "  do_put_notes_note_v1 (gearmand, schema file): create -> create-notes-note-v1.js\n"));
    json_decref(one);
    gbx_gw_config_free(cfg);
    json_decref(registered);

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_done();
}
