/*
 * Message ROPs (MS-OXCROPS 2.2.6, MS-OXCMSG 2.2.3): messages, recipients,
 * read flags, status, attachments and embedded messages.
 *
 * Recipient rows (MS-OXCDATA 2.8.3) are framed by RecipientRowSize; their
 * properties follow the RecipientColumns sent in the same ROP, or, for
 * RopReadRecipients, those of the RopOpenMessage response that opened the
 * message (kept by the session). Rows whose columns are unknown are kept as
 * bytes.
 */
#include "mapi/rop_desc.h"

static const struct mp_flag_name recipient_flags[] = {
    {0x0008, "E"}, {0x0010, "D"}, {0x0020, "T"}, {0x0040, "S"}, {0x0080, "R"},
    {0x0100, "N"}, {0x0200, "U"}, {0x0400, "I"}, {0x8000, "O"}, {0, NULL}};

static const struct mp_flag_name read_flags[] = {
    {0x01, "rfSuppressReceipt"}, {0x04, "rfClearReadFlag"},     {0x10, "rfGenerateReceiptOnly"},
    {0x20, "rfClearNotifyRead"}, {0x40, "rfClearNotifyUnread"}, {0, NULL}};

static const struct mp_flag_name save_flags[] = {
    {0x01, "KeepOpenReadOnly"}, {0x02, "KeepOpenReadWrite"}, {0x04, "ForceSave"}, {0, NULL}};

static const struct mp_flag_name string_types[] = {{0x00, "NotPresent"}, {0x01, "Empty"},
                                                   {0x02, "String8"},    {0x03, "ReducedUnicode"},
                                                   {0x04, "Unicode"},    {0, NULL}};

/* ---- RecipientRow (MS-OXCDATA 2.8.3.1) ---- */

static uint64_t recipient_flags_of(const struct mp_rop_dctx *ctx)
{
	const struct mp_rop_val *v = mp_rop_scope_find(ctx->scope, "RecipientFlags");
	return v ? v->u : 0;
}

static bool is_x500(const struct mp_rop_dctx *ctx, bool *known)
{
	return (recipient_flags_of(ctx) & 0x0007) == 0x1;
}

static bool is_pdl(const struct mp_rop_dctx *ctx, bool *known)
{
	uint64_t type = recipient_flags_of(ctx) & 0x0007;
	return type == 0x6 || type == 0x7;
}

static bool has_addrtype(const struct mp_rop_dctx *ctx, bool *known)
{
	uint64_t f = recipient_flags_of(ctx);
	return (f & 0x0007) == 0 && (f & 0x8000);
}

static bool flag_string(const struct mp_rop_dctx *ctx, uint64_t bit, bool unicode)
{
	uint64_t f = recipient_flags_of(ctx);
	return (f & bit) && ((f & 0x0200) != 0) == unicode;
}

#define STRING_TESTS(nm, bit)                                                                      \
	static bool is_##nm##_w(const struct mp_rop_dctx *ctx, bool *known)                        \
	{                                                                                          \
		return flag_string(ctx, (bit), true);                                              \
	}                                                                                          \
	static bool is_##nm##_a(const struct mp_rop_dctx *ctx, bool *known)                        \
	{                                                                                          \
		return flag_string(ctx, (bit), false);                                             \
	}
STRING_TESTS(email, 0x0008)
STRING_TESTS(display, 0x0010)
STRING_TESTS(simple, 0x0400)
STRING_TESTS(transmittable, 0x0020)
#undef STRING_TESTS

/* The first RecipientColumnCount of the recipient columns: those sent in
 * the same ROP (RopOpenMessage ..., RopModifyRecipients), else those the
 * session learnt when the message was opened (RopReadRecipients). */
static bool cols_recipient(const struct mp_rop_dctx *ctx, const uint32_t **tags, uint32_t *n)
{
	const struct mp_rop_val *cols = mp_rop_scope_find(ctx->scope, "RecipientColumns");
	const struct mp_rop_val *count = mp_rop_scope_find(ctx->scope, "RecipientColumnCount");
	const uint32_t *all;
	uint32_t nall;
	int idx;

	if (!count)
		return false;
	if (cols) {
		all = cols->p;
		nall = (uint32_t)cols->n;
	} else {
		idx = mp_rop_input_index(ctx->req);
		if (idx < 0 || !ctx->req_buf || (size_t)idx >= ctx->req_buf->n_handles ||
		    !mp_rop_session_recipient_columns(ctx->sess, ctx->req_buf->handles[idx], &all,
		                                      &nall))
			return false;
	}
	if (count->u > nall)
		return false;
	*tags = all;
	*n = (uint32_t)count->u;
	return true;
}

