# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# gbx_embed(<output.c> <comment> <file>...): generates <output.c> at build time
# with one `const char gbx_embedded_<name>[]` (NUL-terminated) per file, by
# core/embed.cmake; rebuilt when a file changes.  Used for the core's schemas,
# the dashboard's page and the templates of `gearbox new`.
function(gbx_embed out comment)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DFILES="${ARGN}" -P ${PROJECT_SOURCE_DIR}/core/embed.cmake
    DEPENDS ${ARGN} ${PROJECT_SOURCE_DIR}/core/embed.cmake
    COMMENT "${comment}")
endfunction()
