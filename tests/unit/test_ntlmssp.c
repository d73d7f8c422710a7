/*
 * Unit tests: auth/ntlmssp. Message codecs on the [MS-NLMP] 4.2.2.3 and
 * 4.2.4.3 messages, AV pairs, the server verifying the 4.2.4 AUTHENTICATE
 * and unsealing 4.2.4.4, the client reproducing them, client <-> server
 * round trips (good and bad credentials, tampering, NTLMv1 policy, sign /
 * verify / seal / unseal with sequence numbers, replay) and malformed input
 * (every truncation, offsets and lengths out of range).
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

/* ---- fixtures ------------------------------------------------------------- */

static const uint8_t client_random[24] = {
    0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, /* client challenge */
    0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, /* exported session key */
    0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8,
};
static const uint8_t server_random[8] = {0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28};
static const uint64_t test_now = 0x01d9c0ffee123456ull;

static struct test_user users[2];

struct pair {
	struct mp_ntlm *c, *s;
	struct mp_wbuf neg, chal, auth;
	struct fixed_rng crng, srng;
	uint64_t now;
	struct test_db db;
};

static int setup_users(void **state)
{
	users[0].user = "User";
	users[0].domain = "Domain";
	memcpy(users[0].nt_hash, spec_nt_hash, 16);
	users[1].user = "j\xc3\xbcrgen"; /* jürgen */
	users[1].domain = NULL;
	assert_int_equal(mp_ntlm_ntowfv1("p\xc3\xa4sswort-\xe2\x82\xac", users[1].nt_hash), MP_OK);
	return 0;
}

static void pair_init(struct pair *p, const char *user, const char *domain, const char *password,
                      unsigned want, bool allow_v1)
{
	memset(p, 0, sizeof(*p));
	mp_wb_init(&p->neg);
	mp_wb_init(&p->chal);
	mp_wb_init(&p->auth);
	p->crng = (struct fixed_rng){client_random, sizeof(client_random), 0};
	p->srng = (struct fixed_rng){server_random, sizeof(server_random), 0};
	p->now = test_now;
	p->db = (struct test_db){users, 2, 0};
	struct mp_ntlm_client_config cc = {
	    .user = user,
	    .domain = domain,
	    .workstation = "WS01",
	    .password = password,
	    .want = want,
	    .rng = fixed_rng_fn,
	    .rng_arg = &p->crng,
	    .clock = fixed_clock_fn,
	    .clock_arg = &p->now,
	};
	struct mp_ntlm_server_config sc = {
	    .nb_computer_name = "MPSERVER",
	    .nb_domain_name = "Domain",
	    .dns_computer_name = "mpserver.example.test",
	    .dns_domain_name = "example.test",
	    .dns_tree_name = "example.test",
	    .allow_ntlmv1 = allow_v1,
	    .lookup = test_db_lookup,
	    .lookup_arg = &p->db,
	    .rng = fixed_rng_fn,
	    .rng_arg = &p->srng,
	    .clock = fixed_clock_fn,
	    .clock_arg = &p->now,
	};
	assert_int_equal(mp_ntlm_client_new(&cc, &p->c), MP_OK);
	assert_int_equal(mp_ntlm_server_new(&sc, &p->s), MP_OK);
}

static void pair_free(struct pair *p)
{
	mp_ntlm_free(p->c);
	mp_ntlm_free(p->s);
	mp_wb_free(&p->neg);
	mp_wb_free(&p->chal);
	mp_wb_free(&p->auth);
}

/* NEGOTIATE -> CHALLENGE -> AUTHENTICATE, all expected to succeed. */
static void pair_exchange(struct pair *p)
{
	assert_int_equal(mp_ntlm_client_negotiate(p->c, &p->neg), MP_OK);
	assert_int_equal(mp_ntlm_server_challenge(p->s, p->neg.data, p->neg.len, &p->chal), MP_OK);
	assert_int_equal(mp_ntlm_client_authenticate(p->c, p->chal.data, p->chal.len, &p->auth),
	                 MP_OK);
}

/* A full handshake; returns the server's verdict. */
static int pair_run(struct pair *p)
{
	pair_exchange(p);
	return mp_ntlm_server_authenticate(p->s, p->auth.data, p->auth.len);
}

/* A fresh server that has sent its CHALLENGE to the given pair's NEGOTIATE. */
static struct mp_ntlm *fresh_server(struct pair *p)
{
	struct mp_wbuf chal;
	struct mp_ntlm *s;
	p->srng.off = 0;
	struct mp_ntlm_server_config sc = {
	    .nb_computer_name = "MPSERVER",
	    .nb_domain_name = "Domain",
	    .dns_computer_name = "mpserver.example.test",
	    .dns_domain_name = "example.test",
	    .dns_tree_name = "example.test",
	    .lookup = test_db_lookup,
	    .lookup_arg = &p->db,
	    .rng = fixed_rng_fn,
	    .rng_arg = &p->srng,
	    .clock = fixed_clock_fn,
	    .clock_arg = &p->now,
	};
	assert_int_equal(mp_ntlm_server_new(&sc, &s), MP_OK);
	mp_wb_init(&chal);
	assert_int_equal(mp_ntlm_server_challenge(s, p->neg.data, p->neg.len, &chal), MP_OK);
	/* Same RNG and clock: the same CHALLENGE the client answered. */
	assert_int_equal(chal.len, p->chal.len);
	assert_memory_equal(chal.data, p->chal.data, chal.len);
	mp_wb_free(&chal);
	return s;
}

static void set_field(uint8_t *msg, size_t desc, uint16_t len, uint32_t off)
{
	mp_put_u16(msg + desc, len);
	mp_put_u16(msg + desc + 2, len);
	mp_put_u32(msg + desc + 4, off);
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	assert_non_null(d);
	memcpy(d, p, n);
	return d;
}

/* ---- names ---------------------------------------------------------------- */

static void test_flag_names(void **state)
{
	char buf[512];
	assert_string_equal(mp_ntlm_flag_name(MP_NTLMSSP_NEGOTIATE_SEAL), "NEGOTIATE_SEAL");
	assert_string_equal(mp_ntlm_flag_name(0x80000000u), "NEGOTIATE_56");
	assert_null(mp_ntlm_flag_name(0x00000008u));
	assert_null(mp_ntlm_flag_name(0x00000003u));
	mp_ntlm_flags_str(0x00080231u, buf, sizeof(buf));
	assert_string_equal(buf, "NEGOTIATE_UNICODE|NEGOTIATE_SIGN|NEGOTIATE_SEAL|NEGOTIATE_NTLM|"
	                         "NEGOTIATE_EXTENDED_SESSIONSECURITY");
	mp_ntlm_flags_str(0x00000009u, buf, sizeof(buf));
	assert_string_equal(buf, "NEGOTIATE_UNICODE|0x00000008");
	mp_ntlm_flags_str(0xffffffffu, buf, 20); /* truncated, still terminated */
	assert_true(strlen(buf) < 20);
	mp_ntlm_flags_str(0, buf, sizeof(buf));
	assert_string_equal(buf, "");
	assert_string_equal(mp_ntlm_status_name(MP_ERR_AUTH), "MP_ERR_AUTH");
	assert_string_equal(mp_ntlm_status_name(MP_ERR_AUTH_NTLMV1), "MP_ERR_AUTH_NTLMV1");
	assert_string_equal(mp_ntlm_status_name(MP_ERR_PARSE), "MP_ERR_PARSE");
}

/* ---- codecs on the spec messages ------------------------------------------ */

static void test_parse_spec_challenge_4_2_4_3(void **state)
{
	const uint8_t *m = spec_v2_challenge_msg;
	struct mp_ntlm_challenge ch;
	assert_int_equal(mp_ntlm_msg_type(m, sizeof(spec_v2_challenge_msg)), MP_NTLM_CHALLENGE);
	assert_int_equal(mp_ntlm_parse_challenge(m, sizeof(spec_v2_challenge_msg), &ch), MP_OK);
	assert_int_equal(ch.flags, 0xe28a8233u);
	assert_memory_equal(ch.server_challenge, spec_server_challenge, 8);
	assert_int_equal(ch.target_name.len, 12); /* "Server" */
	assert_memory_equal(ch.target_name.p, "S\0e\0r\0v\0e\0r\0", 12);
	assert_int_equal(ch.target_info.len, 36);
	assert_true(ch.has_version);
	assert_int_equal(ch.version.major, 6);
	assert_int_equal(ch.version.minor, 0);
	assert_int_equal(ch.version.build, 6000);
	assert_int_equal(ch.version.revision, 15);

	struct mp_ntlm_av_list av;
	assert_int_equal(mp_ntlm_av_parse(ch.target_info.p, ch.target_info.len, &av), MP_OK);
	assert_int_equal(av.n, 2);
	assert_int_equal(av.items[0].id, MP_MSV_AV_NB_DOMAIN_NAME);
	assert_memory_equal(av.items[0].value, "D\0o\0m\0a\0i\0n\0", 12);
	assert_int_equal(av.items[1].id, MP_MSV_AV_NB_COMPUTER_NAME);
	assert_null(mp_ntlm_av_find(&av, MP_MSV_AV_TIMESTAMP));
	mp_ntlm_av_free(&av);

	/* Re-encoding gives the same bytes. */
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	assert_int_equal(mp_ntlm_encode_challenge(&wb, &ch), MP_OK);
	assert_int_equal(wb.len, sizeof(spec_v2_challenge_msg));
	assert_memory_equal(wb.data, m, wb.len);
	mp_wb_free(&wb);
}

