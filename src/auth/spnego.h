/*
 * SPNEGO ([RFC4178], [MS-SPNG]) as DCE/RPC auth type 9
 * (RPC_C_AUTHN_GSS_NEGOTIATE) carries it around NTLMSSP: a small, strict DER
 * codec for exactly the two tokens, and the few rules of NTLM-in-SPNEGO
 * (choosing NTLM from a client's mech list, the mechListMIC).
 *
 * The tokens:
 *
 *   initial token = [APPLICATION 0] IMPLICIT SEQUENCE {
 *       thisMech OID 1.3.6.1.5.5.2,
 *       [0] NegTokenInit  SEQUENCE {
 *           mechTypes   [0] SEQUENCE OF OID,          -- required here
 *           reqFlags    [1] BIT STRING     OPTIONAL,
 *           mechToken   [2] OCTET STRING   OPTIONAL,
 *           mechListMIC [3] OCTET STRING   OPTIONAL } }
 *     or, as Windows servers send it, NegTokenInit2 in the same place:
 *           ...         [0] [1] [2] as above,
 *           negHints    [3] SEQUENCE { hintName [0] GeneralString OPTIONAL,
 *                                      hintAddress [1] OCTET STRING OPTIONAL }
 *                                                     OPTIONAL,
 *           mechListMIC [4] OCTET STRING   OPTIONAL
 *     ([3] is told apart by its content: SEQUENCE = negHints, OCTET STRING =
 *     the RFC's mechListMIC);
 *
 *   later tokens (not wrapped) = [1] NegTokenResp SEQUENCE {
 *           negState      [0] ENUMERATED OPTIONAL,
 *           supportedMech [1] OID          OPTIONAL,
 *           responseToken [2] OCTET STRING OPTIONAL,
 *           mechListMIC   [3] OCTET STRING OPTIONAL }.
 *
 * Strict DER: single-byte tags; definite, minimal lengths of at most four
 * length octets (no indefinite form); fields in tag order, each at most
 * once, nothing unknown, nothing after the token; OIDs with minimal
 * sub-identifiers; negState one content byte 0..3; BIT STRING with a valid
 * unused-bits count. Anything else is MP_ERR_PARSE. The grammar is fixed,
 * so parsing never recurses. A parsed token re-encodes to the same bytes.
 *
 * Parsed tokens are views: their byte fields point into the caller's buffer,
 * which must outlive them.
 */
#ifndef MP_AUTH_SPNEGO_H
#define MP_AUTH_SPNEGO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/ntlmssp.h"
#include "util/cursor.h"

/* Most OIDs accepted in mechTypes (Windows offers 4); more is MP_ERR_LIMIT. */
#define MP_SPNEGO_MAX_MECHS 32
/* Largest byte field the encoders take (16 MiB); larger is MP_ERR_LIMIT. */
#define MP_SPNEGO_MAX_FIELD (1u << 24)
/* An NTLMSSP signature, the only mechListMIC NTLM makes. */
#define MP_SPNEGO_NTLM_MIC_LEN 16

/* Mechanisms told apart in mech lists. */
enum mp_spnego_mech {
	MP_SPNEGO_MECH_OTHER = 0,
	MP_SPNEGO_MECH_NTLMSSP,  /* 1.3.6.1.4.1.311.2.2.10 */
	MP_SPNEGO_MECH_KRB5,     /* 1.2.840.113554.1.2.2 */
	MP_SPNEGO_MECH_MS_KRB5,  /* 1.2.840.48018.1.2.2 (Windows' "MS KRB5") */
	MP_SPNEGO_MECH_KRB5_U2U, /* 1.2.840.113554.1.2.2.3 */
	MP_SPNEGO_MECH_NEGOEX,   /* 1.3.6.1.4.1.311.2.2.30 */
};

/* negState ([RFC4178] 4.2.2). */
enum mp_spnego_neg_state {
	MP_SPNEGO_ACCEPT_COMPLETED = 0,
	MP_SPNEGO_ACCEPT_INCOMPLETE = 1,
	MP_SPNEGO_REJECT = 2,
	MP_SPNEGO_REQUEST_MIC = 3,
};

/* A byte range (a view; p may be NULL when len is 0). */
struct mp_spnego_bytes {
	const uint8_t *p;
	size_t len;
};

/*
 * One OID. `der` is its content octets (no tag, no length), e.g.
 * 2b 06 01 04 01 82 37 02 02 0a for NTLMSSP. For the encoders, an empty
 * `der` with a known `mech` stands for that mechanism's OID.
 */
struct mp_spnego_oid {
	enum mp_spnego_mech mech;
	struct mp_spnego_bytes der;
};

