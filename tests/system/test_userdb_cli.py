"""mapiproxy-user, the user database tool (docs/users.md), driven as a user would.

Needs only the binary: $MAPIPROXY_USER_BIN; else $MP_BUILD_DIR/mapiproxy-user
(scripts/check.py sets MP_BUILD_DIR per build); else build/mapiproxy-user.
Skipped when it does not exist yet.

Run:  /usr/bin/python3 -m pytest -q tests/system/test_userdb_cli.py
"""

from __future__ import annotations

import os
import pty
import select
import stat
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
BIN = os.environ.get("MAPIPROXY_USER_BIN") or os.path.join(
    os.environ.get("MP_BUILD_DIR") or "build", "mapiproxy-user")
if not os.path.isabs(BIN):
    BIN = str(REPO / BIN)

pytestmark = pytest.mark.skipif(not os.access(BIN, os.X_OK),
                                reason=f"{BIN} not built (set MAPIPROXY_USER_BIN)")

# [MS-NLMP] 4.2.2.1.2: NTOWFv1("Password").
PASSWORD_HASH = "a4f49c406510bdcab6824ee7c30fd852"
H1 = "00112233445566778899aabbccddeeff"
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer")
ENV = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
           UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")


def run(*args: str, stdin: str | None = "", db: Path | None = None) -> subprocess.CompletedProcess:
    argv = [BIN] + (["--db", str(db)] if db is not None else []) + list(args)
    p = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=ENV, timeout=30,
                       stdin=subprocess.DEVNULL if stdin is None else None)
    for marker in SANITIZER_MARKERS:
        assert marker not in p.stderr, p.stderr
    return p


