/*
 * DCE/RPC connection-oriented security layer: see sec.h for what is signed,
 * what is sealed and which fault answers which failure.
 *
 * Behaviour references (facts, not code): Samba librpc/rpc/dcerpc_pkt_auth.c
 * (dcerpc_ncacn_pull_pkt_auth, dcerpc_ncacn_push_pkt_auth),
 * librpc/rpc/dcerpc_util.c (dcerpc_pull_auth_trailer, dcerpc_ncacn_push_auth),
 * librpc/rpc/dcesrv_auth.c (dcesrv_auth_pkt_pull), librpc/rpc/dcesrv_core.c,
 * source3/librpc/rpc/dcerpc_helpers.c (dcerpc_guess_sizes); impacket
 * dcerpc/v5/rpcrt.py (DCERPC_v5._transport_send, bind).
 */
#include "dcerpc/sec.h"

#include "auth/ntlmssp.h"
#include "util/status.h"

#include <string.h>

const char *mp_auth_type_name(unsigned type)
{
	switch (type) {
	case MP_AUTH_TYPE_NONE: return "none";
	case MP_AUTH_TYPE_SPNEGO: return "spnego";
	case MP_AUTH_TYPE_NTLMSSP: return "ntlmssp";
	case MP_AUTH_TYPE_KRB5: return "krb5";
	case MP_AUTH_TYPE_NETLOGON: return "netlogon";
	}
	return "unknown";
}

const char *mp_auth_level_name(unsigned level)
{
	switch (level) {
	case MP_AUTH_LEVEL_NONE: return "none";
	case MP_AUTH_LEVEL_CONNECT: return "connect";
	case MP_AUTH_LEVEL_CALL: return "call";
	case MP_AUTH_LEVEL_PKT: return "pkt";
	case MP_AUTH_LEVEL_PKT_INTEGRITY: return "pkt_integrity";
	case MP_AUTH_LEVEL_PKT_PRIVACY: return "pkt_privacy";
	}
	return "unknown";
}

int mp_sec_init(struct mp_sec *s, uint8_t auth_type, uint8_t auth_level, uint32_t auth_ctx_id,
		bool hdr_sign, struct mp_ntlm *ntlm)
{
	memset(s, 0, sizeof(*s));
	if (auth_level < MP_AUTH_LEVEL_NONE || auth_level > MP_AUTH_LEVEL_PKT_PRIVACY)
		return MP_ERR_UNSUPPORTED;
	if (auth_level >= MP_AUTH_LEVEL_CALL &&
	    (!ntlm || (auth_type != MP_AUTH_TYPE_NTLMSSP && auth_type != MP_AUTH_TYPE_SPNEGO)))
		return MP_ERR_UNSUPPORTED;
	s->auth_type = auth_type;
	s->auth_level = auth_level;
	s->auth_ctx_id = auth_ctx_id;
	s->hdr_sign = hdr_sign;
	s->ntlm = ntlm;
	return MP_OK;
}

bool mp_sec_signs(const struct mp_sec *s)
{
	return s && s->auth_level >= MP_AUTH_LEVEL_CALL;
}

/* Bytes before the stub of a request/response fragment; 0 for other types. */
static size_t body_hdr_len(uint8_t ptype, uint8_t pfc_flags)
{
	switch (ptype) {
	case MP_PDU_REQUEST:
		return MP_PDU_REQUEST_HDR_LEN + ((pfc_flags & MP_PFC_OBJECT_UUID) ? 16 : 0);
	case MP_PDU_RESPONSE:
		return MP_PDU_RESPONSE_HDR_LEN;
	}
	return 0;
}

static size_t pad_to(size_t n, size_t align)
{
	return (align - n % align) % align;
}

static int fail(uint32_t *fault, uint32_t status, int rc)
{
	*fault = status;
	return rc;
}

