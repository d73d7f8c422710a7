#!/usr/bin/python3
"""Probe the behaviour of the throwaway Samba AD DC (facts the proxy relies on).

    /usr/bin/python3 tests/system/probe_samba.py            # starts its own DC on 127.0.0.2
    /usr/bin/python3 tests/system/probe_samba.py --ip 127.0.0.2 --no-start   # use a running DC

Prints: epm entries, anonymous / NTLM behaviour of lsarpc and samr, bind
results for NDR / NDR64 / bind-time feature negotiation, and the reaction to
malformed requests (raw PDUs over a socket).
"""

import argparse
import os
import socket
import struct
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from samba_dc import ADMIN_PASSWORD, DOMAIN, KNOWN_IFACES, SambaDC, epm_lookup  # noqa: E402

NDR = ("8a885d04-1ceb-11c9-9fe8-08002b104860", 2, 0)
NDR64 = ("71710533-beba-4937-8319-b5dbef9ccc36", 1, 0)
BTFN3 = ("6cb71c2c-9812-4540-0300-000000000000", 1, 0)
SAMR = (KNOWN_IFACES["samr"], 1, 0)
LSA = (KNOWN_IFACES["lsarpc"], 0, 0)
EPM = (KNOWN_IFACES["epmapper"], 3, 0)
UNKNOWN = ("01234567-89ab-cdef-0123-456789abcdef", 1, 0)
PTYPES = {0: "request", 2: "response", 3: "fault", 11: "bind", 12: "bind_ack",
          13: "bind_nak", 14: "alter_context", 15: "alter_context_resp", 16: "auth3"}


# ---------------------------------------------------------------- raw PDUs
def _syn(t):
    return uuid.UUID(t[0]).bytes_le + struct.pack("<HH", t[1], t[2])


def _hdr(ptype, flags, body_len, call_id, auth_len=0, vers=5, minor=0):
    return struct.pack("<BBBB4sHHI", vers, minor, ptype, flags, b"\x10\0\0\0",
                       16 + body_len, auth_len, call_id)


def bind_pdu(ctxs, call_id=1, ptype=11, minor=0):
    body = struct.pack("<HHIB3x", 4280, 4280, 0, len(ctxs))
    for cid, absyn, tss in ctxs:
        body += struct.pack("<HBx", cid, len(tss)) + _syn(absyn) + b"".join(_syn(t) for t in tss)
    return _hdr(ptype, 3, len(body), call_id, minor=minor) + body


def request_pdu(ctx_id, opnum, stub, call_id=2):
    body = struct.pack("<IHH", len(stub), ctx_id, opnum) + stub
    return _hdr(0, 3, len(body), call_id) + body


SAMR_CONNECT_STUB = struct.pack("<II", 0, 0x02000000)  # ServerName=NULL, MAXIMUM_ALLOWED


def recv_pdu(s, timeout=3.0):
    s.settimeout(timeout)
    buf = b""
    try:
        while len(buf) < 16:
            c = s.recv(16 - len(buf))
            if not c:
                return "EOF", buf
            buf += c
        flen = struct.unpack_from("<H", buf, 8)[0]
        while len(buf) < flen:
            c = s.recv(flen - len(buf))
            if not c:
                return "EOF", buf
            buf += c
        return "PDU", buf
    except socket.timeout:
        return "TIMEOUT", buf
    except ConnectionResetError:
        return "RST", buf


def parse(p):
    _v, _mi, pt, fl, _d, flen, alen, cid = struct.unpack_from("<BBBB4sHHI", p, 0)
    d = {"ptype": f"{pt}({PTYPES.get(pt, '?')})", "pfc_flags": hex(fl), "frag_len": flen,
         "auth_len": alen, "call_id": cid}
    b = p[16:]
    if pt in (12, 15):
        mx, mr, ag, sal = struct.unpack_from("<HHIH", b, 0)
        off = (10 + sal + 3) & ~3
        n = b[off]
        off += 4
        res = []
        for _ in range(n):
            r, rs = struct.unpack_from("<HH", b, off)
            ts = uuid.UUID(bytes_le=b[off + 4:off + 20])
            tv = struct.unpack_from("<I", b, off + 20)[0]
            res.append((r, rs, f"{ts} v{tv}"))
            off += 24
        d.update(max_xmit=mx, max_recv=mr, assoc_group=hex(ag), sec_addr=b[10:10 + sal], results=res)
    elif pt == 13:
        d.update(reject_reason=struct.unpack_from("<H", b, 0)[0], versions=b[2:].hex())
    elif pt == 3:
        ah, ctx, cc, _r, st = struct.unpack_from("<IHBBI", b, 0)
        d.update(alloc_hint=ah, ctx_id=ctx, cancel_count=cc, status=hex(st))
    elif pt == 2:
        ah, ctx = struct.unpack_from("<IH", b, 0)
        d.update(alloc_hint=ah, ctx_id=ctx, stub_len=len(b) - 8)
    return d


