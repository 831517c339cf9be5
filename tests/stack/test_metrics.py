# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""/metrics, /healthz and /readyz of the gateway against a real stack
(docs/metrics.md): gearmand, the gateway, the C barn worker, and the C and
Python "meter" workers (metrics_worker.c, metrics_worker.py) whose handlers
count in their Scoreboards.  Workers publish every second here
(metrics.publish_seconds) and the gateway caches nothing (cache_seconds 0),
so that every check is a poll of /metrics until the figure shows.
"""

import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import (BARN_CONF_DIR, BUILD_DIR, GATEWAY, SUPERVISE, Client, free_port, free_ports,
                      gateway_daemon, gearman_status, gearmand_daemon, load_commented, pid_alive,
                      port_open, start_supervised, status_section, unique, wait_for, write_json)

METER_WORKER = BUILD_DIR / "tests/stack/gbx-test-metrics-worker"
METER_PY = Path(__file__).resolve().parent / "metrics_worker.py"
PROMTOOL = shutil.which("promtool")
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


# ---- the exposition, parsed --------------------------------------------------

def parse(text):
    """{(name, frozenset(labels.items())): value} of every sample; also checks
    that every sample's family has HELP and TYPE lines before it."""
    samples, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
            continue
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in typed or family in typed, "no TYPE before %r" % line
        pairs = {k: bytes(v, "utf-8").decode("unicode_escape") for k, v in LABEL.findall(labels)}
        samples[(name, frozenset(pairs.items()))] = float(value)
    return samples


def value(samples, metric, **labels):
    return samples.get((metric, frozenset(labels.items())), 0.0)


class Metrics:
    def __init__(self, client, path="/metrics"):
        self.client, self.path = client, path

    def text(self):
        r = self.client.get(self.path)
        assert r.status == 200, r
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers
        return r.body.decode()

    def scrape(self):
        return parse(self.text())

    def wait(self, predicate, what):
        """Polls /metrics until predicate(samples) holds; returns the samples."""
        seen = []

        def check():
            seen[:] = [self.scrape()]
            return predicate(seen[0])
        wait_for(check, what)
        return seen[0]


# ---- the stack -------------------------------------------------------------------

def worker_conf(root, component, status, handlers=None, base=None):
    """A component config under `root` publishing its figures every second."""
    conf = load_commented(base) if base else {"component": component,
                                              "gearman": {"servers": ["127.0.0.1:${GEARMAN_PORT}"]}}
    conf["status"] = status
    conf["metrics"] = {"publish_seconds": 1}
    if handlers:
        conf["handlers"] = handlers
    if "schemadir" in conf:
        conf["schemadir"] = str((BARN_CONF_DIR / conf["schemadir"]).resolve())
    return str(write_json(Path(root) / ("%s.conf" % component), conf))


