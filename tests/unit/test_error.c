/* Unit tests of core/src/error.c: the table, names both ways, formatting,
 * and the per-thread last error. */
#include <pthread.h>
#include <stdlib.h>

#include "check.h"
#include "gearbox/error.h"

static void *other_thread(void *arg) {
    (void)arg;
    /* A fresh thread starts without an error and does not see main's. */
    CHECK_INT(gbx_error_last()->code, GBX_OK);
    gbx_error_set(GBX_ERR_GONE, "from thread");
    return NULL;
}

int main(void) {
    CHECK_INT(gbx_err_count(), 38);
    CHECK_STR(gbx_err_name(404), "NOT_FOUND");
    CHECK_STR(gbx_err_name(500), "INTERNAL_SERVER_ERROR");
    CHECK(gbx_err_name(200) == NULL);
    CHECK_INT(gbx_err_from_name("CONFLICT"), 409);
    CHECK_INT(gbx_err_from_name("ERR_GONE"), 410);
    CHECK_INT(gbx_err_from_name("NO_SUCH"), 0);
    for (size_t i = 0; i < gbx_err_count(); i++) {
        int code = gbx_err_at(i);
        CHECK(code >= 300 && code < 600);
        CHECK_INT(gbx_err_from_name(gbx_err_name(code)), code);
    }

    char *s = gbx_error_format(404, "thing \"x\" not found");
    CHECK_STR(s, "NOT_FOUND [404]: thing \"x\" not found");
    free(s);
    s = gbx_error_format(599, "odd");
    CHECK_STR(s, "ERROR [599]: odd");
    free(s);

    CHECK_INT(gbx_error_last()->code, GBX_OK);
    CHECK_INT(gbx_error_set(GBX_ERR_NOT_FOUND, "missing %d", 7), 404);
    CHECK_STR(gbx_error_last()->message, "missing 7");
    /* Quoting the previous message is safe. */
    gbx_error_set(GBX_ERR_NOT_FOUND, "wrapped: %s", gbx_error_last()->message);
    CHECK_STR(gbx_error_last()->message, "wrapped: missing 7");
    pthread_t t;
    pthread_create(&t, NULL, other_thread, NULL);
    pthread_join(t, NULL);
    CHECK_INT(gbx_error_last()->code, GBX_ERR_NOT_FOUND);
    gbx_error_clear();
    CHECK_INT(gbx_error_last()->code, GBX_OK);
    CHECK_STR(gbx_error_last()->message, "");
    return check_done();
}
