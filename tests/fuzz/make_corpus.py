#!/usr/bin/python3
"""Write the seed corpora of the libFuzzer targets into tests/fuzz/corpus/<target>/.

Run with /usr/bin/python3 (standard library only). The seeds are built here
from the specifications (C706 ch. 12 and appendix O, MS-RPCE 2.2), not from
the C encoders, so a bug in those cannot leak into the seeds. Re-running the
script rewrites the same files byte for byte.
"""
import os
import struct
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

FIRST, LAST, OBJECT = 0x01, 0x02, 0x80
FL = FIRST | LAST


def wire_uuid(text):
    return uuid.UUID(text).bytes_le


NDR = (wire_uuid("8a885d04-1ceb-11c9-9fe8-08002b104860"), 2, 0)
NDR64 = (wire_uuid("71710533-beba-4937-8319-b5dbef9ccc36"), 1, 0)
BTFN = (wire_uuid("6cb71c2c-9812-4540-0300-000000000000"), 1, 0)
SAMR = (wire_uuid("12345778-1234-abcd-ef00-0123456789ac"), 1, 0)
EMSMDB = (wire_uuid("a4f1db00-ca47-1067-b31f-00dd010662da"), 0, 81)
NSP = (wire_uuid("f5cc5a18-4264-101a-8c59-08002b2f8426"), 56, 0)
EPM = (wire_uuid("e1af8308-5d1f-11c9-91a4-08002b14a0fa"), 3, 0)
DRSUAPI = (wire_uuid("e3514235-4b06-11d1-ab04-00c04fc2dcd2"), 4, 0)


def syntax(s):
    return s[0] + struct.pack("<HH", s[1], s[2])


def pdu(ptype, body, flags=FL, call_id=1, auth=b""):
    """Common header + body (+ auth trailer, whose length goes in auth_len)."""
    auth_len = max(len(auth) - 8, 0) if auth else 0
    frag_len = 16 + len(body) + len(auth)
    return struct.pack("<BBBB4sHHI", 5, 0, ptype, flags, b"\x10\0\0\0", frag_len, auth_len,
                       call_id) + body + auth


def bind_body(contexts, max_xmit=4280, max_recv=4280, assoc=0):
    b = struct.pack("<HHIB3x", max_xmit, max_recv, assoc, len(contexts))
    for cid, abstract, tss in contexts:
        b += struct.pack("<HBx", cid, len(tss)) + syntax(abstract)
        for ts in tss:
            b += syntax(ts)
    return b


def bind_ack_body(sec_addr, results, assoc=0x12f4a):
    b = struct.pack("<HHI", 4280, 4280, assoc)
    port = sec_addr.encode() + b"\0" if sec_addr else b""
    b += struct.pack("<H", len(port)) + port
    while (16 + len(b)) % 4:
        b += b"\0"
    b += struct.pack("<B3x", len(results))
    for result, reason, ts in results:
        b += struct.pack("<HH", result, reason) + syntax(ts)
    return b


def sec_trailer(auth_type, level, pad, value, ctx=0):
    return struct.pack("<BBBBI", auth_type, level, pad, 0, ctx) + value


def request(stub, opnum=0, ctx=0, obj=None, flags=FL, call_id=2, auth=b"", pad=0):
    body = struct.pack("<IHH", len(stub), ctx, opnum)
    if obj:
        flags |= OBJECT
        body += obj
    return pdu(0, body + stub + b"\0" * pad, flags, call_id, auth)


def response(stub, ctx=0, flags=FL, call_id=2):
    return pdu(2, struct.pack("<IHBx", len(stub), ctx, 0) + stub, flags, call_id)


def fault(status, ctx=0, call_id=2, flags=FL):
    return pdu(3, struct.pack("<IHBBII", 0, ctx, 0, 0, status, 0), flags, call_id)


def truncate(p, n):
    """Cut a PDU to n bytes and make frag_len say so."""
    q = bytearray(p[:n])
    if n >= 10:
        q[8:10] = struct.pack("<H", n)
    return bytes(q)


# ---- endpoint mapper stubs ----

def tower(iface, port=0, ip=b"\0\0\0\0", proto=0x07):
    floors = [
        (b"\x0d" + iface[0] + struct.pack("<H", iface[1]), struct.pack("<H", iface[2])),
        (b"\x0d" + NDR[0] + struct.pack("<H", NDR[1]), struct.pack("<H", NDR[2])),
        (b"\x0b", b"\0\0"),
        (bytes([proto]), struct.pack(">H", port)),
        (b"\x09", ip),
    ]
    t = struct.pack("<H", len(floors))
    for lhs, rhs in floors:
        t += struct.pack("<H", len(lhs)) + lhs + struct.pack("<H", len(rhs)) + rhs
    return t


