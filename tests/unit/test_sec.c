/*
 * Unit tests: dcerpc/sec (DCE/RPC connection-oriented security layer).
 *
 * An NTLMSSP client and server (auth/ntlmssp) shake hands in memory, then:
 *   - request and response fragments round-trip at PKT, PKT_INTEGRITY and
 *     PKT_PRIVACY, with header signing negotiated or not (NTLMSSP signs the
 *     header either way), with and without an object uuid;
 *   - whole calls (stub 0 .. 100000 bytes) are cut at max_frag 1432 / 4280 /
 *     5840: every fragment fits, full fragments carry a multiple of 16 stub
 *     bytes, stub + pad is 16-aligned, and the reassembled clear stub is equal;
 *   - a flipped byte in the header, stub, pad, trailer or signature is
 *     nca_s_fault_sec_pkg_error; a replayed or reordered fragment too;
 *   - a trailer with another level / context id / type is access denied
 *     (first request fragment, every response fragment), later request
 *     fragments are judged by the first (Samba / Windows);
 *   - missing, unexpected, truncated and misaligned trailers;
 *   - level CONNECT adds nothing and accepts a trailer without checking it;
 *   - auth trailers on bind / bind_ack / auth3 (mp_sec_append_auth).
 *
 * Golden vectors (tests/unit/data/sec_*.bin, written by
 * tests/unit/gen_sec_vectors.py with Debian's impacket 0.10):
 *   sec_{priv,integ}_*: impacket's DCERPC_v5 (rpcrt.py) as the client, over
 *     a fake transport that records what it sends. It sent the bind (with
 *     its NTLMSSP NEGOTIATE), got the bind_ack that THIS program writes in
 *     `--emit-bind-ack` mode (our server's CHALLENGE, fixed RNG and clock),
 *     sent the auth3 (AUTHENTICATE; impacket's `random` is seeded), then made
 *     calls at PKT_PRIVACY / PKT_INTEGRITY, which DCERPC_v5._transport_send
 *     padded, sealed / signed and fragmented its own way (4-byte auth pad of
 *     0xBB bytes, signature over the PDU up to the sec_trailer, no header
 *     signing negotiated). Here our server replays the handshake, must
 *     produce the same bind_ack, accept the AUTHENTICATE, and unprotect
 *     every fragment back to the stubs impacket was given.
 *   sec_resp_{priv,integ}_*: the reverse direction. `--emit-session` runs our
 *     client <-> server handshake (fixed RNG) and writes the negotiated flags
 *     and exported session key; the script injects them into a DCERPC_v5
 *     (server-to-client SIGNKEY / SEALKEY and RC4 handle in place of the
 *     client ones) and lets send() / _transport_send() build response
 *     fragments. Here our client unprotects them.
 *
 * The data directory is $MP_TEST_DATA_DIR, else argv[1], else data/ next to
 * this source file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "auth/ntlm_crypto.h"
#include "auth/ntlmssp.h"
#include "dcerpc/pdu.h"
#include "dcerpc/sec.h"
#include "util/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- deterministic NTLM peers -------------------------------------------- */

#define T_USER "alice"
#define T_DOMAIN "MPDOMAIN"
#define T_PASSWORD "Secret-123"
#define T_CTX_ID 79231u /* impacket's auth_ctx_id for p_cont_id 0 */

static const uint64_t t_now = 0x01d9c0ffee123456ull;

/* A linear congruential byte stream: never runs out, same bytes every run. */
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

static int t_lookup(void *arg, const char *user, const char *domain, uint8_t nt_hash[16])
{
	(void)arg;
	(void)domain;
	if (strcasecmp(user, T_USER) != 0)
		return MP_ERR_NOTFOUND;
	return mp_ntlm_ntowfv1(T_PASSWORD, nt_hash);
}

struct peers {
	struct mp_ntlm *c, *s;
	uint32_t crng, srng;
	uint64_t now;
};

static int server_new(struct peers *p)
{
	struct mp_ntlm_server_config sc = {
	    .nb_computer_name = "MPSERVER",
	    .nb_domain_name = T_DOMAIN,
	    .dns_computer_name = "mpserver.mp.example.test",
	    .dns_domain_name = "mp.example.test",
	    .dns_tree_name = "mp.example.test",
	    .lookup = t_lookup,
	    .rng = lcg_rng,
	    .rng_arg = &p->srng,
	    .clock = fixed_clock,
	    .clock_arg = &p->now,
	};
	return mp_ntlm_server_new(&sc, &p->s);
}

static void peers_free(struct peers *p)
{
	mp_ntlm_free(p->c);
	mp_ntlm_free(p->s);
	p->c = p->s = NULL;
}

/* Client <-> server handshake; MP_OK once both are established. */
static int peers_up(struct peers *p, unsigned want)
{
	memset(p, 0, sizeof(*p));
	p->crng = 0xc11e47u;
	p->srng = 0x5e7e7u;
	p->now = t_now;
	struct mp_ntlm_client_config cc = {
	    .user = T_USER,
	    .domain = T_DOMAIN,
	    .workstation = "WS01",
	    .password = T_PASSWORD,
	    .want = want,
	    .rng = lcg_rng,
	    .rng_arg = &p->crng,
	    .clock = fixed_clock,
	    .clock_arg = &p->now,
	};
	struct mp_wbuf neg, chal, auth;
	mp_wb_init(&neg);
	mp_wb_init(&chal);
	mp_wb_init(&auth);
	int rc = mp_ntlm_client_new(&cc, &p->c);
	if (rc == MP_OK)
		rc = server_new(p);
	if (rc == MP_OK)
		rc = mp_ntlm_client_negotiate(p->c, &neg);
	if (rc == MP_OK)
		rc = mp_ntlm_server_challenge(p->s, neg.data, neg.len, &chal);
	if (rc == MP_OK)
		rc = mp_ntlm_client_authenticate(p->c, chal.data, chal.len, &auth);
	if (rc == MP_OK)
		rc = mp_ntlm_server_authenticate(p->s, auth.data, auth.len);
	mp_wb_free(&neg);
	mp_wb_free(&chal);
	mp_wb_free(&auth);
	return rc;
}

/* ---- security contexts on both ends --------------------------------------- */

struct ends {
	struct peers p;
	struct mp_sec cs; /* client: protects requests, unprotects responses */
	struct mp_sec ss; /* server */
};

static void ends_up(struct ends *e, uint8_t level, bool hdr_sign)
{
	unsigned want = MP_NTLM_WANT_SIGN;
	if (level == MP_AUTH_LEVEL_PKT_PRIVACY)
		want |= MP_NTLM_WANT_SEAL;
	assert_int_equal(peers_up(&e->p, want), MP_OK);
	assert_int_equal(mp_sec_init(&e->cs, MP_AUTH_TYPE_NTLMSSP, level, T_CTX_ID, hdr_sign, e->p.c),
			 MP_OK);
	assert_int_equal(mp_sec_init(&e->ss, MP_AUTH_TYPE_NTLMSSP, level, T_CTX_ID, hdr_sign, e->p.s),
			 MP_OK);
}

static void ends_free(struct ends *e)
{
	peers_free(&e->p);
}

struct param {
	uint8_t level;
	bool hdr_sign;
};

static const struct param p_pkt_h = {MP_AUTH_LEVEL_PKT, true};
static const struct param p_pkt = {MP_AUTH_LEVEL_PKT, false};
static const struct param p_int_h = {MP_AUTH_LEVEL_PKT_INTEGRITY, true};
static const struct param p_int = {MP_AUTH_LEVEL_PKT_INTEGRITY, false};
static const struct param p_priv_h = {MP_AUTH_LEVEL_PKT_PRIVACY, true};
static const struct param p_priv = {MP_AUTH_LEVEL_PKT_PRIVACY, false};

/* ---- helpers -------------------------------------------------------------- */

static uint8_t *pattern(size_t n, unsigned seed)
{
	uint8_t *b = malloc(n ? n : 1);
	assert_non_null(b);
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 7 + seed * 13 + (i >> 8));
	return b;
}

static const struct mp_uuid t_object = {{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
					 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10}};

