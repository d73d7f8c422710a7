/* Rule actions (MS-OXORULE 2.2.5); see rule_action.h. */
#include "mapi/rule_action.h"

#include <string.h>
#include <talloc.h>

#include "util/status.h"

/* ActionType + ActionFlavor + ActionFlags, counted in ActionLength. */
#define ACTION_HEADER 9u

const char *mp_action_type_name(uint8_t type)
{
	static const char *const names[] = {
	    NULL,        "OP_MOVE",    "OP_COPY",     "OP_REPLY", "OP_OOF_REPLY", "OP_DEFER_ACTION",
	    "OP_BOUNCE", "OP_FORWARD", "OP_DELEGATE", "OP_TAG",   "OP_DELETE",    "OP_MARK_AS_READ",
	};
	return type < sizeof(names) / sizeof(names[0]) ? names[type] : NULL;
}

static uint32_t get_count(struct mp_pv_rd *rd)
{
	return rd->ctx == MP_PV_EXT ? mp_rc_u32(rd->rc) : mp_rc_u16(rd->rc);
}

static int put_count(struct mp_wbuf *wb, enum mp_pv_ctx ctx, uint32_t n)
{
	if (ctx == MP_PV_EXT) {
		mp_wb_u32(wb, n);
		return MP_OK;
	}
	if (n > 0xffff)
		return MP_ERR_PARSE;
	mp_wb_u16(wb, (uint16_t)n);
	return MP_OK;
}

static void get_bin(struct mp_pv_rd *rd, struct mp_bin *b)
{
	b->len = get_count(rd);
	b->data = mp_rc_take(rd->rc, b->len);
}

static int put_bin(struct mp_wbuf *wb, enum mp_pv_ctx ctx, const struct mp_bin *b)
{
	int st = put_count(wb, ctx, b->len);
	if (st == MP_OK && b->len)
		mp_wb_bytes(wb, b->data, b->len);
	return st;
}

static int read_forward(struct mp_pv_rd *rd, struct mp_action_block *ab)
{
	uint32_t n = get_count(rd);
	/* A recipient block takes at least its Reserved byte and its count. */
	if (rd->rc->bad || (uint64_t)n * 3 > mp_rc_left(rd->rc))
		return MP_ERR_PARSE;
	ab->u.fwd.count = n;
	if (n) {
		ab->u.fwd.blocks = talloc_zero_array(rd->mem, struct mp_recipient_block, n);
		if (!ab->u.fwd.blocks)
			return MP_ERR_NOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct mp_recipient_block *rb = &ab->u.fwd.blocks[i];
		rb->reserved = mp_rc_u8(rd->rc);
		rb->count = get_count(rd);
		if (rd->rc->bad)
			return MP_ERR_PARSE;
		int st = mp_tagged_pvs_read(rd, rb->count, &rb->vals);
		if (st != MP_OK)
			return st;
	}
	return MP_OK;
}

/* Decode ActionData from its own window; any error leaves the block opaque. */
static int read_data(struct mp_pv_rd *rd, struct mp_action_block *ab)
{
	struct mp_rcursor *rc = rd->rc;
	bool ext = rd->ctx == MP_PV_EXT;
	const uint8_t *g;

	switch (ab->type) {
	case MP_OP_MOVE:
	case MP_OP_COPY:
		if (!ext)
			ab->u.movecopy.in_this_store = mp_rc_u8(rc);
		get_bin(rd, &ab->u.movecopy.store_eid);
		get_bin(rd, &ab->u.movecopy.folder_eid);
		break;
	case MP_OP_REPLY:
	case MP_OP_OOF_REPLY:
		if (ext) {
			ab->u.ext_reply.msg_eid.len = mp_rc_u32(rc);
			ab->u.ext_reply.msg_eid.data = mp_rc_take(rc, ab->u.ext_reply.msg_eid.len);
			g = mp_rc_take(rc, 16);
			if (g)
				memcpy(ab->u.ext_reply.guid, g, 16);
		} else {
			ab->u.reply.fid = mp_pv_get_u64(rc);
			ab->u.reply.mid = mp_pv_get_u64(rc);
			g = mp_rc_take(rc, 16);
			if (g)
				memcpy(ab->u.reply.guid, g, 16);
		}
		break;
	case MP_OP_DEFER_ACTION:
		/* Opaque to the server too: the whole window. */
		mp_rc_skip(rc, mp_rc_left(rc));
		break;
	case MP_OP_BOUNCE:
		ab->u.bounce = mp_rc_u32(rc);
		break;
	case MP_OP_FORWARD:
	case MP_OP_DELEGATE:
		return read_forward(rd, ab);
	case MP_OP_TAG:
		return mp_tagged_pv_read(rd, &ab->u.tag);
	case MP_OP_DELETE:
	case MP_OP_MARK_AS_READ:
		break;
	default:
		return MP_ERR_UNSUPPORTED;
	}
	return rc->bad ? MP_ERR_PARSE : MP_OK;
}

