/*
 * Notification ROPs (MS-OXCROPS 2.2.14, MS-OXCNOTIF 2.2.1): subscribing,
 * and the RopNotify / RopPending responses the server adds on its own.
 *
 * Which NotificationData fields are present depends on NotificationFlags
 * (MS-OXCNOTIF 2.2.1.4.1.2): the low 12 bits name the event, T (0x1000)
 * and U (0x2000) add message counts, S (0x4000) marks search folders and
 * M (0x8000) message events. Table rows added or modified carry a row in
 * the table's columns, framed by TableRowDataSize: it is decoded when the
 * columns are known (RopSetColumns on that handle, seen in this session)
 * and kept as bytes otherwise.
 */
#include "mapi/rop_desc.h"

enum {
	NF_NEWMAIL = 0x0002,
	NF_CREATED = 0x0004,
	NF_DELETED = 0x0008,
	NF_MODIFIED = 0x0010,
	NF_MOVED = 0x0020,
	NF_COPIED = 0x0040,
	NF_SEARCHDONE = 0x0080,
	NF_TABLE = 0x0100,
	NF_EXTENDED = 0x0400,
	NF_TOTAL = 0x1000,
	NF_UNREAD = 0x2000,
	NF_SEARCH = 0x4000,
	NF_MESSAGE = 0x8000,
};

enum {
	TE_CHANGED = 0x0001,
	TE_ROW_ADDED = 0x0003,
	TE_ROW_DELETED = 0x0004,
	TE_ROW_MODIFIED = 0x0005,
	TE_RESTRICT_DONE = 0x0007,
};

static const struct mp_flag_name notification_flags[] = {{NF_NEWMAIL, "NewMail"},
                                                         {NF_CREATED, "ObjectCreated"},
                                                         {NF_DELETED, "ObjectDeleted"},
                                                         {NF_MODIFIED, "ObjectModified"},
                                                         {NF_MOVED, "ObjectMoved"},
                                                         {NF_COPIED, "ObjectCopied"},
                                                         {NF_SEARCHDONE, "SearchCompleted"},
                                                         {NF_TABLE, "TableModified"},
                                                         {NF_EXTENDED, "Extended"},
                                                         {NF_TOTAL, "T"},
                                                         {NF_UNREAD, "U"},
                                                         {NF_SEARCH, "S"},
                                                         {NF_MESSAGE, "M"},
                                                         {0, NULL}};

static const struct mp_flag_name table_events[] = {{TE_CHANGED, "TableChanged"},
                                                   {TE_ROW_ADDED, "TableRowAdded"},
                                                   {TE_ROW_DELETED, "TableRowDeleted"},
                                                   {TE_ROW_MODIFIED, "TableRowModified"},
                                                   {TE_RESTRICT_DONE, "TableRestrictionChanged"},
                                                   {0, NULL}};

static uint64_t nflags(const struct mp_rop_dctx *ctx)
{
	const struct mp_rop_val *v = mp_rop_scope_find(ctx->scope, "NotificationFlags");
	return v ? v->u : 0;
}

static uint64_t table_event(const struct mp_rop_dctx *ctx)
{
	const struct mp_rop_val *v = mp_rop_scope_find(ctx->scope, "TableEventType");
	return (nflags(ctx) & NF_TABLE) && v ? v->u : 0;
}

static bool row_amd(const struct mp_rop_dctx *ctx)
{
	uint64_t e = table_event(ctx);
	return e == TE_ROW_ADDED || e == TE_ROW_DELETED || e == TE_ROW_MODIFIED;
}

static bool row_am(const struct mp_rop_dctx *ctx)
{
	uint64_t e = table_event(ctx);
	return e == TE_ROW_ADDED || e == TE_ROW_MODIFIED;
}

static bool t_table(const struct mp_rop_dctx *ctx, bool *known)
{
	return (nflags(ctx) & NF_TABLE) != 0;
}

static bool t_row_fid(const struct mp_rop_dctx *ctx, bool *known)
{
	return row_amd(ctx);
}

static bool t_row_mid(const struct mp_rop_dctx *ctx, bool *known)
{
	return row_amd(ctx) && (nflags(ctx) & NF_MESSAGE);
}

static bool t_after_fid(const struct mp_rop_dctx *ctx, bool *known)
{
	return row_am(ctx);
}

static bool t_after_mid(const struct mp_rop_dctx *ctx, bool *known)
{
	return row_am(ctx) && (nflags(ctx) & NF_MESSAGE);
}

static bool t_folder_id(const struct mp_rop_dctx *ctx, bool *known)
{
	return (nflags(ctx) & (NF_TABLE | NF_EXTENDED)) == 0;
}

