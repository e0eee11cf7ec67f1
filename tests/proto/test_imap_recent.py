"""\\Recent across sessions (RFC 3501 2.3.2: a message is recent in exactly
one session, the first to be told of it) and APPEND of binary content
(RFC 3516 4.4), driven with imaplib and raw sockets against the session
program on its own (`imap --preauth`), several sessions on one Maildir.

Deliveries, APPENDs and COPYs are recent for one session only, whichever
syncs first, or the one that appended into its selected mailbox; EXAMINE
and STATUS see recent messages without taking them; what was claimed stays
claimed after the session ends. A binary APPEND with NULs is stored with
its part base64-encoded and comes back byte for byte through BINARY.
"""
import base64
import os
import re

import pytest

from imap_helpers import (Preauth, StreamIMAP, config_dir, deliver,
                          make_maildir, msg, tmpdir_base)


@pytest.fixture(scope="module")
def base(request):
    return tmpdir_base(request)


@pytest.fixture(scope="module")
def etc(base):
    return config_dir(base)


@pytest.fixture
def maildir(base, request):
    root = os.path.join(base, re.sub(r"\W", "_", request.node.name))
    make_maildir(root)
    return root


@pytest.fixture
def sessions(etc, maildir):
    """A factory of imaplib sessions on the test's Maildir, all logged out
    (and their programs reaped) at the end."""
    opened = []

    def new():
        m = StreamIMAP(etc, "ann", maildir)
        opened.append(m)
        return m
    yield new
    for m in opened:
        try:
            m.logout()
        except Exception:
            pass
        try:
            m.shutdown()
        except OSError:
            pass


def ok(result):
    typ, data = result
    assert typ == "OK", data
    return data


def recent_count(m):
    """The last RECENT count the server sent (after SELECT or NOOP)."""
    typ, data = m.response("RECENT")
    assert data and data[-1] is not None, "no RECENT response"
    return int(data[-1])


def search(m, *keys):
    return [int(x) for x in ok(m.search(None, *keys))[0].split()]


def flags(m):
    """{sequence number: [flags]} of every message."""
    out = {}
    for item in ok(m.fetch("1:*", "(FLAGS)")):
        found = re.match(rb"(\d+) \(FLAGS \((.*)\)\)", item)
        assert found, item
        out[int(found.group(1))] = found.group(2).decode().split()
    return out


def status_recent(m, box="INBOX"):
    data = ok(m.status(box, "(RECENT)"))
    return int(re.search(rb"RECENT (\d+)", data[0]).group(1))


def test_append_recent_in_exactly_one_session(sessions):
    a, b = sessions(), sessions()
    ok(a.select("INBOX"))
    ok(b.select("INBOX"))
    ok(a.append("INBOX", None, None, msg(1)))
    # the other session syncs first and still does not get it
    ok(b.noop())
    ok(a.noop())
    assert search(a, "RECENT") == [1]
    assert search(b, "RECENT") == []
    assert "\\Recent" in flags(a)[1]
    assert "\\Recent" not in flags(b)[1]
    # and the other way round
    ok(b.append("INBOX", None, None, msg(2)))
    ok(a.noop())
    ok(b.noop())
    assert search(a, "RECENT") == [1]
    assert search(b, "RECENT") == [2]
    # a later session sees neither
    c = sessions()
    ok(c.select("INBOX"))
    assert recent_count(c) == 0
    assert search(c, "RECENT") == []


def test_delivery_recent_for_the_first_to_look(maildir, sessions):
    a, b = sessions(), sessions()
    ok(a.select("INBOX"))
    ok(b.select("INBOX"))
    deliver(maildir, msg(1))
    ok(b.noop())
    assert recent_count(b) == 1
    ok(a.noop())
    assert recent_count(a) == 0
    assert search(b, "RECENT") == [1] and search(a, "RECENT") == []


def test_copy_and_move_recent_for_first_selector(maildir, sessions):
    for i in range(3):
        deliver(maildir, msg(i))
    a = sessions()
    ok(a.select("INBOX"))
    ok(a.create("Box"))
    ok(a.copy("1:2", "Box"))
    # STATUS counts them without taking them
    assert status_recent(a, "Box") == 2
    assert status_recent(a, "Box") == 2
    b, c = sessions(), sessions()
    ok(b.select("Box"))
    assert recent_count(b) == 2
    assert all("\\Recent" in f for f in flags(b).values())
    ok(c.select("Box"))
    assert recent_count(c) == 0
    assert search(c, "RECENT") == []
    assert status_recent(a, "Box") == 0
    # a MOVE into the folder: recent for the session that sees it first
    ok(a.xatom("MOVE", "3 Box"))
    ok(c.noop())
    ok(b.noop())
    assert search(c, "RECENT") == [3]
    assert search(b, "RECENT") == [1, 2]


def test_examine_does_not_claim(maildir, sessions):
    for i in range(2):
        deliver(maildir, msg(i))
    e = sessions()
    ok(e.select("INBOX", readonly=True))
    assert recent_count(e) == 2
    assert all("\\Recent" in f for f in flags(e).values())
    # an APPEND from the examining session is not taken by it either
    ok(e.append("INBOX", None, None, msg(3)))
    s = sessions()
    ok(s.select("INBOX"))
    assert recent_count(s) == 3
    e2 = sessions()
    ok(e2.select("INBOX", readonly=True))
    assert recent_count(e2) == 0


