/*
 * The store's environment and transactions: opening a data directory
 * (LMDB, one environment per directory and process), nested per-call
 * transactions, error recording, key helpers and the header records of
 * mailboxes, folders and messages.
 */
#include "server/store/store_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <talloc.h>

/* Open stores of this process, by directory identity: LMDB must not open one
 * environment twice in a process (its POSIX locks would be dropped). */
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mp_store *open_list;

/* ---- Errors ---- */

int st_fail(struct mp_store_txn *txn, int rc, uint32_t ec, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(txn->err, sizeof(txn->err), fmt, ap);
	va_end(ap);
	txn->ec = ec;
	return rc;
}

int st_mdb(struct mp_store_txn *txn, int mrc, const char *what)
{
	switch (mrc) {
	case 0:
		return MP_OK;
	case MDB_NOTFOUND:
		return st_fail(txn, MP_ERR_NOTFOUND, MP_STORE_EC_NOT_FOUND, "%s: not found", what);
	case MDB_MAP_FULL:
	case MDB_TXN_FULL: {
		MDB_envinfo info;
		mdb_env_info(txn->st->env, &info);
		return st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_DISK_FULL,
			       "%s: the store is full (map size %zu bytes; raise it)", what,
			       info.me_mapsize);
	}
	case ENOMEM:
		return st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "%s: out of memory", what);
	default:
		return st_fail(txn, MP_ERR_IO, MP_STORE_EC_ERROR, "%s: %s", what, mdb_strerror(mrc));
	}
}

/* ---- Open / close ---- */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static bool name_ok(const char *s, size_t max, bool allow_slash)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c > 0x7e || (!allow_slash && (c == '/' || c == '=')))
			return false;
	}
	return true;
}

static int meta_get_str(MDB_txn *t, MDB_dbi dbi, const char *key, char *out, size_t cap)
{
	MDB_val k = {strlen(key), (void *)key}, v;
	int rc = mdb_get(t, dbi, &k, &v);
	if (rc)
		return rc;
	if (v.mv_size >= cap)
		return MDB_CORRUPTED;
	memcpy(out, v.mv_data, v.mv_size);
	out[v.mv_size] = '\0';
	return 0;
}

static int meta_put(MDB_txn *t, MDB_dbi dbi, const char *key, const void *val, size_t len)
{
	MDB_val k = {strlen(key), (void *)key}, v = {len, (void *)val};
	return mdb_put(t, dbi, &k, &v, 0);
}

