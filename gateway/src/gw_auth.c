/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_auth.c - bearer tokens and Basic passwords of a location. */
#define _GNU_SOURCE /* crypt_r */
#include "gw_auth.h"

#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gearbox/log.h"
#include "gw_config.h"
#include "gw_util.h"

#define LINE_MAX_LEN 4096
#define DEFAULT_BASIC_SCOPES (GBX_GW_SCOPE_READ | GBX_GW_SCOPE_WRITE | GBX_GW_SCOPE_CANCEL)

/* ---- SHA-256 (FIPS 180-4) ------------------------------------------------- */

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const unsigned char *p) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
               p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = k + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
}

void gbx_gw_sha256_hex(char hex[65], const void *data, size_t len) {
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    const unsigned char *p = data;
    size_t left = len;
    for (; left >= 64; left -= 64, p += 64) sha256_block(h, p);
    unsigned char tail[128] = {0};
    memcpy(tail, p, left);
    tail[left] = 0x80;
    size_t blocks = left + 9 > 64 ? 2 : 1;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++) tail[blocks * 64 - 1 - i] = (unsigned char)(bits >> (8 * i));
    for (size_t b = 0; b < blocks; b++) sha256_block(h, tail + 64 * b);
    for (int i = 0; i < 8; i++) snprintf(hex + 8 * i, 9, "%08x", h[i]);
}

bool gbx_gw_secure_equal(const char *a, size_t alen, const char *b, size_t blen) {
    volatile unsigned char diff = alen != blen;
    for (size_t i = 0; i < alen; i++) diff |= (unsigned char)(a[i] ^ b[blen ? i % blen : 0]);
    return diff == 0;
}

/* ---- scopes --------------------------------------------------------------- */

static const char *const scope_names[] = {"read", "write", "cancel", "admin"};

gbx_err gbx_gw_scopes_parse(unsigned *out, const char *text) {
    *out = 0;
    for (const char *p = text; p && *p;) {
        while (*p == ',' || *p == ' ' || *p == '\t') p++;
        size_t n = strcspn(p, ", \t");
        if (n == 0) break;
        unsigned bit = 0;
        for (size_t i = 0; i < 4; i++)
            if (strlen(scope_names[i]) == n && strncmp(p, scope_names[i], n) == 0) bit = 1u << i;
        if (!bit)
            return gbx_error_set(GBX_ERR_BAD_REQUEST,
                                 "unknown scope \"%.*s\" (read, write, cancel, admin)", (int)(n > 40 ? 40 : n), p);
        *out |= bit;
        p += n;
    }
    if (!*out) return gbx_error_set(GBX_ERR_BAD_REQUEST, "no scope (read, write, cancel, admin)");
    return GBX_OK;
}

void gbx_gw_scopes_format(char *buf, size_t len, unsigned scopes) {
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < 4; i++) {
        if (!(scopes & (1u << i))) continue;
        int n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", scope_names[i]);
        if (n < 0 || (size_t)n >= len - used) break;
        used += (size_t)n;
    }
}

/* ---- tables ---------------------------------------------------------------- */

typedef struct entry {
    char *key;                       /* bearer: sha256 hex; basic: user name */
    char *hash;                      /* basic: the crypt hash */
    char principal[GBX_GW_PRINCIPAL_MAX];
    unsigned scopes;
} entry;

typedef struct table {
    entry *entries;
    size_t n;
} table;

typedef enum { AUTH_BEARER, AUTH_BASIC } auth_type;

struct gbx_gw_auth {
    auth_type type;
    char *path;
    pthread_rwlock_t lock;
    table *current;
};

static void table_free(table *t) {
    if (!t) return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->entries[i].key);
        free(t->entries[i].hash);
    }
    free(t->entries);
    free(t);
}

static bool is_principal(const char *s, size_t n) {
    if (n == 0 || n >= GBX_GW_PRINCIPAL_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("._@-+", s[i])) return false;
    return true;
}

