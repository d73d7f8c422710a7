/*
 * NTLM cryptographic primitives ([MS-NLMP] sections 3.3 and 3.4).
 *
 * Pure functions over byte buffers: no I/O, no state except the RC4 cipher
 * state of one direction (struct mp_ntlm_dir). The hashes and ciphers are
 * nettle's (MD4, MD5, HMAC-MD5, ARCFOUR, DES); nothing here hand-rolls one.
 *
 * Strings: user, domain and password arrive as UTF-8 and are converted to
 * UTF-16LE, the form NTLM hashes. Every key, hash and password buffer that a
 * function here fills is the caller's to wipe (mp_ntlm_wipe).
 */
#ifndef MP_AUTH_NTLM_CRYPTO_H
#define MP_AUTH_NTLM_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nettle/arcfour.h>

#include "util/cursor.h"

#define MP_NTLM_HASH_LEN 16     /* NT hash, NTOWFv2, session keys, MIC */
#define MP_NTLM_CHALLENGE_LEN 8 /* server and client challenges */
#define MP_NTLM_V1_RESP_LEN 24  /* NTLMv1 / LM / LMv2 responses */
#define MP_NTLM_SIG_LEN 16      /* NTLMSSP_MESSAGE_SIGNATURE */
#define MP_NTLM_V2_BLOB_HDR 28  /* NTLMv2_CLIENT_CHALLENGE up to the AV pairs */

/* Overwrite `len` bytes at `p` with zeros in a way the compiler keeps. */
void mp_ntlm_wipe(void *p, size_t len);

/* Constant-time equality of two n-byte buffers: true if equal. */
bool mp_ntlm_ct_equal(const void *a, const void *b, size_t n);

/*
 * Convert `len` bytes of UTF-8 at `s` to UTF-16LE. On MP_OK, *out is a
 * malloc'd buffer of *out_len bytes (never NULL, even for ""), owned by the
 * caller. Returns MP_ERR_PARSE for invalid UTF-8 (overlong forms, surrogates,
 * code points above U+10FFFF), MP_ERR_NOMEM.
 */
int mp_ntlm_utf8_to_utf16le(const char *s, size_t len, uint8_t **out, size_t *out_len);

/*
 * Convert `len` bytes of UTF-16LE to a NUL-terminated UTF-8 string. On MP_OK
 * *out is malloc'd and owned by the caller. Returns MP_ERR_PARSE for an odd
 * length, an unpaired surrogate or an embedded U+0000, MP_ERR_NOMEM.
 */
int mp_ntlm_utf16le_to_utf8(const uint8_t *p, size_t len, char **out);

/*
 * Upper-case UTF-16LE text in place, as NTOWFv2 does to the user name:
 * simple case mapping for ASCII, Latin-1, Latin Extended-A, Greek and
 * Cyrillic; other code units are left alone.
 */
void mp_ntlm_utf16le_upper(uint8_t *p, size_t len);

/*
 * NTOWFv1 ([MS-NLMP] 3.3.1): the NT hash, MD4(UTF-16LE(password)), of a
 * NUL-terminated UTF-8 password. Returns MP_OK, MP_ERR_PARSE (bad UTF-8),
 * MP_ERR_NOMEM. The temporary UTF-16 copy is wiped.
 */
int mp_ntlm_ntowfv1(const char *password, uint8_t nt_hash[MP_NTLM_HASH_LEN]);

/*
 * NTOWFv2 ([MS-NLMP] 3.3.2) from an NT hash and UTF-16LE user and domain as
 * they appear on the wire: HMAC_MD5(nt_hash, UPPER(user) || domain). The
 * user is upper-cased on a private copy. LMOWFv2 is the same function.
 * Returns MP_OK or MP_ERR_NOMEM.
 */