/* One request fragment (FIRST|LAST unless flags given) protected by s. */
static size_t put_request(struct mp_sec *s, struct mp_wbuf *wb, uint8_t flags, uint32_t call_id,
			  const uint8_t *stub, size_t n, bool object)
{
	struct mp_pdu_request r = {.alloc_hint = (uint32_t)n, .ctx_id = 0, .opnum = 7};
	if (object) {
		r.has_object = true;
		r.object = t_object;
	}
	size_t start = wb->len;
	mp_pdu_encode_request(wb, flags, call_id, &r, stub, n);
	assert_int_equal(mp_sec_protect(s, wb, start), MP_OK);
	return start;
}

/* Check the auth layout of one protected fragment (our encoder's rules). */
static void check_layout(const uint8_t *f, size_t len, const struct mp_sec *s)
{
	struct mp_pdu pdu;
	assert_int_equal(mp_pdu_parse(f, len, &pdu), MP_OK);
	assert_true(pdu.has_auth);
	assert_int_equal(pdu.hdr.auth_len, MP_SEC_NTLM_SIG_LEN);
	assert_int_equal(pdu.auth.type, s->auth_type);
	assert_int_equal(pdu.auth.level, s->auth_level);
	assert_int_equal(pdu.auth.ctx_id, s->auth_ctx_id);
	assert_int_equal(pdu.auth.reserved, 0);
	assert_true(pdu.auth.pad_len < MP_SEC_PAD_ALIGN);
	assert_int_equal((pdu.stub_len + pdu.auth.pad_len) % MP_SEC_PAD_ALIGN, 0);
	size_t trailer = len - MP_SEC_NTLM_SIG_LEN - MP_SEC_TRAILER_LEN;
	assert_int_equal(trailer % 4, 0);
	/* Signature version 1, sequence number in the last 4 bytes. */
	assert_int_equal(mp_get_u32(f + len - 16), 1);
}

/*
 * Unprotect every fragment of buf[0..len) with s and append the clear stubs
 * to out; check sizes and flags as mp_sec_encode_*_frags writes them.
 * Returns the number of fragments.
 */
static size_t unprotect_call(struct mp_sec *s, uint8_t *buf, size_t len, size_t max_frag,
			     uint8_t ptype, size_t total, struct mp_wbuf *out)
{
	size_t off = 0, n = 0, got = 0;
	while (off < len) {
		assert_true(len - off >= MP_PDU_HDR_LEN);
		size_t flen = mp_get_u16(buf + off + 8);
		assert_true(flen <= max_frag);
		assert_true(flen <= len - off);
		check_layout(buf + off, flen, s);
		struct mp_pdu pdu;
		uint32_t fault = 0xdead;
		int rc = mp_sec_unprotect(s, buf + off, flen, &pdu, &fault);
		assert_int_equal(rc, MP_OK);
		assert_int_equal(fault, 0);
		assert_int_equal(pdu.hdr.ptype, ptype);
		bool first = n == 0, last = off + flen == len;
		assert_int_equal(!!(pdu.hdr.pfc_flags & MP_PFC_FIRST_FRAG), first);
		assert_int_equal(!!(pdu.hdr.pfc_flags & MP_PFC_LAST_FRAG), last);
		uint32_t hint = ptype == MP_PDU_REQUEST ? pdu.u.request.alloc_hint
							 : pdu.u.response.alloc_hint;
		assert_int_equal(hint, total - got);
		if (!last)
			assert_int_equal(pdu.stub_len % MP_SEC_PAD_ALIGN, 0);
		mp_wb_bytes(out, pdu.stub, pdu.stub_len);
		got += pdu.stub_len;
		off += flen;
		n++;
	}
	return n;
}

/* ---- tests: init, names --------------------------------------------------- */

static void test_init_and_names(void **state)
{
	(void)state;
	struct mp_sec s;
	struct peers p;
	assert_int_equal(peers_up(&p, MP_NTLM_WANT_SIGN), MP_OK);
	assert_int_equal(mp_sec_init(&s, MP_AUTH_TYPE_NTLMSSP, 0, 1, false, p.c), MP_ERR_UNSUPPORTED);
	assert_int_equal(mp_sec_init(&s, MP_AUTH_TYPE_NTLMSSP, 7, 1, false, p.c), MP_ERR_UNSUPPORTED);
	assert_int_equal(mp_sec_init(&s, MP_AUTH_TYPE_NTLMSSP, MP_AUTH_LEVEL_PKT_INTEGRITY, 1, false,
				     NULL),
			 MP_ERR_UNSUPPORTED);
	assert_int_equal(mp_sec_init(&s, MP_AUTH_TYPE_KRB5, MP_AUTH_LEVEL_PKT_INTEGRITY, 1, false, p.c),
			 MP_ERR_UNSUPPORTED);
	assert_int_equal(mp_sec_init(&s, MP_AUTH_TYPE_KRB5, MP_AUTH_LEVEL_CONNECT, 1, false, NULL),
			 MP_OK);
	assert_false(mp_sec_signs(&s));
	assert_int_equal(mp_sec_init(&s, MP_AUTH_TYPE_SPNEGO, MP_AUTH_LEVEL_CALL, 3, true, p.c), MP_OK);
	assert_true(mp_sec_signs(&s));
	assert_true(s.hdr_sign);
	assert_int_equal(s.auth_ctx_id, 3);
	assert_false(mp_sec_signs(NULL));

	assert_string_equal(mp_auth_type_name(10), "ntlmssp");
	assert_string_equal(mp_auth_type_name(9), "spnego");
	assert_string_equal(mp_auth_type_name(68), "netlogon");
	assert_string_equal(mp_auth_type_name(200), "unknown");
	assert_string_equal(mp_auth_level_name(6), "pkt_privacy");
	assert_string_equal(mp_auth_level_name(2), "connect");
	assert_string_equal(mp_auth_level_name(0), "unknown");
	peers_free(&p);
}

static void test_frag_room(void **state)
{
	(void)state;
	struct mp_sec s = {.auth_type = 10, .auth_level = MP_AUTH_LEVEL_PKT_PRIVACY};
	/* 1432 - 24 - 8 - 16 = 1384, down to a multiple of 16. */
	assert_int_equal(mp_sec_frag_room(&s, 24, 1432), 1376);
	assert_int_equal(mp_sec_frag_room(&s, 24, 4280), 4224);
	assert_int_equal(mp_sec_frag_room(&s, 40, 5840), 5776);
	assert_int_equal(mp_sec_frag_room(&s, 24, 48), 0);
	assert_int_equal(mp_sec_frag_room(&s, 24, 64), 16);
	/* Unsigned: pdu.c's 8-byte rule. */
	assert_int_equal(mp_sec_frag_room(NULL, 24, 1432), 1408);
	s.auth_level = MP_AUTH_LEVEL_CONNECT;
	assert_int_equal(mp_sec_frag_room(&s, 24, 4280), 4256);
	assert_int_equal(mp_sec_frag_room(&s, 24, 24), 0);
}

/* ---- tests: round trips --------------------------------------------------- */

static void test_roundtrip(void **state)
{
	const struct param *pa = *state;
	struct ends e;
	ends_up(&e, pa->level, pa->hdr_sign);
	static const size_t sizes[] = {0, 1, 15, 16, 17, 100};
	for (unsigned obj = 0; obj < 2; obj++) {
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			size_t n = sizes[i];
			uint8_t *stub = pattern(n, (unsigned)i);
			struct mp_wbuf wb;
			mp_wb_init(&wb);
			/* request: client -> server */
			put_request(&e.cs, &wb, MP_PFC_FIRST_FRAG | MP_PFC_LAST_FRAG, 5, stub, n,
				    obj);
			check_layout(wb.data, wb.len, &e.cs);
			size_t hdr = 24 + (obj ? 16 : 0);
			size_t pad = (16 - n % 16) % 16;
			assert_int_equal(wb.len, hdr + n + pad + 8 + 16);
			if (pa->level == MP_AUTH_LEVEL_PKT_PRIVACY && n >= 8)
				assert_memory_not_equal(wb.data + hdr, stub, n);
			if (pa->level != MP_AUTH_LEVEL_PKT_PRIVACY && n)
				assert_memory_equal(wb.data + hdr, stub, n);
			struct mp_pdu pdu;
			uint32_t fault = 1;
			assert_int_equal(mp_sec_unprotect(&e.ss, wb.data, wb.len, &pdu, &fault),
					 MP_OK);
			assert_int_equal(fault, 0);
			assert_int_equal(pdu.stub_len, n);
			if (n)
				assert_memory_equal(pdu.stub, stub, n);
			assert_int_equal(pdu.u.request.has_object, obj);
			assert_int_equal(pdu.u.request.opnum, 7);
			assert_int_equal(pdu.hdr.call_id, 5);

			/* response: server -> client */
			wb.len = 0;
			mp_pdu_encode_response(&wb, MP_PFC_FIRST_FRAG | MP_PFC_LAST_FRAG, 5,
					       (uint32_t)n, 0, stub, n);
			assert_int_equal(mp_sec_protect(&e.ss, &wb, 0), MP_OK);
			check_layout(wb.data, wb.len, &e.ss);
			assert_int_equal(mp_sec_unprotect(&e.cs, wb.data, wb.len, &pdu, &fault),
					 MP_OK);
			assert_int_equal(pdu.stub_len, n);
			if (n)
				assert_memory_equal(pdu.stub, stub, n);
			mp_wb_free(&wb);
			free(stub);
		}
	}
	ends_free(&e);
}

