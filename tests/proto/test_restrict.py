"""The restriction language end to end: access tables (hash:, regexp:,
pcre:, sqlite:) and their answers, restriction classes, warn_if_reject,
the actions kept for a message (HOLD, DISCARD, REDIRECT, PREPEND),
header_checks and body_checks, data and end-of-data restrictions,
check_policy_service (Postfix's policy delegation protocol, over inet: and
unix:, a service that is down or silent), configuration errors, and
yubinctl map check.

Each test starts an instance with one smtpd service (test_smtpd's
smtpd_start) and talks to it over a raw socket; messages that must be
inspected are put on hold so that their queue file stays in hold/.
"""
import os
import re
import socket
import sqlite3
import subprocess
import threading

from conftest import wait_for
from test_smtpd import Raw, session, smtpd_start

QUEUED = re.compile(rb"250 2\.0\.0 Ok: queued as (\S+)")


def write(inst, name, text):
    path = os.path.join(inst.base, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)
    return path


def send(port, sender, rcpts, body, source=None, helo="client.example.net"):
    """MAIL, RCPTs (each must be taken), DATA; the final reply."""
    c = session(port, source, helo)
    assert c.cmd(f"MAIL FROM:<{sender}>").startswith(b"250")
    for r in rcpts:
        reply = c.cmd(f"RCPT TO:<{r}>")
        assert reply.startswith(b"250"), reply
    assert c.cmd("DATA").startswith(b"354")
    c.send(body.replace(b"\n", b"\r\n") + b".\r\n")
    reply = c.reply()
    c.cmd("QUIT")
    c.close()
    return reply


