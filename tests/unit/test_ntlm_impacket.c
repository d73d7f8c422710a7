/*
 * Unit tests: auth/ntlmssp against a real peer, impacket's ntlm module.
 *
 * The vector files tests/unit/data/ntlm_impacket_* were made by
 * tests/unit/data/gen_ntlm_impacket.py: impacket wrote the NEGOTIATE, this
 * program (run as `test_ntlm_impacket --emit-challenge NEG OUT`) answered
 * with our server's CHALLENGE, and impacket wrote the AUTHENTICATE, its
 * exported session key and sealed messages in both directions. Here our
 * server, with the same fixed RNG and clock, must produce the very same
 * CHALLENGE, accept impacket's AUTHENTICATE, agree on the session key,
 * unseal impacket's messages and seal replies byte-identical to what
 * impacket computes for the server side.
 *
 * The data directory is $MP_TEST_DATA_DIR, else argv[1], else data/ next to
 * this source file (meson compiles with paths relative to the build root).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ntlm_fixtures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *data_dir;

/* The server the vectors were made with. */
static const uint8_t imp_server_challenge[8] = {0x5a, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};
static const uint64_t imp_now = 133300000000000000ull; /* 2023-05-31 */
#define IMP_USER "j\xc3\xbcrgen"                       /* jürgen */
#define IMP_PASSWORD "p\xc3\xa4sswort-\xc3\x9f!"       /* pässwort-ß! */

/* Plaintexts sealed by impacket (client) and by us (server). */
static const char *const c2s_plain[2] = {"client to server #0: hello from impacket",
                                         "client to server #1: a second, longer message to check "
                                         "that the RC4 state carries over between PDUs"};
static const char *const s2c_plain[2] = {"server to client #0: hello from mapiproxy",
                                         "server to client #1: and a second reply"};

struct imp_server {
	struct mp_ntlm *s;
	struct fixed_rng rng;
	uint64_t now;
	struct test_user user;
	struct test_db db;
};

static void imp_server_new(struct imp_server *is, const char *password, bool allow_v1)
{
	memset(is, 0, sizeof(*is));
	is->rng = (struct fixed_rng){imp_server_challenge, 8, 0};
	is->now = imp_now;
	is->user.user = IMP_USER;
	is->user.domain = "MPDOMAIN";
	assert_int_equal(mp_ntlm_ntowfv1(password, is->user.nt_hash), MP_OK);
	is->db = (struct test_db){&is->user, 1, 0};
	struct mp_ntlm_server_config sc = {
	    .nb_computer_name = "MPSERVER",
	    .nb_domain_name = "MPDOMAIN",
	    .dns_computer_name = "mpserver.mp.example.test",
	    .dns_domain_name = "mp.example.test",
	    .dns_tree_name = "mp.example.test",
	    .allow_ntlmv1 = allow_v1,
	    .lookup = test_db_lookup,
	    .lookup_arg = &is->db,
	    .rng = fixed_rng_fn,
	    .rng_arg = &is->rng,
	    .clock = fixed_clock_fn,
	    .clock_arg = &is->now,
	};
	assert_int_equal(mp_ntlm_server_new(&sc, &is->s), MP_OK);
}

#include "test_data.h"

static struct blob load(const char *name)
{
	char path[1024];
	struct blob b;
	snprintf(path, sizeof(path), "%s/ntlm_impacket_%s.bin", data_dir, name);
	if (!read_path(path, &b))
		fail_msg("cannot read %s (set MP_TEST_DATA_DIR)", path);
	return b;
}

