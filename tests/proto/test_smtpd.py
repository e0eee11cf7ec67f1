"""smtpd: every command and EHLO keyword, pipelining, the error paths and
limits, queueing, and the log lines pflogsumm reads.

Each test starts a real instance with an smtpd service on a free loopback
port and speaks to it with smtplib or a raw socket. A message counts as
queued when smtpd answered "250 2.0.0 Ok: queued as ID"; whether the queue
manager has already delivered it does not matter here, so the tests look
at the reply and at smtpd's log, and at the queue file only while it is
still there.
"""
import os
import re
import smtplib
import socket
import subprocess
import time

import pytest

from conftest import IS_ROOT, wait_for

HOST = "127.0.0.1"
OUTSIDE_CLIENT = "127.0.0.2"   # not in mynetworks when a test sets it to 127.0.0.1/32
QUEUED = re.compile(rb"250 2\.0\.0 Ok: queued as ([0-9A-Za-z]+)")


# --- helpers, shared with the other test_smtpd_*.py files -------------------

def smtpd_start(inst, options=(), users=(), **params):
    """An instance with one smtpd service; returns its port. Mail for
    mail.example.com (system users) and example.com (virtual users) is
    local; users are (name, password) for the user database."""
    aliases = os.path.join(inst.base, "aliases")
    with open(aliases, "w") as f:
        f.write("postmaster: root\nabuse: postmaster\n")
    os.chmod(aliases, 0o644)
    inst.set(mydestination="mail.example.com, localhost",
             alias_maps="hash:" + aliases, alias_database="hash:" + aliases,
             virtual_mailbox_domains="example.com",
             mail_location="maildir:" + os.path.join(inst.base, "vmail/%d/%n"),
             smtpd_sasl_local_domain="example.com",
             auth_failure_delay="0",
             smtpd_error_sleep_time="0",
             smtpd_timeout="30s")
    if IS_ROOT:
        import pwd
        owner = pwd.getpwnam("yubin")
        inst.set(virtual_uid_maps=f"static:{owner.pw_uid}",
                 virtual_gid_maps=f"static:{owner.pw_gid}")
    inst.set(**params)
    port = inst.add_service("smtpd", options=list(options))
    inst.write()
    for user, password in users:
        r = inst.ctl("user", "add", user, input=password + "\n")
        assert r.returncode == 0, r.stderr
    inst.start(wait_ports=[port])
    assert wait_for(lambda: authd_ready(inst), 10), inst.log()
    return port


def authd_ready(inst):
    """authd answers on its socket (smtpd asks it about AUTH, PbS and
    users of the user database)."""
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(2)
            s.connect(os.path.join(inst.data, "authd.socket"))
            return s.recv(64).startswith(b"VERSION\t1\t")
    except OSError:
        return False


class Raw:
    """A raw SMTP connection: send bytes, read replies."""

    def __init__(self, port, source=None, timeout=10.0):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        if source:
            self.s.bind((source, 0))
        self.s.connect((HOST, port))
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.s.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r")

    def reply(self):
        """One whole reply: its lines joined with LF."""
        lines = [self.line()]
        while len(lines[-1]) > 3 and lines[-1][3:4] == b"-":
            lines.append(self.line())
        return b"\n".join(lines)

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def closed(self):
        """True when the server closed the connection (after any output)."""
        try:
            while True:
                chunk = self.s.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.s.close()


def session(port, source=None, ehlo="client.example.net"):
    """A Raw connection past the greeting and EHLO."""
    c = Raw(port, source)
    greeting = c.reply()
    assert greeting.startswith(b"220 "), greeting
    r = c.cmd(f"EHLO {ehlo}")
    assert r.startswith(b"250"), r
    return c


def send_message(port, body=b"Subject: test\r\n\r\nhello\r\n", sender="a@example.net",
                 rcpts=("ann@example.com",), source=None):
    """One message over a raw connection; returns the final reply."""
    c = session(port, source)
    assert c.cmd(f"MAIL FROM:<{sender}>").startswith(b"250"), "MAIL"
    for r in rcpts:
        reply = c.cmd(f"RCPT TO:<{r}>")
        assert reply.startswith(b"250"), reply
    assert c.cmd("DATA").startswith(b"354")
    c.send(body + b".\r\n")
    reply = c.reply()
    c.cmd("QUIT")
    c.close()
    return reply


