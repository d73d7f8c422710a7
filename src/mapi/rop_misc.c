/*
 * ROPs of MS-OXCROPS itself and of message transport (MS-OXCROPS 2.2.7,
 * 2.2.15, MS-OXOMSG 2.2.3): RopRelease, RopBackoff, RopBufferTooSmall,
 * RopProgress, and submitting / spooling messages.
 */
#include "mapi/rop_desc.h"

static const struct mp_flag_name submit_flags[] = {
    {0x01, "PreProcess"}, {0x02, "NeedsSpooler"}, {0, NULL}};

static const struct mp_flag_name lock_state[] = {
    {0x00, "lstLock"}, {0x01, "lstUnlock"}, {0x02, "lstFinished"}, {0, NULL}};

/* ---- RopRelease (0x01): no response ---- */

/* ---- RopBackoff (0xF9, response only, MS-OXCROPS 2.2.15.2) ---- */

static const struct mp_rop_field backoff_rop[] = {
    F_U8("RopIdBackoff", .fmt = MP_FMT_HEX),
    F_U32("Duration"),
};
static const struct mp_rop_layout backoff_rop_l = MP_LAYOUT(backoff_rop);
static const struct mp_rop_field backoff_rsp[] = {
    F_U8("LogonId", .role = MP_RR_LOGON),
    F_U32("Duration"),
    F_U8("BackoffRopCount"),
    F_ARRAY("BackoffRopData", "BackoffRopCount", &backoff_rop_l),
    F_U16("AdditionalDataSize"),
    F_BYTES("AdditionalData", "AdditionalDataSize"),
};

/* ---- RopBufferTooSmall (0xFF, response only, MS-OXCROPS 2.2.15.1) ---- */

/* RequestBuffers holds the unprocessed requests up to the end of RopsList. */
static const struct mp_rop_field toosmall_rsp[] = {
    F_U16("SizeNeeded"),
    F_REST("RequestBuffers"),
};

/* ---- RopProgress (0x50) ---- */

static const struct mp_rop_field progress_req[] = {RQ_HDR, F_BOOL("WantCancel")};
static const struct mp_rop_field progress_ok[] = {
    F_U8("LogonId"),
    F_U32("CompletedTaskCount"),
    F_U32("TotalTaskCount"),
};
static const struct mp_rop_layout progress_ok_l = MP_LAYOUT(progress_ok);
static const struct mp_rop_field progress_rsp[] = {RS_HDR_IN, IF_OK(&progress_ok_l)};

/* ---- Transport (MS-OXOMSG) ---- */

static const struct mp_rop_field submit_req[] = {
    RQ_HDR,
    F_U8("SubmitFlags", .fmt = MP_FMT_FLAGS, .names = submit_flags),
};
static const struct mp_rop_field abortsubmit_req[] = {RQ_HDR, F_FID("FolderId"),
                                                      F_FID("MessageId")};

static const struct mp_rop_field addrtype[] = {F_STR8("AddressType")};
static const struct mp_rop_layout addrtype_l = MP_LAYOUT(addrtype);
/* AddressTypeSize is the size of the strings together. */
static const struct mp_rop_field addrtypes_list[] = {
    F_ARRAY("AddressTypes", "AddressTypeCount", &addrtype_l),
};
static const struct mp_rop_layout addrtypes_list_l = MP_LAYOUT(addrtypes_list);
static const struct mp_rop_field addrtypes_ok[] = {
    F_U16("AddressTypeCount"),
    F_U16("AddressTypeSize"),
    F_SIZED("Strings", "AddressTypeSize", &addrtypes_list_l),
};
static const struct mp_rop_layout addrtypes_ok_l = MP_LAYOUT(addrtypes_ok);
static const struct mp_rop_field addrtypes_rsp[] = {RS_HDR_IN, IF_OK(&addrtypes_ok_l)};

static const struct mp_rop_field spoolerlock_req[] = {
    RQ_HDR,
    F_FID("MessageId"),
    F_U8("LockState", .fmt = MP_FMT_ENUM, .names = lock_state),
};

