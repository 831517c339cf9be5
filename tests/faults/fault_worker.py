#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""The fault matrix's test service (component "faults"), two async handlers:

    PUT /faults/v1/job/<name> {"i": <n>}    202; the job sleeps 20-80 ms and succeeds
    PUT /faults/v1/once/<name> {"i": <n>}   the same, registered as not retryable: a job
                                            whose worker dies inside it fails (500)

Each run appends "start <status id> <pid>" when the handler begins and
"end <status id> <pid>" when it has done its work to the file `faults.runs`
of the component config (O_APPEND, one write per line, so the lines of all
worker processes interleave whole).  The tests read it to count how often
each job started and ran to its end.

Usage: fault_worker.py CONFIG   (SIGTERM or SIGINT stops it after the current job)
"""
import os
import random
import signal
import sys
import time

# Run from the source tree, this script's directory is sys.path[0]: the
# gearbox package comes from PYTHONPATH (the build's bindings/python).
import gearbox


class FaultWorker(gearbox.Worker):
    def __init__(self, config):
        super().__init__(config)
        self.runs = os.open(self.cfg().get_path("faults.runs"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.register_handler("do_put_faults_job_v1")
        self.register_handler("do_put_faults_once_v1", self.do_put_faults_job_v1)
        self.set_retryable("do_put_faults_once_v1", False)

    def record(self, what, job):
        os.write(self.runs, ("%s %s %d\n" % (what, job.status_id(), os.getpid())).encode())

    def do_put_faults_job_v1(self, job, resp):
        self.record("start", job)
        time.sleep(random.uniform(0.02, 0.08))  # long enough for a kill -9 to land mid-job
        self.record("end", job)
        return gearbox.WORKER_SUCCESS


if len(sys.argv) != 2:
    sys.exit("usage: fault_worker.py CONFIG")
gearbox.log_to_file()
worker = FaultWorker(sys.argv[1])
for sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(sig, lambda *_: worker.stop())
worker.run()
