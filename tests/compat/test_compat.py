# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""Gearbox compatibility (issue [K]): Gearbox-style test workers in Perl and
PHP (tests/compat/perl, tests/compat/php), written as Yahoo Gearbox's own
test workers were, and the same worker in Python (tests/compat/python),
driven over HTTP through a real stack: gearmand,
gearbox-global-worker (the agents runner), three workers per language and
the gateway, under gearbox-supervise on free loopback ports.  Checks that
need a gateway of another shape (nested locations, component configs
without or with internal handlers) start one more gateway beside the stack,
on the same gearmand and store, and stop it by pid.

Each test is named after the point of the issue it checks (test_1_... to
test_10_...), once per language.  Waiting is always a poll with a bound.
"""

import importlib.util
import json
import os
import signal
import subprocess
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("gbx_stack_fixtures", HERE.parent / "stack" / "conftest.py")
fx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fx)

BOUND = fx.BOUND
wait_for = fx.wait_for
CONF_DIR = HERE / "conf"
RUNNER = "do_run_global_agents_v1"
WORKERS = 3  # per language: a handler waiting on its children needs others to serve them

# (language, component): the prefix is /<language>/compat.
LANGS = [("perl", "compatperl"), ("php", "compatphp"), ("python", "compatpython")]
LANG_IDS = [lang for lang, _ in LANGS]

# Gearbox's error classes, exactly as gearbox/core/Errors.h names them
# (DEFINE_ERROR(NAME, CODE) gives ERR_NAME and ERR_CODE_<CODE>).
GEARBOX_ERRORS = [
    ("MULTIPLE_CHOICES", 300), ("MOVED_PERMANENTLY", 301), ("MOVED_TEMPORARILY", 302),
    ("SEE_OTHER", 303), ("NOT_MODIFIED", 304), ("USE_PROXY", 305), ("TEMPORARY_REDIRECT", 307),
    ("BAD_REQUEST", 400), ("UNAUTHORIZED", 401), ("PAYMENT_REQUIRED", 402), ("FORBIDDEN", 403),
    ("NOT_FOUND", 404), ("METHOD_NOT_ALLOWED", 405), ("NOT_ACCEPTABLE", 406),
    ("PROXY_AUTHENTICATION_REQUIRED", 407), ("REQUEST_TIME_OUT", 408), ("CONFLICT", 409),
    ("GONE", 410), ("LENGTH_REQUIRED", 411), ("PRECONDITION_FAILED", 412),
    ("REQUEST_ENTITY_TOO_LARGE", 413), ("REQUEST_URI_TOO_LARGE", 414),
    ("UNSUPPORTED_MEDIA_TYPE", 415), ("RANGE_NOT_SATISFIABLE", 416), ("EXPECTATION_FAILED", 417),
    ("UNPROCESSABLE_ENTITY", 422), ("LOCKED", 423), ("FAILED_DEPENDENCY", 424),
    ("UPGRADE_REQUIRED", 426), ("INTERNAL_SERVER_ERROR", 500), ("NOT_IMPLEMENTED", 501),
    ("BAD_GATEWAY", 502), ("SERVICE_UNAVAILABLE", 503), ("GATEWAY_TIME_OUT", 504),
    ("VERSION_NOT_SUPPORTED", 505), ("VARIANT_ALSO_VARIES", 506), ("INSUFFICIENT_STORAGE", 507),
    ("NOT_EXTENDED", 510),
]


def global_worker_binary():
    """gearbox-global-worker from the build tree (under tools/), or None."""
    found = sorted((fx.BUILD_DIR / "tools").glob("**/gearbox-global-worker"))
    return next((p for p in found if p.is_file() and os.access(p, os.X_OK)), None)


def prefix(lang):
    return "/%s/compat" % lang


# The HTTP handlers every compat worker registers.  Their component configs
# list none: the gateway learns them from gearmand (point 4).
HANDLERS = ["do_get_%s_thing_v1", "do_put_%s_thing_v1", "do_get_%s_mark_v1", "do_put_%s_mark_v1",
            "do_post_%s_graph_v1", "do_post_%s_agents_v1", "do_post_%s_hello2_v1",
            "do_post_%s_continuation_v1", "do_post_%s_retry_v1", "do_get_%s_error_v1",
            "do_get_%s_syncstatus_v1", "do_get_%s_metrics_v1"]


def handlers_of(component):
    """The HTTP handlers of the component's workers (what the gateway routes)."""
    return [h % component for h in HANDLERS]


