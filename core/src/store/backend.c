/* backend.c - helpers every store backend may use (backend.h). */
#include "store/backend.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

gbx_err gbx__store_not_found(const char *id) {
    return gbx_error_set(GBX_ERR_NOT_FOUND, "status \"%s\" not found", id ? id : "");
}

gbx_err gbx__store_conflict(gbx_state current) {
    return gbx_error_set(GBX_ERR_CONFLICT, "state is currently %s", gbx_state_name(current));
}

double gbx__now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void gbx__status_row_clear(gbx__status_row *row) {
    if (!row) return;
    free(row->id);
    free(row->operation);
    free(row->component);
    free(row->uri);
    free(row->status_uri);
    free(row->parent_uri);
    free(row->scope);
    json_decref(row->messages);
    json_decref(row->children);
    json_decref(row->meta);
    json_decref(row->events);
    json_decref(row->priv);
    memset(row, 0, sizeof *row);
}

void gbx__queued_free(gbx__queued *rows, size_t n) {
    if (!rows) return;
    for (size_t i = 0; i < n; i++) {
        free(rows[i].ticket);
        free(rows[i].status_id);
        free(rows[i].name);
        free(rows[i].envelope);
    }
    free(rows);
}

gbx_err gbx__store_option_int(int *out, const json_t *section, const char *key, int dflt,
                              int max) {
    const json_t *v = json_object_get(section, key);
    *out = dflt;
    if (!v || json_is_null(v)) return GBX_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
        return gbx_error_set(GBX_ERR_BAD_REQUEST,
                             "status store: \"%s\" must be an integer from 0 to %d", key, max);
    *out = (int)json_integer_value(v);
    return GBX_OK;
}

gbx_err gbx__store_option_string(const char **out, const json_t *section, const char *key) {
    const json_t *v = json_object_get(section, key);
    *out = NULL;
    if (!v || json_is_null(v)) return GBX_OK;
    if (!json_is_string(v))
        return gbx_error_set(GBX_ERR_BAD_REQUEST, "status store: \"%s\" must be a string", key);
    *out = json_string_value(v);
    return GBX_OK;
}
