/*
 * Unit tests: the ROP framework (mapi/rop.h): buffer frame and handle table,
 * byte-exact re-encoding, opaque fallback, request/response matching,
 * per-session state, editing, building buffers, descriptors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <talloc.h>

#include "hexbytes.h"
#include "mapi/names.h"
#include "mapi/rop.h"
#include "mapi/rop_desc.h"
#include "util/printer.h"
#include "util/status.h"

struct fixture {
	void *mem;
	struct mp_rop_session *sess;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->mem = talloc_new(NULL);
	f->sess = mp_rop_session_new(f->mem);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	talloc_free(f->mem);
	free(f);
	return 0;
}

/* A ROP buffer: RopSize (computed), the ROPs, the handle table. */
static size_t mkbuf(uint8_t *out, size_t cap, const char *rops, const char *handles)
{
	size_t n = hexbytes(rops, out + 2, cap - 2);
	mp_put_u16(out, (uint16_t)(n + 2));
	return 2 + n + hexbytes(handles, out + 2 + n, cap - 2 - n);
}

/* Decode, check the re-encoding is byte-exact, return the buffer. */
static struct mp_rop_buf *decode_exact(struct fixture *f, const uint8_t *b, size_t len,
                                       bool response, const struct mp_rop_buf *req)
{
	struct mp_rop_buf *buf = NULL;
	struct mp_wbuf wb;
	assert_int_equal(mp_rop_buf_decode(f->mem, b, len, response, req, f->sess, &buf), MP_OK);
	assert_non_null(buf);
	mp_wb_init(&wb);
	assert_int_equal(mp_rop_buf_encode(buf, &wb), MP_OK);
	assert_int_equal(wb.len, len);
	assert_memory_equal(wb.data, b, len);
	mp_wb_free(&wb);
	return buf;
}

static uint64_t uint_field(const struct mp_rop *rop, const char *name)
{
	uint64_t v = 0;
	assert_true(mp_rop_get_uint(rop, name, &v));
	return v;
}

/* ------------------------------------------------------------------ */

static void test_every_rop_is_described(void **state)
{
	static const struct {
		uint8_t id;
		const char *name;
	} ids[] = {
#define X(id, upper, name) {id, name},
	    MP_ROP_IDS(X)
#undef X
	};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		const struct mp_rop_desc *d = mp_rop_desc_find(ids[i].id);
		if (!d)
			fail_msg("RopId 0x%02x (%s) has no descriptor", ids[i].id, ids[i].name);
		assert_string_equal(d->name, ids[i].name);
		assert_string_equal(mp_rop_id_name(ids[i].id), mp_rop_name(ids[i].id));
		/* A request form unless the server sends it on its own; a
		 * response form unless it has none (RopRelease). */
		assert_true(d->req || (d->flags & MP_ROPD_UNSOLICITED));
		assert_true(d->rsp || (d->flags & MP_ROPD_NO_RESPONSE));
	}
	assert_int_equal(sizeof(ids) / sizeof(ids[0]), 132);
}

/* Every reference names an integer field decoded before it, in its layout
 * or an enclosing one; hooks are present where the kind needs them. */
struct chain {
	const struct mp_rop_layout *l;
	uint16_t upto;
	const struct chain *up;
};

static bool ref_ok(const struct chain *c, const char *ref)
{
	for (; c; c = c->up)
		for (uint16_t i = 0; i < c->upto; i++)
			if (strcmp(c->l->f[i].name, ref) == 0)
				return c->l->f[i].kind <= MP_RF_U64;
	return false;
}

static void check_layout(const char *rop, const struct mp_rop_layout *l, const struct chain *up)
{
	assert_true(l->n <= 48);
	for (uint16_t i = 0; i < l->n; i++) {
		const struct mp_rop_field *f = &l->f[i];
		struct chain c = {.l = l, .upto = i, .up = up};
		bool needs_ref =
		    f->kind == MP_RF_BYTES || f->kind == MP_RF_TAGS || f->kind == MP_RF_TPVS ||
		    f->kind == MP_RF_NAMES || f->kind == MP_RF_ROWS || f->kind == MP_RF_SIZED ||
		    f->kind == MP_RF_RES || (f->kind == MP_RF_IF && f->cond != MP_IF_TEST);
		if ((needs_ref || (f->kind == MP_RF_ARRAY && f->ref)) && !ref_ok(&c, f->ref))
			fail_msg("%s: field %s refers to unknown %s", rop, f->name,
			         f->ref ? f->ref : "(none)");
		if (f->kind == MP_RF_IF && f->cond == MP_IF_TEST)
			assert_non_null(f->test);
		if (f->kind == MP_RF_ROW || f->kind == MP_RF_ROWS)
			assert_non_null(f->columns);
		if (f->kind == MP_RF_CUSTOM)
			assert_non_null(f->custom);
		if (f->sub) {
			struct chain in = {.l = l, .upto = i, .up = up};
			check_layout(rop, f->sub, &in);
		}
	}
}

