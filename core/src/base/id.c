/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* id.c - random identifiers: 128 bits from the kernel, lowercase Crockford
 * base32.
 *
 * The 128 bits are written as a 130-bit big-endian number whose two top bits
 * are zero (as ULIDs do), so the first character is always 0-7 and every
 * character carries whole bits. */
#include "gearbox/id.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define ID_PREFIX_MAX 31
#define ID_BYTES 16

static const char crockford[] = "0123456789abcdefghjkmnpqrstvwxyz";

/* Fills buf with len random bytes: getrandom(2), else /dev/urandom. */
static gbx_err random_bytes(unsigned char *buf, size_t len) {
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == ENOSYS) break; /* very old kernel: fall back */
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "getrandom failed: %s",
                             strerror(errno));
    }
    if (got == len) return GBX_OK;

    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "cannot open /dev/urandom: %s",
                             strerror(errno));
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n > 0) {
            got += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            int saved = n < 0 ? errno : EIO;
            close(fd);
            return gbx_error_set(GBX_ERR_INTERNAL_SERVER_ERROR, "cannot read /dev/urandom: %s",
                                 strerror(saved));
        }
    }
    close(fd);
    return GBX_OK;
}

/* Bit `i` (0 = most significant) of the 130-bit number 00 || bytes. */
static unsigned bit_at(const unsigned char *bytes, int i) {
    if (i < 2) return 0;
    int b = i - 2;
    return (bytes[b / 8] >> (7 - b % 8)) & 1u;
}

static void encode(char *out, const unsigned char *bytes) {
    for (int c = 0; c < GBX_ID_CHARS; c++) {
        unsigned v = 0;
        for (int k = 0; k < 5; k++) v = (v << 1) | bit_at(bytes, c * 5 + k);
        out[c] = crockford[v];
    }
}

gbx_err gbx_id_generate(char *out, size_t outlen, const char *prefix) {
    if (!out) return gbx_error_set(GBX_ERR_BAD_REQUEST, "id: no output buffer");
    size_t plen = prefix ? strlen(prefix) : 0;
    if (plen > ID_PREFIX_MAX)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "id prefix \"%s\" is longer than %d characters",
                             prefix, ID_PREFIX_MAX);
    size_t need = (plen ? plen + 1 : 0) + GBX_ID_CHARS + 1;
    if (outlen < need)
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "id buffer of %zu bytes is too small (need %zu)",
                             outlen, need);
    unsigned char bytes[ID_BYTES];
    gbx_err rc = random_bytes(bytes, sizeof bytes);
    if (rc) return rc;
    size_t o = 0;
    if (plen) {
        memcpy(out, prefix, plen);
        out[plen] = '-';
        o = plen + 1;
    }
    encode(out + o, bytes);
    out[o + GBX_ID_CHARS] = '\0';
    return GBX_OK;
}

gbx_err gbx_id_for_resource(char *out, size_t outlen, const char *resource_type) {
    if (!resource_type || !isalnum((unsigned char)resource_type[0]))
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "cannot generate a resource id: resource type \"%s\" does not "
                             "start with a letter or digit",
                             resource_type ? resource_type : "");
    char prefix[2] = {(char)tolower((unsigned char)resource_type[0]), '\0'};
    return gbx_id_generate(out, outlen, prefix);
}

bool gbx_id_is_valid(const char *id, const char *prefix) {
    if (!id) return false;
    size_t plen = prefix ? strlen(prefix) : 0;
    if (plen) {
        if (strncmp(id, prefix, plen) != 0 || id[plen] != '-') return false;
        id += plen + 1;
    }
    if (strlen(id) != GBX_ID_CHARS) return false;
    for (size_t i = 0; i < GBX_ID_CHARS; i++)
        if (!id[i] || !strchr(crockford, id[i])) return false;
    return true;
}
