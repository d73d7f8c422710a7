/*
 * NTLMSSP ([MS-NLMP]): message codecs and the client and server state
 * machines, with NTLMv2 authentication, MIC, key exchange and session
 * security (sign / seal with extended session security) as DCE/RPC uses it.
 *
 * No I/O: messages come in and go out as byte buffers. Randomness (server
 * challenge, client challenge, exported session key), the clock and the user
 * database are callbacks, so tests are deterministic.
 *
 * Parsed messages are views: their byte fields point into the caller's
 * buffer, which must outlive them. Every length and offset is bounds-checked;
 * anything that does not fit is MP_ERR_PARSE.
 */
#ifndef MP_AUTH_NTLMSSP_H
#define MP_AUTH_NTLMSSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/cursor.h"

/*
 * Authentication outcomes beyond enum mp_status (util/status.h); the values
 * do not collide with it. mp_ntlm_status_name() names all of them.
 */
enum mp_ntlm_status {
	/* Bad password or unknown user: deliberately one code for both. */
	MP_ERR_AUTH = -20,
	/* The client sent an NTLMv1 / LM response and allow_ntlmv1 is off. */
	MP_ERR_AUTH_NTLMV1 = -21,
};

/* Name of an mp_ntlm_status or mp_status value ("MP_ERR_AUTH"). */
const char *mp_ntlm_status_name(int status);

/* NegotiateFlags ([MS-NLMP] 2.2.2.5): X(name, value). */
#define MP_NTLM_FLAG_TABLE(X)                                                                      \
	X(NEGOTIATE_UNICODE, 0x00000001u)                                                          \
	X(NEGOTIATE_OEM, 0x00000002u)                                                              \
	X(REQUEST_TARGET, 0x00000004u)                                                             \
	X(NEGOTIATE_SIGN, 0x00000010u)                                                             \
	X(NEGOTIATE_SEAL, 0x00000020u)                                                             \
	X(NEGOTIATE_DATAGRAM, 0x00000040u)                                                         \
	X(NEGOTIATE_LM_KEY, 0x00000080u)                                                           \
	X(NEGOTIATE_NTLM, 0x00000200u)                                                             \
	X(ANONYMOUS, 0x00000800u)                                                                  \
	X(NEGOTIATE_OEM_DOMAIN_SUPPLIED, 0x00001000u)                                              \
	X(NEGOTIATE_OEM_WORKSTATION_SUPPLIED, 0x00002000u)                                         \
	X(NEGOTIATE_ALWAYS_SIGN, 0x00008000u)                                                      \
	X(TARGET_TYPE_DOMAIN, 0x00010000u)                                                         \
	X(TARGET_TYPE_SERVER, 0x00020000u)                                                         \
	X(NEGOTIATE_EXTENDED_SESSIONSECURITY, 0x00080000u)                                         \
	X(NEGOTIATE_IDENTIFY, 0x00100000u)                                                         \
	X(REQUEST_NON_NT_SESSION_KEY, 0x00400000u)                                                 \
	X(NEGOTIATE_TARGET_INFO, 0x00800000u)                                                      \
	X(NEGOTIATE_VERSION, 0x02000000u)                                                          \
	X(NEGOTIATE_128, 0x20000000u)                                                              \
	X(NEGOTIATE_KEY_EXCH, 0x40000000u)                                                         \
	X(NEGOTIATE_56, 0x80000000u)

#define MP_NTLM_FLAG_ENUM(name, value) MP_NTLMSSP_##name = value,
enum mp_ntlm_flag { MP_NTLM_FLAG_TABLE(MP_NTLM_FLAG_ENUM) };
#undef MP_NTLM_FLAG_ENUM

/* Name of one flag bit ("NEGOTIATE_SEAL"), or NULL for an unknown bit. */
const char *mp_ntlm_flag_name(uint32_t bit);

/*
 * Write the set flags of `flags` as "NAME|NAME|0x..." (unknown bits in hex)
 * into buf (always NUL-terminated, truncated to len). Returns buf.
 */
