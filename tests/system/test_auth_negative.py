"""Refusals on the authenticated client leg, against the Samba fixture.

Each case checks the PDU the client gets (fault status / bind_nak reason, and
that the proxy then closes the connection), the log line (without the proxy
user's or the upstream identity's password or NT hash), and that a second,
well-behaved authenticated session through the same proxy still works.

Faults follow Samba (src/dcerpc/sec.h): a PDU failing verification (bad
MAC, replayed sequence number) -> nca_s_fault_sec_pkg_error (0x721) and
disconnect; a call on an association whose authentication is incomplete or
failed -> access denied (5) and disconnect; an auth type other than NTLMSSP
at bind -> bind_nak reason 8 (authentication type not recognized).
"""
import os
import struct

import pytest
from impacket import ntlm
from impacket.dcerpc.v5 import samr, transport
from impacket.dcerpc.v5.rpcrt import DCERPCException

import dcerpc_wire as w
from auth_helpers import (AUTH_KRB5, AUTH_NTLMSSP, AUTH_SPNEGO, CONNECT,  # noqa: F401 (fixtures)
                          FAULT_ACCESS_DENIED, FAULT_SEC_PKG_ERROR, INTEGRITY, PRIVACY,
                          PROXY_PW, PROXY_USER, assert_no_secrets, assert_others_fine,
                          auth3_pdu, auth_bind, authpx, capture_send, dce_bound,
                          expect_fault_and_close, ntlm_negotiate, raw_ntlm_bind, request_bytes,
                          samr_connect_req, samr_domains, user_db, wait_log_or_fail, with_auth)
from probe_samba import SAMR_CONNECT_STUB

LEVELS = pytest.mark.parametrize("level", [INTEGRITY, PRIVACY], ids=["integrity", "privacy"])


def nt_response_len(auth3: bytes) -> int:
    """Length of the NtChallengeResponse in the AUTHENTICATE of an auth3 PDU."""
    alen = struct.unpack_from("<H", auth3, 10)[0]
    tok = auth3[len(auth3) - alen:]
    assert tok[:8] == b"NTLMSSP\0" and struct.unpack_from("<I", tok, 8)[0] == 3
    return struct.unpack_from("<H", tok, 20)[0]


# --------------------------------------------------------------------------
# 1. NTLMv1
# --------------------------------------------------------------------------

def test_ntlmv1_refused_by_default(authpx, samba_dc, monkeypatch):
    """impacket with NTLMv1 (+ ESS, as its NEGOTIATE always asks): the bind
    goes through, the AUTHENTICATE is refused by policy, the first call gets
    access denied and the connection is closed."""
    px = authpx()
    monkeypatch.setattr(ntlm, "USE_NTLMv2", False)
    t, d = dce_bound(px.binding(), INTEGRITY)
    try:
        with pytest.raises(DCERPCException) as e:
            samr.hSamrConnect(d)
        assert "access_denied" in str(e.value)
        kind, rest = w.recv_pdu(t.get_socket(), 5.0)
        assert kind in ("EOF", "RST") and not rest, (kind, rest[:64].hex())
    finally:
        d.disconnect()
    monkeypatch.setattr(ntlm, "USE_NTLMv2", True)
    wait_log_or_fail(px, "NTLMv1 refused (mapiproxy:allow ntlmv1 = no)")
    # (the failure line names no user: mp_ntlm_user() is NULL unless established)
    assert "client authentication failed for" in px.log_text()
    assert "refused: authentication failed" in px.log_text()
    assert_no_secrets(px, samba_dc)
    assert_others_fine(px)


