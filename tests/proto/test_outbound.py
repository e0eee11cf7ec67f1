"""Outbound delivery: qmgr hands remote recipients to the smtp client,
which relays them to an SMTP sink on loopback (relayhost = [127.0.0.1]:
PORT, so no DNS is involved).

Covered: several recipients in one transaction with PIPELINING, the
message as it arrives at the far end (CR LF, dot-stuffing), the
Postfix-shaped log line, a 5xx recipient bounced with an RFC 3464 notice
while its sibling is delivered, a 4xx retried with backoff and then
delivered, a connection dropped mid-DATA (deferred, later delivered),
a server that never answers (timeout), SIZE, and STARTTLS with AUTH PLAIN
credentials from smtp_sasl_password_maps. Next hops found through DNS
(MX records, null MX, NXDOMAIN ...) are tested in test_outbound_mx.py.
"""
import os
import re

from pop3_helpers import make_cert
from smtp_sink import sinks  # noqa: F401 (a fixture)
from test_delivery import mta, parse_bounce  # noqa: F401 (mta: a fixture)

REMOTE = "remote.example.org"
MESSAGE = (b"From: Ann <ann@example.com>\n"
           b"To: bob@remote.example.org\n"
           b"Subject: out\n"
           b"\n"
           b"Hello, Bob.\n"
           b".a line with a leading dot\n"
           b"..and two\n"
           b"last line\n")


def start(mta, sink, **params):
    mta.user("ann@example.com")
    opts = dict(relayhost=f"[127.0.0.1]:{sink.port}",
                smtp_tls_security_level="none")
    opts.update(params)
    mta.start(**opts)
    assert mta.inst.wait_log(r"smtp\[\d+\]: ready", 10), mta.inst.log()


def wire(message):
    """message as SMTP DATA carries it, without the final dot"""
    return message.replace(b"\n", b"\r\n")


def test_relay_two_recipients_one_transaction(mta, sinks):
    sink = sinks()
    start(mta, sink)
    rcpts = [f"bob@{REMOTE}", f"carol@{REMOTE}"]
    qid = mta.inject(MESSAGE, rcpts, sender="ann@example.com")
    assert sink.wait_messages(1), mta.inst.log()
    mta.wait_removed(qid)
    assert len(sink.messages) == 1
    tx = sink.messages[0]
    assert tx.mail_from == "ann@example.com"
    assert sorted(tx.rcpts) == rcpts
    assert tx.data == wire(MESSAGE)
    assert "SIZE=%d" % len(MESSAGE) in tx.mail_params
    log = mta.inst.log()
    for r in rcpts:
        assert re.search(
            rf"{qid}: to=<{r}>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:"
            rf"{sink.port}, delay=[\d.]+, delays=[\d.]+/[\d.]+/[\d.]+/"
            rf"[\d.]+, dsn=2\.0\.0, status=sent \(250 2\.0\.0 Ok: queued "
            rf"as SINK1\)", log), log
    # pipelined: MAIL, RCPT, RCPT, DATA arrived before any reply was read
    # (the sink cannot tell directly; the order at least is fixed)
    verbs = [c.split()[0].upper() for c in sink.commands]
    assert verbs[verbs.index("MAIL"):verbs.index("DATA") + 1] == \
        ["MAIL", "RCPT", "RCPT", "DATA"]


def test_tls_may_falls_back_to_plaintext_verify_does_not(mta, sinks):
    """smtp_tls_security_level = may: a failed TLS handshake is tried
    again in plaintext on a new connection, as Postfix does; verify
    defers a server whose certificate it cannot verify."""
    cert, key = make_cert(mta.base)
    sink = sinks(cert=cert, key=key, tls_broken=True)
    start(mta, sink, smtp_tls_security_level="may")
    qid = mta.inject(MESSAGE, [f"bob@{REMOTE}"], sender="ann@example.com")
    assert sink.wait_messages(1), mta.inst.log()
    mta.wait_removed(qid)
    assert not sink.messages[0].tls
    assert sink.commands.count("STARTTLS") == 1
    assert mta.inst.wait_log(qid + r": TLS handshake with 127\.0\.0\.1"
                             r"\[127\.0\.0\.1\] failed: .*; trying again "
                             r"without TLS")
    mta.inst.stop()

    good = sinks(cert=cert, key=key)
    mta.inst.set(relayhost=f"[127.0.0.1]:{good.port}",
                 smtp_tls_security_level="verify")
    mta.inst.write()
    mta.inst.start()
    assert mta.inst.wait_log(r"smtp\[\d+\]: ready", 10), mta.inst.log()
    qid = mta.inject(MESSAGE, [f"bob@{REMOTE}"], sender="ann@example.com")
    assert mta.inst.wait_log(
        qid + r": to=<bob@remote\.example\.org>, .*dsn=4\.7\.5, "
        r"status=deferred \(Server certificate not verified")
    assert not good.messages


