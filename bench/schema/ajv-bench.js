/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
// ajv-bench.js - ajv 8's side of bench/schema/run: the same measurement as
// bench.c (compile once, validate for a fixed time; default mode stops at
// the first error, allErrors collects them all).  One JSON line per case.
"use strict";
const fs = require("fs");
const Ajv = require("ajv");
const Ajv2020 = require("ajv/dist/2020");

const cases = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const seconds = Number(process.argv[3] || 1);
const only = process.argv[4] === undefined ? -1 : Number(process.argv[4]); // one case (by index)
const now = () => Number(process.hrtime.bigint()) / 1e9;

function make(dialect, allErrors) {
  const opts = { strict: false, allErrors, validateFormats: false };
  return dialect === "2020-12" ? new Ajv2020(opts) : new Ajv(opts);
}

const ROUNDS = 5;

// Best of ROUNDS rounds (the one least disturbed by the rest of the machine).
function measure(validate, docs) {
  let best = 0, valid = 0;
  for (let r = 0; r < ROUNDS; r++) {
    let count = 0;
    const start = now();
    let elapsed;
    do {
      for (const d of docs) {
        const ok = validate(d);
        if (r === 0 && count < docs.length && ok) valid++;
        count++;
      }
      elapsed = now() - start;
    } while (elapsed < seconds / ROUNDS);
    best = Math.max(best, count / elapsed);
  }
  return [best, valid];
}

for (const [index, c] of cases.entries()) {
  if (only >= 0 && index !== only) continue;
  // compile cost: one instance (its meta-schemas ready), a fresh copy of the
  // schema each time (ajv caches compiled schema objects)
  const compiler = make(c.dialect, false);
  const text = JSON.stringify(c.schema);
  let reps = 0;
  const t0 = now();
  do {
    compiler.compile(JSON.parse(text));
    reps++;
  } while (now() - t0 < seconds / 4);
  const compile_us = (now() - t0) / reps * 1e6;
  const [first, valid] = measure(make(c.dialect, false).compile(c.schema), c.documents);
  const [all] = measure(make(c.dialect, true).compile(c.schema), c.documents);
  console.log(JSON.stringify({ name: c.name, compile_us, first, all, valid, documents: c.documents.length,
                               version: require("ajv/package.json").version }));
}
