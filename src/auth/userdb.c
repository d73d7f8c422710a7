#include "auth/userdb.h"

#include "auth/ntlm_crypto.h"
#include "util/status.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* NTOWFv1("") = MD4 of nothing: an entry with this hash has an empty password. */
static const uint8_t empty_password_hash[MP_USERDB_HASH_LEN] = {
	0x31, 0xd6, 0xcf, 0xe0, 0xd1, 0x6a, 0xe9, 0x31,
	0xb7, 0x3c, 0x59, 0xd7, 0xe0, 0xc0, 0x89, 0xc0,
};

struct entry {
	char *user;        /* as written, UTF-8 */
	char *domain;      /* as written, UTF-8; "" = any domain */
	char *other_flags; /* unknown flags, comma-joined; NULL if none */
	uint8_t *key;      /* UPPER(UTF-16LE(user)) || UPPER(UTF-16LE(domain)) */
	size_t key_ulen;   /* bytes of the user part of key */
	size_t key_len;
	uint32_t hash;     /* of key, for the table */
	unsigned flags;
	int line;
	size_t item;       /* index in db->items */
	uint8_t nt_hash[MP_USERDB_HASH_LEN];
	struct entry *next; /* bucket chain */
};

/* One line of the file: a comment/blank line (raw) or an entry; both NULL once deleted. */
struct item {
	char *raw;
	struct entry *e;
};

struct mp_userdb {
	char *name; /* for messages */
	struct item *items;
	size_t n_items, cap_items;
	struct entry **buckets; /* n_buckets is a power of two */
	size_t n_buckets;
	size_t n_users;
	char *warnings[MP_USERDB_MAX_WARNINGS];
	size_t n_warnings;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- keys and the hash table ---------------------------------------------- */

/* FNV-1a. The table only holds the administrator's names, so a client cannot
 * make chains long: its names are only ever looked up, never inserted. */
static uint32_t key_hash(const uint8_t *key, size_t ulen, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		h ^= key[i];
		h *= 16777619u;
	}
	h ^= (uint32_t)ulen; /* "AB"+"C" and "A"+"BC" differ */
	h *= 16777619u;
	return h;
}

/* The case-folded key of (user, domain). MP_OK, MP_ERR_PARSE (bad UTF-8), MP_ERR_NOMEM. */
static int make_key(const char *user, size_t ulen, const char *domain, size_t dlen, uint8_t **key,
                    size_t *key_ulen, size_t *key_len)
{
	uint8_t *u = NULL, *d = NULL;
	size_t u16, d16;
	int rc = mp_ntlm_utf8_to_utf16le(user, ulen, &u, &u16);
	if (rc != MP_OK)
		return rc;
	rc = mp_ntlm_utf8_to_utf16le(domain, dlen, &d, &d16);
	if (rc != MP_OK) {
		free(u);
		return rc;
	}
	uint8_t *k = malloc(u16 + d16 + 1);
	if (!k) {
		free(u);
		free(d);
		return MP_ERR_NOMEM;
	}
	memcpy(k, u, u16);
	memcpy(k + u16, d, d16);
	free(u);
	free(d);
	mp_ntlm_utf16le_upper(k, u16 + d16);
	*key = k;
	*key_ulen = u16;
	*key_len = u16 + d16;
	return MP_OK;
}

static struct entry *table_find(const struct mp_userdb *db, const uint8_t *key, size_t ulen,
                                size_t len, uint32_t h)
{
	if (!db->n_buckets)
		return NULL;
	for (struct entry *e = db->buckets[h & (db->n_buckets - 1)]; e; e = e->next)
		if (e->hash == h && e->key_ulen == ulen && e->key_len == len &&
		    memcmp(e->key, key, len) == 0)
			return e;
	return NULL;
}

static int table_grow(struct mp_userdb *db)
{
	size_t n = db->n_buckets ? db->n_buckets * 2 : 64;
	struct entry **b = calloc(n, sizeof(*b));
	if (!b)
		return MP_ERR_NOMEM;
	for (size_t i = 0; i < db->n_buckets; i++) {
		struct entry *e = db->buckets[i];
		while (e) {
			struct entry *next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
			e = next;
		}
	}
	free(db->buckets);
	db->buckets = b;
	db->n_buckets = n;
	return MP_OK;
}

