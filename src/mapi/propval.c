/* Property values (MS-OXCDATA 2.6-2.11); see propval.h. */
#include "mapi/propval.h"

#include <string.h>
#include <talloc.h>

#include "mapi/names.h"
#include "mapi/restriction.h"
#include "mapi/rule_action.h"
#include "util/status.h"

/* ------------------------------------------------------------------ */
/* Small bounds-checked helpers                                        */
/* ------------------------------------------------------------------ */

uint64_t mp_pv_get_u64(struct mp_rcursor *rc)
{
	const uint8_t *p = mp_rc_take(rc, 8);
	return p ? (uint64_t)mp_get_u32(p) | ((uint64_t)mp_get_u32(p + 4) << 32) : 0;
}

void mp_pv_put_u64(struct mp_wbuf *wb, uint64_t v)
{
	mp_wb_u32(wb, (uint32_t)v);
	mp_wb_u32(wb, (uint32_t)(v >> 32));
}

const uint8_t *mp_pv_take_str8(struct mp_rcursor *rc, size_t *len)
{
	size_t left = mp_rc_left(rc);
	const uint8_t *p = rc->data + rc->off;
	const uint8_t *nul = left ? memchr(p, 0, left) : NULL;
	if (!nul) {
		rc->bad = true;
		return NULL;
	}
	*len = (size_t)(nul - p) + 1;
	return mp_rc_take(rc, *len);
}

const uint8_t *mp_pv_take_str16(struct mp_rcursor *rc, size_t *len)
{
	size_t left = mp_rc_left(rc);
	const uint8_t *p = rc->data + rc->off;
	for (size_t i = 0; i + 1 < left; i += 2) {
		if (p[i] == 0 && p[i + 1] == 0) {
			*len = i + 2;
			return mp_rc_take(rc, *len);
		}
	}
	rc->bad = true;
	return NULL;
}

static int rd_status(const struct mp_pv_rd *rd)
{
	return rd->rc->bad ? MP_ERR_PARSE : MP_OK;
}

/* Allocate `n` elements of `size` bytes once the wire has shown it holds at
 * least `n * min_wire` bytes: a peer cannot make us allocate more than it
 * sent. */
static void *rd_array(struct mp_pv_rd *rd, uint32_t n, size_t size, size_t min_wire)
{
	if (min_wire && (uint64_t)n * min_wire > mp_rc_left(rd->rc)) {
		rd->rc->bad = true;
		return NULL;
	}
	if (n == 0)
		return NULL;
	return talloc_zero_size(rd->mem, (size_t)n * size);
}

static uint32_t rd_count(struct mp_pv_rd *rd, bool wide)
{
	return wide ? mp_rc_u32(rd->rc) : mp_rc_u16(rd->rc);
}

static int wb_count(struct mp_wbuf *wb, bool wide, uint32_t n)
{
	if (wide) {
		mp_wb_u32(wb, n);
		return MP_OK;
	}
	if (n > 0xffff)
		return MP_ERR_PARSE;
	mp_wb_u16(wb, (uint16_t)n);
	return MP_OK;
}

static int wb_status(const struct mp_wbuf *wb, int rc)
{
	if (rc != MP_OK)
		return rc;
	return wb->bad ? MP_ERR_NOMEM : MP_OK;
}

/* ------------------------------------------------------------------ */
/* Types                                                               */
/* ------------------------------------------------------------------ */

static const struct {
	uint16_t type;
	const char *name;
	uint8_t size;
} ptyp_table[] = {
    {MP_PT_UNSPECIFIED, "PtypUnspecified", 0},
    {MP_PT_NULL, "PtypNull", 0},
    {MP_PT_INTEGER16, "PtypInteger16", 2},
    {MP_PT_INTEGER32, "PtypInteger32", 4},
    {MP_PT_FLOATING32, "PtypFloating32", 4},
    {MP_PT_FLOATING64, "PtypFloating64", 8},
    {MP_PT_CURRENCY, "PtypCurrency", 8},
    {MP_PT_FLOATINGTIME, "PtypFloatingTime", 8},
    {MP_PT_ERRORCODE, "PtypErrorCode", 4},
    {MP_PT_BOOLEAN, "PtypBoolean", 1},
    {MP_PT_OBJECT, "PtypObject", 0},
    {MP_PT_INTEGER64, "PtypInteger64", 8},
    {MP_PT_STRING8, "PtypString8", 0},
    {MP_PT_STRING, "PtypString", 0},
    {MP_PT_TIME, "PtypTime", 8},
    {MP_PT_GUID, "PtypGuid", 16},
    {MP_PT_SERVERID, "PtypServerId", 0},
    {MP_PT_RESTRICTION, "PtypRestriction", 0},
    {MP_PT_RULEACTION, "PtypRuleAction", 0},
    {MP_PT_BINARY, "PtypBinary", 0},
    {MP_PT_MV | MP_PT_INTEGER16, "PtypMultipleInteger16", 0},
    {MP_PT_MV | MP_PT_INTEGER32, "PtypMultipleInteger32", 0},
    {MP_PT_MV | MP_PT_FLOATING32, "PtypMultipleFloating32", 0},
    {MP_PT_MV | MP_PT_FLOATING64, "PtypMultipleFloating64", 0},
    {MP_PT_MV | MP_PT_CURRENCY, "PtypMultipleCurrency", 0},
    {MP_PT_MV | MP_PT_FLOATINGTIME, "PtypMultipleFloatingTime", 0},
    {MP_PT_MV | MP_PT_INTEGER64, "PtypMultipleInteger64", 0},
    {MP_PT_MV | MP_PT_STRING8, "PtypMultipleString8", 0},
    {MP_PT_MV | MP_PT_STRING, "PtypMultipleString", 0},
    {MP_PT_MV | MP_PT_TIME, "PtypMultipleTime", 0},
    {MP_PT_MV | MP_PT_GUID, "PtypMultipleGuid", 0},
    {MP_PT_MV | MP_PT_BINARY, "PtypMultipleBinary", 0},
};