/* The initial token: NegTokenInit or NegTokenInit2. */
struct mp_spnego_init {
	size_t n_mechs; /* >= 1 */
	struct mp_spnego_oid mechs[MP_SPNEGO_MAX_MECHS];
	/*
	 * Parser output: the whole DER encoding (tag, length, content) of the
	 * mechTypes SEQUENCE OF, as received: the input of the mechListMIC
	 * ([RFC4178] 5 a). The encoders ignore it.
	 */
	struct mp_spnego_bytes mech_types_der;
	bool has_req_flags;
	struct mp_spnego_bytes req_flags; /* BIT STRING content (unused-bits octet first) */
	bool has_mech_token;
	struct mp_spnego_bytes mech_token; /* the optimistic token of mechs[0] */
	/* NegTokenInit2: mechListMIC is [4], negHints [3] may be present. */
	bool is_init2;
	bool has_neg_hints; /* implies is_init2 */
	bool has_hint_name;
	struct mp_spnego_bytes hint_name; /* GeneralString content */
	bool has_hint_address;
	struct mp_spnego_bytes hint_address;
	bool has_mech_list_mic;
	struct mp_spnego_bytes mech_list_mic;
};

/* NegTokenResp. */
struct mp_spnego_resp {
	bool has_neg_state;
	uint8_t neg_state; /* enum mp_spnego_neg_state */
	bool has_supported_mech;
	struct mp_spnego_oid supported_mech;
	bool has_response_token;
	struct mp_spnego_bytes response_token;
	bool has_mech_list_mic;
	struct mp_spnego_bytes mech_list_mic;
};

enum mp_spnego_token_type {
	MP_SPNEGO_TOKEN_INIT = 1, /* starts with [APPLICATION 0] (0x60) */
	MP_SPNEGO_TOKEN_RESP = 2, /* starts with [1] (0xa1) */
};

/* The type of a token by its first byte, or MP_ERR_PARSE. */
int mp_spnego_token_type(const uint8_t *tok, size_t len);

/*
 * Parse a whole token tok[0..len) into *out (cleared first). Byte fields
 * point into tok. Returns MP_OK, MP_ERR_PARSE (malformed, not SPNEGO, not
 * this token type, trailing bytes), MP_ERR_LIMIT (more than
 * MP_SPNEGO_MAX_MECHS mechanisms).
 */
int mp_spnego_parse_init(const uint8_t *tok, size_t len, struct mp_spnego_init *out);
int mp_spnego_parse_resp(const uint8_t *tok, size_t len, struct mp_spnego_resp *out);

/*
 * Append the encoded token to wb. The fields present are those whose has_
 * flag is set (mechTypes always); for the initial token, is_init2 or
 * has_neg_hints selects the NegTokenInit2 layout (mechListMIC as [4]).
 * Returns MP_OK, MP_ERR_PARSE (no mechanism, an OID that is not valid DER,
 * an unknown mech with an empty der, negState above 3, a BIT STRING without
 * its unused-bits octet), MP_ERR_LIMIT (more than MP_SPNEGO_MAX_MECHS, a
 * field over MP_SPNEGO_MAX_FIELD), MP_ERR_NOMEM. On error wb keeps its
 * length.
 */
int mp_spnego_encode_init(struct mp_wbuf *wb, const struct mp_spnego_init *t);
int mp_spnego_encode_resp(struct mp_wbuf *wb, const struct mp_spnego_resp *t);

/*
 * Append the DER SEQUENCE OF OID of mechs[0..n): what a client signs for its
 * mechListMIC (the same bytes mp_spnego_encode_init writes inside [0]).
 * Returns as mp_spnego_encode_init.
 */
int mp_spnego_encode_mech_types(struct mp_wbuf *wb, const struct mp_spnego_oid *mechs, size_t n);

/* The mechanism of OID content octets (MP_SPNEGO_MECH_OTHER if unknown). */
enum mp_spnego_mech mp_spnego_mech_of(const uint8_t *der, size_t len);

/* The OID content octets of a known mechanism (NULL, 0 for OTHER). */
struct mp_spnego_bytes mp_spnego_mech_oid(enum mp_spnego_mech mech);

/* Short name for logs: "ntlmssp", "krb5", "ms-krb5", "krb5-u2u", "negoex", "other". */
const char *mp_spnego_mech_name(enum mp_spnego_mech mech);

/* Name of a negState for logs ("accept-incomplete"), "unknown" otherwise. */
const char *mp_spnego_neg_state_name(unsigned state);

/*
 * Write OID content octets in dotted form ("1.3.6.1.4.1.311.2.2.10") into
 * buf (always NUL-terminated, truncated to len; "?" for invalid DER or
 * arcs above 2^64-1). Returns buf.
 */
char *mp_spnego_oid_str(const uint8_t *der, size_t len, char *buf, size_t buflen);

/* ---- NTLMSSP in SPNEGO --------------------------------------------------- */

/*
 * Server: how to answer a client's NegTokenInit when we only do NTLMSSP.
 *
 * [RFC4178] 3.2 c): the optimistic mechToken is for mechs[0] only. If
 * NTLMSSP is mechs[0], a mechToken present is the NTLM NEGOTIATE; answer
 * accept-incomplete, supportedMech NTLMSSP and the CHALLENGE. If NTLMSSP
 * comes later, the token (Kerberos, NegoEx) is ignored and the first reply
 * is negState request-mic ([RFC4178] 3.2 c) II: the initiator's preferred
 * mechanism was not accepted), supportedMech NTLMSSP, no responseToken; the
 * client then sends the NEGOTIATE as a NegTokenResp responseToken, and the
 * mechListMIC exchange is required (downgraded). Samba's
 * gensec_spnego_server_negTokenInit_step() answers exactly so (it sets
 * downgraded and mic_requested when mech_idx > 0). If NTLMSSP is first but
 * no token came, the first reply is accept-incomplete without a token.
 */
