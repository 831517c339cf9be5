# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""The `$ curl` examples of the docs, run against `make demo`'s stack.

tools/demo (what `make demo` runs) is started as in test_demo.py, on a free
port instead of 4080, with its state in the test's directory; once every
worker it started has registered with gearmand, tests/docs/doccheck.py runs
each doc's curl blocks against it and compares status codes, the headers
shown and the JSON fields shown (the convention: docs/testing.md#doc-curl-blocks).
A doc that is absent is reported as skipped.  The demo is stopped through
its own process group (SIGINT, as Ctrl-C), and every process it started
must be gone.
"""

import os
import re
import subprocess
import sys

import pytest

from conftest import BUILD_DIR, SOURCE_DIR, free_ports, gearman_admin, pid_alive, stop_demo, wait_for

sys.path.insert(0, str(SOURCE_DIR / "tests/docs"))
import doccheck  # noqa: E402

DEMO = SOURCE_DIR / "tools/demo"
DOCS = ["README.md", "docs/orchestration.md", "docs/first-service.md"]


def registered_worker_pids(gearman_port):
    """Pids of the workers that registered functions with gearmand (from the
    client ids of the admin `workers` command: gearbox-<name>-<pid>)."""
    pids = set()
    for line in gearman_admin(gearman_port, "workers"):
        head, _, functions = line.partition(" : ")
        m = re.search(r"-(\d+)$", head)
        if m and functions.strip():
            pids.add(int(m.group(1)))
    return pids


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    port, gearman_port = free_ports(2)
    env = dict(os.environ)
    env.update(GEARBOX_PORT=str(port), GEARMAN_PORT=str(gearman_port), GEARBOX_STATE_DIR=str(root / "state"))
    out_path = root / "demo.out"
    with open(out_path, "wb") as out:
        proc = subprocess.Popen([str(DEMO), str(BUILD_DIR)], stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, env=env, cwd=str(root), start_new_session=True)

    def output():
        return out_path.read_text(errors="replace")

    def started():
        """{pid: label} of the processes the demo's supervisor started."""
        return {int(pid): label for label, pid in re.findall(r"started (\S+) pid (\d+)", output())}

    try:
        def ready():
            if proc.poll() is not None:
                raise AssertionError("demo exited with %s:\n%s" % (proc.returncode, output()))
            return "Press Ctrl-C" in output()
        wait_for(ready, "the demo to print its curl commands", timeout=120)
        # Started is not registered: wait until every worker the demo started
        # (whatever its stack.conf lists) has told gearmand its functions.
        workers = {pid for pid, label in started().items() if not label.startswith(("gearmand.", "gateway."))}
        wait_for(lambda: workers <= registered_worker_pids(gearman_port),
                 "the demo's workers (pids %s) to register with gearmand" % sorted(workers),
                 timeout=120)
        yield "http://127.0.0.1:%d" % port
    finally:
        rc = stop_demo(proc)
        for pid in started():
            wait_for(lambda: not pid_alive(pid), "pid %d to be gone" % pid, timeout=30)
    assert rc == 0, output()


@pytest.mark.parametrize("doc", DOCS)
def test_doc_curl_blocks_answer_as_shown(demo, doc):
    path = SOURCE_DIR / doc
    if not path.exists():
        print("%s: absent, skipped" % doc)
        pytest.skip("%s is absent: nothing to check" % doc)
    run, failures = doccheck.Checker(demo).check_doc(path, doc)
    assert run > 0, "%s has no `$ curl` commands to check" % doc
    if failures:
        pytest.fail("%s: %d of %d commands answer otherwise than the doc shows:\n%s"
                    % (doc, len(failures), run, "\n".join(failures)), pytrace=False)
