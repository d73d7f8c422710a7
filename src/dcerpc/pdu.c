#include "dcerpc/pdu.h"

#include "util/status.h"

#include <string.h>

const char *mp_pdu_type_name(unsigned ptype)
{
	switch (ptype) {
#define MP_PDU_NAME(name, val, str)                                                                \
	case val:                                                                                  \
		return str;
		MP_PDU_TYPES(MP_PDU_NAME)
#undef MP_PDU_NAME
	}
	return "unknown";
}

const char *mp_fault_name(uint32_t status)
{
	switch (status) {
	case MP_FAULT_ACCESS_DENIED: return "access_denied";
	case MP_FAULT_NDR: return "nca_s_fault_ndr";
	case MP_FAULT_SEC_PKG_ERROR: return "sec_pkg_error";
	case MP_FAULT_CANT_PERFORM: return "cant_perform";
	case MP_NCA_S_COMM_FAILURE: return "nca_s_comm_failure";
	case MP_NCA_S_OP_RNG_ERROR: return "nca_s_op_rng_error";
	case MP_NCA_S_UNKNOWN_IF: return "nca_s_unk_if";
	case MP_NCA_S_PROTO_ERROR: return "nca_s_proto_error";
	case MP_NCA_S_OUT_ARGS_TOO_BIG: return "nca_s_out_args_too_big";
	case MP_NCA_S_SERVER_TOO_BUSY: return "nca_s_server_too_busy";
	case MP_NCA_S_UNSUPPORTED_TYPE: return "nca_s_unsupported_type";
	}
	return "unknown";
}

enum mp_hdr_verdict mp_pdu_check_hdr(const uint8_t h[MP_PDU_HDR_LEN], size_t max_frag,
				     struct mp_pdu_hdr *out)
{
	out->vers = h[0];
	out->vers_minor = h[1];
	out->ptype = h[2];
	out->pfc_flags = h[3];
	memcpy(out->drep, h + 4, 4);
	out->frag_len = mp_get_u16(h + 8);
	out->auth_len = mp_get_u16(h + 10);
	out->call_id = mp_get_u32(h + 12);

	if (out->vers != 5 || out->vers_minor > 1)
		return MP_HDR_BAD_VERSION;
	/* drep[0]: high nibble integer rep (1 = little-endian), low nibble char
	 * rep (0 = ASCII); drep[1]: float rep (0 = IEEE). */
	if (out->drep[0] != 0x10 || out->drep[1] != 0)
		return MP_HDR_BAD_DREP;
	if (out->frag_len < MP_PDU_HDR_LEN)
		return MP_HDR_SHORT_FRAG;
	if (out->frag_len > max_frag)
		return MP_HDR_TOO_LONG;
	if (out->auth_len &&
	    (size_t)out->auth_len + MP_PDU_SEC_TRAILER_LEN > (size_t)out->frag_len - MP_PDU_HDR_LEN)
		return MP_HDR_BAD_AUTH_LEN;
	return MP_HDR_OK;
}

static void read_syntax(struct mp_rcursor *rc, struct mp_syntax *s)
{
	const uint8_t *p = mp_rc_take(rc, 16);
	if (p)
		memcpy(s->uuid.b, p, 16);
	s->major = mp_rc_u16(rc);
	s->minor = mp_rc_u16(rc);
}

static void write_syntax(struct mp_wbuf *wb, const struct mp_syntax *s)
{
	mp_wb_bytes(wb, s->uuid.b, 16);
	mp_wb_u16(wb, s->major);
	mp_wb_u16(wb, s->minor);
}

static int parse_bind(struct mp_rcursor *rc, struct mp_pdu_bind *b)
{
	b->max_xmit = mp_rc_u16(rc);
	b->max_recv = mp_rc_u16(rc);
	b->assoc_group = mp_rc_u32(rc);
	b->n_ctx = mp_rc_u8(rc);
	mp_rc_skip(rc, 3);
	if (rc->bad)
		return MP_ERR_PARSE;
	if (b->n_ctx > MP_PDU_MAX_CTX)
		return MP_ERR_LIMIT;
	for (unsigned i = 0; i < b->n_ctx; i++) {
		struct mp_pdu_ctx *c = &b->ctx[i];
		c->id = mp_rc_u16(rc);
		c->n_ts = mp_rc_u8(rc);
		mp_rc_skip(rc, 1);
		read_syntax(rc, &c->abstract);
		if (rc->bad)
			return MP_ERR_PARSE;
		if (c->n_ts == 0)
			return MP_ERR_PARSE;
		if (c->n_ts > MP_PDU_MAX_TS)
			return MP_ERR_LIMIT;
		for (unsigned t = 0; t < c->n_ts; t++)
			read_syntax(rc, &c->ts[t]);
	}
	return rc->bad ? MP_ERR_PARSE : MP_OK;
}