static void test_parse_spec_authenticate_4_2_4_3(void **state)
{
	const uint8_t *m = spec_v2_authenticate_msg;
	size_t len = sizeof(spec_v2_authenticate_msg);
	struct mp_ntlm_authenticate a;
	assert_int_equal(mp_ntlm_parse_authenticate(m, len, &a), MP_OK);
	assert_int_equal(a.flags, 0xe2888235u);
	assert_int_equal(a.lm_response.len, 24);
	assert_int_equal(a.nt_response.len, 0x54);
	assert_memory_equal(a.domain.p, "D\0o\0m\0a\0i\0n\0", 12);
	assert_memory_equal(a.user.p, "U\0s\0e\0r\0", 8);
	assert_memory_equal(a.workstation.p, "C\0O\0M\0P\0U\0T\0E\0R\0", 16);
	assert_int_equal(a.enc_session_key.len, 16);
	assert_true(a.has_version);
	assert_int_equal(a.version.major, 5);
	assert_int_equal(a.version.minor, 1);
	assert_int_equal(a.version.build, 2600);
	assert_false(a.has_mic_field); /* payload starts at 72 */

	struct mp_wbuf wb;
	mp_wb_init(&wb);
	assert_int_equal(mp_ntlm_encode_authenticate(&wb, &a), MP_OK);
	assert_int_equal(wb.len, len);
	assert_memory_equal(wb.data, m, len);

	/* With a MIC field the payload moves to 88 and the MIC is zeroed. */
	wb.len = 0;
	a.has_mic_field = true;
	assert_int_equal(mp_ntlm_encode_authenticate(&wb, &a), MP_OK);
	assert_int_equal(wb.len, len + 16);
	struct mp_ntlm_authenticate b;
	assert_int_equal(mp_ntlm_parse_authenticate(wb.data, wb.len, &b), MP_OK);
	assert_true(b.has_mic_field);
	static const uint8_t zero[16];
	assert_memory_equal(b.mic, zero, 16);
	assert_memory_equal(b.nt_response.p, a.nt_response.p, a.nt_response.len);
	mp_wb_free(&wb);
}

/* 4.2.2.3 NTLMv1 CHALLENGE and AUTHENTICATE messages. */
static const uint8_t spec_v1_challenge_msg[0x44] = {
    0x4e, 0x54, 0x4c, 0x4d, 0x53, 0x53, 0x50, 0x00, 0x02, 0x00, 0x00, 0x00, 0x0c, 0x00,
    0x0c, 0x00, 0x38, 0x00, 0x00, 0x00, 0x33, 0x82, 0x02, 0xe2, 0x01, 0x23, 0x45, 0x67,
    0x89, 0xab, 0xcd, 0xef, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x70, 0x17, 0x00, 0x00, 0x00, 0x0f,
    0x53, 0x00, 0x65, 0x00, 0x72, 0x00, 0x76, 0x00, 0x65, 0x00, 0x72, 0x00};
static const uint8_t spec_v1_authenticate_msg[0xac] = {
    0x4e, 0x54, 0x4c, 0x4d, 0x53, 0x53, 0x50, 0x00, 0x03, 0x00, 0x00, 0x00, 0x18, 0x00, 0x18, 0x00,
    0x6c, 0x00, 0x00, 0x00, 0x18, 0x00, 0x18, 0x00, 0x84, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x0c, 0x00,
    0x48, 0x00, 0x00, 0x00, 0x08, 0x00, 0x08, 0x00, 0x54, 0x00, 0x00, 0x00, 0x10, 0x00, 0x10, 0x00,
    0x5c, 0x00, 0x00, 0x00, 0x10, 0x00, 0x10, 0x00, 0x9c, 0x00, 0x00, 0x00, 0x35, 0x82, 0x80, 0xe2,
    0x05, 0x01, 0x28, 0x0a, 0x00, 0x00, 0x00, 0x0f, 0x44, 0x00, 0x6f, 0x00, 0x6d, 0x00, 0x61, 0x00,
    0x69, 0x00, 0x6e, 0x00, 0x55, 0x00, 0x73, 0x00, 0x65, 0x00, 0x72, 0x00, 0x43, 0x00, 0x4f, 0x00,
    0x4d, 0x00, 0x50, 0x00, 0x55, 0x00, 0x54, 0x00, 0x45, 0x00, 0x52, 0x00, 0x98, 0xde, 0xf7, 0xb8,
    0x7f, 0x88, 0xaa, 0x5d, 0xaf, 0xe2, 0xdf, 0x77, 0x96, 0x88, 0xa1, 0x72, 0xde, 0xf1, 0x1c, 0x7d,
    0x5c, 0xcd, 0xef, 0x13, 0x67, 0xc4, 0x30, 0x11, 0xf3, 0x02, 0x98, 0xa2, 0xad, 0x35, 0xec, 0xe6,
    0x4f, 0x16, 0x33, 0x1c, 0x44, 0xbd, 0xbe, 0xd9, 0x27, 0x84, 0x1f, 0x94, 0x51, 0x88, 0x22, 0xb1,
    0xb3, 0xf3, 0x50, 0xc8, 0x95, 0x86, 0x82, 0xec, 0xbb, 0x3e, 0x3c, 0xb7};

static void test_parse_spec_v1_messages_4_2_2_3(void **state)
{
	struct mp_ntlm_challenge ch;
	assert_int_equal(
	    mp_ntlm_parse_challenge(spec_v1_challenge_msg, sizeof(spec_v1_challenge_msg), &ch),
	    MP_OK);
	assert_int_equal(ch.flags, 0xe2028233u);
	assert_int_equal(ch.target_info.len, 0);
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	assert_int_equal(mp_ntlm_encode_challenge(&wb, &ch), MP_OK);
	/* The spec's empty TargetInfo descriptor has offset 0; ours points at the
	   end of the header. Everything else is identical. */
	assert_int_equal(wb.len, sizeof(spec_v1_challenge_msg));
	assert_memory_equal(wb.data, spec_v1_challenge_msg, 40);
	assert_memory_equal(wb.data + 48, spec_v1_challenge_msg + 48, wb.len - 48);

	struct mp_ntlm_authenticate a;
	assert_int_equal(mp_ntlm_parse_authenticate(spec_v1_authenticate_msg,
	                                            sizeof(spec_v1_authenticate_msg), &a),
	                 MP_OK);
	assert_int_equal(a.nt_response.len, 24);
	uint8_t v1[24];
	mp_ntlm_desl(spec_nt_hash, spec_server_challenge, v1);
	assert_memory_equal(a.nt_response.p, v1, 24); /* 4.2.2.2.1 */
	wb.len = 0;
	assert_int_equal(mp_ntlm_encode_authenticate(&wb, &a), MP_OK);
	assert_int_equal(wb.len, sizeof(spec_v1_authenticate_msg));
	assert_memory_equal(wb.data, spec_v1_authenticate_msg, wb.len);
	mp_wb_free(&wb);
}

static void test_negotiate_codec(void **state)
{
	struct mp_ntlm_negotiate n = {0}, m;
	n.flags = MP_NTLMSSP_NEGOTIATE_UNICODE | MP_NTLMSSP_NEGOTIATE_VERSION |
	          MP_NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED;
	n.domain = (struct mp_ntlm_bytes){(const uint8_t *)"DOM", 3};
	n.has_version = true;
	n.version = (struct mp_ntlm_version){10, 0, 19041, 15};
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_wb_bytes(&wb, "xx", 2); /* encoders append: offsets are per message */
	assert_int_equal(mp_ntlm_encode_negotiate(&wb, &n), MP_OK);
	assert_int_equal(wb.len, 2 + 40 + 3);
	assert_int_equal(mp_ntlm_parse_negotiate(wb.data + 2, wb.len - 2, &m), MP_OK);
	assert_int_equal(m.flags, n.flags);
	assert_int_equal(m.domain.len, 3);
	assert_memory_equal(m.domain.p, "DOM", 3);
	assert_int_equal(m.workstation.len, 0);
	assert_true(m.has_version);
	assert_int_equal(m.version.build, 19041);
	/* The wrong type for each parser. */
	struct mp_ntlm_challenge ch;
	struct mp_ntlm_authenticate au;
	assert_int_equal(mp_ntlm_parse_challenge(wb.data + 2, wb.len - 2, &ch), MP_ERR_PARSE);
	assert_int_equal(mp_ntlm_parse_authenticate(wb.data + 2, wb.len - 2, &au), MP_ERR_PARSE);
	mp_wb_free(&wb);
}

