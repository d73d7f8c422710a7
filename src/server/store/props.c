/*
 * Property bags: values stored per (object, prop id) in their ROP wire
 * encoding (or raw when too big for it), validated with the property value
 * codec of src/mapi; computed properties guarded; streams over string and
 * binary values; named-property maps; UTF-8/UTF-16 conversion.
 */
#include "server/store/store_int.h"

#include <stdlib.h>
#include <string.h>

#include <talloc.h>

#include "auth/ntlm_crypto.h"

/* ---- Strings ---- */

bool st_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		unsigned c = p[i];
		size_t n;
		uint32_t cp, min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (i + n >= len)
			return false;
		for (size_t j = 1; j <= n; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/* Decode one code point at p[0..left); invalid input gives U+FFFD and
 * consumes one byte. */
static uint32_t utf8_next(const unsigned char *p, size_t left, size_t *used)
{
	unsigned c = p[0];
	size_t n;
	uint32_t cp, min;
	*used = 1;
	if (c < 0x80)
		return c;
	if ((c & 0xe0) == 0xc0)
		n = 1, cp = c & 0x1f, min = 0x80;
	else if ((c & 0xf0) == 0xe0)
		n = 2, cp = c & 0x0f, min = 0x800;
	else if ((c & 0xf8) == 0xf0)
		n = 3, cp = c & 0x07, min = 0x10000;
	else
		return 0xfffd;
	if (n >= left)
		return 0xfffd;
	for (size_t j = 1; j <= n; j++) {
		if ((p[j] & 0xc0) != 0x80)
			return 0xfffd;
		cp = (cp << 6) | (p[j] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0xfffd;
	*used = n + 1;
	return cp;
}

int mp_store_utf8_to_utf16(void *mem, const char *s, size_t len, bool terminate, uint8_t **out,
			   size_t *out_len)
{
	/* At most one UTF-16 code unit (2 bytes) per input byte. */
	if (len > ((size_t)1 << 30))
		return MP_ERR_LIMIT;
	uint8_t *o = talloc_array(mem, uint8_t, 2 * len + 2);
	if (!o)
		return MP_ERR_NOMEM;
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, w = 0, used;
	while (i < len) {
		uint32_t cp = utf8_next(p + i, len - i, &used);
		i += used;
		if (cp == 0)
			continue; /* a PtypString cannot hold U+0000 */
		if (cp >= 0x10000) {
			cp -= 0x10000;
			mp_put_u16(o + w, (uint16_t)(0xd800 | (cp >> 10)));
			mp_put_u16(o + w + 2, (uint16_t)(0xdc00 | (cp & 0x3ff)));
			w += 4;
		} else {
			mp_put_u16(o + w, (uint16_t)cp);
			w += 2;
		}
	}
	if (terminate) {
		o[w] = 0;
		o[w + 1] = 0;
	}
	*out = o;
	*out_len = w;
	return MP_OK;
}

int mp_store_utf16_to_utf8(void *mem, const uint8_t *p, size_t len, char **out)
{
	size_t units = len / 2;
	if (units > ((size_t)1 << 30))
		return MP_ERR_LIMIT;
	char *o = talloc_array(mem, char, 3 * units + 1);
	if (!o)
		return MP_ERR_NOMEM;
	size_t w = 0;
	for (size_t i = 0; i < units; i++) {
		uint32_t cp = mp_get_u16(p + 2 * i);
		if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < units) {
			uint32_t lo = mp_get_u16(p + 2 * i + 2);
			if (lo >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				i++;
			} else {
				cp = 0xfffd;
			}
		} else if (cp >= 0xd800 && cp <= 0xdfff) {
			cp = 0xfffd;
		}
		if (cp == 0)
			continue;
		if (cp < 0x80) {
			o[w++] = (char)cp;
		} else if (cp < 0x800) {
			o[w++] = (char)(0xc0 | (cp >> 6));
			o[w++] = (char)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			o[w++] = (char)(0xe0 | (cp >> 12));
			o[w++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			o[w++] = (char)(0x80 | (cp & 0x3f));
		} else {
			/* 4 bytes for 2 units: within the 3-per-unit budget. */
			o[w++] = (char)(0xf0 | (cp >> 18));
			o[w++] = (char)(0x80 | ((cp >> 12) & 0x3f));
			o[w++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			o[w++] = (char)(0x80 | (cp & 0x3f));
		}
	}
	o[w] = '\0';
	*out = o;
	return MP_OK;
}

void st_ascii_upper(char *dst, const char *src, size_t len)
{
	for (size_t i = 0; i < len; i++)
		dst[i] = (src[i] >= 'a' && src[i] <= 'z') ? (char)(src[i] - 32) : src[i];
}

void st_ascii_lower(char *dst, const char *src, size_t len)
{
	for (size_t i = 0; i < len; i++)
		dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? (char)(src[i] + 32) : src[i];
}

int st_name_key(void *mem, const char *name, char **out, size_t *len)
{
	uint8_t *u16;
	size_t n16;
	int rc = mp_store_utf8_to_utf16(mem, name, strlen(name), false, &u16, &n16);
	if (rc)
		return rc;
	mp_ntlm_utf16le_upper(u16, n16);
	rc = mp_store_utf16_to_utf8(mem, u16, n16, out);
	talloc_free(u16);
	if (rc)
		return rc;
	*len = strlen(*out);
	return MP_OK;
}

/* ---- Stored records ---- */

static const uint16_t computed_ids[] = {
	0x0FFF, /* PidTagEntryId */
	0x0E09, /* PidTagParentEntryId */
	0x6748, /* PidTagFolderId */
	0x6749, /* PidTagParentFolderId */
	0x674A, /* PidTagMid */
	0x65E0, /* PidTagSourceKey */
	0x65E1, /* PidTagParentSourceKey */
	0x0FF9, /* PidTagRecordKey */
	0x67A4, /* PidTagChangeNumber */
	0x65E2, /* PidTagChangeKey */
	0x3602, /* PidTagContentCount */
	0x3603, /* PidTagContentUnreadCount */
	0x3617, /* PidTagAssociatedContentCount */
	0x360A, /* PidTagSubfolders */
	0x6638, /* PidTagFolderChildCount */
	0x0E08, /* PidTagMessageSize */
	0x0E1B, /* PidTagHasAttachments */
	0x0E02, /* PidTagDisplayBcc */
	0x0E03, /* PidTagDisplayCc */
	0x0E04, /* PidTagDisplayTo */
	0x0E21, /* PidTagAttachNumber */
	0x0E20, /* PidTagAttachSize */
	0x3000, /* PidTagRowid */
};

bool mp_store_tag_is_computed(uint32_t tag)
{
	uint16_t id = MP_PROP_ID(tag);
	for (size_t i = 0; i < sizeof(computed_ids) / sizeof(computed_ids[0]); i++)
		if (computed_ids[i] == id)
			return true;
	return false;
}

static bool type_storable(uint16_t type)
{
	if (type & MP_PT_MVI)
		return false;
	switch (type) {
	case MP_PT_UNSPECIFIED:
	case MP_PT_NULL:
	case MP_PT_OBJECT:
	case MP_PT_ERRORCODE:
		return false;
	default:
		return true;
	}
}

static bool type_streamable(uint16_t type)
{
	return type == MP_PT_BINARY || type == MP_PT_STRING || type == MP_PT_STRING8;
}

int st_prop_check(struct mp_store_txn *txn, uint32_t tag, uint8_t form, const void *data, size_t len)
{
	uint16_t type = MP_PROP_TYPE(tag);
	if (MP_PROP_ID(tag) == 0)
		return st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM,
			       "property 0x%08x: id 0 is reserved", tag);
	if (!type_storable(type) || (type != MP_PT_RESTRICTION && type != MP_PT_RULEACTION &&
				     !mp_ptype_name(type) && type != MP_PT_SERVERID))
		return st_fail(txn, MP_ERR_UNSUPPORTED, MP_STORE_EC_NOT_SUPPORTED,
			       "property 0x%08x: type 0x%04x cannot be stored", tag, type);
	if (len > (size_t)MP_STORE_MAX_STREAM + 4)
		return st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_TOO_BIG,
			       "property 0x%08x: %zu bytes is above the %u-byte limit", tag, len,
			       MP_STORE_MAX_STREAM);
	if (form == MP_STORE_VAL_RAW) {
		if (!type_streamable(type))
			return st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM,
				       "property 0x%08x: only string and binary values can be raw",
				       tag);
		if (len > MP_STORE_MAX_STREAM)
			return st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_TOO_BIG,
				       "property 0x%08x: above the stream limit", tag);
		return MP_OK;
	}
	if (form != MP_STORE_VAL_WIRE)
		return st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM, "bad value form %u",
			       form);

	struct mp_rcursor rc;
	void *tmp = talloc_new(txn->mem);
	if (!tmp)
		return st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
	mp_rc_init(&rc, data, len);
	struct mp_pv_rd rd = {.rc = &rc, .mem = tmp, .ctx = MP_PV_ROP};
	struct mp_propval pv;
	int r = mp_pv_read(&rd, type, &pv);
	bool bool_ok = type != MP_PT_BOOLEAN || pv.v.b <= 1;
	talloc_free(tmp);
	if (r == MP_ERR_NOMEM)
		return st_fail(txn, r, MP_STORE_EC_OOM, "out of memory");
	if (r == MP_ERR_UNSUPPORTED)
		return st_fail(txn, r, MP_STORE_EC_NOT_SUPPORTED,
			       "property 0x%08x: type 0x%04x cannot be stored", tag, type);
	if (r != MP_OK || rc.bad || rc.off != len || !bool_ok)
		return st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM,
			       "property 0x%08x: malformed %s value (%zu bytes)", tag,
			       mp_ptype_name(type) ? mp_ptype_name(type) : "", len);
	return MP_OK;
}

