#!/usr/bin/python3
"""mkref.py - regenerate the .ref files of the MIME corpus from Dovecot

Used by: a developer, by hand, after adding a message to this folder; the
unit tests (common/mime_test.c, imap/imap_envelope_test.c) read only the
committed .ref files and need no Dovecot.

Needs Debian's dovecot-imapd. Runs Dovecot's imap binary in pre-auth mode
on a pipe (no daemon, no port, nothing in /etc/dovecot is read or changed),
with a throwaway config and Maildir in a temporary folder. Each NAME.eml (LF
line endings, as Maildir keeps them) is sent with CRLF line endings through
APPEND; the answers to FETCH are written to NAME.ref:

    SIZE <RFC822.SIZE>
    HEADER <virtual size of the top header> TEXT <virtual size of the body>
    SECTION <part> MIME <size of BODY[part.MIME]> BODY <size of BODY[part]>
    BODY <the BODY item, byte for byte>
    BODYSTRUCTURE <the BODYSTRUCTURE item>
    ENVELOPE <the ENVELOPE item>

Items may hold IMAP literals ("{n}" CRLF bytes), so a .ref is compared as
bytes, never as text lines. Usage: mkref.py [NAME.eml...] (default: all).
"""
import glob
import os
import pwd
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
IMAP_BIN = "/usr/lib/dovecot/imap"

CONF = """protocols = imap
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/log
ssl = no
mail_location = maildir:{d}/mail
mail_uid = {user}
mail_gid = {group}
first_valid_uid = 0
passdb {{
  driver = static
  args = password=unused
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={d}/home
}}
"""


class Reader:
    """A cursor over one IMAP response stream."""

    def __init__(self, data):
        self.d = data
        self.i = 0

    def skip_sp(self):
        while self.i < len(self.d) and self.d[self.i:self.i + 1] == b" ":
            self.i += 1

    def value(self):
        """Return (raw bytes, parsed) of one value at the cursor."""
        start = self.i
        c = self.d[self.i:self.i + 1]
        if c == b"(":
            self.i += 1
            items = []
            while True:
                self.skip_sp()
                if self.d[self.i:self.i + 1] == b")":
                    self.i += 1
                    break
                items.append(self.value()[1])
            return self.d[start:self.i], items
        if c == b'"':
            self.i += 1
            out = bytearray()
            while self.d[self.i:self.i + 1] != b'"':
                if self.d[self.i:self.i + 1] == b"\\":
                    self.i += 1
                out += self.d[self.i:self.i + 1]
                self.i += 1
            self.i += 1
            return self.d[start:self.i], bytes(out)
        if c == b"{":
            end = self.d.index(b"}", self.i)
            n = int(self.d[self.i + 1:end])
            self.i = end + 3 + n
            return self.d[start:self.i], self.d[end + 3:self.i]
        while self.i < len(self.d) and self.d[self.i:self.i + 1] not in \
                (b" ", b")", b"\r", b"("):
            if self.d[self.i:self.i + 1] == b"[":
                self.i = self.d.index(b"]", self.i)
            self.i += 1
        atom = self.d[start:self.i]
        return atom, (None if atom == b"NIL" else atom)


def fetch_items(resp):
    """Map item name -> (raw, parsed) for every '* n FETCH' in resp."""
    out = {}
    r = Reader(resp)
    while True:
        k = resp.find(b" FETCH (", r.i)
        if k < 0:
            break
        r.i = k + len(b" FETCH (")
        while True:
            r.skip_sp()
            if resp[r.i:r.i + 1] == b")":
                r.i += 1
                break
            name, _ = r.value()
            r.skip_sp()
            raw, parsed = r.value()
            out[name.decode()] = (raw, parsed)
    return out


def part_numbers(bs, prefix, out):
    """IMAP part numbers (RFC 3501 6.4.5) of a parsed BODYSTRUCTURE."""
    if isinstance(bs[0], list):
        n = 1
        for child in bs:
            if not isinstance(child, list):
                break
            num = prefix + str(n)
            out.append(num)
            part_numbers(child, num + ".", out)
            n += 1
        return
    if prefix == "":
        out.append("1")
        return
    if bs[0] and bs[1] and bs[0].lower() == b"message" and \
            bs[1].lower() == b"rfc822":
        inner = bs[8]
        if isinstance(inner[0], list):
            part_numbers(inner, prefix, out)
        else:
            out.append(prefix + "1")


