"""EMSMDB stubs judged by an independent decoder: Wireshark's EMSMDB ("mapi")
dissector, through tshark.

The stubs are tests/unit/data/emsmdb/*.bin. The unit test test_emsmdb checks
that our codec decodes each of them to the values listed below and that our
encoder writes exactly those bytes (from scratch for idl_*, by replay for
imp_*), so what tshark reads here is our encoder's output. Each call is put
in a pcap as a DCE/RPC bind, bind_ack, request and response over TCP (port
6001, decoded as DCE/RPC), and tshark's field values must be ours, with no
malformed-packet or long/short-frame report.

Wireshark 4.0's dissector knows EcDoConnect (0), EcDoDisconnect (1),
EcDoRpc (2), EcRRegisterPushNotification (4) and
EcRUnregisterPushNotification (5); for the other opnums it has no fields
(3, 6-9) or no entry (10, 11, 14), so they are not checked here. Its
EcRRegisterPushNotification request reads a 16-bit event mask where
MS-OXCRPC 3.1.4.5 has the 32-bit iRpc (Gromox and the spec agree with us),
so only that call's response is compared.

Run:  /usr/bin/python3 -m pytest -q tests/system/test_emsmdb_tshark.py
"""
import shutil
import struct
import subprocess
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

VECTORS = Path(__file__).resolve().parent.parent / "unit" / "data" / "emsmdb"
PORT = 6001

pytestmark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")

# ---- DCE/RPC connection-oriented PDUs (C706 12.6, MS-RPCE 2.2.2) ----------------


def _syntax(u: str, major: int, minor: int) -> bytes:
    return uuid.UUID(u).bytes_le + struct.pack("<HH", major, minor)


NDR = _syntax("8a885d04-1ceb-11c9-9fe8-08002b104860", 2, 0)
EMSMDB = _syntax("a4f1db00-ca47-1067-b31f-00dd010662da", 0, 81)


def _pdu(ptype: int, body: bytes, call_id: int) -> bytes:
    return struct.pack("<BBBB4sHHI", 5, 0, ptype, 0x03, b"\x10\0\0\0", 16 + len(body), 0,
                       call_id) + body


def _bind(call_id: int) -> bytes:
    body = struct.pack("<HHI", 4280, 4280, 0) + struct.pack("<BBH", 1, 0, 0)
    body += struct.pack("<HBB", 0, 1, 0) + EMSMDB + NDR
    return _pdu(11, body, call_id)


def _bind_ack(call_id: int) -> bytes:
    port = b"%d\0" % PORT
    body = struct.pack("<HHI", 4280, 4280, 0x1234) + struct.pack("<H", len(port)) + port
    body += b"\0" * (-(16 + len(body)) % 4)
    body += struct.pack("<BBH", 1, 0, 0) + struct.pack("<HH", 0, 0) + NDR
    return _pdu(12, body, call_id)


def _request(call_id: int, opnum: int, stub: bytes) -> bytes:
    return _pdu(0, struct.pack("<IHH", len(stub), 0, opnum) + stub, call_id)


def _response(call_id: int, stub: bytes) -> bytes:
    return _pdu(2, struct.pack("<IHBB", len(stub), 0, 0, 0) + stub, call_id)


def _write_pcap(path: Path, segments) -> None:
    """segments: (from_client, payload); one TCP segment per packet, seq kept."""
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    seq = {True: 1000, False: 5000}
    for n, (cli, data) in enumerate(segments, 1):
        sport, dport = (40000, PORT) if cli else (PORT, 40000)
        src, dst = (b"\x7f\0\0\x01", b"\x7f\0\0\x02") if cli else (b"\x7f\0\0\x02", b"\x7f\0\0\x01")
        tcp = struct.pack(">HHIIBBHHH", sport, dport, seq[cli], seq[not cli], 0x50, 0x18, 65535,
                          0, 0) + data
        seq[cli] += len(data)
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), n, 0, 64, 6, 0, src, dst) + tcp
        frame = b"\0\0\0\0\0\x02" + b"\0\0\0\0\0\x01" + b"\x08\x00" + ip
        out += struct.pack("<IIII", n, 0, len(frame), len(frame)) + frame
    path.write_bytes(bytes(out))