/* Run NEGOTIATE -> CHALLENGE (checked against the file) -> AUTHENTICATE. */
static int imp_handshake(struct imp_server *is, const char *scenario)
{
	char name[64];
	snprintf(name, sizeof(name), "%s_negotiate", scenario);
	struct blob neg = load(name);
	snprintf(name, sizeof(name), "%s_challenge", scenario);
	struct blob chal = load(name);
	snprintf(name, sizeof(name), "%s_authenticate", scenario);
	struct blob auth = load(name);
	struct mp_wbuf out;
	mp_wb_init(&out);
	assert_int_equal(mp_ntlm_server_challenge(is->s, neg.p, neg.len, &out), MP_OK);
	assert_int_equal(out.len, chal.len);
	assert_memory_equal(out.data, chal.p, chal.len);
	int rc = mp_ntlm_server_authenticate(is->s, auth.p, auth.len);
	mp_wb_free(&out);
	free(neg.p);
	free(chal.p);
	free(auth.p);
	return rc;
}

static void test_impacket_negotiate_parses(void **state)
{
	struct blob neg = load("v2_negotiate");
	struct mp_ntlm_negotiate n;
	assert_int_equal(mp_ntlm_parse_negotiate(neg.p, neg.len, &n), MP_OK);
	assert_true(n.flags & MP_NTLMSSP_NEGOTIATE_SEAL);
	assert_true(n.flags & MP_NTLMSSP_NEGOTIATE_KEY_EXCH);
	assert_true(n.flags & MP_NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY);
	free(neg.p);
}

static void test_impacket_nt_hash(void **state)
{
	struct blob h = load("v2_nt_hash");
	uint8_t mine[16];
	assert_int_equal(h.len, 16);
	assert_int_equal(mp_ntlm_ntowfv1(IMP_PASSWORD, mine), MP_OK);
	assert_memory_equal(mine, h.p, 16);
	free(h.p);
}

static void test_impacket_v2_accepted_and_sealed(void **state)
{
	struct imp_server is;
	imp_server_new(&is, IMP_PASSWORD, false);
	assert_int_equal(imp_handshake(&is, "v2"), MP_OK);
	assert_string_equal(mp_ntlm_user(is.s), IMP_USER);
	assert_string_equal(mp_ntlm_domain(is.s), "MPDOMAIN");
	uint32_t f = mp_ntlm_flags(is.s);
	assert_true(f & MP_NTLMSSP_NEGOTIATE_SEAL);
	assert_true(f & MP_NTLMSSP_NEGOTIATE_KEY_EXCH);

	struct blob key = load("v2_session_key");
	uint8_t mine[16];
	assert_int_equal(mp_ntlm_session_key(is.s, mine), MP_OK);
	assert_int_equal(key.len, 16);
	assert_memory_equal(mine, key.p, 16);
	free(key.p);

	/* impacket's sealed messages, seq 0 and 1: [sig(16)][sealed] each. */
	struct blob c2s = load("v2_c2s");
	size_t off = 0;
	for (int i = 0; i < 2; i++) {
		size_t n = strlen(c2s_plain[i]);
		assert_true(off + 16 + n <= c2s.len);
		uint8_t *d = c2s.p + off + 16;
		assert_int_equal(mp_ntlm_unseal(is.s, d, n, NULL, 0, c2s.p + off), MP_OK);
		assert_memory_equal(d, c2s_plain[i], n);
		off += 16 + n;
	}
	assert_int_equal(off, c2s.len);
	free(c2s.p);

	/* Our replies equal what impacket computes with the server keys. */
	struct blob s2c = load("v2_s2c");
	off = 0;
	for (int i = 0; i < 2; i++) {
		size_t n = strlen(s2c_plain[i]);
		uint8_t buf[256], sig[16];
		assert_true(n <= sizeof(buf) && off + 16 + n <= s2c.len);
		memcpy(buf, s2c_plain[i], n);
		assert_int_equal(mp_ntlm_seal(is.s, buf, n, NULL, 0, sig), MP_OK);
		assert_memory_equal(sig, s2c.p + off, 16);
		assert_memory_equal(buf, s2c.p + off + 16, n);
		off += 16 + n;
	}
	assert_int_equal(off, s2c.len);
	free(s2c.p);
	mp_ntlm_free(is.s);
}

