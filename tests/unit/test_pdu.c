/* Unit tests: dcerpc/pdu (connection-oriented PDU codec). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dcerpc/iface.h"
#include "dcerpc/pdu.h"
#include "util/status.h"

#include <stdlib.h>
#include <string.h>

#define FL (MP_PFC_FIRST_FRAG | MP_PFC_LAST_FRAG)

/* impacket's samr bind (C706 12.6.4.3 / MS-RPCE 2.2.2.13), written out by hand. */
static const uint8_t samr_bind[] = {
	/* common header: 5.0, bind, FIRST|LAST, drep LE/ASCII/IEEE, frag 72, auth 0, call 1 */
	0x05, 0x00, 0x0b, 0x03, 0x10, 0x00, 0x00, 0x00, 0x48, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
	0x00,
	/* max_xmit 4280, max_recv 4280, assoc_group 0 */
	0xb8, 0x10, 0xb8, 0x10, 0x00, 0x00, 0x00, 0x00,
	/* n_context_elem 1, reserved */
	0x01, 0x00, 0x00, 0x00,
	/* p_cont_id 0, n_transfer_syn 1, reserved */
	0x00, 0x00, 0x01, 0x00,
	/* abstract: samr 12345778-1234-abcd-ef00-0123456789ac v1.0 */
	0x78, 0x57, 0x34, 0x12, 0x34, 0x12, 0xcd, 0xab, 0xef, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89,
	0xac, 0x01, 0x00, 0x00, 0x00,
	/* transfer: NDR 8a885d04-1ceb-11c9-9fe8-08002b104860 v2.0 */
	0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48,
	0x60, 0x02, 0x00, 0x00, 0x00,
};

/* A bind_ack shaped like a Windows server's answer to the bind above: secondary
 * address "49154" (6 bytes with NUL, so the result list at offset 32 needs no
 * pad), one accepted NDR context. Written from MS-RPCE 2.2.2.4 / C706 12.6.4.4. */
static const uint8_t samr_bind_ack[] = {
	0x05, 0x00, 0x0c, 0x03, 0x10, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
	0x00,
	/* max_xmit 4280, max_recv 4280, assoc_group 0x00012f4a */
	0xb8, 0x10, 0xb8, 0x10, 0x4a, 0x2f, 0x01, 0x00,
	/* sec_addr: length 6, "49154\0" */
	0x06, 0x00, '4', '9', '1', '5', '4', 0x00,
	/* n_results 1, reserved */
	0x01, 0x00, 0x00, 0x00,
	/* result acceptance, reason 0, NDR v2.0 */
	0x00, 0x00, 0x00, 0x00, 0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08,
	0x00, 0x2b, 0x10, 0x48, 0x60, 0x02, 0x00, 0x00, 0x00,
};

static void must_parse(const struct mp_wbuf *wb, struct mp_pdu *p)
{
	assert_false(wb->bad);
	int rc = mp_pdu_parse(wb->data, wb->len, p);
	if (rc != MP_OK)
		fail_msg("mp_pdu_parse: %s", mp_status_name(rc));
	assert_int_equal(p->hdr.frag_len, wb->len);
}

static struct mp_syntax syntax_of(const char *spec)
{
	struct mp_syntax s;
	assert_int_equal(mp_iface_resolve(spec, &s), MP_OK);
	return s;
}

static void assert_syntax_equal(const struct mp_syntax *a, const struct mp_syntax *b)
{
	assert_memory_equal(a->uuid.b, b->uuid.b, 16);
	assert_int_equal(a->major, b->major);
	assert_int_equal(a->minor, b->minor);
}

static void assert_bind_equal(const struct mp_pdu_bind *a, const struct mp_pdu_bind *b)
{
	assert_int_equal(a->max_xmit, b->max_xmit);
	assert_int_equal(a->max_recv, b->max_recv);
	assert_int_equal(a->assoc_group, b->assoc_group);
	assert_int_equal(a->n_ctx, b->n_ctx);
	for (unsigned i = 0; i < a->n_ctx; i++) {
		assert_int_equal(a->ctx[i].id, b->ctx[i].id);
		assert_int_equal(a->ctx[i].n_ts, b->ctx[i].n_ts);
		assert_syntax_equal(&a->ctx[i].abstract, &b->ctx[i].abstract);
		for (unsigned t = 0; t < a->ctx[i].n_ts; t++)
			assert_syntax_equal(&a->ctx[i].ts[t], &b->ctx[i].ts[t]);
	}
}

/* Copy into an exactly sized heap block so ASan sees any over-read. */
static int parse_copy(const uint8_t *src, size_t len, struct mp_pdu *p)
{
	uint8_t *buf = malloc(len ? len : 1);
	assert_non_null(buf);
	memcpy(buf, src, len);
	int rc = mp_pdu_parse(buf, len, p);
	free(buf);
	return rc;
}

/* ---- golden vectors ---- */

static void test_golden_samr_bind(void **state)
{
	struct mp_pdu p;
	assert_int_equal(mp_pdu_parse(samr_bind, sizeof(samr_bind), &p), MP_OK);
	assert_int_equal(p.hdr.vers, 5);
	assert_int_equal(p.hdr.vers_minor, 0);
	assert_int_equal(p.hdr.ptype, MP_PDU_BIND);
	assert_int_equal(p.hdr.pfc_flags, FL);
	assert_int_equal(p.hdr.drep[0], 0x10);
	assert_int_equal(p.hdr.drep[1], 0);
	assert_int_equal(p.hdr.frag_len, 72);
	assert_int_equal(p.hdr.auth_len, 0);
	assert_int_equal(p.hdr.call_id, 1);
	assert_false(p.has_auth);
	const struct mp_pdu_bind *b = &p.u.bind;
	assert_int_equal(b->max_xmit, 4280);
	assert_int_equal(b->max_recv, 4280);
	assert_int_equal(b->assoc_group, 0);
	assert_int_equal(b->n_ctx, 1);
	assert_int_equal(b->ctx[0].id, 0);
	assert_int_equal(b->ctx[0].n_ts, 1);
	struct mp_syntax samr = syntax_of("samr");
	assert_syntax_equal(&b->ctx[0].abstract, &samr);
	assert_syntax_equal(&b->ctx[0].ts[0], &mp_syntax_ndr20);
	assert_string_equal(mp_iface_name(&b->ctx[0].abstract), "samr");

	/* Re-encode from the parsed fields: byte-identical. */
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_pdu_encode_bind(&wb, p.hdr.ptype, p.hdr.pfc_flags, p.hdr.call_id, b);
	assert_false(wb.bad);
	assert_int_equal(wb.len, sizeof(samr_bind));
	assert_memory_equal(wb.data, samr_bind, sizeof(samr_bind));
	mp_wb_free(&wb);
}