static bool is_sha256_hex(const char *s, size_t n) {
    if (n != 64) return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f')) return false;
    return true;
}

/* A crypt hash libcrypt verifies: bcrypt ($2a$/$2b$/$2y$), yescrypt ($y$),
 * SHA-512-crypt ($6$); never DES, MD5 or plain text. */
static bool is_strong_hash(const char *h) {
    static const char *const ok[] = {"$2a$", "$2b$", "$2y$", "$y$", "$6$", "$gy$", "$7$"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strncmp(h, ok[i], strlen(ok[i])) == 0) return true;
    return false;
}

/* Splits off the next field ending in any of `seps`; NULL at the end. */
static char *next_field(char **p, const char *seps) {
    char *s = *p;
    while (*s && strchr(seps, *s) && *seps == ' ') s++;
    if (!*s) return NULL;
    char *e = s + strcspn(s, seps);
    if (*e) *e++ = '\0';
    *p = e;
    return s;
}

static gbx_err parse_line(entry *out, auth_type type, char *line, const char *path, int lineno) {
    memset(out, 0, sizeof *out);
    char *p = line, *key, *principal = NULL, *hash = NULL, *scopes;
    if (type == AUTH_BEARER) {
        key = next_field(&p, " \t");
        principal = next_field(&p, " \t");
        scopes = next_field(&p, "");  /* the rest */
        if (!key || !principal || !scopes)
            return gbx_error_set(GBX_ERR_BAD_REQUEST,
                                 "%s:%d: expected \"<sha256 hex of the token> <principal> <scope>[,<scope>...]\"",
                                 path, lineno);
        if (!is_sha256_hex(key, strlen(key)))
            return gbx_error_set(GBX_ERR_BAD_REQUEST,
                                 "%s:%d: the first field must be the token's SHA-256 in lowercase hex "
                                 "(64 characters; `printf %%s TOKEN | sha256sum`), never the token", path, lineno);
    } else {
        key = p;
        char *colon = strchr(p, ':');
        if (!colon)
            return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s:%d: expected \"<user>:<crypt hash>[:<scopes>]\"",
                                 path, lineno);
        *colon = '\0';
        hash = colon + 1;
        char *more = strchr(hash, ':');
        scopes = NULL;
        if (more) {
            *more = '\0';
            scopes = more + 1;
        }
        principal = key;
        if (!is_strong_hash(hash))
            return gbx_error_set(GBX_ERR_BAD_REQUEST,
                                 "%s:%d: user \"%.64s\": only bcrypt ($2b$), yescrypt ($y$) or "
                                 "SHA-512-crypt ($6$) hashes are accepted", path, lineno, key);
    }
    if (!is_principal(principal, strlen(principal)))
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "%s:%d: a principal is 1-127 letters, digits or ._@-+", path, lineno);
    unsigned bits = DEFAULT_BASIC_SCOPES;
    if (scopes && gbx_gw_scopes_parse(&bits, scopes) != GBX_OK) {
        char why[256];
        snprintf(why, sizeof why, "%s", gbx_error_last()->message);
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s:%d: %s", path, lineno, why);
    }
    out->key = strdup(key);
    out->hash = hash ? strdup(hash) : NULL;
    snprintf(out->principal, sizeof out->principal, "%s", principal);
    out->scopes = bits;
    if (!out->key || (hash && !out->hash)) {
        free(out->key);
        free(out->hash);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    }
    return GBX_OK;
}

