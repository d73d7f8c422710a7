/*
 * Table ROPs (MS-OXCTABL, MS-OXCROPS 2.2.5) over hierarchy, contents and
 * attachment tables. A table keeps its columns, one sort order, a
 * restriction and a cursor; its rows are read from the store at each use,
 * so a table always shows the folder as it is now. Restrictions evaluated:
 * And, Or, Not, Content, Property, Exist, Bitmask, Size; others match
 * nothing. Sorting: the first SortOrder only (no categories).
 */
#include "server/rop_server.h"

#include "mapi/restriction.h"
#include "util/status.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <talloc.h>

#define BOOKMARK_BEGINNING 0
#define BOOKMARK_CURRENT 1
#define BOOKMARK_END 2
#define TBLSTAT_COMPLETE 0

struct mp_store_obj mp_srv_table_row_obj(const struct mp_sobj *t, uint64_t id)
{
	switch (t->tkind) {
	case MP_TABLE_HIERARCHY:
		return mp_store_obj_folder(t->mbox, id);
	case MP_TABLE_ATTACH:
		return mp_store_obj_attach(t->mbox, t->mid, (uint32_t)id);
	default:
		return mp_store_obj_message(t->mbox, id);
	}
}

/* ---- Values as comparable things ---- */

struct cmpval {
	int kind; /* 0 none, 1 integer, 2 text, 3 bytes */
	int64_t i;
	const uint8_t *p;
	size_t n;
	char *s;
};

static void to_cmpval(void *mem, const struct mp_propval *pv, struct cmpval *out)
{
	memset(out, 0, sizeof(*out));
	switch (pv->type) {
	case MP_PT_INTEGER16:
		out->kind = 1, out->i = (int16_t)pv->v.i2;
		break;
	case MP_PT_INTEGER32:
	case MP_PT_ERRORCODE:
		out->kind = 1, out->i = (int32_t)pv->v.i4;
		break;
	case MP_PT_BOOLEAN:
		out->kind = 1, out->i = pv->v.b != 0;
		break;
	case MP_PT_INTEGER64:
	case MP_PT_TIME:
	case MP_PT_CURRENCY:
		out->kind = 1, out->i = (int64_t)pv->v.i8;
		break;
	case MP_PT_STRING: {
		size_t n = pv->v.bin.len;
		while (n >= 2 && pv->v.bin.data[n - 1] == 0 && pv->v.bin.data[n - 2] == 0)
			n -= 2;
		out->kind = 2;
		if (mp_store_utf16_to_utf8(mem, pv->v.bin.data, n, &out->s) != MP_OK)
			out->kind = 0;
		break;
	}
	case MP_PT_STRING8: {
		size_t n = pv->v.bin.len;
		while (n && pv->v.bin.data[n - 1] == 0)
			n--;
		out->kind = 2;
		out->s = talloc_strndup(mem, (const char *)pv->v.bin.data, n);
		if (!out->s)
			out->kind = 0;
		break;
	}
	case MP_PT_BINARY:
	case MP_PT_GUID:
	case MP_PT_SERVERID:
		out->kind = 3, out->p = pv->v.bin.data, out->n = pv->v.bin.len;
		break;
	default:
		break;
	}
}

static bool stored_cmpval(struct mp_rop_ctx *c, const struct mp_store_obj *obj, uint32_t tag,
                          struct cmpval *out)
{
	struct mp_store_prop p;
	struct mp_propval pv;
	memset(out, 0, sizeof(*out));
	if (mp_store_props_get(c->txn, obj, &tag, 1, c->mem, &p) != MP_OK ||
	    p.form != MP_STORE_VAL_WIRE || mp_store_prop_decode(&p, c->mem, &pv) != MP_OK)
		return false;
	to_cmpval(c->mem, &pv, out);
	if (out->kind == 3) { /* the value points into the map: copy it */
		out->p = talloc_memdup(c->mem, out->p, out->n ? out->n : 1);
		if (!out->p)
			out->kind = 0;
	}
	return out->kind != 0;
}

static int cmp_vals(const struct cmpval *a, const struct cmpval *b)
{
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	switch (a->kind) {
	case 1:
		return a->i < b->i ? -1 : a->i > b->i;
	case 2:
		return strcasecmp(a->s, b->s);
	case 3: {
		int r = memcmp(a->p, b->p, a->n < b->n ? a->n : b->n);
		return r ? r : (a->n < b->n ? -1 : a->n > b->n);
	}
	default:
		return 0;
	}
}

