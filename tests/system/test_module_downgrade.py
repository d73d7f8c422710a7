"""The downgrade module (modules/downgrade.c): clients stay on EcDoConnect /
EcDoRpc, as with an Exchange 2000 server.

A terminating mapiproxy in front of mapiserver loads `downgrade`, with the
dump's JSON output on:

* mapiclient through the proxy: its EcDoConnectEx gets nca_op_rng_error
  from the proxy (the server never sees it), it falls back to EcDoConnect,
  is told server version 6.0.4417.5 and sends its ROPs in EcDoRpc; the dump
  holds no EcDoRpcExt2. whoami, resolve, folders, ls, show, get-attachment
  answer exactly as directly, and a message sent through the proxy arrives.
* without the module the same client uses EcDoConnectEx / EcDoRpcExt2 (the
  checks above can fail).

Run:  MAPIPROXY_BIN=... MAPISERVER_BIN=... MAPICLIENT_BIN=... \
      /usr/bin/python3 -m pytest -q tests/system/test_module_downgrade.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import MAPIPROXY_BIN, free_port
from mapi_env import (ATTACHMENT, EML, NEED_BINARIES, admin, client, jsn,  # noqa: F401
                      mapiserver, ok, terminating)
from test_dump import wait_for

pytestmark = NEED_BINARIES

MODULES = str(Path(MAPIPROXY_BIN).parent / "modules")
NCA_OP_RNG_ERROR = "fault nca_s_op_rng_error"


@pytest.fixture
def srv(mapiserver, tmp_path):
    s = mapiserver()
    eml = tmp_path / "q1.eml"
    eml.write_bytes(EML)
    admin(s.conf, "import", "--user", "alice", str(eml))
    return s


def proxy(mapiproxy, srv, tmp_path, modules="downgrade"):
    jl = tmp_path / f"dump-{free_port()}.jsonl"
    px = terminating(mapiproxy, srv, modules=modules,
                     options={"mapiproxy:modules dir": MODULES, "mpm_dump:json file": str(jl)})
    px.dump = jl
    return px


def dumped(px, want):
    """The dumped calls, once every name in `want` is there."""
    def read():
        if not px.dump.exists():
            return []
        return [json.loads(x)["call"] for x in px.dump.read_text().splitlines()]
    assert wait_for(lambda: want <= {c["name"] for c in read()}), [c["name"] for c in read()]
    return read()


def session(server, tmp_path):
    """What a user reads from the mailbox, and how the client connected."""
    out = {}
    r = client(server, "-v", "--json", "folders")
    out["folders"] = jsn(r)
    connect = re.search(r"mapiclient: (EcDoConnect\w*): ok \(server ([\d.]+)\)", r.stderr.decode())
    out["connect"] = connect.groups() if connect else r.stderr.decode()
    out["whoami"] = jsn(client(server, "--json", "whoami"))
    out["resolve"] = jsn(client(server, "--json", "resolve", "bob"))
    out["ls"] = jsn(client(server, "--json", "ls"))
    mid = out["ls"]["messages"][0]["id"]
    out["show"] = jsn(client(server, "--json", "show", mid))
    got = tmp_path / f"att-{free_port()}.bin"
    ok(client(server, "get-attachment", mid, "0", "-o", str(got)))
    out["attachment"] = got.read_bytes()
    return out


def test_client_falls_back_and_reads_the_same(srv, mapiproxy, tmp_path):
    px = proxy(mapiproxy, srv, tmp_path)
    before = srv.p.log_text().count("exchange_emsmdb opnum 10:")
    via = session(f"127.0.0.1:{px.port}", tmp_path)
    # The proxy answered EcDoConnectEx: the server never saw one.
    assert srv.p.log_text().count("exchange_emsmdb opnum 10:") == before
    direct = session(f"127.0.0.1:{srv.port}", tmp_path)
    assert srv.p.log_text().count("exchange_emsmdb opnum 10:") > before  # directly: seen
    # Exchange 2000 (6.0.4417.5) through the proxy; the server's own directly.
    assert via.pop("connect") == ("EcDoConnect", "6.4417.5")
    assert direct.pop("connect")[0] == "EcDoConnectEx"
    assert via == direct
    assert via["attachment"] == ATTACHMENT and via["show"]["subject"] == "Quarterly figures"

    calls = dumped(px, {"EcDoConnectEx", "EcDoConnect", "EcDoRpc"})
    names = {c["name"] for c in calls if c["interface"] == "EMSMDB"}
    assert "EcDoRpcExt2" not in names and {"EcDoConnect", "EcDoRpc"} <= names, names
    ex = [c for c in calls if c["name"] == "EcDoConnectEx"]
    assert ex and all(c["outcome"] == NCA_OP_RNG_ERROR for c in ex), ex
    for c in calls:
        if c["name"] == "EcDoConnect":
            assert c["outcome"] == "ok"
            assert c["response"]["EcDoConnect"]["rgwServerVersion"] == \
                [0x0006, 0x1141, 0x0005], c["response"]
    assert all(c["outcome"] == "ok" for c in calls if c["name"] != "EcDoConnectEx")


def test_send_through_the_proxy_arrives(srv, mapiproxy, tmp_path):
    px = proxy(mapiproxy, srv, tmp_path)
    att = tmp_path / "notes.txt"
    att.write_bytes(b"line one\nline two\n" * 3000)  # several RopWriteStream in EcDoRpc
    j = jsn(client(f"127.0.0.1:{px.port}", "--json", "send", "--to", "bob",
                   "--subject", "via EcDoRpc", "--body", "downgraded", "--attach", str(att)))
    assert j["recipients"] == 1 and j["attachments"] == 1
    msgs = jsn(client(f"127.0.0.1:{srv.port}", "--json", "ls", user="bob"))["messages"]
    mine = [m for m in msgs if m["subject"] == "via EcDoRpc"]
    assert len(mine) == 1 and mine[0]["from"] == "Alice Liddell", msgs
    got = tmp_path / "back.txt"
    ok(client(f"127.0.0.1:{srv.port}", "get-attachment", mine[0]["id"], "0", "-o", str(got),
              user="bob"))
    assert got.read_bytes() == att.read_bytes()
    names = {c["name"] for c in dumped(px, {"EcDoRpc"})}
    assert "EcDoRpcExt2" not in names


def test_without_the_module_the_client_stays_on_ext2(srv, mapiproxy, tmp_path):
    px = proxy(mapiproxy, srv, tmp_path, modules="")
    r = client(f"127.0.0.1:{px.port}", "-v", "folders")
    ok(r)
    assert "EcDoConnectEx: ok" in r.stderr.decode()
    names = {c["name"] for c in dumped(px, {"EcDoConnectEx", "EcDoRpcExt2"})}
    assert "EcDoConnect" not in names and "EcDoRpc" not in names
