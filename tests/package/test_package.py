#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""make package-test: the Debian packages of dist/ on this machine.

  test_package.py DIST_DIR      (as root; tests/package/run starts it)

1. lintian finds no error in any package;
2. `apt-get install ./dist/*.deb`; the units pass `systemd-analyze verify`
   and score at most 2.0 on `systemd-analyze security` (hardening);
3. with no build tree, no PYTHONPATH, no -I, no -d extension: gearmand on a
   free port, then the daemons exactly as systemd would start them - the
   ExecStartPre/ExecStart lines, Environment=, User=/Group= of the installed
   unit files (gearbox-gateway.service with /etc/gearbox/gateway.conf,
   gearbox-worker@barn, @barnpython, @barnperl, @barnphp.service with
   /etc/gearbox/workers.d/), the unit's StateDirectory/LogsDirectory mapped
   into a temporary directory and the ports chosen by the test passed in the
   environment (as `systemctl edit` would);
4. the barn over HTTP on /barn, /python/barn, /perl/barn and /php/barn;
5. every package purged again: `dpkg -S` finds no file of ours and none of
   the files they installed or created is left.
systemd is not PID 1 here (containers, CI), hence the unit files are read
rather than started.  The packages stay installed only while this runs.
"""

import glob
import http.client
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from gbxtest import free_ports, gearman_status, port_open, wait_for  # noqa: E402

# Other helpers may hold dpkg's lock; no progress bars in the log.
APT_OPTIONS = ["-o", "DPkg::Lock::Timeout=900", "-o", "Dpkg::Use-Pty=0"]
BOUND = 120                   # seconds any wait may take on a loaded machine
UNIT_DIR = "/lib/systemd/system"
STATE_DIR, LOGS_DIR = "/var/lib/gearbox", "/var/log/gearbox"
BARNS = [("/barn", "barn"), ("/python/barn", "barnpython"), ("/perl/barn", "barnperl"),
         ("/php/barn", "barnphp")]
# Paths the packages own or their maintainer scripts create: all gone after the purge.
OURS = ["/etc/gearbox", STATE_DIR, LOGS_DIR, "/usr/share/gearbox", "/usr/libexec/gearbox",
        "/usr/sbin/gearbox-gateway", "/usr/bin/gearbox", "/usr/share/php/Gearbox.php",
        "/usr/lib/python3/dist-packages/gearbox", "/usr/include/gearbox",
        UNIT_DIR + "/gearbox-gateway.service", UNIT_DIR + "/gearbox-worker@.service",
        "/etc/systemd/system/multi-user.target.wants/gearbox-gateway.service"]


def log(msg):
    print("package-test: " + msg, flush=True)


def run(cmd, check=True, **kw):
    log("$ " + " ".join(cmd))
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if p.stdout.strip():
        print(p.stdout.rstrip(), flush=True)
    if check and p.returncode != 0:
        raise AssertionError("%s exited with %d" % (cmd[0], p.returncode))
    return p


def package_names(debs):
    return [subprocess.run(["dpkg-deb", "-f", d, "Package"], check=True, stdout=subprocess.PIPE,
                           text=True).stdout.strip() for d in debs]


def installed(pkgs):
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${db:Status-Abbrev}\n"] + pkgs,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    return [l.split()[0] for l in out.splitlines() if len(l.split()) > 1 and l.split()[1] != "un"]


def purge(pkgs):
    if installed(pkgs):
        run(["apt-get", "purge", "-y", "-q"] + APT_OPTIONS + pkgs)


# ---- the unit files -----------------------------------------------------------

def read_unit(name, instance=None):
    """{key: [values]} of the [Service] section, %i replaced by `instance`."""
    service, section = {}, None
    with open(os.path.join(UNIT_DIR, name)) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line
                continue
            if section == "[Service]":
                key, _, value = line.partition("=")
                if instance is not None:
                    value = value.replace("%i", instance)
                service.setdefault(key, []).append(value)
    return service


class Unit:
    """A service started as its unit file says, in a temporary root."""

    def __init__(self, name, instance, root, env):
        self.name = name if instance is None else name.replace("@", "@" + instance)
        self.root = root
        self.svc = read_unit(name, instance)
        self.proc = None
        self.env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
        for assignment in self.svc.get("Environment", []):
            k, _, v = assignment.partition("=")
            self.env[k] = self.mapped(v)
        self.env.update(env)
        user = self.svc["User"][0]
        assert self.svc["Group"] == [user], self.svc
        self.pw = pwd.getpwnam(user)
        # StateDirectory= / LogsDirectory=: created for the user, as systemd does.
        for key, base in (("StateDirectory", STATE_DIR), ("LogsDirectory", LOGS_DIR)):
            for d in self.svc.get(key, []):
                path = self.mapped(os.path.join(os.path.dirname(base), d))
                os.makedirs(path, exist_ok=True)
                shutil.chown(path, self.pw.pw_uid, self.pw.pw_gid)

    def mapped(self, text):
        """`text` with the unit's state and logs directories moved into the test's root."""
        return text.replace(STATE_DIR, self.root + "/state").replace(LOGS_DIR, self.root + "/log")

    def argv(self, line):
        # No shell, no variables in our units: whitespace-separated words.
        assert "$" not in line and "'" not in line and '"' not in line, line
        return ["setpriv", "--reuid=%d" % self.pw.pw_uid, "--regid=%d" % self.pw.pw_gid,
                "--init-groups", "--"] + self.mapped(line).split()

    def start(self):
        for pre in self.svc.get("ExecStartPre", []):
            run(self.argv(pre), env=self.env, cwd="/")
        (start,) = self.svc["ExecStart"]
        out = open(os.path.join(self.root, self.name + ".out"), "w")
        log("starting %s: %s" % (self.name, start))
        self.proc = subprocess.Popen(self.argv(start), env=self.env, cwd="/", stdout=out,
                                     stderr=subprocess.STDOUT)
        out.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def output(self):
        with open(os.path.join(self.root, self.name + ".out")) as f:
            return f.read()


# ---- HTTP ---------------------------------------------------------------------------

def request(port, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        data = None if body is None else json.dumps(body)
        headers = {} if body is None else {"Content-Type": "application/json"}
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        raw = r.read()
        return r.status, json.loads(raw) if raw else None
    finally:
        conn.close()


def path_of(uri):
    return re.sub(r"^https?://[^/]+", "", uri)


def completed(port, status_uri):
    def done():
        code, s = request(port, "GET", path_of(status_uri))
        assert code == 200, (code, s)
        return s if s["state"] == "COMPLETED" else None
    return wait_for(done, "status " + status_uri, BOUND)


def check_barn(port, prefix, component):
    """What tests/stack/test_barns.py checks first, on one prefix."""
    name = "Wilbur-%d" % os.getpid()
    animal = "%s/v1/animal/%s" % (prefix, name)
    code, s = request(port, "PUT", animal, {"name": name, "sound": "oink"})
    assert code == 202, (prefix, code, s)
    assert s["state"] == "PENDING" and s["component"] == component, s
    done = completed(port, s["status_uri"])
    assert done["code"] == 0 and done["progress"] == 100, done
    assert done["messages"] == ['animal "%s" created' % name,
                                "%s is happily rolling around in the mud!" % name], done
    assert request(port, "GET", animal) == (200, {"name": name, "sound": "oink"})
    code, listing = request(port, "GET", prefix + "/v1/animal")
    assert code == 200 and name in listing["animals"], listing
    code, s = request(port, "DELETE", animal)
    assert code == 202, (code, s)
    done = completed(port, s["status_uri"])
    assert done["code"] == 0 and done["messages"] == ['animal "%s" deleted' % name], done
    code, err = request(port, "GET", animal)
    assert code == 404, (code, err)
    log("%s: PUT, GET, list, DELETE, 404 as the barn answers" % prefix)


def get_raw(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.getheader("Content-Type", ""), r.read()
    finally:
        conn.close()


def check_operators(port, gearman_port):
    """What an operator watches with, from the installed packages alone: the
    health checks, /metrics, the dashboard (inside the gateway binary) and
    the gearbox command of gearbox-tools."""
    assert get_raw(port, "/healthz")[0] == 200
    assert get_raw(port, "/readyz")[0] == 200
    code, ctype, body = get_raw(port, "/metrics")
    assert code == 200 and ctype.startswith("text/plain"), (code, ctype)
    assert b'gearbox_http_requests_total{location="/barn"' in body, body[:2000]
    code, ctype, body = get_raw(port, "/_gearbox/")
    assert code == 200 and ctype.startswith("text/html") and b"dashboard.js" in body, (code, ctype)
    code, info = request(port, "GET", "/_gearbox/api/info")
    assert code == 200 and {l["prefix"] for l in info["locations"]} >= {p for p, _ in BARNS}, info
    base = "http://127.0.0.1:%d" % port

    def gearbox(*args):
        log("$ gearbox " + " ".join(args))
        p = subprocess.run(["/usr/bin/gearbox"] + list(args), capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, (args, p.returncode, p.stdout, p.stderr)
        return p.stdout
    gearbox("submit", "PUT", base + "/barn/v1/animal/Charlotte-%d" % os.getpid(),
            "-d", '{"name": "Charlotte"}', "--wait", "--json")
    assert json.loads(gearbox("ls", base + "/barn", "--json"))
    assert "do_put_barn_animal_v1" in gearbox("queue", "--gearmand", "127.0.0.1:%d" % gearman_port, "--json")
    log("operators: /healthz, /readyz, /metrics, the dashboard, gearbox submit/ls/queue")


# ---- the steps -------------------------------------------------------------------

def check_installed_apis(root):
    """Each language finds Gearbox by itself; C by pkg-config and by CMake."""
    clean = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": root}
    run(["/usr/bin/python3", "-c", "import gearbox, sys; assert gearbox.__file__.startswith("
         "'/usr/lib/python3/dist-packages/'), gearbox.__file__"], env=clean, cwd="/")
    run(["/usr/bin/perl", "-MGearbox::Worker", "-MGearbox::Core", "-e", "1"], env=clean, cwd="/")
    run(["/usr/bin/php", "-r", "require 'Gearbox.php'; exit(extension_loaded('gearbox') ? 0 : 1);"],
        env=clean, cwd="/")
    src = os.path.join(root, "c")
    os.makedirs(src)
    with open(os.path.join(src, "main.c"), "w") as f:
        f.write('#include <gearbox/gearbox.h>\nint main(void) { return 0; }\n')
    with open(os.path.join(src, "CMakeLists.txt"), "w") as f:
        f.write("cmake_minimum_required(VERSION 3.13)\nproject(t C)\nfind_package(Gearbox REQUIRED)\n"
                "add_executable(t main.c)\ntarget_link_libraries(t PRIVATE Gearbox::gearbox)\n")
    flags = run(["pkg-config", "--cflags", "--libs", "gearbox"], env=clean).stdout.split()
    run(["cc", "-o", os.path.join(src, "t-pc"), os.path.join(src, "main.c")] + flags, env=clean)
    run(["cmake", "-S", src, "-B", os.path.join(src, "build")], env=clean)
    run(["cmake", "--build", os.path.join(src, "build")], env=clean)


def verify_units(root):
    # The template as an instance (gearbox-worker@barn.service) beside the gateway's unit.
    units = os.path.join(root, "units")
    os.makedirs(units)
    gw = shutil.copy(os.path.join(UNIT_DIR, "gearbox-gateway.service"), units)
    inst = os.path.join(units, "gearbox-worker@barn.service")
    shutil.copy(os.path.join(UNIT_DIR, "gearbox-worker@.service"), inst)
    p = run(["systemd-analyze", "verify", gw, inst], check=False)
    problems = [l for l in p.stdout.splitlines() if "gearbox" in l]
    assert p.returncode == 0 and not problems, problems
    # Hardened: systemd's exposure score at most 2.0 of 10 ("OK"; both units score 1.6-1.7).
    p = subprocess.run(["systemd-analyze", "security", "--offline=true", "--threshold=20", gw, inst],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log("systemd-analyze security: " + "; ".join(l for l in p.stdout.splitlines() if "Overall" in l))
    assert p.returncode == 0, "exposure above 2.0:\n" + p.stdout


def main():
    # A stopped test still stops its daemons and purges the packages (finally).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("package-test: terminated"))
    dist = os.path.abspath(sys.argv[1])
    debs = sorted(glob.glob(os.path.join(dist, "*.deb")))
    assert debs, "no packages in %s: make package first" % dist
    pkgs = package_names(debs)
    log("packages: " + " ".join(pkgs))

    p = run(["lintian", "--fail-on", "error"] + debs,
            check=False)
    errors = [l for l in p.stdout.splitlines() if l.startswith("E: ")]
    assert p.returncode == 0 and not errors, "lintian: %s" % errors

    purge(pkgs)   # a run that was interrupted before its purge
    root = tempfile.mkdtemp(prefix="gearbox-package-test-")
    os.chmod(root, 0o755)
    units, gearmand = [], None
    try:
        run(["apt-get", "install", "-y", "-q"] + APT_OPTIONS + debs)
        assert sorted(installed(pkgs)) == sorted(pkgs), installed(pkgs)
        verify_units(root)
        check_installed_apis(root)

        gearman_port, http_port = free_ports(2)
        gearmand = subprocess.Popen(
            ["/usr/sbin/gearmand", "--listen=127.0.0.1", "--port=%d" % gearman_port,
             "--pid-file=%s/gearmand.pid" % root, "--log-file=%s/gearmand.log" % root,
             "--verbose=WARNING"], cwd=root)
        wait_for(lambda: port_open(gearman_port), "gearmand", BOUND)
        env = {"GEARMAN_PORT": str(gearman_port), "GEARBOX_PORT": str(http_port)}

        gateway = Unit("gearbox-gateway.service", None, root, env)
        units.append(gateway)
        gateway.start()
        wait_for(lambda: port_open(http_port) or gateway.proc.poll() is not None,
                 "the gateway on port %d" % http_port, BOUND)
        assert gateway.proc.poll() is None, gateway.output()

        for _, component in BARNS:
            assert os.path.exists("/etc/gearbox/workers.d/%s.conf" % component)
            worker = Unit("gearbox-worker@.service", component, root, env)
            units.append(worker)
            worker.start()
        for _, component in BARNS:
            fn = "do_get_%s_animal_v1" % component
            wait_for(lambda: gearman_status(gearman_port).get(fn, (0, 0, 0))[2] > 0
                     or any(u.proc.poll() is not None for u in units), fn + " in gearmand", BOUND)
            dead = [u.name for u in units if u.proc.poll() is not None]
            assert not dead, "exited: %s\n%s" % (dead, "\n".join(
                u.output() for u in units if u.proc.poll() is not None))

        for prefix, component in BARNS:
            check_barn(http_port, prefix, component)
        check_operators(http_port, gearman_port)
    except BaseException:
        for u in units:
            print("---- %s\n%s" % (u.name, u.output()), flush=True)
        for f in sorted(glob.glob(root + "/log/*/*.log")):
            print("---- %s\n%s" % (f, open(f).read()[-4000:]), flush=True)
        raise
    finally:
        for u in reversed(units):
            u.stop()
        if gearmand:
            gearmand.terminate()
            gearmand.wait(60)
        # gearbox-supervise removes a worker's pid file once it has reaped it.
        leftover = glob.glob(root + "/log/*/*.pid")
        purge(pkgs)
        shutil.rmtree(root, ignore_errors=True)
    assert not leftover, "workers still running after their units stopped: %s" % leftover

    left = [path for path in OURS if os.path.lexists(path)]
    left += glob.glob("/etc/php/*/*/conf.d/*gearbox.ini") + glob.glob("/etc/php/*/mods-available/gearbox.ini")
    left += glob.glob("/usr/lib/php/*/gearbox.so") + glob.glob("/usr/lib/*/libgearbox.so*")
    assert not left, "left after the purge: %s" % left
    p = subprocess.run(["dpkg", "-S", "gearbox"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    assert p.returncode == 1 and "no path found" in p.stdout, p.stdout
    log("purged: dpkg -S finds no file of ours")
    log("OK")


if __name__ == "__main__":
    main()
