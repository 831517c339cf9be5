# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""Orchestration over HTTP (issue 4, DESIGN §6): continuations, children
(local and REST), job events, delayed jobs, retries, cancellation and
agents, through the barn's orchestration handlers (examples/barn/c/
farmwork.c and examples/barn/python/farmwork.py).

One stack for the module: real gearmand, the gateway (with its scheduler),
three C barn workers and three Python barn workers; each barn's "neighbour"
(for REST children) is the other one.  Every test runs against the C barn
and the Python barn and expects the same statuses and messages.

Nothing here depends on timing: waits poll for a condition with a generous
bound; delays are checked only as lower bounds (the times the handlers
record in their messages).  Where a test needs a job to still be in flight
(a second cancel while the first one runs), the job is made to last seconds
(a slow compensation) against requests that take milliseconds.
"""

import re
import time

import pytest

from conftest import STATUS_ID, gearman_status, start_stack, unique, wait_for

WORKERS = 3  # per language: a parent waiting for children holds one
BARNS = [("/barn", "barn"), ("/python/barn", "barnpython")]
NEIGHBOUR = {"/barn": ("/python/barn", "barnpython"), "/python/barn": ("/barn", "barn")}
RETRY_MAX_ATTEMPTS = 4  # "jobs" in examples/barn/conf/barn.conf and barnpython.conf


@pytest.fixture(scope="module")
def orch(tmp_path_factory):
    s = start_stack(tmp_path_factory.mktemp("orchestration"), workers=WORKERS,
                    languages=["barnpython"], language_workers=WORKERS)
    # Every worker has registered its orchestration handlers too.
    wait_for(lambda: all(gearman_status(s.gearman_port).get("do_put_%s_field_v1" % c, (0, 0, 0))[2] >= WORKERS
                         for _, c in BARNS), "the farmwork handlers registered with gearmand")
    yield s
    assert s.supervisor.stop() == 0, s.supervisor.output()


@pytest.fixture
def client(orch):
    return orch.client


@pytest.fixture(params=BARNS, ids=["c", "python"])
def barn(request, orch):
    """(prefix, component) of the barn under test."""
    return request.param


# ---- helpers -------------------------------------------------------------------

def url(barn, resource, name=None):
    return "%s/v1/%s%s" % (barn[0], resource, "" if name is None else "/" + name)


def start(client, barn, resource, name, body=None, method="PUT"):
    """An async request to one of the barn's orchestration resources: its 202 status."""
    r = client.request(method, url(barn, resource, name), body)
    assert r.status == 202, r
    s = r.json()
    assert s["state"] == "PENDING" and STATUS_ID.search(s["status_uri"]), s
    return s


def run(client, barn, resource, name, body=None, method="PUT"):
    """start() and wait until COMPLETED: the final status."""
    return client.wait_completed(start(client, barn, resource, name, body, method)["status_uri"])


def wait_status(client, status_uri, predicate, what):
    """Polls a status until predicate(status) holds; returns the status."""
    last = {}

    def check():
        last["s"] = client.status(status_uri)
        return last["s"] if predicate(last["s"]) else None

    try:
        return wait_for(check, what)
    except AssertionError as e:
        raise AssertionError("%s; last seen: %r" % (e, last.get("s"))) from None


def cancel(client, status_uri):
    """POST …/status/<id> {"state": "CANCELLED"}: the HTTP answer."""
    return client.post(status_uri, {"state": "CANCELLED"})


def cancel_accepted(client, status_uri):
    """Cancels, checks the 202 and its cancel status; returns that status."""
    r = cancel(client, status_uri)
    assert r.status == 202, r
    c = r.json()
    assert c["operation"] == "update", c
    assert c["uri"] == status_uri, c
    assert STATUS_ID.search(c["status_uri"]) and c["status_uri"] != status_uri, c
    assert r.headers["Location"] == c["status_uri"], r.headers
    return c


def times(messages, pattern):
    """The unix times (floats) that messages matching `pattern` (a regex with
    one group for the time) carry, in order."""
    return [float(m.group(1)) for m in (re.fullmatch(pattern, msg) for msg in messages) if m]


