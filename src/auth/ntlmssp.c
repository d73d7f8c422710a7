#include "auth/ntlmssp.h"

#include "auth/ntlm_crypto.h"
#include "util/status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static const uint8_t ntlm_signature[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};

/* The VERSION we send: 6.1, build 0, NTLMSSP_REVISION_W2K3 (as Samba does). */
static const struct mp_ntlm_version our_version = {6, 1, 0, 15};

#define MAX_AV_PAIRS 64

/* ---- names ---------------------------------------------------------------- */

const char *mp_ntlm_status_name(int status)
{
	switch (status) {
	case MP_ERR_AUTH:
		return "MP_ERR_AUTH";
	case MP_ERR_AUTH_NTLMV1:
		return "MP_ERR_AUTH_NTLMV1";
	}
	return mp_status_name(status);
}

const char *mp_ntlm_flag_name(uint32_t bit)
{
	switch (bit) {
#define MP_NTLM_FLAG_CASE(name, value)                                                             \
	case value:                                                                                \
		return #name;
		MP_NTLM_FLAG_TABLE(MP_NTLM_FLAG_CASE)
#undef MP_NTLM_FLAG_CASE
	}
	return NULL;
}

char *mp_ntlm_flags_str(uint32_t flags, char *buf, size_t len)
{
	size_t o = 0;
	if (!len)
		return buf;
	buf[0] = '\0';
	for (unsigned i = 0; i < 32; i++) {
		uint32_t bit = (uint32_t)1 << i;
		if (!(flags & bit))
			continue;
		const char *name = mp_ntlm_flag_name(bit);
		char hex[16];
		if (!name) {
			snprintf(hex, sizeof(hex), "0x%08x", (unsigned)bit);
			name = hex;
		}
		int w = snprintf(buf + o, len - o, "%s%s", o ? "|" : "", name);
		if (w < 0 || (size_t)w >= len - o) {
			buf[len - 1] = '\0';
			break;
		}
		o += (size_t)w;
	}
	return buf;
}

/* ---- codec helpers -------------------------------------------------------- */

int mp_ntlm_msg_type(const uint8_t *msg, size_t len)
{
	if (len < 12 || memcmp(msg, ntlm_signature, 8) != 0)
		return MP_ERR_PARSE;
	uint32_t t = mp_get_u32(msg + 8);
	if (t < MP_NTLM_NEGOTIATE || t > MP_NTLM_AUTHENTICATE)
		return MP_ERR_PARSE;
	return (int)t;
}

/*
 * Read an 8-byte field descriptor (Len, MaxLen, BufferOffset) at msg+pos and
 * resolve it. A non-empty field must lie inside the message and start at or
 * after `hdr_end`; an empty one is a NULL view whatever its offset.
 */
static bool read_field(const uint8_t *msg, size_t len, size_t pos, size_t hdr_end,
                       struct mp_ntlm_bytes *out, size_t *first)
{
	uint16_t flen = mp_get_u16(msg + pos);
	uint32_t off = mp_get_u32(msg + pos + 4);
	out->p = NULL;
	out->len = 0;
	if (flen == 0)
		return true;
	if (off < hdr_end || off > len || flen > len - off)
		return false;
	out->p = msg + off;
	out->len = flen;
	if (first && off < *first)
		*first = off;
	return true;
}

static void read_version(const uint8_t *p, struct mp_ntlm_version *v)
{
	v->major = p[0];
	v->minor = p[1];
	v->build = mp_get_u16(p + 2);
	v->revision = p[7];
}

static bool check_header(const uint8_t *msg, size_t len, size_t min, uint32_t type)
{
	if (len < min)
		return false;
	return mp_ntlm_msg_type(msg, len) == (int)type;
}

/* The optional 8-byte VERSION after a fixed header of `at` bytes; *hdr is
 * where the payload may start. False if the flag promises it and it is missing. */
static bool read_opt_version(const uint8_t *msg, size_t len, size_t at, uint32_t flags,
			     size_t *hdr, bool *has, struct mp_ntlm_version *v)
{
	*hdr = at;
	if (!(flags & MP_NTLMSSP_NEGOTIATE_VERSION))
		return true;
	if (len < at + 8)
		return false;
	*hdr = at + 8;
	*has = true;
	read_version(msg + at, v);
	return true;
}

int mp_ntlm_parse_negotiate(const uint8_t *msg, size_t len, struct mp_ntlm_negotiate *out)
{
	memset(out, 0, sizeof(*out));
	if (!check_header(msg, len, 32, MP_NTLM_NEGOTIATE))
		return MP_ERR_PARSE;
	out->flags = mp_get_u32(msg + 12);
	size_t hdr;
	if (!read_opt_version(msg, len, 32, out->flags, &hdr, &out->has_version, &out->version))
		return MP_ERR_PARSE;
	if (!read_field(msg, len, 16, hdr, &out->domain, NULL) ||
	    !read_field(msg, len, 24, hdr, &out->workstation, NULL))
		return MP_ERR_PARSE;
	return MP_OK;
}

int mp_ntlm_parse_challenge(const uint8_t *msg, size_t len, struct mp_ntlm_challenge *out)
{
	memset(out, 0, sizeof(*out));
	if (!check_header(msg, len, 48, MP_NTLM_CHALLENGE))
		return MP_ERR_PARSE;
	out->flags = mp_get_u32(msg + 20);
	memcpy(out->server_challenge, msg + 24, 8);
	size_t hdr;
	if (!read_opt_version(msg, len, 48, out->flags, &hdr, &out->has_version, &out->version))
		return MP_ERR_PARSE;
	if (!read_field(msg, len, 12, hdr, &out->target_name, NULL) ||
	    !read_field(msg, len, 40, hdr, &out->target_info, NULL))
		return MP_ERR_PARSE;
	return MP_OK;
}

