/*
 * Permission ROPs (MS-OXCROPS 2.2.10.1-2.2.10.2, MS-OXCPERM 2.2): the
 * permissions table and its modification. The table's rows are read with
 * the table ROPs (rop_table.c).
 */
#include "mapi/rop_desc.h"

static const struct mp_flag_name table_flags[] = {{0x02, "IncludeFreeBusy"}, {0, NULL}};

static const struct mp_flag_name modify_flags[] = {
    {0x01, "ReplaceRows"}, {0x02, "IncludeFreeBusy"}, {0, NULL}};

static const struct mp_flag_name row_flags[] = {
    {0x01, "AddRow"}, {0x02, "ModifyRow"}, {0x04, "RemoveRow"}, {0, NULL}};

static const struct mp_rop_field gettable_req[] = {
    RQ_HDR_OUT,
    F_U8("TableFlags", .fmt = MP_FMT_FLAGS, .names = table_flags),
};

/* PermissionData (MS-OXCPERM 2.2.4.1). */
static const struct mp_rop_field permission_data[] = {
    F_U8("PermissionDataFlags", .fmt = MP_FMT_ENUM, .names = row_flags),
    F_U16("PropertyValueCount"),
    F_TPVS("PropertyValues", "PropertyValueCount"),
};
static const struct mp_rop_layout permission_data_l = MP_LAYOUT(permission_data);

static const struct mp_rop_field modify_req[] = {
    RQ_HDR,
    F_U8("ModifyFlags", .fmt = MP_FMT_FLAGS, .names = modify_flags),
    F_U16("ModifyCount"),
    F_ARRAY("PermissionsData", "ModifyCount", &permission_data_l),
};

static const struct mp_rop_layout gettable_req_l = MP_LAYOUT(gettable_req);
static const struct mp_rop_layout modify_req_l = MP_LAYOUT(modify_req);

const struct mp_rop_desc mp_rop_family_permission[] = {
    ROP(0x3E, "RopGetPermissionsTable", &gettable_req_l, &mp_rop_rsp_hdr_out),
    ROP(0x40, "RopModifyPermissions", &modify_req_l, &mp_rop_rsp_hdr_in),
    {.name = NULL},
};
