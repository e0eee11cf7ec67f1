"""yubinctl conf and yubinctl log, driven as an administrator would.

`conf` is Yubin's postconf: values (-d defaults, -n what main.cf sets,
-h bare values, -x expanded), in-place edits (-e, -X), master.cf services
(-M) and SASL mechanisms (-a). `log reopen` signals the supervisor. Every
test works in its own temp directory with its own main.cf; none needs a
running instance.
"""
import os
import re
import stat
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("YUBIN_BIN", os.path.join(REPO, "bin"))
YUBINCTL = os.path.join(BIN, "yubinctl")
EX_USAGE = 64

# the folders whose C code reads parameters
CODE_DIRS = ("common", "auth", "smtp", "imap", "pop3", "master")
GETTERS = ("get", "get_bool", "get_int", "get_time", "get_size", "get_list",
           "get_raw", "is_set")
# cfg_get(FIRST_ARG, "name": the first argument may hold one level of ()
GETTER_RX = re.compile(
    r'\bcfg_(?:' + "|".join(GETTERS) + r')\s*\('
    r'(?:[^,;(){}"]|\([^()]*\))*,\s*"([^"\\]*)"')
LINE_RX = re.compile(r"^([A-Za-z0-9_]+) =(?: (.*))?$")


def ctl(etc, *args, input=None):
    """Run `yubinctl -c ETC args...`; returns the CompletedProcess."""
    return subprocess.run([YUBINCTL, "-c", str(etc), *args],
                          capture_output=True, text=True, input=input,
                          timeout=60)


def parse_lines(stdout):
    """name = value lines into a list of (name, value); fails on others."""
    pairs = []
    for line in stdout.splitlines():
        m = LINE_RX.match(line)
        assert m, f"not a 'name = value' line: {line!r}"
        pairs.append((m.group(1), m.group(2) or ""))
    return pairs


def table_names():
    """Parameter names of the rows in common/cfg_defaults.c."""
    path = os.path.join(REPO, "common", "cfg_defaults.c")
    with open(path) as f:
        text = f.read()
    # a row: { "name", CFG_TYPE, ... } (positional or designated)
    names = re.findall(
        r'\{\s*(?:\.name\s*=\s*)?"([A-Za-z0-9_]+)"\s*,\s*'
        r'(?:\.type\s*=\s*)?CFG_[A-Z]+', text)
    # or through the row macros: P_STR("name", ...), P_TIME("name", ...)
    names += re.findall(r'\bP_[A-Z]+\(\s*"([A-Za-z0-9_]+)"', text)
    assert names, f"no parameter rows recognised in {path}"
    return names


@pytest.fixture
def etc(tmp_path):
    """A config directory of the test's own, with a small main.cf."""
    d = tmp_path / "etc"
    d.mkdir()
    (d / "main.cf").write_text("# main.cf for this test\n")
    return d


def test_binary_exists():
    assert os.access(YUBINCTL, os.X_OK), f"{YUBINCTL} not built"


# --- conf -d and the parameter table -----------------------------------------

def test_defaults_print_every_table_row_once(etc):
    r = ctl(etc, "conf", "-d")
    assert r.returncode == 0, r.stderr
    pairs = parse_lines(r.stdout)
    names = [n for n, _ in pairs]
    dups = sorted({n for n in names if names.count(n) > 1})
    assert not dups, f"conf -d prints these more than once: {dups}"
    assert names == sorted(names), "conf -d output is not sorted by name"
    table = table_names()
    tdups = sorted({n for n in table if table.count(n) > 1})
    assert not tdups, f"cfg_defaults.c has duplicate rows: {tdups}"
    missing = sorted(set(table) - set(names))
    extra = sorted(set(names) - set(table))
    assert not missing, f"table rows without a default in conf -d: {missing}"
    assert not extra, f"conf -d prints names that are not rows: {extra}"


def test_defaults_ignore_main_cf(etc):
    before = dict(parse_lines(ctl(etc, "conf", "-d").stdout))
    (etc / "main.cf").write_text("mydomain = changed.example\n")
    r = ctl(etc, "conf", "-d", "mydomain")
    assert r.returncode == 0, r.stderr
    assert parse_lines(r.stdout) == [("mydomain", before["mydomain"])]