/* Protect appends after earlier bytes in the buffer (frag_start > 0). */
static void test_protect_at_offset(void **state)
{
	(void)state;
	struct ends e;
	ends_up(&e, MP_AUTH_LEVEL_PKT_PRIVACY, false);
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_wb_bytes(&wb, "prefix", 6);
	uint8_t *stub = pattern(33, 1);
	size_t start = put_request(&e.cs, &wb, 3, 9, stub, 33, false);
	assert_int_equal(start, 6);
	assert_memory_equal(wb.data, "prefix", 6);
	struct mp_pdu pdu;
	assert_int_equal(mp_sec_unprotect(&e.ss, wb.data + 6, wb.len - 6, &pdu, NULL), MP_OK);
	assert_memory_equal(pdu.stub, stub, 33);
	free(stub);
	mp_wb_free(&wb);
	ends_free(&e);
}

static void test_fragments(void **state)
{
	const struct param *pa = *state;
	static const size_t sizes[] = {0, 1, 15, 16, 17, 5000, 100000};
	static const size_t fr[] = {1432, 4280, 5840};
	struct ends e;
	ends_up(&e, pa->level, pa->hdr_sign);
	uint32_t call_id = 1;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (size_t j = 0; j < sizeof(fr) / sizeof(fr[0]); j++) {
			size_t n = sizes[i], max = fr[j];
			uint8_t *stub = pattern(n, (unsigned)(i * 3 + j));
			struct mp_wbuf wb, out;
			mp_wb_init(&wb);
			mp_wb_init(&out);
			struct mp_pdu_request r = {.ctx_id = 1, .opnum = 3, .has_object = (j == 1)};
			r.object = t_object;
			assert_int_equal(mp_sec_encode_request_frags(&e.cs, &wb, call_id, &r, stub,
								     n, max),
					 MP_OK);
			size_t room = mp_sec_frag_room(&e.cs, r.has_object ? 40 : 24, max);
			size_t want_frags = n ? (n + room - 1) / room : 1;
			assert_int_equal(unprotect_call(&e.ss, wb.data, wb.len, max, MP_PDU_REQUEST,
							n, &out),
					 want_frags);
			assert_int_equal(out.len, n);
			if (n)
				assert_memory_equal(out.data, stub, n);

			wb.len = 0;
			out.len = 0;
			assert_int_equal(mp_sec_encode_response_frags(&e.ss, &wb, call_id, 1, stub,
								      n, max),
					 MP_OK);
			unprotect_call(&e.cs, wb.data, wb.len, max, MP_PDU_RESPONSE, n, &out);
			assert_int_equal(out.len, n);
			if (n)
				assert_memory_equal(out.data, stub, n);
			mp_wb_free(&wb);
			mp_wb_free(&out);
			free(stub);
			call_id++;
		}
	}
	ends_free(&e);
}

/* ---- tests: tampering, replay --------------------------------------------- */

enum { T_CALL_ID, T_OPNUM, T_ALLOC_HINT, T_FLAGS, T_STUB, T_PAD, T_TRAILER_RSV, T_SIG_VER,
       T_SIG_CHECKSUM, T_SIG_SEQ, T_N };

static void test_tamper(void **state)
{
	const struct param *pa = *state;
	for (int what = 0; what < T_N; what++) {
		struct ends e;
		ends_up(&e, pa->level, pa->hdr_sign);
		struct mp_wbuf wb;
		mp_wb_init(&wb);
		uint8_t *stub = pattern(21, 4); /* 21 bytes: 11 bytes of pad */
		put_request(&e.cs, &wb, MP_PFC_FIRST_FRAG | MP_PFC_LAST_FRAG, 77, stub, 21, false);
		size_t len = wb.len, trailer = len - 24;
		size_t at = 0;
		uint8_t x = 0x01;
		switch (what) {
		case T_CALL_ID: at = 12; break;
		case T_OPNUM: at = 22; break;
		case T_ALLOC_HINT: at = 16; break;
		case T_FLAGS: at = 3; x = MP_PFC_MAYBE; break;
		case T_STUB: at = 24 + 20; break;
		case T_PAD: at = 24 + 21 + 3; break;
		case T_TRAILER_RSV: at = trailer + 3; break;
		case T_SIG_VER: at = len - 16; break;
		case T_SIG_CHECKSUM: at = len - 10; x = 0x80; break;
		case T_SIG_SEQ: at = len - 1; break;
		}
		wb.data[at] ^= x;
		struct mp_pdu pdu;
		uint32_t fault = 0;
		int rc = mp_sec_unprotect(&e.ss, wb.data, len, &pdu, &fault);
		if (rc != MP_ERR_AUTH)
			fail_msg("tamper %d at %zu: %s", what, at, mp_ntlm_status_name(rc));
		assert_int_equal(fault, MP_FAULT_SEC_PKG_ERROR);
		/* The context is dead now: even a good fragment fails. */
		wb.len = 0;
		put_request(&e.cs, &wb, 3, 78, stub, 21, false);
		assert_int_equal(mp_sec_unprotect(&e.ss, wb.data, wb.len, &pdu, &fault),
				 MP_ERR_AUTH);
		free(stub);
		mp_wb_free(&wb);
		ends_free(&e);
	}
}

static void test_replay(void **state)
{
	const struct param *pa = *state;
	struct ends e;
	uint8_t *stub = pattern(40, 2);
	struct mp_wbuf a, b;
	struct mp_pdu pdu;
	uint32_t fault;

	/* A fragment replayed after it was accepted. */
	ends_up(&e, pa->level, pa->hdr_sign);
	mp_wb_init(&a);
	mp_wb_init(&b);
	put_request(&e.cs, &a, 3, 1, stub, 40, false);
	put_request(&e.cs, &b, 3, 2, stub, 40, false);
	uint8_t copy[256];
	assert_true(a.len <= sizeof(copy));
	memcpy(copy, a.data, a.len);
	assert_int_equal(mp_sec_unprotect(&e.ss, a.data, a.len, &pdu, &fault), MP_OK);
	fault = 0;
	assert_int_equal(mp_sec_unprotect(&e.ss, copy, a.len, &pdu, &fault), MP_ERR_AUTH);
	assert_int_equal(fault, MP_FAULT_SEC_PKG_ERROR);
	ends_free(&e);

	/* Fragments out of order (the second first). */
	ends_up(&e, pa->level, pa->hdr_sign);
	a.len = b.len = 0;
	put_request(&e.cs, &a, 3, 1, stub, 40, false);
	put_request(&e.cs, &b, 3, 2, stub, 40, false);
	assert_int_equal(mp_sec_unprotect(&e.ss, b.data, b.len, &pdu, &fault), MP_ERR_AUTH);
	assert_int_equal(fault, MP_FAULT_SEC_PKG_ERROR);
	ends_free(&e);

	/* A request reflected back to its sender as a response: the client
	   checks it with the server-to-client keys, so it fails. */
	ends_up(&e, pa->level, pa->hdr_sign);
	a.len = 0;
	put_request(&e.cs, &a, 3, 1, stub, 40, false);
	a.data[2] = MP_PDU_RESPONSE; /* same layout up to the opnum bytes */
	assert_int_equal(mp_sec_unprotect(&e.cs, a.data, a.len, &pdu, &fault), MP_ERR_AUTH);
	ends_free(&e);

	mp_wb_free(&a);
	mp_wb_free(&b);
	free(stub);
}

