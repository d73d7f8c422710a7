/*
 * Mailboxes and folders: the standard hierarchy of a new mailbox (the
 * special folders of MS-OXOSFLD / MS-OXCSTOR with their container classes
 * and the PidTagIpm*EntryId properties), folder create / delete / rename /
 * move / empty, hierarchy listings, and receive folders per message class.
 */
#include "server/store/store_int.h"

#include <string.h>

#include <talloc.h>

#define NO_SPECIAL 0xff

static const struct {
	const char *name;
	int parent; /* enum mp_store_special, -1 for the root */
	const char *container_class;
	uint32_t type;
} specials[MP_STORE_SF_COUNT] = {
	[MP_STORE_SF_ROOT] = {"Root Container", -1, NULL, MP_FOLDER_ROOT},
	[MP_STORE_SF_DEFERRED_ACTION] = {"Deferred Action", MP_STORE_SF_ROOT, NULL, MP_FOLDER_GENERIC},
	[MP_STORE_SF_SPOOLER_QUEUE] = {"Spooler Queue", MP_STORE_SF_ROOT, NULL, MP_FOLDER_GENERIC},
	[MP_STORE_SF_IPM_SUBTREE] = {"Top of Information Store", MP_STORE_SF_ROOT, NULL,
				     MP_FOLDER_GENERIC},
	[MP_STORE_SF_INBOX] = {"Inbox", MP_STORE_SF_IPM_SUBTREE, "IPF.Note", MP_FOLDER_GENERIC},
	[MP_STORE_SF_OUTBOX] = {"Outbox", MP_STORE_SF_IPM_SUBTREE, "IPF.Note", MP_FOLDER_GENERIC},
	[MP_STORE_SF_SENT_ITEMS] = {"Sent Items", MP_STORE_SF_IPM_SUBTREE, "IPF.Note",
				    MP_FOLDER_GENERIC},
	[MP_STORE_SF_DELETED_ITEMS] = {"Deleted Items", MP_STORE_SF_IPM_SUBTREE, "IPF.Note",
				       MP_FOLDER_GENERIC},
	[MP_STORE_SF_COMMON_VIEWS] = {"Common Views", MP_STORE_SF_ROOT, NULL, MP_FOLDER_GENERIC},
	[MP_STORE_SF_SCHEDULE] = {"Schedule", MP_STORE_SF_ROOT, NULL, MP_FOLDER_GENERIC},
	[MP_STORE_SF_FINDER] = {"Finder", MP_STORE_SF_ROOT, NULL, MP_FOLDER_GENERIC},
	[MP_STORE_SF_VIEWS] = {"Views", MP_STORE_SF_ROOT, NULL, MP_FOLDER_GENERIC},
	[MP_STORE_SF_SHORTCUTS] = {"Shortcuts", MP_STORE_SF_ROOT, NULL, MP_FOLDER_GENERIC},
	[MP_STORE_SF_CALENDAR] = {"Calendar", MP_STORE_SF_IPM_SUBTREE, "IPF.Appointment",
				  MP_FOLDER_GENERIC},
	[MP_STORE_SF_CONTACTS] = {"Contacts", MP_STORE_SF_IPM_SUBTREE, "IPF.Contact",
				  MP_FOLDER_GENERIC},
	[MP_STORE_SF_JOURNAL] = {"Journal", MP_STORE_SF_IPM_SUBTREE, "IPF.Journal",
				 MP_FOLDER_GENERIC},
	[MP_STORE_SF_NOTES] = {"Notes", MP_STORE_SF_IPM_SUBTREE, "IPF.StickyNote",
			       MP_FOLDER_GENERIC},
	[MP_STORE_SF_TASKS] = {"Tasks", MP_STORE_SF_IPM_SUBTREE, "IPF.Task", MP_FOLDER_GENERIC},
	[MP_STORE_SF_DRAFTS] = {"Drafts", MP_STORE_SF_IPM_SUBTREE, "IPF.Note", MP_FOLDER_GENERIC},
};

const char *mp_store_special_name(enum mp_store_special sf)
{
	return (unsigned)sf < MP_STORE_SF_COUNT ? specials[sf].name : NULL;
}

int mp_store_mailbox_get(struct mp_store_txn *txn, uint32_t mbox, struct mp_store_mailbox *out)
{
	struct st_mbox_hdr h;
	int rc = st_mbox_read(txn, mbox, &h);
	if (rc == MP_OK)
		st_mbox_info(mbox, &h, out);
	return rc;
}

/* ---- Names ---- */

static int check_folder_name(struct mp_store_txn *txn, const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > MP_STORE_MAX_FOLDER_NAME || !st_utf8_valid(name, n))
		return st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM,
			       "folder name must be 1..%d bytes of UTF-8", MP_STORE_MAX_FOLDER_NAME);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20)
			return st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM,
				       "folder name holds a control character");
	return MP_OK;
}

/* 'f' index key of `name` under `parent`. */
static int fname_key(struct mp_store_txn *txn, uint32_t mbox, uint64_t parent, const char *name,
		     uint8_t *k, size_t *kl)
{
	char *up;
	size_t n;
	int rc = st_name_key(txn->mem, name, &up, &n);
	if (rc)
		return st_fail(txn, rc, MP_STORE_EC_OOM, "out of memory");
	if (n > 3 * MP_STORE_MAX_FOLDER_NAME) {
		talloc_free(up);
		return st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_TOO_BIG, "folder name too long");
	}
	size_t o = st_idxkey(k, mbox, 'f');
	st_be64(k + o, parent);
	memcpy(k + o + 8, up, n);
	*kl = o + 8 + n;
	talloc_free(up);
	return MP_OK;
}
#define FNAME_KEY_MAX (5 + 8 + 3 * MP_STORE_MAX_FOLDER_NAME)

static int fname_lookup(struct mp_store_txn *txn, const uint8_t *k, size_t kl, uint64_t *gc)
{
	MDB_val v;
	int rc = st_get(txn, txn->st->idx, k, kl, &v);
	if (rc)
		return rc;
	if (v.mv_size != 8)
		return st_fail(txn, MP_ERR_IO, MP_STORE_EC_CORRUPT, "bad folder name entry");
	*gc = st_get_le64(v.mv_data);
	return MP_OK;
}

static int fname_put(struct mp_store_txn *txn, const uint8_t *k, size_t kl, uint64_t gc)
{
	uint8_t v[8];
	st_le64(v, gc);
	return st_put(txn, txn->st->idx, k, kl, v, 8);
}

