/*
 * Folder ROPs (MS-OXCFOLD, MS-OXCROPS 2.2.4): open, create, delete,
 * hierarchy and contents tables, message deletion, move and copy.
 */
#include "server/rop_server.h"

#include "util/status.h"

#include <string.h>
#include <talloc.h>

#define TABLE_ASSOCIATED 0x02
#define TABLE_DEPTH 0x04
#define EC_DST_NULL_OBJECT 0x00000503u

static void put_u64(struct mp_wbuf *wb, uint64_t v)
{
	mp_wb_u32(wb, (uint32_t)v);
	mp_wb_u32(wb, (uint32_t)(v >> 32));
}

/* Put a new object at the ROP's output index, releasing what was there. */
static bool place(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_sobj *o)
{
	int out = mp_rop_output_index(rop);
	if (out < 0 || (size_t)out >= c->nhandles)
		return false;
	mp_srv_obj_free(c->s, mp_srv_obj_at(c, out), c->txn);
	c->handles[out] = o->handle;
	return true;
}

static struct mp_sobj *parent_of(struct mp_rop_ctx *c, const struct mp_rop *rop)
{
	struct mp_sobj *o = mp_srv_obj_at(c, mp_rop_input_index(rop));
	if (!o || (o->type != MP_SOBJ_LOGON && o->type != MP_SOBJ_FOLDER))
		return NULL;
	return o;
}

void mp_srv_rop_open_folder(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *p = parent_of(c, rop);
	struct mp_store_folder_info fi;
	int out = mp_rop_output_index(rop);
	if (!p || out < 0 || (size_t)out >= c->nhandles) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	uint64_t fid = mp_srv_uint(rop, "FolderId");
	if (mp_store_folder_get(c->txn, p->mbox, fid, &fi) != MP_OK) {
		mp_srv_rsp_error(wb, rop, MP_EC_NOT_FOUND);
		return;
	}
	struct mp_sobj *o = mp_srv_obj_new(c, MP_SOBJ_FOLDER);
	if (!o) {
		mp_srv_rsp_error(wb, rop, MP_EC_OOM);
		return;
	}
	o->mbox = p->mbox;
	o->fid = fid;
	o->logon_id = p->logon_id;
	place(c, rop, o);
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)out, 0);
	mp_wb_u8(wb, 0); /* HasRules */
	mp_wb_u8(wb, 0); /* IsGhosted */
}

void mp_srv_rop_create_folder(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *p = mp_srv_input(c, rop, MP_SOBJ_FOLDER);
	int out = mp_rop_output_index(rop);
	uint64_t fid = 0;
	bool existed = false;
	if (!p || out < 0 || (size_t)out >= c->nhandles) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	bool unicode = mp_srv_uint(rop, "UseUnicodeStrings") != 0;
	char *name = mp_srv_str(c->mem, mp_rop_field(rop, "DisplayName"), unicode);
	char *comment = mp_srv_str(c->mem, mp_rop_field(rop, "Comment"), unicode);
	uint8_t type = (uint8_t)mp_srv_uint(rop, "FolderType");
	uint32_t flags = mp_srv_uint(rop, "OpenExisting") ? MP_STORE_OPEN_IF_EXISTS : 0;
	if (!name || (type != MP_FOLDER_GENERIC && type != MP_FOLDER_SEARCH)) {
		mp_srv_rsp_error(wb, rop, MP_EC_INVALID_PARAM);
		return;
	}
	if (mp_store_folder_create(c->txn, p->mbox, p->fid, name, NULL, type, flags, &fid,
	                           &existed) != MP_OK) {
		mp_srv_rsp_error(wb, rop, mp_srv_ec(c));
		return;
	}
	if (comment && *comment && !existed) {
		struct mp_store_obj f = mp_store_obj_folder(p->mbox, fid);
		mp_store_prop_set_string(c->txn, &f, MP_TAG_COMMENT, comment);
	}
	struct mp_sobj *o = mp_srv_obj_new(c, MP_SOBJ_FOLDER);
	if (!o) {
		mp_srv_rsp_error(wb, rop, MP_EC_OOM);
		return;
	}
	o->mbox = p->mbox;
	o->fid = fid;
	o->logon_id = p->logon_id;
	place(c, rop, o);
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)out, 0);
	put_u64(wb, fid);
	mp_wb_u8(wb, existed);
	if (existed) {
		mp_wb_u8(wb, 0); /* HasRules */
		mp_wb_u8(wb, 0); /* IsGhosted */
	}
}

