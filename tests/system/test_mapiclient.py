"""mapiclient against mapiserver, directly and through mapiproxy.

A fresh mapiserver store with two users (alice, bob) is served on loopback
ports; mapiclient runs the Outlook path (RFR, NSPI, EMSMDB, ROPs) as alice
at PKT_PRIVACY unless a test says otherwise:

* address book: resolve (text and JSON), gal, whoami; the same answers
  through a mapiproxy relaying the four Exchange interfaces to mapiserver
  (pass-through authentication); the endpoint-mapper path (no port given);
* failures: a wrong password and a refused auth level exit 1 with a
  sentence saying what to check; usage errors exit 2;
* store (only when mapiserver serves EMSMDB: the tests skip, naming the
  refusal, when the EMSMDB bind is refused): folders, ls after a
  `mapiserver import`, show, get-attachment (bytes equal), send from alice
  to bob with an attachment that bob then reads back; ls through mapiproxy.

Processes are stopped by PID (the fixtures), ports are loopback only.

Run:  /usr/bin/python3 -m pytest -q tests/system/test_mapiclient.py
      MAPICLIENT_BIN=... MAPISERVER_BIN=... MAPIPROXY_BIN=... to pick binaries
"""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import free_port
from mapi_env import (ATTACHMENT, EML, MAPICLIENT_BIN, NEED_BINARIES, ORG_DN, PASSWORDS, Server,  # noqa: F401
                      _env, admin, client, direct, jsn, mapiserver, ok, relay, srv)

pytestmark = NEED_BINARIES


# ---- address book ----

def test_resolve_text_and_json(srv):
    out = ok(client(direct(srv), "resolve", "bob"))
    assert "Display name: Bob Builder" in out
    assert "SMTP:         bob@example.test" in out
    assert f"DN:           {ORG_DN}/cn=Recipients/cn=bob" in out
    j = jsn(client(direct(srv), "--json", "resolve", "bob@example.test"))
    assert j["display_name"] == "Bob Builder"
    assert j["account"] == "bob"
    assert j["dn"].lower().endswith("/cn=recipients/cn=bob")


def test_resolve_unknown(srv):
    r = client(direct(srv), "resolve", "nobody-here")
    assert r.returncode == 1
    assert b"not found in the address book" in r.stderr


def test_gal_and_whoami(srv):
    j = jsn(client(direct(srv), "--json", "gal"))
    assert j["count"] == 2
    assert [e["display_name"] for e in j["entries"]] == ["Alice Liddell", "Bob Builder"]
    assert {e["smtp"] for e in j["entries"]} == {"alice@example.test", "bob@example.test"}
    out = ok(client(direct(srv), "gal"))
    assert out.splitlines()[0].split() == ["NAME", "SMTP", "ACCOUNT"]
    assert len(out.splitlines()) == 3
    w = jsn(client(direct(srv), "--json", "whoami"))
    assert w["display_name"] == "Alice Liddell"
    assert w["dn"] == f"{ORG_DN}/cn=Recipients/cn=alice"
    assert w["home_mdb"].endswith("/cn=Microsoft Private MDB")


def test_endpoint_mapper_path(srv):
    """No port: each interface's port comes from ept_map on --epm-port."""
    j = jsn(client(f"127.0.0.1", "--epm-port", str(srv.epm), "--json", "resolve", "alice"))
    assert j["display_name"] == "Alice Liddell"
    j = jsn(client(f"ncacn_ip_tcp:127.0.0.1[{srv.port}]", "--json", "resolve", "alice"))
    assert j["display_name"] == "Alice Liddell"


def test_auth_levels(srv):
    assert jsn(client(direct(srv), "--json", "resolve", "bob",
                      level="integrity"))["smtp"] == "bob@example.test"
    r = client(direct(srv), "resolve", "bob", level="none")
    assert r.returncode == 1
    assert b"access denied at auth level none" in r.stderr
    assert b"--auth-level privacy" in r.stderr


def test_wrong_password(srv):
    r = client(direct(srv), "gal", password="not-the-password")
    assert r.returncode == 1
    assert b"NSPI bind refused" in r.stderr
    assert b"wrong password" in r.stderr