EIGHT_BIT = ("From: Ann <ann@example.com>\n"
             "To: bob@remote.example.org\n"
             "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\n"
             "MIME-Version: 1.0\n"
             "Content-Type: multipart/mixed; boundary=\"b1\"\n"
             "\n"
             "--b1\n"
             "Content-Type: text/plain; charset=utf-8\n"
             "Content-Transfer-Encoding: 8bit\n"
             "\n"
             "Grüße aus Köln, 1 = 1.\n"
             "--b1\n"
             "Content-Type: text/plain; charset=us-ascii\n"
             "\n"
             "plain ascii\n"
             "--b1--\n").encode()


def test_8bit_mime_downgraded_for_a_server_without_8bitmime(mta, sinks):
    """BODY=8BITMIME mail to a server that does not offer 8BITMIME: the
    8-bit part goes quoted-printable (RFC 6152), the rest as it was; a
    server that offers it gets the message unchanged."""
    old = sinks(eightbitmime=False)
    new = sinks()
    start(mta, old, transport_maps="inline:{{new.example.org="
          f"smtp:[127.0.0.1]:{new.port}}}}}")
    qid = mta.inject(EIGHT_BIT, [f"bob@{REMOTE}", "bob@new.example.org"],
                     sender="ann@example.com", attrs=["body=8BITMIME"])
    assert old.wait_messages(1) and new.wait_messages(1), mta.inst.log()
    mta.wait_removed(qid)
    sent = old.messages[0]
    assert "BODY=8BITMIME" not in sent.mail_params
    assert max(sent.data) < 0x80, sent.data
    assert b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" \
        b"Gr=C3=BC=C3=9Fe aus K=C3=B6ln, 1 =3D 1.\r\n--b1\r\n" in sent.data
    assert b"charset=us-ascii\r\n\r\nplain ascii\r\n" in sent.data
    # the 8-bit field is gone, not doubled
    assert sent.data.count(b"Content-Transfer-Encoding") == 1
    tx = new.messages[0]
    assert "BODY=8BITMIME" in tx.mail_params
    assert tx.data == wire(EIGHT_BIT)


def test_native_host_lookup_is_said_unsupported(mta, sinks):
    sink = sinks()
    start(mta, sink, smtp_host_lookup="dns, native")
    assert mta.inst.wait_log(r"smtp\[\d+\]: warning: smtp_host_lookup: "
                             r"\"native\" is not supported")


def test_transport_maps_transport_alone(mta, sinks):
    """A transport_maps value naming only the transport ("smtp") keeps
    the usual next hop; one naming another transport defers."""
    sink = sinks()
    start(mta, sink, transport_maps="inline:{remote.example.org=smtp, "
          "other.example.org=lmtp}")
    qid = mta.inject(MESSAGE, [f"bob@{REMOTE}"], sender="ann@example.com")
    assert sink.wait_messages(1), mta.inst.log()
    mta.wait_removed(qid)
    qid = mta.inject(MESSAGE, ["bob@other.example.org"],
                     sender="ann@example.com")
    assert mta.inst.wait_log(
        qid + r": to=<bob@other\.example\.org>, .*status=deferred "
        r"\(transport_maps: lmtp: only the smtp transport is supported\)")
    assert len(sink.messages) == 1


def test_5xx_bounces_with_dsn_and_sibling_delivered(mta, sinks):
    sink = sinks(rcpt_replies={
        f"nobody@{REMOTE}": "550 5.1.1 <nobody@remote.example.org>: "
                            "User unknown"})
    start(mta, sink)
    qid = mta.inject(MESSAGE, [f"bob@{REMOTE}", f"nobody@{REMOTE}"],
                     sender="ann@example.com")
    assert sink.wait_messages(1), mta.inst.log()
    mta.wait_removed(qid)
    assert sink.messages[0].rcpts == [f"bob@{REMOTE}"]
    log = mta.inst.log()
    assert re.search(rf"{qid}: to=<nobody@{REMOTE}>, relay=127\.0\.0\.1"
                     rf"\[127\.0\.0\.1\]:{sink.port}, .*dsn=5\.1\.1, "
                     rf"status=bounced \(host 127\.0\.0\.1\[127\.0\.0\.1\] "
                     rf"said: 550 5\.1\.1 .*User unknown \(in reply to "
                     rf"RCPT TO command\)\)", log), log
    assert re.search(rf"{qid}: sender non-delivery notification: \w+", log)
    box = mta.maildir("ann@example.com")
    (name, data), = mta.wait_messages(box, 1)
    msg, parts, groups = parse_bounce(data)
    rcpt_groups = [g for g in groups if g.get("Final-Recipient")]
    assert len(rcpt_groups) == 1
    g = rcpt_groups[0]
    assert g["Final-Recipient"].endswith(f"nobody@{REMOTE}")
    assert g["Action"] == "failed"
    assert g["Status"] == "5.1.1"
    assert "User unknown" in g["Diagnostic-Code"]