static size_t hkey(uint8_t *k, uint32_t mbox, uint64_t parent, uint64_t child)
{
	size_t o = st_idxkey(k, mbox, 'h');
	st_be64(k + o, parent);
	st_be64(k + o + 8, child);
	return o + 16;
}

/* The folder's current name, as stored in PidTagDisplayName, under mem. */
static int folder_name(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, char **out)
{
	struct mp_store_obj o = mp_store_obj_folder(mbox, st_id(gc));
	return mp_store_prop_get_string(txn, &o, MP_TAG_DISPLAY_NAME, txn->mem, out);
}

/* Depth of a folder (the root is 0), walking up; bounded. */
static int folder_depth(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, unsigned *depth)
{
	struct st_folder_hdr h;
	*depth = 0;
	for (;;) {
		int rc = st_folder_read(txn, mbox, gc, &h);
		if (rc)
			return rc;
		if (h.parent == 0)
			return MP_OK;
		if (++*depth > MP_STORE_MAX_FOLDER_DEPTH + 1)
			return st_fail(txn, MP_ERR_IO, MP_STORE_EC_CORRUPT, "folder tree too deep");
		gc = h.parent;
	}
}

/* ---- Creation ---- */

int st_stamp_change(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, uint8_t kind)
{
	struct st_mbox_hdr h;
	uint64_t cn;
	uint8_t xid[MP_STORE_XID_LEN];
	int rc = st_alloc_gc(txn, mbox, &cn);
	if (rc == MP_OK)
		rc = st_mbox_read(txn, mbox, &h);
	if (rc)
		return rc;
	mp_store_xid_build(h.replica_guid, cn, xid);
	if ((rc = st_prop_u64(txn, mbox, gc, kind, 0, MP_TAG_CHANGE_NUMBER, st_id(cn))) ||
	    (rc = st_prop_bin(txn, mbox, gc, kind, 0, MP_TAG_CHANGE_KEY, xid, sizeof(xid))) ||
	    (rc = st_prop_u64(txn, mbox, gc, kind, 0, MP_TAG_LAST_MODIFICATION_TIME,
			      mp_store_filetime_now())))
		return rc;
	return MP_OK;
}

/* The parent-dependent identity properties of a folder. */
static int folder_parent_props(struct mp_store_txn *txn, uint32_t mbox,
			       const struct st_mbox_hdr *mh, uint64_t gc, uint64_t parent)
{
	const uint8_t F = MP_STORE_KIND_FOLDER;
	struct mp_store_mailbox mb;
	uint8_t eid[MP_STORE_FOLDER_EID_LEN], xid[MP_STORE_XID_LEN];
	int rc;
	if (!parent)
		return MP_OK;
	st_mbox_info(mbox, mh, &mb);
	mp_store_folder_eid(&mb, st_id(parent), eid);
	mp_store_xid_build(mh->replica_guid, parent, xid);
	if ((rc = st_prop_u64(txn, mbox, gc, F, 0, MP_TAG_PARENT_FOLDER_ID, st_id(parent))) ||
	    (rc = st_prop_bin(txn, mbox, gc, F, 0, MP_TAG_PARENT_ENTRYID, eid, sizeof(eid))) ||
	    (rc = st_prop_bin(txn, mbox, gc, F, 0, MP_TAG_PARENT_SOURCE_KEY, xid, sizeof(xid))))
		return rc;
	return MP_OK;
}

/* Create folder `gc` under `parent` (0: the root) with all its records. */
static int folder_new(struct mp_store_txn *txn, uint32_t mbox, uint64_t parent, uint64_t gc,
		      const char *name, const char *cls, uint32_t type, uint8_t special)
{
	const uint8_t F = MP_STORE_KIND_FOLDER;
	struct st_mbox_hdr mh;
	struct st_folder_hdr h = {.special = special, .type = type, .parent = parent};
	uint8_t k[FNAME_KEY_MAX];
	size_t kl;
	int rc;

	if ((rc = st_mbox_read(txn, mbox, &mh)))
		return rc;
	if (mh.folders >= MP_STORE_MAX_FOLDERS)
		return st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_TOO_BIG, "more than %d folders",
			       MP_STORE_MAX_FOLDERS);
	mh.folders++;
	if ((rc = st_mbox_write(txn, mbox, &mh)) || (rc = st_folder_write(txn, mbox, gc, &h)))
		return rc;
	if (parent) {
		struct st_folder_hdr ph;
		if ((rc = fname_key(txn, mbox, parent, name, k, &kl)) ||
		    (rc = fname_put(txn, k, kl, gc)) ||
		    (rc = st_put(txn, txn->st->idx, k, hkey(k, mbox, parent, gc), "", 0)) ||
		    (rc = st_folder_read(txn, mbox, parent, &ph)))
			return rc;
		ph.children++;
		if ((rc = st_folder_write(txn, mbox, parent, &ph)))
			return rc;
	}

	struct mp_store_mailbox mb;
	uint8_t eid[MP_STORE_FOLDER_EID_LEN], xid[MP_STORE_XID_LEN];
	uint64_t now = mp_store_filetime_now();
	st_mbox_info(mbox, &mh, &mb);
	mp_store_folder_eid(&mb, st_id(gc), eid);
	mp_store_xid_build(mh.replica_guid, gc, xid);
	if ((rc = st_prop_str(txn, mbox, gc, F, 0, MP_TAG_DISPLAY_NAME, name)) ||
	    (cls && (rc = st_prop_str(txn, mbox, gc, F, 0, MP_TAG_CONTAINER_CLASS, cls))) ||
	    (rc = st_prop_u32(txn, mbox, gc, F, 0, MP_TAG_FOLDER_TYPE, type)) ||
	    (rc = st_prop_u64(txn, mbox, gc, F, 0, MP_TAG_FOLDER_ID, st_id(gc))) ||
	    (rc = st_prop_bin(txn, mbox, gc, F, 0, MP_TAG_ENTRYID, eid, sizeof(eid))) ||
	    (rc = st_prop_bin(txn, mbox, gc, F, 0, MP_TAG_RECORD_KEY, eid, sizeof(eid))) ||
	    (rc = st_prop_bin(txn, mbox, gc, F, 0, MP_TAG_SOURCE_KEY, xid, sizeof(xid))) ||
	    (rc = st_prop_u64(txn, mbox, gc, F, 0, MP_TAG_CREATION_TIME, now)) ||
	    (rc = folder_parent_props(txn, mbox, &mh, gc, parent)) ||
	    (rc = st_stamp_change(txn, mbox, gc, F)))
		return rc;
	return MP_OK;
}