def test_connection_refused():
    port = free_port()
    r = client(f"127.0.0.1:{port}", "gal")
    assert r.returncode == 1
    assert f"cannot connect to 127.0.0.1 port {port}".encode() in r.stderr


def test_usage_errors():
    env = _env()
    h = subprocess.run([MAPICLIENT_BIN, "--help"], capture_output=True, env=env, timeout=10)
    assert h.returncode == 0
    for word in (b"resolve", b"gal", b"folders", b"ls", b"show", b"get-attachment", b"send",
                 b"--auth-level", b"--password-file", b"MAPICLIENT_PASSWORD", b"--json"):
        assert word in h.stdout
    for args, msg in (([], b"no command"),
                      (["-s", "x", "-u", "a", "frobnicate"], b"unknown command"),
                      (["-s", "x", "-u", "a", "-a", "seal", "gal"], b"--auth-level must be"),
                      (["-u", "a", "gal"], b"--server is required"),
                      (["-s", "x", "-u", "a", "send", "--subject", "s"], b"send needs --to"),
                      (["-s", "x", "-u", "a", "get-attachment", "1/2", "0"], b"needs -o")):
        r = subprocess.run([MAPICLIENT_BIN, *args], capture_output=True, env=env, timeout=10)
        assert r.returncode == 2, (args, r.stderr)
        assert msg in r.stderr, (args, r.stderr)


def test_through_mapiproxy(srv, mapiproxy):
    via = relay(mapiproxy, srv)
    a = jsn(client(direct(srv), "--json", "gal"))
    b = jsn(client(via, "--json", "gal"))
    assert a == b
    assert jsn(client(via, "--json", "resolve", "bob"))["smtp"] == "bob@example.test"


# ---- store (EMSMDB) ----

def need_emsmdb(s: Server):
    r = client(direct(s), "folders")
    err = r.stderr.decode(errors="replace")
    if r.returncode != 0 and "exchange_emsmdb" in err and "does not offer interface" in err:
        pytest.skip(f"mapiserver does not serve EMSMDB: {err.strip()}")
    return ok(r)


def test_folders(srv):
    out = need_emsmdb(srv)
    names = [line.split()[0] for line in out.splitlines()[1:]]
    for f in ("Inbox", "Outbox", "Sent", "Deleted"):
        assert f in names, out
    j = jsn(client(direct(srv), "--json", "folders"))
    assert any(f["path"] == "Inbox" for f in j["folders"])


def _import(srv, tmp_path) -> None:
    eml = tmp_path / "q1.eml"
    eml.write_bytes(EML)
    admin(srv.conf, "import", "--user", "alice", str(eml))


def test_ls_show_get_attachment(srv, tmp_path):
    need_emsmdb(srv)
    _import(srv, tmp_path)
    msgs = jsn(client(direct(srv), "--json", "ls"))["messages"]
    assert len(msgs) == 1
    m = msgs[0]
    assert m["subject"] == "Quarterly figures"
    assert m["from"] == "Bob Builder"
    assert m["date"] == "2026-11-24 10:00"
    assert m["attachments"] is True
    text = ok(client(direct(srv), "ls", "Inbox"))
    assert "Quarterly figures" in text and " @ " in text
    show = jsn(client(direct(srv), "--json", "show", m["id"]))
    assert show["subject"] == "Quarterly figures"
    assert "the figures are attached." in show["body"]
    assert [a["filename"] for a in show["attachments"]] == ["figures.bin"]
    out = tmp_path / "got.bin"
    ok(client(direct(srv), "get-attachment", m["id"], str(show["attachments"][0]["number"]),
              "-o", str(out)))
    assert out.read_bytes() == ATTACHMENT
    r = client(direct(srv), "show", "not-an-id")
    assert r.returncode == 1 and b"bad message ID" in r.stderr


def test_show_large_body(srv, mapiproxy, tmp_path):
    """A body too big for a property row (here ~60 KB of text) comes back
    whole: the server answers NotEnoughMemory in the row, the client reads
    the body as a stream."""
    need_emsmdb(srv)
    body = "".join(f"line {i:05d} of a long report, with some words to read.\n"
                   for i in range(1000))
    eml = tmp_path / "big.eml"
    eml.write_text("From: Bob Builder <bob@example.test>\nTo: Alice <alice@example.test>\n"
                   "Subject: Long report\nDate: Tue, 24 Nov 2026 11:00:00 +0000\n"
                   "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n" + body)
    admin(srv.conf, "import", "--user", "alice", str(eml))
    m = jsn(client(direct(srv), "--json", "ls"))["messages"][0]
    show = jsn(client(direct(srv), "--json", "show", m["id"]))
    assert show["body"].replace("\r\n", "\n").rstrip("\n") == body.rstrip("\n")
    via = jsn(client(relay(mapiproxy, srv), "--json", "show", m["id"]))
    assert via == show


