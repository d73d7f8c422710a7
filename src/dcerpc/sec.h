/*
 * Connection-oriented DCE/RPC security layer ([MS-RPCE] 2.2.2.11 sec_trailer,
 * 3.3.1.5.2 signing and sealing) over an NTLMSSP context (auth/ntlmssp.h).
 *
 * A fragment with an auth trailer looks like this:
 *
 *   header (16) | request/response header (8, +16 object uuid) | stub |
 *   auth pad (0..15) | sec_trailer (8) | auth_value (auth_length)
 *
 * What is protected, at PKT / PKT_INTEGRITY / PKT_PRIVACY with NTLMSSP:
 *   - the signature (MAC) covers the PDU from its first byte up to and
 *     including the sec_trailer, with frag_length and auth_length already
 *     holding their final values; the MAC is taken over the plaintext;
 *   - sealing (PKT_PRIVACY) encrypts stub + auth pad only.
 * This is the same whether or not PFC_SUPPORT_HEADER_SIGN was negotiated:
 * NTLMSSP always signs the header (Samba: gensec_ntlmssp_have_feature()
 * answers true for GENSEC_FEATURE_SIGN_PKT_HEADER and the NTLM2 MAC is over
 * `whole_pdu`; impacket's rpcrt.py signs get_packet()[:-16] without ever
 * negotiating header signing, and Windows accepts it). Only mechanisms that
 * this layer does not implement (Kerberos via GSS) sign just stub + pad when
 * header signing is off. `hdr_sign` is kept for the bind negotiation.
 *
 * Faults a server answers when mp_sec_unprotect() fails (from Samba's
 * dcerpc_ncacn_pull_pkt_auth / dcesrv_auth_pkt_pull / dcesrv_core.c); in each
 * case Samba sends the fault without PFC_DID_NOT_EXECUTE and then closes the
 * connection (dcesrv_fault_disconnect0), and so should the caller:
 *   - malformed trailer, trailer not 4-aligned, missing trailer at level
 *     CALL or higher               -> nca_s_proto_error   (0x1c01000b)
 *   - auth type / level / context id not those of the context, or a trailer
 *     at level NONE                -> access denied        (0x00000005)
 *   - wrong signature size, MAC mismatch, unseal failure (also replays,
 *     since the sequence number is part of the MAC)
 *                                  -> nca_s_fault_sec_pkg_error (0x00000721)
 */
#ifndef MP_DCERPC_SEC_H
#define MP_DCERPC_SEC_H

#include "auth/ntlmssp.h" /* struct mp_ntlm, MP_ERR_AUTH */
#include "dcerpc/pdu.h"
#include "util/cursor.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* auth_type ([MS-RPCE] 2.2.1.1.7). */
enum mp_auth_type {
	MP_AUTH_TYPE_NONE = 0,
	MP_AUTH_TYPE_SPNEGO = 9,   /* RPC_C_AUTHN_GSS_NEGOTIATE */
	MP_AUTH_TYPE_NTLMSSP = 10, /* RPC_C_AUTHN_WINNT */
	MP_AUTH_TYPE_WINNT = 10,
	MP_AUTH_TYPE_KRB5 = 16,     /* RPC_C_AUTHN_GSS_KERBEROS */
	MP_AUTH_TYPE_NETLOGON = 68, /* RPC_C_AUTHN_NETLOGON (schannel) */
};

/* auth_level ([MS-RPCE] 2.2.1.1.8). */
enum mp_auth_level {
	MP_AUTH_LEVEL_NONE = 1,
	MP_AUTH_LEVEL_CONNECT = 2,
	MP_AUTH_LEVEL_CALL = 3, /* processed as PKT on connection-oriented transports */
	MP_AUTH_LEVEL_PKT = 4,
	MP_AUTH_LEVEL_PKT_INTEGRITY = 5,
	MP_AUTH_LEVEL_PKT_PRIVACY = 6,
};

#define MP_SEC_TRAILER_LEN MP_PDU_SEC_TRAILER_LEN /* 8 */
#define MP_SEC_NTLM_SIG_LEN 16                    /* NTLMSSP_MESSAGE_SIGNATURE */
/* Stub + auth pad is a multiple of this (Samba DCERPC_AUTH_PAD_ALIGNMENT, as w2k3/w2k8). */
#define MP_SEC_PAD_ALIGN 16
/* The sec_trailer starts at a multiple of this from the PDU start. */
#define MP_SEC_TRAILER_ALIGN 4

/* Names for logs ("ntlmssp", "pkt_privacy"); "unknown" otherwise. */
const char *mp_auth_type_name(unsigned type);
const char *mp_auth_level_name(unsigned level);

/*
 * The security context of one association's auth context (one
 * auth_context_id). Plain data: fill it with mp_sec_init(). The NTLM context
 * is borrowed, not owned; it must be established before the first
 * protect/unprotect at level CALL or higher.
 */
struct mp_sec {
	uint8_t auth_type;    /* enum mp_auth_type */
	uint8_t auth_level;   /* enum mp_auth_level */
	uint32_t auth_ctx_id; /* auth_context_id of the sec_trailer */
	bool hdr_sign;        /* PFC_SUPPORT_HEADER_SIGN negotiated at bind */
	struct mp_ntlm *ntlm; /* NTLMSSP (also under SPNEGO); NULL below level CALL */
};

/*
 * Fill *s. Returns MP_OK, or MP_ERR_UNSUPPORTED for a level outside
 * NONE..PKT_PRIVACY, or a level of CALL or higher without an NTLM context or
 * with an auth type other than NTLMSSP / SPNEGO (nothing else can sign here).
 */
