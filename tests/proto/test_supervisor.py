"""The supervisor: start, restart, reload, stop, bad configs, busy ports."""
import os
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import (BIN, IS_ROOT, children_of, free_port, pid_alive,
                      port_open, proc_uid, read_line, wait_for)


def banner_fields(line):
    """Parse testd's greeting into a dict (service, pid, uid) + banner."""
    assert line is not None and line.startswith("220 "), line
    fields = dict(re.findall(r"(\w+)=(\S+)", line))
    fields["banner"] = line[4:line.index(" testd ")]
    return fields


def test_service_runs_with_its_listener_as_mail_owner(yubin, mail_owner_uid):
    port = yubin.add_service("testd")
    yubin.write()
    yubin.start([port])
    f = banner_fields(read_line(port))
    assert f["service"] == f"127.0.0.1:{port}"
    pid = int(f["pid"])
    assert pid in children_of(yubin.pid)
    # real, effective and saved uid all dropped
    assert proc_uid(pid)[:3] == [mail_owner_uid] * 3
    assert int(f["uid"]) == mail_owner_uid
    # the default banner expands $myhostname
    assert f["banner"].startswith("mail.example.com ESMTP")


def test_killed_service_is_restarted_within_two_seconds(yubin):
    port = yubin.add_service("testd")
    yubin.write()
    yubin.start([port])
    old = int(banner_fields(read_line(port))["pid"])
    os.kill(old, signal.SIGKILL)
    killed_at = time.monotonic()

    def new_pid():
        line = read_line(port)
        if line is None:
            return None
        pid = int(banner_fields(line)["pid"])
        return pid if pid != old else None

    pid = wait_for(new_pid, timeout=5.0, interval=0.02)
    elapsed = time.monotonic() - killed_at
    assert pid, yubin.log()
    assert elapsed < 2.0, f"restarted after {elapsed:.2f}s"
    assert not pid_alive(old)
    assert re.search(rf"warning: process \S+testd pid {old} killed by signal 9",
                     yubin.log())


def test_reload_picks_up_a_changed_parameter(yubin):
    port = yubin.add_service("testd")
    yubin.set(smtpd_banner="before reload")
    yubin.write()
    yubin.start([port])
    first = banner_fields(read_line(port))
    assert first["banner"] == "before reload"

    yubin.set(smtpd_banner="after $myhostname")
    yubin.write()
    r = yubin.cmd("reload")
    assert r.returncode == 0, r.stderr
    changed = wait_for(lambda: (lambda l: l and "after mail.example.com" in l)(read_line(port)),
                       timeout=5.0)
    assert changed, yubin.log()
    # the listener stayed open: the supervisor is the same process
    assert yubin.proc.poll() is None
    # the old daemon was retired, not left running
    assert wait_for(lambda: not pid_alive(int(first["pid"])), timeout=5.0)


def test_reload_with_a_broken_config_keeps_the_old_one(yubin):
    port = yubin.add_service("testd")
    yubin.set(smtpd_banner="good")
    yubin.write()
    yubin.start([port])
    yubin.write(extra_main="smtpd_helo_required = maybe\n")
    assert yubin.cmd("reload").returncode == 0
    assert yubin.wait_log(r"reload failed")
    assert banner_fields(read_line(port))["banner"] == "good"


def test_overrides_apply_to_their_service_only(yubin):
    plain = yubin.add_service("testd")
    special = yubin.add_service("testd", options=["{ smtpd_banner = special $mydomain }"])
    yubin.set(smtpd_banner="plain")
    yubin.write()
    yubin.start([plain, special])
    assert banner_fields(read_line(plain))["banner"] == "plain"
    assert banner_fields(read_line(special))["banner"] == "special example.com"


def test_bad_config_fails_start_with_file_and_line(yubin):
    port = yubin.add_service("testd")
    yubin.write(extra_main="# a comment\nsmtpd_helo_required = maybe\n")
    lineno = len(yubin.main) + 2
    r = yubin.cmd("start")
    assert r.returncode != 0
    main_cf = os.path.join(yubin.etc, "main.cf")
    assert f"{main_cf}:{lineno}:" in r.stderr, r.stderr
    assert "smtpd_helo_required" in r.stderr
    time.sleep(0.3)
    assert not port_open(port)
    assert yubin.cmd("status").returncode != 0


def test_bad_master_cf_line_fails_start(yubin):
    port = yubin.add_service("testd")
    yubin.write(extra_master="oops inet n - maybe - - testd\n")
    r = yubin.cmd("start-fg", timeout=20)
    assert r.returncode != 0
    master_cf = os.path.join(yubin.etc, "master.cf")
    assert f"{master_cf}:2:" in r.stderr, r.stderr
    assert not port_open(port)


