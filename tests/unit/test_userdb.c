/* Unit tests: auth/userdb (the NTLM server's user database). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "auth/ntlm_crypto.h"
#include "auth/userdb.h"
#include "util/status.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* [MS-NLMP] 4.2.2.1.2: NTOWFv1("Password"). */
static const uint8_t password_nt_hash[16] = {0xa4, 0xf4, 0x9c, 0x40, 0x65, 0x10, 0xbd, 0xca,
                                             0xb6, 0x82, 0x4e, 0xe7, 0xc3, 0x0f, 0xd8, 0x52};
#define PASSWORD_HEX "a4f49c406510bdcab6824ee7c30fd852"
#define H1 "00112233445566778899aabbccddeeff"
#define H2 "ffeeddccbbaa99887766554433221100"
#define H3 "0123456789abcdef0123456789abcdef"

static void hex16(const char *hex, uint8_t out[16])
{
	for (int i = 0; i < 16; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

static struct mp_userdb *parse_ok(const char *text)
{
	struct mp_userdb *db = NULL;
	char err[512] = "";
	int rc = mp_userdb_parse(&db, "users", text, strlen(text), err, sizeof(err));
	if (rc != MP_OK)
		fail_msg("parse failed (%s): %s", mp_status_name(rc), err);
	assert_non_null(db);
	return db;
}

/* Parsing must fail with `status` and a message starting "users:<line>:" containing `frag`. */
static void parse_fails_at(const char *text, size_t len, int status, int line, const char *frag)
{
	struct mp_userdb *db = (struct mp_userdb *)1;
	char err[512] = "";
	int rc = mp_userdb_parse(&db, "users", text, len, err, sizeof(err));
	if (rc != status)
		fail_msg("expected %s, got %s (%s)", mp_status_name(status), mp_status_name(rc),
		         err);
	assert_null(db);
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "users:%d:", line);
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		fail_msg("message '%s' does not start with '%s'", err, prefix);
	if (frag && !strstr(err, frag))
		fail_msg("message '%s' lacks '%s'", err, frag);
}

static void parse_fails_str(const char *text, int status, int line, const char *frag)
{
	parse_fails_at(text, strlen(text), status, line, frag);
}

static void expect_hash(const struct mp_userdb *db, const char *user, const char *domain,
                        const char *hex)
{
	uint8_t want[16], got[16];
	hex16(hex, want);
	int rc = mp_userdb_lookup(db, user, domain, got);
	if (rc != MP_OK)
		fail_msg("lookup %s / %s: %s", user, domain ? domain : "(null)", mp_status_name(rc));
	assert_memory_equal(got, want, 16);
}

static void expect_none(const struct mp_userdb *db, const char *user, const char *domain)
{
	uint8_t got[16];
	int rc = mp_userdb_lookup(db, user, domain, got);
	if (rc != MP_ERR_NOTFOUND)
		fail_msg("lookup %s / %s: expected MP_ERR_NOTFOUND, got %s", user,
		         domain ? domain : "(null)", mp_status_name(rc));
}

/* ---- a scratch directory ---------------------------------------------------- */

static char tmpdir[256];

static int setup_dir(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_userdb.XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	DIR *d = opendir(tmpdir);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.' && (!de->d_name[1] || de->d_name[1] == '.'))
				continue;
			char p[600];
			snprintf(p, sizeof(p), "%s/%s", tmpdir, de->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(tmpdir);
	return 0;
}

static void tmp_path(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", tmpdir, name);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static char *read_file(const char *path)
{
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	static char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return buf;
}

/* Names in the scratch directory other than `keep` (temporary files left behind). */
static int stray_files(const char *keep)
{
	int n = 0;
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && strcmp(de->d_name, keep) != 0 &&
		    !strstr(de->d_name, "link"))
			n++;
	closedir(d);
	return n;
}

/* ---- parsing and lookups ------------------------------------------------------ */

static void test_load_lookup(void **state)
{
	struct mp_userdb *db = parse_ok("# mapiproxy users\n"
	                                "\n"
	                                "CORP\\alice:" H1 ":\n"
	                                "bob:" H2 "\n" /* flags field optional */
	                                "  # indented comment\n"
	                                "carol:" H3 ":disabled\n");
	assert_int_equal(mp_userdb_count(db), 3);
	expect_hash(db, "alice", "CORP", H1);
	expect_hash(db, "bob", "", H2);
	expect_hash(db, "bob", NULL, H2);
	expect_hash(db, "bob", "ANYWHERE", H2);
	expect_none(db, "carol", "");
	expect_none(db, "dave", "");
	expect_none(db, "", "");
	expect_none(db, "alice", "OTHER");
	assert_null(mp_userdb_warning(db, 0));

	/* The mp_ntlm_lookup_fn adapter. */
	uint8_t h[16], want[16];
	hex16(H1, want);
	assert_int_equal(mp_userdb_lookup_cb(db, "alice", "corp", h), MP_OK);
	assert_memory_equal(h, want, 16);
	assert_int_equal(mp_userdb_lookup_cb(db, "x", "corp", h), MP_ERR_NOTFOUND);
	assert_int_equal(mp_userdb_lookup(NULL, "alice", "CORP", h), MP_ERR_NOTFOUND);
	assert_int_equal(mp_userdb_lookup(db, NULL, "CORP", h), MP_ERR_NOTFOUND);
	mp_userdb_free(db);
	mp_userdb_free(NULL);
}

static void test_case_insensitive(void **state)
{
	struct mp_userdb *db = parse_ok("Corp\\Alice:" H1 ":\n"
	                                "M\xc3\xbcller:" H2 ":\n"                  /* Müller */
	                                "\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd:" H3 ":\n" /* Иван */
	                                "stra\xc3\x9f" "e:" H1 ":\n");              /* straße */
	expect_hash(db, "alice", "corp", H1);
	expect_hash(db, "ALICE", "CORP", H1);
	expect_hash(db, "aLiCe", "cOrP", H1);
	/* Latin-1 and Cyrillic fold as NTOWFv2 folds them. */
	expect_hash(db, "M\xc3\x9cLLER", NULL, H2);   /* MÜLLER */
	expect_hash(db, "m\xc3\xbcller", NULL, H2);   /* müller */
	expect_hash(db, "\xd0\x98\xd0\x92\xd0\x90\xd0\x9d", NULL, H3); /* ИВАН */
	expect_hash(db, "\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd", NULL, H3); /* иван */
	/* No Unicode normalisation and no special casing: ß is not SS, and the
	 * decomposed u + U+0308 is not ü. */
	expect_hash(db, "STRA\xc3\x9f" "E", NULL, H1);
	expect_none(db, "STRASSE", NULL);
	expect_none(db, "mu\xcc\x88ller", NULL);
	/* Invalid UTF-8 never matches (and never crashes). */
	expect_none(db, "M\xc3", NULL);
	expect_none(db, "alice", "corp\xff");
	/* Case variants are the same entry: a second one is a duplicate. */
	parse_fails_str("alice:" H1 ":\nALICE:" H2 ":\n", MP_ERR_PARSE, 2, "line 1");
	parse_fails_at("m\xc3\xbcller:" H1 ":\nM\xc3\x9cLLER:" H2 ":\n",
	               strlen("m\xc3\xbcller:" H1 ":\nM\xc3\x9cLLER:" H2 ":\n"), MP_ERR_PARSE, 2,
	               "duplicate");
	mp_userdb_free(db);
}

static void test_domain_rules(void **state)
{
	struct mp_userdb *db = parse_ok("alice:" H1 ":\n"
	                                "CORP\\alice:" H2 ":\n"
	                                "LAB\\alice:" H3 ":disabled\n"
	                                "CORP\\bob:" H1 ":\n"
	                                "\\carol:" H2 ":\n"); /* explicit empty domain */
	/* The entry for the client's domain wins ... */
	expect_hash(db, "alice", "CORP", H2);
	expect_hash(db, "alice", "corp", H2);
	/* ... otherwise the any-domain entry. */
	expect_hash(db, "alice", "OTHER", H1);
	expect_hash(db, "alice", "", H1);
	expect_hash(db, "alice", NULL, H1);
	/* A disabled domain entry refuses; it does not fall back to the any-domain one. */
	expect_none(db, "alice", "LAB");
	/* A domain entry matches only its domain: not an empty or another domain. */
	expect_none(db, "bob", "");
	expect_none(db, "bob", NULL);
	expect_none(db, "bob", "CORP.EXAMPLE.COM");
	expect_hash(db, "bob", "Corp", H1);
	/* "\carol" is the any-domain entry. */
	expect_hash(db, "carol", "ANY", H2);
	struct mp_userdb_info info;
	assert_int_equal(mp_userdb_get(db, "carol", "", &info), MP_OK);
	assert_string_equal(info.domain, "");
	assert_int_equal(info.line, 5);
	/* A user whose name is a domain-looking string is just a name. */
	expect_none(db, "CORP\\alice", NULL);
	mp_userdb_free(db);

	/* "alice" and "\alice" are the same (any-domain) entry. */
	parse_fails_str("alice:" H1 ":\n\\alice:" H2 ":\n", MP_ERR_PARSE, 2, "duplicate");
	/* but "alice" and "CORP\alice" are not. */
	mp_userdb_free(parse_ok("alice:" H1 ":\nCORP\\alice:" H2 ":\n"));
}

static void test_disabled_and_flags(void **state)
{
	struct mp_userdb *db = parse_ok("a:" H1 ":disabled\n"
	                                "b:" H1 ":DISABLED\n"
	                                "c:" H1 ": disabled , future_flag \n"
	                                "d:" H1 ":future_flag\n"
	                                "e:" H1 ":\n"
	                                "f:" H1 ":disabled,disabled\n");
	expect_none(db, "a", NULL);
	expect_none(db, "b", NULL);
	expect_none(db, "c", NULL);
	expect_hash(db, "d", NULL, H1); /* an unknown flag does not disable */
	expect_hash(db, "e", NULL, H1);
	expect_none(db, "f", NULL);
	struct mp_userdb_info info;
	assert_int_equal(mp_userdb_get(db, "c", NULL, &info), MP_OK);
	assert_int_equal(info.flags, MP_USERDB_DISABLED);
	assert_string_equal(info.other_flags, "future_flag");
	assert_int_equal(mp_userdb_get(db, "e", NULL, &info), MP_OK);
	assert_string_equal(info.other_flags, "");
	/* Unknown flags are warnings naming file:line. */
	const char *w = mp_userdb_warning(db, 0);
	assert_non_null(w);
	assert_non_null(strstr(w, "users:3:"));
	assert_non_null(strstr(w, "future_flag"));
	assert_non_null(strstr(mp_userdb_warning(db, 1), "users:4:"));
	assert_null(mp_userdb_warning(db, 2));

	/* Enable / disable. */
	assert_int_equal(mp_userdb_set_disabled(db, "A", "", false), MP_OK);
	expect_hash(db, "a", NULL, H1);
	assert_int_equal(mp_userdb_set_disabled(db, "e", NULL, true), MP_OK);
	expect_none(db, "e", NULL);
	assert_int_equal(mp_userdb_set_disabled(db, "zz", NULL, true), MP_ERR_NOTFOUND);
	mp_userdb_free(db);

	parse_fails_str("a:" H1 ":disabled,\n", MP_ERR_PARSE, 1, "empty flag");
	parse_fails_str("a:" H1 ":,x\n", MP_ERR_PARSE, 1, "empty flag");
	parse_fails_str("a:" H1 ":dis abled\n", MP_ERR_PARSE, 1, "printable ASCII");
}

static void test_warnings(void **state)
{
	/* NTOWFv1("") = 31d6cfe0d16ae931b73c59d7e0c089c0. */
	struct mp_userdb *db = parse_ok("# x\nnopw:31D6CFE0D16AE931B73C59D7E0C089C0:\n");
	const char *w = mp_userdb_warning(db, 0);
	assert_non_null(w);
	assert_non_null(strstr(w, "users:2:"));
	assert_non_null(strstr(w, "empty password"));
	/* A warning never shows the hash. */
	assert_null(strcasestr(w, "31d6cfe0"));
	mp_userdb_free(db);

	/* Many warnings: at most MP_USERDB_MAX_WARNINGS kept, the last says there were more. */
	char text[8192] = "";
	for (int i = 0; i < 40; i++) {
		char line[80];
		snprintf(line, sizeof(line), "u%d:" H1 ":x\n", i);
		strcat(text, line);
	}
	db = parse_ok(text);
	size_t n = 0;
	while (mp_userdb_warning(db, n))
		n++;
	assert_int_equal(n, MP_USERDB_MAX_WARNINGS);
	assert_non_null(strstr(mp_userdb_warning(db, n - 1), "more warnings"));
	mp_userdb_free(db);
}

static void test_duplicates(void **state)
{
	const char *t = "# header\n"
	                "alice:" H1 ":\n"
	                "bob:" H2 ":\n"
	                "\n"
	                "alice:" H2 ":disabled\n";
	parse_fails_at(t, strlen(t), MP_ERR_PARSE, 5, "duplicate entry for alice (first at line 2");
	t = "CORP\\bob:" H1 ":\ncorp\\BOB:" H1 ":\n";
	parse_fails_at(t, strlen(t), MP_ERR_PARSE, 2, "line 1");
}

static void test_bad_hex(void **state)
{
	const char *t;
	t = "alice:" H1 "0:\n";
	parse_fails_at(t, strlen(t), MP_ERR_PARSE, 1, "32 hex digits, found 33");
	t = "# c\nalice:0011:\n";
	parse_fails_at(t, strlen(t), MP_ERR_PARSE, 2, "32 hex digits, found 4");
	t = "alice::\n";
	parse_fails_at(t, strlen(t), MP_ERR_PARSE, 1, "found 0");
	t = "alice:g0112233445566778899aabbccddeeff:\n";
	parse_fails_at(t, strlen(t), MP_ERR_PARSE, 1, "non-hex character at position 1");
	t = "alice:001122334455667788 9aabbccddeeff:\n";
	parse_fails_at(t, strlen(t), MP_ERR_PARSE, 1, "position 19");
	t = "alice:0x112233445566778899aabbccddeeff:\n";
	parse_fails_at(t, strlen(t), MP_ERR_PARSE, 1, "non-hex");
	/* The message never repeats the hash text. */
	struct mp_userdb *db;
	char err[512];
	t = "alice:00112233445566778899aabbccddeefZ:\n";
	assert_int_equal(mp_userdb_parse(&db, "users", t, strlen(t), err, sizeof(err)),
	                 MP_ERR_PARSE);
	assert_null(strstr(err, "0011223344"));
	/* Upper-case hex is fine. */
	db = parse_ok("alice:00112233445566778899AABBCCDDEEFF:\n");
	expect_hash(db, "alice", NULL, H1);
	mp_userdb_free(db);
}

static void test_bad_lines(void **state)
{
	const char *t;
	t = "alice\n";
	parse_fails_at(t, strlen(t), MP_ERR_PARSE, 1, "expected 'DOMAIN\\user:NTHASH:flags'");
	t = "alice:" H1 ":disabled:extra\n";
	parse_fails_at(t, strlen(t), MP_ERR_PARSE, 1, "too many ':'");
	t = ":" H1 ":\n";
	parse_fails_at(t, strlen(t), MP_ERR_PARSE, 1, "empty user name");
	t = "CORP\\:" H1 ":\n";
	parse_fails_at(t, strlen(t), MP_ERR_PARSE, 1, "empty user name");
	t = "CORP\\a\\b:" H1 ":\n";
	parse_fails_at(t, strlen(t), MP_ERR_PARSE, 1, "contains '\\'");
	t = "a\tb:" H1 ":\n";
	parse_fails_at(t, strlen(t), MP_ERR_PARSE, 1, "control character");
	t = "a\x7f" "b:" H1 ":\n";
	parse_fails_at(t, strlen(t), MP_ERR_PARSE, 1, "control character");
	t = "a\xc2\x85" "b:" H1 ":\n"; /* U+0085, a C1 control */
	parse_fails_at(t, strlen(t), MP_ERR_PARSE, 1, "control character");
	t = "\xef\xbb\xbf\xef\xbb\xbf" "a:" H1 ":\n"; /* a BOM, then U+FEFF in the name */
	parse_fails_at(t, strlen(t), MP_ERR_PARSE, 1, "control character");
	t = "\xff\xfe:" H1 ":\n";
	parse_fails_at(t, strlen(t), MP_ERR_PARSE, 1, "not valid UTF-8");
	t = "CORP\xc0\x80\\a:" H1 ":\n"; /* overlong NUL in the domain */
	parse_fails_at(t, strlen(t), MP_ERR_PARSE, 1, "domain is not valid UTF-8");
	t = "x\\#a:" H1 ":\n";
	parse_fails_at(t, strlen(t), MP_ERR_PARSE, 1, "starts with '#'");
	/* A NUL byte. */
	static const char nul[] = "a:" H1 ":\nb\0c:" H1 ":\n";
	parse_fails_at(nul, sizeof(nul) - 1, MP_ERR_PARSE, 2, "NUL byte");
	/* A user name of MP_USERDB_MAX_NAME bytes is fine, one more is not. */
	char line[600];
	memset(line, 'u', MP_USERDB_MAX_NAME);
	snprintf(line + MP_USERDB_MAX_NAME, sizeof(line) - MP_USERDB_MAX_NAME, ":" H1 ":\n");
	mp_userdb_free(parse_ok(line));
	memset(line, 'u', MP_USERDB_MAX_NAME + 1);
	snprintf(line + MP_USERDB_MAX_NAME + 1, sizeof(line) - MP_USERDB_MAX_NAME - 1,
	         ":" H1 ":\n");
	parse_fails_at(line, strlen(line), MP_ERR_PARSE, 1, "longer than 256 bytes");
}

static void test_whitespace_crlf_bom(void **state)
{
	const char *t = "\xef\xbb\xbf# BOM first\r\n"
	                "  CORP \\ alice  :  " H1 "  :  disabled  \r\n"
	                "\r\n"
	                "\t bob:" H2 ":\r\n"
	                "John Smith:" H3 ":"; /* no final newline; inner space kept */
	struct mp_userdb *db = parse_ok(t);
	assert_int_equal(mp_userdb_count(db), 3);
	struct mp_userdb_info info;
	assert_int_equal(mp_userdb_get(db, "alice", "CORP", &info), MP_OK);
	assert_string_equal(info.user, "alice");
	assert_string_equal(info.domain, "CORP");
	assert_int_equal(info.flags, MP_USERDB_DISABLED);
	assert_int_equal(info.line, 2);
	expect_hash(db, "bob", NULL, H2);
	expect_hash(db, "john smith", NULL, H3);
	expect_none(db, "JohnSmith", NULL);
	/* Written back: comments verbatim (CR dropped), entries canonical, LF ends. */
	char *text;
	size_t len;
	assert_int_equal(mp_userdb_format(db, &text, &len), MP_OK);
	assert_string_equal(text, "# BOM first\n"
	                          "CORP\\alice:" H1 ":disabled\n"
	                          "\n"
	                          "bob:" H2 ":\n"
	                          "John Smith:" H3 ":\n");
	assert_int_equal(len, strlen(text));
	mp_ntlm_wipe(text, len);
	free(text);
	mp_userdb_free(db);

	/* Empty input and only comments are valid, empty databases. */
	db = parse_ok("");
	assert_int_equal(mp_userdb_count(db), 0);
	mp_userdb_free(db);
	db = parse_ok("# nothing\n\n   \n");
	assert_int_equal(mp_userdb_count(db), 0);
	mp_userdb_free(db);
}

static void test_long_lines(void **state)
{
	/* Exactly MP_USERDB_MAX_LINE bytes (a comment) is fine; CR does not count. */
	char *t = malloc(4 * MP_USERDB_MAX_LINE);
	memset(t, '#', MP_USERDB_MAX_LINE);
	strcpy(t + MP_USERDB_MAX_LINE, "\r\nalice:" H1 ":\n");
	struct mp_userdb *db = parse_ok(t);
	expect_hash(db, "alice", NULL, H1);
	mp_userdb_free(db);
	/* One more byte is an error naming the line. */
	strcpy(t, "# ok\nalice:" H1 ":\n");
	size_t n = strlen(t);
	memset(t + n, '#', MP_USERDB_MAX_LINE + 1);
	strcpy(t + n + MP_USERDB_MAX_LINE + 1, "\n");
	parse_fails_at(t, strlen(t), MP_ERR_LIMIT, 3, "longer than 1024 bytes");
	/* Also the last line without a newline, and an entry line. */
	t[n + MP_USERDB_MAX_LINE + 1] = '\0';
	parse_fails_at(t, strlen(t), MP_ERR_LIMIT, 3, "longer than");
	strcpy(t, "alice:" H1 ":");
	n = strlen(t);
	memset(t + n, 'f', MP_USERDB_MAX_LINE);
	t[n + MP_USERDB_MAX_LINE] = '\0';
	parse_fails_at(t, strlen(t), MP_ERR_LIMIT, 1, "longer than");
	free(t);
}

static void test_max_users(void **state)
{
	/* MP_USERDB_MAX_USERS entries load, and every one is found (through the table). */
	size_t cap = (size_t)(MP_USERDB_MAX_USERS + 1) * 48;
	char *t = malloc(cap);
	size_t n = 0;
	for (int i = 0; i < MP_USERDB_MAX_USERS; i++)
		n += (size_t)snprintf(t + n, cap - n, "D%d\\user%d:" H1 ":\n", i % 7, i);
	char err[512] = "";
	struct mp_userdb *db;
	clock_t c0 = clock();
	assert_int_equal(mp_userdb_parse(&db, "users", t, n, err, sizeof(err)), MP_OK);
	assert_int_equal(mp_userdb_count(db), MP_USERDB_MAX_USERS);
	char u[32], d[8];
	uint8_t h[16];
	for (int i = 0; i < MP_USERDB_MAX_USERS; i++) {
		snprintf(u, sizeof(u), "USER%d", i);
		snprintf(d, sizeof(d), "d%d", i % 7);
		assert_int_equal(mp_userdb_lookup(db, u, d, h), MP_OK);
	}
	expect_none(db, "user1", "D2");
	double secs = (double)(clock() - c0) / CLOCKS_PER_SEC;
	/* A linear scan per lookup would take minutes here. */
	assert_true(secs < 20.0);
	/* The limit also holds for additions. */
	assert_int_equal(mp_userdb_add(db, "one-more", NULL, h, err, sizeof(err)), MP_ERR_LIMIT);
	assert_non_null(strstr(err, "100000"));
	mp_userdb_free(db);

	/* One more entry in the file is an error naming its line. */
	n += (size_t)snprintf(t + n, cap - n, "last:" H1 ":\n");
	db = (struct mp_userdb *)1;
	assert_int_equal(mp_userdb_parse(&db, "users", t, n, err, sizeof(err)), MP_ERR_LIMIT);
	assert_null(db);
	assert_non_null(strstr(err, "users:100001:"));
	assert_non_null(strstr(err, "100000 users"));
	free(t);
}

/* ---- files ------------------------------------------------------------------ */

static void test_file_mode(void **state)
{
	char path[512], err[512];
	struct mp_userdb *db;
	tmp_path(path, sizeof(path), "users");
	static const mode_t bad[] = {0644, 0640, 0604, 0660, 0606, 0610, 0601, 0700 | 0070};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(path, "alice:" H1 ":\n", bad[i]);
		db = (struct mp_userdb *)1;
		err[0] = '\0';
		assert_int_equal(mp_userdb_load(&db, path, err, sizeof(err)), MP_ERR_CONFIG);
		assert_null(db);
		assert_non_null(strstr(err, path));
		assert_non_null(strstr(err, "too open"));
		assert_non_null(strstr(err, "chmod 600"));
		/* allow_insecure_mode (tests) loads it anyway. */
		assert_int_equal(mp_userdb_load_ex(&db, path, true, err, sizeof(err)), MP_OK);
		expect_hash(db, "alice", NULL, H1);
		mp_userdb_free(db);
	}
	static const mode_t good[] = {0600, 0400, 0700};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		write_file(path, "alice:" H1 ":\n", good[i]);
		assert_int_equal(mp_userdb_load(&db, path, err, sizeof(err)), MP_OK);
		expect_hash(db, "alice", NULL, H1);
		mp_userdb_free(db);
	}
	/* Load errors carry the path and the line. */
	write_file(path, "# one\nalice:" H1 ":\nbad\n", 0600);
	assert_int_equal(mp_userdb_load(&db, path, err, sizeof(err)), MP_ERR_PARSE);
	char prefix[600];
	snprintf(prefix, sizeof(prefix), "%s:3:", path);
	assert_true(strncmp(err, prefix, strlen(prefix)) == 0);
	unlink(path);
}

