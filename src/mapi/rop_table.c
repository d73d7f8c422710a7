/*
 * Table ROPs (MS-OXCROPS 2.2.5, MS-OXCTABL 2.2.2): columns, sorting,
 * restrictions, reading rows, positions, bookmarks, categories.
 *
 * The rows of RopQueryRows, RopFindRow and RopExpandRow follow the columns
 * of the table's latest RopSetColumns (mp_rop_cols_table).
 */
#include "mapi/rop_desc.h"

static const struct mp_flag_name table_status[] = {
    {0x00, "TBLSTAT_COMPLETE"},       {0x09, "TBLSTAT_SORTING"},
    {0x0A, "TBLSTAT_SORT_ERROR"},     {0x0B, "TBLSTAT_SETTING_COLS"},
    {0x0D, "TBLSTAT_SETCOL_ERROR"},   {0x0E, "TBLSTAT_RESTRICTING"},
    {0x0F, "TBLSTAT_RESTRICT_ERROR"}, {0, NULL}};

static const struct mp_flag_name async_flags[] = {
    {0x00, "TBL_SYNC"}, {0x01, "TBL_ASYNC"}, {0, NULL}};

static const struct mp_flag_name bookmarks[] = {{0x00, "BOOKMARK_BEGINNING"},
                                                {0x01, "BOOKMARK_CURRENT"},
                                                {0x02, "BOOKMARK_END"},
                                                {0x03, "BOOKMARK_CUSTOM"},
                                                {0, NULL}};

static const struct mp_flag_name query_rows_flags[] = {
    {0x00, "Advance"}, {0x01, "NoAdvance"}, {0x02, "EnablePackedBuffers"}, {0, NULL}};

static const struct mp_flag_name sort_order[] = {{0x00, "TABLE_SORT_ASCEND"},
                                                 {0x01, "TABLE_SORT_DESCEND"},
                                                 {0x04, "TABLE_SORT_MAXIMUM_CATEGORY"},
                                                 {0x08, "TABLE_SORT_MINIMUM_CATEGORY"},
                                                 {0, NULL}};

static const struct mp_flag_name find_row_flags[] = {
    {0x00, "Forward"}, {0x01, "Backward"}, {0, NULL}};

/* Responses carrying only a TableStatus on success. */
static const struct mp_rop_field status_ok[] = {
    F_U8("TableStatus", .fmt = MP_FMT_ENUM, .names = table_status)};
static const struct mp_rop_layout status_ok_l = MP_LAYOUT(status_ok);
static const struct mp_rop_field status_rsp[] = {RS_HDR_IN, IF_OK(&status_ok_l)};

/* ---- RopSetColumns (0x12) ---- */

static const struct mp_rop_field setcolumns_req[] = {
    RQ_HDR,
    F_U8("SetColumnsFlags", .fmt = MP_FMT_ENUM, .names = async_flags),
    F_U16("PropertyTagCount"),
    F_TAGS("PropertyTags", "PropertyTagCount"),
};

/* ---- RopSortTable (0x13) ---- */

/* SortOrder (MS-OXCDATA 2.13.1): PropertyType, PropertyId (a tag on the
 * wire), Order. */
static const struct mp_rop_field sortorder[] = {
    F_TAG("PropertyTag"),
    F_U8("Order", .fmt = MP_FMT_ENUM, .names = sort_order),
};
static const struct mp_rop_layout sortorder_l = MP_LAYOUT(sortorder);

static const struct mp_rop_field sort_req[] = {
    RQ_HDR,
    F_U8("SortTableFlags", .fmt = MP_FMT_ENUM, .names = async_flags),
    F_U16("SortOrderCount"),
    F_U16("CategoryCount"),
    F_U16("ExpandedCount"),
    F_ARRAY("SortOrders", "SortOrderCount", &sortorder_l),
};

/* ---- RopRestrict (0x14) ---- */

static const struct mp_rop_field restrict_req[] = {
    RQ_HDR,
    F_U8("RestrictFlags", .fmt = MP_FMT_ENUM, .names = async_flags),
    F_U16("RestrictionDataSize"),
    F_RES("RestrictionData", "RestrictionDataSize"),
};

/* ---- RopQueryRows (0x15) ---- */

static const struct mp_rop_field queryrows_req[] = {
    RQ_HDR,
    F_U8("QueryRowsFlags", .fmt = MP_FMT_FLAGS, .names = query_rows_flags),
    F_BOOL("ForwardRead"),
    F_U16("RowCount"),
};
static const struct mp_rop_field queryrows_ok[] = {
    F_U8("Origin", .fmt = MP_FMT_ENUM, .names = bookmarks),
    F_U16("RowCount"),
    F_ROWS("RowData", "RowCount", mp_rop_cols_table),
};
static const struct mp_rop_layout queryrows_ok_l = MP_LAYOUT(queryrows_ok);
static const struct mp_rop_field queryrows_rsp[] = {RS_HDR_IN, IF_OK(&queryrows_ok_l)};

