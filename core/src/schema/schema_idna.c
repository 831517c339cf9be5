/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* schema_idna.c - host names for the "hostname" and "idn-hostname"
 * formats: RFC 1123 labels, Punycode A-labels (RFC 3492) and the IDNA2008
 * rules for U-labels that can be decided without the full derived-property
 * tables (RFC 5891-5893): hyphen placement, leading combining marks,
 * letter/digit/mark categories, the listed exceptions, the CONTEXTJ and
 * CONTEXTO rules and the Bidi rule. */
#include "schema/schema_internal.h"
#include "schema/schema_unicode.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ---- Punycode ------------------------------------------------------------ */

enum { PC_BASE = 36, PC_TMIN = 1, PC_TMAX = 26, PC_SKEW = 38, PC_DAMP = 700, PC_BIAS = 72, PC_N = 128 };

static uint32_t adapt(uint32_t delta, uint32_t numpoints, bool first) {
    delta = first ? delta / PC_DAMP : delta / 2;
    delta += delta / numpoints;
    uint32_t k = 0;
    while (delta > ((PC_BASE - PC_TMIN) * PC_TMAX) / 2) {
        delta /= PC_BASE - PC_TMIN;
        k += PC_BASE;
    }
    return k + (PC_BASE - PC_TMIN + 1) * delta / (delta + PC_SKEW);
}

static int digit_value(char c) {
    if (c >= 'a' && c <= 'z') return c - 'a';
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= '0' && c <= '9') return c - '0' + 26;
    return -1;
}

static char digit_char(uint32_t d) { return (char)(d < 26 ? 'a' + d : '0' + (d - 26)); }

#define MAX_LABEL_CPS 256

/* Decodes the part after "xn--"; false when it is not valid Punycode. */
static bool punycode_decode(const char *in, size_t len, uint32_t *out, size_t *outlen) {
    size_t b = 0, start = 0;
    const char *dash = NULL;
    for (size_t i = 0; i < len; i++)
        if (in[i] == '-') dash = in + i;
    size_t n_out = 0;
    if (dash) {
        b = (size_t)(dash - in);
        for (size_t i = 0; i < b; i++) {
            if ((unsigned char)in[i] >= 0x80 || n_out >= MAX_LABEL_CPS) return false;
            out[n_out++] = (unsigned char)in[i];
        }
        start = b + 1;
    }
    uint32_t n = PC_N, bias = PC_BIAS, i = 0;
    for (size_t p = start; p < len;) {
        uint32_t oldi = i, w = 1;
        for (uint32_t k = PC_BASE;; k += PC_BASE) {
            if (p >= len) return false;
            int d = digit_value(in[p++]);
            if (d < 0) return false;
            if ((uint32_t)d > (0xFFFFFFFFu - i) / w) return false;
            i += (uint32_t)d * w;
            uint32_t t = k <= bias ? PC_TMIN : k >= bias + PC_TMAX ? PC_TMAX : k - bias;
            if ((uint32_t)d < t) break;
            if (w > 0xFFFFFFFFu / (PC_BASE - t)) return false;
            w *= PC_BASE - t;
        }
        bias = adapt(i - oldi, (uint32_t)n_out + 1, oldi == 0);
        if (i / ((uint32_t)n_out + 1) > 0x10FFFF - n) return false;
        n += i / ((uint32_t)n_out + 1);
        i %= (uint32_t)n_out + 1;
        if (n > 0x10FFFF || (n >= 0xD800 && n <= 0xDFFF) || n_out >= MAX_LABEL_CPS) return false;
        memmove(out + i + 1, out + i, (n_out - i) * sizeof *out);
        out[i++] = n;
        n_out++;
    }
    *outlen = n_out;
    return true;
}

/* Encodes code points as Punycode into buf (without "xn--"); false when
 * it does not fit. */
