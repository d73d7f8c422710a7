/*
 * Unit tests: auth/ntlm_crypto against the [MS-NLMP] section 4.2 test
 * vectors (4.2.2 NTLMv1, 4.2.3 NTLMv1 with extended session security,
 * 4.2.4 NTLMv2), plus the UTF-8 / UTF-16LE helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ntlm_fixtures.h"

#include <stdlib.h>
#include <string.h>

/* ---- 4.2.2 NTLMv1 --------------------------------------------------------- */

static void test_ntowfv1_4_2_2_1_2(void **state)
{
	uint8_t h[16];
	assert_int_equal(mp_ntlm_ntowfv1("Password", h), MP_OK);
	assert_memory_equal(h, spec_nt_hash, 16);
}

static void test_v1_session_base_key_4_2_2_1_3(void **state)
{
	static const uint8_t want[16] = {0xd8, 0x72, 0x62, 0xb0, 0xcd, 0xe4, 0xb1, 0xcb,
	                                 0x74, 0x99, 0xbe, 0xcc, 0xcd, 0xf1, 0x07, 0x84};
	uint8_t sbk[16];
	mp_ntlm_v1_session_base_key(spec_nt_hash, sbk);
	assert_memory_equal(sbk, want, 16);
}

static void test_v1_response_4_2_2_2_1(void **state)
{
	static const uint8_t want[24] = {0x67, 0xc4, 0x30, 0x11, 0xf3, 0x02, 0x98, 0xa2,
	                                 0xad, 0x35, 0xec, 0xe6, 0x4f, 0x16, 0x33, 0x1c,
	                                 0x44, 0xbd, 0xbe, 0xd9, 0x27, 0x84, 0x1f, 0x94};
	uint8_t r[24];
	mp_ntlm_desl(spec_nt_hash, spec_server_challenge, r);
	assert_memory_equal(r, want, 24);
}

/* 4.2.2.2.3: KXKEY = SessionBaseKey (no LM_KEY, no NON_NT_SESSION_KEY). */
static void test_v1_encrypted_session_key_4_2_2_2_3(void **state)
{
	static const uint8_t want[16] = {0x51, 0x88, 0x22, 0xb1, 0xb3, 0xf3, 0x50, 0xc8,
	                                 0x95, 0x86, 0x82, 0xec, 0xbb, 0x3e, 0x3c, 0xb7};
	uint8_t sbk[16], enc[16], back[16];
	mp_ntlm_v1_session_base_key(spec_nt_hash, sbk);
	mp_ntlm_rc4k(sbk, spec_random_session_key, enc, 16);
	assert_memory_equal(enc, want, 16);
	mp_ntlm_rc4k(sbk, enc, back, 16);
	assert_memory_equal(back, spec_random_session_key, 16);
}

/* 4.2.2.4 (no extended session security): SEALKEY is the exported key itself. */
static void test_v1_seal_no_ess_4_2_2_4(void **state)
{
	static const uint8_t want[18] = {0x56, 0xfe, 0x04, 0xd8, 0x61, 0xf9, 0x31, 0x9a, 0xf0,
	                                 0xd7, 0x23, 0x8a, 0x2e, 0x3b, 0x4d, 0x45, 0x7f, 0xb8};
	uint8_t key[16], out[18];
	uint32_t flags =
	    MP_NTLMSSP_NEGOTIATE_56 | MP_NTLMSSP_NEGOTIATE_SIGN | MP_NTLMSSP_NEGOTIATE_SEAL;
	assert_int_equal(mp_ntlm_sealkey(flags, spec_random_session_key, true, key), 16);
	assert_memory_equal(key, spec_random_session_key, 16);
	mp_ntlm_rc4k(key, spec_plaintext, out, sizeof(out));
	assert_memory_equal(out, want, 18);
}

/* ---- 4.2.3 NTLMv1 with extended session security -------------------------- */