def held(inst, reply):
    """The text of the queue file a 250 reply named, from hold/."""
    m = QUEUED.match(reply)
    assert m, reply
    path = os.path.join(inst.spool, "hold", m.group(1).decode())
    assert wait_for(lambda: os.path.exists(path), 5), inst.log()
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def test_access_tables_classes_and_actions(yubin):
    access = write(yubin, "access", """\
# sender access
spammer@example.org       REJECT go away
example.net               550 5.7.2 not from there
friend@example.org        friends
redirector@example.org    REDIRECT abuse@mail.example.com
prepender@example.org     PREPEND X-Access: prepended
discarder@example.org     DISCARD
""")
    rcpt = write(yubin, "rcpt.pcre", "/^bounce\\+(.*)@/ 550 5.1.1 no such list $1\n")
    db = os.path.join(yubin.base, "clients.sqlite")
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE c (ip TEXT, action TEXT)")
        con.execute("INSERT INTO c VALUES ('127.0.0.3', 'HOLD'), "
                    "('127.0.0.4', 'REJECT 5.7.1 listed in sqlite')")
    os.chmod(db, 0o644)
    query = write(yubin, "clients.cf", f"dbpath = {db}\n"
                  "query = SELECT action FROM c WHERE ip = '%s'\n")
    port = smtpd_start(
        yubin, mynetworks="127.0.0.1/32",
        smtpd_restriction_classes="friends",
        friends="permit",
        smtpd_client_restrictions=f"check_client_access sqlite:{query}",
        smtpd_sender_restrictions=f"check_sender_access hash:{access}, "
                                  "reject_non_fqdn_sender",
        smtpd_recipient_restrictions=f"check_recipient_access pcre:{rcpt}, "
                                     "warn_if_reject reject_non_fqdn_recipient, "
                                     "permit_mynetworks, reject_unauth_destination")
    c = session(port, "127.0.0.2")
    # REJECT text, NNN with an enhanced code (sender class)
    c.cmd("MAIL FROM:<spammer@example.org>")
    assert c.cmd("RCPT TO:<root@mail.example.com>") == \
        b"554 5.7.1 <spammer@example.org>: Sender address rejected: go away"
    c.cmd("RSET")
    c.cmd("MAIL FROM:<someone@sub.example.net>")
    assert c.cmd("RCPT TO:<root@mail.example.com>") == \
        b"550 5.7.2 <someone@sub.example.net>: Sender address rejected: not from there"
    c.cmd("RSET")
    # a class as the answer ends the sender list (reject_non_fqdn_sender
    # would refuse friend@example.org... it does not get the chance only
    # because the class permits)
    c.cmd("MAIL FROM:<friend@example.org>")
    assert c.cmd("RCPT TO:<root@mail.example.com>") == b"250 2.1.5 Ok"
    # pcre: with $1; then warn_if_reject only logs
    assert c.cmd("RCPT TO:<bounce+list@mail.example.com>") == \
        b"550 5.1.1 <bounce+list@mail.example.com>: Recipient address rejected: " \
        b"no such list list"
    assert c.cmd("RCPT TO:<postmaster@localhost>") == b"250 2.1.5 Ok"
    c.close()
    assert yubin.wait_log(r": reject_warning: RCPT from unknown\[127\.0\.0\.2\]: "
                          r"504 5\.5\.2 <postmaster@localhost>: Recipient address "
                          r"rejected: need fully-qualified address; "
                          r"from=<friend@example\.org>")
    # sqlite: client table
    c = session(port, "127.0.0.4")
    c.cmd("MAIL FROM:<friend@example.org>")
    assert c.cmd("RCPT TO:<root@mail.example.com>") == \
        b"554 5.7.1 <unknown[127.0.0.4]>: Client host rejected: listed in sqlite"
    c.close()
    # HOLD (sqlite client table) with REDIRECT and PREPEND (sender table)
    body = b"Subject: x\n\nhello\n"
    data = held(yubin, send(port, "redirector@example.org",
                            ["root@mail.example.com", "postmaster"], body,
                            source="127.0.0.3"))
    rcpts = re.findall(r"(?m)^R\d+:\S+ (.+)$", data)
    assert rcpts == ["abuse@mail.example.com"], data
    assert re.search(r"(?m)^O\d+:rfc822;root@mail\.example\.com$", data) or \
        "rfc822;root@mail.example.com" in data, data
    assert "A" in data and "hold=<unknown[127.0.0.3]>: Client host triggers HOLD " \
        "action" in data, data
    data = held(yubin, send(port, "prepender@example.org",
                            ["root@mail.example.com"], body, source="127.0.0.3"))
    assert re.search(r"(?m)^C\d+:X-Access: prepended\nReceived: from ", data), data
    assert yubin.wait_log(r"NOQUEUE: redirect: RCPT from unknown\[127\.0\.0\.3\]: "
                          r"<redirector@example\.org>: Sender address triggers "
                          r"REDIRECT abuse@mail\.example\.com")
    # DISCARD: accepted, then nothing is kept
    reply = send(port, "discarder@example.org", ["root@mail.example.com"], body,
                 source="127.0.0.2")
    m = QUEUED.match(reply)
    assert m, reply
    qid = m.group(1).decode()
    for sub in ("incoming", "active", "deferred", "hold"):
        assert not os.path.exists(os.path.join(yubin.spool, sub, qid))
    assert yubin.wait_log(r"NOQUEUE: discard: RCPT from unknown\[127\.0\.0\.2\]: "
                          r"<discarder@example\.org>: Sender address triggers "
                          r"DISCARD action")


def test_header_and_body_checks(yubin):
    headers = write(yubin, "header_checks", """\
/^Subject:.*pills/        REJECT no pills here
/^Subject:.*discard me/   DISCARD
/^Subject:.*hold me/      HOLD held by test
/^X-Remove:/              IGNORE
/^X-Old: (.*)/            REPLACE X-New: $1
/^X-Mark:/                PREPEND X-Marked: yes
/^X-Warn:/                WARN noted
""")
    body = write(yubin, "body_checks", """\
/forbidden word/          REJECT 5.7.0 body says no
/^secret line$/           REPLACE [redacted]
""")
    port = smtpd_start(yubin, header_checks=f"regexp:{headers}",
                       body_checks=f"pcre:{body}")
    assert send(port, "a@example.org", ["root@mail.example.com"],
                b"Subject: cheap pills\n\nbuy\n") == b"550 5.7.1 no pills here"
    assert send(port, "a@example.org", ["root@mail.example.com"],
                b"Subject: ok\n\nthe forbidden word\n") == \
        b"550 5.7.0 body says no"
    assert yubin.wait_log(r"reject: header Subject: cheap pills from "
                          r"unknown\[127\.0\.0\.1\]; from=<a@example\.org> "
                          r"to=<root@mail\.example\.com> proto=ESMTP "
                          r"helo=<client\.example\.net>: 5\.7\.1 no pills here")
    reply = send(port, "a@example.org", ["root@mail.example.com"],
                 b"Subject: discard me\n\nx\n")
    qid = QUEUED.match(reply).group(1).decode()
    assert yubin.wait_log(qid + r": discard: header Subject: discard me from ")
    for sub in ("incoming", "active", "deferred", "hold"):
        assert not os.path.exists(os.path.join(yubin.spool, sub, qid))
    data = held(yubin, send(port, "a@example.org", ["root@mail.example.com"],
                            b"Subject: hold me\nX-Warn: me\nX-Remove: gone\n"
                            b"X-Old: abc\n  continued\nX-Mark: 1\n\nfirst\n"
                            b"secret line\nlast\n"))
    assert "X-Remove" not in data
    assert "X-New: abc\n  continued\n" in data and "X-Old" not in data, data
    assert "X-Marked: yes\nX-Mark: 1\n" in data, data
    assert "\nfirst\n[redacted]\nlast\n" in data, data
    assert yubin.wait_log(r": warning: header X-Warn: me from "
                          r"unknown\[127\.0\.0\.1\];.*: noted")
    assert yubin.wait_log(r": hold: header Subject: hold me from "
                          r"unknown\[127\.0\.0\.1\];.*: held by test")


