"""IMAP4rev2 (RFC 9051) beside IMAP4rev1: both advertised before and
after login; ENABLE IMAP4rev2 switches one session to rev2's rules --
ESEARCH for every SEARCH, no RECENT response or \\Recent flag, an untagged
LIST (and CLOSED) on SELECT, UID in unsolicited FETCHes, UTF-8 mailbox
names in NFC (with OLDNAME when the server composed a name) -- while a
session without it keeps rev1's answers and modified UTF-7 names on the
same Maildir. STATUS DELETED and SIZE, FETCH BINARY and SEARCHRES's "$"
as rev2 requires them.

Most tests drive `imap --preauth` on raw sockets; one runs a whole
instance for the login front end's capabilities and the hand-off.
"""
import base64
import imaplib
import os
import re
import unicodedata

import pytest

from imap_helpers import (PASSWORD, ImapInstance, Preauth, StreamIMAP,
                          config_dir, deliver, make_maildir, module_instance,
                          msg, tmpdir_base)

NIHONGO = "日本語.受信"                         # "Japanese.Inbox"
GA_NFD = unicodedata.normalize("NFD", "が")     # U+304B U+3099
CAFE_NFD = unicodedata.normalize("NFD", "café")


def mutf7(name):
    """RFC 9051 appendix A.1's modified UTF-7, for the expected names"""
    out, pending = [], ""

    def flush():
        if pending:
            b = base64.b64encode(pending.encode("utf-16-be")).decode()
            out.append("&" + b.rstrip("=").replace("/", ",") + "-")
    for ch in name:
        if 0x20 <= ord(ch) <= 0x7e:
            flush()
            pending = ""
            out.append("&-" if ch == "&" else ch)
        else:
            pending += ch
    flush()
    return "".join(out)


@pytest.fixture(scope="module")
def base(request):
    return tmpdir_base(request, prefix="yubin-rev2-")


@pytest.fixture(scope="module")
def etc(base):
    return config_dir(base)


@pytest.fixture
def maildir(base, request):
    root = os.path.join(base, re.sub(r"\W", "_", request.node.name))
    make_maildir(root)
    return root


class Session:
    """A preauth session; rev2=True sends ENABLE IMAP4rev2 first"""

    def __init__(self, etc, maildir, rev2=False):
        self.p = Preauth(etc, "ann", maildir)
        self.c = self.p.raw()
        self.n = 0
        if rev2:
            assert self.ok("ENABLE IMAP4rev2")[0] == "* ENABLED IMAP4rev2"

    def cmd(self, text):
        self.n += 1
        return self.c.cmd("t%d" % self.n, text)

    def ok(self, text):
        lines = self.cmd(text)
        assert lines[-1].startswith("t%d OK" % self.n), lines
        return lines[:-1]

    def no(self, text):
        lines = self.cmd(text)
        assert lines[-1].startswith("t%d NO" % self.n), lines
        return lines

    def close(self):
        self.p.close()


@pytest.fixture
def sessions(etc):
    opened = []

    def start(maildir, rev2=False):
        s = Session(etc, maildir, rev2)
        opened.append(s)
        return s
    yield start
    for s in opened:
        s.close()


def test_mutf7_helper():
    assert mutf7(NIHONGO) == "&ZeVnLIqe-.&U9dP4Q-"
    assert mutf7("A&B") == "A&-B"


# --- capabilities and ENABLE ---------------------------------------------

@pytest.fixture(scope="module")
def imap(request):
    i = ImapInstance(module_instance(request, prefix="yubin-rev2-"))
    i.service("imap")
    return i.start(users=2)


