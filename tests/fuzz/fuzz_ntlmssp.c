/*
 * libFuzzer target: NTLMSSP codecs and state machines (auth/ntlmssp).
 *
 * Each input is tried as all three message types and checked for:
 *   - views (payload fields) staying inside the input;
 *   - a parsed message re-encoding to one that parses back to the same fields;
 *   - AV pair lists (CHALLENGE target info, NTLMv2 blob) parsing without
 *     overrun and re-encoding to a list that parses back the same.
 * Then the state machines run on it:
 *   - a server answers it as a NEGOTIATE;
 *   - a server that has answered a fixed NEGOTIATE takes it as the
 *     AUTHENTICATE (NTLMv1 allowed or not, by the first byte); the result
 *     must be one of the documented codes;
 *   - a client takes it as the CHALLENGE; an AUTHENTICATE it produces must
 *     parse;
 *   - read as (offset, xor) edits, it mutates a genuine AUTHENTICATE made by
 *     our client for the fixed server, so the checks after the NTProofStr
 *     (key exchange, MIC, session keys) run too: an unedited message must
 *     pass, any result must be a documented code.
 */
#include "auth/ntlm_crypto.h"
#include "auth/ntlmssp.h"
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

static void check_view(struct mp_ntlm_bytes b)
{
	if (b.len == 0)
		return;
	check(b.p >= g_base && b.len <= g_size && (size_t)(b.p - g_base) <= g_size - b.len);
}

