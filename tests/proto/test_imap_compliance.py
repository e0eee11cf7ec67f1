"""Regression tests for protocol details Dovecot's imaptest checks: each
test pins one behaviour its scripted tests or stress mode found wrong.

The session program runs alone (`imap --preauth`), one Maildir per test.
"""
import os
import re

import pytest

from imap_helpers import Preauth, config_dir, deliver, make_maildir, tmpdir_base


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


def session(etc, maildir):
    p = Preauth(etc, "ann", maildir)
    return p, p.raw()


def ok(lines, tag="a"):
    assert lines[-1].startswith(tag + " OK"), lines
    return lines


def untagged(lines, word):
    return [x for x in lines if x.upper().startswith("* " + word.upper())]


def test_tilde_starts_an_atom(etc, maildir):
    # RFC 9051: '~' is an ATOM-CHAR unless "~{" begins a literal8
    p, r = session(etc, maildir)
    try:
        ok(r.cmd("a", 'LIST "" ~foo'))
        lines = r.cmd("b", "SELECT ~foo")
        assert lines[-1].startswith("b NO"), lines
        ok(r.cmd("c", "NOOP"), "c")
    finally:
        p.close()


def test_list_unknown_return_option_is_bad(etc, maildir):
    p, r = session(etc, maildir)
    try:
        lines = r.cmd("a", 'LIST "" "" RETURN (imaptest)')
        assert lines[-1].startswith("a BAD"), lines
        assert not untagged(lines, "LIST"), lines
        ok(r.cmd("b", 'LIST "" ""'), "b")
    finally:
        p.close()


def test_recursivematch_childinfo_only_for_unlisted_children(etc, maildir):
    p, r = session(etc, maildir)
    try:
        for name in ("box", "box.sub"):
            ok(r.cmd("a", "CREATE " + name))
        ok(r.cmd("a", "SUBSCRIBE box.sub"))
        # the subscribed child matches no pattern: the parent carries it
        lines = ok(r.cmd("a", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" (box)'))
        assert any("CHILDINFO" in x.upper() for x in untagged(lines, "LIST")), \
            lines
        # the child is listed itself: no CHILDINFO line for the parent
        lines = ok(r.cmd("a", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" '
                              '(box box.sub)'))
        assert not any("CHILDINFO" in x.upper()
                       for x in untagged(lines, "LIST")), lines
        assert any("box.sub" in x for x in untagged(lines, "LIST")), lines
    finally:
        p.close()


def test_sort_cc_uses_group_name(etc, maildir):
    # RFC 5256: the first address of the ENVELOPE list, a group's name
    # included
    for cc in (b"user2@domain2.org", b"user2: blah@domain1.org;",
               b"user1@domain1.org"):
        deliver(maildir, b"From: a@example.com\nCc: " + cc +
                b"\nSubject: s\n\nbody\n")
    p, r = session(etc, maildir)
    try:
        ok(r.cmd("a", "SELECT INBOX"))
        lines = ok(r.cmd("a", "SORT (CC) US-ASCII ALL"))
        assert "* SORT 3 1 2" in lines, lines
        lines = ok(r.cmd("a", "SORT (REVERSE CC) US-ASCII ALL"))
        assert "* SORT 1 2 3" in lines, lines
    finally:
        p.close()


def test_search_address_ignores_comments(etc, maildir):
    deliver(maildir, b"From: <user-from (comment)@ (comment) domain.org>\n"
            b"Subject: one\n\nbody\n")
    deliver(maildir, b"From: RealFrom <user-from@domain.org>\n"
            b"Subject: two\n\nbody\n")
    deliver(maildir, b"From: other@domain.org\nSubject: three\n\nbody\n")
    p, r = session(etc, maildir)
    try:
        ok(r.cmd("a", "SELECT INBOX"))
        lines = ok(r.cmd("a", "SEARCH FROM user-from@domain.org"))
        assert "* SEARCH 1 2" in lines, lines
        lines = ok(r.cmd("a", 'SEARCH FROM "realfrom <user-from"'))
        assert "* SEARCH 2" in lines, lines
    finally:
        p.close()


def test_condstore_enabled_while_selected_reports_highestmodseq(etc, maildir):
    deliver(maildir, b"Subject: a\n\nbody\n")
    p, r = session(etc, maildir)
    try:
        ok(r.cmd("a", "SELECT INBOX"))
        lines = ok(r.cmd("b", "FETCH 1 MODSEQ"), "b")
        assert any(re.match(r"\* OK \[HIGHESTMODSEQ [1-9]\d*\]", x)
                   for x in lines), lines
        # only the first CONDSTORE-enabling command says so
        lines = ok(r.cmd("c", "FETCH 1 MODSEQ"), "c")
        assert not any("HIGHESTMODSEQ" in x for x in lines), lines
    finally:
        p.close()


def test_esearch_min_max_modseq_is_the_found_message(etc, maildir):
    for i in range(3):
        deliver(maildir, b"Subject: m%d\n\nbody\n" % i)
    p, r = session(etc, maildir)
    try:
        ok(r.cmd("a", "SELECT INBOX (CONDSTORE)"))
        mods = {}
        for n in (1, 3):
            lines = ok(r.cmd("a", "STORE %d +FLAGS (\\Seen)" % n))
            mods[n] = int(re.search(r"MODSEQ \((\d+)\)", " ".join(lines)).group(1))
        lines = ok(r.cmd("t1", "SEARCH RETURN (MIN) 1:3 MODSEQ 1"), "t1")
        assert any(x.endswith("MIN 1 MODSEQ %d" % mods[1]) for x in lines), lines
        lines = ok(r.cmd("t2", "SEARCH RETURN (MAX) 1:3 MODSEQ 1"), "t2")
        assert any(x.endswith("MAX 3 MODSEQ %d" % mods[3]) for x in lines), lines
    finally:
        p.close()


def test_binary_of_attached_message(etc, maildir):
    inner = (b"From: sub@domain.org\nSubject: submsg\n\nHello world\n")
    deliver(maildir, b"From: a@example.com\nMIME-Version: 1.0\n"
            b"Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\n"
            b"Content-Type: text/plain\n\nhello\n--b\n"
            b"Content-Type: message/rfc822\n\n" + inner + b"--b--\n")
    p, r = session(etc, maildir)
    try:
        ok(r.cmd("a", "SELECT INBOX"))
        # the part ends before the CRLF that goes with the boundary
        want = inner[:-1].replace(b"\n", b"\r\n")
        lines = ok(r.cmd("a", "FETCH 1 (BINARY.SIZE[2])"))
        assert any("BINARY.SIZE[2] %d" % len(want) in x for x in lines), lines
        lines = ok(r.cmd("a", "FETCH 1 (BINARY.PEEK[2])"))
        assert any("Hello world" in x and "submsg" in x for x in lines), lines
    finally:
        p.close()


def test_recreated_folder_gets_new_uidvalidity(etc, maildir):
    p, r = session(etc, maildir)
    try:
        seen = set()
        # within one second: a time-based UIDVALIDITY alone would repeat
        for i in range(3):
            ok(r.cmd("a", "CREATE again"))
            lines = ok(r.cmd("a", "STATUS again (UIDVALIDITY)"))
            v = re.search(r"UIDVALIDITY (\d+)", " ".join(lines)).group(1)
            assert v not in seen, (v, seen)
            seen.add(v)
            ok(r.cmd("a", "DELETE again"))
    finally:
        p.close()

