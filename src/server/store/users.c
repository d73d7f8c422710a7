/*
 * Users: logon name, display name, SMTP address, legacy Exchange DN, NT
 * hash (never the password), mailbox and replica GUIDs and a stable GAL
 * minimal entry id; indexes by name, DN, SMTP address and MId; the NTLM
 * lookup callback over them.
 */
#include "server/store/store_int.h"

#include <stdio.h>
#include <string.h>

#include <talloc.h>

#include "auth/ntlm_crypto.h"

#define USER_REC_FIXED 76 /* version..created, before the strings */

/* ---- Checks ---- */

static int check_name(struct mp_store_txn *txn, const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > MP_STORE_MAX_USER_NAME)
		return st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM,
			       "user name must be 1..%d bytes", MP_STORE_MAX_USER_NAME);
	if (name[0] == '.' || name[0] == '-')
		return st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM,
			       "user name must not start with '.' or '-'");
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM,
				       "user name may hold only A-Z a-z 0-9 . _ -");
	}
	return MP_OK;
}

static int check_display(struct mp_store_txn *txn, const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > MP_STORE_MAX_DISPLAY_NAME || !st_utf8_valid(s, n))
		return st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM,
			       "display name must be 1..%d bytes of UTF-8",
			       MP_STORE_MAX_DISPLAY_NAME);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM,
				       "display name holds a control character");
	return MP_OK;
}

static int check_smtp(struct mp_store_txn *txn, const char *s)
{
	size_t n = strlen(s);
	const char *at = strchr(s, '@');
	if (n == 0 || n > MP_STORE_MAX_SMTP || !at || at == s || !at[1] || strchr(at + 1, '@'))
		return st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM,
			       "SMTP address must be local@domain, at most %d bytes",
			       MP_STORE_MAX_SMTP);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM,
				       "SMTP address must be printable ASCII without spaces");
	return MP_OK;
}

static int check_password(struct mp_store_txn *txn, const char *pw)
{
	size_t n = pw ? strlen(pw) : 0;
	if (n == 0 || n > MP_STORE_MAX_PASSWORD || !st_utf8_valid(pw, n))
		return st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM,
			       "password must be 1..%d bytes of UTF-8", MP_STORE_MAX_PASSWORD);
	return MP_OK;
}

/* ---- Records ---- */

struct user_rec {
	uint32_t flags, mid;
	uint8_t mailbox_guid[16], replica_guid[16], nt_hash[16];
	uint64_t created;
	const char *s[4]; /* name, display name, smtp, dn */
	size_t n[4];
};

static int rec_decode(const MDB_val *v, struct user_rec *r)
{
	const uint8_t *p = v->mv_data;
	size_t len = v->mv_size, o = USER_REC_FIXED;
	if (len < USER_REC_FIXED || p[0] != 1)
		return MP_ERR_IO;
	r->flags = p[1];
	r->mid = mp_get_u32(p + 4);
	memcpy(r->mailbox_guid, p + 8, 16);
	memcpy(r->replica_guid, p + 24, 16);
	memcpy(r->nt_hash, p + 40, 16);
	r->created = st_get_le64(p + 56);
	/* p + 64 .. 76: reserved */
	for (int i = 0; i < 4; i++) {
		if (o + 2 > len)
			return MP_ERR_IO;
		size_t n = mp_get_u16(p + o);
		o += 2;
		if (o + n > len)
			return MP_ERR_IO;
		r->s[i] = (const char *)p + o;
		r->n[i] = n;
		o += n;
	}
	return o == len ? MP_OK : MP_ERR_IO;
}

