/*
 * What a session has open, learnt from its ROP buffers, and the answers the
 * cache gives (MS-OXCROPS 2.2.1: a buffer is RopSize, ROPs, then the handle
 * table; a ROP names its objects by index into that table).
 *
 * Objects are tracked by server handle: a request's InputHandleIndex names
 * the table's entry when the buffer was sent, updated by the OutputHandleIndex
 * of earlier ROPs of the same buffer (whose handles are known only from the
 * response's table, and only for the last ROP that wrote each entry).
 *
 * A buffer is answered here only when every ROP in it is RopReadStream,
 * RopSeekStream or RopGetStreamSize on a stream served from a cached file;
 * anything else goes to the server whole (answering part of a buffer and
 * merging the rest would reorder the ROPs' effects). Answers move only the
 * client's position, so before a relayed buffer that names such a stream a
 * RopSeekStream puts the server's position where the client believes it is;
 * its response is taken out again on the way back.
 */
#include "cache.h"

#include "mapi/rop.h"
#include "util/cursor.h"
#include "util/status.h"

#include <string.h>
#include <talloc.h>
#include <unistd.h>

enum {
	ROP_RELEASE = 0x01,
	ROP_OPEN_FOLDER = 0x02,
	ROP_OPEN_MESSAGE = 0x03,
	ROP_GET_PROPS = 0x07,
	ROP_SET_PROPS = 0x0A,
	ROP_DEL_PROPS = 0x0B,
	ROP_SAVE_MESSAGE = 0x0C,
	ROP_REMOVE_RECIPIENTS = 0x0D,
	ROP_MODIFY_RECIPIENTS = 0x0E,
	ROP_DELETE_FOLDER = 0x1D,
	ROP_DELETE_MESSAGES = 0x1E,
	ROP_OPEN_ATTACH = 0x22,
	ROP_CREATE_ATTACH = 0x23,
	ROP_DELETE_ATTACH = 0x24,
	ROP_SAVE_ATTACH = 0x25,
	ROP_OPEN_STREAM = 0x2B,
	ROP_READ_STREAM = 0x2C,
	ROP_WRITE_STREAM = 0x2D,
	ROP_SEEK_STREAM = 0x2E,
	ROP_SET_STREAM_SIZE = 0x2F,
	ROP_MOVE_COPY = 0x33,
	ROP_COPY_TO_STREAM = 0x3A,
	ROP_EMPTY_FOLDER = 0x58,
	ROP_COMMIT_STREAM = 0x5D,
	ROP_GET_STREAM_SIZE = 0x5E,
	ROP_SET_PROPS_NR = 0x79,
	ROP_DEL_PROPS_NR = 0x7A,
	ROP_WRITE_COMMIT = 0x90,
	ROP_HARD_DELETE_MESSAGES = 0x91,
	ROP_HARD_DELETE_ALL = 0x92,
	ROP_WRITE_STREAM_EXT = 0xA3,
	ROP_LOGON = 0xFE,
};

#define READ_MAXIMUM 0xBABE /* RopReadStream: MaximumByteCount follows */
#define STREAM_CREATE 0x02  /* RopOpenStream OpenModeFlags */
#define LOGON_PRIVATE 0x01
#define TAG_CHANGE_KEY 0x65E20102u
#define TAG_LAST_MODIFICATION_TIME 0x30080040u
#define NO_HANDLE 0xFFFFFFFFu
#define CACHE_MAX_OBJECTS 65536

uint64_t cache_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h ? h : 1;
}

/* ---- objects ----------------------------------------------------------- */

struct cache_sess *cache_sess_new(uint64_t id)
{
	void *mem = talloc_new(NULL);
	struct cache_sess *s = mem ? talloc_zero(mem, struct cache_sess) : NULL;
	if (!s || !(s->rops = mp_rop_session_new(mem))) {
		talloc_free(mem);
		return NULL;
	}
	s->mem = mem;
	s->id = id;
	return s;
}

void cache_sess_free(struct cache_global *g, struct cache_sess *s)
{
	(void)g;
	if (!s)
		return;
	for (size_t i = 0; i < s->n_objs; i++)
		if (s->objs[i].st)
			cache_stream_close(s->objs[i].st);
	talloc_free(s->mem);
}

struct cache_obj *cache_obj_find(struct cache_sess *s, uint32_t handle)
{
	if (handle == NO_HANDLE)
		return NULL;
	for (size_t i = 0; i < s->n_objs; i++)
		if (s->objs[i].handle == handle)
			return &s->objs[i];
	return NULL;
}

void cache_obj_forget(struct cache_global *g, struct cache_sess *s, uint32_t handle)
{
	(void)g;
	struct cache_obj *o = cache_obj_find(s, handle);
	if (!o)
		return;
	if (o->st) {
		cache_stream_close(o->st);
		talloc_free(o->st);
	}
	*o = s->objs[--s->n_objs];
}

/* A new object for `handle` (an old one of that handle is forgotten: the
 * server reuses released handles). NULL when out of memory. */
