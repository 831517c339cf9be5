# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""The fault matrix (docs/testing.md#the-fault-matrix): for each fault, a
burst of async PUTs from several client threads while the fault happens, then
every accepted job must end COMPLETED with code 0, have run to its end
exactly once, and no status of the test may be left PENDING or RUNNING."""

import pytest

from conftest import HANDLER, JOBS, Burst, gearman_status, wait_for


def only(refusals, allowed):
    """The kinds of refusal outside `allowed` (HTTP statuses or exception names)."""
    return {what: n for what, n in refusals.items() if what not in allowed}


def test_no_fault(cluster):
    """The reference: the same burst with nothing going wrong."""
    c = cluster()
    burst = Burst(c).start().join()
    assert not burst.refused, burst.refusals()
    c.check(burst, c.settle(burst))


def last_record(runs, pid):
    """(what, status id) of the last line worker `pid` wrote, or None."""
    mine = [(what, sid) for what, sid, p in runs if p == pid]
    return mine[-1] if mine else None


def worker_mid_job(c, avoid):
    """A running worker that is inside its handler (its last line is a
    start) with a job not in `avoid`: (worker, status id)."""
    def find():
        runs = c.read_runs()
        for w in c.live_workers():
            last = last_record(runs, w.pid)
            if last and last[0] == "start" and last[1] not in avoid:
                return w, last[1]
        return None
    return wait_for(find, "a fault worker in the middle of a job", interval=0.002)


def kill_workers_mid_job(c, burst, kills):
    """kill -9 of a worker inside its handler, `kills` times spread over the
    burst, each time a new worker in its place.  Returns the ids of the
    jobs killed inside their handler, and of those whose worker had just
    ended the handler (its last line an end) when the kill landed."""
    killed_mid, killed_after = [], []
    for k in range(kills):
        burst.wait_accepted((k + 1) * burst.n // (kills + 2))
        victim, _ = worker_mid_job(c, killed_mid)
        victim.kill()
        c.add_worker()
        what, sid = last_record(c.read_runs(), victim.pid)
        (killed_mid if what == "start" else killed_after).append(sid)
    burst.join()
    print("killed mid-run: %s; killed after the handler's end: %s" % (killed_mid, killed_after))
    assert not burst.refused, burst.refusals()
    assert killed_mid, "no kill landed inside a handler (killed after the end: %s)" % killed_after
    return killed_mid, killed_after


def test_worker_killed_mid_job(cluster):
    """Three workers killed inside their handler during the burst: the
    killed job's lease runs out and it is retried (at least once): it starts
    twice and ends once."""
    c = cluster(workers=4)
    burst = Burst(c).start()
    killed_mid, killed_after = kill_workers_mid_job(c, burst, 3)
    starts, _ = c.check(burst, c.settle(burst), killed_mid, killed_after)
    assert all(starts[sid] <= 2 for sid in killed_mid)


def test_worker_killed_mid_job_not_retryable(cluster):
    """The same with a handler registered as not retryable: the killed job
    ends COMPLETED 500 "worker died" and never runs again; every other job
    completes once."""
    c = cluster(workers=4)
    burst = Burst(c, n=JOBS // 2, resource="once").start()
    killed_mid, killed_after = kill_workers_mid_job(c, burst, 2)
    c.check(burst, c.settle(burst), killed_mid, killed_after, retryable=False)


def test_gearmand_killed_with_jobs_queued(cluster):
    """kill -9 of the only gearmand while it holds queued jobs, and a restart
    on the same port with an empty queue: the store has every accepted job
    and the scheduler submits the lost ones again."""
    c = cluster(workers=4)
    port = c.gearman_ports[0]
    burst = Burst(c).start()
    burst.wait_accepted(JOBS // 3)
    queued = wait_for(lambda: gearman_status(port).get(HANDLER, (0, 0, 0))[0] >= 10
                      and gearman_status(port)[HANDLER][0], "jobs queued in gearmand")
    c.gearmands[0].kill()
    burst.assert_running()
    c.start_gearmand(0)
    burst.join()
    print("killed gearmand with %d jobs queued; refused: %s" % (queued, dict(burst.refusals())))
    assert not only(burst.refusals(), {503}), burst.refused[:5]
    c.check(burst, c.settle(burst))


def test_gateway_killed_during_burst(cluster):
    """kill -9 of the gateway while the clients send, and a restart on the
    same port: requests that got no 202 do not count; every 202 completes
    (and so do jobs the gateway stored before dying unanswered)."""
    c = cluster()
    burst = Burst(c).start()
    burst.wait_accepted(JOBS // 3)
    c.gateways[0].kill()
    burst.assert_running()
    c.start_gateway(0)
    burst.join()
    print("refused while the gateway was down: %s" % dict(burst.refusals()))
    assert not only(burst.refusals(), {503, "ConnectionRefusedError", "ConnectionResetError",
                                       "RemoteDisconnected", "BrokenPipeError"}), burst.refused[:5]
    c.check(burst, c.settle(burst))


@pytest.mark.parametrize("backend", ["mariadb"], indirect=True)
def test_mariadb_killed_during_burst(cluster, backend):
    """kill -9 of the database server while the clients send, and a restart
    (same datadir and port): requests meet 503 with Retry-After (never a
    500, never a false 202) while it is down, gateways and workers
    reconnect, workers retry their writes, every 202 completes.  The lease
    outlasts the outage: a worker that cannot renew its lease for longer
    than lease_seconds is taken for dead and its job retried (at least
    once), which is not what this test is about."""
    c = cluster(knobs={"lease_seconds": 15})
    burst = Burst(c).start()
    burst.wait_accepted(JOBS // 3)
    backend.server.kill()
    burst.assert_running()
    backend.server.start()
    burst.join()
    print("refused while MariaDB restarted: %s" % dict(burst.refusals()))
    assert not only(burst.refusals(), {503}), burst.refused[:5]
    assert all(headers.get("Retry-After") for _, _, headers in burst.refused), burst.refused[:5]
    c.check(burst, c.settle(burst))


def test_one_of_two_gearmands_down(cluster):
    """Two gearmands in every config, the first never started: submits fail
    over to the second, workers serve from it."""
    c = cluster(gearmands=2, down=[0])
    burst = Burst(c).start().join()
    assert not burst.refused, burst.refusals()
    c.check(burst, c.settle(burst))


def test_one_of_two_gearmands_killed_with_jobs_queued(cluster):
    """Two gearmands; kill -9 of the one that holds queued jobs, not
    restarted: its jobs are submitted again, to the other one, and new
    requests go there."""
    c = cluster(gearmands=2)
    burst = Burst(c).start()
    burst.wait_accepted(JOBS // 3)

    def busy():
        for i, port in enumerate(c.gearman_ports):
            queued = gearman_status(port).get(HANDLER, (0, 0, 0))[0]
            if queued >= 10:
                return i, queued
        return None
    i, queued = wait_for(busy, "jobs queued in a gearmand")
    c.gearmands[i].kill()
    burst.assert_running()
    burst.join()
    print("killed gearmand.%d with %d jobs queued; refused: %s" % (i, queued, dict(burst.refusals())))
    assert not only(burst.refusals(), {503}), burst.refused[:5]
    c.check(burst, c.settle(burst))


def test_two_gateways_round_robin(cluster):
    """Two gateways on one store, each request (and each status poll) to the
    next one in turn: both schedulers run, each job still runs once."""
    c = cluster(gateways=2)
    burst = Burst(c).start().join()
    assert not burst.refused, burst.refusals()
    c.check(burst, c.settle(burst))