def test_capabilities_before_and_after_login(imap):
    user = imap.fresh_user()
    c = imap.raw()
    try:
        m = re.match(r"\* OK \[CAPABILITY (.*)\] ", c.greeting)
        assert m, c.greeting
        assert {"IMAP4rev1", "IMAP4rev2", "AUTH=PLAIN"} <= \
            set(m.group(1).split())
        lines = c.cmd("a", "CAPABILITY")
        assert {"IMAP4rev1", "IMAP4rev2"} <= set(lines[0].split()[2:])
        # LOGIN and ENABLE in one write: ENABLE waits for the session
        c.send("b LOGIN %s %s\r\nc ENABLE IMAP4rev2\r\n" % (user, PASSWORD))
        lines = c.response("b")
        caps = re.match(r"b OK \[CAPABILITY (.*)\] Logged in", lines[-1])
        assert caps, lines
        before = set(caps.group(1).split())
        assert {"IMAP4rev1", "IMAP4rev2", "ESEARCH", "ENABLE"} <= before
        assert c.response("c") == ["* ENABLED IMAP4rev2", "c OK Enabled."]
        # RFC 9051 6.3.1: ENABLE does not change CAPABILITY
        lines = c.cmd("d", "CAPABILITY")
        assert set(lines[0].split()[2:]) == before
        lines = c.cmd("e", "SELECT INBOX")
        assert '* LIST (\\HasNoChildren) "." INBOX' in lines, lines
        assert not any(l.endswith(" RECENT") for l in lines), lines
    finally:
        c.close()


def test_enable_answers(sessions, maildir):
    s = sessions(maildir)
    assert s.ok("CAPABILITY")[0].split()[2:4] == ["IMAP4rev1", "IMAP4rev2"]
    lines = s.ok("ENABLE imap4rev2 CONDSTORE X-UNKNOWN QRESYNC")
    assert lines == ["* ENABLED IMAP4rev2 CONDSTORE QRESYNC"]
    # enabled once: the next ENABLED lists nothing new
    assert s.ok("ENABLE IMAP4rev2") == ["* ENABLED"]
    assert s.cmd("ENABLE")[-1].startswith("t%d BAD" % s.n)
    t = sessions(maildir)
    assert t.ok("ENABLE X-UNKNOWN") == ["* ENABLED"]


def test_imaplib_enable_and_esearch(etc, maildir):
    for i in range(3):
        deliver(maildir, msg(i))
    m = StreamIMAP(etc, "ann", maildir)
    try:
        assert {"IMAP4REV1", "IMAP4REV2"} <= set(m.capabilities)
        typ, data = m.enable("IMAP4rev2")
        assert typ == "OK"
        assert m.untagged_responses.pop("ENABLED") == [b"IMAP4rev2"]
        m.select("INBOX")
        assert "RECENT" not in m.untagged_responses
        typ, data = m.search(None, "ALL")
        assert typ == "OK"
        esearch = m.untagged_responses.pop("ESEARCH")
        assert re.fullmatch(rb'\(TAG "\w+"\) ALL 1:3', esearch[0]), esearch
        m.logout()
    finally:
        m.shutdown()


# --- SEARCH ---------------------------------------------------------------

def test_search_answers_esearch(sessions, maildir):
    for i in range(4):
        deliver(maildir, msg(i), subdir="cur",
                info=":2,S" if i % 2 else ":2,")
    old = sessions(maildir)
    old.ok("SELECT INBOX")
    assert old.ok("SEARCH ALL") == ["* SEARCH 1 2 3 4"]
    s = sessions(maildir, rev2=True)
    s.ok("SELECT INBOX")
    assert s.ok("SEARCH ALL") == ['* ESEARCH (TAG "t3") ALL 1:4']
    assert s.ok("UID SEARCH UNSEEN") == ['* ESEARCH (TAG "t4") UID ALL 1,3']
    assert s.ok("SEARCH CHARSET UTF-8 SUBJECT test") == \
        ['* ESEARCH (TAG "t5") ALL 1:4']
    # nothing found: no ALL
    assert s.ok("UID SEARCH SUBJECT nowhere") == ['* ESEARCH (TAG "t6") UID']
    assert s.ok("SEARCH RETURN (MIN COUNT) SEEN") == \
        ['* ESEARCH (TAG "t7") MIN 2 COUNT 2']
    # SEARCHRES: SAVE alone answers nothing; "$" is the result
    assert s.ok("SEARCH RETURN (SAVE) UNSEEN") == []
    lines = s.ok("FETCH $ (UID)")
    assert lines == ["* 1 FETCH (UID 1)", "* 3 FETCH (UID 3)"], lines
    assert s.ok("UID SEARCH UID $") == ['* ESEARCH (TAG "t10") UID ALL 1,3']
    # CONDSTORE's MODSEQ rides on ESEARCH
    lines = s.ok("SEARCH MODSEQ 1")
    assert re.fullmatch(r'\* ESEARCH \(TAG "t11"\) ALL 1:4 MODSEQ \d+',
                        lines[-1]), lines
    # SORT keeps its own response
    assert s.ok("SORT (SUBJECT) UTF-8 ALL")[0].startswith("* SORT ")


