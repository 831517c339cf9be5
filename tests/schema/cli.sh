#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
# Tests the gearbox-json command line: exit codes, violation lines, --draft,
# --ref, standard input and format.  Usage: cli.sh PATH/TO/gearbox-json
set -u
tool=$1
dir=$(mktemp -d /tmp/gearbox-json-test.XXXXXX)
trap 'rm -rf "$dir"' EXIT
failed=0
passed=0

check() { # description, expected status, actual status
    if [ "$2" = "$3" ]; then passed=$((passed + 1)); else
        failed=$((failed + 1)); echo "FAIL: $1: exit $3, expected $2"; fi
}
check_out() { # description, expected text, actual text
    if [ "$2" = "$3" ]; then passed=$((passed + 1)); else
        failed=$((failed + 1)); printf 'FAIL: %s:\n got:      %s\n expected: %s\n' "$1" "$3" "$2"; fi
}

cat > "$dir/schema.json" <<'JSON'
// comments are fine in schema files
{ "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object", "required": ["name"],
  "properties": {"name": {"type": "string"}, "legs": {"$ref": "http://example.com/defs/legs.json"}} }
JSON
mkdir -p "$dir/defs"
echo '{"type": "integer", "minimum": 0}' > "$dir/defs/legs.json"
echo '{"name": "Wilbur", "legs": 4}' > "$dir/good.json"
echo '{"name": 7, "legs": -1}' > "$dir/bad.json"
ref="--ref http://example.com/defs/=$dir/defs"

out=$("$tool" validate $ref "$dir/schema.json" "$dir/good.json"); st=$?
check "valid instance" 0 $st
check_out "valid prints nothing" "" "$out"

out=$("$tool" validate $ref "$dir/schema.json" "$dir/bad.json"); st=$?
check "invalid instance" 1 $st
check_out "violation lines" "$(printf '/name\texpected string, got integer\t/properties/name/type\n/legs\t-1 is less than the minimum 0\t/properties/legs/$ref/minimum')" "$out"

out=$(echo '{}' | "$tool" validate $ref "$dir/schema.json" -); st=$?
check "instance from stdin" 1 $st
check_out "missing property" "$(printf '\trequired property "name" is missing\t/required')" "$out"

echo '{}' | "$tool" validate $ref "$dir/schema.json" >/dev/null; st=$?
check "instance from stdin when omitted" 1 $st

"$tool" validate "$dir/schema.json" "$dir/good.json" 2>/dev/null; st=$?
check "unresolvable \$ref without --ref" 2 $st

echo '{"type": "object", "properties": {"stuff": {"type": "string"}}}' > "$dir/legacy.js"
out=$(echo '{"x": 1}' | "$tool" validate --draft legacy "$dir/legacy.js" -); st=$?
check "legacy dialect" 1 $st
check_out "legacy text" "$(printf '\tnon-optional property "stuff" is missing\t/properties')" "$out"
echo '{"x": 1}' | "$tool" validate --draft 2020-12 "$dir/legacy.js" - >/dev/null; st=$?
check "same schema as 2020-12" 0 $st

echo '{"type": "strnig"}' > "$dir/broken.json"
echo 1 | "$tool" validate "$dir/broken.json" - 2>/dev/null; st=$?
check "invalid schema" 2 $st
echo '{' > "$dir/malformed.json"
"$tool" validate "$dir/schema.json" "$dir/malformed.json" 2>/dev/null; st=$?
check "malformed instance" 2 $st
"$tool" validate "$dir/missing.json" "$dir/good.json" 2>/dev/null; st=$?
check "missing schema file" 2 $st
"$tool" validate --draft 5 "$dir/schema.json" "$dir/good.json" 2>/dev/null; st=$?
check "unknown draft" 2 $st
"$tool" validate 2>/dev/null; st=$?
check "no schema" 2 $st
"$tool" frobnicate 2>/dev/null; st=$?
check "unknown command" 2 $st
"$tool" --help | grep -q "gearbox-json validate"; st=$?
check "--help" 0 $st

echo '{"format": "email"}' > "$dir/email.json"
echo '"not-an-email"' | "$tool" validate "$dir/email.json" - >/dev/null; st=$?
check "formats are annotations by default" 0 $st
echo '"not-an-email"' | "$tool" validate --formats "$dir/email.json" - >/dev/null; st=$?
check "--formats asserts" 1 $st

out=$(printf '{"a":[1,2],// c\n"b":{}}' | "$tool" format); st=$?
check "format" 0 $st
check_out "format output" "$(printf '{\n  "a": [\n    1,\n    2\n  ],\n  "b": {}\n}')" "$out"
"$tool" format "$dir/malformed.json" 2>/dev/null; st=$?
check "format malformed" 1 $st

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