const char *mp_ptype_name(uint16_t type)
{
	for (size_t i = 0; i < sizeof(ptyp_table) / sizeof(ptyp_table[0]); i++)
		if (ptyp_table[i].type == type)
			return ptyp_table[i].name;
	return NULL;
}

size_t mp_ptype_fixed_size(uint16_t type)
{
	for (size_t i = 0; i < sizeof(ptyp_table) / sizeof(ptyp_table[0]); i++)
		if (ptyp_table[i].type == type)
			return ptyp_table[i].size;
	return 0;
}

/* A multi-value instance column (MV|MVI|base) carries one base value. */
static uint16_t strip_mvi(uint16_t type)
{
	if ((type & (MP_PT_MV | MP_PT_MVI)) == (MP_PT_MV | MP_PT_MVI))
		return (uint16_t)(type & ~(MP_PT_MV | MP_PT_MVI));
	return type;
}

/* ------------------------------------------------------------------ */
/* Single values                                                       */
/* ------------------------------------------------------------------ */

static int read_bin(struct mp_pv_rd *rd, bool wide, struct mp_bin *b)
{
	uint32_t n = rd_count(rd, wide);
	b->len = n;
	b->data = mp_rc_take(rd->rc, n);
	return rd_status(rd);
}

static int write_bin(struct mp_wbuf *wb, bool wide, const struct mp_bin *b)
{
	int rc = wb_count(wb, wide, b->len);
	if (rc == MP_OK && b->len)
		mp_wb_bytes(wb, b->data, b->len);
	return rc;
}

static int read_str(struct mp_pv_rd *rd, uint16_t base, struct mp_bin *b)
{
	size_t n = 0;
	b->data = base == MP_PT_STRING ? mp_pv_take_str16(rd->rc, &n) : mp_pv_take_str8(rd->rc, &n);
	b->len = (uint32_t)n;
	return rd_status(rd);
}

static int read_mv(struct mp_pv_rd *rd, uint16_t base, struct mp_mv *mv)
{
	bool wide_bin = rd->ctx == MP_PV_EXT;
	uint32_t n = mp_rc_u32(rd->rc); /* 32 bits in both contexts */
	size_t fixed = mp_ptype_fixed_size(base);
	mv->count = n;
	if (rd->rc->bad)
		return MP_ERR_PARSE;
	switch (base) {
	case MP_PT_INTEGER16:
		mv->i2 = rd_array(rd, n, sizeof(*mv->i2), fixed);
		if (n && !mv->i2)
			return rd->rc->bad ? MP_ERR_PARSE : MP_ERR_NOMEM;
		for (uint32_t i = 0; i < n; i++)
			mv->i2[i] = mp_rc_u16(rd->rc);
		break;
	case MP_PT_INTEGER32:
	case MP_PT_FLOATING32:
		mv->i4 = rd_array(rd, n, sizeof(*mv->i4), fixed);
		if (n && !mv->i4)
			return rd->rc->bad ? MP_ERR_PARSE : MP_ERR_NOMEM;
		for (uint32_t i = 0; i < n; i++)
			mv->i4[i] = mp_rc_u32(rd->rc);
		break;
	case MP_PT_FLOATING64:
	case MP_PT_CURRENCY:
	case MP_PT_FLOATINGTIME:
	case MP_PT_INTEGER64:
	case MP_PT_TIME:
		mv->i8 = rd_array(rd, n, sizeof(*mv->i8), fixed);
		if (n && !mv->i8)
			return rd->rc->bad ? MP_ERR_PARSE : MP_ERR_NOMEM;
		for (uint32_t i = 0; i < n; i++)
			mv->i8[i] = mp_pv_get_u64(rd->rc);
		break;
	case MP_PT_GUID:
		mv->guid = rd_array(rd, n, 16, 16);
		if (n && !mv->guid)
			return rd->rc->bad ? MP_ERR_PARSE : MP_ERR_NOMEM;
		for (uint32_t i = 0; i < n; i++) {
			const uint8_t *g = mp_rc_take(rd->rc, 16);
			if (g)
				memcpy(mv->guid[i], g, 16);
		}
		break;
	case MP_PT_STRING8:
	case MP_PT_STRING:
	case MP_PT_BINARY:
		/* Each element takes at least one (string) or two (binary count) bytes. */
		mv->bin = rd_array(rd, n, sizeof(*mv->bin), base == MP_PT_STRING8 ? 1 : 2);
		if (n && !mv->bin)
			return rd->rc->bad ? MP_ERR_PARSE : MP_ERR_NOMEM;
		for (uint32_t i = 0; i < n && !rd->rc->bad; i++) {
			if (base == MP_PT_BINARY)
				(void)read_bin(rd, wide_bin, &mv->bin[i]);
			else
				(void)read_str(rd, base, &mv->bin[i]);
		}
		break;
	default:
		return MP_ERR_UNSUPPORTED;
	}
	return rd_status(rd);
}

