/*
 * The EMSMDB server's ROP dispatcher against a real store: ROP request
 * buffers built by hand per MS-OXCROPS, responses read field by field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "server_fixture.h"

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

static void test_send_to_local_user(void **state)
{
	struct ctx *c = *state;
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
	rq_query_rows(&rq, 0, 10);				      /* not a table */
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
	assert_true(mp_rc_u16(&rc) > 26); /* SizeNeeded */
	assert_int_equal(mp_rc_u8(&rc), 0x15); /* the RopQueryRows request again */
	mp_wb_free(&out);
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