static void test_golden_bind_ack(void **state)
{
	struct mp_pdu p;
	assert_int_equal(mp_pdu_parse(samr_bind_ack, sizeof(samr_bind_ack), &p), MP_OK);
	assert_int_equal(p.hdr.ptype, MP_PDU_BIND_ACK);
	assert_int_equal(p.hdr.frag_len, 60);
	const struct mp_pdu_bind_ack *a = &p.u.bind_ack;
	assert_int_equal(a->max_xmit, 4280);
	assert_int_equal(a->max_recv, 4280);
	assert_int_equal(a->assoc_group, 0x12f4a);
	assert_string_equal(a->sec_addr, "49154");
	assert_int_equal(a->n_results, 1);
	assert_int_equal(a->res[0].result, MP_CTX_ACCEPT);
	assert_int_equal(a->res[0].reason, 0);
	assert_syntax_equal(&a->res[0].ts, &mp_syntax_ndr20);

	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_pdu_encode_bind_ack(&wb, MP_PDU_BIND_ACK, FL, 1, a);
	assert_int_equal(wb.len, sizeof(samr_bind_ack));
	assert_memory_equal(wb.data, samr_bind_ack, sizeof(samr_bind_ack));
	mp_wb_free(&wb);
}

/* ---- round trips ---- */

static void test_bind_round_trip(void **state)
{
	struct mp_pdu_bind b = {.max_xmit = 5840, .max_recv = 5840, .assoc_group = 0x1234567, .n_ctx = 1};
	b.ctx[0].id = 3;
	b.ctx[0].n_ts = 1;
	b.ctx[0].abstract = syntax_of("exchange_emsmdb");
	b.ctx[0].ts[0] = mp_syntax_ndr20;
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_pdu_encode_bind(&wb, MP_PDU_BIND, FL | MP_PFC_CONC_MPX, 0xdeadbeef, &b);
	assert_int_equal(wb.len, 72);
	struct mp_pdu p;
	must_parse(&wb, &p);
	assert_int_equal(p.hdr.ptype, MP_PDU_BIND);
	assert_int_equal(p.hdr.pfc_flags, FL | MP_PFC_CONC_MPX);
	assert_int_equal(p.hdr.call_id, 0xdeadbeef);
	assert_bind_equal(&p.u.bind, &b);
	mp_wb_free(&wb);
}

static void test_alter_several_contexts(void **state)
{
	struct mp_syntax btfn;
	assert_int_equal(mp_uuid_parse("6cb71c2c-9812-4540-0300-000000000000", &btfn.uuid), MP_OK);
	btfn.major = 1;
	btfn.minor = 0;
	struct mp_pdu_bind b = {.max_xmit = 4280, .max_recv = 4280, .assoc_group = 77, .n_ctx = 3};
	b.ctx[0] = (struct mp_pdu_ctx){.id = 0, .n_ts = 1, .abstract = syntax_of("exchange_nsp")};
	b.ctx[0].ts[0] = mp_syntax_ndr20;
	b.ctx[1] = (struct mp_pdu_ctx){.id = 1, .n_ts = 2, .abstract = syntax_of("exchange_nsp")};
	b.ctx[1].ts[0] = mp_syntax_ndr64;
	b.ctx[1].ts[1] = mp_syntax_ndr20;
	b.ctx[2] = (struct mp_pdu_ctx){.id = 2, .n_ts = 3, .abstract = syntax_of("exchange_nsp")};
	b.ctx[2].ts[0] = btfn;
	b.ctx[2].ts[1] = mp_syntax_ndr20;
	b.ctx[2].ts[2] = mp_syntax_ndr64;
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_pdu_encode_bind(&wb, MP_PDU_ALTER, FL, 9, &b);
	/* 16 + 12 + 3 * (4 + 20) + 6 * 20 */
	assert_int_equal(wb.len, 16 + 12 + 3 * 24 + 6 * 20);
	struct mp_pdu p;
	must_parse(&wb, &p);
	assert_int_equal(p.hdr.ptype, MP_PDU_ALTER);
	assert_bind_equal(&p.u.bind, &b);
	uint16_t features;
	assert_true(mp_syntax_is_btfn(&p.u.bind.ctx[2].ts[0], &features));
	assert_int_equal(features, 3);
	mp_wb_free(&wb);
}

static void test_bind_at_capacity(void **state)
{
	/* 16 contexts x 8 transfer syntaxes: the largest bind we hold. */
	struct mp_pdu_bind b = {.max_xmit = 2048, .max_recv = 2048, .n_ctx = MP_PDU_MAX_CTX};
	for (unsigned i = 0; i < MP_PDU_MAX_CTX; i++) {
		b.ctx[i].id = (uint16_t)(i * 3);
		b.ctx[i].n_ts = MP_PDU_MAX_TS;
		b.ctx[i].abstract = syntax_of("samr");
		b.ctx[i].abstract.minor = (uint16_t)i;
		for (unsigned t = 0; t < MP_PDU_MAX_TS; t++) {
			b.ctx[i].ts[t] = mp_syntax_ndr20;
			b.ctx[i].ts[t].minor = (uint16_t)(i * 10 + t);
		}
	}
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_pdu_encode_bind(&wb, MP_PDU_BIND, FL, 1, &b);
	struct mp_pdu p;
	must_parse(&wb, &p);
	assert_bind_equal(&p.u.bind, &b);
	mp_wb_free(&wb);
}