static struct cache_obj *obj_add(struct cache_global *g, struct cache_sess *s, uint32_t handle,
                                 uint8_t type, uint8_t logon_id)
{
	if (handle == NO_HANDLE)
		return NULL;
	cache_obj_forget(g, s, handle);
	if (s->n_objs >= CACHE_MAX_OBJECTS)
		return NULL; /* a session that never releases: the rest is not tracked */
	if (s->n_objs == s->cap_objs) {
		size_t cap = s->cap_objs ? 2 * s->cap_objs : 16;
		struct cache_obj *n = talloc_realloc(s->mem, s->objs, struct cache_obj, cap);
		if (!n)
			return NULL;
		s->objs = n;
		s->cap_objs = cap;
	}
	struct cache_obj *o = &s->objs[s->n_objs++];
	memset(o, 0, sizeof(*o));
	o->handle = handle;
	o->type = type;
	o->logon_id = logon_id;
	return o;
}

static const uint8_t *mbox_of(struct cache_sess *s, uint8_t logon_id)
{
	return s->logons[logon_id].known ? s->logons[logon_id].mbox : NULL;
}

static void queue_task(struct cache_sess *s, uint8_t type, uint32_t handle)
{
	for (size_t i = 0; i < s->n_tasks; i++)
		if (s->tasks[i].type == type && s->tasks[i].handle == handle)
			return;
	if (s->n_tasks < CACHE_MAX_TASKS)
		s->tasks[s->n_tasks++] = (struct cache_task){.type = type, .handle = handle};
}

/* ---- invalidation ------------------------------------------------------ */

static void invalidate_message(struct cache_global *g, struct cache_sess *s, uint8_t logon_id,
                               uint64_t mid)
{
	const uint8_t *mbox = mbox_of(s, logon_id);
	if (!mbox)
		return;
	if (cache_index_invalidate_message(g->ix, mbox, mid) == CACHE_OK)
		g->invalidations++;
	mp_module_log(MP_MODULE_LOG_DEBUG,
	              "session %llu: message %016llx changes: its cached "
	              "streams are dropped",
	              (unsigned long long)s->id, (unsigned long long)mid);
}

static void invalidate_obj(struct cache_global *g, struct cache_sess *s, struct cache_obj *o)
{
	if (!o || o->type == CACHE_OBJ_FOLDER)
		return;
	o->dirty = true;
	if (o->type == CACHE_OBJ_STREAM && o->st) {
		cache_stream_capture_abort(o->st);
		o->st->keyed = false;
	}
	invalidate_message(g, s, o->logon_id, o->mid);
}

static void message_ids(struct cache_global *g, struct cache_sess *s, const struct mp_rop *rop)
{
	const struct mp_rop_val *ids = mp_rop_field(rop, "MessageIds");
	int logon = mp_rop_logon_id(rop);
	if (!ids || logon < 0)
		return;
	struct mp_rop_vals *const *elems = ids->p;
	for (size_t i = 0; elems && i < ids->n; i++)
		invalidate_message(g, s, (uint8_t)logon, elems[i]->v[0].u);
}

static void invalidate_folder(struct cache_global *g, struct cache_sess *s, uint8_t logon_id,
                              uint64_t fid)
{
	const uint8_t *mbox = mbox_of(s, logon_id);
	if (mbox && cache_index_invalidate_folder(g->ix, mbox, fid) == CACHE_OK)
		g->invalidations++;
}

/* A ROP that changes what is cached: drop it, on the way to the server and
 * again when it succeeded (a copy made in between is refused by the
 * generation check). `in`/`dest` are the objects its indexes name. */
static void invalidations(struct cache_global *g, struct cache_sess *s, const struct mp_rop *rop,
                          struct cache_obj *in, struct cache_obj *dest)
{
	uint64_t v = 0;
	switch (rop->id) {
	case ROP_SAVE_MESSAGE:
	case ROP_SET_PROPS:
	case ROP_SET_PROPS_NR:
	case ROP_DEL_PROPS:
	case ROP_DEL_PROPS_NR:
	case ROP_REMOVE_RECIPIENTS:
	case ROP_MODIFY_RECIPIENTS:
	case ROP_CREATE_ATTACH:
	case ROP_DELETE_ATTACH:
	case ROP_SAVE_ATTACH:
	case ROP_WRITE_STREAM:
	case ROP_WRITE_COMMIT:
	case ROP_WRITE_STREAM_EXT:
	case ROP_SET_STREAM_SIZE:
	case ROP_COMMIT_STREAM:
		invalidate_obj(g, s, in);
		break;
	case ROP_COPY_TO_STREAM:
		invalidate_obj(g, s, dest);
		break;
	case ROP_OPEN_STREAM:
		if (mp_rop_get_uint(rop, "OpenModeFlags", &v) && v == STREAM_CREATE)
			invalidate_obj(g, s, in);
		break;
	case ROP_DELETE_MESSAGES:
	case ROP_HARD_DELETE_MESSAGES:
		message_ids(g, s, rop);
		break;
	case ROP_MOVE_COPY:
		if (mp_rop_get_uint(rop, "WantCopy", &v) && v == 0)
			message_ids(g, s, rop);
		break;
	case ROP_EMPTY_FOLDER:
	case ROP_HARD_DELETE_ALL:
		if (in && in->type == CACHE_OBJ_FOLDER)
			invalidate_folder(g, s, in->logon_id, in->fid);
		break;
	case ROP_DELETE_FOLDER:
		if (mp_rop_get_uint(rop, "FolderId", &v) && mp_rop_logon_id(rop) >= 0)
			invalidate_folder(g, s, (uint8_t)mp_rop_logon_id(rop), v);
		break;
	default:
		break;
	}
}

