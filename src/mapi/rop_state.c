/*
 * Per-session ROP state: what a response decoder needs to know from
 * earlier calls of the same session (see rop.h).
 *
 *   - the columns of each table, by server object handle, set by
 *     RopSetColumns and used by RopQueryRows, RopFindRow, RopExpandRow and
 *     table notifications;
 *   - the LogonFlags of each logon id (private mailbox or public folders),
 *     which select optional fields of some ROPs.
 *
 * Handles are few per session (each open object has one), so the columns
 * live in an array sorted by handle; a session that opens more than
 * MAX_TABLES tables without releasing them loses the oldest entries, and
 * the rows of those tables are then relayed undecoded.
 */
#include <string.h>
#include <talloc.h>

#include "mapi/rop.h"
#include "mapi/rop_desc.h"
#include "util/status.h"

#define MAX_TABLES 4096

struct table_cols {
	uint32_t handle;
	uint32_t n;
	uint32_t *tags;		/* talloc child of the session */
	uint64_t age;		/* for evicting the oldest */
};

struct mp_rop_session {
	struct table_cols *tables;
	size_t count;
	size_t cap;
	uint64_t clock;
	int16_t logon_flags[256];	/* -1: unknown */
};

struct mp_rop_session *mp_rop_session_new(void *mem)
{
	struct mp_rop_session *s = talloc_zero(mem, struct mp_rop_session);
	if (!s)
		return NULL;
	for (size_t i = 0; i < 256; i++)
		s->logon_flags[i] = -1;
	return s;
}

/* Index of `handle`, or of where it would be inserted. */
static size_t lower_bound(const struct mp_rop_session *s, uint32_t handle)
{
	size_t lo = 0, hi = s->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->tables[mid].handle < handle)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool mp_rop_session_columns(const struct mp_rop_session *sess, uint32_t handle,
			    const uint32_t **tags, uint32_t *n)
{
	if (!sess)
		return false;
	size_t i = lower_bound(sess, handle);
	if (i == sess->count || sess->tables[i].handle != handle)
		return false;
	*tags = sess->tables[i].tags;
	*n = sess->tables[i].n;
	return true;
}

static void remove_at(struct mp_rop_session *s, size_t i)
{
	talloc_free(s->tables[i].tags);
	memmove(&s->tables[i], &s->tables[i + 1], (s->count - i - 1) * sizeof(s->tables[0]));
	s->count--;
}

static void evict_oldest(struct mp_rop_session *s)
{
	size_t oldest = 0;
	for (size_t i = 1; i < s->count; i++)
		if (s->tables[i].age < s->tables[oldest].age)
			oldest = i;
	remove_at(s, oldest);
}

int mp_rop_session_set_columns(struct mp_rop_session *sess, uint32_t handle, const uint32_t *tags,
			       uint32_t n)
{
	if (!sess)
		return MP_OK;
	uint32_t *copy = NULL;
	if (n) {
		copy = talloc_memdup(sess, tags, (size_t)n * sizeof(*tags));
		if (!copy)
			return MP_ERR_NOMEM;
	}
	size_t i = lower_bound(sess, handle);
	if (i < sess->count && sess->tables[i].handle == handle) {
		talloc_free(sess->tables[i].tags);
		sess->tables[i].tags = copy;
		sess->tables[i].n = n;
		sess->tables[i].age = ++sess->clock;
		return MP_OK;
	}
	if (sess->count == MAX_TABLES) {
		evict_oldest(sess);
		i = lower_bound(sess, handle);
	}
	if (sess->count == sess->cap) {
		size_t cap = sess->cap ? sess->cap * 2 : 16;
		struct table_cols *t = talloc_realloc(sess, sess->tables, struct table_cols, cap);
		if (!t) {
			talloc_free(copy);
			return MP_ERR_NOMEM;
		}
		sess->tables = t;
		sess->cap = cap;
	}
	memmove(&sess->tables[i + 1], &sess->tables[i], (sess->count - i) * sizeof(sess->tables[0]));
	sess->tables[i] = (struct table_cols){
		.handle = handle, .n = n, .tags = copy, .age = ++sess->clock};
	sess->count++;
	return MP_OK;
}

void mp_rop_session_forget(struct mp_rop_session *sess, uint32_t handle)
{
	if (!sess)
		return;
	size_t i = lower_bound(sess, handle);
	if (i < sess->count && sess->tables[i].handle == handle)
		remove_at(sess, i);
}

int mp_rop_session_logon_flags(const struct mp_rop_session *sess, uint8_t logon_id)
{
	return sess ? sess->logon_flags[logon_id] : -1;
}

void mp_rop_session_set_logon(struct mp_rop_session *sess, uint8_t logon_id, uint8_t flags)
{
	if (sess)
		sess->logon_flags[logon_id] = flags;
}

/* The server handle of a request's handle index, as the response's table
 * holds it (new objects get theirs there), else as the request sent it. */
static bool server_handle(const struct mp_rop_buf *req, const struct mp_rop_buf *rsp, int idx,
			  uint32_t *h)
{
	if (idx < 0)
		return false;
	if (rsp && (size_t)idx < rsp->n_handles) {
		*h = rsp->handles[idx];
		return true;
	}
	if (req && (size_t)idx < req->n_handles) {
		*h = req->handles[idx];
		return true;
	}
	return false;
}

void mp_rop_session_update(struct mp_rop_session *sess, const struct mp_rop_buf *req,
			   const struct mp_rop_buf *rsp)
{
	uint32_t h, rv;
	if (!sess || !req)
		return;

	/* Releases first: a handle value may be reused by a later object. */
	for (size_t i = 0; i < req->count; i++) {
		const struct mp_rop *r = req->rops[i];
		if (r->id == MP_ROPID_RELEASE && !r->opaque &&
		    server_handle(req, NULL, mp_rop_input_index(r), &h))
			mp_rop_session_forget(sess, h);
	}
	for (size_t i = 0; rsp && i < rsp->count; i++) {
		const struct mp_rop *r = rsp->rops[i];
		const struct mp_rop *q = r->req;
		if (r->opaque || !q || q->opaque || !mp_rop_return_value(r, &rv) || rv != 0)
			continue;
		if (q->id == 0x12) {	/* RopSetColumns */
			const struct mp_rop_val *tags = mp_rop_field(q, "PropertyTags");
			if (tags && server_handle(req, rsp, mp_rop_input_index(q), &h))
				(void)mp_rop_session_set_columns(sess, h, tags->p, (uint32_t)tags->n);
		} else if (q->id == MP_ROPID_LOGON) {
			uint64_t flags;
			int logon = mp_rop_logon_id(q);
			if (logon >= 0 && mp_rop_get_uint(q, "LogonFlags", &flags))
				mp_rop_session_set_logon(sess, (uint8_t)logon, (uint8_t)flags);
		}
	}
}
