/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* new.c - gearbox new SERVICE --lang python|perl|php|c [--dir D].
 *
 * `new` writes a runnable service skeleton: the hello service of
 * docs/first-service.md (examples/hello, embedded at build time) renamed to
 * SERVICE, with a gateway config and a gearbox-supervise stack config
 * (templates/).  It writes into a temporary directory beside D and renames it
 * to D at the end, so a failure leaves nothing half-written. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include "cli.h"

/* The embedded files (core/embed.cmake: one NUL-terminated array per file). */
extern const char gbx_embedded_hello_worker_c[], gbx_embedded_hello_conf[];
extern const char gbx_embedded_create_hello_greeting_v1_js[], gbx_embedded_get_hello_greeting_v1_js[];
extern const char gbx_embedded_hello_worker_py[], gbx_embedded_hellopython_conf[];
extern const char gbx_embedded_hello_worker_pl[], gbx_embedded_helloperl_conf[];
extern const char gbx_embedded_hello_worker_php[], gbx_embedded_hellophp_conf[];
extern const char gbx_embedded_gateway_conf[], gbx_embedded_stack_conf[];
extern const char gbx_embedded_worker_CMakeLists_txt[];

/* One language of `gearbox new`: the hello example's files in it. */
typedef struct {
    const char *name;      /* --lang */
    const char *component; /* the example's component in this language */
    const char *prefix;    /* the example's gateway prefix */
    const char *ext;       /* of the worker's file */
    const char *worker;    /* the worker's source */
    const char *conf;      /* the component config */
} language;

static const language LANGUAGES[] = {
    {"python", "hellopython", "/python/hello", ".py", gbx_embedded_hello_worker_py, gbx_embedded_hellopython_conf},
    {"perl", "helloperl", "/perl/hello", ".pl", gbx_embedded_hello_worker_pl, gbx_embedded_helloperl_conf},
    {"php", "hellophp", "/php/hello", ".php", gbx_embedded_hello_worker_php, gbx_embedded_hellophp_conf},
    {"c", "hello", "/hello", ".c", gbx_embedded_hello_worker_c, gbx_embedded_hello_conf},
};
#define N_LANGUAGES (sizeof LANGUAGES / sizeof LANGUAGES[0])

/* ---- strings -------------------------------------------------------------- */

/* `text` with every `pairs[2i]` replaced by `pairs[2i+1]` (NULL-terminated),
 * in one pass: at each position the first pair that matches wins, and
 * replaced text is not searched again.  Caller frees. */
static char *substitute(const char *text, const char *const *pairs) {
    buf out = {0};
    buf_add(&out, "", 0);
    while (*text) {
        const char *const *p = pairs;
        for (; *p; p += 2) {
            size_t n = strlen(p[0]);
            if (strncmp(text, p[0], n) == 0) {
                buf_add(&out, p[1], strlen(p[1]));
                text += n;
                break;
            }
        }
        if (!*p) buf_add(&out, text++, 1);
    }
    return out.s;
}

/* ---- files ---------------------------------------------------------------- */

static int mkdirs(const char *path) {
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* 1 when `path` is missing, 0 when it is an empty directory, -1 (with a
 * message) when it is anything else. */
static int check_target(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT) return 1;
        fprintf(stderr, "gearbox new: cannot use %s: %s\n", path, strerror(errno));
        return -1;
    }
    DIR *d = S_ISDIR(st.st_mode) ? opendir(path) : NULL;
    if (!d) {
        fprintf(stderr, "gearbox new: %s exists and is not a directory; choose another --dir\n", path);
        return -1;
    }
    struct dirent *e;
    bool empty = true;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) empty = false;
    closedir(d);
    if (!empty) {
        fprintf(stderr, "gearbox new: %s exists and is not empty; choose another --dir\n", path);
        return -1;
    }
    return 0;
}

/* The files written so far into the temporary directory, to remove them on failure. */
typedef struct {
    char *paths[16];
    int n;
} written;

static void remove_written(written *w, const char *tmpdir) {
    while (w->n > 0) {
        char *p = w->paths[--w->n];
        (void)(remove(p) == 0 || rmdir(p) == 0);
        free(p);
    }
    rmdir(tmpdir);
}

