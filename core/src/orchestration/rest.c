/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* rest.c - REST jobs and remote statuses over HTTP, through one libcurl
 * easy handle per thread.
 *
 * A REST job sends the job's content as the body (except for GET, HEAD and
 * DELETE), its own headers, and the current job's request headers (without
 * the framing ones, Host, Content-Length, Content-Type, Accept-Encoding,
 * Expect, Idempotency-Key and the conditional If-* headers, which belong to
 * that one request), plus Gearbox-Parent-Uri: <current status_uri> and the
 * job's W3C traceparent/tracestate (the next hop of the current job's
 * trace, made by the job manager; not the request's own).  A body
 * goes as application/json unless the job's headers say otherwise.  The
 * query_params of the job are appended to the URI.  Redirects are not
 * followed; any HTTP answer is the job's response (framing headers and
 * Content-Encoding dropped: curl decodes the body).
 *
 * Where requests may go: REST jobs and remote-status fetches reach only the
 * job's own gateway (the origins of the current job's base_uri, of the
 * current status's status_uri, of the status that fired an event job and
 * of the job manager's base URI, which the gateway builds from its
 * public_url or a checked Host header) and the
 * hosts of jobs.rest_hosts, so that what a client sends cannot steer a
 * worker's requests elsewhere.  https certificates are always verified,
 * against jobs.rest_ca_file when it is set (else the system's CAs).
 */
#include "orchestration/rest_internal.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "gearbox/envelope.h"
#include "gearbox/json.h"
#include "gearbox/log.h"
#include "gearbox/uri.h"

/* Largest answer body kept. */
#define MAX_BODY (64u << 20)
#define PARENT_HEADER "Gearbox-Parent-Uri"

static gbx_err oom(void) { return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory"); }

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void curl_init_once(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

gbx_err gbx__jm_curl_init(void) {
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK)
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "curl_global_init failed: %s",
                             curl_easy_strerror(curl_init_rc));
    return GBX_OK;
}

void gbx__jm_thread_close_curl(gbx__jm_thread *t) {
    if (!t || !t->curl) return;
    curl_easy_cleanup(t->curl);
    t->curl = NULL;
}

/* ---- one exchange ------------------------------------------------------------ */

typedef struct exchange {
    char *body;
    size_t len;
    bool too_large;
    json_t *headers; /* {name: value} of the final answer */
} exchange;

static size_t on_body(char *data, size_t size, size_t nmemb, void *user) {
    exchange *x = user;
    size_t n = size * nmemb;
    if (x->len + n > MAX_BODY) {
        x->too_large = true;
        return 0;
    }
    char *p = realloc(x->body, x->len + n + 1);
    if (!p) return 0;
    memcpy(p + x->len, data, n);
    x->body = p;
    x->len += n;
    p[x->len] = '\0';
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *user) {
    exchange *x = user;
    size_t n = size * nmemb;
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        json_object_clear(x->headers); /* a new answer (after 100 Continue) */
        return n;
    }
    const char *colon = memchr(data, ':', n);
    if (!colon) return n;
    size_t klen = (size_t)(colon - data);
    const char *v = colon + 1, *end = data + n;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t')) end--;
    char *key = strndup(data, klen);
    json_t *value = json_stringn(v, (size_t)(end - v));
    if (key && value) json_object_set_new(x->headers, key, value);
    else json_decref(value);
    free(key);
    return n;
}

/* ---- where requests may go -------------------------------------------------- */

/* A URL's origin as "scheme://host:port" (lower case, the port always
 * written); false when it is not an http(s) URL with a plain host (no user
 * part). */