static gbx_err load_table(table **out, auth_type type, const char *path) {
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f) return gbx_error_set(GBX_ERR_BAD_REQUEST, "cannot read %s: %s", path, strerror(errno));
    table *t = calloc(1, sizeof *t);
    size_t cap = 0;
    gbx_err e = t ? GBX_OK : gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    char line[LINE_MAX_LEN];
    int lineno = 0;
    while (e == GBX_OK && fgets(line, sizeof line, f)) {
        lineno++;
        size_t n = strlen(line);
        if (n == sizeof line - 1 && line[n - 1] != '\n') {
            e = gbx_error_set(GBX_ERR_BAD_REQUEST, "%s:%d: line too long", path, lineno);
            break;
        }
        /* '#' starts a comment (no hash, name or scope holds one). */
        char *hash_mark = strchr(line, '#');
        if (hash_mark) {
            *hash_mark = '\0';
            n = (size_t)(hash_mark - line);
        }
        while (n > 0 && isspace((unsigned char)line[n - 1])) line[--n] = '\0';
        char *s = line;
        while (isspace((unsigned char)*s)) s++;
        if (!*s || *s == '#') continue;
        if (t->n == cap) {
            cap = cap ? cap * 2 : 16;
            entry *grown = realloc(t->entries, cap * sizeof *grown);
            if (!grown) {
                e = gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
                break;
            }
            t->entries = grown;
        }
        e = parse_line(&t->entries[t->n], type, s, path, lineno);
        if (e == GBX_OK) {
            for (size_t i = 0; i < t->n && e == GBX_OK; i++)
                if (strcmp(t->entries[i].key, t->entries[t->n].key) == 0)
                    e = gbx_error_set(GBX_ERR_BAD_REQUEST, "%s:%d: %s listed twice", path, lineno,
                                      type == AUTH_BEARER ? "this token is" : "this user is");
            t->n++;
        }
    }
    explicit_bzero(line, sizeof line);
    fclose(f);
    if (e != GBX_OK) {
        table_free(t);
        return e;
    }
    *out = t;
    return GBX_OK;
}

/* ---- the location's auth -------------------------------------------------- */

gbx_err gbx_gw_auth_new(gbx_gw_auth **out, const json_t *spec, const char *base_dir, const char *where) {
    *out = NULL;
    static const char usage[] = "give {\"type\": \"bearer\", \"tokens_file\": ...}, "
                                "{\"type\": \"basic\", \"htpasswd\": ...} or \"none\" (open to anyone)";
    if (!spec)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s has no \"auth\": %s", where, usage);
    if (json_is_string(spec) && strcmp(json_string_value(spec), "none") == 0) return GBX_OK;
    const char *type = json_string_value(json_object_get(spec, "type"));
    if (!json_is_object(spec) || !type)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s: \"auth\": %s", where, usage);
    auth_type t;
    const char *file_key;
    if (strcmp(type, "bearer") == 0) {
        t = AUTH_BEARER;
        file_key = "tokens_file";
    } else if (strcmp(type, "basic") == 0) {
        t = AUTH_BASIC;
        file_key = "htpasswd";
    } else {
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s: auth type \"%s\" is unknown: %s", where, type, usage);
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)spec, key, v) {
        if (strcmp(key, "type") != 0 && strcmp(key, file_key) != 0)
            return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s: auth: unknown key \"%s\" (%s auth takes \"%s\")",
                                 where, key, type, file_key);
    }
    const char *file = json_string_value(json_object_get(spec, file_key));
    if (!file || !*file)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s: auth: \"%s\" (a file) is missing", where, file_key);
    gbx_gw_auth *a = calloc(1, sizeof *a);
    if (!a) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    a->type = t;
    pthread_rwlock_init(&a->lock, NULL);
    a->path = gbx_gw_join_path(base_dir, file);
    gbx_err e = a->path ? load_table(&a->current, t, a->path)
                        : gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    if (e != GBX_OK) {
        gbx_gw_auth_free(a);
        char why[1024];
        snprintf(why, sizeof why, "%s", gbx_error_last()->message);
        return gbx_error_set(e, "%s: auth: %s", where, why);
    }
    *out = a;
    return GBX_OK;
}

void gbx_gw_auth_free(gbx_gw_auth *auth) {
    if (!auth) return;
    table_free(auth->current);
    pthread_rwlock_destroy(&auth->lock);
    free(auth->path);
    free(auth);
}

