/*
 * The ROP engine: decodes, encodes and prints ROP buffers from the
 * descriptors of the family files (see rop.h for the design, rop_desc.h for
 * the descriptor language).
 */
#include "mapi/rop.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <talloc.h>

#include "mapi/names.h"
#include "mapi/restriction.h"
#include "mapi/rop_desc.h"
#include "util/status.h"

/* Layouts are short; the encoder keeps per-field offsets on the stack. */
#define MAX_FIELDS 48

/* ================================================================== */
/* Registry                                                           */
/* ================================================================== */

static const struct mp_rop_desc *const families[] = {
    mp_rop_family_store,      mp_rop_family_folder, mp_rop_family_table,  mp_rop_family_message,
    mp_rop_family_property,   mp_rop_family_stream, mp_rop_family_notify, mp_rop_family_fxics,
    mp_rop_family_permission, mp_rop_family_rule,   mp_rop_family_misc,
};

static const struct mp_rop_desc *by_id[256];
static pthread_once_t by_id_once = PTHREAD_ONCE_INIT;

static void build_index(void)
{
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		for (const struct mp_rop_desc *d = families[i]; d->name; d++)
			if (!by_id[d->id])
				by_id[d->id] = d;
}

const struct mp_rop_desc *mp_rop_desc_find(uint8_t id)
{
	pthread_once(&by_id_once, build_index);
	return by_id[id];
}

const char *mp_rop_id_name(uint8_t id)
{
	const struct mp_rop_desc *d = mp_rop_desc_find(id);
	return d ? d->name : mp_rop_name(id);
}

const char *mp_rop_get_name(const struct mp_rop *rop)
{
	const char *n = mp_rop_id_name(rop->id);
	return n ? n : "UnknownRop";
}

/* Layouts shared by the families. */
static const struct mp_rop_field rsp_hdr_in[] = {RS_HDR_IN};
static const struct mp_rop_field rsp_hdr_out[] = {RS_HDR_OUT};
static const struct mp_rop_field req_hdr[] = {RQ_HDR};
static const struct mp_rop_field req_hdr_out[] = {RQ_HDR_OUT};
const struct mp_rop_layout mp_rop_rsp_hdr_in = MP_LAYOUT(rsp_hdr_in);
const struct mp_rop_layout mp_rop_rsp_hdr_out = MP_LAYOUT(rsp_hdr_out);
const struct mp_rop_layout mp_rop_req_hdr = MP_LAYOUT(req_hdr);
const struct mp_rop_layout mp_rop_req_hdr_out = MP_LAYOUT(req_hdr_out);

/* ================================================================== */
/* Scopes and field lookup                                            */
/* ================================================================== */

static int field_index(const struct mp_rop_layout *l, const char *name)
{
	for (uint16_t i = 0; i < l->n; i++)
		if (strcmp(l->f[i].name, name) == 0)
			return i;
	return -1;
}

const struct mp_rop_val *mp_rop_scope_find(const struct mp_rop_scope *scope, const char *name)
{
	for (; scope; scope = scope->up) {
		int i = field_index(scope->vals->layout, name);
		if (i >= 0)
			return &scope->vals->v[i];
	}
	return NULL;
}

/* Search a decoded layout and its present optional parts, depth first. */
static const struct mp_rop_val *vals_find(const struct mp_rop_vals *vals, const char *name,
                                          const struct mp_rop_field **fp)
{
	if (!vals)
		return NULL;
	const struct mp_rop_layout *l = vals->layout;
	for (uint16_t i = 0; i < l->n; i++) {
		const struct mp_rop_field *f = &l->f[i];
		const struct mp_rop_val *v = &vals->v[i];
		if (strcmp(f->name, name) == 0 && f->kind != MP_RF_IF) {
			if (fp)
				*fp = f;
			return v;
		}
		if ((f->kind == MP_RF_IF && v->present) || f->kind == MP_RF_STRUCT ||
		    (f->kind == MP_RF_SIZED && v->p)) {
			const struct mp_rop_val *r = vals_find(v->p, name, fp);
			if (r)
				return r;
		}
	}
	return NULL;
}

const struct mp_rop_val *mp_rop_field(const struct mp_rop *rop, const char *name)
{
	return rop->opaque ? NULL : vals_find(rop->vals, name, NULL);
}

bool mp_rop_get_uint(const struct mp_rop *rop, const char *name, uint64_t *v)
{
	const struct mp_rop_field *f = NULL;
	const struct mp_rop_val *val = rop->opaque ? NULL : vals_find(rop->vals, name, &f);
	if (!val || f->kind > MP_RF_U64)
		return false;
	*v = val->u;
	return true;
}

static uint64_t width_max(uint8_t kind)
{
	switch (kind) {
	case MP_RF_U8:
		return 0xff;
	case MP_RF_U16:
		return 0xffff;
	case MP_RF_U32:
		return 0xffffffffu;
	default:
		return UINT64_MAX;
	}
}

int mp_rop_set_uint(struct mp_rop *rop, const char *name, uint64_t v)
{
	const struct mp_rop_field *f = NULL;
	struct mp_rop_val *val =
	    (struct mp_rop_val *)(rop->opaque ? NULL : vals_find(rop->vals, name, &f));
	if (!val || f->kind > MP_RF_U64)
		return MP_ERR_NOTFOUND;
	if (v > width_max(f->kind))
		return MP_ERR_LIMIT;
	val->u = v;
	return MP_OK;
}

/* The top-level field of `role` (and, for MP_RR_ECHO, any echo). */
static const struct mp_rop_val *role_val(const struct mp_rop *rop, uint8_t role)
{
	if (!rop || rop->opaque || !rop->vals)
		return NULL;
	const struct mp_rop_layout *l = rop->vals->layout;
	for (uint16_t i = 0; i < l->n; i++)
		if (l->f[i].role == role)
			return &rop->vals->v[i];
	return NULL;
}

static int role_int(const struct mp_rop *rop, uint8_t role)
{
	const struct mp_rop_val *v = role_val(rop, role);
	return v ? (int)v->u : -1;
}

