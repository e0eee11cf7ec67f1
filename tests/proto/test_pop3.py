"""POP3 (RFC 1939, 2449, 5034) against a running instance: every command
and state rule, response codes, byte-exact RETR/TOP, the snapshot taken
at login, DELE with RSET, QUIT and a dropped connection, UIDL values and
their stability, pipelining through the hand-off to the session.

One instance serves the whole module (pop3d on 127.0.0.1, where a plain
login is allowed: client and server address are the same); each test uses
its own user, so mailboxes never meet.
"""
import os
import poplib
import re

import pytest

from conftest import wait_for
from pop3_helpers import (PASSWORD, Pop, Pop3Instance, b64, module_instance,
                          msg, plain_b64, pop3_wire)


@pytest.fixture(scope="module")
def pop(request):
    p = Pop3Instance(module_instance(request))
    p.tls()
    p.service("pop3")
    return p.start(users=40)


def port(pop):
    return pop.ports["pop3"]


def logged_in(pop, user=None):
    user = user or pop.fresh_user()
    c = Pop(port(pop))
    c.login(user)
    return c, user


# --- AUTHORIZATION state --------------------------------------------------

def test_greeting_and_capabilities_before_login(pop):
    c = Pop(port(pop))
    assert c.greeting == "+OK Yubin ready."
    assert c.cmd("CAPA") == "+OK"
    caps = c.multi()
    for cap in ("CAPA", "TOP", "UIDL", "RESP-CODES", "PIPELINING",
                "AUTH-RESP-CODE", "STLS", "USER", "IMPLEMENTATION Yubin"):
        assert cap in caps, caps
    sasl = [x for x in caps if x.startswith("SASL ")]
    assert sasl and set(sasl[0].split()[1:]) == {"PLAIN", "LOGIN"}, caps
    assert c.cmd("QUIT") == "+OK Logging out"
    assert c.closed()


def test_poplib_capa_and_login(pop):
    user = pop.fresh_user()
    p = poplib.POP3("127.0.0.1", port(pop), timeout=10)
    caps = p.capa()
    assert "STLS" in caps and "USER" in caps
    assert p.user(user) == b"+OK"
    assert p.pass_(PASSWORD) == b"+OK Logged in."
    assert p.stat() == (0, 0)
    after = p.capa()
    # RFC 2449: only what applies in TRANSACTION state
    assert "USER" not in after and "STLS" not in after and "SASL" not in after
    assert "TOP" in after and "UIDL" in after and "PIPELINING" in after
    assert p.quit() == b"+OK Logging out."


def test_transaction_commands_are_unknown_before_login(pop):
    c = Pop(port(pop))
    for command in ("STAT", "LIST", "RETR 1", "DELE 1", "NOOP", "RSET",
                    "TOP 1 0", "UIDL"):
        assert c.cmd(command) == "-ERR Unknown command.", command
    assert c.cmd("") == "-ERR Unknown command."
    # still usable
    assert c.cmd("USER " + pop.fresh_user()) == "+OK"


def test_too_many_bad_commands_close_the_connection(pop):
    c = Pop(port(pop))
    replies = [c.cmd("BOGUS") for _ in range(10)]
    assert replies[-1] == "-ERR Too many invalid commands.", replies
    assert c.closed()


def test_wrong_password_and_unknown_user_get_the_same_answer(pop):
    user = pop.fresh_user()
    c = Pop(port(pop))
    assert c.cmd("USER " + user) == "+OK"
    assert c.cmd("PASS wrong") == "-ERR [AUTH] Authentication failed."
    assert c.cmd("USER nobody-here@example.com") == "+OK"
    assert c.cmd("PASS " + PASSWORD) == "-ERR [AUTH] Authentication failed."
    # the third failure ends the connection
    assert c.cmd("USER " + user) == "+OK"
    assert c.cmd("PASS wrong") == "-ERR [AUTH] Authentication failed."
    assert c.closed()
    assert pop.inst.wait_log(
        r"pop3-login: Disconnected: Aborted login \(auth failed, 3 attempts "
        r"in \d+ secs\): user=<%s>, method=PLAIN, rip=127\.0\.0\.1, "
        r"lip=127\.0\.0\.1" % re.escape(user))


def test_failed_then_successful_login(pop):
    user = pop.fresh_user()
    c = Pop(port(pop))
    assert c.cmd("USER " + user) == "+OK"
    assert c.cmd("PASS nope") == "-ERR [AUTH] Authentication failed."
    # PASS forgets the user: RFC 1939 starts over with USER
    assert c.cmd("PASS " + PASSWORD) == "-ERR No username given."
    c.login(user)
    assert c.cmd("STAT") == "+OK 0 0"