static bool relop_holds(uint8_t relop, int r)
{
	switch (relop) {
	case MP_RELOP_LT:
		return r < 0;
	case MP_RELOP_LE:
		return r <= 0;
	case MP_RELOP_GT:
		return r > 0;
	case MP_RELOP_GE:
		return r >= 0;
	case MP_RELOP_EQ:
		return r == 0;
	case MP_RELOP_NE:
		return r != 0;
	default:
		return false;
	}
}

static bool content_match(const char *hay, const char *needle, uint16_t low, uint16_t high)
{
	bool icase = (high & 0x0003) != 0; /* FL_IGNORECASE, FL_IGNORENONSPACE */
	size_t hn = strlen(hay), nn = strlen(needle);
	switch (low & 0x000F) {
	case 0: /* FL_FULLSTRING */
		return icase ? strcasecmp(hay, needle) == 0 : strcmp(hay, needle) == 0;
	case 2: /* FL_PREFIX */
		return hn >= nn &&
		       (icase ? strncasecmp(hay, needle, nn) : strncmp(hay, needle, nn)) == 0;
	default: /* FL_SUBSTRING */
		if (!icase)
			return strstr(hay, needle) != NULL;
		for (size_t i = 0; i + nn <= hn; i++)
			if (strncasecmp(hay + i, needle, nn) == 0)
				return true;
		return false;
	}
}

static bool eval(struct mp_rop_ctx *c, const struct mp_store_obj *obj,
                 const struct mp_restriction *r)
{
	struct cmpval a, b;
	switch (r->rt) {
	case MP_RES_AND:
		for (uint32_t i = 0; i < r->u.andor.count; i++)
			if (!eval(c, obj, &r->u.andor.subs[i]))
				return false;
		return true;
	case MP_RES_OR:
		for (uint32_t i = 0; i < r->u.andor.count; i++)
			if (eval(c, obj, &r->u.andor.subs[i]))
				return true;
		return false;
	case MP_RES_NOT:
		return !eval(c, obj, r->u.not_);
	case MP_RES_CONTENT:
		to_cmpval(c->mem, &r->u.content.pv.val, &b);
		if (!stored_cmpval(c, obj, r->u.content.tag, &a) || a.kind != b.kind)
			return false;
		if (a.kind == 2)
			return content_match(a.s, b.s, r->u.content.fuzzy_low,
			                     r->u.content.fuzzy_high);
		return cmp_vals(&a, &b) == 0;
	case MP_RES_PROPERTY:
		to_cmpval(c->mem, &r->u.prop.pv.val, &b);
		if (!stored_cmpval(c, obj, r->u.prop.tag, &a))
			return r->u.prop.relop == MP_RELOP_NE;
		return relop_holds(r->u.prop.relop, cmp_vals(&a, &b));
	case MP_RES_EXIST: {
		struct mp_store_prop p;
		uint32_t tag = r->u.exist.tag;
		return mp_store_props_get(c->txn, obj, &tag, 1, c->mem, &p) == MP_OK &&
		       p.form != MP_STORE_VAL_NONE;
	}
	case MP_RES_BITMASK:
		if (!stored_cmpval(c, obj, r->u.bitmask.tag, &a) || a.kind != 1)
			return r->u.bitmask.relop == 0;
		return ((uint64_t)a.i & r->u.bitmask.mask) ? r->u.bitmask.relop != 0
		                                           : r->u.bitmask.relop == 0;
	case MP_RES_SIZE: {
		struct mp_store_prop p;
		uint32_t tag = r->u.size.tag;
		if (mp_store_props_get(c->txn, obj, &tag, 1, c->mem, &p) != MP_OK ||
		    p.form == MP_STORE_VAL_NONE)
			return false;
		int64_t d = (int64_t)p.len - (int64_t)r->u.size.size;
		return relop_holds(r->u.size.relop, d < 0 ? -1 : d > 0);
	}
	default:
		return false;
	}
}

static int decode_res(struct mp_rop_ctx *c, const uint8_t *p, size_t n, struct mp_restriction **out)
{
	struct mp_rcursor rc;
	struct mp_pv_rd rd = {.rc = &rc, .mem = c->mem, .ctx = MP_PV_ROP};
	struct mp_restriction *r = talloc_zero(c->mem, struct mp_restriction);
	if (!r)
		return MP_ERR_NOMEM;
	mp_rc_init(&rc, p, n);
	int st = mp_restriction_read(&rd, r);
	if (st != MP_OK || rc.bad)
		return MP_ERR_PARSE;
	*out = r;
	return MP_OK;
}

