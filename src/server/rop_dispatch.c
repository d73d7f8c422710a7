/*
 * The ROP dispatcher of the EMSMDB server: decodes a ROP request buffer
 * with the ROP codec, runs each ROP against the store in one write
 * transaction, and builds the response buffer (MS-OXCROPS 2.2.1, 3.2.5):
 * responses in request order, the ServerObjectHandleTable echoed with the
 * handles of created objects, RopBufferTooSmall when a response does not
 * fit. Every ROP without a handler answers ecNotSupported in the error
 * format of its descriptor.
 */
#include "server/rop_server.h"

#include "mapi/rop_desc.h"
#include "util/status.h"

#include <string.h>
#include <talloc.h>

static mp_srv_rop_fn *const handlers[256] = {
    [0xFE] = mp_srv_rop_logon,
    [0x27] = mp_srv_rop_get_receive_folder,
    [0x26] = mp_srv_rop_set_receive_folder,
    [0x43] = mp_srv_rop_ltid_from_id,
    [0x44] = mp_srv_rop_id_from_ltid,
    [0x60] = mp_srv_rop_peruser_ltids,
    [0x02] = mp_srv_rop_open_folder,
    [0x1C] = mp_srv_rop_create_folder,
    [0x1D] = mp_srv_rop_delete_folder,
    [0x04] = mp_srv_rop_get_table,
    [0x05] = mp_srv_rop_get_table,
    [0x1E] = mp_srv_rop_delete_messages,
    [0x91] = mp_srv_rop_delete_messages,
    [0x33] = mp_srv_rop_move_copy_messages,
    [0x12] = mp_srv_rop_set_columns,
    [0x13] = mp_srv_rop_sort_table,
    [0x14] = mp_srv_rop_restrict,
    [0x15] = mp_srv_rop_query_rows,
    [0x16] = mp_srv_rop_get_status,
    [0x17] = mp_srv_rop_query_position,
    [0x18] = mp_srv_rop_seek_row,
    [0x19] = mp_srv_rop_seek_row_bookmark,
    [0x1B] = mp_srv_rop_create_bookmark,
    [0x37] = mp_srv_rop_query_columns_all,
    [0x38] = mp_srv_rop_abort,
    [0x4F] = mp_srv_rop_find_row,
    [0x81] = mp_srv_rop_reset_table,
    [0x89] = mp_srv_rop_free_bookmark,
    [0x03] = mp_srv_rop_open_message,
    [0x06] = mp_srv_rop_create_message,
    [0x0C] = mp_srv_rop_save_message,
    [0x0D] = mp_srv_rop_remove_all_recipients,
    [0x0E] = mp_srv_rop_modify_recipients,
    [0x0F] = mp_srv_rop_read_recipients,
    [0x11] = mp_srv_rop_set_read_flag,
    [0x66] = mp_srv_rop_set_read_flags,
    [0x32] = mp_srv_rop_submit,
    [0x21] = mp_srv_rop_get_attach_table,
    [0x22] = mp_srv_rop_open_attach,
    [0x23] = mp_srv_rop_create_attach,
    [0x24] = mp_srv_rop_delete_attach,
    [0x25] = mp_srv_rop_save_attach,
    [0x07] = mp_srv_rop_get_props_specific,
    [0x08] = mp_srv_rop_get_props_all,
    [0x09] = mp_srv_rop_get_props_list,
    [0x0A] = mp_srv_rop_set_props,
    [0x79] = mp_srv_rop_set_props,
    [0x0B] = mp_srv_rop_delete_props,
    [0x7A] = mp_srv_rop_delete_props,
    [0x56] = mp_srv_rop_ids_from_names,
    [0x55] = mp_srv_rop_names_from_ids,
    [0x2B] = mp_srv_rop_open_stream,
    [0x2C] = mp_srv_rop_read_stream,
    [0x2D] = mp_srv_rop_write_stream,
    [0x5D] = mp_srv_rop_commit_stream,
    [0x2E] = mp_srv_rop_seek_stream,
    [0x2F] = mp_srv_rop_set_stream_size,
    [0x5E] = mp_srv_rop_get_stream_size,
    [0x29] = mp_srv_rop_register_notification,
};

/* ---- Objects ---- */

struct mp_sobj *mp_srv_obj_new(struct mp_rop_ctx *c, uint8_t type)
{
	struct mp_emsmdb_sess *s = c->s;
	for (uint32_t i = 0; i < MP_SRV_MAX_OBJECTS; i++) {
		if (s->objs[i])
			continue;
		struct mp_sobj *o = talloc_zero(s, struct mp_sobj);
		if (!o)
			return NULL;
		s->gen = (s->gen + 1) & 0xFFFFFu;
		if (s->gen == 0xFFFFFu)
			s->gen = 1;
		o->type = type;
		o->handle = (s->gen << 12) | i;
		mp_srv_notify_lock();
		s->objs[i] = o;
		mp_srv_notify_unlock();
		return o;
	}
	return NULL;
}

