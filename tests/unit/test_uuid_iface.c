/* Unit tests: dcerpc/uuid (wire form, text form, BTFN) and dcerpc/iface. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dcerpc/iface.h"
#include "dcerpc/uuid.h"
#include "util/status.h"

#include <string.h>

static void test_uuid_wire_byte_order(void **state)
{
	struct mp_uuid u;
	assert_int_equal(mp_uuid_parse("a4f1db00-ca47-1067-b31f-00dd010662da", &u), MP_OK);
	/* time_low, time_mid and time_hi little-endian; the rest as written. */
	const uint8_t want[16] = {0x00, 0xdb, 0xf1, 0xa4, 0x47, 0xca, 0x67, 0x10,
				  0xb3, 0x1f, 0x00, 0xdd, 0x01, 0x06, 0x62, 0xda};
	assert_memory_equal(u.b, want, 16);
}

static void test_uuid_round_trip(void **state)
{
	static const char *const texts[] = {
		"a4f1db00-ca47-1067-b31f-00dd010662da", "00000000-0000-0000-0000-000000000000",
		"ffffffff-ffff-ffff-ffff-ffffffffffff", "8a885d04-1ceb-11c9-9fe8-08002b104860",
		"12345778-1234-abcd-ef00-0123456789ac", "6cb71c2c-9812-4540-0300-000000000000",
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct mp_uuid u;
		char out[MP_UUID_STR_LEN];
		assert_int_equal(mp_uuid_parse(texts[i], &u), MP_OK);
		mp_uuid_format(&u, out);
		assert_string_equal(out, texts[i]);
	}
}

static void test_uuid_upper_case_formats_lower(void **state)
{
	struct mp_uuid a, b;
	char out[MP_UUID_STR_LEN];
	assert_int_equal(mp_uuid_parse("E1AF8308-5D1F-11C9-91A4-08002B14A0FA", &a), MP_OK);
	assert_int_equal(mp_uuid_parse("e1af8308-5d1f-11c9-91a4-08002b14a0fa", &b), MP_OK);
	assert_true(mp_uuid_equal(&a, &b));
	mp_uuid_format(&a, out);
	assert_string_equal(out, "e1af8308-5d1f-11c9-91a4-08002b14a0fa");
}

static void test_uuid_parse_errors(void **state)
{
	static const char *const bad[] = {
		"",
		"a4f1db00-ca47-1067-b31f-00dd010662d",   /* one short */
		"a4f1db00-ca47-1067-b31f-00dd010662daa", /* one long */
		"a4f1db00ca47-1067-b31f-00dd010662da0",  /* dash missing */
		"a4f1db00-ca47-1067-b31f_00dd010662da",  /* wrong separator */
		"a4f1db0g-ca47-1067-b31f-00dd010662da",  /* not hex */
		"a4f1db00-ca47-1067-b31f-00dd010662dz",
		"{a4f1db00-ca47-1067-b31f-00dd010662d}",
		"a4f1db00-ca47-1067-b31f-00dd0106 2da",
		"a4f1db00-ca4-71067-b31f-00dd010662da",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mp_uuid u;
		if (mp_uuid_parse(bad[i], &u) != MP_ERR_PARSE)
			fail_msg("'%s' was accepted", bad[i]);
	}
}

static void test_uuid_nil_and_equal(void **state)
{
	struct mp_uuid a, b;
	assert_int_equal(mp_uuid_parse("00000000-0000-0000-0000-000000000000", &a), MP_OK);
	assert_true(mp_uuid_is_nil(&a));
	assert_int_equal(mp_uuid_parse("00000000-0000-0000-0000-000000000001", &b), MP_OK);
	assert_false(mp_uuid_is_nil(&b));
	assert_false(mp_uuid_equal(&a, &b));
	struct mp_syntax s1 = {.uuid = b, .major = 1, .minor = 0};
	struct mp_syntax s2 = s1;
	assert_true(mp_syntax_equal(&s1, &s2));
	s2.minor = 1;
	assert_false(mp_syntax_equal(&s1, &s2));
	s2 = s1;
	s2.major = 2;
	assert_false(mp_syntax_equal(&s1, &s2));
}

static void check_syntax(const struct mp_syntax *s, const char *uuid, uint16_t major,
			 uint16_t minor)
{
	char out[MP_UUID_STR_LEN];
	mp_uuid_format(&s->uuid, out);
	assert_string_equal(out, uuid);
	assert_int_equal(s->major, major);
	assert_int_equal(s->minor, minor);
}