static void test_missing_and_odd_files(void **state)
{
	char path[512], err[512];
	struct mp_userdb *db = (struct mp_userdb *)1;
	tmp_path(path, sizeof(path), "no-such-file");
	assert_int_equal(mp_userdb_load(&db, path, err, sizeof(err)), MP_ERR_NOTFOUND);
	assert_null(db);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "No such file"));
	/* A directory is not a user database. */
	assert_int_equal(mp_userdb_load(&db, tmpdir, err, sizeof(err)), MP_ERR_CONFIG);
	assert_non_null(strstr(err, "not a regular file"));
	/* Nor is a FIFO (and it must not block). */
	tmp_path(path, sizeof(path), "fifo");
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(mp_userdb_load(&db, path, err, sizeof(err)), MP_ERR_CONFIG);
	unlink(path);
	/* Unreadable: only meaningful when not root. */
	if (geteuid() != 0) {
		tmp_path(path, sizeof(path), "unreadable");
		write_file(path, "a:" H1 ":\n", 0200);
		assert_int_equal(mp_userdb_load(&db, path, err, sizeof(err)), MP_ERR_IO);
		unlink(path);
	}
}

static int collect(void *arg, const struct mp_userdb_info *info)
{
	char *out = arg;
	size_t l = strlen(out);
	snprintf(out + l, 1024 - l, "%s\\%s/%u/%s/%d;", info->domain, info->user, info->flags,
	         info->other_flags, info->line);
	return 0;
}