int mp_ntlm_parse_authenticate(const uint8_t *msg, size_t len, struct mp_ntlm_authenticate *out)
{
	memset(out, 0, sizeof(*out));
	if (!check_header(msg, len, 64, MP_NTLM_AUTHENTICATE))
		return MP_ERR_PARSE;
	size_t first = len;
	if (!read_field(msg, len, 12, 64, &out->lm_response, &first) ||
	    !read_field(msg, len, 20, 64, &out->nt_response, &first) ||
	    !read_field(msg, len, 28, 64, &out->domain, &first) ||
	    !read_field(msg, len, 36, 64, &out->user, &first) ||
	    !read_field(msg, len, 44, 64, &out->workstation, &first) ||
	    !read_field(msg, len, 52, 64, &out->enc_session_key, &first))
		return MP_ERR_PARSE;
	out->flags = mp_get_u32(msg + 60);
	/* VERSION and MIC sit between the fixed header and the first payload. */
	if (first >= 72) {
		out->has_version = true;
		read_version(msg + 64, &out->version);
	}
	if (first >= 88) {
		out->has_mic_field = true;
		memcpy(out->mic, msg + MP_NTLM_MIC_OFFSET, 16);
	}
	return MP_OK;
}

/* Append a payload field: patch its descriptor at desc (absolute in wb). */
static bool put_field(struct mp_wbuf *wb, size_t base, size_t desc, struct mp_ntlm_bytes b)
{
	if (b.len > UINT16_MAX || wb->len - base > UINT32_MAX)
		return false;
	mp_wb_put_u16_at(wb, desc, (uint16_t)b.len);
	mp_wb_put_u16_at(wb, desc + 2, (uint16_t)b.len);
	mp_wb_put_u32_at(wb, desc + 4, (uint32_t)(wb->len - base));
	if (b.len)
		mp_wb_bytes(wb, b.p, b.len);
	return true;
}

static void write_version(struct mp_wbuf *wb, const struct mp_ntlm_version *v)
{
	mp_wb_u8(wb, v->major);
	mp_wb_u8(wb, v->minor);
	mp_wb_u16(wb, v->build);
	mp_wb_zeros(wb, 3);
	mp_wb_u8(wb, v->revision);
}

static int finish(struct mp_wbuf *wb, bool ok, size_t base)
{
	if (wb->bad)
		return MP_ERR_NOMEM;
	if (!ok) {
		wb->len = base; /* drop the partial message */
		return MP_ERR_LIMIT;
	}
	return MP_OK;
}

int mp_ntlm_encode_negotiate(struct mp_wbuf *wb, const struct mp_ntlm_negotiate *m)
{
	size_t base = wb->len;
	mp_wb_bytes(wb, ntlm_signature, 8);
	mp_wb_u32(wb, MP_NTLM_NEGOTIATE);
	mp_wb_u32(wb, m->flags);
	mp_wb_zeros(wb, 16);
	if (m->has_version)
		write_version(wb, &m->version);
	bool ok = !wb->bad && put_field(wb, base, base + 16, m->domain) &&
	          put_field(wb, base, base + 24, m->workstation);
	return finish(wb, ok, base);
}

int mp_ntlm_encode_challenge(struct mp_wbuf *wb, const struct mp_ntlm_challenge *m)
{
	size_t base = wb->len;
	mp_wb_bytes(wb, ntlm_signature, 8);
	mp_wb_u32(wb, MP_NTLM_CHALLENGE);
	mp_wb_zeros(wb, 8); /* TargetNameFields */
	mp_wb_u32(wb, m->flags);
	mp_wb_bytes(wb, m->server_challenge, 8);
	mp_wb_zeros(wb, 8); /* Reserved */
	mp_wb_zeros(wb, 8); /* TargetInfoFields */
	if (m->has_version)
		write_version(wb, &m->version);
	bool ok = !wb->bad && put_field(wb, base, base + 12, m->target_name) &&
	          put_field(wb, base, base + 40, m->target_info);
	return finish(wb, ok, base);
}

int mp_ntlm_encode_authenticate(struct mp_wbuf *wb, const struct mp_ntlm_authenticate *m)
{
	size_t base = wb->len;
	mp_wb_bytes(wb, ntlm_signature, 8);
	mp_wb_u32(wb, MP_NTLM_AUTHENTICATE);
	mp_wb_zeros(wb, 48); /* six field descriptors */
	mp_wb_u32(wb, m->flags);
	if (m->has_version || m->has_mic_field) {
		struct mp_ntlm_version zero = {0, 0, 0, 0};
		write_version(wb, m->has_version ? &m->version : &zero);
	}
	if (m->has_mic_field)
		mp_wb_zeros(wb, 16);
	/* Payload in the order Windows uses (and [MS-NLMP] 4.2.4.3 shows). */
	bool ok = !wb->bad && put_field(wb, base, base + 28, m->domain) &&
	          put_field(wb, base, base + 36, m->user) &&
	          put_field(wb, base, base + 44, m->workstation) &&
	          put_field(wb, base, base + 12, m->lm_response) &&
	          put_field(wb, base, base + 20, m->nt_response) &&
	          put_field(wb, base, base + 52, m->enc_session_key);
	return finish(wb, ok, base);
}

/* ---- AV pairs ------------------------------------------------------------- */

void mp_ntlm_av_free(struct mp_ntlm_av_list *l)
{
	free(l->items);
	l->items = NULL;
	l->n = l->cap = 0;
}

static int av_push(struct mp_ntlm_av_list *l, uint16_t id, const uint8_t *value, uint16_t len)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct mp_ntlm_av *p = realloc(l->items, cap * sizeof(*p));
		if (!p)
			return MP_ERR_NOMEM;
		l->items = p;
		l->cap = cap;
	}
	l->items[l->n].id = id;
	l->items[l->n].len = len;
	l->items[l->n].value = value;
	l->n++;
	return MP_OK;
}