int st_prop_put(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, uint8_t kind, uint32_t sub,
		uint32_t tag, uint8_t form, const void *data, size_t len)
{
	uint8_t k[ST_OBJKEY_LEN], *p;
	st_objkey(k, mbox, gc, kind, sub, MP_PROP_ID(tag));
	int rc = st_put_reserve(txn, txn->st->obj, k, sizeof(k), ST_VAL_HDR + len, &p);
	if (rc)
		return rc;
	mp_put_u16(p, MP_PROP_TYPE(tag));
	p[2] = form;
	if (len)
		memcpy(p + ST_VAL_HDR, data, len);
	return MP_OK;
}

int st_prop_u32(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, uint8_t kind, uint32_t sub,
		uint32_t tag, uint32_t v)
{
	uint8_t b[4];
	mp_put_u32(b, v);
	return st_prop_put(txn, mbox, gc, kind, sub, tag, MP_STORE_VAL_WIRE, b, 4);
}

int st_prop_u64(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, uint8_t kind, uint32_t sub,
		uint32_t tag, uint64_t v)
{
	uint8_t b[8];
	st_le64(b, v);
	return st_prop_put(txn, mbox, gc, kind, sub, tag, MP_STORE_VAL_WIRE, b, 8);
}

int st_prop_bool(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, uint8_t kind, uint32_t sub,
		 uint32_t tag, bool v)
{
	uint8_t b = v ? 1 : 0;
	return st_prop_put(txn, mbox, gc, kind, sub, tag, MP_STORE_VAL_WIRE, &b, 1);
}

/* The stored record for content bytes of a streamable type: wire form when
 * the ROP encoding can carry it, raw otherwise. Builds into a new buffer
 * under mem (data may point into the map). */
static int content_record(void *mem, uint16_t type, const uint8_t *data, size_t len,
			  uint8_t *form, uint8_t **out, size_t *out_len)
{
	uint8_t *b;
	bool wire;
	size_t n;

	switch (type) {
	case MP_PT_BINARY:
		wire = len <= 0xffff;
		n = wire ? len + 2 : len;
		break;
	case MP_PT_STRING:
		wire = len % 2 == 0;
		for (size_t i = 0; wire && i < len; i += 2)
			if (data[i] == 0 && data[i + 1] == 0)
				wire = false;
		n = wire ? len + 2 : len;
		break;
	case MP_PT_STRING8:
		wire = !memchr(data, 0, len);
		n = wire ? len + 1 : len;
		break;
	default:
		return MP_ERR_UNSUPPORTED;
	}
	b = talloc_array(mem, uint8_t, n ? n : 1);
	if (!b)
		return MP_ERR_NOMEM;
	if (type == MP_PT_BINARY && wire) {
		mp_put_u16(b, (uint16_t)len);
		if (len)
			memcpy(b + 2, data, len);
	} else {
		if (len)
			memcpy(b, data, len);
		if (wire)
			memset(b + len, 0, n - len);
	}
	*form = wire ? MP_STORE_VAL_WIRE : MP_STORE_VAL_RAW;
	*out = b;
	*out_len = n;
	return MP_OK;
}

int st_prop_bin(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, uint8_t kind, uint32_t sub,
		uint32_t tag, const void *data, size_t len)
{
	uint8_t form, *rec;
	size_t n;
	int rc = content_record(txn->mem, MP_PROP_TYPE(tag), data, len, &form, &rec, &n);
	if (rc)
		return st_fail(txn, rc, MP_STORE_EC_ERROR, "property 0x%08x: cannot store", tag);
	rc = st_prop_put(txn, mbox, gc, kind, sub, tag, form, rec, n);
	talloc_free(rec);
	return rc;
}

