/*
 * Stream ROPs (MS-OXCPRPT 2.2.9..., MS-OXCROPS 2.2.9) over PtypBinary and
 * string properties. An open stream holds the whole value in memory (up to
 * MP_STORE_MAX_STREAM bytes); writes change the buffer and reach the store
 * on RopCommitStream or when the stream is released, as MAPI's transacted
 * streams do.
 */
#include "server/rop_server.h"

#include "util/status.h"

#include <string.h>
#include <talloc.h>

#define STREAM_READONLY 0x00
#define STREAM_READWRITE 0x01
#define STREAM_CREATE 0x02
#define READ_MAXIMUM 0xBABE

static bool streamable(uint32_t tag)
{
	uint16_t t = MP_PROP_TYPE(tag);
	return t == MP_PT_BINARY || t == MP_PT_STRING || t == MP_PT_STRING8 || t == MP_PT_OBJECT;
}

int mp_srv_stream_flush(struct mp_rop_ctx *c, struct mp_sobj *o)
{
	int rc = mp_store_prop_set_content(c->txn, &o->sobj, o->tag,
	                                   o->buf ? o->buf : (uint8_t *)"", o->size);
	if (rc == MP_OK)
		o->dirty = false;
	return rc;
}

void mp_srv_rop_open_stream(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *p = mp_srv_obj_at(c, mp_rop_input_index(rop));
	struct mp_store_obj obj;
	int out = mp_rop_output_index(rop);
	uint64_t size = 0;
	if (!p || !mp_srv_obj_bag(p, &obj) || out < 0 || (size_t)out >= c->nhandles) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	uint32_t tag = (uint32_t)mp_srv_uint(rop, "PropertyTag");
	uint8_t mode = (uint8_t)mp_srv_uint(rop, "OpenModeFlags");
	if (!streamable(tag) || mode > STREAM_CREATE) {
		mp_srv_rsp_error(wb, rop, MP_EC_NOT_SUPPORTED);
		return;
	}
	if (MP_PROP_TYPE(tag) == MP_PT_OBJECT)
		tag = MP_PROP_TAG(MP_PROP_ID(tag), MP_PT_BINARY); /* attachment data as bytes */
	bool write = mode != STREAM_READONLY;
	if (write && (p->type == MP_SOBJ_MESSAGE || p->type == MP_SOBJ_ATTACH) && !p->writable) {
		mp_srv_rsp_error(wb, rop, MP_EC_ACCESS_DENIED);
		return;
	}
	int rc = mp_store_stream_size(c->txn, &obj, tag, &size);
	if (rc != MP_OK && mode != STREAM_CREATE && !(write && rc == MP_ERR_NOTFOUND)) {
		mp_srv_rsp_error(wb, rop, MP_EC_NOT_FOUND);
		return;
	}
	if (rc != MP_OK || mode == STREAM_CREATE)
		size = 0;
	struct mp_sobj *s = mp_srv_obj_new(c, MP_SOBJ_STREAM);
	if (!s) {
		mp_srv_rsp_error(wb, rop, MP_EC_OOM);
		return;
	}
	s->sobj = obj;
	s->tag = tag;
	s->mbox = p->mbox;
	s->logon_id = p->logon_id;
	s->writable = write;
	s->size = (size_t)size;
	s->buf = talloc_size(s, s->size ? s->size : 1);
	size_t got = 0;
	if (!s->buf || (s->size && (mp_store_stream_read(c->txn, &obj, tag, 0, s->buf, s->size,
	                                                 &got) != MP_OK ||
	                            got != s->size))) {
		mp_srv_obj_free(c->s, s, NULL);
		mp_srv_rsp_error(wb, rop, MP_EC_ERROR);
		return;
	}
	s->dirty = mode == STREAM_CREATE;
	mp_srv_obj_free(c->s, mp_srv_obj_at(c, out), c->txn);
	c->handles[out] = s->handle;
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)out, 0);
	mp_wb_u32(wb, (uint32_t)s->size);
}

