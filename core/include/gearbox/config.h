/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gearbox/config.h - configuration files.
 *
 * A config file is JSON with comments (see gbx_json_parse_commented).  After
 * the file is read, every `*.conf` file of its config.d directory is merged in
 * as a section named after the file (`config.d/barn.conf` -> key "barn"); the
 * directory is the file's `config_dir` key when present (relative to the
 * file's own directory), else `config.d` beside the file; a missing directory
 * is not an error.  Getters take dotted paths ("gearman.servers").
 *
 * Environment: in every string value (not in keys), of the main file and of
 * each .conf, `${VAR}` is replaced by the variable's value (an unset
 * variable is an error naming it, the file and the place), `${VAR:-dflt}`
 * by the value or, when unset or empty, by dflt (which may itself hold
 * `${...}`), and `$$` by a single `$`.  A `$` followed by anything else is
 * kept as is.  Expansion happens once, at load.
 *
 * config.d details: files are merged in strcmp order of their names; names
 * starting with '.' and files not ending in ".conf" are ignored.  When the
 * main file already has an object under the section's name and the .conf
 * holds an object, the two are merged recursively with the .conf's keys
 * winning; otherwise the .conf's value replaces it.  A .conf that cannot be
 * read or parsed fails the whole load with a message naming that file.
 *
 * Errors of gbx_config_load: GBX_ERR_NOT_FOUND for a missing file,
 * GBX_ERR_INTERNAL_SERVER_ERROR for anything else; a file that cannot be
 * opened is "cannot open config <file>: <reason>", other messages start
 * with "config <file>: ".
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
 * NULL = ".") is where relative paths in the config are resolved.  Neither
 * ${VAR} expansion nor config.d apply. */
gbx_err gbx_config_from_json(gbx_config **out, json_t *root, const char *base_dir);

void gbx_config_free(gbx_config *cfg);

/* The whole merged document.  Borrowed. */
json_t *gbx_config_root(const gbx_config *cfg);

/* The directory of the loaded file, made absolute (or base_dir as given).
 * Borrowed. */
const char *gbx_config_dir(const gbx_config *cfg);

/* The value at `path`, or NULL.  Borrowed. */
json_t *gbx_config_get(const gbx_config *cfg, const char *path);

/* Typed getters: the default when the key is missing or has another type.
 * Strings are borrowed from the config.  Since ${VAR} expansion yields
 * strings, the numeric getters also read strings holding a number ("4080",
 * "0.25"; nothing else but blanks after it); get_int reads a real only when
 * it is integral (8.0); get_bool reads true/false, integers (0 = false) and
 * the strings true/false, yes/no, on/off, 1/0 (any case).  get_string does
 * not convert numbers. */
const char *gbx_config_get_string(const gbx_config *cfg, const char *path, const char *dflt);
long long gbx_config_get_int(const gbx_config *cfg, const char *path, long long dflt);
double gbx_config_get_real(const gbx_config *cfg, const char *path, double dflt);
bool gbx_config_get_bool(const gbx_config *cfg, const char *path, bool dflt);

/* A path value resolved against gbx_config_dir() when relative (dflt too).
 * *out: malloc'ed; NULL (and GBX_OK) when the key is missing and dflt is
 * NULL.  GBX_ERR_INTERNAL_SERVER_ERROR when the value is not a non-empty
 * string. */
gbx_err gbx_config_get_path(char **out, const gbx_config *cfg, const char *path, const char *dflt);

/* The gearmand servers as one libgearman server list ("h1:p1,h2:p2").
 * Accepts `gearman: {"host": h, "port": p}`, `gearman: {"servers": ["h:p",
 * ...]}` or `gearman: "h:p,..."`; default "127.0.0.1:4730".  A missing host
 * is 127.0.0.1, a missing port 4730; ports may be strings; entries of
 * "servers" may also be {"host", "port"} objects, and "servers" may be one
 * "h:p,..." string.  Anything else (empty list, bad port) is
 * GBX_ERR_INTERNAL_SERVER_ERROR.  *out: malloc'ed. */
gbx_err gbx_config_gearman_servers(char **out, const gbx_config *cfg);

/* The config path of a worker program, picked out of its arguments the way
 * every Gearbox worker takes them: `PROG CONFIG` (Gearbox's form),
 * `PROG --config CONFIG` or `PROG --config=CONFIG`.  --config may stand
 * anywhere among the program's own arguments, which are skipped; without it
 * the config is the first argument unless that starts with '-'.  argv[0] is
 * the program, as main() gets it.  *out: malloc'ed.  GBX_ERR_BAD_REQUEST
 * naming the problem and the program: no config given, --config without a
 * path, --config twice.  The file itself is not opened here. */
gbx_err gbx_config_path_from_argv(char **out, int argc, char *const argv[]);

/* The same for the language bindings' Worker constructors: `args` is either
 * the program's arguments as a JSON array of strings (program first, as
 * Python's sys.argv and PHP's $argv), or one string, the config's path as
 * Gearbox's workers passed it (a lone "--config=PATH" is read as PATH, a
 * lone "--config" is an error saying to pass the whole argv). */
gbx_err gbx_config_path_from_args(char **out, const json_t *args);

#ifdef __cplusplus
}
#endif
#endif
