"""smtpd: STARTTLS (and plaintext injected before it), implicit TLS,
smtpd_tls_security_level, AUTH through authd with and without an initial
response, relay control (mynetworks, SASL, POP-before-SMTP grants made in
authd, authd down), client restrictions, and swaks against all of it.

Users are created with `yubinctl user add`; PbS grants are made straight
in authd with the authc_tool helper, as an IMAP or POP3 login would.
"""
import base64
import os
import re
import shutil
import smtplib
import socket
import ssl
import subprocess

import pytest

from conftest import HELPERS, wait_for
from test_smtpd import QUEUED, Raw, session, smtpd_start

OUTSIDE = "127.0.0.2"
USERS = [("ann@example.com", "secret")]
PLAIN_ANN = base64.b64encode(b"\0ann@example.com\0secret").decode()
PLAIN_BAD = base64.b64encode(b"\0ann@example.com\0wrong").decode()


def make_cert(directory):
    cert = os.path.join(directory, "smtpd.pem")
    key = os.path.join(directory, "smtpd.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-days", "2", "-subj", "/CN=mail.example.com", "-keyout", key,
                    "-out", cert], check=True, capture_output=True)
    os.chmod(key, 0o644)
    return cert, key


def tls_start(yubin, options=(), **params):
    cert, key = make_cert(yubin.base)
    params.setdefault("mynetworks", "127.0.0.1/32")
    return smtpd_start(yubin, options=options, users=USERS, smtpd_tls_cert_file=cert,
                       smtpd_tls_key_file=key, **params)


def client_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def keywords(reply):
    return [line[4:].decode() for line in reply.split(b"\n")[1:]]


# --- TLS ----------------------------------------------------------------------

def test_starttls_and_received_header(yubin):
    port = tls_start(yubin, smtpd_tls_security_level="may",
                     smtpd_tls_received_header="yes", smtpd_tls_loglevel="1")
    with smtplib.SMTP("127.0.0.1", port, local_hostname="tls.example.net") as s:
        s.ehlo()
        assert s.has_extn("starttls")
        s.starttls(context=client_context())
        s.ehlo()
        assert not s.has_extn("starttls")
        s.mail("a@example.net")
        s.rcpt("ann@example.com")
        code, msg = s.data(b"Subject: tls\r\n\r\nsecret stuff\r\n")
        assert code == 250, msg
    assert yubin.wait_log(r"Anonymous TLS connection established from unknown\[127\.0\.0\.1\]: "
                          r"TLSv1\.[23] with cipher \S+ \(\d+/\d+ bits\)")
    qid = msg.decode().rsplit(" ", 1)[1]
    from test_smtpd_data import message_text
    text = message_text(yubin, qid)
    assert re.search(rb"Received: from tls\.example\.net \(unknown \[127\.0\.0\.1\]\)\n"
                     rb"\t\(using TLSv1\.[23] with cipher \S+ \(\d+/\d+ bits\)\)\n"
                     rb"\t\(No client certificate requested\)\n"
                     rb"\tby mail\.example\.com \(Yubin\) with ESMTPS id " + qid.encode(), text), text


def test_starttls_discards_injected_plaintext(yubin):
    port = tls_start(yubin, smtpd_tls_security_level="may")
    c = session(port)
    # CVE-2011-0411: commands pipelined after STARTTLS in the clear
    c.send("STARTTLS\r\nMAIL FROM:<evil@example.net>\r\nRCPT TO:<ann@example.com>\r\n")
    assert c.reply() == b"220 2.0.0 Ready to start TLS"
    assert c.buf == b""
    t = client_context().wrap_socket(c.s, server_hostname="mail.example.com")
    f = Raw.__new__(Raw)
    f.s, f.buf = t, b""
    # the injected MAIL never ran, and the client starts over after TLS
    assert f.cmd("RCPT TO:<ann@example.com>") == b"503 5.5.1 Error: need MAIL command"
    assert f.cmd("EHLO again").startswith(b"250-mail.example.com")
    assert f.cmd("STARTTLS") == b"554 5.5.1 Error: TLS already active"
    assert f.cmd("QUIT") == b"221 2.0.0 Bye"
    assert yubin.wait_log(r"improper command pipelining after STARTTLS from "
                          r"unknown\[127\.0\.0\.1\]: \d+ bytes discarded")


