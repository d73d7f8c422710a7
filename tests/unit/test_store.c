/* Unit tests: server/store (open, users, mailbox hierarchy, folders,
 * messages, recipients, attachments, persistence, concurrency, limits). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <talloc.h>

#include "server/store/store.h"
#include "util/status.h"

/* [MS-NLMP] 4.2.2.1.2: NTOWFv1("Password"). */
static const uint8_t password_nt_hash[16] = {0xa4, 0xf4, 0x9c, 0x40, 0x65, 0x10, 0xbd, 0xca,
					     0xb6, 0x82, 0x4e, 0xe7, 0xc3, 0x0f, 0xd8, 0x52};

struct fx {
	char dir[64];
	struct mp_store *st;
	uint32_t alice, bob;
	void *mem;
};

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

static struct mp_store *open_ok(const char *dir, const struct mp_store_opts *o)
{
	struct mp_store *st = NULL;
	char err[256] = "";
	int rc = mp_store_open(&st, dir, o, err, sizeof(err));
	if (rc != MP_OK)
		fail_msg("open %s: %s (%s)", dir, mp_status_name(rc), err);
	return st;
}

static struct mp_store_txn *wtxn(struct mp_store *st)
{
	struct mp_store_txn *t;
	assert_int_equal(mp_store_txn_begin(st, true, &t), MP_OK);
	return t;
}

static struct mp_store_txn *rtxn(struct mp_store *st)
{
	struct mp_store_txn *t;
	assert_int_equal(mp_store_txn_begin(st, false, &t), MP_OK);
	return t;
}

static void commit(struct mp_store_txn *t)
{
	assert_int_equal(mp_store_txn_commit(t), MP_OK);
}

/* Fail with the transaction's message when rc is not what we expect. */
#define CHECK(t, expr, want)                                                                  \
	do {                                                                                  \
		int rc_ = (expr);                                                             \
		if (rc_ != (want))                                                            \
			fail_msg("%s: %s, expected %s (%s)", #expr, mp_status_name(rc_),      \
				 mp_status_name(want), mp_store_txn_errmsg(t));               \
	} while (0)

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/mpstore-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	struct mp_store_opts o = {.create = true, .mail_domain = "example.org"};
	f->st = open_ok(f->dir, &o);
	f->mem = talloc_new(NULL);
	struct mp_store_user_new a = {.name = "alice", .password = "Password",
				      .display_name = "Alice Liddell", .smtp = "Alice@Example.org"};
	struct mp_store_user_new b = {.name = "bob", .password = "secret"};
	char err[256];
	if (mp_store_user_add_simple(f->st, &a, &f->alice, err, sizeof(err)) != MP_OK ||
	    mp_store_user_add_simple(f->st, &b, &f->bob, err, sizeof(err)) != MP_OK) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	mp_store_close(f->st);
	rm_rf(f->dir);
	talloc_free(f->mem);
	free(f);
	return 0;
}

static uint64_t special(struct fx *f, uint32_t mbox, enum mp_store_special sf)
{
	struct mp_store_txn *t = rtxn(f->st);
	struct mp_store_mailbox mb;
	assert_int_equal(mp_store_mailbox_get(t, mbox, &mb), MP_OK);
	mp_store_txn_abort(t);
	return mb.special[sf];
}

/* ---- Open ---- */

static void test_open_modes_and_errors(void **state)
{
	struct fx *f = *state;
	struct stat sb;
	char path[128], err[256];
	struct mp_store *st2 = NULL;

	assert_int_equal(stat(f->dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/data.mdb", f->dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	/* One environment per directory and process. */
	assert_int_equal(mp_store_open(&st2, f->dir, NULL, err, sizeof(err)), MP_ERR_CONFIG);
	assert_null(st2);
	assert_non_null(strstr(err, "already open"));

	/* A missing store without create; a bad option. */
	snprintf(path, sizeof(path), "%s/none", f->dir);
	assert_int_equal(mp_store_open(&st2, path, NULL, err, sizeof(err)), MP_ERR_NOTFOUND);
	struct mp_store_opts bad = {.create = true, .org = "a/b"};
	assert_int_equal(mp_store_open(&st2, path, &bad, err, sizeof(err)), MP_ERR_CONFIG);
	struct mp_store_opts tiny = {.create = true, .map_size = 4096};
	assert_int_equal(mp_store_open(&st2, path, &tiny, err, sizeof(err)), MP_ERR_CONFIG);

	/* A directory others may read is refused. */
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(chmod(path, 0755), 0);
	struct mp_store_opts cr = {.create = true};
	assert_int_equal(mp_store_open(&st2, path, &cr, err, sizeof(err)), MP_ERR_CONFIG);
	assert_non_null(strstr(err, "chmod 700"));
	/* Made private, a store is created there; read-only refuses writers. */
	assert_int_equal(chmod(path, 0700), 0);
	st2 = open_ok(path, &cr);
	mp_store_close(st2);
	struct mp_store_opts ro = {.read_only = true};
	st2 = open_ok(path, &ro);
	struct mp_store_txn *t;
	assert_int_equal(mp_store_txn_begin(st2, true, &t), MP_ERR_PROTO);
	t = rtxn(st2);
	struct mp_store_user *u;
	assert_int_equal(mp_store_user_by_name(t, "alice", f->mem, &u), MP_ERR_NOTFOUND);
	mp_store_txn_abort(t);
	mp_store_close(st2);

	assert_string_equal(mp_store_org(f->st), "First Organization");
	assert_string_equal(mp_store_admin_group(f->st),
			    "Exchange Administrative Group (FYDIBOHF23SPDLT)");
	assert_string_equal(mp_store_mail_domain(f->st), "example.org");
}

/* ---- Users ---- */

static void test_users(void **state)
{
	struct fx *f = *state;
	struct mp_store_txn *t = rtxn(f->st);
	struct mp_store_user *u, *v;

	assert_int_equal(mp_store_user_by_name(t, "ALICE", f->mem, &u), MP_OK);
	assert_int_equal(u->id, f->alice);
	assert_string_equal(u->name, "alice");
	assert_string_equal(u->display_name, "Alice Liddell");
	assert_string_equal(u->smtp, "Alice@Example.org");
	assert_string_equal(u->dn, "/o=First Organization/ou=Exchange Administrative Group "
				   "(FYDIBOHF23SPDLT)/cn=Recipients/cn=alice");
	assert_memory_not_equal(u->mailbox_guid, u->replica_guid, 16);

	assert_int_equal(mp_store_user_by_dn(t, "/O=FIRST ORGANIZATION/ou=Exchange Administrative "
					     "Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=ALICE",
					     f->mem, &v), MP_OK);
	assert_int_equal(v->id, f->alice);
	assert_int_equal(mp_store_user_by_smtp(t, "alice@example.ORG", f->mem, &v), MP_OK);
	assert_int_equal(v->id, f->alice);
	assert_int_equal(mp_store_user_by_mid(t, u->mid, f->mem, &v), MP_OK);
	assert_int_equal(v->id, f->alice);

	/* Defaults: display name = name, SMTP = name@mail_domain. */
	assert_int_equal(mp_store_user_get(t, f->bob, f->mem, &v), MP_OK);
	assert_string_equal(v->display_name, "bob");
	assert_string_equal(v->smtp, "bob@example.org");
	assert_int_not_equal(v->mid, u->mid);
	assert_true(u->mid >= 0x10 && v->mid >= 0x10); /* not NSPI positioning values */

	struct mp_store_user *list;
	size_t n;
	assert_int_equal(mp_store_user_list(t, f->mem, &list, &n), MP_OK);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].name, "alice");
	assert_string_equal(list[1].name, "bob");

	/* Only the NT hash is kept: NTOWFv1("Password") from MS-NLMP. */
	uint8_t h[16];
	assert_int_equal(mp_store_user_nt_hash(t, f->alice, h), MP_OK);
	assert_memory_equal(h, password_nt_hash, 16);
	assert_int_equal(mp_store_user_by_name(t, "carol", f->mem, &v), MP_ERR_NOTFOUND);
	assert_int_equal(mp_store_txn_ec(t), MP_STORE_EC_NOT_FOUND);
	assert_int_equal(mp_store_user_get(t, 999, f->mem, &v), MP_ERR_NOTFOUND);
	assert_int_equal(mp_store_user_by_mid(t, 1, f->mem, &v), MP_ERR_NOTFOUND);
	mp_store_txn_abort(t);

	/* The NTLM lookup callback, by name or SMTP address, any domain. */
	memset(h, 0, 16);
	assert_int_equal(mp_store_ntlm_lookup_cb(f->st, "Alice", "CORP", h), MP_OK);
	assert_memory_equal(h, password_nt_hash, 16);
	assert_int_equal(mp_store_ntlm_lookup_cb(f->st, "alice@example.org", NULL, h), MP_OK);
	assert_int_equal(mp_store_ntlm_lookup_cb(f->st, "nobody", NULL, h), MP_ERR_NOTFOUND);
	assert_int_equal(mp_store_ntlm_lookup_cb(f->st, "", NULL, h), MP_ERR_NOTFOUND);

	/* The database file never holds the password. */
	char path[128];
	snprintf(path, sizeof(path), "%s/data.mdb", f->dir);
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	static char buf[1 << 20];
	size_t got;
	bool found = false;
	while ((got = fread(buf, 1, sizeof(buf), fp)) > 0)
		if (memmem(buf, got, "Password", 8) || memmem(buf, got, "secret", 6))
			found = true;
	fclose(fp);
	assert_false(found);
}

