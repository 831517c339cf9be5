/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_callback.c - signed completion callbacks (see gw_callback.h). */
#include "gw_callback.h"

#include <curl/curl.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gearbox/log.h"
#include "gearbox/status.h"
#include "gw_config.h"
#include "gw_util.h"

#define URL_MAX 2048
#define SECRET_MIN 16
#define SECRET_MAX 4096
#define ATTEMPTS_KEPT 100 /* meta.callback.attempts keeps the latest ones */
#define CLAIM_SLACK_S 10.0 /* a claim lasts one attempt's timeout and this */
#define POLL_S 1.0        /* seconds between two looks when nothing was due */

typedef struct allowed_origin {
    char *scheme; /* "https" / "http"; NULL: https only (a bare host entry) */
    char *host;   /* as curl parses it: lower-cased below, [..] kept for IPv6 */
    long port;    /* 0: any */
} allowed_origin;

struct gbx_gw_callback_location {
    allowed_origin *hosts;
    size_t nhosts;
    char *secret;
    size_t secret_len;
};

struct gbx_gw_callback_settings {
    double timeout, retry_base, retry_cap, give_up_after;
    char *ca_file; /* NULL: the system's CAs */
};

struct gbx_gw_callbacks {
    const gbx_gw_config *cfg;
    gbx_store *store;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
    bool stopping;
};

/* ---- configuration ---------------------------------------------------- */

int gbx_gw_callback_location_key(const char *key) {
    return strcmp(key, "callback_hosts") == 0 || strcmp(key, "callback_secret") == 0 ||
           strcmp(key, "callback_secret_file") == 0;
}

static gbx_err oom(void) { return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory"); }

static void lower(char *s) {
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z') *s = (char)(*s - 'A' + 'a');
}

/* Scheme, host and port of an absolute http(s) URL (through curl's parser,
 * the one that will send to it).  *scheme / *host malloc'ed (curl_free). */
static bool parse_origin(const char *url, char **scheme, char **host, long *port, bool *has_port,
                         bool *has_user, char **path) {
    *scheme = *host = NULL;
    if (path) *path = NULL;
    CURLU *u = curl_url();
    if (!u) return false;
    bool ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_SCHEME, scheme, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, host, 0) == CURLUE_OK && *host && **host;
    char *p = NULL, *user = NULL;
    *has_port = ok && curl_url_get(u, CURLUPART_PORT, &p, 0) == CURLUE_OK;
    if (*has_port) *port = strtol(p, NULL, 10);
    curl_free(p);
    p = NULL;
    if (ok && curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK && !*has_port)
        *port = strtol(p, NULL, 10);
    curl_free(p);
    *has_user = ok && curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK;
    curl_free(user);
    if (ok && path && curl_url_get(u, CURLUPART_PATH, path, 0) != CURLUE_OK) ok = false;
    curl_url_cleanup(u);
    if (ok) {
        lower(*scheme);
        lower(*host);
        ok = strcmp(*scheme, "http") == 0 || strcmp(*scheme, "https") == 0;
    }
    if (!ok) {
        curl_free(*scheme);
        curl_free(*host);
        if (path) curl_free(*path);
        *scheme = *host = NULL;
        if (path) *path = NULL;
    }
    return ok;
}

void gbx_gw_callback_location_free(gbx_gw_callback_location *loc) {
    if (!loc) return;
    for (size_t i = 0; i < loc->nhosts; i++) {
        free(loc->hosts[i].scheme);
        free(loc->hosts[i].host);
    }
    free(loc->hosts);
    if (loc->secret) {
        memset(loc->secret, 0, loc->secret_len);
        free(loc->secret);
    }
    free(loc);
}

