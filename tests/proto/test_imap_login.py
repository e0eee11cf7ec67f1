"""The IMAP login front end (imapd) and the hand-off to the session,
against a running instance: greeting and pre-login capabilities, LOGIN
and AUTHENTICATE (PLAIN, LOGIN, SASL-IR) through authd, LOGINDISABLED by
disable_plaintext_auth's secured rule, STARTTLS and implicit TLS, the
Dovecot-shaped log lines, the session's uid, pipelined commands across
the hand-off, and two sessions of one user seeing each other's changes.

One instance serves the module; each test takes its own user.
"""
import imaplib
import re
import ssl

import pytest

from conftest import IS_ROOT, children_of, pid_alive, proc_uid, wait_for
from imap_helpers import (PASSWORD, VMAIL_UID, ImapInstance, b64, client_tls,
                          module_instance, msg, plain_b64)


def close(m):
    try:
        m.shutdown()
    except OSError:
        pass


@pytest.fixture(scope="module")
def imap(request):
    i = ImapInstance(module_instance(request))
    i.tls()
    i.service("imap")
    i.service("imaps", options=["tls_wrappermode=yes"])
    return i.start(users=24)


def test_greeting_and_prelogin_capabilities(imap):
    c = imap.raw()
    try:
        m = re.match(r"\* OK \[CAPABILITY (.*)\] Yubin ready\.$", c.greeting)
        assert m, c.greeting
        caps = m.group(1).split()
        assert {"IMAP4rev1", "SASL-IR", "ID", "LITERAL+", "STARTTLS",
                "AUTH=PLAIN", "AUTH=LOGIN"} <= set(caps), caps
        assert "LOGINDISABLED" not in caps      # 127.0.0.1 to itself
        lines = c.cmd("a", "CAPABILITY")
        assert lines[0] == "* CAPABILITY " + m.group(1)
        assert lines[1].startswith("a OK ")
        lines = c.cmd("b", 'ID ("name" "pytest")')
        assert lines[0].startswith('* ID ("name" "Yubin"') and \
            lines[1] == "b OK ID completed."
        assert c.cmd("c", "NOOP") == ["c OK NOOP completed."]
        assert c.cmd("d", "SELECT INBOX")[-1].startswith("d BAD")
        assert c.cmd("e", "LOGOUT") == ["* BYE Logging out",
                                        "e OK Logout completed."]
        assert c.closed()
    finally:
        c.close()


def test_imaplib_login_session_and_logs(imap):
    user = imap.fresh_user()
    imap.deliver(user, msg(1))
    m = imaplib.IMAP4("127.0.0.1", imap.ports["imap"], timeout=10)
    try:
        typ, data = m.login(user, PASSWORD)
        assert typ == "OK"
        assert b"[CAPABILITY IMAP4rev1" in data[0] and b"Logged in" in data[0]
        typ, data = m.capability()
        caps = data[0].split()
        assert b"IDLE" in caps and b"MOVE" in caps and b"STARTTLS" not in caps
        typ, data = m.select("INBOX")
        assert data == [b"1"]
        typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert data[0][1] == b"Subject: test 1\r\n\r\n"
        m.logout()
    finally:
        close(m)
    log = imap.inst.wait_log(
        r"imap-login: Login: user=<%s>, method=PLAIN, rip=127\.0\.0\.1, "
        r"lip=127\.0\.0\.1, mpid=(\d+)\n" % re.escape(user))
    assert log, imap.inst.log()
    assert imap.inst.wait_log(
        r"imap\(%s\): Disconnected: Logged out in=\d+ out=\d+ deleted=0 "
        r"expunged=0 trashed=0 hdr_count=1 hdr_bytes=\d+ body_count=0 "
        r"body_bytes=0" % re.escape(user)), imap.inst.log()


def test_session_runs_as_mailbox_owner(imap):
    user = imap.fresh_user()
    c = imap.raw()
    try:
        lines = c.cmd("a", "LOGIN %s %s" % (user, PASSWORD))
        assert lines[-1].startswith("a OK [CAPABILITY "), lines
        m = imap.inst.wait_log(r"imap-login: Login: user=<%s>.*mpid=(\d+)"
                               % re.escape(user))
        pid = int(m.group(1))
        assert pid_alive(pid)
        uids = proc_uid(pid)
        assert uids[:3] == [VMAIL_UID] * 3 if IS_ROOT else uids[0] != 0
        assert c.cmd("b", "LOGOUT")[-1] == "b OK Logout completed."
        assert wait_for(lambda: not pid_alive(pid), 10)
    finally:
        c.close()


def test_authenticate_plain_sasl_ir_and_continuation(imap):
    user = imap.fresh_user()
    c = imap.raw()
    try:
        lines = c.cmd("a", "AUTHENTICATE PLAIN " + plain_b64(user))
        assert lines[-1].startswith("a OK [CAPABILITY "), lines
        assert c.cmd("b", "LOGOUT")[-1] == "b OK Logout completed."
    finally:
        c.close()
    c = imap.raw()
    try:
        c.send("a AUTHENTICATE PLAIN\r\n")
        assert c.line() == "+ "
        c.send(plain_b64(user) + "\r\n")
        assert c.response("a")[-1].startswith("a OK [CAPABILITY ")
    finally:
        c.close()
    c = imap.raw()
    try:
        c.send("x AUTHENTICATE LOGIN\r\n")
        assert c.line() == "+ " + b64("Username:")
        c.send(b64(user) + "\r\n")
        assert c.line() == "+ " + b64("Password:")
        c.send(b64(PASSWORD) + "\r\n")
        assert c.response("x")[-1].startswith("x OK [CAPABILITY ")
    finally:
        c.close()


