"""Shared pieces of the authentication system tests (test_auth_negative.py,
test_auth_wire.py): an authenticating proxy against the Samba fixture, raw
PDUs carrying auth trailers, impacket sessions whose request fragments can be
captured and replayed, and the "no secrets in the log" check.

Import the fixtures into a test module with
``from auth_helpers import user_db, authpx  # noqa: F401`` (pytest finds
fixtures through the module namespace).
"""

from __future__ import annotations

import os
import struct
import subprocess
from typing import Callable, List, Optional, Tuple

import pytest
from impacket import ntlm
from impacket.dcerpc.v5 import rpcrt, samr, transport

import dcerpc_wire as w
from probe_samba import recv_pdu

USER_BIN = os.environ.get("MAPIPROXY_USER_BIN") or os.path.join(
    os.environ.get("MP_BUILD_DIR") or "build", "mapiproxy-user")
PROXY_USER, PROXY_PW = "alice", "Proxy-Alice-Pw-42!"

CONNECT = rpcrt.RPC_C_AUTHN_LEVEL_CONNECT
INTEGRITY = rpcrt.RPC_C_AUTHN_LEVEL_PKT_INTEGRITY
PRIVACY = rpcrt.RPC_C_AUTHN_LEVEL_PKT_PRIVACY

AUTH3 = 16
# auth types ([MS-RPCE] 2.2.1.1.7)
AUTH_SPNEGO, AUTH_NTLMSSP, AUTH_KRB5 = 9, 10, 16
# fault statuses of a failed verification (src/dcerpc/sec.h)
FAULT_ACCESS_DENIED = 0x00000005
FAULT_SEC_PKG_ERROR = 0x00000721

SAMR_CTX = [(0, w.SAMR, [w.NDR])]


