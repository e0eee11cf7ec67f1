"""Outbound delivery by DNS: the smtp client finds a destination's next
hops through MX and address records asked of the loopback DNS server of
dnsserver.py (dns_servers), and sinks (smtp_sink.py) on 127.0.0.2-4 play
the mail exchangers. An MX record names only a host, so the sinks share
one free port and smtp_tcp_port points the client at it.

Covered: MX preference order (the best MX gets the mail and the next one
nothing; a best MX that refuses the connection, greets with 421 or has
no address is passed over), smtp_mx_session_limit, no MX record (the
domain's own A record), a null MX and NXDOMAIN (bounced with a DSN to
the sender), SERVFAIL and a silent name server (deferred, the mail stays
queued), the MX list pointing back at this host (bounced as a loop), a
[name] relayhost resolved through DNS, and three destinations delivered
in parallel.
"""
import errno
import re
import time

import pytest

from conftest import wait_for
from dnsserver import DnsServer
from smtp_sink import SmtpSink
from test_delivery import mta, parse_bounce  # noqa: F401 (mta: a fixture)
from test_outbound import MESSAGE, wire

SENDER = "ann@example.com"


@pytest.fixture
def dns():
    with DnsServer() as server:
        yield server


@pytest.fixture
def sinks():
    """make(hosts, **kw): one sink per 127.0.0.x host, all on one free
    port (MX records carry no port); returns (port, [sinks])."""
    made = []

    def make(hosts, **kw):
        per_host = kw.pop("per_host", {})
        for _ in range(20):
            group = []
            try:
                port = 0
                for h in hosts:
                    s = SmtpSink(host=h, port=port,
                                 **{**kw, **per_host.get(h, {})})
                    group.append(s)
                    port = s.port
            except OSError as e:
                for s in group:
                    s.close()
                if e.errno != errno.EADDRINUSE:
                    raise
                continue
            made.extend(group)
            return port, group
        pytest.fail("no port free on all of " + ", ".join(hosts))
    yield make
    for s in made:
        s.close()


def start(mta, dns, port, **params):
    mta.user(SENDER)
    opts = dict(dns_servers=dns.server, dns_timeout="1s",
                smtp_tcp_port=str(port), smtp_tls_security_level="none")
    opts.update(params)
    mta.start(**opts)
    assert mta.inst.wait_log(r"smtp\[\d+\]: ready", 10), mta.inst.log()


def sent_line(qid, rcpt, host, ip, port):
    return (rf"{qid}: to=<{re.escape(rcpt)}>, relay={re.escape(host)}"
            rf"\[{re.escape(ip)}\]:{port}, delay=[\d.]+, "
            rf"delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+, dsn=2\.0\.0, status=sent")


def bounce_of(mta, rcpt):
    """The bounce the sender got: its single per-recipient group."""
    (name, data), = mta.wait_messages(mta.maildir(SENDER), 1)
    msg, parts, groups = parse_bounce(data)
    g, = [g for g in groups if g.get("Final-Recipient")]
    assert g["Final-Recipient"].endswith(rcpt)
    assert g["Action"] == "failed"
    return g


def test_best_mx_gets_the_mail(mta, dns, sinks):
    port, (best, other) = sinks(["127.0.0.2", "127.0.0.3"])
    dns.add("pref.test", "MX", (20, "mx2.pref.test"))
    dns.add("pref.test", "MX", (10, "mx1.pref.test"))
    dns.host("mx1.pref.test", "127.0.0.2")
    dns.host("mx2.pref.test", "127.0.0.3")
    start(mta, dns, port)
    qid = mta.inject(MESSAGE, ["bob@pref.test"], sender=SENDER)
    assert best.wait_messages(1), mta.inst.log()
    mta.wait_removed(qid)
    assert best.messages[0].rcpts == ["bob@pref.test"]
    assert best.messages[0].data == wire(MESSAGE)
    assert other.connections == 0
    assert re.search(sent_line(qid, "bob@pref.test", "mx1.pref.test",
                               "127.0.0.2", port), mta.inst.log())
    assert dns.asked("pref.test", "MX") >= 1