int mp_sec_unprotect(struct mp_sec *s, uint8_t *frag, size_t len, struct mp_pdu *pdu,
		     uint32_t *fault)
{
	uint32_t scratch;
	if (!fault)
		fault = &scratch;
	*fault = 0;

	/* The header first: a frag_length / auth_length that does not fit the
	   bytes is a truncated (malformed) fragment; other PDU types are not
	   this layer's (and are not parsed). */
	memset(pdu, 0, sizeof(*pdu));
	if (len < MP_PDU_HDR_LEN)
		return fail(fault, MP_NCA_S_PROTO_ERROR, MP_ERR_PARSE);
	enum mp_hdr_verdict v = mp_pdu_check_hdr(frag, len, &pdu->hdr);
	if (v == MP_HDR_BAD_VERSION || v == MP_HDR_BAD_DREP)
		return fail(fault, MP_NCA_S_PROTO_ERROR, MP_ERR_UNSUPPORTED);
	if (v != MP_HDR_OK || pdu->hdr.frag_len != len)
		return fail(fault, MP_NCA_S_PROTO_ERROR, MP_ERR_PARSE);
	uint8_t ptype = pdu->hdr.ptype;
	if (ptype != MP_PDU_REQUEST && ptype != MP_PDU_RESPONSE)
		return fail(fault, MP_NCA_S_PROTO_ERROR, MP_ERR_PROTO);
	int rc = mp_pdu_parse(frag, len, pdu);
	if (rc != MP_OK)
		return fail(fault, MP_NCA_S_PROTO_ERROR, MP_ERR_PARSE);

	uint8_t level = s ? s->auth_level : MP_AUTH_LEVEL_NONE;
	if (level <= MP_AUTH_LEVEL_NONE) {
		/* Samba: a trailer at level NONE is ACCESS_DENIED. */
		if (pdu->has_auth)
			return fail(fault, MP_FAULT_ACCESS_DENIED, MP_ERR_PROTO);
		return MP_OK;
	}
	if (!pdu->has_auth) {
		if (level == MP_AUTH_LEVEL_CONNECT)
			return MP_OK;
		/* Samba: NT_STATUS_RPC_PROTOCOL_ERROR -> nca_s_proto_error. */
		return fail(fault, MP_NCA_S_PROTO_ERROR, MP_ERR_PROTO);
	}

	size_t auth_len = pdu->hdr.auth_len;
	size_t trailer_off = len - auth_len - MP_SEC_TRAILER_LEN;
	/* [MS-RPCE] 2.2.2.11: the sec_trailer is 4-aligned from the PDU start
	   (Samba dcerpc_pull_auth_trailer refuses it otherwise). */
	if (trailer_off % MP_SEC_TRAILER_ALIGN)
		return fail(fault, MP_NCA_S_PROTO_ERROR, MP_ERR_PARSE);

	bool check_fields = ptype == MP_PDU_RESPONSE || (pdu->hdr.pfc_flags & MP_PFC_FIRST_FRAG);
	if (check_fields &&
	    (pdu->auth.type != s->auth_type || pdu->auth.level != s->auth_level ||
	     pdu->auth.ctx_id != s->auth_ctx_id))
		return fail(fault, MP_FAULT_ACCESS_DENIED, MP_ERR_PROTO);

	if (level == MP_AUTH_LEVEL_CONNECT)
		return MP_OK; /* Samba: "for now we ignore possible signatures here" */

	if (auth_len != MP_SEC_NTLM_SIG_LEN || !s->ntlm)
		return fail(fault, MP_FAULT_SEC_PKG_ERROR, MP_ERR_AUTH);

	/* stub + auth pad, and the signed range: PDU start .. end of sec_trailer. */
	size_t data_off = (size_t)(pdu->stub - frag);
	size_t data_len = pdu->stub_len + pdu->auth.pad_len;
	uint8_t *data = frag + data_off;
	size_t msg_len = len - auth_len;
	const uint8_t *sig = frag + msg_len;

	if (level == MP_AUTH_LEVEL_PKT_PRIVACY)
		rc = mp_ntlm_unseal(s->ntlm, data, data_len, frag, msg_len, sig);
	else
		rc = mp_ntlm_verify(s->ntlm, frag, msg_len, sig);
	if (rc != MP_OK)
		return fail(fault, MP_FAULT_SEC_PKG_ERROR, MP_ERR_AUTH);
	return MP_OK;
}