static void test_descriptors_are_consistent(void **state)
{
	for (int id = 0; id < 256; id++) {
		const struct mp_rop_desc *d = mp_rop_desc_find((uint8_t)id);
		if (!d)
			continue;
		assert_int_equal(d->id, id);
		if (d->req) {
			check_layout(d->name, d->req, NULL);
			assert_int_equal(d->req->f[0].role, MP_RR_LOGON);
		}
		if (d->rsp) {
			check_layout(d->name, d->rsp, NULL);
			if (!(d->flags & MP_ROPD_UNSOLICITED)) {
				/* Handle index echo, then ReturnValue. */
				assert_int_equal(d->rsp->f[0].role, MP_RR_ECHO);
				assert_int_equal(d->rsp->f[1].role, MP_RR_RET);
			}
		}
	}
}

static void test_logon_request(void **state)
{
	struct fixture *f = *state;
	uint8_t b[256];
	size_t len = mkbuf(
	    b, sizeof(b), "fe 00 00 01 0c 04 00 01 00 00 00 00 0a 00 2f 6f 3d 78 2f 63 6e 3d 61 00",
	    "ff ff ff ff");
	struct mp_rop_buf *buf = decode_exact(f, b, len, false, NULL);
	assert_int_equal(buf->count, 1);
	assert_int_equal(buf->rop_size, 26);
	assert_int_equal(buf->n_handles, 1);
	assert_int_equal(buf->handles[0], 0xffffffff);
	const struct mp_rop *r = buf->rops[0];
	assert_false(r->opaque);
	assert_int_equal(r->id, MP_ROPID_LOGON);
	assert_string_equal(mp_rop_get_name(r), "RopLogon");
	assert_int_equal(mp_rop_logon_id(r), 0);
	assert_int_equal(mp_rop_output_index(r), 0);
	assert_int_equal(mp_rop_input_index(r), -1);
	assert_int_equal(uint_field(r, "LogonFlags"), 1);
	assert_int_equal(uint_field(r, "OpenFlags"), 0x0100040C);
	const struct mp_rop_val *essdn = mp_rop_field(r, "Essdn");
	assert_non_null(essdn);
	assert_int_equal(essdn->n, 10);
	assert_memory_equal(essdn->bytes, "/o=x/cn=a", 10);
	const uint8_t *bytes;
	size_t n, off;
	assert_true(mp_rop_bytes(r, &bytes, &n, &off));
	assert_int_equal(off, 2);
	assert_int_equal(n, 24);
}

/* A private-mailbox logon response, built field by field. */
static size_t logon_private_rsp(uint8_t *b, size_t cap)
{
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_wb_u16(&wb, 0);
	mp_wb_u8(&wb, 0xFE);
	mp_wb_u8(&wb, 0);
	mp_wb_u32(&wb, 0);
	mp_wb_u8(&wb, 0x01); /* LogonFlags: Private */
	for (int i = 0; i < 13; i++) {
		mp_wb_u32(&wb, 0x100 + i);
		mp_wb_u32(&wb, 0x01000000);
	}
	mp_wb_u8(&wb, 0x02);
	mp_wb_zeros(&wb, 16);
	mp_wb_u16(&wb, 0x0005);
	mp_wb_zeros(&wb, 16);
	const uint8_t logon_time[8] = {30, 45, 12, 3, 25, 6, 0xE9, 0x07};
	mp_wb_bytes(&wb, logon_time, 8);
	mp_wb_zeros(&wb, 8);
	mp_wb_u32(&wb, 0x10000000);
	mp_wb_put_u16_at(&wb, 0, (uint16_t)wb.len);
	mp_wb_u32(&wb, 0x00000001); /* handle table */
	assert_true(wb.len <= cap);
	memcpy(b, wb.data, wb.len);
	size_t len = wb.len;
	mp_wb_free(&wb);
	return len;
}

static void test_logon_responses(void **state)
{
	struct fixture *f = *state;
	uint8_t b[512];
	size_t len = logon_private_rsp(b, sizeof(b));
	struct mp_rop_buf *buf = decode_exact(f, b, len, true, NULL);
	const struct mp_rop *r = buf->rops[0];
	uint32_t rv = 1;
	assert_false(r->opaque);
	assert_true(mp_rop_return_value(r, &rv));
	assert_int_equal(rv, 0);
	assert_int_equal(mp_rop_response_index(r), 0);
	assert_int_equal(uint_field(r, "Inbox"), 0x0100000000000104ull);
	assert_int_equal(uint_field(r, "ReplId"), 5);
	assert_int_equal(uint_field(r, "Year"), 2025);
	assert_null(mp_rop_field(r, "PerUserGuid"));

	/* ecWrongServer: the redirect body. */
	len = mkbuf(b, sizeof(b), "fe 00 78 04 00 00 01 04 73 72 76 00", "");
	buf = decode_exact(f, b, len, true, NULL);
	r = buf->rops[0];
	assert_false(r->opaque);
	assert_int_equal(uint_field(r, "ServerNameSize"), 4);
	assert_memory_equal(mp_rop_field(r, "ServerName")->bytes, "srv", 4);

	/* Any other error: the header only. */
	len = mkbuf(b, sizeof(b), "fe 00 0f 01 04 80", "");
	buf = decode_exact(f, b, len, true, NULL);
	assert_false(buf->rops[0]->opaque);
	assert_null(mp_rop_field(buf->rops[0], "LogonFlags"));
}

