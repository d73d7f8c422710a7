/*
 * Unit tests: auth/spnego (SPNEGO tokens, NTLMSSP in SPNEGO).
 *
 * Golden vectors, tests/unit/data/spnego_*.bin, written by
 * tests/unit/data/gen_spnego.py from three producers other than our encoder:
 *   spnego_imp_*   impacket 0.10's impacket.spnego around the fixed NTLM
 *                  messages ntlm_impacket_v2_*.bin;
 *   spnego_asn1_*  pyasn1 0.4.8's DER encoder with the RFC 4178 / MS-SPNG
 *                  ASN.1 (reqFlags, mechListMIC, NegTokenInit2 negHints, ...);
 *   spnego_samba*  Samba 4.17's SPNEGO client (samba.gensec) in a whole
 *                  exchange with OUR server, which this program runs step by
 *                  step in `--serve DIR PREFIX N` mode (fixed RNG and clock):
 *                  Samba checked our tokens, our mechListMIC and our
 *                  post-handshake signature / seal; its own are replayed here.
 * For each: our parser gets the fields the producer was given, and our
 * encoder, given the same fields, writes the same bytes.
 *
 * Then: our client against our server (NTLMSSP first, and downgraded:
 * request-mic, mechListMIC required), the mechListMIC sequence-number / RC4
 * rules, and malformed DER (every truncation, every byte mutated, lengths,
 * tags, indefinite form, deep nesting): MP_ERR_PARSE / MP_ERR_LIMIT, and a
 * mutated token that still parses must re-encode to itself.
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
#include "auth/spnego.h"
#include "ntlm_fixtures.h"
#include "util/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *data_dir;

/* Our server, as in test_ntlm_impacket.c (the same fixed challenge and clock). */
static const uint8_t srv_challenge[8] = {0x5a, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};
static const uint64_t srv_now = 133300000000000000ull;
#define T_USER "j\xc3\xbcrgen"                 /* jürgen */
#define T_PASSWORD "p\xc3\xa4sswort-\xc3\x9f!" /* pässwort-ß! */
#define HINT_NAME "not_defined_in_RFC4178@please_ignore"

/* Post-handshake plaintexts, as in gen_spnego.py. */
static const char *const s2c_plain[2] = {"server to client after SPNEGO: signed",
                                         "server to client after SPNEGO: sealed"};
static const char *const c2s_plain[2] = {"client to server after SPNEGO: signed by samba",
                                         "client to server after SPNEGO: wrapped by samba"};

/* ---- files ------------------------------------------------------------------ */

#include "test_data.h"
#include "hexbytes.h"

/* data_dir/name, e.g. "spnego_imp_init_ntlm.bin". */
static struct blob load(const char *name)
{
	char path[1024];
	struct blob b;
	snprintf(path, sizeof(path), "%s/%s", data_dir, name);
	if (!read_path(path, &b))
		fail_msg("cannot read %s (set MP_TEST_DATA_DIR)", path);
	return b;
}

static struct blob load_vec(const char *name)
{
	char file[256];
	snprintf(file, sizeof(file), "spnego_%s.bin", name);
	return load(file);
}

/* gen_spnego.py fake(): deterministic filler. */
static struct blob fake_bytes(size_t n, unsigned seed)
{
	struct blob b = {malloc(n ? n : 1), n};
	assert_non_null(b.p);
	for (size_t i = 0; i < n; i++)
		b.p[i] = (uint8_t)(seed + 31 * i);
	return b;
}

static struct mp_spnego_bytes view(const struct blob *b)
{
	return (struct mp_spnego_bytes){b->p, b->len};
}

static struct mp_spnego_oid oid_of(enum mp_spnego_mech m)
{
	return (struct mp_spnego_oid){m, mp_spnego_mech_oid(m)};
}

/* 2.999.3: first sub-identifier 2 * 40 + 999 = 1079 = 0x88 0x37. */
static const uint8_t oid_unknown[] = {0x88, 0x37, 0x03};

/* ---- field comparison -------------------------------------------------------- */

static void assert_bytes(struct mp_spnego_bytes got, struct mp_spnego_bytes want)
{
	assert_int_equal(got.len, want.len);
	if (want.len)
		assert_memory_equal(got.p, want.p, want.len);
}

static void assert_oid(const struct mp_spnego_oid *got, const struct mp_spnego_oid *want)
{
	assert_int_equal(got->mech, want->mech);
	assert_bytes(got->der, want->der);
}

static void assert_init_equal(const struct mp_spnego_init *got, const struct mp_spnego_init *want)
{
	assert_int_equal(got->n_mechs, want->n_mechs);
	for (size_t i = 0; i < want->n_mechs; i++)
		assert_oid(&got->mechs[i], &want->mechs[i]);
	assert_int_equal(got->has_req_flags, want->has_req_flags);
	if (want->has_req_flags)
		assert_bytes(got->req_flags, want->req_flags);
	assert_int_equal(got->has_mech_token, want->has_mech_token);
	if (want->has_mech_token)
		assert_bytes(got->mech_token, want->mech_token);
	assert_int_equal(got->is_init2, want->is_init2);
	assert_int_equal(got->has_neg_hints, want->has_neg_hints);
	assert_int_equal(got->has_hint_name, want->has_hint_name);
	if (want->has_hint_name)
		assert_bytes(got->hint_name, want->hint_name);
	assert_int_equal(got->has_hint_address, want->has_hint_address);
	if (want->has_hint_address)
		assert_bytes(got->hint_address, want->hint_address);
	assert_int_equal(got->has_mech_list_mic, want->has_mech_list_mic);
	if (want->has_mech_list_mic)
		assert_bytes(got->mech_list_mic, want->mech_list_mic);
}

static void assert_resp_equal(const struct mp_spnego_resp *got, const struct mp_spnego_resp *want)
{
	assert_int_equal(got->has_neg_state, want->has_neg_state);
	if (want->has_neg_state)
		assert_int_equal(got->neg_state, want->neg_state);
	assert_int_equal(got->has_supported_mech, want->has_supported_mech);
	if (want->has_supported_mech)
		assert_oid(&got->supported_mech, &want->supported_mech);
	assert_int_equal(got->has_response_token, want->has_response_token);
	if (want->has_response_token)
		assert_bytes(got->response_token, want->response_token);
	assert_int_equal(got->has_mech_list_mic, want->has_mech_list_mic);
	if (want->has_mech_list_mic)
		assert_bytes(got->mech_list_mic, want->mech_list_mic);
}

/*
 * The vector `name` parses to `want`, its mechTypes DER is the SEQUENCE
 * inside, and our encoder writes the vector from `want`.
 */
static void check_init_vector(const char *name, const struct mp_spnego_init *want)
{
	struct blob v = load_vec(name);
	struct mp_spnego_init got;
	assert_int_equal(mp_spnego_token_type(v.p, v.len), MP_SPNEGO_TOKEN_INIT);
	assert_int_equal(mp_spnego_parse_init(v.p, v.len, &got), MP_OK);
	assert_init_equal(&got, want);

	/* mech_types_der: a view into v that is exactly what we encode for the list. */
	struct mp_wbuf mt;
	mp_wb_init(&mt);
	assert_int_equal(mp_spnego_encode_mech_types(&mt, want->mechs, want->n_mechs), MP_OK);
	assert_true(got.mech_types_der.p > v.p && got.mech_types_der.p < v.p + v.len);
	assert_int_equal(got.mech_types_der.p[0], 0x30);
	assert_bytes(got.mech_types_der, (struct mp_spnego_bytes){mt.data, mt.len});
	mp_wb_free(&mt);

	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_wb_bytes(&wb, "xy", 2); /* appends after what is there */
	assert_int_equal(mp_spnego_encode_init(&wb, want), MP_OK);
	assert_int_equal(wb.len, 2 + v.len);
	assert_memory_equal(wb.data + 2, v.p, v.len);
	mp_wb_free(&wb);
	free(v.p);
}

static void check_resp_vector(const char *name, const struct mp_spnego_resp *want)
{
	struct blob v = load_vec(name);
	struct mp_spnego_resp got;
	assert_int_equal(mp_spnego_token_type(v.p, v.len), MP_SPNEGO_TOKEN_RESP);
	assert_int_equal(mp_spnego_parse_resp(v.p, v.len, &got), MP_OK);
	assert_resp_equal(&got, want);
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	assert_int_equal(mp_spnego_encode_resp(&wb, want), MP_OK);
	assert_int_equal(wb.len, v.len);
	assert_memory_equal(wb.data, v.p, v.len);
	mp_wb_free(&wb);
	free(v.p);
}

/* ---- golden vectors: impacket ------------------------------------------------ */

static void test_impacket_init(void **state)
{
	struct blob neg = load("ntlm_impacket_v2_negotiate.bin");
	struct blob krb = fake_bytes(1500, 1);

	struct mp_spnego_init t = {0};
	t.n_mechs = 1;
	t.mechs[0] = oid_of(MP_SPNEGO_MECH_NTLMSSP);
	t.has_mech_token = true;
	t.mech_token = view(&neg);
	check_init_vector("imp_init_ntlm", &t);

	t.has_mech_token = false;
	check_init_vector("imp_init_notoken", &t);

	t.n_mechs = 4;
	t.mechs[0] = oid_of(MP_SPNEGO_MECH_MS_KRB5);
	t.mechs[1] = oid_of(MP_SPNEGO_MECH_KRB5);
	t.mechs[2] = oid_of(MP_SPNEGO_MECH_NEGOEX);
	t.mechs[3] = oid_of(MP_SPNEGO_MECH_NTLMSSP);
	t.has_mech_token = true;
	t.mech_token = view(&krb);
	check_init_vector("imp_init_multi", &t);

	free(neg.p);
	free(krb.p);
}

static void test_impacket_resp(void **state)
{
	struct blob chal = load("ntlm_impacket_v2_challenge.bin");
	struct blob auth = load("ntlm_impacket_v2_authenticate.bin");

	struct mp_spnego_resp r = {0};
	r.has_neg_state = true;
	r.neg_state = MP_SPNEGO_ACCEPT_INCOMPLETE;
	r.has_supported_mech = true;
	r.supported_mech = oid_of(MP_SPNEGO_MECH_NTLMSSP);
	r.has_response_token = true;
	r.response_token = view(&chal);
	check_resp_vector("imp_resp_challenge", &r);

	r.neg_state = MP_SPNEGO_REQUEST_MIC;
	r.has_response_token = false;
	check_resp_vector("imp_resp_request_mic", &r);

	r = (struct mp_spnego_resp){0};
	r.has_neg_state = true;
	r.neg_state = MP_SPNEGO_ACCEPT_COMPLETED;
	check_resp_vector("imp_resp_completed", &r);

	r = (struct mp_spnego_resp){0};
	r.has_response_token = true;
	r.response_token = view(&auth);
	check_resp_vector("imp_resp_auth", &r);

	free(chal.p);
	free(auth.p);
}

/* ---- golden vectors: pyasn1 -------------------------------------------------- */

