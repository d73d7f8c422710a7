/*
 * Folder ROPs (MS-OXCROPS 2.2.4, MS-OXCFOLD 2.2.1): open, create, delete,
 * move and copy folders, search criteria, message moves and deletions,
 * hierarchy and contents tables.
 */
#include "mapi/rop_desc.h"

static const struct mp_flag_name table_flags[] = {
    {0x02, "Associated"},
    {0x04, "Depth"},
    {0x08, "DeferredErrors"},
    {0x10, "NoNotifications"},
    {0x20, "SoftDeletes"},
    {0x40, "UseUnicode"},
    {0x80, "SuppressNotifications/ConversationMembers"},
    {0, NULL}};

static const struct mp_flag_name delete_folder_flags[] = {
    {0x01, "DEL_MESSAGES"}, {0x04, "DEL_FOLDERS"}, {0x10, "DELETE_HARD_DELETE"}, {0, NULL}};

static const struct mp_flag_name search_flags[] = {{0x00000001, "STOP_SEARCH"},
                                                   {0x00000002, "RESTART_SEARCH"},
                                                   {0x00000004, "RECURSIVE_SEARCH"},
                                                   {0x00000008, "SHALLOW_SEARCH"},
                                                   {0x00010000, "CONTENT_INDEXED_SEARCH"},
                                                   {0x00020000, "NON_CONTENT_INDEXED_SEARCH"},
                                                   {0x00040000, "STATIC_SEARCH"},
                                                   {0, NULL}};

static const struct mp_flag_name search_state[] = {
    {0x00000001, "SEARCH_RUNNING"},      {0x00000002, "SEARCH_REBUILD"},
    {0x00000004, "SEARCH_RECURSIVE"},    {0x00001000, "SEARCH_COMPLETE"},
    {0x00002000, "SEARCH_PARTIAL"},      {0x00010000, "SEARCH_STATIC"},
    {0x00020000, "SEARCH_MAYBE_STATIC"}, {0x01000000, "CI_TOTALLY"},
    {0x08000000, "TWIR_TOTALLY"},        {0, NULL}};

/* ---- Shared parts ---- */

static const struct mp_rop_field server_name[] = {F_STR8("Server")};
static const struct mp_rop_layout server_name_l = MP_LAYOUT(server_name);

static const struct mp_rop_field ghost_servers[] = {
    F_U16("ServerCount"),
    F_U16("CheapServerCount"),
    F_ARRAY("Servers", "ServerCount", &server_name_l),
};
static const struct mp_rop_layout ghost_servers_l = MP_LAYOUT(ghost_servers);

static const struct mp_rop_field ghost_info[] = {
    F_BOOL("HasRules"),
    F_BOOL("IsGhosted"),
    F_IF("Ghost", "IsGhosted", MP_IF_NE, 0, &ghost_servers_l),
};
static const struct mp_rop_layout ghost_info_l = MP_LAYOUT(ghost_info);

static const struct mp_rop_field mid[] = {F_FID("MessageId")};
static const struct mp_rop_layout mid_l = MP_LAYOUT(mid);
static const struct mp_rop_field fid[] = {F_FID("FolderId")};
static const struct mp_rop_layout fid_l = MP_LAYOUT(fid);

static const struct mp_rop_field wstr_name[] = {F_STR16("NewFolderName")};
static const struct mp_rop_layout wstr_name_l = MP_LAYOUT(wstr_name);
static const struct mp_rop_field astr_name[] = {F_STR8("NewFolderName")};
static const struct mp_rop_layout astr_name_l = MP_LAYOUT(astr_name);

/* Responses with a null destination (ecDstNullObject, 0x503) carry the
 * destination's handle index (MS-OXCROPS 2.2.4.6.3 and others). */
static const struct mp_rop_field null_dest[] = {F_U32("DestHandleIndex")};
static const struct mp_rop_layout null_dest_l = MP_LAYOUT(null_dest);

#define RS_SRC F_U8("SourceHandleIndex", .role = MP_RR_ECHO, .arg = MP_RR_IN)
#define RQ_SRC_DEST                                                                                \
	RQ_LOGON, F_U8("SourceHandleIndex", .role = MP_RR_IN),                                     \
	    F_U8("DestHandleIndex", .role = MP_RR_DEST)

static const struct mp_rop_field partial_rsp[] = {RS_HDR_IN, F_BOOL("PartialCompletion")};