static void test_user_changes(void **state)
{
	struct fx *f = *state;
	struct mp_store_txn *t = wtxn(f->st);
	uint8_t h[16];
	uint32_t id;

	/* Duplicates and bad fields are refused with a reason. */
	struct mp_store_user_new dup = {.name = "ALICE", .password = "x"};
	CHECK(t, mp_store_user_add(t, &dup, &id), MP_ERR_PROTO);
	assert_int_equal(mp_store_txn_ec(t), MP_STORE_EC_DUPLICATE_NAME);
	struct mp_store_user_new dup2 = {.name = "alice2", .password = "x",
					 .smtp = "alice@EXAMPLE.org"};
	CHECK(t, mp_store_user_add(t, &dup2, &id), MP_ERR_PROTO);
	assert_non_null(strstr(mp_store_txn_errmsg(t), "address"));
	static const char *bad_names[] = {"", ".x", "-x", "a b", "a/b", "é",
					  ("a123456789012345678901234567890123456789012345678901234"
					   "5678901234")}; /* 65 bytes */
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		struct mp_store_user_new b = {.name = bad_names[i], .password = "x"};
		CHECK(t, mp_store_user_add(t, &b, &id), MP_ERR_PARSE);
	}
	struct mp_store_user_new nopw = {.name = "carol", .password = ""};
	CHECK(t, mp_store_user_add(t, &nopw, &id), MP_ERR_PARSE);
	struct mp_store_user_new badmail = {.name = "carol", .password = "x", .smtp = "carol"};
	CHECK(t, mp_store_user_add(t, &badmail, &id), MP_ERR_PARSE);
	struct mp_store_user_new baddisp = {.name = "carol", .password = "x",
					    .display_name = "a\nb"};
	CHECK(t, mp_store_user_add(t, &baddisp, &id), MP_ERR_PARSE);
	/* The failures left nothing behind: carol can still be made. */
	struct mp_store_user_new carol = {.name = "carol", .password = "pw",
					  .display_name = "Carol Ç"};
	CHECK(t, mp_store_user_add(t, &carol, &id), MP_OK);

	/* Password change, disabling. */
	CHECK(t, mp_store_user_set_password(t, f->alice, "other"), MP_OK);
	CHECK(t, mp_store_user_set_display_name(t, f->bob, "Bob Builder"), MP_OK);
	CHECK(t, mp_store_user_set_disabled(t, id, true), MP_OK);
	commit(t);
	assert_int_equal(mp_store_ntlm_lookup_cb(f->st, "alice", NULL, h), MP_OK);
	assert_memory_not_equal(h, password_nt_hash, 16);
	assert_int_equal(mp_store_ntlm_lookup_cb(f->st, "carol", NULL, h), MP_ERR_NOTFOUND);

	t = wtxn(f->st);
	struct mp_store_user *u;
	CHECK(t, mp_store_user_get(t, f->bob, f->mem, &u), MP_OK);
	assert_string_equal(u->display_name, "Bob Builder");
	char *s;
	struct mp_store_obj so = mp_store_obj_mailbox(f->bob);
	CHECK(t, mp_store_prop_get_string(t, &so, MP_TAG_DISPLAY_NAME, f->mem, &s), MP_OK);
	assert_string_equal(s, "Mailbox - Bob Builder");

	/* Deleting a user drops the mailbox and every index entry. */
	CHECK(t, mp_store_user_get(t, id, f->mem, &u), MP_OK);
	uint32_t mid = u->mid;
	CHECK(t, mp_store_user_delete(t, id), MP_OK);
	struct mp_store_mailbox mb;
	CHECK(t, mp_store_mailbox_get(t, id, &mb), MP_ERR_NOTFOUND);
	CHECK(t, mp_store_user_by_name(t, "carol", f->mem, &u), MP_ERR_NOTFOUND);
	CHECK(t, mp_store_user_by_smtp(t, "carol@example.org", f->mem, &u), MP_ERR_NOTFOUND);
	CHECK(t, mp_store_user_by_mid(t, mid, f->mem, &u), MP_ERR_NOTFOUND);
	CHECK(t, mp_store_user_delete(t, id), MP_ERR_NOTFOUND);
	/* The name is free again; MIds are not reused. */
	uint32_t id2;
	CHECK(t, mp_store_user_add(t, &carol, &id2), MP_OK);
	CHECK(t, mp_store_user_get(t, id2, f->mem, &u), MP_OK);
	assert_int_not_equal(u->mid, mid);
	assert_int_not_equal(id2, id);
	commit(t);
}

/* ---- Mailbox hierarchy ---- */

