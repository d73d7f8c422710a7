/*
 * Message ROPs (MS-OXCMSG, MS-OXOMSG, MS-OXCROPS 2.2.6, 2.2.7): open,
 * create, save, read flags, recipients, submission and attachments.
 *
 * A message opened read/write is edited in a draft copy (the store's
 * mp_store_msg_edit): RopSaveChangesMessage replaces the original with it,
 * RopRelease without saving drops it, as does releasing a created message
 * never saved. Read flags go to the original at once. Submission delivers a copy to the Inbox
 * (receive folder of the message class) of every recipient that is a user of this store, then moves
 * the message to Sent Items; other recipients are dropped without a non-delivery report.
 */
#include "server/rop_server.h"

#include "mapi/rop_desc.h"
#include "util/status.h"

#include <string.h>
#include <strings.h>
#include <talloc.h>

#define OPEN_READWRITE 0x01
#define OPEN_BESTACCESS 0x03
#define READ_CLEAR 0x04
#define CP_UNICODE 0x04B0
/* RecipientFlags (MS-OXCDATA 2.8.3.1). */
#define RF_TYPE_MASK 0x0007
#define RF_X500 0x0001
#define RF_E 0x0008
#define RF_D 0x0010
#define RF_U 0x0200
#define RF_O 0x8000

static void put_u64(struct mp_wbuf *wb, uint64_t v)
{
	mp_wb_u32(wb, (uint32_t)v);
	mp_wb_u32(wb, (uint32_t)(v >> 32));
}

static bool place(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_sobj *o)
{
	int out = mp_rop_output_index(rop);
	if (out < 0 || (size_t)out >= c->nhandles)
		return false;
	mp_srv_obj_free(c->s, mp_srv_obj_at(c, out), c->txn);
	c->handles[out] = o->handle;
	return true;
}

static bool out_ok(struct mp_rop_ctx *c, const struct mp_rop *rop)
{
	int out = mp_rop_output_index(rop);
	return out >= 0 && (size_t)out < c->nhandles;
}

/* ---- Recipient rows ---- */

static const uint32_t recip_cols[] = {MP_TAG_SMTP_ADDRESS};

/* A string property as UTF-16LE with terminator, or NULL. */
static const uint8_t *wstr(struct mp_rop_ctx *c, const struct mp_store_obj *o, uint32_t tag,
                           size_t *len)
{
	char *s = NULL;
	uint8_t *w = NULL;
	if (mp_store_prop_get_string(c->txn, o, tag, c->mem, &s) != MP_OK ||
	    mp_store_utf8_to_utf16(c->mem, s, strlen(s), true, &w, len) != MP_OK)
		return NULL;
	*len += 2;
	return w;
}

/* RecipientRow (MS-OXCDATA 2.8.3.1) of recipient `row` of message `mid`. */
static void recipient_row(struct mp_rop_ctx *c, uint32_t mbox, uint64_t mid, uint32_t row,
                          struct mp_wbuf *wb)
{
	struct mp_store_obj r = mp_store_obj_recip(mbox, mid, row);
	size_t elen = 0, dlen = 0;
	const uint8_t *email = wstr(c, &r, MP_TAG_SMTP_ADDRESS, &elen);
	if (!email)
		email = wstr(c, &r, MP_TAG_EMAIL_ADDRESS, &elen);
	const uint8_t *display = wstr(c, &r, MP_TAG_DISPLAY_NAME, &dlen);
	char *addrtype = NULL;
	if (mp_store_prop_get_string(c->txn, &r, MP_TAG_ADDRTYPE, c->mem, &addrtype) != MP_OK)
		addrtype = "SMTP";
	uint16_t flags = RF_O | RF_U | (email ? RF_E : 0) | (display ? RF_D : 0);
	mp_wb_u16(wb, flags);
	mp_wb_bytes(wb, addrtype, strlen(addrtype) + 1);
	if (email)
		mp_wb_bytes(wb, email, elen);
	if (display)
		mp_wb_bytes(wb, display, dlen);
	mp_wb_u16(wb, (uint16_t)(sizeof(recip_cols) / 4));
	mp_srv_write_row(c, &r, recip_cols, sizeof(recip_cols) / 4, wb);
}

