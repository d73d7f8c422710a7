/*
 * Unit tests: mapiclient's request building and response reading
 * (client/rop_client, client/emsmdb_client framing, client/nspi_client
 * helpers, client/commands helpers).
 *
 *   - every ROP builder's bytes decode with the ROP codec (mapi/rop.h) as
 *     the ROP it means, not opaque, with the field values given, and the
 *     decoded buffer re-encodes to the very bytes built: our layouts agree
 *     with the codec's descriptors of MS-OXCROPS;
 *   - responses: a private RopLogon answer gives the 13 special folder IDs
 *     and the logon handle; a failing ReturnValue is MP_CLIENT_ERESULT with
 *     the code; a missing answer is refused; RopQueryRows rows are read by
 *     column through the SetColumns of the same request; RopNotify and
 *     RopPending after the answers leave them readable, and the NewMail
 *     notifications are found in order;
 *   - RPC_HEADER_EXT framing: a wrapped request unwraps to the payload
 *     (XorMagic, and Compressed + XorMagic); truncated or lying headers are
 *     refused;
 *   - 4000 randomly mutated / truncated answers are read without a crash;
 *   - UTF-8 <-> UTF-16 conversion, bad UTF-8 refused, lone surrogates
 *     replaced; message IDs and FILETIMEs as ls prints them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client/commands.h"
#include "client/emsmdb_client.h"
#include "client/nspi_client.h"
#include "client/rop_client.h"
#include "mapi/rpc_ext.h"
#include "util/status.h"

#include <string.h>
#include <talloc.h>

static struct mp_rop_buf *decode_req(void *mem, const struct mp_rop_req *r, struct mp_wbuf *w)
{
	mp_wb_init(w);
	assert_int_equal(mp_rop_req_build(r, w), MP_OK);
	struct mp_rop_buf *buf = NULL;
	assert_int_equal(mp_rop_buf_decode(mem, w->data, w->len, false, NULL, NULL, &buf), MP_OK);
	/* re-encodes to the bytes built */
	struct mp_wbuf again;
	mp_wb_init(&again);
	assert_int_equal(mp_rop_buf_encode(buf, &again), MP_OK);
	assert_int_equal(again.len, w->len);
	assert_memory_equal(again.data, w->data, w->len);
	mp_wb_free(&again);
	for (size_t i = 0; i < buf->count; i++)
		assert_false(buf->rops[i]->opaque);
	return buf;
}

static uint64_t u(const struct mp_rop *r, const char *name)
{
	uint64_t v = 0;
	assert_true(mp_rop_get_uint(r, name, &v));
	return v;
}

