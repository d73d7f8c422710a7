/*
 * Messages, their recipients and attachments: create (unsaved until
 * saved), edit through a draft copy, save with the computed properties,
 * discard, delete, move and copy, read flags with the folder counts kept,
 * recipient rows and numbered attachments.
 */
#include "server/store/store_int.h"

#include <string.h>

#include <talloc.h>

static size_t ckey(uint8_t *k, uint32_t mbox, uint64_t fgc, bool assoc, uint64_t mgc)
{
	size_t o = st_idxkey(k, mbox, 'c');
	st_be64(k + o, fgc);
	k[o + 8] = assoc;
	st_be64(k + o + 9, mgc);
	return o + 17;
}

static size_t pkey(uint8_t *k, uint32_t mbox, uint64_t mgc)
{
	size_t o = st_idxkey(k, mbox, 'p');
	st_be64(k + o, mgc);
	return o + 8;
}

static int del_records(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc)
{
	uint8_t pre[12];
	st_be32(pre, mbox);
	st_be64(pre + 4, gc);
	return st_del_prefix(txn, txn->st->obj, pre, sizeof(pre));
}

/* Identity properties of message `gc` in folder `fgc`. keep_source: leave
 * PidTagSourceKey as it is (moves). */
static int msg_identity(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, uint64_t fgc,
			bool keep_source)
{
	const uint8_t M = MP_STORE_KIND_MESSAGE;
	struct st_mbox_hdr h;
	struct mp_store_mailbox mb;
	uint8_t eid[MP_STORE_MESSAGE_EID_LEN], feid[MP_STORE_FOLDER_EID_LEN];
	uint8_t xid[MP_STORE_XID_LEN], fxid[MP_STORE_XID_LEN];
	int rc = st_mbox_read(txn, mbox, &h);
	if (rc)
		return rc;
	st_mbox_info(mbox, &h, &mb);
	mp_store_message_eid(&mb, st_id(fgc), st_id(gc), eid);
	mp_store_folder_eid(&mb, st_id(fgc), feid);
	mp_store_xid_build(h.replica_guid, gc, xid);
	mp_store_xid_build(h.replica_guid, fgc, fxid);
	if ((rc = st_prop_u64(txn, mbox, gc, M, 0, MP_TAG_MID, st_id(gc))) ||
	    (rc = st_prop_u64(txn, mbox, gc, M, 0, MP_TAG_FOLDER_ID, st_id(fgc))) ||
	    (rc = st_prop_u64(txn, mbox, gc, M, 0, MP_TAG_PARENT_FOLDER_ID, st_id(fgc))) ||
	    (rc = st_prop_bin(txn, mbox, gc, M, 0, MP_TAG_ENTRYID, eid, sizeof(eid))) ||
	    (rc = st_prop_bin(txn, mbox, gc, M, 0, MP_TAG_RECORD_KEY, eid, sizeof(eid))) ||
	    (rc = st_prop_bin(txn, mbox, gc, M, 0, MP_TAG_PARENT_ENTRYID, feid, sizeof(feid))) ||
	    (rc = st_prop_bin(txn, mbox, gc, M, 0, MP_TAG_PARENT_SOURCE_KEY, fxid, sizeof(fxid))))
		return rc;
	if (!keep_source)
		rc = st_prop_bin(txn, mbox, gc, M, 0, MP_TAG_SOURCE_KEY, xid, sizeof(xid));
	return rc;
}

static int msg_hdr_of(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid, uint64_t *gc,
		      struct st_msg_hdr *h)
{
	int rc = st_id_gc(txn, mid, "message", gc);
	return rc ? rc : st_msg_read(txn, mbox, *gc, h);
}

/* ---- Create, edit ---- */