def twr(t):
    b = struct.pack("<II", len(t), len(t)) + t
    while len(b) % 4:
        b += b"\0"
    return b


def map_req(iface, max_towers=4, with_object=True):
    b = struct.pack("<I", 1) + b"\0" * 16 if with_object else struct.pack("<I", 0)
    b += struct.pack("<I", 2) + twr(tower(iface))
    return b + b"\0" * 20 + struct.pack("<I", max_towers)


def map_rsp(towers, status=0, max_towers=4):
    b = b"\0" * 20 + struct.pack("<IIII", len(towers), max_towers, 0, len(towers))
    b += b"".join(struct.pack("<I", 3 + i) for i in range(len(towers)))
    b += b"".join(twr(t) for t in towers)
    return b + struct.pack("<I", status)


def lookup_req(inquiry=0, iface=None, vers_option=1, handle=b"\0" * 20, max_ents=500):
    b = struct.pack("<II", inquiry, 0)
    b += struct.pack("<I", 0x20000) + syntax(iface) if iface else struct.pack("<I", 0)
    return b + struct.pack("<I", vers_option) + handle + struct.pack("<I", max_ents)


def seeds():
    out = {}

    # -- pdu --
    samr_bind = pdu(11, bind_body([(0, SAMR, [NDR])]))
    multi = bind_body([(0, NSP, [NDR]), (1, NSP, [NDR64]), (2, NSP, [BTFN, NDR, NDR64])])
    ack = pdu(12, bind_ack_body("49154", [(0, 0, NDR)]))
    ntlm_negotiate = b"NTLMSSP\0\x01\0\0\0\x07\x82\x08\xa2" + b"\0" * 16
    verifier = b"\x01\0\0\0" + bytes(range(12))
    p = {
        "bind_samr": samr_bind,
        "bind_multi": pdu(11, multi, flags=FL | 0x10),
        "alter_multi": pdu(14, multi, call_id=3),
        "bind_ntlm": pdu(11, bind_body([(0, EMSMDB, [NDR])]),
                         auth=sec_trailer(10, 2, 0, ntlm_negotiate)),
        "bind_ack_49154": ack,
        "bind_ack_empty_addr": pdu(12, bind_ack_body("", [(0, 0, NDR), (2, 2, NDR64)])),
        "bind_ack_pipe": pdu(12, bind_ack_body("\\PIPE\\lsass", [(3, 3, NDR)])),
        "alter_resp": pdu(15, bind_ack_body("", [(0, 0, NDR)]), call_id=3),
        "bind_nak": pdu(13, struct.pack("<HB", 4, 1) + b"\x05\x00\0\0\0"),
        "bind_nak_short": pdu(13, struct.pack("<H", 2)),
        "request": request(b"\x01\x00\x00\x00" * 10, opnum=3, ctx=1),
        "request_object": request(b"\0" * 16, opnum=2,
                                  obj=wire_uuid("01234567-89ab-cdef-0123-456789abcdef")),
        "request_first_frag": request(b"\xaa" * 64, flags=FIRST),
        "request_sealed": request(b"\x55" * 13, opnum=9, pad=3,
                                  auth=sec_trailer(10, 6, 3, verifier)),
        "response": response(b"\0" * 20 + b"\x01\0\0\0"),
        "response_last_frag": response(b"\x33" * 40, flags=LAST),
        "fault": fault(0x1c010002),
        "fault_did_not_execute": fault(0x6f7, flags=FL | 0x20),
        "auth3": pdu(16, b"\0\0\0\0", auth=sec_trailer(10, 2, 0, b"NTLMSSP\0\x03\0\0\0")),
        "shutdown": pdu(17, b""),
        "co_cancel": pdu(18, b""),
        "orphaned": pdu(19, b""),
        "bind_truncated": truncate(samr_bind, 50),
        "bind_ack_truncated": truncate(ack, 30),
        "request_truncated": truncate(request(b"\0" * 8), 20),
        "bind_17_contexts": pdu(11, bind_body([(i, EPM, [NDR]) for i in range(17)])),
        "bad_version": b"\x04" + samr_bind[1:],
        "big_endian": samr_bind[:4] + b"\x00" + samr_bind[5:],
    }
    out["pdu"] = p

    # -- config --
    out["config"] = {
        "exchange.conf": b"""[global]
\tdcerpc_mapiproxy:binding    = ncacn_ip_tcp:exchange.example.com
\tdcerpc_mapiproxy:interfaces = exchange_emsmdb, exchange_async_emsmdb, exchange_nsp, exchange_ds_rfr
\tmapiproxy:listen            = 0.0.0.0
\tmapiproxy:port              = 6001
\tmapiproxy:interface ports   = exchange_nsp=6004, exchange_ds_rfr=6002
\tmapiproxy:log file          = /var/log/mapiproxy.log
""",
        "samba_dc.conf": b"""# proxy a Samba DC's samr
[global]
\tdcerpc_mapiproxy:binding    = ncacn_ip_tcp:127.0.0.2
\tdcerpc_mapiproxy:interfaces = samr, 3919286a-b10c-11d0-9ba8-00c04fd92ef5/0.0
\tmapiproxy:log level         = debug
\tmapiproxy:max frag          = 4280
\tmapiproxy:max call size     = 16M
\tmapiproxy:max buffered      = 64k
""",
        "full.conf": b"""; every mapiproxy option
[global]
  dcerpc_mapiproxy:binding = a4f1db00-ca47-1067-b31f-00dd010662da@ncacn_ip_tcp:fd00::1[135,print,seal]
  dcerpc_mapiproxy:interfaces = exchange_emsmdb, \\
                                exchange_nsp, \\
                                exchange_ds_rfr
  Mapiproxy:Epm Port = 0
  mapiproxy:upstream epm port = 135
  mapiproxy:upstream max frag = 2048
  mapiproxy:max calls = 64
  mapiproxy:max sessions = 4096
  mapiproxy:idle timeout = 900
  mapiproxy:io timeout = 30
  mapiproxy:drain timeout = 10
  mapiproxy:pid file = /run/mapiproxy.pid
  some flag = yes
[modules]
  ignored = true
""",
        "crlf.conf": b"[global]\r\nlog level = 3\r\nmapiproxy:port = 0x1771\r\n",
        "errors.conf": b"[global]\na = 1\nno equals here\n",
        "bad_section.conf": b"[global\nx = 1\n",
        "nul.conf": b"a = 1\nb = \x00\n",
    }

    # -- epm --
    samba_req = map_req(DRSUAPI, max_towers=1)
    samba_rsp = map_rsp([tower(DRSUAPI, 1024)], max_towers=1)
    out["epm"] = {
        "map_req_drsuapi": samba_req,
        "map_req_nsp_no_object": map_req(NSP, with_object=False),
        "map_rsp_drsuapi": samba_rsp,
        "map_rsp_three": map_rsp([tower(EMSMDB, 6001 + i, bytes([10, 0, 0, i])) for i in range(3)]),
        "map_rsp_not_registered": map_rsp([], status=0x16c9a0d6),
        "lookup_all": lookup_req(),
        "lookup_by_if": lookup_req(1, EMSMDB, 3, max_ents=1),
        "lookup_handle": lookup_req(0, None, 1, b"\0\0\0\0\x02\0\0\0mapiproxyepm", 2),
        "handle": b"\0" * 20,
        "tower_tcp": tower(NSP, 6004, b"\x0a\x00\x00\x05"),
        "tower_np": tower(NSP, 0, proto=0x0f),
        "map_req_truncated": samba_req[:60],
        "opnum_prefixed_map": b"\x03\x00" + samba_req,
        "opnum_prefixed_lookup": b"\x02\x00" + lookup_req(),
        "opnum_insert": b"\x00\x00" + b"\0" * 40,
    }

    # -- binding --
    out["binding"] = {
        name: text.encode() for name, text in {
            "host": "ncacn_ip_tcp:host",
            "port": "ncacn_ip_tcp:host[135]",
            "flag": "ncacn_ip_tcp:host[print]",
            "port_flags": "ncacn_ip_tcp:exchange.example.com[6001,print,seal]",
            "ipv6_port": "ncacn_ip_tcp:fd00::1[135]",
            "ipv6_loopback": "ncacn_ip_tcp:::1",
            "object": "a4f1db00-ca47-1067-b31f-00dd010662da@ncacn_ip_tcp:10.0.0.1[sign]",
            "all_flags": "ncacn_ip_tcp:h[65535,print,sign,seal,connect,ntlm,spnego,krb5,ndr64,"
                         "padcheck,validate,bigendian]",
            "empty_opts": "ncacn_ip_tcp:h[,]",
            "np": "ncacn_np:host[\\pipe\\lsass]",
            "two_ports": "ncacn_ip_tcp:host[135,136]",
            "no_close": "ncacn_ip_tcp:host[135",
        }.items()
    }
    return out


def main():
    for target, files in seeds().items():
        d = os.path.join(CORPUS, target)
        os.makedirs(d, exist_ok=True)
        for name, data in sorted(files.items()):
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        print(f"{target}: {len(files)} seeds in {os.path.relpath(d)}")


if __name__ == "__main__":
    main()
