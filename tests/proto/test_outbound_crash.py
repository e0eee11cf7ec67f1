"""Crash safety of outbound delivery: SIGKILL qmgr and smtp mid-stream.

A stream of messages (some with several recipients in two domains) is
queued for a relayhost sink on loopback while another thread kills qmgr
or the smtp client with SIGKILL each time the sink has received a few
more; the supervisor restarts them. Afterwards (a bounded wait, with
retries of what was deferred) every recipient of every message must have
been received by the sink, whole, and the queue must be empty: nothing is
lost. A message received again for a recipient that already had it is a
duplicate; one can only come from a kill of the smtp client between the
server's commit (its reply to the end of DATA) and the client's mark in
the queue file -- a qmgr that dies leaves a transaction at that point to
finish -- so duplicates are reported, each must be traced to a kill in its
log lines, and there may be no more of them than kills. The sink is slow
to greet, so that kills land in the middle of deliveries, and answers the
end of DATA at once, as a server does once the message is committed.
"""
import os
import random
import re
import signal
import threading
import time

from conftest import wait_for
from smtp_sink import SmtpSink
from test_delivery import Mta
from test_durability import instance_pids

MESSAGES = 60
KILLS = 6
BUDGET = 60.0           # seconds for the whole test


def rcpts(i):
    # every fourth message has three recipients: two in one domain (one
    # transaction), one in another (a second request)
    if i % 4 == 0:
        return [f"a{i}@one.example", f"b{i}@one.example",
                f"c{i}@two.example"]
    return [f"r{i}@one.example"]


def body(i):
    lines = ["From: stream <stream@example.net>",
             f"Subject: outbound crash {i}",
             f"Message-ID: <oc-{i}@example.net>",
             ""]
    lines += [f"message {i} line {n:02d} " + "y" * 50 for n in range(20)]
    return ("\n".join(lines) + "\n").encode()


def transactions():
    return sum(1 + (i % 4 == 0) for i in range(MESSAGES))


class Killer(threading.Thread):
    """Kills qmgr or smtp each time the sink passes one of KILLS random
    points of the stream, a random moment after it."""

    def __init__(self, inst, sink, seed):
        super().__init__(daemon=True)
        self.inst = inst
        self.sink = sink
        self.rng = random.Random(seed)
        self.points = sorted(self.rng.sample(range(4, transactions() - 4),
                                             KILLS))
        self.stop = threading.Event()
        self.kills = {"qmgr": 0, "smtp": 0}

    def kill_one(self):
        programs = ["qmgr", "smtp"]
        self.rng.shuffle(programs)
        end = time.monotonic() + 3
        while time.monotonic() < end and not self.stop.is_set():
            for program in programs:
                pids = instance_pids(self.inst, program)
                if not pids:
                    continue        # being restarted
                try:
                    os.kill(self.rng.choice(pids), signal.SIGKILL)
                    self.kills[program] += 1
                    return
                except ProcessLookupError:
                    pass
            time.sleep(0.05)

    def run(self):
        for point in self.points:
            while len(self.sink.messages) < point:
                if self.stop.wait(0.005):
                    return
            if self.stop.wait(self.rng.uniform(0, 0.05)):
                return
            self.kill_one()


def received(sink):
    """{(message number, recipient): [transaction data]}"""
    got = {}
    for tx in list(sink.messages):
        head = tx.data.split(b"\r\n\r\n", 1)[0]
        for line in head.split(b"\r\n"):
            if line.startswith(b"Message-ID: <oc-"):
                i = int(line[len(b"Message-ID: <oc-"):].split(b"@")[0])
                for r in tx.rcpts:
                    got.setdefault((i, r), []).append(tx.data)
    return got


def test_kill_qmgr_and_smtp_during_outbound_stream(yubin):
    t0 = time.monotonic()
    seed = int(os.environ.get("YUBIN_DURABILITY_SEED", time.time()))
    mta = Mta(yubin)
    # slow to greet, so that kills land in the middle of deliveries; the
    # end of DATA is answered at once, as a server does after its commit
    sink = SmtpSink(greet_delay=0.03)
    try:
        mta.user("ann@example.com")
        mta.start(relayhost=f"[127.0.0.1]:{sink.port}",
                  smtp_tls_security_level="none",
                  service_throttle_time="1s")
        assert yubin.wait_log(r"smtp\[\d+\]: ready", 10), yubin.log()

        killer = Killer(yubin, sink, seed)
        killer.start()
        qids = {}
        for i in range(MESSAGES):
            qids[i] = mta.inject(body(i), rcpts(i),
                                 sender="stream@example.net")
        want = {(i, r) for i in range(MESSAGES) for r in rcpts(i)}

        def drained():
            return (want <= set(received(sink)) and
                    not mta.queue_ids("incoming", "active", "deferred"))
        # the kills happen while the stream is delivered (the last point
        # comes before its end); then what was deferred by them is
        # retried (backoff 1-2 s)
        killer.join(max(5.0, t0 + BUDGET * 0.5 - time.monotonic()))
        killer.stop.set()
        killer.join()
        wait_for(drained, max(5.0, t0 + BUDGET - 5 - time.monotonic()), 0.2)

        got = received(sink)
        kills = sum(killer.kills.values())
        # a duplicate: a message (Message-ID) received again for a
        # recipient that already had it; one transaction repeating two
        # recipients counts once
        dups = {k: len(v) - 1 for k, v in got.items() if len(v) > 1}
        again = {}
        for (i, _), n in dups.items():
            again[i] = max(again.get(i, 0), n)
        report = (f"seed {seed}: {MESSAGES} messages, {len(want)} "
                  f"recipients, {len(sink.messages)} transactions "
                  f"received, kills {killer.kills}")
        print(f"outbound crash: {report}; duplicates {sum(again.values())} "
              f"(messages {sorted(again)}; recipients {sorted(dups)})")
        missing = sorted(want - set(got))
        assert not missing, (f"{report}; lost: {missing}\n"
                             f"{yubin.log()[-5000:]}")
        left = mta.queue_ids("incoming", "active", "deferred", "hold",
                             "corrupt")
        assert not left, (report, left)
        # whole, byte for byte
        for (i, r), copies in got.items():
            for data in copies:
                assert data == body(i).replace(b"\n", b"\r\n"), (report, i)
        assert set(got) == want, (report, sorted(set(got) - want))
        assert sum(again.values()) <= kills, (report, dups)
        # each one was being delivered when a kill came: its attempt
        # ended with the smtp client gone, or under a qmgr that died
        log = yubin.log()
        for i in again:
            lines = [line for line in log.splitlines()
                     if qids[i] in line]
            print("\n".join(lines))
            qmgrs = {re.search(r"qmgr\[(\d+)\]", line).group(1)
                     for line in lines if "qmgr[" in line}
            assert (any("lost connection with smtp" in line
                        for line in lines) or len(qmgrs) > 1), \
                (report, i, lines)
        assert kills == KILLS, report
        assert time.monotonic() - t0 < BUDGET + 10, report
    finally:
        sink.close()