static void test_well_known_syntaxes(void **state)
{
	check_syntax(&mp_syntax_ndr20, "8a885d04-1ceb-11c9-9fe8-08002b104860", 2, 0);
	check_syntax(&mp_syntax_ndr64, "71710533-beba-4937-8319-b5dbef9ccc36", 1, 0);
	check_syntax(&mp_syntax_epmapper, "e1af8308-5d1f-11c9-91a4-08002b14a0fa", 3, 0);
}

static void test_btfn(void **state)
{
	struct mp_syntax s = {.major = 1, .minor = 0};
	uint16_t features = 0xffff;
	assert_int_equal(mp_uuid_parse("6cb71c2c-9812-4540-0300-000000000000", &s.uuid), MP_OK);
	assert_true(mp_syntax_is_btfn(&s, &features));
	assert_int_equal(features, 3); /* sec ctx multiplexing | keep conn on orphan */

	assert_int_equal(mp_uuid_parse("6cb71c2c-9812-4540-0100-000000000000", &s.uuid), MP_OK);
	assert_true(mp_syntax_is_btfn(&s, &features));
	assert_int_equal(features, 1);
	assert_true(mp_syntax_is_btfn(&s, NULL));

	/* The bitmask is the 16-bit little-endian value in bytes 8 and 9. */
	assert_int_equal(mp_uuid_parse("6cb71c2c-9812-4540-0201-000000000000", &s.uuid), MP_OK);
	assert_true(mp_syntax_is_btfn(&s, &features));
	assert_int_equal(features, 0x0102);

	assert_int_equal(mp_uuid_parse("6cb71c2c-9812-4540-0000-000000000000", &s.uuid), MP_OK);
	assert_true(mp_syntax_is_btfn(&s, &features));
	assert_int_equal(features, 0);

	/* Not BTFN: a non-zero tail, a different prefix, NDR itself. */
	assert_int_equal(mp_uuid_parse("6cb71c2c-9812-4540-0300-000000000001", &s.uuid), MP_OK);
	assert_false(mp_syntax_is_btfn(&s, &features));
	assert_int_equal(mp_uuid_parse("6cb71c2d-9812-4540-0300-000000000000", &s.uuid), MP_OK);
	assert_false(mp_syntax_is_btfn(&s, &features));
	assert_false(mp_syntax_is_btfn(&mp_syntax_ndr20, &features));
	assert_false(mp_syntax_is_btfn(&mp_syntax_ndr64, NULL));
}

static void test_iface_resolve_by_name(void **state)
{
	struct mp_syntax s;
	assert_int_equal(mp_iface_resolve("exchange_emsmdb", &s), MP_OK);
	check_syntax(&s, "a4f1db00-ca47-1067-b31f-00dd010662da", 0, 81);
	assert_int_equal(mp_iface_resolve("EXCHANGE_NSP", &s), MP_OK);
	check_syntax(&s, "f5cc5a18-4264-101a-8c59-08002b2f8426", 56, 0);
	assert_int_equal(mp_iface_resolve("samr", &s), MP_OK);
	check_syntax(&s, "12345778-1234-abcd-ef00-0123456789ac", 1, 0);
	assert_int_equal(mp_iface_resolve("epmapper", &s), MP_OK);
	assert_true(mp_syntax_equal(&s, &mp_syntax_epmapper));
	assert_int_equal(mp_iface_resolve("exchange_ds_rfr", &s), MP_OK);
	check_syntax(&s, "1544f5e0-613c-11d1-93df-00c04fd7bd09", 1, 0);
}

static void test_iface_table_consistent(void **state)
{
	/* Every table entry resolves by name and maps back to its own name. */
	size_t n = 0;
	for (const struct mp_iface *i = mp_ifaces; i->name; i++, n++) {
		struct mp_syntax s;
		assert_int_equal(mp_iface_resolve(i->name, &s), MP_OK);
		assert_int_equal(s.major, i->major);
		assert_int_equal(s.minor, i->minor);
		const char *name = mp_iface_name(&s);
		assert_non_null(name);
		assert_string_equal(name, i->name);
		for (const struct mp_iface *j = mp_ifaces; j != i; j++)
			if (strcmp(i->name, j->name) == 0 ||
			    (strcmp(i->uuid, j->uuid) == 0 && i->major == j->major))
				fail_msg("duplicate interface %s / %s", i->name, j->name);
	}
	assert_true(n >= 5);
	struct mp_syntax other = mp_syntax_ndr20;
	assert_null(mp_iface_name(&other));
	/* Same UUID, other version: not the named interface. */
	assert_int_equal(mp_iface_resolve("samr", &other), MP_OK);
	other.major = 2;
	assert_null(mp_iface_name(&other));
}

