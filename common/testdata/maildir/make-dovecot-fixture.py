#!/usr/bin/python3
"""make-dovecot-fixture.py - rebuild dovecot-fixture/ with a real Dovecot.

Needs Debian's dovecot-imapd (and dovecot-core's dovecot-lda). Runs a
throwaway Dovecot (own config, own base_dir, IMAP on a free loopback port;
/etc/dovecot and the system service are never touched), stores messages
through IMAP APPEND/STORE/EXPUNGE and one through dovecot-lda, then copies
the Maildir without Dovecot's index files to dovecot-fixture/ and writes
dovecot-fixture.expected from what a second Dovecot, reading that copy
from scratch, reports. maildir_fixture_test.c checks Yubin reads the same.

Usage: python3 make-dovecot-fixture.py   (as root or as any user)
"""
import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "dovecot-fixture")
EXPECTED = os.path.join(HERE, "dovecot-fixture.expected")
USER = "fixture"
PASSWORD = "fixture-pw"
DROP = ("dovecot.index", "dovecot.list.index", "dovecot.mailbox.log",
        "dovecot-uidvalidity")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(tmp, maildir, port):
    """a minimal config; returns its path"""
    me = pwd.getpwuid(os.getuid()).pw_name
    root = os.getuid() == 0
    uid = 65534 if root else os.getuid()
    gid = 65534 if root else os.getgid()
    for d in ("run", "state", "home"):
        os.makedirs(os.path.join(tmp, d), exist_ok=True)
    with open(os.path.join(tmp, "passwd"), "w") as f:
        f.write("%s:{PLAIN}%s:%d:%d::%s/home::\n" % (USER, PASSWORD, uid, gid, tmp))
    conf = os.path.join(tmp, "dovecot.conf")
    group = grp.getgrgid(os.getgid()).gr_name
    users = "" if root else (
        "default_internal_user = %s\ndefault_login_user = %s\n"
        "default_internal_group = %s\n" % (me, me, group))
    with open(conf, "w") as f:
        f.write("""base_dir = {tmp}/run
state_dir = {tmp}/state
log_path = {tmp}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = 1
first_valid_gid = 1
{users}mail_location = maildir:{maildir}
namespace inbox {{
  inbox = yes
  separator = .
}}
passdb {{
  driver = passwd-file
  args = {tmp}/passwd
}}
userdb {{
  driver = passwd-file
  args = {tmp}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
""".format(tmp=tmp, maildir=maildir, port=port, users=users))
    if root:
        for p in (tmp, os.path.join(tmp, "home"), maildir):
            os.makedirs(p, exist_ok=True)
            os.chown(p, uid, gid)
    return conf


def start(conf, port):
    proc = subprocess.Popen(["dovecot", "-F", "-c", conf])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("dovecot did not start; see its log_path")


def stop(proc):
    proc.terminate()
    proc.wait(timeout=20)


MSG = ("From: Ann <ann@example.com>\r\nTo: bob@example.com\r\n"
       "Subject: {subj}\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
       "Message-ID: <{subj}@example.com>\r\n\r\n{body}\r\n")


def msg(subj, body="Hello.\r\nSecond line.\r\n"):
    return MSG.format(subj=subj, body=body).encode()


def populate(port, conf):
    m = imaplib.IMAP4("127.0.0.1", port)
    m.login(USER, PASSWORD)
    jp = "&ZeVnLIqe-"            # 日本語
    for box in ("Work", "Work.Projects", jp):
        m.create(box)
    for box in ("INBOX", "Work.Projects", jp):
        m.subscribe(box)
    date = '"01-Jan-2024 10:00:00 +0000"'
    m.append("INBOX", r"(\Seen $Forwarded)", date, msg("one"))
    m.append("INBOX", r"(\Flagged Junk custom1)", date, msg("two"))
    m.append("INBOX", None, date, msg("three", "bare\nlf\r\nmixed\n"))
    m.append("INBOX", r"(\Answered \Draft)", date, msg("four"))
    m.append("INBOX", r"(\Deleted)", date, msg("five"))
    m.select("INBOX")             # moves new/ to cur/
    m.uid("STORE", "3", "+FLAGS", r"(\Answered $Forwarded)")
    m.uid("STORE", "5", "+FLAGS", r"(\Deleted)")
    m.expunge()
    # the keywords in this folder come in another order than in INBOX
    m.append(jp, r"(\Seen)", date, msg("jp-one"))
    m.append(jp, r"(Junk $Forwarded)", date, msg("jp-two"))
    m.append("Work.Projects", r"(\Draft custom2)", date, msg("project"))
    m.logout()
    # delivered, never looked at: stays in new/ without a UID
    lda = subprocess.run(["/usr/lib/dovecot/dovecot-lda", "-c", conf,
                          "-d", USER], input=msg("delivered"))
    if lda.returncode != 0:
        raise SystemExit("dovecot-lda failed")