def test_every_parameter_the_code_reads_is_in_the_table(etc):
    r = ctl(etc, "conf", "-d")
    assert r.returncode == 0, r.stderr
    known = {n for n, _ in parse_lines(r.stdout)}
    used = {}
    for d in CODE_DIRS:
        top = os.path.join(REPO, d)
        for dirpath, _, files in os.walk(top):
            for name in files:
                if not name.endswith(".c"):
                    continue
                path = os.path.join(dirpath, name)
                with open(path, errors="replace") as f:
                    text = f.read()
                for m in GETTER_RX.finditer(text):
                    line = text.count("\n", 0, m.start()) + 1
                    rel = os.path.relpath(path, REPO)
                    used.setdefault(m.group(1), f"{rel}:{line}")
    # yubinctl's own "log reopen" reads data_directory this way
    assert "data_directory" in used, "the scan found none of the known calls"
    unknown = sorted(f"{n} ({where})" for n, where in used.items()
                     if n not in known)
    assert not unknown, ("parameters read by the code but missing from "
                         f"cfg_defaults.c: {unknown}")


# --- showing values ----------------------------------------------------------

def test_show_all_sorted_and_unexpanded(etc):
    (etc / "main.cf").write_text("mydomain = example.org\n"
                                 "myorigin = $mydomain\n")
    r = ctl(etc, "conf")
    assert r.returncode == 0, r.stderr
    pairs = parse_lines(r.stdout)
    names = [n for n, _ in pairs]
    assert names == sorted(names)
    assert set(names) == set(table_names())
    values = dict(pairs)
    assert values["mydomain"] == "example.org"
    assert values["myorigin"] == "$mydomain"


def test_names_as_arguments(etc):
    (etc / "main.cf").write_text("mydomain = example.org\n")
    r = ctl(etc, "conf", "mydomain", "no_such_parameter_xyz", "myorigin")
    assert r.returncode == 0, r.stderr
    pairs = parse_lines(r.stdout)
    assert [n for n, _ in pairs] == ["mydomain", "myorigin"]
    assert pairs[0] == ("mydomain", "example.org")
    assert ("yubinctl: warning: no_such_parameter_xyz: unknown parameter"
            in r.stderr)


def test_values_only(etc):
    (etc / "main.cf").write_text("mydomain = example.org\n"
                                 "myhostname = mx.example.org\n")
    r = ctl(etc, "conf", "-h", "mydomain", "myhostname")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "example.org\nmx.example.org\n"


def test_expand(etc):
    (etc / "main.cf").write_text("mydomain = example.org\n"
                                 "myhostname = mx.$mydomain\n"
                                 "myorigin = ${mydomain}\n")
    r = ctl(etc, "conf", "myorigin", "myhostname")
    assert r.returncode == 0, r.stderr
    assert parse_lines(r.stdout) == [("myorigin", "${mydomain}"),
                                     ("myhostname", "mx.$mydomain")]
    r = ctl(etc, "conf", "-x", "myorigin", "myhostname")
    assert r.returncode == 0, r.stderr
    assert parse_lines(r.stdout) == [("myorigin", "example.org"),
                                     ("myhostname", "mx.example.org")]
    r = ctl(etc, "conf", "-xh", "myorigin")
    assert r.stdout == "example.org\n"


def test_set_only(etc):
    (etc / "main.cf").write_text("# comment\nmyorigin = $mydomain\n"
                                 "mydomain = example.org\n")
    r = ctl(etc, "conf", "-n")
    assert r.returncode == 0, r.stderr
    assert parse_lines(r.stdout) == [("mydomain", "example.org"),
                                     ("myorigin", "$mydomain")]
    # names: only those main.cf sets
    r = ctl(etc, "conf", "-n", "myorigin", "myhostname")
    assert parse_lines(r.stdout) == [("myorigin", "$mydomain")]


def test_errors_are_reported_with_values(etc):
    (etc / "main.cf").write_text("mydomain = example.org\n"
                                 "smtpd_helo_required = maybe\n")
    r = ctl(etc, "conf", "mydomain")
    assert r.returncode == 1
    assert parse_lines(r.stdout) == [("mydomain", "example.org")]
    assert re.search(r"yubinctl: error: .*main\.cf:2", r.stderr), r.stderr


def test_missing_main_cf_is_an_error(etc):
    os.unlink(etc / "main.cf")
    r = ctl(etc, "conf", "mydomain")
    assert r.returncode == 1
    assert "main.cf" in r.stderr
    # the defaults still show
    assert [n for n, _ in parse_lines(r.stdout)] == ["mydomain"]


# --- editing -----------------------------------------------------------------

MAIN_CF = """\
# Yubin test configuration
myhostname = mail.example.com

# the greeting spans two lines
smtpd_banner = $myhostname
    ESMTP Yubin
# trailing comment
"""


