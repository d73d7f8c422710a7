"""The stackable module system: loader, hook order, errors, read-ahead.

mapiproxy terminates authentication in front of mapiserver (so calls are
clear inside it) and loads modules from a directory the test fills:

* `dummy` (build/modules/dummy.so) and `dummy2`, the same source renamed
  and compiled here out of tree with only include/ (what a third party
  does): every hook runs, request hooks in configured order, response hooks
  in reverse; mapiclient's answers equal the direct ones;
* a wrong ABI, a shared object without the descriptor, a missing module, a
  module whose init() fails: the daemon refuses to start and says why;
  --list-modules names what the directory holds;
* a hook error faults that call only (impacket NSPI: the next call on the
  same connection works), or with `mapiproxy:module errors = relay` the
  call goes through untouched; a module answering with norelay;
* read-ahead: a module repeats a call N times before the client gets its
  answer (the server sees N + 1 calls, the module N responses).

Run:  /usr/bin/python3 -m pytest -q tests/system/test_modules.py
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from impacket.dcerpc.v5 import nspi, rpcrt, transport

from conftest import MAPIPROXY_BIN, REPO, SANITIZER_ENV, free_port, write_config
from mapi_env import NEED_BINARIES, PASSWORDS, client, mapiserver, ok, terminating  # noqa: F401

pytestmark = NEED_BINARIES

MODULES_BUILD = Path(MAPIPROXY_BIN).parent / "modules"  # the build tree's modules
SRC = Path(__file__).parent / "modules"
CC = shutil.which("cc") or "gcc"
PRIVACY = rpcrt.RPC_C_AUTHN_LEVEL_PKT_PRIVACY


def build_module(src: Path, out: Path, rename: str = None) -> Path:
    """Compile one module out of tree: the public header only."""
    text = src.read_text()
    if rename:
        text = text.replace('.name = "dummy"', f'.name = "{rename}"')
    c = out.parent / (out.stem + ".c")
    c.write_text(text)
    flags = ["-shared", "-fPIC", "-Wall", "-Werror", f"-I{REPO / 'include'}"]
    r = subprocess.run([CC, *flags, "-o", str(out), str(c)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture
def moddir(tmp_path):
    d = tmp_path / "modules"
    d.mkdir()
    shutil.copy(MODULES_BUILD / "dummy.so", d / "dummy.so")
    return d


@pytest.fixture
def srv(mapiserver):
    return mapiserver()


def nspi_session(port: int):
    t = transport.DCERPCTransportFactory(f"ncacn_ip_tcp:127.0.0.1[{port}]")
    t.set_connect_timeout(10)
    t.set_credentials("alice", PASSWORDS["alice"], "")
    d = t.get_dce_rpc()
    d.set_auth_level(PRIVACY)
    d.connect()
    d.bind(nspi.MSRPC_UUID_NSPI)
    return d


def hook_lines(log: str, call_marker: str):
    """(module, hook) in log order for lines about one call."""
    out = []
    for line in log.splitlines():
        m = re.search(r"module (dummy2?): .*?" + re.escape(call_marker) + r".*?: (\w+) \(", line)
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def test_dummy_pair_hook_order_and_identical_results(srv, mapiproxy, moddir):
    build_module(REPO / "modules" / "dummy.c", moddir / "dummy2.so", rename="dummy2")
    px = terminating(mapiproxy, srv, modules="dummy, dummy2",
                     options={"mapiproxy:modules dir": str(moddir), "dummy:tag": "outer"})
    direct = ok(client(f"127.0.0.1:{srv.port}", "folders"))
    via = ok(client(f"127.0.0.1:{px.port}", "folders"))
    assert via == direct
    assert ok(client(f"127.0.0.1:{px.port}", "resolve", "bob")) == \
        ok(client(f"127.0.0.1:{srv.port}", "resolve", "bob"))
    log = px.log_text()
    assert "module dummy: init tag=outer" in log
    # One EcDoRpcExt2 call seen by both modules, hooks in onion order.
    m = re.search(r"module dummy: \[outer\] (session \d+ call \d+) exchange_emsmdb EcDoRpcExt2", log)
    assert m, log[-3000:]
    order = hook_lines(log, m.group(1) + " exchange_emsmdb EcDoRpcExt2")
    assert order == [("dummy", "ndr_pull"), ("dummy2", "ndr_pull"),
                     ("dummy", "pull"), ("dummy2", "pull"),
                     ("dummy", "dispatch"), ("dummy2", "dispatch"),
                     ("dummy2", "ndr_push"), ("dummy", "ndr_push"),
                     ("dummy2", "push"), ("dummy", "push")], order
    assert re.search(r"module dummy2: unbind session \d+ after \d+ calls", log)
    assert px.stop() == 0
    assert "module dummy: fini after" in px.log_text()


def test_list_modules(moddir, tmp_path):
    build_module(SRC / "badabi.c", moddir / "badabi.so")
    conf = tmp_path / "m.conf"
    write_config(conf, {"dcerpc_mapiproxy:binding": "ncacn_ip_tcp:127.0.0.1",
                        "mapiproxy:auth required": "no",
                        "mapiproxy:modules dir": str(moddir)})
    r = subprocess.run([MAPIPROXY_BIN, "-c", str(conf), "--list-modules"], capture_output=True,
                       text=True, timeout=30, env={**os.environ, **SANITIZER_ENV})
    assert r.returncode == 0, r.stderr
    assert re.search(r"dummy\s+any\s+ABI 1\.\d+\s+sample module", r.stdout), r.stdout
    assert "badabi" in r.stdout and "refused" in r.stdout and "ABI 2.0" in r.stdout
    # Without -c: the build tree's own directory.
    r = subprocess.run([MAPIPROXY_BIN, "--list-modules"], capture_output=True, text=True,
                       timeout=30, env={**os.environ, **SANITIZER_ENV})
    assert r.returncode == 0 and str(MODULES_BUILD) in r.stdout and "dummy" in r.stdout


@pytest.mark.parametrize("case", ["badabi", "nosymbol", "missing", "refuse"])
def test_bad_module_refused_at_start(moddir, tmp_path, case):
    opts = {"dcerpc_mapiproxy:binding": "ncacn_ip_tcp:127.0.0.1[1]",
            "dcerpc_mapiproxy:interfaces": "exchange_nsp",
            "mapiproxy:listen": "127.0.0.1", "mapiproxy:port": str(free_port()), "mapiproxy:epm port": "0",
            "mapiproxy:modules dir": str(moddir), "mapiproxy:auth required": "no"}
    if case in ("badabi", "nosymbol"):
        build_module(SRC / f"{case}.c", moddir / f"{case}.so")
        opts["dcerpc_mapiproxy:modules"] = f"dummy, {case}"
        want = {"badabi": "built for module ABI 2.0", "nosymbol": "not a mapiproxy module"}[case]
    elif case == "missing":
        opts["dcerpc_mapiproxy:modules"] = "dummy, nosuch"
        want = "no module 'nosuch'"
    else:
        build_module(SRC / "failer.c", moddir / "failer.so")
        opts["dcerpc_mapiproxy:modules"] = "failer"
        opts["failer:hook"] = "refuse"
        want = "module 'failer' failed to start: failer:hook = refuse"
    conf = tmp_path / "m.conf"
    write_config(conf, opts)
    for extra in ([], ["--check-config"]):
        r = subprocess.run([MAPIPROXY_BIN, "-c", str(conf), *extra], capture_output=True,
                           text=True, timeout=30, env={**os.environ, **SANITIZER_ENV})
        assert r.returncode == 1, (extra, r.stdout, r.stderr)
        assert want in r.stderr, r.stderr


@pytest.mark.parametrize("hook", ["ndr_pull", "pull", "dispatch", "ndr_push", "push"])
def test_hook_error_faults_that_call_only(srv, mapiproxy, moddir, hook):
    build_module(SRC / "failer.c", moddir / "failer.so")
    px = terminating(mapiproxy, srv, modules="failer",
                     options={"mapiproxy:modules dir": str(moddir), "failer:hook": hook,
                              "failer:opnum": "3"})  # NspiQueryRows
    d = nspi_session(px.port)
    h = nspi.hNspiBind(d)["contextHandle"]
    with pytest.raises(rpcrt.DCERPCException) as e:
        nspi.hNspiQueryRows(d, h, pPropTags=[0x3001001F])
    assert "6be" in str(e.value).lower() or "call_failed" in str(e.value).lower(), str(e.value)
    # The same association goes on: other calls work.
    mids = nspi.hNspiDNToMId(d, h, ["/o=First Organization/ou=Exchange Administrative Group "
                                    "(FYDIBOHF23SPDLT)/cn=Recipients/cn=bob\0"])
    assert mids["ppOutMIds"]["cValues"] == 1
    nspi.hNspiUnbind(d, h)
    d.disconnect()
    assert px.wait_log(f"module failer: {hook} failed on exchange_nsp NspiQueryRows")


def test_hook_error_relays_untouched_when_configured(srv, mapiproxy, moddir):
    build_module(SRC / "failer.c", moddir / "failer.so")
    px = terminating(mapiproxy, srv, modules="failer",
                     options={"mapiproxy:modules dir": str(moddir), "failer:hook": "pull",
                              "failer:opnum": "3", "mapiproxy:module errors": "relay"})
    d = nspi_session(px.port)
    h = nspi.hNspiBind(d)["contextHandle"]
    rows = nspi.hNspiQueryRows(d, h, pPropTags=[0x3001001F], Count=50)
    assert rows["ppRows"]["cRows"] >= 2
    d.disconnect()
    assert px.wait_log("relaying the call untouched")


def test_norelay_answer(srv, mapiproxy, moddir):
    build_module(SRC / "failer.c", moddir / "failer.so")
    px = terminating(mapiproxy, srv, modules="failer",
                     options={"mapiproxy:modules dir": str(moddir), "failer:hook": "norelay",
                              "failer:opnum": "3", "failer:fault": str(0x1c010002)})
    d = nspi_session(px.port)
    h = nspi.hNspiBind(d)["contextHandle"]
    with pytest.raises(rpcrt.DCERPCException) as e:
        nspi.hNspiQueryRows(d, h, pPropTags=[0x3001001F])
    assert "op_rng_error" in str(e.value).lower() or "1c010002" in str(e.value).lower()
    d.disconnect()
    # The server saw the bind but never a QueryRows.
    slog = srv.p.log_text()
    assert re.search(r"exchange_nsp opnum 0: request", slog), slog[-2000:]
    assert not re.search(r"exchange_nsp opnum 3: request", slog)


def test_read_ahead(srv, mapiproxy, moddir):
    build_module(SRC / "aheadprobe.c", moddir / "aheadprobe.so")
    px = terminating(mapiproxy, srv, modules="aheadprobe",
                     options={"mapiproxy:modules dir": str(moddir), "aheadprobe:opnum": "3",
                              "aheadprobe:count": "4"})
    d = nspi_session(px.port)
    h = nspi.hNspiBind(d)["contextHandle"]
    rows = nspi.hNspiQueryRows(d, h, pPropTags=[0x3001001F], Count=50)
    assert rows["ppRows"]["cRows"] >= 2
    # A second call on the same session: read-ahead again, answers intact.
    rows2 = nspi.hNspiQueryRows(d, h, pPropTags=[0x3001001F], Count=50)
    assert rows2["ppRows"]["cRows"] == rows["ppRows"]["cRows"]
    d.disconnect()
    assert px.wait_log("read-ahead response")
    log = px.log_text()
    assert log.count("module aheadprobe: read-ahead response of NspiQueryRows") == 8, log[-4000:]
    # The server answered 2 + 8 NspiQueryRows.
    slog = srv.p.log_text()
    assert len(re.findall(r"exchange_nsp opnum 3: request", slog)) == 10, slog[-3000:]


def test_out_of_tree_build_with_installed_header_and_pkg_config(srv, mapiproxy, tmp_path):
    """What a third party does: install the header and .pc (meson's devel
    tag), compile dummy.c with pkg-config's flags, load the result."""
    build = Path(MAPIPROXY_BIN).parent
    dest = tmp_path / "dest"
    r = subprocess.run(["meson", "install", "-C", str(build), "--destdir", str(dest),
                        "--no-rebuild", "--tags", "devel"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    pcs = list(dest.rglob("mapiproxy-module.pc"))
    assert len(pcs) == 1
    env = {**os.environ, "PKG_CONFIG_PATH": str(pcs[0].parent),
           "PKG_CONFIG_SYSROOT_DIR": str(dest)}
    cflags = subprocess.run(["pkg-config", "--cflags", "mapiproxy-module"], env=env,
                            capture_output=True, text=True, check=True).stdout.split()
    assert any(f.startswith("-I" + str(dest)) for f in cflags), cflags
    assert subprocess.run(["pkg-config", "--variable=modulesdir", "mapiproxy-module"], env=env,
                          capture_output=True, text=True, check=True).stdout.strip()
    mods = tmp_path / "mods"
    mods.mkdir()
    src = mods / "dummy.c"
    src.write_text((REPO / "modules" / "dummy.c").read_text())
    r = subprocess.run([CC, "-shared", "-fPIC", "-Wall", "-Werror", *cflags, "-o",
                        str(mods / "dummy.so"), str(src)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    px = terminating(mapiproxy, srv, modules="dummy",
                     options={"mapiproxy:modules dir": str(mods)})
    assert ok(client(f"127.0.0.1:{px.port}", "whoami")) == \
        ok(client(f"127.0.0.1:{srv.port}", "whoami"))
    assert px.wait_log("exchange_nsp NspiBind: push")
