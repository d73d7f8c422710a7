/*
 * The user database of the NTLM server: who may log in to the proxy, with
 * the NT hash ([MS-NLMP] NTOWFv1) of each password, never the password.
 *
 * A text file, one user per line (docs/users.md):
 *
 *     # comment
 *     CORP\alice:a4f49c406510bdcab6824ee7c30fd852:
 *     bob:8846f7eaee8fb117ad06bdd830b7586c:disabled
 *
 * `user:` with no `DOMAIN\` matches any domain. Users and domains match
 * case-insensitively: names are compared as UPPER(UTF-16LE(name)) with the
 * case mapping NTOWFv2 uses (mp_ntlm_utf16le_upper: ASCII, Latin-1, Latin
 * Extended-A, Greek, Cyrillic); no Unicode normalisation.
 *
 * Lookups go through a hash table (no per-call scan); a loaded database is
 * read-only for lookups, so any number of threads may call mp_userdb_lookup
 * on it at once. The editing functions are for the mapiproxy-user tool.
 *
 * Errors are written to `err` as "FILE:LINE: what is wrong" (or "FILE: ..."
 * for whole-file problems). No message ever contains a hash.
 */
#ifndef MP_AUTH_USERDB_H
#define MP_AUTH_USERDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MP_USERDB_HASH_LEN 16
#define MP_USERDB_MAX_LINE 1024      /* bytes in one line, without the newline */
#define MP_USERDB_MAX_USERS 100000   /* entries in one file */
#define MP_USERDB_MAX_NAME 256       /* bytes of UTF-8 in a user or a domain name */
#define MP_USERDB_MAX_FILE (64u << 20) /* bytes in the whole file */
#define MP_USERDB_MAX_WARNINGS 16    /* warnings kept (mp_userdb_warning) */

/* Entry flags. */
#define MP_USERDB_DISABLED 0x1u /* "disabled": lookups answer MP_ERR_NOTFOUND */

struct mp_userdb;

/* One entry as mp_userdb_foreach shows it. There is deliberately no hash here. */
struct mp_userdb_info {
	const char *user;        /* UTF-8, as written in the file */
	const char *domain;      /* UTF-8; "" = any domain */
	unsigned flags;          /* MP_USERDB_* */
	const char *other_flags; /* flags this version does not know, "a,b"; "" if none */
	int line;                /* line in the file it was loaded from; 0 if added since */
};

/*
 * Parse a database from memory. `name` is used in messages ("FILE:LINE: ...").
 * NUL bytes, over-long lines, malformed lines, invalid names or hashes and
 * duplicate entries are errors. A leading UTF-8 BOM and CRLF line ends are
 * accepted. On MP_OK *out is the caller's (mp_userdb_free).
 * Returns MP_OK, MP_ERR_PARSE (malformed), MP_ERR_LIMIT (a MP_USERDB_MAX_*
 * limit), MP_ERR_NOMEM.
 */
int mp_userdb_parse(struct mp_userdb **out, const char *name, const char *buf, size_t len,
                    char *err, size_t errlen);

/*
 * Read and parse the file at `path`. The file must be a regular file that is
 * neither readable nor writable by group or others (mode & 077 == 0), as ssh
 * demands of private keys; mp_userdb_load_ex with allow_insecure_mode skips
 * that check (tests only). Returns as mp_userdb_parse, and MP_ERR_NOTFOUND
 * (no such file), MP_ERR_CONFIG (insecure mode, not a regular file, larger
 * than MP_USERDB_MAX_FILE), MP_ERR_IO (other open or read errors).
 * The caller logs `err`; this module logs nothing.
 */
int mp_userdb_load(struct mp_userdb **out, const char *path, char *err, size_t errlen);
int mp_userdb_load_ex(struct mp_userdb **out, const char *path, bool allow_insecure_mode,
                      char *err, size_t errlen);

/* An empty database (to start a new file). MP_OK or MP_ERR_NOMEM. */
int mp_userdb_new(struct mp_userdb **out);

/* Wipe every hash and free. NULL is fine. */
void mp_userdb_free(struct mp_userdb *db);