int mp_rop_logon_id(const struct mp_rop *rop)
{
	return role_int(rop, MP_RR_LOGON);
}

int mp_rop_input_index(const struct mp_rop *rop)
{
	return role_int(rop, MP_RR_IN);
}

int mp_rop_output_index(const struct mp_rop *rop)
{
	return role_int(rop, MP_RR_OUT);
}

int mp_rop_dest_index(const struct mp_rop *rop)
{
	return role_int(rop, MP_RR_DEST);
}

int mp_rop_response_index(const struct mp_rop *rop)
{
	return role_int(rop, MP_RR_ECHO);
}

bool mp_rop_return_value(const struct mp_rop *rop, uint32_t *rv)
{
	const struct mp_rop_val *v = role_val(rop, MP_RR_RET);
	if (!v)
		return false;
	*rv = (uint32_t)v->u;
	return true;
}

bool mp_rop_bytes(const struct mp_rop *rop, const uint8_t **bytes, size_t *len, size_t *off)
{
	if (!rop->raw)
		return false;
	*bytes = rop->raw;
	*len = rop->raw_len;
	if (off)
		*off = rop->off;
	return true;
}

/* ================================================================== */
/* Hooks shared by the families                                       */
/* ================================================================== */

bool mp_rop_req_tags(const struct mp_rop_dctx *ctx, const char *name, const uint32_t **tags,
                     uint32_t *n)
{
	const struct mp_rop_field *f = NULL;
	const struct mp_rop_val *v;
	if (!ctx->req || ctx->req->opaque)
		return false;
	v = vals_find(ctx->req->vals, name, &f);
	if (!v || f->kind != MP_RF_TAGS)
		return false;
	*tags = v->p;
	*n = (uint32_t)v->n;
	return true;
}

bool mp_rop_cols_req_tags(const struct mp_rop_dctx *ctx, const uint32_t **tags, uint32_t *n)
{
	return mp_rop_req_tags(ctx, "PropertyTags", tags, n);
}

static bool find_in_buf(const struct mp_rop_buf *buf, const struct mp_rop *rop, size_t *pos)
{
	for (size_t i = 0; buf && i < buf->count; i++) {
		if (buf->rops[i] == rop) {
			*pos = i;
			return true;
		}
	}
	return false;
}

bool mp_rop_table_columns(const struct mp_rop_dctx *ctx, const uint32_t **tags, uint32_t *n)
{
	const struct mp_rop *req = ctx->req;
	size_t pos;
	int idx = mp_rop_input_index(req);
	if (idx < 0 || !find_in_buf(ctx->req_buf, req, &pos))
		return false;
	/* The latest event on this handle index earlier in the request. */
	for (size_t j = pos; j-- > 0;) {
		const struct mp_rop *r = ctx->req_buf->rops[j];
		if (r->opaque)
			continue;
		if (r->id == 0x12 && mp_rop_input_index(r) == idx) {
			const struct mp_rop_val *v = mp_rop_field(r, "PropertyTags");
			if (!v)
				return false;
			*tags = v->p;
			*n = (uint32_t)v->n;
			return true;
		}
		/* A new object at this index, or a release: no columns known. */
		if (mp_rop_output_index(r) == idx ||
		    (r->id == MP_ROPID_RELEASE && mp_rop_input_index(r) == idx))
			return false;
	}
	if ((size_t)idx >= ctx->req_buf->n_handles)
		return false;
	return mp_rop_session_columns(ctx->sess, ctx->req_buf->handles[idx], tags, n);
}

bool mp_rop_cols_table(const struct mp_rop_dctx *ctx, const uint32_t **tags, uint32_t *n)
{
	return mp_rop_table_columns(ctx, tags, n);
}

int mp_rop_logon_flags_of(const struct mp_rop_dctx *ctx, uint8_t logon_id)
{
	const struct mp_rop_buf *buf = ctx->req_buf ? ctx->req_buf : ctx->buf;
	size_t end = buf ? buf->count : 0;
	size_t pos;
	if (ctx->req_buf && ctx->req && find_in_buf(ctx->req_buf, ctx->req, &pos))
		end = pos;
	else if (!ctx->req_buf)
		end = ctx->index;
	for (size_t j = end; j-- > 0;) {
		const struct mp_rop *r = buf->rops[j];
		uint64_t flags;
		if (r->id == MP_ROPID_LOGON && !r->opaque && mp_rop_logon_id(r) == logon_id &&
		    mp_rop_get_uint(r, "LogonFlags", &flags))
			return (int)flags;
	}
	return mp_rop_session_logon_flags(ctx->sess, logon_id);
}

/* ================================================================== */
/* Decoding                                                           */
/* ================================================================== */

static int fail(struct mp_rop_dctx *ctx, int st, const char *why)
{
	if (!ctx->why)
		ctx->why = why;
	return st;
}

static struct mp_rop_vals *vals_new(void *mem, const struct mp_rop_layout *l)
{
	struct mp_rop_vals *v =
	    talloc_zero_size(mem, sizeof(*v) + (size_t)l->n * sizeof(struct mp_rop_val));
	if (v)
		v->layout = l;
	return v;
}

static int decode_layout(struct mp_rop_dctx *ctx, const struct mp_rop_layout *l,
                         struct mp_rop_vals **out);

static bool ref_value(struct mp_rop_dctx *ctx, const struct mp_rop_field *f, uint64_t *v)
{
	const struct mp_rop_val *r = f->ref ? mp_rop_scope_find(ctx->scope, f->ref) : NULL;
	if (!r)
		return false;
	*v = r->u;
	return true;
}

static int cond_holds(struct mp_rop_dctx *ctx, const struct mp_rop_field *f, bool *holds)
{
	uint64_t v;
	if (f->cond == MP_IF_TEST) {
		bool known = true;
		*holds = f->test(ctx, &known);
		return known ? MP_OK : fail(ctx, MP_ERR_PROTO, "state needed to decode is unknown");
	}
	if (!ref_value(ctx, f, &v))
		return fail(ctx, MP_ERR_PROTO, "descriptor: unknown reference");
	switch (f->cond) {
	case MP_IF_EQ:
		*holds = v == f->arg;
		break;
	case MP_IF_NE:
		*holds = v != f->arg;
		break;
	case MP_IF_SET:
		*holds = (v & f->arg) != 0;
		break;
	default:
		*holds = (v & f->arg) == 0;
		break;
	}
	return MP_OK;
}

