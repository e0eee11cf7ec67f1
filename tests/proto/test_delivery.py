"""Queue and local delivery: qmgr and local against real Maildirs.

Messages are put into the queue with tests/helpers/queue_inject (the queue
file writer smtpd uses), and the tests then look at what landed in each
Maildir, byte for byte: virtual users (yubinctl user add), system users
(root only: a user made with useradd), aliases with several targets,
:include:, |commands and /files, virtual aliases, user+tag, the null
sender, Delivered-To loops, over-quota mail, a temporary failure that is
retried, and the RFC 3464 bounces that failures produce.

The helpers here are shared with test_delivery_*.py and test_durability.py.
"""
import email
import email.policy
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import time

import pytest

from conftest import HELPERS, IS_ROOT, free_port, wait_for

VIRTUAL_DOMAIN = "example.com"
LOCAL_DOMAIN = "mail.example.com"


def vmail_owner():
    """The uid:gid that owns virtual mailboxes in these tests."""
    if IS_ROOT:
        pw = pwd.getpwnam("nobody")
        return pw.pw_uid, pw.pw_gid
    return os.getuid(), os.getgid()


class Mta:
    """An instance set up for delivery: local and virtual domains, alias
    and virtual alias files in the instance's directory, short retry
    times. Call start() after adjusting aliases, users and parameters."""

    def __init__(self, inst):
        self.inst = inst
        self.base = inst.base
        self.vmail = os.path.join(self.base, "vmail")
        self.aliases_path = os.path.join(self.base, "aliases")
        self.virtual_path = os.path.join(self.base, "virtual")
        self.users = []
        os.makedirs(os.path.join(self.vmail, VIRTUAL_DOMAIN))
        uid, gid = vmail_owner()
        for d in (self.vmail, os.path.join(self.vmail, VIRTUAL_DOMAIN)):
            os.chown(d, uid, gid)
        self.aliases("root: postmaster-box@example.com\n"
                     "postmaster: root\n")
        self.virtual("")
        inst.set(mydestination=f"{LOCAL_DOMAIN}, localhost",
                 myorigin=LOCAL_DOMAIN,
                 virtual_mailbox_domains=VIRTUAL_DOMAIN,
                 alias_maps="hash:" + self.aliases_path,
                 alias_database="hash:" + self.aliases_path,
                 virtual_alias_maps="hash:" + self.virtual_path,
                 mail_location="maildir:" + os.path.join(self.vmail, "%d/%n"),
                 recipient_delimiter="+",
                 queue_run_delay="1s",
                 minimal_backoff_time="1s",
                 maximal_backoff_time="2s",
                 auth_failure_delay="0")
        if IS_ROOT:
            uid, gid = vmail_owner()
            inst.set(virtual_uid_maps=f"static:{uid}",
                     virtual_gid_maps=f"static:{gid}")

    # configuration -------------------------------------------------------
    def aliases(self, text):
        with open(self.aliases_path, "w") as f:
            f.write(text)
        os.chmod(self.aliases_path, 0o644)

    def virtual(self, text):
        with open(self.virtual_path, "w") as f:
            f.write(text)
        os.chmod(self.virtual_path, 0o644)

    def user(self, address, *options):
        self.users.append((address, options))

    def start(self, **params):
        self.inst.set(**params)
        self.inst.write()
        for address, options in self.users:
            r = self.inst.ctl("user", "add", address, *options,
                              input="secret\n")
            assert r.returncode == 0, r.stderr
        self.inst.start()
        assert self.inst.wait_log(r"qmgr\[\d+\]: ready", 10), self.inst.log()
        assert self.inst.wait_log(r"local\[\d+\]: ready", 10), self.inst.log()
        assert wait_for(self.authd_ready, 10), self.inst.log()
        return self

    def authd_ready(self):
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(2)
                s.connect(os.path.join(self.inst.data, "authd.socket"))
                return s.recv(64).startswith(b"VERSION\t")
        except OSError:
            return False

    # mail in -------------------------------------------------------------
    def inject(self, message, rcpts, sender="sender@example.net",
               attrs=(), notify=True):
        """Queue message (bytes, LF line ends); rcpts are addresses or
        "addr:NOTIFY[:ORCPT]" specs. Returns the queue ID."""
        args = [os.path.join(HELPERS, "queue_inject"), self.inst.spool,
                "-f", sender]
        for r in rcpts:
            args += ["-r", r]
        for a in attrs:
            args += ["-a", a]
        if not notify:
            args.append("-n")
        r = subprocess.run(args, input=message, capture_output=True,
                           timeout=30)
        assert r.returncode == 0, r.stderr
        return r.stdout.decode().strip()

    # mail out ------------------------------------------------------------
    def maildir(self, address):
        local, domain = address.split("@")
        return os.path.join(self.vmail, domain, local)

    def messages(self, maildir):
        """The files in maildir/new, oldest first, as (name, bytes)."""
        new = os.path.join(maildir, "new")
        try:
            names = os.listdir(new)
        except FileNotFoundError:
            return []
        out = []
        for name in names:
            with open(os.path.join(new, name), "rb") as f:
                out.append((name, f.read()))
        return sorted(out, key=lambda nb: os.stat(os.path.join(new, nb[0])).st_mtime_ns)

    def wait_messages(self, maildir, count, timeout=10.0):
        found = wait_for(lambda: len(self.messages(maildir)) >= count and
                         self.messages(maildir), timeout)
        assert found and len(found) >= count, (
            f"{maildir}: {len(found or [])} messages, want {count}\n"
            + self.inst.log())
        return found

    def queue_ids(self, *dirs):
        ids = []
        for d in dirs or ("incoming", "active", "deferred", "hold"):
            try:
                ids += os.listdir(os.path.join(self.inst.spool, d))
            except FileNotFoundError:
                pass
        return ids

    def wait_removed(self, qid, timeout=10.0):
        assert self.inst.wait_log(rf"{qid}: removed", timeout), self.inst.log()
        assert qid not in self.queue_ids()


