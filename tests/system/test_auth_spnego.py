"""SPNEGO (auth type 9) with NTLMSSP on the client leg, with Samba's own
client: rpcclient binds with [spnego,sign|seal] to the proxy, which answers
the NegTokenInit/NegTokenResp legs itself (user db) and authenticates to the
Samba DC with its own NTLMSSP identity. Results equal the direct ones."""

from __future__ import annotations

import shutil
import struct
import subprocess

import pytest
from impacket import ntlm, spnego

import dcerpc_wire as w
from auth_helpers import (AUTH_SPNEGO, FAULT_ACCESS_DENIED, INTEGRITY, PROXY_PW,  # noqa: F401
                          PROXY_USER, SAMR_CTX, assert_no_secrets, assert_others_fine,
                          auth3_pdu, auth_bind, auth_token, authpx, ntlm_negotiate,
                          user_db, wait_log_or_fail, with_auth)
from conftest import port_open

NTLMSSP_MECH = spnego.TypesMech["NTLMSSP - Microsoft NTLM Security Support Provider"]
KRB5_MECH = spnego.TypesMech["KRB5 - Kerberos 5"]
ACCEPT_COMPLETED, ACCEPT_INCOMPLETE, REJECT, REQUEST_MIC = 0, 1, 2, 3

LISTEN = "127.0.0.7"  # rpcclient finds the pipe through port 135 of the host


