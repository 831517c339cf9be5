# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""Authentication and access in a real stack (docs/security.md, "Authentication
and access"): gearmand, the "vault" worker (auth_worker.py, which shows the
envelope it receives) and the gateway with three locations on one component:
/vault (bearer tokens), /basic (Basic with crypt hashes made here) and /open
("auth": "none").  401 and 403 answers, scopes, statuses owned by the
principal that created them, credentials absent from the store and from the
envelope, token files re-read on SIGHUP; rate limits (429) on a second
gateway of its own."""

import base64
import hashlib
import json
import os
import signal
import subprocess

import pytest

from conftest import (GATEWAY, SOURCE_DIR, STATUS_ID, STORE, Client, check_error, free_ports,
                      gateway_daemon, gearman_status, gearmand_daemon, mariadb_server, port_open,
                      start_supervised, status_section, unique, wait_for, write_json)

WORKER = SOURCE_DIR / "tests/stack/auth_worker.py"
TOKENS = {  # token -> (principal, scopes)
    "alice-secret-token": ("alice", "read,write,cancel"),
    "bob-secret-token": ("bob", "read,write,cancel"),
    "reader-secret-token": ("reader", "read"),
    "writer-secret-token": ("writer", "read,write"),
    "boss-secret-token": ("boss", "admin"),
}
PASSWORD = "some-secret-pig"
COOKIE = "session=cookie-secret-value"
PROXY = "Basic cHJveHk6cHJveHktc2VjcmV0"  # proxy:proxy-secret


def token_lines(tokens):
    return "".join("%s %s %s\n" % (hashlib.sha256(t.encode()).hexdigest(), p, s) for t, (p, s) in tokens.items())


def bearer(token):
    return {"Authorization": "Bearer " + token}


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()}


ALICE, BOB, READER, WRITER, BOSS = (bearer(t) for t in TOKENS)
STACK_STORE = {}  # the vault's "status" section


def mariadb_dump(root):
    """Every row of the MariaDB store's tables, as bytes."""
    db = STACK_STORE["status"]["database"]
    rows = []
    for table in ("gbx_status", "gbx_queue", "gbx_idempotency", "gbx_counter"):
        rows += mariadb_server().sql("SELECT * FROM %s" % table, database=db)
    return "\n".join("\t".join(r) for r in rows).encode()


@pytest.fixture(scope="module")
def vault(tmp_path_factory):
    root = tmp_path_factory.mktemp("auth")
    (root / "state").mkdir()
    gearman_port, http_port = free_ports(2)
    store = status_section(root)  # SQLite, or MariaDB for stack.auth.mariadb
    STACK_STORE["status"] = store
    gearman = {"servers": ["127.0.0.1:${GEARMAN_PORT}"]}
    write_json(root / "vault.conf", {"component": "vault", "gearman": gearman, "status": store,
                                     "handlers": ["do_put_vault_wait_v1"]})
    (root / "tokens").write_text("# principals of test_auth.py\n" + token_lines(TOKENS))
    # SHA-512-crypt, made the way an operator would.
    sha512 = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=PASSWORD, capture_output=True,
                            text=True, check=True).stdout.strip()
    (root / "htpasswd").write_text("wilbur:%s\n" % sha512)
    write_json(root / "gateway.conf", {
        "listen": {"address": "127.0.0.1", "port": "${GEARBOX_PORT}"},
        "gearman": gearman, "status": store, "threads": 2, "log": {"level": "info"},
        "locations": [
            {"prefix": "/vault", "config": "vault.conf", "timeout": 30,
             "auth": {"type": "bearer", "tokens_file": "tokens"}},
            {"prefix": "/basic", "config": "vault.conf", "timeout": 30,
             "auth": {"type": "basic", "htpasswd": "htpasswd"}},
            {"prefix": "/open", "config": "vault.conf", "timeout": 30, "auth": "none"}]})
    daemons = [
        gearmand_daemon(),
        {"name": "vault", "command": ["/usr/bin/python3", str(WORKER), "--config", "${GEARBOX_STACK_DIR}/vault.conf"],
         "env": {"PYTHONPATH": "${GEARBOX_BUILD_DIR}/bindings/python"}},
        gateway_daemon(),
    ]
    sup = start_supervised(root, daemons, gearman_port, http_port)
    try:
        wait_for(lambda: gearman_status(gearman_port).get("do_post_vault_child_v1", (0, 0, 0))[2] >= 1,
                 "the vault worker registered")
        yield sup, Client(http_port), root, gearman_port
    finally:
        assert sup.stop() == 0, sup.output()


