/* Unit tests: util/config (smb.conf-syntax configuration). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/config.h"
#include "util/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void parse_ok(struct mp_config *cfg, const char *text)
{
	char err[256] = "";
	int rc = mp_config_parse(cfg, "test.conf", text, strlen(text), err, sizeof(err));
	if (rc != MP_OK)
		fail_msg("parse failed: %s", err);
}

/* Parse must fail with MP_ERR_CONFIG and a message that starts "test.conf:<line>:". */
static void parse_fails_at(const char *text, size_t len, int line, const char *fragment)
{
	struct mp_config cfg;
	char err[256] = "";
	int rc = mp_config_parse(&cfg, "test.conf", text, len, err, sizeof(err));
	assert_int_equal(rc, MP_ERR_CONFIG);
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "test.conf:%d:", line);
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		fail_msg("message '%s' does not start with '%s'", err, prefix);
	if (fragment && !strstr(err, fragment))
		fail_msg("message '%s' lacks '%s'", err, fragment);
	/* On error the configuration is empty. */
	assert_int_equal(cfg.n_entries, 0);
	assert_null(mp_config_get(&cfg, "a"));
	mp_config_free(&cfg);
}

static void test_sections_and_global(void **state)
{
	struct mp_config cfg;
	parse_ok(&cfg, "early = 1\n"
		       "[global]\n"
		       "  server role = proxy\n"
		       "[Upstream Server]\n"
		       "  server role = other\n"
		       "  host = 10.0.0.1\n"
		       "[ global ]\n"
		       "  late = 2\n");
	/* Lines before any header belong to [global]. */
	assert_string_equal(mp_config_get(&cfg, "early"), "1");
	assert_string_equal(mp_config_get(&cfg, "server role"), "proxy");
	assert_string_equal(mp_config_get(&cfg, "late"), "2");
	/* mp_config_get only looks in [global]. */
	assert_null(mp_config_get(&cfg, "host"));
	assert_int_equal(cfg.n_entries, 5);
	const struct mp_config_entry *e = &cfg.entries[2];
	assert_string_equal(e->section, "upstreamserver");
	assert_string_equal(e->key, "serverrole");
	assert_string_equal(e->value, "other");
	assert_int_equal(e->line, 5);
	assert_string_equal(cfg.entries[3].value, "10.0.0.1");
	assert_string_equal(cfg.entries[0].section, "global");
	assert_string_equal(cfg.entries[4].section, "global");
	assert_string_equal(cfg.path, "test.conf");
	mp_config_free(&cfg);
}

static void test_comments_and_blanks(void **state)
{
	struct mp_config cfg;
	parse_ok(&cfg, "; a comment\n"
		       "# another = comment\n"
		       "\n"
		       "   \t \n"
		       "   ; indented comment\n"
		       "\t# indented hash\n"
		       "key = value\n");
	assert_int_equal(cfg.n_entries, 1);
	assert_string_equal(mp_config_get(&cfg, "key"), "value");
	assert_int_equal(cfg.entries[0].line, 7);
	assert_null(mp_config_get(&cfg, "another"));
	mp_config_free(&cfg);
}

static void test_keys_case_and_space_insensitive(void **state)
{
	struct mp_config cfg;
	parse_ok(&cfg, "Log Level = 3\n\tMax  Frag\tSize=4280\n");
	assert_string_equal(mp_config_get(&cfg, "loglevel"), "3");
	assert_string_equal(mp_config_get(&cfg, "log level"), "3");
	assert_string_equal(mp_config_get(&cfg, "LOG LEVEL"), "3");
	assert_string_equal(mp_config_get(&cfg, "l o g l e v e l"), "3");
	assert_string_equal(mp_config_get(&cfg, "max frag size"), "4280");
	assert_string_equal(cfg.entries[0].key, "loglevel");
	assert_string_equal(cfg.entries[1].key, "maxfragsize");
	char k[] = "  Max Frag\tSize ";
	mp_config_normalise_key(k);
	assert_string_equal(k, "maxfragsize");
	mp_config_free(&cfg);
}

static void test_later_value_wins(void **state)
{
	struct mp_config cfg;
	parse_ok(&cfg, "port = 1\nother = x\nPort = 2\n[s]\nport = 3\n");
	assert_string_equal(mp_config_get(&cfg, "port"), "2");
	const struct mp_config_entry *e = mp_config_find(&cfg, "PORT");
	assert_non_null(e);
	assert_int_equal(e->line, 3);
	assert_string_equal(mp_config_get_str(&cfg, "port", "d"), "2");
	assert_string_equal(mp_config_get_str(&cfg, "absent", "d"), "d");
	assert_null(mp_config_get_str(&cfg, "absent", NULL));
	assert_null(mp_config_find(&cfg, "absent"));
	mp_config_free(&cfg);
}