static const struct mp_rop_field x500[] = {
    F_U8("AddressPrefixUsed"),
    F_U8("DisplayType", .fmt = MP_FMT_HEX),
    F_STR8("X500DN"),
};
static const struct mp_rop_field pdl[] = {
    F_U16("EntryIdSize"),
    F_BYTES("EntryId", "EntryIdSize"),
    F_U16("SearchKeySize"),
    F_BYTES("SearchKey", "SearchKeySize"),
};
static const struct mp_rop_field addrtype[] = {F_STR8("AddressType")};
static const struct mp_rop_field email_w[] = {F_STR16("EmailAddress")};
static const struct mp_rop_field email_a[] = {F_STR8("EmailAddress")};
static const struct mp_rop_field display_w[] = {F_STR16("DisplayName")};
static const struct mp_rop_field display_a[] = {F_STR8("DisplayName")};
static const struct mp_rop_field simple_w[] = {F_STR16("SimpleDisplayName")};
static const struct mp_rop_field simple_a[] = {F_STR8("SimpleDisplayName")};
static const struct mp_rop_field transmittable_w[] = {F_STR16("TransmittableDisplayName")};
static const struct mp_rop_field transmittable_a[] = {F_STR8("TransmittableDisplayName")};

#define L(x) static const struct mp_rop_layout x##_l = MP_LAYOUT(x)
L(x500);
L(pdl);
L(addrtype);
L(email_w);
L(email_a);
L(display_w);
L(display_a);
L(simple_w);
L(simple_a);
L(transmittable_w);
L(transmittable_a);
#undef L

static const struct mp_rop_field recipient_row[] = {
    F_U16("RecipientFlags", .fmt = MP_FMT_FLAGS, .names = recipient_flags),
    F_IF_TEST("X500", is_x500, &x500_l),
    F_IF_TEST("PersonalDistributionList", is_pdl, &pdl_l),
    F_IF_TEST("OtherAddressType", has_addrtype, &addrtype_l),
    F_IF_TEST("EmailW", is_email_w, &email_w_l),
    F_IF_TEST("EmailA", is_email_a, &email_a_l),
    F_IF_TEST("DisplayW", is_display_w, &display_w_l),
    F_IF_TEST("DisplayA", is_display_a, &display_a_l),
    F_IF_TEST("SimpleW", is_simple_w, &simple_w_l),
    F_IF_TEST("SimpleA", is_simple_a, &simple_a_l),
    F_IF_TEST("TransmittableW", is_transmittable_w, &transmittable_w_l),
    F_IF_TEST("TransmittableA", is_transmittable_a, &transmittable_a_l),
    F_U16("RecipientColumnCount"),
    F_ROW("RecipientProperties", cols_recipient),
};
static const struct mp_rop_layout recipient_row_l = MP_LAYOUT(recipient_row);

static const struct mp_rop_field open_recipient_row[] = {
    F_U8("RecipientType", .fmt = MP_FMT_HEX),
    F_U16("CodePageId", .fmt = MP_FMT_HEX),
    F_U16("Reserved"),
    F_U16("RecipientRowSize"),
    F_SIZED("RecipientRow", "RecipientRowSize", &recipient_row_l),
};
static const struct mp_rop_layout open_recipient_row_l = MP_LAYOUT(open_recipient_row);

static const struct mp_rop_field modify_recipient_row[] = {
    F_U32("RowId"),
    F_U8("RecipientType", .fmt = MP_FMT_HEX),
    F_U16("RecipientRowSize"),
    F_SIZED("RecipientRow", "RecipientRowSize", &recipient_row_l),
};
static const struct mp_rop_layout modify_recipient_row_l = MP_LAYOUT(modify_recipient_row);

static const struct mp_rop_field read_recipient_row[] = {
    F_U32("RowId"),
    F_U8("RecipientType", .fmt = MP_FMT_HEX),
    F_U16("CodePageId", .fmt = MP_FMT_HEX),
    F_U16("Reserved"),
    F_U16("RecipientRowSize"),
    F_SIZED("RecipientRow", "RecipientRowSize", &recipient_row_l),
};
static const struct mp_rop_layout read_recipient_row_l = MP_LAYOUT(read_recipient_row);