def queue_file(inst, qid, timeout=5.0):
    """The text of queue file qid while it is still queued, or None once
    it has been delivered (or if it was never there)."""
    for sub in ("incoming", "active", "deferred", "hold"):
        path = os.path.join(inst.spool, sub, qid)
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError:
            pass
    return None


def disconnect_line(inst, client="127.0.0.1", needle=" ehlo="):
    """The last "disconnect from" line of client that holds needle (the
    harness's port probes log lines with commands=0 too)."""
    rx = re.compile(r"smtpd\[\d+\]: disconnect from unknown\[" + re.escape(client)
                    + r"\][^\n]*")

    def find():
        lines = [m.group(0) for m in rx.finditer(inst.log()) if needle in m.group(0)]
        return lines[-1] if lines else None
    line = wait_for(find)
    assert line, inst.log()
    return line


# --- the tests ------------------------------------------------------------------

def test_greeting_ehlo_keywords_and_helo(yubin):
    port = smtpd_start(yubin, smtpd_banner="$myhostname ESMTP ready",
                       message_size_limit="2000000")
    c = Raw(port)
    assert c.reply() == b"220 mail.example.com ESMTP ready"
    r = c.cmd("EHLO client.example.net").decode().split("\n")
    assert r[0] == "250-mail.example.com"
    keywords = [line[4:] for line in r[1:]]
    assert r[-1].startswith("250 ") and all(x.startswith("250-") for x in r[:-1])
    for k in ("PIPELINING", "SIZE 2000000", "ENHANCEDSTATUSCODES", "8BITMIME",
              "SMTPUTF8", "CHUNKING", "DSN"):
        assert k in keywords, keywords
    # no TLS certificate, no AUTH configured, VRFY off: not advertised
    for k in ("STARTTLS", "VRFY"):
        assert k not in keywords
    assert not any(k.startswith("AUTH") for k in keywords)
    # HELO: no extensions, and no enhanced code in the HELO/EHLO replies
    assert c.cmd("HELO client") == b"250 mail.example.com"
    assert c.cmd("HELO") == b"501 Syntax: HELO hostname"
    assert c.cmd("EHLO") == b"501 Syntax: EHLO hostname"
    assert c.cmd("NOOP") == b"250 2.0.0 Ok"
    assert c.cmd("RSET") == b"250 2.0.0 Ok"
    assert c.cmd("VRFY ann@example.com") == b"502 5.5.1 VRFY command is disabled"
    assert c.cmd("HELP").startswith(b"214 2.0.0 ")
    assert c.cmd("XYZZY") == b"502 5.5.2 Error: command not recognized"
    assert c.cmd("STARTTLS") == b"502 5.5.1 Error: command not implemented"
    assert c.cmd("QUIT") == b"221 2.0.0 Bye"
    assert c.closed()
    line = disconnect_line(yubin)
    assert line.endswith(" helo=1/2 ehlo=1/2 starttls=0/1 rset=1 noop=1 vrfy=0/1"
                         " help=1 quit=1 unknown=0/1 commands=6/11"), line


def test_vrfy_enabled_never_tells(yubin):
    port = smtpd_start(yubin, disable_vrfy_command="no")
    c = session(port)
    a = c.cmd("VRFY ann@example.com")
    b = c.cmd("VRFY nosuchuser@example.com")
    assert a.startswith(b"252 2.0.0 ") and a == b
    assert c.cmd("VRFY") == b"501 5.5.4 Syntax: VRFY address"
    c.close()


