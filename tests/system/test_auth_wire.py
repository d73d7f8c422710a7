"""What the authenticated legs look like on the wire, judged by independent
decoders: Wireshark's dissectors (tshark, on a capture of the loopback
interface) and Samba's NDR parser (ndrdump, package samba-testsuite).
"""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time

import pytest

import dcerpc_wire as w
from impacket.dcerpc.v5 import samr

from auth_helpers import (PRIVACY, PROXY_PW, PROXY_USER, assert_no_secrets,  # noqa: F401
                          assert_others_fine, authpx, dce_bound, raw_ntlm_bind, user_db)
from conftest import free_port

CLIENT_DOMAIN = "ANYDOMAIN"  # the user db entry matches any domain


# --------------------------------------------------------------------------
# capture on lo
# --------------------------------------------------------------------------

class LoCapture:
    """dumpcap (else tshark) writing packets of `bpf` on lo to `path`; stopped by PID."""

    def __init__(self, path, bpf: str):
        self.path = str(path)
        self.probe = free_port()  # nobody listens: a connect is one SYN + one RST
        tool = shutil.which("dumpcap") or shutil.which("tshark")
        if not tool:
            pytest.skip("cannot capture on lo: neither dumpcap nor tshark is installed")
        self.err_path = self.path + ".stderr"
        with open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                [tool, "-i", "lo", "-q", "-f", f"({bpf}) or tcp port {self.probe}",
                 "-w", self.path], stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _err(self) -> str:
        with open(self.err_path, errors="replace") as f:
            return f.read().strip()[-600:]

    def _size(self) -> int:
        try:
            return os.path.getsize(self.path)
        except FileNotFoundError:
            return 0

    def _probe(self) -> None:
        try:
            socket.create_connection(("127.0.0.1", self.probe), timeout=0.5).close()
        except OSError:
            pass

    def sync(self, timeout: float = 10.0) -> bool:
        """Send a probe packet and wait until the file grows: everything before
        the probe has then been written."""
        size = self._size()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._probe()
            for _ in range(10):
                if self._size() > size:
                    return True
                if self.proc.poll() is not None:
                    return False
                time.sleep(0.02)
        return False

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 10
        while self._size() == 0 and time.monotonic() < deadline:  # the file header
            if self.proc.poll() is not None:
                pytest.skip(f"cannot capture on lo here (exit {self.proc.returncode}): "
                            f"{self._err()}")
            time.sleep(0.02)
        if self._size() == 0 or not self.sync():
            rc = self.proc.poll()
            pytest.skip(f"cannot capture on lo here (capture {'exited ' + str(rc) if rc is not None else 'sees no packets'}): {self._err()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def proxy_tcp_peers(pid: int):
    """{(remote ip, remote port): [local ports]} of pid's IPv4 TCP sockets."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    out = {}
    with open(f"/proc/{pid}/net/tcp") as f:
        next(f)
        for line in f:
            col = line.split()
            if col[9] not in inodes:
                continue
            lport = int(col[1].split(":")[1], 16)
            rip, rport = col[2].split(":")
            rip = socket.inet_ntoa(struct.pack("<I", int(rip, 16)))
            out.setdefault((rip, int(rport, 16)), []).append(lport)
    return out


def tshark(pcap, ports, *args) -> str:
    decode = []
    for p in ports:
        decode += ["-d", f"tcp.port=={p},dcerpc"]
    r = subprocess.run(["tshark", "-n", "-r", str(pcap), *decode, *args],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def rows(text: str):
    return [ln.split("\t") for ln in text.splitlines() if ln.strip()]


FIELDS = ["frame.number", "tcp.srcport", "tcp.dstport", "dcerpc.pkt_type", "dcerpc.auth_type",
          "dcerpc.auth_level", "ntlmssp.messagetype", "ntlmssp.auth.username",
          "ntlmssp.auth.domain", "ntlmssp.challenge.target_name",
          "ntlmssp.challenge.target_info.nb_computer_name",
          "ntlmssp.challenge.target_info.nb_domain_name", "samr.opnum", "_ws.malformed",
          "_ws.expert.severity"]
SEVERITY_ERROR = 0x00800000


def test_privacy_session_on_the_wire(authpx, samba_dc, tmp_path):
    """One privacy session through the proxy, captured on lo (client leg and
    upstream leg) and decoded by tshark:
    - the three NTLMSSP messages on each leg, in bind / bind_ack / auth3; the
      proxy's CHALLENGE carries its NetBIOS names (MAPIPROXY by default), the
      client's AUTHENTICATE the proxy user, the upstream AUTHENTICATE the
      DC's Administrator;
    - nothing malformed, no error-level expert info;
    - every request and response on both legs at auth level 6 (privacy), type 10;
    - given the proxy user's password, Wireshark's own NTLMSSP code unseals
      the client leg into samr: our sealing is the standard one."""
    if not shutil.which("tshark"):
        pytest.skip("tshark is not installed")
    px = authpx()
    port, up_port = px.port, samba_dc.tcp_port("samr")
    pcap = tmp_path / "legs.pcapng"
    cap = LoCapture(pcap, f"tcp port {port} or (host {samba_dc.ip} and tcp port {up_port})")
    try:
        _, d = dce_bound(px.binding(), PRIVACY, domain=CLIENT_DOMAIN)
        try:
            # Other test runs on this host may talk to a DC at the same address:
            # the upstream leg is the proxy's own connection, found by its port.
            up_local = proxy_tcp_peers(px.pid).get((samba_dc.ip, up_port), [])
            assert len(up_local) == 1, proxy_tcp_peers(px.pid)
            h = samr.hSamrConnect(d)["ServerHandle"]
            names = [x["Name"] for x in
                     samr.hSamrEnumerateDomainsInSamServer(d, h)["Buffer"]["Buffer"]]
            assert names == ["MAPI", "BUILTIN"]
        finally:
            d.disconnect()
        assert px.wait_log("closed: ")  # the session is over
        assert cap.sync(), "the capture stopped seeing packets"
    finally:
        cap.stop()

    def leg(p):
        ports = (p["tcp.srcport"], p["tcp.dstport"])
        return "client" if str(port) in ports else \
            "upstream" if str(up_local[0]) in ports else "other"

    # One row per frame; a field occurring several times (several PDUs in one
    # segment, several expert infos) gives a "|"-separated list.
    args = ["-Y", "dcerpc || ntlmssp || _ws.malformed", "-T", "fields", "-E", "separator=/t",
            "-E", "occurrence=a", "-E", "aggregator=|"]
    for f in FIELDS:
        args += ["-e", f]
    pkts = [{k: [x for x in v.split("|") if x] for k, v in
             zip(FIELDS, r + [""] * (len(FIELDS) - len(r)))}
            for r in rows(tshark(pcap, [port, up_port], *args))]
    for p in pkts:
        p["tcp.srcport"], p["tcp.dstport"] = p["tcp.srcport"][0], p["tcp.dstport"][0]
    pkts = [p for p in pkts if leg(p) != "other"]
    assert pkts, "tshark decoded no DCE/RPC"

    bad = [p for p in pkts if p["_ws.malformed"] or
           any(int(x, 0) >= SEVERITY_ERROR for x in p["_ws.expert.severity"])]
    assert not bad, f"malformed / error packets: {bad}"

    def from_server(p):
        return int(p["tcp.srcport"]) in (port, up_port)

    ntlm = {"client": [], "upstream": []}
    for p in pkts:
        if p["ntlmssp.messagetype"]:
            ntlm[leg(p)].append(p)
    for name, msgs in ntlm.items():
        assert [(from_server(p), [int(x, 0) for x in p["ntlmssp.messagetype"]],
                 [int(x) for x in p["dcerpc.pkt_type"]]) for p in msgs] == \
            [(False, [1], [w.BIND]), (True, [2], [w.BIND_ACK]), (False, [3], [16])], (name, msgs)
    chal, auth = ntlm["client"][1], ntlm["client"][2]
    assert (chal["ntlmssp.challenge.target_name"],
            chal["ntlmssp.challenge.target_info.nb_computer_name"],
            chal["ntlmssp.challenge.target_info.nb_domain_name"]) == \
        (["MAPIPROXY"], ["MAPIPROXY"], ["MAPIPROXY"]), chal
    assert (auth["ntlmssp.auth.username"], auth["ntlmssp.auth.domain"]) == \
        ([PROXY_USER], [CLIENT_DOMAIN]), auth
    up_auth = ntlm["upstream"][2]
    assert (up_auth["ntlmssp.auth.username"], up_auth["ntlmssp.auth.domain"]) == \
        ([samba_dc.admin_user], [samba_dc.domain]), up_auth
    # Samba's CHALLENGE names the DC's domain: the legs are not mixed up
    assert ntlm["upstream"][1]["ntlmssp.challenge.target_info.nb_domain_name"] == \
        [samba_dc.domain]

    seen = set()
    for p in pkts:
        types = {int(x) for x in p["dcerpc.pkt_type"]}
        if types & {w.REQUEST, w.RESPONSE}:
            assert types <= {w.REQUEST, w.RESPONSE}, p
            seen |= {(leg(p), t) for t in types}
            assert set(p["dcerpc.auth_level"]) == {"6"} and set(p["dcerpc.auth_type"]) == {"10"}, p
    assert seen == {("client", 0), ("client", 2), ("upstream", 0), ("upstream", 2)}, seen

    # Unsealed with the proxy user's password: samr on the client leg, both
    # ways. (Wireshark's samr dissector calls impacket's SamrConnect request
    # malformed -- impacket's encoding of ServerName, not the proxy's doing --
    # so only what the proxy sends is held to "not malformed" here.)
    clear = rows(tshark(pcap, [port], "-o", f"ntlmssp.nt_password:{PROXY_PW}",
                        "-Y", f"samr.status && tcp.port == {port}", "-T", "fields",
                        "-E", "separator=/t", "-E", "aggregator=,", "-e", "tcp.srcport",
                        "-e", "samr.opnum", "-e", "samr.status",
                        "-e", "samr.samr_SamEntry.name", "-e", "_ws.malformed"))
    assert [(r + [""] * 4)[:4] for r in clear] == [
        [str(port), "0", "0x00000000", ""], [str(port), "6", "0x00000000", "MAPI,BUILTIN"]], \
        f"Wireshark did not unseal the proxy's SamrConnect / EnumerateDomains answers: {clear}"
    assert not any(r[4:] and r[4] for r in clear), clear
    assert_no_secrets(px, samba_dc)


# --------------------------------------------------------------------------
# ndrdump on the CHALLENGE
# --------------------------------------------------------------------------

@pytest.mark.parametrize("names", [None, ("PXHOST", "PXDOM")], ids=["default", "configured"])
def test_challenge_decodes_with_ndrdump(authpx, samba_dc, tmp_path, names):
    ndrdump = shutil.which("ndrdump")
    if not ndrdump:
        pytest.skip("ndrdump not installed (Debian package samba-testsuite)")
    opts = {}
    if names:
        opts = {"mapiproxy:netbios name": names[0], "mapiproxy:netbios domain": names[1]}
    px = authpx(**opts)
    with w.RawClient(px.listen, px.port) as c:
        _, chal = raw_ntlm_bind(c)
    f = tmp_path / "challenge.bin"
    f.write_bytes(chal)
    r = subprocess.run([ndrdump, "ntlmssp", "CHALLENGE_MESSAGE", "struct", str(f)],
                       capture_output=True, text=True, timeout=30)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "dump OK" in out, out
    host, dom = names or ("MAPIPROXY", "MAPIPROXY")
    vals = dict(re.findall(r"^\s*(TargetName|Av\w+)\s*: '([^']*)'$", out, re.M))
    assert vals == {"TargetName": dom, "AvNbComputerName": host, "AvNbDomainName": dom,
                    "AvDnsComputerName": host, "AvDnsDomainName": dom}, out
    avids = re.findall(r"AvId\s*: (\w+)", out)
    assert avids[-2:] == ["MsvAvTimestamp", "MsvAvEOL"], out
    assert "MessageType              : NtLmChallenge (0x2)" in out, out
    assert_no_secrets(px, samba_dc)
    assert_others_fine(px)
