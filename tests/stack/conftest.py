# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""Fixtures of the stack tests: real gearmand, gateway and barn workers.

Every stack runs under gearbox-supervise on free 127.0.0.1 ports, with its
state, configs and logs in a directory of its own, and is stopped by the pid
of the supervisor it started; teardown then checks that every process the
supervisor reported starting is gone.  Binaries come from GEARBOX_BUILD_DIR
(ctest passes the build directory).  The status store is a SQLite file in
the stack's state directory, or, with GBX_STACK_STORE=mariadb, a database
of its own on the session's MariaDB server (tests/pylib/mariadb.py; ctest's
"mariadb" fixture server when GBX_TEST_MARIADB_DIR names a running one): then
every config of the stack, the example barns' included, says so.  Waiting is always a poll with a generous
bound, never a fixed sleep that the test depends on.
"""

import atexit
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pylib"))
from gbxtest import BOUND, free_port, free_ports, gearman_admin, gearman_status, pid_alive, port_open, wait_for  # noqa: E402,F401,E501
from mariadb import MariaDB  # noqa: E402

SOURCE_DIR = Path(os.environ.get("GBX_SOURCE_DIR") or Path(__file__).resolve().parents[2])
BUILD_DIR = Path(os.environ.get("GEARBOX_BUILD_DIR") or SOURCE_DIR / "build").resolve()
SUPERVISE = BUILD_DIR / "tools/supervise/gearbox-supervise"
GATEWAY = BUILD_DIR / "gateway/gearbox-gateway"
BARN_WORKER = BUILD_DIR / "examples/barn/gearbox-barn-worker"
BARN_CONF = SOURCE_DIR / "examples/barn/conf/barn.conf"
BARN_CONF_DIR = SOURCE_DIR / "examples/barn/conf"
BARN_EXAMPLES = SOURCE_DIR / "examples/barn"

# The same barn in each language of the bindings, mounted as in the demo
# (examples/barn/conf/stack.conf and gateway.conf): (prefix, component).
LANGUAGE_BARNS = [("/python/barn", "barnpython"), ("/perl/barn", "barnperl"), ("/php/barn", "barnphp")]
# Every barn of a stack started with languages=True, the C barn first.
ALL_BARNS = [("/barn", "barn")] + LANGUAGE_BARNS


CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
STATUS_ID = re.compile(r"s-[%s]{26}" % CROCKFORD)


# ---- the status store ------------------------------------------------------

STORE = os.environ.get("GBX_STACK_STORE", "sqlite")
SQLITE_STATUS = {"type": "sqlite", "path": "${GEARBOX_STATE_DIR}/status.db"}
_mariadb = []


def mariadb_server():
    """The session's MariaDB server, started on first use and stopped at exit
    (ctest's fixture server, left running, when GBX_TEST_MARIADB_DIR names one)."""
    if not _mariadb:
        shared = os.environ.get("GBX_TEST_MARIADB_DIR")
        if shared and MariaDB(shared).running():
            _mariadb.append(MariaDB(shared))
        else:
            server = MariaDB(tempfile.mkdtemp(prefix="gbx-stack-mariadb-")).start()

            def discard():
                server.stop()
                shutil.rmtree(server.workdir, ignore_errors=True)
            atexit.register(discard)
            _mariadb.append(server)
    return _mariadb[0]


def status_section(root):
    """The "status" config member of the stack under `root`: SQLite in its
    state directory, or a new MariaDB database (GBX_STACK_STORE=mariadb)."""
    if STORE != "mariadb":
        return dict(SQLITE_STATUS)
    name = "gbx_%s_%s" % (re.sub(r"[^A-Za-z0-9]", "_", Path(root).name)[:30], uuid.uuid4().hex[:8])
    return mariadb_server().create_database(name)


def load_commented(path):
    """A config file: JSON with // and /* */ comments outside strings."""
    text, out, i, in_string = Path(path).read_text(), [], 0, False
    while i < len(text):
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\":
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
            out.append(c)
        elif text.startswith("//", i):
            i = text.find("\n", i) - 1 if "\n" in text[i:] else len(text)
        elif text.startswith("/*", i):
            i = text.index("*/", i) + 1
        else:
            out.append(c)
        i += 1
    return json.loads("".join(out))


def component_conf(root, component, status):
    """The example barn's component config: the source tree's file, or, for a
    store other than the default, a copy under `root` with `status` (and its
    relative schemadir made absolute)."""
    original = BARN_CONF_DIR / ("%s.conf" % component)
    if status == SQLITE_STATUS:
        return original
    conf = load_commented(original)
    conf["status"] = status
    if "schemadir" in conf:
        conf["schemadir"] = str((BARN_CONF_DIR / conf["schemadir"]).resolve())
    (Path(root) / "conf").mkdir(exist_ok=True)
    return write_json(Path(root) / "conf" / original.name, conf)


# ---- small helpers ---------------------------------------------------------

def unique(prefix):
    """A fresh animal name, so that tests do not see each other's statuses."""
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


ERROR_KEYS = {"uri", "progress", "state", "operation", "code", "messages"}


def check_error(r, code, operation, message, uri_suffix=None, exact=False):
    """The compatible error body: HTTP status == code, progress 100, COMPLETED."""
    assert r.status == code, r
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    body = r.json()
    assert ERROR_KEYS <= set(body), body
    assert body["progress"] == 100
    assert body["state"] == "COMPLETED"
    assert body["code"] == code
    assert body["operation"] == operation
    assert isinstance(body["messages"], list) and len(body["messages"]) >= 1, body
    first = body["messages"][0]
    if exact:
        assert first == message, body
    else:
        assert message in first, body
    if uri_suffix is not None:
        assert body["uri"].endswith(uri_suffix), body
    return body


def write_json(path, value):
    path.write_text(json.dumps(value, indent=2) + "\n")
    return path


# ---- HTTP ------------------------------------------------------------------

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # http.client.HTTPMessage (case-insensitive)
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%d %r>" % (self.status, self.body[:300])


class Client:
    """A small HTTP client for one gateway, one connection per request."""

    def __init__(self, port):
        self.port = port
        self.base = "http://127.0.0.1:%d" % port

    def connection(self, timeout=60):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    @staticmethod
    def path_of(uri_or_path):
        """'/barn/v1/...' from an absolute status or resource URI."""
        if uri_or_path.startswith("http"):
            parts = urllib.parse.urlsplit(uri_or_path)
            return parts.path + ("?" + parts.query if parts.query else "")
        return uri_or_path

    def request(self, method, path, body=None, headers=None, conn=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        hdrs = {}
        if body is not None:
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        own = conn is None
        conn = conn or self.connection()
        try:
            conn.request(method, self.path_of(path), body=body, headers=hdrs)
            r = conn.getresponse()
            data = r.read()
            return Response(r.status, r.headers, data)
        finally:
            if own:
                conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def status(self, status_uri):
        r = self.get(status_uri)
        assert r.status == 200, r
        return r.json()

    def wait_completed(self, status_uri, timeout=BOUND):
        """Polls a status until its state is COMPLETED; returns it."""
        last = {}

        def completed():
            last["s"] = self.status(status_uri)
            return last["s"] if last["s"]["state"] == "COMPLETED" else None

        try:
            return wait_for(completed, "COMPLETED at " + status_uri, timeout, 0.05)
        except AssertionError as e:
            raise AssertionError("%s; last seen: %r" % (e, last.get("s"))) from None

    def accepted(self, method, path, body=None):
        """Sends an async request, checks the 202 and returns the status body."""
        r = self.request(method, path, body)
        assert r.status == 202, r
        return r.json()


# ---- the demo ---------------------------------------------------------------

def stop_demo(demo, timeout=60):
    """Ctrl-C to a tools/demo started with start_new_session (SIGINT to its
    own process group); SIGKILL if it has not stopped within `timeout`.
    Returns its exit status."""
    if demo.poll() is None:
        os.killpg(demo.pid, signal.SIGINT)
    try:
        return demo.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(demo.pid, signal.SIGKILL)
        demo.wait()
        raise


# ---- the supervisor --------------------------------------------------------

class Supervisor:
    """One gearbox-supervise process started by a test, in the foreground."""

    def __init__(self, root, conf, env):
        self.root = Path(root)
        self.conf = Path(conf)
        self.env = env
        self.log_dir = self.root / "log"
        self.out_path = self.root / "supervise.out"
        self.proc = None

    def start(self, args=()):
        assert SUPERVISE.exists(), "%s is missing: build first" % SUPERVISE
        with open(self.out_path, "ab") as out:
            self.proc = subprocess.Popen(
                [str(SUPERVISE), "--foreground", "--log-dir", str(self.log_dir), *args, str(self.conf)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=self.env,
                cwd=str(self.root), start_new_session=True)
        return self

    def output(self):
        try:
            return self.out_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def daemon_logs(self):
        """The tail of every daemon log, for failure messages."""
        text = []
        for p in sorted(self.log_dir.glob("*.log")):
            lines = p.read_text(errors="replace").splitlines()[-15:]
            text.append("== %s\n%s" % (p.name, "\n".join(lines)))
        return "\n".join(text)

    def wait_started(self, timeout=BOUND):
        def started():
            if "all daemons started" in self.output():
                return True
            if self.proc.poll() is not None:
                raise AssertionError("gearbox-supervise exited with %s:\n%s\n%s"
                                     % (self.proc.returncode, self.output(), self.daemon_logs()))
            return False
        wait_for(started, "the supervisor to start its daemons", timeout)
        return self

    def started_pids(self):
        """{pid: label} of every process the supervisor reported starting."""
        return {int(m.group(2)): m.group(1)
                for m in re.finditer(r"started (\S+) pid (\d+)", self.output())}

    def pid_of(self, label):
        """The current pid of e.g. "barn.0", from its pid file (None if not running)."""
        try:
            return int((self.log_dir / ("%s.pid" % label)).read_text())
        except (FileNotFoundError, ValueError):
            return None

    def stop(self, timeout=60):
        """SIGTERM to the supervisor (by pid); checks it and its daemons ended."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("gearbox-supervise did not stop within %ss:\n%s" % (timeout, self.output()))
        left = [(pid, label) for pid, label in self.started_pids().items() if pid_alive(pid)]
        assert not left, "still running after the supervisor stopped: %r" % left
        return rc


class Stack:
    """gearmand + gateway (+ barn workers) under one supervisor."""

    def __init__(self, root, supervisor, gearman_port, http_port):
        self.root = root
        self.supervisor = supervisor
        self.gearman_port = gearman_port
        self.http_port = http_port
        self.client = Client(http_port)
        self.base = self.client.base


def stack_env(root, gearman_port, http_port):
    env = dict(os.environ)
    env.update(GEARMAN_PORT=str(gearman_port), GEARBOX_PORT=str(http_port),
               GEARBOX_STATE_DIR=str(root / "state"), GEARBOX_BUILD_DIR=str(BUILD_DIR))
    return env


def gearmand_daemon(restart=True):
    return {"name": "gearmand",
            "command": "gearmand --listen=127.0.0.1 --port=${GEARMAN_PORT} --log-file=stderr "
                       "--verbose=WARNING --threads=1 --pid-file=${GEARBOX_LOG_DIR}/gearmand.pid",
            "restart": restart,
            "ready": {"tcp": "127.0.0.1:${GEARMAN_PORT}"}}


def gateway_daemon():
    """The gateway of a test stack, with the stack directory's gateway.conf."""
    return {"name": "gateway",
            "command": ["${GEARBOX_BUILD_DIR}/gateway/gearbox-gateway",
                        "--config", "${GEARBOX_STACK_DIR}/gateway.conf"],
            "ready": {"tcp": "127.0.0.1:${GEARBOX_PORT}"}}


def start_supervised(root, daemons, gearman_port, http_port):
    """Writes root/stack.conf with `daemons`, starts a supervisor on it and
    waits until it started them all (stopping it if they do not start)."""
    conf = write_json(root / "stack.conf", {"stop_timeout": 10, "daemons": daemons})
    sup = Supervisor(root, conf, stack_env(root, gearman_port, http_port)).start()
    try:
        return sup.wait_started()
    except BaseException:
        sup.stop()
        raise


def language_daemons(components=None, count=1, conf=None):
    """The `daemons` entries of the Python, Perl and PHP barns (or of those
    in `components`), `count` workers each, exactly as in
    examples/barn/conf/stack.conf but with the source tree's scripts and
    component configs by absolute path (`conf(component)`: another one)."""
    if conf is None:
        def conf(component):
            return str(BARN_CONF_DIR / ("%s.conf" % component))
    daemons = [
        {"name": "barnpython", "count": count,
         "command": ["/usr/bin/python3", str(BARN_EXAMPLES / "python/barn_worker.py"),
                     "--config", conf("barnpython")],
         "env": {"PYTHONPATH": "${GEARBOX_BUILD_DIR}/bindings/python"}},
        {"name": "barnperl", "count": count,
         "command": ["/usr/bin/perl", str(BARN_EXAMPLES / "perl/barn_worker.pl"),
                     "--config", conf("barnperl")]},
        {"name": "barnphp", "count": count,
         "command": ["/usr/bin/php", "-d", "extension=${GEARBOX_BUILD_DIR}/bindings/php/gearbox.so",
                     str(BARN_EXAMPLES / "php/barn_worker.php"), "--config", conf("barnphp")]},
    ]
    return [d for d in daemons if components is None or d["name"] in components]


def start_stack(root, workers=2, gearmand_restart=True, max_body_bytes=4096, languages=False,
                language_workers=1, gateway=None, locations=(), daemons=(), edit_gateway=None):
    """Writes the configs of a test stack under `root` and starts it.

    Locations: /barn (the example barn, via its own barn.conf) and /silo, a
    component whose handlers no worker serves (GET for 504, with a 2 s
    timeout; PUT for jobs that stay PENDING).  With `languages` (True, or a
    list of components such as ["barnpython"]), also /python/barn,
    /perl/barn and /php/barn (or those of the list): the barn in each
    binding's language, `language_workers` workers each (the demo has one).
    Configs use ${VAR}s, so they are expanded as in the demo.  `gateway`:
    members that replace or add to gateway.conf's ("listen", "server_names",
    "limits"); `locations` and `daemons`: more entries of those lists;
    `edit_gateway` (a function of the gateway config dict, returning it)
    changes it last."""
    for binary in (SUPERVISE, GATEWAY, BARN_WORKER):
        assert binary.exists(), "%s is missing: build first" % binary
    if languages is True:
        languages = [component for _, component in LANGUAGE_BARNS]
    languages = list(languages or [])
    modules = {"barnpython": BUILD_DIR / "bindings/python/gearbox", "barnperl": BUILD_DIR / "bindings/perl/lib",
               "barnphp": BUILD_DIR / "bindings/php/gearbox.so"}
    for component in languages:
        assert modules[component].exists(), "%s is missing: build the bindings first" % modules[component]
    root = Path(root)
    (root / "state").mkdir(parents=True, exist_ok=True)
    gearman_port, http_port = free_ports(2)
    status = status_section(root)

    def conf(component):
        return str(component_conf(root, component, status))
    write_json(root / "silo.conf", {
        "component": "silo",
        "gearman": {"servers": ["127.0.0.1:${GEARMAN_PORT}"]},
        "status": status,
        "handlers": ["do_get_silo_grain_v1", "do_put_silo_grain_v1"],
    })
    write_json(root / "gateway.conf", {
        "listen": {"address": "127.0.0.1", "port": "${GEARBOX_PORT}"},
        "gearman": {"servers": ["127.0.0.1:${GEARMAN_PORT}"]},
        "status": status,
        "max_body_bytes": max_body_bytes,
        "threads": 4,
        "log": {"level": "info"},
        "locations": [
            {"prefix": "/barn", "auth": "none", "config": conf("barn"), "timeout": 30},
            {"prefix": "/silo", "auth": "none", "config": "silo.conf", "timeout": 2},
        ] + ([{"prefix": prefix, "auth": "none", "config": conf(component), "timeout": 30}
              for prefix, component in LANGUAGE_BARNS if component in languages]) + list(locations),
        **(gateway or {}),
    })
    if edit_gateway:
        write_json(root / "gateway.conf", edit_gateway(json.loads((root / "gateway.conf").read_text())))
    extra_daemons, daemons = list(daemons), [gearmand_daemon(gearmand_restart)]
    if workers:
        daemons.append({"name": "barn", "count": workers,
                        "command": ["${GEARBOX_BUILD_DIR}/examples/barn/gearbox-barn-worker",
                                    "--config", conf("barn")]})
    if languages:
        daemons.extend(language_daemons(languages, language_workers, conf))
    sup = start_supervised(root, daemons + extra_daemons + [gateway_daemon()], gearman_port, http_port)
    try:
        stack = Stack(root, sup, gearman_port, http_port)
        if workers:
            # Started is not yet registered: wait until gearmand knows them all.
            wait_for(lambda: gearman_status(gearman_port).get("do_get_barn_animal_v1", (0, 0, 0))[2]
                     >= workers, "%d barn workers registered with gearmand" % workers)
        for component in languages:
            handlers = ["do_%s_%s_animal_v1" % (m, component) for m in ("get", "put", "post", "delete")]
            wait_for(lambda: all(gearman_status(gearman_port).get(h, (0, 0, 0))[2] >= language_workers
                                 for h in handlers),
                     "the %s workers' handlers registered with gearmand" % component)
    except BaseException:
        sup.stop()
        raise
    return stack


def start_python_component(root, component, script, handlers, timeout=30):
    """start_stack with no barn workers and one Python test component:
    `script` (beside this file) serving `handlers` at /<component>, on the
    stack's status store; returns once gearmand knows every handler."""
    root = Path(root)

    def edit(conf):
        config = write_json(root / ("%s.conf" % component), {
            "component": component,
            "gearman": {"servers": ["127.0.0.1:${GEARMAN_PORT}"]},
            "status": conf["status"],
            "handlers": list(handlers),
        })
        conf["locations"].append({"prefix": "/" + component, "auth": "none", "config": str(config),
                                  "timeout": timeout})
        return conf
    worker = {"name": component,
              "command": ["/usr/bin/python3", str(Path(__file__).resolve().parent / script),
                          "--config", str(root / ("%s.conf" % component))],
              "env": {"PYTHONPATH": "${GEARBOX_BUILD_DIR}/bindings/python"}}
    s = start_stack(root, workers=0, daemons=[worker], edit_gateway=edit)
    try:
        wait_for(lambda: all(gearman_status(s.gearman_port).get(h, (0, 0, 0))[2] >= 1 for h in handlers),
                 "the %s worker registered" % component)
    except BaseException:
        s.supervisor.stop()
        raise
    return s


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """The shared test stack: gearmand, 2 C barn workers, one Python, Perl
    and PHP barn worker each, the gateway."""
    s = start_stack(tmp_path_factory.mktemp("stack"), languages=True)
    yield s
    assert s.supervisor.stop() == 0, s.supervisor.output()


@pytest.fixture
def client(stack):
    return stack.client