/* ---- tests: trailer fields ------------------------------------------------ */

static void expect_fault(struct mp_sec *s, uint8_t *f, size_t len, int want_rc, uint32_t want_fault)
{
	struct mp_pdu pdu;
	uint32_t fault = 0;
	int rc = mp_sec_unprotect(s, f, len, &pdu, &fault);
	if (rc != want_rc)
		fail_msg("got %s, want %s", mp_ntlm_status_name(rc), mp_ntlm_status_name(want_rc));
	assert_int_equal(fault, want_fault);
}

static void test_trailer_mismatch(void **state)
{
	const struct param *pa = *state;
	uint8_t *stub = pattern(64, 3);
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	for (int what = 0; what < 4; what++) {
		struct ends e;
		ends_up(&e, pa->level, pa->hdr_sign);
		/* A client context that disagrees with the server's in one field. */
		struct mp_sec bad = e.cs;
		switch (what) {
		case 0: bad.auth_ctx_id = T_CTX_ID + 1; break;
		case 1: bad.auth_type = MP_AUTH_TYPE_SPNEGO; break;
		case 2:
			/* PKT_INTEGRITY <-> PKT (both only sign) */
			bad.auth_level = pa->level == MP_AUTH_LEVEL_PKT_INTEGRITY
					     ? MP_AUTH_LEVEL_PKT
					     : MP_AUTH_LEVEL_PKT_INTEGRITY;
			if (pa->level == MP_AUTH_LEVEL_PKT_PRIVACY)
				bad.auth_level = MP_AUTH_LEVEL_PKT_INTEGRITY;
			break;
		case 3: bad.auth_level = MP_AUTH_LEVEL_CALL; break;
		}
		wb.len = 0;
		put_request(&bad, &wb, MP_PFC_FIRST_FRAG, 1, stub, 64, false);
		expect_fault(&e.ss, wb.data, wb.len, MP_ERR_PROTO, MP_FAULT_ACCESS_DENIED);
		ends_free(&e);
	}

	/* Later request fragments are judged by the first: a different context
	   id on a correctly signed middle fragment is ignored. */
	{
		struct ends e;
		ends_up(&e, pa->level, pa->hdr_sign);
		wb.len = 0;
		put_request(&e.cs, &wb, MP_PFC_FIRST_FRAG, 1, stub, 64, false);
		struct mp_pdu pdu;
		assert_int_equal(mp_sec_unprotect(&e.ss, wb.data, wb.len, &pdu, NULL), MP_OK);
		struct mp_sec other = e.cs;
		other.auth_ctx_id = 4242;
		wb.len = 0;
		put_request(&other, &wb, 0, 1, stub, 64, false);
		assert_int_equal(mp_sec_unprotect(&e.ss, wb.data, wb.len, &pdu, NULL), MP_OK);
		assert_memory_equal(pdu.stub, stub, 64);
		/* ... but never on a response fragment. */
		wb.len = 0;
		struct mp_sec sother = e.ss;
		sother.auth_ctx_id = 4242;
		mp_pdu_encode_response(&wb, 0, 1, 64, 0, stub, 64);
		assert_int_equal(mp_sec_protect(&sother, &wb, 0), MP_OK);
		expect_fault(&e.cs, wb.data, wb.len, MP_ERR_PROTO, MP_FAULT_ACCESS_DENIED);
		ends_free(&e);
	}
	mp_wb_free(&wb);
	free(stub);
}

static void test_missing_or_unexpected_trailer(void **state)
{
	(void)state;
	struct ends e;
	ends_up(&e, MP_AUTH_LEVEL_PKT_INTEGRITY, false);
	uint8_t *stub = pattern(16, 5);
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	struct mp_pdu_request r = {.alloc_hint = 16, .opnum = 1};

	/* No trailer at PKT_INTEGRITY: nca_s_proto_error. */
	mp_pdu_encode_request(&wb, 3, 1, &r, stub, 16);
	expect_fault(&e.ss, wb.data, wb.len, MP_ERR_PROTO, MP_NCA_S_PROTO_ERROR);
	wb.len = 0;
	mp_pdu_encode_response(&wb, 3, 1, 16, 0, stub, 16);
	expect_fault(&e.cs, wb.data, wb.len, MP_ERR_PROTO, MP_NCA_S_PROTO_ERROR);

	/* No security context: a plain fragment parses, a trailer is denied. */
	wb.len = 0;
	mp_pdu_encode_request(&wb, 3, 1, &r, stub, 16);
	struct mp_pdu pdu;
	uint32_t fault = 9;
	assert_int_equal(mp_sec_unprotect(NULL, wb.data, wb.len, &pdu, &fault), MP_OK);
	assert_int_equal(fault, 0);
	assert_int_equal(pdu.stub_len, 16);
	wb.len = 0;
	put_request(&e.cs, &wb, 3, 1, stub, 16, false);
	expect_fault(NULL, wb.data, wb.len, MP_ERR_PROTO, MP_FAULT_ACCESS_DENIED);
	struct mp_sec none;
	assert_int_equal(mp_sec_init(&none, 0, MP_AUTH_LEVEL_NONE, 0, false, NULL), MP_OK);
	expect_fault(&none, wb.data, wb.len, MP_ERR_PROTO, MP_FAULT_ACCESS_DENIED);

	/* Not a request or response. */
	wb.len = 0;
	mp_pdu_encode_fault(&wb, 0, 1, 0, MP_NCA_S_OP_RNG_ERROR);
	expect_fault(&e.ss, wb.data, wb.len, MP_ERR_PROTO, MP_NCA_S_PROTO_ERROR);
	wb.len = 0;
	mp_pdu_encode_empty(&wb, MP_PDU_SHUTDOWN, 3, 1);
	expect_fault(&e.ss, wb.data, wb.len, MP_ERR_PROTO, MP_NCA_S_PROTO_ERROR);

	mp_wb_free(&wb);
	free(stub);
	ends_free(&e);
}

static void test_truncated_trailer(void **state)
{
	(void)state;
	uint8_t *stub = pattern(32, 6);
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	struct ends e;
	ends_up(&e, MP_AUTH_LEVEL_PKT_PRIVACY, true);
	put_request(&e.cs, &wb, 3, 1, stub, 32, false);
	size_t len = wb.len; /* 24 + 32 + 8 + 16 = 80 */
	assert_int_equal(len, 80);
	uint8_t f[80];

	/* Every cut of the buffer short of frag_length. */
	for (size_t cut = 0; cut < len; cut++) {
		memcpy(f, wb.data, len);
		struct mp_pdu pdu;
		uint32_t fault = 0;
		int rc = mp_sec_unprotect(&e.ss, f, cut, &pdu, &fault);
		assert_int_equal(rc, MP_ERR_PARSE);
		assert_int_equal(fault, MP_NCA_S_PROTO_ERROR);
	}
	/* frag_length and auth_length cut together: the trailer runs into the
	   header (auth_length too large for the fragment). */
	memcpy(f, wb.data, len);
	mp_put_u16(f + 10, 60);
	expect_fault(&e.ss, f, len, MP_ERR_PARSE, MP_NCA_S_PROTO_ERROR);
	/* A fragment whose frag_length says it ends inside the signature. */
	memcpy(f, wb.data, len);
	mp_put_u16(f + 8, 72);
	mp_put_u16(f + 10, 8);
	expect_fault(&e.ss, f, 72, MP_ERR_AUTH, MP_FAULT_SEC_PKG_ERROR); /* sig of 8 bytes */
	/* auth_length 15: the sec_trailer would start at 57, not 4-aligned. */
	memcpy(f, wb.data, len);
	mp_put_u16(f + 10, 15);
	expect_fault(&e.ss, f, len, MP_ERR_PARSE, MP_NCA_S_PROTO_ERROR);
	/* auth_pad_length longer than the stub. */
	memcpy(f, wb.data, len);
	f[56 + 2] = 33;
	expect_fault(&e.ss, f, len, MP_ERR_PARSE, MP_NCA_S_PROTO_ERROR);
	/* Nothing of the above consumed a sequence number: the original passes. */
	struct mp_pdu pdu;
	assert_int_equal(mp_sec_unprotect(&e.ss, wb.data, len, &pdu, NULL), MP_OK);
	assert_memory_equal(pdu.stub, stub, 32);
	/* Bad version: unsupported, as mp_pdu_parse says. */
	memcpy(f, wb.data, len);
	f[0] = 4;
	expect_fault(&e.ss, f, len, MP_ERR_UNSUPPORTED, MP_NCA_S_PROTO_ERROR);
	ends_free(&e);
	mp_wb_free(&wb);
	free(stub);
}

