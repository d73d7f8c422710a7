"""A chain of two proxies across an emulated WAN gives the client what the
server gives it directly.

    mapiclient -> proxy A (local hop) -> WAN relay -> proxy B (remote hop)
               -> mapiserver

Both proxies terminate authentication (user db with alice; each
authenticates upstream as alice, privacy on every leg), so their modules see
clear calls. The WAN is tests/system/wan_relay.py: 5 ms each way, 100 Mbit/s
(the slow-link figures are the benchmark's, bench/wan.py). Stacks:

  plain   no modules on either hop
  dummy   dummy on both (every hook runs, changes nothing)
  pack-zstd, pack-lz4
          A: pack (compression), B: pack (lasthop)
          -- skipped until modules/pack is built
  accel   A: cache (sync from B's cache) + pack (zstd)
          B: pack (lasthop: restores genuine MAPI for the server) + cache (ahead)
          -- skipped until modules/pack and modules/cache are built

Over each chain, against the direct path: resolve, gal, whoami, folders, ls,
show and get-attachment of every message of a mixed mailbox (text/HTML
bodies, attachments of mixed compressibility, SHA-256 compared with what was
imported), twice (the second time a cache answers); alice sends bob a message
with an attachment through the chain and bob reads it directly, the same as
one sent directly. The WAN relay must have carried the traffic (with pack,
compressed: the sent attachment crosses in less than half its size).

Run:  /usr/bin/python3 -m pytest -q tests/system/test_multihop.py
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import pytest

from conftest import MAPIPROXY_BIN, Proxy
from mail_corpus import Mail, write_corpus
from mapi_env import NEED_BINARIES, admin, client, jsn, mapiserver, ok, terminating  # noqa: F401
from wan_relay import WanRelay

pytestmark = NEED_BINARIES

MODULES_DIR = Path(os.environ.get("MAPIPROXY_MODULES_DIR",
                                  str(Path(MAPIPROXY_BIN).parent / "modules")))
DELAY_MS = 5
RATE = 100e6


def have(*names: str) -> bool:
    return all((MODULES_DIR / f"{n}.so").exists() for n in names)


@dataclass
class Stack:
    """The modules and options of one hop."""
    modules: str = ""
    options: Optional[Dict[str, str]] = None


def stacks(name: str, tmp: Path):
    """(A, B) for a named configuration."""
    if name == "plain":
        return Stack(), Stack()
    if name == "dummy":
        return Stack("dummy", {"dummy:tag": "A"}), Stack("dummy", {"dummy:tag": "B"})
    if name.startswith("pack-"):
        algo = name.split("-", 1)[1]
        return (Stack("pack", {"mpm_pack:lasthop": "false", "mpm_pack:compression": algo}),
                Stack("pack", {"mpm_pack:lasthop": "true", "mpm_pack:compression": algo}))
    if name == "accel":
        a_cache, b_cache = tmp / "cache-A", tmp / "cache-B"
        a_cache.mkdir()
        b_cache.mkdir()
        return (Stack("cache, pack", {"mpm_cache:path": str(a_cache), "mpm_cache:sync": "true",
                                      "mpm_cache:sync_cmd": sync_cmd(a_cache, b_cache),
                                      # Sync the bigger half of the test's streams.
                                      "mpm_cache:sync_min": "100000",
                                      "mpm_pack:lasthop": "false",
                                      "mpm_pack:compression": "zstd"}),
                Stack("pack, cache", {"mpm_pack:lasthop": "true",
                                      "mpm_pack:compression": "zstd",
                                      "mpm_cache:path": str(b_cache),
                                      "mpm_cache:ahead": "true"}))
    raise ValueError(name)


def sync_cmd(a_cache: Path, b_cache: Path) -> str:
    """The local hop fetches a file B's read-ahead cached: here both caches
    are on one machine, so a copy from B's tree (in a deployment: rsync or
    scp from the remote host). __NAME__ is the path below the cache
    directory, __TMPFILE__ the file A renames into place."""
    script = a_cache.parent / "sync.sh"
    script.write_text(f"#!/bin/sh\n# $1: __NAME__, $2: __TMPFILE__\nexec cp \"{b_cache}/$1\" \"$2\"\n")
    script.chmod(0o755)
    return f"{script} __NAME__ __TMPFILE__"


CONFIGS = [
    pytest.param("plain"),
    pytest.param("dummy", marks=pytest.mark.skipif(not have("dummy"),
                                                   reason=f"no dummy.so in {MODULES_DIR}")),
    *[pytest.param(f"pack-{algo}", marks=pytest.mark.skipif(
        not have("pack"), reason=f"module pack not built in {MODULES_DIR}"))
      for algo in ("zstd", "lz4")],
    pytest.param("accel", marks=pytest.mark.skipif(
        not have("pack", "cache"), reason=f"modules pack and cache not built in {MODULES_DIR}")),
]


@dataclass
class Chain:
    a: Proxy
    wan: WanRelay
    b: Proxy

    @property
    def server(self) -> str:
        return f"127.0.0.1:{self.a.port}"


@pytest.fixture
def wan():
    made: List[WanRelay] = []

    def start(upstream_port: int, **kw) -> WanRelay:
        r = WanRelay(("127.0.0.1", 0), ("127.0.0.1", upstream_port), **kw).start()
        made.append(r)
        return r

    yield start
    for r in made:
        r.stop()


@pytest.fixture
def srv(mapiserver):
    return mapiserver()


@pytest.fixture
def mailbox(srv, tmp_path) -> List[Mail]:
    mails = write_corpus(tmp_path / "corpus", count=6, seed=7, min_kb=8, max_kb=200)
    admin(srv.conf, "import", "--user", "alice", str(tmp_path / "corpus"))
    return mails


def make_chain(mapiproxy, srv, wan, tmp_path, config: str) -> Chain:
    a_stack, b_stack = stacks(config, tmp_path)
    mod = {"mapiproxy:modules dir": str(MODULES_DIR)}
    b = terminating(mapiproxy, srv, modules=b_stack.modules,
                    options={**mod, **(b_stack.options or {})})
    link = wan(b.port, delay_ms=DELAY_MS, rate_bps=RATE)
    a = terminating(mapiproxy, srv, modules=a_stack.modules,
                    options={**mod, **(a_stack.options or {})}, upstream_port=link.port)
    return Chain(a, link, b)


def direct(srv) -> str:
    return f"127.0.0.1:{srv.port}"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_mailbox(server: str, out: Path, user: str = "alice") -> dict:
    """ls, then show and every attachment of every message: what a user sees."""
    out.mkdir(parents=True, exist_ok=True)
    seen = {"ls": jsn(client(server, "--json", "ls", user=user)), "messages": []}
    for m in seen["ls"]["messages"]:
        show = jsn(client(server, "--json", "show", m["id"], user=user))
        sums = []
        for att in show["attachments"]:
            f = out / f"{m['id'].replace('/', '_')}-{att['number']}"
            ok(client(server, "get-attachment", m["id"], str(att["number"]), "-o", str(f),
                      user=user))
            sums.append(sha(f))
        seen["messages"].append({"show": show, "sha256": sums})
    return seen


@pytest.mark.parametrize("config", CONFIGS)
def test_address_book_and_folders(srv, mapiproxy, wan, tmp_path, config):
    ch = make_chain(mapiproxy, srv, wan, tmp_path, config)
    for args in (("resolve", "bob"), ("--json", "resolve", "bob@example.test"), ("--json", "gal"),
                 ("gal",), ("--json", "whoami"), ("folders",), ("--json", "folders")):
        assert ok(client(ch.server, *args)) == ok(client(direct(srv), *args)), args
    r = client(ch.server, "resolve", "nobody-here")
    assert r.returncode == 1 and b"not found in the address book" in r.stderr
    c = ch.wan.counters()
    assert c["connections"] >= 7 and c["up"] > 0 and c["down"] > 0, c
    if config == "dummy":
        for hop, px in (("A", ch.a), ("B", ch.b)):
            log = px.log_text()
            assert re.search(rf"module dummy: \[{hop}\] session \d+ call \d+ exchange_nsp "
                             r"NspiResolveNamesW: push", log), log[-2000:]
            assert re.search(rf"module dummy: \[{hop}\] session \d+ call \d+ exchange_emsmdb "
                             r"EcDoRpcExt2: push", log), log[-2000:]


@pytest.mark.parametrize("config", CONFIGS)
def test_mailbox_identical(srv, mapiproxy, wan, tmp_path, mailbox, config):
    ch = make_chain(mapiproxy, srv, wan, tmp_path, config)
    want = read_mailbox(direct(srv), tmp_path / "direct")
    # What was imported: every subject, every attachment byte for byte.
    assert sorted(m["subject"] for m in want["ls"]["messages"]) == \
        sorted(m.subject for m in mailbox)
    by_subject = {m.subject: m for m in mailbox}
    for m in want["messages"]:
        mail = by_subject[m["show"]["subject"]]
        assert m["sha256"] == mail.sha256()
        assert [a["filename"] for a in m["show"]["attachments"]] == \
            [n for n, _ in mail.attachments]
        assert mail.body.split("\n\n")[1][:60] in m["show"]["body"]
    first = read_mailbox(ch.server, tmp_path / "chain1")
    assert first == want
    down_first = ch.wan.counters()["down"]
    second = read_mailbox(ch.server, tmp_path / "chain2")  # warm: a cache may answer
    assert second == want
    down_second = ch.wan.counters()["down"] - down_first
    total = sum(len(d) for m in mailbox for _, d in m.attachments)
    assert down_first > 0
    if config == "accel":
        # The attachments were replayed by A's cache, not carried again; the
        # big ones came by the sync command from B's read-ahead.
        assert down_second < total / 4, (down_second, total)
        big = sum(1 for m in mailbox for _, d in m.attachments if len(d) > 100000)
        log = ch.a.log_text()
        assert len(re.findall(r"module cache: sync of data/\S+ done", log)) >= big, log[-3000:]
        assert "ROP(s) answered from the cache" in log


@pytest.mark.parametrize("config", CONFIGS)
def test_send_then_recipient_reads(srv, mapiproxy, wan, tmp_path, config):
    ch = make_chain(mapiproxy, srv, wan, tmp_path, config)
    att = tmp_path / "minutes.txt"
    att.write_bytes(b"".join(b"%05d action item owner deadline status\n" % i
                             for i in range(4000)))  # 180 KB: several WriteStream calls
    sent = {}
    for path, server in (("chain", ch.server), ("direct", direct(srv))):
        j = jsn(client(server, "--json", "send", "--to", "bob", "--cc", "alice@example.test",
                       "--subject", f"Minutes via {path}", "--body", "Minutes \u00e0 lire.",
                       "--attach", str(att)))
        assert j["recipients"] == 2 and j["attachments"] == 1
    msgs = jsn(client(direct(srv), "--json", "ls", user="bob"))["messages"]
    for path in ("chain", "direct"):
        mine = [m for m in msgs if m["subject"] == f"Minutes via {path}"]
        assert len(mine) == 1, msgs
        assert mine[0]["from"] == "Alice Liddell"
        show = jsn(client(direct(srv), "--json", "show", mine[0]["id"], user="bob"))
        got = tmp_path / f"got-{path}.txt"
        ok(client(direct(srv), "get-attachment", mine[0]["id"],
                  str(show["attachments"][0]["number"]), "-o", str(got), user="bob"))
        assert got.read_bytes() == att.read_bytes()
        sent[path] = show
    # The same message but for what differs by nature (IDs, times, subject).
    def norm(s):
        return {k: v for k, v in s.items() if k not in ("id", "subject", "date", "submitted",
                                                         "delivered")}
    assert norm(sent["chain"]) == norm(sent["direct"]), json.dumps(sent, indent=1)[:3000]
    up = ch.wan.counters()["up"]
    if config in ("plain", "dummy"):
        assert up > att.stat().st_size  # the attachment crossed as the client wrote it
    else:
        assert up < att.stat().st_size / 2  # packed: this text compresses well
