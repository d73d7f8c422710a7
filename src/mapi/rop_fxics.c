/*
 * Fast transfer and incremental change synchronization ROPs
 * (MS-OXCROPS 2.2.12-2.2.13, MS-OXCFXICS 2.2.3). The FastTransfer streams
 * themselves (TransferBuffer, TransferData, state streams) are carried as
 * bytes: they are split at arbitrary points across ROPs and are decoded, if
 * at all, by reassembling the stream, not ROP by ROP.
 */
#include "mapi/rop_desc.h"

static const struct mp_flag_name send_options[] = {
    {0x01, "Unicode"},     {0x02, "UseCpid"},   {0x04, "RecoverMode"}, {0x08, "ForceUnicode"},
    {0x10, "PartialItem"}, {0x20, "Reserved1"}, {0x40, "Reserved2"},   {0, NULL}};

static const struct mp_flag_name transfer_status[] = {
    {0x0000, "Error"}, {0x0001, "Partial"}, {0x0002, "NoRoom"}, {0x0003, "Done"}, {0, NULL}};

static const struct mp_flag_name sync_types[] = {
    {0x01, "Contents"}, {0x02, "Hierarchy"}, {0, NULL}};

static const struct mp_flag_name sync_flags[] = {{0x0001, "Unicode"},
                                                 {0x0002, "NoDeletions"},
                                                 {0x0004, "IgnoreNoLongerInScope"},
                                                 {0x0008, "ReadState"},
                                                 {0x0010, "FAI"},
                                                 {0x0020, "Normal"},
                                                 {0x0080, "OnlySpecifiedProperties"},
                                                 {0x0100, "NoForeignIdentifiers"},
                                                 {0x1000, "Reserved"},
                                                 {0x2000, "BestBody"},
                                                 {0x4000, "IgnoreSpecifiedOnFAI"},
                                                 {0x8000, "Progress"},
                                                 {0, NULL}};

static const struct mp_flag_name sync_extra_flags[] = {{0x00000001, "Eid"},
                                                       {0x00000002, "MessageSize"},
                                                       {0x00000004, "Cn"},
                                                       {0x00000008, "OrderByDeliveryTime"},
                                                       {0, NULL}};

static const struct mp_flag_name source_operations[] = {{0x01, "CopyTo"},
                                                        {0x02, "CopyProperties"},
                                                        {0x03, "CopyMessages"},
                                                        {0x04, "CopyFolder"},
                                                        {0, NULL}};

static const struct mp_rop_field mid[] = {F_FID("MessageId")};
static const struct mp_rop_layout mid_l = MP_LAYOUT(mid);

/* ---- Download: 0x4B, 0x4C, 0x4D, 0x69, 0x4E ---- */

static const struct mp_rop_field copymessages_req[] = {
    RQ_HDR_OUT,
    F_U16("MessageIdCount"),
    F_ARRAY("MessageIds", "MessageIdCount", &mid_l),
    F_U8("CopyFlags", .fmt = MP_FMT_HEX),
    F_U8("SendOptions", .fmt = MP_FMT_FLAGS, .names = send_options),
};
static const struct mp_rop_field copyfolder_req[] = {
    RQ_HDR_OUT,
    F_U8("CopyFlags", .fmt = MP_FMT_HEX),
    F_U8("SendOptions", .fmt = MP_FMT_FLAGS, .names = send_options),
};
static const struct mp_rop_field copyto_req[] = {
    RQ_HDR_OUT,
    F_U8("Level"),
    F_U32("CopyFlags", .fmt = MP_FMT_HEX),
    F_U8("SendOptions", .fmt = MP_FMT_FLAGS, .names = send_options),
    F_U16("PropertyTagCount"),
    F_TAGS("PropertyTags", "PropertyTagCount"),
};
static const struct mp_rop_field copyprops_req[] = {
    RQ_HDR_OUT,
    F_U8("Level"),
    F_U8("CopyFlags", .fmt = MP_FMT_HEX),
    F_U8("SendOptions", .fmt = MP_FMT_FLAGS, .names = send_options),
    F_U16("PropertyTagCount"),
    F_TAGS("PropertyTags", "PropertyTagCount"),
};