def test_pass_without_user(pop):
    c = Pop(port(pop))
    assert c.cmd("PASS " + PASSWORD) == "-ERR No username given."
    assert c.cmd("USER") == "-ERR Invalid arguments."


def test_password_with_spaces_is_taken_whole(pop):
    user = pop.fresh_user()
    c = Pop(port(pop))
    assert c.cmd("USER " + user) == "+OK"
    # the rest of the line is the password, trailing space included
    assert c.cmd("PASS " + PASSWORD + " ") == \
        "-ERR [AUTH] Authentication failed."


def test_auth_plain_with_initial_response(pop):
    user = pop.fresh_user()
    c = Pop(port(pop))
    assert c.cmd("AUTH PLAIN " + plain_b64(user)) == "+OK Logged in."
    assert c.cmd("STAT") == "+OK 0 0"
    assert pop.inst.wait_log(r"pop3-login: Login: user=<%s>, method=PLAIN, "
                             r"rip=127\.0\.0\.1, lip=127\.0\.0\.1, mpid=\d+$"
                             % re.escape(user))


def test_auth_plain_with_continuation(pop):
    user = pop.fresh_user()
    c = Pop(port(pop))
    assert c.cmd("AUTH plain") == "+ "
    assert c.cmd(plain_b64(user)) == "+OK Logged in."


def test_auth_login(pop):
    user = pop.fresh_user()
    c = Pop(port(pop))
    assert c.cmd("AUTH LOGIN") == "+ " + b64("Username:")
    assert c.cmd(b64(user)) == "+ " + b64("Password:")
    assert c.cmd(b64(PASSWORD)) == "+OK Logged in."
    assert pop.inst.wait_log(r"Login: user=<%s>, method=LOGIN"
                             % re.escape(user))


def test_auth_failures(pop):
    user = pop.fresh_user()
    c = Pop(port(pop))
    assert c.cmd("AUTH PLAIN " + plain_b64(user, "wrong")) == \
        "-ERR [AUTH] Authentication failed."
    assert c.cmd("AUTH PLAIN") == "+ "
    assert c.cmd("*") == "-ERR Authentication aborted by client."
    assert c.cmd("AUTH CRAM-MD5") == "-ERR Unsupported authentication mechanism."
    # an empty initial response ("=") is no valid PLAIN message
    assert c.cmd("AUTH PLAIN =").startswith("-ERR")
    c = Pop(port(pop))
    assert c.cmd("AUTH PLAIN") == "+ "
    assert c.cmd("!!not base64!!") == "-ERR Invalid base64 data in response."
    assert c.cmd("AUTH PLAIN") == "+ "
    # an answer longer than any line the front end takes
    assert c.cmd("A" * 20000) == "-ERR Invalid base64 data in response."
    assert c.cmd("AUTH PLAIN " + plain_b64(user)) == "+OK Logged in."


def test_auth_without_mechanism_lists_them(pop):
    c = Pop(port(pop))
    assert c.cmd("AUTH") == "+OK"
    assert set(c.multi()) == {"PLAIN", "LOGIN"}


def test_apop_is_not_offered(pop):
    c = Pop(port(pop))
    # no timestamp in the greeting, so no APOP
    assert "<" not in c.greeting
    assert c.cmd("APOP user0@example.com 0123456789abcdef0123456789abcdef") \
        == "-ERR Unknown command."


def test_stls_answer_and_state_reset(pop):
    c = Pop(port(pop))
    assert c.cmd("USER " + pop.fresh_user()) == "+OK"
    assert c.cmd("STLS") == "+OK Begin TLS negotiation now."
    c.starttls_wrap()
    assert c.cmd("STLS") == "-ERR TLS is already active."
    # RFC 2595: the USER given before TLS is forgotten
    assert c.cmd("PASS " + PASSWORD) == "-ERR No username given."


# --- TRANSACTION state -----------------------------------------------------

