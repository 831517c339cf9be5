# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""The Host header builds no URI unchecked (issue [G], "Host poisoning and
SSRF"; docs/security.md, "Public URLs and the Host header").

Against a stack with the default configuration (no server_names, no
public_url): a hostile Host is neither reflected into Location and
status_uri (stored and listed to everyone) nor able to steer the REST child
that the C and the Python barn send next door.  Then a stack with
server_names and a public_url: a Host that is one of the names builds the
URIs, any other is a 400 that does not repeat it, and public_url wins over
both.
"""

import http.server
import socket
import threading

import pytest

from conftest import STATUS_ID, start_stack, unique


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """Default config: the C barn and the Python barn (each other's neighbour)."""
    s = start_stack(tmp_path_factory.mktemp("plain"), languages=["barnpython"], language_workers=2)
    yield s
    assert s.supervisor.stop() == 0, s.supervisor.output()


class Trap:
    """An HTTP server on a free loopback port that records what reaches it
    (where an attacker would want a worker's request to go)."""

    def __init__(self):
        seen = self.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def handle_one(self):
                seen.append((self.command, self.path))
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_PUT = do_POST = do_DELETE = handle_one

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def trap():
    t = Trap()
    yield t
    t.close()


def test_hostile_host_is_not_reflected(plain):
    client = plain.client
    name = unique("host")
    r = client.put("/barn/v1/animal/" + name, {"name": name}, headers={"Host": "evil.example"})
    assert r.status == 202, r
    own = "http://127.0.0.1:%d/barn/v1/" % plain.http_port
    assert r.headers["Location"].startswith(own + "status/"), r.headers
    body = r.json()
    assert body["status_uri"] == r.headers["Location"], body
    assert body["uri"] == own + "animal/" + name, body
    done = client.wait_completed(body["status_uri"])
    assert done["code"] == 0, done
    # What every other client lists: no trace of the Host header.
    listed = client.get("/barn/v1/status;_expand=1;_count=50").body.decode()
    assert name in listed and "evil.example" not in listed
    # Error bodies neither.
    r = client.get("/barn/v1/nothing", headers={"Host": "evil.example"})
    assert r.status == 400 and b"evil" not in r.body, r


@pytest.mark.parametrize("prefix", ["/barn", "/python/barn"], ids=["c", "python"])
def test_host_does_not_steer_rest_children(plain, trap, prefix):
    """PUT …/family/<name> makes a REST child next door, at the origin of the
    job's base_uri: with Host: 127.0.0.1:<trap> it must still go to the gateway."""
    client = plain.client
    name = unique("family")
    r = client.put("%s/v1/family/%s" % (prefix, name), {},
                   headers={"Host": "127.0.0.1:%d" % trap.port})
    assert r.status == 202, r
    done = client.wait_completed(r.json()["status_uri"])
    assert trap.requests == [], trap.requests
    assert done["code"] == 0, done
    own = "http://127.0.0.1:%d/" % plain.http_port
    assert len(done["children"]) == 2 and all(c.startswith(own) for c in done["children"]), done


# ---- server_names and public_url -------------------------------------------------

@pytest.fixture(scope="module")
def named(tmp_path_factory):
    """server_names ["gw.example", "alias.example:8080"]; /silo has a public_url."""
    root = tmp_path_factory.mktemp("named")
    s = start_stack(root, workers=1, gateway={"server_names": ["gw.example", "Alias.Example:8080"]},
                    locations=[{"prefix": "/store", "auth": "none", "config": "silo.conf",
                                "public_url": "https://public.example/grain-store"}])
    yield s
    assert s.supervisor.stop() == 0, s.supervisor.output()


def put_silo(client, prefix, host):
    name = unique("grain")
    return client.put("%s/v1/grain/%s" % (prefix, name), {"kg": 1},
                      headers={"Host": host} if host else None)


@pytest.mark.parametrize("host, origin", [
    ("gw.example", "http://gw.example"),
    ("GW.example:{port}", "http://gw.example:{port}"),
    ("alias.example:8080", "http://alias.example:8080"),
    ("127.0.0.1:{port}", "http://127.0.0.1:{port}"),   # the address it came in on
])
def test_server_name_builds_uris(named, host, origin):
    port = named.http_port
    r = put_silo(named.client, "/silo", host.format(port=port))
    assert r.status == 202, r
    assert STATUS_ID.search(r.headers["Location"]), r.headers
    assert r.headers["Location"].startswith(origin.format(port=port) + "/silo/v1/status/"), r.headers
    assert r.json()["status_uri"] == r.headers["Location"]


@pytest.mark.parametrize("host", ["evil.example", "gw.example:1", "alias.example", "alias.example:8081",
                                  "gw.example.evil.example", "127.0.0.1:1", "gw.example/x"])
def test_unknown_host_is_400_and_not_reflected(named, host):
    r = put_silo(named.client, "/silo", host)
    assert r.status == 400, r
    body = r.json()
    assert "Host header names no server" in body["messages"][0], body
    assert host.encode() not in r.body
    assert body["uri"].startswith("http://127.0.0.1:%d/silo/v1/grain/" % named.http_port), body
    log = (named.supervisor.log_dir / "gateway.0.log").read_text()
    assert "evil.example" not in log


def test_public_url_wins(named):
    for host in ("gw.example", "127.0.0.1:%d" % named.http_port):
        r = put_silo(named.client, "/store", host)
        assert r.status == 202, r
        assert r.headers["Location"].startswith("https://public.example/grain-store/v1/status/"), r.headers
        s = r.json()
        assert s["uri"].startswith("https://public.example/grain-store/v1/grain/grain-"), s
    # The status is read on the gateway under the location's own prefix.
    sid = STATUS_ID.search(s["status_uri"]).group(0)
    got = named.client.get("/store/v1/status/" + sid)
    assert got.status == 200 and got.json()["status_uri"] == s["status_uri"], got


def test_http10_without_host_gets_the_own_address(named):
    with socket.create_connection(("127.0.0.1", named.http_port), timeout=30) as sock:
        sock.sendall(b"PUT /silo/v1/grain/old HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}")
        answer = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    head = answer.split(b"\r\n\r\n", 1)[0].decode()
    assert head.startswith("HTTP/1.0 202") or head.startswith("HTTP/1.1 202"), head
    assert "Location: http://127.0.0.1:%d/silo/v1/status/" % named.http_port in head, head

