# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""tools/demo (what `make demo` runs) with the barn's own stack.conf and gateway.conf.

The demo's port comes from GEARBOX_PORT here (a free one, not 4080), and
Ctrl-C is what a terminal sends: SIGINT to the demo's process group.
"""

import os
import re
import socket
import subprocess

from conftest import BUILD_DIR, SOURCE_DIR, Client, free_port, free_ports, gearman_status, pid_alive, stop_demo, \
    wait_for

DEMO = SOURCE_DIR / "tools/demo"


def demo_env(tmp_path, port, gearman_port=None):
    env = dict(os.environ)
    env.pop("GEARMAN_PORT", None)
    env.update(GEARBOX_PORT=str(port), GEARBOX_STATE_DIR=str(tmp_path / "state"))
    if gearman_port:
        env["GEARMAN_PORT"] = str(gearman_port)
    return env


def test_demo_serves_the_barn_and_stops_on_ctrl_c(tmp_path):
    port, gearman_port = free_ports(2)
    out_path = tmp_path / "demo.out"
    with open(out_path, "wb") as out:
        demo = subprocess.Popen([str(DEMO), str(BUILD_DIR)], stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, env=demo_env(tmp_path, port, gearman_port),
                                cwd=str(tmp_path), start_new_session=True)

    def output():
        return out_path.read_text(errors="replace")

    try:
        def ready():
            if demo.poll() is not None:
                raise AssertionError("demo exited with %s:\n%s" % (demo.returncode, output()))
            return "Press Ctrl-C" in output()
        wait_for(ready, "the demo to print its curl commands", timeout=60)
        text = output()
        base = "http://127.0.0.1:%d" % port
        assert "gearmand on 127.0.0.1:%d" % gearman_port in text
        assert "curl -i -X PUT" in text and base + "/barn/v1/animal/Wilbur" in text
        # How to turn authentication on, and the token-protected barn.
        assert '"auth": {"type": "bearer", "tokens_file": "tokens"}' in text
        assert "Authorization: Bearer fern-demo-token" in text and base + "/private/barn" in text
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", base + "/private/barn/v1/status"],
                           capture_output=True, text=True, timeout=60)
        assert r.stdout == "401", r
        # The gateway says at start-up that the other locations are open.
        gateway_log = tmp_path / "state/log/gateway.0.log"
        wait_for(lambda: gateway_log.exists() and "location /barn is open to anyone" in gateway_log.read_text(),
                 "the gateway to log that /barn is open")
        assert "location /private/barn: bearer authentication, 2 tokens" in gateway_log.read_text()
        # The global worker serves the agents runner for every service.
        wait_for(lambda: gearman_status(gearman_port).get("do_run_global_agents_v1", (0, 0, 0))[2] == 1,
                 "the global worker to register do_run_global_agents_v1")

        # The walk-through of the README, on each of the four barns.
        client = Client(port)
        for prefix, component in (("/barn", "barn"), ("/python/barn", "barnpython"),
                                  ("/perl/barn", "barnperl"), ("/php/barn", "barnphp")):
            r = client.put(prefix + "/v1/animal/Wilbur", {"name": "Wilbur"})
            assert r.status == 202, (prefix, r)
            done = client.wait_completed(r.json()["status_uri"])
            assert done["code"] == 0 and done["progress"] == 100, (prefix, done)
            assert done["component"] == component, (prefix, done)
            got = client.get(prefix + "/v1/animal/Wilbur")
            assert got.status == 200 and got.json()["name"] == "Wilbur", (prefix, got)
            listed = client.get(prefix + "/v1/status;_count=5")
            assert listed.status == 200 and len(listed.json()["statuses"]) >= 1
            # The state lives where it was told to.
            assert (tmp_path / "state" / component / "animals" / "Wilbur.json").exists(), prefix
        assert (tmp_path / "state" / "status.db").exists()

        # The hello service of docs/first-service.md, mounted beside the barn.
        for prefix, component in (("/hello", "hello"), ("/python/hello", "hellopython"),
                                  ("/perl/hello", "helloperl"), ("/php/hello", "hellophp")):
            done = client.wait_completed(client.accepted("PUT", prefix + "/v1/greeting/Ann",
                                                         {"text": "Hello"})["status_uri"])
            assert done["code"] == 0 and done["component"] == component, (prefix, done)
            got = client.get(prefix + "/v1/greeting/Ann")
            assert got.status == 200 and got.json()["greeting"] == "Hello, Ann!", (prefix, got)
            assert (tmp_path / "state" / component / "Ann.json").exists(), prefix

        # The orchestration walk-through of examples/barn/README.md (a
        # continuation, a child job, a cancellable long job) on the barns
        # that have it, with the demo's own configs.
        for prefix in ("/barn", "/python/barn"):
            chore = client.accepted("PUT", prefix + "/v1/chore/monday")
            done = client.wait_completed(chore["status_uri"])
            assert done["code"] == 0 and len(done["messages"]) == 3, (prefix, done)
            family = client.accepted("PUT", prefix + "/v1/family/Zuckerman")
            done = client.wait_completed(family["status_uri"])
            assert done["code"] == 0 and len(done["children"]) == 2, (prefix, done)
            field = client.accepted("PUT", prefix + "/v1/field/north", {"rows": 100, "row_seconds": 0.2})
            wait_for(lambda: client.status(field["status_uri"])["messages"], "the field to be ploughed")
            r = client.post(field["status_uri"], {"state": "CANCELLED"})
            assert r.status == 202, (prefix, r)
            assert client.wait_completed(r.json()["status_uri"])["code"] == 0
            wait_for(lambda: client.status(field["status_uri"])["state"] == "CANCELLED", "the field cancelled")
            done = client.status(field["status_uri"])
            assert done["code"] == 410 and len(done["children"]) == 1, (prefix, done)
    finally:
        pids = [int(p) for p in re.findall(r"started \S+ pid (\d+)", output())]
        rc = stop_demo(demo)
    assert rc == 0, output()
    assert sorted(re.findall(r"started (\S+) pid", output())) == \
        ["barn.0", "barn.1", "barnperl.0", "barnphp.0", "barnpython.0", "barnpython.1", "gateway.0", "gearmand.0",
         "global.0", "hello.0", "helloperl.0", "hellophp.0", "hellopython.0"]
    assert "all daemons stopped" in output()
    for pid in pids:
        wait_for(lambda: not pid_alive(pid), "pid %d to be gone" % pid, timeout=10)


def test_demo_refuses_a_busy_port(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = subprocess.run([str(DEMO), str(BUILD_DIR)], capture_output=True, text=True, timeout=60,
                           env=demo_env(tmp_path, port), cwd=str(tmp_path))
    assert r.returncode == 1
    assert "port %d on 127.0.0.1 is already in use" % port in r.stderr
    assert "started" not in r.stderr
