#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""worker_compat.py - the compat test worker in Python: the Perl and PHP
workers beside it (Gearbox's style) on the Python binding, for the compat
stack test (tests/compat/test_compat.py).  Component "compatpython", served
under /python/compat.  Usage: worker_compat.py CONFIG_FILE
(PYTHONPATH: <build>/bindings/python)."""

import fcntl
import json
import os
import re
import sys
import time

import gearbox

C = "compatpython"


class CompatWorker(gearbox.Worker):
    def __init__(self, config):
        super().__init__(config)
        self.marks = self.cfg().get_path("compat.state_dir", "state/" + C)
        os.makedirs(self.marks, exist_ok=True)
        # resources of the REST API
        for op, resource in (("get", "thing"), ("put", "thing"), ("get", "mark"), ("put", "mark"),
                             ("post", "graph"), ("post", "agents"), ("post", "hello2"),
                             ("post", "continuation"), ("post", "retry"), ("get", "error"),
                             ("get", "syncstatus"), ("get", "metrics")):
            self.register_handler("do_%s_%s_%s_v1" % (op, C, resource))
        # internal handlers: agents and continuations
        for agent in "ABS":
            self.register_handler("do_reg_%s_%s_v1" % (C, agent), self.agent_handler)
        self.register_handler("do_run_%s_continuation_v1" % C)
        self.register_handler("do_finish_%s_continuation_v1" % C)
        self.register_handler("do_append_%s_note_v1" % C)

    # Every job that reaches a "mark" appends its handler name to the marks
    # of an id (a file per id), which GET /mark/<id> returns in order.
    def mark(self, mark_id, what):
        if not isinstance(mark_id, str) or not re.fullmatch(r"[A-Za-z0-9_-]+", mark_id):
            raise gearbox.ERR_BAD_REQUEST("invalid id")
        with open(os.path.join(self.marks, mark_id), "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            f.write(what + "\n")

    @staticmethod
    def body(job):
        content = job.content()
        return json.loads(content) if content else {}

    def do_get_compatpython_thing_v1(self, job, resp):
        resp.content(json.dumps({"thing": job.resource_name(), "component": C}))
        return gearbox.WORKER_SUCCESS

    def do_put_compatpython_thing_v1(self, job, resp):
        resp.status().add_message("stored " + job.resource_name())
        return gearbox.WORKER_SUCCESS

    def do_get_compatpython_mark_v1(self, job, resp):
        try:
            with open(os.path.join(self.marks, job.resource_name())) as f:
                marks = f.read().splitlines()
        except FileNotFoundError:
            marks = []
        resp.content(json.dumps({"marks": marks}))
        return gearbox.WORKER_SUCCESS

    # The target of a REST entry of the graphs.
    def do_put_compatpython_mark_v1(self, job, resp):
        self.mark(job.resource_name(), "rest " + job.name())
        resp.status().add_message("marked")
        return gearbox.WORKER_SUCCESS

    # POST /graph/<id> {"agents": GRAPH}: the graph through job_queue in
    # Gearbox's object form, each job given {"id": <id>}.
    def do_post_compatpython_graph_v1(self, job, resp):
        jm = self.job_manager()
        queue = jm.job_queue(self.body(job)["agents"])
        jm.job_queue_apply(queue, "content", json.dumps({"id": job.resource_name()}))
        jm.job_queue_run(queue)
        resp.status().add_message("done")
        return gearbox.WORKER_SUCCESS

    # POST /agents/<id> {"agents": GRAPH}: the same graph run by the global
    # agents runner, which this worker does not serve.
    def do_post_compatpython_agents_v1(self, job, resp):
        run = self.job_manager().job("do_run_global_agents_v1")
        run.content(json.dumps({"agents": self.body(job)["agents"],
                                "content": json.dumps({"id": job.resource_name()})}))
        s = run.run().status()
        self.job_manager().wait(s, 120)
        s.sync()
        if not s.is_success():
            raise gearbox.error_class(s.code())(s.messages()[-1])
        resp.status().add_message("done")
        return gearbox.WORKER_SUCCESS

    def agent_handler(self, job, resp):
        mark_id = json.loads(job.content())["id"]
        self.mark(mark_id, job.name() + (" sync" if job.type() == gearbox.JOB_SYNC else ""))
        resp.status().add_message("%s registered for %s" % (job.resource_type(), mark_id))
        resp.status().meta(job.resource_type(), mark_id)
        return gearbox.WORKER_SUCCESS

    # Served synchronously under the nested location /python/compat/v1/hello2.
    def do_post_compatpython_hello2_v1(self, job, resp):
        resp.content(json.dumps({"hello": "hello2", "handler": job.name(),
                                 "sync": job.type() == gearbox.JOB_SYNC}))
        return gearbox.WORKER_SUCCESS

    # A continuation: do_run retries until cancelled; do_finish, its
    # on-completed job, finishes this status.
    def do_post_compatpython_continuation_v1(self, job, resp):
        run = self.job_manager().job("do_run_%s_continuation_v1" % C)
        finish = gearbox.Job(job)
        finish.name("do_finish_%s_continuation_v1" % C)
        run.on(gearbox.Job.EVENT_COMPLETED, finish)
        self.afterwards(run)
        return gearbox.WORKER_CONTINUE

    def do_run_compatpython_continuation_v1(self, job, resp):
        resp.status().add_message("run called")
        self.job_manager().retry(job, 5, 0)
        return gearbox.WORKER_CONTINUE

    def do_finish_compatpython_continuation_v1(self, job, resp):
        resp.status().add_message("finish called")
        return gearbox.WORKER_SUCCESS

    # POST /retry/<id> {"max_delay": D, "max_jitter": J}: retries for ever
    # with Gearbox's arguments; each attempt notes when the next one is due.
    def do_post_compatpython_retry_v1(self, job, resp):
        args = self.body(job)
        s = resp.status()
        s.add_message("attempt %d" % (s.failures() + 1))
        self.job_manager().retry(job, args["max_delay"], args["max_jitter"])
        s.sync()
        s.add_message("next in %.3f" % (s.ytime() - time.time()))
        return gearbox.WORKER_CONTINUE

    # GET /error/<NAME>: raises ERR_<NAME>.
    def do_get_compatpython_error_v1(self, job, resp):
        name = "ERR_" + job.resource_name()
        raise getattr(gearbox, name)("raised " + name)

    # A sync handler reporting to its (throw-away) status.
    def do_get_compatpython_syncstatus_v1(self, job, resp):
        s = resp.status()
        s.add_message("sync message")
        s.progress(50)
        s.meta("sync", "yes")
        resp.content(json.dumps({"name": s.name(), "progress": s.progress(), "messages": s.messages()}))
        return gearbox.WORKER_SUCCESS

    def do_get_compatpython_metrics_v1(self, job, resp):
        gearbox.Scoreboard.initialize(C)
        sb = gearbox.Scoreboard.get_scoreboard()
        sb.increment_counter("status", C)
        sw = gearbox.StopWatch()
        sw.start()
        time.sleep(0.01)
        sw.stop()
        sb.update_duration_hours("status", C, "duration_success", sw)
        resp.content(json.dumps({"metrics": "updated"}))
        return gearbox.WORKER_SUCCESS

    def do_append_compatpython_note_v1(self, job, resp):
        resp.status().add_message("noted")
        return gearbox.WORKER_SUCCESS


if __name__ == "__main__":
    CompatWorker(sys.argv[1]).run()
