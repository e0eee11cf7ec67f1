"""yubinctl user|domain: the SQLite user database from the command line.

Runs yubinctl against an instance's configuration with Yubin stopped (the
commands must work without it), then reads the database with Python's
sqlite3 to check what was written.
"""
import os
import pty
import select
import sqlite3
import stat
import subprocess
import time

import pytest

from conftest import BIN, IS_ROOT, MAIL_OWNER

SHA512_HW = ("$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3u"
             "BnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1")


@pytest.fixture
def inst(yubin):
    """An instance whose main.cf is written; data_directory not yet made."""
    yubin.set(smtpd_sasl_local_domain="example.com")
    yubin.write()
    return yubin


def db_path(inst):
    return os.path.join(inst.data, "users.db")


def rows(inst, sql="SELECT address, password FROM users ORDER BY address",
         args=()):
    con = sqlite3.connect(db_path(inst))
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def password_of(inst, address):
    found = rows(inst, "SELECT password FROM users WHERE address = ?",
                 (address,))
    return found[0][0] if found else None


def ok(result):
    assert result.returncode == 0, (result.returncode, result.stderr)
    return result


def listing(inst, *args):
    r = ok(inst.ctl("user", "list", *args))
    return {line.split()[0]: line.split()[1:] for line in r.stdout.splitlines()}


def test_add_list_passwd_del(inst):
    r = ok(inst.ctl("user", "add", "Ann@Example.COM", "--quota", "1G",
                    input="first secret\n"))
    assert r.stdout == ""
    # created while Yubin is stopped, with the data directory
    st = os.stat(db_path(inst))
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert stat.S_IMODE(os.stat(inst.data).st_mode) == 0o700
    if IS_ROOT:
        import pwd
        owner = pwd.getpwnam(MAIL_OWNER)
        assert (st.st_uid, st.st_gid) == (owner.pw_uid, owner.pw_gid)

    first = password_of(inst, "ann@example.com")
    assert first.startswith("$y$"), first
    assert "first secret" not in first
    assert listing(inst) == {
        "ann@example.com": ["enabled", "quota=1073741824", "messages=none"]}

    ok(inst.ctl("user", "passwd", "ann@example.com", input="second secret\n"))
    second = password_of(inst, "ann@example.com")
    assert second.startswith("$y$"), second
    assert second != first

    ok(inst.ctl("user", "del", "ANN@example.com"))
    assert rows(inst) == []
    assert listing(inst) == {}
    r = inst.ctl("user", "del", "ann@example.com")
    assert r.returncode == 1
    assert "no such user" in r.stderr


def test_bare_name_gets_local_domain(inst):
    ok(inst.ctl("user", "add", "Bob", input="pw\n"))
    assert [a for a, _ in rows(inst)] == ["bob@example.com"]


def test_add_options_are_stored(inst):
    ok(inst.ctl("user", "add", "cy@example.org", "--uid", "5001", "--gid",
                "5002", "--home", "/srv/cy", "--mail", "maildir:~/Mail",
                "--quota", "500k", "--quota-messages", "1000",
                input="pw\n"))
    got = rows(inst, "SELECT uid, gid, home, mail, quota_bytes, "
               "quota_messages, enabled FROM users")
    assert got == [(5001, 5002, "/srv/cy", "maildir:~/Mail", 512000, 1000, 1)]
    assert listing(inst, "example.org") == {
        "cy@example.org": ["enabled", "quota=512000", "messages=1000"]}


def test_user_exists_and_disable(inst):
    ok(inst.ctl("user", "add", "ann@example.com", input="pw\n"))
    before = password_of(inst, "ann@example.com")
    r = inst.ctl("user", "add", "ANN@example.com", input="other\n")
    assert r.returncode == 1
    assert "exists already" in r.stderr
    assert password_of(inst, "ann@example.com") == before
    ok(inst.ctl("user", "disable", "ann@example.com"))
    assert listing(inst)["ann@example.com"][0] == "disabled"
    ok(inst.ctl("user", "enable", "ann@example.com"))
    assert listing(inst)["ann@example.com"][0] == "enabled"


def test_password_on_argv_is_refused(inst):
    for args in (["user", "add", "ann@example.com", "s3cret"],
                 ["user", "add", "ann@example.com", "--password", "s3cret"],
                 ["user", "add", "ann@example.com", "-p", "s3cret"],
                 ["user", "passwd", "ann@example.com", "s3cret"]):
        r = inst.ctl(*args, input="from stdin\n")
        assert r.returncode == 64, (args, r.stderr)
        assert "standard input" in r.stderr, r.stderr
    # nothing was added
    assert not os.path.exists(db_path(inst)) or rows(inst) == []