static void test_values_trimmed_and_kept(void **state)
{
	struct mp_config cfg;
	parse_ok(&cfg, "a =   spaced value  \t\nb=\nc = x = y\nd = ; not a comment\r\ne=1");
	assert_string_equal(mp_config_get(&cfg, "a"), "spaced value");
	assert_string_equal(mp_config_get(&cfg, "b"), "");
	assert_string_equal(mp_config_get(&cfg, "c"), "x = y");
	assert_string_equal(mp_config_get(&cfg, "d"), "; not a comment");
	/* The last line needs no newline. */
	assert_string_equal(mp_config_get(&cfg, "e"), "1");
	mp_config_free(&cfg);
}

static void test_crlf(void **state)
{
	struct mp_config cfg;
	parse_ok(&cfg, "[global]\r\nname = value\r\n; c\r\nother = 2\r\n");
	assert_string_equal(mp_config_get(&cfg, "name"), "value");
	assert_string_equal(mp_config_get(&cfg, "other"), "2");
	assert_int_equal(cfg.entries[1].line, 4);
	mp_config_free(&cfg);
}

static void test_continuation_lines(void **state)
{
	struct mp_config cfg;
	parse_ok(&cfg, "[global]\n"
		       "interfaces = exchange_emsmdb, \\\n"
		       "             exchange_nsp, \\\n"
		       "             exchange_ds_rfr\n"
		       "next = 1\n"
		       "crlf = a \\\r\n b\r\n");
	const struct mp_config_entry *e = mp_config_find(&cfg, "interfaces");
	assert_non_null(e);
	assert_int_equal(e->line, 2); /* the line the entry starts on */
	char **v = mp_config_split_list(e->value);
	assert_non_null(v);
	assert_string_equal(v[0], "exchange_emsmdb");
	assert_string_equal(v[1], "exchange_nsp");
	assert_string_equal(v[2], "exchange_ds_rfr");
	assert_null(v[3]);
	mp_strv_free(v);
	assert_int_equal(mp_config_find(&cfg, "next")->line, 5);
	v = mp_config_split_list(mp_config_get(&cfg, "crlf"));
	assert_string_equal(v[0], "a");
	assert_string_equal(v[1], "b");
	assert_null(v[2]);
	mp_strv_free(v);
	mp_config_free(&cfg);
}

static void test_error_after_continuation_reports_start_line(void **state)
{
	const char *text = "a = 1\n"
			   "broken \\\n"
			   "  line\n";
	parse_fails_at(text, strlen(text), 2, "key = value");
}

static void test_get_bool(void **state)
{
	struct mp_config cfg;
	parse_ok(&cfg, "a = yes\nb = No\nc = TRUE\nd = false\ne = on\nf = off\ng = 1\nh = 0\n"
		       "bad = maybe\n");
	static const struct {
		const char *key;
		bool want;
	} cases[] = {{"a", true},  {"b", false}, {"c", true}, {"d", false},
		     {"e", true},  {"f", false}, {"g", true}, {"h", false}};
	char err[256];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool v = !cases[i].want;
		assert_int_equal(mp_config_get_bool(&cfg, cases[i].key, !cases[i].want, &v, err,
						    sizeof(err)),
				 MP_OK);
		assert_int_equal(v, cases[i].want);
	}
	bool v = false;
	assert_int_equal(mp_config_get_bool(&cfg, "absent", true, &v, err, sizeof(err)), MP_OK);
	assert_true(v);
	err[0] = '\0';
	assert_int_equal(mp_config_get_bool(&cfg, "bad", false, &v, err, sizeof(err)),
			 MP_ERR_CONFIG);
	assert_non_null(strstr(err, "test.conf:9"));
	assert_non_null(strstr(err, "maybe"));
	assert_false(v); /* the default */
	/* NULL error buffer is allowed. */
	assert_int_equal(mp_config_get_bool(&cfg, "bad", false, &v, NULL, 0), MP_ERR_CONFIG);
	mp_config_free(&cfg);
}

