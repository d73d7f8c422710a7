/*
 * libFuzzer target: SPNEGO tokens (auth/spnego).
 *
 * Each input is parsed as a NegTokenInit and as a NegTokenResp; at most one
 * may succeed, and a token that parses:
 *   - has every view (OIDs, mechTypes DER, tokens, MICs, hints) inside the
 *     input;
 *   - re-encodes to exactly the input (strict DER is canonical), and its
 *     mechTypes DER is what mp_spnego_encode_mech_types() writes for its
 *     mechanisms;
 *   - gives a consistent mp_spnego_choose_ntlm() answer;
 *   - prints its OIDs (mp_spnego_oid_str) into small and large buffers.
 * The input also feeds the encoders: cut into fields (presence bits, a
 * negState, OIDs that may be invalid, byte strings) it is encoded as both
 * tokens, and whatever encodes must parse back to the same fields.
 * Embedded NTLM tokens go through mp_spnego_ntlm_auth_has_mic(), and a
 * NegTokenResp's mechListMIC is checked against an established NTLM server
 * context (the verdict must be MP_OK or MP_ERR_AUTH; never a crash).
 */
#include "auth/ntlm_crypto.h"
#include "auth/ntlmssp.h"
#include "auth/spnego.h"
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

static const uint8_t *g_base;
static size_t g_size;

static void check_view(struct mp_spnego_bytes b)
{
	if (b.len == 0)
		return;
	check(b.p >= g_base && b.len <= g_size && b.p + b.len <= g_base + g_size);
}

static void check_oid_str(struct mp_spnego_bytes der)
{
	char small[6], big[512];
	mp_spnego_oid_str(der.p, der.len, small, sizeof(small));
	check(strlen(small) < sizeof(small));
	mp_spnego_oid_str(der.p, der.len, big, sizeof(big));
	check(big[0] != '\0');
	check(strncmp(small, big, strlen(small)) == 0);
}