def unique(what):
    return "%s-%s" % (what, uuid.uuid4().hex[:10])


# ---- the stack ---------------------------------------------------------------

class CompatStack:
    def __init__(self, root, supervisor, gearman_port, http_port, env):
        self.root = root
        self.supervisor = supervisor
        self.gearman_port = gearman_port
        self.http_port = http_port
        self.env = env
        self.client = fx.Client(http_port)

    def base(self, lang):
        return "%s%s/v1" % (self.client.base, prefix(lang))

    def serving(self, handler):
        """How many workers gearmand has for handler."""
        return fx.gearman_status(self.gearman_port).get(handler, (0, 0, 0))[2]


def worker_daemons():
    build = "${GEARBOX_BUILD_DIR}"
    return [
        {"name": "compatperl", "count": WORKERS,
         "command": ["/usr/bin/perl", str(HERE / "perl/workerCompat.pl"), str(CONF_DIR / "compatperl.conf")]},
        {"name": "compatphp", "count": WORKERS,
         "command": ["/usr/bin/php", "-d", "extension=%s/bindings/php/gearbox.so" % build,
                     str(HERE / "php/workerCompat.php"), str(CONF_DIR / "compatphp.conf")]},
        {"name": "compatpython", "count": WORKERS,
         "command": ["/usr/bin/python3", str(HERE / "python/worker_compat.py"), str(CONF_DIR / "compatpython.conf")],
         "env": {"PYTHONPATH": "%s/bindings/python" % build}},
    ]


def gateway_conf(locations, scheduler=True):
    return {
        "listen": {"address": "127.0.0.1", "port": "${GEARBOX_PORT}"},
        "gearman": {"servers": ["127.0.0.1:${GEARMAN_PORT}"]},
        "status": {"type": "sqlite", "path": "${GEARBOX_STATE_DIR}/status.db"},
        "threads": 8,
        "scheduler": scheduler,
        "log": {"level": "info"},
        "locations": locations,
    }


def main_locations():
    return [{"prefix": prefix(lang), "auth": "none", "config": str(CONF_DIR / ("%s.conf" % c)), "timeout": 60} for lang, c in LANGS]


@pytest.fixture(scope="module")
def compat(tmp_path_factory):
    for binary in (fx.SUPERVISE, fx.GATEWAY, fx.BUILD_DIR / "bindings/php/gearbox.so",
                   fx.BUILD_DIR / "bindings/perl/lib", fx.BUILD_DIR / "bindings/python/gearbox"):
        assert binary.exists(), "%s is missing: build first" % binary
    root = tmp_path_factory.mktemp("compat")
    (root / "state").mkdir()
    gearman_port, http_port = fx.free_ports(2)
    fx.write_json(root / "gateway.conf", gateway_conf(main_locations()))
    daemons = [fx.gearmand_daemon()]
    runner = global_worker_binary()
    if runner:
        daemons.append({"name": "global", "command": [str(runner), "--config", str(CONF_DIR / "global.conf")]})
    daemons += worker_daemons()
    daemons.append({"name": "gateway",
                    "command": ["${GEARBOX_BUILD_DIR}/gateway/gearbox-gateway",
                                "--config", "${GEARBOX_STACK_DIR}/gateway.conf"],
                    "ready": {"tcp": "127.0.0.1:${GEARBOX_PORT}"}})
    conf = fx.write_json(root / "stack.conf", {"stop_timeout": 10, "daemons": daemons})
    env = fx.stack_env(root, gearman_port, http_port)
    sup = fx.Supervisor(root, conf, env).start()
    try:
        sup.wait_started()
        stack = CompatStack(root, sup, gearman_port, http_port, env)
        for _, component in LANGS:
            wait_for(lambda: all(stack.serving(h) >= WORKERS for h in handlers_of(component)),
                     "%d %s workers registered with gearmand" % (WORKERS, component), 2 * BOUND)
    except BaseException:
        sup.stop()
        raise
    yield stack
    assert sup.stop() == 0, sup.output()


