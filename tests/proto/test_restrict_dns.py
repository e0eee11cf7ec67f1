"""DNS in smtpd: the client's name at connect (PTR, forward-confirmed),
its look-up timeout that stalls no other session, the restrictions on the
client's name, DNS blocklists with a reply filter and TXT text, RHS
blocklists, and a name server that fails or stays silent: always a 4xx,
never a permit. smtpd asks the DNS server of dnsserver.py (dns_servers).
"""
import os
import threading
import time

from dnsserver import DnsServer
from test_smtpd import Raw, session, smtpd_start


def zone(dns):
    dns.ptr("127.0.0.2", "good.example.net")
    dns.host("good.example.net", "127.0.0.2")
    dns.ptr("127.0.0.3", "forged.example.net")
    dns.host("forged.example.net", "192.0.2.99")
    dns.ptr("127.0.0.4", "gone.example.net")        # no A record
    dns.drop("5.0.0.127.in-addr.arpa")              # PTR never answered
    dns.add("example.org", "MX", (10, "mx.example.org"))
    dns.host("mx.example.org", "192.0.2.20")
    dns.drop("slow.example")
    dns.drop("slow.example.bl.test")
    dns.add("nullmx.example", "MX", (0, "."))
    # client blocklist: 127.0.0.2 is 127.0.0.4 (a "policy" listing),
    # 127.0.0.3 is 127.0.0.2 (a "spam" listing)
    dns.add("2.0.0.127.bl.test", "A", "127.0.0.4")
    dns.add("3.0.0.127.bl.test", "A", "127.0.0.2")
    dns.add("3.0.0.127.bl.test", "TXT", "spam source, see http://bl.test/")
    dns.add("3.0.0.127.bl.test", "TXT", "second reason")
    dns.add("bad.example.bl.test", "A", "127.0.0.2")
    dns.add("example.org.bl.test", "A", "127.0.0.2")


def start(yubin, dns, **params):
    yubin.set(dns_servers=dns.server, smtpd_peername_lookup="yes",
              smtpd_client_lookup_timeout="1s", dns_timeout="1s",
              mynetworks="127.0.0.1/32")
    return smtpd_start(yubin, **params)


def rcpt(port, source, sender="user@mx.example.org",
         rcpt_to="root@mail.example.com", helo="client.example.net"):
    c = session(port, source, helo)
    try:
        r = c.cmd(f"MAIL FROM:<{sender}>")
        if not r.startswith(b"250"):
            return r.decode()
        return c.cmd(f"RCPT TO:<{rcpt_to}>").decode()
    finally:
        c.close()


def test_client_names(yubin):
    with DnsServer() as dns:
        zone(dns)
        port = start(yubin, dns,
                     smtpd_client_restrictions="permit_mynetworks, "
                     "reject_unknown_reverse_client_hostname, "
                     "check_client_access inline:{good.example.net=OK}, "
                     "reject_unknown_client_hostname")
        assert rcpt(port, "127.0.0.2") == "250 2.1.5 Ok"
        assert yubin.wait_log(r"connect from good\.example\.net\[127\.0\.0\.2\]")
        # PTR, but its name does not map back: unknown, PERM (450 default)
        assert rcpt(port, "127.0.0.3") == \
            "450 4.7.25 Client host rejected: cannot find your hostname, " \
            "[127.0.0.3]"
        assert yubin.wait_log(r"warning: hostname forged\.example\.net does not "
                              r"resolve to address 127\.0\.0\.3")
        assert yubin.wait_log(r"connect from unknown\[127\.0\.0\.3\]")
        # no PTR at all
        assert rcpt(port, "127.0.0.6") == \
            "450 4.7.1 Client host rejected: cannot find your reverse " \
            "hostname, [127.0.0.6]"
        # mynetworks first
        assert rcpt(port, "127.0.0.1") == "250 2.1.5 Ok"