static int stop_at_second(void *arg, const struct mp_userdb_info *info)
{
	int *n = arg;
	return ++*n == 2 ? 42 : 0;
}

static void test_edit_save_roundtrip(void **state)
{
	char path[512], err[512];
	tmp_path(path, sizeof(path), "users");
	write_file(path,
	           "# Users of the proxy\n"
	           "CORP\\alice:" H1 ":future,disabled\n"
	           "\n"
	           "# bob is a service account\n"
	           "bob:" H2 ":\n"
	           "carol:" H3 ":\n",
	           0600);
	struct mp_userdb *db;
	assert_int_equal(mp_userdb_load(&db, path, err, sizeof(err)), MP_OK);

	uint8_t h[16];
	assert_int_equal(mp_ntlm_ntowfv1("Password", h), MP_OK);
	assert_int_equal(mp_userdb_add(db, "dave", "LAB", h, err, sizeof(err)), MP_OK);
	/* Existing entries (any case) cannot be added again. */
	assert_int_equal(mp_userdb_add(db, "DAVE", "lab", h, err, sizeof(err)), MP_ERR_CONFIG);
	assert_non_null(strstr(err, "LAB\\dave already exists"));
	assert_int_equal(mp_userdb_add(db, "Bob", NULL, h, err, sizeof(err)), MP_ERR_CONFIG);
	/* Bad names are refused. */
	assert_int_equal(mp_userdb_add(db, "a:b", NULL, h, err, sizeof(err)), MP_ERR_PARSE);
	assert_non_null(strstr(err, "':'"));
	assert_int_equal(mp_userdb_add(db, "", NULL, h, err, sizeof(err)), MP_ERR_PARSE);
	assert_int_equal(mp_userdb_add(db, " x", NULL, h, err, sizeof(err)), MP_ERR_PARSE);
	assert_int_equal(mp_userdb_add(db, "#x", NULL, h, err, sizeof(err)), MP_ERR_PARSE);
	assert_int_equal(mp_userdb_add(db, "x", "A\\B", h, err, sizeof(err)), MP_ERR_PARSE);
	assert_int_equal(mp_userdb_add(db, "x\n", NULL, h, err, sizeof(err)), MP_ERR_PARSE);
	/* Delete, re-add, change a hash. */
	assert_int_equal(mp_userdb_delete(db, "CAROL", ""), MP_OK);
	assert_int_equal(mp_userdb_delete(db, "carol", ""), MP_ERR_NOTFOUND);
	assert_int_equal(mp_userdb_delete(db, "alice", NULL), MP_ERR_NOTFOUND); /* exact domain */
	expect_none(db, "carol", NULL);
	assert_int_equal(mp_userdb_set_hash(db, "bob", NULL, h), MP_OK);
	assert_int_equal(mp_userdb_set_hash(db, "bob", "CORP", h), MP_ERR_NOTFOUND);
	assert_int_equal(mp_userdb_set_disabled(db, "alice", "corp", false), MP_OK);
	assert_int_equal(mp_userdb_count(db), 3);

	char order[1024] = "";
	assert_int_equal(mp_userdb_foreach(db, collect, order), 0);
	assert_string_equal(order, "CORP\\alice/0/future/2;\\bob/0//5;LAB\\dave/0//0;");
	int n = 0;
	assert_int_equal(mp_userdb_foreach(db, stop_at_second, &n), 42);

	/* Save over a file with a too-open mode: the result is 0600. */
	chmod(path, 0644);
	assert_int_equal(mp_userdb_save(db, path, err, sizeof(err)), MP_OK);
	mp_userdb_free(db);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stray_files("users"), 0);
	assert_string_equal(read_file(path), "# Users of the proxy\n"
	                                     "CORP\\alice:" H1 ":future\n"
	                                     "\n"
	                                     "# bob is a service account\n"
	                                     "bob:" PASSWORD_HEX ":\n"
	                                     "LAB\\dave:" PASSWORD_HEX ":\n");

	/* And back. */
	assert_int_equal(mp_userdb_load(&db, path, err, sizeof(err)), MP_OK);
	expect_hash(db, "alice", "CORP", H1);
	expect_hash(db, "bob", "ANY", PASSWORD_HEX);
	expect_hash(db, "dave", "lab", PASSWORD_HEX);
	expect_none(db, "carol", NULL);
	/* Re-adding a deleted user works and lands at the end. */
	assert_int_equal(mp_userdb_delete(db, "bob", NULL), MP_OK);
	assert_int_equal(mp_userdb_add(db, "bob", NULL, h, err, sizeof(err)), MP_OK);
	order[0] = '\0';
	mp_userdb_foreach(db, collect, order);
	assert_string_equal(order, "CORP\\alice/0/future/2;LAB\\dave/0//6;\\bob/0//0;");
	mp_userdb_free(db);
	mp_ntlm_wipe(h, sizeof(h));
	unlink(path);
}