/* ---- RopQueryPosition (0x17) ---- */

static const struct mp_rop_field position_ok[] = {F_U32("Numerator"), F_U32("Denominator")};
static const struct mp_rop_layout position_ok_l = MP_LAYOUT(position_ok);
static const struct mp_rop_field position_rsp[] = {RS_HDR_IN, IF_OK(&position_ok_l)};

/* ---- RopSeekRow (0x18), RopSeekRowBookmark (0x19), RopSeekRowFractional (0x1A) ---- */

static const struct mp_rop_field seekrow_req[] = {
    RQ_HDR,
    F_U8("Origin", .fmt = MP_FMT_ENUM, .names = bookmarks),
    F_U32("RowCount", .fmt = MP_FMT_SINT),
    F_BOOL("WantRowMovedCount"),
};
static const struct mp_rop_field seekrow_ok[] = {
    F_BOOL("HasSoughtLess"),
    F_U32("RowsSought", .fmt = MP_FMT_SINT),
};
static const struct mp_rop_layout seekrow_ok_l = MP_LAYOUT(seekrow_ok);
static const struct mp_rop_field seekrow_rsp[] = {RS_HDR_IN, IF_OK(&seekrow_ok_l)};

static const struct mp_rop_field seekbm_req[] = {
    RQ_HDR,
    F_U16("BookmarkSize"),
    F_BYTES("Bookmark", "BookmarkSize"),
    F_U32("RowCount", .fmt = MP_FMT_SINT),
    F_BOOL("WantRowMovedCount"),
};
static const struct mp_rop_field seekbm_ok[] = {
    F_BOOL("RowNoLongerVisible"),
    F_BOOL("HasSoughtLess"),
    F_U32("RowsSought", .fmt = MP_FMT_SINT),
};
static const struct mp_rop_layout seekbm_ok_l = MP_LAYOUT(seekbm_ok);
static const struct mp_rop_field seekbm_rsp[] = {RS_HDR_IN, IF_OK(&seekbm_ok_l)};

static const struct mp_rop_field seekfrac_req[] = {RQ_HDR, F_U32("Numerator"),
                                                   F_U32("Denominator")};

/* ---- Bookmarks: RopCreateBookmark (0x1B), RopFreeBookmark (0x89) ---- */

static const struct mp_rop_field bookmark[] = {F_U16("BookmarkSize"),
                                               F_BYTES("Bookmark", "BookmarkSize")};
static const struct mp_rop_layout bookmark_l = MP_LAYOUT(bookmark);
static const struct mp_rop_field bookmark_rsp[] = {RS_HDR_IN, IF_OK(&bookmark_l)};
static const struct mp_rop_field freebm_req[] = {RQ_HDR, F_U16("BookmarkSize"),
                                                 F_BYTES("Bookmark", "BookmarkSize")};

/* ---- RopQueryColumnsAll (0x37) ---- */

static const struct mp_rop_field columns_ok[] = {
    F_U16("PropertyTagCount"),
    F_TAGS("PropertyTags", "PropertyTagCount"),
};
static const struct mp_rop_layout columns_ok_l = MP_LAYOUT(columns_ok);
static const struct mp_rop_field columns_rsp[] = {RS_HDR_IN, IF_OK(&columns_ok_l)};

/* ---- RopFindRow (0x4F) ---- */

static const struct mp_rop_field findrow_req[] = {
    RQ_HDR,
    F_U8("FindRowFlags", .fmt = MP_FMT_ENUM, .names = find_row_flags),
    F_U16("RestrictionDataSize"),
    F_RES("RestrictionData", "RestrictionDataSize"),
    F_U8("Origin", .fmt = MP_FMT_ENUM, .names = bookmarks),
    F_U16("BookmarkSize"),
    F_BYTES("Bookmark", "BookmarkSize"),
};
static const struct mp_rop_field findrow_row[] = {F_ROW("RowData", mp_rop_cols_table)};
static const struct mp_rop_layout findrow_row_l = MP_LAYOUT(findrow_row);
static const struct mp_rop_field findrow_ok[] = {
    F_BOOL("RowNoLongerVisible"),
    F_BOOL("HasRowData"),
    F_IF("Row", "HasRowData", MP_IF_NE, 0, &findrow_row_l),
};
static const struct mp_rop_layout findrow_ok_l = MP_LAYOUT(findrow_ok);
static const struct mp_rop_field findrow_rsp[] = {RS_HDR_IN, IF_OK(&findrow_ok_l)};

