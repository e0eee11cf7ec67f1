"""smtpd's message content: the end of DATA and SMTP smuggling (bare LF and
bare CR variants), smtpd_forbid_bare_newline and its exclusions, BDAT,
8-bit and SMTPUTF8 mail, header_size_limit.

A message's text is read from its queue file while it is queued, or from
the Maildir it was delivered to once the queue manager has run, whichever
the test finds first: these tests do not depend on delivery.
"""
import glob
import os
import re

from conftest import wait_for
from test_smtpd import QUEUED, Raw, session, smtpd_start

OUTSIDE = "127.0.0.2"           # a client that is not in mynetworks


def message_text(inst, qid, timeout=10.0):
    """The stored text of the message with queue ID qid: its queue file,
    or the Maildir file whose Received: header names qid."""
    marker = f" id {qid}".encode()

    def find():
        for sub in ("incoming", "active", "deferred", "hold"):
            try:
                with open(os.path.join(inst.spool, sub, qid), "rb") as f:
                    return f.read()
            except OSError:
                pass
        for path in glob.glob(os.path.join(inst.base, "**", "new", "*"), recursive=True) + \
                glob.glob(os.path.join(inst.base, "**", "cur", "*"), recursive=True):
            try:
                with open(path, "rb") as f:
                    text = f.read()
            except OSError:
                continue
            if marker in text:
                return text
        return None
    text = wait_for(find, timeout)
    assert text is not None, f"no queue file or mailbox file for {qid}"
    return text


def replies_until_close(c):
    out = []
    while True:
        try:
            out.append(c.reply())
        except (EOFError, ConnectionResetError):
            return out


def start(yubin, **params):
    params.setdefault("mynetworks", "127.0.0.1/32")
    return smtpd_start(yubin, users=[("ann@example.com", "secret")], **params)


SMUGGLING = {
    "LF.LF": b"\n.\n",
    "LF.CRLF": b"\n.\r\n",
    "CRLF.LF": b"\r\n.\n",
    "CR.CR": b"\r.\r",
    "CRLF.CR": b"\r\n.\r",
    "CR.CRLF": b"\r.\r\n",
    "CR.LF": b"\r.\n",
    "LF.CR": b"\n.\r",
}


def smuggle(port, name, sep, source=OUTSIDE):
    c = session(port, source)
    assert c.cmd("MAIL FROM:<a@example.net>") == b"250 2.1.0 Ok"
    assert c.cmd("RCPT TO:<ann@example.com>") == b"250 2.1.5 Ok"
    assert c.cmd("DATA").startswith(b"354")
    c.send(b"Subject: outer\r\n\r\nouter body" + sep +
           b"MAIL FROM:<evil@example.net>\r\nRCPT TO:<ann@example.com>\r\nDATA\r\n"
           b"Subject: smuggled-" + name.encode() + b"\r\n\r\nevil\r\n.\r\nQUIT\r\n")
    return replies_until_close(c)


def test_smuggling_cannot_split_a_message(yubin):
    port = start(yubin)
    for name, sep in SMUGGLING.items():
        replies = smuggle(port, name, sep)
        queued = [QUEUED.match(r) for r in replies if QUEUED.match(r)]
        assert len(queued) == 1, (name, replies)
        assert replies[-1] == b"221 2.0.0 Bye", (name, replies)
        text = message_text(yubin, queued[0].group(1).decode())
        assert b"smuggled-" + name.encode() in text, (name, text)
        assert b"MAIL FROM:<evil@example.net>" in text, (name, text)
    # one client= line per message: nothing else was queued
    clients = re.findall(r": client=unknown\[127\.0\.0\.2\]", yubin.log())
    assert len(clients) == len(SMUGGLING), yubin.log()


def test_bare_lf_line_ends_are_normalized(yubin):
    port = start(yubin)
    c = session(port, OUTSIDE)
    c.send("MAIL FROM:<a@example.net>\nRCPT TO:<ann@example.com>\n")
    assert c.reply() == b"250 2.1.0 Ok" and c.reply() == b"250 2.1.5 Ok"
    assert c.cmd("DATA").startswith(b"354")
    c.send(b"Subject: lf\n\nline one\nline two\r\n..dot\r\n.\r\n")
    m = QUEUED.match(c.reply())
    assert m
    text = message_text(yubin, m.group(1).decode())
    assert b"\nline one\nline two\n.dot\n" in text and b"\r" not in text
    c.close()


def test_exclusions_keep_the_old_end_of_data(yubin):
    # 127.0.0.1 is in mynetworks, hence in the exclusions: a bare LF ends
    # DATA for it, as Postfix's smtpd_forbid_bare_newline = no
    port = start(yubin)
    replies = smuggle(port, "LF.LF", b"\n.\n", source="127.0.0.1")
    assert len([r for r in replies if QUEUED.match(r)]) == 2, replies


