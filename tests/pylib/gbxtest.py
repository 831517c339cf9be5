# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""Helpers shared by the Python test suites (tests/stack, bindings/python/tests):
free loopback ports, polling with a generous bound, process and port checks,
gearmand's admin status.  Nothing here sleeps for a fixed time that a test
depends on: waits poll for a condition.
"""

import socket
import time

BOUND = 30.0  # seconds any poll may take before the test fails


def free_ports(n):
    """n distinct TCP ports on 127.0.0.1 that nothing listens on right now
    (all held open while choosing, so the kernel cannot hand one out twice)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            socks.append(s)
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    return free_ports(1)[0]


def wait_for(predicate, what, timeout=BOUND, interval=0.05):
    """Polls predicate() until it returns something truthy and returns it."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("gave up after %gs waiting for %s" % (timeout, what))
        time.sleep(interval)


def pid_alive(pid):
    """True if process `pid` exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def gearman_admin(port, command):
    """The lines gearmand answers to an admin command ("status", "workers")."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(command.encode() + b"\n")
        data = b""
        while not (data == b".\n" or data.endswith(b"\n.\n")):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return data.decode(errors="replace").splitlines()


def gearman_status(port):
    """gearmand's admin `status`: {function: (queued, running, workers)}."""
    result = {}
    for line in gearman_admin(port, "status"):
        fields = line.split("\t")
        if len(fields) == 4:
            result[fields[0]] = tuple(int(x) for x in fields[1:])
    return result
