/*
 * libFuzzer target: the mailbox store's untrusted inputs. Each input is
 * imported as an RFC 5322 message (GMime, then the store's mapping), every
 * stored value of the result must decode with the wire codec, and the same
 * bytes are offered as an EntryID, a LongTermId and a property value of a
 * tag taken from the input. Everything runs in a write transaction that is
 * aborted, so the store stays as it was created.
 */
#include "server/store/store.h"
#include "util/status.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <talloc.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mp_store *st;
static uint32_t mbox;
static uint64_t inbox;
static char dir[64];

static void check(bool ok)
{
	if (!ok)
		abort();
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

static void cleanup(void)
{
	mp_store_close(st);
	nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

static void init(void)
{
	char err[256];
	struct mp_store_txn *t;
	struct mp_store_mailbox mb;
	snprintf(dir, sizeof(dir), "/tmp/fuzz-store-XXXXXX");
	check(mkdtemp(dir) != NULL);
	struct mp_store_opts o = {.create = true};
	check(mp_store_open(&st, dir, &o, err, sizeof(err)) == MP_OK);
	struct mp_store_user_new u = {.name = "fuzz", .password = "pw"};
	check(mp_store_user_add_simple(st, &u, &mbox, err, sizeof(err)) == MP_OK);
	check(mp_store_txn_begin(st, false, &t) == MP_OK);
	check(mp_store_mailbox_get(t, mbox, &mb) == MP_OK);
	mp_store_txn_abort(t);
	inbox = mb.special[MP_STORE_SF_INBOX];
	atexit(cleanup);
}

/* Every value of an object decodes; content of streamable ones is readable. */
static void check_values(struct mp_store_txn *t, const struct mp_store_obj *o, void *mem)
{
	struct mp_store_prop *all;
	size_t n;
	check(mp_store_prop_list(t, o, mem, &all, &n) == MP_OK);
	for (size_t i = 0; i < n; i++) {
		struct mp_propval pv;
		check(mp_store_prop_decode(&all[i], mem, &pv) == MP_OK);
		uint16_t type = all[i].tag & 0xffff;
		if (type == MP_PT_STRING || type == MP_PT_STRING8 || type == MP_PT_BINARY) {
			const uint8_t *c;
			size_t len;
			uint64_t size;
			check(mp_store_prop_content(&all[i], &c, &len) == MP_OK);
			check(mp_store_stream_size(t, o, all[i].tag, &size) == MP_OK);
			check(size == len);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!st)
		init();
	struct mp_store_txn *t;
	check(mp_store_txn_begin(st, true, &t) == MP_OK);
	void *mem = talloc_new(NULL);

	uint64_t mid = 0;
	int rc = mp_store_import_mem(t, mbox, inbox, data, size, 0, &mid);
	check(rc == MP_OK || rc == MP_ERR_PARSE || rc == MP_ERR_LIMIT);
	if (rc == MP_OK) {
		struct mp_store_obj m = mp_store_obj_message(mbox, mid);
		struct mp_store_msg_info mi;
		check(mp_store_msg_get(t, mbox, mid, &mi) == MP_OK);
		check(mi.state == MP_STORE_MSG_SAVED && mi.fid == inbox);
		check_values(t, &m, mem);
		uint32_t *rows;
		size_t n;
		check(mp_store_recip_list(t, mbox, mid, mem, &rows, &n) == MP_OK);
		check(n == mi.n_recipients);
		for (size_t i = 0; i < n; i++) {
			struct mp_store_obj r = mp_store_obj_recip(mbox, mid, rows[i]);
			check_values(t, &r, mem);
		}
		check(mp_store_attach_list(t, mbox, mid, mem, &rows, &n) == MP_OK);
		check(n == mi.n_attachments);
		for (size_t i = 0; i < n; i++) {
			struct mp_store_obj a = mp_store_obj_attach(mbox, mid, rows[i]);
			check_values(t, &a, mem);
		}
	}

	/* The same bytes as identifiers. */
	struct mp_store_eid e;
	if (mp_store_eid_parse(data, size, &e) == MP_OK) {
		uint8_t out[MP_STORE_MESSAGE_EID_LEN];
		if (size == MP_STORE_FOLDER_EID_LEN) {
			mp_store_folder_eid_build(e.provider, e.type, e.folder_db, e.folder_gc, out);
			check(memcmp(out + 4, data + 4, size - 4) == 0);
		} else {
			mp_store_message_eid_build(e.provider, e.type, e.folder_db, e.folder_gc,
						   e.message_db, e.message_gc, out);
			check(memcmp(out + 4, data + 4, size - 4) == 0);
		}
	}
	if (size >= MP_STORE_LTID_LEN) {
		uint8_t g[16];
		uint64_t gc;
		if (mp_store_ltid_parse(data, g, &gc) == MP_OK) {
			uint8_t again[MP_STORE_LTID_LEN];
			mp_store_ltid_build(g, mp_store_make_id(1, gc), again);
			check(memcmp(again, data, MP_STORE_LTID_LEN) == 0);
		}
	}

	/* The bytes after a 4-byte tag as one property value. */
	if (size >= 4) {
		uint32_t tag = (uint32_t)data[0] | (uint32_t)data[1] << 8 |
			       (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
		struct mp_store_obj f = mp_store_obj_folder(mbox, inbox);
		rc = mp_store_prop_set(t, &f, tag, data + 4, size - 4);
		if (rc == MP_OK) {
			struct mp_store_prop p;
			uint16_t type = tag & 0xffff;
			check(mp_store_prop_get(t, &f, tag & 0xffff0000u, &p) == MP_OK);
			/* Setting PidTagDisplayName renames: the stored value is the new name. */
			if ((tag >> 16) != 0x3001) {
				check(p.tag == tag && p.len == size - 4);
				check(memcmp(p.data, data + 4, p.len) == 0);
			}
			(void)type;
		}
	}

	talloc_free(mem);
	mp_store_txn_abort(t);
	return 0;
}