static int decode_rows(struct mp_rop_dctx *ctx, const struct mp_rop_field *f, struct mp_rop_val *v)
{
	uint64_t count = 1;
	const uint32_t *cols = NULL;
	uint32_t ncols = 0;
	struct mp_rop_rows *rows;

	if (f->kind == MP_RF_ROWS && !ref_value(ctx, f, &count))
		return fail(ctx, MP_ERR_PROTO, "descriptor: unknown reference");
	if (!f->columns || !f->columns(ctx, &cols, &ncols))
		return fail(ctx, MP_ERR_PROTO, "columns of the rows are unknown");
	/* Each row takes at least its flag byte. */
	if (count > mp_rc_left(ctx->rd.rc))
		return fail(ctx, MP_ERR_PARSE, "row count larger than the buffer");
	/* Columns come from state, not from this buffer, and some take no
	 * bytes (PtypNull): bound the values a buffer may make us allocate. */
	if (ctx->row_budget) {
		uint64_t cost = count * (uint64_t)ncols;
		if (cost > *ctx->row_budget)
			return fail(ctx, MP_ERR_LIMIT, "more row values than the buffer can hold");
		*ctx->row_budget -= (size_t)cost;
	}
	rows = talloc_zero(ctx->rd.mem, struct mp_rop_rows);
	if (!rows)
		return MP_ERR_NOMEM;
	rows->ncols = ncols;
	rows->cols = cols;
	rows->count = (uint32_t)count;
	if (count) {
		rows->rows = talloc_zero_array(rows, struct mp_prop_row, (uint32_t)count);
		if (!rows->rows)
			return MP_ERR_NOMEM;
	}
	for (uint32_t i = 0; i < count; i++) {
		int st = mp_prop_row_read(&ctx->rd, cols, ncols, &rows->rows[i]);
		if (st != MP_OK)
			return fail(ctx, st, "malformed property row");
	}
	v->p = rows;
	v->n = (size_t)count;
	return MP_OK;
}

static int decode_array(struct mp_rop_dctx *ctx, const struct mp_rop_field *f, struct mp_rop_val *v)
{
	struct mp_rcursor *rc = ctx->rd.rc;
	uint64_t count = 0;
	bool until_end = f->ref == NULL;
	size_t cap;
	struct mp_rop_vals **elems = NULL;

	if (!until_end) {
		if (!ref_value(ctx, f, &count))
			return fail(ctx, MP_ERR_PROTO, "descriptor: unknown reference");
		/* Every element takes at least one byte. */
		if (count > mp_rc_left(rc))
			return fail(ctx, MP_ERR_PARSE, "element count larger than the buffer");
	}
	cap = until_end ? 4 : (size_t)count;
	if (cap) {
		elems = talloc_zero_array(ctx->rd.mem, struct mp_rop_vals *, cap);
		if (!elems)
			return MP_ERR_NOMEM;
	}
	size_t i = 0;
	while (until_end ? mp_rc_left(rc) > 0 : i < count) {
		size_t before = rc->off;
		if (i == cap) {
			cap *= 2;
			elems = talloc_realloc(ctx->rd.mem, elems, struct mp_rop_vals *, cap);
			if (!elems)
				return MP_ERR_NOMEM;
		}
		int st = decode_layout(ctx, f->sub, &elems[i]);
		if (st != MP_OK)
			return st;
		if (rc->off == before)
			return fail(ctx, MP_ERR_PARSE, "empty element");
		i++;
	}
	v->p = elems;
	v->n = i;
	v->u = i;
	return MP_OK;
}

/* Decode `f`'s contents inside a window of `size` bytes; keep the window
 * as bytes when they cannot be decoded exactly. */
static int decode_window(struct mp_rop_dctx *ctx, const struct mp_rop_field *f,
                         struct mp_rop_val *v, uint64_t size)
{
	const uint8_t *w = mp_rc_take(ctx->rd.rc, (size_t)size);
	if (size > SIZE_MAX || !w)
		return fail(ctx, MP_ERR_PARSE, "sized part runs past the end");
	v->bytes = w;
	v->n = (size_t)size;
	v->present = size != 0;

	struct mp_rcursor sub;
	mp_rc_init(&sub, w, (size_t)size);
	struct mp_rcursor *outer = ctx->rd.rc;
	const char *why = ctx->why;
	ctx->rd.rc = &sub;
	int st;
	void *p = NULL;
	if (f->kind == MP_RF_RES) {
		struct mp_restriction *r = talloc_zero(ctx->rd.mem, struct mp_restriction);
		st = r ? mp_restriction_read(&ctx->rd, r) : MP_ERR_NOMEM;
		p = r;
	} else {
		struct mp_rop_vals *vals = NULL;
		st = decode_layout(ctx, f->sub, &vals);
		p = vals;
	}
	ctx->rd.rc = outer;
	ctx->why = why; /* a failure inside the window is not the ROP's */
	if (st == MP_ERR_NOMEM)
		return st;
	v->p = (st == MP_OK && !sub.bad && mp_rc_left(&sub) == 0) ? p : NULL;
	return MP_OK;
}