/* Open the sub-databases and read (or, when new, write) the meta values. */
static int open_dbs(struct mp_store *st, const struct mp_store_opts *o, char *err, size_t errlen)
{
	MDB_txn *t;
	unsigned dflags = st->read_only ? 0 : MDB_CREATE;
	int rc = mdb_txn_begin(st->env, NULL, st->read_only ? MDB_RDONLY : 0, &t);
	if (rc) {
		seterr(err, errlen, "store: %s", mdb_strerror(rc));
		return MP_ERR_IO;
	}
	if ((rc = mdb_dbi_open(t, "meta", dflags, &st->meta)) ||
	    (rc = mdb_dbi_open(t, "users", dflags, &st->users)) ||
	    (rc = mdb_dbi_open(t, "uidx", dflags, &st->uidx)) ||
	    (rc = mdb_dbi_open(t, "obj", dflags, &st->obj)) ||
	    (rc = mdb_dbi_open(t, "idx", dflags, &st->idx))) {
		mdb_txn_abort(t);
		if (rc == MDB_NOTFOUND) {
			seterr(err, errlen, "store: no store here (open it writable to create one)");
			return MP_ERR_NOTFOUND;
		}
		seterr(err, errlen, "store: %s", mdb_strerror(rc));
		return MP_ERR_IO;
	}

	MDB_val k = {7, "version"}, v;
	rc = mdb_get(t, st->meta, &k, &v);
	if (rc == MDB_NOTFOUND && !st->read_only) {
		uint8_t ver[4], one[4], mid[4];
		mp_put_u32(ver, MP_STORE_FORMAT_VERSION);
		mp_put_u32(one, 1);
		/* MIds below 0x10 are positioning values in MS-OXNSPI; start well above. */
		mp_put_u32(mid, 0x1000);
		const char *org = o && o->org ? o->org : "First Organization";
		const char *ag = o && o->admin_group ? o->admin_group
						     : "Exchange Administrative Group (FYDIBOHF23SPDLT)";
		const char *dom = o && o->mail_domain ? o->mail_domain : "example.com";
		if ((rc = meta_put(t, st->meta, "version", ver, 4)) ||
		    (rc = meta_put(t, st->meta, "org", org, strlen(org))) ||
		    (rc = meta_put(t, st->meta, "admin_group", ag, strlen(ag))) ||
		    (rc = meta_put(t, st->meta, "mail_domain", dom, strlen(dom))) ||
		    (rc = meta_put(t, st->meta, "next_user", one, 4)) ||
		    (rc = meta_put(t, st->meta, "next_mid", mid, 4))) {
			mdb_txn_abort(t);
			seterr(err, errlen, "store: %s", mdb_strerror(rc));
			return rc == MDB_MAP_FULL ? MP_ERR_LIMIT : MP_ERR_IO;
		}
	} else if (rc == MDB_NOTFOUND) {
		mdb_txn_abort(t);
		seterr(err, errlen, "store: no store here (open it writable to create one)");
		return MP_ERR_NOTFOUND;
	} else if (rc) {
		mdb_txn_abort(t);
		seterr(err, errlen, "store: %s", mdb_strerror(rc));
		return MP_ERR_IO;
	} else {
		uint32_t ver = v.mv_size == 4 ? mp_get_u32(v.mv_data) : 0;
		if (ver == 0 || ver > MP_STORE_FORMAT_VERSION) {
			mdb_txn_abort(t);
			seterr(err, errlen, "store: format version %u is not supported (this is %u)",
			       ver, MP_STORE_FORMAT_VERSION);
			return MP_ERR_CONFIG;
		}
	}
	if ((rc = meta_get_str(t, st->meta, "org", st->org, sizeof(st->org))) ||
	    (rc = meta_get_str(t, st->meta, "admin_group", st->admin_group,
			       sizeof(st->admin_group))) ||
	    (rc = meta_get_str(t, st->meta, "mail_domain", st->mail_domain,
			       sizeof(st->mail_domain)))) {
		mdb_txn_abort(t);
		seterr(err, errlen, "store: meta data: %s", mdb_strerror(rc));
		return MP_ERR_IO;
	}
	rc = mdb_txn_commit(t);
	if (rc) {
		seterr(err, errlen, "store: %s", mdb_strerror(rc));
		return MP_ERR_IO;
	}
	return MP_OK;
}

static int check_opts(const struct mp_store_opts *o, char *err, size_t errlen)
{
	if (!o)
		return MP_OK;
	if (o->map_size && o->map_size < MP_STORE_MIN_MAP_SIZE) {
		seterr(err, errlen, "store: map size %zu is below the minimum %zu", o->map_size,
		       (size_t)MP_STORE_MIN_MAP_SIZE);
		return MP_ERR_CONFIG;
	}
	if (o->org && !name_ok(o->org, MP_STORE_MAX_ORG, false)) {
		seterr(err, errlen, "store: organisation name must be 1..%d printable ASCII "
				    "characters without '/' or '='", MP_STORE_MAX_ORG);
		return MP_ERR_CONFIG;
	}
	if (o->admin_group && !name_ok(o->admin_group, MP_STORE_MAX_ORG, false)) {
		seterr(err, errlen, "store: administrative group name must be 1..%d printable "
				    "ASCII characters without '/' or '='", MP_STORE_MAX_ORG);
		return MP_ERR_CONFIG;
	}
	if (o->mail_domain && (!name_ok(o->mail_domain, MP_STORE_MAX_ORG, false) ||
			       strchr(o->mail_domain, '@') || strchr(o->mail_domain, ' '))) {
		seterr(err, errlen, "store: bad mail domain");
		return MP_ERR_CONFIG;
	}
	return MP_OK;
}

