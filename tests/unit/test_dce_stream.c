/*
 * Unit tests: capture/dce_stream, capture/decrypt and capture/mapidump_print
 * (the DCE/RPC side of mapidump).
 *
 * Synthetic streams, made with the project's PDU encoders (dcerpc/pdu.h)
 * and, for protected traffic, a real NTLMSSP client and server
 * (auth/ntlmssp.h) sealing and signing through dcerpc/sec.h:
 *   - bind / bind_ack / alter_context give each context id its interface
 *     (ExchangeRPC interfaces as mp_mapi_iface, others by name, NDR64
 *     seen, rejected proposals not defined, feature negotiation named);
 *   - fragments reassemble per call_id, interleaved calls pair up, a
 *     stream fed byte by byte gives the same calls as in one piece;
 *   - calls that cannot complete say why (no request, no response,
 *     orphaned, fault, too many in flight, stub over the size limit);
 *   - garbage and lost bytes are skipped and the framing found again
 *     (and said so), RPC over HTTP's ncacn_http/1.0 prefix is skipped;
 *   - the session keys are derived from the captured handshake with the
 *     right password or NT hash (also as the second of several), never with
 *     a wrong one; sealed stubs come back equal to what was sealed; a
 *     tampered fragment fails alone; a lost fragment stops decryption of its
 *     direction (sealed) or resynchronises on the sequence number (signed).
 * Real captures (tests/unit/data/capture, see gen_captures.py there): impacket
 * and rpcclient against Samba, NTLMSSP and SPNEGO with mechListMIC, sealed
 * and signed, a call of 10 request and 2 response fragments; decoded
 * stub contents checked against what samr answers; then the same captures
 * with every segment dropped in turn, reordered, duplicated, truncated.
 * Output: JSON lines and text of mapidump_print, and its filters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "auth/ntlm_crypto.h"
#include "auth/ntlmssp.h"
#include "capture/dce_stream.h"
#include "capture/decrypt.h"
#include "capture/mapidump_print.h"
#include "capture/pcap_source.h"
#include "capture/tcp_reasm.h"
#include "dcerpc/iface.h"
#include "dcerpc/pdu.h"
#include "dcerpc/sec.h"
#include "mapi/call.h"
#include "test_data.h"
#include "util/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

/* ---- recording sink -------------------------------------------------------- */

#define MAX_CALLS 64

struct rhalf {
	bool seen, complete, gap, cut;
	int prot;
	unsigned frags;
	uint8_t *stub; /* malloc'd copy, NULL if not available */
	size_t len, kept;
	uint64_t frame_last;
};

struct rcall {
	uint32_t call_id;
	bool have_opnum;
	uint16_t opnum, ctx_id;
	bool has_ctx;
	char iface[64];
	int mapi;
	bool ndr64;
	struct rhalf req, rsp;
	bool fault, dne, maybe;
	uint32_t fault_status;
	char end[128];
	char cli[MP_CAP_ADDR_STR_LEN], srv[MP_CAP_ADDR_STR_LEN];
};

struct rec {
	struct rcall calls[MAX_CALLS];
	size_t n_calls;
	unsigned pdus, warnings, infos;
	char notes[16384];
	size_t notes_len;
	unsigned bind_results;
	struct mp_dce_ctx results[16];
};

static void copy_half(struct rhalf *d, const struct mp_dce_half *h)
{
	d->seen = h->seen;
	d->complete = h->complete;
	d->gap = h->gap;
	d->cut = h->stub_cut;
	d->prot = h->prot;
	d->frags = h->frags;
	d->len = h->stub_len;
	d->kept = h->stub_kept;
	d->frame_last = h->frame_last;
	d->stub = NULL;
	if (h->stub) {
		d->stub = malloc(h->stub_kept ? h->stub_kept : 1);
		assert_non_null(d->stub);
		memcpy(d->stub, h->stub, h->stub_kept);
	}
}

static void on_call(void *arg, const struct mp_dce_call *k)
{
	struct rec *r = arg;
	assert_true(r->n_calls < MAX_CALLS);
	struct rcall *c = &r->calls[r->n_calls++];
	memset(c, 0, sizeof(*c));
	c->call_id = k->call_id;
	c->have_opnum = k->have_opnum;
	c->opnum = k->opnum;
	c->ctx_id = k->ctx_id;
	c->has_ctx = k->ctx != NULL;
	c->mapi = -1;
	if (k->ctx) {
		snprintf(c->iface, sizeof(c->iface), "%s", k->ctx->name ? k->ctx->name : "?");
		c->mapi = k->ctx->mapi;
		c->ndr64 = k->ctx->ndr64;
	}
	copy_half(&c->req, &k->req);
	copy_half(&c->rsp, &k->rsp);
	c->fault = k->fault;
	c->fault_status = k->fault_status;
	c->dne = k->did_not_execute;
	c->maybe = k->maybe;
	snprintf(c->end, sizeof(c->end), "%s", k->end ? k->end : "");
	snprintf(c->cli, sizeof(c->cli), "%s", k->conn->cli);
	snprintf(c->srv, sizeof(c->srv), "%s", k->conn->srv);
}

static void on_pdu(void *arg, const struct mp_dce_pdu_ev *ev)
{
	struct rec *r = arg;
	r->pdus++;
	if (ev->results && ev->n_results) {
		r->bind_results = (unsigned)ev->n_results;
		memcpy(r->results, ev->results, ev->n_results * sizeof(ev->results[0]));
	}
}

static void on_note(void *arg, const struct mp_dce_conn_info *conn, const struct timespec *ts,
                    enum mp_dce_note_level level, const char *text)
{
	struct rec *r = arg;
	if (level == MP_DCE_NOTE_WARN)
		r->warnings++;
	else
		r->infos++;
	int n = snprintf(r->notes + r->notes_len, sizeof(r->notes) - r->notes_len, "%s\n", text);
	if (n > 0 && r->notes_len + (size_t)n < sizeof(r->notes))
		r->notes_len += (size_t)n;
}

static void rec_clear(struct rec *r)
{
	for (size_t i = 0; i < r->n_calls; i++) {
		free(r->calls[i].req.stub);
		free(r->calls[i].rsp.stub);
	}
	memset(r, 0, sizeof(*r));
}

static struct mp_dce_sink sink_of(struct rec *r)
{
	return (struct mp_dce_sink){.pdu = on_pdu, .call = on_call, .note = on_note, .arg = r};
}

/* ---- synthetic streams ----------------------------------------------------- */

static const struct timespec t0 = {1700000000, 0};

/* Two byte streams of one connection, in the order they are written. */
struct conv {
	struct mp_wbuf dir[2];
	/* order of pieces: (dir, offset, length) so interleaving is kept */
	struct {
		unsigned dir;
		size_t off, len;
	} piece[256];
	size_t n;
};

static void conv_init(struct conv *v)
{
	memset(v, 0, sizeof(*v));
	mp_wb_init(&v->dir[0]);
	mp_wb_init(&v->dir[1]);
}

static void conv_free(struct conv *v)
{
	mp_wb_free(&v->dir[0]);
	mp_wb_free(&v->dir[1]);
}

/* Mark what was appended to dir since `start` as one piece. */
static void conv_mark(struct conv *v, unsigned dir, size_t start)
{
	assert_true(v->n < 256);
	v->piece[v->n].dir = dir;
	v->piece[v->n].off = start;
	v->piece[v->n].len = v->dir[dir].len - start;
	v->n++;
}

/* Feed the pieces in order; step > 0 feeds that many bytes at a time. */
static void conv_feed(struct conv *v, struct mp_dce_conn *c, size_t step)
{
	for (size_t i = 0; i < v->n; i++) {
		const uint8_t *p = v->dir[v->piece[i].dir].data + v->piece[i].off;
		size_t len = v->piece[i].len;
		while (len) {
			size_t n = step && step < len ? step : len;
			mp_dce_conn_data(c, v->piece[i].dir, p, n, &t0, i + 1);
			p += n;
			len -= n;
		}
	}
}

static struct mp_dce_conn *conn_new(void *mem, struct rec *r, const struct mp_dce_opts *o)
{
	struct mp_dce_sink s = sink_of(r);
	struct mp_dce_conn_info info = {.id = 1, .cli = "127.0.0.1:40000", .srv = "127.0.0.1:135"};
	struct mp_dce_conn *c = mp_dce_conn_new(mem, o, &s, &info);
	assert_non_null(c);
	return c;
}

static struct mp_syntax syn(const char *name)
{
	struct mp_syntax s;
	assert_int_equal(mp_iface_resolve(name, &s), MP_OK);
	return s;
}

static void add_ctx(struct mp_pdu_bind *b, uint16_t id, struct mp_syntax abs, struct mp_syntax ts)
{
	struct mp_pdu_ctx *c = &b->ctx[b->n_ctx++];
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->n_ts = 1;
	c->abstract = abs;
	c->ts[0] = ts;
}

