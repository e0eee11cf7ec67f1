#!/usr/bin/python3
"""bench_imaptest.py - imaptest's mixed load on Yubin and on Dovecot

    /usr/bin/python3 tests/bench/bench_imaptest.py --imaptest PATH \
        [--secs 60] [--clients 20] [--users 4] [--skip-dovecot]

Run by hand (not part of make check). PATH is a built imaptest binary
(Dovecot's IMAP stress tester; it is not part of Yubin and is built
beside it, against Debian's dovecot-dev). The same load goes to each
server in turn: imaptest's default random commands with state tracking
(LOGIN, LIST, STATUS, SELECT, FETCH, STORE, EXPUNGE, APPEND, LOGOUT)
from --clients connections over --users users for --secs seconds,
appending from a generated mbox. Yubin runs as a real instance
(authd, imapd, sessions) from a temp dir, as tests/proto sets it up;
Dovecot (Debian's dovecot-imapd) from a throwaway config in another temp
dir on a free loopback port, with a passwd-file holding the same
yescrypt hashes Yubin's user database makes, so that both pay the same
for a login. Prints imaptest's totals for each, the ratio of LOGIN
counts (each client cycle begins with one) and the error lines; any
error line is a failure.
"""
import argparse
import os
import pwd
import random
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "proto"))

from conftest import Instance, free_port, port_open, wait_for  # noqa: E402
from imap_helpers import ImapInstance  # noqa: E402

DOVECOT = "/usr/sbin/dovecot"
PASSWORD = "secret"


def make_mbox(path, count=300):
    rnd = random.Random(1)
    with open(path, "w") as f:
        for i in range(count):
            f.write("From sender%d@example.com Mon Jan  1 12:00:00 2024\n" % i)
            f.write("From: Sender %d <sender%d@example.com>\n"
                    "To: user@example.com\nSubject: test message %d\n"
                    "Date: Mon, 1 Jan 2024 12:00:%02d +0000\n"
                    "Message-ID: <%d.imaptest@example.com>\n\n"
                    % (i, i, i, i % 60, i))
            for k in range(rnd.randint(1, 40)):
                f.write("body line %d of message %d\n" % (k, i))
            f.write("\n")


def run_imaptest(args, port, mbox, label):
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = "/usr/lib/dovecot"
    r = subprocess.run([args.imaptest, "host=127.0.0.1", "port=%d" % port,
                        "user=user%d@example.com", "users=%d" % args.users,
                        "pass=" + PASSWORD, "mbox=" + mbox,
                        "clients=%d" % args.clients, "secs=%d" % args.secs],
                       capture_output=True, text=True, env=env,
                       timeout=args.secs + 120)
    lines = r.stdout.splitlines()
    at = [k for k, line in enumerate(lines) if line.startswith("Totals")]
    if r.returncode != 0 or not at:
        raise RuntimeError("%s: imaptest failed:\n%s%s"
                           % (label, r.stdout[-2000:], r.stderr[-2000:]))
    names = lines[at[-1] + 1].split()
    counts = [int(x) for x in lines[at[-1] + 4].split()]
    errors = [line for line in lines if "rror" in line]
    print("%s:\n  %s\n  %s\n  error lines: %d" % (
        label, " ".join("%6s" % n for n in names),
        " ".join("%6d" % c for c in counts), len(errors)))
    for line in errors[:10]:
        print("    " + line)
    return dict(zip(names, counts)), len(errors)


def yubin(args, base, mbox):
    os.makedirs(base)
    os.chmod(base, 0o755)
    inst = Instance(base)
    im = ImapInstance(inst)
    port = im.service("imap")
    im.start(users=args.users + 2, disable_plaintext_auth="no")
    try:
        return run_imaptest(args, port, mbox, "yubin")
    finally:
        inst.stop()


def dovecot(args, base, mbox):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import crypt  # libxcrypt's yescrypt, as Yubin's authd uses
    # yescrypt at libxcrypt's default cost (j9T), as Yubin's users get;
    # the salt does not change what a check costs
    hashed = crypt.crypt(PASSWORD, "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$")
    if not hashed or not hashed.startswith("$y$"):
        raise RuntimeError("no yescrypt in this libcrypt")
    nobody = pwd.getpwnam("nobody")
    for d in ("run", "state", "mail"):
        os.makedirs(os.path.join(base, d))
    os.chmod(base, 0o755)
    os.chown(os.path.join(base, "mail"), nobody.pw_uid, nobody.pw_gid)
    with open(os.path.join(base, "passwd"), "w") as f:
        for i in range(args.users + 2):
            f.write("user%d@example.com:{CRYPT}%s::::::\n" % (i, hashed))
    port = free_port()
    conf = os.path.join(base, "dovecot.conf")
    with open(conf, "w") as f:
        f.write("""base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
first_valid_uid = 1
first_valid_gid = 1
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = {d}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/mail/%u
}}
mail_location = maildir:{d}/mail/%u/Maildir
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
""".format(d=base, uid=nobody.pw_uid, gid=nobody.pw_gid, port=port))
    # the master daemonizes: no pipes it would keep open
    subprocess.run([DOVECOT, "-c", conf], check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    try:
        if not wait_for(lambda: port_open(port), 10):
            raise RuntimeError("dovecot did not answer")
        return run_imaptest(args, port, mbox, "dovecot")
    finally:
        subprocess.run([DOVECOT, "-c", conf, "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--imaptest", required=True,
                    help="a built imaptest binary")
    ap.add_argument("--secs", type=int, default=60)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--users", type=int, default=4)
    ap.add_argument("--skip-dovecot", action="store_true")
    args = ap.parse_args()
    if not os.access(args.imaptest, os.X_OK):
        print("no imaptest at %s: skipped" % args.imaptest)
        return 0
    base = tempfile.mkdtemp(prefix="bench-imaptest-")
    os.chmod(base, 0o755)
    try:
        mbox = os.path.join(base, "mbox")
        make_mbox(mbox)
        results = {"yubin": yubin(args, os.path.join(base, "yubin"), mbox)}
        if not args.skip_dovecot and os.path.exists(DOVECOT) and \
                os.geteuid() == 0:
            results["dovecot"] = dovecot(args, os.path.join(base, "dovecot"),
                                         mbox)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    if "dovecot" in results and results["dovecot"][0].get("Logi"):
        print("LOGIN cycles Yubin / Dovecot: %.2fx" % (
            results["yubin"][0]["Logi"] / results["dovecot"][0]["Logi"]))
    return 1 if any(errors for _, errors in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