static void test_asn1_init(void **state)
{
	struct blob neg = load("ntlm_impacket_v2_negotiate.bin");
	struct blob mic2 = fake_bytes(16, 2), tok3 = fake_bytes(40, 3), addr4 = fake_bytes(4, 4);
	struct blob mic5 = fake_bytes(16, 5), mic9 = fake_bytes(16, 9);
	static const uint8_t flags[] = {0x01, 0x42}; /* '0100001'B: mutual, integ */

	struct mp_spnego_init t = {0};
	t.n_mechs = 2;
	t.mechs[0] = oid_of(MP_SPNEGO_MECH_NTLMSSP);
	t.mechs[1] = oid_of(MP_SPNEGO_MECH_KRB5);
	t.has_req_flags = true;
	t.req_flags = (struct mp_spnego_bytes){flags, sizeof(flags)};
	t.has_mech_token = true;
	t.mech_token = view(&neg);
	t.has_mech_list_mic = true; /* RFC 4178 [3] */
	t.mech_list_mic = view(&mic2);
	check_init_vector("asn1_init_full", &t);

	t = (struct mp_spnego_init){0};
	t.n_mechs = 4;
	t.mechs[0] = oid_of(MP_SPNEGO_MECH_NEGOEX);
	t.mechs[1] = oid_of(MP_SPNEGO_MECH_MS_KRB5);
	t.mechs[2] = oid_of(MP_SPNEGO_MECH_KRB5);
	t.mechs[3] = oid_of(MP_SPNEGO_MECH_NTLMSSP);
	t.is_init2 = true;
	t.has_neg_hints = true;
	t.has_hint_name = true;
	t.hint_name = (struct mp_spnego_bytes){(const uint8_t *)HINT_NAME, strlen(HINT_NAME)};
	check_init_vector("asn1_init2_hints", &t);

	t = (struct mp_spnego_init){0};
	t.n_mechs = 1;
	t.mechs[0] = oid_of(MP_SPNEGO_MECH_NTLMSSP);
	t.has_mech_token = true;
	t.mech_token = view(&tok3);
	t.is_init2 = true;
	t.has_neg_hints = true;
	t.has_hint_name = true;
	t.hint_name = (struct mp_spnego_bytes){(const uint8_t *)"x", 1};
	t.has_hint_address = true;
	t.hint_address = view(&addr4);
	t.has_mech_list_mic = true; /* MS-SPNG [4] */
	t.mech_list_mic = view(&mic5);
	check_init_vector("asn1_init2_mic", &t);

	/* [4] without negHints is still NegTokenInit2. */
	t = (struct mp_spnego_init){0};
	t.n_mechs = 1;
	t.mechs[0] = oid_of(MP_SPNEGO_MECH_NTLMSSP);
	t.is_init2 = true;
	t.has_mech_list_mic = true;
	t.mech_list_mic = view(&mic9);
	check_init_vector("asn1_init2_mic_only", &t);

	t = (struct mp_spnego_init){0};
	t.n_mechs = 2;
	t.mechs[0] =
	    (struct mp_spnego_oid){MP_SPNEGO_MECH_OTHER, {oid_unknown, sizeof(oid_unknown)}};
	t.mechs[1] = oid_of(MP_SPNEGO_MECH_NTLMSSP);
	t.has_mech_token = true;
	t.mech_token = view(&neg);
	check_init_vector("asn1_init_unknown_oid", &t);

	free(neg.p);
	free(mic2.p);
	free(tok3.p);
	free(addr4.p);
	free(mic5.p);
	free(mic9.p);
}

static void test_asn1_resp(void **state)
{
	struct blob chal = load("ntlm_impacket_v2_challenge.bin");
	struct blob auth = load("ntlm_impacket_v2_authenticate.bin");
	struct blob mic6 = fake_bytes(16, 6), mic7 = fake_bytes(16, 7), mic8 = fake_bytes(16, 8);
	struct blob long10 = fake_bytes(70000, 10);

	struct mp_spnego_resp r = {0};
	r.has_neg_state = true;
	r.neg_state = MP_SPNEGO_ACCEPT_INCOMPLETE;
	r.has_supported_mech = true;
	r.supported_mech = oid_of(MP_SPNEGO_MECH_NTLMSSP);
	r.has_response_token = true;
	r.response_token = view(&chal);
	r.has_mech_list_mic = true;
	r.mech_list_mic = view(&mic6);
	check_resp_vector("asn1_resp_full", &r);

	r = (struct mp_spnego_resp){0};
	r.has_neg_state = true;
	r.neg_state = MP_SPNEGO_ACCEPT_COMPLETED;
	r.has_mech_list_mic = true;
	r.mech_list_mic = view(&mic7);
	check_resp_vector("asn1_resp_mic_only", &r);

	r = (struct mp_spnego_resp){0};
	r.has_response_token = true;
	r.response_token = view(&auth);
	r.has_mech_list_mic = true;
	r.mech_list_mic = view(&mic8);
	check_resp_vector("asn1_resp_client_mic", &r);

	r = (struct mp_spnego_resp){0};
	r.has_neg_state = true;
	r.neg_state = MP_SPNEGO_REJECT;
	check_resp_vector("asn1_resp_reject", &r);

	r = (struct mp_spnego_resp){0};
	check_resp_vector("asn1_resp_empty", &r);

	r.has_neg_state = true;
	r.neg_state = MP_SPNEGO_ACCEPT_INCOMPLETE;
	r.has_response_token = true;
	r.response_token = view(&long10);
	check_resp_vector("asn1_resp_long", &r);

	free(chal.p);
	free(auth.p);
	free(mic6.p);
	free(mic7.p);
	free(mic8.p);
	free(long10.p);
}

/* ---- the exchange, server side (also the --serve helper) -------------------- */

struct srv {
	struct mp_ntlm *s;
	struct fixed_rng rng;
	uint64_t now;
	struct test_user user;
	struct test_db db;
	enum { SRV_INIT, SRV_WANT_NEGOTIATE, SRV_WANT_AUTH, SRV_DONE, SRV_FAILED } st;
	struct mp_spnego_choice choice;
	struct mp_wbuf mech_types; /* the client's mechTypes DER, kept for the MIC */
};

static void srv_new(struct srv *sv, const char *password)
{
	memset(sv, 0, sizeof(*sv));
	sv->rng = (struct fixed_rng){srv_challenge, 8, 0};
	sv->now = srv_now;
	sv->user.user = T_USER;
	sv->user.domain = "MPDOMAIN";
	assert_int_equal(mp_ntlm_ntowfv1(password, sv->user.nt_hash), MP_OK);
	sv->db = (struct test_db){&sv->user, 1, 0};
	struct mp_ntlm_server_config sc = {
	    .nb_computer_name = "MPSERVER",
	    .nb_domain_name = "MPDOMAIN",
	    .dns_computer_name = "mpserver.mp.example.test",
	    .dns_domain_name = "mp.example.test",
	    .dns_tree_name = "mp.example.test",
	    .lookup = test_db_lookup,
	    .lookup_arg = &sv->db,
	    .rng = fixed_rng_fn,
	    .rng_arg = &sv->rng,
	    .clock = fixed_clock_fn,
	    .clock_arg = &sv->now,
	};
	assert_int_equal(mp_ntlm_server_new(&sc, &sv->s), MP_OK);
	mp_wb_init(&sv->mech_types);
}

static void srv_free(struct srv *sv)
{
	mp_ntlm_free(sv->s);
	mp_wb_free(&sv->mech_types);
}

/*
 * One client token in, our reply token appended to out (a reject token on
 * authentication failures). Returns MP_AGAIN (more to come), MP_OK
 * (accept-completed sent), or the error.
 */
static int srv_step(struct srv *sv, const uint8_t *tok, size_t len, struct mp_wbuf *out)
{
	struct mp_spnego_resp r = {0};
	struct mp_wbuf ntlm;
	uint8_t mic[MP_SPNEGO_NTLM_MIC_LEN];
	int rc;
	mp_wb_init(&ntlm);

	if (sv->st == SRV_INIT) {
		struct mp_spnego_init in;
		rc = mp_spnego_parse_init(tok, len, &in);
		if (rc != MP_OK)
			goto fail;
		rc = mp_spnego_choose_ntlm(&in, &sv->choice);
		if (rc != MP_OK)
			goto reject;
		mp_wb_bytes(&sv->mech_types, in.mech_types_der.p, in.mech_types_der.len);
		r.has_neg_state = true;
		r.neg_state = sv->choice.neg_state;
		r.has_supported_mech = true;
		r.supported_mech.mech = MP_SPNEGO_MECH_NTLMSSP;
		if (sv->choice.use_token) {
			rc = mp_ntlm_server_challenge(sv->s, in.mech_token.p, in.mech_token.len,
			                              &ntlm);
			if (rc != MP_OK)
				goto reject;
			r.has_response_token = true;
			r.response_token = (struct mp_spnego_bytes){ntlm.data, ntlm.len};
			sv->st = SRV_WANT_AUTH;
		} else {
			sv->st = SRV_WANT_NEGOTIATE;
		}
		rc = MP_AGAIN;
	} else {
		struct mp_spnego_resp in;
		rc = mp_spnego_parse_resp(tok, len, &in);
		if (rc != MP_OK)
			goto fail;
		if (sv->st == SRV_WANT_NEGOTIATE) {
			rc = mp_ntlm_server_challenge(sv->s, in.response_token.p,
			                              in.response_token.len, &ntlm);
			if (rc != MP_OK)
				goto reject;
			r.has_neg_state = true;
			r.neg_state = MP_SPNEGO_ACCEPT_INCOMPLETE;
			r.has_response_token = true;
			r.response_token = (struct mp_spnego_bytes){ntlm.data, ntlm.len};
			sv->st = SRV_WANT_AUTH;
			rc = MP_AGAIN;
		} else if (sv->st == SRV_WANT_AUTH) {
			rc = mp_ntlm_server_authenticate(sv->s, in.response_token.p,
			                                 in.response_token.len);
			if (rc != MP_OK)
				goto reject;
			bool has_mic =
			    mp_spnego_ntlm_auth_has_mic(in.response_token.p, in.response_token.len);
			r.has_neg_state = true;
			r.neg_state = MP_SPNEGO_ACCEPT_COMPLETED;
			if (mp_spnego_mic_required(sv->s, sv->choice.downgraded, has_mic,
			                           in.has_mech_list_mic)) {
				rc = MP_ERR_AUTH;
				if (!in.has_mech_list_mic)
					goto reject;
				rc = mp_spnego_mic_verify(sv->s, sv->mech_types.data,
				                          sv->mech_types.len, in.mech_list_mic.p,
				                          in.mech_list_mic.len);
				if (rc != MP_OK)
					goto reject;
				rc = mp_spnego_mic_sign(sv->s, sv->mech_types.data,
				                        sv->mech_types.len, mic);
				if (rc != MP_OK)
					goto reject;
				r.has_mech_list_mic = true;
				r.mech_list_mic = (struct mp_spnego_bytes){mic, sizeof(mic)};
			}
			sv->st = SRV_DONE;
			rc = MP_OK;
		} else {
			rc = MP_ERR_PROTO;
			goto fail;
		}
	}
	assert_int_equal(mp_spnego_encode_resp(out, &r), MP_OK);
	mp_wb_free(&ntlm);
	return rc;

reject:
	r = (struct mp_spnego_resp){.has_neg_state = true, .neg_state = MP_SPNEGO_REJECT};
	assert_int_equal(mp_spnego_encode_resp(out, &r), MP_OK);
fail:
	sv->st = SRV_FAILED;
	mp_wb_free(&ntlm);
	return rc;
}

/* After the handshake: sign s2c_plain[0], seal s2c_plain[1]: sig0 | sig1 | sealed1. */
static void srv_post(struct srv *sv, struct mp_wbuf *out)
{
	uint8_t sig[16];
	const char *m0 = s2c_plain[0], *m1 = s2c_plain[1];
	assert_int_equal(mp_ntlm_sign(sv->s, (const uint8_t *)m0, strlen(m0), sig), MP_OK);
	mp_wb_bytes(out, sig, 16);
	uint8_t buf[128];
	size_t n = strlen(m1);
	memcpy(buf, m1, n);
	assert_int_equal(mp_ntlm_seal(sv->s, buf, n, NULL, 0, sig), MP_OK);
	mp_wb_bytes(out, sig, 16);
	mp_wb_bytes(out, buf, n);
}

/*
 * --serve DIR PREFIX N: replay DIR/PREFIX_c1.bin .. _cN.bin through our
 * server and write its reply to the last as DIR/PREFIX_sN.bin; once the
 * exchange is complete also DIR/PREFIX_s2c.bin (srv_post).
 */