def test_edit_round_trips_through_n(etc):
    main = etc / "main.cf"
    main.write_text(MAIN_CF)
    os.chmod(main, 0o640)
    r = ctl(etc, "conf", "-e", "myhostname=mx.example.org",
            "smtpd_banner = $myhostname ready",
            "mydomain=example.org", "message_size_limit=20480000")
    assert r.returncode == 0, r.stderr
    text = main.read_text()
    assert "# Yubin test configuration\n" in text
    assert "# the greeting spans two lines\n" in text
    assert text.endswith("# trailing comment\nmydomain = example.org\n"
                         "message_size_limit = 20480000\n"), text
    assert "ESMTP Yubin" not in text, "continuation line left behind"
    assert text.count("smtpd_banner") == 1
    # the order of the other lines is kept
    assert text.index("myhostname = mx.example.org") < text.index(
        "# the greeting") < text.index("smtpd_banner = $myhostname ready")
    assert stat.S_IMODE(os.stat(main).st_mode) == 0o640
    assert not os.path.exists(etc / "main.cf.tmp")

    r = ctl(etc, "conf", "-n")
    assert r.returncode == 0, r.stderr
    assert parse_lines(r.stdout) == [
        ("message_size_limit", "20480000"),
        ("mydomain", "example.org"),
        ("myhostname", "mx.example.org"),
        ("smtpd_banner", "$myhostname ready"),
    ]


def test_edit_replaces_every_assignment(etc):
    main = etc / "main.cf"
    main.write_text("mydomain = a.example\nmyorigin = x\n"
                    "mydomain = b.example\n")
    r = ctl(etc, "conf", "-e", "mydomain=c.example")
    assert r.returncode == 0, r.stderr
    assert "multiple entries" in r.stderr
    assert main.read_text() == ("mydomain = c.example\nmyorigin = x\n"
                                "mydomain = c.example\n")


def test_edit_creates_main_cf(etc):
    main = etc / "main.cf"
    os.unlink(main)
    r = ctl(etc, "conf", "-e", "mydomain=example.org")
    assert r.returncode == 0, r.stderr
    assert main.read_text() == "mydomain = example.org\n"
    assert parse_lines(ctl(etc, "conf", "-n").stdout) == [
        ("mydomain", "example.org")]


def test_edit_bad_value_leaves_main_cf_alone(etc):
    main = etc / "main.cf"
    main.write_text(MAIN_CF)
    before = main.read_bytes()
    mtime = os.stat(main).st_mtime_ns
    r = ctl(etc, "conf", "-e", "mydomain=example.org",
            "smtpd_helo_required=maybe")
    assert r.returncode != 0
    assert "smtpd_helo_required" in r.stderr, r.stderr
    assert "not changed" in r.stderr
    assert main.read_bytes() == before
    assert os.stat(main).st_mtime_ns == mtime
    assert not os.path.exists(etc / "main.cf.tmp")


def test_edit_may_repair_a_broken_main_cf(etc):
    main = etc / "main.cf"
    main.write_text("smtpd_helo_required = maybe\n")
    r = ctl(etc, "conf", "-e", "smtpd_helo_required=yes")
    assert r.returncode == 0, r.stderr
    assert main.read_text() == "smtpd_helo_required = yes\n"
    assert ctl(etc, "conf", "smtpd_helo_required").returncode == 0


@pytest.mark.parametrize("arg", ["novalue", "=x", "bad name=x", "a=b\nc=d"])
def test_edit_malformed_argument(etc, arg):
    main = etc / "main.cf"
    before = main.read_bytes()
    r = ctl(etc, "conf", "-e", arg)
    assert r.returncode == EX_USAGE, r.stderr
    assert "yubinctl: error:" in r.stderr
    assert main.read_bytes() == before


def test_remove(etc):
    main = etc / "main.cf"
    main.write_text(MAIN_CF + "mydomain = example.org\n")
    r = ctl(etc, "conf", "-X", "smtpd_banner", "mydomain")
    assert r.returncode == 0, r.stderr
    assert main.read_text() == ("# Yubin test configuration\n"
                                "myhostname = mail.example.com\n\n"
                                "# the greeting spans two lines\n"
                                "# trailing comment\n")
    assert parse_lines(ctl(etc, "conf", "-n").stdout) == [
        ("myhostname", "mail.example.com")]


def test_edit_needs_arguments(etc):
    assert ctl(etc, "conf", "-e").returncode == EX_USAGE
    assert ctl(etc, "conf", "-X").returncode == EX_USAGE
    assert ctl(etc, "conf", "-d", "-n").returncode == EX_USAGE


# --- master.cf ---------------------------------------------------------------

MASTER_CF = """\
# test master.cf
smtp            inet  n       -       n       -       -       smtpd
submission      inet  n       -       n       -       -       smtpd
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
127.0.0.1:2525  inet  n       -       n       -       -       smtpd
"""