static void test_new_file(void **state)
{
	char path[512], err[512];
	tmp_path(path, sizeof(path), "fresh");
	/* A permissive umask must not matter. */
	mode_t old = umask(0);
	struct mp_userdb *db;
	assert_int_equal(mp_userdb_new(&db), MP_OK);
	assert_int_equal(mp_userdb_count(db), 0);
	uint8_t h[16];
	hex16(H1, h);
	assert_int_equal(mp_userdb_add(db, "x", NULL, h, err, sizeof(err)), MP_OK);
	assert_int_equal(mp_userdb_save(db, path, err, sizeof(err)), MP_OK);
	umask(old);
	mp_userdb_free(db);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_string_equal(read_file(path), "x:" H1 ":\n");
	unlink(path);

	/* Saving into a missing directory fails with a message and leaves nothing. */
	char bad[600];
	snprintf(bad, sizeof(bad), "%s/no-dir/users", tmpdir);
	assert_int_equal(mp_userdb_new(&db), MP_OK);
	assert_int_equal(mp_userdb_save(db, bad, err, sizeof(err)), MP_ERR_IO);
	assert_non_null(strstr(err, "no-dir"));
	mp_userdb_free(db);
}

static void test_save_symlink(void **state)
{
	char path[512], link[512], err[512];
	tmp_path(path, sizeof(path), "real");
	tmp_path(link, sizeof(link), "link");
	write_file(path, "a:" H1 ":\n", 0600);
	unlink(link);
	assert_int_equal(symlink("real", link), 0);
	struct mp_userdb *db;
	assert_int_equal(mp_userdb_load(&db, link, err, sizeof(err)), MP_OK);
	assert_int_equal(mp_userdb_set_disabled(db, "a", NULL, true), MP_OK);
	assert_int_equal(mp_userdb_save(db, link, err, sizeof(err)), MP_OK);
	mp_userdb_free(db);
	struct stat st;
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_string_equal(read_file(path), "a:" H1 ":disabled\n");
	assert_int_equal(stray_files("real"), 0);
	unlink(link);
	unlink(path);
}

