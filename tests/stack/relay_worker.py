# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""relay_worker.py --config CONF - a component that makes a REST child of the
URI a client names, to test where a worker's requests may go
(jobs.rest_hosts) and how they are verified (jobs.rest_ca_file):

  PUT /<prefix>/v1/call/<name>  {"uri": "https://...", "body": {...}, "wait": true}

The REST job PUTs "body" to "uri"; a 202 there makes the remote status a
child of this job's status, which waits for it when "wait" is true.  A
refused or failed request fails the job with the core's code and message.
"""

import argparse
import json

import gearbox


class RelayWorker(gearbox.Worker):
    def __init__(self, config):
        super().__init__(config)
        self.register_handler("do_put_%s_call_v1" % self.cfg().get_string("component"), self.do_put_call)

    def do_put_call(self, job, resp):
        body = job.json_content()
        jm = self.job_manager()
        rest = jm.job("PUT", body["uri"])
        rest.content(json.dumps(body.get("body", {})))
        answer = jm.run(rest)
        resp.status().add_message("answered %d" % answer.code())
        if body.get("wait") and answer.status_uri():
            child = jm.status(answer.status_uri())
            jm.wait(child, 60)
            resp.status().add_message("child %s" % ("succeeded" if child.is_success() else "failed"))
        return gearbox.WORKER_SUCCESS


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    args = parser.parse_args()
    with RelayWorker(args.config) as worker:
        worker.run()


if __name__ == "__main__":
    main()