/* BufferSize 0xBABE: the server picks, up to MaximumBufferSize. */
static const struct mp_rop_field max_buffer[] = {F_U16("MaximumBufferSize")};
static const struct mp_rop_layout max_buffer_l = MP_LAYOUT(max_buffer);
static const struct mp_rop_field getbuffer_req[] = {
    RQ_HDR,
    F_U16("BufferSize", .fmt = MP_FMT_HEX),
    F_IF("Maximum", "BufferSize", MP_IF_EQ, 0xBABE, &max_buffer_l),
};
/* The status fields come with every ReturnValue; the data with all but
 * ecServerBusy (0x480), which brings BackoffTime instead
 * (MS-OXCFXICS 2.2.3.1.1.5.2). */
static const struct mp_rop_field transfer_buffer[] = {
    F_BYTES("TransferBuffer", "TransferBufferSize")};
static const struct mp_rop_layout transfer_buffer_l = MP_LAYOUT(transfer_buffer);
static const struct mp_rop_field backoff[] = {F_U32("BackoffTime")};
static const struct mp_rop_layout backoff_l = MP_LAYOUT(backoff);
static const struct mp_rop_field getbuffer_rsp[] = {
    RS_HDR_IN,
    F_U16("TransferStatus", .fmt = MP_FMT_ENUM, .names = transfer_status),
    F_U16("InProgressCount"),
    F_U16("TotalStepCount"),
    F_U8("Reserved"),
    F_U16("TransferBufferSize"),
    F_IF("Data", "ReturnValue", MP_IF_NE, 0x480, &transfer_buffer_l),
    F_IF("Busy", "ReturnValue", MP_IF_EQ, 0x480, &backoff_l),
};

/* ---- Upload: 0x53, 0x54, 0x9D ---- */

static const struct mp_rop_field destconfig_req[] = {
    RQ_HDR_OUT,
    F_U8("SourceOperation", .fmt = MP_FMT_ENUM, .names = source_operations),
    F_U8("CopyFlags", .fmt = MP_FMT_HEX),
};
static const struct mp_rop_field putbuffer_req[] = {
    RQ_HDR,
    F_U16("TransferDataSize"),
    F_BYTES("TransferData", "TransferDataSize"),
};
static const struct mp_rop_field putbuffer_rsp[] = {
    RS_HDR_IN,
    F_U16("TransferStatus", .fmt = MP_FMT_ENUM, .names = transfer_status),
    F_U16("InProgressCount"),
    F_U16("TotalStepCount"),
    F_U8("Reserved"),
    F_U16("BufferUsedSize"),
};
static const struct mp_rop_field putbuffer_ext_rsp[] = {
    RS_HDR_IN,
    F_U16("TransferStatus", .fmt = MP_FMT_ENUM, .names = transfer_status),
    F_U32("InProgressCount"),
    F_U32("TotalStepCount"),
    F_U8("Reserved"),
    F_U16("BufferUsedSize"),
};

static const struct mp_rop_field tellversion_req[] = {
    RQ_HDR,
    F_U16("ProductMajorVersion"),
    F_U16("BuildMajorNumber"),
    F_U16("BuildMinorNumber"),
};

/* ---- ICS: 0x70, 0x72-0x78, 0x7E, 0x80, 0x82 ---- */

static const struct mp_rop_field syncconfig_req[] = {
    RQ_HDR_OUT,
    F_U8("SynchronizationType", .fmt = MP_FMT_ENUM, .names = sync_types),
    F_U8("SendOptions", .fmt = MP_FMT_FLAGS, .names = send_options),
    F_U16("SynchronizationFlags", .fmt = MP_FMT_FLAGS, .names = sync_flags),
    F_U16("RestrictionDataSize"),
    F_RES("RestrictionData", "RestrictionDataSize"),
    F_U32("SynchronizationExtraFlags", .fmt = MP_FMT_FLAGS, .names = sync_extra_flags),
    F_U16("PropertyTagCount"),
    F_TAGS("PropertyTags", "PropertyTagCount"),
};

static const struct mp_rop_field import_msg_req[] = {
    RQ_HDR_OUT,
    F_U8("ImportFlag", .fmt = MP_FMT_HEX),
    F_U16("PropertyValueCount"),
    F_TPVS("PropertyValues", "PropertyValueCount"),
};
static const struct mp_rop_field mid_ok_rsp_out[] = {RS_HDR_OUT, IF_OK(&mid_l)};

