/*
 * Calls answered here rather than relayed: our own endpoint mapper (it maps
 * every configured interface to our ports) and the server modules
 * (server.h). Both get the whole, clear request stub and give back a
 * response stub or a fault; the reply is protected for the client's leg.
 */
#include "dcerpc/iface.h"
#include "proxy/proxy.h"
#include "proxy/server.h"
#include "util/log.h"
#include "util/status.h"

#include <stdio.h>
#include <string.h>

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

void mp_local_serve(struct mp_session *s, struct mp_call_slot *c)
{
	uint32_t fault = 0;
	if (mp_local_answer(s, c, &fault) == MP_OK) {
		mp_session_reply(s, c);
		return;
	}
	if (!fault)
		fault = MP_NCA_S_SERVER_TOO_BUSY;
	mp_session_fault(s, c->call_id, c->req.ctx_id, fault, fault == MP_NCA_S_OP_RNG_ERROR);
	char outcome[64];
	snprintf(outcome, sizeof(outcome), "fault %s", mp_fault_name(fault));
	mp_session_call_done(s, c, outcome);
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