def test_4xx_retried_then_delivered(mta, sinks):
    sink = sinks(tempfail_first=1)
    start(mta, sink)
    qid = mta.inject(MESSAGE, [f"bob@{REMOTE}"], sender="ann@example.com")
    assert mta.inst.wait_log(rf"{qid}: to=<bob@{REMOTE}>, .*dsn=4\.3\.0, "
                             rf"status=deferred \(host 127\.0\.0\.1"
                             rf"\[127\.0\.0\.1\] said: 451 4\.3\.0 try "
                             rf"again later \(in reply to MAIL FROM "
                             rf"command\)\)", 10), mta.inst.log()
    assert sink.wait_messages(1, timeout=20), mta.inst.log()
    mta.wait_removed(qid, timeout=10)
    assert sink.messages[0].data == wire(MESSAGE)
    assert len(sink.messages) == 1


def test_dropped_mid_data_is_deferred_then_delivered(mta, sinks):
    sink = sinks(drop_in_data=True)
    start(mta, sink)
    qid = mta.inject(MESSAGE, [f"bob@{REMOTE}"], sender="ann@example.com")
    assert mta.inst.wait_log(rf"{qid}: to=<bob@{REMOTE}>, .*status=deferred "
                             rf"\(lost connection with 127\.0\.0\.1"
                             rf"\[127\.0\.0\.1\] while ", 10), mta.inst.log()
    assert not sink.messages
    assert qid in mta.queue_ids("deferred", "active", "incoming")
    sink.drop_in_data = False
    assert sink.wait_messages(1, timeout=20), mta.inst.log()
    mta.wait_removed(qid)


def test_server_that_never_answers_times_out(mta, sinks):
    sink = sinks(silent=True)
    start(mta, sink, smtp_helo_timeout="1s")
    qid = mta.inject(MESSAGE, [f"bob@{REMOTE}"], sender="ann@example.com")
    assert mta.inst.wait_log(rf"{qid}: to=<bob@{REMOTE}>, .*status=deferred "
                             rf"\(conversation timed out with 127\.0\.0\.1"
                             rf"\[127\.0\.0\.1\] while receiving the initial "
                             rf"server greeting\)", 15), mta.inst.log()
    assert qid in mta.queue_ids()


def test_size_limit_bounces_without_data(mta, sinks):
    sink = sinks(size=50)
    start(mta, sink)
    qid = mta.inject(MESSAGE, [f"bob@{REMOTE}"], sender="ann@example.com")
    assert mta.inst.wait_log(rf"{qid}: to=<bob@{REMOTE}>, .*dsn=5\.3\.4, "
                             rf"status=bounced \(message size \d+ exceeds "
                             rf"size limit 50", 10), mta.inst.log()
    mta.wait_removed(qid)
    assert not any(c.upper().startswith("DATA") for c in sink.commands)


def test_starttls_and_auth_plain_from_password_map(mta, sinks):
    cert, key = make_cert(mta.base)
    sink = sinks(cert=cert, key=key, auth=("relayuser", "s3cr:et"))
    pw = os.path.join(mta.base, "sasl_passwd")
    with open(pw, "w") as f:
        f.write(f"[127.0.0.1]:{sink.port} relayuser:s3cr:et\n")
    os.chmod(pw, 0o644)
    start(mta, sink, smtp_tls_security_level="encrypt",
          smtp_sasl_auth_enable="yes",
          smtp_sasl_password_maps="texthash:" + pw,
          smtp_sasl_tls_security_options="noanonymous")
    qid = mta.inject(MESSAGE, [f"bob@{REMOTE}"], sender="ann@example.com")
    assert sink.wait_messages(1), mta.inst.log()
    mta.wait_removed(qid)
    tx = sink.messages[0]
    assert tx.tls and tx.auth == "relayuser"
    # the credentials never crossed the wire in the clear
    before_tls = sink.commands[:sink.commands.index("STARTTLS") + 1]
    assert not any(c.upper().startswith("AUTH") for c in before_tls)