int mp_ntlm_ntowfv2_u16(const uint8_t nt_hash[MP_NTLM_HASH_LEN], const uint8_t *user16,
                        size_t user16_len, const uint8_t *domain16, size_t domain16_len,
                        uint8_t out[MP_NTLM_HASH_LEN]);

/*
 * NTOWFv2 from an NT hash (the form the proxy's user DB stores) and UTF-8
 * user and domain. Returns MP_OK, MP_ERR_PARSE (bad UTF-8), MP_ERR_NOMEM.
 */
int mp_ntlm_ntowfv2(const uint8_t nt_hash[MP_NTLM_HASH_LEN], const char *user, const char *domain,
                    uint8_t out[MP_NTLM_HASH_LEN]);

/*
 * NTOWFv2 (= LMOWFv2) from a UTF-8 password: NTOWFv1 then mp_ntlm_ntowfv2.
 * Returns as mp_ntlm_ntowfv2. The intermediate NT hash is wiped.
 */
int mp_ntlm_ntowfv2_password(const char *password, const char *user, const char *domain,
                             uint8_t out[MP_NTLM_HASH_LEN]);

/*
 * Append the NTLMv2 `temp` ([MS-NLMP] 3.3.2) to `wb`: RespType 1, HiRespType
 * 1, Z(6), Time (FILETIME, LE), ClientChallenge, Z(4), the AV pairs `av`
 * (already EOL-terminated) and Z(4).
 */
void mp_ntlm_v2_temp(struct mp_wbuf *wb, uint64_t time, const uint8_t client_chal[8],
                     const uint8_t *av, size_t av_len);

/* NTProofStr = HMAC_MD5(key, ServerChallenge || temp). */
void mp_ntlm_v2_proof(const uint8_t key[MP_NTLM_HASH_LEN], const uint8_t server_chal[8],
                      const uint8_t *temp, size_t temp_len, uint8_t proof[MP_NTLM_HASH_LEN]);

/* SessionBaseKey for NTLMv2 = HMAC_MD5(key, NTProofStr). KXKEY is the same. */
void mp_ntlm_v2_session_base_key(const uint8_t key[MP_NTLM_HASH_LEN],
                                 const uint8_t proof[MP_NTLM_HASH_LEN],
                                 uint8_t out[MP_NTLM_HASH_LEN]);

/* LMv2 response = HMAC_MD5(key, ServerChallenge || ClientChallenge) || ClientChallenge. */
void mp_ntlm_lmv2_response(const uint8_t key[MP_NTLM_HASH_LEN], const uint8_t server_chal[8],
                           const uint8_t client_chal[8], uint8_t out[MP_NTLM_V1_RESP_LEN]);

/*
 * The whole NTLMv2 computation of a client: appends NtChallengeResponse
 * (NTProofStr || temp) to `nt_resp`, writes LmChallengeResponse (LMv2) to
 * `lm_resp` and the SessionBaseKey to `session_base_key`. `av` must not
 * point into `nt_resp` (it may move when the buffer grows).
 */
void mp_ntlm_v2_response(const uint8_t key[MP_NTLM_HASH_LEN], const uint8_t server_chal[8],
                         const uint8_t client_chal[8], uint64_t time, const uint8_t *av,
                         size_t av_len, struct mp_wbuf *nt_resp,
                         uint8_t lm_resp[MP_NTLM_V1_RESP_LEN],
                         uint8_t session_base_key[MP_NTLM_HASH_LEN]);

/* DESL(K, D) ([MS-NLMP] 6): the NTLMv1 response of a 16-byte key to an 8-byte challenge. */
void mp_ntlm_desl(const uint8_t key[MP_NTLM_HASH_LEN], const uint8_t data[8],
                  uint8_t out[MP_NTLM_V1_RESP_LEN]);

/* NTLMv1 with extended session security: the challenge DESL is applied to, MD5(SC || CC)[0..7]. */
void mp_ntlm_v1_ess_challenge(const uint8_t server_chal[8], const uint8_t client_chal[8],
                              uint8_t out[8]);