@pytest.mark.parametrize("address, why", [
    ("ann@", "empty domain"),
    ("@example.com", "empty user name"),
    ("a@b@example.com", "more than one '@'"),
    ("ann smith@example.com", "character not allowed"),
    ("../etc@example.com", "dot"),
    ("ann@example..com", "empty label"),
    ("ann@exa/mple.com", "character not allowed"),
])
def test_bad_address_is_explained(inst, address, why):
    r = inst.ctl("user", "add", address, input="pw\n")
    assert r.returncode == 1
    line = r.stderr.strip()
    assert line.startswith(f'yubinctl: error: bad address "{address}": '), line
    assert why in line, line
    assert "\n" not in line
    # a refused address creates nothing
    assert not os.path.exists(db_path(inst))


def test_bare_name_without_local_domain(yubin):
    yubin.write()
    r = yubin.ctl("user", "add", "ann", input="pw\n")
    assert r.returncode == 1
    assert 'bad address "ann": no domain' in r.stderr
    assert "smtpd_sasl_local_domain" in r.stderr


@pytest.mark.parametrize("stdin, why", [
    ("", "no password"),
    ("\n", "empty password"),
    ("\r\n", "empty password"),
    ("x" * 600 + "\n", "too long"),
])
def test_bad_passwords_are_refused(inst, stdin, why):
    r = inst.ctl("user", "add", "ann@example.com", input=stdin)
    assert r.returncode == 1
    assert why in r.stderr
    assert rows(inst) == []


def test_only_the_first_line_is_the_password(inst):
    ok(inst.ctl("user", "add", "ann@example.com", input="pw one\nsecond\n"))
    ok(inst.ctl("user", "add", "bob@example.com", input="no newline"))
    assert len(rows(inst)) == 2


def test_passwd_unknown_user_asks_nothing(inst):
    ok(inst.ctl("domain", "list"))          # creates the database
    r = inst.ctl("user", "passwd", "zed@example.com", input="")
    assert r.returncode == 1
    assert "no such user" in r.stderr
    assert "password" not in r.stderr.replace("no such user", "")


def test_change_seen_at_once_by_an_open_reader(inst):
    """authd keeps the database open: it must see changes without caching."""
    ok(inst.ctl("user", "add", "ann@example.com", input="pw\n"))
    con = sqlite3.connect(db_path(inst))
    try:
        query = "SELECT password FROM users WHERE address = 'ann@example.com'"
        before = con.execute(query).fetchone()[0]
        ok(inst.ctl("user", "passwd", "ann@example.com", input="pw2\n"))
        assert con.execute(query).fetchone()[0] != before
        ok(inst.ctl("user", "del", "ann@example.com"))
        assert con.execute(query).fetchone() is None
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        con.close()


def write_passwd_file(inst, text):
    path = os.path.join(inst.base, "passwd")
    with open(path, "w") as f:
        f.write(text)
    return path


def test_import_passwd_file(inst):
    path = write_passwd_file(inst, f"""\
# Dovecot passwd-file
ann@example.com:{{SHA512-CRYPT}}{SHA512_HW}:5001:5001::/home/ann::userdb_mail=maildir:/srv/%n userdb_quota_rule=*:storage=1M
bob@example.com:{{PLAIN}}open sesame::::::
Cy@Example.org:{{BLF-CRYPT}}$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW
dee:{{CRYPT}}{SHA512_HW}:::::/bin/sh:quota_rule=*:messages=50
eve@example.com:{{CLEARTEXT}}x:::::userdb_mail=maildir:/srv/eve

""")
    r = ok(inst.ctl("user", "import", f"passwd-file:{path}"))
    assert "imported 5 users" in r.stdout
    assert "clear-text" in r.stderr
    got = dict(rows(inst))
    assert got == {
        "ann@example.com": "{SHA512-CRYPT}" + SHA512_HW,
        "bob@example.com": "{PLAIN}open sesame",
        "cy@example.org": "{BLF-CRYPT}$2y$05$CCCCCCCCCCCCCCCCCCCCC."
                          "E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
        "dee@example.com": "{CRYPT}" + SHA512_HW,
        "eve@example.com": "{CLEARTEXT}x",
    }
    ann = rows(inst, "SELECT uid, gid, home, mail, quota_bytes FROM users "
               "WHERE address = 'ann@example.com'")
    assert ann == [(5001, 5001, "/home/ann", "maildir:/srv/%n", 1048576)]
    dee = rows(inst, "SELECT uid, home, quota_messages FROM users "
               "WHERE address = 'dee@example.com'")
    assert dee == [(None, None, 50)]
    # the seven-field form: extra fields right after home, no shell
    eve = rows(inst, "SELECT home, mail FROM users "
               "WHERE address = 'eve@example.com'")
    assert eve == [(None, "maildir:/srv/eve")]

    users = listing(inst)
    assert users["bob@example.com"][-1] == "PLAIN"
    assert users["eve@example.com"][-1] == "PLAIN"
    for other in ("ann@example.com", "cy@example.org", "dee@example.com"):
        assert "PLAIN" not in users[other], users[other]

    # importing again skips what is there and says so
    r = ok(inst.ctl("user", "import", f"passwd-file:{path}"))
    assert "imported 0 users" in r.stdout
    assert "skipped 5" in r.stdout