static gbx_err load_hosts(gbx_gw_callback_location *cb, const json_t *hosts, const char *where) {
    if (!json_is_array(hosts) || json_array_size(hosts) == 0)
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "%s: \"callback_hosts\" must be a non-empty array of host names", where);
    cb->hosts = calloc(json_array_size(hosts), sizeof *cb->hosts);
    if (!cb->hosts) return oom();
    size_t i;
    json_t *h;
    json_array_foreach(hosts, i, h) {
        const char *entry = json_string_value(h);
        if (!entry || !*entry || strlen(entry) > 300)
            return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s: callback_hosts[%zu] must be a host name",
                                 where, i);
        bool with_scheme = strstr(entry, "://") != NULL;
        char url[320];
        snprintf(url, sizeof url, "%s%s", with_scheme ? "" : "https://", entry);
        char *scheme, *host, *path;
        long port = 0;
        bool has_port, has_user;
        if (!parse_origin(url, &scheme, &host, &port, &has_port, &has_user, &path) || has_user ||
            strcmp(path, "/") != 0) {
            bool parsed = scheme != NULL;
            if (parsed) {
                curl_free(scheme);
                curl_free(host);
                curl_free(path);
            }
            return gbx_error_set(GBX_ERR_BAD_REQUEST,
                                 "%s: callback_hosts[%zu] \"%s\" is not a host[:port] or an "
                                 "http(s)://host[:port] origin",
                                 where, i, entry);
        }
        allowed_origin *o = &cb->hosts[cb->nhosts++];
        o->scheme = with_scheme ? strdup(scheme) : NULL;
        o->host = strdup(host);
        o->port = has_port ? port : 0;
        curl_free(scheme);
        curl_free(host);
        curl_free(path);
        if (!o->host || (with_scheme && !o->scheme)) return oom();
    }
    return GBX_OK;
}

/* The secret file: its content without trailing white space. */
static gbx_err read_secret_file(gbx_gw_callback_location *cb, const char *file, const char *base_dir,
                                const char *where) {
    char path[4096];
    if (file[0] == '/' || !base_dir) snprintf(path, sizeof path, "%s", file);
    else snprintf(path, sizeof path, "%s/%s", base_dir, file);
    FILE *f = fopen(path, "rb");
    if (!f)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s: cannot read callback_secret_file %s: %s", where,
                             path, strerror(errno));
    char *buf = calloc(1, SECRET_MAX + 2);
    size_t n = buf ? fread(buf, 1, SECRET_MAX + 1, f) : 0;
    fclose(f);
    if (!buf) return oom();
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
        buf[--n] = '\0';
    cb->secret = buf;
    cb->secret_len = n;
    if (n > SECRET_MAX || memchr(buf, '\0', n))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s: callback_secret_file %s must hold at most %d "
                             "bytes of text", where, path, SECRET_MAX);
    return GBX_OK;
}

gbx_err gbx_gw_callback_location_load(gbx_gw_callback_location **out, const json_t *spec,
                                      const char *base_dir, const char *where) {
    *out = NULL;
    const json_t *hosts = json_object_get(spec, "callback_hosts");
    const json_t *secret = json_object_get(spec, "callback_secret");
    const json_t *file = json_object_get(spec, "callback_secret_file");
    if (!hosts && !secret && !file) return GBX_OK;
    if (!hosts)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s: a callback secret without \"callback_hosts\" "
                             "(the hosts callbacks may go to)", where);
    if (!secret == !file)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "%s: \"callback_hosts\" needs exactly one of "
                             "\"callback_secret\" and \"callback_secret_file\"", where);
    gbx_gw_callback_location *cb = calloc(1, sizeof *cb);
    if (!cb) return oom();
    gbx_err e = load_hosts(cb, hosts, where);
    if (e == GBX_OK && secret) {
        if (!json_is_string(secret)) {
            e = gbx_error_set(GBX_ERR_BAD_REQUEST, "%s: \"callback_secret\" must be a string "
                              "(\"${VAR}\" reads it from the environment)", where);
        } else if (!(cb->secret = strdup(json_string_value(secret)))) {
            e = oom();
        } else {
            cb->secret_len = strlen(cb->secret);
        }
    } else if (e == GBX_OK) {
        e = json_is_string(file) ? read_secret_file(cb, json_string_value(file), base_dir, where)
                                 : gbx_error_set(GBX_ERR_BAD_REQUEST,
                                                 "%s: \"callback_secret_file\" must be a path", where);
    }
    if (e == GBX_OK && cb->secret_len < SECRET_MIN)
        e = gbx_error_set(GBX_ERR_BAD_REQUEST, "%s: the callback secret must be at least %d bytes",
                          where, SECRET_MIN);
    if (e != GBX_OK) {
        gbx_gw_callback_location_free(cb);
        return e;
    }
    *out = cb;
    return GBX_OK;
}

