#!/usr/bin/python3
"""Write the seed corpus of fuzz_proxypack into tests/fuzz/corpus/proxypack/.

Run with /usr/bin/python3 (standard library only). Seeds (the first byte is
the fuzz target's mode, see fuzz_proxypack.c):

* native ROP request buffers (the rop_request seeds) to pack, in compat and
  whole mode with several RopIds selected;
* carriers built here from the blob layout of modules/pack/proxypack.h,
  with stored bodies (no compression): whole mode in one and in two
  carriers, compat mode with two extracted ROPs and the rest in place, a
  response; and a few broken ones (CRC, version, misplaced ROP).

The carriers are written from the format description, not by the C code,
so that a bug there cannot hide in the seeds. Re-running the script
rewrites the same files byte for byte.
"""
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
NATIVE_IN_BODY = 1


def write(name, data):
    d = os.path.join(CORPUS, "proxypack")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def crc(bufs):
    c = 0
    for flags, payload in bufs:
        c = zlib.crc32(struct.pack("<H", flags), c)
        c = zlib.crc32(payload, c)
    return c & 0xFFFFFFFF


def blob(kind, flags, body, native, version=1, accept=0x07):
    return (b"MPPK" + bytes([version, kind, 0, accept if kind == 1 else 0, flags, 0, 0, 0]) +
            struct.pack("<II", len(body), crc(native)) + body)


def carrier(frag, after=b"", after_rops=0):
    return struct.pack("<H", 7 + len(frag) + after_rops) + b"\xa5\x00\x00" + \
        struct.pack("<H", len(frag)) + frag + after


def carriers(mode, segs):
    return bytes([mode]) + b"".join(struct.pack("<H", len(s)) + s for s in segs)


def whole_body(native, extracted=()):
    out = struct.pack("<H", len(native))
    for flags, payload in native:
        out += struct.pack("<HH", flags, len(payload)) + payload
    out += struct.pack("<H", len(extracted))
    for off, rop in extracted:
        out += struct.pack("<HH", off, len(rop)) + rop
    return out


def rop_buffer(rops, handles):
    body = b"".join(rops)
    return struct.pack("<H", len(body) + 2) + body + b"".join(struct.pack("<I", h)
                                                              for h in handles)


def main():
    src = os.path.join(CORPUS, "rop_request")
    for name in sorted(os.listdir(src)):
        data = open(os.path.join(src, name), "rb").read()
        base = name.rsplit(".", 1)[0]
        write(f"native_{base}_whole.bin", bytes([0x00]) + data)
        write(f"native_{base}_extract.bin", bytes([0x0C | 0x02]) + data)

    # Three ROPs: RopGetContentsTable, RopSetColumns, RopQueryRows.
    rops = [bytes.fromhex("05 00 00 01 00"),
            bytes.fromhex("12 00 01 00 02 00 03 00 08 0e 1f 00 37 00"),
            bytes.fromhex("15 00 01 00 01 0a 00")]
    buf = rop_buffer(rops, [1, 0xFFFFFFFF])
    native = [(0x0005, buf)]
    b1 = blob(1, NATIVE_IN_BODY, whole_body(native), native)
    write("whole_request.bin", carriers(0x01, [carrier(b1)]))
    write("whole_request_two_carriers.bin",
          carriers(0x01, [carrier(b1[:30]), carrier(b1[30:])]))
    rsp = [(0x0001, bytes(range(40))), (0x0005, bytes(range(60, 100)))]
    write("whole_response.bin",
          carriers(0x03, [carrier(blob(2, NATIVE_IN_BODY, whole_body(rsp), rsp))]))
    # Compat: SetColumns and QueryRows extracted (offsets 7 and 21), the
    # RopGetContentsTable and the handle table left in place.
    rest = rop_buffer(rops[:1], [1, 0xFFFFFFFF])
    body = struct.pack("<HH", 1, 0x0005) + struct.pack("<H", 2)
    body += struct.pack("<HH", 2 + len(rops[0]), len(rops[1])) + rops[1]
    body += struct.pack("<HH", 2 + len(rops[0]) + len(rops[1]), len(rops[2])) + rops[2]
    b2 = blob(1, 0, body, native)
    write("compat_request.bin",
          carriers(0x01, [carrier(b2, rest[2:], len(rops[0]))]))
    # Broken: CRC, version 2, an extracted ROP past the rest's ROP list.
    bad = bytearray(b1)
    bad[16] ^= 0xFF
    write("bad_crc.bin", carriers(0x01, [carrier(bytes(bad))]))
    write("bad_version.bin",
          carriers(0x01, [carrier(blob(1, NATIVE_IN_BODY, whole_body(native), native, 2))]))
    far = whole_body([(0x0005, rest)], [(40, rops[1])])
    write("bad_offset.bin", carriers(0x01, [carrier(blob(1, NATIVE_IN_BODY, far, native))]))


if __name__ == "__main__":
    main()
