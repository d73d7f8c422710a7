/* Unit tests: dcerpc/binding (binding strings). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dcerpc/binding.h"
#include "util/status.h"

#include <stdio.h>
#include <string.h>

static struct mp_binding parse_ok(const char *s)
{
	struct mp_binding b;
	char err[256] = "";
	int rc = mp_binding_parse(s, &b, err, sizeof(err));
	if (rc != MP_OK)
		fail_msg("'%s' refused: %s", s, err);
	return b;
}

static void test_host_only(void **state)
{
	struct mp_binding b = parse_ok("ncacn_ip_tcp:host");
	assert_string_equal(b.transport, "ncacn_ip_tcp");
	assert_string_equal(b.host, "host");
	assert_int_equal(b.port, 0);
	assert_int_equal(b.flags, 0);
	assert_false(b.has_object);
}

static void test_port(void **state)
{
	struct mp_binding b = parse_ok("ncacn_ip_tcp:host[135]");
	assert_string_equal(b.host, "host");
	assert_int_equal(b.port, 135);
	assert_int_equal(b.flags, 0);
	b = parse_ok("ncacn_ip_tcp:10.0.0.1[65535]");
	assert_string_equal(b.host, "10.0.0.1");
	assert_int_equal(b.port, 65535);
	b = parse_ok("ncacn_ip_tcp:h[1]");
	assert_int_equal(b.port, 1);
}

static void test_flag_only(void **state)
{
	struct mp_binding b = parse_ok("ncacn_ip_tcp:host[print]");
	assert_string_equal(b.host, "host");
	assert_int_equal(b.port, 0);
	assert_int_equal(b.flags, MP_BF_PRINT);
}

static void test_port_and_flags(void **state)
{
	struct mp_binding b = parse_ok("ncacn_ip_tcp:exchange.example.com[6001,print,seal]");
	assert_string_equal(b.host, "exchange.example.com");
	assert_int_equal(b.port, 6001);
	assert_int_equal(b.flags, MP_BF_PRINT | MP_BF_SEAL);
	/* The port may come anywhere among the options; spaces and case don't matter. */
	b = parse_ok("ncacn_ip_tcp:exchange.example.com[ Seal , 6001,PRINT ]");
	assert_int_equal(b.port, 6001);
	assert_int_equal(b.flags, MP_BF_PRINT | MP_BF_SEAL);
	b = parse_ok("ncacn_ip_tcp:h[sign,connect,ntlm,spnego,krb5,ndr64,padcheck,validate,"
		     "bigendian]");
	assert_int_equal(b.flags, MP_BF_SIGN | MP_BF_CONNECT | MP_BF_NTLM | MP_BF_SPNEGO |
					  MP_BF_KRB5 | MP_BF_NDR64 | MP_BF_PADCHECK |
					  MP_BF_VALIDATE | MP_BF_BIGENDIAN);
	/* Empty options are tolerated. */
	b = parse_ok("ncacn_ip_tcp:h[]");
	assert_int_equal(b.port, 0);
	assert_int_equal(b.flags, 0);
	b = parse_ok("ncacn_ip_tcp:h[,print,]");
	assert_int_equal(b.flags, MP_BF_PRINT);
}

static void test_ipv6(void **state)
{
	struct mp_binding b = parse_ok("ncacn_ip_tcp:fd00::1[135]");
	assert_string_equal(b.host, "fd00::1");
	assert_int_equal(b.port, 135);
	b = parse_ok("ncacn_ip_tcp:::1");
	assert_string_equal(b.host, "::1");
	assert_int_equal(b.port, 0);
	b = parse_ok("ncacn_ip_tcp:fe80::1:2:3:4[49154,sign]");
	assert_string_equal(b.host, "fe80::1:2:3:4");
	assert_int_equal(b.port, 49154);
	assert_int_equal(b.flags, MP_BF_SIGN);
}

static void test_object_uuid(void **state)
{
	struct mp_binding b = parse_ok("a4f1db00-ca47-1067-b31f-00dd010662da@ncacn_ip_tcp:10.0.0.1[sign]");
	assert_true(b.has_object);
	char u[MP_UUID_STR_LEN];
	mp_uuid_format(&b.object, u);
	assert_string_equal(u, "a4f1db00-ca47-1067-b31f-00dd010662da");
	assert_string_equal(b.host, "10.0.0.1");
	assert_int_equal(b.flags, MP_BF_SIGN);
	assert_int_equal(b.port, 0);
}

static void test_transport_case_insensitive(void **state)
{
	struct mp_binding b = parse_ok("NCACN_IP_TCP:Host");
	assert_string_equal(b.host, "Host");
}

static void expect_error(const char *s, const char *fragment)
{
	struct mp_binding b;
	char err[512] = "";
	int rc = mp_binding_parse(s, &b, err, sizeof(err));
	if (rc != MP_ERR_PARSE)
		fail_msg("'%s' accepted (%s)", s, mp_status_name(rc));
	if (err[0] == '\0')
		fail_msg("'%s': no error message", s);
	if (fragment && !strstr(err, fragment))
		fail_msg("'%s': message '%s' lacks '%s'", s, err, fragment);
	/* No error buffer: still refused, nothing written anywhere. */
	assert_int_equal(mp_binding_parse(s, &b, NULL, 0), MP_ERR_PARSE);
}

