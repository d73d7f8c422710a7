/*
 * SPNEGO tokens (strict DER) and NTLMSSP-in-SPNEGO helpers; see spnego.h.
 */
#include "auth/spnego.h"

#include "auth/ntlmssp.h"
#include "util/status.h"

#include <stdio.h>
#include <string.h>

/* ---- OIDs ------------------------------------------------------------------ */

static const uint8_t oid_spnego[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};
static const uint8_t oid_ntlmssp[] = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a};
static const uint8_t oid_krb5[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};
static const uint8_t oid_ms_krb5[] = {0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02};
static const uint8_t oid_krb5_u2u[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x03};
static const uint8_t oid_negoex[] = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x1e};

static const struct {
	enum mp_spnego_mech mech;
	const char *name;
	const uint8_t *der;
	size_t len;
} mech_table[] = {
    {MP_SPNEGO_MECH_NTLMSSP, "ntlmssp", oid_ntlmssp, sizeof(oid_ntlmssp)},
    {MP_SPNEGO_MECH_KRB5, "krb5", oid_krb5, sizeof(oid_krb5)},
    {MP_SPNEGO_MECH_MS_KRB5, "ms-krb5", oid_ms_krb5, sizeof(oid_ms_krb5)},
    {MP_SPNEGO_MECH_KRB5_U2U, "krb5-u2u", oid_krb5_u2u, sizeof(oid_krb5_u2u)},
    {MP_SPNEGO_MECH_NEGOEX, "negoex", oid_negoex, sizeof(oid_negoex)},
};

#define N_MECHS (sizeof(mech_table) / sizeof(mech_table[0]))

enum mp_spnego_mech mp_spnego_mech_of(const uint8_t *der, size_t len)
{
	for (size_t i = 0; i < N_MECHS; i++)
		if (len == mech_table[i].len && memcmp(der, mech_table[i].der, len) == 0)
			return mech_table[i].mech;
	return MP_SPNEGO_MECH_OTHER;
}

struct mp_spnego_bytes mp_spnego_mech_oid(enum mp_spnego_mech mech)
{
	for (size_t i = 0; i < N_MECHS; i++)
		if (mech_table[i].mech == mech)
			return (struct mp_spnego_bytes){mech_table[i].der, mech_table[i].len};
	return (struct mp_spnego_bytes){NULL, 0};
}

const char *mp_spnego_mech_name(enum mp_spnego_mech mech)
{
	for (size_t i = 0; i < N_MECHS; i++)
		if (mech_table[i].mech == mech)
			return mech_table[i].name;
	return "other";
}

const char *mp_spnego_neg_state_name(unsigned state)
{
	switch (state) {
	case MP_SPNEGO_ACCEPT_COMPLETED:
		return "accept-completed";
	case MP_SPNEGO_ACCEPT_INCOMPLETE:
		return "accept-incomplete";
	case MP_SPNEGO_REJECT:
		return "reject";
	case MP_SPNEGO_REQUEST_MIC:
		return "request-mic";
	}
	return "unknown";
}

/*
 * OID content octets in DER (X.690 8.19): at least one octet, every
 * sub-identifier minimal (does not start with 0x80) and terminated (the
 * last octet has bit 8 clear).
 */
static bool oid_valid(const uint8_t *p, size_t len)
{
	if (len == 0 || (p[len - 1] & 0x80))
		return false;
	bool start = true;
	for (size_t i = 0; i < len; i++) {
		if (start && p[i] == 0x80)
			return false;
		start = !(p[i] & 0x80);
	}
	return true;
}

/* Every sub-identifier fits in 64 bits (after oid_valid). */
static bool oid_arcs_fit(const uint8_t *p, size_t len)
{
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (v > (UINT64_MAX >> 7))
			return false;
		v = (p[i] & 0x80) ? (v << 7) | (p[i] & 0x7f) : 0;
	}
	return true;
}