static void add_result(struct mp_pdu_bind_ack *a, uint16_t result, uint16_t reason,
                       struct mp_syntax ts)
{
	struct mp_pdu_result *r = &a->res[a->n_results++];
	r->result = result;
	r->reason = reason;
	r->ts = ts;
}

static uint8_t *pattern(size_t n, unsigned seed)
{
	uint8_t *b = malloc(n ? n : 1);
	assert_non_null(b);
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 11 + seed * 17 + (i >> 7));
	return b;
}

/* A plain bind on samr (ctx 0) answered with acceptance. */
static void samr_bind(struct conv *v)
{
	struct mp_pdu_bind b = {.max_xmit = 4280, .max_recv = 4280};
	add_ctx(&b, 0, syn("samr"), mp_syntax_ndr20);
	size_t s = v->dir[0].len;
	mp_pdu_encode_bind(&v->dir[0], MP_PDU_BIND, MP_PFC_FIRST_FRAG | MP_PFC_LAST_FRAG, 1, &b);
	conv_mark(v, 0, s);
	struct mp_pdu_bind_ack a = {.max_xmit = 4280, .max_recv = 4280, .assoc_group = 0x1234};
	add_result(&a, MP_CTX_ACCEPT, 0, mp_syntax_ndr20);
	s = v->dir[1].len;
	mp_pdu_encode_bind_ack(&v->dir[1], MP_PDU_BIND_ACK, MP_PFC_FIRST_FRAG | MP_PFC_LAST_FRAG, 1,
	                       &a);
	conv_mark(v, 1, s);
}

static void request(struct conv *v, uint32_t call_id, uint16_t ctx, uint16_t opnum,
                    const uint8_t *stub, size_t n, size_t max_frag)
{
	struct mp_pdu_request r = {.ctx_id = ctx, .opnum = opnum};
	size_t s = v->dir[0].len;
	mp_pdu_encode_request_frags(&v->dir[0], call_id, &r, stub, n, max_frag);
	conv_mark(v, 0, s);
}

static void response(struct conv *v, uint32_t call_id, uint16_t ctx, const uint8_t *stub, size_t n,
                     size_t max_frag)
{
	size_t s = v->dir[1].len;
	mp_pdu_encode_response_frags(&v->dir[1], call_id, ctx, stub, n, max_frag);
	conv_mark(v, 1, s);
}

/* ---- tests: association ---------------------------------------------------- */

static void test_contexts_name_their_interfaces(void **state)
{
	void *mem = talloc_new(NULL);
	struct rec r = {0};
	struct conv v;
	conv_init(&v);
	struct mp_syntax unknown = {.uuid = {{0xde, 0xad, 0xbe, 0xef}}, .major = 1};
	struct mp_syntax btfn;
	assert_int_equal(mp_uuid_parse("6cb71c2c-9812-4540-0300-000000000000", &btfn.uuid), MP_OK);
	btfn.major = 1;
	btfn.minor = 0;
	struct mp_pdu_bind b = {.max_xmit = 4280, .max_recv = 4280};
	add_ctx(&b, 0, syn("exchange_emsmdb"), mp_syntax_ndr20);
	add_ctx(&b, 1, syn("exchange_nsp"), mp_syntax_ndr20);
	add_ctx(&b, 2, syn("samr"), mp_syntax_ndr20);
	add_ctx(&b, 3, unknown, mp_syntax_ndr20);
	add_ctx(&b, 4, syn("exchange_emsmdb"), btfn);
	size_t s = v.dir[0].len;
	mp_pdu_encode_bind(&v.dir[0], MP_PDU_BIND, 3, 1, &b);
	conv_mark(&v, 0, s);
	struct mp_pdu_bind_ack a = {.max_xmit = 4280, .max_recv = 4280};
	add_result(&a, MP_CTX_ACCEPT, 0, mp_syntax_ndr20);
	add_result(&a, MP_CTX_ACCEPT, 0, mp_syntax_ndr20);
	add_result(&a, MP_CTX_ACCEPT, 0, mp_syntax_ndr20);
	add_result(&a, MP_CTX_PROVIDER_REJECT, MP_REASON_ABSTRACT_SYNTAX_NOT_SUPPORTED,
	           (struct mp_syntax){0});
	add_result(&a, MP_CTX_NEGOTIATE_ACK, 3, (struct mp_syntax){0});
	s = v.dir[1].len;
	mp_pdu_encode_bind_ack(&v.dir[1], MP_PDU_BIND_ACK, 3, 1, &a);
	conv_mark(&v, 1, s);
	/* alter_context: RFR over NDR64 on context 5 */
	struct mp_pdu_bind alt = {.max_xmit = 4280, .max_recv = 4280};
	add_ctx(&alt, 5, syn("exchange_ds_rfr"), mp_syntax_ndr64);
	s = v.dir[0].len;
	mp_pdu_encode_bind(&v.dir[0], MP_PDU_ALTER, 3, 2, &alt);
	conv_mark(&v, 0, s);
	struct mp_pdu_bind_ack aa = {.max_xmit = 4280, .max_recv = 4280};
	add_result(&aa, MP_CTX_ACCEPT, 0, mp_syntax_ndr64);
	s = v.dir[1].len;
	mp_pdu_encode_bind_ack(&v.dir[1], MP_PDU_ALTER_RESP, 3, 2, &aa);
	conv_mark(&v, 1, s);

	uint8_t stub[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	const uint16_t ctxs[] = {0, 1, 2, 3, 5};
	const uint16_t ops[] = {11, 0, 1, 9, 0};
	for (unsigned i = 0; i < 5; i++) {
		request(&v, 10 + i, ctxs[i], ops[i], stub, sizeof(stub), 4280);
		response(&v, 10 + i, ctxs[i], stub, 4, 4280);
	}
	struct mp_dce_conn *c = conn_new(mem, &r, NULL);
	conv_feed(&v, c, 0);
	mp_dce_conn_end(c, "fin");

	assert_int_equal(r.n_calls, 5);
	assert_string_equal(r.calls[0].iface, "EMSMDB");
	assert_int_equal(r.calls[0].mapi, MP_MAPI_EMSMDB);
	assert_string_equal(r.calls[1].iface, "NSPI");
	assert_int_equal(r.calls[1].mapi, MP_MAPI_NSPI);
	assert_string_equal(r.calls[2].iface, "samr");
	assert_int_equal(r.calls[2].mapi, -1);
	assert_false(r.calls[3].has_ctx); /* refused: the id means nothing */
	assert_string_equal(r.calls[4].iface, "RFR");
	assert_int_equal(r.calls[4].mapi, MP_MAPI_RFR);
	assert_true(r.calls[4].ndr64);
	assert_false(r.calls[0].ndr64);
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(r.calls[i].opnum, ops[i]);
		assert_string_equal(r.calls[i].end, "");
		assert_int_equal(r.calls[i].req.len, 8);
		assert_int_equal(r.calls[i].rsp.len, 4);
		assert_int_equal(r.calls[i].req.prot, MP_CAP_PROT_NONE);
	}
	/* The last answer seen: the alter_context_resp's one context. */
	assert_int_equal(r.bind_results, 1);
	assert_int_equal(r.results[0].id, 5);
	assert_true(r.results[0].accepted);
	assert_int_equal(r.pdus, 4 + 10);
	assert_int_equal(r.warnings, 0);
	rec_clear(&r);

	/* The bind_ack's results, as the printer gets them. */
	c = conn_new(mem, &r, NULL);
	mp_dce_conn_data(c, 0, v.dir[0].data, v.piece[0].len, &t0, 1);
	mp_dce_conn_data(c, 1, v.dir[1].data, v.piece[1].len, &t0, 2);
	assert_int_equal(r.bind_results, 5);
	assert_true(r.results[0].accepted);
	assert_string_equal(r.results[0].name, "EMSMDB");
	assert_false(r.results[3].accepted);
	assert_int_equal(r.results[3].reason, MP_REASON_ABSTRACT_SYNTAX_NOT_SUPPORTED);
	assert_string_equal(r.results[4].name, "bind time feature negotiation");
	assert_string_equal(mp_dump_opnum_name(&r.results[0], 11),
	                    mp_call_codec(MP_MAPI_EMSMDB, 11)
	                        ? mp_call_codec(MP_MAPI_EMSMDB, 11)->name
	                        : "EcDoRpcExt2");
	assert_string_equal(mp_dump_opnum_name(&r.results[2], 17), "SamrLookupNamesInDomain");
	assert_null(mp_dump_opnum_name(&r.results[2], 999));
	mp_dce_conn_end(c, "fin");
	rec_clear(&r);
	conv_free(&v);
	talloc_free(mem);
}