/* Default receive folder entries of a new mailbox. */
static int recv_put(struct mp_store_txn *txn, uint32_t mbox, const char *cls, uint64_t fgc);

int st_mailbox_create(struct mp_store_txn *txn, uint32_t mbox, const uint8_t mailbox_guid[16],
		      const uint8_t replica_guid[16], const char *display_name, const char *dn)
{
	struct st_mbox_hdr h;
	int rc;

	memset(&h, 0, sizeof(h));
	h.replid = MP_STORE_REPLID;
	memcpy(h.mailbox_guid, mailbox_guid, 16);
	memcpy(h.replica_guid, replica_guid, 16);
	h.next_gc = 1;
	h.next_named = 0x8000;
	if ((rc = st_mbox_write(txn, mbox, &h)))
		return rc;

	/* In enum order, so every new mailbox gets the same FIDs (Root = 1; the
	 * change numbers come from the same counter in between). */
	uint64_t gcs[MP_STORE_SF_COUNT];
	for (int sf = 0; sf < MP_STORE_SF_COUNT; sf++) {
		if ((rc = st_alloc_gc(txn, mbox, &gcs[sf])))
			return rc;
		uint64_t parent = specials[sf].parent < 0 ? 0 : gcs[specials[sf].parent];
		if ((rc = folder_new(txn, mbox, parent, gcs[sf], specials[sf].name,
				     specials[sf].container_class, specials[sf].type, (uint8_t)sf)))
			return rc;
	}
	if ((rc = st_mbox_read(txn, mbox, &h)))
		return rc;
	memcpy(h.special, gcs, sizeof(gcs));
	if ((rc = st_mbox_write(txn, mbox, &h)))
		return rc;

	/* MS-OXOSFLD: the Outlook special folders' entry IDs on the
	 * Inbox and the Root folder. */
	static const struct {
		uint32_t tag;
		int sf;
	} on_inbox[] = {
		{MP_TAG_IPM_APPOINTMENT_ENTRYID, MP_STORE_SF_CALENDAR},
		{MP_TAG_IPM_CONTACT_ENTRYID, MP_STORE_SF_CONTACTS},
		{MP_TAG_IPM_JOURNAL_ENTRYID, MP_STORE_SF_JOURNAL},
		{MP_TAG_IPM_NOTE_ENTRYID, MP_STORE_SF_NOTES},
		{MP_TAG_IPM_TASK_ENTRYID, MP_STORE_SF_TASKS},
		{MP_TAG_IPM_DRAFTS_ENTRYID, MP_STORE_SF_DRAFTS},
	};
	/* MS-OXCSTOR: the store object's folder entry IDs. */
	static const struct {
		uint32_t tag;
		int sf;
	} on_store[] = {
		{MP_TAG_IPM_SUBTREE_ENTRYID, MP_STORE_SF_IPM_SUBTREE},
		{MP_TAG_IPM_OUTBOX_ENTRYID, MP_STORE_SF_OUTBOX},
		{MP_TAG_IPM_WASTEBASKET_ENTRYID, MP_STORE_SF_DELETED_ITEMS},
		{MP_TAG_IPM_SENTMAIL_ENTRYID, MP_STORE_SF_SENT_ITEMS},
		{MP_TAG_VIEWS_ENTRYID, MP_STORE_SF_VIEWS},
		{MP_TAG_COMMON_VIEWS_ENTRYID, MP_STORE_SF_COMMON_VIEWS},
		{MP_TAG_FINDER_ENTRYID, MP_STORE_SF_FINDER},
	};
	struct mp_store_mailbox mb;
	uint8_t eid[MP_STORE_FOLDER_EID_LEN];
	st_mbox_info(mbox, &h, &mb);
	for (size_t i = 0; i < sizeof(on_inbox) / sizeof(on_inbox[0]); i++) {
		mp_store_folder_eid(&mb, mb.special[on_inbox[i].sf], eid);
		if ((rc = st_prop_bin(txn, mbox, gcs[MP_STORE_SF_INBOX], MP_STORE_KIND_FOLDER, 0,
				      on_inbox[i].tag, eid, sizeof(eid))) ||
		    (rc = st_prop_bin(txn, mbox, gcs[MP_STORE_SF_ROOT], MP_STORE_KIND_FOLDER, 0,
				      on_inbox[i].tag, eid, sizeof(eid))))
			return rc;
	}
	const uint8_t S = MP_STORE_KIND_MAILBOX;
	for (size_t i = 0; i < sizeof(on_store) / sizeof(on_store[0]); i++) {
		mp_store_folder_eid(&mb, mb.special[on_store[i].sf], eid);
		if ((rc = st_prop_bin(txn, mbox, 0, S, 0, on_store[i].tag, eid, sizeof(eid))))
			return rc;
	}
	uint8_t *abeid;
	size_t ablen;
	char *mbname = talloc_asprintf(txn->mem, "Mailbox - %s", display_name);
	if (!mbname || mp_store_ab_eid_build(txn->mem, dn, 0, &abeid, &ablen) != MP_OK)
		return st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
	if ((rc = st_prop_str(txn, mbox, 0, S, 0, MP_TAG_DISPLAY_NAME, mbname)) ||
	    (rc = st_prop_str(txn, mbox, 0, S, 0, MP_TAG_MAILBOX_OWNER_NAME, display_name)) ||
	    (rc = st_prop_bin(txn, mbox, 0, S, 0, MP_TAG_MAILBOX_OWNER_ENTRYID, abeid, ablen)) ||
	    (rc = st_prop_bin(txn, mbox, 0, S, 0, MP_TAG_RECORD_KEY, mailbox_guid, 16)))
		return rc;

	/* MAPI's default receive folders: "", IPM and REPORT.IPM -> Inbox, IPC -> Root. */
	if ((rc = recv_put(txn, mbox, "", gcs[MP_STORE_SF_INBOX])) ||
	    (rc = recv_put(txn, mbox, "IPM", gcs[MP_STORE_SF_INBOX])) ||
	    (rc = recv_put(txn, mbox, "REPORT.IPM", gcs[MP_STORE_SF_INBOX])) ||
	    (rc = recv_put(txn, mbox, "IPC", gcs[MP_STORE_SF_ROOT])))
		return rc;
	return MP_OK;
}

/* ---- Folder operations ---- */

