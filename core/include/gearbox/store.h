/* gearbox/store.h - the status store: where every async job's status and
 * envelope live (DESIGN §1).
 *
 * A gbx_store is one open database, shared by all threads of a process: each
 * thread gets its own connection on first use.  Backends: "sqlite" (WAL, busy
 * timeout; the default) and, later, "mysql".  The row layout is private to
 * the backends; everything else goes through gearbox/status.h.
 */
#ifndef GEARBOX_STORE_H
#define GEARBOX_STORE_H

#include <jansson.h>

#include "gearbox/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gbx_store gbx_store;

/* Opens the store a config section describes, creating the schema if needed:
 *   {"type": "sqlite", "path": "state/status.db", "busy_timeout_ms": 5000}
 * `base_dir` (may be NULL) resolves a relative path.  *out: free with
 * gbx_store_free. */
gbx_err gbx_store_open(gbx_store **out, const json_t *section, const char *base_dir);

/* Shorthand for a SQLite file. */
gbx_err gbx_store_open_sqlite(gbx_store **out, const char *path);

/* Closes every connection; NULL is accepted. */
void gbx_store_free(gbx_store *store);

/* "sqlite" or "mysql".  Static string. */
const char *gbx_store_backend(const gbx_store *store);

#ifdef __cplusplus
}
#endif
#endif