def rpcclient(binding: str, user: str, password: str, domain: str, cmds: str):
    exe = shutil.which("rpcclient")
    if not exe:
        pytest.skip("rpcclient not installed")
    # -k no / --use-kerberos=off: SPNEGO must settle on NTLMSSP.
    r = subprocess.run([exe, "--use-kerberos=off", "-W", domain, "-U", f"{user}%{password}",
                        binding, "-c", cmds],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    return r


@pytest.fixture
def spnego_px(mapiproxy, samba_dc, user_db):  # noqa: F811
    if port_open(LISTEN, 135, 0.2):
        pytest.skip(f"{LISTEN}:135 is taken")
    return mapiproxy(interfaces="samr", listen=LISTEN, epm_port=135, options={
        "mapiproxy:auth required": "yes", "mapiproxy:user db": str(user_db),
        "dcerpc_mapiproxy:username": samba_dc.admin_user,
        "dcerpc_mapiproxy:domain": samba_dc.domain,
        "dcerpc_mapiproxy:password": samba_dc.admin_password})


@pytest.mark.parametrize("flags,auth,level", [
    ("spnego,sign", "spnego", "pkt_integrity"),
    ("spnego,seal", "spnego", "pkt_privacy"),
    # Samba's client offers header signing and proves it in a verification
    # trailer inside the stub: the proxy must offer it upstream too.
    ("ntlm,seal", "ntlmssp", "pkt_privacy"),
])
def test_rpcclient_same_as_direct(spnego_px, samba_dc, flags, auth, level):
    cmds = "enumdomains;enumdomusers"
    direct = rpcclient(f"ncacn_ip_tcp:{samba_dc.ip}[{flags}]", samba_dc.admin_user,
                       samba_dc.admin_password, samba_dc.domain, cmds)
    assert direct.returncode == 0, direct.stdout + direct.stderr
    assert "name:[BUILTIN]" in direct.stdout and "user:[Administrator]" in direct.stdout
    via = rpcclient(f"ncacn_ip_tcp:{LISTEN}[{flags}]", PROXY_USER, PROXY_PW, "ANY", cmds)
    assert via.returncode == 0, via.stdout + via.stderr + spnego_px.log_text()
    assert via.stdout == direct.stdout
    log = spnego_px.log_text()
    assert f"client authenticated as ANY\\{PROXY_USER} ({auth}, {level})" in log
    assert_no_secrets(spnego_px, samba_dc)


def test_rpcclient_spnego_wrong_password(spnego_px, samba_dc):
    r = rpcclient(f"ncacn_ip_tcp:{LISTEN}[spnego,seal]", PROXY_USER, "not-the-password",
                  "ANY", "enumdomains")
    assert r.returncode != 0
    assert "name:[" not in r.stdout
    spnego_px.wait_log("client authentication failed for ANY\\alice: unknown user or wrong password")
    assert_no_secrets(spnego_px, samba_dc, "not-the-password")
    # The proxy is still fine for the next client.
    ok = rpcclient(f"ncacn_ip_tcp:{LISTEN}[spnego,seal]", PROXY_USER, PROXY_PW, "ANY",
                   "enumdomains")
    assert ok.returncode == 0 and "name:[BUILTIN]" in ok.stdout, ok.stdout + ok.stderr


# --------------------------------------------------------------------------
# The SPNEGO legs on the wire (raw PDUs, impacket's SPNEGO and NTLM codecs)
# --------------------------------------------------------------------------

def neg_token_init(mechs, token: bytes = b"") -> bytes:
    init = spnego.SPNEGO_NegTokenInit()
    init["MechTypes"] = mechs
    if token:
        init["MechToken"] = token
    return init.getData()


def neg_token_resp(token: bytes = b"", mic: bytes = b"") -> bytes:
    r = spnego.SPNEGO_NegTokenResp()
    if token:
        r["ResponseToken"] = token
    if mic:
        r["MechListMIC"] = mic
    return r.getData()


def _der(buf: bytes, i: int):
    """(tag, content, next index) of the DER element at buf[i] (short or long form)."""
    tag, n = buf[i], buf[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(buf[i:i + k], "big")
        i += k
    return tag, buf[i:i + n], i + n


def parse_resp(tok: bytes) -> dict:
    """NegTokenResp fields by context tag: {0: negState, 1: mech OID DER,
    2: responseToken, 3: mechListMIC} (impacket's parser needs a token)."""
    tag, seq, end = _der(tok, 0)
    assert tag == 0xA1 and end == len(tok)
    tag, body, _ = _der(seq, 0)
    assert tag == 0x30
    out, i = {}, 0
    while i < len(body):
        tag, inner, i = _der(body, i)
        _, value, _ = _der(inner, 0)
        out[tag - 0xA0] = value
    return out


NEG_STATE, SUPPORTED_MECH, RESPONSE_TOKEN, MECH_LIST_MIC = 0, 1, 2, 3
NTLMSSP_OID = bytes.fromhex("2b06010401823702020a")


def alter_pdu(token: bytes, call_id: int) -> bytes:
    return with_auth(w.bind_pdu(SAMR_CTX, call_id=call_id, ptype=w.ALTER), AUTH_SPNEGO,
                     INTEGRITY, token)


def test_spnego_bind_ack_carries_challenge(authpx, samba_dc):
    """NegTokenInit (NTLMSSP first, with the NEGOTIATE) -> bind_ack with a
    NegTokenResp: accept-incomplete, supportedMech NTLMSSP, the CHALLENGE."""
    px = authpx()
    with w.RawClient(px.listen, px.port) as c:
        d = c.xchg(auth_bind(neg_token_init([NTLMSSP_MECH], ntlm_negotiate().getData()),
                             auth_type=AUTH_SPNEGO))
        assert d["ptype"] == w.BIND_ACK, d
        assert w.results_of(d) == [(0, 0)], d
        r = parse_resp(auth_token(d["raw"]))
        assert r[NEG_STATE] == bytes([ACCEPT_INCOMPLETE])
        assert r[SUPPORTED_MECH] == NTLMSSP_OID
        chal = r[RESPONSE_TOKEN]
        assert chal[:8] == b"NTLMSSP\0" and struct.unpack_from("<I", chal, 8)[0] == 2


def test_spnego_without_ntlmssp_bind_nak(authpx, samba_dc):
    px = authpx()
    with w.RawClient(px.listen, px.port) as c:
        d = c.xchg(auth_bind(neg_token_init([KRB5_MECH], b"\x60\x03\x06\x01\x00"),
                             auth_type=AUTH_SPNEGO))
        assert d["ptype"] == w.BIND_NAK, d
        assert d["reason"] == w.NAK_AUTH_TYPE_NOT_RECOGNIZED, d
        assert c.closed()
    wait_log_or_fail(px, "SPNEGO without NTLMSSP among its 1 mechanism(s) (first: krb5)")
    assert_others_fine(px)


def _downgraded_to_challenge(c) -> bytes:
    """Kerberos first, NTLMSSP second: the proxy answers request-mic without a
    token; the NEGOTIATE then comes in an alter_context. Returns the CHALLENGE."""
    d = c.xchg(auth_bind(neg_token_init([KRB5_MECH, NTLMSSP_MECH], b"\x60\x03\x06\x01\x00"),
                         auth_type=AUTH_SPNEGO))
    assert d["ptype"] == w.BIND_ACK, d
    r = parse_resp(auth_token(d["raw"]))
    assert r == {NEG_STATE: bytes([REQUEST_MIC]), SUPPORTED_MECH: NTLMSSP_OID}
    d = c.xchg(alter_pdu(neg_token_resp(ntlm_negotiate().getData()), call_id=2))
    assert d["ptype"] == w.ALTER_RESP, d
    r = parse_resp(auth_token(d["raw"]))
    assert r[NEG_STATE] == bytes([ACCEPT_INCOMPLETE])
    return r[RESPONSE_TOKEN]


def test_spnego_downgrade_requires_mechlistmic(authpx, samba_dc):
    """After a downgrade the mechListMIC is mandatory ([RFC4178] 5): a last
    leg without one is refused with access denied and the connection closed,
    even with the right password."""
    px = authpx()
    with w.RawClient(px.listen, px.port) as c:
        chal = _downgraded_to_challenge(c)
        auth, _ = ntlm.getNTLMSSPType3(ntlm_negotiate(), chal, PROXY_USER, PROXY_PW, "ANY",
                                       use_ntlmv2=True)
        c.send(alter_pdu(neg_token_resp(auth.getData()), call_id=3))
        d = c.pdu()
        assert d["ptype"] == w.FAULT and d["status"] == FAULT_ACCESS_DENIED, d
        assert c.closed()
    wait_log_or_fail(px, "SPNEGO mechListMIC missing")
    assert_no_secrets(px, samba_dc)
    assert_others_fine(px)


def test_spnego_last_leg_in_auth3_refused(authpx, samba_dc):
    """SPNEGO's last leg needs an answer, so it cannot be an auth3: the next
    call is refused."""
    px = authpx()
    with w.RawClient(px.listen, px.port) as c:
        d = c.xchg(auth_bind(neg_token_init([NTLMSSP_MECH], ntlm_negotiate().getData()),
                             auth_type=AUTH_SPNEGO))
        chal = parse_resp(auth_token(d["raw"]))[RESPONSE_TOKEN]
        auth, _ = ntlm.getNTLMSSPType3(ntlm_negotiate(), chal, PROXY_USER, PROXY_PW, "ANY",
                                       use_ntlmv2=True)
        c.send(auth3_pdu(neg_token_resp(auth.getData()), auth_type=AUTH_SPNEGO))
        c.send(w.request_pdu(0, 0, b"\0" * 12, call_id=2))
        d = c.pdu()
        assert d["ptype"] == w.FAULT and d["status"] == FAULT_ACCESS_DENIED, d
        assert c.closed()
    wait_log_or_fail(px, "auth3 in an SPNEGO exchange; expected alter_context")
    assert_others_fine(px)