static void test_builders_decode(void **state)
{
	void *mem = talloc_new(NULL);
	struct mp_rop_req r;
	mp_rop_req_init(&r);
	uint8_t lg = mp_rop_req_slot(&r);
	uint8_t f = mp_rop_req_slot(&r), t = mp_rop_req_slot(&r), m = mp_rop_req_slot(&r);
	uint8_t a = mp_rop_req_slot(&r), st = mp_rop_req_slot(&r), m2 = mp_rop_req_slot(&r);
	static const uint32_t cols[] = {0x674A0014, 0x0037001F, 0x0E080003};
	mp_rop_add_logon(&r, lg, 0x01, 0x0100000C, "/o=Org/cn=alice");
	mp_rop_add_open_folder(&r, lg, f, 0x0900000000000001ull);
	mp_rop_add_get_hierarchy_table(&r, f, t, 0);
	mp_rop_add_get_contents_table(&r, f, t, 0);
	mp_rop_add_set_columns(&r, t, cols, 3);
	mp_rop_add_query_rows(&r, t, 50);
	mp_rop_add_open_message(&r, lg, m, 0x0900000000000001ull, 0x2700000000000001ull);
	mp_rop_add_get_props_specific(&r, m, cols, 3);
	mp_rop_add_get_attachment_table(&r, m, t);
	mp_rop_add_open_attachment(&r, m, a, 3);
	mp_rop_add_open_stream(&r, a, st, 0x37010102, 0);
	mp_rop_add_read_stream(&r, st, 0x7000);
	mp_rop_add_write_stream(&r, st, (const uint8_t *)"data", 4);
	mp_rop_add_commit_stream(&r, st);
	mp_rop_add_create_message(&r, lg, m2, 0x0B00000000000001ull);
	mp_rop_add_create_attachment(&r, m2, a);
	mp_rop_add_save_changes_attachment(&r, m2, a, 0x02);
	mp_rop_add_save_changes_message(&r, m2, m2, 0x02);
	mp_rop_add_submit_message(&r, m2);
	mp_rop_add_release(&r, t);
	assert_int_equal(r.n_rops, 20);
	struct mp_wbuf w;
	struct mp_rop_buf *buf = decode_req(mem, &r, &w);
	assert_int_equal(buf->count, 20);
	assert_int_equal(buf->n_handles, 7);
	static const char *const names[] = {"RopLogon",
	                                    "RopOpenFolder",
	                                    "RopGetHierarchyTable",
	                                    "RopGetContentsTable",
	                                    "RopSetColumns",
	                                    "RopQueryRows",
	                                    "RopOpenMessage",
	                                    "RopGetPropertiesSpecific",
	                                    "RopGetAttachmentTable",
	                                    "RopOpenAttachment",
	                                    "RopOpenStream",
	                                    "RopReadStream",
	                                    "RopWriteStream",
	                                    "RopCommitStream",
	                                    "RopCreateMessage",
	                                    "RopCreateAttachment",
	                                    "RopSaveChangesAttachment",
	                                    "RopSaveChangesMessage",
	                                    "RopSubmitMessage",
	                                    "RopRelease"};
	for (size_t i = 0; i < 20; i++)
		assert_string_equal(mp_rop_get_name(buf->rops[i]), names[i]);
	const struct mp_rop *const *x = (const struct mp_rop *const *)buf->rops;
	assert_int_equal(u(x[0], "LogonFlags"), 1);
	assert_int_equal(u(x[0], "OpenFlags"), 0x0100000C);
	const struct mp_rop_val *essdn = mp_rop_field(x[0], "Essdn");
	assert_non_null(essdn);
	assert_string_equal((const char *)essdn->bytes, "/o=Org/cn=alice");
	assert_int_equal(mp_rop_output_index(x[0]), lg);
	assert_int_equal(u(x[1], "FolderId"), 0x0900000000000001ull);
	assert_int_equal(mp_rop_input_index(x[1]), lg);
	assert_int_equal(mp_rop_output_index(x[1]), f);
	assert_int_equal(u(x[4], "PropertyTagCount"), 3);
	assert_int_equal(u(x[5], "RowCount"), 50);
	assert_int_equal(u(x[5], "ForwardRead"), 1);
	assert_int_equal(u(x[6], "FolderId"), 0x0900000000000001ull);
	assert_int_equal(u(x[6], "MessageId"), 0x2700000000000001ull);
	assert_int_equal(u(x[7], "WantUnicode"), 1);
	assert_int_equal(u(x[10], "PropertyTag"), 0x37010102);
	assert_int_equal(u(x[11], "ByteCount"), 0x7000);
	assert_int_equal(u(x[12], "DataSize"), 4);
	assert_int_equal(u(x[14], "FolderId"), 0x0B00000000000001ull);
	assert_int_equal(mp_rop_input_index(x[19]), t);
	mp_wb_free(&w);
	mp_rop_req_free(&r);
	talloc_free(mem);
}

