#include "mapi/mapi_print.h"

#include "mapi/emsmdb.h"
#include "util/status.h"

#include <string.h>
#include <talloc.h>

struct mp_mapi_state {
	struct mp_rop_session *rops;
};

struct mp_mapi_state *mp_mapi_state_new(void *mem)
{
	struct mp_mapi_state *st = talloc_zero(mem, struct mp_mapi_state);
	if (st && !(st->rops = mp_rop_session_new(st))) {
		talloc_free(st);
		return NULL;
	}
	return st;
}

static void decode_aux(void *mem, struct mp_mapi_view *v, const struct mp_emsmdb_buf *b,
		       bool response)
{
	struct mp_rpc_ext_limits lim;
	mp_rpc_ext_limits_init(&lim, response ? MP_RPC_EXT_RGBAUXOUT : MP_RPC_EXT_RGBAUXIN);
	if (mp_rpc_ext_parse(mem, b->data, b->len, &lim, &v->aux_ext, &v->aux_why) != MP_OK)
		return;
	size_t len;
	uint8_t *payload = mp_rpc_ext_join(mem, v->aux_ext, &len);
	if (!payload) {
		v->aux_why = "out of memory";
		return;
	}
	(void)mp_aux_parse(mem, payload, len, &v->aux, &v->aux_why);
}

static void decode_rops(void *mem, struct mp_mapi_view *v, const struct mp_emsmdb_buf *b,
			bool response, const struct mp_mapi_view *request,
			struct mp_mapi_state *st)
{
	const struct mp_rop_buf *req = request && request->n_bufs ? request->bufs[0] : NULL;
	struct mp_rop_session *sess = st ? st->rops : NULL;
	if (v->legacy) {
		/* EcDoRpc: one ROP buffer, obfuscated with XOR 0xA5, no header. */
		uint8_t *clear = talloc_memdup(mem, b->data, b->len);
		v->bufs = talloc_array(mem, struct mp_rop_buf *, 1);
		if (!clear || !v->bufs) {
			v->rop_why = "out of memory";
			return;
		}
		mp_rpc_ext_xor(clear, b->len);
		if (mp_rop_buf_decode(mem, clear, b->len, response, req, sess, &v->bufs[0]) == MP_OK)
			v->n_bufs = 1;
		else
			v->rop_why = "not a ROP buffer";
		return;
	}
	struct mp_rpc_ext_limits lim;
	mp_rpc_ext_limits_init(&lim, response ? MP_RPC_EXT_RGBOUT : MP_RPC_EXT_RGBIN);
	if (mp_rpc_ext_parse(mem, b->data, b->len, &lim, &v->rop_ext, &v->rop_why) != MP_OK)
		return;
	v->bufs = talloc_zero_array(mem, struct mp_rop_buf *, v->rop_ext->count ? v->rop_ext->count : 1);
	if (!v->bufs) {
		v->rop_why = "out of memory";
		return;
	}
	/* Each segment carries a whole ROP buffer: a request has one; a
	 * response may chain more (MS-OXCRPC 3.1.4.2.1.1). */
	for (size_t i = 0; i < v->rop_ext->count; i++) {
		const struct mp_rpc_ext_seg *seg = &v->rop_ext->segs[i];
		if (mp_rop_buf_decode(mem, seg->payload, seg->size_actual, response, req, sess,
				      &v->bufs[v->n_bufs]) != MP_OK) {
			v->rop_why = "a segment is not a ROP buffer";
			break;
		}
		v->n_bufs++;
	}
}

struct mp_mapi_view *mp_mapi_view_new(void *mem, const struct mp_mapi_call *call,
				      const struct mp_mapi_view *request,
				      struct mp_mapi_state *st, bool rops)
{
	struct mp_mapi_view *v = talloc_zero(mem, struct mp_mapi_view);
	if (!v)
		return NULL;
	v->call = call;
	struct mp_emsmdb_ext_bufs b;
	if (!rops || call->iface != MP_MAPI_EMSMDB ||
	    !mp_emsmdb_ext_buffers(call->opnum, call->dir, call->body, &b))
		return v;
	bool response = call->dir == MP_CALL_RESPONSE;
	if (b.aux && b.aux->len)
		decode_aux(v, v, b.aux, response);
	if (b.rop && b.rop->len) {
		v->legacy = b.legacy;
		decode_rops(v, v, b.rop, response, request, st);
	}
	return v;
}

static void print_segments(struct mp_printer *p, const struct mp_rpc_ext *ext)
{
	mp_pr_begin_array(p, "RPC_HEADER_EXT", ext->count);
	for (size_t i = 0; i < ext->count; i++) {
		const struct mp_rpc_ext_seg *s = &ext->segs[i];
		static const struct mp_flag_name flags[] = {
			{MP_RHE_COMPRESSED, "Compressed"},
			{MP_RHE_XORMAGIC, "XorMagic"},
			{MP_RHE_LAST, "Last"},
			{0, NULL},
		};
		mp_pr_begin(p, NULL);
		mp_pr_flags(p, "Flags", s->flags, 4, flags);
		mp_pr_uint(p, "Size", s->size);
		mp_pr_uint(p, "SizeActual", s->size_actual);
		mp_pr_end(p);
	}
	mp_pr_end_array(p);
}

void mp_mapi_view_print(struct mp_printer *p, const struct mp_mapi_view *v)
{
	const struct mp_mapi_call *call = v->call;
	mp_pr_begin(p, call->codec->name);
	if (call->codec->print[call->dir])
		call->codec->print[call->dir](p, call->body);
	if (v->aux_ext || v->aux_why) {
		mp_pr_begin(p, "aux");
		if (v->aux_ext)
			print_segments(p, v->aux_ext);
		if (v->aux)
			mp_aux_print(p, "blocks", v->aux);
		if (v->aux_why)
			mp_pr_str(p, "undecoded", v->aux_why);
		mp_pr_end(p);
	}
	if (v->rop_ext || v->n_bufs || v->rop_why) {
		mp_pr_begin(p, "rops");
		if (v->rop_ext)
			print_segments(p, v->rop_ext);
		if (v->legacy)
			mp_pr_str(p, "obfuscation", "XOR 0xA5 (EcDoRpc)");
		mp_pr_begin_array(p, "buffers", v->n_bufs);
		for (size_t i = 0; i < v->n_bufs; i++)
			mp_rop_buf_print(p, NULL, v->bufs[i]);
		mp_pr_end_array(p);
		if (v->rop_why)
			mp_pr_str(p, "undecoded", v->rop_why);
		mp_pr_end(p);
	}
	mp_pr_end(p);
}

void mp_mapi_state_update(struct mp_mapi_state *st, const struct mp_mapi_view *request,
			  const struct mp_mapi_view *response)
{
	if (!st || !request || !request->n_bufs)
		return;
	const struct mp_rop_buf *rsp = response && response->n_bufs ? response->bufs[0] : NULL;
	mp_rop_session_update(st->rops, request->bufs[0], rsp);
}