static void test_bind_ack_secondary_address_alignment(void **state)
{
	static const char *const addrs[] = {"", "1", "13", "135", "4915", "49154", "\\PIPE\\lsass",
					    "\\pipe\\ntsvcs1"};
	for (size_t k = 0; k < sizeof(addrs) / sizeof(addrs[0]); k++) {
		struct mp_pdu_bind_ack a = {.max_xmit = 4280, .max_recv = 5840, .assoc_group = 0xabc,
					    .n_results = 3};
		strcpy(a.sec_addr, addrs[k]);
		a.res[0] = (struct mp_pdu_result){.result = MP_CTX_ACCEPT, .ts = mp_syntax_ndr20};
		a.res[1] = (struct mp_pdu_result){
			.result = MP_CTX_PROVIDER_REJECT,
			.reason = MP_REASON_TRANSFER_SYNTAXES_NOT_SUPPORTED};
		a.res[2] = (struct mp_pdu_result){.result = MP_CTX_NEGOTIATE_ACK, .reason = 3};
		struct mp_wbuf wb;
		mp_wb_init(&wb);
		mp_pdu_encode_bind_ack(&wb, MP_PDU_BIND_ACK, FL, 42, &a);
		size_t alen = strlen(addrs[k]);
		size_t port_len = alen ? alen + 1 : 0;
		assert_int_equal(mp_get_u16(wb.data + 24), port_len);
		if (alen)
			assert_memory_equal(wb.data + 26, addrs[k], alen + 1);
		/* The result list starts at the next multiple of 4 from the PDU start. */
		size_t res_off = (26 + port_len + 3) & ~(size_t)3;
		for (size_t i = 26 + port_len; i < res_off; i++)
			assert_int_equal(wb.data[i], 0);
		assert_int_equal(wb.data[res_off], 3);
		assert_int_equal(wb.len, res_off + 4 + 3 * 24);
		struct mp_pdu p;
		must_parse(&wb, &p);
		const struct mp_pdu_bind_ack *r = &p.u.bind_ack;
		assert_int_equal(r->max_xmit, 4280);
		assert_int_equal(r->max_recv, 5840);
		assert_int_equal(r->assoc_group, 0xabc);
		assert_string_equal(r->sec_addr, addrs[k]);
		assert_int_equal(r->n_results, 3);
		assert_int_equal(r->res[0].result, MP_CTX_ACCEPT);
		assert_syntax_equal(&r->res[0].ts, &mp_syntax_ndr20);
		assert_int_equal(r->res[1].result, MP_CTX_PROVIDER_REJECT);
		assert_int_equal(r->res[1].reason, MP_REASON_TRANSFER_SYNTAXES_NOT_SUPPORTED);
		assert_int_equal(r->res[2].result, MP_CTX_NEGOTIATE_ACK);
		assert_int_equal(r->res[2].reason, 3);
		mp_wb_free(&wb);
	}
}

static void test_alter_resp_round_trip(void **state)
{
	struct mp_pdu_bind_ack a = {.max_xmit = 4280, .max_recv = 4280, .assoc_group = 5,
				    .n_results = 1};
	a.res[0].ts = mp_syntax_ndr64;
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_pdu_encode_bind_ack(&wb, MP_PDU_ALTER_RESP, FL, 3, &a);
	struct mp_pdu p;
	must_parse(&wb, &p);
	assert_int_equal(p.hdr.ptype, MP_PDU_ALTER_RESP);
	assert_string_equal(p.u.bind_ack.sec_addr, "");
	assert_int_equal(p.u.bind_ack.n_results, 1);
	assert_syntax_equal(&p.u.bind_ack.res[0].ts, &mp_syntax_ndr64);
	mp_wb_free(&wb);
}

static void test_bind_ack_long_secondary_address_truncated(void **state)
{
	/* A 100-byte port_spec: kept truncated, the result list still found. */
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	size_t start = mp_pdu_begin(&wb, MP_PDU_BIND_ACK, FL, 1);
	mp_wb_u16(&wb, 4280);
	mp_wb_u16(&wb, 4280);
	mp_wb_u32(&wb, 0);
	mp_wb_u16(&wb, 100);
	for (int i = 0; i < 99; i++)
		mp_wb_u8(&wb, (uint8_t)('a' + i % 26));
	mp_wb_u8(&wb, 0);
	mp_wb_align(&wb, 4);
	mp_wb_u8(&wb, 1);
	mp_wb_zeros(&wb, 3);
	mp_wb_u16(&wb, MP_CTX_ACCEPT);
	mp_wb_u16(&wb, 0);
	mp_wb_bytes(&wb, mp_syntax_ndr20.uuid.b, 16);
	mp_wb_u16(&wb, 2);
	mp_wb_u16(&wb, 0);
	mp_pdu_finish(&wb, start, 0);
	struct mp_pdu p;
	must_parse(&wb, &p);
	assert_int_equal(strlen(p.u.bind_ack.sec_addr), sizeof(p.u.bind_ack.sec_addr) - 1);
	assert_memory_equal(p.u.bind_ack.sec_addr, "abcdefghij", 10);
	assert_int_equal(p.u.bind_ack.n_results, 1);
	assert_syntax_equal(&p.u.bind_ack.res[0].ts, &mp_syntax_ndr20);
	mp_wb_free(&wb);
}