/* ---- Rows ---- */

struct sortkey {
	uint64_t id;
	struct cmpval v;
	bool has;
};

static int sort_cmp(const void *x, const void *y, void *arg)
{
	const struct sortkey *a = x, *b = y;
	bool desc = *(const bool *)arg;
	int r;
	if (a->has != b->has)
		r = a->has ? 1 : -1; /* missing values sort first */
	else
		r = a->has ? cmp_vals(&a->v, &b->v) : 0;
	if (r == 0)
		r = a->id < b->id ? -1 : a->id > b->id;
	return desc ? -r : r;
}

int mp_srv_table_ids(struct mp_rop_ctx *c, struct mp_sobj *t, uint64_t **ids, size_t *n)
{
	int rc;
	*ids = NULL;
	*n = 0;
	if (t->tkind == MP_TABLE_HIERARCHY) {
		rc = mp_store_folder_children(c->txn, t->mbox, t->fid, t->depth, c->mem, ids, n);
	} else if (t->tkind == MP_TABLE_CONTENTS) {
		rc = mp_store_folder_contents(c->txn, t->mbox, t->fid, t->assoc, c->mem, ids, n);
	} else {
		uint32_t *nums = NULL;
		rc = mp_store_attach_list(c->txn, t->mbox, t->mid, c->mem, &nums, n);
		if (rc == MP_OK && *n) {
			*ids = talloc_array(c->mem, uint64_t, *n);
			if (!*ids)
				return MP_ERR_NOMEM;
			for (size_t i = 0; i < *n; i++)
				(*ids)[i] = nums[i];
		}
	}
	if (rc != MP_OK)
		return rc;
	if (t->res) {
		struct mp_restriction *r = NULL;
		size_t k = 0;
		if (decode_res(c, t->res, t->res_len, &r) != MP_OK)
			return MP_ERR_PARSE;
		for (size_t i = 0; i < *n; i++) {
			struct mp_store_obj o = mp_srv_table_row_obj(t, (*ids)[i]);
			if (eval(c, &o, r))
				(*ids)[k++] = (*ids)[i];
		}
		*n = k;
	}
	if (t->sort_tag && *n > 1) {
		struct sortkey *keys = talloc_array(c->mem, struct sortkey, *n);
		if (!keys)
			return MP_ERR_NOMEM;
		for (size_t i = 0; i < *n; i++) {
			struct mp_store_obj o = mp_srv_table_row_obj(t, (*ids)[i]);
			keys[i].id = (*ids)[i];
			keys[i].has = stored_cmpval(c, &o, t->sort_tag, &keys[i].v);
		}
		qsort_r(keys, *n, sizeof(*keys), sort_cmp, &t->sort_desc);
		for (size_t i = 0; i < *n; i++)
			(*ids)[i] = keys[i].id;
	}
	return MP_OK;
}

static struct mp_sobj *table_of(struct mp_rop_ctx *c, const struct mp_rop *rop)
{
	return mp_srv_input(c, rop, MP_SOBJ_TABLE);
}

static void status_ok(struct mp_wbuf *wb, const struct mp_rop *rop)
{
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), 0);
	mp_wb_u8(wb, TBLSTAT_COMPLETE);
}

void mp_srv_rop_set_columns(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *t = table_of(c, rop);
	const struct mp_rop_val *tags = mp_rop_field(rop, "PropertyTags");
	if (!t) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	if (!tags || tags->n == 0 || tags->n > MP_SRV_MAX_COLUMNS) {
		mp_srv_rsp_error(wb, rop, MP_EC_INVALID_PARAM);
		return;
	}
	uint32_t *cols = talloc_memdup(t, tags->p, tags->n * sizeof(uint32_t));
	if (!cols) {
		mp_srv_rsp_error(wb, rop, MP_EC_OOM);
		return;
	}
	talloc_free(t->cols);
	t->cols = cols;
	t->ncols = (uint32_t)tags->n;
	status_ok(wb, rop);
}

