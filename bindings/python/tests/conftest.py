# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""Fixtures of the Python binding tests: component configs in a temporary
directory, a real gearmand on a free 127.0.0.1 port (stopped by its pid),
and a minimal Gearman client speaking the binary protocol.

The package comes from the build tree (ctest sets PYTHONPATH to
<build>/bindings/python).  Waits poll with a generous bound.
"""

import json
import os
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

SOURCE_DIR = Path(os.environ.get("GBX_SOURCE_DIR") or Path(__file__).resolve().parents[3])
sys.path.insert(0, str(SOURCE_DIR / "tests" / "pylib"))
from gbxtest import BOUND, free_port, port_open, wait_for  # noqa: E402,F401


# ---- Gearman client (binary protocol) ---------------------------------------

SUBMIT_JOB = 7
JOB_CREATED = 8
WORK_STATUS = 12
WORK_COMPLETE = 13
WORK_FAIL = 14
SUBMIT_JOB_BG = 18
WORK_EXCEPTION = 25
WORK_DATA = 28
WORK_WARNING = 29


class GearmanClient:
    """Submits jobs and reads their results; several jobs may be in flight."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=BOUND)
        self.buf = b""
        self.results = {}  # handle -> (packet type, data)
        self.created = []  # handles in submission order

    def close(self):
        self.sock.close()

    def _send(self, ptype, *args):
        data = b"\0".join(a if isinstance(a, bytes) else a.encode() for a in args)
        self.sock.sendall(b"\0REQ" + struct.pack(">II", ptype, len(data)) + data)

    def _read_packet(self):
        while len(self.buf) < 12:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("gearmand closed the connection")
            self.buf += chunk
        magic, ptype, size = struct.unpack(">4sII", self.buf[:12])
        assert magic == b"\0RES", magic
        while len(self.buf) < 12 + size:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("gearmand closed the connection")
            self.buf += chunk
        data = self.buf[12:12 + size]
        self.buf = self.buf[12 + size:]
        return ptype, data

    def _pump(self):
        ptype, data = self._read_packet()
        if ptype == JOB_CREATED:
            self.created.append(data)
        elif ptype in (WORK_COMPLETE, WORK_FAIL, WORK_EXCEPTION):
            handle, _, rest = data.partition(b"\0")
            self.results[handle] = (ptype, rest)
        elif ptype in (WORK_STATUS, WORK_DATA, WORK_WARNING):
            pass
        else:
            raise AssertionError("unexpected gearman packet %d: %r" % (ptype, data))

    def submit(self, function, workload, background=False):
        """Submits a job; returns its handle once gearmand created it."""
        n = len(self.created)
        if isinstance(workload, (dict, list)):
            workload = json.dumps(workload)
        self._send(SUBMIT_JOB_BG if background else SUBMIT_JOB, function, "", workload)
        while len(self.created) == n:
            self._pump()
        return self.created[n]

    def submit_many(self, function, workloads):
        """Pipelines several submissions; returns their handles."""
        n = len(self.created)
        for w in workloads:
            w = json.dumps(w) if isinstance(w, (dict, list)) else w
            data = b"\0".join([function.encode(), b"", w.encode()])
            self.sock.sendall(b"\0REQ" + struct.pack(">II", SUBMIT_JOB, len(data)) + data)
        while len(self.created) < n + len(workloads):
            self._pump()
        return self.created[n:]

    def result(self, handle):
        """(packet type, data) of a finished foreground job (waits for it)."""
        while handle not in self.results:
            self._pump()
        return self.results.pop(handle)

    def reply(self, handle):
        """The worker's reply to a sync job, parsed: {"code", "headers", "content"}."""
        ptype, data = self.result(handle)
        assert ptype == WORK_COMPLETE, (ptype, data)
        return json.loads(data)


# ---- fixtures --------------------------------------------------------------

@pytest.fixture(scope="session")
def gearmand(tmp_path_factory):
    """A gearmand of our own; yields its port, stops it by pid."""
    port = free_port()
    logdir = tmp_path_factory.mktemp("gearmand")
    proc = subprocess.Popen(
        ["gearmand", "--listen=127.0.0.1", "--port=%d" % port,
         "--log-file=%s" % (logdir / "gearmand.log"), "--verbose=WARNING", "--threads=1"],
        stdout=subprocess.DEVNULL, stderr=open(logdir / "gearmand.err", "w"))
    try:
        wait_for(lambda: proc.poll() is not None or port_open(port), "gearmand to listen")
        assert proc.poll() is None, "gearmand exited: see %s" % logdir
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=BOUND)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def write_config(directory, component, gearman_port, handlers, schemas=None, extra=None):
    """A component config (and its schema files) in `directory`; returns its path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "schemas").mkdir(exist_ok=True)
    for name, schema in (schemas or {}).items():
        (directory / "schemas" / name).write_text(json.dumps(schema))
    conf = {
        "component": component,
        "gearman": {"servers": ["127.0.0.1:%d" % gearman_port]},
        "status": {"type": "sqlite", "path": "state/status.db"},
        "schemadir": "schemas",
        "schema_dialect": "legacy",
        "handlers": list(handlers),
    }
    conf.update(extra or {})
    path = directory / (component + ".conf")
    path.write_text("// test config\n" + json.dumps(conf, indent=2))
    return path


def envelope(name, job_type="sync", arguments=(), content="", status=None, operation=None,
             component="pytest", resource="thing", **extra):
    env = {
        "version": 1,
        "name": name,
        "job_type": job_type,
        "operation": operation or ("get" if job_type == "sync" else "create"),
        "component": component,
        "resource": {"type": resource},
        "base_uri": "http://127.0.0.1:4080/%s/v1" % component,
        "arguments": list(arguments),
        "content": content,
    }
    if arguments:
        env["resource"]["name"] = arguments[0]
    if status:
        env["status"] = status
    env.update(extra)
    return env