/* One recipient row with its header; false when it does not fit. */
static void recipient_entry(struct mp_rop_ctx *c, uint32_t mbox, uint64_t mid, uint32_t row,
                            bool with_id, struct mp_wbuf *wb)
{
	struct mp_store_obj r = mp_store_obj_recip(mbox, mid, row);
	uint32_t type = 1;
	struct mp_wbuf body;
	mp_store_prop_get_u32(c->txn, &r, MP_TAG_RECIPIENT_TYPE, &type);
	mp_wb_init(&body);
	recipient_row(c, mbox, mid, row, &body);
	if (with_id)
		mp_wb_u32(wb, row);
	mp_wb_u8(wb, (uint8_t)type);
	mp_wb_u16(wb, CP_UNICODE);
	mp_wb_u16(wb, 0);
	mp_wb_u16(wb, (uint16_t)body.len);
	mp_wb_bytes(wb, body.data, body.len);
	mp_wb_free(&body);
}

/* TypedString (MS-OXCROPS 2.2.6.1.2.1): Unicode, or NotPresent. */
static void typed_string(struct mp_rop_ctx *c, const struct mp_store_obj *o, uint32_t tag,
                         struct mp_wbuf *wb)
{
	size_t len = 0;
	const uint8_t *w = wstr(c, o, tag, &len);
	if (!w) {
		mp_wb_u8(wb, 0x00);
	} else if (len <= 2) {
		mp_wb_u8(wb, 0x01);
	} else {
		mp_wb_u8(wb, 0x04);
		mp_wb_bytes(wb, w, len);
	}
}

/* ---- Open, create, save ---- */

static struct mp_sobj *new_message(struct mp_rop_ctx *c, const struct mp_sobj *p, uint64_t mid,
                                   bool writable)
{
	struct mp_sobj *o = mp_srv_obj_new(c, MP_SOBJ_MESSAGE);
	if (!o)
		return NULL;
	o->mbox = p->mbox;
	o->logon_id = p->logon_id;
	o->mid = mid;
	o->writable = writable;
	return o;
}

void mp_srv_rop_open_message(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *p = mp_srv_obj_at(c, mp_rop_input_index(rop));
	struct mp_store_msg_info mi;
	uint32_t *rows = NULL;
	size_t nrows = 0;
	if (!p || (p->type != MP_SOBJ_LOGON && p->type != MP_SOBJ_FOLDER) || !out_ok(c, rop)) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	uint64_t fid = mp_srv_uint(rop, "FolderId"), mid = mp_srv_uint(rop, "MessageId");
	uint8_t mode = (uint8_t)mp_srv_uint(rop, "OpenModeFlags");
	if (mp_store_msg_get(c->txn, p->mbox, mid, &mi) != MP_OK || mi.fid != fid ||
	    mi.state != MP_STORE_MSG_SAVED ||
	    mp_store_recip_list(c->txn, p->mbox, mid, c->mem, &rows, &nrows) != MP_OK) {
		mp_srv_rsp_error(wb, rop, MP_EC_NOT_FOUND);
		return;
	}
	bool rw = (mode & 0x03) == OPEN_READWRITE || (mode & 0x03) == OPEN_BESTACCESS;
	uint64_t draft = 0;
	if (rw && mp_store_msg_edit(c->txn, p->mbox, mid, &draft) != MP_OK) {
		mp_srv_rsp_error(wb, rop, mp_srv_ec(c));
		return;
	}
	struct mp_sobj *o = new_message(c, p, rw ? draft : mid, rw);
	if (!o) {
		if (rw)
			mp_store_msg_discard(c->txn, p->mbox, draft);
		mp_srv_rsp_error(wb, rop, MP_EC_OOM);
		return;
	}
	o->fid = fid;
	o->orig_mid = rw ? mid : 0;
	o->unsaved = rw;
	place(c, rop, o);
	struct mp_store_obj m = mp_store_obj_message(p->mbox, mid);
	uint16_t *named = NULL;
	size_t nnamed = 0;
	mp_store_named_list(c->txn, p->mbox, c->mem, &named, &nnamed);
	size_t start = wb->len;
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_output_index(rop), 0);
	mp_wb_u8(wb, nnamed != 0);
	typed_string(c, &m, MP_TAG_SUBJECT_PREFIX, wb);
	typed_string(c, &m, MP_TAG_NORMALIZED_SUBJECT, wb);
	mp_wb_u16(wb, (uint16_t)nrows);
	mp_wb_u16(wb, (uint16_t)(sizeof(recip_cols) / 4));
	for (size_t i = 0; i < sizeof(recip_cols) / 4; i++)
		mp_wb_u32(wb, recip_cols[i]);
	size_t count_at = wb->len, count = 0;
	mp_wb_u8(wb, 0);
	for (size_t i = 0; i < nrows && count < 255; i++) {
		size_t mark = wb->len;
		recipient_entry(c, p->mbox, mid, rows[i], false, wb);
		if (wb->len - start > c->budget) {
			wb->len = mark; /* the rest: RopReadRecipients */
			break;
		}
		count++;
	}
	if (!wb->bad)
		wb->data[count_at] = (uint8_t)count;
}