static bool bytes_eq(struct mp_spnego_bytes a, struct mp_spnego_bytes b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static bool oid_eq(const struct mp_spnego_oid *a, const struct mp_spnego_oid *b)
{
	struct mp_spnego_bytes da = a->der.len ? a->der : mp_spnego_mech_oid(a->mech);
	struct mp_spnego_bytes db = b->der.len ? b->der : mp_spnego_mech_oid(b->mech);
	return bytes_eq(da, db);
}

static bool init_eq(const struct mp_spnego_init *a, const struct mp_spnego_init *b)
{
	if (a->n_mechs != b->n_mechs)
		return false;
	for (size_t i = 0; i < a->n_mechs; i++)
		if (!oid_eq(&a->mechs[i], &b->mechs[i]))
			return false;
	bool init2_a = a->is_init2 || a->has_neg_hints, init2_b = b->is_init2 || b->has_neg_hints;
	if (a->has_mech_list_mic && init2_a != init2_b)
		return false;
	if (a->has_neg_hints != b->has_neg_hints)
		return false;
	if (a->has_neg_hints &&
	    (a->has_hint_name != b->has_hint_name || a->has_hint_address != b->has_hint_address ||
	     (a->has_hint_name && !bytes_eq(a->hint_name, b->hint_name)) ||
	     (a->has_hint_address && !bytes_eq(a->hint_address, b->hint_address))))
		return false;
	return a->has_req_flags == b->has_req_flags &&
	       (!a->has_req_flags || bytes_eq(a->req_flags, b->req_flags)) &&
	       a->has_mech_token == b->has_mech_token &&
	       (!a->has_mech_token || bytes_eq(a->mech_token, b->mech_token)) &&
	       a->has_mech_list_mic == b->has_mech_list_mic &&
	       (!a->has_mech_list_mic || bytes_eq(a->mech_list_mic, b->mech_list_mic));
}

static bool resp_eq(const struct mp_spnego_resp *a, const struct mp_spnego_resp *b)
{
	return a->has_neg_state == b->has_neg_state &&
	       (!a->has_neg_state || a->neg_state == b->neg_state) &&
	       a->has_supported_mech == b->has_supported_mech &&
	       (!a->has_supported_mech || oid_eq(&a->supported_mech, &b->supported_mech)) &&
	       a->has_response_token == b->has_response_token &&
	       (!a->has_response_token || bytes_eq(a->response_token, b->response_token)) &&
	       a->has_mech_list_mic == b->has_mech_list_mic &&
	       (!a->has_mech_list_mic || bytes_eq(a->mech_list_mic, b->mech_list_mic));
}

/* ---- an established NTLM server, to check mechListMICs against ------------- */

struct fixed {
	const uint8_t *p;
	size_t len, off;
};

static int fixed_rng(void *arg, uint8_t *buf, size_t len)
{
	struct fixed *r = arg;
	for (size_t i = 0; i < len; i++)
		buf[i] = r->p[(r->off + i) % r->len];
	r->off += len;
	return MP_OK;
}

static uint64_t fixed_clock(void *arg)
{
	return 133300000000000000ull;
}

static int lookup(void *arg, const char *user, const char *domain, uint8_t nt_hash[16])
{
	return mp_ntlm_ntowfv1("fuzz-password", nt_hash);
}

/* A fresh established server context (client and server from fixed RNGs). */
static struct mp_ntlm *established_server(void)
{
	static const uint8_t bytes[] = "spnego fuzz rng bytes, any will do";
	struct fixed rc = {bytes, sizeof(bytes), 0}, rs = {bytes, sizeof(bytes), 7};
	struct mp_ntlm_client_config cc = {.user = "u",
	                                   .domain = "D",
	                                   .password = "fuzz-password",
	                                   .want = MP_NTLM_WANT_SEAL,
	                                   .rng = fixed_rng,
	                                   .rng_arg = &rc,
	                                   .clock = fixed_clock};
	struct mp_ntlm_server_config sc = {.nb_computer_name = "S",
	                                   .nb_domain_name = "D",
	                                   .lookup = lookup,
	                                   .rng = fixed_rng,
	                                   .rng_arg = &rs,
	                                   .clock = fixed_clock};
	struct mp_ntlm *c = NULL, *s = NULL;
	struct mp_wbuf neg, chal, auth;
	mp_wb_init(&neg);
	mp_wb_init(&chal);
	mp_wb_init(&auth);
	bool ok = mp_ntlm_client_new(&cc, &c) == MP_OK && mp_ntlm_server_new(&sc, &s) == MP_OK &&
	          mp_ntlm_client_negotiate(c, &neg) == MP_OK &&
	          mp_ntlm_server_challenge(s, neg.data, neg.len, &chal) == MP_OK &&
	          mp_ntlm_client_authenticate(c, chal.data, chal.len, &auth) == MP_OK &&
	          mp_ntlm_server_authenticate(s, auth.data, auth.len) == MP_OK;
	if (ok)
		check(mp_spnego_ntlm_auth_has_mic(auth.data, auth.len));
	mp_wb_free(&neg);
	mp_wb_free(&chal);
	mp_wb_free(&auth);
	mp_ntlm_free(c);
	if (!ok) {
		mp_ntlm_free(s);
		return NULL;
	}
	return s;
}

/* ---- parsers ----------------------------------------------------------------- */

static void fuzz_init(const uint8_t *data, size_t size, const struct mp_spnego_init *in)
{
	check(in->n_mechs >= 1 && in->n_mechs <= MP_SPNEGO_MAX_MECHS);
	check_view(in->mech_types_der);
	for (size_t i = 0; i < in->n_mechs; i++) {
		check_view(in->mechs[i].der);
		check(in->mechs[i].mech ==
		      mp_spnego_mech_of(in->mechs[i].der.p, in->mechs[i].der.len));
		check(mp_spnego_mech_name(in->mechs[i].mech) != NULL);
		check_oid_str(in->mechs[i].der);
	}
	if (in->has_req_flags)
		check_view(in->req_flags);
	if (in->has_mech_token) {
		check_view(in->mech_token);
		(void)mp_spnego_ntlm_auth_has_mic(in->mech_token.p, in->mech_token.len);
	}
	check(!in->has_neg_hints || in->is_init2);
	check(in->has_neg_hints || (!in->has_hint_name && !in->has_hint_address));
	check_view(in->hint_name);
	check_view(in->hint_address);
	check_view(in->mech_list_mic);

	struct mp_wbuf wb;
	mp_wb_init(&wb);
	int rc = mp_spnego_encode_init(&wb, in);
	check(rc == MP_OK || rc == MP_ERR_NOMEM);
	if (rc == MP_OK)
		check(wb.len == size && memcmp(wb.data, data, size) == 0);
	wb.len = 0;
	rc = mp_spnego_encode_mech_types(&wb, in->mechs, in->n_mechs);
	check(rc == MP_OK || rc == MP_ERR_NOMEM);
	if (rc == MP_OK)
		check(bytes_eq((struct mp_spnego_bytes){wb.data, wb.len}, in->mech_types_der));
	mp_wb_free(&wb);

	struct mp_spnego_choice ch;
	rc = mp_spnego_choose_ntlm(in, &ch);
	size_t first = in->n_mechs;
	for (size_t i = 0; i < in->n_mechs && first == in->n_mechs; i++)
		if (in->mechs[i].mech == MP_SPNEGO_MECH_NTLMSSP)
			first = i;
	if (first == in->n_mechs) {
		check(rc == MP_ERR_UNSUPPORTED);
	} else {
		check(rc == MP_OK && ch.index == first && ch.downgraded == (first > 0));
		check(ch.use_token == (first == 0 && in->has_mech_token));
		check(ch.neg_state ==
		      (first > 0 ? MP_SPNEGO_REQUEST_MIC : MP_SPNEGO_ACCEPT_INCOMPLETE));
	}
}

static void fuzz_resp(const uint8_t *data, size_t size, const struct mp_spnego_resp *r)
{
	if (r->has_neg_state)
		check(r->neg_state <= MP_SPNEGO_REQUEST_MIC &&
		      strcmp(mp_spnego_neg_state_name(r->neg_state), "unknown") != 0);
	if (r->has_supported_mech) {
		check_view(r->supported_mech.der);
		check_oid_str(r->supported_mech.der);
	}
	check_view(r->response_token);
	check_view(r->mech_list_mic);
	if (r->has_response_token)
		(void)mp_spnego_ntlm_auth_has_mic(r->response_token.p, r->response_token.len);

	struct mp_wbuf wb;
	mp_wb_init(&wb);
	int rc = mp_spnego_encode_resp(&wb, r);
	check(rc == MP_OK || rc == MP_ERR_NOMEM);
	if (rc == MP_OK)
		check(wb.len == size && memcmp(wb.data, data, size) == 0);
	mp_wb_free(&wb);

	/* The server's check of a client's mechListMIC over some mechTypes. */
	if (r->has_mech_list_mic) {
		struct mp_ntlm *s = established_server();
		if (s) {
			static const uint8_t mt[] = {0x30, 0x0c, 0x06, 0x0a, 0x2b, 0x06, 0x01,
			                             0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a};
			rc = mp_spnego_mic_verify(s, mt, sizeof(mt), r->mech_list_mic.p,
			                          r->mech_list_mic.len);
			check(rc == MP_OK || rc == MP_ERR_AUTH);
			mp_ntlm_free(s);
		}
	}
}

/* ---- encoders, fed with fields cut from the input --------------------------- */

struct cutter {
	const uint8_t *p;
	size_t len;
};

static uint8_t cut_u8(struct cutter *c)
{
	if (c->len == 0)
		return 0;
	c->len--;
	return *c->p++;
}

static struct mp_spnego_bytes cut_bytes(struct cutter *c)
{
	size_t n = cut_u8(c);
	if (n > c->len)
		n = c->len;
	struct mp_spnego_bytes b = {c->p, n};
	c->p += n;
	c->len -= n;
	return b;
}

static struct mp_spnego_oid cut_oid(struct cutter *c)
{
	uint8_t k = cut_u8(c);
	if (k < 0x80) /* a known mechanism by enum (0 = OTHER: no OID, encoder refuses) */
		return (struct mp_spnego_oid){(enum mp_spnego_mech)(k % 7), {NULL, 0}};
	struct mp_spnego_bytes b = cut_bytes(c);
	return (struct mp_spnego_oid){mp_spnego_mech_of(b.p, b.len), b};
}

static void fuzz_encoders(const uint8_t *data, size_t size)
{
	struct cutter c = {data, size};
	uint8_t bits = cut_u8(&c);

	struct mp_spnego_resp r = {0}, rb;
	r.has_neg_state = bits & 1;
	r.neg_state = cut_u8(&c) % 5; /* 4 is refused */
	r.has_supported_mech = bits & 2;
	if (r.has_supported_mech)
		r.supported_mech = cut_oid(&c);
	r.has_response_token = bits & 4;
	r.response_token = cut_bytes(&c);
	r.has_mech_list_mic = bits & 8;
	r.mech_list_mic = cut_bytes(&c);
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	int rc = mp_spnego_encode_resp(&wb, &r);
	check(rc == MP_OK || rc == MP_ERR_PARSE || rc == MP_ERR_NOMEM);
	if (rc == MP_OK) {
		check(mp_spnego_parse_resp(wb.data, wb.len, &rb) == MP_OK);
		check(resp_eq(&r, &rb));
	} else {
		check(wb.len == 0);
	}

	struct mp_spnego_init t = {0}, tb;
	t.n_mechs = cut_u8(&c) % 5; /* 0 is refused */
	for (size_t i = 0; i < t.n_mechs; i++)
		t.mechs[i] = cut_oid(&c);
	t.has_req_flags = bits & 16;
	t.req_flags = cut_bytes(&c);
	t.has_mech_token = bits & 32;
	t.mech_token = cut_bytes(&c);
	t.has_neg_hints = bits & 64;
	t.is_init2 = cut_u8(&c) & 1;
	t.has_hint_name = bits & 128;
	t.hint_name = cut_bytes(&c);
	t.has_hint_address = cut_u8(&c) & 1;
	t.hint_address = cut_bytes(&c);
	t.has_mech_list_mic = cut_u8(&c) & 1;
	t.mech_list_mic = cut_bytes(&c);
	wb.len = 0;
	rc = mp_spnego_encode_init(&wb, &t);
	check(rc == MP_OK || rc == MP_ERR_PARSE || rc == MP_ERR_NOMEM);
	if (rc == MP_OK) {
		check(mp_spnego_parse_init(wb.data, wb.len, &tb) == MP_OK);
		check(init_eq(&t, &tb));
	} else {
		check(wb.len == 0);
	}
	mp_wb_free(&wb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 20)
		return 0;
	g_base = data;
	g_size = size;
	struct mp_spnego_init in;
	struct mp_spnego_resp r;
	int ri = mp_spnego_parse_init(data, size, &in);
	int rr = mp_spnego_parse_resp(data, size, &r);
	check(ri == MP_OK || ri == MP_ERR_PARSE || ri == MP_ERR_LIMIT);
	check(rr == MP_OK || rr == MP_ERR_PARSE);
	check(!(ri == MP_OK && rr == MP_OK));
	int type = mp_spnego_token_type(data, size);
	if (ri == MP_OK) {
		check(type == MP_SPNEGO_TOKEN_INIT);
		fuzz_init(data, size, &in);
	}
	if (rr == MP_OK) {
		check(type == MP_SPNEGO_TOKEN_RESP);
		fuzz_resp(data, size, &r);
	}
	(void)mp_spnego_ntlm_auth_has_mic(data, size);
	fuzz_encoders(data, size);
	return 0;
}