def test_import_with_a_bad_line_imports_nothing(inst):
    path = write_passwd_file(inst, """\
good@example.com:{PLAIN}x
bad@example.com:{SSHA}c2VjcmV0
""")
    r = inst.ctl("user", "import", f"passwd-file:{path}")
    assert r.returncode == 1
    assert f"{path}:2:" in r.stderr
    assert "scheme not supported" in r.stderr
    assert "nothing imported" in r.stderr
    assert not os.path.exists(db_path(inst)) or rows(inst) == []


def test_import_needs_passwd_file_type(inst):
    r = inst.ctl("user", "import", "/etc/passwd")
    assert r.returncode == 64
    assert "passwd-file:PATH" in r.stderr
    r = inst.ctl("user", "import", "passwd-file:/nonexistent/passwd")
    assert r.returncode == 1
    assert "no such file" in r.stderr


def test_domains(inst):
    ok(inst.ctl("domain", "add", "Example.COM"))
    ok(inst.ctl("domain", "add", "example.org"))
    r = inst.ctl("domain", "add", "example.com")
    assert r.returncode == 1 and "exists already" in r.stderr
    assert ok(inst.ctl("domain", "list")).stdout == "example.com\nexample.org\n"
    ok(inst.ctl("domain", "del", "example.com"))
    assert ok(inst.ctl("domain", "list")).stdout == "example.org\n"
    r = inst.ctl("domain", "del", "example.com")
    assert r.returncode == 1 and "no such domain" in r.stderr
    r = inst.ctl("domain", "add", "bad..domain")
    assert r.returncode == 1 and 'bad domain "bad..domain"' in r.stderr
    # user add needs no domain add
    ok(inst.ctl("user", "add", "ann@example.net", input="pw\n"))


def read_until(fd, pattern, timeout=10.0):
    """Read from a pty master until pattern shows up; everything read."""
    data = b""
    deadline = time.monotonic() + timeout
    while pattern not in data:
        left = deadline - time.monotonic()
        assert left > 0, f"no {pattern!r} in {data!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
    return data


def ctl_on_tty(inst, *args, answers):
    """Run yubinctl with a terminal on stdin and stderr; answer each prompt
    in turn. Returns (exit status, everything the terminal showed)."""
    master, slave = os.openpty()
    proc = subprocess.Popen([os.path.join(BIN, "yubinctl"), "-c", inst.etc,
                             *args], stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    shown = b""
    try:
        for prompt, answer in answers:
            shown += read_until(master, prompt)
            os.write(master, answer)
        code = proc.wait(timeout=30)
        while True:
            ready, _, _ = select.select([master], [], [], 0.2)
            if not ready:
                break
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return code, shown


def test_terminal_asks_twice_without_echo(inst):
    code, shown = ctl_on_tty(inst, "user", "add", "ann@example.com", answers=[
        (b"New password:", b"tty secret\n"),
        (b"Retype new password:", b"tty secret\n")])
    assert code == 0, shown
    assert b"tty secret" not in shown
    assert password_of(inst, "ann@example.com").startswith("$y$")


def test_terminal_mismatch_is_refused(inst):
    code, shown = ctl_on_tty(inst, "user", "add", "ann@example.com", answers=[
        (b"New password:", b"one\n"),
        (b"Retype new password:", b"two\n")])
    assert code == 1
    assert b"do not match" in shown
    assert b"one" not in shown.replace(b"done", b"")
    assert rows(inst) == []
