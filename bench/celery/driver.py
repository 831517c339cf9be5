#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""driver.py - the Python load generator of bench/run's scenario 9: the
same clients, processes and threads for Celery and for Gearbox, so that
neither side gets a faster client than the other (docs/benchmarks.md,
"Celery").

    driver.py MODE --processes P --threads T (--duration S | --requests N) ...

Modes, one operation each:
  celery-submit     tasks.noop.apply_async()          (no result: ignore_result)
  celery-roundtrip  tasks.echo.delay("hello").get()   (result through Redis)
  gearbox-put       PUT /bench/v1/echo/<new name> -> 202 (http.client, keep-alive)
  gearbox-get       GET /bench/v1/echo/hello -> 200      (http.client, keep-alive)
  stages            --requests N round trips of bench.stamp one after the other:
                    p50 ms of apply_async, of send -> task body, of task body
                    -> result in the client (where a round trip's time goes)
  ping              Celery workers answering a ping (JSON {"workers": [names]})
  stats             tasks each Celery worker has accepted (JSON {worker: n})

P forked processes run T threads each, every thread its own client (its own
Celery app, or its own HTTP connection), set up before the clock starts.
With --duration each thread runs operations until S seconds have passed;
with --requests the N operations are shared out and the run ends with the
last one.  Prints one JSON line: ok, errors, rps, p50_ms, p99_ms, seconds,
and (gearbox-put) a sample of the status URIs.
"""

import argparse
import http.client
import json
import math
import multiprocessing
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def celery_client(args):
    import tasks  # noqa: E402  (imports celery: only in the Celery modes)
    app = tasks.make_app(args.broker, args.backend)
    # delay() sends to the default queue: the one this run's workers consume.
    app.conf.task_default_queue = args.queue
    return app


def make_operation(args, proc, thread):
    """(operation() -> location or None, close()) of one client."""
    if args.mode == "celery-submit":
        app = celery_client(args)
        noop = app.tasks["bench.noop"]
        noop.apply_async()  # connect before the clock starts (one extra task)
        return (lambda: noop.apply_async() and None), app.close
    if args.mode == "celery-roundtrip":
        app = celery_client(args)
        echo = app.tasks["bench.echo"]

        def roundtrip():
            if echo.delay("hello").get(timeout=args.timeout) != {"echo": "hello", "ok": True}:
                raise ValueError("unexpected result")
        roundtrip()  # connect and subscribe before the clock starts
        return roundtrip, app.close
    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=args.timeout)
    body = open(args.body_file, "rb").read() if args.body_file else b""
    counter = iter(range(1 << 62))
    tag = f"p{os.getpid()}t{thread}"

    def put():
        conn.request("PUT", f"/bench/v1/echo/{tag}-{next(counter)}", body,
                     {"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        if resp.status != 202:
            raise ValueError(f"PUT answered {resp.status}")
        return resp.getheader("Location")

    def get():
        conn.request("GET", "/bench/v1/echo/hello")
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise ValueError(f"GET answered {resp.status}")
    conn.connect()
    return (put if args.mode == "gearbox-put" else get), conn.close


def client(args, proc, thread, share, barrier, out):
    """One client thread: set up, wait for all, run, report."""
    try:
        op, close = make_operation(args, proc, thread)
    except Exception as e:  # reported, and the barrier still released
        out.append({"setup_error": f"{type(e).__name__}: {e}"})
        barrier.wait()
        return
    barrier.wait()
    lat, errors, locations, first_error = [], 0, [], None
    start = time.time()
    deadline = start + args.duration if args.duration else None
    n = 0
    while (deadline is None and n < share) or (deadline is not None and time.time() < deadline):
        n += 1
        t0 = time.perf_counter()
        try:
            loc = op()
        except Exception as e:
            errors += 1
            first_error = first_error or f"{type(e).__name__}: {e}"
            if args.mode.startswith("gearbox"):  # a broken connection: a new one
                try:
                    op, close = make_operation(args, proc, thread)
                except Exception:
                    pass
            continue
        lat.append(time.perf_counter() - t0)
        if loc:
            locations.append(loc)
    end = time.time()
    try:
        close()
    except Exception:
        pass
    out.append({"lat": lat, "errors": errors, "start": start, "end": end,
                "locations": locations, "first_error": first_error})


def process(args, proc, shares, barrier, queue):
    out = []
    threads = [threading.Thread(target=client, args=(args, proc, t, shares[t], barrier, out))
               for t in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put(out)


def percentile(ordered, q):
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)] if ordered else None


def load(args):
    clients = args.processes * args.threads
    base, extra = divmod(args.requests or 0, clients)
    shares = [base + (1 if i < extra else 0) for i in range(clients)]
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(clients + 1)
    queue = ctx.Queue()
    procs = [ctx.Process(target=process, args=(args, p,
                                               shares[p * args.threads:(p + 1) * args.threads],
                                               barrier, queue))
             for p in range(args.processes)]
    for p in procs:
        p.start()
    barrier.wait(timeout=120)
    t0 = time.time()
    results = []
    for _ in procs:
        results += queue.get(timeout=args.duration + 600 if args.duration else 3600)
    for p in procs:
        p.join()
    setup = [r["setup_error"] for r in results if "setup_error" in r]
    results = [r for r in results if "setup_error" not in r]
    lat = sorted(x for r in results for x in r["lat"])
    errors = sum(r["errors"] for r in results) + len(setup)
    seconds = (args.duration if args.duration else
               max((r["end"] for r in results), default=t0) - t0)
    locations = [loc for r in results for loc in r["locations"]]
    sample = (locations[:1] + locations[-1:] + random.sample(locations, min(20, len(locations)))
              if locations else [])
    first = setup[:1] + [r["first_error"] for r in results if r["first_error"]][:1]
    return {"ok": len(lat), "errors": errors, "seconds": seconds, "t0": t0,
            "rps": len(lat) / seconds if seconds else 0.0,
            "p50_ms": percentile(lat, 50) * 1000 if lat else None,
            "p99_ms": percentile(lat, 99) * 1000 if lat else None,
            "clients": clients, "processes": args.processes, "threads": args.threads,
            "sample": sample, "first_error": first[0] if first else None}


def stages(args):
    app = celery_client(args)
    stamp = app.tasks["bench.stamp"]
    stamp.delay().get(timeout=args.timeout)  # connect and subscribe first
    send, to_body, to_client = [], [], []
    for _ in range(args.requests):
        t0 = time.time()
        result = stamp.delay()
        t1 = time.time()
        ran = result.get(timeout=args.timeout)
        t2 = time.time()
        send.append(t1 - t0)
        to_body.append(ran - t0)
        to_client.append(t2 - ran)
    app.close()
    p50 = lambda xs: round(sorted(xs)[len(xs) // 2] * 1000, 3)
    return {"n": args.requests, "apply_async_p50_ms": p50(send),
            "send_to_body_p50_ms": p50(to_body), "body_to_client_p50_ms": p50(to_client)}


def control(args):
    app = celery_client(args)
    try:
        if args.mode == "ping":
            replies = app.control.ping(timeout=1.0)
            return {"workers": sorted(name for r in replies for name in r)}
        stats = app.control.inspect(timeout=2.0).stats() or {}
        return {name: sum((s.get("total") or {}).values()) for name, s in stats.items()}
    finally:
        app.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", choices=("celery-submit", "celery-roundtrip", "gearbox-put",
                                     "gearbox-get", "stages", "ping", "stats"))
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1, help="client threads per process")
    ap.add_argument("--duration", type=float, default=0, help="seconds (or --requests)")
    ap.add_argument("--requests", type=int, default=0, help="operations in all")
    ap.add_argument("--broker", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--backend", default="redis://127.0.0.1:6379/1")
    ap.add_argument("--queue", default="celery", help="the Celery queue to send to")
    ap.add_argument("--port", type=int, help="the gateway's port")
    ap.add_argument("--body-file", help="the PUT body (gearbox-put)")
    ap.add_argument("--timeout", type=float, default=30, help="seconds per operation")
    args = ap.parse_args()
    if args.mode in ("ping", "stats"):
        print(json.dumps(control(args)))
        return 0
    if args.mode == "stages":
        print(json.dumps(stages(args)))
        return 0
    if not (args.duration or args.requests):
        ap.error("--duration or --requests")
    print(json.dumps(load(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
