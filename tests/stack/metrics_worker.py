# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""metrics_worker.py --config CONF - the Python twin of metrics_worker.c for
tests/stack/test_metrics.py: its component's handlers count in its
Scoreboard (readings/put, readings/get, readings/refused; a PUT body
{"fail": true} makes the job fail with 409)."""

import argparse

import gearbox


class MeterWorker(gearbox.Worker):
    def __init__(self, config, component):
        super().__init__(config)
        self.component = component
        self.register_handler("do_put_%s_reading_v1" % component, self.do_put)
        self.register_handler("do_get_%s_reading_v1" % component, self.do_get)

    def do_put(self, job, resp):
        board = gearbox.Scoreboard.get_scoreboard()
        board.increment_counter("readings", "put")
        content = job.json_content()
        if isinstance(content, dict) and content.get("fail"):
            board.increment_counter("readings", "refused")
            raise gearbox.ERR_CONFLICT("the reading was refused as asked")
        return gearbox.WORKER_SUCCESS

    def do_get(self, job, resp):
        gearbox.Scoreboard.get_scoreboard().increment_counter("readings", "get")
        resp.content('{"reading": 1}')
        return gearbox.WORKER_SUCCESS


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--component", required=True)
    args = parser.parse_args()
    with MeterWorker(args.config, args.component) as worker:
        worker.run()


if __name__ == "__main__":
    main()
