# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""Conditional reads, long-poll and Prefer (docs/gateway.md, "Waiting for a
status").

A real stack with the /lp location served by longpoll_worker.py (a Python
worker in its own process, whose jobs wait for "gate" files the test
creates) and /silo, whose PUT jobs no worker takes (they stay PENDING):
statuses carry a strong ETag and answer If-None-Match with 304; a GET with
Prefer: wait=N and a matching If-None-Match is answered when the worker's
progress changes the status, or with 304 when N seconds pass; hundreds of
waiters hold no thread each and only the one whose status changed wakes;
Prefer: wait on an async request answers inline with the final status once
the job ends within N seconds, else 202; Prefer: respond-async turns a sync
GET into a job.  Every wait is bounded; none is a fixed sleep.
"""

import os
import re
import threading
import time
from pathlib import Path

import pytest

from conftest import BOUND, start_python_component, unique, wait_for

ETAG = re.compile(r'"[0-9a-f]{16}"')


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = start_python_component(tmp_path_factory.mktemp("longpoll"), "lp", "longpoll_worker.py",
                               ["do_put_lp_step_v1", "do_get_lp_step_v1"])
    yield s
    assert s.supervisor.stop() == 0, s.supervisor.output()


@pytest.fixture
def client(stack):
    return stack.client


def gate(tmp_path, name="gate"):
    return str(tmp_path / (name + "-" + unique("g")))


def start_steps(client, gates, fail=None, headers=None):
    body = {"gates": gates}
    if fail:
        body["fail"] = fail
    return client.put("/lp/v1/step/" + unique("Step"), body, headers=headers)


def wait_progress(client, status_uri, progress):
    return wait_for(lambda: (lambda s: s if s["progress"] >= progress else None)(client.status(status_uri)),
                    "progress %d at %s" % (progress, status_uri))


class Poll(threading.Thread):
    """One GET in a thread of its own: .response and .elapsed once done."""

    def __init__(self, client, path, headers):
        super().__init__(daemon=True)
        self.client, self.path, self.headers = client, path, headers
        self.response = self.error = None
        self.started = time.monotonic()
        self.done_at = None
        self.start()

    def run(self):
        try:
            conn = self.client.connection(timeout=BOUND + 60)
            self.response = self.client.request("GET", self.path, headers=self.headers, conn=conn)
            conn.close()
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = e
        self.done_at = time.monotonic()

    def result(self, timeout=BOUND):
        self.join(timeout)
        assert not self.is_alive(), "no answer to GET %s within %s s" % (self.path, timeout)
        assert self.error is None, self.error
        return self.response


def suspended(client):
    """The gateway's gauge of suspended (sync and waiting) requests."""
    text = client.get("/metrics").body.decode()
    m = re.search(r"^gearbox_gateway_suspended_requests (\d+)", text, re.M)
    return int(m.group(1)) if m else -1


def gateway_threads(stack):
    return len(os.listdir("/proc/%d/task" % stack.supervisor.pid_of("gateway.0")))


def pending_silo_status(client):
    r = client.put("/silo/v1/grain/" + unique("Grain"), {})
    assert r.status == 202, r
    return r.json()["status_uri"]


def test_etag_and_304(client, tmp_path):
    g = gate(tmp_path)
    r = start_steps(client, [g])
    assert r.status == 202, r
    uri = r.headers["Location"]
    wait_progress(client, uri, 10)
    first = client.get(uri)
    etag = first.headers["ETag"]
    assert first.status == 200 and ETAG.fullmatch(etag), first.headers
    again = client.get(uri)
    assert again.headers["ETag"] == etag and again.body == first.body
    same = client.get(uri, headers={"If-None-Match": etag})
    assert same.status == 304 and same.body == b"" and same.headers["ETag"] == etag, same
    assert client.get(uri, headers={"If-None-Match": '"x", W/' + etag}).status == 304
    assert client.get(uri, headers={"If-None-Match": "*"}).status == 304
    assert client.get(uri, headers={"If-None-Match": '"0000000000000000"'}).status == 200
    assert client.request("HEAD", uri, headers={"If-None-Match": etag}).status == 304
    # The worker moves on: the tag changes with the status.
    Path(g).touch()
    moved = wait_progress(client, uri, 30)
    changed = client.get(uri, headers={"If-None-Match": etag})
    assert changed.status == 200 and changed.headers["ETag"] != etag
    assert changed.json()["progress"] >= moved["progress"]
    # Collections carry one too.
    lst = client.get("/lp/v1/status;_count=5")
    assert lst.status == 200 and ETAG.fullmatch(lst.headers["ETag"])
    assert client.get("/lp/v1/status;_count=5", headers={"If-None-Match": lst.headers["ETag"]}).status in (200, 304)
    # An unknown status is still a 404 (no tag).
    missing = client.get("/lp/v1/status/s-" + "0" * 26, headers={"If-None-Match": etag})
    assert missing.status == 404 and "ETag" not in missing.headers


def test_longpoll_woken_by_worker_progress(client, tmp_path):
    g = gate(tmp_path)
    uri = start_steps(client, [g]).headers["Location"]
    wait_progress(client, uri, 10)
    etag = client.get(uri).headers["ETag"]
    poll = Poll(client, uri, {"If-None-Match": etag, "Prefer": "wait=40"})
    wait_for(lambda: suspended(client) >= 1, "the long-poll waiting")
    assert poll.done_at is None  # held: nothing changed yet
    opened = time.monotonic()
    Path(g).touch()  # the worker (another process) raises progress to 30
    r = poll.result()
    assert r.status == 200, r
    assert r.json()["progress"] >= 30 and r.headers["ETag"] != etag
    assert r.headers["Preference-Applied"] == "wait=40"
    # Woken by the change, long before the 40 s.
    assert poll.done_at - opened < 20, poll.done_at - opened


