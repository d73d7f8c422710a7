#!/usr/bin/python3
"""Write the seed corpus of fuzz_sec to tests/fuzz/corpus/sec/.

    /usr/bin/python3 tests/fuzz/make_corpus_sec.py

Input format: see the comment at the top of tests/fuzz/fuzz_sec.c. Seeds:
impacket's protected requests / responses and its bind / auth3 from
tests/unit/data/sec_*.bin (raw modes 0 and 1: they do not verify under the
fuzzer's keys but reach every check before the MAC), plain and malformed
fragments, and genuine-fragment inputs (modes 2 and 3) for each level, with
and without header signing and edits, at several max_frag sizes.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "sec")
DATA = os.path.join(HERE, "..", "unit", "data")

INTEG, PRIV, PKT, CONNECT = 0 << 2, 1 << 2, 2 << 2, 3 << 2
HDRSIGN, OBJECT = 0x10, 0x20


def put(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def frags(fn):
    with open(os.path.join(DATA, fn), "rb") as f:
        b = f.read()
    off = 0
    while off < len(b):
        n = struct.unpack_from("<H", b, off + 8)[0]
        yield b[off:off + n]
        off += n


def read(fn):
    with open(os.path.join(DATA, fn), "rb") as f:
        return f.read()


def stub(n):
    return bytes((i * 7 + 3) & 0xFF for i in range(n))


def main():
    os.makedirs(OUT, exist_ok=True)
    for i, f in enumerate(frags("sec_priv_requests.bin")):
        put("raw_req_priv_%d" % i, bytes([0 | PRIV]) + f)
    for i, f in enumerate(frags("sec_integ_requests.bin")):
        put("raw_req_integ_%d" % i, bytes([0 | INTEG | HDRSIGN]) + f)
    for i, f in enumerate(frags("sec_resp_priv_responses.bin")):
        put("raw_resp_priv_%d" % i, bytes([1 | PRIV]) + f)
    put("raw_bind", bytes([0 | PRIV]) + read("sec_priv_bind.bin"))
    put("raw_auth3", bytes([0 | PRIV]) + read("sec_priv_auth3.bin"))
    put("raw_bind_ack", bytes([1 | PRIV]) + read("sec_priv_bind_ack.bin"))
    # A plain request (no trailer), at CONNECT and at PKT_INTEGRITY.
    plain = struct.pack("<BBBBIHHIIHH", 5, 0, 0, 3, 0x10, 24 + 8, 0, 1, 8, 0, 1) + stub(8)
    put("raw_plain_connect", bytes([0 | CONNECT]) + plain)
    put("raw_plain_integ", bytes([0 | INTEG]) + plain)
    # A trailer claiming more than the fragment holds, and one misaligned.
    first = next(frags("sec_priv_requests.bin"))
    bad = bytearray(first)
    bad[10] = 0xff
    put("raw_bad_auth_len", bytes([0 | PRIV]) + bytes(bad))
    bad = bytearray(first)
    bad[10] = 15
    put("raw_misaligned", bytes([0 | PRIV]) + bytes(bad))
    for lname, lv in (("integ", INTEG), ("priv", PRIV), ("pkt", PKT), ("connect", CONNECT)):
        for hs in (0, HDRSIGN):
            for max_frag, n in ((1432, 0), (1432, 17), (4280, 3000), (64, 40), (200, 1000)):
                tag = "%s%s_%d_%d" % (lname, "_hs" if hs else "", max_frag, n)
                body = struct.pack("<HB", max_frag, 0) + stub(n)
                put("req_" + tag, bytes([2 | lv | hs | OBJECT]) + body)
                put("resp_" + tag, bytes([3 | lv | hs]) + body)
            edited = struct.pack("<HB", 1432, 2) + struct.pack("<HB", 12, 1) + \
                struct.pack("<HB", 40, 0x80) + stub(100)
            put("req_edit_%s%s" % (lname, "_hs" if hs else ""), bytes([2 | lv | hs]) + edited)


if __name__ == "__main__":
    main()
