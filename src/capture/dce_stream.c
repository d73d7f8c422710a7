/*
 * DCE/RPC over captured TCP streams (see dce_stream.h).
 *
 * Facts: C706 chapter 12 and [MS-RPCE] 2.2.2 (PDU layouts, fragment flags,
 * presentation contexts, call_id pairing), [MS-RPCE] 3.3.1.5.3 (bind-time
 * feature negotiation), [MS-RPCH] 2.1.2.1.x (ncacn_http: each side starts
 * with the 14 bytes "ncacn_http/1.0" on a direct connection).
 */
#include "capture/dce_stream.h"

#include "dcerpc/iface.h"
#include "dcerpc/sec.h"
#include "mapi/call.h"
#include "util/cursor.h"
#include "util/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <talloc.h>

#define FRAG_MAX 65535
#define BUF_START 4096
#define RESYNC_WINDOW (FRAG_MAX + 1 + MP_PDU_HDR_LEN)
#define MAX_CTX 64
#define MAX_AUTH 8
#define MAX_PEND 4
#define DEF_MAX_CALL_BYTES (16u << 20)
#define DEF_MAX_CALLS 256

static const char http_prefix[] = "ncacn_http/1.0";
#define HTTP_PREFIX_LEN (sizeof(http_prefix) - 1)

/* ---- interfaces by UUID --------------------------------------------------- */

static const struct {
	const char *cfg_name;
	int mapi;
} mapi_names[] = {
    {"exchange_emsmdb", MP_MAPI_EMSMDB},
    {"exchange_async_emsmdb", MP_MAPI_ASYNCEMSMDB},
    {"exchange_nsp", MP_MAPI_NSPI},
    {"exchange_ds_rfr", MP_MAPI_RFR},
};

/* Interfaces are told apart by UUID alone: the version is the client's to
 * pick and the same UUID is the same interface to a reader. */
static void resolve_iface(struct mp_dce_ctx *x)
{
	x->name = NULL;
	x->mapi = -1;
	uint16_t features;
	if (mp_syntax_is_btfn(&x->abstract, &features) || mp_syntax_is_btfn(&x->ts, &features)) {
		x->name = "bind time feature negotiation";
		return;
	}
	for (const struct mp_iface *i = mp_ifaces; i->name; i++) {
		struct mp_uuid u;
		if (mp_uuid_parse(i->uuid, &u) != MP_OK || !mp_uuid_equal(&u, &x->abstract.uuid))
			continue;
		x->name = i->name;
		for (size_t m = 0; m < sizeof(mapi_names) / sizeof(mapi_names[0]); m++) {
			if (strcmp(mapi_names[m].cfg_name, i->name) == 0) {
				x->mapi = mapi_names[m].mapi;
				x->name = mp_mapi_iface_name((enum mp_mapi_iface)x->mapi);
			}
		}
		return;
	}
}

/* ---- state ---------------------------------------------------------------- */

struct dirstate {
	uint8_t *buf; /* talloc'd, grows to one fragment (or the resync window) */
	size_t len, cap;
	bool any;         /* a byte was seen */
	bool prefix_done; /* the ncacn_http check is behind us */
	bool resync;
	uint64_t skipped;
	uint64_t offset; /* stream offset of buf[0] (for messages) */
	struct timespec t_first;
	uint64_t frame_first;
};

/* A bind / alter_context waiting for its answer: what each proposed
 * context asks for (only the first transfer syntax is kept: an answer names
 * the one it accepts). */
struct pend_ctx {
	uint16_t id;
	struct mp_syntax abstract;
	struct mp_syntax ts0;
};

struct pend {
	bool used;
	uint8_t ptype;
	uint32_t call_id;
	uint8_t n;
	struct pend_ctx ctx[MP_PDU_MAX_CTX];
};

struct authslot {
	bool used;
	uint32_t id;
	struct mp_cap_auth *a;
};

struct call {
	struct mp_dce_call pub;
	struct call *next;
	size_t req_cap, rsp_cap;
};

struct mp_dce_conn {
	struct mp_dce_opts opts;
	struct mp_dce_sink sink;
	struct mp_dce_conn_info info;
	struct dirstate d[2];
	struct mp_dce_ctx ctx[MAX_CTX];
	size_t n_ctx;
	struct pend pend[MAX_PEND];
	struct authslot auth[MAX_AUTH];
	struct call *calls; /* oldest first */
	size_t n_calls;
	struct mp_dce_stats st;
	struct timespec last_ts;
};