MIME_MAIL = b"""\
Subject: report
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

preamble
--outer
Content-Type: message/rfc822

Subject: attached
X-Spam-Origin: evil

inner body
--outer
Content-Type: application/octet-stream; name="%s"
Content-Transfer-Encoding: base64

AAAA
--outer
Content-Type: text/plain

Content-Type: this line is body text, not a header
--outer--
epilogue
"""


def test_mime_aware_header_and_body_checks(yubin):
    headers = write(yubin, "mime_headers", """\
/^Content-Type:.*name="?[^"]*\\.exe"?/    REJECT 5.7.1 no executables
/^X-Spam-Origin:/                        REJECT 5.7.1 nested header seen
""")
    body = write(yubin, "mime_body", """\
/^Content-Type: this line is body/       REJECT 5.7.1 body line seen
""")
    port = smtpd_start(yubin, header_checks=f"regexp:{headers}",
                       nested_header_checks="",
                       body_checks=f"regexp:{body}")
    # a part's Content-Type goes to mime_header_checks (= header_checks)
    assert send(port, "a@example.org", ["root@mail.example.com"],
                MIME_MAIL % b"tool.exe") == b"550 5.7.1 no executables"
    assert yubin.wait_log(r"reject: header Content-Type: application/"
                          r"octet-stream; name=\"tool\.exe\"")
    # with nested_header_checks empty, the attached message's X-Spam-Origin
    # is not looked at; the text line that looks like a header is body
    assert send(port, "a@example.org", ["root@mail.example.com"],
                MIME_MAIL % b"notes.txt") == b"550 5.7.1 body line seen"

    yubin.stop()
    yubin.set(body_checks="", nested_header_checks="$header_checks")
    yubin.write()
    yubin.start(wait_ports=[port])
    assert send(port, "a@example.org", ["root@mail.example.com"],
                MIME_MAIL % b"notes.txt") == b"550 5.7.1 nested header seen"
    # MIME processing off: only the message's own headers are headers
    yubin.stop()
    yubin.set(disable_mime_input_processing="yes")
    yubin.write()
    yubin.start(wait_ports=[port])
    assert QUEUED.match(send(port, "a@example.org", ["root@mail.example.com"],
                             MIME_MAIL % b"tool.exe"))


def test_data_and_end_of_data_restrictions(yubin):
    port = smtpd_start(
        yubin, smtpd_restriction_classes="eod_class",
        eod_class="check_sender_access inline:{ok@example.org=OK}, reject",
        smtpd_data_restrictions="reject_unauth_pipelining",
        smtpd_end_of_data_restrictions="eod_class")
    # DATA with the message behind it, before the 354
    c = session(port)
    c.cmd("MAIL FROM:<ok@example.org>")
    c.cmd("RCPT TO:<root@mail.example.com>")
    c.send("DATA\r\nSubject: x\r\n\r\nhi\r\n.\r\n")
    assert c.reply() == b"503 5.5.0 <DATA>: Data command rejected: Improper " \
        b"use of SMTP command pipelining"
    c.close()
    assert yubin.wait_log(r"improper command pipelining after DATA from "
                          r"unknown\[127\.0\.0\.1\]: Subject: x")
    assert QUEUED.match(send(port, "ok@example.org", ["root@mail.example.com"],
                             b"Subject: x\n\nhi\n"))
    assert send(port, "other@example.org", ["root@mail.example.com"],
                b"Subject: x\n\nhi\n") == \
        b"554 5.7.1 <END-OF-MESSAGE>: End-of-data rejected: Access denied"
    assert yubin.wait_log(r"reject: END-OF-MESSAGE from unknown\[127\.0\.0\.1\]: "
                          r"554 5\.7\.1 <END-OF-MESSAGE>: End-of-data rejected")


