/*
 * NTLMSSP decryption of captured traffic (see decrypt.h).
 *
 * Key derivation facts: [MS-NLMP] 3.3.2 (NTLMv2: NTOWFv2, NTProofStr,
 * SessionBaseKey), 3.3.1 (NTLMv1 with extended session security), 3.4.5.1
 * (KXKEY), 3.1.5.1.2 (MIC), 3.4.4.2 (signature with extended session
 * security: Version 1, HMAC checksum RC4'd under key exchange, SeqNum in
 * clear); [MS-RPCE] 3.3.1.5.2 and src/dcerpc/sec.h (what a DCE/RPC
 * signature covers); [MS-SPNG] 3.3.5.1 (mechListMIC, then the RC4 states
 * start over while the sequence numbers go on).
 */
#include "capture/decrypt.h"

#include "auth/ntlm_crypto.h"
#include "auth/ntlmssp.h"
#include "auth/spnego.h"
#include "dcerpc/sec.h"
#include "util/status.h"

#include <nettle/arcfour.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

/* ---- credentials --------------------------------------------------------- */

struct mp_cap_creds {
	size_t n;
	uint8_t hash[MP_CAP_MAX_CREDS][MP_NTLM_HASH_LEN];
};

static int creds_wipe(struct mp_cap_creds *c)
{
	mp_ntlm_wipe(c->hash, sizeof(c->hash));
	return 0;
}

struct mp_cap_creds *mp_cap_creds_new(void *mem)
{
	struct mp_cap_creds *c = talloc_zero(mem, struct mp_cap_creds);
	if (c)
		talloc_set_destructor(c, creds_wipe);
	return c;
}

int mp_cap_creds_add_nt_hash(struct mp_cap_creds *c, const uint8_t nt_hash[16])
{
	if (c->n >= MP_CAP_MAX_CREDS)
		return MP_ERR_LIMIT;
	memcpy(c->hash[c->n++], nt_hash, MP_NTLM_HASH_LEN);
	return MP_OK;
}

int mp_cap_creds_add_password(struct mp_cap_creds *c, const char *password)
{
	if (c->n >= MP_CAP_MAX_CREDS)
		return MP_ERR_LIMIT;
	uint8_t h[MP_NTLM_HASH_LEN];
	int rc = mp_ntlm_ntowfv1(password, h);
	if (rc == MP_OK)
		rc = mp_cap_creds_add_nt_hash(c, h);
	mp_ntlm_wipe(h, sizeof(h));
	return rc;
}