void mp_srv_rop_create_message(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *p = mp_srv_obj_at(c, mp_rop_input_index(rop));
	uint64_t mid = 0;
	if (!p || (p->type != MP_SOBJ_LOGON && p->type != MP_SOBJ_FOLDER) || !out_ok(c, rop)) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	uint64_t fid = mp_srv_uint(rop, "FolderId");
	bool assoc = mp_srv_uint(rop, "AssociatedFlag") != 0;
	if (mp_store_msg_create(c->txn, p->mbox, fid, assoc, &mid) != MP_OK) {
		mp_srv_rsp_error(wb, rop, mp_srv_ec(c));
		return;
	}
	struct mp_sobj *o = new_message(c, p, mid, true);
	if (!o) {
		mp_store_msg_discard(c->txn, p->mbox, mid);
		mp_srv_rsp_error(wb, rop, MP_EC_OOM);
		return;
	}
	o->fid = fid;
	o->assoc = assoc;
	o->unsaved = true;
	place(c, rop, o);
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_output_index(rop), 0);
	mp_wb_u8(wb, 0); /* HasMessageId: the id is final only once saved */
}

static int resp_index(const struct mp_rop *rop)
{
	return (int)mp_srv_uint(rop, "ResponseHandleIndex");
}

static void resp_error(struct mp_wbuf *wb, const struct mp_rop *rop, uint32_t ec)
{
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)resp_index(rop), ec);
}

void mp_srv_rop_save_message(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *o = mp_srv_input(c, rop, MP_SOBJ_MESSAGE);
	uint64_t saved = 0;
	if (!o) {
		resp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	if (!o->writable) {
		resp_error(wb, rop, MP_EC_ACCESS_DENIED);
		return;
	}
	if (mp_store_msg_save(c->txn, o->mbox, o->mid, &saved) != MP_OK) {
		resp_error(wb, rop, mp_srv_ec(c));
		return;
	}
	o->mid = saved;
	o->orig_mid = 0;
	o->unsaved = false;
	resp_error(wb, rop, 0);
	mp_wb_u8(wb, (uint8_t)mp_rop_input_index(rop));
	put_u64(wb, saved);
}

/* ---- Read flags ---- */

void mp_srv_rop_set_read_flag(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *o = mp_srv_input(c, rop, MP_SOBJ_MESSAGE);
	if (!o) {
		resp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	bool read = !(mp_srv_uint(rop, "ReadFlags") & READ_CLEAR);
	/* The saved message at once, and the draft so that saving keeps it. */
	if ((o->orig_mid &&
	     mp_store_msg_set_read(c->txn, o->mbox, o->orig_mid, read, NULL) != MP_OK) ||
	    mp_store_msg_set_read(c->txn, o->mbox, o->mid, read, NULL) != MP_OK) {
		resp_error(wb, rop, mp_srv_ec(c));
		return;
	}
	resp_error(wb, rop, 0);
	mp_wb_u8(wb, 0); /* ReadStatusChanged: only public folders report it */
}

void mp_srv_rop_set_read_flags(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *f = mp_srv_input(c, rop, MP_SOBJ_FOLDER);
	const struct mp_rop_val *arr = mp_rop_field(rop, "MessageIds");
	bool partial = false;
	if (!f) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	bool read = !(mp_srv_uint(rop, "ReadFlags") & READ_CLEAR);
	uint64_t *ids = NULL;
	size_t n = 0;
	if (arr && arr->n) {
		struct mp_rop_vals *const *e = arr->p;
		ids = talloc_array(c->mem, uint64_t, arr->n);
		if (!ids) {
			mp_srv_rsp_error(wb, rop, MP_EC_OOM);
			return;
		}
		for (n = 0; n < arr->n; n++)
			ids[n] = e[n]->v[0].u;
	} else if (mp_store_folder_contents(c->txn, f->mbox, f->fid, false, c->mem, &ids, &n) !=
	           MP_OK) {
		mp_srv_rsp_error(wb, rop, mp_srv_ec(c));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct mp_store_msg_info mi;
		if (mp_store_msg_get(c->txn, f->mbox, ids[i], &mi) != MP_OK || mi.fid != f->fid ||
		    mp_store_msg_set_read(c->txn, f->mbox, ids[i], read, NULL) != MP_OK)
			partial = true;
	}
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), 0);
	mp_wb_u8(wb, partial);
}