def test_reject_mode(yubin):
    port = start(yubin, smtpd_forbid_bare_newline="reject",
                 smtpd_forbid_bare_newline_exclusions="")
    c = session(port, OUTSIDE)
    c.cmd("MAIL FROM:<a@example.net>")
    c.cmd("RCPT TO:<ann@example.com>")
    assert c.cmd("DATA").startswith(b"354")
    c.send(b"Subject: x\r\n\r\nbare\nlf\r\n.\r\n")
    assert c.reply() == b"550 5.5.2 Error: bare <LF> received"
    assert c.closed()
    c = session(port, OUTSIDE)
    c.send(b"NOOP\n")
    assert c.reply() == b"550 5.5.2 Error: bare <LF> received"
    assert c.closed()
    assert yubin.wait_log(r"reject: DATA from unknown\[127\.0\.0\.2\]: 550 5\.5\.2 Error: "
                          r"bare <LF> received")
    assert "queued as" not in yubin.log()


def test_bdat(yubin):
    port = start(yubin, message_size_limit="5000")
    c = session(port, OUTSIDE)
    # chunks without a transaction are read, then refused
    c.send(b"BDAT 5\r\nhello")
    assert c.reply() == b"503 5.5.1 Error: need MAIL command"
    c.cmd("MAIL FROM:<a@example.net>")
    c.cmd("RCPT TO:<ann@example.com>")
    first = b"Subject: chunked\r\n\r\n.\r\n"
    second = b"..two\r\nthree"
    c.send(b"BDAT %d\r\n" % len(first) + first)
    assert c.reply() == b"250 2.0.0 Ok: %d bytes" % len(first)
    c.send(b"BDAT %d LAST\r\n" % len(second) + second + b"NOOP\r\n")
    m = QUEUED.match(c.reply())
    assert m, m
    assert c.reply() == b"250 2.0.0 Ok"
    text = message_text(yubin, m.group(1).decode())
    # no dot-unstuffing in BDAT; CR LF stored as LF
    assert b"chunked\n\n.\n..two\nthree" in text, text
    # too big: the bytes are read, then 552
    c.cmd("MAIL FROM:<a@example.net>")
    c.cmd("RCPT TO:<ann@example.com>")
    big = b"x" * 6000
    c.send(b"BDAT 6000 LAST\r\n" + big)
    assert c.reply() == b"552 5.3.4 Message size exceeds fixed limit"
    assert c.cmd("NOOP") == b"250 2.0.0 Ok"
    c.send(b"BDAT five\r\n")
    assert c.reply() == b"501 5.5.4 Syntax: BDAT count [LAST]"
    assert c.closed()


def test_8bitmime_and_smtputf8(yubin):
    port = start(yubin)
    c = session(port)
    assert c.cmd("MAIL FROM:<a@example.net> BODY=8BITMIME") == b"250 2.1.0 Ok"
    assert c.cmd("RCPT TO:<ann@example.com>") == b"250 2.1.5 Ok"
    assert c.cmd("DATA").startswith(b"354")
    c.send("Subject: 8bit\r\n\r\nGrüße aus Köln\r\n.\r\n".encode())
    m = QUEUED.match(c.reply())
    assert m
    assert "Grüße aus Köln".encode() in message_text(yubin, m.group(1).decode())
    # a UTF-8 address needs SMTPUTF8
    assert c.cmd("MAIL FROM:<jösé@example.net>") == \
        b"553 5.6.7 Must declare SMTPUTF8 to send unicode address"
    assert c.cmd("MAIL FROM:<jösé@example.net> SMTPUTF8") == b"250 2.1.0 Ok"
    assert c.cmd("RCPT TO:<ünï@remote.example>") == b"250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<ann@example.com>") == b"250 2.1.5 Ok"
    assert c.cmd("DATA").startswith(b"354")
    c.send("Subject: utf8\r\nFrom: jösé@example.net\r\n\r\nhi\r\n.\r\n".encode())
    m = QUEUED.match(c.reply())
    assert m
    text = message_text(yubin, m.group(1).decode())
    assert b" with UTF8SMTP id " in text
    c.close()


def test_smtputf8_off(yubin):
    port = start(yubin, smtputf8_enable="no")
    c = Raw(port)
    c.reply()
    assert b"SMTPUTF8" not in c.cmd("EHLO x")
    assert c.cmd("MAIL FROM:<a@example.net> SMTPUTF8") == \
        b"555 5.5.4 Unsupported option: SMTPUTF8"
    assert c.cmd("MAIL FROM:<jösé@example.net>") == b"501 5.1.7 Bad sender address syntax"
    c.close()


def test_header_size_limit(yubin):
    port = start(yubin, header_size_limit="200")
    c = session(port)
    c.cmd("MAIL FROM:<a@example.net>")
    c.cmd("RCPT TO:<ann@example.com>")
    c.cmd("DATA")
    c.send(b"Subject: big header\r\nX-Long: " + b"a" * 1000 + b"\r\n\tmore " + b"b" * 300 +
           b"\r\nX-After: kept\r\n\r\nbody\r\n.\r\n")
    m = QUEUED.match(c.reply())
    assert m
    text = message_text(yubin, m.group(1).decode())
    assert b"X-After: kept\n" in text and b"\nbody" in text
    assert b"a" * 1000 not in text and b"b" * 300 not in text
    c.close()