int mp_store_open(struct mp_store **out, const char *dir, const struct mp_store_opts *opts,
		  char *err, size_t errlen)
{
	struct stat sb;
	int rc;

	*out = NULL;
	rc = check_opts(opts, err, errlen);
	if (rc != MP_OK)
		return rc;
	bool create = opts && opts->create;
	bool ro = opts && opts->read_only;
	if (stat(dir, &sb) != 0) {
		if (errno != ENOENT) {
			seterr(err, errlen, "%s: %s", dir, strerror(errno));
			return MP_ERR_IO;
		}
		if (!create || ro) {
			seterr(err, errlen, "%s: no such directory", dir);
			return MP_ERR_NOTFOUND;
		}
		if (mkdir(dir, 0700) != 0 || stat(dir, &sb) != 0) {
			seterr(err, errlen, "%s: %s", dir, strerror(errno));
			return MP_ERR_IO;
		}
	}
	if (!S_ISDIR(sb.st_mode)) {
		seterr(err, errlen, "%s: not a directory", dir);
		return MP_ERR_CONFIG;
	}
	if (sb.st_mode & 077) {
		seterr(err, errlen, "%s: group or others may access it (mode %03o); chmod 700 it",
		       dir, (unsigned)(sb.st_mode & 0777));
		return MP_ERR_CONFIG;
	}
	if (!create) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/data.mdb", dir);
		if (access(path, F_OK) != 0) {
			seterr(err, errlen, "%s: no store here", dir);
			return MP_ERR_NOTFOUND;
		}
	}

	struct mp_store *st = talloc_zero(NULL, struct mp_store);
	if (!st) {
		seterr(err, errlen, "store: out of memory");
		return MP_ERR_NOMEM;
	}
	st->dev = sb.st_dev;
	st->ino = sb.st_ino;
	st->read_only = ro;

	pthread_mutex_lock(&open_lock);
	for (struct mp_store *o = open_list; o; o = o->next) {
		if (o->dev == st->dev && o->ino == st->ino) {
			pthread_mutex_unlock(&open_lock);
			talloc_free(st);
			seterr(err, errlen, "%s: this store is already open in this process", dir);
			return MP_ERR_CONFIG;
		}
	}
	st->next = open_list;
	open_list = st; /* reserve the directory while we open it */
	pthread_mutex_unlock(&open_lock);

	size_t map = opts && opts->map_size ? opts->map_size : MP_STORE_DEFAULT_MAP_SIZE;
	if ((rc = mdb_env_create(&st->env)) || (rc = mdb_env_set_maxdbs(st->env, 8)) ||
	    (rc = mdb_env_set_mapsize(st->env, map)) ||
	    (rc = mdb_env_open(st->env, dir, MDB_NOTLS | (ro ? MDB_RDONLY : 0), 0600))) {
		seterr(err, errlen, "%s: %s", dir, mdb_strerror(rc));
		mp_store_close(st);
		return rc == ENOENT ? MP_ERR_NOTFOUND : MP_ERR_IO;
	}
	rc = open_dbs(st, opts, err, errlen);
	if (rc != MP_OK) {
		mp_store_close(st);
		return rc;
	}
	if (!ro) {
		struct mp_store_txn *txn;
		rc = mp_store_txn_begin(st, true, &txn);
		if (rc == MP_OK) {
			rc = st_purge_pending(txn);
			if (rc == MP_OK)
				rc = mp_store_txn_commit(txn);
			else {
				seterr(err, errlen, "store: %s", txn->err);
				mp_store_txn_abort(txn);
			}
		}
		if (rc != MP_OK) {
			mp_store_close(st);
			return rc;
		}
	}
	*out = st;
	return MP_OK;
}

void mp_store_close(struct mp_store *st)
{
	if (!st)
		return;
	pthread_mutex_lock(&open_lock);
	for (struct mp_store **pp = &open_list; *pp; pp = &(*pp)->next) {
		if (*pp == st) {
			*pp = st->next;
			break;
		}
	}
	pthread_mutex_unlock(&open_lock);
	if (st->env)
		mdb_env_close(st->env);
	talloc_free(st);
}

const char *mp_store_org(const struct mp_store *st)
{
	return st->org;
}

const char *mp_store_admin_group(const struct mp_store *st)
{
	return st->admin_group;
}