static const uint8_t v1ess_kxkey[16] = {0xeb, 0x93, 0x42, 0x9a, 0x8b, 0xd9, 0x52, 0xf8,
                                        0xb8, 0x9c, 0x55, 0xb8, 0x7f, 0x47, 0x5e, 0xdc};

static void test_v1_ess_response_4_2_3_2(void **state)
{
	static const uint8_t want_nt[24] = {0x75, 0x37, 0xf8, 0x03, 0xae, 0x36, 0x71, 0x28,
	                                    0xca, 0x45, 0x82, 0x04, 0xbd, 0xe7, 0xca, 0xf8,
	                                    0x1e, 0x97, 0xed, 0x26, 0x83, 0x26, 0x72, 0x32};
	uint8_t chal[8], nt[24];
	mp_ntlm_v1_ess_challenge(spec_server_challenge, spec_client_challenge, chal);
	mp_ntlm_desl(spec_nt_hash, chal, nt);
	assert_memory_equal(nt, want_nt, 24);

	/* 4.2.3.1.3 key exchange key: LmChallengeResponse = ClientChallenge || Z(16). */
	uint8_t lm[24] = {0}, sbk[16], kx[16];
	memcpy(lm, spec_client_challenge, 8);
	mp_ntlm_v1_session_base_key(spec_nt_hash, sbk);
	mp_ntlm_v1_ess_kxkey(sbk, spec_server_challenge, lm, kx);
	assert_memory_equal(kx, v1ess_kxkey, 16);
}

/* 4.2.3.4 GSS_WrapEx: 56-bit ESS keys, no key exchange (checksum in clear). */
static void test_v1_ess_wrap_4_2_3_4(void **state)
{
	static const uint8_t want_seal_key[16] = {0x04, 0xdd, 0x7f, 0x01, 0x4d, 0x85, 0x04, 0xd2,
	                                          0x65, 0xa2, 0x5c, 0xc8, 0x6a, 0x3a, 0x7c, 0x06};
	static const uint8_t want_sign_key[16] = {0x60, 0xe7, 0x99, 0xbe, 0x5c, 0x72, 0xfc, 0x92,
	                                          0x92, 0x2a, 0xe8, 0xeb, 0xe9, 0x61, 0xfb, 0x8d};
	static const uint8_t want_sealed[18] = {0xa0, 0x23, 0x72, 0xf6, 0x53, 0x02,
	                                        0x73, 0xf3, 0xaa, 0x1e, 0xb9, 0x01,
	                                        0x90, 0xce, 0x52, 0x00, 0xc9, 0x9d};
	static const uint8_t want_sig[16] = {0x01, 0x00, 0x00, 0x00, 0xff, 0x2a, 0xeb, 0x52,
	                                     0xf6, 0x81, 0x79, 0x3a, 0x00, 0x00, 0x00, 0x00};
	uint32_t flags = MP_NTLMSSP_NEGOTIATE_56 | MP_NTLMSSP_NEGOTIATE_SIGN |
	                 MP_NTLMSSP_NEGOTIATE_SEAL | MP_NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY;
	uint8_t key[16], sig[16], msg[18];
	assert_int_equal(mp_ntlm_sealkey(flags, v1ess_kxkey, true, key), 16);
	assert_memory_equal(key, want_seal_key, 16);
	mp_ntlm_signkey(v1ess_kxkey, true, key);
	assert_memory_equal(key, want_sign_key, 16);

	struct mp_ntlm_dir d;
	mp_ntlm_dir_init(&d, flags, v1ess_kxkey, true);
	assert_memory_equal(d.sign_key, want_sign_key, 16);
	mp_ntlm_mac(&d, false, spec_plaintext, sizeof(spec_plaintext), sig);
	memcpy(msg, spec_plaintext, sizeof(msg));
	arcfour_crypt(&d.seal, sizeof(msg), msg, msg);
	assert_memory_equal(msg, want_sealed, 18);
	assert_memory_equal(sig, want_sig, 16);
}