static int msg_create(struct mp_store_txn *txn, uint32_t mbox, uint64_t fid, bool assoc,
		      uint64_t *mid)
{
	const uint8_t M = MP_STORE_KIND_MESSAGE;
	struct st_folder_hdr fh;
	uint64_t fgc, gc;
	uint8_t k[16];
	int rc;
	if ((rc = st_id_gc(txn, fid, "folder", &fgc)) || (rc = st_folder_read(txn, mbox, fgc, &fh)))
		return rc;
	if (fh.type == MP_FOLDER_SEARCH)
		return st_fail(txn, MP_ERR_PROTO, MP_STORE_EC_NOT_SUPPORTED,
			       "messages cannot be created in a search folder");
	if ((rc = st_alloc_gc(txn, mbox, &gc)))
		return rc;
	struct st_msg_hdr h = {.state = MP_STORE_MSG_NEW, .assoc = assoc, .folder = fgc};
	uint64_t now = mp_store_filetime_now();
	uint32_t flags = MP_MSGFLAG_UNSENT | (assoc ? MP_MSGFLAG_FAI : 0);
	if ((rc = st_msg_write(txn, mbox, gc, &h)) ||
	    (rc = st_put(txn, txn->st->idx, k, pkey(k, mbox, gc), "", 0)) ||
	    (rc = msg_identity(txn, mbox, gc, fgc, false)) ||
	    (rc = st_prop_u32(txn, mbox, gc, M, 0, MP_TAG_MESSAGE_FLAGS, flags)) ||
	    (rc = st_prop_u64(txn, mbox, gc, M, 0, MP_TAG_CREATION_TIME, now)) ||
	    (rc = st_prop_u64(txn, mbox, gc, M, 0, MP_TAG_LAST_MODIFICATION_TIME, now)) ||
	    (rc = st_prop_u32(txn, mbox, gc, M, 0, MP_TAG_MESSAGE_SIZE, 0)) ||
	    (rc = st_prop_bool(txn, mbox, gc, M, 0, MP_TAG_HAS_ATTACHMENTS, false)))
		return rc;
	*mid = st_id(gc);
	return MP_OK;
}

int mp_store_msg_create(struct mp_store_txn *txn, uint32_t mbox, uint64_t fid, bool associated,
			uint64_t *mid)
{
	int rc = st_op_begin(txn);
	if (rc)
		return rc;
	return st_op_end(txn, msg_create(txn, mbox, fid, associated, mid));
}

static int msg_edit(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid, uint64_t *draft)
{
	struct st_msg_hdr h;
	uint64_t gc, dgc;
	uint8_t k[16];
	int rc;
	if ((rc = msg_hdr_of(txn, mbox, mid, &gc, &h)))
		return rc;
	if (h.state != MP_STORE_MSG_SAVED)
		return st_fail(txn, MP_ERR_PROTO, MP_STORE_EC_INVALID_PARAM,
			       "message 0x%016llx is not saved", (unsigned long long)mid);
	if ((rc = st_alloc_gc(txn, mbox, &dgc)) || (rc = st_copy_records(txn, mbox, gc, dgc)))
		return rc;
	/* The draft keeps the original's identity properties: clients see the
	 * original MID and entry ID while they edit. */
	h.state = MP_STORE_MSG_DRAFT;
	h.orig = gc;
	if ((rc = st_msg_write(txn, mbox, dgc, &h)) ||
	    (rc = st_put(txn, txn->st->idx, k, pkey(k, mbox, dgc), "", 0)))
		return rc;
	*draft = st_id(dgc);
	return MP_OK;
}

int mp_store_msg_edit(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid, uint64_t *draft_mid)
{
	int rc = st_op_begin(txn);
	if (rc)
		return rc;
	return st_op_end(txn, msg_edit(txn, mbox, mid, draft_mid));
}

/* ---- Computed properties ---- */

/* Rows (RowIds / attach numbers) of a sub-object kind of a message. */
static int sub_list(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, uint8_t kind, void *mem,
		    uint32_t **out, size_t *n)
{
	uint8_t prefix[ST_OBJKEY_LEN];
	st_objkey(prefix, mbox, gc, kind, 0, 0);
	struct st_iter it;
	int rc = st_iter_open(txn, txn->st->obj, prefix, 13, &it);
	if (rc)
		return rc;
	size_t cnt = 0, cap = 8;
	uint32_t *a = talloc_array(mem, uint32_t, cap);
	if (!a) {
		st_iter_close(&it);
		return st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
	}
	while ((rc = st_iter_next(txn, &it)) == 1) {
		const uint8_t *k = it.k.mv_data;
		if (it.k.mv_size != ST_OBJKEY_LEN || st_get_be16(k + 17) != 0)
			continue;
		if (cnt == cap) {
			if (cap > MP_STORE_MAX_RECIPIENTS + MP_STORE_MAX_ATTACHMENTS) {
				rc = st_fail(txn, MP_ERR_IO, MP_STORE_EC_CORRUPT, "too many rows");
				break;
			}
			cap *= 2;
			uint32_t *b = talloc_realloc(mem, a, uint32_t, cap);
			if (!b) {
				rc = st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
				break;
			}
			a = b;
		}
		a[cnt++] = st_get_be32(k + 13);
	}
	st_iter_close(&it);
	if (rc < 0) {
		talloc_free(a);
		return rc;
	}
	*out = a;
	*n = cnt;
	return MP_OK;
}