static int decode_field(struct mp_rop_dctx *ctx, const struct mp_rop_field *f, struct mp_rop_val *v)
{
	struct mp_rcursor *rc = ctx->rd.rc;
	uint64_t n = 0;
	size_t len = 0;
	bool holds;
	int st = MP_OK;

	switch (f->kind) {
	case MP_RF_U8:
		v->u = mp_rc_u8(rc);
		break;
	case MP_RF_U16:
		v->u = mp_rc_u16(rc);
		break;
	case MP_RF_U32:
		v->u = mp_rc_u32(rc);
		break;
	case MP_RF_U64:
		v->u = mp_pv_get_u64(rc);
		break;
	case MP_RF_FIXED:
		v->bytes = mp_rc_take(rc, (size_t)f->arg);
		v->n = (size_t)f->arg;
		break;
	case MP_RF_BYTES:
	case MP_RF_TAGS:
	case MP_RF_TPVS:
	case MP_RF_NAMES:
		if (!ref_value(ctx, f, &n))
			return fail(ctx, MP_ERR_PROTO, "descriptor: unknown reference");
		v->n = (size_t)n;
		if (f->kind == MP_RF_BYTES) {
			v->bytes = mp_rc_take(rc, (size_t)n);
		} else if (f->kind == MP_RF_TAGS) {
			uint32_t *t = NULL;
			st = mp_prop_tags_read(&ctx->rd, (uint32_t)n, &t);
			v->p = t;
		} else if (f->kind == MP_RF_TPVS) {
			struct mp_tagged_pv *t = NULL;
			st = mp_tagged_pvs_read(&ctx->rd, (uint32_t)n, &t);
			v->p = t;
		} else {
			/* A PropertyName takes at least Kind + GUID. */
			struct mp_prop_name *names = NULL;
			if (n * 17 > mp_rc_left(rc))
				return fail(ctx, MP_ERR_PARSE, "name count larger than the buffer");
			if (n) {
				names = talloc_zero_array(ctx->rd.mem, struct mp_prop_name,
				                          (uint32_t)n);
				if (!names)
					return MP_ERR_NOMEM;
			}
			for (uint64_t i = 0; i < n && st == MP_OK; i++)
				st = mp_prop_name_read(&ctx->rd, &names[i]);
			v->p = names;
		}
		if (st != MP_OK)
			return fail(ctx, st, "malformed property data");
		break;
	case MP_RF_STR8:
		v->bytes = mp_pv_take_str8(rc, &len);
		v->n = len;
		break;
	case MP_RF_STR16:
		v->bytes = mp_pv_take_str16(rc, &len);
		v->n = len;
		break;
	case MP_RF_ROW:
	case MP_RF_ROWS:
		return decode_rows(ctx, f, v);
	case MP_RF_ARRAY:
		return decode_array(ctx, f, v);
	case MP_RF_STRUCT:
	case MP_RF_IF: {
		struct mp_rop_vals *sub = NULL;
		holds = true;
		if (f->kind == MP_RF_IF) {
			st = cond_holds(ctx, f, &holds);
			if (st != MP_OK)
				return st;
		}
		v->present = holds;
		v->u = holds;
		if (!holds)
			break;
		st = decode_layout(ctx, f->sub, &sub);
		v->p = sub;
		return st;
	}
	case MP_RF_SIZED:
	case MP_RF_RES:
		if (!ref_value(ctx, f, &n))
			return fail(ctx, MP_ERR_PROTO, "descriptor: unknown reference");
		return decode_window(ctx, f, v, n);
	case MP_RF_REST:
		v->n = mp_rc_left(rc);
		v->bytes = mp_rc_take(rc, v->n);
		break;
	case MP_RF_CUSTOM:
		st = f->custom->decode(ctx, v);
		if (st != MP_OK)
			return fail(ctx, st, "malformed field");
		break;
	default:
		return fail(ctx, MP_ERR_PROTO, "descriptor: unknown field kind");
	}
	if (rc->bad)
		return fail(ctx, MP_ERR_PARSE, "truncated");
	return MP_OK;
}

static int decode_layout(struct mp_rop_dctx *ctx, const struct mp_rop_layout *l,
                         struct mp_rop_vals **out)
{
	struct mp_rop_vals *vals = vals_new(ctx->rd.mem, l);
	if (!vals)
		return MP_ERR_NOMEM;
	*out = vals;
	struct mp_rop_scope sc = {.vals = vals, .up = ctx->scope};
	const struct mp_rop_scope *saved = ctx->scope;
	int st = MP_OK;

	if (ctx->rd.depth >= MP_PV_MAX_DEPTH)
		return fail(ctx, MP_ERR_LIMIT, "nesting too deep");
	ctx->rd.depth++;
	ctx->scope = &sc;
	for (uint16_t i = 0; i < l->n && st == MP_OK; i++)
		st = decode_field(ctx, &l->f[i], &vals->v[i]);
	ctx->scope = saved;
	ctx->rd.depth--;
	return st;
}

/* ================================================================== */
/* Encoding                                                           */
/* ================================================================== */

struct enc_scope {
	const struct mp_rop_vals *vals;
	size_t off[MAX_FIELDS]; /* where each field started */
	bool written[MAX_FIELDS];
	bool patched[MAX_FIELDS];
	const struct enc_scope *up;
};

static int encode_layout(struct mp_wbuf *wb, const struct mp_rop_vals *vals,
                         const struct enc_scope *up);

/* Rewrite the count/size field `name` with `value` (see rop.h). */
static int patch(struct mp_wbuf *wb, const struct enc_scope *es, const char *name, uint64_t value)
{
	for (; es; es = es->up) {
		const struct mp_rop_layout *l = es->vals->layout;
		int i = field_index(l, name);
		if (i < 0)
			continue;
		struct enc_scope *m = (struct enc_scope *)es;
		const struct mp_rop_field *f = &l->f[i];
		if (!es->written[i] || f->kind > MP_RF_U64 || value > width_max(f->kind))
			return MP_ERR_PARSE;
		if (m->patched[i]) {
			/* Two lists sharing one count must agree. */
			uint64_t prev = 0;
			const uint8_t *q = wb->data + es->off[i];
			for (int b = (f->kind == MP_RF_U8    ? 1
			              : f->kind == MP_RF_U16 ? 2
			              : f->kind == MP_RF_U32 ? 4
			                                     : 8);
			     b-- > 0;)
				prev = (prev << 8) | q[b];
			return prev == value ? MP_OK : MP_ERR_PARSE;
		}
		m->patched[i] = true;
		switch (f->kind) {
		case MP_RF_U8:
			wb->data[es->off[i]] = (uint8_t)value;
			break;
		case MP_RF_U16:
			mp_wb_put_u16_at(wb, es->off[i], (uint16_t)value);
			break;
		case MP_RF_U32:
			mp_wb_put_u32_at(wb, es->off[i], (uint32_t)value);
			break;
		default:
			mp_wb_put_u32_at(wb, es->off[i], (uint32_t)value);
			mp_wb_put_u32_at(wb, es->off[i] + 4, (uint32_t)(value >> 32));
			break;
		}
		return MP_OK;
	}
	return MP_ERR_PARSE;
}