int mp_pv_read(struct mp_pv_rd *rd, uint16_t type, struct mp_propval *out)
{
	bool wide = rd->ctx == MP_PV_EXT;
	int rc;

	type = strip_mvi(type);
	memset(out, 0, sizeof(*out));
	out->type = type;
	if (type & MP_PT_MVI)
		return MP_ERR_PARSE;
	if (type & MP_PT_MV)
		return read_mv(rd, (uint16_t)(type & ~MP_PT_MV), &out->v.mv);

	switch (type) {
	case MP_PT_NULL:
		return MP_OK;
	case MP_PT_BOOLEAN:
		out->v.b = mp_rc_u8(rd->rc);
		break;
	case MP_PT_INTEGER16:
		out->v.i2 = mp_rc_u16(rd->rc);
		break;
	case MP_PT_INTEGER32:
	case MP_PT_FLOATING32:
	case MP_PT_ERRORCODE:
		out->v.i4 = mp_rc_u32(rd->rc);
		break;
	case MP_PT_FLOATING64:
	case MP_PT_CURRENCY:
	case MP_PT_FLOATINGTIME:
	case MP_PT_INTEGER64:
	case MP_PT_TIME:
		out->v.i8 = mp_pv_get_u64(rd->rc);
		break;
	case MP_PT_GUID:
		out->v.bin.data = mp_rc_take(rd->rc, 16);
		out->v.bin.len = 16;
		break;
	case MP_PT_STRING8:
	case MP_PT_STRING:
		return read_str(rd, type, &out->v.bin);
	case MP_PT_BINARY:
		return read_bin(rd, wide, &out->v.bin);
	case MP_PT_SERVERID:
		/* COUNT, then Ours (1 byte) and ids or client data. */
		rc = read_bin(rd, wide, &out->v.bin);
		if (rc == MP_OK && out->v.bin.len == 0)
			rc = MP_ERR_PARSE;
		return rc;
	case MP_PT_RESTRICTION:
		out->v.res = talloc_zero(rd->mem, struct mp_restriction);
		if (!out->v.res)
			return MP_ERR_NOMEM;
		return mp_restriction_read(rd, out->v.res);
	case MP_PT_RULEACTION:
		if (rd->depth >= MP_PV_MAX_DEPTH)
			return MP_ERR_LIMIT;
		out->v.act = talloc_zero(rd->mem, struct mp_rule_actions);
		if (!out->v.act)
			return MP_ERR_NOMEM;
		rd->depth++;
		rc = mp_rule_actions_read(rd, out->v.act);
		rd->depth--;
		return rc;
	case MP_PT_OBJECT:
	case MP_PT_UNSPECIFIED:
	default:
		return MP_ERR_UNSUPPORTED;
	}
	return rd_status(rd);
}

