/*
 * Property ROPs (MS-OXCROPS 2.2.8, MS-OXCPRPT 2.2): get, set and delete
 * properties, named-property mapping, copying properties between objects.
 */
#include "mapi/rop_desc.h"

static const struct mp_flag_name copy_flags[] = {{0x01, "Move"}, {0x02, "NoOverwrite"}, {0, NULL}};

static const struct mp_flag_name query_flags[] = {{0x01, "NoStrings"}, {0x02, "NoIds"}, {0, NULL}};

/* PropertyProblem (MS-OXCDATA 2.7). */
static const struct mp_rop_field problem[] = {
    F_U16("Index"),
    F_TAG("PropertyTag"),
    F_U32("ErrorCode", .fmt = MP_FMT_ERR),
};
static const struct mp_rop_layout problem_l = MP_LAYOUT(problem);
static const struct mp_rop_field problems[] = {
    F_U16("PropertyProblemCount"),
    F_ARRAY("PropertyProblems", "PropertyProblemCount", &problem_l),
};
static const struct mp_rop_layout problems_l = MP_LAYOUT(problems);
static const struct mp_rop_field problems_rsp[] = {RS_HDR_IN, IF_OK(&problems_l)};

static const struct mp_rop_field propid[] = {F_U16("PropertyId", .fmt = MP_FMT_HEX)};
static const struct mp_rop_layout propid_l = MP_LAYOUT(propid);

/* ---- RopGetPropertiesSpecific (0x07) ---- */

static const struct mp_rop_field getspecific_req[] = {
    RQ_HDR,
    F_U16("PropertySizeLimit"),
    F_U16("WantUnicode"),
    F_U16("PropertyTagCount"),
    F_TAGS("PropertyTags", "PropertyTagCount"),
};
/* The values follow the request's tags (MS-OXCROPS 2.2.8.3.2). */
static const struct mp_rop_field getspecific_ok[] = {F_ROW("RowData", mp_rop_cols_req_tags)};
static const struct mp_rop_layout getspecific_ok_l = MP_LAYOUT(getspecific_ok);
static const struct mp_rop_field getspecific_rsp[] = {RS_HDR_IN, IF_OK(&getspecific_ok_l)};

/* ---- RopGetPropertiesAll (0x08), RopGetPropertiesList (0x09) ---- */

static const struct mp_rop_field getall_req[] = {
    RQ_HDR,
    F_U16("PropertySizeLimit"),
    F_U16("WantUnicode"),
};
static const struct mp_rop_field values[] = {
    F_U16("PropertyValueCount"),
    F_TPVS("PropertyValues", "PropertyValueCount"),
};
static const struct mp_rop_layout values_l = MP_LAYOUT(values);
static const struct mp_rop_field getall_rsp[] = {RS_HDR_IN, IF_OK(&values_l)};

static const struct mp_rop_field tags[] = {
    F_U16("PropertyTagCount"),
    F_TAGS("PropertyTags", "PropertyTagCount"),
};
static const struct mp_rop_layout tags_l = MP_LAYOUT(tags);
static const struct mp_rop_field getlist_rsp[] = {RS_HDR_IN, IF_OK(&tags_l)};

/* ---- RopSetProperties (0x0A), RopSetPropertiesNoReplicate (0x79) ---- */

/* PropertyValueSize counts PropertyValueCount and the values. */
static const struct mp_rop_field setprops_req[] = {
    RQ_HDR,
    F_U16("PropertyValueSize"),
    F_SIZED("Values", "PropertyValueSize", &values_l),
};

/* ---- RopDeleteProperties (0x0B), RopDeletePropertiesNoReplicate (0x7A) ---- */

static const struct mp_rop_field delprops_req[] = {
    RQ_HDR,
    F_U16("PropertyTagCount"),
    F_TAGS("PropertyTags", "PropertyTagCount"),
};

/* ---- RopQueryNamedProperties (0x5F) ---- */

static const struct mp_rop_field guid[] = {F_GUID("PropertyGuid")};
static const struct mp_rop_layout guid_l = MP_LAYOUT(guid);
static const struct mp_rop_field querynamed_req[] = {
    RQ_HDR,
    F_U8("QueryFlags", .fmt = MP_FMT_FLAGS, .names = query_flags),
    F_U8("HasGuid"),
    F_IF("Guid", "HasGuid", MP_IF_NE, 0, &guid_l),
};
static const struct mp_rop_field querynamed_ok[] = {
    F_U16("IdCount"),
    F_ARRAY("PropertyIds", "IdCount", &propid_l),
    F_NAMES("PropertyNames", "IdCount"),
};
static const struct mp_rop_layout querynamed_ok_l = MP_LAYOUT(querynamed_ok);
static const struct mp_rop_field querynamed_rsp[] = {RS_HDR_IN, IF_OK(&querynamed_ok_l)};

/* ---- RopCopyProperties (0x67), RopCopyTo (0x39) ---- */

#define RQ_SRC_DEST                                                                                \
	RQ_LOGON, F_U8("SourceHandleIndex", .role = MP_RR_IN),                                     \
	    F_U8("DestHandleIndex", .role = MP_RR_DEST)