def test_encrypt_level(yubin):
    port = tls_start(yubin, smtpd_tls_security_level="encrypt",
                     smtpd_sasl_auth_enable="yes")
    c = session(port)
    kw = keywords(c.cmd("EHLO x"))
    assert "STARTTLS" in kw and not any(k.startswith("AUTH") for k in kw)
    assert c.cmd("MAIL FROM:<a@example.net>") == b"530 5.7.0 Must issue a STARTTLS command first"
    assert c.cmd(f"AUTH PLAIN {PLAIN_ANN}") == b"530 5.7.0 Must issue a STARTTLS command first"
    assert c.cmd("NOOP") == b"250 2.0.0 Ok"
    c.close()
    with smtplib.SMTP("127.0.0.1", port) as s:
        s.starttls(context=client_context())
        s.ehlo()
        assert s.has_extn("auth")
        s.login("ann@example.com", "secret")
        s.sendmail("ann@example.com", ["someone@remote.example"], b"Subject: x\r\n\r\ny\r\n")


def test_wrappermode(yubin):
    port = tls_start(yubin, options=["smtpd_tls_wrappermode=yes"])
    with smtplib.SMTP_SSL("127.0.0.1", port, context=client_context()) as s:
        code, _ = s.ehlo()
        assert code == 250 and not s.has_extn("starttls")
        assert s.sendmail("a@example.net", ["ann@example.com"],
                          b"Subject: 465\r\n\r\nhi\r\n") == {}
    # a client speaking plain text to the TLS port gets nothing
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    c.sendall(b"EHLO plain\r\n")
    try:
        data = c.recv(100)
    except ConnectionResetError:
        data = b""
    assert not data.startswith(b"220"), data
    c.close()


# --- AUTH -----------------------------------------------------------------------

def test_auth_mechanisms(yubin):
    port = tls_start(yubin, smtpd_sasl_auth_enable="yes")
    c = session(port, OUTSIDE)
    kw = keywords(c.cmd("EHLO x"))
    assert "AUTH PLAIN LOGIN" in kw or "AUTH LOGIN PLAIN" in kw, kw
    # PLAIN with an initial response
    assert c.cmd(f"AUTH PLAIN {PLAIN_ANN}") == b"235 2.7.0 Authentication successful"
    assert c.cmd(f"AUTH PLAIN {PLAIN_ANN}") == b"503 5.5.1 Error: already authenticated"
    # authenticated: relaying is allowed
    assert c.cmd("MAIL FROM:<ann@example.com>") == b"250 2.1.0 Ok"
    assert c.cmd("RCPT TO:<someone@remote.example>") == b"250 2.1.5 Ok"
    assert c.cmd("DATA").startswith(b"354")
    c.send(b"Subject: no id\r\n\r\nbody\r\n.\r\n")
    m = QUEUED.match(c.reply())
    assert m
    qid = m.group(1).decode()
    # submission: a Message-ID and a Date were added
    assert yubin.wait_log(re.escape(qid) + r": message-id=<\d{14}\." + re.escape(qid)
                          + r"@mail\.example\.com>")
    assert re.search(re.escape(qid) + r": client=unknown\[127\.0\.0\.2\], sasl_method=PLAIN, "
                     r"sasl_username=ann@example\.com", yubin.log())
    from test_smtpd_data import message_text
    text = message_text(yubin, qid)
    assert b"\nMessage-ID: <" in text and b"\nDate: " in text
    assert b" with ESMTPA id " in text
    c.close()

    # PLAIN without an initial response; LOGIN both ways
    for steps in ([("AUTH PLAIN", b"334 "), (PLAIN_ANN, b"235 ")],
                  [("AUTH LOGIN", b"334 VXNlcm5hbWU6"),
                   (base64.b64encode(b"ann@example.com").decode(), b"334 UGFzc3dvcmQ6"),
                   (base64.b64encode(b"secret").decode(), b"235 ")],
                  [("AUTH LOGIN " + base64.b64encode(b"ann@example.com").decode(),
                    b"334 UGFzc3dvcmQ6"),
                   (base64.b64encode(b"secret").decode(), b"235 ")]):
        c = session(port, OUTSIDE)
        for line, want in steps:
            got = c.cmd(line)
            assert got.startswith(want), (steps, line, got)
        c.close()