static void note(struct mp_dce_conn *c, const struct timespec *ts, enum mp_dce_note_level lvl,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void note(struct mp_dce_conn *c, const struct timespec *ts, enum mp_dce_note_level lvl,
                 const char *fmt, ...)
{
	if (!c->sink.note)
		return;
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	c->sink.note(c->sink.arg, &c->info, ts ? ts : &c->last_ts, lvl, buf);
}

static const char *dir_name(unsigned dir)
{
	return dir ? "server to client" : "client to server";
}

struct mp_dce_conn *mp_dce_conn_new(void *mem, const struct mp_dce_opts *opts,
                                    const struct mp_dce_sink *sink,
                                    const struct mp_dce_conn_info *info)
{
	struct mp_dce_conn *c = talloc_zero(mem, struct mp_dce_conn);
	if (!c)
		return NULL;
	if (opts)
		c->opts = *opts;
	if (!c->opts.max_call_bytes)
		c->opts.max_call_bytes = DEF_MAX_CALL_BYTES;
	if (!c->opts.max_calls)
		c->opts.max_calls = DEF_MAX_CALLS;
	c->sink = *sink;
	if (info)
		c->info = *info;
	return c;
}

bool mp_dce_conn_fresh(const struct mp_dce_conn *c)
{
	return !c->d[0].any && !c->d[1].any;
}

void mp_dce_conn_swap(struct mp_dce_conn *c)
{
	char t[sizeof(c->info.cli)];
	memcpy(t, c->info.cli, sizeof(t));
	memcpy(c->info.cli, c->info.srv, sizeof(t));
	memcpy(c->info.srv, t, sizeof(t));
}

void mp_dce_conn_add_stats(const struct mp_dce_conn *c, struct mp_dce_stats *sum)
{
	const struct mp_dce_stats *s = &c->st;
	sum->pdus += s->pdus;
	sum->calls += s->calls;
	sum->bad_pdus += s->bad_pdus;
	sum->resyncs += s->resyncs;
	sum->skipped_bytes += s->skipped_bytes;
	sum->decrypted += s->decrypted;
	sum->verified += s->verified;
	sum->sealed += s->sealed;
	sum->bad_signature += s->bad_signature;
	sum->incomplete_calls += s->incomplete_calls;
}

/* ---- contexts ------------------------------------------------------------- */

static struct mp_dce_ctx *find_ctx(struct mp_dce_conn *c, uint16_t id)
{
	for (size_t i = 0; i < c->n_ctx; i++)
		if (c->ctx[i].id == id)
			return &c->ctx[i];
	return NULL;
}

static struct mp_dce_ctx *put_ctx(struct mp_dce_conn *c, uint16_t id)
{
	struct mp_dce_ctx *x = find_ctx(c, id);
	if (x)
		return x;
	if (c->n_ctx >= MAX_CTX)
		return NULL;
	x = &c->ctx[c->n_ctx++];
	memset(x, 0, sizeof(*x));
	x->id = id;
	x->mapi = -1;
	return x;
}

static struct pend *add_pend(struct mp_dce_conn *c, uint8_t ptype, uint32_t call_id,
                             const struct mp_pdu_bind *b)
{
	struct pend *p = NULL;
	for (size_t i = 0; i < MAX_PEND && !p; i++)
		if (!c->pend[i].used)
			p = &c->pend[i];
	if (!p)
		p = &c->pend[0]; /* an old unanswered one makes room */
	p->used = true;
	p->ptype = ptype;
	p->call_id = call_id;
	p->n = b->n_ctx;
	for (unsigned i = 0; i < b->n_ctx; i++) {
		p->ctx[i].id = b->ctx[i].id;
		p->ctx[i].abstract = b->ctx[i].abstract;
		p->ctx[i].ts0 = b->ctx[i].ts[0];
	}
	/* Until answered, a context is known by its proposal (so that calls of
	   a capture whose bind_ack was lost still name their interface). */
	for (unsigned i = 0; i < b->n_ctx; i++) {
		struct mp_dce_ctx *x = find_ctx(c, b->ctx[i].id);
		if (x && x->answered)
			continue;
		x = put_ctx(c, b->ctx[i].id);
		if (!x)
			break;
		x->abstract = b->ctx[i].abstract;
		x->ts = b->ctx[i].ts[0];
		x->ndr64 = mp_syntax_equal(&x->ts, &mp_syntax_ndr64);
		resolve_iface(x);
	}
	return p;
}

static struct pend *take_pend(struct mp_dce_conn *c, uint32_t call_id)
{
	struct pend *any = NULL;
	for (size_t i = 0; i < MAX_PEND; i++) {
		if (!c->pend[i].used)
			continue;
		if (c->pend[i].call_id == call_id)
			return &c->pend[i];
		if (!any)
			any = &c->pend[i];
	}
	return any;
}

/* Apply a bind_ack / alter_resp to its proposal; fills out[] for the report. */
static size_t apply_results(struct mp_dce_conn *c, const struct mp_pdu_bind_ack *a, struct pend *p,
                            struct mp_dce_ctx *out)
{
	size_t n = 0;
	unsigned count = a->n_results < p->n ? a->n_results : p->n;
	for (unsigned i = 0; i < count; i++) {
		const struct mp_pdu_result *r = &a->res[i];
		struct mp_dce_ctx tmp = {0};
		struct mp_dce_ctx *x = &tmp;
		if (r->result == MP_CTX_ACCEPT) {
			x = put_ctx(c, p->ctx[i].id);
			if (!x)
				x = &tmp;
		}
		x->id = p->ctx[i].id;
		x->answered = true;
		x->accepted = r->result == MP_CTX_ACCEPT;
		x->result = r->result;
		x->reason = r->reason;
		x->abstract = p->ctx[i].abstract;
		x->ts = x->accepted ? r->ts : p->ctx[i].ts0;
		x->ndr64 = mp_syntax_equal(&x->ts, &mp_syntax_ndr64);
		resolve_iface(x);
		if (r->result == MP_CTX_NEGOTIATE_ACK)
			x->name = "bind time feature negotiation";
		if (!x->accepted) {
			/* A refused proposal does not define the id. */
			for (size_t k = 0; k < c->n_ctx; k++) {
				if (c->ctx[k].id == x->id && !c->ctx[k].answered) {
					c->ctx[k] = c->ctx[--c->n_ctx];
					break;
				}
			}
		}
		out[n++] = *x;
	}
	p->used = false;
	return n;
}

/* ---- auth ---------------------------------------------------------------- */

static struct authslot *find_auth(struct mp_dce_conn *c, uint32_t id)
{
	for (size_t i = 0; i < MAX_AUTH; i++)
		if (c->auth[i].used && c->auth[i].id == id)
			return &c->auth[i];
	return NULL;
}

/* The first message of a handshake: a fresh observer replaces an old one. */
static bool starts_handshake(const uint8_t *tok, size_t len)
{
	if (mp_ntlm_msg_type(tok, len) == MP_NTLM_NEGOTIATE)
		return true;
	return len > 0 && tok[0] == 0x60; /* SPNEGO initial token */
}

static void auth_token(struct mp_dce_conn *c, unsigned dir, const struct mp_pdu *pdu,
                       const struct timespec *ts)
{
	if (!pdu->has_auth || !pdu->hdr.auth_len)
		return;
	const uint8_t *tok = pdu->auth.value;
	size_t len = pdu->hdr.auth_len;
	struct authslot *s = find_auth(c, pdu->auth.ctx_id);
	if (!s || (dir == 0 && starts_handshake(tok, len)) ||
	    mp_cap_auth_type(s->a) != pdu->auth.type) {
		if (!s) {
			for (size_t i = 0; i < MAX_AUTH && !s; i++)
				if (!c->auth[i].used)
					s = &c->auth[i];
		}
		if (!s) {
			note(c, ts, MP_DCE_NOTE_WARN,
			     "more than %d auth contexts on one connection: auth context %u is "
			     "not followed",
			     MAX_AUTH, pdu->auth.ctx_id);
			return;
		}
		if (s->used)
			talloc_free(s->a);
		s->a = mp_cap_auth_new(c, pdu->auth.type, pdu->auth.ctx_id, c->opts.creds);
		s->used = s->a != NULL;
		s->id = pdu->auth.ctx_id;
		if (!s->used)
			return;
		if (mp_cap_auth_get_state(s->a) == MP_CAP_AUTH_UNSUPPORTED)
			note(c, ts, MP_DCE_NOTE_WARN, "auth context %u: %s", s->id,
			     mp_cap_auth_detail(s->a));
	}
	if (mp_cap_auth_token(s->a, dir, tok, len)) {
		enum mp_cap_auth_state st = mp_cap_auth_get_state(s->a);
		note(c, ts, st == MP_CAP_AUTH_READY ? MP_DCE_NOTE_INFO : MP_DCE_NOTE_WARN,
		     "auth context %u (%s, %s): %s", s->id, mp_auth_type_name(pdu->auth.type),
		     mp_auth_level_name(pdu->auth.level), mp_cap_auth_detail(s->a));
	}
}

/* ---- calls --------------------------------------------------------------- */

static struct call *find_call(struct mp_dce_conn *c, uint32_t call_id)
{
	for (struct call *k = c->calls; k; k = k->next)
		if (k->pub.call_id == call_id)
			return k;
	return NULL;
}

static void unlink_call(struct mp_dce_conn *c, struct call *k)
{
	struct call **pp = &c->calls;
	while (*pp && *pp != k)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = k->next;
		c->n_calls--;
	}
}

