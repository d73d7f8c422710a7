#!/usr/bin/python3
"""Write the seed corpora of fuzz_rop_request and fuzz_rop_response into
tests/fuzz/corpus/rop_request/ and tests/fuzz/corpus/rop_response/.

Run with /usr/bin/python3 (standard library only). The seeds are the ROP
byte dumps of the protocol-example sections of MS-OXCPRPT, MS-OXCTABL,
MS-OXCFOLD and MS-OXOMSG (the vectors of tests/unit/test_rop_vectors.c),
plus buffers written here from MS-OXCROPS that reach the stateful paths
(logons, table columns, notifications, restrictions, rule actions).
Re-running the script rewrites the same files byte for byte.

A rop_request seed is one ROP request buffer. A rop_response seed is
u16 length, that many bytes of request buffer, then the response buffer.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def b(hexstr):
    return bytes.fromhex(hexstr.replace(" ", "").replace("-", ""))


def rop_buffer(rops_hex, handles=()):
    body = b(rops_hex)
    return struct.pack("<H", len(body) + 2) + body + b"".join(struct.pack("<I", h) for h in handles)


def pair(req, rsp):
    return struct.pack("<H", len(req)) + req + rsp


SET_PROPERTIES = ("0A 00 00 24 00 02 00 1F 00 3D 00 00 00 1F 00 1D 0E 48 00 65 00 6C 00 6C 00 6F 00"
                  " 20 00 57 00 6F 00 72 00 6C 00 64 00 00 00")
GET_PROPS = "07 00 00 00 00 01 00 03 00 0B 00 3E 86 03 00 3F 86 02 01 E2 65"
CONTENTS_TABLE = "05 00 00 01 00"
SET_COLUMNS = "12 00 01 00 02 00 03 00 08 0e 1f 00 37 00"
QUERY_ROWS = "15 00 01 00 01 0a 00"
SORT_TABLE = "13 00 00 00 02 00 01 00 01 00 1f 30 08 80 00 40 00 06 0e 01"
CREATE_FOLDER = "1C 00 00 01 01 01 00 00 46 00 6F 00 6C 00 64 00 65 00 72 00 31 00 00 00 00 00"
MOVE_FOLDER = ("35 00 01 02 01 01 01 00 00 00 0E 8E DF 36 46 00 6F 00 6C 00 64 00 65 00 72 00 31 00"
               " 00 00")
LOGON_PUBLIC = "fe 01 00 00 02 00 00 00 00 00 00 00 00 00"
SET_READ_FLAG = "11 01 01 02 01" + " 00" * 24
# RopRestrict: And(Exist(PidTagSubject), Not(Bitmask NEZ PidTagMessageFlags & 1)).
RESTRICT = "14 00 01 00 13 00 00 02 00 08 1f 00 37 00 02 06 01 03 00 07 0e 01 00 00 00"
# RopModifyRules: one new rule with a PtypRuleAction value (OP_BOUNCE) and a
# PtypRestriction value (Exist).
MODIFY_RULES = ("41 00 00 00 01 00 01 02 00"
                " fe 00 80 66 01 00 0d 00 06 00 00 00 00 00 00 00 00 26 00 00 00"
                " fd 00 79 66 08 1f 00 37 00")

REQUESTS = {
    "oxcprpt_set_properties": rop_buffer(SET_PROPERTIES, [1]),
    "oxcprpt_get_properties_specific": rop_buffer(GET_PROPS, [0x0a]),
    "oxctabl_contents_columns_rows": rop_buffer(CONTENTS_TABLE + SET_COLUMNS + QUERY_ROWS,
                                                [0x11, 0xffffffff]),
    "oxctabl_sort_table": rop_buffer(SORT_TABLE, [1]),
    "oxcfold_create_folder": rop_buffer(CREATE_FOLDER, [1, 0xffffffff]),
    "oxcfold_move_folder": rop_buffer(MOVE_FOLDER, [1, 2, 3]),
    "logon_private": rop_buffer("fe 00 00 01 0c 04 00 01 00 00 00 00 0a 00 2f 6f 3d 78 2f 63 6e 3d 61 00",
                                [0xffffffff]),
    "public_read_flag": rop_buffer(LOGON_PUBLIC + SET_READ_FLAG, [0xffffffff, 3, 4]),
    "restrict": rop_buffer(RESTRICT, [1]),
    "modify_rules": rop_buffer(MODIFY_RULES, [1]),
    "unknown_rop_tail": rop_buffer("7b 00 00 00 11 22 33 7b 00 00", [1]),
}

RESPONSES = {
    "oxcprpt_set_properties": pair(REQUESTS["oxcprpt_set_properties"],
                                   rop_buffer("0A 00 00 00 00 00 00 00", [1])),
    "oxcprpt_get_properties_specific": pair(
        REQUESTS["oxcprpt_get_properties_specific"],
        rop_buffer("07 00 00 00 00 00 00 01 05 00 00 00 02 00 aa bb", [0x0a])),
    "oxctabl_rows": pair(
        REQUESTS["oxctabl_contents_columns_rows"],
        rop_buffer("05 01 00 00 00 00 02 00 00 00 12 01 00 00 00 00 00"
                   " 15 01 00 00 00 00 02 01 00 00 2a 00 00 00 61 00 00 00", [0x11, 0x22])),
    "oxcfold_create_folder": pair(REQUESTS["oxcfold_create_folder"],
                                  rop_buffer("1C 01 00 00 00 00 01 00 00 00 0E 91 52 12 00", [1, 0x22])),
    "oxcfold_move_folder": pair(REQUESTS["oxcfold_move_folder"],
                                rop_buffer("35 01 00 00 00 00 00", [1, 2, 3])),
    "notify_pending": pair(b"", rop_buffer(
        "2a 22 00 00 00 00 00 81 03 00 01 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00 00 00 00 00"
        " 03 00 00 00 00 00 00 00 04 00 00 00 00 00 00 00 00 00 00 00 05 00 00 2a 00 00 00 6e 07 00")),
    "backoff_too_small": pair(b"", rop_buffer(
        "f9 00 e8 03 00 00 01 07 10 27 00 00 00 00 ff 00 80 7b 00 00 7b 00 00")),
    "logon_redirect": pair(REQUESTS["logon_private"],
                           rop_buffer("fe 00 78 04 00 00 01 04 73 72 76 00")),
}


def write(target, seeds):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name + ".bin"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write("rop_request", REQUESTS)
    write("rop_response", RESPONSES)
