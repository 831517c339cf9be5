/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* schema_format.c - checkers for the "format" keyword.  Each takes UTF-8
 * text and says whether it is a valid instance of the format. */
#include "schema/schema_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool digits(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

static int num(const char *s, size_t n) {
    int v = 0;
    for (size_t i = 0; i < n; i++) v = v * 10 + (s[i] - '0');
    return v;
}

static bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* YYYY-MM-DD */
static bool check_date(const char *s, size_t len) {
    if (len != 10 || s[4] != '-' || s[7] != '-') return false;
    if (!digits(s, 4) || !digits(s + 5, 2) || !digits(s + 8, 2)) return false;
    int y = num(s, 4), m = num(s + 5, 2), d = num(s + 8, 2);
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1]) return false;
    if (m == 2 && d == 29 && !leap(y)) return false;
    return true;
}

/* hh:mm:ss[.frac](Z|+hh:mm|-hh:mm), leap seconds only at 23:59:60 UTC */
static bool check_time(const char *s, size_t len) {
    if (len < 9 || s[2] != ':' || s[5] != ':') return false;
    if (!digits(s, 2) || !digits(s + 3, 2) || !digits(s + 6, 2)) return false;
    int h = num(s, 2), mi = num(s + 3, 2), sec = num(s + 6, 2);
    size_t i = 8;
    if (i < len && s[i] == '.') {
        i++;
        size_t st = i;
        while (i < len && s[i] >= '0' && s[i] <= '9') i++;
        if (i == st) return false;
    }
    if (i >= len) return false;
    int oh = 0, om = 0, sign = 0;
    if (s[i] == 'Z' || s[i] == 'z') {
        if (i + 1 != len) return false;
    } else if (s[i] == '+' || s[i] == '-') {
        sign = s[i] == '+' ? 1 : -1;
        if (len - i != 6 || s[i + 3] != ':' || !digits(s + i + 1, 2) || !digits(s + i + 4, 2))
            return false;
        oh = num(s + i + 1, 2);
        om = num(s + i + 4, 2);
        if (oh > 23 || om > 59) return false;
    } else {
        return false;
    }
    if (h > 23 || mi > 59 || sec > 60) return false;
    if (sec == 60) {
        /* the UTC time must be 23:59 */
        int total = h * 60 + mi - sign * (oh * 60 + om);
        total = ((total % 1440) + 1440) % 1440;
        if (total != 23 * 60 + 59) return false;
    }
    return true;
}

static bool check_date_time(const char *s, size_t len) {
    if (len < 20) return false;
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return false;
    return check_date(s, 10) && check_time(s + 11, len - 11);
}

/* ISO 8601 duration as RFC 3339 appendix A has it */
static bool check_duration(const char *s, size_t len) {
    size_t i = 0;
    if (len < 2 || s[i++] != 'P') return false;
    if (i < len && len - i >= 2 && s[len - 1] == 'W') {
        return digits(s + 1, len - 2) && len > 2;
    }
    const char *date_units = "YMD", *time_units = "HMS";
    int last = -1;
    bool any = false, in_time = false, any_time = false;
    while (i < len) {
        if (s[i] == 'T') {
            if (in_time) return false;
            in_time = true;
            last = -1;
            i++;
            continue;
        }
        size_t st = i;
        while (i < len && isdigit((unsigned char)s[i])) i++;
        if (i == st || i >= len) return false;
        const char *units = in_time ? time_units : date_units;
        const char *u = strchr(units, s[i]);
        if (!u || s[i] == '\0') return false;
        int idx = (int)(u - units);
        /* in order, and without gaps (no years and days without months) */
        if (idx <= last || (last >= 0 && idx != last + 1)) return false;
        last = idx;
        any = true;
        if (in_time) any_time = true;
        i++;
    }
    if (in_time && !any_time) return false;
    return any;
}

static bool check_ipv4(const char *s, size_t len) {
    /* dotted quad, no leading zeros */
    int parts = 0;
    size_t i = 0;
    while (parts < 4) {
        size_t st = i;
        while (i < len && s[i] >= '0' && s[i] <= '9') i++;
        size_t n = i - st;
        if (n == 0 || n > 3) return false;
        if (n > 1 && s[st] == '0') return false;
        if (num(s + st, n) > 255) return false;
        parts++;
        if (parts < 4) {
            if (i >= len || s[i] != '.') return false;
            i++;
        }
    }
    return i == len;
}