class Raw:
    def __init__(self, ip, port):
        self.s = socket.create_connection((ip, port), timeout=3)

    def x(self, pdu, label):
        self.s.sendall(pdu)
        kind, p = recv_pdu(self.s)
        print(f"    {label} -> {kind} {parse(p) if kind == 'PDU' else p.hex()}")
        return kind, p

    def alive(self, label="follow-up samr Connect on ctx 0"):
        try:
            self.s.sendall(request_pdu(0, 0, SAMR_CONNECT_STUB, call_id=99))
        except OSError as e:
            print(f"    {label} -> send failed {e!r}")
            return
        kind, p = recv_pdu(self.s, 1.5)
        desc = kind if kind != "PDU" else str({k: v for k, v in parse(p).items()
                                                if k in ("ptype", "status", "pfc_flags")})
        print(f"    {label} -> {desc}")

    def close(self):
        self.s.close()


# ---------------------------------------------------------------- probes
def q1(ip):
    print("== 1. endpoint mapper ==")
    eps = epm_lookup(ip)
    print(f"  ept_lookup entries: {len(eps)}")
    inv = {v: k for k, v in KNOWN_IFACES.items()}
    for u, v, p, e in sorted({x for x in eps if x[2] == "ncacn_ip_tcp"}, key=lambda x: (int(x[3]), x[0])):
        print(f"    tcp {e:>5} {u} v{v} {inv.get(u, '')}")
    try:
        from impacket.dcerpc.v5 import epm
        epm.hept_lookup(ip)
        print("  impacket hept_lookup: OK")
    except Exception as ex:  # noqa: BLE001
        print(f"  impacket hept_lookup: FAILS: {ex}")
    ports = sorted({int(e) for _u, _v, p, e in eps if p == "ncacn_ip_tcp"})
    for name, syn in (("epmapper", EPM), ("samr", SAMR), ("lsarpc", LSA)):
        row = []
        for port in ports:
            r = Raw(ip, port)
            r.s.sendall(bind_pdu([(0, syn, [NDR])]))
            _k, p = recv_pdu(r.s)
            r.close()
            row.append(f"{port}:{parse(p).get('results')[0][:2]}")
        print(f"  bind {name:8s} (result,reason) per port: {' '.join(row)}")
    return eps