static void test_iface_resolve_by_uuid(void **state)
{
	struct mp_syntax s;
	assert_int_equal(mp_iface_resolve("a4f1db00-ca47-1067-b31f-00dd010662da", &s), MP_OK);
	check_syntax(&s, "a4f1db00-ca47-1067-b31f-00dd010662da", 0, 0);
	assert_int_equal(mp_iface_resolve("12345678-1234-abcd-ef00-0123456789ab/1.0", &s), MP_OK);
	check_syntax(&s, "12345678-1234-abcd-ef00-0123456789ab", 1, 0);
	assert_int_equal(mp_iface_resolve("12345678-1234-abcd-ef00-0123456789ab/4", &s), MP_OK);
	check_syntax(&s, "12345678-1234-abcd-ef00-0123456789ab", 4, 0);
	assert_int_equal(mp_iface_resolve("a4f1db00-ca47-1067-b31f-00dd010662da/0.81", &s), MP_OK);
	check_syntax(&s, "a4f1db00-ca47-1067-b31f-00dd010662da", 0, 81);
	assert_string_equal(mp_iface_name(&s), "exchange_emsmdb");
	assert_int_equal(mp_iface_resolve("a4f1db00-ca47-1067-b31f-00dd010662da/65535.65535", &s),
			 MP_OK);
	assert_int_equal(s.major, 65535);
	assert_int_equal(s.minor, 65535);
}

static void test_iface_resolve_errors(void **state)
{
	struct mp_syntax s;
	assert_int_equal(mp_iface_resolve("no_such_interface", &s), MP_ERR_NOTFOUND);
	assert_int_equal(mp_iface_resolve("", &s), MP_ERR_NOTFOUND);
	static const char *const bad[] = {
		"a4f1db00-ca47-1067-b31f-00dd010662dx",
		"a4f1db00-ca47-1067-b31f-00dd010662da/",
		"a4f1db00-ca47-1067-b31f-00dd010662da/1.",
		"a4f1db00-ca47-1067-b31f-00dd010662da/1.x",
		"a4f1db00-ca47-1067-b31f-00dd010662da/x",
		"a4f1db00-ca47-1067-b31f-00dd010662da/70000",
		"a4f1db00-ca47-1067-b31f-00dd010662da/1.70000",
		"a4f1db00-ca47-1067-b31f-00dd010662da/1.0.0",
		"a4f1db00-ca47-1067-b31f-00dd010662da 1.0",
		"a4f1db00-ca47-1067-b31f-00dd010662da:1.0",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (mp_iface_resolve(bad[i], &s) != MP_ERR_PARSE)
			fail_msg("'%s' was not refused with MP_ERR_PARSE", bad[i]);
}

static void test_status_names(void **state)
{
	assert_string_equal(mp_status_name(MP_OK), "MP_OK");
	assert_string_equal(mp_status_name(MP_ERR_PARSE), "MP_ERR_PARSE");
	assert_string_equal(mp_status_name(MP_ERR_NOTFOUND), "MP_ERR_NOTFOUND");
	assert_string_equal(mp_status_name(-1000), "MP_ERR_UNKNOWN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uuid_wire_byte_order),
		cmocka_unit_test(test_uuid_round_trip),
		cmocka_unit_test(test_uuid_upper_case_formats_lower),
		cmocka_unit_test(test_uuid_parse_errors),
		cmocka_unit_test(test_uuid_nil_and_equal),
		cmocka_unit_test(test_well_known_syntaxes),
		cmocka_unit_test(test_btfn),
		cmocka_unit_test(test_iface_resolve_by_name),
		cmocka_unit_test(test_iface_table_consistent),
		cmocka_unit_test(test_iface_resolve_by_uuid),
		cmocka_unit_test(test_iface_resolve_errors),
		cmocka_unit_test(test_status_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
