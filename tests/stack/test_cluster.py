# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""examples/cluster as docs/stack.md runs it: two gearmands, two gateways and
two barn workers on one MariaDB store.  A status made through one gateway is
read, waited on and cancelled through the other; a delayed job is run by
whichever scheduler claims it, once; with one gearmand killed, requests keep
being answered through both gateways."""

import os
import signal
from pathlib import Path

import pytest

from conftest import (BUILD_DIR, SOURCE_DIR, Supervisor, free_ports, gearman_status, mariadb_server,
                      pid_alive, port_open, unique, wait_for, Client)

CLUSTER = SOURCE_DIR / "examples/cluster"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("cluster")
    (root / "state").mkdir()
    db = mariadb_server().create_database("gbx_cluster_%d" % os.getpid())
    gm_a, gm_b, http_a, http_b = free_ports(4)
    env = dict(os.environ)
    env.update(GEARMAN_PORT_A=str(gm_a), GEARMAN_PORT_B=str(gm_b),
               GEARBOX_PORT_A=str(http_a), GEARBOX_PORT_B=str(http_b),
               GEARBOX_DB_HOST=db["host"], GEARBOX_DB_PORT=str(db["port"]),
               GEARBOX_DB_USER=db["user"], GEARBOX_DB_PASSWORD=db["password"],
               GEARBOX_DB_NAME=db["database"],
               GEARBOX_STATE_DIR=str(root / "state"), GEARBOX_BUILD_DIR=str(BUILD_DIR))
    sup = Supervisor(root, CLUSTER / "stack.conf", env).start()
    try:
        sup.wait_started()
        for port in (gm_a, gm_b):
            wait_for(lambda: gearman_status(port).get("do_put_barn_field_v1", (0, 0, 0))[2] >= 2,
                     "both barn workers registered with gearmand :%d" % port)
        yield {"sup": sup, "a": Client(http_a), "b": Client(http_b), "gearmand_a": gm_a}
    finally:
        assert sup.stop() == 0, sup.output()


def test_a_status_is_the_same_through_either_gateway(cluster):
    a, b = cluster["a"], cluster["b"]
    name = unique("Twin")
    s = a.accepted("PUT", "/barn/v1/animal/" + name, {"name": name})
    done = b.wait_completed(s["status_uri"].replace(a.base, b.base))
    assert done["code"] == 0, done
    assert a.get("/barn/v1/animal/" + name).status == 200
    assert b.get("/barn/v1/animal/" + name).status == 200
    # Lists too: the status is in the one store both gateways read.
    sid = s["status_uri"].rsplit("/", 1)[1]
    assert b.get("/barn/v1/status;uri=" + name).json()["statuses"] == [sid]


def test_cancel_through_the_other_gateway(cluster):
    a, b = cluster["a"], cluster["b"]
    name = unique("field")
    s = a.accepted("PUT", "/barn/v1/field/" + name, {"rows": 1000, "row_seconds": 0.2,
                                                     "restore_seconds": 0})
    uri_b = s["status_uri"].replace(a.base, b.base)
    wait_for(lambda: "field %s: row 1 ploughed" % name in b.status(uri_b)["messages"],
             "the field to be ploughed")
    r = b.post(uri_b, {"state": "CANCELLED"})
    assert r.status == 202, r
    assert b.wait_completed(r.json()["status_uri"])["code"] == 0
    wait_for(lambda: a.status(s["status_uri"])["state"] == "CANCELLED", "the field cancelled")


def test_a_delayed_job_runs_once(cluster):
    a, b = cluster["a"], cluster["b"]
    name = unique("alarm")
    s = b.accepted("PUT", "/barn/v1/alarm/" + name, {"seconds": 1})
    done = a.wait_completed(s["status_uri"].replace(b.base, a.base))
    assert done["code"] == 0, done
    rang = [m for m in done["messages"] if m.startswith("alarm %s: rang at " % name)]
    assert len(rang) == 1, done


def test_one_gearmand_killed(cluster):
    a, b, sup = cluster["a"], cluster["b"], cluster["sup"]
    pid = sup.pid_of("gearmand-a.0")
    assert pid and pid_alive(pid)
    os.kill(pid, signal.SIGKILL)  # only the gearmand this test's stack started, by pid
    wait_for(lambda: not pid_alive(pid), "gearmand-a to die")
    for client in (a, b, a, b):
        name = unique("Lone")
        s = client.accepted("PUT", "/barn/v1/animal/" + name, {"name": name})
        assert client.wait_completed(s["status_uri"])["code"] == 0
        assert client.get("/barn/v1/animal/" + name).status == 200
    # The supervisor brings it back; the workers register with it again.
    wait_for(lambda: port_open(cluster["gearmand_a"]), "gearmand-a restarted")
    wait_for(lambda: gearman_status(cluster["gearmand_a"]).get("do_get_barn_animal_v1", (0, 0, 0))[2] >= 2,
             "the workers registered with the restarted gearmand-a")
