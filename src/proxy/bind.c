/*
 * Presentation-context negotiation for a session.
 *
 * Each context the client offers is classified: relayed (its interface is in
 * dcerpc_mapiproxy:interfaces), served locally (the endpoint mapper, or a
 * server module: server.h), or rejected. Relayed contexts go upstream in one bind/alter_context with only
 * the transfer syntaxes we can carry (NDR20 and bind-time feature
 * negotiation); the upstream's results are merged with ours in the client's
 * order. Local answers follow Samba and Windows: NDR20 accepted, NDR64
 * refused (provider_rejection, proposed_transfer_syntaxes_not_supported),
 * feature negotiation acknowledged with the features we keep.
 */
#include "dcerpc/iface.h"
#include "proxy/module.h"
#include "proxy/proxy.h"
#include "util/log.h"
#include "util/status.h"

#include <event2/bufferevent.h>
#include <stdio.h>
#include <string.h>

void mp_session_resume_reading(struct mp_session *s);

static const struct mp_conf_iface *conf_iface(const struct mp_proxy *px, const struct mp_syntax *s)
{
	for (size_t i = 0; i < px->conf.n_ifaces; i++)
		if (mp_syntax_equal(&px->conf.ifaces[i].syntax, s))
			return &px->conf.ifaces[i];
	return NULL;
}

static uint16_t min16(uint16_t a, uint16_t b)
{
	return a < b ? a : b;
}

/* The answer we give ourselves for a context served locally. */
static struct mp_pdu_result local_result(const struct mp_pdu_ctx *c)
{
	struct mp_pdu_result r = {.result = MP_CTX_PROVIDER_REJECT,
				  .reason = MP_REASON_TRANSFER_SYNTAXES_NOT_SUPPORTED};
	for (unsigned t = 0; t < c->n_ts; t++) {
		uint16_t features;
		if (mp_syntax_equal(&c->ts[t], &mp_syntax_ndr20)) {
			r.result = MP_CTX_ACCEPT;
			r.reason = 0;
			r.ts = mp_syntax_ndr20;
			return r;
		}
		if (mp_syntax_is_btfn(&c->ts[t], &features)) {
			r.result = MP_CTX_NEGOTIATE_ACK;
			r.reason = features & (MP_BTFN_SEC_CTX_MULTIPLEXING |
					       MP_BTFN_KEEP_CONN_ON_ORPHAN);
			return r;
		}
	}
	return r;
}

static void add_ctx(struct mp_session *s, uint16_t id, uint8_t kind, const struct mp_syntax *iface)
{
	if (s->n_ctx >= MP_PDU_MAX_CTX)
		return;
	struct mp_sess_ctx *c = &s->ctx[s->n_ctx++];
	c->id = id;
	c->kind = kind;
	c->iface = *iface;
	c->name = mp_iface_name(iface);
	/* Which stackable modules see this context's calls: decided once here,
	 * not per call. Pass-through calls stay sealed: no module sees them. */
	c->mods = s->passthrough ? 0 : mp_modules_mask(c);
}

