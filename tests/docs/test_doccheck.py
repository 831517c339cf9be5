# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""The doc checker behind stack.doccurl, without a Gearbox stack: its reading
of a doc, its comparisons, and a whole run against a small fake gateway
(http.server on a free loopback port) whose status completes after a few
reads.  A checker that accepted anything would keep no doc honest, so each
rule is also shown to reject."""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import doccheck  # noqa: E402
from doccheck import DocError, Checker, parse_shown, read_blocks  # noqa: E402

ID1 = "s-" + "1" * 26
ID2 = "s-" + "2" * 26


def doc(tmp_path, text):
    p = tmp_path / "doc.md"
    p.write_text(text)
    return p


def errors_of(expected_text, actual, checker=None):
    checker = checker or Checker("http://127.0.0.1:9")
    (value,) = parse_shown(doccheck.Command(1, "curl x", [(2, l) for l in expected_text.splitlines()], None))[2]
    errors = []
    checker.compare(value, actual, "answer", set(), errors)
    return errors


# ---- reading ---------------------------------------------------------------

def test_blocks_commands_outputs_and_markers(tmp_path):
    blocks = read_blocks(doc(tmp_path, """# t
```sh
make demo
```

<!-- doccheck: wait-for COMPLETED -->
<!-- doccheck: vary messages, progress: timing -->
```sh
$ curl -s -X POST http://127.0.0.1:4080/a -d '{"x": [
    1]}'     # a comment
# prose
{"a":
 1}
$ curl -si http://127.0.0.1:4080/b
HTTP/1.1 200 OK
Content-Type: application/json

{...}
```
"""))
    assert len(blocks) == 1
    b = blocks[0]
    assert b.wait_for == "COMPLETED" and b.vary == {"messages", "progress"} and b.skip is None
    assert [c.line for c in b.commands] == [9, 14]
    assert b.commands[0].text.endswith("1]}'     # a comment")
    assert parse_shown(b.commands[0])[2] == [{"a": 1}]
    status, headers, values = parse_shown(b.commands[1])
    assert status == 200 and headers == {"content-type": "application/json"}
    assert values == [{doccheck.ELLIPSIS + "0": None}]


def test_a_block_that_cannot_run_must_say_so(tmp_path):
    with pytest.raises(DocError, match="not a curl command"):
        read_blocks(doc(tmp_path, "```sh\n$ curl -s http://x/\n$ make demo\n```\n"))
    blocks = read_blocks(doc(tmp_path, "<!-- doccheck: skip needs a terminal -->\n"
                                       "```sh\n$ curl -s http://x/\n$ make demo\n```\n"))
    assert blocks[0].skip == "needs a terminal"
    with pytest.raises(DocError, match="unknown doccheck marker"):
        read_blocks(doc(tmp_path, "<!-- doccheck: wait COMPLETED -->\n```sh\n$ curl -s http://x/\n```\n"))
    with pytest.raises(DocError, match="not JSON"):
        parse_shown(doccheck.Command(1, "curl x", [(2, '{"a": }')], None))


# ---- comparing -------------------------------------------------------------

def test_objects_have_the_keys_shown_unless_they_say_more_follows():
    assert errors_of('{"a":1,"b":"x"}', {"a": 1, "b": "x"}) == []
    assert "also has \"c\":2" in errors_of('{"a":1,"b":"x"}', {"a": 1, "b": "x", "c": 2})[0]
    assert errors_of('{...,"a":1,...}', {"a": 1, "b": "x", "c": 2}) == []
    assert errors_of('{"a":1,…}', {"a": 1, "z": 0}) == []
    assert "missing b" in errors_of('{...,"b":1}', {"a": 1})[0]
    assert errors_of('{...,"a":1}', {"a": 10}) == ["answer.a: expected 1, got 10"]


def test_arrays_and_ellipses():
    assert errors_of('{"m":["a","b"]}', {"m": ["a", "b"]}) == []
    assert errors_of('{"m":["a","b"]}', {"m": ["x", "a", "b"]}) != []
    assert errors_of('{"m":["a", ..., "d"]}', {"m": ["a", "b", "c", "d"]}) == []
    assert errors_of('{"m":["a", ... ,"d"]}', {"m": ["a", "d"]}) == []
    assert errors_of('{"m":[..., "d"]}', {"m": ["a", "c"]}) != []
    assert errors_of('{"m":["attempt 1 at 1796186950.946", "moves ... last"]}',
                     {"m": ["attempt 1 at 1801234567.001", "moves at long last"]}) == []
    assert errors_of('{"t":1796186944}', {"t": 1801234567}) == []
    assert errors_of('{"t":1796186944}', {"t": 3}) != []


def test_a_string_split_over_lines_keeps_one_space():
    assert errors_of('{"m":["vetoed by x:\n CONFLICT [409]: no"]}', {"m": ["vetoed by x: CONFLICT [409]: no"]}) == []


def test_ids_are_names_learnt_once():
    c = Checker("http://127.0.0.1:9")
    assert errors_of('{"u":"http://127.0.0.1:4080/s/%s","p":"%s"}' % (ID1, ID1),
                     {"u": "http://127.0.0.1:9/s/" + ID2, "p": ID2}, c) == []
    assert c.ids == {ID1: ID2}
    other = "s-" + "3" * 26
    assert "stands for" in errors_of('{"p":"%s"}' % ID1, {"p": other}, c)[0]
    c.latest = other
    assert c.substitute("curl http://127.0.0.1:4080/s/%s /s/s-… /s/s-..." % ID1) == \
        "curl http://127.0.0.1:9/s/%s /s/%s /s/%s" % (ID2, other, other)


# ---- a whole run against a fake gateway ------------------------------------

class FakeGateway(BaseHTTPRequestHandler):
    """PUT /v1/thing/x: 202 and a status that is COMPLETED from its third read."""
    reads = 0

    def answer(self, code, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def status(self):
        base = "http://127.0.0.1:%d" % self.server.server_port
        done = FakeGateway.reads >= 3
        return {"state": "COMPLETED" if done else "PENDING", "status_uri": base + "/v1/status/" + ID2,
                "progress": 100 if done else 0, "messages": ["thing done at 1801234567.5"] if done else []}

    def do_PUT(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        FakeGateway.reads = 0
        self.answer(202, self.status(), [("Location", self.status()["status_uri"])])

    def do_GET(self):
        if self.path.endswith(ID2):
            FakeGateway.reads += 1
            self.answer(200, self.status())
        else:
            self.answer(404, {"code": 404, "messages": ["NOT_FOUND [404]: no"]})

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_port
    server.shutdown()
    server.server_close()
    thread.join()


def test_write_out_continuation_lines_and_pipes(tmp_path, gateway):
    checker = Checker(gateway, log=lambda *_: None)
    run, failures = checker.check_doc(doc(tmp_path, """```sh
$ curl -s -o /dev/null -w '%{http_code}\\n' \\
       http://127.0.0.1:4080/v1/nothing
404
$ curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:4080/v1/nothing
200
```
"""), "w.md")
    assert run == 2
    assert failures == ["w.md:5: $ curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:4080/v1/nothing"
                        "\n    output: expected \"200\", got \"404\""]
    run, failures = checker.check_doc(doc(tmp_path, "```sh\n$ curl -s http://127.0.0.1:4080/v1/x | jq .\n```\n"))
    assert "only a single curl runs" in failures[0]


RUN = """```sh
$ curl -si -X PUT -d '{}' http://127.0.0.1:4080/v1/thing/x
HTTP/1.1 202 Accepted
Location: http://127.0.0.1:4080/v1/status/%(id)s

{"state":"PENDING",...,"progress":0,...}
$ curl -s http://127.0.0.1:4080/v1/status/%(id)s        # polled until COMPLETED
{...,"state":"COMPLETED","progress":100,"messages":["thing done at 1796186944.1"]}
$ curl -s http://127.0.0.1:4080/v1/nothing
{"code":404,"messages":["NOT_FOUND [404]: no"]}
```

<!-- doccheck: wait-for COMPLETED -->
```sh
$ curl -s -X PUT -d '{}' http://127.0.0.1:4080/v1/thing/y      # then its status:
{...,"progress":%(progress)d,...}
```
"""


def test_a_doc_that_matches_passes(tmp_path, gateway):
    run, failures = Checker(gateway, log=lambda *_: None).check_doc(
        doc(tmp_path, RUN % {"id": ID1, "progress": 100}))
    assert (run, failures) == (4, [])


def test_a_doc_that_does_not_match_fails_at_its_line(tmp_path, gateway):
    run, failures = Checker(gateway, log=lambda *_: None).check_doc(
        doc(tmp_path, RUN % {"id": ID1, "progress": 1}), "the.md")
    assert run == 4
    assert failures == ["the.md:15: $ curl -s -X PUT -d '{}' http://127.0.0.1:4080/v1/thing/y      # then its status:"
                        "\n    its status (COMPLETED).progress: expected 1, got 100"]