/* Two calls whose fragments interleave (PFC_CONC_MPX): each reassembles. */
static void build_interleaved(struct conv *v, uint8_t *a, uint8_t *b)
{
	samr_bind(v);
	struct mp_wbuf fa, fb;
	mp_wb_init(&fa);
	mp_wb_init(&fb);
	struct mp_pdu_request ra = {.ctx_id = 0, .opnum = 17}, rb = {.ctx_id = 0, .opnum = 5};
	mp_pdu_encode_request_frags(&fa, 7, &ra, a, 3000, 1100);
	mp_pdu_encode_request_frags(&fb, 8, &rb, b, 2000, 1100);
	/* split each into its fragments and interleave a0 b0 a1 b1 a2 */
	size_t oa = 0, ob = 0;
	for (int i = 0; i < 3; i++) {
		if (oa < fa.len) {
			size_t n = mp_get_u16(fa.data + oa + 8);
			size_t s = v->dir[0].len;
			mp_wb_bytes(&v->dir[0], fa.data + oa, n);
			conv_mark(v, 0, s);
			oa += n;
		}
		if (ob < fb.len) {
			size_t n = mp_get_u16(fb.data + ob + 8);
			size_t s = v->dir[0].len;
			mp_wb_bytes(&v->dir[0], fb.data + ob, n);
			conv_mark(v, 0, s);
			ob += n;
		}
	}
	assert_int_equal(oa, fa.len);
	assert_int_equal(ob, fb.len);
	response(v, 8, 0, b, 5000, 1100); /* B answers first */
	response(v, 7, 0, a, 100, 4280);
	mp_wb_free(&fa);
	mp_wb_free(&fb);
}

static void check_interleaved(struct rec *r, const uint8_t *a, const uint8_t *b)
{
	assert_int_equal(r->n_calls, 2);
	const struct rcall *cb = &r->calls[0], *ca = &r->calls[1];
	assert_int_equal(cb->call_id, 8);
	assert_int_equal(cb->opnum, 5);
	assert_int_equal(cb->req.frags, 2);
	assert_int_equal(cb->req.len, 2000);
	assert_memory_equal(cb->req.stub, b, 2000);
	assert_int_equal(cb->rsp.frags, 5);
	assert_int_equal(cb->rsp.len, 5000);
	assert_memory_equal(cb->rsp.stub, b, 5000);
	assert_int_equal(ca->call_id, 7);
	assert_int_equal(ca->opnum, 17);
	assert_int_equal(ca->req.frags, 3);
	assert_memory_equal(ca->req.stub, a, 3000);
	assert_int_equal(ca->rsp.len, 100);
	assert_memory_equal(ca->rsp.stub, a, 100);
	assert_string_equal(ca->end, "");
	assert_string_equal(cb->end, "");
	assert_int_equal(r->warnings, 0);
}

static void test_interleaved_fragments_pair_by_call_id(void **state)
{
	void *mem = talloc_new(NULL);
	uint8_t *a = pattern(5000, 1), *b = pattern(5000, 2);
	struct conv v;
	conv_init(&v);
	build_interleaved(&v, a, b);
	struct rec r = {0};
	struct mp_dce_conn *c = conn_new(mem, &r, NULL);
	conv_feed(&v, c, 0);
	mp_dce_conn_end(c, "fin");
	check_interleaved(&r, a, b);
	rec_clear(&r);
	/* Byte by byte, and in odd-sized pieces: the same calls. */
	size_t steps[] = {1, 7, 1000};
	for (size_t i = 0; i < 3; i++) {
		c = conn_new(mem, &r, NULL);
		conv_feed(&v, c, steps[i]);
		mp_dce_conn_end(c, "fin");
		check_interleaved(&r, a, b);
		rec_clear(&r);
	}
	conv_free(&v);
	free(a);
	free(b);
	talloc_free(mem);
}

static void test_calls_that_cannot_complete(void **state)
{
	void *mem = talloc_new(NULL);
	struct conv v;
	conv_init(&v);
	samr_bind(&v);
	uint8_t stub[16] = {0};
	response(&v, 40, 0, stub, 16, 4280); /* its request is not in the capture */
	request(&v, 41, 0, 1, stub, 16, 4280);
	size_t s = v.dir[1].len;
	mp_pdu_encode_fault(&v.dir[1], MP_PFC_DID_NOT_EXECUTE, 41, 0, MP_NCA_S_OP_RNG_ERROR);
	conv_mark(&v, 1, s);
	request(&v, 42, 0, 2, stub, 16, 4280);
	s = v.dir[0].len;
	mp_pdu_encode_empty(&v.dir[0], MP_PDU_ORPHANED, 3, 42);
	conv_mark(&v, 0, s);
	/* PFC_MAYBE: no response expected, reported at once */
	struct mp_pdu_request rm = {.ctx_id = 0, .opnum = 3};
	s = v.dir[0].len;
	mp_pdu_encode_request(&v.dir[0], MP_PFC_FIRST_FRAG | MP_PFC_LAST_FRAG | MP_PFC_MAYBE, 43,
	                      &rm, stub, 4);
	conv_mark(&v, 0, s);
	request(&v, 44, 0, 4, stub, 16, 4280); /* never answered */
	/* the same call_id again after a complete call: a new call */
	request(&v, 45, 0, 5, stub, 8, 4280);
	response(&v, 45, 0, stub, 8, 4280);
	request(&v, 45, 0, 6, stub, 8, 4280);
	response(&v, 45, 0, stub, 4, 4280);

	struct rec r = {0};
	struct mp_dce_conn *c = conn_new(mem, &r, NULL);
	conv_feed(&v, c, 0);
	mp_dce_conn_end(c, "rst");
	assert_int_equal(r.n_calls, 7);
	assert_int_equal(r.calls[0].call_id, 41);
	assert_true(r.calls[0].fault);
	assert_true(r.calls[0].dne);
	assert_int_equal(r.calls[0].fault_status, MP_NCA_S_OP_RNG_ERROR);
	assert_string_equal(r.calls[0].end, "");
	assert_int_equal(r.calls[1].call_id, 42);
	assert_string_equal(r.calls[1].end, "orphaned by the client");
	assert_int_equal(r.calls[2].call_id, 43);
	assert_true(r.calls[2].maybe);
	assert_string_equal(r.calls[2].end, "");
	assert_int_equal(r.calls[3].call_id, 45);
	assert_int_equal(r.calls[3].opnum, 5);
	assert_int_equal(r.calls[4].call_id, 45);
	assert_int_equal(r.calls[4].opnum, 6);
	assert_int_equal(r.calls[4].rsp.len, 4);
	/* At the end: the answer whose request never came, the request never answered. */
	assert_int_equal(r.calls[5].call_id, 40);
	assert_false(r.calls[5].have_opnum);
	assert_string_equal(r.calls[5].end, "the request is not in the capture");
	assert_int_equal(r.calls[6].call_id, 44);
	assert_string_equal(r.calls[6].end, "no response before the connection ended (rst)");
	rec_clear(&r);
	conv_free(&v);
	talloc_free(mem);
}

static void test_limits_on_calls_and_stubs(void **state)
{
	void *mem = talloc_new(NULL);
	struct conv v;
	conv_init(&v);
	samr_bind(&v);
	uint8_t *stub = pattern(300, 3);
	request(&v, 1, 0, 1, stub, 10, 4280);
	request(&v, 2, 0, 2, stub, 10, 4280);
	request(&v, 3, 0, 3, stub, 10, 4280); /* third in flight: the first goes */
	response(&v, 3, 0, stub, 300, 128);   /* 300 bytes in 3 fragments, limit 100 */
	struct rec r = {0};
	struct mp_dce_opts o = {.max_calls = 2, .max_call_bytes = 100};
	struct mp_dce_conn *c = conn_new(mem, &r, &o);
	conv_feed(&v, c, 0);
	assert_int_equal(r.n_calls, 2);
	assert_int_equal(r.calls[0].call_id, 1);
	assert_string_equal(r.calls[0].end, "dropped: too many calls in flight");
	assert_int_equal(r.calls[1].call_id, 3);
	assert_true(r.calls[1].rsp.cut);
	assert_int_equal(r.calls[1].rsp.len, 300);
	assert_int_equal(r.calls[1].rsp.kept, 100);
	assert_memory_equal(r.calls[1].rsp.stub, stub, 100);
	assert_non_null(strstr(r.notes, "more than 2 calls in flight"));
	mp_dce_conn_end(c, "fin");
	assert_int_equal(r.n_calls, 3);
	rec_clear(&r);
	conv_free(&v);
	free(stub);
	talloc_free(mem);
}

/* ---- tests: framing --------------------------------------------------------- */