/* ---- the handle table while a buffer runs ------------------------------ */

struct slots {
	uint32_t h[256];
	bool known[256];
};

static void slots_init(struct slots *t, const struct mp_rop_buf *b)
{
	for (size_t i = 0; i < 256; i++) {
		t->known[i] = i < b->n_handles;
		t->h[i] = i < b->n_handles ? b->handles[i] : NO_HANDLE;
	}
}

static struct cache_obj *slot_obj(struct cache_sess *s, const struct slots *t, int idx)
{
	return idx >= 0 && idx < 256 && t->known[idx] ? cache_obj_find(s, t->h[idx]) : NULL;
}

/* ---- requests ---------------------------------------------------------- */

/* Can this stream be answered here now? */
static bool servable(struct cache_global *g, struct cache_sess *s, struct cache_obj *o)
{
	if (!o || o->type != CACHE_OBJ_STREAM || !o->st || o->dirty || o->st->lost)
		return false;
	struct cache_obj *p = cache_obj_find(s, o->parent);
	if (p && p->dirty)
		return false;
	return o->st->rfd >= 0 || cache_stream_bind(g, o->st);
}

static bool read_count(const struct mp_rop *rop, uint64_t *want)
{
	if (!mp_rop_get_uint(rop, "ByteCount", want))
		return false;
	return *want != READ_MAXIMUM || mp_rop_get_uint(rop, "MaximumByteCount", want);
}

/* New position of a seek from `pos` in a stream of `size`; false when the
 * server would refuse it (then the server says so). */
static bool seek_to(const struct mp_rop *rop, uint64_t pos, uint64_t size, uint64_t *out)
{
	uint64_t origin, off;
	if (!mp_rop_get_uint(rop, "Origin", &origin) || !mp_rop_get_uint(rop, "Offset", &off) ||
	    origin > 2)
		return false;
	int64_t base = origin == 0 ? 0 : origin == 1 ? (int64_t)pos : (int64_t)size;
	int64_t o = (int64_t)off;
	if ((o < 0 && base + o < 0) || (o > 0 && o > (int64_t)0xFFFFFFFF - base))
		return false;
	*out = (uint64_t)(base + o);
	return true;
}

static void rsp_hdr(struct mp_wbuf *w, uint8_t id, uint8_t idx)
{
	mp_wb_u8(w, id);
	mp_wb_u8(w, idx);
	mp_wb_u32(w, 0); /* ReturnValue: success */
}

/* Answer a buffer of stream ROPs on bound streams (positions move in the
 * scratch tpos only). NULL when one cannot be answered right (no room for a
 * read that has data left): relay it then. */
static struct cache_answer *answer(struct cache_sess *s, void *mem, const struct mp_rop_buf *req,
                                   struct cache_obj **objs, size_t budget)
{
	(void)s;
	size_t fixed = 2 + 4 * req->n_handles;
	if (budget <= fixed)
		return NULL;
	struct cache_answer *a = talloc_zero(mem, struct cache_answer);
	if (!a || !(a->streams = talloc_array(a, uint32_t, req->count)))
		return NULL;
	struct mp_wbuf w;
	mp_wb_init(&w);
	for (size_t i = 0; i < req->count; i++)
		objs[i]->st->tpos = objs[i]->st->cpos;
	bool ok = true;
	for (size_t i = 0; ok && i < req->count; i++) {
		const struct mp_rop *rop = req->rops[i];
		struct cache_stream *st = objs[i]->st;
		uint8_t idx = (uint8_t)mp_rop_input_index(rop);
		uint64_t v;
		a->streams[a->n_streams++] = objs[i]->handle;
		switch (rop->id) {
		case ROP_READ_STREAM: {
			ok = read_count(rop, &v);
			size_t room = budget - fixed > w.len + 8 ? budget - fixed - w.len - 8 : 0;
			if (room > 0xFFFF)
				room = 0xFFFF;
			uint64_t left = st->size > st->tpos ? st->size - st->tpos : 0;
			uint64_t n = v < left ? v : left;
			if (n > room) {
				/* Less than asked is fine, nothing while data is left is
				 * not: a client takes 0 bytes for the end. */
				if (room == 0)
					ok = false;
				n = room;
			}
			rsp_hdr(&w, rop->id, idx);
			mp_wb_u16(&w, (uint16_t)n);
			uint8_t *dst = n ? mp_wb_grow(&w, (size_t)n) : NULL;
			size_t got = 0;
			if (ok && n &&
			    (!dst || cache_stream_read(st, st->tpos, dst, (size_t)n, &got) ||
			     got != n))
				ok = false;
			st->tpos += n;
			a->bytes += n;
			break;
		}
		case ROP_SEEK_STREAM:
			ok = seek_to(rop, st->tpos, st->size, &v);
			if (ok) {
				rsp_hdr(&w, rop->id, idx);
				mp_wb_u32(&w, (uint32_t)v);
				mp_wb_u32(&w, (uint32_t)(v >> 32));
				st->tpos = v;
			}
			break;
		case ROP_GET_STREAM_SIZE:
			rsp_hdr(&w, rop->id, idx);
			mp_wb_u32(&w, (uint32_t)st->size);
			break;
		default:
			ok = false;
		}
		if (w.bad || w.len + fixed > budget)
			ok = false;
	}
	if (ok) {
		struct mp_wbuf b;
		mp_wb_init(&b);
		mp_wb_u16(&b, (uint16_t)(2 + w.len));
		mp_wb_bytes(&b, w.data, w.len);
		for (size_t i = 0; i < req->n_handles; i++)
			mp_wb_u32(&b, req->handles[i]);
		a->buf = b.bad ? NULL : talloc_memdup(a, b.data, b.len);
		a->len = b.len;
		ok = a->buf != NULL;
		mp_wb_free(&b);
	}
	mp_wb_free(&w);
	if (!ok) {
		talloc_free(a);
		return NULL;
	}
	a->rops = req->count;
	return a;
}

