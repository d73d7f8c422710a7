/*
 * Store ROPs (MS-OXCROPS 2.2.3, MS-OXCSTOR 2.2.1): logon, receive folders,
 * store state, owning servers, ghosted public folders, id conversions and
 * per-user information.
 */
#include "mapi/rop_desc.h"

static const struct mp_flag_name logon_flags[] = {{0x01, "Private"},
                                                  {0x02, "Undercover"},
                                                  {0x04, "Ghosted"},
                                                  {0x08, "SpoolerProcess"},
                                                  {0, NULL}};

static const struct mp_flag_name open_flags[] = {{0x00000001, "USE_ADMIN_PRIVILEGE"},
                                                 {0x00000002, "PUBLIC"},
                                                 {0x00000004, "HOME_LOGON"},
                                                 {0x00000008, "TAKE_OWNERSHIP"},
                                                 {0x00000100, "ALTERNATE_SERVER"},
                                                 {0x00000200, "IGNORE_HOME_MDB"},
                                                 {0x00000400, "NO_MAIL"},
                                                 {0x01000000, "USE_PER_MDB_REPLID_MAPPING"},
                                                 {0x20000000, "SUPPORT_PROGRESS"},
                                                 {0, NULL}};

static const struct mp_flag_name response_flags[] = {
    {0x01, "Reserved"}, {0x02, "OwnerRight"}, {0x04, "SendAsRight"}, {0x10, "OOF"}, {0, NULL}};

/* ---- RopLogon (0xFE) ---- */

static const struct mp_rop_field logon_req[] = {
    RQ_LOGON,
    RQ_OUT,
    F_U8("LogonFlags", .fmt = MP_FMT_FLAGS, .names = logon_flags),
    F_U32("OpenFlags", .fmt = MP_FMT_FLAGS, .names = open_flags),
    F_U32("StoreState", .fmt = MP_FMT_HEX),
    F_U16("EssdnSize"),
    F_BYTES("Essdn", "EssdnSize", .fmt = MP_FMT_STR),
};

static const struct mp_rop_field logon_time[] = {
    F_U8("Seconds"), F_U8("Minutes"), F_U8("Hour"),  F_U8("DayOfWeek"),
    F_U8("Day"),     F_U8("Month"),   F_U16("Year"),
};
static const struct mp_rop_layout logon_time_l = MP_LAYOUT(logon_time);

static const struct mp_rop_field logon_private[] = {
    F_FID("Root"),
    F_FID("DeferredAction"),
    F_FID("SpoolerQueue"),
    F_FID("IpmSubtree"),
    F_FID("Inbox"),
    F_FID("Outbox"),
    F_FID("SentItems"),
    F_FID("DeletedItems"),
    F_FID("CommonViews"),
    F_FID("Schedule"),
    F_FID("Finder"),
    F_FID("Views"),
    F_FID("Shortcuts"),
    F_U8("ResponseFlags", .fmt = MP_FMT_FLAGS, .names = response_flags),
    F_GUID("MailboxGuid"),
    F_U16("ReplId", .fmt = MP_FMT_HEX),
    F_GUID("ReplGuid"),
    F_STRUCT("LogonTime", &logon_time_l),
    F_U64("GwartTime", .fmt = MP_FMT_TIME),
    F_U32("StoreState", .fmt = MP_FMT_HEX),
};
static const struct mp_rop_layout logon_private_l = MP_LAYOUT(logon_private);

static const struct mp_rop_field logon_public[] = {
    F_FID("Root"),
    F_FID("IpmSubtree"),
    F_FID("NonIpmSubtree"),
    F_FID("EFormsRegistry"),
    F_FID("FreeBusy"),
    F_FID("OfflineAddressBook"),
    F_FID("LocalizedEFormsRegistry"),
    F_FID("LocalFreeBusy"),
    F_FID("LocalOfflineAddressBook"),
    F_FID("NntpIndex"),
    F_FID("Unused1"),
    F_FID("Unused2"),
    F_FID("Unused3"),
    F_U16("ReplId", .fmt = MP_FMT_HEX),
    F_GUID("ReplGuid"),
    F_GUID("PerUserGuid"),
};
static const struct mp_rop_layout logon_public_l = MP_LAYOUT(logon_public);

