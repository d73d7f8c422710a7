/*
 * The EMSMDB server's ROP dispatcher against a real store: ROP request
 * buffers built by hand per MS-OXCROPS, responses read field by field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "server_fixture.h"

#include "mapi/propval.h"
#include "server/rop_server.h"

#include <talloc.h>

#define TAG_SUBJECT_W 0x0037001Fu
#define TAG_MID 0x674A0014u
#define TAG_BODY_W 0x1000001Fu
#define TAG_ATTACH_DATA 0x37010102u

struct ctx {
	struct srv_fixture *f;
	struct mp_emsmdb_sess *s;
	struct mp_store_mailbox mb;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	c->f = fx_setup();
	if (!c->f)
		return -1;
	c->s = talloc_zero(NULL, struct mp_emsmdb_sess);
	c->s->st = c->f->st;
	c->s->user_id = c->f->alice;
	c->s->user_dn = talloc_strdup(c->s, c->f->alice_dn);
	c->s->rsess = mp_rop_session_new(c->s);
	c->mb = fx_mailbox(c->f, c->f->alice);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	mp_srv_release_all(c->s);
	talloc_free(c->s);
	fx_teardown(c->f);
	free(c);
	return 0;
}

/* Run a request buffer; returns the result of mp_srv_rop_run. */
static int run(struct ctx *c, struct mp_wbuf *rq, size_t max, struct mp_wbuf *out, uint32_t *ec)
{
	mp_wb_init(out);
	int rc = mp_srv_rop_run(c->s, rq->data, rq->len, max, out, ec);
	mp_wb_free(rq);
	return rc;
}

/* Log on; returns the logon handle. */
static uint32_t logon(struct ctx *c)
{
	struct mp_wbuf rq, out;
	uint32_t ec;
	rq_begin(&rq);
	rq_logon(&rq, 0, c->f->alice_dn);
	rq_end(&rq, NULL, 1);
	assert_int_equal(run(c, &rq, 0x8000, &out, &ec), MP_OK);
	uint32_t h = rs_handle(&out, 0);
	mp_wb_free(&out);
	assert_int_not_equal(h, 0xFFFFFFFFu);
	return h;
}

static void test_logon_folder_ids(void **state)
{
	struct ctx *c = *state;
	struct mp_wbuf rq, out;
	struct mp_rcursor rc;
	uint32_t ec;
	rq_begin(&rq);
	rq_logon(&rq, 0, c->f->alice_dn);
	rq_end(&rq, NULL, 1);
	assert_int_equal(run(c, &rq, 0x8000, &out, &ec), MP_OK);
	assert_true(rs_begin(&rc, &out));
	assert_int_equal(mp_rc_u8(&rc), 0xFE);
	assert_int_equal(mp_rc_u8(&rc), 0);
	assert_int_equal(mp_rc_u32(&rc), 0);
	assert_int_equal(mp_rc_u8(&rc), 0x01); /* LogonFlags: Private */
	for (int i = 0; i < MP_STORE_LOGON_FOLDERS; i++)
		assert_true(rs_u64(&rc) == c->mb.special[i]);
	assert_int_equal(mp_rc_u8(&rc), 0x07); /* Reserved | OwnerRight | SendAsRight */
	assert_memory_equal(mp_rc_take(&rc, 16), c->mb.mailbox_guid, 16);
	assert_int_equal(mp_rc_u16(&rc), MP_STORE_REPLID);
	assert_memory_equal(mp_rc_take(&rc, 16), c->mb.replica_guid, 16);
	mp_rc_skip(&rc, 8 + 8 + 4); /* LogonTime, GwartTime, StoreState */
	assert_false(rc.bad);
	assert_int_equal(mp_rc_left(&rc), 0);
	assert_int_not_equal(rs_handle(&out, 0), 0xFFFFFFFFu);
	mp_wb_free(&out);
}

static void test_logon_other_mailbox_refused(void **state)
{
	struct ctx *c = *state;
	struct mp_wbuf rq, out;
	struct mp_rcursor rc;
	uint32_t ec;
	rq_begin(&rq);
	rq_logon(&rq, 0, c->f->bob_dn);
	rq_end(&rq, NULL, 1);
	assert_int_equal(run(c, &rq, 0x8000, &out, &ec), MP_OK);
	assert_true(rs_begin(&rc, &out));
	assert_int_equal(mp_rc_u8(&rc), 0xFE);
	assert_int_equal(mp_rc_u8(&rc), 0);
	assert_int_equal(mp_rc_u32(&rc), MP_EC_LOGIN_PERM);
	assert_int_equal(mp_rc_left(&rc), 0);
	assert_int_equal(rs_handle(&out, 0), 0xFFFFFFFFu);
	mp_wb_free(&out);
}

/* UTF-16LE string with terminator at the cursor, as ASCII. */
static void take_utf16(struct mp_rcursor *rc, char *buf, size_t len)
{
	size_t i = 0;
	for (;;) {
		uint16_t ch = mp_rc_u16(rc);
		if (rc->bad || ch == 0)
			break;
		if (i + 1 < len)
			buf[i++] = (char)ch;
	}
	buf[i] = '\0';
}

/* Open the Inbox contents table with (subject, mid) columns and read it:
 * the MIDs in table order and the subjects. Returns the row count. */
static size_t inbox_rows(struct ctx *c, uint32_t logon_h, uint64_t *mids, char subj[][64])
{
	static const uint32_t cols[] = {TAG_SUBJECT_W, TAG_MID};
	struct mp_wbuf rq, out;
	struct mp_rcursor rc;
	uint32_t ec, h[3] = {logon_h, 0xFFFFFFFFu, 0xFFFFFFFFu};
	rq_begin(&rq);
	rq_open_folder(&rq, 0, 1, c->mb.special[MP_STORE_SF_INBOX]);
	rq_hdr(&rq, 0x05, 1);
	mp_wb_u8(&rq, 2);
	mp_wb_u8(&rq, 0);
	rq_set_columns(&rq, 2, cols, 2);
	rq_query_rows(&rq, 2, 100);
	rq_end(&rq, h, 3);
	assert_int_equal(run(c, &rq, 0x8000, &out, &ec), MP_OK);
	assert_true(rs_begin(&rc, &out));
	assert_int_equal(mp_rc_u8(&rc), 0x02);
	assert_int_equal(mp_rc_u8(&rc), 1);
	assert_int_equal(mp_rc_u32(&rc), 0);
	mp_rc_skip(&rc, 2);
	assert_int_equal(mp_rc_u8(&rc), 0x05);
	assert_int_equal(mp_rc_u8(&rc), 2);
	assert_int_equal(mp_rc_u32(&rc), 0);
	uint32_t count = mp_rc_u32(&rc);
	assert_int_equal(mp_rc_u8(&rc), 0x12);
	mp_rc_skip(&rc, 1);
	assert_int_equal(mp_rc_u32(&rc), 0);
	mp_rc_skip(&rc, 1);
	assert_int_equal(mp_rc_u8(&rc), 0x15);
	mp_rc_skip(&rc, 1);
	assert_int_equal(mp_rc_u32(&rc), 0);
	assert_int_equal(mp_rc_u8(&rc), 2); /* Origin: BOOKMARK_END */
	uint16_t rows = mp_rc_u16(&rc);
	assert_int_equal(rows, count);
	for (uint16_t i = 0; i < rows; i++) {
		assert_int_equal(mp_rc_u8(&rc), 0x00); /* StandardPropertyRow */
		take_utf16(&rc, subj[i], 64);
		mids[i] = rs_u64(&rc);
	}
	assert_false(rc.bad);
	assert_int_equal(mp_rc_left(&rc), 0);
	mp_wb_free(&out);
	return rows;
}

static void test_inbox_subjects(void **state)
{
	struct ctx *c = *state;
	uint64_t mids[8];
	char subj[8][64];
	size_t n = inbox_rows(c, logon(c), mids, subj);
	assert_int_equal(n, 2);
	assert_string_equal(subj[0], "Files");
	assert_string_equal(subj[1], "RE: Lunch plans");
	assert_true(mids[0] != mids[1]);
}

