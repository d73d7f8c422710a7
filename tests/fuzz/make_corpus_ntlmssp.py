#!/usr/bin/python3
"""Write the seed corpus of fuzz_ntlmssp into tests/fuzz/corpus/ntlmssp/.

Run with /usr/bin/python3 (standard library only). Seeds: the [MS-NLMP]
4.2.2.3 and 4.2.4.3 messages, the impacket vectors of tests/unit/data/
(messages written by impacket, CHALLENGEs by our server), and messages built
here field by field from [MS-NLMP] 2.2 (not from the C encoders): every AV
id, a MIC-bearing AUTHENTICATE with an NTLMv2 blob, NTLMv1 and anonymous
AUTHENTICATEs. Re-running rewrites the same files byte for byte.
"""
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "ntlmssp")
UNIT_DATA = os.path.join(HERE, "..", "unit", "data")
SIG = b"NTLMSSP\0"

SPEC = {
    # [MS-NLMP] 4.2.4.3
    "spec_v2_challenge":
        "4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef"
        "00000000000000002400240044000000060070170000000f5300650072007600"
        "6500720002000c0044006f006d00610069006e0001000c005300650072007600"
        "6500720000000000",
    "spec_v2_authenticate":
        "4e544c4d5353500003000000180018006c00000054005400840000000c000c00"
        "480000000800080054000000100010005c00000010001000d8000000358288e2"
        "0501280a0000000f44006f006d00610069006e00550073006500720043004f00"
        "4d005000550054004500520086c35097ac9cec102554764a57cccc19aaaaaaaa"
        "aaaaaaaa68cd0ab851e51c96aabc927bebef6a1c010100000000000000000000"
        "00000000aaaaaaaaaaaaaaaa0000000002000c0044006f006d00610069006e00"
        "01000c005300650072007600650072000000000000000000c5dad2544fc97990"
        "94ce1ce90bc9d03e",
    # [MS-NLMP] 4.2.2.3
    "spec_v1_challenge":
        "4e544c4d53535000020000000c000c0038000000338202e20123456789abcdef"
        "00000000000000000000000000000000060070170000000f5300650072007600"
        "65007200",
    "spec_v1_authenticate":
        "4e544c4d5353500003000000180018006c00000018001800840000000c000c00"
        "480000000800080054000000100010005c000000100010009c000000358280e2"
        "0501280a0000000f44006f006d00610069006e00550073006500720043004f00"
        "4d0050005500540045005200" "98def7b87f88aa5dafe2df779688a172def11c7d"
        "5ccdef1367c43011f30298a2ad35ece64f16331c44bdbed927841f94518822b1"
        "b3f350c8958682ecbb3e3cb7",
}


def u16(s):
    return s.encode("utf-16-le")


def version():
    return struct.pack("<BBH3xB", 10, 0, 19041, 15)


def with_fields(header, fixed_len, fields, extra=b""):
    """header: bytes up to the first descriptor; fields: list of (desc_pos, data).
    Payload follows the fixed part (fixed_len bytes incl. `extra`)."""
    msg = bytearray(header.ljust(fixed_len - len(extra), b"\0") + extra)
    for pos, data in fields:
        struct.pack_into("<HHI", msg, pos, len(data), len(data), len(msg))
        msg += data
    return bytes(msg)


def negotiate(flags, domain=b"", ws=b""):
    head = SIG + struct.pack("<II", 1, flags)
    return with_fields(head, 40, [(16, domain), (24, ws)], version())


def av(pairs):
    b = b"".join(struct.pack("<HH", i, len(v)) + v for i, v in pairs)
    return b + struct.pack("<HH", 0, 0)


def challenge(flags, target_name, target_info):
    head = SIG + struct.pack("<I8xI8s8x8x", 2, flags, bytes(range(1, 9)))
    return with_fields(head, 56, [(12, target_name), (40, target_info)], version())


def authenticate(flags, lm, nt, domain, user, ws, key, mic=True):
    head = SIG + struct.pack("<I48xI", 3, flags)
    extra = version() + (b"\x11" * 16 if mic else b"")
    fixed = 64 + len(extra)
    return with_fields(head, fixed, [(28, domain), (36, user), (44, ws), (12, lm), (20, nt),
                                     (52, key)], extra)


ALL_FLAGS = 0xE2898235
TS = struct.pack("<Q", 133300000000000000)


def built():
    seeds = {}
    seeds["neg_oem_fields"] = negotiate(0xE208B237, b"DOMAIN", b"WORKSTATION")
    seeds["neg_no_unicode"] = negotiate(0x02000206)
    info = av([(2, u16("DOM")), (1, u16("SRV")), (4, u16("dom.test")), (3, u16("srv.dom.test")),
               (5, u16("dom.test")), (6, struct.pack("<I", 1)), (7, TS),
               (8, struct.pack("<II", 48, 0) + b"\x01" * 8 + b"\x02" * 32), (9, u16("host/srv")),
               (10, b"\x03" * 16), (0x00FF, b"unknown id kept")])
    seeds["chal_all_av_ids"] = challenge(ALL_FLAGS, u16("DOM"), info)
    seeds["chal_no_target_info"] = challenge(0xE2088235 & ~0x00800000, u16("DOM"), b"")
    blob = (b"\x01\x01" + b"\0" * 6 + TS + b"\xcc" * 8 + b"\0" * 4 +
            av([(2, u16("DOM")), (1, u16("SRV")), (7, TS), (6, struct.pack("<I", 2)),
                (9, u16("host/srv")), (10, b"\0" * 16)]) + b"\0" * 4)
    nt = b"\xee" * 16 + blob
    seeds["auth_v2_mic"] = authenticate(0xE2888235, b"\0" * 24, nt, u16("DOM"), u16("user"),
                                        u16("WS"), b"\x42" * 16)
    seeds["auth_v2_no_mic"] = authenticate(0xE2888235, b"\0" * 24, nt, u16("DOM"), u16("user"),
                                           u16("WS"), b"\x42" * 16, mic=False)
    seeds["auth_v1"] = authenticate(0x00088205, b"\xaa" * 8 + b"\0" * 16, b"\x75" * 24,
                                    u16("DOM"), u16("user"), u16("WS"), b"", mic=False)
    seeds["auth_anonymous"] = authenticate(0x00000801, b"\0", b"", b"", b"", u16("WS"), b"",
                                           mic=False)
    return seeds


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, hexdata in SPEC.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(bytes.fromhex(hexdata))
    for name, data in built().items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    for name in sorted(os.listdir(UNIT_DATA)):
        if name.startswith("ntlm_impacket_") and name.endswith(
                ("_negotiate.bin", "_challenge.bin", "_authenticate.bin")):
            shutil.copyfile(os.path.join(UNIT_DATA, name),
                            os.path.join(OUT, name[len("ntlm_"):-len(".bin")]))


if __name__ == "__main__":
    main()