def test_auth_failures(yubin):
    port = tls_start(yubin, smtpd_sasl_auth_enable="yes")
    c = session(port, OUTSIDE)
    assert c.cmd(f"AUTH PLAIN {PLAIN_BAD}") == \
        b"535 5.7.8 Error: authentication failed: authentication failure"
    assert yubin.wait_log(r"smtpd\[\d+\]: warning: unknown\[127\.0\.0\.2\]: SASL PLAIN "
                          r"authentication failed: authentication failure")
    assert c.cmd("AUTH LOGIN") == b"334 VXNlcm5hbWU6"
    assert c.cmd("*") == b"501 5.7.0 Authentication aborted"
    assert c.cmd("AUTH CRAM-MD5") == b"504 5.5.4 Unsupported authentication mechanism"
    assert c.cmd("AUTH PLAIN !!!notbase64") == b"501 5.5.2 Cannot decode response"
    assert c.cmd("AUTH") == b"501 5.5.4 Syntax: AUTH mechanism"
    assert c.cmd("AUTH PLAIN =") == b"535 5.7.8 Error: authentication failed: " \
        b"authentication failure"
    # not authenticated: no relaying
    c.cmd("MAIL FROM:<a@example.net>")
    assert c.cmd("AUTH PLAIN " + PLAIN_ANN) == b"503 5.5.1 Error: MAIL transaction in progress"
    assert c.cmd("RCPT TO:<x@remote.example>") == \
        b"454 4.7.1 <x@remote.example>: Relay access denied"
    assert yubin.wait_log(r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.2\]: 454 4\.7\.1 "
                          r"<x@remote\.example>: Relay access denied; from=<a@example\.net> "
                          r"to=<x@remote\.example> proto=ESMTP helo=<client\.example\.net>")
    c.close()
    line = wait_for(lambda: [l for l in yubin.log().splitlines()
                             if "disconnect from unknown[127.0.0.2]" in l and "auth=" in l])
    assert line and " auth=0/7 " in line[-1], line


def test_auth_off_and_tls_only(yubin):
    port = tls_start(yubin, options=["smtpd_sasl_auth_enable=yes",
                                     "smtpd_tls_auth_only=yes"],
                     smtpd_tls_security_level="may")
    c = session(port)
    assert not any(k.startswith("AUTH") for k in keywords(c.cmd("EHLO x")))
    assert c.cmd(f"AUTH PLAIN {PLAIN_ANN}") == b"503 5.5.1 Error: authentication not enabled"
    c.close()
    with smtplib.SMTP("127.0.0.1", port) as s:
        s.starttls(context=client_context())
        s.ehlo()
        assert s.has_extn("auth")
        s.login("ann@example.com", "secret")


# --- relay control --------------------------------------------------------------

def authc(inst, *args):
    return subprocess.run([os.path.join(HELPERS, "authc_tool"), "-s",
                           os.path.join(inst.data, "authd.socket"), *args],
                          capture_output=True, text=True, timeout=30)


def test_relay_mynetworks_pbs_and_authd_down(yubin):
    # a second service whose authd cannot be reached
    down = yubin.add_service("smtpd", options=[
        "data_directory=" + os.path.join(yubin.base, "no-authd-here")])
    port = smtpd_start(yubin, users=USERS, mynetworks="127.0.0.1/32")
    # inside mynetworks
    c = session(port)
    c.cmd("MAIL FROM:<a@example.net>")
    assert c.cmd("RCPT TO:<x@remote.example>") == b"250 2.1.5 Ok"
    c.close()
    # outside: local mail yes, relaying no
    c = session(port, "127.0.0.3")
    c.cmd("MAIL FROM:<a@example.net>")
    assert c.cmd("RCPT TO:<ann@example.com>") == b"250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<x@remote.example>") == \
        b"454 4.7.1 <x@remote.example>: Relay access denied"
    c.close()
    # a POP-before-SMTP grant lets 127.0.0.3 relay
    r = authc(yubin, "pbs-grant", "127.0.0.3", "ann@example.com")
    assert r.returncode == 0, r.stdout + r.stderr
    c = session(port, "127.0.0.3")
    c.cmd("MAIL FROM:<ann@example.com>")
    assert c.cmd("RCPT TO:<x@remote.example>") == b"250 2.1.5 Ok"
    c.close()
    # authd down: could not tell is a 4xx, never a relay grant
    c = session(down, "127.0.0.3")
    c.cmd("MAIL FROM:<ann@example.com>")
    got = c.cmd("RCPT TO:<x@remote.example>")
    assert got == b"451 4.3.0 <x@remote.example>: Recipient address rejected: " \
        b"Temporary lookup failure", got
    c.close()
    assert yubin.wait_log(r"warning: unknown\[127\.0\.0\.3\]: permit_pop_before_smtp: "
                          r"authd: ")