/* ---- 4.2.4 NTLMv2 --------------------------------------------------------- */

static const uint8_t v2_response_key[16] = {0x0c, 0x86, 0x8a, 0x40, 0x3b, 0xfd, 0x7a, 0x93,
                                            0xa3, 0x00, 0x1e, 0xf2, 0x2e, 0xf0, 0x2e, 0x3f};
static const uint8_t v2_session_base_key[16] = {0x8d, 0xe4, 0x0c, 0xca, 0xdb, 0xc1, 0x4a, 0x82,
                                                0xf1, 0x5c, 0xb0, 0xad, 0x0d, 0xe9, 0x5c, 0xa3};
static const uint8_t v2_proof[16] = {0x68, 0xcd, 0x0a, 0xb8, 0x51, 0xe5, 0x1c, 0x96,
                                     0xaa, 0xbc, 0x92, 0x7b, 0xeb, 0xef, 0x6a, 0x1c};

static void test_ntowfv2_4_2_4_1_1(void **state)
{
	uint8_t k[16];
	assert_int_equal(mp_ntlm_ntowfv2_password("Password", "User", "Domain", k), MP_OK);
	assert_memory_equal(k, v2_response_key, 16);
	/* From the stored NT hash, as the server does. */
	memset(k, 0, 16);
	assert_int_equal(mp_ntlm_ntowfv2(spec_nt_hash, "User", "Domain", k), MP_OK);
	assert_memory_equal(k, v2_response_key, 16);
	/* The user name is upper-cased, the domain is not. */
	assert_int_equal(mp_ntlm_ntowfv2(spec_nt_hash, "uSER", "Domain", k), MP_OK);
	assert_memory_equal(k, v2_response_key, 16);
	assert_int_equal(mp_ntlm_ntowfv2(spec_nt_hash, "User", "DOMAIN", k), MP_OK);
	assert_memory_not_equal(k, v2_response_key, 16);
	/* Invalid UTF-8 is refused. */
	assert_int_equal(mp_ntlm_ntowfv2(spec_nt_hash, "Us\xc3", "Domain", k), MP_ERR_PARSE);
	assert_int_equal(mp_ntlm_ntowfv1("\xff", k), MP_ERR_PARSE);
}

/* The AV pairs of 4.2.4: NbDomainName "Domain", NbComputerName "Server", EOL. */
static const uint8_t v2_server_name[36] = {0x02, 0x00, 0x0c, 0x00, 0x44, 0x00, 0x6f, 0x00, 0x6d,
                                           0x00, 0x61, 0x00, 0x69, 0x00, 0x6e, 0x00, 0x01, 0x00,
                                           0x0c, 0x00, 0x53, 0x00, 0x65, 0x00, 0x72, 0x00, 0x76,
                                           0x00, 0x65, 0x00, 0x72, 0x00, 0x00, 0x00, 0x00, 0x00};

static void test_v2_responses_4_2_4_1_2_and_4_2_4_2(void **state)
{
	static const uint8_t want_lm[24] = {0x86, 0xc3, 0x50, 0x97, 0xac, 0x9c, 0xec, 0x10,
	                                    0x25, 0x54, 0x76, 0x4a, 0x57, 0xcc, 0xcc, 0x19,
	                                    0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa};
	struct mp_wbuf nt;
	uint8_t lm[24], sbk[16], lm2[24];
	mp_wb_init(&nt);
	mp_ntlm_v2_response(v2_response_key, spec_server_challenge, spec_client_challenge, 0,
	                    v2_server_name, sizeof(v2_server_name), &nt, lm, sbk);
	assert_false(nt.bad);
	/* 4.2.4.2.2: NTProofStr, and the whole NtChallengeResponse as carried
	   in the 4.2.4.3 AUTHENTICATE_MESSAGE (offset 0x84, 0x54 bytes). */
	assert_int_equal(nt.len, 0x54);
	assert_memory_equal(nt.data, v2_proof, 16);
	assert_memory_equal(nt.data, spec_v2_authenticate_msg + 0x84, 0x54);
	/* 4.2.4.2.1 LMv2 response. */
	assert_memory_equal(lm, want_lm, 24);
	mp_ntlm_lmv2_response(v2_response_key, spec_server_challenge, spec_client_challenge, lm2);
	assert_memory_equal(lm2, want_lm, 24);
	/* 4.2.4.1.2 SessionBaseKey. */
	assert_memory_equal(sbk, v2_session_base_key, 16);
	mp_wb_free(&nt);
}

