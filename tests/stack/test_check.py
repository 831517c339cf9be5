# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""gearbox-gateway --check: a misspelt schema file and a write handler
without a schema are reported with the right name and make the exit status
1; handlers come from a real gearmand (a worker registered with it) when it
answers, and the report says so when it does not; a clean config exits 0, a
bad command line 2."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "pylib"))
from gbxtest import free_port, gearman_status, port_open, wait_for  # noqa: E402

SOURCE_DIR = Path(os.environ.get("GBX_SOURCE_DIR") or Path(__file__).resolve().parents[2])
BUILD_DIR = Path(os.environ.get("GEARBOX_BUILD_DIR") or SOURCE_DIR / "build").resolve()
GATEWAY = BUILD_DIR / "gateway/gearbox-gateway"


def write(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value if isinstance(value, str) else json.dumps(value))
    return path


def notes_service(root, gearman_port):
    """A gateway config mounting the component notes, whose schema for PUT
    is misspelt put-notes-note-v1.js."""
    write(root / "notes.conf", {"component": "notes", "schemadir": "schemas",
                                "status": {"type": "sqlite", "path": "status.db"}})
    write(root / "schemas/put-notes-note-v1.js", {"type": "object", "required": ["text"]})
    write(root / "schemas/get-notes-note-v1.js", {"type": "null"})
    return write(root / "gw.conf", {"gearman": {"servers": ["127.0.0.1:%d" % gearman_port]},
                                     "status": {"type": "sqlite", "path": "status.db"},
                                     "locations": [{"prefix": "/notes", "auth": "none", "config": "notes.conf"}]})


def check(conf, *extra):
    return subprocess.run([str(GATEWAY), "--check", "--config", str(conf), *extra],
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def gearmand(tmp_path):
    port = free_port()
    proc = subprocess.Popen(["gearmand", "--listen=127.0.0.1", "--port=%d" % port, "--threads=1",
                             "--log-file=%s" % (tmp_path / "gearmand.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: port_open(port), "gearmand on port %d" % port)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def notes_worker(gearmand):
    """A worker (gearman's own CLI) registering the notes' PUT handler."""
    proc = subprocess.Popen(["gearman", "-w", "-h", "127.0.0.1", "-p", str(gearmand),
                             "-f", "do_put_notes_note_v1", "--", "cat"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: gearman_status(gearmand).get("do_put_notes_note_v1", (0, 0, 0))[2] >= 1,
                 "do_put_notes_note_v1 registered with gearmand")
        yield gearmand
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_misspelt_schema_with_gearmand(tmp_path, notes_worker):
    conf = notes_service(tmp_path, notes_worker)
    r = check(conf)
    assert r.returncode == 1, (r.stdout, r.stderr)
    out = r.stdout
    assert "gearmand 127.0.0.1:%d: " % notes_worker in out, out
    assert ("warning: schema file put-notes-note-v1.js matches no handler: \"put\" is not an "
            "operation (get, create, update, delete)") in out, out
    assert "the right name is create-notes-note-v1.js" in out, out
    # The handler gearmand knows, the file it would use: none, so it is loud.
    assert "  do_put_notes_note_v1 (gearmand): create -> no schema" in out, out
    assert "warning: write handler do_put_notes_note_v1 has no schema" in out, out
    assert "  do_get_notes_note_v1 (schema file): get -> get-notes-note-v1.js" in out, out
    assert out.rstrip().endswith("2 problems (the lines with \"warning:\" above)"), out

    # Renamed as the report says: all is well.
    (tmp_path / "schemas/put-notes-note-v1.js").rename(tmp_path / "schemas/create-notes-note-v1.js")
    r = check(conf)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "  do_put_notes_note_v1 (gearmand, schema file): create -> create-notes-note-v1.js" in r.stdout
    assert r.stdout.rstrip().endswith("configuration OK (1 location)"), r.stdout


def test_without_gearmand(tmp_path):
    conf = notes_service(tmp_path, free_port())
    r = check(conf)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "not reachable" in r.stdout, r.stdout
    assert "put-notes-note-v1.js matches no handler" in r.stdout, r.stdout


def test_bad_config_and_command_line(tmp_path):
    conf = write(tmp_path / "gw.conf", {"status": {"type": "sqlite", "path": "s.db"}, "locations": []})
    r = check(conf)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "bad configuration" in r.stderr, r.stderr
    r = check(conf, "--bogus")
    assert r.returncode == 2, (r.stdout, r.stderr)
