# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""longpoll_worker.py --config CONF - jobs whose pace the test sets, for
test_longpoll.py:

  PUT /<prefix>/v1/step/<name>  {"gates": [path, ...], "fail": code}
      progress 10; then, for each gate in turn, waits (bounded) until that
      file exists and raises progress by 20; then succeeds, or fails with
      `fail` when given.  No gates: it finishes at once.
  GET /<prefix>/v1/step/<name>  -> {"name": name}, sync.
"""

import argparse
import json
import os
import time

import gearbox

GATE_BOUND = 120  # seconds a job waits for a gate before it fails


class StepWorker(gearbox.Worker):
    def __init__(self, config):
        super().__init__(config)
        component = self.cfg().get_string("component")
        self.register_handler("do_put_%s_step_v1" % component, self.do_put_step)
        self.register_handler("do_get_%s_step_v1" % component, self.do_get_step)

    def do_get_step(self, job, resp):
        resp.content(json.dumps({"name": job.resource_name()}))
        return gearbox.WORKER_SUCCESS

    def do_put_step(self, job, resp):
        body = job.json_content() or {}
        status = resp.status()
        status.progress(10)
        for i, gate in enumerate(body.get("gates", [])):
            end = time.monotonic() + GATE_BOUND
            while not os.path.exists(gate):
                if time.monotonic() > end:
                    raise gearbox.ERR_GATEWAY_TIMEOUT("gate %s never opened" % gate)
                time.sleep(0.01)
            status.progress(30 + 20 * i)
        if body.get("fail"):
            raise gearbox.error_class(int(body["fail"]))("failed as asked")
        return gearbox.WORKER_SUCCESS


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    args = parser.parse_args()
    with StepWorker(args.config) as worker:
        worker.run()


if __name__ == "__main__":
    main()