static void test_bind_nak(void **state)
{
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_pdu_encode_bind_nak(&wb, 17, MP_NAK_PROTOCOL_VERSION_NOT_SUPPORTED);
	assert_int_equal(wb.len % 4, 0);
	struct mp_pdu p;
	must_parse(&wb, &p);
	assert_int_equal(p.hdr.ptype, MP_PDU_BIND_NAK);
	assert_int_equal(p.hdr.pfc_flags, FL);
	assert_int_equal(p.hdr.call_id, 17);
	assert_int_equal(p.u.bind_nak.reason, MP_NAK_PROTOCOL_VERSION_NOT_SUPPORTED);
	assert_int_equal(p.u.bind_nak.n_versions, 1);
	assert_int_equal(p.u.bind_nak.versions[0][0], 5);
	assert_int_equal(p.u.bind_nak.versions[0][1], 0);
	mp_wb_free(&wb);

	/* Windows may send only the reason: 18 bytes, no version list. */
	static const uint8_t short_nak[] = {0x05, 0x00, 0x0d, 0x03, 0x10, 0x00, 0x00, 0x00, 0x12,
					    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00};
	assert_int_equal(parse_copy(short_nak, sizeof(short_nak), &p), MP_OK);
	assert_int_equal(p.u.bind_nak.reason, MP_NAK_LOCAL_LIMIT_EXCEEDED);
	assert_int_equal(p.u.bind_nak.n_versions, 0);
}

static void test_request_without_object(void **state)
{
	uint8_t stub[37];
	for (size_t i = 0; i < sizeof(stub); i++)
		stub[i] = (uint8_t)(i + 1);
	struct mp_pdu_request r = {.alloc_hint = 37, .ctx_id = 2, .opnum = 11};
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_pdu_encode_request(&wb, FL, 99, &r, stub, sizeof(stub));
	assert_int_equal(wb.len, MP_PDU_REQUEST_HDR_LEN + sizeof(stub));
	struct mp_pdu p;
	must_parse(&wb, &p);
	assert_int_equal(p.hdr.ptype, MP_PDU_REQUEST);
	assert_int_equal(p.hdr.pfc_flags, FL);
	assert_int_equal(p.hdr.call_id, 99);
	assert_int_equal(p.u.request.alloc_hint, 37);
	assert_int_equal(p.u.request.ctx_id, 2);
	assert_int_equal(p.u.request.opnum, 11);
	assert_false(p.u.request.has_object);
	assert_ptr_equal(p.stub, wb.data + MP_PDU_REQUEST_HDR_LEN);
	assert_int_equal(p.stub_len, sizeof(stub));
	assert_memory_equal(p.stub, stub, sizeof(stub));
	mp_wb_free(&wb);
}

static void test_request_with_object(void **state)
{
	const uint8_t stub[] = {0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0};
	struct mp_pdu_request r = {.alloc_hint = 8, .ctx_id = 0, .opnum = 3, .has_object = true};
	assert_int_equal(mp_uuid_parse("01234567-89ab-cdef-0123-456789abcdef", &r.object), MP_OK);
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_pdu_encode_request(&wb, FL, 5, &r, stub, sizeof(stub));
	assert_int_equal(wb.len, MP_PDU_REQUEST_HDR_LEN + 16 + sizeof(stub));
	struct mp_pdu p;
	must_parse(&wb, &p);
	assert_true(p.hdr.pfc_flags & MP_PFC_OBJECT_UUID);
	assert_true(p.u.request.has_object);
	assert_memory_equal(p.u.request.object.b, r.object.b, 16);
	assert_int_equal(p.u.request.opnum, 3);
	assert_int_equal(p.stub_len, sizeof(stub));
	assert_memory_equal(p.stub, stub, sizeof(stub));
	/* The object UUID sits right after opnum, before the stub. */
	assert_memory_equal(wb.data + 24, r.object.b, 16);
	mp_wb_free(&wb);
}

static void test_request_empty_stub(void **state)
{
	struct mp_pdu_request r = {.ctx_id = 1, .opnum = 0};
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_pdu_encode_request(&wb, FL, 1, &r, NULL, 0);
	struct mp_pdu p;
	must_parse(&wb, &p);
	assert_int_equal(p.stub_len, 0);
	mp_wb_free(&wb);
}

static void test_response(void **state)
{
	uint8_t stub[100];
	memset(stub, 0x3c, sizeof(stub));
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_pdu_encode_response(&wb, MP_PFC_LAST_FRAG, 77, 1000, 4, stub, sizeof(stub));
	struct mp_pdu p;
	must_parse(&wb, &p);
	assert_int_equal(p.hdr.ptype, MP_PDU_RESPONSE);
	assert_int_equal(p.hdr.pfc_flags, MP_PFC_LAST_FRAG);
	assert_int_equal(p.hdr.call_id, 77);
	assert_int_equal(p.u.response.alloc_hint, 1000);
	assert_int_equal(p.u.response.ctx_id, 4);
	assert_int_equal(p.u.response.cancel_count, 0);
	assert_int_equal(p.stub_len, sizeof(stub));
	assert_memory_equal(p.stub, stub, sizeof(stub));
	mp_wb_free(&wb);
}

static void test_fault(void **state)
{
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_pdu_encode_fault(&wb, MP_PFC_DID_NOT_EXECUTE, 12, 3, MP_NCA_S_OP_RNG_ERROR);
	assert_int_equal(wb.len, 32);
	struct mp_pdu p;
	must_parse(&wb, &p);
	assert_int_equal(p.hdr.ptype, MP_PDU_FAULT);
	assert_int_equal(p.hdr.pfc_flags, FL | MP_PFC_DID_NOT_EXECUTE);
	assert_int_equal(p.hdr.call_id, 12);
	assert_int_equal(p.u.fault.ctx_id, 3);
	assert_int_equal(p.u.fault.status, MP_NCA_S_OP_RNG_ERROR);
	assert_int_equal(p.u.fault.alloc_hint, 0);
	assert_int_equal(p.stub_len, 0);
	assert_string_equal(mp_fault_name(p.u.fault.status), "nca_s_op_rng_error");
	mp_wb_free(&wb);
}