def test_relay_restrictions_and_client_restrictions(yubin):
    port = smtpd_start(yubin, users=USERS, mynetworks="127.0.0.1/32",
                       smtpd_relay_restrictions="permit_mynetworks, reject_unauth_destination",
                       smtpd_client_restrictions="permit_mynetworks, reject")
    c = session(port, "127.0.0.4")
    c.cmd("MAIL FROM:<a@example.net>")
    # smtpd_delay_reject: the client restriction answers at RCPT
    assert c.cmd("RCPT TO:<ann@example.com>") == \
        b"554 5.7.1 <unknown[127.0.0.4]>: Client host rejected: Access denied"
    c.close()
    c = session(port)
    c.cmd("MAIL FROM:<a@example.net>")
    assert c.cmd("RCPT TO:<x@remote.example>") == b"250 2.1.5 Ok"
    c.close()


def test_client_restrictions_at_connect(yubin):
    port = smtpd_start(yubin, mynetworks="127.0.0.1/32", smtpd_delay_reject="no",
                       smtpd_client_restrictions="permit_mynetworks, reject")
    c = Raw(port, "127.0.0.5")
    assert c.reply() == b"554 5.7.1 <unknown[127.0.0.5]>: Client host rejected: Access denied"
    assert c.cmd("EHLO x") == b"503 5.7.0 Error: access denied for unknown[127.0.0.5]"
    assert c.cmd("QUIT") == b"221 2.0.0 Bye"
    assert yubin.wait_log(r"NOQUEUE: reject: CONNECT from unknown\[127\.0\.0\.5\]: 554 5\.7\.1")
    c = Raw(port)
    assert c.reply().startswith(b"220 ")
    c.close()


# --- swaks ------------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks is not installed")
def test_swaks(yubin):
    port = tls_start(yubin, smtpd_tls_security_level="may", smtpd_sasl_auth_enable="yes")
    base = ["swaks", "--server", f"127.0.0.1:{port}", "--helo", "swaks.example.net",
            "--from", "ann@example.com", "--timeout", "20"]
    r = subprocess.run(base + ["--to", "ann@example.com", "--pipeline"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and re.search(r"<[-~] +250 2\.0\.0 Ok: queued as ", r.stdout), r.stdout
    r = subprocess.run(base + ["--to", "x@remote.example", "--tls", "--auth", "PLAIN",
                               "--auth-user", "ann@example.com", "--auth-password",
                               "secret"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout
    assert "235 2.7.0 Authentication successful" in r.stdout
    assert re.search(r"250 2\.0\.0 Ok: queued as ", r.stdout)
    r = subprocess.run(base + ["--to", "ann@example.com", "--auth", "LOGIN", "--tls",
                               "--auth-user", "ann@example.com", "--auth-password",
                               "wrong"], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "535 5.7.8" in r.stdout, r.stdout


def test_submission_service_as_shipped(yubin):
    # conf/master.cf's submission line: its own -o settings over main.cf
    port = tls_start(yubin, options=[
        "syslog_name=yubin/submission", "smtpd_tls_security_level=encrypt",
        "smtpd_sasl_auth_enable=yes", "smtpd_tls_auth_only=yes",
        "smtpd_client_restrictions=permit_sasl_authenticated,reject"])
    with smtplib.SMTP("127.0.0.1", port, local_hostname="laptop") as s:
        s.starttls(context=client_context())
        s.ehlo("laptop")
        # not logged in: even local mail is refused
        s.mail("ann@example.com")
        code, msg = s.rcpt("ann@example.com")
        assert code == 554 and b"Client host rejected: Access denied" in msg
        s.rset()
        s.login("ann@example.com", "secret")
        assert s.sendmail("ann@example.com", ["friend@remote.example"],
                          b"Subject: out\r\n\r\nhi\r\n") == {}
    assert yubin.wait_log(r"yubin/submission/smtpd\[\d+\]: \w+: client=unknown\[127\.0\.0\.1\], "
                          r"sasl_method=PLAIN, sasl_username=ann@example\.com")
