"""The IMAP session program on its own (`imap --preauth`), driven by
imaplib and raw sockets: every command of RFC 9051's authenticated and
selected states and the advertised extensions, untagged updates between
two sessions on one Maildir, modified UTF-7 names, BODYSTRUCTURE and
section fetches of a multipart message.

Each test gets its own Maildir; no supervisor or authd is involved.
"""
import os
import re
import time

import pytest

from imap_helpers import (Preauth, StreamIMAP, config_dir, deliver,
                          make_maildir, msg, tmpdir_base)


@pytest.fixture(scope="module")
def base(request):
    return tmpdir_base(request)


@pytest.fixture(scope="module")
def etc(base):
    return config_dir(base)


@pytest.fixture
def maildir(base, request):
    root = os.path.join(base, re.sub(r"\W", "_", request.node.name))
    make_maildir(root)
    return root


def session(etc, maildir, user="ann"):
    p = Preauth(etc, user, maildir)
    return p, p.raw()


def ok(lines, tag="a"):
    assert lines[-1].startswith(tag + " OK"), lines
    return lines


MULTIPART = (
    b"From: Ann <ann@example.com>\n"
    b"To: Bob <bob@example.com>\n"
    b"Subject: =?UTF-8?B?5pel5pys6Kqe?= report\n"
    b"Date: Tue, 2 Jan 2024 10:00:00 +0900\n"
    b"Message-ID: <multi@example.com>\n"
    b"MIME-Version: 1.0\n"
    b"Content-Type: multipart/mixed; boundary=\"XX\"\n"
    b"\n"
    b"preamble\n"
    b"--XX\n"
    b"Content-Type: text/plain; charset=utf-8\n"
    b"Content-Transfer-Encoding: quoted-printable\n"
    b"\n"
    b"caf=C3=A9 and tea\n"
    b"--XX\n"
    b"Content-Type: application/octet-stream; name=\"a.bin\"\n"
    b"Content-Transfer-Encoding: base64\n"
    b"Content-Disposition: attachment; filename=\"a.bin\"\n"
    b"\n"
    b"AAECAw==\n"
    b"--XX\n"
    b"Content-Type: message/rfc822\n"
    b"\n"
    b"From: Carl <carl@example.com>\n"
    b"Subject: inner\n"
    b"\n"
    b"inner body\n"
    b"--XX--\n")


# --- greeting, capabilities, simple commands ------------------------------

def test_preauth_greeting_and_capability(etc, maildir):
    p, c = session(etc, maildir)
    try:
        assert c.greeting.startswith("* PREAUTH [CAPABILITY IMAP4rev1 ")
        assert c.greeting.endswith("Logged in as ann")
        lines = ok(c.cmd("a", "CAPABILITY"))
        caps = lines[0].split()[2:]
        for cap in ("IMAP4rev1", "LITERAL+", "IDLE", "UIDPLUS", "MOVE",
                    "NAMESPACE", "ID", "ENABLE", "UNSELECT", "CHILDREN",
                    "SPECIAL-USE", "LIST-EXTENDED", "LIST-STATUS", "ESEARCH",
                    "SEARCHRES", "CONDSTORE", "QRESYNC", "QUOTA", "SORT",
                    "THREAD=REFERENCES", "THREAD=ORDEREDSUBJECT", "BINARY",
                    "APPENDLIMIT=10240000", "STATUS=SIZE"):
            assert cap in caps, caps
        ok(c.cmd("b", "NOOP"), "b")
        lines = ok(c.cmd("c", "NAMESPACE"), "c")
        assert lines[0] == '* NAMESPACE (("" ".")) NIL NIL'
        lines = ok(c.cmd("d", 'ID ("name" "pytest")'), "d")
        assert lines[0].startswith('* ID ("name" "Yubin"')
        lines = c.cmd("e", "LOGOUT")
        assert lines == ["* BYE Logging out", "e OK Logout completed."]
        assert c.closed()
        assert p.wait() == 0
    finally:
        p.close()


def test_bad_commands_and_states(etc, maildir):
    p, c = session(etc, maildir)
    try:
        assert c.cmd("a", "FOO")[-1].startswith("a BAD")
        assert c.cmd("b", "FETCH 1 FLAGS")[-1] == "b BAD No mailbox selected."
        assert c.cmd("c", "UID FOO 1")[-1].startswith("c BAD")
        assert c.cmd("d", 'SELECT "unterminated')[-1].startswith("d BAD")
        c.send("\r\n")          # empty lines are ignored
        ok(c.cmd("e", "NOOP"), "e")
        assert c.cmd("f", "LOGIN a b")[-1].startswith("f BAD")
    finally:
        p.close()


# --- mailboxes ------------------------------------------------------------