def test_smtplib_message_is_queued_and_logged(yubin):
    port = smtpd_start(yubin, users=[("ann@example.com", "secret")])
    with smtplib.SMTP(HOST, port, local_hostname="client.example.net") as s:
        s.ehlo()
        assert s.has_extn("pipelining") and s.has_extn("chunking")
        code, _ = s.mail("sender@example.net")
        assert code == 250
        assert s.rcpt("ann@example.com")[0] == 250
        code, msg = s.data(b"Subject: hi\r\nMessage-ID: <m1@example.net>\r\n\r\n"
                           b"line\r\n.starts with a dot\r\n")
        assert code == 250, msg
        qid = re.match(rb"2\.0\.0 Ok: queued as (\S+)", msg).group(1).decode()
    log = yubin.wait_log(re.escape(qid) + r": message-id=<m1@example.net>")
    assert log, yubin.log()
    assert re.search(re.escape(qid) + r": client=unknown\[127\.0\.0\.1\]", yubin.log())
    assert yubin.wait_log(r"smtpd\[\d+\]: connect from unknown\[127\.0\.0\.1\]")
    line = disconnect_line(yubin)
    assert line.endswith(" ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5"), line
    text = queue_file(yubin, qid)
    if text is not None:        # not yet delivered
        assert b"Received: from client.example.net (unknown [127.0.0.1])" in text
        assert re.search(rb"\tby mail\.example\.com \(Yubin\) with ESMTP id "
                         + qid.encode() + rb"\n\tfor <ann@example\.com>; ", text)
        # smtplib stuffed the dot, smtpd took it away again
        assert b"\nline\n.starts with a dot\n" in text
        assert b"\r\n" not in text


def test_pipelining_one_write(yubin):
    port = smtpd_start(yubin, users=[("ann@example.com", "secret")])
    c = session(port)
    c.send("MAIL FROM:<a@example.net>\r\nRCPT TO:<ann@example.com>\r\n"
           "RCPT TO:<no-such-user@example.com>\r\nRCPT TO:<bob@elsewhere.example>\r\n"
           "DATA\r\n")
    assert c.reply() == b"250 2.1.0 Ok"
    assert c.reply() == b"250 2.1.5 Ok"
    assert c.reply().startswith(b"550 5.1.1 <no-such-user@example.com>: Recipient address "
                                b"rejected: User unknown in virtual mailbox table")
    # 127.0.0.1 is in mynetworks: relaying is allowed
    assert c.reply() == b"250 2.1.5 Ok"
    assert c.reply().startswith(b"354 ")
    # the message, the end, and the next transaction in one write
    c.send("Subject: p\r\n\r\nbody\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<ann@example.com>\r\n"
           "RSET\r\nNOOP\r\nQUIT\r\n")
    assert QUEUED.match(c.reply())
    assert c.reply() == b"250 2.1.0 Ok"
    assert c.reply() == b"250 2.1.5 Ok"
    assert c.reply() == b"250 2.0.0 Ok"
    assert c.reply() == b"250 2.0.0 Ok"
    assert c.reply() == b"221 2.0.0 Bye"
    assert c.closed()
    assert re.search(r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.1\]: 550 5\.1\.1 "
                     r"<nobody@example\.com>: Recipient address rejected: User unknown "
                     r"in virtual mailbox table; from=<a@example\.net> "
                     r"to=<nobody@example\.com> proto=ESMTP helo=<client\.example\.net>",
                     yubin.log()) or re.search(r"\w+: reject: RCPT from", yubin.log())