/* Send the merged bind_ack / alter_context_resp and register accepted contexts. */
static void answer_client(struct mp_session *s, uint8_t ack_flags)
{
	struct mp_proxy *px = s->px;
	const struct mp_pdu_bind *req = &s->pend.req;
	struct mp_pdu_bind_ack ack;
	char log[512];
	size_t lo = 0;

	memset(&ack, 0, sizeof(ack));
	if (s->pend.ptype == MP_PDU_BIND) {
		s->cli_max_xmit = min16(req->max_recv, px->conf.max_frag);
		s->cli_max_recv = min16(req->max_xmit, px->conf.max_frag);
		/* Signed fragments cannot be cut again: make the client's fit upstream. */
		if (s->passthrough && s->up_max_xmit)
			s->cli_max_recv = min16(s->cli_max_recv, s->up_max_xmit);
		snprintf(ack.sec_addr, sizeof(ack.sec_addr), "%u", s->local_port);
	}
	ack.max_xmit = s->cli_max_xmit;
	ack.max_recv = s->cli_max_recv;
	ack.assoc_group = s->assoc_group;
	ack.n_results = req->n_ctx;
	for (unsigned i = 0; i < req->n_ctx; i++) {
		ack.res[i] = s->pend.res[i];
		const struct mp_pdu_ctx *c = &req->ctx[i];
		bool ok = ack.res[i].result == MP_CTX_ACCEPT;
		if (ok && s->pend.kind[i])
			add_ctx(s, c->id, s->pend.kind[i], &c->abstract);
		const char *name = mp_iface_name(&c->abstract);
		char u[MP_UUID_STR_LEN];
		mp_uuid_format(&c->abstract.uuid, u);
		if (lo < sizeof(log))
			lo += (size_t)snprintf(log + lo, sizeof(log) - lo, "%s%u:%s=%s", lo ? " " : "",
					       c->id, name ? name : u,
					       ok ? (s->pend.kind[i] == MP_CTX_RELAY  ? "relay"
						     : s->pend.kind[i] == MP_CTX_LOCAL ? "served"
										       : "local")
					       : ack.res[i].result == MP_CTX_NEGOTIATE_ACK ? "btfn"
											   : "rejected");
	}
	struct mp_wbuf wb;
	uint8_t flags = MP_PFC_FIRST_FRAG | MP_PFC_LAST_FRAG | (ack_flags & MP_PFC_CONC_MPX);
	bool is_bind = s->pend.ptype == MP_PDU_BIND;
	bool with_token = (is_bind || s->cli_token_in_alter) && s->cli_auth_on && s->cli_token.len;
	/* Header signing: agreed when the client offers it, as Windows does. */
	if (with_token && is_bind && s->cli_sec.hdr_sign)
		flags |= MP_PFC_SUPPORT_HEADER_SIGN;
	mp_wb_init(&wb);
	mp_pdu_encode_bind_ack(&wb, s->pend.ptype == MP_PDU_BIND ? MP_PDU_BIND_ACK
								 : MP_PDU_ALTER_RESP,
			       flags, s->pend.call_id, &ack);
	if (with_token)
		mp_sec_append_auth(&wb, 0, s->cli_sec.auth_type, s->cli_sec.auth_level,
				   s->cli_sec.auth_ctx_id, s->cli_token.data, s->cli_token.len);
	s->cli_token_in_alter = false;
	mp_session_send_cli(s, &wb);
	mp_wb_free(&wb);
	mp_info("session %llu %s: %s; frag %u/%u, assoc group 0x%x", (unsigned long long)s->id,
		s->pend.ptype == MP_PDU_BIND ? "bound" : "altered", log, s->cli_max_xmit,
		s->cli_max_recv, s->assoc_group);
	s->state = MP_SS_BOUND;
	if (s->px->draining)
		mp_session_drain(s);
	mp_session_resume_reading(s);
}

static void send_nak(struct mp_session *s, uint32_t call_id, uint16_t reason, const char *why)
{
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_pdu_encode_bind_nak(&wb, call_id, reason);
	mp_session_send_cli(s, &wb);
	mp_wb_free(&wb);
	mp_session_close(s, why);
}