static void test_encode_limits(void **state)
{
	static uint8_t big[70000];
	struct mp_ntlm_negotiate n = {0};
	n.domain = (struct mp_ntlm_bytes){big, sizeof(big)};
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_wb_bytes(&wb, "keep", 4);
	assert_int_equal(mp_ntlm_encode_negotiate(&wb, &n), MP_ERR_LIMIT);
	assert_int_equal(wb.len, 4);
	struct mp_ntlm_authenticate a = {0};
	a.nt_response = (struct mp_ntlm_bytes){big, 65536};
	assert_int_equal(mp_ntlm_encode_authenticate(&wb, &a), MP_ERR_LIMIT);
	assert_int_equal(wb.len, 4);
	a.nt_response.len = 65535;
	assert_int_equal(mp_ntlm_encode_authenticate(&wb, &a), MP_OK);
	mp_wb_free(&wb);
}

/* ---- AV pairs ------------------------------------------------------------- */

static void test_av_pairs(void **state)
{
	/* An unknown id (0x1234), then MsvAvFlags, then EOL and trailing junk. */
	static const uint8_t in[] = {0x34, 0x12, 0x03, 0x00, 'a',  'b',  'c',
	                             0x06, 0x00, 0x04, 0x00, 0x01, 0x00, 0x00,
	                             0x00, 0x00, 0x00, 0x00, 0x00, 0xde, 0xad};
	struct mp_ntlm_av_list l;
	assert_int_equal(mp_ntlm_av_parse(in, sizeof(in), &l), MP_OK);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.items[0].id, 0x1234);
	assert_int_equal(l.items[0].len, 3);
	const struct mp_ntlm_av *f = mp_ntlm_av_find(&l, MP_MSV_AV_FLAGS);
	assert_non_null(f);
	assert_int_equal(mp_get_u32(f->value), 1);

	/* set: replace in place, or append. */
	static const uint8_t flags2[4] = {3, 0, 0, 0}, cb[16] = {9};
	assert_int_equal(mp_ntlm_av_set(&l, MP_MSV_AV_FLAGS, flags2, 4), MP_OK);
	assert_int_equal(mp_ntlm_av_set(&l, MP_MSV_AV_CHANNEL_BINDINGS, cb, 16), MP_OK);
	assert_int_equal(l.n, 3);
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_ntlm_av_encode(&wb, &l);
	static const uint8_t want_head[] = {0x34, 0x12, 0x03, 0x00, 'a',  'b',  'c',
	                                    0x06, 0x00, 0x04, 0x00, 0x03, 0x00, 0x00,
	                                    0x00, 0x0a, 0x00, 0x10, 0x00, 0x09};
	assert_int_equal(wb.len, 7 + 8 + 20 + 4);
	assert_memory_equal(wb.data, want_head, sizeof(want_head));
	assert_memory_equal(wb.data + wb.len - 4, "\0\0\0\0", 4);
	mp_ntlm_av_free(&l);

	/* Re-parse what we wrote: the unknown pair survived. */
	assert_int_equal(mp_ntlm_av_parse(wb.data, wb.len, &l), MP_OK);
	assert_int_equal(l.n, 3);
	assert_memory_equal(l.items[0].value, "abc", 3);
	mp_ntlm_av_free(&l);
	mp_wb_free(&wb);

	/* Malformed lists. */
	static const uint8_t no_eol[] = {0x01, 0x00, 0x02, 0x00, 'x', 0};
	static const uint8_t overrun[] = {0x01, 0x00, 0x09, 0x00, 'x', 0, 0, 0, 0, 0};
	static const uint8_t eol_len[] = {0x00, 0x00, 0x02, 0x00, 0, 0};
	static const uint8_t flags3[] = {0x06, 0x00, 0x03, 0x00, 1, 2, 3, 0, 0, 0, 0};
	static const uint8_t ts7[] = {0x07, 0x00, 0x07, 0x00, 1, 2, 3, 4, 5, 6, 7, 0, 0, 0, 0};
	static const uint8_t cb15[] = {0x0a, 0x00, 0x0f, 0x00, 1,  2,  3,  4, 5, 6, 7, 8,
	                               9,    10,   11,   12,   13, 14, 15, 0, 0, 0, 0};
	static const uint8_t sh4[] = {0x08, 0x00, 0x04, 0x00, 1, 2, 3, 4, 0, 0, 0, 0};
	static const uint8_t half[] = {0x01, 0x00, 0x00};
	const struct {
		const uint8_t *p;
		size_t n;
	} bad[] = {
	    {no_eol, sizeof(no_eol)}, {overrun, sizeof(overrun)}, {eol_len, sizeof(eol_len)},
	    {flags3, sizeof(flags3)}, {ts7, sizeof(ts7)},         {cb15, sizeof(cb15)},
	    {sh4, sizeof(sh4)},       {half, sizeof(half)},       {NULL, 0},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(mp_ntlm_av_parse(bad[i].p, bad[i].n, &l), MP_ERR_PARSE);
		mp_ntlm_av_free(&l);
	}

	/* More than 64 pairs. */
	uint8_t many[65 * 4 + 4];
	memset(many, 0, sizeof(many));
	for (int i = 0; i < 65; i++)
		mp_put_u16(many + 4 * i, 0x99);
	assert_int_equal(mp_ntlm_av_parse(many, sizeof(many), &l), MP_ERR_LIMIT);
	mp_ntlm_av_free(&l);
}

/* ---- the spec exchange end to end ----------------------------------------- */

/* The server verifies the 4.2.4.3 AUTHENTICATE and unseals 4.2.4.4. */
static void test_server_accepts_spec_authenticate_4_2_4(void **state)
{
	uint64_t zero_time = 0;
	struct fixed_rng srng = {spec_server_challenge, 8, 0};
	struct test_db db = {users, 2, 0};
	struct mp_ntlm_server_config sc = {
	    .nb_computer_name = "Server",
	    .nb_domain_name = "Domain",
	    .lookup = test_db_lookup,
	    .lookup_arg = &db,
	    .rng = fixed_rng_fn,
	    .rng_arg = &srng,
	    .clock = fixed_clock_fn,
	    .clock_arg = &zero_time,
	};
	struct mp_ntlm *s;
	assert_int_equal(mp_ntlm_server_new(&sc, &s), MP_OK);

	/* A NEGOTIATE asking for what the spec's AUTHENTICATE uses. */
	struct mp_ntlm_negotiate n = {0};
	n.flags = 0xe2888235u | MP_NTLMSSP_REQUEST_TARGET;
	n.has_version = true;
	n.version = (struct mp_ntlm_version){5, 1, 2600, 15};
	struct mp_wbuf neg, chal;
	mp_wb_init(&neg);
	mp_wb_init(&chal);
	assert_int_equal(mp_ntlm_encode_negotiate(&neg, &n), MP_OK);
	assert_int_equal(mp_ntlm_server_challenge(s, neg.data, neg.len, &chal), MP_OK);
	struct mp_ntlm_challenge ch;
	assert_int_equal(mp_ntlm_parse_challenge(chal.data, chal.len, &ch), MP_OK);
	assert_memory_equal(ch.server_challenge, spec_server_challenge, 8);

	assert_int_equal(mp_ntlm_server_authenticate(s, spec_v2_authenticate_msg,
	                                             sizeof(spec_v2_authenticate_msg)),
	                 MP_OK);
	assert_true(mp_ntlm_established(s));
	assert_string_equal(mp_ntlm_user(s), "User");
	assert_string_equal(mp_ntlm_domain(s), "Domain");
	assert_int_equal(db.lookups, 1);
	uint8_t key[16];
	assert_int_equal(mp_ntlm_session_key(s, key), MP_OK);
	assert_memory_equal(key, spec_random_session_key, 16); /* 4.2.4.2.3 decrypted */

	/* 4.2.4.4: the client's sealed "Plaintext" with sequence number 0. */
	uint8_t msg[18];
	memcpy(msg, spec_v2_sealed, sizeof(msg));
	assert_int_equal(mp_ntlm_unseal(s, msg, sizeof(msg), NULL, 0, spec_v2_signature), MP_OK);
	assert_memory_equal(msg, spec_plaintext, sizeof(msg));

	mp_wb_free(&neg);
	mp_wb_free(&chal);
	mp_ntlm_free(s);
}

