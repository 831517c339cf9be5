/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* schema_util.c - buffers, hash maps, UTF-8, JSON equality and exact
 * decimal arithmetic used by the schema compiler and validator. */
#include "schema/schema_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- string buffer ------------------------------------------------------ */

bool gbx__sch_grow(void *items_ptr, size_t *cap, size_t need, size_t elem, size_t first) {
    if (need <= *cap) return true;
    size_t n = *cap ? *cap : first;
    while (n < need) n *= 2;
    void *old;
    memcpy(&old, items_ptr, sizeof old); /* items_ptr is a T **, whatever T is */
    void *grown = realloc(old, n * elem);
    if (!grown) return false;
    memcpy(items_ptr, &grown, sizeof grown);
    *cap = n;
    return true;
}

static bool sbuf_grow(gbx__sbuf *b, size_t extra) {
    if (b->failed) return false;
    if (b->len + extra + 1 <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) cap *= 2;
    char *p = realloc(b->s, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->s = p;
    b->cap = cap;
    return true;
}

void gbx__sch_sbuf_putn(gbx__sbuf *b, const char *s, size_t n) {
    if (!sbuf_grow(b, n)) return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void gbx__sch_sbuf_puts(gbx__sbuf *b, const char *s) { gbx__sch_sbuf_putn(b, s, strlen(s)); }

void gbx__sch_sbuf_putc(gbx__sbuf *b, char c) { gbx__sch_sbuf_putn(b, &c, 1); }

void gbx__sch_sbuf_printf(gbx__sbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        gbx__sch_sbuf_putn(b, small, (size_t)n);
        return;
    }
    if (!sbuf_grow(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

const char *gbx__sch_sbuf_str(gbx__sbuf *b) { return b->s ? b->s : ""; }

void gbx__sch_sbuf_free(gbx__sbuf *b) {
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
    b->failed = false;
}

/* ---- pointer map -------------------------------------------------------- */

static size_t ptr_hash(const void *p) {
    uintptr_t x = (uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

void *gbx__sch_pmap_get(const gbx__pmap *m, const void *key) {
    if (!m->cap) return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = ptr_hash(key) & mask;; i = (i + 1) & mask) {
        if (!m->keys[i]) return NULL;
        if (m->keys[i] == key) return m->vals[i];
    }
}

bool gbx__sch_pmap_put(gbx__pmap *m, const void *key, void *val) {
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        const void **keys = calloc(cap, sizeof *keys);
        void **vals = calloc(cap, sizeof *vals);
        if (!keys || !vals) {
            free(keys);
            free(vals);
            return false;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->keys[i]) continue;
            size_t j = ptr_hash(m->keys[i]) & (cap - 1);
            while (keys[j]) j = (j + 1) & (cap - 1);
            keys[j] = m->keys[i];
            vals[j] = m->vals[i];
        }
        free(m->keys);
        free(m->vals);
        m->keys = keys;
        m->vals = vals;
        m->cap = cap;
    }
    size_t mask = m->cap - 1;
    for (size_t i = ptr_hash(key) & mask;; i = (i + 1) & mask) {
        if (!m->keys[i]) {
            m->keys[i] = key;
            m->vals[i] = val;
            m->n++;
            return true;
        }
        if (m->keys[i] == key) {
            m->vals[i] = val;
            return true;
        }
    }
}

void gbx__sch_pmap_free(gbx__pmap *m) {
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* ---- string map ---------------------------------------------------------- */

static uint32_t str_hash(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

void *gbx__sch_smap_getn(const gbx__smap *m, const char *key, size_t len) {
    if (!m || !m->cap) return NULL;
    uint32_t h = str_hash(key, len);
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const gbx__smap_slot *s = &m->slots[i];
        if (!s->key) return NULL;
        if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0) return s->val;
    }
}

void *gbx__sch_smap_get(const gbx__smap *m, const char *key) {
    return gbx__sch_smap_getn(m, key, strlen(key));
}

bool gbx__sch_smap_put(gbx__smap *m, const char *key, void *val) {
    size_t len = strlen(key);
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        gbx__smap_slot *slots = calloc(cap, sizeof *slots);
        if (!slots) return false;
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->slots[i].key) continue;
            size_t j = m->slots[i].hash & (cap - 1);
            while (slots[j].key) j = (j + 1) & (cap - 1);
            slots[j] = m->slots[i];
        }
        free(m->slots);
        m->slots = slots;
        m->cap = cap;
    }
    uint32_t h = str_hash(key, len);
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        gbx__smap_slot *s = &m->slots[i];
        if (!s->key) {
            s->key = malloc(len + 1);
            if (!s->key) return false;
            memcpy(s->key, key, len + 1);
            s->len = len;
            s->hash = h;
            s->val = val;
            m->n++;
            return true;
        }
        if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0) {
            s->val = val;
            return true;
        }
    }
}