# --- SELECT: LIST, CLOSED, no RECENT or \Recent --------------------------

def test_select_sends_list_and_no_recent(sessions, maildir):
    other = os.path.join(os.path.dirname(maildir),
                         os.path.basename(maildir) + "_rev1")
    make_maildir(other)
    for root in (maildir, other):
        deliver(root, msg(1))
        deliver(root, msg(2))
    old = sessions(other)
    lines = old.ok("SELECT INBOX")
    assert "* 2 RECENT" in lines
    assert any(l.startswith("* OK [UNSEEN 1]") for l in lines), lines
    assert not any(l.startswith("* LIST") for l in lines), lines
    assert "\\Recent" in old.ok("FETCH 1 FLAGS")[0]

    s = sessions(maildir, rev2=True)
    lines = s.ok("SELECT INBOX")
    assert "* 2 EXISTS" in lines
    assert '* LIST (\\HasNoChildren) "." INBOX' in lines, lines
    assert not any("RECENT" in l or "UNSEEN" in l for l in lines), lines
    assert s.ok("FETCH 1:* FLAGS") == ["* 1 FETCH (FLAGS ())",
                                       "* 2 FETCH (FLAGS ())"]
    # new mail: EXISTS, still no RECENT nor \Recent
    deliver(maildir, msg(3))
    lines = s.ok("NOOP")
    assert lines == ["* 3 EXISTS"], lines
    assert s.ok("FETCH 3 (FLAGS)") == ["* 3 FETCH (FLAGS ())"]
    # another mailbox: CLOSED, then the new one's LIST with its attribute
    lines = s.ok("EXAMINE Sent")
    assert lines[0].startswith("* OK [CLOSED]"), lines
    assert '* LIST (\\HasNoChildren \\Sent) "." Sent' in lines, lines
    assert s.cmd("SELECT Nowhere")[-1].startswith("t%d NO [NONEXISTENT]"
                                                  % s.n)


def test_enable_while_selected_drops_recent(sessions, maildir):
    deliver(maildir, msg(1))
    s = sessions(maildir)
    s.ok("SELECT INBOX")
    assert s.ok("FETCH 1 FLAGS") == ["* 1 FETCH (FLAGS (\\Recent))"]
    assert s.ok("ENABLE IMAP4rev2") == ["* ENABLED IMAP4rev2"]
    assert s.ok("FETCH 1 FLAGS") == ["* 1 FETCH (FLAGS ())"]
    deliver(maildir, msg(2))
    assert s.ok("NOOP") == ["* 2 EXISTS"]