/*
 * The NT hash of (user, domain), both UTF-8 as the client sent them; domain
 * may be NULL (= ""). The entry for exactly that domain wins; without one,
 * the any-domain entry `user:` is used. An entry that matches but is
 * disabled answers MP_ERR_NOTFOUND, and then no any-domain entry is tried.
 * Returns MP_OK (nt_hash filled) or MP_ERR_NOTFOUND (also for names that are
 * not valid UTF-8 or too long).
 */
int mp_userdb_lookup(const struct mp_userdb *db, const char *user, const char *domain,
                     uint8_t nt_hash[MP_USERDB_HASH_LEN]);

/* mp_userdb_lookup with the signature of mp_ntlm_lookup_fn (arg = the database). */
int mp_userdb_lookup_cb(void *db, const char *user, const char *domain,
                        uint8_t nt_hash[MP_USERDB_HASH_LEN]);

/* Number of entries (disabled ones included). */
size_t mp_userdb_count(const struct mp_userdb *db);

/*
 * Warnings found while parsing (unknown flags, a hash of the empty password),
 * "FILE:LINE: ..."; NULL once i is past the last. At most
 * MP_USERDB_MAX_WARNINGS are kept.
 */
const char *mp_userdb_warning(const struct mp_userdb *db, size_t i);

/*
 * Check a user or domain name the way the parser does: not empty (users),
 * at most MP_USERDB_MAX_NAME bytes, valid UTF-8, no control characters, no
 * ':' or '\', not starting with '#', no space at either end.
 * Returns MP_OK or MP_ERR_PARSE with the reason in err.
 */
int mp_userdb_check_name(const char *name, bool is_domain, char *err, size_t errlen);

/*
 * Editing. (user, domain) names one entry exactly: domain NULL or "" is the
 * any-domain entry, never a domain-specific one; case-insensitive as lookups.
 */

/* Add an entry. MP_OK, MP_ERR_PARSE (bad name), MP_ERR_CONFIG (the entry
 * exists), MP_ERR_LIMIT (MP_USERDB_MAX_USERS), MP_ERR_NOMEM. */
int mp_userdb_add(struct mp_userdb *db, const char *user, const char *domain,
                  const uint8_t nt_hash[MP_USERDB_HASH_LEN], char *err, size_t errlen);
/* Replace the hash of an entry, keeping its flags. MP_OK or MP_ERR_NOTFOUND. */
int mp_userdb_set_hash(struct mp_userdb *db, const char *user, const char *domain,
                       const uint8_t nt_hash[MP_USERDB_HASH_LEN]);
/* Set or clear MP_USERDB_DISABLED. MP_OK or MP_ERR_NOTFOUND. */
int mp_userdb_set_disabled(struct mp_userdb *db, const char *user, const char *domain,
                           bool disabled);
/* Delete an entry (its hash is wiped). MP_OK or MP_ERR_NOTFOUND. */
int mp_userdb_delete(struct mp_userdb *db, const char *user, const char *domain);
/* The entry itself, for messages. MP_OK (info filled) or MP_ERR_NOTFOUND. */
int mp_userdb_get(const struct mp_userdb *db, const char *user, const char *domain,
                  struct mp_userdb_info *info);

/* Call fn for every entry in file order (added ones last); a non-zero return stops
 * the walk and is returned. */
int mp_userdb_foreach(const struct mp_userdb *db,
                      int (*fn)(void *arg, const struct mp_userdb_info *info), void *arg);

/*
 * The file text: comment and blank lines as they were, entries in canonical
 * form (`DOMAIN\user:hash:flags`, lower-case hex, known flags first, unknown
 * flags kept). *out is malloc'd, NUL-terminated, holds hashes: wipe it
 * (mp_ntlm_wipe) before free. MP_OK or MP_ERR_NOMEM.
 */
int mp_userdb_format(const struct mp_userdb *db, char **out, size_t *len);

/*
 * Write the database to `path` atomically: a temporary file in the same
 * directory, mode 0600 (and the old file's owner and group when it existed
 * and we may set them), fsync, rename over `path`, fsync of the directory.
 * A symbolic link at `path` is followed, so the link stays. Returns MP_OK,
 * MP_ERR_IO (err says what failed), MP_ERR_NOMEM.
 */
int mp_userdb_save(const struct mp_userdb *db, const char *path, char *err, size_t errlen);

#endif
