"""A Postfix administrator's restriction lists, loaded unchanged.

SEED is the main.cf of a Japanese Postfix + Dovecot set-up note (its SMTP
AUTH section and its "spam" section, in the note's order, so that the
later smtpd_recipient_restrictions wins as it would in main.cf), byte for
byte but for the access table's path. Its lists are exercised case by
case against a DNS server on loopback (dnsserver.py): a client in and out
of mynetworks, HELO names that are invalid, unresolvable or not fully
qualified, senders whose domain does not exist or cannot be looked up,
access-table OK and REJECT hits, relaying, and, with the note's
commented-out blocklist lines switched on as its author intended, a
client listed in one of them.
"""
import os

from dnsserver import DnsServer
from test_smtpd import Raw, smtpd_start

SEED = """\
smtpd_sasl_auth_enable = yes
smtp_sasl_password_maps = hash:/etc/postfix/sasl_passwd
smtp_sasl_mechanism_filter = plain
smtpd_sasl_local_domain = $myhostname
smtpd_recipient_restrictions =
    permit_mynetworks
    permit_sasl_authenticated
    reject_unauth_destination

smtpd_client_restrictions =
        permit_mynetworks,
        check_client_access hash:/etc/postfix/access,
#        reject_rbl_client all.rbl.jp,
#        reject_rbl_client bl.spamcop.net,
#        reject_rbl_client list.dsbl.org,
#        reject_rbl_client sbl-xbl.spamhaus.org,
\tpermit

smtpd_helo_required = yes
smtpd_helo_restrictions =
        permit_mynetworks,
        check_helo_access hash:/etc/postfix/access,
        reject_invalid_hostname,
        reject_unknown_hostname,
        reject_non_fqdn_hostname,
\tpermit

smtpd_sender_restrictions =
        permit_mynetworks,
        check_sender_access hash:/etc/postfix/access,
\treject_unknown_sender_domain,
        reject_non_fqdn_sender

smtpd_recipient_restrictions =
        permit_mynetworks,
        permit_sasl_authenticated,
\tcheck_recipient_access hash:/etc/postfix/access,
        reject_non_fqdn_recipient,
        reject_unauth_destination
        permit_auth_destination,
        reject
"""

ACCESS = """\
# /etc/postfix/access
127.0.0.6                 REJECT
spam.example              REJECT spam source
helo.bad.example          REJECT
spammer@example.org       REJECT
friend@unknown.example    OK
abuse@mail.example.com    REJECT abuse desk is closed
"""


def zone(dns):
    dns.ptr("127.0.0.2", "client.example.net")
    dns.host("client.example.net", "127.0.0.2")
    dns.host("mail.client.example.net", "192.0.2.10")
    dns.host("intranet", "192.0.2.11")          # resolves, not an FQDN
    dns.add("example.org", "MX", (10, "mx.example.org"))
    dns.host("mx.example.org", "192.0.2.20")
    dns.host("localdomain", "192.0.2.21")
    dns.servfail("broken.example")
    # the blocklists of the note's commented-out lines
    for bl in ("all.rbl.jp", "bl.spamcop.net"):
        dns.add(f"7.0.0.127.{bl}", "A", "127.0.0.2")
        dns.add(f"7.0.0.127.{bl}", "TXT", f"listed by {bl}")


def start(yubin, dns, seed=SEED):
    """The seed in main.cf (its /etc/postfix/ files in the instance's
    directory), our DNS server, and an smtpd."""
    for name, text in (("access", ACCESS), ("sasl_passwd", "")):
        path = os.path.join(yubin.base, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o644)
    main = seed.replace("/etc/postfix/", yubin.base + "/")
    # mynetworks as this test needs it (the note trusts 127.0.0.0/8 and
    # 192.168.0.0/24)
    yubin.set(mynetworks="127.0.0.1/32", dns_servers=dns.server,
              smtpd_peername_lookup="yes", dns_timeout="2s")
    real_write = yubin.write

    def write(extra_main="", extra_master=""):
        real_write(extra_main=extra_main + main, extra_master=extra_master)
    yubin.write = write
    return smtpd_start(yubin)


def attempt(port, source, helo, sender, rcpt):
    """One try: the first refusal, or the RCPT reply."""
    c = Raw(port, source)
    try:
        greeting = c.reply()
        assert greeting.startswith(b"220"), greeting
        r = c.cmd(f"EHLO {helo}")
        if not r.startswith(b"250"):
            return r.decode()
        r = c.cmd(f"MAIL FROM:<{sender}>")
        if not r.startswith(b"250"):
            return r.decode()
        return c.cmd(f"RCPT TO:<{rcpt}>").decode()
    finally:
        c.close()


GOOD = ("mail.client.example.net", "user@example.org", "root@mail.example.com")

