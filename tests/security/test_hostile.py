# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""A corpus of bad requests against a real stack (docs/security.md, "Hostile
input"): each gets a clear 4xx with the JSON error body, while a polite
client keeps being served; the gateway stays the same process, its memory
stays bounded, and the store holds nothing the corpus half-wrote."""

import json
import os
import stat
import uuid

import pytest

from conftest import LIMITS, MAX_BODY, check_json_error, wait_for

ANIMAL = "/barn/v1/animal/"


def name():
    return "Sec" + uuid.uuid4().hex[:10]


@pytest.fixture(autouse=True)
def attacked(sec, polite):
    """Every test runs while the polite client is served; afterwards the
    gateway is the same live process."""
    before = polite.served
    yield
    sec.alive()
    wait_for(lambda: polite.served > before, "the polite client to be served during the test")
    assert not polite.failures, polite.failures[:5]


# ---- bodies ---------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    b'{"name": ',                      # cut short
    b'{"name": "x",}',                 # trailing comma
    b'{"name": "\xff\xfe"}',           # not UTF-8
    b'{"name": "a\x00b"}',             # raw NUL in a string
    b"\x00\x01\x02",
    b"[" * 600 + b"]" * 600,           # deeper than 512
    b'{"a":' * 600 + b"1" + b"}" * 600,
    b"[" * 200000,                     # deep and unclosed
], ids=["cut", "comma", "utf8", "nul", "binary", "deep-arrays", "deep-objects", "deep-unclosed"])
def test_bad_json_body(sec, body):
    answer = sec.raw.send(sec.raw.request("PUT", ANIMAL + name(), ["Content-Type: application/json"], body))
    doc = check_json_error(answer, 400)
    if body.startswith(b"[[[") or body.startswith(b'{"a":{'):
        assert "deeper than 512 levels" in doc["messages"][0], doc


def test_nesting_at_the_limit_is_fine(sec):
    # 512 levels reach the schema (which wants an object): a 400 about the
    # type, not about depth.
    doc = check_json_error(sec.raw.send(sec.raw.request("PUT", ANIMAL + name(), [], b"[" * 512 + b"]" * 512)),
                           400)
    assert "deeper" not in doc["messages"][0], doc


def test_body_too_large(sec):
    body = b'{"name": "' + b"x" * MAX_BODY + b'"}'
    check_json_error(sec.raw.send(sec.raw.request("PUT", ANIMAL + name(), [], body)), 413)


@pytest.mark.parametrize("length", [b"99999999999999999999999999", b"18446744073709551616",
                                    b"-1", b"12abc", b"0x10"])
def test_impossible_content_length(sec, length):
    # libmicrohttpd refuses these before the gateway sees the request; its
    # answer would be garbled (gw_limits.c), so the connection is dropped.
    answer = sec.raw.send(sec.raw.request("PUT", ANIMAL + name(), [b"Content-Length: " + length], b"{}"))
    if answer is not None:
        check_json_error(answer)


def test_huge_content_length_is_refused_before_the_body(sec):
    # 10 GB announced: 413 at once, nothing read.
    answer = sec.raw.send(sec.raw.request("PUT", ANIMAL + name(), ["Content-Length: 10000000000"]))
    check_json_error(answer, 413)


def test_expect_continue_with_huge_length(sec):
    # The answer is the 413, never "100 Continue".
    sock = sec.raw.connect()
    try:
        sock.sendall(sec.raw.request("PUT", ANIMAL + name(), ["Content-Length: 5000000000",
                                                                "Expect: 100-continue"]))
        answer = sec.raw.read(sock)
        check_json_error(answer, 413)
    finally:
        sock.close()


@pytest.mark.parametrize("lengths", [("5", "6"), ("2", "02x")])
def test_conflicting_content_length(sec, lengths):
    headers = ["Content-Length: %s" % n for n in lengths]
    doc = check_json_error(sec.raw.send(sec.raw.request("PUT", ANIMAL + name(), headers, b"{}")), 400)
    assert "Content-Length" in doc["messages"][0] or "malformed" in doc["messages"][0], doc


def test_content_length_with_chunked(sec):
    headers = ["Content-Length: 2", "Transfer-Encoding: chunked"]
    doc = check_json_error(sec.raw.send(sec.raw.request("PUT", ANIMAL + name(), headers, b"2\r\n{}\r\n0\r\n\r\n")),
                           400)
    assert "Transfer-Encoding" in doc["messages"][0], doc


def test_chunked_body_is_accepted(sec):
    n = name()
    body = json.dumps({"name": n}).encode()
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 5]), body[i:i + 5]) for i in range(0, len(body), 5))
    answer = sec.raw.send(sec.raw.request("PUT", ANIMAL + n, ["Transfer-Encoding: chunked"],
                                          chunked + b"0\r\n\r\n"))
    assert answer and answer[0] == 202, answer
    sec.accepted += 1


@pytest.mark.parametrize("chunks", [
    b"zz\r\n{}\r\n0\r\n\r\n",                         # not a hex size
    b"ffffffffffffffffffffffff\r\n{}\r\n0\r\n\r\n",   # size beyond 64 bits
])
def test_bad_chunks(sec, chunks):
    answer = sec.raw.send(sec.raw.request("PUT", ANIMAL + name(), ["Transfer-Encoding: chunked"], chunks))
    check_json_error(answer)


def test_chunked_beyond_the_body_limit(sec):
    chunk = b"x" * 65536
    chunks = (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * (MAX_BODY // len(chunk) + 2) + b"0\r\n\r\n"
    check_json_error(sec.raw.send(sec.raw.request("PUT", ANIMAL + name(), ["Transfer-Encoding: chunked"],
                                                  chunks)), 413)


# ---- the request line and the URI -------------------------------------------------

def test_uri_over_the_limit(sec):
    doc = check_json_error(sec.raw.send(sec.raw.request("GET", ANIMAL + "a" * 9000)), 414)
    assert "longer than 8192" in doc["messages"][0], doc


def test_uri_beyond_libmicrohttpd_memory(sec):
    # So long that libmicrohttpd answers itself: the body is JSON as well.
    check_json_error(sec.raw.send(sec.raw.request("GET", ANIMAL + "a" * 300000)), 414)


@pytest.mark.parametrize("target", [
    ANIMAL + "%FF%FE",                 # decodes to bytes that are not UTF-8
    ANIMAL.encode() + b"\xff\xfe",     # raw bytes that are not UTF-8
    ANIMAL + "a%00b",                  # encoded NUL
    ANIMAL + "a%",                     # broken escape
    ANIMAL + "a%zz",
])
def test_bad_uri_bytes(sec, target):
    check_json_error(sec.raw.send(sec.raw.request("GET", target)), 400)


def test_nul_in_request_line(sec):
    check_json_error(sec.raw.send(sec.raw.request("GET", ANIMAL.encode() + b"a\x00b")))


@pytest.mark.parametrize("target", [
    ANIMAL + "../../etc/passwd",
    ANIMAL + "..",
    ANIMAL + "%2e%2e",
    ANIMAL + "..%2F..%2Fetc%2Fpasswd",
    ANIMAL + "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    ANIMAL + "..%5C..%5Cwindows",
    ANIMAL + "x%0D%0ASet-Cookie:%20a=b",
    "/barn/../silo/v1/grain/x",
    "/barn/v1/../../etc/passwd",
])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_path_traversal(sec, target, method):
    body = b'{"name": "x"}' if method == "PUT" else b""
    check_json_error(sec.raw.send(sec.raw.request(method, target, [], body)), 400)


@pytest.mark.parametrize("target", [
    ANIMAL + "x;a=%0D%0A",
    ANIMAL + "x;=v",
    ANIMAL + "x?k=%1B%5B31m",
    ANIMAL + "x?%00=1",
    ANIMAL + "x?a=%C0%80",             # overlong UTF-8
    "/barn/v1/status;_count=abc",
    "/barn/v1/status;_count=10000",    # beyond the page size: said, not cut
    "/barn/v1/status;_count=0",
    "/barn/v1/status;_count=-5",
    "/barn/v1/status;state=BOGUS",
    "/barn/v1/status;progress=101",
    "/barn/v1/status;_expand=maybe",
    "/barn/v1/status;colour=red",
])
def test_junk_parameters(sec, target):
    check_json_error(sec.raw.send(sec.raw.request("GET", target)), 400)


def test_page_size_limit_is_said(sec):
    doc = check_json_error(sec.raw.send(sec.raw.request("GET", "/barn/v1/status;_count=1001")), 400)
    assert "1000" in doc["messages"][0], doc
    answer = sec.raw.send(sec.raw.request("GET", "/barn/v1/status;_count=1000"))
    assert answer[0] == 200, answer


@pytest.mark.parametrize("sid", [
    "s-short", "s-" + "u" * 26, "S-" + "0" * 26, "x-" + "0" * 26, "s-" + "0" * 27,
    "%27%20OR%201=1%20--", "s-" + "0" * 25 + "%00",
])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_bad_status_ids(sec, sid, method):
    # Not ids at all: 404 as for an unknown one, without asking the store
    # (a NUL is refused by the URI parser: 400).
    body = b'{"state": "CANCELLED"}' if method == "POST" else b""
    doc = check_json_error(sec.raw.send(sec.raw.request(method, "/barn/v1/status/" + sid, [], body)))
    assert doc["code"] == (400 if "%00" in sid else 404), doc
    if doc["code"] == 404:
        assert "not a status id" in doc["messages"][0], doc


def test_unknown_status_id_is_404(sec):
    check_json_error(sec.raw.send(sec.raw.request("GET", "/barn/v1/status/s-" + "0" * 26)), 404)


@pytest.mark.parametrize("method", ["FOO", "TRACE", "OPTIONS", "PATCH", "get", "PROPFIND", "X" * 300],
                         ids=["FOO", "TRACE", "OPTIONS", "PATCH", "get", "PROPFIND", "long"])
def test_odd_methods(sec, method):
    answer = sec.raw.send(sec.raw.request(method, ANIMAL + "x"))
    assert answer and answer[0] in (400, 405, 501), answer
    check_json_error(answer, answer[0])


@pytest.mark.parametrize("line", [b"G\x01T /barn/v1/status HTTP/1.1", b"GET", b"\r\n\r\nGET / HTTP/1.1",
                                  b"GET /barn/v1/status HTTP/9.9", b"GET /barn/v1/status FOO/1.1"])
def test_malformed_request_line(sec, line):
    answer = sec.raw.send(line + b"\r\nHost: x\r\nConnection: close\r\n\r\n")
    if answer is not None:  # a line libmicrohttpd cannot read at all may be dropped
        assert answer[0] in (400, 404, 405, 505), answer
        check_json_error(answer, answer[0])


# ---- headers ------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    [b"X-Evil: a\x00b", b"Accept: */*"],     # NUL inside a value
    [b"Accept: */*", b"X-Evil: a\x00b"],     # in the last header
    [b"Accept: */*", b"X-Evil: a\x00\x00b"],  # two in the last header
    [b"X-Evil\x00: b"],                      # in a name
    [b"X-Evil: \xff\xfe"],                   # not UTF-8
    [b"X-Evil: a\x1bb"],                     # a control character
    [b"X-Evil: a", b" folded"],              # obs-fold
])
def test_bad_header_bytes(sec, headers):
    check_json_error(sec.raw.send(sec.raw.request("GET", "/barn/v1/status;_count=1", headers)), 400)


@pytest.mark.parametrize("data", [
    b"GET /barn/v1/status HTTP/1.1\x00junk\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"GET /barn/v1/status HTTP/1.1\r\n: x\r\nGET /barn/v1/status HTTP/1.1\r\nConnection: close\r\n\r\n",
    b"GET /barn/v1/status HTTP/1.1\nHost: x\nX-Evil: a\x00\x00b\nConnection: close\n\n",
], ids=["nul-in-request-line", "colon-line-ends-head", "bare-lf-nul-pair"])
def test_hidden_bytes_in_the_head(sec, data):
    sock = sec.raw.connect()
    try:
        sock.sendall(data)
        check_json_error(sec.raw.read(sock), 400)
        # Nothing after the refused head is read as a further request.
        assert sec.raw.read(sock) is None
    finally:
        sock.close()


def test_too_many_headers(sec):
    doc = check_json_error(sec.raw.send(sec.raw.request("GET", "/barn/v1/status", ["X-H%d: v" % i
                                                                                      for i in range(150)])),
                           431)
    assert "more than 100 header fields" in doc["messages"][0], doc


def test_thousands_of_headers(sec):
    check_json_error(sec.raw.send(sec.raw.request("GET", "/barn/v1/status", ["X-H%d: v" % i
                                                                             for i in range(5000)])), 431)


def test_header_over_the_limit(sec):
    doc = check_json_error(sec.raw.send(sec.raw.request("GET", "/barn/v1/status", ["X-Big: " + "v" * 40000])),
                           431)
    assert "32768" in doc["messages"][0], doc


def test_header_beyond_libmicrohttpd_memory(sec):
    check_json_error(sec.raw.send(sec.raw.request("GET", "/barn/v1/status", ["X-Big: " + "v" * 1000000])), 431)


def head_at_the_limits(uri_extra=0, header_extra=0):
    """A request whose URI, header count and header bytes are all at the
    limits at once (plus the extras): the largest head the gateway takes,
    which libmicrohttpd's memory pool (sized from the limits) must hold."""
    target = "/barn/v1/status/s-"
    target += "a" * (LIMITS["max_uri_bytes"] - len(target) + uri_extra)
    # The gateway counts name + value + 4 bytes per field; Host and
    # Connection (added by request()) are 17 and 19.
    fields = LIMITS["max_headers"] - 2
    room = LIMITS["max_header_bytes"] - 17 - 19 - fields * len("X-F00") - fields * 4
    sizes = [room // fields + (1 if i < room % fields else 0) for i in range(fields)]
    sizes[0] += header_extra
    headers = ["X-F%02d: %s" % (i, "v" * n) for i, n in enumerate(sizes)]
    return "GET", target, headers


def test_query_parameters_up_to_the_uri_limit(sec):
    # libmicrohttpd would keep 64 bytes of its (head-sized) memory per
    # query parameter; the gateway reads the query itself, so a URI within
    # its limit may hold as many as fit.
    target = "/barn/v1/status?p0=1"
    while len(target) + len("&p0000=1") <= LIMITS["max_uri_bytes"]:
        target += "&p%d=1" % target.count("&")
    answer = sec.raw.send(sec.raw.request("GET", target))
    assert answer is not None, "closed without an answer"
    assert answer[0] == 200, answer


def test_head_at_every_limit_at_once(sec):
    # Served by the gateway (an unknown status id), with room left in the
    # pool for the answer's head.
    doc = check_json_error(sec.raw.send(sec.raw.request(*head_at_the_limits())), 404)
    assert "not a status id" in doc["messages"][0], doc
    # One byte more of URI or of header: the gateway's own 414 / 431,
    # naming the limit (the head still fits in the pool).
    doc = check_json_error(sec.raw.send(sec.raw.request(*head_at_the_limits(uri_extra=1))), 414)
    assert str(LIMITS["max_uri_bytes"]) in doc["messages"][0], doc
    doc = check_json_error(sec.raw.send(sec.raw.request(*head_at_the_limits(header_extra=1))), 431)
    assert str(LIMITS["max_header_bytes"]) in doc["messages"][0], doc


# (A line that starts with ':' would end the head for libmicrohttpd 0.9.75,
# the rest read as a further request: the gateway refuses the head.)
@pytest.mark.parametrize("header", [b"NoColon", b"Bad Name: x", b"Bad\x7fName: x", b": empty-name"])
def test_malformed_header(sec, header):
    answer = sec.raw.send(sec.raw.request("GET", "/barn/v1/status", [header, "Accept: */*"]))
    check_json_error(answer, 400)


# ---- connections ---------------------------------------------------------------------

def test_pipelined_requests(sec):
    first = sec.raw.request("GET", "/barn/v1/status;_count=1", ["Connection: keep-alive"])
    second = sec.raw.request("GET", "/barn/v1/status/s-short", ["Connection: keep-alive"])
    third = sec.raw.request("GET", "/barn/v1/status;_count=2")
    sock = sec.raw.connect()
    try:
        sock.sendall(first + second + third)
        answers = [sec.raw.read(sock) for _ in range(3)]
    finally:
        sock.close()
    assert answers[0][0] == 200, answers[0]
    check_json_error(answers[1], 404)
    assert answers[2][0] == 200 and len(json.loads(answers[2][2])["statuses"]) <= 2, answers[2]


def test_pipelined_garbage_after_a_request(sec):
    sock = sec.raw.connect()
    try:
        sock.sendall(sec.raw.request("GET", "/barn/v1/status;_count=1", ["Connection: keep-alive"]) +
                     b"\x16\x03\x01garbage\r\n\r\n")
        assert sec.raw.read(sock)[0] == 200
        answer = sec.raw.read(sock)
        if answer is not None:
            check_json_error(answer, 400)
    finally:
        sock.close()


def test_body_shorter_than_its_length_then_more_requests(sec):
    # Content-Length: 2 but more bytes follow: they are the next request,
    # which is garbage.
    sock = sec.raw.connect()
    try:
        sock.sendall(sec.raw.request("PUT", ANIMAL + "x", ["Content-Length: 2", "Connection: keep-alive"]) +
                     b"{}GARBAGE / NOT-HTTP\r\n\r\n")
        first = sec.raw.read(sock)
        assert first is not None and first[0] < 500, first
        second = sec.raw.read(sock)
        if second is not None:
            check_json_error(second)
    finally:
        sock.close()
    if first[0] == 202:
        sec.accepted += 1


def test_http_1_0(sec):
    sock = sec.raw.connect()
    try:
        sock.sendall(b"GET /barn/v1/status;_count=1 HTTP/1.0\r\n\r\n")
        answer = sec.raw.read(sock)
        assert answer[0] == 200, answer
        # HTTP/1.0 without keep-alive: the gateway closes.
        wait_for(lambda: sock.recv(1) == b"", "the gateway to close an HTTP/1.0 connection")
    finally:
        sock.close()
    check_json_error(sec.raw.send(b"GET /barn/v1/status/s-short HTTP/1.0\r\n\r\n"), 404)


def test_http_0_9(sec):
    answer = sec.raw.send(b"GET /barn/v1/status\r\n\r\n")
    if answer is not None:
        check_json_error(answer)


# ---- answers from workers --------------------------------------------------------------

def test_worker_headers_are_filtered(sec):
    answer = sec.raw.send(sec.raw.request("GET", "/hdr/v1/headers/x"))
    status, headers, body = answer
    assert status == 200 and body == b'{"ok": true}', answer
    assert headers["X-Good"] == "kept"
    assert headers.get("Set-Cookie") is None, headers       # the location does not allow it
    assert headers.get("Proxy-Authenticate") is None, headers
    assert headers["Content-Length"] == str(len(body))      # the gateway's own


def test_set_cookie_where_the_location_allows_it(sec):
    status, headers, body = sec.raw.send(sec.raw.request("GET", "/cookie/v1/headers/x"))
    assert status == 200
    assert headers["Set-Cookie"] == "session=from-the-worker; HttpOnly"


@pytest.mark.parametrize("host", [
    b"evil.example", b"127.0.0.1:1", b"evil.example:80@127.0.0.1", b"[::1]:x",
    b"a" * 300, b"evil.example/../../x", b"%65vil.example", b"evil\x00.example",
])
def test_hostile_host(sec, host):
    # No server_names here: the Host header builds nothing; the answer (202,
    # or 400 for a head the gateway refuses) never carries it.  stack.origin
    # tests server_names and public_url.
    n = name()
    answer = sec.raw.send(sec.raw.request("PUT", ANIMAL + n, [b"Host: " + host],
                                          json.dumps({"name": n})))
    assert answer is not None, "the gateway closed the connection without an answer"
    status, headers, body = answer
    if status == 202:
        sec.accepted += 1
        assert headers["Location"].startswith("http://127.0.0.1:"), headers
    else:
        check_json_error(answer, 400)
    shown = body.decode("utf-8", "replace") + "".join(headers.values())
    assert host.decode("latin-1") not in shown, answer


# ---- what is left behind -----------------------------------------------------------------

def test_store_file_is_private(sec):
    assert stat.S_IMODE(os.stat(sec.store).st_mode) == 0o600, oct(os.stat(sec.store).st_mode)


def test_zz_nothing_half_written(sec):
    # Runs last (pytest keeps file order): the store is sound and holds only
    # the statuses of the well-formed requests above, each of them whole.
    assert sec.statuses() == sec.accepted
    r = sec.client.get("/barn/v1/status;_count=1000;_expand=1")
    assert r.status == 200, r
    for st in r.json()["statuses"]:
        assert {"state", "status_uri", "uri", "operation", "progress"} <= set(st), st


def test_zz_memory_stays_bounded(sec):
    # The corpus again, several times: the gateway's RSS must not grow with
    # the number of bad requests.
    corpus = [
        sec.raw.request("PUT", ANIMAL + "x", [], b"[" * 5000),
        sec.raw.request("GET", ANIMAL + "a" * 9000),
        sec.raw.request("GET", ANIMAL + "a" * 300000),
        sec.raw.request("GET", "/barn/v1/status", ["X-H%d: v" % i for i in range(5000)]),
        sec.raw.request("GET", "/barn/v1/status", [b"X-Evil: a\x00b", b"Accept: */*"]),
        sec.raw.request("GET", ANIMAL + "..%2F..%2Fetc%2Fpasswd"),
        sec.raw.request("PUT", ANIMAL + "x", ["Content-Length: 1", "Content-Length: 2"], b"{}"),
        sec.raw.request("FOO", ANIMAL + "x"),
    ]

    def round_():
        for data in corpus:
            check_json_error(sec.raw.send(data))
    for _ in range(3):
        round_()
    before = sec.rss_kib()
    for _ in range(30):
        round_()
    after = sec.rss_kib()
    assert after - before < 8 * 1024, "gateway RSS grew from %d to %d KiB" % (before, after)
