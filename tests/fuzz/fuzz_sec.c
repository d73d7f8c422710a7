/*
 * libFuzzer target: the DCE/RPC security layer (dcerpc/sec) and the auth
 * trailer split of mp_pdu_parse.
 *
 * Every input gets a freshly established NTLMSSP client / server pair (fixed
 * RNG and clock, so runs are reproducible) and mp_sec contexts on both ends.
 * The first byte picks what happens:
 *   bits 0-1  mode
 *     0  the rest is one fragment for the server's mp_sec_unprotect
 *     1  the rest is one fragment for the client's mp_sec_unprotect
 *     2  genuine request fragments made by the client from the input, then
 *        edited, then unprotected by the server
 *     3  the same for responses (server -> client), plus a bind and an auth3
 *        carrying a token from the input through mp_sec_append_auth
 *   bits 2-3  level: PKT_INTEGRITY, PKT_PRIVACY, PKT, CONNECT
 *   bit 4     header signing negotiated
 *   bit 5     (modes 2, 3) object uuid on requests
 * Modes 2 and 3 read: max_frag u16, edit count u8, edits (pos u16, xor u8),
 * then the stub. Checked:
 *   - mp_pdu_parse: stub, pad and auth value lie inside the fragment and add
 *     up to frag_length;
 *   - mp_sec_unprotect returns a documented code, a documented fault with
 *     it, and on success a stub inside the fragment;
 *   - without effective edits every fragment fits max_frag, unprotects, and
 *     the reassembled stub equals the input;
 *   - a token appended by mp_sec_append_auth parses back unchanged.
 */
#include "auth/ntlmssp.h"
#include "dcerpc/pdu.h"
#include "dcerpc/sec.h"
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

/* ---- an established pair ------------------------------------------------- */

static int lcg_rng(void *arg, uint8_t *buf, size_t len)
{
	uint32_t *st = arg;
	for (size_t i = 0; i < len; i++) {
		*st = *st * 1103515245u + 12345u;
		buf[i] = (uint8_t)(*st >> 16);
	}
	return MP_OK;
}

static uint64_t fixed_clock(void *arg)
{
	return *(const uint64_t *)arg;
}

static uint8_t g_hash[16];

static int lookup(void *arg, const char *user, const char *domain, uint8_t nt_hash[16])
{
	(void)arg;
	(void)user;
	(void)domain;
	memcpy(nt_hash, g_hash, 16);
	return MP_OK;
}

struct pair {
	struct mp_ntlm *c, *s;
	uint32_t crng, srng;
	uint64_t now;
};

static void pair_up(struct pair *p, unsigned want)
{
	memset(p, 0, sizeof(*p));
	p->crng = 0xc11e47u;
	p->srng = 0x5e7e7u;
	p->now = 0x01d9c0ffee123456ull;
	struct mp_ntlm_client_config cc = {
	    .user = "fuzz", .domain = "D", .nt_hash = g_hash, .want = want,
	    .rng = lcg_rng, .rng_arg = &p->crng, .clock = fixed_clock, .clock_arg = &p->now,
	};
	struct mp_ntlm_server_config sc = {
	    .nb_computer_name = "S", .nb_domain_name = "D", .lookup = lookup,
	    .rng = lcg_rng, .rng_arg = &p->srng, .clock = fixed_clock, .clock_arg = &p->now,
	};
	struct mp_wbuf neg, chal, auth;
	mp_wb_init(&neg);
	mp_wb_init(&chal);
	mp_wb_init(&auth);
	check(mp_ntlm_client_new(&cc, &p->c) == MP_OK);
	check(mp_ntlm_server_new(&sc, &p->s) == MP_OK);
	check(mp_ntlm_client_negotiate(p->c, &neg) == MP_OK);
	check(mp_ntlm_server_challenge(p->s, neg.data, neg.len, &chal) == MP_OK);
	check(mp_ntlm_client_authenticate(p->c, chal.data, chal.len, &auth) == MP_OK);
	check(mp_ntlm_server_authenticate(p->s, auth.data, auth.len) == MP_OK);
	mp_wb_free(&neg);
	mp_wb_free(&chal);
	mp_wb_free(&auth);
}

/* ---- checks -------------------------------------------------------------- */