/* The client answers the 4.2.4.3 CHALLENGE with the spec's AUTHENTICATE and seals 4.2.4.4. */
static void test_client_reproduces_spec_4_2_4(void **state)
{
	uint8_t rnd[24];
	memcpy(rnd, spec_client_challenge, 8);
	memcpy(rnd + 8, spec_random_session_key, 16);
	struct fixed_rng crng = {rnd, sizeof(rnd), 0};
	uint64_t zero_time = 0;
	struct mp_ntlm_client_config cc = {
	    .user = "User",
	    .domain = "Domain",
	    .workstation = "COMPUTER",
	    .password = "Password",
	    .want = MP_NTLM_WANT_SEAL,
	    .rng = fixed_rng_fn,
	    .rng_arg = &crng,
	    .clock = fixed_clock_fn,
	    .clock_arg = &zero_time,
	};
	struct mp_ntlm *c;
	struct mp_wbuf neg, auth;
	mp_wb_init(&neg);
	mp_wb_init(&auth);
	assert_int_equal(mp_ntlm_client_new(&cc, &c), MP_OK);
	assert_int_equal(mp_ntlm_client_negotiate(c, &neg), MP_OK);
	assert_int_equal(mp_ntlm_client_authenticate(c, spec_v2_challenge_msg,
	                                             sizeof(spec_v2_challenge_msg), &auth),
	                 MP_OK);
	assert_int_equal(crng.off, 24);

	/* No MsvAvTimestamp in the CHALLENGE: no MIC, LMv2 sent, same layout.
	   Only NegotiateFlags and VERSION (ours) differ from the spec bytes. */
	assert_int_equal(auth.len, sizeof(spec_v2_authenticate_msg));
	uint8_t want[sizeof(spec_v2_authenticate_msg)];
	memcpy(want, spec_v2_authenticate_msg, sizeof(want));
	memcpy(want + 60, auth.data + 60, 12);
	assert_memory_equal(auth.data, want, sizeof(want));

	uint8_t key[16];
	assert_int_equal(mp_ntlm_session_key(c, key), MP_OK);
	assert_memory_equal(key, spec_random_session_key, 16);
	uint8_t msg[18], sig[16];
	memcpy(msg, spec_plaintext, sizeof(msg));
	assert_int_equal(mp_ntlm_seal(c, msg, sizeof(msg), NULL, 0, sig), MP_OK);
	assert_memory_equal(msg, spec_v2_sealed, sizeof(msg));
	assert_memory_equal(sig, spec_v2_signature, sizeof(sig));

	mp_wb_free(&neg);
	mp_wb_free(&auth);
	mp_ntlm_free(c);
}

/* ---- round trips ---------------------------------------------------------- */

static void test_challenge_contents(void **state)
{
	struct pair p;
	pair_init(&p, "User", "Domain", "Password", MP_NTLM_WANT_SEAL, false);
	assert_int_equal(mp_ntlm_client_negotiate(p.c, &p.neg), MP_OK);
	struct mp_ntlm_negotiate n;
	assert_int_equal(mp_ntlm_parse_negotiate(p.neg.data, p.neg.len, &n), MP_OK);
	assert_int_equal(p.neg.len, 40);
	assert_true(n.flags & MP_NTLMSSP_NEGOTIATE_SEAL);
	assert_true(n.flags & MP_NTLMSSP_NEGOTIATE_SIGN);
	assert_true(n.flags & MP_NTLMSSP_NEGOTIATE_KEY_EXCH);
	assert_true(n.flags & MP_NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY);

	assert_int_equal(mp_ntlm_server_challenge(p.s, p.neg.data, p.neg.len, &p.chal), MP_OK);
	struct mp_ntlm_challenge ch;
	assert_int_equal(mp_ntlm_parse_challenge(p.chal.data, p.chal.len, &ch), MP_OK);
	assert_memory_equal(ch.server_challenge, server_random, 8);
	assert_true(ch.flags & MP_NTLMSSP_NEGOTIATE_TARGET_INFO);
	assert_true(ch.flags & MP_NTLMSSP_TARGET_TYPE_DOMAIN);
	assert_true(ch.flags & MP_NTLMSSP_NEGOTIATE_SEAL);
	assert_memory_equal(ch.target_name.p, "D\0o\0m\0a\0i\0n\0", 12);
	struct mp_ntlm_av_list av;
	assert_int_equal(mp_ntlm_av_parse(ch.target_info.p, ch.target_info.len, &av), MP_OK);
	assert_int_equal(av.n, 6);
	static const uint16_t ids[] = {2, 1, 4, 3, 5, 7};
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(av.items[i].id, ids[i]);
	const struct mp_ntlm_av *ts = mp_ntlm_av_find(&av, MP_MSV_AV_TIMESTAMP);
	assert_int_equal(mp_get_u32(ts->value), (uint32_t)test_now);
	assert_int_equal(mp_get_u32(ts->value + 4), (uint32_t)(test_now >> 32));
	mp_ntlm_av_free(&av);

	/* The AUTHENTICATE carries a MIC and MsvAvFlags MIC-present, LM = Z(24). */
	assert_int_equal(mp_ntlm_client_authenticate(p.c, p.chal.data, p.chal.len, &p.auth), MP_OK);
	struct mp_ntlm_authenticate a;
	assert_int_equal(mp_ntlm_parse_authenticate(p.auth.data, p.auth.len, &a), MP_OK);
	assert_true(a.has_mic_field);
	static const uint8_t zero[24];
	assert_memory_not_equal(a.mic, zero, 16);
	assert_int_equal(a.lm_response.len, 24);
	assert_memory_equal(a.lm_response.p, zero, 24);
	assert_int_equal(mp_ntlm_av_parse(a.nt_response.p + 16 + 28, a.nt_response.len - 44, &av),
	                 MP_OK);
	const struct mp_ntlm_av *af = mp_ntlm_av_find(&av, MP_MSV_AV_FLAGS);
	assert_non_null(af);
	assert_int_equal(mp_get_u32(af->value), MP_MSV_AV_FLAG_MIC_PRESENT);
	/* The blob's timestamp is the server's. */
	assert_int_equal(mp_get_u32(a.nt_response.p + 16 + 8), (uint32_t)test_now);
	mp_ntlm_av_free(&av);
	assert_int_equal(mp_ntlm_server_authenticate(p.s, p.auth.data, p.auth.len), MP_OK);
	pair_free(&p);
}

static void exercise_session(struct mp_ntlm *a, struct mp_ntlm *b)
{
	uint8_t sig[16];
	/* sign / verify, several messages, both directions interleaved. */
	for (int i = 0; i < 5; i++) {
		char m[32];
		int n = snprintf(m, sizeof(m), "request %d", i);
		assert_int_equal(mp_ntlm_sign(a, (const uint8_t *)m, (size_t)n, sig), MP_OK);
		assert_int_equal(mp_get_u32(sig), 1);
		assert_int_equal(mp_get_u32(sig + 12), (uint32_t)i);
		assert_int_equal(mp_ntlm_verify(b, (const uint8_t *)m, (size_t)n, sig), MP_OK);
		n = snprintf(m, sizeof(m), "response %d", i);
		assert_int_equal(mp_ntlm_sign(b, (const uint8_t *)m, (size_t)n, sig), MP_OK);
		assert_int_equal(mp_ntlm_verify(a, (const uint8_t *)m, (size_t)n, sig), MP_OK);
	}
}

static void exercise_seal(struct mp_ntlm *a, struct mp_ntlm *b)
{
	/* DCE/RPC style: a PDU whose stub (bytes 8..40) is sealed and whose
	   whole body (0..48) is signed. */
	for (int i = 0; i < 4; i++) {
		uint8_t pdu[48], orig[48], sig[16];
		for (size_t k = 0; k < sizeof(pdu); k++)
			pdu[k] = (uint8_t)(k * 7 + (size_t)i);
		memcpy(orig, pdu, sizeof(pdu));
		struct mp_ntlm *tx = (i % 2) ? b : a, *rx = (i % 2) ? a : b;
		assert_int_equal(mp_ntlm_seal(tx, pdu + 8, 32, pdu, sizeof(pdu), sig), MP_OK);
		assert_memory_not_equal(pdu + 8, orig + 8, 32);
		assert_memory_equal(pdu, orig, 8);
		assert_int_equal(mp_ntlm_unseal(rx, pdu + 8, 32, pdu, sizeof(pdu), sig), MP_OK);
		assert_memory_equal(pdu, orig, sizeof(pdu));
	}
	/* Zero-length data. */
	uint8_t sig[16];
	assert_int_equal(mp_ntlm_seal(a, NULL, 0, (const uint8_t *)"hdr", 3, sig), MP_OK);
	assert_int_equal(mp_ntlm_unseal(b, NULL, 0, (const uint8_t *)"hdr", 3, sig), MP_OK);
}