static int write_mv(struct mp_wbuf *wb, enum mp_pv_ctx ctx, uint16_t base, const struct mp_mv *mv)
{
	int rc = MP_OK;
	mp_wb_u32(wb, mv->count);
	if (mv->count == 0)
		return MP_OK;
	switch (base) {
	case MP_PT_INTEGER16:
		if (!mv->i2)
			return MP_ERR_PARSE;
		for (uint32_t i = 0; i < mv->count; i++)
			mp_wb_u16(wb, mv->i2[i]);
		break;
	case MP_PT_INTEGER32:
	case MP_PT_FLOATING32:
		if (!mv->i4)
			return MP_ERR_PARSE;
		for (uint32_t i = 0; i < mv->count; i++)
			mp_wb_u32(wb, mv->i4[i]);
		break;
	case MP_PT_FLOATING64:
	case MP_PT_CURRENCY:
	case MP_PT_FLOATINGTIME:
	case MP_PT_INTEGER64:
	case MP_PT_TIME:
		if (!mv->i8)
			return MP_ERR_PARSE;
		for (uint32_t i = 0; i < mv->count; i++)
			mp_pv_put_u64(wb, mv->i8[i]);
		break;
	case MP_PT_GUID:
		if (!mv->guid)
			return MP_ERR_PARSE;
		for (uint32_t i = 0; i < mv->count; i++)
			mp_wb_bytes(wb, mv->guid[i], 16);
		break;
	case MP_PT_STRING8:
	case MP_PT_STRING:
	case MP_PT_BINARY:
		if (!mv->bin)
			return MP_ERR_PARSE;
		for (uint32_t i = 0; i < mv->count && rc == MP_OK; i++) {
			if (base == MP_PT_BINARY)
				rc = write_bin(wb, ctx == MP_PV_EXT, &mv->bin[i]);
			else if (mv->bin[i].len)
				mp_wb_bytes(wb, mv->bin[i].data, mv->bin[i].len);
		}
		break;
	default:
		return MP_ERR_PARSE;
	}
	return rc;
}

int mp_pv_write(struct mp_wbuf *wb, enum mp_pv_ctx ctx, const struct mp_propval *pv)
{
	bool wide = ctx == MP_PV_EXT;
	uint16_t type = pv->type;
	int rc = MP_OK;

	if (type & MP_PT_MVI)
		return MP_ERR_PARSE;
	if (type & MP_PT_MV)
		return wb_status(wb, write_mv(wb, ctx, (uint16_t)(type & ~MP_PT_MV), &pv->v.mv));
	switch (type) {
	case MP_PT_NULL:
		break;
	case MP_PT_BOOLEAN:
		mp_wb_u8(wb, pv->v.b);
		break;
	case MP_PT_INTEGER16:
		mp_wb_u16(wb, pv->v.i2);
		break;
	case MP_PT_INTEGER32:
	case MP_PT_FLOATING32:
	case MP_PT_ERRORCODE:
		mp_wb_u32(wb, pv->v.i4);
		break;
	case MP_PT_FLOATING64:
	case MP_PT_CURRENCY:
	case MP_PT_FLOATINGTIME:
	case MP_PT_INTEGER64:
	case MP_PT_TIME:
		mp_pv_put_u64(wb, pv->v.i8);
		break;
	case MP_PT_GUID:
		if (pv->v.bin.len != 16 || !pv->v.bin.data)
			return MP_ERR_PARSE;
		mp_wb_bytes(wb, pv->v.bin.data, 16);
		break;
	case MP_PT_STRING8:
	case MP_PT_STRING:
		/* The bytes keep their terminator. */
		if (pv->v.bin.len)
			mp_wb_bytes(wb, pv->v.bin.data, pv->v.bin.len);
		break;
	case MP_PT_BINARY:
	case MP_PT_SERVERID:
		rc = write_bin(wb, wide, &pv->v.bin);
		break;
	case MP_PT_RESTRICTION:
		if (!pv->v.res)
			return MP_ERR_PARSE;
		rc = mp_restriction_write(wb, ctx, pv->v.res);
		break;
	case MP_PT_RULEACTION:
		if (!pv->v.act)
			return MP_ERR_PARSE;
		rc = mp_rule_actions_write(wb, ctx, pv->v.act);
		break;
	default:
		return MP_ERR_PARSE;
	}
	return wb_status(wb, rc);
}

/* ------------------------------------------------------------------ */
/* Printing                                                            */
/* ------------------------------------------------------------------ */

static uint64_t bits_u64(uint64_t v, double *d)
{
	memcpy(d, &v, sizeof(*d));
	return v;
}

static void print_float32(struct mp_printer *p, const char *name, uint32_t bits)
{
	float f;
	memcpy(&f, &bits, sizeof(f));
	mp_pr_double(p, name, (double)f);
}

static void print_double(struct mp_printer *p, const char *name, uint64_t bits)
{
	double d;
	(void)bits_u64(bits, &d);
	mp_pr_double(p, name, d);
}

/* Strings without their terminator, for display. */
static void print_str(struct mp_printer *p, const char *name, uint16_t base, const struct mp_bin *b)
{
	uint32_t n = b->len;
	if (base == MP_PT_STRING) {
		if (n >= 2)
			n -= 2;
		mp_pr_utf16(p, name, b->data ? b->data : (const uint8_t *)"", n);
	} else {
		if (n >= 1)
			n -= 1;
		mp_pr_strn(p, name, b->data ? (const char *)b->data : "", n);
	}
}