def assert_cancelled(status):
    assert status["state"] == "CANCELLED", status
    assert status["progress"] == 100, status
    assert status["code"] == 410, status


def compensations(client, status, name):
    """The children of `status` that are its compensation (their messages say so)."""
    found = []
    for uri in status["children"]:
        child = client.status(uri)
        if "field %s: restored" % name in child["messages"]:
            found.append(child)
    return found


# ---- continuations ----------------------------------------------------------------

def test_continuation_chain_shares_one_status(client, barn):
    name = unique("chore")
    s = start(client, barn, "chore", name)
    done = client.wait_completed(s["status_uri"])
    assert done["code"] == 0, done
    assert done["progress"] == 100
    # Three handlers (put, milk, sweep), one status, each added its message.
    assert done["messages"] == ["chore %s: the animals are fed" % name,
                                "chore %s: the cow is milked" % name,
                                "chore %s: the barn is swept" % name], done
    assert done["children"] == []
    assert done["operation"] == "create" and done["component"] == barn[1]
    r = client.get("%s/v1/status;uri=chore/%s" % (barn[0], name))
    assert r.status == 200 and r.json()["statuses"] == [s["status_uri"].rsplit("/", 1)[1]], r


def test_continuation_queue_dropped_when_a_step_fails(client, barn):
    # The milk step queues the sweep step, then fails: the sweep never runs.
    name = unique("chore")
    done = run(client, barn, "chore", name, {"fail": "milk"})
    assert done["code"] == 409, done
    assert done["messages"] == ["chore %s: the animals are fed" % name,
                                "CONFLICT [409]: chore %s: the milk went wrong" % name], done


# ---- children: local and REST --------------------------------------------------------

def test_parent_with_local_and_rest_child(orch, client, barn):
    name = unique("family")
    neighbour_prefix, neighbour_component = NEIGHBOUR[barn[0]]
    s = start(client, barn, "family", name)
    done = client.wait_completed(s["status_uri"])
    assert done["code"] == 0, done
    assert done["messages"] == ["family %s: waiting for the piglet and the calf" % name,
                                "family %s: the piglet and the calf are born" % name], done
    # Both children, in start order, each a status of its own with its own operation.
    assert len(done["children"]) == 2, done
    local, rest = (client.status(uri) for uri in done["children"])
    assert local["status_uri"].startswith(orch.base + barn[0] + "/v1/status/"), local
    assert local["component"] == barn[1] and local["operation"] == "create", local
    assert local["uri"].endswith(url(barn, "animal", name + "-piglet")), local
    assert local["parent_uri"] == s["status_uri"], local
    assert local["code"] == 0 and local["messages"][0] == 'animal "%s-piglet" created' % name, local
    # The REST child went through the gateway to the barn next door, which
    # took the parent from the Gearbox-Parent-Uri header.
    assert rest["status_uri"].startswith(orch.base + neighbour_prefix + "/v1/status/"), rest
    assert rest["component"] == neighbour_component and rest["operation"] == "create", rest
    assert rest["uri"] == orch.base + neighbour_prefix + "/v1/animal/%s-calf" % name, rest
    assert rest["parent_uri"] == s["status_uri"], rest
    assert rest["code"] == 0 and rest["messages"][0] == 'animal "%s-calf" created' % name, rest
    assert client.get(url(barn, "animal", name + "-piglet")).json() == {"name": name + "-piglet"}
    assert client.get("%s/v1/animal/%s-calf" % (neighbour_prefix, name)).json() == {"name": name + "-calf"}


def test_failed_child_fails_the_parent(client, barn):
    name = unique("family")
    done = run(client, barn, "family", name, {"orphan": True})
    assert done["code"] == 404, done
    assert len(done["children"]) == 2, done
    piglet = client.status(done["children"][0])
    assert piglet["code"] == 404, piglet
    last = done["messages"][-1]
    assert last.startswith("NOT_FOUND [404]: the piglet failed: "), done
    assert 'animal "%s-piglet" not found' % name in last, done


# ---- job events --------------------------------------------------------------------------

