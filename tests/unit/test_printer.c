/* Unit tests: util/printer (text tree and JSON output of decoded structures). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/printer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* A strict RFC 8259 validator (recursive descent), so every JSON output
 * of these tests is checked by a parser rather than by eye.            */
/* ------------------------------------------------------------------ */

struct jv {
	const unsigned char *s;
	size_t n, i;
	int depth;
	int max_depth; /* deepest nesting seen */
};

static void jws(struct jv *v)
{
	while (v->i < v->n && (v->s[v->i] == ' ' || v->s[v->i] == '\t' || v->s[v->i] == '\n' ||
			       v->s[v->i] == '\r'))
		v->i++;
}

static bool jlit(struct jv *v, const char *lit)
{
	size_t l = strlen(lit);
	if (v->n - v->i < l || memcmp(v->s + v->i, lit, l) != 0)
		return false;
	v->i += l;
	return true;
}

static bool jdigits(struct jv *v)
{
	size_t start = v->i;
	while (v->i < v->n && v->s[v->i] >= '0' && v->s[v->i] <= '9')
		v->i++;
	return v->i > start;
}

static bool jnumber(struct jv *v)
{
	if (v->i < v->n && v->s[v->i] == '-')
		v->i++;
	if (v->i < v->n && v->s[v->i] == '0')
		v->i++;
	else if (!jdigits(v))
		return false;
	if (v->i < v->n && v->s[v->i] == '.') {
		v->i++;
		if (!jdigits(v))
			return false;
	}
	if (v->i < v->n && (v->s[v->i] == 'e' || v->s[v->i] == 'E')) {
		v->i++;
		if (v->i < v->n && (v->s[v->i] == '+' || v->s[v->i] == '-'))
			v->i++;
		if (!jdigits(v))
			return false;
	}
	return true;
}

static bool jhex4(struct jv *v, unsigned *out)
{
	unsigned x = 0;
	for (int k = 0; k < 4; k++, v->i++) {
		if (v->i >= v->n)
			return false;
		unsigned char c = v->s[v->i];
		x <<= 4;
		if (c >= '0' && c <= '9')
			x |= c - '0';
		else if (c >= 'a' && c <= 'f')
			x |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			x |= c - 'A' + 10;
		else
			return false;
	}
	*out = x;
	return true;
}

/* Strings must be well-formed UTF-8 with no raw control characters. */
static bool jstring(struct jv *v)
{
	if (v->i >= v->n || v->s[v->i] != '"')
		return false;
	v->i++;
	while (v->i < v->n) {
		unsigned char c = v->s[v->i];
		if (c == '"') {
			v->i++;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c == '\\') {
			v->i++;
			if (v->i >= v->n)
				return false;
			c = v->s[v->i++];
			if (c == 'u') {
				unsigned u;
				if (!jhex4(v, &u))
					return false;
			} else if (!strchr("\"\\/bfnrt", c)) {
				return false;
			}
			continue;
		}
		if (c < 0x80) {
			v->i++;
			continue;
		}
		size_t need;
		unsigned char lo = 0x80, hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			need = 1;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
		else
			return false;
		v->i++;
		for (size_t k = 0; k < need; k++, v->i++) {
			if (v->i >= v->n || v->s[v->i] < lo || v->s[v->i] > hi)
				return false;
			lo = 0x80, hi = 0xbf;
		}
	}
	return false;
}

static bool jvalue(struct jv *v);

static bool jcontainer(struct jv *v, char open, char close, bool object)
{
	v->i++; /* open */
	if (++v->depth > v->max_depth)
		v->max_depth = v->depth;
	if (v->depth > 1000)
		return false;
	jws(v);
	if (v->i < v->n && v->s[v->i] == (unsigned char)close) {
		v->i++;
		v->depth--;
		return true;
	}
	for (;;) {
		jws(v);
		if (object) {
			if (!jstring(v))
				return false;
			jws(v);
			if (v->i >= v->n || v->s[v->i] != ':')
				return false;
			v->i++;
		}
		if (!jvalue(v))
			return false;
		jws(v);
		if (v->i >= v->n)
			return false;
		if (v->s[v->i] == ',') {
			v->i++;
			continue;
		}
		if (v->s[v->i] == (unsigned char)close) {
			v->i++;
			v->depth--;
			return true;
		}
		return false;
	}
	(void)open;
}

