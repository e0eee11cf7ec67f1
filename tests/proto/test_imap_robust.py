"""The IMAP session under load and abuse (`imap --preauth` on a
socketpair): a 10,000-message INBOX, commands split across segments and
pipelined, command lines and literals over their limits, a client that
never reads its output, the idle timeout, and a broken message file.
"""
import os
import re
import socket
import time

import pytest

from conftest import wait_for
from imap_helpers import (Preauth, chown, config_dir, deliver, make_maildir,
                          msg, sanitized, tmpdir_base, unique_name)


@pytest.fixture(scope="module")
def base(request):
    return tmpdir_base(request)


@pytest.fixture(scope="module")
def etc(base):
    return config_dir(base, imap_max_line_length="2048")


@pytest.fixture
def maildir(base, request):
    root = os.path.join(base, re.sub(r"\W", "_", request.node.name))
    make_maildir(root)
    return root


def ok(lines, tag):
    assert lines[-1].startswith(tag + " OK"), lines[-3:]
    return lines


def big_maildir(root, count, body_lines=3):
    """count messages written straight into cur/ (a third unseen)."""
    make_maildir(root)
    cur = os.path.join(root, "cur")
    for i in range(count):
        data = (b"From: Sender %d <s%d@example.com>\nTo: u@example.com\n"
                b"Subject: message %d\nMessage-ID: <%d@example.com>\n\n"
                % (i, i, i, i)) + b"Body line of the message.\n" * body_lines
        name = unique_name(len(data)) + ":2," + ("S" if i % 3 else "")
        path = os.path.join(cur, name)
        with open(path, "wb") as f:
            f.write(data)
        chown(path)


def test_ten_thousand_messages(etc, maildir):
    big_maildir(maildir, 10000)
    p = Preauth(etc, "ann", maildir)
    c = p.raw(timeout=60)
    try:
        t0 = time.monotonic()
        lines = ok(c.cmd("a", "SELECT INBOX"), "a")
        assert "* 10000 EXISTS" in lines
        lines = ok(c.cmd("b", "FETCH 1:* (UID FLAGS RFC822.SIZE)"), "b")
        assert len(lines) == 10001
        assert lines[9999].startswith("* 10000 FETCH (UID 10000 FLAGS (")
        lines = ok(c.cmd("c", "FETCH 1:* ENVELOPE"), "c")
        assert '"message 4321"' in lines[4321]
        lines = ok(c.cmd("d", "FETCH 9501:* BODY.PEEK[]"), "d")
        assert len(lines) == 501
        lines = ok(c.cmd("e", 'SEARCH UNSEEN SUBJECT "message 99"'), "e")
        assert lines[0].split()[2:] == [str(n + 1) for n in
                                        range(10000) if n % 3 == 0 and
                                        "message %d" % n >= "message 99" and
                                        ("message %d" % n).startswith(
                                            "message 99")]
        ok(c.cmd("f", "STORE 1:* +FLAGS.SILENT (\\Flagged)"), "f")
        lines = ok(c.cmd("g", "SEARCH RETURN (COUNT) FLAGGED"), "g")
        assert lines[0] == '* ESEARCH (TAG "g") COUNT 10000'
        elapsed = time.monotonic() - t0
        assert elapsed < 30, elapsed
    finally:
        p.close()


def test_command_split_across_segments(etc, maildir):
    deliver(maildir, msg(1))
    p = Preauth(etc, "ann", maildir)
    c = p.raw()
    try:
        data = msg(2).replace(b"\n", b"\r\n")
        cmd = (b"a SELECT INBOX\r\nb APPEND INBOX (\\Seen) {%d+}\r\n%s\r\n"
               b"c FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (Subject)])\r\n"
               % (len(data), data))
        for i in range(len(cmd)):
            c.s.send(cmd[i:i + 1])
        ok(c.response("a"), "a")
        assert "[APPENDUID" in ok(c.response("b"), "b")[-1]
        lines = ok(c.response("c"), "c")
        assert "Subject: test 2" in lines[1], lines
    finally:
        p.close()