def test_stat_list_uidl_noop_with_messages(pop):
    user = pop.fresh_user()
    bodies = [msg(1), msg(2) + b"x" * 100, msg(3)]
    for b in bodies:
        pop.deliver(user, b)
    c, _ = logged_in(pop, user)
    sizes = [pop3_wire(b)[1] for b in bodies]
    assert c.cmd("STAT") == "+OK 3 %d" % sum(sizes)
    assert c.cmd("LIST") == "+OK 3 messages:"
    assert c.multi() == ["%d %d" % (i + 1, s) for i, s in enumerate(sizes)]
    assert c.cmd("LIST 2") == "+OK 2 %d" % sizes[1]
    assert c.cmd("UIDL") == "+OK"
    uidls = c.multi()
    assert [u.split()[0] for u in uidls] == ["1", "2", "3"]
    assert len({u.split()[1] for u in uidls}) == 3
    assert c.cmd("UIDL 3") == "+OK " + uidls[2]
    assert c.cmd("NOOP") == "+OK"
    # commands of the other state
    assert c.cmd("USER x") == "-ERR Unknown command."
    assert c.cmd("STLS") == "-ERR Unknown command."
    assert c.cmd("AUTH PLAIN") == "-ERR Unknown command."


def test_message_number_errors(pop):
    user = pop.fresh_user()
    pop.deliver(user, msg(1))
    c, _ = logged_in(pop, user)
    assert c.cmd("RETR 0") == "-ERR There's no message 0."
    assert c.cmd("LIST 2") == "-ERR There's no message 2."
    assert c.cmd("RETR 99999999999999999999").startswith(
        "-ERR Invalid message number")
    assert c.cmd("DELE x") == "-ERR Invalid message number: x"
    assert c.cmd("UIDL -1") == "-ERR Invalid message number: -1"
    assert c.cmd("TOP 1 x") == "-ERR Invalid number of lines: x"
    assert c.cmd("TOP 1") == "-ERR Invalid arguments."
    assert c.cmd("LIST 1 2") == "-ERR Invalid arguments."
    assert c.cmd("DELE 1") == "+OK Marked to be deleted."
    for command in ("RETR 1", "LIST 1", "UIDL 1", "DELE 1", "TOP 1 0"):
        assert c.cmd(command) == "-ERR Message is deleted.", command
    assert c.cmd("LIST") == "+OK 0 messages:"
    assert c.multi() == []
    assert c.cmd("STAT") == "+OK 0 0"


def test_retr_is_byte_exact(pop):
    user = pop.fresh_user()
    messages = [
        # lines starting with "." (and one that is only a dot)
        b"Subject: dots\n\n.hidden\n..two\n.\nend\n",
        # 8-bit content, a bare CR, a NUL
        b"Subject: =?utf-8?b?5pel5pys?=\n\n\xe6\x97\xa5\xe6\x9c\xac"
        b"\xe8\xaa\x9e\nbyte \xff\x80 and cr\r in line\nnul \x00 byte\n",
        # stored with CRLF already
        b"Subject: crlf\r\n\r\nalready\r\n.dotted\r\n",
        # no line end at the end
        b"Subject: open\n\nno newline at the end",
        # a dot as the last, unterminated line
        b"Subject: x\n\n.",
        # only a header
        b"Subject: header only\n",
    ]
    for m in messages:
        pop.deliver(user, m)
    c, _ = logged_in(pop, user)
    for i, m in enumerate(messages, 1):
        wire, size = pop3_wire(m)
        assert c.cmd("LIST %d" % i) == "+OK %d %d" % (i, size)
        assert c.cmd("RETR %d" % i) == "+OK %d octets" % size
        got = c.raw_multi()
        assert got == wire, (i, got, wire)


def test_retr_large_message_streams(pop):
    user = pop.fresh_user()
    body = b"Subject: big\n\n" + b"".join(
        b".%07d %s\n" % (i, b"y" * 70) for i in range(60000))
    pop.deliver(user, body)
    c, _ = logged_in(pop, user)
    wire, size = pop3_wire(body)
    # pipelined behind the RETR: answered after the whole message
    c.send("RETR 1\r\nNOOP\r\n")
    assert c.line() == "+OK %d octets" % size
    assert c.raw_multi() == wire
    assert c.line() == "+OK"


def test_top(pop):
    user = pop.fresh_user()
    m = (b"From: a@example.com\nSubject: top\n\n"
         b"one\n.two\nthree\nfour\n")
    pop.deliver(user, m)
    c, _ = logged_in(pop, user)
    assert c.cmd("TOP 1 0") == "+OK"
    assert c.raw_multi() == (b"From: a@example.com\r\nSubject: top\r\n\r\n"
                             b".\r\n")
    assert c.cmd("TOP 1 2") == "+OK"
    assert c.raw_multi() == (b"From: a@example.com\r\nSubject: top\r\n\r\n"
                             b"one\r\n..two\r\n.\r\n")
    assert c.cmd("TOP 1 100") == "+OK"
    assert c.raw_multi() == pop3_wire(m)[0]