static int attach_size(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, uint32_t num)
{
	const uint8_t A = MP_STORE_KIND_ATTACHMENT;
	uint8_t k[ST_OBJKEY_LEN];
	uint64_t size;
	int rc;
	st_objkey(k, mbox, gc, A, num, MP_PROP_ID(MP_TAG_ATTACH_SIZE));
	if ((rc = st_del(txn, txn->st->obj, k, sizeof(k))) ||
	    (rc = st_records_size(txn, mbox, gc, A, num, &size)))
		return rc;
	return st_prop_u32(txn, mbox, gc, A, num, MP_TAG_ATTACH_SIZE,
			   size > UINT32_MAX ? UINT32_MAX : (uint32_t)size);
}

/* PidTagDisplayTo/Cc/Bcc from the recipients' display names. */
static int display_lists(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc)
{
	uint32_t *rows;
	size_t n;
	int rc = sub_list(txn, mbox, gc, MP_STORE_KIND_RECIPIENT, txn->mem, &rows, &n);
	if (rc)
		return rc;
	char *lists[3];
	for (int i = 0; i < 3; i++)
		lists[i] = talloc_strdup(txn->mem, "");
	for (size_t i = 0; i < n && rc == MP_OK; i++) {
		struct mp_store_obj o = mp_store_obj_recip(mbox, st_id(gc), rows[i]);
		uint32_t type;
		char *name = NULL;
		if (st_prop_get_u32(txn, mbox, gc, MP_STORE_KIND_RECIPIENT, rows[i],
				    MP_TAG_RECIPIENT_TYPE, &type) != MP_OK)
			continue;
		type &= 0x0fffffff; /* without MAPI_P1 / MAPI_SUBMITTED */
		if (type < 1 || type > 3)
			continue;
		if (mp_store_prop_get_string(txn, &o, MP_TAG_DISPLAY_NAME, txn->mem, &name) &&
		    mp_store_prop_get_string(txn, &o, MP_TAG_SMTP_ADDRESS, txn->mem, &name) &&
		    mp_store_prop_get_string(txn, &o, MP_TAG_EMAIL_ADDRESS, txn->mem, &name))
			continue;
		char **l = &lists[type - 1];
		*l = talloc_asprintf_append(*l, "%s%s", **l ? "; " : "", name);
		if (!*l)
			rc = st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
		talloc_free(name);
	}
	txn->err[0] = '\0'; /* absent names above are not failures */
	txn->ec = 0;
	static const uint32_t tags[3] = {MP_TAG_DISPLAY_TO, MP_TAG_DISPLAY_CC, MP_TAG_DISPLAY_BCC};
	for (int i = 0; i < 3 && rc == MP_OK; i++) {
		if (!lists[i])
			return st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
		rc = st_prop_str(txn, mbox, gc, MP_STORE_KIND_MESSAGE, 0, tags[i], lists[i]);
	}
	talloc_free(rows);
	return rc;
}

/* Everything the store computes on a message, before it is saved. */
static int msg_compute(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, struct st_msg_hdr *h)
{
	const uint8_t M = MP_STORE_KIND_MESSAGE;
	uint32_t *nums;
	size_t n;
	int rc = sub_list(txn, mbox, gc, MP_STORE_KIND_ATTACHMENT, txn->mem, &nums, &n);
	for (size_t i = 0; rc == MP_OK && i < n; i++)
		rc = attach_size(txn, mbox, gc, nums[i]);
	if (rc)
		return rc;
	talloc_free(nums);
	h->n_attach = (uint32_t)n;
	if ((rc = display_lists(txn, mbox, gc)))
		return rc;

	uint32_t flags = 0;
	st_prop_get_u32(txn, mbox, gc, M, 0, MP_TAG_MESSAGE_FLAGS, &flags);
	flags &= ~(MP_MSGFLAG_HASATTACH | MP_MSGFLAG_FAI | MP_MSGFLAG_READ);
	flags |= (n ? MP_MSGFLAG_HASATTACH : 0) | (h->assoc ? MP_MSGFLAG_FAI : 0) |
		 (h->read ? MP_MSGFLAG_READ : 0);
	uint8_t k[ST_OBJKEY_LEN];
	uint64_t size;
	st_objkey(k, mbox, gc, M, 0, MP_PROP_ID(MP_TAG_MESSAGE_SIZE));
	if ((rc = st_prop_u32(txn, mbox, gc, M, 0, MP_TAG_MESSAGE_FLAGS, flags)) ||
	    (rc = st_prop_bool(txn, mbox, gc, M, 0, MP_TAG_HAS_ATTACHMENTS, n != 0)) ||
	    (rc = st_del(txn, txn->st->obj, k, sizeof(k))) ||
	    (rc = st_records_size(txn, mbox, gc, 0, 0, &size)) ||
	    (rc = st_prop_u32(txn, mbox, gc, M, 0, MP_TAG_MESSAGE_SIZE,
			      size > UINT32_MAX ? UINT32_MAX : (uint32_t)size)))
		return rc;
	return st_msg_write(txn, mbox, gc, h);
}