# --------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def user_db(tmp_path_factory):
    """A user db with PROXY_USER / PROXY_PW (any domain), made by mapiproxy-user
    once per module (the proxies only read it)."""
    if not os.path.exists(USER_BIN):
        pytest.skip(f"{USER_BIN} not built")
    db = tmp_path_factory.mktemp("userdb") / "users.db"
    r = subprocess.run([USER_BIN, "--db", str(db), "add", PROXY_USER], input=PROXY_PW + "\n",
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    return db


@pytest.fixture
def authpx(mapiproxy, samba_dc, user_db):
    """start(binding=None, **options) -> a proxy for samr that requires
    authentication (user db) and authenticates upstream as the DC's
    Administrator."""
    def start(binding=None, **extra):
        opts = {"mapiproxy:auth required": "yes", "mapiproxy:user db": str(user_db),
                "dcerpc_mapiproxy:username": samba_dc.admin_user,
                "dcerpc_mapiproxy:domain": samba_dc.domain,
                "dcerpc_mapiproxy:password": samba_dc.admin_password}
        opts.update(extra)
        return mapiproxy(interfaces="samr", binding=binding, options=opts)
    return start


# --------------------------------------------------------------------------
# impacket sessions
# --------------------------------------------------------------------------

def dce_bound(binding: str, level: int, user: str = PROXY_USER, password: str = PROXY_PW,
              domain: str = ""):
    """(transport, dce) bound to samr over an NTLMSSP-authenticated association."""
    t = transport.DCERPCTransportFactory(binding)
    t.set_credentials(user, password, domain)
    t.set_connect_timeout(10)
    d = t.get_dce_rpc()
    d.set_auth_type(rpcrt.RPC_C_AUTHN_WINNT)
    d.set_auth_level(level)
    d.connect()
    d.bind(samr.MSRPC_UUID_SAMR)
    return t, d


def samr_domains(binding: str, level: int, user: str = PROXY_USER, password: str = PROXY_PW,
                 domain: str = "") -> List[str]:
    """SamrConnect + EnumerateDomains over an authenticated association."""
    t, d = dce_bound(binding, level, user, password, domain)
    try:
        h = samr.hSamrConnect(d)["ServerHandle"]
        return [x["Name"] for x in samr.hSamrEnumerateDomainsInSamServer(d, h)["Buffer"]["Buffer"]]
    finally:
        d.disconnect()


def assert_others_fine(px, level: int = PRIVACY) -> None:
    """A well-behaved authenticated session through the same proxy still works."""
    assert samr_domains(px.binding(), level) == ["MAPI", "BUILTIN"]


def request_bytes(t, d, req) -> bytes:
    """The fragment(s) impacket would send for `req` (signed / sealed, with the
    next sequence number), captured instead of sent. The dce's sequence
    number advances, as if it had been sent."""
    out = []
    real = t.send
    t.send = lambda data, *a, **kw: out.append(bytes(data))
    try:
        d.call(req.opnum, req)
    finally:
        t.send = real
    return b"".join(out)


def samr_connect_req():
    req = samr.SamrConnect()
    req["ServerName"] = "\x00"
    req["DesiredAccess"] = samr.MAXIMUM_ALLOWED
    return req


def recv_raw(sock, timeout: float = 5.0) -> Tuple[str, bytes]:
    return recv_pdu(sock, timeout)


def expect_fault_and_close(sock, status: int, call_id: Optional[int] = None) -> dict:
    """The next PDU is a fault with `status`, then the proxy closes the connection."""
    kind, p = recv_pdu(sock, 5.0)
    assert kind == "PDU", f"expected a fault, got {kind} {p[:64].hex()}"
    d = w.decode(p)
    assert d["ptype"] == w.FAULT, d
    assert d["status"] == status, f"fault 0x{d['status']:08x}, expected 0x{status:08x}"
    if call_id is not None:
        assert d["call_id"] == call_id, d
    assert d["auth_len"] == 0, "a fault carries no verifier"
    kind, rest = recv_pdu(sock, 5.0)
    assert kind in ("EOF", "RST") and not rest, \
        f"expected the proxy to close the connection, got {kind} {rest[:64].hex()}"
    return d


# --------------------------------------------------------------------------
# raw PDUs with auth trailers
# --------------------------------------------------------------------------

def sec_trailer(auth_type: int, level: int, ctx_id: int, pad: int = 0) -> bytes:
    return struct.pack("<BBBBI", auth_type, level, pad, 0, ctx_id)


def with_auth(pdu: bytes, auth_type: int, level: int, token: bytes, ctx_id: int = 1) -> bytes:
    """pdu (a bind / alter / auth3 without auth) + 4-alignment + sec_trailer +
    token, frag_length and auth_length patched."""
    pad = (-len(pdu)) % 4
    body = pdu + b"\0" * pad + sec_trailer(auth_type, level, ctx_id, pad) + token
    return body[:8] + struct.pack("<HH", len(body), len(token)) + body[12:]


def auth_bind(token: bytes, auth_type: int = AUTH_NTLMSSP, level: int = INTEGRITY,
              ctx_id: int = 1, call_id: int = 1, ctxs=None) -> bytes:
    return with_auth(w.bind_pdu(ctxs or SAMR_CTX, call_id=call_id), auth_type, level, token,
                     ctx_id)


def auth3_pdu(token: bytes, auth_type: int = AUTH_NTLMSSP, level: int = INTEGRITY,
              ctx_id: int = 1, call_id: int = 1) -> bytes:
    """auth3: header, 4 pad bytes, sec_trailer, token."""
    return with_auth(w.hdr(AUTH3, w.PFC_FIRST | w.PFC_LAST, 20, call_id) + b"\0" * 4,
                     auth_type, level, token, ctx_id)


def auth_token(pdu: bytes) -> bytes:
    """The auth_value of a PDU with an auth trailer."""
    alen = struct.unpack_from("<H", pdu, 10)[0]
    return pdu[len(pdu) - alen:] if alen else b""


def ntlm_negotiate(sign: bool = True, ntlmv2: bool = True, ess: bool = True):
    """impacket's NEGOTIATE (as rpcrt builds it), optionally without extended
    session security."""
    neg = ntlm.getNTLMSSPType1("", "", signingRequired=sign, use_ntlmv2=ntlmv2)
    if not ess:
        neg["flags"] &= ~ntlm.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY & 0xffffffff
    return neg


def raw_ntlm_bind(c: "w.RawClient", level: int = INTEGRITY, neg=None) -> Tuple[object, bytes]:
    """Bind to samr with an NTLMSSP NEGOTIATE; returns (negotiate, CHALLENGE bytes)."""
    neg = neg or ntlm_negotiate()
    d = c.xchg(auth_bind(neg.getData(), level=level))
    assert d["ptype"] == w.BIND_ACK, d
    assert w.results_of(d) == [(0, 0)], d
    chal = auth_token(d["raw"])
    assert chal[:8] == b"NTLMSSP\0" and struct.unpack_from("<I", chal, 8)[0] == 2, chal[:16].hex()
    return neg, chal


# --------------------------------------------------------------------------
# secrets
# --------------------------------------------------------------------------

def nt_hash_hex(password: str) -> str:
    return ntlm.compute_nthash(password).hex()


def assert_no_secrets(px, samba_dc, *extra: str) -> None:
    """Neither password nor NT hash (hex, either case) of the proxy user or of
    the upstream identity, nor anything in `extra`, is in the log / stderr."""
    text = px.log_text() + px.stderr_text()
    secrets = [PROXY_PW, samba_dc.admin_password, *extra]
    for pw in (PROXY_PW, samba_dc.admin_password):
        h = nt_hash_hex(pw)
        secrets += [h, h.upper()]
    for sec in secrets:
        assert sec not in text, "a secret is in the log"


def wait_log_or_fail(px, needle: str, timeout: float = 5.0) -> None:
    assert px.wait_log(needle, timeout), f"{needle!r} not logged:\n{px.log_text()[-3000:]}"


def capture_send(t) -> Tuple[List[bytes], Callable[[], None]]:
    """Record everything sent on t (still sending it); returns (frames, restore)."""
    frames: List[bytes] = []
    real = t.send

    def rec(data, *a, **kw):
        frames.append(bytes(data))
        return real(data, *a, **kw)
    t.send = rec

    def restore():
        t.send = real
    return frames, restore