static void test_set_properties_and_recipients(void **state)
{
	void *mem = talloc_new(NULL);
	struct mp_rop_req r;
	mp_rop_req_init(&r);
	uint8_t m = mp_rop_req_handle(&r, 0x1234);
	size_t n = 0;
	uint8_t *subj = mp_client_utf8_to_utf16(mem, "Grüße", &n);
	struct mp_tagged_pv pv[2] = {{.tag = 0x0037001F}, {.tag = 0x37050003}};
	pv[0].val.type = MP_PT_STRING;
	pv[0].val.v.bin.data = subj;
	pv[0].val.v.bin.len = (uint32_t)n;
	pv[1].val.type = MP_PT_INTEGER32;
	pv[1].val.v.i4 = 1;
	mp_rop_add_set_properties(&r, m, pv, 2);
	struct mp_rop_recipient rc[2] = {{1, "Bob Builder", "bob@example.org"},
	                                 {2, NULL, "carol@example.org"}};
	mp_rop_add_modify_recipients(&r, m, rc, 2);
	struct mp_wbuf w;
	struct mp_rop_buf *buf = decode_req(mem, &r, &w);
	assert_int_equal(buf->count, 2);
	assert_string_equal(mp_rop_get_name(buf->rops[0]), "RopSetProperties");
	assert_int_equal(u(buf->rops[0], "PropertyValueCount"), 2);
	/* PropertyValueSize: count (2) + tag/len-prefixed values */
	assert_int_equal(u(buf->rops[0], "PropertyValueSize"), 2 + 4 + n + 4 + 4);
	assert_string_equal(mp_rop_get_name(buf->rops[1]), "RopModifyRecipients");
	assert_int_equal(u(buf->rops[1], "RowCount"), 2);
	assert_int_equal(buf->handles[0], 0x1234);
	mp_wb_free(&w);
	mp_rop_req_free(&r);
	talloc_free(mem);
}

/* RopLogon private response (MS-OXCROPS 2.2.3.1.2): FIDs 1..13 as i<<56|1. */
static size_t logon_rsp(uint8_t *b, size_t cap, uint32_t rv)
{
	struct mp_wbuf w;
	mp_wb_init(&w);
	mp_wb_u16(&w, 0);
	mp_wb_u8(&w, 0xFE);
	mp_wb_u8(&w, 0);
	mp_wb_u32(&w, rv);
	if (rv == 0) {
		mp_wb_u8(&w, 0x01);
		for (int i = 1; i <= 13; i++) {
			mp_wb_u32(&w, 1);
			mp_wb_u32(&w, (uint32_t)i << 24);
		}
		mp_wb_u8(&w, 0x01); /* ResponseFlags */
		mp_wb_zeros(&w, 16);
		mp_wb_u16(&w, 1);
		mp_wb_zeros(&w, 16);
		static const uint8_t tm[8] = {0, 0, 10, 2, 24, 11, 0xEA, 0x07};
		mp_wb_bytes(&w, tm, 8);
		mp_wb_zeros(&w, 8);
		mp_wb_u32(&w, 0);
	}
	mp_wb_put_u16_at(&w, 0, (uint16_t)w.len);
	mp_wb_u32(&w, rv == 0 ? 0x00000042 : 0xFFFFFFFF);
	assert_true(w.len <= cap);
	memcpy(b, w.data, w.len);
	size_t n = w.len;
	mp_wb_free(&w);
	return n;
}

static void test_logon_response(void **state)
{
	void *mem = talloc_new(NULL);
	struct mp_rop_client rc;
	assert_int_equal(mp_rop_client_init(&rc, mem, NULL), MP_OK);
	struct mp_rop_req r;
	mp_rop_req_init(&r);
	mp_rop_add_logon(&r, mp_rop_req_slot(&r), 0x01, 0x0100000C, "/o=Org/cn=alice");
	struct mp_wbuf w;
	rc.last_req = decode_req(mem, &r, &w);

	uint8_t b[512];
	size_t n = logon_rsp(b, sizeof(b), 0);
	struct mp_rop_buf *rsp = NULL;
	assert_int_equal(mp_rop_buf_decode(mem, b, n, true, rc.last_req, rc.state, &rsp), MP_OK);
	const struct mp_rop *rop = NULL;
	assert_int_equal(mp_rop_client_result(&rc, rsp, 0, "RopLogon", &rop), MP_OK);
	assert_int_equal(u(rop, "Root"), (1ull << 56) | 1);
	assert_int_equal(u(rop, "Inbox"), (5ull << 56) | 1);
	assert_int_equal(u(rop, "Shortcuts"), (13ull << 56) | 1);
	assert_int_equal(rsp->handles[0], 0x42);
	/* no answer to a second ROP */
	assert_int_equal(mp_rop_client_result(&rc, rsp, 1, "x", &rop), MP_ERR_PARSE);

	/* ecLogonFailed */
	n = logon_rsp(b, sizeof(b), 0x80040111);
	assert_int_equal(mp_rop_buf_decode(mem, b, n, true, rc.last_req, rc.state, &rsp), MP_OK);
	assert_int_equal(mp_rop_client_result(&rc, rsp, 0, "RopLogon", &rop), MP_CLIENT_ERESULT);
	assert_int_equal(rc.rv, 0x80040111);
	assert_non_null(strstr(rc.err, "0x80040111"));
	assert_null(rop);

	/* truncated: kept opaque by the codec, refused here */
	n = logon_rsp(b, sizeof(b), 0);
	b[0] = 20; /* RopSize cuts the ROP */
	b[1] = 0;
	if (mp_rop_buf_decode(mem, b, n, true, rc.last_req, rc.state, &rsp) == MP_OK)
		assert_int_equal(mp_rop_client_result(&rc, rsp, 0, "RopLogon", &rop), MP_ERR_PARSE);
	mp_wb_free(&w);
	mp_rop_req_free(&r);
	talloc_free(mem);
}

