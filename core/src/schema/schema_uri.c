/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* schema_uri.c - RFC 3986 reference resolution for `$id` and `$ref`. */
#include "schema/schema_internal.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct uri_parts {
    const char *scheme, *authority, *path, *query, *fragment;
    size_t scheme_len, authority_len, path_len, query_len, fragment_len;
    bool has_scheme, has_authority, has_query, has_fragment;
} uri_parts;

static void split(const char *u, uri_parts *p) {
    memset(p, 0, sizeof *p);
    const char *s = u;
    /* scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
    if (isalpha((unsigned char)*s)) {
        const char *q = s;
        while (isalnum((unsigned char)*q) || *q == '+' || *q == '-' || *q == '.') q++;
        if (*q == ':') {
            p->has_scheme = true;
            p->scheme = s;
            p->scheme_len = (size_t)(q - s);
            s = q + 1;
        }
    }
    if (s[0] == '/' && s[1] == '/') {
        s += 2;
        const char *q = s;
        while (*q && *q != '/' && *q != '?' && *q != '#') q++;
        p->has_authority = true;
        p->authority = s;
        p->authority_len = (size_t)(q - s);
        s = q;
    }
    const char *q = s;
    while (*q && *q != '?' && *q != '#') q++;
    p->path = s;
    p->path_len = (size_t)(q - s);
    s = q;
    if (*s == '?') {
        s++;
        q = s;
        while (*q && *q != '#') q++;
        p->has_query = true;
        p->query = s;
        p->query_len = (size_t)(q - s);
        s = q;
    }
    if (*s == '#') {
        p->has_fragment = true;
        p->fragment = s + 1;
        p->fragment_len = strlen(s + 1);
    }
}

/* RFC 3986 5.2.4 */
static void remove_dot_segments(gbx__sbuf *out, const char *path, size_t len) {
    char *in = malloc(len + 1);
    if (!in) {
        out->failed = true;
        return;
    }
    memcpy(in, path, len);
    in[len] = '\0';
    char *s = in;
    size_t start = out->len;
    while (*s) {
        if (strncmp(s, "../", 3) == 0)
            s += 3;
        else if (strncmp(s, "./", 2) == 0)
            s += 2;
        else if (strncmp(s, "/./", 3) == 0)
            s += 2;
        else if (strcmp(s, "/.") == 0)
            s[1] = '\0';
        else if (strncmp(s, "/../", 4) == 0 || strcmp(s, "/..") == 0) {
            if (s[3] == '\0') {
                s += 2;
                s[0] = '/';
            } else {
                s += 3;
            }
            /* remove the last segment of the output */
            while (out->len > start && out->s[out->len - 1] != '/') out->len--;
            if (out->len > start) out->len--;
            if (out->s) out->s[out->len] = '\0';
        } else if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
            s += strlen(s);
        } else {
            const char *e = s + (*s == '/' ? 1 : 0);
            while (*e && *e != '/') e++;
            gbx__sch_sbuf_putn(out, s, (size_t)(e - s));
            s = (char *)e;
        }
    }
    free(in);
}

static void merge_paths(gbx__sbuf *out, const uri_parts *base, const uri_parts *ref) {
    gbx__sbuf tmp = {0};
    if (base->has_authority && base->path_len == 0) {
        gbx__sch_sbuf_putc(&tmp, '/');
        gbx__sch_sbuf_putn(&tmp, ref->path, ref->path_len);
    } else {
        size_t keep = base->path_len;
        while (keep > 0 && base->path[keep - 1] != '/') keep--;
        gbx__sch_sbuf_putn(&tmp, base->path, keep);
        gbx__sch_sbuf_putn(&tmp, ref->path, ref->path_len);
    }
    remove_dot_segments(out, gbx__sch_sbuf_str(&tmp), tmp.len);
    gbx__sch_sbuf_free(&tmp);
}

static void put_query(gbx__sbuf *out, const char *query, size_t len) {
    gbx__sch_sbuf_putc(out, '?');
    gbx__sch_sbuf_putn(out, query, len);
}

/* "//authority" (if any), the path without dot segments and "?query" (if
 * any) of one URI: what RFC 3986 5.2.2 takes whole from a reference that
 * has an authority. */