def test_dele_then_rset_keeps_everything(pop):
    user = pop.fresh_user()
    for i in range(3):
        pop.deliver(user, msg(i))
    c, _ = logged_in(pop, user)
    assert c.cmd("DELE 1") == "+OK Marked to be deleted."
    assert c.cmd("DELE 3") == "+OK Marked to be deleted."
    assert c.cmd("STAT").startswith("+OK 1 ")
    assert c.cmd("RSET") == "+OK"
    assert c.cmd("STAT").startswith("+OK 3 ")
    assert c.cmd("QUIT") == "+OK Logging out."
    assert c.closed()
    assert len(pop.files(user)) == 3
    c, _ = logged_in(pop, user)
    assert c.cmd("STAT").startswith("+OK 3 ")


def test_dele_then_quit_expunges(pop):
    user = pop.fresh_user()
    paths = [pop.deliver(user, msg(i)) for i in range(3)]
    c, _ = logged_in(pop, user)
    assert c.cmd("UIDL 3") .startswith("+OK 3 ")
    keep = c.cmd("UIDL 3").split()[2]
    assert c.cmd("DELE 1") == "+OK Marked to be deleted."
    assert c.cmd("DELE 2") == "+OK Marked to be deleted."
    # the files stay until QUIT
    assert len(pop.files(user)) == 3
    assert c.cmd("QUIT") == "+OK Logging out, messages deleted."
    assert c.closed()
    left = pop.files(user)
    assert list(left) == [paths[2].rsplit("/", 1)[1]], left
    assert pop.inst.wait_log(
        r"pop3\(%s\): Disconnected: Logged out top=0/0, retr=0/0, "
        r"del=2/3, size=\d+" % re.escape(user))
    c, _ = logged_in(pop, user)
    assert c.cmd("STAT").startswith("+OK 1 ")
    assert c.cmd("UIDL 1") == "+OK 1 " + keep


def test_dele_then_dropped_connection_deletes_nothing(pop):
    user = pop.fresh_user()
    for i in range(2):
        pop.deliver(user, msg(i))
    c, _ = logged_in(pop, user)
    assert c.cmd("DELE 1") == "+OK Marked to be deleted."
    assert c.cmd("DELE 2") == "+OK Marked to be deleted."
    c.close()
    assert pop.inst.wait_log(r"pop3\(%s\): Disconnected: Connection closed "
                             r"top=0/0, retr=0/0, del=0/2" % re.escape(user))
    assert len(pop.files(user)) == 2
    c, _ = logged_in(pop, user)
    assert c.cmd("STAT").startswith("+OK 2 ")


def test_retrieved_messages_are_seen_after_quit(pop):
    user = pop.fresh_user()
    pop.deliver(user, msg(1))
    pop.deliver(user, msg(2))
    c, _ = logged_in(pop, user)
    assert c.cmd("RETR 2").startswith("+OK")
    c.raw_multi()
    assert c.cmd("TOP 1 0") == "+OK"
    c.raw_multi()
    assert c.cmd("QUIT") == "+OK Logging out."
    assert c.closed()
    files = pop.files(user)
    flags = sorted(files.values())
    # TOP does not make a message seen; RETR does (at QUIT)
    assert flags == ["2,", "2,S"], files
    assert pop.inst.wait_log(r"pop3\(%s\): Disconnected: Logged out "
                             r"top=1/\d+, retr=1/\d+, del=0/2"
                             % re.escape(user))


def test_snapshot_at_login(pop):
    user = pop.fresh_user()
    first = pop.deliver(user, msg(1))
    pop.deliver(user, msg(2))
    c, _ = logged_in(pop, user)
    stat = c.cmd("STAT")
    assert stat.startswith("+OK 2 ")
    uidls = (c.cmd("UIDL") and c.multi())
    # delivered during the session: seen at the next login only
    pop.deliver(user, msg(3))
    assert c.cmd("STAT") == stat
    assert c.cmd("LIST 3") == "-ERR There's no message 3."
    # expunged meanwhile (as an IMAP client would): numbering holds
    for name, info in pop.files(user).items():
        if first.endswith(name):
            import glob
            for p in glob.glob(pop.maildir(user) + "/*/" + name + "*"):
                import os
                os.unlink(p)
    assert c.cmd("STAT") == stat
    assert c.cmd("RETR 1") == "-ERR Message is no longer available."
    assert c.cmd("RETR 2").startswith("+OK")
    c.raw_multi()
    assert (c.cmd("UIDL") and c.multi()) == uidls
    assert c.cmd("DELE 1") == "+OK Marked to be deleted."
    assert c.cmd("QUIT").startswith("+OK Logging out")
    c, _ = logged_in(pop, user)
    assert c.cmd("STAT").startswith("+OK 2 ")
    after = (c.cmd("UIDL") and c.multi())
    assert after[0].split()[1] == uidls[1].split()[1]