def test_event_continuation_completes_the_parent(client, barn):
    name = unique("litter")
    s = start(client, barn, "litter", name)
    done = client.wait_completed(s["status_uri"])
    assert done["code"] == 0, done
    assert len(done["children"]) == 1, done
    kit_uri = done["children"][0]
    kit = client.status(kit_uri)
    assert kit["state"] == "COMPLETED" and kit["code"] == 0, kit
    assert kit["parent_uri"] == s["status_uri"], kit
    assert kit["messages"][0] == 'animal "%s-kit" created' % name, kit
    # The COMPLETED event of the kit ran the parent's copy with event_status.
    assert done["messages"] == ["litter %s: waiting for the kit" % name,
                                "litter %s: %s completed with code 0" % (name, kit_uri)], done
    assert done["mtime"] >= kit["mtime"]


# ---- delayed jobs ----------------------------------------------------------------------------

SET_AT = r"alarm .*: set at (\d+\.\d+) for .*"
RANG_AT = r"alarm .*: rang at (\d+\.\d+)"


def test_delayed_jobs_run_after_their_delay(client, barn):
    # A continuation delayed by afterwards() and a child job run by delay(),
    # both 2 s, started together.
    cont_name, child_name = unique("alarm"), unique("alarm")
    cont = start(client, barn, "alarm", cont_name, {"seconds": 2})
    parent = start(client, barn, "alarm", child_name, {"seconds": 2, "child": True})

    # The parent of the child alarm is done at once; its child waits with ytime.
    parent_done = client.wait_completed(parent["status_uri"])
    assert parent_done["code"] == 0, parent_done
    assert len(parent_done["children"]) == 1, parent_done
    ring_uri = parent_done["children"][0]

    seen_ytime = {}

    def note_ytime(s):
        if s["state"] != "COMPLETED" and "ytime" in s:
            seen_ytime[s["status_uri"]] = s
        return s["state"] == "COMPLETED"

    cont_done = wait_status(client, cont["status_uri"], note_ytime, "the delayed continuation")
    ring = wait_status(client, ring_uri, note_ytime, "the delayed child")
    for done, name in ((cont_done, cont_name), (ring, child_name)):
        assert done["code"] == 0, done
        assert "ytime" not in done, done  # cleared once it ran
    set_at = times(cont_done["messages"], SET_AT)[0]
    assert times(cont_done["messages"], RANG_AT)[0] - set_at >= 2.0, cont_done
    assert cont_done["messages"][1].startswith("alarm %s: rang at " % cont_name), cont_done
    set_at = times(parent_done["messages"], SET_AT)[0]
    assert times(ring["messages"], RANG_AT)[0] - set_at >= 2.0, (parent_done, ring)
    assert ring["parent_uri"] == parent["status_uri"], ring
    # While they waited (if a poll caught them), ytime said when they would run.
    for uri, s in seen_ytime.items():
        assert s["ytime"] >= s["ctime"] + 1, s


def test_delayed_job_shows_ytime_and_can_be_rescheduled(client, barn):
    name = unique("alarm")
    s = start(client, barn, "alarm", name, {"seconds": 600})
    before = time.time()
    # The handler has returned (concurrency back to 0): its continuation waits.
    waiting = wait_status(client, s["status_uri"], lambda st: "ytime" in st and st["concurrency"] == 0,
                          "ytime on the delayed alarm")
    assert waiting["state"] == "RUNNING", waiting
    assert waiting["ytime"] >= before + 590, waiting

    t = int(time.time()) + 2
    r = client.post(s["status_uri"], {"ytime": t})
    assert r.status == 200, r
    moved = r.json()
    assert moved["status_uri"] == s["status_uri"] and moved["ytime"] == t, moved
    done = client.wait_completed(s["status_uri"])
    assert done["code"] == 0, done
    assert "ytime" not in done, done
    assert times(done["messages"], RANG_AT)[0] >= t, done


def test_post_status_errors(orch, client):
    done = run(client, BARNS[0], "chore", unique("chore"))
    # Nothing waits to run: no ytime to move.
    r = client.post(done["status_uri"], {"ytime": int(time.time()) + 5})
    assert r.status == 409, r
    r = client.post(done["status_uri"], {"color": "red"})
    assert r.status == 400, r
    r = client.post(done["status_uri"].rsplit("/", 1)[0] + "/s-" + "0" * 26, {"state": "CANCELLED"})
    assert r.status == 404, r


