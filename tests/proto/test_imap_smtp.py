"""IMAP with the rest of the mail system: a message sent over SMTP
(smtpd -> qmgr -> local -> Maildir) wakes a client in IDLE within a second
of landing, and an IMAP login from an address lets that address relay
through smtpd (permit_pop_before_smtp) until the grant runs out.

Needs smtpd, qmgr and local; skipped until they are built.
"""
import os
import smtplib
import socket
import time

import pytest

from conftest import BIN, wait_for
from imap_helpers import Raw
from test_delivery import Mta

pytestmark = pytest.mark.skipif(
    not all(os.path.exists(os.path.join(BIN, p))
            for p in ("smtpd", "qmgr", "local")),
    reason="smtpd, qmgr and local are not all built yet")

TIMEOUT = 3     # pop_before_smtp_timeout, seconds


def imap_login(port, user, source=None):
    s = socket.create_connection(("127.0.0.1", port), 10,
                                 source_address=(source, 0) if source else None)
    c = Raw(s)
    lines = c.cmd("l", "LOGIN %s secret" % user)
    assert lines[-1].startswith("l OK"), lines
    return c


def test_idle_woken_by_smtp_delivery(yubin):
    mta = Mta(yubin)
    mta.user("ann@example.com")
    smtp = yubin.add_service("smtpd")
    imap = yubin.add_service("imapd")
    mta.start(mailbox_auto="no")
    assert wait_for(lambda: port_open(imap), 10)
    c = imap_login(imap, "ann@example.com")
    try:
        assert c.cmd("s", "SELECT INBOX")[-1].startswith("s OK")
        c.send("i IDLE\r\n")
        assert c.line() == "+ idling"
        with smtplib.SMTP("127.0.0.1", smtp, timeout=15) as s:
            s.sendmail("bob@example.net", ["ann@example.com"],
                       b"From: bob@example.net\r\nSubject: wake up\r\n\r\n"
                       b"hello\r\n")
        new = os.path.join(mta.maildir("ann@example.com"), "new")
        cur = os.path.join(mta.maildir("ann@example.com"), "cur")
        landed = wait_for(lambda: (os.path.isdir(new) and os.listdir(new)) or
                          (os.path.isdir(cur) and os.listdir(cur)), 15)
        assert landed, yubin.log()
        t_landed = time.monotonic()
        c.s.settimeout(5)
        assert c.line() == "* 1 EXISTS"
        assert time.monotonic() - t_landed < 1.0
        c.send("DONE\r\n")
        assert c.response("i")[-1] == "i OK Idle completed."
        lines = c.cmd("f", "FETCH 1 BODY.PEEK[HEADER.FIELDS (Subject)]")
        assert "Subject: wake up" in lines[0], lines
    finally:
        c.close()


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), 1):
            return True
    except OSError:
        return False


def rcpt_from(port, source):
    with smtplib.SMTP("127.0.0.1", port, timeout=15,
                      source_address=(source, 0)) as s:
        s.ehlo("client.example.net")
        code, _ = s.mail("sender@example.net")
        assert code == 250
        code, text = s.rcpt("someone@remote.example.org")
        s.rset()
        return code, text


def test_imap_login_grants_relay(yubin):
    mta = Mta(yubin)
    mta.user("ann@example.com")
    smtp = yubin.add_service("smtpd")
    imap = yubin.add_service("imapd", options=["disable_plaintext_auth=no"])
    mta.start(mynetworks="127.0.0.1/32", mailbox_auto="no",
              smtpd_relay_restrictions="permit_pop_before_smtp, "
                                       "reject_unauth_destination",
              pop_before_smtp_timeout="%ds" % TIMEOUT)
    assert wait_for(lambda: port_open(imap), 10)
    assert rcpt_from(smtp, "127.0.0.5")[0] >= 500
    c = imap_login(imap, "ann@example.com", source="127.0.0.5")
    granted = time.monotonic()
    assert c.cmd("o", "LOGOUT")[-1] == "o OK Logout completed."
    c.close()
    assert rcpt_from(smtp, "127.0.0.5")[0] == 250
    assert rcpt_from(smtp, "127.0.0.6")[0] >= 500
    # the grant runs out
    assert wait_for(lambda: time.monotonic() - granted > TIMEOUT + 1 and
                    rcpt_from(smtp, "127.0.0.5")[0] >= 500,
                    TIMEOUT + 10, interval=0.5)