int st_prop_str(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, uint8_t kind, uint32_t sub,
		uint32_t tag, const char *utf8)
{
	if (MP_PROP_TYPE(tag) == MP_PT_STRING8)
		return st_prop_bin(txn, mbox, gc, kind, sub, tag, utf8, strlen(utf8));
	uint8_t *u16;
	size_t n;
	int rc = mp_store_utf8_to_utf16(txn->mem, utf8, strlen(utf8), true, &u16, &n);
	if (rc)
		return st_fail(txn, rc, MP_STORE_EC_OOM, "property 0x%08x: conversion failed", tag);
	rc = st_prop_put(txn, mbox, gc, kind, sub, tag, MP_STORE_VAL_WIRE, u16, n + 2);
	talloc_free(u16);
	return rc;
}

static int decode_record(struct mp_store_txn *txn, uint16_t propid, const MDB_val *v,
			 struct mp_store_prop *out)
{
	const uint8_t *p = v->mv_data;
	if (v->mv_size < ST_VAL_HDR || p[2] > MP_STORE_VAL_RAW)
		return st_fail(txn, MP_ERR_IO, MP_STORE_EC_CORRUPT, "property 0x%04x: bad record",
			       propid);
	out->tag = MP_PROP_TAG(propid, mp_get_u16(p));
	out->form = p[2];
	out->data = p + ST_VAL_HDR;
	out->len = v->mv_size - ST_VAL_HDR;
	return MP_OK;
}

int st_prop_raw(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, uint8_t kind, uint32_t sub,
		uint16_t propid, struct mp_store_prop *out)
{
	uint8_t k[ST_OBJKEY_LEN];
	MDB_val v;
	st_objkey(k, mbox, gc, kind, sub, propid);
	int rc = st_get(txn, txn->st->obj, k, sizeof(k), &v);
	if (rc)
		return rc;
	return decode_record(txn, propid, &v, out);
}

int st_prop_get_u32(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, uint8_t kind,
		    uint32_t sub, uint32_t tag, uint32_t *v)
{
	struct mp_store_prop p;
	int rc = st_prop_raw(txn, mbox, gc, kind, sub, MP_PROP_ID(tag), &p);
	if (rc)
		return rc;
	if (p.tag != tag || p.len != 4)
		return MP_ERR_NOTFOUND;
	*v = mp_get_u32(p.data);
	return MP_OK;
}

int st_copy_records(struct mp_store_txn *txn, uint32_t mbox, uint64_t src, uint64_t dst)
{
	uint8_t prefix[12];
	st_be32(prefix, mbox);
	st_be64(prefix + 4, src);

	/* Collect the key tails first: writing while a cursor walks the same
	 * database would move pages under it. */
	typedef uint8_t key_tail[ST_OBJKEY_LEN - 12];
	struct st_iter it;
	size_t n = 0, cap = 0;
	key_tail *tails = NULL;
	int rc = st_iter_open(txn, txn->st->obj, prefix, sizeof(prefix), &it);
	if (rc)
		return rc;
	while ((rc = st_iter_next(txn, &it)) == 1) {
		if (it.k.mv_size != ST_OBJKEY_LEN)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			tails = talloc_realloc(txn->mem, tails, key_tail, cap);
			if (!tails) {
				st_iter_close(&it);
				return st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
			}
		}
		memcpy(tails[n++], (const uint8_t *)it.k.mv_data + 12, ST_OBJKEY_LEN - 12);
	}
	st_iter_close(&it);
	if (rc < 0) {
		talloc_free(tails);
		return rc;
	}
	for (size_t i = 0; i < n && rc == MP_OK; i++) {
		uint8_t k[ST_OBJKEY_LEN];
		MDB_val v;
		memcpy(k, prefix, 12);
		memcpy(k + 12, tails[i], ST_OBJKEY_LEN - 12);
		rc = st_get(txn, txn->st->obj, k, sizeof(k), &v);
		if (rc)
			break;
		/* The value may sit on a page the put below rewrites: copy it out. */
		void *copy = talloc_memdup(txn->mem, v.mv_data, v.mv_size ? v.mv_size : 1);
		if (!copy) {
			rc = st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
			break;
		}
		st_be64(k + 4, dst);
		rc = st_put(txn, txn->st->obj, k, sizeof(k), copy, v.mv_size);
		talloc_free(copy);
	}
	talloc_free(tails);
	return rc;
}

int st_records_size(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, uint8_t kind,
		    uint32_t sub, uint64_t *size)
{
	uint8_t prefix[ST_OBJKEY_LEN];
	size_t plen;
	st_objkey(prefix, mbox, gc, kind, sub, 0);
	plen = kind ? ST_OBJPREFIX_LEN : 12;
	struct st_iter it;
	int rc = st_iter_open(txn, txn->st->obj, prefix, plen, &it);
	if (rc)
		return rc;
	*size = 0;
	while ((rc = st_iter_next(txn, &it)) == 1) {
		const uint8_t *k = it.k.mv_data;
		if (it.k.mv_size != ST_OBJKEY_LEN || st_get_be16(k + 17) == 0)
			continue;
		if (it.v.mv_size >= ST_VAL_HDR)
			*size += it.v.mv_size - ST_VAL_HDR;
	}
	st_iter_close(&it);
	return rc < 0 ? rc : MP_OK;
}

/* ---- Reading ---- */

int mp_store_prop_get(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
		      struct mp_store_prop *out)
{
	uint64_t gc;
	uint16_t propid = MP_PROP_ID(tag), type = MP_PROP_TYPE(tag);
	int rc;

	memset(out, 0, sizeof(*out));
	out->form = MP_STORE_VAL_NONE;
	if (obj->kind == MP_STORE_KIND_MAILBOX && (obj->id || obj->sub))
		return st_obj_check(txn, obj, &gc); /* says why */
	if (obj->kind == MP_STORE_KIND_MAILBOX)
		gc = 0;
	else if ((rc = st_id_gc(txn, obj->id, "object", &gc)))
		return rc;
	if (propid != 0) {
		rc = st_prop_raw(txn, obj->mbox, gc, obj->kind, obj->sub, propid, out);
		if (rc == MP_OK && (type == MP_PT_UNSPECIFIED || MP_PROP_TYPE(out->tag) == type))
			return MP_OK;
		if (rc != MP_OK && rc != MP_ERR_NOTFOUND)
			return rc;
	}
	/* Missing: say whether the object or the property is. */
	rc = st_obj_check(txn, obj, &gc);
	if (rc)
		return rc;
	memset(out, 0, sizeof(*out));
	out->form = MP_STORE_VAL_NONE;
	return st_fail(txn, MP_ERR_NOTFOUND, MP_STORE_EC_NOT_FOUND, "property 0x%08x: not set", tag);
}