gbx_err gbx_gw_auth_reload(gbx_gw_auth *auth) {
    table *t = NULL;
    gbx_err e = load_table(&t, auth->type, auth->path);
    if (e != GBX_OK) return e;
    pthread_rwlock_wrlock(&auth->lock);
    table *old = auth->current;
    auth->current = t;
    pthread_rwlock_unlock(&auth->lock);
    table_free(old);
    return GBX_OK;
}

const char *gbx_gw_auth_type(const gbx_gw_auth *auth) {
    return auth->type == AUTH_BEARER ? "bearer" : "basic";
}

size_t gbx_gw_auth_size(const gbx_gw_auth *auth) {
    pthread_rwlock_rdlock((pthread_rwlock_t *)&auth->lock);
    size_t n = auth->current ? auth->current->n : 0;
    pthread_rwlock_unlock((pthread_rwlock_t *)&auth->lock);
    return n;
}

const char *gbx_gw_auth_challenge(const gbx_gw_auth *auth) {
    return auth->type == AUTH_BEARER ? "Bearer realm=\"gearbox\""
                                     : "Basic realm=\"gearbox\", charset=\"UTF-8\"";
}

/* The credentials after "<scheme> " in an Authorization header, or NULL. */
static const char *credentials(const char *authorization, const char *scheme) {
    if (!authorization) return NULL;
    while (*authorization == ' ') authorization++;
    size_t n = strlen(scheme);
    if (strncasecmp(authorization, scheme, n) != 0 || authorization[n] != ' ') return NULL;
    const char *p = authorization + n;
    while (*p == ' ') p++;
    return *p ? p : NULL;
}

static int b64_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Decodes base64 (with '=' padding) into a new string; NULL if malformed or
 * if it holds a NUL. */
static char *b64_decode(const char *p, size_t len, size_t *out_len) {
    while (len > 0 && p[len - 1] == ' ') len--;
    if (len == 0 || len % 4 != 0) return NULL;
    char *decoded = malloc(len / 4 * 3 + 1);
    if (!decoded) return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)p[i + k];
            if (c == '=' && i + 4 == len && k >= 2 && (k == 3 || p[i + 3] == '=')) {
                v[k] = 0;
                continue;
            }
            if ((v[k] = b64_value(c)) < 0) {
                free(decoded);
                return NULL;
            }
        }
        unsigned triple = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | (unsigned)v[3];
        decoded[n++] = (char)(triple >> 16);
        if (p[i + 2] != '=') decoded[n++] = (char)(triple >> 8 & 0xff);
        if (p[i + 3] != '=') decoded[n++] = (char)(triple & 0xff);
    }
    decoded[n] = '\0';
    if (memchr(decoded, '\0', n)) {
        free(decoded);
        return NULL;
    }
    *out_len = n;
    return decoded;
}

static gbx_err unauthorized(const char *why) {
    return gbx_error_set(GBX_ERR_UNAUTHORIZED, "%s", why);
}

static gbx_err verify_bearer(gbx_gw_principal *out, const table *t, const char *token) {
    char hex[65];
    gbx_gw_sha256_hex(hex, token, strlen(token));
    /* Every entry is compared, so the time does not tell which matched. */
    const entry *found = NULL;
    for (size_t i = 0; i < t->n; i++)
        if (gbx_gw_secure_equal(hex, 64, t->entries[i].key, strlen(t->entries[i].key)))
            found = &t->entries[i];
    if (!found) return unauthorized("invalid bearer token");
    snprintf(out->name, sizeof out->name, "%s", found->principal);
    out->scopes = found->scopes;
    return GBX_OK;
}

/* A hash that matches nothing, verified when the user is unknown so that an
 * unknown user costs as much as a wrong password. */
static const char decoy_hash[] =
    "$6$gearboxdecoy$e0wSpoqIBCpuSfa2yR1yJ5hTRFk7jcCTHtW9xyiTpF6C0Gm5P8Qy9Uoi3R4n5Z.3uDkq/ieNx0n0vG0mzA4oQ/";