static void test_query_rows_response(void **state)
{
	void *mem = talloc_new(NULL);
	struct mp_rop_client rc;
	assert_int_equal(mp_rop_client_init(&rc, mem, NULL), MP_OK);
	struct mp_rop_req r;
	mp_rop_req_init(&r);
	uint8_t t = mp_rop_req_handle(&r, 0x77);
	static const uint32_t cols[] = {0x0037001F, 0x0E080003, 0x0E1B000B};
	mp_rop_add_set_columns(&r, t, cols, 3);
	mp_rop_add_query_rows(&r, t, 10);
	struct mp_wbuf w;
	rc.last_req = decode_req(mem, &r, &w);

	struct mp_wbuf o;
	mp_wb_init(&o);
	mp_wb_u16(&o, 0);
	mp_wb_bytes(&o, "\x12\x00\x00\x00\x00\x00\x00", 7); /* SetColumns: ok, TableStatus 0 */
	mp_wb_bytes(&o, "\x15\x00\x00\x00\x00\x00\x01", 7); /* QueryRows: ok, Origin 1 */
	mp_wb_u16(&o, 2);
	/* row 1: standard, "Hi", 1234, true */
	mp_wb_u8(&o, 0);
	mp_wb_bytes(&o, "H\0i\0\0\0", 6);
	mp_wb_u32(&o, 1234);
	mp_wb_u8(&o, 1);
	/* row 2: flagged, subject with an error flag, size 5, no attachments */
	mp_wb_u8(&o, 1);
	mp_wb_u8(&o, 0x0A);
	mp_wb_u32(&o, 0x8004010F);
	mp_wb_u8(&o, 0);
	mp_wb_u32(&o, 5);
	mp_wb_u8(&o, 0);
	mp_wb_u8(&o, 0);
	mp_wb_put_u16_at(&o, 0, (uint16_t)o.len);
	mp_wb_u32(&o, 0x77);
	struct mp_rop_buf *rsp = NULL;
	assert_int_equal(mp_rop_buf_decode(mem, o.data, o.len, true, rc.last_req, rc.state, &rsp),
	                 MP_OK);
	const struct mp_rop *rop;
	assert_int_equal(mp_rop_client_result(&rc, rsp, 0, "RopSetColumns", &rop), MP_OK);
	assert_int_equal(mp_rop_client_result(&rc, rsp, 1, "RopQueryRows", &rop), MP_OK);
	struct mp_rop_rows_view v;
	assert_true(mp_rop_client_rows(rop, &v));
	assert_int_equal(v.count, 2);
	const struct mp_propval *s = mp_rop_row_value(&v, 0, 0x0037001F);
	assert_non_null(s);
	assert_string_equal(mp_client_utf16_to_utf8(mem, s->v.bin.data, s->v.bin.len), "Hi");
	assert_int_equal(mp_rop_row_value(&v, 0, 0x0E080003)->v.i4, 1234);
	assert_int_equal(mp_rop_row_value(&v, 0, 0x0E1B000B)->v.b, 1);
	assert_null(mp_rop_row_value(&v, 1, 0x0037001F)); /* error flag */
	assert_int_equal(mp_rop_row_value(&v, 1, 0x0E080003)->v.i4, 5);
	assert_null(mp_rop_row_value(&v, 2, 0x0E080003)); /* no such row */
	assert_null(mp_rop_row_value(&v, 0, 0x3001001F)); /* no such column */
	mp_wb_free(&o);
	mp_wb_free(&w);
	mp_rop_req_free(&r);
	talloc_free(mem);
}