static bool same(struct mp_ntlm_bytes a, struct mp_ntlm_bytes b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static void check_av(const uint8_t *p, size_t len)
{
	struct mp_ntlm_av_list l;
	int rc = mp_ntlm_av_parse(p, len, &l);
	if (rc == MP_OK) {
		for (size_t i = 0; i < l.n; i++)
			check(l.items[i].len == 0 ||
			      (l.items[i].value >= p &&
			       l.items[i].value + l.items[i].len <= p + len));
		struct mp_wbuf wb;
		mp_wb_init(&wb);
		mp_ntlm_av_encode(&wb, &l);
		check(!wb.bad);
		struct mp_ntlm_av_list m;
		check(mp_ntlm_av_parse(wb.data, wb.len, &m) == MP_OK);
		check(m.n == l.n);
		for (size_t i = 0; i < l.n; i++)
			check(m.items[i].id == l.items[i].id && m.items[i].len == l.items[i].len &&
			      (l.items[i].len == 0 ||
			       memcmp(m.items[i].value, l.items[i].value, l.items[i].len) == 0));
		mp_ntlm_av_free(&m);
		mp_wb_free(&wb);
	} else {
		check(rc == MP_ERR_PARSE || rc == MP_ERR_LIMIT);
	}
	mp_ntlm_av_free(&l);
}

static void codec_negotiate(const uint8_t *d, size_t n)
{
	struct mp_ntlm_negotiate m, m2;
	if (mp_ntlm_parse_negotiate(d, n, &m) != MP_OK)
		return;
	check_view(m.domain);
	check_view(m.workstation);
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	check(mp_ntlm_encode_negotiate(&wb, &m) == MP_OK);
	check(mp_ntlm_parse_negotiate(wb.data, wb.len, &m2) == MP_OK);
	check(m2.flags == m.flags && same(m2.domain, m.domain) &&
	      same(m2.workstation, m.workstation) && m2.has_version == m.has_version);
	mp_wb_free(&wb);
}

static void codec_challenge(const uint8_t *d, size_t n)
{
	struct mp_ntlm_challenge m, m2;
	if (mp_ntlm_parse_challenge(d, n, &m) != MP_OK)
		return;
	check_view(m.target_name);
	check_view(m.target_info);
	check_av(m.target_info.p, m.target_info.len);
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	check(mp_ntlm_encode_challenge(&wb, &m) == MP_OK);
	check(mp_ntlm_parse_challenge(wb.data, wb.len, &m2) == MP_OK);
	check(m2.flags == m.flags && same(m2.target_name, m.target_name) &&
	      same(m2.target_info, m.target_info) &&
	      memcmp(m2.server_challenge, m.server_challenge, 8) == 0);
	mp_wb_free(&wb);
}

static void codec_authenticate(const uint8_t *d, size_t n)
{
	struct mp_ntlm_authenticate m, m2;
	if (mp_ntlm_parse_authenticate(d, n, &m) != MP_OK)
		return;
	check_view(m.lm_response);
	check_view(m.nt_response);
	check_view(m.domain);
	check_view(m.user);
	check_view(m.workstation);
	check_view(m.enc_session_key);
	check(!m.has_mic_field || m.has_version);
	if (m.nt_response.len > MP_NTLM_HASH_LEN + MP_NTLM_V2_BLOB_HDR)
		check_av(m.nt_response.p + MP_NTLM_HASH_LEN + MP_NTLM_V2_BLOB_HDR,
		         m.nt_response.len - MP_NTLM_HASH_LEN - MP_NTLM_V2_BLOB_HDR);
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	check(mp_ntlm_encode_authenticate(&wb, &m) == MP_OK);
	check(mp_ntlm_parse_authenticate(wb.data, wb.len, &m2) == MP_OK);
	check(m2.flags == m.flags && same(m2.lm_response, m.lm_response) &&
	      same(m2.nt_response, m.nt_response) && same(m2.domain, m.domain) &&
	      same(m2.user, m.user) && same(m2.workstation, m.workstation) &&
	      same(m2.enc_session_key, m.enc_session_key) && m2.has_mic_field == m.has_mic_field &&
	      m2.has_version == m.has_version);
	if (m.has_mic_field)
		check(memcmp(m2.mic, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16) == 0);
	mp_wb_free(&wb);
}

/* ---- state machines ------------------------------------------------------- */

static int rng_counter(void *arg, uint8_t *buf, size_t len)
{
	uint8_t *c = arg;
	for (size_t i = 0; i < len; i++)
		buf[i] = (*c)++;
	return MP_OK;
}

static uint64_t fixed_clock(void *arg)
{
	return 133300000000000000ull;
}

/* Every user exists, with the NT hash of "Password". */
static int lookup_any(void *arg, const char *user, const char *domain, uint8_t nt_hash[16])
{
	static const uint8_t h[16] = {0xa4, 0xf4, 0x9c, 0x40, 0x65, 0x10, 0xbd, 0xca,
	                              0xb6, 0x82, 0x4e, 0xe7, 0xc3, 0x0f, 0xd8, 0x52};
	check(user != NULL && domain != NULL);
	memcpy(nt_hash, h, 16);
	return MP_OK;
}

static struct mp_ntlm *new_server(bool allow_v1, uint8_t *ctr)
{
	struct mp_ntlm_server_config sc = {
	    .nb_computer_name = "FUZZSRV",
	    .nb_domain_name = "FUZZDOM",
	    .dns_domain_name = "fuzz.test",
	    .allow_ntlmv1 = allow_v1,
	    .lookup = lookup_any,
	    .rng = rng_counter,
	    .rng_arg = ctr,
	    .clock = fixed_clock,
	};
	struct mp_ntlm *s;
	check(mp_ntlm_server_new(&sc, &s) == MP_OK);
	return s;
}

static void run_server(const uint8_t *d, size_t n)
{
	uint8_t ctr = 0;
	struct mp_wbuf out;
	mp_wb_init(&out);

	/* As a NEGOTIATE. */
	struct mp_ntlm *s = new_server(false, &ctr);
	int rc = mp_ntlm_server_challenge(s, d, n, &out);
	check(rc == MP_OK || rc == MP_ERR_PARSE || rc == MP_ERR_UNSUPPORTED);
	if (rc == MP_OK) {
		struct mp_ntlm_challenge ch;
		check(mp_ntlm_parse_challenge(out.data, out.len, &ch) == MP_OK);
	} else {
		check(out.len == 0);
	}
	mp_ntlm_free(s);

	/* As the AUTHENTICATE after a fixed NEGOTIATE. */
	static const uint8_t neg[40] = {
	    'N', 'T', 'L', 'M', 'S', 'S', 'P', 0, 1,  0, 0, 0, 0x37, 0x82, 0x08, 0xe2, 0, 0, 0, 0,
	    40,  0,   0,   0,   0,   0,   0,   0, 40, 0, 0, 0, 6,    1,    0,    0,    0, 0, 0, 15};
	ctr = 0;
	s = new_server(n > 0 && (d[0] & 1), &ctr);
	out.len = 0;
	check(mp_ntlm_server_challenge(s, neg, sizeof(neg), &out) == MP_OK);
	rc = mp_ntlm_server_authenticate(s, d, n);
	check(rc == MP_OK || rc == MP_ERR_AUTH || rc == MP_ERR_AUTH_NTLMV1 || rc == MP_ERR_PARSE ||
	      rc == MP_ERR_UNSUPPORTED);
	if (rc == MP_OK) {
		/* Only reachable with a genuine response: exercise the session. */
		uint8_t sig[16], buf[8] = {0};
		(void)mp_ntlm_sign(s, buf, sizeof(buf), sig);
		(void)mp_ntlm_seal(s, buf, sizeof(buf), NULL, 0, sig);
	} else {
		check(!mp_ntlm_established(s));
		check(mp_ntlm_user(s) == NULL);
	}
	mp_ntlm_free(s);
	mp_wb_free(&out);
}

static struct mp_ntlm *fixed_client(uint8_t *ctr);

static void run_client(const uint8_t *d, size_t n)
{
	uint8_t ctr = 0;
	struct mp_ntlm *c = fixed_client(&ctr);
	struct mp_wbuf neg, auth;
	mp_wb_init(&neg);
	mp_wb_init(&auth);
	check(mp_ntlm_client_negotiate(c, &neg) == MP_OK);
	int rc = mp_ntlm_client_authenticate(c, d, n, &auth);
	check(rc == MP_OK || rc == MP_ERR_PARSE || rc == MP_ERR_UNSUPPORTED);
	if (rc == MP_OK) {
		struct mp_ntlm_authenticate a;
		check(mp_ntlm_parse_authenticate(auth.data, auth.len, &a) == MP_OK);
		check(mp_ntlm_established(c));
		uint8_t sig[16], buf[8] = {0};
		check(mp_ntlm_seal(c, buf, sizeof(buf), NULL, 0, sig) == MP_OK);
	} else {
		check(auth.len == 0);
	}
	mp_wb_free(&neg);
	mp_wb_free(&auth);
	mp_ntlm_free(c);
}

/* A genuine NEGOTIATE / CHALLENGE / AUTHENTICATE triple, made once. */
static struct mp_wbuf g_neg, g_chal, g_auth;

static struct mp_ntlm *fixed_client(uint8_t *ctr)
{
	struct mp_ntlm_client_config cc = {
	    .user = "User",
	    .domain = "Domain",
	    .workstation = "WS",
	    .password = "Password",
	    .want = MP_NTLM_WANT_SEAL,
	    .rng = rng_counter,
	    .rng_arg = ctr,
	    .clock = fixed_clock,
	};
	struct mp_ntlm *c;
	check(mp_ntlm_client_new(&cc, &c) == MP_OK);
	return c;
}

static void make_genuine(void)
{
	if (g_auth.len)
		return;
	uint8_t cctr = 100, sctr = 0;
	struct mp_ntlm *c = fixed_client(&cctr), *s = new_server(false, &sctr);
	check(mp_ntlm_client_negotiate(c, &g_neg) == MP_OK);
	check(mp_ntlm_server_challenge(s, g_neg.data, g_neg.len, &g_chal) == MP_OK);
	check(mp_ntlm_client_authenticate(c, g_chal.data, g_chal.len, &g_auth) == MP_OK);
	check(mp_ntlm_server_authenticate(s, g_auth.data, g_auth.len) == MP_OK);
	mp_ntlm_free(c);
	mp_ntlm_free(s);
}

static void run_mutated(const uint8_t *d, size_t n)
{
	make_genuine();
	/* First byte: how many bytes to cut off the end (0 = none). */
	size_t len = g_auth.len;
	if (n > 0 && d[0] < len)
		len -= d[0] % 32;
	uint8_t *m = malloc(len);
	check(m != NULL);
	memcpy(m, g_auth.data, len);
	bool edited = len != g_auth.len;
	for (size_t i = 1; i + 2 < n; i += 3) {
		size_t off = ((size_t)d[i] | ((size_t)d[i + 1] << 8)) % len;
		m[off] ^= d[i + 2];
		edited |= d[i + 2] != 0;
	}
	uint8_t ctr = 0;
	struct mp_ntlm *s = new_server(false, &ctr);
	struct mp_wbuf out;
	mp_wb_init(&out);
	check(mp_ntlm_server_challenge(s, g_neg.data, g_neg.len, &out) == MP_OK);
	check(out.len == g_chal.len && memcmp(out.data, g_chal.data, out.len) == 0);
	int rc = mp_ntlm_server_authenticate(s, m, len);
	check(rc == MP_OK || rc == MP_ERR_AUTH || rc == MP_ERR_AUTH_NTLMV1 || rc == MP_ERR_PARSE ||
	      rc == MP_ERR_UNSUPPORTED);
	if (!edited)
		check(rc == MP_OK);
	if (rc == MP_OK) {
		uint8_t sig[16], buf[8] = {0};
		(void)mp_ntlm_sign(s, buf, sizeof(buf), sig);
		(void)mp_ntlm_unseal(s, buf, sizeof(buf), NULL, 0, sig);
	}
	mp_ntlm_free(s);
	mp_wb_free(&out);
	free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 8192)
		return 0;
	/* An exact-size copy so ASan sees any read past the end. */
	uint8_t *d = malloc(size ? size : 1);
	if (!d)
		return 0;
	memcpy(d, data, size);
	g_base = d;
	g_size = size;

	int t = mp_ntlm_msg_type(d, size);
	check(t == MP_ERR_PARSE || (t >= MP_NTLM_NEGOTIATE && t <= MP_NTLM_AUTHENTICATE));
	codec_negotiate(d, size);
	codec_challenge(d, size);
	codec_authenticate(d, size);
	check_av(d, size);
	run_server(d, size);
	run_client(d, size);
	run_mutated(d, size);
	free(d);
	return 0;
}