def test_pipelined_commands_answered_in_order(etc, maildir):
    p = Preauth(etc, "ann", maildir)
    c = p.raw()
    try:
        out = [b"s SELECT INBOX\r\n"]
        for i in range(50):
            body = msg(i).replace(b"\n", b"\r\n")
            out.append(b"a%d APPEND INBOX {%d+}\r\n%s\r\n" % (i, len(body),
                                                             body))
            out.append(b"n%d NOOP\r\n" % i)
        out.append(b"f FETCH 1:* (UID)\r\n")
        c.send(b"".join(out))
        ok(c.response("s"), "s")
        for i in range(50):
            assert "APPENDUID" in ok(c.response("a%d" % i), "a%d" % i)[-1]
            ok(c.response("n%d" % i), "n%d" % i)
        lines = ok(c.response("f"), "f")
        assert lines[49] == "* 50 FETCH (UID 50)"
    finally:
        p.close()


def test_line_and_literal_limits(etc, maildir):
    p = Preauth(etc, "ann", maildir)
    c = p.raw()
    try:
        c.send("a NOOP " + "x" * 3000 + "\r\n")
        assert c.line().startswith("* BAD ")
        ok(c.cmd("b", "NOOP"), "b")
        # a synchronizing literal over the limit is refused before it is
        # sent; a non-synchronizing one is read and dropped
        c.send("c SEARCH TEXT {100000}\r\n")
        assert c.line() == "c BAD Literal too large."
        c.send("d SEARCH TEXT {100000+}\r\n" + "y" * 100000 + "\r\n")
        assert c.line() == "d BAD Literal too large."
        ok(c.cmd("e", "NOOP"), "e")
        # a broken command followed by a literal: the literal is skipped
        c.send('f FOO "bad {5+}\r\nhello\r\n')
        assert c.line().startswith("f BAD")
        ok(c.cmd("g", "NOOP"), "g")
    finally:
        p.close()


def rss_kb(pid, field="VmHWM"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def test_client_that_never_reads(base):
    etc = config_dir(os.path.join(base, "short"), imap_client_timeout="2s")
    root = os.path.join(base, "never_reads")
    big_maildir(root, 3000, body_lines=200)         # ~16 MB of output
    p = Preauth(etc, "ann", root)
    try:
        c = p.raw(timeout=30)
        ok(c.cmd("a", "SELECT INBOX"), "a")
        c.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.send("b FETCH 1:* BODY[]\r\n")
        # the session stops producing at its high-water mark, then gives
        # up on the client: the process ends without anyone reading
        peak = 0
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline and p.proc.poll() is None:
            try:
                peak = max(peak, rss_kb(p.proc.pid))
            except OSError:
                break
            time.sleep(0.05)
        # not the 16 MB of output (ASan's shadow memory adds much more)
        assert 0 < peak < (64 if sanitized() else 16) * 1024, peak
        assert p.wait(timeout=30) == 0
        assert "Disconnected for inactivity" in p.stderr()
    finally:
        p.close()


def test_idle_timeout(base):
    etc = config_dir(os.path.join(base, "short2"), imap_client_timeout="1s")
    root = os.path.join(base, "idle_timeout")
    make_maildir(root)
    p = Preauth(etc, "ann", root)
    try:
        c = p.raw()
        t0 = time.monotonic()
        assert c.line() == "* BYE Disconnected for inactivity."
        assert 0.5 < time.monotonic() - t0 < 10
        assert c.closed()
    finally:
        p.close()


def test_broken_message_file_is_reported_not_fatal(etc, maildir):
    deliver(maildir, msg(1))
    bad = deliver(maildir, msg(2))
    deliver(maildir, msg(3))
    p = Preauth(etc, "ann", maildir)
    c = p.raw()
    try:
        ok(c.cmd("a", "SELECT INBOX"), "a")
        # the file turns into something that cannot be read
        cur = os.path.join(maildir, "cur")
        name = [n for n in os.listdir(cur)
                if n.startswith(os.path.basename(bad))][0]
        os.unlink(os.path.join(cur, name))
        os.mkdir(os.path.join(cur, name))
        lines = c.cmd("b", "FETCH 1:3 (UID BODY.PEEK[HEADER.FIELDS (Subject)] "
                      "BODYSTRUCTURE)")
        fetched = [l for l in lines if "FETCH" in l]
        assert len(fetched) == 2, lines
        assert lines[-1].startswith("b NO [SERVERBUG] Internal error"), lines
        ok(c.cmd("c", "FETCH 3 (UID)"), "c")
        ok(c.cmd("d", "NOOP"), "d")
    finally:
        p.close()
    assert p.proc.returncode == 0
