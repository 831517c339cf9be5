# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""Locations over HTTP against a real stack (docs/gateway.md): nested
locations, handlers the gateway learns from gearmand, and statuses found
under any location.

The stack of this module: gearmand, one C barn worker, the gateway with
  /barn                      the example barn (its config lists its handlers)
  /barn/v1/animal/Wilbur     nested: POST answers synchronously
  /silo                      a handler no worker serves, timeout 30 s
  /silo/v1/grain/quick       nested: timeout 1 s
  /farm                      component "barn" with no "handlers" list: what
                             the barn worker registered with gearmand
  /late                      component "late", no list: a worker that the
                             tests start later registers its handlers
"""

import json
import signal
import subprocess
import textwrap
import time

import pytest

from conftest import (BARN_CONF, BOUND, BUILD_DIR, Stack, Supervisor, check_error, free_ports,
                      gearman_status, gearmand_daemon, stack_env, unique, wait_for, write_json)

# The cache of gearmand's answer promises a second; the rest is room for a
# loaded machine.
FOUND_WITHIN_S = 3.0

LATE_WORKER = textwrap.dedent('''
    import json
    import sys

    import gearbox


    class Late(gearbox.Worker):
        def __init__(self, config):
            super().__init__(config)
            self.register_handler("do_get_late_thing_v1", self.get_thing)
            self.register_handler("do_put_global_gadget_v1", self.put_gadget)
            self.register_handler("do_append_late_thing_v1", self.put_gadget)

        def get_thing(self, job, resp):
            resp.content(json.dumps({"thing": job.arguments()[0]}))
            return gearbox.WORKER_SUCCESS

        def put_gadget(self, job, resp):
            return gearbox.WORKER_SUCCESS


    Late(sys.argv[1]).run()
''')


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    root = tmp_path_factory.mktemp("locations")
    (root / "state").mkdir()
    gearman_port, http_port = free_ports(2)
    common = {"gearman": {"servers": ["127.0.0.1:${GEARMAN_PORT}"]},
              "status": {"type": "sqlite", "path": "${GEARBOX_STATE_DIR}/status.db"}}
    write_json(root / "silo.conf", dict(common, component="silo", handlers=["do_get_silo_grain_v1",
                                                                          "do_put_silo_grain_v1"]))
    write_json(root / "farm.conf", dict(common, component="barn"))
    write_json(root / "late.conf", dict(common, component="late"))
    write_json(root / "gateway.conf", dict(common, **{
        "listen": {"address": "127.0.0.1", "port": "${GEARBOX_PORT}"},
        "log": {"level": "info"},
        "locations": [
            # The nested locations come first: the order does not matter.
            {"prefix": "/barn/v1/animal/Wilbur", "sync": ["POST"]},
            {"prefix": "/silo/v1/grain/quick", "timeout": 1},
            {"prefix": "/barn", "auth": "none", "config": str(BARN_CONF), "timeout": 30},
            {"prefix": "/silo", "auth": "none", "config": "silo.conf", "timeout": 30},
            {"prefix": "/farm", "auth": "none", "config": "farm.conf", "timeout": 30},
            {"prefix": "/late", "auth": "none", "config": "late.conf", "timeout": 30},
        ]}))
    daemons = [gearmand_daemon(),
               {"name": "barn", "command": ["${GEARBOX_BUILD_DIR}/examples/barn/gearbox-barn-worker",
                                            "--config", str(BARN_CONF)]},
               {"name": "gateway",
                "command": ["${GEARBOX_BUILD_DIR}/gateway/gearbox-gateway",
                            "--config", "${GEARBOX_STACK_DIR}/gateway.conf"],
                "ready": {"tcp": "127.0.0.1:${GEARBOX_PORT}"}}]
    conf = write_json(root / "stack.conf", {"stop_timeout": 10, "daemons": daemons})
    sup = Supervisor(root, conf, stack_env(root, gearman_port, http_port)).start()
    try:
        sup.wait_started()
        wait_for(lambda: gearman_status(gearman_port).get("do_post_barn_animal_v1", (0, 0, 0))[2] >= 1,
                 "the barn worker registered with gearmand")
        s = Stack(root, sup, gearman_port, http_port)
    except BaseException:
        sup.stop()
        raise
    yield s
    assert sup.stop() == 0, sup.output()


@pytest.fixture
def client(stack):
    return stack.client


def status_id(status):
    return status["status_uri"].rsplit("/", 1)[1]


def put_animal(client, prefix, name):
    s = client.accepted("PUT", "%s/v1/animal/%s" % (prefix, name), {"name": name})
    done = client.wait_completed(s["status_uri"])
    assert done["code"] == 0, done
    return done


# ---- nested locations --------------------------------------------------------

def test_nested_location_answers_post_synchronously(client):
    # PUT is not sync in the nested location either (it sets only POST): 202.
    put_animal(client, "/barn", "Wilbur")
    r = client.post("/barn/v1/animal/Wilbur", {"species": "Sus scrofa"})
    # Same handler (do_post_barn_animal_v1, the barn's), answered inline.
    assert r.status == 200, r
    assert r.json()["name"] == "Wilbur" and r.json()["species"] == "Sus scrofa", r
    assert client.get("/barn/v1/animal/Wilbur").json()["species"] == "Sus scrofa"
    # With matrix arguments it is still the nested location.
    assert client.post("/barn/v1/animal/Wilbur;note=1", {"species": "Sus domestica"}).status == 200

    # Next door, under the parent location, POST stays async.
    fern = unique("Fern")
    put_animal(client, "/barn", fern)
    s = client.accepted("POST", "/barn/v1/animal/" + fern, {"species": "Sus scrofa"})
    assert client.wait_completed(s["status_uri"])["code"] == 0
    # A name that merely starts like the nested one is the parent's too.
    wilburt = "Wilburt" + fern[4:]
    put_animal(client, "/barn", wilburt)
    assert client.post("/barn/v1/animal/" + wilburt, {"species": "x"}).status == 202


def test_nested_location_has_its_own_timeout(client):
    r = client.get("/silo/v1/grain/quick")
    body = check_error(r, 504, "get", "GATEWAY_TIME_OUT [504]", "/silo/v1/grain/quick")
    # The parent's component and handler, the nested location's 1 s.
    assert "do_get_silo_grain_v1 within 1 s" in body["messages"][0], body


# ---- handlers learned from gearmand -------------------------------------------

def test_handlers_learned_from_gearmand(client):
    """/farm's config lists no handlers: the barn worker's registrations
    with gearmand are what the gateway routes to."""
    name = unique("Farmed")
    put_animal(client, "/farm", name)
    r = client.get("/farm/v1/animal/" + name)
    assert r.status == 200, r
    assert r.json()["name"] == name
    r = client.get("/farm/v1/cow/Bessie")
    check_error(r, 400, "get", "No valid handler found!")


def test_handler_registered_later_is_found_within_a_second(stack, client):
    check_error(client.get("/late/v1/thing/first"), 400, "get", "No valid handler found!")
    check_error(client.put("/late/v1/gadget/first", {}), 400, "create", "No valid handler found!")
    script = stack.root / "late_worker.py"
    script.write_text(LATE_WORKER)
    env = dict(stack.supervisor.env, PYTHONPATH=str(BUILD_DIR / "bindings/python"))
    with open(stack.root / "late_worker.log", "ab") as log:
        worker = subprocess.Popen(["/usr/bin/python3", str(script), str(stack.root / "late.conf")],
                                  stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                  cwd=str(stack.root))
    try:
        wanted = ("do_get_late_thing_v1", "do_put_global_gadget_v1")
        wait_for(lambda: worker.poll() is None and all(
                     gearman_status(stack.gearman_port).get(h, (0, 0, 0))[2] >= 1 for h in wanted),
                 "the late worker registered with gearmand")
        since = time.monotonic()
        r = wait_for(lambda: (lambda r: r if r.status != 400 else None)(client.get("/late/v1/thing/x")),
                     "the gateway to find do_get_late_thing_v1", BOUND, 0.02)
        took = time.monotonic() - since
        assert r.status == 200 and r.json() == {"thing": "x"}, r
        assert took <= FOUND_WITHIN_S, "found after %.2f s" % took
        # The global fallback works with handlers learned from gearmand.
        s = client.accepted("PUT", "/late/v1/gadget/g1", {})
        assert client.wait_completed(s["status_uri"])["code"] == 0
        # Still unknown: a handler nobody registered.
        check_error(client.delete("/late/v1/thing/x"), 400, "delete", "No valid handler found!")
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=BOUND)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


# ---- a status under any location --------------------------------------------

def test_status_is_found_under_any_location(client):
    name = unique("Roamer")
    done = put_animal(client, "/barn", name)
    sid = status_id(done)
    assert "/barn/v1/status/" in done["status_uri"]
    for prefix in ("/barn", "/farm", "/silo", "/late"):
        r = client.get("%s/v1/status/%s" % (prefix, sid))
        assert r.status == 200, (prefix, r)
        # The same object everywhere: its status_uri names where it was made.
        assert r.json() == done, prefix
    check_error(client.get("/farm/v1/status/s-" + "0" * 26), 404, "get", "not found")
    # Lists show the location's own statuses only.
    assert client.get("/barn/v1/status;uri=" + name).json()["statuses"] == [sid]
    assert client.get("/farm/v1/status;uri=" + name).json()["statuses"] == []


def test_status_is_cancelled_under_another_location(client):
    # No worker serves the silo's PUT: the job stays PENDING.
    s = client.accepted("PUT", "/silo/v1/grain/" + unique("wheat"), {})
    assert s["state"] == "PENDING"
    # Found (not 404) under /farm; its job waits in the store's queue (the
    # gateway's first submit has a row there too), so it can be put off.
    later = time.time() + 3600
    r = client.post("/farm/v1/status/" + status_id(s), {"ytime": later})
    assert r.status == 200, r
    assert r.json()["ytime"] >= int(later) - 1, r.json()
    r = client.post("/barn/v1/status/" + status_id(s), {"state": "CANCELLED"})
    assert r.status == 202, r
    cancel = r.json()
    assert cancel["uri"] == s["status_uri"], cancel
    # The cancellation's own status belongs with its target, the silo's.
    assert "/silo/v1/status/" in cancel["status_uri"], cancel
    assert client.wait_completed(cancel["status_uri"])["code"] == 0
    wait_for(lambda: client.status("/late/v1/status/" + status_id(s))["state"] == "CANCELLED",
             "the silo job cancelled")