static void test_mailbox_hierarchy(void **state)
{
	struct fx *f = *state;
	struct mp_store_txn *t = rtxn(f->st);
	struct mp_store_mailbox mb;
	CHECK(t, mp_store_mailbox_get(t, f->alice, &mb), MP_OK);
	assert_int_equal(mb.replid, 1);

	/* Every mailbox gets the same FIDs (Root = 1, then in the RopLogon
	 * order, change numbers taken from the same counter in between). */
	struct mp_store_mailbox mb2;
	CHECK(t, mp_store_mailbox_get(t, f->bob, &mb2), MP_OK);
	assert_int_equal(mb.special[MP_STORE_SF_ROOT], mp_store_make_id(1, 1));
	for (int i = 0; i < MP_STORE_SF_COUNT; i++) {
		assert_int_equal(mb.special[i], mb2.special[i]);
		assert_int_equal(mp_store_id_replid(mb.special[i]), 1);
		if (i)
			assert_true(mp_store_id_gc(mb.special[i]) >
				    mp_store_id_gc(mb.special[i - 1]));
	}
	assert_memory_not_equal(mb.replica_guid, mb2.replica_guid, 16);

	static const struct {
		int sf, parent;
		const char *name, *cls;
	} want[] = {
		{MP_STORE_SF_DEFERRED_ACTION, MP_STORE_SF_ROOT, "Deferred Action", NULL},
		{MP_STORE_SF_SPOOLER_QUEUE, MP_STORE_SF_ROOT, "Spooler Queue", NULL},
		{MP_STORE_SF_IPM_SUBTREE, MP_STORE_SF_ROOT, "Top of Information Store", NULL},
		{MP_STORE_SF_INBOX, MP_STORE_SF_IPM_SUBTREE, "Inbox", "IPF.Note"},
		{MP_STORE_SF_OUTBOX, MP_STORE_SF_IPM_SUBTREE, "Outbox", "IPF.Note"},
		{MP_STORE_SF_SENT_ITEMS, MP_STORE_SF_IPM_SUBTREE, "Sent Items", "IPF.Note"},
		{MP_STORE_SF_DELETED_ITEMS, MP_STORE_SF_IPM_SUBTREE, "Deleted Items", "IPF.Note"},
		{MP_STORE_SF_COMMON_VIEWS, MP_STORE_SF_ROOT, "Common Views", NULL},
		{MP_STORE_SF_SCHEDULE, MP_STORE_SF_ROOT, "Schedule", NULL},
		{MP_STORE_SF_FINDER, MP_STORE_SF_ROOT, "Finder", NULL},
		{MP_STORE_SF_VIEWS, MP_STORE_SF_ROOT, "Views", NULL},
		{MP_STORE_SF_SHORTCUTS, MP_STORE_SF_ROOT, "Shortcuts", NULL},
		{MP_STORE_SF_CALENDAR, MP_STORE_SF_IPM_SUBTREE, "Calendar", "IPF.Appointment"},
		{MP_STORE_SF_CONTACTS, MP_STORE_SF_IPM_SUBTREE, "Contacts", "IPF.Contact"},
		{MP_STORE_SF_JOURNAL, MP_STORE_SF_IPM_SUBTREE, "Journal", "IPF.Journal"},
		{MP_STORE_SF_NOTES, MP_STORE_SF_IPM_SUBTREE, "Notes", "IPF.StickyNote"},
		{MP_STORE_SF_TASKS, MP_STORE_SF_IPM_SUBTREE, "Tasks", "IPF.Task"},
		{MP_STORE_SF_DRAFTS, MP_STORE_SF_IPM_SUBTREE, "Drafts", "IPF.Note"},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct mp_store_folder_info fi;
		uint64_t fid = mb.special[want[i].sf];
		CHECK(t, mp_store_folder_get(t, f->alice, fid, &fi), MP_OK);
		assert_int_equal(fi.parent_fid, mb.special[want[i].parent]);
		assert_int_equal(fi.special, want[i].sf);
		assert_int_equal(fi.folder_type, MP_FOLDER_GENERIC);
		struct mp_store_obj o = mp_store_obj_folder(f->alice, fid);
		char *s;
		CHECK(t, mp_store_prop_get_string(t, &o, MP_TAG_DISPLAY_NAME, f->mem, &s), MP_OK);
		assert_string_equal(s, want[i].name);
		assert_string_equal(mp_store_special_name(want[i].sf), want[i].name);
		int rc = mp_store_prop_get_string(t, &o, MP_TAG_CONTAINER_CLASS, f->mem, &s);
		if (want[i].cls) {
			assert_int_equal(rc, MP_OK);
			assert_string_equal(s, want[i].cls);
		} else {
			assert_int_equal(rc, MP_ERR_NOTFOUND);
		}
		/* Identity properties. */
		uint64_t v;
		CHECK(t, mp_store_prop_get_u64(t, &o, MP_TAG_FOLDER_ID, &v), MP_OK);
		assert_int_equal(v, fid);
		CHECK(t, mp_store_prop_get_u64(t, &o, MP_TAG_PARENT_FOLDER_ID, &v), MP_OK);
		assert_int_equal(v, fi.parent_fid);
		struct mp_store_prop p;
		uint8_t eid[MP_STORE_FOLDER_EID_LEN];
		mp_store_folder_eid(&mb, fid, eid);
		CHECK(t, mp_store_prop_get(t, &o, MP_TAG_ENTRYID, &p), MP_OK);
		assert_int_equal(p.len, 48);
		assert_int_equal(p.data[0] | p.data[1] << 8, 46); /* 16-bit COUNT, ROP form */
		assert_memory_equal(p.data + 2, eid, 46);
	}
	struct mp_store_folder_info root;
	CHECK(t, mp_store_folder_get(t, f->alice, mb.special[MP_STORE_SF_ROOT], &root), MP_OK);
	assert_int_equal(root.parent_fid, 0);
	assert_int_equal(root.folder_type, MP_FOLDER_ROOT);
	assert_int_equal(root.child_count, 8);

	/* MS-OXOSFLD: the special folders' entry IDs on the Inbox and the Root. */
	static const struct {
		uint32_t tag;
		int sf;
	} eids[] = {
		{MP_TAG_IPM_APPOINTMENT_ENTRYID, MP_STORE_SF_CALENDAR},
		{MP_TAG_IPM_CONTACT_ENTRYID, MP_STORE_SF_CONTACTS},
		{MP_TAG_IPM_JOURNAL_ENTRYID, MP_STORE_SF_JOURNAL},
		{MP_TAG_IPM_NOTE_ENTRYID, MP_STORE_SF_NOTES},
		{MP_TAG_IPM_TASK_ENTRYID, MP_STORE_SF_TASKS},
		{MP_TAG_IPM_DRAFTS_ENTRYID, MP_STORE_SF_DRAFTS},
	};
	for (size_t i = 0; i < sizeof(eids) / sizeof(eids[0]); i++) {
		uint8_t eid[MP_STORE_FOLDER_EID_LEN];
		mp_store_folder_eid(&mb, mb.special[eids[i].sf], eid);
		for (int where = 0; where < 2; where++) {
			struct mp_store_obj o = mp_store_obj_folder(
				f->alice, mb.special[where ? MP_STORE_SF_ROOT : MP_STORE_SF_INBOX]);
			struct mp_store_prop p;
			const uint8_t *c;
			size_t n;
			CHECK(t, mp_store_prop_get(t, &o, eids[i].tag, &p), MP_OK);
			assert_int_equal(mp_store_prop_content(&p, &c, &n), MP_OK);
			assert_int_equal(n, 46);
			assert_memory_equal(c, eid, 46);
		}
	}
	/* The store object's: PidTagIpmSubtreeEntryId and friends, owner. */
	struct mp_store_obj so = mp_store_obj_mailbox(f->alice);
	struct mp_store_prop p;
	const uint8_t *c;
	size_t n;
	uint8_t eid[MP_STORE_FOLDER_EID_LEN];
	mp_store_folder_eid(&mb, mb.special[MP_STORE_SF_IPM_SUBTREE], eid);
	CHECK(t, mp_store_prop_get(t, &so, MP_TAG_IPM_SUBTREE_ENTRYID, &p), MP_OK);
	assert_int_equal(mp_store_prop_content(&p, &c, &n), MP_OK);
	assert_memory_equal(c, eid, 46);
	mp_store_folder_eid(&mb, mb.special[MP_STORE_SF_DELETED_ITEMS], eid);
	CHECK(t, mp_store_prop_get(t, &so, MP_TAG_IPM_WASTEBASKET_ENTRYID, &p), MP_OK);
	assert_int_equal(mp_store_prop_content(&p, &c, &n), MP_OK);
	assert_memory_equal(c, eid, 46);
	char *s;
	CHECK(t, mp_store_prop_get_string(t, &so, MP_TAG_MAILBOX_OWNER_NAME, f->mem, &s), MP_OK);
	assert_string_equal(s, "Alice Liddell");
	CHECK(t, mp_store_prop_get(t, &so, MP_TAG_MAILBOX_OWNER_ENTRYID, &p), MP_OK);
	assert_int_equal(mp_store_prop_content(&p, &c, &n), MP_OK);
	assert_string_equal((const char *)c + 28, "/o=First Organization/ou=Exchange Administrative "
						  "Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=alice");

	/* Children of the IPM subtree in creation order. */
	uint64_t *kids;
	size_t nk;
	CHECK(t, mp_store_folder_children(t, f->alice, mb.special[MP_STORE_SF_IPM_SUBTREE], false,
					  f->mem, &kids, &nk), MP_OK);
	assert_int_equal(nk, 10);
	assert_int_equal(kids[0], mb.special[MP_STORE_SF_INBOX]);
	assert_int_equal(kids[9], mb.special[MP_STORE_SF_DRAFTS]);
	CHECK(t, mp_store_folder_children(t, f->alice, mb.special[MP_STORE_SF_ROOT], true, f->mem,
					  &kids, &nk), MP_OK);
	assert_int_equal(nk, MP_STORE_SF_COUNT - 1);
	assert_int_equal(kids[0], mb.special[MP_STORE_SF_DEFERRED_ACTION]);
	assert_int_equal(kids[3], mb.special[MP_STORE_SF_INBOX]); /* depth first */

	/* Receive folders: longest class prefix, else the default. */
	uint64_t fid;
	char *cls;
	CHECK(t, mp_store_receive_folder_get(t, f->alice, "", f->mem, &fid, &cls), MP_OK);
	assert_int_equal(fid, mb.special[MP_STORE_SF_INBOX]);
	assert_string_equal(cls, "");
	CHECK(t, mp_store_receive_folder_get(t, f->alice, "IPM.Note", f->mem, &fid, &cls), MP_OK);
	assert_int_equal(fid, mb.special[MP_STORE_SF_INBOX]);
	assert_string_equal(cls, "IPM");
	CHECK(t, mp_store_receive_folder_get(t, f->alice, "ipc.foo.bar", f->mem, &fid, &cls), MP_OK);
	assert_int_equal(fid, mb.special[MP_STORE_SF_ROOT]);
	assert_string_equal(cls, "IPC");
	CHECK(t, mp_store_receive_folder_get(t, f->alice, "Report.IPM.Note.NDR", f->mem, &fid, &cls),
	      MP_OK);
	assert_string_equal(cls, "REPORT.IPM");
	CHECK(t, mp_store_receive_folder_get(t, f->alice, "IPMX", f->mem, &fid, &cls), MP_OK);
	assert_string_equal(cls, ""); /* "IPM" is not a prefix of part "IPMX" */
	CHECK(t, mp_store_receive_folder_get(t, f->alice, ".IPM", f->mem, &fid, &cls), MP_ERR_PARSE);
	CHECK(t, mp_store_receive_folder_get(t, f->alice, "IPM..X", f->mem, &fid, &cls),
	      MP_ERR_PARSE);
	struct mp_store_receive_entry *re;
	size_t nre;
	CHECK(t, mp_store_receive_folder_list(t, f->alice, f->mem, &re, &nre), MP_OK);
	assert_int_equal(nre, 4);
	mp_store_txn_abort(t);
}