int mp_ntlm_av_parse(const uint8_t *p, size_t len, struct mp_ntlm_av_list *out)
{
	struct mp_rcursor rc;
	memset(out, 0, sizeof(*out));
	mp_rc_init(&rc, p, len);
	for (;;) {
		uint16_t id = mp_rc_u16(&rc);
		uint16_t vlen = mp_rc_u16(&rc);
		const uint8_t *v = mp_rc_take(&rc, vlen);
		if (rc.bad)
			return MP_ERR_PARSE;
		if (id == MP_MSV_AV_EOL)
			return vlen == 0 ? MP_OK : MP_ERR_PARSE;
		if ((id == MP_MSV_AV_FLAGS && vlen != 4) ||
		    (id == MP_MSV_AV_TIMESTAMP && vlen != 8) ||
		    (id == MP_MSV_AV_CHANNEL_BINDINGS && vlen != 16) ||
		    (id == MP_MSV_AV_SINGLE_HOST && vlen < 8))
			return MP_ERR_PARSE;
		if (out->n >= MAX_AV_PAIRS)
			return MP_ERR_LIMIT;
		int r = av_push(out, id, v, vlen);
		if (r != MP_OK)
			return r;
	}
}

const struct mp_ntlm_av *mp_ntlm_av_find(const struct mp_ntlm_av_list *l, uint16_t id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->items[i].id == id)
			return &l->items[i];
	return NULL;
}

int mp_ntlm_av_set(struct mp_ntlm_av_list *l, uint16_t id, const uint8_t *value, uint16_t len)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->items[i].id == id) {
			l->items[i].value = value;
			l->items[i].len = len;
			return MP_OK;
		}
	}
	return av_push(l, id, value, len);
}

void mp_ntlm_av_encode(struct mp_wbuf *wb, const struct mp_ntlm_av_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct mp_ntlm_av *a = &l->items[i];
		if (a->id == MP_MSV_AV_EOL)
			continue;
		mp_wb_u16(wb, a->id);
		mp_wb_u16(wb, a->len);
		if (a->len)
			mp_wb_bytes(wb, a->value, a->len);
	}
	mp_wb_u16(wb, MP_MSV_AV_EOL);
	mp_wb_u16(wb, 0);
}

/* ---- context -------------------------------------------------------------- */

enum ntlm_state {
	ST_CLIENT_INIT,
	ST_CLIENT_NEG_SENT,
	ST_SERVER_INIT,
	ST_SERVER_CHAL_SENT,
	ST_ESTABLISHED,
	ST_FAILED,
};

/* A UTF-16LE string owned by the context. */
struct u16 {
	uint8_t *p;
	size_t len;
};

struct mp_ntlm {
	bool is_server;
	enum ntlm_state state;
	/* Client: flags sent in NEGOTIATE; server: flags sent in CHALLENGE;
	   both: the negotiated flags once established. */
	uint32_t flags;
	mp_ntlm_rng_fn rng;
	void *rng_arg;
	mp_ntlm_clock_fn clock;
	void *clock_arg;

	/* client */
	struct u16 user16, domain16, ws16;
	uint8_t nt_hash[MP_NTLM_HASH_LEN];
	unsigned want;

	/* server */
	struct u16 names[5]; /* NbDomain, NbComputer, DnsDomain, DnsComputer, DnsTree */
	bool allow_ntlmv1;
	mp_ntlm_lookup_fn lookup;
	void *lookup_arg;
	uint8_t server_chal[MP_NTLM_CHALLENGE_LEN];

	/* both */
	struct mp_wbuf neg_msg; /* NEGOTIATE and CHALLENGE as sent, for the MIC */
	struct mp_wbuf chal_msg;
	char *user;
	char *domain;
	uint8_t exported[MP_NTLM_HASH_LEN];
	struct mp_ntlm_dir send;
	struct mp_ntlm_dir recv;
};

/* Server name order in names[] and the AV id each becomes. */
static const uint16_t name_av_ids[5] = {MP_MSV_AV_NB_DOMAIN_NAME, MP_MSV_AV_NB_COMPUTER_NAME,
                                        MP_MSV_AV_DNS_DOMAIN_NAME, MP_MSV_AV_DNS_COMPUTER_NAME,
                                        MP_MSV_AV_DNS_TREE_NAME};

static void u16_free(struct u16 *s)
{
	if (s->p) {
		mp_ntlm_wipe(s->p, s->len);
		free(s->p);
	}
	s->p = NULL;
	s->len = 0;
}

static int u16_from(struct u16 *s, const char *utf8)
{
	s->p = NULL;
	s->len = 0;
	if (!utf8)
		return MP_OK;
	size_t n = strlen(utf8);
	if (n > UINT16_MAX / 2)
		return MP_ERR_LIMIT;
	int rc = mp_ntlm_utf8_to_utf16le(utf8, n, &s->p, &s->len);
	if (rc == MP_OK && s->len > UINT16_MAX) {
		u16_free(s);
		return MP_ERR_LIMIT;
	}
	return rc;
}

static struct mp_ntlm *ctx_alloc(void)
{
	struct mp_ntlm *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	mp_wb_init(&n->neg_msg);
	mp_wb_init(&n->chal_msg);
	return n;
}

int mp_ntlm_rng_system(void *arg, uint8_t *buf, size_t len)
{
	(void)arg;
	while (len) {
		ssize_t r = getrandom(buf, len, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return MP_ERR_IO;
		}
		buf += r;
		len -= (size_t)r;
	}
	return MP_OK;
}

uint64_t mp_ntlm_clock_system(void *arg)
{
	(void)arg;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	/* 1601-01-01 to 1970-01-01: 11644473600 s. */
	return ((uint64_t)ts.tv_sec + 11644473600ull) * 10000000ull + (uint64_t)ts.tv_nsec / 100;
}

static char *dup_str(const char *s)
{
	return s ? strdup(s) : strdup("");
}

