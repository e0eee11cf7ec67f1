"""authd through its socket: passwords, delays and bans, PbS, tokens, PAM,
SASL, many clients at once, and a protocol that survives garbage.

Each test starts a real instance (`yubin start-fg` starts authd from
daemon_directory), waits for $data_directory/authd.socket, and talks to it
with tests/helpers/authc_tool (the common/authc client library) or, for
malformed input, with a raw socket.
"""
import base64
import os
import pwd
import socket
import stat
import subprocess
import time

import pytest

from conftest import (HELPERS, IS_ROOT, MAIL_OWNER, children_of, proc_comm,
                      wait_for)

TOOL = os.path.join(HELPERS, "authc_tool")
PLAIN_ANN = "AGFubkBleGFtcGxlLmNvbQBzZWNyZXQ="      # \0ann@example.com\0secret
PLAIN_ANN_WRONG = "AGFubkBleGFtcGxlLmNvbQB3cm9uZw=="  # ...\0wrong
B64_ANN = "YW5uQGV4YW1wbGUuY29t"                   # ann@example.com
B64_SECRET = "c2VjcmV0"                            # secret


def sock_path(inst):
    return os.path.join(inst.data, "authd.socket")


def authd_ready(inst):
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(2)
            s.connect(sock_path(inst))
            return s.recv(64).startswith(b"VERSION\t1\t")
    except OSError:
        return False


def start(inst, users=(("ann@example.com", "secret"),), **params):
    """Configure, add users (yubinctl, with Yubin stopped), start, wait.
    Failures are answered at once unless a test sets auth_failure_delay."""
    inst.set(smtpd_sasl_local_domain="example.com",
             mail_location="maildir:/var/vmail/%d/%n",
             auth_failure_delay="0")
    inst.set(**params)
    if IS_ROOT and "virtual_uid_maps" not in inst.main:
        owner = pwd.getpwnam(MAIL_OWNER)
        inst.set(virtual_uid_maps=f"static:{owner.pw_uid}",
                 virtual_gid_maps=f"static:{owner.pw_gid}")
    inst.write()
    for user, password in users:
        r = inst.ctl("user", "add", user, input=password + "\n")
        assert r.returncode == 0, r.stderr
    inst.start()
    assert wait_for(lambda: authd_ready(inst), 10), inst.log()
    return inst


def tool(inst, *args, stdin=None, sync=False, timeout=30):
    cmd = [TOOL, "-s", sock_path(inst)] + (["--sync"] if sync else []) + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, input=stdin,
                       timeout=timeout)
    return r


def verify(inst, user, password, rip="192.0.2.1", service="imap", *extra,
           sync=False):
    return tool(inst, "verify", user, service, rip, *extra,
                stdin=password + "\n", sync=sync)


def fields(line):
    """'OK user=a uid=1 ...' -> {'user': 'a', 'uid': '1', ...}"""
    return dict(f.split("=", 1) for f in line.split()[1:] if "=" in f)


def authd_pid(inst):
    for pid in children_of(inst.pid):
        if proc_comm(pid) == "authd":
            return pid
    return None