def test_send_and_read_back(srv, tmp_path):
    need_emsmdb(srv)
    att = tmp_path / "notes.txt"
    att.write_bytes(b"line one\nline two\n" * 3000)  # 54 KB: several WriteStream calls
    j = jsn(client(direct(srv), "--json", "send", "--to", "bob", "--cc", "alice@example.test",
                   "--subject", "Lunch \u00e0 midi", "--body", "See you at noon.",
                   "--attach", str(att)))
    assert j["recipients"] == 2 and j["attachments"] == 1
    msgs = jsn(client(direct(srv), "--json", "ls", user="bob"))["messages"]
    mine = [m for m in msgs if m["subject"] == "Lunch \u00e0 midi"]
    assert len(mine) == 1, msgs
    assert mine[0]["from"] == "Alice Liddell"
    show = jsn(client(direct(srv), "--json", "show", mine[0]["id"], user="bob"))
    assert "See you at noon." in show["body"]
    assert [a["filename"] for a in show["attachments"]] == ["notes.txt"]
    got = tmp_path / "back.txt"
    ok(client(direct(srv), "get-attachment", mine[0]["id"],
              str(show["attachments"][0]["number"]), "-o", str(got), user="bob"))
    assert got.read_bytes() == att.read_bytes()


def test_store_through_mapiproxy(srv, mapiproxy, tmp_path):
    need_emsmdb(srv)
    _import(srv, tmp_path)
    via = relay(mapiproxy, srv)
    a = jsn(client(direct(srv), "--json", "ls"))
    b = jsn(client(via, "--json", "ls"))
    assert a == b and len(a["messages"]) == 1


def test_bench_nspi(srv):
    j = jsn(client(direct(srv), "--json", "bench", "--calls", "50", "--warmup", "2"))
    assert j["op"] == "NspiGetProps" and j["calls"] == 50
    assert 0 < j["p50_us"] <= j["p99_us"]


