"""Failed logins, as logged, are what fail2ban's stock filters catch.

A running instance logs to maillog_file while logins fail through authd
(VERIFY and SASL, IPv4 and IPv6, unknown users and wrong passwords) and
while tests/helpers/authc_tool writes the front ends' lines through the
same log_auth builders smtpd, imapd and pop3d use. Then Debian's
fail2ban-regex runs the stock postfix (mode=auth, the postfix-sasl jail's)
and dovecot filters, with the _daemon overrides shipped in
conf/fail2ban/filter.d/, over the log: every failure line must be matched,
with the client's address, and nothing else.
"""
import os
import re
import shutil
import subprocess

import pytest

from conftest import REPO, wait_for
from test_authd import TOOL, start, tool, verify

FILTERS = "/etc/fail2ban/filter.d"
SHIPPED = os.path.join(REPO, "conf", "fail2ban", "filter.d")


def fail2ban_regex():
    # mk/deps.sh installs fail2ban with the test dependencies
    path = shutil.which("fail2ban-regex")
    if path is None or not os.path.exists(os.path.join(FILTERS, "postfix.conf")):
        pytest.skip("fail2ban is not installed (apt-get install fail2ban)")
    return path


def filter_config(base):
    """A config directory with the stock filters and our overrides."""
    conf = os.path.join(base, "fail2ban")
    os.makedirs(os.path.join(conf, "filter.d"))
    for name in ("common.conf", "common.local", "postfix.conf",
                 "dovecot.conf"):
        src = os.path.join(FILTERS, name)
        if os.path.exists(src):
            shutil.copy(src, os.path.join(conf, "filter.d"))
    for name in os.listdir(SHIPPED):
        shutil.copy(os.path.join(SHIPPED, name), os.path.join(conf, "filter.d"))
    return conf


def matched_ips(regex, conf, log, filt):
    r = subprocess.run([regex, "--config", conf, "-o", "ip", log, filt],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return sorted(line.strip() for line in r.stdout.splitlines() if line.strip())


def test_failed_logins_match_stock_filters(yubin):
    regex = fail2ban_regex()
    log = os.path.join(yubin.base, "mail.log")
    yubin.set(maillog_file=log)
    inst = start(yubin)

    # authd's own lines: wrong passwords and unknown users, VERIFY and SASL
    assert verify(inst, "ann", "wrong", "192.0.2.11", "imap").returncode == 1
    assert verify(inst, "ann", "wrong", "2001:db8::12", "pop3").returncode == 1
    assert verify(inst, "zed@example.com", "x", "192.0.2.13",
                  "imap").returncode == 1
    r = tool(inst, "sasl", "PLAIN", "smtp", "192.0.2.14", "0", "--ir",
             "AGFubkBleGFtcGxlLmNvbQB3cm9uZw==")
    assert r.stdout.startswith("FAIL auth"), r.stdout
    # a name chosen to point fail2ban elsewhere
    assert verify(inst, "x,6.6.6.6)", "x", "192.0.2.15", "imap").returncode == 1
    # and one that succeeds: nobody may be banned for it
    assert verify(inst, "ann", "secret", "192.0.2.99", "imap").returncode == 0

    # the front ends' lines, through their builders
    def front(*args):
        r = subprocess.run([TOOL, "log", log, "yubin", *args],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr

    front("sasl-failed", "192.0.2.21", "PLAIN", "ann@example.com")
    front("sasl-failed", "2001:db8::22", "LOGIN", "bob")
    front("login-failed", "imap", "ann@example.com", "PLAIN", "192.0.2.23",
          "192.0.2.1")
    front("login-failed", "pop3", "x>, method=PLAIN, rip=6.6.6.6, y", "USER",
          "192.0.2.24", "192.0.2.1")

    assert wait_for(lambda: open(log).read().count("auth: ") >= 5)
    inst.stop()
    text = open(log).read()

    postfix = matched_ips(regex, filter_config(os.path.join(inst.base, "a")),
                          log, "postfix[mode=auth]")
    dovecot = matched_ips(regex, filter_config(os.path.join(inst.base, "b")),
                          log, "dovecot")
    # every failure line of each shape, counted from the log itself
    sasl_lines = re.findall(r"SASL \w+ authentication failed", text)
    login_lines = re.findall(r"-login: Disconnected: .*auth failed", text)
    auth_lines = re.findall(r"auth: \w+\(.*\): (?:Password mismatch|"
                            r"unknown user|Invalid credentials)", text)
    assert len(sasl_lines) == 2 and len(login_lines) == 2, text
    assert len(auth_lines) == 5, text
    assert postfix == sorted(["192.0.2.21", "2001:db8::22"]), (postfix, text)
    assert dovecot == sorted([
        "192.0.2.11", "2001:db8::12", "192.0.2.13", "192.0.2.14",
        "192.0.2.15", "192.0.2.23", "192.0.2.24"]), (dovecot, text)
    assert "6.6.6.6" not in postfix + dovecot
    assert "192.0.2.99" not in postfix + dovecot
