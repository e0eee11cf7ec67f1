#!/usr/bin/python3
"""bench_smtp.py - SMTP in, Maildir out: Yubin beside Postfix, same run

  YUBIN_BIN=.../bin YUBIN_HELPERS=.../tests /usr/bin/python3 \
      tests/bench/bench_smtp.py [--sessions 1,10,50] [--messages 2000] \
      [--messages-single 500] [--size 4096] [--latency 200] \
      [--timeout 180] [--rounds 2] [--skip-postfix]

Measures, for each server:
  rate     messages per second accepted over SMTP AND delivered into a
           Maildir's new/, with 1, 10 and 50 concurrent sessions; Postfix's
           smtp-source is the load generator for both (one message per
           connection, SIZE bytes of payload); the clock runs from just
           before the first connect to the last file appearing in new/
           (inotify), and every message must have arrived
  latency  one session, one message at a time: connect .. 250 after the
           final dot (accepted) and connect .. file in new/ (delivered),
           median, 90th percentile and worst

Yubin runs as a real instance (yubin start-fg: smtpd, qmgr, local, authd)
from a temp dir with virtual users, as tests/proto/test_delivery.py sets
it up. Postfix (Debian's postfix; needs root) runs from a throwaway
config_directory in another temp dir -- its own queue_directory,
data_directory and maillog_file, smtpd on a free loopback port, virtual(8)
delivering to Maildirs under virtual_mailbox_base -- with its default
fsync behaviour; /etc/postfix and the system service are never touched
(`postfix -c DIR start`, `postfix -c DIR stop`). Both servers fsync the
queue file before 250 and the Maildir file before it shows up in new/
(Yubin also fsyncs the directories). Prints a table with both rates and
the ratio (Yubin / Postfix); the targets are >= 1.0 for one session and
>= 1.5 for 10 and 50. Not part of make check.
"""
import argparse
import ctypes
import os
import pwd
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "proto"))

from conftest import IS_ROOT, Instance, free_port, port_open, wait_for  # noqa: E402,E501
from test_delivery import VIRTUAL_DOMAIN, Mta, vmail_owner  # noqa: E402

SMTP_SOURCE = "/usr/sbin/smtp-source"
POSTFIX = "/usr/sbin/postfix"
PF_DAEMONS = "/usr/lib/postfix/sbin"
PF_MASTER_CF = "/etc/postfix/master.cf"     # read as a template only
SENDER = "bench@example.net"
TARGETS = {1: 1.0}                          # any other count: 1.5

IN_CREATE = 0x100
IN_MOVED_TO = 0x80
IN_Q_OVERFLOW = 0x4000
_libc = ctypes.CDLL(None, use_errno=True)


class NewWatch:
    """Counts files appearing in a Maildir's new/ (inotify)."""

    def __init__(self, new):
        self.new = new
        self.fd = _libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if _libc.inotify_add_watch(self.fd, new.encode(),
                                   IN_CREATE | IN_MOVED_TO) < 0:
            raise OSError(ctypes.get_errno(), "inotify_add_watch " + new)
        self.count = len(os.listdir(new))
        self.last = None        # monotonic time of the latest arrival

    def poll(self, timeout):
        """Wait up to timeout seconds for arrivals; returns the count."""
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return self.count
        now = time.monotonic()
        try:
            data = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return self.count
        pos = 0
        while pos + 16 <= len(data):
            _, mask, _, nlen = struct.unpack_from("iIII", data, pos)
            pos += 16 + nlen
            if mask & IN_Q_OVERFLOW:
                self.count = len(os.listdir(self.new))
            elif mask & (IN_CREATE | IN_MOVED_TO):
                self.count += 1
            self.last = now
        return self.count

    def close(self):
        os.close(self.fd)


def make_maildir(root, uid, gid):
    for d in ("", "cur", "new", "tmp"):
        p = os.path.join(root, d)
        os.makedirs(p, mode=0o700, exist_ok=True)
        os.chown(p, uid, gid)
    return os.path.join(root, "new")


