/*
 * libFuzzer target: the user database parser (auth/userdb), and what the
 * daemon and mapiproxy-user do with a parsed database: lookups of every
 * entry in several spellings, editing, and the canonical text written back,
 * which must parse again to the same text. Nothing here touches files.
 */
#include "auth/ntlm_crypto.h"
#include "auth/userdb.h"
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

struct walk {
	const struct mp_userdb *db;
	size_t n;
	int last_line;
};

static void ascii_case_flip(char *s)
{
	for (; *s; s++)
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))
			*s ^= 0x20;
}

static int visit(void *arg, const struct mp_userdb_info *info)
{
	struct walk *w = arg;
	w->n++;
	/* Parsed entries come in file order with their line numbers. */
	check(info->line > w->last_line);
	w->last_line = info->line;
	check(info->user[0] != '\0');
	check((info->flags & ~MP_USERDB_DISABLED) == 0);
	check(mp_userdb_check_name(info->user, false, NULL, 0) == MP_OK);
	check(mp_userdb_check_name(info->domain, true, NULL, 0) == MP_OK);

	/* The entry is found under its own names, and under ASCII case variants. */
	uint8_t h1[MP_USERDB_HASH_LEN], h2[MP_USERDB_HASH_LEN];
	int rc = mp_userdb_lookup(w->db, info->user, info->domain, h1);
	bool disabled = info->flags & MP_USERDB_DISABLED;
	check(disabled ? rc == MP_ERR_NOTFOUND : rc == MP_OK);
	struct mp_userdb_info again;
	check(mp_userdb_get(w->db, info->user, info->domain, &again) == MP_OK);
	check(strcmp(again.user, info->user) == 0 && again.line == info->line);

	char user[MP_USERDB_MAX_NAME + 1], domain[MP_USERDB_MAX_NAME + 1];
	strcpy(user, info->user);
	strcpy(domain, info->domain);
	ascii_case_flip(user);
	ascii_case_flip(domain);
	check(mp_userdb_lookup(w->db, user, domain, h2) == rc);
	if (rc == MP_OK)
		check(memcmp(h1, h2, sizeof(h1)) == 0);
	/* An any-domain entry answers for a domain that has no entry of its own. */
	if (!info->domain[0] && !disabled &&
	    mp_userdb_get(w->db, info->user, "NO-SUCH-DOMAIN.FUZZ", &again) != MP_OK) {
		check(mp_userdb_lookup(w->db, info->user, "NO-SUCH-DOMAIN.FUZZ", h2) == MP_OK);
		check(memcmp(h1, h2, sizeof(h1)) == 0);
	}
	mp_ntlm_wipe(h1, sizeof(h1));
	return 0;
}

/* Canonical text of db; parses again to the same text. Returns the text (caller frees). */
static char *roundtrip(const struct mp_userdb *db, size_t *len)
{
	char *text;
	if (mp_userdb_format(db, &text, len) != MP_OK)
		return NULL;
	check(strlen(text) == *len);
	struct mp_userdb *db2;
	char err[512];
	int rc = mp_userdb_parse(&db2, "fuzz2", text, *len, err, sizeof(err));
	if (rc == MP_ERR_NOMEM) {
		free(text);
		return NULL;
	}
	check(rc == MP_OK);
	check(mp_userdb_count(db2) == mp_userdb_count(db));
	char *text2;
	size_t len2;
	if (mp_userdb_format(db2, &text2, &len2) == MP_OK) {
		check(len2 == *len && memcmp(text, text2, *len) == 0);
		free(text2);
	}
	mp_userdb_free(db2);
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 18)
		return 0;
	struct mp_userdb *db;
	char err[512];
	err[0] = '\0';
	int rc = mp_userdb_parse(&db, "fuzz", (const char *)data, size, err, sizeof(err));
	if (rc != MP_OK) {
		check(rc == MP_ERR_PARSE || rc == MP_ERR_LIMIT || rc == MP_ERR_NOMEM);
		check(db == NULL);
		check(rc == MP_ERR_NOMEM || strncmp(err, "fuzz:", 5) == 0);
		return 0;
	}
	for (size_t i = 0; mp_userdb_warning(db, i); i++)
		check(strncmp(mp_userdb_warning(db, i), "fuzz", 4) == 0);

	struct walk w = {db, 0, 0};
	check(mp_userdb_foreach(db, visit, &w) == 0);
	check(w.n == mp_userdb_count(db));

	size_t len;
	char *text = roundtrip(db, &len);
	free(text);

	/* Edit: the first line of the input (up to ':') as a user name. */
	const char *nl = memchr(data, '\n', size);
	size_t n = nl ? (size_t)(nl - (const char *)data) : size;
	if (n > MP_USERDB_MAX_NAME)
		n = MP_USERDB_MAX_NAME;
	char name[MP_USERDB_MAX_NAME + 1];
	memcpy(name, data, n);
	name[n] = '\0';
	char *colon = strchr(name, ':');
	if (colon)
		*colon = '\0';
	static const uint8_t h[MP_USERDB_HASH_LEN] = {1, 2, 3};
	size_t before = mp_userdb_count(db);
	rc = mp_userdb_add(db, name, "FUZZ", h, err, sizeof(err));
	if (rc == MP_OK) {
		uint8_t got[MP_USERDB_HASH_LEN];
		check(mp_userdb_count(db) == before + 1);
		check(mp_userdb_lookup(db, name, "fuzz", got) == MP_OK);
		check(memcmp(got, h, sizeof(h)) == 0);
		check(mp_userdb_set_disabled(db, name, "FUZZ", true) == MP_OK);
		check(mp_userdb_lookup(db, name, "FUZZ", got) == MP_ERR_NOTFOUND);
		text = roundtrip(db, &len);
		free(text);
		check(mp_userdb_delete(db, name, "fuzz") == MP_OK);
		check(mp_userdb_count(db) == before);
	} else {
		check(rc == MP_ERR_PARSE || rc == MP_ERR_CONFIG || rc == MP_ERR_LIMIT ||
		      rc == MP_ERR_NOMEM);
	}
	/* Delete every other entry of the any-domain kind by that name, then round-trip. */
	(void)mp_userdb_delete(db, name, NULL);
	text = roundtrip(db, &len);
	free(text);
	mp_userdb_free(db);
	return 0;
}