int mp_sec_init(struct mp_sec *s, uint8_t auth_type, uint8_t auth_level, uint32_t auth_ctx_id,
		bool hdr_sign, struct mp_ntlm *ntlm);

/* True if request/response fragments carry a signature (s non-NULL, level >= CALL). */
bool mp_sec_signs(const struct mp_sec *s);

/*
 * Check and strip the protection of one whole request or response fragment
 * frag[0..len) (len == frag_length), in place. On MP_OK, *pdu is the parsed
 * fragment and pdu->stub / stub_len are the clear stub (auth pad excluded);
 * for PKT_PRIVACY the stub was decrypted in frag.
 *
 * s NULL or level NONE: no trailer allowed. CONNECT: no trailer needed; one
 * that is present is checked for type / level / context id and its
 * signature ignored (as Samba). CALL and higher: the trailer is required and
 * the signature verified (NTLM sequence numbers advance, so fragments must
 * be unprotected in the order they were protected).
 *
 * The trailer's type / level / context id are checked on responses and on
 * the first fragment of a request; on later request fragments they are
 * ignored, as Samba and Windows servers do ("use the setting of the first
 * fragment"); they are covered by the signature anyway.
 *
 * Returns MP_OK, or on error (*fault, if fault is non-NULL, is then the
 * fault status a server answers; see the top of this file):
 *   MP_ERR_PARSE        malformed: shorter than frag_length, auth_length
 *                       that does not fit, pad longer than the stub,
 *                       sec_trailer not 4-aligned            (proto_error)
 *   MP_ERR_UNSUPPORTED  rpc_vers / drep that mp_pdu_check_hdr refuses
 *                                                            (proto_error)
 *   MP_ERR_PROTO        not a request/response, or a trailer missing at
 *                       CALL+ (proto_error); a trailer at NONE, or type /
 *                       level / context id not the context's (access denied)
 *   MP_ERR_AUTH         signature not 16 bytes, MAC mismatch, unseal
 *                       failure, replay               (sec_pkg_error)
 * After MP_ERR_AUTH from the NTLM check the NTLM context is poisoned and a
 * sealed stub has been wiped; the connection cannot go on (Samba sends the
 * fault and disconnects). Nothing else consumes a sequence number.
 */
int mp_sec_unprotect(struct mp_sec *s, uint8_t *frag, size_t len, struct mp_pdu *pdu,
		     uint32_t *fault);

/*
 * Protect one request or response fragment already encoded without auth at
 * wb->data[frag_start..wb->len): append zero auth pad (stub + pad a multiple
 * of 16), the sec_trailer, a 16-byte signature; patch frag_length and
 * auth_length; then sign, or seal stub + pad in place (PKT_PRIVACY).
 * s NULL or level below CALL: nothing is added (Samba and impacket send no
 * trailer on requests/responses at CONNECT). Returns MP_OK, MP_ERR_PROTO
 * (not a request/response, already has auth, or the NTLM context cannot
 * sign/seal), MP_ERR_LIMIT (fragment over 65535 bytes), MP_ERR_NOMEM.
 */
int mp_sec_protect(struct mp_sec *s, struct mp_wbuf *wb, size_t frag_start);

/*
 * Largest stub bytes per fragment so that header + stub + pad + trailer +
 * signature <= max_frag (Samba's dcerpc_guess_sizes: a multiple of 16 when
 * signing, of 8 otherwise as pdu.c). hdr_len is 24, or 40 with an object
 * uuid. 0 if max_frag is too small for any stub.
 */
size_t mp_sec_frag_room(const struct mp_sec *s, size_t hdr_len, size_t max_frag);

/*
 * Encode a whole call's stub as request (response) fragments, each at most
 * max_frag bytes including auth pad, trailer and signature, FIRST/LAST set,
 * alloc_hint the bytes remaining, and protect each (in order: sequence
 * numbers follow the fragments). With s NULL or level below CALL this is
 * mp_pdu_encode_request_frags / _response_frags. Returns MP_OK,
 * MP_ERR_LIMIT (max_frag too small), or an mp_sec_protect() error (the
 * fragments written so far stay in wb).
 */
int mp_sec_encode_request_frags(struct mp_sec *s, struct mp_wbuf *wb, uint32_t call_id,
				const struct mp_pdu_request *r, const uint8_t *stub, size_t len,
				size_t max_frag);
int mp_sec_encode_response_frags(struct mp_sec *s, struct mp_wbuf *wb, uint32_t call_id,
				 uint16_t ctx_id, const uint8_t *stub, size_t len, size_t max_frag);

/*
 * Append an auth trailer carrying `token` (NTLMSSP / SPNEGO message) to the
 * bind, alter_context, bind_ack, alter_context_resp or auth3 fragment at
 * wb->data[frag_start..wb->len), and patch frag_length and auth_length.
 * auth3: the 4-byte pad after the header is added if the fragment is only
 * the header. The trailer is aligned to 4 bytes from the PDU start with zero
 * bytes counted in auth_pad_length (Samba writes auth_pad_length 0 and
 * receivers ignore it on these PDUs; the bodies are naturally 4-aligned).
 * Returns MP_OK, MP_ERR_PROTO (another PDU type or auth already present),
 * MP_ERR_LIMIT (token or fragment over 65535 bytes), MP_ERR_NOMEM.
 */
int mp_sec_append_auth(struct mp_wbuf *wb, size_t frag_start, uint8_t auth_type,
		       uint8_t auth_level, uint32_t auth_ctx_id, const uint8_t *token,
		       size_t token_len);

#endif