def expected(message, sender, delivered_to):
    ret = f"Return-Path: <{sender}>\nDelivered-To: {delivered_to}\n"
    return ret.encode() + message


def check_file(maildir, name, data):
    """Maildir++ file name with S= matching the size; mode 0600."""
    path = os.path.join(maildir, "new", name)
    m = re.search(r",S=(\d+)", name)
    assert m and int(m.group(1)) == len(data), name
    st = os.stat(path)
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    uid, gid = vmail_owner()
    assert st.st_uid == uid


def parse_bounce(data):
    """The delivered bounce parsed: (message, delivery-status groups)."""
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    assert msg.get_content_type() == "multipart/report", msg.get_content_type()
    assert msg.get_param("report-type") == "delivery-status"
    parts = msg.get_payload()
    assert parts[0].get_content_type() == "text/plain"
    assert parts[1].get_content_type() == "message/delivery-status"
    groups = parts[1].get_payload()
    return msg, parts, groups


@pytest.fixture
def mta(yubin):
    return Mta(yubin)


MESSAGE = (b"From: Sender <sender@example.net>\n"
           b"To: ann@example.com\n"
           b"Subject: hello\n"
           b"Message-ID: <m1@example.net>\n"
           b"\n"
           b"Hello, Ann.\n"
           b"\xe2\x9c\x89 8-bit line\n"
           b"..leading dot stays as stored\n")


def test_virtual_user_byte_for_byte(mta):
    mta.user("ann@example.com")
    mta.start()
    qid = mta.inject(MESSAGE, ["ann@example.com"])
    box = mta.maildir("ann@example.com")
    (name, data), = mta.wait_messages(box, 1)
    assert data == expected(MESSAGE, "sender@example.net", "ann@example.com")
    check_file(box, name, data)
    mta.wait_removed(qid)
    log = mta.inst.log()
    assert re.search(rf"qmgr\[\d+\]: {qid}: from=<sender@example\.net>, "
                     rf"size={len(MESSAGE)}, nrcpt=1 \(queue active\)", log), log
    assert re.search(rf"{qid}: to=<ann@example\.com>, relay=local, "
                     r"delay=[\d.]+, delays=[\d.]+/[\d.]+/0/[\d.]+, "
                     r"dsn=2\.0\.0, status=sent \(delivered to maildir\)",
                     log), log


def test_user_plus_tag_and_case(mta):
    mta.user("ann@example.com")
    mta.start()
    mta.inject(MESSAGE, ["Ann+News@Example.COM"])
    box = mta.maildir("ann@example.com")
    (name, data), = mta.wait_messages(box, 1)
    # Delivered-To names the recipient as addressed, folded
    assert data == expected(MESSAGE, "sender@example.net",
                            "ann+news@example.com")