static void test_round_trip_seal(void **state)
{
	struct pair p;
	pair_init(&p, "User", "Domain", "Password", MP_NTLM_WANT_SEAL, false);
	assert_false(mp_ntlm_established(p.s));
	assert_null(mp_ntlm_user(p.s));
	assert_int_equal(pair_run(&p), MP_OK);
	assert_true(mp_ntlm_established(p.c));
	assert_true(mp_ntlm_established(p.s));
	assert_string_equal(mp_ntlm_user(p.s), "User");
	assert_string_equal(mp_ntlm_domain(p.s), "Domain");
	assert_string_equal(mp_ntlm_user(p.c), "User");
	uint32_t f = mp_ntlm_flags(p.s);
	assert_int_equal(f, mp_ntlm_flags(p.c));
	assert_true(f & MP_NTLMSSP_NEGOTIATE_SEAL);
	assert_true(f & MP_NTLMSSP_NEGOTIATE_KEY_EXCH);
	assert_true(f & MP_NTLMSSP_NEGOTIATE_128);
	uint8_t k1[16], k2[16];
	assert_int_equal(mp_ntlm_session_key(p.c, k1), MP_OK);
	assert_int_equal(mp_ntlm_session_key(p.s, k2), MP_OK);
	assert_memory_equal(k1, k2, 16);
	assert_memory_equal(k1, client_random + 8, 16); /* the client's exported key */
	exercise_session(p.c, p.s);
	exercise_seal(p.c, p.s);
	pair_free(&p);
}

static void test_round_trip_sign_only(void **state)
{
	struct pair p;
	pair_init(&p, "j\xc3\xbcrgen", "Anything", "p\xc3\xa4sswort-\xe2\x82\xac",
	          MP_NTLM_WANT_SIGN, false);
	assert_int_equal(pair_run(&p), MP_OK);
	assert_string_equal(mp_ntlm_user(p.s), "j\xc3\xbcrgen");
	assert_false(mp_ntlm_flags(p.s) & MP_NTLMSSP_NEGOTIATE_SEAL);
	exercise_session(p.c, p.s);
	uint8_t d[4] = {1, 2, 3, 4}, sig[16];
	assert_int_equal(mp_ntlm_seal(p.c, d, 4, NULL, 0, sig), MP_ERR_PROTO);
	assert_int_equal(mp_ntlm_unseal(p.s, d, 4, NULL, 0, sig), MP_ERR_PROTO);
	pair_free(&p);
}

static void test_round_trip_no_session_security(void **state)
{
	struct pair p;
	pair_init(&p, "User", "Domain", "Password", 0, false);
	assert_int_equal(pair_run(&p), MP_OK);
	uint8_t sig[16];
	assert_int_equal(mp_ntlm_sign(p.c, (const uint8_t *)"x", 1, sig), MP_ERR_PROTO);
	assert_int_equal(mp_ntlm_verify(p.s, (const uint8_t *)"x", 1, sig), MP_ERR_PROTO);
	pair_free(&p);
}

static void test_client_with_nt_hash(void **state)
{
	struct pair p;
	pair_init(&p, "User", "Domain", "unused", MP_NTLM_WANT_SEAL, false);
	mp_ntlm_free(p.c);
	struct mp_ntlm_client_config cc = {
	    .user = "USER", /* case differs: NTOWFv2 upper-cases it anyway */
	    .domain = "Domain",
	    .nt_hash = spec_nt_hash,
	    .want = MP_NTLM_WANT_SEAL,
	    .rng = fixed_rng_fn,
	    .rng_arg = &p.crng,
	    .clock = fixed_clock_fn,
	    .clock_arg = &p.now,
	};
	assert_int_equal(mp_ntlm_client_new(&cc, &p.c), MP_OK);
	assert_int_equal(pair_run(&p), MP_OK);
	exercise_seal(p.c, p.s);
	pair_free(&p);

	struct mp_ntlm *c;
	struct mp_ntlm_client_config bad = {.user = "u"};
	assert_int_equal(mp_ntlm_client_new(&bad, &c), MP_ERR_CONFIG);
	assert_null(c);
	bad.password = "\xc3";
	assert_int_equal(mp_ntlm_client_new(&bad, &c), MP_ERR_PARSE);
	struct mp_ntlm_server_config sbad = {0};
	assert_int_equal(mp_ntlm_server_new(&sbad, &c), MP_ERR_CONFIG);
}

static void test_wrong_password_and_unknown_user(void **state)
{
	struct pair p;
	pair_init(&p, "User", "Domain", "Passw0rd", MP_NTLM_WANT_SEAL, false);
	assert_int_equal(pair_run(&p), MP_ERR_AUTH);
	assert_int_equal(p.db.lookups, 1);
	assert_false(mp_ntlm_established(p.s));
	assert_null(mp_ntlm_user(p.s));
	uint8_t sig[16], key[16];
	assert_int_equal(mp_ntlm_sign(p.s, (const uint8_t *)"x", 1, sig), MP_ERR_AUTH);
	assert_int_equal(mp_ntlm_session_key(p.s, key), MP_ERR_PROTO);
	/* A second AUTHENTICATE on a failed context is a protocol error. */
	assert_int_equal(mp_ntlm_server_authenticate(p.s, p.auth.data, p.auth.len), MP_ERR_PROTO);
	pair_free(&p);

	pair_init(&p, "mallory", "Domain", "Password", MP_NTLM_WANT_SEAL, false);
	assert_int_equal(pair_run(&p), MP_ERR_AUTH); /* same code as a bad password */
	assert_int_equal(p.db.lookups, 1);
	pair_free(&p);

	/* Right password, user known only in another domain. */
	pair_init(&p, "User", "OtherDomain", "Password", MP_NTLM_WANT_SEAL, false);
	assert_int_equal(pair_run(&p), MP_ERR_AUTH);
	pair_free(&p);
}

/* Flip one byte of the AUTHENTICATE at `off` and expect `want`. */
static void tamper_auth(size_t (*where)(const struct mp_ntlm_authenticate *, const uint8_t *),
                        int want)
{
	struct pair p;
	pair_init(&p, "User", "Domain", "Password", MP_NTLM_WANT_SEAL, false);
	pair_exchange(&p);
	struct mp_ntlm_authenticate a;
	assert_int_equal(mp_ntlm_parse_authenticate(p.auth.data, p.auth.len, &a), MP_OK);
	size_t off = where(&a, p.auth.data);
	p.auth.data[off] ^= 0x01;
	assert_int_equal(mp_ntlm_server_authenticate(p.s, p.auth.data, p.auth.len), want);
	assert_false(mp_ntlm_established(p.s));
	pair_free(&p);
}

static size_t at_proof(const struct mp_ntlm_authenticate *a, const uint8_t *m)
{
	return (size_t)(a->nt_response.p - m) + 5;
}
static size_t at_mic(const struct mp_ntlm_authenticate *a, const uint8_t *m)
{
	return MP_NTLM_MIC_OFFSET + 3;
}
static size_t at_blob_timestamp(const struct mp_ntlm_authenticate *a, const uint8_t *m)
{
	return (size_t)(a->nt_response.p - m) + 16 + 8;
}
static size_t at_blob_av(const struct mp_ntlm_authenticate *a, const uint8_t *m)
{
	return (size_t)(a->nt_response.p - m) + 16 + 28 + 4; /* first AV value byte */
}
static size_t at_user(const struct mp_ntlm_authenticate *a, const uint8_t *m)
{
	return (size_t)(a->user.p - m) + 2; /* "User" -> "Uqer" */
}
static size_t at_domain(const struct mp_ntlm_authenticate *a, const uint8_t *m)
{
	return (size_t)(a->domain.p - m);
}
static size_t at_workstation(const struct mp_ntlm_authenticate *a, const uint8_t *m)
{
	return (size_t)(a->workstation.p - m); /* only the MIC covers it */
}
static size_t at_flags(const struct mp_ntlm_authenticate *a, const uint8_t *m)
{
	return 60 + 3; /* a reserved flag bit: only the MIC covers it */
}
static size_t at_enc_key(const struct mp_ntlm_authenticate *a, const uint8_t *m)
{
	return (size_t)(a->enc_session_key.p - m); /* wrong exported key: MIC fails */
}

static void test_tampered_authenticate(void **state)
{
	tamper_auth(at_proof, MP_ERR_AUTH);
	tamper_auth(at_mic, MP_ERR_AUTH);
	tamper_auth(at_blob_timestamp, MP_ERR_AUTH);
	tamper_auth(at_blob_av, MP_ERR_AUTH);
	tamper_auth(at_user, MP_ERR_AUTH);
	tamper_auth(at_domain, MP_ERR_AUTH);
	tamper_auth(at_workstation, MP_ERR_AUTH);
	tamper_auth(at_flags, MP_ERR_AUTH);
	tamper_auth(at_enc_key, MP_ERR_AUTH);
}