void mp_bind_from_client(struct mp_session *s, const struct mp_pdu *pdu)
{
	struct mp_proxy *px = s->px;
	const struct mp_pdu_bind *b = &pdu->u.bind;
	uint8_t ptype = pdu->hdr.ptype;

	if (ptype == MP_PDU_BIND && s->state != MP_SS_NEW) {
		send_nak(s, pdu->hdr.call_id, MP_NAK_NOT_SPECIFIED, "second bind on an association");
		return;
	}
	if (ptype == MP_PDU_ALTER && s->state != MP_SS_BOUND) {
		send_nak(s, pdu->hdr.call_id, MP_NAK_NOT_SPECIFIED, "alter_context before bind");
		return;
	}
	if (b->n_ctx == 0) {
		send_nak(s, pdu->hdr.call_id, MP_NAK_NOT_SPECIFIED, "bind without presentation context");
		return;
	}
	if (pdu->has_auth) {
		if (ptype == MP_PDU_ALTER) {
			/* The third leg may come in alter_context instead of auth3
			 * (MS-RPCE 3.3.1.5.3); a second auth context may not (yet). */
			if (!s->cli_auth_on || s->cli_authed || s->cli_auth_failed ||
			    s->passthrough) {
				send_nak(s, pdu->hdr.call_id, MP_NAK_AUTH_TYPE_NOT_RECOGNIZED,
					 "a second authentication context is not supported");
				return;
			}
			bool ok;
			if (s->cli_sec.auth_type == MP_AUTH_TYPE_SPNEGO) {
				ok = mp_auth_spnego_step(s, pdu) == MP_OK;
			} else {
				mp_auth_client_auth3(s, pdu);
				ok = s->cli_authed;
			}
			if (!ok) {
				mp_session_fault(s, pdu->hdr.call_id, 0, MP_FAULT_ACCESS_DENIED, true);
				mp_session_close(s, "authentication failed");
				return;
			}
		} else {
			int reason = mp_auth_client_bind(s, pdu);
			if (reason != MP_AUTH_BIND_ACCEPT) {
				send_nak(s, pdu->hdr.call_id, (uint16_t)reason,
					 "authentication refused at bind");
				return;
			}
		}
	}
	if (ptype == MP_PDU_BIND && (b->max_xmit < MP_PDU_MIN_FRAG || b->max_recv < MP_PDU_MIN_FRAG)) {
		send_nak(s, pdu->hdr.call_id, MP_NAK_LOCAL_LIMIT_EXCEEDED,
			 "bind with fragment sizes below 1432");
		return;
	}

	memset(&s->pend, 0, sizeof(s->pend));
	s->pend.ptype = ptype;
	s->pend.call_id = pdu->hdr.call_id;
	s->pend.req = *b;
	if (ptype == MP_PDU_BIND)
		s->cli_flags = pdu->hdr.pfc_flags;

	struct mp_pdu_bind *fwd = &s->pend.fwd;
	uint16_t limit = min16(px->conf.max_frag, px->conf.upstream_max_frag);
	/* Ask the upstream for the client's sizes (bounded by ours), so fragments can
	 * usually pass both legs untouched. */
	fwd->max_xmit = min16(ptype == MP_PDU_BIND ? b->max_xmit : s->cli_max_recv, limit);
	fwd->max_recv = min16(ptype == MP_PDU_BIND ? b->max_recv : s->cli_max_xmit, limit);
	fwd->assoc_group = b->assoc_group;

	for (unsigned i = 0; i < b->n_ctx; i++) {
		const struct mp_pdu_ctx *c = &b->ctx[i];
		struct mp_pdu_result *r = &s->pend.res[i];
		r->result = MP_CTX_PROVIDER_REJECT;
		r->reason = MP_REASON_ABSTRACT_SYNTAX_NOT_SUPPORTED;
		const struct mp_sess_ctx *known = mp_session_ctx(s, c->id);
		if (known) {
			/* Offering a bound context again: fine if it is the same interface
			 * (Samba accepts it), refused if it would change meaning. */
			if (mp_syntax_equal(&known->iface, &c->abstract)) {
				r->result = MP_CTX_ACCEPT;
				r->reason = 0;
				r->ts = mp_syntax_ndr20;
			} else {
				r->reason = MP_REASON_NOT_SPECIFIED;
			}
			continue;
		}
		const struct mp_conf_iface *ci = conf_iface(px, &c->abstract);
		if (ci && ci->server) {
			/* Answered by a server module: never reaches an upstream. */
			*r = local_result(c);
			if (r->result == MP_CTX_ACCEPT)
				s->pend.kind[i] = MP_CTX_LOCAL;
		} else if (ci) {
			struct mp_pdu_ctx f = {.id = c->id, .abstract = c->abstract};
			for (unsigned t = 0; t < c->n_ts; t++)
				if (mp_syntax_equal(&c->ts[t], &mp_syntax_ndr20) ||
				    mp_syntax_is_btfn(&c->ts[t], NULL))
					f.ts[f.n_ts++] = c->ts[t];
			if (f.n_ts == 0) {
				r->reason = MP_REASON_TRANSFER_SYNTAXES_NOT_SUPPORTED;
				continue;
			}
			s->pend.kind[i] = MP_CTX_RELAY;
			s->pend.fwd_index[i] = fwd->n_ctx;
			fwd->ctx[fwd->n_ctx++] = f;
			if (s->up_state == MP_UP_NONE && mp_uuid_is_nil(&s->up_iface.uuid))
				s->up_iface = c->abstract;
		} else if (mp_syntax_equal(&c->abstract, &mp_syntax_epmapper) && px->conf.epm_port) {
			*r = local_result(c);
			if (r->result == MP_CTX_ACCEPT)
				s->pend.kind[i] = MP_CTX_LOCAL_EPM;
		}
	}

	if (fwd->n_ctx == 0) {
		/* Nothing to relay: answer ourselves. */
		if (ptype == MP_PDU_BIND)
			s->assoc_group = b->assoc_group ? b->assoc_group : ++px->next_assoc;
		answer_client(s, s->cli_flags);
		return;
	}
	s->state = MP_SS_BINDING;
	if (s->up_state == MP_UP_CONNECTED)
		mp_upstream_send_bind(s);
	else if (s->up_state == MP_UP_NONE)
		mp_upstream_start(s);
	/* else: connecting; the bind goes out once connected. */
}

