/*
 * The GAL over the store's users: rows, properties, restrictions and name
 * resolution (MS-OXNSPI 3.1.4.1; property semantics from MS-OXOABK).
 */
#include "server/nspi_gal.h"

#include "server/store/store.h"
#include "util/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <talloc.h>

#define PT(tag) ((uint16_t)((tag)&0xFFFF))
#define PID(tag) ((tag)&0xFFFF0000u)
#define DT_MAILUSER 0u
#define DT_CONTAINER 0x100u
#define MAPI_MAILUSER 6
#define MAPI_ABCONT 4
#define AB_RECIPIENTS 0x1
#define AB_UNMODIFIABLE 0x8

static const uint32_t user_tags[] = {
    MP_PR_EMS_AB_CONTAINERID,
    MP_PR_OBJECT_TYPE,
    MP_PR_DISPLAY_TYPE,
    MP_PR_DISPLAY_TYPE_EX,
    MP_PR_ENTRYID,
    MP_PR_RECORD_KEY,
    MP_PR_SEARCH_KEY,
    MP_PR_INSTANCE_KEY,
    MP_PR_MAPPING_SIGNATURE,
    MP_PR_TEMPLATEID,
    MP_PR_DISPLAY_NAME,
    MP_PR_TRANSMITABLE_DISPLAY_NAME,
    MP_PR_EMS_AB_DISPLAY_NAME_PRINTABLE,
    MP_PR_ADDRTYPE,
    MP_PR_EMAIL_ADDRESS,
    MP_PR_SMTP_ADDRESS,
    MP_PR_ACCOUNT,
    MP_PR_SEND_RICH_INFO,
    MP_PR_EMS_AB_HOME_MDB,
    MP_PR_EMS_AB_PROXY_ADDRESSES,
    MP_PR_EMS_AB_NETWORK_ADDRESS,
    MP_PR_EMS_AB_OBJECT_GUID,
};

/* PidTagAddressBookContainerId, PidTagObjectType, PidTagDisplayType,
 * PidTagDisplayName, PidTagPrimaryTelephoneNumber, PidTagDepartmentName,
 * PidTagOfficeLocation: MS-OXNSPI 3.1.4.1.8 (a NULL pPropTags). */
static const uint32_t default_cols[] = {
    MP_PR_EMS_AB_CONTAINERID,
    MP_PR_OBJECT_TYPE,
    MP_PR_DISPLAY_TYPE,
    MP_PR_DISPLAY_NAME,
    0x3A08001Fu,
    0x3A18001Fu,
    0x3A19001Fu,
};

const uint32_t *mp_gal_tags(size_t *n)
{
	*n = sizeof(user_tags) / sizeof(user_tags[0]);
	return user_tags;
}

const uint32_t *mp_gal_default_columns(size_t *n)
{
	*n = sizeof(default_cols) / sizeof(default_cols[0]);
	return default_cols;
}

uint32_t mp_gal_tag_for_cp(uint32_t tag, bool unicode)
{
	uint16_t t = PT(tag);
	if (t == MP_PTYP_STRING || t == MP_PTYP_STRING8)
		return PID(tag) | (unicode ? MP_PTYP_STRING : MP_PTYP_STRING8);
	if (t == MP_PTYP_MV_STRING || t == MP_PTYP_MV_STRING8)
		return PID(tag) | (unicode ? MP_PTYP_MV_STRING : MP_PTYP_MV_STRING8);
	return tag;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct mp_gal_entry *x = a, *y = b;
	int c = strcasecmp(x->display_name, y->display_name);
	if (c)
		return c;
	return x->mid < y->mid ? -1 : x->mid > y->mid;
}

