# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""The fault matrix's machinery: real gearmand(s), gateway(s) and workers of
the "faults" test service (fault_worker.py), each started here as a process
of its own session so that a test can kill -9 exactly one of them; bursts of
async PUTs; the checks that every accepted job ends COMPLETED with code 0
and ran to its end once.

Every process listens on a free 127.0.0.1 port, logs to a file in the test's
directory and is stopped (or killed) by its pid.  Waiting is always a poll
with a bound, never a fixed sleep the test depends on.  Binaries come from
GEARBOX_BUILD_DIR (ctest passes the build directory).
"""

import collections
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pylib"))
from gbxtest import free_ports, gearman_status, pid_alive, port_open, wait_for  # noqa: E402

HERE = Path(__file__).resolve().parent
SOURCE_DIR = Path(os.environ.get("GBX_SOURCE_DIR") or HERE.parents[1])
BUILD_DIR = Path(os.environ.get("GEARBOX_BUILD_DIR") or SOURCE_DIR / "build").resolve()
GATEWAY = BUILD_DIR / "gateway/gearbox-gateway"
PYTHON_BINDING = BUILD_DIR / "bindings/python"
WORKER_SCRIPT = HERE / "fault_worker.py"

# The store backends every fault runs on (a fault that needs a database
# server names its backend itself).  The test ids carry the name, so
# `pytest -k sqlite` runs one backend (ctest's faults.sqlite, faults.mariadb).
BACKENDS = ["sqlite", "mariadb"]

JOBS = int(os.environ.get("GBX_FAULTS_JOBS", "240"))  # async PUTs per fault
CLIENTS = 6  # client threads of a burst
HANDLER = "do_put_faults_job_v1"
HANDLERS = [HANDLER, "do_put_faults_once_v1"]  # the second one registered as not retryable
# Small knobs keep the suite short: a dead worker's lease runs out after 3 s,
# an unclaimed job is submitted again after 2 s, a retry waits about 1 s.
JOB_KNOBS = {"lease_seconds": 3, "resubmit_after": 2, "retry_max_attempts": 5,
             "retry_max_delay": 1, "retry_max_jitter": 0}
SETTLE = 60.0  # seconds every accepted job gets to end after its burst
STATUS_ID = re.compile(r"s-[0-9a-z]{26}")


def write_json(path, value):
    Path(path).write_text(json.dumps(value, indent=2) + "\n")
    return path


# Log lines of every request and every job: too many to tell anything.
ROUTINE = re.compile(r" info  (?:(?:GET|PUT) \S+ \d{3} [\d.]+ms|job (?:start|end) do_)")


def tail(path, lines=12):
    """The last `lines` lines of a log, without the routine ones."""
    try:
        text = Path(path).read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return "(no log)"
    return "\n".join([line for line in text if not ROUTINE.search(line)][-lines:])


# ---- processes -------------------------------------------------------------

class Proc:
    """One process the test starts itself, in its own session, with its
    output appended to `log`; stopped or killed by its pid, and started
    again with the same command line (same port) by start()."""

    def __init__(self, name, argv, log, env=None):
        self.name, self.argv, self.log, self.env = name, [str(a) for a in argv], Path(log), env
        self.popen = None
        self.pids = []  # every pid this Proc has had

    def start(self):
        assert not self.alive(), "%s is already running" % self.name
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                          stderr=subprocess.STDOUT, env=self.env, start_new_session=True)
        self.pids.append(self.popen.pid)
        return self

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def kill(self):
        """kill -9, then reaps it."""
        os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait()

    def terminate(self):
        """SIGTERM, if it runs (stop() waits for it)."""
        if self.alive():
            os.kill(self.popen.pid, signal.SIGTERM)

    def stop(self, timeout=20):
        """SIGTERM; SIGKILL after `timeout` (then fails).  Returns the exit status."""
        if not self.alive():
            return self.popen.returncode if self.popen else None
        self.terminate()
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
            raise AssertionError("%s (pid %d) ignored SIGTERM for %ss" % (self.name, self.popen.pid, timeout))


# ---- the store -------------------------------------------------------------

class Backend:
    """A status store: its config section, and the database server behind it
    (None for SQLite)."""

    def __init__(self, name, section, server=None):
        self.name, self.section, self.server = name, section, server


@pytest.fixture(scope="session")
def mariadb_server(tmp_path_factory):
    """One MariaDB server for the session (tests/pylib/mariadb.py), a
    database of its own for each test."""
    from mariadb import MariaDB
    server = MariaDB(tmp_path_factory.mktemp("mariadb")).start()
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path):
    """The test's own store: a new SQLite file or MariaDB database."""
    if request.param == "sqlite":
        return Backend("sqlite", {"type": "sqlite", "path": str(tmp_path / "status.db")})
    assert request.param == "mariadb", request.param
    server = request.getfixturevalue("mariadb_server")
    return Backend("mariadb", server.create_database("faults_%s" % uuid.uuid4().hex[:12]), server)


