/*
 * What include/mapiproxy/module.h gives a module during a call: the call's
 * identity, its stubs (raw, decoded, ROP buffers), storage, the session's
 * identity, logging. Decoding is lazy and done once per direction; a change
 * through the decoded structure is encoded back when a stub is next needed.
 */
#include "mapi/call.h"
#include "mapi/emsmdb.h"
#include "mapi/rpc_ext.h"
#include "proxy/module.h"
#include "proxy/proxy.h"
#include "util/log.h"
#include "util/status.h"

#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

int mp_module_current = -1;

static struct mp_wbuf *stub_buf(struct mp_call *mc, enum mp_dir dir)
{
	return dir == MP_REQUEST ? &mc->slot->req_stub : &mc->slot->rsp_stub;
}

void mp_call_invalidate(struct mp_call *mc, enum mp_dir dir)
{
	/* Decoded memory may point into the old stub. */
	TALLOC_FREE(mc->dec[dir]);
	mc->dec_failed[dir] = false;
	mc->changed[dir] = false;
	mc->rops[dir] = NULL;
	TALLOC_FREE(mc->legacy_clear[dir]);
}

static int replace_stub(struct mp_call *mc, enum mp_dir dir, const uint8_t *data, size_t len)
{
	struct mp_wbuf nb;
	mp_wb_init(&nb);
	mp_wb_bytes(&nb, data, len);
	if (nb.bad) {
		mp_wb_free(&nb);
		return MP_MODULE_ERROR;
	}
	struct mp_wbuf *b = stub_buf(mc, dir);
	mc->s->reasm_bytes = mc->s->reasm_bytes - b->len + nb.len;
	mp_call_invalidate(mc, dir);
	mp_wb_free(b);
	*b = nb;
	return MP_MODULE_OK;
}

void *mp_call_decoded(struct mp_call *mc, enum mp_dir dir)
{
	if (mc->dec[dir])
		return mc->dec[dir]->body;
	if (mc->iface < 0 || mc->dec_failed[dir])
		return NULL;
	struct mp_wbuf *b = stub_buf(mc, dir);
	const char *why = NULL;
	mc->dec[dir] = mp_mapi_decode(mc, (enum mp_mapi_iface)mc->iface, mc->slot->req.opnum,
				      dir == MP_REQUEST ? MP_CALL_REQUEST : MP_CALL_RESPONSE,
				      b->data, b->len, &why);
	if (!mc->dec[dir]) {
		mc->dec_failed[dir] = true;
		mp_debug("session %llu call %u: modules see no decoded %s: %s",
			 (unsigned long long)mc->s->id, mc->slot->call_id,
			 dir == MP_REQUEST ? "request" : "response", why ? why : "?");
		return NULL;
	}
	return mc->dec[dir]->body;
}

int mp_call_flush(struct mp_call *mc, enum mp_dir dir)
{
	if (!mc->changed[dir] || !mc->dec[dir])
		return MP_OK;
	struct mp_wbuf out;
	mp_wb_init(&out);
	if (!mp_mapi_encode(mc->dec[dir], &out) || out.bad) {
		mp_wb_free(&out);
		mp_warn("session %llu call %u: a module's change to the %s cannot be encoded",
			(unsigned long long)mc->s->id, mc->slot->call_id,
			dir == MP_REQUEST ? "request" : "response");
		return MP_ERR_PARSE;
	}
	int rc = replace_stub(mc, dir, out.data, out.len);
	mp_wb_free(&out);
	return rc == MP_MODULE_OK ? MP_OK : MP_ERR_NOMEM;
}

/* ---- calls ---- */

struct mp_session *mp_call_session(struct mp_call *call)
{
	return call->s;
}

void *mp_call_global(struct mp_call *call)
{
	struct mp_loaded_module *lm = mp_module_at((size_t)mp_module_current);
	(void)call;
	return lm ? lm->global : NULL;
}

void *mp_call_mem(struct mp_call *call)
{
	return call;
}

void *mp_call_alloc(struct mp_call *call, size_t size)
{
	return talloc_zero_size(call, size);
}

void **mp_call_private(struct mp_call *call)
{
	static void *none;
	if (mp_module_current < 0 || mp_module_current >= MP_MAX_MODULES)
		return &none;
	return &call->priv[mp_module_current];
}

uint32_t mp_call_id(const struct mp_call *call)
{
	return call->slot->call_id;
}

uint16_t mp_call_opnum(const struct mp_call *call)
{
	return call->slot->req.opnum;
}

const char *mp_call_endpoint(const struct mp_call *call)
{
	return call->endpoint;
}