static void test_header_only_pdus(void **state)
{
	static const uint8_t types[] = {MP_PDU_SHUTDOWN, MP_PDU_ORPHANED, MP_PDU_CO_CANCEL};
	for (size_t i = 0; i < sizeof(types); i++) {
		struct mp_wbuf wb;
		mp_wb_init(&wb);
		mp_pdu_encode_empty(&wb, types[i], FL, 1000 + (uint32_t)i);
		assert_int_equal(wb.len, 16);
		struct mp_pdu p;
		must_parse(&wb, &p);
		assert_int_equal(p.hdr.ptype, types[i]);
		assert_int_equal(p.hdr.call_id, 1000 + i);
		assert_int_equal(p.stub_len, 0);
		mp_wb_free(&wb);
	}
}

static void test_encode_appends(void **state)
{
	/* Encoders append: two PDUs in one buffer, each with its own frag_len. */
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_pdu_encode_fault(&wb, 0, 1, 0, MP_NCA_S_PROTO_ERROR);
	mp_pdu_encode_empty(&wb, MP_PDU_SHUTDOWN, FL, 2);
	assert_int_equal(wb.len, 48);
	struct mp_pdu p;
	assert_int_equal(mp_pdu_parse(wb.data, 32, &p), MP_OK);
	assert_int_equal(p.hdr.ptype, MP_PDU_FAULT);
	assert_int_equal(mp_pdu_parse(wb.data + 32, 16, &p), MP_OK);
	assert_int_equal(p.hdr.ptype, MP_PDU_SHUTDOWN);
	mp_wb_free(&wb);
}

static void test_oversized_fragment_marks_bad(void **state)
{
	/* frag_length is 16 bits: a 70000-byte stub cannot be one fragment. */
	uint8_t *stub = calloc(1, 70000);
	assert_non_null(stub);
	struct mp_pdu_request r = {0};
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_pdu_encode_request(&wb, FL, 1, &r, stub, 70000);
	assert_true(wb.bad);
	mp_wb_free(&wb);
	free(stub);
}

/* ---- header checks ---- */

static void make_hdr(uint8_t h[16], uint16_t frag_len, uint16_t auth_len)
{
	static const uint8_t base[16] = {5, 0, 0, 3, 0x10, 0, 0, 0, 0, 0, 0, 0, 0x44, 0x33, 0x22, 0x11};
	memcpy(h, base, 16);
	mp_put_u16(h + 8, frag_len);
	mp_put_u16(h + 10, auth_len);
}

static void test_check_hdr_ok(void **state)
{
	uint8_t h[16];
	struct mp_pdu_hdr hdr;
	make_hdr(h, 100, 0);
	assert_int_equal(mp_pdu_check_hdr(h, 5840, &hdr), MP_HDR_OK);
	assert_int_equal(hdr.frag_len, 100);
	assert_int_equal(hdr.call_id, 0x11223344);
	assert_int_equal(hdr.ptype, MP_PDU_REQUEST);
	/* rpc_vers_minor 1 is fine; so are drep[2..3] (padding). */
	h[1] = 1;
	h[6] = 0xff;
	assert_int_equal(mp_pdu_check_hdr(h, 5840, &hdr), MP_HDR_OK);
	/* Boundaries: exactly 16, exactly max_frag. */
	make_hdr(h, 16, 0);
	assert_int_equal(mp_pdu_check_hdr(h, 5840, &hdr), MP_HDR_OK);
	make_hdr(h, 5840, 0);
	assert_int_equal(mp_pdu_check_hdr(h, 5840, &hdr), MP_HDR_OK);
	/* auth_len that exactly fits with its 8-byte sec_trailer. */
	make_hdr(h, 16 + 8 + 16, 16);
	assert_int_equal(mp_pdu_check_hdr(h, 5840, &hdr), MP_HDR_OK);
}

static void test_check_hdr_verdicts(void **state)
{
	uint8_t h[16];
	struct mp_pdu_hdr hdr;
	struct mp_pdu p;

	make_hdr(h, 16, 0);
	h[0] = 4;
	assert_int_equal(mp_pdu_check_hdr(h, 5840, &hdr), MP_HDR_BAD_VERSION);
	assert_int_equal(mp_pdu_parse(h, 16, &p), MP_ERR_UNSUPPORTED);
	make_hdr(h, 16, 0);
	h[1] = 2;
	assert_int_equal(mp_pdu_check_hdr(h, 5840, &hdr), MP_HDR_BAD_VERSION);

	make_hdr(h, 16, 0);
	h[4] = 0x00; /* big-endian integers */
	assert_int_equal(mp_pdu_check_hdr(h, 5840, &hdr), MP_HDR_BAD_DREP);
	assert_int_equal(mp_pdu_parse(h, 16, &p), MP_ERR_UNSUPPORTED);
	make_hdr(h, 16, 0);
	h[4] = 0x11; /* EBCDIC */
	assert_int_equal(mp_pdu_check_hdr(h, 5840, &hdr), MP_HDR_BAD_DREP);
	make_hdr(h, 16, 0);
	h[5] = 0x01; /* VAX floats */
	assert_int_equal(mp_pdu_check_hdr(h, 5840, &hdr), MP_HDR_BAD_DREP);

	make_hdr(h, 15, 0);
	assert_int_equal(mp_pdu_check_hdr(h, 5840, &hdr), MP_HDR_SHORT_FRAG);
	make_hdr(h, 0, 0);
	assert_int_equal(mp_pdu_check_hdr(h, 5840, &hdr), MP_HDR_SHORT_FRAG);

	make_hdr(h, 5841, 0);
	assert_int_equal(mp_pdu_check_hdr(h, 5840, &hdr), MP_HDR_TOO_LONG);
	make_hdr(h, 0xffff, 0);
	assert_int_equal(mp_pdu_check_hdr(h, 1432, &hdr), MP_HDR_TOO_LONG);

	make_hdr(h, 16 + 8 + 16, 17);
	assert_int_equal(mp_pdu_check_hdr(h, 5840, &hdr), MP_HDR_BAD_AUTH_LEN);
	make_hdr(h, 16, 1);
	assert_int_equal(mp_pdu_check_hdr(h, 5840, &hdr), MP_HDR_BAD_AUTH_LEN);
	make_hdr(h, 100, 0xffff);
	assert_int_equal(mp_pdu_check_hdr(h, 5840, &hdr), MP_HDR_BAD_AUTH_LEN);
}