struct mp_spnego_choice {
	size_t index;      /* position of NTLMSSP in mechTypes */
	bool use_token;    /* mechToken is the NTLM NEGOTIATE */
	bool downgraded;   /* NTLMSSP was not the client's first choice */
	uint8_t neg_state; /* negState of the first reply (while incomplete) */
};

/* Fill *out. MP_OK, or MP_ERR_UNSUPPORTED when NTLMSSP is not offered (answer negState reject). */
int mp_spnego_choose_ntlm(const struct mp_spnego_init *init, struct mp_spnego_choice *out);

/*
 * True if the NTLM AUTHENTICATE message auth[0..len) carries a MIC: an
 * NTLMv2 response whose MsvAvFlags has MIC-present (0x2), and the MIC field.
 * That is what makes Samba require the mechListMIC exchange: its NTLMSSP
 * server sets new_spnego on that flag (auth/ntlmssp/ntlmssp_server.c) and
 * gensec_spnego then signs and checks the mechListMIC
 * (GENSEC_FEATURE_NEW_SPNEGO, auth/gensec/spnego.c); Samba's client sets
 * the flag when it wants signing, sealing or a session key and the
 * CHALLENGE has a timestamp (ntlmssp_client.c), as ours always does.
 */
bool mp_spnego_ntlm_auth_has_mic(const uint8_t *auth, size_t len);

/*
 * Whether the mechListMIC exchange is required once the NTLM context `n` is
 * established: NTLM must be able to sign (NEGOTIATE_SIGN negotiated;
 * [RFC4178] 5: no integrity, no MIC) and one of: NTLM was not the client's
 * first choice ([RFC4178] 5, downgraded; or the server answered
 * request-mic, for a client), the AUTHENTICATE has a MIC, the peer sent a
 * mechListMIC. When it is required, a missing mechListMIC from the peer is
 * an authentication failure ([RFC4178] 5 c) V). (Samba's server is laxer
 * after a downgrade: it answers request-mic but then requires the
 * mechListMIC only for an NTLM MIC or a client mechListMIC.)
 *
 * A server, on the last NegTokenResp (AUTHENTICATE + maybe mechListMIC),
 * after mp_ntlm_server_authenticate() succeeded:
 *   if (mp_spnego_mic_required(n, choice.downgraded,
 *                              mp_spnego_ntlm_auth_has_mic(auth), has_mic)):
 *       no mechListMIC -> fail; else mp_spnego_mic_verify() then
 *       mp_spnego_mic_sign(), answer accept-completed + our mechListMIC;
 *   else answer accept-completed alone.
 * A client, after mp_ntlm_client_authenticate() made the AUTHENTICATE:
 *   if required (request-mic seen, or our AUTHENTICATE has a MIC): sign and
 *   send the mechListMIC with it, then the server's accept-completed must
 *   carry its mechListMIC: mp_spnego_mic_verify().
 */
bool mp_spnego_mic_required(const struct mp_ntlm *n, bool downgraded, bool auth_has_mic,
                            bool peer_sent_mic);

/*
 * The mechListMIC with NTLMSSP: the NTLM signature ([MS-NLMP] 3.4.4.2) of
 * the DER mechTypes SEQUENCE OF as the client sent it
 * (mp_spnego_init.mech_types_der, or mp_spnego_encode_mech_types() output),
 * with the context's own sequence numbers: sign consumes the send sequence
 * number, verify the receive one (Samba: gensec_sign_packet /
 * gensec_check_packet on the inner NTLMSSP, so the first DCE/RPC PDU after
 * a mechListMIC exchange is signed with sequence number 1). Then the RC4
 * state is rewound with mp_ntlm_reset_crypto(n, false) ([MS-SPNG] 3.3.5.1:
 * the first signed message uses the same RC4 state as the mechListMIC).
 * Call these with nothing else signed on `n` since it was established.
 *
 * sign: MP_OK, MP_ERR_PROTO (not established or no NEGOTIATE_SIGN),
 * MP_ERR_AUTH (context failed). verify: MP_OK, MP_ERR_PROTO (as sign),
 * MP_ERR_AUTH (mic not 16 bytes; or a mismatch, and the context is then
 * poisoned as by mp_ntlm_verify).
 */
int mp_spnego_mic_sign(struct mp_ntlm *n, const uint8_t *mech_types, size_t len,
                       uint8_t mic[MP_SPNEGO_NTLM_MIC_LEN]);
int mp_spnego_mic_verify(struct mp_ntlm *n, const uint8_t *mech_types, size_t len,
                         const uint8_t *mic, size_t mic_len);

#endif
