/*
 * SPNEGO (auth type 9) on the client leg: the client's NTLMSSP exchange
 * wrapped in NegTokenInit / NegTokenResp ([RFC4178], [MS-SPNG]).
 *
 *   bind            NegTokenInit (mechTypes, NEGOTIATE)  ->  bind_ack with
 *                   NegTokenResp accept-incomplete + NTLMSSP + CHALLENGE
 *   alter_context   NegTokenResp (AUTHENTICATE [+ mechListMIC])  ->
 *                   alter_context_resp with accept-completed [+ mechListMIC]
 *
 * When NTLMSSP is not the client's first mechanism, its optimistic token is
 * not ours: we answer request-mic without a token, the NEGOTIATE comes in a
 * first alter_context and the exchange takes one more leg. The last leg
 * cannot be an auth3: the client waits for accept-completed.
 */
#include "auth/spnego.h"
#include "proxy/proxy.h"
#include "util/log.h"
#include "util/status.h"

enum {
	SPNEGO_WANT_NEGOTIATE = 1, /* request-mic sent; NEGOTIATE next */
	SPNEGO_WANT_AUTH,          /* CHALLENGE sent; AUTHENTICATE next */
	SPNEGO_DONE,
};

/* Replace s->cli_token with the encoded NegTokenResp r. */
static int answer(struct mp_session *s, const struct mp_spnego_resp *r)
{
	s->cli_token.len = 0;
	int rc = mp_spnego_encode_resp(&s->cli_token, r);
	return rc == MP_OK && !s->cli_token.bad ? MP_OK : MP_ERR_NOMEM;
}

int mp_auth_spnego_init(struct mp_session *s, const uint8_t *tok, size_t len)
{
	struct mp_spnego_init in;
	struct mp_spnego_choice choice;
	int rc = mp_spnego_parse_init(tok, len, &in);
	if (rc != MP_OK) {
		mp_warn("session %llu: SPNEGO bind without a valid NegTokenInit: %s",
			(unsigned long long)s->id, mp_ntlm_status_name(rc));
		return MP_NAK_NOT_SPECIFIED;
	}
	if (mp_spnego_choose_ntlm(&in, &choice) != MP_OK) {
		mp_warn("session %llu: SPNEGO without NTLMSSP among its %zu mechanism(s) "
			"(first: %s); only NTLMSSP is supported", (unsigned long long)s->id,
			in.n_mechs, mp_spnego_mech_name(in.mechs[0].mech));
		return MP_NAK_AUTH_TYPE_NOT_RECOGNIZED;
	}
	mp_wb_bytes(&s->spnego_mech_types, in.mech_types_der.p, in.mech_types_der.len);
	s->spnego_downgraded = choice.downgraded;

	struct mp_wbuf chal;
	mp_wb_init(&chal);
	struct mp_spnego_resp r = {
		.has_neg_state = true,
		.neg_state = choice.neg_state,
		.has_supported_mech = true,
		.supported_mech = {.mech = MP_SPNEGO_MECH_NTLMSSP},
	};
	if (choice.use_token) {
		rc = mp_ntlm_server_challenge(s->cli_ntlm, in.mech_token.p, in.mech_token.len,
					      &chal);
		if (rc != MP_OK || chal.bad) {
			mp_warn("session %llu: unusable NTLMSSP NEGOTIATE in SPNEGO: %s",
				(unsigned long long)s->id, mp_ntlm_status_name(rc));
			mp_wb_free(&chal);
			return MP_NAK_NOT_SPECIFIED;
		}
		r.has_response_token = true;
		r.response_token = (struct mp_spnego_bytes){chal.data, chal.len};
		s->spnego_state = SPNEGO_WANT_AUTH;
	} else {
		s->spnego_state = SPNEGO_WANT_NEGOTIATE;
	}
	rc = answer(s, &r);
	mp_wb_free(&chal);
	if (rc != MP_OK || s->spnego_mech_types.bad)
		return MP_NAK_LOCAL_LIMIT_EXCEEDED;
	return MP_AUTH_BIND_ACCEPT;
}