def test_failed_logins(imap):
    user = imap.fresh_user()
    c = imap.raw()
    try:
        assert c.cmd("a", "LOGIN %s wrong" % user) == \
            ["a NO [AUTHENTICATIONFAILED] Authentication failed."]
        c.send("b AUTHENTICATE PLAIN\r\n")
        assert c.line() == "+ "
        c.send("*\r\n")
        assert c.response("b") == ["b BAD Authentication aborted by client."]
        assert c.cmd("d", "AUTHENTICATE X-NONE")[-1].startswith("d NO")
        # the third failure ends the connection
        assert c.cmd("e", "LOGIN %s wrong" % user)[0] == \
            "e NO [AUTHENTICATIONFAILED] Authentication failed."
        assert c.closed()
    finally:
        c.close()
    assert imap.inst.wait_log(
        r"imap-login: Disconnected: Aborted login \(auth failed, \d+ "
        r"attempts in \d+ secs\): user=<%s>, method=PLAIN, "
        r"rip=127\.0\.0\.1, lip=127\.0\.0\.1" % re.escape(user)), \
        imap.inst.log()
    c = imap.raw()
    try:
        assert c.cmd("a", "AUTHENTICATE PLAIN !!!") == \
            ["a BAD Invalid base64 data in response."]
        assert c.cmd("b", "LOGIN %s %s" % (user, PASSWORD))[-1] \
            .startswith("b OK")
    finally:
        c.close()


def test_literal_login_and_pipelining_across_handoff(imap):
    user = imap.fresh_user()
    imap.deliver(user, msg(5))
    c = imap.raw()
    try:
        c.send("a LOGIN {%d}\r\n" % len(user))
        assert c.line() == "+ OK"
        c.send("%s {%d+}\r\n%s\r\n" % (user, len(PASSWORD), PASSWORD)
               + "b SELECT INBOX\r\nc FETCH 1 (UID)\r\nd LOGOUT\r\n")
        assert c.response("a")[-1].startswith("a OK [CAPABILITY ")
        assert c.response("b")[-1] == "b OK [READ-WRITE] Select completed"
        assert c.response("c") == ["* 1 FETCH (UID 1)",
                                   "c OK Fetch completed."]
        assert c.response("d")[-1] == "d OK Logout completed."
    finally:
        c.close()


def test_logindisabled_until_starttls(imap):
    user = imap.fresh_user()
    # a client on 127.0.0.2 talking to 127.0.0.1 is not secured
    c = imap.raw(source="127.0.0.2")
    try:
        assert "LOGINDISABLED" in c.greeting
        assert "AUTH=PLAIN" not in c.greeting
        assert c.cmd("a", "LOGIN %s %s" % (user, PASSWORD)) == \
            ["a NO [PRIVACYREQUIRED] Plaintext authentication disallowed "
             "on non-secure (SSL/TLS) connections."]
        assert c.cmd("b", "AUTHENTICATE PLAIN " + plain_b64(user))[-1] \
            .startswith("b NO [PRIVACYREQUIRED]")
        assert c.cmd("c", "STARTTLS") == ["c OK Begin TLS negotiation now."]
        c.s = client_tls().wrap_socket(c.s, server_hostname="mail.example.com")
        lines = c.cmd("d", "CAPABILITY")
        assert "LOGINDISABLED" not in lines[0] and "STARTTLS" not in lines[0]
        assert "AUTH=PLAIN" in lines[0]
        assert c.cmd("e", "LOGIN %s %s" % (user, PASSWORD))[-1] \
            .startswith("e OK [CAPABILITY ")
        lines = c.cmd("f", "SELECT INBOX")
        assert lines[-1] == "f OK [READ-WRITE] Select completed"
    finally:
        c.close()
    assert imap.inst.wait_log(
        r"imap-login: Login: user=<%s>, method=PLAIN, rip=127\.0\.0\.2, "
        r"lip=127\.0\.0\.1, mpid=\d+, TLS" % re.escape(user)), imap.inst.log()


def test_implicit_tls_port(imap):
    user = imap.fresh_user()
    imap.deliver(user, msg(3))
    m = imaplib.IMAP4_SSL("127.0.0.1", imap.ports["imaps"],
                          ssl_context=client_tls(), timeout=10)
    try:
        assert "STARTTLS" not in m.capabilities
        m.login(user, PASSWORD)
        typ, data = m.select("INBOX")
        assert data == [b"1"]
        typ, data = m.fetch("1", "(RFC822)")
        assert data[0][1] == msg(3).replace(b"\n", b"\r\n")
        m.logout()
    finally:
        close(m)


def test_two_sessions_of_one_user(imap):
    user = imap.fresh_user()
    for i in range(2):
        imap.deliver(user, msg(i))
    a = imap.raw()
    b = imap.raw()
    try:
        for c in (a, b):
            assert c.cmd("l", "LOGIN %s %s" % (user, PASSWORD))[-1] \
                .startswith("l OK")
            assert c.cmd("s", "SELECT INBOX")[-1].startswith("s OK")
        assert a.cmd("1", "STORE 1 +FLAGS (\\Deleted \\Seen)")[-1] \
            .startswith("1 OK")
        assert "* 1 FETCH (FLAGS (\\Deleted \\Seen))" in b.cmd("1", "NOOP")
        assert a.cmd("2", "EXPUNGE")[0] == "* 1 EXPUNGE"
        b.send("2 IDLE\r\n")
        assert b.line() == "+ idling"
        assert b.line() == "* 1 EXPUNGE"
        imap.deliver(user, msg(9))
        assert b.line() == "* 2 EXISTS"
        b.send("DONE\r\n")
        assert b.response("2")[-1] == "2 OK Idle completed."
    finally:
        a.close()
        b.close()