void mp_srv_rop_sort_table(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *t = table_of(c, rop);
	const struct mp_rop_val *orders = mp_rop_field(rop, "SortOrders");
	if (!t) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	if (mp_srv_uint(rop, "CategoryCount") != 0) {
		mp_srv_rsp_error(wb, rop, MP_EC_NOT_SUPPORTED);
		return;
	}
	t->sort_tag = 0;
	t->sort_desc = false;
	if (orders && orders->n) {
		struct mp_rop_vals *const *e = orders->p;
		const struct mp_rop_val *tag = mp_srv_sub(e[0], "PropertyTag");
		const struct mp_rop_val *ord = mp_srv_sub(e[0], "Order");
		t->sort_tag = tag ? (uint32_t)tag->u : 0;
		t->sort_desc = ord && (ord->u & 0x01);
	}
	t->pos = 0;
	status_ok(wb, rop);
}

void mp_srv_rop_restrict(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *t = table_of(c, rop);
	const struct mp_rop_val *res = mp_rop_field(rop, "RestrictionData");
	struct mp_restriction *r;
	if (!t) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	talloc_free(t->res);
	t->res = NULL;
	t->res_len = 0;
	if (res && res->n) {
		if (decode_res(c, res->bytes, res->n, &r) != MP_OK) {
			mp_srv_rsp_error(wb, rop, MP_EC_INVALID_PARAM);
			return;
		}
		t->res = talloc_memdup(t, res->bytes, res->n);
		if (!t->res) {
			mp_srv_rsp_error(wb, rop, MP_EC_OOM);
			return;
		}
		t->res_len = res->n;
	}
	t->pos = 0;
	status_ok(wb, rop);
}

void mp_srv_rop_query_rows(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *t = table_of(c, rop);
	uint64_t *ids = NULL;
	size_t n = 0;
	if (!t) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	if (!t->ncols) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT); /* MS-OXCTABL: no RopSetColumns yet */
		return;
	}
	if (mp_srv_table_ids(c, t, &ids, &n) != MP_OK) {
		mp_srv_rsp_error(wb, rop, mp_srv_ec(c));
		return;
	}
	bool forward = mp_srv_uint(rop, "ForwardRead") != 0;
	bool advance = !(mp_srv_uint(rop, "QueryRowsFlags") & 0x01);
	size_t want = (size_t)mp_srv_uint(rop, "RowCount");
	size_t pos = t->pos > n ? n : t->pos;
	struct mp_wbuf rows;
	size_t count = 0, header = 1 + 1 + 4 + 1 + 2;
	mp_wb_init(&rows);
	while (count < want && (forward ? pos < n : pos > 0)) {
		size_t id = forward ? pos : pos - 1;
		size_t mark = rows.len;
		struct mp_store_obj o = mp_srv_table_row_obj(t, ids[id]);
		mp_srv_write_row(c, &o, t->cols, t->ncols, &rows);
		if (header + rows.len > c->budget && count > 0) {
			rows.len = mark; /* the rest comes with the next RopQueryRows */
			break;
		}
		count++;
		pos = forward ? pos + 1 : pos - 1;
		if (header + rows.len > c->budget)
			break; /* one row alone is too big: RopBufferTooSmall */
	}
	if (advance)
		t->pos = (uint32_t)pos;
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), 0);
	mp_wb_u8(wb, pos == 0 ? BOOKMARK_BEGINNING : pos >= n ? BOOKMARK_END : BOOKMARK_CURRENT);
	mp_wb_u16(wb, (uint16_t)count);
	mp_wb_bytes(wb, rows.data, rows.len);
	mp_wb_free(&rows);
}

void mp_srv_rop_query_position(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *t = table_of(c, rop);
	uint64_t *ids = NULL;
	size_t n = 0;
	if (!t) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	if (mp_srv_table_ids(c, t, &ids, &n) != MP_OK) {
		mp_srv_rsp_error(wb, rop, mp_srv_ec(c));
		return;
	}
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), 0);
	mp_wb_u32(wb, t->pos > n ? (uint32_t)n : t->pos);
	mp_wb_u32(wb, (uint32_t)n);
}

/* Move the cursor from `start` by `delta` rows within [0, n]. */
static void seek(struct mp_sobj *t, size_t n, int64_t start, int64_t delta, bool *less,
                 int32_t *sought)
{
	int64_t target = start + delta;
	if (target < 0)
		target = 0;
	if (target > (int64_t)n)
		target = (int64_t)n;
	*sought = (int32_t)(target - start);
	*less = *sought != delta;
	t->pos = (uint32_t)target;
}