void cache_rops_answer_given(struct cache_global *g, struct cache_sess *s,
                             const struct cache_answer *a)
{
	for (size_t i = 0; i < a->n_streams; i++) {
		struct cache_obj *o = cache_obj_find(s, a->streams[i]);
		if (o && o->st)
			o->st->cpos = o->st->tpos;
	}
	g->served_bytes += a->bytes;
	g->served_rops += a->rops;
	mp_module_log(MP_MODULE_LOG_DEBUG, "session %llu: %zu ROP(s) answered from the cache",
	              (unsigned long long)s->id, a->rops);
}

/* RopSeekStream ROPs that bring the server to where the client is, for the
 * streams the handle table names, in front of the buffer. */
static bool realign(struct cache_sess *s, void *mem, const uint8_t *buf, size_t len,
                    const struct mp_rop_buf *req, uint8_t **out, size_t *out_len, size_t *n_seeks)
{
	struct mp_wbuf seeks;
	mp_wb_init(&seeks);
	size_t n = 0;
	for (size_t k = 0; k < req->n_handles && k < 256; k++) {
		struct cache_obj *o = cache_obj_find(s, req->handles[k]);
		if (!o || !o->st || o->st->lost || o->st->cpos == o->st->spos)
			continue;
		bool dup = false; /* one seek per stream */
		for (size_t j = 0; j < k; j++)
			dup |= req->handles[j] == req->handles[k];
		if (dup)
			continue;
		mp_wb_u8(&seeks, ROP_SEEK_STREAM);
		mp_wb_u8(&seeks, o->logon_id);
		mp_wb_u8(&seeks, (uint8_t)k);
		mp_wb_u8(&seeks, 0); /* STREAM_SEEK_SET */
		mp_wb_u32(&seeks, (uint32_t)o->st->cpos);
		mp_wb_u32(&seeks, (uint32_t)(o->st->cpos >> 32));
		n++;
	}
	bool ok = true;
	if (n) {
		size_t rop_size = req->rop_size;
		struct mp_wbuf b;
		mp_wb_init(&b);
		if (rop_size + seeks.len > 0x8000 || rop_size > len) {
			ok = false;
		} else {
			mp_wb_u16(&b, (uint16_t)(rop_size + seeks.len));
			mp_wb_bytes(&b, seeks.data, seeks.len);
			mp_wb_bytes(&b, buf + 2, len - 2);
			*out = b.bad ? NULL : talloc_memdup(mem, b.data, b.len);
			*out_len = b.len;
			ok = *out != NULL;
		}
		mp_wb_free(&b);
	}
	mp_wb_free(&seeks);
	if (!ok) {
		/* Cannot realign: leave those streams to the server from now on. */
		for (size_t k = 0; k < req->n_handles; k++) {
			struct cache_obj *o = cache_obj_find(s, req->handles[k]);
			if (o && o->st && o->st->cpos != o->st->spos) {
				o->st->lost = true;
				mp_module_log(MP_MODULE_LOG_WARN,
				              "session %llu: no room to realign stream 0x%08x; its "
				              "reads go to the server as they are",
				              (unsigned long long)s->id, o->handle);
			}
		}
		n = 0;
	}
	*n_seeks = n;
	return ok;
}