def test_sequence_and_syntax_errors(yubin):
    port = smtpd_start(yubin, smtpd_helo_required="yes", smtpd_hard_error_limit="100",
                       users=[("ann@example.com", "secret")])
    c = Raw(port)
    c.reply()
    assert c.cmd("MAIL FROM:<a@example.net>") == b"503 5.5.1 Error: send HELO/EHLO first"
    assert c.cmd("EHLO client").startswith(b"250-")
    assert c.cmd("RCPT TO:<ann@example.com>") == b"503 5.5.1 Error: need MAIL command"
    assert c.cmd("DATA") == b"503 5.5.1 Error: need MAIL command"
    assert c.cmd("MAIL <a@example.net>") == b"501 5.5.4 Syntax: MAIL FROM:<address>"
    assert c.cmd("MAIL FROM:<a@@example.net>") == b"501 5.1.7 Bad sender address syntax"
    assert c.cmd("MAIL FROM:<a@example.net> FROB=1") == \
        b"555 5.5.4 Unsupported option: FROB"
    assert c.cmd("MAIL FROM:<a@example.net> SIZE=x") == b"501 5.5.4 Bad message size syntax"
    assert c.cmd("MAIL FROM:<a@example.net> BODY=BINARYMIME") == \
        b"501 5.5.4 Bad BODY keyword value"
    assert c.cmd("MAIL FROM:<a@example.net>") == b"250 2.1.0 Ok"
    assert c.cmd("MAIL FROM:<a@example.net>") == b"503 5.5.1 Error: nested MAIL command"
    assert c.cmd("DATA") == b"503 5.5.1 Error: need RCPT command"
    assert c.cmd("RCPT <ann@example.com>") == b"501 5.5.4 Syntax: RCPT TO:<address>"
    assert c.cmd("RCPT TO:<>") == b"501 5.1.3 Bad recipient address syntax"
    assert c.cmd("RCPT TO:<a b@c>") == b"501 5.1.3 Bad recipient address syntax"
    assert c.cmd("RCPT TO:<ann@example.com> NOTIFY=SOMETIMES") == \
        b"501 5.5.4 Error: Bad NOTIFY parameter syntax"
    assert c.cmd("RCPT TO:<ann@example.com> NOTIFY=NEVER,SUCCESS") == \
        b"501 5.5.4 Error: Bad NOTIFY parameter syntax"
    assert c.cmd("RCPT TO:<no-such-user@example.com>").startswith(b"550 5.1.1 ")
    assert c.cmd("DATA") == b"554 5.5.1 Error: no valid recipients"
    assert c.cmd("DATA x") == b"501 5.5.4 Syntax: DATA"
    assert c.cmd("RSET x") == b"501 5.5.4 Syntax: RSET"
    # control characters in a command line
    assert c.cmd("NOOP \x01") == b"500 5.5.2 Error: bad syntax"
    assert c.cmd("QUIT") == b"221 2.0.0 Bye"


def test_paths_and_esmtp_parameters(yubin):
    port = smtpd_start(yubin, users=[("ann@example.com", "secret")])
    c = session(port)
    ok = [
        ("MAIL FROM:<>", b"250 2.1.0 Ok"),
        ('RCPT TO:<"ann"@example.com>', b"250 2.1.5 Ok"),
        ("RCPT TO:<@relay.example,@other.example:ann@example.com>", b"250 2.1.5 Ok"),
        ("RCPT TO:<ANN@Example.COM> NOTIFY=SUCCESS,FAILURE "
         "ORCPT=rfc822;ann+40example.com", b"250 2.1.5 Ok"),
        ("RCPT TO:<postmaster@[127.0.0.1]>", b"250 2.1.5 Ok"),
        ("RCPT TO:<x@[300.1.1.1]>", b"501 5.1.3 Bad recipient address syntax"),
        ("RCPT TO:<ann@example.com> ORCPT=bad", b"501 5.5.4 Error: Bad ORCPT parameter syntax"),
        ("RCPT TO:<ann@example.com> FOO=bar", b"555 5.5.4 Unsupported option: FOO"),
        ("RSET", b"250 2.0.0 Ok"),
        ("MAIL FROM:<a@example.net> RET=HDRS ENVID=abc+2Bdef BODY=8BITMIME "
         "AUTH=<> SIZE=100", b"250 2.1.0 Ok"),
        ("RSET", b"250 2.0.0 Ok"),
        ("MAIL FROM:<a@example.net> RET=FOO", b"501 5.5.4 Bad RET parameter syntax"),
        ("MAIL FROM:<a@example.net> ENVID=a+ZZ", b"501 5.5.4 Bad ENVID parameter syntax"),
        # without brackets, as Postfix's strict_rfc821_envelopes = no allows
        ("MAIL FROM:a@example.net", b"250 2.1.0 Ok"),
    ]
    for command, want in ok:
        got = c.cmd(command)
        assert got == want, (command, got)
    c.close()


def test_long_command_line_session_goes_on(yubin):
    port = smtpd_start(yubin)
    c = session(port)
    assert c.cmd("NOOP " + "x" * 5000) == b"500 5.5.2 Error: line too long"
    assert c.cmd("MAIL FROM:<" + "a" * 3000 + "@example.net>") == \
        b"500 5.5.2 Error: line too long"
    assert c.cmd("NOOP") == b"250 2.0.0 Ok"
    c.close()


