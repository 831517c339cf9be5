# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""HTTPS on the gateway, and REST children over https (issue [G] §2;
docs/security.md, "TLS").

A self-signed certificate for 127.0.0.1 is made with openssl at run time.
Gateway B listens on plain HTTP and on HTTPS (TLS 1.2+ only) and serves the
C barn; clients talk to it with curl --cacert and Python's http.client with
an ssl context.  Gateway A serves "relay" components (relay_worker.py) whose
jobs make a REST child on B over https: verified against jobs.rest_ca_file,
refused with a CA that did not sign B's certificate, and refused for a host
that jobs.rest_hosts does not list.
"""

import http.client
import json
import ssl
import subprocess
from pathlib import Path

import pytest

from conftest import GATEWAY, SQLITE_STATUS, STATUS_ID, gearman_status, free_port, start_stack, unique, wait_for, write_json

HERE = Path(__file__).resolve().parent


def make_cert(directory, name):
    """A self-signed certificate for 127.0.0.1 and localhost: (cert, key) paths."""
    cert, key = directory / (name + ".crt"), directory / (name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("certs")
    good = make_cert(d, "gateway")
    other = make_cert(d, "other")  # a CA that did not sign the gateway's certificate
    return {"cert": good[0], "key": good[1], "other": other[0]}


@pytest.fixture(scope="module")
def b(tmp_path_factory, certs):
    """Gateway B: http on GEARBOX_PORT, https on another port; the C barn."""
    tls_port = free_port()
    s = start_stack(tmp_path_factory.mktemp("b"), workers=1, gateway={"listen": [
        {"address": "127.0.0.1", "port": "${GEARBOX_PORT}"},
        {"address": "127.0.0.1", "port": tls_port, "tls": {"cert": str(certs["cert"]), "key": str(certs["key"])}},
    ]})
    s.tls_port = tls_port
    s.https = "https://127.0.0.1:%d" % tls_port
    wait_for(lambda: port_accepts_tls(tls_port, certs["cert"]), "B's https listener")
    yield s
    assert s.supervisor.stop() == 0, s.supervisor.output()


def port_accepts_tls(port, cafile):
    try:
        conn = https(port, cafile)
        conn.connect()
        conn.close()
        return True
    except OSError:
        return False


def https(port, cafile, **ctx):
    context = ssl.create_default_context(cafile=str(cafile))
    for k, v in ctx.items():
        setattr(context, k, v)
    return http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=30)


@pytest.fixture(scope="module")
def a(tmp_path_factory, certs, b):
    """Gateway A (plain http): /relay trusts B's certificate, /relaybad another CA."""
    root = tmp_path_factory.mktemp("a")
    locations, daemons = [], []
    for component, ca in (("relay", certs["cert"]), ("relaybad", certs["other"])):
        conf = write_json(root / ("%s.conf" % component), {
            "component": component,
            "gearman": {"servers": ["127.0.0.1:${GEARMAN_PORT}"]},
            "status": SQLITE_STATUS,
            "handlers": ["do_put_%s_call_v1" % component],
            "jobs": {"rest_hosts": [b.https], "rest_ca_file": str(ca), "rest_timeout": 20},
        })
        locations.append({"prefix": "/" + component, "auth": "none", "config": str(conf)})
        daemons.append({"name": component, "command": ["/usr/bin/python3", str(HERE / "relay_worker.py"),
                                                        "--config", str(conf)],
                        "env": {"PYTHONPATH": "${GEARBOX_BUILD_DIR}/bindings/python"}})
    s = start_stack(root, workers=0, locations=locations, daemons=daemons)
    for component in ("relay", "relaybad"):
        wait_for(lambda: gearman_status(s.gearman_port).get("do_put_%s_call_v1" % component, (0, 0, 0))[2] >= 1,
                 "the %s worker registered" % component)
    yield s
    assert s.supervisor.stop() == 0, s.supervisor.output()


def curl(*args):
    """curl -D -: (exit status, status line, {header: value} lower-cased, body, stderr)."""
    out = subprocess.run(["curl", "-sS", "-D", "-", *args], capture_output=True, text=True, timeout=60)
    head, _, body = out.stdout.partition("\n\n")  # text mode: CRLF became LF
    lines = head.split("\n")
    headers = dict((k.lower(), v) for k, _, v in (line.partition(": ") for line in lines[1:]))
    return out.returncode, lines[0], headers, body, out.stderr


# ---- HTTPS on the gateway -----------------------------------------------------------

def test_curl_over_https(b, certs):
    name = unique("tls")
    url = "%s/barn/v1/animal/%s" % (b.https, name)
    cacert = ("--cacert", str(certs["cert"]))
    rc, status, headers, body, err = curl(*cacert, "-X", "PUT", "-H", "Content-Type: application/json",
                                          "--data", json.dumps({"name": name}), url)
    assert rc == 0 and status.startswith("HTTP/1.1 202"), (status, err)
    # The scheme the client used.
    assert headers["location"].startswith(b.https + "/barn/v1/status/"), headers
    assert json.loads(body)["status_uri"] == headers["location"]
    wait_for(lambda: json.loads(curl(*cacert, headers["location"])[3])["state"] == "COMPLETED",
             "the PUT over https")
    rc, status, _, body, err = curl(*cacert, url)
    assert status.startswith("HTTP/1.1 200") and json.loads(body) == {"name": name}, (status, body, err)
    # Without the CA, curl refuses the self-signed certificate.
    rc, status, _, body, err = curl(url)
    assert rc != 0 and "certificate" in err, (rc, err)


