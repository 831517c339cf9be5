/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* http.c - the gearbox command's HTTP: one libcurl handle, reused (keep-alive),
 * requests that Ctrl-C aborts, JSON answers and Gearbox's error bodies. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "cli.h"

static CURL *handle;

static size_t on_body(char *data, size_t size, size_t n, void *user) {
    buf_add(user, data, size * n);
    return size * n;
}

static char *header_value(const char *line, size_t len, const char *name) {
    size_t nl = strlen(name);
    if (len <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':') return NULL;
    const char *v = line + nl + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
    return strndup(v, (size_t)(end - v));
}

static size_t on_header(char *data, size_t size, size_t n, void *user) {
    gbx_cli_response *r = user;
    char *v;
    if ((v = header_value(data, size * n, "Content-Type"))) free(r->content_type), r->content_type = v;
    if ((v = header_value(data, size * n, "Location"))) free(r->location), r->location = v;
    return size * n;
}

static int on_progress(void *user, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d) {
    (void)user, (void)a, (void)b, (void)c, (void)d;
    return gbx_cli_interrupted ? 1 : 0;
}

int gbx_cli_http(gbx_cli_response *resp, const char *method, const char *url, const char *body,
                 size_t body_len, const char *const *headers, double timeout) {
    memset(resp, 0, sizeof *resp);
    if (!handle) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        if (!(handle = curl_easy_init())) gbx_cli_die_oom();
    } else {
        curl_easy_reset(handle);
    }
    buf b = {0};
    buf_add(&b, "", 0);
    struct curl_slist *hl = curl_slist_append(NULL, "Accept: application/json");
    if (body) hl = curl_slist_append(hl, "Content-Type: application/json");
    for (size_t i = 0; headers && headers[i]; i++) hl = curl_slist_append(hl, headers[i]);
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(handle, CURLOPT_URL, url);
    curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0) curl_easy_setopt(handle, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(handle, CURLOPT_USERAGENT, "gearbox-cli");
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(handle, CURLOPT_HEADERDATA, resp);
    curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, (long)((timeout > 0 ? timeout : 60) * 1000));
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode cc = curl_easy_perform(handle);
    curl_slist_free_all(hl);
    resp->body = b.s;
    resp->len = b.len;
    if (cc != CURLE_OK) {
        gbx_cli_response_free(resp);
        resp->error = gbx_cli_interrupted ? "interrupted" : curl_easy_strerror(cc);
        return gbx_cli_interrupted ? GBX_CLI_INTERRUPTED : GBX_CLI_UNREACHABLE;
    }
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &resp->code);
    return GBX_CLI_OK;
}

void gbx_cli_response_free(gbx_cli_response *resp) {
    const char *error = resp->error;
    free(resp->body);
    free(resp->content_type);
    free(resp->location);
    memset(resp, 0, sizeof *resp);
    resp->error = error;
}

void gbx_cli_http_cleanup(void) {
    if (handle) {
        curl_easy_cleanup(handle);
        curl_global_cleanup();
        handle = NULL;
    }
}

bool gbx_cli_check_url(const char *url) {
    if ((strncmp(url, "http://", 7) == 0 && url[7]) || (strncmp(url, "https://", 8) == 0 && url[8])) return true;
    gbx_cli_fail(0, "\"%s\" is not an http:// or https:// URL", url);
    return false;
}

/* The messages of a Gearbox error body, joined ("NOT_FOUND [404]: ..."). */
char *gbx_cli_error_text(const json_t *body, const char *raw) {
    buf b = {0};
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(body, "messages"), i, m) {
        if (json_is_string(m)) buf_printf(&b, "%s%s", b.len ? "; " : "", json_string_value(m));
    }
    if (!b.len && json_is_string(json_object_get(body, "detail")))
        buf_printf(&b, "%s", json_string_value(json_object_get(body, "detail")));
    if (!b.len) buf_printf(&b, "%.200s", raw && *raw ? raw : "(no body)");
    return b.s;
}

int gbx_cli_fetch_json(json_t **out, long *http_code, const char *method, const char *url, const char *body,
                       bool quiet, char **why) {
    *out = NULL;
    if (http_code) *http_code = 0;
    if (why) *why = NULL;
    gbx_cli_response r;
    int rc = gbx_cli_http(&r, method, url, body, body ? strlen(body) : 0, NULL, 0);
    if (rc != GBX_CLI_OK) {
        if (!quiet && rc != GBX_CLI_INTERRUPTED) gbx_cli_fail(0, "no answer from %s: %s", url, r.error);
        if (why) *why = strdup(r.error);
        return rc;
    }
    if (http_code) *http_code = r.code;
    long status = r.code;
    json_error_t err;
    json_t *doc = json_loadb(r.body, r.len, JSON_DECODE_ANY, &err);
    if (r.code >= 400) {
        char *text = gbx_cli_error_text(doc, r.body);
        if (!quiet) gbx_cli_fail(0, "%ld from %s: %s", r.code, url, text);
        if (why) {
            buf b = {0};
            buf_printf(&b, "%ld: %s", r.code, text);
            *why = b.s;
        }
        free(text);
        long code = json_integer_value(json_object_get(doc, "code"));
        *out = json_is_object(doc) ? doc : (json_decref(doc), NULL);
        gbx_cli_response_free(&r);
        return gbx_cli_exit_for_code(code >= 400 ? code : status);
    }
    if (!json_is_object(doc)) {
        if (!quiet) gbx_cli_fail(0, "%ld from %s is not a JSON object: %.200s", r.code, url, r.body);
        if (why) *why = strdup("the answer is not a JSON object");
        json_decref(doc);
        gbx_cli_response_free(&r);
        return GBX_CLI_PROTOCOL;
    }
    *out = doc;
    gbx_cli_response_free(&r);
    return GBX_CLI_OK;
}