def test_fetch_responses_carry_uid(sessions, maildir):
    deliver(maildir, msg(1), subdir="cur", info=":2,")
    deliver(maildir, msg(2), subdir="cur", info=":2,")
    old = sessions(maildir)
    a = sessions(maildir, rev2=True)
    b = sessions(maildir, rev2=True)
    for s in (old, a, b):
        s.ok("SELECT INBOX")
    assert b.ok("STORE 2 +FLAGS (\\Flagged)") == \
        ["* 2 FETCH (UID 2 FLAGS (\\Flagged))"]
    # the other session hears of it unasked: with UID in rev2
    assert a.ok("NOOP") == ["* 2 FETCH (UID 2 FLAGS (\\Flagged))"]
    assert old.ok("NOOP") == ["* 2 FETCH (FLAGS (\\Flagged))"]
    assert old.ok("STORE 1 +FLAGS (\\Seen)") == \
        ["* 1 FETCH (FLAGS (\\Seen))"]


# --- STATUS DELETED and SIZE, FETCH BINARY --------------------------------

def test_status_deleted_and_size(sessions, maildir):
    sizes = 0
    for i in range(3):
        data = msg(i)
        sizes += len(data) + data.count(b"\n")     # CRLF on the wire
        deliver(maildir, data)
    s = sessions(maildir, rev2=True)
    s.ok("SELECT INBOX")
    s.ok("STORE 1,3 +FLAGS.SILENT (\\Deleted)")
    s.ok("STORE 3 +FLAGS.SILENT (\\Seen)")
    lines = s.ok("FETCH 1:* RFC822.SIZE")
    assert sum(int(re.search(r"RFC822\.SIZE (\d+)", l).group(1))
               for l in lines) == sizes
    assert s.ok("STATUS INBOX (MESSAGES DELETED UNSEEN SIZE)") == \
        ["* STATUS INBOX (MESSAGES 3 UNSEEN 2 DELETED 2 SIZE %d)" % sizes]
    s.ok("UNSELECT")
    lines = s.ok('LIST "" INBOX RETURN (STATUS (DELETED))')
    assert lines[-1] == "* STATUS INBOX (DELETED 2)", lines
    s.ok("SELECT INBOX")
    s.ok("EXPUNGE")
    assert s.ok("STATUS INBOX (DELETED MESSAGES)") == \
        ["* STATUS INBOX (MESSAGES 1 DELETED 0)"]


def test_fetch_binary(sessions, maildir):
    deliver(maildir, b"From: a@example.com\nSubject: b\nMIME-Version: 1.0\n"
            b"Content-Type: text/plain; charset=utf-8\n"
            b"Content-Transfer-Encoding: base64\n\n"
            + base64.b64encode("日本語\n".encode()) + b"\n")
    s = sessions(maildir, rev2=True)
    s.ok("SELECT INBOX")
    lines = s.ok("FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])")
    assert lines[0].startswith("* 1 FETCH (BINARY.SIZE[1] 10 BINARY[1] "), \
        lines
    assert "日本語\n" in lines[0]


# --- UTF-8 mailbox names ---------------------------------------------------

