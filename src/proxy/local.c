/*
 * Calls answered here rather than relayed: our own endpoint mapper (it maps
 * every configured interface to our ports) and the server modules
 * (server.h). Both get the whole, clear request stub and give back a
 * response stub or a fault; the reply is protected for the client's leg.
 * A server module may also answer later (deferred answers, server.h).
 */
#include "dcerpc/iface.h"
#include "proxy/module.h"
#include "proxy/proxy.h"
#include "proxy/server.h"
#include "util/log.h"
#include "util/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A deferred call, by ids only: its session may be gone when it is answered. */
struct mp_server_deferred {
	uint64_t session_id; /* 0: void (serve() answered after all) */
	uint32_t call_id;
};

/* The daemon whose sessions deferred answers go to (mp_local_start). */
static struct mp_proxy *serving;

static int serve_epm(struct mp_session *s, struct mp_call_slot *c, struct mp_wbuf *stub,
		     uint32_t *fault)
{
	struct mp_proxy *px = s->px;
	struct mp_epm_entry table[MP_CONF_MAX_IFACES + 1];
	size_t n = 0;

	table[n].iface = mp_syntax_epmapper;
	table[n].port = px->conf.epm_port;
	memcpy(table[n].ipv4, s->local_ipv4, 4);
	table[n].annotation = "mapiproxy endpoint mapper";
	n++;
	for (size_t i = 0; i < px->conf.n_ifaces; i++, n++) {
		table[n].iface = px->conf.ifaces[i].syntax;
		table[n].port = px->conf.ifaces[i].port;
		memcpy(table[n].ipv4, s->local_ipv4, 4);
		table[n].annotation = px->conf.ifaces[i].name;
	}

	return mp_epm_serve(c->req.opnum, c->req_stub.data, c->req_stub.len, table, n, stub, fault);
}

static const struct mp_server_module *server_of(struct mp_session *s, uint16_t ctx_id)
{
	const struct mp_sess_ctx *ctx = mp_session_ctx(s, ctx_id);
	if (!ctx || ctx->kind != MP_CTX_LOCAL)
		return NULL;
	for (size_t i = 0; i < s->px->conf.n_ifaces; i++)
		if (mp_syntax_equal(&s->px->conf.ifaces[i].syntax, &ctx->iface))
			return s->px->conf.ifaces[i].server;
	return NULL;
}

int mp_local_answer(struct mp_session *s, struct mp_call_slot *c, uint32_t *fault)
{
	const struct mp_server_module *mod = server_of(s, c->req.ctx_id);
	struct mp_wbuf *stub = &c->rsp_stub;
	int rc;
	*fault = 0;
	s->reasm_bytes -= stub->len;
	stub->len = 0;
	if (mod) {
		int idx = mp_server_index(mod);
		struct mp_server_call call = {
			.conf = &s->px->conf,
			.session_id = s->id,
			.call_id = c->call_id,
			.user = s->cli_authed && mp_ntlm_user(s->cli_ntlm) ? mp_ntlm_user(s->cli_ntlm) : "",
			.domain = s->cli_authed && mp_ntlm_domain(s->cli_ntlm) ? mp_ntlm_domain(s->cli_ntlm)
									      : "",
			.auth_level = s->cli_authed ? s->cli_sec.auth_level : MP_AUTH_LEVEL_NONE,
			.global = mp_server_global(idx),
			.session_state = &s->server_state[idx],
			.opnum = c->req.opnum,
			.stub = c->req_stub.data,
			.len = c->req_stub.len,
			.out = stub,
			.fault = fault,
		};
		rc = mod->serve(&call);
		if (rc == MP_AGAIN && call.deferred)
			return MP_AGAIN; /* the slot stays in flight: mp_server_deferred_answer */
		if (rc == MP_AGAIN) {
			mp_warn("session %llu call %u: server module %s returned MP_AGAIN without "
				"mp_server_defer()",
				(unsigned long long)s->id, c->call_id, mod->iface);
			rc = MP_ERR_PROTO;
		}
		if (call.deferred) /* answered after all: the token must answer nothing */
			call.deferred->session_id = 0;
	} else {
		rc = serve_epm(s, c, stub, fault);
	}
	if (rc == MP_OK && stub->bad)
		rc = MP_ERR_NOMEM;
	if (rc != MP_OK)
		stub->len = 0;
	s->reasm_bytes += stub->len;
	c->rsp_bytes = stub->len;
	return rc;
}