static int write_file(written *w, const char *dir, const char *name, const char *text, mode_t mode) {
    buf path = {0};
    buf_printf(&path, "%s/%s", dir, name);
    FILE *f = fopen(path.s, "w");
    if (!f) {
        fprintf(stderr, "gearbox new: cannot write %s: %s\n", path.s, strerror(errno));
        free(path.s);
        return -1;
    }
    w->paths[w->n++] = path.s;
    size_t len = strlen(text);
    bool ok = fwrite(text, 1, len, f) == len;
    ok = (fclose(f) == 0) && ok;
    if (!ok || chmod(path.s, mode) != 0) {
        fprintf(stderr, "gearbox new: cannot write %s: %s\n", path.s, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- gearbox new ------------------------------------------------------------ */

/* True when this program is the one in the build tree it was built in (not
 * an installed copy): the skeletons then use that tree's bindings, gateway
 * and supervisor. */
static bool in_build_tree(void) {
    char exe[PATH_MAX], built[PATH_MAX];
    if (!realpath("/proc/self/exe", exe) || !realpath(GBX_BUILD_DIR "/tools/gearbox/gearbox", built)) return false;
    return strcmp(exe, built) == 0;
}

/* The argv array (JSON) that runs the worker in stack.conf, and its "env". */
static void worker_command(buf *cmd, buf *env, const language *lang, const char *service, bool build_tree) {
    buf worker = {0}, conf = {0};
    buf_printf(&worker, "${GEARBOX_STACK_DIR}/%s_worker%s", service, lang->ext);
    buf_printf(&conf, "${GEARBOX_STACK_DIR}/%s.conf", service);
    const char *args[12];
    int n = 0;
    char lib1[PATH_MAX + 64], lib2[PATH_MAX + 64];
    if (strcmp(lang->name, "python") == 0) {
        args[n++] = "/usr/bin/python3";
        if (build_tree) {
            buf_add(env, ",\n          \"env\": { \"PYTHONPATH\": ", strlen(",\n          \"env\": { \"PYTHONPATH\": "));
            snprintf(lib1, sizeof lib1, "%s/bindings/python", GBX_BUILD_DIR);
            buf_json(env, lib1);
            buf_add(env, " }", 2);
        }
    } else if (strcmp(lang->name, "perl") == 0) {
        args[n++] = "/usr/bin/perl";
        if (build_tree) {
            snprintf(lib1, sizeof lib1, "%s/bindings/perl/lib", GBX_BUILD_DIR);
            snprintf(lib2, sizeof lib2, "%s/bindings/perl/lib", GBX_SOURCE_DIR);
            args[n++] = "-I", args[n++] = lib1, args[n++] = "-I", args[n++] = lib2;
        }
    } else if (strcmp(lang->name, "php") == 0) {
        args[n++] = "/usr/bin/php";
        if (build_tree) {
            snprintf(lib1, sizeof lib1, "extension=%s/bindings/php/gearbox.so", GBX_BUILD_DIR);
            snprintf(lib2, sizeof lib2, "include_path=.:%s/bindings/php", GBX_SOURCE_DIR);
            args[n++] = "-d", args[n++] = lib1, args[n++] = "-d", args[n++] = lib2;
        } else {
            args[n++] = "-d", args[n++] = "extension=gearbox.so";
        }
    } else {
        free(worker.s);
        worker.s = NULL, worker.len = worker.cap = 0;
        buf_printf(&worker, "${GEARBOX_STACK_DIR}/build/gearbox-%s-worker", service);
    }
    args[n++] = worker.s;
    args[n++] = conf.s;
    buf_add(cmd, "[", 1);
    for (int i = 0; i < n; i++) {
        if (i) buf_add(cmd, ", ", 2);
        buf_json(cmd, args[i]);
    }
    buf_add(cmd, "]", 1);
    free(worker.s);
    free(conf.s);
}

static const char *check_service(const char *s) {
    if (!*s) return "it is empty";
    if (strlen(s) > 64) return "it is longer than 64 characters";
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
            return "only lowercase letters and digits are allowed (it is the component in handler "
                   "names, do_<method>_<component>_<resource>_<version>)";
    if (strcmp(s, "global") == 0) return "\"global\" is the name of Gearbox's global handlers";
    return NULL;
}

int gbx_cli_new(int argc, char **argv, const char *usage) {
    static const struct option opts[] = {
        {"lang", required_argument, NULL, 'l'},
        {"dir", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *lang_name = NULL, *dir = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "l:d:h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': lang_name = optarg; break;
        case 'd': dir = optarg; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, optind == argc ? "gearbox new: name the service\n"
                                       : "gearbox new: one service at a time\n");
        fputs(usage, stderr);
        return 2;
    }
    const char *service = argv[optind];
    const char *why = check_service(service);
    if (why) {
        fprintf(stderr, "gearbox new: bad service name \"%s\": %s\n", service, why);
        return 2;
    }
    const language *lang = NULL;
    for (size_t i = 0; lang_name && i < N_LANGUAGES; i++)
        if (strcmp(LANGUAGES[i].name, lang_name) == 0) lang = &LANGUAGES[i];
    if (!lang) {
        if (lang_name)
            fprintf(stderr, "gearbox new: unknown language \"%s\": choose python, perl, php or c\n", lang_name);
        else
            fprintf(stderr, "gearbox new: say which language: --lang python|perl|php|c\n");
        return 2;
    }
    if (!dir) dir = service;
    int exists = check_target(dir);
    if (exists < 0) return 2;

    /* Write everything into <dir>.new-XXXXXX, then rename it to dir. */
    char parent[PATH_MAX], tmpdir[PATH_MAX + 16];
    snprintf(parent, sizeof parent, "%s", dir);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = '\0';
        if (mkdirs(parent) != 0) {
            fprintf(stderr, "gearbox new: cannot make %s: %s\n", parent, strerror(errno));
            return 1;
        }
    }
    size_t dlen = strlen(dir);
    while (dlen > 1 && dir[dlen - 1] == '/') dlen--;
    snprintf(tmpdir, sizeof tmpdir, "%.*s.new-XXXXXX", (int)dlen, dir);
    if (!mkdtemp(tmpdir) || chmod(tmpdir, 0755) != 0) {
        fprintf(stderr, "gearbox new: cannot make a directory beside %s: %s\n", dir, strerror(errno));
        return 1;
    }

    bool build_tree = in_build_tree();
    buf prefix = {0}, worker_name = {0}, conf_name = {0}, create_name = {0}, get_name = {0};
    buf cmd = {0}, env = {0}, gateway = {0}, incdir = {0}, libdir = {0}, the_service = {0}, the_service_cap = {0};
    buf_printf(&prefix, "/%s", service);
    buf_printf(&the_service, "the %s service", service);
    buf_printf(&the_service_cap, "The %s service", service);
    buf_printf(&worker_name, "%s_worker", service);
    buf_printf(&conf_name, "%s.conf", service);
    buf_printf(&create_name, "schemas/create-%s-greeting-v1.js", service);
    buf_printf(&get_name, "schemas/get-%s-greeting-v1.js", service);
    buf_add(&env, "", 0);
    worker_command(&cmd, &env, lang, service, build_tree);
    buf_json(&gateway, build_tree ? GBX_BUILD_DIR "/gateway/gearbox-gateway" : GBX_INSTALL_SBINDIR "/gearbox-gateway");
    buf_printf(&incdir, "%s", build_tree ? GBX_SOURCE_DIR "/core/include" : GBX_INSTALL_INCLUDEDIR);
    buf_printf(&libdir, "%s", build_tree ? GBX_BUILD_DIR "/core" : GBX_INSTALL_LIBDIR);

    /* The example's names -> the service's. */
    const char *rename_lang[] = {lang->prefix, prefix.s, lang->component, service,
                                 "hello_worker", worker_name.s, "the hello service", the_service.s, "The hello service", the_service_cap.s, NULL};
    const char *rename_c[] = {"hello", service, NULL};
    const char *fill[] = {"@SERVICE@", service, "@WORKER_COMMAND@", cmd.s, "@WORKER_ENV@", env.s,
                          "@GATEWAY@", gateway.s, "@INCLUDE_DIR@", incdir.s, "@LIBRARY_DIR@", libdir.s, NULL};
    struct {
        const char *name, *text;
        const char *const *pairs;
        mode_t mode;
    } files[] = {
        {conf_name.s, lang->conf, rename_lang, 0644},
        {create_name.s, gbx_embedded_create_hello_greeting_v1_js, rename_c, 0644},
        {get_name.s, gbx_embedded_get_hello_greeting_v1_js, rename_c, 0644},
        {NULL, lang->worker, rename_lang, strcmp(lang->name, "c") == 0 ? 0644 : 0755},
        {"gateway.conf", gbx_embedded_gateway_conf, fill, 0644},
        {"stack.conf", gbx_embedded_stack_conf, fill, 0644},
        {strcmp(lang->name, "c") == 0 ? "CMakeLists.txt" : NULL, gbx_embedded_worker_CMakeLists_txt, fill, 0644},
    };
    buf worker_file = {0};
    buf_printf(&worker_file, "%s%s", worker_name.s, lang->ext);
    files[3].name = worker_file.s;

    written w = {.n = 0};
    int rc = 0;
    char schemas[PATH_MAX + 32];
    snprintf(schemas, sizeof schemas, "%s/schemas", tmpdir);
    if (mkdir(schemas, 0755) != 0) {
        fprintf(stderr, "gearbox new: cannot make %s: %s\n", schemas, strerror(errno));
        rc = 1;
    } else {
        w.paths[w.n++] = strdup(schemas);
    }
    for (size_t i = 0; rc == 0 && i < sizeof files / sizeof files[0]; i++) {
        if (!files[i].name) continue;
        char *text = substitute(files[i].text, files[i].pairs);
        if (write_file(&w, tmpdir, files[i].name, text, files[i].mode) != 0) rc = 1;
        free(text);
    }
    if (rc == 0 && ((exists == 0 && rmdir(dir) != 0) || rename(tmpdir, dir) != 0)) {
        fprintf(stderr, "gearbox new: cannot move %s to %s: %s\n", tmpdir, dir, strerror(errno));
        rc = 1;
    }
    if (rc != 0) {
        remove_written(&w, tmpdir);
    } else {
        for (int i = 0; i < w.n; i++) free(w.paths[i]);
        char abs[PATH_MAX];
        if (!realpath(dir, abs)) snprintf(abs, sizeof abs, "%s", dir);
        printf("gearbox new: wrote the %s service \"%s\" in %s:\n", lang->name, service, abs);
        printf("  %s, %s (the worker), %s, %s, gateway.conf, stack.conf%s\n", conf_name.s, worker_file.s,
               create_name.s, get_name.s, strcmp(lang->name, "c") == 0 ? ", CMakeLists.txt" : "");
        if (build_tree)
            printf("\nThis gearbox runs from the build tree %s: stack.conf and the commands\n"
                   "below use its bindings, gateway and supervisor by absolute path.\n", GBX_BUILD_DIR);
        if (strcmp(lang->name, "c") == 0) {
            printf("\nBuild it:\n\n  cmake -S %s -B %s/build && cmake --build %s/build\n", abs, abs, abs);
        }
        printf("\nRun it (gearmand on 127.0.0.1:4730, the gateway on 127.0.0.1:4080; GEARMAN_PORT\n"
               "and GEARBOX_PORT choose others; Ctrl-C stops it):\n\n");
        printf("  cd %s\n", abs);
        printf("  %s --foreground stack.conf\n",
               build_tree ? GBX_BUILD_DIR "/tools/supervise/gearbox-supervise" : "gearbox-supervise");
        printf("\nCall it, from another terminal:\n\n");
        printf("  curl -i -X PUT -H 'Content-Type: application/json' -d '{\"text\": \"Hello\"}' "
               "http://127.0.0.1:4080/%s/v1/greeting/Ann\n", service);
        printf("  curl -i http://127.0.0.1:4080/%s/v1/greeting/Ann\n", service);
        printf("\ndocs/first-service.md explains every file.\n");
    }
    free(prefix.s), free(worker_name.s), free(conf_name.s), free(create_name.s), free(get_name.s);
    free(cmd.s), free(env.s), free(gateway.s), free(incdir.s), free(libdir.s), free(worker_file.s);
    free(the_service.s), free(the_service_cap.s);
    return rc;
}
