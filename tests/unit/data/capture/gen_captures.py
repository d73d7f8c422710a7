#!/usr/bin/python3
"""Write the capture vectors of tests/unit/test_dce_stream.c: real DCE/RPC
traffic between real clients and a throwaway Samba AD DC, captured on lo.

    sudo /usr/bin/python3 tests/unit/data/capture/gen_captures.py [OUTDIR]

Needs what the system tests need (samba, dumpcap, rpcclient, python3-impacket)
and root (an address on lo, a capture on lo). The DC is the one of
tests/system/samba_dc.py: domain MAPI, user Administrator, password
ADMIN_PASSWORD ("Mapi-Proxy-Test-Pw1!"), a test-only secret. The files:

  samba_impacket_ntlm_seal.pcapng   impacket, auth type 10 (NTLMSSP) at
      PKT_PRIVACY, no MIC, auth3: SamrConnect, EnumerateDomains,
      LookupDomain, OpenDomain, LookupNamesInDomain of 1000 names (a request
      of several fragments and a response of several fragments),
      CloseHandle x2
  samba_rpcclient_ntlm_seal.pcapng  rpcclient [ntlm,seal]: NTLMSSP with MIC,
      header signing, "enumdomains"
  samba_rpcclient_spnego_seal.pcapng  rpcclient [spnego,seal]: SPNEGO
      (type 9) with NTLMSSP, mechListMIC both ways over alter_context,
      "enumdomains"
  samba_rpcclient_spnego_sign.pcapng  the same at PKT_INTEGRITY

Each rpcclient capture also holds its epmapper connection (port 135,
unauthenticated). Timestamps and ports differ from run to run; the tests
only rely on what the protocol fixes.
"""
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "system"))

from impacket.dcerpc.v5 import rpcrt, samr, transport  # noqa: E402

from samba_dc import ADMIN_PASSWORD, DOMAIN, SambaDC, free_ip  # noqa: E402


class Capture:
    """dumpcap on lo, host-filtered; stopped by PID (SIGINT) on exit."""

    def __init__(self, path, host):
        self.proc = subprocess.Popen(["dumpcap", "-i", "lo", "-q", "-f", f"host {host}",
                                      "-w", path], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.5)  # dumpcap is listening before the first packet

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        time.sleep(1.0)  # the last packets reach the file
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def impacket_session(dc):
    t = transport.DCERPCTransportFactory(f"ncacn_ip_tcp:{dc.ip}[{dc.tcp_port('samr')}]")
    t.set_credentials(dc.admin_user, ADMIN_PASSWORD, DOMAIN)
    t.set_connect_timeout(10)
    d = t.get_dce_rpc()
    d.set_auth_type(rpcrt.RPC_C_AUTHN_WINNT)
    d.set_auth_level(rpcrt.RPC_C_AUTHN_LEVEL_PKT_PRIVACY)
    d.connect()
    try:
        d.bind(samr.MSRPC_UUID_SAMR)
        h = samr.hSamrConnect(d)["ServerHandle"]
        samr.hSamrEnumerateDomainsInSamServer(d, h)
        sid = samr.hSamrLookupDomainInSamServer(d, h, DOMAIN)["DomainId"]
        dh = samr.hSamrOpenDomain(d, h, domainId=sid)["DomainHandle"]
        req = samr.SamrLookupNamesInDomain()
        req["DomainHandle"] = dh
        names = ["Administrator", "Guest"] + [f"nobody{i:04d}" for i in range(998)]
        req["Count"] = len(names)
        for n in names:
            e = samr.RPC_UNICODE_STRING()
            e["Data"] = n
            req["Names"].append(e)
        try:
            d.request(req)
        except samr.DCERPCSessionError as e:  # STATUS_SOME_NOT_MAPPED
            if e.get_error_code() != 0x00000107:
                raise
        samr.hSamrCloseHandle(d, dh)
        samr.hSamrCloseHandle(d, h)
    finally:
        d.disconnect()


def rpcclient(dc, flags):
    r = subprocess.run(["rpcclient", "--use-kerberos=off", "-W", DOMAIN, "-U",
                        f"{dc.admin_user}%{ADMIN_PASSWORD}", f"ncacn_ip_tcp:{dc.ip}[{flags}]",
                        "-c", "enumdomains"], capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    if r.returncode != 0 or "BUILTIN" not in r.stdout:
        raise RuntimeError(f"rpcclient {flags}: {r.stdout}{r.stderr}")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else HERE
    dc = SambaDC(ip=free_ip(2), base_dir=os.path.join("/tmp", f"mapidump-gen-{os.getpid()}"))
    dc.start()
    try:
        with Capture(os.path.join(out, "samba_impacket_ntlm_seal.pcapng"), dc.ip):
            impacket_session(dc)
        for flags, name in [("ntlm,seal", "samba_rpcclient_ntlm_seal"),
                            ("spnego,seal", "samba_rpcclient_spnego_seal"),
                            ("spnego,sign", "samba_rpcclient_spnego_sign")]:
            with Capture(os.path.join(out, name + ".pcapng"), dc.ip):
                rpcclient(dc, flags)
    finally:
        dc.stop()


if __name__ == "__main__":
    main()
