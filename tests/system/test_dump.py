"""The call dump: binding flag [print] (the original's) and mpm_dump:json file.

NSPI traffic from impacket's NSPI client goes through the proxy to a stand-in
upstream whose replies are built with impacket too (Samba serves no NSPI).
The proxy must decode both directions, print them as a tree on the log and as
one JSON object per call, and still relay every byte unchanged."""

from __future__ import annotations

import json
import struct
import subprocess
import time

import pytest
from impacket.dcerpc.v5 import nspi, transport

from conftest import MAPIPROXY_BIN, free_port

SERVER_GUID = bytes(range(16))
HANDLE = b"\0\0\0\0" + bytes(range(0x40, 0x50))


def nspi_bind_response() -> bytes:
    """NspiBind's reply in NDR ([MS-OXNSPI] 3.1.4.1.1): unique pointer to the
    server GUID, the context handle, the return value."""
    return struct.pack("<I", 0x00020000) + SERVER_GUID + HANDLE + struct.pack("<I", 0)


def nspi_unbind_response() -> bytes:
    """NspiUnbind's reply: the closed (zero) handle, return value 1."""
    return b"\0" * 20 + struct.pack("<I", 1)


@pytest.fixture
def nspi_upstream(fake_upstream):
    return fake_upstream(canned={0: nspi_bind_response(), 1: nspi_unbind_response()})


def nspi_session(px):
    t = transport.DCERPCTransportFactory(px.binding())
    t.set_connect_timeout(10)
    d = t.get_dce_rpc()
    d.connect()
    d.bind(nspi.MSRPC_UUID_NSPI)
    return d


def wait_for(pred, timeout=5.0):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_print_flag_decodes_nspi_bind(mapiproxy, nspi_upstream, tmp_path):
    jl = tmp_path / "calls.jsonl"
    px = mapiproxy(interfaces="exchange_nsp",
                   binding=nspi_upstream.binding.replace("]", ",print]"),
                   options={"mpm_dump:json file": str(jl)})
    d = nspi_session(px)
    try:
        resp = nspi.hNspiBind(d)
        # The client got the stand-in's reply byte for byte.
        assert resp["contextHandle"].getData() == HANDLE
        assert resp["pServerGuid"] == SERVER_GUID
        unb = nspi.NspiUnbind()
        unb["contextHandle"] = resp["contextHandle"]
        unb["Reserved"] = 0
        try:
            d.request(unb)
        except nspi.DCERPCSessionError as e:  # NspiUnbind returns 1 on success
            assert e.get_error_code() == 1
    finally:
        d.disconnect()
    assert px.wait_log("dump: decoded EMSMDB/NSPI/RFR calls on the log and as JSON lines")
    assert wait_for(lambda: jl.exists() and len(jl.read_text().splitlines()) >= 2)

    calls = [json.loads(line)["call"] for line in jl.read_text().splitlines()]
    bind, unbind = calls[0], calls[1]
    assert (bind["interface"], bind["opnum"], bind["name"]) == ("NSPI", 0, "NspiBind")
    assert bind["outcome"] == "ok" and bind["latency_ms"] >= 0
    # Both directions decoded, nothing left as raw bytes; values as sent.
    assert "undecoded" not in bind["request"] and "undecoded" not in bind["response"]
    r = bind["response"]["NspiBind"]
    assert r["pServerGuid"] == "{03020100-0504-0706-0809-0a0b0c0d0e0f}"
    assert r["contextHandle"]["uuid"] == "{43424140-4544-4746-4849-4a4b4c4d4e4f}"
    assert r["result"] == "ecNone"
    assert bind["request"]["NspiBind"]["pStat"]["CodePage"] == nspi.CP_TELETEX
    assert (unbind["name"], unbind["opnum"]) == ("NspiUnbind", 1)
    # The stand-in received exactly what impacket sent.
    assert [r["opnum"] for r in nspi_upstream.requests] == [0, 1]

    # The same calls as a tree on the log, one tagged line per node.
    log = px.log_text()
    assert "call 1 | call" in log or "| call" in log
    assert "NspiBind" in log and "NspiUnbind" in log


def test_no_dump_without_print(mapiproxy, nspi_upstream):
    px = mapiproxy(interfaces="exchange_nsp", binding=nspi_upstream.binding)
    d = nspi_session(px)
    try:
        nspi.hNspiBind(d)
    finally:
        d.disconnect()
    time.sleep(0.2)
    assert "NspiBind" not in px.log_text()
    assert "dump:" not in px.log_text()