static void test_frame_errors(void **state)
{
	struct fixture *f = *state;
	struct mp_rop_buf *buf;
	const uint8_t one[1] = {2};
	const uint8_t small[2] = {1, 0};
	const uint8_t over[4] = {9, 0, 0x7b, 0};
	assert_int_equal(mp_rop_buf_decode(f->mem, one, 1, false, NULL, NULL, &buf), MP_ERR_PARSE);
	assert_null(buf);
	assert_int_equal(mp_rop_buf_decode(f->mem, small, 2, false, NULL, NULL, &buf),
	                 MP_ERR_PARSE);
	assert_int_equal(mp_rop_buf_decode(f->mem, over, 4, false, NULL, NULL, &buf), MP_ERR_PARSE);

	/* An empty RopsList, and a handle table with 3 stray bytes: kept. */
	uint8_t b[64];
	size_t len = mkbuf(b, sizeof(b), "", "01 00 00 00 aa bb cc");
	buf = decode_exact(f, b, len, false, NULL);
	assert_int_equal(buf->count, 0);
	assert_int_equal(buf->n_handles, 1);
	assert_int_equal(buf->tail_len, 3);
}

static void test_unknown_rop_keeps_the_rest_opaque(void **state)
{
	struct fixture *f = *state;
	uint8_t b[64];
	/* RopGetStoreState, then RopId 0x00 (reserved), then a valid-looking
	 * RopGetStoreState that must not be decoded any more. */
	size_t len = mkbuf(b, sizeof(b), "7b 00 00 00 11 22 33 7b 00 00", "01 00 00 00");
	struct mp_rop_buf *buf = decode_exact(f, b, len, false, NULL);
	assert_int_equal(buf->count, 2);
	assert_false(buf->rops[0]->opaque);
	assert_true(buf->rops[1]->opaque);
	assert_int_equal(buf->rops[1]->id, 0x00);
	assert_int_equal(buf->rops[1]->raw_len, 7);
	assert_int_equal(buf->rops[1]->off, 5);
	assert_string_equal(buf->rops[1]->why, "unknown RopId");
	assert_int_equal(mp_rop_logon_id(buf->rops[1]), -1);
	assert_null(mp_rop_field(buf->rops[1], "LogonId"));
}

static void test_truncated_rop_keeps_the_rest_opaque(void **state)
{
	struct fixture *f = *state;
	uint8_t b[64];
	/* RopGetPropertiesSpecific announcing 5 tags and sending one. */
	size_t len = mkbuf(b, sizeof(b), "7b 00 00 07 00 00 00 00 01 00 05 00 1f 00 37 00", "");
	struct mp_rop_buf *buf = decode_exact(f, b, len, false, NULL);
	assert_int_equal(buf->count, 2);
	assert_true(buf->rops[1]->opaque);
	assert_int_equal(buf->rops[1]->id, 0x07);
	assert_int_equal(buf->rops[1]->raw_len, 13);

	/* A response-only RopId in a request buffer. */
	len = mkbuf(b, sizeof(b), "2a 01 00 00 00 00", "");
	buf = decode_exact(f, b, len, false, NULL);
	assert_true(buf->rops[0]->opaque);
}

/* 2000 PtypNull columns and 1000 one-byte rows would be two million
 * values from a few kilobytes: refused, kept opaque, little memory used. */
static void test_row_values_are_bounded(void **state)
{
	struct fixture *f = *state;
	struct mp_wbuf q, s;
	mp_wb_init(&q);
	mp_wb_init(&s);
	mp_wb_u16(&q, 0);
	const uint8_t setcols[] = {0x12, 0x00, 0x00, 0x00, 0xd0, 0x07};
	mp_wb_bytes(&q, setcols, sizeof(setcols));
	for (int i = 0; i < 2000; i++)
		mp_wb_u32(&q, 0x00000001);
	const uint8_t queryrows[] = {0x15, 0x00, 0x00, 0x00, 0x01, 0xe8, 0x03};
	mp_wb_bytes(&q, queryrows, sizeof(queryrows));
	mp_wb_put_u16_at(&q, 0, (uint16_t)q.len);
	mp_wb_u32(&q, 0x22);

	mp_wb_u16(&s, 0);
	const uint8_t hdr[] = {0x12, 0x00, 0, 0, 0, 0,    0x00, 0x15,
	                       0x00, 0,    0, 0, 0, 0x02, 0xe8, 0x03};
	mp_wb_bytes(&s, hdr, sizeof(hdr));
	mp_wb_zeros(&s, 1000);
	mp_wb_put_u16_at(&s, 0, (uint16_t)s.len);
	mp_wb_u32(&s, 0x22);

	size_t before = talloc_total_size(f->mem);
	struct mp_rop_buf *req = decode_exact(f, q.data, q.len, false, NULL);
	struct mp_rop_buf *rsp = decode_exact(f, s.data, s.len, true, req);
	assert_int_equal(rsp->count, 2);
	assert_false(rsp->rops[0]->opaque);
	assert_true(rsp->rops[1]->opaque);
	assert_true(talloc_total_size(f->mem) - before < 1024 * 1024);
	mp_wb_free(&q);
	mp_wb_free(&s);
}