def imap_session(conf, commands):
    """Send each (tag, bytes) command in turn, waiting for its tagged
    answer; return everything the server said."""
    env = {"USER": "tester", "HOME": os.path.dirname(conf) + "/home",
           "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    p = subprocess.Popen([IMAP_BIN, "-c", conf], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, env=env)
    out = bytearray(p.stdout.readline())
    for tag, cmd in commands:
        p.stdin.write(cmd)
        p.stdin.flush()
        while True:
            line = p.stdout.readline()
            if not line:
                raise RuntimeError("imap ended early: " + out.decode("latin-1"))
            out += line
            while line.endswith(b"}\r\n"):
                n = int(line[line.rindex(b"{") + 1:-3])
                out += p.stdout.read(n)
                line = p.stdout.readline()
                out += line
            if line.startswith(tag + b" "):
                break
    p.stdin.close()
    p.wait(timeout=60)
    return bytes(out)


def make_ref(d, conf, eml):
    raw = open(eml, "rb").read()
    crlf = raw.replace(b"\n", b"\r\n")
    def run(fetch):
        return fetch_items(imap_session(conf, [
            (b"a", b"a SELECT INBOX\r\n"),
            (b"b", b"b APPEND INBOX {%d+}\r\n" % len(crlf) + crlf + b"\r\n"),
            (b"c", b"c FETCH 1 (" + fetch + b")\r\n"),
            (b"d", b"d STORE 1 +FLAGS.SILENT (\\Deleted)\r\n"),
            (b"e", b"e EXPUNGE\r\n"),
            (b"z", b"z LOGOUT\r\n")]))

    items = run(b"RFC822.SIZE BODY BODYSTRUCTURE ENVELOPE "
                b"BODY.PEEK[HEADER] BODY.PEEK[TEXT]")
    parts = []
    part_numbers(items["BODYSTRUCTURE"][1], "", parts)
    sec = {}
    if parts:
        sec = run(b" ".join(b"BODY.PEEK[%s.MIME] BODY.PEEK[%s]" %
                            (p.encode(), p.encode()) for p in parts))

    def size(name, table):
        v = table[name][1]
        return len(v) if v is not None else 0

    out = b"SIZE %s\n" % items["RFC822.SIZE"][0]
    out += b"HEADER %d TEXT %d\n" % (size("BODY[HEADER]", items),
                                     size("BODY[TEXT]", items))
    for p in parts:
        out += b"SECTION %s MIME %d BODY %d\n" % (
            p.encode(), size("BODY[%s.MIME]" % p, sec),
            size("BODY[%s]" % p, sec))
    for name in ("BODY", "BODYSTRUCTURE", "ENVELOPE"):
        out += name.encode() + b" " + items[name][0] + b"\n"
    ref = eml[:-len(".eml")] + ".ref"
    with open(ref, "wb") as f:
        f.write(out)
    print("wrote", os.path.basename(ref))


def main():
    files = sys.argv[1:] or sorted(glob.glob(os.path.join(HERE, "*.eml")))
    with tempfile.TemporaryDirectory(prefix="mkref.") as d:
        os.chmod(d, 0o755)
        user = pwd.getpwuid(os.getuid()).pw_name
        group = "root" if os.getuid() == 0 else user
        if os.getuid() == 0:
            user, group = "nobody", "nogroup"
        for sub in ("run", "state", "mail", "home"):
            os.mkdir(os.path.join(d, sub))
            if os.getuid() == 0 and sub in ("mail", "home"):
                pw = pwd.getpwnam(user)
                os.chown(os.path.join(d, sub), pw.pw_uid, pw.pw_gid)
        conf = os.path.join(d, "dovecot.conf")
        with open(conf, "w") as f:
            f.write(CONF.format(d=d, user=user, group=group))
        for eml in files:
            make_ref(d, conf, os.path.abspath(eml))


if __name__ == "__main__":
    main()