/* Report the call (with why it is incomplete, if it is) and free it. */
static void finish_call(struct mp_dce_conn *c, struct call *k, const char *end)
{
	struct mp_dce_call *p = &k->pub;
	unlink_call(c, k);
	if (!p->req.seen)
		p->end = "the request is not in the capture";
	else if (p->req.gap)
		p->end = "bytes of the request are missing from the capture";
	else if (!p->req.complete)
		p->end = end ? end : "the request is incomplete";
	else if (p->fault || p->maybe)
		p->end = NULL;
	else if (p->rsp.gap)
		p->end = "bytes of the response are missing from the capture";
	else if (!p->rsp.complete)
		p->end = p->rsp.seen ? "the response is incomplete" : end ? end : "no response";
	else
		p->end = NULL;
	if (p->end)
		c->st.incomplete_calls++;
	p->ctx = find_ctx(c, p->ctx_id);
	c->st.calls++;
	if (c->sink.call)
		c->sink.call(c->sink.arg, p);
	talloc_free(k);
}

static struct call *new_call(struct mp_dce_conn *c, uint32_t call_id, const struct timespec *ts)
{
	if (c->n_calls >= c->opts.max_calls && c->calls) {
		note(c, ts, MP_DCE_NOTE_WARN,
		     "more than %zu calls in flight: call_id %u is reported without waiting more",
		     c->opts.max_calls, c->calls->pub.call_id);
		finish_call(c, c->calls, "dropped: too many calls in flight");
	}
	struct call *k = talloc_zero(c, struct call);
	if (!k)
		return NULL;
	k->pub.conn = &c->info;
	k->pub.call_id = call_id;
	struct call **pp = &c->calls;
	while (*pp)
		pp = &(*pp)->next;
	*pp = k;
	c->n_calls++;
	return k;
}

/* Severity of a fragment's protection outcome: the worst one names the half. */
static int prot_rank(int p)
{
	switch (p) {
	case MP_CAP_PROT_NONE:
		return 0;
	case MP_CAP_PROT_VERIFIED:
		return 1;
	case MP_CAP_PROT_DECRYPTED:
		return 2;
	case MP_CAP_PROT_UNVERIFIED:
		return 3;
	case MP_CAP_PROT_BAD:
		return 4;
	case MP_CAP_PROT_SEALED:
		return 5;
	case MP_CAP_PROT_MALFORMED:
		return 6;
	}
	return 0;
}

static void drop_stub(struct mp_dce_half *h, size_t *cap, const char *why)
{
	talloc_free(h->stub);
	h->stub = NULL;
	h->stub_kept = 0;
	*cap = 0;
	if (why && !h->why)
		h->why = why;
}

/* A reason may be an auth observer's text, which changes or goes away
 * before the call is reported: the call keeps its own copy. */
static const char *own(struct call *k, const char *why)
{
	return why ? talloc_strdup(k, why) : NULL;
}

/* Add one fragment to a half. */
static void add_frag(struct mp_dce_conn *c, struct call *k, struct mp_dce_half *h, size_t *cap,
                     const struct mp_pdu *pdu, int prot, const char *why,
                     const struct timespec *t_first, uint64_t frame_first,
                     const struct timespec *ts, uint64_t frame)
{
	if (!h->seen) {
		h->seen = true;
		h->t_first = *t_first;
		h->frame_first = frame_first;
		h->prot = prot;
		h->why = own(k, why);
		if (pdu->has_auth) {
			h->auth_type = pdu->auth.type;
			h->auth_level = pdu->auth.level;
		}
	}
	h->frags++;
	h->wire_bytes += pdu->hdr.frag_len;
	h->t_last = *ts;
	h->frame_last = frame;
	if (prot_rank(prot) > prot_rank(h->prot)) {
		h->prot = prot;
		h->why = own(k, why);
	}
	bool have_bytes = prot != MP_CAP_PROT_SEALED && prot != MP_CAP_PROT_MALFORMED;
	bool first_bytes = h->frags == 1;
	size_t n = pdu->stub_len;
	h->stub_len += n;
	if (!have_bytes) {
		if (!h->why)
			h->why = own(k, why);
		drop_stub(h, cap, NULL);
		return;
	}
	if ((!h->stub && !first_bytes) || h->gap)
		return; /* an earlier part is unavailable: the stub is already gone */
	size_t room = c->opts.max_call_bytes - h->stub_kept;
	if (n > room) {
		h->stub_cut = true;
		n = room;
	}
	if (h->stub_kept + n > *cap || !h->stub) {
		size_t want = *cap ? *cap : 256;
		while (want < h->stub_kept + n)
			want *= 2;
		if (want > c->opts.max_call_bytes)
			want = c->opts.max_call_bytes;
		uint8_t *nb = talloc_realloc_size(k, h->stub, want ? want : 1);
		if (!nb) {
			drop_stub(h, cap, "out of memory");
			return;
		}
		h->stub = nb;
		*cap = want;
	}
	if (n)
		memcpy(h->stub + h->stub_kept, pdu->stub, n);
	h->stub_kept += n;
}