static void test_response_needs_its_request(void **state)
{
	struct fixture *f = *state;
	uint8_t q[64], s[64];
	/* MS-OXCPRPT 4.3.1: Boolean, Integer32, Binary. */
	size_t qlen =
	    mkbuf(q, sizeof(q), "07 00 00 00 00 01 00 03 00 0b 00 3e 86 03 00 3f 86 02 01 e2 65",
	          "0a 00 00 00");
	size_t slen =
	    mkbuf(s, sizeof(s), "07 00 00 00 00 00 00 01 05 00 00 00 02 00 aa bb", "0a 00 00 00");
	struct mp_rop_buf *req = decode_exact(f, q, qlen, false, NULL);
	struct mp_rop_buf *rsp = decode_exact(f, s, slen, true, req);
	const struct mp_rop *r = rsp->rops[0];
	assert_false(r->opaque);
	assert_ptr_equal(r->req, req->rops[0]);
	const struct mp_rop_val *row = mp_rop_field(r, "RowData");
	assert_non_null(row);
	const struct mp_rop_rows *rows = row->p;
	assert_int_equal(rows->ncols, 3);
	assert_int_equal(rows->rows[0].vals[0].val.v.b, 1);
	assert_int_equal(rows->rows[0].vals[1].val.v.i4, 5);
	assert_int_equal(rows->rows[0].vals[2].val.v.bin.len, 2);

	/* Without the request the row cannot be read: kept opaque. */
	rsp = decode_exact(f, s, slen, true, NULL);
	assert_true(rsp->rops[0]->opaque);
	assert_string_equal(rsp->rops[0]->why, "columns of the rows are unknown");
	/* An error response needs nothing. */
	slen = mkbuf(s, sizeof(s), "07 00 0f 01 04 80", "");
	rsp = decode_exact(f, s, slen, true, NULL);
	assert_false(rsp->rops[0]->opaque);
}

static void test_table_columns_state(void **state)
{
	struct fixture *f = *state;
	uint8_t q[128], s[128];

	/* Call 1: open a contents table at index 1, set its columns, read. */
	size_t qlen = mkbuf(q, sizeof(q),
	                    "05 00 00 01 00"
	                    " 12 00 01 00 02 00 03 00 08 0e 1f 00 37 00"
	                    " 15 00 01 00 01 0a 00",
	                    "11 00 00 00 ff ff ff ff");
	size_t slen = mkbuf(s, sizeof(s),
	                    "05 01 00 00 00 00 02 00 00 00"
	                    " 12 01 00 00 00 00 00"
	                    " 15 01 00 00 00 00 02 01 00 00 2a 00 00 00 61 00 00 00",
	                    "11 00 00 00 22 00 00 00");
	struct mp_rop_buf *req = decode_exact(f, q, qlen, false, NULL);
	struct mp_rop_buf *rsp = decode_exact(f, s, slen, true, req);
	assert_int_equal(rsp->count, 3);
	const struct mp_rop_val *rows = mp_rop_field(rsp->rops[2], "RowData");
	assert_non_null(rows);
	assert_int_equal(((const struct mp_rop_rows *)rows->p)->rows[0].vals[0].val.v.i4, 42);
	mp_rop_session_update(f->sess, req, rsp);
	const uint32_t *tags;
	uint32_t n;
	assert_true(mp_rop_session_columns(f->sess, 0x22, &tags, &n));
	assert_int_equal(n, 2);
	assert_int_equal(tags[1], 0x0037001F);

	/* Call 2: the table is handle 0x22 now; its columns come from the session. */
	qlen = mkbuf(q, sizeof(q), "15 00 00 00 01 0a 00", "22 00 00 00");
	slen = mkbuf(s, sizeof(s), "15 00 00 00 00 00 02 01 00 00 07 00 00 00 62 00 00 00",
	             "22 00 00 00");
	req = decode_exact(f, q, qlen, false, NULL);
	rsp = decode_exact(f, s, slen, true, req);
	assert_false(rsp->rops[0]->opaque);
	rows = mp_rop_field(rsp->rops[0], "RowData");
	assert_int_equal(((const struct mp_rop_rows *)rows->p)->rows[0].vals[0].val.v.i4, 7);

	/* Call 3: RopRelease forgets the table; its rows are not readable. */
	qlen = mkbuf(q, sizeof(q), "01 00 00", "22 00 00 00");
	req = decode_exact(f, q, qlen, false, NULL);
	mp_rop_session_update(f->sess, req, NULL);
	assert_false(mp_rop_session_columns(f->sess, 0x22, &tags, &n));
	qlen = mkbuf(q, sizeof(q), "15 00 00 00 01 0a 00", "22 00 00 00");
	req = decode_exact(f, q, qlen, false, NULL);
	rsp = decode_exact(f, s, slen, true, req);
	assert_true(rsp->rops[0]->opaque);
}

