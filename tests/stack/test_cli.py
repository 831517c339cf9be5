# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""The gearbox command (tools/gearbox, docs/cli.md) against a real stack:
gearmand, the gateway, three C barn workers and a Python one.

Every command runs as a subprocess; its exit code, its --json output (parsed)
and its messages are checked.  The live view of `gearbox watch` runs in a
real terminal (a tmux session of a fixed size on a socket of the test's
own): the captured screen must show the job's children as a tree with their
own progress, redrawn in place, and Ctrl-C must stop the watching, not the
job.  The final screen is written to <build>/tests/stack/cli-watch.txt for
docs/cli.md.  Waits poll with generous bounds."""

import json
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import BUILD_DIR, SOURCE_DIR, STATUS_ID, free_port, start_stack, unique, wait_for

GEARBOX = BUILD_DIR / "tools/gearbox/gearbox"
GEARBOX_JSON = BUILD_DIR / "tools/gearbox-json/gearbox-json"
SCHEMA = SOURCE_DIR / "examples/barn/schemas/create-barn-animal-v1.js"
CAPTURE = BUILD_DIR / "tests/stack/cli-watch.txt"
ESC = "\x1b["


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = start_stack(tmp_path_factory.mktemp("cli"), workers=3, languages=["barnpython"])
    yield s
    assert s.supervisor.stop() == 0, s.supervisor.output()


def gbx(*args, stdin=None, env=None, timeout=120):
    """Runs the gearbox command (stdout a pipe: no terminal) and returns the
    CompletedProcess (text)."""
    e = dict(os.environ)
    e.pop("NO_COLOR", None)
    e.update(env or {})
    return subprocess.run([str(GEARBOX), *map(str, args)], input=stdin, capture_output=True, text=True,
                          timeout=timeout, env=e)


def ok(p, code=0):
    assert p.returncode == code, "exit %d (wanted %d)\nstdout: %s\nstderr: %s" % (
        p.returncode, code, p.stdout, p.stderr)
    return p


def submit_async(stack, method, path, body=None):
    """Submits without waiting; returns the status URI printed."""
    args = ["submit", method, stack.base + path] + (["-d", json.dumps(body)] if body is not None else [])
    uri = ok(gbx(*args)).stdout.strip()
    assert STATUS_ID.search(uri) and uri.startswith(stack.base), uri
    return uri


def running_with_progress(client, uri):
    """Waits until the job at `uri` is RUNNING with some progress."""
    return wait_for(lambda: (lambda s: s if s["state"] == "RUNNING" and s["progress"] > 0 else None)(
        client.status(uri)), "%s RUNNING with progress" % uri)


# ---- usage ----------------------------------------------------------------------

COMMANDS = ["submit", "watch", "status", "tree", "ls", "cancel", "reschedule", "queue", "validate", "new"]


def test_help_for_every_command():
    top = ok(gbx("--help")).stdout
    for command in COMMANDS:
        assert command in top
        assert ok(gbx(command, "--help")).stdout.startswith("usage: gearbox %s" % command)
        assert ok(gbx("help", command)).stdout.startswith("usage: gearbox %s" % command)
    assert "130" in ok(gbx("help", "exit-codes")).stdout


@pytest.mark.parametrize("args, message", [
    ([], "usage: gearbox COMMAND"),
    (["bogus"], 'unknown command "bogus"'),
    (["status"], "missing arguments"),
    (["status", "http://127.0.0.1:1/a", "extra"], 'unexpected argument "extra"'),
    (["status", "--bogus", "http://127.0.0.1:1/a"], "unknown option --bogus"),
    (["status", "ftp://example.org/x"], "is not an http:// or https:// URL"),
    (["submit", "P T", "http://127.0.0.1:1/a"], "is not an HTTP method"),
    (["submit", "PUT", "http://127.0.0.1:1/a", "--wait", "--no-wait"], "not both"),
    (["submit", "PUT", "http://127.0.0.1:1/a", "-H", "no colon"], "Name: value"),
    (["watch", "http://127.0.0.1:1/a", "--interval", "0"], "--interval needs seconds"),
    (["ls", "http://127.0.0.1:1"], "BASE_URL names a location"),
    (["ls", "http://127.0.0.1:1/barn", "--state", "DONE"], 'unknown state "DONE"'),
    (["ls", "http://127.0.0.1:1/barn", "--count", "0"], "--count needs a number"),
    (["ls", "http://127.0.0.1:1/barn", "--since", "yesterday"], '--since "yesterday"'),
    (["ls", "http://127.0.0.1:1/barn", "--count"], "option --count needs a value"),
    (["reschedule", "http://127.0.0.1:1/a", "tomorrow"], 'bad TIME "tomorrow"'),
    (["reschedule", "http://127.0.0.1:1/a", "+5x"], 'bad TIME "+5x"'),
    (["queue", "--timeout", "-1"], "--timeout needs seconds"),
    (["validate"], "name the schema"),
    (["validate", "--draft", "99", "s.json"], 'unknown dialect "99"'),
])
def test_bad_usage_exits_2_with_a_reason(args, message):
    p = ok(gbx(*args), 2)
    assert message in p.stderr, p.stderr
    assert p.stdout == ""


def test_bad_local_input_exits_5(tmp_path):
    p = ok(gbx("submit", "PUT", "http://127.0.0.1:1/barn/v1/animal/x", "-d", "{bad"), 5)
    assert "not JSON: line 1" in p.stderr
    p = ok(gbx("submit", "PUT", "http://127.0.0.1:1/barn/v1/animal/x", "-d", "@%s" % (tmp_path / "missing")), 5)
    assert "cannot read the body" in p.stderr
    p = ok(gbx("validate", SCHEMA, tmp_path / "missing.json"), 5)
    assert "missing.json" in p.stderr
    (tmp_path / "broken.json").write_text("{")
    ok(gbx("validate", SCHEMA, tmp_path / "broken.json"), 5)


def test_no_answer_exits_3():
    port = free_port()
    p = ok(gbx("status", "http://127.0.0.1:%d/barn/v1/status/s-x" % port), 3)
    assert "no answer from" in p.stderr
    p = ok(gbx("queue", "--gearmand", "127.0.0.1:%d" % port, "--json"), 3)
    assert "error" in json.loads(p.stdout)["servers"]["127.0.0.1:%d" % port]


# ---- submit ------------------------------------------------------------------------

def test_submit_sync(stack):
    name = unique("Wilbur")
    uri = submit_async(stack, "PUT", "/barn/v1/animal/" + name, {"name": name})
    stack.client.wait_completed(uri)
    p = ok(gbx("submit", "GET", stack.base + "/barn/v1/animal/" + name))
    assert json.loads(p.stdout) == {"name": name}
    # An error answer: the messages on stderr, the code mapped (404 -> 14).
    p = ok(gbx("submit", "GET", stack.base + "/barn/v1/animal/" + unique("nobody")), 14)
    assert "NOT_FOUND [404]" in p.stderr and p.stdout == ""
    p = ok(gbx("submit", "GET", stack.base + "/barn/v1/animal/" + unique("nobody"), "--json"), 14)
    assert json.loads(p.stdout)["code"] == 404
    # A body the schema refuses: 400 -> 10, nothing queued.
    p = ok(gbx("submit", "PUT", stack.base + "/barn/v1/animal/x", "-d", '{"name": "x", "personality": 1}'), 10)
    assert "personality" in p.stderr


def test_submit_async_without_wait(stack, tmp_path):
    name = unique("Charlotte")
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"name": name}))
    # Not on a terminal: no waiting unless asked; the status URI alone on stdout.
    uri = ok(gbx("submit", "PUT", stack.base + "/barn/v1/animal/" + name, "-d", "@%s" % body)).stdout.strip()
    assert STATUS_ID.fullmatch(uri.rsplit("/", 1)[1]), uri
    assert stack.client.wait_completed(uri)["code"] == 0
    p = ok(gbx("submit", "PUT", stack.base + "/barn/v1/animal/" + name, "-d", "@-", "--json",
               stdin=json.dumps({"name": name})))
    status = json.loads(p.stdout)
    assert status["operation"] == "create" and STATUS_ID.search(status["status_uri"])


def test_submit_wait_exit_codes(stack):
    chore = unique("monday")
    p = ok(gbx("submit", "PUT", stack.base + "/barn/v1/chore/" + chore, "--wait"))
    lines = p.stdout.splitlines()
    assert lines[0].startswith("accepted: " + stack.base)
    assert all(re.match(r"\[\+\d+\.\ds\] ", line) for line in lines[1:]), lines
    assert "chore %s: the barn is swept" % chore in p.stdout
    assert lines[-1].endswith("COMPLETED  100%  code 0"), lines
    # A failing job: its code 409 -> exit 19, the failure on the way.
    p = ok(gbx("submit", "PUT", stack.base + "/barn/v1/chore/" + unique("tuesday"), "-d", '{"fail": "milk"}',
               "--wait"), 19)
    assert "CONFLICT [409]" in p.stdout and p.stdout.splitlines()[-1].endswith("code 409")
    # --json --wait: the final status only.
    p = ok(gbx("submit", "PUT", stack.base + "/barn/v1/chore/" + unique("wednesday"), "-d", '{"fail": "sweep"}',
               "--wait", "--json"), 19)
    final = json.loads(p.stdout)
    assert final["state"] == "COMPLETED" and final["code"] == 409 and final["progress"] == 100


def test_submit_wait_timeout_exits_6(stack):
    uri = submit_async(stack, "PUT", "/barn/v1/alarm/" + unique("late"), {"seconds": 600})
    p = ok(gbx("watch", uri, "--timeout", "1"), 6)
    assert "gave up after 1s" in p.stderr
    ok(gbx("cancel", uri, "--wait", "--timeout", "60"))


# ---- status, tree, watch -----------------------------------------------------------

def field_with_children(stack, rows=4, row_seconds=0.2, name=None):
    name = name or unique("field")
    uri = submit_async(stack, "PUT", "/barn/v1/field/" + name,
                       {"rows": rows, "row_seconds": row_seconds, "helpers": 1, "neighbours": 1})
    return name, uri


def test_watch_piped_status_and_tree(stack):
    name, uri = field_with_children(stack)
    p = ok(gbx("watch", uri))
    lines = p.stdout.splitlines()
    assert lines[0].endswith("create /barn/v1/field/" + name), lines
    assert "field %s: all 4 rows ploughed" % name in p.stdout
    # Its children, indented, each with its own progress, to the end.
    for child in ("/barn/v1/field/%s-helper1" % name, "/python/barn/v1/field/%s-neighbour1" % name):
        mine = [line for line in lines if child in line]
        assert mine and "COMPLETED  100%" in mine[-1] and "code 0" in mine[-1], lines
    assert ESC not in p.stdout  # no colour when piped
    # status: the full view; --json the status object.
    p = ok(gbx("status", uri))
    assert "state       COMPLETED (code 0)" in p.stdout and "children" in p.stdout
    status = json.loads(ok(gbx("status", uri, "--json")).stdout)
    assert status["status_uri"] == uri and len(status["children"]) == 2
    # The W3C trace id (meta.trace_id): in the status view and below the watch's first line.
    assert "trace_id    %s" % status["meta"]["trace_id"] in p.stdout
    assert lines[1].endswith("trace " + status["meta"]["trace_id"]), lines
    # tree: the children under their locations, read from there.
    tree = json.loads(ok(gbx("tree", uri, "--json")).stdout)
    assert tree["status"]["code"] == 0
    components = sorted(c["status"]["component"] for c in tree["children"])
    assert components == ["barn", "barnpython"], tree
    p = ok(gbx("tree", uri), 0)
    assert "%s-neighbour1" % name in p.stdout and "%s-helper1" % name in p.stdout


def test_watch_json_lines(stack):
    name, uri = field_with_children(stack, rows=3)
    p = ok(gbx("watch", uri, "--json"))
    snapshots = [json.loads(line) for line in p.stdout.splitlines()]
    assert len(snapshots) >= 2
    assert snapshots[-1]["status"]["state"] == "COMPLETED"
    assert all(c["status"]["state"] == "COMPLETED" for c in snapshots[-1]["children"])
    progress = [s["status"]["progress"] for s in snapshots if "status" in s]
    assert progress == sorted(progress)


def test_unknown_status(stack):
    missing = stack.base + "/barn/v1/status/s-" + "0" * 26
    for command in ("status", "tree", "watch", "cancel"):
        p = ok(gbx(command, missing), 14)
        assert "NOT_FOUND [404]" in p.stderr, (command, p.stderr)


# ---- ls ------------------------------------------------------------------------------

def test_ls_filters(stack):
    before = int(time.time())
    good = submit_async(stack, "PUT", "/barn/v1/chore/" + unique("thursday"))
    bad = submit_async(stack, "PUT", "/barn/v1/chore/" + unique("friday"), {"fail": "feed"})
    long_job = submit_async(stack, "PUT", "/barn/v1/field/" + unique("long"), {"rows": 200, "row_seconds": 0.5})
    stack.client.wait_completed(good)
    stack.client.wait_completed(bad)
    running_with_progress(stack.client, long_job)

    def listed(*args):
        p = ok(gbx("ls", stack.base + "/barn", "--json", *args))
        return [s["status_uri"] for s in json.loads(p.stdout)["statuses"]], json.loads(p.stdout)["statuses"]

    uris, statuses = listed("--state", "RUNNING", "--count", "100")
    assert long_job in uris and good not in uris and all(s["state"] == "RUNNING" for s in statuses)
    uris, statuses = listed("--state", "completed", "--count", "100")
    assert good in uris and bad in uris and long_job not in uris
    uris, _ = listed("--count", "2")
    assert len(uris) == 2
    # Newest first: the three made here, before anything older.
    uris, _ = listed("--since", str(before), "--count", "100")
    assert {good, bad, long_job} <= set(uris)
    uris, _ = listed("--since", str(before + 3600))
    assert uris == []
    ok(gbx("ls", stack.base + "/barn", "--since", "+1d"), 2)
    uris, _ = listed("--since", "10m", "--count", "100")
    assert {good, bad, long_job} <= set(uris)
    # The same base as .../barn/v1 and .../barn/v1/status.
    for base in ("/barn/v1", "/barn/v1/status"):
        p = ok(gbx("ls", stack.base + base, "--state", "RUNNING", "--count", "100"))
        assert long_job in p.stdout and ESC not in p.stdout
    ok(gbx("cancel", long_job, "--wait", "--timeout", "60"))


# ---- cancel, reschedule ---------------------------------------------------------------

def test_cancel_a_long_job(stack):
    uri = submit_async(stack, "PUT", "/barn/v1/field/" + unique("west"), {"rows": 200, "row_seconds": 0.5})
    running_with_progress(stack.client, uri)
    p = ok(gbx("cancel", uri))
    own = p.stdout.splitlines()[1].split(": ", 1)[1]
    assert STATUS_ID.search(own) and own != uri
    # A second cancellation while the first runs: 409 -> 19 (unless the
    # first one has finished already: a CANCELLED job may be cancelled again).
    p = gbx("cancel", uri)
    assert p.returncode == 0 or (p.returncode == 19 and "CONFLICT [409]" in p.stderr), p
    # Watching the job: it ends CANCELLED, code 410 -> exit 20.
    p = ok(gbx("watch", uri, "--timeout", "60"), 20)
    status = json.loads(ok(gbx("status", uri, "--json")).stdout)
    assert status["state"] == "CANCELLED" and status["code"] == 410
    # cancel --wait --json follows the cancellation's own status to its end.
    other = submit_async(stack, "PUT", "/barn/v1/field/" + unique("east"), {"rows": 200, "row_seconds": 0.5})
    running_with_progress(stack.client, other)
    final = json.loads(ok(gbx("cancel", other, "--wait", "--json", "--timeout", "60")).stdout)
    assert final["operation"] == "update" and final["code"] == 0 and final["uri"] == other
    assert stack.client.status(other)["state"] == "CANCELLED"


def test_reschedule(stack):
    uri = submit_async(stack, "PUT", "/barn/v1/alarm/" + unique("rooster"), {"seconds": 600})
    wait_for(lambda: stack.client.status(uri).get("ytime"), "the alarm's ytime")
    # ISO-8601 and unix seconds move it (far ahead still) ...
    p = ok(gbx("reschedule", uri, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 900)), "--json"))
    assert abs(json.loads(p.stdout)["ytime"] - (time.time() + 900)) < 30
    target = int(time.time()) + 1200
    p = ok(gbx("reschedule", uri, str(target)))
    assert "runs at" in p.stdout and "(ytime %d)" % target in p.stdout
    # ... and "+1s" makes it ring now.
    ok(gbx("reschedule", uri, "+1s"))
    assert ok(gbx("watch", uri, "--timeout", "60")).stdout.splitlines()[-1].endswith("code 0")
    # Nothing waits any more: 409 -> 19.
    p = ok(gbx("reschedule", uri, "+1m"), 19)
    assert "CONFLICT [409]" in p.stderr


# ---- queue, validate ---------------------------------------------------------------

def test_queue(stack):
    server = "127.0.0.1:%d" % stack.gearman_port
    doc = json.loads(ok(gbx("queue", "--gearmand", server, "--json")).stdout)
    barn = doc["servers"][server]["do_get_barn_animal_v1"]
    assert barn["workers"] == 3 and barn["queued"] == barn["total"] - barn["running"]
    assert doc["servers"][server]["do_get_barnpython_animal_v1"]["workers"] == 1
    p = ok(gbx("queue", env={"GEARBOX_GEARMAND": server}))
    row = next(line for line in p.stdout.splitlines() if "do_put_barn_animal_v1" in line)
    assert row.split()[1:] == ["0", "0", "3"], row
    # A job that no worker takes shows as queued.
    uri = submit_async(stack, "PUT", "/silo/v1/grain/" + unique("wheat"))
    doc = json.loads(ok(gbx("queue", "--gearmand", server, "--json")).stdout)
    assert doc["servers"][server]["do_put_silo_grain_v1"]["queued"] >= 1
    assert doc["servers"][server]["do_put_silo_grain_v1"]["workers"] == 0
    ok(gbx("cancel", uri, "--wait", "--timeout", "60"))


def test_validate_shares_gearbox_json(tmp_path):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text('{"name": "Wilbur", "legs": 4}')
    bad.write_text('{"name": "Wilbur", "legs": "four", "personality": "some"}')
    assert ok(gbx("validate", SCHEMA, good, "--draft", "legacy")).stdout == "%s: valid\n" % good
    p = ok(gbx("validate", SCHEMA, bad, "--draft", "legacy"), 1)
    assert p.stdout.startswith("%s: not valid" % bad)
    doc = json.loads(ok(gbx("validate", "--json", SCHEMA, bad, "--draft", "legacy"), 1).stdout)
    assert doc["valid"] is False
    # The same violations as gearbox-json's, from the same code.
    tool = subprocess.run([str(GEARBOX_JSON), "validate", "--draft", "legacy", str(SCHEMA), str(bad)],
                          capture_output=True, text=True, timeout=60)
    assert tool.returncode == 1
    assert sorted(tuple(line.split("\t")) for line in tool.stdout.splitlines()) == \
        sorted((v["pointer"], v["message"], v["keyword"]) for v in doc["violations"])
    p = ok(gbx("validate", SCHEMA, "-", "--draft", "legacy", "--json", stdin='{"name": "Fern"}'))
    assert json.loads(p.stdout) == {"valid": True, "violations": []}


# ---- a real terminal ----------------------------------------------------------------

class Terminal:
    """A tmux session of a fixed size on the test's own server socket."""

    def __init__(self, tmp_path, command, env="", width=110, height=24):
        self.socket = str(tmp_path / "tmux.sock")
        self.tmux(["new-session", "-d", "-s", "cli", "-x", str(width), "-y", str(height),
                   "env LANG=C.UTF-8 %s %s; echo EXIT=$?; read _" % (env, command)])

    def tmux(self, args):
        return subprocess.run(["tmux", "-f", "/dev/null", "-S", self.socket, *args], check=True,
                              capture_output=True, text=True, timeout=30).stdout

    def screen(self, escapes=False):
        return self.tmux(["capture-pane", "-p", "-t", "cli"] + (["-e"] if escapes else []))

    def wait_screen(self, predicate, what, timeout=60):
        return wait_for(lambda: (lambda s: s if predicate(s) else None)(self.screen()), what, timeout, 0.1)

    def close(self):
        subprocess.run(["tmux", "-f", "/dev/null", "-S", self.socket, "kill-server"], capture_output=True,
                       timeout=30)