static const struct mp_rop_field move_rsp[] = {
    RS_SRC,
    RS_RET,
    F_IF("NullDestination", "ReturnValue", MP_IF_EQ, 0x503, &null_dest_l),
    F_BOOL("PartialCompletion"),
};

/* ---- RopOpenFolder (0x02) ---- */

static const struct mp_rop_field open_req[] = {
    RQ_HDR_OUT,
    F_FID("FolderId"),
    F_U8("OpenModeFlags", .fmt = MP_FMT_HEX),
};
static const struct mp_rop_field open_rsp[] = {RS_HDR_OUT, IF_OK(&ghost_info_l)};

/* ---- RopCreateFolder (0x1C) ---- */

static const struct mp_rop_field names16[] = {F_STR16("DisplayName"), F_STR16("Comment")};
static const struct mp_rop_layout names16_l = MP_LAYOUT(names16);
static const struct mp_rop_field names8[] = {F_STR8("DisplayName"), F_STR8("Comment")};
static const struct mp_rop_layout names8_l = MP_LAYOUT(names8);

static const struct mp_flag_name folder_types[] = {
    {0x01, "FOLDER_GENERIC"}, {0x02, "FOLDER_SEARCH"}, {0, NULL}};

static const struct mp_rop_field create_req[] = {
    RQ_HDR_OUT,
    F_U8("FolderType", .fmt = MP_FMT_ENUM, .names = folder_types),
    F_BOOL("UseUnicodeStrings"),
    F_BOOL("OpenExisting"),
    F_U8("Reserved"),
    F_IF("Unicode", "UseUnicodeStrings", MP_IF_NE, 0, &names16_l),
    F_IF("Ansi", "UseUnicodeStrings", MP_IF_EQ, 0, &names8_l),
};
static const struct mp_rop_field create_ok[] = {
    F_FID("FolderId"),
    F_BOOL("IsExistingFolder"),
    F_IF("Existing", "IsExistingFolder", MP_IF_NE, 0, &ghost_info_l),
};
static const struct mp_rop_layout create_ok_l = MP_LAYOUT(create_ok);
static const struct mp_rop_field create_rsp[] = {RS_HDR_OUT, IF_OK(&create_ok_l)};

/* ---- RopDeleteFolder (0x1D) ---- */

static const struct mp_rop_field delete_req[] = {
    RQ_HDR,
    F_U8("DeleteFolderFlags", .fmt = MP_FMT_FLAGS, .names = delete_folder_flags),
    F_FID("FolderId"),
};

/* ---- RopSetSearchCriteria (0x30), RopGetSearchCriteria (0x31) ---- */

static const struct mp_rop_field setsearch_req[] = {
    RQ_HDR,
    F_U16("RestrictionDataSize"),
    F_RES("RestrictionData", "RestrictionDataSize"),
    F_U16("FolderIdCount"),
    F_ARRAY("FolderIds", "FolderIdCount", &fid_l),
    F_U32("SearchFlags", .fmt = MP_FMT_FLAGS, .names = search_flags),
};

static const struct mp_rop_field getsearch_req[] = {
    RQ_HDR,
    F_BOOL("UseUnicode"),
    F_BOOL("IncludeRestriction"),
    F_BOOL("IncludeFolders"),
};
static const struct mp_rop_field getsearch_ok[] = {
    F_U16("RestrictionDataSize"),
    F_RES("RestrictionData", "RestrictionDataSize"),
    F_U8("LogonId"),
    F_U16("FolderIdCount"),
    F_ARRAY("FolderIds", "FolderIdCount", &fid_l),
    F_U32("SearchFlags", .fmt = MP_FMT_FLAGS, .names = search_state),
};
static const struct mp_rop_layout getsearch_ok_l = MP_LAYOUT(getsearch_ok);
static const struct mp_rop_field getsearch_rsp[] = {RS_HDR_IN, IF_OK(&getsearch_ok_l)};

/* ---- RopMoveCopyMessages (0x33), RopMoveFolder (0x35), RopCopyFolder (0x36) ---- */

static const struct mp_rop_field movecopy_req[] = {
    RQ_SRC_DEST,
    F_U16("MessageIdCount"),
    F_ARRAY("MessageIds", "MessageIdCount", &mid_l),
    F_BOOL("WantAsynchronous"),
    F_BOOL("WantCopy"),
};