char *mp_spnego_oid_str(const uint8_t *der, size_t len, char *buf, size_t buflen)
{
	if (buflen == 0)
		return buf;
	buf[0] = '\0';
	if (!der || !oid_valid(der, len) || !oid_arcs_fit(der, len)) {
		snprintf(buf, buflen, "?");
		return buf;
	}
	size_t used = 0;
	uint64_t v = 0;
	bool first = true;
	for (size_t i = 0; i < len; i++) {
		v = (v << 7) | (der[i] & 0x7f);
		if (der[i] & 0x80)
			continue;
		int n;
		if (first) {
			/* The first sub-identifier packs two arcs: 40 * X + Y, X <= 2. */
			unsigned x = v < 40 ? 0 : v < 80 ? 1 : 2;
			n = snprintf(buf + used, buflen - used, "%u.%llu", x,
			             (unsigned long long)(v - 40u * x));
			first = false;
		} else {
			n = snprintf(buf + used, buflen - used, ".%llu", (unsigned long long)v);
		}
		if (n < 0 || (size_t)n >= buflen - used)
			return buf; /* truncated (snprintf has terminated it) */
		used += (size_t)n;
		v = 0;
	}
	return buf;
}

/* ---- DER reading ------------------------------------------------------------ */

/* Tags used here (all single-octet). */
#define T_BIT_STRING 0x03
#define T_OCTET_STRING 0x04
#define T_OID 0x06
#define T_ENUMERATED 0x0a
#define T_GENERAL_STRING 0x1b
#define T_SEQUENCE 0x30
#define T_APP0 0x60
#define T_CTX(n) (0xa0 + (n)) /* [n], constructed (explicit tagging) */

struct tlv {
	uint8_t tag;
	const uint8_t *p; /* content */
	size_t len;
	const uint8_t *tlv; /* tag octet onwards */
	size_t tlv_len;
};

/*
 * Read one TLV at the cursor. Strict DER: a low tag number, a definite
 * length in the shortest form with at most four length octets, the content
 * inside the window.
 */
static int der_read(struct mp_rcursor *rc, struct tlv *t)
{
	size_t off0 = rc->off;
	t->tag = mp_rc_u8(rc);
	uint8_t b = mp_rc_u8(rc);
	if (rc->bad || (t->tag & 0x1f) == 0x1f)
		return MP_ERR_PARSE;
	size_t len = b;
	if (b & 0x80) {
		unsigned n = b & 0x7f;
		if (n == 0 || n > 4) /* 0x80: indefinite; more than 4: too long for us */
			return MP_ERR_PARSE;
		len = 0;
		for (unsigned i = 0; i < n; i++)
			len = (len << 8) | mp_rc_u8(rc);
		/* Minimal: long form only from 128, no leading zero octet. */
		if (rc->bad || len < 0x80 || (len >> (8 * (n - 1))) == 0)
			return MP_ERR_PARSE;
	}
	if (len > mp_rc_left(rc))
		return MP_ERR_PARSE;
	t->p = mp_rc_take(rc, len);
	t->len = len;
	t->tlv = rc->data + off0; /* not before: data may be NULL for an empty window */
	t->tlv_len = rc->off - off0;
	return MP_OK;
}

static int der_expect(struct mp_rcursor *rc, uint8_t tag, struct tlv *t)
{
	int r = der_read(rc, t);
	if (r != MP_OK)
		return r;
	return t->tag == tag ? MP_OK : MP_ERR_PARSE;
}

/*
 * The content of an explicitly tagged field: exactly one TLV with `tag`.
 */
static int der_inner(const struct tlv *field, uint8_t tag, struct tlv *t)
{
	struct mp_rcursor rc;
	mp_rc_init(&rc, field->p, field->len);
	int r = der_expect(&rc, tag, t);
	if (r != MP_OK)
		return r;
	return mp_rc_left(&rc) == 0 ? MP_OK : MP_ERR_PARSE;
}

static int der_bytes(const struct tlv *field, uint8_t tag, struct mp_spnego_bytes *out)
{
	struct tlv t;
	int r = der_inner(field, tag, &t);
	if (r == MP_OK)
		*out = (struct mp_spnego_bytes){t.p, t.len};
	return r;
}

static int der_oid(const struct tlv *field, struct mp_spnego_oid *out)
{
	struct mp_spnego_bytes b;
	int r = der_bytes(field, T_OID, &b);
	if (r != MP_OK)
		return r;
	if (!oid_valid(b.p, b.len))
		return MP_ERR_PARSE;
	out->der = b;
	out->mech = mp_spnego_mech_of(b.p, b.len);
	return MP_OK;
}