static int serve(const char *dir, const char *prefix, int steps)
{
	struct srv sv;
	srv_new(&sv, T_PASSWORD);
	int rc = MP_ERR_PROTO;
	struct mp_wbuf out;
	mp_wb_init(&out);
	char path[1024];
	for (int i = 1; i <= steps; i++) {
		struct blob c;
		snprintf(path, sizeof(path), "%s/%s_c%d.bin", dir, prefix, i);
		if (!read_path(path, &c)) {
			fprintf(stderr, "cannot read %s\n", path);
			return 2;
		}
		out.len = 0;
		rc = srv_step(&sv, c.p, c.len, &out);
		free(c.p);
		if (rc != MP_OK && rc != MP_AGAIN) {
			fprintf(stderr, "server step %d: %s\n", i, mp_ntlm_status_name(rc));
			return 1;
		}
	}
	snprintf(path, sizeof(path), "%s/%s_s%d.bin", dir, prefix, steps);
	if (!write_path(path, out.data, out.len))
		return 2;
	if (rc == MP_OK) {
		out.len = 0;
		srv_post(&sv, &out);
		snprintf(path, sizeof(path), "%s/%s_s2c.bin", dir, prefix);
		if (!write_path(path, out.data, out.len))
			return 2;
	}
	mp_wb_free(&out);
	srv_free(&sv);
	return 0;
}

/* ---- golden vectors: Samba's client against our server ---------------------- */

static void samba_replay(const char *prefix, bool with_mic)
{
	char name[128];
	struct srv sv;
	srv_new(&sv, T_PASSWORD);
	struct mp_wbuf out;
	mp_wb_init(&out);

	/* c1: Samba's NegTokenInit: NTLMSSP only, with the NEGOTIATE. */
	snprintf(name, sizeof(name), "%s_c1", prefix);
	struct blob c1 = load_vec(name);
	struct mp_spnego_init init;
	assert_int_equal(mp_spnego_parse_init(c1.p, c1.len, &init), MP_OK);
	assert_int_equal(init.n_mechs, 1);
	assert_int_equal(init.mechs[0].mech, MP_SPNEGO_MECH_NTLMSSP);
	assert_true(init.has_mech_token);
	assert_int_equal(mp_ntlm_msg_type(init.mech_token.p, init.mech_token.len),
	                 MP_NTLM_NEGOTIATE);
	assert_false(init.has_req_flags || init.has_mech_list_mic || init.is_init2);
	assert_int_equal(srv_step(&sv, c1.p, c1.len, &out), MP_AGAIN);
	assert_false(sv.choice.downgraded);
	assert_true(sv.choice.use_token);

	/* s1: what Samba was given. */
	snprintf(name, sizeof(name), "%s_s1", prefix);
	struct blob s1 = load_vec(name);
	assert_int_equal(out.len, s1.len);
	assert_memory_equal(out.data, s1.p, s1.len);
	struct mp_spnego_resp r;
	assert_int_equal(mp_spnego_parse_resp(s1.p, s1.len, &r), MP_OK);
	assert_true(r.has_neg_state && r.neg_state == MP_SPNEGO_ACCEPT_INCOMPLETE);
	assert_true(r.has_supported_mech && r.supported_mech.mech == MP_SPNEGO_MECH_NTLMSSP);
	assert_int_equal(mp_ntlm_msg_type(r.response_token.p, r.response_token.len),
	                 MP_NTLM_CHALLENGE);

	/* c2: AUTHENTICATE, and a mechListMIC when Samba's NTLM sent a MIC. */
	snprintf(name, sizeof(name), "%s_c2", prefix);
	struct blob c2 = load_vec(name);
	assert_int_equal(mp_spnego_parse_resp(c2.p, c2.len, &r), MP_OK);
	assert_false(r.has_neg_state || r.has_supported_mech);
	assert_int_equal(mp_ntlm_msg_type(r.response_token.p, r.response_token.len),
	                 MP_NTLM_AUTHENTICATE);
	assert_int_equal(mp_spnego_ntlm_auth_has_mic(r.response_token.p, r.response_token.len),
	                 with_mic);
	assert_int_equal(r.has_mech_list_mic, with_mic);
	if (with_mic)
		assert_int_equal(r.mech_list_mic.len, 16);
	out.len = 0;
	assert_int_equal(srv_step(&sv, c2.p, c2.len, &out), MP_OK);
	assert_string_equal(mp_ntlm_user(sv.s), T_USER);

	snprintf(name, sizeof(name), "%s_session_key", prefix);
	struct blob key = load_vec(name);
	uint8_t mine[16];
	assert_int_equal(key.len, 16);
	assert_int_equal(mp_ntlm_session_key(sv.s, mine), MP_OK);
	assert_memory_equal(mine, key.p, 16);

	/* s2: accept-completed, with our mechListMIC iff Samba sent one. */
	snprintf(name, sizeof(name), "%s_s2", prefix);
	struct blob s2 = load_vec(name);
	assert_int_equal(out.len, s2.len);
	assert_memory_equal(out.data, s2.p, s2.len);
	assert_int_equal(mp_spnego_parse_resp(s2.p, s2.len, &r), MP_OK);
	assert_true(r.has_neg_state && r.neg_state == MP_SPNEGO_ACCEPT_COMPLETED);
	assert_false(r.has_supported_mech || r.has_response_token);
	assert_int_equal(r.has_mech_list_mic, with_mic);

	/* Our post-handshake messages, which Samba checked. */
	snprintf(name, sizeof(name), "%s_s2c", prefix);
	struct blob s2c = load_vec(name);
	out.len = 0;
	srv_post(&sv, &out);
	assert_int_equal(out.len, s2c.len);
	assert_memory_equal(out.data, s2c.p, s2c.len);
	/* The sequence numbers: 1 and 2 after a mechListMIC exchange, else 0 and 1. */
	uint32_t seq0 = with_mic ? 1 : 0;
	assert_int_equal(mp_get_u32(s2c.p + 12), seq0);
	assert_int_equal(mp_get_u32(s2c.p + 16 + 12), seq0 + 1);

	/* Samba's: sign_packet, then wrap (sig | sealed). */
	snprintf(name, sizeof(name), "%s_c2s", prefix);
	struct blob c2s = load_vec(name);
	size_t n0 = strlen(c2s_plain[0]), n1 = strlen(c2s_plain[1]);
	assert_int_equal(c2s.len, 16 + 16 + n1);
	assert_int_equal(mp_get_u32(c2s.p + 12), seq0);
	assert_int_equal(mp_ntlm_verify(sv.s, (const uint8_t *)c2s_plain[0], n0, c2s.p), MP_OK);
	assert_int_equal(mp_ntlm_unseal(sv.s, c2s.p + 32, n1, NULL, 0, c2s.p + 16), MP_OK);
	assert_memory_equal(c2s.p + 32, c2s_plain[1], n1);

	free(c1.p);
	free(s1.p);
	free(c2.p);
	free(s2.p);
	free(s2c.p);
	free(c2s.p);
	free(key.p);
	mp_wb_free(&out);
	srv_free(&sv);
}

static void test_samba_with_mech_list_mic(void **state)
{
	samba_replay("samba", true);
}

static void test_samba_old_spnego_no_mic(void **state)
{
	samba_replay("samba_nomic", false);
}

/* A tampered mechListMIC from Samba is refused, and the context is dead. */
static void test_samba_tampered_mic(void **state)
{
	struct blob c1 = load_vec("samba_c1"), c2 = load_vec("samba_c2");
	for (int what = 0; what < 3; what++) {
		struct srv sv;
		srv_new(&sv, T_PASSWORD);
		struct mp_wbuf out;
		mp_wb_init(&out);
		assert_int_equal(srv_step(&sv, c1.p, c1.len, &out), MP_AGAIN);
		if (what == 2) /* the mechTypes the client signed were not what we got */
			sv.mech_types.data[sv.mech_types.len - 1] ^= 1;
		uint8_t *t = malloc(c2.len);
		memcpy(t, c2.p, c2.len);
		struct mp_spnego_resp r;
		assert_int_equal(mp_spnego_parse_resp(t, c2.len, &r), MP_OK);
		if (what == 0) /* a flipped MIC byte */
			((uint8_t *)r.mech_list_mic.p)[5] ^= 0x40;
		if (what == 1) /* the MIC's sequence number */
			((uint8_t *)r.mech_list_mic.p)[12] ^= 1;
		out.len = 0;
		assert_int_equal(srv_step(&sv, t, c2.len, &out), MP_ERR_AUTH);
		assert_int_equal(mp_spnego_parse_resp(out.data, out.len, &r), MP_OK);
		assert_true(r.has_neg_state && r.neg_state == MP_SPNEGO_REJECT);
		uint8_t sig[16];
		assert_int_equal(mp_ntlm_sign(sv.s, t, 4, sig), MP_ERR_AUTH);
		free(t);
		mp_wb_free(&out);
		srv_free(&sv);
	}
	free(c1.p);
	free(c2.p);
}

/* Without the mechListMIC that its NTLM MIC makes required: refused. */
static void test_samba_mic_stripped(void **state)
{
	struct blob c1 = load_vec("samba_c1"), c2 = load_vec("samba_c2");
	struct srv sv;
	srv_new(&sv, T_PASSWORD);
	struct mp_wbuf out, stripped;
	mp_wb_init(&out);
	mp_wb_init(&stripped);
	assert_int_equal(srv_step(&sv, c1.p, c1.len, &out), MP_AGAIN);
	struct mp_spnego_resp r;
	assert_int_equal(mp_spnego_parse_resp(c2.p, c2.len, &r), MP_OK);
	r.has_mech_list_mic = false;
	assert_int_equal(mp_spnego_encode_resp(&stripped, &r), MP_OK);
	out.len = 0;
	assert_int_equal(srv_step(&sv, stripped.data, stripped.len, &out), MP_ERR_AUTH);
	assert_int_equal(mp_spnego_parse_resp(out.data, out.len, &r), MP_OK);
	assert_int_equal(r.neg_state, MP_SPNEGO_REJECT);
	mp_wb_free(&out);
	mp_wb_free(&stripped);
	srv_free(&sv);
	free(c1.p);
	free(c2.p);
}

/* ---- our client against our server ------------------------------------------ */

struct cli {
	struct mp_ntlm *c;
	struct fixed_rng rng;
	uint8_t rng_bytes[64];
	uint64_t now;
	struct mp_spnego_oid mechs[4];
	size_t n_mechs;
	struct mp_wbuf mech_types;
	bool mic_requested, sent_negotiate, sent_mic, omit_mic;
	enum { CLI_FIRST, CLI_WANT_CHALLENGE, CLI_WANT_FINAL, CLI_DONE } st;
};

static void cli_new(struct cli *cl, unsigned want, const enum mp_spnego_mech *mechs, size_t n)
{
	memset(cl, 0, sizeof(*cl));
	for (size_t i = 0; i < sizeof(cl->rng_bytes); i++)
		cl->rng_bytes[i] = (uint8_t)(0xc0 + i);
	cl->rng = (struct fixed_rng){cl->rng_bytes, sizeof(cl->rng_bytes), 0};
	cl->now = srv_now + 1000;
	struct mp_ntlm_client_config cc = {
	    .user = T_USER,
	    .domain = "MPDOMAIN",
	    .workstation = "WS-MP",
	    .password = T_PASSWORD,
	    .want = want,
	    .rng = fixed_rng_fn,
	    .rng_arg = &cl->rng,
	    .clock = fixed_clock_fn,
	    .clock_arg = &cl->now,
	};
	assert_int_equal(mp_ntlm_client_new(&cc, &cl->c), MP_OK);
	for (size_t i = 0; i < n; i++)
		cl->mechs[i] = oid_of(mechs[i]);
	cl->n_mechs = n;
	mp_wb_init(&cl->mech_types);
	assert_int_equal(mp_spnego_encode_mech_types(&cl->mech_types, cl->mechs, n), MP_OK);
}

static void cli_free(struct cli *cl)
{
	mp_ntlm_free(cl->c);
	mp_wb_free(&cl->mech_types);
}