@pytest.fixture
def terminal(tmp_path):
    assert shutil.which("tmux"), "tmux is missing (packaging/apt-packages.txt)"
    made = []

    def open_terminal(command, **kw):
        made.append(Terminal(tmp_path, command, **kw))
        return made[-1]
    yield open_terminal
    for t in made:
        t.close()


def test_watch_in_a_terminal(stack, terminal):
    # A plain name: the screen goes into docs/cli.md.
    name, uri = field_with_children(stack, rows=16, row_seconds=0.4, name="north")
    t = terminal("%s watch %s" % (GEARBOX, uri), width=120)
    child_rows = re.compile(r"[├└]─ RUNNING +[█░]{10} +\d+%  create /(python/)?barn/v1/field/" + re.escape(name))

    # Live: the bar, the state, the children as a tree with their own progress.
    root_row = re.compile(r"RUNNING    [█░]{20} +(\d+)%  create /barn/v1/field/" + re.escape(name))
    running = t.wait_screen(lambda s: len(child_rows.findall(s)) == 2 and root_row.search(s)
                            and int(root_row.search(s).group(1)) >= 30, "both children RUNNING, 30 % done")
    assert "elapsed 0:0" in running and "Ctrl-C stops watching" in running
    assert "field %s: row " % name in running
    assert ESC + "36m" in t.screen(escapes=True)  # colour on a terminal
    # The end: one frame (redrawn in place, not appended), the exit code.
    final = t.wait_screen(lambda s: "EXIT=" in s, "the watch to end")
    assert "EXIT=0" in final, final
    assert final.count("elapsed") == 1, final
    assert final.lstrip().startswith("✔ COMPLETED  ████████████████████ 100%  create /barn/v1/field/" + name)
    for branch, path in (("├", "/barn/v1/field/%s-helper1"), ("└", "/python/barn/v1/field/%s-neighbour1")):
        row = "%s─ COMPLETED  %s 100%%  create %s" % (branch, "█" * 10, path % name)
        assert row in final, final
    CAPTURE.parent.mkdir(parents=True, exist_ok=True)
    CAPTURE.write_text("-- running --\n%s\n-- ended --\n%s" % (running.rstrip(), final.rstrip() + "\n"))


