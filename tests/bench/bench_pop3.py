#!/usr/bin/python3
"""bench_pop3.py - POP3 throughput: Yubin beside Dovecot, same machine, same run

  YUBIN_BIN=.../bin YUBIN_HELPERS=.../tests /usr/bin/python3 \
      tests/bench/bench_pop3.py [--messages 2000] [--size 10000] \
      [--clients 10] [--seconds 10] [--rounds 3]

Measures, for each server:
  retr    one client RETRs every message of a MESSAGES-message INBOX
          (pipelined, 32 commands in flight): messages/s and MB/s
  logins  CLIENTS parallel clients connect, USER/PASS, QUIT, again and
          again for SECONDS: logins/s

Yubin runs as a real instance (yubin start-fg, authd, pop3d and a pop3
session per login) from a temp dir; Dovecot (Debian's dovecot-pop3d) runs
with a throwaway config in another temp dir on a loopback port, its default
service settings, reading a copy of the same Maildir, with the same
yescrypt password hash in a passwd-file ({CRYPT}) -- /etc/dovecot and the
system service are never touched. Prints a table and the ratio (Yubin /
Dovecot); the target is >= 1.2. Not part of make check.
"""
import argparse
import os
import shutil
import socket
import sqlite3
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "proto"))

from conftest import Instance, wait_for  # noqa: E402
from pop3_helpers import (PASSWORD, VMAIL_GID, VMAIL_UID,  # noqa: E402
                          Pop3Instance)
from test_pop3_dovecot import DUSER, DovecotPop3, HAVE_POP3  # noqa: E402

RETR_WINDOW = 32