/* ---- TypedString (MS-OXCDATA 2.11.1.3... MS-OXCROPS 2.2.6.1.2) ---- */

static const struct mp_rop_field str8[] = {F_STR8("String")};
static const struct mp_rop_field str16[] = {F_STR16("String")};
static const struct mp_rop_layout str8_l = MP_LAYOUT(str8);
static const struct mp_rop_layout str16_l = MP_LAYOUT(str16);
static const struct mp_rop_field typed_string[] = {
    F_U8("StringType", .fmt = MP_FMT_ENUM, .names = string_types),
    F_IF("String8", "StringType", MP_IF_EQ, 0x02, &str8_l),
    F_IF("Reduced", "StringType", MP_IF_EQ, 0x03, &str8_l),
    F_IF("Unicode", "StringType", MP_IF_EQ, 0x04, &str16_l),
};
static const struct mp_rop_layout typed_string_l = MP_LAYOUT(typed_string);

/* The message header shared by RopOpenMessage, RopReloadCachedInformation
 * and RopOpenEmbeddedMessage responses. */
#define MESSAGE_HEADER                                                                             \
	F_BOOL("HasNamedProperties"), F_STRUCT("SubjectPrefix", &typed_string_l),                  \
	    F_STRUCT("NormalizedSubject", &typed_string_l), F_U16("RecipientCount"),               \
	    F_U16("ColumnCount"), F_TAGS("RecipientColumns", "ColumnCount"), F_U8("RowCount"),     \
	    F_ARRAY("RecipientRows", "RowCount", &open_recipient_row_l)

/* ---- RopOpenMessage (0x03), RopReloadCachedInformation (0x10) ---- */

static const struct mp_rop_field open_req[] = {
    RQ_HDR_OUT,         F_U16("CodePageId", .fmt = MP_FMT_HEX),
    F_FID("FolderId"),  F_U8("OpenModeFlags", .fmt = MP_FMT_HEX),
    F_FID("MessageId"),
};
static const struct mp_rop_field message_ok[] = {MESSAGE_HEADER};
static const struct mp_rop_layout message_ok_l = MP_LAYOUT(message_ok);
static const struct mp_rop_field open_rsp[] = {RS_HDR_OUT, IF_OK(&message_ok_l)};

static const struct mp_rop_field reload_req[] = {RQ_HDR, F_U16("Reserved")};
static const struct mp_rop_field reload_rsp[] = {RS_HDR_IN, IF_OK(&message_ok_l)};

/* ---- RopOpenEmbeddedMessage (0x46) ---- */

static const struct mp_rop_field embedded_req[] = {
    RQ_HDR_OUT,
    F_U16("CodePageId", .fmt = MP_FMT_HEX),
    F_U8("OpenModeFlags", .fmt = MP_FMT_HEX),
};
static const struct mp_rop_field embedded_ok[] = {
    F_U8("Reserved"),
    F_FID("MessageId"),
    MESSAGE_HEADER,
};
static const struct mp_rop_layout embedded_ok_l = MP_LAYOUT(embedded_ok);
static const struct mp_rop_field embedded_rsp[] = {RS_HDR_OUT, IF_OK(&embedded_ok_l)};

/* ---- RopCreateMessage (0x06) ---- */

static const struct mp_rop_field create_req[] = {
    RQ_HDR_OUT,
    F_U16("CodePageId", .fmt = MP_FMT_HEX),
    F_FID("FolderId"),
    F_BOOL("AssociatedFlag"),
};
static const struct mp_rop_field mid[] = {F_FID("MessageId")};
static const struct mp_rop_layout mid_l = MP_LAYOUT(mid);
static const struct mp_rop_field create_ok[] = {
    F_BOOL("HasMessageId"),
    F_IF("Id", "HasMessageId", MP_IF_NE, 0, &mid_l),
};
static const struct mp_rop_layout create_ok_l = MP_LAYOUT(create_ok);
static const struct mp_rop_field create_rsp[] = {RS_HDR_OUT, IF_OK(&create_ok_l)};

/* ---- RopSaveChangesMessage (0x0C), RopSaveChangesAttachment (0x25) ---- */

#define RQ_RESP_IN                                                                                 \
	RQ_LOGON, F_U8("ResponseHandleIndex", .role = MP_RR_RESP),                                 \
	    F_U8("InputHandleIndex", .role = MP_RR_IN)