static const struct mp_rop_field logon_ok[] = {
    F_U8("LogonFlags", .fmt = MP_FMT_FLAGS, .names = logon_flags),
    /* The response mirrors the request's Private bit (MS-OXCROPS 2.2.3.1.2/3). */
    F_IF("PrivateMailbox", "LogonFlags", MP_IF_SET, 0x01, &logon_private_l),
    F_IF("PublicFolders", "LogonFlags", MP_IF_CLEAR, 0x01, &logon_public_l),
};
static const struct mp_rop_layout logon_ok_l = MP_LAYOUT(logon_ok);

static const struct mp_rop_field logon_redirect[] = {
    F_U8("LogonFlags", .fmt = MP_FMT_FLAGS, .names = logon_flags),
    F_U8("ServerNameSize"),
    F_BYTES("ServerName", "ServerNameSize", .fmt = MP_FMT_STR),
};
static const struct mp_rop_layout logon_redirect_l = MP_LAYOUT(logon_redirect);

static const struct mp_rop_field logon_rsp[] = {
    RS_HDR_OUT,
    IF_OK(&logon_ok_l),
    F_IF("Redirect", "ReturnValue", MP_IF_EQ, 0x00000478, &logon_redirect_l),
};

/* ---- RopGetReceiveFolder (0x27), RopSetReceiveFolder (0x26) ---- */

static const struct mp_rop_field getrecv_req[] = {RQ_HDR, F_STR8("MessageClass")};
static const struct mp_rop_field getrecv_ok[] = {F_FID("FolderId"), F_STR8("ExplicitMessageClass")};
static const struct mp_rop_layout getrecv_ok_l = MP_LAYOUT(getrecv_ok);
static const struct mp_rop_field getrecv_rsp[] = {RS_HDR_IN, IF_OK(&getrecv_ok_l)};

static const struct mp_rop_field setrecv_req[] = {RQ_HDR, F_FID("FolderId"),
                                                  F_STR8("MessageClass")};

/* ---- RopGetReceiveFolderTable (0x68) ---- */

/* Fixed columns (MS-OXCROPS 2.2.3.4.2): PidTagFolderId, PidTagMessageClass
 * (8-bit), PidTagLastModificationTime. */
static const uint32_t recvtable_cols[] = {0x67480014, 0x001A001E, 0x30080040};

static bool cols_recvtable(const struct mp_rop_dctx *ctx, const uint32_t **tags, uint32_t *n)
{
	*tags = recvtable_cols;
	*n = 3;
	return true;
}

static const struct mp_rop_field recvtable_ok[] = {
    F_U32("RowCount"),
    F_ROWS("Rows", "RowCount", cols_recvtable),
};
static const struct mp_rop_layout recvtable_ok_l = MP_LAYOUT(recvtable_ok);
static const struct mp_rop_field recvtable_rsp[] = {RS_HDR_IN, IF_OK(&recvtable_ok_l)};

/* ---- RopGetStoreState (0x7B) ---- */

static const struct mp_rop_field storestate_ok[] = {F_U32("StoreState", .fmt = MP_FMT_HEX)};
static const struct mp_rop_layout storestate_ok_l = MP_LAYOUT(storestate_ok);
static const struct mp_rop_field storestate_rsp[] = {RS_HDR_IN, IF_OK(&storestate_ok_l)};

/* ---- RopGetOwningServers (0x42), RopPublicFolderIsGhosted (0x45) ---- */

static const struct mp_rop_field server_name[] = {F_STR8("Server")};
static const struct mp_rop_layout server_name_l = MP_LAYOUT(server_name);

static const struct mp_rop_field fid_req[] = {RQ_HDR, F_FID("FolderId")};