def test_uidl_is_dovecot_format_and_stable(pop):
    user = pop.fresh_user()
    paths = [pop.deliver(user, msg(i)) for i in range(4)]
    c, _ = logged_in(pop, user)
    assert c.cmd("UIDL") == "+OK"
    first = dict(l.split() for l in c.multi())
    assert c.cmd("QUIT").startswith("+OK")
    validity, uids = pop.uidlist(user)
    for i, p in enumerate(paths, 1):
        uid = uids[p.rsplit("/", 1)[1]]
        assert first[str(i)] == "%08x%08x" % (uid, validity)
    # another session, after a delivery and a deletion: same values
    pop.deliver(user, msg(9))
    c, _ = logged_in(pop, user)
    assert c.cmd("DELE 2").startswith("+OK")
    assert c.cmd("QUIT").startswith("+OK Logging out, messages deleted")
    c, _ = logged_in(pop, user)
    assert c.cmd("UIDL") == "+OK"
    second = [l.split()[1] for l in c.multi()]
    assert second[:3] == [first["1"], first["3"], first["4"]]
    assert len(second) == 4 and second[3] not in first.values()


def test_pipelined_login_and_commands(pop):
    user = pop.fresh_user()
    pop.deliver(user, msg(1))
    c = Pop(port(pop))
    # everything in one segment: what follows PASS reaches the session
    c.send("CAPA\r\nUSER %s\r\nPASS %s\r\nSTAT\r\nLIST\r\nRETR 1\r\nQUIT\r\n"
           % (user, PASSWORD))
    assert c.line() == "+OK"
    c.multi()
    assert c.line() == "+OK"
    assert c.line() == "+OK Logged in."
    wire, size = pop3_wire(msg(1))
    assert c.line() == "+OK 1 %d" % size
    assert c.line() == "+OK 1 messages:"
    assert c.multi() == ["1 %d" % size]
    assert c.line() == "+OK %d octets" % size
    assert c.raw_multi() == wire
    assert c.line() == "+OK Logging out."
    assert c.closed()


def test_pipelined_bytes_split_inside_a_command(pop):
    user = pop.fresh_user()
    c = Pop(port(pop))
    # the hand-off happens while "ST" waits for the rest of its line
    c.send("USER %s\r\nPASS %s\r\nST" % (user, PASSWORD))
    assert c.line() == "+OK"
    assert c.line() == "+OK Logged in."
    c.send("AT\r\n")
    assert c.line() == "+OK 0 0"


def test_session_rejects_long_lines_and_keeps_going(pop):
    c, _ = logged_in(pop)
    assert c.cmd("NOOP " + "x" * 5000) == "-ERR Input line too long."
    assert c.cmd("NOOP") == "+OK"


def test_login_log_and_session_process(pop):
    user = pop.fresh_user()
    c, _ = logged_in(pop, user)
    assert c.cmd("QUIT") == "+OK Logging out."
    log = pop.inst.log()
    m = re.search(r"yubin/pop3d\[\d+\]: pop3-login: Login: user=<%s>, "
                  r"method=PLAIN, rip=127\.0\.0\.1, lip=127\.0\.0\.1, "
                  r"mpid=(\d+)\n" % re.escape(user), log)
    assert m, log
    assert wait_for(lambda: re.search(
        r"yubin/pop3\[%s\]: pop3\(%s\): Disconnected: Logged out top=0/0, "
        r"retr=0/0, del=0/0, size=0" % (m.group(1), re.escape(user)),
        pop.inst.log())), pop.inst.log()


def test_broken_mailbox_is_a_temporary_error(pop):
    user = pop.fresh_user()
    path = pop.maildir(user)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("not a Maildir\n")
    c = Pop(port(pop))
    assert c.cmd("USER " + user) == "+OK"
    reply = c.cmd("PASS " + PASSWORD)
    # the detail goes to the log, the client gets a time to quote
    assert re.fullmatch(r"-ERR \[SYS/TEMP\] Internal error occurred\. Refer "
                        r"to server log for more information\. "
                        r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\]", reply), reply
    assert c.closed()
    assert pop.inst.wait_log(r"error: pop3\(%s\): %s" % (re.escape(user),
                                                          re.escape(path)))