static bool t_message_id(const struct mp_rop_dctx *ctx, bool *known)
{
	return (nflags(ctx) & (NF_TABLE | NF_EXTENDED | NF_MESSAGE)) == NF_MESSAGE;
}

static bool t_parent_id(const struct mp_rop_dctx *ctx, bool *known)
{
	uint64_t f = nflags(ctx);
	bool s = (f & NF_SEARCH) != 0, m = (f & NF_MESSAGE) != 0;
	return (f & (NF_CREATED | NF_DELETED | NF_MOVED | NF_COPIED)) && s == m;
}

static bool t_old_fid(const struct mp_rop_dctx *ctx, bool *known)
{
	return (nflags(ctx) & (NF_MOVED | NF_COPIED)) != 0;
}

static bool t_old_mid(const struct mp_rop_dctx *ctx, bool *known)
{
	return (nflags(ctx) & (NF_MOVED | NF_COPIED)) && (nflags(ctx) & NF_MESSAGE);
}

static bool t_old_parent(const struct mp_rop_dctx *ctx, bool *known)
{
	return (nflags(ctx) & (NF_MOVED | NF_COPIED)) && !(nflags(ctx) & NF_MESSAGE);
}

static bool t_tags(const struct mp_rop_dctx *ctx, bool *known)
{
	return (nflags(ctx) & (NF_CREATED | NF_MODIFIED)) != 0;
}

static bool t_total(const struct mp_rop_dctx *ctx, bool *known)
{
	return (nflags(ctx) & NF_TOTAL) != 0;
}

static bool t_unread(const struct mp_rop_dctx *ctx, bool *known)
{
	return (nflags(ctx) & NF_UNREAD) != 0;
}

static bool t_newmail(const struct mp_rop_dctx *ctx, bool *known)
{
	return (nflags(ctx) & NF_NEWMAIL) != 0;
}

/* Columns of the table the notification is about: the session's, or a
 * RopSetColumns in the request this buffer answers whose handle index
 * maps to NotificationHandle in this response's handle table. */
static bool cols_notified_table(const struct mp_rop_dctx *ctx, const uint32_t **tags, uint32_t *n)
{
	const struct mp_rop_val *h = mp_rop_scope_find(ctx->scope, "NotificationHandle");
	if (!h)
		return false;
	const struct mp_rop_buf *req = ctx->req_buf;
	for (size_t j = req ? req->count : 0; j-- > 0;) {
		const struct mp_rop *r = req->rops[j];
		int idx = mp_rop_input_index(r);
		if (r->id != 0x12 || idx < 0 || (size_t)idx >= ctx->buf->n_handles ||
		    ctx->buf->handles[idx] != h->u)
			continue;
		const struct mp_rop_val *cols = mp_rop_field(r, "PropertyTags");
		if (!cols)
			break;
		*tags = cols->p;
		*n = (uint32_t)cols->n;
		return true;
	}
	return mp_rop_session_columns(ctx->sess, (uint32_t)h->u, tags, n);
}

static const struct mp_rop_field row_fid[] = {F_FID("TableRowFolderID")};
static const struct mp_rop_field row_mid[] = {F_FID("TableRowMessageID"),
                                              F_U32("TableRowInstance")};
static const struct mp_rop_field after_fid[] = {F_FID("InsertAfterTableRowFolderID")};
static const struct mp_rop_field after_mid[] = {F_FID("InsertAfterTableRowID"),
                                                F_U32("InsertAfterTableRowInstance")};
static const struct mp_rop_field row_cols[] = {F_ROW("TableRow", cols_notified_table)};
static const struct mp_rop_layout row_cols_l = MP_LAYOUT(row_cols);
static const struct mp_rop_field row_data[] = {
    F_U16("TableRowDataSize"),
    F_SIZED("TableRowData", "TableRowDataSize", &row_cols_l),
};
static const struct mp_rop_field folder_id[] = {F_FID("FolderId")};
static const struct mp_rop_field message_id[] = {F_FID("MessageId")};
static const struct mp_rop_field parent_id[] = {F_FID("ParentFolderId")};
static const struct mp_rop_field old_fid[] = {F_FID("OldFolderId")};
static const struct mp_rop_field old_mid[] = {F_FID("OldMessageId")};
static const struct mp_rop_field old_parent[] = {F_FID("OldParentFolderId")};
/* TagCount 0xFFFF: all properties changed, no tags follow. */
static const struct mp_rop_field tag_list[] = {F_TAGS("Tags", "TagCount")};
static const struct mp_rop_layout tag_list_l = MP_LAYOUT(tag_list);
static const struct mp_rop_field tags[] = {
    F_U16("TagCount", .fmt = MP_FMT_HEX),
    F_IF("TagList", "TagCount", MP_IF_NE, 0xFFFF, &tag_list_l),
};
static const struct mp_rop_field total[] = {F_U32("TotalMessageCount")};
static const struct mp_rop_field unread[] = {F_U32("UnreadMessageCount")};
static const struct mp_rop_field class8[] = {F_STR8("MessageClass")};
static const struct mp_rop_field class16[] = {F_STR16("MessageClass")};
static const struct mp_rop_layout class8_l = MP_LAYOUT(class8);
static const struct mp_rop_layout class16_l = MP_LAYOUT(class16);
static const struct mp_rop_field newmail[] = {
    F_U32("MessageFlags", .fmt = MP_FMT_HEX),
    F_U8("UnicodeFlag"),
    F_IF("Class8", "UnicodeFlag", MP_IF_EQ, 0, &class8_l),
    F_IF("Class16", "UnicodeFlag", MP_IF_NE, 0, &class16_l),
};