/* ---- Folders ---- */

static void test_folders(void **state)
{
	struct fx *f = *state;
	uint32_t A = f->alice;
	uint64_t inbox = special(f, A, MP_STORE_SF_INBOX);
	uint64_t ipm = special(f, A, MP_STORE_SF_IPM_SUBTREE);
	uint64_t sent = special(f, A, MP_STORE_SF_SENT_ITEMS);
	struct mp_store_txn *t = wtxn(f->st);
	uint64_t proj, sub, other;
	bool existed;

	CHECK(t, mp_store_folder_create(t, A, inbox, "Projects", "IPF.Note", MP_FOLDER_GENERIC, 0,
					&proj, &existed), MP_OK);
	assert_false(existed);
	CHECK(t, mp_store_folder_create(t, A, inbox, "PROJECTS", NULL, MP_FOLDER_GENERIC, 0, &other,
					NULL), MP_ERR_PROTO);
	assert_int_equal(mp_store_txn_ec(t), MP_STORE_EC_DUPLICATE_NAME);
	CHECK(t, mp_store_folder_create(t, A, inbox, "projects", NULL, MP_FOLDER_GENERIC,
					MP_STORE_OPEN_IF_EXISTS, &other, &existed), MP_OK);
	assert_true(existed);
	assert_int_equal(other, proj);
	/* Case-insensitive beyond ASCII (the NTLM case mapping). */
	CHECK(t, mp_store_folder_create(t, A, proj, "Été", NULL, MP_FOLDER_GENERIC, 0, &sub, NULL),
	      MP_OK);
	CHECK(t, mp_store_folder_find(t, A, proj, "ÉTÉ", &other), MP_OK);
	assert_int_equal(other, sub);
	CHECK(t, mp_store_folder_by_path(t, A, "Inbox/projects/été", &other), MP_OK);
	assert_int_equal(other, sub);
	CHECK(t, mp_store_folder_by_path(t, A, "Inbox/nothing", &other), MP_ERR_NOTFOUND);

	/* Bad names and arguments. */
	CHECK(t, mp_store_folder_create(t, A, inbox, "", NULL, 1, 0, &other, NULL), MP_ERR_PARSE);
	CHECK(t, mp_store_folder_create(t, A, inbox, "a\tb", NULL, 1, 0, &other, NULL),
	      MP_ERR_PARSE);
	CHECK(t, mp_store_folder_create(t, A, inbox, "\xff", NULL, 1, 0, &other, NULL),
	      MP_ERR_PARSE);
	CHECK(t, mp_store_folder_create(t, A, inbox, "x", NULL, 7, 0, &other, NULL), MP_ERR_PARSE);
	CHECK(t, mp_store_folder_create(t, A, mp_store_make_id(1, 99999), "x", NULL, 1, 0, &other,
					NULL), MP_ERR_NOTFOUND);
	assert_int_equal(mp_store_txn_ec(t), MP_STORE_EC_NOT_FOUND);
	CHECK(t, mp_store_folder_create(t, A, mp_store_make_id(2, 5), "x", NULL, 1, 0, &other,
					NULL), MP_ERR_NOTFOUND);

	/* Counts and PidTagSubfolders follow. */
	struct mp_store_folder_info fi;
	CHECK(t, mp_store_folder_get(t, A, inbox, &fi), MP_OK);
	assert_int_equal(fi.child_count, 1);
	struct mp_store_obj io = mp_store_obj_folder(A, inbox);
	bool b;
	uint32_t u;
	CHECK(t, mp_store_prop_get_bool(t, &io, MP_TAG_SUBFOLDERS, &b), MP_OK);
	assert_true(b);
	CHECK(t, mp_store_prop_get_u32(t, &io, MP_TAG_FOLDER_CHILD_COUNT, &u), MP_OK);
	assert_int_equal(u, 1);

	/* Rename through PidTagDisplayName: the name index follows. */
	struct mp_store_obj po = mp_store_obj_folder(A, proj);
	CHECK(t, mp_store_prop_set_string(t, &po, MP_TAG_DISPLAY_NAME, "Work"), MP_OK);
	CHECK(t, mp_store_folder_find(t, A, inbox, "work", &other), MP_OK);
	assert_int_equal(other, proj);
	CHECK(t, mp_store_folder_find(t, A, inbox, "Projects", &other), MP_ERR_NOTFOUND);
	CHECK(t, mp_store_folder_create(t, A, inbox, "Projects", NULL, 1, 0, &other, NULL), MP_OK);
	CHECK(t, mp_store_folder_rename(t, A, other, "WORK"), MP_ERR_PROTO);
	CHECK(t, mp_store_prop_delete(t, &po, MP_TAG_DISPLAY_NAME), MP_ERR_PROTO);

	/* Moves: into the IPM subtree; not into its own subtree; special refused. */
	CHECK(t, mp_store_folder_move(t, A, proj, sub, NULL), MP_ERR_PROTO);
	assert_int_equal(mp_store_txn_ec(t), MP_STORE_EC_FOLDER_CYCLE);
	CHECK(t, mp_store_folder_move(t, A, proj, proj, NULL), MP_ERR_PROTO);
	CHECK(t, mp_store_folder_move(t, A, proj, ipm, "Work 2"), MP_OK);
	CHECK(t, mp_store_folder_get(t, A, proj, &fi), MP_OK);
	assert_int_equal(fi.parent_fid, ipm);
	CHECK(t, mp_store_folder_by_path(t, A, "Work 2/Été", &other), MP_OK);
	assert_int_equal(other, sub);
	uint64_t v;
	CHECK(t, mp_store_prop_get_u64(t, &po, MP_TAG_PARENT_FOLDER_ID, &v), MP_OK);
	assert_int_equal(v, ipm);
	CHECK(t, mp_store_folder_move(t, A, inbox, proj, NULL), MP_ERR_PROTO);
	assert_int_equal(mp_store_txn_ec(t), MP_STORE_EC_ACCESS_DENIED);
	CHECK(t, mp_store_folder_get(t, A, inbox, &fi), MP_OK);
	assert_int_equal(fi.child_count, 1); /* the second "Projects" */

	/* Deletes: special folders never; non-empty ones only with flags. */
	CHECK(t, mp_store_folder_delete(t, A, sent, MP_STORE_DEL_FOLDERS | MP_STORE_DEL_MESSAGES),
	      MP_ERR_PROTO);
	assert_int_equal(mp_store_txn_ec(t), MP_STORE_EC_ACCESS_DENIED);
	uint64_t mid;
	CHECK(t, mp_store_msg_create(t, A, sub, false, &mid), MP_OK);
	CHECK(t, mp_store_msg_save(t, A, mid, NULL), MP_OK);
	CHECK(t, mp_store_folder_delete(t, A, proj, 0), MP_ERR_PROTO);
	assert_int_equal(mp_store_txn_ec(t), MP_STORE_EC_HAS_FOLDERS);
	CHECK(t, mp_store_folder_delete(t, A, proj, MP_STORE_DEL_FOLDERS), MP_ERR_PROTO);
	assert_int_equal(mp_store_txn_ec(t), MP_STORE_EC_HAS_MESSAGES);
	/* A receive folder that goes away falls back. */
	CHECK(t, mp_store_receive_folder_set(t, A, "IPM.Note.Work", sub), MP_OK);
	CHECK(t, mp_store_receive_folder_set(t, A, "", sub), MP_OK);
	CHECK(t, mp_store_folder_delete(t, A, proj, MP_STORE_DEL_FOLDERS | MP_STORE_DEL_MESSAGES),
	      MP_OK);
	CHECK(t, mp_store_folder_get(t, A, sub, &fi), MP_ERR_NOTFOUND);
	struct mp_store_msg_info mi;
	CHECK(t, mp_store_msg_get(t, A, mid, &mi), MP_ERR_NOTFOUND);
	char *cls;
	CHECK(t, mp_store_receive_folder_get(t, A, "IPM.Note.Work", f->mem, &v, &cls), MP_OK);
	assert_int_equal(v, inbox);
	assert_string_equal(cls, "IPM");
	CHECK(t, mp_store_receive_folder_get(t, A, "", f->mem, &v, &cls), MP_OK);
	assert_int_equal(v, inbox);
	CHECK(t, mp_store_receive_folder_set(t, A, "", 0), MP_ERR_PROTO);
	CHECK(t, mp_store_receive_folder_set(t, A, "X.Y", mp_store_make_id(1, 77777)),
	      MP_ERR_NOTFOUND);
	CHECK(t, mp_store_folder_find(t, A, ipm, "Work 2", &other), MP_ERR_NOTFOUND);

	/* Search folders hold neither messages nor subfolders. */
	uint64_t search, m2;
	CHECK(t, mp_store_folder_create(t, A, ipm, "Found", NULL, MP_FOLDER_SEARCH, 0, &search,
					NULL), MP_OK);
	CHECK(t, mp_store_folder_get(t, A, search, &fi), MP_OK);
	assert_int_equal(fi.folder_type, MP_FOLDER_SEARCH);
	CHECK(t, mp_store_msg_create(t, A, search, false, &m2), MP_ERR_PROTO);
	CHECK(t, mp_store_folder_create(t, A, search, "x", NULL, 1, 0, &other, NULL), MP_ERR_PROTO);
	CHECK(t, mp_store_folder_delete(t, A, search, 0), MP_OK);

	/* Depth is bounded. */
	uint64_t cur = ipm;
	int rc = MP_OK, made = 0;
	while (rc == MP_OK && made < 40) {
		char name[16];
		snprintf(name, sizeof(name), "d%d", made);
		rc = mp_store_folder_create(t, A, cur, name, NULL, 1, 0, &cur, NULL);
		made += rc == MP_OK;
	}
	assert_int_equal(rc, MP_ERR_LIMIT);
	assert_int_equal(made, MP_STORE_MAX_FOLDER_DEPTH - 1); /* root 0, IPM subtree 1 */
	CHECK(t, mp_store_folder_empty(t, A, ipm, false, MP_STORE_DEL_FOLDERS), MP_OK);
	CHECK(t, mp_store_folder_get(t, A, ipm, &fi), MP_OK);
	assert_int_equal(fi.child_count, 10); /* the special ones stay */
	commit(t);

	/* A read transaction cannot write. */
	t = rtxn(f->st);
	CHECK(t, mp_store_folder_create(t, A, inbox, "x", NULL, 1, 0, &other, NULL), MP_ERR_PROTO);
	mp_store_txn_abort(t);
}

