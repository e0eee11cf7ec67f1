#!/usr/bin/python3
"""bench_imap.py - IMAP session throughput and memory, Yubin vs Dovecot.

    /usr/bin/python3 tests/bench/bench_imap.py [--bin DIR] [--messages N]
        [--rounds R] [--idle N] [--skip-dovecot]

Run by hand (not part of make check or make bench, which build C
benchmarks only). Needs the built `imap` program (--bin, default bin/);
Dovecot's session program (/usr/lib/dovecot/imap, Debian's dovecot-imapd)
is measured in the same run when it is installed.

Throughput: two identical Maildirs of N messages (default 10,000) are
written straight to disk; each server's session program runs in preauth
mode on a socketpair (the same way for both: no login, no TLS) and takes,
in each round: SELECT INBOX, FETCH 1:* (FLAGS UID RFC822.SIZE), FETCH 1:*
ENVELOPE, 500 full bodies (FETCH of every 20th message's BODY.PEEK[]), a
SEARCH over headers, a STORE on every message and back, and UNSELECT.
Round 1 is cold (each server builds its own index or cache); the reported
figure is the best of the later rounds.

Memory: --idle N session processes of each server (default 1,000) sit in
IDLE on a small mailbox; the sum of their proportional set sizes
(/proc/PID/smaps_rollup, Pss) divided by N is the memory an idle
connection costs.

As root, the Maildirs and the processes belong to nobody (65534).
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

DOVECOT_IMAP = "/usr/lib/dovecot/imap"
IS_ROOT = os.geteuid() == 0
UID = 65534 if IS_ROOT else os.getuid()
GID = 65534 if IS_ROOT else os.getgid()


def chown_tree(path):
    if not IS_ROOT:
        return
    for d, dirs, files in os.walk(path):
        os.chown(d, UID, GID)
        for f in files:
            os.chown(os.path.join(d, f), UID, GID)


def make_maildir(root, count):
    for d in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    base = 1700000000
    for i in range(count):
        body = b"".join(b"Line %d of the body of message %d, some text.\n"
                        % (k, i) for k in range(30))
        data = (b"From: Sender %d <sender%d@example.com>\n"
                b"To: User <user@example.com>\n"
                b"Subject: Message number %d about topic %d\n"
                b"Date: Mon, 1 Jan 2024 12:%02d:%02d +0000\n"
                b"Message-ID: <%d.bench@example.com>\n"
                b"MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n"
                b"\n" % (i, i % 97, i, i % 50, (i // 60) % 60, i % 60, i)) + body
        name = "%d.M%06dP1Q%d.bench,S=%d:2,%s" % (
            base + i // 1000000, i % 1000000, i, len(data),
            "S" if i % 4 else "")
        with open(os.path.join(root, "cur", name), "wb") as f:
            f.write(data)
    chown_tree(root)


class Session:
    """One session program on a socketpair, preauthenticated."""

    def __init__(self, argv, env=None):
        ours, theirs = socket.socketpair()
        pre = []
        if IS_ROOT and argv[0] == DOVECOT_IMAP:
            pre = ["setpriv", "--reuid=%d" % UID, "--regid=%d" % GID,
                   "--clear-groups"]
        self.proc = subprocess.Popen(pre + argv, stdin=theirs, stdout=theirs,
                                     stderr=subprocess.DEVNULL, env=env)
        theirs.close()
        self.s = ours
        self.s.settimeout(600)
        self.buf = b""
        self.pos = 0
        self.line()

    def _fill(self):
        chunk = self.s.recv(1 << 20)
        if not chunk:
            raise EOFError("closed")
        # drop what was consumed, then append: copying the rest of the
        # buffer for every line would make reading a reply quadratic
        self.buf = self.buf[self.pos:] + chunk
        self.pos = 0

    def line(self):
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                line = self.buf[self.pos:i]
                self.pos = i + 2
                return line
            self._fill()

    def skip(self, n):
        """consume n bytes (a literal)"""
        while len(self.buf) - self.pos < n:
            self._fill()
        self.pos += n

    def cmd(self, tag, text):
        """Send a command, read to its tagged reply (literals skipped);
        returns (seconds, response bytes)."""
        t0 = time.perf_counter()
        self.s.sendall(b"%s %s\r\n" % (tag.encode(), text.encode()))
        total = 0
        prefix = tag.encode() + b" "
        while True:
            line = self.line()
            total += len(line) + 2
            while line.endswith(b"}") and b"{" in line:
                n = int(line[line.rindex(b"{") + 1:-1].rstrip(b"+"))
                self.skip(n)
                total += n
                line = self.line()
                total += len(line) + 2
            if line.startswith(prefix):
                if not line[len(prefix):].startswith(b"OK"):
                    raise RuntimeError("%s: %r" % (text, line))
                return time.perf_counter() - t0, total

    def close(self):
        try:
            self.s.sendall(b"z LOGOUT\r\n")
        except OSError:
            pass
        self.s.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


STEPS = [
    ("select", "SELECT INBOX"),
    ("flags/uid/size", "FETCH 1:* (FLAGS UID RFC822.SIZE)"),
    ("envelope", "FETCH 1:* ENVELOPE"),
    ("500 bodies", None),
    ("search", 'SEARCH FROM "sender42" SUBJECT "topic 4"'),
    ("store", "STORE 1:* +FLAGS.SILENT (\\Flagged)"),
    ("store back", "STORE 1:* -FLAGS.SILENT (\\Flagged)"),
    ("unselect", "UNSELECT"),
]


def round_of(sess, count):
    times = {}
    for name, text in STEPS:
        if text is None:
            step = max(1, count // 500)
            text = "FETCH %s BODY.PEEK[]" % ",".join(
                str(i) for i in range(1, count + 1, step))
        times[name], _ = sess.cmd("t", text)
    return times


def yubin_argv(args, etc, maildir):
    return [os.path.join(args.bin, "imap"), "-c", etc, "--preauth", "bench",
            maildir]


def dovecot_env(base, maildir):
    env = dict(os.environ)
    env.update(USER="bench", HOME=base, MAIL="maildir:" + maildir)
    return env


def dovecot_conf(base, maildir):
    conf = os.path.join(base, os.path.basename(maildir) + ".conf")
    for d in ("run", "state"):
        os.makedirs(os.path.join(base, d), exist_ok=True)
    with open(conf, "w") as f:
        f.write("base_dir = %s/run\nstate_dir = %s/state\nlog_path = "
                "%s/dovecot.log\nprotocols = imap\nssl = no\n"
                "first_valid_uid = 1\nfirst_valid_gid = 1\n"
                "mail_location = maildir:%s\n"
                % (base, base, base, maildir))
    chown_tree(base)
    return conf


def throughput(args, base, etc):
    results = {}
    servers = [("yubin", None)]
    if not args.skip_dovecot and os.path.exists(DOVECOT_IMAP):
        servers.append(("dovecot", None))
    for name, _ in servers:
        md = os.path.join(base, name, "Maildir")
        t0 = time.time()
        make_maildir(md, args.messages)
        print("%s: %d messages written in %.1f s" % (name, args.messages,
                                                      time.time() - t0))
    for name, _ in servers:
        md = os.path.join(base, name, "Maildir")
        rounds = []
        for r in range(args.rounds):
            if name == "yubin":
                sess = Session(yubin_argv(args, etc, md))
            else:
                conf = dovecot_conf(os.path.join(base, name), md)
                sess = Session([DOVECOT_IMAP, "-c", conf],
                               env=dovecot_env(os.path.join(base, name), md))
            rounds.append(round_of(sess, args.messages))
            sess.close()
        results[name] = rounds
    return results


def report_throughput(results):
    names = [s[0] for s in STEPS]
    best = {}
    print("\nseconds per step (round 1 cold | best of later rounds)")
    print("%-16s" % "step" + "".join("%22s" % s for s in results))
    for step in names:
        row = "%-16s" % step
        for server, rounds in results.items():
            cold = rounds[0][step]
            warm = min(r[step] for r in rounds[1:]) if len(rounds) > 1 \
                else cold
            best.setdefault(server, 0.0)
            best[server] += warm
            row += "%12.4f | %7.4f" % (cold, warm)
        print(row)
    print("%-16s" % "total (warm)" +
          "".join("%22.4f" % best[s] for s in results))
    if "dovecot" in best and best["yubin"] > 0:
        print("throughput Yubin / Dovecot: %.2fx"
              % (best["dovecot"] / best["yubin"]))


def mem_kb(pid):
    """(Pss, private) of a process in KiB: its share of every page, and
    the pages no other process maps"""
    pss = private = 0
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                elif line.startswith(("Private_Clean:", "Private_Dirty:")):
                    private += int(line.split()[1])
    except OSError:
        pass
    return pss, private


def idle_memory(args, base, etc):
    results = {}
    servers = ["yubin"]
    if not args.skip_dovecot and os.path.exists(DOVECOT_IMAP):
        servers.append("dovecot")
    for name in servers:
        md = os.path.join(base, name, "IdleMaildir")
        make_maildir(md, 20)
        sessions = []
        try:
            for i in range(args.idle):
                if name == "yubin":
                    s = Session(yubin_argv(args, etc, md))
                else:
                    conf = dovecot_conf(os.path.join(base, name), md)
                    s = Session([DOVECOT_IMAP, "-c", conf],
                                env=dovecot_env(os.path.join(base, name), md))
                s.cmd("s", "SELECT INBOX")
                s.s.sendall(b"i IDLE\r\n")
                s.line()
                sessions.append(s)
            time.sleep(1)
            pss = private = 0
            for s in sessions:
                # setpriv execs the session program: same pid
                p, u = mem_kb(s.proc.pid)
                pss += p
                private += u
            results[name] = (pss / len(sessions), private / len(sessions))
        finally:
            for s in sessions:
                s.s.close()
            for s in sessions:
                try:
                    s.proc.wait(30)
                except subprocess.TimeoutExpired:
                    s.proc.kill()
    print("\nmemory per idle (IDLE) connection, %d connections:" % args.idle)
    for name, (pss, private) in results.items():
        print("  %-8s %8.0f KiB Pss %8.0f KiB private" % (name, pss, private))
    if "dovecot" in results and results["dovecot"][0] > 0:
        print("  Yubin / Dovecot: %.2f (Pss), %.2f (private)"
              % (results["yubin"][0] / results["dovecot"][0],
                 results["yubin"][1] / results["dovecot"][1]))


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    ap.add_argument("--bin", default=os.environ.get(
        "YUBIN_BIN", os.path.join(here, "bin")))
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--idle", type=int, default=1000)
    ap.add_argument("--skip-dovecot", action="store_true")
    ap.add_argument("--skip-throughput", action="store_true")
    args = ap.parse_args()
    base = tempfile.mkdtemp(prefix="bench-imap-")
    os.chmod(base, 0o755)
    try:
        etc = os.path.join(base, "etc")
        os.makedirs(etc)
        with open(os.path.join(etc, "main.cf"), "w") as f:
            f.write("myhostname = bench.example.com\nmailbox_auto = no\n")
        open(os.path.join(etc, "master.cf"), "w").close()
        for name in ("yubin", "dovecot"):
            os.makedirs(os.path.join(base, name))
            chown_tree(os.path.join(base, name))
        if not args.skip_throughput:
            report_throughput(throughput(args, base, etc))
        if args.idle > 0:
            idle_memory(args, base, etc)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