/* ---- Recipients ---- */

static bool add_prop(void *mem, struct mp_store_prop *arr, size_t *n, uint32_t tag,
                     const uint8_t *data, size_t len)
{
	arr[*n].tag = tag;
	arr[*n].form = MP_STORE_VAL_WIRE;
	arr[*n].data = data;
	arr[*n].len = len;
	(*n)++;
	return true;
}

static bool add_pv(void *mem, struct mp_store_prop *arr, size_t *n, uint32_t tag,
                   const struct mp_propval *pv)
{
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	if (mp_pv_write(&wb, MP_PV_ROP, pv) != MP_OK || wb.bad) {
		mp_wb_free(&wb);
		return false;
	}
	uint8_t *copy = talloc_memdup(mem, wb.data ? wb.data : (uint8_t *)"", wb.len ? wb.len : 1);
	size_t len = wb.len;
	mp_wb_free(&wb);
	return copy && add_prop(mem, arr, n, tag, copy, len);
}

/* One RopModifyRecipients row: its RecipientRow as store properties. */
static int modify_row(struct mp_rop_ctx *c, struct mp_sobj *o, const struct mp_rop_vals *row)
{
	const struct mp_rop_val *rid = mp_srv_sub(row, "RowId");
	const struct mp_rop_val *type = mp_srv_sub(row, "RecipientType");
	const struct mp_rop_val *body = mp_srv_sub(row, "RecipientRow");
	if (!rid || !type || !body)
		return MP_ERR_PARSE;
	if (body->n == 0)
		return mp_store_recip_delete(c->txn, o->mbox, o->mid, (uint32_t)rid->u) == MP_OK ||
		               mp_store_txn_ec(c->txn) == MP_EC_NOT_FOUND
		           ? MP_OK
		           : MP_ERR_PROTO;
	const struct mp_rop_vals *rr = body->p;
	if (!rr)
		return MP_ERR_PARSE;
	const struct mp_rop_val *flags = mp_srv_sub(rr, "RecipientFlags");
	bool unicode = flags && (flags->u & RF_U);
	uint32_t stype = unicode ? MP_PT_STRING : MP_PT_STRING8;
	const struct mp_rop_val *props = mp_srv_sub(rr, "RecipientProperties");
	const struct mp_rop_rows *pr = props ? props->p : NULL;
	size_t max = 8 + (pr && pr->count ? pr->rows[0].count : 0), n = 0;
	struct mp_store_prop *arr = talloc_zero_array(c->mem, struct mp_store_prop, max);
	uint32_t t32 = (uint32_t)type->u;
	uint8_t *tb = talloc_memdup(c->mem, &t32, 4);
	if (!arr || !tb)
		return MP_ERR_NOMEM;
	add_prop(c->mem, arr, &n, MP_TAG_RECIPIENT_TYPE, tb, 4);
	const struct mp_rop_val *v;
	if ((v = mp_srv_sub(rr, "DisplayName")) && v->bytes)
		add_prop(c->mem, arr, &n, MP_PROP_TAG(0x3001, stype), v->bytes, v->n);
	const struct mp_rop_val *email = mp_srv_sub(rr, "EmailAddress");
	const struct mp_rop_val *at = mp_srv_sub(rr, "AddressType");
	const struct mp_rop_val *x500 = mp_srv_sub(rr, "X500DN");
	if (flags && (flags->u & RF_TYPE_MASK) == RF_X500 && x500 && x500->bytes) {
		add_prop(c->mem, arr, &n, MP_PROP_TAG(0x3002, MP_PT_STRING8), (const uint8_t *)"EX",
		         3);
		add_prop(c->mem, arr, &n, MP_PROP_TAG(0x3003, MP_PT_STRING8), x500->bytes, x500->n);
	} else {
		if (at && at->bytes)
			add_prop(c->mem, arr, &n, MP_PROP_TAG(0x3002, MP_PT_STRING8), at->bytes,
			         at->n);
		if (email && email->bytes) {
			add_prop(c->mem, arr, &n, MP_PROP_TAG(0x3003, stype), email->bytes,
			         email->n);
			if (!at || !at->bytes || strcasecmp((const char *)at->bytes, "SMTP") == 0)
				add_prop(c->mem, arr, &n, MP_PROP_TAG(0x39FE, stype), email->bytes,
				         email->n);
		}
	}
	for (uint32_t i = 0; pr && pr->count && i < pr->rows[0].count && i < pr->ncols; i++) {
		const struct mp_row_value *rv = &pr->rows[0].vals[i];
		uint32_t tag = pr->cols[i];
		bool dup = false;
		if (rv->flag != MP_PV_FLAG_VALUE || mp_store_tag_is_computed(tag))
			continue;
		for (size_t k = 0; k < n; k++)
			if (MP_PROP_ID(arr[k].tag) == MP_PROP_ID(tag))
				dup = true;
		if (!dup && n < max)
			add_pv(c->mem, arr, &n, MP_PROP_TAG(MP_PROP_ID(tag), rv->val.type),
			       &rv->val);
	}
	return mp_store_recip_set(c->txn, o->mbox, o->mid, (uint32_t)rid->u, arr, n);
}

