/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* error.c - the HTTP error table and the per-thread last error. */
#include "gearbox/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    const char *name;
    int code;
} err_entry;

static const err_entry err_table[] = {
#define GBX_ERR_ENTRY_(name, code) {#name, code},
    GBX_ERROR_TABLE(GBX_ERR_ENTRY_)
#undef GBX_ERR_ENTRY_
};

#define ERR_TABLE_LEN (sizeof(err_table) / sizeof(err_table[0]))

static const err_entry err_aliases[] = {
#define GBX_ERR_ENTRY_(name, code) {#name, code},
    GBX_ERROR_ALIASES(GBX_ERR_ENTRY_)
#undef GBX_ERR_ENTRY_
};

#define ERR_ALIASES_LEN (sizeof(err_aliases) / sizeof(err_aliases[0]))

/* Large enough for any message the library composes; longer ones are cut. */
#define LAST_ERROR_MAX 1024

static _Thread_local char last_message[LAST_ERROR_MAX];
static _Thread_local gbx_error last_error = {GBX_OK, ""};

size_t gbx_err_count(void) { return ERR_TABLE_LEN; }

gbx_err gbx_err_at(size_t i) {
    return i < ERR_TABLE_LEN ? (gbx_err)err_table[i].code : GBX_OK;
}

const char *gbx_err_name(int code) {
    for (size_t i = 0; i < ERR_TABLE_LEN; i++)
        if (err_table[i].code == code) return err_table[i].name;
    return NULL;
}

static const err_entry *name_entry(size_t i) {
    if (i < ERR_TABLE_LEN) return &err_table[i];
    return i - ERR_TABLE_LEN < ERR_ALIASES_LEN ? &err_aliases[i - ERR_TABLE_LEN] : NULL;
}

size_t gbx_err_name_count(void) { return ERR_TABLE_LEN + ERR_ALIASES_LEN; }

const char *gbx_err_name_at(size_t i) {
    const err_entry *e = name_entry(i);
    return e ? e->name : NULL;
}

int gbx_err_from_name(const char *name) {
    if (!name) return 0;
    if (strncasecmp(name, "ERR_", 4) == 0) name += 4;
    const err_entry *e;
    for (size_t i = 0; (e = name_entry(i)) != NULL; i++)
        if (strcasecmp(e->name, name) == 0) return e->code;
    return 0;
}

gbx_err gbx_error_setv(gbx_err code, const char *fmt, va_list ap) {
    /* Format into a scratch buffer first: callers often pass the previous
     * message (gbx_error_last()->message) as an argument. */
    char scratch[LAST_ERROR_MAX];
    if (fmt)
        vsnprintf(scratch, sizeof scratch, fmt, ap);
    else
        scratch[0] = '\0';
    memcpy(last_message, scratch, sizeof last_message);
    last_error.code = code;
    last_error.message = last_message;
    return code;
}

gbx_err gbx_error_set(gbx_err code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    gbx_error_setv(code, fmt, ap);
    va_end(ap);
    return code;
}

const gbx_error *gbx_error_last(void) {
    if (!last_error.message) last_error.message = "";
    return &last_error;
}

void gbx_error_clear(void) {
    last_message[0] = '\0';
    last_error.code = GBX_OK;
    last_error.message = last_message;
}

char *gbx_error_format(int code, const char *message) {
    const char *name = gbx_err_name(code);
    if (!message) message = "";
    int n = snprintf(NULL, 0, "%s [%d]: %s", name ? name : "ERROR", code, message);
    if (n < 0) return NULL;
    char *s = malloc((size_t)n + 1);
    if (s) snprintf(s, (size_t)n + 1, "%s [%d]: %s", name ? name : "ERROR", code, message);
    return s;
}
