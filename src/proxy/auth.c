/*
 * Authentication on both legs of a session.
 *
 * Client leg: the proxy is the NTLMSSP server. The client's NEGOTIATE comes
 * in its bind, our CHALLENGE goes back in the bind_ack, its AUTHENTICATE
 * arrives in auth3 and is checked against the user database (NT hashes).
 * SPNEGO (auth type 9) wraps the same exchange: see auth_spnego.c.
 * Upstream leg: the proxy is an NTLMSSP client with the identity of
 * dcerpc_mapiproxy:username/domain/password; its auth3 is sent as soon as
 * the upstream's bind_ack brings the CHALLENGE. Calls are then unsealed
 * from one leg and sealed again for the other (see session.c, upstream.c).
 */
#include "auth/ntlm_crypto.h"
#include "proxy/proxy.h"
#include "proxy/server.h"
#include "util/log.h"
#include "util/status.h"

#include <event2/bufferevent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UP_AUTH_CTX_ID 0x4d50 /* "MP": any value, fixed for the association */

/* The program's own user source (server.h), used without a user db. */
static mp_ntlm_lookup_fn prog_lookup;
static void *prog_lookup_arg;

void mp_proxy_set_user_lookup(mp_ntlm_lookup_fn fn, void *arg)
{
	prog_lookup = fn;
	prog_lookup_arg = arg;
}

bool mp_proxy_has_user_lookup(void)
{
	return prog_lookup != NULL;
}

/* The user a failed AUTHENTICATE claimed, for the log (names, never secrets). */
static const char *claimed_user(const uint8_t *msg, size_t msg_len, char *buf, size_t len)
{
	struct mp_ntlm_authenticate a;
	char *u = NULL, *d = NULL;
	snprintf(buf, len, "?");
	if (mp_ntlm_parse_authenticate(msg, msg_len, &a) != MP_OK ||
	    !(a.flags & MP_NTLMSSP_NEGOTIATE_UNICODE))
		return buf;
	if (mp_ntlm_utf16le_to_utf8(a.user.p, a.user.len, &u) == MP_OK &&
	    mp_ntlm_utf16le_to_utf8(a.domain.p, a.domain.len, &d) == MP_OK)
		snprintf(buf, len, "%s%s%s", *d ? d : "", *d ? "\\" : "", u);
	free(u);
	free(d);
	return buf;
}

static const char *user_of(const struct mp_ntlm *n, char *buf, size_t len)
{
	const char *u = n ? mp_ntlm_user(n) : NULL;
	const char *d = n ? mp_ntlm_domain(n) : NULL;
	snprintf(buf, len, "%s%s%s", d && *d ? d : "", d && *d ? "\\" : "", u ? u : "?");
	return buf;
}

int mp_auth_client_bind(struct mp_session *s, const struct mp_pdu *pdu)
{
	struct mp_proxy *px = s->px;
	const struct mp_pdu_auth *a = &pdu->auth;

	s->cli_sec.auth_type = a->type;
	s->cli_sec.auth_level = a->level;
	s->cli_sec.auth_ctx_id = a->ctx_id;
	s->cli_sec.hdr_sign = (pdu->hdr.pfc_flags & MP_PFC_SUPPORT_HEADER_SIGN) != 0;
	if (px->conf.auth_passthrough) {
		/* Relay the client's own exchange: its token goes upstream as it is. */
		mp_wb_init(&s->cli_token);
		mp_wb_bytes(&s->cli_token, a->value, pdu->hdr.auth_len);
		if (s->cli_token.bad)
			return MP_NAK_LOCAL_LIMIT_EXCEEDED;
		s->cli_auth_on = true;
		s->passthrough = true;
		mp_info("session %llu: pass-through authentication (%s, %s): the upstream "
			"authenticates the user; this session's calls stay opaque to the proxy",
			(unsigned long long)s->id, mp_auth_type_name(a->type),
			mp_auth_level_name(a->level));
		return MP_AUTH_BIND_ACCEPT;
	}
	if (a->type != MP_AUTH_TYPE_NTLMSSP && a->type != MP_AUTH_TYPE_SPNEGO) {
		mp_warn("session %llu: auth type %u (%s) is not supported; only NTLMSSP (10) "
			"and SPNEGO (9) with NTLMSSP",
			(unsigned long long)s->id, a->type, mp_auth_type_name(a->type));
		return MP_NAK_AUTH_TYPE_NOT_RECOGNIZED;
	}
	if (a->level < MP_AUTH_LEVEL_CONNECT || a->level > MP_AUTH_LEVEL_PKT_PRIVACY) {
		mp_warn("session %llu: invalid auth level %u", (unsigned long long)s->id, a->level);
		return MP_NAK_NOT_SPECIFIED;
	}
	if (!px->users && !prog_lookup) {
		mp_warn("session %llu: client authenticates but no mapiproxy:user db is configured",
			(unsigned long long)s->id);
		return MP_NAK_AUTH_TYPE_NOT_RECOGNIZED;
	}
	struct mp_ntlm_server_config cfg = {
		.nb_computer_name = px->conf.netbios_name,
		.nb_domain_name = px->conf.netbios_domain,
		.dns_computer_name = px->conf.netbios_name,
		.dns_domain_name = px->conf.netbios_domain,
		.allow_ntlmv1 = px->conf.allow_ntlmv1,
		.lookup = px->users ? mp_userdb_lookup_cb : prog_lookup,
		.lookup_arg = px->users ? (void *)px->users : prog_lookup_arg,
	};
	if (mp_ntlm_server_new(&cfg, &s->cli_ntlm) != MP_OK)
		return MP_NAK_LOCAL_LIMIT_EXCEEDED;
	mp_wb_init(&s->cli_token);
	s->cli_auth_on = true;
	if (a->type == MP_AUTH_TYPE_SPNEGO)
		return mp_auth_spnego_init(s, a->value, pdu->hdr.auth_len);
	int rc = mp_ntlm_server_challenge(s->cli_ntlm, a->value, pdu->hdr.auth_len, &s->cli_token);
	if (rc != MP_OK || s->cli_token.bad) {
		mp_warn("session %llu: unusable NTLMSSP NEGOTIATE from client: %s",
			(unsigned long long)s->id, mp_ntlm_status_name(rc));
		return MP_NAK_NOT_SPECIFIED;
	}
	return MP_AUTH_BIND_ACCEPT;
}