def test_next_mx_when_the_better_ones_fail(mta, dns, sinks):
    """Preference 5 has no address at all, 10 refuses the connection
    (nothing listens on 127.0.0.5), 20 greets with 421: 30 gets it."""
    port, (busy, good) = sinks(
        ["127.0.0.2", "127.0.0.3"],
        per_host={"127.0.0.2": {"greeting": "421 4.3.2 busy, try later"}})
    dns.add("next.test", "MX", (5, "ghost.next.test"))      # NXDOMAIN
    dns.add("next.test", "MX", (10, "down.next.test"))
    dns.add("next.test", "MX", (20, "busy.next.test"))
    dns.add("next.test", "MX", (30, "good.next.test"))
    dns.host("down.next.test", "127.0.0.5")
    dns.host("busy.next.test", "127.0.0.2")
    dns.host("good.next.test", "127.0.0.3")
    start(mta, dns, port)
    qid = mta.inject(MESSAGE, ["bob@next.test"], sender=SENDER)
    assert good.wait_messages(1), mta.inst.log()
    mta.wait_removed(qid)
    assert busy.connections == 1 and not busy.messages
    log = mta.inst.log()
    assert re.search(rf"{qid}: connect to down\.next\.test\[127\.0\.0\.5\]:"
                     rf"{port}: Connection refused", log), log
    assert re.search(rf"{qid}: host busy\.next\.test\[127\.0\.0\.2\] "
                     r"refused to talk to me: 421 4\.3\.2 busy, try later$",
                     log, re.M), log
    assert re.search(sent_line(qid, "bob@next.test", "good.next.test",
                               "127.0.0.3", port), log), log
    assert dns.asked("ghost.next.test") >= 1
    assert "status=bounced" not in log


def test_session_limit_defers_with_the_last_reason(mta, dns, sinks):
    """Two servers greeted (with 4xx): smtp_mx_session_limit = 2 is
    reached and the third MX is not tried."""
    port, (one, two, three) = sinks(
        ["127.0.0.2", "127.0.0.3", "127.0.0.4"],
        per_host={"127.0.0.2": {"greeting": "421 4.3.2 first busy"},
                  "127.0.0.3": {"greeting": "450 4.3.2 second busy"}})
    dns.add("limit.test", "MX", (10, "a.limit.test"))
    dns.add("limit.test", "MX", (20, "b.limit.test"))
    dns.add("limit.test", "MX", (30, "c.limit.test"))
    dns.host("a.limit.test", "127.0.0.2")
    dns.host("b.limit.test", "127.0.0.3")
    dns.host("c.limit.test", "127.0.0.4")
    start(mta, dns, port)
    qid = mta.inject(MESSAGE, ["bob@limit.test"], sender=SENDER)
    assert mta.inst.wait_log(
        rf"{qid}: to=<bob@limit\.test>, relay=none, .*dsn=4\.3\.2, "
        r"status=deferred \(host b\.limit\.test\[127\.0\.0\.3\] refused "
        r"to talk to me: 450 4\.3\.2 second busy\)"), mta.inst.log()
    assert qid in mta.queue_ids()
    assert one.connections >= 1 and two.connections >= 1
    assert three.connections == 0


def test_no_mx_uses_the_domain_address(mta, dns, sinks):
    port, (sink,) = sinks(["127.0.0.3"])
    dns.host("plain.test", "127.0.0.3")             # A only: MX is NODATA
    start(mta, dns, port)
    qid = mta.inject(MESSAGE, ["bob@plain.test"], sender=SENDER)
    assert sink.wait_messages(1), mta.inst.log()
    mta.wait_removed(qid)
    assert dns.asked("plain.test", "MX") >= 1
    assert re.search(sent_line(qid, "bob@plain.test", "plain.test",
                               "127.0.0.3", port), mta.inst.log())


def test_null_mx_bounces_at_once(mta, dns, sinks):
    port, (sink,) = sinks(["127.0.0.2"])
    dns.add("nullmx.test", "MX", (0, "."))
    dns.host("nullmx.test", "127.0.0.2")    # never used instead
    start(mta, dns, port)
    qid = mta.inject(MESSAGE, ["bob@nullmx.test"], sender=SENDER)
    assert mta.inst.wait_log(
        rf"{qid}: to=<bob@nullmx\.test>, relay=none, .*dsn=5\.1\.10, "
        r"status=bounced \(Domain nullmx\.test does not accept mail "
        r"\(nullMX\)\)"), mta.inst.log()
    g = bounce_of(mta, "bob@nullmx.test")
    assert g["Status"] == "5.1.10"
    mta.wait_removed(qid)
    assert sink.connections == 0


def test_nxdomain_bounces(mta, dns, sinks):
    port, _ = sinks(["127.0.0.2"])
    start(mta, dns, port)
    qid = mta.inject(MESSAGE, ["bob@nowhere.test"], sender=SENDER)
    assert mta.inst.wait_log(
        rf"{qid}: to=<bob@nowhere\.test>, relay=none, .*dsn=5\.4\.4, "
        r"status=bounced \(Host or domain name not found\. Name service "
        r"error for name=nowhere\.test type=MX: Host not found\)"), \
        mta.inst.log()
    assert bounce_of(mta, "bob@nowhere.test")["Status"] == "5.4.4"
    mta.wait_removed(qid)