/* BIT STRING content: the unused-bits octet (0..7; 0 when there are no bits). */
static bool bit_string_valid(const uint8_t *p, size_t len)
{
	return len >= 1 && p[0] <= 7 && (len > 1 || p[0] == 0);
}

/*
 * The fields of a SEQUENCE of explicitly tagged [n] fields: next one, whose
 * number must be above *last (DER order, each at most once) and at most
 * max. Returns MP_OK with *n set, MP_DONE at the end, MP_ERR_PARSE.
 */
static int next_field(struct mp_rcursor *rc, int *last, int max, struct tlv *t, int *n)
{
	if (mp_rc_left(rc) == 0)
		return rc->bad ? MP_ERR_PARSE : MP_DONE;
	int r = der_read(rc, t);
	if (r != MP_OK)
		return r;
	if (t->tag < T_CTX(0) || t->tag > T_CTX(max))
		return MP_ERR_PARSE;
	*n = t->tag - T_CTX(0);
	if (*n <= *last)
		return MP_ERR_PARSE;
	*last = *n;
	return MP_OK;
}

static int parse_mech_types(const struct tlv *field, struct mp_spnego_init *out)
{
	struct tlv seq;
	int r = der_inner(field, T_SEQUENCE, &seq);
	if (r != MP_OK)
		return r;
	out->mech_types_der = (struct mp_spnego_bytes){seq.tlv, seq.tlv_len};
	struct mp_rcursor rc;
	mp_rc_init(&rc, seq.p, seq.len);
	while (mp_rc_left(&rc) > 0) {
		struct tlv oid;
		r = der_expect(&rc, T_OID, &oid);
		if (r != MP_OK)
			return r;
		if (!oid_valid(oid.p, oid.len))
			return MP_ERR_PARSE;
		if (out->n_mechs == MP_SPNEGO_MAX_MECHS)
			return MP_ERR_LIMIT;
		struct mp_spnego_oid *m = &out->mechs[out->n_mechs++];
		m->der = (struct mp_spnego_bytes){oid.p, oid.len};
		m->mech = mp_spnego_mech_of(oid.p, oid.len);
	}
	return out->n_mechs > 0 ? MP_OK : MP_ERR_PARSE;
}

/* NegHints ::= SEQUENCE { hintName [0] GeneralString OPTIONAL, hintAddress [1] OCTET STRING
 * OPTIONAL } */
static int parse_neg_hints(const struct tlv *seq, struct mp_spnego_init *out)
{
	struct mp_rcursor rc;
	mp_rc_init(&rc, seq->p, seq->len);
	int last = -1, n, r;
	struct tlv f;
	while ((r = next_field(&rc, &last, 1, &f, &n)) == MP_OK) {
		if (n == 0) {
			r = der_bytes(&f, T_GENERAL_STRING, &out->hint_name);
			out->has_hint_name = true;
		} else {
			r = der_bytes(&f, T_OCTET_STRING, &out->hint_address);
			out->has_hint_address = true;
		}
		if (r != MP_OK)
			return r;
	}
	out->has_neg_hints = true;
	out->is_init2 = true;
	return r == MP_DONE ? MP_OK : r;
}

int mp_spnego_token_type(const uint8_t *tok, size_t len)
{
	if (!tok || len == 0)
		return MP_ERR_PARSE;
	if (tok[0] == T_APP0)
		return MP_SPNEGO_TOKEN_INIT;
	if (tok[0] == T_CTX(1))
		return MP_SPNEGO_TOKEN_RESP;
	return MP_ERR_PARSE;
}

/* Open tok as a single TLV with `tag` covering all of it. */
static int open_whole(const uint8_t *tok, size_t len, uint8_t tag, struct tlv *t)
{
	struct mp_rcursor rc;
	mp_rc_init(&rc, tok, tok ? len : 0);
	int r = der_expect(&rc, tag, t);
	if (r != MP_OK)
		return r;
	return mp_rc_left(&rc) == 0 ? MP_OK : MP_ERR_PARSE;
}