/* ---- RopExpandRow (0x59), RopCollapseRow (0x5A) ---- */

static const struct mp_rop_field expand_req[] = {
    RQ_HDR,
    F_U16("MaxRowCount"),
    F_FID("CategoryId"),
};
static const struct mp_rop_field expand_ok[] = {
    F_U32("ExpandedRowCount"),
    F_U16("RowCount"),
    F_ROWS("RowData", "RowCount", mp_rop_cols_table),
};
static const struct mp_rop_layout expand_ok_l = MP_LAYOUT(expand_ok);
static const struct mp_rop_field expand_rsp[] = {RS_HDR_IN, IF_OK(&expand_ok_l)};

static const struct mp_rop_field collapse_req[] = {RQ_HDR, F_FID("CategoryId")};
static const struct mp_rop_field collapse_ok[] = {F_U32("CollapsedRowCount")};
static const struct mp_rop_layout collapse_ok_l = MP_LAYOUT(collapse_ok);
static const struct mp_rop_field collapse_rsp[] = {RS_HDR_IN, IF_OK(&collapse_ok_l)};

/* ---- RopGetCollapseState (0x6B), RopSetCollapseState (0x6C) ---- */

static const struct mp_rop_field getcs_req[] = {
    RQ_HDR,
    F_FID("RowId"),
    F_U32("RowInstanceNumber"),
};
static const struct mp_rop_field collapse_state[] = {
    F_U16("CollapseStateSize"),
    F_BYTES("CollapseState", "CollapseStateSize"),
};
static const struct mp_rop_layout collapse_state_l = MP_LAYOUT(collapse_state);
static const struct mp_rop_field getcs_rsp[] = {RS_HDR_IN, IF_OK(&collapse_state_l)};
static const struct mp_rop_field setcs_req[] = {
    RQ_HDR,
    F_U16("CollapseStateSize"),
    F_BYTES("CollapseState", "CollapseStateSize"),
};

#define L(x) static const struct mp_rop_layout x##_l = MP_LAYOUT(x)
L(status_rsp);
L(setcolumns_req);
L(sort_req);
L(restrict_req);
L(queryrows_req);
L(queryrows_rsp);
L(position_rsp);
L(seekrow_req);
L(seekrow_rsp);
L(seekbm_req);
L(seekbm_rsp);
L(seekfrac_req);
L(bookmark_rsp);
L(freebm_req);
L(columns_rsp);
L(findrow_req);
L(findrow_rsp);
L(expand_req);
L(expand_rsp);
L(collapse_req);
L(collapse_rsp);
L(getcs_req);
L(getcs_rsp);
L(setcs_req);
#undef L

const struct mp_rop_desc mp_rop_family_table[] = {
    ROP(0x12, "RopSetColumns", &setcolumns_req_l, &status_rsp_l),
    ROP(0x13, "RopSortTable", &sort_req_l, &status_rsp_l),
    ROP(0x14, "RopRestrict", &restrict_req_l, &status_rsp_l),
    ROP(0x15, "RopQueryRows", &queryrows_req_l, &queryrows_rsp_l),
    ROP(0x16, "RopGetStatus", &mp_rop_req_hdr, &status_rsp_l),
    ROP(0x17, "RopQueryPosition", &mp_rop_req_hdr, &position_rsp_l),
    ROP(0x18, "RopSeekRow", &seekrow_req_l, &seekrow_rsp_l),
    ROP(0x19, "RopSeekRowBookmark", &seekbm_req_l, &seekbm_rsp_l),
    ROP(0x1A, "RopSeekRowFractional", &seekfrac_req_l, &mp_rop_rsp_hdr_in),
    ROP(0x1B, "RopCreateBookmark", &mp_rop_req_hdr, &bookmark_rsp_l),
    ROP(0x37, "RopQueryColumnsAll", &mp_rop_req_hdr, &columns_rsp_l),
    ROP(0x38, "RopAbort", &mp_rop_req_hdr, &status_rsp_l),
    ROP(0x4F, "RopFindRow", &findrow_req_l, &findrow_rsp_l),
    ROP(0x89, "RopFreeBookmark", &freebm_req_l, &mp_rop_rsp_hdr_in),
    ROP(0x81, "RopResetTable", &mp_rop_req_hdr, &mp_rop_rsp_hdr_in),
    ROP(0x59, "RopExpandRow", &expand_req_l, &expand_rsp_l),
    ROP(0x5A, "RopCollapseRow", &collapse_req_l, &collapse_rsp_l),
    ROP(0x6B, "RopGetCollapseState", &getcs_req_l, &getcs_rsp_l),
    ROP(0x6C, "RopSetCollapseState", &setcs_req_l, &bookmark_rsp_l),
    {.name = NULL},
};