static const struct mp_rop_field import_hier_req[] = {
    RQ_HDR,
    F_U16("HierarchyValueCount"),
    F_TPVS("HierarchyValues", "HierarchyValueCount"),
    F_U16("PropertyValueCount"),
    F_TPVS("PropertyValues", "PropertyValueCount"),
};
static const struct mp_rop_field fid[] = {F_FID("FolderId")};
static const struct mp_rop_layout fid_l = MP_LAYOUT(fid);
static const struct mp_rop_field fid_ok_rsp[] = {RS_HDR_IN, IF_OK(&fid_l)};

static const struct mp_rop_field import_deletes_req[] = {
    RQ_HDR,
    F_U8("ImportDeleteFlags", .fmt = MP_FMT_HEX),
    F_U16("PropertyValueCount"),
    F_TPVS("PropertyValues", "PropertyValueCount"),
};

static const struct mp_rop_field upload_begin_req[] = {
    RQ_HDR,
    F_TAG("StateProperty"),
    F_U32("TransferBufferSize"),
};
static const struct mp_rop_field upload_continue_req[] = {
    RQ_HDR,
    F_U32("StreamDataSize"),
    F_BYTES("StreamData", "StreamDataSize"),
};

static const struct mp_rop_field import_move_req[] = {
    RQ_HDR,
    F_U32("SourceFolderIdSize"),
    F_BYTES("SourceFolderId", "SourceFolderIdSize"),
    F_U32("SourceMessageIdSize"),
    F_BYTES("SourceMessageId", "SourceMessageIdSize"),
    F_U32("PredecessorChangeListSize"),
    F_BYTES("PredecessorChangeList", "PredecessorChangeListSize"),
    F_U32("DestinationMessageIdSize"),
    F_BYTES("DestinationMessageId", "DestinationMessageIdSize"),
    F_U32("ChangeNumberSize"),
    F_BYTES("ChangeNumber", "ChangeNumberSize"),
};
static const struct mp_rop_field mid_ok_rsp_in[] = {RS_HDR_IN, IF_OK(&mid_l)};

static const struct mp_rop_field opencollector_req[] = {RQ_HDR_OUT, F_BOOL("IsContentsCollector")};

/* MessageReadStates fill MessageReadStatesSize bytes (no count). */
static const struct mp_rop_field read_state[] = {
    F_U16("MessageIdSize"),
    F_BYTES("MessageId", "MessageIdSize"),
    F_BOOL("MarkAsRead"),
};
static const struct mp_rop_layout read_state_l = MP_LAYOUT(read_state);
static const struct mp_rop_field read_states[] = {
    F_ARRAY("MessageReadStates", NULL, &read_state_l)};
static const struct mp_rop_layout read_states_l = MP_LAYOUT(read_states);
static const struct mp_rop_field import_reads_req[] = {
    RQ_HDR,
    F_U16("MessageReadStatesSize"),
    F_SIZED("States", "MessageReadStatesSize", &read_states_l),
};

/* ---- Replica ids: 0x7F, 0x93 ---- */

static const struct mp_rop_field localids_req[] = {RQ_HDR, F_U32("IdCount")};
static const struct mp_rop_field localids_ok[] = {
    F_GUID("ReplGuid"),
    F_FIXED("GlobalCount", 6),
};
static const struct mp_rop_layout localids_ok_l = MP_LAYOUT(localids_ok);
static const struct mp_rop_field localids_rsp[] = {RS_HDR_IN, IF_OK(&localids_ok_l)};

static const struct mp_rop_field ltid_range[] = {
    F_LTID("MinLongTermId"),
    F_LTID("MaxLongTermId"),
};
static const struct mp_rop_layout ltid_range_l = MP_LAYOUT(ltid_range);
/* DataSize counts LongTermIdRangeCount and the ranges. */
static const struct mp_rop_field ranges[] = {
    F_U32("LongTermIdRangeCount"),
    F_ARRAY("LongTermIdRanges", "LongTermIdRangeCount", &ltid_range_l),
};
static const struct mp_rop_layout ranges_l = MP_LAYOUT(ranges);
static const struct mp_rop_field midset_deleted_req[] = {
    RQ_HDR,
    F_U16("DataSize"),
    F_SIZED("Ranges", "DataSize", &ranges_l),
};