void mp_srv_rop_seek_row(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *t = table_of(c, rop);
	uint64_t *ids = NULL;
	size_t n = 0;
	bool less;
	int32_t sought;
	if (!t) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	uint8_t origin = (uint8_t)mp_srv_uint(rop, "Origin");
	if (origin > BOOKMARK_END) {
		mp_srv_rsp_error(wb, rop, MP_EC_INVALID_PARAM);
		return;
	}
	if (mp_srv_table_ids(c, t, &ids, &n) != MP_OK) {
		mp_srv_rsp_error(wb, rop, mp_srv_ec(c));
		return;
	}
	int64_t start = origin == BOOKMARK_BEGINNING ? 0
	                : origin == BOOKMARK_END     ? (int64_t)n
	                                             : (int64_t)(t->pos > n ? n : t->pos);
	seek(t, n, start, (int32_t)mp_srv_uint(rop, "RowCount"), &less, &sought);
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), 0);
	mp_wb_u8(wb, less);
	mp_wb_u32(wb, (uint32_t)sought);
}

void mp_srv_rop_query_columns_all(struct mp_rop_ctx *c, const struct mp_rop *rop,
                                  struct mp_wbuf *wb)
{
	static const uint32_t msg_cols[] = {MP_TAG_MID,
	                                    MP_TAG_FOLDER_ID,
	                                    MP_TAG_ENTRYID,
	                                    MP_TAG_SUBJECT,
	                                    MP_TAG_MESSAGE_CLASS,
	                                    MP_TAG_MESSAGE_FLAGS,
	                                    MP_TAG_MESSAGE_SIZE,
	                                    MP_TAG_MESSAGE_DELIVERY_TIME,
	                                    MP_TAG_SENT_REPRESENTING_NAME,
	                                    MP_TAG_DISPLAY_TO,
	                                    MP_TAG_HAS_ATTACHMENTS,
	                                    MP_TAG_IMPORTANCE,
	                                    MP_TAG_LAST_MODIFICATION_TIME};
	static const uint32_t folder_cols[] = {
	    MP_TAG_FOLDER_ID,    MP_TAG_PARENT_FOLDER_ID, MP_TAG_ENTRYID,
	    MP_TAG_DISPLAY_NAME, MP_TAG_CONTENT_COUNT,    MP_TAG_CONTENT_UNREAD_COUNT,
	    MP_TAG_SUBFOLDERS,   MP_TAG_CONTAINER_CLASS,  MP_TAG_FOLDER_TYPE};
	static const uint32_t attach_cols[] = {MP_TAG_ATTACH_NUM,           MP_TAG_ATTACH_METHOD,
	                                       MP_TAG_ATTACH_LONG_FILENAME, MP_TAG_ATTACH_FILENAME,
	                                       MP_TAG_ATTACH_SIZE,          MP_TAG_ATTACH_MIME_TAG,
	                                       MP_TAG_RENDERING_POSITION};
	struct mp_sobj *t = table_of(c, rop);
	const uint32_t *cols;
	size_t n;
	if (!t) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	if (t->tkind == MP_TABLE_HIERARCHY)
		cols = folder_cols, n = sizeof(folder_cols) / 4;
	else if (t->tkind == MP_TABLE_ATTACH)
		cols = attach_cols, n = sizeof(attach_cols) / 4;
	else
		cols = msg_cols, n = sizeof(msg_cols) / 4;
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), 0);
	mp_wb_u16(wb, (uint16_t)n);
	for (size_t i = 0; i < n; i++)
		mp_wb_u32(wb, cols[i]);
}

void mp_srv_rop_get_status(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	if (!table_of(c, rop)) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	status_ok(wb, rop);
}

/* Nothing runs asynchronously: RopAbort has nothing to stop. */
void mp_srv_rop_abort(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	if (!table_of(c, rop)) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	mp_srv_rsp_error(wb, rop, 0x80040114u); /* ecUnableToAbort */
}

void mp_srv_rop_reset_table(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *t = table_of(c, rop);
	if (!t) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	talloc_free(t->cols);
	talloc_free(t->res);
	t->cols = NULL;
	t->ncols = 0;
	t->res = NULL;
	t->res_len = 0;
	t->sort_tag = 0;
	t->sort_desc = false;
	t->pos = 0;
	t->nbookmarks = 0;
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), 0);
}

/* Bookmarks are 4-byte slot numbers of remembered positions. */
static bool bookmark_pos(struct mp_sobj *t, const struct mp_rop *rop, uint32_t *pos, uint32_t *slot)
{
	const struct mp_rop_val *bm = mp_rop_field(rop, "Bookmark");
	if (!bm || bm->n != 4)
		return false;
	uint32_t s = mp_get_u32(bm->bytes);
	if (s >= t->nbookmarks || t->bookmarks[s] == UINT32_MAX)
		return false;
	*slot = s;
	*pos = t->bookmarks[s];
	return true;
}

