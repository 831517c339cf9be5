# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""The Celery side of bench/run's scenario 9 (docs/benchmarks.md, "Celery").

Two trivial tasks, the counterparts of the bench component's handlers:
  bench.echo  returns {"echo": <name>, "ok": true}, result kept in the
              result backend (what `delay().get()` waits for), as
              do_get_bench_echo_v1 answers a sync GET
  bench.noop  does nothing, result ignored (`ignore_result=True`, the
              documented fast setting for fire-and-forget tasks), as
              do_put_bench_echo_v1 succeeds at once
  bench.stamp returns the time its body ran (not in the scenario: for
              `driver.py stages`, where a round trip's time goes)

Everything else is Celery 5's documented default (JSON serializer,
prefetch multiplier 4, early acknowledgement, Redis transport options).
A worker loads this module with `celery -A tasks worker` (the broker and
the result backend from CELERY_BENCH_BROKER / CELERY_BENCH_BACKEND); the
client driver (driver.py) makes one app per client thread with make_app.
"""

import os
import time

from celery import Celery


def make_app(broker, backend):
    """A Celery app on `broker` (redis://) keeping results in `backend`."""
    app = Celery("bench", broker=broker, backend=backend)

    @app.task(name="bench.echo")
    def echo(name):
        return {"echo": name, "ok": True}

    @app.task(name="bench.noop", ignore_result=True)
    def noop():
        return None

    @app.task(name="bench.stamp")
    def stamp():
        """When the task body ran (driver.py stages: where a round trip's
        time goes)."""
        return time.time()

    return app


app = make_app(os.environ.get("CELERY_BENCH_BROKER", "redis://127.0.0.1:6379/0"),
               os.environ.get("CELERY_BENCH_BACKEND", "redis://127.0.0.1:6379/1"))