static int rec_write(struct mp_store_txn *txn, uint32_t id, const struct user_rec *r)
{
	size_t len = USER_REC_FIXED;
	for (int i = 0; i < 4; i++)
		len += 2 + r->n[i];
	uint8_t k[4], *p;
	st_be32(k, id);
	int rc = st_put_reserve(txn, txn->st->users, k, 4, len, &p);
	if (rc)
		return rc;
	memset(p, 0, USER_REC_FIXED);
	p[0] = 1;
	p[1] = (uint8_t)r->flags;
	mp_put_u32(p + 4, r->mid);
	memcpy(p + 8, r->mailbox_guid, 16);
	memcpy(p + 24, r->replica_guid, 16);
	memcpy(p + 40, r->nt_hash, 16);
	st_le64(p + 56, r->created);
	size_t o = USER_REC_FIXED;
	for (int i = 0; i < 4; i++) {
		mp_put_u16(p + o, (uint16_t)r->n[i]);
		memcpy(p + o + 2, r->s[i], r->n[i]);
		o += 2 + r->n[i];
	}
	return MP_OK;
}

/* Read a user record; the strings are copied under mem (the record may
 * move with the next write). */
static int rec_read(struct mp_store_txn *txn, uint32_t id, void *mem, struct user_rec *r)
{
	uint8_t k[4];
	MDB_val v;
	memset(r, 0, sizeof(*r));
	st_be32(k, id);
	int rc = st_get(txn, txn->st->users, k, 4, &v);
	if (rc == MP_ERR_NOTFOUND)
		return st_fail(txn, rc, MP_STORE_EC_NOT_FOUND, "user %u: no such user", id);
	if (rc)
		return rc;
	if (rec_decode(&v, r) != MP_OK)
		return st_fail(txn, MP_ERR_IO, MP_STORE_EC_CORRUPT, "user %u: bad record", id);
	for (int i = 0; i < 4; i++) {
		char *s = talloc_strndup(mem, r->s[i], r->n[i]);
		if (!s)
			return st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
		r->s[i] = s;
	}
	return MP_OK;
}

/* Index key: tag + lower-case text (ASCII), or tag + MId. */
static size_t ukey(uint8_t *k, char tag, const char *s, size_t n)
{
	k[0] = (uint8_t)tag;
	st_ascii_lower((char *)k + 1, s, n);
	return n + 1;
}

static int uidx_get(struct mp_store_txn *txn, const uint8_t *k, size_t kl, uint32_t *id)
{
	MDB_val v;
	int rc = st_get(txn, txn->st->uidx, k, kl, &v);
	if (rc)
		return rc;
	if (v.mv_size != 4)
		return st_fail(txn, MP_ERR_IO, MP_STORE_EC_CORRUPT, "bad user index entry");
	*id = st_get_be32(v.mv_data);
	return MP_OK;
}

static int uidx_put(struct mp_store_txn *txn, const uint8_t *k, size_t kl, uint32_t id)
{
	uint8_t v[4];
	st_be32(v, id);
	return st_put(txn, txn->st->uidx, k, kl, v, 4);
}

static int meta_u32(struct mp_store_txn *txn, const char *key, uint32_t *v)
{
	MDB_val val;
	int rc = st_get(txn, txn->st->meta, key, strlen(key), &val);
	if (rc == MP_ERR_NOTFOUND || (rc == MP_OK && val.mv_size != 4))
		return st_fail(txn, MP_ERR_IO, MP_STORE_EC_CORRUPT, "meta %s: bad", key);
	if (rc == MP_OK)
		*v = mp_get_u32(val.mv_data);
	return rc;
}

static int meta_set_u32(struct mp_store_txn *txn, const char *key, uint32_t v)
{
	uint8_t b[4];
	mp_put_u32(b, v);
	return st_put(txn, txn->st->meta, key, strlen(key), b, 4);
}

static void user_from_rec(uint32_t id, const struct user_rec *r, struct mp_store_user *u)
{
	memset(u, 0, sizeof(*u));
	u->id = id;
	u->mid = r->mid;
	u->flags = r->flags;
	u->name = r->s[0];
	u->display_name = r->s[1];
	u->smtp = r->s[2];
	u->dn = r->s[3];
	memcpy(u->mailbox_guid, r->mailbox_guid, 16);
	memcpy(u->replica_guid, r->replica_guid, 16);
	u->created = r->created;
}

/* ---- Adding ---- */

