# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""Signed completion callbacks (docs/security.md, "Signed callbacks").

A real stack whose /barn location allows callbacks to a small receiver
server of this test (HTTP on loopback, and HTTPS with a certificate made by
openssl at run time): the final status arrives signed, failed deliveries are
retried with backoff and recorded in the status's meta, hosts the location
does not allow are refused with 400, and a callback owed survives a restart
of the gateway.  The signature checks of the docs (Python, Perl, PHP) are
run on a real signature.
"""

import hashlib
import hmac
import http.server
import json
import os
import re
import signal
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import (GATEWAY, SOURCE_DIR, free_port, pid_alive, port_open, stack_env, start_stack, unique,
                      wait_for)

SECRET = "callback-secret-for-the-test-0123456789"
os.environ["GBX_TEST_CALLBACK_SECRET"] = SECRET  # the gateway reads it as ${GBX_TEST_CALLBACK_SECRET}


class Receiver:
    """An HTTP(S) server on loopback that records every POST and answers 500
    to the first `fail` of them, 204 to the rest."""

    def __init__(self, context=None):
        self.requests = []
        self.fail = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                              "body": body})
                    failing = receiver.fail > 0
                    if failing:
                        receiver.fail -= 1
                self.send_response(500 if failing else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        if context:
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def for_status(self, status_id):
        with self.lock:
            return [r for r in self.requests if json.loads(r["body"]).get("status_uri", "").endswith(status_id)]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def make_certificate(directory):
    """A self-signed certificate for 127.0.0.1 (openssl, at run time)."""
    key, cert = directory / "receiver.key", directory / "receiver.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return key, cert


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("callbacks")
    key, cert = make_certificate(root)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    plain, tls = Receiver(), Receiver(context)
    (root / "silo-secret").write_text(SECRET + "-silo\n")

    def edit(conf):
        conf["callbacks"] = {"retry_base": 0.2, "retry_cap": 1, "timeout": 5, "ca_file": str(cert)}
        for loc in conf["locations"]:
            if loc["prefix"] == "/barn":
                loc["callback_hosts"] = ["http://127.0.0.1:%d" % plain.port, "127.0.0.1:%d" % tls.port]
                loc["callback_secret"] = "${GBX_TEST_CALLBACK_SECRET}"
            if loc["prefix"] == "/silo":
                loc["callback_hosts"] = ["hooks.example.com"]
                loc["callback_secret_file"] = str(root / "silo-secret")
        return conf
    stack = start_stack(root, edit_gateway=edit)
    yield stack, plain, tls
    plain.close()
    tls.close()
    assert stack.supervisor.stop() == 0, stack.supervisor.output()


def signature_ok(headers, body, secret=SECRET):
    m = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", headers.get("Gearbox-Signature", ""))
    assert m, headers
    assert abs(time.time() - int(m.group(1))) < 120
    expected = hmac.new(secret.encode(), m.group(1).encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, m.group(2))


def put_with_callback(client, url, name=None):
    name = name or unique("Hook")
    r = client.put("/barn/v1/animal/" + name, {"name": name}, headers={"Gearbox-Callback": url})
    assert r.status == 202, r
    return r.json()


def callback_meta(client, status_uri, state):
    """meta.callback once it reaches `state`."""
    def reached():
        meta = client.status(status_uri).get("meta", {}).get("callback")
        return meta if meta and meta["state"] == state else None
    return wait_for(reached, "meta.callback.state %s at %s" % (state, status_uri))


def test_final_status_arrives_signed(env):
    stack, plain, _ = env
    url = "http://127.0.0.1:%d/hooks/done?ref=1" % plain.port
    s = put_with_callback(stack.client, url)
    sid = s["status_uri"].rsplit("/", 1)[1]
    got = wait_for(lambda: plain.for_status(sid), "the callback for " + sid)
    assert len(got) == 1
    req = got[0]
    assert req["path"] == "/hooks/done?ref=1"
    assert req["headers"]["Content-Type"] == "application/json"
    assert signature_ok(req["headers"], req["body"])
    assert not signature_ok(req["headers"], req["body"] + b" ")
    assert not signature_ok(req["headers"], req["body"], SECRET + "x")
    body = json.loads(req["body"])
    assert body["state"] == "COMPLETED" and body["code"] == 0 and body["progress"] == 100
    # The body is the final status (the later meta records the delivery).
    meta = callback_meta(stack.client, s["status_uri"], "delivered")
    final = stack.client.status(s["status_uri"])
    for key in ("operation", "component", "state", "uri", "status_uri", "code", "messages", "children", "ctime"):
        assert body[key] == final[key], key
    assert meta["url"] == url
    assert [set(a) for a in meta["attempts"]] == [{"time", "code"}]
    assert meta["attempts"][0]["code"] == 204
    # Delivered once: the row is gone once meta says delivered.
    assert len(plain.for_status(sid)) == 1


def test_https_with_verified_certificate(env):
    stack, _, tls = env
    s = put_with_callback(stack.client, "https://127.0.0.1:%d/tls" % tls.port)
    sid = s["status_uri"].rsplit("/", 1)[1]
    got = wait_for(lambda: tls.for_status(sid), "the https callback for " + sid)
    assert signature_ok(got[0]["headers"], got[0]["body"])
    assert callback_meta(stack.client, s["status_uri"], "delivered")["attempts"][-1]["code"] == 204


def test_failures_are_retried_with_backoff(env):
    stack, plain, _ = env
    plain.fail = 3
    s = put_with_callback(stack.client, "http://127.0.0.1:%d/retry" % plain.port)
    sid = s["status_uri"].rsplit("/", 1)[1]
    meta = callback_meta(stack.client, s["status_uri"], "delivered")
    assert [a.get("code") for a in meta["attempts"]] == [500, 500, 500, 204]
    times = [a["time"] for a in meta["attempts"]]
    assert times == sorted(times)
    got = plain.for_status(sid)
    assert len(got) == 4
    assert all(signature_ok(r["headers"], r["body"]) for r in got)


def test_hosts_not_allowed_are_refused(env):
    stack, plain, tls = env
    c = stack.client
    for url in ["http://127.0.0.1:%d/x" % free_port(),      # port not listed
                "https://127.0.0.1:%d/x" % plain.port,      # scheme not listed for that port
                "http://127.0.0.1:%d/x" % tls.port,         # a bare host entry allows https only
                "https://evil.example/x", "ftp://127.0.0.1/x", "/relative",
                "http://user:pw@127.0.0.1:%d/x" % plain.port, "not a url"]:
        name = unique("Refused")
        r = c.put("/barn/v1/animal/" + name, {"name": name}, headers={"Gearbox-Callback": url})
        assert r.status == 400, (url, r)
        assert "Gearbox-Callback" in r.json()["messages"][0], r.json()
        # Nothing was queued.
        assert c.get("/barn/v1/animal/" + name).status == 404
    # A location without callbacks to that host; sync requests take none.
    r = c.put("/silo/v1/grain/g", None, headers={"Gearbox-Callback": "http://127.0.0.1:%d/" % plain.port})
    assert r.status == 400, r
    r = c.get("/barn/v1/animal/x", headers={"Gearbox-Callback": "http://127.0.0.1:%d/" % plain.port})
    assert r.status == 400, r
    assert "async" in r.json()["messages"][0]


def test_callback_survives_a_gateway_restart(env):
    stack, plain, _ = env
    sup = stack.supervisor
    plain.fail = 10 ** 6
    s = put_with_callback(stack.client, "http://127.0.0.1:%d/restart" % plain.port)
    sid = s["status_uri"].rsplit("/", 1)[1]
    meta = callback_meta(stack.client, s["status_uri"], "pending")
    assert meta["attempts"][0]["code"] == 500
    old = sup.pid_of("gateway.0")
    os.kill(old, signal.SIGKILL)  # only the gateway this test's stack started, by pid
    wait_for(lambda: not pid_alive(old), "the old gateway to be gone")
    new = wait_for(lambda: sup.pid_of("gateway.0") not in (None, old) and sup.pid_of("gateway.0"),
                   "the gateway to be restarted")
    wait_for(lambda: port_open(stack.http_port), "the new gateway to listen")
    with plain.lock:
        plain.fail = 0
    meta = callback_meta(stack.client, s["status_uri"], "delivered")
    assert pid_alive(new)
    assert meta["attempts"][-1]["code"] == 204 and len(meta["attempts"]) >= 2
    assert signature_ok(plain.for_status(sid)[-1]["headers"], plain.for_status(sid)[-1]["body"])


def test_two_gateways_send_each_callback_once(env):
    """A second gateway on the same store and gearmand: each callback is
    claimed by one of them and delivered exactly once."""
    stack, plain, _ = env
    port = free_port()
    log = open(stack.root / "gateway-2.log", "ab")
    second = subprocess.Popen([str(GATEWAY), "--config", str(stack.root / "gateway.conf")],
                              env=stack_env(stack.root, stack.gearman_port, port), stdin=subprocess.DEVNULL,
                              stdout=log, stderr=log, cwd=str(stack.root))
    try:
        wait_for(lambda: port_open(port), "the second gateway to listen")
        statuses = [put_with_callback(stack.client, "http://127.0.0.1:%d/twice" % plain.port) for _ in range(12)]
        for s in statuses:
            callback_meta(stack.client, s["status_uri"], "delivered")
        for s in statuses:
            assert len(plain.for_status(s["status_uri"].rsplit("/", 1)[1])) == 1, s
    finally:
        second.terminate()  # only the gateway this test started, by its Popen handle
        second.wait(timeout=60)
        log.close()
    assert second.returncode == 0


# ---- the docs' signature checks, run on a real signature --------------------

def doc_snippet(language):
    """The code block of `language` in docs/security.md's "Signed callbacks"."""
    text = (SOURCE_DIR / "docs/security.md").read_text()
    section = text.split("## Signed callbacks", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```%s\n(.*?)```" % language, section, re.S)
    assert len(blocks) == 1, "one ```%s block in docs/security.md's Signed callbacks" % language
    return blocks[0]


DRIVERS = {
    "python": ("/usr/bin/python3", "py", "{code}\nimport os, sys\n"
               "print(verify_gearbox_signature(os.environb[b'SECRET'], os.environ['HEADER'], "
               "sys.stdin.buffer.read()))\n"),
    "perl": ("/usr/bin/perl", "pl", "{code}\nbinmode STDIN; local $/; my $body = <STDIN>;\n"
             "print verify_gearbox_signature($ENV{{SECRET}}, $ENV{{HEADER}}, $body) ? 'True' : 'False';\n"),
    "php": ("/usr/bin/php", "php", "<?php\n{code}\n"
            "echo verify_gearbox_signature(getenv('SECRET'), getenv('HEADER'), "
            "file_get_contents('php://stdin')) ? 'True' : 'False';\n"),
}


@pytest.mark.parametrize("language", sorted(DRIVERS))
def test_doc_snippets_verify_a_real_signature(env, language, tmp_path):
    stack, plain, _ = env
    s = put_with_callback(stack.client, "http://127.0.0.1:%d/doc" % plain.port)
    sid = s["status_uri"].rsplit("/", 1)[1]
    req = wait_for(lambda: plain.for_status(sid), "the callback for " + sid)[0]
    binary, ext, driver = DRIVERS[language]
    code = doc_snippet(language)
    if language == "php":
        code = code.replace("<?php\n", "", 1)
    script = tmp_path / ("verify." + ext)
    script.write_text(driver.format(code=code))

    def verify(body, secret=SECRET, header=req["headers"]["Gearbox-Signature"]):
        out = subprocess.run([binary, str(script)], input=body, capture_output=True, timeout=60,
                             env=dict(os.environ, SECRET=secret, HEADER=header))
        assert out.returncode == 0, out.stderr.decode()
        return out.stdout.decode().strip()
    assert verify(req["body"]) == "True"
    assert verify(req["body"] + b"x") == "False"
    assert verify(req["body"], secret=SECRET + "x") == "False"
    old = "t=%d,v1=%s" % (int(time.time()) - 3600, req["headers"]["Gearbox-Signature"].split("v1=")[1])
    assert verify(req["body"], header=old) == "False"  # too old: a replay