@LEVELS
def test_ntlmv1_ess_allowed(authpx, samba_dc, monkeypatch, level):
    """mapiproxy:allow ntlmv1 = yes: NTLMv1 with extended session security
    signs and seals like NTLMv2 (ESS keys), so it works at both levels."""
    px = authpx(**{"mapiproxy:allow ntlmv1": "yes"})
    monkeypatch.setattr(ntlm, "USE_NTLMv2", False)
    t = transport.DCERPCTransportFactory(px.binding())
    t.set_credentials(PROXY_USER, PROXY_PW, "")
    d = t.get_dce_rpc()
    d.set_auth_level(level)
    d.connect()
    frames, restore = capture_send(t)
    try:
        d.bind(samr.MSRPC_UUID_SAMR)
        restore()
        h = samr.hSamrConnect(d)["ServerHandle"]
        names = [x["Name"] for x in
                 samr.hSamrEnumerateDomainsInSamServer(d, h)["Buffer"]["Buffer"]]
    finally:
        d.disconnect()
    assert names == ["MAPI", "BUILTIN"]
    auth3 = [f for f in frames if f[2] == 16]
    assert len(auth3) == 1 and nt_response_len(auth3[0]) == 24, "not an NTLMv1 response"
    monkeypatch.setattr(ntlm, "USE_NTLMv2", True)
    wait_log_or_fail(px, f"client authenticated as {PROXY_USER} (ntlmssp,")
    assert_no_secrets(px, samba_dc)
    assert_others_fine(px)


@pytest.mark.parametrize("case", ["sign-without-ess", "not-ntlmssp", "level-7", "level-none"])
def test_unusable_ntlmssp_bind_refused(authpx, samba_dc, case):
    """An NTLMSSP bind the proxy cannot serve -> bind_nak reason 0 (not
    specified), closed. sign-without-ess: a NEGOTIATE asking for SIGN / SEAL
    without extended session security, which the NTLMSSP library refuses
    (ntlmssp.h: session security only with ESS) even with NTLMv1 allowed."""
    px = authpx(**{"mapiproxy:allow ntlmv1": "yes"})
    neg = ntlm_negotiate().getData()
    pdu, log = {
        "sign-without-ess": (auth_bind(ntlm_negotiate(sign=True, ntlmv2=False,
                                                      ess=False).getData()),
                             "unusable NTLMSSP NEGOTIATE from client"),
        "not-ntlmssp": (auth_bind(os.urandom(40)), "unusable NTLMSSP NEGOTIATE from client"),
        "level-7": (auth_bind(neg, level=7), "invalid auth level 7"),
        "level-none": (auth_bind(neg, level=1), "invalid auth level 1"),
    }[case]
    with w.RawClient(px.listen, px.port) as c:
        d = c.xchg(pdu)
        assert d["ptype"] == w.BIND_NAK and d["reason"] == w.NAK_NOT_SPECIFIED, d
        assert c.closed()
    wait_log_or_fail(px, log)
    assert_no_secrets(px, samba_dc)
    assert_others_fine(px)


def test_plain_ntlmv1_at_connect_when_allowed(authpx, samba_dc):
    """NTLMv1 without ESS (DESL over the server challenge) at level CONNECT,
    allowed by mapiproxy:allow ntlmv1 and min auth level = connect: the
    call is relayed (no verifier at CONNECT). Samba refuses samr below
    integrity, so the upstream leg signs ([sign] in the binding)."""
    px = authpx(binding=f"ncacn_ip_tcp:{samba_dc.ip}[sign]",
                **{"mapiproxy:allow ntlmv1": "yes", "mapiproxy:min auth level": "connect"})
    with w.RawClient(px.listen, px.port) as c:
        neg, chal = raw_ntlm_bind(c, CONNECT, ntlm_negotiate(sign=False, ntlmv2=False, ess=False))
        assert not struct.unpack_from("<I", chal, 20)[0] & \
            ntlm.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY, "server must not add ESS"
        auth, _ = ntlm.getNTLMSSPType3(neg, chal, PROXY_USER, PROXY_PW, "", use_ntlmv2=False)
        assert len(auth["ntlm"]) == 24 and auth["lanman"][8:] != b"\0" * 16  # plain v1
        c.send(auth3_pdu(auth.getData(), level=CONNECT))
        c.samr_connect_ok(0, call_id=2)
    wait_log_or_fail(px, f"client authenticated as {PROXY_USER} (ntlmssp, connect)")
    assert_no_secrets(px, samba_dc)
    assert_others_fine(px)