def test_json_file_unwritable_is_a_clear_start_error(nspi_upstream, tmp_path):
    conf = tmp_path / "mapiproxy.conf"
    conf.write_text("[global]\n"
                    f"dcerpc_mapiproxy:binding = {nspi_upstream.binding}\n"
                    "dcerpc_mapiproxy:interfaces = exchange_nsp\n"
                    "mapiproxy:listen = 127.0.0.1\n"
                    f"mapiproxy:port = {free_port('127.0.0.1')}\n"
                    "mapiproxy:epm port = 0\n"
                    "mapiproxy:auth required = no\n"
                    f"mpm_dump:json file = {tmp_path / 'no' / 'such' / 'dir.jsonl'}\n")
    r = subprocess.run([MAPIPROXY_BIN, "-c", str(conf)], capture_output=True, text=True,
                       timeout=20, stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert "mpm_dump:json file" in r.stderr and "No such file or directory" in r.stderr, r.stderr


# --------------------------------------------------------------------------
# EMSMDB: EcDoRpcExt2 down to the ROPs
# --------------------------------------------------------------------------

EMSMDB = ("a4f1db00-ca47-1067-b31f-00dd010662da", 0, 81)
CXH = b"\0\0\0\0" + bytes(range(0x60, 0x70))
# MS-OXCPRPT 4.2.1 / 4.2.2: RopSetProperties (PidTagSubjectPrefix "",
# PidTagNormalizedSubject "Hello World") and its success response.
SET_PROPS_REQ = bytes.fromhex(
    "0A00002400020" "01F003D0000001F001D0E480065006C006C006F00200057006F0072006C0064000000")
SET_PROPS_RSP = bytes.fromhex("0A00000000000000")
HANDLES = struct.pack("<I", 1)


class Ndr:
    """Just enough NDR20 to write EcDoRpcExt2 stubs ([MS-OXCRPC] 3.1.4.2)."""

    def __init__(self):
        self.b = bytearray()

    def u32(self, v):
        while len(self.b) % 4:
            self.b.append(0)
        self.b += struct.pack("<I", v)
        return self

    def raw(self, data):
        self.b += data
        return self

    def conformant(self, data):
        return self.u32(len(data)).raw(data)

    def varying(self, data):
        return self.u32(len(data)).u32(0).u32(len(data)).raw(data)


def rop_buffer(rop: bytes) -> bytes:
    """RPC_HEADER_EXT (Version 0, Flags Last, uncompressed) + RopSize + ROPs + handles."""
    payload = struct.pack("<H", 2 + len(rop)) + rop + HANDLES
    return struct.pack("<HHHH", 0, 0x0004, len(payload), len(payload)) + payload


def rpc_ext2_request() -> bytes:
    rgb_in = rop_buffer(SET_PROPS_REQ)
    return bytes(Ndr().raw(CXH).u32(0).conformant(rgb_in).u32(len(rgb_in)).u32(0x8008)
                 .conformant(b"").u32(0).u32(0x1008).b)


def rpc_ext2_response() -> bytes:
    rgb_out = rop_buffer(SET_PROPS_RSP)
    return bytes(Ndr().raw(CXH).u32(0).varying(rgb_out).u32(len(rgb_out)).varying(b"")
                 .u32(0).u32(12).u32(0).b)


def test_print_decodes_ecdorpcext2_rops(mapiproxy, fake_upstream, tmp_path):
    import dcerpc_wire as w
    jl = tmp_path / "calls.jsonl"
    fu = fake_upstream(canned={11: rpc_ext2_response()})
    px = mapiproxy(interfaces="exchange_emsmdb", binding=fu.binding.replace("]", ",print]"),
                   options={"mpm_dump:json file": str(jl)})
    with w.RawClient(px.listen, px.port) as c:
        assert c.bind([(0, EMSMDB, [w.NDR])])["ptype"] == w.BIND_ACK
        d = c.xchg(w.request_pdu(0, 11, rpc_ext2_request(), call_id=2))
        assert d["ptype"] == w.RESPONSE and d["stub"] == rpc_ext2_response()
    assert fu.requests[0]["stub"] == rpc_ext2_request()  # relayed unchanged
    assert wait_for(lambda: jl.exists() and jl.read_text().strip())
    call = json.loads(jl.read_text().splitlines()[0])["call"]
    assert (call["interface"], call["name"]) == ("EMSMDB", "EcDoRpcExt2")
    req = call["request"]["EcDoRpcExt2"]["rops"]
    assert req["RPC_HEADER_EXT"][0]["SizeActual"] == 2 + len(SET_PROPS_REQ) + 4
    text = json.dumps(req)
    assert "RopSetProperties" in text and "Hello World" in text
    assert "PidTagNormalizedSubject" in text
    rsp = json.dumps(call["response"]["EcDoRpcExt2"]["rops"])
    assert "RopSetProperties" in rsp and "undecoded" not in rsp
    log = px.log_text()
    assert "RopSetProperties" in log and "Hello World" in log
