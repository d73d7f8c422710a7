/* Unit tests: transport/frame (cutting an evbuffer into DCE/RPC fragments). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dcerpc/pdu.h"
#include "transport/frame.h"

#include <event2/buffer.h>
#include <string.h>

static void make_request(struct mp_wbuf *wb, uint32_t call_id, size_t stub_len)
{
	uint8_t stub[4096];
	memset(stub, (int)call_id, sizeof(stub));
	struct mp_pdu_request r = {.alloc_hint = (uint32_t)stub_len, .ctx_id = 0, .opnum = 1};
	mp_pdu_encode_request(wb, MP_PFC_FIRST_FRAG | MP_PFC_LAST_FRAG, call_id, &r, stub, stub_len);
	assert_false(wb->bad);
}

static void test_empty_and_partial_header(void **state)
{
	struct evbuffer *in = evbuffer_new();
	assert_non_null(in);
	struct mp_pdu_hdr hdr;
	enum mp_hdr_verdict v = MP_HDR_OK;
	assert_int_equal(mp_frame_peek(in, 5840, &hdr, &v), MP_FRAME_NEED_MORE);

	struct mp_wbuf wb;
	mp_wb_init(&wb);
	make_request(&wb, 1, 100);
	/* Every prefix shorter than the header: need more, nothing consumed. */
	for (size_t n = 1; n < MP_PDU_HDR_LEN; n++) {
		evbuffer_add(in, wb.data + n - 1, 1);
		assert_int_equal(mp_frame_peek(in, 5840, &hdr, &v), MP_FRAME_NEED_MORE);
		assert_int_equal(evbuffer_get_length(in), n);
	}
	mp_wb_free(&wb);
	evbuffer_free(in);
}

static void test_partial_body(void **state)
{
	struct evbuffer *in = evbuffer_new();
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	make_request(&wb, 2, 200);
	struct mp_pdu_hdr hdr;
	enum mp_hdr_verdict v;
	/* Header complete, body arriving in pieces. */
	evbuffer_add(in, wb.data, MP_PDU_HDR_LEN);
	assert_int_equal(mp_frame_peek(in, 5840, &hdr, &v), MP_FRAME_NEED_MORE);
	assert_int_equal(hdr.frag_len, wb.len); /* the header was read already */
	evbuffer_add(in, wb.data + MP_PDU_HDR_LEN, 100);
	assert_int_equal(mp_frame_peek(in, 5840, &hdr, &v), MP_FRAME_NEED_MORE);
	evbuffer_add(in, wb.data + MP_PDU_HDR_LEN + 100, wb.len - MP_PDU_HDR_LEN - 101);
	assert_int_equal(evbuffer_get_length(in), wb.len - 1);
	assert_int_equal(mp_frame_peek(in, 5840, &hdr, &v), MP_FRAME_NEED_MORE);
	evbuffer_add(in, wb.data + wb.len - 1, 1);
	assert_int_equal(mp_frame_peek(in, 5840, &hdr, &v), MP_FRAME_READY);
	assert_int_equal(hdr.frag_len, wb.len);
	assert_int_equal(hdr.call_id, 2);
	assert_int_equal(evbuffer_get_length(in), wb.len); /* peek does not consume */
	mp_wb_free(&wb);
	evbuffer_free(in);
}

static void test_complete_fragment(void **state)
{
	struct evbuffer *in = evbuffer_new();
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	make_request(&wb, 3, 64);
	evbuffer_add(in, wb.data, wb.len);
	struct mp_pdu_hdr hdr;
	enum mp_hdr_verdict v = MP_HDR_BAD_DREP;
	assert_int_equal(mp_frame_peek(in, 5840, &hdr, &v), MP_FRAME_READY);
	assert_int_equal(v, MP_HDR_OK);
	assert_int_equal(hdr.ptype, MP_PDU_REQUEST);
	assert_int_equal(hdr.call_id, 3);
	assert_int_equal(hdr.frag_len, wb.len);
	/* The fragment at the front parses once pulled up. */
	struct mp_pdu p;
	unsigned char *front = evbuffer_pullup(in, hdr.frag_len);
	assert_int_equal(mp_pdu_parse(front, hdr.frag_len, &p), 0);
	assert_int_equal(p.stub_len, 64);
	mp_wb_free(&wb);
	evbuffer_free(in);
}

