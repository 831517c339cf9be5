#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""Writes the benchmark cases (JSON on stdout): schemas and documents that
gearbox and ajv validate side by side.  Deterministic (fixed seed)."""
import json
import random

r = random.Random(7)


def person(valid=True):
    p = {
        "id": r.randint(1, 10**6),
        "name": r.choice(["Wilbur", "Charlotte", "Templeton", "Fern", "Avery"]) + str(r.randint(1, 99)),
        "email": "user%d@example.com" % r.randint(1, 9999),
        "age": r.randint(0, 120),
        "score": round(r.uniform(0, 100), 2),
        "active": r.choice([True, False]),
        "tags": r.sample(["pig", "spider", "rat", "goose", "sheep", "barn"], r.randint(0, 4)),
        "role": r.choice(["admin", "user", "guest"]),
        "address": {"street": "%d Farm Road" % r.randint(1, 999), "city": "Somewhere",
                    "zip": "%05d" % r.randint(0, 99999)},
    }
    if not valid:
        k = r.choice(["age", "role", "zip", "extra", "name"])
        if k == "age":
            p["age"] = -3
        elif k == "role":
            p["role"] = "root"
        elif k == "zip":
            p["address"]["zip"] = "12a45"
        elif k == "extra":
            p["unexpected"] = 1
        else:
            del p["name"]
    return p


person_props = {
    "id": {"type": "integer", "minimum": 1},
    "name": {"type": "string", "minLength": 1, "maxLength": 64},
    "email": {"type": "string", "pattern": "^[^@]+@[^@]+\\.[a-z]+$"},
    "age": {"type": "integer", "minimum": 0, "maximum": 150},
    "score": {"type": "number", "minimum": 0, "maximum": 100},
    "active": {"type": "boolean"},
    "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True, "maxItems": 10},
    "role": {"enum": ["admin", "user", "guest"]},
    "address": {
        "type": "object",
        "properties": {"street": {"type": "string"}, "city": {"type": "string"},
                       "zip": {"type": "string", "pattern": "^[0-9]{5}$"}},
        "required": ["street", "city", "zip"],
        "additionalProperties": False,
    },
}


def tree(depth):
    node = {"value": r.randint(0, 1000), "label": "n%d" % r.randint(0, 99)}
    if depth > 0:
        node["children"] = [tree(depth - 1) for _ in range(3)]
    return node


cases = []

cases.append({
    "name": "flat record, draft-07 (100 docs, 20% invalid)",
    "dialect": "draft7",
    "schema": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
               "properties": person_props, "required": ["id", "name", "email", "role"],
               "additionalProperties": False},
    "documents": [person(valid=(i % 5 != 0)) for i in range(100)],
})

cases.append({
    "name": "array of 1,000 records, 2020-12 ($ref to $defs)",
    "dialect": "2020-12",
    "schema": {"$schema": "https://json-schema.org/draft/2020-12/schema",
               "type": "array", "items": {"$ref": "#/$defs/person"}, "minItems": 1,
               "$defs": {"person": {"type": "object", "properties": person_props,
                                    "required": ["id", "name", "email", "role"],
                                    "additionalProperties": False}}},
    "documents": [[person() for _ in range(1000)],
                  [person() for _ in range(999)] + [person(valid=False)]],
})

cases.append({
    "name": "recursive tree of 1,093 nodes, 2020-12",
    "dialect": "2020-12",
    "schema": {"$schema": "https://json-schema.org/draft/2020-12/schema", "$ref": "#/$defs/node",
               "$defs": {"node": {"type": "object", "required": ["value"],
                                  "properties": {"value": {"type": "integer"},
                                                 "label": {"type": "string", "maxLength": 8},
                                                 "children": {"type": "array",
                                                              "items": {"$ref": "#/$defs/node"}}},
                                  "additionalProperties": False}}},
    "documents": [tree(6)],
})

shapes = [{"kind": "circle", "r": 2.5}, {"kind": "rect", "w": 2, "h": 3}, {"kind": "tri", "a": 1, "b": 1, "c": 1},
          {"kind": "rect", "w": -1, "h": 3}, {"kind": "blob"}]
cases.append({
    "name": "oneOf / if-then-else unions, draft-07 (200 docs)",
    "dialect": "draft7",
    "schema": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
               "required": ["kind"],
               "oneOf": [
                   {"properties": {"kind": {"const": "circle"}, "r": {"type": "number", "exclusiveMinimum": 0}},
                    "required": ["r"]},
                   {"properties": {"kind": {"const": "rect"}, "w": {"type": "number", "minimum": 0},
                                   "h": {"type": "number", "minimum": 0}}, "required": ["w", "h"]},
                   {"properties": {"kind": {"const": "tri"}}, "required": ["a", "b", "c"]}],
               "if": {"properties": {"kind": {"const": "rect"}}},
               "then": {"properties": {"w": {"multipleOf": 1}}},
               "else": {"not": {"required": ["w"]}}},
    "documents": [r.choice(shapes) for _ in range(200)],
})

cases.append({
    "name": "unevaluatedProperties + allOf, 2020-12 (100 docs)",
    "dialect": "2020-12",
    "schema": {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
               "allOf": [{"properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
                         {"properties": {"age": {"type": "integer"}, "email": {"type": "string"}}}],
               "properties": {"role": {"type": "string"}},
               "unevaluatedProperties": False},
    "documents": [{k: v for k, v in person(valid=True).items() if k in ("id", "name", "age", "email", "role")
                   or i % 4 == 0} for i in range(100)],
})

cases.append({
    "name": "job envelope, draft-07 (Gearbox's workload)",
    "dialect": "draft7",
    "schema": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
               "required": ["version", "name", "job_type", "operation", "component", "resource"],
               "properties": {
                   "version": {"const": 1}, "name": {"type": "string", "pattern": "^do_[a-z]+_[a-z]+_[a-z]+_v[0-9]+$"},
                   "job_type": {"enum": ["sync", "async"]},
                   "operation": {"enum": ["get", "create", "update", "delete"]},
                   "component": {"type": "string"},
                   "resource": {"type": "object", "properties": {"type": {"type": "string"}, "name": {"type": "string"}},
                                "required": ["type"]},
                   "status": {"type": "string", "pattern": "^s-[0-9a-z]{26}$"},
                   "base_uri": {"type": "string"},
                   "arguments": {"type": "array", "items": {"type": "string"}},
                   "matrix_arguments": {"type": "object", "additionalProperties": {"type": "string"}},
                   "query_params": {"type": "object", "additionalProperties": {"type": "string"}},
                   "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                   "environ": {"type": "object", "additionalProperties": {"type": "string"}},
                   "remote": {"type": "object", "properties": {"ip": {"type": "string"}, "user": {"type": "string"}}},
                   "content": {"type": "string"}},
               "additionalProperties": True},
    "documents": [{"version": 1, "name": "do_put_barn_animal_v1", "job_type": "async", "operation": "create",
                   "component": "barn", "resource": {"type": "animal", "name": "Wilbur"},
                   "status": "s-6xh9p61rczmddwett5ahzwmke1", "base_uri": "http://127.0.0.1:4080/barn/v1",
                   "arguments": ["Wilbur"], "matrix_arguments": {}, "query_params": {"verbose": "1"},
                   "headers": {"content-type": "application/json", "user-agent": "curl/7.88.1",
                               "accept": "*/*", "host": "127.0.0.1:4080"},
                   "environ": {"TIER": "demo"}, "remote": {"ip": "127.0.0.1", "user": ""},
                   "content": "{\"name\":\"Wilbur\",\"legs\":4}"}],
})

print(json.dumps(cases))