int mp_sec_protect(struct mp_sec *s, struct mp_wbuf *wb, size_t frag_start)
{
	if (wb->bad)
		return MP_ERR_NOMEM;
	if (frag_start > wb->len || wb->len - frag_start < MP_PDU_HDR_LEN)
		return MP_ERR_PROTO;
	const uint8_t *h0 = wb->data + frag_start;
	size_t hdr_len = body_hdr_len(h0[2], h0[3]);
	size_t frag = wb->len - frag_start;
	if (!hdr_len || frag < hdr_len || mp_get_u16(h0 + 10) != 0)
		return MP_ERR_PROTO;
	if (!mp_sec_signs(s))
		return MP_OK;
	if (!s->ntlm)
		return MP_ERR_PROTO;

	size_t stub_len = frag - hdr_len;
	size_t pad = pad_to(stub_len, MP_SEC_PAD_ALIGN);
	size_t total = frag + pad + MP_SEC_TRAILER_LEN + MP_SEC_NTLM_SIG_LEN;
	if (total > 0xffff)
		return MP_ERR_LIMIT;

	mp_wb_zeros(wb, pad);
	mp_wb_u8(wb, s->auth_type);
	mp_wb_u8(wb, s->auth_level);
	mp_wb_u8(wb, (uint8_t)pad);
	mp_wb_u8(wb, 0);
	mp_wb_u32(wb, s->auth_ctx_id);
	mp_wb_zeros(wb, MP_SEC_NTLM_SIG_LEN);
	if (wb->bad)
		return MP_ERR_NOMEM;

	/* Lengths first: they are part of what is signed. */
	uint8_t *h = wb->data + frag_start;
	mp_put_u16(h + 8, (uint16_t)total);
	mp_put_u16(h + 10, MP_SEC_NTLM_SIG_LEN);
	size_t msg_len = total - MP_SEC_NTLM_SIG_LEN;
	uint8_t *sig = h + msg_len;
	int rc;
	if (s->auth_level == MP_AUTH_LEVEL_PKT_PRIVACY)
		rc = mp_ntlm_seal(s->ntlm, h + hdr_len, stub_len + pad, h, msg_len, sig);
	else
		rc = mp_ntlm_sign(s->ntlm, h, msg_len, sig);
	if (rc != MP_OK) {
		/* Leave the fragment as it was given. */
		wb->len = frag_start + frag;
		mp_put_u16(h + 8, (uint16_t)frag);
		mp_put_u16(h + 10, 0);
		return rc == MP_ERR_NOMEM ? rc : MP_ERR_PROTO;
	}
	return MP_OK;
}

size_t mp_sec_frag_room(const struct mp_sec *s, size_t hdr_len, size_t max_frag)
{
	if (!mp_sec_signs(s)) {
		if (max_frag <= hdr_len)
			return 0;
		return (max_frag - hdr_len) & ~(size_t)7;
	}
	size_t over = hdr_len + MP_SEC_TRAILER_LEN + MP_SEC_NTLM_SIG_LEN;
	if (max_frag <= over)
		return 0;
	size_t room = max_frag - over;
	return room - room % MP_SEC_PAD_ALIGN;
}

int mp_sec_encode_request_frags(struct mp_sec *s, struct mp_wbuf *wb, uint32_t call_id,
				const struct mp_pdu_request *r, const uint8_t *stub, size_t len,
				size_t max_frag)
{
	if (!mp_sec_signs(s)) {
		mp_pdu_encode_request_frags(wb, call_id, r, stub, len, max_frag);
		return wb->bad ? MP_ERR_NOMEM : MP_OK;
	}
	size_t hdr_len = MP_PDU_REQUEST_HDR_LEN + (r->has_object ? 16 : 0);
	size_t room = mp_sec_frag_room(s, hdr_len, max_frag);
	if (!room)
		return MP_ERR_LIMIT;
	struct mp_pdu_request fr = *r;
	size_t off = 0;
	do {
		size_t n = len - off < room ? len - off : room;
		uint8_t flags = 0;
		if (off == 0)
			flags |= MP_PFC_FIRST_FRAG;
		if (off + n == len)
			flags |= MP_PFC_LAST_FRAG;
		fr.alloc_hint = (uint32_t)(len - off);
		size_t start = wb->len;
		mp_pdu_encode_request(wb, flags, call_id, &fr, n ? stub + off : NULL, n);
		int rc = mp_sec_protect(s, wb, start);
		if (rc != MP_OK)
			return rc;
		off += n;
	} while (off < len);
	return MP_OK;
}