/* ---- Save, discard, delete ---- */

static int msg_save(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid, uint64_t *saved)
{
	struct st_msg_hdr h, oh;
	struct st_folder_hdr fh;
	uint64_t gc;
	uint8_t k[24];
	int rc;

	if ((rc = msg_hdr_of(txn, mbox, mid, &gc, &h)) || (rc = msg_compute(txn, mbox, gc, &h)))
		return rc;
	switch (h.state) {
	case MP_STORE_MSG_SAVED:
		if ((rc = st_stamp_change(txn, mbox, gc, MP_STORE_KIND_MESSAGE)))
			return rc;
		break;
	case MP_STORE_MSG_NEW:
		if ((rc = st_folder_read(txn, mbox, h.folder, &fh)) ||
		    (rc = st_put(txn, txn->st->idx, k, ckey(k, mbox, h.folder, h.assoc, gc), "",
				 0)) ||
		    (rc = st_folder_count(txn, mbox, h.folder, h.assoc, 1, h.read ? 0 : 1)))
			return rc;
		h.state = MP_STORE_MSG_SAVED;
		if ((rc = st_msg_write(txn, mbox, gc, &h)) ||
		    (rc = st_del(txn, txn->st->idx, k, pkey(k, mbox, gc))) ||
		    (rc = st_stamp_change(txn, mbox, gc, MP_STORE_KIND_MESSAGE)))
			return rc;
		break;
	case MP_STORE_MSG_DRAFT: {
		uint64_t ogc = h.orig;
		if ((rc = st_msg_read(txn, mbox, ogc, &oh)))
			return rc;
		if (oh.state != MP_STORE_MSG_SAVED)
			return st_fail(txn, MP_ERR_PROTO, MP_STORE_EC_ERROR,
				       "the original of draft 0x%016llx is not saved",
				       (unsigned long long)mid);
		/* Replace the original's records with the draft's. */
		if ((rc = del_records(txn, mbox, ogc)) ||
		    (rc = st_copy_records(txn, mbox, gc, ogc)))
			return rc;
		h.state = MP_STORE_MSG_SAVED;
		h.orig = 0;
		h.folder = oh.folder;
		int d_unread = (oh.read ? 0 : -1) + (h.read ? 0 : 1);
		if ((rc = st_msg_write(txn, mbox, ogc, &h)) ||
		    (rc = (d_unread ? st_folder_count(txn, mbox, oh.folder, oh.assoc, 0, d_unread)
				    : MP_OK)) ||
		    (rc = del_records(txn, mbox, gc)) ||
		    (rc = st_del(txn, txn->st->idx, k, pkey(k, mbox, gc))) ||
		    (rc = st_stamp_change(txn, mbox, ogc, MP_STORE_KIND_MESSAGE)))
			return rc;
		gc = ogc;
		break;
	}
	default:
		return st_fail(txn, MP_ERR_IO, MP_STORE_EC_CORRUPT, "message: bad state %u", h.state);
	}
	if (saved)
		*saved = st_id(gc);
	return MP_OK;
}

int mp_store_msg_save(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid, uint64_t *saved_mid)
{
	int rc = st_op_begin(txn);
	if (rc)
		return rc;
	return st_op_end(txn, msg_save(txn, mbox, mid, saved_mid));
}

int st_msg_delete(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc)
{
	struct st_msg_hdr h;
	uint8_t k[24];
	int rc = st_msg_read(txn, mbox, gc, &h);
	if (rc)
		return rc;
	if (h.state == MP_STORE_MSG_SAVED &&
	    ((rc = st_del(txn, txn->st->idx, k, ckey(k, mbox, h.folder, h.assoc, gc))) ||
	     (rc = st_folder_count(txn, mbox, h.folder, h.assoc, -1, h.read ? 0 : -1))))
		return rc;
	if ((rc = del_records(txn, mbox, gc)) ||
	    (rc = st_del(txn, txn->st->idx, k, pkey(k, mbox, gc))))
		return rc;
	return MP_OK;
}

static int msg_discard(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid)
{
	struct st_msg_hdr h;
	uint64_t gc;
	int rc = msg_hdr_of(txn, mbox, mid, &gc, &h);
	if (rc)
		return rc;
	if (h.state == MP_STORE_MSG_SAVED)
		return st_fail(txn, MP_ERR_PROTO, MP_STORE_EC_INVALID_PARAM,
			       "message 0x%016llx is saved: delete it instead",
			       (unsigned long long)mid);
	return st_msg_delete(txn, mbox, gc);
}

int mp_store_msg_discard(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid)
{
	int rc = st_op_begin(txn);
	if (rc)
		return rc;
	return st_op_end(txn, msg_discard(txn, mbox, mid));
}