static void test_impacket_v2_wrong_password(void **state)
{
	struct imp_server is;
	imp_server_new(&is, "not the password", false);
	assert_int_equal(imp_handshake(&is, "v2"), MP_ERR_AUTH);
	mp_ntlm_free(is.s);
}

static void test_impacket_v1_policy(void **state)
{
	struct imp_server is;
	imp_server_new(&is, IMP_PASSWORD, false);
	assert_int_equal(imp_handshake(&is, "v1"), MP_ERR_AUTH_NTLMV1);
	mp_ntlm_free(is.s);

	imp_server_new(&is, IMP_PASSWORD, true);
	assert_int_equal(imp_handshake(&is, "v1"), MP_OK);
	struct blob key = load("v1_session_key");
	uint8_t mine[16];
	assert_int_equal(mp_ntlm_session_key(is.s, mine), MP_OK);
	assert_memory_equal(mine, key.p, 16);
	free(key.p);
	mp_ntlm_free(is.s);

	imp_server_new(&is, "not the password", true);
	assert_int_equal(imp_handshake(&is, "v1"), MP_ERR_AUTH);
	mp_ntlm_free(is.s);
}

static void test_impacket_truncated(void **state)
{
	struct blob auth = load("v2_authenticate");
	for (size_t n = 0; n < auth.len; n++) {
		struct mp_ntlm_authenticate a;
		uint8_t *m = malloc(n ? n : 1);
		memcpy(m, auth.p, n);
		assert_int_equal(mp_ntlm_parse_authenticate(m, n, &a), MP_ERR_PARSE);
		free(m);
	}
	free(auth.p);
}

/* --emit-challenge NEG OUT: answer impacket's NEGOTIATE (vector generation). */
static int emit_challenge(const char *neg_path, const char *out_path)
{
	struct blob neg;
	if (!read_path(neg_path, &neg)) {
		fprintf(stderr, "cannot read %s\n", neg_path);
		return 2;
	}
	struct imp_server is;
	memset(&is, 0, sizeof(is));
	is.rng = (struct fixed_rng){imp_server_challenge, 8, 0};
	is.now = imp_now;
	is.db = (struct test_db){NULL, 0, 0};
	struct mp_ntlm_server_config sc = {
	    .nb_computer_name = "MPSERVER",
	    .nb_domain_name = "MPDOMAIN",
	    .dns_computer_name = "mpserver.mp.example.test",
	    .dns_domain_name = "mp.example.test",
	    .dns_tree_name = "mp.example.test",
	    .lookup = test_db_lookup,
	    .lookup_arg = &is.db,
	    .rng = fixed_rng_fn,
	    .rng_arg = &is.rng,
	    .clock = fixed_clock_fn,
	    .clock_arg = &is.now,
	};
	struct mp_wbuf out;
	mp_wb_init(&out);
	int rc = mp_ntlm_server_new(&sc, &is.s);
	if (rc == MP_OK)
		rc = mp_ntlm_server_challenge(is.s, neg.p, neg.len, &out);
	if (rc != MP_OK) {
		fprintf(stderr, "server: %s\n", mp_ntlm_status_name(rc));
		return 1;
	}
	FILE *f = fopen(out_path, "wb");
	if (!f || fwrite(out.data, 1, out.len, f) != out.len || fclose(f) != 0) {
		fprintf(stderr, "cannot write %s\n", out_path);
		return 2;
	}
	mp_wb_free(&out);
	mp_ntlm_free(is.s);
	free(neg.p);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--emit-challenge") == 0)
		return emit_challenge(argv[2], argv[3]);
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
	    cmocka_unit_test(test_impacket_negotiate_parses),
	    cmocka_unit_test(test_impacket_nt_hash),
	    cmocka_unit_test(test_impacket_v2_accepted_and_sealed),
	    cmocka_unit_test(test_impacket_v2_wrong_password),
	    cmocka_unit_test(test_impacket_v1_policy),
	    cmocka_unit_test(test_impacket_truncated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