const char *mp_store_mail_domain(const struct mp_store *st)
{
	return st->mail_domain;
}

/* ---- Transactions ---- */

int mp_store_txn_begin(struct mp_store *st, bool write, struct mp_store_txn **out)
{
	*out = NULL;
	if (write && st->read_only)
		return MP_ERR_PROTO;
	struct mp_store_txn *txn = talloc_zero(NULL, struct mp_store_txn);
	if (!txn)
		return MP_ERR_NOMEM;
	txn->mem = talloc_new(txn);
	if (!txn->mem) {
		talloc_free(txn);
		return MP_ERR_NOMEM;
	}
	txn->st = st;
	txn->write = write;
	int rc = mdb_txn_begin(st->env, NULL, write ? 0 : MDB_RDONLY, &txn->stack[0]);
	if (rc) {
		talloc_free(txn);
		return rc == ENOMEM ? MP_ERR_NOMEM : MP_ERR_IO;
	}
	*out = txn;
	return MP_OK;
}

int mp_store_txn_commit(struct mp_store_txn *txn)
{
	int rc = MP_OK;
	while (txn->depth > 0) { /* an op left open is a bug: drop its work */
		mdb_txn_abort(txn->stack[txn->depth--]);
		rc = MP_ERR_PROTO;
	}
	if (rc != MP_OK) {
		mdb_txn_abort(txn->stack[0]);
		talloc_free(txn);
		return rc;
	}
	int mrc = mdb_txn_commit(txn->stack[0]);
	if (mrc)
		rc = mrc == MDB_MAP_FULL ? MP_ERR_LIMIT : mrc == ENOMEM ? MP_ERR_NOMEM : MP_ERR_IO;
	talloc_free(txn);
	return rc;
}

void mp_store_txn_abort(struct mp_store_txn *txn)
{
	if (!txn)
		return;
	while (txn->depth > 0)
		mdb_txn_abort(txn->stack[txn->depth--]);
	mdb_txn_abort(txn->stack[0]);
	talloc_free(txn);
}

const char *mp_store_txn_errmsg(const struct mp_store_txn *txn)
{
	return txn->err;
}

uint32_t mp_store_txn_ec(const struct mp_store_txn *txn)
{
	return txn->ec;
}

void *mp_store_txn_mem(struct mp_store_txn *txn)
{
	return txn->mem;
}

struct mp_store *mp_store_txn_store(struct mp_store_txn *txn)
{
	return txn->st;
}

int st_op_begin(struct mp_store_txn *txn)
{
	if (!txn->write)
		return st_fail(txn, MP_ERR_PROTO, MP_STORE_EC_ACCESS_DENIED,
			       "a read transaction cannot change the store");
	if (txn->depth >= ST_OP_MAX_DEPTH)
		return st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_ERROR, "transactions nested too deep");
	MDB_txn *child;
	int rc = mdb_txn_begin(txn->st->env, st_cur(txn), 0, &child);
	if (rc)
		return st_mdb(txn, rc, "begin");
	txn->stack[++txn->depth] = child;
	txn->err[0] = '\0';
	txn->ec = 0;
	return MP_OK;
}

int st_op_end(struct mp_store_txn *txn, int rc)
{
	MDB_txn *child = txn->stack[txn->depth--];
	if (rc != MP_OK) {
		mdb_txn_abort(child);
		return rc;
	}
	int mrc = mdb_txn_commit(child);
	return mrc ? st_mdb(txn, mrc, "commit") : MP_OK;
}

/* ---- Database access ---- */

int st_get(struct mp_store_txn *txn, MDB_dbi dbi, const void *k, size_t kl, MDB_val *v)
{
	MDB_val key = {kl, (void *)k};
	int rc = mdb_get(st_cur(txn), dbi, &key, v);
	if (rc == MDB_NOTFOUND)
		return MP_ERR_NOTFOUND;
	return rc ? st_mdb(txn, rc, "read") : MP_OK;
}

int st_put(struct mp_store_txn *txn, MDB_dbi dbi, const void *k, size_t kl, const void *v,
	   size_t vl)
{
	MDB_val key = {kl, (void *)k}, val = {vl, (void *)v};
	int rc = mdb_put(st_cur(txn), dbi, &key, &val, 0);
	return rc ? st_mdb(txn, rc, "write") : MP_OK;
}

