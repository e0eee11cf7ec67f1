"""sendmail, mailq, newaliases, postdrop: local submission without the network.

These run the commands against an instance's configuration with Yubin
stopped (submission must work then: mail waits in maildrop/), and check
the maildrop files they leave -- envelope and message -- with a small
reader of the maildrop format (common/maildrop.h). Where qmgr is built, a
test starts the instance and follows a message into the Maildir and the
log ("uid=" from pickup).
"""
import grp
import os
import pwd
import re
import shutil
import stat
import subprocess

import pytest

from conftest import BIN, IS_ROOT, MAIL_OWNER

SENDMAIL = os.path.join(BIN, "sendmail")


def xtext_decode(s):
    out = bytearray()
    i = 0
    b = s.encode()
    while i < len(b):
        if b[i:i + 1] == b"+":
            out.append(int(b[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(b[i])
            i += 1
    return out.decode()


def read_maildrop(path):
    """(sender, [recipients], {attr: value}, message bytes) of one file."""
    with open(path, "rb") as f:
        data = f.read()
    magic = b"YUBIN-MAILDROP 1\n"
    assert data.startswith(magic), data[:40]
    pos = len(magic)
    sender, rcpts, attrs = None, [], {}
    while True:
        nl = data.index(b"\n", pos)
        line = data[pos:nl].decode()
        pos = nl + 1
        if line == "E":
            break
        kind, value = line[0], line[1:]
        if kind == "S":
            sender = xtext_decode(value)
        elif kind == "R":
            rcpts.append(xtext_decode(value))
        elif kind == "A":
            name, _, v = value.partition("=")
            attrs[name] = xtext_decode(v)
        else:
            raise AssertionError(f"unknown record {line!r}")
    return sender, rcpts, attrs, data[pos:]


def header_and_body(msg):
    head, _, body = msg.partition(b"\n\n")
    fields = {}
    for line in head.decode().replace("\n\t", " ").replace("\n ", " ").split("\n"):
        name, _, value = line.partition(":")
        fields.setdefault(name.lower(), []).append(value.strip())
    return fields, body


@pytest.fixture
def inst(yubin):
    yubin.set(myorigin="example.com")
    yubin.write()
    os.makedirs(yubin.spool, exist_ok=True)
    return yubin


def maildrop_dir(inst):
    return os.path.join(inst.spool, "maildrop")


def maildrop_files(inst):
    d = maildrop_dir(inst)
    if not os.path.isdir(d):
        return []
    return sorted(os.path.join(d, n) for n in os.listdir(d))


def sendmail(inst, *args, input=b"", prog=SENDMAIL, **kw):
    return subprocess.run([prog, "-C", inst.etc, *args], input=input,
                          capture_output=True, timeout=30, **kw)


def ok(r):
    assert r.returncode == 0, (r.returncode, r.stderr)
    return r


def only_file(inst):
    files = maildrop_files(inst)
    assert len(files) == 1, files
    assert not os.path.basename(files[0]).startswith("tmp."), files
    return files[0]


def login_name():
    return pwd.getpwuid(os.getuid()).pw_name


def test_t_from_a_pipe(inst):
    msg = (b"Subject: report\r\n"
           b"To: bob, \"Ann Example\" <ann@example.org>\r\n"
           b"Cc: (copy) carol@example.net\r\n"
           b"Bcc: secret@example.net,\r\n\thidden@example.net\r\n"
           b"\r\n"
           b"line one\r\n..leading dot stays doubled in -i mode? no: -t only\r\n")
    p = subprocess.Popen(["sh", "-c", f"cat | {SENDMAIL} -C {inst.etc} -t -F 'Cron Daemon'"],
                         stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = p.communicate(msg, timeout=30)
    assert p.returncode == 0, err
    sender, rcpts, attrs, content = read_maildrop(only_file(inst))
    assert sender == f"{login_name()}@example.com"
    assert rcpts == ["bob@example.com", "ann@example.org", "carol@example.net",
                     "secret@example.net", "hidden@example.net"]
    fields, body = header_and_body(content)
    assert "bcc" not in fields                  # Bcc: removed
    assert b"secret" not in content and b"hidden" not in content
    assert fields["to"] == ['bob, "Ann Example" <ann@example.org>']
    assert fields["from"] == [f'"Cron Daemon" <{login_name()}@example.com>']
    assert len(fields["message-id"]) == 1
    assert fields["message-id"][0].endswith("@mail.example.com>")
    assert len(fields["date"]) == 1
    assert b"\r" not in content                 # stored with LF line ends
    assert body.startswith(b"line one\n")
    # the file is complete and readable by pickup
    assert stat.S_IMODE(os.stat(only_file(inst)).st_mode) == 0o644


def test_recipients_as_arguments_and_the_dot_line(inst):
    ok(sendmail(inst, "dave", "erin@example.org, frank@example.net",
                input=b"Subject: x\nMessage-ID: <keep@here>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n\n"
                      b"first\n.\nnot read\n"))
    sender, rcpts, _, content = read_maildrop(only_file(inst))
    assert rcpts == ["dave@example.com", "erin@example.org",
                     "frank@example.net"]
    fields, body = header_and_body(content)
    assert fields["message-id"] == ["<keep@here>"]         # not replaced
    assert fields["date"] == ["Mon, 1 Jan 2024 00:00:00 +0000"]
    assert body == b"first\n"                   # "." ended the input
    os.unlink(only_file(inst))
    # -i (and -oi): a "." line is text
    for opt in ("-i", "-oi"):
        ok(sendmail(inst, opt, "dave", input=b"Subject: y\n\nfirst\n.\nsecond"))
        _, _, _, content = read_maildrop(only_file(inst))
        assert header_and_body(content)[1] == b"first\n.\nsecond\n"
        os.unlink(only_file(inst))
    # a message without a header gets one, and the body stays whole
    ok(sendmail(inst, "dave", input=b"just text\nmore\n"))
    fields, body = header_and_body(read_maildrop(only_file(inst))[3])
    assert "date" in fields and "message-id" in fields and "from" in fields
    assert body == b"just text\nmore\n"


def test_f_sender(inst):
    cases = [
        (["-f", "someone@example.net"], "someone@example.net"),
        (["-f", "<quoted@example.net>"], "quoted@example.net"),
        (["-f", "alice"], "alice@example.com"),
        (["-f", "<>"], ""),
        (["-f", ""], ""),
        (["-r", "bounce@example.net"], "bounce@example.net"),
        ([], f"{login_name()}@example.com"),
    ]
    for args, want in cases:
        ok(sendmail(inst, *args, "bob", input=b"Subject: s\n\nbody\n"))
        sender, rcpts, _, content = read_maildrop(only_file(inst))
        assert sender == want, (args, sender)
        assert rcpts == ["bob@example.com"]
        os.unlink(only_file(inst))
    r = sendmail(inst, "-f", "bad address@@x", "bob", input=b"x\n")
    assert r.returncode == 64 and b"bad sender address" in r.stderr
    assert maildrop_files(inst) == []


def test_refusals(inst):
    # no recipients at all
    r = sendmail(inst, input=b"Subject: x\n\nbody\n")
    assert r.returncode == 64 and b"recipient addresses must be given" in r.stderr
    r = sendmail(inst, "-t", input=b"Subject: x\n\nbody\n")
    assert r.returncode == 64 and b"no recipient addresses" in r.stderr
    # a malformed recipient
    r = sendmail(inst, "bob@@example.com", input=b"x\n")
    assert r.returncode == 67, r
    # over message_size_limit
    inst.set(message_size_limit="1000")
    inst.write()
    r = sendmail(inst, "bob", input=b"Subject: big\n\n" + b"x" * 2000 + b"\n")
    assert r.returncode == 65 and b"too big" in r.stderr
    assert maildrop_files(inst) == []


def test_before_the_first_start(inst):
    """No queue directory yet: root makes it (as `yubin start` would), with
    maildrop/ for mail_owner; anyone else gets a temporary failure, so the
    caller keeps the message."""
    shutil.rmtree(inst.spool)
    r = sendmail(inst, "bob", input=b"Subject: early\n\nx\n")
    if not IS_ROOT:
        assert r.returncode == 75, r
        assert not os.path.exists(inst.spool)
        return
    ok(r)
    st = os.stat(maildrop_dir(inst))
    assert st.st_uid == pwd.getpwnam(MAIL_OWNER).pw_uid
    assert stat.S_IMODE(st.st_mode) in (0o700, 0o1730)
    assert read_maildrop(only_file(inst))[1] == ["bob@example.com"]


def test_bs_smtp_on_stdin(inst):
    dialogue = (b"EHLO client\r\n"
                b"MAIL FROM:<ann@example.org> SIZE=100\r\n"
                b"RCPT TO:<bob@example.com>\r\n"
                b"RCPT TO:<carol>\r\n"
                b"RCPT TO:<bad address>\r\n"
                b"DATA\r\n"
                b"Subject: via -bs\r\n\r\n..dot stuffed\r\nplain\r\n.\r\n"
                b"VRFY bob\r\n"
                b"QUIT\r\n")
    r = ok(sendmail(inst, "-bs", input=dialogue))
    lines = r.stdout.decode().split("\r\n")
    codes = [l[:3] for l in lines if l and l[3:4] == " "]
    assert codes == ["220", "250", "250", "250", "250", "501", "354", "250",
                     "502", "221"], lines
    assert "250-PIPELINING" in lines and "250-SIZE 1000" not in lines
    sender, rcpts, _, content = read_maildrop(only_file(inst))
    assert sender == "ann@example.org"
    assert rcpts == ["bob@example.com", "carol@example.com"]
    assert header_and_body(content)[1] == b".dot stuffed\nplain\n"


def write_aliases(inst, text):
    path = os.path.join(inst.etc, "aliases")
    with open(path, "w") as f:
        f.write(text)
    inst.set(alias_maps=f"hash:{path}", alias_database=f"hash:{path}")
    inst.write()
    return path


def test_newaliases_reports_file_and_line(inst):
    path = write_aliases(inst, "# aliases\npostmaster: root\nroot: ann,\n"
                                "  bob\nbroken line here\nx: :include:rel\n"
                                "postmaster: dup\n")
    newaliases = os.path.join(BIN, "newaliases")
    for run in (lambda: sendmail(inst, "-bi"),
                lambda: sendmail(inst, "-I"),
                lambda: sendmail(inst, prog=newaliases)):
        r = run()
        assert r.returncode == 65, r
        err = r.stderr.decode()
        assert f"{path}:5: missing ':' after the alias name" in err
        assert f"{path}:6: :include: needs an absolute path" in err
        assert f"warning: {path}:7: duplicate alias \"postmaster\"" in err
        assert f"{path}:2:" not in err and f"{path}:3:" not in err
    r = inst.ctl("newaliases")
    assert r.returncode == 1
    assert f"yubinctl: error: {path}:5: missing ':'" in r.stderr
    # fixed: quiet success, from every door
    write_aliases(inst, "postmaster: root\nroot: ann,\n  bob\n")
    assert ok(sendmail(inst, "-bi")).stderr == b""
    assert ok(sendmail(inst, prog=newaliases)).stderr == b""
    assert inst.ctl("newaliases").returncode == 0
    # a missing alias file is an error too
    os.unlink(path)
    r = sendmail(inst, "-bi")
    assert r.returncode == 66 and path.encode() in r.stderr


def test_mailq(inst):
    mailq = os.path.join(BIN, "mailq")
    r = ok(sendmail(inst, prog=mailq))
    assert r.stdout == b"Mail queue is empty\n"
    ok(sendmail(inst, "-f", "ann@example.org", "bob", "carol@example.net",
                input=b"Subject: q\n\n" + b"x" * 3000 + b"\n"))
    for r in (ok(sendmail(inst, prog=mailq)), ok(sendmail(inst, "-bp"))):
        out = r.stdout.decode().splitlines()
        assert out[0].startswith("-Queue ID-  --Size-- ----Arrival Time----")
        name = os.path.basename(only_file(inst))
        assert out[1].startswith(name) and out[1].endswith("ann@example.org")
        assert out[2].strip() == "bob@example.com"
        assert out[3].strip() == "carol@example.net"
        assert out[-1] == "-- 4 Kbytes in 1 Request."


def test_postdrop_checks_its_input(inst):
    postdrop = os.path.join(BIN, "postdrop")
    os.makedirs(maildrop_dir(inst), mode=0o700, exist_ok=True)
    for junk in (b"", b"From: x\n\nnot a maildrop file\n",
                 b"YUBIN-MAILDROP 1\nSa@b.c\nRroot\nE\n",
                 b"YUBIN-MAILDROP 1\nSa@b.c\nRd@e.f\nAuid=0\nE\nx\n"):
        r = subprocess.run([postdrop, "-c", inst.etc], input=junk,
                           capture_output=True, timeout=30)
        assert r.returncode == 65, (junk, r)
    assert maildrop_files(inst) == []
    good = b"YUBIN-MAILDROP 1\nSa@b.c\nRd@e.f\nE\nSubject: x\n\nbody\n"
    ok(subprocess.run([postdrop, "-c", inst.etc], input=good,
                      capture_output=True, timeout=30))
    assert read_maildrop(only_file(inst))[:2] == ("a@b.c", ["d@e.f"])


@pytest.mark.skipif(not IS_ROOT, reason="needs root to install setgid postdrop")
def test_setgid_postdrop_for_ordinary_users(inst, tmp_path):
    """The installed mode: maildrop/ is mail_owner:GROUP 1730, postdrop is
    setgid GROUP, and a user who may not write maildrop/ submits through
    it; the file belongs to that user and nobody else can list the dir."""
    group = grp.getgrnam("mail")
    nobody = pwd.getpwnam("nobody")
    owner = pwd.getpwnam(MAIL_OWNER)
    bindir = os.path.join(inst.base, "sbin")
    os.makedirs(bindir)
    os.chmod(inst.base, 0o755)
    for name in ("sendmail", "postdrop"):
        shutil.copy(os.path.join(BIN, name), bindir)
    postdrop = os.path.join(bindir, "postdrop")
    os.chown(postdrop, 0, group.gr_gid)
    os.chmod(postdrop, 0o2755)
    inst.set(setgid_group="mail")
    inst.write()
    md = maildrop_dir(inst)
    os.makedirs(md)
    os.chown(md, owner.pw_uid, group.gr_gid)
    os.chmod(md, 0o1730)

    with open(os.path.join(BIN, "postdrop"), "rb") as f:
        if b"__asan_init" in f.read():
            pytest.skip("LeakSanitizer cannot run in a setgid process")
    env = dict(os.environ)

    def as_nobody():
        os.setgroups([])
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)

    r = sendmail(inst, "bob", input=b"Subject: from nobody\n\nhi\n",
                 prog=os.path.join(bindir, "sendmail"), preexec_fn=as_nobody,
                 cwd="/", env=env)
    assert r.returncode == 0, r.stderr
    path = only_file(inst)
    st = os.stat(path)
    assert st.st_uid == nobody.pw_uid           # who submitted: the kernel says
    assert st.st_gid == group.gr_gid
    sender, rcpts, _, _ = read_maildrop(path)
    assert sender == "nobody@example.com" and rcpts == ["bob@example.com"]
    # nobody cannot read the directory, so cannot see others' mail
    r = subprocess.run(["ls", md], preexec_fn=as_nobody, capture_output=True)
    assert r.returncode != 0
    # and postdrop will not take a configuration nobody could have written
    own = tmp_path / "etc"
    own.mkdir()
    shutil.copy(os.path.join(inst.etc, "main.cf"), own / "main.cf")
    os.chown(own, nobody.pw_uid, nobody.pw_gid)
    os.chown(own / "main.cf", nobody.pw_uid, nobody.pw_gid)
    os.chmod(tmp_path, 0o755)
    r = subprocess.run([postdrop, "-c", str(own)], preexec_fn=as_nobody,
                       input=b"YUBIN-MAILDROP 1\nSa@b.c\nRd@e.f\nE\n",
                       capture_output=True, timeout=30, env=env)
    assert r.returncode == 64 and b"only root may change" in r.stderr
    assert len(maildrop_files(inst)) == 1


QMGR_BUILT = all(os.path.exists(os.path.join(BIN, p)) for p in ("qmgr", "local"))


@pytest.mark.skipif(not QMGR_BUILT, reason="qmgr and local are not built")
def test_submitted_mail_is_picked_up_delivered_and_logged(yubin):
    """sendmail -t into a running instance: pickup queues it (uid= in the
    log, Received: from userid), local delivers it; mail submitted while
    Yubin is stopped waits in maildrop/ and goes out after the start."""
    from test_delivery import Mta
    mta = Mta(yubin)
    mta.user("ann@example.com")
    mta.user("bob@example.com")
    mta.start()
    uid = os.geteuid()
    login = login_name()
    msg = (b"To: Ann <ann@example.com>\n"
           b"Bcc: bob@example.com\n"
           b"Subject: from cron\n"
           b"\n"
           b"job done\n")
    p = subprocess.Popen(["sh", "-c", f"cat | {SENDMAIL} -C {yubin.etc} -t"],
                         stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = p.communicate(msg, timeout=30)
    assert p.returncode == 0, err
    ann = mta.wait_messages(mta.maildir("ann@example.com"), 1)
    bob = mta.wait_messages(mta.maildir("bob@example.com"), 1)
    for name, data in ann + bob:
        head, _, body = data.partition(b"\n\n")
        assert body == b"job done\n"
        assert f"Return-Path: <{login}@mail.example.com>".encode() in head
        assert re.search(rb"\nReceived: by mail\.example\.com \(Yubin, from "
                         rb"userid %d\)\n\tid \w+; " % uid, head), head
        assert b"\nBcc:" not in head
        assert b"\nMessage-ID: <" in head and b"\nDate: " in head
        assert f"\nFrom: {login}@mail.example.com\n".encode() in head
    assert b"bob@" not in ann[0][1]             # the Bcc stayed secret
    # pickup's line: Postfix's shape, with the submitting uid
    m = yubin.wait_log(rf"qmgr\[\d+\]: (\w+): uid={uid} "
                       rf"from=<{login}@mail\.example\.com>")
    assert m, yubin.log()
    qid = m.group(1)
    assert yubin.wait_log(rf"{qid}: to=<ann@example\.com>, relay=local.*"
                          r"status=sent"), yubin.log()
    assert maildrop_files(yubin) == []
    # while stopped: the file waits, and mailq shows it
    yubin.stop()
    ok(sendmail(yubin, "-f", "cron@example.net", "ann@example.com",
                input=b"Subject: while stopped\n\nqueued anyway\n"))
    waiting = only_file(yubin)
    q = ok(sendmail(yubin, "-bp")).stdout.decode()
    assert os.path.basename(waiting) in q and "cron@example.net" in q
    yubin.start()
    ann = mta.wait_messages(mta.maildir("ann@example.com"), 2)
    assert any(b"queued anyway\n" in data for _, data in ann)
    assert yubin.wait_log(rf"uid={uid} from=<cron@example\.net>"), yubin.log()
    assert maildrop_files(yubin) == []
    assert ok(sendmail(yubin, "-bp")).stdout == b"Mail queue is empty\n"