def q23(ip, eps):
    from impacket import nt_errors
    from impacket.dcerpc.v5 import lsad, lsat, samr, transport
    from impacket.dcerpc.v5.dtypes import MAXIMUM_ALLOWED
    from impacket.dcerpc.v5.rpcrt import (RPC_C_AUTHN_LEVEL_CONNECT,
                                          RPC_C_AUTHN_LEVEL_PKT_INTEGRITY,
                                          RPC_C_AUTHN_LEVEL_PKT_PRIVACY, RPC_C_AUTHN_WINNT)

    def port_of(name):
        return next(int(e) for u, _v, p, e in eps if u == KNOWN_IFACES[name] and p == "ncacn_ip_tcp")

    def conn(name, iface, level, user="", pw=""):
        t = transport.DCERPCTransportFactory(f"ncacn_ip_tcp:{ip}[{port_of(name)}]")
        t.set_credentials(user, pw, DOMAIN if user else "")
        d = t.get_dce_rpc()
        if level is not None:
            d.set_auth_type(RPC_C_AUTHN_WINNT)
            d.set_auth_level(level)
        d.connect()
        d.bind(iface)
        return d

    def step(tag, fn):
        try:
            print(f"    {tag}: OK {fn()}")
            return True
        except Exception as ex:  # noqa: BLE001
            print(f"    {tag}: FAIL {type(ex).__name__} {str(ex)[:120]}")
            return False

    def lsa(d):
        box = {}

        def op():
            box["h"] = lsad.hLsarOpenPolicy2(d, MAXIMUM_ALLOWED | lsat.POLICY_LOOKUP_NAMES)["PolicyHandle"]
            return ""
        if not step("lsarpc OpenPolicy2", op):
            return
        h = box["h"]
        step("QueryInfoPolicy2(PRIMARY_DOMAIN)", lambda: lsad.hLsarQueryInformationPolicy2(
            d, h, lsad.POLICY_INFORMATION_CLASS.PolicyPrimaryDomainInformation)
            ["PolicyInformation"]["PolicyPrimaryDomainInfo"]["Name"])
        step("QueryInfoPolicy2(ACCOUNT_DOMAIN)", lambda: lsad.hLsarQueryInformationPolicy2(
            d, h, lsad.POLICY_INFORMATION_CLASS.PolicyAccountDomainInformation)
            ["PolicyInformation"]["PolicyAccountDomainInfo"]["DomainName"])
        step("LookupNames(Administrator)", lambda: [x["RelativeId"] for x in lsat.hLsarLookupNames(
            d, h, ["Administrator"])["TranslatedSids"]["Sids"]])

    def sam(d):
        box = {}

        def op():
            box["h"] = samr.hSamrConnect(d)["ServerHandle"]
            return ""
        if not step("samr Connect", op):
            return
        h = box["h"]
        step("EnumerateDomainsInSamServer", lambda: [x["Name"] for x in samr.hSamrEnumerateDomainsInSamServer(
            d, h)["Buffer"]["Buffer"]])

        def users():
            sid = samr.hSamrLookupDomainInSamServer(d, h, DOMAIN)["DomainId"]
            dh = samr.hSamrOpenDomain(d, h, domainId=sid)["DomainHandle"]
            out, ctx = [], 0
            for _ in range(50):
                try:
                    r = samr.hSamrEnumerateUsersInDomain(d, dh, enumerationContext=ctx)
                except samr.DCERPCSessionError as e:
                    if e.get_error_code() != nt_errors.STATUS_MORE_ENTRIES:
                        raise
                    r = e.get_packet()
                out += [(u["Name"], u["RelativeId"]) for u in r["Buffer"]["Buffer"]]
                ctx = r["EnumerationContext"]
                if r["ErrorCode"] != nt_errors.STATUS_MORE_ENTRIES:
                    break
            return out
        step("EnumerateUsersInDomain", users)

    print("== 2./3. lsarpc + samr over ncacn_ip_tcp ==")
    combos = [("no auth at all", None, "", ""),
              ("NTLM anonymous CONNECT", RPC_C_AUTHN_LEVEL_CONNECT, "", ""),
              ("NTLM anonymous PKT_INTEGRITY", RPC_C_AUTHN_LEVEL_PKT_INTEGRITY, "", ""),
              ("NTLM Administrator CONNECT", RPC_C_AUTHN_LEVEL_CONNECT, "Administrator", ADMIN_PASSWORD),
              ("NTLM Administrator PKT_INTEGRITY", RPC_C_AUTHN_LEVEL_PKT_INTEGRITY, "Administrator", ADMIN_PASSWORD),
              ("NTLM Administrator PKT_PRIVACY", RPC_C_AUTHN_LEVEL_PKT_PRIVACY, "Administrator", ADMIN_PASSWORD),
              ("NTLM Administrator wrong password PKT_PRIVACY", RPC_C_AUTHN_LEVEL_PKT_PRIVACY, "Administrator", "wrong")]
    for label, level, user, pw in combos:
        print(f"  -- {label}")
        for name, iface, fn in (("lsarpc", lsad.MSRPC_UUID_LSAD, lsa), ("samr", samr.MSRPC_UUID_SAMR, sam)):
            try:
                d = conn(name, iface, level, user, pw)
            except Exception as ex:  # noqa: BLE001
                print(f"    {name} bind: FAIL {ex}")
                continue
            fn(d)
            try:
                d.disconnect()
            except Exception:  # noqa: BLE001
                pass