def start_metrics_stack(root, workers=True, admin_port=None, gearmand_restart=True):
    for binary in (SUPERVISE, GATEWAY, METER_WORKER):
        assert binary.exists(), "%s is missing: build first" % binary
    root = Path(root)
    (root / "state").mkdir(parents=True, exist_ok=True)
    gearman_port, http_port = free_ports(2)
    status = status_section(root)
    confs = {
        "barn": worker_conf(root, "barn", status, base=BARN_CONF_DIR / "barn.conf"),
        "meter": worker_conf(root, "meter", status, ["do_put_meter_reading_v1", "do_get_meter_reading_v1"]),
        "meterpy": worker_conf(root, "meterpy", status,
                               ["do_put_meterpy_reading_v1", "do_get_meterpy_reading_v1"]),
        "silo": worker_conf(root, "silo", status, ["do_put_silo_grain_v1"]),
    }
    metrics = {"cache_seconds": 0, "worker_stale_seconds": 30}
    if admin_port:
        metrics["listen"] = {"address": "127.0.0.1", "port": admin_port}
    write_json(root / "gateway.conf", {
        "listen": {"address": "127.0.0.1", "port": "${GEARBOX_PORT}"},
        "gearman": {"servers": ["127.0.0.1:${GEARMAN_PORT}"]},
        "status": status,
        "threads": 4,
        "log": {"level": "info"},
        "metrics": metrics,
        "locations": [{"prefix": "/" + c, "auth": "none", "config": confs[c], "timeout": 30}
                      for c in ("barn", "meter", "meterpy", "silo")],
    })
    daemons = [gearmand_daemon(gearmand_restart)]
    if workers:
        daemons += [
            {"name": "barn", "command": ["${GEARBOX_BUILD_DIR}/examples/barn/gearbox-barn-worker",
                                         "--config", confs["barn"]]},
            {"name": "meter", "command": [str(METER_WORKER), confs["meter"]]},
            {"name": "meterpy", "command": ["/usr/bin/python3", str(METER_PY), "--config", confs["meterpy"],
                                            "--component", "meterpy"],
             "env": {"PYTHONPATH": "${GEARBOX_BUILD_DIR}/bindings/python"}},
        ]
    sup = start_supervised(root, daemons + [gateway_daemon()], gearman_port, http_port)
    try:
        if workers:
            wait_for(lambda: all(gearman_status(gearman_port).get(h, (0, 0, 0))[2] >= 1
                                 for h in ("do_put_meter_reading_v1", "do_put_meterpy_reading_v1",
                                           "do_get_barn_animal_v1")),
                     "the workers registered with gearmand")
    except BaseException:
        sup.stop()
        raise
    stack = type("MetricsStack", (), {})()
    stack.supervisor, stack.gearman_port, stack.http_port = sup, gearman_port, http_port
    stack.client = Client(http_port)
    return stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = start_metrics_stack(tmp_path_factory.mktemp("metrics"))
    yield s
    assert s.supervisor.stop() == 0, s.supervisor.output()


@pytest.fixture(scope="module")
def metrics(stack):
    return Metrics(stack.client)


# ---- requests -------------------------------------------------------------------------

def test_requests_counted_by_location_method_and_code(stack, metrics):
    client = stack.client
    before = metrics.scrape()
    name = unique("Wilbur")
    assert client.get("/barn/v1/animal/" + name).status == 404
    assert client.get("/barn/v1/animal/" + name).status == 404
    assert client.put("/barn/v1/animal/" + name, {"name": name}).status == 202
    assert client.get("/nowhere/v1/thing").status == 404
    assert client.request("PATCH", "/barn/v1/animal/" + name).status == 405
    # A request is counted once its answer has been sent, which is after the
    # client has it: on a loaded machine the last ones may come a moment later.
    expected = {("/barn", "GET", "404"): 2, ("/barn", "PUT", "202"): 1,
                ("(none)", "GET", "404"): 1, ("(none)", "OTHER", "405"): 1}

    def moved(location, method, code):
        key = dict(location=location, method=method, code=code)
        return value(after, "gearbox_http_requests_total", **key) - \
            value(before, "gearbox_http_requests_total", **key)

    def timed():
        return value(after, "gearbox_http_request_duration_seconds_count", location="/barn", method="GET") - \
            value(before, "gearbox_http_request_duration_seconds_count", location="/barn", method="GET")

    def all_counted():
        nonlocal after
        after = metrics.scrape()
        return all(moved(*k) >= n for k, n in expected.items()) and timed() >= 2
    after = None
    wait_for(all_counted, "the requests to be counted")
    assert moved("/barn", "GET", "404") == 2
    assert moved("/barn", "PUT", "202") == 1
    assert moved("(none)", "GET", "404") == 1
    assert moved("(none)", "OTHER", "405") == 1  # refused before routing
    # The scrape before this one counts under the gateway's own endpoints.
    assert moved("(gateway)", "GET", "200") >= 1
    # Latency: one observation per request.
    assert timed() == 2


