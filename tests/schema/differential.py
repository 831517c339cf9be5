#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""Differential test: gearbox's validator against Debian's python3-jsonschema
on generated schemas and documents.

    /usr/bin/python3 differential.py --batch PATH/TO/schema-batch [--count N] [--seed S]

Generates N (schema, instance) pairs from a fixed seed (deterministic),
spread over draft 4, 6, 7, 2019-09 and 2020-12, asks both validators for a
verdict and fails on any disagreement, printing the case.  The generator
keeps to what both sides define identically: no "format", patterns in plain
ASCII, multipleOf with values that are exact in binary floating point
(python-jsonschema divides floats, gearbox computes on decimals), integers
well inside 64 bits.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

try:
    import jsonschema
except ImportError:
    print("FAIL: python3-jsonschema is not installed for /usr/bin/python3 "
          "(packaging/apt-packages.txt lists it)")
    sys.exit(1)

VALIDATORS = {
    "draft4": jsonschema.Draft4Validator,
    "draft6": jsonschema.Draft6Validator,
    "draft7": jsonschema.Draft7Validator,
    "2019-09": jsonschema.Draft201909Validator,
    "2020-12": jsonschema.Draft202012Validator,
}
ORDER = ["draft4", "draft6", "draft7", "2019-09", "2020-12"]
TYPES = ["null", "boolean", "object", "array", "number", "string", "integer"]
PATTERNS = ["^a", "b$", "^[a-c]+$", "a+b*", "^\\d{2,3}$", "x|y", "^(ab)+$", "[0-9]", "^.$", "^$"]
NAMES = ["a", "b", "c", "d", "foo", "bar"]
MULTIPLES = [1, 2, 3, 5, 0.5, 0.25, 1.5, 10]