void mp_srv_obj_free(struct mp_emsmdb_sess *s, struct mp_sobj *o, struct mp_store_txn *txn)
{
	if (!o)
		return;
	if (o->type == MP_SOBJ_STREAM && o->dirty && txn) {
		struct mp_rop_ctx c = {.s = s, .txn = txn};
		mp_srv_stream_flush(&c, o);
	}
	/* Unsaved changes go with the handle (MS-OXCMSG 3.2.5.3). Without a
	 * transaction (session end) the store purges them at its next open. */
	if (o->type == MP_SOBJ_MESSAGE && o->unsaved && txn)
		mp_store_msg_discard(txn, o->mbox, o->mid);
	uint32_t slot = o->handle & 0xFFFu;
	if (o->type == MP_SOBJ_NOTIFY)
		mp_srv_notify_forget(s, o->handle);
	mp_srv_notify_lock();
	if (s->objs[slot] == o)
		s->objs[slot] = NULL;
	mp_srv_notify_unlock();
	talloc_free(o);
}

void mp_srv_release_all(struct mp_emsmdb_sess *s)
{
	mp_srv_notify_lock();
	for (uint32_t i = 0; i < MP_SRV_MAX_OBJECTS; i++) {
		talloc_free(s->objs[i]);
		s->objs[i] = NULL;
	}
	s->npending = 0;
	mp_srv_notify_unlock();
}

struct mp_sobj *mp_srv_obj_at(struct mp_rop_ctx *c, int idx)
{
	if (idx < 0 || (size_t)idx >= c->nhandles)
		return NULL;
	uint32_t h = c->handles[idx];
	struct mp_sobj *o = c->s->objs[h & 0xFFFu];
	return o && o->handle == h ? o : NULL;
}

bool mp_srv_obj_bag(const struct mp_sobj *o, struct mp_store_obj *out)
{
	switch (o->type) {
	case MP_SOBJ_LOGON:
		*out = mp_store_obj_mailbox(o->mbox);
		return true;
	case MP_SOBJ_FOLDER:
		*out = mp_store_obj_folder(o->mbox, o->fid);
		return true;
	case MP_SOBJ_MESSAGE:
		*out = mp_store_obj_message(o->mbox, o->mid);
		return true;
	case MP_SOBJ_ATTACH:
		*out = mp_store_obj_attach(o->mbox, o->mid, o->num);
		return true;
	default:
		return false;
	}
}

/* ---- Response helpers ---- */

void mp_srv_rsp_hdr(struct mp_wbuf *wb, uint8_t ropid, uint8_t idx, uint32_t ec)
{
	mp_wb_u8(wb, ropid);
	mp_wb_u8(wb, idx);
	mp_wb_u32(wb, ec);
}

/* The request's value of the role a response echoes. */
static int echo_index(const struct mp_rop *rop, uint64_t role)
{
	const struct mp_rop_layout *l = rop->desc ? rop->desc->req : NULL;
	for (uint16_t i = 0; l && rop->vals && i < l->n; i++)
		if (l->f[i].role == role)
			return (int)rop->vals->v[i].u;
	return 0;
}

/*
 * Error variant of a response, from its descriptor: the echoed handle
 * index, ReturnValue, then the fields present whatever the result (say
 * PartialCompletion) as zero; parts conditional on ReturnValue appear only
 * when their condition holds for `ec` (none of ours do).
 */
void mp_srv_rsp_error(struct mp_wbuf *wb, const struct mp_rop *rop, uint32_t ec)
{
	const struct mp_rop_layout *l = rop->desc ? rop->desc->rsp : NULL;
	mp_wb_u8(wb, rop->id);
	if (!l) {
		mp_wb_u8(wb, (uint8_t)echo_index(rop, MP_RR_IN));
		mp_wb_u32(wb, ec);
		return;
	}
	for (uint16_t i = 0; i < l->n; i++) {
		const struct mp_rop_field *f = &l->f[i];
		if (f->role == MP_RR_ECHO) {
			mp_wb_u8(wb, (uint8_t)echo_index(rop, f->arg));
		} else if (f->role == MP_RR_RET) {
			mp_wb_u32(wb, ec);
		} else if (f->kind == MP_RF_IF) {
			continue;
		} else if (f->kind == MP_RF_U8) {
			mp_wb_u8(wb, 0);
		} else if (f->kind == MP_RF_U16) {
			mp_wb_u16(wb, 0);
		} else if (f->kind == MP_RF_U32) {
			mp_wb_u32(wb, 0);
		} else {
			break;
		}
	}
}