static void test_garbage_is_skipped_and_said(void **state)
{
	void *mem = talloc_new(NULL);
	struct conv v;
	conv_init(&v);
	samr_bind(&v);
	uint8_t stub[24];
	memset(stub, 0x11, sizeof(stub));
	request(&v, 2, 0, 1, stub, 24, 4280);
	size_t s = v.dir[0].len;
	for (int i = 0; i < 37; i++)
		mp_wb_u8(&v.dir[0], (uint8_t)(0x40 + i)); /* no byte 5 in here */
	conv_mark(&v, 0, s);
	request(&v, 3, 0, 2, stub, 24, 4280);
	response(&v, 2, 0, stub, 8, 4280);
	response(&v, 3, 0, stub, 8, 4280);
	struct rec r = {0};
	struct mp_dce_conn *c = conn_new(mem, &r, NULL);
	conv_feed(&v, c, 5);
	mp_dce_conn_end(c, "fin");
	assert_int_equal(r.n_calls, 2);
	assert_int_equal(r.calls[1].call_id, 3);
	assert_string_equal(r.calls[1].end, "");
	assert_memory_equal(r.calls[1].req.stub, stub, 24);
	assert_non_null(strstr(r.notes, "no DCE/RPC header at stream offset"));
	assert_non_null(strstr(r.notes,
	                       "resynchronised on a request PDU (call_id 3) after skipping "
	                       "37 bytes"));
	struct mp_dce_stats st = {0};
	mp_dce_conn_add_stats(c, &st);
	assert_int_equal(st.resyncs, 1);
	assert_int_equal(st.skipped_bytes, 37);
	rec_clear(&r);
	conv_free(&v);
	talloc_free(mem);
}

static void test_lost_bytes_inside_a_call(void **state)
{
	void *mem = talloc_new(NULL);
	struct conv v;
	conv_init(&v);
	samr_bind(&v);
	uint8_t *stub = pattern(3000, 4);
	request(&v, 2, 0, 17, stub, 3000, 1100); /* 3 fragments */
	request(&v, 3, 0, 1, stub, 20, 4280);
	response(&v, 2, 0, stub, 30, 4280);
	response(&v, 3, 0, stub, 40, 4280);
	/* Feed everything but 500 bytes in the middle of call 2's request. */
	struct rec r = {0};
	struct mp_dce_conn *c = conn_new(mem, &r, NULL);
	mp_dce_conn_data(c, 0, v.dir[0].data, v.piece[0].len, &t0, 1);
	mp_dce_conn_data(c, 1, v.dir[1].data, v.piece[1].len, &t0, 2);
	size_t a = v.piece[2].off, cut = a + 1500;
	mp_dce_conn_data(c, 0, v.dir[0].data + a, cut - a, &t0, 3);
	mp_dce_conn_gap(c, 0, 500, &t0);
	mp_dce_conn_data(c, 0, v.dir[0].data + cut + 500, v.dir[0].len - cut - 500, &t0, 4);
	mp_dce_conn_data(c, 1, v.dir[1].data + v.piece[1].len, v.dir[1].len - v.piece[1].len, &t0,
	                 5);
	mp_dce_conn_end(c, "fin");
	assert_int_equal(r.n_calls, 2);
	assert_int_equal(r.calls[0].call_id, 2);
	assert_true(r.calls[0].req.gap);
	assert_null(r.calls[0].req.stub);
	assert_string_equal(r.calls[0].end, "bytes of the request are missing from the capture");
	assert_int_equal(r.calls[0].rsp.len, 30);
	assert_int_equal(r.calls[1].call_id, 3);
	assert_string_equal(r.calls[1].end, "");
	assert_memory_equal(r.calls[1].req.stub, stub, 20);
	assert_non_null(strstr(r.notes, "500 bytes missing from the capture"));
	assert_non_null(strstr(r.notes, "resynchronised"));
	rec_clear(&r);
	conv_free(&v);
	free(stub);
	talloc_free(mem);
}

static void test_ncacn_http_prefix(void **state)
{
	void *mem = talloc_new(NULL);
	struct conv v;
	conv_init(&v);
	size_t s = v.dir[0].len;
	mp_wb_bytes(&v.dir[0], "ncacn_http/1.0", 14);
	conv_mark(&v, 0, s);
	s = v.dir[1].len;
	mp_wb_bytes(&v.dir[1], "ncacn_http/1.0", 14);
	conv_mark(&v, 1, s);
	samr_bind(&v);
	uint8_t stub[8] = {0};
	request(&v, 2, 0, 5, stub, 8, 4280);
	response(&v, 2, 0, stub, 8, 4280);
	assert_true(mp_dce_looks_like_bind(v.dir[0].data, v.dir[0].len));
	assert_false(mp_dce_looks_like_bind(v.dir[1].data + 14, v.dir[1].len - 14));
	struct rec r = {0};
	struct mp_dce_conn *c = conn_new(mem, &r, NULL);
	conv_feed(&v, c, 3);
	mp_dce_conn_end(c, "fin");
	assert_int_equal(r.n_calls, 1);
	assert_string_equal(r.calls[0].iface, "samr");
	assert_int_equal(r.warnings, 0);
	assert_non_null(strstr(r.notes, "ncacn_http/1.0"));
	rec_clear(&r);
	conv_free(&v);
	talloc_free(mem);
}

/* ---- tests: decryption (synthetic, our NTLMSSP client and server) ----------- */

#define T_USER "alice"
#define T_DOMAIN "MPDOMAIN"
#define T_PASSWORD "Secret-123"
#define T_AUTH_CTX 79231u

static uint64_t t_now = 0x01d9c0ffee123456ull;

static int lcg_rng(void *arg, uint8_t *buf, size_t len)
{
	uint32_t *st = arg;
	for (size_t i = 0; i < len; i++) {
		*st = *st * 1103515245u + 12345u;
		buf[i] = (uint8_t)(*st >> 16);
	}
	return MP_OK;
}

static uint64_t fixed_clock(void *arg)
{
	return *(const uint64_t *)arg;
}

static int t_lookup(void *arg, const char *user, const char *domain, uint8_t nt_hash[16])
{
	return mp_ntlm_ntowfv1(T_PASSWORD, nt_hash);
}

struct sealed {
	struct conv v;
	uint8_t *stubs[4];
	size_t lens[4];
	size_t req_piece[4], rsp_piece[4]; /* piece index of each call's request / response */
};

/* bind (NEGOTIATE), bind_ack (CHALLENGE), auth3 (AUTHENTICATE), then four
 * calls protected at `level`; call 1's request and response span several
 * fragments. */
static void build_sealed(struct sealed *x, uint8_t level)
{
	memset(x, 0, sizeof(*x));
	conv_init(&x->v);
	struct conv *v = &x->v;
	uint32_t crng = 0xc11e47u, srng = 0x5e7e7u;
	struct mp_ntlm *cl, *sv;
	struct mp_ntlm_client_config cc = {
	    .user = T_USER,
	    .domain = T_DOMAIN,
	    .workstation = "WS01",
	    .password = T_PASSWORD,
	    .want =
	        MP_NTLM_WANT_SIGN | (level == MP_AUTH_LEVEL_PKT_PRIVACY ? MP_NTLM_WANT_SEAL : 0),
	    .rng = lcg_rng,
	    .rng_arg = &crng,
	    .clock = fixed_clock,
	    .clock_arg = &t_now,
	};
	struct mp_ntlm_server_config sc = {
	    .nb_computer_name = "MPSERVER",
	    .nb_domain_name = T_DOMAIN,
	    .lookup = t_lookup,
	    .rng = lcg_rng,
	    .rng_arg = &srng,
	    .clock = fixed_clock,
	    .clock_arg = &t_now,
	};
	assert_int_equal(mp_ntlm_client_new(&cc, &cl), MP_OK);
	assert_int_equal(mp_ntlm_server_new(&sc, &sv), MP_OK);
	struct mp_wbuf neg, chal, auth;
	mp_wb_init(&neg);
	mp_wb_init(&chal);
	mp_wb_init(&auth);
	assert_int_equal(mp_ntlm_client_negotiate(cl, &neg), MP_OK);
	assert_int_equal(mp_ntlm_server_challenge(sv, neg.data, neg.len, &chal), MP_OK);
	assert_int_equal(mp_ntlm_client_authenticate(cl, chal.data, chal.len, &auth), MP_OK);
	assert_int_equal(mp_ntlm_server_authenticate(sv, auth.data, auth.len), MP_OK);

	struct mp_pdu_bind b = {.max_xmit = 4280, .max_recv = 4280};
	add_ctx(&b, 0, syn("exchange_nsp"), mp_syntax_ndr20);
	size_t s = v->dir[0].len;
	mp_pdu_encode_bind(&v->dir[0], MP_PDU_BIND, 3, 1, &b);
	assert_int_equal(mp_sec_append_auth(&v->dir[0], s, MP_AUTH_TYPE_NTLMSSP, level, T_AUTH_CTX,
	                                    neg.data, neg.len),
	                 MP_OK);
	conv_mark(v, 0, s);
	struct mp_pdu_bind_ack a = {.max_xmit = 4280, .max_recv = 4280};
	add_result(&a, MP_CTX_ACCEPT, 0, mp_syntax_ndr20);
	s = v->dir[1].len;
	mp_pdu_encode_bind_ack(&v->dir[1], MP_PDU_BIND_ACK, 3, 1, &a);
	assert_int_equal(mp_sec_append_auth(&v->dir[1], s, MP_AUTH_TYPE_NTLMSSP, level, T_AUTH_CTX,
	                                    chal.data, chal.len),
	                 MP_OK);
	conv_mark(v, 1, s);
	s = v->dir[0].len;
	mp_pdu_encode_empty(&v->dir[0], MP_PDU_AUTH3, 3, 1);
	assert_int_equal(mp_sec_append_auth(&v->dir[0], s, MP_AUTH_TYPE_NTLMSSP, level, T_AUTH_CTX,
	                                    auth.data, auth.len),
	                 MP_OK);
	conv_mark(v, 0, s);

	struct mp_sec cs, ss;
	assert_int_equal(mp_sec_init(&cs, MP_AUTH_TYPE_NTLMSSP, level, T_AUTH_CTX, false, cl),
	                 MP_OK);
	assert_int_equal(mp_sec_init(&ss, MP_AUTH_TYPE_NTLMSSP, level, T_AUTH_CTX, false, sv),
	                 MP_OK);
	for (unsigned i = 0; i < 4; i++) {
		x->lens[i] = i == 1 ? 5000 : 40 + 8 * i;
		x->stubs[i] = pattern(x->lens[i], 10 + i);
		struct mp_pdu_request r = {.ctx_id = 0, .opnum = (uint16_t)(i + 1)};
		s = v->dir[0].len;
		assert_int_equal(mp_sec_encode_request_frags(&cs, &v->dir[0], 2 + i, &r,
		                                             x->stubs[i], x->lens[i], 1432),
		                 MP_OK);
		x->req_piece[i] = v->n;
		conv_mark(v, 0, s);
		s = v->dir[1].len;
		assert_int_equal(mp_sec_encode_response_frags(&ss, &v->dir[1], 2 + i, 0,
		                                              x->stubs[i], x->lens[i], 2000),
		                 MP_OK);
		x->rsp_piece[i] = v->n;
		conv_mark(v, 1, s);
	}
	mp_wb_free(&neg);
	mp_wb_free(&chal);
	mp_wb_free(&auth);
	mp_ntlm_free(cl);
	mp_ntlm_free(sv);
}