def test_submit_waits_on_a_terminal(stack, terminal):
    # No --wait: on a terminal an async answer is followed all the same.
    chore = unique("sunday")
    t = terminal("%s submit PUT %s/barn/v1/chore/%s -d '{\"fail\": \"sweep\"}'" % (GEARBOX, stack.base, chore))
    screen = t.wait_screen(lambda s: "EXIT=" in s, "the submit to end")
    assert "EXIT=19" in screen, screen
    assert "✘ COMPLETED" in screen and "create /barn/v1/chore/" + chore in screen and "code 409" in screen


def test_no_color_in_a_terminal(stack, terminal):
    uri = submit_async(stack, "PUT", "/barn/v1/chore/" + unique("saturday"))
    t = terminal("%s watch %s" % (GEARBOX, uri), env="NO_COLOR=1")
    t.wait_screen(lambda s: "EXIT=0" in s, "the watch to end")
    assert ESC + "3" not in t.screen(escapes=True)


def test_ctrl_c_stops_watching_not_the_job(stack, terminal):
    uri = submit_async(stack, "PUT", "/barn/v1/field/" + unique("ctrlc"), {"rows": 200, "row_seconds": 0.5})
    t = terminal("%s watch %s" % (GEARBOX, uri))
    t.wait_screen(lambda s: "RUNNING" in s and "ploughed" in s, "the live view")
    t.tmux(["send-keys", "-t", "cli", "C-c"])
    screen = t.wait_screen(lambda s: "EXIT=" in s, "the watch to stop")
    assert "EXIT=130" in screen and "stopped watching; the job goes on" in screen, screen
    # The job goes on.
    before = stack.client.status(uri)
    assert before["state"] == "RUNNING"
    wait_for(lambda: stack.client.status(uri)["progress"] > before["progress"], "the job to go on")
    ok(gbx("cancel", uri, "--wait", "--timeout", "60"))