int mp_auth_passthrough_ack(struct mp_session *s, const struct mp_pdu *ack)
{
	mp_wb_free(&s->cli_token);
	if (!ack->has_auth)
		return MP_ERR_PROTO;
	mp_wb_bytes(&s->cli_token, ack->auth.value, ack->hdr.auth_len);
	/* Header signing is the upstream's answer, not ours to choose. */
	s->cli_sec.hdr_sign = (ack->hdr.pfc_flags & MP_PFC_SUPPORT_HEADER_SIGN) != 0;
	return s->cli_token.bad ? MP_ERR_NOMEM : MP_OK;
}

int mp_auth_client_verify(struct mp_session *s, const uint8_t *msg, size_t len)
{
	char who[300];
	int rc = mp_ntlm_server_authenticate(s->cli_ntlm, msg, len);
	if (rc != MP_OK) {
		s->cli_auth_failed = true;
		mp_warn("session %llu: client authentication failed for %s: %s",
			(unsigned long long)s->id, claimed_user(msg, len, who, sizeof(who)),
			rc == MP_ERR_AUTH ? "unknown user or wrong password"
			: rc == MP_ERR_AUTH_NTLMV1 ? "NTLMv1 refused (mapiproxy:allow ntlmv1 = no)"
						   : mp_ntlm_status_name(rc));
	}
	return rc;
}

int mp_auth_client_established(struct mp_session *s)
{
	char who[300];
	struct mp_sec *cs = &s->cli_sec;
	if (mp_sec_init(cs, cs->auth_type, cs->auth_level, cs->auth_ctx_id, cs->hdr_sign,
			s->cli_ntlm) != MP_OK) {
		s->cli_auth_failed = true;
		return MP_ERR_UNSUPPORTED;
	}
	s->cli_authed = true;
	mp_info("session %llu: client authenticated as %s (%s, %s)", (unsigned long long)s->id,
		user_of(s->cli_ntlm, who, sizeof(who)), mp_auth_type_name(cs->auth_type),
		mp_auth_level_name(cs->auth_level));
	return MP_OK;
}

void mp_auth_client_auth3(struct mp_session *s, const struct mp_pdu *pdu)
{
	if (!s->cli_auth_on || s->cli_authed || s->cli_auth_failed || !pdu->has_auth ||
	    pdu->auth.type != s->cli_sec.auth_type || pdu->auth.ctx_id != s->cli_sec.auth_ctx_id) {
		s->cli_auth_failed = true;
		mp_warn("session %llu: unexpected auth3", (unsigned long long)s->id);
		return;
	}
	if (s->cli_sec.auth_type == MP_AUTH_TYPE_SPNEGO) {
		/* Its last leg needs an answer (accept-completed, mechListMIC),
		 * which auth3 cannot carry: SPNEGO clients use alter_context. */
		s->cli_auth_failed = true;
		mp_warn("session %llu: auth3 in an SPNEGO exchange; expected alter_context",
			(unsigned long long)s->id);
		return;
	}
	if (mp_auth_client_verify(s, pdu->auth.value, pdu->hdr.auth_len) == MP_OK)
		(void)mp_auth_client_established(s);
}

bool mp_auth_client_may_call(struct mp_session *s, uint32_t *fault)
{
	struct mp_proxy *px = s->px;
	if (s->passthrough)
		return true; /* the upstream checks every call itself */
	if (s->cli_auth_on) {
		/* cli_auth_failed also after success: an unexpected second auth3. */
		if (!s->cli_authed || s->cli_auth_failed) {
			*fault = MP_FAULT_ACCESS_DENIED;
			return false;
		}
		if (px->conf.auth_required && s->cli_sec.auth_level < px->conf.min_auth_level) {
			*fault = MP_FAULT_ACCESS_DENIED;
			return false;
		}
		return true;
	}
	if (px->conf.auth_required) {
		*fault = MP_FAULT_ACCESS_DENIED;
		return false;
	}
	return true;
}