/* ---- tests: level CONNECT ------------------------------------------------- */

static void test_connect_level(void **state)
{
	(void)state;
	struct peers p;
	assert_int_equal(peers_up(&p, MP_NTLM_WANT_SIGN), MP_OK);
	struct mp_sec s;
	assert_int_equal(mp_sec_init(&s, MP_AUTH_TYPE_NTLMSSP, MP_AUTH_LEVEL_CONNECT, 5, false, p.s),
			 MP_OK);
	uint8_t *stub = pattern(5000, 7);
	struct mp_wbuf a, b;
	mp_wb_init(&a);
	mp_wb_init(&b);
	struct mp_pdu_request r = {.opnum = 2};
	/* Same bytes as the plain encoders. */
	assert_int_equal(mp_sec_encode_request_frags(&s, &a, 4, &r, stub, 5000, 1432), MP_OK);
	mp_pdu_encode_request_frags(&b, 4, &r, stub, 5000, 1432);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	a.len = b.len = 0;
	assert_int_equal(mp_sec_encode_response_frags(&s, &a, 4, 0, stub, 5000, 4280), MP_OK);
	mp_pdu_encode_response_frags(&b, 4, 0, stub, 5000, 4280);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	/* mp_sec_protect is a no-op; NULL context too. */
	a.len = 0;
	mp_pdu_encode_request(&a, 3, 1, &r, stub, 10);
	size_t before = a.len;
	assert_int_equal(mp_sec_protect(&s, &a, 0), MP_OK);
	assert_int_equal(mp_sec_protect(NULL, &a, 0), MP_OK);
	assert_int_equal(a.len, before);
	struct mp_pdu pdu;
	assert_int_equal(mp_sec_unprotect(&s, a.data, a.len, &pdu, NULL), MP_OK);
	assert_int_equal(pdu.stub_len, 10);

	/* A trailer at CONNECT (e.g. a client that signs anyway): its fields
	   are checked, its signature is not, the pad is stripped. */
	struct mp_sec sig = s;
	struct peers q;
	assert_int_equal(peers_up(&q, MP_NTLM_WANT_SIGN), MP_OK);
	sig.ntlm = q.c;
	sig.auth_level = MP_AUTH_LEVEL_PKT_INTEGRITY;
	a.len = 0;
	put_request(&sig, &a, 3, 1, stub, 10, false);
	a.data[a.len - 24 + 1] = MP_AUTH_LEVEL_CONNECT; /* level field, breaks the MAC */
	assert_int_equal(mp_sec_unprotect(&s, a.data, a.len, &pdu, NULL), MP_OK);
	assert_int_equal(pdu.stub_len, 10);
	assert_memory_equal(pdu.stub, stub, 10);
	a.data[a.len - 24 + 4] ^= 1; /* context id */
	expect_fault(&s, a.data, a.len, MP_ERR_PROTO, MP_FAULT_ACCESS_DENIED);
	peers_free(&q);

	mp_wb_free(&a);
	mp_wb_free(&b);
	free(stub);
	peers_free(&p);
}

/* ---- tests: protect errors ------------------------------------------------ */

static void test_protect_errors(void **state)
{
	(void)state;
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	uint8_t stub[40] = {0};
	struct mp_pdu_request r = {.opnum = 1};

	/* The NTLM context is not established yet. */
	struct mp_ntlm *c;
	uint32_t st = 1;
	uint64_t now = t_now;
	struct mp_ntlm_client_config cc = {.user = T_USER, .domain = T_DOMAIN, .password = T_PASSWORD,
					   .want = MP_NTLM_WANT_SIGN | MP_NTLM_WANT_SEAL,
					   .rng = lcg_rng, .rng_arg = &st, .clock = fixed_clock,
					   .clock_arg = &now};
	assert_int_equal(mp_ntlm_client_new(&cc, &c), MP_OK);
	struct mp_sec s;
	assert_int_equal(mp_sec_init(&s, MP_AUTH_TYPE_NTLMSSP, MP_AUTH_LEVEL_PKT_PRIVACY, 1, false, c),
			 MP_OK);
	mp_pdu_encode_request(&wb, 3, 1, &r, stub, 10);
	struct mp_wbuf copy;
	mp_wb_init(&copy);
	mp_wb_bytes(&copy, wb.data, wb.len);
	assert_int_equal(mp_sec_protect(&s, &wb, 0), MP_ERR_PROTO);
	assert_int_equal(wb.len, copy.len); /* left as it was */
	assert_memory_equal(wb.data, copy.data, wb.len);
	assert_int_equal(mp_sec_encode_request_frags(&s, &wb, 1, &r, stub, 10, 4280), MP_ERR_PROTO);
	mp_ntlm_free(c);
	mp_wb_free(&copy);

	/* A context filled by hand without an NTLM context. */
	struct mp_sec bare = {.auth_type = 10, .auth_level = MP_AUTH_LEVEL_PKT_INTEGRITY,
			      .auth_ctx_id = T_CTX_ID};
	wb.len = 0;
	mp_pdu_encode_request(&wb, 3, 1, &r, stub, 10);
	assert_int_equal(mp_sec_protect(&bare, &wb, 0), MP_ERR_PROTO);

	struct ends e;
	ends_up(&e, MP_AUTH_LEVEL_PKT_INTEGRITY, false);
	wb.len = 0;
	put_request(&e.cs, &wb, 3, 1, stub, 10, false);
	expect_fault(&bare, wb.data, wb.len, MP_ERR_AUTH, MP_FAULT_SEC_PKG_ERROR);
	ends_free(&e);
	ends_up(&e, MP_AUTH_LEVEL_PKT_INTEGRITY, false);
	/* Not a request/response; already protected; start past the end. */
	wb.len = 0;
	struct mp_pdu_bind b = {.max_xmit = 4280, .max_recv = 4280};
	mp_pdu_encode_bind(&wb, MP_PDU_BIND, 3, 1, &b);
	assert_int_equal(mp_sec_protect(&e.cs, &wb, 0), MP_ERR_PROTO);
	wb.len = 0;
	put_request(&e.cs, &wb, 3, 1, stub, 10, false);
	assert_int_equal(mp_sec_protect(&e.cs, &wb, 0), MP_ERR_PROTO);
	assert_int_equal(mp_sec_protect(&e.cs, &wb, wb.len - 3), MP_ERR_PROTO);
	assert_int_equal(mp_sec_protect(&e.cs, &wb, wb.len + 1), MP_ERR_PROTO);
	/* A request header cut short. */
	wb.len = 0;
	mp_pdu_encode_request(&wb, 3, 1, &r, NULL, 0);
	wb.len = 20;
	assert_int_equal(mp_sec_protect(&e.cs, &wb, 0), MP_ERR_PROTO);
	/* Too big once the trailer is added. */
	wb.len = 0;
	uint8_t *big = pattern(65535 - 24 - 20, 1);
	mp_pdu_encode_request(&wb, 3, 1, &r, big, 65535 - 24 - 20);
	assert_false(wb.bad);
	assert_int_equal(mp_sec_protect(&e.cs, &wb, 0), MP_ERR_LIMIT);
	free(big);
	/* max_frag too small for any stub. */
	wb.len = 0;
	assert_int_equal(mp_sec_encode_request_frags(&e.cs, &wb, 1, &r, stub, 10, 48), MP_ERR_LIMIT);
	assert_int_equal(mp_sec_encode_response_frags(&e.cs, &wb, 1, 0, stub, 10, 63), MP_ERR_LIMIT);
	/* The smallest that works: 16 stub bytes per fragment (fresh contexts:
	   the fragment protected above used a sequence number). */
	ends_free(&e);
	ends_up(&e, MP_AUTH_LEVEL_PKT_INTEGRITY, false);
	struct mp_wbuf out;
	mp_wb_init(&out);
	assert_int_equal(mp_sec_encode_request_frags(&e.cs, &wb, 1, &r, stub, 40, 64), MP_OK);
	assert_int_equal(unprotect_call(&e.ss, wb.data, wb.len, 64, MP_PDU_REQUEST, 40, &out), 3);
	assert_memory_equal(out.data, stub, 40);
	mp_wb_free(&out);
	ends_free(&e);
	mp_wb_free(&wb);
}

