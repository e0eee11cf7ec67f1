"""Delivery of mail received over SMTP: smtpd -> queue -> qmgr -> local.

The same checks as test_delivery.py, with smtplib as the client: what was
sent (CRLF line ends, dot-stuffed on the wire) arrives in the Maildir with
LF line ends, unstuffed, after Return-Path, Delivered-To and smtpd's
Received header.
"""
import re
import smtplib

import pytest

from test_delivery import Mta, expected, parse_bounce


@pytest.fixture
def smtp_mta(yubin):
    mta = Mta(yubin)
    mta.port = yubin.add_service("smtpd")
    return mta


def start(mta, **params):
    mta.start(**params)
    from conftest import port_open, wait_for
    assert wait_for(lambda: port_open(mta.port), 10), mta.inst.log()
    return mta


BODY = (b"From: Sender <sender@example.net>\r\n"
        b"To: ann@example.com\r\n"
        b"Subject: over SMTP\r\n"
        b"Message-ID: <smtp1@example.net>\r\n"
        b"\r\n"
        b"line one\r\n"
        b".a line that starts with a dot\r\n"
        b"last line\r\n")


def split_delivered(data):
    """(Return-Path, Delivered-To, Received block, rest) of a file."""
    lines = data.split(b"\n")
    assert lines[0].startswith(b"Return-Path: <")
    assert lines[1].startswith(b"Delivered-To: ")
    assert lines[2].startswith(b"Received: from ")
    i = 3
    while lines[i][:1] in (b" ", b"\t"):
        i += 1
    return lines[0], lines[1], b"\n".join(lines[2:i]), b"\n".join(lines[i:])


def test_smtp_to_maildir(smtp_mta):
    mta = smtp_mta
    mta.user("ann@example.com")
    mta.user("bob@example.com")
    start(mta)
    with smtplib.SMTP("127.0.0.1", mta.port, timeout=10) as s:
        s.ehlo("client.example.net")
        refused = s.sendmail("sender@example.net",
                             ["ann@example.com", "Bob+tag@example.com"], BODY)
        assert refused == {}
    want = BODY.replace(b"\r\n", b"\n")
    for user, rcpt in (("ann", "ann@example.com"),
                       ("bob", "bob+tag@example.com")):
        (name, data), = mta.wait_messages(mta.maildir(f"{user}@example.com"), 1)
        ret, dto, received, rest = split_delivered(data)
        assert ret == b"Return-Path: <sender@example.net>"
        assert dto == b"Delivered-To: " + rcpt.encode()
        assert b"127.0.0.1" in received
        assert rest == want


def test_smtp_unknown_user_refused_at_rcpt(smtp_mta):
    mta = smtp_mta
    mta.user("ann@example.com")
    start(mta)
    with smtplib.SMTP("127.0.0.1", mta.port, timeout=10) as s:
        s.ehlo("client.example.net")
        s.mail("sender@example.net")
        code, msg = s.rcpt("nosuchuser@example.com")
        assert code == 550 and b"5.1.1" in msg


def test_smtp_null_sender_bounce_and_loop(smtp_mta):
    mta = smtp_mta
    mta.user("ann@example.com")
    mta.user("bob@example.com")
    start(mta)
    looped = b"Delivered-To: ann@example.com\r\n" + BODY
    with smtplib.SMTP("127.0.0.1", mta.port, timeout=10) as s:
        s.sendmail("bob@example.com", ["ann@example.com"], looped)
        s.sendmail("", ["ann@example.com"], looped)
    (name, data), = mta.wait_messages(mta.maildir("bob@example.com"), 1)
    _, _, groups = parse_bounce(data.split(b"\n", 2)[2])
    assert groups[1]["Status"] == "5.4.6"
    # the null sender's copy bounced too, silently
    assert mta.inst.wait_log(r"from=<>, size=\d+, nrcpt=1"), mta.inst.log()
    assert mta.messages(mta.maildir("ann@example.com")) == []