def create(client, headers, prefix="/vault", resource="envelope"):
    r = client.put("%s/v1/%s/%s" % (prefix, resource, unique("v")), {}, headers=headers)
    assert r.status == 202, r
    return r.json()


def completed(client, status_uri, headers):
    def done():
        r = client.get(status_uri, headers=headers)
        assert r.status == 200, r
        return r.json() if r.json()["state"] == "COMPLETED" else None
    return wait_for(done, "COMPLETED at " + status_uri)


def test_credentials_required(vault):
    _, client, _, _ = vault
    r = client.get("/vault/v1/status")
    check_error(r, 401, "get", "authentication required")
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    r = client.put("/vault/v1/envelope/x", {}, headers=bearer("not-a-token"))
    check_error(r, 401, "put", "invalid bearer token")
    assert "not-a-token" not in r.body.decode()
    r = client.get("/basic/v1/status", headers=basic("wilbur", "wrong"))
    check_error(r, 401, "get", "invalid user name or password")
    assert r.headers["WWW-Authenticate"].startswith("Basic")
    # A token is not a password, nor the other way round.
    check_error(client.get("/basic/v1/status", headers=ALICE), 401, "get", "Basic")
    # Problem details when asked.
    r = client.get("/vault/v1/status", headers={"Accept": "application/problem+json"})
    assert r.status == 401 and r.headers["Content-Type"] == "application/problem+json"
    assert r.json()["status"] == 401
    # The open location asks for nothing.
    assert client.get("/open/v1/status").status == 200


def test_scopes(vault):
    _, client, _, _ = vault
    check_error(client.put("/vault/v1/envelope/x", {}, headers=READER), 403, "create",
                "needs the \"write\" scope")
    assert client.get("/vault/v1/status", headers=READER).status == 200
    st = create(client, WRITER)
    # Writer created it but has no cancel scope: 403 even on its own.
    r = client.post(st["status_uri"], {"state": "CANCELLED"}, headers=WRITER)
    check_error(r, 403, "update", "needs the \"cancel\" scope")
    # Admin may do everything.
    assert client.get(st["status_uri"], headers=BOSS).status == 200
    assert client.get("/vault/v1/envelope/x", headers=BOSS).status == 200


def test_statuses_belong_to_their_principal(vault):
    _, client, _, _ = vault
    mine = create(client, ALICE)
    theirs = create(client, BOB)
    assert client.get(mine["status_uri"], headers=ALICE).status == 200
    # Not "forbidden": another principal is not told it exists.
    check_error(client.get(mine["status_uri"], headers=BOB), 404, "get", "not found")
    check_error(client.get(mine["status_uri"], headers=READER), 404, "get", "not found")
    # Nor is an open location, nor another location's principal.
    path = Client.path_of(mine["status_uri"])
    assert client.get(path.replace("/vault/", "/open/")).status == 404
    assert client.get(path.replace("/vault/", "/basic/"), headers=basic("wilbur", PASSWORD)).status == 404
    # Collections: each principal's own; admin sees all.
    alice_ids = client.get("/vault/v1/status;_count=100", headers=ALICE).json()["statuses"]
    bob_ids = client.get("/vault/v1/status;_count=100", headers=BOB).json()["statuses"]
    boss_ids = client.get("/vault/v1/status;_count=100", headers=BOSS).json()["statuses"]
    mine_id, theirs_id = STATUS_ID.search(mine["status_uri"]).group(0), STATUS_ID.search(theirs["status_uri"]).group(0)
    assert mine_id in alice_ids and theirs_id not in alice_ids
    assert theirs_id in bob_ids and mine_id not in bob_ids
    assert {mine_id, theirs_id} <= set(boss_ids)
    assert mine_id not in client.get("/open/v1/status;_count=100").json()["statuses"]
    expanded = client.get("/vault/v1/status;_expand=1;_count=100", headers=BOB).json()["statuses"]
    assert all(s["status_uri"] != mine["status_uri"] for s in expanded)


def test_cancel_and_reschedule_by_owner_only(vault):
    _, client, _, _ = vault
    waiting = create(client, ALICE, resource="wait")  # no worker serves it: stays PENDING
    check_error(client.post(waiting["status_uri"], {"state": "CANCELLED"}, headers=BOB), 404, "update",
                "not found")
    check_error(client.post(waiting["status_uri"], {"ytime": 0}, headers=BOB), 404, "update", "not found")
    assert client.post(waiting["status_uri"], {"state": "CANCELLED"}, headers={}).status == 401
    assert client.get(waiting["status_uri"], headers=ALICE).json()["state"] == "PENDING"
    r = client.post(waiting["status_uri"], {"state": "CANCELLED"}, headers=ALICE)
    assert r.status == 202, r
    # The cancel operation's status is Alice's too.
    assert client.get(r.json()["status_uri"], headers=ALICE).status == 200
    assert client.get(r.json()["status_uri"], headers=BOB).status == 404
    other = create(client, ALICE, resource="wait")
    assert client.post(other["status_uri"], {"state": "CANCELLED"}, headers=BOSS).status == 202


