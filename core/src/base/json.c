/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* json.c - jansson helpers: parsing with comments, files, dotted look-ups. */
#include "gearbox/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gbx_err gbx_json_parse(json_t **out, const char *text, size_t len) {
    *out = NULL;
    json_error_t jerr;
    json_t *v = json_loadb(text ? text : "", text ? len : 0,
                           JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!v)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "malformed JSON: %s at line %d column %d",
                             jerr.text, jerr.line, jerr.column);
    *out = v;
    return GBX_OK;
}

/* Copies `text` without comments; string literals are kept verbatim. */
static char *strip_comments(const char *text, size_t len, size_t *out_len) {
    char *buf = malloc(len + 1);
    if (!buf) return NULL;
    size_t o = 0;
    bool line_start = true;
    for (size_t i = 0; i < len;) {
        char c = text[i];
        if (c == '"') {
            buf[o++] = text[i++];
            while (i < len && text[i] != '"') {
                if (text[i] == '\\' && i + 1 < len) buf[o++] = text[i++];
                buf[o++] = text[i++];
            }
            if (i < len) buf[o++] = text[i++];
            line_start = false;
        } else if (c == '/' && i + 1 < len && text[i + 1] == '/') {
            while (i < len && text[i] != '\n') i++;
        } else if (c == '#' && line_start) {
            while (i < len && text[i] != '\n') i++;
        } else if (c == '/' && i + 1 < len && text[i + 1] == '*') {
            i += 2;
            while (i + 1 < len && !(text[i] == '*' && text[i + 1] == '/')) {
                if (text[i] == '\n') buf[o++] = '\n'; /* keep line numbers right */
                i++;
            }
            i = (i + 1 < len) ? i + 2 : len;
        } else {
            if (c == '\n')
                line_start = true;
            else if (c != ' ' && c != '\t' && c != '\r')
                line_start = false;
            buf[o++] = text[i++];
        }
    }
    buf[o] = '\0';
    *out_len = o;
    return buf;
}

gbx_err gbx_json_parse_commented(json_t **out, const char *text, size_t len) {
    *out = NULL;
    size_t n;
    char *clean = strip_comments(text ? text : "", text ? len : 0, &n);
    if (!clean) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    gbx_err rc = gbx_json_parse(out, clean, n);
    free(clean);
    return rc;
}

gbx_err gbx_read_file(char **out, size_t *len, const char *path) {
    *out = NULL;
    if (len) *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return gbx_error_set(errno == ENOENT ? GBX_ERR_NOT_FOUND : GBX_ERR_INTERNAL_SERVER_ERROR,
                             "cannot open %s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
        if (cap - n - 1 == 0) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    bool failed = ferror(f);
    fclose(f);
    if (!buf) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory reading %s", path);
    if (failed) {
        free(buf);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "cannot read %s", path);
    }
    buf[n] = '\0';
    *out = buf;
    if (len) *len = n;
    return GBX_OK;
}

gbx_err gbx_json_load_file(json_t **out, const char *path, bool comments) {
    *out = NULL;
    char *text;
    size_t n;
    gbx_err rc = gbx_read_file(&text, &n, path);
    if (rc) return rc;
    rc = comments ? gbx_json_parse_commented(out, text, n) : gbx_json_parse(out, text, n);
    free(text);
    if (rc) {
        char msg[900];
        snprintf(msg, sizeof msg, "%s", gbx_error_last()->message);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "%s: %s", path, msg);
    }
    return GBX_OK;
}

gbx_err gbx_json_dump(char **out, const json_t *value) {
    *out = json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    return *out ? GBX_OK : gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "cannot serialise JSON");
}

json_t *gbx_json_path(const json_t *root, const char *dotted) {
    if (!root || !dotted) return NULL;
    const json_t *cur = root;
    const char *p = dotted;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (!json_is_object(cur)) return NULL;
        cur = json_object_getn(cur, p, n);
        if (!cur) return NULL;
        p += n;
        if (*p == '.') p++;
    }
    return (json_t *)cur;
}