static int parse_bind_ack(struct mp_rcursor *rc, struct mp_pdu_bind_ack *a)
{
	a->max_xmit = mp_rc_u16(rc);
	a->max_recv = mp_rc_u16(rc);
	a->assoc_group = mp_rc_u32(rc);
	uint16_t addr_len = mp_rc_u16(rc);
	const uint8_t *addr = mp_rc_take(rc, addr_len);
	if (rc->bad)
		return MP_ERR_PARSE;
	size_t n = addr_len < sizeof(a->sec_addr) ? addr_len : sizeof(a->sec_addr) - 1;
	memcpy(a->sec_addr, addr, n);
	a->sec_addr[n] = '\0';
	/* The result list is 4-aligned relative to the start of the PDU; the
	 * cursor window starts at the PDU so its offset is the PDU offset. */
	mp_rc_align(rc, 4);
	a->n_results = mp_rc_u8(rc);
	mp_rc_skip(rc, 3);
	if (rc->bad)
		return MP_ERR_PARSE;
	if (a->n_results > MP_PDU_MAX_CTX)
		return MP_ERR_LIMIT;
	for (unsigned i = 0; i < a->n_results; i++) {
		a->res[i].result = mp_rc_u16(rc);
		a->res[i].reason = mp_rc_u16(rc);
		read_syntax(rc, &a->res[i].ts);
	}
	return rc->bad ? MP_ERR_PARSE : MP_OK;
}

int mp_pdu_parse(const uint8_t *buf, size_t len, struct mp_pdu *out)
{
	memset(out, 0, sizeof(*out));
	if (len < MP_PDU_HDR_LEN)
		return MP_ERR_PARSE;
	if (mp_pdu_check_hdr(buf, len, &out->hdr) != MP_HDR_OK)
		return MP_ERR_UNSUPPORTED;
	if (out->hdr.frag_len != len)
		return MP_ERR_PARSE;

	/* Split off the authentication trailer: sec_trailer + auth_value at the end. */
	size_t body_end = len;
	if (out->hdr.auth_len) {
		size_t trailer = MP_PDU_SEC_TRAILER_LEN + out->hdr.auth_len;
		const uint8_t *t = buf + len - trailer;
		out->has_auth = true;
		out->auth.type = t[0];
		out->auth.level = t[1];
		out->auth.pad_len = t[2];
		out->auth.reserved = t[3];
		out->auth.ctx_id = mp_get_u32(t + 4);
		out->auth.value = t + MP_PDU_SEC_TRAILER_LEN;
		body_end = len - trailer;
	}

	struct mp_rcursor rc;
	mp_rc_init(&rc, buf, body_end);
	mp_rc_skip(&rc, MP_PDU_HDR_LEN);
	int status = MP_OK;
	size_t hdr_end;

	switch (out->hdr.ptype) {
	case MP_PDU_BIND:
	case MP_PDU_ALTER:
		return parse_bind(&rc, &out->u.bind);
	case MP_PDU_BIND_ACK:
	case MP_PDU_ALTER_RESP:
		return parse_bind_ack(&rc, &out->u.bind_ack);
	case MP_PDU_BIND_NAK: {
		struct mp_pdu_bind_nak *n = &out->u.bind_nak;
		n->reason = mp_rc_u16(&rc);
		/* The version list is optional in practice (Windows may omit it). */
		if (mp_rc_left(&rc) >= 1) {
			uint8_t count = mp_rc_u8(&rc);
			for (unsigned i = 0; i < count && mp_rc_left(&rc) >= 2; i++) {
				uint8_t maj = mp_rc_u8(&rc), min = mp_rc_u8(&rc);
				if (i < 4) {
					n->versions[i][0] = maj;
					n->versions[i][1] = min;
					n->n_versions = (uint8_t)(i + 1);
				}
			}
		}
		return rc.bad ? MP_ERR_PARSE : MP_OK;
	}
	case MP_PDU_REQUEST: {
		struct mp_pdu_request *r = &out->u.request;
		r->alloc_hint = mp_rc_u32(&rc);
		r->ctx_id = mp_rc_u16(&rc);
		r->opnum = mp_rc_u16(&rc);
		if (out->hdr.pfc_flags & MP_PFC_OBJECT_UUID) {
			const uint8_t *o = mp_rc_take(&rc, 16);
			if (o) {
				r->has_object = true;
				memcpy(r->object.b, o, 16);
			}
		}
		break;
	}
	case MP_PDU_RESPONSE: {
		struct mp_pdu_response *r = &out->u.response;
		r->alloc_hint = mp_rc_u32(&rc);
		r->ctx_id = mp_rc_u16(&rc);
		r->cancel_count = mp_rc_u8(&rc);
		mp_rc_skip(&rc, 1);
		break;
	}
	case MP_PDU_FAULT: {
		struct mp_pdu_fault *f = &out->u.fault;
		f->alloc_hint = mp_rc_u32(&rc);
		f->ctx_id = mp_rc_u16(&rc);
		f->cancel_count = mp_rc_u8(&rc);
		f->flags = mp_rc_u8(&rc);
		f->status = mp_rc_u32(&rc);
		mp_rc_skip(&rc, 4);
		break;
	}
	case MP_PDU_AUTH3:
		mp_rc_skip(&rc, 4); /* pad */
		break;
	case MP_PDU_SHUTDOWN:
	case MP_PDU_CO_CANCEL:
	case MP_PDU_ORPHANED:
		break;
	default:
		/* Connectionless or unknown types have no place on a CO association. */
		return MP_ERR_PROTO;
	}
	if (rc.bad)
		return MP_ERR_PARSE;
	hdr_end = rc.off;
	out->stub = buf + hdr_end;
	out->stub_len = body_end - hdr_end;
	/* The auth pad belongs to the trailer, not to the stub. */
	if (out->has_auth) {
		if (out->auth.pad_len > out->stub_len)
			return MP_ERR_PARSE;
		out->stub_len -= out->auth.pad_len;
	}
	return status;
}