def q4(ip, samr_port):
    print("== 4. NDR64 / bind-time feature negotiation (results are (result, reason, transfer syntax)) ==")
    cases = [
        ("[NDR]", [(0, SAMR, [NDR])]),
        ("[NDR64]", [(0, SAMR, [NDR64])]),
        ("[BTFN 0x3]", [(0, SAMR, [BTFN3])]),
        ("ctx0 NDR, ctx1 NDR64, ctx2 BTFN 0x3", [(0, SAMR, [NDR]), (1, SAMR, [NDR64]), (2, SAMR, [BTFN3])]),
        ("ctx0 [NDR64, NDR, BTFN]", [(0, SAMR, [NDR64, NDR, BTFN3])]),
    ] + [(f"ctx0 NDR, ctx1 BTFN mask 0x{m}", [(0, SAMR, [NDR]), (1, SAMR, [(
        f"6cb71c2c-9812-4540-0{m}00-000000000000", 1, 0)])]) for m in (0, 1, 2)]
    for port, absyn in ((samr_port, SAMR), (135, EPM)):
        for name, ctxs in cases:
            ctxs = [(c, absyn, t) for c, _a, t in ctxs]
            r = Raw(ip, port)
            print(f"  port {port} {name}")
            r.x(bind_pdu(ctxs), "bind")
            r.close()


def q5(ip, samr_port):
    print("== 5. error handling (raw PDUs) on samr port ==")
    r = Raw(ip, samr_port)
    print("  A) request on unknown context id 7")
    r.x(bind_pdu([(0, SAMR, [NDR])]), "bind samr")
    r.x(request_pdu(7, 0, SAMR_CONNECT_STUB), "request ctx=7 opnum=0")
    r.alive()
    print("  B) unknown opnum 200 (and 74 = first past samr's last opnum 73; 73 with empty stub)")
    for op in (200, 74, 73):
        r.x(request_pdu(0, op, b""), f"request ctx=0 opnum={op}")
        r.alive()
    r.close()
    print("  C) bind for unknown interface UUID")
    r = Raw(ip, samr_port)
    r.x(bind_pdu([(0, UNKNOWN, [NDR])]), "bind unknown iface")
    r.alive("follow-up request on never-accepted ctx 0")
    r.x(bind_pdu([(0, SAMR, [NDR])], call_id=3, ptype=14), "alter_context samr ctx0")
    r.alive()
    r.close()
    print("  D) bind samr with wrong version (v2.0)")
    r = Raw(ip, samr_port)
    r.x(bind_pdu([(0, (SAMR[0], 2, 0), [NDR])]), "bind samr v2.0")
    r.close()
    print("  E) request before bind")
    r = Raw(ip, samr_port)
    r.x(request_pdu(0, 0, SAMR_CONNECT_STUB), "request without bind")
    print(f"    then -> {recv_pdu(r.s, 1.5)[0]}")
    r.close()
    print("  F) second bind on a bound connection")
    r = Raw(ip, samr_port)
    r.x(bind_pdu([(0, SAMR, [NDR])]), "bind")
    r.x(bind_pdu([(1, SAMR, [NDR])], call_id=2), "bind again")
    print(f"    then -> {recv_pdu(r.s, 1.5)[0]}")
    r.close()
    print("  G) bind with rpc_vers_minor=1")
    r = Raw(ip, samr_port)
    r.x(bind_pdu([(0, SAMR, [NDR])], minor=1), "bind minor=1")
    print(f"    then -> {recv_pdu(r.s, 1.5)[0]}")
    r.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ip", default="127.0.0.2")
    ap.add_argument("--no-start", action="store_true", help="probe an already running DC")
    a = ap.parse_args()
    dc = None
    if not a.no_start:
        t0 = time.monotonic()
        dc = SambaDC(ip=a.ip).start()
        print(f"DC up in {time.monotonic() - t0:.2f}s pid={dc.pid} timings={dc.timings}")
    try:
        eps = q1(a.ip)
        q23(a.ip, eps)
        samr_port = next(int(e) for u, _v, p, e in eps if u == KNOWN_IFACES["samr"] and p == "ncacn_ip_tcp")
        q4(a.ip, samr_port)
        q5(a.ip, samr_port)
    finally:
        if dc:
            dc.stop()


if __name__ == "__main__":
    main()