#define RS_RESP F_U8("ResponseHandleIndex", .role = MP_RR_ECHO, .arg = MP_RR_RESP)

static const struct mp_rop_field save_req[] = {
    RQ_RESP_IN,
    F_U8("SaveFlags", .fmt = MP_FMT_FLAGS, .names = save_flags),
};
static const struct mp_rop_field save_ok[] = {F_U8("InputHandleIndex"), F_FID("MessageId")};
static const struct mp_rop_layout save_ok_l = MP_LAYOUT(save_ok);
static const struct mp_rop_field save_rsp[] = {RS_RESP, RS_RET, IF_OK(&save_ok_l)};
static const struct mp_rop_field save_attach_rsp[] = {RS_RESP, RS_RET};

/* ---- Recipients: 0x0D, 0x0E, 0x0F ---- */

static const struct mp_rop_field removeall_req[] = {RQ_HDR, F_U32("Reserved")};

static const struct mp_rop_field modify_req[] = {
    RQ_HDR,
    F_U16("ColumnCount"),
    F_TAGS("RecipientColumns", "ColumnCount"),
    F_U16("RowCount"),
    F_ARRAY("RecipientRows", "RowCount", &modify_recipient_row_l),
};

static const struct mp_rop_field read_req[] = {RQ_HDR, F_U32("RowId"), F_U16("Reserved")};
static const struct mp_rop_field read_ok[] = {
    F_U8("RowCount"),
    F_ARRAY("RecipientRows", "RowCount", &read_recipient_row_l),
};
static const struct mp_rop_layout read_ok_l = MP_LAYOUT(read_ok);
static const struct mp_rop_field read_rsp[] = {RS_HDR_IN, IF_OK(&read_ok_l)};

/* ---- Status and read flags: 0x1F, 0x20, 0x66, 0x11 ---- */

static const struct mp_rop_field status[] = {F_U32("MessageStatusFlags", .fmt = MP_FMT_HEX)};
static const struct mp_rop_layout status_l = MP_LAYOUT(status);
static const struct mp_rop_field status_rsp[] = {RS_HDR_IN, IF_OK(&status_l)};
static const struct mp_rop_field getstatus_req[] = {RQ_HDR, F_FID("MessageId")};
static const struct mp_rop_field setstatus_req[] = {
    RQ_HDR,
    F_FID("MessageId"),
    F_U32("MessageStatusFlags", .fmt = MP_FMT_HEX),
    F_U32("MessageStatusMask", .fmt = MP_FMT_HEX),
};

static const struct mp_rop_field setreadflags_req[] = {
    RQ_HDR,
    F_BOOL("WantAsynchronous"),
    F_U8("ReadFlags", .fmt = MP_FMT_FLAGS, .names = read_flags),
    F_U16("MessageIdCount"),
    F_ARRAY("MessageIds", "MessageIdCount", &mid_l),
};
static const struct mp_rop_field partial_rsp[] = {RS_HDR_IN, F_BOOL("PartialCompletion")};

/* ClientData is sent for public-folder logons (MS-OXCROPS 2.2.6.11.1). */
static bool public_logon(const struct mp_rop_dctx *ctx, bool *known)
{
	const struct mp_rop_val *logon = mp_rop_scope_find(ctx->scope, "LogonId");
	int flags = logon ? mp_rop_logon_flags_of(ctx, (uint8_t)logon->u) : -1;
	if (flags < 0) {
		*known = false;
		return false;
	}
	return (flags & 0x01) == 0;
}

static const struct mp_rop_field client_data[] = {F_FIXED("ClientData", 24)};
static const struct mp_rop_layout client_data_l = MP_LAYOUT(client_data);
static const struct mp_rop_field setreadflag_req[] = {
    RQ_RESP_IN,
    F_U8("ReadFlags", .fmt = MP_FMT_FLAGS, .names = read_flags),
    F_IF_TEST("PublicFolder", public_logon, &client_data_l),
};
static const struct mp_rop_field changed[] = {F_U8("LogonId"), F_FIXED("ClientData", 24)};
static const struct mp_rop_layout changed_l = MP_LAYOUT(changed);
static const struct mp_rop_field setreadflag_ok[] = {
    F_BOOL("ReadStatusChanged"),
    F_IF("Changed", "ReadStatusChanged", MP_IF_NE, 0, &changed_l),
};
static const struct mp_rop_layout setreadflag_ok_l = MP_LAYOUT(setreadflag_ok);
static const struct mp_rop_field setreadflag_rsp[] = {RS_RESP, RS_RET, IF_OK(&setreadflag_ok_l)};