int mp_store_msg_delete(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid)
{
	uint64_t gc;
	int rc = st_op_begin(txn);
	if (rc)
		return rc;
	rc = st_id_gc(txn, mid, "message", &gc);
	if (rc == MP_OK)
		rc = st_msg_delete(txn, mbox, gc);
	return st_op_end(txn, rc);
}

int st_purge_pending(struct mp_store_txn *txn)
{
	/* Unsaved messages and drafts live only while a session edits them. */
	struct st_iter users;
	int rc = st_iter_open(txn, txn->st->users, "", 0, &users);
	if (rc)
		return rc;
	uint32_t *ids = NULL;
	size_t n = 0;
	while ((rc = st_iter_next(txn, &users)) == 1) {
		if (users.k.mv_size != 4 || n >= MP_STORE_MAX_USERS)
			continue;
		uint32_t *b = talloc_realloc(txn->mem, ids, uint32_t, n + 1);
		if (!b) {
			rc = st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
			break;
		}
		ids = b;
		ids[n++] = st_get_be32(users.k.mv_data);
	}
	st_iter_close(&users);
	for (size_t i = 0; rc >= 0 && i < n; i++) {
		uint8_t pre[5];
		struct st_iter it;
		uint64_t *gcs = NULL;
		size_t m = 0;
		st_idxkey(pre, ids[i], 'p');
		if ((rc = st_iter_open(txn, txn->st->idx, pre, sizeof(pre), &it)))
			break;
		while ((rc = st_iter_next(txn, &it)) == 1) {
			if (it.k.mv_size != 13)
				continue;
			uint64_t *b = talloc_realloc(txn->mem, gcs, uint64_t, m + 1);
			if (!b) {
				rc = st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
				break;
			}
			gcs = b;
			gcs[m++] = st_get_be64((const uint8_t *)it.k.mv_data + 5);
		}
		st_iter_close(&it);
		for (size_t j = 0; rc >= 0 && j < m; j++) {
			uint8_t k[16];
			rc = del_records(txn, ids[i], gcs[j]);
			if (rc == MP_OK)
				rc = st_del(txn, txn->st->idx, k, pkey(k, ids[i], gcs[j]));
		}
		talloc_free(gcs);
	}
	talloc_free(ids);
	return rc < 0 ? rc : MP_OK;
}

/* ---- Move, copy ---- */

static int msg_transfer(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid, uint64_t dst,
			bool move, uint64_t *new_mid)
{
	struct st_msg_hdr h;
	struct st_folder_hdr fh;
	uint64_t gc, dgc, ngc;
	uint8_t k[24];
	int rc;
	if ((rc = msg_hdr_of(txn, mbox, mid, &gc, &h)) || (rc = st_id_gc(txn, dst, "folder", &dgc)) ||
	    (rc = st_folder_read(txn, mbox, dgc, &fh)))
		return rc;
	if (fh.type == MP_FOLDER_SEARCH)
		return st_fail(txn, MP_ERR_PROTO, MP_STORE_EC_NOT_SUPPORTED,
			       "messages cannot be put in a search folder");
	if (h.state != MP_STORE_MSG_SAVED)
		return st_fail(txn, MP_ERR_PROTO, MP_STORE_EC_INVALID_PARAM,
			       "message 0x%016llx is not saved", (unsigned long long)mid);
	if ((rc = st_alloc_gc(txn, mbox, &ngc)) || (rc = st_copy_records(txn, mbox, gc, ngc)))
		return rc;
	h.folder = dgc;
	if ((rc = st_msg_write(txn, mbox, ngc, &h)) ||
	    (rc = st_put(txn, txn->st->idx, k, ckey(k, mbox, dgc, h.assoc, ngc), "", 0)) ||
	    (rc = st_folder_count(txn, mbox, dgc, h.assoc, 1, h.read ? 0 : 1)) ||
	    (rc = msg_identity(txn, mbox, ngc, dgc, move)) ||
	    (rc = st_stamp_change(txn, mbox, ngc, MP_STORE_KIND_MESSAGE)))
		return rc;
	if (move && (rc = st_msg_delete(txn, mbox, gc)))
		return rc;
	*new_mid = st_id(ngc);
	return MP_OK;
}

int mp_store_msg_move(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid, uint64_t dst,
		      uint64_t *new_mid)
{
	int rc = st_op_begin(txn);
	if (rc)
		return rc;
	return st_op_end(txn, msg_transfer(txn, mbox, mid, dst, true, new_mid));
}

int mp_store_msg_copy(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid, uint64_t dst,
		      uint64_t *new_mid)
{
	int rc = st_op_begin(txn);
	if (rc)
		return rc;
	return st_op_end(txn, msg_transfer(txn, mbox, mid, dst, false, new_mid));
}