size_t mp_pdu_begin(struct mp_wbuf *wb, uint8_t ptype, uint8_t flags, uint32_t call_id)
{
	size_t start = wb->len;
	mp_wb_u8(wb, 5);
	mp_wb_u8(wb, 0);
	mp_wb_u8(wb, ptype);
	mp_wb_u8(wb, flags);
	mp_wb_u32(wb, 0x00000010); /* drep: little-endian, ASCII, IEEE */
	mp_wb_u16(wb, 0);          /* frag_length, patched by mp_pdu_finish */
	mp_wb_u16(wb, 0);          /* auth_length */
	mp_wb_u32(wb, call_id);
	return start;
}

void mp_pdu_finish(struct mp_wbuf *wb, size_t start, uint16_t auth_len)
{
	size_t frag = wb->len - start;
	if (frag > 0xffff) {
		wb->bad = true;
		return;
	}
	mp_wb_put_u16_at(wb, start + 8, (uint16_t)frag);
	mp_wb_put_u16_at(wb, start + 10, auth_len);
}

void mp_pdu_encode_bind(struct mp_wbuf *wb, uint8_t ptype, uint8_t flags, uint32_t call_id,
			const struct mp_pdu_bind *b)
{
	size_t start = mp_pdu_begin(wb, ptype, flags, call_id);
	mp_wb_u16(wb, b->max_xmit);
	mp_wb_u16(wb, b->max_recv);
	mp_wb_u32(wb, b->assoc_group);
	mp_wb_u8(wb, b->n_ctx);
	mp_wb_zeros(wb, 3);
	for (unsigned i = 0; i < b->n_ctx; i++) {
		const struct mp_pdu_ctx *c = &b->ctx[i];
		mp_wb_u16(wb, c->id);
		mp_wb_u8(wb, c->n_ts);
		mp_wb_u8(wb, 0);
		write_syntax(wb, &c->abstract);
		for (unsigned t = 0; t < c->n_ts; t++)
			write_syntax(wb, &c->ts[t]);
	}
	mp_pdu_finish(wb, start, 0);
}

void mp_pdu_encode_bind_ack(struct mp_wbuf *wb, uint8_t ptype, uint8_t flags, uint32_t call_id,
			    const struct mp_pdu_bind_ack *a)
{
	size_t start = mp_pdu_begin(wb, ptype, flags, call_id);
	mp_wb_u16(wb, a->max_xmit);
	mp_wb_u16(wb, a->max_recv);
	mp_wb_u32(wb, a->assoc_group);
	size_t addr_len = strlen(a->sec_addr);
	/* The port_spec carries its terminating NUL; an empty address is length 0. */
	mp_wb_u16(wb, (uint16_t)(addr_len ? addr_len + 1 : 0));
	if (addr_len)
		mp_wb_bytes(wb, a->sec_addr, addr_len + 1);
	while ((wb->len - start) % 4)
		mp_wb_u8(wb, 0);
	mp_wb_u8(wb, a->n_results);
	mp_wb_zeros(wb, 3);
	for (unsigned i = 0; i < a->n_results; i++) {
		mp_wb_u16(wb, a->res[i].result);
		mp_wb_u16(wb, a->res[i].reason);
		write_syntax(wb, &a->res[i].ts);
	}
	mp_pdu_finish(wb, start, 0);
}