static void table_unlink(struct mp_userdb *db, struct entry *e)
{
	struct entry **pp = &db->buckets[e->hash & (db->n_buckets - 1)];
	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	e->next = NULL;
}

static void entry_free(struct entry *e)
{
	if (!e)
		return;
	mp_ntlm_wipe(e->nt_hash, sizeof(e->nt_hash));
	free(e->user);
	free(e->domain);
	free(e->other_flags);
	free(e->key);
	free(e);
}

static int push_item(struct mp_userdb *db, char *raw, struct entry *e)
{
	if (db->n_items == db->cap_items) {
		size_t cap = db->cap_items ? db->cap_items * 2 : 64;
		struct item *it = realloc(db->items, cap * sizeof(*it));
		if (!it)
			return MP_ERR_NOMEM;
		db->items = it;
		db->cap_items = cap;
	}
	db->items[db->n_items].raw = raw;
	db->items[db->n_items].e = e;
	if (e)
		e->item = db->n_items;
	db->n_items++;
	return MP_OK;
}

/*
 * Insert a complete entry (key and hash set). On MP_ERR_CONFIG *dup is the
 * entry already there. On any error the entry is not the database's.
 */
static int insert(struct mp_userdb *db, struct entry *e, struct entry **dup)
{
	struct entry *old = table_find(db, e->key, e->key_ulen, e->key_len, e->hash);
	if (old) {
		*dup = old;
		return MP_ERR_CONFIG;
	}
	if (db->n_users >= MP_USERDB_MAX_USERS)
		return MP_ERR_LIMIT;
	if (db->n_users + 1 > db->n_buckets) {
		int rc = table_grow(db);
		if (rc != MP_OK)
			return rc;
	}
	int rc = push_item(db, NULL, e);
	if (rc != MP_OK)
		return rc;
	e->next = db->buckets[e->hash & (db->n_buckets - 1)];
	db->buckets[e->hash & (db->n_buckets - 1)] = e;
	db->n_users++;
	return MP_OK;
}

static struct entry *find_exact(const struct mp_userdb *db, const char *user, const char *domain)
{
	uint8_t *key;
	size_t ulen, len;
	if (!domain)
		domain = "";
	size_t un = strlen(user), dn = strlen(domain);
	if (un > MP_USERDB_MAX_NAME || dn > MP_USERDB_MAX_NAME)
		return NULL;
	if (make_key(user, un, domain, dn, &key, &ulen, &len) != MP_OK)
		return NULL;
	struct entry *e = table_find(db, key, ulen, len, key_hash(key, ulen, len));
	free(key);
	return e;
}

/* ---- names, hashes, flags ------------------------------------------------- */

static int check_name_n(const char *s, size_t n, bool is_domain, char *why, size_t whylen)
{
	const char *what = is_domain ? "domain" : "user name";
	if (n == 0 && !is_domain) {
		set_err(why, whylen, "empty user name");
		return MP_ERR_PARSE;
	}
	if (n > MP_USERDB_MAX_NAME) {
		set_err(why, whylen, "%s longer than %d bytes", what, MP_USERDB_MAX_NAME);
		return MP_ERR_PARSE;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		/* C0, DEL, C1 (U+0080..U+009F) and U+FEFF (a BOM inside a name would
		 * vanish when the file is read back). */
		if (c < 0x20 || c == 0x7f ||
		    (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
		     (unsigned char)s[i + 1] <= 0x9f) ||
		    (c == 0xef && i + 2 < n && (unsigned char)s[i + 1] == 0xbb &&
		     (unsigned char)s[i + 2] == 0xbf)) {
			set_err(why, whylen, "%s contains a control character", what);
			return MP_ERR_PARSE;
		}
		if (c == ':' || c == '\\') {
			set_err(why, whylen, "%s '%.*s' contains '%c', which the file format reserves",
			        what, (int)(n > 64 ? 64 : n), s, c);
			return MP_ERR_PARSE;
		}
	}
	if (n && s[0] == '#') {
		set_err(why, whylen, "%s '%.*s' starts with '#' (it would read as a comment)", what,
		        (int)(n > 64 ? 64 : n), s);
		return MP_ERR_PARSE;
	}
	if (n && (s[0] == ' ' || s[n - 1] == ' ')) {
		set_err(why, whylen, "%s '%.*s' starts or ends with a space", what,
		        (int)(n > 64 ? 64 : n), s);
		return MP_ERR_PARSE;
	}
	uint8_t *u16;
	size_t u16len;
	int rc = mp_ntlm_utf8_to_utf16le(s, n, &u16, &u16len);
	if (rc == MP_ERR_NOMEM)
		return rc;
	if (rc != MP_OK) {
		set_err(why, whylen, "%s is not valid UTF-8", what);
		return MP_ERR_PARSE;
	}
	free(u16);
	return MP_OK;
}