static void put_authority_path_query(gbx__sbuf *out, const uri_parts *p) {
    if (p->has_authority) {
        gbx__sch_sbuf_puts(out, "//");
        gbx__sch_sbuf_putn(out, p->authority, p->authority_len);
    }
    remove_dot_segments(out, p->path, p->path_len);
    if (p->has_query) put_query(out, p->query, p->query_len);
}

char *gbx__sch_uri_resolve(const char *base, const char *ref) {
    uri_parts b, r;
    split(base ? base : "", &b);
    split(ref, &r);
    gbx__sbuf out = {0};
    /* URNs and other non-hierarchical bases: a reference that is only a
     * fragment replaces the fragment; anything else must be absolute. */
    if (r.has_scheme) {
        gbx__sch_sbuf_putn(&out, r.scheme, r.scheme_len);
        gbx__sch_sbuf_putc(&out, ':');
        put_authority_path_query(&out, &r);
    } else {
        if (b.has_scheme) {
            gbx__sch_sbuf_putn(&out, b.scheme, b.scheme_len);
            gbx__sch_sbuf_putc(&out, ':');
        }
        if (r.has_authority) {
            put_authority_path_query(&out, &r);
        } else {
            if (b.has_authority) {
                gbx__sch_sbuf_puts(&out, "//");
                gbx__sch_sbuf_putn(&out, b.authority, b.authority_len);
            }
            if (r.path_len == 0) {
                gbx__sch_sbuf_putn(&out, b.path, b.path_len);
                if (r.has_query)
                    put_query(&out, r.query, r.query_len);
                else if (b.has_query)
                    put_query(&out, b.query, b.query_len);
            } else {
                if (r.path[0] == '/')
                    remove_dot_segments(&out, r.path, r.path_len);
                else if (!b.has_authority && b.path_len > 0 && b.path[0] != '/' &&
                         memchr(b.path, '/', b.path_len) == NULL) {
                    /* a base such as "urn:x:y" has no directory: the
                     * reference replaces the whole path */
                    remove_dot_segments(&out, r.path, r.path_len);
                } else
                    merge_paths(&out, &b, &r);
                if (r.has_query) put_query(&out, r.query, r.query_len);
            }
        }
    }
    if (r.has_fragment) {
        gbx__sch_sbuf_putc(&out, '#');
        gbx__sch_sbuf_putn(&out, r.fragment, r.fragment_len);
    }
    if (out.failed) {
        gbx__sch_sbuf_free(&out);
        return NULL;
    }
    if (!out.s) return strdup("");
    return out.s;
}

char *gbx__sch_uri_strip_fragment(const char *uri, const char **fragment) {
    const char *h = strchr(uri, '#');
    if (fragment) *fragment = h ? h + 1 : NULL;
    size_t n = h ? (size_t)(h - uri) : strlen(uri);
    char *out = malloc(n + 1);
    if (!out) return NULL;
    memcpy(out, uri, n);
    out[n] = '\0';
    return out;
}

bool gbx__sch_uri_has_scheme(const char *uri) {
    uri_parts p;
    split(uri, &p);
    return p.has_scheme;
}

char *gbx__sch_uri_from_path(const char *path) {
    gbx__sbuf out = {0};
    gbx__sch_sbuf_puts(&out, "file://");
    if (path[0] != '/') {
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof cwd)) {
            gbx__sch_sbuf_puts(&out, cwd);
            gbx__sch_sbuf_putc(&out, '/');
        }
    }
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (isalnum(*p) || strchr("/-._~!$&'()*+,;=:@", *p))
            gbx__sch_sbuf_putc(&out, (char)*p);
        else {
            gbx__sch_sbuf_putc(&out, '%');
            gbx__sch_sbuf_putc(&out, hex[*p >> 4]);
            gbx__sch_sbuf_putc(&out, hex[*p & 15]);
        }
    }
    if (out.failed) {
        gbx__sch_sbuf_free(&out);
        return NULL;
    }
    char *r = out.s;
    if (path[0] != '/') {
        /* normalise "./" and "../" of a relative path */
        char *n = gbx__sch_uri_resolve(r, "");
        free(r);
        r = n;
    }
    return r;
}