int st_put_reserve(struct mp_store_txn *txn, MDB_dbi dbi, const void *k, size_t kl, size_t vl,
		   uint8_t **out)
{
	MDB_val key = {kl, (void *)k}, val = {vl, NULL};
	int rc = mdb_put(st_cur(txn), dbi, &key, &val, MDB_RESERVE);
	if (rc)
		return st_mdb(txn, rc, "write");
	*out = val.mv_data;
	return MP_OK;
}

int st_del(struct mp_store_txn *txn, MDB_dbi dbi, const void *k, size_t kl)
{
	MDB_val key = {kl, (void *)k};
	int rc = mdb_del(st_cur(txn), dbi, &key, NULL);
	if (rc == MDB_NOTFOUND)
		return MP_OK;
	return rc ? st_mdb(txn, rc, "delete") : MP_OK;
}

int st_del_prefix(struct mp_store_txn *txn, MDB_dbi dbi, const void *prefix, size_t plen)
{
	MDB_cursor *c;
	int rc = mdb_cursor_open(st_cur(txn), dbi, &c);
	if (rc)
		return st_mdb(txn, rc, "cursor");
	for (;;) {
		/* Seek afresh after each delete: simple and safe with LMDB's cursor rules. */
		MDB_val k = {plen, (void *)prefix}, v;
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
		if (rc == MDB_NOTFOUND || (rc == 0 && (k.mv_size < plen ||
						       memcmp(k.mv_data, prefix, plen) != 0))) {
			rc = 0;
			break;
		}
		if (rc)
			break;
		rc = mdb_cursor_del(c, 0);
		if (rc)
			break;
	}
	mdb_cursor_close(c);
	return rc ? st_mdb(txn, rc, "delete") : MP_OK;
}

int st_iter_open(struct mp_store_txn *txn, MDB_dbi dbi, const void *prefix, size_t plen,
		 struct st_iter *it)
{
	memset(it, 0, sizeof(*it));
	if (plen > sizeof(it->prefix))
		return st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_ERROR, "key prefix too long");
	memcpy(it->prefix, prefix, plen);
	it->plen = plen;
	int rc = mdb_cursor_open(st_cur(txn), dbi, &it->c);
	if (rc) {
		it->c = NULL;
		return st_mdb(txn, rc, "cursor");
	}
	return MP_OK;
}

int st_iter_next(struct mp_store_txn *txn, struct st_iter *it)
{
	int rc;
	if (!it->started) {
		it->started = true;
		it->k.mv_size = it->plen;
		it->k.mv_data = it->prefix;
		/* LMDB refuses empty keys: an empty prefix starts at the first key. */
		rc = mdb_cursor_get(it->c, &it->k, &it->v, it->plen ? MDB_SET_RANGE : MDB_FIRST);
	} else {
		rc = mdb_cursor_get(it->c, &it->k, &it->v, MDB_NEXT);
	}
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return st_mdb(txn, rc, "read");
	if (it->k.mv_size < it->plen || memcmp(it->k.mv_data, it->prefix, it->plen) != 0)
		return 0;
	return 1;
}

void st_iter_close(struct st_iter *it)
{
	if (it->c)
		mdb_cursor_close(it->c);
	it->c = NULL;
}

/* ---- Byte order ---- */

void st_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void st_be32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

void st_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

uint16_t st_get_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

uint32_t st_get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

uint64_t st_get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

void st_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

uint64_t st_get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

void st_objkey(uint8_t k[ST_OBJKEY_LEN], uint32_t mbox, uint64_t gc, uint8_t kind, uint32_t sub,
	       uint16_t propid)
{
	st_be32(k, mbox);
	st_be64(k + 4, gc);
	k[12] = kind;
	st_be32(k + 13, sub);
	st_be16(k + 17, propid);
}

size_t st_idxkey(uint8_t *k, uint32_t mbox, uint8_t tag)
{
	st_be32(k, mbox);
	k[4] = tag;
	return 5;
}

