/*
 * Shared by the EMSMDB server tests: a store in a temporary directory with
 * two users (alice, bob), tests/unit/data/mime/attachments.eml and
 * plain.eml imported into alice's Inbox, and a builder for ROP request
 * buffers.
 */
#ifndef MP_TEST_SERVER_FIXTURE_H
#define MP_TEST_SERVER_FIXTURE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/store/store.h"
#include "util/cursor.h"
#include "util/status.h"

struct srv_fixture {
	char dir[64];
	struct mp_store *st;
	uint32_t alice, bob;
	char alice_dn[256];
	char bob_dn[256];
};

static int fx_rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

static inline void fx_teardown(struct srv_fixture *f)
{
	mp_store_close(f->st);
	nftw(f->dir, fx_rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
}

static inline struct srv_fixture *fx_setup(void)
{
	struct srv_fixture *f = calloc(1, sizeof(*f));
	char err[256], path[512];
	struct mp_store_opts o = {.create = true, .map_size = 64u << 20};
	struct mp_store_user_new a = {.name = "alice",
	                              .password = "pw-a",
	                              .display_name = "Alice A",
	                              .smtp = "alice@example.org"};
	struct mp_store_user_new b = {
	    .name = "bob", .password = "pw-b", .display_name = "Bob B", .smtp = "bob@example.org"};
	struct mp_store_import_stats stats;
	struct mp_store_import_opts io = {0};
	const char *data = getenv("MP_TEST_DATA_DIR");
	struct mp_store_txn *txn;
	struct mp_store_user *u;

	if (!f)
		return NULL;
	snprintf(f->dir, sizeof(f->dir), "/tmp/mp-srv-test-XXXXXX");
	if (!mkdtemp(f->dir) || mp_store_open(&f->st, f->dir, &o, err, sizeof(err)) != MP_OK ||
	    mp_store_user_add_simple(f->st, &a, &f->alice, err, sizeof(err)) != MP_OK ||
	    mp_store_user_add_simple(f->st, &b, &f->bob, err, sizeof(err)) != MP_OK) {
		fprintf(stderr, "fixture: %s\n", err);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/mime/attachments.eml", data ? data : "tests/unit/data");
	if (mp_store_import_path(f->st, "alice", path, &io, &stats, err, sizeof(err)) != MP_OK)
		return NULL;
	snprintf(path, sizeof(path), "%s/mime/plain.eml", data ? data : "tests/unit/data");
	if (mp_store_import_path(f->st, "alice", path, &io, &stats, err, sizeof(err)) != MP_OK)
		return NULL;
	if (mp_store_txn_begin(f->st, false, &txn) != MP_OK)
		return NULL;
	if (mp_store_user_get(txn, f->alice, mp_store_txn_mem(txn), &u) == MP_OK)
		snprintf(f->alice_dn, sizeof(f->alice_dn), "%s", u->dn);
	if (mp_store_user_get(txn, f->bob, mp_store_txn_mem(txn), &u) == MP_OK)
		snprintf(f->bob_dn, sizeof(f->bob_dn), "%s", u->dn);
	mp_store_txn_abort(txn);
	return f;
}

static inline struct mp_store_mailbox fx_mailbox(struct srv_fixture *f, uint32_t mbox)
{
	struct mp_store_mailbox mb;
	struct mp_store_txn *txn;
	memset(&mb, 0, sizeof(mb));
	if (mp_store_txn_begin(f->st, false, &txn) == MP_OK) {
		mp_store_mailbox_get(txn, mbox, &mb);
		mp_store_txn_abort(txn);
	}
	return mb;
}

/* ---- ROP request buffers ---- */

static inline void rq_begin(struct mp_wbuf *wb)
{
	mp_wb_init(wb);
	mp_wb_u16(wb, 0);
}

/* Close RopsList (RopSize) and append `n` handle slots. */
static inline void rq_end(struct mp_wbuf *wb, const uint32_t *handles, size_t n)
{
	mp_wb_put_u16_at(wb, 0, (uint16_t)wb->len);
	for (size_t i = 0; i < n; i++)
		mp_wb_u32(wb, handles ? handles[i] : 0xFFFFFFFFu);
}

static inline void rq_u64(struct mp_wbuf *wb, uint64_t v)
{
	mp_wb_u32(wb, (uint32_t)v);
	mp_wb_u32(wb, (uint32_t)(v >> 32));
}

static inline void rq_logon(struct mp_wbuf *wb, uint8_t out, const char *dn)
{
	mp_wb_u8(wb, 0xFE);
	mp_wb_u8(wb, 0);           /* LogonId */
	mp_wb_u8(wb, out);         /* OutputHandleIndex */
	mp_wb_u8(wb, 0x01);        /* LogonFlags: Private */
	mp_wb_u32(wb, 0x01000000); /* OpenFlags: USE_PER_MDB_REPLID_MAPPING */
	mp_wb_u32(wb, 0);          /* StoreState */
	mp_wb_u16(wb, (uint16_t)(strlen(dn) + 1));
	mp_wb_bytes(wb, dn, strlen(dn) + 1);
}

static inline void rq_hdr(struct mp_wbuf *wb, uint8_t id, uint8_t in)
{
	mp_wb_u8(wb, id);
	mp_wb_u8(wb, 0);
	mp_wb_u8(wb, in);
}

static inline void rq_open_folder(struct mp_wbuf *wb, uint8_t in, uint8_t out, uint64_t fid)
{
	rq_hdr(wb, 0x02, in);
	mp_wb_u8(wb, out);
	rq_u64(wb, fid);
	mp_wb_u8(wb, 0);
}

static inline void rq_set_columns(struct mp_wbuf *wb, uint8_t in, const uint32_t *tags, size_t n)
{
	rq_hdr(wb, 0x12, in);
	mp_wb_u8(wb, 0);
	mp_wb_u16(wb, (uint16_t)n);
	for (size_t i = 0; i < n; i++)
		mp_wb_u32(wb, tags[i]);
}

static inline void rq_query_rows(struct mp_wbuf *wb, uint8_t in, uint16_t count)
{
	rq_hdr(wb, 0x15, in);
	mp_wb_u8(wb, 0);
	mp_wb_u8(wb, 1);
	mp_wb_u16(wb, count);
}

/* ---- Reading responses ---- */

/* Skip RopSize; the cursor then reads RopsList. */
static inline bool rs_begin(struct mp_rcursor *rc, const struct mp_wbuf *out)
{
	mp_rc_init(rc, out->data, out->len);
	uint16_t size = mp_rc_u16(rc);
	if (rc->bad || size < 2 || size > out->len)
		return false;
	rc->len = size;
	return true;
}

static inline uint64_t rs_u64(struct mp_rcursor *rc)
{
	uint64_t lo = mp_rc_u32(rc);
	return lo | ((uint64_t)mp_rc_u32(rc) << 32);
}

/* The handle table after RopsList. */
static inline uint32_t rs_handle(const struct mp_wbuf *out, size_t i)
{
	uint16_t size = mp_get_u16(out->data);
	if ((size_t)size + 4 * (i + 1) > out->len)
		return 0xFFFFFFFFu;
	return mp_get_u32(out->data + size + 4 * i);
}

#endif