int cache_rops_request(struct cache_global *g, struct cache_sess *s, void *mem, const uint8_t *buf,
                       size_t len, size_t budget, struct cache_answer **ans, uint8_t **relay,
                       size_t *relay_len, size_t *n_seeks)
{
	*ans = NULL;
	*relay = NULL;
	*relay_len = *n_seeks = 0;
	struct mp_rop_buf *req;
	if (mp_rop_buf_decode(mem, buf, len, false, NULL, s->rops, &req) != MP_OK)
		return MP_OK; /* not a buffer we understand: relayed as it is */
	struct slots t;
	slots_init(&t, req);
	struct cache_obj **objs = talloc_zero_array(mem, struct cache_obj *, req->count + 1);
	if (!objs)
		return MP_ERR_NOMEM;
	bool all_served = req->count > 0;
	for (size_t i = 0; i < req->count; i++) {
		const struct mp_rop *rop = req->rops[i];
		if (rop->opaque) {
			all_served = false;
			break; /* the rest is not decoded: we cannot tell what it does */
		}
		struct cache_obj *in = slot_obj(s, &t, mp_rop_input_index(rop));
		invalidations(g, s, rop, in, slot_obj(s, &t, mp_rop_dest_index(rop)));
		bool stream_rop = rop->id == ROP_READ_STREAM || rop->id == ROP_SEEK_STREAM ||
		                  rop->id == ROP_GET_STREAM_SIZE;
		if (all_served && !(stream_rop && servable(g, s, in)))
			all_served = false;
		objs[i] = in;
		int out = mp_rop_output_index(rop);
		if (out >= 0 && out < 256)
			t.known[out] = false;
	}
	if (all_served && (*ans = answer(s, mem, req, objs, budget)))
		return MP_OK;
	realign(s, mem, buf, len, req, relay, relay_len, n_seeks);
	return MP_OK;
}

bool cache_rops_strip_seeks(void *mem, const uint8_t *rsp, size_t len, size_t n, uint8_t **out,
                            size_t *out_len)
{
	if (len < 2)
		return false;
	size_t rop_size = mp_get_u16(rsp);
	if (rop_size < 2 || rop_size > len)
		return false;
	size_t off = 2;
	for (size_t i = 0; i < n; i++) {
		/* RopId, InputHandleIndex, ReturnValue, NewPosition when 0 */
		if (off + 6 > rop_size || rsp[off] != ROP_SEEK_STREAM)
			return false;
		size_t one = mp_get_u32(rsp + off + 2) == 0 ? 14 : 6;
		if (off + one > rop_size)
			return false;
		off += one;
	}
	uint8_t *b = talloc_size(mem, len - (off - 2));
	if (!b)
		return false;
	mp_put_u16(b, (uint16_t)(rop_size - (off - 2)));
	memcpy(b + 2, rsp + off, len - off);
	*out = b;
	*out_len = len - (off - 2);
	return true;
}

/* ---- responses --------------------------------------------------------- */

/* The stream's message stamp is needed before it may be cached. */
static void prepare_stream(struct cache_global *g, struct cache_sess *s, struct cache_obj *o)
{
	struct cache_stream *st = o->st;
	if (!st || !st->keyed || st->prepared || st->lost || o->dirty || st->size == 0)
		return;
	if (st->size < g->conf.min_size) {
		st->keyed = false; /* one or two reads: not worth a file, nor a stamp */
		return;
	}
	struct cache_obj *m = cache_obj_find(s, o->msg_handle);
	if (!g->conf.verify) {
		cache_stream_prepare(g, st, o->fid, 0);
		return;
	}
	if (!m) {
		st->keyed = false; /* no way to know the message's state: not cached */
		return;
	}
	if (m->stamp)
		cache_stream_prepare(g, st, o->fid, m->stamp);
	else
		queue_task(s, CACHE_TASK_STAMP, m->handle);
}

static void learn_logon(struct cache_sess *s, const struct mp_rop *rop, const struct mp_rop *rsp)
{
	uint64_t flags;
	int logon = mp_rop_logon_id(rop);
	const struct mp_rop_val *guid = mp_rop_field(rsp, "MailboxGuid");
	if (logon < 0 || !mp_rop_get_uint(rsp, "LogonFlags", &flags))
		return;
	s->logons[logon].known = false;
	if (!(flags & LOGON_PRIVATE) || !guid || guid->n != 16)
		return; /* public folders: not cached */
	static const uint8_t zero[16];
	if (memcmp(guid->bytes, zero, 16) == 0)
		return;
	memcpy(s->logons[logon].mbox, guid->bytes, 16);
	s->logons[logon].known = true;
	mp_module_log(MP_MODULE_LOG_DEBUG, "session %llu: logon %d to mailbox %02x%02x%02x%02x...",
	              (unsigned long long)s->id, logon, guid->bytes[0], guid->bytes[1],
	              guid->bytes[2], guid->bytes[3]);
}