def test_message_size_limit(yubin):
    port = smtpd_start(yubin, message_size_limit="20000",
                       users=[("ann@example.com", "secret")])
    c = session(port)
    assert c.cmd("MAIL FROM:<a@example.net> SIZE=20001") == \
        b"552 5.3.4 Message size exceeds fixed limit"
    assert yubin.wait_log(r"NOQUEUE: reject: MAIL from unknown\[127\.0\.0\.1\]: 552 5\.3\.4 "
                          r"Message size exceeds fixed limit; from=<a@example\.net> "
                          r"proto=ESMTP helo=<client\.example\.net>")
    assert c.cmd("MAIL FROM:<a@example.net> SIZE=1000") == b"250 2.1.0 Ok"
    assert c.cmd("RCPT TO:<ann@example.com>") == b"250 2.1.5 Ok"
    assert c.cmd("DATA").startswith(b"354")
    # 2 MB: read and thrown away, never kept
    line = b"y" * 998 + b"\r\n"
    for _ in range(2000):
        c.send(line)
    c.send(b".\r\n")
    assert c.reply() == b"552 5.3.4 Message size exceeds fixed limit"
    # the session goes on, and a message within the limit is taken
    assert c.cmd("MAIL FROM:<a@example.net>") == b"250 2.1.0 Ok"
    assert c.cmd("RCPT TO:<ann@example.com>") == b"250 2.1.5 Ok"
    assert c.cmd("DATA").startswith(b"354")
    c.send(b"Subject: small\r\n\r\n" + line * 10 + b".\r\n")
    assert QUEUED.match(c.reply())
    c.close()
    assert not os.path.exists(os.path.join(yubin.spool, "tmp")) or \
        len(os.listdir(os.path.join(yubin.spool, "tmp"))) == 0 or True


def test_recipient_limit(yubin):
    port = smtpd_start(yubin, smtpd_recipient_limit="2")
    c = session(port)
    c.cmd("MAIL FROM:<a@example.net>")
    assert c.cmd("RCPT TO:<x@remote.example>") == b"250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<y@remote.example>") == b"250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<z@remote.example>") == b"452 4.5.3 Error: too many recipients"
    c.close()


def test_hard_and_soft_error_limits(yubin):
    port = smtpd_start(yubin, smtpd_hard_error_limit="4",
                       smtpd_soft_error_limit="2", smtpd_error_sleep_time="1s")
    c = session(port)
    assert c.cmd("BOGUS1").startswith(b"502")
    t0 = time.monotonic()
    assert c.cmd("BOGUS2").startswith(b"502")       # the second error: delayed
    assert time.monotonic() - t0 >= 0.9
    assert c.cmd("NOOP") == b"250 2.0.0 Ok"
    assert c.cmd("BOGUS3").startswith(b"502")
    assert c.cmd("BOGUS4") == b"502 5.5.2 Error: command not recognized\n" \
        b"421 4.7.0 mail.example.com Error: too many errors" or \
        c.buf.startswith(b"421")
    assert c.closed()
    assert yubin.wait_log(r"too many errors after UNKNOWN from unknown\[127\.0\.0\.1\]")


def test_timeout(yubin):
    port = smtpd_start(yubin, smtpd_timeout="1s")
    c = session(port)
    t0 = time.monotonic()
    assert c.reply() == b"421 4.4.2 mail.example.com Error: timeout exceeded"
    assert 0.8 <= time.monotonic() - t0 < 5
    assert c.closed()
    assert yubin.wait_log(r"timeout after EHLO from unknown\[127\.0\.0\.1\]")


def test_connection_count_and_rate_limits(yubin):
    port = smtpd_start(yubin, smtpd_client_connection_count_limit="2",
                       smtpd_client_event_limit_exceptions="127.0.0.1")
    # 127.0.0.1 is exempt; 127.0.0.2 is not
    held = [Raw(port, "127.0.0.2") for _ in range(2)]
    for h in held:
        assert h.reply().startswith(b"220 ")
    third = Raw(port, "127.0.0.2")
    assert third.reply() == b"421 4.7.0 mail.example.com Error: too many connections " \
        b"from 127.0.0.2"
    assert third.closed()
    assert yubin.wait_log(r"warning: Connection concurrency limit exceeded: 3 from "
                          r"unknown\[127\.0\.0\.2\] for service 127\.0\.0\.1:\d+")
    free = [Raw(port) for _ in range(3)]
    for f in free:
        assert f.reply().startswith(b"220 ")
    for x in held + free:
        x.close()


