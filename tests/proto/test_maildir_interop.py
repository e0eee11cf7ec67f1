"""Maildir interop with a real Dovecot (Debian's dovecot-imapd).

Yubin's library (through tests/helpers/maildir_tool) writes a Maildir:
folders (one named in Japanese, one nested), subscriptions, deliveries,
flags and keywords, an expunge, APPEND with flags and a date, COPY and MOVE.
A throwaway Dovecot (own config and base_dir under a temp dir, no listeners;
/etc/dovecot and the system service are never touched) then reads it with
doveadm, and must see the same UIDVALIDITY, UIDNEXT, UIDs, flags, keywords,
sizes and subscriptions, and log no complaint. Then the other way round:
changes made by Dovecot are read back through the library.
"""
import grp
import os
import pwd
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import HELPERS, IS_ROOT, wait_for

DOVECOT = shutil.which("dovecot") or (
    "/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)
DOVEADM = shutil.which("doveadm") or (
    "/usr/bin/doveadm" if os.path.exists("/usr/bin/doveadm") else None)
TOOL = os.path.join(HELPERS, "maildir_tool")

pytestmark = [
    pytest.mark.skipif(DOVECOT is None or DOVEADM is None,
                       reason="Dovecot is not installed "
                              "(apt-get install dovecot-imapd)"),
    pytest.mark.skipif(not os.path.exists(TOOL),
                       reason="tests/helpers/maildir_tool is not built "
                              "(run make)"),
]

USER = "interop"
# as root the mail belongs to nobody: Dovecot refuses mail users with uid 0
OWNER = 65534 if IS_ROOT else os.getuid()
GROUP = 65534 if IS_ROOT else os.getgid()

MSG = ("From: Ann <ann@example.com>\r\nTo: bob@example.com\r\n"
       "Subject: {0}\r\nMessage-ID: <{0}@example.com>\r\n\r\n"
       "Hello.\r\nLine two.\r\n")


class Dovecot:
    """A throwaway Dovecot reading one Maildir."""

    def __init__(self, base):
        self.base = base
        self.maildir = os.path.join(base, "Maildir")
        self.conf = os.path.join(base, "dovecot.conf")
        self.log = os.path.join(base, "dovecot.log")
        self.proc = None
        for d in ("run", "state", "home"):
            os.makedirs(os.path.join(base, d), exist_ok=True)
        with open(os.path.join(base, "passwd"), "w") as f:
            f.write("%s:{PLAIN}secret:%d:%d::%s/home::\n"
                    % (USER, OWNER, GROUP, base))
        users = ""
        if not IS_ROOT:
            me = pwd.getpwuid(os.getuid()).pw_name
            group = grp.getgrgid(os.getgid()).gr_name
            # unprivileged: every service as us, and no chroot
            users = ("default_internal_user = {0}\ndefault_login_user = {0}\n"
                     "default_internal_group = {1}\n"
                     "service anvil {{\n  chroot =\n}}\n").format(me, group)
        with open(self.conf, "w") as f:
            f.write("""base_dir = {b}/run
state_dir = {b}/state
log_path = {b}/dovecot.log
protocols =
ssl = no
first_valid_uid = 1
first_valid_gid = 1
{users}mail_location = maildir:{b}/Maildir
namespace inbox {{
  inbox = yes
  separator = .
}}
passdb {{
  driver = passwd-file
  args = {b}/passwd
}}
userdb {{
  driver = passwd-file
  args = {b}/passwd
}}
""".format(b=base, users=users))
        if IS_ROOT:
            os.chown(os.path.join(base, "home"), OWNER, GROUP)

    def start(self):
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", self.conf])
        sock = os.path.join(self.base, "run", "auth-userdb")
        assert wait_for(lambda: os.path.exists(sock), timeout=20), \
            "dovecot did not start: " + self.log_text()

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

    def adm(self, *args, tab=True):
        cmd = [DOVEADM, "-c", self.conf] + (["-f", "tab"] if tab else []) \
            + list(args)
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, "%s: %s" % (" ".join(args), out.stderr)
        return out.stdout

    def table(self, *args):
        lines = self.adm(*args).splitlines()
        if not lines:
            return []
        head = lines[0].split("\t")
        return [dict(zip(head, line.split("\t"))) for line in lines[1:]]

    def view(self):
        """what Dovecot sees, in the shape of maildir_tool dump"""
        folders = {}
        for r in self.table("mailbox", "status", "-u", USER,
                            "uidvalidity uidnext messages", "*"):
            folders[r["mailbox"]] = (int(r["uidvalidity"]), int(r["uidnext"]),
                                     int(r["messages"]))
        msgs = {}
        for r in self.table("fetch", "-u", USER,
                            "mailbox uid size.virtual flags", "all"):
            flags = frozenset(f for f in r["flags"].split() if f != "\\Recent")
            msgs[(r["mailbox"], int(r["uid"]))] = (int(r["size.virtual"]),
                                                   flags)
        subs = sorted(r["mailbox"] for r in
                      self.table("mailbox", "list", "-s", "-u", USER))
        return folders, msgs, subs


def tool(maildir, *args, input=None):
    """run maildir_tool as the mailbox owner; returns its stdout"""
    kw = {"user": OWNER, "group": GROUP} if IS_ROOT else {}
    out = subprocess.run([TOOL, maildir] + list(args), input=input,
                         capture_output=True, timeout=60, **kw)
    assert out.returncode == 0, "maildir_tool %s: %s" % (
        " ".join(args), out.stderr.decode(errors="replace"))
    return out.stdout.decode().strip()


def yubin_view(maildir):
    folders, msgs, subs = {}, {}, []
    for line in tool(maildir, "dump").splitlines():
        f = line.split("\t")
        if f[0] == "folder":
            folders[f[1]] = (int(f[2]), int(f[3]), int(f[4]))
        elif f[0] == "msg":
            msgs[(f[1], int(f[2]))] = (int(f[3]), frozenset(f[4:]))
        elif f[0] == "subscribed":
            subs.append(f[1])
    return folders, msgs, sorted(subs)


def assert_same(yubin, dovecot):
    yf, ym, ys = yubin
    df, dm, ds = dovecot
    assert yf == df, "folders (UIDVALIDITY, UIDNEXT, MESSAGES) differ"
    for key in sorted(set(ym) | set(dm)):
        assert ym.get(key) == dm.get(key), \
            "%s UID %d: yubin %s, dovecot %s" % (key[0], key[1], ym.get(key),
                                                 dm.get(key))
    assert ys == ds


def assert_quiet(dove):
    bad = [line for line in dove.log_text().splitlines()
           if ("Error" in line or "Warning" in line or "Panic" in line)]
    assert not bad, "dovecot complained:\n" + "\n".join(bad)


@pytest.fixture
def dove():
    base = tempfile.mkdtemp(prefix="yubin-dovecot.")
    os.chmod(base, 0o755)
    d = Dovecot(base)
    os.makedirs(d.maildir)
    if IS_ROOT:
        os.chown(d.maildir, OWNER, GROUP)
    yield d
    d.stop()
    shutil.rmtree(base, ignore_errors=True)


def test_dovecot_reads_what_yubin_wrote(dove):
    md = dove.maildir
    for name in ("日本語", "Work", "Work.Projects"):
        tool(md, "create", name)
    for name in ("INBOX", "日本語", "Work.Projects"):
        tool(md, "subscribe", name)
    for i in range(1, 5):
        tool(md, "deliver", "INBOX", input=MSG.format("in%d" % i).encode())
    for i in range(1, 3):
        tool(md, "deliver", "日本語", input=MSG.format("jp%d" % i).encode())
    tool(md, "deliver", "Work.Projects",
         input=b"Subject: bare LFs\n\nline\nline\r\nline\n")
    tool(md, "store", "INBOX", "1", "+", "\\Seen", "$Forwarded")
    tool(md, "store", "INBOX", "2", "+", "\\Flagged", "Junk", "custom")
    tool(md, "expunge", "INBOX", "3")
    # letters in this folder are its own: Junk is 'a' here, not 'b'
    tool(md, "store", "日本語", "2", "=", "\\Answered", "Junk", "$Forwarded")
    assert tool(md, "append", "INBOX", "1700000000", "\\Answered", "\\Draft",
                "Later", input=MSG.format("appended").encode()) == "5"
    assert tool(md, "copy", "INBOX", "1", "Work.Projects") == "2"
    assert tool(md, "move", "INBOX", "2", "日本語") == "3"

    ours = yubin_view(md)
    assert ours[0]["INBOX"][1:] == (6, 3)
    assert ours[1][("INBOX", 1)][1] == {"\\Seen", "$Forwarded"}
    assert ours[1][("日本語", 3)][1] == {"\\Flagged", "Junk", "custom"}

    dove.start()
    assert_same(ours, dove.view())

    # a delivery Yubin has not given a UID yet: Dovecot gives the next one,
    # and Yubin then agrees
    tool(md, "deliver", "INBOX", input=MSG.format("unseen").encode())
    theirs = dove.view()
    assert theirs[0]["INBOX"][1:] == (7, 4)
    assert ("INBOX", 6) in theirs[1]
    assert_same(yubin_view(md), theirs)
    assert_quiet(dove)


def test_yubin_reads_what_dovecot_changed(dove):
    md = dove.maildir
    tool(md, "create", "Work")
    for i in range(1, 4):
        tool(md, "deliver", "INBOX", input=MSG.format("m%d" % i).encode())
    tool(md, "store", "INBOX", "1", "+", "Junk")
    before = yubin_view(md)
    dove.start()
    assert_same(before, dove.view())

    dove.adm("flags", "add", "-u", USER, "\\Seen \\Deleted NewKeyword",
             "mailbox", "INBOX", "uid", "1", tab=False)
    dove.adm("flags", "remove", "-u", USER, "Junk", "mailbox", "INBOX",
             "uid", "1", tab=False)
    dove.adm("expunge", "-u", USER, "mailbox", "INBOX", "uid", "2", tab=False)
    dove.adm("mailbox", "create", "-u", USER, "Dove.Made", "Ünïcödé", tab=False)
    dove.adm("mailbox", "subscribe", "-u", USER, "Ünïcödé", tab=False)
    save = subprocess.run([DOVEADM, "-c", dove.conf, "save", "-u", USER,
                           "-m", "Ünïcödé"],
                          input=MSG.format("saved").encode(), timeout=60)
    assert save.returncode == 0
    dove.adm("copy", "-u", USER, "Work", "mailbox", "INBOX", "uid", "3",
             tab=False)
    theirs = dove.view()
    assert theirs[1][("INBOX", 1)][1] == {"\\Seen", "\\Deleted", "NewKeyword"}
    ours = yubin_view(md)
    assert_same(ours, theirs)
    # and Yubin can keep going where Dovecot left off
    tool(md, "store", "INBOX", "1", "-", "\\Deleted")
    assert tool(md, "append", "Ünïcödé", "1700000000", "\\Seen",
                input=MSG.format("more").encode()) == "2"
    assert_same(yubin_view(md), dove.view())
    assert_quiet(dove)