int mp_gal_load(void *mem, struct mp_store *st, const char *fqdn, struct mp_gal **out)
{
	struct mp_gal *g = talloc_zero(mem, struct mp_gal);
	struct mp_store_txn *txn;
	if (!g)
		return MP_ERR_NOMEM;
	int rc = mp_store_txn_begin(st, false, &txn);
	if (rc != MP_OK)
		return rc;
	struct mp_store_user *u;
	size_t n;
	rc = mp_store_user_list(txn, g, &u, &n);
	if (rc == MP_OK) {
		g->e = talloc_zero_array(g, struct mp_gal_entry, n ? n : 1);
		if (!g->e)
			rc = MP_ERR_NOMEM;
	}
	for (size_t i = 0; rc == MP_OK && i < n; i++) {
		if (u[i].flags & MP_STORE_USER_DISABLED)
			continue;
		struct mp_gal_entry *e = &g->e[g->n++];
		e->mid = u[i].mid;
		e->name = u[i].name;
		e->display_name = u[i].display_name;
		e->smtp = u[i].smtp;
		e->dn = u[i].dn;
		memcpy(e->guid, u[i].mailbox_guid, 16);
	}
	mp_store_txn_abort(txn);
	if (rc != MP_OK)
		return rc;
	g->org = talloc_strdup(g, mp_store_org(st));
	g->admin_group = talloc_strdup(g, mp_store_admin_group(st));
	g->fqdn = talloc_strdup(g, fqdn);
	if (!g->org || !g->admin_group || !g->fqdn)
		return MP_ERR_NOMEM;
	qsort(g->e, g->n, sizeof(*g->e), cmp_entry);
	*out = g;
	return MP_OK;
}

long mp_gal_index(const struct mp_gal *g, uint32_t mid)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->e[i].mid == mid)
			return (long)i;
	return -1;
}

size_t mp_gal_seek(const struct mp_gal *g, const char *s)
{
	for (size_t i = 0; i < g->n; i++)
		if (strcasecmp(g->e[i].display_name, s) >= 0)
			return i;
	return g->n;
}

/* ---- code pages ---- */

static bool utf8_next(const unsigned char **p, uint32_t *cp)
{
	const unsigned char *s = *p;
	if (s[0] < 0x80) {
		*cp = s[0];
		*p = s + 1;
		return true;
	}
	int n = (s[0] & 0xE0) == 0xC0   ? 1
	        : (s[0] & 0xF0) == 0xE0 ? 2
	        : (s[0] & 0xF8) == 0xF0 ? 3
	                                : -1;
	if (n < 0)
		return false;
	uint32_t v = s[0] & (0x3F >> n);
	for (int i = 1; i <= n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return false;
		v = v << 6 | (s[i] & 0x3F);
	}
	*cp = v;
	*p = s + n + 1;
	return true;
}

char *mp_gal_to_cp(void *mem, const char *utf8, uint32_t cp)
{
	if (cp == MP_NSPI_CP_UTF8)
		return talloc_strdup(mem, utf8);
	size_t len = strlen(utf8);
	char *out = talloc_array(mem, char, len + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)utf8;
	while (*p) {
		uint32_t c;
		if (!utf8_next(&p, &c)) {
			c = '?';
			p++;
		}
		out[o++] = c < 0x100 && c != 0 ? (char)c : '?';
	}
	out[o] = 0;
	return out;
}

char *mp_gal_from_cp(void *mem, const char *s, uint32_t cp)
{
	if (cp == MP_NSPI_CP_UTF8)
		return talloc_strdup(mem, s);
	size_t len = strlen(s);
	char *out = talloc_array(mem, char, 2 * len + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x80) {
			out[o++] = (char)*p;
		} else {
			out[o++] = (char)(0xC0 | (*p >> 6));
			out[o++] = (char)(0x80 | (*p & 0x3F));
		}
	}
	out[o] = 0;
	return out;
}

/* ---- properties ---- */

static int set_err(struct mp_nspi_propval *v, uint32_t tag, uint32_t ec)
{
	v->proptag = PID(tag) | MP_PTYP_ERROR_CODE;
	v->reserved = 0;
	v->value.err = (int32_t)ec;
	return MP_ERR_NOTFOUND;
}

