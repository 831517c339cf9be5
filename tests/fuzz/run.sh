#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# Runs one libFuzzer target for a bounded time over its committed corpus
# (every input in it first: crashes found once stay fixed).
# Usage: run.sh FUZZER CORPUS_DIR SECONDS
#   FUZZ_SECONDS (environment) overrides SECONDS (make fuzz);
#   FUZZ_KEEP=DIR keeps the new inputs and findings in DIR/<target>
#   (else a temporary directory, removed afterwards).
set -eu
fuzzer=$1 corpus=$2 seconds=${FUZZ_SECONDS:-$3}
name=$(basename "$fuzzer")
if [ -n "${FUZZ_KEEP:-}" ]; then
    work=$FUZZ_KEEP/$name
    mkdir -p "$work/new"
else
    work=$(mktemp -d "/tmp/gearbox-$name.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    mkdir "$work/new"
fi
# -timeout: no single input may take longer; new inputs go to $work/new,
# the committed corpus is only read.
status=0
"$fuzzer" -max_total_time="$seconds" -timeout=60 -rss_limit_mb=2048 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$work/" "$work/new" "$corpus" > "$work/log" 2>&1 || status=$?
tail -20 "$work/log"
if [ "$status" -ne 0 ]; then
    echo "FAIL: $name found a problem (exit $status); the input that triggered it:"
    for f in "$work"/crash-* "$work"/timeout-* "$work"/leak-* "$work"/oom-*; do
        [ -f "$f" ] && { echo "$f:"; od -c "$f" | head -20; }
    done
    echo "Add it to $corpus with the fix."
    exit 1
fi