void mp_srv_rop_read_stream(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *s = mp_srv_input(c, rop, MP_SOBJ_STREAM);
	if (!s) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	uint64_t want = mp_srv_uint(rop, "ByteCount");
	if (want == READ_MAXIMUM)
		want = mp_srv_uint(rop, "MaximumByteCount");
	size_t header = 1 + 1 + 4 + 2;
	size_t room = c->budget > header ? c->budget - header : 0;
	if (room > 0xFFFF)
		room = 0xFFFF;
	if (want > room)
		want = room;
	size_t left = s->spos < s->size ? s->size - s->spos : 0;
	size_t n = want < left ? (size_t)want : left;
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), 0);
	mp_wb_u16(wb, (uint16_t)n);
	if (n)
		mp_wb_bytes(wb, s->buf + s->spos, n);
	s->spos += n;
}

/* Make room for `size` bytes (zero-filled). */
static bool resize(struct mp_sobj *s, size_t size)
{
	if (size > MP_STORE_MAX_STREAM)
		return false;
	uint8_t *nb = talloc_realloc_size(s, s->buf, size ? size : 1);
	if (!nb)
		return false;
	if (size > s->size)
		memset(nb + s->size, 0, size - s->size);
	s->buf = nb;
	s->size = size;
	return true;
}

void mp_srv_rop_write_stream(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *s = mp_srv_input(c, rop, MP_SOBJ_STREAM);
	const struct mp_rop_val *data = mp_rop_field(rop, "Data");
	if (!s) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	if (!s->writable) {
		mp_srv_rsp_error(wb, rop, MP_EC_ACCESS_DENIED);
		return;
	}
	size_t n = data ? data->n : 0;
	if (s->spos + n > MP_STORE_MAX_STREAM) {
		mp_srv_rsp_error(wb, rop, MP_EC_STREAM_SIZE);
		return;
	}
	if (s->spos + n > s->size && !resize(s, s->spos + n)) {
		mp_srv_rsp_error(wb, rop, MP_EC_OOM);
		return;
	}
	if (n)
		memcpy(s->buf + s->spos, data->bytes, n);
	s->spos += n;
	s->dirty = true;
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), 0);
	mp_wb_u16(wb, (uint16_t)n);
}

void mp_srv_rop_commit_stream(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *s = mp_srv_input(c, rop, MP_SOBJ_STREAM);
	if (!s) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	int rc = s->dirty ? mp_srv_stream_flush(c, s) : MP_OK;
	mp_srv_rsp_error(wb, rop, rc == MP_OK ? 0 : mp_srv_ec(c));
}

void mp_srv_rop_seek_stream(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *s = mp_srv_input(c, rop, MP_SOBJ_STREAM);
	if (!s) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	uint8_t origin = (uint8_t)mp_srv_uint(rop, "Origin");
	int64_t off = (int64_t)mp_srv_uint(rop, "Offset");
	int64_t base = origin == 0 ? 0 : origin == 1 ? (int64_t)s->spos : (int64_t)s->size;
	if (origin > 2) {
		mp_srv_rsp_error(wb, rop, MP_EC_STREAM_INVALID_PARAM);
		return;
	}
	if ((off < 0 && base + off < 0) || (off > 0 && off > (int64_t)MP_STORE_MAX_STREAM - base)) {
		mp_srv_rsp_error(wb, rop, MP_EC_STREAM_SEEK);
		return;
	}
	s->spos = (size_t)(base + off);
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), 0);
	mp_wb_u32(wb, (uint32_t)s->spos);
	mp_wb_u32(wb, 0);
}

void mp_srv_rop_set_stream_size(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *s = mp_srv_input(c, rop, MP_SOBJ_STREAM);
	if (!s) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	if (!s->writable) {
		mp_srv_rsp_error(wb, rop, MP_EC_ACCESS_DENIED);
		return;
	}
	uint64_t size = mp_srv_uint(rop, "StreamSize");
	if (size > MP_STORE_MAX_STREAM) {
		mp_srv_rsp_error(wb, rop, MP_EC_STREAM_SIZE);
		return;
	}
	if (!resize(s, (size_t)size)) {
		mp_srv_rsp_error(wb, rop, MP_EC_OOM);
		return;
	}
	s->dirty = true;
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), 0);
}

void mp_srv_rop_get_stream_size(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *s = mp_srv_input(c, rop, MP_SOBJ_STREAM);
	if (!s) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), 0);
	mp_wb_u32(wb, (uint32_t)s->size);
}