def test_histograms_are_consistent(stack, metrics):
    stack.client.get("/barn/v1/animal/" + unique("Templeton"))
    # a well-formed id nobody made: the store is asked (a load)
    assert stack.client.get("/barn/v1/status/s-" + "0123456789abcdefghjkmnpqrs").status == 404
    samples = metrics.scrape()
    series = {}
    for (name, labels), v in samples.items():
        if name.endswith("_bucket"):
            rest = frozenset((k, x) for k, x in labels if k != "le")
            le = dict(labels)["le"]
            series.setdefault((name[:-len("_bucket")], rest), []).append(
                (float("inf") if le == "+Inf" else float(le), v))
    assert any(n == "gearbox_http_request_duration_seconds" for n, _ in series)
    assert any(n == "gearbox_store_operation_duration_seconds" for n, _ in series)
    for (name, labels), buckets in series.items():
        buckets.sort()
        counts = [c for _, c in buckets]
        assert counts == sorted(counts), (name, labels, buckets)  # cumulative
        assert buckets[-1][0] == float("inf")
        assert samples[(name + "_count", labels)] == counts[-1], (name, labels)
        assert samples[(name + "_sum", labels)] >= 0
    # The store's operations the gateway ran are timed.
    assert samples[("gearbox_store_operation_duration_seconds_count",
                    frozenset({("operation", "load")}))] >= 1


# ---- jobs, statuses, gearmand, scoreboards ------------------------------------------------

@pytest.mark.parametrize("component", ["meter", "meterpy"])
def test_jobs_and_scoreboards_of_real_workers(stack, metrics, component):
    client = stack.client
    before = metrics.scrape()
    ok = client.accepted("PUT", "/%s/v1/reading/%s" % (component, unique("r")), {"value": 1})
    bad = client.accepted("PUT", "/%s/v1/reading/%s" % (component, unique("r")), {"fail": True})
    assert client.wait_completed(ok["status_uri"])["code"] == 0
    assert client.wait_completed(bad["status_uri"])["code"] == 409
    assert client.get("/%s/v1/reading/x" % component).status == 200

    def delta(samples, metric, **labels):
        return value(samples, metric, **labels) - value(before, metric, **labels)
    after = metrics.wait(
        lambda s: delta(s, "gearbox_jobs_completed_total", component=component) >= 1
        and delta(s, "gearbox_jobs_failed_total", component=component) >= 1
        and delta(s, "gearbox_worker_scoreboard_total", component=component, group="readings", name="get") >= 1,
        "the %s worker's figures in /metrics" % component)
    assert delta(after, "gearbox_jobs_accepted_total", component=component) == 2
    assert delta(after, "gearbox_jobs_completed_total", component=component) == 1
    assert delta(after, "gearbox_jobs_failed_total", component=component) == 1
    board = dict(component=component, group="readings")
    assert delta(after, "gearbox_worker_scoreboard_total", name="put", **board) == 2
    assert delta(after, "gearbox_worker_scoreboard_total", name="refused", **board) == 1
    assert value(after, "gearbox_worker_processes", component=component) == 1


def test_statuses_by_state_and_gearmand_gauges(stack, metrics):
    client = stack.client
    before = metrics.scrape()
    # No worker serves /silo: its jobs stay PENDING and queued in gearmand.
    for _ in range(2):
        client.accepted("PUT", "/silo/v1/grain/" + unique("g"), {"kind": "wheat"})
    after = metrics.scrape()
    assert value(after, "gearbox_statuses", state="PENDING") - \
        value(before, "gearbox_statuses", state="PENDING") == 2
    assert {dict(labels)["state"] for name, labels in after if name == "gearbox_statuses"} == {
        "PENDING", "RUNNING", "STOPPING", "STOPPED", "CANCELLING", "CANCELLED", "COMPLETED"}
    assert value(after, "gearbox_gearmand_jobs", function="do_put_silo_grain_v1") >= 2
    assert value(after, "gearbox_gearmand_workers", function="do_put_silo_grain_v1") == 0
    # The real workers, as gearmand counts them.
    gm = gearman_status(stack.gearman_port)
    for fn in ("do_put_meter_reading_v1", "do_put_meterpy_reading_v1", "do_get_barn_animal_v1"):
        assert value(after, "gearbox_gearmand_workers", function=fn) == gm[fn][2] == 1
        assert value(after, "gearbox_gearmand_running_jobs", function=fn) == 0
    assert value(after, "gearbox_gearmand_up", server="127.0.0.1:%d" % stack.gearman_port) == 1
    assert value(after, "gearbox_store_up") == 1
    assert value(after, "gearbox_gateway_connections") >= 1  # this scrape's
    assert value(after, "gearbox_gateway_suspended_requests") == 0
    assert ("gearbox_scheduler_lag_seconds", frozenset()) in after