int mp_ntlm_client_new(const struct mp_ntlm_client_config *cfg, struct mp_ntlm **out)
{
	*out = NULL;
	if (!cfg->user || (!cfg->password && !cfg->nt_hash))
		return MP_ERR_CONFIG;
	struct mp_ntlm *c = ctx_alloc();
	if (!c)
		return MP_ERR_NOMEM;
	c->state = ST_CLIENT_INIT;
	c->want = cfg->want;
	c->rng = cfg->rng ? cfg->rng : mp_ntlm_rng_system;
	c->rng_arg = cfg->rng_arg;
	c->clock = cfg->clock ? cfg->clock : mp_ntlm_clock_system;
	c->clock_arg = cfg->clock_arg;
	int rc = u16_from(&c->user16, cfg->user);
	if (rc == MP_OK)
		rc = u16_from(&c->domain16, cfg->domain ? cfg->domain : "");
	if (rc == MP_OK)
		rc = u16_from(&c->ws16, cfg->workstation ? cfg->workstation : "");
	if (rc == MP_OK) {
		if (cfg->password)
			rc = mp_ntlm_ntowfv1(cfg->password, c->nt_hash);
		else
			memcpy(c->nt_hash, cfg->nt_hash, MP_NTLM_HASH_LEN);
	}
	if (rc == MP_OK) {
		c->user = dup_str(cfg->user);
		c->domain = dup_str(cfg->domain);
		if (!c->user || !c->domain)
			rc = MP_ERR_NOMEM;
	}
	if (rc != MP_OK) {
		mp_ntlm_free(c);
		return rc;
	}
	*out = c;
	return MP_OK;
}

int mp_ntlm_server_new(const struct mp_ntlm_server_config *cfg, struct mp_ntlm **out)
{
	*out = NULL;
	if (!cfg->lookup)
		return MP_ERR_CONFIG;
	struct mp_ntlm *s = ctx_alloc();
	if (!s)
		return MP_ERR_NOMEM;
	s->is_server = true;
	s->state = ST_SERVER_INIT;
	s->allow_ntlmv1 = cfg->allow_ntlmv1;
	s->lookup = cfg->lookup;
	s->lookup_arg = cfg->lookup_arg;
	s->rng = cfg->rng ? cfg->rng : mp_ntlm_rng_system;
	s->rng_arg = cfg->rng_arg;
	s->clock = cfg->clock ? cfg->clock : mp_ntlm_clock_system;
	s->clock_arg = cfg->clock_arg;
	const char *names[5] = {cfg->nb_domain_name, cfg->nb_computer_name, cfg->dns_domain_name,
	                        cfg->dns_computer_name, cfg->dns_tree_name};
	int rc = MP_OK;
	for (int i = 0; i < 5 && rc == MP_OK; i++)
		rc = u16_from(&s->names[i], names[i]);
	if (rc != MP_OK) {
		mp_ntlm_free(s);
		return rc;
	}
	*out = s;
	return MP_OK;
}

void mp_ntlm_free(struct mp_ntlm *n)
{
	if (!n)
		return;
	u16_free(&n->user16);
	u16_free(&n->domain16);
	u16_free(&n->ws16);
	for (int i = 0; i < 5; i++)
		u16_free(&n->names[i]);
	mp_wb_free(&n->neg_msg);
	mp_wb_free(&n->chal_msg);
	free(n->user);
	free(n->domain);
	mp_ntlm_wipe(n, sizeof(*n)); /* hash, keys, RC4 states */
	free(n);
}

bool mp_ntlm_established(const struct mp_ntlm *n)
{
	return n->state == ST_ESTABLISHED;
}

uint32_t mp_ntlm_flags(const struct mp_ntlm *n)
{
	return n->flags;
}

const char *mp_ntlm_user(const struct mp_ntlm *n)
{
	return n->state == ST_ESTABLISHED ? n->user : NULL;
}

const char *mp_ntlm_domain(const struct mp_ntlm *n)
{
	return n->state == ST_ESTABLISHED ? n->domain : NULL;
}

int mp_ntlm_session_key(const struct mp_ntlm *n, uint8_t out[16])
{
	if (n->state != ST_ESTABLISHED)
		return MP_ERR_PROTO;
	memcpy(out, n->exported, MP_NTLM_HASH_LEN);
	return MP_OK;
}

/* Keep a copy of a message as sent or received (for the MIC). */
static int keep(struct mp_wbuf *dst, const uint8_t *p, size_t len)
{
	dst->len = 0;
	mp_wb_bytes(dst, p, len);
	return dst->bad ? MP_ERR_NOMEM : MP_OK;
}

/* Derive both directions; `exported` must already be set. */
static void establish(struct mp_ntlm *n)
{
	bool client = !n->is_server;
	mp_ntlm_dir_init(&n->send, n->flags, n->exported, client);
	mp_ntlm_dir_init(&n->recv, n->flags, n->exported, !client);
	n->state = ST_ESTABLISHED;
}

/* ---- client --------------------------------------------------------------- */

#define CLIENT_FLAGS                                                                               \
	(MP_NTLMSSP_NEGOTIATE_UNICODE | MP_NTLMSSP_NEGOTIATE_OEM | MP_NTLMSSP_REQUEST_TARGET |     \
	 MP_NTLMSSP_NEGOTIATE_NTLM | MP_NTLMSSP_NEGOTIATE_ALWAYS_SIGN |                            \
	 MP_NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY | MP_NTLMSSP_NEGOTIATE_VERSION |            \
	 MP_NTLMSSP_NEGOTIATE_128 | MP_NTLMSSP_NEGOTIATE_56 | MP_NTLMSSP_NEGOTIATE_KEY_EXCH)

int mp_ntlm_client_negotiate(struct mp_ntlm *c, struct mp_wbuf *out)
{
	if (c->is_server || c->state != ST_CLIENT_INIT)
		return MP_ERR_PROTO;
	struct mp_ntlm_negotiate m = {0};
	m.flags = CLIENT_FLAGS;
	if (c->want & (MP_NTLM_WANT_SIGN | MP_NTLM_WANT_SEAL))
		m.flags |= MP_NTLMSSP_NEGOTIATE_SIGN;
	if (c->want & MP_NTLM_WANT_SEAL)
		m.flags |= MP_NTLMSSP_NEGOTIATE_SEAL;
	m.has_version = true;
	m.version = our_version;
	size_t start = out->len;
	int rc = mp_ntlm_encode_negotiate(out, &m);
	if (rc != MP_OK)
		return rc;
	rc = keep(&c->neg_msg, out->data + start, out->len - start);
	if (rc != MP_OK)
		return rc;
	c->flags = m.flags;
	c->state = ST_CLIENT_NEG_SENT;
	return MP_OK;
}