def test_longpoll_times_out_with_304(client):
    uri = pending_silo_status(client)
    etag = client.get(uri).headers["ETag"]
    poll = Poll(client, uri, {"If-None-Match": etag, "Prefer": "wait=1"})
    r = poll.result()
    assert r.status == 304 and r.body == b"" and r.headers["ETag"] == etag, r
    assert r.headers["Preference-Applied"] == "wait=1"
    assert poll.done_at - poll.started >= 0.9
    # Without a matching If-None-Match there is nothing to wait for.
    quick = client.get(uri, headers={"Prefer": "wait=30"})
    assert quick.status == 200 and "Preference-Applied" not in quick.headers


def test_longpoll_wait_is_clamped_and_woken_by_cancel(client):
    uri = pending_silo_status(client)
    etag = client.get(uri).headers["ETag"]
    poll = Poll(client, uri, {"If-None-Match": etag, "Prefer": "wait=600"})
    wait_for(lambda: suspended(client) >= 1, "the long-poll waiting")
    r = client.post(uri, {"state": "CANCELLED"})
    assert r.status == 202, r
    answer = poll.result()
    assert answer.status == 200 and answer.json()["state"] != "PENDING", answer
    assert answer.headers["Preference-Applied"] == "wait=60"


def test_many_waiters_one_woken(stack, client, tmp_path):
    waiters = 300
    threads_before = gateway_threads(stack)
    uris = [pending_silo_status(client) for _ in range(waiters)]
    polls = [Poll(client, u, {"If-None-Match": client.get(u).headers["ETag"], "Prefer": "wait=25"})
             for u in uris]
    g = gate(tmp_path)
    uri = start_steps(client, [g]).headers["Location"]
    wait_progress(client, uri, 10)
    one = Poll(client, uri, {"If-None-Match": client.get(uri).headers["ETag"], "Prefer": "wait=25"})
    wait_for(lambda: suspended(client) >= waiters + 1, "%d long-polls waiting" % (waiters + 1))
    # Waiting requests hold no thread of the gateway each.
    assert gateway_threads(stack) <= threads_before + 1, (threads_before, gateway_threads(stack))
    Path(g).touch()
    r = one.result()
    assert r.status == 200 and r.json()["progress"] >= 30, r
    woken_at = time.monotonic()
    assert all(p.done_at is None for p in polls) or woken_at - polls[0].started > 24
    answers = [p.result(60) for p in polls]
    assert all(a.status == 304 for a in answers), [a for a in answers if a.status != 304][:3]
    assert min(p.done_at - p.started for p in polls) >= 24


def test_prefer_wait_on_async_answers_inline(client, tmp_path):
    r = start_steps(client, [], headers={"Prefer": "wait=20"})
    assert r.status == 200, r
    body = r.json()
    assert body["state"] == "COMPLETED" and body["code"] == 0 and body["progress"] == 100
    assert r.headers["Content-Location"] == body["status_uri"]
    assert r.headers["Preference-Applied"] == "wait=20"
    assert ETAG.fullmatch(r.headers["ETag"])
    # A failure comes with its code, as a sync request's would.
    failed = start_steps(client, [], fail=409, headers={"Prefer": "wait=20"})
    assert failed.status == 409 and failed.json()["code"] == 409, failed
    # Progress on the way does not end the wait; the end does.
    g = gate(tmp_path)
    holder = {}

    def put():
        holder["r"] = start_steps(client, [g], headers={"Prefer": "wait=40"})
    t = threading.Thread(target=put, daemon=True)
    t.start()
    wait_for(lambda: suspended(client) >= 1, "the async request waiting")
    Path(g).touch()
    t.join(BOUND)
    assert not t.is_alive()
    assert holder["r"].status == 200 and holder["r"].json()["state"] == "COMPLETED", holder["r"]


def test_prefer_wait_on_async_gives_202_after_n_seconds(client):
    start = time.monotonic()
    r = client.put("/silo/v1/grain/" + unique("Grain"), {}, headers={"Prefer": "wait=1"})
    assert r.status == 202 and r.json()["state"] == "PENDING", r
    assert time.monotonic() - start >= 0.9
    assert r.headers["Location"] == r.json()["status_uri"]
    assert r.headers["Preference-Applied"] == "wait=1"


def test_respond_async_makes_a_sync_get_a_job(client):
    name = unique("Sync")
    sync = client.get("/lp/v1/step/" + name)
    assert sync.status == 200 and sync.json() == {"name": name}, sync
    r = client.get("/lp/v1/step/" + name, headers={"Prefer": "respond-async"})
    assert r.status == 202, r
    assert r.headers["Preference-Applied"] == "respond-async"
    status = r.json()
    assert status["operation"] == "get" and r.headers["Location"] == status["status_uri"]
    done = client.wait_completed(status["status_uri"])
    assert done["code"] == 0
    # respond-async with wait: inline once the job is done.
    both = client.get("/lp/v1/step/" + name, headers={"Prefer": "respond-async, wait=20"})
    assert both.status == 200 and both.json()["state"] == "COMPLETED", both