/* A RopNotify NewMail response (MS-OXCNOTIF 2.2.1.4.1.2), Unicode class. */
static void put_new_mail(struct mp_wbuf *o, uint32_t handle, uint64_t fid, uint64_t mid)
{
	mp_wb_u8(o, 0x2A);
	mp_wb_u32(o, handle);
	mp_wb_u8(o, 0);
	mp_wb_u16(o, 0x8002); /* NewMail | M */
	mp_wb_u32(o, (uint32_t)fid);
	mp_wb_u32(o, (uint32_t)(fid >> 32));
	mp_wb_u32(o, (uint32_t)mid);
	mp_wb_u32(o, (uint32_t)(mid >> 32));
	mp_wb_u32(o, 0);
	mp_wb_u8(o, 1);
	mp_wb_bytes(o, "I\0P\0M\0.\0N\0o\0t\0e\0\0\0", 18);
}

/* Notifications the server appends after the answers (RopNotify, RopPending)
 * leave the answers readable, and are found by mp_rop_client_new_mail. */
static void test_notifications_after_answers(void **state)
{
	void *mem = talloc_new(NULL);
	struct mp_rop_client rc;
	assert_int_equal(mp_rop_client_init(&rc, mem, NULL), MP_OK);
	struct mp_rop_req r;
	mp_rop_req_init(&r);
	uint8_t t = mp_rop_req_handle(&r, 0x77);
	static const uint32_t cols[] = {0x0E080003};
	mp_rop_add_set_columns(&r, t, cols, 1);
	mp_rop_add_query_rows(&r, t, 10);
	struct mp_wbuf w;
	rc.last_req = decode_req(mem, &r, &w);

	struct mp_wbuf o;
	mp_wb_init(&o);
	mp_wb_u16(&o, 0);
	mp_wb_bytes(&o, "\x12\x00\x00\x00\x00\x00\x00", 7);
	mp_wb_bytes(&o, "\x15\x00\x00\x00\x00\x00\x01", 7);
	mp_wb_u16(&o, 1);
	mp_wb_u8(&o, 0);
	mp_wb_u32(&o, 99);
	put_new_mail(&o, 0x1005, 0x0900000000000001ull, 0x2700000000000001ull);
	put_new_mail(&o, 0x1005, 0x0900000000000001ull, 0x2800000000000001ull);
	mp_wb_bytes(&o, "\x6E\x03\x00", 3); /* RopPending, SessionIndex 3 */
	mp_wb_put_u16_at(&o, 0, (uint16_t)o.len);
	mp_wb_u32(&o, 0x77);
	struct mp_rop_buf *rsp = NULL;
	assert_int_equal(mp_rop_buf_decode(mem, o.data, o.len, true, rc.last_req, rc.state, &rsp),
	                 MP_OK);
	const struct mp_rop *rop;
	assert_int_equal(mp_rop_client_result(&rc, rsp, 0, "RopSetColumns", &rop), MP_OK);
	assert_int_equal(mp_rop_client_result(&rc, rsp, 1, "RopQueryRows", &rop), MP_OK);
	struct mp_rop_rows_view v;
	assert_true(mp_rop_client_rows(rop, &v));
	assert_int_equal(v.count, 1);
	assert_int_equal(mp_rop_row_value(&v, 0, 0x0E080003)->v.i4, 99);

	struct mp_rop_new_mail nm[4];
	bool more = false;
	assert_int_equal(mp_rop_client_new_mail(rsp, nm, 4, &more), 2);
	assert_true(more);
	assert_int_equal(nm[0].handle, 0x1005);
	assert_true(nm[0].fid == 0x0900000000000001ull);
	assert_true(nm[0].mid == 0x2700000000000001ull);
	assert_true(nm[1].mid == 0x2800000000000001ull);
	/* room for one: the first, in order */
	assert_int_equal(mp_rop_client_new_mail(rsp, nm, 1, &more), 1);
	assert_true(nm[0].mid == 0x2700000000000001ull);

	/* An answer to a request without ROPs: notifications only, no RopPending. */
	struct mp_rop_req e;
	mp_rop_req_init(&e);
	struct mp_wbuf ew;
	rc.last_req = decode_req(mem, &e, &ew);
	mp_wb_free(&o);
	mp_wb_init(&o);
	mp_wb_u16(&o, 0);
	put_new_mail(&o, 0x2006, 5, 6);
	mp_wb_put_u16_at(&o, 0, (uint16_t)o.len);
	assert_int_equal(mp_rop_buf_decode(mem, o.data, o.len, true, rc.last_req, rc.state, &rsp),
	                 MP_OK);
	assert_int_equal(mp_rop_client_new_mail(rsp, nm, 4, &more), 1);
	assert_false(more);
	assert_true(nm[0].fid == 5 && nm[0].mid == 6 && nm[0].handle == 0x2006);
	assert_int_equal(mp_rop_client_result(&rc, rsp, 0, "x", &rop), MP_ERR_PARSE);

	/* The subscription request decodes as RopRegisterNotification. */
	struct mp_rop_req g;
	mp_rop_req_init(&g);
	uint8_t in = mp_rop_req_handle(&g, 0x42);
	mp_rop_add_register_notification(&g, in, mp_rop_req_slot(&g), MP_NOTIFY_NEW_MAIL, false,
	                                 0x0900000000000001ull, 0);
	struct mp_wbuf gw;
	struct mp_rop_buf *gb = decode_req(mem, &g, &gw);
	assert_int_equal(gb->count, 1);
	assert_int_equal(gb->rops[0]->id, 0x29);
	assert_int_equal(u(gb->rops[0], "NotificationTypes"), 0x02);
	assert_int_equal(u(gb->rops[0], "WantWholeStore"), 0);
	assert_true(u(gb->rops[0], "FolderId") == 0x0900000000000001ull);
	assert_int_equal(mp_rop_output_index(gb->rops[0]), 1);

	mp_wb_free(&gw);
	mp_rop_req_free(&g);
	mp_wb_free(&ew);
	mp_rop_req_free(&e);
	mp_wb_free(&o);
	mp_wb_free(&w);
	mp_rop_req_free(&r);
	talloc_free(mem);
}

