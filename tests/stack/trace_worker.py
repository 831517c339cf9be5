# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""trace_worker.py --config CONF - jobs that show the W3C trace context
they run under, for test_trace.py.  Each handler keeps what it saw in its
status's meta under "seen" (a continuation under "seen_next"):
{"traceparent", "tracestate", "trace_id", "header"} (header: the request's
own traceparent header as the envelope keeps it).

  PUT /<prefix>/v1/hop/<name>  {"child": bool, "continue": bool, "rest": bool}
      "child": runs an async child job (PUT .../leaf/<name>-leaf);
      "rest": PUTs .../leaf/<name>-rest through the gateway (a REST child);
      "continue": queues do_next_<c>_hop_v1 with afterwards() (a
      continuation of this status) and returns CONTINUE.
  PUT /<prefix>/v1/leaf/<name>  records what it saw.
  GET /<prefix>/v1/hop/<name>   sync: answers what it saw as JSON.
"""

import argparse
import json

import gearbox


def seen(job):
    return {"traceparent": job.traceparent(), "tracestate": job.tracestate(),
            "trace_id": job.trace_id(), "header": job.headers().get("traceparent")}


class TraceWorker(gearbox.Worker):
    def __init__(self, config):
        super().__init__(config)
        self.component = self.cfg().get_string("component")
        c = self.component
        self.register_handler("do_put_%s_hop_v1" % c, self.do_put_hop)
        self.register_handler("do_next_%s_hop_v1" % c, self.do_next_hop)
        self.register_handler("do_put_%s_leaf_v1" % c, self.do_put_leaf)
        self.register_handler("do_get_%s_hop_v1" % c, self.do_get_hop)

    def do_get_hop(self, job, resp):
        resp.content(json.dumps(seen(job)))
        return gearbox.WORKER_SUCCESS

    def do_put_leaf(self, job, resp):
        resp.status().meta("seen", seen(job))
        return gearbox.WORKER_SUCCESS

    def do_put_hop(self, job, resp):
        body = job.json_content() or {}
        name = job.resource_name()
        status = resp.status()
        status.meta("seen", seen(job))
        jm = self.job_manager()
        if body.get("child"):
            child = jm.job("do_put_%s_leaf_v1" % self.component)
            child.resource_name(name + "-leaf")
            child.add_argument(name + "-leaf")
            child.run()
        if body.get("rest"):
            rest = jm.job("PUT", "%s/leaf/%s-rest" % (job.base_uri(), name))
            rest.content("{}")
            answer = jm.run(rest)
            if answer.code() != 202:
                raise gearbox.ERR_BAD_GATEWAY("the REST child answered %d" % answer.code())
        if body.get("continue"):
            self.afterwards(job, "do_next_%s_hop_v1" % self.component)
            return gearbox.WORKER_CONTINUE
        return gearbox.WORKER_SUCCESS

    def do_next_hop(self, job, resp):
        resp.status().meta("seen_next", seen(job))
        return gearbox.WORKER_SUCCESS


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    args = parser.parse_args()
    with TraceWorker(args.config) as worker:
        worker.run()


if __name__ == "__main__":
    main()
