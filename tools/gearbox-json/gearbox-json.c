/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* gearbox-json - validate JSON against JSON Schemas, pretty-print JSON.
 *
 *   gearbox-json validate [--draft D] [--ref URI-PREFIX=DIR]... [--formats] SCHEMA [INSTANCE|-]
 *   gearbox-json format [FILE|-]
 *
 * validate exits 0 when the instance is valid, 1 when it is not (one
 * violation per line on stdout: pointer, message, schema location, tab
 * separated, both locations JSON Pointers as the core reports them), 2 on a usage, schema or input error (message on stderr). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gearbox/log.h"

#include "validate.h"

static const char usage[] =
    "usage: gearbox-json validate [--draft D] [--ref URI-PREFIX=DIR]... [--formats] SCHEMA [INSTANCE|-]\n"
    "       gearbox-json format [FILE|-]\n"
    "       gearbox-json --help\n"
    "\n"
    "validate  checks INSTANCE (a JSON file, or standard input when it is '-' or\n"
    "          missing) against the JSON Schema in SCHEMA (comments allowed, as in\n"
    "          Gearbox .js schema files).  Exit status 0: valid; 1: not valid, one\n"
    "          violation per line on standard output as\n"
    "              POINTER <tab> MESSAGE <tab> SCHEMA-LOCATION\n"
    "          (JSON Pointers, as the gateway's problem details have them: an\n"
    "          empty POINTER is the whole document);\n"
    "          2: usage error, unreadable file, malformed JSON or invalid schema.\n"
    "  --draft D      dialect for schemas without \"$schema\": 3, 4, 6, 7, 2019-09,\n"
    "                 2020-12 (the default), or legacy (Gearbox's dialect, used\n"
    "                 whatever \"$schema\" says; fills in defaults)\n"
    "  --ref P=DIR    resolve $refs to URIs starting with P from files under DIR\n"
    "                 (e.g. --ref http://localhost:1234/=remotes); never the network\n"
    "  --formats      assert \"format\" (date-time, email, uri, ...) as well\n"
    "format    pretty-prints JSON (comments allowed) from FILE or standard input.\n"
    "          Exit status 0, 1 for malformed JSON, 2 for a usage error.\n";

static int cmd_format(int argc, char **argv) {
    if (argc > 1) {
        fprintf(stderr, "%s", usage);
        return 2;
    }
    json_t *doc;
    /* 1 for malformed JSON, 2 for an unreadable file. */
    gbx_jsontool_result rc = gbx_jsontool_read(&doc, argc ? argv[0] : NULL, true, "gearbox-json");
    if (rc != GBX_JSONTOOL_VALID) return rc == GBX_JSONTOOL_INVALID ? 1 : 2;
    char *out = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    json_decref(doc);
    if (!out) {
        fprintf(stderr, "gearbox-json: cannot serialise\n");
        return 2;
    }
    puts(out);
    free(out);
    return 0;
}

/* 0 valid, 1 not valid, 2 for every error (usage, files, schema). */
static int cmd_validate(int argc, char **argv) {
    gbx_jsontool_result r = gbx_jsontool_validate(argc, argv, "gearbox-json", usage, GBX_JSONTOOL_TSV);
    return r == GBX_JSONTOOL_INPUT ? 2 : (int)r;
}

int main(int argc, char **argv) {
    gbx_log_set_callback(gbx_log_to_file, NULL);
    if (argc < 2) {
        fprintf(stderr, "%s", usage);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(argv[1], "validate") == 0) return cmd_validate(argc - 2, argv + 2);
    if (strcmp(argv[1], "format") == 0) return cmd_format(argc - 2, argv + 2);
    fprintf(stderr, "gearbox-json: unknown command \"%s\"\n%s", argv[1], usage);
    return 2;
}