static void test_tampered_negotiate_and_challenge(void **state)
{
	/* A CHALLENGE altered on its way to the client: the MIC catches it. */
	struct pair p;
	pair_init(&p, "User", "Domain", "Password", MP_NTLM_WANT_SEAL, false);
	assert_int_equal(mp_ntlm_client_negotiate(p.c, &p.neg), MP_OK);
	assert_int_equal(mp_ntlm_server_challenge(p.s, p.neg.data, p.neg.len, &p.chal), MP_OK);
	p.chal.data[20 + 2] ^= 0x01; /* TARGET_TYPE_DOMAIN */
	assert_int_equal(mp_ntlm_client_authenticate(p.c, p.chal.data, p.chal.len, &p.auth), MP_OK);
	assert_int_equal(mp_ntlm_server_authenticate(p.s, p.auth.data, p.auth.len), MP_ERR_AUTH);
	pair_free(&p);

	/* A NEGOTIATE altered on its way to the server (still SEAL capable). */
	pair_init(&p, "User", "Domain", "Password", MP_NTLM_WANT_SEAL, false);
	assert_int_equal(mp_ntlm_client_negotiate(p.c, &p.neg), MP_OK);
	uint8_t *neg = dup_bytes(p.neg.data, p.neg.len);
	neg[12] &= (uint8_t)~MP_NTLMSSP_NEGOTIATE_OEM;
	assert_int_equal(mp_ntlm_server_challenge(p.s, neg, p.neg.len, &p.chal), MP_OK);
	assert_int_equal(mp_ntlm_client_authenticate(p.c, p.chal.data, p.chal.len, &p.auth), MP_OK);
	assert_int_equal(mp_ntlm_server_authenticate(p.s, p.auth.data, p.auth.len), MP_ERR_AUTH);
	free(neg);
	pair_free(&p);
}

static void test_mic_flagged_but_missing(void **state)
{
	struct pair p;
	pair_init(&p, "User", "Domain", "Password", MP_NTLM_WANT_SEAL, false);
	pair_exchange(&p);
	struct mp_ntlm_authenticate a;
	assert_int_equal(mp_ntlm_parse_authenticate(p.auth.data, p.auth.len, &a), MP_OK);
	a.has_mic_field = false; /* blob still says MIC present */
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	assert_int_equal(mp_ntlm_encode_authenticate(&wb, &a), MP_OK);
	assert_int_equal(mp_ntlm_server_authenticate(p.s, wb.data, wb.len), MP_ERR_AUTH);
	mp_wb_free(&wb);
	pair_free(&p);
}

static void test_replay_and_order(void **state)
{
	struct pair p;
	pair_init(&p, "User", "Domain", "Password", MP_NTLM_WANT_SEAL, false);
	assert_int_equal(pair_run(&p), MP_OK);
	const uint8_t *m0 = (const uint8_t *)"first", *m1 = (const uint8_t *)"second";
	uint8_t s0[16], s1[16];
	assert_int_equal(mp_ntlm_sign(p.c, m0, 5, s0), MP_OK);
	assert_int_equal(mp_ntlm_sign(p.c, m1, 6, s1), MP_OK);
	assert_int_equal(mp_get_u32(s1 + 12), 1);
	assert_int_equal(mp_ntlm_verify(p.s, m0, 5, s0), MP_OK);
	/* Replaying seq 0: the server expects seq 1 now. */
	assert_int_equal(mp_ntlm_verify(p.s, m0, 5, s0), MP_ERR_AUTH);
	/* The context is poisoned: even the genuine next message fails. */
	assert_int_equal(mp_ntlm_verify(p.s, m1, 6, s1), MP_ERR_AUTH);
	assert_int_equal(mp_ntlm_sign(p.s, m1, 6, s1), MP_ERR_AUTH);
	pair_free(&p);

	/* Out of order (skipping seq 0) fails too. */
	pair_init(&p, "User", "Domain", "Password", MP_NTLM_WANT_SEAL, false);
	assert_int_equal(pair_run(&p), MP_OK);
	assert_int_equal(mp_ntlm_sign(p.c, m0, 5, s0), MP_OK);
	assert_int_equal(mp_ntlm_sign(p.c, m1, 6, s1), MP_OK);
	assert_int_equal(mp_ntlm_verify(p.s, m1, 6, s1), MP_ERR_AUTH);
	pair_free(&p);

	/* A modified message or signature fails; unseal wipes the data. */
	pair_init(&p, "User", "Domain", "Password", MP_NTLM_WANT_SEAL, false);
	assert_int_equal(pair_run(&p), MP_OK);
	uint8_t d[16] = "secret payload!", sig[16];
	assert_int_equal(mp_ntlm_seal(p.c, d, sizeof(d), NULL, 0, sig), MP_OK);
	d[3] ^= 0x40;
	assert_int_equal(mp_ntlm_unseal(p.s, d, sizeof(d), NULL, 0, sig), MP_ERR_AUTH);
	static const uint8_t zero[16];
	assert_memory_equal(d, zero, sizeof(d));
	pair_free(&p);

	pair_init(&p, "User", "Domain", "Password", MP_NTLM_WANT_SIGN, false);
	assert_int_equal(pair_run(&p), MP_OK);
	assert_int_equal(mp_ntlm_sign(p.s, m0, 5, s0), MP_OK);
	s0[12] ^= 1; /* SeqNum field */
	assert_int_equal(mp_ntlm_verify(p.c, m0, 5, s0), MP_ERR_AUTH);
	pair_free(&p);
}

/* ---- NTLMv1 --------------------------------------------------------------- */

/* Run a server on a hand-made NEGOTIATE and NTLMv1 AUTHENTICATE. */
static int v1_exchange(bool allow, bool ess, const uint8_t nt_hash[16], bool lm_only,
                       uint8_t session_key[16])
{
	struct pair p;
	pair_init(&p, "User", "Domain", "Password", 0, allow);
	struct mp_ntlm_negotiate n = {0};
	n.flags = MP_NTLMSSP_NEGOTIATE_UNICODE | MP_NTLMSSP_NEGOTIATE_NTLM |
	          MP_NTLMSSP_REQUEST_TARGET | MP_NTLMSSP_NEGOTIATE_KEY_EXCH |
	          MP_NTLMSSP_NEGOTIATE_128;
	if (ess)
		n.flags |= MP_NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY;
	assert_int_equal(mp_ntlm_encode_negotiate(&p.neg, &n), MP_OK);
	assert_int_equal(mp_ntlm_server_challenge(p.s, p.neg.data, p.neg.len, &p.chal), MP_OK);
	struct mp_ntlm_challenge ch;
	assert_int_equal(mp_ntlm_parse_challenge(p.chal.data, p.chal.len, &ch), MP_OK);

	uint8_t lm[24] = {0}, nt[24], chal[8], sbk[16], kx[16], enc[16];
	if (ess) {
		memcpy(lm, spec_client_challenge, 8);
		mp_ntlm_v1_ess_challenge(ch.server_challenge, spec_client_challenge, chal);
	} else {
		memcpy(chal, ch.server_challenge, 8);
	}
	mp_ntlm_desl(nt_hash, chal, nt);
	if (!ess)
		memcpy(lm, nt, 24); /* what clients without an LM hash send */
	mp_ntlm_v1_session_base_key(nt_hash, sbk);
	if (ess)
		mp_ntlm_v1_ess_kxkey(sbk, ch.server_challenge, lm, kx);
	else
		memcpy(kx, sbk, 16);
	mp_ntlm_rc4k(kx, spec_random_session_key, enc, 16);

	struct mp_ntlm_authenticate a = {0};
	a.flags = n.flags;
	a.lm_response = (struct mp_ntlm_bytes){lm, 24};
	if (!lm_only)
		a.nt_response = (struct mp_ntlm_bytes){nt, 24};
	a.domain = (struct mp_ntlm_bytes){(const uint8_t *)"D\0o\0m\0a\0i\0n\0", 12};
	a.user = (struct mp_ntlm_bytes){(const uint8_t *)"U\0s\0e\0r\0", 8};
	a.enc_session_key = (struct mp_ntlm_bytes){enc, 16};
	assert_int_equal(mp_ntlm_encode_authenticate(&p.auth, &a), MP_OK);
	int rc = mp_ntlm_server_authenticate(p.s, p.auth.data, p.auth.len);
	if (rc == MP_OK)
		assert_int_equal(mp_ntlm_session_key(p.s, session_key), MP_OK);
	pair_free(&p);
	return rc;
}

static void test_ntlmv1_policy(void **state)
{
	uint8_t key[16], wrong[16];
	memcpy(wrong, spec_nt_hash, 16);
	wrong[0] ^= 1;
	/* Refused unless allowed, whatever the password. */
	assert_int_equal(v1_exchange(false, false, spec_nt_hash, false, key), MP_ERR_AUTH_NTLMV1);
	assert_int_equal(v1_exchange(false, true, spec_nt_hash, false, key), MP_ERR_AUTH_NTLMV1);
	assert_int_equal(v1_exchange(false, false, spec_nt_hash, true, key), MP_ERR_AUTH_NTLMV1);
	/* Allowed: verified, and the key exchange works. */
	memset(key, 0, 16);
	assert_int_equal(v1_exchange(true, false, spec_nt_hash, false, key), MP_OK);
	assert_memory_equal(key, spec_random_session_key, 16);
	memset(key, 0, 16);
	assert_int_equal(v1_exchange(true, true, spec_nt_hash, false, key), MP_OK);
	assert_memory_equal(key, spec_random_session_key, 16);
	assert_int_equal(v1_exchange(true, false, wrong, false, key), MP_ERR_AUTH);
	assert_int_equal(v1_exchange(true, true, wrong, false, key), MP_ERR_AUTH);
	/* LM only: we hold no LM hashes. */
	assert_int_equal(v1_exchange(true, false, spec_nt_hash, true, key), MP_ERR_AUTH);
}