def test_aliases_several_targets_include_command_file(mta):
    for user in ("ann", "bob", "carol", "dave"):
        mta.user(f"{user}@example.com")
    outdir = os.path.join(mta.base, "out")
    os.makedirs(outdir)
    os.chmod(outdir, 0o1777)
    listfile = os.path.join(mta.base, "list")
    with open(listfile, "w") as f:
        f.write("# the list\ncarol@example.com\n\n"
                "dave@example.com, ann@example.com\n")
    os.chmod(listfile, 0o644)
    mbox = os.path.join(outdir, "team.mbox")
    piped = os.path.join(outdir, "piped")
    mta.aliases("root: postmaster-box@example.com\n"
                "postmaster: root\n"
                "# several targets, one of them twice (one copy each)\n"
                "team: ann@example.com,\n"
                "  bob@example.com, :include:" + listfile + ",\n"
                f"  {mbox}, \"|cat > {piped}; echo $RECIPIENT >> {piped}.env\"\n"
                "nested: team\n")
    mta.start()
    qid = mta.inject(MESSAGE, ["nested@mail.example.com"])
    for user in ("ann", "bob", "carol", "dave"):
        box = mta.maildir(f"{user}@example.com")
        (name, data), = mta.wait_messages(box, 1)
        assert data == expected(MESSAGE, "sender@example.net",
                                f"{user}@example.com")
    mta.wait_removed(qid)
    assert wait_for(lambda: os.path.exists(piped + ".env"))
    with open(piped, "rb") as f:
        body = f.read()
    # a command gets the From_ line, Return-Path and Delivered-To first
    assert body.startswith(b"From sender@example.net  ")
    assert body.split(b"\n", 1)[1] == expected(MESSAGE, "sender@example.net",
                                                "team@mail.example.com")
    with open(mbox, "rb") as f:
        box = f.read()
    assert box.startswith(b"From sender@example.net  ")
    assert box.endswith(MESSAGE + b"\n")
    # root's alias file: commands and files run as default_privs
    want = pwd.getpwnam("nobody").pw_uid if IS_ROOT else os.getuid()
    assert os.stat(piped).st_uid == want
    assert os.stat(mbox).st_uid == want
    # one copy for ann, though team and the list both name her
    assert len(mta.messages(mta.maildir("ann@example.com"))) == 1
    log = mta.inst.log()
    assert re.search(rf"{qid}: to=<carol@example\.com>, "
                     r"orig_to=<nested@mail\.example\.com>, relay=local, .*"
                     r"status=sent \(delivered to maildir\)", log), log


def test_commands_refused_when_not_allowed(mta):
    mta.user("ann@example.com")
    mta.aliases("root: postmaster-box@example.com\n"
                "postmaster: root\n"
                "prog: \"|/bin/true\", ann@example.com\n")
    mta.start(allow_mail_to_commands="forward")
    mta.inject(MESSAGE, ["prog@mail.example.com"], sender="ann@example.com")
    assert mta.inst.wait_log(r"warning: \S+: mail to command \|/bin/true "
                             r"from alias is not allowed"), mta.inst.log()
    box = mta.maildir("ann@example.com")
    # ann gets her copy and the bounce for the command
    msgs = mta.wait_messages(box, 2)
    bounce = [d for n, d in msgs if b"multipart/report" in d]
    assert len(bounce) == 1
    _, parts, groups = parse_bounce(bounce[0].split(b"\n", 2)[2])
    assert groups[1]["Status"] == "5.7.1"


def test_virtual_alias_maps(mta):
    for user in ("ann", "bob", "catch"):
        mta.user(f"{user}@example.com")
    mta.virtual("sales@example.com ann@example.com, bob@example.com\n"
                "self@example.com self@example.com, bob@example.com\n"
                "@elsewhere.example catch@example.com\n")
    mta.user("self@example.com")
    mta.start()
    mta.inject(MESSAGE, ["sales@example.com", "anyone@elsewhere.example",
                         "self@example.com"])
    ann = mta.wait_messages(mta.maildir("ann@example.com"), 1)
    assert ann[0][1] == expected(MESSAGE, "sender@example.net",
                                 "ann@example.com")
    mta.wait_messages(mta.maildir("bob@example.com"), 2)
    mta.wait_messages(mta.maildir("catch@example.com"), 1)
    # an alias that names itself delivers to its own mailbox
    mta.wait_messages(mta.maildir("self@example.com"), 1)


