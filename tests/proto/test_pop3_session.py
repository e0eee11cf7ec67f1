"""The POP3 login-to-session machinery: the session process's uid, PbS
grants through authd, pop3_lock_session, mail_max_userip_connections,
banned clients, the supervisor's login socket refusing strangers, and
sessions ending with the server.
"""
import os
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import (HELPERS, IS_ROOT, children_of, pid_alive,
                      proc_comm, proc_uid, wait_for)
from pop3_helpers import (PASSWORD, VMAIL_UID, Pop, Pop3Instance, login_pid,
                          module_instance, msg)

TOOL = os.path.join(HELPERS, "authc_tool")


@pytest.fixture(scope="module")
def pop(request):
    p = Pop3Instance(module_instance(request))
    p.service("pop3")
    p.service("locked", options=["pop3_lock_session=yes"])
    p.service("open", options=["disable_plaintext_auth=no"])
    return p.start(users=16, mail_max_userip_connections="2",
                   pop_before_smtp_timeout="10m")


def pbs_check(inst, ip):
    r = subprocess.run([TOOL, "-s", os.path.join(inst.data, "authd.socket"),
                        "pbs-check", ip], capture_output=True, text=True,
                       timeout=30)
    return r.stdout.strip()


def test_session_runs_as_the_mailbox_owner(pop, mail_owner_uid):
    user = pop.fresh_user()
    c = Pop(pop.ports["pop3"])
    c.login(user)
    pid = login_pid(pop.inst, user)
    # the session is the supervisor's child, with the mail's uid
    assert pid in children_of(pop.inst.pid)
    assert proc_uid(pid)[:3] == [VMAIL_UID] * 3
    with open(f"/proc/{pid}/comm") as f:
        assert f.read().strip() == "pop3"
    front = [p for p in children_of(pop.inst.pid)
             if proc_comm(p) == "pop3d"]
    assert front and proc_uid(front[0])[:3] == [mail_owner_uid] * 3
    if IS_ROOT:
        assert VMAIL_UID != mail_owner_uid
    # the Maildir it made belongs to the mail's owner
    assert c.cmd("STAT") == "+OK 0 0"
    assert os.stat(pop.maildir(user)).st_uid == VMAIL_UID
    assert c.cmd("QUIT") == "+OK Logging out."
    assert wait_for(lambda: not pid_alive(pid), 5)


def test_successful_login_grants_pbs_failed_one_does_not(pop):
    user = pop.fresh_user()
    assert pbs_check(pop.inst, "127.0.0.3") == "NOTFOUND"
    assert pbs_check(pop.inst, "127.0.0.4") == "NOTFOUND"
    bad = Pop(pop.ports["open"], source="127.0.0.4")
    assert bad.cmd("USER " + user) == "+OK"
    assert bad.cmd("PASS wrong") == "-ERR [AUTH] Authentication failed."
    assert bad.cmd("USER nosuchuser@example.com") == "+OK"
    assert bad.cmd("PASS " + PASSWORD) == "-ERR [AUTH] Authentication failed."
    good = Pop(pop.ports["open"], source="127.0.0.3")
    good.login(user)
    r = pbs_check(pop.inst, "127.0.0.3")
    assert r.startswith("OK") and f"user={user}" in r, r
    assert pbs_check(pop.inst, "127.0.0.4") == "NOTFOUND"
    listed = pop.inst.ctl("pbs", "list")
    assert "127.0.0.3" in listed.stdout and "127.0.0.4" not in listed.stdout


