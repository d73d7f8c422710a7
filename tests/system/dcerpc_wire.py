"""Raw DCE/RPC (ncacn_ip_tcp) PDUs for the system tests.

Builds on the helpers of probe_samba.py (syntaxes, headers, recv_pdu) and adds
what the tests need on top: binds with chosen fragment sizes / header fields,
fragmented requests, decoding into plain ints, and a small blocking client.
"""

from __future__ import annotations

import socket
import struct
import time
import uuid
from typing import List, Optional, Tuple

from probe_samba import (BTFN3, EPM, LSA, NDR, NDR64, SAMR, SAMR_CONNECT_STUB, UNKNOWN, _syn,
                         recv_pdu)
from samba_dc import KNOWN_IFACES

# Syntaxes (uuid, major, minor) re-exported for the tests.
SYNTAXES = (BTFN3, EPM, LSA, NDR, NDR64, SAMR, UNKNOWN)

DSSETUP = (KNOWN_IFACES["dssetup"], 0, 0)
WKSSVC = (KNOWN_IFACES["wkssvc"], 1, 0)
NETLOGON = (KNOWN_IFACES["netlogon"], 1, 0)

# PDU types
REQUEST, RESPONSE, FAULT = 0, 2, 3
BIND, BIND_ACK, BIND_NAK, ALTER, ALTER_RESP = 11, 12, 13, 14, 15
# pfc flags
PFC_FIRST, PFC_LAST, PFC_CONC_MPX, PFC_DID_NOT_EXECUTE = 0x01, 0x02, 0x10, 0x20
PFC_OBJECT_UUID = 0x80
# fault statuses
NCA_S_COMM_FAILURE = 0x1C010001
NCA_S_OP_RNG_ERROR = 0x1C010002
NCA_S_UNK_IF = 0x1C010003
NCA_S_PROTO_ERROR = 0x1C01000B
NCA_S_SERVER_TOO_BUSY = 0x1C010014
# bind_nak reasons
NAK_NOT_SPECIFIED, NAK_TEMPORARY_CONGESTION = 0, 1
NAK_PROTOCOL_VERSION_NOT_SUPPORTED, NAK_AUTH_TYPE_NOT_RECOGNIZED = 4, 8

DREP_LE = b"\x10\0\0\0"


def hdr(ptype: int, flags: int, frag_len: int, call_id: int, auth_len: int = 0,
        vers: int = 5, minor: int = 0, drep: bytes = DREP_LE) -> bytes:
    return struct.pack("<BBBB4sHHI", vers, minor, ptype, flags, drep, frag_len, auth_len,
                       call_id)


def bind_body(ctxs, max_xmit=4280, max_recv=4280, assoc=0) -> bytes:
    body = struct.pack("<HHIB3x", max_xmit, max_recv, assoc, len(ctxs))
    for cid, absyn, tss in ctxs:
        body += struct.pack("<HBx", cid, len(tss)) + _syn(absyn) + b"".join(_syn(t) for t in tss)
    return body


def bind_pdu(ctxs, call_id=1, ptype=BIND, max_xmit=4280, max_recv=4280, assoc=0,
             flags=PFC_FIRST | PFC_LAST, vers=5, minor=0) -> bytes:
    """ctxs: [(ctx_id, (uuid, major, minor), [transfer syntax, ...]), ...]"""
    body = bind_body(ctxs, max_xmit, max_recv, assoc)
    return hdr(ptype, flags, 16 + len(body), call_id, vers=vers, minor=minor) + body


def request_pdu(ctx_id: int, opnum: int, stub: bytes, call_id: int = 2,
                flags: int = PFC_FIRST | PFC_LAST, alloc_hint: Optional[int] = None,
                obj: Optional[str] = None) -> bytes:
    body = struct.pack("<IHH", len(stub) if alloc_hint is None else alloc_hint, ctx_id, opnum)
    if obj is not None:
        flags |= PFC_OBJECT_UUID
        body += uuid.UUID(obj).bytes_le
    body += stub
    return hdr(REQUEST, flags, 16 + len(body), call_id) + body


def request_frags(ctx_id: int, opnum: int, stub: bytes, call_id: int, max_frag: int,
                  obj: Optional[str] = None) -> bytes:
    """The request cut into fragments of at most max_frag bytes."""
    room = max_frag - 24 - (16 if obj else 0)
    out = b""
    chunks = [stub[i:i + room] for i in range(0, len(stub), room)] or [b""]
    for i, ch in enumerate(chunks):
        flags = (PFC_FIRST if i == 0 else 0) | (PFC_LAST if i == len(chunks) - 1 else 0)
        out += request_pdu(ctx_id, opnum, ch, call_id, flags, alloc_hint=len(stub) - i * room,
                           obj=obj)
    return out


