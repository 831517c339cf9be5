# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""Handlers run through a real gearmand with a real SQLite store: results,
error mapping both ways, async statuses, hooks, borrowed objects, the GIL,
and interrupts."""

import json
import threading

import pytest

import gearbox

from conftest import BOUND, GearmanClient, envelope, write_config

SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"},
                                           "d": {"type": "string", "optional": True,
                                                 "default": "filled"}}}


class PyWorker(gearbox.Worker):
    def __init__(self, config):
        super().__init__(config)
        self.seen = []
        self.kept = None
        for name in ("do_get_pytest_thing_v1", "do_post_pytest_thing_v1",
                     "do_put_pytest_thing_v1", "do_delete_pytest_thing_v1"):
            self.register_handler(name)
        self.register_handler("do_get_pytest_lambda_v1",
                              lambda job, resp: resp.content("lambda " + job.arguments()[0]) or 0)

    def pre_request(self, job):
        self.seen.append(("pre", job.name()))

    def post_request(self, job):
        self.seen.append(("post", job.name()))

    def do_get_pytest_thing_v1(self, job, resp):
        self.kept = (job, resp)
        what = job.arguments()[0] if job.arguments() else ""
        if what == "missing":
            raise gearbox.ERR_NOT_FOUND('thing "%s" not found' % what)
        if what == "crash":
            raise ValueError("bad value in handler")
        if what == "teapot":
            raise gearbox.GearboxError("short and stout", 418)
        if what == "badreturn":
            return "yes"
        if what == "interrupt":
            raise KeyboardInterrupt()
        resp.code(203)
        resp.add_header("X-Thing", what)
        resp.content(json.dumps({"thing": what, "q": job.query_params(), "h": job.headers()}))
        return gearbox.WORKER_SUCCESS

    def do_put_pytest_thing_v1(self, job, resp):
        body = job.json_content()
        status = job.status()
        status.progress(30)
        status.add_message("body %s" % json.dumps(body, sort_keys=True))
        assert resp.status().name() == status.name()
        resp.content(json.dumps(body))
        return gearbox.WORKER_SUCCESS

    def do_post_pytest_thing_v1(self, job, resp):
        job.status().add_message("going to fail")
        raise gearbox.ERR_CONFLICT("thing %s is busy" % job.arguments()[0])

    def do_delete_pytest_thing_v1(self, job, resp):
        job.status().add_message("continuing")
        return gearbox.WORKER_CONTINUE


@pytest.fixture
def stack(tmp_path, gearmand):
    conf = write_config(tmp_path, "pytest", gearmand,
                        ["do_get_pytest_thing_v1"],
                        schemas={"create-pytest-thing-v1.js": SCHEMA})
    worker = PyWorker(str(conf))
    client = GearmanClient(gearmand)
    sm = gearbox.StatusManager(str(conf))
    yield worker, client, sm
    client.close()
    worker.close()


def serve_one(worker):
    assert worker.work_once(int(BOUND * 1000)) is True


def sync_call(worker, client, name, *args, **extra):
    handle = client.submit(name, envelope(name, arguments=args, **extra))
    serve_one(worker)
    return client.reply(handle)


def test_sync_success_with_code_headers_and_content(stack):
    worker, client, _ = stack
    reply = sync_call(worker, client, "do_get_pytest_thing_v1", "w1",
                      query_params={"a": "1"}, headers={"x-h": "v"})
    assert reply["code"] == 203 and reply["headers"] == {"X-Thing": "w1"}
    assert json.loads(reply["content"]) == {"thing": "w1", "q": {"a": "1"}, "h": {"x-h": "v"}}
    assert worker.request_count() == 1
    assert ("pre", "do_get_pytest_thing_v1") in worker.seen and ("post", "do_get_pytest_thing_v1") in worker.seen
    reply = sync_call(worker, client, "do_get_pytest_lambda_v1", "z")
    assert reply["code"] == 0 and reply["content"] == "lambda z"


def test_handler_objects_are_invalid_after_the_call(stack):
    worker, client, _ = stack
    sync_call(worker, client, "do_get_pytest_thing_v1", "keep")
    job, resp = worker.kept
    with pytest.raises(ReferenceError):
        job.name()
    with pytest.raises(ReferenceError):
        resp.content("late")
    assert "invalid" in repr(job)


@pytest.mark.parametrize("what, code, text", [
    ("missing", 404, 'NOT_FOUND [404]: thing "missing" not found'),
    ("crash", 500, "INTERNAL_SERVER_ERROR [500]: bad value in handler"),
    ("teapot", 418, "ERROR [418]: short and stout"),
    ("badreturn", 500, "returned yes instead of WORKER_SUCCESS"),
])
def test_sync_errors(stack, what, code, text):
    worker, client, _ = stack
    reply = sync_call(worker, client, "do_get_pytest_thing_v1", what)
    assert reply["code"] == code
    body = json.loads(reply["content"])
    assert body["code"] == code and text in body["messages"][0]
    assert reply["headers"]["Content-Type"] == "application/json"


def async_call(worker, client, sm, name, *args, content=""):
    s = sm.create(operation="create", component="pytest",
                  uri="http://127.0.0.1:4080/pytest/v1/thing/" + (args[0] if args else ""),
                  status_base="http://127.0.0.1:4080/pytest/v1/status")
    client.submit(name, envelope(name, job_type="async", arguments=args, content=content,
                                 status=s.name()), background=True)
    serve_one(worker)
    s.sync()
    return s


def test_async_success_validates_and_reports(stack):
    worker, client, sm = stack
    s = async_call(worker, client, sm, "do_put_pytest_thing_v1", "a1", content='{"n": 5}')
    assert s.has_completed() and s.is_success() and s.code() == 0
    assert s.messages() == ['body {"d": "filled", "n": 5}']
    assert s.concurrency() == 0


def test_async_schema_violation_fails_with_400(stack):
    worker, client, sm = stack
    s = async_call(worker, client, sm, "do_put_pytest_thing_v1", "a2", content='{"n": "five"}')
    assert s.code() == 400 and s.messages()[-1].startswith("BAD_REQUEST [400]: ")


def test_async_error_class_fails_the_status(stack):
    worker, client, sm = stack
    s = async_call(worker, client, sm, "do_post_pytest_thing_v1", "b1")
    assert s.has_completed() and s.code() == 409
    assert s.messages() == ["going to fail", "CONFLICT [409]: thing b1 is busy"]


def test_async_continue_leaves_the_status_open(stack):
    worker, client, sm = stack
    s = async_call(worker, client, sm, "do_delete_pytest_thing_v1", "c1")
    assert not s.has_completed() and s.state() == gearbox.STATE_RUNNING
    assert s.messages() == ["continuing"]


def test_run_releases_the_gil_and_stops_at_max_requests(stack):
    worker, client, _ = stack
    worker.max_requests(worker.request_count() + 3)
    errors = []

    def serve():
        try:
            worker.run()
        except BaseException as e:  # reported below
            errors.append(e)

    thread = threading.Thread(target=serve)
    thread.start()
    # The client runs in this thread while run() waits in C: it can only
    # submit if run() released the GIL.
    handles = [client.submit("do_get_pytest_thing_v1", envelope("do_get_pytest_thing_v1", arguments=["t%d" % i]))
               for i in range(3)]
    replies = [client.reply(h) for h in handles]
    thread.join(BOUND)
    assert not thread.is_alive() and not errors
    assert sorted(json.loads(r["content"])["thing"] for r in replies) == ["t0", "t1", "t2"]


def test_interrupt_in_handler_fails_the_job_and_stops_run(stack):
    worker, client, _ = stack
    handle = client.submit("do_get_pytest_thing_v1", envelope("do_get_pytest_thing_v1", arguments=["interrupt"]))
    with pytest.raises(KeyboardInterrupt):
        worker.run()
    reply = client.reply(handle)
    assert reply["code"] == 500 and "KeyboardInterrupt" in json.loads(reply["content"])["messages"][0]


def test_sync_handler_status_is_a_throw_away_status(stack):
    """resp.status() in a sync handler: a working status (Gearbox's "st-"),
    kept in memory only; the answer is 200 and the store gets nothing."""
    worker, client, sm = stack
    seen = {}

    def handler(job, resp):
        st = resp.status()
        st.add_message("halfway")
        st.progress(50)
        st.meta("sheep", 3)
        seen.update(name=st.name(), messages=st.messages(), progress=st.progress(),
                    meta=st.meta(), state=st.state(), job_status=job.status())
        resp.content("ok")
        return gearbox.WORKER_SUCCESS

    worker.register_handler("do_get_pytest_status_v1", handler)
    before = sm.list(count=1000)
    reply = sync_call(worker, client, "do_get_pytest_status_v1", "s1")
    assert reply["code"] == 0 and reply["content"] == "ok"
    assert seen["name"].startswith("st-")
    assert seen["messages"] == ["halfway"] and seen["progress"] == 50
    assert seen["meta"] == {"sheep": 3} and seen["state"] == gearbox.Status.STATE_RUNNING
    assert seen["job_status"] is None
    assert sm.list(count=1000) == before
    with pytest.raises(gearbox.ERR_NOT_FOUND):
        sm.fetch(seen["name"])


def test_set_retryable_names_a_registered_handler(stack):
    worker, _, _ = stack
    worker.set_retryable("do_get_pytest_thing_v1", False)
    worker.set_retryable("do_get_pytest_thing_v1")
    with pytest.raises(gearbox.ERR_NOT_FOUND, match="not registered"):
        worker.set_retryable("do_get_pytest_nowhere_v1", False)