int mp_store_folder_get(struct mp_store_txn *txn, uint32_t mbox, uint64_t fid,
			struct mp_store_folder_info *out)
{
	uint64_t gc = 0;
	struct st_folder_hdr h;
	int rc = st_id_gc(txn, fid, "folder", &gc);
	if (rc == MP_OK)
		rc = st_folder_read(txn, mbox, gc, &h);
	if (rc)
		return rc;
	memset(out, 0, sizeof(*out));
	out->fid = fid;
	out->parent_fid = st_id(h.parent);
	out->folder_type = h.type;
	out->special = h.special == NO_SPECIAL ? -1 : h.special;
	out->content_count = h.content;
	out->unread_count = h.unread;
	out->assoc_count = h.assoc;
	out->child_count = h.children;
	return MP_OK;
}

static int check_class(struct mp_store_txn *txn, const char *cls, bool allow_empty)
{
	size_t n = cls ? strlen(cls) : 0;
	if (!cls || (n == 0 && !allow_empty) || n > MP_STORE_MAX_CLASS)
		return st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM,
			       "class must be 1..%d ASCII characters", MP_STORE_MAX_CLASS);
	if (n && (cls[0] == '.' || cls[n - 1] == '.' || strstr(cls, "..")))
		return st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM,
			       "class %s: misplaced '.'", cls);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)cls[i] <= 0x20 || (unsigned char)cls[i] >= 0x7f)
			return st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM,
				       "class must be printable ASCII without spaces");
	return MP_OK;
}

static int folder_create(struct mp_store_txn *txn, uint32_t mbox, uint64_t parent,
			 const char *name, const char *cls, uint32_t type, uint32_t flags,
			 uint64_t *fid, bool *existed)
{
	uint64_t pgc, gc;
	struct st_folder_hdr ph;
	uint8_t k[FNAME_KEY_MAX];
	size_t kl;
	unsigned depth;
	int rc;

	if (existed)
		*existed = false;
	if ((rc = st_id_gc(txn, parent, "folder", &pgc)) ||
	    (rc = st_folder_read(txn, mbox, pgc, &ph)) || (rc = check_folder_name(txn, name)))
		return rc;
	if (cls && (rc = check_class(txn, cls, false)))
		return rc;
	if (type != MP_FOLDER_GENERIC && type != MP_FOLDER_SEARCH)
		return st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM,
			       "folder type %u cannot be created", type);
	if (ph.type == MP_FOLDER_SEARCH)
		return st_fail(txn, MP_ERR_PROTO, MP_STORE_EC_NOT_SUPPORTED,
			       "search folders hold no subfolders");
	if ((rc = fname_key(txn, mbox, pgc, name, k, &kl)))
		return rc;
	rc = fname_lookup(txn, k, kl, &gc);
	if (rc == MP_OK) {
		if (!(flags & MP_STORE_OPEN_IF_EXISTS))
			return st_fail(txn, MP_ERR_PROTO, MP_STORE_EC_DUPLICATE_NAME,
				       "folder %s already exists here", name);
		*fid = st_id(gc);
		if (existed)
			*existed = true;
		return MP_OK;
	}
	if (rc != MP_ERR_NOTFOUND)
		return rc;
	if ((rc = folder_depth(txn, mbox, pgc, &depth)))
		return rc;
	if (depth + 1 > MP_STORE_MAX_FOLDER_DEPTH)
		return st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_TOO_BIG,
			       "folders nest at most %d deep", MP_STORE_MAX_FOLDER_DEPTH);
	if ((rc = st_alloc_gc(txn, mbox, &gc)) ||
	    (rc = folder_new(txn, mbox, pgc, gc, name, cls, type, NO_SPECIAL)))
		return rc;
	*fid = st_id(gc);
	return MP_OK;
}

int mp_store_folder_create(struct mp_store_txn *txn, uint32_t mbox, uint64_t parent,
			   const char *name, const char *container_class, uint32_t type,
			   uint32_t flags, uint64_t *fid, bool *existed)
{
	int rc = st_op_begin(txn);
	if (rc)
		return rc;
	return st_op_end(txn, folder_create(txn, mbox, parent, name, container_class, type, flags,
					    fid, existed));
}

int st_folder_rename(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, const char *name)
{
	struct st_folder_hdr h;
	uint8_t knew[FNAME_KEY_MAX], kold[FNAME_KEY_MAX];
	size_t lnew, lold;
	char *old;
	uint64_t other = 0;
	int rc;

	if ((rc = check_folder_name(txn, name)) || (rc = st_folder_read(txn, mbox, gc, &h)))
		return rc;
	if (h.parent) {
		if ((rc = fname_key(txn, mbox, h.parent, name, knew, &lnew)))
			return rc;
		rc = fname_lookup(txn, knew, lnew, &other);
		if (rc == MP_OK && other != gc)
			return st_fail(txn, MP_ERR_PROTO, MP_STORE_EC_DUPLICATE_NAME,
				       "folder %s already exists here", name);
		if (rc != MP_OK && rc != MP_ERR_NOTFOUND)
			return rc;
		if ((rc = folder_name(txn, mbox, gc, &old)) ||
		    (rc = fname_key(txn, mbox, h.parent, old, kold, &lold)) ||
		    (rc = st_del(txn, txn->st->idx, kold, lold)) ||
		    (rc = fname_put(txn, knew, lnew, gc)))
			return rc;
	}
	if ((rc = st_prop_str(txn, mbox, gc, MP_STORE_KIND_FOLDER, 0, MP_TAG_DISPLAY_NAME, name)))
		return rc;
	return st_stamp_change(txn, mbox, gc, MP_STORE_KIND_FOLDER);
}

int mp_store_folder_rename(struct mp_store_txn *txn, uint32_t mbox, uint64_t fid, const char *name)
{
	uint64_t gc = 0;
	int rc = st_op_begin(txn);
	if (rc)
		return rc;
	rc = st_id_gc(txn, fid, "folder", &gc);
	if (rc == MP_OK)
		rc = st_folder_rename(txn, mbox, gc, name);
	return st_op_end(txn, rc);
}

