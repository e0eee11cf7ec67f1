"""Helpers for the IMAP protocol tests (test_imap*.py).

Two ways to reach the IMAP session:

* preauth(): the session program alone, `imap -c ETC --preauth USER
  MAILDIR`, on a socketpair (or imaplib.IMAP4_stream over a pipe) -- no
  supervisor, no authd; fast, for the commands themselves.
* ImapInstance: a whole Yubin instance with authd, users and imapd
  services, as a client meets it (login, TLS, hand-off to the session).

Mail is put into a Maildir by writing files into new/ (as a delivery
agent would). When the tests run as root the Maildirs belong to VMAIL, a
uid that is neither root nor mail_owner, and the session runs as it.
"""
import base64
import imaplib
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

from conftest import BIN, IS_ROOT, Instance, SockClient, wait_for

VMAIL_UID = 65534 if IS_ROOT else os.getuid()
VMAIL_GID = 65534 if IS_ROOT else os.getgid()
PASSWORD = "secret"
IMAP = os.path.join(BIN, "imap")

MSG = (b"From: Ann Example <ann@example.com>\nTo: user@example.com\n"
       b"Subject: test %d\nDate: Mon, 1 Jan 2024 12:00:00 +0000\n"
       b"Message-ID: <%d@example.com>\n\nHello %d.\nLine two.\n")