static int client_auth(struct mp_ntlm *c, const uint8_t *chal_msg, size_t chal_len,
                       struct mp_wbuf *out, struct mp_ntlm_av_list *av, struct mp_wbuf *avb,
                       struct mp_wbuf *ntb,
                       uint8_t *secrets /* 4 x 16 bytes, wiped by the caller */)
{
	struct mp_ntlm_challenge ch;
	int rc = mp_ntlm_parse_challenge(chal_msg, chal_len, &ch);
	if (rc != MP_OK)
		return rc;
	rc = mp_ntlm_av_parse(ch.target_info.p, ch.target_info.len, av);
	if (rc != MP_OK && ch.target_info.len == 0)
		rc = MP_OK; /* no target info: an empty list */
	if (rc != MP_OK)
		return rc == MP_ERR_LIMIT ? MP_ERR_PARSE : rc;

	uint32_t flags = ch.flags & c->flags;
	if (!(flags & MP_NTLMSSP_NEGOTIATE_UNICODE) ||
	    !(flags & MP_NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY))
		return MP_ERR_UNSUPPORTED;
	if ((c->want & (MP_NTLM_WANT_SIGN | MP_NTLM_WANT_SEAL)) &&
	    !(flags & MP_NTLMSSP_NEGOTIATE_SIGN))
		return MP_ERR_UNSUPPORTED;
	if ((c->want & MP_NTLM_WANT_SEAL) && !(flags & MP_NTLMSSP_NEGOTIATE_SEAL))
		return MP_ERR_UNSUPPORTED;
	flags |= MP_NTLMSSP_NEGOTIATE_NTLM | (ch.flags & MP_NTLMSSP_NEGOTIATE_TARGET_INFO);

	/* [MS-NLMP] 3.1.5.1.2: the server's timestamp if it sent one; then
	   the LM response is Z(24) and we send a MIC, flagged in MsvAvFlags. */
	uint8_t av_flags_val[4];
	uint64_t time;
	const struct mp_ntlm_av *ts = mp_ntlm_av_find(av, MP_MSV_AV_TIMESTAMP);
	bool with_mic = ts != NULL;
	if (ts) {
		time =
		    (uint64_t)mp_get_u32(ts->value) | ((uint64_t)mp_get_u32(ts->value + 4) << 32);
		const struct mp_ntlm_av *af = mp_ntlm_av_find(av, MP_MSV_AV_FLAGS);
		uint32_t v = af ? mp_get_u32(af->value) : 0;
		mp_put_u32(av_flags_val, v | MP_MSV_AV_FLAG_MIC_PRESENT);
		rc = mp_ntlm_av_set(av, MP_MSV_AV_FLAGS, av_flags_val, 4);
		if (rc != MP_OK)
			return rc;
	} else {
		time = c->clock(c->clock_arg);
	}

	uint8_t *key = secrets, *sbk = secrets + 16, *enc = secrets + 32;
	uint8_t client_chal[MP_NTLM_CHALLENGE_LEN];
	uint8_t lm[MP_NTLM_V1_RESP_LEN];
	rc = c->rng(c->rng_arg, client_chal, sizeof(client_chal));
	if (rc != MP_OK)
		return rc;
	rc = mp_ntlm_ntowfv2_u16(c->nt_hash, c->user16.p, c->user16.len, c->domain16.p,
	                         c->domain16.len, key);
	if (rc != MP_OK)
		return rc;

	/* Separate buffers: the AV pairs are read while the response grows. */
	mp_ntlm_av_encode(avb, av);
	if (avb->bad)
		return MP_ERR_NOMEM;
	mp_ntlm_v2_response(key, ch.server_challenge, client_chal, time, avb->data, avb->len, ntb,
	                    lm, sbk);
	if (ntb->bad)
		return MP_ERR_NOMEM;
	if (with_mic)
		memset(lm, 0, sizeof(lm));

	/* KXKEY(NTLMv2) = SessionBaseKey; key exchange when negotiated. */
	if (flags & MP_NTLMSSP_NEGOTIATE_KEY_EXCH) {
		rc = c->rng(c->rng_arg, c->exported, MP_NTLM_HASH_LEN);
		if (rc != MP_OK)
			return rc;
		mp_ntlm_rc4k(sbk, c->exported, enc, MP_NTLM_HASH_LEN);
	} else {
		memcpy(c->exported, sbk, MP_NTLM_HASH_LEN);
	}

	struct mp_ntlm_authenticate a = {0};
	a.flags = flags;
	a.lm_response = (struct mp_ntlm_bytes){lm, sizeof(lm)};
	a.nt_response = (struct mp_ntlm_bytes){ntb->data, ntb->len};
	a.domain = (struct mp_ntlm_bytes){c->domain16.p, c->domain16.len};
	a.user = (struct mp_ntlm_bytes){c->user16.p, c->user16.len};
	a.workstation = (struct mp_ntlm_bytes){c->ws16.p, c->ws16.len};
	if (flags & MP_NTLMSSP_NEGOTIATE_KEY_EXCH)
		a.enc_session_key = (struct mp_ntlm_bytes){enc, MP_NTLM_HASH_LEN};
	a.has_version = true;
	a.version = our_version;
	if (!(flags & MP_NTLMSSP_NEGOTIATE_VERSION))
		memset(&a.version, 0, sizeof(a.version));
	a.has_mic_field = with_mic;
	size_t start = out->len;
	rc = mp_ntlm_encode_authenticate(out, &a);
	if (rc != MP_OK)
		return rc;
	if (with_mic) {
		uint8_t *mic = secrets + 48;
		mp_ntlm_mic(c->exported, c->neg_msg.data, c->neg_msg.len, chal_msg, chal_len,
		            out->data + start, out->len - start, mic);
		memcpy(out->data + start + MP_NTLM_MIC_OFFSET, mic, 16);
	}
	c->flags = flags;
	establish(c);
	return MP_OK;
}