CASES = [
    # (name, source, helo, sender, recipient, reply)
    ("mynetworks may relay with a bad HELO and sender", "127.0.0.1", "pc",
     "x@nowhere.example", "x@outside.example", "250 2.1.5 Ok"),
    ("outside mynetworks: local mail", "127.0.0.2", *GOOD, "250 2.1.5 Ok"),
    # the note sets no smtpd_relay_restrictions: the default's
    # defer_unauth_destination answers first, as in Postfix 2.10 and later
    ("outside mynetworks: no relaying", "127.0.0.2", GOOD[0], GOOD[1],
     "x@outside.example",
     "454 4.7.1 <x@outside.example>: Relay access denied"),
    ("client address in the access table", "127.0.0.6", *GOOD,
     "554 5.7.1 <unknown[127.0.0.6]>: Client host rejected: Access denied"),
    ("invalid HELO", "127.0.0.2", "bad_host!", GOOD[1], GOOD[2],
     "501 5.5.2 <bad_host!>: Helo command rejected: Invalid name"),
    ("unresolvable HELO", "127.0.0.2", "nowhere.example.net", GOOD[1],
     GOOD[2], "450 4.7.1 <nowhere.example.net>: Helo command rejected: Host "
     "not found"),
    ("non-FQDN HELO", "127.0.0.2", "intranet", GOOD[1], GOOD[2],
     "504 5.5.2 <intranet>: Helo command rejected: need fully-qualified "
     "hostname"),
    ("HELO in the access table", "127.0.0.2", "helo.bad.example", GOOD[1],
     GOOD[2], "554 5.7.1 <helo.bad.example>: Helo command rejected: Access "
     "denied"),
    ("sender domain unknown", "127.0.0.2", GOOD[0], "x@nowhere.example",
     GOOD[2], "450 4.1.8 <x@nowhere.example>: Sender address rejected: "
     "Domain not found"),
    ("sender domain lookup fails", "127.0.0.2", GOOD[0], "x@broken.example",
     GOOD[2], "450 4.1.8 <x@broken.example>: Sender address rejected: "
     "Domain not found"),
    ("non-FQDN sender", "127.0.0.2", GOOD[0], "x@localdomain", GOOD[2],
     "504 5.5.2 <x@localdomain>: Sender address rejected: need "
     "fully-qualified address"),
    ("sender REJECT", "127.0.0.2", GOOD[0], "spammer@example.org", GOOD[2],
     "554 5.7.1 <spammer@example.org>: Sender address rejected: Access "
     "denied"),
    ("sender domain REJECT with text", "127.0.0.2", GOOD[0],
     "a@mx.spam.example", GOOD[2], "554 5.7.1 <a@mx.spam.example>: Sender "
     "address rejected: spam source"),
    ("sender OK skips the DNS check", "127.0.0.2", GOOD[0],
     "friend@unknown.example", GOOD[2], "250 2.1.5 Ok"),
    ("recipient REJECT", "127.0.0.2", GOOD[0], GOOD[1],
     "abuse@mail.example.com", "554 5.7.1 <abuse@mail.example.com>: "
     "Recipient address rejected: abuse desk is closed"),
    ("non-FQDN recipient", "127.0.0.2", GOOD[0], GOOD[1], "root@localhost",
     "504 5.5.2 <root@localhost>: Recipient address rejected: need "
     "fully-qualified address"),
]


def test_seed_lists_case_by_case(yubin):
    with DnsServer() as dns:
        zone(dns)
        port = start(yubin, dns)
        for name, source, helo, sender, rcpt, want in CASES:
            got = attempt(port, source, helo, sender, rcpt)
            assert got == want, (name, got, want)
        # smtpd_helo_required
        c = Raw(port, "127.0.0.2")
        c.reply()
        assert c.cmd("MAIL FROM:<user@example.org>") == \
            b"503 5.5.1 Error: send HELO/EHLO first"
        c.close()
        # the client's name came from the reverse look-up
        assert yubin.wait_log(r"connect from client\.example\.net\[127\.0\.0\.2\]")
        # a SERVFAIL was asked about, and answered with a 4xx only
        assert dns.asked("broken.example") >= 1


def test_seed_blocklists_switched_on(yubin):
    seed = SEED.replace("#        reject_rbl_client all.rbl.jp,",
                        "        reject_rbl_client all.rbl.jp,")
    seed = seed.replace("#        reject_rbl_client bl.spamcop.net,",
                        "        reject_rbl_client bl.spamcop.net,")
    with DnsServer() as dns:
        zone(dns)
        port = start(yubin, dns, seed)
        assert attempt(port, "127.0.0.7", *GOOD) == \
            "554 5.7.1 Service unavailable; Client host [127.0.0.7] blocked " \
            "using all.rbl.jp; listed by all.rbl.jp"
        assert attempt(port, "127.0.0.2", *GOOD) == "250 2.1.5 Ok"
        assert attempt(port, "127.0.0.1", *GOOD) == "250 2.1.5 Ok"
        assert dns.asked("2.0.0.127.all.rbl.jp", "A") >= 1
        assert dns.asked("1.0.0.127.all.rbl.jp") == 0    # mynetworks first