def test_japanese_folder_in_utf8_and_in_mutf7(sessions, maildir):
    s = sessions(maildir, rev2=True)
    s.ok('CREATE "%s"' % NIHONGO)
    # kept on disk as Dovecot keeps it
    assert os.path.isdir(os.path.join(maildir, "." + mutf7(NIHONGO)))
    lines = s.ok('LIST "" "日本語*"')
    assert lines == ['* LIST (\\Noselect \\HasChildren) "." "日本語"',
                     '* LIST (\\HasNoChildren) "." "%s"' % NIHONGO], lines
    s.ok('SUBSCRIBE "%s"' % NIHONGO)
    assert s.ok('LIST (SUBSCRIBED) "" "日本語*"') == \
        ['* LIST (\\Subscribed \\HasNoChildren) "." "%s"' % NIHONGO]
    assert s.ok('LSUB "" "日本語.*"') == ['* LSUB () "." "%s"' % NIHONGO]
    # a literal carries the name too
    raw = NIHONGO.encode()
    s.c.send(b"t99 APPEND {%d+}\r\n%s {%d+}\r\n%s\r\n"
             % (len(raw), raw, len(msg(7)), msg(7)))
    assert s.c.response("t99")[-1].startswith("t99 OK [APPENDUID ")
    lines = s.ok('SELECT "%s"' % NIHONGO)
    assert '* LIST (\\HasNoChildren) "." "%s"' % NIHONGO in lines
    assert "* 1 EXISTS" in lines
    assert s.ok('STATUS "%s" (MESSAGES)' % NIHONGO) == \
        ['* STATUS "%s" (MESSAGES 1)' % NIHONGO]
    assert s.ok('GETQUOTAROOT "%s"' % NIHONGO)[0].startswith(
        '* QUOTAROOT "%s"' % NIHONGO)
    lines = s.ok('COPY 1 "%s"' % NIHONGO)
    assert s.no('COPY 1 "日本"')[-1].startswith("t%d NO [TRYCREATE]" % s.n)
    # modified UTF-7 is just text in rev2: "&" is itself
    s.ok('CREATE "&ZeVnLIqe-"')
    assert os.path.isdir(os.path.join(maildir, ".&-ZeVnLIqe-"))

    # an IMAP4rev1 session sees the same folders in modified UTF-7
    old = sessions(maildir)
    lines = old.ok('LIST "" "*"')
    assert '* LIST (\\HasNoChildren) "." %s' % mutf7(NIHONGO) in lines
    assert '* LIST (\\HasNoChildren) "." &-ZeVnLIqe-' in lines
    assert old.ok('LSUB "" "&ZeVnLIqe-.*"') == \
        ['* LSUB () "." %s' % mutf7(NIHONGO)]
    lines = old.ok("SELECT %s" % mutf7(NIHONGO))
    assert "* 2 EXISTS" in lines
    assert not any(l.startswith("* LIST") for l in lines)
    assert old.ok("STATUS %s (MESSAGES)" % mutf7(NIHONGO)) == \
        ["* STATUS %s (MESSAGES 2)" % mutf7(NIHONGO)]
    # UTF-8 is not a rev1 mailbox name
    assert old.no('CREATE "日本"')[-1].endswith("not valid mUTF-7")


def test_names_are_composed_with_oldname(sessions, maildir):
    s = sessions(maildir, rev2=True)
    lines = s.ok('CREATE "%s"' % GA_NFD)
    assert lines == ['* LIST (\\HasNoChildren) "." "が" ("OLDNAME" ("%s"))'
                     % GA_NFD], lines
    assert os.path.isdir(os.path.join(maildir, "." + mutf7("が")))
    assert s.no('CREATE "が"')[-1].startswith("t%d NO [ALREADYEXISTS]" % s.n)
    lines = s.ok('SELECT "%s"' % GA_NFD)
    assert '* LIST (\\HasNoChildren) "." "が" ("OLDNAME" ("%s"))' % GA_NFD \
        in lines, lines
    lines = s.ok('EXAMINE "が"')
    assert '* LIST (\\HasNoChildren) "." "が"' in lines, lines
    s.ok("UNSELECT")
    lines = s.ok('RENAME "%s" "%s"' % (GA_NFD, CAFE_NFD))
    assert lines == ['* LIST (\\HasNoChildren) "." "café" ("OLDNAME" ("%s"))'
                     % GA_NFD], lines
    lines = s.ok('DELETE "%s"' % CAFE_NFD)
    assert lines == ['* LIST (\\NonExistent) "." "café" ("OLDNAME" ("%s"))'
                     % CAFE_NFD], lines
    assert s.ok('LIST "" "caf*"') == []
    # a name already in NFC gets no LIST
    assert s.ok('CREATE "café"') == []
    assert s.ok('DELETE "café"') == []
    # Net-Unicode has no control characters
    for bad in ("a\u0085b", "a\u2028b", "a\tb"):
        assert s.no('CREATE "%s"' % bad)[-1].startswith(
            "t%d NO [CANNOT]" % s.n)
