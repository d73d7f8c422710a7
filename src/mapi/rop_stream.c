/*
 * Stream ROPs (MS-OXCROPS 2.2.9, MS-OXCPRPT 2.2.13-2.2.21): open, read,
 * write, seek, size, lock, copy and clone property streams.
 *
 * RopReadStream, RopWriteStream, RopWriteAndCommitStream,
 * RopWriteStreamExtended and RopCopyToStream answer with their counts
 * whatever the ReturnValue (one response layout in MS-OXCROPS).
 */
#include "mapi/rop_desc.h"

static const struct mp_flag_name open_mode[] = {
    {0x00, "ReadOnly"}, {0x01, "ReadWrite"}, {0x02, "Create"}, {0x03, "BestAccess"}, {0, NULL}};

static const struct mp_flag_name origin[] = {
    {0x00, "STREAM_SEEK_SET"}, {0x01, "STREAM_SEEK_CUR"}, {0x02, "STREAM_SEEK_END"}, {0, NULL}};

/* ---- RopOpenStream (0x2B) ---- */

static const struct mp_rop_field open_req[] = {
    RQ_HDR_OUT,
    F_TAG("PropertyTag"),
    F_U8("OpenModeFlags", .fmt = MP_FMT_ENUM, .names = open_mode),
};
static const struct mp_rop_field size32[] = {F_U32("StreamSize")};
static const struct mp_rop_layout size32_l = MP_LAYOUT(size32);
static const struct mp_rop_field open_rsp[] = {RS_HDR_OUT, IF_OK(&size32_l)};

/* ---- RopReadStream (0x2C) ---- */

/* 0xBABE asks for MaximumByteCount bytes (MS-OXCROPS 2.2.9.2.1). */
static const struct mp_rop_field max_bytes[] = {F_U32("MaximumByteCount")};
static const struct mp_rop_layout max_bytes_l = MP_LAYOUT(max_bytes);
static const struct mp_rop_field read_req[] = {
    RQ_HDR,
    F_U16("ByteCount", .fmt = MP_FMT_HEX),
    F_IF("Maximum", "ByteCount", MP_IF_EQ, 0xBABE, &max_bytes_l),
};
static const struct mp_rop_field read_rsp[] = {
    RS_HDR_IN,
    F_U16("DataSize"),
    F_BYTES("Data", "DataSize"),
};

/* ---- RopWriteStream (0x2D), RopWriteAndCommitStream (0x90), RopWriteStreamExtended (0xA3) ---- */

static const struct mp_rop_field write_req[] = {
    RQ_HDR,
    F_U16("DataSize"),
    F_BYTES("Data", "DataSize"),
};
static const struct mp_rop_field write_rsp[] = {RS_HDR_IN, F_U16("WrittenSize")};
static const struct mp_rop_field write_ext_rsp[] = {RS_HDR_IN, F_U32("WrittenSize")};

/* ---- RopGetStreamSize (0x5E), RopSetStreamSize (0x2F), RopSeekStream (0x2E) ---- */

static const struct mp_rop_field getsize_rsp[] = {RS_HDR_IN, IF_OK(&size32_l)};
static const struct mp_rop_field setsize_req[] = {RQ_HDR, F_U64("StreamSize")};
static const struct mp_rop_field seek_req[] = {
    RQ_HDR,
    F_U8("Origin", .fmt = MP_FMT_ENUM, .names = origin),
    F_U64("Offset", .fmt = MP_FMT_SINT),
};
static const struct mp_rop_field seek_ok[] = {F_U64("NewPosition")};
static const struct mp_rop_layout seek_ok_l = MP_LAYOUT(seek_ok);
static const struct mp_rop_field seek_rsp[] = {RS_HDR_IN, IF_OK(&seek_ok_l)};

/* ---- RopCopyToStream (0x3A) ---- */

static const struct mp_rop_field copy_req[] = {
    RQ_LOGON,
    F_U8("SourceHandleIndex", .role = MP_RR_IN),
    F_U8("DestHandleIndex", .role = MP_RR_DEST),
    F_U64("ByteCount"),
};
static const struct mp_rop_field null_dest[] = {F_U32("DestHandleIndex")};
static const struct mp_rop_layout null_dest_l = MP_LAYOUT(null_dest);
static const struct mp_rop_field copy_rsp[] = {
    F_U8("SourceHandleIndex", .role = MP_RR_ECHO, .arg = MP_RR_IN),
    RS_RET,
    F_IF("NullDestination", "ReturnValue", MP_IF_EQ, 0x503, &null_dest_l),
    F_U64("ReadByteCount"),
    F_U64("WrittenByteCount"),
};

/* ---- RopLockRegionStream (0x5B), RopUnlockRegionStream (0x5C) ---- */

static const struct mp_rop_field region_req[] = {
    RQ_HDR,
    F_U64("RegionOffset"),
    F_U64("RegionSize"),
    F_U32("LockFlags", .fmt = MP_FMT_HEX),
};

#define L(x) static const struct mp_rop_layout x##_l = MP_LAYOUT(x)
L(open_req);
L(open_rsp);
L(read_req);
L(read_rsp);
L(write_req);
L(write_rsp);
L(write_ext_rsp);
L(getsize_rsp);
L(setsize_req);
L(seek_req);
L(seek_rsp);
L(copy_req);
L(copy_rsp);
L(region_req);
#undef L

const struct mp_rop_desc mp_rop_family_stream[] = {
    ROP(0x2B, "RopOpenStream", &open_req_l, &open_rsp_l),
    ROP(0x2C, "RopReadStream", &read_req_l, &read_rsp_l),
    ROP(0x2D, "RopWriteStream", &write_req_l, &write_rsp_l),
    ROP(0x5D, "RopCommitStream", &mp_rop_req_hdr, &mp_rop_rsp_hdr_in),
    ROP(0x5E, "RopGetStreamSize", &mp_rop_req_hdr, &getsize_rsp_l),
    ROP(0x2F, "RopSetStreamSize", &setsize_req_l, &mp_rop_rsp_hdr_in),
    ROP(0x2E, "RopSeekStream", &seek_req_l, &seek_rsp_l),
    ROP(0x3A, "RopCopyToStream", &copy_req_l, &copy_rsp_l),
    ROP(0x5B, "RopLockRegionStream", &region_req_l, &mp_rop_rsp_hdr_in),
    ROP(0x5C, "RopUnlockRegionStream", &region_req_l, &mp_rop_rsp_hdr_in),
    ROP(0x90, "RopWriteAndCommitStream", &write_req_l, &write_rsp_l),
    ROP(0x3B, "RopCloneStream", &mp_rop_req_hdr_out, &mp_rop_rsp_hdr_out),
    ROP(0xA3, "RopWriteStreamExtended", &write_req_l, &write_ext_rsp_l),
    {.name = NULL},
};