/* ---- tests: bind / alter / auth3 trailers --------------------------------- */

static const uint8_t t_token[] = "NTLMSSP\0 a token of 27 bytes";

static void test_append_auth(void **state)
{
	(void)state;
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	struct mp_pdu pdu;

	/* bind: the body is 4-aligned, no pad. */
	struct mp_pdu_bind b = {.max_xmit = 4280, .max_recv = 4280, .n_ctx = 1};
	b.ctx[0].n_ts = 1;
	mp_pdu_encode_bind(&wb, MP_PDU_BIND, 3, 1, &b);
	size_t body = wb.len;
	assert_int_equal(mp_sec_append_auth(&wb, 0, MP_AUTH_TYPE_NTLMSSP,
					    MP_AUTH_LEVEL_PKT_PRIVACY, 77, t_token,
					    sizeof(t_token)),
			 MP_OK);
	assert_int_equal(wb.len, body + 8 + sizeof(t_token));
	assert_int_equal(mp_pdu_parse(wb.data, wb.len, &pdu), MP_OK);
	assert_true(pdu.has_auth);
	assert_int_equal(pdu.hdr.auth_len, sizeof(t_token));
	assert_int_equal(pdu.auth.type, MP_AUTH_TYPE_NTLMSSP);
	assert_int_equal(pdu.auth.level, MP_AUTH_LEVEL_PKT_PRIVACY);
	assert_int_equal(pdu.auth.pad_len, 0);
	assert_int_equal(pdu.auth.ctx_id, 77);
	assert_memory_equal(pdu.auth.value, t_token, sizeof(t_token));
	assert_int_equal(pdu.u.bind.n_ctx, 1);
	/* Twice is an error. */
	assert_int_equal(mp_sec_append_auth(&wb, 0, 10, 6, 77, t_token, 4), MP_ERR_PROTO);

	/* auth3 from the bare header: 4 pad bytes, then the trailer at 20. */
	wb.len = 0;
	mp_pdu_encode_empty(&wb, MP_PDU_AUTH3, 3, 2);
	assert_int_equal(mp_sec_append_auth(&wb, 0, 10, 5, 1, t_token, 10), MP_OK);
	assert_int_equal(wb.len, 16 + 4 + 8 + 10);
	assert_int_equal(mp_get_u16(wb.data + 8), wb.len);
	assert_int_equal(mp_get_u16(wb.data + 10), 10);
	assert_int_equal(mp_get_u32(wb.data + 16), 0);
	assert_int_equal(mp_pdu_parse(wb.data, wb.len, &pdu), MP_OK);
	assert_int_equal(pdu.auth.level, 5);
	assert_int_equal(pdu.auth.pad_len, 0);
	assert_memory_equal(pdu.auth.value, t_token, 10);

	/* auth3 that already has its pad: nothing added before the trailer. */
	wb.len = 0;
	size_t st = mp_pdu_begin(&wb, MP_PDU_AUTH3, 3, 2);
	mp_wb_u32(&wb, 0);
	mp_pdu_finish(&wb, st, 0);
	assert_int_equal(mp_sec_append_auth(&wb, 0, 10, 5, 1, t_token, 10), MP_OK);
	assert_int_equal(wb.len, 16 + 4 + 8 + 10);

	/* bind_ack with an odd secondary address, after another fragment in
	   the buffer: alignment counts from the fragment start. */
	wb.len = 0;
	mp_wb_bytes(&wb, "xyz", 3);
	struct mp_pdu_bind_ack a = {.max_xmit = 4280, .max_recv = 4280, .assoc_group = 0x1234,
				    .n_results = 1};
	snprintf(a.sec_addr, sizeof(a.sec_addr), "%s", "49667");
	mp_pdu_encode_bind_ack(&wb, MP_PDU_BIND_ACK, 3, 1, &a);
	assert_int_equal(mp_sec_append_auth(&wb, 3, 10, 6, 9, t_token, sizeof(t_token)), MP_OK);
	assert_int_equal(mp_pdu_parse(wb.data + 3, wb.len - 3, &pdu), MP_OK);
	assert_int_equal(pdu.auth.ctx_id, 9);
	assert_int_equal(pdu.auth.pad_len, 0);
	assert_string_equal(pdu.u.bind_ack.sec_addr, "49667");
	assert_memory_equal(pdu.auth.value, t_token, sizeof(t_token));

	/* A body that is not 4-aligned gets zero pad, counted in auth_pad_length. */
	wb.len = 0;
	mp_pdu_encode_bind(&wb, MP_PDU_ALTER, 3, 1, &b);
	mp_wb_u16(&wb, 0xffff);
	mp_pdu_finish(&wb, 0, 0);
	assert_int_equal(mp_sec_append_auth(&wb, 0, 9, 6, 9, t_token, 5), MP_OK);
	size_t t = wb.len - 5 - 8;
	assert_int_equal(t % 4, 0);
	assert_int_equal(wb.data[t + 2], 2);
	assert_int_equal(mp_get_u16(wb.data + t - 2), 0);
	assert_int_equal(mp_pdu_parse(wb.data, wb.len, &pdu), MP_OK);
	assert_int_equal(pdu.auth.pad_len, 2);
	assert_int_equal(pdu.auth.type, 9);

	/* Errors: a request, an empty token, a too-long token, bad offsets. */
	wb.len = 0;
	struct mp_pdu_request r = {0};
	mp_pdu_encode_request(&wb, 3, 1, &r, NULL, 0);
	assert_int_equal(mp_sec_append_auth(&wb, 0, 10, 6, 1, t_token, 4), MP_ERR_PROTO);
	wb.len = 0;
	mp_pdu_encode_bind(&wb, MP_PDU_BIND, 3, 1, &b);
	assert_int_equal(mp_sec_append_auth(&wb, 0, 10, 6, 1, t_token, 0), MP_ERR_PROTO);
	assert_int_equal(mp_sec_append_auth(&wb, 0, 10, 6, 1, t_token, 70000), MP_ERR_LIMIT);
	uint8_t *big = pattern(65500, 0);
	assert_int_equal(mp_sec_append_auth(&wb, 0, 10, 6, 1, big, 65500), MP_ERR_LIMIT);
	free(big);
	assert_int_equal(mp_sec_append_auth(&wb, wb.len - 4, 10, 6, 1, t_token, 4), MP_ERR_PROTO);
	assert_int_equal(mp_sec_append_auth(&wb, wb.len + 1, 10, 6, 1, t_token, 4), MP_ERR_PROTO);
	mp_wb_free(&wb);
}

/* ---- golden vectors: impacket -------------------------------------------- */

static const char *data_dir;

#include "test_data.h"

static struct blob load(const char *name)
{
	char path[1024];
	struct blob b;
	snprintf(path, sizeof(path), "%s/sec_%s.bin", data_dir, name);
	if (!read_path(path, &b))
		fail_msg("cannot read %s (set MP_TEST_DATA_DIR)", path);
	return b;
}

/*
 * Our server's answer to a bind carrying an NTLMSSP NEGOTIATE: a bind_ack
 * accepting the first context with NDR, our CHALLENGE in an auth trailer
 * with the bind's type / level / context id. The server context is left in
 * p->s. Returns MP_OK or an error.
 */