bool mp_serverid_ids(const struct mp_bin *b, uint64_t *fid, uint64_t *mid, uint32_t *instance)
{
	if (!b->data || b->len != 21 || b->data[0] != 1)
		return false;
	const uint8_t *q = b->data + 1;
	*fid = (uint64_t)mp_get_u32(q) | ((uint64_t)mp_get_u32(q + 4) << 32);
	*mid = (uint64_t)mp_get_u32(q + 8) | ((uint64_t)mp_get_u32(q + 12) << 32);
	*instance = mp_get_u32(q + 16);
	return true;
}

static void print_serverid(struct mp_printer *p, const char *name, const struct mp_bin *b)
{
	uint64_t fid, mid;
	uint32_t inst;
	mp_pr_begin(p, name);
	if (b->len)
		mp_pr_uint(p, "Ours", b->data[0]);
	if (mp_serverid_ids(b, &fid, &mid, &inst)) {
		mp_pr_hex(p, "FolderId", fid, 16);
		mp_pr_hex(p, "MessageId", mid, 16);
		mp_pr_uint(p, "Instance", inst);
	} else if (b->len > 1) {
		mp_pr_bytes(p, "ClientData", b->data + 1, b->len - 1);
	}
	mp_pr_end(p);
}

static void print_mv(struct mp_printer *p, const char *name, uint16_t base, const struct mp_mv *mv)
{
	mp_pr_begin_array(p, name, mv->count);
	for (uint32_t i = 0; i < mv->count; i++) {
		switch (base) {
		case MP_PT_INTEGER16:
			mp_pr_int(p, NULL, (int16_t)mv->i2[i]);
			break;
		case MP_PT_INTEGER32:
			mp_pr_int(p, NULL, (int32_t)mv->i4[i]);
			break;
		case MP_PT_FLOATING32:
			print_float32(p, NULL, mv->i4[i]);
			break;
		case MP_PT_FLOATING64:
		case MP_PT_FLOATINGTIME:
			print_double(p, NULL, mv->i8[i]);
			break;
		case MP_PT_CURRENCY:
		case MP_PT_INTEGER64:
			mp_pr_int(p, NULL, (int64_t)mv->i8[i]);
			break;
		case MP_PT_TIME:
			mp_pr_filetime(p, NULL, mv->i8[i]);
			break;
		case MP_PT_GUID:
			mp_pr_guid(p, NULL, mv->guid[i]);
			break;
		case MP_PT_STRING8:
		case MP_PT_STRING:
			print_str(p, NULL, base, &mv->bin[i]);
			break;
		default:
			mp_pr_bytes(p, NULL, mv->bin[i].data, mv->bin[i].len);
			break;
		}
	}
	mp_pr_end_array(p);
}

static size_t pv_wire_size_hint(const struct mp_propval *pv)
{
	switch (pv->type) {
	case MP_PT_STRING8:
	case MP_PT_STRING:
	case MP_PT_BINARY:
		return pv->v.bin.len;
	default:
		return mp_ptype_fixed_size(pv->type);
	}
}

void mp_pv_print(struct mp_printer *p, const char *name, uint32_t tag, const struct mp_propval *pv)
{
	if (tag && mp_proptag_is_secret(tag, false)) {
		mp_pr_secret(p, name, pv_wire_size_hint(pv));
		return;
	}
	if (pv->type & MP_PT_MV) {
		print_mv(p, name, (uint16_t)(pv->type & ~MP_PT_MV), &pv->v.mv);
		return;
	}
	switch (pv->type) {
	case MP_PT_NULL:
		mp_pr_str(p, name, NULL);
		break;
	case MP_PT_BOOLEAN:
		if (pv->v.b <= 1)
			mp_pr_bool(p, name, pv->v.b != 0);
		else
			mp_pr_uint(p, name, pv->v.b);
		break;
	case MP_PT_INTEGER16:
		mp_pr_int(p, name, (int16_t)pv->v.i2);
		break;
	case MP_PT_INTEGER32:
		mp_pr_int(p, name, (int32_t)pv->v.i4);
		break;
	case MP_PT_FLOATING32:
		print_float32(p, name, pv->v.i4);
		break;
	case MP_PT_ERRORCODE:
		mp_pr_enum(p, name, pv->v.i4, 8, mp_error_name(pv->v.i4));
		break;
	case MP_PT_FLOATING64:
	case MP_PT_FLOATINGTIME:
		print_double(p, name, pv->v.i8);
		break;
	case MP_PT_CURRENCY:
	case MP_PT_INTEGER64:
		mp_pr_int(p, name, (int64_t)pv->v.i8);
		break;
	case MP_PT_TIME:
		mp_pr_filetime(p, name, pv->v.i8);
		break;
	case MP_PT_GUID:
		if (pv->v.bin.data && pv->v.bin.len == 16)
			mp_pr_guid(p, name, pv->v.bin.data);
		else
			mp_pr_bytes(p, name, pv->v.bin.data, pv->v.bin.len);
		break;
	case MP_PT_STRING8:
	case MP_PT_STRING:
		print_str(p, name, pv->type, &pv->v.bin);
		break;
	case MP_PT_SERVERID:
		print_serverid(p, name, &pv->v.bin);
		break;
	case MP_PT_RESTRICTION:
		mp_restriction_print(p, name, pv->v.res);
		break;
	case MP_PT_RULEACTION:
		mp_rule_actions_print(p, name, pv->v.act);
		break;
	default:
		mp_pr_bytes(p, name, pv->v.bin.data, pv->v.bin.len);
		break;
	}
}

