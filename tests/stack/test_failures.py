# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""Processes dying under a running stack: a barn worker, gearmand itself."""

import os
import re
import signal
import uuid

import pytest

from conftest import gearman_status, pid_alive, port_open, start_stack, wait_for


def test_killed_worker_is_restarted_and_serves(stack):
    sup = stack.supervisor
    old = sup.pid_of("barn.0")
    assert old and pid_alive(old)
    os.kill(old, signal.SIGKILL)
    new = wait_for(lambda: sup.pid_of("barn.0") not in (None, old) and sup.pid_of("barn.0"),
                   "barn.0 to be restarted")
    assert pid_alive(new)
    assert "barn.0 pid %d killed by signal 9" % old in sup.output()
    # The new process registers with gearmand again: two workers once more.
    wait_for(lambda: gearman_status(stack.gearman_port).get("do_get_barn_animal_v1", (0, 0, 0))[2] == 2,
             "2 barn workers registered again")
    name = "Phoenix-" + uuid.uuid4().hex[:8]
    s = stack.client.accepted("PUT", "/barn/v1/animal/" + name, {"name": name})
    assert stack.client.wait_completed(s["status_uri"])["code"] == 0
    assert stack.client.get("/barn/v1/animal/" + name).status == 200


@pytest.fixture
def doomed_stack(tmp_path):
    """A stack of its own whose gearmand is not restarted (and no workers)."""
    s = start_stack(tmp_path, workers=0, gearmand_restart=False)
    yield s
    assert s.supervisor.stop() == 0, s.supervisor.output()


def test_gearmand_down_is_503_and_status_failed(doomed_stack):
    stack, client = doomed_stack, doomed_stack.client
    gearmand = stack.supervisor.pid_of("gearmand.0")
    assert gearmand and pid_alive(gearmand)
    # Before: the request is queued (no worker needed for a 202).
    before = "Before-" + uuid.uuid4().hex[:8]
    assert client.put("/barn/v1/animal/" + before, {"name": before}).status == 202

    os.kill(gearmand, signal.SIGTERM)  # only the gearmand this test started, by pid
    wait_for(lambda: not pid_alive(gearmand) and not port_open(stack.gearman_port), "gearmand to stop")
    # restart is off for this gearmand: the supervisor only logs the exit.
    wait_for(lambda: re.search(r"gearmand\.0 pid %d .*; not restarting" % gearmand,
                               stack.supervisor.output()), "the supervisor to notice")

    name = "Lost-" + uuid.uuid4().hex[:8]
    r = client.put("/barn/v1/animal/" + name, {"name": name})
    assert r.status == 503, r
    body = r.json()
    assert body["code"] == 503 and body["state"] == "COMPLETED" and body["progress"] == 100, body
    assert body["messages"][0].startswith("SERVICE_UNAVAILABLE [503]: "), body
    assert "Location" not in r.headers

    # The status was created before the submit and records the failure.
    listed = client.get("/barn/v1/status;_expand=1;uri=" + name)
    assert listed.status == 200, listed
    statuses = listed.json()["statuses"]
    assert len(statuses) == 1, statuses
    failed = statuses[0]
    assert failed["state"] == "COMPLETED"
    assert failed["code"] == 503
    assert failed["progress"] == 100
    assert failed["operation"] == "create"
    assert client.status(failed["status_uri"])["code"] == 503

    # POST and DELETE are not accepted either; a sync GET cannot be served.
    assert client.post("/barn/v1/animal", {"name": "x"}).status == 503
    assert client.delete("/barn/v1/animal/" + name).status == 503
    assert client.get("/barn/v1/animal/" + name).status == 503
    # Status reads need no Gearman.
    assert client.get("/barn/v1/status;_count=1").status == 200


def test_locked_store_is_503_then_recovers(tmp_path):
    """Another process holds the SQLite file's write lock: a PUT answers 503
    with Retry-After (after the store's busy timeout), writes nothing, and
    the next PUT once the lock is gone is accepted and runs."""
    import sqlite3
    stack = start_stack(tmp_path, workers=1)
    try:
        client = stack.client
        db = sqlite3.connect(str(tmp_path / "state" / "status.db"), isolation_level=None, timeout=60)
        db.execute("BEGIN IMMEDIATE")
        name = "Locked-" + uuid.uuid4().hex[:8]
        try:
            r = client.put("/barn/v1/animal/" + name, {"name": name})
        finally:
            db.execute("COMMIT")
            db.close()
        assert r.status == 503, r
        assert r.headers.get("Retry-After"), r.headers
        body = r.json()
        assert body["code"] == 503 and "status store unavailable" in body["messages"][0], body
        assert "Location" not in r.headers
        # The gateway says why in its log.
        logs = "".join(p.read_text(errors="replace") for p in stack.supervisor.log_dir.glob("gateway*.log"))
        assert "PUT /barn/v1/animal/%s: 503: status store unavailable" % name in logs, logs[-3000:]
        # Nothing half-written: no status for the refused request.
        assert client.get("/barn/v1/status;uri=" + name).json()["statuses"] == []
        # The lock gone, the same request is accepted and runs.
        s = client.accepted("PUT", "/barn/v1/animal/" + name, {"name": name})
        assert client.wait_completed(s["status_uri"])["code"] == 0
    finally:
        assert stack.supervisor.stop() == 0, stack.supervisor.output()