static void test_v2_encrypted_session_key_4_2_4_2_3(void **state)
{
	static const uint8_t want[16] = {0xc5, 0xda, 0xd2, 0x54, 0x4f, 0xc9, 0x79, 0x90,
	                                 0x94, 0xce, 0x1c, 0xe9, 0x0b, 0xc9, 0xd0, 0x3e};
	uint8_t enc[16];
	/* KXKEY(NTLMv2) = SessionBaseKey. */
	mp_ntlm_rc4k(v2_session_base_key, spec_random_session_key, enc, 16);
	assert_memory_equal(enc, want, 16);
}

/* 4.2.4.4 GSS_WrapEx: 128-bit ESS keys with key exchange. */
static void test_v2_wrap_4_2_4_4(void **state)
{
	static const uint8_t want_seal_key[16] = {0x59, 0xf6, 0x00, 0x97, 0x3c, 0xc4, 0x96, 0x0a,
	                                          0x25, 0x48, 0x0a, 0x7c, 0x19, 0x6e, 0x4c, 0x58};
	static const uint8_t want_sign_key[16] = {0x47, 0x88, 0xdc, 0x86, 0x1b, 0x47, 0x82, 0xf3,
	                                          0x5d, 0x43, 0xfd, 0x98, 0xfe, 0x1a, 0x2d, 0x39};
	uint32_t flags = MP_NTLMSSP_NEGOTIATE_56 | MP_NTLMSSP_NEGOTIATE_128 |
	                 MP_NTLMSSP_NEGOTIATE_SIGN | MP_NTLMSSP_NEGOTIATE_SEAL |
	                 MP_NTLMSSP_NEGOTIATE_KEY_EXCH |
	                 MP_NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY;
	uint8_t key[16], sig[16], msg[18];
	assert_int_equal(mp_ntlm_sealkey(flags, spec_random_session_key, true, key), 16);
	assert_memory_equal(key, want_seal_key, 16);
	mp_ntlm_signkey(spec_random_session_key, true, key);
	assert_memory_equal(key, want_sign_key, 16);

	/* SEAL: RC4 the message, then MAC (checksum RC4'd with the same state). */
	struct mp_ntlm_dir d;
	mp_ntlm_dir_init(&d, flags, spec_random_session_key, true);
	memcpy(msg, spec_plaintext, sizeof(msg));
	arcfour_crypt(&d.seal, sizeof(msg), msg, msg);
	mp_ntlm_mac(&d, true, spec_plaintext, sizeof(spec_plaintext), sig);
	assert_memory_equal(msg, spec_v2_sealed, 18);
	assert_memory_equal(sig, spec_v2_signature, 16);

	/* The server's receive side undoes it with the same (client) keys. */
	struct mp_ntlm_dir r;
	mp_ntlm_dir_init(&r, flags, spec_random_session_key, true);
	arcfour_crypt(&r.seal, sizeof(msg), msg, msg);
	assert_memory_equal(msg, spec_plaintext, 18);
	mp_ntlm_mac(&r, true, msg, sizeof(msg), key);
	assert_memory_equal(key, spec_v2_signature, 16);

	/* The server-to-client keys differ. */
	uint8_t srv[16];
	mp_ntlm_sealkey(flags, spec_random_session_key, false, srv);
	assert_memory_not_equal(srv, want_seal_key, 16);
	mp_ntlm_signkey(spec_random_session_key, false, srv);
	assert_memory_not_equal(srv, want_sign_key, 16);
}