char *mp_ntlm_flags_str(uint32_t flags, char *buf, size_t len);

enum mp_ntlm_msg_type {
	MP_NTLM_NEGOTIATE = 1,
	MP_NTLM_CHALLENGE = 2,
	MP_NTLM_AUTHENTICATE = 3,
};

/*
 * The message type of an NTLMSSP message (checks the "NTLMSSP\0" signature),
 * or MP_ERR_PARSE.
 */
int mp_ntlm_msg_type(const uint8_t *msg, size_t len);

/* A byte range inside a message (a view; p may be NULL when len is 0). */
struct mp_ntlm_bytes {
	const uint8_t *p;
	size_t len;
};

/* VERSION ([MS-NLMP] 2.2.2.10). */
struct mp_ntlm_version {
	uint8_t major;
	uint8_t minor;
	uint16_t build;
	uint8_t revision; /* 15 = NTLMSSP_REVISION_W2K3 */
};

/* AV_PAIR ids ([MS-NLMP] 2.2.2.1). */
enum mp_ntlm_av_id {
	MP_MSV_AV_EOL = 0,
	MP_MSV_AV_NB_COMPUTER_NAME = 1,
	MP_MSV_AV_NB_DOMAIN_NAME = 2,
	MP_MSV_AV_DNS_COMPUTER_NAME = 3,
	MP_MSV_AV_DNS_DOMAIN_NAME = 4,
	MP_MSV_AV_DNS_TREE_NAME = 5,
	MP_MSV_AV_FLAGS = 6,
	MP_MSV_AV_TIMESTAMP = 7,
	MP_MSV_AV_SINGLE_HOST = 8,
	MP_MSV_AV_TARGET_NAME = 9,
	MP_MSV_AV_CHANNEL_BINDINGS = 10,
};

/* MsvAvFlags bits. */
#define MP_MSV_AV_FLAG_CONSTRAINED 0x1u
#define MP_MSV_AV_FLAG_MIC_PRESENT 0x2u
#define MP_MSV_AV_FLAG_UNTRUSTED_SPN 0x4u

/* One AV pair: a view of its value. Unknown ids are kept as they are. */
struct mp_ntlm_av {
	uint16_t id;
	uint16_t len;
	const uint8_t *value;
};

/* An ordered AV pair list (without the terminating MsvAvEOL). */
struct mp_ntlm_av_list {
	struct mp_ntlm_av *items; /* malloc'd */
	size_t n;
	size_t cap;
};

/*
 * Parse AV pairs from p[0..len) up to and including MsvAvEOL (bytes after it
 * are ignored) into `out` (initialised here; free with mp_ntlm_av_free even
 * on error). Values point into p. Known fixed-size ids are checked
 * (MsvAvFlags 4, MsvAvTimestamp 8, MsvChannelBindings 16, MsvAvSingleHost
 * >= 8). Returns MP_OK, MP_ERR_PARSE (missing EOL, overrun, bad size),
 * MP_ERR_LIMIT (more than 64 pairs), MP_ERR_NOMEM.
 */
int mp_ntlm_av_parse(const uint8_t *p, size_t len, struct mp_ntlm_av_list *out);

/* Free the item array of a list (not the values it points to). */
void mp_ntlm_av_free(struct mp_ntlm_av_list *l);

/* The first pair with `id`, or NULL. */
const struct mp_ntlm_av *mp_ntlm_av_find(const struct mp_ntlm_av_list *l, uint16_t id);

/*
 * Replace the value of the first pair with `id`, or append one. `value` is
 * not copied: it must outlive the list. Returns MP_OK or MP_ERR_NOMEM.
 */
int mp_ntlm_av_set(struct mp_ntlm_av_list *l, uint16_t id, const uint8_t *value, uint16_t len);

/* Append the pairs in order (skipping any EOL item) and a final MsvAvEOL. */
void mp_ntlm_av_encode(struct mp_wbuf *wb, const struct mp_ntlm_av_list *l);