def test_master_services(etc):
    (etc / "master.cf").write_text(MASTER_CF)
    r = ctl(etc, "conf", "-M")
    assert r.returncode == 0, r.stderr
    rows = [line.split() for line in r.stdout.splitlines()]
    assert [row[0] for row in rows] == ["smtp", "submission",
                                        "127.0.0.1:2525"]
    for row in rows:
        assert row[1] == "inet" and row[7] == "smtpd", row
    sub = rows[1]
    assert "smtpd_tls_security_level=encrypt" in sub
    assert "smtpd_sasl_auth_enable=yes" in sub
    assert sub[sub.index("smtpd_sasl_auth_enable=yes") - 1] == "-o"

    r = ctl(etc, "conf", "-M", "submission")
    assert r.returncode == 0, r.stderr
    assert [line.split()[0] for line in r.stdout.splitlines()] == [
        "submission"]
    r = ctl(etc, "conf", "-M", "smtp/inet")
    assert [line.split()[0] for line in r.stdout.splitlines()] == ["smtp"]


def test_master_missing_file(etc):
    r = ctl(etc, "conf", "-M")
    assert r.returncode == 1
    assert "master.cf" in r.stderr


# --- SASL --------------------------------------------------------------------

def test_sasl_mechanisms(etc):
    r = ctl(etc, "conf", "-a")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines and lines[0] == "cyrus", r.stdout
    mechs = [line.strip() for line in lines[1:]]
    assert all(line.startswith("    ") for line in lines[1:]), r.stdout
    assert mechs, ("Cyrus SASL lists no server mechanisms on this host: "
                   "is libsasl2-modules installed? stderr: " + r.stderr)
    assert "PLAIN" in mechs, f"PLAIN missing from {mechs}"


# --- log reopen ----------------------------------------------------------------

def write_data_dir(etc, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (etc / "main.cf").write_text(f"data_directory = {data}\n")
    return data


def test_log_reopen_not_running(etc, tmp_path):
    write_data_dir(etc, tmp_path)
    r = ctl(etc, "log", "reopen")
    assert r.returncode != 0
    assert "not running" in r.stderr, r.stderr


def test_log_reopen_stale_pid_file_signals_nobody(etc, tmp_path):
    data = write_data_dir(etc, tmp_path)
    # a live process that is not a supervisor: SIGUSR2 would kill it
    victim = subprocess.Popen(["sleep", "30"])
    try:
        (data / "master.pid").write_text(f"{victim.pid}\n")
        r = ctl(etc, "log", "reopen")
        assert r.returncode != 0
        assert "not running" in r.stderr, r.stderr
        time.sleep(0.1)
        assert victim.poll() is None, "a stale pid file got a process killed"
    finally:
        victim.kill()
        victim.wait()


FAKE_SUPERVISOR = r"""
import fcntl, os, signal, sys, time
pid_path, mark = sys.argv[1], sys.argv[2]
fd = os.open(pid_path, os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, f"{os.getpid()}\n".encode())
def reopen(signo, frame):
    with open(mark, "w") as f:
        f.write("reopened\n")
    sys.exit(0)
signal.signal(signal.SIGUSR2, reopen)
print("ready", flush=True)
time.sleep(30)
"""


def test_log_reopen_signals_the_lock_holder(etc, tmp_path):
    data = write_data_dir(etc, tmp_path)
    mark = tmp_path / "reopened"
    sup = subprocess.Popen([sys.executable, "-c", FAKE_SUPERVISOR,
                            str(data / "master.pid"), str(mark)],
                           stdout=subprocess.PIPE, text=True)
    try:
        assert sup.stdout.readline().strip() == "ready"
        r = ctl(etc, "log", "reopen")
        assert r.returncode == 0, r.stderr
        sup.wait(10)
        assert mark.read_text() == "reopened\n"
    finally:
        if sup.poll() is None:
            sup.kill()
        sup.wait()


def test_log_usage(etc):
    assert ctl(etc, "log").returncode == EX_USAGE
    assert ctl(etc, "log", "rotate").returncode == EX_USAGE


# --- the command line ----------------------------------------------------------

def test_unknown_command(etc):
    r = ctl(etc, "no-such-command")
    assert r.returncode == EX_USAGE
    assert "usage:" in r.stderr
    assert r.stdout == ""


def test_no_command(etc):
    r = subprocess.run([YUBINCTL], capture_output=True, text=True, timeout=60)
    assert r.returncode == EX_USAGE
    assert "usage:" in r.stderr and "conf" in r.stderr


def test_help(etc):
    r = ctl(etc, "help")
    assert r.returncode == 0
    assert "conf" in r.stdout and "log" in r.stdout
