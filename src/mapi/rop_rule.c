/*
 * Rule ROPs (MS-OXCROPS 2.2.11, MS-OXORULE 2.2): the rules table, rule
 * changes and deferred action messages. Rule conditions and actions travel
 * as PtypRestriction and PtypRuleAction values (restriction.c,
 * rule_action.c) inside the property values.
 */
#include "mapi/rop_desc.h"

static const struct mp_flag_name table_flags[] = {{0x40, "Unicode"}, {0, NULL}};

static const struct mp_flag_name modify_flags[] = {{0x01, "ROW_REPLACE"}, {0, NULL}};

static const struct mp_flag_name row_flags[] = {
    {0x01, "ROW_ADD"}, {0x02, "ROW_MODIFY"}, {0x04, "ROW_REMOVE"}, {0, NULL}};

static const struct mp_rop_field gettable_req[] = {
    RQ_HDR_OUT,
    F_U8("TableFlags", .fmt = MP_FMT_FLAGS, .names = table_flags),
};

/* RuleData (MS-OXORULE 2.2.1.3.1). */
static const struct mp_rop_field rule_data[] = {
    F_U8("RuleDataFlags", .fmt = MP_FMT_ENUM, .names = row_flags),
    F_U16("PropertyValueCount"),
    F_TPVS("PropertyValues", "PropertyValueCount"),
};
static const struct mp_rop_layout rule_data_l = MP_LAYOUT(rule_data);

static const struct mp_rop_field modify_req[] = {
    RQ_HDR,
    F_U8("ModifyRulesFlags", .fmt = MP_FMT_FLAGS, .names = modify_flags),
    F_U16("RulesCount"),
    F_ARRAY("RulesData", "RulesCount", &rule_data_l),
};

static const struct mp_rop_field update_dams_req[] = {
    RQ_HDR,
    F_U16("ServerEntryIdSize"),
    F_BYTES("ServerEntryId", "ServerEntryIdSize"),
    F_U16("ClientEntryIdSize"),
    F_BYTES("ClientEntryId", "ClientEntryIdSize"),
};

static const struct mp_rop_layout gettable_req_l = MP_LAYOUT(gettable_req);
static const struct mp_rop_layout modify_req_l = MP_LAYOUT(modify_req);
static const struct mp_rop_layout update_dams_req_l = MP_LAYOUT(update_dams_req);

const struct mp_rop_desc mp_rop_family_rule[] = {
    ROP(0x3F, "RopGetRulesTable", &gettable_req_l, &mp_rop_rsp_hdr_out),
    ROP(0x41, "RopModifyRules", &modify_req_l, &mp_rop_rsp_hdr_in),
    ROP(0x57, "RopUpdateDeferredActionMessages", &update_dams_req_l, &mp_rop_rsp_hdr_in),
    {.name = NULL},
};