int mp_store_msg_get(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid,
		     struct mp_store_msg_info *out)
{
	struct st_msg_hdr h;
	uint64_t gc;
	int rc = msg_hdr_of(txn, mbox, mid, &gc, &h);
	if (rc)
		return rc;
	memset(out, 0, sizeof(*out));
	out->mid = mid;
	out->fid = st_id(h.folder);
	out->orig_mid = st_id(h.orig);
	out->state = h.state;
	out->associated = h.assoc;
	out->read = h.read;
	out->n_recipients = h.n_recips;
	out->n_attachments = h.n_attach;
	return MP_OK;
}

/* ---- Read flag ---- */

/* Set the read state, keeping PidTagMessageFlags and the folder's unread
 * count (saved messages only: unsaved ones are not counted). */
static int set_read(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, struct st_msg_hdr *h,
		    bool read)
{
	const uint8_t M = MP_STORE_KIND_MESSAGE;
	uint32_t flags = 0;
	int rc;
	st_prop_get_u32(txn, mbox, gc, M, 0, MP_TAG_MESSAGE_FLAGS, &flags);
	flags = read ? (flags | MP_MSGFLAG_READ) : (flags & ~MP_MSGFLAG_READ);
	if ((rc = st_prop_u32(txn, mbox, gc, M, 0, MP_TAG_MESSAGE_FLAGS, flags)))
		return rc;
	if (h->read == read)
		return MP_OK;
	if (h->state == MP_STORE_MSG_SAVED &&
	    (rc = st_folder_count(txn, mbox, h->folder, h->assoc, 0, read ? -1 : 1)))
		return rc;
	h->read = read;
	return st_msg_write(txn, mbox, gc, h);
}

int mp_store_msg_set_read(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid, bool read,
			  bool *changed)
{
	struct st_msg_hdr h;
	uint64_t gc;
	int rc = st_op_begin(txn);
	if (rc)
		return rc;
	rc = msg_hdr_of(txn, mbox, mid, &gc, &h);
	if (rc == MP_OK) {
		bool was = h.read;
		rc = set_read(txn, mbox, gc, &h, read);
		if (rc == MP_OK && changed)
			*changed = was != read;
	}
	return st_op_end(txn, rc);
}

int st_msg_set_flags(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, uint32_t flags)
{
	const uint8_t M = MP_STORE_KIND_MESSAGE;
	const uint32_t computed = MP_MSGFLAG_HASATTACH | MP_MSGFLAG_FAI;
	struct st_msg_hdr h;
	uint32_t cur = 0;
	int rc = st_msg_read(txn, mbox, gc, &h);
	if (rc)
		return rc;
	st_prop_get_u32(txn, mbox, gc, M, 0, MP_TAG_MESSAGE_FLAGS, &cur);
	flags = (flags & ~computed) | (cur & MP_MSGFLAG_HASATTACH) | (h.assoc ? MP_MSGFLAG_FAI : 0);
	if ((rc = st_prop_u32(txn, mbox, gc, M, 0, MP_TAG_MESSAGE_FLAGS, flags)))
		return rc;
	return set_read(txn, mbox, gc, &h, (flags & MP_MSGFLAG_READ) != 0);
}

/* ---- Recipients ---- */

static int recip_exists(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, uint32_t row)
{
	uint8_t k[ST_OBJKEY_LEN];
	MDB_val v;
	st_objkey(k, mbox, gc, MP_STORE_KIND_RECIPIENT, row, 0);
	return st_get(txn, txn->st->obj, k, sizeof(k), &v);
}