/* The NegTokenInit: the NEGOTIATE as optimistic token if NTLMSSP is first, else a stand-in. */
static void cli_start(struct cli *cl, struct mp_wbuf *out)
{
	struct mp_spnego_init t = {0};
	struct mp_wbuf ntlm;
	mp_wb_init(&ntlm);
	struct blob krb = fake_bytes(300, 77);
	t.n_mechs = cl->n_mechs;
	memcpy(t.mechs, cl->mechs, sizeof(cl->mechs));
	t.has_mech_token = true;
	if (cl->mechs[0].mech == MP_SPNEGO_MECH_NTLMSSP) {
		assert_int_equal(mp_ntlm_client_negotiate(cl->c, &ntlm), MP_OK);
		t.mech_token = (struct mp_spnego_bytes){ntlm.data, ntlm.len};
		cl->sent_negotiate = true;
	} else {
		t.mech_token = view(&krb);
	}
	assert_int_equal(mp_spnego_encode_init(out, &t), MP_OK);
	mp_wb_free(&ntlm);
	free(krb.p);
}

/* One server token in; a reply (if any) appended to out. MP_AGAIN, MP_OK (done), or an error. */
static int cli_step(struct cli *cl, const uint8_t *tok, size_t len, struct mp_wbuf *out)
{
	struct mp_spnego_resp in, r = {0};
	int rc = mp_spnego_parse_resp(tok, len, &in);
	if (rc != MP_OK)
		return rc;
	if (in.has_neg_state && in.neg_state == MP_SPNEGO_REJECT)
		return MP_ERR_AUTH;
	if (cl->st == CLI_FIRST) {
		if (!in.has_neg_state)
			return MP_ERR_PROTO;
		if (in.has_supported_mech && in.supported_mech.mech != MP_SPNEGO_MECH_NTLMSSP)
			return MP_ERR_UNSUPPORTED;
		cl->mic_requested = in.neg_state == MP_SPNEGO_REQUEST_MIC;
		cl->st = CLI_WANT_CHALLENGE;
	}
	struct mp_wbuf ntlm;
	mp_wb_init(&ntlm);
	uint8_t mic[16];
	if (cl->st == CLI_WANT_CHALLENGE) {
		if (!in.has_response_token) {
			/* Downgraded: the server wants our NEGOTIATE now. */
			if (cl->sent_negotiate)
				return MP_ERR_PROTO;
			assert_int_equal(mp_ntlm_client_negotiate(cl->c, &ntlm), MP_OK);
			cl->sent_negotiate = true;
		} else {
			rc = mp_ntlm_client_authenticate(cl->c, in.response_token.p,
			                                 in.response_token.len, &ntlm);
			if (rc != MP_OK)
				return rc;
			bool need = mp_spnego_mic_required(
			    cl->c, cl->mic_requested,
			    mp_spnego_ntlm_auth_has_mic(ntlm.data, ntlm.len), false);
			if (need && !cl->omit_mic) {
				assert_int_equal(mp_spnego_mic_sign(cl->c, cl->mech_types.data,
				                                    cl->mech_types.len, mic),
				                 MP_OK);
				r.has_mech_list_mic = true;
				r.mech_list_mic = (struct mp_spnego_bytes){mic, 16};
				cl->sent_mic = true;
			}
			cl->st = CLI_WANT_FINAL;
		}
		r.has_response_token = true;
		r.response_token = (struct mp_spnego_bytes){ntlm.data, ntlm.len};
		assert_int_equal(mp_spnego_encode_resp(out, &r), MP_OK);
		mp_wb_free(&ntlm);
		return MP_AGAIN;
	}
	if (cl->st == CLI_WANT_FINAL) {
		if (!in.has_neg_state || in.neg_state != MP_SPNEGO_ACCEPT_COMPLETED)
			return MP_ERR_PROTO;
		if (cl->sent_mic && !in.has_mech_list_mic)
			return MP_ERR_AUTH;
		if (in.has_mech_list_mic) {
			rc = mp_spnego_mic_verify(cl->c, cl->mech_types.data, cl->mech_types.len,
			                          in.mech_list_mic.p, in.mech_list_mic.len);
			if (rc != MP_OK)
				return rc;
		}
		cl->st = CLI_DONE;
		return MP_OK;
	}
	return MP_ERR_PROTO;
}

/* Run a whole exchange; returns the server's final status, *legs the tokens sent. */
static int run_exchange(struct cli *cl, struct srv *sv, int *legs)
{
	struct mp_wbuf a, b;
	mp_wb_init(&a);
	mp_wb_init(&b);
	cli_start(cl, &a);
	*legs = 1;
	int rc;
	for (;;) {
		b.len = 0;
		rc = srv_step(sv, a.data, a.len, &b);
		++*legs;
		int crc;
		a.len = 0;
		crc = cli_step(cl, b.data, b.len, &a);
		if (rc != MP_AGAIN) {
			if (rc == MP_OK)
				assert_int_equal(crc, MP_OK);
			else
				assert_int_equal(crc, MP_ERR_AUTH); /* the reject token */
			break;
		}
		if (crc != MP_AGAIN) {
			rc = crc;
			break;
		}
		++*legs;
	}
	mp_wb_free(&a);
	mp_wb_free(&b);
	return rc;
}

/*
 * After a mechListMIC exchange both directions are at sequence number 1
 * with the RC4 state of a fresh context: check each side's next signature
 * against one made from scratch with the session key.
 */
static void check_fresh_rc4_at(struct mp_ntlm *sender, struct mp_ntlm *receiver, bool c2s,
                               uint32_t seq)
{
	static const uint8_t msg[] = "first DCE/RPC PDU after SPNEGO";
	uint8_t key[16], sig[16], want[16];
	assert_int_equal(mp_ntlm_session_key(sender, key), MP_OK);
	struct mp_ntlm_dir d;
	mp_ntlm_dir_init(&d, mp_ntlm_flags(sender), key, c2s);
	d.seq = seq;
	mp_ntlm_mac(&d, mp_ntlm_flags(sender) & MP_NTLMSSP_NEGOTIATE_KEY_EXCH, msg, sizeof(msg),
	            want);
	assert_int_equal(mp_ntlm_sign(sender, msg, sizeof(msg), sig), MP_OK);
	assert_memory_equal(sig, want, 16);
	assert_int_equal(mp_ntlm_verify(receiver, msg, sizeof(msg), sig), MP_OK);
	mp_ntlm_wipe(key, sizeof(key));
}

static void test_exchange_ntlm_first(void **state)
{
	static const enum mp_spnego_mech mechs[] = {MP_SPNEGO_MECH_NTLMSSP, MP_SPNEGO_MECH_KRB5};
	struct cli cl;
	struct srv sv;
	cli_new(&cl, MP_NTLM_WANT_SEAL, mechs, 2);
	srv_new(&sv, T_PASSWORD);
	int legs;
	assert_int_equal(run_exchange(&cl, &sv, &legs), MP_OK);
	assert_int_equal(legs, 4); /* init, challenge, auth + MIC, completed + MIC */
	assert_false(sv.choice.downgraded);
	assert_true(cl.sent_mic); /* our NTLM client sends an NTLM MIC, so the mechListMIC too */
	assert_int_equal(cl.st, CLI_DONE);
	/* The MIC itself was the first signature each way: seq 0, fresh RC4. */
	check_fresh_rc4_at(cl.c, sv.s, true, 1);
	check_fresh_rc4_at(sv.s, cl.c, false, 1);
	cli_free(&cl);
	srv_free(&sv);
}

static void test_exchange_downgraded(void **state)
{
	static const enum mp_spnego_mech mechs[] = {MP_SPNEGO_MECH_MS_KRB5, MP_SPNEGO_MECH_KRB5,
	                                            MP_SPNEGO_MECH_NTLMSSP};
	struct cli cl;
	struct srv sv;
	cli_new(&cl, MP_NTLM_WANT_SIGN, mechs, 3);
	srv_new(&sv, T_PASSWORD);

	/* First reply: request-mic, NTLMSSP, no token (the Kerberos token is ignored). */
	struct mp_wbuf a, b;
	mp_wb_init(&a);
	mp_wb_init(&b);
	cli_start(&cl, &a);
	assert_int_equal(srv_step(&sv, a.data, a.len, &b), MP_AGAIN);
	struct mp_spnego_resp r;
	assert_int_equal(mp_spnego_parse_resp(b.data, b.len, &r), MP_OK);
	assert_true(r.has_neg_state && r.neg_state == MP_SPNEGO_REQUEST_MIC);
	assert_true(r.has_supported_mech && r.supported_mech.mech == MP_SPNEGO_MECH_NTLMSSP);
	assert_false(r.has_response_token || r.has_mech_list_mic);
	assert_true(sv.choice.downgraded);
	assert_int_equal(sv.choice.index, 2);
	mp_wb_free(&a);
	mp_wb_free(&b);
	cli_free(&cl);
	srv_free(&sv);

	/* The whole exchange: 6 legs, the mechListMIC required and exchanged. */
	cli_new(&cl, MP_NTLM_WANT_SIGN, mechs, 3);
	srv_new(&sv, T_PASSWORD);
	int legs;
	assert_int_equal(run_exchange(&cl, &sv, &legs), MP_OK);
	assert_int_equal(legs, 6);
	assert_true(cl.mic_requested && cl.sent_mic);
	check_fresh_rc4_at(cl.c, sv.s, true, 1);
	check_fresh_rc4_at(sv.s, cl.c, false, 1);
	cli_free(&cl);
	srv_free(&sv);

	/* A client that will not send the mechListMIC is refused. */
	cli_new(&cl, MP_NTLM_WANT_SIGN, mechs, 3);
	cl.omit_mic = true;
	srv_new(&sv, T_PASSWORD);
	assert_int_equal(run_exchange(&cl, &sv, &legs), MP_ERR_AUTH);
	cli_free(&cl);
	srv_free(&sv);
}

static void test_exchange_wrong_password(void **state)
{
	static const enum mp_spnego_mech mechs[] = {MP_SPNEGO_MECH_NTLMSSP};
	struct cli cl;
	struct srv sv;
	cli_new(&cl, MP_NTLM_WANT_SIGN, mechs, 1);
	srv_new(&sv, "not the password");
	int legs;
	assert_int_equal(run_exchange(&cl, &sv, &legs), MP_ERR_AUTH);
	cli_free(&cl);
	srv_free(&sv);
}

static void test_exchange_no_ntlm(void **state)
{
	static const enum mp_spnego_mech mechs[] = {MP_SPNEGO_MECH_KRB5, MP_SPNEGO_MECH_NEGOEX};
	struct cli cl;
	struct srv sv;
	cli_new(&cl, 0, mechs, 2);
	srv_new(&sv, T_PASSWORD);
	struct mp_wbuf a, b;
	mp_wb_init(&a);
	mp_wb_init(&b);
	cli_start(&cl, &a);
	assert_int_equal(srv_step(&sv, a.data, a.len, &b), MP_ERR_UNSUPPORTED);
	struct mp_spnego_resp r;
	assert_int_equal(mp_spnego_parse_resp(b.data, b.len, &r), MP_OK);
	assert_true(r.has_neg_state && r.neg_state == MP_SPNEGO_REJECT);
	assert_false(r.has_supported_mech || r.has_response_token || r.has_mech_list_mic);
	mp_wb_free(&a);
	mp_wb_free(&b);
	cli_free(&cl);
	srv_free(&sv);
}

/* No session security (no NEGOTIATE_SIGN): no mechListMIC, none possible. */
static void test_exchange_without_signing(void **state)
{
	static const enum mp_spnego_mech mechs[] = {MP_SPNEGO_MECH_KRB5, MP_SPNEGO_MECH_NTLMSSP};
	struct cli cl;
	struct srv sv;
	cli_new(&cl, 0, mechs, 2);
	srv_new(&sv, T_PASSWORD);
	int legs;
	assert_int_equal(run_exchange(&cl, &sv, &legs), MP_OK);
	assert_false(mp_ntlm_flags(sv.s) & MP_NTLMSSP_NEGOTIATE_SIGN);
	assert_false(cl.sent_mic);
	assert_false(mp_spnego_mic_required(sv.s, true, true, true));
	uint8_t mic[16];
	assert_int_equal(mp_spnego_mic_sign(sv.s, cl.mech_types.data, cl.mech_types.len, mic),
	                 MP_ERR_PROTO);
	cli_free(&cl);
	srv_free(&sv);
}

