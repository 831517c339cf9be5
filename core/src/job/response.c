/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* response.c - a handler's answer, its wire format between worker and
 * gateway, and the error body of DESIGN §3. */
#include "gearbox/response.h"

#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gearbox/json.h"

struct gbx_response {
    int code;
    json_t *headers; /* {name: value}, names as given */
    char *content;   /* NUL-terminated for convenience; may hold NULs */
    size_t content_len;
    char *status_uri; /* of the async job answered (job manager); NULL if none */
    struct gbx_status *status; /* a sync handler's local status (borrowed); NULL until made */
    gbx_response_status_fn make_status; /* makes it on the first gbx_response_status */
    void *make_status_user;
};

static gbx_err oom(void) { return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory"); }

/* ---- base64 (RFC 4648), for bodies that are not UTF-8 and therefore cannot
 * be JSON strings.  Library-internal: envelope.c uses it too. ---- */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Encodes data[0..len).  *out: malloc'ed, NUL-terminated. */
gbx_err gbx__base64_encode(char **out, const char *data, size_t len) {
    *out = NULL;
    if (len > (SIZE_MAX - 1) / 4 * 3 - 3) return oom();
    char *buf = malloc((len + 2) / 3 * 4 + 1);
    if (!buf) return oom();
    const unsigned char *in = (const unsigned char *)data;
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        buf[o++] = b64_alphabet[v >> 18];
        buf[o++] = b64_alphabet[(v >> 12) & 63];
        buf[o++] = b64_alphabet[(v >> 6) & 63];
        buf[o++] = b64_alphabet[v & 63];
    }
    if (i < len) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0);
        buf[o++] = b64_alphabet[v >> 18];
        buf[o++] = b64_alphabet[(v >> 12) & 63];
        buf[o++] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
        buf[o++] = '=';
    }
    buf[o] = '\0';
    *out = buf;
    return GBX_OK;
}

static int b64_value(char c) {
    const char *p = c ? strchr(b64_alphabet, c) : NULL;
    return p ? (int)(p - b64_alphabet) : -1;
}

/* Decodes canonical padded base64.  *out: malloc'ed (NUL-terminated), its
 * length in *out_len.  GBX_ERR_BAD_REQUEST for anything else. */
gbx_err gbx__base64_decode(char **out, size_t *out_len, const char *text, size_t len) {
    *out = NULL;
    *out_len = 0;
    if (len % 4 != 0) return gbx_error_set(GBX_ERR_BAD_REQUEST, "malformed base64: length %zu", len);
    char *buf = malloc(len / 4 * 3 + 1);
    if (!buf) return oom();
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            bool last_quad = i + 4 == len;
            if (text[i + k] == '=' && last_quad && k >= 2 && (k == 3 || text[i + 3] == '=')) {
                v[k] = 0;
                pad++;
            } else if ((v[k] = b64_value(text[i + k])) < 0) {
                free(buf);
                return gbx_error_set(GBX_ERR_BAD_REQUEST, "malformed base64 at offset %zu", i + k);
            }
        }
        unsigned bits = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | (unsigned)v[3];
        buf[o++] = (char)(bits >> 16);
        if (pad < 2) buf[o++] = (char)(bits >> 8);
        if (pad < 1) buf[o++] = (char)bits;
    }
    buf[o] = '\0';
    *out = buf;
    *out_len = o;
    return GBX_OK;
}

/* ---- the response ---- */

gbx_err gbx_response_new(gbx_response **out) {
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_response_new: out is NULL");
    *out = NULL;
    gbx_response *resp = calloc(1, sizeof *resp);
    if (!resp) return oom();
    resp->headers = json_object();
    resp->content = strdup("");
    if (!resp->headers || !resp->content) {
        gbx_response_free(resp);
        return oom();
    }
    *out = resp;
    return GBX_OK;
}

void gbx_response_free(gbx_response *resp) {
    if (!resp) return;
    json_decref(resp->headers);
    free(resp->content);
    free(resp->status_uri);
    free(resp);
}

gbx_err gbx_response_set_content(gbx_response *resp, const char *data, size_t len) {
    if (!resp) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_response_set_content: no response");
    if (!data && len) return gbx_error_set(GBX_ERR_BAD_REQUEST, "response content: NULL data");
    char *copy = malloc(len + 1);
    if (!copy) return oom();
    if (len) memcpy(copy, data, len);
    copy[len] = '\0';
    free(resp->content);
    resp->content = copy;
    resp->content_len = len;
    return GBX_OK;
}

const char *gbx_response_content(const gbx_response *resp, size_t *len) {
    if (len) *len = resp ? resp->content_len : 0;
    return resp ? resp->content : NULL;
}

/* RFC 9110 token characters. */
static bool is_header_name(const char *s) {
    if (!*s) return false;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("!#$%&'*+-.^_`|~", c)))
            return false;
    }
    return true;
}