/* Latin-1 <-> UTF-16LE for PtypString8/PtypString mismatches. */
static int convert_string(void *mem, const struct mp_store_prop *in, uint16_t want,
			  struct mp_store_prop *out)
{
	const uint8_t *c;
	size_t n;
	if (mp_store_prop_content(in, &c, &n) != MP_OK)
		return MP_ERR_UNSUPPORTED;
	uint8_t *b;
	size_t len;
	if (want == MP_PT_STRING) {
		len = 2 * n;
		b = talloc_array(mem, uint8_t, len + 2);
		if (!b)
			return MP_ERR_NOMEM;
		size_t w = 0;
		for (size_t i = 0; i < n; i++)
			if (c[i]) {
				b[w++] = c[i];
				b[w++] = 0;
			}
		len = w;
		b[len] = b[len + 1] = 0;
	} else {
		b = talloc_array(mem, uint8_t, n / 2 + 1);
		if (!b)
			return MP_ERR_NOMEM;
		size_t w = 0;
		for (size_t i = 0; i + 1 < n; i += 2) {
			uint16_t u = mp_get_u16(c + i);
			if (u >= 0xdc00 && u <= 0xdfff)
				continue; /* second half of a pair: one '?' for the pair */
			if (u == 0)
				continue;
			b[w++] = u <= 0xff ? (uint8_t)u : '?';
		}
		len = w;
		b[len] = 0;
	}
	out->tag = MP_PROP_TAG(MP_PROP_ID(in->tag), want);
	out->form = MP_STORE_VAL_WIRE;
	out->data = b;
	out->len = want == MP_PT_STRING ? len + 2 : len + 1;
	return MP_OK;
}

static void get_one(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, uint8_t kind,
		    uint32_t sub, uint32_t tag, void *mem, struct mp_store_prop *out)
{
	uint16_t propid = MP_PROP_ID(tag), type = MP_PROP_TYPE(tag);
	struct mp_store_prop p;
	memset(out, 0, sizeof(*out));
	out->tag = tag;
	out->form = MP_STORE_VAL_NONE;
	if (propid == 0 || st_prop_raw(txn, mbox, gc, kind, sub, propid, &p) != MP_OK)
		return;
	uint16_t have = MP_PROP_TYPE(p.tag);
	if (type == MP_PT_UNSPECIFIED || have == type) {
		*out = p;
		return;
	}
	if (mem && ((have == MP_PT_STRING && type == MP_PT_STRING8) ||
		    (have == MP_PT_STRING8 && type == MP_PT_STRING)))
		(void)convert_string(mem, &p, type, out);
}

int mp_store_props_get(struct mp_store_txn *txn, const struct mp_store_obj *obj,
		       const uint32_t *tags, size_t n, void *mem, struct mp_store_prop *out)
{
	uint64_t gc;
	int rc = st_obj_check(txn, obj, &gc);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++)
		get_one(txn, obj->mbox, gc, obj->kind, obj->sub, tags[i], mem, &out[i]);
	return MP_OK;
}

int mp_store_rows(struct mp_store_txn *txn, uint32_t mbox, uint8_t kind, const uint64_t *ids,
		  size_t nids, const uint32_t *tags, size_t ntags, void *mem,
		  struct mp_store_prop **rows)
{
	if (kind != MP_STORE_KIND_FOLDER && kind != MP_STORE_KIND_MESSAGE)
		return st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM,
			       "rows are folders or messages");
	if (nids && ntags > SIZE_MAX / sizeof(struct mp_store_prop) / nids)
		return st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_TOO_BIG, "too many cells");
	struct mp_store_prop *r = talloc_array(mem, struct mp_store_prop, nids * ntags + 1);
	if (!r)
		return st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
	for (size_t i = 0; i < nids; i++) {
		struct mp_store_obj o = {.mbox = mbox, .kind = kind, .id = ids[i]};
		uint64_t gc;
		bool ok = st_obj_check(txn, &o, &gc) == MP_OK;
		for (size_t j = 0; j < ntags; j++) {
			struct mp_store_prop *c = &r[i * ntags + j];
			if (ok) {
				get_one(txn, mbox, gc, kind, 0, tags[j], mem, c);
			} else {
				memset(c, 0, sizeof(*c));
				c->tag = tags[j];
				c->form = MP_STORE_VAL_NONE;
			}
		}
	}
	*rows = r;
	return MP_OK;
}

int mp_store_prop_list(struct mp_store_txn *txn, const struct mp_store_obj *obj, void *mem,
		       struct mp_store_prop **out, size_t *n)
{
	uint64_t gc;
	int rc = st_obj_check(txn, obj, &gc);
	if (rc)
		return rc;
	uint8_t prefix[ST_OBJKEY_LEN];
	st_objkey(prefix, obj->mbox, gc, obj->kind, obj->sub, 0);
	struct st_iter it;
	rc = st_iter_open(txn, txn->st->obj, prefix, ST_OBJPREFIX_LEN, &it);
	if (rc)
		return rc;
	size_t cnt = 0, cap = 16;
	struct mp_store_prop *a = talloc_array(mem, struct mp_store_prop, cap);
	if (!a) {
		st_iter_close(&it);
		return st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
	}
	while ((rc = st_iter_next(txn, &it)) == 1) {
		const uint8_t *k = it.k.mv_data;
		uint16_t propid = it.k.mv_size == ST_OBJKEY_LEN ? st_get_be16(k + 17) : 0;
		if (propid == 0)
			continue;
		if (cnt == cap) {
			if (cap >= 2 * MP_STORE_MAX_PROPS) {
				rc = st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_TOO_BIG, "too many properties");
				break;
			}
			cap *= 2;
			struct mp_store_prop *b = talloc_realloc(mem, a, struct mp_store_prop, cap);
			if (!b) {
				rc = st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
				break;
			}
			a = b;
		}
		rc = decode_record(txn, propid, &it.v, &a[cnt]);
		if (rc)
			break;
		cnt++;
	}
	st_iter_close(&it);
	if (rc < 0) {
		talloc_free(a);
		return rc;
	}
	*out = a;
	*n = cnt;
	return MP_OK;
}