static int user_add(struct mp_store_txn *txn, const struct mp_store_user_new *u, uint32_t *out_id)
{
	struct mp_store *st = txn->st;
	void *tmp = txn->mem;
	char *smtp, *dn;
	int rc;

	if ((rc = check_name(txn, u->name)) || (rc = check_password(txn, u->password)))
		return rc;
	const char *display = u->display_name ? u->display_name : u->name;
	if ((rc = check_display(txn, display)))
		return rc;
	smtp = u->smtp ? talloc_strdup(tmp, u->smtp)
		       : talloc_asprintf(tmp, "%s@%s", u->name, st->mail_domain);
	dn = talloc_asprintf(tmp, "/o=%s/ou=%s/cn=Recipients/cn=%s", st->org, st->admin_group,
			     u->name);
	if (!smtp || !dn)
		return st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
	if ((rc = check_smtp(txn, smtp)))
		return rc;

	uint8_t kn[1 + MP_STORE_MAX_USER_NAME], ks[1 + MP_STORE_MAX_SMTP], kd[512];
	size_t lkn = ukey(kn, 'n', u->name, strlen(u->name));
	size_t lks = ukey(ks, 's', smtp, strlen(smtp));
	if (strlen(dn) + 1 > sizeof(kd))
		return st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_TOO_BIG, "DN too long");
	size_t lkd = ukey(kd, 'd', dn, strlen(dn));
	uint32_t other;
	if ((rc = uidx_get(txn, kn, lkn, &other)) != MP_ERR_NOTFOUND)
		return rc ? rc : st_fail(txn, MP_ERR_PROTO, MP_STORE_EC_DUPLICATE_NAME,
					 "user %s: the name is taken", u->name);
	if ((rc = uidx_get(txn, ks, lks, &other)) != MP_ERR_NOTFOUND)
		return rc ? rc : st_fail(txn, MP_ERR_PROTO, MP_STORE_EC_DUPLICATE_NAME,
					 "user %s: address %s is taken", u->name, smtp);
	if ((rc = uidx_get(txn, kd, lkd, &other)) != MP_ERR_NOTFOUND)
		return rc ? rc : st_fail(txn, MP_ERR_PROTO, MP_STORE_EC_DUPLICATE_NAME,
					 "user %s: DN %s is taken", u->name, dn);

	MDB_stat ms;
	if ((rc = mdb_stat(st_cur(txn), st->users, &ms)))
		return st_mdb(txn, rc, "users");
	if (ms.ms_entries >= MP_STORE_MAX_USERS)
		return st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_TOO_BIG, "more than %d users",
			       MP_STORE_MAX_USERS);

	uint32_t id, mid;
	if ((rc = meta_u32(txn, "next_user", &id)) || (rc = meta_u32(txn, "next_mid", &mid)))
		return rc;
	if (id == 0 || id == UINT32_MAX || mid == 0 || mid == UINT32_MAX)
		return st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_TOO_BIG, "user ids exhausted");

	struct user_rec r;
	memset(&r, 0, sizeof(r));
	r.mid = mid;
	r.created = mp_store_filetime_now();
	if (mp_store_guid_random(r.mailbox_guid) || mp_store_guid_random(r.replica_guid))
		return st_fail(txn, MP_ERR_IO, MP_STORE_EC_ERROR, "no random numbers");
	rc = mp_ntlm_ntowfv1(u->password, r.nt_hash);
	if (rc)
		return st_fail(txn, rc, MP_STORE_EC_INVALID_PARAM, "password: cannot hash it");
	r.s[0] = u->name, r.n[0] = strlen(u->name);
	r.s[1] = display, r.n[1] = strlen(display);
	r.s[2] = smtp, r.n[2] = strlen(smtp);
	r.s[3] = dn, r.n[3] = strlen(dn);
	rc = rec_write(txn, id, &r);
	mp_ntlm_wipe(r.nt_hash, sizeof(r.nt_hash));
	if (rc)
		return rc;

	uint8_t km[5];
	km[0] = 'm';
	st_be32(km + 1, mid);
	if ((rc = uidx_put(txn, kn, lkn, id)) || (rc = uidx_put(txn, ks, lks, id)) ||
	    (rc = uidx_put(txn, kd, lkd, id)) || (rc = uidx_put(txn, km, 5, id)) ||
	    (rc = meta_set_u32(txn, "next_user", id + 1)) ||
	    (rc = meta_set_u32(txn, "next_mid", mid + 1)))
		return rc;
	rc = st_mailbox_create(txn, id, r.mailbox_guid, r.replica_guid, display, dn);
	if (rc == MP_OK && out_id)
		*out_id = id;
	return rc;
}