static int recip_set(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid, uint32_t row,
		     const struct mp_store_prop *props, size_t n)
{
	const uint8_t R = MP_STORE_KIND_RECIPIENT;
	struct st_msg_hdr h;
	uint64_t gc;
	uint8_t pre[ST_OBJKEY_LEN];
	int rc;
	if ((rc = msg_hdr_of(txn, mbox, mid, &gc, &h)))
		return rc;
	rc = recip_exists(txn, mbox, gc, row);
	bool existed = rc == MP_OK;
	if (rc != MP_OK && rc != MP_ERR_NOTFOUND)
		return rc;
	st_objkey(pre, mbox, gc, R, row, 0);
	if (existed && (rc = st_del_prefix(txn, txn->st->obj, pre, ST_OBJPREFIX_LEN)))
		return rc;
	if (n == 0) {
		if (existed)
			h.n_recips--;
		return st_msg_write(txn, mbox, gc, &h);
	}
	if (n > MP_STORE_MAX_PROPS)
		return st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_TOO_BIG,
			       "more than %d properties on one recipient", MP_STORE_MAX_PROPS);
	if (!existed && h.n_recips >= MP_STORE_MAX_RECIPIENTS)
		return st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_TOO_BIG, "more than %d recipients",
			       MP_STORE_MAX_RECIPIENTS);
	uint8_t one = 1;
	if ((rc = st_put(txn, txn->st->obj, pre, sizeof(pre), &one, 1)))
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (MP_PROP_ID(props[i].tag) == MP_PROP_ID(MP_TAG_ROWID))
			continue; /* the row id is the store's */
		if ((rc = st_prop_check(txn, props[i].tag, props[i].form, props[i].data,
					props[i].len)))
			return rc;
		if (mp_store_tag_is_computed(props[i].tag))
			return st_fail(txn, MP_ERR_PROTO, MP_STORE_EC_ACCESS_DENIED,
				       "property 0x%08x is computed by the store", props[i].tag);
		if ((rc = st_prop_put(txn, mbox, gc, R, row, props[i].tag, props[i].form,
				      props[i].data, props[i].len)))
			return rc;
	}
	if ((rc = st_prop_u32(txn, mbox, gc, R, row, MP_TAG_ROWID, row)))
		return rc;
	if (!existed)
		h.n_recips++;
	return st_msg_write(txn, mbox, gc, &h);
}

/* Copies of the caller's values: they may point at values read in this
 * transaction, which writes can move. */
static int copy_props(struct mp_store_txn *txn, const struct mp_store_prop *props, size_t n,
		      struct mp_store_prop **out)
{
	*out = NULL;
	if (n == 0)
		return MP_OK;
	if (n > MP_STORE_MAX_PROPS)
		return st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_TOO_BIG,
			       "more than %d properties on one recipient", MP_STORE_MAX_PROPS);
	struct mp_store_prop *c = talloc_array(txn->mem, struct mp_store_prop, n);
	if (!c)
		return st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		c[i] = props[i];
		if (props[i].len > (size_t)MP_STORE_MAX_STREAM + 4) {
			talloc_free(c);
			return st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_TOO_BIG,
				       "property 0x%08x: above the size limit", props[i].tag);
		}
		uint8_t *d = talloc_size(c, props[i].len + 1);
		if (!d) {
			talloc_free(c);
			return st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
		}
		if (props[i].len)
			memcpy(d, props[i].data, props[i].len);
		c[i].data = d;
	}
	*out = c;
	return MP_OK;
}

int mp_store_recip_set(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid, uint32_t row_id,
		       const struct mp_store_prop *props, size_t n)
{
	struct mp_store_prop *c;
	int rc = copy_props(txn, props, n, &c);
	if (rc)
		return rc;
	rc = st_op_begin(txn);
	if (rc == MP_OK)
		rc = st_op_end(txn, recip_set(txn, mbox, mid, row_id, c, n));
	talloc_free(c);
	return rc;
}

int mp_store_recip_add(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid,
		       const struct mp_store_prop *props, size_t n, uint32_t *row_id)
{
	uint64_t gc;
	uint32_t *rows;
	size_t nr;
	int rc = st_op_begin(txn);
	if (rc)
		return rc;
	rc = st_id_gc(txn, mid, "message", &gc);
	if (rc == MP_OK)
		rc = sub_list(txn, mbox, gc, MP_STORE_KIND_RECIPIENT, txn->mem, &rows, &nr);
	if (rc == MP_OK) {
		uint32_t next = nr ? rows[nr - 1] + 1 : 0; /* rows come sorted */
		talloc_free(rows);
		if (nr && next == 0)
			rc = st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_TOO_BIG, "row ids exhausted");
		else if (n == 0)
			rc = st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM,
				     "a recipient needs properties");
		else {
			struct mp_store_prop *c;
			rc = copy_props(txn, props, n, &c);
			if (rc == MP_OK && (rc = recip_set(txn, mbox, mid, next, c, n)) == MP_OK)
				*row_id = next;
			talloc_free(c);
		}
	}
	return st_op_end(txn, rc);
}

int mp_store_recip_delete(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid, uint32_t row_id)
{
	uint64_t gc;
	int rc = st_op_begin(txn);
	if (rc)
		return rc;
	rc = st_id_gc(txn, mid, "message", &gc);
	if (rc == MP_OK && (rc = recip_exists(txn, mbox, gc, row_id)) == MP_ERR_NOTFOUND)
		rc = st_fail(txn, rc, MP_STORE_EC_NOT_FOUND, "recipient %u: not found", row_id);
	if (rc == MP_OK)
		rc = recip_set(txn, mbox, mid, row_id, NULL, 0);
	return st_op_end(txn, rc);
}

