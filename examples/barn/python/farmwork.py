# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""farmwork.py - the Python barn's orchestration handlers.

The same resources, handlers and messages as the C barn's farmwork.c, under
the component of the config (examples/barn/conf/barnpython.conf:
"barnpython"; below <c>).  Each shows one thing a worker does beyond
answering its own request (docs/orchestration.md):

  PUT /python/barn/v1/chore/<name>    a continuation chain: feed -> milk -> sweep
                                      (do_put/do_milk/do_sweep_<c>_chore_v1) share one status
  PUT /python/barn/v1/family/<name>   a parent with a local child (a piglet here) and a
                                      REST child (a calf in the barn next door)
  PUT /python/barn/v1/litter/<name>   an event continuation: the child's COMPLETED event
                                      runs a copy of the parent job, which completes it
  PUT /python/barn/v1/alarm/<name>    a delayed job (afterwards with a delay, or delay())
  PUT /python/barn/v1/mule/<name>     WORKER_RETRY until the mule moves
  PUT /python/barn/v1/field/<name>    a long job that can be cancelled: checkpoints, an
                                      on-CANCEL compensation, an optional PRECANCEL veto
  POST|DELETE /python/barn/v1/agents  the built-in agents runner; agents do_agent_<c>_<x>_v1

Farmwork is a mixin of the barn's worker class (barn_worker.py): it uses the
worker's note(), progress() and body_object() helpers.
"""

import json
import time

import gearbox

# Seconds a parent waits for its children.
CHILD_TIMEOUT = 120.0
DEFAULT_NEIGHBOUR = "/python/barn"


def need_name(job):
    """The name in the URL (…/<resource>/<name>); 400 if there is none."""
    name = job.resource_name()
    if not name:
        args = job.arguments()
        name = args[0] if args else None
    if not name:
        raise gearbox.ERR_BAD_REQUEST("the URL must name the %s: /barn/v1/%s/<name>"
                                      % (job.resource_type(), job.resource_type()))
    return name


def status_uri_of(resp, what):
    """The status URI a 202 answer carries (a child's; the job manager takes
    it from the answer: an async job's own status, a REST job's body or
    Location)."""
    if resp.code() != 202:
        raise gearbox.error_class(resp.code() if resp.code() >= 400 else 502)(
            "%s answered %d: %s" % (what, resp.code(), resp.content()[:300]))
    uri = resp.status_uri()
    if not uri:
        raise gearbox.ERR_BAD_GATEWAY("the answer (%d) carries no status_uri" % resp.code())
    return uri


class Farmwork:
    """The orchestration handlers, mixed into the barn's Worker class."""

    def register_farmwork(self, component):
        cfg = self.cfg()
        self.component = component
        self.neighbour = cfg.get_string("barn.neighbour", DEFAULT_NEIGHBOUR)
        self.jm = self.job_manager()
        handlers = {
            "do_put_%s_chore_v1": self.do_put_chore,
            "do_milk_%s_chore_v1": self.do_milk_chore,
            "do_sweep_%s_chore_v1": self.do_sweep_chore,
            "do_put_%s_family_v1": self.do_put_family,
            "do_put_%s_litter_v1": self.do_put_litter,
            "do_count_%s_litter_v1": self.do_count_litter,
            "do_put_%s_alarm_v1": self.do_put_alarm,
            "do_ring_%s_alarm_v1": self.do_ring_alarm,
            "do_put_%s_mule_v1": self.do_put_mule,
            "do_put_%s_field_v1": self.do_put_field,
            "do_restore_%s_field_v1": self.do_restore_field,
            "do_guard_%s_field_v1": self.do_guard_field,
        }
        for letter in "abcd":
            handlers["do_agent_%%s_%s_v1" % letter] = self.do_agent
        for pattern, handler in handlers.items():
            self.register_handler(pattern % component, handler)
        # The built-in runner; DELETE runs the levels in reverse.
        self.register_agents("do_post_%s_agents_v1" % component)
        self.register_agents("do_delete_%s_agents_v1" % component)

    # ---- helpers --------------------------------------------------------------

    def handler(self, method, resource):
        return "do_%s_%s_%s_v1" % (method, self.component, resource)

    def new_job(self, handler, name, body=None):
        """A new async job for ``handler`` about ``name`` with ``body``."""
        job = self.jm.job(handler)
        job.resource_name(name)
        job.add_argument(name)
        if body is not None:
            job.content(json.dumps(body))
        return job

    def neighbour_uri(self, job, path):
        """"http://host:port" of the job's base_uri + the neighbour's prefix + "/v1/" + path."""
        base = job.base_uri() or ""
        scheme = base.find("://")
        if scheme < 0:
            raise gearbox.ERR_INTERNAL_SERVER_ERROR("the job has no base_uri to find the barn next door")
        slash = base.find("/", scheme + 3)
        origin = base if slash < 0 else base[:slash]
        return "%s%s/v1/%s" % (origin, self.neighbour, path)

    def rest_job(self, job, path, body):
        rest = self.jm.job("PUT", self.neighbour_uri(job, path))
        rest.content(json.dumps(body))
        return rest

    def wait_child(self, status_uri, what):
        """Waits for a child; a failed child's code and last message become ours."""
        child = self.jm.status(status_uri)
        self.jm.wait(child, CHILD_TIMEOUT)
        if not child.is_success():
            messages = child.messages()
            code = child.code()
            raise gearbox.error_class(code if code >= 400 else 500)(
                "%s failed: %s" % (what, messages[-1] if messages else "no message"))

    # ---- chore: a continuation chain -------------------------------------------

    def chore_step(self, job, step, done, next_step, percent):
        """One step of a chore.  The next step is queued with afterwards()
        before anything can fail: when the step then fails ({"fail": step}),
        the worker drops the queue and the next step never runs."""
        name = need_name(job)
        fails = self.body_object(job).get("fail") == step
        if next_step:
            self.afterwards(job, self.handler(next_step, "chore"))
        if fails:
            raise gearbox.ERR_CONFLICT("chore %s: the %s went wrong" % (name, step))
        self.note(job, "chore %s: %s" % (name, done))
        if not next_step:
            return gearbox.WORKER_SUCCESS  # the last step completes the status
        self.progress(job, percent)
        return gearbox.WORKER_CONTINUE

    def do_put_chore(self, job, resp):
        """PUT …/chore/<name> [{"fail": "feed"|"milk"|"sweep"}]"""
        return self.chore_step(job, "feed", "the animals are fed", "milk", 33)

    def do_milk_chore(self, job, resp):
        return self.chore_step(job, "milk", "the cow is milked", "sweep", 66)

    def do_sweep_chore(self, job, resp):
        return self.chore_step(job, "sweep", "the barn is swept", None, 100)

    # ---- family: a local child and a REST child --------------------------------

    def do_put_family(self, job, resp):
        """PUT …/family/<name> [{"orphan": true}]: a piglet "<name>-piglet" in
        this barn (a local async job) and a calf "<name>-calf" next door (a
        REST job through the gateway), both children of the family's status;
        the family waits for them and fails with a failed child's code.
        "orphan" makes the piglet an update of a missing animal (404)."""
        name = need_name(job)
        orphan = bool(self.body_object(job).get("orphan"))
        piglet, calf = name + "-piglet", name + "-calf"
        if orphan:
            local = self.new_job(self.handler("post", "animal"), piglet)
            local.operation("update")  # a job for a POST handler creates by default
        else:
            local = self.new_job(self.handler("put", "animal"), piglet, {"name": piglet})
        local_status = status_uri_of(local.run(), local.name())
        rest = self.rest_job(job, "animal/" + calf, {"name": calf})
        rest_status = status_uri_of(rest.run(), rest.rest_uri())
        self.note(job, "family %s: waiting for the piglet and the calf" % name)
        self.wait_child(local_status, "the piglet")
        self.wait_child(rest_status, "the calf")
        self.note(job, "family %s: the piglet and the calf are born" % name)
        return gearbox.WORKER_SUCCESS

    # ---- litter: an event continuation ------------------------------------------

    def do_put_litter(self, job, resp):
        """PUT …/litter/<name>: a child (the kit "<name>-kit") whose COMPLETED
        event runs a copy of this job renamed to do_count_<c>_litter_v1; the
        copy shares this job's status: a continuation that waits for the
        child without holding a worker."""
        name = need_name(job)
        kit = name + "-kit"
        child = self.new_job(self.handler("put", "animal"), kit, {"name": kit})
        then = gearbox.Job(job)
        then.name(self.handler("count", "litter"))
        child.on(gearbox.EVENT_COMPLETED, then)
        status_uri_of(child.run(), child.name())
        self.note(job, "litter %s: waiting for the kit" % name)
        return gearbox.WORKER_CONTINUE

    def do_count_litter(self, job, resp):
        """The event job: event_status is the kit's status."""
        name = need_name(job)
        kit = job.event_status()
        if kit is None:
            raise gearbox.ERR_BAD_REQUEST("litter %s: not started by an event" % name)
        code = kit.code()
        self.note(job, "litter %s: %s completed with code %d" % (name, kit.uri(), code))
        if code != 0:
            raise gearbox.error_class(code if code >= 400 else 500)("litter %s: the kit failed" % name)
        return gearbox.WORKER_SUCCESS

    # ---- alarm: delayed jobs ------------------------------------------------------

    def do_put_alarm(self, job, resp):
        """PUT …/alarm/<name> [{"seconds": 5, "child": false}]: rings after
        ``seconds``, as a continuation of this job (afterwards with a delay:
        the status stays RUNNING and shows ytime), or with "child" as a new
        job run with delay() (a child status, PENDING with ytime)."""
        name = need_name(job)
        body = self.body_object(job)
        seconds = body.get("seconds", 5)
        self.note(job, "alarm %s: set at %.3f for %g s" % (name, time.time(), seconds))
        if not body.get("child"):
            self.afterwards(job, self.handler("ring", "alarm"), seconds)
            return gearbox.WORKER_CONTINUE
        self.jm.delay(self.new_job(self.handler("ring", "alarm"), name), seconds)
        return gearbox.WORKER_SUCCESS

    def do_ring_alarm(self, job, resp):
        self.note(job, "alarm %s: rang at %.3f" % (need_name(job), time.time()))
        return gearbox.WORKER_SUCCESS

    # ---- mule: retries --------------------------------------------------------------

    def do_put_mule(self, job, resp):
        """PUT …/mule/<name> [{"refusals": 2}]: WORKER_RETRY ``refusals``
        times (the job runs again after 1, 1, 2, 3, 5 … s); every attempt
        adds its time.  After jobs.retry_max_attempts failures the status
        fails with "… gave up after N attempts: …"."""
        name = need_name(job)
        refusals = self.body_object(job).get("refusals", 2)
        attempt = job.status().failures() + 1
        self.note(job, "mule %s: attempt %d at %.3f" % (name, attempt, time.time()))
        if attempt <= refusals:
            return gearbox.WORKER_RETRY
        self.note(job, "mule %s: moves at last" % name)
        return gearbox.WORKER_SUCCESS

    # ---- field: a long job that can be cancelled ----------------------------------

    def do_put_field(self, job, resp):
        """PUT …/field/<name> [{"rows": 10, "row_seconds": 0.5,
        "restore_seconds": 0, "guarded": false, "helpers": 0, "neighbours": 0}]:
        ploughs ``rows`` rows with a checkpoint() before each, so that a
        cancellation stops it at the next row.  The status's CANCEL job
        (do_restore_<c>_field_v1) is the compensation; with "guarded" its
        PRECANCEL job (do_guard_<c>_field_v1) vetoes every cancellation.
        Helper fields here and next door are children, cancelled with it."""
        name = need_name(job)
        body = self.body_object(job)
        status = job.status()
        rows = body.get("rows", 10)
        row_seconds = body.get("row_seconds", 0.5)
        restore_seconds = body.get("restore_seconds", 0)
        child_body = {"rows": rows, "row_seconds": row_seconds, "restore_seconds": restore_seconds}
        # The compensation, and the guard: stored with the status, run by a cancellation.
        status.on(gearbox.EVENT_CANCEL,
                  self.new_job(self.handler("restore", "field"), name, {"restore_seconds": restore_seconds}))
        if body.get("guarded"):
            status.on(gearbox.EVENT_PRECANCEL, self.new_job(self.handler("guard", "field"), name))
        # Helpers here and next door: children with fields of their own.
        for i in range(1, body.get("helpers", 0) + 1):
            helper = self.new_job(self.handler("put", "field"), "%s-helper%d" % (name, i), child_body)
            status_uri_of(helper.run(), helper.name())
        for i in range(1, body.get("neighbours", 0) + 1):
            rest = self.rest_job(job, "field/%s-neighbour%d" % (name, i), child_body)
            status_uri_of(rest.run(), rest.rest_uri())
        for row in range(1, rows + 1):
            status.checkpoint()  # raises ERR_GONE (410) once the field is being cancelled
            if row_seconds > 0:
                time.sleep(row_seconds)
            self.note(job, "field %s: row %d ploughed" % (name, row))
            self.progress(job, min(row * 100 // rows, 99))
        self.note(job, "field %s: all %d rows ploughed" % (name, rows))
        return gearbox.WORKER_SUCCESS

    def do_restore_field(self, job, resp):
        """The compensation (the field's CANCEL job)."""
        name = need_name(job)
        seconds = self.body_object(job).get("restore_seconds", 0)
        if seconds > 0:
            time.sleep(seconds)
        self.note(job, "field %s: restored" % name)
        return gearbox.WORKER_SUCCESS

    def do_guard_field(self, job, resp):
        """The veto (the guarded field's PRECANCEL job): failing stops the cancellation."""
        raise gearbox.ERR_CONFLICT("field %s is guarded: the ploughing goes on" % need_name(job))

    # ---- agents ------------------------------------------------------------------------

    def do_agent(self, job, resp):
        """An agent of the runner: adds "<LETTER> at progress <p>" to the
        runner's status (its parent), p being the runner's progress now.
        Content {"fail": "<letter>"} makes that agent fail with 409."""
        letter = job.resource_type() or "?"
        content = job.json_content()
        fails = isinstance(content, dict) and content.get("fail") == letter
        runner_uri = job.status().parent_uri()
        if not runner_uri:
            raise gearbox.ERR_BAD_REQUEST("agent %s: not started by an agents runner" % letter.upper())
        runner = self.jm.status(runner_uri)
        runner.add_message("%s at progress %d" % (letter.upper(), runner.progress()))
        if fails:
            raise gearbox.ERR_CONFLICT("agent %s failed as asked" % letter.upper())
        self.note(job, "agent %s done" % letter.upper())
        return gearbox.WORKER_SUCCESS