static void test_notification_rows(void **state)
{
	struct fixture *f = *state;
	uint8_t s[128];
	const uint32_t cols[] = {0x0E080003};

	/* RopNotify: handle 0x22, TableModified|M, TableRowAdded, row ids,
	 * insert-after ids, then a 5-byte row in the table's columns. */
	size_t slen = mkbuf(s, sizeof(s),
	                    "2a 22 00 00 00 00 00 81 03 00"
	                    " 01 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00 00 00 00 00"
	                    " 03 00 00 00 00 00 00 00 04 00 00 00 00 00 00 00 00 00 00 00"
	                    " 05 00 00 2a 00 00 00"
	                    " 6e 07 00",
	                    "");
	/* Columns unknown: the notification decodes, the row stays bytes. */
	struct mp_rop_buf *rsp = decode_exact(f, s, slen, true, NULL);
	assert_int_equal(rsp->count, 2);
	const struct mp_rop *r = rsp->rops[0];
	assert_false(r->opaque);
	assert_int_equal(uint_field(r, "NotificationHandle"), 0x22);
	assert_int_equal(uint_field(r, "TableEventType"), 3);
	assert_int_equal(uint_field(r, "InsertAfterTableRowID"), 4);
	const struct mp_rop_val *data = mp_rop_field(r, "TableRowData");
	assert_non_null(data);
	assert_null(data->p);
	assert_int_equal(data->n, 5);
	assert_int_equal(uint_field(rsp->rops[1], "SessionIndex"), 7);

	/* With the table's columns known, the row is decoded. */
	assert_int_equal(mp_rop_session_set_columns(f->sess, 0x22, cols, 1), MP_OK);
	rsp = decode_exact(f, s, slen, true, NULL);
	data = mp_rop_field(rsp->rops[0], "TableRowData");
	assert_non_null(data->p);
	const struct mp_rop_val *row = mp_rop_field(rsp->rops[0], "TableRow");
	assert_int_equal(((const struct mp_rop_rows *)row->p)->rows[0].vals[0].val.v.i4, 42);
}

static void test_matching_skips_release_and_handles_quirks(void **state)
{
	struct fixture *f = *state;
	uint8_t q[64], s[64];
	/* Release (no response), GetMessageStatus answered with RopId 0x20,
	 * then GetStoreState. */
	size_t qlen = mkbuf(q, sizeof(q), "01 00 01 1f 00 00 05 00 00 00 00 00 00 00 7b 00 00",
	                    "01 00 00 00 02 00 00 00");
	size_t slen =
	    mkbuf(s, sizeof(s), "20 00 00 00 00 00 08 00 00 00 7b 00 00 00 00 00 00 00 00 10", "");
	struct mp_rop_buf *req = decode_exact(f, q, qlen, false, NULL);
	struct mp_rop_buf *rsp = decode_exact(f, s, slen, true, req);
	assert_int_equal(rsp->count, 2);
	assert_ptr_equal(rsp->rops[0]->req, req->rops[1]);
	assert_int_equal(uint_field(rsp->rops[0], "MessageStatusFlags"), 8);
	assert_ptr_equal(rsp->rops[1]->req, req->rops[2]);
	assert_int_equal(uint_field(rsp->rops[1], "StoreState"), 0x10000000);
}

static void test_logon_kind_selects_fields(void **state)
{
	struct fixture *f = *state;
	uint8_t q[128];
	/* A public-folder logon (LogonFlags 0) in the same buffer: the
	 * RopSetMessageReadFlag request carries 24 bytes of ClientData. */
	size_t qlen =
	    mkbuf(q, sizeof(q),
	          "fe 01 00 00 02 00 00 00 00 00 00 00 00 00"
	          " 11 01 01 02 01"
	          " 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17",
	          "ff ff ff ff 03 00 00 00 04 00 00 00");
	struct mp_rop_buf *req = decode_exact(f, q, qlen, false, NULL);
	assert_int_equal(req->count, 2);
	assert_false(req->rops[1]->opaque);
	assert_int_equal(mp_rop_field(req->rops[1], "ClientData")->n, 24);

	/* A private logon known to the session: no ClientData. */
	mp_rop_session_set_logon(f->sess, 1, 0x01);
	qlen = mkbuf(q, sizeof(q), "11 01 01 02 01", "03 00 00 00 04 00 00 00");
	req = decode_exact(f, q, qlen, false, NULL);
	assert_false(req->rops[0]->opaque);
	assert_null(mp_rop_field(req->rops[0], "ClientData"));

	/* An unknown logon: the fields cannot be told apart, kept opaque. */
	qlen = mkbuf(q, sizeof(q), "11 02 01 02 01", "03 00 00 00 04 00 00 00");
	req = decode_exact(f, q, qlen, false, NULL);
	assert_true(req->rops[0]->opaque);
}

static void test_editing_recomputes_counts(void **state)
{
	struct fixture *f = *state;
	uint8_t q[64];
	size_t qlen = mkbuf(q, sizeof(q), "12 00 01 00 02 00 03 00 08 0e 1f 00 37 00", "");
	struct mp_rop_buf *req = decode_exact(f, q, qlen, false, NULL);
	struct mp_rop *r = req->rops[0];
	struct mp_wbuf wb;

	assert_int_equal(mp_rop_set_uint(r, "SetColumnsFlags", 1), MP_OK);
	assert_int_equal(mp_rop_set_uint(r, "SetColumnsFlags", 0x100), MP_ERR_LIMIT);
	assert_int_equal(mp_rop_set_uint(r, "NoSuchField", 1), MP_ERR_NOTFOUND);
	/* Drop the last column: PropertyTagCount follows the list. */
	struct mp_rop_val *tags = (struct mp_rop_val *)mp_rop_field(r, "PropertyTags");
	tags->n = 1;
	mp_wb_init(&wb);
	assert_int_equal(mp_rop_buf_encode(req, &wb), MP_OK);
	uint8_t want[32];
	size_t wlen = mkbuf(want, sizeof(want), "12 00 01 01 01 00 03 00 08 0e", "");
	assert_int_equal(wb.len, wlen);
	assert_memory_equal(wb.data, want, wlen);
	mp_wb_free(&wb);
}