def entries(db: Path) -> list[str]:
    return [line for line in db.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "users"


def test_add_creates_file_0600_with_spec_hash(db: Path) -> None:
    old = os.umask(0)  # a careless umask must not matter
    try:
        p = run("add", "alice", stdin="Password\n", db=db)
    finally:
        os.umask(old)
    assert p.returncode == 0, p.stderr
    assert "added alice" in p.stdout
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert entries(db) == [f"alice:{PASSWORD_HASH}:"]
    assert "Password" not in db.read_text()
    assert [f.name for f in db.parent.iterdir()] == ["users"]  # no temporary file left


def test_add_domain_forms_and_list(db: Path) -> None:
    assert run("add", "CORP\\alice", stdin="Password\n", db=db).returncode == 0
    assert run("add", "bob", "--domain", "LAB", stdin="Password\r\n", db=db).returncode == 0
    assert run("add", "carol", "--nt-hash", H1.upper(), db=db).returncode == 0
    assert entries(db) == [f"CORP\\alice:{PASSWORD_HASH}:", f"LAB\\bob:{PASSWORD_HASH}:",
                           f"carol:{H1}:"]
    p = run("list", db=db)
    assert p.returncode == 0
    lines = [line.split() for line in p.stdout.splitlines()]
    assert lines == [["DOMAIN", "USER", "FLAGS"], ["CORP", "alice", "-"], ["LAB", "bob", "-"],
                     ["*", "carol", "-"]]
    assert PASSWORD_HASH not in p.stdout and H1 not in p.stdout


def test_nt_hash_from_stdin(db: Path) -> None:
    p = run("add", "svc", "--nt-hash", "-", stdin=PASSWORD_HASH.upper() + "\n", db=db)
    assert p.returncode == 0, p.stderr
    assert entries(db) == [f"svc:{PASSWORD_HASH}:"]
    p = run("passwd", "svc", "--nt-hash", "-", stdin="xyz\n", db=db)
    assert p.returncode == 1
    assert "32 hex digits" in p.stderr


def test_add_existing_user_refused(db: Path) -> None:
    assert run("add", "alice", stdin="Password\n", db=db).returncode == 0
    p = run("add", "ALICE", stdin="other\n", db=db)
    assert p.returncode == 1
    assert "already exists" in p.stderr and "passwd" in p.stderr
    assert entries(db) == [f"alice:{PASSWORD_HASH}:"]
    # The same name in a domain is a different entry.
    assert run("add", "alice", "--domain", "CORP", stdin="x\n", db=db).returncode == 0


def test_passwd_keeps_flags(db: Path) -> None:
    db.write_text(f"# keep me\nalice:{H1}:disabled,future\n")
    db.chmod(0o600)
    p = run("passwd", "alice", stdin="Password\n", db=db)
    assert p.returncode == 0, p.stderr
    assert "future" in p.stderr  # the unknown flag is reported as a warning
    assert db.read_text() == f"# keep me\nalice:{PASSWORD_HASH}:disabled,future\n"
    p = run("passwd", "nobody", stdin="Password\n", db=db)
    assert p.returncode == 1 and "no entry for nobody" in p.stderr


def test_disable_enable_del(db: Path) -> None:
    db.write_text(f"alice:{H1}:\nCORP\\bob:{H1}:x-flag\n")
    db.chmod(0o600)
    assert run("disable", "alice", db=db).returncode == 0
    assert run("disable", "corp\\BOB", db=db).returncode == 0
    assert entries(db) == [f"alice:{H1}:disabled", f"CORP\\bob:{H1}:disabled,x-flag"]
    p = run("list", db=db)
    assert "disabled,x-flag" in p.stdout
    p = run("disable", "alice", db=db)
    assert p.returncode == 0 and "already disabled" in p.stdout
    assert run("enable", "alice", db=db).returncode == 0
    assert entries(db)[0] == f"alice:{H1}:"
    # Without a domain, commands mean the any-domain entry; the hint names the domains.
    p = run("del", "bob", db=db)
    assert p.returncode == 1
    assert "no entry for bob" in p.stderr and "CORP" in p.stderr
    assert run("del", "bob", "--domain", "corp", db=db).returncode == 0
    assert entries(db) == [f"alice:{H1}:"]
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_insecure_mode_refused(db: Path) -> None:
    db.write_text(f"alice:{H1}:\n")
    for mode in (0o644, 0o640, 0o604):
        db.chmod(mode)
        for args in (("list",), ("check",), ("del", "alice")):
            p = run(*args, db=db)
            assert p.returncode == 1
            assert "too open" in p.stderr and f"chmod 600 {db}" in p.stderr
    db.chmod(0o600)
    assert run("check", db=db).returncode == 0


def test_errors_name_file_and_line(db: Path) -> None:
    db.write_text(f"# c\nalice:{H1}:\nALICE:{H1}:\n")
    db.chmod(0o600)
    p = run("list", db=db)
    assert p.returncode == 1
    assert f"{db}:3:" in p.stderr and "duplicate" in p.stderr and "line 2" in p.stderr
    db.write_text("alice:1234:\n")
    p = run("check", db=db)
    assert p.returncode == 1 and f"{db}:1:" in p.stderr and "32 hex digits" in p.stderr
    assert "1234" not in p.stderr  # messages never show a hash


def test_missing_file(db: Path) -> None:
    for args in (("list",), ("del", "x"), ("enable", "x"), ("check",)):
        p = run(*args, db=db)
        assert p.returncode == 1
        assert str(db) in p.stderr and "No such file" in p.stderr
    assert not db.exists()


def test_password_input_errors(db: Path) -> None:
    p = run("add", "alice", stdin="\n", db=db)
    assert p.returncode == 1 and "empty password" in p.stderr
    p = run("add", "alice", stdin="", db=db)
    assert p.returncode == 1 and "no password" in p.stderr
    p = run("add", "alice", stdin="x" * 600 + "\n", db=db)
    assert p.returncode == 1 and "longer than" in p.stderr
    raw = subprocess.run([BIN, "--db", str(db), "add", "alice"], input=b"\xff\xfe\n",
                         capture_output=True, env=ENV, timeout=30)
    assert raw.returncode == 1 and b"UTF-8" in raw.stderr
    assert not db.exists()  # nothing was created


@pytest.mark.parametrize("args,fragment", [
    ((), "no command"),
    (("frob",), "unknown command 'frob'"),
    (("add",), "needs a USER"),
    (("list", "extra"), "unexpected argument 'extra'"),
    (("list", "--domain", "X"), "--domain does not apply"),
    (("del", "x", "--nt-hash", H1), "--nt-hash does not apply"),
    (("add", "x", "--nt-hash", "12"), "32 hex digits"),
    (("add", "CORP\\x", "--domain", "LAB"), "not both"),
    (("add", "a:b"), "contains ':'"),
    (("add", "#a"), "starts with '#'"),
    (("--bogus", "list"), ""),
])
def test_usage_errors_exit_2(db: Path, args: tuple, fragment: str) -> None:
    p = run(*args, db=db)
    assert p.returncode == 2, p.stderr
    assert fragment in p.stderr
    assert not db.exists()


def test_no_db_option() -> None:
    p = run("list")
    assert p.returncode == 2 and "--db FILE" in p.stderr


def test_help_and_version() -> None:
    p = run("--help")
    assert p.returncode == 0
    for word in ("add", "passwd", "del", "disable", "enable", "list", "check", "--db",
                 "--domain", "--nt-hash", "Exit status", "0600"):
        assert word in p.stdout, word
    p = run("--version")
    assert p.returncode == 0 and p.stdout.startswith("mapiproxy-user ")


def test_symlink_kept(tmp_path: Path) -> None:
    real = tmp_path / "real-users"
    link = tmp_path / "users"
    assert run("add", "alice", stdin="Password\n", db=real).returncode == 0
    link.symlink_to("real-users")
    assert run("disable", "alice", db=link).returncode == 0
    assert link.is_symlink()
    assert entries(real) == [f"alice:{PASSWORD_HASH}:disabled"]


# ---- the terminal: no echo, asked twice ------------------------------------------------

def _pty_session(db: Path, answers: list[str]) -> tuple[int, str]:
    """Run `add alice` with stdin, stdout and stderr on a pty; answer each prompt."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([BIN, "--db", str(db), "add", "alice"], stdin=slave, stdout=slave,
                            stderr=slave, env=ENV, close_fds=True)
    os.close(slave)
    out = b""
    pending = list(answers)
    deadline = time.time() + 20
    while time.time() < deadline:
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if pending and out.rstrip().endswith(b":"):
                time.sleep(0.1)  # let the tool turn echo off before typing
                os.write(master, pending.pop(0).encode() + b"\n")
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    os.close(master)
    return proc.returncode, out.decode(errors="replace")


def test_terminal_prompts_twice_without_echo(db: Path) -> None:
    code, out = _pty_session(db, ["Password", "Password"])
    assert code == 0, out
    assert "New password for alice" in out and "Retype" in out
    assert "Password\r\n" not in out and "Password\n" not in out  # not echoed
    assert entries(db) == [f"alice:{PASSWORD_HASH}:"]


def test_terminal_mismatch(db: Path) -> None:
    code, out = _pty_session(db, ["Password", "Passw0rd"])
    assert code == 1
    assert "differ" in out
    assert not db.exists()
