# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""gearbox-supervise on its own, with small stand-in daemons (sleep, python)."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import (SUPERVISE, Supervisor, free_port, pid_alive, port_open, wait_for,
                      write_json)

PYTHON = sys.executable


@pytest.fixture
def run(tmp_path):
    """Starts supervisors for a test and makes sure each is stopped."""
    started = []

    def start(daemons, env=None, args=(), **top):
        conf = write_json(tmp_path / "stack.conf", dict(top, daemons=daemons))
        e = dict(os.environ)
        e.update(env or {})
        sup = Supervisor(tmp_path, conf, e).start(args)
        started.append(sup)
        return sup

    yield start
    for sup in started:
        sup.stop()


def children_of(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except FileNotFoundError:
        return []


def listener(port):
    """A command that listens on 127.0.0.1:port (a daemon with a `ready`)."""
    return [PYTHON, "-c", "import socket, time\n"
            "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            "s.bind(('127.0.0.1', %d)); s.listen(); time.sleep(1000)" % port]


def test_help():
    r = subprocess.run([str(SUPERVISE), "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    assert "usage: gearbox-supervise" in r.stdout and "daemons" in r.stdout


@pytest.mark.parametrize("conf, message", [
    ({"nodaemons": []}, 'no "daemons" array'),
    ({"daemons": [{"name": "x"}]}, '"command" must be'),
    ({"daemons": [{"name": "x", "command": "true", "cuont": 2}]}, 'unknown key "cuont"'),
    ({"daemons": [{"name": "a/b", "command": "true"}]}, '"name" must be'),
    ({"daemons": [{"name": "x", "command": "true"}, {"name": "x", "command": "true"}]},
     'two daemons are named "x"'),
    ({"daemons": [{"name": "x", "command": "true", "ready": {"tcp": "localhost"}}]},
     '"ready.tcp" must be "host:port"'),
    ({"daemons": [{"name": "x", "command": "true", "count": -1}]}, '"count" must be'),
])
def test_bad_config_is_refused(tmp_path, conf, message):
    path = write_json(tmp_path / "bad.conf", conf)
    r = subprocess.run([str(SUPERVISE), "--foreground", "--log-dir", str(tmp_path / "log"), str(path)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert message in r.stderr


def test_missing_config_is_refused(tmp_path):
    r = subprocess.run([str(SUPERVISE), "--foreground", str(tmp_path / "nope.conf")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert "nope.conf" in r.stderr


def test_starts_in_order_with_env_and_own_process_groups(run, tmp_path):
    port = free_port()
    sup = run([
        {"name": "web", "command": listener(port), "ready": {"tcp": "127.0.0.1:${WEB_PORT}"}},
        # The config module expands ${...}; the shell expands $GEARBOX_DAEMON_*.
        {"name": "echo", "count": 2,
         "command": "echo name=$GEARBOX_DAEMON_NAME index=$GEARBOX_DAEMON_INDEX "
                    "color=${COLOR:-blue} shape=${SHAPE:-round} stack=${GEARBOX_STACK_DIR} "
                    "extra=$EXTRA; exec sleep 1000",
         "env": {"EXTRA": "yes"}},
    ], env={"WEB_PORT": str(port), "COLOR": "red"}).wait_started()
    out = sup.output()
    # The echo daemons start only once web accepts connections.
    assert out.index("web ready on 127.0.0.1:%d" % port) < out.index("started echo.0")
    for i in range(2):
        log = sup.log_dir / ("echo.%d.log" % i)
        wait_for(lambda: "name=" in log.read_text(), "echo.%d to write its log" % i)
        assert ("name=echo index=%d color=red shape=round stack=%s extra=yes" % (i, tmp_path)) \
            in log.read_text()
    pids = sup.started_pids()
    assert sorted(pids.values()) == ["echo.0", "echo.1", "web.0"]
    for pid, label in pids.items():
        assert pid_alive(pid)
        assert os.getpgid(pid) == pid, "%s is not the leader of its own process group" % label
        assert sup.pid_of(label) == pid


def test_restarts_a_killed_process(run):
    sup = run([{"name": "worker", "count": 2, "command": ["sleep", "1000"]}]).wait_started()
    old = sup.pid_of("worker.1")
    other = sup.pid_of("worker.0")
    os.kill(old, signal.SIGKILL)
    new = wait_for(lambda: sup.pid_of("worker.1") not in (None, old) and sup.pid_of("worker.1"),
                   "worker.1 to be restarted")
    assert pid_alive(new)
    assert sup.pid_of("worker.0") == other
    assert "worker.1 pid %d killed by signal 9" % old in sup.output()
    assert "restarting in 1s" in sup.output()
    assert "started worker.1 pid %d" % new in sup.output()


def test_gives_up_after_repeated_quick_failures(run):
    sup = run([{"name": "flaky", "command": "echo failing; exit 3", "max_failures": 3},
               {"name": "steady", "command": ["sleep", "1000"]}]).wait_started()
    wait_for(lambda: "giving up" in sup.output(), "the supervisor to give up on flaky")
    out = sup.output()
    assert out.count("started flaky.0") == 3
    assert "flaky.0 pid" in out and "exited with 3, restarting in 1s" in out
    assert "exited with 3, restarting in 2s" in out
    assert "3 times in a row" in out
    assert (sup.log_dir / "flaky.0.log").read_text().count("failing") == 3
    # The others keep running, and so does the supervisor.
    assert pid_alive(sup.pid_of("steady.0"))
    assert sup.proc.poll() is None


def test_restart_false_leaves_it_stopped(run):
    sup = run([{"name": "once", "command": "exit 0", "restart": False},
               {"name": "steady", "command": ["sleep", "1000"]}]).wait_started()
    wait_for(lambda: "not restarting" in sup.output(), "once to end")
    assert sup.output().count("started once.0") == 1
    assert sup.pid_of("once.0") is None


def test_stop_reverse_order_and_children_of_shells(run):
    sup = run([{"name": "first", "command": ["sleep", "1000"]},
               {"name": "second", "command": ["sleep", "1000"]},
               # Not a simple command: the shell stays, its child too.
               {"name": "third", "command": "sleep 1000; echo never"}]).wait_started()
    shell = sup.pid_of("third.0")
    grandchild = wait_for(lambda: children_of(shell), "the shell of third.0 to start sleep")[0]
    assert sup.stop() == 0
    out = sup.output()
    assert out.index("stopping third.0") < out.index("stopping second.0") < out.index("stopping first.0")
    assert "all daemons stopped" in out
    wait_for(lambda: not pid_alive(grandchild), "the grandchild to be gone", timeout=10)
    assert not list(sup.log_dir.glob("*.pid"))


def test_killed_shell_takes_its_children_along(run):
    sup = run([{"name": "sh", "command": "sleep 1000; echo never"}]).wait_started()
    shell = sup.pid_of("sh.0")
    grandchild = wait_for(lambda: children_of(shell), "the shell to start sleep")[0]
    os.kill(shell, signal.SIGKILL)
    wait_for(lambda: not pid_alive(grandchild), "the orphaned sleep to be stopped")
    wait_for(lambda: sup.pid_of("sh.0") not in (None, shell), "sh.0 to be restarted")


def test_sigkill_after_stop_timeout(run):
    stubborn = [PYTHON, "-c", "import signal, sys, time\n"
                "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                "print('ready', flush=True); time.sleep(1000)"]
    sup = run([{"name": "stubborn", "command": stubborn}], stop_timeout=1).wait_started()
    log = sup.log_dir / "stubborn.0.log"
    wait_for(lambda: "ready" in log.read_text(), "stubborn to ignore SIGTERM")
    assert sup.stop() == 0
    assert "did not stop within 1s; sending SIGKILL" in sup.output()
    assert "killed by signal 9" in sup.output()


def test_sigint_stops_too(run):
    sup = run([{"name": "a", "command": ["sleep", "1000"]}]).wait_started()
    pid = sup.pid_of("a.0")
    sup.proc.send_signal(signal.SIGINT)
    assert sup.proc.wait(timeout=30) == 0
    assert "received SIGINT; stopping" in sup.output()
    assert not pid_alive(pid)


def test_ready_timeout_fails_start_up(run):
    port = free_port()
    sup = run([{"name": "deaf", "command": ["sleep", "1000"],
                "ready": {"tcp": "127.0.0.1:%d" % port, "timeout": 1}},
               {"name": "never", "command": ["sleep", "1000"]}])
    assert sup.proc.wait(timeout=30) == 1
    out = sup.output()
    assert "deaf did not accept connections on 127.0.0.1:%d within 1s" % port in out
    assert "started never.0" not in out
    assert not any(pid_alive(p) for p in sup.started_pids())


def test_ready_fails_fast_when_the_daemon_cannot_run(run):
    sup = run([{"name": "missing", "command": ["/nonexistent/daemon"], "restart": False,
                "ready": {"tcp": "127.0.0.1:%d" % free_port()}}])
    assert sup.proc.wait(timeout=30) == 1
    assert "missing is not running" in sup.output()
    assert "cannot run /nonexistent/daemon" in (sup.log_dir / "missing.0.log").read_text()


def test_detaches_without_foreground(tmp_path):
    port = free_port()
    conf = write_json(tmp_path / "stack.conf", {"daemons": [
        {"name": "web", "command": listener(port), "ready": {"tcp": "127.0.0.1:%d" % port}},
        {"name": "idle", "command": ["sleep", "1000"]}]})
    pid_file = tmp_path / "supervise.pid"
    r = subprocess.run([str(SUPERVISE), "--log-dir", str(tmp_path / "log"), "--pid-file", str(pid_file),
                        str(conf)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    # It returned once everything was ready.
    assert port_open(port)
    pid = int(pid_file.read_text())
    log = (tmp_path / "log" / "supervise.log").read_text()
    pids = [int(x) for x in re.findall(r"started \S+ pid (\d+)", log)]
    assert len(pids) == 2 and all(pid_alive(p) for p in pids)
    # A second one with the same pid file refuses to start.
    r2 = subprocess.run([str(SUPERVISE), "--log-dir", str(tmp_path / "log2"), "--pid-file", str(pid_file),
                         str(conf)], capture_output=True, text=True, timeout=60)
    assert r2.returncode != 0
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not pid_alive(pid), "the detached supervisor to exit")
    assert not any(pid_alive(p) for p in pids)
    assert not pid_file.exists()


def test_supervisor_killed_outright_takes_daemons_along(run):
    sup = run([{"name": "a", "count": 2, "command": ["sleep", "1000"]}]).wait_started()
    pids = list(sup.started_pids())
    sup.proc.kill()
    sup.proc.wait(timeout=30)
    for pid in pids:
        wait_for(lambda: not pid_alive(pid), "daemon %d to follow its supervisor" % pid)