@pytest.fixture
def client(compat):
    return compat.client


class ExtraGateway:
    """One more gearbox-gateway on the stack's gearmand and store, started
    directly (not supervised) on a free port and stopped by its pid."""

    def __init__(self, compat, name, locations):
        self.dir = compat.root / name
        self.dir.mkdir(exist_ok=True)
        self.port = fx.free_port()
        self.env = dict(compat.env, GEARBOX_PORT=str(self.port))
        self.conf = fx.write_json(self.dir / "gateway.conf", gateway_conf(locations, scheduler=False))
        self.log = self.dir / "gateway.log"
        self.proc = None
        self.client = fx.Client(self.port)

    def log_tail(self):
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
        except FileNotFoundError:
            return ""

    def __enter__(self):
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([str(fx.GATEWAY), "--config", str(self.conf)], env=self.env,
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                         cwd=str(self.dir), start_new_session=True)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError("gearbox-gateway with %s exited with %s:\n%s"
                                     % (self.conf, self.proc.returncode, self.log_tail()))
            return fx.port_open(self.port)
        try:
            wait_for(up, "the extra gateway on port %d" % self.port)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return False


def derived_conf(compat, component, name, handlers):
    """A copy of the component's config (as JSON, comments dropped) with its
    `handlers` list replaced (None: no list at all)."""
    text = "\n".join(line for line in (CONF_DIR / ("%s.conf" % component)).read_text().splitlines()
                     if not line.strip().startswith("//"))
    cfg = json.loads(text)
    cfg.pop("handlers", None)
    if handlers is not None:
        cfg["handlers"] = handlers
    return fx.write_json(compat.root / ("%s-%s.conf" % (component, name)), cfg)


# ---- helpers -------------------------------------------------------------------

def finished(client, status_uri, timeout=BOUND):
    """The status once COMPLETED (the last seen one in the failure message)."""
    return client.wait_completed(status_uri, timeout)


def succeeded(client, status_uri, timeout=BOUND):
    s = finished(client, status_uri, timeout)
    assert s["code"] == 0, "failed: %r" % s
    return s


def marks(client, lang, mark_id):
    r = client.get("%s/v1/mark/%s" % (prefix(lang), mark_id))
    assert r.status == 200, r
    return r.json()["marks"]


def graph(compat, lang, component, mark_id):
    """Gearbox's object-form agent graph: A; then B (async) and S (SYNC),
    both requiring A; then a REST entry (PUT of this component's mark)
    requiring both.  As in Gearbox, a REST entry's key is its URI."""
    a, b, s = ("do_reg_%s_%s_v1" % (component, x) for x in "ABS")
    rest = "%s/mark/%s" % (compat.base(lang), mark_id)
    return {
        a: {},
        b: {"require": [a]},
        s: {"require": [a], "type": "SYNC"},
        rest: {"method": "PUT", "uri": rest, "require": [b, s]},
    }


def check_graph_ran(client, lang, component, mark_id):
    """The agents ran level after level: A, then B and S (S synchronously),
    then the REST PUT."""
    got = wait_for(lambda: (lambda m: m if len(m) >= 4 else None)(marks(client, lang, mark_id)),
                   "the four agents of %s to leave their marks" % mark_id)
    a, b, s = ("do_reg_%s_%s_v1" % (component, x) for x in "ABS")
    assert len(got) == 4, got
    assert got[0] == a, got
    assert sorted(got[1:3]) == sorted([b, s + " sync"]), got
    assert got[3] == "rest do_put_%s_mark_v1" % component, got


