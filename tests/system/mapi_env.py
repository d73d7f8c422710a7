"""The embedded MAPI environment for system tests: a mapiserver store with
two users (alice, bob) on loopback ports, mapiclient runs, and a mapiproxy
that terminates authentication in front of it (so that modules see clear
calls). Shared by test_mapiclient.py and the module tests.

Processes are stopped by PID (the fixtures), ports are loopback only.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Dict, List

import pytest

from conftest import MAPIPROXY_BIN, REPO, SANITIZER_ENV, Proxy, free_port, wait_port, write_config

# Tools next to the mapiproxy under test (build/, build-asan/, ...).
MAPIPROXY_USER_BIN = str(Path(MAPIPROXY_BIN).parent / "mapiproxy-user")
MAPISERVER_BIN = os.environ.get("MAPISERVER_BIN", "build/mapiserver")
MAPICLIENT_BIN = os.environ.get("MAPICLIENT_BIN", "build/mapiclient")
if not os.path.isabs(MAPISERVER_BIN):
    MAPISERVER_BIN = str(REPO / MAPISERVER_BIN)
if not os.path.isabs(MAPICLIENT_BIN):
    MAPICLIENT_BIN = str(REPO / MAPICLIENT_BIN)

USERS = [("alice", "Alice-Pw-1!", "Alice Liddell"), ("bob", "Bob-Pw-2!", "Bob Builder")]
PASSWORDS = {u: p for u, p, _ in USERS}
ORG_DN = "/o=First Organization/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"

NEED_BINARIES = [
    pytest.mark.skipif(not os.path.exists(MAPISERVER_BIN), reason=f"{MAPISERVER_BIN} not built"),
    pytest.mark.skipif(not os.path.exists(MAPICLIENT_BIN), reason=f"{MAPICLIENT_BIN} not built"),
]

EML = b"""From: Bob Builder <bob@example.test>
To: Alice Liddell <alice@example.test>
Subject: Quarterly figures
Date: Tue, 24 Nov 2026 10:00:00 +0000
Message-ID: <q1@example.test>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="BB"

--BB
Content-Type: text/plain; charset=utf-8

Hi Alice,
the figures are attached.
--BB
Content-Type: application/octet-stream; name="figures.bin"
Content-Disposition: attachment; filename="figures.bin"
Content-Transfer-Encoding: base64