/* ---- Messages ---- */

static void put_recip(struct mp_store_txn *t, uint32_t mbox, uint64_t mid, uint32_t row,
		      uint32_t type, const char *name, void *mem)
{
	uint8_t *u16;
	size_t n;
	uint8_t tb[4] = {(uint8_t)type, 0, 0, 0};
	assert_int_equal(mp_store_utf8_to_utf16(mem, name, strlen(name), true, &u16, &n), MP_OK);
	struct mp_store_prop p[2] = {
		{.tag = MP_TAG_RECIPIENT_TYPE, .form = MP_STORE_VAL_WIRE, .data = tb, .len = 4},
		{.tag = MP_TAG_DISPLAY_NAME, .form = MP_STORE_VAL_WIRE, .data = u16, .len = n + 2},
	};
	CHECK(t, mp_store_recip_set(t, mbox, mid, row, p, 2), MP_OK);
}

static void test_messages(void **state)
{
	struct fx *f = *state;
	uint32_t A = f->alice;
	uint64_t inbox = special(f, A, MP_STORE_SF_INBOX);
	uint64_t sent = special(f, A, MP_STORE_SF_SENT_ITEMS);
	struct mp_store_txn *t = wtxn(f->st);
	uint64_t mid, *mids;
	size_t n;
	struct mp_store_folder_info fi;
	struct mp_store_msg_info mi;

	CHECK(t, mp_store_msg_create(t, A, inbox, false, &mid), MP_OK);
	struct mp_store_obj mo = mp_store_obj_message(A, mid);
	/* Unsaved: no row, no count. */
	CHECK(t, mp_store_folder_contents(t, A, inbox, false, f->mem, &mids, &n), MP_OK);
	assert_int_equal(n, 0);
	CHECK(t, mp_store_folder_get(t, A, inbox, &fi), MP_OK);
	assert_int_equal(fi.content_count, 0);
	CHECK(t, mp_store_msg_get(t, A, mid, &mi), MP_OK);
	assert_int_equal(mi.state, MP_STORE_MSG_NEW);
	uint32_t flags;
	CHECK(t, mp_store_prop_get_u32(t, &mo, MP_TAG_MESSAGE_FLAGS, &flags), MP_OK);
	assert_int_equal(flags, MP_MSGFLAG_UNSENT);

	CHECK(t, mp_store_prop_set_string(t, &mo, MP_TAG_SUBJECT, "Hello"), MP_OK);
	CHECK(t, mp_store_prop_set_string(t, &mo, MP_TAG_MESSAGE_CLASS, "IPM.Note"), MP_OK);
	put_recip(t, A, mid, 0, 1, "Bob", f->mem);
	put_recip(t, A, mid, 1, 1, "Carol", f->mem);
	put_recip(t, A, mid, 5, 2, "Dave", f->mem);
	put_recip(t, A, mid, 6, 3, "Eve", f->mem);
	uint32_t row;
	uint8_t tb[4] = {2, 0, 0, 0};
	struct mp_store_prop rp = {.tag = MP_TAG_RECIPIENT_TYPE, .form = 0, .data = tb, .len = 4};
	CHECK(t, mp_store_recip_add(t, A, mid, &rp, 1, &row), MP_OK);
	assert_int_equal(row, 7);
	CHECK(t, mp_store_recip_delete(t, A, mid, 7), MP_OK);
	CHECK(t, mp_store_recip_delete(t, A, mid, 7), MP_ERR_NOTFOUND);
	uint32_t *rows;
	CHECK(t, mp_store_recip_list(t, A, mid, f->mem, &rows, &n), MP_OK);
	assert_int_equal(n, 4);
	assert_int_equal(rows[2], 5);
	struct mp_store_obj ro = mp_store_obj_recip(A, mid, 5);
	uint32_t v32;
	CHECK(t, mp_store_prop_get_u32(t, &ro, MP_TAG_ROWID, &v32), MP_OK);
	assert_int_equal(v32, 5);
	/* Computed tags are refused in recipient rows too. */
	uint8_t four[4] = {0};
	struct mp_store_prop bad = {.tag = MP_TAG_MESSAGE_SIZE, .data = four, .len = 4};
	CHECK(t, mp_store_recip_set(t, A, mid, 9, &bad, 1), MP_ERR_PROTO);

	/* Attachments with a binary stream above the 16-bit ROP count. */
	uint32_t a0, a1;
	CHECK(t, mp_store_attach_create(t, A, mid, &a0), MP_OK);
	CHECK(t, mp_store_attach_create(t, A, mid, &a1), MP_OK);
	assert_int_equal(a0, 0);
	assert_int_equal(a1, 1);
	struct mp_store_obj ao = mp_store_obj_attach(A, mid, a1);
	size_t big = 100000;
	uint8_t *data = talloc_array(f->mem, uint8_t, big);
	for (size_t i = 0; i < big; i++)
		data[i] = (uint8_t)(i * 7 + 3);
	CHECK(t, mp_store_prop_set_binary(t, &ao, MP_TAG_ATTACH_DATA_BINARY, data, big), MP_OK);
	CHECK(t, mp_store_prop_set_string(t, &ao, MP_TAG_ATTACH_LONG_FILENAME, "big.bin"), MP_OK);
	struct mp_store_prop p;
	CHECK(t, mp_store_prop_get(t, &ao, MP_TAG_ATTACH_DATA_BINARY, &p), MP_OK);
	assert_int_equal(p.form, MP_STORE_VAL_RAW);
	assert_int_equal(p.len, big);
	assert_memory_equal(p.data, data, big);
	uint32_t num;
	CHECK(t, mp_store_prop_get_u32(t, &ao, MP_TAG_ATTACH_NUM, &num), MP_OK);
	assert_int_equal(num, 1);
	CHECK(t, mp_store_attach_delete(t, A, mid, a0), MP_OK);
	uint32_t *nums;
	CHECK(t, mp_store_attach_list(t, A, mid, f->mem, &nums, &n), MP_OK);
	assert_int_equal(n, 1);
	assert_int_equal(nums[0], 1);

	/* Save: visible, counted, computed properties. */
	uint64_t saved;
	CHECK(t, mp_store_msg_save(t, A, mid, &saved), MP_OK);
	assert_int_equal(saved, mid);
	CHECK(t, mp_store_folder_contents(t, A, inbox, false, f->mem, &mids, &n), MP_OK);
	assert_int_equal(n, 1);
	assert_int_equal(mids[0], mid);
	CHECK(t, mp_store_folder_get(t, A, inbox, &fi), MP_OK);
	assert_int_equal(fi.content_count, 1);
	assert_int_equal(fi.unread_count, 1);
	struct mp_store_obj io = mp_store_obj_folder(A, inbox);
	CHECK(t, mp_store_prop_get_u32(t, &io, MP_TAG_CONTENT_UNREAD_COUNT, &v32), MP_OK);
	assert_int_equal(v32, 1);
	CHECK(t, mp_store_prop_get_u32(t, &mo, MP_TAG_MESSAGE_FLAGS, &flags), MP_OK);
	assert_int_equal(flags, MP_MSGFLAG_UNSENT | MP_MSGFLAG_HASATTACH);
	bool b;
	CHECK(t, mp_store_prop_get_bool(t, &mo, MP_TAG_HAS_ATTACHMENTS, &b), MP_OK);
	assert_true(b);
	uint32_t size, asize;
	CHECK(t, mp_store_prop_get_u32(t, &mo, MP_TAG_MESSAGE_SIZE, &size), MP_OK);
	CHECK(t, mp_store_prop_get_u32(t, &ao, MP_TAG_ATTACH_SIZE, &asize), MP_OK);
	assert_true(asize > big && asize < big + 200);
	assert_true(size > asize);
	char *s;
	CHECK(t, mp_store_prop_get_string(t, &mo, MP_TAG_DISPLAY_TO, f->mem, &s), MP_OK);
	assert_string_equal(s, "Bob; Carol");
	CHECK(t, mp_store_prop_get_string(t, &mo, MP_TAG_DISPLAY_CC, f->mem, &s), MP_OK);
	assert_string_equal(s, "Dave");
	CHECK(t, mp_store_prop_get_string(t, &mo, MP_TAG_DISPLAY_BCC, f->mem, &s), MP_OK);
	assert_string_equal(s, "Eve");
	uint64_t cn1, v64;
	CHECK(t, mp_store_prop_get_u64(t, &mo, MP_TAG_CHANGE_NUMBER, &cn1), MP_OK);
	CHECK(t, mp_store_prop_get_u64(t, &mo, MP_TAG_MID, &v64), MP_OK);
	assert_int_equal(v64, mid);

	/* Read flag: through the API and through PidTagMessageFlags. */
	bool changed;
	CHECK(t, mp_store_msg_set_read(t, A, mid, true, &changed), MP_OK);
	assert_true(changed);
	CHECK(t, mp_store_msg_set_read(t, A, mid, true, &changed), MP_OK);
	assert_false(changed);
	CHECK(t, mp_store_folder_get(t, A, inbox, &fi), MP_OK);
	assert_int_equal(fi.unread_count, 0);
	CHECK(t, mp_store_prop_set_u32(t, &mo, MP_TAG_MESSAGE_FLAGS, 0), MP_OK);
	CHECK(t, mp_store_prop_get_u32(t, &mo, MP_TAG_MESSAGE_FLAGS, &flags), MP_OK);
	assert_int_equal(flags, MP_MSGFLAG_HASATTACH); /* computed bit kept */
	CHECK(t, mp_store_folder_get(t, A, inbox, &fi), MP_OK);
	assert_int_equal(fi.unread_count, 1);
	CHECK(t, mp_store_msg_set_read(t, A, mid, true, NULL), MP_OK);

	/* Edit through a draft: the original is untouched until the save. */
	uint64_t draft;
	CHECK(t, mp_store_msg_edit(t, A, mid, &draft), MP_OK);
	assert_int_not_equal(draft, mid);
	struct mp_store_obj dobj = mp_store_obj_message(A, draft);
	CHECK(t, mp_store_prop_get_u64(t, &dobj, MP_TAG_MID, &v64), MP_OK);
	assert_int_equal(v64, mid); /* the client sees the original's identity */
	CHECK(t, mp_store_prop_set_string(t, &dobj, MP_TAG_SUBJECT, "Changed"), MP_OK);
	CHECK(t, mp_store_recip_remove_all(t, A, draft), MP_OK);
	CHECK(t, mp_store_prop_get_string(t, &mo, MP_TAG_SUBJECT, f->mem, &s), MP_OK);
	assert_string_equal(s, "Hello");
	CHECK(t, mp_store_msg_save(t, A, draft, &saved), MP_OK);
	assert_int_equal(saved, mid);
	CHECK(t, mp_store_msg_get(t, A, draft, &mi), MP_ERR_NOTFOUND);
	CHECK(t, mp_store_prop_get_string(t, &mo, MP_TAG_SUBJECT, f->mem, &s), MP_OK);
	assert_string_equal(s, "Changed");
	CHECK(t, mp_store_prop_get_string(t, &mo, MP_TAG_DISPLAY_TO, f->mem, &s), MP_OK);
	assert_string_equal(s, "");
	CHECK(t, mp_store_prop_get_u64(t, &mo, MP_TAG_CHANGE_NUMBER, &v64), MP_OK);
	assert_true(mp_store_id_gc(v64) > mp_store_id_gc(cn1));
	CHECK(t, mp_store_folder_get(t, A, inbox, &fi), MP_OK);
	assert_int_equal(fi.content_count, 1);
	assert_int_equal(fi.unread_count, 0);
	/* A discarded draft leaves the original. */
	CHECK(t, mp_store_msg_edit(t, A, mid, &draft), MP_OK);
	dobj = mp_store_obj_message(A, draft);
	CHECK(t, mp_store_prop_set_string(t, &dobj, MP_TAG_SUBJECT, "Lost"), MP_OK);
	CHECK(t, mp_store_msg_discard(t, A, draft), MP_OK);
	CHECK(t, mp_store_prop_get_string(t, &mo, MP_TAG_SUBJECT, f->mem, &s), MP_OK);
	assert_string_equal(s, "Changed");
	CHECK(t, mp_store_msg_discard(t, A, mid), MP_ERR_PROTO);

	/* Move keeps the source key, copy makes a new one. */
	struct mp_store_prop sk;
	uint8_t skey[MP_STORE_XID_LEN];
	CHECK(t, mp_store_prop_get(t, &mo, MP_TAG_SOURCE_KEY, &sk), MP_OK);
	memcpy(skey, sk.data + 2, sizeof(skey));
	uint64_t moved, copied;
	CHECK(t, mp_store_msg_move(t, A, mid, sent, &moved), MP_OK);
	CHECK(t, mp_store_msg_get(t, A, mid, &mi), MP_ERR_NOTFOUND);
	CHECK(t, mp_store_msg_get(t, A, moved, &mi), MP_OK);
	assert_int_equal(mi.fid, sent);
	assert_true(mi.read);
	assert_int_equal(mi.n_attachments, 1);
	struct mp_store_obj mvo = mp_store_obj_message(A, moved);
	CHECK(t, mp_store_prop_get(t, &mvo, MP_TAG_SOURCE_KEY, &sk), MP_OK);
	assert_memory_equal(sk.data + 2, skey, sizeof(skey));
	CHECK(t, mp_store_prop_get_u64(t, &mvo, MP_TAG_PARENT_FOLDER_ID, &v64), MP_OK);
	assert_int_equal(v64, sent);
	CHECK(t, mp_store_prop_get_string(t, &mvo, MP_TAG_SUBJECT, f->mem, &s), MP_OK);
	assert_string_equal(s, "Changed");
	struct mp_store_obj mva = mp_store_obj_attach(A, moved, 1);
	CHECK(t, mp_store_prop_get(t, &mva, MP_TAG_ATTACH_DATA_BINARY, &p), MP_OK);
	assert_memory_equal(p.data, data, big);
	CHECK(t, mp_store_msg_copy(t, A, moved, inbox, &copied), MP_OK);
	struct mp_store_obj cpo = mp_store_obj_message(A, copied);
	CHECK(t, mp_store_prop_get(t, &cpo, MP_TAG_SOURCE_KEY, &sk), MP_OK);
	assert_memory_not_equal(sk.data + 2, skey, sizeof(skey));
	CHECK(t, mp_store_folder_get(t, A, inbox, &fi), MP_OK);
	assert_int_equal(fi.content_count, 1);
	CHECK(t, mp_store_folder_get(t, A, sent, &fi), MP_OK);
	assert_int_equal(fi.content_count, 1);

	/* Rows for a contents table. */
	uint32_t cols[3] = {MP_TAG_SUBJECT, MP_TAG_MID, MP_TAG_BODY};
	struct mp_store_prop *cells;
	uint64_t ids[2] = {copied, mp_store_make_id(1, 123456)};
	CHECK(t, mp_store_rows(t, A, MP_STORE_KIND_MESSAGE, ids, 2, cols, 3, f->mem, &cells), MP_OK);
	assert_int_equal(cells[0].form, MP_STORE_VAL_WIRE);
	assert_int_equal(cells[1].len, 8);
	assert_int_equal(cells[2].form, MP_STORE_VAL_NONE);
	for (int j = 0; j < 3; j++)
		assert_int_equal(cells[3 + j].form, MP_STORE_VAL_NONE);

	/* FAI messages have their own table and count. */
	uint64_t fai;
	CHECK(t, mp_store_msg_create(t, A, inbox, true, &fai), MP_OK);
	CHECK(t, mp_store_msg_save(t, A, fai, NULL), MP_OK);
	CHECK(t, mp_store_folder_get(t, A, inbox, &fi), MP_OK);
	assert_int_equal(fi.assoc_count, 1);
	assert_int_equal(fi.content_count, 1);
	CHECK(t, mp_store_folder_contents(t, A, inbox, true, f->mem, &mids, &n), MP_OK);
	assert_int_equal(n, 1);
	assert_int_equal(mids[0], fai);

	/* Errors: unknown ids, another replica, operations on the wrong state. */
	CHECK(t, mp_store_msg_save(t, A, mp_store_make_id(1, 99999), NULL), MP_ERR_NOTFOUND);
	assert_int_equal(mp_store_txn_ec(t), MP_STORE_EC_NOT_FOUND);
	CHECK(t, mp_store_msg_delete(t, A, mp_store_make_id(3, 1)), MP_ERR_NOTFOUND);
	CHECK(t, mp_store_msg_create(t, A, mp_store_make_id(1, 99999), false, &mid),
	      MP_ERR_NOTFOUND);
	uint64_t pending;
	CHECK(t, mp_store_msg_create(t, A, inbox, false, &pending), MP_OK);
	CHECK(t, mp_store_msg_move(t, A, pending, sent, &moved), MP_ERR_PROTO);
	CHECK(t, mp_store_msg_edit(t, A, pending, &draft), MP_ERR_PROTO);
	CHECK(t, mp_store_attach_save(t, A, copied, 42), MP_ERR_NOTFOUND);
	CHECK(t, mp_store_msg_delete(t, A, copied), MP_OK);
	CHECK(t, mp_store_folder_get(t, A, inbox, &fi), MP_OK);
	assert_int_equal(fi.content_count, 0);
	commit(t);
}

