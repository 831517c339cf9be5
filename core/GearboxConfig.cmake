# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# CMake package config of libgearbox (installed by libgearbox-dev):
#   find_package(Gearbox REQUIRED)
#   target_link_libraries(my-worker PRIVATE Gearbox::gearbox)
# The public headers include jansson.h: Gearbox::gearbox brings jansson along.
include(CMakeFindDependencyMacro)
find_dependency(PkgConfig)
if(NOT TARGET PkgConfig::JANSSON)
  pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
endif()
include(${CMAKE_CURRENT_LIST_DIR}/GearboxTargets.cmake)