void mp_srv_rop_modify_recipients(struct mp_rop_ctx *c, const struct mp_rop *rop,
                                  struct mp_wbuf *wb)
{
	struct mp_sobj *o = mp_srv_input(c, rop, MP_SOBJ_MESSAGE);
	const struct mp_rop_val *rows = mp_rop_field(rop, "RecipientRows");
	if (!o) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	if (!o->writable) {
		mp_srv_rsp_error(wb, rop, MP_EC_ACCESS_DENIED);
		return;
	}
	struct mp_rop_vals *const *e = rows ? rows->p : NULL;
	for (size_t i = 0; rows && i < rows->n; i++) {
		if (modify_row(c, o, e[i]) != MP_OK) {
			uint32_t ec = mp_store_txn_ec(c->txn);
			mp_srv_rsp_error(wb, rop, ec ? ec : MP_EC_INVALID_PARAM);
			return;
		}
	}
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), 0);
}

void mp_srv_rop_read_recipients(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *o = mp_srv_input(c, rop, MP_SOBJ_MESSAGE);
	uint32_t *rows = NULL;
	size_t nrows = 0, count = 0;
	if (!o) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	uint32_t first = (uint32_t)mp_srv_uint(rop, "RowId");
	if (mp_store_recip_list(c->txn, o->mbox, o->mid, c->mem, &rows, &nrows) != MP_OK) {
		mp_srv_rsp_error(wb, rop, mp_srv_ec(c));
		return;
	}
	size_t start = wb->len;
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), 0);
	size_t count_at = wb->len;
	mp_wb_u8(wb, 0);
	for (size_t i = 0; i < nrows && count < 255; i++) {
		if (rows[i] < first)
			continue;
		size_t mark = wb->len;
		recipient_entry(c, o->mbox, o->mid, rows[i], true, wb);
		if (wb->len - start > c->budget && count > 0) {
			wb->len = mark;
			break;
		}
		count++;
	}
	if (count == 0) {
		wb->len = start;
		mp_srv_rsp_error(wb, rop, MP_EC_NOT_FOUND);
		return;
	}
	if (!wb->bad)
		wb->data[count_at] = (uint8_t)count;
}

void mp_srv_rop_remove_all_recipients(struct mp_rop_ctx *c, const struct mp_rop *rop,
                                      struct mp_wbuf *wb)
{
	struct mp_sobj *o = mp_srv_input(c, rop, MP_SOBJ_MESSAGE);
	if (!o) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	if (!o->writable) {
		mp_srv_rsp_error(wb, rop, MP_EC_ACCESS_DENIED);
		return;
	}
	int rc = mp_store_recip_remove_all(c->txn, o->mbox, o->mid);
	mp_srv_rsp_error(wb, rop, rc == MP_OK ? 0 : mp_srv_ec(c));
}

/* ---- Submission ---- */

/* Copy the properties of one bag to another (values copied first: the
 * store's pointers die at the next write). */