def test_lock_session_answers_in_use(pop):
    user = pop.fresh_user()
    pop.deliver(user, msg(1))
    first = Pop(pop.ports["locked"])
    first.login(user)
    second = Pop(pop.ports["locked"])
    assert second.cmd("USER " + user) == "+OK"
    assert second.cmd("PASS " + PASSWORD) == \
        "-ERR [IN-USE] Mailbox is locked by another POP3 session."
    assert second.closed()
    # without the setting, sessions share the mailbox (from another
    # address: the refused session may not have been reaped yet, and
    # mail_max_userip_connections counts it until then)
    other = Pop(pop.ports["open"], source="127.0.0.5")
    other.login(user)
    assert other.cmd("QUIT") == "+OK Logging out."
    assert first.cmd("QUIT") == "+OK Logging out."
    assert first.closed()
    third = Pop(pop.ports["locked"])
    third.login(user)
    assert third.cmd("STAT").startswith("+OK 1 ")


def test_lock_is_released_when_a_session_dies(pop):
    user = pop.fresh_user()
    first = Pop(pop.ports["locked"])
    first.login(user)
    pid = login_pid(pop.inst, user)
    os.kill(pid, signal.SIGKILL)
    assert first.closed()
    second = Pop(pop.ports["locked"])
    second.login(user)
    assert pop.inst.wait_log(r"pop3 session of %s \(pid %d\) killed by "
                             r"signal 9" % (re.escape(user), pid))


def test_mail_max_userip_connections(pop):
    user = pop.fresh_user()
    sessions = []
    for _ in range(2):
        c = Pop(pop.ports["pop3"])
        c.login(user)
        sessions.append(c)
    c = Pop(pop.ports["pop3"])
    assert c.cmd("USER " + user) == "+OK"
    assert c.cmd("PASS " + PASSWORD) == (
        "-ERR [IN-USE] Maximum number of connections from user+IP exceeded "
        "(mail_max_userip_connections=2)")
    assert c.closed()
    # counted per user and client address
    other = Pop(pop.ports["open"], source="127.0.0.2")
    other.login(user)
    sessions[0].cmd("QUIT")
    assert sessions[0].closed()

    def third_ok():
        t = Pop(pop.ports["pop3"])
        t.cmd("USER " + user)
        ok = t.cmd("PASS " + PASSWORD) == "+OK Logged in."
        t.close()
        return ok
    assert wait_for(third_ok, 5)


def test_login_socket_refuses_strangers(pop):
    path = os.path.join(pop.inst.data, "login.socket")
    st = os.stat(path)
    assert oct(st.st_mode & 0o777) == "0o600"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(5)
    try:
        s.connect(path)
    except PermissionError:
        assert not IS_ROOT
        return
    # not a front end the supervisor started: closed at once
    assert s.recv(100) == b""
    s.close()
    assert pop.inst.wait_log(r"login\.socket: connection from pid %d .* "
                             r"refused: not a login front end" % os.getpid())


def test_sessions_end_with_the_server(yubin):
    p = Pop3Instance(yubin)
    p.service("pop3")
    p.start(users=1)
    user = p.fresh_user()
    c = Pop(p.ports["pop3"])
    c.login(user)
    pid = login_pid(p.inst, user)
    assert p.inst.stop() == 0
    assert not pid_alive(pid)
    assert c.closed()
    assert re.search(r"pop3\(%s\): Disconnected: Server shutting down"
                     % re.escape(user), p.inst.log())


def test_banned_client_gets_login_delay(yubin):
    p = Pop3Instance(yubin)
    p.service("pop3")
    p.start(users=1, auth_failure_limit="2")
    user = p.fresh_user()
    replies = []
    for _ in range(2):
        c = Pop(p.ports["pop3"])
        for _ in range(3):
            if c.cmd("USER " + user) != "+OK":
                break
            replies.append(c.cmd("PASS wrong"))
            if "LOGIN-DELAY" in replies[-1]:
                break
        c.close()
    assert replies[-1] == ("-ERR [LOGIN-DELAY] Too many failed logins; "
                           "try again later."), replies
    # the right password does not help while banned
    c = Pop(p.ports["pop3"])
    assert c.cmd("USER " + user) == "+OK"
    assert c.cmd("PASS " + PASSWORD).startswith("-ERR [LOGIN-DELAY]")
    assert c.closed()