static void sealed_free(struct sealed *x)
{
	for (unsigned i = 0; i < 4; i++)
		free(x->stubs[i]);
	conv_free(&x->v);
}

static void run_sealed(struct sealed *x, const struct mp_cap_creds *creds, struct rec *r, void *mem)
{
	struct mp_dce_opts o = {.creds = creds};
	struct mp_dce_conn *c = conn_new(mem, r, &o);
	conv_feed(&x->v, c, 0);
	mp_dce_conn_end(c, "fin");
}

static void test_seal_decrypted_with_password_or_hash(void **state)
{
	void *mem = talloc_new(NULL);
	struct sealed x;
	build_sealed(&x, MP_AUTH_LEVEL_PKT_PRIVACY);
	struct mp_cap_creds *by_pw = mp_cap_creds_new(mem), *by_hash = mp_cap_creds_new(mem);
	assert_int_equal(mp_cap_creds_add_password(by_pw, T_PASSWORD), MP_OK);
	uint8_t h[16];
	assert_int_equal(mp_ntlm_ntowfv1(T_PASSWORD, h), MP_OK);
	char hex[33];
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02X", h[i]);
	uint8_t parsed[16];
	assert_int_equal(mp_cap_nt_hash_parse(hex, parsed), MP_OK);
	assert_memory_equal(parsed, h, 16);
	assert_int_equal(mp_cap_nt_hash_parse("00112233", parsed), MP_ERR_PARSE);
	assert_int_equal(mp_cap_nt_hash_parse("zz112233445566778899aabbccddeeff", parsed),
	                 MP_ERR_PARSE);
	/* the right hash second, after a wrong one */
	assert_int_equal(mp_cap_creds_add_password(by_hash, "not-it"), MP_OK);
	assert_int_equal(mp_cap_creds_add_nt_hash(by_hash, parsed), MP_OK);
	assert_int_equal(mp_cap_creds_count(by_hash), 2);

	const struct mp_cap_creds *cases[2] = {by_pw, by_hash};
	for (int k = 0; k < 2; k++) {
		struct rec r = {0};
		run_sealed(&x, cases[k], &r, mem);
		assert_int_equal(r.n_calls, 4);
		for (unsigned i = 0; i < 4; i++) {
			const struct rcall *c = &r.calls[i];
			assert_int_equal(c->opnum, i + 1);
			assert_string_equal(c->iface, "NSPI");
			assert_int_equal(c->req.prot, MP_CAP_PROT_DECRYPTED);
			assert_int_equal(c->rsp.prot, MP_CAP_PROT_DECRYPTED);
			assert_int_equal(c->req.len, x.lens[i]);
			assert_memory_equal(c->req.stub, x.stubs[i], x.lens[i]);
			assert_memory_equal(c->rsp.stub, x.stubs[i], x.lens[i]);
		}
		assert_true(r.calls[1].req.frags > 3);
		assert_true(r.calls[1].rsp.frags > 2);
		assert_non_null(
		    strstr(r.notes, "NTLMv2 MPDOMAIN\\alice: keys derived (credential"));
		assert_non_null(strstr(r.notes, k ? "(credential 2)" : "(credential 1)"));
		/* our client sends a MIC; it checks out */
		assert_non_null(strstr(r.notes, "MIC verified"));
		rec_clear(&r);
	}
	sealed_free(&x);
	talloc_free(mem);
}

static void test_seal_stays_sealed_without_the_password(void **state)
{
	void *mem = talloc_new(NULL);
	struct sealed x;
	build_sealed(&x, MP_AUTH_LEVEL_PKT_PRIVACY);
	struct mp_cap_creds *wrong = mp_cap_creds_new(mem);
	assert_int_equal(mp_cap_creds_add_password(wrong, "Secret-124"), MP_OK);
	for (int k = 0; k < 2; k++) {
		struct rec r = {0};
		run_sealed(&x, k ? wrong : NULL, &r, mem);
		assert_int_equal(r.n_calls, 4);
		for (unsigned i = 0; i < 4; i++) {
			assert_int_equal(r.calls[i].req.prot, MP_CAP_PROT_SEALED);
			assert_int_equal(r.calls[i].rsp.prot, MP_CAP_PROT_SEALED);
			assert_null(r.calls[i].req.stub);
			assert_int_equal(r.calls[i].req.len, x.lens[i]);
		}
		assert_non_null(strstr(r.notes, k ? "none of the 1 credential(s) given matches"
		                                  : "no password or NT hash given"));
		rec_clear(&r);
	}
	sealed_free(&x);
	talloc_free(mem);
}

/* Flip one byte of a fragment (in a copy of the stream). */
static void flip(struct sealed *x, unsigned dir, size_t off)
{
	x->v.dir[dir].data[off] ^= 0x20;
}

static void test_tampered_fragment_fails_alone(void **state)
{
	void *mem = talloc_new(NULL);
	struct mp_cap_creds *cr = mp_cap_creds_new(mem);
	assert_int_equal(mp_cap_creds_add_password(cr, T_PASSWORD), MP_OK);
	uint8_t levels[2] = {MP_AUTH_LEVEL_PKT_PRIVACY, MP_AUTH_LEVEL_PKT_INTEGRITY};
	for (int l = 0; l < 2; l++) {
		struct sealed x;
		build_sealed(&x, levels[l]);
		/* a stub byte of call 2's request (index 2: one fragment) */
		size_t p = x.req_piece[2];
		flip(&x, 0, x.v.piece[p].off + 24 + 5);
		struct rec r = {0};
		run_sealed(&x, cr, &r, mem);
		int good = l == 0 ? MP_CAP_PROT_DECRYPTED : MP_CAP_PROT_VERIFIED;
		assert_int_equal(r.n_calls, 4);
		assert_int_equal(r.calls[2].req.prot, MP_CAP_PROT_BAD);
		assert_int_equal(r.calls[2].rsp.prot, good);
		for (unsigned i = 0; i < 4; i++) {
			if (i != 2)
				assert_int_equal(r.calls[i].req.prot, good);
			assert_memory_equal(r.calls[i].rsp.stub, x.stubs[i], x.lens[i]);
		}
		assert_memory_equal(r.calls[3].req.stub, x.stubs[3], x.lens[3]);
		rec_clear(&r);
		sealed_free(&x);
	}
	talloc_free(mem);
}

/* Feed the stream without the request of call `lost` (a gap instead). */
static void run_without_request(struct sealed *x, unsigned lost, const struct mp_cap_creds *cr,
                                struct rec *r, void *mem)
{
	struct mp_dce_opts o = {.creds = cr};
	struct mp_dce_conn *c = conn_new(mem, r, &o);
	for (size_t i = 0; i < x->v.n; i++) {
		unsigned d = x->v.piece[i].dir;
		if (i == x->req_piece[lost]) {
			mp_dce_conn_gap(c, d, x->v.piece[i].len, &t0);
			continue;
		}
		mp_dce_conn_data(c, d, x->v.dir[d].data + x->v.piece[i].off, x->v.piece[i].len, &t0,
		                 i + 1);
	}
	mp_dce_conn_end(c, "fin");
}

