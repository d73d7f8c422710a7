"""The daemon as a program: command line, configuration checking, signals,
logging, ports."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time

import pytest

import rpc_clients as rc
from conftest import MAPIPROXY_BIN, REPO, SANITIZER_ENV, SANITIZER_MARKERS, free_port, wait_port
from dcerpc_wire import BIND_ACK, EPM, NDR, RESPONSE, SAMR, RawClient, request_pdu
from fake_upstream import OP_DELAY, OP_HOLD

SECRET = "S3cretValue!"


def run(*args, timeout=30):
    env = dict(os.environ)
    env.update(SANITIZER_ENV)
    r = subprocess.run([MAPIPROXY_BIN, *args], capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, env=env)
    for m in SANITIZER_MARKERS:
        assert m not in r.stderr, r.stderr
    return r


def conf_file(tmp_path, lines, name="mapiproxy.conf"):
    """Write a config; lines: list of "key = value" strings after [global]."""
    p = tmp_path / name
    p.write_text("[global]\n" + "".join(f"\t{x}\n" for x in lines))
    return p


BASE = ["dcerpc_mapiproxy:binding = ncacn_ip_tcp:127.0.0.2",
        "dcerpc_mapiproxy:interfaces = samr, lsarpc_ds",
        "mapiproxy:listen = 127.0.0.1",
        "mapiproxy:port = 6001",
        "mapiproxy:auth required = no"]


# ---------------------------------------------------------------- command line

def test_help():
    r = run("--help")
    assert r.returncode == 0
    assert r.stdout.startswith("Usage: mapiproxy")
    for opt in ("--config", "--check-config", "--list-interfaces", "--version", "SIGHUP"):
        assert opt in r.stdout
    assert run("-h").stdout == r.stdout


def test_bad_usage():
    r = run("--no-such-option")
    assert r.returncode == 2 and "Usage" in r.stderr
    r = run()
    assert r.returncode == 2 and "-c FILE" in r.stderr


def test_version():
    r = run("--version")
    assert r.returncode == 0
    m = re.search(r"version\s*:\s*'([^']+)'", (REPO / "meson.build").read_text())
    assert r.stdout.strip() == f"mapiproxy {m.group(1)}"
    assert run("-V").stdout == r.stdout


def test_list_interfaces(tmp_path):
    r = run("--list-interfaces")
    assert r.returncode == 0
    names = {}
    for line in r.stdout.splitlines():
        m = re.match(r"^(\S+)\s+([0-9a-f-]{36}) v(\d+)\.(\d+)", line)
        if m:
            names[m.group(1)] = m.group(2)
    for n, u in {"exchange_emsmdb": "a4f1db00-ca47-1067-b31f-00dd010662da",
                 "exchange_nsp": "f5cc5a18-4264-101a-8c59-08002b2f8426",
                 "exchange_ds_rfr": "1544f5e0-613c-11d1-93df-00c04fd7bd09",
                 "samr": "12345778-1234-abcd-ef00-0123456789ac",
                 "lsarpc_ds": "3919286a-b10c-11d0-9ba8-00c04fd92ef5"}.items():
        assert names.get(n) == u, n
    assert "UUID/major.minor" in r.stdout
    # every listed name is accepted in a configuration
    p = conf_file(tmp_path, BASE[:1] + BASE[-1:] + [f"dcerpc_mapiproxy:interfaces = {', '.join(names)}"])
    assert run("-c", str(p), "--check-config").returncode == 0


def test_check_config_valid(tmp_path):
    port = free_port()
    p = conf_file(tmp_path, [
        "dcerpc_mapiproxy:binding = ncacn_ip_tcp:127.0.0.2[49154]",
        "dcerpc_mapiproxy:interfaces = samr, lsarpc_ds, 12345678-1234-abcd-ef00-01234567cffb/1.0",
        "mapiproxy:listen = 127.0.0.1",
        f"mapiproxy:port = {port}",
        "mapiproxy:epm port = 0",
        "mapiproxy:interface ports = samr=6002",
        "mapiproxy:upstream max frag = 2048",
        "mapiproxy:max call size = 16M",
        "mapiproxy:max calls = 64",
        "mapiproxy:max buffered = 1M",
        "mapiproxy:max sessions = 4096",
        "mapiproxy:idle timeout = 900",
        "mapiproxy:io timeout = 30",
        "mapiproxy:drain timeout = 10",
        "mapiproxy:log level = debug",
        f"mapiproxy:log file = {tmp_path / 'never.log'}",
        f"mapiproxy:pid file = {tmp_path / 'never.pid'}",
        "mapiproxy:auth required = no",
    ])
    t0 = time.monotonic()
    r = run("-c", str(p), "--check-config")
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - t0 < 10
    out = r.stdout
    assert f"{p}: configuration is valid" in out
    assert "ncacn_ip_tcp:127.0.0.2[49154]" in out
    assert re.search(r"interface\s+samr\s+12345778-1234-abcd-ef00-0123456789ac v1\.0 port 6002", out)
    assert re.search(rf"interface\s+lsarpc_ds\s+3919286a-b10c-11d0-9ba8-00c04fd92ef5 v0\.0 port {port}", out)
    assert "12345678-1234-abcd-ef00-01234567cffb v1.0" in out
    assert "2048" in out and str(16 << 20) in out and "disabled" in out
    # nothing was started or written
    assert not (tmp_path / "never.log").exists() and not (tmp_path / "never.pid").exists()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


INVALID = {
    "unknown_option": (["mapiproxy:max fragz = 4000"], "unknown option"),
    "unknown_dcerpc_option": (["dcerpc_mapiproxy:bindings = x"], "unknown option"),
    "bad_binding": (["dcerpc_mapiproxy:binding = ncacn_foo:127.0.0.2"], "binding"),
    "bad_binding_port": (["dcerpc_mapiproxy:binding = ncacn_ip_tcp:127.0.0.2[99999]"], "binding"),
    "bad_interface": (["dcerpc_mapiproxy:interfaces = samr, nosuchiface"], "nosuchiface"),
    "bad_uuid": (["dcerpc_mapiproxy:interfaces = 12345778-1234-abcd-ef00-0123456789/1.0"], "interfaces"),
    "bad_number": (["mapiproxy:max calls = lots"], "expected a number"),
    "number_out_of_range": (["mapiproxy:port = 70000"], "out of range"),
    "max_frag_too_small": (["mapiproxy:max frag = 100"], "out of range"),
    "bad_log_level": (["mapiproxy:log level = chatty"], "log level"),
    "iface_port_not_relayed": (["mapiproxy:interface ports = netlogon=6003"], "netlogon"),
    "iface_port_bad": (["mapiproxy:interface ports = samr"], "NAME=PORT"),
    "no_equals": (["this line has no equals sign"], ""),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_check_config_invalid(tmp_path, case):
    extra, needle = INVALID[case]
    key = extra[0].split("=")[0].strip()
    lines = [x for x in BASE if x.split("=")[0].strip() != key] + ["# comment", ""] + extra
    p = conf_file(tmp_path, lines)
    bad_line = 1 + len(lines)  # [global] is line 1
    r = run("-c", str(p), "--check-config")
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert f"{p}:{bad_line}:" in r.stderr, r.stderr
    assert needle in r.stderr
    assert "configuration is valid" not in r.stdout
    # the daemon refuses the same file the same way
    r2 = run("-c", str(p))
    assert r2.returncode == 1 and f"{p}:{bad_line}:" in r2.stderr


def test_check_config_missing_binding(tmp_path):
    """No line to point at: the message names the file and the option."""
    p = conf_file(tmp_path, BASE[1:])
    r = run("-c", str(p), "--check-config")
    assert r.returncode == 1
    assert str(p) in r.stderr and "dcerpc_mapiproxy:binding" in r.stderr


def test_check_config_missing_file(tmp_path):
    r = run("-c", str(tmp_path / "nope.conf"), "--check-config")
    assert r.returncode == 1 and "nope.conf" in r.stderr


def test_check_config_hides_password(tmp_path):
    p = conf_file(tmp_path, BASE + ["dcerpc_mapiproxy:username = admin",
                                    f"dcerpc_mapiproxy:password = {SECRET}"])
    r = run("-c", str(p), "--check-config")
    assert r.returncode == 0
    assert SECRET not in r.stdout + r.stderr


# ---------------------------------------------------------------- signals

def test_sigterm_idle_exits_quickly(mapiproxy):
    px = mapiproxy(interfaces="samr", binding="ncacn_ip_tcp:127.0.0.9[1]")
    t0 = time.monotonic()
    assert px.stop(signal.SIGTERM, timeout=10) == 0
    assert time.monotonic() - t0 < 2
    assert "mapiproxy stopped" in px.log_text()


def test_sigint_exits_zero(mapiproxy):
    px = mapiproxy(interfaces="samr", binding="ncacn_ip_tcp:127.0.0.9[1]")
    assert px.stop(signal.SIGINT, timeout=10) == 0


def test_sigterm_with_call_in_flight(mapiproxy, fake_upstream):
    """The call in flight completes, new connections are refused, exit 0."""
    fu = fake_upstream(delay=1.0)
    px = mapiproxy(interfaces="samr", binding=fu.binding)
    with RawClient(px.listen, px.port) as c:
        assert c.bind([(0, SAMR, [NDR])])["ptype"] == BIND_ACK
        c.send(request_pdu(0, OP_DELAY, b"in flight", call_id=2))
        for _ in range(100):  # until the request reached the upstream (bounded)
            if fu.requests:
                break
            time.sleep(0.01)
        assert fu.requests
        t0 = time.monotonic()
        px.send_signal(signal.SIGTERM)
        assert px.wait_log("SIGTERM")
        with pytest.raises(OSError):
            socket.create_connection((px.listen, px.port), timeout=1).close()
        d = c.collect(2, timeout=10)
        assert d["ptype"] == RESPONSE and d["stub"] == b"in flight"
        assert c.closed()
    rc_ = px.wait(10)
    assert rc_ == 0
    assert 0.5 < time.monotonic() - t0 < 5


def test_sigterm_drain_timeout(mapiproxy, fake_upstream):
    """A call that never finishes is cut after mapiproxy:drain timeout; exit 0."""
    fu = fake_upstream()
    px = mapiproxy(interfaces="samr", binding=fu.binding,
                   options={"mapiproxy:drain timeout": "1"})
    with RawClient(px.listen, px.port) as c:
        assert c.bind([(0, SAMR, [NDR])])["ptype"] == BIND_ACK
        c.send(request_pdu(0, OP_HOLD, b"", call_id=2))
        time.sleep(0.2)
        t0 = time.monotonic()
        px.send_signal(signal.SIGTERM)
        assert px.wait(10) == 0
        assert 0.8 < time.monotonic() - t0 < 4
    assert "drain timeout" in px.log_text()


def test_sighup_reopens_log(mapiproxy, samba_dc):
    px = mapiproxy(interfaces="samr")
    assert rc.samr_enum_domains(px.binding()) == ["MAPI", "BUILTIN"]
    assert px.wait_log(" 2 calls,")
    rotated = px.log_path.with_suffix(".log.1")
    os.rename(px.log_path, rotated)
    px.send_signal(signal.SIGHUP)
    for _ in range(100):  # bounded
        if px.log_path.exists():
            break
        time.sleep(0.02)
    assert px.log_path.exists(), "log file not reopened"
    assert rc.samr_enum_domains(px.binding()) == ["MAPI", "BUILTIN"]
    assert px.wait_log(" 2 calls,")
    new = px.log_text()
    assert "SIGHUP" in new and "samr opnum 6" in new
    old = rotated.read_text()
    assert "samr opnum 6" in old and "listening on" in old and "listening on" not in new
    assert px.running()


# ---------------------------------------------------------------- ports, files

def test_port_in_use(mapiproxy):
    with socket.socket() as hog:
        hog.bind(("127.0.0.1", 0))
        hog.listen(1)
        port = hog.getsockname()[1]
        px = mapiproxy(interfaces="samr", binding="ncacn_ip_tcp:127.0.0.9[1]", port=port,
                       wait=False)
        assert px.wait(10) == 1
    text = px.log_text() + px.stderr_text()
    assert f"cannot listen on 127.0.0.1 port {port}" in text
    assert "in use" in text.lower() or "another process" in text


def test_epm_port_in_use(mapiproxy):
    with socket.socket() as hog:
        hog.bind(("127.0.0.1", 0))
        hog.listen(1)
        port = hog.getsockname()[1]
        px = mapiproxy(interfaces="samr", binding="ncacn_ip_tcp:127.0.0.9[1]", epm_port=port,
                       wait=False)
        assert px.wait(10) == 1
    assert f"port {port}" in px.log_text() + px.stderr_text()


def test_epm_disabled(mapiproxy):
    px = mapiproxy(interfaces="samr", binding="ncacn_ip_tcp:127.0.0.9[1]", epm_port=0)
    with RawClient(px.listen, px.port) as c:
        ack = c.bind([(0, EPM, [NDR])])
        assert [r[:2] for r in ack["results"]] == [(2, 1)]


def test_interface_ports(mapiproxy, samba_dc):
    p2 = free_port()
    px = mapiproxy(interfaces="samr, lsarpc_ds", iface_ports={"samr": p2})
    assert rc.samr_enum_domains(f"ncacn_ip_tcp:127.0.0.1[{p2}]") == ["MAPI", "BUILTIN"]
    assert rc.dssetup_info(px.binding()) == rc.dssetup_info(samba_dc.string_binding("dssetup"))


def test_pid_file(mapiproxy, tmp_path):
    pidf = tmp_path / "mp.pid"
    px = mapiproxy(interfaces="samr", binding="ncacn_ip_tcp:127.0.0.9[1]",
                   options={"mapiproxy:pid file": str(pidf)})
    assert pidf.read_text().strip() == str(px.pid)
    assert px.stop() == 0
    assert not pidf.exists()


def test_daemonize(tmp_path):
    """-D detaches: the parent exits 0, the child serves and stops on SIGTERM."""
    port, epm = free_port(), free_port()
    pidf, logf = tmp_path / "d.pid", tmp_path / "d.log"
    p = conf_file(tmp_path, ["dcerpc_mapiproxy:binding = ncacn_ip_tcp:127.0.0.9[1]",
                             "dcerpc_mapiproxy:interfaces = samr",
                             f"mapiproxy:port = {port}", f"mapiproxy:epm port = {epm}",
                             f"mapiproxy:pid file = {pidf}", f"mapiproxy:log file = {logf}",
                             "mapiproxy:auth required = no"])
    r = run("-c", str(p), "-D")
    assert r.returncode == 0, r.stderr
    pid = None
    try:
        for _ in range(200):  # bounded
            if pidf.exists() and pidf.read_text().strip():
                pid = int(pidf.read_text())
                break
            time.sleep(0.02)
        assert pid, "no pid file"
        assert wait_port("127.0.0.1", epm, 10)
        with RawClient("127.0.0.1", epm) as c:
            assert c.bind([(0, EPM, [NDR])])["ptype"] == BIND_ACK
    finally:
        if pid:
            os.kill(pid, signal.SIGTERM)
            for _ in range(250):  # bounded: 5 s
                if not os.path.exists(f"/proc/{pid}") or \
                        open(f"/proc/{pid}/stat").read().split(") ")[1][0] == "Z":
                    break
                time.sleep(0.02)
    assert not os.path.exists(f"/proc/{pid}") or \
        open(f"/proc/{pid}/stat").read().split(") ")[1][0] == "Z"
    assert "mapiproxy stopped" in logf.read_text()


# ---------------------------------------------------------------- logging

def test_log_lines(mapiproxy, samba_dc):
    px = mapiproxy(interfaces="samr")
    assert rc.samr_enum_domains(px.binding()) == ["MAPI", "BUILTIN"]
    assert px.wait_log(" 2 calls,")
    log = px.log_text()
    opened = dict(re.findall(r"session (\d+) open from 127\.0\.0\.1:\d+ on port (\d+)", log))
    calls = re.findall(r"session (\d+) call (\d+) samr opnum (\d+): request (\d+) B, "
                       r"response (\d+) B, ok, ([\d.]+) ms", log)
    assert [(c[2]) for c in calls] == ["0", "6"], calls  # Connect, EnumerateDomains
    for _sid, _cid, _op, req, rsp, ms in calls:
        assert int(req) > 0 and int(rsp) > 0 and 0 <= float(ms) < 5000
    sid = calls[0][0]
    assert calls[1][0] == sid and opened[sid] == str(px.port)
    assert re.search(rf"session {sid} bound: 0:samr=relay", log)
    assert px.wait_log(f"session {sid} closed:")
    log = px.log_text()
    m = re.search(rf"session {sid} closed: (\d+) calls, (\d+) bytes in, (\d+) bytes out", log)
    assert m and m.group(1) == "2" and int(m.group(2)) > 0 and int(m.group(3)) > 0
    # every line: timestamp, level, message
    for line in log.splitlines():
        assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (error|warn|info|debug|trace)\s", line), line


def test_log_level_info_has_no_call_lines(mapiproxy, samba_dc):
    px = mapiproxy(interfaces="samr", log_level="info")
    assert rc.samr_enum_domains(px.binding()) == ["MAPI", "BUILTIN"]
    assert px.wait_log(" 2 calls,")
    assert " debug " not in px.log_text() and "opnum" not in px.log_text()


def test_log_to_stderr_and_cli_overrides(mapiproxy, samba_dc):
    px = mapiproxy(interfaces="samr", log_file=False, log_level="error", args=("-d", "debug"))
    assert rc.samr_enum_domains(px.binding()) == ["MAPI", "BUILTIN"]
    assert px.wait_log("samr opnum 6")


def test_no_secrets_in_log(mapiproxy, samba_dc):
    """The upstream password is really used (the proxy signs in as Administrator)
    and never appears in the log, in clear or in hex."""
    secret = samba_dc.admin_password
    px = mapiproxy(interfaces="samr", log_level="trace",
                   options={"dcerpc_mapiproxy:username": "Administrator",
                            "dcerpc_mapiproxy:domain": samba_dc.domain,
                            "dcerpc_mapiproxy:password": secret})
    assert rc.samr_enum_domains(px.binding()) == ["MAPI", "BUILTIN"]
    px.send_signal(signal.SIGHUP)
    assert px.wait_log(" 2 calls,")
    assert px.stop() == 0
    assert "authenticating upstream as MAPI\\Administrator" in px.log_text()
    for text in (px.log_text(), px.stderr_text()):
        assert secret not in text
        assert secret.encode().hex() not in text
        assert secret.encode("utf-16-le").hex() not in text


# ---------------------------------------------------------------- limits

def test_max_sessions(mapiproxy):
    px = mapiproxy(interfaces="samr", binding="ncacn_ip_tcp:127.0.0.9[1]",
                   options={"mapiproxy:max sessions": "2"})
    time.sleep(0.2)  # the readiness probes' sessions are gone
    a, b = RawClient(px.listen, px.epm_port), RawClient(px.listen, px.epm_port)
    try:
        assert a.bind([(0, EPM, [NDR])])["ptype"] == BIND_ACK
        assert b.bind([(0, EPM, [NDR])])["ptype"] == BIND_ACK
        with RawClient(px.listen, px.epm_port) as c:
            assert c.closed()
    finally:
        a.close()
        b.close()
    assert px.wait_log("session limit")
    time.sleep(0.2)
    with RawClient(px.listen, px.epm_port) as c:
        assert c.bind([(0, EPM, [NDR])])["ptype"] == BIND_ACK


def test_idle_timeout(mapiproxy):
    px = mapiproxy(interfaces="samr", binding="ncacn_ip_tcp:127.0.0.9[1]",
                   options={"mapiproxy:idle timeout": "1"})
    with RawClient(px.listen, px.epm_port) as c:
        assert c.bind([(0, EPM, [NDR])])["ptype"] == BIND_ACK
        t0 = time.monotonic()
        assert c.closed(timeout=5)
        assert 0.5 < time.monotonic() - t0 < 4
    assert px.wait_log("idle timeout")