static void test_get_uint(void **state)
{
	struct mp_config cfg;
	parse_ok(&cfg, "plain = 4280\n"
		       "kilo = 64k\n"
		       "kilo2 = 2K\n"
		       "mega = 16M\n"
		       "mega2 = 1m\n"
		       "hex = 0x10\n"
		       "zero = 0\n"
		       "big = 100\n"
		       "neg = -1\n"
		       "junk = 12abc\n"
		       "empty =\n"
		       "huge = 99999999999999999999999999\n"
		       "hugek = 99999999999999999k\n"
		       "twok = 5k\n"
		       "suffixjunk = 5kb\n"
		       "barek = k\n"
		       "barem = M\n"
		       "wrapk = 18014398509481984k\n"
		       "wrapm = 17592186044416M\n");
	char err[256];
	unsigned long v;
	assert_int_equal(mp_config_get_uint(&cfg, "plain", 0, 0, 100000, &v, err, sizeof(err)), MP_OK);
	assert_int_equal(v, 4280);
	assert_int_equal(mp_config_get_uint(&cfg, "kilo", 0, 0, 1ul << 30, &v, err, sizeof(err)), MP_OK);
	assert_int_equal(v, 65536);
	assert_int_equal(mp_config_get_uint(&cfg, "kilo2", 0, 0, 1ul << 30, &v, err, sizeof(err)), MP_OK);
	assert_int_equal(v, 2048);
	assert_int_equal(mp_config_get_uint(&cfg, "mega", 0, 0, 1ul << 30, &v, err, sizeof(err)), MP_OK);
	assert_int_equal(v, 16ul << 20);
	assert_int_equal(mp_config_get_uint(&cfg, "mega2", 0, 0, 1ul << 30, &v, err, sizeof(err)), MP_OK);
	assert_int_equal(v, 1ul << 20);
	assert_int_equal(mp_config_get_uint(&cfg, "hex", 0, 0, 100, &v, err, sizeof(err)), MP_OK);
	assert_int_equal(v, 16);
	assert_int_equal(mp_config_get_uint(&cfg, "zero", 5, 0, 100, &v, err, sizeof(err)), MP_OK);
	assert_int_equal(v, 0);
	/* absent: the default, whatever the range */
	assert_int_equal(mp_config_get_uint(&cfg, "absent", 77, 0, 10, &v, err, sizeof(err)), MP_OK);
	assert_int_equal(v, 77);

	/* Range errors name file:line and the bounds, and leave the default. */
	err[0] = '\0';
	assert_int_equal(mp_config_get_uint(&cfg, "big", 7, 0, 50, &v, err, sizeof(err)),
			 MP_ERR_CONFIG);
	assert_int_equal(v, 7);
	assert_non_null(strstr(err, "test.conf:8"));
	assert_non_null(strstr(err, "50"));
	assert_int_equal(mp_config_get_uint(&cfg, "big", 7, 101, 200, &v, err, sizeof(err)),
			 MP_ERR_CONFIG);
	assert_non_null(strstr(err, "test.conf:8"));
	assert_int_equal(mp_config_get_uint(&cfg, "twok", 0, 0, 4096, &v, err, sizeof(err)),
			 MP_ERR_CONFIG);
	assert_non_null(strstr(err, "test.conf:14"));
	assert_int_equal(mp_config_get_uint(&cfg, "hugek", 0, 0, 1ul << 30, &v, err, sizeof(err)),
			 MP_ERR_CONFIG);
	assert_non_null(strstr(err, "test.conf:13"));

	/* Not numbers. */
	/* A multiplied value that does not fit an unsigned long is out of range even
	 * when the caller allows the whole type (it must not wrap to a small number). */
	assert_int_equal(mp_config_get_uint(&cfg, "wrapk", 1, 0, ~0ul, &v, err, sizeof(err)),
			 MP_ERR_CONFIG);
	assert_int_equal(v, 1);
	assert_non_null(strstr(err, "test.conf:18"));
	assert_int_equal(mp_config_get_uint(&cfg, "wrapm", 1, 0, ~0ul, &v, err, sizeof(err)),
			 MP_ERR_CONFIG);
	assert_int_equal(v, 1);

	static const char *const bad[] = {"neg", "junk", "empty", "huge", "suffixjunk", "barek",
					  "barem"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (mp_config_get_uint(&cfg, bad[i], 1, 0, ~0ul, &v, err, sizeof(err)) !=
		    MP_ERR_CONFIG)
			fail_msg("'%s' accepted as %lu", bad[i], v);
		assert_non_null(strstr(err, "test.conf:"));
		assert_int_equal(v, 1);
	}
	mp_config_free(&cfg);
}

