/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_ratelimit.c - token buckets per key in a fixed table. */
#include "gw_ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 8192 /* buckets kept; a power of two */
#define PROBE 8    /* slots looked at per key */

#define DEFAULT_PER_ADDRESS 200.0
#define DEFAULT_PER_PRINCIPAL 100.0
#define DEFAULT_BURST 2.0
#define DEFAULT_FAILED_PER_MINUTE 30.0

gbx_err gbx_gw_rate_config_parse(gbx_gw_rate_config *out, const json_t *section) {
    *out = (gbx_gw_rate_config){DEFAULT_PER_ADDRESS, DEFAULT_PER_PRINCIPAL, DEFAULT_BURST,
                                DEFAULT_FAILED_PER_MINUTE, false};
    if (!section) return GBX_OK;
    if (!json_is_object(section))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "\"rate_limit\" must be an object");
    static const struct {
        const char *key;
        size_t offset;
        double min;
    } keys[] = {
        {"per_address", offsetof(gbx_gw_rate_config, per_address), 0},
        {"per_principal", offsetof(gbx_gw_rate_config, per_principal), 0},
        {"burst", offsetof(gbx_gw_rate_config, burst), 1e-3},
        {"failed_auth_per_minute", offsetof(gbx_gw_rate_config, failed_per_minute), 0},
    };
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)section, key, v) {
        if (strcmp(key, "limit_loopback") == 0) {
            if (!json_is_boolean(v))
                return gbx_error_set(GBX_ERR_BAD_REQUEST, "\"rate_limit.limit_loopback\" must be true or false");
            out->limit_loopback = json_is_true(v);
            continue;
        }
        size_t i = 0;
        while (i < sizeof keys / sizeof keys[0] && strcmp(keys[i].key, key) != 0) i++;
        if (i == sizeof keys / sizeof keys[0])
            return gbx_error_set(GBX_ERR_BAD_REQUEST,
                                 "\"rate_limit\": unknown key \"%s\" (per_address, per_principal, "
                                 "burst, failed_auth_per_minute, limit_loopback)", key);
        double d = json_number_value(v);
        if (!json_is_number(v) || !isfinite(d) || d < keys[i].min || d > 1e9)
            return gbx_error_set(GBX_ERR_BAD_REQUEST, "\"rate_limit.%s\" must be a number >= %g (0 = no limit)",
                                 key, keys[i].min);
        *(double *)((char *)out + keys[i].offset) = d;
    }
    return GBX_OK;
}

bool gbx_gw_is_loopback(const char *ip) {
    if (!ip) return false;
    if (strncmp(ip, "::ffff:", 7) == 0) ip += 7;
    return strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0;
}

typedef struct bucket {
    uint64_t key;   /* hash of the key; 0 = free */
    double tokens;
    double last;    /* when tokens was computed */
} bucket;

struct gbx_gw_ratelimit {
    double rate, capacity;
    pthread_mutex_t lock;
    bucket slots[SLOTS];
};

gbx_err gbx_gw_ratelimit_new(gbx_gw_ratelimit **out, double rate, double burst) {
    *out = calloc(1, sizeof **out);
    if (!*out) return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "out of memory");
    (*out)->rate = rate;
    (*out)->capacity = fmax(1.0, rate * burst);
    pthread_mutex_init(&(*out)->lock, NULL);
    return GBX_OK;
}

void gbx_gw_ratelimit_free(gbx_gw_ratelimit *rl) {
    if (!rl) return;
    pthread_mutex_destroy(&rl->lock);
    free(rl);
}

static uint64_t hash_key(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h ? h : 1;
}

/* The bucket of `key`, refilled to `now`: its own slot, else a free one,
 * else the longest-idle one of its probe sequence (started full). */
static bucket *find(gbx_gw_ratelimit *rl, const char *key, double now) {
    uint64_t h = hash_key(key);
    bucket *victim = NULL;
    for (size_t i = 0; i < PROBE; i++) {
        bucket *b = &rl->slots[(h + i) & (SLOTS - 1)];
        if (b->key == h) {
            b->tokens = fmin(rl->capacity, b->tokens + (now - b->last) * rl->rate);
            b->last = now;
            return b;
        }
        if (!victim || b->key == 0 || (victim->key != 0 && b->last < victim->last)) victim = b;
    }
    *victim = (bucket){h, rl->capacity, now};
    return victim;
}

static bool use(gbx_gw_ratelimit *rl, const char *key, double now, unsigned *retry_after, bool take) {
    if (retry_after) *retry_after = 0;
    if (!rl || rl->rate <= 0) return true;
    pthread_mutex_lock(&rl->lock);
    bucket *b = find(rl, key ? key : "", now);
    bool ok = b->tokens >= 1.0;
    if (ok && take) b->tokens -= 1.0;
    double wait = ok ? 0 : (1.0 - b->tokens) / rl->rate;
    pthread_mutex_unlock(&rl->lock);
    if (!ok && retry_after) *retry_after = (unsigned)ceil(wait < 1 ? 1 : wait);
    return ok;
}

bool gbx_gw_ratelimit_take(gbx_gw_ratelimit *rl, const char *key, double now, unsigned *retry_after) {
    return use(rl, key, now, retry_after, true);
}

bool gbx_gw_ratelimit_check(gbx_gw_ratelimit *rl, const char *key, double now, unsigned *retry_after) {
    return use(rl, key, now, retry_after, false);
}