static int read_block(struct mp_pv_rd *rd, struct mp_action_block *ab)
{
	uint32_t len = get_count(rd);
	const uint8_t *p;

	if (rd->rc->bad || len < ACTION_HEADER)
		return MP_ERR_PARSE;
	p = mp_rc_take(rd->rc, len);
	if (!p)
		return MP_ERR_PARSE;

	ab->type = p[0];
	ab->flavor = mp_get_u32(p + 1);
	ab->flags = mp_get_u32(p + 5);
	ab->data.data = p + ACTION_HEADER;
	ab->data.len = len - ACTION_HEADER;

	/* Decode the data inside its frame; keep the bytes when that fails or
	 * leaves some over, so the block is written back as received. */
	struct mp_rcursor sub;
	mp_rc_init(&sub, ab->data.data, ab->data.len);
	struct mp_pv_rd srd = *rd;
	srd.rc = &sub;
	int st = read_data(&srd, ab);
	if (st == MP_ERR_NOMEM || st == MP_ERR_LIMIT)
		return st;
	ab->parsed = st == MP_OK && !sub.bad && mp_rc_left(&sub) == 0;
	if (!ab->parsed)
		memset(&ab->u, 0, sizeof(ab->u));
	return MP_OK;
}

int mp_rule_actions_read(struct mp_pv_rd *rd, struct mp_rule_actions *out)
{
	memset(out, 0, sizeof(*out));
	out->extended = rd->ctx == MP_PV_EXT;
	uint32_t n = get_count(rd);
	if (rd->rc->bad || (uint64_t)n * (ACTION_HEADER + 2) > mp_rc_left(rd->rc))
		return MP_ERR_PARSE;
	out->count = n;
	if (n) {
		out->blocks = talloc_zero_array(rd->mem, struct mp_action_block, n);
		if (!out->blocks)
			return MP_ERR_NOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		int st = read_block(rd, &out->blocks[i]);
		if (st != MP_OK)
			return st;
	}
	return MP_OK;
}

static int write_data(struct mp_wbuf *wb, enum mp_pv_ctx ctx, const struct mp_action_block *ab)
{
	bool ext = ctx == MP_PV_EXT;
	int st = MP_OK;

	if (!ab->parsed) {
		if (ab->data.len)
			mp_wb_bytes(wb, ab->data.data, ab->data.len);
		return MP_OK;
	}
	switch (ab->type) {
	case MP_OP_MOVE:
	case MP_OP_COPY:
		if (!ext)
			mp_wb_u8(wb, ab->u.movecopy.in_this_store);
		st = put_bin(wb, ctx, &ab->u.movecopy.store_eid);
		if (st == MP_OK)
			st = put_bin(wb, ctx, &ab->u.movecopy.folder_eid);
		break;
	case MP_OP_REPLY:
	case MP_OP_OOF_REPLY:
		if (ext) {
			mp_wb_u32(wb, ab->u.ext_reply.msg_eid.len);
			if (ab->u.ext_reply.msg_eid.len)
				mp_wb_bytes(wb, ab->u.ext_reply.msg_eid.data,
				            ab->u.ext_reply.msg_eid.len);
			mp_wb_bytes(wb, ab->u.ext_reply.guid, 16);
		} else {
			mp_pv_put_u64(wb, ab->u.reply.fid);
			mp_pv_put_u64(wb, ab->u.reply.mid);
			mp_wb_bytes(wb, ab->u.reply.guid, 16);
		}
		break;
	case MP_OP_DEFER_ACTION:
		if (ab->data.len)
			mp_wb_bytes(wb, ab->data.data, ab->data.len);
		break;
	case MP_OP_BOUNCE:
		mp_wb_u32(wb, ab->u.bounce);
		break;
	case MP_OP_FORWARD:
	case MP_OP_DELEGATE:
		st = put_count(wb, ctx, ab->u.fwd.count);
		for (uint32_t i = 0; i < ab->u.fwd.count && st == MP_OK; i++) {
			const struct mp_recipient_block *rb = &ab->u.fwd.blocks[i];
			mp_wb_u8(wb, rb->reserved);
			st = put_count(wb, ctx, rb->count);
			if (st == MP_OK)
				st = mp_tagged_pvs_write(wb, ctx, rb->vals, rb->count);
		}
		break;
	case MP_OP_TAG:
		st = mp_tagged_pv_write(wb, ctx, &ab->u.tag);
		break;
	case MP_OP_DELETE:
	case MP_OP_MARK_AS_READ:
		break;
	default:
		return MP_ERR_PARSE;
	}
	return st;
}