static void opened_stream(struct cache_global *g, struct cache_sess *s, const struct mp_rop *rop,
                          const struct mp_rop *rsp, struct cache_obj *parent, uint32_t handle)
{
	uint64_t tag = 0, mode = 0, size = 0;
	int logon = mp_rop_logon_id(rop);
	if (!parent || logon < 0 || !mp_rop_get_uint(rop, "PropertyTag", &tag) ||
	    !mp_rop_get_uint(rop, "OpenModeFlags", &mode) ||
	    !mp_rop_get_uint(rsp, "StreamSize", &size))
		return;
	if (parent->type != CACHE_OBJ_MESSAGE && parent->type != CACHE_OBJ_ATTACH)
		return;
	uint32_t parent_handle = parent->handle,
	         msg = parent->type == CACHE_OBJ_MESSAGE ? parent->handle : parent->msg_handle;
	uint8_t plogon = parent->logon_id;
	uint64_t fid = parent->fid, mid = parent->mid;
	uint32_t attach = parent->type == CACHE_OBJ_ATTACH ? parent->attach : CACHE_NO_ATTACH;
	bool dirty = parent->dirty || mode == STREAM_CREATE;
	struct cache_obj *o = obj_add(g, s, handle, CACHE_OBJ_STREAM, plogon); /* parent may move */
	if (!o)
		return;
	o->fid = fid;
	o->mid = mid;
	o->attach = attach;
	o->msg_handle = msg;
	o->parent = parent_handle;
	o->dirty = dirty;
	struct cache_key key = {.mid = mid, .attach = attach, .tag = (uint32_t)tag};
	const uint8_t *mbox = mbox_of(s, plogon);
	if (mbox)
		memcpy(key.mbox, mbox, 16);
	o->st = cache_stream_new(s->mem, &key, mbox && !dirty, size);
	mp_module_log(MP_MODULE_LOG_DEBUG,
	              "session %llu: stream 0x%08x of message %016llx "
	              "attachment %d tag %08llx, %llu bytes%s",
	              (unsigned long long)s->id, handle, (unsigned long long)mid,
	              attach == CACHE_NO_ATTACH ? -1 : (int)attach, (unsigned long long)tag,
	              (unsigned long long)size,
	              !mbox   ? " (logon unknown: not cached)"
	              : dirty ? " (changed here: not cached)"
	                      : "");
	if (o->st)
		prepare_stream(g, s, o);
}

/* A relayed ReadStream's data. */
static void read_data(struct cache_global *g, struct cache_sess *s, struct mp_session *ms,
                      struct cache_obj *o, const struct mp_rop *rsp)
{
	const struct mp_rop_val *d = mp_rop_field(rsp, "Data");
	struct cache_stream *st = o->st;
	size_t n = d ? d->n : 0;
	if (st->lost)
		return;
	cache_stream_capture(g, st, d ? d->bytes : NULL, n);
	st->spos += n;
	st->cpos = st->spos;
	if (!st->prepared || st->rfd >= 0 || !st->keyed)
		return;
	/* The proxy next to the clients: fetch a big stream from the other
	 * proxy's cache with the sync command. */
	if (g->conf.sync && st->size > g->conf.sync_min && n)
		cache_sync_start(g, ms, &st->key, &st->commit);
	/* The proxy next to the server: read the rest now. */
	if (g->conf.ahead && st->wfd >= 0 && st->captured < st->size && !st->reading_ahead && n) {
		st->reading_ahead = true;
		queue_task(s, CACHE_TASK_READ, o->handle);
	}
}

static void stream_moved(struct cache_obj *o, const struct mp_rop *rop, const struct mp_rop *rsp,
                         bool ok)
{
	struct cache_stream *st = o->st;
	uint64_t v;
	if (st->lost)
		return;
	switch (rop->id) {
	case ROP_SEEK_STREAM:
		if (ok && mp_rop_get_uint(rsp, "NewPosition", &v))
			st->spos = st->cpos = v;
		break;
	case ROP_GET_STREAM_SIZE:
		if (ok && mp_rop_get_uint(rsp, "StreamSize", &v) && v != st->size) {
			/* It changed under us: not the stream we know. */
			cache_stream_capture_abort(st);
			st->lost = true;
		}
		break;
	case ROP_COPY_TO_STREAM:
		if (mp_rop_get_uint(rsp, "ReadByteCount", &v))
			st->spos = st->cpos = st->spos + v;
		break;
	default:
		break;
	}
}

/* A stream whose positions cannot be followed any more. */
static void lose(struct cache_obj *o)
{
	if (o && o->st && !o->st->lost) {
		cache_stream_capture_abort(o->st);
		o->st->lost = true;
	}
}