# ---- retries ----------------------------------------------------------------------------------

ATTEMPT_AT = r"mule .*: attempt \d+ at (\d+\.\d+)"


def check_gaps(status):
    """Attempt k+1 started at least Fibonacci(k) seconds after attempt k."""
    at = times(status["messages"], ATTEMPT_AT)
    gaps = [b - a for a, b in zip(at, at[1:])]
    for gap, fib in zip(gaps, [1, 1, 2, 3, 5]):
        assert gap >= fib - 0.01, (gaps, status)
    return at


def test_retries_follow_fibonacci_and_stop_at_the_cap(client, barn):
    moves, stubborn = unique("mule"), unique("mule")
    s_moves = start(client, barn, "mule", moves, {"refusals": 3})
    s_stubborn = start(client, barn, "mule", stubborn, {"refusals": 50})

    done = client.wait_completed(s_moves["status_uri"])
    assert done["code"] == 0, done
    assert len(check_gaps(done)) == 4, done
    assert done["messages"][-1] == "mule %s: moves at last" % moves, done
    assert done["failures"] == 3, done

    capped = client.wait_completed(s_stubborn["status_uri"])
    assert capped["code"] == 500, capped
    assert len(check_gaps(capped)) == RETRY_MAX_ATTEMPTS, capped
    assert "gave up after %d attempts" % RETRY_MAX_ATTEMPTS in capped["messages"][-1], capped
    assert "do_put_%s_mule_v1" % barn[1] in capped["messages"][-1], capped
    assert capped["failures"] == RETRY_MAX_ATTEMPTS, capped


# ---- cancellation ---------------------------------------------------------------------------------

def test_cancel_pending_job(orch, client):
    # /silo's PUT handler has no worker: the job stays PENDING and never starts.
    s = client.accepted("PUT", "/silo/v1/grain/" + unique("wheat"))
    assert client.status(s["status_uri"])["state"] == "PENDING"
    c = cancel_accepted(client, s["status_uri"])
    assert c["status_uri"].startswith(orch.base + "/silo/v1/status/"), c
    c_done = client.wait_completed(c["status_uri"])
    assert c_done["code"] == 0, c_done
    target = client.status(s["status_uri"])
    assert_cancelled(target)
    assert target["messages"] == [] or "cancelled" in target["messages"][-1], target
    assert target["concurrency"] == 0


def test_cancel_delayed_jobs(client, barn):
    # A delayed child (PENDING with ytime) and a delayed continuation
    # (RUNNING, nothing running it): both are woken and stop at once.
    child_parent = run(client, barn, "alarm", unique("alarm"), {"seconds": 600, "child": True})
    ring_uri = child_parent["children"][0]
    ring = client.status(ring_uri)
    assert ring["state"] == "PENDING" and "ytime" in ring, ring
    cont = start(client, barn, "alarm", unique("alarm"), {"seconds": 600})
    wait_status(client, cont["status_uri"], lambda st: "ytime" in st and st["concurrency"] == 0,
                "the delayed continuation to wait")

    for uri in (ring_uri, cont["status_uri"]):
        c = cancel_accepted(client, uri)
        assert client.wait_completed(c["status_uri"])["code"] == 0
        target = client.status(uri)
        assert_cancelled(target)
        assert not any("rang at" in m for m in target["messages"]), target
        assert "ytime" not in target, target