def test_port_in_use_is_a_clear_error_and_nothing_starts(yubin):
    free = yubin.add_service("testd")
    busy = yubin.add_service("testd")
    yubin.write()
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", busy))
    holder.listen(1)
    try:
        r = yubin.cmd("start")
        assert r.returncode != 0
        assert f"port {busy}" in r.stderr and "Address already in use" in r.stderr, r.stderr
        time.sleep(0.3)
        # nothing half-started: the other service is not listening either
        assert not port_open(free)
        assert yubin.cmd("status").returncode != 0
    finally:
        holder.close()


def test_start_status_stop_and_immediate_restart(yubin):
    port = yubin.add_service("testd")
    yubin.write()
    r = yubin.cmd("start")
    assert r.returncode == 0, r.stderr
    try:
        assert wait_for(lambda: port_open(port))
        st = yubin.cmd("status")
        assert st.returncode == 0 and "is running" in st.stdout
        master = int(re.search(r"PID: (\d+)", st.stdout).group(1))
        with open(os.path.join(yubin.data, "master.pid")) as f:
            assert int(f.read()) == master
        kids = wait_for(lambda: children_of(master))
        assert kids
        # a second start is refused while the first runs
        again = yubin.cmd("start")
        assert again.returncode != 0 and "already running" in again.stderr
        # leave a connection in TIME_WAIT on the port
        read_line(port)
    finally:
        stop = yubin.cmd("stop")
    assert stop.returncode == 0, stop.stderr
    assert wait_for(lambda: not pid_alive(master), timeout=2.0)
    for k in kids:
        assert not pid_alive(k)
    assert yubin.cmd("status").returncode != 0
    # the same ports again, at once (SO_REUSEADDR)
    yubin.start([port])
    assert banner_fields(read_line(port))


def test_sigterm_stops_every_child(yubin):
    ports = [yubin.add_service("testd") for _ in range(3)]
    yubin.write()
    yubin.start(ports)
    # the ports answer as soon as they are bound; the daemons follow
    kids = wait_for(lambda: (lambda k: len(k) >= 3 and k)(children_of(yubin.pid)))
    assert kids and len(kids) >= 3
    assert yubin.stop() == 0
    for k in kids:
        assert not pid_alive(k)
    for p in ports:
        assert not port_open(p)


def test_ipv6_listener(yubin):
    try:
        port = free_port("::1")
    except OSError:
        pytest.skip("no IPv6 loopback on this host")
    yubin.add_service("testd", port=port, host="::1")
    yubin.write()
    yubin.start([("::1", port)])
    assert banner_fields(read_line(port, "::1"))["service"] == f"[::1]:{port}"


def test_debian_postfix_master_cf_is_accepted(yubin):
    port = yubin.add_service("testd")
    debian = """\
pickup    unix  n       -       y       60      1       pickup
cleanup   unix  n       -       y       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       y       1000?   1       tlsmgr
rewrite   unix  -       -       y       -       -       trivial-rewrite
bounce    unix  -       -       y       -       0       bounce
smtp      unix  -       -       y       -       -       smtp
relay     unix  -       -       y       -       -       smtp
        -o syslog_name=postfix/$service_name
local     unix  -       n       n       -       -       local
maildrop  unix  -       n       n       -       -       pipe
  flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient}
"""
    yubin.write(extra_master=debian)
    yubin.start([port])
    log = yubin.log()
    for name in ("pickup", "cleanup", "tlsmgr", "rewrite", "bounce", "relay", "maildrop"):
        assert re.search(rf"warning: .*master.cf:\d+: service {name}\b", log), name
    # lines that map to Yubin's internal services are honoured silently
    for name in ("qmgr", "smtp", "local"):
        assert not re.search(rf"warning: .*master.cf:\d+: service {name}\b", log), name
    assert banner_fields(read_line(port))


def test_check_reports_every_problem(yubin):
    yubin.add_service("testd")
    yubin.write(extra_main=(
        "smtpd_helo_required = maybe\n"
        "message_size_limit = lots\n"
        "no_such_parameter = 1\n"))
    r = yubin.cmd("check")
    assert r.returncode != 0
    assert "smtpd_helo_required" in r.stderr
    assert "message_size_limit" in r.stderr
    assert re.search(r"warning: .*unused parameter: no_such_parameter", r.stderr)