# ---- a cluster: gearmands, workers, gateways -----------------------------------

class Cluster:
    """`gearmands` gearmand processes (those whose index is in `down` are
    listed in every config but never started), `workers` fault workers and
    `gateways` gateways, all on one store; `knobs` override JOB_KNOBS."""

    def __init__(self, root, backend, gearmands=1, gateways=1, workers=4, down=(), knobs=None):
        self.root = Path(root)
        jobs = dict(JOB_KNOBS, **(knobs or {}))
        self.backend = backend
        self.down = set(down)
        ports = free_ports(gearmands + gateways)
        self.gearman_ports, self.http_ports = ports[:gearmands], ports[gearmands:]
        self.runs = self.root / "runs.log"
        self.runs.touch()
        servers = ["127.0.0.1:%d" % p for p in self.gearman_ports]
        self.conf = write_json(self.root / "faults.conf", {
            "component": "faults",
            "gearman": {"servers": servers},
            "status": backend.section,
            "schemadir": str(HERE / "schemas"),
            "schema_dialect": "legacy",
            "handlers": HANDLERS,
            "jobs": jobs,
            "faults": {"runs": str(self.runs)},
        })
        self.gearmands = [Proc("gearmand.%d" % i,
                               ["gearmand", "--listen=127.0.0.1", "--port=%d" % port, "--log-file=stderr",
                                "--verbose=WARNING", "--threads=1"],
                               self.root / ("gearmand.%d.log" % i))
                          for i, port in enumerate(self.gearman_ports)]
        self.gateways = []
        for i, port in enumerate(self.http_ports):
            conf = write_json(self.root / ("gateway.%d.conf" % i), {
                "listen": {"address": "127.0.0.1", "port": port},
                "gearman": {"servers": servers},
                "status": backend.section,
                "threads": 4,
                "jobs": jobs,
                "log": {"level": "info"},
                "locations": [{"prefix": "/faults", "auth": "none", "config": str(self.conf), "timeout": 10}],
            })
            self.gateways.append(Proc("gateway.%d" % i, [GATEWAY, "--config", conf],
                                      self.root / ("gateway.%d.log" % i)))
        self.worker_env = dict(os.environ, PYTHONPATH=str(PYTHON_BINDING))
        self.worker_count = workers
        self.workers = []  # every worker Proc started, dead ones too
        self.polls = 0

    # -- starting and stopping

    def start(self):
        for binary in (GATEWAY, PYTHON_BINDING / "gearbox"):
            assert binary.exists(), "%s is missing: build first" % binary
        for i, g in enumerate(self.gearmands):
            if i not in self.down:
                self.start_gearmand(i)
        for _ in range(self.worker_count):
            self.add_worker()
        self.wait_workers_registered()
        for i in range(len(self.gateways)):
            self.start_gateway(i)
        return self

    def start_gearmand(self, i):
        g = self.gearmands[i].start()
        wait_for(lambda: port_open(self.gearman_ports[i]) or self.dead(g), "%s to listen" % g.name)
        return g

    def start_gateway(self, i):
        g = self.gateways[i].start()
        wait_for(lambda: port_open(self.http_ports[i]) or self.dead(g), "%s to listen" % g.name)
        return g

    def dead(self, proc):
        if not proc.alive():
            raise AssertionError("%s exited with %s:\n%s" % (proc.name, proc.popen.returncode, tail(proc.log)))
        return False

    def add_worker(self):
        n = len(self.workers)
        w = Proc("worker.%d" % n, ["/usr/bin/python3", WORKER_SCRIPT, self.conf],
                 self.root / ("worker.%d.log" % n), self.worker_env).start()
        self.workers.append(w)
        return w

    def live_workers(self):
        return [w for w in self.workers if w.alive()]

    def wait_workers_registered(self):
        """Until every running gearmand lists as many workers of the handler
        as are running."""
        def registered():
            want = len(self.live_workers())
            return all(gearman_status(port).get(HANDLER, (0, 0, 0))[2] >= want
                       for i, port in enumerate(self.gearman_ports) if self.gearmands[i].alive())
        wait_for(registered, "the fault workers to register with gearmand")

    def stop(self):
        """Stops every process still running (gateways first), by pid, and
        checks none is left."""
        errors = []
        for group in (self.gateways, self.workers, self.gearmands):  # each group's members at once
            for p in group:
                p.terminate()
            for p in group:
                try:
                    p.stop()
                except AssertionError as e:
                    errors.append(str(e))
        left = [(p.name, pid) for p in self.gateways + self.workers + self.gearmands
                for pid in p.pids if pid_alive(pid)]
        assert not left and not errors, "left running: %r; %s" % (left, errors)

    def logs(self):
        """The tail of every log, for failure messages."""
        return "\n".join("== %s\n%s" % (p.name, tail(p.log))
                         for p in self.gateways + self.gearmands + self.workers[-6:])

    # -- HTTP

    def request(self, method, path, body=None, port=None, timeout=30):
        """(HTTP status, headers, parsed JSON body or None); raises OSError or
        http.client.HTTPException when the gateway is not there."""
        if port is None:
            self.polls += 1
            port = self.http_ports[self.polls % len(self.http_ports)]  # round robin
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data,
                         headers={"Content-Type": "application/json"} if data is not None else {})
            r = conn.getresponse()
            raw = r.read()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = None
            return r.status, r.headers, parsed
        finally:
            conn.close()

    def status(self, sid):
        """The status `sid` through one of the gateways, or None if none answered."""
        try:
            code, _, body = self.request("GET", "/faults/v1/status/" + sid)
        except (OSError, http.client.HTTPException):
            return None
        return body if code == 200 else None

    def listing(self, tag, state=None):
        """Every status of this test (its resources are named <tag>-<i>), expanded."""
        path = "/faults/v1/status;_expand=1;_count=1000;uri=" + tag + (";state=" + state if state else "")
        code, _, body = self.request("GET", path)
        assert code == 200, (code, body)
        # The gateway's largest page: a full one could hide more.
        assert len(body["statuses"]) < 1000, "more statuses than one page holds"
        return body["statuses"]

    # -- the checks

    def settle(self, burst, timeout=SETTLE):
        """Polls until every accepted job's status is COMPLETED and no status
        of the test is PENDING or RUNNING; returns {status id: status} of all
        the test's statuses."""
        open_ids = set(burst.accepted.values())
        deadline = time.monotonic() + timeout
        last = {}
        while True:
            for sid in sorted(open_ids):
                s = self.status(sid)
                if s is not None:
                    last[sid] = s
                    if s.get("state") == "COMPLETED":
                        open_ids.discard(sid)
            if not open_ids:
                unfinished = [s for state in ("PENDING", "RUNNING") for s in self.listing(burst.tag, state)]
                if not unfinished:
                    break
            if time.monotonic() > deadline:
                if not open_ids:
                    raise AssertionError("after %gs, %d statuses of the test are still PENDING/RUNNING: %s\n%s"
                                         % (timeout, len(unfinished), json.dumps(unfinished[:3])[:1500],
                                            self.logs()))
                states = collections.Counter(last.get(sid, {}).get("state", "unanswered") for sid in open_ids)
                sample = [last.get(sid) for sid in sorted(open_ids)[:3]]
                raise AssertionError(
                    "after %gs, %d of %d accepted jobs are not COMPLETED (%s); for example %s\nruns: %s\n%s"
                    % (timeout, len(open_ids), len(burst.accepted), dict(states), json.dumps(sample)[:1500],
                       self.run_lines_of(sorted(open_ids)[:3]), self.logs()))
            time.sleep(0.2)
        statuses = {}
        for s in self.listing(burst.tag):
            m = STATUS_ID.search(s.get("status_uri", ""))
            assert m, s
            statuses[m.group(0)] = s
        return statuses

    def read_runs(self):
        """[(what, status id, pid)] of every line the workers wrote."""
        out = []
        for line in self.runs.read_text().splitlines():
            what, sid, pid = line.split()
            out.append((what, sid, int(pid)))
        return out

    def run_lines_of(self, sids):
        return [line for line in self.runs.read_text().splitlines() if line.split()[1] in sids]

    def check(self, burst, statuses, killed_mid=(), killed_after=(), retryable=True):
        """Every accepted job ended COMPLETED with code 0 and ran to its end
        exactly once, having started once, plus once for each kill -9 that
        hit it inside its handler (`killed_mid`, ids counted as often as
        they were hit) and with as many failures counted.  So did every other status of the test (a request
        whose answer was lost) that ended with code 0; one that ended with
        an error (its request was answered 503) never ran.

        A worker killed after the handler's end but maybe before the job's
        status was written (`killed_after`) leaves its job at-least-once: a
        second whole run is allowed there.  With `retryable` False (the
        handler is registered as not retryable), a job killed inside its
        handler instead ends COMPLETED 500 "worker died" without running
        again.  Returns ({id: starts}, {id: ends})."""
        accepted = set(burst.accepted.values())
        missing = accepted - set(statuses)
        assert not missing, "accepted but not in the store: %s" % sorted(missing)[:5]
        runs = self.read_runs()
        starts = collections.Counter(sid for what, sid, _ in runs if what == "start")
        ends = collections.Counter(sid for what, sid, _ in runs if what == "end")
        strangers = (set(starts) | set(ends)) - set(statuses)
        assert not strangers, "runs of jobs that are no status of the test: %s" % sorted(strangers)[:5]
        hits, loose = collections.Counter(killed_mid), set(killed_after)
        problems, wrong = [], []
        for sid, s in sorted(statuses.items()):
            code, started, ended = s["code"], starts[sid], ends[sid]
            died = code == 500 and any("worker died" in m for m in s.get("messages", []))
            if s["state"] != "COMPLETED":
                ok, want = False, "COMPLETED"
            elif not retryable and (hits[sid] or (sid in loose and code != 0)):
                ok, want = died and started == 1 and ended <= (sid in loose), '500 "worker died", started once'
            elif code != 0:
                ok, want = sid not in accepted and started == 0, "code 0 (an error only unaccepted and never run)"
            elif sid in loose:
                ok, want = 1 <= ended == started <= 2, "run to its end once or twice"
            else:
                ok = ended == 1 and started == 1 + hits[sid] and s.get("failures") == hits[sid]
                want = "started %d, ended once, %d failures counted" % (1 + hits[sid], hits[sid])
            if not ok:
                wrong.append(sid)
                problems.append("%s%s: %s code %s, started %d, ended %d, %s failures; expected %s; %s"
                                % (sid, " (accepted)" if sid in accepted else "", s["state"], code, started,
                                   ended, s.get("failures"), want, s.get("messages", [])[-2:]))
        assert not problems, "%d of %d statuses (%d accepted, %d kills inside a handler) went wrong:\n%s\n%s\n%s" % (
            len(problems), len(statuses), len(accepted), len(killed_mid), "\n".join(problems[:10]),
            "\n".join(self.run_lines_of(wrong[:5])), self.logs())
        print("%d accepted, %d statuses (%d ended with an error), %d runs started, %d refused attempts: %s"
              % (len(accepted), len(statuses), sum(1 for s in statuses.values() if s["code"]),
                 sum(starts.values()), len(burst.refused), dict(burst.refusals())))
        return starts, ends