struct mp_sec *mp_auth_cli_sec(struct mp_session *s)
{
	return s->cli_authed && mp_sec_signs(&s->cli_sec) ? &s->cli_sec : NULL;
}

struct mp_sec *mp_auth_up_sec(struct mp_session *s)
{
	return s->up_authed && mp_sec_signs(&s->up_sec) ? &s->up_sec : NULL;
}

bool mp_auth_up_wanted(const struct mp_session *s)
{
	return s->px->conf.up_user[0] != '\0';
}

/* Upstream level: the binding's flags, else the client's, else integrity. */
static uint8_t up_level(const struct mp_session *s)
{
	uint32_t f = s->px->conf.upstream.flags;
	if (f & MP_BF_SEAL)
		return MP_AUTH_LEVEL_PKT_PRIVACY;
	if (f & MP_BF_SIGN)
		return MP_AUTH_LEVEL_PKT_INTEGRITY;
	if (f & MP_BF_CONNECT)
		return MP_AUTH_LEVEL_CONNECT;
	if (s->cli_auth_on && s->cli_sec.auth_level >= MP_AUTH_LEVEL_CONNECT)
		return s->cli_sec.auth_level;
	return MP_AUTH_LEVEL_PKT_INTEGRITY;
}

int mp_auth_up_negotiate(struct mp_session *s, struct mp_wbuf *wb, size_t frag_start)
{
	const struct mp_proxy_conf *c = &s->px->conf;
	s->up_level = up_level(s);
	struct mp_ntlm_client_config cfg = {
		.user = c->up_user,
		.domain = c->up_domain,
		.password = c->up_password[0] ? c->up_password : NULL,
		.nt_hash = c->up_has_hash ? c->up_nt_hash : NULL,
		.want = s->up_level == MP_AUTH_LEVEL_PKT_PRIVACY ? MP_NTLM_WANT_SEAL
			: s->up_level >= MP_AUTH_LEVEL_PKT ? MP_NTLM_WANT_SIGN
							    : 0,
	};
	int rc = mp_ntlm_client_new(&cfg, &s->up_ntlm);
	if (rc != MP_OK)
		return rc;
	struct mp_wbuf neg;
	mp_wb_init(&neg);
	rc = mp_ntlm_client_negotiate(s->up_ntlm, &neg);
	if (rc == MP_OK)
		rc = mp_sec_append_auth(wb, frag_start, MP_AUTH_TYPE_NTLMSSP, s->up_level,
					UP_AUTH_CTX_ID, neg.data, neg.len);
	mp_wb_free(&neg);
	return rc;
}

int mp_auth_up_challenge(struct mp_session *s, const struct mp_pdu *ack)
{
	if (!ack->has_auth || ack->auth.type != MP_AUTH_TYPE_NTLMSSP)
		return MP_ERR_PROTO;
	struct mp_wbuf tok, out;
	mp_wb_init(&tok);
	mp_wb_init(&out);
	int rc = mp_ntlm_client_authenticate(s->up_ntlm, ack->auth.value, ack->hdr.auth_len, &tok);
	if (rc == MP_OK) {
		size_t start = mp_pdu_begin(&out, MP_PDU_AUTH3, MP_PFC_FIRST_FRAG | MP_PFC_LAST_FRAG,
					    ack->hdr.call_id);
		mp_pdu_finish(&out, start, 0);
		rc = mp_sec_append_auth(&out, start, MP_AUTH_TYPE_NTLMSSP, s->up_level,
					UP_AUTH_CTX_ID, tok.data, tok.len);
	}
	if (rc == MP_OK)
		rc = mp_sec_init(&s->up_sec, MP_AUTH_TYPE_NTLMSSP, s->up_level, UP_AUTH_CTX_ID,
				 (ack->hdr.pfc_flags & MP_PFC_SUPPORT_HEADER_SIGN) != 0, s->up_ntlm);
	if (rc == MP_OK && !out.bad) {
		bufferevent_write(s->up, out.data, out.len);
		s->up_authed = true;
		mp_info("session %llu: authenticating upstream as %s\\%s (%s)",
			(unsigned long long)s->id, s->px->conf.up_domain, s->px->conf.up_user,
			mp_auth_level_name(s->up_level));
	}
	mp_ntlm_wipe(tok.data, tok.len);
	mp_wb_free(&tok);
	mp_wb_free(&out);
	return rc;
}

void mp_auth_free(struct mp_session *s)
{
	mp_ntlm_free(s->cli_ntlm);
	mp_ntlm_free(s->up_ntlm);
	s->cli_ntlm = s->up_ntlm = NULL;
	mp_wb_free(&s->cli_token);
	mp_wb_free(&s->spnego_mech_types);
	s->up_authed = false;
}