static int set_str(void *mem, struct mp_nspi_propval *v, uint32_t tag, const char *s, uint32_t cp)
{
	uint16_t t = PT(tag);
	if (t == MP_PTYP_STRING8) {
		v->proptag = tag;
		v->value.lpszA = mp_gal_to_cp(mem, s, cp);
		return v->value.lpszA ? MP_OK : MP_ERR_NOMEM;
	}
	if (t != MP_PTYP_STRING && t != 0)
		return set_err(v, tag, MP_NSPI_E_NOT_FOUND);
	v->proptag = PID(tag) | MP_PTYP_STRING;
	v->value.lpszW = talloc_strdup(mem, s);
	return v->value.lpszW ? MP_OK : MP_ERR_NOMEM;
}

static int set_mvstr(void *mem, struct mp_nspi_propval *v, uint32_t tag, const char *s, uint32_t cp)
{
	uint16_t t = PT(tag);
	bool a = t == MP_PTYP_MV_STRING8;
	if (!a && t != MP_PTYP_MV_STRING && t != 0)
		return set_err(v, tag, MP_NSPI_E_NOT_FOUND);
	v->proptag = PID(tag) | (a ? MP_PTYP_MV_STRING8 : MP_PTYP_MV_STRING);
	struct mp_nspi_string_array *sa = a ? &v->value.MVszA : &v->value.MVszW;
	sa->count = 1;
	sa->strs = talloc_array(mem, char *, 1);
	if (!sa->strs)
		return MP_ERR_NOMEM;
	sa->strs[0] = a ? mp_gal_to_cp(mem, s, cp) : talloc_strdup(mem, s);
	return sa->strs[0] ? MP_OK : MP_ERR_NOMEM;
}

static int set_long(struct mp_nspi_propval *v, uint32_t tag, int32_t l)
{
	if (PT(tag) != MP_PTYP_INTEGER32 && PT(tag) != 0)
		return set_err(v, tag, MP_NSPI_E_NOT_FOUND);
	v->proptag = PID(tag) | MP_PTYP_INTEGER32;
	v->value.l = l;
	return MP_OK;
}

static int set_bin(void *mem, struct mp_nspi_propval *v, uint32_t tag, const void *p, size_t n)
{
	if (PT(tag) != MP_PTYP_BINARY && PT(tag) != 0)
		return set_err(v, tag, MP_NSPI_E_NOT_FOUND);
	v->proptag = PID(tag) | MP_PTYP_BINARY;
	v->value.bin.cb = (uint32_t)n;
	v->value.bin.lpb = talloc_memdup(mem, p, n ? n : 1);
	return v->value.bin.lpb ? MP_OK : MP_ERR_NOMEM;
}

static int set_entryid(void *mem, const struct mp_gal *g, struct mp_nspi_propval *v, uint32_t tag,
                       const char *dn, uint32_t mid, uint32_t dt, bool eph)
{
	struct mp_nspi_entryid e = {
	    .kind = eph ? MP_NSPI_ENTRYID_EPHEMERAL : MP_NSPI_ENTRYID_PERMANENT,
	    .id_type = eph ? 0x87 : 0x00,
	    .r4 = 1,
	    .display_type = dt,
	    .mid = mid,
	    .dn = dn,
	};
	/* Ephemeral IDs carry the server's GUID, permanent ones GUID_NSPI. */
	if (eph && g)
		memcpy(e.provider_uid.ab, g->server_guid, 16);
	else
		e.provider_uid = mp_nspi_guid_nspi;
	size_t n;
	uint8_t *b = mp_nspi_entryid_build(mem, &e, &n);
	if (!b)
		return MP_ERR_NOMEM;
	return set_bin(mem, v, tag, b, n);
}

/* Our host name: the first label of the FQDN. */
static char *server_name(void *mem, const struct mp_gal *g)
{
	return talloc_asprintf(mem, "%.*s", (int)strcspn(g->fqdn, "."), g->fqdn);
}