int mp_store_user_add(struct mp_store_txn *txn, const struct mp_store_user_new *u, uint32_t *id)
{
	int rc = st_op_begin(txn);
	if (rc)
		return rc;
	return st_op_end(txn, user_add(txn, u, id));
}

int mp_store_user_add_simple(struct mp_store *st, const struct mp_store_user_new *u, uint32_t *id,
			     char *err, size_t errlen)
{
	struct mp_store_txn *txn;
	int rc = mp_store_txn_begin(st, true, &txn);
	if (rc) {
		snprintf(err, errlen, "store: cannot begin a write transaction (%s)",
			 mp_status_name(rc));
		return rc;
	}
	rc = mp_store_user_add(txn, u, id);
	if (rc) {
		snprintf(err, errlen, "%s", txn->err);
		mp_store_txn_abort(txn);
		return rc;
	}
	rc = mp_store_txn_commit(txn);
	if (rc)
		snprintf(err, errlen, "store: commit failed (%s)", mp_status_name(rc));
	return rc;
}

/* ---- Changing ---- */

static int user_delete(struct mp_store_txn *txn, uint32_t id)
{
	struct user_rec r;
	int rc = rec_read(txn, id, txn->mem, &r);
	mp_ntlm_wipe(r.nt_hash, sizeof(r.nt_hash));
	if (rc)
		return rc;
	uint8_t k[512], pre[4];
	if ((rc = st_del(txn, txn->st->uidx, k, ukey(k, 'n', r.s[0], r.n[0]))) ||
	    (rc = st_del(txn, txn->st->uidx, k, ukey(k, 's', r.s[2], r.n[2]))))
		return rc;
	if (r.n[3] + 1 <= sizeof(k) &&
	    (rc = st_del(txn, txn->st->uidx, k, ukey(k, 'd', r.s[3], r.n[3]))))
		return rc;
	k[0] = 'm';
	st_be32(k + 1, r.mid);
	if ((rc = st_del(txn, txn->st->uidx, k, 5)))
		return rc;
	st_be32(pre, id);
	if ((rc = st_del(txn, txn->st->users, pre, 4)) ||
	    (rc = st_del_prefix(txn, txn->st->obj, pre, 4)) ||
	    (rc = st_del_prefix(txn, txn->st->idx, pre, 4)))
		return rc;
	return MP_OK;
}

int mp_store_user_delete(struct mp_store_txn *txn, uint32_t id)
{
	int rc = st_op_begin(txn);
	if (rc)
		return rc;
	return st_op_end(txn, user_delete(txn, id));
}

/* Rewrite a user's record after `change` edited it. */
static int user_update(struct mp_store_txn *txn, uint32_t id, const char *password, int disabled,
		       const char *display)
{
	struct user_rec r;
	int rc = rec_read(txn, id, txn->mem, &r);
	if (rc)
		goto out;
	if (password) {
		if ((rc = check_password(txn, password)))
			goto out;
		if ((rc = mp_ntlm_ntowfv1(password, r.nt_hash))) {
			rc = st_fail(txn, rc, MP_STORE_EC_INVALID_PARAM, "password: cannot hash it");
			goto out;
		}
	}
	if (disabled >= 0)
		r.flags = disabled ? (r.flags | MP_STORE_USER_DISABLED)
				   : (r.flags & ~MP_STORE_USER_DISABLED);
	if (display) {
		if ((rc = check_display(txn, display)))
			goto out;
		r.s[1] = display;
		r.n[1] = strlen(display);
		char *mbname = talloc_asprintf(txn->mem, "Mailbox - %s", display);
		if (!mbname) {
			rc = st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
			goto out;
		}
		if ((rc = st_prop_str(txn, id, 0, MP_STORE_KIND_MAILBOX, 0, MP_TAG_DISPLAY_NAME,
				      mbname)) ||
		    (rc = st_prop_str(txn, id, 0, MP_STORE_KIND_MAILBOX, 0,
				      MP_TAG_MAILBOX_OWNER_NAME, display)))
			goto out;
	}
	rc = rec_write(txn, id, &r);
out:
	mp_ntlm_wipe(r.nt_hash, sizeof(r.nt_hash));
	return rc;
}