def test_reverse_lookup_timeout_stalls_no_one(yubin):
    with DnsServer() as dns:
        zone(dns)
        # a 3 s look-up timeout leaves wide margins on a loaded machine
        port = start(yubin, dns, unknown_client_reject_code="550",
                     smtpd_client_lookup_timeout="3s", dns_timeout="3s",
                     smtpd_client_restrictions="reject_unknown_client_hostname")
        slow = {}

        def slow_client():
            t0 = time.monotonic()
            c = Raw(port, "127.0.0.5")
            slow["greeting"] = c.reply()
            slow["after"] = time.monotonic() - t0
            slow["reply"] = (c.cmd("EHLO x.example"), c.cmd("MAIL FROM:<a@example.org>"),
                             c.cmd("RCPT TO:<root@mail.example.com>"))
            c.close()
        th = threading.Thread(target=slow_client)
        th.start()
        # while 127.0.0.5's PTR goes unanswered, 127.0.0.2 is served at once
        deadline = time.monotonic() + 5
        while dns.asked("5.0.0.127.in-addr.arpa") == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        t0 = time.monotonic()
        c = Raw(port, "127.0.0.2")
        assert c.reply().startswith(b"220 ")
        assert time.monotonic() - t0 < 1.5
        c.close()
        th.join(20)
        # the slow one was greeted after smtpd_client_lookup_timeout (3s),
        # as unknown, with a temporary error (the name may be found later)
        assert 2.5 <= slow["after"] < 8, slow
        assert slow["greeting"].startswith(b"220 ")
        assert slow["reply"][2] == b"450 4.7.25 Client host rejected: cannot find " \
            b"your hostname, [127.0.0.5]", slow
        assert yubin.wait_log(r"connect from unknown\[127\.0\.0\.5\]")


def test_blocklists_and_domains(yubin):
    with DnsServer() as dns:
        zone(dns)
        # keyed by the list as the restriction names it, filter included
        replies = os.path.join(yubin.base, "rbl_replies")
        with open(replies, "w") as f:
            f.write("bl.test=127.0.0.[2..3] $rbl_code 5.7.0 $rbl_class "
                    "$rbl_what is on $rbl_domain${rbl_reason?: $rbl_reason}\n")
        os.chmod(replies, 0o644)
        port = start(
            yubin, dns, rbl_reply_maps=f"texthash:{replies}",
            smtpd_client_restrictions="reject_rbl_client bl.test=127.0.0.[2..3]",
            smtpd_helo_restrictions="reject_rhsbl_helo bl.test, "
                                    "reject_unknown_helo_hostname",
            smtpd_sender_restrictions="reject_rhsbl_sender bl.test=127.0.0.2, "
                                      "reject_unknown_sender_domain")
        # 127.0.0.2 is listed, but its answer does not match the filter
        assert rcpt(port, "127.0.0.2", helo="mx.example.org") == "250 2.1.5 Ok"
        # listed (the reply template of rbl_reply_maps, both TXT records)
        assert rcpt(port, "127.0.0.3", helo="mx.example.org") == \
            "554 5.7.0 Client host 127.0.0.3 is on bl.test: spam source, " \
            "see http://bl.test/ / second reason"
        # the default template when rbl_reply_maps has no entry
        yubin.stop()
        yubin.set(rbl_reply_maps="")
        yubin.write()
        yubin.start(wait_ports=[port])
        assert rcpt(port, "127.0.0.3", helo="mx.example.org") == \
            "554 5.7.1 Service unavailable; Client host [127.0.0.3] blocked " \
            "using bl.test; spam source, see http://bl.test/ / second reason"
        assert rcpt(port, "127.0.0.2", helo="bad.example") == \
            "554 5.7.1 Service unavailable; Helo command [bad.example] blocked " \
            "using bl.test"
        assert rcpt(port, "127.0.0.2", helo="mx.example.org",
                    sender="a@example.org") == \
            "554 5.7.1 Service unavailable; Sender address [a@example.org] " \
            "blocked using bl.test"
        assert rcpt(port, "127.0.0.2", helo="nowhere.example") == \
            "450 4.7.1 <nowhere.example>: Helo command rejected: Host not found"
        # a name server that stays silent: 450 after dns_timeout, no permit
        t0 = time.monotonic()
        assert rcpt(port, "127.0.0.2", helo="mx.example.org",
                    sender="a@slow.example") == \
            "450 4.1.8 <a@slow.example>: Sender address rejected: Domain not found"
        assert time.monotonic() - t0 < 4
        assert rcpt(port, "127.0.0.2", helo="mx.example.org",
                    sender="a@nullmx.example") == \
            "550 5.7.27 <a@nullmx.example>: Sender address rejected: Domain " \
            "nullmx.example does not accept mail (nullMX)"
        # a blocklist that cannot be asked is skipped, with a warning
        assert yubin.wait_log(r"warning: slow\.example\.bl\.test: RBL lookup error")


def test_dns_servers_is_checked(yubin):
    yubin.set(dns_servers="127.0.0.1:99999")
    yubin.add_service("smtpd")
    yubin.write()
    yubin.start()
    assert yubin.wait_log(r"fatal: \S+/main\.cf:\d+: dns_servers: bad server "
                          r"\"127\.0\.0\.1:99999\"")