/* ---- Persistence ---- */

static void test_survives_reopen(void **state)
{
	struct fx *f = *state;
	uint32_t A = f->alice;
	uint64_t inbox = special(f, A, MP_STORE_SF_INBOX);
	struct mp_store_txn *t = wtxn(f->st);
	uint64_t saved, unsaved, fid;
	CHECK(t, mp_store_msg_create(t, A, inbox, false, &saved), MP_OK);
	struct mp_store_obj mo = mp_store_obj_message(A, saved);
	CHECK(t, mp_store_prop_set_string(t, &mo, MP_TAG_SUBJECT, "kept"), MP_OK);
	CHECK(t, mp_store_msg_save(t, A, saved, NULL), MP_OK);
	CHECK(t, mp_store_msg_create(t, A, inbox, false, &unsaved), MP_OK);
	CHECK(t, mp_store_folder_create(t, A, inbox, "Archive", NULL, 1, 0, &fid, NULL), MP_OK);
	uint16_t nid;
	struct mp_prop_name pn = {.kind = MP_PNAME_LID, .lid = 0x8501};
	pn.guid[0] = 0x08;
	CHECK(t, mp_store_named_id(t, A, &pn, true, &nid), MP_OK);
	commit(t);
	mp_store_close(f->st);

	f->st = open_ok(f->dir, NULL);
	t = rtxn(f->st);
	struct mp_store_user *u;
	CHECK(t, mp_store_user_by_name(t, "alice", f->mem, &u), MP_OK);
	char *s;
	CHECK(t, mp_store_prop_get_string(t, &mo, MP_TAG_SUBJECT, f->mem, &s), MP_OK);
	assert_string_equal(s, "kept");
	uint64_t other;
	CHECK(t, mp_store_folder_find(t, A, inbox, "archive", &other), MP_OK);
	assert_int_equal(other, fid);
	uint16_t nid2;
	CHECK(t, mp_store_named_id(t, A, &pn, false, &nid2), MP_OK);
	assert_int_equal(nid2, nid);
	/* The message never saved was purged at open. */
	struct mp_store_msg_info mi;
	CHECK(t, mp_store_msg_get(t, A, unsaved, &mi), MP_ERR_NOTFOUND);
	CHECK(t, mp_store_msg_get(t, A, saved, &mi), MP_OK);
	assert_int_equal(mi.state, MP_STORE_MSG_SAVED);
	uint8_t h[16];
	CHECK(t, mp_store_user_nt_hash(t, A, h), MP_OK);
	assert_memory_equal(h, password_nt_hash, 16);
	mp_store_txn_abort(t);
}