static void test_sealkey_strengths(void **state)
{
	uint32_t ess = MP_NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY;
	uint8_t k128[16], k56[16], k40[16], k[16];
	mp_ntlm_sealkey(ess | MP_NTLMSSP_NEGOTIATE_128, spec_random_session_key, true, k128);
	mp_ntlm_sealkey(ess | MP_NTLMSSP_NEGOTIATE_56, spec_random_session_key, true, k56);
	mp_ntlm_sealkey(ess, spec_random_session_key, true, k40);
	assert_memory_not_equal(k128, k56, 16);
	assert_memory_not_equal(k56, k40, 16);
	/* Without ESS, LM_KEY weakens to 56 / 40 bits with fixed tails. */
	assert_int_equal(mp_ntlm_sealkey(MP_NTLMSSP_NEGOTIATE_LM_KEY | MP_NTLMSSP_NEGOTIATE_56,
	                                 spec_random_session_key, true, k),
	                 8);
	assert_int_equal(k[7], 0xa0);
	assert_int_equal(
	    mp_ntlm_sealkey(MP_NTLMSSP_NEGOTIATE_LM_KEY, spec_random_session_key, true, k), 8);
	assert_int_equal(k[5], 0xe5);
	assert_int_equal(k[6], 0x38);
	assert_int_equal(k[7], 0xb0);
}

static void test_mic_is_hmac_over_three_messages(void **state)
{
	/* MIC(a, b, c) depends on the split-free concatenation only. */
	uint8_t m1[16], m2[16];
	const uint8_t all[] = "negotiatechallengeauthenticate";
	mp_ntlm_mic(spec_random_session_key, all, 9, all + 9, 9, all + 18, 12, m1);
	mp_ntlm_mic(spec_random_session_key, all, 5, all + 5, 13, all + 18, 12, m2);
	assert_memory_equal(m1, m2, 16);
	mp_ntlm_mic(v2_session_base_key, all, 5, all + 5, 13, all + 18, 12, m2);
	assert_memory_not_equal(m1, m2, 16);
}

/* ---- UTF-8 / UTF-16LE ----------------------------------------------------- */