void mp_prop_tag_print(struct mp_printer *p, const char *name, uint32_t tag)
{
	/* Tags from 0x8000 are named properties each mailbox maps itself: no
	 * fixed name in a message store. */
	mp_pr_enum(p, name, tag, 8, MP_PROP_ID(tag) < 0x8000 ? mp_proptag_name(tag) : NULL);
}

/* ------------------------------------------------------------------ */
/* Typed and tagged values                                             */
/* ------------------------------------------------------------------ */

int mp_typed_pv_read(struct mp_pv_rd *rd, struct mp_propval *out)
{
	uint16_t type = mp_rc_u16(rd->rc);
	if (rd->rc->bad)
		return MP_ERR_PARSE;
	/* The type sent names a real type: no Unspecified, no MVI. */
	if (type == MP_PT_UNSPECIFIED || (type & MP_PT_MVI))
		return MP_ERR_PARSE;
	return mp_pv_read(rd, type, out);
}

int mp_typed_pv_write(struct mp_wbuf *wb, enum mp_pv_ctx ctx, const struct mp_propval *pv)
{
	mp_wb_u16(wb, pv->type);
	return mp_pv_write(wb, ctx, pv);
}

int mp_tagged_pv_read(struct mp_pv_rd *rd, struct mp_tagged_pv *out)
{
	out->tag = mp_rc_u32(rd->rc);
	if (rd->rc->bad)
		return MP_ERR_PARSE;
	uint16_t type = MP_PROP_TYPE(out->tag);
	if (type == MP_PT_UNSPECIFIED)
		return MP_ERR_PARSE;
	return mp_pv_read(rd, type, &out->val);
}

int mp_tagged_pv_write(struct mp_wbuf *wb, enum mp_pv_ctx ctx, const struct mp_tagged_pv *tpv)
{
	mp_wb_u32(wb, tpv->tag);
	return mp_pv_write(wb, ctx, &tpv->val);
}

void mp_tagged_pv_print(struct mp_printer *p, const char *name, const struct mp_tagged_pv *tpv)
{
	mp_pr_begin(p, name);
	mp_prop_tag_print(p, "PropertyTag", tpv->tag);
	mp_pv_print(p, "Value", tpv->tag, &tpv->val);
	mp_pr_end(p);
}

int mp_tagged_pvs_read(struct mp_pv_rd *rd, uint32_t n, struct mp_tagged_pv **out)
{
	/* A tagged value takes at least its 4-byte tag. */
	struct mp_tagged_pv *v = rd_array(rd, n, sizeof(*v), 4);
	*out = v;
	if (n && !v)
		return rd->rc->bad ? MP_ERR_PARSE : MP_ERR_NOMEM;
	for (uint32_t i = 0; i < n; i++) {
		int rc = mp_tagged_pv_read(rd, &v[i]);
		if (rc != MP_OK)
			return rc;
	}
	return MP_OK;
}

int mp_tagged_pvs_write(struct mp_wbuf *wb, enum mp_pv_ctx ctx, const struct mp_tagged_pv *v,
                        uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		int rc = mp_tagged_pv_write(wb, ctx, &v[i]);
		if (rc != MP_OK)
			return rc;
	}
	return wb->bad ? MP_ERR_NOMEM : MP_OK;
}

void mp_tagged_pvs_print(struct mp_printer *p, const char *name, const struct mp_tagged_pv *v,
                         uint32_t n)
{
	mp_pr_begin_array(p, name, n);
	for (uint32_t i = 0; i < n; i++)
		mp_tagged_pv_print(p, NULL, &v[i]);
	mp_pr_end_array(p);
}

/* ------------------------------------------------------------------ */
/* Property rows                                                       */
/* ------------------------------------------------------------------ */