char *mp_gal_server_dn(void *mem, const struct mp_gal *g)
{
	char *host = server_name(mem, g);
	return host ? talloc_asprintf(mem, "/o=%s/ou=%s/cn=Configuration/cn=Servers/cn=%s", g->org,
	                              g->admin_group, host)
	            : NULL;
}

static char *home_mdb(void *mem, const struct mp_gal *g)
{
	char *server = mp_gal_server_dn(mem, g);
	return server ? talloc_asprintf(mem, "%s/cn=Microsoft Private MDB", server) : NULL;
}

int mp_gal_server_row(void *mem, const struct mp_gal *g, const struct mp_nspi_proptags *tags,
                      uint32_t cp, struct mp_nspi_row *out, size_t *errors)
{
	out->reserved = 0;
	out->count = tags->count;
	out->props = talloc_zero_array(mem, struct mp_nspi_propval, tags->count ? tags->count : 1);
	if (!out->props)
		return MP_ERR_NOMEM;
	for (uint32_t i = 0; i < tags->count; i++) {
		uint32_t tag = tags->tags[i];
		struct mp_nspi_propval *v = &out->props[i];
		char *s = NULL;
		int rc;
		switch (PID(tag)) {
		case PID(MP_PR_DISPLAY_NAME):
			rc = (s = server_name(mem, g)) ? set_str(mem, v, tag, s, cp) : MP_ERR_NOMEM;
			break;
		case PID(MP_PR_EMAIL_ADDRESS):
			rc = (s = mp_gal_server_dn(mem, g)) ? set_str(mem, v, tag, s, cp)
			                                    : MP_ERR_NOMEM;
			break;
		case PID(MP_PR_EMS_AB_NETWORK_ADDRESS):
			rc = (s = talloc_asprintf(mem, "ncacn_ip_tcp:%s", g->fqdn))
			         ? set_mvstr(mem, v, tag, s, cp)
			         : MP_ERR_NOMEM;
			break;
		default:
			rc = set_err(v, tag, MP_NSPI_E_NOT_FOUND);
		}
		if (rc == MP_ERR_NOTFOUND && errors)
			(*errors)++;
		else if (rc != MP_OK && rc != MP_ERR_NOTFOUND)
			return rc;
	}
	return MP_OK;
}