def test_forbidden_commands_table(yubin):
    # the default smtpd_forbidden_commands holds regexp:{{/^[^A-Z]/ Thrash}}
    port = smtpd_start(yubin)
    c = Raw(port)
    c.reply()
    assert c.cmd("EHLO x.example").startswith(b"250")
    assert c.cmd("1NOOP") == b"221 2.7.0 Error: I can break rules, too. Goodbye."
    assert c.closed()
    assert yubin.wait_log(r"warning: non-SMTP command from unknown\[127\.0\.0\.1\]: 1NOOP")


class PolicyServer:
    """A policy service: answers by recipient, records the requests."""

    def __init__(self, family=socket.AF_INET, path=None, silent=False):
        self.silent = silent    # never answer mail from slow@...
        self.requests = []
        self.connections = 0
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        if path:
            self.sock.bind(path)
            os.chmod(path, 0o666)
        else:
            self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @property
    def port(self):
        return self.sock.getsockname()[1]

    def action(self, req):
        rcpt = req.get("recipient", "")
        if rcpt.startswith("greylist@"):
            return "DEFER_IF_PERMIT Greylisted, see http://example.org/grey"
        if rcpt.startswith("refuse@"):
            return "550 5.7.1 go away"
        if req.get("sender", "").startswith("slow@") and self.silent:
            return None
        return "DUNNO"

    def client(self, conn):
        buf = b""
        conn.settimeout(10)
        try:
            while self.running:
                while b"\n\n" not in buf:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    buf += chunk
                raw, buf = buf.split(b"\n\n", 1)
                req = dict(line.split("=", 1) for line in raw.decode().split("\n"))
                self.requests.append(req)
                action = self.action(req)
                if action is None:
                    continue
                conn.sendall(f"action={action}\n\n".encode())
        except OSError:
            pass
        finally:
            conn.close()

    def serve(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.client, args=(conn,), daemon=True).start()

    def stop(self):
        self.running = False
        self.sock.close()


def test_policy_service(yubin):
    inet = PolicyServer()
    path = os.path.join(yubin.base, "policy.sock")
    unix = PolicyServer(socket.AF_UNIX, path, silent=True)
    try:
        dead = socket.socket()
        dead.bind(("127.0.0.1", 0))
        dead_port = dead.getsockname()[1]
        dead.close()
        down = yubin.add_service("smtpd", options=[
            f"smtpd_recipient_restrictions=check_policy_service,"
            f"inet:127.0.0.1:{dead_port}",
            "smtpd_policy_service_try_limit=1"])
        port = smtpd_start(
            yubin, smtpd_policy_service_policy_context="test-context",
            smtpd_recipient_restrictions=f"check_policy_service inet:127.0.0.1:{inet.port}, "
            f"check_policy_service {{ unix:{path}, timeout=1s, default_action=DUNNO, "
            "try_limit=1 }")
        c = session(port)
        c.cmd("MAIL FROM:<a@example.org> SIZE=1234")
        assert c.cmd("RCPT TO:<root@mail.example.com>") == b"250 2.1.5 Ok"
        assert c.cmd("RCPT TO:<refuse@mail.example.com>") == \
            b"550 5.7.1 <refuse@mail.example.com>: Recipient address rejected: go away"
        assert c.cmd("RCPT TO:<greylist@mail.example.com>") == \
            b"450 4.7.1 <greylist@mail.example.com>: Recipient address rejected: " \
            b"Greylisted, see http://example.org/grey"
        # the unix: service does not answer: after its timeout, its
        # default_action (DUNNO) applies
        c.cmd("RSET")
        c.cmd("MAIL FROM:<slow@example.org>")
        assert c.cmd("RCPT TO:<root@mail.example.com>") == b"250 2.1.5 Ok"
        c.close()
        req = inet.requests[0]
        for key, value in (("request", "smtpd_access_policy"),
                           ("protocol_state", "RCPT"), ("protocol_name", "ESMTP"),
                           ("client_address", "127.0.0.1"),
                           ("helo_name", "client.example.net"),
                           ("sender", "a@example.org"),
                           ("recipient", "root@mail.example.com"),
                           ("size", "1234"), ("policy_context", "test-context")):
            assert req.get(key) == value, (key, req)
        assert req.get("instance") and "reverse_client_name" in req
        # one connection served every request
        assert inet.connections == 1 and len(inet.requests) == 4
        assert unix.requests and unix.requests[-1]["sender"] == "slow@example.org"
        # a service that is down: temporary, never a permit
        c = session(down)
        c.cmd("MAIL FROM:<a@example.org>")
        assert c.cmd("RCPT TO:<root@mail.example.com>") == \
            b"451 4.3.5 <root@mail.example.com>: Recipient address rejected: " \
            b"Server configuration problem"
        c.close()
        assert yubin.wait_log(r"warning: unknown\[127\.0\.0\.1\]: problem talking "
                              r"to server inet:127\.0\.0\.1:%d" % dead_port)
    finally:
        inet.stop()
        unix.stop()