def test_special_use_folders_created_and_listed(etc, maildir):
    p, c = session(etc, maildir)
    try:
        lines = ok(c.cmd("a", 'LIST "" "*"'))
        assert '* LIST (\\HasNoChildren) "." INBOX' in lines
        for name in ("Drafts", "Sent", "Trash", "Junk", "Archive"):
            assert '* LIST (\\HasNoChildren \\%s) "." %s' % (name, name) \
                in lines, lines
            assert os.path.isdir(os.path.join(maildir, "." + name))
        lines = ok(c.cmd("b", 'LSUB "" "*"'), "b")
        assert {l.split()[-1] for l in lines[:-1]} == \
            {"Drafts", "Sent", "Trash", "Junk", "Archive"}
        lines = ok(c.cmd("c", 'LIST (SPECIAL-USE) "" "*"'), "c")
        assert len(lines) == 6
        lines = ok(c.cmd("d", 'LIST "" ""'), "d")
        assert lines[0] == '* LIST (\\Noselect) "." ""'
    finally:
        p.close()


def test_create_delete_rename_with_children(etc, maildir):
    p, c = session(etc, maildir)
    try:
        ok(c.cmd("a", "CREATE Work.Projects.Alpha"))
        ok(c.cmd("b", "CREATE Work"), "b")
        assert "ALREADYEXISTS" in c.cmd("c", "CREATE Work")[-1]
        assert "ALREADYEXISTS" in c.cmd("c2", "CREATE inbox")[-1]
        lines = ok(c.cmd("d", 'LIST "" "Work*"'), "d")
        assert '* LIST (\\HasChildren) "." Work' in lines
        assert '* LIST (\\Noselect \\HasChildren) "." Work.Projects' in lines
        assert '* LIST (\\HasNoChildren) "." Work.Projects.Alpha' in lines
        lines = ok(c.cmd("e", 'LIST "" "Work.%"'), "e")
        assert [l.split()[-1] for l in lines[:-1]] == ["Work.Projects"]
        ok(c.cmd("f", "RENAME Work Job"), "f")
        lines = ok(c.cmd("g", 'LIST "" "*"'), "g")
        names = [l.split()[-1] for l in lines[:-1]]
        assert "Job.Projects.Alpha" in names and "Work" not in names
        ok(c.cmd("h", "DELETE Job.Projects.Alpha"), "h")
        assert "NONEXISTENT" in c.cmd("i", "DELETE Nope")[-1]
        assert c.cmd("j", "DELETE INBOX")[-1].startswith("j NO")
        assert "NONEXISTENT" in c.cmd("k", "SELECT Nope")[-1]
    finally:
        p.close()


def test_rename_inbox_moves_messages(etc, maildir):
    for i in range(3):
        deliver(maildir, msg(i))
    p, c = session(etc, maildir)
    try:
        ok(c.cmd("a", "RENAME INBOX Old"))
        lines = ok(c.cmd("b", "STATUS Old (MESSAGES)"), "b")
        assert lines[0] == "* STATUS Old (MESSAGES 3)"
        lines = ok(c.cmd("c", "STATUS INBOX (MESSAGES)"), "c")
        assert lines[0] == "* STATUS INBOX (MESSAGES 0)"
    finally:
        p.close()


def test_japanese_folder_names_in_modified_utf7(etc, maildir):
    name = "日本語.受信"
    wire = name.encode("utf-7").decode()  # not modified UTF-7; see below
    assert wire  # python has no mUTF-7 codec: the names below are fixed
    p, c = session(etc, maildir)
    try:
        ok(c.cmd("a", "CREATE &ZeVnLIqe-.&U9dP4Q-"))
        assert os.path.isdir(os.path.join(maildir, ".&ZeVnLIqe-.&U9dP4Q-"))
        lines = ok(c.cmd("b", 'LIST "" "&ZeVnLIqe-*"'), "b")
        assert '* LIST (\\Noselect \\HasChildren) "." &ZeVnLIqe-' in lines
        assert '* LIST (\\HasNoChildren) "." &ZeVnLIqe-.&U9dP4Q-' in lines
        ok(c.cmd("c", "SELECT &ZeVnLIqe-.&U9dP4Q-"), "c")
        # 8-bit or broken modified UTF-7 is refused
        assert c.cmd("d", "CREATE &Jjo")[-1].startswith("d NO")
        ok(c.cmd("e", "SUBSCRIBE &ZeVnLIqe-.&U9dP4Q-"), "e")
        lines = ok(c.cmd("f", 'LSUB "" "&ZeVnLIqe-.*"'), "f")
        assert lines[0] == '* LSUB () "." &ZeVnLIqe-.&U9dP4Q-'
    finally:
        p.close()