uint32_t mp_srv_ec(struct mp_rop_ctx *c)
{
	uint32_t ec = mp_store_txn_ec(c->txn);
	return ec ? ec : MP_EC_ERROR;
}

uint64_t mp_srv_uint(const struct mp_rop *rop, const char *name)
{
	uint64_t v = 0;
	mp_rop_get_uint(rop, name, &v);
	return v;
}

const struct mp_rop_val *mp_srv_sub(const struct mp_rop_vals *vals, const char *name)
{
	if (!vals)
		return NULL;
	for (uint16_t i = 0; i < vals->layout->n; i++) {
		const struct mp_rop_field *f = &vals->layout->f[i];
		if (strcmp(f->name, name) == 0)
			return &vals->v[i];
		if (f->kind == MP_RF_IF && vals->v[i].present) {
			const struct mp_rop_val *v = mp_srv_sub(vals->v[i].p, name);
			if (v)
				return v;
		}
	}
	return NULL;
}

char *mp_srv_str(void *mem, const struct mp_rop_val *v, bool utf16)
{
	char *out = NULL;
	if (!v || !v->bytes)
		return NULL;
	if (!utf16)
		return talloc_strndup(mem, (const char *)v->bytes, v->n ? v->n - 1 : 0);
	if (mp_store_utf16_to_utf8(mem, v->bytes, v->n >= 2 ? v->n - 2 : 0, &out) != MP_OK)
		return NULL;
	return out;
}

/* ---- Rows ---- */

static bool wire_value_ok(const struct mp_store_prop *p, uint32_t col, size_t max_value)
{
	if (p->form != MP_STORE_VAL_WIRE)
		return false;
	if (MP_PROP_TYPE(col) & MP_PT_MVI)
		return false;
	return p->len <= max_value;
}

int mp_srv_write_row_limited(struct mp_rop_ctx *c, const struct mp_store_obj *obj,
                             const uint32_t *tags, uint32_t n, size_t max_value,
                             struct mp_wbuf *wb)
{
	if (!max_value || max_value > MP_SRV_MAX_ROW_VALUE)
		max_value = MP_SRV_MAX_ROW_VALUE;
	struct mp_store_prop *props = talloc_zero_array(c->mem, struct mp_store_prop, n ? n : 1);
	if (!props)
		return MP_ERR_NOMEM;
	int rc = n ? mp_store_props_get(c->txn, obj, tags, n, c->mem, props) : MP_OK;
	if (rc != MP_OK) {
		for (uint32_t i = 0; i < n; i++)
			props[i].form = MP_STORE_VAL_NONE;
	}
	bool flagged = false;
	for (uint32_t i = 0; i < n; i++)
		if (!wire_value_ok(&props[i], tags[i], max_value))
			flagged = true;
	mp_wb_u8(wb, flagged ? 0x01 : 0x00);
	for (uint32_t i = 0; i < n; i++) {
		const struct mp_store_prop *p = &props[i];
		bool ok = wire_value_ok(p, tags[i], max_value);
		bool untyped = MP_PROP_TYPE(tags[i]) == MP_PT_UNSPECIFIED;
		if (untyped)
			mp_wb_u16(wb, ok ? MP_PROP_TYPE(p->tag) : MP_PT_ERRORCODE);
		if (flagged)
			mp_wb_u8(wb, ok ? 0x00 : 0x0A);
		if (ok)
			mp_wb_bytes(wb, p->data, p->len);
		else /* too big for a row: the client opens a stream */
			mp_wb_u32(wb, p->form == MP_STORE_VAL_RAW ||
					      (p->form == MP_STORE_VAL_WIRE && p->len > max_value)
				              ? MP_EC_OOM
				              : MP_EC_NOT_FOUND);
	}
	return wb->bad ? MP_ERR_NOMEM : MP_OK;
}

int mp_srv_write_row(struct mp_rop_ctx *c, const struct mp_store_obj *obj, const uint32_t *tags,
                     uint32_t n, struct mp_wbuf *wb)
{
	return mp_srv_write_row_limited(c, obj, tags, n, 0, wb);
}

/* ---- The buffer ---- */

static void buffer_too_small(struct mp_wbuf *wb, size_t needed, const struct mp_rop_buf *buf,
                             const struct mp_rop *rop)
{
	const uint8_t *bytes = NULL;
	size_t len = 0, off = 0;
	mp_wb_u8(wb, MP_ROPID_BUFFERTOOSMALL);
	mp_wb_u16(wb, (uint16_t)(needed > 0xFFFF ? 0xFFFF : needed));
	/* `off` counts from the start of the buffer (RopSize included). */
	if (mp_rop_bytes(rop, &bytes, &len, &off) && off >= 2 && off <= buf->rop_size)
		mp_wb_bytes(wb, buf->data + off, buf->rop_size - off);
}