static int read_row_value(struct mp_pv_rd *rd, uint8_t row_flag, uint16_t col_type,
                          struct mp_row_value *rv)
{
	uint16_t type = strip_mvi(col_type);

	if (type == MP_PT_UNSPECIFIED) {
		rv->has_type = true;
		rv->type_sent = mp_rc_u16(rd->rc);
		if (rd->rc->bad)
			return MP_ERR_PARSE;
		type = rv->type_sent;
		if (type == MP_PT_UNSPECIFIED || (type & MP_PT_MVI))
			return MP_ERR_PARSE;
	}
	if (row_flag == MP_ROW_FLAGGED) {
		rv->flag = mp_rc_u8(rd->rc);
		if (rd->rc->bad)
			return MP_ERR_PARSE;
		switch (rv->flag) {
		case MP_PV_FLAG_VALUE:
			break;
		case MP_PV_FLAG_NONE:
			rv->val.type = type;
			return MP_OK;
		case MP_PV_FLAG_ERROR:
			return mp_pv_read(rd, MP_PT_ERRORCODE, &rv->val);
		default:
			return MP_ERR_PARSE;
		}
	}
	return mp_pv_read(rd, type, &rv->val);
}

int mp_prop_row_read(struct mp_pv_rd *rd, const uint32_t *cols, uint32_t ncols,
                     struct mp_prop_row *out)
{
	memset(out, 0, sizeof(*out));
	out->flag = mp_rc_u8(rd->rc);
	if (rd->rc->bad)
		return MP_ERR_PARSE;
	if (out->flag != MP_ROW_STANDARD && out->flag != MP_ROW_FLAGGED)
		return MP_ERR_PARSE;
	out->count = ncols;
	/* Columns can be zero bytes each (PtypNull), so no wire bound here:
	 * the column count comes from our own state, not from this buffer. */
	if (ncols) {
		out->vals = talloc_zero_array(rd->mem, struct mp_row_value, ncols);
		if (!out->vals)
			return MP_ERR_NOMEM;
	}
	for (uint32_t i = 0; i < ncols; i++) {
		int rc = read_row_value(rd, out->flag, MP_PROP_TYPE(cols[i]), &out->vals[i]);
		if (rc != MP_OK)
			return rc;
	}
	return MP_OK;
}

int mp_prop_row_write(struct mp_wbuf *wb, enum mp_pv_ctx ctx, const struct mp_prop_row *row)
{
	mp_wb_u8(wb, row->flag);
	for (uint32_t i = 0; i < row->count; i++) {
		const struct mp_row_value *rv = &row->vals[i];
		int rc = MP_OK;
		if (rv->has_type)
			mp_wb_u16(wb, rv->type_sent);
		if (row->flag == MP_ROW_FLAGGED) {
			mp_wb_u8(wb, rv->flag);
			if (rv->flag == MP_PV_FLAG_NONE)
				continue;
			if (rv->flag != MP_PV_FLAG_VALUE && rv->flag != MP_PV_FLAG_ERROR)
				return MP_ERR_PARSE;
		}
		rc = mp_pv_write(wb, ctx, &rv->val);
		if (rc != MP_OK)
			return rc;
	}
	return wb->bad ? MP_ERR_NOMEM : MP_OK;
}

void mp_prop_row_print(struct mp_printer *p, const char *name, const uint32_t *cols,
                       const struct mp_prop_row *row)
{
	mp_pr_begin(p, name);
	mp_pr_enum(p, "Flag", row->flag, 2,
	           row->flag == MP_ROW_FLAGGED ? "FlaggedPropertyRow" : "StandardPropertyRow");
	mp_pr_begin_array(p, "ValueArray", row->count);
	for (uint32_t i = 0; i < row->count; i++) {
		const struct mp_row_value *rv = &row->vals[i];
		uint32_t tag = cols ? cols[i] : 0;
		if (rv->has_type)
			tag = MP_PROP_TAG(MP_PROP_ID(tag), rv->type_sent);
		mp_pr_begin(p, NULL);
		if (cols)
			mp_prop_tag_print(p, "PropertyTag", tag);
		if (rv->has_type)
			mp_pr_enum(p, "PropertyType", rv->type_sent, 4,
			           mp_ptype_name(rv->type_sent));
		if (row->flag == MP_ROW_FLAGGED)
			mp_pr_hex(p, "Flag", rv->flag, 2);
		if (row->flag != MP_ROW_FLAGGED || rv->flag == MP_PV_FLAG_VALUE)
			mp_pv_print(p, "Value", tag, &rv->val);
		else if (rv->flag == MP_PV_FLAG_ERROR)
			mp_pr_enum(p, "ErrorCode", rv->val.v.i4, 8,
			           mp_error_name(rv->val.v.i4));
		mp_pr_end(p);
	}
	mp_pr_end_array(p);
	mp_pr_end(p);
}