static struct mp_cap_auth *auth_of(struct mp_dce_conn *c, const struct mp_pdu *pdu)
{
	if (!pdu->has_auth)
		return NULL;
	struct authslot *s = find_auth(c, pdu->auth.ctx_id);
	return s ? s->a : NULL;
}

static int unprotect(struct mp_dce_conn *c, unsigned dir, uint8_t *frag, size_t len,
                     struct mp_pdu *pdu, const char **why)
{
	int prot = mp_cap_auth_unprotect(auth_of(c, pdu), dir, frag, len, pdu, why);
	switch (prot) {
	case MP_CAP_PROT_DECRYPTED:
		c->st.decrypted++;
		break;
	case MP_CAP_PROT_VERIFIED:
		c->st.verified++;
		break;
	case MP_CAP_PROT_SEALED:
		c->st.sealed++;
		break;
	case MP_CAP_PROT_BAD:
		c->st.bad_signature++;
		break;
	default:
		break;
	}
	return prot;
}

static void on_request(struct mp_dce_conn *c, unsigned dir, uint8_t *frag, size_t len,
                       struct mp_pdu *pdu, struct mp_dce_pdu_ev *ev)
{
	const struct timespec *ts = &ev->ts;
	const char *why = NULL;
	int prot = unprotect(c, dir, frag, len, pdu, &why);
	ev->prot = prot;
	ev->have_opnum = true;
	ev->opnum = pdu->u.request.opnum;
	ev->ctx = find_ctx(c, pdu->u.request.ctx_id);

	bool first = pdu->hdr.pfc_flags & MP_PFC_FIRST_FRAG;
	struct call *k = find_call(c, pdu->hdr.call_id);
	if (k && first && k->pub.req.seen) {
		finish_call(c, k, "a new request used the same call_id");
		k = NULL;
	}
	if (!k)
		k = new_call(c, pdu->hdr.call_id, ts);
	if (!k)
		return;
	struct mp_dce_call *p = &k->pub;
	if (!p->req.seen) {
		p->ctx_id = pdu->u.request.ctx_id;
		p->opnum = pdu->u.request.opnum;
		p->have_opnum = true;
		p->has_object = pdu->u.request.has_object;
		p->object = pdu->u.request.object;
		p->req.alloc_hint = pdu->u.request.alloc_hint;
		p->maybe = pdu->hdr.pfc_flags & MP_PFC_MAYBE;
		if (!first && !p->req.gap) {
			p->req.gap = true;
			p->req.why = "its first fragment is not in the capture";
		}
	}
	add_frag(c, k, &p->req, &k->req_cap, pdu, prot, why, &c->d[dir].t_first,
	         c->d[dir].frame_first, ts, ev->frame);
	if (pdu->hdr.pfc_flags & MP_PFC_LAST_FRAG) {
		p->req.complete = true;
		/* The answer may have been captured first (directions reordered). */
		if (p->maybe || p->rsp.complete)
			finish_call(c, k, NULL);
	}
}

static void on_response(struct mp_dce_conn *c, unsigned dir, uint8_t *frag, size_t len,
                        struct mp_pdu *pdu, struct mp_dce_pdu_ev *ev)
{
	const struct timespec *ts = &ev->ts;
	const char *why = NULL;
	int prot = unprotect(c, dir, frag, len, pdu, &why);
	ev->prot = prot;
	struct call *k = find_call(c, pdu->hdr.call_id);
	bool first = pdu->hdr.pfc_flags & MP_PFC_FIRST_FRAG;
	if (k && first && k->pub.rsp.seen) {
		finish_call(c, k, "a new response used the same call_id");
		k = NULL;
	}
	if (!k) {
		k = new_call(c, pdu->hdr.call_id, ts);
		if (!k)
			return;
		k->pub.ctx_id = pdu->u.response.ctx_id;
	}
	struct mp_dce_call *p = &k->pub;
	ev->have_opnum = p->have_opnum;
	ev->opnum = p->opnum;
	ev->ctx = find_ctx(c, pdu->u.response.ctx_id);
	if (!p->rsp.seen) {
		p->rsp.alloc_hint = pdu->u.response.alloc_hint;
		if (!first && !p->rsp.gap) {
			p->rsp.gap = true;
			p->rsp.why = "its first fragment is not in the capture";
		}
	}
	add_frag(c, k, &p->rsp, &k->rsp_cap, pdu, prot, why, &c->d[dir].t_first,
	         c->d[dir].frame_first, ts, ev->frame);
	if (pdu->hdr.pfc_flags & MP_PFC_LAST_FRAG) {
		p->rsp.complete = true;
		/* Without its request (not captured yet, or never), the call waits
		   for it until the connection ends. */
		if (p->req.seen)
			finish_call(c, k, NULL);
	}
}