static void check_parse(const uint8_t *f, size_t len)
{
	struct mp_pdu pdu;
	if (mp_pdu_parse(f, len, &pdu) != MP_OK)
		return;
	check(pdu.hdr.frag_len == len);
	if (pdu.has_auth) {
		check(pdu.hdr.auth_len > 0);
		check(pdu.auth.value >= f && pdu.auth.value + pdu.hdr.auth_len == f + len);
	}
	if (pdu.stub) {
		check(pdu.stub >= f + MP_PDU_HDR_LEN && pdu.stub <= f + len);
		size_t end = (size_t)(pdu.stub - f) + pdu.stub_len;
		if (pdu.has_auth)
			end += pdu.auth.pad_len + MP_PDU_SEC_TRAILER_LEN + pdu.hdr.auth_len;
		check(end == len);
	}
}

/* Unprotect one fragment; check the result is documented. */
static int unprotect(struct mp_sec *s, uint8_t *f, size_t len, struct mp_pdu *pdu)
{
	uint32_t fault = 0xdeadbeef;
	int rc = mp_sec_unprotect(s, f, len, pdu, &fault);
	switch (rc) {
	case MP_OK:
		check(fault == 0);
		check(pdu->hdr.ptype == MP_PDU_REQUEST || pdu->hdr.ptype == MP_PDU_RESPONSE);
		check(pdu->stub >= f && pdu->stub_len <= len &&
		      (size_t)(pdu->stub - f) <= len - pdu->stub_len);
		break;
	case MP_ERR_PARSE:
	case MP_ERR_UNSUPPORTED:
		check(fault == MP_NCA_S_PROTO_ERROR);
		break;
	case MP_ERR_PROTO:
		check(fault == MP_NCA_S_PROTO_ERROR || fault == MP_FAULT_ACCESS_DENIED);
		break;
	case MP_ERR_AUTH:
		check(fault == MP_FAULT_SEC_PKG_ERROR);
		break;
	default:
		abort();
	}
	return rc;
}

static void raw(struct mp_sec *s, const uint8_t *in, size_t n)
{
	/* An exact-size copy so that ASan sees any read past the fragment. */
	uint8_t *f = malloc(n ? n : 1);
	check(f != NULL);
	if (n)
		memcpy(f, in, n);
	check_parse(f, n);
	struct mp_pdu pdu;
	uint8_t *g = malloc(n ? n : 1);
	check(g != NULL);
	if (n)
		memcpy(g, in, n);
	unprotect(NULL, g, n, &pdu);
	unprotect(s, f, n, &pdu);
	free(g);
	free(f);
}

static const uint8_t obj_uuid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void genuine(struct mp_sec *tx, struct mp_sec *rx, bool response, bool object,
		    const uint8_t *in, size_t n)
{
	if (n < 3)
		return;
	size_t max_frag = mp_get_u16(in);
	size_t nedits = in[2];
	in += 3;
	n -= 3;
	if (nedits * 3 > n)
		nedits = n / 3;
	const uint8_t *edits = in;
	const uint8_t *stub = in + nedits * 3;
	size_t stub_len = n - nedits * 3;

	struct mp_wbuf wb;
	mp_wb_init(&wb);
	int rc;
	if (response) {
		rc = mp_sec_encode_response_frags(tx, &wb, 7, 1, stub, stub_len, max_frag);
	} else {
		struct mp_pdu_request r = {.ctx_id = 1, .opnum = 4, .has_object = object};
		memcpy(r.object.b, obj_uuid, 16);
		rc = mp_sec_encode_request_frags(tx, &wb, 7, &r, stub, stub_len, max_frag);
	}
	if (rc != MP_OK) {
		/* Only a too-small max_frag or a fragment over 64 KiB can fail. */
		check(rc == MP_ERR_LIMIT || (rc == MP_ERR_NOMEM && wb.bad));
		mp_wb_free(&wb);
		return;
	}
	check(!wb.bad);
	bool edited = false;
	for (size_t i = 0; i < nedits && wb.len; i++) {
		size_t pos = mp_get_u16(edits + 3 * i) % wb.len;
		if (edits[3 * i + 2]) {
			wb.data[pos] ^= edits[3 * i + 2];
			edited = true;
		}
	}

	struct mp_wbuf out;
	mp_wb_init(&out);
	size_t off = 0;
	bool ok = true;
	while (off < wb.len) {
		if (wb.len - off < MP_PDU_HDR_LEN) {
			ok = false;
			break;
		}
		size_t flen = mp_get_u16(wb.data + off + 8);
		if (flen < MP_PDU_HDR_LEN || flen > wb.len - off) {
			ok = false;
			break;
		}
		if (!edited && mp_sec_signs(tx))
			check(flen <= max_frag);
		check_parse(wb.data + off, flen);
		struct mp_pdu pdu;
		rc = unprotect(rx, wb.data + off, flen, &pdu);
		if (rc != MP_OK) {
			ok = false;
			break;
		}
		mp_wb_bytes(&out, pdu.stub, pdu.stub_len);
		off += flen;
	}
	if (!edited) {
		check(ok);
		check(out.len == stub_len);
		check(stub_len == 0 || memcmp(out.data, stub, stub_len) == 0);
	}
	mp_wb_free(&out);
	mp_wb_free(&wb);
}