#define L(x) static const struct mp_rop_layout x##_l = MP_LAYOUT(x)
L(row_fid);
L(row_mid);
L(after_fid);
L(after_mid);
L(row_data);
L(folder_id);
L(message_id);
L(parent_id);
L(old_fid);
L(old_mid);
L(old_parent);
L(tags);
L(total);
L(unread);
L(newmail);
#undef L

static const struct mp_rop_field table_event_f[] = {
    F_U16("TableEventType", .fmt = MP_FMT_ENUM, .names = table_events),
    F_IF_TEST("Row", t_row_fid, &row_fid_l),
    F_IF_TEST("RowMessage", t_row_mid, &row_mid_l),
    F_IF_TEST("After", t_after_fid, &after_fid_l),
    F_IF_TEST("AfterMessage", t_after_mid, &after_mid_l),
    F_IF_TEST("Data", t_after_fid, &row_data_l),
};
static const struct mp_rop_layout table_event_l = MP_LAYOUT(table_event_f);

static const struct mp_rop_field notification_data[] = {
    F_U16("NotificationFlags", .fmt = MP_FMT_FLAGS, .names = notification_flags),
    F_IF_TEST("Table", t_table, &table_event_l),
    F_IF_TEST("Folder", t_folder_id, &folder_id_l),
    F_IF_TEST("Message", t_message_id, &message_id_l),
    F_IF_TEST("Parent", t_parent_id, &parent_id_l),
    F_IF_TEST("OldFolder", t_old_fid, &old_fid_l),
    F_IF_TEST("OldMessage", t_old_mid, &old_mid_l),
    F_IF_TEST("OldParent", t_old_parent, &old_parent_l),
    F_IF_TEST("ChangedTags", t_tags, &tags_l),
    F_IF_TEST("Total", t_total, &total_l),
    F_IF_TEST("Unread", t_unread, &unread_l),
    F_IF_TEST("NewMail", t_newmail, &newmail_l),
};
static const struct mp_rop_layout notification_data_l = MP_LAYOUT(notification_data);

static const struct mp_rop_field notify_rsp[] = {
    F_U32("NotificationHandle", .fmt = MP_FMT_HEX),
    F_U8("LogonId", .role = MP_RR_LOGON),
    F_STRUCT("NotificationData", &notification_data_l),
};

static const struct mp_rop_field pending_rsp[] = {F_U16("SessionIndex")};

/* ---- RopRegisterNotification (0x29) ---- */

static const struct mp_rop_field ids[] = {F_FID("FolderId"), F_FID("MessageId")};
static const struct mp_rop_layout ids_l = MP_LAYOUT(ids);
static const struct mp_rop_field register_req[] = {
    RQ_HDR_OUT,
    F_U8("NotificationTypes", .fmt = MP_FMT_FLAGS, .names = notification_flags),
    F_U8("Reserved"),
    F_BOOL("WantWholeStore"),
    F_IF("Object", "WantWholeStore", MP_IF_EQ, 0, &ids_l),
};

#define L(x) static const struct mp_rop_layout x##_l = MP_LAYOUT(x)
L(notify_rsp);
L(pending_rsp);
L(register_req);
#undef L

const struct mp_rop_desc mp_rop_family_notify[] = {
    ROP(0x29, "RopRegisterNotification", &register_req_l, &mp_rop_rsp_hdr_out),
    ROP(0x2A, "RopNotify", NULL, &notify_rsp_l, .flags = MP_ROPD_UNSOLICITED),
    ROP(0x6E, "RopPending", NULL, &pending_rsp_l, .flags = MP_ROPD_UNSOLICITED),
    {.name = NULL},
};
