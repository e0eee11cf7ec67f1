"""yubinctl queue: list, show, flush, hold, release, delete, requeue, and
the delay warning.

Deferred mail is made as in test_outbound.py: the relayhost is a loopback
SMTP sink that answers 4xx at first, or a port nobody listens on. Retry
times are set to an hour (minimal_backoff_time, queue_run_delay), so a
message that arrives at the sink soon after a flush, release or requeue
got there because of it. While the instance runs, yubinctl asks qmgr over
its socket; with Yubin stopped it changes the queue files itself.
"""
import os
import pwd
import re
import subprocess

import pytest

from conftest import IS_ROOT, BIN, free_port, wait_for
from smtp_sink import sinks  # noqa: F401 (a fixture)
from test_delivery import mta, parse_bounce  # noqa: F401 (mta: a fixture)

REMOTE = "remote.example.org"
MESSAGE = (b"From: Ann <ann@example.com>\n"
           b"To: bob@remote.example.org\n"
           b"Subject: queued\n"
           b"\n"
           b"Hello, Bob.\n")
SLOW = dict(queue_run_delay="1h", minimal_backoff_time="1h",
            maximal_backoff_time="2h")


def start(mta, port, **params):
    mta.user("ann@example.com")
    opts = dict(relayhost=f"[127.0.0.1]:{port}",
                smtp_tls_security_level="none")
    opts.update(SLOW)
    opts.update(params)
    mta.start(**opts)
    assert mta.inst.wait_log(r"smtp\[\d+\]: ready", 10), mta.inst.log()


def ctl(mta, *args, input=None):
    return mta.inst.ctl("queue", *args, input=input)


def ok(r):
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    return r


def deferred(mta, qid, count=1):
    """Wait until qid has been deferred count times and is in deferred/."""
    rx = re.compile(rf"{qid}: to=<[^>]+>, .*status=deferred")
    assert wait_for(lambda: len(rx.findall(mta.inst.log())) >= count and
                    qid in mta.queue_ids("deferred"), 15), mta.inst.log()


def activations(mta, qid):
    return len(re.findall(rf"{qid}: from=<[^>]*>, .*\(queue active\)",
                          mta.inst.log()))


def inject(mta, rcpts):
    return mta.inject(MESSAGE, rcpts, sender="ann@example.com")


def entry(listing, qid):
    """The lines of qid's entry in a mailq listing."""
    lines = listing.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(qid):
            end = i + 1
            while end < len(lines) and lines[end] and \
                    not lines[end].startswith("--"):
                end += 1
            return lines[i:end]
    raise AssertionError(f"{qid} not listed:\n{listing}")


def test_list_shows_reason_and_flush_delivers_now(mta, sinks):
    sink = sinks(tempfail_first=1)
    start(mta, sink.port)
    qid = inject(mta, [f"bob@{REMOTE}"])
    deferred(mta, qid)
    listing = ok(ctl(mta, "list")).stdout
    # the same listing as mailq, reason in parentheses above the recipient
    mailq = subprocess.run([os.path.join(BIN, "mailq"), "-C",
                            mta.inst.etc], capture_output=True, text=True,
                           timeout=30)
    assert mailq.stdout == listing
    lines = entry(listing, qid)
    assert re.match(rf"{qid}  +\d+ \w{{3}} \w{{3}} [ \d]\d [\d:]{{8}}  "
                    r"ann@example\.com$", lines[0]), lines
    assert lines[1] == ("(host 127.0.0.1[127.0.0.1] said: 451 4.3.0 try "
                        "again later (in reply to MAIL FROM command))"), lines
    assert lines[2].strip() == f"bob@{REMOTE}"
    assert listing.splitlines()[-1] == "-- 1 Kbytes in 1 Request."
    # the next attempt would be an hour away: flush makes it now
    assert not sink.messages
    ok(ctl(mta, "flush"))
    assert sink.wait_messages(1, timeout=10), mta.inst.log()
    mta.wait_removed(qid)
    assert ok(ctl(mta, "list")).stdout == "Mail queue is empty\n"


def test_connection_refused_reason(mta):
    port = free_port()
    start(mta, port)
    qid = inject(mta, [f"bob@{REMOTE}"])
    deferred(mta, qid)
    lines = entry(ok(ctl(mta, "list")).stdout, qid)
    assert lines[1] == (f"(connect to 127.0.0.1[127.0.0.1]:{port}: "
                        "Connection refused)"), lines