def test_children_belong_to_the_parents_principal(vault):
    _, client, _, _ = vault
    r = client.post("/vault/v1/child/%s" % unique("c"), {}, headers=ALICE)
    assert r.status == 202, r
    parent = completed(client, r.json()["status_uri"], ALICE)
    assert len(parent["children"]) == 1, parent
    child = parent["children"][0]
    assert client.get(child, headers=ALICE).status == 200
    assert client.get(child, headers=BOB).status == 404
    child_id = STATUS_ID.search(child).group(0)
    assert child_id in client.get("/vault/v1/status;_count=100", headers=ALICE).json()["statuses"]
    envelope = json.loads(completed(client, child, ALICE)["meta"]["envelope"])
    assert envelope["remote"]["user"] == "alice"


def test_secrets_never_reach_the_worker_or_the_store(vault):
    _, client, root, _ = vault
    secrets = {**ALICE, "Cookie": COOKIE, "Proxy-Authorization": PROXY, "X-Kept": "yes"}
    st = create(client, secrets)
    envelope = json.loads(completed(client, st["status_uri"], ALICE)["meta"]["envelope"])
    for name in ("authorization", "cookie", "proxy-authorization"):
        assert name not in envelope["headers"], envelope
    assert envelope["headers"]["x-kept"] == "yes"
    assert envelope["remote"]["user"] == "alice"
    assert envelope["remote"]["scopes"] == "read,write,cancel"
    # Sync jobs too, and Basic.
    r = client.get("/vault/v1/envelope/x", headers=secrets)
    assert r.status == 200, r
    sync = r.json()
    assert "authorization" not in sync["headers"] and "cookie" not in sync["headers"]
    assert sync["remote"] == {"ip": "127.0.0.1", "user": "alice", "scopes": "read,write,cancel"}
    assert sync["accessors"] == {"remote_user": "alice", "remote_scopes": "read,write,cancel"}
    r = client.put("/basic/v1/envelope/%s" % unique("b"), {}, headers={**basic("wilbur", PASSWORD), "Cookie": COOKIE})
    assert r.status == 202, r
    envelope = json.loads(completed(client, r.json()["status_uri"], basic("wilbur", PASSWORD))["meta"]["envelope"])
    assert envelope["remote"]["user"] == "wilbur" and "authorization" not in envelope["headers"]
    # A claimed identity on an open location is no identity.
    r = client.get("/open/v1/envelope/x", headers=basic("admin", "anything"))
    assert r.status == 200, r
    assert "user" not in r.json()["remote"] and "authorization" not in r.json()["headers"]
    assert r.json()["accessors"] == {"remote_user": None, "remote_scopes": None}
    # Nothing of it at rest: the store's files (database and journal), or
    # every status row and queue row of the MariaDB database.
    if STORE == "mariadb":
        data = mariadb_dump(root)
    else:
        data = b"".join(p.read_bytes() for p in (root / "state").iterdir() if p.is_file())
    assert b"x-kept" in data and b"alice" in data  # the envelopes and owners are there
    for secret in list(TOKENS) + [PASSWORD, "cookie-secret-value", PROXY.split()[1],
                                  base64.b64encode(("wilbur:" + PASSWORD).encode()).decode()]:
        assert secret.encode() not in data, secret


def test_failed_attempts_are_logged_without_the_secret(vault):
    sup, client, _, _ = vault
    assert client.get("/vault/v1/status", headers=bearer("guessed-token-1234")).status == 401
    log = sup.log_dir / "gateway.0.log"
    wait_for(lambda: "authentication failed" in log.read_text(), "the failed attempt in the log")
    assert "guessed-token-1234" not in log.read_text()


def test_sighup_rereads_the_tokens(vault):
    sup, client, root, _ = vault
    carol = "carol-secret-token"
    assert client.get("/vault/v1/status", headers=bearer(carol)).status == 401
    tokens = dict(TOKENS)
    del tokens["reader-secret-token"]
    tokens[carol] = ("carol", "read")
    (root / "tokens").write_text(token_lines(tokens))
    os.kill(sup.pid_of("gateway.0"), signal.SIGHUP)
    wait_for(lambda: client.get("/vault/v1/status", headers=bearer(carol)).status == 200, "carol's token to work")
    assert client.get("/vault/v1/status", headers=READER).status == 401
    # A file that no longer loads keeps the tokens that work.
    (root / "tokens").write_text("carol-secret-token carol read\n")
    os.kill(sup.pid_of("gateway.0"), signal.SIGHUP)
    log = sup.log_dir / "gateway.0.log"
    wait_for(lambda: "kept its old entries" in log.read_text(), "the failed reload in the log")
    assert client.get("/vault/v1/status", headers=bearer(carol)).status == 200
    (root / "tokens").write_text(token_lines(TOKENS))
    os.kill(sup.pid_of("gateway.0"), signal.SIGHUP)
    wait_for(lambda: client.get("/vault/v1/status", headers=READER).status == 200, "the tokens restored")