void gbx_gw_callback_settings_free(gbx_gw_callback_settings *s) {
    if (!s) return;
    free(s->ca_file);
    free(s);
}

static gbx_err seconds(double *out, const json_t *section, const char *key, double dflt, double min,
                       double max) {
    const json_t *v = json_object_get(section, key);
    *out = dflt;
    if (!v) return GBX_OK;
    if (!json_is_number(v) || json_number_value(v) < min || json_number_value(v) > max)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "\"callbacks.%s\" must be seconds from %g to %g",
                             key, min, max);
    *out = json_number_value(v);
    return GBX_OK;
}

gbx_err gbx_gw_callback_settings_load(gbx_gw_callback_settings **out, const gbx_config *cfg) {
    *out = NULL;
    const json_t *section = gbx_config_get(cfg, "callbacks");
    if (section && !json_is_object(section))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "\"callbacks\" must be an object");
    static const char *const known[] = {"timeout", "retry_base", "retry_cap", "give_up_after", "ca_file"};
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)section, key, val) {
        bool ok = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) ok = ok || strcmp(key, known[i]) == 0;
        if (!ok) return gbx_error_set(GBX_ERR_BAD_REQUEST, "\"callbacks\": unknown key \"%s\"", key);
    }
    gbx_gw_callback_settings *s = calloc(1, sizeof *s);
    if (!s) return oom();
    gbx_err e = seconds(&s->timeout, section, "timeout", 10, 0.1, 300);
    if (e == GBX_OK) e = seconds(&s->retry_base, section, "retry_base", 1, 0.05, 3600);
    if (e == GBX_OK) e = seconds(&s->retry_cap, section, "retry_cap", 3600, 0.05, 86400);
    if (e == GBX_OK) e = seconds(&s->give_up_after, section, "give_up_after", 86400, 0, 30 * 86400);
    const json_t *ca = json_object_get(section, "ca_file");
    if (e == GBX_OK && ca && !json_is_null(ca)) {
        if (!json_is_string(ca) ||
            gbx_config_get_path(&s->ca_file, cfg, "callbacks.ca_file", NULL) != GBX_OK)
            e = gbx_error_set(GBX_ERR_BAD_REQUEST, "\"callbacks.ca_file\" must be a path");
    }
    if (e != GBX_OK) {
        gbx_gw_callback_settings_free(s);
        return e;
    }
    *out = s;
    return GBX_OK;
}

/* ---- at request time -------------------------------------------------- */

/* The location whose callback settings apply: its own, or its parent's. */
static const gbx_gw_location *settings_owner(const gbx_gw_location *loc) {
    if (loc->callback) return loc;
    if (loc->parent && loc->parent->callback) return loc->parent;
    return NULL;
}

static bool allowed(const gbx_gw_callback_location *cb, const char *scheme, const char *host, long port) {
    for (size_t i = 0; i < cb->nhosts; i++) {
        const allowed_origin *o = &cb->hosts[i];
        if (strcmp(o->scheme ? o->scheme : "https", scheme) != 0) continue;
        if (strcmp(o->host, host) != 0) continue;
        if (o->port && o->port != port) continue;
        return true;
    }
    return false;
}

