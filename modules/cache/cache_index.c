/*
 * The cache index in LMDB (see cache_index.h for the layout and the rules).
 *
 * Named databases of the environment:
 *   entries  key (32 bytes: mailbox GUID, message id, attachment, tag; the
 *            integers big-endian so that a message's entries are adjacent)
 *            -> entry (struct cache_entry, serialised little-endian)
 *   lru      use sequence (8 bytes big-endian) + key -> nothing: the oldest
 *            first
 *   gens     mailbox GUID + message id (24 bytes) -> generation (u64)
 *   meta     "version" -> u32, "total" -> u64 bytes of complete entries,
 *            "seq" -> u64 last use sequence
 */
#include "cache_index.h"

#include "util/status.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lmdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define INDEX_VERSION 1u
#define KEY_LEN 32
#define MSG_LEN 24 /* the key's mailbox + message id prefix */
#define LRU_LEN (8 + KEY_LEN)
#define VAL_LEN 82

struct cache_index {
	char dir[4096];
	struct cache_index_conf conf;
	MDB_env *env;
	MDB_dbi entries, lru, gens, meta;
	unsigned tmp_seq;
	bool broken; /* LMDB reported corruption since open: stop using it */
};

static void logf_(const struct cache_index *ix, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(const struct cache_index *ix, int level, const char *fmt, ...)
{
	if (!ix->conf.log)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ix->conf.log(level, "%s", msg);
}

/* ---- encoding ---------------------------------------------------------- */

static void put64be(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get64be(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void put32be(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint32_t get32be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put64le(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get64le(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void key_enc(const struct cache_key *k, uint8_t out[KEY_LEN])
{
	memcpy(out, k->mbox, 16);
	put64be(out + 16, k->mid);
	put32be(out + 24, k->attach);
	put32be(out + 28, k->tag);
}

static void key_dec(const uint8_t in[KEY_LEN], struct cache_key *k)
{
	memcpy(k->mbox, in, 16);
	k->mid = get64be(in + 16);
	k->attach = get32be(in + 24);
	k->tag = get32be(in + 28);
}

static void val_enc(const struct cache_entry *e, uint8_t out[VAL_LEN])
{
	memset(out, 0, VAL_LEN);
	out[0] = 1; /* value format */
	out[1] = e->state;
	const uint64_t f[] = {
	    e->size,    e->fid,      e->stamp, e->ino,         (uint64_t)e->mtime_ns,
	    e->use_seq, e->last_use, e->gen,   e->sync_started};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		put64le(out + 2 + 8 * i, f[i]);
	put64le(out + 74, e->sync_pid);
}

static bool val_dec(const MDB_val *v, struct cache_entry *e)
{
	const uint8_t *p = v->mv_data;
	if (v->mv_size != VAL_LEN || p[0] != 1)
		return false;
	memset(e, 0, sizeof(*e));
	e->state = p[1];
	uint64_t f[9];
	for (size_t i = 0; i < 9; i++)
		f[i] = get64le(p + 2 + 8 * i);
	e->size = f[0];
	e->fid = f[1];
	e->stamp = f[2];
	e->ino = f[3];
	e->mtime_ns = (int64_t)f[4];
	e->use_seq = f[5];
	e->last_use = f[6];
	e->gen = f[7];
	e->sync_started = f[8];
	e->sync_pid = (uint32_t)get64le(p + 74);
	return e->state == CACHE_COMPLETE || e->state == CACHE_SYNCING;
}

/* ---- paths ------------------------------------------------------------- */

bool cache_index_relpath(const struct cache_key *key, char *buf, size_t len)
{
	char mb[33];
	for (int i = 0; i < 16; i++)
		snprintf(mb + 2 * i, 3, "%02x", key->mbox[i]);
	char att[16];
	if (key->attach == CACHE_NO_ATTACH)
		snprintf(att, sizeof(att), "message");
	else
		snprintf(att, sizeof(att), "%08" PRIx32, key->attach);
	int n = snprintf(buf, len, "data/%s/%016" PRIx64 "/%s-%08" PRIx32 ".stream", mb, key->mid,
	                 att, key->tag);
	return n > 0 && (size_t)n < len;
}

bool cache_index_path(const struct cache_index *ix, const struct cache_key *key, char *buf,
                      size_t len)
{
	char rel[160];
	if (!cache_index_relpath(key, rel, sizeof(rel)))
		return false;
	int n = snprintf(buf, len, "%s/%s", ix->dir, rel);
	return n > 0 && (size_t)n < len;
}

const char *cache_index_dir(const struct cache_index *ix)
{
	return ix->dir;
}

/* Make `path` a directory of mode `mode` (its parents too). */
static int mkdirs(const char *path, unsigned mode)
{
	char tmp[4096];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		char c = tmp[i];
		tmp[i] = '\0';
		if (mkdir(tmp, mode) == 0) {
			/* umask may have cleared bits the configuration asks for */
			if (chmod(tmp, mode) != 0)
				return -errno;
		} else if (errno != EEXIST) {
			return -errno;
		}
		tmp[i] = c;
	}
	struct stat st;
	if (stat(path, &st) != 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* The directory of `key`'s file. */
static int key_dir(const struct cache_index *ix, const struct cache_key *key, char *buf, size_t len)
{
	if (!cache_index_path(ix, key, buf, len))
		return -ENAMETOOLONG;
	char *slash = strrchr(buf, '/');
	*slash = '\0';
	return mkdirs(buf, ix->conf.dir_mode);
}

/* "a/b" into buf; false when it does not fit. */
static bool join(char *buf, size_t len, const char *a, const char *b)
{
	int n = snprintf(buf, len, "%s/%s", a, b);
	return n > 0 && (size_t)n < len;
}

static bool pid_alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

static uint64_t now_s(void)
{
	return (uint64_t)time(NULL);
}

/* ---- transactions ------------------------------------------------------ */

static bool corrupt_rc(int rc)
{
	return rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID ||
	       rc == MDB_VERSION_MISMATCH || rc == MDB_INCOMPATIBLE || rc == MDB_BAD_TXN;
}

/* An LMDB error: logged, and the index is given up when it is corrupt. */
static int mdb_fail(struct cache_index *ix, const char *what, int rc)
{
	if (corrupt_rc(rc)) {
		if (!ix->broken)
			logf_(ix, 0,
			      "index %s/index is damaged (%s while %s): the cache is off until "
			      "the proxy restarts, which makes a new index",
			      ix->dir, mdb_strerror(rc), what);
		ix->broken = true;
	} else {
		logf_(ix, 0, "index %s/index: %s while %s", ix->dir, mdb_strerror(rc), what);
	}
	return rc == MDB_MAP_FULL ? MP_ERR_LIMIT : MP_ERR_IO;
}

static int begin(struct cache_index *ix, bool write, MDB_txn **txn)
{
	if (ix->broken)
		return MP_ERR_IO;
	int rc = mdb_txn_begin(ix->env, NULL, write ? 0 : MDB_RDONLY, txn);
	return rc ? mdb_fail(ix, "starting a transaction", rc) : CACHE_OK;
}

static int commit(struct cache_index *ix, MDB_txn *txn)
{
	int rc = mdb_txn_commit(txn);
	return rc ? mdb_fail(ix, "committing", rc) : CACHE_OK;
}

static uint64_t meta_u64(struct cache_index *ix, MDB_txn *txn, const char *name)
{
	MDB_val k = {strlen(name), (void *)name}, v;
	if (mdb_get(txn, ix->meta, &k, &v) != 0 || v.mv_size != 8)
		return 0;
	return get64le(v.mv_data);
}

static int meta_put(struct cache_index *ix, MDB_txn *txn, const char *name, uint64_t val)
{
	uint8_t b[8];
	put64le(b, val);
	MDB_val k = {strlen(name), (void *)name}, v = {8, b};
	return mdb_put(txn, ix->meta, &k, &v, 0);
}

static int get_entry(struct cache_index *ix, MDB_txn *txn, const uint8_t kb[KEY_LEN],
                     struct cache_entry *e)
{
	MDB_val k = {KEY_LEN, (void *)kb}, v;
	int rc = mdb_get(txn, ix->entries, &k, &v);
	if (rc == MDB_NOTFOUND)
		return CACHE_NOTFOUND;
	if (rc)
		return mdb_fail(ix, "reading an entry", rc);
	return val_dec(&v, e) ? CACHE_OK : CACHE_NOTFOUND;
}

static int lru_key(uint64_t seq, const uint8_t kb[KEY_LEN], uint8_t out[LRU_LEN])
{
	put64be(out, seq);
	memcpy(out + 8, kb, KEY_LEN);
	return 0;
}

/* Write entry `e` of key `kb`, replacing `old` (NULL: none) in the LRU. */
static int put_entry(struct cache_index *ix, MDB_txn *txn, const uint8_t kb[KEY_LEN],
                     const struct cache_entry *e, const struct cache_entry *old)
{
	uint8_t vb[VAL_LEN], lk[LRU_LEN];
	int rc;
	if (old && old->state == CACHE_COMPLETE) {
		lru_key(old->use_seq, kb, lk);
		MDB_val l = {LRU_LEN, lk};
		rc = mdb_del(txn, ix->lru, &l, NULL);
		if (rc && rc != MDB_NOTFOUND)
			return rc;
	}
	val_enc(e, vb);
	MDB_val k = {KEY_LEN, (void *)kb}, v = {VAL_LEN, vb};
	if ((rc = mdb_put(txn, ix->entries, &k, &v, 0)))
		return rc;
	if (e->state == CACHE_COMPLETE) {
		lru_key(e->use_seq, kb, lk);
		MDB_val l = {LRU_LEN, lk}, none = {0, NULL};
		if ((rc = mdb_put(txn, ix->lru, &l, &none, 0)))
			return rc;
	}
	return 0;
}

/* Remove entry `e` of key `kb`, its LRU record and its file. */
static int drop_entry(struct cache_index *ix, MDB_txn *txn, const uint8_t kb[KEY_LEN],
                      const struct cache_entry *e)
{
	uint8_t lk[LRU_LEN];
	MDB_val k = {KEY_LEN, (void *)kb};
	int rc = mdb_del(txn, ix->entries, &k, NULL);
	if (rc && rc != MDB_NOTFOUND)
		return rc;
	if (e->state == CACHE_COMPLETE) {
		lru_key(e->use_seq, kb, lk);
		MDB_val l = {LRU_LEN, lk};
		rc = mdb_del(txn, ix->lru, &l, NULL);
		if (rc && rc != MDB_NOTFOUND)
			return rc;
		uint64_t total = meta_u64(ix, txn, "total");
		if ((rc = meta_put(ix, txn, "total", total > e->size ? total - e->size : 0)))
			return rc;
	}
	struct cache_key key;
	char path[4300];
	key_dec(kb, &key);
	/* A sync command may still be writing a SYNCING file: its owner
	 * sees the claim gone and removes what it wrote. */
	if (e->state == CACHE_COMPLETE && cache_index_path(ix, &key, path, sizeof(path)))
		unlink(path);
	return 0;
}

static uint64_t gen_of(struct cache_index *ix, MDB_txn *txn, const uint8_t kb[KEY_LEN])
{
	MDB_val k = {MSG_LEN, (void *)kb}, v;
	if (mdb_get(txn, ix->gens, &k, &v) != 0 || v.mv_size != 8)
		return 0;
	return get64le(v.mv_data);
}

static int gen_bump(struct cache_index *ix, MDB_txn *txn, const uint8_t kb[KEY_LEN])
{
	uint8_t b[8];
	put64le(b, gen_of(ix, txn, kb) + 1);
	MDB_val k = {MSG_LEN, (void *)kb}, v = {8, b};
	return mdb_put(txn, ix->gens, &k, &v, 0);
}

/* Evict the oldest complete entries (never `keep`) until the total fits. */
static int evict(struct cache_index *ix, MDB_txn *txn, const uint8_t keep[KEY_LEN])
{
	if (!ix->conf.max_size)
		return 0;
	int rc = 0;
	/* Each round removes the oldest LRU record (or stops): bounded by
	 * the number of records. */
	while (rc == 0 && meta_u64(ix, txn, "total") > ix->conf.max_size) {
		MDB_cursor *cur;
		if ((rc = mdb_cursor_open(txn, ix->lru, &cur)))
			break;
		MDB_val l, none;
		rc = mdb_cursor_get(cur, &l, &none, MDB_FIRST);
		if (rc == 0 && l.mv_size == LRU_LEN &&
		    memcmp((const uint8_t *)l.mv_data + 8, keep, KEY_LEN) == 0)
			rc = mdb_cursor_get(cur, &l, &none, MDB_NEXT);
		uint8_t lk[LRU_LEN];
		bool ours = rc == 0 && l.mv_size == LRU_LEN;
		if (ours)
			memcpy(lk, l.mv_data, LRU_LEN);
		else if (rc == 0)
			rc = mdb_cursor_del(cur, 0); /* not a record of ours */
		mdb_cursor_close(cur);
		if (!ours)
			continue;
		struct cache_entry e;
		if (get_entry(ix, txn, lk + 8, &e) == CACHE_OK && e.state == CACHE_COMPLETE &&
		    e.use_seq == get64be(lk)) {
			struct cache_key key;
			key_dec(lk + 8, &key);
			logf_(ix, 3,
			      "evicting message %016" PRIx64 " (%" PRIu64 " bytes) of mailbox "
			      "%02x%02x%02x%02x...",
			      key.mid, e.size, key.mbox[0], key.mbox[1], key.mbox[2], key.mbox[3]);
			rc = drop_entry(ix, txn, lk + 8, &e);
		} else {
			MDB_val dl = {LRU_LEN, lk};
			rc = mdb_del(txn, ix->lru, &dl, NULL); /* an orphan record */
		}
	}
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ---- open, sweep ------------------------------------------------------- */

static int open_env(struct cache_index *ix, char *err, size_t errlen, int *mdb_rc)
{
	char path[4200];
	*mdb_rc = 0;
	if (!join(path, sizeof(path), ix->dir, "index")) {
		snprintf(err, errlen, "the cache path is too long");
		return MP_ERR_CONFIG;
	}
	int r = mkdirs(path, ix->conf.dir_mode);
	if (r < 0) {
		snprintf(err, errlen, "cannot make %s: %s", path, strerror(-r));
		return MP_ERR_IO;
	}
	int rc = mdb_env_create(&ix->env);
	if (!rc)
		rc = mdb_env_set_maxdbs(ix->env, 4);
	if (!rc)
		rc = mdb_env_set_mapsize(ix->env, ix->conf.map_size);
	/* NOMETASYNC: a system crash may lose the last transaction, never
	 * the index's consistency. */
	if (!rc)
		rc = mdb_env_open(ix->env, path, MDB_NOMETASYNC, ix->conf.file_mode);
	MDB_txn *txn = NULL;
	if (!rc)
		rc = mdb_txn_begin(ix->env, NULL, 0, &txn);
	if (!rc)
		rc = mdb_dbi_open(txn, "entries", MDB_CREATE, &ix->entries);
	if (!rc)
		rc = mdb_dbi_open(txn, "lru", MDB_CREATE, &ix->lru);
	if (!rc)
		rc = mdb_dbi_open(txn, "gens", MDB_CREATE, &ix->gens);
	if (!rc)
		rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &ix->meta);
	if (!rc) {
		MDB_val k = {7, "version"}, v;
		int g = mdb_get(txn, ix->meta, &k, &v);
		uint8_t b[4] = {INDEX_VERSION, 0, 0, 0};
		if (g == MDB_NOTFOUND) {
			MDB_val nv = {4, b};
			rc = mdb_put(txn, ix->meta, &k, &nv, 0);
		} else if (g) {
			rc = g;
		} else if (v.mv_size != 4 || memcmp(v.mv_data, b, 4) != 0) {
			rc = MDB_INCOMPATIBLE; /* another layout: start over */
		}
	}
	if (!rc) {
		rc = mdb_txn_commit(txn);
		txn = NULL;
	}
	if (txn)
		mdb_txn_abort(txn);
	if (rc) {
		*mdb_rc = rc;
		snprintf(err, errlen, "cannot open the index %s: %s", path, mdb_strerror(rc));
		if (ix->env)
			mdb_env_close(ix->env);
		ix->env = NULL;
		return MP_ERR_IO;
	}
	/* The configured mode, whatever the umask made of it. */
	const char *const files[] = {"data.mdb", "lock.mdb"};
	for (size_t i = 0; i < 2; i++) {
		char f[4300];
		if (!join(f, sizeof(f), path, files[i]))
			continue;
		if (chmod(f, ix->conf.file_mode) != 0 && errno != ENOENT) {
			snprintf(err, errlen, "cannot set the mode of %s: %s", f, strerror(errno));
			mdb_env_close(ix->env);
			ix->env = NULL;
			return MP_ERR_IO;
		}
	}
	return CACHE_OK;
}

/* "message-TTTTTTTT.stream" or "AAAAAAAA-TTTTTTTT.stream" */
static bool parse_name(const char *name, uint32_t *attach, uint32_t *tag)
{
	char a[16], t[16], rest[16];
	if (sscanf(name, "%15[^-]-%8[0-9a-f]%15s", a, t, rest) != 3 ||
	    strcmp(rest, ".stream") != 0 || strlen(t) != 8)
		return false;
	*tag = (uint32_t)strtoul(t, NULL, 16);
	if (strcmp(a, "message") == 0) {
		*attach = CACHE_NO_ATTACH;
		return true;
	}
	if (strlen(a) != 8 || strspn(a, "0123456789abcdef") != 8)
		return false;
	*attach = (uint32_t)strtoul(a, NULL, 16);
	return true;
}

static bool parse_hex(const char *s, size_t n, uint8_t *out)
{
	if (strlen(s) != 2 * n || strspn(s, "0123456789abcdef") != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char b[3] = {s[2 * i], s[2 * i + 1], 0};
		out[i] = (uint8_t)strtoul(b, NULL, 16);
	}
	return true;
}

/* Temporary files are "NAME.tmp.PID.N" and "NAME.err.PID.N". */
static bool temp_owner(const char *name, pid_t *pid)
{
	const char *p = strstr(name, ".tmp.");
	if (!p)
		p = strstr(name, ".err.");
	if (!p)
		return false;
	*pid = (pid_t)strtol(p + 5, NULL, 10);
	return true;
}

/* One file under data/MBOX/MID/: keep it or remove it. */
static void sweep_file(struct cache_index *ix, MDB_txn *txn, const uint8_t mbox[16], uint64_t mid,
                       const char *dirpath, const char *name)
{
	char path[4400];
	if (!join(path, sizeof(path), dirpath, name))
		return;
	pid_t owner;
	if (temp_owner(name, &owner)) {
		if (owner == getpid() || !pid_alive(owner))
			unlink(path);
		return;
	}
	struct cache_key key = {.mid = mid};
	memcpy(key.mbox, mbox, 16);
	struct cache_entry e;
	uint8_t kb[KEY_LEN];
	struct stat st;
	if (parse_name(name, &key.attach, &key.tag)) {
		key_enc(&key, kb);
		if (get_entry(ix, txn, kb, &e) == CACHE_OK && lstat(path, &st) == 0) {
			if (e.state == CACHE_COMPLETE && e.ino == (uint64_t)st.st_ino)
				return;
			if (e.state == CACHE_SYNCING && (pid_t)e.sync_pid != getpid() &&
			    pid_alive((pid_t)e.sync_pid))
				return;
		}
	}
	unlink(path);
}

static void sweep_files(struct cache_index *ix, MDB_txn *txn)
{
	char data[4200];
	if (!join(data, sizeof(data), ix->dir, "data"))
		return;
	DIR *d1 = opendir(data);
	if (!d1)
		return;
	struct dirent *m;
	while ((m = readdir(d1))) {
		uint8_t mbox[16];
		if (m->d_name[0] == '.' || !parse_hex(m->d_name, 16, mbox))
			continue;
		char p1[4300];
		if (!join(p1, sizeof(p1), data, m->d_name))
			continue;
		DIR *d2 = opendir(p1);
		if (!d2)
			continue;
		struct dirent *g;
		while ((g = readdir(d2))) {
			uint8_t midb[8];
			if (g->d_name[0] == '.' || !parse_hex(g->d_name, 8, midb))
				continue;
			char p2[4400];
			if (!join(p2, sizeof(p2), p1, g->d_name))
				continue;
			DIR *d3 = opendir(p2);
			if (!d3)
				continue;
			struct dirent *f;
			while ((f = readdir(d3)))
				if (f->d_name[0] != '.')
					sweep_file(ix, txn, mbox, get64be(midb), p2, f->d_name);
			closedir(d3);
			rmdir(p2); /* only when empty */
		}
		closedir(d2);
		rmdir(p1);
	}
	closedir(d1);
}

/* Entries whose file is gone, claims of dead processes; the total again. */
static int sweep_entries(struct cache_index *ix, MDB_txn *txn, uint64_t *n, uint64_t *bytes)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, ix->entries, &cur);
	if (rc)
		return rc;
	MDB_val k, v;
	uint64_t total = 0, count = 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct cache_entry e;
		bool keep = k.mv_size == KEY_LEN && val_dec(&v, &e);
		if (keep) {
			struct cache_key key;
			char path[4300];
			struct stat st;
			key_dec(k.mv_data, &key);
			cache_index_path(ix, &key, path, sizeof(path));
			if (e.state == CACHE_COMPLETE)
				keep = lstat(path, &st) == 0 && (uint64_t)st.st_ino == e.ino &&
				       (uint64_t)st.st_size == e.size;
			else
				keep =
				    (pid_t)e.sync_pid != getpid() && pid_alive((pid_t)e.sync_pid);
			if (!keep && e.state == CACHE_COMPLETE) {
				uint8_t lk[LRU_LEN];
				lru_key(e.use_seq, k.mv_data, lk);
				MDB_val l = {LRU_LEN, lk};
				mdb_del(txn, ix->lru, &l, NULL);
			}
		}
		if (!keep) {
			if ((rc = mdb_cursor_del(cur, 0)))
				break;
			continue;
		}
		if (e.state == CACHE_COMPLETE) {
			total += e.size;
			count++;
		}
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		return rc;
	*n = count;
	*bytes = total;
	return meta_put(ix, txn, "total", total);
}

static int sweep(struct cache_index *ix)
{
	MDB_txn *txn;
	int rc = begin(ix, true, &txn);
	if (rc)
		return rc;
	uint64_t n = 0, bytes = 0;
	sweep_files(ix, txn);
	rc = sweep_entries(ix, txn, &n, &bytes);
	if (rc) {
		mdb_txn_abort(txn);
		return mdb_fail(ix, "checking the files", rc);
	}
	rc = commit(ix, txn);
	if (rc == CACHE_OK)
		logf_(ix, 2, "%s: %" PRIu64 " cached stream(s), %" PRIu64 " bytes", ix->dir, n,
		      bytes);
	return rc;
}

/* Move a damaged index aside; the files it described go too. */
static int move_aside(struct cache_index *ix, char *err, size_t errlen)
{
	char from[4200], to[4300];
	int n = snprintf(to, sizeof(to), "%s/index.corrupt-%lld-%d", ix->dir, (long long)time(NULL),
	                 (int)getpid());
	if (!join(from, sizeof(from), ix->dir, "index") || n < 0 || (size_t)n >= sizeof(to) ||
	    rename(from, to) != 0) {
		snprintf(err, errlen, "cannot move the damaged index %s aside: %s", from,
		         strerror(errno));
		return MP_ERR_IO;
	}
	logf_(ix, 1,
	      "the index %s was damaged or of another version: moved to %s, starting "
	      "with an empty cache",
	      from, to);
	return CACHE_OK;
}

int cache_index_open(const char *dir, const struct cache_index_conf *conf, struct cache_index **out,
                     char *err, size_t errlen)
{
	*out = NULL;
	struct cache_index *ix = calloc(1, sizeof(*ix));
	if (!ix) {
		snprintf(err, errlen, "out of memory");
		return MP_ERR_NOMEM;
	}
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 0 || n >= sizeof(ix->dir) - 200) {
		snprintf(err, errlen, "the cache path is empty or too long");
		free(ix);
		return MP_ERR_CONFIG;
	}
	memcpy(ix->dir, dir, n);
	ix->conf = *conf;
	if (!ix->conf.map_size)
		ix->conf.map_size = 64u << 20;
	int r = mkdirs(ix->dir, ix->conf.dir_mode);
	if (r < 0) {
		snprintf(err, errlen,
		         "cannot make the cache directory %s: %s (check the path "
		         "and the rights of its parent)",
		         ix->dir, strerror(-r));
		free(ix);
		return MP_ERR_IO;
	}
	struct stat st;
	if (stat(ix->dir, &st) == 0 && (st.st_mode & 0022))
		logf_(ix, 1,
		      "the cache directory %s is writable by others (mode %04o): anyone "
		      "who can write there can change what clients are served",
		      ix->dir, (unsigned)(st.st_mode & 07777));
	char data[4200];
	if (!join(data, sizeof(data), ix->dir, "data")) {
		free(ix);
		return MP_ERR_CONFIG;
	}
	if ((r = mkdirs(data, ix->conf.dir_mode)) < 0) {
		snprintf(err, errlen, "cannot make %s: %s", data, strerror(-r));
		free(ix);
		return MP_ERR_IO;
	}
	int mdb_rc;
	int rc = open_env(ix, err, errlen, &mdb_rc);
	if (rc && corrupt_rc(mdb_rc)) {
		if ((rc = move_aside(ix, err, errlen)) == CACHE_OK)
			rc = open_env(ix, err, errlen, &mdb_rc);
	}
	if (rc == CACHE_OK)
		rc = sweep(ix);
	if (rc) {
		if (!err[0])
			snprintf(err, errlen, "cannot use the index under %s", ix->dir);
		cache_index_close(ix);
		return rc;
	}
	*out = ix;
	return CACHE_OK;
}

void cache_index_close(struct cache_index *ix)
{
	if (!ix)
		return;
	if (ix->env)
		mdb_env_close(ix->env);
	free(ix);
}

/* ---- reading ----------------------------------------------------------- */

int cache_index_gen(struct cache_index *ix, const struct cache_key *key, uint64_t *gen)
{
	MDB_txn *txn;
	uint8_t kb[KEY_LEN];
	key_enc(key, kb);
	int rc = begin(ix, false, &txn);
	if (rc)
		return rc;
	*gen = gen_of(ix, txn, kb);
	mdb_txn_abort(txn);
	return CACHE_OK;
}

int cache_index_lookup(struct cache_index *ix, const struct cache_key *key, struct cache_entry *out)
{
	MDB_txn *txn;
	uint8_t kb[KEY_LEN];
	key_enc(key, kb);
	int rc = begin(ix, false, &txn);
	if (rc)
		return rc;
	rc = get_entry(ix, txn, kb, out);
	mdb_txn_abort(txn);
	return rc;
}

bool cache_index_has_message(struct cache_index *ix, const uint8_t mbox[16], uint64_t mid)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	struct cache_key key = {.mid = mid, .attach = 0, .tag = 0};
	memcpy(key.mbox, mbox, 16);
	uint8_t kb[KEY_LEN];
	key_enc(&key, kb);
	if (begin(ix, false, &txn))
		return false;
	bool found = false;
	if (mdb_cursor_open(txn, ix->entries, &cur) == 0) {
		MDB_val k = {KEY_LEN, kb}, v;
		found = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) == 0 && k.mv_size == KEY_LEN &&
		        memcmp(k.mv_data, kb, MSG_LEN) == 0;
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	return found;
}

bool cache_index_message_stamp_differs(struct cache_index *ix, const uint8_t mbox[16], uint64_t mid,
                                       uint64_t stamp)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	struct cache_key key = {.mid = mid};
	memcpy(key.mbox, mbox, 16);
	uint8_t kb[KEY_LEN];
	key_enc(&key, kb);
	if (begin(ix, false, &txn))
		return false;
	bool differs = false;
	if (mdb_cursor_open(txn, ix->entries, &cur) == 0) {
		MDB_val k = {KEY_LEN, kb}, v;
		for (int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && !differs;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			struct cache_entry e;
			if (k.mv_size != KEY_LEN || memcmp(k.mv_data, kb, MSG_LEN) != 0)
				break;
			differs = val_dec(&v, &e) && e.state == CACHE_COMPLETE && e.stamp != stamp;
		}
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	return differs;
}

int cache_index_open_file(struct cache_index *ix, const struct cache_key *key, int *fd,
                          struct cache_entry *out)
{
	MDB_txn *txn;
	uint8_t kb[KEY_LEN];
	key_enc(key, kb);
	*fd = -1;
	int rc = begin(ix, true, &txn);
	if (rc)
		return rc;
	struct cache_entry e;
	rc = get_entry(ix, txn, kb, &e);
	if (rc == CACHE_OK && e.state != CACHE_COMPLETE)
		rc = CACHE_NOTFOUND;
	if (rc) {
		mdb_txn_abort(txn);
		return rc;
	}
	char path[4300];
	cache_index_path(ix, key, path, sizeof(path));
	int f = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (f < 0 || fstat(f, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_ino != e.ino ||
	    (uint64_t)st.st_size != e.size) {
		logf_(ix, 1, "%s: %s; dropping the entry", path,
		      f < 0 ? strerror(errno) : "not the file the index describes");
		if (f >= 0)
			close(f);
		/* the file is not ours any more: keep it, drop the entry */
		MDB_val k = {KEY_LEN, kb};
		uint8_t lk[LRU_LEN];
		lru_key(e.use_seq, kb, lk);
		MDB_val l = {LRU_LEN, lk};
		uint64_t total = meta_u64(ix, txn, "total");
		if (mdb_del(txn, ix->entries, &k, NULL) || mdb_del(txn, ix->lru, &l, NULL) ||
		    meta_put(ix, txn, "total", total > e.size ? total - e.size : 0)) {
			mdb_txn_abort(txn);
			return CACHE_BAD;
		}
		commit(ix, txn);
		return CACHE_BAD;
	}
	/* Move it to the front of the LRU. */
	struct cache_entry ne = e;
	ne.use_seq = meta_u64(ix, txn, "seq") + 1;
	ne.last_use = now_s();
	if (meta_put(ix, txn, "seq", ne.use_seq) || put_entry(ix, txn, kb, &ne, &e)) {
		mdb_txn_abort(txn); /* the file is still good to read */
	} else {
		commit(ix, txn);
	}
	*fd = f;
	*out = ne;
	return CACHE_OK;
}

/* ---- writing ----------------------------------------------------------- */

int cache_index_tmp_create(struct cache_index *ix, const struct cache_key *key, char *path,
                           size_t len, int *fd)
{
	char final[4300];
	*fd = -1;
	int r = key_dir(ix, key, final, sizeof(final));
	if (r < 0) {
		logf_(ix, 0, "cannot make the directory %s: %s", final, strerror(-r));
		return MP_ERR_IO;
	}
	cache_index_path(ix, key, final, sizeof(final));
	for (int tries = 0; tries < 100; tries++) {
		int n = snprintf(path, len, "%s.tmp.%d.%u", final, (int)getpid(), ++ix->tmp_seq);
		if (n < 0 || (size_t)n >= len)
			return MP_ERR_LIMIT;
		int f = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		             ix->conf.file_mode);
		if (f >= 0) {
			if (fchmod(f, ix->conf.file_mode) != 0) {
				logf_(ix, 0, "cannot set the mode of %s: %s", path,
				      strerror(errno));
				close(f);
				unlink(path);
				return MP_ERR_IO;
			}
			*fd = f;
			return CACHE_OK;
		}
		if (errno != EEXIST) {
			logf_(ix, 0, "cannot create %s: %s", path, strerror(errno));
			return MP_ERR_IO;
		}
	}
	return MP_ERR_IO;
}

/* Publish `tmp` (or, with tmp NULL, the final file as it is) as complete. */
static int publish(struct cache_index *ix, MDB_txn *txn, const uint8_t kb[KEY_LEN],
                   const struct cache_key *key, const char *tmp, const struct cache_commit *c,
                   const struct cache_entry *old)
{
	char final[4300];
	struct stat st;
	cache_index_path(ix, key, final, sizeof(final));
	const char *src = tmp ? tmp : final;
	if (lstat(src, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != c->size) {
		logf_(ix, 1, "%s: %s, expected %" PRIu64 " bytes", src,
		      lstat(src, &st) != 0   ? strerror(errno)
		      : !S_ISREG(st.st_mode) ? "not a regular file"
		                             : "wrong size",
		      c->size);
		return CACHE_BAD;
	}
	if (chmod(src, ix->conf.file_mode) != 0)
		return CACHE_BAD;
	if (tmp && rename(tmp, final) != 0) {
		logf_(ix, 0, "cannot rename %s to %s: %s", tmp, final, strerror(errno));
		return CACHE_BAD;
	}
	if (lstat(final, &st) != 0)
		return CACHE_BAD;
	struct cache_entry e = {
	    .state = CACHE_COMPLETE,
	    .size = c->size,
	    .fid = c->fid,
	    .stamp = c->stamp,
	    .ino = (uint64_t)st.st_ino,
	    .mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec,
	    .use_seq = meta_u64(ix, txn, "seq") + 1,
	    .last_use = now_s(),
	    .gen = c->gen,
	};
	uint64_t total = meta_u64(ix, txn, "total");
	if (old && old->state == CACHE_COMPLETE)
		total = total > old->size ? total - old->size : 0;
	int rc;
	if ((rc = meta_put(ix, txn, "seq", e.use_seq)) ||
	    (rc = meta_put(ix, txn, "total", total + e.size)) ||
	    (rc = put_entry(ix, txn, kb, &e, old)) || (rc = evict(ix, txn, kb)))
		return mdb_fail(ix, "publishing a file", rc);
	return CACHE_OK;
}

int cache_index_commit(struct cache_index *ix, const struct cache_key *key, const char *tmp,
                       const struct cache_commit *c)
{
	MDB_txn *txn;
	uint8_t kb[KEY_LEN];
	key_enc(key, kb);
	if (ix->conf.max_size && c->size > ix->conf.max_size) {
		unlink(tmp);
		return CACHE_TOOBIG;
	}
	int rc = begin(ix, true, &txn);
	if (rc) {
		unlink(tmp);
		return rc;
	}
	struct cache_entry old;
	int have = get_entry(ix, txn, kb, &old);
	if (have < 0) {
		rc = have;
	} else if (gen_of(ix, txn, kb) != c->gen) {
		rc = CACHE_STALE;
	} else if (have == CACHE_OK && old.state == CACHE_SYNCING &&
	           pid_alive((pid_t)old.sync_pid)) {
		rc = CACHE_BUSY;
	} else if (have == CACHE_OK && old.state == CACHE_COMPLETE && old.size == c->size &&
	           old.stamp == c->stamp) {
		rc = CACHE_EXISTS;
	} else {
		rc = publish(ix, txn, kb, key, tmp, c, have == CACHE_OK ? &old : NULL);
	}
	if (rc == CACHE_OK)
		return commit(ix, txn);
	mdb_txn_abort(txn);
	unlink(tmp);
	return rc;
}

/* Drop the entries of one message (kb holds its prefix), bump its generation. */
static int drop_message(struct cache_index *ix, MDB_txn *txn, const uint8_t prefix[MSG_LEN])
{
	uint8_t kb[KEY_LEN] = {0};
	memcpy(kb, prefix, MSG_LEN);
	int rc = gen_bump(ix, txn, kb);
	for (int guard = 0; rc == 0 && guard < 1 << 20; guard++) {
		MDB_cursor *cur;
		if ((rc = mdb_cursor_open(txn, ix->entries, &cur)))
			break;
		MDB_val k = {KEY_LEN, kb}, v;
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		struct cache_entry e;
		uint8_t found[KEY_LEN];
		bool mine =
		    rc == 0 && k.mv_size == KEY_LEN && memcmp(k.mv_data, prefix, MSG_LEN) == 0;
		if (mine)
			memcpy(found, k.mv_data, KEY_LEN);
		mdb_cursor_close(cur);
		if (!mine)
			return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
		if (!val_dec(&v, &e)) {
			MDB_val dk = {KEY_LEN, found};
			rc = mdb_del(txn, ix->entries, &dk, NULL);
		} else {
			rc = drop_entry(ix, txn, found, &e);
		}
	}
	return rc;
}

int cache_index_invalidate_message(struct cache_index *ix, const uint8_t mbox[16], uint64_t mid)
{
	MDB_txn *txn;
	uint8_t prefix[MSG_LEN];
	memcpy(prefix, mbox, 16);
	put64be(prefix + 16, mid);
	int rc = begin(ix, true, &txn);
	if (rc)
		return rc;
	if ((rc = drop_message(ix, txn, prefix))) {
		mdb_txn_abort(txn);
		return mdb_fail(ix, "invalidating a message", rc);
	}
	return commit(ix, txn);
}

int cache_index_invalidate_folder(struct cache_index *ix, const uint8_t mbox[16], uint64_t fid)
{
	MDB_txn *txn;
	int rc = begin(ix, true, &txn);
	if (rc)
		return rc;
	/* Entries of the folder's messages, one message at a time. */
	uint8_t kb[KEY_LEN] = {0};
	memcpy(kb, mbox, 16);
	for (int guard = 0; guard < 1 << 20; guard++) {
		MDB_cursor *cur;
		if ((rc = mdb_cursor_open(txn, ix->entries, &cur)))
			break;
		MDB_val k = {KEY_LEN, kb}, v;
		uint8_t prefix[MSG_LEN];
		bool hit = false;
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			struct cache_entry e;
			if (k.mv_size != KEY_LEN || memcmp(k.mv_data, mbox, 16) != 0) {
				rc = MDB_NOTFOUND;
				break;
			}
			if (val_dec(&v, &e) && e.fid == fid) {
				memcpy(prefix, k.mv_data, MSG_LEN);
				hit = true;
				break;
			}
		}
		mdb_cursor_close(cur);
		if (!hit)
			break;
		if ((rc = drop_message(ix, txn, prefix)))
			break;
		memcpy(kb, prefix, MSG_LEN); /* go on after this message */
		memset(kb + MSG_LEN, 0xff, KEY_LEN - MSG_LEN);
	}
	if (rc && rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return mdb_fail(ix, "invalidating a folder", rc);
	}
	return commit(ix, txn);
}

int cache_index_sync_begin(struct cache_index *ix, const struct cache_key *key, uint64_t gen,
                           pid_t pid, unsigned timeout)
{
	MDB_txn *txn;
	uint8_t kb[KEY_LEN];
	key_enc(key, kb);
	int rc = begin(ix, true, &txn);
	if (rc)
		return rc;
	struct cache_entry old;
	int have = get_entry(ix, txn, kb, &old);
	if (have < 0) {
		rc = have;
	} else if (gen_of(ix, txn, kb) != gen) {
		rc = CACHE_STALE;
	} else if (have == CACHE_OK && old.state == CACHE_COMPLETE) {
		rc = CACHE_EXISTS;
	} else if (have == CACHE_OK && old.state == CACHE_SYNCING &&
	           pid_alive((pid_t)old.sync_pid) && now_s() < old.sync_started + timeout) {
		rc = CACHE_BUSY;
	} else {
		char final[4300];
		int r = key_dir(ix, key, final, sizeof(final));
		cache_index_path(ix, key, final, sizeof(final));
		/* A fresh inode for the command: a reader of an older file keeps
		 * its own. */
		if (r < 0 || (unlink(final) != 0 && errno != ENOENT)) {
			logf_(ix, 0, "cannot prepare %s: %s", final, strerror(r < 0 ? -r : errno));
			rc = MP_ERR_IO;
		} else {
			struct cache_entry e = {.state = CACHE_SYNCING,
			                        .gen = gen,
			                        .sync_pid = (uint32_t)pid,
			                        .sync_started = now_s()};
			rc = put_entry(ix, txn, kb, &e, have == CACHE_OK ? &old : NULL);
			if (rc)
				rc = mdb_fail(ix, "claiming a sync", rc);
		}
	}
	if (rc == CACHE_OK)
		return commit(ix, txn);
	mdb_txn_abort(txn);
	return rc;
}

int cache_index_sync_end(struct cache_index *ix, const struct cache_key *key, pid_t pid, bool ok,
                         const char *tmp, const struct cache_commit *c)
{
	MDB_txn *txn;
	uint8_t kb[KEY_LEN];
	key_enc(key, kb);
	char final[4300];
	cache_index_path(ix, key, final, sizeof(final));
	int rc = begin(ix, true, &txn);
	if (rc)
		goto fail;
	struct cache_entry old;
	int have = get_entry(ix, txn, kb, &old);
	if (have != CACHE_OK || old.state != CACHE_SYNCING || old.sync_pid != (uint32_t)pid) {
		/* The claim went (an invalidation, or it expired): what the
		 * command wrote is not ours to publish. The final file is ours
		 * to remove unless someone published or claimed it since. */
		if (tmp)
			unlink(tmp);
		if (have == CACHE_NOTFOUND)
			unlink(final); /* under the writer lock: nobody publishes meanwhile */
		mdb_txn_abort(txn);
		return CACHE_STALE;
	}
	if (ok && gen_of(ix, txn, kb) != c->gen) {
		rc = CACHE_STALE;
	} else if (ok && ix->conf.max_size && c->size > ix->conf.max_size) {
		rc = CACHE_TOOBIG;
	} else if (ok) {
		struct cache_commit cc = *c;
		cc.gen = old.gen;
		rc = publish(ix, txn, kb, key, tmp, &cc, &old);
	} else {
		rc = CACHE_BAD;
	}
	if (rc != CACHE_OK) {
		MDB_val k = {KEY_LEN, kb};
		int d = mdb_del(txn, ix->entries, &k, NULL);
		if (d && d != MDB_NOTFOUND) {
			mdb_txn_abort(txn);
			mdb_fail(ix, "ending a sync", d);
			goto fail;
		}
		unlink(final);
		if (tmp)
			unlink(tmp);
		int c2 = commit(ix, txn);
		return c2 ? c2 : rc;
	}
	return commit(ix, txn);
fail:
	if (tmp)
		unlink(tmp);
	return rc ? rc : MP_ERR_IO;
}

int cache_index_stats(struct cache_index *ix, uint64_t *entries, uint64_t *bytes)
{
	MDB_txn *txn;
	int rc = begin(ix, false, &txn);
	if (rc)
		return rc;
	MDB_stat st;
	*entries = 0;
	if (mdb_stat(txn, ix->lru, &st) == 0)
		*entries = st.ms_entries;
	*bytes = meta_u64(ix, txn, "total");
	mdb_txn_abort(txn);
	return CACHE_OK;
}