def snapshot(maildir):
    if os.path.exists(FIXTURE):
        shutil.rmtree(FIXTURE)

    def ignore(_dir, names):
        return [n for n in names if n.startswith(DROP)]
    shutil.copytree(maildir, FIXTURE, ignore=ignore)
    if os.getuid() == 0:
        st = os.stat(HERE)
        for d, dirs, files in os.walk(FIXTURE):
            for n in dirs + files + ["."]:
                os.lchown(os.path.join(d, n), st.st_uid, st.st_gid)


def doveadm(conf, *args):
    out = subprocess.run(["doveadm", "-c", conf, "-f", "tab"] + list(args),
                         check=True, capture_output=True, text=True).stdout
    lines = out.splitlines()
    head = lines[0].split("\t")
    return [dict(zip(head, line.split("\t"))) for line in lines[1:]]


def expected(tmp):
    """ask a fresh Dovecot about a copy of the fixture"""
    vtmp = os.path.join(tmp, "verify")
    vmail = os.path.join(vtmp, "Maildir")
    os.makedirs(vtmp)
    shutil.copytree(FIXTURE, vmail)
    port = free_port()
    conf = write_config(vtmp, vmail, port)
    if os.getuid() == 0:
        for d, dirs, files in os.walk(vmail):
            for n in dirs + files + ["."]:
                os.lchown(os.path.join(d, n), 65534, 65534)
    proc = start(conf, port)
    try:
        boxes = doveadm(conf, "mailbox", "status", "-u", USER,
                        "uidvalidity uidnext messages", "*")
        mails = doveadm(conf, "fetch", "-u", USER,
                        "mailbox uid flags size.physical size.virtual", "all")
        subs = [r["mailbox"] for r in doveadm(conf, "mailbox", "list", "-s",
                                              "-u", USER)]
    finally:
        stop(proc)
    out = ["# dovecot-fixture as Dovecot %s reads it (make-dovecot-fixture.py)"
           % subprocess.run(["dovecot", "--version"], capture_output=True,
                            text=True).stdout.split()[0],
           "# folder NAME UIDVALIDITY UIDNEXT MESSAGES",
           "# msg FOLDER UID SIZE VSIZE [FLAG...]   (\\Recent left out)",
           "# subscribed NAME"]
    for b in sorted(boxes, key=lambda r: r["mailbox"]):
        out.append("folder\t%s\t%s\t%s\t%s" % (b["mailbox"], b["uidvalidity"],
                                               b["uidnext"], b["messages"]))
    for r in mails:
        flags = [f for f in r["flags"].split() if f != "\\Recent"]
        out.append("\t".join(["msg", r["mailbox"], r["uid"], r["size.physical"],
                              r["size.virtual"]] + flags))
    for s in subs:
        out.append("subscribed\t%s" % s)
    with open(EXPECTED, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    if shutil.which("dovecot") is None:
        raise SystemExit("install dovecot-imapd first")
    tmp = tempfile.mkdtemp(prefix="dovecot-fixture.")
    os.chmod(tmp, 0o755)
    maildir = os.path.join(tmp, "Maildir")
    port = free_port()
    conf = write_config(tmp, maildir, port)
    proc = start(conf, port)
    try:
        populate(port, conf)
    finally:
        stop(proc)
    snapshot(maildir)
    expected(tmp)
    shutil.rmtree(tmp)
    print("wrote", FIXTURE, "and", EXPECTED)


if __name__ == "__main__":
    sys.exit(main())
