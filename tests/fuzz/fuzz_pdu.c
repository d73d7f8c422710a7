/*
 * libFuzzer target: mp_pdu_parse on arbitrary bytes.
 *
 * Each input is parsed twice: as given (frag_len must match the length) and
 * with frag_len patched to the input length, so the fuzzer reaches the body
 * parsers without having to guess the length field. Properties checked:
 *   - pointers in the result stay inside the input;
 *   - a parsed bind/alter (and bind_ack/alter_resp, request, response)
 *     re-encodes to a PDU that parses back to the same fields.
 */
#include "dcerpc/pdu.h"
#include "util/status.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static bool syntax_eq(const struct mp_syntax *a, const struct mp_syntax *b)
{
	return memcmp(a->uuid.b, b->uuid.b, 16) == 0 && a->major == b->major &&
	       a->minor == b->minor;
}

static void check_bind_round_trip(const struct mp_pdu *p)
{
	const struct mp_pdu_bind *b = &p->u.bind;
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_pdu_encode_bind(&wb, p->hdr.ptype, p->hdr.pfc_flags, p->hdr.call_id, b);
	check(!wb.bad);
	struct mp_pdu q;
	check(mp_pdu_parse(wb.data, wb.len, &q) == MP_OK);
	const struct mp_pdu_bind *c = &q.u.bind;
	check(q.hdr.ptype == p->hdr.ptype && q.hdr.call_id == p->hdr.call_id);
	check(q.hdr.pfc_flags == p->hdr.pfc_flags);
	check(c->max_xmit == b->max_xmit && c->max_recv == b->max_recv);
	check(c->assoc_group == b->assoc_group && c->n_ctx == b->n_ctx);
	for (unsigned i = 0; i < b->n_ctx; i++) {
		check(c->ctx[i].id == b->ctx[i].id && c->ctx[i].n_ts == b->ctx[i].n_ts);
		check(syntax_eq(&c->ctx[i].abstract, &b->ctx[i].abstract));
		for (unsigned t = 0; t < b->ctx[i].n_ts; t++)
			check(syntax_eq(&c->ctx[i].ts[t], &b->ctx[i].ts[t]));
	}
	mp_wb_free(&wb);
}

static void check_bind_ack_round_trip(const struct mp_pdu *p)
{
	const struct mp_pdu_bind_ack *a = &p->u.bind_ack;
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_pdu_encode_bind_ack(&wb, p->hdr.ptype, p->hdr.pfc_flags, p->hdr.call_id, a);
	check(!wb.bad);
	struct mp_pdu q;
	check(mp_pdu_parse(wb.data, wb.len, &q) == MP_OK);
	const struct mp_pdu_bind_ack *c = &q.u.bind_ack;
	check(c->max_xmit == a->max_xmit && c->max_recv == a->max_recv);
	check(c->assoc_group == a->assoc_group);
	check(strcmp(c->sec_addr, a->sec_addr) == 0);
	check(c->n_results == a->n_results);
	for (unsigned i = 0; i < a->n_results; i++) {
		check(c->res[i].result == a->res[i].result && c->res[i].reason == a->res[i].reason);
		check(syntax_eq(&c->res[i].ts, &a->res[i].ts));
	}
	mp_wb_free(&wb);
}

static void check_call_round_trip(const struct mp_pdu *p)
{
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	if (p->hdr.ptype == MP_PDU_REQUEST)
		mp_pdu_encode_request(&wb, p->hdr.pfc_flags, p->hdr.call_id, &p->u.request, p->stub,
				      p->stub_len);
	else
		mp_pdu_encode_response(&wb, p->hdr.pfc_flags, p->hdr.call_id,
				       p->u.response.alloc_hint, p->u.response.ctx_id, p->stub,
				       p->stub_len);
	check(!wb.bad);
	struct mp_pdu q;
	check(mp_pdu_parse(wb.data, wb.len, &q) == MP_OK);
	check(q.stub_len == p->stub_len);
	check(p->stub_len == 0 || memcmp(q.stub, p->stub, p->stub_len) == 0);
	if (p->hdr.ptype == MP_PDU_REQUEST) {
		check(q.u.request.alloc_hint == p->u.request.alloc_hint);
		check(q.u.request.ctx_id == p->u.request.ctx_id);
		check(q.u.request.opnum == p->u.request.opnum);
		check(q.u.request.has_object == p->u.request.has_object);
		check(memcmp(q.u.request.object.b, p->u.request.object.b, 16) == 0);
	} else {
		check(q.u.response.alloc_hint == p->u.response.alloc_hint);
		check(q.u.response.ctx_id == p->u.response.ctx_id);
	}
	mp_wb_free(&wb);
}

static void one(const uint8_t *buf, size_t len)
{
	struct mp_pdu p;
	int rc = mp_pdu_parse(buf, len, &p);
	if (rc != MP_OK)
		return;
	check(p.hdr.frag_len == len);
	check(p.stub >= buf + MP_PDU_HDR_LEN || p.stub == NULL);
	if (p.stub) {
		check(p.stub_len <= len);
		check(p.stub + p.stub_len <= buf + len);
	}
	if (p.has_auth) {
		check(p.auth.value + p.hdr.auth_len == buf + len);
		check(!p.stub || p.stub + p.stub_len <= p.auth.value);
	}
	mp_pdu_type_name(p.hdr.ptype);
	switch (p.hdr.ptype) {
	case MP_PDU_BIND:
	case MP_PDU_ALTER:
		check(p.u.bind.n_ctx <= MP_PDU_MAX_CTX);
		check_bind_round_trip(&p);
		break;
	case MP_PDU_BIND_ACK:
	case MP_PDU_ALTER_RESP:
		check(p.u.bind_ack.n_results <= MP_PDU_MAX_CTX);
		check_bind_ack_round_trip(&p);
		break;
	case MP_PDU_REQUEST:
	case MP_PDU_RESPONSE:
		check_call_round_trip(&p);
		break;
	case MP_PDU_FAULT:
		mp_fault_name(p.u.fault.status);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 0xffff)
		return 0;
	/* As given, from an exact-size heap copy (so ASan sees over-reads). */
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	one(buf, size);
	if (size >= MP_PDU_HDR_LEN) {
		struct mp_pdu_hdr h;
		(void)mp_pdu_check_hdr(buf, 5840, &h);
		/* With frag_len fixed to the real length. */
		mp_put_u16(buf + 8, (uint16_t)size);
		one(buf, size);
	}
	free(buf);
	return 0;
}