int mp_userdb_check_name(const char *name, bool is_domain, char *err, size_t errlen)
{
	return check_name_n(name ? name : "", name ? strlen(name) : 0, is_domain, err, errlen);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 32 hex digits → 16 bytes. Never echoes the text (it is a secret). */
static int parse_hex_hash(const char *s, size_t n, uint8_t out[MP_USERDB_HASH_LEN], char *why,
                          size_t whylen)
{
	if (n != 2 * MP_USERDB_HASH_LEN) {
		set_err(why, whylen, "NT hash must be 32 hex digits, found %zu characters", n);
		return MP_ERR_PARSE;
	}
	for (size_t i = 0; i < MP_USERDB_HASH_LEN; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			set_err(why, whylen, "NT hash has a non-hex character at position %zu",
			        hi < 0 ? 2 * i + 1 : 2 * i + 2);
			mp_ntlm_wipe(out, MP_USERDB_HASH_LEN);
			return MP_ERR_PARSE;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return MP_OK;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Trim spaces and tabs around s[0..*n): returns the new start, updates *n. */
static const char *trim_n(const char *s, size_t *n)
{
	while (*n && is_space(*s)) {
		s++;
		(*n)--;
	}
	while (*n && is_space(s[*n - 1]))
		(*n)--;
	return s;
}

/*
 * Parse the flags field: comma-separated, case-insensitive known flags;
 * unknown ones are kept verbatim in *other (malloc'd, NULL if none).
 */
static int parse_flags(const char *s, size_t n, unsigned *flags, char **other, bool *unknown,
                       char *why, size_t whylen)
{
	*flags = 0;
	*other = NULL;
	*unknown = false;
	s = trim_n(s, &n);
	if (n == 0)
		return MP_OK;
	char *buf = malloc(n + 1); /* unknown flags, joined: never longer than the field */
	if (!buf)
		return MP_ERR_NOMEM;
	size_t o = 0;
	size_t pos = 0;
	for (;;) {
		size_t end = pos;
		while (end < n && s[end] != ',')
			end++;
		size_t tn = end - pos;
		const char *t = trim_n(s + pos, &tn);
		if (tn == 0) {
			set_err(why, whylen, "empty flag in '%.*s' (flags are separated by single commas)",
			        (int)(n > 64 ? 64 : n), s);
			free(buf);
			return MP_ERR_PARSE;
		}
		for (size_t i = 0; i < tn; i++) {
			unsigned char c = (unsigned char)t[i];
			if (c <= 0x20 || c >= 0x7f) {
				set_err(why, whylen,
				        "flag '%.*s' has a character other than printable ASCII",
				        (int)(tn > 64 ? 64 : tn), t);
				free(buf);
				return MP_ERR_PARSE;
			}
		}
		if (tn == 8 && strncasecmp(t, "disabled", 8) == 0) {
			*flags |= MP_USERDB_DISABLED;
		} else {
			if (o)
				buf[o++] = ',';
			memcpy(buf + o, t, tn);
			o += tn;
			*unknown = true;
		}
		if (end >= n)
			break;
		pos = end + 1;
	}
	buf[o] = '\0';
	if (o)
		*other = buf;
	else
		free(buf);
	return MP_OK;
}

static void add_warning(struct mp_userdb *db, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_warning(struct mp_userdb *db, const char *fmt, ...)
{
	if (db->n_warnings >= MP_USERDB_MAX_WARNINGS)
		return;
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (db->n_warnings == MP_USERDB_MAX_WARNINGS - 1)
		snprintf(buf, sizeof(buf), "%s: more warnings not shown", db->name);
	char *w = strdup(buf);
	if (w) /* a warning lost to ENOMEM is not worth failing the load */
		db->warnings[db->n_warnings++] = w;
}

/* A new entry with its key. On error nothing is allocated. */
static int new_entry(const char *user, size_t un, const char *domain, size_t dn,
                     const uint8_t nt_hash[MP_USERDB_HASH_LEN], struct entry **out)
{
	struct entry *e = calloc(1, sizeof(*e));
	if (!e)
		return MP_ERR_NOMEM;
	e->user = strndup(user, un);
	e->domain = strndup(domain, dn);
	if (!e->user || !e->domain) {
		entry_free(e);
		return MP_ERR_NOMEM;
	}
	int rc = make_key(user, un, domain, dn, &e->key, &e->key_ulen, &e->key_len);
	if (rc != MP_OK) {
		entry_free(e);
		return rc;
	}
	e->hash = key_hash(e->key, e->key_ulen, e->key_len);
	memcpy(e->nt_hash, nt_hash, MP_USERDB_HASH_LEN);
	*out = e;
	return MP_OK;
}

/* "DOMAIN\user" or "user" (any domain), for messages. */
static const char *full_name(const struct entry *e, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s%s", e->domain, e->domain[0] ? "\\" : "", e->user);
	return buf;
}

/* One non-comment line s[0..n) (already trimmed, no newline). */
static int parse_entry(struct mp_userdb *db, const char *s, size_t n, int lineno, char *err,
                       size_t errlen)
{
	char why[256];
	const char *c1 = memchr(s, ':', n);
	const char *c2 = c1 ? memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - s)) : NULL;
	if (!c1) {
		set_err(err, errlen,
		        "%s:%d: expected 'DOMAIN\\user:NTHASH:flags' or 'user:NTHASH:flags', "
		        "found no ':'",
		        db->name, lineno);
		return MP_ERR_PARSE;
	}
	if (c2 && memchr(c2 + 1, ':', n - (size_t)(c2 + 1 - s))) {
		set_err(err, errlen,
		        "%s:%d: too many ':' fields (expected 'DOMAIN\\user:NTHASH:flags'; "
		        "names cannot contain ':')",
		        db->name, lineno);
		return MP_ERR_PARSE;
	}

	/* Name field: [DOMAIN\]user. */
	size_t nn = (size_t)(c1 - s);
	const char *bs = memchr(s, '\\', nn);
	const char *user = s, *domain = "";
	size_t un = nn, dn = 0;
	if (bs) {
		domain = s;
		dn = (size_t)(bs - s);
		user = bs + 1;
		un = nn - dn - 1;
	}
	user = trim_n(user, &un);
	domain = trim_n(domain, &dn);
	int rc = check_name_n(domain, dn, true, why, sizeof(why));
	if (rc == MP_OK)
		rc = check_name_n(user, un, false, why, sizeof(why));
	if (rc != MP_OK) {
		if (rc == MP_ERR_PARSE)
			set_err(err, errlen, "%s:%d: %s", db->name, lineno, why);
		return rc;
	}

	/* Hash field. */
	const char *h = c1 + 1;
	size_t hn = c2 ? (size_t)(c2 - h) : n - (size_t)(h - s);
	h = trim_n(h, &hn);
	uint8_t nt_hash[MP_USERDB_HASH_LEN];
	rc = parse_hex_hash(h, hn, nt_hash, why, sizeof(why));
	if (rc != MP_OK) {
		set_err(err, errlen, "%s:%d: %s", db->name, lineno, why);
		return rc;
	}

	/* Flags field (optional). */
	unsigned flags = 0;
	char *other = NULL;
	bool unknown = false;
	if (c2) {
		rc = parse_flags(c2 + 1, n - (size_t)(c2 + 1 - s), &flags, &other, &unknown, why,
		                 sizeof(why));
		if (rc != MP_OK) {
			mp_ntlm_wipe(nt_hash, sizeof(nt_hash));
			if (rc == MP_ERR_PARSE)
				set_err(err, errlen, "%s:%d: %s", db->name, lineno, why);
			return rc;
		}
	}

	struct entry *e, *dup = NULL;
	char fn[2 * MP_USERDB_MAX_NAME + 2];
	rc = new_entry(user, un, domain, dn, nt_hash, &e);
	mp_ntlm_wipe(nt_hash, sizeof(nt_hash));
	if (rc != MP_OK) {
		free(other);
		return rc;
	}
	e->flags = flags;
	e->other_flags = other;
	e->line = lineno;
	rc = insert(db, e, &dup);
	if (rc == MP_ERR_CONFIG && dup) {
		set_err(err, errlen,
		        "%s:%d: duplicate entry for %s (first at line %d; names are "
		        "case-insensitive): remove one of the two lines",
		        db->name, lineno, full_name(e, fn, sizeof(fn)), dup->line);
		rc = MP_ERR_PARSE;
	} else if (rc == MP_ERR_LIMIT) {
		set_err(err, errlen, "%s:%d: more than %d users; that is the limit of one file",
		        db->name, lineno, MP_USERDB_MAX_USERS);
	}
	if (rc != MP_OK) {
		entry_free(e);
		return rc;
	}
	if (unknown)
		add_warning(db, "%s:%d: unknown flag(s) '%s' for %s (kept; known flags: disabled)",
		            db->name, lineno, other, full_name(e, fn, sizeof(fn)));
	if (mp_ntlm_ct_equal(e->nt_hash, empty_password_hash, MP_USERDB_HASH_LEN))
		add_warning(db, "%s:%d: %s has the NT hash of the empty password", db->name,
		            lineno, full_name(e, fn, sizeof(fn)));
	return MP_OK;
}

/* ---- the database ----------------------------------------------------------- */

static int db_new(struct mp_userdb **out, const char *name)
{
	struct mp_userdb *db = calloc(1, sizeof(*db));
	if (!db)
		return MP_ERR_NOMEM;
	db->name = strdup(name ? name : "<memory>");
	if (!db->name) {
		free(db);
		return MP_ERR_NOMEM;
	}
	*out = db;
	return MP_OK;
}

int mp_userdb_new(struct mp_userdb **out)
{
	return db_new(out, NULL);
}

void mp_userdb_free(struct mp_userdb *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < db->n_items; i++) {
		free(db->items[i].raw);
		entry_free(db->items[i].e);
	}
	for (size_t i = 0; i < db->n_warnings; i++)
		free(db->warnings[i]);
	free(db->items);
	free(db->buckets);
	free(db->name);
	free(db);
}

int mp_userdb_parse(struct mp_userdb **out, const char *name, const char *buf, size_t len,
                    char *err, size_t errlen)
{
	struct mp_userdb *db;
	*out = NULL;
	int rc = db_new(&db, name);
	if (rc != MP_OK)
		return rc;
	if (len > MP_USERDB_MAX_FILE) {
		set_err(err, errlen, "%s: larger than %u bytes", db->name, MP_USERDB_MAX_FILE);
		mp_userdb_free(db);
		return MP_ERR_LIMIT;
	}
	size_t pos = 0;
	int lineno = 0;
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		pos = 3; /* UTF-8 byte order mark, as some Windows editors write */
	while (pos < len) {
		const char *p = buf + pos;
		const char *nl = memchr(p, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - p) : len - pos;
		pos += n + (nl ? 1 : 0);
		lineno++;
		while (n && p[n - 1] == '\r')
			n--;
		if (n > MP_USERDB_MAX_LINE) {
			set_err(err, errlen, "%s:%d: line longer than %d bytes", db->name, lineno,
			        MP_USERDB_MAX_LINE);
			rc = MP_ERR_LIMIT;
			break;
		}
		if (memchr(p, '\0', n)) {
			set_err(err, errlen, "%s:%d: NUL byte (is this a text file?)", db->name,
			        lineno);
			rc = MP_ERR_PARSE;
			break;
		}
		size_t tn = n;
		const char *t = trim_n(p, &tn);
		if (tn == 0 || t[0] == '#') {
			char *raw = strndup(p, n);
			if (!raw) {
				rc = MP_ERR_NOMEM;
				break;
			}
			rc = push_item(db, raw, NULL);
			if (rc != MP_OK) {
				free(raw);
				break;
			}
			continue;
		}
		rc = parse_entry(db, t, tn, lineno, err, errlen);
		if (rc != MP_OK)
			break;
	}
	if (rc != MP_OK) {
		if (rc == MP_ERR_NOMEM)
			set_err(err, errlen, "%s:%d: out of memory", db->name, lineno);
		mp_userdb_free(db);
		return rc;
	}
	*out = db;
	return MP_OK;
}

int mp_userdb_load(struct mp_userdb **out, const char *path, char *err, size_t errlen)
{
	return mp_userdb_load_ex(out, path, false, err, errlen);
}

int mp_userdb_load_ex(struct mp_userdb **out, const char *path, bool allow_insecure_mode,
                      char *err, size_t errlen)
{
	*out = NULL;
	/* O_NONBLOCK: a FIFO put in place of the file must not hang the daemon. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		set_err(err, errlen, "%s: cannot open user database: %s%s", path, strerror(e),
		        e == ENOENT ? " (create it with 'mapiproxy-user --db FILE add USER')" : "");
		return e == ENOENT ? MP_ERR_NOTFOUND : MP_ERR_IO;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		set_err(err, errlen, "%s: cannot stat user database: %s", path, strerror(errno));
		close(fd);
		return MP_ERR_IO;
	}
	if (!S_ISREG(st.st_mode)) {
		set_err(err, errlen, "%s: the user database is not a regular file", path);
		close(fd);
		return MP_ERR_CONFIG;
	}
	if ((st.st_mode & 077) && !allow_insecure_mode) {
		set_err(err, errlen,
		        "%s: permissions %04o are too open: the user database holds password "
		        "hashes and must not be accessible by group or others; run 'chmod 600 %s'",
		        path, (unsigned)(st.st_mode & 07777), path);
		close(fd);
		return MP_ERR_CONFIG;
	}
	if ((unsigned long long)st.st_size > MP_USERDB_MAX_FILE) {
		set_err(err, errlen, "%s: larger than %u bytes", path, MP_USERDB_MAX_FILE);
		close(fd);
		return MP_ERR_CONFIG;
	}
	/* Read to EOF (the size may change under us); one byte more than the limit tells. */
	size_t cap = (size_t)st.st_size + 1, len = 0;
	char *buf = malloc(cap);
	int rc = buf ? MP_OK : MP_ERR_NOMEM;
	while (rc == MP_OK) {
		if (len == cap) {
			if (cap > MP_USERDB_MAX_FILE) {
				set_err(err, errlen, "%s: larger than %u bytes", path,
				        MP_USERDB_MAX_FILE);
				rc = MP_ERR_CONFIG;
				break;
			}
			size_t ncap = cap * 2 > MP_USERDB_MAX_FILE + 1 ? MP_USERDB_MAX_FILE + 1
			                                                : cap * 2;
			char *nb = malloc(ncap); /* not realloc: the old copy must be wiped */
			if (!nb) {
				rc = MP_ERR_NOMEM;
				break;
			}
			memcpy(nb, buf, len);
			mp_ntlm_wipe(buf, len);
			free(buf);
			buf = nb;
			cap = ncap;
		}
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			set_err(err, errlen, "%s: read error: %s", path, strerror(errno));
			rc = MP_ERR_IO;
			break;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (rc == MP_OK)
		rc = mp_userdb_parse(out, path, buf, len, err, errlen);
	else if (rc == MP_ERR_NOMEM)
		set_err(err, errlen, "%s: out of memory", path);
	if (buf) {
		mp_ntlm_wipe(buf, len);
		free(buf);
	}
	return rc;
}

int mp_userdb_lookup(const struct mp_userdb *db, const char *user, const char *domain,
                     uint8_t nt_hash[MP_USERDB_HASH_LEN])
{
	if (!db || !user)
		return MP_ERR_NOTFOUND;
	if (!domain)
		domain = "";
	size_t un = strlen(user), dn = strlen(domain);
	if (un == 0 || un > MP_USERDB_MAX_NAME || dn > MP_USERDB_MAX_NAME)
		return MP_ERR_NOTFOUND;
	uint8_t *key;
	size_t ulen, len;
	if (make_key(user, un, domain, dn, &key, &ulen, &len) != MP_OK)
		return MP_ERR_NOTFOUND;
	const struct entry *e = table_find(db, key, ulen, len, key_hash(key, ulen, len));
	if (!e && len > ulen) /* no entry for this domain: the any-domain one */
		e = table_find(db, key, ulen, ulen, key_hash(key, ulen, ulen));
	free(key);
	if (!e || (e->flags & MP_USERDB_DISABLED))
		return MP_ERR_NOTFOUND;
	memcpy(nt_hash, e->nt_hash, MP_USERDB_HASH_LEN);
	return MP_OK;
}

int mp_userdb_lookup_cb(void *db, const char *user, const char *domain,
                        uint8_t nt_hash[MP_USERDB_HASH_LEN])
{
	return mp_userdb_lookup(db, user, domain, nt_hash);
}

size_t mp_userdb_count(const struct mp_userdb *db)
{
	return db ? db->n_users : 0;
}

const char *mp_userdb_warning(const struct mp_userdb *db, size_t i)
{
	return db && i < db->n_warnings ? db->warnings[i] : NULL;
}

/* ---- editing ---------------------------------------------------------------- */

int mp_userdb_add(struct mp_userdb *db, const char *user, const char *domain,
                  const uint8_t nt_hash[MP_USERDB_HASH_LEN], char *err, size_t errlen)
{
	if (!domain)
		domain = "";
	int rc = mp_userdb_check_name(domain, true, err, errlen);
	if (rc == MP_OK)
		rc = mp_userdb_check_name(user, false, err, errlen);
	if (rc != MP_OK)
		return rc;
	struct entry *e, *dup = NULL;
	rc = new_entry(user, strlen(user), domain, strlen(domain), nt_hash, &e);
	if (rc != MP_OK)
		return rc;
	rc = insert(db, e, &dup);
	char fn[2 * MP_USERDB_MAX_NAME + 2];
	if (rc == MP_ERR_CONFIG && dup)
		set_err(err, errlen, "%s already exists%s", full_name(dup, fn, sizeof(fn)),
		        dup->domain[0] ? "" : " (as an any-domain entry)");
	else if (rc == MP_ERR_LIMIT)
		set_err(err, errlen, "the database already holds %d users, the limit",
		        MP_USERDB_MAX_USERS);
	if (rc != MP_OK)
		entry_free(e);
	return rc;
}

int mp_userdb_set_hash(struct mp_userdb *db, const char *user, const char *domain,
                       const uint8_t nt_hash[MP_USERDB_HASH_LEN])
{
	struct entry *e = find_exact(db, user, domain);
	if (!e)
		return MP_ERR_NOTFOUND;
	memcpy(e->nt_hash, nt_hash, MP_USERDB_HASH_LEN);
	return MP_OK;
}

int mp_userdb_set_disabled(struct mp_userdb *db, const char *user, const char *domain,
                           bool disabled)
{
	struct entry *e = find_exact(db, user, domain);
	if (!e)
		return MP_ERR_NOTFOUND;
	if (disabled)
		e->flags |= MP_USERDB_DISABLED;
	else
		e->flags &= ~MP_USERDB_DISABLED;
	return MP_OK;
}

int mp_userdb_delete(struct mp_userdb *db, const char *user, const char *domain)
{
	struct entry *e = find_exact(db, user, domain);
	if (!e)
		return MP_ERR_NOTFOUND;
	table_unlink(db, e);
	db->items[e->item].e = NULL;
	db->n_users--;
	entry_free(e);
	return MP_OK;
}

static void fill_info(const struct entry *e, struct mp_userdb_info *info)
{
	info->user = e->user;
	info->domain = e->domain;
	info->flags = e->flags;
	info->other_flags = e->other_flags ? e->other_flags : "";
	info->line = e->line;
}

int mp_userdb_get(const struct mp_userdb *db, const char *user, const char *domain,
                  struct mp_userdb_info *info)
{
	const struct entry *e = find_exact(db, user, domain);
	if (!e)
		return MP_ERR_NOTFOUND;
	fill_info(e, info);
	return MP_OK;
}

int mp_userdb_foreach(const struct mp_userdb *db,
                      int (*fn)(void *arg, const struct mp_userdb_info *info), void *arg)
{
	for (size_t i = 0; i < db->n_items; i++) {
		if (!db->items[i].e)
			continue;
		struct mp_userdb_info info;
		fill_info(db->items[i].e, &info);
		int rc = fn(arg, &info);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- writing ---------------------------------------------------------------- */

static size_t entry_text_len(const struct entry *e)
{
	size_t n = strlen(e->user) + 1 + 2 * MP_USERDB_HASH_LEN + 1 + 1; /* user:hash:\n */
	if (e->domain[0])
		n += strlen(e->domain) + 1;
	if (e->flags & MP_USERDB_DISABLED)
		n += 8 + 1;
	if (e->other_flags)
		n += strlen(e->other_flags);
	return n;
}

static char *put(char *p, const char *s)
{
	size_t n = strlen(s);
	memcpy(p, s, n);
	return p + n;
}

static char *entry_text(char *p, const struct entry *e)
{
	static const char hex[] = "0123456789abcdef";
	if (e->domain[0]) {
		p = put(p, e->domain);
		*p++ = '\\';
	}
	p = put(p, e->user);
	*p++ = ':';
	for (size_t i = 0; i < MP_USERDB_HASH_LEN; i++) {
		*p++ = hex[e->nt_hash[i] >> 4];
		*p++ = hex[e->nt_hash[i] & 15];
	}
	*p++ = ':';
	if (e->flags & MP_USERDB_DISABLED) {
		p = put(p, "disabled");
		if (e->other_flags)
			*p++ = ',';
	}
	if (e->other_flags)
		p = put(p, e->other_flags);
	*p++ = '\n';
	return p;
}

int mp_userdb_format(const struct mp_userdb *db, char **out, size_t *len)
{
	/* Size first, then one allocation: no realloc leaves hash copies behind. */
	size_t total = 0;
	for (size_t i = 0; i < db->n_items; i++) {
		if (db->items[i].raw)
			total += strlen(db->items[i].raw) + 1;
		else if (db->items[i].e)
			total += entry_text_len(db->items[i].e);
	}
	char *buf = malloc(total + 1);
	if (!buf)
		return MP_ERR_NOMEM;
	char *p = buf;
	for (size_t i = 0; i < db->n_items; i++) {
		if (db->items[i].raw) {
			p = put(p, db->items[i].raw);
			*p++ = '\n';
		} else if (db->items[i].e) {
			p = entry_text(p, db->items[i].e);
		}
	}
	*p = '\0';
	*out = buf;
	*len = (size_t)(p - buf);
	return MP_OK;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int mp_userdb_save(const struct mp_userdb *db, const char *path, char *err, size_t errlen)
{
	/* Follow a symlink so that the link, not the file, survives the rename. */
	char *target = NULL;
	struct stat lst;
	if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
		target = realpath(path, NULL);
		if (!target) {
			set_err(err, errlen, "%s: cannot resolve the symbolic link: %s", path,
			        strerror(errno));
			return MP_ERR_IO;
		}
	} else {
		target = strdup(path);
		if (!target)
			return MP_ERR_NOMEM;
	}
	struct stat old;
	bool had_old = stat(target, &old) == 0;

	size_t tn = strlen(target);
	char *tmp = malloc(tn + sizeof(".tmp.XXXXXX"));
	char *dir = strdup(target);
	if (!tmp || !dir) {
		free(tmp);
		free(dir);
		free(target);
		return MP_ERR_NOMEM;
	}
	memcpy(tmp, target, tn);
	memcpy(tmp + tn, ".tmp.XXXXXX", sizeof(".tmp.XXXXXX"));

	char *text = NULL;
	size_t len = 0;
	int rc = mp_userdb_format(db, &text, &len);
	int fd = -1;
	bool created = false;
	if (rc != MP_OK)
		goto out;
	/* mkstemp creates the file with mode 0600 whatever the umask. */
	fd = mkstemp(tmp);
	if (fd < 0) {
		set_err(err, errlen, "%s: cannot create a temporary file in %s: %s", path,
		        dirname(dir), strerror(errno));
		rc = MP_ERR_IO;
		goto out;
	}
	created = true;
	/* Keep the old file's owner (root editing the daemon user's file); a failure just
	 * leaves the file ours, which is what a non-root editor has anyway. */
	if (had_old && (old.st_uid != geteuid() || old.st_gid != getegid()) &&
	    fchown(fd, old.st_uid, old.st_gid) < 0) {
		/* not fatal */
	}
	if (fchmod(fd, 0600) < 0 || write_all(fd, text, len) < 0 || fsync(fd) < 0) {
		set_err(err, errlen, "%s: cannot write %s: %s", path, tmp, strerror(errno));
		rc = MP_ERR_IO;
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		set_err(err, errlen, "%s: cannot write %s: %s", path, tmp, strerror(errno));
		rc = MP_ERR_IO;
		goto out;
	}
	fd = -1;
	if (rename(tmp, target) < 0) {
		set_err(err, errlen, "%s: cannot rename %s over it: %s", path, tmp,
		        strerror(errno));
		rc = MP_ERR_IO;
		goto out;
	}
	created = false; /* it is the database now */
	/* Make the rename durable. */
	int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
out:
	if (fd >= 0)
		close(fd);
	if (created)
		unlink(tmp);
	if (rc == MP_ERR_NOMEM)
		set_err(err, errlen, "%s: out of memory", path);
	if (text) {
		mp_ntlm_wipe(text, len);
		free(text);
	}
	free(tmp);
	free(dir);
	free(target);
	return rc;
}