static gbx_err verify_basic(gbx_gw_principal *out, const table *t, const char *b64) {
    size_t n = 0;
    char *pair = b64_decode(b64, strlen(b64), &n);
    char *colon = pair ? strchr(pair, ':') : NULL;
    if (!colon || colon == pair) {
        if (pair) explicit_bzero(pair, n);
        free(pair);
        return unauthorized("malformed Basic credentials");
    }
    *colon = '\0';
    const char *password = colon + 1;
    const entry *user = NULL;
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->entries[i].key, pair) == 0) user = &t->entries[i];
    const char *hash = user ? user->hash : decoy_hash;
    struct crypt_data *data = calloc(1, sizeof *data);
    const char *computed = data ? crypt_r(password, hash, data) : NULL;
    bool ok = computed && computed[0] != '*' &&
              gbx_gw_secure_equal(computed, strlen(computed), hash, strlen(hash)) && user;
    if (data) explicit_bzero(data, sizeof *data);
    free(data);
    explicit_bzero(pair, n);
    free(pair);
    if (!ok) return unauthorized("invalid user name or password");
    snprintf(out->name, sizeof out->name, "%s", user->principal);
    out->scopes = user->scopes;
    return GBX_OK;
}

gbx_err gbx_gw_auth_verify(gbx_gw_principal *out, const gbx_gw_auth *auth, const char *authorization) {
    memset(out, 0, sizeof *out);
    const char *scheme = auth->type == AUTH_BEARER ? "Bearer" : "Basic";
    const char *cred = credentials(authorization, scheme);
    if (!cred) {
        return authorization ? gbx_error_set(GBX_ERR_UNAUTHORIZED, "%s credentials required", scheme)
                             : gbx_error_set(GBX_ERR_UNAUTHORIZED, "authentication required (%s)", scheme);
    }
    gbx_gw_auth *a = (gbx_gw_auth *)auth;
    pthread_rwlock_rdlock(&a->lock);
    gbx_err e = auth->type == AUTH_BEARER ? verify_bearer(out, a->current, cred)
                                          : verify_basic(out, a->current, cred);
    pthread_rwlock_unlock(&a->lock);
    return e;
}

/* ---- the gateway's locations ---------------------------------------------- */

void gbx_gw_auth_log_locations(const gbx_gw_config *cfg) {
    for (size_t i = 0; i < cfg->nlocations; i++) {
        const gbx_gw_location *loc = &cfg->locations[i];
        const char *path = loc->path[0] ? loc->path : "/";
        if (!loc->auth) {
            bool local = gbx_gw_is_loopback(cfg->listen_address);
            gbx_log(local ? GBX_LOG_INFO : GBX_LOG_WARN,
                    "location %s is open to anyone (\"auth\": \"none\")%s; turn authentication on "
                    "with \"auth\": {\"type\": \"bearer\", \"tokens_file\": ...} (docs/security.md)",
                    path, local ? " on loopback" : " and the gateway listens beyond loopback");
        } else if (loc->own_auth) {
            gbx_log(GBX_LOG_INFO, "location %s: %s authentication, %zu %s from %s", path,
                    gbx_gw_auth_type(loc->auth), gbx_gw_auth_size(loc->auth),
                    loc->auth->type == AUTH_BEARER ? "tokens" : "users", loc->auth->path);
        }
    }
}

size_t gbx_gw_auth_reload_all(const gbx_gw_config *cfg) {
    size_t failed = 0;
    for (size_t i = 0; i < cfg->nlocations; i++) {
        gbx_gw_auth *auth = cfg->locations[i].own_auth;
        if (!auth) continue;
        if (gbx_gw_auth_reload(auth) != GBX_OK) {
            failed++;
            gbx_log(GBX_LOG_ERROR, "SIGHUP: %s kept its old entries: %s", auth->path,
                    gbx_error_last()->message);
        } else {
            gbx_log(GBX_LOG_INFO, "SIGHUP: %s reloaded (%zu %s)", auth->path, gbx_gw_auth_size(auth),
                    auth->type == AUTH_BEARER ? "tokens" : "users");
        }
    }
    return failed;
}