static bool punycode_encode(const uint32_t *cps, size_t len, char *buf, size_t size, size_t *outlen) {
    size_t o = 0;
    uint32_t h = 0;
    for (size_t i = 0; i < len; i++)
        if (cps[i] < 0x80) {
            if (o + 1 >= size) return false;
            buf[o++] = (char)cps[i];
            h++;
        }
    uint32_t b = h;
    if (b > 0) {
        if (o + 1 >= size) return false;
        buf[o++] = '-';
    }
    uint32_t n = PC_N, delta = 0, bias = PC_BIAS;
    while (h < len) {
        uint32_t m = 0x10FFFF + 1;
        for (size_t i = 0; i < len; i++)
            if (cps[i] >= n && cps[i] < m) m = cps[i];
        if ((m - n) > (0xFFFFFFFFu - delta) / (h + 1)) return false;
        delta += (m - n) * (h + 1);
        n = m;
        for (size_t i = 0; i < len; i++) {
            if (cps[i] < n) delta++;
            if (cps[i] == n) {
                uint32_t q = delta;
                for (uint32_t k = PC_BASE;; k += PC_BASE) {
                    uint32_t t = k <= bias ? PC_TMIN : k >= bias + PC_TMAX ? PC_TMAX : k - bias;
                    if (q < t) break;
                    if (o + 1 >= size) return false;
                    buf[o++] = digit_char(t + (q - t) % (PC_BASE - t));
                    q = (q - t) / (PC_BASE - t);
                }
                if (o + 1 >= size) return false;
                buf[o++] = digit_char(q);
                bias = adapt(delta, h + 1, h == b);
                delta = 0;
                h++;
            }
        }
        delta++;
        n++;
    }
    buf[o] = '\0';
    *outlen = o;
    return true;
}

/* ---- IDNA2008 ---------------------------------------------------------- */

static bool is_virama(uint32_t c) {
    static const uint32_t v[] = {0x94D, 0x9CD, 0xA4D, 0xACD, 0xB4D, 0xBCD, 0xC4D, 0xCCD, 0xD3B, 0xD3C, 0xD4D,
                                 0xDCA, 0xE3A, 0xEBA, 0xF84, 0x1039, 0x103A, 0x1714, 0x1734, 0x17D2, 0x1A60,
                                 0x1B44, 0x1BAA, 0x1BAB, 0x1BF2, 0x1BF3, 0x2D7F, 0xA806, 0xA8C4, 0xA953, 0xA9C0,
                                 0xAAF6, 0xABED, 0x10A3F, 0x11046, 0x1107F, 0x110B9, 0x11133, 0x11134, 0x111C0,
                                 0x11235, 0x112EA, 0x1134D, 0x11442, 0x114C2, 0x115BF, 0x1163F, 0x116B6, 0x1172B,
                                 0x11839, 0x119E0, 0x11A34, 0x11A47, 0x11A99, 0x11C3F, 0x11D44, 0x11D45, 0x11D97};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (v[i] == c) return true;
    return false;
}

static bool is_greek(uint32_t c) { return (c >= 0x370 && c <= 0x3FF && c != 0x37E && c != 0x387) || (c >= 0x1F00 && c <= 0x1FFF); }
static bool is_hebrew(uint32_t c) { return (c >= 0x591 && c <= 0x5F4) || (c >= 0xFB1D && c <= 0xFB4F); }
static bool is_hkh(uint32_t c) { /* Hiragana, Katakana or Han */
    return (c >= 0x3040 && c <= 0x309F) || (c >= 0x30A0 && c <= 0x30FF && c != 0x30FB) || (c >= 0x31F0 && c <= 0x31FF) ||
           (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF) ||
           (c >= 0x20000 && c <= 0x3134F) || c == 0x3005 || c == 0x3006 || c == 0x3007;
}

/* Arabic letters that join on both sides or on the left (approximation
 * of Joining_Type D/L for the ZERO WIDTH NON-JOINER rule). */
static bool is_joining(uint32_t c) {
    return ((c >= 0x620 && c <= 0x64A) || (c >= 0x66E && c <= 0x6D3) || (c >= 0x6FA && c <= 0x6FF) ||
            (c >= 0x750 && c <= 0x77F) || (c >= 0x8A0 && c <= 0x8C9)) &&
           gbx__sch_unicode_category(c) == GBX__UC_Lo;
}

typedef enum { BIDI_L, BIDI_R, BIDI_AL, BIDI_AN, BIDI_EN, BIDI_NSM, BIDI_OTHER } bidi_class;