static int parse_init(const uint8_t *tok, size_t len, struct mp_spnego_init *out)
{
	struct tlv app, oid, nt, seq, f;
	int r = open_whole(tok, len, T_APP0, &app);
	if (r != MP_OK)
		return r;
	struct mp_rcursor rc;
	mp_rc_init(&rc, app.p, app.len);
	if ((r = der_expect(&rc, T_OID, &oid)) != MP_OK)
		return r;
	if (oid.len != sizeof(oid_spnego) || memcmp(oid.p, oid_spnego, oid.len) != 0)
		return MP_ERR_PARSE;
	if ((r = der_expect(&rc, T_CTX(0), &nt)) != MP_OK)
		return r;
	if (mp_rc_left(&rc) != 0)
		return MP_ERR_PARSE;
	if ((r = der_inner(&nt, T_SEQUENCE, &seq)) != MP_OK)
		return r;

	mp_rc_init(&rc, seq.p, seq.len);
	int last = -1, n;
	bool mic3 = false;
	while ((r = next_field(&rc, &last, 4, &f, &n)) == MP_OK) {
		switch (n) {
		case 0:
			r = parse_mech_types(&f, out);
			break;
		case 1:
			r = der_bytes(&f, T_BIT_STRING, &out->req_flags);
			if (r == MP_OK && !bit_string_valid(out->req_flags.p, out->req_flags.len))
				r = MP_ERR_PARSE;
			out->has_req_flags = true;
			break;
		case 2:
			r = der_bytes(&f, T_OCTET_STRING, &out->mech_token);
			out->has_mech_token = true;
			break;
		case 3: {
			/* RFC 4178 mechListMIC (OCTET STRING) or MS-SPNG negHints (SEQUENCE). */
			struct tlv in;
			struct mp_rcursor in_rc;
			mp_rc_init(&in_rc, f.p, f.len);
			r = der_read(&in_rc, &in);
			if (r != MP_OK)
				break;
			if (in.tag == T_SEQUENCE) {
				r = der_inner(&f, T_SEQUENCE, &in);
				if (r == MP_OK)
					r = parse_neg_hints(&in, out);
			} else {
				r = der_bytes(&f, T_OCTET_STRING, &out->mech_list_mic);
				out->has_mech_list_mic = true;
				mic3 = true;
			}
			break;
		}
		case 4:
			/* NegTokenInit2's mechListMIC; not after an RFC [3] mechListMIC. */
			if (mic3)
				return MP_ERR_PARSE;
			r = der_bytes(&f, T_OCTET_STRING, &out->mech_list_mic);
			out->has_mech_list_mic = true;
			out->is_init2 = true;
			break;
		}
		if (r != MP_OK)
			return r;
	}
	if (r != MP_DONE)
		return r;
	/* mechTypes is required (RFC 4178; we need it for the choice and the MIC). */
	return out->n_mechs > 0 ? MP_OK : MP_ERR_PARSE;
}

int mp_spnego_parse_init(const uint8_t *tok, size_t len, struct mp_spnego_init *out)
{
	memset(out, 0, sizeof(*out));
	int r = parse_init(tok, len, out);
	if (r != MP_OK)
		memset(out, 0, sizeof(*out));
	return r;
}

static int parse_resp(const uint8_t *tok, size_t len, struct mp_spnego_resp *out)
{
	struct tlv resp, seq, f;
	int r = open_whole(tok, len, T_CTX(1), &resp);
	if (r != MP_OK)
		return r;
	if ((r = der_inner(&resp, T_SEQUENCE, &seq)) != MP_OK)
		return r;
	struct mp_rcursor rc;
	mp_rc_init(&rc, seq.p, seq.len);
	int last = -1, n;
	while ((r = next_field(&rc, &last, 3, &f, &n)) == MP_OK) {
		switch (n) {
		case 0: {
			struct mp_spnego_bytes e;
			r = der_bytes(&f, T_ENUMERATED, &e);
			/* One octet (DER minimal), a known state. */
			if (r == MP_OK && (e.len != 1 || e.p[0] > MP_SPNEGO_REQUEST_MIC))
				r = MP_ERR_PARSE;
			if (r == MP_OK)
				out->neg_state = e.p[0];
			out->has_neg_state = true;
			break;
		}
		case 1:
			r = der_oid(&f, &out->supported_mech);
			out->has_supported_mech = true;
			break;
		case 2:
			r = der_bytes(&f, T_OCTET_STRING, &out->response_token);
			out->has_response_token = true;
			break;
		case 3:
			r = der_bytes(&f, T_OCTET_STRING, &out->mech_list_mic);
			out->has_mech_list_mic = true;
			break;
		}
		if (r != MP_OK)
			return r;
	}
	return r == MP_DONE ? MP_OK : r;
}