static void test_anonymous_refused(void **state)
{
	struct pair p;
	pair_init(&p, "User", "Domain", "Password", 0, true);
	assert_int_equal(mp_ntlm_client_negotiate(p.c, &p.neg), MP_OK);
	assert_int_equal(mp_ntlm_server_challenge(p.s, p.neg.data, p.neg.len, &p.chal), MP_OK);
	struct mp_ntlm_authenticate a = {0};
	static const uint8_t z1[1] = {0};
	a.flags = MP_NTLMSSP_NEGOTIATE_UNICODE | MP_NTLMSSP_ANONYMOUS;
	a.lm_response = (struct mp_ntlm_bytes){z1, 1};
	assert_int_equal(mp_ntlm_encode_authenticate(&p.auth, &a), MP_OK);
	assert_int_equal(mp_ntlm_server_authenticate(p.s, p.auth.data, p.auth.len), MP_ERR_AUTH);
	assert_int_equal(p.db.lookups, 0);
	pair_free(&p);
}

/* ---- state and policy errors ---------------------------------------------- */

static void test_state_errors(void **state)
{
	struct pair p;
	pair_init(&p, "User", "Domain", "Password", MP_NTLM_WANT_SEAL, false);
	uint8_t sig[16], key[16];
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	/* Out of order calls, and calls for the other role. */
	assert_int_equal(mp_ntlm_client_authenticate(p.c, spec_v2_challenge_msg,
	                                             sizeof(spec_v2_challenge_msg), &wb),
	                 MP_ERR_PROTO);
	assert_int_equal(mp_ntlm_server_authenticate(p.s, spec_v2_authenticate_msg,
	                                             sizeof(spec_v2_authenticate_msg)),
	                 MP_ERR_PROTO);
	assert_int_equal(mp_ntlm_client_negotiate(p.s, &wb), MP_ERR_PROTO);
	assert_int_equal(mp_ntlm_server_challenge(p.c, wb.data, wb.len, &wb), MP_ERR_PROTO);
	assert_int_equal(mp_ntlm_sign(p.c, (const uint8_t *)"x", 1, sig), MP_ERR_PROTO);
	assert_int_equal(mp_ntlm_session_key(p.c, key), MP_ERR_PROTO);
	assert_int_equal(wb.len, 0);
	pair_exchange(&p);
	assert_int_equal(mp_ntlm_client_negotiate(p.c, &wb), MP_ERR_PROTO);
	assert_int_equal(mp_ntlm_server_challenge(p.s, p.neg.data, p.neg.len, &wb), MP_ERR_PROTO);
	assert_int_equal(mp_ntlm_server_authenticate(p.s, p.auth.data, p.auth.len), MP_OK);
	assert_int_equal(mp_ntlm_server_authenticate(p.s, p.auth.data, p.auth.len), MP_ERR_PROTO);
	mp_wb_free(&wb);
	pair_free(&p);
	mp_ntlm_free(NULL);
}

static void test_server_policy(void **state)
{
	struct {
		uint32_t flags;
		int want;
	} cases[] = {
	    /* No UNICODE. */
	    {MP_NTLMSSP_NEGOTIATE_OEM | MP_NTLMSSP_NEGOTIATE_NTLM, MP_ERR_UNSUPPORTED},
	    /* SIGN without extended session security. */
	    {MP_NTLMSSP_NEGOTIATE_UNICODE | MP_NTLMSSP_NEGOTIATE_SIGN, MP_ERR_UNSUPPORTED},
	    /* SEAL without 128-bit keys. */
	    {MP_NTLMSSP_NEGOTIATE_UNICODE | MP_NTLMSSP_NEGOTIATE_SIGN | MP_NTLMSSP_NEGOTIATE_SEAL |
	         MP_NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY | MP_NTLMSSP_NEGOTIATE_56,
	     MP_ERR_UNSUPPORTED},
	    {MP_NTLMSSP_NEGOTIATE_UNICODE, MP_OK},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pair p;
		pair_init(&p, "User", "Domain", "Password", 0, false);
		struct mp_ntlm_negotiate n = {.flags = cases[i].flags};
		assert_int_equal(mp_ntlm_encode_negotiate(&p.neg, &n), MP_OK);
		assert_int_equal(mp_ntlm_server_challenge(p.s, p.neg.data, p.neg.len, &p.chal),
		                 cases[i].want);
		if (cases[i].want != MP_OK)
			assert_int_equal(p.chal.len, 0);
		pair_free(&p);
	}
}

static void test_client_policy(void **state)
{
	/* The server drops SEAL (or ESS) from its CHALLENGE: the client refuses. */
	uint32_t drop[] = {MP_NTLMSSP_NEGOTIATE_SEAL, MP_NTLMSSP_NEGOTIATE_SIGN,
	                   MP_NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY,
	                   MP_NTLMSSP_NEGOTIATE_UNICODE};
	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
		struct pair p;
		pair_init(&p, "User", "Domain", "Password", MP_NTLM_WANT_SEAL, false);
		assert_int_equal(mp_ntlm_client_negotiate(p.c, &p.neg), MP_OK);
		assert_int_equal(mp_ntlm_server_challenge(p.s, p.neg.data, p.neg.len, &p.chal),
		                 MP_OK);
		mp_put_u32(p.chal.data + 20, mp_get_u32(p.chal.data + 20) & ~drop[i]);
		assert_int_equal(mp_ntlm_client_authenticate(p.c, p.chal.data, p.chal.len, &p.auth),
		                 MP_ERR_UNSUPPORTED);
		assert_int_equal(p.auth.len, 0);
		assert_false(mp_ntlm_established(p.c));
		pair_free(&p);
	}
	/* The RNG failing aborts the step. */
	struct pair p;
	pair_init(&p, "User", "Domain", "Password", MP_NTLM_WANT_SEAL, false);
	p.srng.len = 4;
	assert_int_equal(mp_ntlm_client_negotiate(p.c, &p.neg), MP_OK);
	assert_int_equal(mp_ntlm_server_challenge(p.s, p.neg.data, p.neg.len, &p.chal), MP_ERR_IO);
	pair_free(&p);
}

/* ---- malformed input ------------------------------------------------------ */

static void test_truncations(void **state)
{
	struct pair p;
	pair_init(&p, "User", "Domain", "Password", MP_NTLM_WANT_SEAL, false);
	pair_exchange(&p);
	/* Every proper prefix of every message is refused, by the parsers and
	   by the state machines. */
	for (size_t n = 0; n < p.neg.len; n++) {
		uint8_t *m = dup_bytes(p.neg.data, n); /* exact-size copy for ASan */
		struct mp_ntlm_negotiate neg;
		assert_int_equal(mp_ntlm_parse_negotiate(m, n, &neg), MP_ERR_PARSE);
		free(m);
	}
	for (size_t n = 0; n < p.chal.len; n++) {
		uint8_t *m = dup_bytes(p.chal.data, n);
		struct mp_ntlm_challenge ch;
		assert_int_equal(mp_ntlm_parse_challenge(m, n, &ch), MP_ERR_PARSE);
		free(m);
	}
	for (size_t n = 0; n < p.auth.len; n++) {
		uint8_t *m = dup_bytes(p.auth.data, n);
		struct mp_ntlm_authenticate a;
		assert_int_equal(mp_ntlm_parse_authenticate(m, n, &a), MP_ERR_PARSE);
		struct mp_ntlm *s = fresh_server(&p);
		assert_int_equal(mp_ntlm_server_authenticate(s, m, n), MP_ERR_PARSE);
		mp_ntlm_free(s);
		free(m);
	}
	/* The state machines on truncated NEGOTIATE / CHALLENGE. */
	for (size_t n = 0; n < p.chal.len; n++) {
		struct pair q;
		pair_init(&q, "User", "Domain", "Password", MP_NTLM_WANT_SEAL, false);
		assert_int_equal(mp_ntlm_client_negotiate(q.c, &q.neg), MP_OK);
		uint8_t *m = dup_bytes(p.chal.data, n);
		assert_int_equal(mp_ntlm_client_authenticate(q.c, m, n, &q.auth), MP_ERR_PARSE);
		assert_int_equal(q.auth.len, 0);
		if (n < p.neg.len) {
			uint8_t *g = dup_bytes(p.neg.data, n);
			assert_int_equal(mp_ntlm_server_challenge(q.s, g, n, &q.chal),
			                 MP_ERR_PARSE);
			free(g);
		}
		free(m);
		pair_free(&q);
	}
	pair_free(&p);
}