static const struct mp_rop_field owning_ok[] = {
    F_U16("OwningServersCount"),
    F_U16("CheapServersCount"),
    F_ARRAY("OwningServers", "OwningServersCount", &server_name_l),
};
static const struct mp_rop_layout owning_ok_l = MP_LAYOUT(owning_ok);
static const struct mp_rop_field owning_rsp[] = {RS_HDR_IN, IF_OK(&owning_ok_l)};

static const struct mp_rop_field ghosted_servers[] = {
    F_U16("ServersCount"),
    F_U16("CheapServersCount"),
    F_ARRAY("Servers", "ServersCount", &server_name_l),
};
static const struct mp_rop_layout ghosted_servers_l = MP_LAYOUT(ghosted_servers);
static const struct mp_rop_field ghosted_ok[] = {
    F_BOOL("IsGhosted"),
    F_IF("Ghost", "IsGhosted", MP_IF_NE, 0, &ghosted_servers_l),
};
static const struct mp_rop_layout ghosted_ok_l = MP_LAYOUT(ghosted_ok);
static const struct mp_rop_field ghosted_rsp[] = {RS_HDR_IN, IF_OK(&ghosted_ok_l)};

/* ---- RopLongTermIdFromId (0x43), RopIdFromLongTermId (0x44) ---- */

static const struct mp_rop_field ltid_from_id_req[] = {RQ_HDR, F_FID("ObjectId")};
static const struct mp_rop_field ltid_ok[] = {F_LTID("LongTermId")};
static const struct mp_rop_layout ltid_ok_l = MP_LAYOUT(ltid_ok);
static const struct mp_rop_field ltid_from_id_rsp[] = {RS_HDR_IN, IF_OK(&ltid_ok_l)};

static const struct mp_rop_field id_from_ltid_req[] = {RQ_HDR, F_LTID("LongTermId")};
static const struct mp_rop_field id_ok[] = {F_FID("ObjectId")};
static const struct mp_rop_layout id_ok_l = MP_LAYOUT(id_ok);
static const struct mp_rop_field id_from_ltid_rsp[] = {RS_HDR_IN, IF_OK(&id_ok_l)};

/* ---- RopGetPerUserLongTermIds (0x60), RopGetPerUserGuid (0x61) ---- */

static const struct mp_rop_field peruser_ltids_req[] = {RQ_HDR, F_GUID("DatabaseGuid")};
static const struct mp_rop_field ltid_elem[] = {F_LTID("LongTermId")};
static const struct mp_rop_layout ltid_elem_l = MP_LAYOUT(ltid_elem);
static const struct mp_rop_field peruser_ltids_ok[] = {
    F_U16("LongTermIdCount"),
    F_ARRAY("LongTermIds", "LongTermIdCount", &ltid_elem_l),
};
static const struct mp_rop_layout peruser_ltids_ok_l = MP_LAYOUT(peruser_ltids_ok);
static const struct mp_rop_field peruser_ltids_rsp[] = {RS_HDR_IN, IF_OK(&peruser_ltids_ok_l)};

static const struct mp_rop_field peruser_guid_req[] = {RQ_HDR, F_LTID("LongTermId")};
static const struct mp_rop_field peruser_guid_ok[] = {F_GUID("DatabaseGuid")};
static const struct mp_rop_layout peruser_guid_ok_l = MP_LAYOUT(peruser_guid_ok);
static const struct mp_rop_field peruser_guid_rsp[] = {RS_HDR_IN, IF_OK(&peruser_guid_ok_l)};

/* ---- RopReadPerUserInformation (0x63), RopWritePerUserInformation (0x64) ---- */