gbx_err gbx_gw_callback_check(const char **url, const char **location, const gbx_gw_location *loc,
                              const char *header) {
    *url = *location = NULL;
    if (!header) return GBX_OK;
    const gbx_gw_location *owner = settings_owner(loc);
    if (!owner)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, GBX_GW_CALLBACK_HEADER
                             ": this location sends no callbacks (no callback_hosts configured)");
    size_t len = strlen(header);
    bool printable = len > 0 && len <= URL_MAX;
    for (size_t i = 0; printable && i < len; i++)
        printable = (unsigned char)header[i] > 0x20 && (unsigned char)header[i] < 0x7f;
    char *scheme = NULL, *host = NULL;
    long port = 0;
    bool has_port, has_user;
    bool ok = printable && (strncasecmp(header, "http://", 7) == 0 || strncasecmp(header, "https://", 8) == 0) &&
              parse_origin(header, &scheme, &host, &port, &has_port, &has_user, NULL);
    if (!ok)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, GBX_GW_CALLBACK_HEADER
                             " must be an absolute http(s) URL of at most %d characters", URL_MAX);
    bool permitted = !has_user && allowed(owner->callback, scheme, host, port);
    curl_free(scheme);
    curl_free(host);
    if (!permitted)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, GBX_GW_CALLBACK_HEADER
                             ": callbacks to this host are not allowed here (callback_hosts)");
    *url = header;
    *location = owner->path;
    return GBX_OK;
}

/* ---- signing ---------------------------------------------------------- */

gbx_err gbx_gw_callback_sign(char *out, size_t len, const char *secret, size_t secret_len,
                             long long t, const char *body, size_t body_len) {
    char stamp[32];
    int n = snprintf(stamp, sizeof stamp, "%lld.", t);
    char *msg = malloc((size_t)n + body_len + 1);
    if (!msg) return oom();
    memcpy(msg, stamp, (size_t)n);
    if (body_len) memcpy(msg + n, body, body_len);
    unsigned char digest[32];
    int rc = gnutls_hmac_fast(GNUTLS_MAC_SHA256, secret, secret_len, msg, (size_t)n + body_len, digest);
    free(msg);
    if (rc < 0) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "HMAC: %s", gnutls_strerror(rc));
    char hex[65];
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    if (snprintf(out, len, "t=%lld,v1=%s", t, hex) >= (int)len)
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "signature buffer too small");
    return GBX_OK;
}

/* ---- sending ---------------------------------------------------------- */

static double wall_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t discard(char *p, size_t size, size_t n, void *arg) {
    (void)p;
    (void)arg;
    return size * n;
}

static bool stopping(gbx_gw_callbacks *c) {
    pthread_mutex_lock(&c->lock);
    bool stop = c->stopping;
    pthread_mutex_unlock(&c->lock);
    return stop;
}

/* libcurl's progress callback: a gateway that stops does not wait for a
 * slow receiver. */
static int abort_if_stopping(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un) {
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    return stopping(arg) ? 1 : 0;
}

/* One POST; *code = the HTTP status (0 when there was no answer, then
 * `error` says why).  False when the gateway stopped meanwhile. */
static bool post(long *code, char *error, size_t errlen, gbx_gw_callbacks *c, const char *url,
                 const char *signature, const char *body) {
    const gbx_gw_callback_settings *s = c->cfg->callbacks;
    *code = 0;
    error[0] = '\0';
    CURL *curl = curl_easy_init();
    if (!curl) {
        snprintf(error, errlen, "cannot start libcurl");
        return true;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    char sig_header[160];
    snprintf(sig_header, sizeof sig_header, GBX_GW_SIGNATURE_HEADER ": %s", signature);
    struct curl_slist *headers = NULL, *h;
    const char *lines[] = {"Content-Type: application/json", sig_header, "Expect:"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        if (!(h = curl_slist_append(headers, lines[i]))) break;
        headers = h;
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect could leave callback_hosts */
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (s->ca_file) curl_easy_setopt(curl, CURLOPT_CAINFO, s->ca_file);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)(s->timeout * 1000));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)(s->timeout * 1000));
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "gearbox-gateway");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, abort_if_stopping);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, c);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, code);
    else snprintf(error, errlen, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return rc != CURLE_ABORTED_BY_CALLBACK;
}