# ---- 1, 2: agent graphs in Gearbox's form, the global worker -----------------

def run_graph(compat, lang, component, resource):
    """POST /<resource>/<id> with the graph: the handler runs it (through
    job_queue for "graph", through the global runner for "agents")."""
    client = compat.client
    mark_id = unique(resource)
    st = client.accepted("POST", "%s/v1/%s/%s" % (prefix(lang), resource, mark_id),
                         {"agents": graph(compat, lang, component, mark_id)})
    s = succeeded(client, st["status_uri"], 2 * BOUND)
    assert "done" in s["messages"], s
    check_graph_ran(client, lang, component, mark_id)


@pytest.mark.parametrize("lang,component", LANGS, ids=LANG_IDS)
def test_1_object_graph_through_job_queue(compat, lang, component):
    run_graph(compat, lang, component, "graph")


@pytest.mark.parametrize("lang,component", LANGS, ids=LANG_IDS)
def test_1_object_graph_with_unknown_requirement_fails_clearly(compat, client, lang, component):
    bad = {"do_reg_%s_A_v1" % component: {"require": ["do_reg_%s_nosuch_v1" % component]}}
    st = client.accepted("POST", "%s/v1/graph/%s" % (prefix(lang), unique("bad")), {"agents": bad})
    s = finished(client, st["status_uri"])
    assert s["code"] != 0, s
    assert any("do_reg_%s_nosuch_v1" % component in m for m in s["messages"]), s


def check_runner_served(compat):
    """gearbox-global-worker runs in the stack and has registered the runner
    (waited for here, not in the fixture: without it only point 2 fails)."""
    assert global_worker_binary(), "gearbox-global-worker is not built (tools/): issue point 2"
    try:
        wait_for(lambda: compat.serving(RUNNER) >= 1, "a worker serving %s" % RUNNER, 2 * BOUND)
    except AssertionError as e:
        raise AssertionError("%s\n%s" % (e, compat.supervisor.daemon_logs())) from None


@pytest.mark.parametrize("lang,component", LANGS, ids=LANG_IDS)
def test_1_object_graph_through_global_runner(compat, lang, component):
    check_runner_served(compat)
    run_graph(compat, lang, component, "agents")


def gearman_workers(port):
    """The set of functions of each worker connection (gearadmin --workers)."""
    out = subprocess.run(["gearadmin", "-h", "127.0.0.1", "-p", str(port), "--workers"], check=True,
                         capture_output=True, text=True, timeout=30).stdout
    return [set(line.split(" : ", 1)[1].split()) for line in out.splitlines() if " : " in line]


def test_2_global_worker_serves_the_runner(compat):
    # The component workers do not register the runner ...
    components = [fs for fs in gearman_workers(compat.gearman_port)
                  if any(f.startswith("do_get_compat") for f in fs)]
    assert len(components) >= WORKERS * len(LANGS), components
    for functions in components:
        assert RUNNER not in functions, functions
    # ... gearbox-global-worker does.
    check_runner_served(compat)


# ---- 3: nested locations ------------------------------------------------------

@pytest.mark.parametrize("lang,component", LANGS, ids=LANG_IDS)
def test_3_nested_location_answers_synchronously(compat, client, lang, component):
    conf = str(CONF_DIR / ("%s.conf" % component))
    locations = [{"prefix": prefix(lang), "auth": "none", "config": conf},
                 {"prefix": "%s/v1/hello2" % prefix(lang), "auth": "none", "config": conf, "sync": ["POST"]}]
    # Without the nested location the same request is queued (202).
    assert client.post("%s/v1/hello2" % prefix(lang), {}).status == 202
    with ExtraGateway(compat, "nested-%s" % lang, locations) as gw:
        r = gw.client.post("%s/v1/hello2" % prefix(lang), {})
        assert r.status == 200, "%r\n%s" % (r, gw.log_tail())
        body = r.json()
        assert body["handler"] == "do_post_%s_hello2_v1" % component, body
        assert body["sync"] is True, body
        # The parent location is untouched.
        r = gw.client.get("%s/v1/thing/t1" % prefix(lang))
        assert r.status == 200 and r.json()["thing"] == "t1", r