static bool jvalue(struct jv *v)
{
	jws(v);
	if (v->i >= v->n)
		return false;
	switch (v->s[v->i]) {
	case '{':
		return jcontainer(v, '{', '}', true);
	case '[':
		return jcontainer(v, '[', ']', false);
	case '"':
		return jstring(v);
	case 't':
		return jlit(v, "true");
	case 'f':
		return jlit(v, "false");
	case 'n':
		return jlit(v, "null");
	default:
		return jnumber(v);
	}
}

/* The whole text is exactly one JSON object; returns its nesting depth or -1. */
static int json_check(const char *s, size_t n)
{
	struct jv v = {(const unsigned char *)s, n, 0, 0, 0};
	jws(&v);
	if (v.i >= v.n || v.s[v.i] != '{')
		return -1;
	if (!jvalue(&v))
		return -1;
	jws(&v);
	return v.i == v.n ? v.max_depth : -1;
}

static void test_validator_rejects_bad_json(void **state)
{
	/* The validator itself must be able to fail. */
	static const char *bad[] = {
		"{", "{\"a\":}", "{\"a\":1,}", "{\"a\":01}", "{\"a\":\"\x01\"}",
		"{\"a\":\"\\x41\"}", "{\"a\":\"\xc0\x80\"}", "{\"a\":\"\xed\xa0\x80\"}",
		"{\"a\":[1 2]}", "{} {}", "{\"a\":nul}", "[1]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(json_check(bad[i], strlen(bad[i])), -1);
	static const char good[] = "{\"a\":[1,-2.5e3,{\"b\":\"\\u00e9\"}]}";
	assert_int_equal(json_check(good, strlen(good)), 3);
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static const char *out(struct mp_printer *p)
{
	size_t len;
	const char *s = mp_printer_output(p, &len);
	assert_int_equal(strlen(s), len);
	return s;
}

static void assert_json(struct mp_printer *p)
{
	size_t len;
	const char *s = mp_printer_output(p, &len);
	assert_int_equal(strlen(s), len);
	if (json_check(s, len) < 0)
		fail_msg("invalid JSON: %s", s);
}

/* A nested structure as a call decoder would describe it. */
static void describe_connect(struct mp_printer *p)
{
	static const uint16_t ver[3] = {12, 0, 4518};
	mp_pr_begin(p, "EcDoConnectEx");
	mp_pr_str(p, "szUserDN", "/o=First Organization/cn=Recipients/cn=jdoe");
	mp_pr_hex(p, "ulFlags", 0, 8);
	mp_pr_int(p, "lDelta", -60);
	mp_pr_begin_array(p, "rgwClientVersion", 3);
	for (int i = 0; i < 3; i++)
		mp_pr_uint(p, NULL, ver[i]);
	mp_pr_end_array(p);
	mp_pr_begin(p, "cxh");
	mp_pr_bool(p, "valid", true);
	mp_pr_end(p);
	mp_pr_end(p);
	mp_pr_uint(p, "ms", 3);
}

static void test_text_nested(void **state)
{
	struct mp_printer *p = mp_printer_new(MP_PRINT_TEXT);
	assert_non_null(p);
	assert_string_equal(out(p), "");
	describe_connect(p);
	assert_string_equal(out(p), "EcDoConnectEx\n"
				    "  szUserDN: \"/o=First Organization/cn=Recipients/cn=jdoe\"\n"
				    "  ulFlags: 0x00000000\n"
				    "  lDelta: -60\n"
				    "  rgwClientVersion: [3]\n"
				    "    [0]: 12\n"
				    "    [1]: 0\n"
				    "    [2]: 4518\n"
				    "  cxh\n"
				    "    valid: true\n"
				    "ms: 3\n");
	assert_false(mp_printer_failed(p));
	mp_printer_free(p);
}

static void test_json_nested(void **state)
{
	struct mp_printer *p = mp_printer_new(MP_PRINT_JSON);
	assert_non_null(p);
	assert_string_equal(out(p), "{}");
	describe_connect(p);
	assert_string_equal(out(p),
			    "{\"EcDoConnectEx\":{\"szUserDN\":\"/o=First Organization/cn=Recipients/"
			    "cn=jdoe\",\"ulFlags\":0,\"lDelta\":-60,\"rgwClientVersion\":[12,0,4518],"
			    "\"cxh\":{\"valid\":true}},\"ms\":3}");
	assert_json(p);
	mp_printer_free(p);
}

/* Named members of arrays (each ROP of a buffer) and arrays of structures. */
static void describe_rops(struct mp_printer *p)
{
	mp_pr_begin_array(p, "rops", 3);
	mp_pr_begin(p, "RopLogon");
	mp_pr_hex(p, "OutputHandleIndex", 0, 2);
	mp_pr_end(p);
	mp_pr_begin(p, NULL);
	mp_pr_uint(p, "x", 1);
	mp_pr_end(p);
	mp_pr_uint(p, "RopRelease", 1);
	mp_pr_end_array(p);
	mp_pr_begin_array(p, "empty", 0);
	mp_pr_end_array(p);
	mp_pr_begin_array(p, "unknown", SIZE_MAX);
	mp_pr_begin_array(p, NULL, 1);
	mp_pr_str(p, NULL, "in");
	mp_pr_end_array(p);
	mp_pr_end_array(p);
}

static void test_arrays_text(void **state)
{
	struct mp_printer *p = mp_printer_new(MP_PRINT_TEXT);
	describe_rops(p);
	assert_string_equal(out(p), "rops: [3]\n"
				    "  [0] RopLogon\n"
				    "    OutputHandleIndex: 0x00\n"
				    "  [1]\n"
				    "    x: 1\n"
				    "  [2] RopRelease: 1\n"
				    "empty: [0]\n"
				    "unknown: [?]\n"
				    "  [0]: [1]\n"
				    "    [0]: \"in\"\n");
	mp_printer_free(p);
}

static void test_arrays_json(void **state)
{
	struct mp_printer *p = mp_printer_new(MP_PRINT_JSON);
	describe_rops(p);
	assert_string_equal(out(p), "{\"rops\":[{\"RopLogon\":{\"OutputHandleIndex\":0}},{\"x\":1},"
				    "{\"RopRelease\":1}],\"empty\":[],\"unknown\":[[\"in\"]]}");
	assert_json(p);
	mp_printer_free(p);
}

static void test_scalars(void **state)
{
	static const struct mp_flag_name fl[] = {
		{0x1, "A"}, {0x2, "B"}, {0x8, "D"}, {0, NULL},
	};
	struct mp_printer *t = mp_printer_new(MP_PRINT_TEXT);
	struct mp_printer *j = mp_printer_new(MP_PRINT_JSON);
	struct mp_printer *both[2] = {t, j};
	for (int i = 0; i < 2; i++) {
		struct mp_printer *p = both[i];
		mp_pr_uint(p, "max", UINT64_MAX);
		mp_pr_int(p, "min", INT64_MIN);
		mp_pr_hex(p, "h", 0x2a, 0);
		mp_pr_hex(p, "h4", 0x2a, 4);
		mp_pr_bool(p, "no", false);
		mp_pr_double(p, "d", 0.1);
		mp_pr_double(p, "nan", 0.0 / 0.0);
		mp_pr_enum(p, "known", 2, 2, "OpenSoftDeleted");
		mp_pr_enum(p, "unknown", 0x77, 2, NULL);
		mp_pr_flags(p, "f", 0x13, 8, fl);
		mp_pr_flags(p, "none", 0, 8, fl);
		mp_pr_str(p, "null", NULL);
	}
	assert_string_equal(out(t), "max: 18446744073709551615\n"
				    "min: -9223372036854775808\n"
				    "h: 0x2a\n"
				    "h4: 0x002a\n"
				    "no: false\n"
				    "d: 0.1\n"
				    "nan: nan\n"
				    "known: OpenSoftDeleted (0x02)\n"
				    "unknown: 0x77\n"
				    "f: 0x00000013 (A|B|0x10)\n"
				    "none: 0x00000000\n"
				    "null: null\n");
	assert_string_equal(out(j), "{\"max\":18446744073709551615,\"min\":-9223372036854775808,"
				    "\"h\":42,\"h4\":42,\"no\":false,\"d\":0.1,\"nan\":null,"
				    "\"known\":\"OpenSoftDeleted\",\"unknown\":119,\"f\":19,"
				    "\"none\":0,\"null\":null}");
	assert_json(j);
	mp_printer_free(t);
	mp_printer_free(j);
}

static void test_escaping(void **state)
{
	/* quote, backslash, newline, tab, 0x01, DEL, e-acute, U+1F600 */
	static const char s[] = "a\"b\\c\nd\te\x01" "f\x7fg\xc3\xa9h\xf0\x9f\x98\x80";
	struct mp_printer *t = mp_printer_new(MP_PRINT_TEXT);
	struct mp_printer *j = mp_printer_new(MP_PRINT_JSON);
	mp_pr_str(t, "s", s);
	mp_pr_str(j, "s", s);
	assert_string_equal(out(t),
			    "s: \"a\\\"b\\\\c\\x0ad\\x09e\\x01f\\x7fg\xc3\xa9h\xf0\x9f\x98\x80\"\n");
	assert_string_equal(out(j),
			    "{\"s\":\"a\\\"b\\\\c\\nd\\te\\u0001f\x7fg\xc3\xa9h\xf0\x9f\x98\x80\"}");
	assert_json(j);
	/* Embedded NUL counts with strn; names are escaped in JSON too. */
	mp_printer_reset(t);
	mp_printer_reset(j);
	mp_pr_strn(t, "n", "x\0y", 3);
	mp_pr_strn(j, "we\"ird\n", "x\0y", 3);
	assert_string_equal(out(t), "n: \"x\\x00y\"\n");
	assert_string_equal(out(j), "{\"we\\\"ird\\n\":\"x\\u0000y\"}");
	assert_json(j);
	mp_printer_free(t);
	mp_printer_free(j);
}

static void test_invalid_utf8(void **state)
{
	/* Lone continuation, truncated 3-byte, overlong, surrogate, >U+10FFFF,
	 * 0xF5, truncated 4-byte at the very end. */
	static const char s[] = "\x80|\xe2\x82|\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xf5|\xf0\x9f\x98";
	struct mp_printer *t = mp_printer_new(MP_PRINT_TEXT);
	struct mp_printer *j = mp_printer_new(MP_PRINT_JSON);
	mp_pr_str(t, "s", s);
	mp_pr_str(j, "s", s);
	/* Text: every byte that was sent, visible. */
	assert_string_equal(out(t), "s: \"\\x80|\\xe2\\x82|\\xc0\\xaf|\\xed\\xa0\\x80|"
				    "\\xf4\\x90\\x80\\x80|\\xf5|\\xf0\\x9f\\x98\"\n");
	/* JSON: one U+FFFD per maximal ill-formed subpart (Unicode 3.9). */
#define R "\xef\xbf\xbd"
	assert_string_equal(out(j), "{\"s\":\"" R "|" R "|" R R "|" R R R "|" R R R R "|" R "|" R
				    "\"}");
#undef R
	assert_json(j);
	mp_printer_free(t);
	mp_printer_free(j);
}

static void test_utf16(void **state)
{
	/* "Hé" + U+1F600 as a surrogate pair + lone high + lone low + odd byte */
	static const uint8_t le[] = {'H', 0, 0xe9, 0, 0x3d, 0xd8, 0x00, 0xde, 0x3d, 0xd8,
				     'x', 0,   0x00, 0xde, '"', 0,   0x0a, 0,    0x41};
	struct mp_printer *t = mp_printer_new(MP_PRINT_TEXT);
	struct mp_printer *j = mp_printer_new(MP_PRINT_JSON);
	mp_pr_utf16(t, "u", le, sizeof(le));
	mp_pr_utf16(j, "u", le, sizeof(le));
	mp_pr_utf16(t, "e", le, 0);
	mp_pr_utf16(j, "e", NULL, 0);
#define R "\xef\xbf\xbd"
	assert_string_equal(out(t), "u: \"H\xc3\xa9\xf0\x9f\x98\x80" R "x" R "\\\"\\x0a" R "\"\n"
				    "e: \"\"\n");
	assert_string_equal(out(j), "{\"u\":\"H\xc3\xa9\xf0\x9f\x98\x80" R "x" R "\\\"\\n" R
				    "\",\"e\":null}");
#undef R
	assert_json(j);
	mp_printer_free(t);
	mp_printer_free(j);
}

static void test_redaction(void **state)
{
	struct mp_printer *t = mp_printer_new(MP_PRINT_TEXT);
	struct mp_printer *j = mp_printer_new(MP_PRINT_JSON);
	mp_pr_secret(t, "NtChallengeResponse", 24);
	mp_pr_secret(j, "NtChallengeResponse", 24);
	mp_pr_secret(t, "k", 1);
	assert_string_equal(out(t), "NtChallengeResponse: <redacted, 24 bytes>\n"
				    "k: <redacted, 1 byte>\n");
	assert_string_equal(out(j), "{\"NtChallengeResponse\":\"<redacted, 24 bytes>\"}");
	assert_json(j);
	mp_printer_free(t);
	mp_printer_free(j);
}

static void test_bytes_truncation(void **state)
{
	uint8_t b[100];
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(0xa0 + i);
	struct mp_printer *t = mp_printer_new(MP_PRINT_TEXT);
	mp_printer_set_max_bytes(t, 4);
	mp_pr_bytes(t, "cut", b, sizeof(b));
	mp_pr_bytes(t, "fits", b, 4);
	mp_pr_bytes(t, "empty", b, 0);
	assert_string_equal(out(t), "cut: a0a1a2a3... (96 more bytes)\n"
				    "fits: a0a1a2a3\n"
				    "empty: (empty)\n");
	/* Default max is 64 bytes. */
	mp_printer_free(t);
	t = mp_printer_new(MP_PRINT_TEXT);
	mp_pr_bytes(t, NULL, b, sizeof(b));
	assert_non_null(strstr(out(t), "... (36 more bytes)\n"));
	assert_int_equal(strlen(out(t)), strlen("-: ") + 128 + strlen("... (36 more bytes)\n"));
	mp_printer_free(t);

	/* JSON carries every byte whatever the max. */
	struct mp_printer *j = mp_printer_new(MP_PRINT_JSON);
	mp_printer_set_max_bytes(j, 4);
	mp_pr_bytes(j, "b", b, sizeof(b));
	size_t len;
	const char *s = mp_printer_output(j, &len);
	assert_int_equal(len, strlen("{\"b\":\"\"}") + 200);
	assert_memory_equal(s, "{\"b\":\"a0a1a2a3a4", 16);
	assert_memory_equal(s + len - 6, "0203\"}", 6);
	assert_json(j);
	mp_printer_free(j);
}

static void test_guid_and_filetime(void **state)
{
	/* EMSMDB interface UUID in MS-DTYP wire layout. */
	static const uint8_t g[16] = {0x00, 0xdb, 0xf1, 0xa4, 0x47, 0xca, 0x67, 0x10,
				      0xb3, 0x1f, 0x00, 0xdd, 0x01, 0x06, 0x62, 0xda};
	struct mp_printer *t = mp_printer_new(MP_PRINT_TEXT);
	struct mp_printer *j = mp_printer_new(MP_PRINT_JSON);
	struct mp_printer *both[2] = {t, j};
	for (int i = 0; i < 2; i++) {
		mp_pr_guid(both[i], "g", g);
		mp_pr_filetime(both[i], "epoch", 116444736000000000ull);
		mp_pr_filetime(both[i], "zero", 0);
		mp_pr_filetime(both[i], "y2k", 125911584000000000ull + 1234567);
		/* The largest FILETIME Windows converts (MAXLONGLONG). */
		mp_pr_filetime(both[i], "max", 0x7fffffffffffffffull);
		mp_pr_filetime(both[i], "u64max", UINT64_MAX);
	}
	assert_string_equal(out(t), "g: {a4f1db00-ca47-1067-b31f-00dd010662da}\n"
				    "epoch: 1970-01-01T00:00:00Z (0x019db1ded53e8000)\n"
				    "zero: 1601-01-01T00:00:00Z (0x0000000000000000)\n"
				    "y2k: 2000-01-01T00:00:00.1234567Z (0x01bf53eb25801687)\n"
				    "max: +30828-09-14T02:48:05.4775807Z (0x7fffffffffffffff)\n"
				    "u64max: +60056-05-28T05:36:10.9551615Z (0xffffffffffffffff)\n");
	assert_string_equal(out(j), "{\"g\":\"{a4f1db00-ca47-1067-b31f-00dd010662da}\","
				    "\"epoch\":\"1970-01-01T00:00:00Z\","
				    "\"zero\":\"1601-01-01T00:00:00Z\","
				    "\"y2k\":\"2000-01-01T00:00:00.1234567Z\","
				    "\"max\":\"+30828-09-14T02:48:05.4775807Z\","
				    "\"u64max\":\"+60056-05-28T05:36:10.9551615Z\"}");
	assert_json(j);
	mp_printer_free(t);
	mp_printer_free(j);
}

/* 100 levels asked for, 64 kept; what follows the deep part prints normally. */
static void nest(struct mp_printer *p, int levels)
{
	for (int i = 0; i < levels; i++) {
		if (i % 2)
			mp_pr_begin_array(p, NULL, 1);
		else
			mp_pr_begin(p, i ? NULL : "o");
		mp_pr_uint(p, "d", (uint64_t)i);
	}
	for (int i = levels - 1; i >= 0; i--) {
		if (i % 2)
			mp_pr_end_array(p);
		else
			mp_pr_end(p);
	}
	mp_pr_str(p, "after", "ok");
}

static void test_deep_nesting(void **state)
{
	struct mp_printer *j = mp_printer_new(MP_PRINT_JSON);
	nest(j, 100);
	size_t len;
	const char *s = mp_printer_output(j, &len);
	/* top object + 64 levels + the {"d":63} member of the deepest array */
	assert_int_equal(json_check(s, len), 66);
	assert_non_null(strstr(s, "\"...\""));
	assert_null(strstr(s, "\"d\":64")); /* the 65th level is folded */
	assert_non_null(strstr(s, "\"d\":63"));
	assert_memory_equal(s + len - 15, "},\"after\":\"ok\"}", 15);

	struct mp_printer *t = mp_printer_new(MP_PRINT_TEXT);
	nest(t, 100);
	s = out(t);
	/* The 65th level, at 64 x 2 spaces, is one "..." */
	char deep[160];
	deep[0] = '\n';
	memset(deep + 1, ' ', 128);
	strcpy(deep + 129, "[1]: ...\n");
	assert_non_null(strstr(s, deep));
	assert_null(strstr(s, "   [2]"));
	assert_null(strstr(s, "d: 64"));
	assert_non_null(strstr(s, "\nafter: \"ok\"\n"));
	mp_printer_free(t);
	mp_printer_free(j);
}

static void test_unbalanced_and_reset(void **state)
{
	struct mp_printer *j = mp_printer_new(MP_PRINT_JSON);
	mp_pr_end(j); /* nothing open: ignored */
	mp_pr_begin(j, "a");
	mp_pr_begin_array(j, "b", 2);
	mp_pr_uint(j, NULL, 1);
	/* Output of a printer with open levels is closed anyway. */
	assert_string_equal(out(j), "{\"a\":{\"b\":[1]}}");
	assert_json(j);
	mp_pr_end_array(j);
	mp_pr_end(j);
	mp_pr_end(j);
	mp_pr_uint(j, "c", 2);
	assert_string_equal(out(j), "{\"a\":{\"b\":[1]},\"c\":2}");
	mp_printer_reset(j);
	assert_string_equal(out(j), "{}");
	mp_pr_uint(j, "x", 1);
	assert_string_equal(out(j), "{\"x\":1}");
	mp_printer_free(j);

	struct mp_printer *t = mp_printer_new(MP_PRINT_TEXT);
	mp_printer_set_indent(t, 4);
	mp_pr_begin(t, "s");
	mp_pr_uint(t, "v", 1);
	mp_pr_end(t);
	assert_string_equal(out(t), "    s\n      v: 1\n");
	mp_printer_reset(t);
	assert_string_equal(out(t), "");
	mp_printer_free(t);
}

/* Growth across many items: the buffer stays one valid document. */
static void test_large_output(void **state)
{
	struct mp_printer *j = mp_printer_new(MP_PRINT_JSON);
	char name[32];
	mp_pr_begin_array(j, "rows", 20000);
	for (int i = 0; i < 20000; i++) {
		mp_pr_begin(j, NULL);
		snprintf(name, sizeof(name), "row %d", i);
		mp_pr_str(j, "name", name);
		mp_pr_uint(j, "i", (uint64_t)i);
		mp_pr_end(j);
	}
	mp_pr_end_array(j);
	assert_false(mp_printer_failed(j));
	assert_json(j);
	size_t len;
	const char *s = mp_printer_output(j, &len);
	assert_true(len > 20000 * 20);
	assert_non_null(strstr(s, "{\"name\":\"row 19999\",\"i\":19999}]}"));
	mp_printer_free(j);
}

/* A bounded printer (the same path as an allocation failure): output stops
 * at the last complete item and stays valid, whatever comes after. */
static void test_limit_stops_cleanly(void **state)
{
	struct mp_printer *j = mp_printer_new(MP_PRINT_JSON);
	mp_printer_set_limit(j, 64);
	mp_pr_begin(j, "a");
	mp_pr_begin_array(j, "b", 100);
	int i;
	for (i = 0; i < 100 && !mp_printer_failed(j); i++)
		mp_pr_str(j, NULL, "0123456789");
	assert_true(mp_printer_failed(j));
	assert_true(i > 2 && i < 10);
	size_t len;
	const char *s = mp_printer_output(j, &len);
	char before[128];
	assert_true(len < sizeof(before));
	memcpy(before, s, len + 1);
	assert_json(j);
	/* Every item is whole: the array ends with a complete string. */
	assert_memory_equal(s + len - 6, "89\"]}}", 6);
	/* Later calls change nothing. */
	mp_pr_end_array(j);
	mp_pr_uint(j, "x", 1);
	mp_pr_begin(j, "y");
	mp_pr_end(j);
	mp_pr_end(j);
	assert_string_equal(out(j), before);
	/* A reset starts over. */
	mp_printer_reset(j);
	assert_false(mp_printer_failed(j));
	mp_pr_uint(j, "x", 1);
	assert_string_equal(out(j), "{\"x\":1}");
	mp_printer_free(j);

	struct mp_printer *t = mp_printer_new(MP_PRINT_TEXT);
	mp_printer_set_limit(t, 20);
	mp_pr_uint(t, "first", 1);	  /* 9 bytes */
	mp_pr_str(t, "second", "long value"); /* would pass 20 */
	mp_pr_uint(t, "third", 3);
	assert_true(mp_printer_failed(t));
	assert_string_equal(out(t), "first: 1\n");
	mp_printer_free(t);
}

/* A second, independent parser: Python's json module must read our output
 * and see the same strings (skipped when /usr/bin/python3 is missing). */
static void test_python_json_agrees(void **state)
{
	if (access("/usr/bin/python3", X_OK) != 0)
		skip();
	static const uint8_t le[] = {0x3d, 0xd8, 0x00, 0xde, 0x00, 0xdc, 'a', 0};
	struct mp_printer *j = mp_printer_new(MP_PRINT_JSON);
	mp_pr_str(j, "esc", "q\"b\\n\nt\tc\x01" "d\x7f");
	mp_pr_str(j, "bad", "\xff\xe2\x82z");
	mp_pr_utf16(j, "u16", le, sizeof(le));
	nest(j, 80);
	mp_pr_double(j, "d", 1e300);
	mp_pr_uint(j, "big", UINT64_MAX);
	size_t len;
	const char *s = mp_printer_output(j, &len);
	char path[] = "/tmp/mp-test-printer-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, len), (ssize_t)len);
	close(fd);
	char cmd[256];
	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1], \"rb\"));"
		 " print(ascii([d[\"esc\"], d[\"bad\"], d[\"u16\"], d[\"d\"], d[\"big\"]]))' %s",
		 path);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	char line[512] = "";
	char *got = fgets(line, sizeof(line), f);
	int rc = pclose(f);
	unlink(path);
	assert_non_null(got);
	assert_int_equal(rc, 0);
	assert_string_equal(line, "['q\"b\\\\n\\nt\\tc\\x01d\\x7f', '\\ufffd\\ufffdz', "
				  "'\\U0001f600\\ufffda', 1e+300, 18446744073709551615]\n");
	mp_printer_free(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validator_rejects_bad_json),
		cmocka_unit_test(test_text_nested),
		cmocka_unit_test(test_json_nested),
		cmocka_unit_test(test_arrays_text),
		cmocka_unit_test(test_arrays_json),
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_utf16),
		cmocka_unit_test(test_redaction),
		cmocka_unit_test(test_bytes_truncation),
		cmocka_unit_test(test_guid_and_filetime),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_unbalanced_and_reset),
		cmocka_unit_test(test_large_output),
		cmocka_unit_test(test_limit_stops_cleanly),
		cmocka_unit_test(test_python_json_agrees),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