def test_status_recent_counts_without_claiming(maildir, sessions):
    for i in range(2):
        deliver(maildir, msg(i))
    watcher = sessions()
    assert status_recent(watcher) == 2
    assert status_recent(watcher) == 2
    a = sessions()
    ok(a.select("INBOX"))
    assert recent_count(a) == 2
    # the selected mailbox's STATUS is the session's own view
    assert status_recent(a) == 2
    assert status_recent(watcher) == 0
    deliver(maildir, msg(3))
    assert status_recent(watcher) == 1


def test_search_recent_new_old(maildir, sessions):
    for i in range(3):
        deliver(maildir, msg(i))
    a = sessions()
    ok(a.select("INBOX"))
    ok(a.store("2", "+FLAGS", "(\\Seen)"))
    assert search(a, "RECENT") == [1, 2, 3]
    assert search(a, "NEW") == [1, 3]
    assert search(a, "OLD") == []
    assert search(a, "NOT", "RECENT") == []
    b = sessions()
    ok(b.select("INBOX"))
    assert search(b, "RECENT") == []
    assert search(b, "NEW") == []
    assert search(b, "OLD") == [1, 2, 3]


def test_recent_survives_the_session(maildir, sessions):
    for i in range(2):
        deliver(maildir, msg(i))
    a = sessions()
    ok(a.select("INBOX"))
    assert recent_count(a) == 2
    a.logout()
    b = sessions()
    ok(b.select("INBOX"))
    assert recent_count(b) == 0
    assert not any("\\Recent" in f for f in flags(b).values())
    deliver(maildir, msg(3))
    ok(b.noop())
    assert recent_count(b) == 1
    assert search(b, "RECENT") == [3]
    b.logout()
    c = sessions()
    ok(c.select("INBOX"))
    assert recent_count(c) == 0


# --- APPEND of binary content (RFC 3516) ------------------------------------

BINARY_PART = b"\x00-\xe4\n\r\n\n\x00\xff\r"
BINARY_MSG = (b"From: ann@example.com\r\nSubject: binary\r\n"
              b"MIME-Version: 1.0\r\n"
              b"Content-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n"
              b"--xx\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
              b"--xx\r\nContent-Type: application/octet-stream\r\n"
              b"Content-Transfer-Encoding: binary\r\n\r\n" + BINARY_PART +
              b"\r\n--xx--\r\n")


def fetch_one(c, tag, item):
    """The value of one FETCH item of message 1: bytes of a literal or
    literal8, or the text of anything else."""
    c.send("%s FETCH 1 (%s)\r\n" % (tag, item))
    head = c.line()
    found = re.match(r"\* 1 FETCH \((\S+) (~?)\{(\d+)\}$", head)
    if found:
        data = c.read_bytes(int(found.group(3)))
        assert c.line() == ")"
        value = (found.group(2), data)
    else:
        value = head
    assert c.line().startswith(tag + " OK")
    return value


def test_binary_append_round_trip(etc, maildir):
    p = Preauth(etc, "ann", maildir)
    c = p.raw()
    try:
        assert "BINARY" in c.cmd("a", "CAPABILITY")[0]
        c.send(b"b APPEND INBOX ~{%d}\r\n" % len(BINARY_MSG))
        assert c.line().startswith("+ ")
        c.send(BINARY_MSG + b"\r\n")
        assert "APPENDUID" in c.response("b")[-1]
        assert c.cmd("c", "SELECT INBOX")[-1].startswith("c OK")
        # the message as sent, through BINARY[] and BINARY[2]
        assert fetch_one(c, "d", "BINARY.PEEK[]") == ("~", BINARY_MSG)
        assert fetch_one(c, "e", "BINARY.PEEK[2]") == ("~", BINARY_PART)
        size = fetch_one(c, "f", "BINARY.SIZE[2]")
        assert "BINARY.SIZE[2] %d)" % len(BINARY_PART) in size, size
        # BODY[2] carries no NUL: the part is base64 now
        kind, body = fetch_one(c, "g", "BODY.PEEK[2]")
        assert kind == "" and b"\x00" not in body
        assert base64.b64decode(body) == BINARY_PART
        bs = fetch_one(c, "h", "BODYSTRUCTURE")
        assert '"BASE64"' in bs.upper(), bs
        # the file in the Maildir holds no NUL either
        for d in ("cur", "new"):
            for name in os.listdir(os.path.join(maildir, d)):
                with open(os.path.join(maildir, d, name), "rb") as f:
                    assert b"\x00" not in f.read()
        # a NUL no re-encoding can carry: refused, nothing stored
        bad = b"Subject: a\x00b\r\n\r\nbody\r\n"
        c.send(b"i APPEND INBOX ~{%d+}\r\n" % len(bad) + bad + b"\r\n")
        assert c.response("i")[-1].startswith("i NO [UNKNOWN-CTE]")
        lines = c.cmd("j", "NOOP")
        assert lines[-1].startswith("j OK")
        assert not any("EXISTS" in x for x in lines), lines
    finally:
        p.close()