# ---- 4: handlers known the Gearbox way ------------------------------------------

@pytest.mark.parametrize("lang,component", LANGS, ids=LANG_IDS)
def test_4_config_without_handlers_learns_them_from_gearmand(compat, lang, component):
    conf = derived_conf(compat, component, "nohandlers", None)
    with ExtraGateway(compat, "learned-%s" % lang, [{"prefix": prefix(lang), "auth": "none", "config": str(conf)}]) as gw:
        r = gw.client.get("%s/v1/thing/t2" % prefix(lang))
        assert r.status == 200, "%r\n%s" % (r, gw.log_tail())
        assert r.json()["thing"] == "t2"
        st = gw.client.put("%s/v1/thing/t2" % prefix(lang), {})
        assert st.status == 202, st
        succeeded(gw.client, st.json()["status_uri"])
        # A handler no worker registered stays unknown.
        r = gw.client.get("%s/v1/nosuchthing/x" % prefix(lang))
        assert r.status == 400 and "No valid handler found!" in r.json()["messages"][0], r


@pytest.mark.parametrize("lang,component", LANGS, ids=LANG_IDS)
def test_4_config_may_list_internal_handlers(compat, lang, component):
    conf = derived_conf(compat, component, "internal",
                        handlers_of(component) + ["do_append_%s_note_v1" % component])
    with ExtraGateway(compat, "internal-%s" % lang, [{"prefix": prefix(lang), "auth": "none", "config": str(conf)}]) as gw:
        r = gw.client.get("%s/v1/thing/t3" % prefix(lang))
        assert r.status == 200 and r.json()["thing"] == "t3", "%r\n%s" % (r, gw.log_tail())


# ---- 5: cancellation -------------------------------------------------------------

def retrying_child(client, parent_uri):
    """The status of the continuation's do_run child once it has run (and
    now waits to retry)."""
    def child():
        for uri in client.status(parent_uri).get("children") or []:
            s = client.status(uri)
            if "run called" in s["messages"]:
                return s
        return None
    return wait_for(child, "the retrying child of %s" % parent_uri)


def cancel(client, status_uri):
    r = client.post(status_uri, {"state": "CANCELLED"})
    assert r.status == 202, r
    return r.json()


def wait_state(client, status_uri, state):
    return wait_for(lambda: (lambda s: s if s["state"] == state else None)(client.status(status_uri)),
                    "%s to be %s" % (status_uri, state))


@pytest.mark.parametrize("lang,component", LANGS, ids=LANG_IDS)
def test_5_cancelled_retrying_child_completes_its_parent(compat, client, lang, component):
    parent = client.accepted("POST", "%s/v1/continuation" % prefix(lang), {})["status_uri"]
    child = retrying_child(client, parent)
    assert child["state"] in ("PENDING", "RUNNING"), child
    c = cancel(client, child["status_uri"])
    succeeded(client, c["status_uri"])
    wait_state(client, child["status_uri"], "CANCELLED")
    # The child's COMPLETED event ran do_finish, which finished the parent.
    p = finished(client, parent)
    assert "finish called" in p["messages"], p


@pytest.mark.parametrize("lang,component", LANGS, ids=LANG_IDS)
def test_5_cancel_status_operation_is_update(compat, client, lang, component):
    parent = client.accepted("POST", "%s/v1/continuation" % prefix(lang), {})["status_uri"]
    child = retrying_child(client, parent)
    c = cancel(client, parent)
    succeeded(client, c["status_uri"])
    wait_state(client, parent, "CANCELLED")
    wait_state(client, child["status_uri"], "CANCELLED")
    assert c["operation"] == "update", c