static void test_split_list(void **state)
{
	char **v = mp_config_split_list("a, b,c  d\te,,f");
	assert_non_null(v);
	const char *want[] = {"a", "b", "c", "d", "e", "f"};
	for (size_t i = 0; i < 6; i++)
		assert_string_equal(v[i], want[i]);
	assert_null(v[6]);
	mp_strv_free(v);

	v = mp_config_split_list("");
	assert_non_null(v);
	assert_null(v[0]);
	mp_strv_free(v);

	v = mp_config_split_list(" , ,\t, ");
	assert_non_null(v);
	assert_null(v[0]);
	mp_strv_free(v);

	/* Enough items to grow the array several times. */
	char buf[1024] = "";
	for (int i = 0; i < 50; i++) {
		char item[16];
		snprintf(item, sizeof(item), "%sitem%d", i ? "," : "", i);
		strcat(buf, item);
	}
	v = mp_config_split_list(buf);
	assert_non_null(v);
	for (int i = 0; i < 50; i++) {
		char item[16];
		snprintf(item, sizeof(item), "item%d", i);
		assert_string_equal(v[i], item);
	}
	assert_null(v[50]);
	mp_strv_free(v);
	mp_strv_free(NULL);
}

static void test_malformed_lines(void **state)
{
	const char *t1 = "[global]\na = 1\nthis line has no equals sign\n";
	parse_fails_at(t1, strlen(t1), 3, "this line");
	const char *t2 = "a = 1\n\n[unterminated\n";
	parse_fails_at(t2, strlen(t2), 3, "section");
	const char *t3 = "[]\n";
	parse_fails_at(t3, strlen(t3), 1, "section");
	const char *t4 = "a = 1\n  = value\n";
	parse_fails_at(t4, strlen(t4), 2, "empty");
	/* A section name longer than the parser holds. */
	char t5[300] = "x = 1\n[";
	memset(t5 + 7, 's', 200);
	strcpy(t5 + 207, "]\n");
	parse_fails_at(t5, strlen(t5), 2, "section");
}

static void test_nul_byte_rejected(void **state)
{
	static const char text[] = "a = 1\nb = x\0y\nc = 3\n";
	parse_fails_at(text, sizeof(text) - 1, 2, "NUL");
}

static void test_empty_input(void **state)
{
	struct mp_config cfg;
	assert_int_equal(mp_config_parse(&cfg, NULL, "", 0, NULL, 0), MP_OK);
	assert_int_equal(cfg.n_entries, 0);
	assert_string_equal(cfg.path, "<memory>");
	assert_null(mp_config_get(&cfg, "x"));
	mp_config_free(&cfg);
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/mp-test-config-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *text = "[global]\n  Log Level = debug\n  listen = 0.0.0.0:135\n  bad line\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);

	struct mp_config cfg;
	char err[512] = "";
	assert_int_equal(mp_config_load(&cfg, path, err, sizeof(err)), MP_ERR_CONFIG);
	char want[128];
	snprintf(want, sizeof(want), "%s:4:", path);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("message '%s' does not start with '%s'", err, want);
	mp_config_free(&cfg);

	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("[global]\n  Log Level = debug\n  listen = 0.0.0.0:135\n", fp);
	fclose(fp);
	assert_int_equal(mp_config_load(&cfg, path, err, sizeof(err)), MP_OK);
	assert_string_equal(mp_config_get(&cfg, "loglevel"), "debug");
	assert_string_equal(mp_config_get(&cfg, "listen"), "0.0.0.0:135");
	assert_string_equal(cfg.path, path);
	mp_config_free(&cfg);
	unlink(path);

	err[0] = '\0';
	assert_int_equal(mp_config_load(&cfg, "/nonexistent/dir/mapiproxy.conf", err, sizeof(err)),
			 MP_ERR_CONFIG);
	assert_non_null(strstr(err, "/nonexistent/dir/mapiproxy.conf"));
	mp_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sections_and_global),
		cmocka_unit_test(test_comments_and_blanks),
		cmocka_unit_test(test_keys_case_and_space_insensitive),
		cmocka_unit_test(test_later_value_wins),
		cmocka_unit_test(test_values_trimmed_and_kept),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_continuation_lines),
		cmocka_unit_test(test_error_after_continuation_reports_start_line),
		cmocka_unit_test(test_get_bool),
		cmocka_unit_test(test_get_uint),
		cmocka_unit_test(test_split_list),
		cmocka_unit_test(test_malformed_lines),
		cmocka_unit_test(test_nul_byte_rejected),
		cmocka_unit_test(test_empty_input),
		cmocka_unit_test(test_load_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
