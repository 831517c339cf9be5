# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""The binding surface without gearmand: errors both ways, JSON type
mapping both ways, jobs, responses, statuses, configs, constants, objects
keeping their parents alive, and the orchestration calls that need no
gearmand (the C job manager: jobs, async runs queued in the store, delays,
retries, events, cancellation, job queues, REST jobs)."""

import gc
import json
import math
import re
import time

import pytest

import gearbox
from gearbox import _gearbox as core

from conftest import BOUND, envelope, write_config


# ---- errors ------------------------------------------------------------------

def test_error_classes_come_from_the_c_table():
    assert core.gbx_err_count() >= 38
    for i in range(core.gbx_err_count()):
        code = core.gbx_err_at(i)
        name = core.gbx_err_name(code)
        cls = getattr(gearbox, "ERR_" + name)
        assert getattr(gearbox, "ERR_CODE_%d" % code) is cls
        assert issubclass(cls, gearbox.GearboxError)
        assert cls.code == code and cls.name == name
        e = cls("boom")
        assert e.code == code and e.message == "boom" and str(e) == "boom"
        assert gearbox.error_class(code) is cls
    assert gearbox.ERR_NOT_FOUND.code == 404
    assert gearbox.ERR_CODE_409 is gearbox.ERR_CONFLICT
    assert gearbox.error_class(299) is gearbox.GearboxError


def test_error_format_matches_the_core():
    assert gearbox.ERR_NOT_FOUND('thing "x" not found').format() == 'NOT_FOUND [404]: thing "x" not found'
    e = gearbox.GearboxError("teapot", 418)
    assert e.code == 418 and e.format() == "ERROR [418]: teapot"


def test_c_errors_raise_their_class(tmp_path):
    with pytest.raises(gearbox.ERR_NOT_FOUND) as info:
        gearbox.Config(tmp_path / "missing.conf")
    assert info.value.code == 404 and "missing.conf" in info.value.message
    with pytest.raises(gearbox.ERR_BAD_REQUEST) as info:
        core.gbx_json_parse("{nope")
    assert "malformed JSON" in str(info.value)
    with pytest.raises(gearbox.ERR_BAD_REQUEST):
        core.gbx_id_generate("x" * 40)  # prefix too long


def test_python_errors_reach_c_by_name_and_code():
    assert core.gbx_err_from_name("ERR_GONE") == 410
    assert core.gbx_err_from_name("NOT_FOUND") == 404
    core.gbx_py_error_set(409, "it clashed")
    with pytest.raises(gearbox.ERR_CONFLICT):
        raise gearbox.error_class(409)("it clashed")


# ---- JSON <-> Python -----------------------------------------------------------

def test_json_round_trip_through_c():
    data = {"s": "h\u00e9llo \u2603", "i": -(2 ** 63), "big": 2 ** 63 - 1, "f": 0.25,
            "t": True, "f2": False, "n": None, "l": [1, [2, {"x": []}]], "d": {}, "tuple": (1, 2)}
    cfg = gearbox.Config(data=data, base_dir="/tmp")
    back = cfg.root()
    expected = dict(data, tuple=[1, 2])
    assert back == expected
    assert type(back["t"]) is bool and type(back["i"]) is int and type(back["f"]) is float
    assert cfg.get("l") == [1, [2, {"x": []}]]
    assert cfg.get("missing", "dflt") == "dflt"
    assert cfg["s"] == "h\u00e9llo \u2603"
    with pytest.raises(KeyError):
        cfg["nope"]


@pytest.mark.parametrize("bad, exc", [
    ({"k": 2 ** 64}, OverflowError),
    ({"k": math.nan}, ValueError),
    ({1: "x"}, TypeError),
    ({"k": object()}, TypeError),
    ({"k": {"bytes": b"\xff"}}, ValueError),
])
def test_values_without_json_form_raise(bad, exc):
    with pytest.raises(exc):
        gearbox.Config(data=bad)


def test_json_dump_and_parse():
    assert json.loads(core.gbx_json_dump({"a": [1, None]})) == {"a": [1, None]}
    assert core.gbx_json_parse_commented('// c\n{"a": 1}') == {"a": 1}
    assert core.gbx_json_parse(b"[true]") == [True]


# ---- config --------------------------------------------------------------------

def test_config_getters(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTEST_PORT", "4999")
    path = tmp_path / "c.conf"
    path.write_text('// comment\n{"port": "${PYTEST_PORT}", "on": "yes", "r": 0.5, '
                    '"dir": "sub", "gearman": {"host": "h", "port": 1}}')
    cfg = gearbox.ConfigFile(str(path))
    assert cfg.get_int("port") == 4999
    assert cfg.get_bool("on") is True
    assert cfg.get_real("r") == 0.5
    assert cfg.get_string("missing", "d") == "d"
    assert cfg.get_path("dir") == str(tmp_path / "sub")
    assert cfg.dir() == str(tmp_path)
    assert cfg.gearman_servers() == "h:1"
    assert "gearman.host" in cfg


# ---- jobs and responses ----------------------------------------------------------

def make_job(**kw):
    env = envelope("do_get_pytest_thing_v1", arguments=["x1", "x2"], content='{"a": 1}',
                   matrix_arguments={"m": "1"}, query_params={"q": "2"}, headers={"h": "3"},
                   environ={"E": "4"}, remote={"ip": "127.0.0.9", "user": "u"}, **kw)
    return gearbox.Job(env)


def test_job_accessors():
    job = make_job()
    assert job.name() == "do_get_pytest_thing_v1"
    assert job.type() == gearbox.Job.JOB_SYNC == gearbox.JOB_SYNC
    assert job.operation() == "get" and job.component() == "pytest"
    assert job.resource_type() == "thing" and job.resource_name() == "x1"
    assert job.base_uri() == "http://127.0.0.1:4080/pytest/v1"
    assert job.resource_uri() == "http://127.0.0.1:4080/pytest/v1/thing/x1"
    assert job.api_version() == "v1"
    assert job.arguments() == ["x1", "x2"]
    assert job.matrix_arguments() == {"m": "1"}
    assert job.query_params() == {"q": "2"}
    assert job.headers() == {"h": "3"}
    assert job.environ() == {"E": "4"}
    assert job.remote_ip() == "127.0.0.9" and job.remote_user() == "u"
    assert job.traceparent() is None and job.trace_id() is None
    traced = gearbox.Job(job).traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").tracestate("congo=t61rcWkgMzE")
    assert traced.traceparent() == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" and traced.tracestate() == "congo=t61rcWkgMzE"
    assert traced.trace_id() == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert job.content() == '{"a": 1}' and job.raw_content() == b'{"a": 1}'
    assert job.json_content() == {"a": 1}
    assert job.status() is None and job.event_status() is None
    assert job.envelope()["name"] == "do_get_pytest_thing_v1"


def test_job_copy_and_setters_are_independent():
    job = make_job()
    copy = gearbox.Job(job)
    copy.name("do_put_pytest_thing_v1")
    copy.arguments(["y"])
    copy.content(b"\x00\xffbin")
    copy.type(gearbox.JOB_ASYNC)
    copy.headers({"x-a": "b"})
    assert copy.name() == "do_put_pytest_thing_v1" and copy.arguments() == ["y"]
    assert copy.raw_content() == b"\x00\xffbin"
    assert copy.type() == gearbox.JOB_ASYNC and copy.headers() == {"x-a": "b"}
    assert job.name() == "do_get_pytest_thing_v1" and job.arguments() == ["x1", "x2"]
    with pytest.raises(gearbox.ERR_BAD_REQUEST):
        copy.arguments({"not": "a list"})
    with pytest.raises(gearbox.ERR_BAD_REQUEST):
        copy.arguments([1])  # members must be strings


def test_job_json_content_errors():
    with pytest.raises(gearbox.ERR_BAD_REQUEST) as info:
        gearbox.Job(envelope("do_get_pytest_thing_v1", content="{broken")).json_content()
    assert "malformed JSON" in str(info.value)
    assert gearbox.Job(envelope("do_get_pytest_thing_v1")).json_content() is None


def test_bad_envelope_is_a_bad_request():
    with pytest.raises(gearbox.ERR_BAD_REQUEST) as info:
        gearbox.Job({"version": 1})
    assert "invalid job envelope" in str(info.value)


def test_response():
    resp = gearbox.JobResponse()
    assert resp.code() == 0 and resp.content() == "" and resp.headers() == {}
    resp.content("h\u00e9")
    resp.add_header("Content-Type", "text/plain")
    resp.code(201)
    assert resp.raw_content() == "h\u00e9".encode()
    assert resp.headers() == {"Content-Type": "text/plain"}
    wire = json.loads(resp.serialize())
    assert wire == {"code": 201, "headers": {"Content-Type": "text/plain"}, "content": "h\u00e9"}
    with pytest.raises(gearbox.ERR_BAD_REQUEST):
        resp.add_header("Bad Name", "v")
    with pytest.raises(gearbox.ERR_BAD_REQUEST):
        resp.add_header("X", "line\r\nbreak")
    assert resp.status() is None


# ---- statuses -------------------------------------------------------------------

@pytest.fixture
def manager(tmp_path):
    conf = write_config(tmp_path, "pytest", 1, ["do_get_pytest_thing_v1"])
    sm = gearbox.StatusManager(str(conf))
    sm.base_uri("http://127.0.0.1:4080/pytest/v1")
    return sm


def test_status_life(manager):
    parent = manager.create(operation="create", uri="http://h/pytest/v1/thing/p", component="pytest")
    s = manager.create(operation="create", uri="http://h/pytest/v1/thing/a", component="pytest",
                       parent_uri=parent.uri(), envelope={"version": 1})
    assert s.name().startswith("s-") and s.uri() == "http://127.0.0.1:4080/pytest/v1/status/" + s.name()
    assert s.state() == gearbox.Status.STATE_PENDING == gearbox.STATE_PENDING
    assert s.operation() == "create" and s.component() == "pytest"
    assert s.resource_uri() == "http://h/pytest/v1/thing/a"
    assert s.parent_uri() == parent.uri() and s.parent().name() == parent.name()
    assert s.envelope() == {"version": 1}
    assert s.progress() == 0 and s.code() == -1 and not s.has_completed()
    s.state(gearbox.Status.STATE_RUNNING)
    s.progress(40)
    s.progress(10)  # never lowers
    assert s.progress() == 40
    s.add_message("one")
    s.add_child("http://h/pytest/v1/status/s-x")
    s.meta("k", {"v": [1]})
    s.meta({"a": 1, "b": "2"})
    assert s.messages() == ["one"]
    assert s.children() == ["http://h/pytest/v1/status/s-x"]
    assert s.meta() == {"k": {"v": [1]}, "a": 1, "b": "2"} and s.meta("a") == 1
    s.meta("a", None)
    assert "a" not in s.meta()
    assert 0 < s.ctime() <= s.mtime() and s.ytime() == 0
    s.fail(404, 'NOT_FOUND [404]: thing "a" not found')
    assert s.has_completed() and not s.is_success() and s.code() == 404
    assert s.state() == gearbox.STATE_COMPLETED
    assert gearbox.Status.state2str(s.state()) == "COMPLETED"
    assert gearbox.Status.str2state("running") == gearbox.STATE_RUNNING
    assert gearbox.Status.event2str(gearbox.EVENT_PRECANCEL) == "PRECANCEL"
    assert gearbox.Status.str2event("CANCEL") == gearbox.Status.EVENT_CANCEL
    with pytest.raises(gearbox.ERR_CONFLICT):
        s.success()  # already completed
    again = manager.fetch(s.uri())
    assert again.to_dict() == s.to_dict() and json.loads(again.serialize())["code"] == 404
    assert s.name() in manager.list(state="COMPLETED")
    assert [x.name() for x in manager.statuses(uri="thing/a")] == [s.name()]
    with pytest.raises(gearbox.ERR_NOT_FOUND):
        manager.fetch("s-" + "0" * 26)
    with pytest.raises(gearbox.ERR_BAD_REQUEST):
        manager.list(state="SLEEPING")
    copy = gearbox.Status(s)
    assert copy.name() == s.name()


@pytest.fixture
def jm(tmp_path):
    """A job manager over a config whose gearmand (port 1) is never there:
    its handlers are known from the config, async jobs wait in the store."""
    conf = write_config(tmp_path, "pytest", 1,
                        ["do_post_pytest_thing_v1", "do_put_pytest_thing_v1", "do_get_pytest_thing_v1",
                         "do_delete_pytest_thing_v1"],
                        extra={"jobs": {"retry_max_attempts": 2, "rest_hosts": ["127.0.0.1"]}})
    manager = gearbox.JobManager(str(conf))
    manager.base_uri("http://127.0.0.1:4080/pytest/v1")
    return manager


def test_job_manager_makes_jobs_in_c(jm):
    job = jm.job("do_post_pytest_thing_v1")
    assert job.operation() == "create" and job.component() == "pytest" and job.resource_type() == "thing"
    assert job.type() == gearbox.JOB_ASYNC and job.base_uri() == "http://127.0.0.1:4080/pytest/v1"
    assert job.status() is None and not job.is_rest()
    with pytest.raises(gearbox.ERR_SERVICE_UNAVAILABLE) as info:
        jm.job("do_get_pytest_unknown_v1")  # not in "handlers", and no gearmand to ask
    assert 'cannot tell whether handler "do_get_pytest_unknown_v1" is known' in str(info.value)
    with pytest.raises(gearbox.ERR_BAD_REQUEST):
        jm.job("not_a_handler")
    renamed = jm.job("do_put_pytest_thing_v1", make_job())
    assert renamed.name() == "do_put_pytest_thing_v1" and renamed.arguments() == ["x1", "x2"]
    from_dict = jm.job("do_delete_pytest_thing_v1", envelope("do_get_pytest_thing_v1", arguments=["z"]))
    assert from_dict.name() == "do_delete_pytest_thing_v1" and from_dict.resource_name() == "z"
    assert jm.gen_id("a").startswith("a-") and len(gearbox.JobManager.gen_id("b")) == 28


def test_job_setters_copy_and_events(jm):
    job = jm.job("do_post_pytest_thing_v1")
    job.content('{"n": 1}').add_argument("a1").headers({"x-h": "v"}).resource_name("a1")
    job.type(gearbox.JOB_SYNC)
    assert job.type() == gearbox.JOB_SYNC
    job.type(gearbox.JOB_ASYNC)
    follow = gearbox.Job(job).name("do_put_pytest_thing_v1")
    assert follow.name() == "do_put_pytest_thing_v1" and follow.arguments() == ["a1"]
    assert follow.api_version() == "v1" and job.name() == "do_post_pytest_thing_v1"
    job.on(gearbox.EVENT_COMPLETED, follow).on("FAILED", jm.job("do_delete_pytest_thing_v1"))
    on = job.envelope()["on"]
    assert on["COMPLETED"]["name"] == "do_put_pytest_thing_v1"
    assert on["FAILED"]["name"] == "do_delete_pytest_thing_v1"
    job.on(gearbox.EVENT_FAILED, None)
    assert "FAILED" not in job.envelope()["on"]
    with pytest.raises(gearbox.ERR_BAD_REQUEST):
        job.on(gearbox.Job.EVENT_UNKNOWN, follow)


def test_async_run_delay_retry_without_gearmand(jm):
    job = jm.job("do_post_pytest_thing_v1")
    resp = job.run()
    assert resp.code() == 202 and resp.status_uri().startswith("http://127.0.0.1:4080/pytest/v1/status/s-")
    assert resp.json_content()["status_uri"] == resp.status_uri()
    st = resp.status()
    assert st.state() == gearbox.STATE_PENDING and st.operation() == "create" and not st.is_remote()
    assert job.status().name() == st.name() == job.status_id()

    later = jm.delay(jm.job("do_put_pytest_thing_v1"), 60).status()
    assert later.ytime() > st.ctime() + 30
    with pytest.raises(gearbox.ERR_BAD_REQUEST):
        jm.delay(jm.job("do_get_pytest_thing_v1").type(gearbox.JOB_SYNC), 5)

    jm.retry(job)
    st.sync()
    assert st.failures() == 1 and st.ytime() > 0
    with pytest.raises(gearbox.GearboxError) as info:
        jm.retry(job)  # retry_max_attempts 2
    assert "gave up after 2 attempts" in str(info.value)
    st.sync()
    assert st.has_completed() and st.code() == 500


def test_status_events_cancel_and_checkpoint(jm):
    st = jm.job("do_post_pytest_thing_v1").run().status()
    undo = jm.job("do_delete_pytest_thing_v1")
    st.on(gearbox.EVENT_CANCEL, undo)
    st.on("PRECANCEL", jm.job("do_get_pytest_thing_v1"))
    assert st.events()["CANCEL"]["name"] == "do_delete_pytest_thing_v1"
    st.on(gearbox.EVENT_PRECANCEL, None)
    assert set(st.events()) == {"CANCEL"}
    st.on(gearbox.EVENT_CANCEL, None)
    assert st.events() == {}
    assert st.counter_add("hits") == 1 and st.counter_add("hits", 5) == 6
    st.checkpoint()  # PENDING: goes on

    cancel = st.cancel()
    assert cancel.operation() == "update" and cancel.resource_uri() == st.uri()
    st.sync()
    assert st.state() == gearbox.STATE_CANCELLED and st.code() == 410
    cancel.wait(BOUND)
    assert cancel.has_completed() and cancel.is_success()
    with pytest.raises(gearbox.ERR_GONE):
        st.checkpoint()
    with pytest.raises(gearbox.ERR_CONFLICT):
        st.transition(gearbox.STATE_RUNNING, gearbox.STATE_COMPLETED)


def test_job_queue_levels_agents(jm):
    agents = [{"name": "do_get_pytest_thing_v1", "require": ["do_post_pytest_thing_v1"]},
              {"name": "do_post_pytest_thing_v1"},
              {"name": "do_put_pytest_thing_v1", "require": "do_post_pytest_thing_v1"},
              {"name": "do_delete_pytest_thing_v1",
               "require": ["do_get_pytest_thing_v1", "do_put_pytest_thing_v1"]}]
    q = jm.job_queue(agents)
    # As in Gearbox: a plain list of levels, each a plain list of Jobs.
    assert type(q) is list and len(q) == 3
    assert all(type(level) is list for level in q)
    assert all(isinstance(j, gearbox.Job) for level in q for j in level)
    assert [[j.name() for j in level] for level in q] == [
        ["do_post_pytest_thing_v1"], ["do_get_pytest_thing_v1", "do_put_pytest_thing_v1"],
        ["do_delete_pytest_thing_v1"]]
    jm.job_queue_apply(q, "content", '{"shared": true}')
    assert all(j.json_content() == {"shared": True} for level in q for j in level)
    q.reverse()
    assert q[0][0].name() == "do_delete_pytest_thing_v1"
    assert jm.job_queue([]) == []
    with pytest.raises(gearbox.ERR_BAD_REQUEST) as info:
        jm.job_queue_run([["do_get_pytest_thing_v1"]])
    assert "list of Jobs" in str(info.value)
    with pytest.raises(gearbox.ERR_INTERNAL_SERVER_ERROR) as info:
        jm.job_queue([{"name": "do_get_pytest_thing_v1", "require": ["do_get_pytest_thing_v1"]}])
    assert "requires itself" in str(info.value)


def test_job_queue_gearbox_object_form(jm):
    # Gearbox's form: {handler: {"require": [...], "type": "SYNC",
    # "method": ..., "uri": ...}}; {} or [] for no requirements.
    agents = {"do_post_pytest_thing_v1": {},
              "do_get_pytest_thing_v1": {"require": ["do_post_pytest_thing_v1"], "type": "SYNC"},
              "do_put_pytest_thing_v1": {"require": ["do_post_pytest_thing_v1"]},
              "http://127.0.0.1:1/pytest/v1/thing/x": {"method": "DELETE",
                                                        "require": ["do_get_pytest_thing_v1",
                                                                    "do_put_pytest_thing_v1"]}}
    q = jm.job_queue(agents)
    assert [[j.name() for j in level] for level in q] == [
        ["do_post_pytest_thing_v1"], ["do_get_pytest_thing_v1", "do_put_pytest_thing_v1"],
        ["DELETE http://127.0.0.1:1/pytest/v1/thing/x"]]
    assert q[1][0].type() == gearbox.JOB_SYNC and q[1][1].type() == gearbox.JOB_ASYNC
    assert q[2][0].is_rest()
    assert jm.job_queue({}) == []
    with pytest.raises(gearbox.ERR_INTERNAL_SERVER_ERROR) as info:
        jm.job_queue({"do_get_pytest_thing_v1": {"require": ["do_put_pytest_thing_v1"]}})
    assert 'requires "do_put_pytest_thing_v1", which is not an agent' in str(info.value)
    with pytest.raises(gearbox.ERR_INTERNAL_SERVER_ERROR) as info:
        jm.job_queue({"do_get_pytest_thing_v1": {"require": ["do_put_pytest_thing_v1"]},
                      "do_put_pytest_thing_v1": {"require": ["do_get_pytest_thing_v1"]}})
    assert "dependency cycle" in str(info.value)


def test_retry_takes_gearboxs_arguments(jm):
    job = jm.job("do_post_pytest_thing_v1")
    st = job.run().status()
    before = time.time()
    jm.retry(job, max_delay=0.5, max_jitter=0.2)  # Fibonacci 1, capped at 0.5, + up to 0.2
    st.sync()
    assert 0.5 - 0.05 <= st.ytime() - before <= 0.7 + 1, st.ytime() - before


def test_retry_max_attempts_0_never_gives_up(tmp_path):
    conf = write_config(tmp_path, "pytest", 1, ["do_post_pytest_thing_v1"],
                        extra={"jobs": {"retry_max_attempts": 0}})
    manager = gearbox.JobManager(str(conf))
    job = manager.job("do_post_pytest_thing_v1")
    st = job.run().status()
    for _ in range(30):
        manager.retry(job, 1, 0)
    st.sync()
    assert st.failures() == 30 and not st.has_completed()


def test_rest_jobs_through_c(jm):
    import http.server
    import threading

    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            seen.append((self.command, self.path, self.rfile.read(length).decode()))
            body = json.dumps({"method": self.command}).encode()
            self.send_response(201 if self.command == "POST" else 200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = "http://127.0.0.1:%d/svc/v1/thing/x" % server.server_address[1]
        get = jm.job(gearbox.HttpClient.METHOD_GET, url)
        assert get.is_rest() and get.rest_method() == gearbox.METHOD_GET and get.rest_uri() == url
        resp = get.run()  # the C call waits without the GIL: the server thread answers
        assert resp.code() == 200 and resp.json_content() == {"method": "GET"}
        assert resp.headers().get("Content-Type") == "application/json" and resp.status() is None
        post = jm.job("POST", url).content('{"a": 1}')
        assert post.run().code() == 201
        assert seen == [("GET", "/svc/v1/thing/x", ""), ("POST", "/svc/v1/thing/x", '{"a": 1}')]
        # Only to the job's gateway and jobs.rest_hosts: refused before anything is sent.
        with pytest.raises(gearbox.ERR_FORBIDDEN):
            jm.job("GET", url.replace("127.0.0.1", "localhost")).run()
        assert len(seen) == 2
    finally:
        server.shutdown()
        server.server_close()


def test_objects_keep_their_parents_alive(tmp_path):
    conf = write_config(tmp_path, "pytest", 1, ["do_get_pytest_thing_v1"])
    sm = gearbox.StatusManager(str(conf))
    s = sm.create(operation="create")
    del sm
    gc.collect()
    s.progress(5)  # the store is still open
    assert s.progress() == 5

    worker = gearbox.Worker(str(conf))
    cfg = worker.cfg()
    sm2 = worker.status_manager()
    del worker
    gc.collect()
    assert cfg.get_string("component") == "pytest"
    assert sm2.fetch(s.name()).progress() == 5


def test_constants_on_classes_and_module():
    assert gearbox.WORKER_SUCCESS == gearbox.Worker.WORKER_SUCCESS == 0
    assert gearbox.WORKER_ERROR == gearbox.Worker.WORKER_ERROR == 1
    assert gearbox.WORKER_CONTINUE == gearbox.Worker.WORKER_CONTINUE == 2
    assert gearbox.WORKER_RETRY == gearbox.Worker.WORKER_RETRY == 3
    assert gearbox.JOB_ASYNC == gearbox.Job.JOB_ASYNC != gearbox.JOB_SYNC
    events = [getattr(gearbox.Job, "EVENT_" + e) for e in
              ("COMPLETED", "FAILED", "SUCCEEDED", "STARTED", "STOPPED", "CANCELLED")]
    assert len(set(events)) == 6 and gearbox.EVENT_FAILED == gearbox.Job.EVENT_FAILED
    for st in ("PENDING", "RUNNING", "COMPLETED", "STOPPING", "STOPPED", "CANCELLING", "CANCELLED"):
        assert gearbox.Status.state2str(getattr(gearbox.Status, "STATE_" + st)) == st
        assert getattr(gearbox, "STATE_" + st) == getattr(gearbox.Status, "STATE_" + st)
    assert gearbox.EVENT_PRECANCEL == gearbox.Status.EVENT_PRECANCEL
    methods = [getattr(gearbox.HttpClient, "METHOD_" + m) for m in ("GET", "DELETE", "POST", "PUT", "HEAD")]
    assert len(set(methods)) == 5 and gearbox.METHOD_PUT == gearbox.HttpClient.METHOD_PUT


def test_worker_config_errors(tmp_path):
    missing = tmp_path / "nope.conf"
    with pytest.raises(gearbox.ERR_NOT_FOUND,
                       match="^cannot open config %s: No such file or directory$" % re.escape(str(missing))):
        gearbox.Worker(str(missing))
    conf = write_config(tmp_path, "pytest", 1, [])
    w = gearbox.Worker(str(conf))
    with pytest.raises(AttributeError):
        w.register_handler("do_get_pytest_nothing_v1")
    with pytest.raises(gearbox.ERR_INTERNAL_SERVER_ERROR):
        w.run()  # no handlers
    w.close()
    with pytest.raises(ReferenceError):
        w.request_count()


# Every way a worker program hands its config over: a path, its argv with
# PROG CONFIG, PROG --config CONFIG or PROG --config=CONFIG; the core
# (gbx_config_path_from_args) picks the path.
def test_worker_takes_a_path_or_the_programs_argv(tmp_path, monkeypatch):
    conf = write_config(tmp_path / "conf", "pytest", 1, [])
    monkeypatch.chdir(tmp_path)
    rel = "conf/pytest.conf"
    for given in (str(conf), conf, rel, "--config=" + rel,
                  ["w.py", rel], ["w.py", "--config", rel], ["w.py", "--config=" + rel],
                  ("w.py", "--max-requests", "3", "--config", str(conf))):
        w = gearbox.Worker(given)
        assert w.cfg().get_string("component") == "pytest", given
        assert w.cfg().dir() == str(conf.parent), given
        w.close()


@pytest.mark.parametrize("given, message", [
    ("--config", '^"--config" is an option, not a config file: give the worker the program\'s arguments'),
    (["w.py"], "^w.py: no config given: run it as w.py CONFIG or w.py --config CONFIG$"),
    (["w.py", "--config"], "^w.py: --config needs a path after it$"),
    (["w.py", "--log-level", "debug"], "^w.py: no config given"),
    (["w.py", "--config", "a.conf", "--config=b.conf"], '^w.py: --config given twice \\("a.conf" and "b.conf"\\)$'),
])
def test_worker_names_what_is_wrong_with_its_arguments(given, message):
    with pytest.raises(gearbox.ERR_BAD_REQUEST, match=message):
        gearbox.Worker(given)


def test_worker_names_a_missing_config_given_with_config(tmp_path):
    missing = tmp_path / "missing.conf"
    with pytest.raises(gearbox.ERR_NOT_FOUND, match="^cannot open config %s: No such file" % re.escape(str(missing))):
        gearbox.Worker(["w.py", "--config", str(missing)])