def test_null_sender_never_bounces(mta):
    mta.user("postmaster-box@example.com")
    mta.start()
    qid = mta.inject(MESSAGE, ["nosuchuser@example.com"], sender="")
    mta.wait_removed(qid)
    log = mta.inst.log()
    assert re.search(rf"{qid}: to=<nosuchuser@example\.com>, relay=local, .*"
                     r"dsn=5\.1\.1, status=bounced \(unknown user", log), log
    assert "notification" not in log
    assert mta.queue_ids() == []
    assert mta.messages(mta.maildir("postmaster-box@example.com")) == []


def test_bounce_is_rfc3464(mta):
    mta.user("ann@example.com")
    mta.start()
    qid = mta.inject(MESSAGE, ["ann@example.com",
                               "nosuchuser@example.com:4:rfc822;NoSuchUser@example.com"],
                     sender="ann@example.com",
                     attrs=["dsn_envid=ENV1"])
    box = mta.maildir("ann@example.com")
    msgs = mta.wait_messages(box, 2)
    bounce = [d for n, d in msgs if b"multipart/report" in d]
    assert len(bounce) == 1, msgs
    head, rest = bounce[0].split(b"\n", 1)
    assert head == b"Return-Path: <>"
    assert rest.startswith(b"Delivered-To: ann@example.com\n")
    msg, parts, groups = parse_bounce(rest.split(b"\n", 1)[1])
    assert msg["To"].endswith("ann@example.com") or "ann@example.com" in msg["To"]
    assert "MAILER-DAEMON@" in msg["From"]
    per_msg, per_rcpt = groups[0], groups[1]
    assert per_msg["Reporting-MTA"] == "dns; mail.example.com"
    assert per_msg["Original-Envelope-Id"] == "ENV1"
    assert per_rcpt["Final-Recipient"] == "rfc822; nosuchuser@example.com"
    assert per_rcpt["Original-Recipient"] == "rfc822;NoSuchUser@example.com"
    assert per_rcpt["Action"] == "failed"
    assert per_rcpt["Status"] == "5.1.1"
    assert len(groups) == 2     # ann was delivered: not in the report
    returned = parts[2]
    assert returned.get_content_type() == "message/rfc822"
    assert returned.get_payload()[0]["Message-ID"] == "<m1@example.net>"
    mta.wait_removed(qid)
    assert re.search(rf"{qid}: sender non-delivery notification: \w+",
                     mta.inst.log())


def test_bounce_that_fails_goes_to_postmaster_once(mta):
    mta.user("postmaster-box@example.com")
    mta.start()
    # a bounce (null sender, written by qmgr) to a recipient that fails
    qid = mta.inject(MESSAGE, ["gone@example.com"], sender="",
                     attrs=["notice=bounce"])
    box = mta.maildir("postmaster-box@example.com")
    (name, data), = mta.wait_messages(box, 1)
    msg, parts, groups = parse_bounce(data.split(b"\n", 2)[2])
    assert groups[1]["Final-Recipient"] == "rfc822; gone@example.com"
    mta.wait_removed(qid)
    # the double bounce itself was delivered; nothing more is queued
    assert wait_for(lambda: mta.queue_ids() == [])
    time.sleep(0.5)
    assert len(mta.messages(box)) == 1


def test_delivered_to_loop_bounces(mta):
    mta.user("ann@example.com")
    mta.user("bob@example.com")
    mta.start()
    looped = b"Delivered-To: ann@example.com\n" + MESSAGE
    qid = mta.inject(looped, ["ann@example.com"], sender="bob@example.com")
    (name, data), = mta.wait_messages(mta.maildir("bob@example.com"), 1)
    _, _, groups = parse_bounce(data.split(b"\n", 2)[2])
    assert groups[1]["Status"] == "5.4.6"
    assert "loop" in groups[1]["Diagnostic-Code"]
    assert mta.messages(mta.maildir("ann@example.com")) == []
    mta.wait_removed(qid)


def test_over_quota_bounces(mta):
    mta.user("ann@example.com", "--quota", "1k")
    mta.user("bob@example.com")
    mta.start()
    big = MESSAGE + b"x" * 2000 + b"\n"
    qid = mta.inject(big, ["ann@example.com"], sender="bob@example.com")
    (name, data), = mta.wait_messages(mta.maildir("bob@example.com"), 1)
    _, _, groups = parse_bounce(data.split(b"\n", 2)[2])
    assert groups[1]["Status"] == "5.2.2"
    assert mta.messages(mta.maildir("ann@example.com")) == []
    mta.wait_removed(qid)