def payload(size):
    line = b"The quick brown fox jumps over the lazy dog 0123456789.\r\n"
    return (line * (size // len(line) + 1))[:size - 2] + b"\r\n"


# the two servers ---------------------------------------------------------
class YubinServer:
    name = "yubin"

    def __init__(self, base, users):
        os.makedirs(base)
        os.chmod(base, 0o755)
        self.inst = Instance(base)
        self.mta = Mta(self.inst)
        self.port = self.inst.add_service("smtpd")
        self.uid, self.gid = vmail_owner()
        for u in users:
            self.mta.user("%s@%s" % (u, VIRTUAL_DOMAIN))

    def start(self):
        self.mta.start(smtpd_client_connection_count_limit="0")
        if not wait_for(lambda: port_open(self.port), 10):
            raise RuntimeError("yubin smtpd did not answer:\n"
                               + self.inst.log())

    def maildir(self, user):
        return self.mta.maildir("%s@%s" % (user, VIRTUAL_DOMAIN))

    def stop(self):
        self.inst.stop()

    def log_tail(self):
        return self.inst.log()[-3000:]


class PostfixServer:
    """Debian's Postfix from a throwaway config_directory."""
    name = "postfix"

    def __init__(self, base, users):
        self.base = base
        self.etc = os.path.join(base, "etc")
        self.spool = os.path.join(base, "spool")
        self.data = os.path.join(base, "data")
        self.vmail = os.path.join(base, "vmail")
        self.log_path = os.path.join(base, "postfix.log")
        self.port = free_port()
        self.uid, self.gid = vmail_owner()
        self.started = False
        pf = pwd.getpwnam("postfix")
        os.makedirs(self.etc)
        os.chmod(base, 0o755)
        for d in (self.spool, self.data, self.vmail):
            os.makedirs(d, mode=0o755)
        os.chown(self.data, pf.pw_uid, pf.pw_gid)
        os.chown(self.vmail, self.uid, self.gid)
        with open(os.path.join(self.etc, "vmailbox"), "w") as f:
            for u in users:
                f.write("%s@%s %s/%s/\n" % (u, VIRTUAL_DOMAIN,
                                            VIRTUAL_DOMAIN, u))
        os.makedirs(os.path.join(self.vmail, VIRTUAL_DOMAIN))
        os.chown(os.path.join(self.vmail, VIRTUAL_DOMAIN), self.uid,
                 self.gid)
        main = {
            "compatibility_level": "3.6",
            "queue_directory": self.spool,
            "data_directory": self.data,
            "maillog_file": self.log_path,
            "maillog_file_prefixes": base,
            "myhostname": "mail.example.com",
            "mydomain": "example.com",
            "myorigin": "$myhostname",
            "mydestination": "mail.example.com, localhost",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "alias_maps": "",
            "alias_database": "",
            "biff": "no",
            "smtpd_client_connection_count_limit": "0",
            "virtual_mailbox_domains": VIRTUAL_DOMAIN,
            "virtual_mailbox_base": self.vmail,
            "virtual_mailbox_maps": "texthash:" + os.path.join(
                self.etc, "vmailbox"),
            "virtual_uid_maps": "static:%d" % self.uid,
            "virtual_gid_maps": "static:%d" % self.gid,
        }
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            for k, v in main.items():
                f.write("%s = %s\n" % (k, v))
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(self.master_cf())
        # postfix(1) reads these beside main.cf
        for name in ("dynamicmaps.cf", "postfix-files"):
            src = os.path.join("/etc/postfix", name)
            if os.path.exists(src):
                shutil.copy(src, self.etc)
        for d in ("dynamicmaps.cf.d", "postfix-files.d"):
            src = os.path.join("/etc/postfix", d)
            if os.path.isdir(src):
                shutil.copytree(src, os.path.join(self.etc, d))

    def master_cf(self):
        """The package's master.cf, smtpd on our port, nothing chrooted."""
        out = []
        with open(PF_MASTER_CF) as f:
            for line in f:
                fields = line.split()
                if (line[:1].isspace() or line.startswith("#")
                        or len(fields) < 8):
                    out.append(line)
                    continue
                if fields[0] == "smtp" and fields[1] == "inet":
                    fields[0] = "127.0.0.1:%d" % self.port
                fields[4] = "n"
                out.append(" ".join(fields[:7]) + " "
                           + line.split(None, 7)[7])
        return "".join(out)

    def postfix(self, *args):
        return subprocess.run([POSTFIX, "-c", self.etc, *args],
                              capture_output=True, text=True, timeout=60)

    def start(self):
        r = self.postfix("start")
        if r.returncode != 0:
            raise RuntimeError("postfix start: %s%s" % (r.stdout, r.stderr))
        self.started = True
        if not wait_for(lambda: port_open(self.port), 15):
            raise RuntimeError("postfix smtpd did not answer:\n"
                               + self.log_tail())

    def maildir(self, user):
        return os.path.join(self.vmail, VIRTUAL_DOMAIN, user)

    def master_pid(self):
        try:
            with open(os.path.join(self.spool, "pid", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        if not self.started:
            return
        pid = self.master_pid()
        self.postfix("stop")
        self.started = False
        if pid and not wait_for(lambda: not os.path.exists(
                "/proc/%d" % pid), 15):
            os.kill(pid, signal.SIGKILL)

    def log_tail(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return ""


# the measurements --------------------------------------------------------
def run_rate(server, user, sessions, count, size, timeout):
    """Messages/s for count messages over sessions parallel sessions."""
    new = make_maildir(server.maildir(user), server.uid, server.gid)
    watch = NewWatch(new)
    before = watch.count
    cmd = [SMTP_SOURCE, "-4", "-M", "client.example.net", "-f", SENDER,
           "-t", "%s@%s" % (user, VIRTUAL_DOMAIN), "-l", str(size),
           "-m", str(count), "-s", str(sessions),
           "127.0.0.1:%d" % server.port]
    start = time.monotonic()
    deadline = start + timeout
    src = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
    try:
        while (watch.count - before < count
               and time.monotonic() < deadline):
            watch.poll(0.2)
            if src.poll() not in (None, 0):
                break
        if src.poll() is None:
            src.wait(max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        pass
    finally:
        if src.poll() is None:
            src.kill()
            src.wait()
        watch.close()
    err = src.stderr.read().decode(errors="replace").strip()
    src.stderr.close()
    got = len(os.listdir(new)) - before
    if src.returncode != 0 or got != count:
        raise RuntimeError("%s, %d sessions: smtp-source exit %s, %d of %d "
                           "delivered in %gs\n%s\n%s"
                           % (server.name, sessions, src.returncode, got,
                              count, timeout, err, server.log_tail()))
    return count / (watch.last - start)


def recv_reply(s, buf):
    """One complete SMTP reply's code (multi-line replies joined)."""
    while True:
        while b"\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                raise EOFError("connection closed")
            buf += chunk
        line, _, rest = bytes(buf).partition(b"\r\n")
        del buf[:len(line) + 2]
        if line[3:4] != b"-":
            return int(line[:3])


def smtp_once(port, rcpt, body):
    """One message on a fresh connection; returns (t0, t_accepted)."""
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), 10)
    buf = bytearray()
    try:
        steps = [(None, 220), (b"EHLO client.example.net\r\n", 250),
                 (b"MAIL FROM:<%s>\r\n" % SENDER.encode(), 250),
                 (b"RCPT TO:<%s>\r\n" % rcpt.encode(), 250),
                 (b"DATA\r\n", 354), (body + b".\r\n", 250)]
        for send, want in steps:
            if send:
                s.sendall(send)
            code = recv_reply(s, buf)
            if code != want:
                raise RuntimeError("got %d, want %d after %r"
                                   % (code, want, send[:20] if send else
                                      "connect"))
        t1 = time.monotonic()
        s.sendall(b"QUIT\r\n")
    finally:
        s.close()
    return t0, t1


def run_latency(server, user, count, size, timeout):
    """(accepted, delivered) lists of per-message seconds, one session."""
    new = make_maildir(server.maildir(user), server.uid, server.gid)
    watch = NewWatch(new)
    rcpt = "%s@%s" % (user, VIRTUAL_DOMAIN)
    deadline = time.monotonic() + timeout
    accepted, delivered = [], []
    try:
        for i in range(count):
            body = (b"From: <%s>\r\nTo: <%s>\r\nSubject: latency %d\r\n"
                    b"Message-ID: <lat%d@bench.example>\r\n\r\n"
                    % (SENDER.encode(), rcpt.encode(), i, i)) + payload(size)
            want = watch.count + 1
            t0, t1 = smtp_once(server.port, rcpt, body)
            while watch.count < want:
                if time.monotonic() > deadline:
                    raise RuntimeError("%s: message %d not delivered in "
                                       "time\n%s" % (server.name, i,
                                                     server.log_tail()))
                watch.poll(1.0)
            accepted.append(t1 - t0)
            delivered.append(watch.last - t0)
    finally:
        watch.close()
    return accepted, delivered


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def postfix_wanted(args):
    """Postfix runs beside Yubin unless --skip-postfix, or it cannot."""
    if args.skip_postfix:
        return False
    if not IS_ROOT:
        print("Postfix needs root to run: Yubin only")
        return False
    if not os.access(POSTFIX, os.X_OK):
        print("Postfix is not installed: Yubin only")
        return False
    return True


def stop_servers(servers, base):
    """Stop every server (one that fails to stop stops no other), then
    remove base unless YUBIN_KEEP is set."""
    for s in servers:
        try:
            s.stop()
        except Exception as e:  # noqa: BLE001 - keep stopping the rest
            print("stopping %s: %r" % (s.name, e))
    if os.environ.get("YUBIN_KEEP") is None:
        shutil.rmtree(base, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", default="1,10,50",
                    help="comma-separated concurrency levels")
    ap.add_argument("--messages", type=int, default=2000,
                    help="messages per run with more than one session")
    ap.add_argument("--messages-single", type=int, default=500,
                    help="messages per run with one session")
    ap.add_argument("--size", type=int, default=4096,
                    help="payload bytes per message (smtp-source -l)")
    ap.add_argument("--latency", type=int, default=200,
                    help="messages for the one-session latency figures")
    ap.add_argument("--timeout", type=float, default=180,
                    help="seconds allowed for each run")
    ap.add_argument("--rounds", type=int, default=2,
                    help="runs of each level per server, taking turns; "
                    "the best counts")
    ap.add_argument("--skip-postfix", action="store_true")
    args = ap.parse_args()
    levels = [int(x) for x in args.sessions.split(",") if x]

    if not os.access(SMTP_SOURCE, os.X_OK):
        print("bench_smtp: %s is missing (apt-get install postfix, then "
              "disable its service): skipped" % SMTP_SOURCE)
        return 0
    users = ["lat"] + ["s%d-%d" % (n, r) for n in levels
                       for r in range(args.rounds)]
    base = tempfile.mkdtemp(prefix="yubin-bench-smtp-")
    os.chmod(base, 0o755)
    servers = []
    try:
        servers.append(YubinServer(os.path.join(base, "yubin"), users))
        if postfix_wanted(args):
            servers.append(PostfixServer(os.path.join(base, "postfix"),
                                         users))
        for s in servers:
            s.start()

        print("SMTP -> Maildir, %d-byte payload, one message per "
              "connection; %d messages with 1 session, %d with more"
              % (args.size, args.messages_single, args.messages),
              flush=True)
        rates = {}
        for n in levels:
            count = args.messages_single if n == 1 else args.messages
            for r in range(args.rounds):     # interleaved: fairer when
                for s in servers:               # the machine is shared
                    rate = run_rate(s, "s%d-%d" % (n, r), n, count,
                                    args.size, args.timeout)
                    print("  %-8s %3d sessions, round %d: %8.1f msg/s"
                          % (s.name, n, r + 1, rate), flush=True)
                    key = (s.name, n)
                    rates[key] = max(rates.get(key, 0), rate)
        lat = {}
        if args.latency > 0:
            for s in servers:
                lat[s.name] = run_latency(s, "lat", args.latency, args.size,
                                          args.timeout)

        names = [s.name for s in servers]
        print()
        head = "%-9s" % "sessions" + "".join("%14s" % (n + " msg/s")
                                             for n in names)
        both = "postfix" in names
        if both:
            head += "%10s%9s%6s" % ("ratio", "target", "")
        print(head)
        missed = 0
        for n in levels:
            row = "%-9d" % n + "".join("%14.1f" % rates[(nm, n)]
                                       for nm in names)
            if both:
                ratio = rates[("yubin", n)] / rates[("postfix", n)]
                target = TARGETS.get(n, 1.5)
                ok = ratio >= target
                missed += not ok
                row += "%10.2f%9s%6s" % (ratio, ">= %.1f" % target,
                                         "ok" if ok else "MISS")
            print(row)
        if lat:
            print()
            print("one session, %d messages, ms: accepted = connect .. 250 "
                  "after the dot, delivered = connect .. file in new/"
                  % args.latency)
            print("%-9s %8s %8s %8s %8s %8s %8s"
                  % ("server", "acc p50", "acc p90", "acc max",
                     "dlv p50", "dlv p90", "dlv max"))
            for nm in names:
                a, d = lat[nm]
                print("%-9s %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f"
                      % (nm, pct(a, 50) * 1e3, pct(a, 90) * 1e3,
                         max(a) * 1e3, pct(d, 50) * 1e3, pct(d, 90) * 1e3,
                         max(d) * 1e3))
        if missed:
            print("\n%d target(s) missed" % missed)
    finally:
        stop_servers(servers, base)
    return 0


if __name__ == "__main__":
    sys.exit(main())