static int answer_bind(struct peers *p, const uint8_t *bind, size_t len, struct mp_wbuf *out)
{
	memset(p, 0, sizeof(*p));
	p->srng = 0x5e7e7u;
	p->now = t_now;
	struct mp_pdu pdu;
	int rc = mp_pdu_parse(bind, len, &pdu);
	if (rc != MP_OK)
		return rc;
	if (pdu.hdr.ptype != MP_PDU_BIND || !pdu.has_auth || pdu.u.bind.n_ctx < 1)
		return MP_ERR_PROTO;
	rc = server_new(p);
	if (rc != MP_OK)
		return rc;
	struct mp_wbuf chal;
	mp_wb_init(&chal);
	rc = mp_ntlm_server_challenge(p->s, pdu.auth.value, pdu.hdr.auth_len, &chal);
	if (rc == MP_OK) {
		static const struct mp_uuid ndr = {{0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11,
						    0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60}};
		struct mp_pdu_bind_ack a = {.max_xmit = 4280, .max_recv = 4280,
					    .assoc_group = 0x00012345, .n_results = 1};
		snprintf(a.sec_addr, sizeof(a.sec_addr), "%s", "49667");
		a.res[0].result = MP_CTX_ACCEPT;
		a.res[0].ts.uuid = ndr;
		a.res[0].ts.major = 2;
		size_t start = out->len;
		mp_pdu_encode_bind_ack(out, MP_PDU_BIND_ACK, MP_PFC_FIRST_FRAG | MP_PFC_LAST_FRAG,
				       pdu.hdr.call_id, &a);
		rc = mp_sec_append_auth(out, start, pdu.auth.type, pdu.auth.level, pdu.auth.ctx_id,
					chal.data, chal.len);
	}
	mp_wb_free(&chal);
	return rc;
}

/* Records of the _stubs files: opnum u16, has_object u8, object[16], len u32, bytes. */
struct call_rec {
	uint16_t opnum;
	bool has_object;
	const uint8_t *object;
	const uint8_t *stub;
	size_t len;
};

static bool next_rec(const struct blob *b, size_t *off, struct call_rec *r)
{
	if (*off == b->len)
		return false;
	assert_true(b->len - *off >= 23);
	const uint8_t *p = b->p + *off;
	r->opnum = mp_get_u16(p);
	r->has_object = p[2];
	r->object = p + 3;
	r->len = mp_get_u32(p + 19);
	assert_true(b->len - *off - 23 >= r->len);
	r->stub = p + 23;
	*off += 23 + r->len;
	return true;
}

/* Unprotect every fragment of `frags` with s and compare calls with `stubs`. */
static void check_calls(struct mp_sec *s, struct blob *frags, struct blob *stubs, uint8_t ptype,
			size_t want_calls, size_t min_frags)
{
	struct mp_wbuf call;
	mp_wb_init(&call);
	size_t off = 0, soff = 0, calls = 0, nfrags = 0;
	bool in_call = false;
	while (off < frags->len) {
		assert_true(frags->len - off >= MP_PDU_HDR_LEN);
		size_t flen = mp_get_u16(frags->p + off + 8);
		assert_true(flen >= MP_PDU_HDR_LEN && flen <= frags->len - off);
		struct mp_pdu pdu;
		uint32_t fault = 0;
		int rc = mp_sec_unprotect(s, frags->p + off, flen, &pdu, &fault);
		if (rc != MP_OK)
			fail_msg("fragment %zu: %s (fault 0x%08x)", nfrags, mp_ntlm_status_name(rc),
				 (unsigned)fault);
		assert_int_equal(pdu.hdr.ptype, ptype);
		assert_true(pdu.has_auth);
		assert_int_equal(!!(pdu.hdr.pfc_flags & MP_PFC_FIRST_FRAG), !in_call);
		if (!in_call)
			call.len = 0;
		mp_wb_bytes(&call, pdu.stub, pdu.stub_len);
		in_call = true;
		struct call_rec rec = {0};
		if (pdu.hdr.pfc_flags & MP_PFC_LAST_FRAG) {
			assert_true(next_rec(stubs, &soff, &rec));
			assert_int_equal(call.len, rec.len);
			if (rec.len)
				assert_memory_equal(call.data, rec.stub, rec.len);
			if (ptype == MP_PDU_REQUEST) {
				assert_int_equal(pdu.u.request.opnum, rec.opnum);
				assert_int_equal(pdu.u.request.has_object, rec.has_object);
				if (rec.has_object)
					assert_memory_equal(pdu.u.request.object.b, rec.object, 16);
			}
			in_call = false;
			calls++;
		}
		off += flen;
		nfrags++;
	}
	assert_false(in_call);
	assert_int_equal(soff, stubs->len);
	assert_int_equal(calls, want_calls);
	assert_true(nfrags >= min_frags);
	mp_wb_free(&call);
}

static void impacket_requests(const char *scn, uint8_t level)
{
	char name[64];
	struct blob bind, ack, auth3, reqs, stubs, key;
	snprintf(name, sizeof(name), "%s_bind", scn);
	bind = load(name);
	snprintf(name, sizeof(name), "%s_bind_ack", scn);
	ack = load(name);
	snprintf(name, sizeof(name), "%s_auth3", scn);
	auth3 = load(name);
	snprintf(name, sizeof(name), "%s_requests", scn);
	reqs = load(name);
	snprintf(name, sizeof(name), "%s_stubs", scn);
	stubs = load(name);
	snprintf(name, sizeof(name), "%s_session_key", scn);
	key = load(name);

	/* Our server answers impacket's bind exactly as when the vector was made. */
	struct peers p;
	struct mp_wbuf out;
	mp_wb_init(&out);
	assert_int_equal(answer_bind(&p, bind.p, bind.len, &out), MP_OK);
	assert_int_equal(out.len, ack.len);
	assert_memory_equal(out.data, ack.p, ack.len);

	/* impacket's bind trailer: NTLMSSP, the level, ctx id 79231. */
	struct mp_pdu pdu;
	assert_int_equal(mp_pdu_parse(bind.p, bind.len, &pdu), MP_OK);
	assert_int_equal(pdu.auth.type, MP_AUTH_TYPE_NTLMSSP);
	assert_int_equal(pdu.auth.level, level);
	assert_int_equal(pdu.auth.ctx_id, T_CTX_ID);
	assert_int_equal(pdu.hdr.pfc_flags & MP_PFC_SUPPORT_HEADER_SIGN, 0);

	/* auth3 carries the AUTHENTICATE. */
	assert_int_equal(mp_pdu_parse(auth3.p, auth3.len, &pdu), MP_OK);
	assert_int_equal(pdu.hdr.ptype, MP_PDU_AUTH3);
	assert_true(pdu.has_auth);
	assert_int_equal(pdu.auth.level, level);
	assert_int_equal(mp_ntlm_server_authenticate(p.s, pdu.auth.value, pdu.hdr.auth_len), MP_OK);
	uint8_t mine[16];
	assert_int_equal(mp_ntlm_session_key(p.s, mine), MP_OK);
	assert_int_equal(key.len, 16);
	assert_memory_equal(mine, key.p, 16);

	struct mp_sec s;
	assert_int_equal(mp_sec_init(&s, pdu.auth.type, pdu.auth.level, pdu.auth.ctx_id, false, p.s),
			 MP_OK);
	check_calls(&s, &reqs, &stubs, MP_PDU_REQUEST, 5, 9);

	mp_wb_free(&out);
	mp_ntlm_free(p.s);
	free(bind.p);
	free(ack.p);
	free(auth3.p);
	free(reqs.p);
	free(stubs.p);
	free(key.p);
}

static void test_impacket_requests_privacy(void **state)
{
	(void)state;
	impacket_requests("priv", MP_AUTH_LEVEL_PKT_PRIVACY);
}

static void test_impacket_requests_integrity(void **state)
{
	(void)state;
	impacket_requests("integ", MP_AUTH_LEVEL_PKT_INTEGRITY);
}