static const gbx_gw_location *location_at(const gbx_gw_config *cfg, const char *path) {
    for (size_t i = 0; i < cfg->nlocations; i++)
        if (strcmp(cfg->locations[i].path, path) == 0 && cfg->locations[i].callback)
            return &cfg->locations[i];
    return NULL;
}

/* meta.callback after one attempt (NULL `status`: the status is gone). */
static void record(gbx_status *status, const char *url, const char *state, double t, long code,
                   const char *error) {
    if (!status) return;
    json_t *cb = json_deep_copy(json_object_get(gbx_status_meta(status), "callback"));
    if (!json_is_object(cb)) {
        json_decref(cb);
        cb = json_object();
    }
    json_t *attempts = json_object_get(cb, "attempts");
    if (!json_is_array(attempts)) {
        attempts = json_array();
        json_object_set_new(cb, "attempts", attempts);
    }
    json_t *one = json_pack("{s:I}", "time", (json_int_t)t);
    if (one && error) json_object_set_new(one, "error", json_string(error));
    else if (one) json_object_set_new(one, "code", json_integer(code));
    json_array_append_new(attempts, one);
    while (json_array_size(attempts) > ATTEMPTS_KEPT) json_array_remove(attempts, 0);
    json_object_set_new(cb, "url", json_string(url));
    json_object_set_new(cb, "state", json_string(state));
    if (gbx_status_set_meta_new(status, "callback", cb) != GBX_OK)
        gbx_log(GBX_LOG_WARN, "callback for %s: cannot record the attempt: %s", gbx_status_id(status),
                gbx_error_last()->message);
}

static void deliver(gbx_gw_callbacks *c, const gbx_store_callback *cb) {
    const gbx_gw_callback_settings *s = c->cfg->callbacks;
    gbx_status *status = NULL;
    gbx_err e = gbx_status_fetch(&status, c->store, cb->status_id);
    if (e == GBX_ERR_NOT_FOUND) { /* purged meanwhile: nothing left to tell */
        gbx_store_callback_done(c->store, cb->status_id);
        return;
    }
    if (e != GBX_OK) return; /* the store is away: the claim runs out, the next one retries */
    double now = wall_now();
    const gbx_gw_location *loc = location_at(c->cfg, cb->location);
    long code = 0;
    char error[CURL_ERROR_SIZE + 64] = "";
    json_t *json = NULL;
    char *body = NULL;
    char signature[128];
    bool stopped = false;
    if (!loc) {
        /* Another gateway sharing the store may know it: a failed attempt
         * here, retried (by whichever claims it) until given up. */
        snprintf(error, sizeof error, "location \"%s\" has no callback settings on this gateway",
                 cb->location);
    } else if (gbx_status_to_json(&json, status) != GBX_OK ||
               !(body = json_dumps(json, JSON_COMPACT)) ||
               gbx_gw_callback_sign(signature, sizeof signature, loc->callback->secret,
                                    loc->callback->secret_len, (long long)now, body,
                                    strlen(body)) != GBX_OK) {
        snprintf(error, sizeof error, "cannot build the request");
    } else if (!(stopped = !post(&code, error, sizeof error, c, cb->url, signature, body))) {
        if (!error[0] && (code < 200 || code > 299)) snprintf(error, sizeof error, "HTTP %ld", code);
    }
    json_decref(json);
    free(body);
    if (stopped) {
        /* Stopped mid-attempt: not an attempt; the claim ends, so that the
         * next gateway sends it at once. */
        gbx_store_callback_retry(c->store, cb->status_id, now, cb->attempts, cb->first_try);
        gbx_status_free(status);
        return;
    }
    int attempts = cb->attempts + 1;
    double first = cb->first_try > 0 ? cb->first_try : now;
    if (!error[0]) {
        record(status, cb->url, "delivered", now, code, NULL);
        gbx_store_callback_done(c->store, cb->status_id);
        gbx_log(GBX_LOG_DEBUG, "callback for %s delivered to %s (HTTP %ld)", cb->status_id, cb->url, code);
    } else if (now - first >= s->give_up_after) {
        record(status, cb->url, "failed", now, code, code ? NULL : error);
        gbx_store_callback_done(c->store, cb->status_id);
        gbx_log(GBX_LOG_WARN, "callback for %s to %s: given up after %d attempts (%s)", cb->status_id,
                cb->url, attempts, error);
    } else {
        double delay = s->retry_base * pow(2, attempts - 1 < 30 ? attempts - 1 : 30);
        if (delay > s->retry_cap) delay = s->retry_cap;
        record(status, cb->url, "pending", now, code, code ? NULL : error);
        if (gbx_store_callback_retry(c->store, cb->status_id, now + delay, attempts, first) != GBX_OK)
            gbx_log(GBX_LOG_WARN, "callback for %s: %s", cb->status_id, gbx_error_last()->message);
        gbx_log(GBX_LOG_INFO, "callback for %s to %s failed (%s); attempt %d in %.3g s", cb->status_id,
                cb->url, error, attempts + 1, delay);
    }
    gbx_status_free(status);
}

