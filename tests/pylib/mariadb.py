# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""A MariaDB server of the tests' own: `mariadbd` on a datadir under a work
directory, its own unix socket and a free 127.0.0.1 port, never a system
service.  Stopped by the PID it was started with.

    db = MariaDB(workdir).start()
    section = db.status_section()        # the "status" config of a Gearbox stack
    section = db.create_database("t1")   # another database, for one test
    db.restart(); db.kill(); db.stop()

The first server of a machine initialises a template datadir with
`mariadb-install-db` (a few seconds, once; under a lock, so parallel test
programs share it); every server starts from a copy of it (about a second).
A user (`gearbox`, random password) and a database (`gearbox`) are created
on first start; the server keeps them, its port and its socket across
restarts (the work directory's server.json).

Also a command line for the C unit tests (tests/unit/mariadb.h):
    python3 mariadb.py start WORKDIR   # starts (or restarts) it, prints server.json
    python3 mariadb.py stop WORKDIR    # SIGTERM by pid, waits
"""

import fcntl
import getpass
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gbxtest import BOUND, free_port, pid_alive, port_open, wait_for  # noqa: E402

MARIADBD = "/usr/sbin/mariadbd"
INSTALL_DB = "mariadb-install-db"
CLIENT = "mariadb"
# Small and fast rather than durable: test data lives for minutes.
SERVER_FLAGS = ["--skip-name-resolve", "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=8M",
                "--innodb-flush-log-at-trx-commit=2", "--skip-log-bin", "--max-connections=500",
                "--character-set-server=utf8mb4"]


def _run_user():
    return getpass.getuser()


def _template():
    """The initialised datadir every server copies, made once per machine,
    user and mariadbd build."""
    if os.environ.get("GBX_MARIADB_TEMPLATE"):
        path = Path(os.environ["GBX_MARIADB_TEMPLATE"])
    else:
        st = os.stat(MARIADBD)
        path = Path(tempfile.gettempdir()) / ("gbx-mariadb-template-%d-%d-%d"
                                              % (os.getuid(), st.st_size, int(st.st_mtime)))
    if (path / "mysql").is_dir():
        return path
    with open(str(path) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (path / "mysql").is_dir():
            return path
        tmp = Path(tempfile.mkdtemp(prefix=path.name + ".", dir=path.parent))
        try:
            r = subprocess.run([INSTALL_DB, "--no-defaults", "--auth-root-authentication-method=normal",
                                "--datadir=%s" % (tmp / "data"), "--user=%s" % _run_user(), "--skip-test-db",
                                *SERVER_FLAGS], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, timeout=300)
            if r.returncode != 0:
                raise RuntimeError("%s failed (%d):\n%s" % (INSTALL_DB, r.returncode,
                                                            r.stdout.decode(errors="replace")[-3000:]))
            os.rename(tmp / "data", path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return path


class MariaDB:
    """One mariadbd on `workdir` (created if missing)."""

    user = "gearbox"

    def __init__(self, workdir):
        self.workdir = Path(workdir).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.datadir = self.workdir / "data"
        self.log = self.workdir / "mariadbd.log"
        self.state_file = self.workdir / "server.json"
        self.proc = None
        self.pid = None
        self.database = "gearbox"
        if self.state_file.exists():
            state = json.loads(self.state_file.read_text())
            self.port, self.socket, self.password = state["port"], state["socket"], state["password"]
            self.pid = state.get("pid")
            # Left by an earlier process whose server is gone: its port may
            # have been handed out since.
            self._stale_port = not self.running()
        else:
            self._stale_port = False
            self.port = free_port()
            self.socket = str(self.workdir / "mariadbd.sock")
            if len(self.socket) > 100:  # sun_path holds 108 bytes
                self.socket = os.path.join(tempfile.mkdtemp(prefix="gbx-mdb-"), "mariadbd.sock")
            self.password = secrets.token_hex(12)

    # ---- life cycle ----------------------------------------------------------

    def _save(self):
        self.state_file.write_text(json.dumps({
            "port": self.port, "socket": self.socket, "password": self.password, "pid": self.pid,
            "user": self.user, "database": self.database, "datadir": str(self.datadir),
            "log": str(self.log)}) + "\n")

    def running(self):
        return self.pid is not None and pid_alive(self.pid)

    def start(self, detach=False):
        """Starts the server and waits until the test user can work; returns
        self.  `detach`: the server outlives this Python process (the C
        fixture's command line)."""
        if self.running():
            return self
        if self._stale_port and port_open(self.port):
            self.port = free_port()
        self._stale_port = False
        first = not self.datadir.exists()
        if first:
            shutil.copytree(_template(), self.datadir, symlinks=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [MARIADBD, "--no-defaults", "--datadir=%s" % self.datadir, "--socket=%s" % self.socket,
                 "--port=%d" % self.port, "--bind-address=127.0.0.1", "--user=%s" % _run_user(),
                 "--pid-file=%s" % (self.workdir / "mariadbd.pid"), *SERVER_FLAGS],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=detach)
        self.pid = self.proc.pid
        self._save()

        def ready():
            if not pid_alive(self.pid):
                raise AssertionError("mariadbd exited at start:\n%s" % self.log_tail())
            return self._client("SELECT 1", check=False).returncode == 0
        wait_for(ready, "mariadbd to accept connections on %s" % self.socket, BOUND, 0.05)
        if first:
            self.sql("CREATE USER IF NOT EXISTS '{u}'@'localhost' IDENTIFIED BY '{p}';"
                     "CREATE USER IF NOT EXISTS '{u}'@'127.0.0.1' IDENTIFIED BY '{p}';"
                     .format(u=self.user, p=self.password))
            self.create_database(self.database)
        return self

    def _signal_and_wait(self, sig, timeout):
        if self.pid is None:
            return
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass
        if self.proc is not None:
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("mariadbd did not stop within %ss:\n%s" % (timeout, self.log_tail()))
        else:  # started by another process (the command line): poll
            wait_for(lambda: not pid_alive(self.pid), "mariadbd %d to exit" % self.pid, timeout)
        self.proc = None
        self.pid = None
        self._save()

    def stop(self, timeout=60):
        """SIGTERM by pid; waits until it has exited."""
        self._signal_and_wait(signal.SIGTERM, timeout)

    def kill(self):
        """SIGKILL by pid (a crash: InnoDB recovers at the next start)."""
        self._signal_and_wait(signal.SIGKILL, BOUND)

    def restart(self):
        """Stops and starts it again: same datadir, port, socket and users."""
        self.stop()
        return self.start()

    # ---- SQL and configs -------------------------------------------------------

    def _client(self, statements, check=True, database=None):
        args = [CLIENT, "--no-defaults", "--protocol=socket", "--socket=%s" % self.socket, "--user=root",
                "--batch", "--skip-column-names"]
        if database:
            args.append("--database=%s" % database)
        r = subprocess.run(args + ["--execute=%s" % statements], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=BOUND)
        if check and r.returncode != 0:
            raise AssertionError("mariadb: %s\n%s" % (statements, r.stderr.decode(errors="replace")))
        return r

    def sql(self, statements, database=None):
        """Runs SQL as root; returns the rows as lists of strings."""
        out = self._client(statements, database=database).stdout.decode()
        return [line.split("\t") for line in out.splitlines()]

    def create_database(self, name):
        """A database the test user owns; returns its status section."""
        self.sql("CREATE DATABASE IF NOT EXISTS `{d}` CHARACTER SET utf8mb4;"
                 "GRANT ALL ON `{d}`.* TO '{u}'@'localhost';"
                 "GRANT ALL ON `{d}`.* TO '{u}'@'127.0.0.1';".format(d=name, u=self.user))
        return self.status_section(name)

    def status_section(self, database=None):
        """The "status" member of a Gearbox config that uses this server
        over TCP."""
        return {"type": "mariadb", "host": "127.0.0.1", "port": self.port, "socket": None,
                "user": self.user, "password": self.password, "password_file": None,
                "database": database or self.database}

    def log_tail(self, lines=30):
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def main(argv):
    if len(argv) != 3 or argv[1] not in ("start", "stop"):
        sys.stderr.write("usage: mariadb.py start|stop WORKDIR\n")
        return 2
    db = MariaDB(argv[2])
    if argv[1] == "start":
        db.start(detach=True)
        sys.stdout.write(db.state_file.read_text())
    else:
        db.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