/* ---- Concurrency ---- */

struct reader_arg {
	struct mp_store *st;
	uint32_t mbox;
	uint64_t mid;
	int rc;
	char subject[64];
};

static void *reader(void *p)
{
	struct reader_arg *a = p;
	struct mp_store_txn *t;
	a->rc = mp_store_txn_begin(a->st, false, &t);
	if (a->rc)
		return NULL;
	struct mp_store_obj o = mp_store_obj_message(a->mbox, a->mid);
	char *s;
	a->rc = mp_store_prop_get_string(t, &o, MP_TAG_SUBJECT, mp_store_txn_mem(t), &s);
	if (a->rc == MP_OK)
		snprintf(a->subject, sizeof(a->subject), "%s", s);
	mp_store_txn_abort(t);
	return NULL;
}

static void test_concurrent_read_while_write(void **state)
{
	struct fx *f = *state;
	uint32_t A = f->alice;
	uint64_t inbox = special(f, A, MP_STORE_SF_INBOX);
	struct mp_store_txn *t = wtxn(f->st);
	uint64_t mid;
	CHECK(t, mp_store_msg_create(t, A, inbox, false, &mid), MP_OK);
	struct mp_store_obj mo = mp_store_obj_message(A, mid);
	CHECK(t, mp_store_prop_set_string(t, &mo, MP_TAG_SUBJECT, "v1"), MP_OK);
	CHECK(t, mp_store_msg_save(t, A, mid, NULL), MP_OK);
	commit(t);

	/* A snapshot taken before a write keeps seeing the old value, in this
	 * thread (MDB_NOTLS) and in another, while the writer is open and after
	 * it commits. */
	struct mp_store_txn *snap = rtxn(f->st);
	t = wtxn(f->st);
	CHECK(t, mp_store_prop_set_string(t, &mo, MP_TAG_SUBJECT, "v2"), MP_OK);
	struct reader_arg ra = {.st = f->st, .mbox = A, .mid = mid};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, reader, &ra), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(ra.rc, MP_OK);
	assert_string_equal(ra.subject, "v1");
	char *s;
	CHECK(snap, mp_store_prop_get_string(snap, &mo, MP_TAG_SUBJECT, f->mem, &s), MP_OK);
	assert_string_equal(s, "v1");
	commit(t);
	CHECK(snap, mp_store_prop_get_string(snap, &mo, MP_TAG_SUBJECT, f->mem, &s), MP_OK);
	assert_string_equal(s, "v1");
	mp_store_txn_abort(snap);
	memset(&ra, 0, sizeof(ra));
	ra.st = f->st, ra.mbox = A, ra.mid = mid;
	assert_int_equal(pthread_create(&th, NULL, reader, &ra), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_string_equal(ra.subject, "v2");

	/* An aborted write leaves nothing. */
	t = wtxn(f->st);
	CHECK(t, mp_store_prop_set_string(t, &mo, MP_TAG_SUBJECT, "v3"), MP_OK);
	mp_store_txn_abort(t);
	t = rtxn(f->st);
	CHECK(t, mp_store_prop_get_string(t, &mo, MP_TAG_SUBJECT, f->mem, &s), MP_OK);
	assert_string_equal(s, "v2");
	mp_store_txn_abort(t);
}