static void test_body_and_attachment_stream(void **state)
{
	struct ctx *c = *state;
	uint64_t mids[8];
	char subj[8][64];
	uint32_t lh = logon(c);
	inbox_rows(c, lh, mids, subj);
	struct mp_wbuf rq, out;
	struct mp_rcursor rc;
	uint32_t ec, h[4] = {lh, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
	uint32_t body_tag = TAG_BODY_W;

	rq_begin(&rq);
	rq_hdr(&rq, 0x03, 0); /* RopOpenMessage -> 1 */
	mp_wb_u8(&rq, 1);
	mp_wb_u16(&rq, 0x0FFF);
	rq_u64(&rq, c->mb.special[MP_STORE_SF_INBOX]);
	mp_wb_u8(&rq, 0);
	rq_u64(&rq, mids[0]);
	rq_hdr(&rq, 0x07, 1); /* RopGetPropertiesSpecific (body) */
	mp_wb_u16(&rq, 0);
	mp_wb_u16(&rq, 1);
	mp_wb_u16(&rq, 1);
	mp_wb_u32(&rq, body_tag);
	rq_hdr(&rq, 0x22, 1); /* RopOpenAttachment 0 -> 2 */
	mp_wb_u8(&rq, 2);
	mp_wb_u8(&rq, 0);
	mp_wb_u32(&rq, 0);
	rq_hdr(&rq, 0x2B, 2); /* RopOpenStream (data) -> 3 */
	mp_wb_u8(&rq, 3);
	mp_wb_u32(&rq, TAG_ATTACH_DATA);
	mp_wb_u8(&rq, 0);
	rq_hdr(&rq, 0x2C, 3); /* RopReadStream 0x1000 */
	mp_wb_u16(&rq, 0x1000);
	rq_hdr(&rq, 0x2C, 3); /* past the end */
	mp_wb_u16(&rq, 0x1000);
	rq_end(&rq, h, 4);
	assert_int_equal(run(c, &rq, 0x8000, &out, &ec), MP_OK);
	assert_true(rs_begin(&rc, &out));

	/* RopOpenMessage: header, subject prefix/normalized, recipients. */
	assert_int_equal(mp_rc_u8(&rc), 0x03);
	assert_int_equal(mp_rc_u8(&rc), 1);
	assert_int_equal(mp_rc_u32(&rc), 0);
	mp_rc_skip(&rc, 1); /* HasNamedProperties */
	uint8_t st = mp_rc_u8(&rc);
	char buf[64];
	if (st == 0x04)
		take_utf16(&rc, buf, sizeof(buf));
	assert_int_equal(mp_rc_u8(&rc), 0x04);
	take_utf16(&rc, buf, sizeof(buf));
	assert_string_equal(buf, "Files");
	assert_int_equal(mp_rc_u16(&rc), 1); /* RecipientCount: Alice */
	uint16_t ncols = mp_rc_u16(&rc);
	mp_rc_skip(&rc, 4 * ncols);
	assert_int_equal(mp_rc_u8(&rc), 1); /* RowCount */
	assert_int_equal(mp_rc_u8(&rc), 1); /* RecipientType: To */
	mp_rc_skip(&rc, 4);
	uint16_t rsize = mp_rc_u16(&rc);
	mp_rc_skip(&rc, rsize);

	/* RopGetPropertiesSpecific: the body. */
	assert_int_equal(mp_rc_u8(&rc), 0x07);
	assert_int_equal(mp_rc_u8(&rc), 1);
	assert_int_equal(mp_rc_u32(&rc), 0);
	assert_int_equal(mp_rc_u8(&rc), 0x00);
	take_utf16(&rc, buf, sizeof(buf));
	assert_non_null(strstr(buf, "See attached."));

	assert_int_equal(mp_rc_u8(&rc), 0x22);
	assert_int_equal(mp_rc_u8(&rc), 2);
	assert_int_equal(mp_rc_u32(&rc), 0);
	assert_int_equal(mp_rc_u8(&rc), 0x2B);
	assert_int_equal(mp_rc_u8(&rc), 3);
	assert_int_equal(mp_rc_u32(&rc), 0);
	assert_int_equal(mp_rc_u32(&rc), 256); /* StreamSize */
	assert_int_equal(mp_rc_u8(&rc), 0x2C);
	assert_int_equal(mp_rc_u8(&rc), 3);
	assert_int_equal(mp_rc_u32(&rc), 0);
	assert_int_equal(mp_rc_u16(&rc), 256);
	const uint8_t *d = mp_rc_take(&rc, 256);
	assert_non_null(d);
	for (int i = 0; i < 256; i++) /* data.bin of the .eml: bytes 0..255 */
		assert_int_equal(d[i], i);
	assert_int_equal(mp_rc_u8(&rc), 0x2C); /* read past the end: nothing, no error */
	assert_int_equal(mp_rc_u8(&rc), 3);
	assert_int_equal(mp_rc_u32(&rc), 0);
	assert_int_equal(mp_rc_u16(&rc), 0);
	assert_false(rc.bad);
	assert_int_equal(mp_rc_left(&rc), 0);
	mp_wb_free(&out);
}

static void put_utf16z(struct mp_wbuf *wb, const char *s)
{
	for (; *s; s++)
		mp_wb_u16(wb, (uint8_t)*s);
	mp_wb_u16(wb, 0);
}

/* Alice sends "Hello Bob" to bob@example.org: create, set, recipients,
 * save, submit in one buffer; every ROP succeeds. */
static void send_to_bob(struct ctx *c)
{
	uint32_t lh = logon(c);
	struct mp_wbuf rq, out, row;
	struct mp_rcursor rc;
	uint32_t ec, h[2] = {lh, 0xFFFFFFFFu};

	rq_begin(&rq);
	rq_hdr(&rq, 0x06, 0); /* RopCreateMessage in Drafts -> 1 */
	mp_wb_u8(&rq, 1);
	mp_wb_u16(&rq, 0x0FFF);
	rq_u64(&rq, c->mb.special[MP_STORE_SF_DRAFTS]);
	mp_wb_u8(&rq, 0);
	rq_hdr(&rq, 0x0A, 1); /* RopSetProperties: subject, class */
	struct mp_wbuf vals;
	mp_wb_init(&vals);
	mp_wb_u16(&vals, 2);
	mp_wb_u32(&vals, TAG_SUBJECT_W);
	put_utf16z(&vals, "Hello Bob");
	mp_wb_u32(&vals, 0x001A001Fu);
	put_utf16z(&vals, "IPM.Note");
	mp_wb_u16(&rq, (uint16_t)vals.len);
	mp_wb_bytes(&rq, vals.data, vals.len);
	mp_wb_free(&vals);
	rq_hdr(&rq, 0x0E, 1); /* RopModifyRecipients: bob, To */
	mp_wb_u16(&rq, 0);
	mp_wb_u16(&rq, 1);
	mp_wb_init(&row);
	mp_wb_u16(&row, 0x8000 | 0x0200 | 0x0010 | 0x0008); /* O U D E */
	mp_wb_bytes(&row, "SMTP", 5);
	put_utf16z(&row, "bob@example.org");
	put_utf16z(&row, "Bob B");
	mp_wb_u16(&row, 0); /* RecipientColumnCount */
	mp_wb_u8(&row, 0);  /* empty PropertyRow */
	mp_wb_u32(&rq, 0);  /* RowId */
	mp_wb_u8(&rq, 1);   /* To */
	mp_wb_u16(&rq, (uint16_t)row.len);
	mp_wb_bytes(&rq, row.data, row.len);
	mp_wb_free(&row);
	mp_wb_u8(&rq, 0x0C); /* RopSaveChangesMessage */
	mp_wb_u8(&rq, 0);
	mp_wb_u8(&rq, 1);
	mp_wb_u8(&rq, 1);
	mp_wb_u8(&rq, 0x02);
	rq_hdr(&rq, 0x32, 1); /* RopSubmitMessage */
	mp_wb_u8(&rq, 0);
	rq_end(&rq, h, 2);
	assert_int_equal(run(c, &rq, 0x8000, &out, &ec), MP_OK);
	assert_true(rs_begin(&rc, &out));
	assert_int_equal(mp_rc_u8(&rc), 0x06);
	mp_rc_skip(&rc, 1);
	assert_int_equal(mp_rc_u32(&rc), 0);
	mp_rc_skip(&rc, 1);
	assert_int_equal(mp_rc_u8(&rc), 0x0A);
	mp_rc_skip(&rc, 1);
	assert_int_equal(mp_rc_u32(&rc), 0);
	assert_int_equal(mp_rc_u16(&rc), 0); /* no property problems */
	assert_int_equal(mp_rc_u8(&rc), 0x0E);
	mp_rc_skip(&rc, 1);
	assert_int_equal(mp_rc_u32(&rc), 0);
	assert_int_equal(mp_rc_u8(&rc), 0x0C);
	mp_rc_skip(&rc, 1);
	assert_int_equal(mp_rc_u32(&rc), 0);
	mp_rc_skip(&rc, 9);
	assert_int_equal(mp_rc_u8(&rc), 0x32);
	mp_rc_skip(&rc, 1);
	assert_int_equal(mp_rc_u32(&rc), 0);
	assert_int_equal(mp_rc_left(&rc), 0);
	mp_wb_free(&out);
}

static void test_send_to_local_user(void **state)
{
	struct ctx *c = *state;
	send_to_bob(c);

	/* Bob's Inbox has it, with its subject; Alice's Sent Items too. */
	struct mp_store_txn *txn;
	struct mp_store_mailbox bmb = fx_mailbox(c->f, c->f->bob);
	uint64_t *mids = NULL;
	size_t n = 0;
	char *s = NULL;
	assert_int_equal(mp_store_txn_begin(c->f->st, false, &txn), MP_OK);
	void *mem = mp_store_txn_mem(txn);
	assert_int_equal(mp_store_folder_contents(txn, c->f->bob, bmb.special[MP_STORE_SF_INBOX],
	                                          false, mem, &mids, &n),
	                 MP_OK);
	assert_int_equal(n, 1);
	struct mp_store_obj m = mp_store_obj_message(c->f->bob, mids[0]);
	assert_int_equal(mp_store_prop_get_string(txn, &m, MP_TAG_SUBJECT, mem, &s), MP_OK);
	assert_string_equal(s, "Hello Bob");
	assert_int_equal(mp_store_prop_get_string(txn, &m, MP_TAG_SENDER_SMTP_ADDRESS, mem, &s),
	                 MP_OK);
	assert_string_equal(s, "alice@example.org");
	assert_int_equal(mp_store_folder_contents(txn, c->f->alice,
	                                          c->mb.special[MP_STORE_SF_SENT_ITEMS], false, mem,
	                                          &mids, &n),
	                 MP_OK);
	assert_int_equal(n, 1);
	mp_store_txn_abort(txn);
}

static void test_invalid_handles(void **state)
{
	struct ctx *c = *state;
	uint32_t lh = logon(c);
	struct mp_wbuf rq, out;
	struct mp_rcursor rc;
	uint32_t ec, h[2] = {lh, 0x00AB0123u}; /* index 1: a handle we never gave */

	rq_begin(&rq);
	rq_open_folder(&rq, 7, 1, c->mb.special[MP_STORE_SF_INBOX]); /* index past the table */
	rq_open_folder(&rq, 1, 1, c->mb.special[MP_STORE_SF_INBOX]); /* stale handle */
	rq_query_rows(&rq, 0, 10);                                   /* not a table */
	rq_end(&rq, h, 2);
	assert_int_equal(run(c, &rq, 0x8000, &out, &ec), MP_OK);
	assert_true(rs_begin(&rc, &out));
	for (int i = 0; i < 2; i++) {
		assert_int_equal(mp_rc_u8(&rc), 0x02);
		assert_int_equal(mp_rc_u8(&rc), 1); /* OutputHandleIndex echoed */
		assert_int_equal(mp_rc_u32(&rc), MP_EC_NULL_OBJECT);
	}
	assert_int_equal(mp_rc_u8(&rc), 0x15);
	assert_int_equal(mp_rc_u8(&rc), 0);
	assert_int_equal(mp_rc_u32(&rc), MP_EC_NULL_OBJECT);
	assert_int_equal(mp_rc_left(&rc), 0);
	mp_wb_free(&out);
}

static void test_malformed_buffers(void **state)
{
	struct ctx *c = *state;
	uint32_t lh = logon(c);
	struct mp_wbuf rq, out;
	struct mp_rcursor rc;
	uint32_t ec, h[2] = {lh, 0xFFFFFFFFu};

	/* Cut short: RopSize says more than there is. */
	rq_begin(&rq);
	rq_open_folder(&rq, 0, 1, c->mb.special[MP_STORE_SF_INBOX]);
	rq_end(&rq, h, 2);
	mp_wb_put_u16_at(&rq, 0, 0x400);
	assert_int_equal(run(c, &rq, 0x8000, &out, &ec), MP_ERR_PARSE);
	assert_int_equal(ec, MP_EC_RPC_FORMAT);
	mp_wb_free(&out);

	/* RopSize lying short: the ROP is truncated; nothing runs, no crash. */
	rq_begin(&rq);
	rq_open_folder(&rq, 0, 1, c->mb.special[MP_STORE_SF_INBOX]);
	rq_end(&rq, h, 2);
	mp_wb_put_u16_at(&rq, 0, 6);
	int r = run(c, &rq, 0x8000, &out, &ec);
	assert_true(r == MP_OK || r == MP_ERR_PARSE);
	if (r == MP_OK) {
		assert_true(rs_begin(&rc, &out));
		assert_int_equal(mp_rc_left(&rc), 0);
	}
	mp_wb_free(&out);

	/* An unknown RopId ends the list: earlier ROPs answer, nothing after. */
	rq_begin(&rq);
	rq_hdr(&rq, 0x16, 0); /* RopGetStatus on a logon: ecNullObject */
	mp_wb_u8(&rq, 0xEE);
	mp_wb_u8(&rq, 0);
	mp_wb_u8(&rq, 0);
	rq_end(&rq, h, 2);
	assert_int_equal(run(c, &rq, 0x8000, &out, &ec), MP_OK);
	assert_true(rs_begin(&rc, &out));
	assert_int_equal(mp_rc_u8(&rc), 0x16);
	mp_rc_skip(&rc, 1);
	assert_int_equal(mp_rc_u32(&rc), MP_EC_NULL_OBJECT);
	assert_int_equal(mp_rc_left(&rc), 0);
	mp_wb_free(&out);

	/* A known ROP we do not serve: ecNotSupported in its own format
	 * (RopEmptyFolder: InputHandleIndex, ReturnValue, PartialCompletion). */
	rq_begin(&rq);
	rq_hdr(&rq, 0x58, 0);
	mp_wb_u8(&rq, 0);
	mp_wb_u8(&rq, 0);
	rq_end(&rq, h, 2);
	assert_int_equal(run(c, &rq, 0x8000, &out, &ec), MP_OK);
	assert_true(rs_begin(&rc, &out));
	assert_int_equal(mp_rc_u8(&rc), 0x58);
	assert_int_equal(mp_rc_u8(&rc), 0);
	assert_int_equal(mp_rc_u32(&rc), MP_EC_NOT_SUPPORTED);
	assert_int_equal(mp_rc_u8(&rc), 0);
	assert_int_equal(mp_rc_left(&rc), 0);
	mp_wb_free(&out);
}

static void test_huge_row_count_and_small_buffer(void **state)
{
	struct ctx *c = *state;
	static const uint32_t cols[] = {TAG_SUBJECT_W, TAG_MID};
	uint32_t lh = logon(c);
	struct mp_wbuf rq, out;
	struct mp_rcursor rc;
	uint32_t ec, h[3] = {lh, 0xFFFFFFFFu, 0xFFFFFFFFu};

	/* 0xFFFF rows asked, room for one: one row comes back. */
	rq_begin(&rq);
	rq_open_folder(&rq, 0, 1, c->mb.special[MP_STORE_SF_INBOX]);
	rq_hdr(&rq, 0x05, 1);
	mp_wb_u8(&rq, 2);
	mp_wb_u8(&rq, 0);
	rq_set_columns(&rq, 2, cols, 2);
	rq_query_rows(&rq, 2, 0xFFFF);
	rq_end(&rq, h, 3);
	size_t max = 2 + 12 + 6 + 10 + 7 + 9 + 23 + 12; /* one "Files" row */
	assert_int_equal(run(c, &rq, max, &out, &ec), MP_OK);
	assert_true(out.len <= max);
	assert_true(rs_begin(&rc, &out));
	mp_rc_skip(&rc, 8 + 10 + 7 + 6);
	assert_int_equal(mp_rc_u8(&rc), 1); /* Origin: current */
	assert_int_equal(mp_rc_u16(&rc), 1);
	h[2] = rs_handle(&out, 2);
	mp_wb_free(&out);

	/* No room at all: RopBufferTooSmall with the request bytes to resend. */
	rq_begin(&rq);
	rq_query_rows(&rq, 2, 0xFFFF);
	rq_end(&rq, h, 3);
	assert_int_equal(run(c, &rq, 2 + 12 + 12, &out, &ec), MP_OK);
	assert_true(rs_begin(&rc, &out));
	assert_int_equal(mp_rc_u8(&rc), 0xFF);
	assert_true(mp_rc_u16(&rc) > 26);      /* SizeNeeded */
	assert_int_equal(mp_rc_u8(&rc), 0x15); /* the RopQueryRows request again */
	mp_wb_free(&out);
}

/* Expect a response header (RopId, index, ReturnValue) at the cursor. */
static void expect(struct mp_rcursor *rc, uint8_t id, uint8_t idx, uint32_t ec)
{
	assert_int_equal(mp_rc_u8(rc), id);
	assert_int_equal(mp_rc_u8(rc), idx);
	assert_int_equal(mp_rc_u32(rc), ec);
}

static void test_folders_hierarchy_restrict(void **state)
{
	struct ctx *c = *state;
	uint32_t lh = logon(c);
	struct mp_wbuf rq, out, res;
	struct mp_rcursor rc;
	uint32_t ec, h[4] = {lh, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};
	uint32_t col = 0x3001001Fu; /* PidTagDisplayName */
	char name[64];

	rq_begin(&rq);
	rq_hdr(&rq, 0x27, 0); /* RopGetReceiveFolder IPM.Note */
	mp_wb_bytes(&rq, "IPM.Note", 9);
	rq_open_folder(&rq, 0, 1, c->mb.special[MP_STORE_SF_IPM_SUBTREE]);
	rq_hdr(&rq, 0x1C, 1); /* RopCreateFolder "Projects" -> 2 */
	mp_wb_u8(&rq, 2);
	mp_wb_u8(&rq, 1); /* FOLDER_GENERIC */
	mp_wb_u8(&rq, 1); /* Unicode */
	mp_wb_u8(&rq, 0);
	mp_wb_u8(&rq, 0);
	put_utf16z(&rq, "Projects");
	put_utf16z(&rq, "");
	rq_hdr(&rq, 0x04, 1); /* RopGetHierarchyTable -> 3 */
	mp_wb_u8(&rq, 3);
	mp_wb_u8(&rq, 0);
	rq_set_columns(&rq, 3, &col, 1);
	/* RopRestrict: DisplayName contains "proj", ignoring case. */
	mp_wb_init(&res);
	mp_wb_u8(&res, 0x03);
	mp_wb_u16(&res, 0x0001); /* FL_SUBSTRING */
	mp_wb_u16(&res, 0x0001); /* FL_IGNORECASE */
	mp_wb_u32(&res, col);
	mp_wb_u32(&res, col);
	put_utf16z(&res, "proj");
	rq_hdr(&rq, 0x14, 3);
	mp_wb_u8(&rq, 0);
	mp_wb_u16(&rq, (uint16_t)res.len);
	mp_wb_bytes(&rq, res.data, res.len);
	mp_wb_free(&res);
	rq_query_rows(&rq, 3, 50);
	rq_end(&rq, h, 4);
	assert_int_equal(run(c, &rq, 0x8000, &out, &ec), MP_OK);
	assert_true(rs_begin(&rc, &out));
	expect(&rc, 0x27, 0, 0);
	assert_true(rs_u64(&rc) == c->mb.special[MP_STORE_SF_INBOX]);
	size_t cls_len = 0;
	assert_non_null(mp_pv_take_str8(&rc, &cls_len)); /* ExplicitMessageClass */
	expect(&rc, 0x02, 1, 0);
	mp_rc_skip(&rc, 2);
	expect(&rc, 0x1C, 2, 0);
	uint64_t fid = rs_u64(&rc);
	assert_int_equal(mp_rc_u8(&rc), 0); /* IsExistingFolder */
	expect(&rc, 0x04, 3, 0);
	assert_true(mp_rc_u32(&rc) >= 1);
	expect(&rc, 0x12, 3, 0);
	mp_rc_skip(&rc, 1);
	expect(&rc, 0x14, 3, 0);
	mp_rc_skip(&rc, 1);
	expect(&rc, 0x15, 3, 0);
	mp_rc_skip(&rc, 1);
	assert_int_equal(mp_rc_u16(&rc), 1);
	assert_int_equal(mp_rc_u8(&rc), 0);
	take_utf16(&rc, name, sizeof(name));
	assert_string_equal(name, "Projects");
	assert_int_equal(mp_rc_left(&rc), 0);
	mp_wb_free(&out);

	/* The same name again: ecDuplicateName; then delete it. */
	h[1] = 0xFFFFFFFFu;
	rq_begin(&rq);
	rq_open_folder(&rq, 0, 1, c->mb.special[MP_STORE_SF_IPM_SUBTREE]);
	rq_hdr(&rq, 0x1C, 1);
	mp_wb_u8(&rq, 2);
	mp_wb_u8(&rq, 1);
	mp_wb_u8(&rq, 1);
	mp_wb_u8(&rq, 0);
	mp_wb_u8(&rq, 0);
	put_utf16z(&rq, "projects");
	put_utf16z(&rq, "");
	rq_hdr(&rq, 0x1D, 1); /* RopDeleteFolder */
	mp_wb_u8(&rq, 0x05);
	rq_u64(&rq, fid);
	rq_hdr(&rq, 0x1D, 1); /* twice: not found */
	mp_wb_u8(&rq, 0x05);
	rq_u64(&rq, fid);
	rq_end(&rq, h, 3);
	assert_int_equal(run(c, &rq, 0x8000, &out, &ec), MP_OK);
	assert_true(rs_begin(&rc, &out));
	expect(&rc, 0x02, 1, 0);
	mp_rc_skip(&rc, 2);
	expect(&rc, 0x1C, 2, 0x80040604); /* ecDuplicateName */
	expect(&rc, 0x1D, 1, 0);
	assert_int_equal(mp_rc_u8(&rc), 0);
	assert_int_equal(mp_rc_u8(&rc), 0x1D);
	mp_rc_skip(&rc, 1);
	assert_int_not_equal(mp_rc_u32(&rc), 0);
	assert_int_equal(mp_rc_u8(&rc), 0);
	assert_int_equal(mp_rc_left(&rc), 0);
	mp_wb_free(&out);
}

static void test_ltid_and_named_props(void **state)
{
	/* PS_PUBLIC_STRINGS {00020329-0000-0000-C000-000000000046} */
	static const uint8_t ps_public[16] = {0x29, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
	                                      0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46};
	struct ctx *c = *state;
	uint32_t lh = logon(c);
	struct mp_wbuf rq, out;
	struct mp_rcursor rc;
	uint32_t ec, h[1] = {lh};
	uint8_t ltid[24];

	rq_begin(&rq);
	rq_hdr(&rq, 0x43, 0);
	rq_u64(&rq, c->mb.special[MP_STORE_SF_INBOX]);
	rq_hdr(&rq, 0x56, 0); /* RopGetPropertyIdsFromNames, create */
	mp_wb_u8(&rq, 0x02);
	mp_wb_u16(&rq, 1);
	mp_wb_u8(&rq, 0x00);
	mp_wb_bytes(&rq, ps_public, 16);
	mp_wb_u32(&rq, 0x8501);
	rq_end(&rq, h, 1);
	assert_int_equal(run(c, &rq, 0x8000, &out, &ec), MP_OK);
	assert_true(rs_begin(&rc, &out));
	expect(&rc, 0x43, 0, 0);
	memcpy(ltid, mp_rc_take(&rc, 24), 24);
	assert_memory_equal(ltid, c->mb.replica_guid, 16);
	expect(&rc, 0x56, 0, 0);
	assert_int_equal(mp_rc_u16(&rc), 1);
	uint16_t id = mp_rc_u16(&rc);
	assert_true(id >= 0x8000);
	mp_wb_free(&out);

	rq_begin(&rq);
	rq_hdr(&rq, 0x44, 0);
	mp_wb_bytes(&rq, ltid, 24);
	rq_hdr(&rq, 0x55, 0); /* RopGetNamesFromPropertyIds: ours, PS_MAPI, unknown */
	mp_wb_u16(&rq, 3);
	mp_wb_u16(&rq, id);
	mp_wb_u16(&rq, 0x0037);
	mp_wb_u16(&rq, 0xFFF0);
	rq_hdr(&rq, 0x44, 0); /* a LongTermId of another replica */
	mp_wb_zeros(&rq, 24);
	rq_end(&rq, h, 1);
	assert_int_equal(run(c, &rq, 0x8000, &out, &ec), MP_OK);
	assert_true(rs_begin(&rc, &out));
	expect(&rc, 0x44, 0, 0);
	assert_true(rs_u64(&rc) == c->mb.special[MP_STORE_SF_INBOX]);
	expect(&rc, 0x55, 0, 0);
	assert_int_equal(mp_rc_u16(&rc), 3);
	assert_int_equal(mp_rc_u8(&rc), 0x00);
	assert_memory_equal(mp_rc_take(&rc, 16), ps_public, 16);
	assert_int_equal(mp_rc_u32(&rc), 0x8501);
	assert_int_equal(mp_rc_u8(&rc), 0x00);
	mp_rc_skip(&rc, 16);
	assert_int_equal(mp_rc_u32(&rc), 0x0037);
	assert_int_equal(mp_rc_u8(&rc), 0xFF);
	mp_rc_skip(&rc, 16);
	expect(&rc, 0x44, 0, MP_EC_NOT_FOUND);
	assert_int_equal(mp_rc_left(&rc), 0);
	mp_wb_free(&out);
}

static void test_sort_find_bookmarks(void **state)
{
	static const uint32_t cols[] = {TAG_SUBJECT_W, TAG_MID};
	struct ctx *c = *state;
	uint32_t lh = logon(c);
	struct mp_wbuf rq, out, res;
	struct mp_rcursor rc;
	uint32_t ec, h[3] = {lh, 0xFFFFFFFFu, 0xFFFFFFFFu};
	char subj[64];

	rq_begin(&rq);
	rq_open_folder(&rq, 0, 1, c->mb.special[MP_STORE_SF_INBOX]);
	rq_hdr(&rq, 0x05, 1);
	mp_wb_u8(&rq, 2);
	mp_wb_u8(&rq, 0);
	rq_set_columns(&rq, 2, cols, 2);
	rq_hdr(&rq, 0x13, 2); /* RopSortTable: subject descending */
	mp_wb_u8(&rq, 0);
	mp_wb_u16(&rq, 1);
	mp_wb_u16(&rq, 0);
	mp_wb_u16(&rq, 0);
	mp_wb_u32(&rq, TAG_SUBJECT_W);
	mp_wb_u8(&rq, 0x01);
	rq_query_rows(&rq, 2, 1);
	rq_hdr(&rq, 0x1B, 2); /* RopCreateBookmark (after row 1) */
	/* RopFindRow from the beginning: subject == "Files". */
	mp_wb_init(&res);
	mp_wb_u8(&res, 0x04);
	mp_wb_u8(&res, 0x04); /* RELOP_EQ */
	mp_wb_u32(&res, TAG_SUBJECT_W);
	mp_wb_u32(&res, TAG_SUBJECT_W);
	put_utf16z(&res, "Files");
	rq_hdr(&rq, 0x4F, 2);
	mp_wb_u8(&rq, 0);
	mp_wb_u16(&rq, (uint16_t)res.len);
	mp_wb_bytes(&rq, res.data, res.len);
	mp_wb_free(&res);
	mp_wb_u8(&rq, 0); /* BOOKMARK_BEGINNING */
	mp_wb_u16(&rq, 0);
	rq_hdr(&rq, 0x17, 2); /* RopQueryPosition */
	rq_end(&rq, h, 3);
	assert_int_equal(run(c, &rq, 0x8000, &out, &ec), MP_OK);
	assert_true(rs_begin(&rc, &out));
	mp_rc_skip(&rc, 8 + 10 + 7);
	expect(&rc, 0x13, 2, 0);
	mp_rc_skip(&rc, 1);
	expect(&rc, 0x15, 2, 0);
	assert_int_equal(mp_rc_u8(&rc), 1); /* BOOKMARK_CURRENT */
	assert_int_equal(mp_rc_u16(&rc), 1);
	mp_rc_skip(&rc, 1);
	take_utf16(&rc, subj, sizeof(subj));
	assert_string_equal(subj, "RE: Lunch plans");
	mp_rc_skip(&rc, 8);
	expect(&rc, 0x1B, 2, 0);
	assert_int_equal(mp_rc_u16(&rc), 4);
	const uint8_t *bm = mp_rc_take(&rc, 4);
	uint8_t bookmark[4];
	memcpy(bookmark, bm, 4);
	expect(&rc, 0x4F, 2, 0);
	assert_int_equal(mp_rc_u8(&rc), 0);
	assert_int_equal(mp_rc_u8(&rc), 1);
	mp_rc_skip(&rc, 1);
	take_utf16(&rc, subj, sizeof(subj));
	assert_string_equal(subj, "Files");
	mp_rc_skip(&rc, 8);
	expect(&rc, 0x17, 2, 0);
	assert_int_equal(mp_rc_u32(&rc), 1); /* the found row is current */
	assert_int_equal(mp_rc_u32(&rc), 2);
	assert_int_equal(mp_rc_left(&rc), 0);
	h[2] = rs_handle(&out, 2);
	mp_wb_free(&out);

	rq_begin(&rq);
	rq_hdr(&rq, 0x18, 2); /* RopSeekRow: end, -5 */
	mp_wb_u8(&rq, 2);
	mp_wb_u32(&rq, (uint32_t)-5);
	mp_wb_u8(&rq, 1);
	rq_hdr(&rq, 0x19, 2); /* RopSeekRowBookmark, +0 */
	mp_wb_u16(&rq, 4);
	mp_wb_bytes(&rq, bookmark, 4);
	mp_wb_u32(&rq, 0);
	mp_wb_u8(&rq, 1);
	rq_hdr(&rq, 0x89, 2); /* RopFreeBookmark twice */
	mp_wb_u16(&rq, 4);
	mp_wb_bytes(&rq, bookmark, 4);
	rq_hdr(&rq, 0x89, 2);
	mp_wb_u16(&rq, 4);
	mp_wb_bytes(&rq, bookmark, 4);
	rq_end(&rq, h, 3);
	assert_int_equal(run(c, &rq, 0x8000, &out, &ec), MP_OK);
	assert_true(rs_begin(&rc, &out));
	expect(&rc, 0x18, 2, 0);
	assert_int_equal(mp_rc_u8(&rc), 1); /* HasSoughtLess */
	assert_int_equal((int32_t)mp_rc_u32(&rc), -2);
	expect(&rc, 0x19, 2, 0);
	mp_rc_skip(&rc, 6);
	expect(&rc, 0x89, 2, 0);
	expect(&rc, 0x89, 2, MP_EC_INVALID_BOOKMARK);
	assert_int_equal(mp_rc_left(&rc), 0);
	mp_wb_free(&out);
}

static void test_read_flags_copy_delete(void **state)
{
	struct ctx *c = *state;
	uint64_t mids[8];
	char subj[8][64];
	uint32_t lh = logon(c);
	inbox_rows(c, lh, mids, subj);
	struct mp_wbuf rq, out;
	struct mp_rcursor rc;
	uint32_t ec, h[3] = {lh, 0xFFFFFFFFu, 0xFFFFFFFFu};

	rq_begin(&rq);
	rq_open_folder(&rq, 0, 1, c->mb.special[MP_STORE_SF_INBOX]);
	rq_open_folder(&rq, 0, 2, c->mb.special[MP_STORE_SF_DELETED_ITEMS]);
	rq_hdr(&rq, 0x66, 1); /* RopSetReadFlags: all read */
	mp_wb_u8(&rq, 0);
	mp_wb_u8(&rq, 0);
	mp_wb_u16(&rq, 0);
	mp_wb_u8(&rq, 0x33); /* RopMoveCopyMessages: copy mids[0] to Deleted Items */
	mp_wb_u8(&rq, 0);
	mp_wb_u8(&rq, 1);
	mp_wb_u8(&rq, 2);
	mp_wb_u16(&rq, 1);
	rq_u64(&rq, mids[0]);
	mp_wb_u8(&rq, 0);
	mp_wb_u8(&rq, 1);
	rq_hdr(&rq, 0x1E, 1); /* RopDeleteMessages: mids[1] and a bogus one */
	mp_wb_u8(&rq, 0);
	mp_wb_u8(&rq, 0);
	mp_wb_u16(&rq, 2);
	rq_u64(&rq, mids[1]);
	rq_u64(&rq, 0x1234);
	rq_end(&rq, h, 3);
	assert_int_equal(run(c, &rq, 0x8000, &out, &ec), MP_OK);
	assert_true(rs_begin(&rc, &out));
	mp_rc_skip(&rc, 16);
	expect(&rc, 0x66, 1, 0);
	assert_int_equal(mp_rc_u8(&rc), 0);
	expect(&rc, 0x33, 1, 0);
	assert_int_equal(mp_rc_u8(&rc), 0);
	expect(&rc, 0x1E, 1, 0);
	assert_int_equal(mp_rc_u8(&rc), 1); /* PartialCompletion: the bogus id */
	assert_int_equal(mp_rc_left(&rc), 0);
	mp_wb_free(&out);

	struct mp_store_txn *txn;
	struct mp_store_folder_info fi;
	assert_int_equal(mp_store_txn_begin(c->f->st, false, &txn), MP_OK);
	assert_int_equal(
	    mp_store_folder_get(txn, c->f->alice, c->mb.special[MP_STORE_SF_INBOX], &fi), MP_OK);
	assert_int_equal(fi.content_count, 1);
	assert_int_equal(fi.unread_count, 0);
	assert_int_equal(
	    mp_store_folder_get(txn, c->f->alice, c->mb.special[MP_STORE_SF_DELETED_ITEMS], &fi),
	    MP_OK);
	assert_int_equal(fi.content_count, 1);
	mp_store_txn_abort(txn);
}

static void test_stream_write_commit(void **state)
{
	struct ctx *c = *state;
	uint32_t lh = logon(c);
	struct mp_wbuf rq, out;
	struct mp_rcursor rc;
	uint32_t ec, h[3] = {lh, 0xFFFFFFFFu, 0xFFFFFFFFu};
	uint32_t body = TAG_BODY_W;
	char text[64];

	rq_begin(&rq);
	rq_hdr(&rq, 0x06, 0); /* RopCreateMessage -> 1 */
	mp_wb_u8(&rq, 1);
	mp_wb_u16(&rq, 0x0FFF);
	rq_u64(&rq, c->mb.special[MP_STORE_SF_DRAFTS]);
	mp_wb_u8(&rq, 0);
	rq_hdr(&rq, 0x2B, 1); /* RopOpenStream body, create -> 2 */
	mp_wb_u8(&rq, 2);
	mp_wb_u32(&rq, body);
	mp_wb_u8(&rq, 2);
	rq_hdr(&rq, 0x2D, 2); /* RopWriteStream "hi" */
	mp_wb_u16(&rq, 4);
	mp_wb_bytes(&rq, "h\0i\0", 4);
	rq_hdr(&rq, 0x2E, 2); /* RopSeekStream: before the start */
	mp_wb_u8(&rq, 0);
	rq_u64(&rq, (uint64_t)-1);
	rq_hdr(&rq, 0x2F, 2); /* RopSetStreamSize 6 (zero-filled) */
	rq_u64(&rq, 6);
	rq_hdr(&rq, 0x5E, 2); /* RopGetStreamSize */
	rq_hdr(&rq, 0x2F, 2); /* back to 4 */
	rq_u64(&rq, 4);
	rq_hdr(&rq, 0x5D, 2); /* RopCommitStream */
	rq_hdr(&rq, 0x07, 1); /* RopGetPropertiesSpecific body */
	mp_wb_u16(&rq, 0);
	mp_wb_u16(&rq, 1);
	mp_wb_u16(&rq, 1);
	mp_wb_u32(&rq, body);
	rq_end(&rq, h, 3);
	assert_int_equal(run(c, &rq, 0x8000, &out, &ec), MP_OK);
	assert_true(rs_begin(&rc, &out));
	expect(&rc, 0x06, 1, 0);
	mp_rc_skip(&rc, 1);
	expect(&rc, 0x2B, 2, 0);
	assert_int_equal(mp_rc_u32(&rc), 0);
	expect(&rc, 0x2D, 2, 0);
	assert_int_equal(mp_rc_u16(&rc), 4);
	expect(&rc, 0x2E, 2, MP_EC_STREAM_SEEK);
	expect(&rc, 0x2F, 2, 0);
	expect(&rc, 0x5E, 2, 0);
	assert_int_equal(mp_rc_u32(&rc), 6);
	expect(&rc, 0x2F, 2, 0);
	expect(&rc, 0x5D, 2, 0);
	expect(&rc, 0x07, 1, 0);
	assert_int_equal(mp_rc_u8(&rc), 0);
	take_utf16(&rc, text, sizeof(text));
	assert_string_equal(text, "hi");
	assert_int_equal(mp_rc_left(&rc), 0);
	mp_wb_free(&out);
}

static void test_no_handle_table(void **state)
{
	struct ctx *c = *state;
	struct mp_wbuf rq, out;
	struct mp_rcursor rc;
	uint32_t ec;
	logon(c);
	rq_begin(&rq);
	rq_open_folder(&rq, 0, 1, c->mb.special[MP_STORE_SF_INBOX]);
	rq_end(&rq, NULL, 0);
	mp_wb_bytes(&rq, "\x01\x02", 2); /* a partial handle */
	assert_int_equal(run(c, &rq, 0x8000, &out, &ec), MP_OK);
	assert_true(rs_begin(&rc, &out));
	expect(&rc, 0x02, 1, MP_EC_NULL_OBJECT);
	assert_int_equal(mp_rc_left(&rc), 0);
	mp_wb_free(&out);
	/* The write transaction ended: the next buffer runs. */
	logon(c);
}

static void test_new_mail_notification(void **state)
{
	struct ctx *c = *state;
	struct mp_emsmdb_sess *bob = talloc_zero(NULL, struct mp_emsmdb_sess);
	struct mp_store_mailbox bmb = fx_mailbox(c->f, c->f->bob);
	struct mp_wbuf rq, out;
	struct mp_rcursor rc;
	uint32_t ec;
	static const uint8_t acxh[16] = {0xAC, 1, 2, 3};
	bob->st = c->f->st;
	bob->user_id = c->f->bob;
	bob->user_dn = talloc_strdup(bob, c->f->bob_dn);
	bob->rsess = mp_rop_session_new(bob);
	mp_srv_notify_attach(bob);
	mp_srv_notify_set_acxh(bob, acxh);

	/* Bob logs on and subscribes to new mail in his whole store. */
	rq_begin(&rq);
	rq_logon(&rq, 0, c->f->bob_dn);
	rq_hdr(&rq, 0x29, 0);
	mp_wb_u8(&rq, 1);
	mp_wb_u8(&rq, 0x02); /* NewMail */
	mp_wb_u8(&rq, 0);
	mp_wb_u8(&rq, 1); /* WantWholeStore */
	rq_end(&rq, NULL, 2);
	mp_wb_init(&out);
	assert_int_equal(mp_srv_rop_run(bob, rq.data, rq.len, 0x8000, &out, &ec), MP_OK);
	mp_wb_free(&rq);
	uint32_t sub = rs_handle(&out, 1);
	uint32_t bh[2] = {rs_handle(&out, 0), sub};
	assert_int_not_equal(sub, 0xFFFFFFFFu);
	mp_wb_free(&out);
	assert_false(mp_srv_notify_pending_acxh(acxh));

	send_to_bob(c);
	assert_true(mp_srv_notify_pending_acxh(acxh));

	/* Bob's next buffer (a RopGetReceiveFolder) carries the RopNotify. */
	rq_begin(&rq);
	rq_hdr(&rq, 0x27, 0);
	mp_wb_bytes(&rq, "", 1);
	rq_end(&rq, bh, 2);
	mp_wb_init(&out);
	assert_int_equal(mp_srv_rop_run(bob, rq.data, rq.len, 0x8000, &out, &ec), MP_OK);
	mp_wb_free(&rq);
	assert_true(rs_begin(&rc, &out));
	expect(&rc, 0x27, 0, 0);
	mp_rc_skip(&rc, 8);
	size_t cls_len = 0;
	mp_pv_take_str8(&rc, &cls_len);
	assert_int_equal(mp_rc_u8(&rc), 0x2A); /* RopNotify */
	assert_int_equal(mp_rc_u32(&rc), sub);
	assert_int_equal(mp_rc_u8(&rc), 0);
	assert_int_equal(mp_rc_u16(&rc), 0x8002); /* NewMail | M */
	assert_true(rs_u64(&rc) == bmb.special[MP_STORE_SF_INBOX]);
	assert_true(rs_u64(&rc) != 0);
	mp_rc_skip(&rc, 4);
	assert_int_equal(mp_rc_u8(&rc), 1);
	char cls[32];
	take_utf16(&rc, cls, sizeof(cls));
	assert_string_equal(cls, "IPM.Note");
	assert_false(rc.bad);
	assert_int_equal(mp_rc_left(&rc), 0);
	mp_wb_free(&out);
	assert_false(mp_srv_notify_pending_acxh(acxh));
	assert_int_equal(mp_srv_notify_acxh_state(acxh), MP_SRV_ACXH_IDLE);

	/* Two more, room for one: a RopNotify, then RopPending (MS-OXCNOTIF
	 * 3.1.5.7) with the session index; the second comes with the next. */
	send_to_bob(c);
	send_to_bob(c);
	assert_int_equal(mp_srv_notify_acxh_state(acxh), MP_SRV_ACXH_PENDING);
	bob->icxr = 7;
	const size_t one = 1 + 4 + 1 + 2 + 8 + 8 + 4 + 1 + 2 * 9; /* "IPM.Note" */
	mp_wb_init(&out);
	mp_srv_notify_flush(bob, &out, one + 3);
	assert_int_equal(out.len, one + 3);
	assert_int_equal(out.data[0], 0x2A);
	assert_int_equal(out.data[one], 0x6E);
	assert_int_equal(mp_get_u16(out.data + one + 1), 7);
	mp_wb_free(&out);
	mp_wb_init(&out);
	mp_srv_notify_flush(bob, &out, 0x8000);
	assert_int_equal(out.len, one); /* the last one: no RopPending */
	mp_wb_free(&out);
	assert_false(mp_srv_notify_pending_acxh(acxh));

	mp_srv_notify_detach(bob);
	assert_int_equal(mp_srv_notify_acxh_state(acxh), MP_SRV_ACXH_UNKNOWN);
	mp_srv_release_all(bob);
	talloc_free(bob);
}

static void test_attachments_recipients_misc(void **state)
{
	struct ctx *c = *state;
	uint64_t mids[8];
	char subj[8][64], name[64];
	uint32_t lh = logon(c);
	inbox_rows(c, lh, mids, subj);
	static const uint32_t acols[] = {0x0E210003u, 0x3707001Fu};
	struct mp_wbuf rq, out, vals;
	struct mp_rcursor rc;
	uint32_t ec, h[4] = {lh, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu};

	rq_begin(&rq);
	rq_hdr(&rq, 0x03, 0); /* RopOpenMessage read/write -> 1 */
	mp_wb_u8(&rq, 1);
	mp_wb_u16(&rq, 0x0FFF);
	rq_u64(&rq, c->mb.special[MP_STORE_SF_INBOX]);
	mp_wb_u8(&rq, 0x01);
	rq_u64(&rq, mids[0]);
	rq_hdr(&rq, 0x21, 1); /* RopGetAttachmentTable -> 2 */
	mp_wb_u8(&rq, 2);
	mp_wb_u8(&rq, 0x40);
	rq_set_columns(&rq, 2, acols, 2);
	rq_query_rows(&rq, 2, 10);
	rq_hdr(&rq, 0x0F, 1); /* RopReadRecipients from row 0 */
	mp_wb_u32(&rq, 0);
	mp_wb_u16(&rq, 0);
	mp_wb_u8(&rq, 0x11); /* RopSetMessageReadFlag */
	mp_wb_u8(&rq, 0);
	mp_wb_u8(&rq, 1);
	mp_wb_u8(&rq, 1);
	mp_wb_u8(&rq, 0x00);
	rq_hdr(&rq, 0x23, 1); /* RopCreateAttachment -> 3 */
	mp_wb_u8(&rq, 3);
	rq_hdr(&rq, 0x0A, 3); /* name it */
	mp_wb_init(&vals);
	mp_wb_u16(&vals, 1);
	mp_wb_u32(&vals, 0x3707001Fu);
	put_utf16z(&vals, "x.txt");
	mp_wb_u16(&rq, (uint16_t)vals.len);
	mp_wb_bytes(&rq, vals.data, vals.len);
	mp_wb_free(&vals);
	mp_wb_u8(&rq, 0x25); /* RopSaveChangesAttachment */
	mp_wb_u8(&rq, 0);
	mp_wb_u8(&rq, 1);
	mp_wb_u8(&rq, 3);
	mp_wb_u8(&rq, 0);
	rq_hdr(&rq, 0x24, 1); /* RopDeleteAttachment 5, then 99 */
	mp_wb_u32(&rq, 5);
	rq_hdr(&rq, 0x24, 1);
	mp_wb_u32(&rq, 99);
	rq_hdr(&rq, 0x0D, 1); /* RopRemoveAllRecipients */
	mp_wb_u32(&rq, 0);
	rq_hdr(&rq, 0x0F, 1); /* nothing left to read */
	mp_wb_u32(&rq, 0);
	mp_wb_u16(&rq, 0);
	rq_hdr(&rq, 0x09, 1); /* RopGetPropertiesList */
	rq_hdr(&rq, 0x08, 0); /* RopGetPropertiesAll on the logon */
	mp_wb_u16(&rq, 0);
	mp_wb_u16(&rq, 1);
	rq_hdr(&rq, 0x60, 0); /* RopGetPerUserLongTermIds */
	mp_wb_zeros(&rq, 16);
	rq_hdr(&rq, 0x38, 2); /* RopAbort: nothing running */
	rq_end(&rq, h, 4);
	assert_int_equal(run(c, &rq, 0x8000, &out, &ec), MP_OK);
	assert_true(rs_begin(&rc, &out));
	expect(&rc, 0x03, 1, 0);
	mp_rc_skip(&rc, 1);
	for (int i = 0; i < 2; i++) /* subject prefix, normalized subject */
		if (mp_rc_u8(&rc) == 0x04)
			take_utf16(&rc, name, sizeof(name));
	mp_rc_skip(&rc, 2);
	mp_rc_skip(&rc, 4 * mp_rc_u16(&rc));
	for (uint8_t n = mp_rc_u8(&rc); n; n--) {
		mp_rc_skip(&rc, 5);
		mp_rc_skip(&rc, mp_rc_u16(&rc));
	}
	expect(&rc, 0x21, 2, 0);
	expect(&rc, 0x12, 2, 0);
	mp_rc_skip(&rc, 1);
	expect(&rc, 0x15, 2, 0);
	mp_rc_skip(&rc, 1);
	assert_int_equal(mp_rc_u16(&rc), 5); /* the .eml's five attachments */
	assert_int_equal(mp_rc_u8(&rc), 0);
	assert_int_equal(mp_rc_u32(&rc), 0);
	take_utf16(&rc, name, sizeof(name));
	assert_string_equal(name, "data.bin");
	for (int i = 1; i < 5; i++) {
		uint8_t flag = mp_rc_u8(&rc);
		mp_rc_skip(&rc, flag ? 1 : 0);
		assert_int_equal(mp_rc_u32(&rc), (uint32_t)i);
		if (!flag || mp_rc_u8(&rc) == 0)
			take_utf16(&rc, name, sizeof(name));
		else
			mp_rc_skip(&rc, 4);
	}
	expect(&rc, 0x0F, 1, 0);
	assert_int_equal(mp_rc_u8(&rc), 1); /* one recipient */
	assert_int_equal(mp_rc_u32(&rc), 0);
	assert_int_equal(mp_rc_u8(&rc), 1);
	mp_rc_skip(&rc, 4);
	mp_rc_skip(&rc, mp_rc_u16(&rc));
	expect(&rc, 0x11, 1, 0);
	assert_int_equal(mp_rc_u8(&rc), 0);
	expect(&rc, 0x23, 3, 0);
	assert_int_equal(mp_rc_u32(&rc), 5);
	expect(&rc, 0x0A, 3, 0);
	assert_int_equal(mp_rc_u16(&rc), 0);
	expect(&rc, 0x25, 1, 0);
	expect(&rc, 0x24, 1, 0);
	expect(&rc, 0x24, 1, MP_EC_NOT_FOUND);
	expect(&rc, 0x0D, 1, 0);
	expect(&rc, 0x0F, 1, MP_EC_NOT_FOUND);
	expect(&rc, 0x09, 1, 0);
	assert_true(mp_rc_u16(&rc) > 5);
	assert_false(rc.bad);
	size_t left = mp_rc_left(&rc);
	const uint8_t *rest = mp_rc_take(&rc, left);
	assert_non_null(rest);
	/* Skip the tags; then GetPropertiesAll, GetPerUserLongTermIds, Abort. */
	const uint8_t *p = memchr(rest, 0x08, left);
	assert_non_null(p);
	assert_true(rest[left - 6] == 0x38);
	assert_int_equal(mp_get_u32(rest + left - 4), 0x80040114); /* ecUnableToAbort */
	assert_int_equal(rest[left - 14], 0x60);
	assert_int_equal(mp_get_u32(rest + left - 12), 0);
	assert_int_equal(mp_get_u16(rest + left - 8), 0); /* no LongTermIds */
	mp_wb_free(&out);
}

/* Subject of a message, through the store. */
static void subject_of(struct ctx *c, uint64_t mid, char *buf, size_t len)
{
	struct mp_store_txn *txn;
	char *sj = NULL;
	assert_int_equal(mp_store_txn_begin(c->f->st, false, &txn), MP_OK);
	struct mp_store_obj m = mp_store_obj_message(c->f->alice, mid);
	assert_int_equal(
	    mp_store_prop_get_string(txn, &m, MP_TAG_SUBJECT, mp_store_txn_mem(txn), &sj), MP_OK);
	snprintf(buf, len, "%s", sj);
	mp_store_txn_abort(txn);
}

static void test_draft_discarded_unless_saved(void **state)
{
	struct ctx *c = *state;
	uint64_t mids[8];
	char subj[8][64], now[64];
	uint32_t lh = logon(c);
	inbox_rows(c, lh, mids, subj);
	for (int save = 0; save < 2; save++) {
		struct mp_wbuf rq, out, vals;
		struct mp_rcursor rc;
		uint32_t ec, h[2] = {lh, 0xFFFFFFFFu};
		rq_begin(&rq);
		rq_hdr(&rq, 0x03, 0); /* RopOpenMessage read/write -> 1 */
		mp_wb_u8(&rq, 1);
		mp_wb_u16(&rq, 0x0FFF);
		rq_u64(&rq, c->mb.special[MP_STORE_SF_INBOX]);
		mp_wb_u8(&rq, 0x01);
		rq_u64(&rq, mids[1]);
		rq_hdr(&rq, 0x0A, 1);
		mp_wb_init(&vals);
		mp_wb_u16(&vals, 1);
		mp_wb_u32(&vals, TAG_SUBJECT_W);
		put_utf16z(&vals, "Changed");
		mp_wb_u16(&rq, (uint16_t)vals.len);
		mp_wb_bytes(&rq, vals.data, vals.len);
		mp_wb_free(&vals);
		if (save) {
			mp_wb_u8(&rq, 0x0C);
			mp_wb_u8(&rq, 0);
			mp_wb_u8(&rq, 1);
			mp_wb_u8(&rq, 1);
			mp_wb_u8(&rq, 0x01);
		}
		rq_hdr(&rq, 0x01, 1); /* RopRelease */
		rq_end(&rq, h, 2);
		assert_int_equal(run(c, &rq, 0x8000, &out, &ec), MP_OK);
		assert_true(rs_begin(&rc, &out));
		expect(&rc, 0x03, 1, 0);
		mp_wb_free(&out);
		subject_of(c, mids[1], now, sizeof(now));
		assert_string_equal(now, save ? "Changed" : "RE: Lunch plans");
	}
	/* Still two messages in the Inbox: no draft left visible. */
	uint64_t again[8];
	assert_int_equal(inbox_rows(c, lh, again, subj), 2);
	assert_true(again[1] == mids[1]);
}

/* One buffer: open mid read/write, set the subject, save (or not). */
static void edit_subject(struct ctx *c, struct mp_emsmdb_sess *s, uint32_t lh, uint64_t mid,
                         const char *subject, bool save, uint32_t *msg_h)
{
	struct mp_wbuf rq, out, vals;
	struct mp_rcursor rc;
	uint32_t ec, h[2] = {lh, msg_h && *msg_h ? *msg_h : 0xFFFFFFFFu};
	rq_begin(&rq);
	if (!msg_h || !*msg_h) {
		rq_hdr(&rq, 0x03, 0);
		mp_wb_u8(&rq, 1);
		mp_wb_u16(&rq, 0x0FFF);
		rq_u64(&rq, c->mb.special[MP_STORE_SF_INBOX]);
		mp_wb_u8(&rq, 0x01);
		rq_u64(&rq, mid);
	}
	rq_hdr(&rq, 0x0A, 1);
	mp_wb_init(&vals);
	mp_wb_u16(&vals, 1);
	mp_wb_u32(&vals, TAG_SUBJECT_W);
	put_utf16z(&vals, subject);
	mp_wb_u16(&rq, (uint16_t)vals.len);
	mp_wb_bytes(&rq, vals.data, vals.len);
	mp_wb_free(&vals);
	if (save) {
		mp_wb_u8(&rq, 0x0C);
		mp_wb_u8(&rq, 0);
		mp_wb_u8(&rq, 1);
		mp_wb_u8(&rq, 1);
		mp_wb_u8(&rq, 0x02);
	}
	rq_end(&rq, h, 2);
	mp_wb_init(&out);
	assert_int_equal(mp_srv_rop_run(s, rq.data, rq.len, 0x8000, &out, &ec), MP_OK);
	mp_wb_free(&rq);
	assert_true(rs_begin(&rc, &out));
	if (!msg_h || !*msg_h) {
		expect(&rc, 0x03, 1, 0);
		mp_rc_skip(&rc, 1);         /* HasNamedProperties */
		for (int i = 0; i < 2; i++) /* subject prefix, normalized subject */
			if (mp_rc_u8(&rc) == 0x04) {
				char tmp[64];
				take_utf16(&rc, tmp, sizeof(tmp));
			}
		mp_rc_skip(&rc, 2); /* RecipientCount */
		mp_rc_skip(&rc, 4 * mp_rc_u16(&rc));
		for (uint8_t n = mp_rc_u8(&rc); n; n--) {
			mp_rc_skip(&rc, 5);
			mp_rc_skip(&rc, mp_rc_u16(&rc));
		}
	}
	expect(&rc, 0x0A, 1, 0);
	assert_int_equal(mp_rc_u16(&rc), 0);
	if (save) {
		expect(&rc, 0x0C, 1, 0);
		assert_int_equal(mp_rc_u8(&rc), 1);
		assert_true(rs_u64(&rc) == mid); /* the draft replaced the original */
	}
	assert_false(rc.bad);
	if (msg_h)
		*msg_h = rs_handle(&out, 1);
	mp_wb_free(&out);
}

static void test_concurrent_writers(void **state)
{
	struct ctx *c = *state;
	uint64_t mids[8];
	char subj[8][64], now[64];
	uint32_t lh = logon(c);
	inbox_rows(c, lh, mids, subj);
	struct mp_emsmdb_sess *b = talloc_zero(NULL, struct mp_emsmdb_sess);
	b->st = c->f->st;
	b->user_id = c->f->alice;
	b->user_dn = talloc_strdup(b, c->f->alice_dn);
	b->rsess = mp_rop_session_new(b);
	struct mp_emsmdb_sess *a = c->s;
	c->s = b;
	uint32_t lhb = logon(c);
	c->s = a;

	/* Both sessions open the message read/write and edit it; A saves,
	 * then B saves: the last save wins, nothing is lost or duplicated. */
	uint32_t ha = 0, hb = 0;
	edit_subject(c, a, lh, mids[1], "From A", false, &ha);
	edit_subject(c, b, lhb, mids[1], "From B", false, &hb);
	edit_subject(c, a, lh, mids[1], "From A", true, &ha);
	subject_of(c, mids[1], now, sizeof(now));
	assert_string_equal(now, "From A");
	edit_subject(c, b, lhb, mids[1], "From B", true, &hb);
	subject_of(c, mids[1], now, sizeof(now));
	assert_string_equal(now, "From B");
	uint64_t again[8];
	assert_int_equal(inbox_rows(c, lh, again, subj), 2);
	assert_string_equal(subj[1], "From B");
	mp_srv_release_all(b);
	talloc_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_logon_folder_ids, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_logon_other_mailbox_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_inbox_subjects, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_body_and_attachment_stream, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_send_to_local_user, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invalid_handles, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_buffers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_huge_row_count_and_small_buffer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_folders_hierarchy_restrict, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ltid_and_named_props, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sort_find_bookmarks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_flags_copy_delete, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stream_write_commit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_handle_table, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_new_mail_notification, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_attachments_recipients_misc, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_draft_discarded_unless_saved, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_writers, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