int mp_srv_rop_run(struct mp_emsmdb_sess *s, const uint8_t *in, size_t len, size_t max_out,
                   struct mp_wbuf *out, uint32_t *ec)
{
	void *mem = talloc_new(NULL);
	struct mp_rop_buf *buf = NULL;
	struct mp_rop_ctx c = {.s = s, .mem = mem};
	struct mp_wbuf rops;
	int rc;

	*ec = 0;
	if (!mem)
		return MP_ERR_NOMEM;
	rc = mp_rop_buf_decode(mem, in, len, false, NULL, s->rsess, &buf);
	if (rc != MP_OK) {
		*ec = MP_EC_RPC_FORMAT;
		talloc_free(mem);
		return rc;
	}
	if (buf->n_handles > 255 || buf->count > 255) {
		*ec = MP_EC_RPC_FORMAT;
		talloc_free(mem);
		return MP_ERR_PARSE;
	}
	c.nhandles = buf->n_handles;
	c.handles = talloc_zero_array(mem, uint32_t, c.nhandles ? c.nhandles : 1);
	if (!c.handles) {
		*ec = MP_EC_ERROR;
		talloc_free(mem);
		return MP_ERR_NOMEM;
	}
	if (c.nhandles)
		memcpy(c.handles, buf->handles, c.nhandles * 4);
	rc = mp_store_txn_begin(s->st, true, &c.txn);
	if (rc != MP_OK) {
		*ec = MP_EC_ERROR;
		talloc_free(mem);
		return rc;
	}
	if (max_out > 0x8000)
		max_out = 0x8000; /* one RPC_HEADER_EXT payload */
	size_t fixed = 2 + 4 * c.nhandles;
	mp_wb_init(&rops);
	for (size_t i = 0; i < buf->count; i++) {
		const struct mp_rop *rop = buf->rops[i];
		if (rop->opaque)
			break; /* unknown RopId or malformed ROP: the rest is not ours to guess */
		size_t before = rops.len;
		size_t room = max_out > fixed + before ? max_out - fixed - before : 0;
		c.budget = room;
		if (rop->id == MP_ROPID_RELEASE) {
			struct mp_sobj *o = mp_srv_obj_at(&c, mp_rop_input_index(rop));
			mp_srv_obj_free(s, o, c.txn);
			continue;
		}
		mp_srv_rop_fn *fn = handlers[rop->id];
		if (!rop->desc || !rop->desc->req)
			break;
		if (fn)
			fn(&c, rop, &rops);
		else
			mp_srv_rsp_error(&rops, rop, MP_EC_NOT_SUPPORTED);
		if (rops.bad) {
			rc = MP_ERR_NOMEM;
			break;
		}
		size_t took = rops.len - before;
		if (took > room) {
			/* Drop the response; tell the client what it needs. */
			rops.len = before;
			buffer_too_small(&rops, took + fixed + before, buf, rop);
			if (rops.len + fixed > max_out)
				rops.len = before;
			break;
		}
	}
	if (rc == MP_OK && !(rops.len && rops.data[0] == MP_ROPID_BUFFERTOOSMALL))
		/* Pending notifications follow the responses, as far as they fit. */
		mp_srv_notify_flush(s, &rops,
		                    max_out > fixed + rops.len ? max_out - fixed - rops.len : 0);
	if (rc == MP_OK)
		rc = mp_store_txn_commit(c.txn);
	else
		mp_store_txn_abort(c.txn);
	if (rc == MP_OK && rops.len + 2 <= 0xFFFF) {
		mp_wb_u16(out, (uint16_t)(rops.len + 2));
		mp_wb_bytes(out, rops.data, rops.len);
		for (size_t i = 0; i < c.nhandles; i++)
			mp_wb_u32(out, c.handles[i]);
		if (out->bad)
			rc = MP_ERR_NOMEM;
	} else if (rc == MP_OK) {
		rc = MP_ERR_LIMIT;
	}
	if (rc != MP_OK)
		*ec = MP_EC_ERROR;
	mp_wb_free(&rops);
	talloc_free(mem);
	return rc;
}

struct mp_sobj *mp_srv_input(struct mp_rop_ctx *c, const struct mp_rop *rop, uint8_t type)
{
	struct mp_sobj *o = mp_srv_obj_at(c, mp_rop_input_index(rop));
	if (!o || (type && o->type != type))
		return NULL;
	return o;
}