int mp_store_user_set_password(struct mp_store_txn *txn, uint32_t id, const char *password)
{
	int rc = st_op_begin(txn);
	if (rc)
		return rc;
	if (!password)
		return st_op_end(txn, check_password(txn, password));
	return st_op_end(txn, user_update(txn, id, password, -1, NULL));
}

int mp_store_user_set_disabled(struct mp_store_txn *txn, uint32_t id, bool disabled)
{
	int rc = st_op_begin(txn);
	if (rc)
		return rc;
	return st_op_end(txn, user_update(txn, id, NULL, disabled, NULL));
}

int mp_store_user_set_display_name(struct mp_store_txn *txn, uint32_t id, const char *display_name)
{
	int rc = st_op_begin(txn);
	if (rc)
		return rc;
	if (!display_name)
		return st_op_end(txn, st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM,
					      "no display name"));
	return st_op_end(txn, user_update(txn, id, NULL, -1, display_name));
}

/* ---- Lookups ---- */

int mp_store_user_get(struct mp_store_txn *txn, uint32_t id, void *mem, struct mp_store_user **out)
{
	struct mp_store_user *u = talloc_zero(mem, struct mp_store_user);
	if (!u)
		return st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
	struct user_rec r;
	int rc = rec_read(txn, id, u, &r);
	mp_ntlm_wipe(r.nt_hash, sizeof(r.nt_hash));
	if (rc) {
		talloc_free(u);
		return rc;
	}
	user_from_rec(id, &r, u);
	*out = u;
	return MP_OK;
}

static int by_key(struct mp_store_txn *txn, char tag, const char *s, void *mem,
		  struct mp_store_user **out)
{
	uint8_t k[512];
	size_t n = s ? strlen(s) : 0;
	uint32_t id = 0;
	if (n == 0 || n + 1 > sizeof(k))
		return st_fail(txn, MP_ERR_NOTFOUND, MP_STORE_EC_NOT_FOUND, "no such user");
	int rc = uidx_get(txn, k, ukey(k, tag, s, n), &id);
	if (rc == MP_ERR_NOTFOUND)
		return st_fail(txn, rc, MP_STORE_EC_NOT_FOUND, "%s: no such user", s);
	if (rc)
		return rc;
	return mp_store_user_get(txn, id, mem, out);
}

int mp_store_user_by_name(struct mp_store_txn *txn, const char *name, void *mem,
			  struct mp_store_user **out)
{
	return by_key(txn, 'n', name, mem, out);
}

int mp_store_user_by_dn(struct mp_store_txn *txn, const char *dn, void *mem,
			struct mp_store_user **out)
{
	return by_key(txn, 'd', dn, mem, out);
}

int mp_store_user_by_smtp(struct mp_store_txn *txn, const char *smtp, void *mem,
			  struct mp_store_user **out)
{
	return by_key(txn, 's', smtp, mem, out);
}

int mp_store_user_by_mid(struct mp_store_txn *txn, uint32_t mid, void *mem,
			 struct mp_store_user **out)
{
	uint8_t k[5];
	uint32_t id = 0;
	k[0] = 'm';
	st_be32(k + 1, mid);
	int rc = uidx_get(txn, k, 5, &id);
	if (rc == MP_ERR_NOTFOUND)
		return st_fail(txn, rc, MP_STORE_EC_NOT_FOUND, "MId 0x%08x: no such entry", mid);
	if (rc)
		return rc;
	return mp_store_user_get(txn, id, mem, out);
}