int mp_gal_prop(void *mem, const struct mp_gal *g, size_t idx, uint32_t tag, uint32_t flags,
                uint32_t cp, struct mp_nspi_propval *v)
{
	const struct mp_gal_entry *e = &g->e[idx];
	memset(v, 0, sizeof(*v));
	char *s;
	switch (PID(tag)) {
	case PID(MP_PR_EMS_AB_CONTAINERID):
		return set_long(v, tag, 0);
	case PID(MP_PR_OBJECT_TYPE):
		return set_long(v, tag, MAPI_MAILUSER);
	case PID(MP_PR_DISPLAY_TYPE):
	case PID(MP_PR_DISPLAY_TYPE_EX):
		return set_long(v, tag, DT_MAILUSER);
	case PID(MP_PR_ENTRYID):
		return set_entryid(mem, g, v, tag, e->dn, e->mid, DT_MAILUSER,
		                   (flags & MP_NSPI_F_EPH_ID) != 0);
	case PID(MP_PR_RECORD_KEY):
	case PID(MP_PR_TEMPLATEID):
		return set_entryid(mem, g, v, tag, e->dn, e->mid, DT_MAILUSER, false);
	case PID(MP_PR_SEARCH_KEY):
		s = talloc_asprintf(mem, "EX:%s", e->dn);
		if (!s)
			return MP_ERR_NOMEM;
		for (char *p = s; *p; p++)
			*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
		return set_bin(mem, v, tag, s, strlen(s) + 1);
	case PID(MP_PR_INSTANCE_KEY): {
		uint8_t k[4] = {(uint8_t)e->mid, (uint8_t)(e->mid >> 8), (uint8_t)(e->mid >> 16),
		                (uint8_t)(e->mid >> 24)};
		return set_bin(mem, v, tag, k, 4);
	}
	case PID(MP_PR_MAPPING_SIGNATURE):
		return set_bin(mem, v, tag, mp_nspi_guid_nspi.ab, 16);
	case PID(MP_PR_EMS_AB_OBJECT_GUID):
		return set_bin(mem, v, tag, e->guid, 16);
	case PID(MP_PR_DISPLAY_NAME):
	case PID(MP_PR_TRANSMITABLE_DISPLAY_NAME):
		return set_str(mem, v, tag, e->display_name, cp);
	case PID(MP_PR_EMS_AB_DISPLAY_NAME_PRINTABLE):
	case PID(MP_PR_ACCOUNT):
		return set_str(mem, v, tag, e->name, cp);
	case PID(MP_PR_ADDRTYPE):
		return set_str(mem, v, tag, "EX", cp);
	case PID(MP_PR_EMAIL_ADDRESS):
		return set_str(mem, v, tag, e->dn, cp);
	case PID(MP_PR_SMTP_ADDRESS):
		return set_str(mem, v, tag, e->smtp, cp);
	case PID(MP_PR_SEND_RICH_INFO):
		if (PT(tag) != MP_PTYP_BOOLEAN && PT(tag) != 0)
			return set_err(v, tag, MP_NSPI_E_NOT_FOUND);
		v->proptag = PID(tag) | MP_PTYP_BOOLEAN;
		v->value.b = 1;
		return MP_OK;
	case PID(MP_PR_EMS_AB_HOME_MDB):
		if (!(s = home_mdb(mem, g)))
			return MP_ERR_NOMEM;
		return set_str(mem, v, tag, s, cp);
	case PID(MP_PR_EMS_AB_PROXY_ADDRESSES):
		if (!(s = talloc_asprintf(mem, "SMTP:%s", e->smtp)))
			return MP_ERR_NOMEM;
		return set_mvstr(mem, v, tag, s, cp);
	case PID(MP_PR_EMS_AB_NETWORK_ADDRESS):
		if (!(s = talloc_asprintf(mem, "ncacn_ip_tcp:%s", g->fqdn)))
			return MP_ERR_NOMEM;
		return set_mvstr(mem, v, tag, s, cp);
	default:
		return set_err(v, tag, MP_NSPI_E_NOT_FOUND);
	}
}

int mp_gal_row(void *mem, const struct mp_gal *g, size_t idx, const struct mp_nspi_proptags *tags,
               uint32_t flags, uint32_t cp, struct mp_nspi_row *out, size_t *errors)
{
	out->reserved = 0;
	out->count = tags->count;
	out->props = talloc_zero_array(mem, struct mp_nspi_propval, tags->count ? tags->count : 1);
	if (!out->props)
		return MP_ERR_NOMEM;
	for (uint32_t i = 0; i < tags->count; i++) {
		int rc = mp_gal_prop(mem, g, idx, tags->tags[i], flags, cp, &out->props[i]);
		if (rc == MP_ERR_NOTFOUND && errors)
			(*errors)++;
		else if (rc != MP_OK && rc != MP_ERR_NOTFOUND)
			return rc;
	}
	return MP_OK;
}

int mp_gal_hierarchy_row(void *mem, bool unicode, uint32_t cp, struct mp_nspi_row *out)
{
	struct mp_nspi_propval *p = talloc_zero_array(mem, struct mp_nspi_propval, 6);
	if (!p)
		return MP_ERR_NOMEM;
	int rc = set_entryid(mem, NULL, &p[0], MP_PR_ENTRYID, "/", 0, DT_CONTAINER, false);
	if (rc != MP_OK)
		return rc;
	set_long(&p[1], MP_PR_CONTAINER_FLAGS, AB_RECIPIENTS | AB_UNMODIFIABLE);
	set_long(&p[2], MP_PR_DEPTH, 0);
	set_long(&p[3], MP_PR_EMS_AB_CONTAINERID, 0);
	rc = set_str(mem, &p[4], mp_gal_tag_for_cp(MP_PR_DISPLAY_NAME, unicode), "", cp);
	if (rc != MP_OK)
		return rc;
	p[5].proptag = MP_PR_EMS_AB_IS_MASTER;
	p[5].value.b = 0;
	out->reserved = 0;
	out->count = 6;
	out->props = p;
	return MP_OK;
}

