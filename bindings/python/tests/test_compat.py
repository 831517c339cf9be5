# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""Gearbox's names in Python: every ERR_* class of Gearbox's Errors.h (and
today's spellings as the same class), each failing a handler's job with its
code; StopWatch and Scoreboard over the core, also from inside a handler."""

import json
import threading

import pytest

import gearbox

from conftest import BOUND, SOURCE_DIR, GearmanClient, envelope, write_config


def gearbox_errors():
    """(NAME, code) of Gearbox's Errors.h, from tests/data/gearbox-errors.txt."""
    rows = []
    for line in (SOURCE_DIR / "tests" / "data" / "gearbox-errors.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, code = line.split()
            rows.append((name, int(code)))
    return rows


GEARBOX_ERRORS = gearbox_errors()
OLD_NAMES = [("FOUND", "MOVED_TEMPORARILY"), ("REQUEST_TIMEOUT", "REQUEST_TIME_OUT"),
             ("REQUEST_URI_TOO_LONG", "REQUEST_URI_TOO_LARGE"),
             ("REQUESTED_RANGE_NOT_SATISFIABLE", "RANGE_NOT_SATISFIABLE"),
             ("GATEWAY_TIMEOUT", "GATEWAY_TIME_OUT"), ("HTTP_VERSION_NOT_SUPPORTED", "VERSION_NOT_SUPPORTED")]


def test_the_list_is_gearboxs():
    assert len(GEARBOX_ERRORS) == 38
    assert ("VARIANT_ALSO_VARIES", 506) in GEARBOX_ERRORS and ("NOT_EXTENDED", 510) in GEARBOX_ERRORS


@pytest.mark.parametrize("name, code", GEARBOX_ERRORS)
def test_every_gearbox_error_class_exists_with_its_code(name, code):
    cls = getattr(gearbox, "ERR_" + name)
    assert cls.code == code and cls.name == name
    assert getattr(gearbox, "ERR_CODE_%d" % code) is cls
    assert issubclass(cls, gearbox.GearboxError)
    assert "ERR_" + name in gearbox.__all__
    e = cls("because")
    assert e.code == code and e.format() == "%s [%d]: because" % (name, code)


@pytest.mark.parametrize("old, name", OLD_NAMES)
def test_todays_names_are_the_same_classes(old, name):
    assert getattr(gearbox, "ERR_" + old) is getattr(gearbox, "ERR_" + name)


class ErrorWorker(gearbox.Worker):
    def __init__(self, config):
        super().__init__(config)
        self.register_handler("do_get_pycompat_error_v1")
        self.register_handler("do_get_pycompat_metrics_v1")

    def do_get_pycompat_error_v1(self, job, resp):
        # Raises the class named by the argument, as a Gearbox worker would.
        raise getattr(gearbox, "ERR_" + job.arguments()[0])("raised " + job.arguments()[0])

    def do_get_pycompat_metrics_v1(self, job, resp):
        # Gearbox's workers/test-basic: scoreboard and stopwatch in a handler.
        gearbox.Scoreboard.initialize(job.component())
        sb = gearbox.get_scoreboard()
        sb.increment_counter("status", "pycompat")
        sw = gearbox.StopWatch()
        sw.start()
        sw.stop()
        sb.update_duration_hours("status", "pycompat", "duration_success", sw)
        resp.content(json.dumps(sb.counter("status", "pycompat")))
        return gearbox.WORKER_SUCCESS


@pytest.fixture(scope="module")
def served(tmp_path_factory, gearmand):
    conf = write_config(tmp_path_factory.mktemp("compat"), "pycompat", gearmand, [])
    worker = ErrorWorker(str(conf))
    client = GearmanClient(gearmand)
    yield worker, client
    client.close()
    worker.close()


def sync_call(worker, client, name, *args):
    handle = client.submit(name, envelope(name, arguments=args, component="pycompat"))
    assert worker.work_once(int(BOUND * 1000)) is True
    return client.reply(handle)


@pytest.mark.parametrize("name, code", GEARBOX_ERRORS)
def test_raising_a_gearbox_error_fails_the_job_with_its_code(served, name, code):
    reply = sync_call(*served, "do_get_pycompat_error_v1", name)
    assert reply["code"] == code
    assert json.loads(reply["content"])["messages"] == ["%s [%d]: raised %s" % (name, code, name)]


def test_raising_an_old_name_fails_with_gearboxs_name(served):
    reply = sync_call(*served, "do_get_pycompat_error_v1", "GATEWAY_TIMEOUT")
    assert reply["code"] == 504
    assert json.loads(reply["content"])["messages"] == ["GATEWAY_TIME_OUT [504]: raised GATEWAY_TIMEOUT"]


def test_a_worker_makes_its_component_the_current_scoreboard(tmp_path, gearmand):
    gearbox.Scoreboard.initialize("someone-else")
    with ErrorWorker(str(write_config(tmp_path, "pyown", gearmand, []))):
        assert gearbox.get_scoreboard().component() == "pyown"


def test_scoreboard_in_a_handler(served):
    before = gearbox.Scoreboard("pycompat").counter("status", "pycompat")
    reply = sync_call(*served, "do_get_pycompat_metrics_v1")
    assert reply["code"] == 0 and json.loads(reply["content"]) == before + 1
    board = gearbox.Scoreboard.snapshot()["components"]["pycompat"]
    assert board["counters"]["status"]["pycompat"] == before + 1
    assert board["durations"]["status"]["pycompat"]["duration_success"]["count"] >= 1


def test_stopwatch():
    sw = gearbox.StopWatch()
    assert not sw.running() and sw.elapsed() == 0
    sw.start()
    assert sw.running()
    first = sw.elapsed()
    stopped = sw.stop()
    assert stopped >= first >= 0 and not sw.running()
    assert sw.elapsed() == stopped  # a stopped watch keeps its reading


def test_scoreboard_counts_from_threads_and_reports_errors():
    sb = gearbox.Scoreboard.initialize("pythreads")
    assert gearbox.get_scoreboard().component() == "pythreads"

    def count():
        for _ in range(2000):
            sb.increment_counter("jobs", "shared")
    threads = [threading.Thread(target=count) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sb.counter("jobs", "shared") == 8000
    assert sb.add_counter("jobs", "shared", -8000) == 0
    sb.update_duration("jobs", "shared", "run", 1.5)
    run = gearbox.Scoreboard.snapshot()["components"]["pythreads"]["durations"]["jobs"]["shared"]["run"]
    assert run["count"] == 1 and run["max_seconds"] == 1.5
    with pytest.raises(gearbox.ERR_BAD_REQUEST):
        sb.update_duration("jobs", "shared", "run", -1)
    with pytest.raises(gearbox.ERR_BAD_REQUEST):
        gearbox.Scoreboard.initialize("")