int mp_store_prop_content(const struct mp_store_prop *p, const uint8_t **data, size_t *len)
{
	uint16_t type = MP_PROP_TYPE(p->tag);
	if (!type_streamable(type) || p->form > MP_STORE_VAL_RAW)
		return MP_ERR_UNSUPPORTED;
	if (p->form == MP_STORE_VAL_RAW) {
		*data = p->data;
		*len = p->len;
		return MP_OK;
	}
	switch (type) {
	case MP_PT_BINARY:
		if (p->len < 2)
			return MP_ERR_PARSE;
		*data = p->data + 2;
		*len = p->len - 2;
		return MP_OK;
	case MP_PT_STRING:
		if (p->len < 2)
			return MP_ERR_PARSE;
		*data = p->data;
		*len = p->len - 2;
		return MP_OK;
	default:
		if (p->len < 1)
			return MP_ERR_PARSE;
		*data = p->data;
		*len = p->len - 1;
		return MP_OK;
	}
}

int mp_store_prop_decode(const struct mp_store_prop *p, void *mem, struct mp_propval *out)
{
	uint16_t type = MP_PROP_TYPE(p->tag);
	memset(out, 0, sizeof(*out));
	if (p->form == MP_STORE_VAL_RAW) {
		if (!type_streamable(type) || p->len > UINT32_MAX)
			return MP_ERR_PARSE;
		out->type = type;
		out->v.bin.data = p->data;
		out->v.bin.len = (uint32_t)p->len;
		return MP_OK;
	}
	if (p->form != MP_STORE_VAL_WIRE)
		return MP_ERR_PARSE;
	struct mp_rcursor rc;
	mp_rc_init(&rc, p->data, p->len);
	struct mp_pv_rd rd = {.rc = &rc, .mem = mem, .ctx = MP_PV_ROP};
	int r = mp_pv_read(&rd, type, out);
	if (r == MP_OK && (rc.bad || rc.off != p->len))
		r = MP_ERR_PARSE;
	return r;
}

/* ---- Writing ---- */

/* Count the properties of an object, stopping at `stop`. */
static int count_props(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, uint8_t kind,
		       uint32_t sub, size_t stop, size_t *n)
{
	uint8_t prefix[ST_OBJKEY_LEN];
	st_objkey(prefix, mbox, gc, kind, sub, 0);
	struct st_iter it;
	int rc = st_iter_open(txn, txn->st->obj, prefix, ST_OBJPREFIX_LEN, &it);
	if (rc)
		return rc;
	*n = 0;
	while (*n < stop && (rc = st_iter_next(txn, &it)) == 1)
		(*n)++;
	st_iter_close(&it);
	return rc < 0 ? rc : MP_OK;
}

/* Set a value on an object that exists (gc known), with the rules on
 * special and computed tags. The value must not point into the map. */
static int put_checked(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint64_t gc,
		       const struct mp_store_prop *p)
{
	uint32_t tag = p->tag;
	int rc = st_prop_check(txn, tag, p->form, p->data, p->len);
	if (rc)
		return rc;
	if (mp_store_tag_is_computed(tag))
		return st_fail(txn, MP_ERR_PROTO, MP_STORE_EC_ACCESS_DENIED,
			       "property 0x%08x is computed by the store", tag);

	uint16_t propid = MP_PROP_ID(tag);
	if (obj->kind == MP_STORE_KIND_FOLDER && propid == MP_PROP_ID(MP_TAG_DISPLAY_NAME)) {
		struct mp_store_prop tmp = *p;
		const uint8_t *c;
		size_t n;
		char *name;
		if (mp_store_prop_content(&tmp, &c, &n) != MP_OK)
			return st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM,
				       "a folder's display name is a string");
		if (MP_PROP_TYPE(tag) == MP_PT_STRING)
			rc = mp_store_utf16_to_utf8(txn->mem, c, n, &name);
		else
			rc = (name = talloc_strndup(txn->mem, (const char *)c, n)) ? MP_OK
										   : MP_ERR_NOMEM;
		if (rc)
			return st_fail(txn, rc, MP_STORE_EC_OOM, "out of memory");
		rc = st_folder_rename(txn, obj->mbox, gc, name);
		talloc_free(name);
		return rc;
	}
	if (obj->kind == MP_STORE_KIND_MESSAGE && tag == MP_TAG_MESSAGE_FLAGS)
		return st_msg_set_flags(txn, obj->mbox, gc, mp_get_u32(p->data));

	MDB_val v;
	uint8_t k[ST_OBJKEY_LEN];
	st_objkey(k, obj->mbox, gc, obj->kind, obj->sub, propid);
	rc = st_get(txn, txn->st->obj, k, sizeof(k), &v);
	if (rc == MP_ERR_NOTFOUND) {
		size_t n;
		rc = count_props(txn, obj->mbox, gc, obj->kind, obj->sub, MP_STORE_MAX_PROPS + 1,
				 &n);
		if (rc)
			return rc;
		if (n > MP_STORE_MAX_PROPS) /* the header record counts as one */
			return st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_TOO_BIG,
				       "more than %d properties on one object", MP_STORE_MAX_PROPS);
	} else if (rc) {
		return rc;
	}
	return st_prop_put(txn, obj->mbox, gc, obj->kind, obj->sub, tag, p->form, p->data, p->len);
}

int mp_store_prop_put(struct mp_store_txn *txn, const struct mp_store_obj *obj,
		      const struct mp_store_prop *p)
{
	struct mp_store_prop canon = *p;
	uint8_t *rec = NULL;
	uint64_t gc;
	/* Raw content that fits the wire form is stored in it: one value, one
	 * representation. Either way the bytes are copied first: a caller may
	 * pass a value it just read from this transaction, which the write
	 * could move. */
	if (p->form == MP_STORE_VAL_RAW && type_streamable(MP_PROP_TYPE(p->tag)) &&
	    p->len <= MP_STORE_MAX_STREAM) {
		int crc = content_record(txn->mem, MP_PROP_TYPE(p->tag), p->data, p->len,
					 &canon.form, &rec, &canon.len);
		if (crc)
			return st_fail(txn, crc, MP_STORE_EC_OOM, "out of memory");
		canon.data = rec;
	} else if (p->len <= (size_t)MP_STORE_MAX_STREAM + 4) {
		rec = talloc_size(txn->mem, p->len + 1);
		if (!rec)
			return st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
		if (p->len)
			memcpy(rec, p->data, p->len);
		canon.data = rec;
	}
	int rc = st_op_begin(txn);
	if (rc == MP_OK) {
		rc = st_obj_check(txn, obj, &gc);
		if (rc == MP_OK)
			rc = put_checked(txn, obj, gc, &canon);
		rc = st_op_end(txn, rc);
	}
	talloc_free(rec);
	return rc;
}

int mp_store_prop_set(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
		      const void *wire, size_t len)
{
	struct mp_store_prop p = {.tag = tag, .form = MP_STORE_VAL_WIRE, .data = wire, .len = len};
	return mp_store_prop_put(txn, obj, &p);
}