def test_check_warns_about_missing_lookup_tables(yubin):
    yubin.add_service("testd")
    missing = os.path.join(yubin.base, "access")
    yubin.write(extra_main=f"smtpd_client_restrictions = check_client_access hash:{missing}\n")
    r = yubin.cmd("check")
    assert missing in r.stderr, r.stderr
    open(missing, "w").close()
    r = yubin.cmd("check")
    assert missing not in r.stderr, r.stderr
    assert r.returncode == 0, r.stderr


def test_log_reopen_after_rotation(yubin):
    port = yubin.add_service("testd")
    maillog = os.path.join(yubin.base, "mail.log")
    yubin.set(maillog_file=maillog)
    yubin.write()
    yubin.start([port])
    assert wait_for(lambda: os.path.exists(maillog) and "testd ready" in open(maillog).read())
    os.rename(maillog, maillog + ".1")
    r = yubin.ctl("log", "reopen")
    assert r.returncode == 0, r.stderr
    # something new to log: a restarted daemon says it is ready
    pid = int(banner_fields(read_line(port))["pid"])
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: os.path.exists(maillog) and "testd ready" in open(maillog).read(),
                    timeout=5.0), yubin.log()
    text = open(maillog).read()
    assert re.search(r"^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ yubin/master\[\d+\]: warning: process",
                     text, re.M), text
    # a daemon that has dropped privileges reopens the rotated file too
    pid = int(banner_fields(read_line(port))["pid"])
    os.rename(maillog, maillog + ".2")
    assert yubin.ctl("log", "reopen").returncode == 0

    def daemon_has_new_file():
        fds = f"/proc/{pid}/fd"
        return any(os.readlink(os.path.join(fds, fd)) == maillog
                   for fd in os.listdir(fds))
    assert wait_for(daemon_has_new_file, timeout=5.0)
    read_line(port)
    assert wait_for(lambda: f"yubin/testd[{pid}]: connect on service" in open(maillog).read(),
                    timeout=5.0), open(maillog).read()


def make_cert(directory, name):
    """A self-signed certificate and its key, made with openssl(1)."""
    cert = os.path.join(directory, f"{name}.pem")
    key = os.path.join(directory, f"{name}.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-days", "2", "-subj", "/CN=localhost", "-keyout", key,
                    "-out", cert], check=True, capture_output=True)
    return cert, key


def test_tls_key_that_does_not_match_stops_start(yubin):
    port = yubin.add_service("testd")
    cert, _ = make_cert(yubin.base, "one")
    _, other_key = make_cert(yubin.base, "two")
    yubin.set(tls_cert_file=cert, tls_key_file=other_key)
    yubin.write()
    r = yubin.cmd("start")
    assert r.returncode != 0
    assert "does not match" in r.stderr and other_key in r.stderr, r.stderr
    assert not port_open(port)
    c = yubin.cmd("check")
    assert c.returncode != 0 and "does not match" in c.stderr


def test_tls_unreadable_certificate_is_named(yubin):
    yubin.add_service("testd")
    missing = os.path.join(yubin.base, "nope.pem")
    yubin.set(tls_cert_file=missing, tls_key_file=missing)
    yubin.write()
    r = yubin.cmd("check")
    assert r.returncode != 0
    assert f"tls_cert_file = {missing}" in r.stderr, r.stderr


def test_matching_tls_files_pass_check(yubin):
    yubin.add_service("testd")
    cert, key = make_cert(yubin.base, "good")
    yubin.set(tls_cert_file=cert, tls_key_file=key)
    yubin.write()
    r = yubin.cmd("check")
    assert r.returncode == 0, r.stderr


def test_an_edit_takes_effect_at_reload_not_at_a_restart(yubin):
    port = yubin.add_service("testd")
    yubin.set(smtpd_banner="loaded")
    yubin.write()
    yubin.start([port])
    first = banner_fields(read_line(port))
    # edit main.cf, then let the daemon die: the restarted one still runs
    # the configuration the supervisor loaded
    yubin.set(smtpd_banner="edited")
    yubin.write(extra_main="smtpd_helo_required = maybe\n")
    os.kill(int(first["pid"]), signal.SIGKILL)
    again = wait_for(lambda: (lambda l: l and int(banner_fields(l)["pid"]) != int(first["pid"]) and l)(read_line(port)),
                     timeout=5.0)
    assert again, yubin.log()
    assert banner_fields(again)["banner"] == "loaded"
    yubin.write()
    assert yubin.cmd("reload").returncode == 0
    assert wait_for(lambda: (lambda l: l and "edited" in l)(read_line(port)), timeout=5.0)