static bool origin_of(char *out, size_t len, const char *url) {
    if (!url) return false;
    const char *scheme = NULL, *rest = NULL;
    if (strncasecmp(url, "https://", 8) == 0) scheme = "https", rest = url + 8;
    else if (strncasecmp(url, "http://", 7) == 0) scheme = "http", rest = url + 7;
    if (!rest) return false;
    size_t alen = strcspn(rest, "/?#");
    if (alen == 0 || memchr(rest, '@', alen) || memchr(rest, '\\', alen)) return false;
    const char *close = rest[0] == '[' ? memchr(rest, ']', alen) : NULL;
    const char *colon = memchr(close ? close : rest, ':', alen - (size_t)((close ? close : rest) - rest));
    size_t hlen = colon ? (size_t)(colon - rest) : alen;
    const char *port = colon ? colon + 1 : strcmp(scheme, "https") == 0 ? "443" : "80";
    size_t plen = colon ? alen - hlen - 1 : strlen(port);
    if (hlen == 0 || plen == 0 || plen > 5 || (rest[0] == '[' && !close)) return false;
    for (size_t i = 0; i < plen; i++)
        if (!isdigit((unsigned char)port[i])) return false;
    int n = snprintf(out, len, "%s://%.*s:%.*s", scheme, (int)hlen, rest, (int)plen, port);
    if (n < 0 || (size_t)n >= len) return false;
    for (char *p = out; *p; p++) *p = (char)tolower((unsigned char)*p);
    return true;
}

/* True when `origin` ("scheme://host:port") is allowed by a jobs.rest_hosts
 * entry: "*" (anything), an origin ("https://api.example.com[:port]"), or a
 * host with an optional port ("api.example.com", "*.example.com:8443"). */
static bool entry_allows(const char *entry, const char *origin) {
    if (strcmp(entry, "*") == 0) return true;
    char want[300];
    if (strstr(entry, "://")) return origin_of(want, sizeof want, entry) && strcmp(want, origin) == 0;
    const char *host = strstr(origin, "://") + 3;
    const char *port = strrchr(host, ':');
    size_t hlen = (size_t)(port - host);
    size_t elen = strlen(entry);
    const char *eport = entry[0] == '[' ? strstr(entry, "]:") : strchr(entry, ':');
    if (eport) {
        if (entry[0] == '[') eport++;
        if (strcmp(eport + 1, port + 1) != 0) return false;
        elen = (size_t)(eport - entry);
    }
    if (elen > 2 && entry[0] == '*' && entry[1] == '.')
        return hlen > elen - 1 && strncasecmp(host + hlen - (elen - 1), entry + 1, elen - 1) == 0;
    return hlen == elen && strncasecmp(host, entry, elen) == 0;
}

/* GBX_OK when `url` may be requested (see the top of the file), else
 * GBX_ERR_FORBIDDEN naming the host and the setting.  `trusted` (may be
 * NULL): one more URI of the job's own gateway (an event job's
 * event_status, which the job manager wrote). */
static gbx_err check_destination(gbx_jobmanager *jm, const char *method, const char *url,
                                 const char *trusted) {
    char origin[300], own[300];
    if (!origin_of(origin, sizeof origin, url))
        return gbx_error_set(GBX_ERR_FORBIDDEN, "%s %s: not an http(s) URL with a plain host", method, url);
    if (origin_of(own, sizeof own, trusted) && strcmp(own, origin) == 0) return GBX_OK;
    gbx_job *current = gbx_jobmanager_current(jm);
    if (current && origin_of(own, sizeof own, gbx_job_base_uri(current)) && strcmp(own, origin) == 0)
        return GBX_OK;
    gbx_status *st = NULL;
    bool owned = false, same = false;
    if (gbx__jm_current_status(&st, &owned, jm) == GBX_OK && st)
        same = origin_of(own, sizeof own, gbx_status_status_uri(st)) && strcmp(own, origin) == 0;
    else
        gbx_error_clear();
    if (owned) gbx_status_free(st);
    if (same) return GBX_OK;
    pthread_mutex_lock(&jm->lock);
    same = origin_of(own, sizeof own, jm->base_uri) && strcmp(own, origin) == 0;
    pthread_mutex_unlock(&jm->lock);
    if (same) return GBX_OK;
    json_t *hosts = jm->cfg ? gbx_config_get(jm->cfg, "jobs.rest_hosts") : NULL;
    size_t i;
    json_t *h;
    json_array_foreach(hosts, i, h) {
        if (json_is_string(h) && entry_allows(json_string_value(h), origin)) return GBX_OK;
    }
    return gbx_error_set(GBX_ERR_FORBIDDEN,
                         "%s %s: %s is not this job's gateway nor in jobs.rest_hosts", method, url, origin);
}