const char *mp_call_name(const struct mp_call *call)
{
	const struct mp_call_codec *c =
		call->iface >= 0 ? mp_call_codec((enum mp_mapi_iface)call->iface, call->slot->req.opnum)
				 : NULL;
	if (c)
		return c->name;
	static char buf[32];
	snprintf(buf, sizeof(buf), "opnum %u", call->slot->req.opnum);
	return buf;
}

bool mp_call_is_ahead(const struct mp_call *call)
{
	return call->ahead;
}

static void ensure_template(struct mp_call *call, enum mp_dir dir);

int mp_call_stub(struct mp_call *call, enum mp_dir dir, struct mp_stub *out)
{
	ensure_template(call, dir);
	if (mp_call_flush(call, dir) != MP_OK)
		return MP_MODULE_ERROR;
	struct mp_wbuf *b = stub_buf(call, dir);
	out->data = b->data;
	out->len = b->len;
	return MP_MODULE_OK;
}

int mp_call_set_request(struct mp_call *call, const uint8_t *data, size_t len)
{
	return replace_stub(call, MP_REQUEST, data, len);
}

int mp_call_set_response(struct mp_call *call, const uint8_t *data, size_t len)
{
	call->fault_set = false;
	return replace_stub(call, MP_RESPONSE, data, len);
}

void mp_call_set_fault(struct mp_call *call, uint32_t status)
{
	call->fault_set = true;
	call->fault = status;
}

void mp_call_changed(struct mp_call *call, enum mp_dir dir)
{
	if (call->dec[dir]) {
		call->changed[dir] = true;
		call->rops[dir] = NULL; /* the ROP chain is read from the structure again */
		TALLOC_FREE(call->legacy_clear[dir]);
	}
}

void mp_call_ahead(struct mp_call *call)
{
	if (call->parent) /* a read-ahead call's own response: keep going */
		call->parent->ahead_by = mp_module_current;
	else
		call->ahead_by = mp_module_current;
}

/* ---- ROP buffers ---- */

/* A read-ahead call starts with the client's request as its template. */
static void ensure_template(struct mp_call *call, enum mp_dir dir)
{
	if (dir == MP_REQUEST && call->parent && call->slot->req_stub.len == 0) {
		struct mp_wbuf *pb = &call->parent->slot->req_stub;
		replace_stub(call, MP_REQUEST, pb->data, pb->len);
	}
}

static struct mp_emsmdb_buf *rop_field(struct mp_call *call, enum mp_dir dir, bool *legacy)
{
	if (call->iface != MP_MAPI_EMSMDB)
		return NULL;
	ensure_template(call, dir);
	void *body = mp_call_decoded(call, dir);
	struct mp_emsmdb_ext_bufs b;
	if (!body || !mp_emsmdb_ext_buffers(call->slot->req.opnum,
					    dir == MP_REQUEST ? MP_CALL_REQUEST : MP_CALL_RESPONSE,
					    body, &b) ||
	    !b.rop)
		return NULL;
	*legacy = b.legacy;
	return b.rop;
}

static bool parse_rops(struct mp_call *call, enum mp_dir dir)
{
	if (call->rops[dir] || call->legacy_clear[dir])
		return true;
	bool legacy = false;
	struct mp_emsmdb_buf *f = rop_field(call, dir, &legacy);
	if (!f)
		return false;
	call->rops_legacy[dir] = legacy;
	if (legacy) {
		call->legacy_clear[dir] = talloc_memdup(call, f->data, f->len ? f->len : 1);
		if (!call->legacy_clear[dir])
			return false;
		mp_rpc_ext_xor(call->legacy_clear[dir], f->len);
		return true;
	}
	struct mp_rpc_ext_limits lim;
	mp_rpc_ext_limits_init(&lim, dir == MP_REQUEST ? MP_RPC_EXT_RGBIN : MP_RPC_EXT_RGBOUT);
	return mp_rpc_ext_parse(call, f->data, f->len, &lim, &call->rops[dir], NULL) == MP_OK;
}

size_t mp_call_rop_buffer_count(struct mp_call *call, enum mp_dir dir)
{
	if (!parse_rops(call, dir))
		return 0;
	return call->rops_legacy[dir] ? 1 : call->rops[dir]->count;
}

int mp_call_rop_buffer(struct mp_call *call, enum mp_dir dir, size_t index, const uint8_t **data,
		       size_t *len)
{
	if (!parse_rops(call, dir))
		return MP_MODULE_ERROR;
	if (call->rops_legacy[dir]) {
		bool legacy;
		if (index != 0)
			return MP_MODULE_ERROR;
		*data = call->legacy_clear[dir];
		*len = rop_field(call, dir, &legacy)->len;
		return MP_MODULE_OK;
	}
	if (index >= call->rops[dir]->count)
		return MP_MODULE_ERROR;
	*data = call->rops[dir]->segs[index].payload;
	*len = call->rops[dir]->segs[index].size_actual;
	return MP_MODULE_OK;
}

