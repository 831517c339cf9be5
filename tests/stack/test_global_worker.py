# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""gearbox-global-worker in a real stack: gearmand, the global worker, a
component that uses agents but registers no runner (graph_worker.py, two
processes: its front handler waits for the runner while the other serves the
agents), and the gateway.  An agents graph sent through the component runs
level by level through do_run_global_agents_v1, served by the global worker
alone."""

import re
import subprocess

import pytest

from conftest import (BOUND, BUILD_DIR, SOURCE_DIR, Client, Supervisor, free_ports, gearman_status, gearmand_daemon,
                      stack_env, wait_for, write_json)

GLOBAL_WORKER = BUILD_DIR / "tools/global-worker/gearbox-global-worker"
GRAPH_WORKER = SOURCE_DIR / "tests/stack/graph_worker.py"
RUNNER = "do_run_global_agents_v1"


def diamond():
    """A -> (B || C) -> D, listed out of order."""
    def agent(letter, *requires):
        return {"name": "do_agent_graph_%s_v1" % letter,
                "require": ["do_agent_graph_%s_v1" % r for r in requires]}
    return [agent("d", "b", "c"), agent("c", "a"), agent("b", "a"), agent("a")]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    assert GLOBAL_WORKER.exists(), "%s is missing: build first" % GLOBAL_WORKER
    root = tmp_path_factory.mktemp("global")
    (root / "state").mkdir()
    gearman_port, http_port = free_ports(2)
    store = {"type": "sqlite", "path": "${GEARBOX_STATE_DIR}/status.db"}
    gearman = {"servers": ["127.0.0.1:${GEARMAN_PORT}"]}
    write_json(root / "global.conf", {"component": "global", "gearman": gearman, "status": store})
    write_json(root / "graph.conf", {"component": "graph", "gearman": gearman, "status": store,
                                     "handlers": ["do_post_graph_run_v1"]})
    write_json(root / "gateway.conf", {
        "listen": {"address": "127.0.0.1", "port": "${GEARBOX_PORT}"},
        "gearman": gearman, "status": store, "threads": 2, "log": {"level": "info"},
        "locations": [{"prefix": "/graph", "auth": "none", "config": "graph.conf", "timeout": 30}]})
    daemons = [
        gearmand_daemon(),
        # Gearbox's way of naming the config: the one argument.
        {"name": "global", "command": ["${GEARBOX_BUILD_DIR}/tools/global-worker/gearbox-global-worker",
                                       "${GEARBOX_STACK_DIR}/global.conf", "--log-level", "debug"]},
        {"name": "graph", "count": 2,
         "command": ["/usr/bin/python3", str(GRAPH_WORKER.resolve()), "--config", "${GEARBOX_STACK_DIR}/graph.conf"],
         "env": {"PYTHONPATH": "${GEARBOX_BUILD_DIR}/bindings/python"}},
        {"name": "gateway", "command": ["${GEARBOX_BUILD_DIR}/gateway/gearbox-gateway",
                                        "--config", "${GEARBOX_STACK_DIR}/gateway.conf"],
         "ready": {"tcp": "127.0.0.1:${GEARBOX_PORT}"}},
    ]
    sup = Supervisor(root, write_json(root / "stack.conf", {"stop_timeout": 10, "daemons": daemons}),
                     stack_env(root, gearman_port, http_port)).start()
    try:
        sup.wait_started()
        # Started is not yet registered: wait until gearmand knows every
        # handler (the runner looks the agents up there).
        wanted = {RUNNER: 1, "do_post_graph_run_v1": 2}
        wanted.update(("do_agent_graph_%s_v1" % x, 2) for x in "abcd")
        wait_for(lambda: all(gearman_status(gearman_port).get(name, (0, 0, 0))[2] >= n
                             for name, n in wanted.items()),
                 "the global worker and both graph workers registered")
        yield sup, Client(http_port), gearman_port
    finally:
        assert sup.stop() == 0, sup.output()


def runner_status(client, front):
    """The runner's status: the child of the front handler's status."""
    assert len(front["children"]) == 1, front
    return client.status(front["children"][0])


def test_only_the_global_worker_serves_the_runner(stack):
    sup, _, gearman_port = stack
    assert gearman_status(gearman_port)[RUNNER][2] == 1
    log = (sup.log_dir / "global.0.log").read_text()
    assert "global worker: serving %s" % RUNNER in log, log


def test_an_agents_graph_runs_through_the_global_worker(stack):
    _, client, _ = stack
    r = client.post("/graph/v1/run", {"agents": diamond(), "content": {"field": "north"}})
    assert r.status == 202, r
    front = client.wait_completed(r.json()["status_uri"])
    assert front["code"] == 0 and front["messages"][-1] == "agents done", front
    runner = runner_status(client, front)
    assert runner["state"] == "COMPLETED" and runner["code"] == 0 and runner["progress"] == 100, runner
    lines = [m for m in runner["messages"] if re.fullmatch(r"[A-D] at progress \d+", m)]
    assert lines[0] == "A at progress 1", runner
    assert sorted(lines[1:3]) == ["B at progress 33", "C at progress 33"], runner
    assert lines[3:] == ["D at progress 66"], runner
    assert len(runner["children"]) == 4, runner


def test_a_failing_agent_fails_the_graph(stack):
    _, client, _ = stack
    r = client.post("/graph/v1/run", {"agents": diamond(), "content": {"fail": "b"}})
    assert r.status == 202, r
    front = client.wait_completed(r.json()["status_uri"])
    assert front["code"] == 409, front
    assert "CONFLICT [409]: agent B failed as asked" in front["messages"][-1], front
    runner = runner_status(client, front)
    assert runner["code"] == 409 and not any(m.startswith("D at") for m in runner["messages"]), runner


def test_command_line():
    out = subprocess.run([str(GLOBAL_WORKER), "--help"], capture_output=True, text=True, timeout=BOUND)
    assert out.returncode == 0 and RUNNER in out.stdout and "--config" in out.stdout
    out = subprocess.run([str(GLOBAL_WORKER)], capture_output=True, text=True, timeout=BOUND)
    assert out.returncode == 2 and "CONFIG is required" in out.stderr
    out = subprocess.run([str(GLOBAL_WORKER), "--config", "/nonexistent/global.conf"],
                         capture_output=True, text=True, timeout=BOUND)
    assert out.returncode == 1 and "global.conf" in out.stderr