def test_dns_trouble_defers(mta, dns, sinks):
    """SERVFAIL, and a name server that never answers: "could not tell"
    keeps the mail queued, never bounces it."""
    port, (sink,) = sinks(["127.0.0.2"])
    dns.servfail("broken.test")
    dns.drop("silent.test")
    for d in ("broken.test", "silent.test"):    # there, if ever asked
        dns.add(d, "A", "127.0.0.2")
    start(mta, dns, port)
    q1 = mta.inject(MESSAGE, ["bob@broken.test"], sender=SENDER)
    q2 = mta.inject(MESSAGE, ["bob@silent.test"], sender=SENDER)
    for qid, name in ((q1, "broken"), (q2, "silent")):
        assert mta.inst.wait_log(
            rf"{qid}: to=<bob@{name}\.test>, relay=none, .*dsn=4\.4\.3, "
            rf"status=deferred \(Host or domain name not found\. Name "
            rf"service error for name={name}\.test type=MX: Host not "
            r"found, try again \(.+\)\)", 15), mta.inst.log()
    assert wait_for(lambda: {q1, q2} <= set(mta.queue_ids("deferred",
                                                          "active")))
    assert "status=bounced" not in mta.inst.log()
    assert sink.connections == 0


def test_mx_pointing_back_here_is_a_loop(mta, dns, sinks):
    """An MX host named $myhostname, or with an address of
    inet_interfaces (loopback-only: 127.0.0.1), at the best preference."""
    port, (sink,) = sinks(["127.0.0.2"])
    dns.add("byname.test", "MX", (10, "mail.example.com"))  # myhostname
    dns.add("byname.test", "MX", (20, "backup.byname.test"))
    dns.host("mail.example.com", "127.0.0.9")
    dns.host("backup.byname.test", "127.0.0.2")
    dns.add("byaddr.test", "MX", (10, "me.byaddr.test"))
    dns.host("me.byaddr.test", "127.0.0.1")
    start(mta, dns, port)
    qid = mta.inject(MESSAGE, ["bob@byname.test", "carol@byaddr.test"],
                     sender=SENDER)
    for rcpt, domain in (("bob", "byname"), ("carol", "byaddr")):
        assert mta.inst.wait_log(
            rf"{qid}: to=<{rcpt}@{domain}\.test>, relay=none, .*"
            rf"dsn=5\.4\.6, status=bounced \(mail for {domain}\.test loops "
            r"back to myself\)"), mta.inst.log()
    mta.wait_removed(qid)
    assert sink.connections == 0


def test_bracketed_relayhost_resolved_by_dns(mta, dns, sinks):
    port, (sink,) = sinks(["127.0.0.4"])
    dns.host("relay.test", "127.0.0.4")
    start(mta, dns, port, relayhost="[relay.test]")
    qid = mta.inject(MESSAGE, ["bob@far.example"], sender=SENDER)
    assert sink.wait_messages(1), mta.inst.log()
    mta.wait_removed(qid)
    assert re.search(sent_line(qid, "bob@far.example", "relay.test",
                               "127.0.0.4", port), mta.inst.log())
    # [brackets]: no MX question, and the recipient's domain is not asked
    assert dns.asked("relay.test", "A") >= 1
    assert dns.asked("relay.test", "MX") == 0
    assert dns.asked("far.example") == 0


def test_unknown_relayhost_defers(mta, dns, sinks):
    """A relayhost that does not exist is a configuration mistake: the
    mail behind it waits instead of bouncing."""
    port, _ = sinks(["127.0.0.2"])
    start(mta, dns, port, relayhost="[gone.test]")
    qid = mta.inject(MESSAGE, ["bob@far.example"], sender=SENDER)
    assert mta.inst.wait_log(
        rf"{qid}: to=<bob@far\.example>, relay=none, .*dsn=4\.4\.4, "
        r"status=deferred \(Host or domain name not found\. Name service "
        r"error for name=gone\.test type=A: Host not found\)"), \
        mta.inst.log()
    assert qid in mta.queue_ids()
    assert "status=bounced" not in mta.inst.log()


def test_destinations_delivered_in_parallel(mta, dns, sinks):
    """Three domains, three MX hosts, each slow to accept DATA: the three
    sessions are open at once and the whole takes far less than the sum."""
    delay = 2.0
    hosts = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    port, group = sinks(hosts, reply_delay=delay)
    rcpts = []
    for i, ip in enumerate(hosts, 1):
        dns.add(f"d{i}.test", "MX", (10, f"mx.d{i}.test"))
        dns.host(f"mx.d{i}.test", ip)
        rcpts.append(f"user{i}@d{i}.test")
    start(mta, dns, port)
    began = time.monotonic()
    qid = mta.inject(MESSAGE, rcpts, sender=SENDER)
    for s in group:
        assert s.wait_messages(1, timeout=20), mta.inst.log()
    took = time.monotonic() - began
    mta.wait_removed(qid)
    assert wait_for(lambda: all(s.spans for s in group))
    for s, rcpt in zip(group, rcpts):
        assert [m.rcpts for m in s.messages] == [[rcpt]]
    starts = [s.spans[0][0] for s in group]
    ends = [s.spans[0][1] for s in group]
    assert max(starts) < min(ends), (starts, ends)  # all open at once
    assert took < len(hosts) * delay - 1.0, took