static int check_str(const struct mp_rop_val *v, bool wide)
{
	if (!v->bytes || v->n == 0)
		return MP_ERR_PARSE;
	if (!wide)
		return v->bytes[v->n - 1] == 0 ? MP_OK : MP_ERR_PARSE;
	if (v->n % 2 || v->bytes[v->n - 1] || v->bytes[v->n - 2])
		return MP_ERR_PARSE;
	return MP_OK;
}

static int encode_field(struct mp_wbuf *wb, const struct mp_rop_field *f,
                        const struct mp_rop_val *v, const struct enc_scope *es)
{
	int st = MP_OK;
	size_t start = wb->len;

	switch (f->kind) {
	case MP_RF_U8:
	case MP_RF_U16:
	case MP_RF_U32:
	case MP_RF_U64:
		if (v->u > width_max(f->kind))
			return MP_ERR_PARSE;
		if (f->kind == MP_RF_U8)
			mp_wb_u8(wb, (uint8_t)v->u);
		else if (f->kind == MP_RF_U16)
			mp_wb_u16(wb, (uint16_t)v->u);
		else if (f->kind == MP_RF_U32)
			mp_wb_u32(wb, (uint32_t)v->u);
		else
			mp_pv_put_u64(wb, v->u);
		return MP_OK;
	case MP_RF_FIXED:
		if (v->n != f->arg || !v->bytes)
			return MP_ERR_PARSE;
		mp_wb_bytes(wb, v->bytes, v->n);
		return MP_OK;
	case MP_RF_BYTES:
		if (v->n)
			mp_wb_bytes(wb, v->bytes, v->n);
		return patch(wb, es, f->ref, v->n);
	case MP_RF_STR8:
	case MP_RF_STR16:
		st = check_str(v, f->kind == MP_RF_STR16);
		if (st == MP_OK)
			mp_wb_bytes(wb, v->bytes, v->n);
		return st;
	case MP_RF_TAGS:
		mp_prop_tags_write(wb, v->p, (uint32_t)v->n);
		return patch(wb, es, f->ref, v->n);
	case MP_RF_TPVS:
		st = mp_tagged_pvs_write(wb, MP_PV_ROP, v->p, (uint32_t)v->n);
		return st == MP_OK ? patch(wb, es, f->ref, v->n) : st;
	case MP_RF_NAMES: {
		const struct mp_prop_name *names = v->p;
		for (size_t i = 0; i < v->n && st == MP_OK; i++)
			st = mp_prop_name_write(wb, &names[i]);
		return st == MP_OK ? patch(wb, es, f->ref, v->n) : st;
	}
	case MP_RF_ROW:
	case MP_RF_ROWS: {
		const struct mp_rop_rows *rows = v->p;
		if (!rows || (f->kind == MP_RF_ROW && rows->count != 1))
			return MP_ERR_PARSE;
		for (uint32_t i = 0; i < rows->count && st == MP_OK; i++)
			st = mp_prop_row_write(wb, MP_PV_ROP, &rows->rows[i]);
		if (st == MP_OK && f->kind == MP_RF_ROWS)
			st = patch(wb, es, f->ref, rows->count);
		return st;
	}
	case MP_RF_ARRAY: {
		struct mp_rop_vals *const *elems = v->p;
		for (size_t i = 0; i < v->n && st == MP_OK; i++)
			st = encode_layout(wb, elems[i], es);
		if (st == MP_OK && f->ref)
			st = patch(wb, es, f->ref, v->n);
		return st;
	}
	case MP_RF_STRUCT:
		return encode_layout(wb, v->p, es);
	case MP_RF_IF:
		return v->present ? encode_layout(wb, v->p, es) : MP_OK;
	case MP_RF_SIZED:
	case MP_RF_RES:
		if (v->p && f->kind == MP_RF_SIZED)
			st = encode_layout(wb, v->p, es);
		else if (v->p)
			st = mp_restriction_write(wb, MP_PV_ROP, v->p);
		else if (v->n)
			mp_wb_bytes(wb, v->bytes, v->n);
		if (st != MP_OK || wb->bad)
			return st != MP_OK ? st : MP_ERR_NOMEM;
		return patch(wb, es, f->ref, wb->len - start);
	case MP_RF_REST:
		if (v->n)
			mp_wb_bytes(wb, v->bytes, v->n);
		return MP_OK;
	case MP_RF_CUSTOM:
		return f->custom->encode(wb, v);
	default:
		return MP_ERR_PARSE;
	}
}

static int encode_layout(struct mp_wbuf *wb, const struct mp_rop_vals *vals,
                         const struct enc_scope *up)
{
	if (!vals)
		return MP_ERR_PARSE;
	const struct mp_rop_layout *l = vals->layout;
	struct enc_scope es = {.vals = vals, .up = up};
	if (l->n > MAX_FIELDS)
		return MP_ERR_PARSE;
	for (uint16_t i = 0; i < l->n; i++) {
		es.off[i] = wb->len;
		int st = encode_field(wb, &l->f[i], &vals->v[i], &es);
		if (st != MP_OK)
			return st;
		if (wb->bad)
			return MP_ERR_NOMEM;
		es.written[i] = true;
	}
	return MP_OK;
}