static void on_fault(struct mp_dce_conn *c, unsigned dir, struct mp_pdu *pdu,
                     struct mp_dce_pdu_ev *ev)
{
	struct call *k = find_call(c, pdu->hdr.call_id);
	if (!k) {
		k = new_call(c, pdu->hdr.call_id, &ev->ts);
		if (!k)
			return;
		k->pub.ctx_id = pdu->u.fault.ctx_id;
	}
	struct mp_dce_call *p = &k->pub;
	ev->have_opnum = p->have_opnum;
	ev->opnum = p->opnum;
	ev->ctx = find_ctx(c, p->ctx_id);
	p->fault = true;
	p->fault_status = pdu->u.fault.status;
	p->did_not_execute = pdu->hdr.pfc_flags & MP_PFC_DID_NOT_EXECUTE;
	add_frag(c, k, &p->rsp, &k->rsp_cap, pdu, MP_CAP_PROT_NONE, NULL, &c->d[dir].t_first,
	         c->d[dir].frame_first, &ev->ts, ev->frame);
	p->rsp.complete = true;
	if (p->req.seen)
		finish_call(c, k, NULL);
}

/* ---- one PDU ------------------------------------------------------------- */

static void handle_pdu(struct mp_dce_conn *c, unsigned dir, uint8_t *frag, size_t len,
                       const struct timespec *ts, uint64_t frame)
{
	struct mp_pdu pdu;
	int rc = mp_pdu_parse(frag, len, &pdu);
	c->st.pdus++;
	struct mp_dce_pdu_ev ev = {
	    .conn = &c->info,
	    .dir = dir,
	    .ts = *ts,
	    .frame = frame,
	    .pdu = &pdu,
	    .parsed = rc == MP_OK,
	    .prot = MP_CAP_PROT_NONE,
	};
	struct mp_dce_ctx results[MP_PDU_MAX_CTX];
	uint8_t ptype = pdu.hdr.ptype;

	if (rc != MP_OK) {
		if (ptype == MP_PDU_RTS) {
			/* RPC over HTTP flow control: not a call, nothing to decode. */
		} else if (rc == MP_ERR_LIMIT) {
			note(c, ts, MP_DCE_NOTE_WARN,
			     "%s (call_id %u) proposes more than %d contexts or transfer "
			     "syntaxes: its contexts are not followed",
			     mp_pdu_type_name(ptype), pdu.hdr.call_id, MP_PDU_MAX_CTX);
		} else {
			c->st.bad_pdus++;
			note(c, ts, MP_DCE_NOTE_WARN,
			     "malformed %s PDU (call_id %u, %zu bytes, %s): "
			     "skipped",
			     mp_pdu_type_name(ptype), pdu.hdr.call_id, len, dir_name(dir));
			/* Its signature would have used a sequence number. */
			if (ptype == MP_PDU_REQUEST || ptype == MP_PDU_RESPONSE)
				for (size_t i = 0; i < MAX_AUTH; i++)
					if (c->auth[i].used)
						mp_cap_auth_lost(c->auth[i].a, dir);
		}
		if (c->sink.pdu)
			c->sink.pdu(c->sink.arg, &ev);
		return;
	}

	switch (ptype) {
	case MP_PDU_BIND:
		/* A new association on this connection starts from nothing. */
		c->n_ctx = 0;
		memset(c->pend, 0, sizeof(c->pend));
		add_pend(c, ptype, pdu.hdr.call_id, &pdu.u.bind);
		auth_token(c, dir, &pdu, ts);
		break;
	case MP_PDU_ALTER:
		add_pend(c, ptype, pdu.hdr.call_id, &pdu.u.bind);
		auth_token(c, dir, &pdu, ts);
		break;
	case MP_PDU_BIND_ACK:
	case MP_PDU_ALTER_RESP: {
		struct pend *p = take_pend(c, pdu.hdr.call_id);
		if (p) {
			ev.n_results = apply_results(c, &pdu.u.bind_ack, p, results);
			ev.results = results;
		} else if (pdu.u.bind_ack.n_results) {
			note(c, ts, MP_DCE_NOTE_WARN,
			     "%s (call_id %u) answers a bind that is not in the capture: its "
			     "contexts stay unknown",
			     mp_pdu_type_name(ptype), pdu.hdr.call_id);
		}
		auth_token(c, dir, &pdu, ts);
		break;
	}
	case MP_PDU_BIND_NAK: {
		struct pend *p = take_pend(c, pdu.hdr.call_id);
		if (p)
			p->used = false;
		break;
	}
	case MP_PDU_AUTH3:
		auth_token(c, dir, &pdu, ts);
		break;
	case MP_PDU_REQUEST:
		on_request(c, dir, frag, len, &pdu, &ev);
		break;
	case MP_PDU_RESPONSE:
		on_response(c, dir, frag, len, &pdu, &ev);
		break;
	case MP_PDU_FAULT:
		on_fault(c, dir, &pdu, &ev);
		break;
	case MP_PDU_ORPHANED: {
		struct call *k = find_call(c, pdu.hdr.call_id);
		if (k) {
			ev.have_opnum = k->pub.have_opnum;
			ev.opnum = k->pub.opnum;
			finish_call(c, k, "orphaned by the client");
		}
		break;
	}
	case MP_PDU_CO_CANCEL: {
		struct call *k = find_call(c, pdu.hdr.call_id);
		if (k) {
			ev.have_opnum = k->pub.have_opnum;
			ev.opnum = k->pub.opnum;
		}
		break;
	}
	default:
		break;
	}
	if (c->sink.pdu)
		c->sink.pdu(c->sink.arg, &ev);
}

/* ---- framing -------------------------------------------------------------- */

/* A header worth trying when the framing is lost: stricter than the
 * normal check (a connection-oriented type, all four drep bytes, a frame
 * long enough for its type). */
static bool plausible_hdr(const uint8_t *p, struct mp_pdu_hdr *h)
{
	if (mp_pdu_check_hdr(p, FRAG_MAX, h) != MP_HDR_OK)
		return false;
	if (h->drep[2] || h->drep[3])
		return false;
	switch (h->ptype) {
	case MP_PDU_REQUEST:
	case MP_PDU_RESPONSE:
	case MP_PDU_FAULT:
		return h->frag_len >= MP_PDU_REQUEST_HDR_LEN;
	case MP_PDU_BIND:
	case MP_PDU_ALTER:
	case MP_PDU_BIND_ACK:
	case MP_PDU_ALTER_RESP:
		return h->frag_len >= 28;
	case MP_PDU_BIND_NAK:
	case MP_PDU_AUTH3:
	case MP_PDU_SHUTDOWN:
	case MP_PDU_CO_CANCEL:
	case MP_PDU_ORPHANED:
	case MP_PDU_RTS:
		return true;
	}
	return false;
}