/* [MS-NLMP] 4.2.2.1.2: the NT hash of "Password", stored by add and found by lookup. */
static void test_password_vector(void **state)
{
	uint8_t h[16];
	assert_int_equal(mp_ntlm_ntowfv1("Password", h), MP_OK);
	assert_memory_equal(h, password_nt_hash, 16);
	struct mp_userdb *db;
	char err[256];
	assert_int_equal(mp_userdb_new(&db), MP_OK);
	assert_int_equal(mp_userdb_add(db, "User", "Domain", h, err, sizeof(err)), MP_OK);
	char *text;
	size_t len;
	assert_int_equal(mp_userdb_format(db, &text, &len), MP_OK);
	assert_string_equal(text, "Domain\\User:" PASSWORD_HEX ":\n");
	mp_userdb_free(db);
	db = parse_ok(text);
	mp_ntlm_wipe(text, len);
	free(text);
	uint8_t got[16];
	assert_int_equal(mp_userdb_lookup(db, "USER", "DOMAIN", got), MP_OK);
	assert_memory_equal(got, password_nt_hash, 16);
	mp_userdb_free(db);
}

static void test_check_name(void **state)
{
	char err[256];
	assert_int_equal(mp_userdb_check_name("alice@corp.example.com", false, err, sizeof(err)),
	                 MP_OK);
	assert_int_equal(mp_userdb_check_name("John Smith", false, err, sizeof(err)), MP_OK);
	assert_int_equal(mp_userdb_check_name("", true, err, sizeof(err)), MP_OK);
	assert_int_equal(mp_userdb_check_name(NULL, true, err, sizeof(err)), MP_OK);
	assert_int_equal(mp_userdb_check_name("", false, err, sizeof(err)), MP_ERR_PARSE);
	assert_int_equal(mp_userdb_check_name("a:b", true, err, sizeof(err)), MP_ERR_PARSE);
	assert_non_null(strstr(err, "domain"));
	assert_int_equal(mp_userdb_check_name("trailing ", false, err, sizeof(err)),
	                 MP_ERR_PARSE);
	assert_int_equal(mp_userdb_check_name("\xed\xa0\x80", false, err, sizeof(err)),
	                 MP_ERR_PARSE); /* a UTF-16 surrogate in UTF-8 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_lookup),
		cmocka_unit_test(test_case_insensitive),
		cmocka_unit_test(test_domain_rules),
		cmocka_unit_test(test_disabled_and_flags),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_bad_hex),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_whitespace_crlf_bom),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_max_users),
		cmocka_unit_test(test_file_mode),
		cmocka_unit_test(test_missing_and_odd_files),
		cmocka_unit_test(test_edit_save_roundtrip),
		cmocka_unit_test(test_new_file),
		cmocka_unit_test(test_save_symlink),
		cmocka_unit_test(test_password_vector),
		cmocka_unit_test(test_check_name),
	};
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