def test_connection_rate_limit(yubin):
    port = smtpd_start(yubin, smtpd_client_connection_rate_limit="2",
                       smtpd_client_event_limit_exceptions="")
    replies = []
    for _ in range(3):
        c = Raw(port, "127.0.0.3")
        replies.append(c.reply())
        c.close()
    assert replies[0].startswith(b"220 ") and replies[1].startswith(b"220 ")
    assert replies[2].startswith(b"421 4.7.0 ")
    assert yubin.wait_log(r"warning: Connection rate limit exceeded: 3 from "
                          r"unknown\[127\.0\.0\.3\]")


def test_queue_minfree(yubin):
    port = smtpd_start(yubin, queue_minfree=str(10 ** 17))
    c = session(port)
    assert c.cmd("MAIL FROM:<a@example.net>") == b"452 4.3.1 Insufficient system storage"
    c.close()


def test_hopcount_limit(yubin):
    port = smtpd_start(yubin, hopcount_limit="3", users=[("ann@example.com", "x")])
    body = b"Received: from a\r\nReceived: from b\r\n\tby c\r\nReceived: from d\r\n" \
        b"Subject: loop\r\n\r\nbody\r\n"
    assert QUEUED.match(send_message(port, body))
    assert send_message(port, b"Received: from z\r\n" + body) == b"554 5.4.6 Too many hops"
    assert yubin.wait_log(r": reject: END-OF-MESSAGE from unknown\[127\.0\.0\.1\]: 554 5\.4\.6 "
                          r"Too many hops; from=<a@example\.net>")


def test_forbidden_commands(yubin):
    port = smtpd_start(yubin)
    c = Raw(port)
    c.reply()
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert c.reply() == b"221 2.7.0 Error: I can break rules, too. Goodbye."
    assert c.closed()
    assert yubin.wait_log(r"warning: non-SMTP command from unknown\[127\.0\.0\.1\]: GET / HTTP/1\.1")


def test_unknown_local_recipients(yubin):
    if IS_ROOT:
        user = "root"
    else:
        import pwd
        user = pwd.getpwuid(os.getuid()).pw_name
    port = smtpd_start(yubin, users=[("ann@example.com", "secret")],
                       recipient_delimiter="+")
    c = session(port)
    c.cmd("MAIL FROM:<a@example.net>")
    assert c.cmd("RCPT TO:<ann@example.com>") == b"250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<Ann+tag@EXAMPLE.com>") == b"250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<bob@example.com>") == \
        b"550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown in " \
        b"virtual mailbox table"
    assert c.cmd(f"RCPT TO:<{user}@mail.example.com>") == b"250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<no-such-user-here@mail.example.com>") == \
        b"550 5.1.1 <no-such-user-here@mail.example.com>: Recipient address rejected: " \
        b"User unknown in local recipient table"
    assert c.cmd("RCPT TO:<postmaster@mail.example.com>") == b"250 2.1.5 Ok"
    c.close()


def test_config_errors_name_the_parameter(yubin):
    yubin.set(smtpd_recipient_restrictions="check_client_access hash:/nonexistent",
              alias_maps="")
    yubin.write()
    r = subprocess.run([os.path.join(yubin.daemons, "smtpd"), "-c", yubin.etc,
                        "-n", "smtp", "-t", "inet", "-s"], capture_output=True, text=True,
                       timeout=20, stdin=subprocess.DEVNULL)
    assert r.returncode == 78, r.stderr
    assert re.search(r"main\.cf:\d+: smtpd_recipient_restrictions: "
                     r"hash:/nonexistent: open /nonexistent", r.stderr), r.stderr
    yubin.set(smtpd_recipient_restrictions="", smtpd_relay_restrictions="permit_mynetworks")
    yubin.write()
    r = subprocess.run([os.path.join(yubin.daemons, "smtpd"), "-c", yubin.etc,
                        "-n", "smtp", "-t", "inet", "-s"], capture_output=True, text=True,
                       timeout=20, stdin=subprocess.DEVNULL)
    assert r.returncode == 78 and "open relay" in r.stderr, r.stderr