#define L(x) static const struct mp_rop_layout x##_l = MP_LAYOUT(x)
L(copymessages_req);
L(copyfolder_req);
L(copyto_req);
L(copyprops_req);
L(getbuffer_req);
L(getbuffer_rsp);
L(destconfig_req);
L(putbuffer_req);
L(putbuffer_rsp);
L(putbuffer_ext_rsp);
L(tellversion_req);
L(syncconfig_req);
L(import_msg_req);
L(mid_ok_rsp_out);
L(import_hier_req);
L(fid_ok_rsp);
L(import_deletes_req);
L(upload_begin_req);
L(upload_continue_req);
L(import_move_req);
L(mid_ok_rsp_in);
L(opencollector_req);
L(import_reads_req);
L(localids_req);
L(localids_rsp);
L(midset_deleted_req);
#undef L

const struct mp_rop_desc mp_rop_family_fxics[] = {
    ROP(0x4B, "RopFastTransferSourceCopyMessages", &copymessages_req_l, &mp_rop_rsp_hdr_out),
    ROP(0x4C, "RopFastTransferSourceCopyFolder", &copyfolder_req_l, &mp_rop_rsp_hdr_out),
    ROP(0x4D, "RopFastTransferSourceCopyTo", &copyto_req_l, &mp_rop_rsp_hdr_out),
    ROP(0x69, "RopFastTransferSourceCopyProperties", &copyprops_req_l, &mp_rop_rsp_hdr_out),
    ROP(0x4E, "RopFastTransferSourceGetBuffer", &getbuffer_req_l, &getbuffer_rsp_l),
    ROP(0x53, "RopFastTransferDestinationConfigure", &destconfig_req_l, &mp_rop_rsp_hdr_out),
    ROP(0x54, "RopFastTransferDestinationPutBuffer", &putbuffer_req_l, &putbuffer_rsp_l),
    ROP(0x9D, "RopFastTransferDestinationPutBufferExtended", &putbuffer_req_l,
        &putbuffer_ext_rsp_l),
    ROP(0x86, "RopTellVersion", &tellversion_req_l, &mp_rop_rsp_hdr_in),
    ROP(0x70, "RopSynchronizationConfigure", &syncconfig_req_l, &mp_rop_rsp_hdr_out),
    ROP(0x72, "RopSynchronizationImportMessageChange", &import_msg_req_l, &mid_ok_rsp_out_l),
    ROP(0x73, "RopSynchronizationImportHierarchyChange", &import_hier_req_l, &fid_ok_rsp_l),
    ROP(0x74, "RopSynchronizationImportDeletes", &import_deletes_req_l, &mp_rop_rsp_hdr_in),
    ROP(0x75, "RopSynchronizationUploadStateStreamBegin", &upload_begin_req_l, &mp_rop_rsp_hdr_in),
    ROP(0x76, "RopSynchronizationUploadStateStreamContinue", &upload_continue_req_l,
        &mp_rop_rsp_hdr_in),
    ROP(0x77, "RopSynchronizationUploadStateStreamEnd", &mp_rop_req_hdr, &mp_rop_rsp_hdr_in),
    ROP(0x78, "RopSynchronizationImportMessageMove", &import_move_req_l, &mid_ok_rsp_in_l),
    ROP(0x7E, "RopSynchronizationOpenCollector", &opencollector_req_l, &mp_rop_rsp_hdr_out),
    ROP(0x80, "RopSynchronizationImportReadStateChanges", &import_reads_req_l, &mp_rop_rsp_hdr_in),
    ROP(0x82, "RopSynchronizationGetTransferState", &mp_rop_req_hdr_out, &mp_rop_rsp_hdr_out),
    ROP(0x7F, "RopGetLocalReplicaIds", &localids_req_l, &localids_rsp_l),
    ROP(0x93, "RopSetLocalReplicaMidsetDeleted", &midset_deleted_req_l, &mp_rop_rsp_hdr_in),
    {.name = NULL},
};