int mp_sec_encode_response_frags(struct mp_sec *s, struct mp_wbuf *wb, uint32_t call_id,
				 uint16_t ctx_id, const uint8_t *stub, size_t len, size_t max_frag)
{
	if (!mp_sec_signs(s)) {
		mp_pdu_encode_response_frags(wb, call_id, ctx_id, stub, len, max_frag);
		return wb->bad ? MP_ERR_NOMEM : MP_OK;
	}
	size_t room = mp_sec_frag_room(s, MP_PDU_RESPONSE_HDR_LEN, max_frag);
	if (!room)
		return MP_ERR_LIMIT;
	size_t off = 0;
	do {
		size_t n = len - off < room ? len - off : room;
		uint8_t flags = 0;
		if (off == 0)
			flags |= MP_PFC_FIRST_FRAG;
		if (off + n == len)
			flags |= MP_PFC_LAST_FRAG;
		size_t start = wb->len;
		mp_pdu_encode_response(wb, flags, call_id, (uint32_t)(len - off), ctx_id,
				       n ? stub + off : NULL, n);
		int rc = mp_sec_protect(s, wb, start);
		if (rc != MP_OK)
			return rc;
		off += n;
	} while (off < len);
	return MP_OK;
}

int mp_sec_append_auth(struct mp_wbuf *wb, size_t frag_start, uint8_t auth_type,
		       uint8_t auth_level, uint32_t auth_ctx_id, const uint8_t *token,
		       size_t token_len)
{
	if (wb->bad)
		return MP_ERR_NOMEM;
	if (frag_start > wb->len || wb->len - frag_start < MP_PDU_HDR_LEN)
		return MP_ERR_PROTO;
	const uint8_t *h0 = wb->data + frag_start;
	uint8_t ptype = h0[2];
	switch (ptype) {
	case MP_PDU_BIND:
	case MP_PDU_ALTER:
	case MP_PDU_BIND_ACK:
	case MP_PDU_ALTER_RESP:
	case MP_PDU_AUTH3:
		break;
	default:
		return MP_ERR_PROTO;
	}
	/* auth_length 0 means "no trailer": an empty token cannot be sent. */
	if (mp_get_u16(h0 + 10) != 0 || token_len == 0)
		return MP_ERR_PROTO;
	if (token_len > 0xffff)
		return MP_ERR_LIMIT;

	size_t frag = wb->len - frag_start;
	size_t body_pad = (ptype == MP_PDU_AUTH3 && frag == MP_PDU_HDR_LEN) ? 4 : 0;
	size_t pad = pad_to(frag + body_pad, MP_SEC_TRAILER_ALIGN);
	size_t total = frag + body_pad + pad + MP_SEC_TRAILER_LEN + token_len;
	if (total > 0xffff)
		return MP_ERR_LIMIT;

	mp_wb_zeros(wb, body_pad + pad);
	mp_wb_u8(wb, auth_type);
	mp_wb_u8(wb, auth_level);
	mp_wb_u8(wb, (uint8_t)pad);
	mp_wb_u8(wb, 0);
	mp_wb_u32(wb, auth_ctx_id);
	mp_wb_bytes(wb, token, token_len);
	if (wb->bad)
		return MP_ERR_NOMEM;
	uint8_t *h = wb->data + frag_start;
	mp_put_u16(h + 8, (uint16_t)total);
	mp_put_u16(h + 10, (uint16_t)token_len);
	return MP_OK;
}