static CURL *curl_for_thread(gbx_jobmanager *jm) {
    gbx__jm_thread *t = gbx__jm_thread_get(jm, true);
    if (!t) return NULL;
    if (!t->curl) {
        t->curl = curl_easy_init();
        if (!t->curl) {
            gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "curl_easy_init failed");
            return NULL;
        }
    } else {
        curl_easy_reset(t->curl);
    }
    return t->curl;
}

/* Sends one request.  *code: the HTTP status; x: headers and body. */
static gbx_err perform(long *code, exchange *x, gbx_jobmanager *jm, const char *method,
                       const char *url, struct curl_slist *headers, const char *data, size_t dlen) {
    *code = 0;
    CURL *c = curl_for_thread(jm);
    if (!c) return gbx_error_last()->code ? gbx_error_last()->code : GBX_ERR_INTERNAL_SERVER_ERROR;
    long timeout_ms = (long)(jm->rest_timeout * 1000 + 0.5);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    const char *ca = jm->cfg ? gbx_config_get_string(jm->cfg, "jobs.rest_ca_file", NULL) : NULL;
    char *ca_path = NULL;
    if (ca && gbx_config_get_path(&ca_path, jm->cfg, "jobs.rest_ca_file", NULL) == GBX_OK && ca_path)
        curl_easy_setopt(c, CURLOPT_CAINFO, ca_path);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)dlen);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, data ? data : "");
        if (strcmp(method, "PUT") == 0) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
    } else if (strcmp(method, "DELETE") == 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    CURLcode rc = curl_easy_perform(c);
    free(ca_path); /* curl keeps its own copy */
    if (rc != CURLE_OK) {
        gbx__jm_thread_close_curl(gbx__jm_thread_get(jm, false)); /* no half-used connection */
        if (x->too_large)
            return gbx_error_set(GBX_ERR_BAD_GATEWAY, "%s %s: answer larger than %u bytes", method, url,
                                 MAX_BODY);
        if (rc == CURLE_OPERATION_TIMEDOUT)
            return gbx_error_set(GBX_ERR_GATEWAY_TIMEOUT, "%s %s: no answer within %g s", method, url,
                                 jm->rest_timeout);
        return gbx_error_set(GBX_ERR_BAD_GATEWAY, "%s %s: %s", method, url, curl_easy_strerror(rc));
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
    return GBX_OK;
}

static gbx_err add_header(struct curl_slist **list, const char *name, const char *value) {
    size_t n = strlen(name) + strlen(value) + 3;
    char *line = malloc(n);
    if (!line) return oom();
    /* "Name;" is curl's way to send a header with an empty value. */
    if (*value) snprintf(line, n, "%s: %s", name, value);
    else snprintf(line, n, "%s;", name);
    struct curl_slist *l = curl_slist_append(*list, line);
    free(line);
    if (!l) return oom();
    *list = l;
    return GBX_OK;
}

/* Header names a REST job does not pass on from the current request. */
static bool not_forwarded(const char *name) {
    static const char *const names[] = {"Content-Length", "Accept-Encoding", "Expect", "Idempotency-Key",
                                        PARENT_HEADER,    "Content-Type",    "traceparent",
                                        "tracestate"};
    if (gbx_header_is_framing(name)) return true;
    if (strncasecmp(name, "If-", 3) == 0) return true;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i]) == 0) return true;
    return false;
}

/* The value of a header, whatever the case of its name; NULL if absent. */
static json_t *find_header(const json_t *headers, const char *name) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)headers, k, v) {
        if (strcasecmp(k, name) == 0) return v;
    }
    return NULL;
}

static bool has_header(const json_t *headers, const char *name) {
    return find_header(headers, name) != NULL;
}