int mp_store_recip_remove_all(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid)
{
	struct st_msg_hdr h;
	uint64_t gc;
	uint8_t pre[ST_OBJKEY_LEN];
	int rc = st_op_begin(txn);
	if (rc)
		return rc;
	rc = msg_hdr_of(txn, mbox, mid, &gc, &h);
	if (rc == MP_OK) {
		st_objkey(pre, mbox, gc, MP_STORE_KIND_RECIPIENT, 0, 0);
		rc = st_del_prefix(txn, txn->st->obj, pre, 13);
	}
	if (rc == MP_OK) {
		h.n_recips = 0;
		rc = st_msg_write(txn, mbox, gc, &h);
	}
	return st_op_end(txn, rc);
}

int mp_store_recip_list(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid, void *mem,
			uint32_t **row_ids, size_t *n)
{
	struct st_msg_hdr h;
	uint64_t gc;
	int rc = msg_hdr_of(txn, mbox, mid, &gc, &h);
	return rc ? rc : sub_list(txn, mbox, gc, MP_STORE_KIND_RECIPIENT, mem, row_ids, n);
}

/* ---- Attachments ---- */

static int attach_create(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid, uint32_t *num)
{
	const uint8_t A = MP_STORE_KIND_ATTACHMENT;
	struct st_msg_hdr h;
	uint64_t gc;
	uint8_t k[ST_OBJKEY_LEN], one = 1;
	int rc;
	if ((rc = msg_hdr_of(txn, mbox, mid, &gc, &h)))
		return rc;
	if (h.n_attach >= MP_STORE_MAX_ATTACHMENTS || h.next_attach == UINT32_MAX)
		return st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_TOO_BIG, "more than %d attachments",
			       MP_STORE_MAX_ATTACHMENTS);
	uint32_t n = h.next_attach++;
	h.n_attach++;
	uint64_t now = mp_store_filetime_now();
	st_objkey(k, mbox, gc, A, n, 0);
	if ((rc = st_put(txn, txn->st->obj, k, sizeof(k), &one, 1)) ||
	    (rc = st_prop_u32(txn, mbox, gc, A, n, MP_TAG_ATTACH_NUM, n)) ||
	    (rc = st_prop_u32(txn, mbox, gc, A, n, MP_TAG_ATTACH_SIZE, 0)) ||
	    (rc = st_prop_u64(txn, mbox, gc, A, n, MP_TAG_CREATION_TIME, now)) ||
	    (rc = st_prop_u64(txn, mbox, gc, A, n, MP_TAG_LAST_MODIFICATION_TIME, now)) ||
	    (rc = st_msg_write(txn, mbox, gc, &h)))
		return rc;
	*num = n;
	return MP_OK;
}

int mp_store_attach_create(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid, uint32_t *num)
{
	int rc = st_op_begin(txn);
	if (rc)
		return rc;
	return st_op_end(txn, attach_create(txn, mbox, mid, num));
}

int mp_store_attach_save(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid, uint32_t num)
{
	uint64_t gc;
	struct mp_store_obj o = mp_store_obj_attach(mbox, mid, num);
	int rc = st_op_begin(txn);
	if (rc)
		return rc;
	rc = st_obj_check(txn, &o, &gc);
	if (rc == MP_OK)
		rc = st_prop_u64(txn, mbox, gc, MP_STORE_KIND_ATTACHMENT, num,
				 MP_TAG_LAST_MODIFICATION_TIME, mp_store_filetime_now());
	if (rc == MP_OK)
		rc = attach_size(txn, mbox, gc, num);
	return st_op_end(txn, rc);
}

int mp_store_attach_delete(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid, uint32_t num)
{
	struct st_msg_hdr h;
	uint64_t gc;
	uint8_t pre[ST_OBJKEY_LEN];
	struct mp_store_obj o = mp_store_obj_attach(mbox, mid, num);
	int rc = st_op_begin(txn);
	if (rc)
		return rc;
	rc = st_obj_check(txn, &o, &gc);
	if (rc == MP_OK)
		rc = st_msg_read(txn, mbox, gc, &h);
	if (rc == MP_OK) {
		st_objkey(pre, mbox, gc, MP_STORE_KIND_ATTACHMENT, num, 0);
		rc = st_del_prefix(txn, txn->st->obj, pre, ST_OBJPREFIX_LEN);
	}
	if (rc == MP_OK) {
		h.n_attach--;
		rc = st_msg_write(txn, mbox, gc, &h);
	}
	return st_op_end(txn, rc);
}

int mp_store_attach_list(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid, void *mem,
			 uint32_t **nums, size_t *n)
{
	struct st_msg_hdr h;
	uint64_t gc;
	int rc = msg_hdr_of(txn, mbox, mid, &gc, &h);
	return rc ? rc : sub_list(txn, mbox, gc, MP_STORE_KIND_ATTACHMENT, mem, nums, n);
}
