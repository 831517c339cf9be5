# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""The Python barn behaves like the C barn: one gateway mounts /barn (C
worker) and /python/barn (examples/barn/python/barn_worker.py), the same
HTTP scenario runs against both, and the answers must match (with the
component names swapped)."""

import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import BOUND, SOURCE_DIR, free_port, port_open, wait_for

BUILD_DIR = Path(os.environ.get("GEARBOX_BUILD_DIR") or SOURCE_DIR / "build")
GATEWAY = BUILD_DIR / "gateway/gearbox-gateway"
C_BARN = BUILD_DIR / "examples/barn/gearbox-barn-worker"
PY_BARN = SOURCE_DIR / "examples/barn/python/barn_worker.py"
CONF = SOURCE_DIR / "examples/barn/conf"


@pytest.fixture(scope="module")
def barns(tmp_path_factory, gearmand):
    if not GATEWAY.exists() or not C_BARN.exists():
        pytest.skip("gateway or C barn not built in %s" % BUILD_DIR)
    tmp = tmp_path_factory.mktemp("barns")
    port = free_port()
    env = dict(os.environ, GEARMAN_PORT=str(gearmand), GEARBOX_PORT=str(port),
               GEARBOX_STATE_DIR=str(tmp / "state"))
    gateway_conf = tmp / "gateway.conf"
    gateway_conf.write_text(json.dumps({
        "listen": {"address": "127.0.0.1", "port": port},
        "gearman": {"servers": ["127.0.0.1:%d" % gearmand]},
        "status": {"type": "sqlite", "path": str(tmp / "state/status.db")},
        "log": {"level": "warn"},
        "locations": [
            {"prefix": "/barn", "auth": "none", "config": str(CONF / "barn.conf"), "timeout": 30},
            {"prefix": "/python/barn", "auth": "none", "config": str(CONF / "barnpython.conf"), "timeout": 30},
        ]}))
    procs = []
    try:
        for cmd in ([str(C_BARN), "--config", str(CONF / "barn.conf")],
                    [sys.executable, str(PY_BARN), "--config", str(CONF / "barnpython.conf")],
                    [str(GATEWAY), "--config", str(gateway_conf)]):
            log = open(tmp / (Path(cmd[1] if cmd[0] == sys.executable else cmd[0]).stem + ".log"), "w")
            procs.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT))
        wait_for(lambda: port_open(port) or any(p.poll() is not None for p in procs), "the gateway")
        assert all(p.poll() is None for p in procs), "a daemon exited; logs in %s" % tmp
        yield port
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=BOUND)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def request(port, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=BOUND)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        r = conn.getresponse()
        data = r.read()
        return r.status, json.loads(data) if data else None
    finally:
        conn.close()


def finished(port, prefix, status):
    path = "%s/v1/status/%s" % (prefix, status["status_uri"].rsplit("/", 1)[1])

    def done():
        code, s = request(port, "GET", path)
        return s if code == 200 and s["state"] == "COMPLETED" else None

    return wait_for(done, "status " + path)


def scenario(port, prefix):
    """Answers of one barn, with what differs by nature (ids, times, hosts) removed."""
    out = []

    def call(method, path, body=None):
        code, doc = request(port, method, prefix + path, body)
        if code == 202:
            doc = finished(port, prefix, doc)
            doc = {k: doc[k] for k in ("state", "progress", "code", "messages", "operation")}
        elif isinstance(doc, dict):
            doc.pop("uri", None)
        out.append((method, path, code, doc))

    call("PUT", "/v1/animal/Wilbur", {"name": "Wilbur", "sound": "oink"})
    call("GET", "/v1/animal/Wilbur")
    call("POST", "/v1/animal/Wilbur", {"legs": 4})
    call("POST", "/v1/animal/Wilbur", {"name": "Babe"})
    call("GET", "/v1/animal/Wilbur")
    call("PUT", "/v1/animal/Wilbur", {"name": "Wilbur", "legs": "four"})
    call("GET", "/v1/animal")
    call("GET", "/v1/animal/Charlotte")
    call("GET", "/v1/animal/.hidden")
    call("POST", "/v1/animal/Nobody", {"legs": 2})
    call("DELETE", "/v1/animal/Wilbur")
    call("DELETE", "/v1/animal/Wilbur")
    call("GET", "/v1/animal")
    return out


def test_python_barn_answers_like_the_c_barn(barns):
    c = scenario(barns, "/barn")
    py = scenario(barns, "/python/barn")
    c = json.loads(json.dumps(c))
    assert json.loads(json.dumps(py).replace("barnpython", "barn")) == c
    # And the scenario itself is what the barn promises.
    assert c[0][2] == 202 and c[0][3]["messages"] == ['animal "Wilbur" created',
                                                      "Wilbur is happily rolling around in the mud!"]
    assert c[1][2] == 200 and c[1][3] == {"name": "Wilbur", "sound": "oink"}
    assert c[3][3]["code"] == 400
    assert c[7][2] == 404 and c[7][3]["messages"] == ['NOT_FOUND [404]: animal "Charlotte" not found']
    assert c[11][3]["code"] == 404


def test_generated_names_and_default_species(barns):
    code, status = request(barns, "POST", "/python/barn/v1/animal", {"name": "Gen"})
    assert code == 202
    done = finished(barns, "/python/barn", status)
    assert done["code"] == 0
    name = status["uri"].rsplit("/", 1)[1]
    assert name.startswith("a-")
    code, animal = request(barns, "GET", "/python/barn/v1/animal/" + name)
    assert code == 200 and animal == {"name": "Gen", "species": "Sus domestica"}