static void test_parse_length_mismatch(void **state)
{
	struct mp_pdu p;
	uint8_t buf[32] = {0};
	make_hdr(buf, 32, 0);
	buf[2] = MP_PDU_SHUTDOWN;
	assert_int_equal(mp_pdu_parse(buf, 32, &p), MP_OK);
	/* frag_len says 32 but only 24 given, and the other way round. */
	assert_int_not_equal(mp_pdu_parse(buf, 24, &p), MP_OK);
	make_hdr(buf, 24, 0);
	buf[2] = MP_PDU_SHUTDOWN;
	assert_int_equal(mp_pdu_parse(buf, 32, &p), MP_ERR_PARSE);
	/* Fewer than 16 bytes. */
	for (size_t n = 0; n < 16; n++)
		assert_int_equal(parse_copy(buf, n, &p), MP_ERR_PARSE);
}

/* ---- auth trailer ---- */

static void test_auth_trailer_split(void **state)
{
	/* request, 13-byte stub, 3 bytes auth pad, sec_trailer, 16-byte verifier */
	const uint8_t stub[13] = "0123456789abc";
	uint8_t verifier[16];
	for (int i = 0; i < 16; i++)
		verifier[i] = (uint8_t)(0xa0 + i);
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	size_t start = mp_pdu_begin(&wb, MP_PDU_REQUEST, FL, 7);
	mp_wb_u32(&wb, 13);
	mp_wb_u16(&wb, 1);
	mp_wb_u16(&wb, 9);
	mp_wb_bytes(&wb, stub, 13);
	mp_wb_zeros(&wb, 3); /* auth pad to 16 */
	mp_wb_u8(&wb, 10);   /* RPC_C_AUTHN_WINNT */
	mp_wb_u8(&wb, 6);    /* PKT_PRIVACY */
	mp_wb_u8(&wb, 3);    /* auth_pad_length */
	mp_wb_u8(&wb, 0);
	mp_wb_u32(&wb, 0x01020304);
	mp_wb_bytes(&wb, verifier, 16);
	mp_pdu_finish(&wb, start, 16);
	assert_int_equal(wb.len, 24 + 13 + 3 + 8 + 16);

	struct mp_pdu p;
	must_parse(&wb, &p);
	assert_int_equal(p.hdr.auth_len, 16);
	assert_true(p.has_auth);
	assert_int_equal(p.auth.type, 10);
	assert_int_equal(p.auth.level, 6);
	assert_int_equal(p.auth.pad_len, 3);
	assert_int_equal(p.auth.ctx_id, 0x01020304);
	assert_ptr_equal(p.auth.value, wb.data + wb.len - 16);
	assert_memory_equal(p.auth.value, verifier, 16);
	assert_int_equal(p.u.request.opnum, 9);
	assert_int_equal(p.stub_len, 13);
	assert_memory_equal(p.stub, stub, 13);

	/* A pad longer than the stub is malformed. */
	wb.data[24 + 13 + 3 + 2] = 17;
	assert_int_equal(mp_pdu_parse(wb.data, wb.len, &p), MP_ERR_PARSE);
	mp_wb_free(&wb);
}

static void test_bind_with_auth(void **state)
{
	/* bind carrying an NTLM NEGOTIATE: contexts parse, trailer split off. */
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	size_t start = wb.len;
	mp_wb_bytes(&wb, samr_bind, sizeof(samr_bind));
	mp_wb_u8(&wb, 10);
	mp_wb_u8(&wb, 2); /* CONNECT */
	mp_wb_u8(&wb, 0);
	mp_wb_u8(&wb, 0);
	mp_wb_u32(&wb, 0);
	mp_wb_bytes(&wb, "NTLMSSP\0\1\0\0\0\x07\x82\x08\xa2", 16);
	mp_pdu_finish(&wb, start, 16);
	struct mp_pdu p;
	must_parse(&wb, &p);
	assert_true(p.has_auth);
	assert_int_equal(p.auth.type, 10);
	assert_int_equal(p.auth.level, 2);
	assert_memory_equal(p.auth.value, "NTLMSSP", 8);
	assert_int_equal(p.u.bind.n_ctx, 1);
	assert_syntax_equal(&p.u.bind.ctx[0].ts[0], &mp_syntax_ndr20);
	mp_wb_free(&wb);
}

/* ---- limits and malformed input ---- */

static void append_ctx(struct mp_wbuf *wb, uint16_t id, uint8_t n_ts)
{
	mp_wb_u16(wb, id);
	mp_wb_u8(wb, n_ts);
	mp_wb_u8(wb, 0);
	mp_wb_bytes(wb, mp_syntax_epmapper.uuid.b, 16);
	mp_wb_u32(wb, 3);
	for (unsigned t = 0; t < n_ts; t++) {
		mp_wb_bytes(wb, mp_syntax_ndr20.uuid.b, 16);
		mp_wb_u32(wb, 2);
	}
}