@pytest.mark.skipif(not PROMTOOL, reason="promtool (Debian package prometheus) is not installed")
def test_promtool_finds_nothing_to_complain_about(stack, metrics):
    client = stack.client
    client.get("/barn/v1/animal/" + unique("Charlotte"))
    client.get("/nowhere")
    text = metrics.text()
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(), capture_output=True,
                       timeout=60)
    assert r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(), (r, text)


def test_health_on_the_main_listener(stack):
    r = stack.client.get("/healthz")
    assert r.status == 200 and r.json() == {"status": "ok"}, r
    r = stack.client.get("/readyz")
    assert r.status == 200, r
    assert r.json() == {"status": "ready", "store": "ok",
                        "gearmand": "127.0.0.1:%d" % stack.gearman_port}
    r = stack.client.post("/readyz", {})
    assert r.status == 405, r


# ---- readiness with gearmand gone, and the admin listener -----------------------------------

@pytest.fixture
def admin_stack(tmp_path):
    """Gateway and gearmand only (not restarted), /metrics on an admin listener."""
    admin_port = free_port()
    s = start_metrics_stack(tmp_path, workers=False, admin_port=admin_port, gearmand_restart=False)
    s.admin = Client(admin_port)
    s.own_gearmand = None
    yield s
    if s.own_gearmand and s.own_gearmand.poll() is None:
        s.own_gearmand.terminate()  # the gearmand this test started, by its handle
        s.own_gearmand.wait(timeout=60)
    assert s.supervisor.stop() == 0, s.supervisor.output()


def test_admin_listener_and_readyz_follows_gearmand(admin_stack):
    stack, admin = admin_stack, admin_stack.admin
    # /metrics moved to the admin listener; health is on both.
    assert stack.client.get("/metrics").status == 404
    text = Metrics(admin).text()
    assert "gearbox_http_requests_total" in text
    for client in (stack.client, admin):
        assert client.get("/healthz").status == 200
        wait_for(lambda: client.get("/readyz").status == 200, "readyz to say ready")
    assert admin.get("/barn/v1/animal/x").status == 404  # the admin listener serves nothing else

    gearmand = stack.supervisor.pid_of("gearmand.0")
    assert gearmand and pid_alive(gearmand)
    os.kill(gearmand, signal.SIGTERM)  # only the gearmand this test's stack started, by pid
    wait_for(lambda: not pid_alive(gearmand) and not port_open(stack.gearman_port), "gearmand to stop")
    for client in (stack.client, admin):
        wait_for(lambda: client.get("/readyz").status == 503, "readyz to say not ready")
        r = client.get("/readyz")
        body = r.json()
        assert set(body) == {"uri", "progress", "state", "operation", "code", "messages"}, body
        assert body["code"] == 503 and body["state"] == "COMPLETED", body
        assert body["messages"][0].startswith("SERVICE_UNAVAILABLE [503]: no gearmand is reachable"), body
        assert "127.0.0.1:%d" % stack.gearman_port in body["messages"][0]
        assert client.get("/healthz").status == 200  # the process is still up
    samples = Metrics(admin).scrape()
    assert value(samples, "gearbox_gearmand_up", server="127.0.0.1:%d" % stack.gearman_port) == 0

    # gearmand back on its port: ready again.
    stack.own_gearmand = subprocess.Popen(
        ["gearmand", "--listen=127.0.0.1", "--port=%d" % stack.gearman_port, "--log-file=stderr",
         "--verbose=WARNING", "--threads=1"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    wait_for(lambda: port_open(stack.gearman_port), "gearmand to come back")
    for client in (stack.client, admin):
        wait_for(lambda: client.get("/readyz").status == 200, "readyz to say ready again")