static void test_ext_framing(void **state)
{
	void *mem = talloc_new(NULL);
	uint8_t rops[3000];
	for (size_t i = 0; i < sizeof(rops); i++)
		rops[i] = (uint8_t)(i % 10); /* compressible */
	static const uint16_t flags[] = {0, MP_RHE_XORMAGIC, MP_RHE_COMPRESSED | MP_RHE_XORMAGIC};
	for (size_t k = 0; k < 3; k++) {
		struct mp_wbuf w;
		mp_wb_init(&w);
		assert_int_equal(mp_emsmdb_client_wrap(rops, sizeof(rops), flags[k], &w), MP_OK);
		/* header: version 0, flags with Last, sizes */
		assert_int_equal(mp_get_u16(w.data), 0);
		assert_true(mp_get_u16(w.data + 2) & MP_RHE_LAST);
		assert_int_equal(mp_get_u16(w.data + 6), sizeof(rops));
		if (flags[k] & MP_RHE_COMPRESSED)
			assert_true(w.len < sizeof(rops));
		if (flags[k] == MP_RHE_XORMAGIC)
			assert_int_equal(w.data[8 + 1], 1 ^ 0xA5);
		uint8_t *out = NULL;
		size_t n = 0;
		const char *why = NULL;
		assert_int_equal(mp_emsmdb_client_unwrap(mem, w.data, w.len, &out, &n, &why),
		                 MP_OK);
		assert_int_equal(n, sizeof(rops));
		assert_memory_equal(out, rops, n);
		/* truncated */
		assert_int_not_equal(
		    mp_emsmdb_client_unwrap(mem, w.data, w.len - 1, &out, &n, &why), MP_OK);
		/* a Size larger than the buffer */
		mp_put_u16(w.data + 4, (uint16_t)(mp_get_u16(w.data + 4) + 100));
		assert_int_not_equal(mp_emsmdb_client_unwrap(mem, w.data, w.len, &out, &n, &why),
		                     MP_OK);
		mp_wb_free(&w);
	}
	/* no Last flag anywhere */
	uint8_t bad[12] = {0, 0, 0, 0, 4, 0, 4, 0, 1, 2, 3, 4};
	uint8_t *out;
	size_t n;
	assert_int_not_equal(mp_emsmdb_client_unwrap(mem, bad, sizeof(bad), &out, &n, NULL), MP_OK);
	/* a payload over the 32 KB segment limit is not framed */
	struct mp_wbuf w;
	mp_wb_init(&w);
	static uint8_t big[0x8001];
	assert_int_equal(mp_emsmdb_client_wrap(big, sizeof(big), 0, &w), MP_ERR_LIMIT);
	mp_wb_free(&w);
	talloc_free(mem);
}