void mp_srv_rop_delete_folder(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *p = mp_srv_input(c, rop, MP_SOBJ_FOLDER);
	if (!p) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	uint32_t flags = (uint32_t)mp_srv_uint(rop, "DeleteFolderFlags");
	int rc = mp_store_folder_delete(c->txn, p->mbox, mp_srv_uint(rop, "FolderId"),
	                                flags & (MP_STORE_DEL_MESSAGES | MP_STORE_DEL_FOLDERS));
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop),
	               rc == MP_OK ? 0 : mp_srv_ec(c));
	mp_wb_u8(wb, 0); /* PartialCompletion */
}

void mp_srv_rop_get_table(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *p = mp_srv_input(c, rop, MP_SOBJ_FOLDER);
	int out = mp_rop_output_index(rop);
	if (!p || out < 0 || (size_t)out >= c->nhandles) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	uint8_t flags = (uint8_t)mp_srv_uint(rop, "TableFlags");
	struct mp_sobj *t = mp_srv_obj_new(c, MP_SOBJ_TABLE);
	if (!t) {
		mp_srv_rsp_error(wb, rop, MP_EC_OOM);
		return;
	}
	t->mbox = p->mbox;
	t->fid = p->fid;
	t->logon_id = p->logon_id;
	t->tkind = rop->id == 0x04 ? MP_TABLE_HIERARCHY : MP_TABLE_CONTENTS;
	t->assoc = (flags & TABLE_ASSOCIATED) != 0;
	t->depth = (flags & TABLE_DEPTH) != 0;
	uint64_t *ids = NULL;
	size_t n = 0;
	if (mp_srv_table_ids(c, t, &ids, &n) != MP_OK) {
		mp_srv_obj_free(c->s, t, c->txn);
		mp_srv_rsp_error(wb, rop, mp_srv_ec(c));
		return;
	}
	place(c, rop, t);
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)out, 0);
	mp_wb_u32(wb, (uint32_t)n);
}

/* Message `mid` is a saved message of folder `fid`. */
static bool in_folder(struct mp_rop_ctx *c, uint32_t mbox, uint64_t fid, uint64_t mid)
{
	struct mp_store_msg_info mi;
	return mp_store_msg_get(c->txn, mbox, mid, &mi) == MP_OK && mi.fid == fid &&
	       mi.state == MP_STORE_MSG_SAVED;
}

static uint64_t mid_at(const struct mp_rop_val *arr, size_t i)
{
	struct mp_rop_vals *const *elems = arr->p;
	return elems[i]->v[0].u;
}

void mp_srv_rop_delete_messages(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *p = mp_srv_input(c, rop, MP_SOBJ_FOLDER);
	const struct mp_rop_val *arr = mp_rop_field(rop, "MessageIds");
	bool partial = false;
	if (!p || !arr) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	for (size_t i = 0; i < arr->n; i++) {
		uint64_t mid = mid_at(arr, i);
		if (!in_folder(c, p->mbox, p->fid, mid) ||
		    mp_store_msg_delete(c->txn, p->mbox, mid) != MP_OK)
			partial = true;
	}
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), 0);
	mp_wb_u8(wb, partial);
}

void mp_srv_rop_move_copy_messages(struct mp_rop_ctx *c, const struct mp_rop *rop,
                                   struct mp_wbuf *wb)
{
	struct mp_sobj *p = mp_srv_input(c, rop, MP_SOBJ_FOLDER);
	int di = mp_rop_dest_index(rop);
	struct mp_sobj *d = mp_srv_obj_at(c, di);
	const struct mp_rop_val *arr = mp_rop_field(rop, "MessageIds");
	bool copy = mp_srv_uint(rop, "WantCopy") != 0, partial = false;
	if (!p || !arr) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	if (!d || d->type != MP_SOBJ_FOLDER || d->mbox != p->mbox) {
		mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), EC_DST_NULL_OBJECT);
		mp_wb_u32(wb, (uint32_t)(di < 0 ? 0 : di));
		mp_wb_u8(wb, 0);
		return;
	}
	for (size_t i = 0; i < arr->n; i++) {
		uint64_t mid = mid_at(arr, i), nmid = 0;
		int rc = MP_ERR_NOTFOUND;
		if (in_folder(c, p->mbox, p->fid, mid))
			rc = copy ? mp_store_msg_copy(c->txn, p->mbox, mid, d->fid, &nmid)
			          : mp_store_msg_move(c->txn, p->mbox, mid, d->fid, &nmid);
		if (rc != MP_OK)
			partial = true;
	}
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), 0);
	mp_wb_u8(wb, partial);
}