static void test_two_fragments_back_to_back(void **state)
{
	struct evbuffer *in = evbuffer_new();
	struct mp_wbuf a, b;
	mp_wb_init(&a);
	mp_wb_init(&b);
	make_request(&a, 10, 40);
	make_request(&b, 11, 1000);
	/* Added in odd-sized chunks so the header may straddle evbuffer chains. */
	struct mp_wbuf all;
	mp_wb_init(&all);
	mp_wb_bytes(&all, a.data, a.len);
	mp_wb_bytes(&all, b.data, b.len);
	for (size_t off = 0; off < all.len; off += 7)
		evbuffer_add(in, all.data + off, all.len - off < 7 ? all.len - off : 7);

	struct mp_pdu_hdr hdr;
	enum mp_hdr_verdict v;
	assert_int_equal(mp_frame_peek(in, 5840, &hdr, &v), MP_FRAME_READY);
	assert_int_equal(hdr.call_id, 10);
	assert_int_equal(hdr.frag_len, a.len);
	evbuffer_drain(in, hdr.frag_len);
	assert_int_equal(mp_frame_peek(in, 5840, &hdr, &v), MP_FRAME_READY);
	assert_int_equal(hdr.call_id, 11);
	assert_int_equal(hdr.frag_len, b.len);
	evbuffer_drain(in, hdr.frag_len);
	assert_int_equal(evbuffer_get_length(in), 0);
	assert_int_equal(mp_frame_peek(in, 5840, &hdr, &v), MP_FRAME_NEED_MORE);

	/* A whole fragment followed by part of the next: the first is ready. */
	evbuffer_add(in, a.data, a.len);
	evbuffer_add(in, b.data, 20);
	assert_int_equal(mp_frame_peek(in, 5840, &hdr, &v), MP_FRAME_READY);
	assert_int_equal(hdr.call_id, 10);
	evbuffer_drain(in, hdr.frag_len);
	assert_int_equal(mp_frame_peek(in, 5840, &hdr, &v), MP_FRAME_NEED_MORE);
	mp_wb_free(&a);
	mp_wb_free(&b);
	mp_wb_free(&all);
	evbuffer_free(in);
}

static void expect_bad(const uint8_t *bytes, size_t len, size_t max_frag,
		       enum mp_hdr_verdict want)
{
	struct evbuffer *in = evbuffer_new();
	evbuffer_add(in, bytes, len);
	struct mp_pdu_hdr hdr;
	enum mp_hdr_verdict v = MP_HDR_OK;
	assert_int_equal(mp_frame_peek(in, max_frag, &hdr, &v), MP_FRAME_BAD);
	assert_int_equal(v, want);
	evbuffer_free(in);
}

static void test_bad_header(void **state)
{
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	make_request(&wb, 4, 2000);
	uint8_t h[MP_PDU_HDR_LEN];

	/* Judged on the 16 header bytes alone, before the body arrives. */
	memcpy(h, wb.data, sizeof(h));
	h[0] = 4;
	expect_bad(h, sizeof(h), 5840, MP_HDR_BAD_VERSION);
	memcpy(h, wb.data, sizeof(h));
	h[4] = 0x00;
	expect_bad(h, sizeof(h), 5840, MP_HDR_BAD_DREP);
	memcpy(h, wb.data, sizeof(h));
	mp_put_u16(h + 8, 10);
	expect_bad(h, sizeof(h), 5840, MP_HDR_SHORT_FRAG);
	memcpy(h, wb.data, sizeof(h));
	expect_bad(h, sizeof(h), 1432, MP_HDR_TOO_LONG); /* 2024 > 1432 */
	memcpy(h, wb.data, sizeof(h));
	mp_put_u16(h + 10, 4000);
	expect_bad(h, sizeof(h), 5840, MP_HDR_BAD_AUTH_LEN);
	/* And with the whole fragment present. */
	expect_bad(wb.data, wb.len, 2000, MP_HDR_TOO_LONG);

	/* The same fragment is fine with a large enough limit. */
	struct evbuffer *in = evbuffer_new();
	evbuffer_add(in, wb.data, wb.len);
	struct mp_pdu_hdr hdr;
	enum mp_hdr_verdict v;
	assert_int_equal(mp_frame_peek(in, MP_FRAME_MAX, &hdr, &v), MP_FRAME_READY);
	evbuffer_free(in);
	mp_wb_free(&wb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_and_partial_header),
		cmocka_unit_test(test_partial_body),
		cmocka_unit_test(test_complete_fragment),
		cmocka_unit_test(test_two_fragments_back_to_back),
		cmocka_unit_test(test_bad_header),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