static void bind_tokens(const uint8_t *token, size_t n)
{
	if (n == 0 || n > 4000)
		return;
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	struct mp_pdu_bind b = {.max_xmit = 4280, .max_recv = 4280, .n_ctx = 1};
	b.ctx[0].n_ts = 1;
	mp_pdu_encode_bind(&wb, MP_PDU_BIND, 3, 1, &b);
	mp_wb_bytes(&wb, token, n % 4); /* a body of any alignment */
	mp_pdu_finish(&wb, 0, 0);
	check(mp_sec_append_auth(&wb, 0, MP_AUTH_TYPE_NTLMSSP, MP_AUTH_LEVEL_PKT_PRIVACY, 5, token,
				 n) == MP_OK);
	struct mp_pdu pdu;
	check(mp_pdu_parse(wb.data, wb.len, &pdu) == MP_OK);
	check(pdu.has_auth && pdu.hdr.auth_len == n && memcmp(pdu.auth.value, token, n) == 0);
	check((wb.len - n - MP_PDU_SEC_TRAILER_LEN) % 4 == 0);
	wb.len = 0;
	mp_pdu_encode_empty(&wb, MP_PDU_AUTH3, 3, 1);
	check(mp_sec_append_auth(&wb, 0, MP_AUTH_TYPE_NTLMSSP, MP_AUTH_LEVEL_CONNECT, 5, token, n) ==
	      MP_OK);
	check(mp_pdu_parse(wb.data, wb.len, &pdu) == MP_OK);
	check(pdu.has_auth && pdu.hdr.auth_len == n && memcmp(pdu.auth.value, token, n) == 0);
	check(wb.len == 16 + 4 + 8 + n);
	mp_wb_free(&wb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t levels[4] = {MP_AUTH_LEVEL_PKT_INTEGRITY, MP_AUTH_LEVEL_PKT_PRIVACY,
					  MP_AUTH_LEVEL_PKT, MP_AUTH_LEVEL_CONNECT};
	if (size < 1)
		return 0;
	static bool init;
	if (!init) {
		for (int i = 0; i < 16; i++)
			g_hash[i] = (uint8_t)(0x40 + i);
		init = true;
	}
	uint8_t b0 = data[0];
	uint8_t level = levels[(b0 >> 2) & 3];
	bool hdr_sign = b0 & 0x10;
	struct pair p;
	pair_up(&p, MP_NTLM_WANT_SIGN | MP_NTLM_WANT_SEAL);
	struct mp_sec cs, ss;
	check(mp_sec_init(&cs, MP_AUTH_TYPE_NTLMSSP, level, 79231, hdr_sign, p.c) == MP_OK);
	check(mp_sec_init(&ss, MP_AUTH_TYPE_NTLMSSP, level, 79231, hdr_sign, p.s) == MP_OK);

	switch (b0 & 3) {
	case 0:
		raw(&ss, data + 1, size - 1);
		break;
	case 1:
		raw(&cs, data + 1, size - 1);
		break;
	case 2:
		genuine(&cs, &ss, false, b0 & 0x20, data + 1, size - 1);
		break;
	case 3:
		genuine(&ss, &cs, true, false, data + 1, size - 1);
		bind_tokens(data + 1, size - 1);
		break;
	}
	mp_ntlm_free(p.c);
	mp_ntlm_free(p.s);
	return 0;
}