static bool check_ipv6(const char *s, size_t len) {
    if (len == 0 || len > 45) return false;
    char buf[64];
    memcpy(buf, s, len);
    buf[len] = '\0';
    for (size_t i = 0; i < len; i++)
        if (!(isxdigit((unsigned char)buf[i]) || buf[i] == ':' || buf[i] == '.')) return false;
    /* an embedded IPv4 part must itself be a strict dotted quad */
    char *colon = strrchr(buf, ':');
    if (colon && strchr(colon, '.') && !check_ipv4(colon + 1, strlen(colon + 1))) return false;
    unsigned char out[16];
    return inet_pton(AF_INET6, buf, out) == 1;
}

static bool check_hostname(const char *s, size_t len) { return gbx__sch_hostname_ok(s, len, false); }
static bool check_idn_hostname(const char *s, size_t len) { return gbx__sch_hostname_ok(s, len, true); }

static bool check_email_local(const char *s, size_t n, bool intl) {
    if (n == 0 || n > 64) return false;
    if (s[0] == '"') return n >= 2 && s[n - 1] == '"';
    if (s[0] == '.' || s[n - 1] == '.') return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.' && i + 1 < n && s[i + 1] == '.') return false;
        if (c >= 0x80 && intl) continue;
        if (!(isalnum(c) || strchr("!#$%&'*+-/=?^_`{|}~.", c))) return false;
    }
    return true;
}

static bool email(const char *s, size_t len, bool intl) {
    const char *at = NULL;
    for (size_t i = len; i-- > 0;)
        if (s[i] == '@') {
            at = s + i;
            break;
        }
    if (!at) return false;
    size_t ln = (size_t)(at - s);
    const char *d = at + 1;
    size_t dn = len - ln - 1;
    if (!check_email_local(s, ln, intl) || dn == 0) return false;
    if (d[0] == '[') {
        if (d[dn - 1] != ']') return false;
        if (dn > 6 && strncmp(d + 1, "IPv6:", 5) == 0) return check_ipv6(d + 6, dn - 7);
        return check_ipv4(d + 1, dn - 2);
    }
    return intl ? check_idn_hostname(d, dn) : check_hostname(d, dn);
}

static bool check_email(const char *s, size_t len) { return email(s, len, false); }
static bool check_idn_email(const char *s, size_t len) { return email(s, len, true); }

static bool check_uuid(const char *s, size_t len) {
    if (len != 36) return false;
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return false;
        } else if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

/* RFC 3986 generic syntax, character classes per component; `iri` allows
 * non-ASCII. */
static bool uri_chars(const char *s, size_t n, const char *extra, bool iri) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n) return false;
            if (!isxdigit((unsigned char)s[i + 1]) || !isxdigit((unsigned char)s[i + 2])) return false;
            i += 2;
            continue;
        }
        if (c >= 0x80) {
            if (!iri) return false;
            continue;
        }
        if (isalnum(c) || strchr("-._~!$&'()*+,;=", c) || (c && strchr(extra, c))) continue;
        return false;
    }
    return true;
}