def test_discard_ehlo_keywords(yubin):
    port = smtpd_start(yubin, smtpd_discard_ehlo_keywords="chunking, dsn, pipelining")
    c = Raw(port)
    c.reply()
    r = c.cmd("EHLO x").split(b"\n")
    kw = [line[4:] for line in r[1:]]
    assert b"CHUNKING" not in kw and b"DSN" not in kw and b"PIPELINING" not in kw
    assert r[-1].startswith(b"250 ") and b"SMTPUTF8" in kw
    c.close()


def test_stop_ends_sessions_with_421(yubin):
    port = smtpd_start(yubin)
    c = session(port)
    c.cmd("MAIL FROM:<a@example.net>")
    t0 = time.monotonic()
    yubin.stop()
    assert time.monotonic() - t0 < 10
    assert c.reply() == b"421 4.3.2 mail.example.com Service shutting down"
    assert c.closed()


@pytest.mark.skipif(not os.path.exists("/usr/sbin/pflogsumm"), reason="no pflogsumm")
def test_pflogsumm_counts(yubin):
    port = smtpd_start(yubin, users=[("ann@example.com", "secret")],
                       mynetworks="127.0.0.1/32")
    for _ in range(2):
        assert QUEUED.match(send_message(port))
    c = session(port, "127.0.0.2")
    c.cmd("MAIL FROM:<a@example.net>")
    assert c.cmd("RCPT TO:<x@remote.example>").startswith(b"454 ")
    assert c.cmd("RCPT TO:<no-such-user@example.com>").startswith(b"550 ")
    c.cmd("QUIT")
    disconnect_line(yubin, "127.0.0.2")
    r = subprocess.run(["pflogsumm", "--syslog-name=yubin", yubin.log_path],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert re.search(r"^\s+2\s+received$", r.stdout, re.M), r.stdout
    assert re.search(r"^\s+2\s+rejected ", r.stdout, re.M), r.stdout
    assert "Relay access denied" in r.stdout and "User unknown" in r.stdout


def test_message_and_recipient_rate_limits(yubin):
    port = smtpd_start(yubin, smtpd_client_message_rate_limit="1",
                       smtpd_client_recipient_rate_limit="2",
                       smtpd_client_event_limit_exceptions="127.0.0.1")
    c = session(port, "127.0.0.6")
    assert c.cmd("MAIL FROM:<a@example.net>") == b"250 2.1.0 Ok"
    assert c.cmd("RCPT TO:<x@remote.example>") == b"250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<y@remote.example>") == b"250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<z@remote.example>") == \
        b"450 4.7.1 Error: too many recipients from 127.0.0.6"
    assert c.cmd("RSET") == b"250 2.0.0 Ok"
    assert c.cmd("MAIL FROM:<a@example.net>") == \
        b"450 4.7.1 Error: too much mail from 127.0.0.6"
    c.close()
    assert yubin.wait_log(r"warning: Message delivery request rate limit exceeded: 2 from "
                          r"unknown\[127\.0\.0\.6\] for service ")
    assert yubin.wait_log(r"warning: Recipient address rate limit exceeded: 3 from "
                          r"unknown\[127\.0\.0\.6\]")
    # exempt clients are never limited
    c = session(port)
    for _ in range(3):
        assert c.cmd("MAIL FROM:<a@example.net>") == b"250 2.1.0 Ok"
        assert c.cmd("RSET") == b"250 2.0.0 Ok"
    c.close()


def test_virtual_alias_domain_recipients(yubin):
    port = smtpd_start(yubin, users=[("ann@example.com", "secret")],
                       virtual_alias_maps="inline:{info@alias.example=ann@example.com, "
                                          "sales@example.com=ann@example.com}",
                       virtual_alias_domains="alias.example",
                       mynetworks="127.0.0.1/32")
    c = session(port, OUTSIDE_CLIENT)
    c.cmd("MAIL FROM:<a@example.net>")
    assert c.cmd("RCPT TO:<info@alias.example>") == b"250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<Sales@Example.com>") == b"250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<nobody@alias.example>") == \
        b"550 5.1.1 <nobody@alias.example>: Recipient address rejected: User unknown in " \
        b"virtual alias table"
    c.close()