def test_flush_domain_and_id(mta, sinks):
    sink = sinks(tempfail_first=2)
    start(mta, sink.port)
    qa = inject(mta, ["bob@a.example"])
    qb = inject(mta, ["bob@b.example"])
    deferred(mta, qa)
    deferred(mta, qb)
    ok(ctl(mta, "flush", "a.example"))
    assert sink.wait_messages(1, timeout=10), mta.inst.log()
    mta.wait_removed(qa)
    assert sink.messages[0].rcpts == ["bob@a.example"]
    # b's message was not touched: one pass only, still deferred
    assert activations(mta, qb) == 1
    assert qb in mta.queue_ids("deferred")
    ok(ctl(mta, "flush", "-i", qb))
    assert sink.wait_messages(2, timeout=10), mta.inst.log()
    mta.wait_removed(qb)
    assert sink.messages[1].rcpts == ["bob@b.example"]


def test_hold_flush_release(mta, sinks):
    sink = sinks(tempfail_first=1)
    start(mta, sink.port)
    qid = inject(mta, [f"bob@{REMOTE}"])
    deferred(mta, qid)
    r = ok(ctl(mta, "hold", qid))
    assert "Placed on hold: 1 message" in r.stderr
    assert mta.inst.wait_log(rf"qmgr\[\d+\]: {qid}: placed on hold")
    assert qid in mta.queue_ids("hold")
    lines = entry(ok(ctl(mta, "list")).stdout, qid)
    assert lines[0].startswith(qid + "!"), lines
    # a held message is not delivered, not even by a flush
    ok(ctl(mta, "flush"))
    r = ctl(mta, "flush", qid)
    assert "on hold" in r.stderr
    r = ok(ctl(mta, "hold", qid))
    assert "already on hold" in r.stderr
    ok(ctl(mta, "release", qid))
    assert sink.wait_messages(1, timeout=10), mta.inst.log()
    mta.wait_removed(qid)
    assert len(sink.messages) == 1
    assert activations(mta, qid) == 2
    assert mta.inst.wait_log(rf"{qid}: released from hold")


def test_delete_and_stdin(mta, sinks):
    sink = sinks(tempfail_first=10)
    start(mta, sink.port)
    q1 = inject(mta, [f"bob@{REMOTE}"])
    q2 = inject(mta, [f"carol@{REMOTE}"])
    q3 = inject(mta, [f"dave@{REMOTE}"])
    for q in (q1, q2, q3):
        deferred(mta, q)
    r = ok(ctl(mta, "delete", q1))
    assert "Deleted: 1 message" in r.stderr
    assert mta.inst.wait_log(rf"qmgr\[\d+\]: {q1}: removed"), mta.inst.log()
    r = ok(ctl(mta, "delete", "-", input=f"{q2}\n{q3}\n"))
    assert "Deleted: 2 messages" in r.stderr
    assert mta.queue_ids() == []
    ok(ctl(mta, "flush"))
    assert ok(ctl(mta, "list")).stdout == "Mail queue is empty\n"
    assert not sink.messages
    # gone is gone: a second delete says so
    r = ctl(mta, "delete", q1)
    assert r.returncode == 1 and f"{q1}: no such message" in r.stderr


def test_all_forms(mta, sinks):
    sink = sinks(tempfail_first=2)
    start(mta, sink.port)
    qids = [inject(mta, [f"u{i}@{REMOTE}"]) for i in range(2)]
    for q in qids:
        deferred(mta, q)
    r = ok(ctl(mta, "hold", "ALL"))
    assert "Placed on hold: 2 messages" in r.stderr
    listing = ok(ctl(mta, "list")).stdout
    for q in qids:
        assert entry(listing, q)[0].startswith(q + "!")
    assert sorted(mta.queue_ids("hold")) == sorted(qids)
    ok(ctl(mta, "release", "ALL"))
    assert sink.wait_messages(2, timeout=10), mta.inst.log()
    for q in qids:
        mta.wait_removed(q)
    # delete ALL: nothing of it is delivered
    sink.tempfail_first = 100   # before the mail can reach the sink
    more = [inject(mta, [f"v{i}@{REMOTE}"]) for i in range(2)]
    for q in more:
        deferred(mta, q)
    r = ok(ctl(mta, "delete", "ALL"))
    assert "Deleted: 2 messages" in r.stderr
    assert mta.queue_ids() == []
    assert len(sink.messages) == 2