AAECAwQFBgcICf8=
--BB--
"""
ATTACHMENT = bytes(range(10)) + b"\xff"


def _env():
    env = dict(os.environ)
    env.update(SANITIZER_ENV)
    for k in ("MAPICLIENT_SERVER", "MAPICLIENT_USER", "MAPICLIENT_PASSWORD"):
        env.pop(k, None)
    return env


def admin(conf: Path, *args, stdin: str = "") -> subprocess.CompletedProcess:
    r = subprocess.run([MAPISERVER_BIN, args[0], "-c", str(conf), *args[1:]], input=stdin,
                       capture_output=True, text=True, timeout=60, env=_env())
    assert "ERROR: AddressSanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr
    assert r.returncode == 0, r.stderr
    return r


class Server:
    def __init__(self, proxy: Proxy, conf: Path):
        self.p = proxy
        self.conf = conf
        self.port = proxy.port
        self.epm = proxy.epm_port


@pytest.fixture
def mapiserver(tmp_path):
    started: List[Proxy] = []

    def start(options: Dict[str, str] = None) -> Server:
        wd = tmp_path / f"mapiserver{len(started) + 1}"
        wd.mkdir()
        port, epm = free_port(), free_port()
        log = wd / "mapiserver.log"
        conf = wd / "mapiserver.conf"
        write_config(conf, {
            "mapiserver:data dir": str(wd / "data"), "mapiserver:mail domain": "example.test",
            "mapiproxy:listen": "127.0.0.1", "mapiproxy:port": str(port),
            "mapiproxy:epm port": str(epm), "mapiproxy:log level": "debug",
            "mapiproxy:log file": str(log), "mapiproxy:drain timeout": "3", **(options or {})})
        for name, pw, display in USERS:
            admin(conf, "useradd", name, "--display-name", display, stdin=pw + "\n")
        err = wd / "stderr.txt"
        with open(err, "wb") as f:
            proc = subprocess.Popen([MAPISERVER_BIN, "-c", str(conf)], stdin=subprocess.DEVNULL,
                                    stdout=f, stderr=f, env=_env(), cwd=str(wd))
        px = Proxy(proc, wd, conf, log, err, "127.0.0.1", port, epm, {}, {})
        started.append(px)
        assert wait_port("127.0.0.1", port, 15, proc), err.read_text()
        assert wait_port("127.0.0.1", epm, 15, proc), err.read_text()
        return Server(px, conf)

    yield start
    problems = []
    for s in started:
        problems += s.problems()
    if problems:
        pytest.fail("mapiserver teardown:\n" + "\n".join(problems), pytrace=False)


def client(server: str, *args, user: str = "alice", password: str = None,
           level: str = None, timeout: float = 60) -> subprocess.CompletedProcess:
    env = _env()
    env["MAPICLIENT_PASSWORD"] = PASSWORDS.get(user, "") if password is None else password
    cmd = [MAPICLIENT_BIN, "--server", server, "--user", user, "--timeout", "15"]
    if level:
        cmd += ["--auth-level", level]
    r = subprocess.run(cmd + list(args), capture_output=True, timeout=timeout, env=env)
    err = r.stderr.decode(errors="replace")
    assert "ERROR: AddressSanitizer" not in err and "runtime error" not in err, err
    return r


def ok(r: subprocess.CompletedProcess) -> str:
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return r.stdout.decode()


def jsn(r: subprocess.CompletedProcess):
    return json.loads(ok(r))


@pytest.fixture
def srv(mapiserver):
    return mapiserver()


def direct(s: Server) -> str:
    return f"127.0.0.1:{s.port}"


def relay(mapiproxy, s: Server) -> str:
    px = mapiproxy(interfaces="exchange_emsmdb, exchange_async_emsmdb, exchange_nsp, "
                              "exchange_ds_rfr",
                   binding=f"ncacn_ip_tcp:127.0.0.1[{s.port}]",
                   options={"mapiproxy:auth passthrough": "yes"})
    return f"127.0.0.1:{px.port}"



def terminating(mapiproxy, s: Server, modules: str = "", options: Dict[str, str] = None,
                user: str = "alice", binding_flags: str = "seal", upstream_port: int = None,
                **kw) -> Proxy:
    """A mapiproxy in front of `s` that authenticates clients itself (a user
    db with `user`) and the server again as `user`, privacy on both legs:
    the calls are clear inside it, so `modules` see them. `upstream_port`:
    relay to that loopback port instead of s.port (another hop in front of
    `s`, as in test_multihop.py)."""
    db = Path(s.p.workdir).parent / f"proxy-users-{user}-{free_port()}.db"
    r = subprocess.run([MAPIPROXY_USER_BIN, "--db", str(db), "add", user],
                       input=PASSWORDS[user] + "\n", capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    opts = {"mapiproxy:user db": str(db), "mapiproxy:auth required": "yes",
            "dcerpc_mapiproxy:username": user, "dcerpc_mapiproxy:domain": "MAPI",
            "dcerpc_mapiproxy:password": PASSWORDS[user]}
    if modules:
        opts["dcerpc_mapiproxy:modules"] = modules
    opts.update(options or {})
    flags = f",{binding_flags}" if binding_flags else ""
    return mapiproxy(interfaces="exchange_emsmdb, exchange_async_emsmdb, exchange_nsp, "
                                "exchange_ds_rfr",
                     binding=f"ncacn_ip_tcp:127.0.0.1[{upstream_port or s.port}{flags}]",
                     options=opts, **kw)