def test_bench_rop_and_watch(srv):
    need_emsmdb(srv)
    j = jsn(client(direct(srv), "--json", "bench", "--op", "rop", "--calls", "50"))
    assert j["op"] == "RopGetPropertiesSpecific" and j["calls"] == 50
    # watch --poll prints what arrives between its polls (push: test_notifications.py)
    env = _env()
    env["MAPICLIENT_PASSWORD"] = PASSWORDS["bob"]
    w = subprocess.Popen([MAPICLIENT_BIN, "-s", direct(srv), "-u", "bob", "--json", "watch",
                          "--poll", "1", "--rounds", "4"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        import time
        time.sleep(1.2)
        ok(client(direct(srv), "send", "--to", "bob", "--subject", "arrives later",
                  "--body", "x"))
        out, err = w.communicate(timeout=30)
    finally:
        if w.poll() is None:
            w.kill()
            w.wait()
    assert w.returncode == 0, err
    lines = [json.loads(x) for x in out.decode().splitlines()]
    assert [x["subject"] for x in lines] == ["arrives later"]
    assert lines[0]["via"] == "poll"


def test_bench_concurrent_mix(srv, mapiproxy, tmp_path):
    """N concurrent sessions of a mail-reading mix, directly and through a
    relay: every call counted, rates and latencies reported."""
    need_emsmdb(srv)
    _import(srv, tmp_path)
    for server in (direct(srv), relay(mapiproxy, srv)):
        j = jsn(client(server, "--json", "bench", "--op", "mix", "--sessions", "4",
                       "--calls", "40", "--warmup", "4", timeout=120))
        assert j["op"] == "mix" and j["sessions"] == 4 and j["calls"] == 160, j
        assert j["calls_per_s"] > 0 and 0 < j["p50_us"] <= j["p99_us"]
    r = client(direct(srv), "bench", "--sessions", "0")
    assert r.returncode == 2 and b"--sessions" in r.stderr


def test_progress_on_a_terminal(srv, tmp_path):
    """A large attachment shows progress when stderr is a terminal, and
    nothing when it is not."""
    import os as _os
    import pty
    need_emsmdb(srv)
    blob = _os.urandom(3 << 20)
    import base64
    eml = tmp_path / "big.eml"
    eml.write_text("From: Bob <bob@example.test>\nTo: Alice <alice@example.test>\n"
                   "Subject: big\nMIME-Version: 1.0\n"
                   "Content-Type: multipart/mixed; boundary=\"B\"\n\n--B\n"
                   "Content-Type: text/plain\n\nsee\n--B\n"
                   "Content-Type: application/octet-stream; name=\"big.bin\"\n"
                   "Content-Transfer-Encoding: base64\n\n"
                   + base64.encodebytes(blob).decode() + "--B--\n")
    admin(srv.conf, "import", "--user", "alice", str(eml))
    m = jsn(client(direct(srv), "--json", "ls"))["messages"][0]
    out = tmp_path / "got.bin"
    master, slave = pty.openpty()
    env = _env()
    env["MAPICLIENT_PASSWORD"] = PASSWORDS["alice"]
    p = subprocess.Popen([MAPICLIENT_BIN, "-s", direct(srv), "-u", "alice", "get-attachment",
                          m["id"], "0", "-o", str(out)], stdout=subprocess.PIPE, stderr=slave,
                         env=env)
    _os.close(slave)
    seen = b""
    while True:
        try:
            chunk = _os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    p.wait(timeout=60)
    _os.close(master)
    assert p.returncode == 0, seen
    assert out.read_bytes() == blob
    assert b"reading:" in seen and b"100%" in seen, seen[-300:]
    # Not a terminal: no progress lines.
    r = client(direct(srv), "get-attachment", m["id"], "0", "-o", str(out))
    assert r.returncode == 0 and b"reading" not in r.stderr


def test_resolve_ambiguous_lists_candidates(srv):
    """An ambiguous name: the candidates come from NspiGetMatches (PidTagAnr)."""
    admin(srv.conf, "useradd", "alison", "--display-name", "Alison Wonder",
          stdin="Alison-Pw-3!\n")
    r = client(direct(srv), "resolve", "Ali")
    assert r.returncode == 1
    err = r.stderr.decode()
    assert "Ali is ambiguous" in err
    assert "Alice Liddell <alice@example.test>" in err
    assert "Alison Wonder <alison@example.test>" in err
    assert jsn(client(direct(srv), "--json", "resolve", "Alison"))["account"] == "alison"


def test_password_file_and_env(srv, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text(PASSWORDS["alice"] + "\n")
    env = _env()
    env["MAPICLIENT_SERVER"] = direct(srv)
    env["MAPICLIENT_USER"] = "EXAMPLE\\alice"
    r = subprocess.run([MAPICLIENT_BIN, "--password-file", str(pw), "--json", "whoami"],
                       capture_output=True, env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert json.loads(ok(r))["display_name"] == "Alice Liddell"
    r = subprocess.run([MAPICLIENT_BIN, "--password-file", str(tmp_path / "none"), "gal"],
                       capture_output=True, env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 1 and b"cannot read the password file" in r.stderr


@pytest.mark.parametrize("fqdn,followed", [("localhost", True), ("no-such-host.invalid", False)])
def test_follow_referral(mapiserver, fqdn, followed):
    """RfrGetNewDSA names mapiproxy:fqdn; --follow-referral binds NSPI there,
    or stays on --server when the name cannot be reached."""
    s = mapiserver({"mapiproxy:fqdn": fqdn})
    r = client(direct(s), "-v", "--follow-referral", "--json", "whoami")
    j = jsn(r)
    assert j["rfr_server"] == fqdn
    err = r.stderr.decode()
    if followed:
        assert j["nspi_host"] == fqdn
        assert f"exchange_nsp: bound on {fqdn} port {s.port}" in err
    else:
        assert j["nspi_host"] == "127.0.0.1"
        assert f"referral {fqdn} not usable" in err
    assert jsn(client(direct(s), "--json", "whoami"))["nspi_host"] == "127.0.0.1"
