# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""Two gearmands: requests and jobs keep flowing with either one killed.

The test starts both gearmands itself (so that it can kill -9 one by its pid
and start it again on the same port); the gateway and a C barn worker, both
configured with the two servers, run under gearbox-supervise.
"""

import os
import signal
import subprocess
import time

import pytest

from conftest import (BARN_EXAMPLES, GATEWAY, SUPERVISE, BARN_WORKER, Client, Supervisor, free_ports,
                      gearman_status, pid_alive, port_open, stack_env, unique, wait_for, write_json)

GEARMAND = os.environ.get("GEARMAND") or "/usr/sbin/gearmand"
ANIMAL_GET = "do_get_barn_animal_v1"


class Gearmand:
    """One gearmand of the test's own on a fixed loopback port."""

    def __init__(self, root, name, port):
        self.root, self.name, self.port = root, name, port
        self.proc = None

    def start(self):
        log = self.root / ("%s.log" % self.name)
        self.proc = subprocess.Popen(
            [GEARMAND, "--listen=127.0.0.1", "--port=%d" % self.port, "--threads=1",
             "--verbose=WARNING", "--log-file=%s" % log, "--pid-file=%s" % (self.root / ("%s.pid" % self.name)),
             "--config-file=/dev/null"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
            start_new_session=True)
        wait_for(lambda: port_open(self.port) or self.proc.poll() is not None, "%s to listen" % self.name)
        assert self.proc.poll() is None, "%s exited (see %s)" % (self.name, log)
        return self

    def kill(self):
        """kill -9 of exactly this gearmand, by pid."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        wait_for(lambda: not port_open(self.port), "%s's port to close" % self.name)

    def workers(self, function=ANIMAL_GET):
        return gearman_status(self.port).get(function, (0, 0, 0))[2]


@pytest.fixture
def two(tmp_path):
    if not os.access(GEARMAND, os.X_OK):
        pytest.skip("no gearmand at %s" % GEARMAND)
    for binary in (SUPERVISE, GATEWAY, BARN_WORKER):
        assert binary.exists(), "%s is missing: build first" % binary
    (tmp_path / "state").mkdir()
    port_a, port_b, http_port = free_ports(3)
    a = Gearmand(tmp_path, "gearmand-a", port_a).start()
    b = Gearmand(tmp_path, "gearmand-b", port_b).start()
    servers = ["127.0.0.1:%d" % port_a, "127.0.0.1:%d" % port_b]
    status = {"type": "sqlite", "path": "${GEARBOX_STATE_DIR}/status.db"}
    write_json(tmp_path / "barn.conf", {
        "component": "barn",
        "gearman": {"servers": servers},
        "status": status,
        "schemadir": str(BARN_EXAMPLES / "schemas"),
        "schema_dialect": "legacy",
        "handlers": ["do_%s_barn_animal_v1" % m for m in ("get", "put", "post", "delete")],
        "barn": {"state_dir": "${GEARBOX_STATE_DIR}/barn"},
    })
    write_json(tmp_path / "gateway.conf", {
        "listen": {"address": "127.0.0.1", "port": "${GEARBOX_PORT}"},
        "gearman": {"servers": servers},
        "status": status,
        "threads": 4,
        "log": {"level": "info"},
        "locations": [{"prefix": "/barn", "auth": "none", "config": "barn.conf", "timeout": 30}],
    })
    conf = write_json(tmp_path / "stack.conf", {"stop_timeout": 10, "daemons": [
        {"name": "barn", "count": 1,
         "command": ["${GEARBOX_BUILD_DIR}/examples/barn/gearbox-barn-worker",
                     "--config", "${GEARBOX_STACK_DIR}/barn.conf"]},
        {"name": "gateway",
         "command": ["${GEARBOX_BUILD_DIR}/gateway/gearbox-gateway",
                     "--config", "${GEARBOX_STACK_DIR}/gateway.conf"],
         "ready": {"tcp": "127.0.0.1:${GEARBOX_PORT}"}},
    ]})
    sup = Supervisor(tmp_path, conf, stack_env(tmp_path, port_a, http_port)).start()
    try:
        sup.wait_started()
        wait_for(lambda: a.workers() >= 1 and b.workers() >= 1, "the worker registered with both gearmands")
        yield a, b, sup, Client(http_port)
    finally:
        try:
            assert sup.stop() == 0, sup.output()
        finally:
            a.kill()
            b.kill()


def traffic(client, known, n=10):
    """n sync GETs of the animal `known` (each 200) and n async PUTs (each
    202); waits until every PUT's job has completed with code 0."""
    statuses = []
    for _ in range(n):
        r = client.get("/barn/v1/animal/" + known)
        assert r.status == 200, r
        assert r.json()["name"] == known
        name = unique("Fern")
        statuses.append(client.accepted("PUT", "/barn/v1/animal/" + name, {"name": name}))
    for s in statuses:
        done = client.wait_completed(s["status_uri"])
        assert done["code"] == 0, done


@pytest.mark.parametrize("first", ["first", "second"])
def test_jobs_flow_with_either_gearmand_killed(two, first):
    a, b, sup, client = two
    if first == "second":  # the second server of the lists dies first
        a, b = b, a
    worker = sup.pid_of("barn.0")
    known = unique("Wilbur")
    s = client.accepted("PUT", "/barn/v1/animal/" + known, {"name": known})
    assert client.wait_completed(s["status_uri"])["code"] == 0
    traffic(client, known, 4)

    # One server dies: the gateway and the worker's job manager go to the
    # other, the worker keeps serving from it.
    a.kill()
    started = time.monotonic()
    traffic(client, known)
    elapsed_b_only = time.monotonic() - started
    assert sup.pid_of("barn.0") == worker and pid_alive(worker)

    # Restarted on its port, it gets the worker back by itself ...
    a.start()
    wait_for(lambda: a.workers() >= 1, "the worker to register with the restarted gearmand")
    # ... and, with the other one killed, every job goes through it (the
    # gateway's old connections to it died with the first process).
    b.kill()
    traffic(client, known)
    assert sup.pid_of("barn.0") == worker and pid_alive(worker)

    # With both down, and only then, the answer is 503.
    a.kill()
    assert client.get("/barn/v1/animal/" + known).status == 503
    assert client.put("/barn/v1/animal/" + unique("Lost"), {"name": "x"}).status == 503
    print("10 GETs + 10 PUTs to completion with the %s gearmand down: %.2f s" % (first, elapsed_b_only))
