/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* Unit tests of core/src/id.c: format, alphabet, uniqueness, prefixes and
 * the errors for bad arguments. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gearbox/id.h"

#define ALPHABET "0123456789abcdefghjkmnpqrstvwxyz"
#define MANY 20000

static int compare_ids(const void *a, const void *b) {
    return strcmp((const char *)a, (const char *)b);
}

int main(void) {
    char id[GBX_ID_MAX];

    /* Status ids: "s-" + 26 characters of the lowercase Crockford alphabet. */
    CHECK_INT(gbx_id_generate(id, sizeof id, "s"), GBX_OK);
    CHECK_INT(strlen(id), 28);
    CHECK(strncmp(id, "s-", 2) == 0);
    CHECK_INT(strspn(id + 2, ALPHABET), 26);
    CHECK(gbx_id_is_valid(id, "s"));
    CHECK(!gbx_id_is_valid(id, "a"));
    CHECK(!gbx_id_is_valid(id, NULL)); /* has a prefix, so not a bare id */

    /* No prefix: the bare 26 characters. */
    CHECK_INT(gbx_id_generate(id, sizeof id, NULL), GBX_OK);
    CHECK_INT(strlen(id), 26);
    CHECK(gbx_id_is_valid(id, NULL));
    CHECK(gbx_id_is_valid(id, ""));
    CHECK_INT(gbx_id_generate(id, sizeof id, ""), GBX_OK);
    CHECK_INT(strlen(id), 26);

    /* Resource ids: first letter of the type, lower-cased. */
    CHECK_INT(gbx_id_for_resource(id, sizeof id, "animal"), GBX_OK);
    CHECK(strncmp(id, "a-", 2) == 0);
    CHECK(gbx_id_is_valid(id, "a"));
    CHECK_INT(gbx_id_for_resource(id, sizeof id, "Barn"), GBX_OK);
    CHECK(strncmp(id, "b-", 2) == 0);
    CHECK_INT(gbx_id_for_resource(id, sizeof id, ""), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_id_for_resource(id, sizeof id, NULL), GBX_ERR_BAD_REQUEST);
    CHECK_INT(gbx_id_for_resource(id, sizeof id, "-x"), GBX_ERR_BAD_REQUEST);
    CHECK(strstr(gbx_error_last()->message, "resource type") != NULL);

    /* Buffer sizes: an exact fit works, one byte less does not. */
    char small[29];
    CHECK_INT(gbx_id_generate(small, sizeof small, "s"), GBX_OK);
    CHECK_INT(strlen(small), 28);
    CHECK_INT(gbx_id_generate(small, 28, "s"), GBX_ERR_BAD_REQUEST);
    CHECK(strstr(gbx_error_last()->message, "too small") != NULL);
    CHECK_INT(gbx_id_generate(small, 27, NULL), GBX_OK);
    CHECK_INT(gbx_id_generate(NULL, 64, "s"), GBX_ERR_BAD_REQUEST);

    /* Prefix length: 31 is the maximum. */
    char prefix[40];
    memset(prefix, 'p', 31);
    prefix[31] = '\0';
    CHECK_INT(gbx_id_generate(id, sizeof id, prefix), GBX_OK);
    CHECK(gbx_id_is_valid(id, prefix));
    prefix[31] = 'p';
    prefix[32] = '\0';
    CHECK_INT(gbx_id_generate(id, sizeof id, prefix), GBX_ERR_BAD_REQUEST);
    CHECK(strstr(gbx_error_last()->message, "longer than 31") != NULL);

    /* Validation rejects the wrong length, letters outside the alphabet
     * (i l o u), upper case and a missing dash. */
    CHECK(gbx_id_is_valid("s-6xh9p61rczmddwett5ahzwmke1", "s"));
    CHECK(!gbx_id_is_valid("s-6xh9p61rczmddwett5ahzwmke", "s"));
    CHECK(!gbx_id_is_valid("s-6xh9p61rczmddwett5ahzwmke12", "s"));
    CHECK(!gbx_id_is_valid("s-6xh9p61rczmddwett5ahzwmkei", "s"));
    CHECK(!gbx_id_is_valid("s-6xh9p61rczmddwett5ahzwmkel", "s"));
    CHECK(!gbx_id_is_valid("s-6xh9p61rczmddwett5ahzwmkeo", "s"));
    CHECK(!gbx_id_is_valid("s-6xh9p61rczmddwett5ahzwmkeu", "s"));
    CHECK(!gbx_id_is_valid("s-6XH9P61RCZMDDWETT5AHZWMKE1", "s"));
    CHECK(!gbx_id_is_valid("s6xh9p61rczmddwett5ahzwmke1x", "s"));
    CHECK(!gbx_id_is_valid(NULL, "s"));

    /* Uniqueness over many ids; the random part uses the whole alphabet,
     * and its first character only 0-7 (128 bits fill 130 bit positions
     * from the right, so the top two are zero). */
    char(*ids)[GBX_ID_MAX] = calloc(MANY, sizeof *ids);
    int seen[256] = {0};
    bool first_ok = true;
    for (int i = 0; i < MANY; i++) {
        if (gbx_id_generate(ids[i], GBX_ID_MAX, "s") != GBX_OK) break;
        if (ids[i][2] < '0' || ids[i][2] > '7') first_ok = false;
        for (int k = 3; k < 28; k++) seen[(unsigned char)ids[i][k]]++;
    }
    CHECK(first_ok);
    for (const char *c = ALPHABET; *c; c++) CHECK(seen[(unsigned char)*c] > 0);
    qsort(ids, MANY, sizeof *ids, compare_ids);
    int dups = 0;
    for (int i = 1; i < MANY; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0) dups++;
    CHECK_INT(dups, 0);
    free(ids);

    return check_done();
}
