#!/usr/bin/python3
"""Write the seed corpora of fuzz_lz77, fuzz_rpc_ext and fuzz_aux into
tests/fuzz/corpus/<target>/.

Run with /usr/bin/python3 (standard library only). The seeds are built here
from the specifications (MS-XCA 3.1 examples, MS-OXCRPC 2.2.2.1, 2.2.2.2,
3.1.4.1.1.2, 4.3), with a small LZ77+DIRECT2 encoder of our own in Python, not
from the C code, so a bug there cannot leak into the seeds. Re-running the
script rewrites the same files byte for byte.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

COMPRESSED, XORMAGIC, LAST = 0x1, 0x2, 0x4


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def lz77(data):
    """Greedy LZ77 + DIRECT2 (MS-OXCRPC 3.1.4.1.1.2): naive search, window
    8192, all length forms, shared nibble bytes, end marker bits."""
    out = bytearray(b"\0\0\0\0")
    slot, flags, nflags, nibble = 0, 0, 0, None
    pos = 0

    def bit(b):
        nonlocal slot, flags, nflags
        flags = (flags << 1) | b
        nflags += 1
        if nflags == 32:
            out[slot:slot + 4] = struct.pack("<I", flags)
            slot = len(out)
            out.extend(b"\0\0\0\0")
            flags, nflags = 0, 0

    while pos < len(data):
        best, boff = 0, 0
        for cand in range(max(0, pos - 8192), pos):
            n = 0
            while pos + n < len(data) and data[cand + n] == data[pos + n]:
                n += 1
            if n > best:
                best, boff = n, pos - cand
        if best < 3:
            out.append(data[pos])
            bit(0)
            pos += 1
            continue
        v = best - 3
        if v < 7:
            out.extend(struct.pack("<H", ((boff - 1) << 3) | v))
        else:
            out.extend(struct.pack("<H", ((boff - 1) << 3) | 7))
            v -= 7
            nib = min(v, 15)
            if nibble is None:
                nibble = len(out)
                out.append(nib)
            else:
                out[nibble] |= nib << 4
                nibble = None
            if nib == 15:
                v -= 15
                if v < 255:
                    out.append(v)
                else:
                    out.append(255)
                    if best - 3 <= 0xffff:
                        out.extend(struct.pack("<H", best - 3))
                    else:
                        out.extend(struct.pack("<HI", 0, best - 3))
        bit(1)
        pos += best
    rest = 32 - nflags
    out[slot:slot + 4] = struct.pack("<I", ((flags << rest) | ((1 << rest) - 1)) & 0xffffffff)
    return bytes(out)


def xor(data):
    return bytes(b ^ 0xA5 for b in data)


def segment(payload, flags):
    """One RPC_HEADER_EXT + payload, compressed before obfuscated."""
    wire = payload
    if flags & COMPRESSED:
        wire = lz77(payload)
        if len(wire) >= len(payload):
            flags &= ~COMPRESSED
            wire = payload
    if flags & XORMAGIC:
        wire = xor(wire)
    return struct.pack("<HHHH", 0, flags, len(wire), len(payload)) + wire


def utf16z(s):
    return s.encode("utf-16-le") + b"\0\0"


def aux_block(version, typ, body):
    body = bytes(body)
    while (4 + len(body)) % 4:
        body += b"\0"
    return struct.pack("<HBB", 4 + len(body), version, typ) + body


GUID = bytes(range(0x10, 0x20))


def aux_clientinfo():
    fixed = 28
    var = bytearray()
    offs = []
    for item in (utf16z("WS0042"), utf16z("jdoe"), b"\xc0\xa8\x01\x0a", b"\xff\xff\xff\x00",
                 utf16z("Ethernet0"), b"\x00\x15\x5d\x01\x02\x03"):
        offs.append(4 + fixed + len(var))
        var += item
    body = struct.pack("<IHHHHHHHHHHHH", 1000000, 1, offs[0], offs[1], 4, offs[2], 4, offs[3],
                       offs[4], 6, offs[5], 2, 0)
    return aux_block(1, 0x02, body + var)


def aux_payload():
    blocks = [
        aux_clientinfo(),
        aux_block(1, 0x18, struct.pack("<HH", 1, 0) + GUID),  # ACCOUNTINFO
        aux_block(2, 0x04, struct.pack("<HH", 1, 0) + GUID + struct.pack("<I", 7)),
        aux_block(2, 0x0B, struct.pack("<HH", 1, 0) + GUID + struct.pack("<HH", 28, 0) +
                  utf16z("OUTLOOK.EXE")),
        aux_block(1, 0x4A, GUID + struct.pack("<HHII", 32, 0, 3, 1) + utf16z("ctx")),
    ]
    return b"".join(blocks)


def aux_server_out():
    blocks = [
        aux_block(1, 0x0A, struct.pack("<II", 0x5, 3600000)),  # CLIENT_CONTROL
        aux_block(1, 0x16, struct.pack("<IIII", 148, 10, 0, 20348) + bytes(132) +
                  struct.pack("<HHI", 0, 0, 0)),  # OSVERSIONINFO
        aux_block(1, 0x17, struct.pack("<I", 1)),  # EXORGINFO
        aux_block(1, 0x46, struct.pack("<I", 3)),  # SERVER_CAPABILITIES
        aux_block(1, 0x48, struct.pack("<I", 1)),  # ENDPOINT_CAPABILITIES
        aux_block(1, 0x4B, struct.pack("<H", 6) + utf16z("EX01;sid=42")),
        aux_block(1, 0x03, struct.pack("<HHHH", 1, 1, 12, 12 + 2 * 6) + utf16z("/o=Org") +
                  utf16z("EX01")),
    ]
    return b"".join(blocks)


def aux_perf():
    blocks = [
        aux_block(1, 0x01, struct.pack("<HH", 1, 2)),
        aux_block(1, 0x05, struct.pack("<IIHH", 10, 20, 3, 0)),
        aux_block(1, 0x06, struct.pack("<HHIIB3x", 1, 2, 10, 20, 5)),
        aux_block(2, 0x07, struct.pack("<HHHHHHII", 1, 2, 3, 4, 5, 0, 10, 20)),
        aux_block(1, 0x08, struct.pack("<HHHHIIB3x", 1, 2, 3, 0, 10, 20, 5)),
        aux_block(2, 0x09, struct.pack("<HHHHHHIIIB3x", 1, 2, 3, 4, 5, 0, 10, 20,
                                       0x80040115, 11)),
        aux_block(2, 0x13, struct.pack("<HHHHHHII", 1, 2, 3, 4, 5, 0, 10, 20)),
        aux_block(1, 0x99, b"unknown"),
        aux_block(1, 0x4E, struct.pack("<HHHHH", 14, 14 + 8, 0, 0, 0) + utf16z("Con") +
                  utf16z("Pho")),
    ]
    return b"".join(blocks)


def main():
    abc = b"abc" * 100
    alpha = b"abcdefghijklmnopqrstuvwxyz"
    text = (b"Subject: Weekly status\r\nFrom: Jane Doe <jane@contoso.com>\r\n\r\n" * 8)
    rows = b"".join(utf16z("Inbox") + struct.pack("<IQ", 0x3001001F, i) for i in range(40))
    run = b"\0" * 70000

    # fuzz_lz77: 0x01 + plain data (round trip); 0x00 + capacity/4 (u16) + stream.
    write("lz77", "rt_abc", b"\x01" + abc)
    write("lz77", "rt_text", b"\x01" + text)
    write("lz77", "rt_rows", b"\x01" + rows)
    write("lz77", "rt_empty", b"\x01")
    for name, plain in (("abc", abc), ("alpha", alpha), ("text", text), ("rows", rows),
                        ("run", run)):
        z = lz77(plain)
        write("lz77", "dz_" + name, b"\x00" + struct.pack("<H", (len(plain) + 3) // 4) + z)
    # MS-XCA 3.1 example streams as printed there.
    write("lz77", "dz_xca_abc", b"\x00\x4b\x00" + bytes([
        0xff, 0xff, 0xff, 0x1f, 0x61, 0x62, 0x63, 0x17, 0x00, 0x0f, 0xff, 0x26, 0x01]))
    # Two extended lengths sharing one nibble byte (0x32).
    write("lz77", "dz_nibble", b"\x00\x07\x00" + bytes([
        0xff, 0xff, 0xff, 0x1f, 0x61, 0x62, 0x63, 0x17, 0x00, 0x32, 0x17, 0x00]))

    # fuzz_rpc_ext: 0x00 (rgbOut limits) + buffer.
    ropbuf = struct.pack("<H", 0x142) + bytes((i * 7) & 0xff for i in range(320)) + bytes(16)
    write("rpc_ext", "spec43_rgbin", b"\x00" + segment(ropbuf, LAST))
    write("rpc_ext", "xor", b"\x00" + segment(text, XORMAGIC | LAST))
    write("rpc_ext", "compressed_xor", b"\x00" + segment(abc, COMPRESSED | XORMAGIC | LAST))
    write("rpc_ext", "chain", b"\x00" + segment(text, COMPRESSED) + segment(rows, XORMAGIC) +
          segment(b"", 0) + segment(abc, COMPRESSED | XORMAGIC | LAST))
    write("rpc_ext", "trailing", b"\x00" + segment(alpha, LAST) + b"\x01\x02\x03")
    write("rpc_ext", "aux_out", b"\x01" + segment(aux_server_out(), COMPRESSED | LAST))

    # fuzz_aux: 0x00 + payload; 0x01 + RPC_HEADER_EXT chain around it.
    write("aux", "connectex_auxin", b"\x00" + aux_payload())
    write("aux", "connectex_auxout", b"\x00" + aux_server_out())
    write("aux", "perf", b"\x00" + aux_perf())
    write("aux", "wrapped_auxin", b"\x01" + segment(aux_payload(), COMPRESSED | XORMAGIC | LAST))
    write("aux", "wrapped_perf", b"\x01" + segment(aux_perf(), XORMAGIC | LAST))


if __name__ == "__main__":
    main()