def test_cancel_running_job_with_checkpoints(client, barn):
    name = unique("field")
    s = start(client, barn, "field", name, {"rows": 1000, "row_seconds": 0.2, "restore_seconds": 2})
    wait_status(client, s["status_uri"], lambda st: "field %s: row 1 ploughed" % name in st["messages"],
                "the field to be ploughed")
    c = cancel_accepted(client, s["status_uri"])
    # A second cancel while the first is in progress (stopping, or the 2 s
    # compensation running) is refused.
    again = cancel(client, s["status_uri"])
    assert again.status == 409, again
    assert re.search(r"state is currently (STOPPING|STOPPED|CANCELLING)", again.body.decode()), again

    c_done = client.wait_completed(c["status_uri"])
    assert c_done["code"] == 0, c_done
    # The cancel status told its client each step of the chain.
    steps = [m.split(" ")[0].rstrip(":") for m in c_done["messages"]]
    assert steps == ["stopping", "stopped", "cancelling", "compensation", "cancelled"], c_done
    target = client.status(s["status_uri"])
    assert_cancelled(target)
    ploughed = [m for m in target["messages"] if re.fullmatch(r"field .*: row \d+ ploughed", m)]
    assert 1 <= len(ploughed) < 1000, target
    assert "field %s: all 1000 rows ploughed" % name not in target["messages"]
    # The compensation ran as a child of the target.
    comp = compensations(client, target, name)
    assert len(comp) == 1, target
    assert comp[0]["parent_uri"] == s["status_uri"] and comp[0]["code"] == 0, comp

    # Already cancelled: a new cancel succeeds at once.
    c3 = cancel_accepted(client, s["status_uri"])
    c3_done = client.wait_completed(c3["status_uri"])
    assert c3_done["code"] == 0, c3_done
    assert any("already cancelled" in m for m in c3_done["messages"]), c3_done
    assert client.status(s["status_uri"])["children"] == target["children"]


def test_cancel_parent_cancels_its_children(orch, client, barn):
    name = unique("field")
    neighbour_prefix = NEIGHBOUR[barn[0]][0]
    s = start(client, barn, "field", name,
              {"rows": 1000, "row_seconds": 0.2, "helpers": 1, "neighbours": 1})
    parent = wait_status(client, s["status_uri"], lambda st: len(st["children"]) == 2,
                         "the helper and the neighbour to start")
    helper_uri, neighbour_uri = parent["children"]
    assert neighbour_uri.startswith(orch.base + neighbour_prefix + "/v1/status/"), parent
    for uri, who in ((s["status_uri"], name), (helper_uri, name + "-helper1"),
                     (neighbour_uri, name + "-neighbour1")):
        wait_status(client, uri, lambda st: "field %s: row 1 ploughed" % who in st["messages"],
                    "field %s to be ploughed" % who)

    c = cancel_accepted(client, s["status_uri"])
    c_done = client.wait_completed(c["status_uri"])
    assert c_done["code"] == 0, c_done
    target = client.status(s["status_uri"])
    assert_cancelled(target)
    # The children were cancelled too (across services for the neighbour),
    # their cancellations children of this one.
    cancels = [client.status(uri) for uri in c_done["children"]]
    assert sorted(x["uri"] for x in cancels if x["operation"] == "update") == sorted([helper_uri, neighbour_uri]), \
        c_done
    for uri, who in ((helper_uri, name + "-helper1"), (neighbour_uri, name + "-neighbour1")):
        child = wait_status(client, uri, lambda st: st["state"] == "CANCELLED", "child %s cancelled" % who)
        assert_cancelled(child)
        assert len(compensations(client, child, who)) == 1, child
    # The target's own compensation shows as its child, after the two.
    assert target["children"][:2] == [helper_uri, neighbour_uri], target
    comp = compensations(client, target, name)
    assert len(comp) == 1 and comp[0]["status_uri"] == target["children"][2], target


def test_precancel_veto(client, barn):
    name = unique("field")
    s = start(client, barn, "field", name, {"rows": 15, "row_seconds": 0.2, "guarded": True})
    wait_status(client, s["status_uri"], lambda st: "field %s: row 1 ploughed" % name in st["messages"],
                "the field to be ploughed")
    c = cancel_accepted(client, s["status_uri"])
    c_done = client.wait_completed(c["status_uri"])
    # The guard vetoed: the cancellation fails with its code and message ...
    assert c_done["code"] == 409, c_done
    assert any("field %s is guarded: the ploughing goes on" % name in m for m in c_done["messages"]), c_done
    assert len(c_done["children"]) == 1, c_done
    guard = client.status(c_done["children"][0])
    assert guard["code"] == 409, guard
    # ... and the field goes on as if nothing happened.
    assert client.status(s["status_uri"])["state"] in ("RUNNING", "COMPLETED")
    done = client.wait_completed(s["status_uri"])
    assert done["code"] == 0, done
    assert done["messages"][-1] == "field %s: all 15 rows ploughed" % name, done
    assert done["children"] == [], done