static void *sender_main(void *arg) {
    gbx_gw_callbacks *c = arg;
    const gbx_gw_callback_settings *s = c->cfg->callbacks;
    bool failing = false;
    while (!stopping(c)) {
        gbx_store_callback *rows = NULL;
        size_t n = 0;
        /* One at a time, claimed for one attempt: a gateway that dies while
         * sending delays that callback by little, and gateways sharing the
         * store share the work. */
        if (gbx_store_callback_claim(&rows, &n, c->store, s->timeout + CLAIM_SLACK_S, 1) != GBX_OK) {
            if (!failing)
                gbx_log(GBX_LOG_WARN, "callbacks: %s (retrying)", gbx_error_last()->message);
            failing = true;
        } else {
            failing = false;
        }
        if (n == 1) deliver(c, &rows[0]);
        gbx_store_callbacks_free(rows, n);
        if (n == 1) continue;
        struct timespec ts;
        gbx_gw_deadline_in(&ts, POLL_S);
        pthread_mutex_lock(&c->lock);
        while (!c->stopping)
            if (pthread_cond_timedwait(&c->cond, &c->lock, &ts) != 0) break;
        pthread_mutex_unlock(&c->lock);
    }
    return NULL;
}

gbx_err gbx_gw_callbacks_start(gbx_gw_callbacks **out, const gbx_gw_config *cfg, gbx_store *store) {
    *out = NULL;
    bool any = false;
    for (size_t i = 0; i < cfg->nlocations; i++) any = any || cfg->locations[i].callback;
    if (!any) return GBX_OK;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "callbacks: cannot start libcurl");
    gbx_gw_callbacks *c = calloc(1, sizeof *c);
    if (!c) return oom();
    c->cfg = cfg;
    c->store = store;
    gbx_gw_cond_init_monotonic(&c->cond);
    pthread_mutex_init(&c->lock, NULL);
    int rc = pthread_create(&c->thread, NULL, sender_main, c);
    if (rc != 0) {
        pthread_cond_destroy(&c->cond);
        pthread_mutex_destroy(&c->lock);
        free(c);
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "cannot start the callback thread: %s",
                             strerror(rc));
    }
    *out = c;
    return GBX_OK;
}

void gbx_gw_callbacks_free(gbx_gw_callbacks *c) {
    if (!c) return;
    pthread_mutex_lock(&c->lock);
    c->stopping = true;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    free(c);
}
