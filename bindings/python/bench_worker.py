#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""bench_worker.py - the trivial "bench" component in Python, for comparing
jobs/s of the Python binding with the C bench worker (bench/worker/bench_worker.c).

    PYTHONPATH=<build>/bindings/python \\
        /usr/bin/python3 bindings/python/bench_worker.py --config bench/conf/bench.conf

Handlers (the same answers as the C bench worker):
  do_get_bench_echo_v1   sync: {"echo": "<resource name>", "ok": true}
  do_put_bench_echo_v1   async: does nothing and succeeds
One process serves one job at a time; run several for concurrency.
SIGTERM / SIGINT stop it after the current job.
"""

import argparse
import json
import os
import signal
import sys

# Run from the source tree, this script's directory holds the gearbox
# package without its compiled module: take the built one from PYTHONPATH
# (or the installed one) instead.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

import gearbox  # noqa: E402


class BenchWorker(gearbox.Worker):
    def __init__(self, config):
        super().__init__(config)
        self.register_handler("do_get_bench_echo_v1")
        self.register_handler("do_put_bench_echo_v1")

    def do_get_bench_echo_v1(self, job, resp):
        resp.add_header("Content-Type", "application/json")
        resp.content(json.dumps({"echo": job.resource_name() or "", "ok": True},
                                separators=(",", ":")))
        return gearbox.WORKER_SUCCESS

    def do_put_bench_echo_v1(self, job, resp):
        return gearbox.WORKER_SUCCESS


def main(argv=None):
    parser = argparse.ArgumentParser(description="Gearbox bench component, Python worker")
    parser.add_argument("--config", required=True, help="the component config (bench.conf)")
    parser.add_argument("--max-requests", type=int, default=0, help="exit after N jobs")
    parser.add_argument("--log-file", help="append the log here (default: stderr)")
    parser.add_argument("--log-level", default="warn", help="debug, info, warn (default), error")
    args = parser.parse_args(argv)
    gearbox.log_to_file(args.log_file)
    gearbox.set_log_level(args.log_level)
    worker = BenchWorker(args.config)
    worker.max_requests(args.max_requests)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: worker.stop())
    worker.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