static const struct rcall *by_id(const struct rec *r, uint32_t call_id)
{
	for (size_t i = 0; i < r->n_calls; i++)
		if (r->calls[i].call_id == call_id)
			return &r->calls[i];
	fail_msg("call_id %u was not reported", call_id);
	return NULL;
}

static void test_lost_fragment_sealed_vs_signed(void **state)
{
	void *mem = talloc_new(NULL);
	struct mp_cap_creds *cr = mp_cap_creds_new(mem);
	assert_int_equal(mp_cap_creds_add_password(cr, T_PASSWORD), MP_OK);

	/* Sealed: the client's key stream is lost after call 1's request. */
	struct sealed x;
	build_sealed(&x, MP_AUTH_LEVEL_PKT_PRIVACY);
	struct rec r = {0};
	run_without_request(&x, 1, cr, &r, mem);
	assert_int_equal(r.n_calls, 4);
	/* call_id = 2 + index */
	assert_int_equal(by_id(&r, 2)->req.prot, MP_CAP_PROT_DECRYPTED);
	assert_string_equal(by_id(&r, 3)->end, "the request is not in the capture");
	assert_int_equal(by_id(&r, 3)->rsp.prot, MP_CAP_PROT_DECRYPTED); /* the other direction */
	assert_int_equal(r.calls[3].call_id, 3); /* reported last: it waited for its request */
	assert_int_equal(by_id(&r, 4)->req.prot, MP_CAP_PROT_SEALED);
	assert_int_equal(by_id(&r, 5)->req.prot, MP_CAP_PROT_SEALED);
	assert_int_equal(by_id(&r, 5)->rsp.prot, MP_CAP_PROT_DECRYPTED);
	assert_memory_equal(by_id(&r, 5)->rsp.stub, x.stubs[3], x.lens[3]);
	assert_non_null(strstr(r.notes, "bytes missing from the capture"));
	rec_clear(&r);
	sealed_free(&x);

	/* Signed: the next signature's sequence number puts it back in step. */
	build_sealed(&x, MP_AUTH_LEVEL_PKT_INTEGRITY);
	run_without_request(&x, 1, cr, &r, mem);
	assert_int_equal(r.n_calls, 4);
	assert_int_equal(by_id(&r, 4)->req.prot, MP_CAP_PROT_VERIFIED);
	assert_int_equal(by_id(&r, 5)->req.prot, MP_CAP_PROT_VERIFIED);
	assert_memory_equal(by_id(&r, 4)->req.stub, x.stubs[2], x.lens[2]);
	rec_clear(&r);
	sealed_free(&x);
	talloc_free(mem);
}

/* ---- tests: real captures ------------------------------------------------------ */

#define SAMBA_PW "Mapi-Proxy-Test-Pw1!"

static const char *data_dir(void)
{
	const char *d = getenv("MP_TEST_DATA_DIR");
	return d ? d : "tests/unit/data";
}

/* All TCP segments of a capture, copied. */
struct segs {
	struct mp_tcp_seg *s;
	uint8_t **pl;
	size_t n;
};

static void load_segs(const char *name, struct segs *out)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/capture/%s", data_dir(), name);
	char err[512];
	struct mp_pcap_source *src = mp_pcap_open(path, err, sizeof(err));
	if (!src)
		fail_msg("%s", err);
	memset(out, 0, sizeof(*out));
	struct mp_tcp_seg s;
	while (mp_pcap_next(src, &s, err, sizeof(err)) == 1) {
		out->s = realloc(out->s, (out->n + 1) * sizeof(*out->s));
		out->pl = realloc(out->pl, (out->n + 1) * sizeof(*out->pl));
		assert_non_null(out->s);
		assert_non_null(out->pl);
		out->pl[out->n] = malloc(s.len ? s.len : 1);
		assert_non_null(out->pl[out->n]);
		memcpy(out->pl[out->n], s.payload, s.len);
		s.payload = out->pl[out->n];
		out->s[out->n++] = s;
	}
	mp_pcap_close(src);
	assert_true(out->n > 10);
}

static void free_segs(struct segs *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->pl[i]);
	free(g->pl);
	free(g->s);
}

/* Run segments through reassembly and the tracker, as mapidump does; order[]
 * (NULL: as captured) lists segment indexes to feed, -1 entries skipped. */
static void run_segs(const struct segs *g, const long *order, size_t n_order,
                     const struct mp_cap_creds *cr, struct rec *r)
{
	void *mem = talloc_new(NULL);
	struct mp_dce_sink sink = sink_of(r);
	static const uint16_t ports[] = {135};
	struct mp_dce_tracker_opts o = {
	    .ports = ports, .n_ports = 1, .detect = true, .dce = {.creds = cr}};
	struct mp_dce_tracker *t = mp_dce_tracker_new(mem, &o, &sink);
	struct mp_tcp_reasm *ra = mp_tcp_reasm_new(NULL, ports, 1, mp_dce_tracker_event, t);
	assert_non_null(ra);
	mp_dce_tracker_set_reasm(t, ra);
	size_t n = order ? n_order : g->n;
	for (size_t i = 0; i < n; i++) {
		long k = order ? order[i] : (long)i;
		if (k >= 0)
			mp_tcp_reasm_add(ra, &g->s[k]);
	}
	mp_tcp_reasm_finish(ra);
	mp_tcp_reasm_free(ra);
	talloc_free(mem);
}

static struct mp_cap_creds *samba_creds(void *mem)
{
	struct mp_cap_creds *cr = mp_cap_creds_new(mem);
	assert_int_equal(mp_cap_creds_add_password(cr, SAMBA_PW), MP_OK);
	return cr;
}

static void check_impacket_calls(const struct rec *r)
{
	static const uint16_t ops[] = {0, 6, 5, 7, 17, 1, 1};
	assert_int_equal(r->n_calls, 7);
	for (size_t i = 0; i < 7; i++) {
		const struct rcall *c = &r->calls[i];
		assert_int_equal(c->opnum, ops[i]);
		assert_int_equal(c->call_id, 2 + i);
		assert_string_equal(c->iface, "samr");
		assert_string_equal(c->end, "");
		assert_int_equal(c->req.prot, MP_CAP_PROT_DECRYPTED);
		assert_int_equal(c->rsp.prot, MP_CAP_PROT_DECRYPTED);
	}
}

static void test_capture_impacket_ntlm_seal(void **state)
{
	void *mem = talloc_new(NULL);
	struct segs g;
	load_segs("samba_impacket_ntlm_seal.pcapng", &g);
	struct rec r = {0};
	run_segs(&g, NULL, 0, samba_creds(mem), &r);
	check_impacket_calls(&r);
	/* SamrEnumerateDomainsInSamServer: "MAPI" and "BUILTIN" come back. */
	const struct rcall *ed = &r.calls[1];
	assert_non_null(memmem(ed->rsp.stub, ed->rsp.len, "B\0U\0I\0L\0T\0I\0N\0", 14));
	assert_non_null(memmem(ed->rsp.stub, ed->rsp.len, "M\0A\0P\0I\0", 8));
	/* SamrLookupNamesInDomain of 1000 names: 10 request fragments, 2
	   response fragments; RelativeIds {1000, ptr, [1000] 500, 501, 0...},
	   Use {1000, ptr, [1000] SidTypeUser x2, SidTypeUnknown...},
	   STATUS_SOME_NOT_MAPPED. */
	const struct rcall *ln = &r.calls[4];
	assert_int_equal(ln->req.frags, 10);
	assert_int_equal(ln->rsp.frags, 2);
	assert_non_null(memmem(ln->req.stub, ln->req.len,
	                       "n\0o\0b\0o\0d\0y\0"
	                       "0\0"
	                       "9\0"
	                       "9\0"
	                       "7\0",
	                       20));
	assert_int_equal(ln->rsp.len, 12 + 4000 + 12 + 4000 + 4);
	const uint8_t *p = ln->rsp.stub;
	assert_int_equal(mp_get_u32(p), 1000);
	assert_int_equal(mp_get_u32(p + 12), 500);
	assert_int_equal(mp_get_u32(p + 16), 501);
	assert_int_equal(mp_get_u32(p + 20), 0);
	assert_int_equal(mp_get_u32(p + 4012), 1000);
	assert_int_equal(mp_get_u32(p + 4024), 1);
	assert_int_equal(mp_get_u32(p + 4028), 1);
	assert_int_equal(mp_get_u32(p + 4032), 8);
	assert_int_equal(mp_get_u32(p + 8024), 0x00000107);
	assert_int_equal(r.warnings, 0);
	rec_clear(&r);

	/* Without a password: every stub sealed, and said so. */
	run_segs(&g, NULL, 0, NULL, &r);
	assert_int_equal(r.n_calls, 7);
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(r.calls[i].req.prot, MP_CAP_PROT_SEALED);
		assert_null(r.calls[i].rsp.stub);
	}
	assert_non_null(
	    strstr(r.notes, "NTLMv2 MAPI\\Administrator: no password or NT hash given"));
	rec_clear(&r);
	free_segs(&g);
	talloc_free(mem);
}