static void test_building_buffers_from_bytes(void **state)
{
	struct fixture *f = *state;
	uint8_t q[64];
	size_t qlen =
	    mkbuf(q, sizeof(q), "7b 00 00 05 00 00 01 00 16 00 01", "01 00 00 00 ff ff ff ff");
	struct mp_rop_buf *req = decode_exact(f, q, qlen, false, NULL);
	struct mp_rop_buf *out = mp_rop_buf_new(f->mem, false);
	struct mp_wbuf wb;

	/* Move the ROPs in reverse order, by their original bytes. */
	for (size_t i = req->count; i-- > 0;) {
		const uint8_t *bytes;
		size_t n;
		assert_true(mp_rop_bytes(req->rops[i], &bytes, &n, NULL));
		struct mp_rop *raw = mp_rop_new_raw(f->mem, false, bytes, n);
		assert_non_null(raw);
		assert_int_equal(mp_rop_buf_add(out, raw), MP_OK);
	}
	assert_int_equal(mp_rop_buf_set_handles(out, req->handles, req->n_handles), MP_OK);
	mp_wb_init(&wb);
	assert_int_equal(mp_rop_buf_encode(out, &wb), MP_OK);
	uint8_t want[64];
	size_t wlen = mkbuf(want, sizeof(want), "16 00 01 05 00 00 01 00 7b 00 00",
	                    "01 00 00 00 ff ff ff ff");
	assert_int_equal(wb.len, wlen);
	assert_memory_equal(wb.data, want, wlen);
	mp_wb_free(&wb);
}

static void test_unsolicited_responses(void **state)
{
	struct fixture *f = *state;
	uint8_t s[64];
	/* RopBackoff for logon 0 (one ROP backed off), then RopBufferTooSmall
	 * with the unprocessed requests. */
	size_t slen = mkbuf(s, sizeof(s),
	                    "f9 00 e8 03 00 00 01 07 10 27 00 00 00 00"
	                    " ff 00 80 7b 00 00 7b 00 00",
	                    "");
	struct mp_rop_buf *rsp = decode_exact(f, s, slen, true, NULL);
	assert_int_equal(rsp->count, 2);
	assert_int_equal(uint_field(rsp->rops[0], "Duration"), 1000);
	assert_int_equal(uint_field(rsp->rops[0], "BackoffRopCount"), 1);
	assert_int_equal(uint_field(rsp->rops[1], "SizeNeeded"), 0x8000);
	assert_int_equal(mp_rop_field(rsp->rops[1], "RequestBuffers")->n, 6);
}

static void test_recipient_rows(void **state)
{
	struct fixture *f = *state;
	uint8_t q[64], s[160];
	/* RopOpenMessage; the response has one recipient row: SMTP type,
	 * Unicode display name "A", two columns (PidTagRecipientType,
	 * PidTagDisplayName) in a standard row. */
	size_t qlen = mkbuf(q, sizeof(q),
	                    "03 00 00 01 e4 04 01 00 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00",
	                    "01 00 00 00 ff ff ff ff");
	size_t slen = mkbuf(s, sizeof(s),
	                    "03 01 00 00 00 00 00 01 04 48 00 69 00 00 00"
	                    " 01 00 02 00 03 00 15 0c 1f 00 01 30 01"
	                    " 01 e4 04 00 00 11 00"
	                    " 13 02 41 00 00 00 02 00 00 01 00 00 00 41 00 00 00",
	                    "01 00 00 00 22 00 00 00");
	struct mp_rop_buf *req = decode_exact(f, q, qlen, false, NULL);
	struct mp_rop_buf *rsp = decode_exact(f, s, slen, true, req);
	const struct mp_rop *r = rsp->rops[0];
	assert_false(r->opaque);
	assert_int_equal(uint_field(r, "ColumnCount"), 2);
	const struct mp_rop_val *rows = mp_rop_field(r, "RecipientRows");
	assert_int_equal(rows->n, 1);
	struct mp_rop_vals *const *e = rows->p;
	/* OpenRecipientRow: RecipientType, CodePageId, Reserved, Size, Row. */
	const struct mp_rop_val *row = &e[0]->v[4];
	assert_non_null(row->p);
	const struct mp_rop_vals *rr = row->p;
	assert_int_equal(rr->v[0].u, 0x0213);
	struct mp_printer *p = mp_printer_new(MP_PRINT_TEXT);
	mp_rop_print(p, NULL, r);
	const char *out = mp_printer_output(p, NULL);
	assert_non_null(strstr(out, "DisplayName: \"A\""));
	assert_non_null(strstr(out, "PidTagRecipientType"));
	mp_printer_free(p);

	/* RopReadRecipients on the message (now handle 0x22) uses the
	 * recipient columns of the RopOpenMessage response, once learnt. */
	const char *read_rsp = "0f 00 00 00 00 00 01 00 00 00 00 01 e4 04 00 00 11 00"
	                       " 13 02 41 00 00 00 02 00 00 01 00 00 00 41 00 00 00";
	qlen = mkbuf(q, sizeof(q), "0f 00 00 00 00 00 00 00 00", "22 00 00 00");
	slen = mkbuf(s, sizeof(s), read_rsp, "22 00 00 00");
	struct mp_rop_buf *rreq = decode_exact(f, q, qlen, false, NULL);
	struct mp_rop_buf *rrsp = decode_exact(f, s, slen, true, rreq);
	rows = mp_rop_field(rrsp->rops[0], "RecipientRows");
	e = rows->p;
	assert_null(e[0]->v[5].p); /* not yet known: kept as bytes */
	mp_rop_session_update(f->sess, req, rsp);
	rrsp = decode_exact(f, s, slen, true, rreq);
	rows = mp_rop_field(rrsp->rops[0], "RecipientRows");
	e = rows->p;
	assert_non_null(e[0]->v[5].p);

	/* RopModifyRecipients: a row with RecipientRowSize 0 removes a recipient. */
	qlen = mkbuf(q, sizeof(q), "0e 00 00 01 00 03 00 15 0c 01 00 05 00 00 00 01 00 00",
	             "01 00 00 00");
	req = decode_exact(f, q, qlen, false, NULL);
	assert_false(req->rops[0]->opaque);
	assert_int_equal(uint_field(req->rops[0], "RowCount"), 1);
}