/* ------------------------------------------------------------------ */
/* Property tags, names, problems                                      */
/* ------------------------------------------------------------------ */

int mp_prop_tags_read(struct mp_pv_rd *rd, uint32_t n, uint32_t **out)
{
	uint32_t *t = rd_array(rd, n, sizeof(*t), 4);
	*out = t;
	if (n && !t)
		return rd->rc->bad ? MP_ERR_PARSE : MP_ERR_NOMEM;
	for (uint32_t i = 0; i < n; i++)
		t[i] = mp_rc_u32(rd->rc);
	return rd_status(rd);
}

void mp_prop_tags_write(struct mp_wbuf *wb, const uint32_t *tags, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		mp_wb_u32(wb, tags[i]);
}

void mp_prop_tags_print(struct mp_printer *p, const char *name, const uint32_t *tags, uint32_t n)
{
	mp_pr_begin_array(p, name, n);
	for (uint32_t i = 0; i < n; i++)
		mp_prop_tag_print(p, NULL, tags[i]);
	mp_pr_end_array(p);
}

int mp_prop_name_read(struct mp_pv_rd *rd, struct mp_prop_name *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = mp_rc_u8(rd->rc);
	const uint8_t *g = mp_rc_take(rd->rc, 16);
	if (!g)
		return MP_ERR_PARSE;
	memcpy(out->guid, g, 16);
	switch (out->kind) {
	case MP_PNAME_LID:
		out->lid = mp_rc_u32(rd->rc);
		break;
	case MP_PNAME_NAME:
		out->name.len = mp_rc_u8(rd->rc);
		out->name.data = mp_rc_take(rd->rc, out->name.len);
		break;
	case MP_PNAME_NONE:
		break;
	default:
		return MP_ERR_PARSE;
	}
	return rd_status(rd);
}

int mp_prop_name_write(struct mp_wbuf *wb, const struct mp_prop_name *pn)
{
	mp_wb_u8(wb, pn->kind);
	mp_wb_bytes(wb, pn->guid, 16);
	switch (pn->kind) {
	case MP_PNAME_LID:
		mp_wb_u32(wb, pn->lid);
		break;
	case MP_PNAME_NAME:
		if (pn->name.len > 0xff)
			return MP_ERR_PARSE;
		mp_wb_u8(wb, (uint8_t)pn->name.len);
		if (pn->name.len)
			mp_wb_bytes(wb, pn->name.data, pn->name.len);
		break;
	case MP_PNAME_NONE:
		break;
	default:
		return MP_ERR_PARSE;
	}
	return wb->bad ? MP_ERR_NOMEM : MP_OK;
}

void mp_prop_name_print(struct mp_printer *p, const char *name, const struct mp_prop_name *pn)
{
	static const char *const kinds[] = {"LID", "Name"};
	mp_pr_begin(p, name);
	mp_pr_enum(p, "Kind", pn->kind, 2,
	           pn->kind <= 1      ? kinds[pn->kind]
	           : pn->kind == 0xff ? "NoPropertyName"
	                              : NULL);
	mp_pr_guid(p, "GUID", pn->guid);
	if (pn->kind == MP_PNAME_LID) {
		mp_pr_hex(p, "LID", pn->lid, 8);
	} else if (pn->kind == MP_PNAME_NAME) {
		uint32_t n = pn->name.len;
		/* Drop the terminator when there is one. */
		if (n >= 2 && pn->name.data[n - 1] == 0 && pn->name.data[n - 2] == 0)
			n -= 2;
		mp_pr_uint(p, "NameSize", pn->name.len);
		mp_pr_utf16(p, "Name", pn->name.data ? pn->name.data : (const uint8_t *)"",
		            n & ~1u);
	}
	mp_pr_end(p);
}

int mp_prop_problem_read(struct mp_pv_rd *rd, struct mp_prop_problem *out)
{
	out->index = mp_rc_u16(rd->rc);
	out->tag = mp_rc_u32(rd->rc);
	out->err = mp_rc_u32(rd->rc);
	return rd_status(rd);
}

void mp_prop_problem_write(struct mp_wbuf *wb, const struct mp_prop_problem *pp)
{
	mp_wb_u16(wb, pp->index);
	mp_wb_u32(wb, pp->tag);
	mp_wb_u32(wb, pp->err);
}

void mp_prop_problem_print(struct mp_printer *p, const char *name, const struct mp_prop_problem *pp)
{
	mp_pr_begin(p, name);
	mp_pr_uint(p, "Index", pp->index);
	mp_prop_tag_print(p, "PropertyTag", pp->tag);
	mp_pr_enum(p, "ErrorCode", pp->err, 8, mp_error_name(pp->err));
	mp_pr_end(p);
}