int mp_store_prop_set_content(struct mp_store_txn *txn, const struct mp_store_obj *obj,
			      uint32_t tag, const void *data, size_t len)
{
	if (len > MP_STORE_MAX_STREAM)
		return st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_STREAM_SIZE,
			       "property 0x%08x: %zu bytes is above the %u-byte limit", tag, len,
			       MP_STORE_MAX_STREAM);
	struct mp_store_prop p = {.tag = tag};
	uint8_t *rec;
	int rc = content_record(txn->mem, MP_PROP_TYPE(tag), data, len, &p.form, &rec, &p.len);
	if (rc == MP_ERR_UNSUPPORTED)
		return st_fail(txn, rc, MP_STORE_EC_NOT_SUPPORTED,
			       "property 0x%08x: not a string or binary", tag);
	if (rc)
		return st_fail(txn, rc, MP_STORE_EC_OOM, "out of memory");
	p.data = rec;
	rc = mp_store_prop_put(txn, obj, &p);
	talloc_free(rec);
	return rc;
}

int mp_store_prop_set_pv(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			 const struct mp_propval *pv)
{
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	int rc = pv->type == MP_PROP_TYPE(tag) ? mp_pv_write(&wb, MP_PV_ROP, pv) : MP_ERR_PARSE;
	if (rc == MP_OK && wb.bad)
		rc = MP_ERR_NOMEM;
	if (rc == MP_OK)
		rc = mp_store_prop_set(txn, obj, tag, wb.data, wb.len);
	else
		rc = st_fail(txn, rc, MP_STORE_EC_INVALID_PARAM,
			     "property 0x%08x: value cannot be encoded", tag);
	mp_wb_free(&wb);
	return rc;
}

int mp_store_prop_delete(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag)
{
	uint64_t gc;
	int rc = st_op_begin(txn);
	if (rc)
		return rc;
	rc = st_obj_check(txn, obj, &gc);
	if (rc == MP_OK && MP_PROP_ID(tag) == 0)
		rc = st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM, "property id 0");
	if (rc == MP_OK && (mp_store_tag_is_computed(tag) ||
			    (obj->kind == MP_STORE_KIND_FOLDER &&
			     MP_PROP_ID(tag) == MP_PROP_ID(MP_TAG_DISPLAY_NAME)) ||
			    (obj->kind == MP_STORE_KIND_MESSAGE &&
			     MP_PROP_ID(tag) == MP_PROP_ID(MP_TAG_MESSAGE_FLAGS))))
		rc = st_fail(txn, MP_ERR_PROTO, MP_STORE_EC_ACCESS_DENIED,
			     "property 0x%08x cannot be deleted", tag);
	if (rc == MP_OK) {
		uint8_t k[ST_OBJKEY_LEN];
		st_objkey(k, obj->mbox, gc, obj->kind, obj->sub, MP_PROP_ID(tag));
		rc = st_del(txn, txn->st->obj, k, sizeof(k));
	}
	return st_op_end(txn, rc);
}

/* ---- Typed helpers ---- */

static int set_fixed(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
		     uint16_t want, const void *b, size_t n)
{
	if (MP_PROP_TYPE(tag) != want && !(want == MP_PT_INTEGER64 &&
					   (MP_PROP_TYPE(tag) == MP_PT_TIME ||
					    MP_PROP_TYPE(tag) == MP_PT_CURRENCY)))
		return st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM,
			       "property 0x%08x: wrong type for this setter", tag);
	return mp_store_prop_set(txn, obj, tag, b, n);
}

int mp_store_prop_set_i16(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			  uint16_t v)
{
	uint8_t b[2];
	mp_put_u16(b, v);
	return set_fixed(txn, obj, tag, MP_PT_INTEGER16, b, 2);
}

int mp_store_prop_set_u32(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			  uint32_t v)
{
	uint8_t b[4];
	mp_put_u32(b, v);
	return set_fixed(txn, obj, tag, MP_PT_INTEGER32, b, 4);
}

int mp_store_prop_set_u64(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			  uint64_t v)
{
	uint8_t b[8];
	st_le64(b, v);
	return set_fixed(txn, obj, tag, MP_PT_INTEGER64, b, 8);
}

int mp_store_prop_set_bool(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			   bool v)
{
	uint8_t b = v;
	return set_fixed(txn, obj, tag, MP_PT_BOOLEAN, &b, 1);
}

int mp_store_prop_set_string(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			     const char *utf8)
{
	uint16_t type = MP_PROP_TYPE(tag);
	if (type == MP_PT_STRING8)
		return mp_store_prop_set_content(txn, obj, tag, utf8, strlen(utf8));
	if (type != MP_PT_STRING)
		return st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM,
			       "property 0x%08x: not a string", tag);
	uint8_t *u16;
	size_t n;
	int rc = mp_store_utf8_to_utf16(txn->mem, utf8, strlen(utf8), false, &u16, &n);
	if (rc)
		return st_fail(txn, rc, MP_STORE_EC_OOM, "string conversion failed");
	rc = mp_store_prop_set_content(txn, obj, tag, u16, n);
	talloc_free(u16);
	return rc;
}

int mp_store_prop_set_binary(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			     const void *data, size_t len)
{
	if (MP_PROP_TYPE(tag) != MP_PT_BINARY)
		return st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM,
			       "property 0x%08x: not a binary", tag);
	return mp_store_prop_set_content(txn, obj, tag, data, len);
}

static int get_fixed(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
		     size_t n, struct mp_store_prop *p)
{
	int rc = mp_store_prop_get(txn, obj, tag, p);
	if (rc)
		return rc;
	if (p->form != MP_STORE_VAL_WIRE || p->len != n)
		return st_fail(txn, MP_ERR_NOTFOUND, MP_STORE_EC_NOT_FOUND,
			       "property 0x%08x: unexpected size", tag);
	return MP_OK;
}

int mp_store_prop_get_u32(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			  uint32_t *v)
{
	struct mp_store_prop p;
	int rc = get_fixed(txn, obj, tag, 4, &p);
	if (rc == MP_OK)
		*v = mp_get_u32(p.data);
	return rc;
}

int mp_store_prop_get_u64(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			  uint64_t *v)
{
	struct mp_store_prop p;
	int rc = get_fixed(txn, obj, tag, 8, &p);
	if (rc == MP_OK)
		*v = st_get_le64(p.data);
	return rc;
}

int mp_store_prop_get_bool(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			   bool *v)
{
	struct mp_store_prop p;
	int rc = get_fixed(txn, obj, tag, 1, &p);
	if (rc == MP_OK)
		*v = p.data[0] != 0;
	return rc;
}