def test_over_quota_defers_with_quota_full_tempfail(mta):
    mta.user("ann@example.com", "--quota", "1k")
    mta.start(quota_full_tempfail="yes")
    big = MESSAGE + b"x" * 2000 + b"\n"
    qid = mta.inject(big, ["ann@example.com"], sender="bob@example.com")
    assert mta.inst.wait_log(rf"{qid}: to=<ann@example\.com>, relay=local, "
                             r".*dsn=4\.2\.2, status=deferred"), mta.inst.log()
    assert wait_for(lambda: qid in mta.queue_ids("deferred"))


def test_temporary_failure_defers_then_succeeds(mta):
    mta.user("ann@example.com")
    mta.user("bob@example.com")
    mta.start()
    # bob's Maildir cannot be made: his domain directory is read-only
    domain_dir = os.path.join(mta.vmail, VIRTUAL_DOMAIN)
    os.makedirs(mta.maildir("ann@example.com"))
    uid, gid = vmail_owner()
    os.chown(mta.maildir("ann@example.com"), uid, gid)
    os.chmod(domain_dir, 0o555)
    qid = mta.inject(MESSAGE, ["ann@example.com", "bob@example.com"])
    assert mta.inst.wait_log(rf"{qid}: to=<bob@example\.com>, relay=local, "
                             r".*dsn=4\.\d\.\d, status=deferred"), mta.inst.log()
    (name, data), = mta.wait_messages(mta.maildir("ann@example.com"), 1)
    assert wait_for(lambda: qid in mta.queue_ids("deferred")), mta.inst.log()
    # at least one more attempt fails while the problem lasts
    assert mta.inst.wait_log(rf"(?s){qid}: to=<bob.*{qid}: to=<bob@example\.com>"
                             r", relay=local, .*status=deferred", 10)
    os.chmod(domain_dir, 0o755)
    (name, data), = mta.wait_messages(mta.maildir("bob@example.com"), 1,
                                      timeout=15)
    assert data == expected(MESSAGE, "sender@example.net", "bob@example.com")
    mta.wait_removed(qid)
    # ann was marked done in the queue file: never delivered again
    assert len(mta.messages(mta.maildir("ann@example.com"))) == 1


def dead_relay(mta):
    """Point relayhost at a loopback port nothing listens on; returns the
    deferral text the smtp client logs for it."""
    port = free_port()
    mta.inst.set(relayhost=f"[127.0.0.1]:{port}")
    return (r"status=deferred \(connect to 127\.0\.0\.1\[127\.0\.0\.1\]:"
            rf"{port}: Connection refused\)")


def test_remote_recipient_stays_deferred(mta):
    refused = dead_relay(mta)
    mta.start()
    assert mta.inst.wait_log(r"smtp\[\d+\]: ready", 10), mta.inst.log()
    qid = mta.inject(MESSAGE, ["someone@remote.example"])
    assert mta.inst.wait_log(rf"{qid}: to=<someone@remote\.example>, "
                             rf"relay=none, .*{refused}"), mta.inst.log()
    assert wait_for(lambda: qid in mta.queue_ids("deferred"))


def test_expired_message_is_returned(mta):
    mta.user("ann@example.com")
    refused = dead_relay(mta)
    mta.start(maximal_queue_lifetime="0")
    # the one attempt this message gets must reach the smtp client
    assert mta.inst.wait_log(r"smtp\[\d+\]: ready", 10), mta.inst.log()
    qid = mta.inject(MESSAGE, ["someone@remote.example"],
                     sender="ann@example.com")
    (name, data), = mta.wait_messages(mta.maildir("ann@example.com"), 1)
    _, _, groups = parse_bounce(data.split(b"\n", 2)[2])
    assert groups[1]["Action"] == "failed"
    assert groups[1]["Status"].startswith("4.")
    assert mta.inst.wait_log(rf"{qid}: to=<someone@remote\.example>, "
                             rf".*{refused}"), mta.inst.log()
    assert re.search(rf"{qid}: from=<ann@example\.com>, status=expired, "
                     r"returned to sender", mta.inst.log())
    mta.wait_removed(qid)


