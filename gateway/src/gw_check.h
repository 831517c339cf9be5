/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gw_check.h - the report of `gearbox-gateway --check` and of the start-up
 * log: per location, each handler the gateway can know and the schema file
 * it uses, and warnings for the mistakes that are otherwise silent (a
 * schema file whose name matches no handler, a write handler without a
 * schema, a component config naming another status store). */
#ifndef GBX_GW_CHECK_H
#define GBX_GW_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "gw_config.h"

/* Receives the report one line at a time; `warning` marks a problem. */
typedef void (*gbx_gw_report_fn)(void *user, bool warning, const char *line);

/* Reports every location of `cfg`.  `registered`: gearmand's
 * {function: available workers} (gbx_jobmanager_registered), or NULL when
 * no server answered, `gearmand_why` (may be NULL) saying why; the handlers
 * are then those of the config's lists and those the schema files imply.
 * Schema files are compiled (through each location's cache), so an invalid
 * one is a warning too.  Returns the number of warnings. */
size_t gbx_gw_check(const gbx_gw_config *cfg, const json_t *registered, const char *gearmand_why,
                    gbx_gw_report_fn report, void *user);

/* The same for one location (nested ones say whose handlers they share). */
size_t gbx_gw_check_location(const gbx_gw_config *cfg, const gbx_gw_location *loc,
                             const json_t *registered, gbx_gw_report_fn report, void *user);

#endif
