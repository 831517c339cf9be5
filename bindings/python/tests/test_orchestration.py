# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""Orchestration from Python through a real gearmand and the C job manager:
sync runs answered by a worker thread, children, continuations with
afterwards(), job events, WORKER_RETRY, cancellation stopped at a
checkpoint (410) with a CANCEL compensation job, the built-in agents
runner, and job_queue / job_queue_run over a queue the caller changed.
The worker serves in this process; the scheduler step (JobManager.run_due,
the gateway's job) is pumped here too."""

import contextlib
import json
import threading
import time

import pytest

import gearbox

from conftest import BOUND, write_config


BASE = "http://127.0.0.1:4080/pytest/v1"
HANDLERS = [
    "do_get_pytest_echo_v1", "do_post_pytest_parent_v1", "do_put_pytest_child_v1",
    "do_post_pytest_step_v1", "do_put_pytest_step_v1", "do_post_pytest_retry_v1",
    "do_post_pytest_stop_v1", "do_delete_pytest_undo_v1", "do_post_pytest_evt_v1",
    "do_put_pytest_evtdone_v1", "do_post_pytest_farm_v1", "do_put_pytest_a_v1", "do_put_pytest_b_v1",
]


class OrchWorker(gearbox.Worker):
    def __init__(self, config):
        super().__init__(config)
        self.seen = []
        for name in HANDLERS:
            if name != "do_post_pytest_farm_v1":
                self.register_handler(name)
        self.register_agents("do_post_pytest_farm_v1")

    def do_get_pytest_echo_v1(self, job, resp):
        if job.arguments() == ["missing"]:
            raise gearbox.ERR_NOT_FOUND("no echo here")
        resp.content(json.dumps({"echo": job.arguments()}))
        return gearbox.WORKER_SUCCESS

    def do_post_pytest_parent_v1(self, job, resp):
        child = self.job_manager().job("do_put_pytest_child_v1").content(job.content())
        answer = child.run()
        job.status().add_message("started %s" % answer.status().name())
        return gearbox.WORKER_SUCCESS

    def do_put_pytest_child_v1(self, job, resp):
        job.status().add_message("child got %s" % job.content())
        return gearbox.WORKER_SUCCESS

    def do_post_pytest_step_v1(self, job, resp):
        job.status().add_message("step 1")
        self.afterwards(gearbox.Job(job), "do_put_pytest_step_v1")
        return gearbox.WORKER_CONTINUE

    def do_put_pytest_step_v1(self, job, resp):
        job.status().add_message("step 2")
        return gearbox.WORKER_SUCCESS

    def do_post_pytest_retry_v1(self, job, resp):
        self.seen.append(("retry", job.status().failures()))
        if job.status().failures() < 1:
            return gearbox.WORKER_RETRY
        return gearbox.WORKER_SUCCESS

    def do_post_pytest_stop_v1(self, job, resp):
        status = job.status()
        status.on(gearbox.EVENT_CANCEL, self.job_manager().job("do_delete_pytest_undo_v1"))
        self.seen.append(("cancel", status.cancel().operation()))
        status.checkpoint()  # raises ERR_GONE: the job stops
        self.seen.append(("not reached",))
        return gearbox.WORKER_SUCCESS

    def do_delete_pytest_undo_v1(self, job, resp):
        self.seen.append(("undo", job.status().parent_uri()))
        return gearbox.WORKER_SUCCESS

    def do_post_pytest_evt_v1(self, job, resp):
        return gearbox.WORKER_SUCCESS

    def do_put_pytest_evtdone_v1(self, job, resp):
        self.seen.append(("event", job.event_status().name(), job.event_status().code()))
        return gearbox.WORKER_SUCCESS

    def do_put_pytest_a_v1(self, job, resp):
        self.seen.append(("agent a", job.json_content()))
        return gearbox.WORKER_SUCCESS

    def do_put_pytest_b_v1(self, job, resp):
        self.seen.append(("agent b", job.json_content()))
        return gearbox.WORKER_SUCCESS


@pytest.fixture
def orch(tmp_path, gearmand):
    conf = write_config(tmp_path, "pytest", gearmand, HANDLERS)
    worker = OrchWorker(str(conf))
    jm = gearbox.JobManager(str(conf))
    jm.base_uri(BASE)
    yield worker, jm
    worker.close()


def pump(worker, jm, done, what):
    """Serves jobs and runs the scheduler step until done() holds."""
    deadline = time.monotonic() + BOUND
    while not done():
        assert time.monotonic() < deadline, "gave up waiting for " + what
        worker.work_once(100)
        jm.run_due()



@contextlib.contextmanager
def serving(worker):
    """A thread serves the worker's jobs while the block runs (the calls in
    it wait in C without the GIL)."""
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            worker.work_once(100)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(BOUND)


def completed(status):
    def check():
        status.sync()
        return status.has_completed()
    return check


def test_sync_run_is_answered_by_a_worker_thread(orch):
    worker, jm = orch
    worker.work_once(100)  # registers the handlers with gearmand
    with pytest.raises(gearbox.ERR_NOT_FOUND) as info:
        jm.job("do_get_pytest_unknown_v1")
    assert 'handler "do_get_pytest_unknown_v1" is not known' in str(info.value)
    with serving(worker):
        job = jm.job("do_get_pytest_echo_v1").type(gearbox.JOB_SYNC).add_argument("hi")
        resp = job.run()  # waits in C without the GIL while the thread serves it
        assert resp.code() in (0, 200) and resp.json_content() == {"echo": ["hi"]}
        with pytest.raises(gearbox.ERR_NOT_FOUND) as info:
            jm.job("do_get_pytest_echo_v1").type(gearbox.JOB_SYNC).add_argument("missing").run()
        assert "no echo here" in str(info.value)


def test_a_job_started_in_a_handler_is_a_child(orch):
    worker, jm = orch
    parent = jm.job("do_post_pytest_parent_v1").content("payload").run().status()
    pump(worker, jm, completed(parent), "the parent")
    assert parent.is_success() and len(parent.children()) == 1
    child = jm.status(parent.children()[0])
    pump(worker, jm, completed(child), "the child")
    assert child.parent_uri() == parent.uri() and child.parent().name() == parent.name()
    assert child.messages() == ["child got payload"]
    assert parent.messages() == ["started %s" % child.name()]


def test_afterwards_continues_the_same_status(orch):
    worker, jm = orch
    st = jm.job("do_post_pytest_step_v1").run().status()
    pump(worker, jm, completed(st), "both steps")
    assert st.is_success() and st.messages() == ["step 1", "step 2"]


def test_job_event_runs_with_event_status(orch):
    worker, jm = orch
    first = jm.job("do_post_pytest_evt_v1")
    first.on(gearbox.EVENT_COMPLETED, jm.job("do_put_pytest_evtdone_v1"))
    st = first.run().status()
    pump(worker, jm, lambda: any(s[0] == "event" for s in worker.seen), "the event job")
    assert ("event", st.name(), 0) in worker.seen


def test_worker_retry_runs_the_job_again(orch):
    worker, jm = orch
    st = jm.job("do_post_pytest_retry_v1").run().status()
    pump(worker, jm, completed(st), "the retried job")
    assert st.is_success() and st.failures() == 1
    assert [s for s in worker.seen if s[0] == "retry"] == [("retry", 0), ("retry", 1)]


def test_checkpoint_stops_a_cancelled_job_with_410(orch):
    worker, jm = orch
    st = jm.job("do_post_pytest_stop_v1").run().status()
    pump(worker, jm, lambda: st.sync() or st.state() == gearbox.STATE_CANCELLED, "the cancellation")
    assert st.code() == 410
    assert ("cancel", "update") in worker.seen and ("not reached",) not in worker.seen
    assert ("undo", st.uri()) in worker.seen  # the CANCEL job ran as a child of the target


def test_agents_runner(orch):
    worker, jm = orch
    content = {"agents": [{"name": "do_put_pytest_b_v1", "require": ["do_put_pytest_a_v1"]},
                          {"name": "do_put_pytest_a_v1"}],
               "content": {"k": 1}}
    st = jm.job("do_post_pytest_farm_v1").content(json.dumps(content)).run().status()
    pump(worker, jm, completed(st), "the agents")
    assert st.is_success(), st.to_dict()
    agents = [s for s in worker.seen if s[0].startswith("agent")]
    assert agents == [("agent a", {"k": 1}), ("agent b", {"k": 1})]
    assert len(st.children()) == 2


def test_job_queue_run_runs_what_the_caller_put_in_the_levels(orch):
    worker, jm = orch
    q = jm.job_queue([{"name": "do_put_pytest_b_v1", "require": "do_put_pytest_a_v1"},
                      {"name": "do_put_pytest_a_v1"}])
    assert type(q) is list and [[j.name() for j in level] for level in q] == [
        ["do_put_pytest_a_v1"], ["do_put_pytest_b_v1"]]
    jm.job_queue_apply(q, "content", json.dumps({"k": 1}))
    # The caller's way (Gearbox's): push a job onto level 2, add a level.
    q[1].append(jm.job("do_put_pytest_a_v1").content(json.dumps({"pushed": 2})))
    q.append([jm.job("do_put_pytest_b_v1").content(json.dumps({"pushed": 3}))])
    worker.work_once(100)  # registers the handlers with gearmand
    with serving(worker):
        jm.job_queue_run(q, BOUND)  # waits in C without the GIL while the thread serves
    agents = [s for s in worker.seen if s[0].startswith("agent")]
    assert agents[0] == ("agent a", {"k": 1})
    assert sorted(agents[1:3], key=str) == sorted([("agent b", {"k": 1}), ("agent a", {"pushed": 2})], key=str)
    assert agents[3:] == [("agent b", {"pushed": 3})]
