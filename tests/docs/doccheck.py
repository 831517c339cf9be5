#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""doccheck: runs the `$ curl` examples of a Markdown doc against a gateway
and compares what the doc shows with what the gateway answers.

    tests/docs/doccheck.py [--base http://127.0.0.1:4080] README.md docs/orchestration.md

The convention (docs/testing.md#doc-curl-blocks explains it with examples):

* A fenced block that holds a line starting with `$ curl` is checked; the
  others are not.  Each `$ curl …` line (continued on the next lines while a
  quote is open or the line ends in `\\`) is run with the real curl; a `#`
  outside quotes starts a comment.  Every other `$ ` line in such a block
  is an error (mark the block).
* The lines after a command, up to the next `$ ` line, are what the doc
  shows.  Lines starting with `#` are prose and are not checked.  What is
  left is an optional `HTTP/1.1 <code> …` line with headers (`curl -i`),
  then zero or more JSON values, written over as many lines as needed (a
  line break is dropped: inside a string, the next line's leading space is
  the one space of the text).
* The HTTP status: the one shown; otherwise the body's `code` when the body
  shown is the answer, its `code` is 400 or more and the command is not a
  GET of a status (a status is read with 200 whatever its code); otherwise
  any 2xx.
* A JSON object is compared field by field.  `...` or `…` in place of
  members means "more fields follow" (otherwise the keys must be exactly
  those shown); in an array, "zero or more elements here" (otherwise the
  lengths must agree); inside a string, any text.  Numbers of 10 digits
  (unix times, also inside strings, with decimals) match any such number.
  Generated ids (`s-`, `a-`, … + 26 characters) are names: the first time the doc shows
  one where the answer has another, the doc's id stands for the answer's id
  from then on, in outputs and in later commands.  `127.0.0.1:4080` is the
  gateway under test.
* A command with `-w`/`--write-out` is compared as text: its output (for
  `-o /dev/null -w '%{http_code}'`, the code) against the lines shown.
  Pipes, redirections and `;`/`&&` are errors (mark the block).
* In a command, `s-…`, `s-...` or an id the doc has not shown yet stands for
  the status of the latest answer that had a `status_uri`; `'<the same
  body>'` is the body of the previous command.
* A GET of a status whose shown body has a `state` is repeated until the
  status is in that state (or in another final one), within the bound.
* When the answer is a 202 with a status and the output shows no `HTTP/`
  line, the first JSON value shown is that answer, unless the block says
  `wait-for` (below); any further JSON value shown is the same status later,
  polled until it is in the state shown (COMPLETED when none is shown).
* Markers, HTML comments on the lines just before a block's fence:
    <!-- doccheck: skip REASON -->       the block is not run (say why)
    <!-- doccheck: wait-for STATE -->    the first JSON value shown after an
                                         async command is its status once in
                                         STATE ("# then its status:")
    <!-- doccheck: vary FIELD…: REASON --> those fields (names separated by
                                         spaces or commas) are only checked to
                                         be there, wherever they appear in the
                                         block (timing-dependent values)
"""

import argparse
import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

DOC_BASE = "http://127.0.0.1:4080"
CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
ID = "s-[%s]{26}" % CROCKFORD
ID_RE = re.compile(ID)
# Any generated id (gen_id: a prefix, "-", 26 characters): status ids and
# generated resource names such as a-… alike.
GENERATED_ID = "[a-z]+-[%s]{26}" % CROCKFORD
PLACEHOLDER_ID_RE = re.compile(r"s-(?:[%s]{26}|…|\.\.\.)" % CROCKFORD)
TIME_RE = re.compile(r"(?<![0-9])[0-9]{10}(?:\.[0-9]+)?(?![0-9])")
ELLIPSIS_RE = re.compile(r"\.\.\.|…")
FENCE_RE = re.compile(r"^\s*(```+|~~~+)")
MARKER_RE = re.compile(r"<!--\s*doccheck:\s*(.*?)\s*-->")
FINAL_STATES = ("COMPLETED", "CANCELLED")
ELLIPSIS = "\u0000..."  # stands for `...` in a parsed expected value
BOUND = 90.0  # seconds a poll may take


class DocError(Exception):
    """The doc cannot be checked as written (a parse problem, not a mismatch)."""


# ---- reading the doc -------------------------------------------------------

class Command:
    def __init__(self, line, text, shown, block):
        self.line = line        # 1-based line of the `$ curl`
        self.text = text        # the command, without `$ `, lines joined by \n
        self.shown = shown      # [(line number, text)] of the output shown
        self.block = block


class Block:
    def __init__(self, line, markers):
        self.line = line
        self.skip = None
        self.wait_for = None
        self.vary = set()
        self.commands = []
        for m in markers:
            word, _, rest = m.partition(" ")
            if word == "skip":
                self.skip = rest or "no reason given"
            elif word == "wait-for" and rest.split():
                self.wait_for = rest.split()[0]
            elif word == "vary" and rest.split(":")[0].strip():
                self.vary.update(re.split(r"[\s,]+", rest.split(":")[0].strip()))
            else:
                raise DocError("line %d: unknown doccheck marker %r" % (line, m))


def command_complete(text):
    if text.endswith("\\"):
        return False
    try:
        shlex.split(text, comments=True)
    except ValueError:  # an open quote
        return False
    return True


def read_blocks(path):
    """The fenced blocks of `path` that hold `$ curl` commands."""
    lines = Path(path).read_text().splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        m = FENCE_RE.match(lines[i])
        if not m:
            i += 1
            continue
        fence = m.group(1)
        markers = []
        j = i - 1
        while j >= 0 and (MARKER_RE.search(lines[j]) or not lines[j].strip()):
            mm = MARKER_RE.search(lines[j])
            if mm:
                markers.insert(0, mm.group(1))
            elif markers:
                break
            j -= 1
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        body = lines[i + 1:end]
        if any(l.startswith("$ curl") for l in body):
            block = Block(i + 1, markers)
            parse_block(block, body, i + 2)
            blocks.append(block)
        elif markers:
            raise DocError("line %d: a doccheck marker before a block without `$ curl`" % (i + 1))
        i = end + 1
    return blocks


def parse_block(block, body, first_line):
    k = 0
    while k < len(body):
        line = body[k]
        if not line.startswith("$ "):
            if line.strip() and not line.lstrip().startswith("#"):
                raise DocError("line %d: output before any `$ curl` command" % (first_line + k))
            k += 1
            continue
        start = k
        text = line[2:]
        while not command_complete(text) and k + 1 < len(body):
            k += 1
            text += "\n" + body[k]
        if not command_complete(text):
            raise DocError("line %d: the command never ends (an open quote?)" % (first_line + start))
        k += 1
        shown = []
        while k < len(body) and not body[k].startswith("$ "):
            shown.append((first_line + k, body[k]))
            k += 1
        if not text.startswith("curl "):
            if block.skip:
                continue
            raise DocError("line %d: `$ %s` is not a curl command: mark the block "
                           "<!-- doccheck: skip REASON -->" % (first_line + start, text.split()[0]))
        block.commands.append(Command(first_line + start, text, shown, block))


def parse_shown(cmd):
    """(status code or None, {header: value}, [JSON values]) that the doc shows."""
    lines = [(n, l) for n, l in cmd.shown if not l.lstrip().startswith("#")]
    status, headers = None, {}
    if lines and lines[0][1].startswith("HTTP/"):
        status = int(lines[0][1].split()[1])
        lines = lines[1:]
        while lines and lines[0][1].strip():
            name, _, value = lines[0][1].partition(":")
            headers[name.strip().lower()] = value.strip()
            lines = lines[1:]
    text = "".join(l for _, l in lines)
    values = []
    try:
        decoder = json.JSONDecoder()
        prepared = prepare_json(text)
        pos = 0
        while True:
            while pos < len(prepared) and prepared[pos].isspace():
                pos += 1
            if pos == len(prepared):
                break
            value, pos = decoder.raw_decode(prepared, pos)
            values.append(value)
    except ValueError as e:
        raise DocError("line %d: the output shown is not JSON with `...` (%s)" % (cmd.line, e))
    return status, headers, values


def prepare_json(text):
    """JSON text with `...`/`…` outside strings made parseable: an ELLIPSIS
    member (a unique key) in objects, an ELLIPSIS element in arrays."""
    out, stack, i, n = [], [], 0, 0
    while i < len(text):
        c = text[i]
        if c == '"':
            j = i + 1
            while j < len(text) and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
            continue
        m = ELLIPSIS_RE.match(text, i)
        if m:
            if stack and stack[-1] == "{":
                out.append(json.dumps("%s%d" % (ELLIPSIS, n)) + ":null")
                n += 1
            else:
                out.append(json.dumps(ELLIPSIS))
            i = m.end()
            continue
        if c in "{[":
            stack.append(c)
        elif c in "}]" and stack:
            stack.pop()
        out.append(c)
        i += 1
    return "".join(out)


# ---- comparing -------------------------------------------------------------

class Checker:
    """Runs the commands of one doc against `base`, keeping the ids learnt."""

    def __init__(self, base, log=print):
        self.base = base.rstrip("/")
        self.ids = {}           # doc id -> the id the gateway gave
        self.latest = None      # id of the latest answer with a status_uri
        self.previous_body = None
        self.log = log

    # A string the doc shows, as a regex over the gateway's string.
    def pattern(self, expected):
        expected = expected.replace(DOC_BASE, self.base)
        parts = []
        pos = 0
        token = re.compile(r"(%s)|(%s)|(%s)" % (GENERATED_ID, TIME_RE.pattern, ELLIPSIS_RE.pattern))
        groups = []
        for m in token.finditer(expected):
            parts.append(re.escape(expected[pos:m.start()]))
            if m.group(1):
                parts.append("(%s)" % GENERATED_ID)
                groups.append(m.group(1))
            elif m.group(2):
                parts.append(TIME_RE.pattern)
            else:
                parts.append(".*?")
            pos = m.end()
        parts.append(re.escape(expected[pos:]))
        return re.compile("".join(parts), re.S), groups

    def match_string(self, expected, actual, where, errors):
        rx, doc_ids = self.pattern(expected)
        m = rx.fullmatch(actual)
        if not m:
            errors.append("%s: expected %s, got %s" % (where, json.dumps(expected), json.dumps(actual)))
            return
        for doc_id, real in zip(doc_ids, m.groups()):
            known = self.ids.setdefault(doc_id, real)
            if known != real:
                errors.append("%s: %s stands for %s earlier, here for %s" % (where, doc_id, known, real))

    def compare(self, expected, actual, where, vary, errors):
        if isinstance(expected, dict):
            if not isinstance(actual, dict):
                errors.append("%s: expected an object, got %s" % (where, json.dumps(actual)))
                return
            open_ = any(k.startswith(ELLIPSIS) for k in expected)
            keys = [k for k in expected if not k.startswith(ELLIPSIS)]
            missing = [k for k in keys if k not in actual]
            if missing:
                errors.append("%s: missing %s (the answer has %s)" % (where, ", ".join(missing),
                                                                       ", ".join(actual)))
            if not open_:
                extra = [k for k in actual if k not in expected]
                if extra:
                    errors.append("%s: the answer also has %s (add them, or `...`)"
                                  % (where, ", ".join('"%s":%s' % (k, json.dumps(actual[k])) for k in extra)))
            for k in keys:
                if k in actual and k not in vary:
                    self.compare(expected[k], actual[k], "%s.%s" % (where, k), vary, errors)
        elif isinstance(expected, list):
            if not isinstance(actual, list):
                errors.append("%s: expected an array, got %s" % (where, json.dumps(actual)))
                return
            if not self.match_list(expected, actual, where, vary, []):
                mismatch = []
                self.match_list(expected, actual, where, vary, mismatch, report=True)
                errors.extend(mismatch or ["%s: expected %s, got %s" % (where, render(expected),
                                                                        json.dumps(actual))])
        elif isinstance(expected, str):
            if not isinstance(actual, str):
                errors.append("%s: expected a string, got %s" % (where, json.dumps(actual)))
            else:
                self.match_string(expected, actual, where, errors)
        elif isinstance(expected, bool) or expected is None:
            if expected is not actual:
                errors.append("%s: expected %s, got %s" % (where, json.dumps(expected), json.dumps(actual)))
        elif isinstance(expected, (int, float)):
            is_time = 10 ** 9 <= expected < 10 ** 10
            ok = (isinstance(actual, (int, float)) and not isinstance(actual, bool)
                  and (10 ** 9 <= actual < 10 ** 10 if is_time else actual == expected))
            if not ok:
                errors.append("%s: expected %s, got %s" % (where, json.dumps(expected), json.dumps(actual)))

    def match_list(self, expected, actual, where, vary, errors, report=False):
        """Matches element by element, ELLIPSIS taking any run of elements;
        ids are only learnt from the match that succeeds."""
        def trial(e, a, path):
            errs = []
            saved = dict(self.ids)
            self.compare(e, a, path, vary, errs)
            if errs:
                self.ids = saved
            return errs

        def go(i, j):
            if i == len(expected):
                return j == len(actual)
            if expected[i] == ELLIPSIS:
                return any(go(i + 1, k) for k in range(j, len(actual) + 1))
            if j == len(actual):
                return False
            saved = dict(self.ids)
            if trial(expected[i], actual[j], "%s[%d]" % (where, j)):
                return False
            if go(i + 1, j + 1):
                return True
            self.ids = saved
            return False

        if go(0, 0):
            return True
        if report and ELLIPSIS not in expected and len(expected) == len(actual):
            for j, (e, a) in enumerate(zip(expected, actual)):
                errors.extend(trial(e, a, "%s[%d]" % (where, j)))
        return False

    # ---- running ---------------------------------------------------------

    def substitute(self, text):
        text = text.replace(DOC_BASE, self.base)

        def one(m):
            doc_id = m.group(0)
            if doc_id in self.ids:
                return self.ids[doc_id]
            if self.latest is None:
                raise DocError("%s: no earlier answer had a status" % doc_id)
            if ID_RE.fullmatch(doc_id):
                self.ids[doc_id] = self.latest
            return self.latest
        return PLACEHOLDER_ID_RE.sub(one, text)

    def run_curl(self, argv):
        r = subprocess.run(["curl", "-s", "-i", "--max-time", "60"] + argv[1:],
                           capture_output=True, timeout=90)
        if r.returncode != 0:
            raise DocError("curl exited with %d: %s" % (r.returncode, r.stderr.decode(errors="replace")))
        return parse_http(r.stdout)

    def check_command(self, cmd):
        """[mismatch] of one command; raises DocError when it cannot run."""
        text = self.substitute(cmd.text).replace("\\\n", " ")
        argv = shlex.split(text, comments=True)
        bad = [a for a in argv if a in ("|", "||", "&&", ";", ">", "<", "&")]
        if bad:
            raise DocError("`%s` in a command: only a single curl runs; mark the block" % bad[0])
        if any(a in ("-w", "--write-out") for a in argv):
            return self.check_write_out(cmd, argv)
        status, headers, values = parse_shown(cmd)
        body = data_of(argv)
        if body == "<the same body>":
            if self.previous_body is None:
                raise DocError("'<the same body>' with no earlier body")
            argv[argv.index(body)] = self.previous_body
            body = self.previous_body
        self.previous_body = body
        url = next((a for a in argv if a.startswith(self.base)), None)
        method = method_of(argv)
        errors = []
        first = values[0] if values else None
        polled = (method == "GET" and url and "/status/" in url and isinstance(first, dict)
                  and isinstance(first.get("state"), str))
        if polled:
            code, got_headers, got = self.poll(lambda: self.run_curl(argv), first["state"])
        else:
            code, got_headers, got = self.run_curl(argv)
        status_uri = got.get("status_uri") if isinstance(got, dict) else None
        if isinstance(status_uri, str) and ID_RE.search(status_uri):
            self.latest = ID_RE.search(status_uri).group(0)
        later = values
        answer_shown = True
        if status is None and code == 202 and status_uri and values and cmd.block.wait_for:
            answer_shown = False  # the first value is the status once in wait_for
        # The HTTP status.
        if status is not None:
            want = status
        elif answer_shown and isinstance(first, dict) and isinstance(first.get("code"), int) \
                and first["code"] >= 400 and not (method == "GET" and "/status/" in (url or "")):
            want = first["code"]
        else:
            want = None
        if want is not None and code != want:
            errors.append("HTTP status: expected %d, got %d" % (want, code))
        elif want is None and not 200 <= code < 300:
            errors.append("HTTP status: expected 2xx, got %d (%s)" % (code, json.dumps(got)[:300]))
        for name, value in headers.items():
            if name not in got_headers:
                errors.append("header %s: missing" % name)
            else:
                self.match_string(value, got_headers[name], "header " + name, errors)
        vary = cmd.block.vary
        if answer_shown and values:
            self.compare(values[0], got, "answer", vary, errors)
            later = values[1:]
        for n, expected in enumerate(later):
            if not status_uri:
                errors.append("the doc shows more than one value, but the answer has no status_uri")
                break
            state = cmd.block.wait_for if (n == 0 and not answer_shown) else None
            if state is None:
                state = expected.get("state", "COMPLETED") if isinstance(expected, dict) else "COMPLETED"
            _, _, now = self.poll(lambda: self.run_curl(["curl", status_uri]), state)
            self.compare(expected, now, "its status (%s)" % state, vary, errors)
        return errors

    def check_write_out(self, cmd, argv):
        """A `-w` command: its output (e.g. `-o /dev/null -w '%{http_code}'`)
        is compared as text, lines without `#`, ids, times and `...` masked."""
        shown = "\n".join(l for _, l in cmd.shown if not l.lstrip().startswith("#")).strip()
        r = subprocess.run(["curl", "-s", "--max-time", "60"] + argv[1:], capture_output=True, timeout=90)
        if r.returncode != 0:
            raise DocError("curl exited with %d: %s" % (r.returncode, r.stderr.decode(errors="replace")))
        errors = []
        self.match_string(shown, r.stdout.decode(errors="replace").strip(), "output", errors)
        return errors

    def poll(self, fetch, state):
        """Fetches until the body's state is `state` or another final one."""
        deadline = time.monotonic() + BOUND
        while True:
            code, headers, got = fetch()
            now = got.get("state") if isinstance(got, dict) else None
            if now == state or (now in FINAL_STATES and state not in ("STOPPING", "STOPPED", "CANCELLING")) \
                    or code >= 400 or time.monotonic() > deadline:
                return code, headers, got
            time.sleep(0.1)

    def check_doc(self, path, name=None):
        """(commands run, [failure text]) for one doc, named `name` in the text."""
        failures, run = [], 0
        name = name or str(path)
        for block in read_blocks(path):
            if block.skip:
                self.log("%s:%d: skipped: %s" % (name, block.line, block.skip))
                continue
            for cmd in block.commands:
                run += 1
                try:
                    errors = self.check_command(cmd)
                except DocError as e:
                    errors = ["cannot check: %s" % e]
                first = cmd.text.splitlines()[0]
                if errors:
                    failures.append("%s:%d: $ %s\n    %s" % (name, cmd.line, first, "\n    ".join(errors)))
                    self.log("%s:%d: MISMATCH $ %s" % (name, cmd.line, first))
                else:
                    self.log("%s:%d: ok $ %s" % (name, cmd.line, first))
        return run, failures


def render(value):
    return json.dumps(value).replace(json.dumps(ELLIPSIS), "...")


def data_of(argv):
    for i, a in enumerate(argv[:-1]):
        if a in ("-d", "--data", "--data-raw", "--data-binary", "--json"):
            return argv[i + 1]
    return None


def method_of(argv):
    for i, a in enumerate(argv[:-1]):
        if a in ("-X", "--request"):
            return argv[i + 1]
    return "POST" if data_of(argv) is not None else "GET"


def parse_http(raw):
    """(code, {header: value}, body as JSON or text) of curl -i's output."""
    text = raw.decode("utf-8", errors="replace")
    while True:
        head, _, rest = text.partition("\r\n\r\n")
        code = int(head.split()[1])
        if 100 <= code < 200 and rest.startswith("HTTP/"):
            text = rest
            continue
        break
    headers = {}
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    try:
        body = json.loads(rest) if rest.strip() else None
    except ValueError:
        body = rest
    return code, headers, body


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", default=DOC_BASE, help="the gateway to run the commands against")
    ap.add_argument("docs", nargs="+")
    args = ap.parse_args()
    failed = 0
    for doc in args.docs:
        if not Path(doc).exists():
            print("%s: absent, skipped" % doc)
            continue
        try:
            run, failures = Checker(args.base).check_doc(doc)
        except DocError as e:
            print("%s: %s" % (doc, e))
            failed += 1
            continue
        for f in failures:
            print(f)
        print("%s: %d commands, %d mismatches" % (doc, run, len(failures)))
        failed += len(failures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