/* Irregular layouts, one example each: all must decode whole and re-encode. */
static void test_irregular_layouts(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *req, *rsp, *field;
		uint64_t value;
	} cases[] = {
	    /* RopReadStream with the 0xBABE sentinel; data on success. */
	    {"2c 00 00 be ba 00 00 01 00", "2c 00 00 00 00 00 02 00 aa bb", "MaximumByteCount",
	     0x10000},
	    /* RopReadStream failure still carries DataSize. */
	    {"2c 00 00 10 00", "2c 00 05 00 07 80 00 00", "DataSize", 0},
	    /* RopFastTransferSourceGetBuffer: buffer, then ecServerBusy with BackoffTime. */
	    {"4e 00 00 be ba 00 80", "4e 00 00 00 00 00 01 00 00 00 00 00 00 02 00 aa bb",
	     "TransferBufferSize", 2},
	    {"4e 00 00 00 40", "4e 00 80 04 00 00 00 00 00 00 00 00 00 00 00 e8 03 00 00",
	     "BackoffTime", 1000},
	    /* RopCopyTo with a null destination: DestHandleIndex (4 bytes). */
	    {"39 00 00 01 00 00 00 00 00", "39 00 03 05 00 00 02 00 00 00", "DestHandleIndex", 2},
	    /* RopCopyProperties on success: property problems. */
	    {"67 00 00 01 00 00 01 00 1f 00 37 00",
	     "67 00 00 00 00 00 01 00 00 00 1f 00 37 00 05 00 07 80", "PropertyProblemCount", 1},
	    /* RopCopyToStream with a null destination. */
	    {"3a 00 00 01 10 00 00 00 00 00 00 00",
	     "3a 00 03 05 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
	     "DestHandleIndex", 1},
	    /* RopGetPropertyIdsFromNames with ecWarnWithErrors still lists ids. */
	    {"56 00 00 02 01 00 00 29 03 02 00 00 00 00 00 c0 00 00 00 00 00 00 46 1c 85 00 00",
	     "56 00 80 03 04 00 01 00 00 00", "PropertyIdCount", 1},
	    /* RopQueryNamedProperties with a GUID; one LID name back. */
	    {"5f 00 00 00 01 29 03 02 00 00 00 00 00 c0 00 00 00 00 00 00 46",
	     "5f 00 00 00 00 00 01 00 00 80 00 29 03 02 00 00 00 00 00 c0 00 00 00 00 00 00 46 1c"
	     " 85 00 00",
	     "IdCount", 1},
	    /* RopGetReceiveFolderTable: fixed columns, one row. */
	    {"68 00 00",
	     "68 00 00 00 00 00 01 00 00 00 00 01 00 00 00 00 00 00 00 49 50 4d 00 00 80 3e d5 de"
	     " b1 9d 01",
	     "RowCount", 1},
	    /* RopGetOwningServers and RopPublicFolderIsGhosted with server lists. */
	    {"42 00 00 01 00 00 00 00 00 00 00", "42 00 00 00 00 00 02 00 01 00 61 00 62 00",
	     "OwningServersCount", 2},
	    {"45 00 00 01 00 00 00 00 00 00 00", "45 00 00 00 00 00 01 01 00 01 00 61 00",
	     "ServersCount", 1},
	    /* RopGetAddressTypes: strings framed by AddressTypeSize. */
	    {"49 00 00", "49 00 00 00 00 00 02 00 08 00 53 4d 54 50 00 45 58 00",
	     "AddressTypeCount", 2},
	    /* RopOptionsData with a help file and its name. */
	    {"6f 00 00 53 4d 54 50 00 01",
	     "6f 00 00 00 00 00 00 01 00 aa 02 00 bb cc 68 2e 68 6c 70 00", "HelpFileSize", 2},
	    /* RopTransportSend with properties. */
	    {"4a 00 00", "4a 00 00 00 00 00 00 01 00 03 00 17 00 01 00 00 00", "PropertyValueCount",
	     1},
	    /* RopSynchronizationImportReadStateChanges: states fill their size. */
	    {"80 00 00 0a 00 02 00 aa bb 01 02 00 cc dd 00", "80 00 00 00 00 00",
	     "MessageReadStatesSize", 10},
	    /* RopSetLocalReplicaMidsetDeleted: one range in DataSize. */
	    {"93 00 00 34 00 01 00 00 00"
	     " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00"
	     " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00",
	     "93 00 00 00 00 00", "LongTermIdRangeCount", 1},
	    /* RopSynchronizationConfigure with a restriction and tags. */
	    {"70 00 00 01 01 01 11 00 05 00 08 1f 00 37 00 00 00 00 00 01 00 1f 00 37 00",
	     "70 01 00 00 00 00", "PropertyTagCount", 1},
	    /* RopFindRow: no row data. */
	    {"4f 00 00 00 05 00 08 1f 00 37 00 00 00 00", "4f 00 00 00 00 00 00 00", "HasRowData",
	     0},
	    /* RopRegisterNotification on one object. */
	    {"29 00 00 01 04 00 00 01 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00",
	     "29 01 00 00 00 00", "WantWholeStore", 0},
	    /* RopCreateMessage with a message id. */
	    {"06 00 00 01 e4 04 01 00 00 00 00 00 00 00 00",
	     "06 01 00 00 00 00 01 05 00 00 00 00 00 00 00", "MessageId", 5},
	    /* RopSaveChangesMessage: ResponseHandleIndex echoed. */
	    {"0c 00 02 01 0a", "0c 02 00 00 00 00 01 07 00 00 00 00 00 00 00", "MessageId", 7},
	    /* RopSetMessageReadFlag on a public-folder logon (set below): the
	     * request and the changed-state response carry ClientData. */
	    {"11 05 01 02 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
	     " 00",
	     "11 01 00 00 00 00 01 05 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
	     " 00 00 00 00",
	     "ReadStatusChanged", 1},
	};
	mp_rop_session_set_logon(f->sess, 5, 0x00);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t q[256], s[512];
		size_t qlen = mkbuf(q, sizeof(q), cases[i].req, "01 00 00 00 02 00 00 00");
		size_t slen = mkbuf(s, sizeof(s), cases[i].rsp, "01 00 00 00 02 00 00 00");
		struct mp_rop_buf *req = decode_exact(f, q, qlen, false, NULL);
		struct mp_rop_buf *rsp = decode_exact(f, s, slen, true, req);
		for (size_t j = 0; j < req->count; j++)
			if (req->rops[j]->opaque)
				fail_msg("case %zu: request ROP %zu opaque: %s", i, j,
				         req->rops[j]->why);
		for (size_t j = 0; j < rsp->count; j++)
			if (rsp->rops[j]->opaque)
				fail_msg("case %zu: response ROP %zu opaque: %s", i, j,
				         rsp->rops[j]->why);
		const struct mp_rop *last = rsp->rops[rsp->count - 1];
		uint64_t v;
		if (!mp_rop_get_uint(last, cases[i].field, &v) &&
		    !mp_rop_get_uint(req->rops[req->count - 1], cases[i].field, &v))
			fail_msg("case %zu: no field %s", i, cases[i].field);
		assert_int_equal(v, cases[i].value);
	}
}