int mp_rop_encode(const struct mp_rop *rop, struct mp_wbuf *out)
{
	if (rop->opaque) {
		if (rop->raw_len)
			mp_wb_bytes(out, rop->raw, rop->raw_len);
		return out->bad ? MP_ERR_NOMEM : MP_OK;
	}
	size_t start = out->len;
	mp_wb_u8(out, rop->id);
	int st = encode_layout(out, rop->vals, NULL);
	if (st == MP_OK && out->bad)
		st = MP_ERR_NOMEM;
	if (st != MP_OK && !out->bad)
		out->len = start;
	return st;
}

int mp_rop_buf_encode(const struct mp_rop_buf *buf, struct mp_wbuf *out)
{
	size_t start = out->len;
	mp_wb_u16(out, 0); /* RopSize, patched below */
	for (size_t i = 0; i < buf->count; i++) {
		int st = mp_rop_encode(buf->rops[i], out);
		if (st != MP_OK)
			return st;
	}
	if (out->bad)
		return MP_ERR_NOMEM;
	size_t size = out->len - start;
	if (size > 0xffff)
		return MP_ERR_LIMIT;
	mp_wb_put_u16_at(out, start, (uint16_t)size);
	for (size_t i = 0; i < buf->n_handles; i++)
		mp_wb_u32(out, buf->handles[i]);
	if (buf->tail_len)
		mp_wb_bytes(out, buf->tail, buf->tail_len);
	return out->bad ? MP_ERR_NOMEM : MP_OK;
}

/* ================================================================== */
/* Printing                                                           */
/* ================================================================== */

static const char *names_lookup(const struct mp_flag_name *names, uint64_t v)
{
	for (; names && names->name; names++)
		if (names->mask == v)
			return names->name;
	return NULL;
}

static void print_layout(struct mp_printer *p, const struct mp_rop_vals *vals);

static void print_int(struct mp_printer *p, const struct mp_rop_field *f, uint64_t u)
{
	int digits = f->kind == MP_RF_U8    ? 2
	             : f->kind == MP_RF_U16 ? 4
	             : f->kind == MP_RF_U32 ? 8
	                                    : 16;
	switch (f->fmt) {
	case MP_FMT_HEX:
		mp_pr_hex(p, f->name, u, digits);
		break;
	case MP_FMT_BOOL:
		if (u <= 1)
			mp_pr_bool(p, f->name, u != 0);
		else
			mp_pr_uint(p, f->name, u);
		break;
	case MP_FMT_ERR:
		mp_pr_enum(p, f->name, u, 8, mp_error_name((uint32_t)u));
		break;
	case MP_FMT_TAG:
		mp_prop_tag_print(p, f->name, (uint32_t)u);
		break;
	case MP_FMT_ID: {
		/* Folder and message ids as the specs write them: ReplId, then
		 * the 6-byte GlobalCounter in its (big-endian) byte order. */
		char s[24];
		unsigned long long counter = 0;
		for (int i = 2; i < 8; i++)
			counter = (counter << 8) | ((u >> (8 * i)) & 0xff);
		snprintf(s, sizeof(s), "%04X-%012llX", (unsigned)(u & 0xffff), counter);
		mp_pr_enum(p, f->name, u, 16, s);
		break;
	}
	case MP_FMT_TIME:
		mp_pr_filetime(p, f->name, u);
		break;
	case MP_FMT_ENUM:
		mp_pr_enum(p, f->name, u, digits, names_lookup(f->names, u));
		break;
	case MP_FMT_FLAGS:
		mp_pr_flags(p, f->name, u, digits, f->names);
		break;
	case MP_FMT_SINT:
		if (f->kind == MP_RF_U8)
			mp_pr_int(p, f->name, (int8_t)u);
		else if (f->kind == MP_RF_U16)
			mp_pr_int(p, f->name, (int16_t)u);
		else if (f->kind == MP_RF_U32)
			mp_pr_int(p, f->name, (int32_t)u);
		else
			mp_pr_int(p, f->name, (int64_t)u);
		break;
	case MP_FMT_SECRET:
		mp_pr_secret(p, f->name, (size_t)digits / 2);
		break;
	default:
		mp_pr_uint(p, f->name, u);
		break;
	}
}

static void print_bytes(struct mp_printer *p, const struct mp_rop_field *f, const uint8_t *b,
                        size_t n)
{
	static const uint8_t empty[1];
	if (!b)
		b = empty;
	switch (f->fmt) {
	case MP_FMT_GUID:
		if (n == 16) {
			mp_pr_guid(p, f->name, b);
			return;
		}
		break;
	case MP_FMT_STR:
		/* Drop a terminating NUL for display. */
		mp_pr_strn(p, f->name, (const char *)b, n && !b[n - 1] ? n - 1 : n);
		return;
	case MP_FMT_UTF16:
		if (n >= 2 && !b[n - 1] && !b[n - 2])
			n -= 2;
		mp_pr_utf16(p, f->name, b, n & ~(size_t)1);
		return;
	case MP_FMT_SECRET:
		mp_pr_secret(p, f->name, n);
		return;
	}
	mp_pr_bytes(p, f->name, b, n);
}