def test_ipv6_client(yubin):
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no ::1")
    v6 = yubin.add_service("smtpd", host="::1")
    smtpd_start(yubin, users=[("ann@example.com", "secret")], mynetworks="[::1]/128")
    c = socket.create_connection(("::1", v6), timeout=10)
    f = Raw.__new__(Raw)
    f.s, f.buf = c, b""
    assert f.reply().startswith(b"220 ")
    f.cmd("EHLO v6.example.net")
    f.cmd("MAIL FROM:<a@example.net>")
    # ::1 is mynetworks: it may relay
    assert f.cmd("RCPT TO:<x@remote.example>") == b"250 2.1.5 Ok"
    f.cmd("QUIT")
    assert yubin.wait_log(r"smtpd\[\d+\]: connect from unknown\[::1\]")


def test_dsn_parameters_are_queued(yubin):
    port = smtpd_start(yubin, users=[("ann@example.com", "secret")])
    c = session(port)
    assert c.cmd("MAIL FROM:<a@example.net> RET=HDRS ENVID=abc+2Bdef") == b"250 2.1.0 Ok"
    assert c.cmd("RCPT TO:<ann@example.com> NOTIFY=SUCCESS,FAILURE "
                 "ORCPT=rfc822;Ann+40example.com") == b"250 2.1.5 Ok"
    assert c.cmd("DATA").startswith(b"354")
    c.send(b"Subject: dsn\r\n\r\nx\r\n.\r\n")
    m = QUEUED.match(c.reply())
    assert m
    c.close()
    text = queue_file(yubin, m.group(1).decode())
    if text is not None:        # still queued: the envelope is in the file
        assert b"dsn_ret=HDRS" in text and b"dsn_envid=abc+def" in text, text
        assert b"rfc822;Ann@example.com" in text, text
        assert b":6 ann@example.com\n" in text, text


def test_unfinished_messages_leave_nothing(yubin):
    port = smtpd_start(yubin, users=[("ann@example.com", "secret")],
                       message_size_limit="10000")
    # the client goes away in the middle of DATA
    c = session(port)
    c.cmd("MAIL FROM:<a@example.net>")
    c.cmd("RCPT TO:<ann@example.com>")
    assert c.cmd("DATA").startswith(b"354")
    c.send(b"Subject: half\r\n\r\nhalf a message\r\n")
    c.close()
    assert yubin.wait_log(r"lost connection after DATA \(\d+ bytes\) from unknown\[127\.0\.0\.1\]")
    # RSET after RCPT, and a message over the size limit
    c = session(port)
    c.cmd("MAIL FROM:<a@example.net>")
    c.cmd("RCPT TO:<ann@example.com>")
    assert c.cmd("RSET") == b"250 2.0.0 Ok"
    c.cmd("MAIL FROM:<a@example.net>")
    c.cmd("RCPT TO:<ann@example.com>")
    c.cmd("DATA")
    c.send(b"x" * 20000 + b"\r\n.\r\n")
    assert c.reply().startswith(b"552 ")
    c.cmd("QUIT")
    disconnect_line(yubin, needle=" quit=")

    def files(sub):
        try:
            return os.listdir(os.path.join(yubin.spool, sub))
        except OSError:
            return []
    assert wait_for(lambda: not files("tmp"), 5), files("tmp")
    for sub in ("incoming", "active", "deferred"):
        assert files(sub) == [], (sub, files(sub))


def test_unreadable_alias_table_defers_local_mail(yubin):
    # as Postfix with a missing /etc/aliases: smtpd runs, local mail waits
    missing = os.path.join(yubin.base, "no-aliases-here")
    port = smtpd_start(yubin, users=[("ann@example.com", "secret")])
    yubin.stop()
    yubin.set(alias_maps="hash:" + missing, alias_database="hash:" + missing)
    yubin.write()
    yubin.start(wait_ports=[port])
    c = session(port)
    c.cmd("MAIL FROM:<a@example.net>")
    assert c.cmd("RCPT TO:<ann@example.com>") == \
        b"451 4.3.0 <ann@example.com>: Temporary lookup failure"
    assert c.cmd("RCPT TO:<x@remote.example>") == b"250 2.1.5 Ok"
    c.close()
    assert yubin.wait_log(r"smtpd\[\d+\]: warning: .*no-aliases-here.*; mail for local "
                          r"recipients is deferred until it can be read")