/* NEGOTIATE_MESSAGE ([MS-NLMP] 2.2.1.1). */
struct mp_ntlm_negotiate {
	uint32_t flags;
	struct mp_ntlm_bytes domain;      /* OEM, when ..._OEM_DOMAIN_SUPPLIED */
	struct mp_ntlm_bytes workstation; /* OEM, when ..._OEM_WORKSTATION_SUPPLIED */
	bool has_version;
	struct mp_ntlm_version version;
};

/* CHALLENGE_MESSAGE ([MS-NLMP] 2.2.1.2). */
struct mp_ntlm_challenge {
	uint32_t flags;
	struct mp_ntlm_bytes target_name;
	uint8_t server_challenge[8];
	struct mp_ntlm_bytes target_info; /* raw AV pairs; parse with mp_ntlm_av_parse */
	bool has_version;
	struct mp_ntlm_version version;
};

/* AUTHENTICATE_MESSAGE ([MS-NLMP] 2.2.1.3). */
struct mp_ntlm_authenticate {
	uint32_t flags;
	struct mp_ntlm_bytes lm_response;
	struct mp_ntlm_bytes nt_response;
	struct mp_ntlm_bytes domain; /* UTF-16LE when NEGOTIATE_UNICODE */
	struct mp_ntlm_bytes user;
	struct mp_ntlm_bytes workstation;
	struct mp_ntlm_bytes enc_session_key;
	bool has_version;
	struct mp_ntlm_version version;
	/*
	 * The 16 bytes at offset 72 when the payload starts at 88 or later:
	 * the MIC if the NTLMv2 response's MsvAvFlags says so.
	 */
	bool has_mic_field;
	uint8_t mic[16];
};

#define MP_NTLM_MIC_OFFSET 72

/*
 * Parse a message of the given type from msg[0..len). Byte fields of `out`
 * point into msg. Returns MP_OK or MP_ERR_PARSE (bad signature or type, a
 * truncated header, a field whose offset + length leaves the message, a
 * payload overlapping the fixed header).
 */
int mp_ntlm_parse_negotiate(const uint8_t *msg, size_t len, struct mp_ntlm_negotiate *out);
int mp_ntlm_parse_challenge(const uint8_t *msg, size_t len, struct mp_ntlm_challenge *out);
int mp_ntlm_parse_authenticate(const uint8_t *msg, size_t len, struct mp_ntlm_authenticate *out);

/*
 * Append an encoded message to wb (fields in the struct order, payload after
 * the fixed header; VERSION written when has_version). For AUTHENTICATE, a
 * zeroed 16-byte MIC field follows VERSION when has_mic_field (its position
 * is MP_NTLM_MIC_OFFSET from the message start; VERSION is then always
 * written). Returns MP_OK, MP_ERR_LIMIT (a field over 65535 bytes),
 * MP_ERR_NOMEM.
 */
int mp_ntlm_encode_negotiate(struct mp_wbuf *wb, const struct mp_ntlm_negotiate *m);
int mp_ntlm_encode_challenge(struct mp_wbuf *wb, const struct mp_ntlm_challenge *m);
int mp_ntlm_encode_authenticate(struct mp_wbuf *wb, const struct mp_ntlm_authenticate *m);

/* ---- state machines ------------------------------------------------------- */

/* Fill buf[0..len) with random bytes; MP_OK or an error (aborts the step). */
typedef int (*mp_ntlm_rng_fn)(void *arg, uint8_t *buf, size_t len);

/* Current time as a FILETIME (100 ns ticks since 1601-01-01 UTC). */
typedef uint64_t (*mp_ntlm_clock_fn)(void *arg);

/*
 * Look up the NT hash of (user, domain), both UTF-8 as the client sent them.
 * Returns MP_OK and fills nt_hash, or MP_ERR_NOTFOUND (or any error) for an
 * unknown user; the server answers MP_ERR_AUTH either way.
 */
typedef int (*mp_ntlm_lookup_fn)(void *arg, const char *user, const char *domain,
                                 uint8_t nt_hash[16]);

