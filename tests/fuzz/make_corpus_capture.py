#!/usr/bin/python3
"""Write the seed corpus of fuzz_capture to tests/fuzz/corpus/capture/.

    /usr/bin/python3 tests/fuzz/make_corpus_capture.py

Input format: see the comment at the top of tests/fuzz/fuzz_capture.c.
Seeds: the rpcclient captures of tests/unit/data/capture (mode 0: SPNEGO
and NTLMSSP handshakes, sealed and signed calls), a tiny classic pcap of
one bind (mode 0, JSON), a bind / bind_ack / request / response exchange as
byte-stream records with a gap (mode 1) and as TCP segments with a
handshake, a retransmission and a reordering (mode 2).
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "capture")
DATA = os.path.join(HERE, "..", "unit", "data", "capture")

NDR = bytes.fromhex("045d888aeb1cc9119fe808002b104860") + struct.pack("<HH", 2, 0)
SAMR = bytes.fromhex("785734123412cdabef000123456789ac") + struct.pack("<HH", 1, 0)


def put(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def hdr(ptype, flags, body_len, call_id, auth_len=0):
    return struct.pack("<BBBB4sHHI", 5, 0, ptype, flags, b"\x10\0\0\0",
                       16 + body_len, auth_len, call_id)


def bind(call_id=1):
    body = struct.pack("<HHIB3x", 4280, 4280, 0, 1) + struct.pack("<HBx", 0, 1) + SAMR + NDR
    return hdr(11, 3, len(body), call_id) + body


def bind_ack(call_id=1):
    body = struct.pack("<HHIH", 4280, 4280, 0x1234, 6) + b"49154\0"
    body += b"\0" * (-(16 + len(body)) % 4)
    body += struct.pack("<B3x", 1) + struct.pack("<HH", 0, 0) + NDR
    return hdr(12, 3, len(body), call_id) + body


def request(call_id, opnum, stub):
    body = struct.pack("<IHH", len(stub), 0, opnum) + stub
    return hdr(0, 3, len(body), call_id) + body


def response(call_id, stub):
    body = struct.pack("<IHBx", len(stub), 0, 0) + stub
    return hdr(2, 3, len(body), call_id) + body


def pcap(frames):
    out = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101)  # LINKTYPE_RAW
    for i, f in enumerate(frames):
        out += struct.pack("<IIII", 1700000000 + i, 0, len(f), len(f)) + f
    return out


def ipv4_tcp(src, dst, sport, dport, seq, flags, payload):
    tcp = struct.pack(">HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0) + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0,
                     bytes(src), bytes(dst))
    return ip + tcp


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in ("samba_rpcclient_ntlm_seal", "samba_rpcclient_spnego_seal",
                 "samba_rpcclient_spnego_sign"):
        with open(os.path.join(DATA, name + ".pcapng"), "rb") as f:
            put("file_" + name, b"\x00" + f.read())
    cli, srv = [127, 0, 0, 1], [127, 0, 0, 2]
    b = bind()
    frames = [ipv4_tcp(cli, srv, 40000, 135, 100, 0x02, b""),
              ipv4_tcp(srv, cli, 135, 40000, 900, 0x12, b""),
              ipv4_tcp(cli, srv, 40000, 135, 101, 0x18, b),
              ipv4_tcp(srv, cli, 135, 40000, 901, 0x18, bind_ack()),
              ipv4_tcp(cli, srv, 40000, 135, 101 + len(b), 0x18, request(2, 1, b"\0" * 20)),
              ipv4_tcp(srv, cli, 135, 40000, 901 + len(bind_ack()), 0x18,
                       response(2, b"\0" * 4))]
    put("file_tiny_pcap_json", b"\x80" + pcap(frames))

    def rec(op, data):
        return struct.pack("<BH", op, len(data)) + data
    stream = (rec(0, b) + rec(1, bind_ack()) + rec(0, request(2, 17, bytes(range(40)))) +
              rec(2, b"\0" * 30) + rec(0, request(3, 1, b"\1" * 8)) +
              rec(1, response(3, b"\2" * 8)) + rec(1, response(2, b"\3" * 16)))
    put("streams_bind_calls_gap", b"\x01" + stream)
    put("streams_http_prefix", b"\x01" + rec(0, b"ncacn_http/1.0" + b) +
        rec(1, b"ncacn_http/1.0" + bind_ack()))

    def seg(flags, who, off, payload):
        return struct.pack("<BBHB", flags, who, off, len(payload)) + payload
    req = request(2, 5, b"\4" * 24)
    segs = (seg(0x02, 0, 0, b"") + seg(0x12, 1, 0, b"") + seg(0x18, 0, 1, b) +
            seg(0x18, 0, 1, b) + seg(0x18, 1, 1, bind_ack()) +
            seg(0x18, 0, 1 + len(b) + 10, req[10:]) + seg(0x18, 0, 1 + len(b), req[:10]) +
            seg(0x18, 1, 1 + len(bind_ack()), response(2, b"\5" * 8)) +
            seg(0x11, 0, 1 + len(b) + len(req), b"") + seg(0x19, 1, 200, b""))
    put("segments_handshake_reorder", b"\x02" + segs)
    put("segments_unlisted_port", b"\x02" + seg(0x18, 0x20, 1, b) + seg(0x18, 0x21, 1, bind_ack()))


if __name__ == "__main__":
    main()