def proc_uids(name):
    """{pid: euid} of processes whose comm is name."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as f:
                if f.read().strip() != name:
                    continue
            with open(f"/proc/{entry}/status") as f:
                for line in f:
                    if line.startswith("Uid:"):
                        found[int(entry)] = int(line.split()[2])
        except OSError:
            pass
    return found


class Raw:
    """A raw protocol connection."""

    def __init__(self, inst, version=True):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(10)
        self.s.connect(sock_path(inst))
        self.buf = b""
        assert self.line() == "VERSION\t1\t0"
        if version:
            self.send("VERSION\t1\t0")

    def send(self, text):
        self.s.sendall(text.encode() + b"\n")

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def close(self):
        self.s.close()


# --- verify -----------------------------------------------------------------

def test_socket_owner_and_mode(yubin, mail_owner_uid):
    inst = start(yubin)
    st = os.stat(sock_path(inst))
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) & 0o007 == 0, oct(st.st_mode)
    assert st.st_uid == mail_owner_uid


def test_verify_ok_and_fail(yubin):
    inst = start(yubin)
    ok = verify(inst, "Ann@Example.COM", "secret")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    f = fields(ok.stdout)
    assert f["user"] == "ann@example.com"
    assert f["mail"] == "maildir:/var/vmail/example.com/ann"
    assert "token" not in f
    # a bare name gets smtpd_sasl_local_domain
    assert verify(inst, "ann", "secret").returncode == 0
    # the blocking client too
    r = verify(inst, "ann@example.com", "secret", sync=True)
    assert r.returncode == 0 and fields(r.stdout)["user"] == "ann@example.com"

    for user, password in (("ann@example.com", "wrong"),
                           ("zed@example.com", "secret"),
                           ("", ""),
                           ("ann@example.com", "")):
        r = verify(inst, user, password)
        assert r.returncode == 1, (user, r.stdout)
        assert r.stdout.startswith("FAIL auth"), r.stdout
    # Dovecot-shaped lines for fail2ban, per backend
    assert inst.wait_log(r"auth: sqlite\(ann@example.com,192\.0\.2\.1,<imap>\): "
                         r"Password mismatch")
    assert inst.wait_log(r"auth: \w+\(zed@example.com,192\.0\.2\.1,<imap>\): "
                         r"unknown user")
    # a disabled user cannot log in, even with the right password
    assert inst.ctl("user", "disable", "ann@example.com").returncode == 0
    r = verify(inst, "ann@example.com", "secret")
    assert r.stdout.startswith("FAIL auth"), r.stdout


def test_lookup_and_could_not_tell(yubin):
    inst = start(yubin)
    r = tool(inst, "lookup", "ANN")
    assert r.returncode == 0 and fields(r.stdout)["user"] == "ann@example.com"
    r = tool(inst, "lookup", "bob@example.com")
    assert r.returncode == 1 and r.stdout.strip() == "NOTFOUND"
    r = tool(inst, "lookup", "ann@example.com", sync=True)
    assert r.returncode == 0
    # a database that cannot be read is "could not tell", never "not found"
    db = os.path.join(inst.data, "users.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    with open(db, "w") as f:
        f.write("this is not a database\n" * 100)
    os.chmod(db, 0o644)
    r = tool(inst, "lookup", "bob@example.com")
    assert r.returncode == 75 and r.stdout.startswith("TEMPFAIL"), r.stdout
    r = verify(inst, "ann@example.com", "secret")
    assert r.returncode == 75, r.stdout


# --- throttling -------------------------------------------------------------

def run_parallel(inst, jobs):
    """Start every verify at once; returns [(stdout, seconds)]."""
    procs = []
    for user, password, rip in jobs:
        t0 = time.monotonic()
        p = subprocess.Popen([TOOL, "-s", sock_path(inst), "verify", user,
                              "imap", rip], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
        p.stdin.write(password + "\n")
        p.stdin.close()
        procs.append((p, t0))
    out = []
    for p, t0 in procs:
        p.wait(30)
        out.append((p.stdout.read(), time.monotonic() - t0))
    return out


def test_failure_delay_and_ban(yubin):
    inst = start(yubin, auth_failure_delay="1s", auth_failure_limit="3",
                 auth_failure_window="30s",
                 auth_failure_ban_time="3s",
                 login_trusted_networks="198.51.100.0/24")
    bad = "203.0.113.7"
    # success is not slowed
    t0 = time.monotonic()
    assert verify(inst, "ann", "secret", bad).returncode == 0
    assert time.monotonic() - t0 < 0.8
    # each failure is answered after auth_failure_delay
    for out, secs in run_parallel(inst, [("ann", "wrong", bad)] * 3):
        assert out.startswith("FAIL auth"), out
        assert secs >= 0.9, secs
    # the limit is reached: refused, even with the right password
    t0 = time.monotonic()
    r = verify(inst, "ann", "secret", bad)
    assert r.stdout.startswith("FAIL banned"), r.stdout
    assert time.monotonic() - t0 >= 0.9
    # other addresses, and the same user from them, are not affected
    assert verify(inst, "ann", "secret", "203.0.113.8").returncode == 0
    assert inst.wait_log(r"auth: 203\.0\.113\.7: too many failed logins")
    # the ban lapses
    time.sleep(3.2)
    assert verify(inst, "ann", "secret", bad).returncode == 0
    # trusted networks: no delay, never banned
    for out, secs in run_parallel(inst, [("ann", "wrong", "198.51.100.9")] * 5):
        assert out.startswith("FAIL auth") and secs < 0.8, (out, secs)
    r = verify(inst, "ann", "secret", "198.51.100.9")
    assert r.returncode == 0, r.stdout


# --- PbS ----------------------------------------------------------------------

def test_pbs_grant_check_expiry(yubin):
    inst = start(yubin, pop_before_smtp_timeout="2s")
    assert tool(inst, "pbs-check", "192.0.2.10").stdout.strip() == "NOTFOUND"
    r = tool(inst, "pbs-grant", "192.0.2.10", "ann@example.com")
    assert r.returncode == 0, r.stdout
    r = tool(inst, "pbs-check", "192.0.2.10")
    assert r.returncode == 0 and fields(r.stdout)["user"] == "ann@example.com"
    # the same address written another way
    assert tool(inst, "pbs-check", "::ffff:192.0.2.10").returncode == 0
    # another address holds nothing
    assert tool(inst, "pbs-check", "192.0.2.11").stdout.strip() == "NOTFOUND"
    r = inst.ctl("pbs", "list")
    assert r.returncode == 0 and r.stdout.startswith("192.0.2.10 ann@example.com "), \
        r.stdout + r.stderr
    time.sleep(2.3)
    assert tool(inst, "pbs-check", "192.0.2.10").stdout.strip() == "NOTFOUND"
    assert tool(inst, "pbs-list", sync=True).stdout == ""


def test_pbs_survives_authd_restart(yubin):
    inst = start(yubin, pop_before_smtp_timeout="10m")
    assert tool(inst, "pbs-grant", "2001:db8::7", "ann@example.com").returncode == 0
    old = authd_pid(inst)
    assert old
    os.kill(old, 9)
    # the supervisor starts a new authd, which loads the grants
    assert wait_for(lambda: authd_pid(inst) not in (None, old), 10), inst.log()
    assert wait_for(lambda: authd_ready(inst), 10)
    r = tool(inst, "pbs-check", "2001:db8::7")
    assert r.returncode == 0 and fields(r.stdout)["user"] == "ann@example.com"
    # and the old workers went with their front end
    time.sleep(0.5)
    for name in ("authd-sqlite", "authd-sasl"):
        for pid in proc_uids(name):
            with open(f"/proc/{pid}/stat") as f:
                assert int(f.read().rsplit(")", 1)[1].split()[1]) != old


# --- tokens -----------------------------------------------------------------

def test_tokens_single_use_and_expire(yubin):
    inst = start(yubin, auth_token_lifetime="1s")
    r = verify(inst, "ann", "secret", "192.0.2.1", "imap", "--token")
    token = fields(r.stdout)["token"]
    assert len(token) >= 32 and int(token, 16) >= 0
    r = tool(inst, "redeem", token)
    assert r.returncode == 0 and fields(r.stdout)["user"] == "ann@example.com"
    assert tool(inst, "redeem", token).stdout.strip() == "NOTFOUND"
    # unused tokens lapse
    token = fields(verify(inst, "ann", "secret", "192.0.2.1", "imap",
                          "--token").stdout)["token"]
    time.sleep(1.2)
    assert tool(inst, "redeem", token, sync=True).stdout.strip() == "NOTFOUND"
    # SASL logins get them too; a failed login gets none
    r = tool(inst, "sasl", "PLAIN", "imap", "192.0.2.1", "1", "--token",
             "--ir", PLAIN_ANN)
    assert r.returncode == 0 and "token" in fields(r.stdout.splitlines()[-1])
    assert "token=" not in verify(inst, "ann", "wrong", "192.0.2.1", "imap",
                                  "--token").stdout


# --- PAM ----------------------------------------------------------------------

@pytest.fixture
def system_user():
    if not IS_ROOT:
        pytest.skip("PAM logins need root: pam_unix checks only the "
                    "caller's own password otherwise")
    name = f"ybt{os.getpid() % 100000}"
    subprocess.run(["userdel", "-r", name], capture_output=True)
    r = subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh",
                        name], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot create a system user: {r.stderr.strip()}")
    subprocess.run(["chpasswd"], input=f"{name}:sys pass 1\n", text=True,
                   check=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", "-r", name], capture_output=True)


def test_pam_login(yubin, system_user, mail_owner_uid):
    inst = start(yubin, auth_backends="sqlite, pam", home_mailbox="Maildir/")
    name = system_user.pw_name
    r = verify(inst, name, "sys pass 1", "192.0.2.20", "pop3")
    assert r.returncode == 0, r.stdout + inst.log()
    f = fields(r.stdout)
    assert f["uid"] == str(system_user.pw_uid)
    assert f["mail"] == f"maildir:{system_user.pw_dir}/Maildir"
    # the local domain's form names the same system user
    assert verify(inst, f"{name}@example.com", "sys pass 1").returncode == 0
    r = verify(inst, name, "wrong", "192.0.2.20", "pop3")
    assert r.stdout.startswith("FAIL auth"), r.stdout
    assert inst.wait_log(rf"auth: pam\({name},192\.0\.2\.20,<pop3>\): "
                         r"Password mismatch")
    # SASL reaches PAM users through the same walk
    r = tool(inst, "sasl", "LOGIN", "smtp", "192.0.2.20", "1", "--ir",
             base64.b64encode(name.encode()).decode(),
             base64.b64encode(b"sys pass 1").decode())
    assert r.returncode == 0, r.stdout
    # only the PAM workers kept root
    assert set(proc_uids("authd-pam").values()) == {0}
    assert set(proc_uids("authd-sqlite").values()) == {mail_owner_uid}
    assert set(proc_uids("authd-sasl").values()) == {mail_owner_uid}
    assert proc_uids("authd")[authd_pid(inst)] == mail_owner_uid


# --- many clients -------------------------------------------------------------

def test_fifty_concurrent_verifiers(yubin):
    inst = start(yubin)
    jobs = [("ann@example.com", "secret", f"192.0.2.{i % 200 + 1}")
            for i in range(50)]
    t0 = time.monotonic()
    results = run_parallel(inst, jobs)
    assert all(out.startswith("OK user=ann@example.com") for out, _ in results), \
        [out for out, _ in results if not out.startswith("OK")]
    assert time.monotonic() - t0 < 20


# --- SASL ---------------------------------------------------------------------

def test_sasl_exchanges(yubin):
    inst = start(yubin, auth_failure_delay="1s")
    r = tool(inst, "mechs", "smtp", "0")
    assert set(r.stdout.split("=", 1)[1].split()) == {"PLAIN", "LOGIN"}, r.stdout
    # PLAIN with an initial response
    r = tool(inst, "sasl", "PLAIN", "smtp", "192.0.2.30", "0", "--ir", PLAIN_ANN)
    assert r.returncode == 0, r.stdout
    assert fields(r.stdout)["user"] == "ann@example.com"
    # PLAIN without one: an empty challenge first
    r = tool(inst, "sasl", "PLAIN", "smtp", "192.0.2.30", "0", PLAIN_ANN)
    assert r.stdout.splitlines() == ["CONT ", r.stdout.splitlines()[1]]
    assert r.stdout.splitlines()[1].startswith("OK user=ann@example.com")
    # LOGIN: Username:, Password:
    r = tool(inst, "sasl", "LOGIN", "smtp", "192.0.2.30", "0", B64_ANN,
             B64_SECRET, sync=False)
    lines = r.stdout.splitlines()
    assert lines[:2] == ["CONT VXNlcm5hbWU6", "CONT UGFzc3dvcmQ6"], lines
    assert lines[2].startswith("OK user=ann@example.com")
    # a wrong password fails after the delay, and is logged for fail2ban
    t0 = time.monotonic()
    r = tool(inst, "sasl", "PLAIN", "smtp", "192.0.2.31", "0", "--ir",
             PLAIN_ANN_WRONG)
    assert r.stdout.startswith("FAIL auth"), r.stdout
    assert time.monotonic() - t0 >= 0.9
    assert inst.wait_log(r"auth: sqlite\(ann@example.com,192\.0\.2\.31,<smtp>\): "
                         r"Password mismatch")
    # not base64, a mechanism not offered, one needing secrets we lack
    r = tool(inst, "sasl", "PLAIN", "smtp", "192.0.2.30", "0", "--ir", "!!!")
    assert r.stdout.startswith("FAIL syntax"), r.stdout
    for mech in ("CRAM-MD5", "SCRAM-SHA-256", "ANONYMOUS", "X-NONE"):
        r = tool(inst, "sasl", mech, "smtp", "192.0.2.30", "0")
        assert r.stdout.startswith("FAIL mech"), (mech, r.stdout)
    # a client that walks away: the exchange is aborted, authd goes on
    r = tool(inst, "sasl", "LOGIN", "smtp", "192.0.2.30", "0")
    assert "NO RESPONSE LEFT" in r.stdout
    assert tool(inst, "sasl", "PLAIN", "smtp", "192.0.2.30", "0", "--ir",
                PLAIN_ANN).returncode == 0


def test_sasl_policy(yubin):
    inst = start(yubin, smtpd_tls_auth_only="yes",
                 smtpd_sasl_security_options="noanonymous, noplaintext",
                 smtpd_sasl_tls_security_options="noanonymous")
    # no TLS: nothing for SMTP, nothing plaintext for IMAP
    assert tool(inst, "mechs", "smtp", "0").stdout.strip() == "OK mechs="
    assert tool(inst, "mechs", "imap", "0").stdout.strip() == "OK mechs="
    r = tool(inst, "sasl", "PLAIN", "smtp", "192.0.2.30", "0", "--ir", PLAIN_ANN)
    assert r.stdout.startswith("FAIL mech"), r.stdout
    # over TLS both
    assert set(tool(inst, "mechs", "smtp", "1").stdout.split("=", 1)[1].split()) \
        == {"PLAIN", "LOGIN"}
    r = tool(inst, "sasl", "PLAIN", "smtp", "192.0.2.30", "1", "--ir", PLAIN_ANN)
    assert r.returncode == 0, r.stdout


# --- the protocol under abuse -------------------------------------------------

def test_protocol_errors(yubin):
    inst = start(yubin)
    c = Raw(inst, version=False)
    c.send("PBS-LIST\t1")
    assert c.line() == "ERROR\t1\tout of order: VERSION comes first"
    c.send("VERSION\t1\t0")
    # pipelined: the slow VERIFY is answered after the fast ones
    c.send("VERIFY\t2\tann@example.com\tsecret\timap\t192.0.2.1\t\t1")
    c.send("PBS-CHECK\t3\t192.0.2.1")
    c.send("LOOKUP\t4\t" + "x" * 600)
    c.send("PBS-CHECK\t5\tnot-an-address")
    c.send("LOOKUP\t" + "6\t" + "y" * 20000)
    c.send("FROB\t7")
    got = {}
    for _ in range(6):
        line = c.line()
        got[line.split("\t")[1]] = line
    assert got["3"] == "NO\t3"
    assert got["4"].startswith("ERROR\t4\tuser name too long")
    assert got["5"].startswith("ERROR\t5\t")
    # cut off by the connection's line limit before an id could be read
    assert got["-"] == "ERROR\t-\tline too long"
    assert got["7"].startswith("ERROR\t7\tunknown command")
    assert got["2"].startswith("OK\t2\tuser=ann@example.com")
    # a duplicate id in flight
    c.send("VERIFY\t8\tann@example.com\twrong\timap\t\t\t1")
    c.send("VERIFY\t8\tann@example.com\twrong\timap\t\t\t1")
    assert c.line() == "ERROR\t8\tid in use"
    assert c.line().startswith("FAIL\t8\tauth")
    c.close()

    # garbage, repeated: errors, then the connection is dropped
    c = Raw(inst)
    c.s.sendall(b"\x00\xff garbage\n" * 50)
    lines = []
    while (line := c.line()) is not None:
        lines.append(line)
    assert 1 <= len(lines) <= 10, lines
    assert all(line.startswith("ERROR\t") for line in lines)
    assert inst.wait_log(r"protocol errors; disconnecting")
    c.close()
    # a client that hangs up in the middle of a line and of a SASL exchange
    c = Raw(inst)
    c.send("AUTH\t1\tLOGIN\tsmtp\t\t\t0")
    assert c.line() == "CONT\t1\tVXNlcm5hbWU6"
    c.s.sendall(b"VERIFY\t2\tann")
    c.close()
    # and authd serves on
    assert verify(inst, "ann", "secret").returncode == 0
    assert authd_pid(inst)