/* Default RNG (getrandom(2)), usable as mp_ntlm_rng_fn with arg NULL. */
int mp_ntlm_rng_system(void *arg, uint8_t *buf, size_t len);

/* Default clock (CLOCK_REALTIME as a FILETIME), usable as mp_ntlm_clock_fn. */
uint64_t mp_ntlm_clock_system(void *arg);

#define MP_NTLM_WANT_SIGN 0x1u /* PKT_INTEGRITY */
#define MP_NTLM_WANT_SEAL 0x2u /* PKT_PRIVACY (implies sign) */

struct mp_ntlm_client_config {
	const char *user;        /* UTF-8 */
	const char *domain;      /* UTF-8, may be "" */
	const char *workstation; /* UTF-8, NULL or "" for none */
	const char *password;    /* UTF-8; or NULL and nt_hash set */
	const uint8_t *nt_hash;  /* 16 bytes, used when password is NULL */
	unsigned want;           /* MP_NTLM_WANT_* */
	mp_ntlm_rng_fn rng;      /* NULL: mp_ntlm_rng_system */
	void *rng_arg;
	mp_ntlm_clock_fn clock; /* NULL: mp_ntlm_clock_system; used when the
	                           CHALLENGE has no MsvAvTimestamp */
	void *clock_arg;
};

struct mp_ntlm_server_config {
	/* UTF-8 names for the CHALLENGE target info; NULL to leave one out. */
	const char *nb_computer_name;
	const char *nb_domain_name; /* also the TargetName */
	const char *dns_computer_name;
	const char *dns_domain_name;
	const char *dns_tree_name;
	bool allow_ntlmv1; /* accept NTLMv1 (and NTLMv1 + ESS) responses */
	mp_ntlm_lookup_fn lookup;
	void *lookup_arg;
	mp_ntlm_rng_fn rng; /* NULL: mp_ntlm_rng_system */
	void *rng_arg;
	mp_ntlm_clock_fn clock; /* NULL: mp_ntlm_clock_system */
	void *clock_arg;
};

/* One NTLMSSP security context, client or server (opaque). */
struct mp_ntlm;

/*
 * Create a client context. The password (if any) is turned into the NT hash
 * at once and not kept; strings are copied. On MP_OK *out is owned by the
 * caller (mp_ntlm_free). Returns MP_OK, MP_ERR_CONFIG (no user, or neither
 * password nor hash), MP_ERR_PARSE (bad UTF-8), MP_ERR_NOMEM.
 */
int mp_ntlm_client_new(const struct mp_ntlm_client_config *cfg, struct mp_ntlm **out);

/*
 * Create a server context; the config's strings are copied, its callbacks
 * kept. Returns MP_OK, MP_ERR_CONFIG (no lookup), MP_ERR_PARSE, MP_ERR_NOMEM.
 */
int mp_ntlm_server_new(const struct mp_ntlm_server_config *cfg, struct mp_ntlm **out);

/* Client step 1: append the NEGOTIATE message to out. MP_OK, MP_ERR_PROTO (wrong state),
 * MP_ERR_NOMEM. */
int mp_ntlm_client_negotiate(struct mp_ntlm *c, struct mp_wbuf *out);

/*
 * Client step 2: consume the CHALLENGE, append the AUTHENTICATE (NTLMv2 with
 * MsvAvFlags MIC-present and the MIC; key exchange when negotiated) to out.
 * The context is established on MP_OK. Returns MP_OK, MP_ERR_PARSE,
 * MP_ERR_UNSUPPORTED (the server dropped UNICODE, extended session security,
 * or a wanted SIGN / SEAL), MP_ERR_PROTO, MP_ERR_NOMEM, or an RNG error.
 */
int mp_ntlm_client_authenticate(struct mp_ntlm *c, const uint8_t *chal, size_t len,
                                struct mp_wbuf *out);

/*
 * Server step 1: consume the NEGOTIATE, append the CHALLENGE to out.
 * Returns MP_OK, MP_ERR_PARSE, MP_ERR_UNSUPPORTED (no UNICODE, or SIGN / SEAL
 * without extended session security), MP_ERR_PROTO, MP_ERR_NOMEM, RNG errors.
 */
