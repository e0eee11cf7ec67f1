"""Relay control: the address tricks used to abuse relays, from a client
outside mynetworks and from one inside it.

mynetworks = 127.0.0.1/32; the untrusted client connects from 127.0.0.2.
Local domains are mail.example.com and localhost (mydestination), our
address literal [127.0.0.1] (inet_interfaces = loopback-only), and
example.com (virtual). Postfix's defaults apply: allow_percent_hack,
swap_bangpath and resolve_dequoted_address are on, allow_untrusted_routing
is off. Every address is answered as Postfix answers it: from the
untrusted client each one is refused, or taken because it resolves to a
local mailbox; the message taken is then put on hold (an access-table
HOLD) so that the queue file's recipients can be read: all of them local.
From the trusted client the same addresses are relayed, except those whose
syntax or domain is bad.
"""
import os
import re

from conftest import wait_for
from test_smtpd import Raw, smtpd_start

UNTRUSTED = "127.0.0.2"
LOCAL_DOMAINS = ("mail.example.com", "localhost", "[127.0.0.1]", "example.com")

# (address as sent in RCPT TO:<...>, untrusted outcome, trusted outcome)
# outcomes: "relay" = 554 Relay access denied, "local" = 250 and delivered
# here, "ok" = 250 (relayed), "unknown" = 550 User unknown, "syntax" = 501.
# Yubin's path parser is stricter than Postfix's in two ways, both
# refusals: a domain with a trailing dot, and a second unquoted '@'
# (Postfix takes both, strips the dot and resolves user@remote@local to
# user@remote).
BATTERY = [
    ("user@outside.example", "relay", "ok"),
    ("USER@OUTSIDE.EXAMPLE", "relay", "ok"),
    ("user@outside.example.", "syntax", "syntax"),
    ("user%outside.example@mail.example.com", "relay", "ok"),
    ("user%outside.example@localhost", "relay", "ok"),
    ("user%OUTSIDE.example@MAIL.Example.COM", "relay", "ok"),
    ("user%outside.example@mail.example.com.", "syntax", "syntax"),
    ("user%outside.example%mail.example.com@mail.example.com", "relay", "ok"),
    ("user%outside.example@[127.0.0.1]", "relay", "ok"),
    ("outside.example!user@mail.example.com", "relay", "ok"),
    ("outside.example!user@localhost", "relay", "ok"),
    ("mail.example.com!outside.example!user@mail.example.com", "relay", "ok"),
    ("outside.example!user%mail.example.com@mail.example.com", "relay", "ok"),
    ("@mail.example.com:user@outside.example", "relay", "ok"),
    ("@mail.example.com,@localhost:user@outside.example", "relay", "ok"),
    ('"user@outside.example"@mail.example.com', "relay", "ok"),
    ('"user%outside.example"@mail.example.com', "relay", "ok"),
    ('"outside.example!user"@mail.example.com', "relay", "ok"),
    ('"user@outside.example"@[127.0.0.1]', "relay", "ok"),
    ("user@mail.example.com@outside.example", "syntax", "syntax"),
    ("user@outside.example@mail.example.com", "syntax", "syntax"),
    ("user%mail.example.com@outside.example", "relay", "ok"),
    ("user@[192.0.2.1]", "relay", "ok"),
    ("user@[IPv6:2001:db8::1]", "relay", "ok"),
    ("user@outside.example.mail.example.com", "relay", "ok"),
    ("user@mail.example.com.outside.example", "relay", "ok"),
    ("user@localhost.outside.example", "relay", "ok"),
    ("x%example.com@example.com", "relay", "unknown"),
    ("root%outside.example@mail.example.com", "relay", "ok"),
    ("user@-outside-.example", "syntax", "syntax"),
    ("user@outside..example", "syntax", "syntax"),
    ("user@[192.0.2.999]", "syntax", "syntax"),
    ("nosuchuser%mail.example.com@localhost", "unknown", "unknown"),
    ("nosuchuser@mail.example.com", "unknown", "unknown"),
    ("nosuchuser@[127.0.0.1]", "unknown", "unknown"),
    ("root@mail.example.com", "local", "local"),
    ("root@MAIL.Example.COM", "local", "local"),
    ("root%mail.example.com@localhost", "local", "local"),
    ("mail.example.com!root@localhost", "local", "local"),
    ('"root"@mail.example.com', "local", "local"),
    ('"root@mail.example.com"@localhost', "local", "local"),
    ("root@[127.0.0.1]", "local", "local"),
    ("postmaster", "local", "local"),
]