/* Header values may not break the header block (no CR, LF). */
static bool is_header_value(const char *s) { return strpbrk(s, "\r\n") == NULL; }

/* Removes every header named `name` regardless of case. */
static void remove_header(json_t *headers, const char *name) {
    const char *key;
    json_t *value;
    void *tmp;
    json_object_foreach_safe(headers, tmp, key, value) {
        if (strcasecmp(key, name) == 0) json_object_del(headers, key);
    }
}

gbx_err gbx_response_add_header(gbx_response *resp, const char *name, const char *value) {
    if (!resp) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_response_add_header: no response");
    if (!name || !is_header_name(name))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "invalid header name \"%s\"", name ? name : "(null)");
    if (!value) value = "";
    if (!is_header_value(value))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "header %s: value contains CR or LF", name);
    json_t *jv = json_string(value);
    if (!jv) return gbx_error_set(GBX_ERR_BAD_REQUEST, "header %s: value is not valid UTF-8", name);
    remove_header(resp->headers, name);
    if (json_object_set_new(resp->headers, name, jv) != 0) return oom();
    return GBX_OK;
}

json_t *gbx_response_headers(const gbx_response *resp) { return resp ? resp->headers : NULL; }

void gbx_response_set_code(gbx_response *resp, int code) {
    if (resp) resp->code = code;
}

int gbx_response_code(const gbx_response *resp) { return resp ? resp->code : 0; }

gbx_err gbx_response_set_status_uri(gbx_response *resp, const char *uri) {
    if (!resp) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_response_set_status_uri: no response");
    char *copy = NULL;
    if (uri && !(copy = strdup(uri))) return oom();
    free(resp->status_uri);
    resp->status_uri = copy;
    return GBX_OK;
}

const char *gbx_response_status_uri(const gbx_response *resp) { return resp ? resp->status_uri : NULL; }

void gbx_response_set_status_maker(gbx_response *resp, gbx_response_status_fn make, void *user) {
    if (!resp) return;
    resp->status = NULL;
    resp->make_status = make;
    resp->make_status_user = user;
}

struct gbx_status *gbx_response_status(gbx_response *resp) {
    if (!resp) return NULL;
    if (!resp->status && resp->make_status) resp->status = resp->make_status(resp->make_status_user);
    return resp->status;
}

/* Adds `data` to `obj` as "content", base64-encoded with `encoding_key` set
 * to "base64" when it is not UTF-8 (JSON strings cannot hold such bytes). */
gbx_err gbx__json_set_content(json_t *obj, const char *encoding_key, const char *data, size_t len) {
    json_t *s = json_stringn(data ? data : "", len);
    if (s) {
        json_object_del(obj, encoding_key);
        return json_object_set_new(obj, "content", s) == 0 ? GBX_OK : oom();
    }
    char *b64;
    gbx_err rc = gbx__base64_encode(&b64, data, len);
    if (rc) return rc;
    s = json_string(b64);
    free(b64);
    if (!s || json_object_set_new(obj, "content", s) != 0 ||
        json_object_set_new(obj, encoding_key, json_string("base64")) != 0)
        return oom();
    return GBX_OK;
}

gbx_err gbx_response_serialize(char **out, const gbx_response *resp) {
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_response_serialize: out is NULL");
    *out = NULL;
    if (!resp) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_response_serialize: no response");
    json_t *wire = json_object();
    if (!wire) return oom();
    gbx_err rc = GBX_OK;
    if (json_object_set_new(wire, "code", json_integer(resp->code)) != 0 ||
        json_object_set(wire, "headers", resp->headers) != 0)
        rc = oom();
    if (!rc) rc = gbx__json_set_content(wire, "encoding", resp->content, resp->content_len);
    if (!rc) rc = gbx_json_dump(out, wire);
    json_decref(wire);
    return rc;
}

/* The content of a parsed wire object or envelope: "content" (a string,
 * absent = ""), decoded when `encoding_key` says "base64".  *out: malloc'ed. */
gbx_err gbx__json_get_content(char **out, size_t *out_len, const json_t *obj, const char *encoding_key) {
    *out = NULL;
    *out_len = 0;
    json_t *content = json_object_get(obj, "content");
    json_t *encoding = json_object_get(obj, encoding_key);
    if (content && !json_is_string(content))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "\"content\" is not a string");
    const char *text = content ? json_string_value(content) : "";
    size_t len = content ? json_string_length(content) : 0;
    if (encoding) {
        if (!json_is_string(encoding) || strcmp(json_string_value(encoding), "base64") != 0)
            return gbx_error_set(GBX_ERR_BAD_REQUEST, "\"%s\" must be \"base64\"", encoding_key);
        return gbx__base64_decode(out, out_len, text, len);
    }
    char *copy = malloc(len + 1);
    if (!copy) return oom();
    memcpy(copy, text, len);
    copy[len] = '\0';
    *out = copy;
    *out_len = len;
    return GBX_OK;
}