# --------------------------------------------------------------------------
# 2./3. replayed and tampered request fragments
# --------------------------------------------------------------------------

@LEVELS
def test_replayed_request(authpx, samba_dc, level):
    """The exact bytes of a request that succeeded, sent again on the same
    connection: its sequence number is stale -> sec_pkg_error, closed."""
    px = authpx()
    t, d = dce_bound(px.binding(), level)
    try:
        frames, restore = capture_send(t)
        samr.hSamrConnect(d)
        restore()
        assert len(frames) == 1 and frames[0][2] == w.REQUEST
        replay = frames[0]
        assert w.decode(replay)["auth_len"] == 16
        s = t.get_socket()
        s.sendall(replay)
        expect_fault_and_close(s, FAULT_SEC_PKG_ERROR, call_id=w.decode(replay)["call_id"])
    finally:
        d.disconnect()
    wait_log_or_fail(px, "client PDU failed verification (sec_pkg_error)")
    assert "integrity check failed" in px.log_text()
    assert_no_secrets(px, samba_dc)
    assert_others_fine(px, level)


def _flip_verifier(p: bytes) -> bytes:
    b = bytearray(p)
    b[-8] ^= 0x01  # inside the checksum of the 16-byte NTLMSSP signature
    return bytes(b)


def _set_opnum(p: bytes) -> bytes:
    b = bytearray(p)
    struct.pack_into("<H", b, 22, 1)  # SamrConnect (0) -> SamrCloseHandle (1)
    return bytes(b)


def _flip_seq(p: bytes) -> bytes:
    b = bytearray(p)
    b[-1] ^= 0x80  # SeqNum of the signature
    return bytes(b)


@pytest.mark.parametrize("level,tamper", [
    (INTEGRITY, _flip_verifier), (INTEGRITY, _set_opnum), (INTEGRITY, _flip_seq),
    (PRIVACY, _set_opnum)], ids=["integrity-verifier", "integrity-opnum",
                                 "integrity-seqnum", "privacy-opnum"])
def test_tampered_request(authpx, samba_dc, level, tamper):
    """One byte of a signed request changed (verifier, or the header, which
    NTLMSSP signs too) -> sec_pkg_error, connection closed."""
    px = authpx()
    t, d = dce_bound(px.binding(), level)
    try:
        good = request_bytes(t, d, samr_connect_req())
        bad = tamper(good)
        assert bad != good and len(bad) == len(good)
        s = t.get_socket()
        s.sendall(bad)
        expect_fault_and_close(s, FAULT_SEC_PKG_ERROR, call_id=w.decode(good)["call_id"])
    finally:
        d.disconnect()
    wait_log_or_fail(px, "client PDU failed verification (sec_pkg_error)")
    assert_no_secrets(px, samba_dc)
    assert_others_fine(px, level)


# --------------------------------------------------------------------------
# 4. auth types other than NTLMSSP
# --------------------------------------------------------------------------

def _krb5_token() -> bytes:
    # A GSS-API InitialContextToken for the krb5 mech (an AP-REQ would follow);
    # the proxy must refuse by the trailer's auth type, not parse this.
    inner = b"\x06\x09\x2a\x86\x48\x86\xf7\x12\x01\x02\x02" + b"\x01\x00" + b"\x6e\x03\x02\x01\x05"
    return b"\x60" + bytes([len(inner)]) + inner


@pytest.mark.parametrize("auth_type,token", [
    (AUTH_KRB5, _krb5_token()),
    # SPNEGO (9) with NTLMSSP is accepted: see test_auth_spnego.py.
    (68, b"\0" * 24),  # netlogon secure channel (schannel)
], ids=["krb5", "schannel"])
def test_unsupported_auth_type_bind_nak(authpx, samba_dc, auth_type, token):
    px = authpx()
    with w.RawClient(px.listen, px.port) as c:
        d = c.xchg(auth_bind(token, auth_type=auth_type))
        assert d["ptype"] == w.BIND_NAK, d
        assert d["reason"] == w.NAK_AUTH_TYPE_NOT_RECOGNIZED, d
        assert c.closed()
    wait_log_or_fail(px, f"auth type {auth_type} (")
    assert "only NTLMSSP (10)" in px.log_text()
    assert_no_secrets(px, samba_dc)
    assert_others_fine(px)