int mp_spnego_parse_resp(const uint8_t *tok, size_t len, struct mp_spnego_resp *out)
{
	memset(out, 0, sizeof(*out));
	int r = parse_resp(tok, len, out);
	if (r != MP_OK)
		memset(out, 0, sizeof(*out));
	return r;
}

/* ---- DER writing ------------------------------------------------------------ */

/* Octets of a DER length field for n (n < 2^32). */
static size_t len_size(size_t n)
{
	return n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x1000000 ? 4 : 5;
}

/* Size of a TLV with `content` octets. */
static size_t tlv_size(size_t content)
{
	return 1 + len_size(content) + content;
}

/* Size of [n] { tag content }: an explicitly tagged primitive. */
static size_t field_size(size_t content)
{
	return tlv_size(tlv_size(content));
}

static void put_hdr(struct mp_wbuf *wb, uint8_t tag, size_t len)
{
	mp_wb_u8(wb, tag);
	size_t n = len_size(len);
	if (n == 1) {
		mp_wb_u8(wb, (uint8_t)len);
		return;
	}
	mp_wb_u8(wb, (uint8_t)(0x80 | (n - 1)));
	for (size_t i = n - 1; i > 0; i--)
		mp_wb_u8(wb, (uint8_t)(len >> (8 * (i - 1))));
}

static void put_tlv(struct mp_wbuf *wb, uint8_t tag, const uint8_t *p, size_t len)
{
	put_hdr(wb, tag, len);
	if (len)
		mp_wb_bytes(wb, p, len);
}

/* [n] { tag p } */
static void put_field(struct mp_wbuf *wb, uint8_t n, uint8_t tag, const uint8_t *p, size_t len)
{
	put_hdr(wb, T_CTX(n), tlv_size(len));
	put_tlv(wb, tag, p, len);
}

/* The OID bytes an encoder writes for m (its der, else its mechanism's). */
static int enc_oid(const struct mp_spnego_oid *m, struct mp_spnego_bytes *out)
{
	*out = m->der.len ? m->der : mp_spnego_mech_oid(m->mech);
	if (!out->p || !oid_valid(out->p, out->len))
		return MP_ERR_PARSE;
	return out->len > MP_SPNEGO_MAX_FIELD ? MP_ERR_LIMIT : MP_OK;
}

static int check_field(bool has, struct mp_spnego_bytes b)
{
	if (!has)
		return MP_OK;
	if (b.len > MP_SPNEGO_MAX_FIELD)
		return MP_ERR_LIMIT;
	return b.len && !b.p ? MP_ERR_PARSE : MP_OK;
}

/* Content size of the mechTypes SEQUENCE OF; checks the OIDs. */
static int mech_types_content(const struct mp_spnego_oid *mechs, size_t n, size_t *size)
{
	if (n == 0)
		return MP_ERR_PARSE;
	if (n > MP_SPNEGO_MAX_MECHS)
		return MP_ERR_LIMIT;
	*size = 0;
	for (size_t i = 0; i < n; i++) {
		struct mp_spnego_bytes b;
		int r = enc_oid(&mechs[i], &b);
		if (r != MP_OK)
			return r;
		*size += tlv_size(b.len);
	}
	return MP_OK;
}

static void put_mech_types(struct mp_wbuf *wb, const struct mp_spnego_oid *mechs, size_t n,
                           size_t content)
{
	put_hdr(wb, T_SEQUENCE, content);
	for (size_t i = 0; i < n; i++) {
		struct mp_spnego_bytes b;
		(void)enc_oid(&mechs[i], &b);
		put_tlv(wb, T_OID, b.p, b.len);
	}
}

static int finish(struct mp_wbuf *wb, size_t start)
{
	if (wb->bad) {
		if (wb->len > start)
			wb->len = start;
		return MP_ERR_NOMEM;
	}
	return MP_OK;
}