static void test_errors(void **state)
{
	expect_error("host", "transport");
	expect_error("host[135]", "transport");
	expect_error("", "transport");
	expect_error(":host", NULL);
	expect_error("ncacn_np:host[\\pipe\\lsass]", "ncacn_np");
	expect_error("ncalrpc:foo", "not supported");
	expect_error("ncacn_ip_tcp:", "host");
	expect_error("ncacn_ip_tcp:[135]", "host");
	expect_error("ncacn_ip_tcp:host[0]", "port");
	expect_error("ncacn_ip_tcp:host[70000]", "port");
	expect_error("ncacn_ip_tcp:host[65536]", "port");
	expect_error("ncacn_ip_tcp:host[99999999999999999999999]", NULL);
	expect_error("ncacn_ip_tcp:host[135x]", "port");
	expect_error("ncacn_ip_tcp:host[135,136]", "two ports");
	expect_error("ncacn_ip_tcp:host[135,print,135]", "two ports");
	expect_error("ncacn_ip_tcp:host[bogus]", "bogus");
	expect_error("ncacn_ip_tcp:host[print,-1]", "-1");
	expect_error("ncacn_ip_tcp:host[135", "]");
	expect_error("ncacn_ip_tcp:host[135]x", "after");
	expect_error("ncacn_ip_tcp:host[135][print]", "after");
	expect_error("ncacn_ip_tcp:ho st", "host");
	expect_error("ncacn_ip_tcp:ho,st", "host");
	expect_error("ncacn_ip_tcp:host]", "host");
	expect_error("a4f1db00-ca47-1067-b31f-00dd010662dz@ncacn_ip_tcp:h", "UUID");
	expect_error("a4f1db00@ncacn_ip_tcp:h", "UUID");
	expect_error("@ncacn_ip_tcp:h", "UUID");
	expect_error("a4f1db00-ca47-1067-b31f-00dd010662da@host", "transport");
	expect_error("ncacn_ip_tcp:h[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]",
		     NULL);
	expect_error("averyveryveryveryverylongtransportname:h", "transport");
}

static void test_long_host(void **state)
{
	char s[600];
	char host[300];
	memset(host, 'a', sizeof(host));
	host[255] = '\0'; /* 255 characters: the most a host may have */
	snprintf(s, sizeof(s), "ncacn_ip_tcp:%s[135]", host);
	struct mp_binding b = parse_ok(s);
	assert_int_equal(strlen(b.host), 255);
	host[255] = 'a';
	host[256] = '\0';
	snprintf(s, sizeof(s), "ncacn_ip_tcp:%s", host);
	expect_error(s, "host");
}

static void test_format(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"ncacn_ip_tcp:host", "ncacn_ip_tcp:host"},
		{"ncacn_ip_tcp:host[135]", "ncacn_ip_tcp:host[135]"},
		{"ncacn_ip_tcp:host[print]", "ncacn_ip_tcp:host[print]"},
		{"ncacn_ip_tcp:exchange.example.com[seal,6001,print]",
		 "ncacn_ip_tcp:exchange.example.com[6001,print,seal]"},
		{"ncacn_ip_tcp:fd00::1[135]", "ncacn_ip_tcp:fd00::1[135]"},
		{"ncacn_ip_tcp:::1", "ncacn_ip_tcp:::1"},
		{"ncacn_ip_tcp:h[]", "ncacn_ip_tcp:h"},
		{"A4F1DB00-CA47-1067-B31F-00DD010662DA@ncacn_ip_tcp:10.0.0.1[sign]",
		 "a4f1db00-ca47-1067-b31f-00dd010662da@ncacn_ip_tcp:10.0.0.1[sign]"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mp_binding b = parse_ok(cases[i].in);
		char out[512];
		mp_binding_format(&b, out, sizeof(out));
		assert_string_equal(out, cases[i].out);
		/* Round trip: the canonical form parses to the same binding. */
		struct mp_binding b2 = parse_ok(out);
		assert_int_equal(b2.has_object, b.has_object);
		assert_memory_equal(b2.object.b, b.object.b, 16);
		assert_string_equal(b2.transport, b.transport);
		assert_string_equal(b2.host, b.host);
		assert_int_equal(b2.port, b.port);
		assert_int_equal(b2.flags, b.flags);
	}
}

static void test_format_all_flags_and_truncation(void **state)
{
	struct mp_binding b = parse_ok("ncacn_ip_tcp:h[65535,print,sign,seal,connect,ntlm,spnego,"
				       "krb5,ndr64,padcheck,validate,bigendian]");
	char out[512];
	mp_binding_format(&b, out, sizeof(out));
	assert_string_equal(out, "ncacn_ip_tcp:h[65535,print,sign,seal,connect,ntlm,spnego,krb5,"
				 "ndr64,padcheck,validate,bigendian]");
	/* A small output buffer truncates but stays NUL-terminated. */
	char small[16];
	memset(small, 'x', sizeof(small));
	mp_binding_format(&b, small, sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, "ncacn_ip_tcp:h[", 15);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_only),
		cmocka_unit_test(test_port),
		cmocka_unit_test(test_flag_only),
		cmocka_unit_test(test_port_and_flags),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_object_uuid),
		cmocka_unit_test(test_transport_case_insensitive),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_long_host),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_all_flags_and_truncation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