# --------------------------------------------------------------------------
# 5. request before auth3
# --------------------------------------------------------------------------

@pytest.mark.parametrize("with_trailer", [False, True], ids=["no-trailer", "fake-trailer"])
def test_request_before_auth3(authpx, samba_dc, with_trailer):
    """Bind with a NEGOTIATE, then a request without auth3 -> access denied, closed."""
    px = authpx()
    with w.RawClient(px.listen, px.port) as c:
        raw_ntlm_bind(c, INTEGRITY)
        req = w.request_pdu(0, 0, SAMR_CONNECT_STUB, call_id=2)
        if with_trailer:  # a well-formed trailer with a made-up signature
            req = with_auth(req, AUTH_NTLMSSP, INTEGRITY,
                            b"\x01\0\0\0" + os.urandom(8) + b"\0\0\0\0", 1)
        c.send(req)
        d = c.pdu()
        assert d["ptype"] == w.FAULT and d["status"] == FAULT_ACCESS_DENIED, d
        assert d["call_id"] == 2
        assert c.closed()
    wait_log_or_fail(px, "refused: authentication incomplete")
    assert "authentication failed" in px.log_text()  # the closing reason
    assert_no_secrets(px, samba_dc)
    assert_others_fine(px)


# --------------------------------------------------------------------------
# 6. bad auth3
# --------------------------------------------------------------------------

def _other_challenge_auth(px, neg):
    """An AUTHENTICATE with the right password, computed for the CHALLENGE of
    another association (a replayed / relayed auth3)."""
    with w.RawClient(px.listen, px.port) as other:
        _, chal = raw_ntlm_bind(other, INTEGRITY, neg)
        auth, _ = ntlm.getNTLMSSPType3(neg, chal, PROXY_USER, PROXY_PW, "")
    return auth.getData()


@pytest.mark.parametrize("kind", ["random", "truncated", "negotiate-again", "no-trailer",
                                  "wrong-auth-ctx-id", "other-challenge"])
def test_bad_auth3(authpx, samba_dc, kind):
    """auth3 that cannot authenticate: no answer to it, the next request is
    refused with access denied and the connection closed."""
    px = authpx()
    with w.RawClient(px.listen, px.port) as c:
        neg, chal = raw_ntlm_bind(c, INTEGRITY)
        good, _ = ntlm.getNTLMSSPType3(neg, chal, PROXY_USER, PROXY_PW, "")
        good = good.getData()
        if kind == "random":
            pdu = auth3_pdu(os.urandom(96))
        elif kind == "truncated":
            pdu = auth3_pdu(good[:40])
        elif kind == "negotiate-again":
            pdu = auth3_pdu(neg.getData())
        elif kind == "no-trailer":
            pdu = w.hdr(16, w.PFC_FIRST | w.PFC_LAST, 20, 1) + b"\0" * 4
        elif kind == "wrong-auth-ctx-id":
            pdu = auth3_pdu(good, ctx_id=2)
        else:
            pdu = auth3_pdu(_other_challenge_auth(px, neg))
        # auth3 is never answered: the first PDU back is the request's fault
        c.send(pdu + w.request_pdu(0, 0, SAMR_CONNECT_STUB, call_id=2))
        d = c.pdu()
        assert d["ptype"] == w.FAULT and d["status"] == FAULT_ACCESS_DENIED, d
        assert d["call_id"] == 2, d
        assert c.closed()
    wait_log_or_fail(px, "call 2: refused: authentication failed")
    if kind in ("no-trailer", "wrong-auth-ctx-id"):
        assert "unexpected auth3" in px.log_text()
    else:
        assert "client authentication failed for" in px.log_text()
    if kind == "other-challenge":
        assert "unknown user or wrong password" in px.log_text()
    assert_no_secrets(px, samba_dc)
    assert_others_fine(px)