int mp_dce_pdu_sender(const uint8_t *p, size_t len)
{
	if (len >= HTTP_PREFIX_LEN && memcmp(p, http_prefix, HTTP_PREFIX_LEN) == 0)
		return MP_DCE_FROM_EITHER;
	struct mp_pdu_hdr h;
	if (len < MP_PDU_HDR_LEN || !plausible_hdr(p, &h))
		return MP_DCE_NOT_DCERPC;
	switch (h.ptype) {
	case MP_PDU_REQUEST:
	case MP_PDU_BIND:
	case MP_PDU_ALTER:
	case MP_PDU_AUTH3:
	case MP_PDU_CO_CANCEL:
	case MP_PDU_ORPHANED:
		return MP_DCE_FROM_CLIENT;
	case MP_PDU_RESPONSE:
	case MP_PDU_FAULT:
	case MP_PDU_BIND_ACK:
	case MP_PDU_BIND_NAK:
	case MP_PDU_ALTER_RESP:
	case MP_PDU_SHUTDOWN:
		return MP_DCE_FROM_SERVER;
	}
	return MP_DCE_FROM_EITHER;
}

bool mp_dce_looks_like_bind(const uint8_t *p, size_t len)
{
	if (len >= HTTP_PREFIX_LEN && memcmp(p, http_prefix, HTTP_PREFIX_LEN) == 0)
		return true;
	struct mp_pdu_hdr h;
	if (len < MP_PDU_HDR_LEN || !plausible_hdr(p, &h))
		return false;
	return h.ptype == MP_PDU_BIND && (h.pfc_flags & MP_PFC_FIRST_FRAG);
}

static bool ensure_cap(struct mp_dce_conn *c, struct dirstate *d, size_t need)
{
	if (need <= d->cap)
		return true;
	size_t want = d->cap ? d->cap : BUF_START;
	while (want < need)
		want *= 2;
	if (want > RESYNC_WINDOW)
		want = RESYNC_WINDOW;
	if (want < need)
		return false;
	uint8_t *nb = talloc_realloc_size(c, d->buf, want);
	if (!nb)
		return false;
	d->buf = nb;
	d->cap = want;
	return true;
}

static void consume(struct dirstate *d, size_t n)
{
	memmove(d->buf, d->buf + n, d->len - n);
	d->len -= n;
	d->offset += n;
}

/* Scan for the next fragment start. Returns true when the framing is found
 * again (buf[0] starts a fragment that parses). */
static bool resync_scan(struct mp_dce_conn *c, unsigned dir, const struct timespec *ts)
{
	struct dirstate *d = &c->d[dir];
	size_t i = 0;
	for (; i + MP_PDU_HDR_LEN <= d->len; i++) {
		struct mp_pdu_hdr h;
		if (!plausible_hdr(d->buf + i, &h))
			continue;
		if (i + h.frag_len > d->len) {
			/* Wait for the rest of this candidate. */
			d->skipped += i;
			consume(d, i);
			return false;
		}
		struct mp_pdu pdu;
		int rc = mp_pdu_parse(d->buf + i, h.frag_len, &pdu);
		if (rc == MP_OK || (rc == MP_ERR_PROTO && h.ptype == MP_PDU_RTS)) {
			d->skipped += i;
			consume(d, i);
			d->resync = false;
			c->st.skipped_bytes += d->skipped;
			note(c, ts, MP_DCE_NOTE_WARN,
			     "%s: resynchronised on a %s PDU (call_id %u) after skipping %llu "
			     "bytes",
			     dir_name(dir), mp_pdu_type_name(h.ptype), h.call_id,
			     (unsigned long long)d->skipped);
			d->skipped = 0;
			return true;
		}
	}
	/* Nothing here: keep the last bytes (a header may straddle). */
	size_t keep = d->len < MP_PDU_HDR_LEN - 1 ? d->len : MP_PDU_HDR_LEN - 1;
	d->skipped += d->len - keep;
	consume(d, d->len - keep);
	return false;
}

static void lose_framing(struct mp_dce_conn *c, unsigned dir, const struct timespec *ts)
{
	struct dirstate *d = &c->d[dir];
	if (!d->resync)
		c->st.resyncs++;
	d->resync = true;
	(void)ts;
}

/* Process what the buffer holds. */
static void process(struct mp_dce_conn *c, unsigned dir, const struct timespec *ts, uint64_t frame)
{
	struct dirstate *d = &c->d[dir];
	for (;;) {
		if (!d->prefix_done) {
			if (d->len == 0)
				return;
			if (d->buf[0] != http_prefix[0]) {
				d->prefix_done = true;
			} else if (d->len < HTTP_PREFIX_LEN) {
				if (memcmp(d->buf, http_prefix, d->len) != 0)
					d->prefix_done = true;
				else
					return;
			} else {
				d->prefix_done = true;
				if (memcmp(d->buf, http_prefix, HTTP_PREFIX_LEN) == 0) {
					consume(d, HTTP_PREFIX_LEN);
					note(c, ts, MP_DCE_NOTE_INFO,
					     "%s: RPC over HTTP (ncacn_http/1.0) connection",
					     dir_name(dir));
				}
			}
			continue;
		}
		if (d->resync) {
			if (!resync_scan(c, dir, ts))
				return;
		}
		if (d->len < MP_PDU_HDR_LEN)
			return;
		struct mp_pdu_hdr h;
		enum mp_hdr_verdict v = mp_pdu_check_hdr(d->buf, FRAG_MAX, &h);
		if (v != MP_HDR_OK) {
			static const char *const what[] = {
			    [MP_HDR_SHORT_FRAG] = "frag_length below 16",
			    [MP_HDR_BAD_VERSION] = "not RPC version 5.0/5.1",
			    [MP_HDR_BAD_DREP] = "not little-endian ASCII IEEE",
			    [MP_HDR_TOO_LONG] = "frag_length too long",
			    [MP_HDR_BAD_AUTH_LEN] = "auth_length larger than the fragment",
			};
			note(c, ts, MP_DCE_NOTE_WARN,
			     "%s: no DCE/RPC header at stream offset %llu (%s): resynchronising",
			     dir_name(dir), (unsigned long long)d->offset,
			     (unsigned)v < sizeof(what) / sizeof(what[0]) && what[v] ? what[v]
			                                                             : "?");
			lose_framing(c, dir, ts);
			consume(d, 1);
			d->skipped += 1;
			continue;
		}
		if (d->len < h.frag_len)
			return;
		handle_pdu(c, dir, d->buf, h.frag_len, ts, frame);
		consume(d, h.frag_len);
		d->t_first = *ts;
		d->frame_first = frame;
		if (d->len == 0 && d->cap > 4 * BUF_START) {
			/* One big fragment should not pin 64 KiB per direction. */
			talloc_free(d->buf);
			d->buf = NULL;
			d->cap = 0;
		}
	}
}

