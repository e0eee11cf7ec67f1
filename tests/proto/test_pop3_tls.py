"""POP3 with TLS: STLS (RFC 2595) and implicit TLS (POP3S, tls_wrappermode),
disable_plaintext_auth's "secured" rule, the front end's plaintext relay
to the session, and fetchmail retrieving over TLS into an MDA.

Services of one instance: "pop3" (STLS offered), "pop3s" (-o
tls_wrappermode=yes), "trusted" (-o login_trusted_networks=127.0.0.2/32)
and "open" (-o disable_plaintext_auth=no). A client on 127.0.0.2 talking to
127.0.0.1 is not secured; one on 127.0.0.1 is (same address).
"""
import os
import re
import poplib
import shutil
import ssl
import subprocess
import tempfile

import pytest

from conftest import pid_alive, wait_for
from pop3_helpers import (PASSWORD, Pop, Pop3Instance, module_instance, msg,
                          plain_b64, pop3_wire)

REFUSED = ("-ERR [AUTH] Plaintext authentication disallowed on non-secure "
           "(SSL/TLS) connections.")


@pytest.fixture(scope="module")
def pop(request):
    p = Pop3Instance(module_instance(request))
    p.tls()
    p.service("pop3")
    p.service("pop3s", options=["tls_wrappermode=yes"])
    p.service("trusted", options=["login_trusted_networks=127.0.0.2/32"])
    p.service("open", options=["disable_plaintext_auth=no"])
    return p.start(users=16)


def capa(c):
    assert c.cmd("CAPA") == "+OK"
    return c.multi()


def test_not_secured_from_another_address(pop):
    user = pop.fresh_user()
    c = Pop(pop.ports["pop3"], source="127.0.0.2")
    caps = capa(c)
    assert "USER" not in caps and "STLS" in caps
    assert not [x for x in caps if x.startswith("SASL ") and "PLAIN" in x]
    assert c.cmd("USER " + user) == REFUSED
    assert c.cmd("PASS " + PASSWORD) == REFUSED
    assert c.cmd("AUTH PLAIN " + plain_b64(user)) == REFUSED
    assert c.cmd("AUTH LOGIN") == REFUSED
    # after STLS the same client may log in
    assert c.cmd("STLS") == "+OK Begin TLS negotiation now."
    c.starttls_wrap()
    caps = capa(c)
    assert "USER" in caps and "STLS" not in caps
    assert "SASL PLAIN LOGIN" in caps or "SASL LOGIN PLAIN" in caps
    c.login(user)
    assert c.cmd("STAT") == "+OK 0 0"
    assert pop.inst.wait_log(r"pop3-login: Login: user=<%s>, method=PLAIN, "
                             r"rip=127\.0\.0\.2, lip=127\.0\.0\.1, mpid=\d+, "
                             r"TLS" % user.replace(".", r"\."))


def test_secured_by_same_address_trusted_network_or_setting(pop):
    for service, source in (("pop3", "127.0.0.1"), ("trusted", "127.0.0.2"),
                            ("open", "127.0.0.2")):
        c = Pop(pop.ports[service], source=source)
        assert "USER" in capa(c), service
        c.login(pop.fresh_user())
        assert c.cmd("QUIT") == "+OK Logging out."
    # trusted networks do not trust everyone
    c = Pop(pop.ports["trusted"], source="127.0.0.3")
    assert c.cmd("USER " + pop.fresh_user()) == REFUSED


def test_stls_discards_pipelined_commands(pop):
    user = pop.fresh_user()
    c = Pop(pop.ports["pop3"], source="127.0.0.2")
    # RFC 2595 section 4: nothing sent with STLS counts after the switch
    c.send("STLS\r\nUSER %s\r\n" % user)
    assert c.line() == "+OK Begin TLS negotiation now."
    c.starttls_wrap()
    assert c.cmd("PASS " + PASSWORD) == "-ERR No username given."


def test_stls_login_relays_byte_exact_messages(pop):
    user = pop.fresh_user()
    small = b"Subject: s\n\n.dot\n\xe2\x9c\x89 8bit\n"
    big = b"Subject: big\n\n" + b"".join(
        b"%06d ......................................................\n" % i
        for i in range(100000))
    pop.deliver(user, small)
    pop.deliver(user, big)
    c = Pop(pop.ports["pop3"], source="127.0.0.2")
    assert c.cmd("STLS").startswith("+OK")
    c.starttls_wrap()
    # pipelined behind PASS: relayed to the session after the hand-off
    c.send("USER %s\r\nPASS %s\r\nRETR 1\r\nRETR 2\r\nNOOP\r\n"
           % (user, PASSWORD))
    assert c.line() == "+OK"
    assert c.line() == "+OK Logged in."
    for m in (small, big):
        wire, size = pop3_wire(m)
        assert c.line() == "+OK %d octets" % size
        assert c.raw_multi() == wire
    assert c.line() == "+OK"
    assert c.cmd("QUIT") == "+OK Logging out."
    assert c.closed()
    assert pop.inst.wait_log(r"pop3\(%s\): Disconnected: Logged out top=0/0, "
                             r"retr=2/\d+" % user.replace(".", r"\."))