int mp_store_prop_get_string(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			     void *mem, char **out)
{
	struct mp_store_prop p;
	uint16_t type = MP_PROP_TYPE(tag);
	if (type != MP_PT_STRING && type != MP_PT_STRING8)
		return st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM,
			       "property 0x%08x: not a string", tag);
	int rc = mp_store_prop_get(txn, obj, MP_PROP_TAG(MP_PROP_ID(tag), MP_PT_UNSPECIFIED), &p);
	if (rc)
		return rc;
	const uint8_t *c;
	size_t n;
	uint16_t have = MP_PROP_TYPE(p.tag);
	if ((have != MP_PT_STRING && have != MP_PT_STRING8) ||
	    mp_store_prop_content(&p, &c, &n) != MP_OK)
		return st_fail(txn, MP_ERR_NOTFOUND, MP_STORE_EC_NOT_FOUND,
			       "property 0x%08x: not a string", tag);
	if (have == MP_PT_STRING)
		rc = mp_store_utf16_to_utf8(mem, c, n, out);
	else
		rc = (*out = talloc_strndup(mem, (const char *)c, n)) ? MP_OK : MP_ERR_NOMEM;
	return rc ? st_fail(txn, rc, MP_STORE_EC_OOM, "out of memory") : MP_OK;
}

/* ---- Streams ---- */

static int stream_current(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			  uint64_t *gc, const uint8_t **data, size_t *len, bool *exists)
{
	uint16_t type = MP_PROP_TYPE(tag);
	if (!type_streamable(type))
		return st_fail(txn, MP_ERR_UNSUPPORTED, MP_STORE_EC_NOT_SUPPORTED,
			       "property 0x%08x: streams are for strings and binaries", tag);
	int rc = st_obj_check(txn, obj, gc);
	if (rc)
		return rc;
	struct mp_store_prop p;
	*exists = false;
	*data = NULL;
	*len = 0;
	rc = st_prop_raw(txn, obj->mbox, *gc, obj->kind, obj->sub, MP_PROP_ID(tag), &p);
	if (rc == MP_ERR_NOTFOUND)
		return MP_OK;
	if (rc)
		return rc;
	if (MP_PROP_TYPE(p.tag) != type)
		return MP_OK; /* another type: a write replaces it */
	if (mp_store_prop_content(&p, data, len) != MP_OK)
		return st_fail(txn, MP_ERR_IO, MP_STORE_EC_CORRUPT, "property 0x%08x: bad value",
			       tag);
	*exists = true;
	return MP_OK;
}

int mp_store_stream_size(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			 uint64_t *size)
{
	uint64_t gc;
	const uint8_t *d;
	size_t n;
	bool exists;
	int rc = stream_current(txn, obj, tag, &gc, &d, &n, &exists);
	if (rc)
		return rc;
	if (!exists)
		return st_fail(txn, MP_ERR_NOTFOUND, MP_STORE_EC_NOT_FOUND,
			       "property 0x%08x: not set", tag);
	*size = n;
	return MP_OK;
}

int mp_store_stream_read(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			 uint64_t off, void *buf, size_t len, size_t *got)
{
	uint64_t gc;
	const uint8_t *d;
	size_t n;
	bool exists;
	*got = 0;
	int rc = stream_current(txn, obj, tag, &gc, &d, &n, &exists);
	if (rc)
		return rc;
	if (!exists)
		return st_fail(txn, MP_ERR_NOTFOUND, MP_STORE_EC_NOT_FOUND,
			       "property 0x%08x: not set", tag);
	if (off >= n)
		return MP_OK; /* at or past the end: nothing to read */
	size_t k = n - (size_t)off < len ? n - (size_t)off : len;
	memcpy(buf, d + off, k);
	*got = k;
	return MP_OK;
}

/* Rewrite a stream as: current content up to `keep`, zeros up to `size`,
 * then `data` at `off` (when data). */
static int stream_rewrite(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			  uint64_t size, uint64_t off, const void *data, size_t len)
{
	uint64_t gc;
	const uint8_t *d;
	size_t n;
	bool exists;
	int rc = stream_current(txn, obj, tag, &gc, &d, &n, &exists);
	if (rc)
		return rc;
	if (size > MP_STORE_MAX_STREAM)
		return st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_STREAM_SIZE,
			       "stream 0x%08x: %llu bytes is above the %u-byte limit", tag,
			       (unsigned long long)size, MP_STORE_MAX_STREAM);
	uint8_t *buf = talloc_array(txn->mem, uint8_t, size ? size : 1);
	if (!buf)
		return st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
	size_t keep = n < size ? n : (size_t)size;
	if (keep)
		memcpy(buf, d, keep);
	if (size > keep)
		memset(buf + keep, 0, size - keep);
	if (data && len)
		memcpy(buf + off, data, len);
	struct mp_store_prop p = {.tag = tag};
	uint8_t *rec;
	rc = content_record(txn->mem, MP_PROP_TYPE(tag), buf, size, &p.form, &rec, &p.len);
	talloc_free(buf);
	if (rc)
		return st_fail(txn, rc, MP_STORE_EC_OOM, "out of memory");
	p.data = rec;
	rc = put_checked(txn, obj, gc, &p);
	talloc_free(rec);
	return rc;
}

int mp_store_stream_write(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			  uint64_t off, const void *data, size_t len)
{
	if (off > MP_STORE_MAX_STREAM || len > MP_STORE_MAX_STREAM - off)
		return st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_STREAM_SIZE,
			       "stream 0x%08x: writing past the %u-byte limit", tag,
			       MP_STORE_MAX_STREAM);
	int rc = st_op_begin(txn);
	if (rc)
		return rc;
	uint64_t gc;
	const uint8_t *d;
	size_t n;
	bool exists;
	rc = stream_current(txn, obj, tag, &gc, &d, &n, &exists);
	if (rc == MP_OK) {
		uint64_t end = off + len;
		rc = stream_rewrite(txn, obj, tag, end > n ? end : n, off, data, len);
	}
	return st_op_end(txn, rc);
}

int mp_store_stream_set_size(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			     uint64_t size)
{
	if (size > MP_STORE_MAX_STREAM)
		return st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_STREAM_SIZE,
			       "stream 0x%08x: %llu bytes is above the %u-byte limit", tag,
			       (unsigned long long)size, MP_STORE_MAX_STREAM);
	int rc = st_op_begin(txn);
	if (rc)
		return rc;
	rc = stream_rewrite(txn, obj, tag, size, 0, NULL, 0);
	return st_op_end(txn, rc);
}

/* ---- Named properties ---- */

/* PS_MAPI {00020328-0000-0000-C000-000000000046} in wire order. */
static const uint8_t ps_mapi[16] = {0x28, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
				    0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46};