void mp_bind_from_upstream(struct mp_session *s, const struct mp_pdu *pdu)
{
	if (pdu->hdr.ptype == MP_PDU_BIND_NAK) {
		mp_warn("session %llu: upstream refused the bind (bind_nak reason %u)",
			(unsigned long long)s->id, pdu->u.bind_nak.reason);
		send_nak(s, s->pend.call_id, pdu->u.bind_nak.reason, "upstream bind_nak");
		return;
	}
	const struct mp_pdu_bind_ack *a = &pdu->u.bind_ack;
	if (!s->up_bound && s->passthrough && mp_auth_passthrough_ack(s, pdu) != MP_OK) {
		mp_session_upstream_failed(s, "upstream bind_ack without the authentication token");
		return;
	}
	if (!s->up_bound && s->up_ntlm && mp_auth_up_challenge(s, pdu) != MP_OK) {
		mp_session_upstream_failed(s, "upstream NTLMSSP challenge unusable");
		return;
	}
	if (a->n_results != s->pend.fwd.n_ctx) {
		mp_session_upstream_failed(s, "bind_ack result count differs from the bind");
		return;
	}
	for (unsigned i = 0; i < s->pend.req.n_ctx; i++)
		if (s->pend.kind[i] == MP_CTX_RELAY) {
			s->pend.res[i] = a->res[s->pend.fwd_index[i]];
			if (s->pend.res[i].result != MP_CTX_ACCEPT)
				s->pend.kind[i] = 0;
		}
	if (!s->up_bound) {
		/* Never send the upstream more than it accepts, nor more than we asked. */
		s->up_max_xmit = min16(a->max_recv, s->pend.fwd.max_xmit);
		s->up_max_recv = s->pend.fwd.max_recv;
		s->up_bound = true;
		if (s->pend.ptype == MP_PDU_BIND)
			s->assoc_group = a->assoc_group;
	}
	/* Client fragments larger than the upstream takes are reassembled and cut
	 * again (see on_request); everything else passes untouched. */
	answer_client(s, s->cli_flags);
}

void mp_bind_upstream_unreachable(struct mp_session *s, const char *why)
{
	mp_warn("session %llu: cannot bind upstream: %s", (unsigned long long)s->id, why);
	send_nak(s, s->pend.call_id, MP_NAK_TEMPORARY_CONGESTION, "upstream unreachable");
}