/* ---- Limits ---- */

static void test_map_full(void **state)
{
	(void)state;
	char dir[] = "/tmp/mpstore-full-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct mp_store_opts o = {.create = true, .map_size = MP_STORE_MIN_MAP_SIZE};
	struct mp_store *st = open_ok(dir, &o);
	int rc = MP_OK;
	unsigned made = 0;
	char err[256];
	while (rc == MP_OK && made < 1000) {
		char name[32];
		snprintf(name, sizeof(name), "user%u", made);
		struct mp_store_user_new u = {.name = name, .password = "pw"};
		rc = mp_store_user_add_simple(st, &u, NULL, err, sizeof(err));
		made += rc == MP_OK;
	}
	assert_int_equal(rc, MP_ERR_LIMIT);
	assert_non_null(strstr(err, "full"));
	assert_true(made > 0);
	/* What was committed before is intact. */
	struct mp_store_txn *t = rtxn(st);
	struct mp_store_user *list;
	size_t n;
	void *mem = talloc_new(NULL);
	CHECK(t, mp_store_user_list(t, mem, &list, &n), MP_OK);
	assert_int_equal(n, made);
	struct mp_store_mailbox mb;
	CHECK(t, mp_store_mailbox_get(t, list[n - 1].id, &mb), MP_OK);
	uint32_t mbox = list[0].id;
	mp_store_txn_abort(t);

	/* Within one transaction the call that hits the limit fails alone. The
	 * commit itself needs pages too: it keeps everything before the failed
	 * call, or (map too full for its bookkeeping) fails as a whole. */
	t = wtxn(st);
	CHECK(t, mp_store_user_delete(t, list[n - 1].id), MP_OK);
	commit(t);
	t = wtxn(st);
	uint64_t fid, ipm = mb.special[MP_STORE_SF_IPM_SUBTREE];
	unsigned folders = 0;
	uint8_t *blob = talloc_zero_array(mem, uint8_t, 3000);
	rc = MP_OK;
	while (rc == MP_OK && folders < 10000) {
		char name[32];
		snprintf(name, sizeof(name), "f%u", folders);
		rc = mp_store_folder_create(t, mbox, ipm, name, NULL, 1, 0, &fid, NULL);
		if (rc == MP_OK) {
			struct mp_store_obj fo = mp_store_obj_folder(mbox, fid);
			rc = mp_store_prop_set_binary(t, &fo, 0x68000102, blob, 3000);
			folders++;
		}
	}
	assert_int_equal(rc, MP_ERR_LIMIT);
	assert_int_equal(mp_store_txn_ec(t), MP_STORE_EC_DISK_FULL);
	assert_true(folders > 2);
	rc = mp_store_txn_commit(t);
	assert_true(rc == MP_OK || rc == MP_ERR_LIMIT);
	t = rtxn(st);
	uint64_t *kids;
	size_t nk;
	CHECK(t, mp_store_folder_children(t, mbox, ipm, false, mem, &kids, &nk), MP_OK);
	assert_int_equal(nk, rc == MP_OK ? 10 + folders : 10);
	mp_store_txn_abort(t);
	/* Either way the store goes on: deleting makes room for new writes. */
	t = wtxn(st);
	CHECK(t, mp_store_user_delete(t, list[1].id), MP_OK);
	commit(t);
	t = wtxn(st);
	CHECK(t, mp_store_folder_create(t, mbox, ipm, "after", NULL, 1, 0, &fid, NULL), MP_OK);
	commit(t);
	talloc_free(mem);
	mp_store_close(st);
	rm_rf(dir);
}

static void test_many_messages_and_bad_objects(void **state)
{
	struct fx *f = *state;
	uint32_t A = f->alice;
	uint64_t inbox = special(f, A, MP_STORE_SF_INBOX);
	struct mp_store_txn *t = wtxn(f->st);
	for (int i = 0; i < 300; i++) {
		uint64_t mid;
		CHECK(t, mp_store_msg_create(t, A, inbox, false, &mid), MP_OK);
		CHECK(t, mp_store_msg_save(t, A, mid, NULL), MP_OK);
	}
	uint64_t *mids;
	size_t n;
	CHECK(t, mp_store_folder_contents(t, A, inbox, false, f->mem, &mids, &n), MP_OK);
	assert_int_equal(n, 300);
	for (size_t i = 1; i < n; i++)
		assert_true(mp_store_id_gc(mids[i]) > mp_store_id_gc(mids[i - 1]));
	struct mp_store_folder_info fi;
	CHECK(t, mp_store_folder_get(t, A, inbox, &fi), MP_OK);
	assert_int_equal(fi.content_count, 300);
	CHECK(t, mp_store_folder_empty(t, A, inbox, false, 0), MP_OK);
	CHECK(t, mp_store_folder_get(t, A, inbox, &fi), MP_OK);
	assert_int_equal(fi.content_count, 0);
	assert_int_equal(fi.unread_count, 0);

	/* Objects that do not exist or cannot be. */
	struct mp_store_prop p;
	struct mp_store_obj o = {.mbox = A, .kind = 9, .id = inbox};
	CHECK(t, mp_store_prop_get(t, &o, MP_TAG_SUBJECT, &p), MP_ERR_NOTFOUND);
	o = mp_store_obj_folder(A, mp_store_make_id(1, 55555));
	CHECK(t, mp_store_prop_set_string(t, &o, MP_TAG_COMMENT, "x"), MP_ERR_NOTFOUND);
	assert_non_null(strstr(mp_store_txn_errmsg(t), "no such folder"));
	o = mp_store_obj_folder(999, inbox);
	CHECK(t, mp_store_prop_get(t, &o, MP_TAG_SUBJECT, &p), MP_ERR_NOTFOUND);
	o = mp_store_obj_mailbox(A);
	o.id = 5;
	CHECK(t, mp_store_prop_get(t, &o, MP_TAG_SUBJECT, &p), MP_ERR_NOTFOUND);
	commit(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_modes_and_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mailbox_hierarchy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_folders, setup, teardown),
		cmocka_unit_test_setup_teardown(test_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_survives_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_read_while_write, setup, teardown),
		cmocka_unit_test(test_map_full),
		cmocka_unit_test_setup_teardown(test_many_messages_and_bad_objects, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