static void fault_call(struct mp_session *s, struct mp_call_slot *c, uint32_t fault)
{
	if (!fault)
		fault = MP_NCA_S_SERVER_TOO_BUSY;
	mp_session_fault(s, c->call_id, c->req.ctx_id, fault, fault == MP_NCA_S_OP_RNG_ERROR);
	char outcome[64];
	snprintf(outcome, sizeof(outcome), "fault %s", mp_fault_name(fault));
	mp_session_call_done(s, c, outcome);
}

void mp_local_serve(struct mp_session *s, struct mp_call_slot *c)
{
	uint32_t fault = 0;
	int rc = mp_local_answer(s, c, &fault);
	if (rc == MP_OK)
		mp_session_reply(s, c);
	else if (rc != MP_AGAIN)
		fault_call(s, c, fault);
}

/* ---- deferred answers (server.h) ---- */

void mp_local_start(struct mp_proxy *px)
{
	serving = px;
}

void mp_local_stop(void)
{
	serving = NULL;
}

struct event_base *mp_server_event_base(void)
{
	return serving ? serving->base : NULL;
}

struct mp_server_deferred *mp_server_defer(struct mp_server_call *call)
{
	if (call->deferred)
		return call->deferred;
	if (!serving || !call->session_id)
		return NULL;
	struct mp_server_deferred *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->session_id = call->session_id;
	d->call_id = call->call_id;
	call->deferred = d;
	return d;
}

void mp_server_deferred_drop(struct mp_server_deferred *d)
{
	free(d);
}

int mp_server_deferred_answer(struct mp_server_deferred *d, const uint8_t *stub, size_t len,
			      uint32_t fault)
{
	struct mp_session *s = NULL;
	struct mp_call_slot *c = NULL;
	uint32_t call_id = d ? d->call_id : 0;
	for (s = serving && d && d->session_id ? serving->sessions : NULL; s; s = s->next)
		if (s->id == d->session_id)
			break;
	/* A closing session's calls go with it; a slot still in use under this
	 * id is the parked call: it stays in flight until answered. */
	if (s && s->state != MP_SS_CLOSING)
		c = mp_session_find_call(s, call_id);
	free(d);
	if (!c || !c->local) {
		mp_debug("deferred answer for call %u dropped: its session has gone", call_id);
		return MP_ERR_NOTFOUND;
	}
	struct mp_wbuf *out = &c->rsp_stub;
	s->reasm_bytes -= out->len;
	out->len = 0;
	if (!fault) {
		mp_wb_bytes(out, stub, len);
		if (out->bad) {
			out->len = 0;
			fault = MP_NCA_S_SERVER_TOO_BUSY;
		}
	}
	s->reasm_bytes += out->len;
	c->rsp_bytes = out->len;
	/* Continue where the call left off: in the module pipeline (module_call.c
	 * relay()) or in mp_local_serve(). */
	if (c->mcall || c->ahead_parent) {
		if (fault)
			mp_modules_on_fault(s, c, fault);
		else
			mp_modules_on_response(s, c);
	} else if (fault) {
		fault_call(s, c, fault);
	} else {
		mp_session_reply(s, c);
	}
	if (s->state != MP_SS_CLOSING)
		mp_session_check_backpressure(s);
	return MP_OK;
}

void mp_local_drain(struct mp_proxy *px)
{
	const struct mp_server_module *done[MP_CONF_MAX_IFACES];
	size_t n = 0;
	for (size_t i = 0; i < px->conf.n_ifaces; i++) {
		const struct mp_server_module *m = px->conf.ifaces[i].server;
		bool seen = false;
		for (size_t k = 0; k < n; k++)
			seen |= done[k] == m;
		if (!m || seen || !m->drain)
			continue;
		done[n++] = m;
		m->drain(mp_server_global(mp_server_index(m)));
	}
}

void mp_local_session_end(struct mp_session *s)
{
	const struct mp_server_module *const *mods = mp_server_modules();
	for (size_t i = 0; mods[i]; i++) {
		if (s->server_state[i] && mods[i]->session_end)
			mods[i]->session_end(mp_server_global((int)i), s->server_state[i]);
		s->server_state[i] = NULL;
	}
}
