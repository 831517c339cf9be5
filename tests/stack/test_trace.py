# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""W3C trace context end to end (docs/gateway.md, "Trace context").

A real stack with the /tr location served by trace_worker.py (a Python
worker in its own process that records the traceparent, tracestate and
trace id its jobs see, through the job accessors, in its statuses' meta):
the request's traceparent reaches the worker's envelope unchanged; a child
job, a REST child (through the gateway again) and a continuation carry the
same trace id with a new parent-id (the span of the job that made them);
every status keeps the trace id as meta.trace_id, in lists too; a request
without a traceparent, or with an invalid one, starts a new trace (and the
tracestate of an invalid one is dropped); the gateway answers the
traceparent its job got; the gearbox command sends TRACEPARENT and shows
the trace id.  Waits poll with generous bounds.
"""

import os
import re
import subprocess

import pytest

from conftest import BUILD_DIR, start_python_component, unique

GEARBOX = BUILD_DIR / "tools/gearbox/gearbox"
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
GIVEN = "00-%s-%s-01" % (TRACE, PARENT)
HANDLERS = ["do_put_tr_hop_v1", "do_next_tr_hop_v1", "do_put_tr_leaf_v1", "do_get_tr_hop_v1"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = start_python_component(tmp_path_factory.mktemp("trace"), "tr", "trace_worker.py", HANDLERS)
    yield s
    assert s.supervisor.stop() == 0, s.supervisor.output()


@pytest.fixture
def client(stack):
    return stack.client


def parts(traceparent):
    m = TRACEPARENT.match(traceparent or "")
    assert m, traceparent
    return m.groups()


def hop(client, body, headers=None):
    """PUTs a hop job; returns (202 response, final status)."""
    r = client.put("/tr/v1/hop/" + unique("Hop"), body, headers=headers)
    assert r.status == 202, r
    return r, client.wait_completed(r.json()["status_uri"])


def test_traceparent_reaches_the_worker_and_the_status(client):
    r, st = hop(client, {}, {"traceparent": GIVEN, "tracestate": "congo=t61rcWkgMzE, rojo=00f067aa0ba902b7"})
    assert st["code"] == 0, st
    seen = st["meta"]["seen"]
    assert seen["traceparent"] == GIVEN  # the gateway records no span: passed on as it came
    assert seen["trace_id"] == TRACE
    assert seen["tracestate"] == "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
    assert seen["header"] == GIVEN
    assert st["meta"]["trace_id"] == TRACE
    assert r.json()["meta"]["trace_id"] == TRACE  # the 202's status has it already
    assert r.headers["traceparent"] == GIVEN


def test_a_child_a_rest_child_and_a_continuation_are_next_hops(client):
    r, st = hop(client, {"child": True, "rest": True, "continue": True},
                {"traceparent": GIVEN, "tracestate": "congo=t61rcWkgMzE"})
    assert st["code"] == 0, st
    own = st["meta"]["seen"]
    nxt = st["meta"]["seen_next"]  # the continuation, on the same status
    assert parts(nxt["traceparent"])[0] == TRACE
    assert parts(nxt["traceparent"])[1] != PARENT
    assert nxt["tracestate"] == "congo=t61rcWkgMzE"
    assert own["traceparent"] == GIVEN
    assert len(st["children"]) == 2, st
    hop_span = parts(nxt["traceparent"])[1]
    for uri in st["children"]:
        child = client.wait_completed(uri)
        assert child["meta"]["trace_id"] == TRACE, child
        seen = child["meta"]["seen"]
        trace, parent, flags = parts(seen["traceparent"])
        assert (trace, flags) == (TRACE, "01")
        assert parent not in (PARENT, "0" * 16)
        # One span per run of the job: its child, REST call and continuation
        # all have it as their parent.
        assert parent == hop_span, (seen, nxt)
        assert seen["tracestate"] == "congo=t61rcWkgMzE"
    rest = [u for u in st["children"] if "-rest" in client.status(u)["uri"]]
    assert len(rest) == 1
    # The REST child came through the gateway with the next hop's header,
    # not the first request's.
    assert client.status(rest[0])["meta"]["seen"]["header"] == nxt["traceparent"]


def test_no_or_an_invalid_traceparent_starts_a_new_trace(client):
    seen_traces = set()
    for headers in ({}, {"traceparent": "00-%s-%s-01" % (TRACE.upper(), PARENT), "tracestate": "a=1"},
                    {"traceparent": "00-%s-0000000000000000-01" % TRACE},
                    {"traceparent": "ff-%s-%s-01" % (TRACE, PARENT)},
                    {"tracestate": "a=1"}):
        r, st = hop(client, {"child": True}, headers)
        seen = st["meta"]["seen"]
        trace, _, flags = parts(seen["traceparent"])
        assert trace != TRACE and flags == "00", seen
        assert seen["tracestate"] is None, seen  # dropped with the traceparent it belonged to
        assert st["meta"]["trace_id"] == trace
        assert r.headers["traceparent"] == seen["traceparent"]
        child = client.wait_completed(st["children"][0])
        assert child["meta"]["trace_id"] == trace
        seen_traces.add(trace)
    assert len(seen_traces) == 5  # a new trace each time


def test_a_replayed_idempotency_key_answers_the_first_trace(client):
    path = "/tr/v1/hop/" + unique("Once")
    first = client.put(path, {}, headers={"Idempotency-Key": unique("k"), "traceparent": GIVEN})
    assert first.status == 202 and first.headers["traceparent"] == GIVEN
    key = {"Idempotency-Key": unique("k2")}
    r1 = client.put(path + "x", {}, headers=key)
    r2 = client.put(path + "x", {}, headers=key)
    assert r2.status == 202 and r2.headers["Idempotent-Replayed"] == "true", r2
    # No job of its own: no traceparent of its own; the status is the first one's.
    assert r2.headers.get("traceparent") is None
    assert r2.json()["meta"]["trace_id"] == parts(r1.headers["traceparent"])[0]


def test_a_later_version_is_read_forward_compatibly(client):
    r, st = hop(client, {}, {"traceparent": "01-%s-%s-03-more" % (TRACE, PARENT)})
    assert st["meta"]["seen"]["traceparent"] == "00-%s-%s-01" % (TRACE, PARENT)


def test_sync_requests_and_lists(client):
    r = client.get("/tr/v1/hop/x", headers={"traceparent": GIVEN})
    assert r.status == 200, r
    assert r.json()["traceparent"] == GIVEN
    assert r.headers["traceparent"] == GIVEN
    r = client.get("/tr/v1/hop/y")
    trace, _, _ = parts(r.headers["traceparent"])
    assert r.json()["trace_id"] == trace
    # Lists of whole statuses show the trace id too.
    _, st = hop(client, {}, {"traceparent": GIVEN})
    listed = client.get("/tr/v1/status;_expand=1;_count=50").json()["statuses"]
    mine = [s for s in listed if s["status_uri"] == st["status_uri"]]
    assert mine and mine[0]["meta"]["trace_id"] == TRACE


def gbx(*args, env=None):
    e = dict(os.environ)
    for k in ("TRACEPARENT", "TRACESTATE"):
        e.pop(k, None)
    e.update(env or {})
    return subprocess.run([str(GEARBOX), *map(str, args)], capture_output=True, text=True, timeout=120, env=e)


def test_the_gearbox_command_sends_and_shows_it(stack, client):
    given = "00-%s-%s-01" % ("a" * 32, "b" * 16)
    p = gbx("submit", "PUT", stack.base + "/tr/v1/hop/" + unique("Cli"), "-d", "{}", "--wait",
            env={"TRACEPARENT": given, "TRACESTATE": "cli=1"})
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert "trace " + "a" * 32 in p.stdout, p.stdout  # the piped watch's first line
    uri = p.stdout.split("accepted: ", 1)[1].split()[0]
    st = client.status(uri)
    assert st["meta"]["seen"]["traceparent"] == given
    assert st["meta"]["seen"]["tracestate"] == "cli=1"
    shown = gbx("status", uri)
    assert shown.returncode == 0, shown.stderr
    assert re.search(r"^\s+trace_id\s+" + "a" * 32 + "$", shown.stdout, re.M), shown.stdout
    as_json = gbx("status", uri, "--json")
    assert '"trace_id": "%s"' % ("a" * 32) in as_json.stdout, as_json.stdout