/* uri + "?k=v&..." of the job's query_params (percent-encoded). */
static gbx_err with_query(char **out, const char *uri, const json_t *params) {
    *out = NULL;
    size_t cap = strlen(uri) + 1, len = 0;
    char *s = malloc(cap);
    if (!s) return oom();
    memcpy(s, uri, cap);
    len = cap - 1;
    bool first = strchr(uri, '?') == NULL;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)params, k, v) {
        char *ek = NULL, *ev = NULL;
        if (gbx_uri_encode(&ek, k) != GBX_OK || gbx_uri_encode(&ev, json_string_value(v) ? json_string_value(v) : "") != GBX_OK) {
            free(ek);
            free(s);
            return GBX_ERR_INTERNAL_SERVER_ERROR;
        }
        size_t need = len + strlen(ek) + strlen(ev) + 3;
        char *ns = realloc(s, need);
        if (!ns) {
            free(ek);
            free(ev);
            free(s);
            return oom();
        }
        s = ns;
        len += (size_t)snprintf(s + len, need - len, "%c%s=%s", first ? '?' : '&', ek, ev);
        first = false;
        free(ek);
        free(ev);
    }
    *out = s;
    return GBX_OK;
}

gbx_err gbx__jm_rest_run(gbx_response **out, gbx_jobmanager *jm, gbx_job *job) {
    if (out) *out = NULL;
    const char *method = gbx__jm_method_name(gbx_job_rest_method(job));
    const char *uri = gbx_job_rest_uri(job);
    if (!method || !uri)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "REST job without a method or URI");
    gbx_job *current = gbx_jobmanager_current(jm);
    gbx_status *parent = NULL;
    bool owned = false;
    gbx_err err = gbx__jm_current_status(&parent, &owned, jm);
    if (err != GBX_OK) return err;
    const char *parent_uri = parent ? gbx_status_status_uri(parent) : NULL;
    json_t *own = gbx_job_headers(job);

    struct curl_slist *headers = NULL;
    char *url = NULL;
    gbx_response *resp = NULL;
    exchange x = {.headers = json_object()};
    long code = 0;
    if (!x.headers) err = oom();
    if (err == GBX_OK) err = with_query(&url, uri, gbx_job_query_params(job));
    /* The job's own headers win over the forwarded ones. */
    const char *k;
    json_t *v;
    json_object_foreach(own, k, v) {
        if (err == GBX_OK && json_is_string(v) && !gbx_header_is_framing(k) &&
            strcasecmp(k, "Content-Length") != 0)
            err = add_header(&headers, k, json_string_value(v));
    }
    if (current) {
        json_object_foreach(gbx_job_headers(current), k, v) {
            if (err == GBX_OK && json_is_string(v) && !not_forwarded(k) && !has_header(own, k))
                err = add_header(&headers, k, json_string_value(v));
        }
    }
    if (err == GBX_OK && parent_uri && !has_header(own, PARENT_HEADER))
        err = add_header(&headers, PARENT_HEADER, parent_uri);
    static const char *const trace_fields[] = {"traceparent", "tracestate"};
    for (size_t i = 0; i < sizeof trace_fields / sizeof trace_fields[0]; i++) {
        const char *value = gbx_envelope_get(gbx_job_envelope(job), trace_fields[i]);
        if (err == GBX_OK && value && !has_header(own, trace_fields[i]))
            err = add_header(&headers, trace_fields[i], value);
    }
    size_t dlen = 0;
    const char *data = NULL;
    bool with_body = strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0;
    if (with_body) {
        data = gbx_job_content(job, &dlen);
        if (err == GBX_OK && !has_header(own, "Content-Type"))
            err = add_header(&headers, "Content-Type", "application/json");
        /* "Expect:" (no value) is curl's way to leave out the Expect header
         * it would add: no 100-continue round trip, and the remote worker
         * sees no "expect" header Gearbox's HttpClient never sent. */
        if (err == GBX_OK) {
            struct curl_slist *l = curl_slist_append(headers, "Expect:");
            if (l) headers = l;
            else err = oom();
        }
    }
    if (err == GBX_OK)
        err = check_destination(jm, method, url, gbx_envelope_get(gbx_job_envelope(job), "event_status"));
    if (err == GBX_OK) {
        gbx_log(GBX_LOG_DEBUG, "REST %s %s", method, url);
        err = perform(&code, &x, jm, method, url, headers, data, dlen);
    }
    if (err == GBX_OK) err = gbx_response_new(&resp);
    if (err == GBX_OK) {
        gbx_response_set_code(resp, (int)code);
        err = gbx_response_set_content(resp, x.body ? x.body : "", x.len);
        json_object_foreach(x.headers, k, v) {
            if (err != GBX_OK) break;
            if (gbx_header_is_framing(k) || strcasecmp(k, "Content-Encoding") == 0) continue;
            if (gbx_response_add_header(resp, k, json_string_value(v)) != GBX_OK) gbx_error_clear();
        }
    }
    if (err == GBX_OK && code == 202) {
        /* The remote job's status becomes a child of the current status. */
        json_t *body = NULL;
        const char *suri = NULL;
        if (x.len && gbx_json_parse(&body, x.body, x.len) == GBX_OK)
            suri = json_string_value(json_object_get(body, "status_uri"));
        if (!suri) suri = json_string_value(find_header(x.headers, "Location"));
        gbx_error_clear();
        if (suri) {
            err = gbx_response_set_status_uri(resp, suri);
            if (err == GBX_OK && parent) err = gbx_status_add_child(parent, suri);
        } else {
            gbx_log(GBX_LOG_WARN, "REST %s %s: 202 without a status_uri", method, url);
        }
        json_decref(body);
    }
    curl_slist_free_all(headers);
    json_decref(x.headers);
    free(x.body);
    free(url);
    if (owned) gbx_status_free(parent);
    return gbx__jm_hand_over(out, resp, err);
}

