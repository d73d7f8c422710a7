/* Unit tests: cutting a call's stub into request/response fragments and
 * putting it back together (mp_pdu_encode_request_frags / _response_frags). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dcerpc/pdu.h"
#include "util/status.h"

#include <stdlib.h>
#include <string.h>

static const size_t max_frags[] = {1432, 2048, 4280, 5840};

/* Stub bytes a fragment can carry after a header of hdr_len, rounded down to 8. */
static size_t room_for(size_t max_frag, size_t hdr_len)
{
	return (max_frag - hdr_len) / 8 * 8;
}

struct expect {
	uint8_t ptype;
	uint32_t call_id;
	uint16_t ctx_id;
	uint16_t opnum;       /* requests */
	bool has_object;      /* requests */
	struct mp_uuid object;
	size_t hdr_len;
};

/* Walk the fragments in wb, check every rule, and reassemble the stub. */
static void check_frags(const struct mp_wbuf *wb, const struct expect *e, const uint8_t *stub,
			size_t len, size_t max_frag)
{
	assert_false(wb->bad);
	size_t room = room_for(max_frag, e->hdr_len);
	size_t want_frags = len == 0 ? 1 : (len + room - 1) / room;
	uint8_t *joined = malloc(len ? len : 1);
	assert_non_null(joined);
	size_t off = 0, pos = 0, n_frags = 0;
	while (pos < wb->len) {
		assert_true(wb->len - pos >= MP_PDU_HDR_LEN);
		uint16_t frag_len = mp_get_u16(wb->data + pos + 8);
		assert_true(frag_len <= max_frag);
		assert_true(frag_len <= wb->len - pos);
		struct mp_pdu p;
		int rc = mp_pdu_parse(wb->data + pos, frag_len, &p);
		if (rc != MP_OK)
			fail_msg("fragment %zu: %s", n_frags, mp_status_name(rc));
		assert_int_equal(p.hdr.ptype, e->ptype);
		assert_int_equal(p.hdr.call_id, e->call_id);
		bool first = n_frags == 0;
		bool last = pos + frag_len == wb->len;
		assert_int_equal(!!(p.hdr.pfc_flags & MP_PFC_FIRST_FRAG), first);
		assert_int_equal(!!(p.hdr.pfc_flags & MP_PFC_LAST_FRAG), last);
		uint32_t alloc_hint;
		if (e->ptype == MP_PDU_REQUEST) {
			alloc_hint = p.u.request.alloc_hint;
			assert_int_equal(p.u.request.ctx_id, e->ctx_id);
			assert_int_equal(p.u.request.opnum, e->opnum);
			assert_int_equal(p.u.request.has_object, e->has_object);
			if (e->has_object)
				assert_memory_equal(p.u.request.object.b, e->object.b, 16);
		} else {
			alloc_hint = p.u.response.alloc_hint;
			assert_int_equal(p.u.response.ctx_id, e->ctx_id);
		}
		/* alloc_hint: the stub bytes still to come, this fragment included. */
		assert_int_equal(alloc_hint, len - off);
		if (!last) {
			assert_int_equal(p.stub_len % 8, 0);
			assert_int_equal(p.stub_len, room); /* full fragments */
		}
		assert_true(off + p.stub_len <= len);
		if (p.stub_len)
			memcpy(joined + off, p.stub, p.stub_len);
		off += p.stub_len;
		pos += frag_len;
		n_frags++;
	}
	assert_int_equal(pos, wb->len);
	assert_int_equal(n_frags, want_frags);
	assert_int_equal(off, len);
	if (len)
		assert_memory_equal(joined, stub, len);
	free(joined);
}

static uint8_t *make_stub(size_t len)
{
	uint8_t *s = malloc(len ? len : 1);
	assert_non_null(s);
	uint32_t x = 0x12345678u ^ (uint32_t)len;
	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		s[i] = (uint8_t)(x >> 16);
	}
	return s;
}

/* 0, 1, 7, one fragment exactly, one byte more, two exactly, many. */
static size_t sizes_for(size_t room, size_t out[12])
{
	size_t n = 0;
	out[n++] = 0;
	out[n++] = 1;
	out[n++] = 7;
	out[n++] = room - 1;
	out[n++] = room;
	out[n++] = room + 1;
	out[n++] = 2 * room;
	out[n++] = 2 * room + 3;
	out[n++] = 10 * room + 5;
	out[n++] = 65536;
	out[n++] = 100003;
	return n;
}

static void run_requests(bool with_object)
{
	struct expect e = {.ptype = MP_PDU_REQUEST, .call_id = 4242, .ctx_id = 3, .opnum = 11,
			   .has_object = with_object,
			   .hdr_len = MP_PDU_REQUEST_HDR_LEN + (with_object ? 16 : 0)};
	if (with_object)
		assert_int_equal(mp_uuid_parse("9e4bd4e0-7b4c-4d3f-9a3e-0123456789ab", &e.object), MP_OK);
	for (size_t m = 0; m < sizeof(max_frags) / sizeof(max_frags[0]); m++) {
		size_t sizes[12];
		size_t n = sizes_for(room_for(max_frags[m], e.hdr_len), sizes);
		for (size_t k = 0; k < n; k++) {
			uint8_t *stub = make_stub(sizes[k]);
			struct mp_pdu_request r = {.ctx_id = e.ctx_id, .opnum = e.opnum,
						   .has_object = with_object, .object = e.object,
						   .alloc_hint = 0xffffffff};
			struct mp_wbuf wb;
			mp_wb_init(&wb);
			mp_pdu_encode_request_frags(&wb, e.call_id, &r, stub, sizes[k], max_frags[m]);
			check_frags(&wb, &e, stub, sizes[k], max_frags[m]);
			mp_wb_free(&wb);
			free(stub);
		}
	}
}