static int copy_bag(struct mp_rop_ctx *c, const struct mp_store_obj *from,
                    const struct mp_store_obj *to)
{
	struct mp_store_prop *props = NULL;
	size_t n = 0;
	int rc = mp_store_prop_list(c->txn, from, c->mem, &props, &n);
	if (rc != MP_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		props[i].data = talloc_memdup(c->mem, props[i].len ? props[i].data : (uint8_t *)"",
		                              props[i].len ? props[i].len : 1);
		if (!props[i].data)
			return MP_ERR_NOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (mp_store_tag_is_computed(props[i].tag) ||
		    MP_PROP_ID(props[i].tag) == MP_PROP_ID(MP_TAG_MESSAGE_FLAGS))
			continue;
		rc = mp_store_prop_put(c->txn, to, &props[i]);
		if (rc != MP_OK)
			return rc;
	}
	return MP_OK;
}

static int deliver(struct mp_rop_ctx *c, uint32_t from_mbox, uint64_t mid, uint32_t to_mbox)
{
	uint64_t fid = 0, nmid = 0;
	char *cls = NULL, *explicit_class = NULL;
	struct mp_store_obj src = mp_store_obj_message(from_mbox, mid);
	uint32_t *rows = NULL, *atts = NULL;
	size_t nrows = 0, natts = 0;
	int rc;
	if (mp_store_prop_get_string(c->txn, &src, MP_TAG_MESSAGE_CLASS, c->mem, &cls) != MP_OK)
		cls = "IPM.Note";
	rc = mp_store_receive_folder_get(c->txn, to_mbox, cls, c->mem, &fid, &explicit_class);
	if (rc == MP_OK)
		rc = mp_store_msg_create(c->txn, to_mbox, fid, false, &nmid);
	if (rc != MP_OK)
		return rc;
	struct mp_store_obj dst = mp_store_obj_message(to_mbox, nmid);
	rc = copy_bag(c, &src, &dst);
	if (rc == MP_OK)
		rc = mp_store_recip_list(c->txn, from_mbox, mid, c->mem, &rows, &nrows);
	for (size_t i = 0; rc == MP_OK && i < nrows; i++) {
		struct mp_store_obj r = mp_store_obj_recip(from_mbox, mid, rows[i]);
		struct mp_store_prop *props = NULL;
		size_t n = 0, k = 0;
		rc = mp_store_prop_list(c->txn, &r, c->mem, &props, &n);
		for (size_t j = 0; rc == MP_OK && j < n; j++) {
			if (mp_store_tag_is_computed(props[j].tag))
				continue;
			props[k] = props[j];
			props[k].data =
			    talloc_memdup(c->mem, props[j].data, props[j].len ? props[j].len : 1);
			if (!props[k].data)
				rc = MP_ERR_NOMEM;
			k++;
		}
		if (rc == MP_OK)
			rc = mp_store_recip_set(c->txn, to_mbox, nmid, rows[i], props, k);
	}
	if (rc == MP_OK)
		rc = mp_store_attach_list(c->txn, from_mbox, mid, c->mem, &atts, &natts);
	for (size_t i = 0; rc == MP_OK && i < natts; i++) {
		uint32_t num = 0;
		rc = mp_store_attach_create(c->txn, to_mbox, nmid, &num);
		struct mp_store_obj a = mp_store_obj_attach(from_mbox, mid, atts[i]);
		struct mp_store_obj b = mp_store_obj_attach(to_mbox, nmid, num);
		if (rc == MP_OK)
			rc = copy_bag(c, &a, &b);
		if (rc == MP_OK)
			rc = mp_store_attach_save(c->txn, to_mbox, nmid, num);
	}
	if (rc == MP_OK)
		rc = mp_store_prop_set_u64(c->txn, &dst, MP_TAG_MESSAGE_DELIVERY_TIME,
		                           mp_store_filetime_now());
	if (rc == MP_OK)
		rc = mp_store_prop_set_u32(c->txn, &dst, MP_TAG_MESSAGE_FLAGS, 0);
	uint64_t saved = 0;
	if (rc == MP_OK)
		rc = mp_store_msg_save(c->txn, to_mbox, nmid, &saved);
	if (rc != MP_OK) {
		mp_store_msg_discard(c->txn, to_mbox, nmid);
		return rc;
	}
	mp_srv_notify_new_mail(to_mbox, fid, saved, 0, cls);
	return MP_OK;
}

