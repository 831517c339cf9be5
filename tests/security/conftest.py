# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""Fixtures of the hostile-input suites: a real stack (tests/stack's
start_stack: gearmand, two C barn workers, the gateway) with short limits,
raw-socket requests, and a well-behaved client that keeps asking the gateway
for a status list in the background for the whole suite and must always be
answered.  Waits poll with a generous bound, never sleep for a fixed time
that a test depends on."""

import http.client
import importlib.util
import json
import os
import socket
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

_STACK = Path(__file__).resolve().parents[1] / "stack" / "conftest.py"
_spec = importlib.util.spec_from_file_location("gbx_stack_conftest", _STACK)
stackconf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(stackconf)
wait_for = stackconf.wait_for
BOUND = stackconf.BOUND

# Short enough that the slow-connection tests take seconds.
REQUEST_TIMEOUT = 2
LIMITS = {"request_timeout": REQUEST_TIMEOUT, "max_connections_per_address": 1000,
          "max_headers": 100, "max_header_bytes": 32768, "max_uri_bytes": 8192,
          "max_json_depth": 512}
MAX_BODY = 1024 * 1024
# Where the slow connections come from (any 127/8 address is loopback on
# Linux), so that the per-address limit does not hit the polite client.
ATTACKER = "127.0.0.2"


class _Reader:
    """What http.client.HTTPResponse wants of a socket: one buffered file
    for every answer on the connection."""

    def __init__(self, sock):
        self.file = sock.makefile("rb")

    def makefile(self, mode):
        return _KeptOpen(self.file)


class _KeptOpen:
    """The reader's file, which an answer read to its end may not close."""

    def __init__(self, file):
        self._file = file

    def __getattr__(self, name):
        return getattr(self._file, name)

    def close(self):
        pass


class _Socket(socket.socket):
    """A socket that can carry its reader (closed with it)."""

    def close(self):
        reader = getattr(self, "gbx_reader", None)
        if reader is not None:
            reader.file.close()
        super().close()


class Raw:
    """Raw HTTP over a socket to the gateway."""

    def __init__(self, port):
        self.port = port

    def connect(self, source="127.0.0.1", timeout=BOUND):
        s = _Socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.bind((source, 0))
        s.connect(("127.0.0.1", self.port))
        return s

    def send(self, data, sock=None, timeout=BOUND):
        """Sends bytes and reads one answer: (status, headers, body), or None
        when the gateway closes the connection without one."""
        own = sock is None
        sock = sock or self.connect(timeout=timeout)
        try:
            sock.sendall(data)
            return self.read(sock)
        finally:
            if own:
                sock.close()

    @staticmethod
    def read(sock):
        """One answer from `sock`; answers that follow stay buffered for the
        next read (pipelining)."""
        reader = getattr(sock, "gbx_reader", None)
        if reader is None:
            reader = _Reader(sock)
            sock.gbx_reader = reader
        r = http.client.HTTPResponse(reader)
        try:
            r.begin()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            return None
        body = r.read()
        return r.status, r.headers, body

    def request(self, method, target, headers=(), body=b"", version="HTTP/1.1"):
        """One request built from parts (bytes or str); Host and Connection:
        close are added unless `headers` has them."""
        def b(x):
            return x if isinstance(x, bytes) else x.encode()
        lines = [b(method) + b" " + b(target) + b" " + b(version)]
        names = {b(h).split(b":")[0].lower() for h in headers}
        if b"host" not in names:
            lines.append(b"Host: 127.0.0.1")
        if b"connection" not in names:
            lines.append(b"Connection: close")
        if body and b"content-length" not in names and b"transfer-encoding" not in names:
            lines.append(b"Content-Length: %d" % len(b(body)))
        lines.extend(b(h) for h in headers)
        return b"\r\n".join(lines) + b"\r\n\r\n" + b(body)


def check_json_error(answer, code=None):
    """A 4xx with the error body of DESIGN §3; returns the body."""
    assert answer is not None, "the gateway closed the connection without an answer"
    status, headers, body = answer
    if code is None:
        assert 400 <= status < 500, answer
    else:
        assert status == code, answer
    assert headers.get("Content-Type", "").startswith("application/json"), (status, headers, body[:300])
    doc = json.loads(body)
    assert doc["code"] == status and doc["progress"] == 100 and doc["state"] == "COMPLETED", doc
    assert isinstance(doc["messages"], list) and doc["messages"], doc
    return doc


def closed_by_peer(sock):
    """True once the gateway has closed `sock` (a look that does not
    block; bytes it sent before closing are read and dropped)."""
    sock.setblocking(False)
    try:
        while True:
            if sock.recv(65536) == b"":
                return True
    except BlockingIOError:
        return False
    except (ConnectionResetError, BrokenPipeError):
        return True