int mp_ntlm_client_authenticate(struct mp_ntlm *c, const uint8_t *chal, size_t len,
                                struct mp_wbuf *out)
{
	if (c->is_server || c->state != ST_CLIENT_NEG_SENT)
		return MP_ERR_PROTO;
	struct mp_ntlm_av_list av = {0};
	struct mp_wbuf avb, ntb;
	uint8_t secrets[64];
	mp_wb_init(&avb);
	mp_wb_init(&ntb);
	size_t start = out->len;
	int rc = client_auth(c, chal, len, out, &av, &avb, &ntb, secrets);
	mp_ntlm_av_free(&av);
	mp_wb_free(&avb);
	mp_wb_free(&ntb);
	mp_ntlm_wipe(secrets, sizeof(secrets));
	if (rc != MP_OK) {
		if (out->len > start)
			out->len = start;
		c->state = ST_FAILED;
		mp_ntlm_wipe(c->exported, sizeof(c->exported));
	}
	return rc;
}

/* ---- server --------------------------------------------------------------- */

/* Flags the server echoes when the client asks for them. */
#define SERVER_ECHO_FLAGS                                                                          \
	(MP_NTLMSSP_NEGOTIATE_SIGN | MP_NTLMSSP_NEGOTIATE_SEAL |                                   \
	 MP_NTLMSSP_NEGOTIATE_ALWAYS_SIGN | MP_NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY |        \
	 MP_NTLMSSP_NEGOTIATE_VERSION | MP_NTLMSSP_NEGOTIATE_128 | MP_NTLMSSP_NEGOTIATE_56 |       \
	 MP_NTLMSSP_NEGOTIATE_KEY_EXCH)

static int server_chal(struct mp_ntlm *s, const uint8_t *neg_msg, size_t neg_len,
                       struct mp_wbuf *out)
{
	struct mp_ntlm_negotiate neg;
	int rc = mp_ntlm_parse_negotiate(neg_msg, neg_len, &neg);
	if (rc != MP_OK)
		return rc;
	if (!(neg.flags & MP_NTLMSSP_NEGOTIATE_UNICODE))
		return MP_ERR_UNSUPPORTED;
	uint32_t flags = MP_NTLMSSP_NEGOTIATE_UNICODE | MP_NTLMSSP_NEGOTIATE_NTLM |
	                 MP_NTLMSSP_NEGOTIATE_TARGET_INFO | (neg.flags & SERVER_ECHO_FLAGS);
	/* Session security only with extended session security, sealing only 128-bit. */
	if ((flags & (MP_NTLMSSP_NEGOTIATE_SIGN | MP_NTLMSSP_NEGOTIATE_SEAL)) &&
	    !(flags & MP_NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY))
		return MP_ERR_UNSUPPORTED;
	if ((flags & MP_NTLMSSP_NEGOTIATE_SEAL) && !(flags & MP_NTLMSSP_NEGOTIATE_128))
		return MP_ERR_UNSUPPORTED;
	struct mp_ntlm_challenge ch = {0};
	if (neg.flags & MP_NTLMSSP_REQUEST_TARGET) {
		flags |= MP_NTLMSSP_REQUEST_TARGET;
		flags |=
		    s->names[0].len ? MP_NTLMSSP_TARGET_TYPE_DOMAIN : MP_NTLMSSP_TARGET_TYPE_SERVER;
		const struct u16 *tn = s->names[0].len ? &s->names[0] : &s->names[1];
		ch.target_name = (struct mp_ntlm_bytes){tn->p, tn->len};
	}
	rc = s->rng(s->rng_arg, s->server_chal, sizeof(s->server_chal));
	if (rc != MP_OK)
		return rc;

	/* Target info: the names we have, then MsvAvTimestamp. */
	struct mp_wbuf ti;
	mp_wb_init(&ti);
	for (int i = 0; i < 5; i++) {
		if (!s->names[i].p)
			continue;
		mp_wb_u16(&ti, name_av_ids[i]);
		mp_wb_u16(&ti, (uint16_t)s->names[i].len);
		mp_wb_bytes(&ti, s->names[i].p, s->names[i].len);
	}
	uint64_t now = s->clock(s->clock_arg);
	mp_wb_u16(&ti, MP_MSV_AV_TIMESTAMP);
	mp_wb_u16(&ti, 8);
	mp_wb_u32(&ti, (uint32_t)now);
	mp_wb_u32(&ti, (uint32_t)(now >> 32));
	mp_wb_u16(&ti, MP_MSV_AV_EOL);
	mp_wb_u16(&ti, 0);
	if (ti.bad) {
		mp_wb_free(&ti);
		return MP_ERR_NOMEM;
	}
	ch.flags = flags;
	memcpy(ch.server_challenge, s->server_chal, 8);
	ch.target_info = (struct mp_ntlm_bytes){ti.data, ti.len};
	if (flags & MP_NTLMSSP_NEGOTIATE_VERSION) {
		ch.has_version = true;
		ch.version = our_version;
	}
	size_t start = out->len;
	rc = mp_ntlm_encode_challenge(out, &ch);
	mp_wb_free(&ti);
	if (rc == MP_OK)
		rc = keep(&s->neg_msg, neg_msg, neg_len);
	if (rc == MP_OK)
		rc = keep(&s->chal_msg, out->data + start, out->len - start);
	if (rc != MP_OK) {
		out->len = start;
		return rc;
	}
	s->flags = flags;
	return MP_OK;
}

int mp_ntlm_server_challenge(struct mp_ntlm *s, const uint8_t *neg, size_t len, struct mp_wbuf *out)
{
	if (!s->is_server || s->state != ST_SERVER_INIT)
		return MP_ERR_PROTO;
	int rc = server_chal(s, neg, len, out);
	s->state = rc == MP_OK ? ST_SERVER_CHAL_SENT : ST_FAILED;
	return rc;
}