static void print_field(struct mp_printer *p, const struct mp_rop_field *f,
                        const struct mp_rop_val *v)
{
	switch (f->kind) {
	case MP_RF_U8:
	case MP_RF_U16:
	case MP_RF_U32:
	case MP_RF_U64:
		print_int(p, f, v->u);
		break;
	case MP_RF_FIXED:
	case MP_RF_BYTES:
	case MP_RF_REST:
		print_bytes(p, f, v->bytes, v->n);
		break;
	case MP_RF_STR8:
		mp_pr_strn(p, f->name, v->bytes ? (const char *)v->bytes : "", v->n ? v->n - 1 : 0);
		break;
	case MP_RF_STR16:
		mp_pr_utf16(p, f->name, v->bytes ? v->bytes : (const uint8_t *)"",
		            v->n >= 2 ? v->n - 2 : 0);
		break;
	case MP_RF_TAGS:
		mp_prop_tags_print(p, f->name, v->p, (uint32_t)v->n);
		break;
	case MP_RF_TPVS:
		mp_tagged_pvs_print(p, f->name, v->p, (uint32_t)v->n);
		break;
	case MP_RF_NAMES: {
		const struct mp_prop_name *names = v->p;
		mp_pr_begin_array(p, f->name, v->n);
		for (size_t i = 0; i < v->n; i++)
			mp_prop_name_print(p, NULL, &names[i]);
		mp_pr_end_array(p);
		break;
	}
	case MP_RF_ROW:
	case MP_RF_ROWS: {
		const struct mp_rop_rows *rows = v->p;
		if (!rows)
			break;
		if (f->kind == MP_RF_ROW) {
			mp_prop_row_print(p, f->name, rows->cols, &rows->rows[0]);
			break;
		}
		mp_pr_begin_array(p, f->name, rows->count);
		for (uint32_t i = 0; i < rows->count; i++)
			mp_prop_row_print(p, NULL, rows->cols, &rows->rows[i]);
		mp_pr_end_array(p);
		break;
	}
	case MP_RF_ARRAY: {
		struct mp_rop_vals *const *elems = v->p;
		mp_pr_begin_array(p, f->name, v->n);
		for (size_t i = 0; i < v->n; i++) {
			const struct mp_rop_layout *sl = elems[i]->layout;
			/* A one-field element prints as that field's value. */
			if (sl->n == 1 && sl->f[0].kind <= MP_RF_STR16) {
				struct mp_rop_field one = sl->f[0];
				one.name = NULL;
				print_field(p, &one, &elems[i]->v[0]);
				continue;
			}
			mp_pr_begin(p, NULL);
			print_layout(p, elems[i]);
			mp_pr_end(p);
		}
		mp_pr_end_array(p);
		break;
	}
	case MP_RF_STRUCT:
		mp_pr_begin(p, f->name);
		print_layout(p, v->p);
		mp_pr_end(p);
		break;
	case MP_RF_IF:
		/* Optional parts print inline, as if they were plain fields. */
		if (v->present)
			print_layout(p, v->p);
		break;
	case MP_RF_SIZED:
		if (v->p)
			print_layout(p, v->p);
		else if (v->n)
			mp_pr_bytes(p, f->name, v->bytes, v->n);
		break;
	case MP_RF_RES:
		if (v->p)
			mp_restriction_print(p, f->name, v->p);
		else if (v->n)
			mp_pr_bytes(p, f->name, v->bytes, v->n);
		break;
	case MP_RF_CUSTOM:
		f->custom->print(p, f->name, v);
		break;
	}
}

static void print_layout(struct mp_printer *p, const struct mp_rop_vals *vals)
{
	if (!vals)
		return;
	for (uint16_t i = 0; i < vals->layout->n; i++)
		print_field(p, &vals->layout->f[i], &vals->v[i]);
}

void mp_rop_print(struct mp_printer *p, const char *name, const struct mp_rop *rop)
{
	mp_pr_begin(p, name);
	mp_pr_enum(p, "RopId", rop->id, 2, mp_rop_id_name(rop->id));
	if (rop->opaque) {
		mp_pr_str(p, "Undecoded", rop->why ? rop->why : "unknown");
		mp_pr_bytes(p, "Bytes", rop->raw, rop->raw_len);
	} else {
		print_layout(p, rop->vals);
	}
	mp_pr_end(p);
}

void mp_rop_buf_print(struct mp_printer *p, const char *name, const struct mp_rop_buf *buf)
{
	mp_pr_begin(p, name);
	mp_pr_uint(p, "RopSize", buf->rop_size);
	mp_pr_begin_array(p, "RopsList", buf->count);
	for (size_t i = 0; i < buf->count; i++)
		mp_rop_print(p, NULL, buf->rops[i]);
	mp_pr_end_array(p);
	mp_pr_begin_array(p, "ServerObjectHandleTable", buf->n_handles);
	for (size_t i = 0; i < buf->n_handles; i++)
		mp_pr_hex(p, NULL, buf->handles[i], 8);
	mp_pr_end_array(p);
	if (buf->tail_len)
		mp_pr_bytes(p, "Trailing", buf->tail, buf->tail_len);
	mp_pr_end(p);
}

/* ================================================================== */
/* Buffers                                                            */
/* ================================================================== */

struct mp_rop_buf *mp_rop_buf_new(void *mem, bool response)
{
	struct mp_rop_buf *buf = talloc_zero(mem, struct mp_rop_buf);
	if (buf)
		buf->response = response;
	return buf;
}

int mp_rop_buf_add(struct mp_rop_buf *buf, struct mp_rop *rop)
{
	struct mp_rop **r = talloc_realloc(buf, buf->rops, struct mp_rop *, buf->count + 1);
	if (!r)
		return MP_ERR_NOMEM;
	r[buf->count++] = rop;
	buf->rops = r;
	return MP_OK;
}

int mp_rop_buf_set_handles(struct mp_rop_buf *buf, const uint32_t *handles, size_t n)
{
	uint32_t *h = NULL;
	if (n) {
		h = talloc_memdup(buf, handles, n * sizeof(*h));
		if (!h)
			return MP_ERR_NOMEM;
	}
	talloc_free(buf->handles);
	buf->handles = h;
	buf->n_handles = n;
	return MP_OK;
}

struct mp_rop *mp_rop_new_raw(void *mem, bool response, const uint8_t *bytes, size_t len)
{
	if (!len)
		return NULL;
	struct mp_rop *rop = talloc_zero(mem, struct mp_rop);
	uint8_t *copy = rop ? talloc_memdup(rop, bytes, len) : NULL;
	if (!copy) {
		talloc_free(rop);
		return NULL;
	}
	rop->id = copy[0];
	rop->response = response;
	rop->opaque = true;
	rop->why = "built from bytes";
	rop->desc = mp_rop_desc_find(rop->id);
	rop->raw = copy;
	rop->raw_len = len;
	return rop;
}

static bool ids_match(uint8_t req_id, uint8_t rsp_id)
{
	/* RopGetMessageStatus is answered with RopId 0x20 (MS-OXCROPS 2.2.6.9.2). */
	return req_id == rsp_id ||
	       (req_id == MP_ROPID_GETMESSAGESTATUS && rsp_id == MP_ROPID_SETMESSAGESTATUS);
}