gbx_err gbx__jm_fetch_status(void *user, const char *status_uri, json_t **out) {
    *out = NULL;
    gbx_jobmanager *jm = user;
    struct curl_slist *headers = NULL;
    exchange x = {.headers = json_object()};
    long code = 0;
    gbx_err err = x.headers ? add_header(&headers, "Accept", "application/json") : oom();
    if (err == GBX_OK) err = check_destination(jm, "GET", status_uri, NULL);
    if (err == GBX_OK) err = perform(&code, &x, jm, "GET", status_uri, headers, NULL, 0);
    json_t *obj = NULL;
    if (err == GBX_OK && code == 200) {
        if (gbx_json_parse(&obj, x.body ? x.body : "", x.len) != GBX_OK || !json_is_object(obj) ||
            !json_is_string(json_object_get(obj, "status_uri"))) {
            json_decref(obj);
            obj = NULL;
            err = gbx_error_set(GBX_ERR_BAD_GATEWAY, "GET %s: the answer is not a status object", status_uri);
        }
    } else if (err == GBX_OK) {
        /* The message of an error body, else the start of the body. */
        char message[512] = "";
        json_t *body = NULL;
        if (x.len && gbx_json_parse(&body, x.body, x.len) == GBX_OK) {
            json_t *m = json_object_get(body, "messages");
            const char *s = json_string_value(json_array_get(m, json_array_size(m) - 1));
            if (s) snprintf(message, sizeof message, "%s", s);
        }
        json_decref(body);
        if (!message[0] && x.len) snprintf(message, sizeof message, "%.200s", x.body);
        if (code == 404)
            err = gbx_error_set(GBX_ERR_NOT_FOUND, "status \"%s\" not found", status_uri);
        else
            err = gbx_error_set(code >= 300 && code <= 599 ? (gbx_err)code : GBX_ERR_BAD_GATEWAY,
                                "GET %s: HTTP %ld%s%s", status_uri, code, message[0] ? ": " : "", message);
    }
    curl_slist_free_all(headers);
    json_decref(x.headers);
    free(x.body);
    if (err == GBX_OK) *out = obj;
    return err;
}