int mp_store_user_list(struct mp_store_txn *txn, void *mem, struct mp_store_user **out, size_t *n)
{
	MDB_stat ms;
	int rc = mdb_stat(st_cur(txn), txn->st->users, &ms);
	if (rc)
		return st_mdb(txn, rc, "users");
	size_t cap = ms.ms_entries, cnt = 0;
	struct mp_store_user *a = talloc_zero_array(mem, struct mp_store_user, cap + 1);
	if (!a)
		return st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
	struct st_iter it;
	rc = st_iter_open(txn, txn->st->users, "", 0, &it);
	if (rc) {
		talloc_free(a);
		return rc;
	}
	while (cnt < cap && (rc = st_iter_next(txn, &it)) == 1) {
		struct user_rec r;
		if (it.k.mv_size != 4 || rec_decode(&it.v, &r) != MP_OK) {
			rc = st_fail(txn, MP_ERR_IO, MP_STORE_EC_CORRUPT, "bad user record");
			break;
		}
		for (int i = 0; i < 4; i++) {
			char *s = talloc_strndup(a, r.s[i], r.n[i]);
			if (!s) {
				rc = st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
				break;
			}
			r.s[i] = s;
		}
		mp_ntlm_wipe(r.nt_hash, sizeof(r.nt_hash));
		if (rc < 0)
			break;
		user_from_rec(st_get_be32(it.k.mv_data), &r, &a[cnt++]);
	}
	st_iter_close(&it);
	if (rc < 0) {
		talloc_free(a);
		return rc;
	}
	*out = a;
	*n = cnt;
	return MP_OK;
}

int mp_store_user_nt_hash(struct mp_store_txn *txn, uint32_t id, uint8_t nt_hash[16])
{
	uint8_t k[4];
	MDB_val v;
	struct user_rec r;
	st_be32(k, id);
	int rc = st_get(txn, txn->st->users, k, 4, &v);
	if (rc == MP_ERR_NOTFOUND)
		return st_fail(txn, rc, MP_STORE_EC_NOT_FOUND, "user %u: no such user", id);
	if (rc)
		return rc;
	if (rec_decode(&v, &r) != MP_OK)
		return st_fail(txn, MP_ERR_IO, MP_STORE_EC_CORRUPT, "user %u: bad record", id);
	memcpy(nt_hash, r.nt_hash, 16);
	mp_ntlm_wipe(r.nt_hash, sizeof(r.nt_hash));
	return MP_OK;
}

int mp_store_ntlm_lookup_cb(void *store, const char *user, const char *domain,
			    uint8_t nt_hash[16])
{
	struct mp_store_txn *txn;
	uint8_t k[512];
	uint32_t id = 0;
	(void)domain; /* one organisation: users match in any domain */
	size_t n = user ? strlen(user) : 0;
	if (n == 0 || n + 1 > sizeof(k))
		return MP_ERR_NOTFOUND;
	if (mp_store_txn_begin(store, false, &txn) != MP_OK)
		return MP_ERR_NOTFOUND;
	int rc = uidx_get(txn, k, ukey(k, 'n', user, n), &id);
	if (rc == MP_ERR_NOTFOUND && strchr(user, '@'))
		rc = uidx_get(txn, k, ukey(k, 's', user, n), &id);
	if (rc == MP_OK) {
		MDB_val v;
		struct user_rec r;
		st_be32(k, id);
		rc = st_get(txn, txn->st->users, k, 4, &v);
		if (rc == MP_OK && rec_decode(&v, &r) != MP_OK)
			rc = MP_ERR_IO;
		else if (rc == MP_OK) {
			if (r.flags & MP_STORE_USER_DISABLED)
				rc = MP_ERR_NOTFOUND;
			else
				memcpy(nt_hash, r.nt_hash, 16);
			mp_ntlm_wipe(r.nt_hash, sizeof(r.nt_hash));
		}
	}
	mp_store_txn_abort(txn);
	return rc == MP_OK ? MP_OK : MP_ERR_NOTFOUND;
}