class Gen:
    def __init__(self, rnd, dialect):
        self.r = rnd
        self.d = dialect
        self.level = ORDER.index(dialect)

    def at_least(self, d):
        return self.level >= ORDER.index(d)

    def number(self):
        r = self.r
        return r.choice([r.randint(-5, 10), r.randint(-5, 10) + r.choice([0.5, 0.25, 0.0]), 0, 1, -1])

    def scalar(self):
        r = self.r
        return r.choice([None, True, False, r.randint(-3, 12), r.choice([0.5, 1.0, 2.5, -1.5]),
                         r.choice(["", "a", "ab", "abc", "b", "12", "123", "x", "aab", "bar"])])

    def value(self, depth=0):
        r = self.r
        k = r.random()
        if depth > 2 or k < 0.5:
            return self.scalar()
        if k < 0.75:
            return [self.value(depth + 1) for _ in range(r.randint(0, 4))]
        return {r.choice(NAMES): self.value(depth + 1) for _ in range(r.randint(0, 4))}

    def schema(self, depth=0):
        r = self.r
        if self.at_least("draft6") and r.random() < 0.08:
            return r.choice([True, False])
        s = {}
        for _ in range(r.randint(1, 4 if depth < 2 else 2)):
            self.keyword(s, depth)
        return s

    def keyword(self, s, depth):
        r = self.r
        choices = ["type", "enum", "num", "str", "arr", "obj", "comb", "uniq"]
        if self.at_least("draft6"):
            choices += ["const", "contains", "propertyNames"]
        if self.at_least("draft7"):
            choices += ["if"]
        if self.at_least("2019-09"):
            choices += ["deps", "uneval"]
        k = r.choice(choices)
        sub = lambda: self.schema(depth + 1)
        if k == "type":
            if r.random() < 0.7:
                s["type"] = r.choice(TYPES)
            else:
                s["type"] = r.sample(TYPES, r.randint(1, 3))
        elif k == "enum":
            s["enum"] = [self.value(2) for _ in range(r.randint(1, 4))]
        elif k == "const":
            s["const"] = self.value(1)
        elif k == "num":
            kw = r.choice(["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"])
            if kw == "multipleOf":
                s[kw] = r.choice(MULTIPLES)
            elif kw.startswith("exclusive") and not self.at_least("draft6"):
                s[kw.replace("exclusiveM", "m")] = self.number()
                s[kw] = r.choice([True, False])
            else:
                s[kw] = self.number()
        elif k == "str":
            kw = r.choice(["minLength", "maxLength", "pattern"])
            s[kw] = r.choice(PATTERNS) if kw == "pattern" else r.randint(0, 3)
        elif k == "arr":
            kw = r.choice(["items", "tuple", "minItems", "maxItems", "additionalItems"])
            if kw == "items":
                s["items"] = sub()
            elif kw == "tuple":
                if self.d == "2020-12":
                    s["prefixItems"] = [sub() for _ in range(r.randint(1, 3))]
                    if r.random() < 0.5:
                        s["items"] = sub()
                else:
                    s["items"] = [sub() for _ in range(r.randint(1, 3))]
                    if r.random() < 0.5:
                        s["additionalItems"] = sub() if self.at_least("draft6") else r.choice([False, {"type": "integer"}])
            elif kw == "additionalItems" and self.d != "2020-12":
                s["items"] = [sub()]
                s["additionalItems"] = r.choice([False, {"type": "string"}]) if not self.at_least("draft6") else sub()
            else:
                s[kw if kw != "additionalItems" else "minItems"] = r.randint(0, 3)
        elif k == "obj":
            kw = r.choice(["properties", "required", "additionalProperties", "patternProperties",
                           "minProperties", "maxProperties"])
            if kw == "properties":
                s["properties"] = {n: sub() for n in r.sample(NAMES, r.randint(1, 3))}
            elif kw == "required":
                s["required"] = r.sample(NAMES, r.randint(1, 2))
            elif kw == "additionalProperties":
                s.setdefault("properties", {r.choice(NAMES): sub()})
                s["additionalProperties"] = r.choice([False, {"type": "integer"}]) if not self.at_least("draft6") else sub()
            elif kw == "patternProperties":
                s["patternProperties"] = {r.choice(["^a", "o", "^b.r$"]): sub()}
            else:
                s[kw] = r.randint(0, 3)
        elif k == "comb":
            # "#/..." names the document root: refs only there
            kw = r.choice(["allOf", "anyOf", "oneOf", "not"] + (["ref"] if depth == 0 else []))
            if kw == "not":
                s["not"] = sub()
            elif kw == "ref":
                defs = "$defs" if self.at_least("2019-09") else "definitions"
                s[defs] = {"x": sub()}
                ref = {"$ref": "#/%s/x" % defs}
                if self.at_least("2019-09"):
                    s.update(ref)
                else:
                    s["allOf"] = [ref]
            else:
                s[kw] = [sub() for _ in range(r.randint(1, 3))]
        elif k == "uniq":
            s["uniqueItems"] = r.choice([True, False])
        elif k == "contains":
            s["contains"] = sub()
            if self.at_least("2019-09") and r.random() < 0.5:
                s[r.choice(["minContains", "maxContains"])] = r.randint(0, 2)
        elif k == "propertyNames":
            s["propertyNames"] = r.choice([{"maxLength": 1}, {"pattern": "^[a-c]"}, {"enum": ["a", "foo"]}])
        elif k == "if":
            s["if"] = sub()
            if r.random() < 0.8:
                s["then"] = sub()
            if r.random() < 0.8:
                s["else"] = sub()
        elif k == "deps":
            if r.random() < 0.5:
                s["dependentRequired"] = {r.choice(NAMES): r.sample(NAMES, r.randint(0, 2))}
            else:
                s["dependentSchemas"] = {r.choice(NAMES): sub()}
        elif k == "uneval":
            if r.random() < 0.5:
                s.setdefault("properties", {r.choice(NAMES): sub()})
                if r.random() < 0.5:
                    s["allOf"] = [{"properties": {r.choice(NAMES): True}}]
                s["unevaluatedProperties"] = r.choice([False, sub()])
            else:
                if self.d == "2020-12":
                    s.setdefault("prefixItems", [sub()])
                else:
                    s.setdefault("items", [sub()])
                if r.random() < 0.5:
                    s["anyOf"] = [{"contains": {"type": "string"}}, True] if self.d == "2020-12" else [True]
                s["unevaluatedItems"] = r.choice([False, sub()])

    def instance_for(self, schema):
        # mostly random values; sometimes something shaped by the schema
        r = self.r
        if isinstance(schema, dict) and r.random() < 0.5:
            if "properties" in schema or "required" in schema:
                names = list(schema.get("properties", {})) + list(schema.get("required", [])) + NAMES
                return {n: self.value(1) for n in r.sample(names, min(len(names), r.randint(0, 4)))}
            if "enum" in schema and r.random() < 0.5:
                return r.choice(schema["enum"])
            if "const" in schema and r.random() < 0.5:
                return schema["const"]
        return self.value()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", required=True)
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=20240601)
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    cases, expected = [], []
    python_crashes = 0
    for i in range(args.count):
        dialect = ORDER[i % len(ORDER)]
        g = Gen(rnd, dialect)
        schema = g.schema()
        instance = g.instance_for(schema)
        cls = VALIDATORS[dialect]
        try:
            cls.check_schema(schema)
        except jsonschema.SchemaError:
            continue
        try:
            verdict = cls(schema).is_valid(instance)
        except Exception:  # python-jsonschema 4.10 crashes on a few (e.g. formatting additionalItems errors)
            python_crashes += 1
            continue
        cases.append({"dialect": dialect, "schema": schema, "instance": instance})
        expected.append(verdict)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(cases, f)
        path = f.name
    try:
        out = subprocess.run([args.batch, path], capture_output=True, text=True, timeout=600)
    finally:
        os.unlink(path)
    if out.returncode != 0:
        print("FAIL: schema-batch exited %d: %s" % (out.returncode, out.stderr))
        return 1
    lines = out.stdout.splitlines()
    if len(lines) != len(cases):
        print("FAIL: %d verdicts for %d cases" % (len(lines), len(cases)))
        return 1
    mismatches = 0
    per = {d: [0, 0] for d in ORDER}
    for case, want, got in zip(cases, expected, lines):
        per[case["dialect"]][0] += 1
        ok = got in ("0", "1") and (got == "1") == want
        if not ok:
            mismatches += 1
            per[case["dialect"]][1] += 1
            if mismatches <= 20:
                print("MISMATCH %s: python-jsonschema says %s, gearbox says %s\n  schema:   %s\n  instance: %s"
                      % (case["dialect"], "valid" if want else "invalid", got,
                         json.dumps(case["schema"]), json.dumps(case["instance"])))
    valid = sum(expected)
    print("%d cases (%d valid, %d invalid; seed %d), %d disagreement(s); %d generated case(s) dropped "
          "because python-jsonschema raised" % (len(cases), valid, len(cases) - valid, args.seed, mismatches,
                                                python_crashes))
    for d in ORDER:
        print("  %-8s %5d cases, %d disagreement(s)" % (d, per[d][0], per[d][1]))
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