int mp_ntlm_server_challenge(struct mp_ntlm *s, const uint8_t *neg, size_t len,
                             struct mp_wbuf *out);

/*
 * Server step 2: consume the AUTHENTICATE, verify it and derive the session
 * keys. Returns MP_OK (established), MP_ERR_AUTH (unknown user, bad
 * password, bad MIC, anonymous), MP_ERR_AUTH_NTLMV1 (NTLMv1/LM refused),
 * MP_ERR_PARSE (malformed), MP_ERR_PROTO (wrong state), MP_ERR_NOMEM. After
 * any failure the context is finished: free it.
 */
int mp_ntlm_server_authenticate(struct mp_ntlm *s, const uint8_t *auth, size_t len);

/* True once authentication succeeded on either side. */
bool mp_ntlm_established(const struct mp_ntlm *n);

/* The negotiated flags (valid once established). */
uint32_t mp_ntlm_flags(const struct mp_ntlm *n);

/* The authenticated user / domain as UTF-8 (server: as the client sent them), or NULL. */
const char *mp_ntlm_user(const struct mp_ntlm *n);
const char *mp_ntlm_domain(const struct mp_ntlm *n);

/* Copy the exported session key (16 bytes); MP_OK or MP_ERR_PROTO if not established. */
int mp_ntlm_session_key(const struct mp_ntlm *n, uint8_t out[16]);

/*
 * Session security, once established. Each side keeps a send and a receive
 * direction with its own sequence number (from 0, +1 per call that uses it)
 * and its own RC4 state, as DCE/RPC uses NTLMSSP.
 *
 * sign: signature over msg[0..len) with the send sequence number.
 * verify: check a received signature with the receive sequence number.
 * seal: encrypt data[0..data_len) in place and sign `msg` (the whole PDU,
 *   which may contain `data`: the MAC is taken over the plaintext first);
 *   msg NULL means msg = data.
 * unseal: decrypt data in place, then verify sig over `msg` (NULL = data).
 *
 * Return MP_OK, MP_ERR_AUTH (signature mismatch: the context is then
 * poisoned, every later call fails, and unseal wipes `data`), MP_ERR_PROTO
 * (not established, or the flag SIGN / SEAL was not negotiated).
 */
int mp_ntlm_sign(struct mp_ntlm *n, const uint8_t *msg, size_t len, uint8_t sig[16]);
int mp_ntlm_verify(struct mp_ntlm *n, const uint8_t *msg, size_t len, const uint8_t sig[16]);
int mp_ntlm_seal(struct mp_ntlm *n, uint8_t *data, size_t data_len, const uint8_t *msg,
                 size_t msg_len, uint8_t sig[16]);
int mp_ntlm_unseal(struct mp_ntlm *n, uint8_t *data, size_t data_len, const uint8_t *msg,
                   size_t msg_len, const uint8_t sig[16]);

/*
 * Re-derive the RC4 state of both directions from the session key, as it was
 * when the context was established; the sequence numbers are kept unless
 * reset_seq. For the SPNEGO mechListMIC ([MS-SPNG] 3.3.5.1): it is signed and
 * checked with mp_ntlm_sign / mp_ntlm_verify, which consume a sequence number
 * each, and then the key stream is rewound so that the first signed message
 * of the application uses the same RC4 state as the mechListMIC did (Samba:
 * gensec_spnego -> gensec_may_reset_crypto -> ntlmssp_sign_reset with
 * reset_seqnums = false once a mechListMIC was exchanged).
 * Returns MP_OK, MP_ERR_PROTO (not established), MP_ERR_AUTH (the context
 * failed or was poisoned).
 */
int mp_ntlm_reset_crypto(struct mp_ntlm *n, bool reset_seq);

/* Wipe every secret of the context (hashes, keys, RC4 states) and free it. NULL is fine. */
void mp_ntlm_free(struct mp_ntlm *n);

#endif