static const struct mp_rop_field read_peruser_req[] = {
    RQ_HDR, F_LTID("FolderId"), F_U8("Reserved"), F_U32("DataOffset"), F_U16("MaxDataSize"),
};
static const struct mp_rop_field read_peruser_ok[] = {
    F_BOOL("HasFinished"),
    F_U16("DataSize"),
    F_BYTES("Data", "DataSize"),
};
static const struct mp_rop_layout read_peruser_ok_l = MP_LAYOUT(read_peruser_ok);
static const struct mp_rop_field read_peruser_rsp[] = {RS_HDR_IN, IF_OK(&read_peruser_ok_l)};

/* ReplGuid is sent with the first chunk (DataOffset 0) to a private
 * mailbox only (MS-OXCROPS 2.2.3.13.1). */
static bool has_replguid(const struct mp_rop_dctx *ctx, bool *known)
{
	const struct mp_rop_val *off = mp_rop_scope_find(ctx->scope, "DataOffset");
	const struct mp_rop_val *logon = mp_rop_scope_find(ctx->scope, "LogonId");
	if (!off || !logon || off->u != 0)
		return false;
	int flags = mp_rop_logon_flags_of(ctx, (uint8_t)logon->u);
	if (flags < 0) {
		*known = false;
		return false;
	}
	return (flags & 0x01) != 0;
}

static const struct mp_rop_field replguid[] = {F_GUID("ReplGuid")};
static const struct mp_rop_layout replguid_l = MP_LAYOUT(replguid);
static const struct mp_rop_field write_peruser_req[] = {
    RQ_HDR,
    F_LTID("FolderId"),
    F_BOOL("HasFinished"),
    F_U32("DataOffset"),
    F_U16("DataSize"),
    F_BYTES("Data", "DataSize"),
    F_IF_TEST("Replica", has_replguid, &replguid_l),
};

/* ---- Layouts and descriptors ---- */

#define L(x) static const struct mp_rop_layout x##_l = MP_LAYOUT(x)
L(logon_req);
L(logon_rsp);
L(getrecv_req);
L(getrecv_rsp);
L(setrecv_req);
L(recvtable_rsp);
L(storestate_rsp);
L(fid_req);
L(owning_rsp);
L(ghosted_rsp);
L(ltid_from_id_req);
L(ltid_from_id_rsp);
L(id_from_ltid_req);
L(id_from_ltid_rsp);
L(peruser_ltids_req);
L(peruser_ltids_rsp);
L(peruser_guid_req);
L(peruser_guid_rsp);
L(read_peruser_req);
L(read_peruser_rsp);
L(write_peruser_req);
#undef L

const struct mp_rop_desc mp_rop_family_store[] = {
    ROP(0xFE, "RopLogon", &logon_req_l, &logon_rsp_l),
    ROP(0x27, "RopGetReceiveFolder", &getrecv_req_l, &getrecv_rsp_l),
    ROP(0x26, "RopSetReceiveFolder", &setrecv_req_l, &mp_rop_rsp_hdr_in),
    ROP(0x68, "RopGetReceiveFolderTable", &mp_rop_req_hdr, &recvtable_rsp_l),
    ROP(0x7B, "RopGetStoreState", &mp_rop_req_hdr, &storestate_rsp_l),
    ROP(0x42, "RopGetOwningServers", &fid_req_l, &owning_rsp_l),
    ROP(0x45, "RopPublicFolderIsGhosted", &fid_req_l, &ghosted_rsp_l),
    ROP(0x43, "RopLongTermIdFromId", &ltid_from_id_req_l, &ltid_from_id_rsp_l),
    ROP(0x44, "RopIdFromLongTermId", &id_from_ltid_req_l, &id_from_ltid_rsp_l),
    ROP(0x60, "RopGetPerUserLongTermIds", &peruser_ltids_req_l, &peruser_ltids_rsp_l),
    ROP(0x61, "RopGetPerUserGuid", &peruser_guid_req_l, &peruser_guid_rsp_l),
    ROP(0x63, "RopReadPerUserInformation", &read_peruser_req_l, &read_peruser_rsp_l),
    ROP(0x64, "RopWritePerUserInformation", &write_peruser_req_l, &mp_rop_rsp_hdr_in),
    {.name = NULL},
};