size_t mp_cap_creds_count(const struct mp_cap_creds *c)
{
	return c ? c->n : 0;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int mp_cap_nt_hash_parse(const char *hex, uint8_t out[16])
{
	if (strlen(hex) != 32)
		return MP_ERR_PARSE;
	for (int i = 0; i < 16; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return MP_ERR_PARSE;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return MP_OK;
}

/* ---- observer ------------------------------------------------------------ */

struct mp_cap_auth {
	uint8_t auth_type;
	uint32_t ctx_id;
	const struct mp_cap_creds *creds;
	enum mp_cap_auth_state state;
	char detail[256];

	/* handshake, as captured */
	uint8_t *neg;
	size_t neg_len;
	uint8_t *chal;
	size_t chal_len;
	bool have_chal;
	uint8_t server_chal[8];
	uint32_t chal_flags;
	char *user, *domain;

	/* SPNEGO */
	uint8_t *mech_types; /* DER of the client's mechTypes, for the mechListMIC */
	size_t mech_types_len;
	unsigned mics[2]; /* mechListMICs seen per direction */

	/* keys */
	uint32_t flags;
	uint8_t exported[MP_NTLM_HASH_LEN];
	struct mp_ntlm_dir dir[2]; /* 0: client to server, 1: server to client */
	bool lost[2];
};

static int auth_wipe(struct mp_cap_auth *a)
{
	mp_ntlm_wipe(a->exported, sizeof(a->exported));
	mp_ntlm_wipe(a->dir, sizeof(a->dir));
	return 0;
}

struct mp_cap_auth *mp_cap_auth_new(void *mem, uint8_t auth_type, uint32_t auth_ctx_id,
                                    const struct mp_cap_creds *creds)
{
	struct mp_cap_auth *a = talloc_zero(mem, struct mp_cap_auth);
	if (!a)
		return NULL;
	talloc_set_destructor(a, auth_wipe);
	a->auth_type = auth_type;
	a->ctx_id = auth_ctx_id;
	a->creds = creds;
	a->state = MP_CAP_AUTH_PENDING;
	if (auth_type != MP_AUTH_TYPE_NTLMSSP && auth_type != MP_AUTH_TYPE_SPNEGO) {
		a->state = MP_CAP_AUTH_UNSUPPORTED;
		snprintf(a->detail, sizeof(a->detail),
		         "auth type %u (%s): only NTLMSSP (10) and SPNEGO with NTLMSSP (9) "
		         "are decrypted",
		         auth_type, mp_auth_type_name(auth_type));
	} else {
		snprintf(a->detail, sizeof(a->detail), "handshake started");
	}
	return a;
}

const char *mp_cap_auth_state_name(enum mp_cap_auth_state s)
{
	switch (s) {
	case MP_CAP_AUTH_PENDING:
		return "pending";
	case MP_CAP_AUTH_READY:
		return "keys derived";
	case MP_CAP_AUTH_NO_CREDS:
		return "no credentials";
	case MP_CAP_AUTH_NO_MATCH:
		return "wrong credentials";
	case MP_CAP_AUTH_ANONYMOUS:
		return "anonymous";
	case MP_CAP_AUTH_UNSUPPORTED:
		return "unsupported";
	}
	return "?";
}

enum mp_cap_auth_state mp_cap_auth_get_state(const struct mp_cap_auth *a)
{
	return a->state;
}

const char *mp_cap_auth_detail(const struct mp_cap_auth *a)
{
	return a->detail;
}

uint8_t mp_cap_auth_type(const struct mp_cap_auth *a)
{
	return a->auth_type;
}

uint32_t mp_cap_auth_ctx_id(const struct mp_cap_auth *a)
{
	return a->ctx_id;
}

const char *mp_cap_auth_user(const struct mp_cap_auth *a)
{
	return a->user;
}

const char *mp_cap_auth_domain(const struct mp_cap_auth *a)
{
	return a->domain;
}

static bool set_state(struct mp_cap_auth *a, enum mp_cap_auth_state st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool set_state(struct mp_cap_auth *a, enum mp_cap_auth_state st, const char *fmt, ...)
{
	char buf[sizeof(a->detail)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	bool changed = st != a->state || strcmp(buf, a->detail) != 0;
	a->state = st;
	memcpy(a->detail, buf, sizeof(buf));
	return changed;
}

static bool keep_copy(struct mp_cap_auth *a, uint8_t **dst, size_t *dst_len, const uint8_t *p,
                      size_t len)
{
	talloc_free(*dst);
	*dst = talloc_memdup(a, p, len ? len : 1);
	*dst_len = *dst ? len : 0;
	return *dst != NULL;
}

/* Name bytes of the AUTHENTICATE as UTF-8 for display, and as UTF-16LE for
 * NTOWFv2 (OEM names are widened byte by byte). */
static char *name_utf8(void *mem, const struct mp_ntlm_bytes *b, bool unicode)
{
	if (unicode) {
		char *s = NULL;
		if (mp_ntlm_utf16le_to_utf8(b->p, b->len, &s) != MP_OK)
			return talloc_strdup(mem, "?");
		char *t = talloc_strdup(mem, s);
		free(s);
		return t;
	}
	char *t = talloc_array(mem, char, b->len + 1);
	if (!t)
		return NULL;
	for (size_t i = 0; i < b->len; i++)
		t[i] = (b->p[i] >= 0x20 && b->p[i] < 0x7f) ? (char)b->p[i] : '?';
	t[b->len] = '\0';
	return t;
}

static uint8_t *name_utf16(void *mem, const struct mp_ntlm_bytes *b, bool unicode, size_t *out_len)
{
	size_t n = unicode ? b->len : 2 * b->len;
	uint8_t *u = talloc_array(mem, uint8_t, n ? n : 1);
	if (!u)
		return NULL;
	if (unicode) {
		if (n)
			memcpy(u, b->p, n);
	} else {
		for (size_t i = 0; i < b->len; i++) {
			u[2 * i] = b->p[i];
			u[2 * i + 1] = 0;
		}
	}
	*out_len = n;
	return u;
}

/* Secrets of one derivation, wiped together. */
struct derive_secrets {
	uint8_t key[MP_NTLM_HASH_LEN];
	uint8_t proof[MP_NTLM_HASH_LEN];
	uint8_t sbk[MP_NTLM_HASH_LEN];
	uint8_t kx[MP_NTLM_HASH_LEN];
	uint8_t mic[MP_NTLM_HASH_LEN];
	uint8_t v1[MP_NTLM_V1_RESP_LEN];
	uint8_t chal8[8];
};

/* Which credential produced this NTLMv2 response; -1 if none. */
static int match_v2(struct mp_cap_auth *a, const struct mp_ntlm_authenticate *m,
                    const uint8_t *user16, size_t user16_len, const uint8_t *dom16,
                    size_t dom16_len, struct derive_secrets *k)
{
	const uint8_t *blob = m->nt_response.p + MP_NTLM_HASH_LEN;
	size_t blob_len = m->nt_response.len - MP_NTLM_HASH_LEN;
	for (size_t i = 0; i < a->creds->n; i++) {
		if (mp_ntlm_ntowfv2_u16(a->creds->hash[i], user16, user16_len, dom16, dom16_len,
		                        k->key) != MP_OK)
			return -1;
		mp_ntlm_v2_proof(k->key, a->server_chal, blob, blob_len, k->proof);
		if (mp_ntlm_ct_equal(k->proof, m->nt_response.p, MP_NTLM_HASH_LEN)) {
			mp_ntlm_v2_session_base_key(k->key, k->proof, k->sbk);
			memcpy(k->kx, k->sbk, MP_NTLM_HASH_LEN);
			return (int)i;
		}
	}
	return -1;
}

/* NTLMv1 (with or without extended session security); -1 if none matches. */
static int match_v1(struct mp_cap_auth *a, const struct mp_ntlm_authenticate *m, bool ess,
                    struct derive_secrets *k)
{
	if (ess)
		mp_ntlm_v1_ess_challenge(a->server_chal, m->lm_response.p, k->chal8);
	else
		memcpy(k->chal8, a->server_chal, 8);
	for (size_t i = 0; i < a->creds->n; i++) {
		mp_ntlm_desl(a->creds->hash[i], k->chal8, k->v1);
		if (mp_ntlm_ct_equal(k->v1, m->nt_response.p, MP_NTLM_V1_RESP_LEN)) {
			mp_ntlm_v1_session_base_key(a->creds->hash[i], k->sbk);
			if (ess)
				mp_ntlm_v1_ess_kxkey(k->sbk, a->server_chal, m->lm_response.p,
				                     k->kx);
			else
				memcpy(k->kx, k->sbk, MP_NTLM_HASH_LEN);
			return (int)i;
		}
	}
	return -1;
}

/* "; MIC verified" / "; MIC MISMATCH" / "" for the detail line. */
static const char *check_mic(struct mp_cap_auth *a, const struct mp_ntlm_authenticate *m,
                             const uint8_t *msg, size_t len, struct derive_secrets *k)
{
	if (m->nt_response.len < MP_NTLM_HASH_LEN + MP_NTLM_V2_BLOB_HDR || !m->has_mic_field)
		return "";
	const uint8_t *blob = m->nt_response.p + MP_NTLM_HASH_LEN;
	size_t blob_len = m->nt_response.len - MP_NTLM_HASH_LEN;
	struct mp_ntlm_av_list av = {0};
	bool present = false;
	if (mp_ntlm_av_parse(blob + MP_NTLM_V2_BLOB_HDR, blob_len - MP_NTLM_V2_BLOB_HDR, &av) ==
	    MP_OK) {
		const struct mp_ntlm_av *f = mp_ntlm_av_find(&av, MP_MSV_AV_FLAGS);
		present = f && (mp_get_u32(f->value) & MP_MSV_AV_FLAG_MIC_PRESENT);
	}
	mp_ntlm_av_free(&av);
	if (!present)
		return "";
	if (!a->neg)
		return "; MIC not checked (NEGOTIATE not captured)";
	uint8_t *copy = talloc_memdup(a, msg, len);
	if (!copy)
		return "";
	memset(copy + MP_NTLM_MIC_OFFSET, 0, MP_NTLM_HASH_LEN);
	mp_ntlm_mic(a->exported, a->neg, a->neg_len, a->chal, a->chal_len, copy, len, k->mic);
	talloc_free(copy);
	return mp_ntlm_ct_equal(k->mic, m->mic, MP_NTLM_HASH_LEN) ? "; MIC verified"
	                                                          : "; MIC MISMATCH";
}

static void init_dirs(struct mp_cap_auth *a)
{
	for (unsigned d = 0; d < 2; d++) {
		mp_ntlm_dir_init(&a->dir[d], a->flags, a->exported, d == 0);
		a->dir[d].seq = a->mics[d];
		a->lost[d] = false;
	}
}

static bool on_authenticate(struct mp_cap_auth *a, const uint8_t *msg, size_t len)
{
	struct mp_ntlm_authenticate m;
	if (mp_ntlm_parse_authenticate(msg, len, &m) != MP_OK)
		return set_state(a, MP_CAP_AUTH_UNSUPPORTED, "malformed NTLMSSP AUTHENTICATE");
	uint32_t flags = a->have_chal ? (m.flags & a->chal_flags) : m.flags;
	bool unicode = flags & MP_NTLMSSP_NEGOTIATE_UNICODE;
	talloc_free(a->user);
	talloc_free(a->domain);
	a->user = name_utf8(a, &m.user, unicode);
	a->domain = name_utf8(a, &m.domain, unicode);
	const char *dom = a->domain ? a->domain : "", *usr = a->user ? a->user : "";

	if (m.user.len == 0 && m.nt_response.len == 0)
		return set_state(a, MP_CAP_AUTH_ANONYMOUS, "anonymous NTLM: nothing is signed");
	if (!a->have_chal)
		return set_state(a, MP_CAP_AUTH_UNSUPPORTED,
		                 "%s\\%s: the CHALLENGE is not in the capture, so the keys "
		                 "cannot be derived",
		                 dom, usr);
	bool v2 = m.nt_response.len > MP_NTLM_V1_RESP_LEN;
	bool ess = flags & MP_NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY;
	const char *kind = v2 ? "NTLMv2" : ess ? "NTLMv1 (ESS)" : "NTLMv1";
	if (v2 && m.nt_response.len < MP_NTLM_HASH_LEN + MP_NTLM_V2_BLOB_HDR)
		return set_state(a, MP_CAP_AUTH_UNSUPPORTED, "%s\\%s: malformed NTLMv2 response",
		                 dom, usr);
	if (!v2 && (m.nt_response.len != MP_NTLM_V1_RESP_LEN || m.lm_response.len < 8))
		return set_state(a, MP_CAP_AUTH_UNSUPPORTED,
		                 "%s\\%s: LM-only or malformed NTLM response", dom, usr);
	if (mp_cap_creds_count(a->creds) == 0)
		return set_state(a, MP_CAP_AUTH_NO_CREDS,
		                 "%s %s\\%s: no password or NT hash given, traffic stays sealed",
		                 kind, dom, usr);

	struct derive_secrets k;
	int which;
	if (v2) {
		size_t u_len = 0, d_len = 0;
		uint8_t *u16 = name_utf16(a, &m.user, unicode, &u_len);
		uint8_t *d16 = name_utf16(a, &m.domain, unicode, &d_len);
		which = (u16 && d16) ? match_v2(a, &m, u16, u_len, d16, d_len, &k) : -1;
		talloc_free(u16);
		talloc_free(d16);
	} else {
		which = match_v1(a, &m, ess, &k);
	}
	bool changed;
	if (which < 0) {
		changed = set_state(a, MP_CAP_AUTH_NO_MATCH,
		                    "%s %s\\%s: none of the %zu credential(s) given matches this "
		                    "AUTHENTICATE (wrong password or NT hash?)",
		                    kind, dom, usr, a->creds->n);
	} else if ((flags & (MP_NTLMSSP_NEGOTIATE_SIGN | MP_NTLMSSP_NEGOTIATE_SEAL)) && !ess) {
		changed = set_state(a, MP_CAP_AUTH_UNSUPPORTED,
		                    "%s %s\\%s: credential %d matches, but signing without "
		                    "extended session security is not implemented",
		                    kind, dom, usr, which + 1);
	} else if ((flags & MP_NTLMSSP_NEGOTIATE_KEY_EXCH) &&
	           m.enc_session_key.len != MP_NTLM_HASH_LEN) {
		changed = set_state(a, MP_CAP_AUTH_UNSUPPORTED,
		                    "%s %s\\%s: key exchange without a 16-byte session key", kind,
		                    dom, usr);
	} else {
		if (flags & MP_NTLMSSP_NEGOTIATE_KEY_EXCH)
			mp_ntlm_rc4k(k.kx, m.enc_session_key.p, a->exported, MP_NTLM_HASH_LEN);
		else
			memcpy(a->exported, k.kx, MP_NTLM_HASH_LEN);
		a->flags = flags;
		a->mics[0] = a->mics[1] = 0;
		init_dirs(a);
		const char *mic = check_mic(a, &m, msg, len, &k);
		changed =
		    set_state(a, MP_CAP_AUTH_READY, "%s %s\\%s: keys derived (credential %d)%s",
		              kind, dom, usr, which + 1, mic);
	}
	mp_ntlm_wipe(&k, sizeof(k));
	return changed;
}

static bool on_ntlm(struct mp_cap_auth *a, const uint8_t *msg, size_t len)
{
	switch (mp_ntlm_msg_type(msg, len)) {
	case MP_NTLM_NEGOTIATE:
		keep_copy(a, &a->neg, &a->neg_len, msg, len);
		return false;
	case MP_NTLM_CHALLENGE: {
		struct mp_ntlm_challenge ch;
		if (mp_ntlm_parse_challenge(msg, len, &ch) != MP_OK)
			return set_state(a, MP_CAP_AUTH_UNSUPPORTED, "malformed NTLMSSP CHALLENGE");
		memcpy(a->server_chal, ch.server_challenge, 8);
		a->chal_flags = ch.flags;
		a->have_chal = keep_copy(a, &a->chal, &a->chal_len, msg, len);
		return false;
	}
	case MP_NTLM_AUTHENTICATE:
		return on_authenticate(a, msg, len);
	}
	return set_state(a, MP_CAP_AUTH_UNSUPPORTED, "an auth token that is not NTLMSSP");
}

/* A mechListMIC from direction dir: check it, then restart the RC4 states
 * (sequence numbers go on from the MICs). */
static bool on_mech_list_mic(struct mp_cap_auth *a, unsigned dir, const uint8_t *mic, size_t len)
{
	a->mics[dir]++;
	if (a->state != MP_CAP_AUTH_READY)
		return false;
	bool ok = false;
	if (a->mech_types && len == MP_NTLM_SIG_LEN) {
		uint8_t want[MP_NTLM_SIG_LEN];
		mp_ntlm_mac(&a->dir[dir], a->flags & MP_NTLMSSP_NEGOTIATE_KEY_EXCH, a->mech_types,
		            a->mech_types_len, want);
		ok = mp_ntlm_ct_equal(want, mic, MP_NTLM_SIG_LEN);
	}
	init_dirs(a);
	if (!ok) {
		size_t n = strlen(a->detail);
		snprintf(a->detail + n, sizeof(a->detail) - n, "; %s mechListMIC %s",
		         dir ? "server" : "client", a->mech_types ? "MISMATCH" : "not checked");
		return true;
	}
	return false;
}

static bool on_spnego(struct mp_cap_auth *a, unsigned dir, const uint8_t *tok, size_t len)
{
	switch (mp_spnego_token_type(tok, len)) {
	case MP_SPNEGO_TOKEN_INIT: {
		struct mp_spnego_init *in = talloc_zero(a, struct mp_spnego_init);
		if (!in)
			return false;
		bool changed = false;
		if (mp_spnego_parse_init(tok, len, in) != MP_OK) {
			changed =
			    set_state(a, MP_CAP_AUTH_UNSUPPORTED, "malformed SPNEGO NegTokenInit");
		} else {
			keep_copy(a, &a->mech_types, &a->mech_types_len, in->mech_types_der.p,
			          in->mech_types_der.len);
			if (in->has_mech_token && in->mechs[0].mech == MP_SPNEGO_MECH_NTLMSSP)
				changed = on_ntlm(a, in->mech_token.p, in->mech_token.len);
		}
		talloc_free(in);
		return changed;
	}
	case MP_SPNEGO_TOKEN_RESP: {
		struct mp_spnego_resp rs;
		if (mp_spnego_parse_resp(tok, len, &rs) != MP_OK)
			return set_state(a, MP_CAP_AUTH_UNSUPPORTED,
			                 "malformed SPNEGO NegTokenResp");
		if (rs.has_supported_mech && rs.supported_mech.mech != MP_SPNEGO_MECH_NTLMSSP)
			return set_state(a, MP_CAP_AUTH_UNSUPPORTED,
			                 "SPNEGO chose %s: only NTLMSSP is decrypted",
			                 mp_spnego_mech_name(rs.supported_mech.mech));
		bool changed = false;
		if (rs.has_response_token)
			changed = on_ntlm(a, rs.response_token.p, rs.response_token.len);
		if (rs.has_mech_list_mic)
			changed |=
			    on_mech_list_mic(a, dir, rs.mech_list_mic.p, rs.mech_list_mic.len);
		return changed;
	}
	}
	/* Windows also takes bare NTLMSSP under auth type 9. */
	if (mp_ntlm_msg_type(tok, len) > 0)
		return on_ntlm(a, tok, len);
	return set_state(a, MP_CAP_AUTH_UNSUPPORTED,
	                 "an auth token that is neither SPNEGO nor NTLMSSP");
}

bool mp_cap_auth_token(struct mp_cap_auth *a, unsigned dir, const uint8_t *tok, size_t len)
{
	if (!len || dir > 1)
		return false;
	if (a->auth_type == MP_AUTH_TYPE_NTLMSSP)
		return on_ntlm(a, tok, len);
	if (a->auth_type == MP_AUTH_TYPE_SPNEGO)
		return on_spnego(a, dir, tok, len);
	return false;
}

/* ---- fragments ----------------------------------------------------------- */

const char *mp_cap_prot_name(enum mp_cap_prot p)
{
	switch (p) {
	case MP_CAP_PROT_NONE:
		return "none";
	case MP_CAP_PROT_VERIFIED:
		return "verified";
	case MP_CAP_PROT_DECRYPTED:
		return "decrypted";
	case MP_CAP_PROT_UNVERIFIED:
		return "unverified";
	case MP_CAP_PROT_SEALED:
		return "sealed";
	case MP_CAP_PROT_BAD:
		return "bad signature";
	case MP_CAP_PROT_MALFORMED:
		return "malformed trailer";
	}
	return "?";
}

void mp_cap_auth_lost(struct mp_cap_auth *a, unsigned dir)
{
	if (a && dir < 2)
		a->lost[dir] = true;
}

/* After lost bytes at PKT_INTEGRITY: each signature used 8 bytes of the RC4
 * stream (under key exchange) and one sequence number, so the next
 * signature's sequence number says how far to move. */
static bool resync_integrity(struct mp_cap_auth *a, unsigned dir, uint32_t seq_on_wire)
{
	struct mp_ntlm_dir *d = &a->dir[dir];
	uint32_t missed = seq_on_wire - d->seq;
	if (missed > (1u << 20))
		return false; /* behind us, or absurdly far: not a lost fragment */
	if (a->flags & MP_NTLMSSP_NEGOTIATE_KEY_EXCH) {
		uint8_t junk[64];
		for (uint64_t left = (uint64_t)missed * 8; left;) {
			size_t n = left < sizeof(junk) ? (size_t)left : sizeof(junk);
			memset(junk, 0, n);
			arcfour_crypt(&d->seal, n, junk, junk);
			left -= n;
		}
		mp_ntlm_wipe(junk, sizeof(junk));
	}
	d->seq = seq_on_wire;
	a->lost[dir] = false;
	return true;
}

enum mp_cap_prot mp_cap_auth_unprotect(struct mp_cap_auth *a, unsigned dir, uint8_t *frag,
                                       size_t len, const struct mp_pdu *pdu, const char **why)
{
	const char *scratch;
	if (!why)
		why = &scratch;
	*why = NULL;
	if (!pdu->has_auth)
		return MP_CAP_PROT_NONE;
	uint8_t level = pdu->auth.level;
	if (level <= MP_AUTH_LEVEL_CONNECT) {
		return MP_CAP_PROT_NONE;
	}
	bool seal = level == MP_AUTH_LEVEL_PKT_PRIVACY;
	size_t auth_len = pdu->hdr.auth_len;
	if (auth_len != MP_NTLM_SIG_LEN || len != pdu->hdr.frag_len ||
	    len < auth_len + MP_SEC_TRAILER_LEN) {
		*why = "the signature is not the 16 bytes of an NTLMSSP signature";
		return MP_CAP_PROT_MALFORMED;
	}
	if ((len - auth_len - MP_SEC_TRAILER_LEN) % MP_SEC_TRAILER_ALIGN) {
		*why = "the sec_trailer is not 4-aligned";
		return MP_CAP_PROT_MALFORMED;
	}
	if (dir > 1 || !a || a->state != MP_CAP_AUTH_READY) {
		*why = !a ? "no authentication seen for this auth context" : a->detail;
		return seal ? MP_CAP_PROT_SEALED : MP_CAP_PROT_UNVERIFIED;
	}
	size_t data_off = (size_t)(pdu->stub - frag);
	size_t data_len = pdu->stub_len + pdu->auth.pad_len;
	size_t msg_len = len - auth_len;
	if (data_off > msg_len || data_len > msg_len - data_off) {
		*why = "the auth pad does not fit";
		return MP_CAP_PROT_MALFORMED;
	}
	const uint8_t *sig = frag + msg_len;
	uint32_t seq_on_wire = mp_get_u32(sig + 12);
	if (a->lost[dir]) {
		if (seal || !resync_integrity(a, dir, seq_on_wire)) {
			*why = "bytes of this direction are missing from the capture: the key "
			       "stream cannot be followed past them";
			return seal ? MP_CAP_PROT_SEALED : MP_CAP_PROT_UNVERIFIED;
		}
	}
	struct mp_ntlm_dir *d = &a->dir[dir];
	uint32_t want_seq = d->seq;
	uint8_t want[MP_NTLM_SIG_LEN];
	bool kx = a->flags & MP_NTLMSSP_NEGOTIATE_KEY_EXCH;
	/* Sealing: RC4 over stub + pad, then the checksum with the same stream;
	   the MAC is over the plaintext (as mp_ntlm_unseal). */
	if (seal && data_len)
		arcfour_crypt(&d->seal, data_len, frag + data_off, frag + data_off);
	mp_ntlm_mac(d, kx, frag, msg_len, want);
	d->seq++;
	bool ok = mp_ntlm_ct_equal(want, sig, MP_NTLM_SIG_LEN);
	mp_ntlm_wipe(want, sizeof(want));
	if (ok)
		return seal ? MP_CAP_PROT_DECRYPTED : MP_CAP_PROT_VERIFIED;
	if (seq_on_wire != want_seq)
		*why = "signature mismatch (its sequence number is not the next one: a fragment "
		       "is missing or repeated)";
	else
		*why = "signature mismatch (tampered, or not the keys of this session)";
	return MP_CAP_PROT_BAD;
}