void cache_rops_response(struct cache_global *g, struct cache_sess *s, struct mp_session *ms,
                         void *mem, const uint8_t *req_buf, size_t req_len, const uint8_t *rsp_buf,
                         size_t rsp_len, bool lost)
{
	struct mp_rop_buf *req, *rsp = NULL;
	if (mp_rop_buf_decode(mem, req_buf, req_len, false, NULL, s->rops, &req) != MP_OK)
		return;
	if (!lost && mp_rop_buf_decode(mem, rsp_buf, rsp_len, true, req, s->rops, &rsp) != MP_OK)
		lost = true;
	struct slots t;
	slots_init(&t, req);
	const struct mp_rop **resp_of =
	    talloc_zero_array(mem, const struct mp_rop *, req->count + 1);
	int *last_writer = talloc_array(mem, int, 256);
	if (!resp_of || !last_writer)
		return;
	for (size_t j = 0; rsp && j < rsp->count; j++)
		for (size_t i = 0; i < req->count; i++)
			if (rsp->rops[j]->req == req->rops[i] && !resp_of[i])
				resp_of[i] = rsp->rops[j];
	for (int k = 0; k < 256; k++)
		last_writer[k] = -1;
	for (size_t i = 0; i < req->count; i++) {
		int out = mp_rop_output_index(req->rops[i]);
		if (out >= 0 && out < 256)
			last_writer[out] = (int)i;
	}
	for (size_t i = 0; i < req->count; i++) {
		const struct mp_rop *rop = req->rops[i];
		const struct mp_rop *r = resp_of[i];
		if (rop->opaque)
			break;
		struct cache_obj *in = slot_obj(s, &t, mp_rop_input_index(rop));
		int out = mp_rop_output_index(rop);
		uint32_t rv = 1;
		bool ok = r && !r->opaque && mp_rop_return_value(r, &rv) && rv == 0;
		uint32_t new_handle = ok && out >= 0 && last_writer[out] == (int)i && rsp &&
		                              (size_t)out < rsp->n_handles
		                          ? rsp->handles[out]
		                          : NO_HANDLE;
		uint64_t v = 0;
		if (ok)
			invalidations(g, s, rop, in, slot_obj(s, &t, mp_rop_dest_index(rop)));
		if (in && in->type == CACHE_OBJ_STREAM && in->st &&
		    (rop->id == ROP_READ_STREAM || rop->id == ROP_SEEK_STREAM ||
		     rop->id == ROP_GET_STREAM_SIZE || rop->id == ROP_COPY_TO_STREAM) &&
		    (lost || !r || r->opaque))
			lose(in); /* the server moved it by an amount we did not see */
		else if (in && in->type == CACHE_OBJ_STREAM && in->st && rop->id == ROP_READ_STREAM)
			read_data(g, s, ms, in, r);
		else if (in && in->type == CACHE_OBJ_STREAM && in->st)
			stream_moved(in, rop, r, ok);
		switch (rop->id) {
		case ROP_LOGON:
			if (ok)
				learn_logon(s, rop, r);
			break;
		case ROP_OPEN_FOLDER:
			if (new_handle != NO_HANDLE && mp_rop_get_uint(rop, "FolderId", &v)) {
				struct cache_obj *o = obj_add(g, s, new_handle, CACHE_OBJ_FOLDER,
				                              (uint8_t)mp_rop_logon_id(rop));
				if (o)
					o->fid = v;
			}
			break;
		case ROP_OPEN_MESSAGE: {
			uint64_t fid, mid;
			if (new_handle == NO_HANDLE || !mp_rop_get_uint(rop, "FolderId", &fid) ||
			    !mp_rop_get_uint(rop, "MessageId", &mid))
				break;
			uint8_t logon = (uint8_t)mp_rop_logon_id(rop);
			struct cache_obj *o = obj_add(g, s, new_handle, CACHE_OBJ_MESSAGE, logon);
			if (!o)
				break;
			o->fid = fid;
			o->mid = mid;
			/* Cached streams of it: are they still current? */
			const uint8_t *mbox = mbox_of(s, logon);
			if (g->conf.verify && mbox && cache_index_has_message(g->ix, mbox, mid))
				queue_task(s, CACHE_TASK_STAMP, new_handle);
			break;
		}
		case ROP_OPEN_ATTACH:
			if (new_handle != NO_HANDLE && in && in->type == CACHE_OBJ_MESSAGE &&
			    mp_rop_get_uint(rop, "AttachmentID", &v)) {
				uint64_t fid = in->fid, mid = in->mid;
				uint32_t msg = in->handle;
				bool dirty = in->dirty;
				struct cache_obj *o =
				    obj_add(g, s, new_handle, CACHE_OBJ_ATTACH, in->logon_id);
				if (o) {
					o->fid = fid;
					o->mid = mid;
					o->attach = (uint32_t)v;
					o->msg_handle = msg;
					o->dirty = dirty;
				}
			}
			break;
		case ROP_OPEN_STREAM:
			if (new_handle != NO_HANDLE)
				opened_stream(g, s, rop, r, in, new_handle);
			break;
		case ROP_RELEASE:
			if (in)
				cache_obj_forget(g, s, in->handle);
			break;
		default:
			break;
		}
		if (out >= 0 && out < 256) {
			t.known[out] = new_handle != NO_HANDLE;
			t.h[out] = new_handle;
		}
	}
	if (rsp)
		mp_rop_session_update(s->rops, req, rsp);
}

/* ---- read-ahead tasks -------------------------------------------------- */