void mp_dce_conn_data(struct mp_dce_conn *c, unsigned dir, const uint8_t *data, size_t len,
                      const struct timespec *ts, uint64_t frame)
{
	if (dir > 1)
		return;
	struct dirstate *d = &c->d[dir];
	c->last_ts = *ts;
	while (len) {
		if (d->len == 0) {
			d->t_first = *ts;
			d->frame_first = frame;
		}
		d->any = true;
		/* Take what completes the current header or fragment (or fills
		   the scan window), so that each byte is copied once. */
		size_t need;
		if (d->resync || !d->prefix_done)
			need = RESYNC_WINDOW - d->len;
		else if (d->len < MP_PDU_HDR_LEN)
			need = MP_PDU_HDR_LEN - d->len;
		else
			need = (size_t)mp_get_u16(d->buf + 8) - d->len;
		if (need == 0)
			need = 1;
		size_t take = len < need ? len : need;
		if (!ensure_cap(c, d, d->len + take)) {
			note(c, ts, MP_DCE_NOTE_WARN, "%s: out of memory: %zu bytes dropped",
			     dir_name(dir), len);
			lose_framing(c, dir, ts);
			d->len = 0;
			return;
		}
		memcpy(d->buf + d->len, data, take);
		d->len += take;
		data += take;
		len -= take;
		process(c, dir, ts, frame);
	}
}

void mp_dce_conn_gap(struct mp_dce_conn *c, unsigned dir, uint64_t bytes, const struct timespec *ts)
{
	if (dir > 1)
		return;
	struct dirstate *d = &c->d[dir];
	c->last_ts = *ts;
	note(c, ts, MP_DCE_NOTE_WARN,
	     "%s: %llu bytes missing from the capture%s: resynchronising on the next PDU",
	     dir_name(dir), (unsigned long long)bytes,
	     d->len ? " (inside a PDU, which is dropped)" : "");
	d->any = true;
	d->skipped += d->len;
	d->offset += d->len + bytes;
	d->len = 0;
	d->prefix_done = true;
	lose_framing(c, dir, ts);
	for (size_t i = 0; i < MAX_AUTH; i++)
		if (c->auth[i].used)
			mp_cap_auth_lost(c->auth[i].a, dir);
	/* Calls with a half under way in this direction have a hole now. */
	for (struct call *k = c->calls; k; k = k->next) {
		struct mp_dce_half *h = dir == 0 ? &k->pub.req : &k->pub.rsp;
		size_t *cap = dir == 0 ? &k->req_cap : &k->rsp_cap;
		if (h->seen && !h->complete && !h->gap) {
			h->gap = true;
			drop_stub(h, cap, "bytes of it are missing from the capture");
		}
	}
}

void mp_dce_conn_end(struct mp_dce_conn *c, const char *why)
{
	for (unsigned dir = 0; dir < 2; dir++) {
		struct dirstate *d = &c->d[dir];
		if (d->len && !d->resync)
			note(c, NULL, MP_DCE_NOTE_WARN,
			     "%s: the stream ends inside a PDU (%zu of its bytes captured)",
			     dir_name(dir), d->len);
		d->len = 0;
	}
	char end[96];
	snprintf(end, sizeof(end), "no response before the connection ended (%s)",
	         why ? why : "end");
	while (c->calls)
		finish_call(c, c->calls, end);
}

/* ---- tracker -------------------------------------------------------------- */

struct tconn {
	struct mp_dce_conn *dc;
	bool decided;
	bool follow;
	uint8_t probe[MP_PDU_HDR_LEN];
	size_t probe_len;
	unsigned probe_dir;
	struct timespec probe_ts;
	uint64_t probe_frame;
	const char *reason;
};

struct mp_dce_tracker {
	struct mp_dce_tracker_opts o;
	uint16_t *ports;
	struct mp_dce_sink sink;
	struct mp_tcp_reasm *reasm;
	struct mp_dce_tracker_stats st;
};

struct mp_dce_tracker *mp_dce_tracker_new(void *mem, const struct mp_dce_tracker_opts *o,
                                          const struct mp_dce_sink *sink)
{
	struct mp_dce_tracker *t = talloc_zero(mem, struct mp_dce_tracker);
	if (!t)
		return NULL;
	t->o = *o;
	if (o->n_ports) {
		t->ports = talloc_memdup(t, o->ports, o->n_ports * sizeof(*o->ports));
		if (!t->ports) {
			talloc_free(t);
			return NULL;
		}
	}
	t->o.ports = t->ports;
	t->sink = *sink;
	return t;
}

void mp_dce_tracker_set_reasm(struct mp_dce_tracker *t, struct mp_tcp_reasm *r)
{
	t->reasm = r;
}

void mp_dce_tracker_get_stats(const struct mp_dce_tracker *t, struct mp_dce_tracker_stats *out)
{
	*out = t->st;
}

static bool listed(const struct mp_dce_tracker *t, uint16_t port)
{
	for (size_t i = 0; i < t->o.n_ports; i++)
		if (t->o.ports[i] == port)
			return true;
	return false;
}