static bidi_class bidi_of(uint32_t c) {
    if (c >= '0' && c <= '9') return BIDI_EN;
    if (c >= 0x6F0 && c <= 0x6F9) return BIDI_EN;
    if ((c >= 0x660 && c <= 0x669) || c == 0x66B || c == 0x66C) return BIDI_AN;
    int cat = gbx__sch_unicode_category(c);
    if (cat == GBX__UC_Mn || cat == GBX__UC_Me) return BIDI_NSM;
    if ((c >= 0x590 && c <= 0x5FF) || (c >= 0x7C0 && c <= 0x85F) || (c >= 0xFB1D && c <= 0xFB4F) ||
        (c >= 0x10800 && c <= 0x10FFF) || (c >= 0x1E800 && c <= 0x1EDFF))
        return BIDI_R;
    if ((c >= 0x600 && c <= 0x6FF) || (c >= 0x700 && c <= 0x7BF) || (c >= 0x860 && c <= 0x8FF) ||
        (c >= 0xFB50 && c <= 0xFDFF) || (c >= 0xFE70 && c <= 0xFEFF) || (c >= 0x1EE00 && c <= 0x1EEFF))
        return BIDI_AL;
    if (cat <= GBX__UC_Lo || cat == GBX__UC_Mc || cat == GBX__UC_Nl || cat == GBX__UC_No || cat == GBX__UC_Nd)
        return BIDI_L;
    return BIDI_OTHER;
}

static bool label_is_rtl(const uint32_t *cp, size_t n) {
    for (size_t i = 0; i < n; i++) {
        bidi_class b = bidi_of(cp[i]);
        if (b == BIDI_R || b == BIDI_AL || b == BIDI_AN) return true;
    }
    return false;
}

/* RFC 5893 section 2, for one label of a domain name that has RTL labels. */
static bool bidi_ok(const uint32_t *cp, size_t n) {
    if (n == 0) return true;
    bidi_class first = bidi_of(cp[0]);
    size_t last = n;
    while (last > 0 && bidi_of(cp[last - 1]) == BIDI_NSM) last--;
    if (last == 0) return false;
    bidi_class end = bidi_of(cp[last - 1]);
    if (first == BIDI_R || first == BIDI_AL) {
        bool en = false, an = false;
        for (size_t i = 0; i < n; i++) {
            bidi_class b = bidi_of(cp[i]);
            if (b == BIDI_L) return false;
            en |= b == BIDI_EN;
            an |= b == BIDI_AN;
        }
        if (en && an) return false;
        return end == BIDI_R || end == BIDI_AL || end == BIDI_EN || end == BIDI_AN;
    }
    if (first != BIDI_L) return false;
    for (size_t i = 0; i < n; i++) {
        bidi_class b = bidi_of(cp[i]);
        if (b == BIDI_R || b == BIDI_AL || b == BIDI_AN) return false;
    }
    return end == BIDI_L || end == BIDI_EN;
}

/* Is the code point allowed in a U-label (PVALID or contextual)? */
static bool idna_allowed(uint32_t c) {
    if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    switch (c) { /* RFC 5892 section 2.6 exceptions */
    case 0xDF: case 0x3C2: case 0x6FD: case 0x6FE: case 0xF0B: case 0x3007:
        return true;
    case 0x640: case 0x7FA: case 0x302E: case 0x302F: case 0x3031: case 0x3032: case 0x3033: case 0x3034:
    case 0x3035: case 0x303B:
        return false;
    case 0xB7: case 0x375: case 0x5F3: case 0x5F4: case 0x30FB: case 0x200C: case 0x200D:
        return true; /* CONTEXTO / CONTEXTJ, checked below */
    default:
        break;
    }
    int cat = gbx__sch_unicode_category(c);
    /* LetterDigits minus what case folding or compatibility would change
     * (upper case letters are the common case of those) */
    return cat == GBX__UC_Ll || cat == GBX__UC_Lo || cat == GBX__UC_Lm || cat == GBX__UC_Mn || cat == GBX__UC_Mc ||
           cat == GBX__UC_Nd;
}

static bool ulabel_ok(const uint32_t *cp, size_t n) {
    if (n == 0 || n > 63) return false;
    if (cp[0] == '-' || cp[n - 1] == '-') return false;
    if (n >= 4 && cp[2] == '-' && cp[3] == '-') return false;
    int c0 = gbx__sch_unicode_category(cp[0]);
    if (c0 == GBX__UC_Mn || c0 == GBX__UC_Mc || c0 == GBX__UC_Me) return false;
    bool arabic_indic = false, extended = false, katakana_dot = false, hkh = false;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = cp[i];
        if (!idna_allowed(c)) return false;
        switch (c) {
        case 0xB7:
            if (i == 0 || i + 1 >= n || cp[i - 1] != 'l' || cp[i + 1] != 'l') return false;
            break;
        case 0x375:
            if (i + 1 >= n || !is_greek(cp[i + 1])) return false;
            break;
        case 0x5F3:
        case 0x5F4:
            if (i == 0 || !is_hebrew(cp[i - 1])) return false;
            break;
        case 0x30FB:
            katakana_dot = true;
            break;
        case 0x200D:
            if (i == 0 || !is_virama(cp[i - 1])) return false;
            break;
        case 0x200C:
            if (i > 0 && is_virama(cp[i - 1])) break;
            if (i == 0 || i + 1 >= n || !is_joining(cp[i - 1]) || !is_joining(cp[i + 1])) return false;
            break;
        default:
            break;
        }
        if (c >= 0x660 && c <= 0x669) arabic_indic = true;
        if (c >= 0x6F0 && c <= 0x6F9) extended = true;
        if (is_hkh(c)) hkh = true;
    }
    if (arabic_indic && extended) return false;
    if (katakana_dot && !hkh) return false;
    return true;
}