static const struct mp_rop_field movefolder_req[] = {
    RQ_SRC_DEST,
    F_BOOL("WantAsynchronous"),
    F_BOOL("UseUnicode"),
    F_FID("FolderId"),
    F_IF("Unicode", "UseUnicode", MP_IF_NE, 0, &wstr_name_l),
    F_IF("Ansi", "UseUnicode", MP_IF_EQ, 0, &astr_name_l),
};

static const struct mp_rop_field copyfolder_req[] = {
    RQ_SRC_DEST,
    F_BOOL("WantAsynchronous"),
    F_BOOL("WantRecursive"),
    F_BOOL("UseUnicode"),
    F_FID("FolderId"),
    F_IF("Unicode", "UseUnicode", MP_IF_NE, 0, &wstr_name_l),
    F_IF("Ansi", "UseUnicode", MP_IF_EQ, 0, &astr_name_l),
};

/* ---- RopEmptyFolder (0x58), RopHardDeleteMessagesAndSubfolders (0x92) ---- */

static const struct mp_rop_field empty_req[] = {
    RQ_HDR,
    F_BOOL("WantAsynchronous"),
    F_BOOL("WantDeleteAssociated"),
};

/* ---- RopDeleteMessages (0x1E), RopHardDeleteMessages (0x91) ---- */

static const struct mp_rop_field delmsgs_req[] = {
    RQ_HDR,
    F_BOOL("WantAsynchronous"),
    F_BOOL("NotifyNonRead"),
    F_U16("MessageIdCount"),
    F_ARRAY("MessageIds", "MessageIdCount", &mid_l),
};

/* ---- RopGetHierarchyTable (0x04), RopGetContentsTable (0x05) ---- */

static const struct mp_rop_field gettable_req[] = {
    RQ_HDR_OUT,
    F_U8("TableFlags", .fmt = MP_FMT_FLAGS, .names = table_flags),
};
static const struct mp_rop_field rowcount[] = {F_U32("RowCount")};
static const struct mp_rop_layout rowcount_l = MP_LAYOUT(rowcount);
static const struct mp_rop_field gettable_rsp[] = {RS_HDR_OUT, IF_OK(&rowcount_l)};

#define L(x) static const struct mp_rop_layout x##_l = MP_LAYOUT(x)
L(partial_rsp);
L(move_rsp);
L(open_req);
L(open_rsp);
L(create_req);
L(create_rsp);
L(delete_req);
L(setsearch_req);
L(getsearch_req);
L(getsearch_rsp);
L(movecopy_req);
L(movefolder_req);
L(copyfolder_req);
L(empty_req);
L(delmsgs_req);
L(gettable_req);
L(gettable_rsp);
#undef L

const struct mp_rop_desc mp_rop_family_folder[] = {
    ROP(0x02, "RopOpenFolder", &open_req_l, &open_rsp_l),
    ROP(0x1C, "RopCreateFolder", &create_req_l, &create_rsp_l),
    ROP(0x1D, "RopDeleteFolder", &delete_req_l, &partial_rsp_l),
    ROP(0x30, "RopSetSearchCriteria", &setsearch_req_l, &mp_rop_rsp_hdr_in),
    ROP(0x31, "RopGetSearchCriteria", &getsearch_req_l, &getsearch_rsp_l),
    ROP(0x33, "RopMoveCopyMessages", &movecopy_req_l, &move_rsp_l),
    ROP(0x35, "RopMoveFolder", &movefolder_req_l, &move_rsp_l),
    ROP(0x36, "RopCopyFolder", &copyfolder_req_l, &move_rsp_l),
    ROP(0x58, "RopEmptyFolder", &empty_req_l, &partial_rsp_l),
    ROP(0x92, "RopHardDeleteMessagesAndSubfolders", &empty_req_l, &partial_rsp_l),
    ROP(0x1E, "RopDeleteMessages", &delmsgs_req_l, &partial_rsp_l),
    ROP(0x91, "RopHardDeleteMessages", &delmsgs_req_l, &partial_rsp_l),
    ROP(0x04, "RopGetHierarchyTable", &gettable_req_l, &gettable_rsp_l),
    ROP(0x05, "RopGetContentsTable", &gettable_req_l, &gettable_rsp_l),
    {.name = NULL},
};