/* ---- restrictions ---- */

/* The string value of a property for comparisons (UTF-8), or NULL. */
static const char *str_of(void *mem, const struct mp_gal *g, size_t idx, uint32_t tag)
{
	struct mp_nspi_propval v;
	if (mp_gal_prop(mem, g, idx, PID(tag) | MP_PTYP_STRING, 0, MP_NSPI_CP_UTF8, &v) != MP_OK)
		return NULL;
	return v.value.lpszW;
}

static const char *restr_str(void *mem, const struct mp_nspi_propval *p, uint32_t cp)
{
	if (!p)
		return NULL;
	if (PT(p->proptag) == MP_PTYP_STRING)
		return p->value.lpszW;
	if (PT(p->proptag) == MP_PTYP_STRING8)
		return p->value.lpszA ? mp_gal_from_cp(mem, p->value.lpszA, cp) : NULL;
	return NULL;
}

static bool prefix_ci(const char *s, const char *pre)
{
	return strncasecmp(s, pre, strlen(pre)) == 0;
}

/* ANR: a prefix of the display name or one of its words, the account, the
 * SMTP address (MS-OXNSPI 3.1.4.7: the server's choice of attributes). */
static bool anr_match(const struct mp_gal_entry *e, const char *s)
{
	if (!*s)
		return false;
	if (prefix_ci(e->name, s) || prefix_ci(e->smtp, s) || prefix_ci(e->display_name, s))
		return true;
	for (const char *p = e->display_name; (p = strchr(p, ' ')) != NULL;)
		if (prefix_ci(++p, s))
			return true;
	return false;
}

