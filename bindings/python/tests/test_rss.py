# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""A Python worker (bindings/python/bench_worker.py) serves 10,000 trivial
jobs through a real gearmand; its resident memory after 10,000 jobs may not
exceed that after 1,000 by more than a generous bound."""

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import BOUND, GearmanClient, envelope, wait_for, write_config

BENCH_WORKER = Path(__file__).resolve().parents[1] / "bench_worker.py"
GROWTH_BOUND_KIB = 8 * 1024
BATCH = 250


def vm_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def serve(client, count, first):
    name = "do_get_bench_echo_v1"
    for start in range(0, count, BATCH):
        handles = client.submit_many(name, [envelope(name, arguments=["e%d" % (first + i)],
                                                     component="bench", resource="echo")
                                            for i in range(start, min(count, start + BATCH))])
        for i, h in enumerate(handles):
            reply = client.reply(h)
            assert json.loads(reply["content"]) == {"echo": "e%d" % (first + start + i), "ok": True}


def test_worker_exits_at_max_requests(tmp_path, gearmand):
    conf = write_config(tmp_path, "bench", gearmand, ["do_get_bench_echo_v1"])
    log = open(tmp_path / "worker.log", "w")
    proc = subprocess.Popen([sys.executable, str(BENCH_WORKER), "--config", str(conf),
                             "--max-requests", "100"], stdout=log, stderr=subprocess.STDOUT)
    client = GearmanClient(gearmand)
    try:
        serve(client, 100, 0)
        wait_for(lambda: proc.poll() is not None, "the worker to exit at max_requests")
    finally:
        client.close()
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=BOUND)
    assert proc.returncode == 0, (tmp_path / "worker.log").read_text()


def test_rss_growth_between_1000_and_10000_jobs(tmp_path, gearmand):
    conf = write_config(tmp_path, "bench", gearmand, ["do_get_bench_echo_v1"])
    log = open(tmp_path / "worker.log", "w")
    proc = subprocess.Popen([sys.executable, str(BENCH_WORKER), "--config", str(conf)],
                            stdout=log, stderr=subprocess.STDOUT)
    client = GearmanClient(gearmand)
    try:
        serve(client, 1000, 0)
        after_1000 = vm_rss_kib(proc.pid)
        serve(client, 9000, 1000)
        after_10000 = vm_rss_kib(proc.pid)
    finally:
        client.close()
        proc.terminate()  # SIGTERM: the worker stops after the current job
        proc.wait(timeout=BOUND)
    print("VmRSS after 1000 jobs: %d KiB, after 10000: %d KiB, growth %d KiB"
          % (after_1000, after_10000, after_10000 - after_1000))
    (tmp_path / "rss.txt").write_text("%d %d\n" % (after_1000, after_10000))
    assert proc.returncode == 0, (tmp_path / "worker.log").read_text()
    assert after_10000 - after_1000 < GROWTH_BOUND_KIB
