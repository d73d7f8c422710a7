#!/usr/bin/python3
"""Regenerate tests/unit/data/sec_*.bin: DCE/RPC PDUs protected by impacket.

    /usr/bin/python3 tests/unit/gen_sec_vectors.py BUILD/tests/unit/test_sec

Needs Debian's python3-impacket (0.10). The vectors are made by impacket's
own DCE/RPC client code (impacket.dcerpc.v5.rpcrt.DCERPC_v5) talking to a
fake transport that records every PDU it sends; nothing here re-implements
padding, trailers, signing or sealing.

Requests ("priv" = PKT_PRIVACY, "integ" = PKT_INTEGRITY), impacket as client:
  1. DCERPC_v5.bind() sends a bind with its NTLMSSP NEGOTIATE
                                                -> sec_<s>_bind.bin
  2. the fake transport answers with the bind_ack that OUR server writes
     (`test_sec --emit-bind-ack BIND OUT`: mp_pdu_encode_bind_ack +
     mp_sec_append_auth, fixed RNG and clock)   -> sec_<s>_bind_ack.bin
  3. bind() sends the auth3 with its AUTHENTICATE (impacket's `random` is
     seeded, so the same bytes each run)       -> sec_<s>_auth3.bin
     and keeps the exported session key        -> sec_<s>_session_key.bin
  4. DCERPC_v5.call() makes five calls; _transport_send pads the stub to 4
     bytes with 0xBB, appends the sec_trailer (ctx id 79231), signs the PDU
     up to the trailer and seals the stub + pad (PRIVACY); send() fragments
     the bigger ones                           -> sec_<s>_requests.bin
     (the fragments as sent, back to back); the stubs given to call() ->
     sec_<s>_stubs.bin (records: opnum u16, has_object u8, object[16],
     len u32, stub).
Responses ("resp_priv", "resp_integ"), server to client:
  `test_sec --emit-session OUT` runs our client <-> server handshake (fixed
  RNG) and writes flags u32 + exported session key -> sec_resp_session.bin.
  A DCERPC_v5 gets the server-to-client SIGNKEY / SEALKEY / RC4 handle
  (impacket's ntlm.SIGNKEY / SEALKEY) in place of its client keys, then
  send() builds MSRPCRespHeader PDUs          -> sec_resp_<l>_responses.bin
  and the stubs                               -> sec_resp_<l>_stubs.bin.
The C test replays all of it (see the comment at the top of test_sec.c).
The credentials are test values only.
"""
import os
import random
import struct
import subprocess
import sys
import tempfile

from Cryptodome.Cipher import ARC4
from impacket import ntlm
from impacket.dcerpc.v5 import rpcrt

USER = "alice"
DOMAIN = "MPDOMAIN"
PASSWORD = "Secret-123"
IFACE = rpcrt.uuidtup_to_bin(("12345778-1234-abcd-ef00-0123456789ac", "1.0"))  # samr
OBJECT = bytes(range(0x21, 0x31))

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")


def out(name, data):
    with open(os.path.join(DATA, "sec_%s.bin" % name), "wb") as f:
        f.write(data)


def stub(n, seed):
    return bytes(((i * 31 + seed * 17 + (i >> 7)) & 0xFF) for i in range(n))


def record(opnum, obj, data):
    return struct.pack("<HB", opnum, 1 if obj else 0) + (obj or bytes(16)) + \
        struct.pack("<I", len(data)) + data


class FakeTransport:
    """Records what DCERPC_v5 sends; answers a bind with our server's bind_ack."""

    def __init__(self, helper):
        self.helper = helper
        self.sent = []

    def send(self, data, forceWriteAndx=0, forceRecv=0):
        self.sent.append(bytes(data))

    def recv(self, forceRecv=0, count=0):
        bind = self.sent[-1]
        assert bind[2] == rpcrt.MSRPC_BIND, "only a bind expects an answer"
        with tempfile.TemporaryDirectory() as tmp:
            bpath = os.path.join(tmp, "bind")
            apath = os.path.join(tmp, "ack")
            with open(bpath, "wb") as f:
                f.write(bind)
            subprocess.run([self.helper, "--emit-bind-ack", bpath, apath], check=True)
            with open(apath, "rb") as f:
                self.ack = f.read()
        return self.ack

    def doesSupportNTLMv2(self):
        return True

    def get_credentials(self):
        return USER, PASSWORD, DOMAIN, "", "", "", None, None