static bool uri_like(const char *s, size_t len, bool need_scheme, bool iri) {
    size_t i = 0;
    /* scheme */
    size_t colon = 0;
    bool has_scheme = false;
    if (len && isalpha((unsigned char)s[0])) {
        size_t j = 1;
        while (j < len && (isalnum((unsigned char)s[j]) || s[j] == '+' || s[j] == '-' || s[j] == '.')) j++;
        if (j < len && s[j] == ':') {
            has_scheme = true;
            colon = j;
        }
    }
    if (need_scheme && !has_scheme) return false;
    if (has_scheme) i = colon + 1;
    size_t end = len;
    const char *hash = memchr(s + i, '#', len - i);
    if (hash) {
        if (!uri_chars(hash + 1, len - (size_t)(hash + 1 - s), ":@/?", iri)) return false;
        end = (size_t)(hash - s);
    }
    const char *q = memchr(s + i, '?', end - i);
    if (q) {
        if (!uri_chars(q + 1, end - (size_t)(q + 1 - s), ":@/?", iri)) return false;
        end = (size_t)(q - s);
    }
    if (end - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
        i += 2;
        size_t a = i;
        while (i < end && s[i] != '/') i++;
        const char *auth = s + a;
        size_t an = i - a;
        const char *at = memchr(auth, '@', an);
        if (at) {
            if (!uri_chars(auth, (size_t)(at - auth), ":", iri)) return false;
            an -= (size_t)(at + 1 - auth);
            auth = at + 1;
        }
        if (an && auth[0] == '[') {
            const char *rb = memchr(auth, ']', an);
            if (!rb) return false;
            if (auth[1] == 'v' || auth[1] == 'V') {
                /* IPvFuture: "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ) */
                const char *v = auth + 2;
                const char *st = v;
                while (v < rb && isxdigit((unsigned char)*v)) v++;
                if (v == st || v >= rb || *v != '.' || v + 1 >= rb) return false;
                if (!uri_chars(v + 1, (size_t)(rb - v - 1), ":", false)) return false;
            } else if (!check_ipv6(auth + 1, (size_t)(rb - auth - 1))) {
                return false;
            }
            size_t rest = an - (size_t)(rb + 1 - auth);
            if (rest && (rb[1] != ':' || !digits(rb + 2, rest - 1))) return false;
        } else {
            const char *pc = memchr(auth, ':', an);
            size_t hn = pc ? (size_t)(pc - auth) : an;
            if (pc && !digits(pc + 1, an - hn - 1)) return false;
            if (!uri_chars(auth, hn, "", iri)) return false;
        }
    } else if (!has_scheme) {
        /* relative reference: first segment may not contain ':' */
        const char *slash = memchr(s + i, '/', end - i);
        size_t seg_end = slash ? (size_t)(slash - s) : end;
        if (memchr(s + i, ':', seg_end - i)) return false;
    }
    return uri_chars(s + i, end - i, ":@/", iri);
}

static bool check_uri(const char *s, size_t len) { return uri_like(s, len, true, false); }
static bool check_uri_reference(const char *s, size_t len) { return uri_like(s, len, false, false); }
static bool check_iri(const char *s, size_t len) { return uri_like(s, len, true, true); }
static bool check_iri_reference(const char *s, size_t len) { return uri_like(s, len, false, true); }

/* RFC 6570 level 4 syntax. */
static bool check_uri_template(const char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c == '{') {
            i++;
            if (i < len && strchr("+#./;?&", s[i]) && s[i]) i++;
            for (;;) { /* varspec */
                size_t st = i;
                bool dot_ok = false;
                while (i < len) {
                    unsigned char v = (unsigned char)s[i];
                    if (isalnum(v) || v == '_') {
                        i++;
                        dot_ok = true;
                    } else if (v == '%' && i + 2 < len && isxdigit((unsigned char)s[i + 1]) &&
                               isxdigit((unsigned char)s[i + 2])) {
                        i += 3;
                        dot_ok = true;
                    } else if (v == '.' && dot_ok && i + 1 < len && s[i + 1] != '.' && s[i + 1] != '}' &&
                               s[i + 1] != ',' && s[i + 1] != ':' && s[i + 1] != '*') {
                        i++;
                        dot_ok = false;
                    } else {
                        break;
                    }
                }
                if (i == st) return false;
                if (i < len && s[i] == ':') {
                    i++;
                    size_t ds = i;
                    while (i < len && isdigit((unsigned char)s[i])) i++;
                    if (i == ds || i - ds > 4 || s[ds] == '0') return false;
                } else if (i < len && s[i] == '*') {
                    i++;
                }
                if (i < len && s[i] == ',') {
                    i++;
                    continue;
                }
                break;
            }
            if (i >= len || s[i] != '}') return false;
            i++;
            continue;
        }
        if (c == '%') {
            if (!(i + 2 < len && isxdigit((unsigned char)s[i + 1]) && isxdigit((unsigned char)s[i + 2])))
                return false;
            i += 3;
            continue;
        }
        if (c <= 0x20 || c == 0x7F || strchr("\"<>\\^`|}", c)) return false;
        i++;
    }
    return true;
}