/* The local user a recipient names, 0 when none. */
static uint32_t local_user(struct mp_rop_ctx *c, uint32_t mbox, uint64_t mid, uint32_t row)
{
	static const uint32_t tags[] = {MP_TAG_SMTP_ADDRESS, MP_TAG_EMAIL_ADDRESS};
	struct mp_store_obj r = mp_store_obj_recip(mbox, mid, row);
	struct mp_store_user *u = NULL;
	for (size_t i = 0; i < 2; i++) {
		char *s = NULL;
		if (mp_store_prop_get_string(c->txn, &r, tags[i], c->mem, &s) != MP_OK)
			continue;
		if (mp_store_user_by_smtp(c->txn, s, c->mem, &u) == MP_OK ||
		    mp_store_user_by_dn(c->txn, s, c->mem, &u) == MP_OK ||
		    mp_store_user_by_name(c->txn, s, c->mem, &u) == MP_OK)
			return u->id;
	}
	return 0;
}

void mp_srv_rop_submit(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *o = mp_srv_input(c, rop, MP_SOBJ_MESSAGE);
	struct mp_store_mailbox mb;
	struct mp_store_user *me = NULL;
	uint32_t *rows = NULL;
	size_t nrows = 0;
	uint64_t saved = 0, moved = 0;
	if (!o) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	if (!o->writable) {
		mp_srv_rsp_error(wb, rop, MP_EC_ACCESS_DENIED);
		return;
	}
	struct mp_store_obj m = mp_store_obj_message(o->mbox, o->mid);
	int rc = mp_store_recip_list(c->txn, o->mbox, o->mid, c->mem, &rows, &nrows);
	if (rc == MP_OK && nrows == 0) {
		mp_srv_rsp_error(wb, rop, 0x80040607u); /* ecNoRecipients */
		return;
	}
	if (rc == MP_OK)
		rc = mp_store_user_get(c->txn, o->mbox, c->mem, &me);
	if (rc == MP_OK) {
		/* The sender is the mailbox owner. */
		mp_store_prop_set_string(c->txn, &m, MP_TAG_SENDER_NAME, me->display_name);
		mp_store_prop_set_string(c->txn, &m, MP_TAG_SENDER_ADDRTYPE, "SMTP");
		mp_store_prop_set_string(c->txn, &m, MP_TAG_SENDER_EMAIL, me->smtp);
		mp_store_prop_set_string(c->txn, &m, MP_TAG_SENDER_SMTP_ADDRESS, me->smtp);
		mp_store_prop_set_string(c->txn, &m, MP_TAG_SENT_REPRESENTING_NAME,
		                         me->display_name);
		mp_store_prop_set_string(c->txn, &m, MP_TAG_SENT_REPRESENTING_ADDRTYPE, "SMTP");
		mp_store_prop_set_string(c->txn, &m, MP_TAG_SENT_REPRESENTING_EMAIL, me->smtp);
		mp_store_prop_set_string(c->txn, &m, MP_TAG_SENT_REPRESENTING_SMTP, me->smtp);
		uint64_t now = mp_store_filetime_now();
		mp_store_prop_set_u64(c->txn, &m, MP_TAG_CLIENT_SUBMIT_TIME, now);
		/* The Sent Items copy is dated like the delivered ones. */
		mp_store_prop_set_u64(c->txn, &m, MP_TAG_MESSAGE_DELIVERY_TIME, now);
		mp_store_prop_set_u32(c->txn, &m, MP_TAG_MESSAGE_FLAGS, MP_MSGFLAG_READ);
		rc = mp_store_msg_save(c->txn, o->mbox, o->mid, &saved);
	}
	if (rc == MP_OK) {
		o->mid = saved;
		o->orig_mid = 0;
		o->unsaved = false;
	}
	for (size_t i = 0; rc == MP_OK && i < nrows; i++) {
		uint32_t to = local_user(c, o->mbox, o->mid, rows[i]);
		if (to)
			rc = deliver(c, o->mbox, o->mid, to);
	}
	if (rc == MP_OK)
		rc = mp_store_mailbox_get(c->txn, o->mbox, &mb);
	if (rc == MP_OK)
		rc = mp_store_msg_move(c->txn, o->mbox, o->mid, mb.special[MP_STORE_SF_SENT_ITEMS],
		                       &moved);
	if (rc != MP_OK) {
		mp_srv_rsp_error(wb, rop, mp_srv_ec(c));
		return;
	}
	o->mid = moved;
	o->fid = mb.special[MP_STORE_SF_SENT_ITEMS];
	o->writable = false;
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), 0);
}