def sanitized():
    """1 when the programs are built with AddressSanitizer (SANITIZE=1),
    whose shadow memory makes every process much bigger"""
    try:
        out = subprocess.run(["ldd", IMAP], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "libasan" in out


def msg(n):
    return MSG % (n, n, n)


def chown(path):
    if IS_ROOT:
        os.chown(path, VMAIL_UID, VMAIL_GID)


def make_maildir(root):
    for d in (root, *(os.path.join(root, x) for x in ("cur", "new", "tmp"))):
        if not os.path.isdir(d):
            os.makedirs(d, exist_ok=True)
            os.chmod(d, 0o700)
            chown(d)


_counter = [0, 0]


def unique_name(size):
    """A Maildir file name whose time part grows with every call, so that
    UIDs are given in delivery order (new files are taken by time)."""
    us = max(time.time_ns() // 1000, _counter[1] + 1)
    _counter[1] = us
    _counter[0] += 1
    return "%d.M%dP%dQ%d.test,S=%d" % (us // 1000000, us % 1000000,
                                       os.getpid(), _counter[0], size)


def deliver(root, data, folder=None, subdir="new", info="", mtime=None):
    """Write one message file into a Maildir (or a .Folder); its path."""
    base = root if folder is None else os.path.join(root, "." + folder)
    make_maildir(root)
    make_maildir(base)
    name = unique_name(len(data))
    tmp = os.path.join(base, "tmp", name)
    with open(tmp, "wb") as f:
        f.write(data)
    chown(tmp)
    os.chmod(tmp, 0o600)
    if mtime is not None:
        os.utime(tmp, (mtime, mtime))
    path = os.path.join(base, subdir, name + info)
    os.rename(tmp, path)
    return path


def config_dir(base, **params):
    """A config dir with a main.cf for preauth sessions."""
    etc = os.path.join(base, "etc")
    os.makedirs(etc, exist_ok=True)
    main = {"myhostname": "mail.example.com", "mydomain": "example.com"}
    main.update(params)
    with open(os.path.join(etc, "main.cf"), "w") as f:
        f.write("".join("%s = %s\n" % kv for kv in main.items()))
    open(os.path.join(etc, "master.cf"), "w").close()
    return etc


class Raw(SockClient):
    """A raw IMAP connection on a socket: send lines, read responses."""

    def __init__(self, sock, greet=True, timeout=10):
        self.s = sock
        self.s.settimeout(timeout)
        self.buf = b""
        self.greeting = self.line() if greet else None

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.s.sendall(data)

    def _fill(self):
        chunk = self.s.recv(1 << 20)
        if not chunk:
            raise EOFError("connection closed; had %r" % self.buf[-300:])
        self.buf += chunk

    def line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def read_bytes(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def response(self, tag):
        """Lines up to and including the tagged one; literals are kept
        inline as raw text (a literal's bytes follow its {n} line)."""
        out = []
        while True:
            line = self.line()
            m = re.search(r"\{(\d+)\}$", line)
            while m:
                data = self.read_bytes(int(m.group(1)))
                line += "\r\n" + data.decode("utf-8", "replace")
                rest = self.line()
                line += rest
                m = re.search(r"\{(\d+)\}$", rest)
            out.append(line)
            if line.startswith(tag + " "):
                return out

    def cmd(self, tag, text):
        self.send("%s %s\r\n" % (tag, text))
        return self.response(tag)


class Preauth:
    """The session program on a socketpair: `imap --preauth`."""

    def __init__(self, etc, user, maildir, extra=()):
        self.etc = etc
        self.user = user
        self.maildir = maildir
        ours, theirs = socket.socketpair()
        self.proc = subprocess.Popen(
            [IMAP, "-c", etc, *extra, "--preauth", user, maildir],
            stdin=theirs, stdout=theirs, stderr=subprocess.PIPE)
        theirs.close()
        self.sock = ours
        self.err = ""

    def raw(self, **kw):
        return Raw(self.sock, **kw)

    def wait(self, timeout=10):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise

    def stderr(self):
        if self.proc.stderr.closed:
            return self.err
        self.err += self.proc.stderr.read().decode("utf-8", "replace")
        return self.err

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        err = self.stderr()
        self.proc.stderr.close()
        # a sanitizer build reports trouble on stderr: that fails a test
        for word in ("runtime error", "AddressSanitizer", "LeakSanitizer",
                     "panic:"):
            assert word not in err, err


class StreamIMAP(imaplib.IMAP4_stream):
    """imaplib over the preauth session's stdin/stdout."""

    def __init__(self, etc, user, maildir, extra=()):
        cmd = " ".join([IMAP, "-c", etc, *extra, "--preauth", user, maildir])
        super().__init__(cmd)


def authd_ready(inst):
    path = os.path.join(inst.data, "authd.socket")
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(2)
            s.connect(path)
            return s.recv(64).startswith(b"VERSION\t1\t")
    except OSError:
        return False


def make_cert(directory):
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=mail.example.com"],
                   check=True, capture_output=True, timeout=60)
    os.chmod(key, 0o600)
    return cert, key


class ImapInstance:
    """An instance with users and imapd services; see start()."""

    def __init__(self, inst):
        self.inst = inst
        self.mail = os.path.join(inst.base, "mail")
        os.makedirs(self.mail)
        chown(self.mail)
        self.ports = {}
        self.users = []
        self._next = 0
        inst.set(smtpd_sasl_local_domain="example.com",
                 mail_location="maildir:%s/%%d/%%n" % self.mail,
                 auth_failure_delay="0", auth_failure_limit="100000")
        if IS_ROOT:
            inst.set(virtual_uid_maps="static:%d" % VMAIL_UID,
                     virtual_gid_maps="static:%d" % VMAIL_GID)

    def tls(self):
        cert, key = make_cert(self.inst.base)
        self.inst.set(tls_cert_file=cert, tls_key_file=key)

    def service(self, name, options=(), host="127.0.0.1"):
        self.ports[name] = self.inst.add_service("imapd", host=host,
                                                 options=options)
        return self.ports[name]

    def start(self, users=8, **params):
        self.inst.set(**params)
        self.inst.write()
        for i in range(users):
            user = "user%d@example.com" % i
            r = self.inst.ctl("user", "add", user, input=PASSWORD + "\n")
            assert r.returncode == 0, r.stderr
            self.users.append(user)
        self.inst.start(list(self.ports.values()))
        assert wait_for(lambda: authd_ready(self.inst), 10), self.inst.log()
        return self

    def fresh_user(self):
        assert self._next < len(self.users), "start() with more users"
        user = self.users[self._next]
        self._next += 1
        return user

    def maildir(self, user):
        local, domain = user.split("@")
        return os.path.join(self.mail, domain, local)

    def deliver(self, user, data, **kw):
        d = os.path.dirname(self.maildir(user))
        if not os.path.isdir(d):
            os.makedirs(d, exist_ok=True)
            chown(d)
        return deliver(self.maildir(user), data, **kw)

    def raw(self, name="imap", tls=False, source=None, greet=True):
        s = socket.create_connection(
            ("127.0.0.1", self.ports[name]), 10,
            source_address=(source, 0) if source else None)
        if tls:
            s = client_tls().wrap_socket(s, server_hostname="mail.example.com")
        return Raw(s, greet=greet)


def client_tls():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def plain_b64(user, password=PASSWORD):
    return base64.b64encode(b"\0" + user.encode() + b"\0"
                            + password.encode()).decode()


def b64(text):
    return base64.b64encode(text.encode()).decode()


def module_instance(request, prefix="yubin-imap-"):
    """A module-scoped instance (conftest's yubin fixture is per test)."""
    base = tempfile.mkdtemp(prefix=prefix)
    os.chmod(base, 0o755)
    inst = Instance(base)

    def fin():
        try:
            inst.stop()
        finally:
            if os.environ.get("YUBIN_KEEP") is None:
                shutil.rmtree(base, ignore_errors=True)
    request.addfinalizer(fin)
    return inst


def tmpdir_base(request, prefix="yubin-imap-"):
    base = tempfile.mkdtemp(prefix=prefix)
    os.chmod(base, 0o755)

    def fin():
        if os.environ.get("YUBIN_KEEP") is None:
            shutil.rmtree(base, ignore_errors=True)
    request.addfinalizer(fin)
    return base