def test_auth3_then_good_session_parallel(authpx, samba_dc):
    """A failed association left open does not disturb a concurrent good one."""
    px = authpx()
    with w.RawClient(px.listen, px.port) as bad:
        raw_ntlm_bind(bad, INTEGRITY)
        bad.send(auth3_pdu(os.urandom(64)))
        assert_others_fine(px, INTEGRITY)
        bad.send(w.request_pdu(0, 0, SAMR_CONNECT_STUB, call_id=2))
        d = bad.pdu()
        assert d["ptype"] == w.FAULT and d["status"] == FAULT_ACCESS_DENIED, d
        assert bad.closed()
    assert_no_secrets(px, samba_dc)


def test_no_secrets_with_debug_and_success(authpx, samba_dc):
    """Sanity for the secrets check: at log level debug a full session logs
    the user and the upstream identity, never their passwords or hashes."""
    px = authpx()
    assert samr_domains(px.binding(), PRIVACY) == ["MAPI", "BUILTIN"]
    wait_log_or_fail(px, "authenticating upstream as")
    assert_no_secrets(px, samba_dc)


@pytest.mark.parametrize("second", ["replayed", "garbage"])
def test_second_auth3_after_success(authpx, samba_dc, second):
    """An auth3 on an association that is already authenticated (its own
    auth3 sent again, or garbage): the session is failed, the next (properly
    signed) request gets access denied and the connection is closed. (Samba
    answers the auth3 itself with a proto_error fault; the proxy never
    answers auth3 and refuses at the next call, as for any failed auth3.)"""
    px = authpx()
    t = transport.DCERPCTransportFactory(px.binding())
    t.set_credentials(PROXY_USER, PROXY_PW, "")
    d = t.get_dce_rpc()
    d.set_auth_level(INTEGRITY)
    d.connect()
    try:
        frames, restore = capture_send(t)
        d.bind(samr.MSRPC_UUID_SAMR)
        restore()
        samr.hSamrConnect(d)
        auth3 = [f for f in frames if f[2] == 16]
        assert len(auth3) == 1
        s = t.get_socket()
        s.sendall(auth3[0] if second == "replayed" else auth3_pdu(os.urandom(80),
                                                                   ctx_id=79231))
        req = request_bytes(t, d, samr_connect_req())
        s.sendall(req)
        expect_fault_and_close(s, FAULT_ACCESS_DENIED, call_id=w.decode(req)["call_id"])
    finally:
        d.disconnect()
    wait_log_or_fail(px, "unexpected auth3")
    assert "refused: authentication failed" in px.log_text()
    assert_no_secrets(px, samba_dc)
    assert_others_fine(px)


@pytest.mark.parametrize("good", [True, False], ids=["right-password", "wrong-password"])
def test_third_leg_in_alter_context(authpx, samba_dc, good):
    """MS-RPCE allows the AUTHENTICATE in alter_context instead of auth3: the
    proxy answers alter_context_resp when it verifies, access denied otherwise."""
    px = authpx()
    with w.RawClient(px.listen, px.port) as c:
        neg, chal = raw_ntlm_bind(c, INTEGRITY)
        auth, _ = ntlm.getNTLMSSPType3(neg, chal, PROXY_USER,
                                       PROXY_PW if good else "not-" + PROXY_PW, "")
        alter = with_auth(w.bind_pdu([(0, w.SAMR, [w.NDR])], call_id=2, ptype=w.ALTER), AUTH_NTLMSSP,
                          INTEGRITY, auth.getData())
        d = c.xchg(alter)
        if good:
            assert d["ptype"] == w.ALTER_RESP, d
            assert w.results_of(d) == [(0, 0)]
            assert px.wait_log(f"client authenticated as {PROXY_USER}")
        else:
            assert d["ptype"] == w.FAULT and d["status"] == FAULT_ACCESS_DENIED, d
            assert c.closed()
    assert_others_fine(px)