def test_rate_limits(vault, tmp_path):
    """A gateway of its own with tiny limits (refilled far slower than the
    test runs): per principal, failed attempts, per address; each 429
    says when to retry."""
    _, _, root, gearman_port = vault
    (port,) = free_ports(1)
    conf = write_json(tmp_path / "gateway.conf", {
        "listen": {"address": "127.0.0.1", "port": port},
        "gearman": {"servers": ["127.0.0.1:%d" % gearman_port]},
        "status": {"type": "sqlite", "path": str(tmp_path / "status.db")},
        "rate_limit": {"per_address": 0.1, "per_principal": 0.05, "burst": 100, "failed_auth_per_minute": 0.6,
                       "limit_loopback": True},
        "locations": [
            {"prefix": "/vault", "config": str(root / "vault.conf"), "auth": {"type": "bearer", "tokens_file": str(root / "tokens")}},
            {"prefix": "/open", "config": str(root / "vault.conf"), "auth": "none"}]})
    with open(tmp_path / "gateway.log", "wb") as log:
        gw = subprocess.Popen([str(GATEWAY), "--config", str(conf)], stdout=log, stderr=log,
                              env={**os.environ, "GEARMAN_PORT": str(gearman_port),
                                   "GEARBOX_STATE_DIR": str(tmp_path)})
    try:
        wait_for(lambda: port_open(port) or gw.poll() is not None, "the second gateway to listen")
        assert gw.poll() is None, (tmp_path / "gateway.log").read_text()
        client = Client(port)
        # per_principal: 0.05/s x 100 s = 5 requests; per address 10.
        for _ in range(5):
            assert client.get("/vault/v1/status", headers=ALICE).status == 200
        r = client.get("/vault/v1/status", headers=ALICE)
        check_error(r, 429, "get", "for this principal")
        assert int(r.headers["Retry-After"]) >= 1
        assert client.get("/vault/v1/status", headers=BOB).status == 200      # 7 from this address
        # failed_auth_per_minute 0.6 = 1 failure per 100 s: the next credentials wait.
        assert client.get("/vault/v1/status", headers=bearer("wrong")).status == 401  # 8
        r = client.get("/vault/v1/status", headers=BOB)                       # 9
        check_error(r, 429, "get", "after failed authentication")
        assert int(r.headers["Retry-After"]) >= 1
        assert client.get("/open/v1/status").status == 200                    # 10
        r = client.get("/open/v1/status")
        check_error(r, 429, "get", "from this address")
        assert int(r.headers["Retry-After"]) >= 1
    finally:
        gw.send_signal(signal.SIGTERM)
        try:
            gw.wait(timeout=30)
        except subprocess.TimeoutExpired:
            gw.kill()
            gw.wait()


def test_a_location_without_auth_is_refused(tmp_path):
    (tmp_path / "x.conf").write_text(json.dumps({"component": "x"}))
    conf = write_json(tmp_path / "gateway.conf", {
        "status": {"type": "sqlite", "path": str(tmp_path / "status.db")},
        "locations": [{"prefix": "/x", "config": "x.conf"}]})
    for args in ([], ["--check"]):
        r = subprocess.run([str(GATEWAY), "--config", str(conf)] + args, capture_output=True, text=True, timeout=60)
        assert r.returncode != 0
        assert "location \"/x\" has no \"auth\"" in r.stderr, r.stderr


def test_idempotency_keys_are_the_principals(vault):
    _, client, _, _ = vault
    path = "/vault/v1/envelope/%s" % unique("k")
    key = {"Idempotency-Key": unique("key")}
    first = client.put(path, {}, headers={**ALICE, **key})
    assert first.status == 202, first
    again = client.put(path, {}, headers={**ALICE, **key})
    assert again.json()["status_uri"] == first.json()["status_uri"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    # The same key from Bob is Bob's own request: never Alice's status.
    other = client.put(path, {}, headers={**BOB, **key})
    assert other.status == 202, other
    assert other.json()["status_uri"] != first.json()["status_uri"]
    assert other.headers.get("Idempotent-Replayed") is None