/* Key of a name ('N' index): returns the length or 0 for a bad name. */
static size_t name_key(uint8_t *k, uint32_t mbox, const struct mp_prop_name *pn)
{
	size_t o = st_idxkey(k, mbox, 'N');
	memcpy(k + o, pn->guid, 16);
	o += 16;
	k[o++] = pn->kind;
	if (pn->kind == MP_PNAME_LID) {
		st_be32(k + o, pn->lid);
		return o + 4;
	}
	if (pn->kind != MP_PNAME_NAME || !pn->name.data)
		return 0;
	size_t n = pn->name.len;
	/* Strip the terminator NameSize may count; keep the rest exactly. */
	if (n >= 2 && pn->name.data[n - 2] == 0 && pn->name.data[n - 1] == 0)
		n -= 2;
	if (n == 0 || n % 2 || n > 508)
		return 0;
	for (size_t i = 0; i < n; i += 2)
		if (pn->name.data[i] == 0 && pn->name.data[i + 1] == 0)
			return 0;
	memcpy(k + o, pn->name.data, n);
	return o + n;
}

int mp_store_named_id(struct mp_store_txn *txn, uint32_t mbox, const struct mp_prop_name *name,
		      bool create, uint16_t *id)
{
	uint8_t k[5 + 16 + 1 + 510];
	MDB_val v;
	struct st_mbox_hdr h;
	int rc;

	if (name->kind == MP_PNAME_LID && memcmp(name->guid, ps_mapi, 16) == 0) {
		if (name->lid == 0 || name->lid >= 0x8000)
			return st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM,
				       "PS_MAPI LID 0x%x is not a property id", name->lid);
		*id = (uint16_t)name->lid;
		return MP_OK;
	}
	size_t kl = name_key(k, mbox, name);
	if (kl == 0)
		return st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM, "bad property name");
	rc = st_mbox_read(txn, mbox, &h);
	if (rc)
		return rc;
	rc = st_get(txn, txn->st->idx, k, kl, &v);
	if (rc == MP_OK && v.mv_size == 2) {
		*id = mp_get_u16(v.mv_data);
		return MP_OK;
	}
	if (rc != MP_ERR_NOTFOUND)
		return rc ? rc : st_fail(txn, MP_ERR_IO, MP_STORE_EC_CORRUPT, "bad name entry");
	if (!create)
		return st_fail(txn, MP_ERR_NOTFOUND, MP_STORE_EC_NOT_FOUND, "property name not mapped");

	rc = st_op_begin(txn);
	if (rc)
		return rc;
	rc = st_mbox_read(txn, mbox, &h);
	if (rc == MP_OK && (h.next_named < 0x8000 || h.next_named == 0xffff))
		rc = st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_TOO_BIG,
			     "mailbox %u: all named property ids are used", mbox);
	uint16_t nid = h.next_named;
	if (rc == MP_OK) {
		uint8_t val[2];
		mp_put_u16(val, nid);
		rc = st_put(txn, txn->st->idx, k, kl, val, 2);
	}
	if (rc == MP_OK) {
		/* Reverse entry: kind, GUID, then LID or name bytes (from the key). */
		uint8_t ik[7], rec[1 + 16 + 510];
		size_t o = st_idxkey(ik, mbox, 'I');
		st_be16(ik + o, nid);
		rec[0] = name->kind;
		memcpy(rec + 1, name->guid, 16);
		size_t tail = kl - (5 + 16 + 1);
		if (name->kind == MP_PNAME_LID)
			mp_put_u32(rec + 17, name->lid);
		else
			memcpy(rec + 17, k + 5 + 16 + 1, tail);
		rc = st_put(txn, txn->st->idx, ik, sizeof(ik), rec, 17 + tail);
	}
	if (rc == MP_OK) {
		h.next_named = (uint16_t)(nid + 1);
		rc = st_mbox_write(txn, mbox, &h);
	}
	rc = st_op_end(txn, rc);
	if (rc == MP_OK)
		*id = nid;
	return rc;
}

int mp_store_named_name(struct mp_store_txn *txn, uint32_t mbox, uint16_t id, void *mem,
			struct mp_prop_name *out)
{
	memset(out, 0, sizeof(*out));
	if (id == 0)
		return st_fail(txn, MP_ERR_NOTFOUND, MP_STORE_EC_NOT_FOUND, "property id 0");
	struct st_mbox_hdr h;
	int rc = st_mbox_read(txn, mbox, &h);
	if (rc)
		return rc;
	if (id < 0x8000) {
		out->kind = MP_PNAME_LID;
		memcpy(out->guid, ps_mapi, 16);
		out->lid = id;
		return MP_OK;
	}
	uint8_t ik[7];
	size_t o = st_idxkey(ik, mbox, 'I');
	st_be16(ik + o, id);
	MDB_val v;
	rc = st_get(txn, txn->st->idx, ik, sizeof(ik), &v);
	if (rc == MP_ERR_NOTFOUND)
		return st_fail(txn, rc, MP_STORE_EC_NOT_FOUND, "property id 0x%04x: not mapped", id);
	if (rc)
		return rc;
	const uint8_t *p = v.mv_data;
	if (v.mv_size < 17)
		return st_fail(txn, MP_ERR_IO, MP_STORE_EC_CORRUPT, "bad name entry");
	out->kind = p[0];
	memcpy(out->guid, p + 1, 16);
	if (out->kind == MP_PNAME_LID) {
		if (v.mv_size != 21)
			return st_fail(txn, MP_ERR_IO, MP_STORE_EC_CORRUPT, "bad name entry");
		out->lid = mp_get_u32(p + 17);
		return MP_OK;
	}
	size_t n = v.mv_size - 17;
	uint8_t *name = talloc_array(mem, uint8_t, n + 2);
	if (!name)
		return st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
	memcpy(name, p + 17, n);
	name[n] = name[n + 1] = 0;
	out->name.data = name;
	out->name.len = (uint32_t)(n + 2);
	return MP_OK;
}

int mp_store_named_list(struct mp_store_txn *txn, uint32_t mbox, void *mem, uint16_t **ids,
			size_t *n)
{
	uint8_t prefix[5];
	st_idxkey(prefix, mbox, 'I');
	struct st_iter it;
	int rc = st_iter_open(txn, txn->st->idx, prefix, sizeof(prefix), &it);
	if (rc)
		return rc;
	uint16_t *a = talloc_array(mem, uint16_t, MP_STORE_MAX_NAMED + 1);
	size_t cnt = 0;
	if (!a) {
		st_iter_close(&it);
		return st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
	}
	while ((rc = st_iter_next(txn, &it)) == 1 && cnt <= MP_STORE_MAX_NAMED)
		if (it.k.mv_size == 7)
			a[cnt++] = st_get_be16((const uint8_t *)it.k.mv_data + 5);
	st_iter_close(&it);
	if (rc < 0) {
		talloc_free(a);
		return rc;
	}
	*ids = a;
	*n = cnt;
	return MP_OK;
}