def test_http_listener_keeps_http(b):
    name = unique("plain")
    r = b.client.put("/barn/v1/animal/" + name, {"name": name})
    assert r.status == 202, r
    assert r.headers["Location"].startswith("http://127.0.0.1:%d/barn/v1/status/" % b.http_port), r.headers


def test_python_ssl_context(b, certs):
    conn = https(b.tls_port, certs["cert"])
    conn.request("GET", "/barn/v1/status;_count=1")
    r = conn.getresponse()
    assert r.status == 200, r.read()
    json.loads(r.read())
    assert conn.sock.version() in ("TLSv1.2", "TLSv1.3")
    conn.close()
    # TLS 1.2 on its own works.
    conn = https(b.tls_port, certs["cert"], maximum_version=ssl.TLSVersion.TLSv1_2)
    conn.request("GET", "/barn/v1/status;_count=1")
    assert conn.getresponse().status == 200
    assert conn.sock.version() == "TLSv1.2"
    conn.close()
    # The system's CAs do not know the certificate.
    conn = http.client.HTTPSConnection("127.0.0.1", b.tls_port, context=ssl.create_default_context(), timeout=30)
    with pytest.raises(ssl.SSLCertVerificationError):
        conn.request("GET", "/barn/v1/status")
    conn.close()


@pytest.mark.parametrize("version, accepted", [("TLS1.0", False), ("TLS1.1", False), ("TLS1.2", True),
                                               ("TLS1.3", True)])
def test_tls_versions(b, certs, version, accepted):
    """The server's side of the handshake, seen from gnutls-cli offering one version only."""
    out = subprocess.run(["gnutls-cli", "--port", str(b.tls_port), "--x509cafile", str(certs["cert"]),
                          "--priority", "NORMAL:-VERS-ALL:+VERS-" + version, "127.0.0.1"],
                         input="", capture_output=True, text=True, timeout=60)
    assert (out.returncode == 0) == accepted, out.stdout + out.stderr


def test_bad_tls_config_is_named(tmp_path, certs):
    conf = write_json(tmp_path / "gateway.conf", {
        "listen": [{"port": 0}, {"port": 0, "tls": {"cert": str(tmp_path / "missing.crt"), "key": str(certs["key"])}}],
        "gearman": {"servers": ["127.0.0.1:1"]}, "status": {"type": "sqlite", "path": str(tmp_path / "s.db")},
        "locations": [{"prefix": "/x", "auth": "none", "config": str(tmp_path / "x.conf")}]})
    out = subprocess.run([str(GATEWAY), "--config", str(conf), "--check"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "listen[1].tls.cert: cannot read %s" % (tmp_path / "missing.crt") in out.stderr, out.stderr


# ---- REST children over https --------------------------------------------------------

def relay(a, component, uri, wait=True, name=None):
    name = name or unique("calf")
    r = a.client.put("/%s/v1/call/%s" % (component, name), {"uri": uri, "body": {"name": name}, "wait": wait})
    assert r.status == 202, r
    return a.client.wait_completed(r.json()["status_uri"], timeout=90), name


def test_rest_child_over_https_is_verified(a, b, certs):
    done, name = relay(a, "relay", "%s/barn/v1/animal/%s" % (b.https, unique("calf")))
    assert done["code"] == 0, done
    assert done["messages"] == ["answered 202", "child succeeded"], done
    (child,) = done["children"]
    assert child.startswith(b.https + "/barn/v1/status/") and STATUS_ID.search(child), done
    conn = https(b.tls_port, certs["cert"])
    conn.request("GET", child[len(b.https):])
    st = json.loads(conn.getresponse().read())
    conn.close()
    assert st["parent_uri"] == done["status_uri"] and st["code"] == 0, st


def test_rest_child_refused_on_a_bad_ca(a, b):
    done, _ = relay(a, "relaybad", "%s/barn/v1/animal/%s" % (b.https, unique("calf")))
    assert done["code"] == 502, done
    assert "certificate" in done["messages"][-1].lower() or "ssl" in done["messages"][-1].lower(), done
    assert done.get("children", []) == [], done


def test_rest_host_not_listed_is_refused(a, b):
    # B's plain http origin is not in rest_hosts (only its https one is).
    done, _ = relay(a, "relay", "http://127.0.0.1:%d/barn/v1/animal/%s" % (b.http_port, unique("calf")))
    assert done["code"] == 403, done
    assert "jobs.rest_hosts" in done["messages"][-1], done


def test_rest_to_own_gateway_needs_no_listing(a):
    # The job's own gateway (the origin of its base_uri) is always allowed.
    done, _ = relay(a, "relay", "http://127.0.0.1:%d/silo/v1/grain/%s" % (a.http_port, unique("g")), wait=False)
    assert done["code"] == 0 and done["messages"] == ["answered 202"], done
    assert done["children"][0].startswith("http://127.0.0.1:%d/silo/v1/status/" % a.http_port), done