/* The AUTHENTICATE leg: verify it, then the mechListMIC when required. */
static int last_leg(struct mp_session *s, const struct mp_spnego_resp *in)
{
	uint8_t mic[MP_SPNEGO_NTLM_MIC_LEN];
	const uint8_t *auth = in->response_token.p;
	size_t auth_len = in->response_token.len;
	int rc = mp_auth_client_verify(s, auth, auth_len);
	if (rc != MP_OK)
		return rc;
	struct mp_spnego_resp r = {
		.has_neg_state = true,
		.neg_state = MP_SPNEGO_ACCEPT_COMPLETED,
	};
	if (mp_spnego_mic_required(s->cli_ntlm, s->spnego_downgraded,
				   mp_spnego_ntlm_auth_has_mic(auth, auth_len),
				   in->has_mech_list_mic)) {
		const struct mp_wbuf *mt = &s->spnego_mech_types;
		if (!in->has_mech_list_mic ||
		    mp_spnego_mic_verify(s->cli_ntlm, mt->data, mt->len, in->mech_list_mic.p,
					 in->mech_list_mic.len) != MP_OK) {
			mp_warn("session %llu: SPNEGO mechListMIC %s", (unsigned long long)s->id,
				in->has_mech_list_mic ? "does not verify" : "missing");
			return MP_ERR_AUTH;
		}
		rc = mp_spnego_mic_sign(s->cli_ntlm, mt->data, mt->len, mic);
		if (rc != MP_OK)
			return rc;
		r.has_mech_list_mic = true;
		r.mech_list_mic = (struct mp_spnego_bytes){mic, sizeof(mic)};
	}
	rc = answer(s, &r);
	if (rc == MP_OK)
		rc = mp_auth_client_established(s);
	s->spnego_state = SPNEGO_DONE;
	return rc;
}

int mp_auth_spnego_step(struct mp_session *s, const struct mp_pdu *pdu)
{
	struct mp_spnego_resp in;
	if (!pdu->has_auth || pdu->auth.type != MP_AUTH_TYPE_SPNEGO ||
	    pdu->auth.ctx_id != s->cli_sec.auth_ctx_id ||
	    mp_spnego_parse_resp(pdu->auth.value, pdu->hdr.auth_len, &in) != MP_OK ||
	    !in.has_response_token) {
		mp_warn("session %llu: SPNEGO leg without a valid NegTokenResp",
			(unsigned long long)s->id);
		return MP_ERR_PROTO;
	}
	int rc;
	if (s->spnego_state == SPNEGO_WANT_NEGOTIATE) {
		struct mp_wbuf chal;
		mp_wb_init(&chal);
		rc = mp_ntlm_server_challenge(s->cli_ntlm, in.response_token.p,
					      in.response_token.len, &chal);
		if (rc == MP_OK && !chal.bad) {
			struct mp_spnego_resp r = {
				.has_neg_state = true,
				.neg_state = MP_SPNEGO_ACCEPT_INCOMPLETE,
				.has_response_token = true,
				.response_token = {chal.data, chal.len},
			};
			rc = answer(s, &r);
			s->spnego_state = SPNEGO_WANT_AUTH;
		} else {
			mp_warn("session %llu: unusable NTLMSSP NEGOTIATE in SPNEGO: %s",
				(unsigned long long)s->id, mp_ntlm_status_name(rc));
			rc = MP_ERR_PROTO;
		}
		mp_wb_free(&chal);
	} else if (s->spnego_state == SPNEGO_WANT_AUTH) {
		rc = last_leg(s, &in);
	} else {
		rc = MP_ERR_PROTO;
	}
	if (rc != MP_OK)
		s->cli_auth_failed = true;
	else
		s->cli_token_in_alter = true;
	return rc;
}