static const struct mp_rop_field values[] = {
    F_U16("PropertyValueCount"),
    F_TPVS("PropertyValues", "PropertyValueCount"),
};
static const struct mp_rop_layout values_l = MP_LAYOUT(values);
static const struct mp_rop_field transportsend_ok[] = {
    F_BOOL("NoPropertiesReturned"),
    F_IF("Properties", "NoPropertiesReturned", MP_IF_EQ, 0, &values_l),
};
static const struct mp_rop_layout transportsend_ok_l = MP_LAYOUT(transportsend_ok);
static const struct mp_rop_field transportsend_rsp[] = {RS_HDR_IN, IF_OK(&transportsend_ok_l)};

static const struct mp_rop_field newmail_req[] = {
    RQ_HDR,
    F_FID("MessageId"),
    F_FID("FolderId"),
    F_STR8("MessageClass"),
    F_U32("MessageFlags", .fmt = MP_FMT_HEX),
};

static const struct mp_rop_field fid[] = {F_FID("FolderId")};
static const struct mp_rop_layout fid_l = MP_LAYOUT(fid);
static const struct mp_rop_field transportfolder_rsp[] = {RS_HDR_IN, IF_OK(&fid_l)};

static const struct mp_rop_field optionsdata_req[] = {
    RQ_HDR,
    F_STR8("AddressType"),
    F_BOOL("WantWin32"),
};
static const struct mp_rop_field helpfilename[] = {F_STR8("HelpFileName")};
static const struct mp_rop_layout helpfilename_l = MP_LAYOUT(helpfilename);
static const struct mp_rop_field optionsdata_ok[] = {
    F_U8("Reserved"),
    F_U16("OptionsInfoSize"),
    F_BYTES("OptionsInfo", "OptionsInfoSize"),
    F_U16("HelpFileSize"),
    F_BYTES("HelpFile", "HelpFileSize"),
    F_IF("Help", "HelpFileSize", MP_IF_NE, 0, &helpfilename_l),
};
static const struct mp_rop_layout optionsdata_ok_l = MP_LAYOUT(optionsdata_ok);
static const struct mp_rop_field optionsdata_rsp[] = {RS_HDR_IN, IF_OK(&optionsdata_ok_l)};

#define L(x) static const struct mp_rop_layout x##_l = MP_LAYOUT(x)
L(backoff_rsp);
L(toosmall_rsp);
L(progress_req);
L(progress_rsp);
L(submit_req);
L(abortsubmit_req);
L(addrtypes_rsp);
L(spoolerlock_req);
L(transportsend_rsp);
L(newmail_req);
L(transportfolder_rsp);
L(optionsdata_req);
L(optionsdata_rsp);
#undef L

const struct mp_rop_desc mp_rop_family_misc[] = {
    ROP(0x01, "RopRelease", &mp_rop_req_hdr, NULL, .flags = MP_ROPD_NO_RESPONSE),
    ROP(0xF9, "RopBackoff", NULL, &backoff_rsp_l, .flags = MP_ROPD_UNSOLICITED),
    ROP(0xFF, "RopBufferTooSmall", NULL, &toosmall_rsp_l, .flags = MP_ROPD_UNSOLICITED),
    ROP(0x50, "RopProgress", &progress_req_l, &progress_rsp_l),
    ROP(0x32, "RopSubmitMessage", &submit_req_l, &mp_rop_rsp_hdr_in),
    ROP(0x34, "RopAbortSubmit", &abortsubmit_req_l, &mp_rop_rsp_hdr_in),
    ROP(0x49, "RopGetAddressTypes", &mp_rop_req_hdr, &addrtypes_rsp_l),
    ROP(0x47, "RopSetSpooler", &mp_rop_req_hdr, &mp_rop_rsp_hdr_in),
    ROP(0x48, "RopSpoolerLockMessage", &spoolerlock_req_l, &mp_rop_rsp_hdr_in),
    ROP(0x4A, "RopTransportSend", &mp_rop_req_hdr, &transportsend_rsp_l),
    ROP(0x51, "RopTransportNewMail", &newmail_req_l, &mp_rop_rsp_hdr_in),
    ROP(0x6D, "RopGetTransportFolder", &mp_rop_req_hdr, &transportfolder_rsp_l),
    ROP(0x6F, "RopOptionsData", &optionsdata_req_l, &optionsdata_rsp_l),
    {.name = NULL},
};