def _tshark_fields(pcap: Path):
    """[(request fields, response fields)], each a list of (name, show) of the
    mapi layer, plus every expert/malformed report seen in the capture."""
    res = subprocess.run(["tshark", "-r", str(pcap), "-d", "tcp.port==%d,dcerpc" % PORT,
                          "-T", "pdml"], capture_output=True, timeout=120, check=True)
    root = ET.fromstring(res.stdout)
    layers, problems = [], []
    for pkt in root.findall("packet"):
        for proto in pkt.findall("proto"):
            if proto.get("name") == "_ws.malformed":
                problems.append("malformed packet")
            for f in proto.iter("field"):
                name = f.get("name") or ""
                if name in ("dcerpc.long_frame", "dcerpc.short_frame", "_ws.malformed"):
                    problems.append(name)
                if name == "_ws.expert.message":
                    problems.append(f.get("show"))
            if proto.get("name") == "mapi":
                layers.append([(f.get("name"), f.get("show")) for f in proto.iter("field")
                               if f.get("name")])
    return layers, problems


def _decode(tmp_path: Path, opnum: int, req: bytes, rsp: bytes):
    pcap = tmp_path / ("emsmdb_%d.pcap" % opnum)
    _write_pcap(pcap, [(True, _bind(1)), (False, _bind_ack(1)), (True, _request(2, opnum, req)),
                       (False, _response(2, rsp))])
    layers, problems = _tshark_fields(pcap)
    assert len(layers) == 2, "tshark did not dissect both stubs as EMSMDB: %r" % layers
    return layers[0], layers[1], problems


def _vec(name: str) -> bytes:
    return (VECTORS / (name + ".bin")).read_bytes()


def _assert_in_order(got, want):
    """Every (name, value) of `want` appears in `got`, in this order."""
    i = 0
    for w in want:
        while i < len(got) and got[i] != w:
            i += 1
        assert i < len(got), "tshark field %r missing or out of order; tshark said:\n%s" % (
            w, "\n".join("  %s = %s" % f for f in got))
        i += 1


# The values of gen_emsmdb.py / test_emsmdb.c.
USER_DN = "/o=First Organization/ou=First Administrative Group/CN=recipients/CN=janedow"
DN_PREFIX = "/o=First Organization/ou=First Administrative Group"
CXH = "00:00:00:00:34:12:00:00:00:00:00:00:00:00:00:00:00:00:00:00"


def test_ec_do_connect(tmp_path):
    req, rsp, problems = _decode(tmp_path, 0, _vec("idl_connect_req"), _vec("idl_connect_rsp"))
    assert problems == []
    C = "mapi.EcDoConnect."
    _assert_in_order(req, [
        ("mapi.opnum", "0"),
        ("dcerpc.array.max_count", "77"), ("dcerpc.array.actual_count", "77"),
        (C + "name", USER_DN),                       # szUserDN
        (C + "unknown1", "0"),                       # ulFlags
        (C + "unknown1", str(0x00340567)),           # ulConMod
        (C + "unknown1", "0"),                       # cbLimit
        (C + "code_page", "1252"),                   # ulCpid
        ("mapi.input_locale.language", "1033"),      # ulLcidString
        ("mapi.input_locale.method", "1033"),        # ulLcidSort
        (C + "unknown2", str(0xFFFFFFFF)),           # ulIcxrLink
        (C + "unknown3", "1"),                       # usFCanConvertCodePages
        (C + "emsmdb_client_version", "12"),         # rgwClientVersion
        (C + "emsmdb_client_version", "6206"),
        (C + "emsmdb_client_version", "1000"),
        (C + "alloc_space", "0"),                    # pulTimeStamp
    ])
    _assert_in_order(rsp, [
        ("mapi.handle", CXH),                        # pcxh
        (C + "unknown4", "60000"),                   # pcmsPollsMax
        (C + "unknown4", "6"),                       # pcRetry
        (C + "unknown4", "10000"),                   # pcmsRetryDelay
        (C + "session_nb", "7"),                     # picxr (a u16, as in MS-OXCRPC)
        ("dcerpc.referent_id", "0x00020000"),
        (C + "org_group", DN_PREFIX),                # szDNPrefix
        ("dcerpc.referent_id", "0x00020004"),
        (C + "user", "Jane Dow"),                    # szDisplayName
        (C + "store_version", "15"),                 # rgwServerVersion
        (C + "store_version", "1"),
        (C + "store_version", "549"),
        (C + "emsmdb_client_version", "12"),         # rgwBestVersion
        (C + "emsmdb_client_version", "6206"),
        (C + "emsmdb_client_version", "1000"),
        (C + "alloc_space", str(0x5AB0C1D2)),        # pulTimeStamp
        ("mapi.MAPISTATUS_status", "0x00000000"),    # return value
    ])


