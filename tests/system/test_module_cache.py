"""The cache module (modules/cache): streams served from a local cache.

mapiserver holds alice's and bob's mail, imported from generated .eml files
with multi-MB attachments; mapiproxy terminates authentication in front of it
(so the module sees clear calls) with `cache` loaded, and mapiclient reads
attachments (get-attachment: RopOpenMessage, RopOpenAttachment, RopOpenStream,
then RopReadStream until the end, each in its own EcDoRpcExt2):

* scenario 1: the second read of an attachment is answered by the proxy (the
  server's log shows no RopReadStream for it), bytes identical (SHA-256);
* a message changed behind the proxy's back (an attachment added directly on
  the server) or through it is read from the server again;
* bob, through his own proxy on the same cache directory, gets his own
  attachment (same folder and message ids as alice's), never alice's;
* mpm_cache:max size evicts the least recently used stream;
* concurrent sessions reading the same attachment all get the right bytes;
* scenario 2: a remote proxy (ahead = true) in front of the server and a
  local proxy (sync = true, sync_cmd copies the remote's file) in front of
  the client: the remote reads the whole stream at the first RopReadStream,
  the local one copies the file with the command and plays it back;
* a client that mixes RopReadStream with other ROPs in one buffer reads the
  right bytes: those buffers go to the server, with a RopSeekStream in front
  that brings the server to the position the cache's answers left the
  client at (its answer taken out again);
* files and directories are created with private modes.

Messages are changed, and streams read in mixed ROP buffers, with
tests/system/tools/ropclient.c, a small MAPI client built here against the
build tree's client library (mapiclient neither edits messages nor mixes
ROPs in one buffer).

Run:  /usr/bin/python3 -m pytest -q tests/system/test_module_cache.py
"""

from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import json
import os
import random
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import MAPIPROXY_BIN, REPO, SANITIZER_ENV, free_port  # noqa: F401
from mapi_env import (MAPICLIENT_BIN, NEED_BINARIES, PASSWORDS, Server, _env, admin, client,  # noqa: F401
                      jsn, mapiserver, ok, terminating)

pytestmark = NEED_BINARIES

BUILD = Path(MAPIPROXY_BIN).parent
MODULES = BUILD / "modules"
CACHE_SO = MODULES / "cache.so"
HERE = Path(__file__).parent

if not CACHE_SO.exists():
    pytestmark = [*NEED_BINARIES, pytest.mark.skip(reason=f"{CACHE_SO} not built")]