int mp_rule_actions_write(struct mp_wbuf *wb, enum mp_pv_ctx ctx, const struct mp_rule_actions *a)
{
	int st = put_count(wb, ctx, a->count);
	for (uint32_t i = 0; i < a->count && st == MP_OK; i++) {
		const struct mp_action_block *ab = &a->blocks[i];
		size_t len_at = wb->len;
		st = put_count(wb, ctx, 0); /* ActionLength, patched below */
		if (st != MP_OK)
			break;
		size_t start = wb->len;
		mp_wb_u8(wb, ab->type);
		mp_wb_u32(wb, ab->flavor);
		mp_wb_u32(wb, ab->flags);
		st = write_data(wb, ctx, ab);
		if (st != MP_OK || wb->bad)
			break;
		size_t len = wb->len - start;
		if (ctx == MP_PV_EXT) {
			mp_wb_put_u32_at(wb, len_at, (uint32_t)len);
		} else {
			if (len > 0xffff)
				return MP_ERR_PARSE;
			mp_wb_put_u16_at(wb, len_at, (uint16_t)len);
		}
	}
	if (st != MP_OK)
		return st;
	return wb->bad ? MP_ERR_NOMEM : MP_OK;
}

static void print_block(struct mp_printer *p, bool ext, const struct mp_action_block *ab)
{
	mp_pr_begin(p, NULL);
	mp_pr_enum(p, "ActionType", ab->type, 2, mp_action_type_name(ab->type));
	mp_pr_hex(p, "ActionFlavor", ab->flavor, 8);
	mp_pr_hex(p, "ActionFlags", ab->flags, 8);
	if (!ab->parsed) {
		mp_pr_bytes(p, "ActionData", ab->data.data, ab->data.len);
		mp_pr_end(p);
		return;
	}
	switch (ab->type) {
	case MP_OP_MOVE:
	case MP_OP_COPY:
		if (!ext)
			mp_pr_uint(p, "FolderInThisStore", ab->u.movecopy.in_this_store);
		mp_pr_bytes(p, "StoreEID", ab->u.movecopy.store_eid.data,
		            ab->u.movecopy.store_eid.len);
		mp_pr_bytes(p, "FolderEID", ab->u.movecopy.folder_eid.data,
		            ab->u.movecopy.folder_eid.len);
		break;
	case MP_OP_REPLY:
	case MP_OP_OOF_REPLY:
		if (ext) {
			mp_pr_bytes(p, "ReplyTemplateMessageEID", ab->u.ext_reply.msg_eid.data,
			            ab->u.ext_reply.msg_eid.len);
			mp_pr_guid(p, "ReplyTemplateGUID", ab->u.ext_reply.guid);
		} else {
			mp_pr_hex(p, "ReplyTemplateFID", ab->u.reply.fid, 16);
			mp_pr_hex(p, "ReplyTemplateMID", ab->u.reply.mid, 16);
			mp_pr_guid(p, "ReplyTemplateGUID", ab->u.reply.guid);
		}
		break;
	case MP_OP_DEFER_ACTION:
		mp_pr_bytes(p, "DeferredActionData", ab->data.data, ab->data.len);
		break;
	case MP_OP_BOUNCE:
		mp_pr_hex(p, "BounceCode", ab->u.bounce, 8);
		break;
	case MP_OP_FORWARD:
	case MP_OP_DELEGATE:
		mp_pr_begin_array(p, "RecipientBlocks", ab->u.fwd.count);
		for (uint32_t i = 0; i < ab->u.fwd.count; i++) {
			const struct mp_recipient_block *rb = &ab->u.fwd.blocks[i];
			mp_pr_begin(p, NULL);
			mp_pr_uint(p, "Reserved", rb->reserved);
			mp_tagged_pvs_print(p, "PropertyValues", rb->vals, rb->count);
			mp_pr_end(p);
		}
		mp_pr_end_array(p);
		break;
	case MP_OP_TAG:
		mp_tagged_pv_print(p, "TaggedValue", &ab->u.tag);
		break;
	default:
		break;
	}
	mp_pr_end(p);
}

void mp_rule_actions_print(struct mp_printer *p, const char *name, const struct mp_rule_actions *a)
{
	if (!a) {
		mp_pr_str(p, name, NULL);
		return;
	}
	mp_pr_begin_array(p, name, a->count);
	for (uint32_t i = 0; i < a->count; i++)
		print_block(p, a->extended, &a->blocks[i]);
	mp_pr_end_array(p);
}