def test_requeue_keeps_delivered_recipients(mta, sinks):
    sink = sinks(tempfail_first=1)
    start(mta, sink.port)
    box = mta.maildir("ann@example.com")
    qid = inject(mta, ["ann@example.com", f"bob@{REMOTE}"])
    mta.wait_messages(box, 1)
    deferred(mta, qid)
    r = ok(ctl(mta, "requeue", qid))
    assert "Requeued: 1 message" in r.stderr
    assert sink.wait_messages(1, timeout=10), mta.inst.log()
    mta.wait_removed(qid)
    assert sink.messages[0].rcpts == [f"bob@{REMOTE}"]
    # the local recipient was delivered before and stays delivered
    assert len(mta.messages(box)) == 1
    assert mta.inst.wait_log(rf"{qid}: requeued")


def test_show(mta):
    port = free_port()
    start(mta, port)
    qid = inject(mta, [f"bob@{REMOTE}"])
    deferred(mta, qid)
    out = ok(ctl(mta, "show", qid)).stdout
    head, _, rest = out.partition(f"*** MESSAGE CONTENTS deferred/{qid} ***\n")
    assert head.startswith(f"*** ENVELOPE RECORDS deferred/{qid} ***\n")
    assert "sender: ann@example.com\n" in head
    assert re.search(rf"recipient: bob@{REMOTE} \(deferred: 4\.\d\.\d+ "
                     rf"connect to 127\.0\.0\.1\[127\.0\.0\.1\]:{port}: "
                     r"Connection refused\)\n", head), head
    assert "delivery_attempts: 1\n" in head
    assert rest == MESSAGE.decode() + f"*** MESSAGE FILE END deferred/{qid} ***\n"


def test_bad_ids(mta):
    start(mta, free_port())
    for cmd in ("hold", "release", "delete", "requeue", "show"):
        r = ctl(mta, cmd, "../etc/passwd")
        assert r.returncode != 0 and "not a queue ID" in r.stderr, (cmd, r)
        r = ctl(mta, cmd, "000000000Az1")
        assert r.returncode == 1 and "000000000Az1: no such message" in \
            r.stderr, (cmd, r)
    r = ctl(mta, "flush", "bob@a.example")
    assert r.returncode == 1 and "neither a queue ID nor a domain" in r.stderr
    r = ctl(mta, "flush", "-i", "a.example")
    assert r.returncode == 1 and "not a queue ID" in r.stderr
    r = ctl(mta, "frobnicate")
    assert r.returncode == 64


def test_hold_while_active_drops_the_delivery(mta, sinks):
    """qmgr has the message in hand (the smtp client waits for a greeting
    that never comes): hold moves it at once, the delivery under way ends
    and nothing more is tried until it is released."""
    sink = sinks(silent=True)
    start(mta, sink.port, smtp_helo_timeout="2s")
    qid = inject(mta, [f"bob@{REMOTE}"])
    assert wait_for(lambda: sink.connections >= 1, 10), mta.inst.log()
    lines = entry(ok(ctl(mta, "list")).stdout, qid)
    assert lines[0].startswith(qid + "*"), lines
    ok(ctl(mta, "hold", qid))
    assert qid in mta.queue_ids("hold")
    assert mta.inst.wait_log(rf"{qid}: to=<bob@{REMOTE}>, .*status=deferred "
                             r"\(conversation timed out", 10), mta.inst.log()
    sink.silent = False
    ok(ctl(mta, "flush"))
    # still held, readable, one pass only, nothing delivered
    assert mta.queue_ids() == [qid] and qid in mta.queue_ids("hold")
    ok(ctl(mta, "show", qid))
    assert activations(mta, qid) == 1
    assert not sink.messages
    ok(ctl(mta, "release", qid))
    assert sink.wait_messages(1, timeout=10), mta.inst.log()
    mta.wait_removed(qid)
    assert not re.search(r"qmgr\[\d+\]: (error|panic)", mta.inst.log())