static void test_print_text_and_json(void **state)
{
	struct fixture *f = *state;
	uint8_t b[512];
	size_t len = logon_private_rsp(b, sizeof(b));
	struct mp_rop_buf *buf = decode_exact(f, b, len, true, NULL);
	struct mp_printer *p = mp_printer_new(MP_PRINT_TEXT);
	mp_rop_buf_print(p, "RopBuffer", buf);
	const char *out = mp_printer_output(p, NULL);
	assert_non_null(strstr(out, "RopLogon"));
	assert_non_null(strstr(out, "Inbox"));
	assert_non_null(strstr(out, "Private"));
	mp_printer_free(p);

	p = mp_printer_new(MP_PRINT_JSON);
	mp_rop_buf_print(p, "RopBuffer", buf);
	out = mp_printer_output(p, NULL);
	assert_int_equal(out[0], '{');
	assert_non_null(strstr(out, "\"ServerObjectHandleTable\""));
	assert_non_null(strstr(out, "\"ReturnValue\""));
	assert_false(mp_printer_failed(p));
	mp_printer_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_rop_is_described),
	    cmocka_unit_test(test_descriptors_are_consistent),
	    cmocka_unit_test_setup_teardown(test_logon_request, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_logon_responses, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_frame_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_rop_keeps_the_rest_opaque, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_truncated_rop_keeps_the_rest_opaque, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_response_needs_its_request, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_row_values_are_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_table_columns_state, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_notification_rows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_matching_skips_release_and_handles_quirks, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_logon_kind_selects_fields, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_editing_recomputes_counts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_building_buffers_from_bytes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unsolicited_responses, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_recipient_rows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_irregular_layouts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_print_text_and_json, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