/* The mechListMIC helpers against the primitives, and their state rules. */
static void test_mic_helpers(void **state)
{
	static const enum mp_spnego_mech mechs[] = {MP_SPNEGO_MECH_NTLMSSP};
	struct cli cl;
	cli_new(&cl, MP_NTLM_WANT_SEAL, mechs, 1);
	uint8_t mic[16];
	/* Not established yet. */
	assert_int_equal(mp_spnego_mic_sign(cl.c, cl.mech_types.data, cl.mech_types.len, mic),
	                 MP_ERR_PROTO);
	assert_int_equal(mp_spnego_mic_verify(cl.c, cl.mech_types.data, cl.mech_types.len, mic, 16),
	                 MP_ERR_PROTO);
	assert_false(mp_spnego_mic_required(cl.c, true, true, true));
	assert_false(mp_spnego_mic_required(NULL, true, true, true));

	struct srv sv;
	srv_new(&sv, T_PASSWORD);
	struct mp_wbuf neg, chal, auth;
	mp_wb_init(&neg);
	mp_wb_init(&chal);
	mp_wb_init(&auth);
	assert_int_equal(mp_ntlm_client_negotiate(cl.c, &neg), MP_OK);
	assert_int_equal(mp_ntlm_server_challenge(sv.s, neg.data, neg.len, &chal), MP_OK);
	assert_int_equal(mp_ntlm_client_authenticate(cl.c, chal.data, chal.len, &auth), MP_OK);
	assert_int_equal(mp_ntlm_server_authenticate(sv.s, auth.data, auth.len), MP_OK);
	assert_true(mp_spnego_ntlm_auth_has_mic(auth.data, auth.len));
	assert_true(mp_spnego_mic_required(sv.s, false, true, false));
	assert_true(mp_spnego_mic_required(sv.s, true, false, false));
	assert_true(mp_spnego_mic_required(sv.s, false, false, true));
	assert_false(mp_spnego_mic_required(sv.s, false, false, false));

	/* The MIC is the signature at seq 0 with a fresh RC4 state... */
	uint8_t key[16], want[16];
	assert_int_equal(mp_ntlm_session_key(cl.c, key), MP_OK);
	struct mp_ntlm_dir d;
	mp_ntlm_dir_init(&d, mp_ntlm_flags(cl.c), key, true);
	mp_ntlm_mac(&d, true, cl.mech_types.data, cl.mech_types.len, want);
	assert_int_equal(mp_spnego_mic_sign(cl.c, cl.mech_types.data, cl.mech_types.len, mic),
	                 MP_OK);
	assert_memory_equal(mic, want, 16);
	assert_int_equal(mp_get_u32(mic + 12), 0);
	/* ...of 16 bytes only... */
	assert_int_equal(mp_spnego_mic_verify(sv.s, cl.mech_types.data, cl.mech_types.len, mic, 15),
	                 MP_ERR_AUTH);
	assert_int_equal(
	    mp_spnego_mic_verify(sv.s, cl.mech_types.data, cl.mech_types.len, NULL, 16),
	    MP_ERR_AUTH);
	assert_int_equal(mp_spnego_mic_verify(sv.s, cl.mech_types.data, cl.mech_types.len, mic, 16),
	                 MP_OK);
	/* ...and the next signature is at seq 1, again with a fresh RC4 state. */
	check_fresh_rc4_at(cl.c, sv.s, true, 1);
	/* The other direction is still at 0. */
	check_fresh_rc4_at(sv.s, cl.c, false, 0);
	/* Seal after that: RC4 continues normally. */
	uint8_t buf[32] = "sealed after the mechListMIC", sig[16];
	assert_int_equal(mp_ntlm_seal(cl.c, buf, sizeof(buf), NULL, 0, sig), MP_OK);
	assert_int_equal(mp_ntlm_unseal(sv.s, buf, sizeof(buf), NULL, 0, sig), MP_OK);
	assert_string_equal((char *)buf, "sealed after the mechListMIC");

	/* A mismatch poisons the context. */
	mic[0] ^= 1;
	assert_int_equal(mp_spnego_mic_verify(sv.s, cl.mech_types.data, cl.mech_types.len, mic, 16),
	                 MP_ERR_AUTH);
	assert_int_equal(mp_spnego_mic_sign(sv.s, cl.mech_types.data, cl.mech_types.len, mic),
	                 MP_ERR_AUTH);
	assert_int_equal(mp_spnego_mic_verify(sv.s, cl.mech_types.data, cl.mech_types.len, mic, 16),
	                 MP_ERR_AUTH);

	mp_ntlm_wipe(key, sizeof(key));
	mp_wb_free(&neg);
	mp_wb_free(&chal);
	mp_wb_free(&auth);
	cli_free(&cl);
	srv_free(&sv);
}

static void test_choose_ntlm(void **state)
{
	struct mp_spnego_init t = {0};
	struct mp_spnego_choice ch;
	t.n_mechs = 1;
	t.mechs[0] = oid_of(MP_SPNEGO_MECH_NTLMSSP);
	t.has_mech_token = true;
	assert_int_equal(mp_spnego_choose_ntlm(&t, &ch), MP_OK);
	assert_int_equal(ch.index, 0);
	assert_true(ch.use_token);
	assert_false(ch.downgraded);
	assert_int_equal(ch.neg_state, MP_SPNEGO_ACCEPT_INCOMPLETE);

	t.has_mech_token = false;
	assert_int_equal(mp_spnego_choose_ntlm(&t, &ch), MP_OK);
	assert_false(ch.use_token || ch.downgraded);
	assert_int_equal(ch.neg_state, MP_SPNEGO_ACCEPT_INCOMPLETE);

	t.n_mechs = 3;
	t.mechs[0] = oid_of(MP_SPNEGO_MECH_NEGOEX);
	t.mechs[1] = oid_of(MP_SPNEGO_MECH_NTLMSSP);
	t.mechs[2] = oid_of(MP_SPNEGO_MECH_NTLMSSP);
	t.has_mech_token = true;
	assert_int_equal(mp_spnego_choose_ntlm(&t, &ch), MP_OK);
	assert_int_equal(ch.index, 1);
	assert_false(ch.use_token);
	assert_true(ch.downgraded);
	assert_int_equal(ch.neg_state, MP_SPNEGO_REQUEST_MIC);

	t.mechs[1] = oid_of(MP_SPNEGO_MECH_KRB5);
	t.mechs[2] = (struct mp_spnego_oid){MP_SPNEGO_MECH_OTHER, {oid_unknown, 3}};
	assert_int_equal(mp_spnego_choose_ntlm(&t, &ch), MP_ERR_UNSUPPORTED);
	t.n_mechs = 0;
	assert_int_equal(mp_spnego_choose_ntlm(&t, &ch), MP_ERR_UNSUPPORTED);

	/* Windows' NegTokenInit2 from a server lists NTLMSSP last. */
	struct blob v = load_vec("asn1_init2_hints");
	struct mp_spnego_init in;
	assert_int_equal(mp_spnego_parse_init(v.p, v.len, &in), MP_OK);
	assert_int_equal(mp_spnego_choose_ntlm(&in, &ch), MP_OK);
	assert_int_equal(ch.index, 3);
	free(v.p);
}

static void test_auth_has_mic(void **state)
{
	/* impacket 0.10 does not send an NTLM MIC. */
	struct blob a = load("ntlm_impacket_v2_authenticate.bin");
	assert_false(mp_spnego_ntlm_auth_has_mic(a.p, a.len));
	for (size_t n = 0; n < a.len; n += 7)
		assert_false(mp_spnego_ntlm_auth_has_mic(a.p, n));
	free(a.p);
	/* NTLMv1 */
	a = load("ntlm_impacket_v1_authenticate.bin");
	assert_false(mp_spnego_ntlm_auth_has_mic(a.p, a.len));
	free(a.p);
	/* The [MS-NLMP] 4.2.4.3 message has no MIC. */
	assert_false(mp_spnego_ntlm_auth_has_mic(spec_v2_authenticate_msg,
	                                         sizeof(spec_v2_authenticate_msg)));
	assert_false(mp_spnego_ntlm_auth_has_mic(NULL, 0));
	/* Samba's: with (default) and without (force_old_spnego: the MIC field is
	   there, the MsvAvFlags bit is not). */
	const char *names[2] = {"samba_c2", "samba_nomic_c2"};
	for (int i = 0; i < 2; i++) {
		struct blob c2 = load_vec(names[i]);
		struct mp_spnego_resp r;
		assert_int_equal(mp_spnego_parse_resp(c2.p, c2.len, &r), MP_OK);
		assert_int_equal(
		    mp_spnego_ntlm_auth_has_mic(r.response_token.p, r.response_token.len), i == 0);
		for (size_t n = 0; n < r.response_token.len; n++)
			(void)mp_spnego_ntlm_auth_has_mic(r.response_token.p, n);
		free(c2.p);
	}
}

/* ---- malformed input ---------------------------------------------------------- */

static const char *const all_vectors[] = {
    "imp_init_ntlm",
    "imp_init_notoken",
    "imp_init_multi",
    "imp_resp_challenge",
    "imp_resp_request_mic",
    "imp_resp_completed",
    "imp_resp_auth",
    "asn1_init_full",
    "asn1_init2_hints",
    "asn1_init2_mic",
    "asn1_init2_mic_only",
    "asn1_init_unknown_oid",
    "asn1_resp_full",
    "asn1_resp_mic_only",
    "asn1_resp_client_mic",
    "asn1_resp_reject",
    "asn1_resp_empty",
    "asn1_resp_long",
    "samba_c1",
    "samba_s1",
    "samba_c2",
    "samba_s2",
    "samba_nomic_c1",
    "samba_nomic_s1",
    "samba_nomic_c2",
    "samba_nomic_s2",
};
#define N_VECTORS (sizeof(all_vectors) / sizeof(all_vectors[0]))

/* Parse as both token types; a success must re-encode to exactly the input. */
static int parse_any(const uint8_t *p, size_t len)
{
	struct mp_spnego_init in;
	struct mp_spnego_resp r;
	struct mp_wbuf wb;
	int ri = mp_spnego_parse_init(p, len, &in);
	int rr = mp_spnego_parse_resp(p, len, &r);
	assert_true(ri == MP_OK || ri == MP_ERR_PARSE || ri == MP_ERR_LIMIT);
	assert_true(rr == MP_OK || rr == MP_ERR_PARSE);
	assert_false(ri == MP_OK && rr == MP_OK);
	mp_wb_init(&wb);
	if (ri == MP_OK) {
		assert_int_equal(mp_spnego_encode_init(&wb, &in), MP_OK);
		assert_int_equal(wb.len, len);
		assert_memory_equal(wb.data, p, len);
		/* Views stay inside the input. */
		assert_true(in.mech_types_der.p >= p &&
		            in.mech_types_der.p + in.mech_types_der.len <= p + len);
		for (size_t i = 0; i < in.n_mechs; i++)
			assert_true(in.mechs[i].der.p >= p &&
			            in.mechs[i].der.p + in.mechs[i].der.len <= p + len);
	}
	if (rr == MP_OK) {
		assert_int_equal(mp_spnego_encode_resp(&wb, &r), MP_OK);
		assert_int_equal(wb.len, len);
		assert_memory_equal(wb.data, p, len);
	}
	mp_wb_free(&wb);
	return ri == MP_OK ? ri : rr;
}