int st_id_gc(struct mp_store_txn *txn, uint64_t id, const char *what, uint64_t *gc)
{
	if (mp_store_id_replid(id) != MP_STORE_REPLID || mp_store_id_gc(id) == 0)
		return st_fail(txn, MP_ERR_NOTFOUND, MP_STORE_EC_NOT_FOUND,
			       "%s 0x%016llx: not in this mailbox", what, (unsigned long long)id);
	*gc = mp_store_id_gc(id);
	return MP_OK;
}

/* ---- Header records ---- */

#define MBOX_HDR_LEN (52 + 8 * MP_STORE_SF_COUNT)
#define FOLDER_HDR_LEN 32
#define MSG_HDR_LEN 32

int st_mbox_read(struct mp_store_txn *txn, uint32_t mbox, struct st_mbox_hdr *h)
{
	uint8_t k[ST_OBJKEY_LEN];
	MDB_val v;
	st_objkey(k, mbox, 0, MP_STORE_KIND_MAILBOX, 0, 0);
	int rc = st_get(txn, txn->st->obj, k, sizeof(k), &v);
	if (rc == MP_ERR_NOTFOUND)
		return st_fail(txn, rc, MP_STORE_EC_NOT_FOUND, "mailbox %u: no such mailbox", mbox);
	if (rc)
		return rc;
	const uint8_t *p = v.mv_data;
	if (v.mv_size != MBOX_HDR_LEN || p[0] != 1)
		return st_fail(txn, MP_ERR_IO, MP_STORE_EC_CORRUPT, "mailbox %u: bad header", mbox);
	h->replid = mp_get_u16(p + 2);
	memcpy(h->mailbox_guid, p + 4, 16);
	memcpy(h->replica_guid, p + 20, 16);
	h->next_gc = st_get_le64(p + 36);
	h->next_named = mp_get_u16(p + 44);
	h->folders = mp_get_u32(p + 48);
	for (int i = 0; i < MP_STORE_SF_COUNT; i++)
		h->special[i] = st_get_le64(p + 52 + 8 * i);
	return MP_OK;
}

int st_mbox_write(struct mp_store_txn *txn, uint32_t mbox, const struct st_mbox_hdr *h)
{
	uint8_t k[ST_OBJKEY_LEN], p[MBOX_HDR_LEN];
	memset(p, 0, sizeof(p));
	p[0] = 1;
	mp_put_u16(p + 2, h->replid);
	memcpy(p + 4, h->mailbox_guid, 16);
	memcpy(p + 20, h->replica_guid, 16);
	st_le64(p + 36, h->next_gc);
	mp_put_u16(p + 44, h->next_named);
	mp_put_u32(p + 48, h->folders);
	for (int i = 0; i < MP_STORE_SF_COUNT; i++)
		st_le64(p + 52 + 8 * i, h->special[i]);
	st_objkey(k, mbox, 0, MP_STORE_KIND_MAILBOX, 0, 0);
	return st_put(txn, txn->st->obj, k, sizeof(k), p, sizeof(p));
}

int st_alloc_gc(struct mp_store_txn *txn, uint32_t mbox, uint64_t *gc)
{
	struct st_mbox_hdr h;
	int rc = st_mbox_read(txn, mbox, &h);
	if (rc)
		return rc;
	if (h.next_gc == 0 || h.next_gc > MP_STORE_MAX_GC)
		return st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_ERROR,
			       "mailbox %u: the 48-bit id counter is exhausted", mbox);
	*gc = h.next_gc++;
	return st_mbox_write(txn, mbox, &h);
}

void st_mbox_info(uint32_t mbox, const struct st_mbox_hdr *h, struct mp_store_mailbox *out)
{
	memset(out, 0, sizeof(*out));
	out->id = mbox;
	out->replid = h->replid;
	memcpy(out->mailbox_guid, h->mailbox_guid, 16);
	memcpy(out->replica_guid, h->replica_guid, 16);
	for (int i = 0; i < MP_STORE_SF_COUNT; i++)
		out->special[i] = st_id(h->special[i]);
}

