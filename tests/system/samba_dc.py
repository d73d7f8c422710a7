"""Throwaway Samba AD DC used as the DCE/RPC upstream for mapiproxy system tests.

Usage (plain)::

    from samba_dc import SambaDC

    with SambaDC(ip="127.0.0.2") as dc:
        dc.ip                      # "127.0.0.2"
        dc.admin_user              # "Administrator"
        dc.admin_password          # fixed strong test password
        dc.domain, dc.realm        # "MAPI", "MAPI.TEST"
        dc.endpoints               # [(uuid, "maj.min", protocol, endpoint), ...] from epm
        dc.tcp_port("samr")        # dynamic TCP port of samr (name or UUID)
        dc.log_path                # samba stdout/stderr (-i logs to stdout)

Usage (pytest, in conftest.py)::

    from samba_dc import make_samba_fixture
    samba_dc = make_samba_fixture()            # session-scoped fixture "samba_dc"

Design notes
------------
* Provisioning (~5 s) is done once into a cached *template* directory
  ``/tmp/mapiproxy-samba-template-<uid>/<key>`` (key = samba version +
  realm/domain/host/password), guarded by an flock so parallel workers do not
  race.  Each instance copies the template (≈33 MB, well under a second) and
  rewrites the only file holding absolute paths, ``etc/smb.conf``.  Delete the
  template directory to force a re-provision.
* Everything (pid/lock/state/cache/private/ncalrpc/winbindd/ntp_signd dirs,
  usershares, log file) lives under the instance directory; the system
  ``/etc/samba/smb.conf`` is not read (provision runs with an empty ``-s``
  file) and nothing is written to /etc, /var/lib/samba, /run/samba.
* Only the ``rpc`` server service runs (no smbd/s3fs, nbt, ldap, cldap, kdc,
  winbindd, dns, ...), bound to ``ip`` only (``bind interfaces only``).
  Listening sockets: ip:135 (epmapper) plus three dynamic ports in
  49152-65535 (netlogon; lsarpc+dssetup+drsuapi+backupkey+...; samr+wkssvc).
  NTLM auth against the local SAM works without winbindd/kdc.  Interfaces
  are only bindable on their own port (bind elsewhere -> bind_ack result 2
  reason 1); the grouping changes with ``extra_options`` (e.g.
  ``{"rpc server port": "49200"}`` puts everything but netlogon on 49152 and
  netlogon on 49200).  Always use :meth:`SambaDC.tcp_port`.
* Samba refuses LSA OpenPolicy2 over ncacn_ip_tcp by design (fault
  0x00000005 whatever the auth, so no policy handle and no LookupNames);
  LookupNames4 needs schannel (also 0x00000005 otherwise).  dssetup on the
  lsarpc port works anonymously.  Use samr for tests.  samr works with no auth at all and with NTLM at PKT_INTEGRITY /
  PKT_PRIVACY, but every request at auth level CONNECT faults 0x00000005.
* samba runs in the foreground as a single process: ``samba -i -M single
  -s smb.conf --maximum-runtime=N``, stdin = a pipe from this process
  (``samba -i`` terminates on EOF on stdin, so it dies with the test
  process; N is a second safety net).  stop(): SIGTERM by PID, wait 10 s,
  SIGKILL.
* Readiness = TCP connect to ip:135 succeeds AND an epm ``ept_lookup`` returns
  entries.  NB: impacket's ``epm.hept_lookup`` raises against Samba 4.17
  (Samba returns all entries plus a non-null handle, then answers the
  follow-up call with ``ept_s_not_registered`` 0x16c9a0d6); use
  :func:`epm_lookup` from this module instead.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from typing import List, Optional, Tuple

ADMIN_PASSWORD = "Mapi-Proxy-Test-Pw1!"
REALM = "MAPI.TEST"
DOMAIN = "MAPI"
HOSTNAME = "MAPIDC"

SAMBA = shutil.which("samba", path="/usr/sbin:/usr/bin:/sbin:/bin") or "/usr/sbin/samba"
SAMBA_TOOL = shutil.which("samba-tool", path="/usr/bin:/usr/sbin") or "/usr/bin/samba-tool"

# Interface names/UUIDs commonly needed by tests (lowercase UUIDs).
KNOWN_IFACES = {
    "epmapper": "e1af8308-5d1f-11c9-91a4-08002b14a0fa",
    "lsarpc": "12345778-1234-abcd-ef00-0123456789ab",
    "samr": "12345778-1234-abcd-ef00-0123456789ac",
    "netlogon": "12345678-1234-abcd-ef00-01234567cffb",
    "drsuapi": "e3514235-4b06-11d1-ab04-00c04fc2dcd2",
    "dssetup": "3919286a-b10c-11d0-9ba8-00c04fd92ef5",
    "wkssvc": "6bffd098-a112-3610-9833-46c3f87e345a",
    "mgmt": "afa8bd80-7d8a-11c9-bef4-08002b102989",
}

EPT_S_NOT_REGISTERED = 0x16C9A0D6


class SambaDCError(RuntimeError):
    pass


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def _samba_version() -> str:
    try:
        out = subprocess.run([SAMBA, "-V"], capture_output=True, text=True, timeout=30)
        return out.stdout.strip()
    except Exception:  # pragma: no cover
        return "unknown"


def ensure_loopback_ip(ip: str) -> None:
    """``ip addr add IP/32 dev lo``; an already present address is fine."""
    if ip == "127.0.0.1":
        return
    show = subprocess.run(["ip", "-o", "-4", "addr", "show", "dev", "lo"],
                          capture_output=True, text=True, timeout=30)
    if f" {ip}/" in show.stdout:
        return
    res = subprocess.run(["ip", "addr", "add", f"{ip}/32", "dev", "lo"],
                         capture_output=True, text=True, timeout=30)
    if res.returncode == 0:
        return
    msg = (res.stderr + res.stdout).strip()
    # iproute2 wording differs between versions.
    if "File exists" in msg or "already assigned" in msg:
        return
    raise SambaDCError(f"ip addr add {ip}/32 dev lo failed: {msg}")


def _session_members(sid: int, pids=None) -> List[int]:
    """PIDs (other than *sid*) whose session id is *sid*."""
    out = []
    for name in (pids if pids is not None else os.listdir("/proc")):
        name = str(name)
        if not name.isdigit() or int(name) == sid:
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        # fields[0]=state, [1]=ppid, [2]=pgrp, [3]=session
        if len(fields) > 3 and int(fields[3]) == sid and fields[0] != "Z":
            out.append(int(name))
    return out


def port_open(ip: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=timeout):
            return True
    except OSError:
        return False


def epm_lookup(ip: str, port: int = 135, timeout: float = 5.0) -> List[Tuple[str, str, str, str]]:
    """Anonymous ept_lookup over ncacn_ip_tcp:ip[port].

    Returns [(uuid_lower, "maj.min", protocol, endpoint)], e.g.
    ("12345778-1234-abcd-ef00-0123456789ac", "1.0", "ncacn_ip_tcp", "49154").
    Tolerates Samba's end-of-list ``ept_s_not_registered``.
    """
    from impacket.dcerpc.v5 import epm, transport

    t = transport.DCERPCTransportFactory(f"ncacn_ip_tcp:{ip}[{port}]")
    t.set_connect_timeout(timeout)
    dce = t.get_dce_rpc()
    dce.connect()
    try:
        dce.bind(epm.MSRPC_UUID_PORTMAP)
        handle = epm.ept_lookup_handle_t()
        result = []
        for _ in range(64):  # bounded
            req = epm.ept_lookup()
            req["inquiry_type"] = epm.RPC_C_EP_ALL_ELTS
            req["object"] = epm.NULL
            req["Ifid"] = epm.NULL
            req["vers_option"] = epm.RPC_C_VERS_ALL
            req["entry_handle"] = handle
            req["max_ents"] = 500
            resp = dce.request(req, checkError=False)
            status = resp["status"]
            for i in range(resp["num_ents"]):
                ent = resp["entries"][i]
                tower = epm.EPMTower(b"".join(ent["tower"]["tower_octet_string"]))
                floors = tower["Floors"]
                uu, ver = str(floors[0]).split(" v")  # "UUID vX.Y"
                binding = epm.PrintStringBinding(floors)  # proto:host[ep]
                proto, _, rest = binding.partition(":")
                ep = rest[rest.find("[") + 1:rest.rfind("]")] if "[" in rest else ""
                result.append((uu.lower(), ver, proto, ep))
            handle = resp["entry_handle"]
            if status == EPT_S_NOT_REGISTERED or handle.isNull():
                break
            if status != 0:
                raise SambaDCError(f"ept_lookup status 0x{status:08x}")
        return result
    finally:
        with contextlib.suppress(Exception):
            dce.disconnect()


# --------------------------------------------------------------------------
# template
# --------------------------------------------------------------------------

def _template_root() -> str:
    return os.path.join(tempfile.gettempdir(), f"mapiproxy-samba-template-{os.getuid()}")


def _provision(target: str, log_path: str) -> float:
    """Provision a DC into *target*. Returns the elapsed seconds."""
    os.makedirs(target, exist_ok=True)
    empty = os.path.join(target, "empty.conf")
    open(empty, "w").close()
    run = os.path.join(target, "run")
    opts = {
        # Bound to a placeholder; rewritten per instance.
        "interfaces": "127.0.0.2",
        "bind interfaces only": "yes",
        "pid directory": run,
        "ncalrpc dir": os.path.join(run, "ncalrpc"),
        "winbindd socket directory": os.path.join(run, "winbindd"),
        "ntp signd socket directory": os.path.join(run, "ntp_signd"),
        "usershare path": os.path.join(target, "usershares"),
        "log file": os.path.join(target, "log", "log.%m"),
        "server services": "rpc",
    }
    cmd = [SAMBA_TOOL, "domain", "provision", "-s", empty,
           f"--realm={REALM}", f"--domain={DOMAIN}", f"--host-name={HOSTNAME}",
           f"--adminpass={ADMIN_PASSWORD}", "--server-role=dc",
           "--dns-backend=NONE", f"--targetdir={target}"]
    cmd += [f"--option={k} = {v}" for k, v in opts.items()]
    t0 = time.monotonic()
    with open(log_path, "wb") as log:
        res = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, cwd=target, timeout=300)
    elapsed = time.monotonic() - t0
    if res.returncode != 0:
        with open(log_path, "rb") as f:
            tail = f.read()[-4000:].decode(errors="replace")
        raise SambaDCError(f"samba-tool domain provision failed rc={res.returncode}:\n{tail}")
    os.unlink(empty)
    return elapsed


def get_template() -> Tuple[str, dict]:
    """Return (template_dir, meta); provision it if not cached yet."""
    key_src = "|".join([_samba_version(), REALM, DOMAIN, HOSTNAME, ADMIN_PASSWORD, "v1"])
    key = hashlib.sha256(key_src.encode()).hexdigest()[:16]
    root = _template_root()
    os.makedirs(root, mode=0o700, exist_ok=True)
    final = os.path.join(root, key)
    meta_path = os.path.join(final, "template.json")
    with open(os.path.join(root, "lock"), "w") as lockf:
        fcntl.flock(lockf, fcntl.LOCK_EX)  # provisioning is bounded by its timeout
        try:
            if os.path.exists(meta_path):
                with open(meta_path) as f:
                    return final, json.load(f)
            if os.path.exists(final):
                shutil.rmtree(final)  # half-built leftover
            build = tempfile.mkdtemp(prefix="build-", dir=root)
            data = os.path.join(build, "dc")
            try:
                elapsed = _provision(data, os.path.join(build, "provision.log"))
            except BaseException:
                shutil.rmtree(build, ignore_errors=True)
                raise
            meta = {"prefix": data, "provision_seconds": round(elapsed, 3),
                    "samba_version": _samba_version()}
            with open(os.path.join(build, "template.json"), "w") as f:
                json.dump(meta, f)
            os.rename(build, final)
            return final, meta
        finally:
            fcntl.flock(lockf, fcntl.LOCK_UN)


# --------------------------------------------------------------------------
# the DC
# --------------------------------------------------------------------------

class SambaDC:
    admin_user = "Administrator"
    admin_password = ADMIN_PASSWORD
    realm = REALM
    domain = DOMAIN
    hostname = HOSTNAME

    def __init__(self, ip: str = "127.0.0.2", base_dir: Optional[str] = None,
                 start_timeout: float = 60.0, max_runtime: int = 3 * 3600,
                 extra_options: Optional[dict] = None, keep_dir: bool = False):
        self.ip = ip
        self.base_dir = base_dir  # parent for the instance dir (default: $TMPDIR)
        self.start_timeout = start_timeout
        self.max_runtime = max_runtime
        self.extra_options = dict(extra_options or {})
        self.keep_dir = keep_dir
        self.dir: Optional[str] = None
        self.proc: Optional[subprocess.Popen] = None
        self.log_path: Optional[str] = None
        self.endpoints: List[Tuple[str, str, str, str]] = []
        self.timings: dict = {}
        self._log = None

    # -- public ---------------------------------------------------------
    @property
    def smb_conf(self) -> str:
        return os.path.join(self.dir_data, "etc", "smb.conf")

    @property
    def pid(self) -> Optional[int]:
        return self.proc.pid if self.proc else None

    def start(self) -> "SambaDC":
        if self.proc is not None:
            raise SambaDCError("already started")
        ensure_loopback_ip(self.ip)
        busy = [p for p in (135,) if port_open(self.ip, p, 0.2)]
        if busy:
            raise SambaDCError(f"{self.ip}:{busy} already in use (stale samba?)")

        t0 = time.monotonic()
        template, meta = get_template()
        self.timings["template_seconds"] = round(time.monotonic() - t0, 3)
        self.timings["provision_seconds"] = meta.get("provision_seconds")

        if self.base_dir:
            os.makedirs(self.base_dir, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix="mapiproxy-samba-", dir=self.base_dir)
        t1 = time.monotonic()
        try:
            self._instantiate(os.path.join(template, "dc"), meta["prefix"])
            self.timings["copy_seconds"] = round(time.monotonic() - t1, 3)
            self._spawn()
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self.timings["start_seconds"] = round(time.monotonic() - t1, 3)
        return self

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            helpers = _session_members(proc.pid)
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
            # samba runs in its own session; SIGKILL (by PID) any helper
            # process of that session that outlived the main process.
            for pid in helpers:
                if _session_members(proc.pid, [pid]):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
            if proc.stdin:
                with contextlib.suppress(Exception):
                    proc.stdin.close()
        if self._log:
            self._log.close()
            self._log = None
        if self.dir and not self.keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self) -> "SambaDC":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def tcp_port(self, iface: str) -> int:
        """Dynamic ncacn_ip_tcp port registered for *iface* (name or UUID)."""
        uu = KNOWN_IFACES.get(iface, iface).lower()
        for u, _ver, proto, ep in self.endpoints:
            if u == uu and proto == "ncacn_ip_tcp":
                return int(ep)
        raise KeyError(iface)

    def log_tail(self, n: int = 4000) -> str:
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - n))
            return f.read().decode(errors="replace")

    def string_binding(self, iface: str = "epmapper") -> str:
        port = 135 if iface == "epmapper" else self.tcp_port(iface)
        return f"ncacn_ip_tcp:{self.ip}[{port}]"

    # -- internals ------------------------------------------------------
    def _instantiate(self, src: str, prefix: str) -> None:
        dst = os.path.join(self.dir, "dc")
        shutil.copytree(src, dst, symlinks=True)
        for sub in ("run", "log", "cache"):
            os.makedirs(os.path.join(dst, sub), exist_ok=True)
        conf = os.path.join(dst, "etc", "smb.conf")
        with open(conf) as f:
            lines = f.read().replace(prefix, dst).splitlines()
        out = []
        overrides = {"interfaces": self.ip}
        overrides.update(self.extra_options)
        seen = set()
        in_global = False
        for line in lines:
            s = line.strip()
            if s.startswith("["):
                if in_global:
                    out += [f"\t{k} = {v}" for k, v in overrides.items() if k not in seen]
                in_global = s.lower() == "[global]"
            elif in_global and "=" in s and not s.startswith(("#", ";")):
                k = s.split("=", 1)[0].strip().lower()
                if k in overrides:
                    seen.add(k)
                    line = f"\t{k} = {overrides[k]}"
            out.append(line)
        with open(conf, "w") as f:
            f.write("\n".join(out) + "\n")

    @property
    def dir_data(self) -> str:
        return os.path.join(self.dir, "dc")

    def _spawn(self) -> None:
        self.log_path = os.path.join(self.dir, "samba.log")
        self._log = open(self.log_path, "wb")
        conf = os.path.join(self.dir_data, "etc", "smb.conf")
        cmd = [SAMBA, "-i", "-M", "single", "-s", conf,
               f"--maximum-runtime={int(self.max_runtime)}"]
        # stdin is a pipe on purpose: "samba -i" exits on EOF on stdin, so the
        # DC dies with the test process even if stop() never runs.
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.PIPE, cwd=self.dir,
                                     start_new_session=True)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        last_err = "port 135 not open"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SambaDCError(f"samba exited rc={self.proc.returncode}\n"
                                   f"--- log tail ---\n{self.log_tail()}")
            if port_open(self.ip, 135, 0.5):
                try:
                    eps = epm_lookup(self.ip, 135, timeout=5)
                    tcp = [e for e in eps if e[2] == "ncacn_ip_tcp" and e[3] != "135"]
                    if eps and tcp and all(port_open(self.ip, int(e[3]), 0.5) for e in tcp):
                        self.endpoints = eps
                        return
                    last_err = f"epm lookup returned {len(eps)} entries, dynamic ports not ready"
                except Exception as e:  # noqa: BLE001
                    last_err = f"epm lookup failed: {e!r}"
            time.sleep(0.1)
        raise SambaDCError(f"samba DC on {self.ip} not ready after {self.start_timeout}s "
                           f"({last_err})\n--- log tail ---\n{self.log_tail()}")


def make_samba_fixture(ip: str = "127.0.0.2", scope: str = "session", name: str = "samba_dc"):
    """Return a pytest fixture yielding a started :class:`SambaDC`.

    In conftest.py:  ``samba_dc = make_samba_fixture()``
    """
    import pytest

    @pytest.fixture(scope=scope, name=name)
    def _fixture(tmp_path_factory):
        base = str(tmp_path_factory.mktemp("samba"))
        dc = SambaDC(ip=ip, base_dir=base)
        dc.start()
        try:
            yield dc
        finally:
            dc.stop()

    return _fixture


def free_ip(first: int = 2, ports=(135,)) -> str:
    """127.0.0.<first>, else the first of 127.0.0.<first+10>, <first+20>, ...
    whose ports are all free (other sessions may run a DC or a proxy of their own).
    $MAPIPROXY_TEST_SAMBA_IP overrides the DC's choice (first == 2)."""
    if first == 2 and os.environ.get("MAPIPROXY_TEST_SAMBA_IP"):
        return os.environ["MAPIPROXY_TEST_SAMBA_IP"]
    for last in [first] + list(range(first + 10, 250, 10)):
        ip = f"127.0.0.{last}"
        if not any(port_open(ip, p, 0.2) for p in ports):
            return ip
    raise RuntimeError(f"no 127.0.0.x address with free ports {ports}")

