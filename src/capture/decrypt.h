/*
 * NTLMSSP decryption of captured DCE/RPC traffic, for mapidump.
 *
 * An observer of one auth context (one auth_context_id of one TCP
 * connection) sees the NEGOTIATE, CHALLENGE and AUTHENTICATE go by (auth
 * type 10, or inside SPNEGO, auth type 9) and, given the NT hash of the
 * user, derives the session keys exactly as the server does ([MS-NLMP]
 * 3.2.5.1.2 / 3.3.2): NTOWFv2(NT hash, user, domain as sent) ->
 * NTProofStr over the server challenge and the client's blob (which must
 * equal the one in the AUTHENTICATE: that is how a wrong password is told)
 * -> SessionBaseKey -> KeyExchangeKey -> ExportedSessionKey (RC4 of the
 * EncryptedRandomSessionKey under key exchange) -> per-direction signing
 * and sealing keys. NTLMv1 with extended session security works the same
 * way with its own response check. The MIC of the AUTHENTICATE and the
 * SPNEGO mechListMIC are verified when present.
 *
 * Unlike an endpoint (auth/ntlmssp.h), an observer needs both directions'
 * receive side, so it holds two struct mp_ntlm_dir of auth/ntlm_crypto.h
 * and applies the same primitives (mp_ntlm_mac, RC4) to each.
 *
 * Every request/response fragment protected at PKT / PKT_INTEGRITY /
 * PKT_PRIVACY is then verified (and unsealed) in order per direction: the
 * sequence numbers and the RC4 key streams advance per fragment, so a
 * fragment lost from the capture breaks the rest of that direction (at
 * PKT_INTEGRITY it resynchronises on the next fragment's sequence number;
 * sealed traffic cannot).
 *
 * Kerberos (auth type 16 or inside SPNEGO) and Netlogon are not decrypted.
 */
#ifndef MP_CAPTURE_DECRYPT_H
#define MP_CAPTURE_DECRYPT_H

#include "dcerpc/pdu.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Candidate credentials: NT hashes (the password itself is never kept). */
struct mp_cap_creds;

#define MP_CAP_MAX_CREDS 64

/* talloc'd under mem; its secrets are wiped when it is freed. NULL on ENOMEM. */
struct mp_cap_creds *mp_cap_creds_new(void *mem);
/* Add the NT hash of a UTF-8 password. MP_OK, MP_ERR_PARSE (not UTF-8),
 * MP_ERR_LIMIT (more than MP_CAP_MAX_CREDS), MP_ERR_NOMEM. */
int mp_cap_creds_add_password(struct mp_cap_creds *c, const char *password);
int mp_cap_creds_add_nt_hash(struct mp_cap_creds *c, const uint8_t nt_hash[16]);
size_t mp_cap_creds_count(const struct mp_cap_creds *c);
/* 32 hex digits -> 16 bytes. MP_OK or MP_ERR_PARSE. */
int mp_cap_nt_hash_parse(const char *hex, uint8_t out[16]);

enum mp_cap_auth_state {
	MP_CAP_AUTH_PENDING,     /* handshake not complete yet */
	MP_CAP_AUTH_READY,       /* keys derived: fragments can be checked */
	MP_CAP_AUTH_NO_CREDS,    /* no password / hash was given */
	MP_CAP_AUTH_NO_MATCH,    /* none of the credentials is this user's */
	MP_CAP_AUTH_ANONYMOUS,   /* anonymous NTLM: no keys exist */
	MP_CAP_AUTH_UNSUPPORTED, /* Kerberos, NTLMv1 without ESS, a missing message */
};

const char *mp_cap_auth_state_name(enum mp_cap_auth_state s);

/* One observed auth context. */
struct mp_cap_auth;

/* talloc'd under mem; creds is borrowed (may be NULL) and must outlive it. */
struct mp_cap_auth *mp_cap_auth_new(void *mem, uint8_t auth_type, uint32_t auth_ctx_id,
                                    const struct mp_cap_creds *creds);

/*
 * Feed the auth_value of a bind / alter_context / auth3 (dir 0, client to
 * server) or bind_ack / alter_context_resp (dir 1). Returns true when the
 * state or the detail text changed (worth reporting).
 */
bool mp_cap_auth_token(struct mp_cap_auth *a, unsigned dir, const uint8_t *tok, size_t len);

enum mp_cap_auth_state mp_cap_auth_get_state(const struct mp_cap_auth *a);
/* One line on what is known: "NTLMv2 MAPI\Administrator, keys derived
 * (credential 1)", "none of 2 credentials matches ...". Never a secret. */
const char *mp_cap_auth_detail(const struct mp_cap_auth *a);
uint8_t mp_cap_auth_type(const struct mp_cap_auth *a);
uint32_t mp_cap_auth_ctx_id(const struct mp_cap_auth *a);
/* User / domain from the AUTHENTICATE (UTF-8), or NULL before it. */
const char *mp_cap_auth_user(const struct mp_cap_auth *a);
const char *mp_cap_auth_domain(const struct mp_cap_auth *a);

/* What became of one fragment's protection. */
enum mp_cap_prot {
	MP_CAP_PROT_NONE,       /* no signature to check (no trailer, level NONE/CONNECT) */
	MP_CAP_PROT_VERIFIED,   /* signature checked, stub was clear */
	MP_CAP_PROT_DECRYPTED,  /* unsealed and signature checked */
	MP_CAP_PROT_UNVERIFIED, /* signed, stub clear, no key to check it */
	MP_CAP_PROT_SEALED,     /* sealed and no key: the stub is not available */
	MP_CAP_PROT_BAD,        /* signature mismatch: the stub is not trustworthy */
	MP_CAP_PROT_MALFORMED,  /* the trailer is not one NTLMSSP makes */
};

const char *mp_cap_prot_name(enum mp_cap_prot p);

/*
 * Check (and unseal, in place) one request or response fragment
 * frag[0..len) that mp_pdu_parse() parsed into *pdu (pdu->stub points into
 * frag). `a` may be NULL (no auth context known). On return *why (if not
 * NULL) is a static or a-owned sentence for anything but NONE / VERIFIED /
 * DECRYPTED. Fragments of one direction must come in wire order.
 */
enum mp_cap_prot mp_cap_auth_unprotect(struct mp_cap_auth *a, unsigned dir, uint8_t *frag,
                                       size_t len, const struct mp_pdu *pdu, const char **why);

/* Bytes of direction dir were lost from the capture: the key stream's
 * position is unknown from now on (see the top of this file). */
void mp_cap_auth_lost(struct mp_cap_auth *a, unsigned dir);

#endif