def test_postmaster_and_shipped_aliases(mta):
    mta.user("admin@example.com")
    repo = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    with open(os.path.join(repo, "conf", "aliases")) as f:
        shipped = f.read()
    # the one line an administrator adds: who reads root's mail
    mta.aliases(shipped + "\nroot: admin@example.com\n")
    mta.start()
    mta.inject(MESSAGE, ["postmaster", "MAILER-DAEMON@mail.example.com",
                         "Postmaster@localhost", "abuse@mail.example.com"])
    msgs = mta.wait_messages(mta.maildir("admin@example.com"), 4)
    got = sorted(d.split(b"\n")[1] for n, d in msgs)
    assert got == sorted([b"Delivered-To: admin@example.com"] * 4)


def test_postmaster_without_an_alias(mta):
    mta.user("box@example.com")
    # no postmaster entry at all: RFC 5321 says it must still work, and
    # Yubin sends it to root
    mta.aliases("root: box@example.com\n")
    mta.start()
    mta.inject(MESSAGE, ["postmaster@mail.example.com"])
    mta.wait_messages(mta.maildir("box@example.com"), 1)


def test_unknown_local_user_bounces(mta):
    mta.user("ann@example.com")
    mta.start()
    qid = mta.inject(MESSAGE, ["nobody-here@mail.example.com"],
                     sender="ann@example.com")
    (name, data), = mta.wait_messages(mta.maildir("ann@example.com"), 1)
    _, _, groups = parse_bounce(data.split(b"\n", 2)[2])
    assert groups[1]["Status"] == "5.1.1"
    mta.wait_removed(qid)


def test_corrupt_queue_file_is_set_aside(mta):
    mta.user("ann@example.com")
    mta.start()
    good = mta.inject(MESSAGE, ["ann@example.com"], notify=False)
    incoming = os.path.join(mta.inst.spool, "incoming", good)
    # damage a byte of the content (the checksum no longer matches)
    with open(incoming, "r+b") as f:
        data = f.read()
        at = data.index(b"Hello, Ann.")
        f.seek(at)
        f.write(b"J")
    mta.inject(b"Subject: wake\n\nx\n", ["ann@example.com"])
    assert mta.inst.wait_log(rf"warning: {good}: corrupt queue file {good}: "
                             r"checksum mismatch; moved to corrupt/"), mta.inst.log()
    assert os.path.exists(os.path.join(mta.inst.spool, "corrupt", good))
    msgs = mta.wait_messages(mta.maildir("ann@example.com"), 1)
    time.sleep(0.3)
    assert len(mta.messages(mta.maildir("ann@example.com"))) == 1
    assert b"Hello, Ann." not in msgs[0][1]


@pytest.mark.skipif(not IS_ROOT, reason="creating a system user needs root")
def test_system_user_maildir_and_forward(mta):
    name = f"ybt{os.getpid() % 100000}"
    home = os.path.join(mta.base, "home", name)
    os.makedirs(os.path.dirname(home))
    subprocess.run(["useradd", "-M", "-d", home, "-s", "/bin/sh", name],
                   check=True)
    try:
        os.makedirs(home)
        pw = pwd.getpwnam(name)
        os.chown(home, pw.pw_uid, pw.pw_gid)
        mta.user("fwd@example.com")
        mta.start()
        mta.inject(MESSAGE, [f"{name}@mail.example.com"])
        box = os.path.join(home, "Maildir")
        (fname, data), = mta.wait_messages(box, 1)
        assert data == expected(MESSAGE, "sender@example.net",
                                f"{name}@mail.example.com")
        st = os.stat(os.path.join(box, "new", fname))
        assert (st.st_uid, st.st_gid) == (pw.pw_uid, pw.pw_gid)
        # .forward, read as the user: a copy elsewhere and one kept
        fwd = os.path.join(home, ".forward")
        with open(fwd, "w") as f:
            f.write(f"fwd@example.com, \\{name}\n")
        os.chown(fwd, pw.pw_uid, pw.pw_gid)
        mta.inject(MESSAGE, [f"{name}+x@mail.example.com"])
        mta.wait_messages(box, 2)
        (n2, d2), = mta.wait_messages(mta.maildir("fwd@example.com"), 1)
        assert d2 == expected(MESSAGE, "sender@example.net",
                              "fwd@example.com")
    finally:
        subprocess.run(["userdel", name], check=False)


