#include "auth/ntlm_crypto.h"

#include "util/status.h"

#include <stdlib.h>
#include <string.h>

#include <nettle/des.h>
#include <nettle/hmac.h>
#include <nettle/md4.h>
#include <nettle/md5.h>
#include <nettle/memops.h>

#include "auth/ntlmssp.h"

void mp_ntlm_wipe(void *p, size_t len)
{
	if (p && len)
		explicit_bzero(p, len);
}

bool mp_ntlm_ct_equal(const void *a, const void *b, size_t n)
{
	return memeql_sec(a, b, n) != 0;
}

/* ---- UTF-8 / UTF-16LE ---------------------------------------------------- */

/* Decode one code point from s[*i..len); returns it or -1 if invalid. */
static long utf8_next(const unsigned char *s, size_t len, size_t *i)
{
	unsigned char c = s[*i];
	size_t need;
	unsigned long cp, min;
	if (c < 0x80) {
		*i += 1;
		return c;
	} else if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		cp = c & 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		cp = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		cp = c & 0x07;
		min = 0x10000;
	} else {
		return -1;
	}
	if (need > len - *i - 1)
		return -1;
	for (size_t k = 1; k <= need; k++) {
		unsigned char cc = s[*i + k];
		if ((cc & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (cc & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*i += need + 1;
	return (long)cp;
}

int mp_ntlm_utf8_to_utf16le(const char *s, size_t len, uint8_t **out, size_t *out_len)
{
	const unsigned char *u = (const unsigned char *)s;
	/* At most one UTF-16 unit (2 bytes) per input byte, plus 1 for malloc(0). */
	if (len > (SIZE_MAX - 1) / 2)
		return MP_ERR_LIMIT;
	uint8_t *buf = malloc(len * 2 + 1);
	if (!buf)
		return MP_ERR_NOMEM;
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		long cp = utf8_next(u, len, &i);
		if (cp < 0) {
			mp_ntlm_wipe(buf, len * 2 + 1);
			free(buf);
			return MP_ERR_PARSE;
		}
		if (cp >= 0x10000) {
			unsigned long v = (unsigned long)cp - 0x10000;
			mp_put_u16(buf + o, (uint16_t)(0xd800 | (v >> 10)));
			mp_put_u16(buf + o + 2, (uint16_t)(0xdc00 | (v & 0x3ff)));
			o += 4;
		} else {
			mp_put_u16(buf + o, (uint16_t)cp);
			o += 2;
		}
	}
	*out = buf;
	*out_len = o;
	return MP_OK;
}

int mp_ntlm_utf16le_to_utf8(const uint8_t *p, size_t len, char **out)
{
	if (len % 2)
		return MP_ERR_PARSE;
	/* Each UTF-16 unit becomes at most 3 UTF-8 bytes (a pair: 4 for 2 units). */
	size_t cap = len / 2 * 3 + 1;
	char *buf = malloc(cap);
	if (!buf)
		return MP_ERR_NOMEM;
	size_t o = 0;
	for (size_t i = 0; i < len; i += 2) {
		unsigned long cp = mp_get_u16(p + i);
		if (cp >= 0xd800 && cp <= 0xdbff) {
			unsigned long lo = i + 3 < len ? mp_get_u16(p + i + 2) : 0;
			if (lo < 0xdc00 || lo > 0xdfff)
				goto bad;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			i += 2;
		} else if ((cp >= 0xdc00 && cp <= 0xdfff) || cp == 0) {
			goto bad;
		}
		if (cp < 0x80) {
			buf[o++] = (char)cp;
		} else if (cp < 0x800) {
			buf[o++] = (char)(0xc0 | (cp >> 6));
			buf[o++] = (char)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			buf[o++] = (char)(0xe0 | (cp >> 12));
			buf[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			buf[o++] = (char)(0x80 | (cp & 0x3f));
		} else {
			buf[o++] = (char)(0xf0 | (cp >> 18));
			buf[o++] = (char)(0x80 | ((cp >> 12) & 0x3f));
			buf[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			buf[o++] = (char)(0x80 | (cp & 0x3f));
		}
	}
	buf[o] = '\0';
	*out = buf;
	return MP_OK;
bad:
	free(buf);
	return MP_ERR_PARSE;
}

static uint16_t upcase16(uint16_t c)
{
	if (c >= 'a' && c <= 'z')
		return (uint16_t)(c - 0x20);
	if (c < 0xe0)
		return c;
	if (c <= 0xfe)
		return c == 0xf7 ? c : (uint16_t)(c - 0x20);
	if (c == 0xff)
		return 0x178;
	if ((c >= 0x100 && c <= 0x137) || (c >= 0x14a && c <= 0x177))
		return (uint16_t)(c & ~1u); /* even = upper, odd = lower */
	if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
		return (c & 1) ? c : (uint16_t)(c - 1); /* odd = upper */
	if ((c >= 0x3b1 && c <= 0x3c1) || (c >= 0x3c3 && c <= 0x3cb))
		return (uint16_t)(c - 0x20);
	if (c == 0x3c2)
		return 0x3a3;
	if (c >= 0x430 && c <= 0x44f)
		return (uint16_t)(c - 0x20);
	if (c >= 0x450 && c <= 0x45f)
		return (uint16_t)(c - 0x50);
	return c;
}

void mp_ntlm_utf16le_upper(uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		mp_put_u16(p + i, upcase16(mp_get_u16(p + i)));
}

/* ---- hashes --------------------------------------------------------------- */

static void hmac_md5(const uint8_t *key, size_t key_len, const uint8_t *a, size_t a_len,
                     const uint8_t *b, size_t b_len, uint8_t out[MD5_DIGEST_SIZE])
{
	struct hmac_md5_ctx h;
	hmac_md5_set_key(&h, key_len, key);
	hmac_md5_update(&h, a_len, a);
	if (b_len)
		hmac_md5_update(&h, b_len, b);
	hmac_md5_digest(&h, MD5_DIGEST_SIZE, out);
	mp_ntlm_wipe(&h, sizeof(h));
}

int mp_ntlm_ntowfv1(const char *password, uint8_t nt_hash[MP_NTLM_HASH_LEN])
{
	uint8_t *u16;
	size_t n;
	int rc = mp_ntlm_utf8_to_utf16le(password, strlen(password), &u16, &n);
	if (rc != MP_OK)
		return rc;
	struct md4_ctx md4;
	md4_init(&md4);
	md4_update(&md4, n, u16);
	md4_digest(&md4, MD4_DIGEST_SIZE, nt_hash);
	mp_ntlm_wipe(&md4, sizeof(md4));
	mp_ntlm_wipe(u16, n);
	free(u16);
	return MP_OK;
}

int mp_ntlm_ntowfv2_u16(const uint8_t nt_hash[MP_NTLM_HASH_LEN], const uint8_t *user16,
                        size_t user16_len, const uint8_t *domain16, size_t domain16_len,
                        uint8_t out[MP_NTLM_HASH_LEN])
{
	uint8_t *up = malloc(user16_len + 1);
	if (!up)
		return MP_ERR_NOMEM;
	if (user16_len)
		memcpy(up, user16, user16_len);
	mp_ntlm_utf16le_upper(up, user16_len);
	hmac_md5(nt_hash, MP_NTLM_HASH_LEN, up, user16_len, domain16, domain16_len, out);
	free(up);
	return MP_OK;
}

int mp_ntlm_ntowfv2(const uint8_t nt_hash[MP_NTLM_HASH_LEN], const char *user, const char *domain,
                    uint8_t out[MP_NTLM_HASH_LEN])
{
	uint8_t *u = NULL, *d = NULL;
	size_t ul, dl;
	int rc = mp_ntlm_utf8_to_utf16le(user, strlen(user), &u, &ul);
	if (rc == MP_OK)
		rc = mp_ntlm_utf8_to_utf16le(domain, strlen(domain), &d, &dl);
	if (rc == MP_OK)
		rc = mp_ntlm_ntowfv2_u16(nt_hash, u, ul, d, dl, out);
	free(u);
	free(d);
	return rc;
}

int mp_ntlm_ntowfv2_password(const char *password, const char *user, const char *domain,
                             uint8_t out[MP_NTLM_HASH_LEN])
{
	uint8_t nt[MP_NTLM_HASH_LEN];
	int rc = mp_ntlm_ntowfv1(password, nt);
	if (rc == MP_OK)
		rc = mp_ntlm_ntowfv2(nt, user, domain, out);
	mp_ntlm_wipe(nt, sizeof(nt));
	return rc;
}

/* ---- NTLMv2 --------------------------------------------------------------- */

void mp_ntlm_v2_temp(struct mp_wbuf *wb, uint64_t time, const uint8_t client_chal[8],
                     const uint8_t *av, size_t av_len)
{
	mp_wb_u8(wb, 1); /* RespType */
	mp_wb_u8(wb, 1); /* HiRespType */
	mp_wb_zeros(wb, 6);
	mp_wb_u32(wb, (uint32_t)time);
	mp_wb_u32(wb, (uint32_t)(time >> 32));
	mp_wb_bytes(wb, client_chal, MP_NTLM_CHALLENGE_LEN);
	mp_wb_zeros(wb, 4);
	mp_wb_bytes(wb, av, av_len);
	mp_wb_zeros(wb, 4);
}

void mp_ntlm_v2_proof(const uint8_t key[MP_NTLM_HASH_LEN], const uint8_t server_chal[8],
                      const uint8_t *temp, size_t temp_len, uint8_t proof[MP_NTLM_HASH_LEN])
{
	hmac_md5(key, MP_NTLM_HASH_LEN, server_chal, MP_NTLM_CHALLENGE_LEN, temp, temp_len, proof);
}

void mp_ntlm_v2_session_base_key(const uint8_t key[MP_NTLM_HASH_LEN],
                                 const uint8_t proof[MP_NTLM_HASH_LEN],
                                 uint8_t out[MP_NTLM_HASH_LEN])
{
	hmac_md5(key, MP_NTLM_HASH_LEN, proof, MP_NTLM_HASH_LEN, NULL, 0, out);
}

void mp_ntlm_lmv2_response(const uint8_t key[MP_NTLM_HASH_LEN], const uint8_t server_chal[8],
                           const uint8_t client_chal[8], uint8_t out[MP_NTLM_V1_RESP_LEN])
{
	hmac_md5(key, MP_NTLM_HASH_LEN, server_chal, MP_NTLM_CHALLENGE_LEN, client_chal,
	         MP_NTLM_CHALLENGE_LEN, out);
	memcpy(out + MP_NTLM_HASH_LEN, client_chal, MP_NTLM_CHALLENGE_LEN);
}

void mp_ntlm_v2_response(const uint8_t key[MP_NTLM_HASH_LEN], const uint8_t server_chal[8],
                         const uint8_t client_chal[8], uint64_t time, const uint8_t *av,
                         size_t av_len, struct mp_wbuf *nt_resp,
                         uint8_t lm_resp[MP_NTLM_V1_RESP_LEN],
                         uint8_t session_base_key[MP_NTLM_HASH_LEN])
{
	size_t start = nt_resp->len;
	uint8_t proof[MP_NTLM_HASH_LEN];
	mp_wb_zeros(nt_resp, MP_NTLM_HASH_LEN); /* NTProofStr, filled below */
	mp_ntlm_v2_temp(nt_resp, time, client_chal, av, av_len);
	if (nt_resp->bad)
		return;
	size_t temp_off = start + MP_NTLM_HASH_LEN;
	mp_ntlm_v2_proof(key, server_chal, nt_resp->data + temp_off, nt_resp->len - temp_off,
	                 proof);
	memcpy(nt_resp->data + start, proof, MP_NTLM_HASH_LEN);
	mp_ntlm_lmv2_response(key, server_chal, client_chal, lm_resp);
	mp_ntlm_v2_session_base_key(key, proof, session_base_key);
}

/* ---- NTLMv1 --------------------------------------------------------------- */

/* Spread 56 key bits (7 bytes) over the 8 bytes DES takes (parity ignored). */
static void des_key56(const uint8_t in[7], uint8_t out[8])
{
	out[0] = in[0];
	out[1] = (uint8_t)((in[0] << 7) | (in[1] >> 1));
	out[2] = (uint8_t)((in[1] << 6) | (in[2] >> 2));
	out[3] = (uint8_t)((in[2] << 5) | (in[3] >> 3));
	out[4] = (uint8_t)((in[3] << 4) | (in[4] >> 4));
	out[5] = (uint8_t)((in[4] << 3) | (in[5] >> 5));
	out[6] = (uint8_t)((in[5] << 2) | (in[6] >> 6));
	out[7] = (uint8_t)(in[6] << 1);
}

static void des7(const uint8_t key7[7], const uint8_t data[8], uint8_t out[8])
{
	uint8_t k[8];
	struct des_ctx des;
	des_key56(key7, k);
	(void)des_set_key(&des, k); /* weak keys are still usable here */
	des_encrypt(&des, DES_BLOCK_SIZE, out, data);
	mp_ntlm_wipe(&des, sizeof(des));
	mp_ntlm_wipe(k, sizeof(k));
}

void mp_ntlm_desl(const uint8_t key[MP_NTLM_HASH_LEN], const uint8_t data[8],
                  uint8_t out[MP_NTLM_V1_RESP_LEN])
{
	uint8_t k3[7] = {key[14], key[15], 0, 0, 0, 0, 0};
	des7(key, data, out);
	des7(key + 7, data, out + 8);
	des7(k3, data, out + 16);
	mp_ntlm_wipe(k3, sizeof(k3));
}

void mp_ntlm_v1_ess_challenge(const uint8_t server_chal[8], const uint8_t client_chal[8],
                              uint8_t out[8])
{
	uint8_t d[MD5_DIGEST_SIZE];
	struct md5_ctx md5;
	md5_init(&md5);
	md5_update(&md5, MP_NTLM_CHALLENGE_LEN, server_chal);
	md5_update(&md5, MP_NTLM_CHALLENGE_LEN, client_chal);
	md5_digest(&md5, MD5_DIGEST_SIZE, d);
	memcpy(out, d, 8);
}

void mp_ntlm_v1_session_base_key(const uint8_t nt_hash[MP_NTLM_HASH_LEN],
                                 uint8_t out[MP_NTLM_HASH_LEN])
{
	struct md4_ctx md4;
	md4_init(&md4);
	md4_update(&md4, MP_NTLM_HASH_LEN, nt_hash);
	md4_digest(&md4, MD4_DIGEST_SIZE, out);
	mp_ntlm_wipe(&md4, sizeof(md4));
}

void mp_ntlm_v1_ess_kxkey(const uint8_t session_base_key[MP_NTLM_HASH_LEN],
                          const uint8_t server_chal[8], const uint8_t lm_resp8[8],
                          uint8_t out[MP_NTLM_HASH_LEN])
{
	hmac_md5(session_base_key, MP_NTLM_HASH_LEN, server_chal, MP_NTLM_CHALLENGE_LEN, lm_resp8,
	         8, out);
}

/* ---- key exchange, key derivation, MIC ------------------------------------ */

void mp_ntlm_rc4k(const uint8_t key[MP_NTLM_HASH_LEN], const uint8_t *in, uint8_t *out, size_t len)
{
	struct arcfour_ctx rc4;
	arcfour_set_key(&rc4, MP_NTLM_HASH_LEN, key);
	arcfour_crypt(&rc4, len, out, in);
	mp_ntlm_wipe(&rc4, sizeof(rc4));
}

/* The magic constants include their terminating NUL ([MS-NLMP] 3.4.5.2/3). */
static const char cli_sign_magic[] = "session key to client-to-server signing key magic constant";
static const char srv_sign_magic[] = "session key to server-to-client signing key magic constant";
static const char cli_seal_magic[] = "session key to client-to-server sealing key magic constant";
static const char srv_seal_magic[] = "session key to server-to-client sealing key magic constant";

static void md5_key_magic(const uint8_t *key, size_t key_len, const char *magic, size_t magic_len,
                          uint8_t out[MP_NTLM_HASH_LEN])
{
	struct md5_ctx md5;
	md5_init(&md5);
	md5_update(&md5, key_len, key);
	md5_update(&md5, magic_len, (const uint8_t *)magic);
	md5_digest(&md5, MD5_DIGEST_SIZE, out);
	mp_ntlm_wipe(&md5, sizeof(md5));
}

void mp_ntlm_signkey(const uint8_t exported[MP_NTLM_HASH_LEN], bool client_to_server,
                     uint8_t out[MP_NTLM_HASH_LEN])
{
	if (client_to_server)
		md5_key_magic(exported, MP_NTLM_HASH_LEN, cli_sign_magic, sizeof(cli_sign_magic),
		              out);
	else
		md5_key_magic(exported, MP_NTLM_HASH_LEN, srv_sign_magic, sizeof(srv_sign_magic),
		              out);
}

size_t mp_ntlm_sealkey(uint32_t flags, const uint8_t exported[MP_NTLM_HASH_LEN],
                       bool client_to_server, uint8_t out[MP_NTLM_HASH_LEN])
{
	if (flags & MP_NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY) {
		size_t n = (flags & MP_NTLMSSP_NEGOTIATE_128)  ? 16
		           : (flags & MP_NTLMSSP_NEGOTIATE_56) ? 7
		                                               : 5;
		if (client_to_server)
			md5_key_magic(exported, n, cli_seal_magic, sizeof(cli_seal_magic), out);
		else
			md5_key_magic(exported, n, srv_seal_magic, sizeof(srv_seal_magic), out);
		return MP_NTLM_HASH_LEN;
	}
	if (flags & MP_NTLMSSP_NEGOTIATE_LM_KEY) {
		memcpy(out, exported, 8);
		if (flags & MP_NTLMSSP_NEGOTIATE_56) {
			out[7] = 0xa0;
		} else {
			out[5] = 0xe5;
			out[6] = 0x38;
			out[7] = 0xb0;
		}
		return 8;
	}
	memcpy(out, exported, MP_NTLM_HASH_LEN);
	return MP_NTLM_HASH_LEN;
}

void mp_ntlm_mic(const uint8_t exported[MP_NTLM_HASH_LEN], const uint8_t *neg, size_t neg_len,
                 const uint8_t *chal, size_t chal_len, const uint8_t *auth, size_t auth_len,
                 uint8_t out[MP_NTLM_HASH_LEN])
{
	struct hmac_md5_ctx h;
	hmac_md5_set_key(&h, MP_NTLM_HASH_LEN, exported);
	hmac_md5_update(&h, neg_len, neg);
	hmac_md5_update(&h, chal_len, chal);
	hmac_md5_update(&h, auth_len, auth);
	hmac_md5_digest(&h, MD5_DIGEST_SIZE, out);
	mp_ntlm_wipe(&h, sizeof(h));
}

/* ---- per-direction session security --------------------------------------- */

void mp_ntlm_dir_init(struct mp_ntlm_dir *d, uint32_t flags,
                      const uint8_t exported[MP_NTLM_HASH_LEN], bool client_to_server)
{
	uint8_t seal[MP_NTLM_HASH_LEN];
	size_t n = mp_ntlm_sealkey(flags, exported, client_to_server, seal);
	mp_ntlm_signkey(exported, client_to_server, d->sign_key);
	arcfour_set_key(&d->seal, n, seal);
	d->seq = 0;
	mp_ntlm_wipe(seal, sizeof(seal));
}

void mp_ntlm_mac(struct mp_ntlm_dir *d, bool key_exch, const uint8_t *msg, size_t len,
                 uint8_t sig[MP_NTLM_SIG_LEN])
{
	uint8_t seq[4], digest[MD5_DIGEST_SIZE];
	struct hmac_md5_ctx h;
	mp_put_u32(seq, d->seq);
	hmac_md5_set_key(&h, MP_NTLM_HASH_LEN, d->sign_key);
	hmac_md5_update(&h, sizeof(seq), seq);
	hmac_md5_update(&h, len, msg);
	hmac_md5_digest(&h, MD5_DIGEST_SIZE, digest);
	mp_ntlm_wipe(&h, sizeof(h));
	mp_put_u32(sig, 1); /* Version */
	if (key_exch)
		arcfour_crypt(&d->seal, 8, sig + 4, digest);
	else
		memcpy(sig + 4, digest, 8);
	memcpy(sig + 12, seq, 4);
	mp_ntlm_wipe(digest, sizeof(digest));
}