int mp_spnego_encode_mech_types(struct mp_wbuf *wb, const struct mp_spnego_oid *mechs, size_t n)
{
	size_t content;
	int r = mech_types_content(mechs, n, &content);
	if (r != MP_OK)
		return r;
	size_t start = wb->len;
	put_mech_types(wb, mechs, n, content);
	return finish(wb, start);
}

int mp_spnego_encode_init(struct mp_wbuf *wb, const struct mp_spnego_init *t)
{
	size_t mt;
	int r = mech_types_content(t->mechs, t->n_mechs, &mt);
	if (r == MP_OK)
		r = check_field(t->has_req_flags, t->req_flags);
	if (r == MP_OK)
		r = check_field(t->has_mech_token, t->mech_token);
	if (r == MP_OK)
		r = check_field(t->has_neg_hints && t->has_hint_name, t->hint_name);
	if (r == MP_OK)
		r = check_field(t->has_neg_hints && t->has_hint_address, t->hint_address);
	if (r == MP_OK)
		r = check_field(t->has_mech_list_mic, t->mech_list_mic);
	if (r != MP_OK)
		return r;
	if (t->has_req_flags && !bit_string_valid(t->req_flags.p, t->req_flags.len))
		return MP_ERR_PARSE;
	bool init2 = t->is_init2 || t->has_neg_hints;

	size_t hints = 0;
	if (t->has_neg_hints) {
		if (t->has_hint_name)
			hints += field_size(t->hint_name.len);
		if (t->has_hint_address)
			hints += field_size(t->hint_address.len);
	}
	size_t seq = field_size(mt);
	if (t->has_req_flags)
		seq += field_size(t->req_flags.len);
	if (t->has_mech_token)
		seq += field_size(t->mech_token.len);
	if (t->has_neg_hints)
		seq += field_size(hints);
	if (t->has_mech_list_mic)
		seq += field_size(t->mech_list_mic.len);
	size_t app = tlv_size(sizeof(oid_spnego)) + field_size(seq);

	size_t start = wb->len;
	put_hdr(wb, T_APP0, app);
	put_tlv(wb, T_OID, oid_spnego, sizeof(oid_spnego));
	put_hdr(wb, T_CTX(0), tlv_size(seq));
	put_hdr(wb, T_SEQUENCE, seq);
	put_hdr(wb, T_CTX(0), tlv_size(mt));
	put_mech_types(wb, t->mechs, t->n_mechs, mt);
	if (t->has_req_flags)
		put_field(wb, 1, T_BIT_STRING, t->req_flags.p, t->req_flags.len);
	if (t->has_mech_token)
		put_field(wb, 2, T_OCTET_STRING, t->mech_token.p, t->mech_token.len);
	if (t->has_neg_hints) {
		put_hdr(wb, T_CTX(3), tlv_size(hints));
		put_hdr(wb, T_SEQUENCE, hints);
		if (t->has_hint_name)
			put_field(wb, 0, T_GENERAL_STRING, t->hint_name.p, t->hint_name.len);
		if (t->has_hint_address)
			put_field(wb, 1, T_OCTET_STRING, t->hint_address.p, t->hint_address.len);
	}
	if (t->has_mech_list_mic)
		put_field(wb, init2 ? 4 : 3, T_OCTET_STRING, t->mech_list_mic.p,
		          t->mech_list_mic.len);
	return finish(wb, start);
}

int mp_spnego_encode_resp(struct mp_wbuf *wb, const struct mp_spnego_resp *t)
{
	struct mp_spnego_bytes mech = {NULL, 0};
	int r = MP_OK;
	if (t->has_neg_state && t->neg_state > MP_SPNEGO_REQUEST_MIC)
		return MP_ERR_PARSE;
	if (t->has_supported_mech)
		r = enc_oid(&t->supported_mech, &mech);
	if (r == MP_OK)
		r = check_field(t->has_response_token, t->response_token);
	if (r == MP_OK)
		r = check_field(t->has_mech_list_mic, t->mech_list_mic);
	if (r != MP_OK)
		return r;

	size_t seq = 0;
	if (t->has_neg_state)
		seq += field_size(1);
	if (t->has_supported_mech)
		seq += field_size(mech.len);
	if (t->has_response_token)
		seq += field_size(t->response_token.len);
	if (t->has_mech_list_mic)
		seq += field_size(t->mech_list_mic.len);

	size_t start = wb->len;
	put_hdr(wb, T_CTX(1), tlv_size(seq));
	put_hdr(wb, T_SEQUENCE, seq);
	if (t->has_neg_state)
		put_field(wb, 0, T_ENUMERATED, &t->neg_state, 1);
	if (t->has_supported_mech)
		put_field(wb, 1, T_OID, mech.p, mech.len);
	if (t->has_response_token)
		put_field(wb, 2, T_OCTET_STRING, t->response_token.p, t->response_token.len);
	if (t->has_mech_list_mic)
		put_field(wb, 3, T_OCTET_STRING, t->mech_list_mic.p, t->mech_list_mic.len);
	return finish(wb, start);
}