def decode(p: bytes) -> dict:
    """Header and body fields of one PDU as ints."""
    vers, minor, pt, fl, drep, flen, alen, cid = struct.unpack_from("<BBBB4sHHI", p, 0)
    d = {"vers": vers, "minor": minor, "ptype": pt, "flags": fl, "frag_len": flen,
         "auth_len": alen, "call_id": cid, "raw": p}
    b = p[16:]
    if pt in (BIND, ALTER):
        mx, mr, ag, n = struct.unpack_from("<HHIB", b, 0)
        off, ctxs = 12, []
        for _ in range(n):
            cid_, nts = struct.unpack_from("<HB", b, off)
            ab = (str(uuid.UUID(bytes_le=b[off + 4:off + 20])),) + struct.unpack_from("<HH", b, off + 20)
            off += 24
            tss = []
            for _ in range(nts):
                tss.append((str(uuid.UUID(bytes_le=b[off:off + 16])),)
                           + struct.unpack_from("<HH", b, off + 16))
                off += 20
            ctxs.append((cid_, ab, tss))
        d.update(max_xmit=mx, max_recv=mr, assoc_group=ag, ctxs=ctxs)
    elif pt in (BIND_ACK, ALTER_RESP):
        mx, mr, ag, sal = struct.unpack_from("<HHIH", b, 0)
        off = (10 + sal + 3) & ~3
        n = b[off]
        off += 4
        res = []
        for _ in range(n):
            r, rs = struct.unpack_from("<HH", b, off)
            ts = str(uuid.UUID(bytes_le=b[off + 4:off + 20]))
            tv = struct.unpack_from("<I", b, off + 20)[0]
            res.append((r, rs, ts, tv))
            off += 24
        d.update(max_xmit=mx, max_recv=mr, assoc_group=ag, sec_addr=b[10:10 + sal],
                 results=res)
    elif pt == BIND_NAK:
        d.update(reason=struct.unpack_from("<H", b, 0)[0])
    elif pt == FAULT:
        ah, ctx, cc, _r, st = struct.unpack_from("<IHBBI", b, 0)
        d.update(alloc_hint=ah, ctx_id=ctx, status=st)
    elif pt in (REQUEST, RESPONSE):
        start = 24
        if pt == REQUEST:
            ah, ctx, op = struct.unpack_from("<IHH", b, 0)
            d.update(opnum=op, object=None)
            if fl & PFC_OBJECT_UUID:
                d["object"] = str(uuid.UUID(bytes_le=p[24:40]))
                start = 40
        else:
            ah, ctx = struct.unpack_from("<IH", b, 0)
        stub_end = len(p) - (alen + 8 if alen else 0)
        d.update(alloc_hint=ah, ctx_id=ctx, stub=p[start:stub_end])
    return d


def results_of(d: dict) -> List[Tuple[int, int]]:
    """(result, reason) per context of a decoded bind_ack / alter_context_resp."""
    return [(r[0], r[1]) for r in d["results"]]


class RawClient:
    """A blocking ncacn_ip_tcp client speaking raw PDUs."""

    def __init__(self, ip: str, port: int, timeout: float = 5.0, rcvbuf: int = 0):
        if rcvbuf:  # before connecting, so the window stays small
            self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.s.settimeout(timeout)
            self.s.connect((ip, port))
        else:
            self.s = socket.create_connection((ip, port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass

    def send(self, data: bytes) -> None:
        self.s.sendall(data)

    def recv(self, timeout: float = 5.0) -> Tuple[str, bytes]:
        """("PDU", bytes) | ("EOF", partial) | ("TIMEOUT", partial) | ("RST", partial)"""
        return recv_pdu(self.s, timeout)

    def pdu(self, timeout: float = 5.0) -> dict:
        kind, p = self.recv(timeout)
        assert kind == "PDU", f"expected a PDU, got {kind} {p[:64].hex()}"
        return decode(p)

    def xchg(self, data: bytes, timeout: float = 5.0) -> dict:
        self.send(data)
        return self.pdu(timeout)

    def bind(self, ctxs, **kw) -> dict:
        return self.xchg(bind_pdu(ctxs, **kw))

    def call(self, ctx_id: int, opnum: int, stub: bytes, call_id: int,
             max_frag: int = 4280, timeout: float = 10.0, obj: Optional[str] = None) -> dict:
        """Send a (possibly fragmented) request; return the last decoded PDU with
        'stub' = the reassembled response stub and 'frags' = fragment lengths."""
        self.send(request_frags(ctx_id, opnum, stub, call_id, max_frag, obj))
        return self.collect(call_id, timeout)

    def collect(self, call_id: int, timeout: float = 10.0) -> dict:
        stub, frags = b"", []
        deadline = time.monotonic() + timeout
        for _ in range(100000):  # bounded
            d = self.pdu(max(0.1, deadline - time.monotonic()))
            assert d["call_id"] == call_id, f"call_id {d['call_id']} != {call_id}: {d}"
            frags.append(d["frag_len"])
            if d["ptype"] != RESPONSE:
                d["frags"] = frags
                return d
            stub += d["stub"]
            if d["flags"] & PFC_LAST:
                d["stub"], d["frags"] = stub, frags
                return d
        raise AssertionError("too many fragments")

    def closed(self, timeout: float = 3.0) -> bool:
        """True when the peer closes (EOF or reset) within timeout with nothing
        more to read; a PDU arriving instead is an assertion failure."""
        kind, p = self.recv(timeout)
        assert kind != "PDU", f"expected the connection to close, got {decode(p)}"
        return kind in ("EOF", "RST") and not p

    def samr_connect_ok(self, ctx_id: int = 0, call_id: int = 99) -> None:
        """A samr Connect on ctx_id must succeed (connection alive, context bound)."""
        d = self.call(ctx_id, 0, SAMR_CONNECT_STUB, call_id)
        assert d["ptype"] == RESPONSE, d
        assert struct.unpack_from("<I", d["stub"], len(d["stub"]) - 4)[0] == 0, d["stub"].hex()


def raw_bind_results(ip: str, port: int, ctxs) -> List[tuple]:
    with RawClient(ip, port) as c:
        d = c.bind(ctxs)
        assert d["ptype"] == BIND_ACK, d
        return d["results"]
