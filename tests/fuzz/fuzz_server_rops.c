/*
 * libFuzzer target: the EMSMDB server's ROP dispatcher after a valid
 * logon, over a real store (a user with one imported message).
 *
 * Input: <mode> <bytes>. Mode bit 0 clear: `bytes` is a RopsList, framed
 * with its RopSize and an 8-slot handle table whose slot 0 holds the logon
 * (so the ROPs reach the handlers); set: `bytes` is a whole ROP request
 * buffer as a client would send it. Bits 1-2 pick the response room. The
 * session's objects are released after each input.
 */
#include "server/rop_server.h"
#include "util/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mp_emsmdb_sess *sess;

static const char eml[] = "From: Bob <bob@example.org>\r\nTo: Alice <alice@example.org>\r\n"
                          "Subject: Hello\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
                          "boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nBody text\r\n"
                          "--b\r\nContent-Type: application/octet-stream; name=a.bin\r\n"
                          "Content-Transfer-Encoding: base64\r\n\r\nAAECAwQF\r\n--b--\r\n";

static void init(void)
{
	static char dir[] = "/tmp/mp-fuzz-server-XXXXXX";
	struct mp_store_opts o = {.create = true, .map_size = 256u << 20};
	struct mp_store_user_new u = {.name = "alice", .password = "pw"};
	struct mp_store *st = NULL;
	struct mp_store_txn *txn = NULL;
	struct mp_store_user *user = NULL;
	struct mp_store_mailbox mb;
	char err[256];
	uint32_t id = 0;
	uint64_t mid;
	if (!mkdtemp(dir) || mp_store_open(&st, dir, &o, err, sizeof(err)) != MP_OK ||
	    mp_store_user_add_simple(st, &u, &id, err, sizeof(err)) != MP_OK ||
	    mp_store_txn_begin(st, true, &txn) != MP_OK ||
	    mp_store_mailbox_get(txn, id, &mb) != MP_OK ||
	    mp_store_import_mem(txn, id, mb.special[MP_STORE_SF_INBOX], eml, sizeof(eml) - 1, 0,
	                        &mid) != MP_OK ||
	    mp_store_user_get(txn, id, NULL, &user) != MP_OK) {
		fprintf(stderr, "fuzz_server_rops: setup failed\n");
		abort();
	}
	sess = talloc_zero(NULL, struct mp_emsmdb_sess);
	sess->st = st;
	sess->user_id = id;
	sess->user_dn = talloc_strdup(sess, user->dn);
	sess->rsess = mp_rop_session_new(sess);
	talloc_free(user);
	if (mp_store_txn_commit(txn) != MP_OK || !sess->user_dn || !sess->rsess)
		abort();
}

/* A RopLogon; returns the logon handle. */
static uint32_t logon(void)
{
	struct mp_wbuf rq, out;
	uint32_t ec = 0, h = 0xFFFFFFFFu;
	size_t dn = strlen(sess->user_dn) + 1;
	mp_wb_init(&rq);
	mp_wb_u16(&rq, 0);
	mp_wb_u8(&rq, 0xFE);
	mp_wb_u8(&rq, 0);
	mp_wb_u8(&rq, 0);
	mp_wb_u8(&rq, 0x01);
	mp_wb_u32(&rq, 0);
	mp_wb_u32(&rq, 0);
	mp_wb_u16(&rq, (uint16_t)dn);
	mp_wb_bytes(&rq, sess->user_dn, dn);
	mp_wb_put_u16_at(&rq, 0, (uint16_t)rq.len);
	mp_wb_u32(&rq, 0xFFFFFFFFu);
	mp_wb_init(&out);
	if (mp_srv_rop_run(sess, rq.data, rq.len, 0x8000, &out, &ec) == MP_OK && out.len >= 6)
		h = mp_get_u32(out.data + mp_get_u16(out.data));
	mp_wb_free(&rq);
	mp_wb_free(&out);
	if (h == 0xFFFFFFFFu)
		abort();
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t rooms[4] = {0x8000, 0x1000, 0x100, 0x20};
	struct mp_wbuf rq, out;
	uint32_t ec = 0;
	if (!sess)
		init();
	if (size < 1 || size > 0x10000)
		return 0;
	uint32_t h = logon();
	uint8_t mode = data[0];
	mp_wb_init(&rq);
	if (mode & 1) {
		mp_wb_bytes(&rq, data + 1, size - 1);
	} else {
		if (size - 1 + 2 > 0xFFFF)
			return 0;
		mp_wb_u16(&rq, (uint16_t)(size - 1 + 2));
		mp_wb_bytes(&rq, data + 1, size - 1);
		mp_wb_u32(&rq, h);
		for (int i = 1; i < 8; i++)
			mp_wb_u32(&rq, 0xFFFFFFFFu);
	}
	mp_wb_init(&out);
	size_t room = rooms[(mode >> 1) & 3];
	if (mp_srv_rop_run(sess, rq.data ? rq.data : (const uint8_t *)"", rq.len, room, &out,
	                   &ec) == MP_OK) {
		/* A response buffer: RopSize within it, the handle table after. */
		if (out.len < 2 || mp_get_u16(out.data) > out.len || out.len > room + 4 * 256)
			abort();
	} else if (ec == 0) {
		abort();
	}
	mp_wb_free(&rq);
	mp_wb_free(&out);
	mp_srv_release_all(sess);
	return 0;
}
