# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""The hello service of docs/first-service.md, as the page builds it:
examples/hello/conf/stack.conf (gearmand, the worker in C, Python, Perl and
PHP, the gateway) under gearbox-supervise on free ports, and the page's
requests against each language: PUT -> 202 -> COMPLETED with the page's
messages, GET -> 200, an unknown greeting -> 404, a schema violation -> 400.
"""

import pytest

from conftest import (BUILD_DIR, SOURCE_DIR, Supervisor, check_error, free_ports, gearman_status,
                      stack_env, unique, wait_for, Client)

HELLO = SOURCE_DIR / "examples/hello"
# (prefix, component) of each language, as in examples/hello/conf/gateway.conf.
SERVICES = [("/hello", "hello"), ("/python/hello", "hellopython"),
            ("/perl/hello", "helloperl"), ("/php/hello", "hellophp")]


@pytest.fixture(scope="module")
def hello(tmp_path_factory):
    assert (BUILD_DIR / "examples/hello/gearbox-hello-worker").exists(), "build first"
    root = tmp_path_factory.mktemp("hello")
    (root / "state").mkdir()
    gearman_port, http_port = free_ports(2)
    sup = Supervisor(root, HELLO / "conf/stack.conf", stack_env(root, gearman_port, http_port)).start()
    try:
        sup.wait_started()
        handlers = ["do_%s_%s_greeting_v1" % (m, c) for _, c in SERVICES for m in ("put", "get")]
        wait_for(lambda: all(gearman_status(gearman_port).get(h, (0, 0, 0))[2] >= 1 for h in handlers),
                 "the hello workers' handlers registered with gearmand")
        yield Client(http_port)
    finally:
        assert sup.stop() == 0, sup.output()


@pytest.mark.parametrize("prefix,component", SERVICES)
def test_put_then_get(hello, prefix, component):
    name = unique("Ann").replace("-", "")
    status = hello.accepted("PUT", "%s/v1/greeting/%s" % (prefix, name), {"text": "Hello"})
    assert status["operation"] == "create"
    done = hello.wait_completed(status["status_uri"])
    assert done["code"] == 0 and done["progress"] == 100, done
    assert done["messages"] == ["writing the greeting for %s" % name, "greeting for %s saved" % name], done
    r = hello.get("%s/v1/greeting/%s" % (prefix, name))
    assert r.status == 200, r
    assert r.json() == {"name": name, "greeting": "Hello, %s!" % name}


@pytest.mark.parametrize("prefix,component", SERVICES)
def test_unknown_greeting_is_404(hello, prefix, component):
    r = hello.get("%s/v1/greeting/Nobody" % prefix)
    check_error(r, 404, "get", "NOT_FOUND [404]: no greeting for Nobody", exact=True)


@pytest.mark.parametrize("prefix,component", SERVICES)
def test_schema_violation_is_400(hello, prefix, component):
    r = hello.put("%s/v1/greeting/Ann" % prefix, {"text": 5})
    check_error(r, 400, "create", "BAD_REQUEST [400]")
    r = hello.put("%s/v1/greeting/Ann" % prefix, {"text": "Hi", "colour": "red"})
    check_error(r, 400, "create", "BAD_REQUEST [400]")


@pytest.mark.parametrize("prefix,component", SERVICES)
def test_bad_name_fails_the_status(hello, prefix, component):
    status = hello.accepted("PUT", "%s/v1/greeting/a.b" % prefix, {"text": "Hello"})
    done = hello.wait_completed(status["status_uri"])
    assert done["code"] == 400, done
    assert "letters and digits" in done["messages"][-1], done


def test_the_page_shows_the_files_as_they_are():
    """Each code block of docs/first-service.md marked <!-- file: PATH --> is
    that file of the source tree, so the page cannot drift from examples/hello."""
    import re
    page = (SOURCE_DIR / "docs/first-service.md").read_text()
    blocks = re.findall(r"<!-- file: (\S+) -->\n```[a-z]*\n(.*?)\n```\n", page, re.S)
    assert len(blocks) >= 8, blocks
    for path, text in blocks:
        assert text == (SOURCE_DIR / path).read_text().rstrip("\n"), "%s differs from the page" % path