def test_cancel_completed_job_runs_its_compensation(client, barn):
    name = unique("field")
    done = run(client, barn, "field", name, {"rows": 1, "row_seconds": 0})
    assert done["code"] == 0, done
    c = cancel_accepted(client, done["status_uri"])
    assert client.wait_completed(c["status_uri"])["code"] == 0
    target = client.status(done["status_uri"])
    assert target["state"] == "CANCELLED", target
    assert target["code"] == 0, target  # it had completed: its code stays
    assert len(compensations(client, target, name)) == 1, target


# ---- agents ----------------------------------------------------------------------------------------

def diamond(component):
    """A -> (B || C) -> D, listed out of order."""
    def agent(letter, *requires):
        return {"name": "do_agent_%s_%s_v1" % (component, letter),
                "require": ["do_agent_%s_%s_v1" % (component, r) for r in requires]}
    return [agent("d", "b", "c"), agent("c", "a"), agent("b", "a"), agent("a")]


def progress_lines(status):
    return [m for m in status["messages"] if re.fullmatch(r"[A-D] at progress \d+", m)]


def test_agents_diamond_in_order_and_reversed_on_delete(client, barn):
    body = {"agents": diamond(barn[1]), "content": {"field": "north"}}
    done = run(client, barn, "agents", None, body, method="POST")
    assert done["code"] == 0 and done["progress"] == 100, done
    lines = progress_lines(done)
    assert lines[0] == "A at progress 1", done
    assert sorted(lines[1:3]) == ["B at progress 33", "C at progress 33"], done
    assert lines[3:] == ["D at progress 66"], done
    assert len(done["children"]) == 4, done

    undone = run(client, barn, "agents", None, body, method="DELETE")
    assert undone["code"] == 0 and undone["progress"] == 100, undone
    assert undone["operation"] == "delete"
    lines = progress_lines(undone)
    assert lines[0] == "D at progress 1", undone
    assert sorted(lines[1:3]) == ["B at progress 33", "C at progress 33"], undone
    assert lines[3:] == ["A at progress 66"], undone


def test_agents_failure_and_cycle(client, barn):
    body = {"agents": diamond(barn[1]), "content": {"fail": "b"}}
    failed = run(client, barn, "agents", None, body, method="POST")
    assert failed["code"] == 409, failed
    assert "CONFLICT [409]: agent B failed as asked" in failed["messages"], failed
    # D never starts.  (C, B's sibling, may still report after the runner failed.)
    assert not any(m.startswith("D at") for m in failed["messages"]), failed

    a, b = ("do_agent_%s_%s_v1" % (barn[1], x) for x in "ab")
    cycle = run(client, barn, "agents", None,
                {"agents": [{"name": a, "require": [b]}, {"name": b, "require": [a]}]}, method="POST")
    assert cycle["code"] == 500, cycle
    assert "cycle" in cycle["messages"][-1], cycle


def test_agents_in_gearboxs_object_form(client, barn):
    """Gearbox's {handler: {"require": [...]}} form runs as the list form; a
    REST agent (method + the key as its URI) that answers an error (the
    gateway knows no such resource) fails the runner with that code, and
    the agents after it never start."""
    agents = {a["name"]: {"require": a["require"]} for a in diamond(barn[1])}
    done = run(client, barn, "agents", None, {"agents": agents, "content": {"field": "north"}}, method="POST")
    assert done["code"] == 0 and done["progress"] == 100, done
    lines = progress_lines(done)
    assert lines[0] == "A at progress 1", done
    assert sorted(lines[1:3]) == ["B at progress 33", "C at progress 33"], done
    assert lines[3:] == ["D at progress 66"], done

    a, d = ("do_agent_%s_%s_v1" % (barn[1], x) for x in "ad")
    missing = client.base + url(barn, "nothing", "here")
    failed = run(client, barn, "agents", None,
                 {"agents": {a: {}, missing: {"method": "GET", "require": [a]}, d: {"require": [missing]}},
                  "content": {"field": "north"}}, method="POST")
    assert failed["code"] == 400, failed
    assert any('agent "GET %s" answered 400' % missing in m for m in failed["messages"]), failed
    assert progress_lines(failed) == ["A at progress 1"], failed