bool cache_rops_task_request(struct cache_global *g, struct cache_sess *s, void *mem,
                             const struct cache_task *task, uint8_t **buf, size_t *len)
{
	struct cache_obj *o = cache_obj_find(s, task->handle);
	struct mp_wbuf w;
	mp_wb_init(&w);
	mp_wb_u16(&w, 0); /* RopSize, below */
	if (task->type == CACHE_TASK_STAMP) {
		if (!o || o->type != CACHE_OBJ_MESSAGE) {
			mp_wb_free(&w);
			return false;
		}
		mp_wb_u8(&w, ROP_GET_PROPS);
		mp_wb_u8(&w, o->logon_id);
		mp_wb_u8(&w, 0);  /* InputHandleIndex */
		mp_wb_u16(&w, 0); /* PropertySizeLimit: the server's */
		mp_wb_u16(&w, 0); /* WantUnicode */
		mp_wb_u16(&w, 2);
		mp_wb_u32(&w, TAG_CHANGE_KEY);
		mp_wb_u32(&w, TAG_LAST_MODIFICATION_TIME);
	} else {
		struct cache_stream *st = o && o->type == CACHE_OBJ_STREAM ? o->st : NULL;
		if (!st || st->lost || st->wfd < 0 || st->captured >= st->size) {
			if (st)
				st->reading_ahead = false;
			mp_wb_free(&w);
			return false;
		}
		if (st->spos != st->captured) {
			mp_wb_u8(&w, ROP_SEEK_STREAM);
			mp_wb_u8(&w, o->logon_id);
			mp_wb_u8(&w, 0);
			mp_wb_u8(&w, 0); /* STREAM_SEEK_SET */
			mp_wb_u32(&w, (uint32_t)st->captured);
			mp_wb_u32(&w, (uint32_t)(st->captured >> 32));
		}
		uint64_t left = st->size - st->captured;
		mp_wb_u8(&w, ROP_READ_STREAM);
		mp_wb_u8(&w, o->logon_id);
		mp_wb_u8(&w, 0);
		mp_wb_u16(&w, (uint16_t)(left < g->conf.ahead_chunk ? left : g->conf.ahead_chunk));
	}
	mp_wb_put_u16_at(&w, 0, (uint16_t)w.len);
	mp_wb_u32(&w, o->handle);
	*buf = w.bad ? NULL : talloc_memdup(mem, w.data, w.len);
	*len = w.len;
	mp_wb_free(&w);
	return *buf != NULL;
}

/* The message's stamp is known: drop cached streams made of another state,
 * then prepare its streams that waited for it. */
static void stamp_known(struct cache_global *g, struct cache_sess *s, struct cache_obj *m)
{
	const uint8_t *mbox = mbox_of(s, m->logon_id);
	if (mbox && cache_index_message_stamp_differs(g->ix, mbox, m->mid, m->stamp)) {
		mp_module_log(MP_MODULE_LOG_INFO,
		              "session %llu: message %016llx changed on the server since it was "
		              "cached: reading it again",
		              (unsigned long long)s->id, (unsigned long long)m->mid);
		invalidate_message(g, s, m->logon_id, m->mid);
	}
	for (size_t i = 0; i < s->n_objs; i++)
		if (s->objs[i].type == CACHE_OBJ_STREAM && s->objs[i].msg_handle == m->handle)
			prepare_stream(g, s, &s->objs[i]);
}

void cache_rops_task_response(struct cache_global *g, struct cache_sess *s, struct mp_session *ms,
                              void *mem, const struct cache_task *task, const uint8_t *req_buf,
                              size_t req_len, const uint8_t *rsp_buf, size_t rsp_len)
{
	(void)ms;
	struct mp_rop_buf *req, *rsp;
	struct cache_obj *o = cache_obj_find(s, task->handle);
	struct cache_stream *st = o && o->type == CACHE_OBJ_STREAM ? o->st : NULL;
	if (!o || mp_rop_buf_decode(mem, req_buf, req_len, false, NULL, s->rops, &req) != MP_OK ||
	    !rsp_buf ||
	    mp_rop_buf_decode(mem, rsp_buf, rsp_len, true, req, s->rops, &rsp) != MP_OK) {
		if (st) {
			st->reading_ahead = false;
			lose(o);
		}
		return;
	}
	for (size_t j = 0; j < rsp->count; j++) {
		const struct mp_rop *r = rsp->rops[j];
		uint32_t rv = 1;
		bool ok = !r->opaque && mp_rop_return_value(r, &rv) && rv == 0;
		if (r->opaque)
			break;
		uint64_t v;
		if (task->type == CACHE_TASK_STAMP && r->id == ROP_GET_PROPS &&
		    o->type == CACHE_OBJ_MESSAGE) {
			const uint8_t *b;
			size_t n;
			if (ok && mp_rop_bytes(r, &b, &n, NULL) && n > 6) {
				o->stamp = cache_hash(b + 6, n - 6);
				stamp_known(g, s, o);
			}
		} else if (st && r->id == ROP_SEEK_STREAM) {
			if (!ok || !mp_rop_get_uint(r, "NewPosition", &v)) {
				st->reading_ahead = false;
				return;
			}
			st->spos = v;
		} else if (st && r->id == ROP_READ_STREAM) {
			const struct mp_rop_val *d = mp_rop_field(r, "Data");
			size_t n = d ? d->n : 0;
			if (!ok || n == 0 || st->lost) {
				/* The server has less than it said: give up copying. */
				cache_stream_capture_abort(st);
				st->reading_ahead = false;
				return;
			}
			cache_stream_capture(g, st, d->bytes, n);
			st->spos += n;
		}
	}
	if (st && st->wfd >= 0 && st->captured < st->size)
		queue_task(s, CACHE_TASK_READ, o->handle); /* more to read */
	else if (st)
		st->reading_ahead = false;
}