def message(i, size):
    head = (b"From: Bench <bench@example.com>\nTo: user0@example.com\n"
            b"Subject: message %d\nMessage-ID: <%d@bench.example>\n"
            b"Date: Thu, 1 Jan 2024 00:00:00 +0000\n\n" % (i, i))
    line = b"The quick brown fox jumps over the lazy dog, %08d.\n" % i
    body = line * max(1, (size - len(head)) // len(line))
    return head + body


def read_line(s, buf):
    while b"\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise EOFError("closed")
        buf += chunk
    line, _, rest = bytes(buf).partition(b"\r\n")
    del buf[:len(line) + 2]
    return line


def login(port, user):
    s = socket.create_connection(("127.0.0.1", port), 10)
    buf = bytearray()
    assert read_line(s, buf).startswith(b"+OK")
    s.sendall(b"USER %s\r\nPASS %s\r\n" % (user.encode(), PASSWORD.encode()))
    assert read_line(s, buf) == b"+OK"
    reply = read_line(s, buf)
    assert reply.startswith(b"+OK"), reply
    return s, buf


def bench_retr(port, user, count):
    """Seconds, bytes and -ERR answers to RETR messages 1..count."""
    s, buf = login(port, user)
    start = time.monotonic()
    sent = done = errors = total = 0
    in_body = False     # between a +OK line and its terminator
    pos = 0
    while done < count:
        while sent < count and sent - done < RETR_WINDOW:
            sent += 1
            s.sendall(b"RETR %d\r\n" % sent)
        chunk = s.recv(1 << 20)
        if not chunk:
            raise EOFError("closed during RETR")
        total += len(chunk)
        buf += chunk
        while done < count:
            if not in_body:
                i = buf.find(b"\r\n")
                if i < 0:
                    break
                if not buf.startswith(b"+OK"):
                    errors += 1
                    done += 1
                    del buf[:i + 2]
                    continue
                in_body = True
                # the terminator may follow at once (an empty message)
                pos = i
            i = buf.find(b"\r\n.\r\n", pos)
            if i < 0:
                pos = max(0, len(buf) - 4)
                break
            done += 1
            in_body = False
            del buf[:i + 5]
            pos = 0
    elapsed = time.monotonic() - start
    s.sendall(b"QUIT\r\n")
    read_line(s, buf)
    s.close()
    if errors:
        print("  %d RETR answers were -ERR" % errors)
    return elapsed, total


def bench_logins(port, user, clients, seconds):
    """Logins per second with clients in parallel."""
    stop = time.monotonic() + seconds
    counts = [0] * clients
    errors = []

    def worker(k):
        try:
            while time.monotonic() < stop:
                s, buf = login(port, user)
                s.sendall(b"QUIT\r\n")
                assert read_line(s, buf).startswith(b"+OK")
                s.close()
                counts[k] += 1
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    start = time.monotonic()
    threads = [threading.Thread(target=worker, args=(k,))
               for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    if errors:
        print("  login errors: %d, first: %s" % (len(errors), errors[0]))
    return sum(counts) / elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--size", type=int, default=10000)
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    base = tempfile.mkdtemp(prefix="yubin-bench-pop3-")
    os.chmod(base, 0o755)
    inst = Instance(base)
    pop = Pop3Instance(inst)
    port = pop.service("pop3", options=["mail_max_userip_connections=0"])
    inst.set(mail_max_userip_connections="0")
    dove = None
    try:
        pop.start(users=1)
        user = pop.fresh_user()
        for i in range(args.messages):
            pop.deliver(user, message(i, args.size))
        results = {}
        servers = [("yubin", port, user)]
        if HAVE_POP3 and shutil.which("doveadm"):
            dmail = os.path.join(base, "dovecot-mail")
            shutil.copytree(pop.maildir(user), dmail, symlinks=True)
            for root, dirs, files in os.walk(dmail):
                for n in dirs + files:
                    os.chown(os.path.join(root, n), VMAIL_UID, VMAIL_GID)
            os.chown(dmail, VMAIL_UID, VMAIL_GID)
            dove = DovecotPop3(base, dmail)
            # the same password hash as Yubin's user database
            db = sqlite3.connect(os.path.join(inst.data, "users.db"))
            (hashed,) = db.execute("SELECT password FROM users WHERE "
                                   "address = ?", (user,)).fetchone()
            db.close()
            with open(os.path.join(dove.base, "passwd"), "w") as f:
                f.write("%s:{CRYPT}%s:%d:%d::%s::\n" % (DUSER, hashed,
                                                        VMAIL_UID, VMAIL_GID,
                                                        dove.base))
            with open(dove.conf, "a") as f:
                f.write("mail_max_userip_connections = 0\n")
            dove.start()
            servers.append(("dovecot", dove.port, DUSER))
        else:
            print("Dovecot's POP3 server is not installed "
                  "(apt-get install dovecot-pop3d): Yubin only")

        mb = args.messages * args.size / 1e6
        print("RETR of %d messages (~%.1f MB), best of %d; logins with %d "
              "clients for %gs" % (args.messages, mb, args.rounds,
                                   args.clients, args.seconds))
        for name, p, u in servers:
            print("  %s ..." % name, flush=True)
            # warm up: the first session builds uidlist, caches, indexes
            bench_retr(p, u, min(10, args.messages))
            best = None
            for _ in range(args.rounds):
                elapsed, total = bench_retr(p, u, args.messages)
                if best is None or elapsed < best[0]:
                    best = (elapsed, total)
            rate = bench_logins(p, u, args.clients, args.seconds)
            results[name] = (args.messages / best[0],
                             best[1] / best[0] / 1e6, rate)
        print("%-10s %14s %10s %12s" % ("server", "messages/s", "MB/s",
                                        "logins/s"))
        for name, (mps, mbs, lps) in results.items():
            print("%-10s %14.0f %10.1f %12.1f" % (name, mps, mbs, lps))
        if "dovecot" in results:
            y, d = results["yubin"], results["dovecot"]
            print("%-10s %14.2f %10.2f %12.2f" % ("ratio", y[0] / d[0],
                                                   y[1] / d[1], y[2] / d[2]))
    finally:
        if dove is not None:
            dove.stop()
        inst.stop()
        if os.environ.get("YUBIN_KEEP") is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