static int match(void *mem, const struct mp_gal *g, size_t idx, const struct mp_nspi_restriction *r,
                 uint32_t cp, int depth, bool *hit)
{
	int rc;
	bool h;
	if (!r || depth > MP_NSPI_MAX_RES_DEPTH)
		return MP_ERR_UNSUPPORTED;
	switch (r->rt) {
	case MP_NSPI_RES_AND:
	case MP_NSPI_RES_OR: {
		bool and = r->rt == MP_NSPI_RES_AND;
		*hit = and;
		for (uint32_t i = 0; i < r->res.and_or.count; i++) {
			if (!r->res.and_or.res)
				return MP_ERR_UNSUPPORTED;
			if ((rc = match(mem, g, idx, &r->res.and_or.res[i], cp, depth + 1, &h)) !=
			    MP_OK)
				return rc;
			if (and&&!h)
				*hit = false;
			if (!and&&h)
				*hit = true;
		}
		return MP_OK;
	}
	case MP_NSPI_RES_NOT:
		if ((rc = match(mem, g, idx, r->res.not_.res, cp, depth + 1, &h)) != MP_OK)
			return rc;
		*hit = !h;
		return MP_OK;
	case MP_NSPI_RES_CONTENT: {
		const char *want = restr_str(mem, r->res.content.prop, cp);
		const char *have = str_of(mem, g, idx, r->res.content.proptag);
		if (!want)
			return MP_ERR_UNSUPPORTED;
		uint32_t fl = r->res.content.fuzzy_level;
		if (!have) {
			*hit = false;
		} else if ((fl & 0xF) == 1) { /* FL_SUBSTRING */
			*hit = (fl & 0x10000) ? strcasestr(have, want) != NULL
			                      : strstr(have, want) != NULL;
		} else if ((fl & 0xF) == 2) { /* FL_PREFIX */
			*hit = (fl & 0x10000) ? prefix_ci(have, want)
			                      : strncmp(have, want, strlen(want)) == 0;
		} else { /* FL_FULLSTRING */
			*hit =
			    (fl & 0x10000) ? strcasecmp(have, want) == 0 : strcmp(have, want) == 0;
		}
		return MP_OK;
	}
	case MP_NSPI_RES_PROPERTY: {
		uint32_t tag = r->res.property.proptag;
		const struct mp_nspi_propval *p = r->res.property.prop;
		if (PID(tag) == PID(MP_PR_ANR)) {
			const char *want = restr_str(mem, p, cp);
			if (!want)
				return MP_ERR_UNSUPPORTED;
			*hit = anr_match(&g->e[idx], want);
			return MP_OK;
		}
		int c;
		const char *want = restr_str(mem, p, cp);
		if (want) {
			const char *have = str_of(mem, g, idx, tag);
			if (!have) {
				*hit = false;
				return MP_OK;
			}
			c = strcasecmp(have, want);
		} else if (p && PT(p->proptag) == MP_PTYP_INTEGER32) {
			struct mp_nspi_propval v;
			if (mp_gal_prop(mem, g, idx, PID(tag) | MP_PTYP_INTEGER32, 0, cp, &v) !=
			    MP_OK) {
				*hit = false;
				return MP_OK;
			}
			c = v.value.l < p->value.l ? -1 : v.value.l > p->value.l;
		} else {
			return MP_ERR_UNSUPPORTED;
		}
		switch (r->res.property.relop) {
		case 0:
			*hit = c < 0;
			break; /* RELOP_LT */
		case 1:
			*hit = c <= 0;
			break; /* RELOP_LE */
		case 2:
			*hit = c > 0;
			break; /* RELOP_GT */
		case 3:
			*hit = c >= 0;
			break; /* RELOP_GE */
		case 4:
			*hit = c == 0;
			break; /* RELOP_EQ */
		case 5:
			*hit = c != 0;
			break; /* RELOP_NE */
		default:
			return MP_ERR_UNSUPPORTED;
		}
		return MP_OK;
	}
	case MP_NSPI_RES_EXIST: {
		struct mp_nspi_propval v;
		*hit = mp_gal_prop(mem, g, idx, PID(r->res.exist.proptag), 0, cp, &v) == MP_OK;
		return MP_OK;
	}
	case MP_NSPI_RES_BITMASK: {
		struct mp_nspi_propval v;
		if (mp_gal_prop(mem, g, idx, PID(r->res.bitmask.proptag) | MP_PTYP_INTEGER32, 0, cp,
		                &v) != MP_OK) {
			*hit = false;
			return MP_OK;
		}
		bool nz = ((uint32_t)v.value.l & r->res.bitmask.mask) != 0;
		*hit = r->res.bitmask.rel_bmr == 0 ? !nz : nz; /* BMR_EQZ / BMR_NEZ */
		return MP_OK;
	}
	default:
		return MP_ERR_UNSUPPORTED;
	}
}

int mp_gal_match(const struct mp_gal *g, size_t idx, const struct mp_nspi_restriction *r,
                 uint32_t cp, bool *hit)
{
	void *mem = talloc_new(NULL);
	if (!mem)
		return MP_ERR_NOMEM;
	int rc = match(mem, g, idx, r, cp, 0, hit);
	talloc_free(mem);
	return rc;
}

size_t mp_gal_resolve(const struct mp_gal *g, const char *s, size_t *idx)
{
	size_t n = 0;
	const char *q = s;
	/* "SMTP:addr" and "=addr" style prefixes name the address itself. */
	if (strncasecmp(q, "SMTP:", 5) == 0)
		q += 5;
	for (size_t i = 0; i < g->n; i++) {
		const struct mp_gal_entry *e = &g->e[i];
		if (strcasecmp(e->name, q) == 0 || strcasecmp(e->smtp, q) == 0 ||
		    strcasecmp(e->dn, q) == 0 || strcasecmp(e->display_name, q) == 0) {
			if (n++ == 0)
				*idx = i;
		}
	}
	if (n)
		return n;
	for (size_t i = 0; i < g->n; i++) {
		if (anr_match(&g->e[i], q)) {
			if (n++ == 0)
				*idx = i;
		}
	}
	return n;
}