def test_list_extended_and_status(etc, maildir):
    deliver(maildir, msg(1))
    deliver(maildir, msg(2), subdir="cur", info=":2,S")
    p, c = session(etc, maildir)
    try:
        ok(c.cmd("a", "CREATE Lists.Rust"))
        ok(c.cmd("b", "SUBSCRIBE Lists.Rust"), "b")
        lines = ok(c.cmd("c", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "Lists"'),
                   "c")
        assert lines[0] == ('* LIST (\\NonExistent \\HasChildren) "." Lists '
                            '("CHILDINFO" ("SUBSCRIBED"))'), lines
        lines = ok(c.cmd("d", 'LIST "" ("INBOX" "Sent") RETURN (SUBSCRIBED '
                         'STATUS (MESSAGES UNSEEN SIZE))'), "d")
        assert '* LIST (\\HasNoChildren) "." INBOX' in lines
        assert '* LIST (\\Subscribed \\HasNoChildren \\Sent) "." Sent' in lines
        status = [l for l in lines if l.startswith("* STATUS INBOX")]
        size = len(msg(1)) + len(msg(2)) + 2 * msg(1).count(b"\n")
        assert status == ["* STATUS INBOX (MESSAGES 2 UNSEEN 1 SIZE %d)"
                          % size], lines
        lines = ok(c.cmd("e", "STATUS INBOX (MESSAGES RECENT UIDNEXT "
                         "UIDVALIDITY UNSEEN DELETED HIGHESTMODSEQ "
                         "APPENDLIMIT)"), "e")
        assert re.match(r"\* STATUS INBOX \(MESSAGES 2 RECENT \d+ UIDNEXT 3 "
                        r"UIDVALIDITY \d+ UNSEEN 1 DELETED 0 HIGHESTMODSEQ "
                        r"\d+ APPENDLIMIT 10240000\)", lines[0]), lines
        assert c.cmd("f", "STATUS INBOX (BOGUS)")[-1].startswith("f BAD")
    finally:
        p.close()


# --- select, fetch, store, expunge -----------------------------------------

def test_select_examine_responses(etc, maildir):
    deliver(maildir, msg(1), subdir="cur", info=":2,S")
    deliver(maildir, msg(2))
    p, c = session(etc, maildir)
    try:
        lines = ok(c.cmd("a", "EXAMINE INBOX"))
        assert "* 2 EXISTS" in lines
        assert "* OK [PERMANENTFLAGS ()] Read-only mailbox." in lines
        assert lines[-1] == "a OK [READ-ONLY] Examine completed"
        assert c.cmd("b", "STORE 1 +FLAGS \\Flagged") == \
            ["b OK Store ignored with read-only mailbox."]
        lines = ok(c.cmd("c", "SELECT INBOX"), "c")
        assert "* 2 EXISTS" in lines and "* 1 RECENT" in lines
        assert "* OK [UNSEEN 2] First unseen." in lines
        assert any(l.startswith("* OK [UIDVALIDITY ") for l in lines)
        assert "* OK [UIDNEXT 3] Predicted next UID" in lines
        assert any(l.startswith("* OK [HIGHESTMODSEQ ") for l in lines)
        assert lines[-1] == "c OK [READ-WRITE] Select completed"
        # a second session does not see \Recent again
        p2, c2 = session(etc, maildir)
        try:
            lines = ok(c2.cmd("a", "SELECT INBOX"))
            assert "* 0 RECENT" in lines
        finally:
            p2.close()
    finally:
        p.close()


def test_fetch_items_and_store(etc, maildir):
    deliver(maildir, msg(1), mtime=1700000000)
    p, c = session(etc, maildir)
    try:
        ok(c.cmd("a", "SELECT INBOX"))
        lines = ok(c.cmd("b", "FETCH 1 (UID FLAGS RFC822.SIZE INTERNALDATE "
                         "ENVELOPE)"), "b")
        size = len(msg(1)) + msg(1).count(b"\n")
        assert re.match(r'\* 1 FETCH \(UID 1 FLAGS \(\\Recent\) RFC822.SIZE '
                        r'%d INTERNALDATE "\d\d-Nov-2023 \d\d:\d\d:20 [+-]\d{4}"'
                        r' ENVELOPE \("Mon, 1 Jan 2024 12:00:00 \+0000" '
                        r'"test 1" \(\("Ann Example" NIL "ann" "example.com"\)\)'
                        % size, lines[0]), lines
        lines = ok(c.cmd("c", "FETCH 1 BODY.PEEK[HEADER.FIELDS (Subject "
                         "From)]"), "c")
        assert lines[0] == ("* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT FROM)] "
                            "{56}\r\nFrom: Ann Example <ann@example.com>\r\n"
                            "Subject: test 1\r\n\r\n)")
        lines = ok(c.cmd("d", "FETCH 1 (FLAGS)"), "d")
        assert lines[0] == "* 1 FETCH (FLAGS (\\Recent))"   # PEEK kept \Seen off
        lines = ok(c.cmd("e", "FETCH 1 BODY[TEXT]<6.4>"), "e")
        assert lines[0] == "* 1 FETCH (BODY[TEXT]<6> {4}\r\n1.\r\n FLAGS " \
            "(\\Seen \\Recent))"
        lines = ok(c.cmd("f", "STORE 1 +FLAGS (\\Flagged $Work)"), "f")
        # the new keyword is announced before the FETCH that shows it
        assert lines[0] == "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen " \
            "\\Draft $Work)", lines
        assert "* 1 FETCH (FLAGS (\\Flagged \\Seen \\Recent $Work))" in lines
        lines = ok(c.cmd("g", "STORE 1 -FLAGS.SILENT (\\Flagged)"), "g")
        assert lines == ["g OK Store completed."]
        lines = ok(c.cmd("h", "UID STORE 1 FLAGS (\\Answered)"), "h")
        assert lines[0] == "* 1 FETCH (UID 1 FLAGS (\\Answered \\Recent))"
        assert c.cmd("i", "STORE 1 +FLAGS (\\Recent)")[-1].startswith("i BAD")
        assert c.cmd("j", "FETCH 2 FLAGS")[-1].startswith("j BAD")
        assert c.cmd("k", "FETCH 1 (BOGUS)")[-1].startswith("k BAD")
        ok(c.cmd("l", "UID FETCH 99 FLAGS"), "l")
        names = os.listdir(os.path.join(maildir, "cur"))
        assert len(names) == 1 and names[0].endswith(":2,R"), names
    finally:
        p.close()


def test_multipart_bodystructure_and_sections(etc, maildir):
    deliver(maildir, MULTIPART)
    p, c = session(etc, maildir)
    try:
        ok(c.cmd("a", "SELECT INBOX"))
        lines = ok(c.cmd("b", "FETCH 1 BODYSTRUCTURE"), "b")
        bs = lines[0]
        assert bs.startswith('* 1 FETCH (BODYSTRUCTURE (("text" "plain" '
                             '("charset" "utf-8") NIL NIL "quoted-printable"'
                             ), bs
        assert '("application" "octet-stream" ("name" "a.bin") NIL NIL ' \
            '"base64" 8 NIL ("attachment" ("filename" "a.bin"))' in bs, bs
        assert '("message" "rfc822" NIL NIL NIL "7bit" ' in bs, bs
        assert '"mixed" ("boundary" "XX")' in bs
        lines = ok(c.cmd("c", "FETCH 1 (BODY.PEEK[1] BODY.PEEK[1.MIME] "
                         "BODY.PEEK[3.HEADER] BODY.PEEK[3.TEXT] "
                         "BODY.PEEK[3.1] BODY.PEEK[9])"), "c")
        f = lines[0]
        assert "BODY[1] {17}\r\ncaf=C3=A9 and tea BODY[1.MIME]" in f, f
        assert ("BODY[1.MIME] {88}\r\nContent-Type: text/plain; "
                "charset=utf-8\r\nContent-Transfer-Encoding: "
                "quoted-printable\r\n\r\n") in f, f
        assert "BODY[3.HEADER] {49}\r\nFrom: Carl <carl@example.com>\r\n" \
            "Subject: inner\r\n\r\n" in f, f
        assert "BODY[3.TEXT] {10}\r\ninner body BODY[3.1] {10}" in f, f
        assert "BODY[9] {0}\r\n)" in f, f
        lines = ok(c.cmd("d", "FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[2] "
                         "BINARY.PEEK[2])"), "d")
        f = lines[0]
        assert "BINARY[1] ~{13}\r\ncafé and tea BINARY.SIZE[2] 4" in f, f
        assert "BINARY.SIZE[2] 4" in f, f
        assert "BINARY[2] ~{4}" in f, f
        lines = ok(c.cmd("e", "FETCH 1 (BODY ENVELOPE)"), "e")
        assert '"=?UTF-8?B?5pel5pys6Kqe?= report"' in lines[0]
        # the whole message, CRLF on the wire, its size RFC822.SIZE
        lines = ok(c.cmd("f", "FETCH 1 (RFC822.SIZE BODY.PEEK[])"), "f")
        size = int(re.search(r"RFC822.SIZE (\d+)", lines[0]).group(1))
        assert size == len(MULTIPART) + MULTIPART.count(b"\n")
        assert ("BODY[] {%d}\r\n" % size) in lines[0]
    finally:
        p.close()


def test_expunge_and_uid_expunge(etc, maildir):
    for i in range(5):
        deliver(maildir, msg(i))
    p, c = session(etc, maildir)
    try:
        ok(c.cmd("a", "SELECT INBOX"))
        ok(c.cmd("b", "STORE 2,4 +FLAGS.SILENT (\\Deleted)"), "b")
        lines = ok(c.cmd("c", "UID EXPUNGE 4:5"), "c")
        # the recent count changed too (RFC 3501 7.3.2)
        assert lines == ["* 4 EXPUNGE", "* 4 RECENT",
                         "c OK Expunge completed."]
        lines = ok(c.cmd("d", "EXPUNGE"), "d")
        assert lines == ["* 2 EXPUNGE", "* 3 RECENT",
                         "d OK Expunge completed."]
        lines = ok(c.cmd("e", "UID SEARCH ALL"), "e")
        assert lines[0] == "* SEARCH 1 3 5"
        ok(c.cmd("f", "STORE 1 +FLAGS.SILENT (\\Deleted)"), "f")
        ok(c.cmd("g", "CLOSE"), "g")
        lines = ok(c.cmd("h", "STATUS INBOX (MESSAGES)"), "h")
        assert lines[0] == "* STATUS INBOX (MESSAGES 2)"
        assert c.cmd("i", "FETCH 1 FLAGS")[-1].startswith("i BAD")
    finally:
        p.close()


def test_append_with_flags_date_and_limits(base):
    etc = config_dir(os.path.join(base, "small"), message_size_limit="1000")
    maildir = os.path.join(base, "append_limits")
    make_maildir(maildir)
    p = Preauth(etc, "ann", maildir)
    c = p.raw()
    try:
        data = msg(7).replace(b"\n", b"\r\n")
        c.send('a APPEND INBOX (\\Seen $Label) "05-Mar-2024 10:11:12 +0100" '
               '{%d}\r\n' % len(data))
        assert c.line() == "+ OK"
        c.send(data + b"\r\n")
        lines = c.response("a")
        assert re.match(r"a OK \[APPENDUID \d+ 1\] Append completed.",
                        lines[-1]), lines
        lines = ok(c.cmd("b", "SELECT INBOX"), "b")
        lines = ok(c.cmd("c", "FETCH 1 (FLAGS INTERNALDATE BODY.PEEK[])"), "c")
        # recent for the first session to select the folder
        assert "FLAGS (\\Seen \\Recent $Label)" in lines[0], lines
        assert "INTERNALDATE \"05-Mar-2024 " in lines[0], lines
        assert data.decode() in lines[0]
        # LITERAL+: no continuation; over APPENDLIMIT: NO [TOOBIG] before
        # the literal, and the connection stays usable
        c.send("d APPEND INBOX {5000}\r\n")
        assert c.line() == "d NO [TOOBIG] Mail size is larger than the " \
            "maximum size allowed."
        c.send("e APPEND INBOX {2000+}\r\n" + "x" * 2000 + "\r\n")
        assert c.line().startswith("e NO [TOOBIG]")
        ok(c.cmd("f", "NOOP"), "f")
        assert "TRYCREATE" in c.cmd("g", "APPEND Nope {3+}\r\nabc")[-1]
        assert c.cmd("h", "APPEND INBOX {0+}\r\n")[-1].startswith("h NO")
        # a literal in another command above the limit: BAD, usable
        c.send("i LOGIN {70000}\r\n")
        assert c.line() == "i BAD Literal too large."
        ok(c.cmd("j", "NOOP"), "j")
    finally:
        p.close()


def test_copy_move_uidplus(etc, maildir):
    for i in range(4):
        deliver(maildir, msg(i))
    p, c = session(etc, maildir)
    try:
        ok(c.cmd("a", "SELECT INBOX"))
        lines = ok(c.cmd("b", "COPY 1:2 Archive"), "b")
        assert re.match(r"b OK \[COPYUID \d+ 1:2 1:2\] Copy completed.",
                        lines[-1]), lines
        lines = ok(c.cmd("c", "UID MOVE 3 Trash"), "c")
        assert re.match(r"\* OK \[COPYUID \d+ 3 1\] Moved UIDs.", lines[0])
        assert lines[1] == "* 3 EXPUNGE"
        lines = ok(c.cmd("d", "MOVE 1 Archive"), "d")
        assert "* 1 EXPUNGE" in lines
        assert re.match(r"\* OK \[COPYUID \d+ 1 3\]", lines[0]), lines
        assert "TRYCREATE" in c.cmd("e", "COPY 1 Nope")[-1]
        lines = ok(c.cmd("f", "STATUS Archive (MESSAGES)"), "f")
        assert lines[0] == "* STATUS Archive (MESSAGES 3)"
        ok(c.cmd("g", "UNSELECT"), "g")
        assert c.cmd("h", "FETCH 1 FLAGS")[-1].startswith("h BAD")
    finally:
        p.close()


def test_quota_from_maildirsize(etc, maildir):
    big = b"Subject: big\n\n" + b"x" * 3000 + b"\n"
    deliver(maildir, big)
    with open(os.path.join(maildir, "maildirsize"), "w") as f:
        f.write("5000S,10C\n")
    p, c = session(etc, maildir)
    try:
        lines = ok(c.cmd("a", "GETQUOTAROOT INBOX"))
        assert lines[0] == '* QUOTAROOT INBOX "User quota"'
        assert re.match(r'\* QUOTA "User quota" \(STORAGE [23] 4 MESSAGE 1 '
                        r'10\)', lines[1]), lines
        lines = ok(c.cmd("b", 'GETQUOTA "User quota"'), "b")
        assert lines[0].startswith('* QUOTA "User quota" (STORAGE ')
        assert c.cmd("c", "GETQUOTA nope")[-1].startswith("c NO")
        assert c.cmd("d", 'SETQUOTA "User quota" (STORAGE 1)')[-1] \
            .startswith("d NO")
        c.send("e APPEND INBOX {%d+}\r\n%s\r\n" % (len(big), big.decode()))
        c.response("e")
        lines = c.cmd("f", "APPEND INBOX {%d+}\r\n%s" % (len(big),
                                                        big.decode()))
        assert lines[-1].startswith("f NO [OVERQUOTA]"), lines
    finally:
        p.close()


def test_append_literal8_binary(etc, maildir):
    # stored as base64 (RFC 3516 4.4); BINARY[] decodes it back
    data = (b"Subject: bin\r\nMIME-Version: 1.0\r\n"
            b"Content-Transfer-Encoding: binary\r\n\r\nnul\x00byte\r\n")
    p, c = session(etc, maildir)
    try:
        c.send(b"a APPEND INBOX ~{%d+}\r\n" % len(data) + data + b"\r\n")
        assert "APPENDUID" in c.response("a")[-1]
        ok(c.cmd("b", "SELECT INBOX"), "b")
        c.send("c FETCH 1 BINARY.PEEK[]\r\n")
        head = c.line()
        assert head == "* 1 FETCH (BINARY[] ~{%d}" % len(data), head
        assert c.read_bytes(len(data)) == data
        assert c.line() == ")"
        assert c.line() == "c OK Fetch completed."
    finally:
        p.close()


# --- search, sort, thread ------------------------------------------------

def test_search_keys_esearch_searchres(etc, maildir):
    deliver(maildir, msg(1), mtime=1704067200)                  # 2024-01-01
    deliver(maildir, MULTIPART, subdir="cur", info=":2,S",
            mtime=1706745600)                                  # 2024-02-01
    deliver(maildir, msg(3).replace(b"Subject: test 3",
                                    b"Subject: Re: Caf\xc3\xa9 menu"),
            subdir="cur", info=":2,FS")
    p, c = session(etc, maildir)
    try:
        ok(c.cmd("a", "SELECT INBOX"))

        def search(q):
            lines = ok(c.cmd("s", q), "s")
            return [l for l in lines if l.startswith("* SEARCH")][0]
        assert search("SEARCH ALL") == "* SEARCH 1 2 3"
        assert search("SEARCH SEEN") == "* SEARCH 2 3"
        assert search("SEARCH UNSEEN") == "* SEARCH 1"
        assert search("SEARCH FLAGGED NOT DELETED") == "* SEARCH 3"
        assert search("SEARCH OR FLAGGED UNSEEN") == "* SEARCH 1 3"
        assert search("SEARCH FROM carl") == "* SEARCH"
        assert search("SEARCH FROM ann") == "* SEARCH 1 2 3"
        assert search("SEARCH SUBJECT \"TEST 1\"") == "* SEARCH 1"
        assert search("SEARCH CHARSET UTF-8 SUBJECT {5}\r\ncafé") == \
            "* SEARCH 3"
        assert search('SEARCH CHARSET UTF-8 SUBJECT "日本語"') == "* SEARCH 2"
        assert search("SEARCH BODY \"café and\"") == "* SEARCH 2"
        assert search("SEARCH TEXT inner") == "* SEARCH 2"
        assert search("SEARCH HEADER Message-ID multi") == "* SEARCH 2"
        assert search("SEARCH LARGER 300") == "* SEARCH 2"
        assert search("SEARCH BEFORE 15-Jan-2024") == "* SEARCH 1"
        assert search("SEARCH SENTON 2-Jan-2024") == "* SEARCH 2"
        assert search("SEARCH 2:* UID 1:2") == "* SEARCH 2"
        assert search("UID SEARCH 3") == "* SEARCH 3"
        assert search("SEARCH (SEEN FLAGGED) OR 1 3") == "* SEARCH 3"
        lines = ok(c.cmd("b", "SEARCH RETURN (MIN MAX COUNT ALL) SEEN"), "b")
        assert lines[0] == '* ESEARCH (TAG "b") MIN 2 MAX 3 COUNT 2 ALL 2:3'
        lines = ok(c.cmd("c", "UID SEARCH RETURN () ALL"), "c")
        assert lines[0] == '* ESEARCH (TAG "c") UID ALL 1:3'
        lines = ok(c.cmd("d", "SEARCH RETURN (SAVE) UNSEEN"), "d")
        assert lines == ["d OK Search completed."]
        lines = ok(c.cmd("e", "FETCH $ (UID)"), "e")
        assert lines[0] == "* 1 FETCH (UID 1)"
        lines = ok(c.cmd("f", "UID SEARCH $"), "f")
        assert lines[0] == "* SEARCH 1"
        assert "BADCHARSET" in c.cmd("g", "SEARCH CHARSET X-NONE TEXT a")[-1]
        assert c.cmd("h", "SEARCH BEFORE 99-Foo-1")[-1].startswith("h BAD")
    finally:
        p.close()


def test_sort_and_thread(etc, maildir):
    def m(subject, date, mid, refs=b"", frm=b"ann"):
        return (b"From: " + frm + b"@example.com\nSubject: " + subject +
                b"\nDate: " + date + b"\nMessage-ID: <" + mid + b">\n" +
                refs + b"\nbody\n")
    deliver(maildir, m(b"beta", b"Mon, 1 Jan 2024 10:00:00 +0000", b"a@x",
                       frm=b"zed"))
    deliver(maildir, m(b"Re: beta", b"Mon, 1 Jan 2024 11:00:00 +0000", b"b@x",
                       b"In-Reply-To: <a@x>\n", frm=b"bob"))
    deliver(maildir, m(b"alpha", b"Sun, 31 Dec 2023 10:00:00 +0000", b"c@x"))
    deliver(maildir, m(b"Fwd: beta", b"Tue, 2 Jan 2024 10:00:00 +0000",
                       b"d@x", b"References: <a@x> <b@x>\n"))
    p, c = session(etc, maildir)
    try:
        ok(c.cmd("a", "SELECT INBOX"))
        assert ok(c.cmd("b", "SORT (DATE) UTF-8 ALL"), "b")[0] == \
            "* SORT 3 1 2 4"
        assert ok(c.cmd("c", "SORT (REVERSE DATE) UTF-8 ALL"), "c")[0] == \
            "* SORT 4 2 1 3"
        assert ok(c.cmd("d", "SORT (SUBJECT DATE) UTF-8 ALL"), "d")[0] == \
            "* SORT 3 1 2 4"
        assert ok(c.cmd("e", "SORT (FROM) UTF-8 ALL"), "e")[0] == \
            "* SORT 3 4 2 1"
        assert ok(c.cmd("f", "UID SORT (ARRIVAL) UTF-8 2:4"), "f")[0] == \
            "* SORT 2 3 4"
        assert ok(c.cmd("g", "THREAD REFERENCES UTF-8 ALL"), "g")[0] == \
            "* THREAD (3)(1 2 4)"
        assert ok(c.cmd("h", "THREAD ORDEREDSUBJECT UTF-8 ALL"), "h")[0] == \
            "* THREAD (3)(1 (2)(4))"
        assert c.cmd("i", "THREAD FOO UTF-8 ALL")[-1].startswith("i BAD")
    finally:
        p.close()


# --- CONDSTORE / QRESYNC, ENABLE --------------------------------------------

def test_condstore_and_qresync(etc, maildir):
    for i in range(3):
        deliver(maildir, msg(i))
    p, c = session(etc, maildir)
    try:
        lines = ok(c.cmd("a", "ENABLE QRESYNC"))
        assert lines[0] == "* ENABLED QRESYNC"
        lines = ok(c.cmd("b", "SELECT INBOX"), "b")
        uidvalidity = int(re.search(r"UIDVALIDITY (\d+)", " ".join(lines))
                          .group(1))
        hms = int(re.search(r"HIGHESTMODSEQ (\d+)", " ".join(lines)).group(1))
        lines = ok(c.cmd("c", "UID STORE 2 +FLAGS (\\Seen)"), "c")
        m = re.match(r"\* 2 FETCH \(UID 2 FLAGS \(\\Seen \\Recent\) MODSEQ "
                     r"\((\d+)\)\)", lines[0])
        assert m, lines
        assert int(m.group(1)) > hms
        lines = ok(c.cmd("d", "UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % hms),
                   "d")
        assert len(lines) == 2 and lines[0].startswith("* 2 FETCH (UID 2 "), \
            lines
        lines = ok(c.cmd("e", "UID STORE 1,2 (UNCHANGEDSINCE %d) "
                         "+FLAGS.SILENT (\\Flagged)" % hms), "e")
        assert lines[-1].startswith("e OK [MODIFIED 2]"), lines
        ok(c.cmd("f", "STORE 3 +FLAGS.SILENT (\\Deleted)"), "f")
        lines = ok(c.cmd("g", "EXPUNGE"), "g")
        assert lines[0] == "* VANISHED 3", lines
        lines = ok(c.cmd("h", "SEARCH MODSEQ %d" % (hms + 1)), "h")
        assert re.match(r"\* SEARCH 1 2 \(MODSEQ \d+\)", lines[0]), lines
        ok(c.cmd("i", "UNSELECT"), "i")
        lines = ok(c.cmd("j", "SELECT INBOX (QRESYNC (%d %d))"
                         % (uidvalidity, hms)), "j")
        assert "* VANISHED (EARLIER) 3" in lines, lines
        assert any(l.startswith("* 1 FETCH (UID 1 ") for l in lines), lines
        assert any(l.startswith("* 2 FETCH (UID 2 ") for l in lines), lines
        lines = ok(c.cmd("k", "UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d "
                         "VANISHED)" % hms), "k")
        assert lines[0] == "* VANISHED (EARLIER) 3", lines
    finally:
        p.close()


# --- two sessions on one mailbox -----------------------------------------

def test_two_sessions_see_each_others_changes(etc, maildir):
    for i in range(3):
        deliver(maildir, msg(i))
    p1, c1 = session(etc, maildir)
    p2, c2 = session(etc, maildir)
    try:
        ok(c1.cmd("a", "SELECT INBOX"))
        ok(c2.cmd("a", "SELECT INBOX"))
        # flags
        ok(c1.cmd("b", "STORE 2 +FLAGS (\\Flagged)"), "b")
        lines = ok(c2.cmd("b", "NOOP"), "b")
        assert "* 2 FETCH (FLAGS (\\Flagged))" in lines, lines
        # appends and deliveries
        ok(c1.cmd("c", "APPEND INBOX {%d+}\r\n%s" %
                  (len(msg(9)), msg(9).decode())), "c")
        deliver(maildir, msg(10))
        lines = ok(c2.cmd("c", "NOOP"), "c")
        assert "* 5 EXISTS" in lines, lines
        # expunges are held back during FETCH, told at the next NOOP
        ok(c1.cmd("d", "STORE 1 +FLAGS.SILENT (\\Deleted)"), "d")
        ok(c1.cmd("e", "EXPUNGE"), "e")
        lines = ok(c2.cmd("d", "FETCH 1:* (UID)"), "d")
        assert not any("EXPUNGE" in l for l in lines), lines
        # a STORE on the message gone meanwhile is OK (RFC 2180 4.2.1);
        # a FETCH of its body is NO [EXPUNGEISSUED]
        lines = c2.cmd("d2", "STORE 1:2 +FLAGS (\\Seen)")
        assert lines[-1].startswith("d2 OK"), lines
        assert "* 2 FETCH (FLAGS (\\Flagged \\Seen))" in lines, lines
        lines = c2.cmd("d3", "FETCH 1 BODY.PEEK[]")
        assert lines[-1].startswith("d3 NO [EXPUNGEISSUED]"), lines
        lines = c2.cmd("e", "NOOP")
        assert "* 1 EXPUNGE" in lines, lines
        lines = ok(c2.cmd("f", "FETCH 1 (UID)"), "f")
        assert lines[0] == "* 1 FETCH (UID 2)"
        lines = ok(c1.cmd("f", "UID SEARCH ALL"), "f")
        assert lines[0] == "* SEARCH 2 3 4 5"
    finally:
        p1.close()
        p2.close()


def test_selected_folder_deleted_by_another_session(etc, maildir):
    p1, c1 = session(etc, maildir)
    p2, c2 = session(etc, maildir)
    try:
        ok(c1.cmd("a", "CREATE Doomed"))
        ok(c1.cmd("b", "SELECT Doomed"), "b")
        ok(c2.cmd("a", "DELETE Doomed"))
        c1.send("c NOOP\r\n")
        assert c1.line() == "* BYE Mailbox was deleted."
        assert c1.closed()
    finally:
        p1.close()
        p2.close()


def test_idle_sees_delivery_and_other_session(etc, maildir):
    p, c = session(etc, maildir)
    try:
        ok(c.cmd("a", "SELECT INBOX"))
        c.send("b IDLE\r\n")
        assert c.line() == "+ idling"
        t0 = time.monotonic()
        deliver(maildir, msg(1))
        assert c.line() == "* 1 EXISTS"
        assert time.monotonic() - t0 < 1.0
        assert c.line() == "* 1 RECENT"
        c.send("DONE\r\n")
        assert c.line() == "b OK Idle completed."
        c.send("c IDLE\r\n")
        assert c.line() == "+ idling"
        c.send("NOPE\r\n")
        assert c.line() == "c BAD Expected DONE."
    finally:
        p.close()


# --- imaplib over a pipe ------------------------------------------------

def test_imaplib_stream_round_trip(etc, maildir):
    m = StreamIMAP(etc, "ann", maildir)
    try:
        assert m.state == "AUTH"
        typ, _ = m.create("Reports")
        assert typ == "OK"
        typ, data = m.append("Reports", "(\\Seen)", None, msg(5))
        assert typ == "OK" and b"APPENDUID" in data[0]
        typ, data = m.select("Reports")
        assert data == [b"1"]
        typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert data[0][1] == b"Subject: test 5\r\n\r\n"
        typ, data = m.search(None, "SEEN")
        assert data == [b"1"]
        typ, data = m.getquotaroot("Reports")
        assert typ == "OK"
        m.close()
        typ, data = m.list()
        assert any(b"Reports" in d for d in data)
        m.logout()
    finally:
        try:
            m.shutdown()
        except OSError:
            pass


# --- COMPRESS=DEFLATE --------------------------------------------------------

class Deflated:
    """A Raw connection after COMPRESS DEFLATE (raw deflate both ways)."""

    def __init__(self, raw):
        import zlib
        self.zlib = zlib
        self.raw = raw
        self.comp = zlib.compressobj(wbits=-15)
        self.dec = zlib.decompressobj(-15)
        raw.send = self.send
        raw._fill = self._fill

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.raw.s.sendall(self.comp.compress(data) +
                           self.comp.flush(self.zlib.Z_SYNC_FLUSH))

    def _fill(self):
        chunk = self.raw.s.recv(65536)
        if not chunk:
            raise EOFError("closed")
        self.raw.buf += self.dec.decompress(chunk)


def test_compress_deflate(etc, maildir):
    deliver(maildir, msg(1))
    p, c = session(etc, maildir)
    try:
        assert "COMPRESS=DEFLATE" in c.cmd("a", "CAPABILITY")[0]
        assert c.cmd("b", "COMPRESS DEFLATE") == ["b OK DEFLATE active"]
        Deflated(c)
        # pipelined, compressed: a command in steps, then more behind it
        c.send("c SELECT INBOX\r\nd FETCH 1 BODY.PEEK[]\r\ne NOOP\r\n")
        ok(c.response("c"), "c")
        lines = ok(c.response("d"), "d")
        assert msg(1).replace(b"\n", b"\r\n").decode() in lines[0]
        ok(c.response("e"), "e")
        data = msg(2).replace(b"\n", b"\r\n")
        c.send("f APPEND INBOX {%d}\r\n" % len(data))
        assert c.line() == "+ OK"
        c.send(data + b"\r\n")
        assert "APPENDUID" in c.response("f")[-1]
        c.send("g IDLE\r\n")
        assert c.line() == "+ idling"
        deliver(maildir, msg(3))
        assert c.line() == "* 3 EXISTS"
        c.send("DONE\r\n")
        assert c.response("g")[-1] == "g OK Idle completed."
        lines = c.cmd("h", "CAPABILITY")
        assert "COMPRESS=DEFLATE" not in lines[0]
        assert "COMPRESSIONACTIVE" in c.cmd("i", "COMPRESS DEFLATE")[-1]
        assert c.cmd("j", "LOGOUT")[-1] == "j OK Logout completed."
    finally:
        p.close()