/* Every failure of gbx_response_parse is the worker's fault: 502. */
static gbx_err bad_reply(const char *why) {
    return gbx_error_set(GBX_ERR_BAD_GATEWAY, "malformed worker reply: %s", why);
}

gbx_err gbx_response_parse(gbx_response **out, const char *text, size_t len) {
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_response_parse: out is NULL");
    *out = NULL;
    json_t *wire;
    if (gbx_json_parse(&wire, text, len) != GBX_OK) {
        char why[1100];
        snprintf(why, sizeof why, "%s", gbx_error_last()->message);
        return bad_reply(why);
    }
    gbx_response *resp = NULL;
    gbx_err rc = GBX_OK;
    char why[1100] = "";
    json_t *code = json_object_get(wire, "code");
    json_t *headers = json_object_get(wire, "headers");
    if (!json_is_object(wire)) {
        snprintf(why, sizeof why, "not a JSON object");
    } else if (!json_is_integer(code)) {
        snprintf(why, sizeof why, "\"code\" is missing or not an integer");
    } else if (json_integer_value(code) != 0 &&
               (json_integer_value(code) < 100 || json_integer_value(code) > 599)) {
        snprintf(why, sizeof why, "\"code\" %lld is not 0 or an HTTP status",
                 (long long)json_integer_value(code));
    } else if (headers && !json_is_object(headers)) {
        snprintf(why, sizeof why, "\"headers\" is not an object");
    } else if ((rc = gbx_response_new(&resp)) == GBX_OK) {
        resp->code = (int)json_integer_value(code);
        const char *key;
        json_t *value;
        json_object_foreach(headers, key, value) {
            if (!json_is_string(value)) {
                snprintf(why, sizeof why, "header \"%s\" is not a string", key);
                break;
            }
            if (gbx_response_add_header(resp, key, json_string_value(value)) != GBX_OK) {
                snprintf(why, sizeof why, "%s", gbx_error_last()->message);
                break;
            }
        }
        if (!why[0]) {
            char *content;
            size_t content_len;
            if (gbx__json_get_content(&content, &content_len, wire, "encoding") != GBX_OK) {
                snprintf(why, sizeof why, "%s", gbx_error_last()->message);
            } else {
                free(resp->content);
                resp->content = content;
                resp->content_len = content_len;
            }
        }
    }
    json_decref(wire);
    if (rc || why[0]) {
        gbx_response_free(resp);
        return rc ? rc : bad_reply(why);
    }
    *out = resp;
    return GBX_OK;
}

/* Length of the well-formed UTF-8 sequence at s (at most `left` bytes), 0
 * if there is none. */
static size_t utf8_sequence(const unsigned char *s, size_t left) {
    size_t n;
    unsigned min;
    if (s[0] < 0x80) return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) n = 2, min = 0x80;
    else if (s[0] >= 0xe0 && s[0] <= 0xef) n = 3, min = 0x800;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4) n = 4, min = 0x10000;
    else return 0;
    if (left < n) return 0;
    unsigned cp = s[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return n;
}

/* A JSON string of `s` with every byte that is not part of well-formed UTF-8
 * replaced by U+FFFD: error texts quote client input, which may be anything. */
static json_t *lenient_string(const char *s) {
    if (!s) s = "";
    json_t *j = json_string(s);
    if (j) return j;
    size_t len = strlen(s);
    char *buf = malloc(len * 3 + 1);
    if (!buf) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_sequence((const unsigned char *)s + i, len - i);
        if (n) {
            memcpy(buf + o, s + i, n);
            o += n;
            i += n;
        } else {
            memcpy(buf + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    j = json_stringn(buf, o);
    free(buf);
    return j;
}

gbx_err gbx_error_body(json_t **out, const char *uri, const char *operation, int code,
                       const char *message) {
    if (!out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "gbx_error_body: out is NULL");
    *out = NULL;
    char *formatted = gbx_error_format(code, message);
    if (!formatted) return oom();
    json_t *body = json_pack("{s:o, s:i, s:s, s:o, s:i, s:[o]}", "uri", lenient_string(uri),
                             "progress", 100, "state", "COMPLETED", "operation",
                             lenient_string(operation), "code", code, "messages",
                             lenient_string(formatted));
    free(formatted);
    if (!body) return oom();
    *out = body;
    return GBX_OK;
}

int gbx_header_is_framing(const char *name) {
    static const char *const framing[] = {
        "Content-Length", "Transfer-Encoding", "Connection", "Host", "Keep-Alive",
        "Upgrade",        "TE",                "Trailer",
    };
    if (!name) return 0;
    for (size_t i = 0; i < sizeof framing / sizeof framing[0]; i++)
        if (strcasecmp(name, framing[i]) == 0) return 1;
    return 0;
}