/* Each bad (len, offset) for each descriptor of a message must be refused. */
static void check_bad_fields(const uint8_t *msg, size_t len, const size_t *descs, size_t ndesc,
                             int (*parse)(const uint8_t *, size_t))
{
	const struct {
		uint16_t flen;
		uint32_t off;
	} bad[] = {
	    {1, (uint32_t)len},      /* starts at the end */
	    {2, (uint32_t)len - 1},  /* runs past the end */
	    {0xffff, 0},             /* longer than the message */
	    {0xffff, (uint32_t)len}, /* both */
	    {4, 0xffffffffu},        /* offset wraps */
	    {4, 0xfffffffeu},
	    {8, 8},             /* inside the fixed header */
	    {(uint16_t)len, 0}, /* the whole message, header included */
	};
	for (size_t d = 0; d < ndesc; d++) {
		for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
			uint8_t *m = dup_bytes(msg, len);
			set_field(m, descs[d], bad[b].flen, bad[b].off);
			assert_int_equal(parse(m, len), MP_ERR_PARSE);
			free(m);
		}
	}
}

static int parse_neg(const uint8_t *m, size_t n)
{
	struct mp_ntlm_negotiate x;
	return mp_ntlm_parse_negotiate(m, n, &x);
}
static int parse_chal(const uint8_t *m, size_t n)
{
	struct mp_ntlm_challenge x;
	return mp_ntlm_parse_challenge(m, n, &x);
}
static int parse_auth(const uint8_t *m, size_t n)
{
	struct mp_ntlm_authenticate x;
	return mp_ntlm_parse_authenticate(m, n, &x);
}

static void test_bad_offsets_and_lengths(void **state)
{
	struct pair p;
	pair_init(&p, "User", "Domain", "Password", MP_NTLM_WANT_SEAL, false);
	pair_exchange(&p);
	static const size_t neg_descs[] = {16, 24};
	static const size_t chal_descs[] = {12, 40};
	static const size_t auth_descs[] = {12, 20, 28, 36, 44, 52};
	check_bad_fields(p.neg.data, p.neg.len, neg_descs, 2, parse_neg);
	check_bad_fields(p.chal.data, p.chal.len, chal_descs, 2, parse_chal);
	check_bad_fields(p.auth.data, p.auth.len, auth_descs, 6, parse_auth);
	check_bad_fields(spec_v2_authenticate_msg, sizeof(spec_v2_authenticate_msg), auth_descs, 6,
	                 parse_auth);

	/* Bad signature, bad or mismatched type. */
	uint8_t *m = dup_bytes(p.auth.data, p.auth.len);
	m[6] = 'Q';
	assert_int_equal(mp_ntlm_msg_type(m, p.auth.len), MP_ERR_PARSE);
	assert_int_equal(parse_auth(m, p.auth.len), MP_ERR_PARSE);
	m[6] = 'P';
	mp_put_u32(m + 8, 4);
	assert_int_equal(mp_ntlm_msg_type(m, p.auth.len), MP_ERR_PARSE);
	mp_put_u32(m + 8, 0);
	assert_int_equal(mp_ntlm_msg_type(m, p.auth.len), MP_ERR_PARSE);
	free(m);
	assert_int_equal(mp_ntlm_server_authenticate(p.s, p.chal.data, p.chal.len), MP_ERR_PARSE);
	pair_free(&p);
}

static void test_bad_responses(void **state)
{
	struct pair p;
	pair_init(&p, "User", "Domain", "Password", MP_NTLM_WANT_SEAL, false);
	pair_exchange(&p);
	struct mp_ntlm_authenticate a;
	assert_int_equal(mp_ntlm_parse_authenticate(p.auth.data, p.auth.len, &a), MP_OK);
	uint32_t nt_off = (uint32_t)(a.nt_response.p - p.auth.data);

	/* NtChallengeResponse lengths between NTLMv1 and the NTLMv2 minimum. */
	for (uint16_t n = 1; n < 44; n++) {
		if (n == 24)
			continue;
		uint8_t *m = dup_bytes(p.auth.data, p.auth.len);
		set_field(m, 20, n, nt_off);
		struct mp_ntlm *s = fresh_server(&p);
		assert_int_equal(mp_ntlm_server_authenticate(s, m, p.auth.len), MP_ERR_PARSE);
		mp_ntlm_free(s);
		free(m);
	}
	/* The blob's AV list cut short (no EOL). */
	{
		uint8_t *m = dup_bytes(p.auth.data, p.auth.len);
		set_field(m, 20, (uint16_t)(a.nt_response.len - 8), nt_off);
		struct mp_ntlm *s = fresh_server(&p);
		assert_int_equal(mp_ntlm_server_authenticate(s, m, p.auth.len), MP_ERR_PARSE);
		mp_ntlm_free(s);
		free(m);
	}
	/* An AV length in the blob running past its end. */
	{
		uint8_t *m = dup_bytes(p.auth.data, p.auth.len);
		mp_put_u16(m + nt_off + 16 + 28 + 2, 0xfff0);
		struct mp_ntlm *s = fresh_server(&p);
		assert_int_equal(mp_ntlm_server_authenticate(s, m, p.auth.len), MP_ERR_PARSE);
		mp_ntlm_free(s);
		free(m);
	}
	/* KEY_EXCH negotiated, EncryptedRandomSessionKey missing or short. */
	for (uint16_t n = 0; n < 16; n += 15) {
		uint8_t *m = dup_bytes(p.auth.data, p.auth.len);
		set_field(m, 52, n, (uint32_t)(a.enc_session_key.p - p.auth.data));
		struct mp_ntlm *s = fresh_server(&p);
		assert_int_equal(mp_ntlm_server_authenticate(s, m, p.auth.len), MP_ERR_PARSE);
		mp_ntlm_free(s);
		free(m);
	}
	/* User name that is not valid UTF-16 (odd length). */
	{
		uint8_t *m = dup_bytes(p.auth.data, p.auth.len);
		set_field(m, 36, 3, (uint32_t)(a.user.p - p.auth.data));
		struct mp_ntlm *s = fresh_server(&p);
		assert_int_equal(mp_ntlm_server_authenticate(s, m, p.auth.len), MP_ERR_PARSE);
		mp_ntlm_free(s);
		free(m);
	}
	pair_free(&p);

	/* A CHALLENGE whose target info is malformed. */
	pair_init(&p, "User", "Domain", "Password", MP_NTLM_WANT_SEAL, false);
	assert_int_equal(mp_ntlm_client_negotiate(p.c, &p.neg), MP_OK);
	assert_int_equal(mp_ntlm_server_challenge(p.s, p.neg.data, p.neg.len, &p.chal), MP_OK);
	struct mp_ntlm_challenge ch;
	assert_int_equal(mp_ntlm_parse_challenge(p.chal.data, p.chal.len, &ch), MP_OK);
	size_t ti = (size_t)(ch.target_info.p - p.chal.data);
	mp_put_u16(p.chal.data + ti + 2, 0x7fff);
	assert_int_equal(mp_ntlm_client_authenticate(p.c, p.chal.data, p.chal.len, &p.auth),
	                 MP_ERR_PARSE);
	pair_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_flag_names),
	    cmocka_unit_test(test_parse_spec_challenge_4_2_4_3),
	    cmocka_unit_test(test_parse_spec_authenticate_4_2_4_3),
	    cmocka_unit_test(test_parse_spec_v1_messages_4_2_2_3),
	    cmocka_unit_test(test_negotiate_codec),
	    cmocka_unit_test(test_encode_limits),
	    cmocka_unit_test(test_av_pairs),
	    cmocka_unit_test(test_server_accepts_spec_authenticate_4_2_4),
	    cmocka_unit_test(test_client_reproduces_spec_4_2_4),
	    cmocka_unit_test(test_challenge_contents),
	    cmocka_unit_test(test_round_trip_seal),
	    cmocka_unit_test(test_round_trip_sign_only),
	    cmocka_unit_test(test_round_trip_no_session_security),
	    cmocka_unit_test(test_client_with_nt_hash),
	    cmocka_unit_test(test_wrong_password_and_unknown_user),
	    cmocka_unit_test(test_tampered_authenticate),
	    cmocka_unit_test(test_tampered_negotiate_and_challenge),
	    cmocka_unit_test(test_mic_flagged_but_missing),
	    cmocka_unit_test(test_replay_and_order),
	    cmocka_unit_test(test_ntlmv1_policy),
	    cmocka_unit_test(test_anonymous_refused),
	    cmocka_unit_test(test_state_errors),
	    cmocka_unit_test(test_server_policy),
	    cmocka_unit_test(test_client_policy),
	    cmocka_unit_test(test_truncations),
	    cmocka_unit_test(test_bad_offsets_and_lengths),
	    cmocka_unit_test(test_bad_responses),
	};
	return cmocka_run_group_tests(tests, setup_users, NULL);
}
