"""A scriptable fake DCE/RPC server used as mapiproxy's upstream.

It answers binds correctly (every context with NDR20 accepted, NDR64 refused,
bind-time feature negotiation acknowledged) and then behaves according to
the opnum of each request, so one instance covers every misbehaviour:

    OP_ECHO      response stub = request stub
    OP_GARBAGE   64 bytes of garbage instead of a PDU
    OP_TRUNCATE  the first 20 bytes of a response, then close
    OP_TOO_LONG  a response fragment longer than the negotiated max_recv
    OP_WRONG_ID  a response for a call_id that was never sent
    OP_CLOSE     close the connection without answering
    OP_DELAY     echo after `delay` seconds
    OP_BIG       response stub of N bytes (N = first 4 request stub bytes, LE)
    OP_FAULT     fault nca_s_op_rng_error
    OP_HOLD      never answer (the call stays in flight)
    OP_PARTIAL   the first fragment of a 3-fragment response, then close

bind_mode: "ok" (default), "silent" (never answer a bind), "nak" (bind_nak 0).
`canned` maps an opnum to a fixed response stub; it takes precedence over the
behaviours above (a stand-in server for interfaces Samba does not serve,
such as NSPI and EMSMDB, with replies built by impacket or from vectors).
Everything it receives is recorded (binds, request fragment sizes, stubs).
Each connection is served by its own thread; every loop is bounded.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from typing import Dict, List

from dcerpc_wire import (ALTER, ALTER_RESP, BIND, BIND_ACK, BIND_NAK, FAULT, NCA_S_OP_RNG_ERROR,
                         PFC_FIRST, PFC_LAST, REQUEST, RESPONSE, decode, hdr)
from probe_samba import recv_pdu
from samba_dc import ensure_loopback_ip

OP_ECHO, OP_GARBAGE, OP_TRUNCATE, OP_TOO_LONG, OP_WRONG_ID = 0, 1, 2, 3, 4
OP_CLOSE, OP_DELAY, OP_BIG, OP_FAULT, OP_HOLD, OP_PARTIAL = 5, 6, 7, 8, 9, 10

NDR_UUID = "8a885d04-1ceb-11c9-9fe8-08002b104860"
NDR64_UUID = "71710533-beba-4937-8319-b5dbef9ccc36"
BTFN_PREFIX = "6cb71c2c-9812-4540-"


_PATTERN = bytes(range(251)) * 4096  # ~1 MB


def pattern(n: int) -> bytes:
    """n bytes of 0, 1, ..., 250, 0, 1, ..."""
    reps = n // len(_PATTERN) + 1
    return (_PATTERN * reps)[:n] if reps > 1 else _PATTERN[:n]


class FakeUpstream:
    def __init__(self, ip: str = "127.0.0.9", max_frag: int = 5840, bind_mode: str = "ok",
                 delay: float = 1.0, lifetime: float = 300.0,
                 canned: Dict[int, bytes] | None = None):
        ensure_loopback_ip(ip)
        self.ip = ip
        self.max_frag = max_frag
        self.bind_mode = bind_mode
        self.delay = delay
        self.lifetime = lifetime
        self.canned = dict(canned or {})
        self.lock = threading.Lock()
        self.binds: List[dict] = []
        self.requests: List[dict] = []   # {call_id, opnum, frags: [len], stub}
        self.connections = 0
        self.errors: List[str] = []
        self._stop = threading.Event()
        self._conns: List[socket.socket] = []
        self._threads: List[threading.Thread] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((ip, 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]

    @property
    def binding(self) -> str:
        return f"ncacn_ip_tcp:{self.ip}[{self.port}]"

    # -- lifecycle -------------------------------------------------------
    def start(self) -> "FakeUpstream":
        t = threading.Thread(target=self._accept_loop, name="fake-upstream-accept", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        with self.lock:
            conns = list(self._conns)
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
        for t in list(self._threads):
            t.join(timeout=5)
        with contextlib.suppress(OSError):
            self.sock.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- server ----------------------------------------------------------
    def _accept_loop(self) -> None:
        deadline = time.monotonic() + self.lifetime
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.connections += 1
                self._conns.append(c)
            t = threading.Thread(target=self._serve, args=(c,), daemon=True,
                                 name="fake-upstream-conn")
            t.start()
            self._threads.append(t)

    def _serve(self, c: socket.socket) -> None:
        try:
            self._serve_inner(c)
        except OSError:
            pass
        except Exception as e:  # noqa: BLE001 - reported through self.errors
            with self.lock:
                self.errors.append(repr(e))
        finally:
            with contextlib.suppress(OSError):
                c.close()

    def _serve_inner(self, c: socket.socket) -> None:
        xmit = self.max_frag     # what we send: negotiated at bind
        recv_max = self.max_frag
        pending: Dict[int, dict] = {}
        deadline = time.monotonic() + self.lifetime
        for _ in range(100000):  # bounded
            if self._stop.is_set() or time.monotonic() > deadline:
                return
            kind, p = recv_pdu(c, 0.5)
            if kind == "TIMEOUT" and not p:
                continue
            if kind != "PDU":
                return
            d = decode(p)
            pt = d["ptype"]
            if pt in (BIND, ALTER):
                with self.lock:
                    self.binds.append(d)
                if self.bind_mode == "silent":
                    continue
                if self.bind_mode == "nak":
                    c.sendall(hdr(BIND_NAK, 3, 16 + 4, d["call_id"]) + struct.pack("<HBB", 0, 0, 0))
                    continue
                if pt == BIND:
                    xmit = min(d["max_recv"], self.max_frag)
                    recv_max = min(d["max_xmit"], self.max_frag)
                c.sendall(self._bind_ack(d, xmit, recv_max))
                continue
            if pt != REQUEST:
                continue
            call = pending.setdefault(d["call_id"], {"call_id": d["call_id"], "frags": [],
                                                     "stub": b"", "opnum": d.get("opnum"),
                                                     "objects": []})
            call["objects"].append(d["object"])
            call["frags"].append(d["frag_len"])
            call["stub"] += d["stub"]
            if d["frag_len"] > recv_max:
                with self.lock:
                    self.errors.append(f"request fragment {d['frag_len']} > {recv_max}")
            if not d["flags"] & PFC_LAST:
                continue
            del pending[d["call_id"]]
            with self.lock:
                self.requests.append(call)
            if not self._answer(c, call, d["ctx_id"], xmit):
                return

    def _bind_ack(self, d: dict, xmit: int, recv_max: int) -> bytes:
        sec = str(self.port).encode() + b"\0"
        body = struct.pack("<HHIH", xmit, recv_max, d["assoc_group"] or 0x4242, len(sec)) + sec
        body += b"\0" * ((-(16 + len(body))) % 4)
        body += struct.pack("<B3x", len(d["ctxs"]))
        ndr = bytes.fromhex("045d888aeb1cc9119fe808002b104860") + struct.pack("<I", 2)
        for _cid, _ab, tss in d["ctxs"]:
            res = struct.pack("<HH", 2, 2) + b"\0" * 20
            for ts in tss:
                if ts[0] == NDR_UUID:
                    res = struct.pack("<HH", 0, 0) + ndr
                    break
                if ts[0].startswith(BTFN_PREFIX):
                    features = int(ts[0][19:21], 16) & 3
                    res = struct.pack("<HH", 3, features) + b"\0" * 20
                    break
            body += res
        ptype = BIND_ACK if d["ptype"] == BIND else ALTER_RESP
        return hdr(ptype, PFC_FIRST | PFC_LAST, 16 + len(body), d["call_id"]) + body

    @staticmethod
    def _response(call_id: int, ctx_id: int, stub: bytes, xmit: int) -> bytes:
        room = xmit - 24
        chunks = [stub[i:i + room] for i in range(0, len(stub), room)] or [b""]
        out = b""
        for i, ch in enumerate(chunks):
            flags = (PFC_FIRST if i == 0 else 0) | (PFC_LAST if i == len(chunks) - 1 else 0)
            body = struct.pack("<IHBB", len(stub) - i * room, ctx_id, 0, 0) + ch
            out += hdr(RESPONSE, flags, 16 + len(body), call_id) + body
        return out

    def _answer(self, c: socket.socket, call: dict, ctx_id: int, xmit: int) -> bool:
        """Answer one complete request; False = stop serving the connection."""
        op, cid, stub = call["opnum"], call["call_id"], call["stub"]
        if op in self.canned:
            c.sendall(self._response(cid, ctx_id, self.canned[op], xmit))
        elif op == OP_ECHO:
            c.sendall(self._response(cid, ctx_id, stub, xmit))
        elif op == OP_GARBAGE:
            c.sendall(b"\xde\xad\xbe\xef" * 16)
        elif op == OP_TRUNCATE:
            c.sendall(self._response(cid, ctx_id, pattern(100), xmit)[:20])
            return False
        elif op == OP_TOO_LONG:
            n = xmit + 100
            body = struct.pack("<IHBB", n - 24, ctx_id, 0, 0) + pattern(n - 24)
            c.sendall(hdr(RESPONSE, PFC_FIRST | PFC_LAST, n, cid) + body)
        elif op == OP_WRONG_ID:
            c.sendall(self._response(cid + 1000, ctx_id, stub, xmit))
        elif op == OP_CLOSE:
            return False
        elif op == OP_DELAY:
            if self._stop.wait(self.delay):
                return False
            c.sendall(self._response(cid, ctx_id, stub, xmit))
        elif op == OP_BIG:
            n = struct.unpack_from("<I", stub, 0)[0]
            c.sendall(self._response(cid, ctx_id, pattern(n), xmit))
        elif op == OP_FAULT:
            body = struct.pack("<IHBBI4x", 32, ctx_id, 0, 0, NCA_S_OP_RNG_ERROR)
            c.sendall(hdr(FAULT, PFC_FIRST | PFC_LAST | 0x20, 16 + len(body), cid) + body)
        elif op == OP_HOLD:
            pass
        elif op == OP_PARTIAL:
            rsp = self._response(cid, ctx_id, pattern(3 * (xmit - 24)), xmit)
            c.sendall(rsp[:xmit])
            return False
        else:
            c.sendall(self._response(cid, ctx_id, stub, xmit))
        return True