def payload(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def eml(subject: str, name: str, data: bytes, msgid: str) -> bytes:
    b64 = base64.encodebytes(data).decode().replace("\n", "\r\n")
    return (f"From: Bob Builder <bob@example.test>\r\n"
            f"To: Alice Liddell <alice@example.test>\r\n"
            f"Subject: {subject}\r\n"
            f"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n"
            f"Message-ID: <{msgid}@example.test>\r\n"
            f"MIME-Version: 1.0\r\n"
            f"Content-Type: multipart/mixed; boundary=\"BB\"\r\n\r\n"
            f"--BB\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee attached.\r\n"
            f"--BB\r\nContent-Type: application/octet-stream; name=\"{name}\"\r\n"
            f"Content-Disposition: attachment; filename=\"{name}\"\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{b64}--BB--\r\n").encode()


def import_mail(srv: Server, tmp_path: Path, user: str, items) -> list:
    """Import (subject, data) messages for `user`; returns their ids, in order."""
    for i, (subject, data) in enumerate(items):
        f = tmp_path / f"{user}-{i}.eml"
        f.write_bytes(eml(subject, f"{subject}.bin", data, f"{user}{i}"))
        admin(srv.conf, "import", "--user", user, str(f))
    msgs = jsn(client(f"127.0.0.1:{srv.port}", "--json", "ls", user=user))["messages"]
    by_subject = {m["subject"]: m["id"] for m in msgs}
    return [by_subject[s] for s, _ in items]


def get(px_port: int, msgid: str, out: Path, user: str = "alice", num: int = 0) -> bytes:
    ok(client(f"127.0.0.1:{px_port}", "get-attachment", msgid, str(num), "-o", str(out),
              user=user, timeout=120))
    return out.read_bytes()


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def rops_served(srv: Server, name: str) -> int:
    """How many `name` ROPs the server answered so far (from its JSON dump)."""
    f = Path(srv.p.workdir) / "dump.jsonl"
    if not f.exists():
        return 0
    n = 0
    for line in f.read_text(errors="replace").splitlines():
        if f'"{name}"' not in line:
            continue
        try:
            bufs = json.loads(line)["call"]["request"]["EcDoRpcExt2"]["rops"]["buffers"]
        except (ValueError, KeyError, TypeError):
            continue
        n += sum(1 for b in bufs for r in b.get("RopsList", []) if r.get("RopId") == name)
    return n


def reads(srv: Server) -> int:
    return rops_served(srv, "RopReadStream")


def cache_proxy(mapiproxy, srv: Server, path: Path, user: str = "alice", **opts):
    options = {"mapiproxy:modules dir": str(MODULES), "mpm_cache:path": str(path)}
    options.update({f"mpm_cache:{k.replace('_', ' ') if k != 'sync_cmd' else k}": v
                    for k, v in opts.items()})
    return terminating(mapiproxy, srv, modules="cache", options=options, user=user)


@pytest.fixture
def srv(mapiserver, tmp_path):
    """A mapiserver that also writes its calls, with their ROPs, as JSON lines."""
    return mapiserver({"mpm_dump:json file": str(tmp_path / "mapiserver1" / "dump.jsonl"),
                       "mpm_dump:max bytes": "8"})


@pytest.fixture(scope="module")
def ropclient(tmp_path_factory) -> Path:
    """tests/system/tools/ropclient.c built against the build tree's libraries."""
    out = tmp_path_factory.mktemp("ropclient") / "ropclient"
    libs = [str(BUILD / f"lib{n}.a") for n in ("mpclient", "mpmapi", "mpauth", "mpcore")]
    cmd = [shutil.which("cc") or "gcc", "-o", str(out), f"-I{REPO / 'src'}",
           f"-I{REPO / 'include'}", str(HERE / "tools" / "ropclient.c"), *libs, "-ltalloc",
           "-lnettle"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:  # a sanitizer build: link its runtime too
        r = subprocess.run(cmd[:1] + ["-fsanitize=address,undefined"] + cmd[1:],
                           capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return out


def edit(ropclient: Path, port: int, *args, user: str = "alice") -> None:
    env = _env()
    env["MAPICLIENT_PASSWORD"] = PASSWORDS[user]
    r = subprocess.run([str(ropclient), f"127.0.0.1:{port}", user, *args], capture_output=True,
                       text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr


def test_second_read_from_cache(srv, mapiproxy, tmp_path):
    data = payload(1, 3 * 1024 * 1024 + 12345)
    [mid] = import_mail(srv, tmp_path, "alice", [("big", data)])
    cdir = tmp_path / "cache"
    px = cache_proxy(mapiproxy, srv, cdir)
    before = reads(srv)
    first = get(px.port, mid, tmp_path / "a1.bin")
    assert sha(first) == sha(data)
    after_first = reads(srv)
    assert after_first > before + 50, "the first read goes to the server"
    assert px.wait_log("cached data/")
    second = get(px.port, mid, tmp_path / "a2.bin")
    assert sha(second) == sha(data)
    assert reads(srv) == after_first, "the second read never reached the server"
    log = px.log_text()
    assert "answered from the cache" in log
    # One file under data/, with the stream's size and a private mode.
    files = [p for p in (cdir / "data").rglob("*.stream")]
    assert len(files) == 1 and files[0].stat().st_size == len(data)
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(cdir.stat().st_mode) == 0o700
    assert stat.S_IMODE((cdir / "index" / "data.mdb").stat().st_mode) == 0o600
    assert px.stop() == 0
    assert re.search(r"\d+ bytes in \d+ ROPs served from the cache; 1 streams cached",
                     px.log_text())


def test_changed_message_is_read_again(srv, mapiproxy, tmp_path, ropclient):
    old = payload(2, 1024 * 1024 + 7)
    new = payload(3, len(old))  # the same size: only the change stamp tells
    [mid] = import_mail(srv, tmp_path, "alice", [("changing", old)])
    px = cache_proxy(mapiproxy, srv, tmp_path / "cache")
    assert get(px.port, mid, tmp_path / "1.bin") == old
    n = reads(srv)
    assert get(px.port, mid, tmp_path / "2.bin") == old
    assert reads(srv) == n
    # Changed on the server, not through the proxy.
    fresh = tmp_path / "fresh.bin"
    fresh.write_bytes(new)
    edit(ropclient, srv.port, "replace", mid, "0", str(fresh))
    assert get(px.port, mid, tmp_path / "3.bin") == new
    assert reads(srv) > n + 10, "read from the server again"
    assert "changed on the server since it was cached" in px.log_text()
    n = reads(srv)
    assert get(px.port, mid, tmp_path / "4.bin") == new
    assert reads(srv) == n, "the new version is cached"
    # Changed through the proxy: the save itself drops the entry.
    extra = tmp_path / "extra.txt"
    extra.write_bytes(b"one more attachment\n")
    edit(ropclient, px.port, "add", mid, str(extra))
    assert get(px.port, mid, tmp_path / "5.bin") == new
    assert reads(srv) > n + 10
    assert px.stop() == 0
    m = re.search(r"(\d+) invalidations", px.log_text())
    assert m and int(m.group(1)) >= 2, px.log_text()[-2000:]


def test_other_user_never_gets_alices_stream(srv, mapiproxy, tmp_path):
    a_data, b_data = payload(4, 700000), payload(5, 700000)
    [a_mid] = import_mail(srv, tmp_path, "alice", [("mine", a_data)])
    [b_mid] = import_mail(srv, tmp_path, "bob", [("mine", b_data)])
    cdir = tmp_path / "cache"  # one directory, two proxies: one index
    pa = cache_proxy(mapiproxy, srv, cdir, user="alice")
    pb = cache_proxy(mapiproxy, srv, cdir, user="bob")
    assert get(pa.port, a_mid, tmp_path / "a1.bin") == a_data
    assert pa.wait_log("cached data/")
    assert get(pa.port, a_mid, tmp_path / "a2.bin") == a_data
    n = reads(srv)
    assert get(pb.port, b_mid, tmp_path / "b1.bin", user="bob") == b_data
    assert reads(srv) > n, "bob's stream came from the server"
    n = reads(srv)
    assert get(pb.port, b_mid, tmp_path / "b2.bin", user="bob") == b_data
    assert reads(srv) == n, "bob's own stream is cached for him"
    assert get(pa.port, a_mid, tmp_path / "a3.bin") == a_data
    # Two mailboxes, two files.
    assert len({p.parent.parent.name for p in (cdir / "data").rglob("*.stream")}) == 2
    if a_mid != b_mid:
        # bob cannot open alice's message: the server says no, the cache is not asked.
        r = client(f"127.0.0.1:{pb.port}", "get-attachment", a_mid, "0", "-o",
                   str(tmp_path / "x.bin"), user="bob")
        assert r.returncode != 0


def test_max_size_evicts_least_recently_used(srv, mapiproxy, tmp_path):
    d = [payload(10 + i, 2 * 1024 * 1024 - 4321) for i in range(3)]
    mids = import_mail(srv, tmp_path, "alice", [(f"m{i}", d[i]) for i in range(3)])
    cdir = tmp_path / "cache"
    px = cache_proxy(mapiproxy, srv, cdir, max_size="5M")
    for i in (0, 1):
        assert get(px.port, mids[i], tmp_path / f"f{i}.bin") == d[i]
    n = reads(srv)
    assert get(px.port, mids[0], tmp_path / "again0.bin") == d[0]  # m0 used again
    assert reads(srv) == n
    assert get(px.port, mids[2], tmp_path / "f2.bin") == d[2]  # evicts m1, the oldest use
    files = list((cdir / "data").rglob("*.stream"))
    assert len(files) == 2 and sum(f.stat().st_size for f in files) <= 5 * 1024 * 1024
    n = reads(srv)
    assert get(px.port, mids[0], tmp_path / "again0b.bin") == d[0]
    assert reads(srv) == n, "m0 stayed"
    assert get(px.port, mids[1], tmp_path / "again1.bin") == d[1]
    assert reads(srv) > n, "m1 was evicted"


def test_concurrent_sessions_read_the_same_attachment(srv, mapiproxy, tmp_path):
    data = payload(20, 1536 * 1024 + 3)
    [mid] = import_mail(srv, tmp_path, "alice", [("shared", data)])
    px = cache_proxy(mapiproxy, srv, tmp_path / "cache")

    def one(i):
        return sha(get(px.port, mid, tmp_path / f"c{i}.bin"))

    with concurrent.futures.ThreadPoolExecutor(6) as ex:  # cold: all copy at once
        assert set(ex.map(one, range(6))) == {sha(data)}
    n = reads(srv)
    with concurrent.futures.ThreadPoolExecutor(6) as ex:  # warm: all from the cache
        assert set(ex.map(one, range(6, 12))) == {sha(data)}
    assert reads(srv) == n
    assert len(list((tmp_path / "cache" / "data").rglob("*.stream"))) == 1
    assert not list((tmp_path / "cache" / "data").rglob("*.tmp.*"))


def test_mixed_buffers_read_right(srv, mapiproxy, tmp_path, ropclient):
    data = payload(40, 900000 + 77)
    [mid] = import_mail(srv, tmp_path, "alice", [("mixed", data)])
    px = cache_proxy(mapiproxy, srv, tmp_path / "cache")
    cold, warm = tmp_path / "cold.bin", tmp_path / "warm.bin"
    edit(ropclient, px.port, "read", mid, "0", str(cold))
    assert cold.read_bytes() == data
    assert Path(str(cold) + ".part").read_bytes() == data[len(data) // 2:len(data) // 2 + 4096]
    assert px.wait_log("cached data/")
    n = reads(srv)
    edit(ropclient, px.port, "read", mid, "0", str(warm))
    assert warm.read_bytes() == data
    assert Path(str(warm) + ".part").read_bytes() == data[len(data) // 2:len(data) // 2 + 4096]
    # The lone reads were answered here, the mixed ones went to the server
    # behind a realigning seek: about half of the reads, plus the one after
    # the seek.
    chunks = len(data) // 0x4000
    assert 0 < reads(srv) - n <= chunks // 2 + 3, (reads(srv) - n, chunks)
    assert rops_served(srv, "RopSeekStream") >= chunks // 2  # ours, in front


class Hop:
    """A proxy standing in for the server of terminating()."""

    def __init__(self, px):
        self.p = px
        self.port = px.port


@pytest.mark.parametrize("form", ["tmpfile", "file"])
def test_scenario_two_remote_ahead_local_sync(srv, mapiproxy, tmp_path, form):
    data = payload(30, 4 * 1024 * 1024 + 99)
    [mid] = import_mail(srv, tmp_path, "alice", [("far away", data)])
    rdir, ldir = tmp_path / "remote-cache", tmp_path / "local-cache"
    remote = cache_proxy(mapiproxy, srv, rdir, ahead="true")
    # __TMPFILE__ (renamed into place), or the original's form writing __FILE__.
    dest = "__TMPFILE__" if form == "tmpfile" else "__FILE__"
    local = cache_proxy(mapiproxy, Hop(remote), ldir, sync="true",
                        sync_cmd=f"/bin/cp {rdir}/__NAME__ {dest}")
    assert get(local.port, mid, tmp_path / "1.bin") == data
    # The remote read it all at the first RopReadStream and cached it...
    assert "reads ahead" in remote.log_text()
    assert remote.wait_log("cached data/")
    # ...and the local proxy copied that file with the command.
    assert local.wait_log("done in", timeout=30), local.log_text()[-3000:]
    files = list((ldir / "data").rglob("*.stream"))
    assert len(files) == 1 and files[0].read_bytes() == data
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert not [p for p in (ldir / "data").rglob("*") if ".tmp." in p.name or ".err." in p.name]
    n, remote_answers = reads(srv), remote.log_text().count("answered from the cache")
    assert get(local.port, mid, tmp_path / "2.bin") == data
    assert reads(srv) == n
    assert remote.log_text().count("answered from the cache") == remote_answers, \
        "the local proxy played it back alone"
    assert local.log_text().count("answered from the cache") > 50


def test_scenario_two_concurrent_readers_one_sync(srv, mapiproxy, tmp_path):
    data = payload(32, 2 * 1024 * 1024 + 3)
    [mid] = import_mail(srv, tmp_path, "alice", [("popular", data)])
    rdir = tmp_path / "remote-cache"
    remote = cache_proxy(mapiproxy, srv, rdir, ahead="true")
    local = cache_proxy(mapiproxy, Hop(remote), tmp_path / "local-cache", sync="true",
                        sync_cmd=f"/bin/cp {rdir}/__NAME__ __TMPFILE__")

    def one(i):
        return sha(get(local.port, mid, tmp_path / f"c{i}.bin"))

    with concurrent.futures.ThreadPoolExecutor(5) as ex:
        assert set(ex.map(one, range(5))) == {sha(data)}
    assert local.wait_log("done in", timeout=30)
    # One stream, one command, however many sessions asked at once.
    assert len(re.findall(r"sync of data/\S+: /bin/cp", local.log_text())) == 1
    assert len(re.findall(r"cached data/", remote.log_text())) == 1


def test_sync_timeout_and_stop(srv, mapiproxy, tmp_path):
    data = payload(33, 700000)
    [mid] = import_mail(srv, tmp_path, "alice", [("slow", data)])
    remote = cache_proxy(mapiproxy, srv, tmp_path / "remote-cache", ahead="true")
    ldir = tmp_path / "local-cache"
    local = cache_proxy(mapiproxy, Hop(remote), ldir, sync="true", sync_cmd="/bin/sleep 30",
                        sync_timeout="1")
    assert get(local.port, mid, tmp_path / "1.bin") == data  # never waits for the command
    assert local.wait_log("killed after 1 s", timeout=15), local.log_text()[-2000:]
    # A command still running when the proxy stops is stopped with it.
    other = cache_proxy(mapiproxy, Hop(remote), tmp_path / "other-cache", sync="true",
                        sync_cmd="/bin/sleep 30")
    assert get(other.port, mid, tmp_path / "2.bin") == data
    m = re.search(r"sync of \S+: /bin/sleep \(pid (\d+)\)", other.log_text())
    assert m, other.log_text()[-2000:]
    assert other.stop(timeout=10) == 0
    assert not Path(f"/proc/{m.group(1)}").exists() or \
        "zombie" in Path(f"/proc/{m.group(1)}/status").read_text().lower()
    assert not list((tmp_path / "other-cache" / "data").rglob("*.stream"))


def test_scenario_two_failing_sync_still_reads(srv, mapiproxy, tmp_path):
    data = payload(31, 900000)
    [mid] = import_mail(srv, tmp_path, "alice", [("no sync", data)])
    rdir = tmp_path / "remote-cache"
    remote = cache_proxy(mapiproxy, srv, rdir, ahead="true")
    local = cache_proxy(mapiproxy, Hop(remote), tmp_path / "local-cache", sync="true",
                        sync_cmd="/bin/sh -c 'echo no route to remote >&2; exit 3'")
    assert get(local.port, mid, tmp_path / "1.bin") == data
    assert local.wait_log("failed (exit status 3): no route to remote", timeout=30)
    assert get(local.port, mid, tmp_path / "2.bin") == data


def test_bad_configuration_is_refused(tmp_path):
    from conftest import write_config
    base = {"dcerpc_mapiproxy:binding": "ncacn_ip_tcp:127.0.0.1[1]",
            "dcerpc_mapiproxy:interfaces": "exchange_emsmdb",
            "mapiproxy:listen": "127.0.0.1", "mapiproxy:port": str(free_port()),
            "mapiproxy:epm port": "0", "mapiproxy:auth required": "no",
            "mapiproxy:modules dir": str(MODULES), "dcerpc_mapiproxy:modules": "cache"}
    cases = [({}, "mpm_cache:path is not set"),
             ({"mpm_cache:path": str(tmp_path / "c"), "mpm_cache:ahead": "yes",
               "mpm_cache:sync": "yes", "mpm_cache:sync_cmd": "/bin/true"},
              "exclude each other"),
             ({"mpm_cache:path": str(tmp_path / "c"), "mpm_cache:sync": "yes"},
              "needs mpm_cache:sync_cmd"),
             ({"mpm_cache:path": str(tmp_path / "c"), "mpm_cache:file mode": "rw"},
              "expected an octal mode"),
             ({"mpm_cache:path": "/proc/no/such/dir"}, "cannot make the cache directory")]
    for extra, want in cases:
        conf = tmp_path / "m.conf"
        write_config(conf, {**base, **extra})
        r = subprocess.run([MAPIPROXY_BIN, "-c", str(conf), "--check-config"],
                           capture_output=True, text=True, timeout=30,
                           env={**os.environ, **SANITIZER_ENV})
        assert r.returncode == 1 and want in r.stderr, (extra, r.stderr)