int mp_call_set_rop_buffer(struct mp_call *call, enum mp_dir dir, const uint8_t *data,
			   size_t len)
{
	bool legacy = false;
	if (!parse_rops(call, dir))
		return MP_MODULE_ERROR;
	struct mp_emsmdb_buf *f = rop_field(call, dir, &legacy);
	if (!f)
		return MP_MODULE_ERROR;
	struct mp_wbuf out;
	mp_wb_init(&out);
	if (legacy) {
		mp_wb_bytes(&out, data, len);
		if (!out.bad)
			mp_rpc_ext_xor(out.data, out.len);
	} else {
		uint16_t flags = call->rops[dir]->count ? call->rops[dir]->segs[0].flags : 0;
		flags &= (uint16_t)(MP_RHE_COMPRESSED | MP_RHE_XORMAGIC);
		struct mp_rpc_ext *ext = mp_rpc_ext_new(call);
		if (!ext || !mp_rpc_ext_add(ext, flags | MP_RHE_LAST, data, len) ||
		    mp_rpc_ext_build(ext, &out) != MP_OK) {
			mp_wb_free(&out);
			return MP_MODULE_ERROR;
		}
		talloc_free(ext);
	}
	size_t n = out.len;
	uint8_t *copy = out.bad ? NULL : talloc_memdup(call->dec[dir], out.data, n ? n : 1);
	mp_wb_free(&out);
	if (!copy)
		return MP_MODULE_ERROR;
	mp_emsmdb_buf_set(f, copy, (uint32_t)n);
	call->changed[dir] = true;
	int rc = mp_call_flush(call, dir);
	return rc == MP_OK ? MP_MODULE_OK : MP_MODULE_ERROR;
}

/* ---- sessions ---- */

uint64_t mp_session_number(const struct mp_session *session)
{
	return session->id;
}

const char *mp_session_user(const struct mp_session *session)
{
	const char *u = session->cli_authed ? mp_ntlm_user(session->cli_ntlm) : NULL;
	return u ? u : "";
}

const char *mp_session_domain(const struct mp_session *session)
{
	const char *d = session->cli_authed ? mp_ntlm_domain(session->cli_ntlm) : NULL;
	return d ? d : "";
}

int mp_session_auth_level(const struct mp_session *session)
{
	return session->cli_authed ? session->cli_sec.auth_level : 0;
}

const char *mp_session_peer(const struct mp_session *session)
{
	return session->peer;
}

void **mp_session_private(struct mp_session *session)
{
	static void *none;
	if (mp_module_current < 0 || mp_module_current >= MP_MAX_MODULES)
		return &none;
	return &session->mod_priv[mp_module_current];
}

/* ---- watches ---- */

/* A pending mp_module_watch(). Kept on a list so that watches the loop
 * drops at exit stay reachable (they are not leaks: the process ends). */
struct mp_watch {
	struct mp_watch *prev, *next;
	mp_module_watch_fn *fn;
	void *arg;
	int module;
};
static struct mp_watch *pending_watches;

static void watch_fired(evutil_socket_t fd, short what, void *p)
{
	struct mp_watch *w = p;
	if (w->prev)
		w->prev->next = w->next;
	else
		pending_watches = w->next;
	if (w->next)
		w->next->prev = w->prev;
	int outer = mp_module_current;
	mp_module_current = w->module;
	w->fn(w->arg, (int)fd, (what & EV_READ) != 0);
	mp_module_current = outer;
	free(w);
}

int mp_module_watch(struct mp_session *session, int fd, unsigned timeout_ms,
		    mp_module_watch_fn *fn, void *arg)
{
	if (!session || !session->px || !session->px->base || !fn || mp_module_current < 0 ||
	    (fd < 0 && !timeout_ms))
		return MP_MODULE_ERROR;
	struct mp_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return MP_MODULE_ERROR;
	w->fn = fn;
	w->arg = arg;
	w->module = mp_module_current;
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	short what = fd >= 0 ? EV_READ : EV_TIMEOUT;
	if (event_base_once(session->px->base, fd, what, watch_fired, w,
			    timeout_ms ? &tv : NULL) != 0) {
		free(w);
		return MP_MODULE_ERROR;
	}
	w->next = pending_watches;
	if (w->next)
		w->next->prev = w;
	pending_watches = w;
	return MP_MODULE_OK;
}

/* ---- logging ---- */

bool mp_module_log_enabled(int level)
{
	return level <= mp_log_level;
}

void mp_module_log(int level, const char *fmt, ...)
{
	if (level > mp_log_level)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct mp_loaded_module *lm = mp_module_at((size_t)mp_module_current);
	mp_log(level, "module %s: %s", lm ? lm->desc->name : "?", msg);
}
