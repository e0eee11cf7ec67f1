"""POP-before-SMTP, end to end, as the restriction permit_pop_before_smtp.

mynetworks = 127.0.0.1/32 and smtpd_relay_restrictions =
permit_mynetworks, permit_pop_before_smtp, reject_unauth_destination.
Relaying from 127.0.0.3 is refused until a grant exists for it; a grant
made through authd directly (tests/helpers/authc_tool, as IMAP and POP3
logins make them) lets it relay, 127.0.0.4 still may not; a real POP3
login from 127.0.0.5 lets 127.0.0.5 relay, a failed one from 127.0.0.6
grants nothing; after pop_before_smtp_timeout the grants have lapsed.
"""
import os
import subprocess
import time

from conftest import HELPERS, wait_for
from pop3_helpers import Pop, Pop3Instance
from test_smtpd import session

TIMEOUT = 3     # pop_before_smtp_timeout, seconds


def rcpt_from(port, source):
    c = session(port, source)
    try:
        assert c.cmd("MAIL FROM:<ann@example.com>").startswith(b"250")
        return c.cmd("RCPT TO:<someone@outside.example>").decode()
    finally:
        c.close()


def authc(inst, *args):
    return subprocess.run([os.path.join(HELPERS, "authc_tool"), "-s",
                           os.path.join(inst.data, "authd.socket"), *args],
                          capture_output=True, text=True, timeout=30)


DENIED = "554 5.7.1 <someone@outside.example>: Relay access denied"


def test_pop_before_smtp(yubin):
    p = Pop3Instance(yubin)
    p.service("pop3", options=["disable_plaintext_auth=no"])
    smtp = yubin.add_service("smtpd")
    p.ports["smtp"] = smtp
    p.start(users=2, mynetworks="127.0.0.1/32",
            smtpd_relay_restrictions="permit_mynetworks, permit_pop_before_smtp, "
                                     "reject_unauth_destination",
            pop_before_smtp_timeout=f"{TIMEOUT}s", smtpd_error_sleep_time="0")
    user = p.fresh_user()
    for ip in ("127.0.0.3", "127.0.0.5", "127.0.0.6"):
        assert rcpt_from(smtp, ip) == DENIED
    # a grant through authd directly
    r = authc(yubin, "pbs-grant", "127.0.0.3", user)
    assert r.returncode == 0, r.stdout + r.stderr
    granted = time.monotonic()
    assert rcpt_from(smtp, "127.0.0.3") == "250 2.1.5 Ok"
    assert rcpt_from(smtp, "127.0.0.4") == DENIED
    # a POP3 login grants its own address; a failed one grants nothing
    c = Pop(p.ports["pop3"], source="127.0.0.5")
    c.login(user)
    assert c.cmd("QUIT").startswith("+OK")
    c = Pop(p.ports["pop3"], source="127.0.0.6")
    assert c.cmd("USER " + user) == "+OK"
    assert c.cmd("PASS wrong-password").startswith("-ERR")
    c.close()
    assert rcpt_from(smtp, "127.0.0.5") == "250 2.1.5 Ok"
    assert rcpt_from(smtp, "127.0.0.6") == DENIED
    assert yubin.wait_log(r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.6\]: 554 5\.7\.1")
    # the grants lapse after pop_before_smtp_timeout
    time.sleep(max(0.0, TIMEOUT + 0.5 - (time.monotonic() - granted)))
    assert wait_for(lambda: rcpt_from(smtp, "127.0.0.3") == DENIED, 5)
    assert wait_for(lambda: rcpt_from(smtp, "127.0.0.5") == DENIED, 5)
