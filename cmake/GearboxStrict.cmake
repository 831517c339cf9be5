# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# gbx_strict(target): the warnings and feature macros of code we write (not
# of generated wrappers).  Used by the main tree and by bench/.
function(gbx_strict target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wshadow -Wstrict-prototypes
                         -Wno-unused-parameter)
  target_compile_definitions(${target} PRIVATE _POSIX_C_SOURCE=200809L _DEFAULT_SOURCE)
  if(GBX_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