static void test_truncation_everywhere(void **state)
{
	for (size_t v = 0; v < N_VECTORS; v++) {
		struct blob b = load_vec(all_vectors[v]);
		assert_int_equal(parse_any(b.p, b.len), MP_OK);
		for (size_t n = 0; n < b.len; n++) {
			/* Inside the 70000-byte token's content every cut is alike. */
			if (b.len > 4096 && n >= 512 && n < b.len - 512)
				continue;
			/* A private copy of the prefix, so ASan sees any read past it. */
			uint8_t *m = malloc(n ? n : 1);
			memcpy(m, b.p, n);
			struct mp_spnego_init in;
			struct mp_spnego_resp r;
			assert_int_equal(mp_spnego_parse_init(m, n, &in), MP_ERR_PARSE);
			assert_int_equal(mp_spnego_parse_resp(m, n, &r), MP_ERR_PARSE);
			free(m);
		}
		/* And a byte more. */
		uint8_t *m = malloc(b.len + 1);
		memcpy(m, b.p, b.len);
		m[b.len] = 0;
		struct mp_spnego_init in;
		struct mp_spnego_resp r;
		assert_int_equal(mp_spnego_parse_init(m, b.len + 1, &in), MP_ERR_PARSE);
		assert_int_equal(mp_spnego_parse_resp(m, b.len + 1, &r), MP_ERR_PARSE);
		free(m);
		free(b.p);
	}
}

/* Every byte of every vector (the 70000-byte token: its first and last 64) set to
   values that hit the length and tag paths; never a crash, only canonical successes. */
static void test_mutation_everywhere(void **state)
{
	static const uint8_t vals[] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x06, 0x0a, 0x1b, 0x1f,
	                               0x30, 0x60, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85,
	                               0x8f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xbf, 0xff};
	size_t successes = 0, total = 0;
	for (size_t v = 0; v < N_VECTORS; v++) {
		struct blob b = load_vec(all_vectors[v]);
		uint8_t *m = malloc(b.len);
		memcpy(m, b.p, b.len);
		for (size_t i = 0; i < b.len; i++) {
			if (b.len > 4096 && i >= 64 && i < b.len - 64)
				continue;
			for (size_t k = 0; k < sizeof(vals) + 2; k++) {
				uint8_t x = k < sizeof(vals)    ? vals[k]
				            : k == sizeof(vals) ? (uint8_t)(b.p[i] + 1)
				                                : (uint8_t)(b.p[i] - 1);
				if (x == b.p[i])
					continue;
				m[i] = x;
				total++;
				if (parse_any(m, b.len) == MP_OK)
					successes++;
				m[i] = b.p[i];
			}
		}
		free(m);
		free(b.p);
	}
	/* Some edits land in opaque bytes (tokens, MICs) and must still parse. */
	print_message("%zu of %zu mutated tokens parse (and re-encode to themselves)\n", successes,
	              total);
	assert_true(successes > 0 && successes < total);
}

struct bad_case {
	const char *name;
	const char *hex;
	int want_init; /* MP_ERR_PARSE unless noted */
	int want_resp;
};

/* Built by a few lines of Python from the DER rules (X.690), one fault each. */
static const struct bad_case bad_cases[] = {
    {"resp ok", "a1073005a0030a0101", MP_ERR_PARSE, MP_OK},
    {"resp empty ok", "a1023000", MP_ERR_PARSE, MP_OK},
    {"init ok", "601806062b0601050502a00e300ca00a300806062a0304050607", MP_OK, MP_ERR_PARSE},
    {"indefinite outer", "a1803005a0030a01010000", MP_ERR_PARSE, MP_ERR_PARSE},
    {"indefinite inner", "a1093080a0030a01010000", MP_ERR_PARSE, MP_ERR_PARSE},
    {"long form for 7", "a181073005a0030a0101", MP_ERR_PARSE, MP_ERR_PARSE},
    {"leading zero length octet", "a18200073005a0030a0101", MP_ERR_PARSE, MP_ERR_PARSE},
    {"length past the end", "a1083005a0030a0101", MP_ERR_PARSE, MP_ERR_PARSE},
    {"length short of the end", "a1063005a0030a0101", MP_ERR_PARSE, MP_ERR_PARSE},
    {"inner length past its parent", "a1073006a0030a0101", MP_ERR_PARSE, MP_ERR_PARSE},
    {"4-octet length 2^32-1", "a184ffffffff3005a0030a0101", MP_ERR_PARSE, MP_ERR_PARSE},
    {"5 length octets", "a18500000000073005a0030a0101", MP_ERR_PARSE, MP_ERR_PARSE},
    {"8 length octets", "a18800000000000000073005a0030a0101", MP_ERR_PARSE, MP_ERR_PARSE},
    {"127 length octets", "a1ff", MP_ERR_PARSE, MP_ERR_PARSE},
    {"missing length", "a1", MP_ERR_PARSE, MP_ERR_PARSE},
    {"empty", "", MP_ERR_PARSE, MP_ERR_PARSE},
    {"high tag number form", "bf01073005a0030a0101", MP_ERR_PARSE, MP_ERR_PARSE},
    {"primitive [1]", "81073005a0030a0101", MP_ERR_PARSE, MP_ERR_PARSE},
    {"[2] outer", "a2073005a0030a0101", MP_ERR_PARSE, MP_ERR_PARSE},
    {"SET not SEQUENCE", "a1073105a0030a0101", MP_ERR_PARSE, MP_ERR_PARSE},
    {"primitive [0] field", "a107300580030a0101", MP_ERR_PARSE, MP_ERR_PARSE},
    {"INTEGER negState", "a1073005a003020101", MP_ERR_PARSE, MP_ERR_PARSE},
    {"unknown field [4]", "a1073005a403040101", MP_ERR_PARSE, MP_ERR_PARSE},
    {"field [31] (high tag)", "a1083006bf1f03040101", MP_ERR_PARSE, MP_ERR_PARSE},
    {"fields out of order", "a10d300ba2040402aabba0030a0101", MP_ERR_PARSE, MP_ERR_PARSE},
    {"field twice", "a10c300aa0030a0101a0030a0100", MP_ERR_PARSE, MP_ERR_PARSE},
    {"two TLVs in a field", "a1093007a0050a01010500", MP_ERR_PARSE, MP_ERR_PARSE},
    {"empty field", "a1043002a000", MP_ERR_PARSE, MP_ERR_PARSE},
    {"trailing byte in SEQUENCE", "a1083006a0030a010100", MP_ERR_PARSE, MP_ERR_PARSE},
    {"trailing byte after token", "a1073005a0030a010100", MP_ERR_PARSE, MP_ERR_PARSE},
    {"two SEQUENCEs", "a1093005a0030a01013000", MP_ERR_PARSE, MP_ERR_PARSE},
    {"negState 4", "a1073005a0030a0104", MP_ERR_PARSE, MP_ERR_PARSE},
    {"negState -1", "a1073005a0030a01ff", MP_ERR_PARSE, MP_ERR_PARSE},
    {"negState in 2 octets", "a1083006a0040a020001", MP_ERR_PARSE, MP_ERR_PARSE},
    {"negState empty", "a1063004a0020a00", MP_ERR_PARSE, MP_ERR_PARSE},
    {"empty OID", "a1063004a1020600", MP_ERR_PARSE, MP_ERR_PARSE},
    {"OID ends mid sub-identifier", "a1083006a10406022aff", MP_ERR_PARSE, MP_ERR_PARSE},
    {"OID non-minimal sub-identifier", "a1093007a10506032a8001", MP_ERR_PARSE, MP_ERR_PARSE},
    {"OID ok", "a1093007a10506032a8101", MP_ERR_PARSE, MP_OK},
    {"responseToken not OCTET STRING", "a1073005a203030100", MP_ERR_PARSE, MP_ERR_PARSE},
    {"mechListMIC not OCTET STRING", "a1063004a3023000", MP_ERR_PARSE, MP_ERR_PARSE},
    {"init: not the SPNEGO OID", "601b06092a864886f712010202a00e300ca00a300806062a0304050607",
     MP_ERR_PARSE, MP_ERR_PARSE},
    {"init: NegTokenResp inside", "601806062b0601050502a10e300ca00a300806062a0304050607",
     MP_ERR_PARSE, MP_ERR_PARSE},
    {"init: [1] inside, SEQUENCE of resp", "601106062b0601050502a1073005a0030a0101", MP_ERR_PARSE,
     MP_ERR_PARSE},
    {"init: no thisMech", "6010a00e300ca00a300806062a0304050607", MP_ERR_PARSE, MP_ERR_PARSE},
    {"init: thisMech only", "600806062b0601050502", MP_ERR_PARSE, MP_ERR_PARSE},
    {"init: no mechTypes", "601006062b0601050502a0063004a2020400", MP_ERR_PARSE, MP_ERR_PARSE},
    {"init: empty mechTypes", "601006062b0601050502a0063004a0023000", MP_ERR_PARSE, MP_ERR_PARSE},
    {"init: empty NegTokenInit", "600c06062b0601050502a0023000", MP_ERR_PARSE, MP_ERR_PARSE},
    {"init: mechType not an OID", "601406062b0601050502a00a3008a006300404022a03", MP_ERR_PARSE,
     MP_ERR_PARSE},
    {"init: mechType SEQUENCE", "601a06062b0601050502a010300ea00c300a300806062a0304050607",
     MP_ERR_PARSE, MP_ERR_PARSE},
    {"init: bad OID in list", "601c06062b0601050502a0123010a00e300c06062a030405060706022a86",
     MP_ERR_PARSE, MP_ERR_PARSE},
    {"init: trailing after mechTypes", "601a06062b0601050502a010300ea00c300806062a03040506070500",
     MP_ERR_PARSE, MP_ERR_PARSE},
    {"init: trailing after [0]", "601a06062b0601050502a00e300ca00a300806062a03040506070500",
     MP_ERR_PARSE, MP_ERR_PARSE},
    {"init: trailing in [0]", "601a06062b0601050502a010300ca00a300806062a03040506070500",
     MP_ERR_PARSE, MP_ERR_PARSE},
    {"init: reqFlags, 8 unused bits",
     "601e06062b0601050502a0143012a00a300806062a0304050607a10403020800", MP_ERR_PARSE,
     MP_ERR_PARSE},
    {"init: reqFlags, unused bits, no data",
     "601d06062b0601050502a0133011a00a300806062a0304050607a103030101", MP_ERR_PARSE, MP_ERR_PARSE},
    {"init: reqFlags empty", "601c06062b0601050502a0123010a00a300806062a0304050607a1020300",
     MP_ERR_PARSE, MP_ERR_PARSE},
    {"init: reqFlags no bits ok", "601d06062b0601050502a0133011a00a300806062a0304050607a103030100",
     MP_OK, MP_ERR_PARSE},
    {"init: reqFlags ok", "601e06062b0601050502a0143012a00a300806062a0304050607a10403020142", MP_OK,
     MP_ERR_PARSE},
    {"init: mechToken not OCTET STRING",
     "601d06062b0601050502a0133011a00a300806062a0304050607a203030100", MP_ERR_PARSE, MP_ERR_PARSE},
    {"init: mechToken empty ok", "601c06062b0601050502a0123010a00a300806062a0304050607a2020400",
     MP_OK, MP_ERR_PARSE},
    {"init: [3] MIC then [4] MIC",
     "602206062b0601050502a0183016a00a300806062a0304050607a3030401aaa4030401bb", MP_ERR_PARSE,
     MP_ERR_PARSE},
    {"init: negHints then [4] MIC ok",
     "602506062b0601050502a01b3019a00a300806062a0304050607a3063004a0021b00a4030401bb", MP_OK,
     MP_ERR_PARSE},
    {"init: negHints empty ok", "601c06062b0601050502a0123010a00a300806062a0304050607a3023000",
     MP_OK, MP_ERR_PARSE},
    {"init: negHints [1] before [0]",
     "602806062b0601050502a01e301ca00a300806062a0304050607a30e300ca1030401aaa0051b03616263",
     MP_ERR_PARSE, MP_ERR_PARSE},
    {"init: negHints [0] twice",
     "602606062b0601050502a01c301aa00a300806062a0304050607a30c300aa0031b0161a0031b0162",
     MP_ERR_PARSE, MP_ERR_PARSE},
    {"init: hintName UTF8String",
     "602306062b0601050502a0193017a00a300806062a0304050607a3093007a0050c03616263", MP_ERR_PARSE,
     MP_ERR_PARSE},
    {"init: hintAddress not OCTET STRING",
     "602306062b0601050502a0193017a00a300806062a0304050607a3093007a1051b03616263", MP_ERR_PARSE,
     MP_ERR_PARSE},
    {"init: negHints [2]", "602106062b0601050502a0173015a00a300806062a0304050607a3073005a2030401aa",
     MP_ERR_PARSE, MP_ERR_PARSE},
    {"init: negHints trailing", "601e06062b0601050502a0143012a00a300806062a0304050607a30430000500",
     MP_ERR_PARSE, MP_ERR_PARSE},
    {"init: [3] neither SEQUENCE nor OCTET STRING",
     "601d06062b0601050502a0133011a00a300806062a0304050607a303020101", MP_ERR_PARSE, MP_ERR_PARSE},
    {"init: [3] empty", "601a06062b0601050502a010300ea00a300806062a0304050607a300", MP_ERR_PARSE,
     MP_ERR_PARSE},
    {"init: [5]", "601e06062b0601050502a0143012a00a300806062a0304050607a5040402aabb", MP_ERR_PARSE,
     MP_ERR_PARSE},
    {"init: [4] then [3]", "602106062b0601050502a0173015a00a300806062a0304050607a4030401bba3023000",
     MP_ERR_PARSE, MP_ERR_PARSE},
    {"init: [APPLICATION 1]", "611806062b0601050502a00e300ca00a300806062a0304050607", MP_ERR_PARSE,
     MP_ERR_PARSE},
    {"init: primitive [APPLICATION 0]", "401806062b0601050502a00e300ca00a300806062a0304050607",
     MP_ERR_PARSE, MP_ERR_PARSE},
    {"init: SET", "601806062b0601050502a00e310ca00a300806062a0304050607", MP_ERR_PARSE,
     MP_ERR_PARSE},
};

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	return hexbytes(s, out, cap);
}

