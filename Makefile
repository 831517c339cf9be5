# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# Gearbox: the two commands of the README's quick start, and their helpers.
#   make demo   - install what is missing, build, serve the barn on 127.0.0.1:4080
#   make test   - install what is missing, build, run the whole suite
#   make bench  - release build and the benchmarks (docs/benchmarks.md)
#   make fuzz   - the libFuzzer targets, FUZZ_SECONDS each (docs/security.md)
#   make package      - the Debian packages in dist/ (docs/operations.md)
#   make package-test - builds, installs, runs and purges them (tests/package/)

BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: all deps build test test-asan demo bench fuzz clean package package-test

all: build

deps:
	@tools/install-deps

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DGBX_SANITIZE=ON -DGBX_BINDINGS=OFF $(CMAKE_ARGS)

# The C suites again under AddressSanitizer and UBSan (the language bindings
# load into interpreters that are not built with ASan: they are tested in the
# main build).
test-asan: deps $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ctest -L asan --output-on-failure -j $(JOBS)

test: build test-asan
	@tools/run-tests $(BUILD)

demo: build
	@tools/demo $(BUILD)

bench: deps
	@bench/run

# Each libFuzzer target for FUZZ_SECONDS (make test runs them briefly); new
# inputs and findings are kept in $(BUILD)/tests/fuzz/found/<target>.
FUZZ_SECONDS ?= 300
fuzz: build
	cd $(BUILD) && FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_KEEP=$(abspath $(BUILD))/tests/fuzz/found \
	    ctest -R '^fuzz\.' --output-on-failure --timeout $$(($(FUZZ_SECONDS) + 600))

# dpkg-buildpackage -us -uc -b on a copy of the tree (packaging/debian).
package: deps
	@packaging/build-packages $(JOBS)

# Installs dist/*.deb on this machine, runs the barn from the packages alone,
# purges them again (needs root; see tests/package/run).
package-test: package
	@tests/package/run

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) dist