void mp_srv_rop_create_bookmark(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *t = table_of(c, rop);
	uint32_t slot;
	if (!t) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	for (slot = 0; slot < t->nbookmarks; slot++)
		if (t->bookmarks[slot] == UINT32_MAX)
			break;
	if (slot == MP_SRV_MAX_BOOKMARKS) {
		mp_srv_rsp_error(wb, rop, MP_EC_OOM);
		return;
	}
	if (slot == t->nbookmarks)
		t->nbookmarks++;
	t->bookmarks[slot] = t->pos;
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), 0);
	mp_wb_u16(wb, 4);
	mp_wb_u32(wb, slot);
}

void mp_srv_rop_free_bookmark(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *t = table_of(c, rop);
	uint32_t pos, slot;
	if (!t) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	if (!bookmark_pos(t, rop, &pos, &slot)) {
		mp_srv_rsp_error(wb, rop, MP_EC_INVALID_BOOKMARK);
		return;
	}
	t->bookmarks[slot] = UINT32_MAX;
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), 0);
}

void mp_srv_rop_seek_row_bookmark(struct mp_rop_ctx *c, const struct mp_rop *rop,
                                  struct mp_wbuf *wb)
{
	struct mp_sobj *t = table_of(c, rop);
	uint64_t *ids = NULL;
	size_t n = 0;
	uint32_t pos, slot;
	bool less;
	int32_t sought;
	if (!t) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	if (!bookmark_pos(t, rop, &pos, &slot)) {
		mp_srv_rsp_error(wb, rop, MP_EC_INVALID_BOOKMARK);
		return;
	}
	if (mp_srv_table_ids(c, t, &ids, &n) != MP_OK) {
		mp_srv_rsp_error(wb, rop, mp_srv_ec(c));
		return;
	}
	bool gone = pos > n;
	seek(t, n, pos > n ? (int64_t)n : pos, (int32_t)mp_srv_uint(rop, "RowCount"), &less,
	     &sought);
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), 0);
	mp_wb_u8(wb, gone);
	mp_wb_u8(wb, less);
	mp_wb_u32(wb, (uint32_t)sought);
}

void mp_srv_rop_find_row(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *t = table_of(c, rop);
	const struct mp_rop_val *res = mp_rop_field(rop, "RestrictionData");
	struct mp_restriction *r = NULL;
	uint64_t *ids = NULL;
	size_t n = 0;
	uint32_t bpos, slot;
	if (!t) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	if (!t->ncols) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	if (!res || !res->n || decode_res(c, res->bytes, res->n, &r) != MP_OK) {
		mp_srv_rsp_error(wb, rop, MP_EC_INVALID_PARAM);
		return;
	}
	if (mp_srv_table_ids(c, t, &ids, &n) != MP_OK) {
		mp_srv_rsp_error(wb, rop, mp_srv_ec(c));
		return;
	}
	uint8_t origin = (uint8_t)mp_srv_uint(rop, "Origin");
	bool backward = mp_srv_uint(rop, "FindRowFlags") & 0x01;
	int64_t start;
	if (origin == BOOKMARK_BEGINNING)
		start = 0;
	else if (origin == BOOKMARK_END)
		start = (int64_t)n;
	else if (origin == BOOKMARK_CURRENT)
		start = t->pos > n ? (int64_t)n : t->pos;
	else if (bookmark_pos(t, rop, &bpos, &slot))
		start = bpos > n ? (int64_t)n : bpos;
	else {
		mp_srv_rsp_error(wb, rop, MP_EC_INVALID_BOOKMARK);
		return;
	}
	int64_t i = backward ? start - 1 : start;
	for (; i >= 0 && i < (int64_t)n; i += backward ? -1 : 1) {
		struct mp_store_obj o = mp_srv_table_row_obj(t, ids[i]);
		if (eval(c, &o, r))
			break;
	}
	if (i < 0 || i >= (int64_t)n) {
		mp_srv_rsp_error(wb, rop, MP_EC_NOT_FOUND);
		return;
	}
	t->pos = (uint32_t)i;
	struct mp_store_obj o = mp_srv_table_row_obj(t, ids[i]);
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), 0);
	mp_wb_u8(wb, 0); /* RowNoLongerVisible */
	mp_wb_u8(wb, 1); /* HasRowData */
	mp_srv_write_row(c, &o, t->cols, t->ncols, wb);
}