#define RS_SRC F_U8("SourceHandleIndex", .role = MP_RR_ECHO, .arg = MP_RR_IN)

static const struct mp_rop_field copyprops_req[] = {
    RQ_SRC_DEST,
    F_BOOL("WantAsynchronous"),
    F_U8("CopyFlags", .fmt = MP_FMT_FLAGS, .names = copy_flags),
    F_U16("PropertyTagCount"),
    F_TAGS("PropertyTags", "PropertyTagCount"),
};
static const struct mp_rop_field copyto_req[] = {
    RQ_SRC_DEST,
    F_BOOL("WantAsynchronous"),
    F_BOOL("WantSubObjects"),
    F_U8("CopyFlags", .fmt = MP_FMT_FLAGS, .names = copy_flags),
    F_U16("ExcludedTagCount"),
    F_TAGS("ExcludedTags", "ExcludedTagCount"),
};
static const struct mp_rop_field null_dest[] = {F_U32("DestHandleIndex")};
static const struct mp_rop_layout null_dest_l = MP_LAYOUT(null_dest);
static const struct mp_rop_field copy_rsp[] = {
    RS_SRC,
    RS_RET,
    IF_OK(&problems_l),
    F_IF("NullDestination", "ReturnValue", MP_IF_EQ, 0x503, &null_dest_l),
};

/* ---- RopGetPropertyIdsFromNames (0x56), RopGetNamesFromPropertyIds (0x55) ---- */

static const struct mp_flag_name idsfromnames_flags[] = {{0x02, "Create"}, {0, NULL}};
static const struct mp_rop_field idsfromnames_req[] = {
    RQ_HDR,
    F_U8("Flags", .fmt = MP_FMT_FLAGS, .names = idsfromnames_flags),
    F_U16("PropertyNameCount"),
    F_NAMES("PropertyNames", "PropertyNameCount"),
};
static const struct mp_rop_field ids[] = {
    F_U16("PropertyIdCount"),
    F_ARRAY("PropertyIds", "PropertyIdCount", &propid_l),
};
static const struct mp_rop_layout ids_l = MP_LAYOUT(ids);
/* Ids come back on success and with ecWarnWithErrors (some names unmapped). */
static const struct mp_rop_field idsfromnames_rsp[] = {
    RS_HDR_IN,
    IF_OK(&ids_l),
    F_IF("Partial", "ReturnValue", MP_IF_EQ, 0x00040380, &ids_l),
};

static const struct mp_rop_field namesfromids_req[] = {
    RQ_HDR,
    F_U16("PropertyIdCount"),
    F_ARRAY("PropertyIds", "PropertyIdCount", &propid_l),
};
static const struct mp_rop_field names[] = {
    F_U16("PropertyNameCount"),
    F_NAMES("PropertyNames", "PropertyNameCount"),
};
static const struct mp_rop_layout names_l = MP_LAYOUT(names);
static const struct mp_rop_field namesfromids_rsp[] = {RS_HDR_IN, IF_OK(&names_l)};

#define L(x) static const struct mp_rop_layout x##_l = MP_LAYOUT(x)
L(problems_rsp);
L(getspecific_req);
L(getspecific_rsp);
L(getall_req);
L(getall_rsp);
L(getlist_rsp);
L(setprops_req);
L(delprops_req);
L(querynamed_req);
L(querynamed_rsp);
L(copyprops_req);
L(copyto_req);
L(copy_rsp);
L(idsfromnames_req);
L(idsfromnames_rsp);
L(namesfromids_req);
L(namesfromids_rsp);
#undef L

const struct mp_rop_desc mp_rop_family_property[] = {
    ROP(0x07, "RopGetPropertiesSpecific", &getspecific_req_l, &getspecific_rsp_l),
    ROP(0x08, "RopGetPropertiesAll", &getall_req_l, &getall_rsp_l),
    ROP(0x09, "RopGetPropertiesList", &mp_rop_req_hdr, &getlist_rsp_l),
    ROP(0x0A, "RopSetProperties", &setprops_req_l, &problems_rsp_l),
    ROP(0x79, "RopSetPropertiesNoReplicate", &setprops_req_l, &problems_rsp_l),
    ROP(0x0B, "RopDeleteProperties", &delprops_req_l, &problems_rsp_l),
    ROP(0x7A, "RopDeletePropertiesNoReplicate", &delprops_req_l, &problems_rsp_l),
    ROP(0x5F, "RopQueryNamedProperties", &querynamed_req_l, &querynamed_rsp_l),
    ROP(0x67, "RopCopyProperties", &copyprops_req_l, &copy_rsp_l),
    ROP(0x39, "RopCopyTo", &copyto_req_l, &copy_rsp_l),
    ROP(0x56, "RopGetPropertyIdsFromNames", &idsfromnames_req_l, &idsfromnames_rsp_l),
    ROP(0x55, "RopGetNamesFromPropertyIds", &namesfromids_req_l, &namesfromids_rsp_l),
    {.name = NULL},
};