static void test_utf8_to_utf16(void **state)
{
	/* "A", U+00E9, U+20AC, U+1F600 (surrogate pair). */
	const char s[] = "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
	static const uint8_t want[] = {0x41, 0x00, 0xe9, 0x00, 0xac, 0x20, 0x3d, 0xd8, 0x00, 0xde};
	uint8_t *u;
	size_t n;
	assert_int_equal(mp_ntlm_utf8_to_utf16le(s, strlen(s), &u, &n), MP_OK);
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(u, want, n);
	char *back;
	assert_int_equal(mp_ntlm_utf16le_to_utf8(u, n, &back), MP_OK);
	assert_string_equal(back, s);
	free(back);
	free(u);

	assert_int_equal(mp_ntlm_utf8_to_utf16le("", 0, &u, &n), MP_OK);
	assert_int_equal(n, 0);
	assert_non_null(u);
	free(u);

	static const char *bad[] = {
	    "\x80",             /* lone continuation */
	    "\xc0\xaf",         /* overlong '/' */
	    "\xe0\x80\xaf",     /* overlong */
	    "\xed\xa0\x80",     /* UTF-16 surrogate */
	    "\xf4\x90\x80\x80", /* above U+10FFFF */
	    "\xe2\x82",         /* truncated */
	    "\xf8\x88\x80\x80\x80",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(mp_ntlm_utf8_to_utf16le(bad[i], strlen(bad[i]), &u, &n),
		                 MP_ERR_PARSE);
}

static void test_utf16_to_utf8_rejects(void **state)
{
	char *s;
	static const uint8_t odd[] = {0x41, 0x00, 0x42};
	static const uint8_t lone_hi[] = {0x3d, 0xd8, 0x41, 0x00};
	static const uint8_t lone_hi_end[] = {0x41, 0x00, 0x3d, 0xd8};
	static const uint8_t lone_lo[] = {0x00, 0xde};
	static const uint8_t nul[] = {0x41, 0x00, 0x00, 0x00};
	assert_int_equal(mp_ntlm_utf16le_to_utf8(odd, sizeof(odd), &s), MP_ERR_PARSE);
	assert_int_equal(mp_ntlm_utf16le_to_utf8(lone_hi, sizeof(lone_hi), &s), MP_ERR_PARSE);
	assert_int_equal(mp_ntlm_utf16le_to_utf8(lone_hi_end, sizeof(lone_hi_end), &s),
	                 MP_ERR_PARSE);
	assert_int_equal(mp_ntlm_utf16le_to_utf8(lone_lo, sizeof(lone_lo), &s), MP_ERR_PARSE);
	assert_int_equal(mp_ntlm_utf16le_to_utf8(nul, sizeof(nul), &s), MP_ERR_PARSE);
	assert_int_equal(mp_ntlm_utf16le_to_utf8(NULL, 0, &s), MP_OK);
	assert_string_equal(s, "");
	free(s);
}

static void test_utf16_upper(void **state)
{
	/* a z é ÿ ā ĺ α ς я ё 中 */
	uint16_t in[] = {'a',   'z',   0xe9,  0xff,   0x101, 0x13a, 0x3b1,
	                 0x3c2, 0x44f, 0x451, 0x4e2d, 'Z',   0xf7};
	uint16_t want[] = {'A',   'Z',   0xc9,  0x178,  0x100, 0x139, 0x391,
	                   0x3a3, 0x42f, 0x401, 0x4e2d, 'Z',   0xf7};
	uint8_t buf[sizeof(in)];
	for (size_t i = 0; i < sizeof(in) / 2; i++)
		mp_put_u16(buf + 2 * i, in[i]);
	mp_ntlm_utf16le_upper(buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(in) / 2; i++)
		assert_int_equal(mp_get_u16(buf + 2 * i), want[i]);
}

static void test_wipe_and_ct_equal(void **state)
{
	uint8_t a[8] = {1, 2, 3, 4, 5, 6, 7, 8}, b[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	assert_true(mp_ntlm_ct_equal(a, b, 8));
	b[7] ^= 1;
	assert_false(mp_ntlm_ct_equal(a, b, 8));
	mp_ntlm_wipe(a, sizeof(a));
	for (size_t i = 0; i < sizeof(a); i++)
		assert_int_equal(a[i], 0);
	mp_ntlm_wipe(NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ntowfv1_4_2_2_1_2),
	    cmocka_unit_test(test_v1_session_base_key_4_2_2_1_3),
	    cmocka_unit_test(test_v1_response_4_2_2_2_1),
	    cmocka_unit_test(test_v1_encrypted_session_key_4_2_2_2_3),
	    cmocka_unit_test(test_v1_seal_no_ess_4_2_2_4),
	    cmocka_unit_test(test_v1_ess_response_4_2_3_2),
	    cmocka_unit_test(test_v1_ess_wrap_4_2_3_4),
	    cmocka_unit_test(test_ntowfv2_4_2_4_1_1),
	    cmocka_unit_test(test_v2_responses_4_2_4_1_2_and_4_2_4_2),
	    cmocka_unit_test(test_v2_encrypted_session_key_4_2_4_2_3),
	    cmocka_unit_test(test_v2_wrap_4_2_4_4),
	    cmocka_unit_test(test_sealkey_strengths),
	    cmocka_unit_test(test_mic_is_hmac_over_three_messages),
	    cmocka_unit_test(test_utf8_to_utf16),
	    cmocka_unit_test(test_utf16_to_utf8_rejects),
	    cmocka_unit_test(test_utf16_upper),
	    cmocka_unit_test(test_wipe_and_ct_equal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