int st_folder_read(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, struct st_folder_hdr *h)
{
	uint8_t k[ST_OBJKEY_LEN];
	MDB_val v;
	st_objkey(k, mbox, gc, MP_STORE_KIND_FOLDER, 0, 0);
	int rc = st_get(txn, txn->st->obj, k, sizeof(k), &v);
	if (rc == MP_ERR_NOTFOUND)
		return st_fail(txn, rc, MP_STORE_EC_NOT_FOUND, "folder 0x%016llx: no such folder",
			       (unsigned long long)st_id(gc));
	if (rc)
		return rc;
	const uint8_t *p = v.mv_data;
	if (v.mv_size != FOLDER_HDR_LEN || p[0] != 1)
		return st_fail(txn, MP_ERR_IO, MP_STORE_EC_CORRUPT, "folder: bad header");
	h->special = p[1];
	h->type = mp_get_u32(p + 4);
	h->parent = st_get_le64(p + 8);
	h->content = mp_get_u32(p + 16);
	h->unread = mp_get_u32(p + 20);
	h->assoc = mp_get_u32(p + 24);
	h->children = mp_get_u32(p + 28);
	return MP_OK;
}

int st_folder_write(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc,
		    const struct st_folder_hdr *h)
{
	uint8_t k[ST_OBJKEY_LEN], p[FOLDER_HDR_LEN];
	memset(p, 0, sizeof(p));
	p[0] = 1;
	p[1] = h->special;
	mp_put_u32(p + 4, h->type);
	st_le64(p + 8, h->parent);
	mp_put_u32(p + 16, h->content);
	mp_put_u32(p + 20, h->unread);
	mp_put_u32(p + 24, h->assoc);
	mp_put_u32(p + 28, h->children);
	st_objkey(k, mbox, gc, MP_STORE_KIND_FOLDER, 0, 0);
	int rc = st_put(txn, txn->st->obj, k, sizeof(k), p, sizeof(p));
	const uint8_t F = MP_STORE_KIND_FOLDER;
	if (!rc)
		rc = st_prop_u32(txn, mbox, gc, F, 0, MP_TAG_CONTENT_COUNT, h->content);
	if (!rc)
		rc = st_prop_u32(txn, mbox, gc, F, 0, MP_TAG_CONTENT_UNREAD_COUNT, h->unread);
	if (!rc)
		rc = st_prop_u32(txn, mbox, gc, F, 0, MP_TAG_ASSOC_CONTENT_COUNT, h->assoc);
	if (!rc)
		rc = st_prop_u32(txn, mbox, gc, F, 0, MP_TAG_FOLDER_CHILD_COUNT, h->children);
	if (!rc)
		rc = st_prop_bool(txn, mbox, gc, F, 0, MP_TAG_SUBFOLDERS, h->children != 0);
	return rc;
}

int st_folder_count(struct mp_store_txn *txn, uint32_t mbox, uint64_t fgc, bool assoc, int d_total,
		    int d_unread)
{
	struct st_folder_hdr h;
	int rc = st_folder_read(txn, mbox, fgc, &h);
	if (rc)
		return rc;
	if (assoc) {
		h.assoc = (uint32_t)((int64_t)h.assoc + d_total);
	} else {
		h.content = (uint32_t)((int64_t)h.content + d_total);
		h.unread = (uint32_t)((int64_t)h.unread + d_unread);
	}
	if (!assoc && d_total > 0 && h.content > MP_STORE_MAX_FOLDER_MESSAGES)
		return st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_TOO_BIG,
			       "folder 0x%016llx: more than %u messages",
			       (unsigned long long)st_id(fgc), MP_STORE_MAX_FOLDER_MESSAGES);
	return st_folder_write(txn, mbox, fgc, &h);
}