# ---- 6: retry arguments -------------------------------------------------------------

@pytest.mark.parametrize("lang,component", LANGS, ids=LANG_IDS)
def test_6_retry_honours_max_delay_and_attempts(compat, client, lang, component):
    max_delay, max_jitter, attempts = 1, 0, 8  # attempts: jobs.retry_max_attempts of the config
    st = client.accepted("POST", "%s/v1/retry/%s" % (prefix(lang), unique("retry")),
                         {"max_delay": max_delay, "max_jitter": max_jitter})
    # Uncapped, 8 attempts take 1+1+2+3+5+8+13 s; capped at 1 s, about 7.
    s = finished(client, st["status_uri"], 4 * BOUND)
    messages = s["messages"]
    tried = [m for m in messages if m.startswith("attempt ")]
    pauses = [float(m.split()[-1]) for m in messages if m.startswith("next in ")]
    assert tried == ["attempt %d" % i for i in range(1, attempts + 1)], s
    assert len(pauses) == attempts - 1, s
    # Each pause as scheduled by retry(): capped at max_delay (+ jitter).
    assert all(p <= max_delay + max_jitter + 0.25 for p in pauses), pauses
    assert s["code"] == 500, s
    assert any("gave up after %d attempts" % attempts in m for m in messages), s


# ---- 7: Gearbox's error names ----------------------------------------------------------

@pytest.mark.parametrize("lang,component", LANGS, ids=LANG_IDS)
def test_7_gearbox_error_names_give_their_codes(compat, client, lang, component):
    wrong = []
    for name, code in GEARBOX_ERRORS + [("CODE_506", 506), ("CODE_510", 510)]:
        r = client.get("%s/v1/error/%s" % (prefix(lang), name))
        body = r.json() if r.body and code >= 400 else {}
        if r.status != code or (code >= 400 and body.get("code") != code):
            wrong.append("ERR_%s: %d %s" % (name, r.status, r.body[:120]))
    assert not wrong, "\n".join(wrong)


# ---- 8: a status in sync handlers --------------------------------------------------------

@pytest.mark.parametrize("lang,component", LANGS, ids=LANG_IDS)
def test_8_status_in_sync_handler(compat, client, lang, component):
    r = client.get("%s/v1/syncstatus" % prefix(lang))
    assert r.status == 200, r
    body = r.json()
    assert body["progress"] == 50, body
    assert "sync message" in body["messages"], body
    # Throw-away: it is not stored.
    if body.get("name"):
        assert client.get("%s/v1/status/%s" % (prefix(lang), body["name"])).status == 404


# ---- 9: StopWatch and Scoreboard ----------------------------------------------------------

@pytest.mark.parametrize("lang,component", LANGS, ids=LANG_IDS)
def test_9_stopwatch_and_scoreboard_in_handlers(compat, client, lang, component):
    for _ in range(2):
        r = client.get("%s/v1/metrics" % prefix(lang))
        assert r.status == 200, r
        assert r.json() == {"metrics": "updated"}


# ---- 10: a status under any prefix --------------------------------------------------------

@pytest.mark.parametrize("lang,component", LANGS, ids=LANG_IDS)
def test_10_status_found_under_another_prefix(compat, client, lang, component):
    st = client.accepted("PUT", "%s/v1/thing/%s" % (prefix(lang), unique("thing")), {})
    s = succeeded(client, st["status_uri"])
    other = next(p for p, _ in LANGS if p != lang)
    r = client.get("%s/v1/status/%s" % (prefix(other), st["status_uri"].rsplit("/", 1)[1]))
    assert r.status == 200, r
    assert r.json()["status_uri"] == s["status_uri"], r