static bool check_json_pointer(const char *s, size_t len) {
    if (len == 0) return true;
    if (s[0] != '/') return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '~' && (i + 1 >= len || (s[i + 1] != '0' && s[i + 1] != '1'))) return false;
    return true;
}

static bool check_relative_json_pointer(const char *s, size_t len) {
    size_t i = 0;
    while (i < len && isdigit((unsigned char)s[i])) i++;
    if (i == 0) return false;
    if (i > 1 && s[0] == '0') return false;
    if (i == len) return true;
    if (s[i] == '#') return i + 1 == len;
    return check_json_pointer(s + i, len - i);
}

static bool check_regex(const char *s, size_t len) {
    char *copy = malloc(len + 1);
    if (!copy) return false;
    memcpy(copy, s, len);
    copy[len] = '\0';
    const char *err;
    gbx__regex *re = gbx__sch_regex_compile(copy, &err);
    free(copy);
    gbx__sch_regex_free(re);
    return re != NULL;
}

/* draft 3 */
static bool check_time_draft3(const char *s, size_t len) {
    return len == 8 && s[2] == ':' && s[5] == ':' && digits(s, 2) && digits(s + 3, 2) &&
           digits(s + 6, 2) && num(s, 2) < 24 && num(s + 3, 2) < 60 && num(s + 6, 2) < 61;
}

static bool check_color(const char *s, size_t len) {
    static const char *names[] = {"aqua", "black", "blue", "fuchsia", "gray", "green", "lime",
                                  "maroon", "navy", "olive", "orange", "purple", "red",
                                  "silver", "teal", "white", "yellow", NULL};
    if (len > 0 && s[0] == '#') {
        if (len != 4 && len != 7) return false;
        for (size_t i = 1; i < len; i++)
            if (!isxdigit((unsigned char)s[i])) return false;
        return true;
    }
    for (int i = 0; names[i]; i++)
        if (strlen(names[i]) == len && strncasecmp(names[i], s, len) == 0) return true;
    return false;
}

static bool check_mac(const char *s, size_t len) {
    size_t i = 0;
    for (int part = 0; part < 6; part++) {
        size_t st = i;
        while (i < len && isxdigit((unsigned char)s[i]) && i - st < 2) i++;
        if (i == st) return false;
        if (part < 5) {
            if (i >= len || s[i] != ':') return false;
            i++;
        }
    }
    return i == len;
}

typedef struct format_entry {
    const char *name;
    gbx__format_fn fn;
} format_entry;

static const format_entry formats[] = {
    {"date-time", check_date_time},
    {"date", check_date},
    {"time", check_time},
    {"duration", check_duration},
    {"email", check_email},
    {"idn-email", check_idn_email},
    {"hostname", check_hostname},
    {"idn-hostname", check_idn_hostname},
    {"ipv4", check_ipv4},
    {"ipv6", check_ipv6},
    {"uri", check_uri},
    {"uri-reference", check_uri_reference},
    {"iri", check_iri},
    {"iri-reference", check_iri_reference},
    {"uri-template", check_uri_template},
    {"uuid", check_uuid},
    {"json-pointer", check_json_pointer},
    {"relative-json-pointer", check_relative_json_pointer},
    {"regex", check_regex},
    {NULL, NULL},
};

gbx__format_fn gbx__sch_format_lookup(const char *name, gbx_dialect dialect) {
    if (dialect == GBX_DIALECT_DRAFT3 || dialect == GBX_DIALECT_LEGACY) {
        if (strcmp(name, "ip-address") == 0) return check_ipv4;
        if (strcmp(name, "host-name") == 0) return check_hostname;
        if (strcmp(name, "color") == 0) return check_color;
        if (strcmp(name, "mac-address") == 0) return check_mac;
        if (dialect == GBX_DIALECT_DRAFT3 && strcmp(name, "time") == 0) return check_time_draft3;
    }
    for (const format_entry *f = formats; f->name; f++)
        if (strcmp(f->name, name) == 0) return f->fn;
    return NULL;
}
