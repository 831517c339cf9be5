#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# Runs the schema libFuzzer harness for a bounded time, seeded with every
# (schema, instance) pair and every pattern of the JSON-Schema-Test-Suite.
# Usage: fuzz.sh FUZZER SUITE_DIR SECONDS
set -eu
fuzzer=$1 suite=$2 seconds=$3
work=$(mktemp -d /tmp/gearbox-schema-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
/usr/bin/python3 - "$suite" "$work/corpus" <<'PY'
import glob, json, os, sys
suite, out = sys.argv[1], sys.argv[2]
n = 0
dialects = {"draft3": 1, "draft4": 2, "draft6": 3, "draft7": 4, "draft2019-09": 5, "draft2020-12": 6}
for path in sorted(glob.glob(os.path.join(suite, "tests", "*", "**", "*.json"), recursive=True)):
    mode = dialects.get(os.path.relpath(path, os.path.join(suite, "tests")).split(os.sep)[0], 0)
    try:
        groups = json.load(open(path))
    except ValueError:
        continue
    for g in groups:
        for t in g["tests"][:2]:
            n += 1
            with open(os.path.join(out, "c%05d" % n), "wb") as f:
                f.write(bytes([mode]) + json.dumps([g["schema"], t["data"]]).encode())
        if isinstance(g["schema"], dict) and isinstance(g["schema"].get("pattern"), str):
            n += 1
            with open(os.path.join(out, "c%05d" % n), "wb") as f:
                f.write(bytes([mode]) + json.dumps(g["schema"]["pattern"]).encode())
print("seed corpus: %d inputs" % n)
PY
# -timeout: no single input may take longer (regex backtracking included)
status=0
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
    -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" > "$work/log" 2>&1 || status=$?
tail -25 "$work/log"
if [ "$status" -ne 0 ]; then
    echo "FAIL: the fuzzer found a problem (exit $status); the input that triggered it:"
    for f in "$work"/crash-* "$work"/timeout-* "$work"/leak-* "$work"/oom-*; do
        [ -f "$f" ] && { echo "$f:"; od -c "$f" | head -20; }
    done
    exit 1
fi