/* ---- NTLMSSP in SPNEGO ------------------------------------------------------ */

int mp_spnego_choose_ntlm(const struct mp_spnego_init *init, struct mp_spnego_choice *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < init->n_mechs && i < MP_SPNEGO_MAX_MECHS; i++) {
		if (init->mechs[i].mech != MP_SPNEGO_MECH_NTLMSSP)
			continue;
		out->index = i;
		out->downgraded = i > 0;
		out->use_token = i == 0 && init->has_mech_token;
		out->neg_state = i > 0 ? MP_SPNEGO_REQUEST_MIC : MP_SPNEGO_ACCEPT_INCOMPLETE;
		return MP_OK;
	}
	return MP_ERR_UNSUPPORTED;
}

/* NTLMv2_RESPONSE: NTProofStr (16), then RespType, HiRespType, Z(6), Time (8),
   ClientChallenge (8), Z(4), AV pairs. */
#define NTLMV2_AV_OFFSET (16 + 28)

bool mp_spnego_ntlm_auth_has_mic(const uint8_t *auth, size_t len)
{
	struct mp_ntlm_authenticate a;
	if (!auth || mp_ntlm_parse_authenticate(auth, len, &a) != MP_OK || !a.has_mic_field)
		return false;
	if (a.nt_response.len < NTLMV2_AV_OFFSET) /* NTLMv1 (24 bytes) has no AV pairs */
		return false;
	struct mp_rcursor rc;
	mp_rc_init(&rc, a.nt_response.p + NTLMV2_AV_OFFSET, a.nt_response.len - NTLMV2_AV_OFFSET);
	while (mp_rc_left(&rc) >= 4) {
		uint16_t id = mp_rc_u16(&rc);
		uint16_t n = mp_rc_u16(&rc);
		const uint8_t *v = mp_rc_take(&rc, n);
		if (!v || id == MP_MSV_AV_EOL)
			return false;
		if (id == MP_MSV_AV_FLAGS)
			return n == 4 && (mp_get_u32(v) & MP_MSV_AV_FLAG_MIC_PRESENT);
	}
	return false;
}

bool mp_spnego_mic_required(const struct mp_ntlm *n, bool downgraded, bool auth_has_mic,
                            bool peer_sent_mic)
{
	if (!n || !mp_ntlm_established(n) || !(mp_ntlm_flags(n) & MP_NTLMSSP_NEGOTIATE_SIGN))
		return false;
	return downgraded || auth_has_mic || peer_sent_mic;
}

int mp_spnego_mic_sign(struct mp_ntlm *n, const uint8_t *mech_types, size_t len,
                       uint8_t mic[MP_SPNEGO_NTLM_MIC_LEN])
{
	int r = mp_ntlm_sign(n, mech_types, len, mic);
	if (r != MP_OK)
		return r;
	return mp_ntlm_reset_crypto(n, false);
}

int mp_spnego_mic_verify(struct mp_ntlm *n, const uint8_t *mech_types, size_t len,
                         const uint8_t *mic, size_t mic_len)
{
	if (!mp_ntlm_established(n))
		return mp_ntlm_reset_crypto(n, false); /* MP_ERR_PROTO or MP_ERR_AUTH */
	if (!mic || mic_len != MP_SPNEGO_NTLM_MIC_LEN)
		return MP_ERR_AUTH;
	int r = mp_ntlm_verify(n, mech_types, len, mic);
	if (r != MP_OK)
		return r;
	return mp_ntlm_reset_crypto(n, false);
}