static bool ldh_label_ok(const uint32_t *cp, size_t n) {
    if (n == 0 || n > 63 || cp[0] == '-' || cp[n - 1] == '-') return false;
    for (size_t i = 0; i < n; i++)
        if (!(cp[i] < 0x80 && (isalnum((int)cp[i]) || cp[i] == '-'))) return false;
    return true;
}

static bool is_xn(const uint32_t *cp, size_t n) {
    return n >= 4 && (cp[0] == 'x' || cp[0] == 'X') && (cp[1] == 'n' || cp[1] == 'N') && cp[2] == '-' && cp[3] == '-';
}

/* Checks one label; *ulabel receives its Unicode form for the Bidi rule. */
static bool label_ok(const uint32_t *cp, size_t n, bool idn, uint32_t *ulabel, size_t *un, size_t *alen) {
    bool ascii = true;
    for (size_t i = 0; i < n; i++)
        if (cp[i] >= 0x80) ascii = false;
    if (ascii) {
        if (!ldh_label_ok(cp, n)) return false;
        *alen = n;
        if (!is_xn(cp, n)) {
            memcpy(ulabel, cp, n * sizeof *cp);
            *un = n;
            return true;
        }
        /* an A-label: valid Punycode of a valid U-label that re-encodes to
         * itself and is not plain ASCII */
        char in[64];
        for (size_t i = 4; i < n; i++) in[i - 4] = (char)cp[i];
        if (!punycode_decode(in, n - 4, ulabel, un)) return false;
        bool any = false;
        for (size_t i = 0; i < *un; i++)
            if (ulabel[i] >= 0x80) any = true;
        if (!any) return false;
        char again[128];
        size_t alen2;
        if (!punycode_encode(ulabel, *un, again, sizeof again, &alen2) || alen2 != n - 4 ||
            strncasecmp(again, in, n - 4) != 0)
            return false;
        return ulabel_ok(ulabel, *un);
    }
    if (!idn || n > MAX_LABEL_CPS) return false;
    memcpy(ulabel, cp, n * sizeof *cp);
    *un = n;
    if (!ulabel_ok(cp, n)) return false;
    char enc[128];
    size_t elen;
    if (!punycode_encode(cp, n, enc, sizeof enc, &elen) || elen + 4 > 63) return false;
    *alen = elen + 4;
    return true;
}

static bool is_dot(uint32_t c, bool idn) { return c == '.' || (idn && (c == 0x3002 || c == 0xFF0E || c == 0xFF61)); }

bool gbx__sch_hostname_ok(const char *s, size_t len, bool idn) {
    if (len == 0 || len > 4 * 253) return false;
    uint32_t *cps = malloc((len + 1) * sizeof *cps);
    uint32_t *ul = malloc((MAX_LABEL_CPS + 1) * sizeof *ul);
    if (!cps || !ul) {
        free(cps);
        free(ul);
        return false;
    }
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        size_t adv;
        cps[n++] = gbx__sch_utf8_decode(s + i, len - i, &adv);
        i += adv;
    }
    bool ok = true, bidi_domain = false;
    size_t total = 0;
    /* two passes: the Bidi rule applies to every label once any label is
     * right-to-left */
    for (int pass = 0; pass < 2 && ok; pass++) {
        size_t st = 0;
        total = 0;
        for (size_t i = 0; i <= n && ok; i++) {
            if (i < n && !is_dot(cps[i], idn)) continue;
            size_t un = 0, alen = 0;
            ok = label_ok(cps + st, i - st, idn, ul, &un, &alen);
            if (ok && pass == 0 && label_is_rtl(ul, un)) bidi_domain = true;
            if (ok && pass == 1 && bidi_domain) ok = bidi_ok(ul, un);
            total += alen + (i < n ? 1 : 0);
            st = i + 1;
        }
        if (!bidi_domain) break;
    }
    free(cps);
    free(ul);
    return ok && total <= 253;
}