void mp_pdu_encode_bind_nak(struct mp_wbuf *wb, uint32_t call_id, uint16_t reason)
{
	size_t start = mp_pdu_begin(wb, MP_PDU_BIND_NAK, MP_PFC_FIRST_FRAG | MP_PFC_LAST_FRAG,
				    call_id);
	mp_wb_u16(wb, reason);
	/* Supported protocol versions: 5.0 (C706 12.6.4.7). */
	mp_wb_u8(wb, 1);
	mp_wb_u8(wb, 5);
	mp_wb_u8(wb, 0);
	mp_wb_align(wb, 4);
	mp_pdu_finish(wb, start, 0);
}

void mp_pdu_encode_fault(struct mp_wbuf *wb, uint8_t flags, uint32_t call_id, uint16_t ctx_id,
			 uint32_t status)
{
	size_t start = mp_pdu_begin(wb, MP_PDU_FAULT,
				    (uint8_t)(MP_PFC_FIRST_FRAG | MP_PFC_LAST_FRAG | flags), call_id);
	mp_wb_u32(wb, 0); /* alloc_hint */
	mp_wb_u16(wb, ctx_id);
	mp_wb_u8(wb, 0); /* cancel_count */
	mp_wb_u8(wb, 0); /* reserved */
	mp_wb_u32(wb, status);
	mp_wb_u32(wb, 0); /* reserved */
	mp_pdu_finish(wb, start, 0);
}

void mp_pdu_encode_request(struct mp_wbuf *wb, uint8_t flags, uint32_t call_id,
			   const struct mp_pdu_request *r, const void *stub, size_t len)
{
	if (r->has_object)
		flags |= MP_PFC_OBJECT_UUID;
	size_t start = mp_pdu_begin(wb, MP_PDU_REQUEST, flags, call_id);
	mp_wb_u32(wb, r->alloc_hint);
	mp_wb_u16(wb, r->ctx_id);
	mp_wb_u16(wb, r->opnum);
	if (r->has_object)
		mp_wb_bytes(wb, r->object.b, 16);
	mp_wb_bytes(wb, stub, len);
	mp_pdu_finish(wb, start, 0);
}

void mp_pdu_encode_response(struct mp_wbuf *wb, uint8_t flags, uint32_t call_id, uint32_t alloc_hint,
			    uint16_t ctx_id, const void *stub, size_t len)
{
	size_t start = mp_pdu_begin(wb, MP_PDU_RESPONSE, flags, call_id);
	mp_wb_u32(wb, alloc_hint);
	mp_wb_u16(wb, ctx_id);
	mp_wb_u8(wb, 0);
	mp_wb_u8(wb, 0);
	mp_wb_bytes(wb, stub, len);
	mp_pdu_finish(wb, start, 0);
}

void mp_pdu_encode_empty(struct mp_wbuf *wb, uint8_t ptype, uint8_t flags, uint32_t call_id)
{
	size_t start = mp_pdu_begin(wb, ptype, flags, call_id);
	mp_pdu_finish(wb, start, 0);
}

/* Stub bytes per fragment: NDR requires 8-byte multiples except in the last. */
static size_t frag_payload(size_t max_frag, size_t hdr_len)
{
	size_t room = max_frag > hdr_len ? max_frag - hdr_len : 8;
	room &= ~(size_t)7;
	return room ? room : 8;
}

void mp_pdu_encode_request_frags(struct mp_wbuf *wb, uint32_t call_id,
				 const struct mp_pdu_request *r, const uint8_t *stub, size_t len,
				 size_t max_frag)
{
	size_t hdr_len = MP_PDU_REQUEST_HDR_LEN + (r->has_object ? 16 : 0);
	size_t room = frag_payload(max_frag, hdr_len);
	size_t off = 0;
	struct mp_pdu_request fr = *r;
	do {
		size_t n = len - off < room ? len - off : room;
		uint8_t flags = 0;
		if (off == 0)
			flags |= MP_PFC_FIRST_FRAG;
		if (off + n == len)
			flags |= MP_PFC_LAST_FRAG;
		fr.alloc_hint = (uint32_t)(len - off);
		mp_pdu_encode_request(wb, flags, call_id, &fr, len ? stub + off : stub, n);
		off += n;
	} while (off < len);
}

void mp_pdu_encode_response_frags(struct mp_wbuf *wb, uint32_t call_id, uint16_t ctx_id,
				  const uint8_t *stub, size_t len, size_t max_frag)
{
	size_t room = frag_payload(max_frag, MP_PDU_RESPONSE_HDR_LEN);
	size_t off = 0;
	do {
		size_t n = len - off < room ? len - off : room;
		uint8_t flags = 0;
		if (off == 0)
			flags |= MP_PFC_FIRST_FRAG;
		if (off + n == len)
			flags |= MP_PFC_LAST_FRAG;
		mp_pdu_encode_response(wb, flags, call_id, (uint32_t)(len - off), ctx_id,
				       len ? stub + off : stub, n);
		off += n;
	} while (off < len);
}