/* SessionBaseKey for NTLMv1 = MD4(NT hash). */
void mp_ntlm_v1_session_base_key(const uint8_t nt_hash[MP_NTLM_HASH_LEN],
                                 uint8_t out[MP_NTLM_HASH_LEN]);

/* KXKEY for NTLMv1 with extended session security: HMAC_MD5(SBK, SC || LmResponse[0..7]). */
void mp_ntlm_v1_ess_kxkey(const uint8_t session_base_key[MP_NTLM_HASH_LEN],
                          const uint8_t server_chal[8], const uint8_t lm_resp8[8],
                          uint8_t out[MP_NTLM_HASH_LEN]);

/*
 * One-shot RC4 with a 16-byte key (key exchange: EncryptedRandomSessionKey =
 * RC4K(KeyExchangeKey, ExportedSessionKey) and back). `in` and `out` may be
 * the same buffer.
 */
void mp_ntlm_rc4k(const uint8_t key[MP_NTLM_HASH_LEN], const uint8_t *in, uint8_t *out, size_t len);

/*
 * SIGNKEY ([MS-NLMP] 3.4.5.2) with extended session security:
 * MD5(ExportedSessionKey || magic), for the client-to-server direction if
 * `client_to_server`, else server-to-client.
 */
void mp_ntlm_signkey(const uint8_t exported[MP_NTLM_HASH_LEN], bool client_to_server,
                     uint8_t out[MP_NTLM_HASH_LEN]);

/*
 * SEALKEY ([MS-NLMP] 3.4.5.3) for NegotiateFlags `flags`. With extended
 * session security: MD5(key || magic) where key is the whole exported key
 * (NEGOTIATE_128), its first 7 bytes (NEGOTIATE_56) or first 5; without it:
 * the 40- or 56-bit weakened key, or the exported key itself.
 * Writes the RC4 key to `out` and returns its length (8 or 16).
 */
size_t mp_ntlm_sealkey(uint32_t flags, const uint8_t exported[MP_NTLM_HASH_LEN],
                       bool client_to_server, uint8_t out[MP_NTLM_HASH_LEN]);

/*
 * MIC ([MS-NLMP] 3.1.5.1.2): HMAC_MD5(ExportedSessionKey, NEGOTIATE ||
 * CHALLENGE || AUTHENTICATE), the AUTHENTICATE with its MIC field zeroed.
 */
void mp_ntlm_mic(const uint8_t exported[MP_NTLM_HASH_LEN], const uint8_t *neg, size_t neg_len,
                 const uint8_t *chal, size_t chal_len, const uint8_t *auth, size_t auth_len,
                 uint8_t out[MP_NTLM_HASH_LEN]);

/*
 * One direction of an established session: its signing key, the RC4 state
 * of its sealing key (persistent across messages) and its sequence number.
 */
struct mp_ntlm_dir {
	uint8_t sign_key[MP_NTLM_HASH_LEN];
	struct arcfour_ctx seal;
	uint32_t seq;
};

/*
 * Set up one direction from the exported session key and the negotiated
 * flags (extended session security assumed); seq starts at 0.
 */
void mp_ntlm_dir_init(struct mp_ntlm_dir *d, uint32_t flags,
                      const uint8_t exported[MP_NTLM_HASH_LEN], bool client_to_server);

/*
 * MAC with extended session security ([MS-NLMP] 3.4.4.2): Version 1,
 * Checksum = HMAC_MD5(SigningKey, SeqNum || msg)[0..7], RC4-encrypted with
 * the direction's sealing state if `key_exch`, and SeqNum. Uses d->seq but
 * does not advance it.
 */
void mp_ntlm_mac(struct mp_ntlm_dir *d, bool key_exch, const uint8_t *msg, size_t len,
                 uint8_t sig[MP_NTLM_SIG_LEN]);

#endif