static void test_capture_rpcclient_spnego_and_ntlm(void **state)
{
	void *mem = talloc_new(NULL);
	const char *files[3] = {"samba_rpcclient_spnego_seal.pcapng",
	                        "samba_rpcclient_spnego_sign.pcapng",
	                        "samba_rpcclient_ntlm_seal.pcapng"};
	const int prot[3] = {MP_CAP_PROT_DECRYPTED, MP_CAP_PROT_VERIFIED, MP_CAP_PROT_DECRYPTED};
	const char *auth[3] = {"(spnego, pkt_privacy)", "(spnego, pkt_integrity)",
	                       "(ntlmssp, pkt_privacy)"};
	for (int f = 0; f < 3; f++) {
		struct segs g;
		load_segs(files[f], &g);
		struct rec r = {0};
		run_segs(&g, NULL, 0, samba_creds(mem), &r);
		/* epmapper ept_map (clear), then samr SamrConnect5,
		   EnumerateDomains, ..., CloseHandle (protected). */
		assert_true(r.n_calls >= 3);
		assert_string_equal(r.calls[0].iface, "epmapper");
		assert_int_equal(r.calls[0].opnum, 3);
		assert_int_equal(r.calls[0].req.prot, MP_CAP_PROT_NONE);
		bool builtin = false;
		for (size_t i = 1; i < r.n_calls; i++) {
			const struct rcall *c = &r.calls[i];
			assert_string_equal(c->iface, "samr");
			assert_string_equal(c->end, "");
			assert_int_equal(c->req.prot, prot[f]);
			assert_int_equal(c->rsp.prot, prot[f]);
			if (c->opnum == 6 &&
			    memmem(c->rsp.stub, c->rsp.len, "B\0U\0I\0L\0T\0I\0N\0", 14))
				builtin = true;
		}
		assert_int_equal(r.calls[1].opnum, 64); /* SamrConnect5 */
		assert_true(builtin);
		assert_non_null(strstr(r.notes, auth[f]));
		assert_non_null(strstr(r.notes, "MAPI\\Administrator: keys derived (credential 1); "
		                                "MIC verified"));
		/* a mechListMIC mismatch would be noted */
		assert_null(strstr(r.notes, "MISMATCH"));
		assert_int_equal(r.warnings, 0);
		rec_clear(&r);
		free_segs(&g);
	}
	talloc_free(mem);
}

static bool same_calls(const struct rec *a, const struct rec *b)
{
	if (a->n_calls != b->n_calls)
		return false;
	for (size_t i = 0; i < a->n_calls; i++) {
		const struct rcall *x = &a->calls[i], *y = &b->calls[i];
		if (x->call_id != y->call_id || x->opnum != y->opnum ||
		    x->req.prot != y->req.prot || x->rsp.prot != y->rsp.prot ||
		    x->req.len != y->req.len || x->rsp.len != y->rsp.len ||
		    strcmp(x->end, y->end) != 0)
			return false;
		if (x->req.stub && memcmp(x->req.stub, y->req.stub, x->req.kept) != 0)
			return false;
		if (x->rsp.stub && memcmp(x->rsp.stub, y->rsp.stub, x->rsp.kept) != 0)
			return false;
	}
	return true;
}

static void test_capture_reordered_and_duplicated(void **state)
{
	void *mem = talloc_new(NULL);
	struct mp_cap_creds *cr = samba_creds(mem);
	struct segs g;
	load_segs("samba_impacket_ntlm_seal.pcapng", &g);
	struct rec ref = {0};
	run_segs(&g, NULL, 0, cr, &ref);
	check_impacket_calls(&ref);
	long *order = malloc(2 * g.n * sizeof(*order));
	assert_non_null(order);
	/* each adjacent pair swapped (after the handshake) */
	for (size_t k = 3; k + 1 < g.n; k++) {
		for (size_t i = 0; i < g.n; i++)
			order[i] = (long)i;
		order[k] = (long)k + 1;
		order[k + 1] = (long)k;
		struct rec r = {0};
		run_segs(&g, order, g.n, cr, &r);
		if (!same_calls(&ref, &r))
			fail_msg("swapping segments %zu and %zu changed the calls (%zu calls, %u "
			         "warnings: %s)",
			         k, k + 1, r.n_calls, r.warnings, r.notes);
		rec_clear(&r);
	}
	/* every segment twice */
	for (size_t i = 0; i < g.n; i++)
		order[2 * i] = order[2 * i + 1] = (long)i;
	struct rec r = {0};
	run_segs(&g, order, 2 * g.n, cr, &r);
	assert_true(same_calls(&ref, &r));
	assert_int_equal(r.warnings, 0);
	rec_clear(&r);
	free(order);
	rec_clear(&ref);
	free_segs(&g);
	talloc_free(mem);
}

/* The same conversation over IPv6 (each IPv4 address a.b.c.d moved to
 * 2001:db8::a.b.c.d): the same calls, with IPv6 endpoints. */
static void test_capture_over_ipv6(void **state)
{
	void *mem = talloc_new(NULL);
	struct mp_cap_creds *cr = samba_creds(mem);
	struct segs g;
	load_segs("samba_impacket_ntlm_seal.pcapng", &g);
	struct rec ref = {0};
	run_segs(&g, NULL, 0, cr, &ref);
	for (size_t i = 0; i < g.n; i++) {
		struct mp_cap_addr *a[2] = {&g.s[i].src, &g.s[i].dst};
		for (int k = 0; k < 2; k++) {
			uint8_t v4[4];
			memcpy(v4, a[k]->a, 4);
			memset(a[k]->a, 0, 16);
			a[k]->a[0] = 0x20;
			a[k]->a[1] = 0x01;
			a[k]->a[2] = 0x0d;
			a[k]->a[3] = 0xb8;
			memcpy(a[k]->a + 12, v4, 4);
			a[k]->family = 6;
		}
	}
	struct rec r = {0};
	run_segs(&g, NULL, 0, cr, &r);
	check_impacket_calls(&r);
	assert_true(same_calls(&ref, &r));
	assert_int_equal(strncmp(r.calls[0].cli, "[2001:db8::7f00:2]:", 19), 0);
	assert_int_equal(strcmp(r.calls[0].srv, "[2001:db8::7f00:2]:49154"), 0);
	rec_clear(&r);
	rec_clear(&ref);
	free_segs(&g);
	talloc_free(mem);
}

static void test_capture_each_segment_lost(void **state)
{
	void *mem = talloc_new(NULL);
	struct mp_cap_creds *cr = samba_creds(mem);
	struct segs g;
	load_segs("samba_impacket_ntlm_seal.pcapng", &g);
	long *order = malloc(g.n * sizeof(*order));
	assert_non_null(order);
	for (size_t k = 0; k < g.n; k++) {
		if (!g.s[k].len)
			continue;
		for (size_t i = 0; i < g.n; i++)
			order[i] = i == k ? -1 : (long)i;
		struct rec r = {0};
		run_segs(&g, order, g.n, cr, &r);
		/* Calls over before the loss are untouched. */
		for (size_t i = 0; i < r.n_calls; i++) {
			const struct rcall *c = &r.calls[i];
			if (c->req.seen && c->rsp.seen && c->rsp.frame_last < g.s[k].frame &&
			    c->req.frame_last < g.s[k].frame) {
				assert_int_equal(c->req.prot, MP_CAP_PROT_DECRYPTED);
				assert_int_equal(c->rsp.prot, MP_CAP_PROT_DECRYPTED);
			}
		}
		/* The loss is reported: a warning, or a call that says what it lacks. */
		bool said = r.warnings > 0;
		for (size_t i = 0; i < r.n_calls; i++)
			said |= r.calls[i].end[0] != 0;
		if (!said)
			fail_msg("losing segment %zu (frame %llu, %zu bytes) went unnoticed", k,
			         (unsigned long long)g.s[k].frame, g.s[k].len);
		rec_clear(&r);
	}
	free(order);
	free_segs(&g);
	talloc_free(mem);
}