static void build_bind(struct mp_wbuf *wb, unsigned n_ctx, uint8_t n_ts)
{
	size_t start = mp_pdu_begin(wb, MP_PDU_BIND, FL, 1);
	mp_wb_u16(wb, 4280);
	mp_wb_u16(wb, 4280);
	mp_wb_u32(wb, 0);
	mp_wb_u8(wb, (uint8_t)n_ctx);
	mp_wb_zeros(wb, 3);
	for (unsigned i = 0; i < n_ctx; i++)
		append_ctx(wb, (uint16_t)i, n_ts);
	mp_pdu_finish(wb, start, 0);
}

static void test_bind_limits(void **state)
{
	struct mp_wbuf wb;
	struct mp_pdu p;

	mp_wb_init(&wb);
	build_bind(&wb, 16, 1);
	must_parse(&wb, &p);
	assert_int_equal(p.u.bind.n_ctx, 16);
	mp_wb_free(&wb);

	mp_wb_init(&wb);
	build_bind(&wb, 17, 1);
	assert_int_equal(mp_pdu_parse(wb.data, wb.len, &p), MP_ERR_LIMIT);
	mp_wb_free(&wb);

	mp_wb_init(&wb);
	build_bind(&wb, 2, 9);
	assert_int_equal(mp_pdu_parse(wb.data, wb.len, &p), MP_ERR_LIMIT);
	mp_wb_free(&wb);

	mp_wb_init(&wb);
	build_bind(&wb, 2, 8);
	must_parse(&wb, &p);
	mp_wb_free(&wb);

	/* A context offering no transfer syntax is malformed. */
	mp_wb_init(&wb);
	build_bind(&wb, 1, 0);
	assert_int_equal(mp_pdu_parse(wb.data, wb.len, &p), MP_ERR_PARSE);
	mp_wb_free(&wb);

	/* A bind with no contexts at all still parses (the server then naks). */
	mp_wb_init(&wb);
	build_bind(&wb, 0, 0);
	must_parse(&wb, &p);
	assert_int_equal(p.u.bind.n_ctx, 0);
	mp_wb_free(&wb);
}

static void test_bind_ack_too_many_results(void **state)
{
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	size_t start = mp_pdu_begin(&wb, MP_PDU_BIND_ACK, FL, 1);
	mp_wb_u16(&wb, 4280);
	mp_wb_u16(&wb, 4280);
	mp_wb_u32(&wb, 0);
	mp_wb_u16(&wb, 0);
	mp_wb_align(&wb, 4);
	mp_wb_u8(&wb, 17);
	mp_wb_zeros(&wb, 3);
	mp_wb_zeros(&wb, 17 * 24);
	mp_pdu_finish(&wb, start, 0);
	struct mp_pdu p;
	assert_int_equal(mp_pdu_parse(wb.data, wb.len, &p), MP_ERR_LIMIT);
	mp_wb_free(&wb);
}

static void test_unknown_ptype(void **state)
{
	static const uint8_t types[] = {MP_PDU_PING, MP_PDU_WORKING, MP_PDU_NOCALL, MP_PDU_ACK,
					MP_PDU_FACK, 21, 100, 255};
	for (size_t i = 0; i < sizeof(types); i++) {
		uint8_t buf[64] = {0};
		make_hdr(buf, 64, 0);
		buf[2] = types[i];
		struct mp_pdu p;
		if (mp_pdu_parse(buf, 64, &p) != MP_ERR_PROTO)
			fail_msg("ptype %u not refused with MP_ERR_PROTO", types[i]);
	}
	assert_string_equal(mp_pdu_type_name(MP_PDU_BIND), "bind");
	assert_string_equal(mp_pdu_type_name(MP_PDU_ALTER_RESP), "alter_context_resp");
	assert_string_equal(mp_pdu_type_name(200), "unknown");
}

/*
 * Cut a valid PDU at every length, fix frag_len to match, and parse the
 * piece from an exactly sized heap block. Below `min_ok` the body is
 * incomplete and must be MP_ERR_PARSE; from there on (types whose tail is
 * an opaque stub) the parse succeeds with a shorter stub.
 */
static void truncate_everywhere(const uint8_t *pdu, size_t len, size_t min_ok, size_t hdr_end)
{
	uint8_t *cut = malloc(len);
	assert_non_null(cut);
	for (size_t n = 0; n < len; n++) {
		memcpy(cut, pdu, n);
		if (n >= 10)
			mp_put_u16(cut + 8, (uint16_t)n);
		struct mp_pdu p;
		int rc = parse_copy(cut, n, &p);
		if (n < min_ok) {
			if (rc != MP_ERR_PARSE)
				fail_msg("ptype %u cut to %zu/%zu bytes: %s, expected MP_ERR_PARSE",
					 pdu[2], n, len, mp_status_name(rc));
		} else {
			if (rc != MP_OK)
				fail_msg("ptype %u cut to %zu/%zu bytes: %s, expected MP_OK", pdu[2],
					 n, len, mp_status_name(rc));
			assert_int_equal(p.stub_len, n - hdr_end);
		}
	}
	free(cut);
}