static void test_malformed_cases(void **state)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		uint8_t buf[256];
		size_t n = unhex(c->hex, buf, sizeof(buf));
		uint8_t *m = malloc(n ? n : 1); /* exact size for ASan */
		memcpy(m, buf, n);
		struct mp_spnego_init in;
		struct mp_spnego_resp r;
		int ri = mp_spnego_parse_init(m, n, &in);
		int rr = mp_spnego_parse_resp(m, n, &r);
		if (ri != c->want_init || rr != c->want_resp)
			fail_msg("%s: init %s (want %s), resp %s (want %s)", c->name,
			         mp_status_name(ri), mp_status_name(c->want_init),
			         mp_status_name(rr), mp_status_name(c->want_resp));
		(void)parse_any(m, n);
		free(m);
	}
}

/* Append a DER length (minimal form). */
static void put_len(struct mp_wbuf *wb, size_t n)
{
	if (n < 0x80) {
		mp_wb_u8(wb, (uint8_t)n);
		return;
	}
	size_t k = n < 0x100 ? 1 : n < 0x10000 ? 2 : n < 0x1000000 ? 3 : 4;
	mp_wb_u8(wb, (uint8_t)(0x80 | k));
	while (k-- > 0)
		mp_wb_u8(wb, (uint8_t)(n >> (8 * k)));
}

/* Replace wb's content by TAG LEN content. */
static void wrap(struct mp_wbuf *wb, uint8_t tag)
{
	struct mp_wbuf t;
	mp_wb_init(&t);
	mp_wb_u8(&t, tag);
	put_len(&t, wb->len);
	mp_wb_bytes(&t, wb->data, wb->len);
	assert_false(t.bad);
	mp_wb_free(wb);
	*wb = t;
}

/* The SPNEGO wrapper around a mechTypes [0] whose SEQUENCE OF content is wb. */
static void wrap_init(struct mp_wbuf *wb)
{
	wrap(wb, 0x30); /* mechTypes SEQUENCE OF */
	wrap(wb, 0xa0); /* [0] mechTypes */
	wrap(wb, 0x30); /* NegTokenInit */
	wrap(wb, 0xa0); /* [0] negTokenInit */
	struct mp_wbuf t;
	mp_wb_init(&t);
	mp_wb_bytes(&t, "\x06\x06\x2b\x06\x01\x05\x05\x02", 8);
	mp_wb_bytes(&t, wb->data, wb->len);
	mp_wb_free(wb);
	*wb = t;
	wrap(wb, 0x60);
}

/*
 * Nesting: the grammar is fixed and the parser does not recurse, so a
 * 2000-deep tower of SEQUENCEs where an OID belongs, or towers of the
 * token's own tags, are just a wrong tag: MP_ERR_PARSE, at constant stack.
 */
static void test_deep_nesting(void **state)
{
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	for (int i = 0; i < 2000; i++)
		wrap(&wb, 0x30);
	struct mp_spnego_init in;
	struct mp_spnego_resp r;
	assert_int_equal(mp_spnego_parse_init(wb.data, wb.len, &in), MP_ERR_PARSE);
	assert_int_equal(mp_spnego_parse_resp(wb.data, wb.len, &r), MP_ERR_PARSE);
	wrap_init(&wb);
	assert_true(wb.len > 6000); /* long lengths all the way down */
	assert_int_equal(mp_spnego_parse_init(wb.data, wb.len, &in), MP_ERR_PARSE);
	mp_wb_free(&wb);

	static const uint8_t tags[] = {0x60, 0xa0, 0xa1, 0x30, 0xa3};
	for (size_t k = 0; k < sizeof(tags); k++) {
		mp_wb_init(&wb);
		for (int i = 0; i < 2000; i++)
			wrap(&wb, tags[k]);
		assert_int_equal(mp_spnego_parse_init(wb.data, wb.len, &in), MP_ERR_PARSE);
		assert_int_equal(mp_spnego_parse_resp(wb.data, wb.len, &r), MP_ERR_PARSE);
		/* Deep inside a field: a tower as negHints, as responseToken's content... */
		wrap(&wb, 0xa3);
		wrap(&wb, 0x30);
		wrap(&wb, 0xa1);
		assert_int_equal(mp_spnego_parse_resp(wb.data, wb.len, &r), MP_ERR_PARSE);
		mp_wb_free(&wb);
	}
	/* ...whereas an OCTET STRING's content is opaque: a tower there is fine. */
	mp_wb_init(&wb);
	for (int i = 0; i < 2000; i++)
		wrap(&wb, 0x30);
	wrap(&wb, 0x04);
	wrap(&wb, 0xa2);
	wrap(&wb, 0x30);
	wrap(&wb, 0xa1);
	assert_int_equal(mp_spnego_parse_resp(wb.data, wb.len, &r), MP_OK);
	mp_wb_free(&wb);
}

/* 32 mechanisms parse; 33 are MP_ERR_LIMIT (parser and encoder). */
static void test_mech_limit(void **state)
{
	struct mp_spnego_oid mechs[MP_SPNEGO_MAX_MECHS + 1];
	for (size_t i = 0; i <= MP_SPNEGO_MAX_MECHS; i++)
		mechs[i] = oid_of(i % 2 ? MP_SPNEGO_MECH_KRB5 : MP_SPNEGO_MECH_NTLMSSP);
	for (size_t n = MP_SPNEGO_MAX_MECHS - 1; n <= MP_SPNEGO_MAX_MECHS + 1; n++) {
		struct mp_wbuf wb;
		mp_wb_init(&wb);
		for (size_t i = 0; i < n; i++) {
			mp_wb_u8(&wb, 0x06);
			mp_wb_u8(&wb, (uint8_t)mechs[i].der.len);
			mp_wb_bytes(&wb, mechs[i].der.p, mechs[i].der.len);
		}
		wrap_init(&wb);
		struct mp_spnego_init in;
		struct mp_wbuf enc;
		mp_wb_init(&enc);
		if (n <= MP_SPNEGO_MAX_MECHS) {
			assert_int_equal(mp_spnego_parse_init(wb.data, wb.len, &in), MP_OK);
			assert_int_equal(in.n_mechs, n);
			assert_int_equal(mp_spnego_encode_init(&enc, &in), MP_OK);
			assert_int_equal(enc.len, wb.len);
			assert_memory_equal(enc.data, wb.data, wb.len);
		} else {
			assert_int_equal(mp_spnego_parse_init(wb.data, wb.len, &in), MP_ERR_LIMIT);
			assert_int_equal(in.n_mechs, 0); /* cleared on error */
			assert_int_equal(mp_spnego_encode_mech_types(&enc, mechs, n), MP_ERR_LIMIT);
			assert_int_equal(enc.len, 0);
		}
		mp_wb_free(&enc);
		mp_wb_free(&wb);
	}
}

/* ---- encoder ------------------------------------------------------------------ */

/* Lengths at every DER length-form boundary: minimal, and they round-trip. */
static void test_length_forms(void **state)
{
	static const size_t sizes[] = {0,     1,     127,      128,      255,     256,
	                               65535, 65536, 0xfffff0, 0xffffff, 1u << 24};
	uint8_t *big = calloc(1u << 24, 1);
	assert_non_null(big);
	big[0] = 0x42;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct mp_spnego_resp r = {0}, got;
		r.has_response_token = true;
		r.response_token = (struct mp_spnego_bytes){big, sizes[i]};
		struct mp_wbuf wb, hdr;
		mp_wb_init(&wb);
		mp_wb_init(&hdr);
		assert_int_equal(mp_spnego_encode_resp(&wb, &r), MP_OK);
		assert_int_equal(mp_spnego_parse_resp(wb.data, wb.len, &got), MP_OK);
		assert_true(got.has_response_token);
		assert_int_equal(got.response_token.len, sizes[i]);
		assert_ptr_equal(got.response_token.p, wb.data + wb.len - sizes[i]);
		/* 04 + the minimal length right before the content. */
		mp_wb_u8(&hdr, 0x04);
		put_len(&hdr, sizes[i]);
		assert_memory_equal(wb.data + wb.len - sizes[i] - hdr.len, hdr.data, hdr.len);
		mp_wb_free(&hdr);
		mp_wb_free(&wb);

		struct mp_spnego_init t = {0}, gi;
		t.n_mechs = 1;
		t.mechs[0] = oid_of(MP_SPNEGO_MECH_NTLMSSP);
		t.has_mech_token = true;
		t.mech_token = r.response_token;
		mp_wb_init(&wb);
		assert_int_equal(mp_spnego_encode_init(&wb, &t), MP_OK);
		assert_int_equal(mp_spnego_parse_init(wb.data, wb.len, &gi), MP_OK);
		assert_int_equal(gi.mech_token.len, sizes[i]);
		mp_wb_free(&wb);
	}
	/* Above MP_SPNEGO_MAX_FIELD: MP_ERR_LIMIT, wb untouched. */
	struct mp_spnego_resp r = {0};
	r.has_response_token = true;
	r.response_token = (struct mp_spnego_bytes){big, MP_SPNEGO_MAX_FIELD + 1u};
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_wb_bytes(&wb, "abc", 3);
	assert_int_equal(mp_spnego_encode_resp(&wb, &r), MP_ERR_LIMIT);
	assert_int_equal(wb.len, 3);
	r.has_response_token = false;
	r.has_mech_list_mic = true;
	r.mech_list_mic = r.response_token;
	assert_int_equal(mp_spnego_encode_resp(&wb, &r), MP_ERR_LIMIT);
	struct mp_spnego_init t = {0};
	t.n_mechs = 1;
	t.mechs[0] = oid_of(MP_SPNEGO_MECH_NTLMSSP);
	t.has_neg_hints = true;
	t.has_hint_address = true;
	t.hint_address = r.mech_list_mic;
	assert_int_equal(mp_spnego_encode_init(&wb, &t), MP_ERR_LIMIT);
	assert_int_equal(wb.len, 3);
	mp_wb_free(&wb);
	free(big);
}