static void start_follow(struct mp_dce_tracker *t, struct mp_tcp_conn *c, struct tconn *tc)
{
	struct mp_dce_conn_info info = {.id = c->id};
	mp_cap_endpoint_str(&c->cli, c->cli_port, info.cli, sizeof(info.cli));
	mp_cap_endpoint_str(&c->srv, c->srv_port, info.srv, sizeof(info.srv));
	tc->dc = mp_dce_conn_new(tc, &t->o.dce, &t->sink, &info);
	tc->follow = tc->dc != NULL;
	tc->decided = true;
	if (!tc->dc)
		return;
	t->st.followed++;
	if (t->sink.note)
		t->sink.note(t->sink.arg, &info, &c->first_ts, MP_DCE_NOTE_INFO, tc->reason);
}

static void ignore_conn(struct mp_dce_tracker *t, struct mp_tcp_conn *c, struct tconn *tc)
{
	tc->decided = true;
	tc->follow = false;
	t->st.ignored++;
	if (t->reasm)
		mp_tcp_conn_ignore(t->reasm, c);
}

/* A PDU only a client sends seen from the server's side, or the reverse. */
static bool wrong_way(int from, unsigned dir)
{
	return (from == MP_DCE_FROM_CLIENT && dir == MP_TCP_S2C) ||
	       (from == MP_DCE_FROM_SERVER && dir == MP_TCP_C2S);
}

/* First bytes of a connection on an unlisted port: DCE/RPC, or not ours. */
static void decide(struct mp_dce_tracker *t, struct mp_tcp_conn *c, struct tconn *tc,
                   const struct mp_tcp_event *ev)
{
	if (ev->type == MP_TCP_EV_GAP || (tc->probe_len && ev->dir != tc->probe_dir)) {
		ignore_conn(t, c, tc);
		return;
	}
	if (!tc->probe_len) {
		tc->probe_dir = ev->dir;
		tc->probe_ts = ev->ts;
		tc->probe_frame = ev->frame;
	}
	size_t take = MP_PDU_HDR_LEN - tc->probe_len;
	if (take > ev->len)
		take = ev->len;
	memcpy(tc->probe + tc->probe_len, ev->data, take);
	tc->probe_len += take;
	if (tc->probe_len < MP_PDU_HDR_LEN &&
	    !(tc->probe_len >= 1 && tc->probe[0] != 5 && tc->probe[0] != 'n'))
		return; /* wait for a whole header */
	int from = mp_dce_pdu_sender(tc->probe, tc->probe_len);
	if (from == MP_DCE_NOT_DCERPC) {
		ignore_conn(t, c, tc);
		return;
	}
	unsigned dir = tc->probe_dir;
	if (wrong_way(from, dir) && !c->handshake && t->reasm) {
		mp_tcp_conn_swap(t->reasm, c);
		dir = !dir;
	}
	tc->reason = mp_dce_looks_like_bind(tc->probe, tc->probe_len)
	                 ? "DCE/RPC connection (it starts with a bind)"
	                 : "DCE/RPC connection (it starts with a DCE/RPC PDU, but not a bind: "
	                   "the start of the association is not in the capture)";
	start_follow(t, c, tc);
	if (!tc->follow)
		return;
	/* The probe bytes were the start of this direction's stream; the
	   rest of this event follows them. */
	mp_dce_conn_data(tc->dc, dir, tc->probe, tc->probe_len, &tc->probe_ts, tc->probe_frame);
	if (ev->len > take)
		mp_dce_conn_data(tc->dc, dir, ev->data + take, ev->len - take, &ev->ts, ev->frame);
}

void mp_dce_tracker_event(void *arg, struct mp_tcp_conn *c, const struct mp_tcp_event *ev)
{
	struct mp_dce_tracker *t = arg;
	struct tconn *tc = c->user;
	switch (ev->type) {
	case MP_TCP_EV_OPEN:
		tc = talloc_zero(t, struct tconn);
		c->user = tc;
		if (!tc)
			return;
		if (listed(t, c->srv_port) || listed(t, c->cli_port)) {
			if (!listed(t, c->srv_port) && !c->handshake && t->reasm)
				mp_tcp_conn_swap(t->reasm, c);
			tc->reason = "DCE/RPC connection (a listed port)";
			start_follow(t, c, tc);
		} else if (!t->o.detect) {
			ignore_conn(t, c, tc);
		}
		return;
	case MP_TCP_EV_DATA:
	case MP_TCP_EV_GAP:
		if (!tc)
			return;
		if (!tc->decided) {
			if (ev->type == MP_TCP_EV_DATA || tc->probe_len)
				decide(t, c, tc, ev);
			else
				ignore_conn(t, c, tc);
			return;
		}
		if (!tc->follow)
			return;
		/* On a listed port whose roles were guessed, the first PDU can
		   show that the guess was wrong. */
		if (ev->type == MP_TCP_EV_DATA && !c->handshake && mp_dce_conn_fresh(tc->dc) &&
		    wrong_way(mp_dce_pdu_sender(ev->data, ev->len), ev->dir) && t->reasm) {
			mp_tcp_conn_swap(t->reasm, c);
			mp_dce_conn_swap(tc->dc);
			mp_dce_conn_data(tc->dc, !ev->dir, ev->data, ev->len, &ev->ts, ev->frame);
			return;
		}
		if (ev->type == MP_TCP_EV_DATA)
			mp_dce_conn_data(tc->dc, ev->dir, ev->data, ev->len, &ev->ts, ev->frame);
		else
			mp_dce_conn_gap(tc->dc, ev->dir, ev->gap, &ev->ts);
		return;
	case MP_TCP_EV_CLOSE:
		if (!tc)
			return;
		if (tc->dc) {
			mp_dce_conn_end(tc->dc, ev->why);
			mp_dce_conn_add_stats(tc->dc, &t->st.dce);
		} else if (!tc->decided) {
			t->st.ignored++;
		}
		talloc_free(tc);
		c->user = NULL;
		return;
	}
}
