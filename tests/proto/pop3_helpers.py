"""Helpers for the POP3 protocol tests (test_pop3*.py).

A POP3 instance is a Yubin instance (conftest.Instance) with authd, users
in the user database, mail under BASE/mail/DOMAIN/USER owned by VMAIL (a
uid that is neither root nor mail_owner when the tests run as root, so
that the session's uid can be checked), and pop3d services added like
tests/proto/test_supervisor.py adds testd. Messages are put into the
Maildir by writing files into new/, as a delivery agent would.
"""
import base64
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

from conftest import IS_ROOT, Instance, SockClient, wait_for

VMAIL_UID = 65534 if IS_ROOT else os.getuid()
VMAIL_GID = 65534 if IS_ROOT else os.getgid()
PASSWORD = "secret"


def make_cert(directory):
    """A self-signed certificate and key for the instance's TLS."""
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=mail.example.com"],
                   check=True, capture_output=True, timeout=60)
    os.chmod(key, 0o600)
    return cert, key


def authd_ready(inst):
    path = os.path.join(inst.data, "authd.socket")
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(2)
            s.connect(path)
            return s.recv(64).startswith(b"VERSION\t1\t")
    except OSError:
        return False


class Pop3Instance:
    """An instance with users and pop3d services; see start()."""

    def __init__(self, inst):
        self.inst = inst
        self.mail = os.path.join(inst.base, "mail")
        os.makedirs(self.mail)
        os.chown(self.mail, VMAIL_UID, VMAIL_GID)
        self.ports = {}
        self.users = []
        self._next_user = 0
        inst.set(smtpd_sasl_local_domain="example.com",
                 mail_location=f"maildir:{self.mail}/%d/%n",
                 auth_failure_delay="0", auth_failure_limit="100000")
        if IS_ROOT:
            inst.set(virtual_uid_maps=f"static:{VMAIL_UID}",
                     virtual_gid_maps=f"static:{VMAIL_GID}")

    def tls(self):
        cert, key = make_cert(self.inst.base)
        self.inst.set(tls_cert_file=cert, tls_key_file=key)

    def service(self, name, options=(), host="127.0.0.1"):
        self.ports[name] = self.inst.add_service("pop3d", host=host,
                                                 options=options)
        return self.ports[name]

    def start(self, users=8, **params):
        self.inst.set(**params)
        self.inst.write()
        for i in range(users):
            user = f"user{i}@example.com"
            r = self.inst.ctl("user", "add", user, input=PASSWORD + "\n")
            assert r.returncode == 0, r.stderr
            self.users.append(user)
        self.inst.start(list(self.ports.values()))
        assert wait_for(lambda: authd_ready(self.inst), 10), self.inst.log()
        return self

    def fresh_user(self):
        """A user no other test has touched."""
        assert self._next_user < len(self.users), "start() with more users"
        user = self.users[self._next_user]
        self._next_user += 1
        return user

    def maildir(self, user):
        local, domain = user.split("@")
        return os.path.join(self.mail, domain, local)

    def deliver(self, user, data, name=None, subdir="new", info=""):
        """Write one message file into user's Maildir; returns its path."""
        root = self.maildir(user)
        for d in (os.path.dirname(root), root, *(os.path.join(root, x)
                                                 for x in ("cur", "new", "tmp"))):
            if not os.path.isdir(d):
                os.makedirs(d, exist_ok=True)
                os.chmod(d, 0o700)
                os.chown(d, VMAIL_UID, VMAIL_GID)
        if name is None:
            Pop3Instance.counter = getattr(Pop3Instance, "counter", 0) + 1
            # names sort in delivery order, so UIDs follow it too
            name = "%d.M%06dP%d.test" % (time.time(), Pop3Instance.counter,
                                         os.getpid())
        path = os.path.join(root, subdir, name + info)
        tmp = os.path.join(root, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(data)
        os.chown(tmp, VMAIL_UID, VMAIL_GID)
        os.chmod(tmp, 0o600)
        os.rename(tmp, path)
        return path

    def files(self, user):
        """{base name: info} of the files in cur/ and new/."""
        root = self.maildir(user)
        found = {}
        for sub in ("cur", "new"):
            d = os.path.join(root, sub)
            if os.path.isdir(d):
                for name in os.listdir(d):
                    base, _, info = name.partition(":")
                    found[base] = info
        return found

    def uidlist(self, user):
        """(uidvalidity, {base name: uid}) from dovecot-uidlist."""
        with open(os.path.join(self.maildir(user), "dovecot-uidlist")) as f:
            lines = f.read().splitlines()
        head = lines[0].split()
        validity = int(next(x[1:] for x in head[1:] if x.startswith("V")))
        uids = {}
        for line in lines[1:]:
            fields, _, name = line.partition(":")
            uids[name] = int(fields.split()[0])
        return validity, uids


def pop3_wire(data):
    """What RETR sends for a stored message: CRLF line ends, dot-stuffed,
    a final CRLF added when missing, then the terminator. Also returns
    the size LIST reports (the message with CRLF line ends)."""
    lines = data.split(b"\n")
    last = lines.pop()
    out = []
    for line in lines:
        if not line.endswith(b"\r"):
            line += b"\r"
        out.append(line + b"\n")
    if last:
        out.append(last)
    body = b"".join(out)
    stuffed = b"\n".join(b"." + p if p.startswith(b".") else p
                         for p in body.split(b"\n"))
    size = len(body)
    if stuffed and not stuffed.endswith(b"\r\n"):
        stuffed += b"\r\n"
    return stuffed + b".\r\n", size


class Pop(SockClient):
    """A raw POP3 connection (optionally from a given source address)."""

    def __init__(self, port, host="127.0.0.1", source=None, tls=False,
                 timeout=10, greet=True):
        self.s = socket.create_connection(
            (host, port), timeout,
            source_address=(source, 0) if source else None)
        self.buf = b""
        if tls:
            self.starttls_wrap()
        self.greeting = self.line() if greet else None

    def starttls_wrap(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        assert self.buf == b"", "data left before the TLS switch"
        self.s = ctx.wrap_socket(self.s, server_hostname="mail.example.com")

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.s.sendall(data)

    def _fill(self):
        chunk = self.s.recv(65536)
        if not chunk:
            raise EOFError("connection closed; had %r" % self.buf[:200])
        self.buf += chunk

    def line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("latin-1")

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.line()

    def raw_multi(self):
        """The bytes of a multi-line body up to and including .CRLF."""
        while True:
            if self.buf.startswith(b".\r\n"):
                end = 3
                break
            i = self.buf.find(b"\r\n.\r\n")
            if i >= 0:
                end = i + 5
                break
            self._fill()
        data, self.buf = self.buf[:end], self.buf[end:]
        return data

    def multi(self):
        """Lines of a multi-line body, unstuffed, as text."""
        raw = self.raw_multi()
        lines = raw.split(b"\r\n")[:-2]
        return [l[1:].decode("latin-1") if l.startswith(b".")
                else l.decode("latin-1") for l in lines]

    def login(self, user, password=PASSWORD):
        assert self.cmd("USER " + user) == "+OK"
        reply = self.cmd("PASS " + password)
        assert reply == "+OK Logged in.", reply
        return reply


def plain_b64(user, password=PASSWORD):
    return base64.b64encode(b"\0" + user.encode() + b"\0"
                            + password.encode()).decode()


def b64(text):
    return base64.b64encode(text.encode()).decode()


def login_pid(inst, user, timeout=10):
    """The mpid= of user's latest Login line."""
    m = wait_for(lambda: re.findall(
        r"pop3-login: Login: user=<%s>, .*mpid=(\d+)" % re.escape(user),
        inst.log()), timeout)
    assert m, inst.log()
    return int(m[-1])


def module_instance(request):
    """A module-scoped instance (conftest's yubin fixture is per test)."""
    base = tempfile.mkdtemp(prefix="yubin-pop3-")
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


MSG = (b"From: Ann <ann@example.com>\nTo: user@example.com\n"
       b"Subject: test %d\nMessage-ID: <%d@example.com>\n\n"
       b"Hello.\nLine two.\n")


def msg(n):
    return MSG % (n, n)