def test_ec_do_disconnect(tmp_path):
    req, rsp, problems = _decode(tmp_path, 1, _vec("idl_disconnect_req"),
                                 _vec("idl_disconnect_rsp"))
    assert problems == []
    _assert_in_order(req, [("mapi.handle", CXH)])
    _assert_in_order(rsp, [("mapi.handle", ":".join(["00"] * 20)),
                           ("mapi.MAPISTATUS_status", "0x00000000")])


@pytest.mark.parametrize("prefix, length, size", [("idl", 9, 32768), ("imp", 9, 9)])
def test_ec_do_rpc(tmp_path, prefix, length, size):
    req_stub = _vec(prefix + "_rpc_req")
    rsp_stub = _vec("idl_rpc_rsp")
    req, rsp, problems = _decode(tmp_path, 2, req_stub, rsp_stub)
    assert problems == []
    _assert_in_order(req, [
        ("mapi.handle", CXH),
        ("mapi.EcDoRpc.size", str(size)),            # rgb max_count = usSize
        ("mapi.EcDoRpc.offset", "0"),
        ("mapi.EcDoRpc.subcontext_size", "0x%08x" % length),   # actual_count
        ("mapi.pdu.len", "0x0005"),                  # RopSize, after XOR 0xA5
        ("mapi.EcDoRpc_MAPI_REPL.opnum", "0x01"),    # RopRelease
        ("mapi.mapi_handle", "0x00000001"),
        ("mapi.EcDoRpc.length", str(length)),        # *pusLength
        ("mapi.EcDoRpc.max_data", str(size)),        # usSize
    ])
    _assert_in_order(rsp, [
        ("mapi.EcDoRpc.size", "32768"),
        ("mapi.EcDoRpc.subcontext_size", "0x00000006"),
        ("mapi.pdu.len", "0x0002"),
        ("mapi.mapi_handle", "0x00000001"),
        ("mapi.EcDoRpc.length", "6"),
        ("mapi.MAPISTATUS_status", "0x00000000"),
    ])


def test_ec_r_register_push_notification_response(tmp_path):
    _req, rsp, problems = _decode(tmp_path, 4, _vec("idl_register_push_req"),
                                  _vec("idl_register_push_rsp"))
    # Only the request is read differently (see the module docstring).
    assert all(p in ("dcerpc.long_frame", "Long frame") for p in problems), problems
    _assert_in_order(rsp, [
        ("mapi.handle", CXH),
        ("mapi.EcRRegisterPushNotification.retval", str(0xA01)),   # hNotification
        ("mapi.MAPISTATUS_status", "0x00000000"),
    ])


def test_ec_r_unregister_push_notification(tmp_path):
    req, rsp, problems = _decode(tmp_path, 5, _vec("idl_unregister_push_req"),
                                 _vec("idl_unregister_push_rsp"))
    assert problems == []
    _assert_in_order(req, [
        ("mapi.handle", CXH),
        ("mapi.EcRUnregisterPushNotification.unknown", "1"),       # iRpc
        ("mapi.EcRUnregisterPushNotification.unknown", str(0xA01)),  # hNotification
    ])
    _assert_in_order(rsp, [("mapi.handle", CXH), ("mapi.MAPISTATUS_status", "0x00000000")])


def test_a_broken_stub_is_reported(tmp_path):
    """The check can fail: a stub cut short is malformed for tshark too."""
    stub = _vec("idl_connect_rsp")
    _req, _rsp, problems = _decode(tmp_path, 0, _vec("idl_connect_req"), stub[:60])
    assert problems