int st_msg_read(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, struct st_msg_hdr *h)
{
	uint8_t k[ST_OBJKEY_LEN];
	MDB_val v;
	st_objkey(k, mbox, gc, MP_STORE_KIND_MESSAGE, 0, 0);
	int rc = st_get(txn, txn->st->obj, k, sizeof(k), &v);
	if (rc == MP_ERR_NOTFOUND)
		return st_fail(txn, rc, MP_STORE_EC_NOT_FOUND, "message 0x%016llx: no such message",
			       (unsigned long long)st_id(gc));
	if (rc)
		return rc;
	const uint8_t *p = v.mv_data;
	if (v.mv_size != MSG_HDR_LEN || p[0] != 1)
		return st_fail(txn, MP_ERR_IO, MP_STORE_EC_CORRUPT, "message: bad header");
	h->state = p[1];
	h->assoc = p[2] != 0;
	h->read = p[3] != 0;
	h->folder = st_get_le64(p + 4);
	h->orig = st_get_le64(p + 12);
	h->next_attach = mp_get_u32(p + 20);
	h->n_attach = mp_get_u32(p + 24);
	h->n_recips = mp_get_u32(p + 28);
	return MP_OK;
}

int st_msg_write(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, const struct st_msg_hdr *h)
{
	uint8_t k[ST_OBJKEY_LEN], p[MSG_HDR_LEN];
	p[0] = 1;
	p[1] = h->state;
	p[2] = h->assoc;
	p[3] = h->read;
	st_le64(p + 4, h->folder);
	st_le64(p + 12, h->orig);
	mp_put_u32(p + 20, h->next_attach);
	mp_put_u32(p + 24, h->n_attach);
	mp_put_u32(p + 28, h->n_recips);
	st_objkey(k, mbox, gc, MP_STORE_KIND_MESSAGE, 0, 0);
	return st_put(txn, txn->st->obj, k, sizeof(k), p, sizeof(p));
}

int st_obj_check(struct mp_store_txn *txn, const struct mp_store_obj *o, uint64_t *gc)
{
	uint8_t k[ST_OBJKEY_LEN];
	MDB_val v;
	int rc;

	switch (o->kind) {
	case MP_STORE_KIND_MAILBOX: {
		struct st_mbox_hdr h;
		if (o->id != 0 || o->sub != 0)
			return st_fail(txn, MP_ERR_NOTFOUND, MP_STORE_EC_NOT_FOUND,
				       "mailbox object: id must be 0");
		*gc = 0;
		return st_mbox_read(txn, o->mbox, &h);
	}
	case MP_STORE_KIND_FOLDER:
		rc = st_id_gc(txn, o->id, "folder", gc);
		if (rc)
			return rc;
		st_objkey(k, o->mbox, *gc, o->kind, 0, 0);
		rc = st_get(txn, txn->st->obj, k, sizeof(k), &v);
		if (rc == MP_ERR_NOTFOUND || (rc == MP_OK && o->sub))
			return st_fail(txn, MP_ERR_NOTFOUND, MP_STORE_EC_NOT_FOUND,
				       "folder 0x%016llx: no such folder",
				       (unsigned long long)o->id);
		return rc;
	case MP_STORE_KIND_MESSAGE:
	case MP_STORE_KIND_RECIPIENT:
	case MP_STORE_KIND_ATTACHMENT:
		rc = st_id_gc(txn, o->id, "message", gc);
		if (rc)
			return rc;
		st_objkey(k, o->mbox, *gc, MP_STORE_KIND_MESSAGE, 0, 0);
		rc = st_get(txn, txn->st->obj, k, sizeof(k), &v);
		if (rc == MP_ERR_NOTFOUND || (rc == MP_OK && o->kind == MP_STORE_KIND_MESSAGE && o->sub))
			return st_fail(txn, MP_ERR_NOTFOUND, MP_STORE_EC_NOT_FOUND,
				       "message 0x%016llx: no such message",
				       (unsigned long long)o->id);
		if (rc || o->kind == MP_STORE_KIND_MESSAGE)
			return rc;
		st_objkey(k, o->mbox, *gc, o->kind, o->sub, 0);
		rc = st_get(txn, txn->st->obj, k, sizeof(k), &v);
		if (rc == MP_ERR_NOTFOUND)
			return st_fail(txn, rc, MP_STORE_EC_NOT_FOUND, "%s %u of message 0x%016llx: "
				       "not found", o->kind == MP_STORE_KIND_RECIPIENT ? "recipient"
				       : "attachment", o->sub, (unsigned long long)o->id);
		return rc;
	default:
		return st_fail(txn, MP_ERR_NOTFOUND, MP_STORE_EC_INVALID_PARAM, "bad object kind %u",
			       o->kind);
	}
}