static void test_truncated_bodies(void **state)
{
	struct mp_wbuf wb;

	/* bind, alter: every cut is malformed */
	mp_wb_init(&wb);
	build_bind(&wb, 3, 2);
	truncate_everywhere(wb.data, wb.len, SIZE_MAX, 0);
	wb.data[2] = MP_PDU_ALTER;
	truncate_everywhere(wb.data, wb.len, SIZE_MAX, 0);
	mp_wb_free(&wb);
	truncate_everywhere(samr_bind, sizeof(samr_bind), SIZE_MAX, 0);

	/* bind_ack, alter_resp */
	struct mp_pdu_bind_ack a = {.max_xmit = 4280, .max_recv = 4280, .n_results = 2};
	strcpy(a.sec_addr, "135");
	a.res[0].ts = mp_syntax_ndr20;
	a.res[1].result = MP_CTX_PROVIDER_REJECT;
	mp_wb_init(&wb);
	mp_pdu_encode_bind_ack(&wb, MP_PDU_BIND_ACK, FL, 1, &a);
	truncate_everywhere(wb.data, wb.len, SIZE_MAX, 0);
	wb.data[2] = MP_PDU_ALTER_RESP;
	truncate_everywhere(wb.data, wb.len, SIZE_MAX, 0);
	mp_wb_free(&wb);

	/* bind_nak: the reason is required, the version list optional */
	mp_wb_init(&wb);
	mp_pdu_encode_bind_nak(&wb, 1, MP_NAK_NOT_SPECIFIED);
	for (size_t n = 0; n < wb.len; n++) {
		uint8_t cut[64];
		memcpy(cut, wb.data, n);
		if (n >= 10)
			mp_put_u16(cut + 8, (uint16_t)n);
		struct mp_pdu p;
		int rc = parse_copy(cut, n, &p);
		assert_int_equal(rc, n < 18 ? MP_ERR_PARSE : MP_OK);
	}
	mp_wb_free(&wb);

	/* fault: fixed 32-byte body */
	mp_wb_init(&wb);
	mp_pdu_encode_fault(&wb, 0, 1, 0, MP_NCA_S_PROTO_ERROR);
	truncate_everywhere(wb.data, wb.len, SIZE_MAX, 0);
	mp_wb_free(&wb);

	/* request, response: header required, the stub may be any length */
	uint8_t stub[40];
	memset(stub, 0x77, sizeof(stub));
	struct mp_pdu_request r = {.alloc_hint = 40, .ctx_id = 1, .opnum = 2};
	mp_wb_init(&wb);
	mp_pdu_encode_request(&wb, FL, 1, &r, stub, sizeof(stub));
	truncate_everywhere(wb.data, wb.len, 24, 24);
	mp_wb_free(&wb);
	r.has_object = true;
	memset(r.object.b, 0x42, 16);
	mp_wb_init(&wb);
	mp_pdu_encode_request(&wb, FL, 1, &r, stub, sizeof(stub));
	truncate_everywhere(wb.data, wb.len, 40, 40);
	mp_wb_free(&wb);
	mp_wb_init(&wb);
	mp_pdu_encode_response(&wb, FL, 1, 40, 1, stub, sizeof(stub));
	truncate_everywhere(wb.data, wb.len, 24, 24);
	mp_wb_free(&wb);

	/* auth3: 4 bytes of pad, then the trailer */
	uint8_t auth3[20] = {0};
	make_hdr(auth3, 20, 0);
	auth3[2] = MP_PDU_AUTH3;
	truncate_everywhere(auth3, sizeof(auth3), 20, 20);
}

static void test_truncated_with_auth_never_crashes(void **state)
{
	/* Cut an authenticated request anywhere, keeping auth_len: whatever the
	 * verdict, the parser must not read outside the piece. */
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	size_t start = mp_pdu_begin(&wb, MP_PDU_REQUEST, FL, 7);
	mp_wb_u32(&wb, 8);
	mp_wb_u16(&wb, 0);
	mp_wb_u16(&wb, 0);
	mp_wb_zeros(&wb, 8);
	mp_wb_u8(&wb, 10);
	mp_wb_u8(&wb, 5);
	mp_wb_u8(&wb, 0);
	mp_wb_u8(&wb, 0);
	mp_wb_u32(&wb, 0);
	mp_wb_zeros(&wb, 16);
	mp_pdu_finish(&wb, start, 16);
	for (size_t n = 0; n < wb.len; n++) {
		uint8_t cut[128];
		memcpy(cut, wb.data, n);
		if (n >= 10)
			mp_put_u16(cut + 8, (uint16_t)n);
		uint8_t *heap = malloc(n ? n : 1);
		assert_non_null(heap);
		memcpy(heap, cut, n);
		struct mp_pdu p;
		if (mp_pdu_parse(heap, n, &p) == MP_OK) {
			/* Whatever was accepted lies inside the piece, stub before trailer. */
			assert_true(p.has_auth);
			assert_ptr_equal(p.auth.value + p.hdr.auth_len, heap + n);
			assert_true(p.stub >= heap + MP_PDU_REQUEST_HDR_LEN);
			assert_true(p.stub + p.stub_len + p.auth.pad_len + MP_PDU_SEC_TRAILER_LEN <=
				    p.auth.value);
		}
		free(heap);
	}
	mp_wb_free(&wb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_samr_bind),
		cmocka_unit_test(test_golden_bind_ack),
		cmocka_unit_test(test_bind_round_trip),
		cmocka_unit_test(test_alter_several_contexts),
		cmocka_unit_test(test_bind_at_capacity),
		cmocka_unit_test(test_bind_ack_secondary_address_alignment),
		cmocka_unit_test(test_alter_resp_round_trip),
		cmocka_unit_test(test_bind_ack_long_secondary_address_truncated),
		cmocka_unit_test(test_bind_nak),
		cmocka_unit_test(test_request_without_object),
		cmocka_unit_test(test_request_with_object),
		cmocka_unit_test(test_request_empty_stub),
		cmocka_unit_test(test_response),
		cmocka_unit_test(test_fault),
		cmocka_unit_test(test_header_only_pdus),
		cmocka_unit_test(test_encode_appends),
		cmocka_unit_test(test_oversized_fragment_marks_bad),
		cmocka_unit_test(test_check_hdr_ok),
		cmocka_unit_test(test_check_hdr_verdicts),
		cmocka_unit_test(test_parse_length_mismatch),
		cmocka_unit_test(test_auth_trailer_split),
		cmocka_unit_test(test_bind_with_auth),
		cmocka_unit_test(test_bind_limits),
		cmocka_unit_test(test_bind_ack_too_many_results),
		cmocka_unit_test(test_unknown_ptype),
		cmocka_unit_test(test_truncated_bodies),
		cmocka_unit_test(test_truncated_with_auth_never_crashes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