void gbx__sch_smap_free(gbx__smap *m, void (*free_val)(void *)) {
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key) continue;
        free(m->slots[i].key);
        if (free_val) free_val(m->slots[i].val);
    }
    free(m->slots);
    memset(m, 0, sizeof *m);
}

/* ---- UTF-8 ---------------------------------------------------------------- */

size_t gbx__sch_utf8_length(const char *s, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) n++;
    return n;
}

uint32_t gbx__sch_utf8_decode(const char *s, size_t len, size_t *adv) {
    const unsigned char *u = (const unsigned char *)s;
    uint32_t c = u[0];
    size_t need;
    if (c < 0x80) {
        *adv = 1;
        return c;
    } else if ((c & 0xE0) == 0xC0) {
        need = 1;
        c &= 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        need = 2;
        c &= 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        need = 3;
        c &= 0x07;
    } else {
        *adv = 1;
        return c;
    }
    if (need >= len) {
        *adv = 1;
        return u[0];
    }
    for (size_t i = 1; i <= need; i++) {
        if ((u[i] & 0xC0) != 0x80) {
            *adv = 1;
            return u[0];
        }
        c = (c << 6) | (u[i] & 0x3F);
    }
    *adv = need + 1;
    return c;
}

void gbx__sch_utf8_put(gbx__sbuf *b, uint32_t cp) {
    char out[4];
    size_t n;
    if (cp < 0x80) {
        out[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        out[0] = (char)(0xF0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    gbx__sch_sbuf_putn(b, out, n);
}

/* ---- JSON values ---------------------------------------------------------- */

const char *gbx__sch_json_type_name(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "null";
}

bool gbx__sch_json_is_integral(const json_t *v) {
    if (json_is_integer(v)) return true;
    if (!json_is_real(v)) return false;
    double d = json_real_value(v);
    return isfinite(d) && floor(d) == d;
}

int gbx__sch_number_cmp(const json_t *a, const json_t *b) {
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t x = json_integer_value(a), y = json_integer_value(b);
        return x < y ? -1 : x > y;
    }
    if (json_is_integer(a) || json_is_integer(b)) {
        /* compare an integer with a real without losing the integer's
         * precision when it is large */
        bool swap = json_is_real(a);
        json_int_t i = json_integer_value(swap ? b : a);
        double d = json_real_value(swap ? a : b);
        int r;
        if (d >= 9223372036854775808.0)
            r = -1;
        else if (d < -9223372036854775808.0)
            r = 1;
        else {
            double fl = floor(d);
            json_int_t di = (json_int_t)fl;
            if (i < di)
                r = -1;
            else if (i > di)
                r = 1;
            else
                r = (fl == d) ? 0 : -1;
        }
        return swap ? -r : r;
    }
    double x = json_number_value(a), y = json_number_value(b);
    return x < y ? -1 : x > y;
}

bool gbx__sch_json_equal(const json_t *a, const json_t *b) {
    if (a == b) return true;
    if (json_is_number(a) && json_is_number(b)) return gbx__sch_number_cmp(a, b) == 0;
    if (json_typeof(a) != json_typeof(b)) return false;
    switch (json_typeof(a)) {
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    case JSON_ARRAY: {
        size_t n = json_array_size(a);
        if (n != json_array_size(b)) return false;
        for (size_t i = 0; i < n; i++)
            if (!gbx__sch_json_equal(json_array_get(a, i), json_array_get(b, i))) return false;
        return true;
    }
    case JSON_OBJECT: {
        if (json_object_size(a) != json_object_size(b)) return false;
        const char *k;
        size_t klen;
        json_t *v;
        json_object_keylen_foreach((json_t *)a, k, klen, v) {
            json_t *w = json_object_getn(b, k, klen);
            if (!w || !gbx__sch_json_equal(v, w)) return false;
        }
        return true;
    }
    default:
        return true; /* true, false, null: same type is equal */
    }
}

const char *gbx__sch_number_str(const json_t *v, char *buf, size_t size) {
    if (json_is_integer(v))
        snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else {
        double d = json_real_value(v);
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, size, "%.*g", prec, d);
            if (strtod(buf, NULL) == d) break;
        }
    }
    return buf;
}

/* A number as an exact decimal: digits (no leading zeros) x 10^exp. */
typedef struct decimal {
    char digits[32];
    int ndigits;
    int exp;
    bool negative;
} decimal;

static bool to_decimal(const json_t *v, decimal *d) {
    char buf[64];
    memset(d, 0, sizeof *d);
    if (json_is_real(v) && !isfinite(json_real_value(v))) return false;
    gbx__sch_number_str(v, buf, sizeof buf);
    const char *p = buf;
    if (*p == '-') {
        d->negative = true;
        p++;
    }
    int frac = 0;
    bool dot = false;
    for (; *p && *p != 'e' && *p != 'E'; p++) {
        if (*p == '.') {
            dot = true;
            continue;
        }
        if (d->ndigits == 0 && *p == '0') {
            if (dot) frac++;
            continue;
        }
        if (d->ndigits < (int)sizeof d->digits - 1) d->digits[d->ndigits++] = *p;
        if (dot) frac++;
    }
    int e = (*p == 'e' || *p == 'E') ? atoi(p + 1) : 0;
    d->exp = e - frac;
    /* drop trailing zeros into the exponent */
    while (d->ndigits > 0 && d->digits[d->ndigits - 1] == '0') {
        d->ndigits--;
        d->exp++;
    }
    return true;
}

