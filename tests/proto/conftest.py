"""Protocol test harness: a real Yubin instance in a temp dir.

Every protocol test gets its instance from the `yubin` fixture: it writes
main.cf and master.cf with services on free loopback ports, starts
`yubin -c DIR start-fg`, waits until the ports answer, hands the test the
addresses, and stops it (SIGTERM, then a bounded wait) afterwards.
"""
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("YUBIN_BIN", os.path.join(REPO, "bin"))
HELPERS = os.environ.get("YUBIN_HELPERS", os.path.join(REPO, "build", "obj", "tests"))
MAIL_OWNER = "yubin"
IS_ROOT = os.geteuid() == 0


def free_port(host="127.0.0.1"):
    """A TCP port nothing listens on right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=10.0, interval=0.05):
    """Poll predicate until it returns a true value or timeout passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            return value
        time.sleep(interval)


def connect(port, host="127.0.0.1", timeout=5.0):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((host, port))
    return s


def port_open(port, host="127.0.0.1"):
    try:
        with connect(port, host, timeout=1.0):
            return True
    except OSError:
        return False


def read_line(port, host="127.0.0.1"):
    """Connect and return the first line the server sends (or None)."""
    try:
        with connect(port, host) as s:
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            return data.decode("utf-8", "replace").strip()
    except OSError:
        return None


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie is not alive for our purposes
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def proc_uid(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                return [int(x) for x in line.split()[1:]]
    raise AssertionError(f"no Uid line for pid {pid}")


class SockClient:
    """What the raw protocol clients share: self.s is the socket, self.buf
    what has been read and not yet used."""

    def closed(self, timeout=5):
        """True once the server has closed the connection."""
        self.s.settimeout(timeout)
        try:
            while True:
                chunk = self.s.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (socket.timeout, TimeoutError):
            return False
        except (ConnectionResetError, ssl.SSLError, OSError):
            return True

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def proc_comm(pid):
    """The command name of pid, or "" when it has just ended."""
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def children_of(pid):
    """Direct children of pid, from /proc."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                kids.append(int(entry))
        except (OSError, IndexError, ValueError):
            pass
    return kids


class Instance:
    """One Yubin instance in a temp dir."""

    def __init__(self, base):
        self.base = base
        self.etc = os.path.join(base, "etc")
        self.spool = os.path.join(base, "spool")
        self.data = os.path.join(base, "data")
        self.daemons = os.path.join(base, "libexec")
        self.log_path = os.path.join(base, "yubin.log")
        self.proc = None
        self.main = {}
        self.services = []
        for d in (self.etc, self.daemons):
            os.makedirs(d)
        # the daemons: every built program, plus the test daemons
        for directory in (BIN, HELPERS):
            if not os.path.isdir(directory):
                continue
            for name in os.listdir(directory):
                path = os.path.join(directory, name)
                if os.path.isfile(path) and os.access(path, os.X_OK):
                    dst = os.path.join(self.daemons, name)
                    if not os.path.exists(dst):
                        os.symlink(path, dst)
        self.main.update({
            "myhostname": "mail.example.com",
            "mydomain": "example.com",
            "queue_directory": self.spool,
            "data_directory": self.data,
            "daemon_directory": self.daemons,
            "inet_interfaces": "loopback-only",
            "mynetworks": "127.0.0.0/8",
            # no test depends on the machine's resolver
            "smtpd_peername_lookup": "no",
            # the shipped aliases file, so that no test depends on the
            # machine's /etc/aliases
            "alias_maps": "hash:" + os.path.join(self.etc, "aliases"),
            "alias_database": "hash:" + os.path.join(self.etc, "aliases"),
        })
        shutil.copy(os.path.join(REPO, "conf", "aliases"),
                    os.path.join(self.etc, "aliases"))

    # configuration -------------------------------------------------------
    def add_service(self, command, port=None, host="127.0.0.1", options=(),
                    name=None):
        """A master.cf inet line; returns the port."""
        port = port or free_port(host)
        if name is None:
            name = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.services.append((name, command, list(options)))
        return port

    def write(self, extra_main="", extra_master=""):
        lines = [f"{k} = {v}" for k, v in self.main.items()]
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write("\n".join(lines) + "\n" + extra_main)
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            for name, command, options in self.services:
                f.write(f"{name} inet n - n - - {command}\n")
                for o in options:
                    f.write(f"  -o {o}\n")
            f.write(extra_master)
        for name in ("main.cf", "master.cf"):
            os.chmod(os.path.join(self.etc, name), 0o644)

    def set(self, **params):
        self.main.update(params)

    # running -------------------------------------------------------------
    def cmd(self, *args, check=False, timeout=60):
        """Run `yubin -c ETC args...`; returns the CompletedProcess."""
        return subprocess.run([os.path.join(BIN, "yubin"), "-c", self.etc, *args],
                              capture_output=True, text=True, check=check,
                              timeout=timeout)

    def ctl(self, *args, input=None, timeout=60):
        return subprocess.run([os.path.join(BIN, "yubinctl"), "-c", self.etc, *args],
                              capture_output=True, text=True, input=input,
                              timeout=timeout)

    def start(self, wait_ports=(), timeout=10.0):
        """start-fg in the background; wait until every port answers."""
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "yubin"), "-c", self.etc, "start-fg"],
            stdout=self.logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        for port in wait_ports:
            host = "127.0.0.1"
            if isinstance(port, tuple):
                host, port = port
            if not wait_for(lambda: port_open(port, host) or self.proc.poll() is not None,
                            timeout):
                raise AssertionError(f"port {port} did not answer:\n{self.log()}")
            if self.proc.poll() is not None:
                raise AssertionError(f"yubin exited {self.proc.returncode}:\n{self.log()}")
        return self

    def stop(self, timeout=20.0):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise AssertionError(f"yubin did not stop on SIGTERM:\n{self.log()}")
        self.logf.close()
        code = self.proc.returncode
        self.proc = None
        return code

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_log(self, pattern, timeout=10.0):
        """Wait until the log matches pattern (a regex); returns the match."""
        rx = re.compile(pattern)
        return wait_for(lambda: rx.search(self.log()), timeout)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None


@pytest.fixture
def yubin():
    """A factory-configured instance: set params, add services, then start()."""
    base = tempfile.mkdtemp(prefix="yubin-test-")
    # daemons run as mail_owner when the tests run as root: they must be
    # able to reach the instance's files
    os.chmod(base, 0o755)
    inst = Instance(base)
    try:
        yield inst
    finally:
        try:
            inst.stop()
        finally:
            if os.environ.get("YUBIN_KEEP") is None:
                shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def mail_owner_uid():
    """The uid daemons must run as: mail_owner as root, else our own."""
    if IS_ROOT:
        return pwd.getpwnam(MAIL_OWNER).pw_uid
    return os.getuid()
