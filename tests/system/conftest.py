"""Fixtures for the mapiproxy system tests.

* ``samba_dc``   session-scoped throwaway Samba AD DC on 127.0.0.2 (samba_dc.py;
  another free 127.0.0.x if that one's port 135 is taken).
* ``mapiproxy``  factory: ``px = mapiproxy(interfaces="samr", options={...})``
  writes a config into tmp_path, starts $MAPIPROXY_BIN (default
  build/mapiproxy), waits until its ports accept and returns a
  :class:`Proxy`.  On teardown every proxy still running is stopped by PID
  (SIGTERM, then SIGKILL) and the test FAILS if a proxy crashed, exited on
  its own, did not stop on SIGTERM, exited non-zero, or its log/stderr
  holds a sanitizer report.
* ``fake_upstream`` factory for fake_upstream.FakeUpstream servers.
* ``many_users``  session-scoped: creates test users on the DC (as
  Administrator, directly) so samr enumerations exceed one fragment.

Run:  /usr/bin/python3 -m pytest -q tests/system
      MAPIPROXY_BIN=build-asan/mapiproxy /usr/bin/python3 -m pytest -q tests/system
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from samba_dc import (ADMIN_PASSWORD, DOMAIN, SambaDC, ensure_loopback_ip, free_ip,  # noqa: E402
                      port_open)

REPO = HERE.parent.parent
MAPIPROXY_BIN = os.environ.get("MAPIPROXY_BIN", "build/mapiproxy")
if not os.path.isabs(MAPIPROXY_BIN):
    MAPIPROXY_BIN = str(REPO / MAPIPROXY_BIN)

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer",
                     "AddressSanitizer:DEADLYSIGNAL")
SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}


def _samba_ip() -> str:
    return free_ip(2)


@pytest.fixture(scope="session")
def samba_dc(tmp_path_factory):
    """A started SambaDC (see samba_dc.py), shared by the whole run."""
    dc = SambaDC(ip=_samba_ip(), base_dir=str(tmp_path_factory.mktemp("samba")))
    dc.start()
    try:
        yield dc
    finally:
        dc.stop()


# --------------------------------------------------------------------------
# ports
# --------------------------------------------------------------------------

_next_port = [20000 + (os.getpid() * 37) % 9000]


def free_port(ip: str = "127.0.0.1") -> int:
    """A TCP port free on ip, below the ephemeral range (so client sockets
    never grab it between this check and the proxy's bind)."""
    for _ in range(500):  # bounded
        port = _next_port[0]
        _next_port[0] = 20000 + (_next_port[0] - 20000 + 1) % 12000
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((ip, port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port")


def wait_port(ip: str, port: int, timeout: float, proc: Optional[subprocess.Popen] = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection((ip, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.02)
    return False


# --------------------------------------------------------------------------
# the daemon under test
# --------------------------------------------------------------------------

class Proxy:
    """One running mapiproxy."""

    def __init__(self, proc: subprocess.Popen, workdir: Path, conf_path: Path, log_path: Optional[Path],
                 stderr_path: Path, listen: str, port: int, epm_port: int,
                 iface_ports: Dict[str, int], options: Dict[str, str]):
        self.proc = proc
        self.pid = proc.pid
        self.workdir = workdir
        self.conf_path = conf_path
        self.log_path = log_path
        self.stderr_path = stderr_path
        self.listen = listen
        self.port = port
        self.epm_port = epm_port
        self.iface_ports = iface_ports
        self.options = options
        self.reaped = False        # the test collected the exit code itself
        self.signals_sent: List[int] = []

    # -- output --------------------------------------------------------------
    def stderr_text(self) -> str:
        with contextlib.suppress(FileNotFoundError):
            return self.stderr_path.read_text(errors="replace")
        return ""

    def log_text(self) -> str:
        """The daemon's log (its log file, or stderr when it logs there)."""
        if self.log_path is None:
            return self.stderr_text()
        with contextlib.suppress(FileNotFoundError):
            return self.log_path.read_text(errors="replace")
        return ""

    def wait_log(self, needle: str, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.log_text():
                return True
            time.sleep(0.05)
        return needle in self.log_text()

    # -- process -------------------------------------------------------------
    def running(self) -> bool:
        return self.proc.poll() is None

    def send_signal(self, sig: int) -> None:
        self.signals_sent.append(sig)
        os.kill(self.pid, sig)

    def wait(self, timeout: float) -> Optional[int]:
        """Exit code, or None if still running after timeout."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        self.reaped = True
        return rc

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> Optional[int]:
        """Send sig (by PID) and wait; returns the exit code (None: still running)."""
        if self.proc.poll() is None:
            self.send_signal(sig)
        return self.wait(timeout)

    def rss_kb(self) -> int:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def binding(self, port: Optional[int] = None) -> str:
        return f"ncacn_ip_tcp:{self.listen}[{port or self.port}]"

    def problems(self) -> List[str]:
        """Run on teardown: stop the daemon and list what went wrong."""
        out = []
        if self.proc.poll() is None:
            self.send_signal(signal.SIGTERM)
            drain = int(self.options.get("mapiproxy:drain timeout", "10"))
            try:
                rc = self.proc.wait(timeout=drain + 15)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
                out.append(f"pid {self.pid} did not exit within {drain + 15}s of SIGTERM "
                           "(killed with SIGKILL)")
                rc = None
            if rc is not None and rc != 0:
                out.append(f"pid {self.pid} exited {rc} after SIGTERM (expected 0)")
        else:
            rc = self.proc.returncode
            if not self.reaped:
                out.append(f"pid {self.pid} exited on its own during the test (rc={rc})")
        if rc is not None and rc < 0 and -rc not in self.signals_sent:
            out.append(f"pid {self.pid} died of signal {-rc} ({signal.Signals(-rc).name})")
        for name, text in (("stderr", self.stderr_text()), ("log", self.log_text())):
            for m in SANITIZER_MARKERS:
                if m in text:
                    i = text.find(m)
                    out.append(f"{name} holds a sanitizer report ({m}):\n"
                               f"{text[max(0, i - 200):i + 3000]}")
                    break
        return out


def write_config(path: Path, lines: Dict[str, str]) -> None:
    text = "[global]\n" + "".join(f"\t{k} = {v}\n" for k, v in lines.items())
    path.write_text(text)


@pytest.fixture
def mapiproxy(request, tmp_path):
    """Factory starting mapiproxy daemons; see the module docstring."""
    started: List[Proxy] = []
    counter = [0]

    def start(interfaces: str = "samr, lsarpc_ds", binding: Optional[str] = None,
              listen: str = "127.0.0.1", port: Optional[int] = None,
              epm_port: Optional[int] = None, iface_ports: Optional[Dict[str, int]] = None,
              options: Optional[Dict[str, str]] = None, log_file: bool = True,
              log_level: str = "debug", wait: bool = True, args: tuple = (),
              ready_timeout: float = 15.0) -> Proxy:
        ensure_loopback_ip(listen)
        if binding is None:
            dc = request.getfixturevalue("samba_dc")
            binding = f"ncacn_ip_tcp:{dc.ip}"
        counter[0] += 1
        wd = tmp_path / f"mapiproxy{counter[0]}"
        wd.mkdir()
        port = port or free_port(listen)
        epm_port = free_port(listen) if epm_port is None else epm_port
        iface_ports = dict(iface_ports or {})
        conf: Dict[str, str] = {
            "dcerpc_mapiproxy:binding": binding,
            "dcerpc_mapiproxy:interfaces": interfaces,
            "mapiproxy:listen": listen,
            "mapiproxy:port": str(port),
            "mapiproxy:epm port": str(epm_port),
            "mapiproxy:log level": log_level,
            "mapiproxy:drain timeout": "3",
            "mapiproxy:auth required": "no",
            "mapiproxy:io timeout": "10",
        }
        if iface_ports:
            conf["mapiproxy:interface ports"] = ", ".join(f"{k}={v}" for k, v in iface_ports.items())
        log_path = wd / "mapiproxy.log" if log_file else None
        if log_path:
            conf["mapiproxy:log file"] = str(log_path)
        conf.update(options or {})
        if not binding:  # binding="" : no upstream at all (server mode)
            del conf["dcerpc_mapiproxy:binding"]
        conf_path = wd / "mapiproxy.conf"
        write_config(conf_path, conf)
        stderr_path = wd / "stderr.txt"
        env = dict(os.environ)
        env.update(SANITIZER_ENV)
        with open(stderr_path, "wb") as err:
            proc = subprocess.Popen([MAPIPROXY_BIN, "-c", str(conf_path), *args],
                                    stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                    env=env, cwd=str(wd))
        px = Proxy(proc, wd, conf_path, log_path, stderr_path, listen, port, epm_port,
                   iface_ports, conf)
        started.append(px)
        if wait:
            ports = [port] + ([epm_port] if epm_port else []) + list(iface_ports.values())
            for p in ports:
                if not wait_port(listen, p, ready_timeout, proc):
                    raise AssertionError(
                        f"mapiproxy not accepting on {listen}:{p} "
                        f"(rc={proc.poll()})\n--- stderr ---\n{px.stderr_text()[-4000:]}"
                        f"\n--- log ---\n{px.log_text()[-4000:]}")
        return px

    yield start

    problems = []
    for px in started:
        problems += px.problems()
    if problems:
        pytest.fail("mapiproxy teardown:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def fake_upstream():
    """Factory: fake_upstream(**kw) -> started FakeUpstream, stopped on teardown."""
    from fake_upstream import FakeUpstream
    made = []

    def make(**kw):
        f = FakeUpstream(**kw).start()
        made.append(f)
        return f

    yield make
    for f in made:
        f.stop()


# --------------------------------------------------------------------------
# Samba data
# --------------------------------------------------------------------------

N_USERS = 120


@pytest.fixture(scope="session")
def many_users(samba_dc):
    """Create N_USERS users (mpuser000...) as Administrator, directly on the DC,
    so that EnumerateUsersInDomain / QueryDisplayInformation answers exceed
    several fragments. Returns the user names."""
    from impacket.dcerpc.v5 import samr, transport
    from impacket.dcerpc.v5.rpcrt import RPC_C_AUTHN_LEVEL_PKT_PRIVACY, RPC_C_AUTHN_WINNT

    t = transport.DCERPCTransportFactory(samba_dc.string_binding("samr"))
    t.set_credentials(samba_dc.admin_user, ADMIN_PASSWORD, DOMAIN)
    t.set_connect_timeout(10)
    d = t.get_dce_rpc()
    d.set_auth_type(RPC_C_AUTHN_WINNT)
    d.set_auth_level(RPC_C_AUTHN_LEVEL_PKT_PRIVACY)
    d.connect()
    names = [f"mpuser{i:03d}" for i in range(N_USERS)]
    try:
        d.bind(samr.MSRPC_UUID_SAMR)
        h = samr.hSamrConnect(d)["ServerHandle"]
        sid = samr.hSamrLookupDomainInSamServer(d, h, DOMAIN)["DomainId"]
        dh = samr.hSamrOpenDomain(d, h, domainId=sid)["DomainHandle"]
        for n in names:
            try:
                r = samr.hSamrCreateUser2InDomain(d, dh, n, samr.USER_NORMAL_ACCOUNT,
                                                  samr.USER_ALL_ACCESS)
                samr.hSamrCloseHandle(d, r["UserHandle"])
            except samr.DCERPCSessionError as e:
                if e.get_error_code() != 0xC0000063:  # STATUS_USER_EXISTS
                    raise
    finally:
        with contextlib.suppress(Exception):
            d.disconnect()
    return names