def test_pop3s_with_poplib(pop):
    user = pop.fresh_user()
    pop.deliver(user, msg(5))
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    p = poplib.POP3_SSL("127.0.0.1", pop.ports["pop3s"], context=ctx,
                        timeout=10)
    assert p.getwelcome() == b"+OK Yubin ready."
    caps = p.capa()
    assert "STLS" not in caps and "USER" in caps
    p.user(user)
    assert p.pass_(PASSWORD) == b"+OK Logged in."
    resp, lines, octets = p.retr(1)
    assert b"\r\n".join(lines) + b"\r\n" == pop3_wire(msg(5))[0][:-3]
    assert p.quit() == b"+OK Logging out."


def test_pop3s_plaintext_is_allowed_from_anywhere(pop):
    c = Pop(pop.ports["pop3s"], source="127.0.0.2", tls=True)
    assert c.greeting == "+OK Yubin ready."
    assert c.cmd("STLS") == "-ERR TLS is already active."
    c.login(pop.fresh_user())
    assert c.cmd("STAT") == "+OK 0 0"


def test_client_closing_a_tls_session_ends_it(pop):
    user = pop.fresh_user()
    pop.deliver(user, msg(1))
    c = Pop(pop.ports["pop3s"], tls=True)
    c.login(user)
    assert c.cmd("DELE 1").startswith("+OK")
    c.close()
    assert pop.inst.wait_log(r"pop3\(%s\): Disconnected: Connection closed"
                             % user.replace(".", r"\."))
    assert len(pop.files(user)) == 1


FETCHMAIL = shutil.which("fetchmail")


@pytest.mark.skipif(FETCHMAIL is None,
                    reason="fetchmail is not installed (apt-get install fetchmail)")
@pytest.mark.parametrize("mode", ["stls", "pop3s"])
def test_fetchmail_over_tls_into_an_mda(pop, mode):
    user = pop.fresh_user()
    sent = [msg(1), b"Subject: dots\n\n.a\n..b\n.\n\xc3\xa9t\xc3\xa9\nend\n",
            msg(3) + (b"z" * 76 + b"\n") * 400]
    for m in sent:
        pop.deliver(user, m)
    work = tempfile.mkdtemp(prefix="fetchmail-")
    try:
        out = os.path.join(work, "out")
        os.mkdir(out)
        mda = os.path.join(work, "mda.sh")
        with open(mda, "w") as f:
            f.write('#!/bin/sh\nn=$(ls "%s" | wc -l)\ncat > "%s/$n.eml"\n'
                    % (out, out))
        os.chmod(mda, 0o755)
        port = pop.ports["pop3" if mode == "stls" else "pop3s"]
        tls = ("sslproto TLS1.2+" if mode == "stls" else "ssl")
        rc = os.path.join(work, "fetchmailrc")
        with open(rc, "w") as f:
            f.write('set no syslog\nset invisible\n'
                    'poll 127.0.0.1 service %d protocol pop3 '
                    'auth password timeout 20\n'
                    '  user "%s" password "%s" is "local" here\n'
                    '  %s no sslcertck\n  fetchall nokeep\n'
                    '  mda "%s"\n' % (port, user, PASSWORD, tls, mda))
        os.chmod(rc, 0o600)
        env = dict(os.environ, HOME=work, FETCHMAILHOME=work)
        r = subprocess.run([FETCHMAIL, "-f", rc, "-v", "--nodetach",
                            "-i", os.path.join(work, "ids")],
                           capture_output=True, text=True, env=env,
                           timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        got = [open(os.path.join(out, "%d.eml" % i), "rb").read()
               for i in range(len(sent))]
        # fetchmail hands the MDA LF line ends and the message unstuffed
        assert got == sent
        # nokeep: deleted at QUIT
        assert pop.files(user) == {}
        assert pop.inst.wait_log(
            r"pop3\(%s\): Disconnected: Logged out top=0/0, retr=3/\d+, "
            r"del=3/3" % user.replace(".", r"\."))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_reload_keeps_relayed_sessions(pop):
    user = pop.fresh_user()
    pop.deliver(user, msg(1))
    c = Pop(pop.ports["pop3s"], tls=True)
    c.login(user)
    front = int(re.findall(r"yubin/pop3d\[(\d+)\]: pop3-login: Login: "
                           r"user=<%s>" % re.escape(user), pop.inst.log())[-1])
    assert pop.inst.cmd("reload").returncode == 0
    assert pop.inst.wait_log(r"reload -- configuration")
    # the retired front end keeps relaying this session...
    assert c.cmd("STAT").startswith("+OK 1 ")
    assert c.cmd("RETR 1").startswith("+OK")
    assert c.raw_multi() == pop3_wire(msg(1))[0]
    # ...and new clients get in. A login racing the reload may meet the
    # retired front end just as its authd goes away: that is a temporary
    # failure ([SYS/TEMP]), which a client retries -- never a refusal
    user2 = pop.fresh_user()
    for attempt in range(3):
        n = Pop(pop.ports["pop3s"], tls=True)
        assert n.cmd("USER " + user2) == "+OK"
        reply = n.cmd("PASS " + PASSWORD)
        if reply == "+OK Logged in.":
            break
        assert reply.startswith("-ERR [SYS/TEMP]"), reply
        n.close()
    assert reply == "+OK Logged in.", reply
    assert n.cmd("QUIT") == "+OK Logging out."
    assert pid_alive(front)
    assert c.cmd("QUIT") == "+OK Logging out."
    assert c.closed()
    # the retired front end leaves once its last relay is done
    assert wait_for(lambda: not pid_alive(front), 10)
