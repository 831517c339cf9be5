/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* files.h - writing the small files (configs, schemas) a unit test needs
 * into its temporary directory. */
#ifndef GBX_TEST_FILES_H
#define GBX_TEST_FILES_H

#include <stdio.h>
#include <stdlib.h>

/* Writes `text` to dir/name; a test that cannot write its files stops. */
static inline void files_write(const char *dir, const char *name, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
}

#endif
