/*
 * Per-session ROP state: what a response decoder needs to know from
 * earlier calls of the same session (see rop.h).
 *
 *   - the columns of each table, by server object handle, set by
 *     RopSetColumns and used by RopQueryRows, RopFindRow, RopExpandRow and
 *     table notifications;
 *   - the recipient columns of each open message, by server object handle,
 *     sent in the RopOpenMessage / RopOpenEmbeddedMessage /
 *     RopReloadCachedInformation responses and used by RopReadRecipients;
 *   - the LogonFlags of each logon id (private mailbox or public folders),
 *     which select optional fields of some ROPs.
 *
 * Handles are few per session (each open object has one), so the columns
 * live in arrays sorted by handle; a session that keeps more than
 * MAX_OBJECTS objects open loses the oldest entries, and the rows of those
 * objects are then relayed undecoded.
 */
#include <string.h>
#include <talloc.h>

#include "mapi/rop.h"
#include "mapi/rop_desc.h"
#include "util/status.h"

#define MAX_OBJECTS 4096

struct cols_entry {
	uint32_t handle;
	uint32_t n;
	uint32_t *tags; /* talloc child of the session */
	uint64_t age;   /* for evicting the oldest */
};

/* Column sets by server handle, sorted by handle. */
struct cols_map {
	struct cols_entry *e;
	size_t count;
	size_t cap;
};

struct mp_rop_session {
	struct cols_map tables;
	struct cols_map recipients;
	uint64_t clock;
	int16_t logon_flags[256]; /* -1: unknown */
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
static size_t lower_bound(const struct cols_map *m, uint32_t handle)
{
	size_t lo = 0, hi = m->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->e[mid].handle < handle)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool map_get(const struct cols_map *m, uint32_t handle, const uint32_t **tags, uint32_t *n)
{
	size_t i = lower_bound(m, handle);
	if (i == m->count || m->e[i].handle != handle)
		return false;
	*tags = m->e[i].tags;
	*n = m->e[i].n;
	return true;
}

static void map_remove_at(struct cols_map *m, size_t i)
{
	talloc_free(m->e[i].tags);
	memmove(&m->e[i], &m->e[i + 1], (m->count - i - 1) * sizeof(m->e[0]));
	m->count--;
}

static void map_forget(struct cols_map *m, uint32_t handle)
{
	size_t i = lower_bound(m, handle);
	if (i < m->count && m->e[i].handle == handle)
		map_remove_at(m, i);
}

static int map_set(struct mp_rop_session *sess, struct cols_map *m, uint32_t handle,
                   const uint32_t *tags, uint32_t n)
{
	uint32_t *copy = NULL;
	if (n) {
		copy = talloc_memdup(sess, tags, (size_t)n * sizeof(*tags));
		if (!copy)
			return MP_ERR_NOMEM;
	}
	size_t i = lower_bound(m, handle);
	if (i < m->count && m->e[i].handle == handle) {
		talloc_free(m->e[i].tags);
		m->e[i].tags = copy;
		m->e[i].n = n;
		m->e[i].age = ++sess->clock;
		return MP_OK;
	}
	if (m->count == MAX_OBJECTS) {
		size_t oldest = 0;
		for (size_t j = 1; j < m->count; j++)
			if (m->e[j].age < m->e[oldest].age)
				oldest = j;
		map_remove_at(m, oldest);
		i = lower_bound(m, handle);
	}
	if (m->count == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct cols_entry *e = talloc_realloc(sess, m->e, struct cols_entry, cap);
		if (!e) {
			talloc_free(copy);
			return MP_ERR_NOMEM;
		}
		m->e = e;
		m->cap = cap;
	}
	memmove(&m->e[i + 1], &m->e[i], (m->count - i) * sizeof(m->e[0]));
	m->e[i] = (struct cols_entry){.handle = handle, .n = n, .tags = copy, .age = ++sess->clock};
	m->count++;
	return MP_OK;
}

bool mp_rop_session_columns(const struct mp_rop_session *sess, uint32_t handle,
                            const uint32_t **tags, uint32_t *n)
{
	return sess && map_get(&sess->tables, handle, tags, n);
}

int mp_rop_session_set_columns(struct mp_rop_session *sess, uint32_t handle, const uint32_t *tags,
                               uint32_t n)
{
	return sess ? map_set(sess, &sess->tables, handle, tags, n) : MP_OK;
}

bool mp_rop_session_recipient_columns(const struct mp_rop_session *sess, uint32_t handle,
                                      const uint32_t **tags, uint32_t *n)
{
	return sess && map_get(&sess->recipients, handle, tags, n);
}

int mp_rop_session_set_recipient_columns(struct mp_rop_session *sess, uint32_t handle,
                                         const uint32_t *tags, uint32_t n)
{
	return sess ? map_set(sess, &sess->recipients, handle, tags, n) : MP_OK;
}

void mp_rop_session_forget(struct mp_rop_session *sess, uint32_t handle)
{
	if (!sess)
		return;
	map_forget(&sess->tables, handle);
	map_forget(&sess->recipients, handle);
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
		const struct mp_rop_val *cols;
		if (r->opaque || !q || q->opaque || !mp_rop_return_value(r, &rv) || rv != 0)
			continue;
		switch (q->id) {
		case 0x12: /* RopSetColumns */
			cols = mp_rop_field(q, "PropertyTags");
			if (cols && server_handle(req, rsp, mp_rop_input_index(q), &h))
				(void)mp_rop_session_set_columns(sess, h, cols->p,
				                                 (uint32_t)cols->n);
			break;
		case 0x03: /* RopOpenMessage */
		case 0x46: /* RopOpenEmbeddedMessage */
		case 0x10: /* RopReloadCachedInformation */
			cols = mp_rop_field(r, "RecipientColumns");
			if (cols && server_handle(req, rsp,
			                          q->id == 0x10 ? mp_rop_input_index(q)
			                                        : mp_rop_output_index(q),
			                          &h))
				(void)mp_rop_session_set_recipient_columns(sess, h, cols->p,
				                                           (uint32_t)cols->n);
			break;
		case MP_ROPID_LOGON: {
			uint64_t flags;
			int logon = mp_rop_logon_id(q);
			if (logon >= 0 && mp_rop_get_uint(q, "LogonFlags", &flags))
				mp_rop_session_set_logon(sess, (uint8_t)logon, (uint8_t)flags);
			break;
		}
		default:
			break;
		}
	}
}