def test_dsn_notify_success_and_never(mta):
    mta.user("ann@example.com")
    mta.user("bob@example.com")
    mta.start()
    # NOTIFY=SUCCESS (2): a delivery notice; NOTIFY=NEVER (1): no bounce
    qid = mta.inject(MESSAGE, ["ann@example.com:2:rfc822;Ann@example.com",
                               "gone@example.com:1"],
                     sender="bob@example.com")
    mta.wait_messages(mta.maildir("ann@example.com"), 1)
    (name, data), = mta.wait_messages(mta.maildir("bob@example.com"), 1)
    _, parts, groups = parse_bounce(data.split(b"\n", 2)[2])
    assert len(groups) == 2
    assert groups[1]["Action"] == "delivered"
    assert groups[1]["Status"] == "2.0.0"
    assert groups[1]["Original-Recipient"] == "rfc822;Ann@example.com"
    # a success notice returns the header only (RFC 3461 6.2)
    assert parts[2].get_content_type() == "text/rfc822-headers"
    mta.wait_removed(qid)
    time.sleep(0.3)
    assert len(mta.messages(mta.maildir("bob@example.com"))) == 1


def test_missing_alias_table_defers_until_it_appears(mta):
    mta.user("ann@example.com")
    missing = os.path.join(mta.base, "aliases-later")
    mta.start(alias_maps="hash:" + missing, alias_database="hash:" + missing)
    qid = mta.inject(MESSAGE, ["team@mail.example.com"])
    assert mta.inst.wait_log(rf"{qid}: to=<team@mail\.example\.com>, "
                             r"relay=none, .*dsn=4\.3\.5, status=deferred "
                             r"\(alias_maps: .*aliases-later"), mta.inst.log()
    assert re.search(r"qmgr\[\d+\]: error: alias_maps: .*; mail is deferred",
                     mta.inst.log())
    with open(missing, "w") as f:
        f.write("team: ann@example.com\n")
    os.chmod(missing, 0o644)
    mta.wait_messages(mta.maildir("ann@example.com"), 1, timeout=15)
    mta.wait_removed(qid)


@pytest.mark.skipif(not IS_ROOT, reason="needs another user to try it")
def test_local_socket_is_for_mail_owner_only(mta):
    mta.start()
    sock = os.path.join(mta.inst.spool, "private", "local")
    st = os.stat(sock)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == pwd.getpwnam("yubin").pw_uid
    probe = ("import socket,sys\n"
             "s=socket.socket(socket.AF_UNIX)\n"
             "try:\n"
             f"    s.connect({sock!r})\n"
             "except OSError as e:\n"
             "    print('refused', e.errno); sys.exit(0)\n"
             "print('connected')\n")
    r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup",
                        "--clear-groups", "/usr/bin/python3", "-c", probe],
                       capture_output=True, text=True, timeout=30)
    assert r.stdout.startswith("refused"), (r.stdout, r.stderr)


def test_alias_to_other_domains_added_once(mta):
    mta.user("ann@example.com")
    mta.user("bob@example.com")
    mta.aliases("root: postmaster-box@example.com\n"
                "postmaster: root\n"
                "mix: bob@example.com, friend@remote.example\n")
    refused = dead_relay(mta)
    mta.start()
    domain_dir = os.path.join(mta.vmail, VIRTUAL_DOMAIN)
    os.chmod(domain_dir, 0o555)         # bob's delivery defers
    qid = mta.inject(MESSAGE, ["mix@mail.example.com"])
    # two attempts while bob's Maildir cannot be made
    assert mta.inst.wait_log(rf"(?s){qid}: to=<bob.*deferred.*{qid}: "
                             r"to=<bob@example\.com>, .*status=deferred"), \
        mta.inst.log()
    os.chmod(domain_dir, 0o755)
    mta.wait_messages(mta.maildir("bob@example.com"), 1, timeout=15)
    # the other domain's address: one recipient, however many attempts
    assert mta.inst.wait_log(rf"{qid}: to=<friend@remote\.example>, "
                             rf"relay=none, .*{refused}"), mta.inst.log()
    path = os.path.join(mta.inst.spool, "deferred", qid)
    assert wait_for(lambda: os.path.exists(path))
    with open(path, "rb") as f:
        assert f.read().count(b"friend@remote.example") == 1
    assert len(mta.messages(mta.maildir("bob@example.com"))) == 1