def test_delete_while_active(mta, sinks):
    sink = sinks(silent=True)
    start(mta, sink.port, smtp_helo_timeout="2s")
    qid = inject(mta, [f"bob@{REMOTE}"])
    assert wait_for(lambda: sink.connections >= 1, 10), mta.inst.log()
    ok(ctl(mta, "delete", qid))
    assert mta.inst.wait_log(rf"{qid}: removed"), mta.inst.log()
    assert mta.queue_ids() == []
    assert mta.inst.wait_log(rf"{qid}: to=<bob@{REMOTE}>, .*status=deferred",
                             10), mta.inst.log()
    sink.silent = False
    ok(ctl(mta, "flush"))
    assert ok(ctl(mta, "list")).stdout == "Mail queue is empty\n"
    assert mta.queue_ids() == [] and not sink.messages
    assert not re.search(r"qmgr\[\d+\]: (error|panic)", mta.inst.log())


def test_delay_warning_sent_once(mta, sinks):
    sink = sinks(tempfail_first=10 ** 6)
    start(mta, sink.port, delay_warning_time="1s", queue_run_delay="1s",
          minimal_backoff_time="1s", maximal_backoff_time="1s")
    box = mta.maildir("ann@example.com")
    qid = inject(mta, [f"bob@{REMOTE}"])
    (name, data), = mta.wait_messages(box, 1, timeout=30)
    msg, parts, groups = parse_bounce(data)
    assert "delayed" in msg["Subject"].lower(), msg["Subject"]
    g = [g for g in groups if g.get("Final-Recipient")][0]
    assert g["Final-Recipient"].endswith(f"bob@{REMOTE}")
    assert g["Action"] == "delayed"
    assert g["Status"] == "4.3.0"
    assert "try again later" in g["Diagnostic-Code"]
    assert mta.inst.wait_log(rf"{qid}: sender delay notification: \w+")
    # more attempts, and a restarted qmgr: still the one notice
    deferred(mta, qid, 4)
    mta.inst.stop()
    n = len(re.findall(rf"{qid}: to=<[^>]+>, .*status=deferred",
                       mta.inst.log()))
    mta.inst.start()
    deferred(mta, qid, n + 2)
    assert len(mta.messages(box)) == 1
    assert len(re.findall(rf"{qid}: sender delay notification",
                          mta.inst.log())) == 1


def test_without_qmgr_files_are_changed_directly(mta):
    start(mta, free_port())
    mta.inst.stop()
    qid = mta.inject(MESSAGE, [f"bob@{REMOTE}"], sender="ann@example.com",
                     notify=False)
    assert qid in mta.queue_ids("incoming")
    r = ok(ctl(mta, "hold", qid))
    assert "Placed on hold: 1 message" in r.stderr
    assert qid in mta.queue_ids("hold")
    assert entry(ok(ctl(mta, "list")).stdout, qid)[0].startswith(qid + "!")
    ok(ctl(mta, "release", qid))
    assert qid in mta.queue_ids("deferred")
    r = ok(ctl(mta, "flush"))
    assert "qmgr is not running" in r.stderr
    ok(ctl(mta, "requeue", qid))
    assert qid in mta.queue_ids("incoming")
    out = ok(ctl(mta, "show", qid)).stdout
    assert f"*** ENVELOPE RECORDS incoming/{qid} ***" in out
    assert "delivery_attempts: 0" in out
    r = ok(ctl(mta, "delete", qid))
    assert "Deleted: 1 message" in r.stderr
    assert mta.queue_ids() == []


@pytest.mark.skipif(not IS_ROOT, reason="needs root to run as another user")
def test_refused_for_other_users(mta):
    start(mta, free_port())
    qid = inject(mta, [f"bob@{REMOTE}"])
    deferred(mta, qid)
    nobody = pwd.getpwnam("nobody")

    def as_nobody():
        os.setgroups([])
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)
    for args in (("list",), ("hold", qid), ("delete", "ALL")):
        r = subprocess.run([os.path.join(BIN, "yubinctl"), "-c",
                            mta.inst.etc, "queue", *args],
                           capture_output=True, text=True, timeout=30,
                           preexec_fn=as_nobody)
        assert r.returncode == 77, (args, r)
        assert "permission denied" in r.stderr
    assert qid in mta.queue_ids("deferred")