/* ---- Attachments: 0x21, 0x22, 0x23, 0x24, 0x52 ---- */

static const struct mp_rop_field attachtable_req[] = {
    RQ_HDR_OUT,
    F_U8("TableFlags", .fmt = MP_FMT_HEX),
};
static const struct mp_rop_field openattach_req[] = {
    RQ_HDR_OUT,
    F_U8("OpenAttachmentFlags", .fmt = MP_FMT_HEX),
    F_U32("AttachmentID"),
};
static const struct mp_rop_field attachid[] = {F_U32("AttachmentID")};
static const struct mp_rop_layout attachid_l = MP_LAYOUT(attachid);
static const struct mp_rop_field createattach_rsp[] = {RS_HDR_OUT, IF_OK(&attachid_l)};
static const struct mp_rop_field deleteattach_req[] = {RQ_HDR, F_U32("AttachmentID")};
static const struct mp_rop_field validattach_ok[] = {
    F_U16("AttachmentIdCount"),
    F_ARRAY("AttachmentIdArray", "AttachmentIdCount", &attachid_l),
};
static const struct mp_rop_layout validattach_ok_l = MP_LAYOUT(validattach_ok);
static const struct mp_rop_field validattach_rsp[] = {RS_HDR_IN, IF_OK(&validattach_ok_l)};

#define L(x) static const struct mp_rop_layout x##_l = MP_LAYOUT(x)
L(open_req);
L(open_rsp);
L(reload_req);
L(reload_rsp);
L(embedded_req);
L(embedded_rsp);
L(create_req);
L(create_rsp);
L(save_req);
L(save_rsp);
L(save_attach_rsp);
L(removeall_req);
L(modify_req);
L(read_req);
L(read_rsp);
L(status_rsp);
L(getstatus_req);
L(setstatus_req);
L(setreadflags_req);
L(partial_rsp);
L(setreadflag_req);
L(setreadflag_rsp);
L(attachtable_req);
L(openattach_req);
L(createattach_rsp);
L(deleteattach_req);
L(validattach_rsp);
#undef L

const struct mp_rop_desc mp_rop_family_message[] = {
    ROP(0x03, "RopOpenMessage", &open_req_l, &open_rsp_l),
    ROP(0x06, "RopCreateMessage", &create_req_l, &create_rsp_l),
    ROP(0x0C, "RopSaveChangesMessage", &save_req_l, &save_rsp_l),
    ROP(0x0D, "RopRemoveAllRecipients", &removeall_req_l, &mp_rop_rsp_hdr_in),
    ROP(0x0E, "RopModifyRecipients", &modify_req_l, &mp_rop_rsp_hdr_in),
    ROP(0x0F, "RopReadRecipients", &read_req_l, &read_rsp_l),
    ROP(0x10, "RopReloadCachedInformation", &reload_req_l, &reload_rsp_l),
    ROP(0x1F, "RopGetMessageStatus", &getstatus_req_l, &status_rsp_l),
    ROP(0x20, "RopSetMessageStatus", &setstatus_req_l, &status_rsp_l),
    ROP(0x66, "RopSetReadFlags", &setreadflags_req_l, &partial_rsp_l),
    ROP(0x11, "RopSetMessageReadFlag", &setreadflag_req_l, &setreadflag_rsp_l),
    ROP(0x21, "RopGetAttachmentTable", &attachtable_req_l, &mp_rop_rsp_hdr_out),
    ROP(0x22, "RopOpenAttachment", &openattach_req_l, &mp_rop_rsp_hdr_out),
    ROP(0x23, "RopCreateAttachment", &mp_rop_req_hdr_out, &createattach_rsp_l),
    ROP(0x24, "RopDeleteAttachment", &deleteattach_req_l, &mp_rop_rsp_hdr_in),
    ROP(0x25, "RopSaveChangesAttachment", &save_req_l, &save_attach_rsp_l),
    ROP(0x46, "RopOpenEmbeddedMessage", &embedded_req_l, &embedded_rsp_l),
    ROP(0x52, "RopGetValidAttachments", &mp_rop_req_hdr, &validattach_rsp_l),
    {.name = NULL},
};