static int echoed_index(const struct mp_rop *req, const struct mp_rop_desc *d)
{
	if (!d->rsp || d->rsp->n == 0 || d->rsp->f[0].role != MP_RR_ECHO)
		return -1;
	return role_int(req, (uint8_t)d->rsp->f[0].arg);
}

/* The request a response answers: the next unanswered request with the
 * same RopId (and the handle index the response echoes), searching on
 * from the last match and then from the start (packed buffers repeat a
 * ROP's responses). */
static const struct mp_rop *match_request(const struct mp_rop_buf *req_buf, size_t *cursor,
                                          const struct mp_rop_desc *d, uint8_t rsp_id,
                                          int rsp_index)
{
	if (!req_buf)
		return NULL;
	for (int pass = 0; pass < 4; pass++) {
		size_t from = pass < 2 ? *cursor : 0;
		size_t to = pass < 2 ? req_buf->count : *cursor;
		bool want_index = (pass % 2) == 0 && rsp_index >= 0;
		for (size_t j = from; j < to; j++) {
			const struct mp_rop *r = req_buf->rops[j];
			if (!ids_match(r->id, rsp_id) || r->id == MP_ROPID_RELEASE)
				continue;
			if (want_index && echoed_index(r, d) != rsp_index)
				continue;
			*cursor = j + 1;
			return r;
		}
	}
	return NULL;
}

static int append_rop(struct mp_rop_buf *buf, struct mp_rop *rop)
{
	return mp_rop_buf_add(buf, rop);
}

/* Keep everything from `start` to the end of RopsList as one opaque ROP. */
static int opaque_tail(struct mp_rop_buf *buf, const uint8_t *list, size_t start, size_t end,
                       const char *why)
{
	struct mp_rop *rop = talloc_zero(buf, struct mp_rop);
	if (!rop)
		return MP_ERR_NOMEM;
	rop->id = list[start];
	rop->response = buf->response;
	rop->opaque = true;
	rop->why = why;
	rop->desc = mp_rop_desc_find(rop->id);
	rop->off = start;
	rop->raw = list + start;
	rop->raw_len = end - start;
	return append_rop(buf, rop);
}

int mp_rop_buf_decode(void *mem, const uint8_t *data, size_t len, bool response,
                      const struct mp_rop_buf *req, struct mp_rop_session *sess,
                      struct mp_rop_buf **out)
{
	*out = NULL;
	if (len < 2)
		return MP_ERR_PARSE;
	uint16_t rop_size = mp_get_u16(data);
	if (rop_size < 2 || rop_size > len)
		return MP_ERR_PARSE;

	struct mp_rop_buf *buf = mp_rop_buf_new(mem, response);
	uint8_t *copy = buf ? talloc_memdup(buf, data, len) : NULL;
	if (!copy) {
		talloc_free(buf);
		return MP_ERR_NOMEM;
	}
	buf->data = copy;
	buf->len = len;
	buf->rop_size = rop_size;

	/* The handle table first: hooks may need it while decoding ROPs. */
	size_t hlen = len - rop_size;
	buf->n_handles = hlen / 4;
	if (buf->n_handles) {
		buf->handles = talloc_array(buf, uint32_t, buf->n_handles);
		if (!buf->handles) {
			talloc_free(buf);
			return MP_ERR_NOMEM;
		}
		for (size_t i = 0; i < buf->n_handles; i++)
			buf->handles[i] = mp_get_u32(copy + rop_size + 4 * i);
	}
	buf->tail_len = hlen % 4;
	buf->tail = buf->tail_len ? copy + len - buf->tail_len : NULL;

	struct mp_rcursor rc;
	mp_rc_init(&rc, copy, rop_size);
	mp_rc_skip(&rc, 2);
	size_t cursor = 0;
	int st = MP_OK;
	/* Legitimate rows hold at most one value per byte, apart from PtypNull
	 * columns; this allows four per byte. */
	size_t row_budget = 4 * (size_t)rop_size + 1024;

	while (st == MP_OK && mp_rc_left(&rc) > 0) {
		size_t start = rc.off;
		uint8_t id = copy[start];
		const struct mp_rop_desc *d = mp_rop_desc_find(id);
		const struct mp_rop_layout *l = d ? (response ? d->rsp : d->req) : NULL;
		if (!l) {
			st = opaque_tail(buf, copy, start, rop_size,
			                 d ? "ROP not described in this direction"
			                   : "unknown RopId");
			break;
		}
		struct mp_rop *rop = talloc_zero(buf, struct mp_rop);
		if (!rop) {
			st = MP_ERR_NOMEM;
			break;
		}
		rop->id = id;
		rop->response = response;
		rop->desc = d;
		rop->off = start;

		struct mp_rop_dctx ctx = {
		    .rd = {.rc = &rc, .mem = rop, .ctx = MP_PV_ROP},
		    .sess = sess,
		    .buf = buf,
		    .index = buf->count,
		    .req_buf = response ? req : NULL,
		    .row_budget = &row_budget,
		};
		if (response && !(d->flags & MP_ROPD_UNSOLICITED)) {
			int idx = (rop_size - start > 1 && l->n && l->f[0].role == MP_RR_ECHO)
			              ? copy[start + 1]
			              : -1;
			ctx.req = match_request(req, &cursor, d, id, idx);
			rop->req = ctx.req;
		}
		mp_rc_skip(&rc, 1);
		int dst = decode_layout(&ctx, l, &rop->vals);
		if (dst == MP_ERR_NOMEM) {
			st = dst;
			break;
		}
		if (dst != MP_OK) {
			talloc_free(rop);
			rc.bad = false;
			st = opaque_tail(buf, copy, start, rop_size,
			                 ctx.why ? ctx.why : "malformed");
			break;
		}
		rop->raw = copy + start;
		rop->raw_len = rc.off - start;
		st = append_rop(buf, rop);
	}
	if (st != MP_OK) {
		talloc_free(buf);
		return st;
	}
	*out = buf;
	return MP_OK;
}
