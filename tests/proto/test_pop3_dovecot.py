"""POP3 against Dovecot's: a Maildir written by Dovecot (doveadm save)
is served by Dovecot's own POP3 server and by Yubin's, and both must give
the same UIDLs (pop3_uidl_format = %08Xu%08Xv), the same LIST sizes and
the same RETR bytes, so that a client moving from Dovecot to Yubin
downloads nothing twice. A throwaway Dovecot (its own config, base_dir and
loopback port under a temp dir; /etc/dovecot is never touched) serves the
Maildir of the Yubin instance's user.
"""
import os
import grp
import pwd
import shutil
import subprocess

import pytest

from conftest import IS_ROOT, free_port, wait_for
from pop3_helpers import (PASSWORD, VMAIL_GID, VMAIL_UID, Pop, Pop3Instance,
                          pop3_wire)

DOVECOT = shutil.which("dovecot") or (
    "/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)
DOVEADM = shutil.which("doveadm") or (
    "/usr/bin/doveadm" if os.path.exists("/usr/bin/doveadm") else None)
HAVE_POP3 = os.path.exists("/usr/lib/dovecot/pop3")

pytestmark = pytest.mark.skipif(
    DOVECOT is None or DOVEADM is None or not HAVE_POP3,
    reason="Dovecot's POP3 server is not installed "
           "(apt-get install dovecot-pop3d)")

DUSER = "interop"


class DovecotPop3:
    """A throwaway Dovecot serving POP3 on a loopback port."""

    def __init__(self, base, maildir):
        self.base = os.path.join(base, "dovecot")
        self.conf = os.path.join(self.base, "dovecot.conf")
        self.log = os.path.join(self.base, "dovecot.log")
        self.port = free_port()
        self.proc = None
        for d in ("run", "state"):
            os.makedirs(os.path.join(self.base, d))
        with open(os.path.join(self.base, "passwd"), "w") as f:
            f.write("%s:{PLAIN}%s:%d:%d::%s::\n" % (DUSER, PASSWORD,
                                                    VMAIL_UID, VMAIL_GID,
                                                    self.base))
        users = ""
        if not IS_ROOT:
            me = pwd.getpwuid(os.getuid()).pw_name
            group = grp.getgrgid(os.getgid()).gr_name
            users = ("default_internal_user = {0}\ndefault_login_user = {0}\n"
                     "default_internal_group = {1}\n"
                     "service anvil {{\n  chroot =\n}}\n"
                     "service pop3-login {{\n  chroot =\n}}\n").format(me, group)
        with open(self.conf, "w") as f:
            f.write("""base_dir = {b}/run
state_dir = {b}/state
log_path = {b}/dovecot.log
protocols = pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
first_valid_uid = 1
first_valid_gid = 1
{users}mail_location = maildir:{md}
pop3_uidl_format = %08Xu%08Xv
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
passdb {{
  driver = passwd-file
  args = {b}/passwd
}}
userdb {{
  driver = passwd-file
  args = {b}/passwd
}}
""".format(b=self.base, md=maildir, users=users, port=self.port))

    def start(self):
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", self.conf])
        assert wait_for(lambda: os.path.exists(
            os.path.join(self.base, "run", "auth-userdb")), 20), self.log_text()
        from conftest import port_open
        assert wait_for(lambda: port_open(self.port), 20), self.log_text()

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
            self.proc = None

    def log_text(self):
        try:
            with open(self.log) as f:
                return f.read()
        except OSError:
            return ""

    def save(self, data):
        r = subprocess.run([DOVEADM, "-c", self.conf, "save", "-u", DUSER],
                           input=data, capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr


def view(port, user, password=PASSWORD):
    """UIDL list, LIST sizes and RETR bytes of a mailbox over POP3."""
    c = Pop(port)
    c.login(user, password)
    assert c.cmd("UIDL") == "+OK"
    uidl = c.multi()
    assert c.cmd("LIST").startswith("+OK")
    sizes = c.multi()
    bodies = []
    for i in range(len(sizes)):
        assert c.cmd("RETR %d" % (i + 1)).startswith("+OK")
        bodies.append(c.raw_multi())
    # RSET is not needed: nothing was marked; QUIT may set \Seen only
    assert c.cmd("QUIT").startswith("+OK")
    c.close()
    return uidl, sizes, bodies


def test_uidl_sizes_and_bytes_match_dovecot(yubin):
    p = Pop3Instance(yubin)
    p.service("pop3")
    p.start(users=1)
    user = p.fresh_user()
    maildir = p.maildir(user)
    os.makedirs(os.path.dirname(maildir), exist_ok=True)
    os.chown(os.path.dirname(maildir), VMAIL_UID, VMAIL_GID)
    dove = DovecotPop3(yubin.base, maildir)
    try:
        dove.start()
        messages = [
            b"From: a@example.com\nSubject: one\n\nHello.\n",
            b"From: b@example.com\r\nSubject: two\r\n\r\n.dot\r\n..dots\r\n",
            b"Subject: 8bit\n\n\xe6\x97\xa5\xe6\x9c\xac\n" + b"x" * 5000 + b"\n",
        ]
        for m in messages:
            dove.save(m)
        theirs = view(dove.port, DUSER)
        assert len(theirs[0]) == 3
        ours = view(p.ports["pop3"], user)
        assert ours == theirs
        # a file delivered next: Yubin gives its UID, Dovecot agrees
        p.deliver(user, b"Subject: later\n\nfour\n")
        ours = view(p.ports["pop3"], user)
        theirs = view(dove.port, DUSER)
        assert len(ours[0]) == 4
        assert ours == theirs
        # and the values are what the format says
        validity, uids = p.uidlist(user)
        assert sorted(l.split()[1] for l in ours[0]) == sorted(
            "%08x%08x" % (u, validity) for u in uids.values())
        bad = [l for l in dove.log_text().splitlines()
               if "Error" in l or "Panic" in l]
        assert not bad, dove.log_text()
    finally:
        dove.stop()
