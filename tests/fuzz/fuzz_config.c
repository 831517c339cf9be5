/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* fuzz_config.c - libFuzzer target: the config loader (core/src/base/config.c:
 * JSON with comments, ${VAR} expansion, config.d merging, the getters) and,
 * on what it loads, the gateway's config checks (gateway/src/gw_config.c).
 *
 * Input: the main file's bytes, then optionally a NUL byte and the bytes of
 * config.d/extra.conf.  Files go to a directory of the process's own. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gearbox/config.h"
#include "gw_config.h"

static char dir[64], main_path[128], extra_path[160];

static void write_file(const char *path, const uint8_t *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
}

static void cleanup(void) {
    unlink(extra_path);
    unlink(main_path);
    char d[160];
    snprintf(d, sizeof d, "%s/config.d", dir);
    rmdir(d);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    snprintf(dir, sizeof dir, "/tmp/gbx-fuzz-config-XXXXXX");
    if (!mkdtemp(dir)) abort();
    snprintf(main_path, sizeof main_path, "%s/gateway.conf", dir);
    char d[160];
    snprintf(d, sizeof d, "%s/config.d", dir);
    if (mkdir(d, 0700) != 0) abort();
    snprintf(extra_path, sizeof extra_path, "%s/extra.conf", d);
    setenv("GBX_FUZZ_A", "a", 1);
    setenv("GBX_FUZZ_EMPTY", "", 1);
    setenv("GBX_FUZZ_PORT", "4080", 1);
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nul = memchr(data, '\0', size);
    size_t main_len = nul ? (size_t)(nul - data) : size;
    write_file(main_path, data, main_len);
    if (nul) write_file(extra_path, nul + 1, size - main_len - 1);
    else unlink(extra_path);

    gbx_config *cfg = NULL;
    if (gbx_config_load(&cfg, main_path) == GBX_OK) {
        if (!json_is_object(gbx_config_root(cfg))) __builtin_trap();
        static const char *const paths[] = {"component", "gearman.servers", "status.path",
                                            "listen.port", "extra", "extra.a.b", "locations",
                                            "schemadir", "a..b", ".", ""};
        for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
            (void)gbx_config_get(cfg, paths[i]);
            (void)gbx_config_get_string(cfg, paths[i], NULL);
            (void)gbx_config_get_real(cfg, paths[i], 0);
            (void)gbx_config_get_bool(cfg, paths[i], false);
            char *p = NULL;
            if (gbx_config_get_path(&p, cfg, paths[i], NULL) == GBX_OK) free(p);
        }
        char *servers = NULL;
        if (gbx_config_gearman_servers(&servers, cfg) == GBX_OK) free(servers);
        gbx_config_free(cfg);
        /* The same file as a gateway config: every key it checks. */
        gbx_gw_config *gw = NULL;
        if (gbx_gw_config_load(&gw, main_path) == GBX_OK) gbx_gw_config_free(gw);
    }
    return 0;
}