/* Scratch secrets of one AUTHENTICATE verification, wiped in one go. */
struct verify_secrets {
	uint8_t nt_hash[MP_NTLM_HASH_LEN];
	uint8_t key[MP_NTLM_HASH_LEN];
	uint8_t proof[MP_NTLM_HASH_LEN];
	uint8_t sbk[MP_NTLM_HASH_LEN];
	uint8_t kx[MP_NTLM_HASH_LEN];
	uint8_t mic[MP_NTLM_HASH_LEN];
	uint8_t v1[MP_NTLM_V1_RESP_LEN];
	uint8_t chal[8];
};

static bool is_anonymous(const struct mp_ntlm_authenticate *a)
{
	return a->user.len == 0 && a->nt_response.len == 0 &&
	       (a->lm_response.len == 0 || (a->lm_response.len == 1 && a->lm_response.p[0] == 0));
}

/* Look the user up; on failure use a zero hash so timing does not tell. */
static bool lookup_user(struct mp_ntlm *s, uint8_t nt_hash[MP_NTLM_HASH_LEN])
{
	int rc = s->lookup(s->lookup_arg, s->user, s->domain, nt_hash);
	if (rc != MP_OK) {
		mp_ntlm_wipe(nt_hash, MP_NTLM_HASH_LEN);
		return false;
	}
	return true;
}

static int server_auth(struct mp_ntlm *s, const uint8_t *msg, size_t len, struct verify_secrets *k,
                       struct mp_ntlm_av_list *av, uint8_t **copy)
{
	struct mp_ntlm_authenticate a;
	int rc = mp_ntlm_parse_authenticate(msg, len, &a);
	if (rc != MP_OK)
		return rc;
	if (is_anonymous(&a))
		return MP_ERR_AUTH;
	uint32_t flags = s->flags & a.flags;
	flags |= s->flags & (MP_NTLMSSP_NEGOTIATE_UNICODE | MP_NTLMSSP_NEGOTIATE_NTLM);

	/* We negotiated UNICODE: names are UTF-16LE. */
	rc = mp_ntlm_utf16le_to_utf8(a.user.p, a.user.len, &s->user);
	if (rc == MP_OK)
		rc = mp_ntlm_utf16le_to_utf8(a.domain.p, a.domain.len, &s->domain);
	if (rc != MP_OK)
		return rc;

	const struct mp_ntlm_bytes *nt = &a.nt_response, *lm = &a.lm_response;
	bool v2 = nt->len > MP_NTLM_V1_RESP_LEN;
	bool known;
	if (v2) {
		if (nt->len < MP_NTLM_HASH_LEN + MP_NTLM_V2_BLOB_HDR)
			return MP_ERR_PARSE;
		const uint8_t *blob = nt->p + MP_NTLM_HASH_LEN;
		size_t blob_len = nt->len - MP_NTLM_HASH_LEN;
		rc = mp_ntlm_av_parse(blob + MP_NTLM_V2_BLOB_HDR, blob_len - MP_NTLM_V2_BLOB_HDR,
		                      av);
		if (rc != MP_OK)
			return rc == MP_ERR_NOMEM ? rc : MP_ERR_PARSE;
		known = lookup_user(s, k->nt_hash);
		rc = mp_ntlm_ntowfv2_u16(k->nt_hash, a.user.p, a.user.len, a.domain.p, a.domain.len,
		                         k->key);
		if (rc != MP_OK)
			return rc;
		mp_ntlm_v2_proof(k->key, s->server_chal, blob, blob_len, k->proof);
		bool ok = mp_ntlm_ct_equal(k->proof, nt->p, MP_NTLM_HASH_LEN);
		if (!(ok && known))
			return MP_ERR_AUTH;
		mp_ntlm_v2_session_base_key(k->key, k->proof, k->sbk);
		memcpy(k->kx, k->sbk, MP_NTLM_HASH_LEN);
	} else if (nt->len == MP_NTLM_V1_RESP_LEN || (nt->len == 0 && lm->len > 0)) {
		if (!s->allow_ntlmv1)
			return MP_ERR_AUTH_NTLMV1;
		if (nt->len == 0)
			return MP_ERR_AUTH; /* LM only: we hold no LM hashes */
		bool ess = flags & MP_NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY;
		if (ess && lm->len < 8)
			return MP_ERR_PARSE;
		known = lookup_user(s, k->nt_hash);
		if (ess)
			mp_ntlm_v1_ess_challenge(s->server_chal, lm->p, k->chal);
		else
			memcpy(k->chal, s->server_chal, 8);
		mp_ntlm_desl(k->nt_hash, k->chal, k->v1);
		bool ok = mp_ntlm_ct_equal(k->v1, nt->p, MP_NTLM_V1_RESP_LEN);
		if (!(ok && known))
			return MP_ERR_AUTH;
		mp_ntlm_v1_session_base_key(k->nt_hash, k->sbk);
		if (ess)
			mp_ntlm_v1_ess_kxkey(k->sbk, s->server_chal, lm->p, k->kx);
		else
			memcpy(k->kx, k->sbk, MP_NTLM_HASH_LEN);
	} else {
		return MP_ERR_PARSE;
	}

	if (flags & MP_NTLMSSP_NEGOTIATE_KEY_EXCH) {
		if (a.enc_session_key.len != MP_NTLM_HASH_LEN)
			return MP_ERR_PARSE;
		mp_ntlm_rc4k(k->kx, a.enc_session_key.p, s->exported, MP_NTLM_HASH_LEN);
	} else {
		memcpy(s->exported, k->kx, MP_NTLM_HASH_LEN);
	}

