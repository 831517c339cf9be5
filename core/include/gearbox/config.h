/* gearbox/config.h - configuration files.
 *
 * A config file is JSON with comments (see gbx_json_parse_commented).  After
 * the file is read, every `*.conf` file of its config.d directory is merged in
 * as a section named after the file (`config.d/barn.conf` -> key "barn"); the
 * directory is the file's `config_dir` key when present (relative to the
 * file's own directory), else `config.d` beside the file; a missing directory
 * is not an error.  Getters take dotted paths ("gearman.servers").
 */
#ifndef GEARBOX_CONFIG_H
#define GEARBOX_CONFIG_H

#include <stdbool.h>
#include <jansson.h>

#include "gearbox/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gbx_config gbx_config;

/* Loads `path` and its config.d sections.  *out: new handle, free with
 * gbx_config_free.  Errors name the file and, for bad JSON, line and column. */
gbx_err gbx_config_load(gbx_config **out, const char *path);

/* Wraps an existing object (takes a new reference to it); `base_dir` (may be
 * NULL = ".") is where relative paths in the config are resolved. */
gbx_err gbx_config_from_json(gbx_config **out, json_t *root, const char *base_dir);

void gbx_config_free(gbx_config *cfg);

/* The whole merged document.  Borrowed. */
json_t *gbx_config_root(const gbx_config *cfg);

/* The directory of the loaded file (or base_dir).  Borrowed. */
const char *gbx_config_dir(const gbx_config *cfg);

/* The value at `path`, or NULL.  Borrowed. */
json_t *gbx_config_get(const gbx_config *cfg, const char *path);

/* Typed getters: the default when the key is missing or has another type.
 * Strings are borrowed from the config. */
const char *gbx_config_get_string(const gbx_config *cfg, const char *path, const char *dflt);
long long gbx_config_get_int(const gbx_config *cfg, const char *path, long long dflt);
double gbx_config_get_real(const gbx_config *cfg, const char *path, double dflt);
bool gbx_config_get_bool(const gbx_config *cfg, const char *path, bool dflt);

/* A path value resolved against gbx_config_dir() when relative.  *out:
 * malloc'ed; NULL (and GBX_OK) when the key is missing and dflt is NULL. */
gbx_err gbx_config_get_path(char **out, const gbx_config *cfg, const char *path, const char *dflt);

/* The gearmand servers as one libgearman server list ("h1:p1,h2:p2").
 * Accepts `gearman: {"host": h, "port": p}`, `gearman: {"servers": ["h:p",
 * ...]}` or `gearman: "h:p,..."`; default "127.0.0.1:4730".  *out: malloc'ed. */
gbx_err gbx_config_gearman_servers(char **out, const gbx_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