static void test_encoder_errors(void **state)
{
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_wb_bytes(&wb, "abc", 3);
	struct mp_spnego_init t = {0};
	assert_int_equal(mp_spnego_encode_init(&wb, &t), MP_ERR_PARSE); /* no mechanism */
	t.n_mechs = MP_SPNEGO_MAX_MECHS + 1;
	assert_int_equal(mp_spnego_encode_init(&wb, &t), MP_ERR_LIMIT);
	t.n_mechs = 1;
	t.mechs[0] = (struct mp_spnego_oid){MP_SPNEGO_MECH_OTHER, {NULL, 0}};
	assert_int_equal(mp_spnego_encode_init(&wb, &t), MP_ERR_PARSE); /* no OID for OTHER */
	static const uint8_t bad_oid[] = {0x2b, 0x86};
	t.mechs[0] = (struct mp_spnego_oid){MP_SPNEGO_MECH_OTHER, {bad_oid, 2}};
	assert_int_equal(mp_spnego_encode_init(&wb, &t), MP_ERR_PARSE);
	t.mechs[0] = oid_of(MP_SPNEGO_MECH_NTLMSSP);
	t.has_req_flags = true;
	assert_int_equal(mp_spnego_encode_init(&wb, &t), MP_ERR_PARSE); /* empty BIT STRING */
	static const uint8_t flags9[] = {0x09, 0x00};
	t.req_flags = (struct mp_spnego_bytes){flags9, 2};
	assert_int_equal(mp_spnego_encode_init(&wb, &t), MP_ERR_PARSE);
	t.has_req_flags = false;
	t.has_mech_token = true;
	t.mech_token = (struct mp_spnego_bytes){NULL, 5};
	assert_int_equal(mp_spnego_encode_init(&wb, &t), MP_ERR_PARSE);
	t.mech_token = (struct mp_spnego_bytes){NULL, 0}; /* empty OCTET STRING is fine */
	assert_int_equal(wb.len, 3);
	assert_int_equal(mp_spnego_encode_init(&wb, &t), MP_OK);
	struct mp_spnego_init got;
	assert_int_equal(mp_spnego_parse_init(wb.data + 3, wb.len - 3, &got), MP_OK);
	assert_true(got.has_mech_token);
	assert_int_equal(got.mech_token.len, 0);

	/* The mechanism's OID stands in for an empty der; a der wins over the mech. */
	wb.len = 0;
	t.has_mech_token = false;
	t.mechs[0] = (struct mp_spnego_oid){MP_SPNEGO_MECH_KRB5, {oid_unknown, 3}};
	assert_int_equal(mp_spnego_encode_init(&wb, &t), MP_OK);
	assert_int_equal(mp_spnego_parse_init(wb.data, wb.len, &got), MP_OK);
	assert_int_equal(got.mechs[0].mech, MP_SPNEGO_MECH_OTHER);

	/* has_neg_hints without is_init2 still writes NegTokenInit2 ([4] MIC). */
	wb.len = 0;
	t.mechs[0] = oid_of(MP_SPNEGO_MECH_NTLMSSP);
	t.has_neg_hints = true;
	t.has_mech_list_mic = true;
	t.mech_list_mic = (struct mp_spnego_bytes){(const uint8_t *)"0123456789abcdef", 16};
	assert_int_equal(mp_spnego_encode_init(&wb, &t), MP_OK);
	assert_int_equal(mp_spnego_parse_init(wb.data, wb.len, &got), MP_OK);
	assert_true(got.is_init2 && got.has_neg_hints && got.has_mech_list_mic);
	assert_false(got.has_hint_name || got.has_hint_address);
	assert_int_equal(wb.data[wb.len - 16 - 4], 0xa4);

	struct mp_spnego_resp r = {0};
	wb.len = 3;
	r.has_neg_state = true;
	r.neg_state = 4;
	assert_int_equal(mp_spnego_encode_resp(&wb, &r), MP_ERR_PARSE);
	r.neg_state = MP_SPNEGO_REQUEST_MIC;
	r.has_supported_mech = true;
	r.supported_mech = (struct mp_spnego_oid){MP_SPNEGO_MECH_OTHER, {NULL, 0}};
	assert_int_equal(mp_spnego_encode_resp(&wb, &r), MP_ERR_PARSE);
	r.has_mech_list_mic = true;
	r.supported_mech = oid_of(MP_SPNEGO_MECH_NTLMSSP);
	r.mech_list_mic = (struct mp_spnego_bytes){NULL, 16};
	assert_int_equal(mp_spnego_encode_resp(&wb, &r), MP_ERR_PARSE);
	assert_int_equal(wb.len, 3);
	mp_wb_free(&wb);
}

static void test_names_and_oids(void **state)
{
	char buf[128];
	struct mp_spnego_bytes o = mp_spnego_mech_oid(MP_SPNEGO_MECH_NTLMSSP);
	assert_string_equal(mp_spnego_oid_str(o.p, o.len, buf, sizeof(buf)),
	                    "1.3.6.1.4.1.311.2.2.10");
	o = mp_spnego_mech_oid(MP_SPNEGO_MECH_KRB5);
	assert_string_equal(mp_spnego_oid_str(o.p, o.len, buf, sizeof(buf)),
	                    "1.2.840.113554.1.2.2");
	o = mp_spnego_mech_oid(MP_SPNEGO_MECH_MS_KRB5);
	assert_string_equal(mp_spnego_oid_str(o.p, o.len, buf, sizeof(buf)), "1.2.840.48018.1.2.2");
	o = mp_spnego_mech_oid(MP_SPNEGO_MECH_KRB5_U2U);
	assert_string_equal(mp_spnego_oid_str(o.p, o.len, buf, sizeof(buf)),
	                    "1.2.840.113554.1.2.2.3");
	o = mp_spnego_mech_oid(MP_SPNEGO_MECH_NEGOEX);
	assert_string_equal(mp_spnego_oid_str(o.p, o.len, buf, sizeof(buf)),
	                    "1.3.6.1.4.1.311.2.2.30");
	assert_null(mp_spnego_mech_oid(MP_SPNEGO_MECH_OTHER).p);
	assert_string_equal(mp_spnego_oid_str(oid_unknown, 3, buf, sizeof(buf)), "2.999.3");
	static const uint8_t zero[] = {0x00}, big[] = {0x81, 0x80, 0x80, 0x80, 0x80,
	                                               0x80, 0x80, 0x80, 0x80, 0x00}; /* 2^63 */
	static const uint8_t huge[] = {0x82, 0x80, 0x80, 0x80, 0x80,
	                               0x80, 0x80, 0x80, 0x80, 0x00}; /* 2^64 */
	assert_string_equal(mp_spnego_oid_str(zero, 1, buf, sizeof(buf)), "0.0");
	assert_string_equal(mp_spnego_oid_str(big, sizeof(big), buf, sizeof(buf)),
	                    "2.9223372036854775728");
	assert_string_equal(mp_spnego_oid_str(huge, sizeof(huge), buf, sizeof(buf)), "?");
	/* Judged whole before printing: a bad arc late in the OID is "?" even when
	   the buffer would only have held the first arcs (found by fuzz_spnego). */
	static const uint8_t late[] = {0x2b, 0x06, 0x01, 0x82, 0xff, 0xff, 0xff,
	                               0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
	assert_string_equal(mp_spnego_oid_str(late, sizeof(late), buf, 6), "?");
	assert_string_equal(mp_spnego_oid_str(late, sizeof(late), buf, sizeof(buf)), "?");
	assert_string_equal(mp_spnego_oid_str(late, 3, buf, 6), "1.3.6");
	static const uint8_t nonminimal[] = {0x80, 0x01};
	assert_string_equal(mp_spnego_oid_str(nonminimal, 2, buf, sizeof(buf)), "?");
	assert_string_equal(mp_spnego_oid_str(NULL, 0, buf, sizeof(buf)), "?");
	o = mp_spnego_mech_oid(MP_SPNEGO_MECH_NTLMSSP);
	assert_string_equal(mp_spnego_oid_str(o.p, o.len, buf, 8), "1.3.6.1");
	assert_string_equal(mp_spnego_oid_str(o.p, o.len, buf, 2), "1");
	buf[0] = 'x';
	assert_ptr_equal(mp_spnego_oid_str(o.p, o.len, buf, 0), buf);
	assert_int_equal(buf[0], 'x');

	assert_int_equal(mp_spnego_mech_of(o.p, o.len), MP_SPNEGO_MECH_NTLMSSP);
	assert_int_equal(mp_spnego_mech_of(o.p, o.len - 1), MP_SPNEGO_MECH_OTHER);
	assert_string_equal(mp_spnego_mech_name(MP_SPNEGO_MECH_NTLMSSP), "ntlmssp");
	assert_string_equal(mp_spnego_mech_name(MP_SPNEGO_MECH_MS_KRB5), "ms-krb5");
	assert_string_equal(mp_spnego_mech_name(MP_SPNEGO_MECH_OTHER), "other");
	assert_string_equal(mp_spnego_mech_name((enum mp_spnego_mech)99), "other");
	assert_string_equal(mp_spnego_neg_state_name(MP_SPNEGO_REQUEST_MIC), "request-mic");
	assert_string_equal(mp_spnego_neg_state_name(MP_SPNEGO_ACCEPT_INCOMPLETE),
	                    "accept-incomplete");
	assert_string_equal(mp_spnego_neg_state_name(MP_SPNEGO_REJECT), "reject");
	assert_string_equal(mp_spnego_neg_state_name(MP_SPNEGO_ACCEPT_COMPLETED),
	                    "accept-completed");
	assert_string_equal(mp_spnego_neg_state_name(4), "unknown");
	assert_int_equal(mp_spnego_token_type(NULL, 0), MP_ERR_PARSE);
	struct mp_spnego_init in;
	struct mp_spnego_resp r;
	assert_int_equal(mp_spnego_parse_init(NULL, 0, &in), MP_ERR_PARSE);
	assert_int_equal(mp_spnego_parse_resp(NULL, 0, &r), MP_ERR_PARSE);
	assert_int_equal(mp_spnego_parse_init(NULL, 10, &in), MP_ERR_PARSE);
	assert_int_equal(mp_spnego_parse_resp(NULL, 10, &r), MP_ERR_PARSE);
	assert_int_equal(mp_spnego_token_type((const uint8_t *)"\x30", 1), MP_ERR_PARSE);
	assert_int_equal(mp_spnego_token_type((const uint8_t *)"\xa0", 1), MP_ERR_PARSE);
	/* An NTLMSSP message is not a SPNEGO token. */
	assert_int_equal(mp_spnego_token_type(spec_v2_challenge_msg, sizeof(spec_v2_challenge_msg)),
	                 MP_ERR_PARSE);
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "--serve") == 0)
		return serve(argv[2], argv[3], atoi(argv[4]));
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
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_impacket_init),
	    cmocka_unit_test(test_impacket_resp),
	    cmocka_unit_test(test_asn1_init),
	    cmocka_unit_test(test_asn1_resp),
	    cmocka_unit_test(test_samba_with_mech_list_mic),
	    cmocka_unit_test(test_samba_old_spnego_no_mic),
	    cmocka_unit_test(test_samba_tampered_mic),
	    cmocka_unit_test(test_samba_mic_stripped),
	    cmocka_unit_test(test_exchange_ntlm_first),
	    cmocka_unit_test(test_exchange_downgraded),
	    cmocka_unit_test(test_exchange_wrong_password),
	    cmocka_unit_test(test_exchange_no_ntlm),
	    cmocka_unit_test(test_exchange_without_signing),
	    cmocka_unit_test(test_mic_helpers),
	    cmocka_unit_test(test_choose_ntlm),
	    cmocka_unit_test(test_auth_has_mic),
	    cmocka_unit_test(test_truncation_everywhere),
	    cmocka_unit_test(test_mutation_everywhere),
	    cmocka_unit_test(test_malformed_cases),
	    cmocka_unit_test(test_deep_nesting),
	    cmocka_unit_test(test_mech_limit),
	    cmocka_unit_test(test_length_forms),
	    cmocka_unit_test(test_encoder_errors),
	    cmocka_unit_test(test_names_and_oids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