static void test_request_frags(void **state)
{
	run_requests(false);
}

static void test_request_frags_with_object(void **state)
{
	run_requests(true);
}

static void test_response_frags(void **state)
{
	struct expect e = {.ptype = MP_PDU_RESPONSE, .call_id = 7, .ctx_id = 1,
			   .hdr_len = MP_PDU_RESPONSE_HDR_LEN};
	for (size_t m = 0; m < sizeof(max_frags) / sizeof(max_frags[0]); m++) {
		size_t sizes[12];
		size_t n = sizes_for(room_for(max_frags[m], e.hdr_len), sizes);
		for (size_t k = 0; k < n; k++) {
			uint8_t *stub = make_stub(sizes[k]);
			struct mp_wbuf wb;
			mp_wb_init(&wb);
			mp_pdu_encode_response_frags(&wb, e.call_id, e.ctx_id, stub, sizes[k],
						     max_frags[m]);
			check_frags(&wb, &e, stub, sizes[k], max_frags[m]);
			mp_wb_free(&wb);
			free(stub);
		}
	}
}

static void test_known_fragment_counts(void **state)
{
	/* 1432 - 24 = 1408 stub bytes per request fragment (already a multiple of 8). */
	struct mp_pdu_request r = {.ctx_id = 0, .opnum = 0};
	uint8_t *stub = make_stub(1409);
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_pdu_encode_request_frags(&wb, 1, &r, stub, 1408, 1432);
	assert_int_equal(wb.len, 1432);
	mp_wb_free(&wb);
	mp_wb_init(&wb);
	mp_pdu_encode_request_frags(&wb, 1, &r, stub, 1409, 1432);
	assert_int_equal(wb.len, 1432 + 24 + 1);
	assert_int_equal(mp_get_u16(wb.data + 8), 1432);
	assert_int_equal(wb.data[3], MP_PFC_FIRST_FRAG);
	assert_int_equal(wb.data[1432 + 3], MP_PFC_LAST_FRAG);
	assert_int_equal(mp_get_u32(wb.data + 16), 1409);      /* alloc_hint, first */
	assert_int_equal(mp_get_u32(wb.data + 1432 + 16), 1); /* alloc_hint, last */
	mp_wb_free(&wb);
	free(stub);

	/* 2048 - 24 = 2024, rounded down to 2024 (a multiple of 8); with an
	 * object UUID 2048 - 40 = 2008. 5840 - 24 = 5816. */
	stub = make_stub(5817);
	mp_wb_init(&wb);
	mp_pdu_encode_response_frags(&wb, 1, 0, stub, 5817, 5840);
	assert_int_equal(mp_get_u16(wb.data + 8), 5840);
	assert_int_equal(wb.len, 5840 + 24 + 1);
	mp_wb_free(&wb);
	free(stub);
}

static void test_unaligned_room_rounds_down(void **state)
{
	/* max_frag 1500: 1476 free after the header, only 1472 may be used. */
	uint8_t *stub = make_stub(3000);
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_pdu_encode_response_frags(&wb, 9, 2, stub, 3000, 1500);
	struct expect e = {.ptype = MP_PDU_RESPONSE, .call_id = 9, .ctx_id = 2,
			   .hdr_len = MP_PDU_RESPONSE_HDR_LEN};
	check_frags(&wb, &e, stub, 3000, 1500);
	assert_int_equal(mp_get_u16(wb.data + 8), 24 + 1472);
	mp_wb_free(&wb);
	free(stub);
}

static void test_frags_append_after_existing_data(void **state)
{
	/* The encoders append: anything already in the buffer is left alone. */
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_pdu_encode_empty(&wb, MP_PDU_SHUTDOWN, 3, 1);
	uint8_t *stub = make_stub(5000);
	mp_pdu_encode_response_frags(&wb, 2, 0, stub, 5000, 2048);
	assert_int_equal(wb.data[2], MP_PDU_SHUTDOWN);
	assert_int_equal(mp_get_u16(wb.data + 8), 16);
	struct mp_wbuf tail = {.data = wb.data + 16, .len = wb.len - 16};
	struct expect e = {.ptype = MP_PDU_RESPONSE, .call_id = 2, .ctx_id = 0,
			   .hdr_len = MP_PDU_RESPONSE_HDR_LEN};
	check_frags(&tail, &e, stub, 5000, 2048);
	mp_wb_free(&wb);
	free(stub);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_frags),
		cmocka_unit_test(test_request_frags_with_object),
		cmocka_unit_test(test_response_frags),
		cmocka_unit_test(test_known_fragment_counts),
		cmocka_unit_test(test_unaligned_room_rounds_down),
		cmocka_unit_test(test_frags_append_after_existing_data),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
