# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""`gearbox new` (tools/gearbox): for each language, the skeleton it writes
is started with the commands it prints (on free ports, through the
GEARMAN_PORT and GEARBOX_PORT its configs read) and answers the curl it
prints; and its errors leave nothing behind."""

import os
import re
import shlex
import signal
import subprocess

import pytest

from conftest import BUILD_DIR, Client, free_ports, gearman_status, pid_alive, wait_for

GEARBOX = BUILD_DIR / "tools/gearbox/gearbox"


def gearbox(*args, cwd=None):
    assert GEARBOX.exists(), "%s is missing: build first" % GEARBOX
    return subprocess.run([str(GEARBOX), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=60)


def commands(out, heading):
    """The indented command lines printed after `heading`."""
    part = out.split(heading, 1)[1].split("\n\n", 2)[1]
    return [line.strip() for line in part.splitlines() if line.startswith("  ")]


@pytest.mark.parametrize("lang,ext", [("python", "py"), ("perl", "pl"), ("php", "php"), ("c", "c")])
def test_skeleton_starts_and_answers(tmp_path, lang, ext):
    service = "notes" + lang
    target = tmp_path / service
    r = gearbox("new", service, "--lang", lang, "--dir", target)
    assert r.returncode == 0, r.stderr
    assert "build tree %s" % BUILD_DIR in r.stdout, r.stdout
    names = sorted(str(p.relative_to(target)) for p in target.rglob("*"))
    expected = ["%s.conf" % service, "%s_worker.%s" % (service, ext), "gateway.conf", "schemas",
                "schemas/create-%s-greeting-v1.js" % service, "schemas/get-%s-greeting-v1.js" % service,
                "stack.conf"] + (["CMakeLists.txt"] if lang == "c" else [])
    assert names == sorted(expected), names
    assert "hello" not in (target / ("%s_worker.%s" % (service, ext))).read_text().replace("HelloWorker", "") \
        .replace("hello.dir", "").replace('"hello"', ""), "the example's names are left in the worker"

    if lang == "c":
        for line in commands(r.stdout, "Build it:"):
            b = subprocess.run(line, shell=True, capture_output=True, text=True, timeout=240)
            assert b.returncode == 0, b.stdout + b.stderr

    cd, supervise = commands(r.stdout, "Run it")
    assert cd == "cd %s" % target
    gearman_port, http_port = free_ports(2)
    env = dict(os.environ, GEARMAN_PORT=str(gearman_port), GEARBOX_PORT=str(http_port))
    env.pop("GEARBOX_STATE_DIR", None)
    out = open(tmp_path / "supervise.out", "wb")
    sup = subprocess.Popen(["sh", "-c", "%s && exec %s" % (cd, supervise)], env=env, stdin=subprocess.DEVNULL,
                           stdout=out, stderr=out, start_new_session=True)
    log = lambda: (tmp_path / "supervise.out").read_text(errors="replace")  # noqa: E731
    try:
        wait_for(lambda: "all daemons started" in log() or (sup.poll() is not None and
                                                              pytest.fail("supervisor exited:\n" + log())),
                 "the skeleton's stack to start")
        wait_for(lambda: gearman_status(gearman_port).get("do_put_%s_greeting_v1" % service, (0, 0, 0))[2] >= 1,
                 "the skeleton's worker registered with gearmand")
        client = Client(http_port)
        put, get = commands(r.stdout, "Call it")
        body = re.search(r"-d '([^']*)'", put).group(1)
        url = put.split()[-1].replace("127.0.0.1:4080", "127.0.0.1:%d" % http_port)
        status = client.accepted("PUT", url, body)
        done = client.wait_completed(status["status_uri"])
        assert done["code"] == 0 and done["messages"][-1] == "greeting for Ann saved", done
        got = client.get(get.split()[-1].replace("127.0.0.1:4080", "127.0.0.1:%d" % http_port))
        assert got.status == 200 and got.json()["greeting"] == "Hello, Ann!", got
        assert client.put(url, {"text": 5}).status == 400          # the schema, under its new name
        assert (target / "state/status.db").exists()                # state beside the configs
    finally:
        sup.send_signal(signal.SIGTERM)
        assert sup.wait(timeout=60) == 0, log()
        out.close()
        started = [int(p) for p in re.findall(r"started \S+ pid (\d+)", log())]
        assert started and not [p for p in started if pid_alive(p)]


def test_help():
    for args in (["--help"], ["help"]):
        r = gearbox(*args)
        assert r.returncode == 0 and "new SERVICE --lang python|perl|php|c" in r.stdout, r
    r = gearbox("help", "new")
    assert r.returncode == 0 and "lowercase letters and digits" in r.stdout, r
    r = gearbox("new", "--help")
    assert r.returncode == 0 and "usage: gearbox new" in r.stdout, r
    r = gearbox("frobnicate")
    assert r.returncode == 2 and 'unknown command "frobnicate"' in r.stderr, r


@pytest.mark.parametrize("args,message", [
    (["new", "my_svc", "--lang", "python"], 'bad service name "my_svc": only lowercase letters and digits'),
    (["new", "Notes", "--lang", "python"], 'bad service name "Notes"'),
    (["new", "global", "--lang", "python"], 'bad service name "global"'),
    (["new", "notes", "--lang", "ruby"], 'unknown language "ruby": choose python, perl, php or c'),
    (["new", "notes"], "say which language: --lang python|perl|php|c"),
    (["new", "--lang", "perl"], "name the service"),
])
def test_bad_arguments_write_nothing(tmp_path, args, message):
    r = gearbox(*args, cwd=tmp_path)
    assert r.returncode == 2, r
    assert message in r.stderr, r.stderr
    assert list(tmp_path.iterdir()) == []


def test_existing_directory(tmp_path):
    target = tmp_path / "notes"
    target.mkdir()
    (target / "mine.txt").write_text("keep me")
    r = gearbox("new", "notes", "--lang", "php", "--dir", target)
    assert r.returncode == 2 and "%s exists and is not empty" % target in r.stderr, r
    assert [p.name for p in tmp_path.iterdir()] == ["notes"]
    assert [p.name for p in target.iterdir()] == ["mine.txt"]
    (target / "mine.txt").unlink()
    r = gearbox("new", "notes", "--lang", "php", "--dir", target)      # an empty one is fine
    assert r.returncode == 0, r.stderr
    assert (target / "notes_worker.php").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["notes"]          # no temporary directory left


def test_default_directory_is_the_service(tmp_path):
    r = gearbox("new", "notes", "--lang", "perl", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "notes/notes_worker.pl").exists()
    assert "in %s/notes:" % tmp_path in r.stdout


def test_outside_the_build_tree_it_names_the_installed_programs(tmp_path):
    """A copy of the binary elsewhere is an installed gearbox: no build-tree
    paths in what it writes (it needs no source or build tree either)."""
    import shutil
    copy = tmp_path / "bin/gearbox"
    copy.parent.mkdir()
    shutil.copy2(GEARBOX, copy)
    r = subprocess.run([str(copy), "new", "notes", "--lang", "php", "--dir", tmp_path / "notes"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    # (tmp_path may itself be under the build directory: look for its programs.)
    programs = [str(BUILD_DIR / d) for d in ("tools", "gateway", "bindings")]
    assert "runs from the build tree" not in r.stdout, r.stdout
    assert not [p for p in programs if p in r.stdout], r.stdout
    assert "  gearbox-supervise --foreground stack.conf" in r.stdout
    stack = (tmp_path / "notes/stack.conf").read_text()
    assert not [p for p in programs if p in stack], stack
    assert '/sbin/gearbox-gateway"' in stack and '"extension=gearbox.so"' in stack, stack