class PoliteClient(threading.Thread):
    """Asks for a status list over and over; every answer must be a 200."""

    def __init__(self, client):
        super().__init__(daemon=True)
        self.client = client
        self.stop = threading.Event()
        self.served = 0
        self.failures = []

    def run(self):
        while not self.stop.is_set():
            try:
                r = self.client.get("/barn/v1/status;_count=1")
                if r.status == 200:
                    self.served += 1
                else:
                    self.failures.append(repr(r))
            except Exception as e:  # noqa: BLE001 - any failure is the finding
                self.failures.append(repr(e))
            self.stop.wait(0.05)

    def served_during(self, action):
        """Runs action() and checks that this client got answers meanwhile."""
        before = self.served
        result = action()
        wait_for(lambda: self.served > before, "the polite client to be served")
        assert not self.failures, self.failures[:5]
        return result


class Security:
    def __init__(self, stack):
        self.stack = stack
        self.raw = Raw(stack.http_port)
        self.client = stack.client
        self.gateway_pid = stack.supervisor.pid_of("gateway.0")
        self.store = Path(stack.root) / "state" / "status.db"
        self.accepted = 0  # statuses the suite's well-formed requests created
        assert self.gateway_pid

    def rss_kib(self):
        for line in Path("/proc/%d/status" % self.gateway_pid).read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS for the gateway")

    def alive(self):
        """The gateway still runs as the same process and answers."""
        assert stackconf.pid_alive(self.gateway_pid), "the gateway died"
        assert self.stack.supervisor.pid_of("gateway.0") == self.gateway_pid, "the gateway was restarted"
        assert self.client.get("/barn/v1/status;_count=1").status == 200

    def statuses(self):
        """Every status row in the store (read-only, beside the gateway)."""
        db = sqlite3.connect("file:%s?mode=ro" % self.store, uri=True, timeout=30)
        try:
            assert db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
            return db.execute("SELECT count(*) FROM gbx_status").fetchone()[0]
        finally:
            db.close()


def locations(root):
    """start_stack's /barn and /silo, and the header worker's component at
    /hdr (Set-Cookie not allowed) and /cookie (allowed)."""
    status = stackconf.status_section(root)
    hdr = stackconf.write_json(root / "hdr.conf", {
        "component": "hdr", "gearman": {"servers": ["127.0.0.1:${GEARMAN_PORT}"]},
        "status": status, "handlers": ["do_get_hdr_headers_v1"]})
    return [{"prefix": "/barn", "auth": "none", "config": str(stackconf.component_conf(root, "barn", status)), "timeout": 30},
            {"prefix": "/silo", "auth": "none", "config": "silo.conf", "timeout": 2},
            {"prefix": "/hdr", "auth": "none", "config": str(hdr), "timeout": 30},
            {"prefix": "/cookie", "auth": "none", "config": str(hdr), "timeout": 30, "allow_set_cookie": True}]


def start_header_worker(stack):
    """The header worker (tests/security/header_worker.py), started here and
    stopped by its pid."""
    env = dict(stackconf.stack_env(stack.root, stack.gearman_port, stack.http_port),
               PYTHONPATH=str(stackconf.BUILD_DIR / "bindings/python"))
    log = open(Path(stack.root) / "header_worker.log", "ab")
    proc = subprocess.Popen(["/usr/bin/python3", str(Path(__file__).parent / "header_worker.py"),
                             str(Path(stack.root) / "hdr.conf")],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, cwd=str(stack.root))
    log.close()
    wait_for(lambda: proc.poll() is not None or
             stackconf.gearman_status(stack.gearman_port).get("do_get_hdr_headers_v1", (0, 0, 0))[2] >= 1,
             "the header worker to register")
    assert proc.poll() is None, (Path(stack.root) / "header_worker.log").read_text()
    return proc


@pytest.fixture(scope="session")
def sec(tmp_path_factory):
    if stackconf.STORE != "sqlite":
        pytest.skip("the security suites run on the SQLite store")
    root = tmp_path_factory.mktemp("stack")
    s = stackconf.start_stack(root, max_body_bytes=MAX_BODY,
                              gateway={"limits": LIMITS, "locations": locations(root)})
    worker = None
    try:
        worker = start_header_worker(s)
        yield Security(s)
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(BOUND)
        assert s.supervisor.stop() == 0, s.supervisor.output()


@pytest.fixture(scope="session")
def polite(sec):
    p = PoliteClient(sec.client)
    p.start()
    yield p
    p.stop.set()
    p.join(BOUND)
    assert not p.failures, p.failures[:5]
    assert p.served > 0


__all__ = ["ATTACKER", "BOUND", "MAX_BODY", "REQUEST_TIMEOUT", "check_json_error", "closed_by_peer",
           "os", "time", "wait_for"]