@pytest.fixture
def cluster(tmp_path, backend):
    """cluster(**kw) starts a Cluster on the test's backend; all of its
    processes are stopped at the end."""
    made = []

    def make(**kw):
        c = Cluster(tmp_path, backend, **kw)
        made.append(c)
        return c.start()

    yield make
    for c in made:
        c.stop()


# ---- a burst of async PUTs ------------------------------------------------

class Burst:
    """`n` async PUTs /faults/v1/<resource>/<tag>-<i> from `clients` threads, round
    robin over the gateways.  A request that gets no 202 (no connection, a
    connection dropped, a 503) is not counted: it is sent again, as a new
    request, until it is accepted, so that the burst ends with `n` accepted
    jobs.  `accepted` maps i to the status id of its 202; `refused` lists
    what the other attempts got."""

    def __init__(self, cluster, n=JOBS, clients=CLIENTS, timeout=120, resource="job"):
        self.cluster, self.resource = cluster, resource
        self.tag = "t%s" % uuid.uuid4().hex[:12]
        self.n, self.clients, self.timeout = n, clients, timeout
        self.accepted = {}
        self.refused = []  # (i, HTTP status or the exception's text, headers)
        self.lock = threading.Lock()
        self.next = 0
        self.sent = 0
        self.threads = []
        self.failure = None

    def start(self):
        self.deadline = time.monotonic() + self.timeout
        self.threads = [threading.Thread(target=self.client, daemon=True) for _ in range(self.clients)]
        for t in self.threads:
            t.start()
        return self

    def take(self):
        with self.lock:
            if self.next >= self.n:
                return None
            self.next += 1
            return self.next - 1

    def port(self):
        with self.lock:
            self.sent += 1
            return self.cluster.http_ports[self.sent % len(self.cluster.http_ports)]

    def client(self):
        try:
            while True:
                i = self.take()
                if i is None:
                    return
                self.send(i)
        except BaseException as e:  # noqa: B036 - reported by join()
            self.failure = e

    def send(self, i):
        while time.monotonic() < self.deadline:
            try:
                code, headers, body = self.cluster.request("PUT", "/faults/v1/%s/%s-%d" % (self.resource, self.tag, i),
                                                           {"i": i}, port=self.port())
            except (OSError, http.client.HTTPException) as e:
                with self.lock:
                    self.refused.append((i, "%s: %s" % (type(e).__name__, e), None))
                time.sleep(0.02)
                continue
            if code == 202:
                m = STATUS_ID.search((body or {}).get("status_uri", ""))
                assert m, body
                with self.lock:
                    self.accepted[i] = m.group(0)
                return
            with self.lock:
                self.refused.append((i, code, dict(headers)))
            time.sleep(0.05)
        raise AssertionError("request %d of the burst was not accepted in %ss" % (i, self.timeout))

    def wait_accepted(self, count):
        wait_for(lambda: self.failure or len(self.accepted) >= count, "%d accepted PUTs" % count,
                 self.timeout, 0.005)
        self.raise_failure()

    def assert_running(self):
        """Fails unless requests are still to be sent: a fault that lands
        after the burst tests nothing."""
        with self.lock:
            assert self.next < self.n, "the burst was over before the fault (%d accepted)" % len(self.accepted)

    def join(self):
        for t in self.threads:
            t.join(max(0.0, self.deadline - time.monotonic()) + 5)
        assert not any(t.is_alive() for t in self.threads), "the burst's clients did not finish"
        self.raise_failure()
        assert len(self.accepted) == self.n
        return self

    def raise_failure(self):
        if self.failure:
            raise self.failure

    def refusals(self):
        """{what: how many} of the attempts that got no 202."""
        return collections.Counter(what if isinstance(what, int) else what.split(":")[0]
                                   for _, what, _ in self.refused)