/* A byte flipped anywhere in impacket's first sealed request is caught. */
static void test_impacket_tamper(void **state)
{
	(void)state;
	struct blob bind = load("priv_bind"), auth3 = load("priv_auth3"), reqs = load("priv_requests");
	size_t flen = mp_get_u16(reqs.p + 8);
	for (size_t at = 0; at < flen; at += 3) {
		struct peers p;
		struct mp_wbuf out;
		mp_wb_init(&out);
		assert_int_equal(answer_bind(&p, bind.p, bind.len, &out), MP_OK);
		struct mp_pdu pdu;
		assert_int_equal(mp_pdu_parse(auth3.p, auth3.len, &pdu), MP_OK);
		assert_int_equal(mp_ntlm_server_authenticate(p.s, pdu.auth.value, pdu.hdr.auth_len),
				 MP_OK);
		struct mp_sec s;
		assert_int_equal(mp_sec_init(&s, 10, 6, T_CTX_ID, false, p.s), MP_OK);
		uint8_t f[1024];
		assert_true(flen <= sizeof(f));
		memcpy(f, reqs.p, flen);
		f[at] ^= 0x20;
		uint32_t fault = 0;
		int rc = mp_sec_unprotect(&s, f, flen, &pdu, &fault);
		assert_int_not_equal(rc, MP_OK);
		assert_int_not_equal(fault, 0);
		mp_wb_free(&out);
		mp_ntlm_free(p.s);
	}
	free(bind.p);
	free(auth3.p);
	free(reqs.p);
}

/* Our bind + mp_sec_append_auth lay out the trailer as impacket does. */
static void test_impacket_bind_layout(void **state)
{
	(void)state;
	struct blob bind = load("priv_bind"), auth3 = load("priv_auth3");
	struct mp_pdu pdu;
	assert_int_equal(mp_pdu_parse(bind.p, bind.len, &pdu), MP_OK);
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_pdu_encode_bind(&wb, MP_PDU_BIND, pdu.hdr.pfc_flags, pdu.hdr.call_id, &pdu.u.bind);
	assert_int_equal(mp_sec_append_auth(&wb, 0, pdu.auth.type, pdu.auth.level, pdu.auth.ctx_id,
					    pdu.auth.value, pdu.hdr.auth_len),
			 MP_OK);
	assert_int_equal(wb.len, bind.len);
	assert_memory_equal(wb.data, bind.p, bind.len);

	/* auth3: same except impacket's 4 pad bytes are spaces, ours zeros. */
	assert_int_equal(mp_pdu_parse(auth3.p, auth3.len, &pdu), MP_OK);
	wb.len = 0;
	mp_pdu_encode_empty(&wb, MP_PDU_AUTH3, pdu.hdr.pfc_flags, pdu.hdr.call_id);
	assert_int_equal(mp_sec_append_auth(&wb, 0, pdu.auth.type, pdu.auth.level, pdu.auth.ctx_id,
					    pdu.auth.value, pdu.hdr.auth_len),
			 MP_OK);
	assert_int_equal(wb.len, auth3.len);
	assert_memory_equal(wb.data, auth3.p, 16);
	assert_memory_equal(wb.data + 20, auth3.p + 20, auth3.len - 20);
	mp_wb_free(&wb);
	free(bind.p);
	free(auth3.p);
}

static void impacket_responses(const char *scn, uint8_t level)
{
	char name[64];
	snprintf(name, sizeof(name), "%s_responses", scn);
	struct blob resp = load(name);
	snprintf(name, sizeof(name), "%s_stubs", scn);
	struct blob stubs = load(name);
	struct blob sess = load("resp_session");

	struct peers p;
	assert_int_equal(peers_up(&p, MP_NTLM_WANT_SIGN | MP_NTLM_WANT_SEAL), MP_OK);
	/* The keys the script was given are still the ones our client derives. */
	uint8_t key[16];
	assert_int_equal(sess.len, 20);
	assert_int_equal(mp_get_u32(sess.p), mp_ntlm_flags(p.c));
	assert_int_equal(mp_ntlm_session_key(p.c, key), MP_OK);
	assert_memory_equal(key, sess.p + 4, 16);

	struct mp_sec s;
	assert_int_equal(mp_sec_init(&s, MP_AUTH_TYPE_NTLMSSP, level, T_CTX_ID, false, p.c), MP_OK);
	check_calls(&s, &resp, &stubs, MP_PDU_RESPONSE, 3, 5);
	peers_free(&p);
	free(resp.p);
	free(stubs.p);
	free(sess.p);
}

static void test_impacket_responses_privacy(void **state)
{
	(void)state;
	impacket_responses("resp_priv", MP_AUTH_LEVEL_PKT_PRIVACY);
}

static void test_impacket_responses_integrity(void **state)
{
	(void)state;
	impacket_responses("resp_integ", MP_AUTH_LEVEL_PKT_INTEGRITY);
}

/* ---- vector generation modes ---------------------------------------------- */

/* --emit-bind-ack BIND OUT: our server's bind_ack to impacket's bind. */
static int emit_bind_ack(const char *bind_path, const char *out_path)
{
	struct blob bind;
	if (!read_path(bind_path, &bind)) {
		fprintf(stderr, "cannot read %s\n", bind_path);
		return 2;
	}
	struct peers p;
	struct mp_wbuf out;
	mp_wb_init(&out);
	int rc = answer_bind(&p, bind.p, bind.len, &out);
	if (rc != MP_OK) {
		fprintf(stderr, "bind: %s\n", mp_ntlm_status_name(rc));
		return 1;
	}
	bool ok = write_path(out_path, out.data, out.len);
	mp_wb_free(&out);
	mp_ntlm_free(p.s);
	free(bind.p);
	return ok ? 0 : 2;
}

/* --emit-session OUT: flags (u32 LE) and exported session key of our client. */
static int emit_session(const char *out_path)
{
	struct peers p;
	int rc = peers_up(&p, MP_NTLM_WANT_SIGN | MP_NTLM_WANT_SEAL);
	if (rc != MP_OK) {
		fprintf(stderr, "handshake: %s\n", mp_ntlm_status_name(rc));
		return 1;
	}
	uint8_t rec[20];
	mp_put_u32(rec, mp_ntlm_flags(p.c));
	mp_ntlm_session_key(p.c, rec + 4);
	peers_free(&p);
	return write_path(out_path, rec, sizeof(rec)) ? 0 : 2;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--emit-bind-ack") == 0)
		return emit_bind_ack(argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "--emit-session") == 0)
		return emit_session(argv[2]);
	static char here[1024];
	data_dir = getenv("MP_TEST_DATA_DIR");
	if (!data_dir && argc > 1)
		data_dir = argv[1];
	if (!data_dir) {
		snprintf(here, sizeof(here), "%s", __FILE__);
		char *slash = strrchr(here, '/');
		if (slash)
			snprintf(slash, sizeof(here) - (size_t)(slash - here), "/data");
		else
			snprintf(here, sizeof(here), "data");
		data_dir = here;
	}
#define PT(fn, p) cmocka_unit_test_prestate(fn, (void *)&(p))
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_and_names),
	    cmocka_unit_test(test_frag_room),
	    PT(test_roundtrip, p_pkt_h),
	    PT(test_roundtrip, p_pkt),
	    PT(test_roundtrip, p_int_h),
	    PT(test_roundtrip, p_int),
	    PT(test_roundtrip, p_priv_h),
	    PT(test_roundtrip, p_priv),
	    cmocka_unit_test(test_protect_at_offset),
	    PT(test_fragments, p_int_h),
	    PT(test_fragments, p_int),
	    PT(test_fragments, p_priv_h),
	    PT(test_fragments, p_priv),
	    PT(test_tamper, p_int_h),
	    PT(test_tamper, p_int),
	    PT(test_tamper, p_priv_h),
	    PT(test_tamper, p_priv),
	    PT(test_replay, p_int),
	    PT(test_replay, p_priv_h),
	    PT(test_trailer_mismatch, p_int),
	    PT(test_trailer_mismatch, p_priv_h),
	    PT(test_trailer_mismatch, p_pkt),
	    cmocka_unit_test(test_missing_or_unexpected_trailer),
	    cmocka_unit_test(test_truncated_trailer),
	    cmocka_unit_test(test_connect_level),
	    cmocka_unit_test(test_protect_errors),
	    cmocka_unit_test(test_append_auth),
	    cmocka_unit_test(test_impacket_bind_layout),
	    cmocka_unit_test(test_impacket_requests_privacy),
	    cmocka_unit_test(test_impacket_requests_integrity),
	    cmocka_unit_test(test_impacket_tamper),
	    cmocka_unit_test(test_impacket_responses_privacy),
	    cmocka_unit_test(test_impacket_responses_integrity),
	};
#undef PT
	return cmocka_run_group_tests(tests, NULL, NULL);
}