/* ---- Attachments ---- */

void mp_srv_rop_get_attach_table(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *m = mp_srv_input(c, rop, MP_SOBJ_MESSAGE);
	if (!m || !out_ok(c, rop)) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	struct mp_sobj *t = mp_srv_obj_new(c, MP_SOBJ_TABLE);
	if (!t) {
		mp_srv_rsp_error(wb, rop, MP_EC_OOM);
		return;
	}
	t->mbox = m->mbox;
	t->mid = m->mid;
	t->logon_id = m->logon_id;
	t->tkind = MP_TABLE_ATTACH;
	place(c, rop, t);
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_output_index(rop), 0);
}

static bool attach_exists(struct mp_rop_ctx *c, uint32_t mbox, uint64_t mid, uint32_t num)
{
	uint32_t *nums = NULL;
	size_t n = 0;
	if (mp_store_attach_list(c->txn, mbox, mid, c->mem, &nums, &n) != MP_OK)
		return false;
	for (size_t i = 0; i < n; i++)
		if (nums[i] == num)
			return true;
	return false;
}

static struct mp_sobj *new_attach(struct mp_rop_ctx *c, const struct mp_sobj *m, uint32_t num,
                                  bool writable)
{
	struct mp_sobj *a = mp_srv_obj_new(c, MP_SOBJ_ATTACH);
	if (!a)
		return NULL;
	a->mbox = m->mbox;
	a->mid = m->mid;
	a->num = num;
	a->logon_id = m->logon_id;
	a->writable = writable;
	return a;
}

void mp_srv_rop_open_attach(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *m = mp_srv_input(c, rop, MP_SOBJ_MESSAGE);
	if (!m || !out_ok(c, rop)) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	uint32_t num = (uint32_t)mp_srv_uint(rop, "AttachmentID");
	uint8_t mode = (uint8_t)mp_srv_uint(rop, "OpenAttachmentFlags");
	if (!attach_exists(c, m->mbox, m->mid, num)) {
		mp_srv_rsp_error(wb, rop, MP_EC_NOT_FOUND);
		return;
	}
	bool writable = m->writable && (mode & 0x03) != 0;
	struct mp_sobj *a = new_attach(c, m, num, writable);
	if (!a) {
		mp_srv_rsp_error(wb, rop, MP_EC_OOM);
		return;
	}
	place(c, rop, a);
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_output_index(rop), 0);
}

void mp_srv_rop_create_attach(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *m = mp_srv_input(c, rop, MP_SOBJ_MESSAGE);
	uint32_t num = 0;
	if (!m || !out_ok(c, rop)) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	if (!m->writable) {
		mp_srv_rsp_error(wb, rop, MP_EC_ACCESS_DENIED);
		return;
	}
	if (mp_store_attach_create(c->txn, m->mbox, m->mid, &num) != MP_OK) {
		mp_srv_rsp_error(wb, rop, mp_srv_ec(c));
		return;
	}
	struct mp_sobj *a = new_attach(c, m, num, true);
	if (!a) {
		mp_srv_rsp_error(wb, rop, MP_EC_OOM);
		return;
	}
	place(c, rop, a);
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_output_index(rop), 0);
	mp_wb_u32(wb, num);
}

void mp_srv_rop_save_attach(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *a = mp_srv_input(c, rop, MP_SOBJ_ATTACH);
	if (!a) {
		resp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	if (!a->writable) {
		resp_error(wb, rop, MP_EC_ACCESS_DENIED);
		return;
	}
	int rc = mp_store_attach_save(c->txn, a->mbox, a->mid, a->num);
	resp_error(wb, rop, rc == MP_OK ? 0 : mp_srv_ec(c));
}

void mp_srv_rop_delete_attach(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *m = mp_srv_input(c, rop, MP_SOBJ_MESSAGE);
	if (!m) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	if (!m->writable) {
		mp_srv_rsp_error(wb, rop, MP_EC_ACCESS_DENIED);
		return;
	}
	uint32_t num = (uint32_t)mp_srv_uint(rop, "AttachmentID");
	int rc = attach_exists(c, m->mbox, m->mid, num)
	             ? mp_store_attach_delete(c->txn, m->mbox, m->mid, num)
	             : MP_ERR_NOTFOUND;
	mp_srv_rsp_error(wb, rop, rc == MP_OK ? 0 : MP_EC_NOT_FOUND);
}