static void test_utf(void **state)
{
	void *mem = talloc_new(NULL);
	size_t n = 0;
	const char *s = "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"; /* A é € 😀 */
	uint8_t *u16 = mp_client_utf8_to_utf16(mem, s, &n);
	assert_non_null(u16);
	static const uint8_t want[] = {'A', 0, 0xE9, 0, 0xAC, 0x20, 0x3D, 0xD8, 0x00, 0xDE, 0, 0};
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(u16, want, n);
	assert_string_equal(mp_client_utf16_to_utf8(mem, u16, n), s);
	/* without a terminator, and odd length */
	assert_string_equal(mp_client_utf16_to_utf8(mem, u16, 3), "A");
	/* bad UTF-8: truncated sequence, stray continuation, surrogate, > U+10FFFF */
	assert_null(mp_client_utf8_to_utf16(mem, "x\xC3", &n));
	assert_null(mp_client_utf8_to_utf16(mem, "\x80", &n));
	assert_null(mp_client_utf8_to_utf16(mem, "\xED\xA0\x80", &n));
	assert_null(mp_client_utf8_to_utf16(mem, "\xF4\x90\x80\x80", &n));
	/* lone surrogates become U+FFFD */
	static const uint8_t lone[] = {0x00, 0xD8, 'b', 0, 0x00, 0xDC, 0, 0};
	assert_string_equal(mp_client_utf16_to_utf8(mem, lone, sizeof(lone)), "\xEF\xBF\xBD"
	                                                                      "b\xEF\xBF\xBD");
	talloc_free(mem);
}

