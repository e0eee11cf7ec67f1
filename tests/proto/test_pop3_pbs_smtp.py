"""POP-before-SMTP end to end: a POP3 login from 127.0.0.3 lets 127.0.0.3
relay through smtpd (permit_pop_before_smtp); 127.0.0.4 may not; and once
pop_before_smtp_timeout has passed, 127.0.0.3 may not either.

Needs smtpd; skipped until bin/smtpd is built.
"""
import os
import smtplib
import time

import pytest

from conftest import BIN, wait_for
from pop3_helpers import Pop, Pop3Instance

pytestmark = pytest.mark.skipif(
    not os.path.exists(os.path.join(BIN, "smtpd")),
    reason="smtpd is not built yet (smtp/smtpd.c)")

TIMEOUT = 3     # pop_before_smtp_timeout, seconds


def rcpt_from(port, source):
    """The reply code to RCPT TO a remote domain, from source."""
    with smtplib.SMTP("127.0.0.1", port, timeout=15,
                      source_address=(source, 0)) as s:
        s.ehlo("client.example.net")
        code, _ = s.mail("sender@example.net")
        assert code == 250
        code, text = s.rcpt("someone@remote.example.org")
        s.rset()
        return code, text


def test_pop_before_smtp_relay(yubin):
    p = Pop3Instance(yubin)
    p.service("pop3", options=["disable_plaintext_auth=no"])
    smtp = yubin.add_service("smtpd")
    p.ports["smtp"] = smtp
    p.start(users=1, mynetworks="127.0.0.1/32",
            smtpd_relay_restrictions="permit_pop_before_smtp, "
                                     "reject_unauth_destination",
            pop_before_smtp_timeout=f"{TIMEOUT}s")
    user = p.fresh_user()

    # no grant yet: relaying is refused for both
    assert rcpt_from(smtp, "127.0.0.3")[0] >= 500
    assert rcpt_from(smtp, "127.0.0.4")[0] >= 500

    c = Pop(p.ports["pop3"], source="127.0.0.3")
    c.login(user)
    granted = time.monotonic()
    assert c.cmd("QUIT").startswith("+OK")

    assert rcpt_from(smtp, "127.0.0.3")[0] == 250
    code, text = rcpt_from(smtp, "127.0.0.4")
    assert code == 554 and b"Relay access denied" in text

    # after pop_before_smtp_timeout the grant has lapsed
    time.sleep(max(0.0, TIMEOUT + 1.0 - (time.monotonic() - granted)))
    assert wait_for(lambda: rcpt_from(smtp, "127.0.0.3")[0] >= 500, 5)