# (opnum, object uuid, stub length, max fragment size set by the caller)
CALLS = [(3, None, 37, 0), (0, None, 0, 0), (9, OBJECT, 100, 0), (5, None, 5001, 0),
         (6, None, 5001, 1001)]


def requests(helper, name, level):
    tr = FakeTransport(helper)
    dce = rpcrt.DCERPC_v5(tr)
    dce.set_credentials(USER, PASSWORD, DOMAIN)
    dce.set_auth_type(rpcrt.RPC_C_AUTHN_WINNT)
    dce.set_auth_level(level)
    dce.bind(IFACE)
    assert len(tr.sent) == 2, "bind + auth3"
    out(name + "_bind", tr.sent[0])
    out(name + "_bind_ack", tr.ack)
    out(name + "_auth3", tr.sent[1])
    out(name + "_session_key", dce.get_session_key())
    tr.sent = []
    stubs = b""
    for i, (opnum, obj, n, frag) in enumerate(CALLS):
        data = stub(n, i)
        dce.set_max_fragment_size(frag)
        dce.call(opnum, data, obj)
        stubs += record(opnum, obj, data)
    out(name + "_requests", b"".join(tr.sent))
    out(name + "_stubs", stubs)
    return len(tr.sent)


RESPONSES = [(37, 0), (5001, 0), (3000, 1001)]


def responses(session, name, level):
    flags, key = struct.unpack("<I", session[:4])[0], session[4:20]
    tr = FakeTransport(None)
    dce = rpcrt.DCERPC_v5(tr)
    dce.set_auth_type(rpcrt.RPC_C_AUTHN_WINNT)
    dce.set_auth_level(level)
    # What bind() would have set up, with the server-to-client keys: the
    # object then protects PDUs exactly as a server would have to.
    seal_key = ntlm.SEALKEY(flags, key, "Server")
    dce._DCERPC_v5__flags = flags
    dce._DCERPC_v5__sessionKey = key
    dce._DCERPC_v5__clientSigningKey = ntlm.SIGNKEY(flags, key, "Server")
    dce._DCERPC_v5__clientSealingKey = seal_key
    dce._DCERPC_v5__clientSealingHandle = ARC4.new(seal_key).encrypt
    dce._DCERPC_v5__sequence = 0
    dce._DCERPC_v5__max_xmit_size = 4280
    stubs = b""
    for i, (n, frag) in enumerate(RESPONSES):
        data = stub(n, 10 + i)
        pdu = rpcrt.MSRPCRespHeader()
        pdu["pduData"] = data
        dce.set_max_fragment_size(frag)
        dce.send(pdu)
        stubs += record(0, None, data)
    out(name + "_responses", b"".join(tr.sent))
    out(name + "_stubs", stubs)
    return len(tr.sent)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    helper = sys.argv[1]
    random.seed(20240611)
    n = requests(helper, "priv", rpcrt.RPC_C_AUTHN_LEVEL_PKT_PRIVACY)
    print("priv: %d request fragments" % n)
    n = requests(helper, "integ", rpcrt.RPC_C_AUTHN_LEVEL_PKT_INTEGRITY)
    print("integ: %d request fragments" % n)

    spath = os.path.join(DATA, "sec_resp_session.bin")
    subprocess.run([helper, "--emit-session", spath], check=True)
    with open(spath, "rb") as f:
        session = f.read()
    n = responses(session, "resp_priv", rpcrt.RPC_C_AUTHN_LEVEL_PKT_PRIVACY)
    print("resp_priv: %d response fragments" % n)
    n = responses(session, "resp_integ", rpcrt.RPC_C_AUTHN_LEVEL_PKT_INTEGRITY)
    print("resp_integ: %d response fragments" % n)


if __name__ == "__main__":
    main()