static void test_capture_truncated_file(void **state)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/capture/samba_rpcclient_spnego_seal.pcapng", data_dir());
	struct blob b = {0};
	assert_true(read_path(path, &b));
	void *mem = talloc_new(NULL);
	struct mp_cap_creds *cr = samba_creds(mem);
	size_t prev_calls = 0;
	for (size_t cut = 0; cut <= b.len; cut += 61) {
		char err[512];
		struct mp_pcap_source *src = mp_pcap_open_mem(b.p, cut, err, sizeof(err));
		if (!src)
			continue;
		struct rec r = {0};
		struct mp_dce_sink sink = sink_of(&r);
		static const uint16_t ports[] = {135};
		struct mp_dce_tracker_opts o = {
		    .ports = ports, .n_ports = 1, .detect = true, .dce = {.creds = cr}};
		struct mp_dce_tracker *t = mp_dce_tracker_new(mem, &o, &sink);
		struct mp_tcp_reasm *ra = mp_tcp_reasm_new(NULL, ports, 1, mp_dce_tracker_event, t);
		mp_dce_tracker_set_reasm(t, ra);
		struct mp_tcp_seg s;
		while (mp_pcap_next(src, &s, err, sizeof(err)) == 1)
			mp_tcp_reasm_add(ra, &s);
		mp_tcp_reasm_finish(ra);
		mp_tcp_reasm_free(ra);
		mp_pcap_close(src);
		talloc_free(t);
		/* a longer prefix never yields fewer calls */
		assert_true(r.n_calls >= prev_calls);
		prev_calls = r.n_calls;
		rec_clear(&r);
	}
	assert_true(prev_calls >= 3);
	free(b.p);
	talloc_free(mem);
}

/* ---- tests: output ----------------------------------------------------------- */

/* Run a capture through the real printer into a string. */
static char *dump_capture(const char *name, bool json, const char *const *filters, size_t nf,
                          bool with_pw, bool pdus)
{
	void *mem = talloc_new(NULL);
	char *out = NULL;
	size_t out_len = 0;
	FILE *f = open_memstream(&out, &out_len);
	assert_non_null(f);
	struct mp_dump_opts o = {.json = json, .out = f, .pdus = pdus};
	struct mp_dump *d = mp_dump_new(mem, &o);
	assert_non_null(d);
	for (size_t i = 0; i < nf; i++) {
		char err[256];
		assert_int_equal(mp_dump_add_filter(d, filters[i], err, sizeof(err)), MP_OK);
	}
	struct mp_dce_sink sink;
	mp_dump_sink(d, &sink);
	struct segs g;
	load_segs(name, &g);
	static const uint16_t ports[] = {135};
	struct mp_dce_tracker_opts to = {.ports = ports,
	                                 .n_ports = 1,
	                                 .detect = true,
	                                 .dce = {.creds = with_pw ? samba_creds(mem) : NULL}};
	struct mp_dce_tracker *t = mp_dce_tracker_new(mem, &to, &sink);
	struct mp_tcp_reasm *ra = mp_tcp_reasm_new(NULL, ports, 1, mp_dce_tracker_event, t);
	mp_dce_tracker_set_reasm(t, ra);
	for (size_t i = 0; i < g.n; i++)
		mp_tcp_reasm_add(ra, &g.s[i]);
	mp_tcp_reasm_finish(ra);
	struct mp_tcp_stats ts;
	struct mp_dce_tracker_stats ds;
	mp_tcp_reasm_get_stats(ra, &ts);
	mp_dce_tracker_get_stats(t, &ds);
	mp_dump_summary(d, NULL, &ts, &ds);
	mp_tcp_reasm_free(ra);
	free_segs(&g);
	talloc_free(mem);
	fclose(f);
	return out;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void test_output_json_lines(void **state)
{
	char *out = dump_capture("samba_impacket_ntlm_seal.pcapng", true, NULL, 0, true, false);
	/* one object per line */
	size_t lines = 0;
	for (char *line = out; *line;) {
		char *nl = strchr(line, '\n');
		assert_non_null(nl);
		assert_int_equal(line[0], '{');
		assert_int_equal(nl[-1], '}');
		lines++;
		line = nl + 1;
	}
	assert_true(lines > 7);
	assert_int_equal(count(out, "\"type\":\"call\""), 7);
	assert_int_equal(count(out, "\"type\":\"summary\""), 1);
	assert_non_null(strstr(out, "\"interface\":\"samr\",\"uuid\":\"12345778-1234-abcd-ef00-"
	                            "0123456789ac/1.0\",\"ctx_id\":0,\"call_id\":6,\"opnum\":17,"
	                            "\"name\":\"SamrLookupNamesInDomain\""));
	assert_int_equal(count(out, "\"protection\":\"decrypted\""), 14);
	assert_non_null(strstr(out, "\"frags\":10,"));
	assert_non_null(strstr(out, "\"undecoded\":\"no decoder for samr\""));
	/* the SamrConnect request stub, in full in JSON */
	assert_non_null(strstr(out, "\"stub\":\""));
	assert_null(strstr(out, SAMBA_PW));
	free(out);

	out = dump_capture("samba_impacket_ntlm_seal.pcapng", true, NULL, 0, false, true);
	assert_int_equal(count(out, "\"protection\":\"sealed\""), 14 + 24);
	assert_non_null(strstr(out, "\"type\":\"pdu\""));
	assert_non_null(strstr(out, "\"ptype_name\":\"auth3\""));
	assert_non_null(strstr(out, "\"problem\":\"NTLMv2 MAPI\\\\Administrator: no password"));
	free(out);
}

static void test_output_text_and_filters(void **state)
{
	char *out = dump_capture("samba_impacket_ntlm_seal.pcapng", false, NULL, 0, true, false);
	assert_non_null(strstr(out, " samr SamrLookupNamesInDomain (opnum 17) call_id 6, "));
	assert_non_null(
	    strstr(out, "  request: 40036 bytes, 10 fragments, pkt_privacy decrypted\n"));
	assert_non_null(
	    strstr(out, "  response: 8028 bytes, 2 fragments, pkt_privacy decrypted\n"));
	assert_non_null(strstr(out, "note: auth context"));
	assert_non_null(strstr(out, "\nsummary\n"));
	free(out);

	const char *f1[] = {"samr:17"};
	out = dump_capture("samba_impacket_ntlm_seal.pcapng", true, f1, 1, true, false);
	assert_int_equal(count(out, "\"type\":\"call\""), 1);
	assert_null(strstr(out, "\"ptype_name\":\"bind\""));
	free(out);
	const char *f2[] = {"samr:samrclosehandle", "samr:0"};
	out = dump_capture("samba_impacket_ntlm_seal.pcapng", true, f2, 2, true, false);
	assert_int_equal(count(out, "\"type\":\"call\""), 3);
	free(out);
	const char *f3[] = {"EMSMDB"};
	out = dump_capture("samba_impacket_ntlm_seal.pcapng", true, f3, 1, true, false);
	assert_int_equal(count(out, "\"type\":\"call\""), 0);
	free(out);

	void *mem = talloc_new(NULL);
	struct mp_dump_opts o = {.json = true};
	struct mp_dump *d = mp_dump_new(mem, &o);
	char err[256];
	assert_int_equal(mp_dump_add_filter(d, "nosuch", err, sizeof(err)), MP_ERR_PARSE);
	assert_non_null(strstr(err, "unknown interface 'nosuch'"));
	assert_int_equal(mp_dump_add_filter(d, ":3", err, sizeof(err)), MP_ERR_PARSE);
	assert_int_equal(mp_dump_add_filter(d, "samr:", err, sizeof(err)), MP_ERR_PARSE);
	assert_int_equal(
	    mp_dump_add_filter(d, "12345778-1234-abcd-ef00-0123456789ac:1", err, sizeof(err)),
	    MP_OK);
	assert_int_equal(mp_dump_add_filter(d, "nspi:NspiBind", err, sizeof(err)), MP_OK);
	talloc_free(mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_contexts_name_their_interfaces),
	    cmocka_unit_test(test_interleaved_fragments_pair_by_call_id),
	    cmocka_unit_test(test_calls_that_cannot_complete),
	    cmocka_unit_test(test_limits_on_calls_and_stubs),
	    cmocka_unit_test(test_garbage_is_skipped_and_said),
	    cmocka_unit_test(test_lost_bytes_inside_a_call),
	    cmocka_unit_test(test_ncacn_http_prefix),
	    cmocka_unit_test(test_seal_decrypted_with_password_or_hash),
	    cmocka_unit_test(test_seal_stays_sealed_without_the_password),
	    cmocka_unit_test(test_tampered_fragment_fails_alone),
	    cmocka_unit_test(test_lost_fragment_sealed_vs_signed),
	    cmocka_unit_test(test_capture_impacket_ntlm_seal),
	    cmocka_unit_test(test_capture_rpcclient_spnego_and_ntlm),
	    cmocka_unit_test(test_capture_reordered_and_duplicated),
	    cmocka_unit_test(test_capture_over_ipv6),
	    cmocka_unit_test(test_capture_each_segment_lost),
	    cmocka_unit_test(test_capture_truncated_file),
	    cmocka_unit_test(test_output_json_lines),
	    cmocka_unit_test(test_output_text_and_filters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