/* Child GLOBCNTs of a folder, under mem. */
static int child_gcs(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, void *mem,
		     uint64_t **out, size_t *n)
{
	uint8_t prefix[13];
	size_t o = st_idxkey(prefix, mbox, 'h');
	st_be64(prefix + o, gc);
	struct st_iter it;
	int rc = st_iter_open(txn, txn->st->idx, prefix, sizeof(prefix), &it);
	if (rc)
		return rc;
	size_t cnt = 0, cap = 8;
	uint64_t *a = talloc_array(mem, uint64_t, cap);
	if (!a) {
		st_iter_close(&it);
		return st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
	}
	while ((rc = st_iter_next(txn, &it)) == 1) {
		if (it.k.mv_size != 21)
			continue;
		if (cnt == cap) {
			if (cap > MP_STORE_MAX_FOLDERS) {
				rc = st_fail(txn, MP_ERR_IO, MP_STORE_EC_CORRUPT, "too many children");
				break;
			}
			cap *= 2;
			uint64_t *b = talloc_realloc(mem, a, uint64_t, cap);
			if (!b) {
				rc = st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
				break;
			}
			a = b;
		}
		a[cnt++] = st_get_be64((const uint8_t *)it.k.mv_data + 13);
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

/* Message GLOBCNTs of a folder's contents index, under mem. */
static int content_gcs(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, bool assoc, void *mem,
		       uint64_t **out, size_t *n)
{
	uint8_t prefix[14];
	size_t o = st_idxkey(prefix, mbox, 'c');
	st_be64(prefix + o, gc);
	prefix[o + 8] = assoc;
	struct st_iter it;
	int rc = st_iter_open(txn, txn->st->idx, prefix, sizeof(prefix), &it);
	if (rc)
		return rc;
	size_t cnt = 0, cap = 16;
	uint64_t *a = talloc_array(mem, uint64_t, cap);
	if (!a) {
		st_iter_close(&it);
		return st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
	}
	while ((rc = st_iter_next(txn, &it)) == 1) {
		if (it.k.mv_size != 22)
			continue;
		if (cnt == cap) {
			if (cap > MP_STORE_MAX_FOLDER_MESSAGES) {
				rc = st_fail(txn, MP_ERR_IO, MP_STORE_EC_CORRUPT, "too many messages");
				break;
			}
			cap *= 2;
			uint64_t *b = talloc_realloc(mem, a, uint64_t, cap);
			if (!b) {
				rc = st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
				break;
			}
			a = b;
		}
		a[cnt++] = st_get_be64((const uint8_t *)it.k.mv_data + 14);
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

/* Receive-folder entries pointing at a folder that goes away: dropped, but
 * the default one falls back to the Inbox. */
static int recv_forget(struct mp_store_txn *txn, uint32_t mbox, uint64_t fgc);

/* Delete the messages of a folder (normal and/or FAI). */
static int empty_messages(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, bool assoc)
{
	uint64_t *mids;
	size_t n;
	int rc = content_gcs(txn, mbox, gc, assoc, txn->mem, &mids, &n);
	for (size_t i = 0; rc == MP_OK && i < n; i++)
		rc = st_msg_delete(txn, mbox, mids[i]);
	if (rc == MP_OK)
		talloc_free(mids);
	return rc;
}

/* Remove folder gc and everything under it (no checks but special folders). */
static int destroy(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, unsigned depth)
{
	struct st_folder_hdr h;
	uint64_t *kids;
	size_t nk;
	int rc;

	if (depth > MP_STORE_MAX_FOLDER_DEPTH + 1)
		return st_fail(txn, MP_ERR_IO, MP_STORE_EC_CORRUPT, "folder tree too deep");
	if ((rc = st_folder_read(txn, mbox, gc, &h)))
		return rc;
	if (h.special != NO_SPECIAL)
		return st_fail(txn, MP_ERR_PROTO, MP_STORE_EC_ACCESS_DENIED,
			       "special folder %s cannot be deleted", specials[h.special].name);
	if ((rc = child_gcs(txn, mbox, gc, txn->mem, &kids, &nk)))
		return rc;
	for (size_t i = 0; i < nk && rc == MP_OK; i++)
		rc = destroy(txn, mbox, kids[i], depth + 1);
	talloc_free(kids);
	if (rc || (rc = empty_messages(txn, mbox, gc, false)) ||
	    (rc = empty_messages(txn, mbox, gc, true)))
		return rc;

	/* Unlink from the parent. */
	struct st_folder_hdr ph;
	struct st_mbox_hdr mh;
	uint8_t k[FNAME_KEY_MAX];
	size_t kl;
	char *name;
	if ((rc = folder_name(txn, mbox, gc, &name)) ||
	    (rc = fname_key(txn, mbox, h.parent, name, k, &kl)) ||
	    (rc = st_del(txn, txn->st->idx, k, kl)) ||
	    (rc = st_del(txn, txn->st->idx, k, hkey(k, mbox, h.parent, gc))) ||
	    (rc = st_folder_read(txn, mbox, h.parent, &ph)))
		return rc;
	ph.children--;
	if ((rc = st_folder_write(txn, mbox, h.parent, &ph)) || (rc = recv_forget(txn, mbox, gc)))
		return rc;
	uint8_t pre[12];
	st_be32(pre, mbox);
	st_be64(pre + 4, gc);
	if ((rc = st_del_prefix(txn, txn->st->obj, pre, sizeof(pre))) ||
	    (rc = st_mbox_read(txn, mbox, &mh)))
		return rc;
	mh.folders--;
	return st_mbox_write(txn, mbox, &mh);
}

/* Whether a subtree holds messages (normal or FAI) anywhere. */
static int subtree_has_messages(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc,
				unsigned depth, bool *has)
{
	struct st_folder_hdr h;
	uint64_t *kids;
	size_t nk;
	int rc;
	if (depth > MP_STORE_MAX_FOLDER_DEPTH + 1)
		return st_fail(txn, MP_ERR_IO, MP_STORE_EC_CORRUPT, "folder tree too deep");
	if ((rc = st_folder_read(txn, mbox, gc, &h)))
		return rc;
	if (h.content || h.assoc) {
		*has = true;
		return MP_OK;
	}
	if ((rc = child_gcs(txn, mbox, gc, txn->mem, &kids, &nk)))
		return rc;
	for (size_t i = 0; i < nk && rc == MP_OK && !*has; i++)
		rc = subtree_has_messages(txn, mbox, kids[i], depth + 1, has);
	talloc_free(kids);
	return rc;
}

static int folder_delete(struct mp_store_txn *txn, uint32_t mbox, uint64_t fid, uint32_t flags)
{
	uint64_t gc = 0;
	struct st_folder_hdr h;
	int rc;
	if ((rc = st_id_gc(txn, fid, "folder", &gc)) || (rc = st_folder_read(txn, mbox, gc, &h)))
		return rc;
	if (h.special != NO_SPECIAL)
		return st_fail(txn, MP_ERR_PROTO, MP_STORE_EC_ACCESS_DENIED,
			       "special folder %s cannot be deleted", specials[h.special].name);
	if (h.children && !(flags & MP_STORE_DEL_FOLDERS))
		return st_fail(txn, MP_ERR_PROTO, MP_STORE_EC_HAS_FOLDERS,
			       "folder 0x%016llx holds folders", (unsigned long long)fid);
	if (!(flags & MP_STORE_DEL_MESSAGES)) {
		bool has = false;
		if ((rc = subtree_has_messages(txn, mbox, gc, 0, &has)))
			return rc;
		if (has)
			return st_fail(txn, MP_ERR_PROTO, MP_STORE_EC_HAS_MESSAGES,
				       "folder 0x%016llx holds messages", (unsigned long long)fid);
	}
	return destroy(txn, mbox, gc, 0);
}

int mp_store_folder_delete(struct mp_store_txn *txn, uint32_t mbox, uint64_t fid, uint32_t flags)
{
	int rc = st_op_begin(txn);
	if (rc)
		return rc;
	return st_op_end(txn, folder_delete(txn, mbox, fid, flags));
}

/* Height of a subtree (a leaf is 0), bounded. */
static int subtree_height(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, unsigned depth,
			  unsigned *height)
{
	uint64_t *kids;
	size_t nk;
	*height = 0;
	if (depth > MP_STORE_MAX_FOLDER_DEPTH + 1)
		return st_fail(txn, MP_ERR_IO, MP_STORE_EC_CORRUPT, "folder tree too deep");
	int rc = child_gcs(txn, mbox, gc, txn->mem, &kids, &nk);
	for (size_t i = 0; rc == MP_OK && i < nk; i++) {
		unsigned h;
		rc = subtree_height(txn, mbox, kids[i], depth + 1, &h);
		if (rc == MP_OK && h + 1 > *height)
			*height = h + 1;
	}
	if (rc == MP_OK)
		talloc_free(kids);
	return rc;
}

static int folder_move(struct mp_store_txn *txn, uint32_t mbox, uint64_t fid, uint64_t new_parent,
		       const char *new_name)
{
	uint64_t gc, pgc, other;
	struct st_folder_hdr h, np, op;
	struct st_mbox_hdr mh;
	int rc;

	if ((rc = st_id_gc(txn, fid, "folder", &gc)) ||
	    (rc = st_id_gc(txn, new_parent, "folder", &pgc)) ||
	    (rc = st_folder_read(txn, mbox, gc, &h)) || (rc = st_folder_read(txn, mbox, pgc, &np)))
		return rc;
	if (h.special != NO_SPECIAL)
		return st_fail(txn, MP_ERR_PROTO, MP_STORE_EC_ACCESS_DENIED,
			       "special folder %s cannot be moved", specials[h.special].name);
	if (np.type == MP_FOLDER_SEARCH)
		return st_fail(txn, MP_ERR_PROTO, MP_STORE_EC_NOT_SUPPORTED,
			       "search folders hold no subfolders");
	char *name;
	if (new_name) {
		if ((rc = check_folder_name(txn, new_name)))
			return rc;
		name = talloc_strdup(txn->mem, new_name);
		if (!name)
			return st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
	} else if ((rc = folder_name(txn, mbox, gc, &name))) {
		return rc;
	}
	if (pgc == h.parent)
		return new_name ? st_folder_rename(txn, mbox, gc, new_name) : MP_OK;

	/* No cycles: the new parent must not be the folder or below it. */
	unsigned depth = 0, height;
	for (uint64_t up = pgc; up; depth++) {
		struct st_folder_hdr uh;
		if (up == gc)
			return st_fail(txn, MP_ERR_PROTO, MP_STORE_EC_FOLDER_CYCLE,
				       "a folder cannot move into its own subtree");
		if (depth > MP_STORE_MAX_FOLDER_DEPTH + 1)
			return st_fail(txn, MP_ERR_IO, MP_STORE_EC_CORRUPT, "folder tree too deep");
		if ((rc = st_folder_read(txn, mbox, up, &uh)))
			return rc;
		up = uh.parent;
	}
	/* depth now counts the new parent's ancestors and itself. */
	if ((rc = subtree_height(txn, mbox, gc, 0, &height)))
		return rc;
	if (depth + height > MP_STORE_MAX_FOLDER_DEPTH)
		return st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_TOO_BIG,
			       "folders nest at most %d deep", MP_STORE_MAX_FOLDER_DEPTH);

	uint8_t kn[FNAME_KEY_MAX], ko[FNAME_KEY_MAX];
	size_t ln, lo;
	char *old;
	if ((rc = fname_key(txn, mbox, pgc, name, kn, &ln)))
		return rc;
	rc = fname_lookup(txn, kn, ln, &other);
	if (rc == MP_OK)
		return st_fail(txn, MP_ERR_PROTO, MP_STORE_EC_DUPLICATE_NAME,
			       "folder %s already exists there", name);
	if (rc != MP_ERR_NOTFOUND)
		return rc;
	if ((rc = folder_name(txn, mbox, gc, &old)) ||
	    (rc = fname_key(txn, mbox, h.parent, old, ko, &lo)) ||
	    (rc = st_del(txn, txn->st->idx, ko, lo)) ||
	    (rc = st_del(txn, txn->st->idx, ko, hkey(ko, mbox, h.parent, gc))) ||
	    (rc = fname_put(txn, kn, ln, gc)) ||
	    (rc = st_put(txn, txn->st->idx, kn, hkey(kn, mbox, pgc, gc), "", 0)) ||
	    (rc = st_folder_read(txn, mbox, h.parent, &op)))
		return rc;
	op.children--;
	np.children++;
	uint64_t old_parent = h.parent;
	h.parent = pgc;
	if ((rc = st_folder_write(txn, mbox, old_parent, &op)) ||
	    (rc = st_folder_write(txn, mbox, pgc, &np)) ||
	    (rc = st_folder_write(txn, mbox, gc, &h)) || (rc = st_mbox_read(txn, mbox, &mh)) ||
	    (rc = folder_parent_props(txn, mbox, &mh, gc, pgc)) ||
	    (rc = st_prop_str(txn, mbox, gc, MP_STORE_KIND_FOLDER, 0, MP_TAG_DISPLAY_NAME, name)))
		return rc;
	return st_stamp_change(txn, mbox, gc, MP_STORE_KIND_FOLDER);
}

int mp_store_folder_move(struct mp_store_txn *txn, uint32_t mbox, uint64_t fid,
			 uint64_t new_parent, const char *new_name)
{
	int rc = st_op_begin(txn);
	if (rc)
		return rc;
	return st_op_end(txn, folder_move(txn, mbox, fid, new_parent, new_name));
}

static int folder_empty(struct mp_store_txn *txn, uint32_t mbox, uint64_t fid, bool assoc,
			uint32_t flags)
{
	uint64_t gc, *kids;
	size_t nk;
	struct st_folder_hdr h;
	int rc;
	if ((rc = st_id_gc(txn, fid, "folder", &gc)) || (rc = st_folder_read(txn, mbox, gc, &h)) ||
	    (rc = empty_messages(txn, mbox, gc, false)))
		return rc;
	if (assoc && (rc = empty_messages(txn, mbox, gc, true)))
		return rc;
	if (!(flags & MP_STORE_DEL_FOLDERS))
		return MP_OK;
	if ((rc = child_gcs(txn, mbox, gc, txn->mem, &kids, &nk)))
		return rc;
	for (size_t i = 0; i < nk && rc == MP_OK; i++) {
		struct st_folder_hdr ch;
		rc = st_folder_read(txn, mbox, kids[i], &ch);
		if (rc == MP_OK && ch.special == NO_SPECIAL)
			rc = destroy(txn, mbox, kids[i], 1);
	}
	talloc_free(kids);
	return rc;
}

int mp_store_folder_empty(struct mp_store_txn *txn, uint32_t mbox, uint64_t fid, bool associated,
			  uint32_t flags)
{
	int rc = st_op_begin(txn);
	if (rc)
		return rc;
	return st_op_end(txn, folder_empty(txn, mbox, fid, associated, flags));
}

/* Depth-first, parents before children. */
static int walk(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, bool recursive,
		unsigned depth, uint64_t **a, size_t *n, size_t *cap, void *mem)
{
	uint64_t *kids;
	size_t nk;
	if (depth > MP_STORE_MAX_FOLDER_DEPTH + 1)
		return st_fail(txn, MP_ERR_IO, MP_STORE_EC_CORRUPT, "folder tree too deep");
	int rc = child_gcs(txn, mbox, gc, txn->mem, &kids, &nk);
	for (size_t i = 0; rc == MP_OK && i < nk; i++) {
		if (*n == *cap) {
			if (*cap > MP_STORE_MAX_FOLDERS) {
				rc = st_fail(txn, MP_ERR_IO, MP_STORE_EC_CORRUPT, "too many folders");
				break;
			}
			*cap *= 2;
			uint64_t *b = talloc_realloc(mem, *a, uint64_t, *cap);
			if (!b) {
				rc = st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
				break;
			}
			*a = b;
		}
		(*a)[(*n)++] = st_id(kids[i]);
		if (recursive)
			rc = walk(txn, mbox, kids[i], true, depth + 1, a, n, cap, mem);
	}
	if (rc == MP_OK)
		talloc_free(kids);
	return rc;
}

int mp_store_folder_children(struct mp_store_txn *txn, uint32_t mbox, uint64_t fid,
			     bool recursive, void *mem, uint64_t **fids, size_t *n)
{
	uint64_t gc = 0;
	struct st_folder_hdr h;
	int rc;
	if ((rc = st_id_gc(txn, fid, "folder", &gc)) || (rc = st_folder_read(txn, mbox, gc, &h)))
		return rc;
	size_t cap = 16, cnt = 0;
	uint64_t *a = talloc_array(mem, uint64_t, cap);
	if (!a)
		return st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
	rc = walk(txn, mbox, gc, recursive, 0, &a, &cnt, &cap, mem);
	if (rc) {
		talloc_free(a);
		return rc;
	}
	*fids = a;
	*n = cnt;
	return MP_OK;
}

int mp_store_folder_find(struct mp_store_txn *txn, uint32_t mbox, uint64_t parent,
			 const char *name, uint64_t *fid)
{
	uint64_t pgc, gc = 0;
	uint8_t k[FNAME_KEY_MAX];
	size_t kl;
	int rc;
	if ((rc = st_id_gc(txn, parent, "folder", &pgc)) || (rc = check_folder_name(txn, name)) ||
	    (rc = fname_key(txn, mbox, pgc, name, k, &kl)))
		return rc;
	rc = fname_lookup(txn, k, kl, &gc);
	if (rc == MP_ERR_NOTFOUND)
		return st_fail(txn, rc, MP_STORE_EC_NOT_FOUND, "folder %s: not found", name);
	if (rc == MP_OK)
		*fid = st_id(gc);
	return rc;
}

int mp_store_folder_by_path(struct mp_store_txn *txn, uint32_t mbox, const char *path,
			    uint64_t *fid)
{
	struct st_mbox_hdr h;
	int rc = st_mbox_read(txn, mbox, &h);
	if (rc)
		return rc;
	uint64_t cur = st_id(h.special[MP_STORE_SF_IPM_SUBTREE]);
	const char *p = path;
	unsigned parts = 0;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n) {
			if (++parts > MP_STORE_MAX_FOLDER_DEPTH)
				return st_fail(txn, MP_ERR_NOTFOUND, MP_STORE_EC_NOT_FOUND,
					       "%s: path too deep", path);
			char *part = talloc_strndup(txn->mem, p, n);
			if (!part)
				return st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
			rc = mp_store_folder_find(txn, mbox, cur, part, &cur);
			talloc_free(part);
			if (rc)
				return rc;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	*fid = cur;
	return MP_OK;
}

int mp_store_folder_contents(struct mp_store_txn *txn, uint32_t mbox, uint64_t fid,
			     bool associated, void *mem, uint64_t **mids, size_t *n)
{
	uint64_t gc = 0;
	struct st_folder_hdr h;
	int rc;
	if ((rc = st_id_gc(txn, fid, "folder", &gc)) || (rc = st_folder_read(txn, mbox, gc, &h)) ||
	    (rc = content_gcs(txn, mbox, gc, associated, mem, mids, n)))
		return rc;
	for (size_t i = 0; i < *n; i++)
		(*mids)[i] = st_id((*mids)[i]);
	return MP_OK;
}

/* ---- Receive folders ---- */

#define RECV_KEY_MAX (5 + MP_STORE_MAX_CLASS)

static size_t recv_key(uint8_t *k, uint32_t mbox, const char *cls, size_t n)
{
	size_t o = st_idxkey(k, mbox, 'r');
	st_ascii_upper((char *)k + o, cls, n);
	return o + n;
}

static int recv_put(struct mp_store_txn *txn, uint32_t mbox, const char *cls, uint64_t fgc)
{
	uint8_t k[RECV_KEY_MAX], v[16 + MP_STORE_MAX_CLASS];
	size_t n = strlen(cls);
	st_le64(v, fgc);
	st_le64(v + 8, mp_store_filetime_now());
	memcpy(v + 16, cls, n);
	return st_put(txn, txn->st->idx, k, recv_key(k, mbox, cls, n), v, 16 + n);
}

static int recv_forget(struct mp_store_txn *txn, uint32_t mbox, uint64_t fgc)
{
	uint8_t prefix[5];
	struct st_iter it;
	st_idxkey(prefix, mbox, 'r');
	int rc = st_iter_open(txn, txn->st->idx, prefix, sizeof(prefix), &it);
	if (rc)
		return rc;
	/* Collect first: no writes under a walking cursor. */
	char **classes = NULL;
	size_t n = 0;
	while ((rc = st_iter_next(txn, &it)) == 1) {
		if (it.v.mv_size < 16 || st_get_le64(it.v.mv_data) != fgc)
			continue;
		classes = talloc_realloc(txn->mem, classes, char *, n + 1);
		if (!classes ||
		    !(classes[n] = talloc_strndup(classes, (const char *)it.v.mv_data + 16,
						  it.v.mv_size - 16))) {
			rc = st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
			break;
		}
		n++;
	}
	st_iter_close(&it);
	if (rc < 0)
		return rc;
	struct st_mbox_hdr h;
	rc = n ? st_mbox_read(txn, mbox, &h) : MP_OK;
	for (size_t i = 0; rc == MP_OK && i < n; i++) {
		uint8_t k[RECV_KEY_MAX];
		if (classes[i][0] == '\0')
			rc = recv_put(txn, mbox, "", h.special[MP_STORE_SF_INBOX]);
		else
			rc = st_del(txn, txn->st->idx, k,
				    recv_key(k, mbox, classes[i], strlen(classes[i])));
	}
	talloc_free(classes);
	return rc;
}

int mp_store_receive_folder_get(struct mp_store_txn *txn, uint32_t mbox, const char *msg_class,
				void *mem, uint64_t *fid, char **explicit_class)
{
	const char *cls = msg_class ? msg_class : "";
	struct st_mbox_hdr h;
	int rc;
	if ((rc = check_class(txn, cls, true)) || (rc = st_mbox_read(txn, mbox, &h)))
		return rc;
	/* Longest prefix of whole dot-separated parts, then the default "". */
	size_t n = strlen(cls);
	for (;;) {
		uint8_t k[RECV_KEY_MAX];
		MDB_val v;
		rc = st_get(txn, txn->st->idx, k, recv_key(k, mbox, cls, n), &v);
		if (rc == MP_OK) {
			if (v.mv_size < 16)
				return st_fail(txn, MP_ERR_IO, MP_STORE_EC_CORRUPT,
					       "bad receive folder entry");
			*fid = st_id(st_get_le64(v.mv_data));
			if (explicit_class) {
				*explicit_class = talloc_strndup(mem, (const char *)v.mv_data + 16,
								 v.mv_size - 16);
				if (!*explicit_class)
					return st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM,
						       "out of memory");
			}
			return MP_OK;
		}
		if (rc != MP_ERR_NOTFOUND)
			return rc;
		if (n == 0)
			return st_fail(txn, MP_ERR_NOTFOUND, MP_STORE_EC_NOT_FOUND,
				       "no default receive folder");
		while (n > 0 && cls[n - 1] != '.')
			n--;
		if (n > 0)
			n--; /* drop the dot */
	}
}

static int recv_set(struct mp_store_txn *txn, uint32_t mbox, const char *cls, uint64_t fid)
{
	uint64_t gc = 0;
	struct st_folder_hdr h;
	int rc;
	if ((rc = check_class(txn, cls, true)))
		return rc;
	if (fid == 0) {
		uint8_t k[RECV_KEY_MAX];
		if (cls[0] == '\0')
			return st_fail(txn, MP_ERR_PROTO, MP_STORE_EC_ERROR,
				       "the default receive folder cannot be removed");
		return st_del(txn, txn->st->idx, k, recv_key(k, mbox, cls, strlen(cls)));
	}
	if ((rc = st_id_gc(txn, fid, "folder", &gc)) || (rc = st_folder_read(txn, mbox, gc, &h)))
		return rc;
	return recv_put(txn, mbox, cls, gc);
}

int mp_store_receive_folder_set(struct mp_store_txn *txn, uint32_t mbox, const char *msg_class,
				uint64_t fid)
{
	int rc = st_op_begin(txn);
	if (rc)
		return rc;
	return st_op_end(txn, recv_set(txn, mbox, msg_class ? msg_class : "", fid));
}

int mp_store_receive_folder_list(struct mp_store_txn *txn, uint32_t mbox, void *mem,
				 struct mp_store_receive_entry **out, size_t *n)
{
	uint8_t prefix[5];
	struct st_iter it;
	struct st_mbox_hdr h;
	int rc = st_mbox_read(txn, mbox, &h);
	if (rc)
		return rc;
	st_idxkey(prefix, mbox, 'r');
	if ((rc = st_iter_open(txn, txn->st->idx, prefix, sizeof(prefix), &it)))
		return rc;
	struct mp_store_receive_entry *a = NULL;
	size_t cnt = 0;
	while ((rc = st_iter_next(txn, &it)) == 1) {
		if (it.v.mv_size < 16)
			continue;
		if (cnt >= 4096) {
			rc = st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_TOO_BIG, "too many entries");
			break;
		}
		struct mp_store_receive_entry *b =
			talloc_realloc(mem, a, struct mp_store_receive_entry, cnt + 1);
		if (!b) {
			rc = st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
			break;
		}
		a = b;
		const uint8_t *v = it.v.mv_data;
		a[cnt].fid = st_id(st_get_le64(v));
		a[cnt].modified = st_get_le64(v + 8);
		a[cnt].msg_class = talloc_strndup(a, (const char *)v + 16, it.v.mv_size - 16);
		if (!a[cnt].msg_class) {
			rc = st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
			break;
		}
		cnt++;
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