def smtpd_exit(yubin, **params):
    yubin.set(alias_maps="", **params)
    yubin.write()
    return subprocess.run([os.path.join(yubin.daemons, "smtpd"), "-c", yubin.etc,
                           "-n", "smtp", "-t", "inet", "-s"], capture_output=True,
                          text=True, timeout=20, stdin=subprocess.DEVNULL)


def test_configuration_errors_name_file_and_line(yubin):
    r = smtpd_exit(yubin, smtpd_recipient_restrictions="permit_mynetworks, frobnicate, "
                   "reject_unauth_destination")
    assert r.returncode == 78, r.stderr
    # main.cf's check or smtpd's own, either names the file and line
    assert re.search(r"\S+/main\.cf:\d+: smtpd_recipient_restrictions: (unknown "
                     r"restriction \"frobnicate\"|\"frobnicate\": unknown restriction)",
                     r.stderr), r.stderr
    r = smtpd_exit(yubin, smtpd_recipient_restrictions="permit_mynetworks, "
                   "check_recipient_mx_access hash:/x, reject_unauth_destination")
    assert r.returncode == 78, r.stderr
    assert '"check_recipient_mx_access" is a Postfix restriction that Yubin does not ' \
        'implement' in r.stderr, r.stderr
    r = smtpd_exit(yubin, smtpd_recipient_restrictions="reject_unauth_destination",
                   smtpd_restriction_classes="undefined_class")
    assert r.returncode == 78 and 'restriction class "undefined_class" needs a ' \
        'definition' in r.stderr, r.stderr


def test_yubinctl_map_check(yubin):
    table = write(yubin, "access", "ann@example.com OK\nexample.net REJECT no\n")
    rules = write(yubin, "rules", "/^(.*)@example\\.org$/ REDIRECT $1@example.com\n"
                  "/unclosed DUNNO\nendif\n")
    yubin.write()
    r = yubin.ctl("map", "check", f"hash:{table}", "ANN@example.com")
    assert r.returncode == 0 and r.stdout == "OK\n", r
    r = yubin.ctl("map", "check", f"hash:{table}", "nobody@example.com")
    assert r.returncode == 1 and r.stdout == "", r
    r = yubin.ctl("map", "check", f"hash:{table}", "-", input="example.net\nx\n")
    assert r.returncode == 1 and r.stdout == "example.net REJECT no\n", r
    r = yubin.ctl("map", "check", f"regexp:{rules}")
    assert r.returncode == 1
    assert f"{rules}:2: missing the pattern's closing delimiter" in r.stderr, r.stderr
    assert f"{rules}:3: \"endif\" without \"if\"" in r.stderr, r.stderr
    r = yubin.ctl("map", "check", "pcre:{ {/^(.*)@example\\.org$/ OK $1} }",
                  "ann@example.org")
    assert r.returncode == 0 and r.stdout == "OK ann\n", r
    r = yubin.ctl("map", "check", "hash:/nonexistent/table", "x")
    assert r.returncode == 78 and "/nonexistent/table" in r.stderr, r