static void test_cmd_helpers(void **state)
{
	uint64_t fid, mid;
	assert_true(mp_cmd_parse_msgid("900000000000001/2700000000000001", &fid, &mid));
	assert_int_equal(fid, 0x900000000000001ull);
	assert_int_equal(mid, 0x2700000000000001ull);
	assert_false(mp_cmd_parse_msgid("900000000000001", &fid, &mid));
	assert_false(mp_cmd_parse_msgid("xyz/1", &fid, &mid));
	assert_false(mp_cmd_parse_msgid("1/2/3", &fid, &mid));
	assert_false(mp_cmd_parse_msgid("1/", &fid, &mid));
	char buf[32];
	mp_cmd_format_time(134399880000000000ull, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-24 10:00");
	mp_cmd_format_time(0, buf, sizeof(buf));
	assert_string_equal(buf, "-");
}

static void test_nspi_row_str(void **state)
{
	struct mp_nspi_propval v[2] = {{.proptag = 0x3001001F}, {.proptag = 0x39FE001E}};
	v[0].value.lpszW = "Alice";
	v[1].value.lpszA = "alice@example.org";
	struct mp_nspi_row row = {.count = 2, .props = v};
	assert_string_equal(mp_nspi_client_row_str(&row, 0x3001001F), "Alice");
	/* asked as PtypString, found as PtypString8 */
	assert_string_equal(mp_nspi_client_row_str(&row, 0x39FE001F), "alice@example.org");
	assert_null(mp_nspi_client_row_str(&row, 0x3A00001F));
	assert_null(mp_nspi_client_row_str(NULL, 0x3001001F));
	struct mp_nspi_stat st;
	mp_nspi_client_stat_init(&st);
	assert_int_equal(st.code_page, 1252);
	assert_int_equal(st.sort_locale, 0x409);
	assert_int_equal(st.cur_rec, 0);
}

/* Mutated server answers: decoded and read the way the commands read them,
 * never a crash (run under ASan), never a success with missing fields. */
static uint32_t rng_state = 0x12345678;
static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static void test_mutated_answers(void **state)
{
	void *mem = talloc_new(NULL);
	struct mp_rop_client rc;
	assert_int_equal(mp_rop_client_init(&rc, mem, NULL), MP_OK);
	struct mp_rop_req r;
	mp_rop_req_init(&r);
	uint8_t t = mp_rop_req_handle(&r, 0x77);
	static const uint32_t cols[] = {0x0037001F, 0x0E080003, 0x0E1B000B};
	mp_rop_add_logon(&r, mp_rop_req_slot(&r), 0x01, 0x0100000C, "/o=Org/cn=alice");
	mp_rop_add_set_columns(&r, t, cols, 3);
	mp_rop_add_query_rows(&r, t, 10);
	struct mp_wbuf w;
	rc.last_req = decode_req(mem, &r, &w);
	uint8_t good[512];
	size_t n = logon_rsp(good, sizeof(good), 0);
	/* append SetColumns + QueryRows answers before the handle table */
	size_t rops_end = mp_get_u16(good);
	uint8_t buf[600];
	memcpy(buf, good, rops_end);
	static const uint8_t more[] = {0x12, 0x01, 0, 0, 0,   0, 0, 0x15, 0x01, 0, 0, 0, 0,
	                               1,    1,    0, 0, 'H', 0, 0, 0,    7,    0, 0, 0, 1};
	memcpy(buf + rops_end, more, sizeof(more));
	size_t len = rops_end + sizeof(more);
	mp_put_u16(buf, (uint16_t)len);
	memcpy(buf + len, good + rops_end, n - rops_end);
	len += n - rops_end;
	for (int iter = 0; iter < 4000; iter++) {
		uint8_t m[600];
		size_t ml = len;
		memcpy(m, buf, len);
		int edits = 1 + (int)(rnd() % 4);
		for (int e = 0; e < edits; e++) {
			uint32_t k = rnd();
			if (k % 5 == 0 && ml > 3)
				ml = rnd() % ml; /* truncate */
			else if (ml)
				m[rnd() % ml] = (uint8_t)rnd();
		}
		void *it = talloc_new(mem);
		struct mp_rop_buf *rsp = NULL;
		if (mp_rop_buf_decode(it, m, ml, true, rc.last_req, rc.state, &rsp) == MP_OK) {
			for (size_t i = 0; i < 4; i++) {
				const struct mp_rop *rop = NULL;
				int st = mp_rop_client_result(&rc, rsp, i, "x", &rop);
				assert_true((st == MP_OK) == (rop != NULL));
				struct mp_rop_rows_view v;
				if (rop && mp_rop_client_rows(rop, &v))
					for (uint32_t row = 0; row < v.count + 1; row++) {
						const struct mp_propval *pv =
						    mp_rop_row_value(&v, row, 0x0037001F);
						if (pv && pv->type == MP_PT_STRING)
							(void)mp_client_utf16_to_utf8(
							    it, pv->v.bin.data, pv->v.bin.len);
					}
			}
		}
		uint8_t *out;
		size_t ol;
		(void)mp_emsmdb_client_unwrap(it, m, ml, &out, &ol, NULL);
		(void)mp_client_utf16_to_utf8(it, m, ml);
		talloc_free(it);
	}
	mp_wb_free(&w);
	mp_rop_req_free(&r);
	talloc_free(mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_builders_decode),
	    cmocka_unit_test(test_set_properties_and_recipients),
	    cmocka_unit_test(test_logon_response),
	    cmocka_unit_test(test_query_rows_response),
	    cmocka_unit_test(test_notifications_after_answers),
	    cmocka_unit_test(test_ext_framing),
	    cmocka_unit_test(test_utf),
	    cmocka_unit_test(test_cmd_helpers),
	    cmocka_unit_test(test_nspi_row_str),
	    cmocka_unit_test(test_mutated_answers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