/* (digits x 10^shift) mod m, with m < 2^63 */
static unsigned __int128 mod_scaled(const decimal *d, int shift, unsigned __int128 m) {
    unsigned __int128 r = 0;
    for (int i = 0; i < d->ndigits; i++) r = (r * 10 + (unsigned)(d->digits[i] - '0')) % m;
    for (int i = 0; i < shift; i++) r = (r * 10) % m;
    return r;
}

bool gbx__sch_number_multiple_of(const json_t *value, const json_t *divisor) {
    if (json_is_integer(value) && json_is_integer(divisor)) {
        json_int_t b = json_integer_value(divisor);
        return b != 0 && json_integer_value(value) % b == 0;
    }
    decimal a, b;
    if (!to_decimal(value, &a) || !to_decimal(divisor, &b)) return false;
    if (b.ndigits == 0) return false;
    if (a.ndigits == 0) return true; /* zero is a multiple of everything */
    /* value = A x 10^ea, divisor = B x 10^eb.  value/divisor is an integer
     * iff A x 10^(ea-eb) is a multiple of B (with B's trailing zeros already
     * folded into eb, B is coprime with nothing in particular, so do it
     * directly). */
    int shift = a.exp - b.exp;
    unsigned __int128 B = 0;
    for (int i = 0; i < b.ndigits; i++) B = B * 10 + (unsigned)(b.digits[i] - '0');
    if (shift >= 0) {
        if (shift > 100000) shift = 100000; /* 10^k mod B cycles long before */
        return mod_scaled(&a, shift, B) == 0;
    }
    /* A must be a multiple of B x 10^(-shift): A's trailing digits are not
     * zero, so 10 cannot divide A; it can only work when ... A divisible by
     * B x 10^k with k > 0 needs A to end in 0, which it does not. */
    return false;
}

/* ---- base64 -------------------------------------------------------------- */

static int b64val(char ch) {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+') return 62;
    if (ch == '/') return 63;
    return -1;
}

char *gbx__schema_base64_decode(const char *s, size_t len, size_t *out_len) {
    while (len > 0 && s[len - 1] == '=') len--;
    if (len % 4 == 1) return NULL;
    char *out = malloc(len / 4 * 3 + 3);
    if (!out) return NULL;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64val(s[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xFF);
        }
    }
    *out_len = o;
    return out;
}

/* ---- JSON Pointer --------------------------------------------------------- */

void gbx__sch_pointer_escape(gbx__sbuf *b, const char *token) {
    for (const char *p = token; *p; p++) {
        if (*p == '~')
            gbx__sch_sbuf_putn(b, "~0", 2);
        else if (*p == '/')
            gbx__sch_sbuf_putn(b, "~1", 2);
        else
            gbx__sch_sbuf_putc(b, *p);
    }
}

json_t *gbx__sch_pointer_get(const json_t *doc, const char *pointer) {
    const json_t *cur = doc;
    const char *p = pointer;
    if (*p == '\0') return (json_t *)cur;
    if (*p != '/') return NULL;
    gbx__sbuf tok = {0};
    while (cur && *p == '/') {
        p++;
        tok.len = 0;
        gbx__sch_sbuf_putn(&tok, "", 0);
        while (*p && *p != '/') {
            if (*p == '~' && p[1] == '0') {
                gbx__sch_sbuf_putc(&tok, '~');
                p += 2;
            } else if (*p == '~' && p[1] == '1') {
                gbx__sch_sbuf_putc(&tok, '/');
                p += 2;
            } else {
                gbx__sch_sbuf_putc(&tok, *p);
                p++;
            }
        }
        const char *t = gbx__sch_sbuf_str(&tok);
        if (json_is_object(cur)) {
            cur = json_object_getn(cur, t, tok.len);
        } else if (json_is_array(cur)) {
            char *end;
            if (!*t || (t[0] == '0' && t[1]) || t[0] < '0' || t[0] > '9') {
                cur = NULL;
                break;
            }
            unsigned long long i = strtoull(t, &end, 10);
            cur = (*end == '\0') ? json_array_get(cur, (size_t)i) : NULL;
        } else {
            cur = NULL;
        }
    }
    gbx__sch_sbuf_free(&tok);
    return (json_t *)cur;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

char *gbx__sch_percent_decode(const char *s, size_t len) {
    char *out = malloc(len + 1);
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%') {
            if (i + 2 >= len) {
                free(out);
                return NULL;
            }
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0) {
                free(out);
                return NULL;
            }
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}