	/* MIC, when the (authenticated) NTLMv2 blob says there is one. */
	const struct mp_ntlm_av *af = v2 ? mp_ntlm_av_find(av, MP_MSV_AV_FLAGS) : NULL;
	if (af && (mp_get_u32(af->value) & MP_MSV_AV_FLAG_MIC_PRESENT)) {
		if (!a.has_mic_field)
			return MP_ERR_AUTH;
		*copy = malloc(len);
		if (!*copy)
			return MP_ERR_NOMEM;
		memcpy(*copy, msg, len);
		memset(*copy + MP_NTLM_MIC_OFFSET, 0, 16);
		mp_ntlm_mic(s->exported, s->neg_msg.data, s->neg_msg.len, s->chal_msg.data,
		            s->chal_msg.len, *copy, len, k->mic);
		if (!mp_ntlm_ct_equal(k->mic, a.mic, 16))
			return MP_ERR_AUTH;
	}
	if ((flags & (MP_NTLMSSP_NEGOTIATE_SIGN | MP_NTLMSSP_NEGOTIATE_SEAL)) &&
	    !(flags & MP_NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY))
		return MP_ERR_UNSUPPORTED;
	s->flags = flags;
	establish(s);
	return MP_OK;
}

int mp_ntlm_server_authenticate(struct mp_ntlm *s, const uint8_t *auth, size_t len)
{
	if (!s->is_server || s->state != ST_SERVER_CHAL_SENT)
		return MP_ERR_PROTO;
	struct verify_secrets k;
	struct mp_ntlm_av_list av = {0};
	uint8_t *copy = NULL;
	int rc = server_auth(s, auth, len, &k, &av, &copy);
	mp_ntlm_wipe(&k, sizeof(k));
	mp_ntlm_av_free(&av);
	free(copy);
	if (rc != MP_OK) {
		s->state = ST_FAILED;
		mp_ntlm_wipe(s->exported, sizeof(s->exported));
	}
	return rc;
}

/* ---- session security ----------------------------------------------------- */

static int check_ready(const struct mp_ntlm *n, uint32_t need)
{
	if (n->state != ST_ESTABLISHED)
		return n->state == ST_FAILED ? MP_ERR_AUTH : MP_ERR_PROTO;
	if ((n->flags & need) != need)
		return MP_ERR_PROTO;
	return MP_OK;
}

/* A signature mismatch ends the context: RC4 states are out of step now. */
static int poison(struct mp_ntlm *n)
{
	n->state = ST_FAILED;
	mp_ntlm_wipe(&n->send, sizeof(n->send));
	mp_ntlm_wipe(&n->recv, sizeof(n->recv));
	mp_ntlm_wipe(n->exported, sizeof(n->exported));
	return MP_ERR_AUTH;
}

static bool key_exch(const struct mp_ntlm *n)
{
	return n->flags & MP_NTLMSSP_NEGOTIATE_KEY_EXCH;
}

int mp_ntlm_sign(struct mp_ntlm *n, const uint8_t *msg, size_t len, uint8_t sig[16])
{
	int rc = check_ready(n, MP_NTLMSSP_NEGOTIATE_SIGN);
	if (rc != MP_OK)
		return rc;
	mp_ntlm_mac(&n->send, key_exch(n), msg, len, sig);
	n->send.seq++;
	return MP_OK;
}

int mp_ntlm_verify(struct mp_ntlm *n, const uint8_t *msg, size_t len, const uint8_t sig[16])
{
	int rc = check_ready(n, MP_NTLMSSP_NEGOTIATE_SIGN);
	if (rc != MP_OK)
		return rc;
	uint8_t want[MP_NTLM_SIG_LEN];
	mp_ntlm_mac(&n->recv, key_exch(n), msg, len, want);
	n->recv.seq++;
	bool ok = mp_ntlm_ct_equal(want, sig, MP_NTLM_SIG_LEN);
	mp_ntlm_wipe(want, sizeof(want));
	return ok ? MP_OK : poison(n);
}

int mp_ntlm_reset_crypto(struct mp_ntlm *n, bool reset_seq)
{
	int rc = check_ready(n, 0);
	if (rc != MP_OK)
		return rc;
	uint32_t send_seq = n->send.seq, recv_seq = n->recv.seq;
	establish(n);
	if (!reset_seq) {
		n->send.seq = send_seq;
		n->recv.seq = recv_seq;
	}
	return MP_OK;
}

int mp_ntlm_seal(struct mp_ntlm *n, uint8_t *data, size_t data_len, const uint8_t *msg,
                 size_t msg_len, uint8_t sig[16])
{
	int rc = check_ready(n, MP_NTLMSSP_NEGOTIATE_SEAL);
	if (rc != MP_OK)
		return rc;
	if (!msg) {
		msg = data;
		msg_len = data_len;
	}
	/* [MS-NLMP] 3.4.3: the MAC covers the plaintext; RC4 of the message
	   first, then of the checksum, with the same cipher state. */
	uint8_t digest[MP_NTLM_SIG_LEN];
	mp_ntlm_mac(&n->send, false, msg, msg_len, digest);
	if (data_len)
		arcfour_crypt(&n->send.seal, data_len, data, data);
	memcpy(sig, digest, MP_NTLM_SIG_LEN);
	if (key_exch(n))
		arcfour_crypt(&n->send.seal, 8, sig + 4, digest + 4);
	mp_ntlm_wipe(digest, sizeof(digest));
	n->send.seq++;
	return MP_OK;
}

int mp_ntlm_unseal(struct mp_ntlm *n, uint8_t *data, size_t data_len, const uint8_t *msg,
                   size_t msg_len, const uint8_t sig[16])
{
	int rc = check_ready(n, MP_NTLMSSP_NEGOTIATE_SEAL);
	if (rc != MP_OK)
		return rc;
	if (!msg) {
		msg = data;
		msg_len = data_len;
	}
	if (data_len)
		arcfour_crypt(&n->recv.seal, data_len, data, data);
	uint8_t want[MP_NTLM_SIG_LEN];
	mp_ntlm_mac(&n->recv, key_exch(n), msg, msg_len, want);
	n->recv.seq++;
	bool ok = mp_ntlm_ct_equal(want, sig, MP_NTLM_SIG_LEN);
	mp_ntlm_wipe(want, sizeof(want));
	if (!ok) {
		mp_ntlm_wipe(data, data_len);
		return poison(n);
	}
	return MP_OK;
}