CODES = {"relay": 554, "local": 250, "ok": 250, "unknown": 550, "syntax": 501}


def start(yubin):
    return smtpd_start(
        yubin, mynetworks="127.0.0.1/32",
        smtpd_relay_restrictions="permit_mynetworks, reject_unauth_destination",
        smtpd_client_restrictions="check_client_access "
                                  "inline:{%s=HOLD}" % UNTRUSTED,
        smtpd_hard_error_limit="1000", smtpd_soft_error_limit="1000",
        smtpd_recipient_limit="1000")


def battery(port, source, column):
    """Send every RCPT in one transaction; returns [(addr, reply)] and the
    client (MAIL given, recipients answered)."""
    c = Raw(port, source)
    assert c.reply().startswith(b"220 ")
    assert c.cmd("EHLO client.example.net").startswith(b"250")
    assert c.cmd("MAIL FROM:<sender@example.org>").startswith(b"250")
    # pipelined, as a bulk relay abuser would: one write, one answer each
    c.send("".join(f"RCPT TO:<{a}>\r\n" for a, *_ in BATTERY))
    replies = [(entry, c.reply().decode()) for entry in BATTERY]
    for (addr, *outcomes), reply in replies:
        want = CODES[outcomes[column]]
        assert reply.startswith(str(want)), (addr, reply)
        if outcomes[column] == "relay":
            # the address as smtpd keeps it: unquoted, source route gone
            assert re.fullmatch(r"554 5\.7\.1 <[^>]+>: Relay access denied",
                                reply), reply
    return c


def test_untrusted_client_relays_nothing(yubin):
    port = start(yubin)
    c = battery(port, UNTRUSTED, 0)
    assert c.cmd("DATA").startswith(b"354")
    c.send(b"Subject: relay battery\r\n\r\nhello\r\n.\r\n")
    m = re.match(rb"250 2\.0\.0 Ok: queued as (\S+)", c.reply())
    assert m, "not queued"
    qid = m.group(1).decode()
    c.cmd("QUIT")
    # held (check_client_access ... HOLD): the envelope stays readable
    path = os.path.join(yubin.spool, "hold", qid)
    assert wait_for(lambda: os.path.exists(path), 5), yubin.log()
    with open(path, "rb") as f:
        data = f.read().decode("utf-8", "replace")
    rcpts = re.findall(r"(?m)^R\d+:\S+ (.+)$", data)
    local = [a for a, o, _ in BATTERY if o == "local"]
    assert len(rcpts) == len(local) >= 8, data
    # every recipient queued is ours (resolved: root%here@localhost is
    # root@here), nothing for outside.example or another host
    for addr in rcpts:
        domain = addr.rsplit("@", 1)[1].lower() if "@" in addr else ""
        assert domain in LOCAL_DOMAINS or addr == "postmaster", (addr, data)
    # our own address literal is queued under the local name qmgr knows
    assert "root@[127.0.0.1]" not in rcpts
    assert rcpts.count("root@mail.example.com") >= 5, rcpts
    # each refusal was logged the way fail2ban and pflogsumm read it
    assert yubin.wait_log(r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.2\]: "
                          r"554 5\.7\.1 <user%outside\.example@localhost>: "
                          r"Relay access denied; from=<sender@example\.org> "
                          r"to=<user%outside\.example@localhost> proto=ESMTP "
                          r"helo=<client\.example\.net>")
    assert yubin.wait_log(r"NOQUEUE: hold: RCPT from unknown\[127\.0\.0\.2\]: "
                          r"<unknown\[127\.0\.0\.2\]>: Client host triggers "
                          r"HOLD action")


def test_trusted_client_relays_as_postfix_does(yubin):
    port = start(yubin)
    c = battery(port, "127.0.0.1", 1)
    assert c.cmd("RSET").startswith(b"250")
    c.cmd("QUIT")
