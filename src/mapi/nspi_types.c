/*
 * NDR20 codecs and printers of the NSPI structures (see nspi_types.h for
 * the wire rules and the C representation).
 */
#include "mapi/nspi_types.h"

#include <string.h>
#include <talloc.h>

#include "mapi/names.h"

const struct mp_nspi_flatuid mp_nspi_guid_nspi = {
	/* {C840A7DC-42C0-1A10-B4B9-08002B2FE182}, MS-OXNSPI 2.2.1.9 */
	.ab = { 0xDC, 0xA7, 0x40, 0xC8, 0xC0, 0x42, 0x10, 0x1A,
		0xB4, 0xB9, 0x08, 0x00, 0x2B, 0x2F, 0xE1, 0x82 },
};

/*
 * Between the scalars pass and the buffers pass of a structure, a non-NULL
 * unique pointer holds this marker: its referent has not been read yet.
 * The buffers pass replaces it. A failed pull is discarded as a whole, so
 * no caller ever sees a marker.
 */
static uint8_t pending_mark;
#define PENDING ((void *)&pending_mark)

static void *pull_ptr_mark(struct mp_ndr_pull *pull)
{
	return mp_ndr_pull_ptr(pull) ? PENDING : NULL;
}

/* An array of n elements of `size` bytes under pull->mem, zeroed; a
 * zero-length array is still a distinct non-NULL allocation. */
static void *pull_alloc(struct mp_ndr_pull *pull, size_t size, uint32_t n)
{
	if (!mp_ndr_pull_ok(pull))
		return NULL;
	void *p = talloc_zero_size(pull->mem, size * (n ? n : 1));
	if (!p)
		mp_ndr_pull_fail(pull, "out of memory");
	return p;
}

/* A count field with the IDL's [range(0, max)]. */
static uint32_t pull_ranged(struct mp_ndr_pull *pull, uint32_t max)
{
	uint32_t n = mp_ndr_pull_u32(pull);
	if (mp_ndr_pull_ok(pull) && n > max)
		mp_ndr_pull_fail(pull, "count outside the range the IDL allows");
	return n;
}

/* The conformance of an array whose size_is field holds `expect`. */
static void pull_conformance(struct mp_ndr_pull *pull, uint32_t expect, size_t elem)
{
	uint32_t n = mp_ndr_pull_count(pull, elem);
	if (mp_ndr_pull_ok(pull) && n != expect)
		mp_ndr_pull_fail(pull, "array size differs from its count field");
}

/* ------------------------------------------------------------------ */
/* Strings                                                             */
/* ------------------------------------------------------------------ */

static size_t utf16_units(const char *s)
{
	size_t n = 0;
	for (const unsigned char *u = (const unsigned char *)s; *u; u++) {
		if ((*u & 0xC0) != 0x80)
			n += (*u >= 0xF0) ? 2 : 1;
	}
	return n;
}

/* [string] char*: we keep no max count, so it must equal the length. */
static char *pull_str8(struct mp_ndr_pull *pull)
{
	uint32_t max = 0;
	char *s = mp_ndr_pull_string8(pull, &max);
	if (s && max != strlen(s) + 1)
		mp_ndr_pull_fail(pull, "string size differs from its length");
	return s;
}

static char *pull_str16(struct mp_ndr_pull *pull)
{
	uint32_t max = 0;
	char *s = mp_ndr_pull_string16(pull, &max);
	if (s && max != utf16_units(s) + 1)
		mp_ndr_pull_fail(pull, "string size differs from its length");
	return s;
}

static char *pull_str(struct mp_ndr_pull *pull, bool wide)
{
	return wide ? pull_str16(pull) : pull_str8(pull);
}

static void push_str(struct mp_ndr_push *push, const char *s, bool wide)
{
	if (wide)
		mp_ndr_push_string16(push, s, 0);
	else
		mp_ndr_push_string8(push, s, 0);
}

char *mp_nspi_pull_string8_ptr(struct mp_ndr_pull *pull)
{
	if (!mp_ndr_pull_ptr(pull))
		return NULL;
	return pull_str8(pull);
}

void mp_nspi_push_string8_ptr(struct mp_ndr_push *push, const char *s)
{
	mp_ndr_push_ptr(push, s != NULL);
	if (s)
		mp_ndr_push_string8(push, s, 0);
}

/* ------------------------------------------------------------------ */
/* STAT, FlatUID_r, PropertyTagArray_r                                 */
/* ------------------------------------------------------------------ */

void mp_nspi_pull_stat(struct mp_ndr_pull *pull, struct mp_nspi_stat *s)
{
	s->sort_type = mp_ndr_pull_u32(pull);
	s->container_id = mp_ndr_pull_u32(pull);
	s->cur_rec = mp_ndr_pull_u32(pull);
	s->delta = (int32_t)mp_ndr_pull_u32(pull);
	s->num_pos = mp_ndr_pull_u32(pull);
	s->total_recs = mp_ndr_pull_u32(pull);
	s->code_page = mp_ndr_pull_u32(pull);
	s->template_locale = mp_ndr_pull_u32(pull);
	s->sort_locale = mp_ndr_pull_u32(pull);
}

void mp_nspi_push_stat(struct mp_ndr_push *push, const struct mp_nspi_stat *s)
{
	mp_ndr_push_u32(push, s->sort_type);
	mp_ndr_push_u32(push, s->container_id);
	mp_ndr_push_u32(push, s->cur_rec);
	mp_ndr_push_u32(push, (uint32_t)s->delta);
	mp_ndr_push_u32(push, s->num_pos);
	mp_ndr_push_u32(push, s->total_recs);
	mp_ndr_push_u32(push, s->code_page);
	mp_ndr_push_u32(push, s->template_locale);
	mp_ndr_push_u32(push, s->sort_locale);
}

void mp_nspi_pull_flatuid(struct mp_ndr_pull *pull, struct mp_nspi_flatuid *g)
{
	const uint8_t *p = mp_ndr_pull_bytes(pull, 16);
	if (p)
		memcpy(g->ab, p, 16);
}

void mp_nspi_push_flatuid(struct mp_ndr_push *push, const struct mp_nspi_flatuid *g)
{
	mp_ndr_push_bytes(push, g->ab, 16);
}

static struct mp_nspi_flatuid *pull_flatuid_new(struct mp_ndr_pull *pull)
{
	struct mp_nspi_flatuid *g = pull_alloc(pull, sizeof(*g), 1);
	if (g)
		mp_nspi_pull_flatuid(pull, g);
	return g;
}

struct mp_nspi_flatuid *mp_nspi_pull_flatuid_ptr(struct mp_ndr_pull *pull)
{
	return mp_ndr_pull_ptr(pull) ? pull_flatuid_new(pull) : NULL;
}

void mp_nspi_push_flatuid_ptr(struct mp_ndr_push *push, const struct mp_nspi_flatuid *g)
{
	mp_ndr_push_ptr(push, g != NULL);
	if (g)
		mp_nspi_push_flatuid(push, g);
}

void mp_nspi_pull_proptags(struct mp_ndr_pull *pull, struct mp_nspi_proptags *t)
{
	/* [size_is(cValues + 1), length_is(cValues)]: max count hoisted. */
	uint32_t max = mp_ndr_pull_count(pull, 0);
	t->count = pull_ranged(pull, MP_NSPI_MAX_PROPTAGS);
	uint32_t offset = mp_ndr_pull_u32(pull);
	uint32_t actual = mp_ndr_pull_count(pull, 4);
	if (!mp_ndr_pull_ok(pull))
		return;
	if (max != t->count + 1 || offset != 0 || actual != t->count) {
		mp_ndr_pull_fail(pull, "PropertyTagArray_r counts disagree");
		return;
	}
	t->tags = pull_alloc(pull, sizeof(uint32_t), t->count);
	for (uint32_t i = 0; t->tags && i < t->count; i++)
		t->tags[i] = mp_ndr_pull_u32(pull);
}

/* A structure built by hand with a count but no array cannot be encoded. */
static bool push_missing(struct mp_ndr_push *push, uint32_t count, const void *array)
{
	if (count && !array) {
		push->wb.bad = true;
		return true;
	}
	return false;
}

void mp_nspi_push_proptags(struct mp_ndr_push *push, const struct mp_nspi_proptags *t)
{
	if (push_missing(push, t->count, t->tags))
		return;
	mp_ndr_push_u32(push, t->count + 1);
	mp_ndr_push_u32(push, t->count);
	mp_ndr_push_u32(push, 0);
	mp_ndr_push_u32(push, t->count);
	for (uint32_t i = 0; i < t->count; i++)
		mp_ndr_push_u32(push, t->tags[i]);
}

struct mp_nspi_proptags *mp_nspi_pull_proptags_ptr(struct mp_ndr_pull *pull)
{
	if (!mp_ndr_pull_ptr(pull))
		return NULL;
	struct mp_nspi_proptags *t = pull_alloc(pull, sizeof(*t), 1);
	if (t)
		mp_nspi_pull_proptags(pull, t);
	return t;
}

void mp_nspi_push_proptags_ptr(struct mp_ndr_push *push, const struct mp_nspi_proptags *t)
{
	mp_ndr_push_ptr(push, t != NULL);
	if (t)
		mp_nspi_push_proptags(push, t);
}

/* ------------------------------------------------------------------ */
/* Binary_r and the multi-valued arrays                                */
/* ------------------------------------------------------------------ */

static void pull_binary_scalars(struct mp_ndr_pull *pull, struct mp_nspi_binary *b)
{
	b->cb = pull_ranged(pull, MP_NSPI_MAX_BINARY);
	b->lpb = pull_ptr_mark(pull);
}

static void pull_binary_buffers(struct mp_ndr_pull *pull, struct mp_nspi_binary *b)
{
	if (!b->lpb)
		return;
	b->lpb = NULL;
	pull_conformance(pull, b->cb, 1);
	if (mp_ndr_pull_ok(pull))
		b->lpb = mp_ndr_pull_bytes_dup(pull, b->cb);
}

static void push_binary_scalars(struct mp_ndr_push *push, const struct mp_nspi_binary *b)
{
	mp_ndr_push_u32(push, b->cb);
	mp_ndr_push_ptr(push, b->lpb != NULL);
}

static void push_binary_buffers(struct mp_ndr_push *push, const struct mp_nspi_binary *b)
{
	if (!b->lpb)
		return;
	mp_ndr_push_u32(push, b->cb);
	mp_ndr_push_bytes(push, b->lpb, b->cb);
}

/* The scalars of every MV array: a ranged count and a pointer. */
static void *pull_mv_scalars(struct mp_ndr_pull *pull, uint32_t *count)
{
	*count = pull_ranged(pull, MP_NSPI_MAX_VALUES);
	return pull_ptr_mark(pull);
}

static void pull_string_array_buffers(struct mp_ndr_pull *pull, struct mp_nspi_string_array *a,
				      bool wide)
{
	if (!a->strs)
		return;
	a->strs = NULL;
	pull_conformance(pull, a->count, 4);
	char **strs = pull_alloc(pull, sizeof(char *), a->count);
	if (!strs)
		return;
	for (uint32_t i = 0; i < a->count; i++)
		strs[i] = pull_ptr_mark(pull);
	for (uint32_t i = 0; i < a->count; i++) {
		if (strs[i])
			strs[i] = pull_str(pull, wide);
	}
	a->strs = strs;
}

static void push_string_array_buffers(struct mp_ndr_push *push,
				      const struct mp_nspi_string_array *a, bool wide)
{
	if (!a->strs)
		return;
	mp_ndr_push_u32(push, a->count);
	for (uint32_t i = 0; i < a->count; i++)
		mp_ndr_push_ptr(push, a->strs[i] != NULL);
	for (uint32_t i = 0; i < a->count; i++) {
		if (a->strs[i])
			push_str(push, a->strs[i], wide);
	}
}

static void pull_binary_array_buffers(struct mp_ndr_pull *pull, struct mp_nspi_binary_array *a)
{
	if (!a->bins)
		return;
	a->bins = NULL;
	pull_conformance(pull, a->count, 8);
	struct mp_nspi_binary *bins = pull_alloc(pull, sizeof(*bins), a->count);
	if (!bins)
		return;
	for (uint32_t i = 0; i < a->count; i++)
		pull_binary_scalars(pull, &bins[i]);
	for (uint32_t i = 0; i < a->count; i++)
		pull_binary_buffers(pull, &bins[i]);
	a->bins = bins;
}

static void push_binary_array_buffers(struct mp_ndr_push *push,
				      const struct mp_nspi_binary_array *a)
{
	if (!a->bins)
		return;
	mp_ndr_push_u32(push, a->count);
	for (uint32_t i = 0; i < a->count; i++)
		push_binary_scalars(push, &a->bins[i]);
	for (uint32_t i = 0; i < a->count; i++)
		push_binary_buffers(push, &a->bins[i]);
}

void mp_nspi_pull_binary_array_all(struct mp_ndr_pull *pull, struct mp_nspi_binary_array *a)
{
	a->bins = pull_mv_scalars(pull, &a->count);
	pull_binary_array_buffers(pull, a);
}

void mp_nspi_push_binary_array_all(struct mp_ndr_push *push,
				   const struct mp_nspi_binary_array *a)
{
	mp_ndr_push_u32(push, a->count);
	mp_ndr_push_ptr(push, a->bins != NULL);
	push_binary_array_buffers(push, a);
}

/* ------------------------------------------------------------------ */
/* PropertyValue_r                                                     */
/* ------------------------------------------------------------------ */

static void pull_propval_scalars(struct mp_ndr_pull *pull, struct mp_nspi_propval *v)
{
	union mp_nspi_prop_val *u = &v->value;

	v->proptag = mp_ndr_pull_u32(pull);
	v->reserved = mp_ndr_pull_u32(pull);
	uint32_t disc = mp_ndr_pull_u32(pull);
	if (!mp_ndr_pull_ok(pull))
		return;
	if (disc != MP_NSPI_PROP_TYPE(v->proptag)) {
		mp_ndr_pull_fail(pull, "PROP_VAL_UNION discriminant differs from the property type");
		return;
	}
	switch (disc) {
	case MP_PTYP_INTEGER16:
		u->i = (int16_t)mp_ndr_pull_u16(pull);
		break;
	case MP_PTYP_INTEGER32:
		u->l = (int32_t)mp_ndr_pull_u32(pull);
		break;
	case MP_PTYP_BOOLEAN:
		u->b = mp_ndr_pull_u16(pull);
		break;
	case MP_PTYP_STRING8:
		u->lpszA = pull_ptr_mark(pull);
		break;
	case MP_PTYP_STRING:
		u->lpszW = pull_ptr_mark(pull);
		break;
	case MP_PTYP_BINARY:
		pull_binary_scalars(pull, &u->bin);
		break;
	case MP_PTYP_GUID:
		u->lpguid = pull_ptr_mark(pull);
		break;
	case MP_PTYP_TIME: {
		uint64_t lo = mp_ndr_pull_u32(pull);
		uint64_t hi = mp_ndr_pull_u32(pull);
		u->ft = lo | (hi << 32);
		break;
	}
	case MP_PTYP_ERROR_CODE:
		u->err = (int32_t)mp_ndr_pull_u32(pull);
		break;
	case MP_PTYP_MV_INTEGER16:
		u->MVi.values = pull_mv_scalars(pull, &u->MVi.count);
		break;
	case MP_PTYP_MV_INTEGER32:
		u->MVl.values = pull_mv_scalars(pull, &u->MVl.count);
		break;
	case MP_PTYP_MV_STRING8:
		u->MVszA.strs = pull_mv_scalars(pull, &u->MVszA.count);
		break;
	case MP_PTYP_MV_STRING:
		u->MVszW.strs = pull_mv_scalars(pull, &u->MVszW.count);
		break;
	case MP_PTYP_MV_BINARY:
		u->MVbin.bins = pull_mv_scalars(pull, &u->MVbin.count);
		break;
	case MP_PTYP_MV_GUID:
		u->MVguid.guids = pull_mv_scalars(pull, &u->MVguid.count);
		break;
	case MP_PTYP_MV_TIME:
		u->MVft.values = pull_mv_scalars(pull, &u->MVft.count);
		break;
	case MP_PTYP_NULL:
	case MP_PTYP_EMBEDDED_TABLE:
		u->reserved = (int32_t)mp_ndr_pull_u32(pull);
		break;
	default:
		mp_ndr_pull_fail(pull, "property type not allowed in PROP_VAL_UNION");
		break;
	}
}

static void pull_propval_buffers(struct mp_ndr_pull *pull, struct mp_nspi_propval *v)
{
	union mp_nspi_prop_val *u = &v->value;

	if (!mp_ndr_pull_ok(pull))
		return;
	switch (MP_NSPI_PROP_TYPE(v->proptag)) {
	case MP_PTYP_STRING8:
		if (u->lpszA)
			u->lpszA = pull_str8(pull);
		break;
	case MP_PTYP_STRING:
		if (u->lpszW)
			u->lpszW = pull_str16(pull);
		break;
	case MP_PTYP_BINARY:
		pull_binary_buffers(pull, &u->bin);
		break;
	case MP_PTYP_GUID:
		if (u->lpguid)
			u->lpguid = pull_flatuid_new(pull);
		break;
	case MP_PTYP_MV_INTEGER16:
		if (u->MVi.values) {
			u->MVi.values = NULL;
			pull_conformance(pull, u->MVi.count, 2);
			int16_t *a = pull_alloc(pull, sizeof(*a), u->MVi.count);
			for (uint32_t i = 0; a && i < u->MVi.count; i++)
				a[i] = (int16_t)mp_ndr_pull_u16(pull);
			u->MVi.values = a;
		}
		break;
	case MP_PTYP_MV_INTEGER32:
		if (u->MVl.values) {
			u->MVl.values = NULL;
			pull_conformance(pull, u->MVl.count, 4);
			int32_t *a = pull_alloc(pull, sizeof(*a), u->MVl.count);
			for (uint32_t i = 0; a && i < u->MVl.count; i++)
				a[i] = (int32_t)mp_ndr_pull_u32(pull);
			u->MVl.values = a;
		}
		break;
	case MP_PTYP_MV_STRING8:
		pull_string_array_buffers(pull, &u->MVszA, false);
		break;
	case MP_PTYP_MV_STRING:
		pull_string_array_buffers(pull, &u->MVszW, true);
		break;
	case MP_PTYP_MV_BINARY:
		pull_binary_array_buffers(pull, &u->MVbin);
		break;
	case MP_PTYP_MV_GUID:
		if (u->MVguid.guids) {
			u->MVguid.guids = NULL;
			pull_conformance(pull, u->MVguid.count, 4);
			struct mp_nspi_flatuid **g = pull_alloc(pull, sizeof(*g), u->MVguid.count);
			if (!g)
				break;
			for (uint32_t i = 0; i < u->MVguid.count; i++)
				g[i] = pull_ptr_mark(pull);
			for (uint32_t i = 0; i < u->MVguid.count; i++) {
				if (g[i])
					g[i] = pull_flatuid_new(pull);
			}
			u->MVguid.guids = g;
		}
		break;
	case MP_PTYP_MV_TIME:
		if (u->MVft.values) {
			u->MVft.values = NULL;
			pull_conformance(pull, u->MVft.count, 8);
			uint64_t *a = pull_alloc(pull, sizeof(*a), u->MVft.count);
			for (uint32_t i = 0; a && i < u->MVft.count; i++) {
				uint64_t lo = mp_ndr_pull_u32(pull);
				uint64_t hi = mp_ndr_pull_u32(pull);
				a[i] = lo | (hi << 32);
			}
			u->MVft.values = a;
		}
		break;
	default:
		break;
	}
}

static void push_propval_scalars(struct mp_ndr_push *push, const struct mp_nspi_propval *v)
{
	const union mp_nspi_prop_val *u = &v->value;
	uint16_t type = MP_NSPI_PROP_TYPE(v->proptag);

	mp_ndr_push_u32(push, v->proptag);
	mp_ndr_push_u32(push, v->reserved);
	mp_ndr_push_u32(push, type);
	switch (type) {
	case MP_PTYP_INTEGER16:
		mp_ndr_push_u16(push, (uint16_t)u->i);
		break;
	case MP_PTYP_INTEGER32:
		mp_ndr_push_u32(push, (uint32_t)u->l);
		break;
	case MP_PTYP_BOOLEAN:
		mp_ndr_push_u16(push, u->b);
		break;
	case MP_PTYP_STRING8:
		mp_ndr_push_ptr(push, u->lpszA != NULL);
		break;
	case MP_PTYP_STRING:
		mp_ndr_push_ptr(push, u->lpszW != NULL);
		break;
	case MP_PTYP_BINARY:
		push_binary_scalars(push, &u->bin);
		break;
	case MP_PTYP_GUID:
		mp_ndr_push_ptr(push, u->lpguid != NULL);
		break;
	case MP_PTYP_TIME:
		mp_ndr_push_u32(push, (uint32_t)u->ft);
		mp_ndr_push_u32(push, (uint32_t)(u->ft >> 32));
		break;
	case MP_PTYP_ERROR_CODE:
		mp_ndr_push_u32(push, (uint32_t)u->err);
		break;
	case MP_PTYP_MV_INTEGER16:
		mp_ndr_push_u32(push, u->MVi.count);
		mp_ndr_push_ptr(push, u->MVi.values != NULL);
		break;
	case MP_PTYP_MV_INTEGER32:
		mp_ndr_push_u32(push, u->MVl.count);
		mp_ndr_push_ptr(push, u->MVl.values != NULL);
		break;
	case MP_PTYP_MV_STRING8:
		mp_ndr_push_u32(push, u->MVszA.count);
		mp_ndr_push_ptr(push, u->MVszA.strs != NULL);
		break;
	case MP_PTYP_MV_STRING:
		mp_ndr_push_u32(push, u->MVszW.count);
		mp_ndr_push_ptr(push, u->MVszW.strs != NULL);
		break;
	case MP_PTYP_MV_BINARY:
		mp_ndr_push_u32(push, u->MVbin.count);
		mp_ndr_push_ptr(push, u->MVbin.bins != NULL);
		break;
	case MP_PTYP_MV_GUID:
		mp_ndr_push_u32(push, u->MVguid.count);
		mp_ndr_push_ptr(push, u->MVguid.guids != NULL);
		break;
	case MP_PTYP_MV_TIME:
		mp_ndr_push_u32(push, u->MVft.count);
		mp_ndr_push_ptr(push, u->MVft.values != NULL);
		break;
	case MP_PTYP_NULL:
	case MP_PTYP_EMBEDDED_TABLE:
		mp_ndr_push_u32(push, (uint32_t)u->reserved);
		break;
	default:
		/* Not encodable: the union has no arm for this type. */
		push->wb.bad = true;
		break;
	}
}

static void push_propval_buffers(struct mp_ndr_push *push, const struct mp_nspi_propval *v)
{
	const union mp_nspi_prop_val *u = &v->value;

	switch (MP_NSPI_PROP_TYPE(v->proptag)) {
	case MP_PTYP_STRING8:
		if (u->lpszA)
			mp_ndr_push_string8(push, u->lpszA, 0);
		break;
	case MP_PTYP_STRING:
		if (u->lpszW)
			mp_ndr_push_string16(push, u->lpszW, 0);
		break;
	case MP_PTYP_BINARY:
		push_binary_buffers(push, &u->bin);
		break;
	case MP_PTYP_GUID:
		if (u->lpguid)
			mp_nspi_push_flatuid(push, u->lpguid);
		break;
	case MP_PTYP_MV_INTEGER16:
		if (u->MVi.values) {
			mp_ndr_push_u32(push, u->MVi.count);
			for (uint32_t i = 0; i < u->MVi.count; i++)
				mp_ndr_push_u16(push, (uint16_t)u->MVi.values[i]);
		}
		break;
	case MP_PTYP_MV_INTEGER32:
		if (u->MVl.values) {
			mp_ndr_push_u32(push, u->MVl.count);
			for (uint32_t i = 0; i < u->MVl.count; i++)
				mp_ndr_push_u32(push, (uint32_t)u->MVl.values[i]);
		}
		break;
	case MP_PTYP_MV_STRING8:
		push_string_array_buffers(push, &u->MVszA, false);
		break;
	case MP_PTYP_MV_STRING:
		push_string_array_buffers(push, &u->MVszW, true);
		break;
	case MP_PTYP_MV_BINARY:
		push_binary_array_buffers(push, &u->MVbin);
		break;
	case MP_PTYP_MV_GUID:
		if (u->MVguid.guids) {
			mp_ndr_push_u32(push, u->MVguid.count);
			for (uint32_t i = 0; i < u->MVguid.count; i++)
				mp_ndr_push_ptr(push, u->MVguid.guids[i] != NULL);
			for (uint32_t i = 0; i < u->MVguid.count; i++) {
				if (u->MVguid.guids[i])
					mp_nspi_push_flatuid(push, u->MVguid.guids[i]);
			}
		}
		break;
	case MP_PTYP_MV_TIME:
		if (u->MVft.values) {
			mp_ndr_push_u32(push, u->MVft.count);
			for (uint32_t i = 0; i < u->MVft.count; i++) {
				mp_ndr_push_u32(push, (uint32_t)u->MVft.values[i]);
				mp_ndr_push_u32(push, (uint32_t)(u->MVft.values[i] >> 32));
			}
		}
		break;
	default:
		break;
	}
}

void mp_nspi_pull_propval_all(struct mp_ndr_pull *pull, struct mp_nspi_propval *v)
{
	pull_propval_scalars(pull, v);
	pull_propval_buffers(pull, v);
}

void mp_nspi_push_propval_all(struct mp_ndr_push *push, const struct mp_nspi_propval *v)
{
	push_propval_scalars(push, v);
	push_propval_buffers(push, v);
}

static struct mp_nspi_propval *pull_propval_new(struct mp_ndr_pull *pull)
{
	struct mp_nspi_propval *v = pull_alloc(pull, sizeof(*v), 1);
	if (v)
		mp_nspi_pull_propval_all(pull, v);
	return v;
}

/* ------------------------------------------------------------------ */
/* PropertyRow_r, PropertyRowSet_r                                     */
/* ------------------------------------------------------------------ */

/* Smallest PropertyValue_r on the wire: tag, reserved, discriminant, short. */
#define MIN_PROPVAL_WIRE 14

static void pull_row_scalars(struct mp_ndr_pull *pull, struct mp_nspi_row *r)
{
	r->reserved = mp_ndr_pull_u32(pull);
	r->count = pull_ranged(pull, MP_NSPI_MAX_VALUES);
	r->props = pull_ptr_mark(pull);
}

static void pull_row_buffers(struct mp_ndr_pull *pull, struct mp_nspi_row *r)
{
	if (!r->props)
		return;
	r->props = NULL;
	pull_conformance(pull, r->count, MIN_PROPVAL_WIRE);
	struct mp_nspi_propval *props = pull_alloc(pull, sizeof(*props), r->count);
	if (!props)
		return;
	for (uint32_t i = 0; i < r->count; i++)
		pull_propval_scalars(pull, &props[i]);
	for (uint32_t i = 0; i < r->count; i++)
		pull_propval_buffers(pull, &props[i]);
	r->props = props;
}

static void push_row_scalars(struct mp_ndr_push *push, const struct mp_nspi_row *r)
{
	mp_ndr_push_u32(push, r->reserved);
	mp_ndr_push_u32(push, r->count);
	mp_ndr_push_ptr(push, r->props != NULL);
}

static void push_row_buffers(struct mp_ndr_push *push, const struct mp_nspi_row *r)
{
	if (!r->props)
		return;
	mp_ndr_push_u32(push, r->count);
	for (uint32_t i = 0; i < r->count; i++)
		push_propval_scalars(push, &r->props[i]);
	for (uint32_t i = 0; i < r->count; i++)
		push_propval_buffers(push, &r->props[i]);
}

void mp_nspi_pull_row_all(struct mp_ndr_pull *pull, struct mp_nspi_row *r)
{
	pull_row_scalars(pull, r);
	pull_row_buffers(pull, r);
}

void mp_nspi_push_row_all(struct mp_ndr_push *push, const struct mp_nspi_row *r)
{
	push_row_scalars(push, r);
	push_row_buffers(push, r);
}

struct mp_nspi_row *mp_nspi_pull_row_ptr(struct mp_ndr_pull *pull)
{
	if (!mp_ndr_pull_ptr(pull))
		return NULL;
	struct mp_nspi_row *r = pull_alloc(pull, sizeof(*r), 1);
	if (r)
		mp_nspi_pull_row_all(pull, r);
	return r;
}

void mp_nspi_push_row_ptr(struct mp_ndr_push *push, const struct mp_nspi_row *r)
{
	mp_ndr_push_ptr(push, r != NULL);
	if (r)
		mp_nspi_push_row_all(push, r);
}

struct mp_nspi_rowset *mp_nspi_pull_rowset_ptr(struct mp_ndr_pull *pull)
{
	if (!mp_ndr_pull_ptr(pull))
		return NULL;
	struct mp_nspi_rowset *s = pull_alloc(pull, sizeof(*s), 1);
	if (!s)
		return NULL;
	/* Conformant structure: the array's max count comes first. */
	uint32_t max = mp_ndr_pull_count(pull, 12);
	s->count = pull_ranged(pull, MP_NSPI_MAX_VALUES);
	if (mp_ndr_pull_ok(pull) && max != s->count)
		mp_ndr_pull_fail(pull, "array size differs from its count field");
	s->rows = pull_alloc(pull, sizeof(*s->rows), s->count);
	if (!s->rows)
		return s;
	for (uint32_t i = 0; i < s->count; i++)
		pull_row_scalars(pull, &s->rows[i]);
	for (uint32_t i = 0; i < s->count; i++)
		pull_row_buffers(pull, &s->rows[i]);
	return s;
}

void mp_nspi_push_rowset_ptr(struct mp_ndr_push *push, const struct mp_nspi_rowset *s)
{
	mp_ndr_push_ptr(push, s != NULL);
	if (!s || push_missing(push, s->count, s->rows))
		return;
	mp_ndr_push_u32(push, s->count);
	mp_ndr_push_u32(push, s->count);
	for (uint32_t i = 0; i < s->count; i++)
		push_row_scalars(push, &s->rows[i]);
	for (uint32_t i = 0; i < s->count; i++)
		push_row_buffers(push, &s->rows[i]);
}

/* ------------------------------------------------------------------ */
/* Restriction_r                                                       */
/* ------------------------------------------------------------------ */

/* Smallest Restriction_r on the wire: rt, discriminant, one pointer. */
#define MIN_RES_WIRE 12

static void pull_res_buffers(struct mp_ndr_pull *pull, struct mp_nspi_restriction *r,
			     unsigned depth);

static void pull_res_scalars(struct mp_ndr_pull *pull, struct mp_nspi_restriction *r)
{
	r->rt = mp_ndr_pull_u32(pull);
	uint32_t disc = mp_ndr_pull_u32(pull);
	if (!mp_ndr_pull_ok(pull))
		return;
	if (disc != r->rt) {
		mp_ndr_pull_fail(pull, "RestrictionUnion_r discriminant differs from rt");
		return;
	}
	switch (r->rt) {
	case MP_NSPI_RES_AND:
	case MP_NSPI_RES_OR:
		r->res.and_or.count = pull_ranged(pull, MP_NSPI_MAX_VALUES);
		r->res.and_or.res = pull_ptr_mark(pull);
		break;
	case MP_NSPI_RES_NOT:
		r->res.not_.res = pull_ptr_mark(pull);
		break;
	case MP_NSPI_RES_CONTENT:
		r->res.content.fuzzy_level = mp_ndr_pull_u32(pull);
		r->res.content.proptag = mp_ndr_pull_u32(pull);
		r->res.content.prop = pull_ptr_mark(pull);
		break;
	case MP_NSPI_RES_PROPERTY:
		r->res.property.relop = mp_ndr_pull_u32(pull);
		r->res.property.proptag = mp_ndr_pull_u32(pull);
		r->res.property.prop = pull_ptr_mark(pull);
		break;
	case MP_NSPI_RES_COMPARE_PROPS:
		r->res.compare_props.relop = mp_ndr_pull_u32(pull);
		r->res.compare_props.proptag1 = mp_ndr_pull_u32(pull);
		r->res.compare_props.proptag2 = mp_ndr_pull_u32(pull);
		break;
	case MP_NSPI_RES_BITMASK:
		r->res.bitmask.rel_bmr = mp_ndr_pull_u32(pull);
		r->res.bitmask.proptag = mp_ndr_pull_u32(pull);
		r->res.bitmask.mask = mp_ndr_pull_u32(pull);
		break;
	case MP_NSPI_RES_SIZE:
		r->res.size.relop = mp_ndr_pull_u32(pull);
		r->res.size.proptag = mp_ndr_pull_u32(pull);
		r->res.size.cb = mp_ndr_pull_u32(pull);
		break;
	case MP_NSPI_RES_EXIST:
		r->res.exist.reserved1 = mp_ndr_pull_u32(pull);
		r->res.exist.proptag = mp_ndr_pull_u32(pull);
		r->res.exist.reserved2 = mp_ndr_pull_u32(pull);
		break;
	case MP_NSPI_RES_SUB:
		r->res.sub.sub_object = mp_ndr_pull_u32(pull);
		r->res.sub.res = pull_ptr_mark(pull);
		break;
	default:
		mp_ndr_pull_fail(pull, "unknown restriction type");
		break;
	}
}

static struct mp_nspi_restriction *pull_res_new(struct mp_ndr_pull *pull, unsigned depth)
{
	struct mp_nspi_restriction *r = pull_alloc(pull, sizeof(*r), 1);
	if (!r)
		return NULL;
	pull_res_scalars(pull, r);
	pull_res_buffers(pull, r, depth);
	return r;
}

/* `depth` is the nesting level of the restriction whose buffers these are;
 * its children are one deeper. */
static void pull_res_buffers(struct mp_ndr_pull *pull, struct mp_nspi_restriction *r,
			     unsigned depth)
{
	struct mp_nspi_restriction **child = NULL;

	if (!mp_ndr_pull_ok(pull))
		return;
	switch (r->rt) {
	case MP_NSPI_RES_AND:
	case MP_NSPI_RES_OR: {
		if (!r->res.and_or.res)
			return;
		r->res.and_or.res = NULL;
		if (depth + 1 > MP_NSPI_MAX_RES_DEPTH) {
			mp_ndr_pull_fail(pull, "restriction nested too deep");
			return;
		}
		uint32_t n = r->res.and_or.count;
		pull_conformance(pull, n, MIN_RES_WIRE);
		struct mp_nspi_restriction *a = pull_alloc(pull, sizeof(*a), n);
		if (!a)
			return;
		for (uint32_t i = 0; i < n; i++)
			pull_res_scalars(pull, &a[i]);
		for (uint32_t i = 0; i < n; i++)
			pull_res_buffers(pull, &a[i], depth + 1);
		r->res.and_or.res = a;
		return;
	}
	case MP_NSPI_RES_NOT:
		child = &r->res.not_.res;
		break;
	case MP_NSPI_RES_SUB:
		child = &r->res.sub.res;
		break;
	case MP_NSPI_RES_CONTENT:
		if (r->res.content.prop)
			r->res.content.prop = pull_propval_new(pull);
		return;
	case MP_NSPI_RES_PROPERTY:
		if (r->res.property.prop)
			r->res.property.prop = pull_propval_new(pull);
		return;
	default:
		return;
	}
	if (!*child)
		return;
	*child = NULL;
	if (depth + 1 > MP_NSPI_MAX_RES_DEPTH) {
		mp_ndr_pull_fail(pull, "restriction nested too deep");
		return;
	}
	*child = pull_res_new(pull, depth + 1);
}

static void push_res_buffers(struct mp_ndr_push *push, const struct mp_nspi_restriction *r,
			     unsigned depth);

static void push_res_scalars(struct mp_ndr_push *push, const struct mp_nspi_restriction *r)
{
	mp_ndr_push_u32(push, r->rt);
	mp_ndr_push_u32(push, r->rt);
	switch (r->rt) {
	case MP_NSPI_RES_AND:
	case MP_NSPI_RES_OR:
		mp_ndr_push_u32(push, r->res.and_or.count);
		mp_ndr_push_ptr(push, r->res.and_or.res != NULL);
		break;
	case MP_NSPI_RES_NOT:
		mp_ndr_push_ptr(push, r->res.not_.res != NULL);
		break;
	case MP_NSPI_RES_CONTENT:
		mp_ndr_push_u32(push, r->res.content.fuzzy_level);
		mp_ndr_push_u32(push, r->res.content.proptag);
		mp_ndr_push_ptr(push, r->res.content.prop != NULL);
		break;
	case MP_NSPI_RES_PROPERTY:
		mp_ndr_push_u32(push, r->res.property.relop);
		mp_ndr_push_u32(push, r->res.property.proptag);
		mp_ndr_push_ptr(push, r->res.property.prop != NULL);
		break;
	case MP_NSPI_RES_COMPARE_PROPS:
		mp_ndr_push_u32(push, r->res.compare_props.relop);
		mp_ndr_push_u32(push, r->res.compare_props.proptag1);
		mp_ndr_push_u32(push, r->res.compare_props.proptag2);
		break;
	case MP_NSPI_RES_BITMASK:
		mp_ndr_push_u32(push, r->res.bitmask.rel_bmr);
		mp_ndr_push_u32(push, r->res.bitmask.proptag);
		mp_ndr_push_u32(push, r->res.bitmask.mask);
		break;
	case MP_NSPI_RES_SIZE:
		mp_ndr_push_u32(push, r->res.size.relop);
		mp_ndr_push_u32(push, r->res.size.proptag);
		mp_ndr_push_u32(push, r->res.size.cb);
		break;
	case MP_NSPI_RES_EXIST:
		mp_ndr_push_u32(push, r->res.exist.reserved1);
		mp_ndr_push_u32(push, r->res.exist.proptag);
		mp_ndr_push_u32(push, r->res.exist.reserved2);
		break;
	case MP_NSPI_RES_SUB:
		mp_ndr_push_u32(push, r->res.sub.sub_object);
		mp_ndr_push_ptr(push, r->res.sub.res != NULL);
		break;
	default:
		push->wb.bad = true;
		break;
	}
}

static void push_res_buffers(struct mp_ndr_push *push, const struct mp_nspi_restriction *r,
			     unsigned depth)
{
	const struct mp_nspi_restriction *child = NULL;

	/* A structure built by hand could loop; refuse what we would refuse
	 * to decode. */
	if (depth > MP_NSPI_MAX_RES_DEPTH || push->wb.bad) {
		push->wb.bad = true;
		return;
	}
	switch (r->rt) {
	case MP_NSPI_RES_AND:
	case MP_NSPI_RES_OR:
		if (!r->res.and_or.res)
			return;
		mp_ndr_push_u32(push, r->res.and_or.count);
		for (uint32_t i = 0; i < r->res.and_or.count; i++)
			push_res_scalars(push, &r->res.and_or.res[i]);
		for (uint32_t i = 0; i < r->res.and_or.count; i++)
			push_res_buffers(push, &r->res.and_or.res[i], depth + 1);
		return;
	case MP_NSPI_RES_NOT:
		child = r->res.not_.res;
		break;
	case MP_NSPI_RES_SUB:
		child = r->res.sub.res;
		break;
	case MP_NSPI_RES_CONTENT:
		if (r->res.content.prop)
			mp_nspi_push_propval_all(push, r->res.content.prop);
		return;
	case MP_NSPI_RES_PROPERTY:
		if (r->res.property.prop)
			mp_nspi_push_propval_all(push, r->res.property.prop);
		return;
	default:
		return;
	}
	if (child) {
		push_res_scalars(push, child);
		push_res_buffers(push, child, depth + 1);
	}
}

struct mp_nspi_restriction *mp_nspi_pull_restriction_ptr(struct mp_ndr_pull *pull)
{
	return mp_ndr_pull_ptr(pull) ? pull_res_new(pull, 0) : NULL;
}

void mp_nspi_push_restriction_ptr(struct mp_ndr_push *push, const struct mp_nspi_restriction *r)
{
	mp_ndr_push_ptr(push, r != NULL);
	if (!r)
		return;
	push_res_scalars(push, r);
	push_res_buffers(push, r, 0);
}

/* ------------------------------------------------------------------ */
/* PropertyName_r, PropertyNameSet_r, StringsArray_r                   */
/* ------------------------------------------------------------------ */

static void pull_propname_scalars(struct mp_ndr_pull *pull, struct mp_nspi_propname *n)
{
	n->guid = pull_ptr_mark(pull);
	n->reserved = mp_ndr_pull_u32(pull);
	n->id = (int32_t)mp_ndr_pull_u32(pull);
}

static void pull_propname_buffers(struct mp_ndr_pull *pull, struct mp_nspi_propname *n)
{
	if (n->guid)
		n->guid = pull_flatuid_new(pull);
}

static void push_propname_scalars(struct mp_ndr_push *push, const struct mp_nspi_propname *n)
{
	mp_ndr_push_ptr(push, n->guid != NULL);
	mp_ndr_push_u32(push, n->reserved);
	mp_ndr_push_u32(push, (uint32_t)n->id);
}

static void push_propname_buffers(struct mp_ndr_push *push, const struct mp_nspi_propname *n)
{
	if (n->guid)
		mp_nspi_push_flatuid(push, n->guid);
}

struct mp_nspi_propname *mp_nspi_pull_propname_ptr(struct mp_ndr_pull *pull)
{
	if (!mp_ndr_pull_ptr(pull))
		return NULL;
	struct mp_nspi_propname *n = pull_alloc(pull, sizeof(*n), 1);
	if (!n)
		return NULL;
	pull_propname_scalars(pull, n);
	pull_propname_buffers(pull, n);
	return n;
}

void mp_nspi_push_propname_ptr(struct mp_ndr_push *push, const struct mp_nspi_propname *n)
{
	mp_ndr_push_ptr(push, n != NULL);
	if (!n)
		return;
	push_propname_scalars(push, n);
	push_propname_buffers(push, n);
}

struct mp_nspi_propname **mp_nspi_pull_propname_ptrs(struct mp_ndr_pull *pull, uint32_t n)
{
	pull_conformance(pull, n, 4);
	struct mp_nspi_propname **names = pull_alloc(pull, sizeof(*names), n);
	if (!names)
		return NULL;
	for (uint32_t i = 0; i < n; i++)
		names[i] = pull_ptr_mark(pull);
	for (uint32_t i = 0; i < n; i++) {
		if (!names[i])
			continue;
		names[i] = pull_alloc(pull, sizeof(**names), 1);
		if (!names[i])
			return NULL;
		pull_propname_scalars(pull, names[i]);
		pull_propname_buffers(pull, names[i]);
	}
	return names;
}

void mp_nspi_push_propname_ptrs(struct mp_ndr_push *push, uint32_t n,
				struct mp_nspi_propname *const *names)
{
	if (push_missing(push, n, names))
		return;
	mp_ndr_push_u32(push, n);
	for (uint32_t i = 0; i < n; i++)
		mp_ndr_push_ptr(push, names[i] != NULL);
	for (uint32_t i = 0; i < n; i++) {
		if (!names[i])
			continue;
		push_propname_scalars(push, names[i]);
		push_propname_buffers(push, names[i]);
	}
}

struct mp_nspi_propname_set *mp_nspi_pull_propname_set_ptr(struct mp_ndr_pull *pull)
{
	if (!mp_ndr_pull_ptr(pull))
		return NULL;
	struct mp_nspi_propname_set *s = pull_alloc(pull, sizeof(*s), 1);
	if (!s)
		return NULL;
	uint32_t max = mp_ndr_pull_count(pull, 12);
	s->count = pull_ranged(pull, MP_NSPI_MAX_VALUES);
	if (mp_ndr_pull_ok(pull) && max != s->count)
		mp_ndr_pull_fail(pull, "array size differs from its count field");
	s->names = pull_alloc(pull, sizeof(*s->names), s->count);
	if (!s->names)
		return s;
	for (uint32_t i = 0; i < s->count; i++)
		pull_propname_scalars(pull, &s->names[i]);
	for (uint32_t i = 0; i < s->count; i++)
		pull_propname_buffers(pull, &s->names[i]);
	return s;
}

void mp_nspi_push_propname_set_ptr(struct mp_ndr_push *push,
				   const struct mp_nspi_propname_set *s)
{
	mp_ndr_push_ptr(push, s != NULL);
	if (!s || push_missing(push, s->count, s->names))
		return;
	mp_ndr_push_u32(push, s->count);
	mp_ndr_push_u32(push, s->count);
	for (uint32_t i = 0; i < s->count; i++)
		push_propname_scalars(push, &s->names[i]);
	for (uint32_t i = 0; i < s->count; i++)
		push_propname_buffers(push, &s->names[i]);
}

void mp_nspi_pull_strings(struct mp_ndr_pull *pull, struct mp_nspi_strings *s, bool wide)
{
	uint32_t max = mp_ndr_pull_count(pull, 4);
	s->count = pull_ranged(pull, MP_NSPI_MAX_VALUES);
	if (mp_ndr_pull_ok(pull) && max != s->count)
		mp_ndr_pull_fail(pull, "array size differs from its count field");
	char **strs = pull_alloc(pull, sizeof(char *), s->count);
	if (!strs)
		return;
	for (uint32_t i = 0; i < s->count; i++)
		strs[i] = pull_ptr_mark(pull);
	for (uint32_t i = 0; i < s->count; i++) {
		if (strs[i])
			strs[i] = pull_str(pull, wide);
	}
	s->strs = strs;
}

void mp_nspi_push_strings(struct mp_ndr_push *push, const struct mp_nspi_strings *s, bool wide)
{
	if (push_missing(push, s->count, s->strs))
		return;
	mp_ndr_push_u32(push, s->count);
	mp_ndr_push_u32(push, s->count);
	for (uint32_t i = 0; i < s->count; i++)
		mp_ndr_push_ptr(push, s->strs[i] != NULL);
	for (uint32_t i = 0; i < s->count; i++) {
		if (s->strs[i])
			push_str(push, s->strs[i], wide);
	}
}

/* ------------------------------------------------------------------ */
/* Entry IDs                                                           */
/* ------------------------------------------------------------------ */

bool mp_nspi_entryid_parse(const uint8_t *b, size_t n, struct mp_nspi_entryid *e)
{
	memset(e, 0, sizeof(*e));
	if (!b || n < 28 || b[1] || b[2] || b[3])
		return false;
	e->id_type = b[0];
	memcpy(e->provider_uid.ab, b + 4, 16);
	e->r4 = mp_get_u32(b + 20);
	e->display_type = mp_get_u32(b + 24);
	if (b[0] == 0x87 && n == 32) {
		e->kind = MP_NSPI_ENTRYID_EPHEMERAL;
		e->mid = mp_get_u32(b + 28);
		return true;
	}
	if (b[0] == 0x00 && n > 28 && b[n - 1] == 0 && !memchr(b + 28, 0, n - 29) &&
	    !memcmp(e->provider_uid.ab, mp_nspi_guid_nspi.ab, 16)) {
		e->kind = MP_NSPI_ENTRYID_PERMANENT;
		e->dn = (const char *)b + 28;
		return true;
	}
	memset(e, 0, sizeof(*e));
	return false;
}

uint8_t *mp_nspi_entryid_build(void *mem, const struct mp_nspi_entryid *e, size_t *n)
{
	size_t len;
	if (e->kind == MP_NSPI_ENTRYID_EPHEMERAL)
		len = 32;
	else if (e->kind == MP_NSPI_ENTRYID_PERMANENT && e->dn)
		len = 28 + strlen(e->dn) + 1;
	else
		return NULL;
	uint8_t *b = talloc_size(mem, len);
	if (!b)
		return NULL;
	b[0] = e->kind == MP_NSPI_ENTRYID_EPHEMERAL ? 0x87 : 0x00;
	b[1] = b[2] = b[3] = 0;
	memcpy(b + 4, e->provider_uid.ab, 16);
	mp_put_u32(b + 20, e->r4);
	mp_put_u32(b + 24, e->display_type);
	if (e->kind == MP_NSPI_ENTRYID_EPHEMERAL)
		mp_put_u32(b + 28, e->mid);
	else
		memcpy(b + 28, e->dn, len - 28);
	*n = len;
	return b;
}

struct mp_nspi_propval *mp_nspi_row_find(const struct mp_nspi_row *row, uint32_t proptag)
{
	if (!row || !row->props)
		return NULL;
	for (uint32_t i = 0; i < row->count; i++) {
		if (row->props[i].proptag == proptag)
			return &row->props[i];
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Printers                                                            */
/* ------------------------------------------------------------------ */

const char *mp_nspi_ptyp_name(uint16_t type)
{
	switch (type) {
	case MP_PTYP_NULL: return "PtypNull";
	case MP_PTYP_INTEGER16: return "PtypInteger16";
	case MP_PTYP_INTEGER32: return "PtypInteger32";
	case MP_PTYP_ERROR_CODE: return "PtypErrorCode";
	case MP_PTYP_BOOLEAN: return "PtypBoolean";
	case MP_PTYP_EMBEDDED_TABLE: return "PtypEmbeddedTable";
	case MP_PTYP_STRING8: return "PtypString8";
	case MP_PTYP_STRING: return "PtypString";
	case MP_PTYP_TIME: return "PtypTime";
	case MP_PTYP_GUID: return "PtypGuid";
	case MP_PTYP_BINARY: return "PtypBinary";
	case MP_PTYP_MV_INTEGER16: return "PtypMultipleInteger16";
	case MP_PTYP_MV_INTEGER32: return "PtypMultipleInteger32";
	case MP_PTYP_MV_STRING8: return "PtypMultipleString8";
	case MP_PTYP_MV_STRING: return "PtypMultipleString";
	case MP_PTYP_MV_TIME: return "PtypMultipleTime";
	case MP_PTYP_MV_GUID: return "PtypMultipleGuid";
	case MP_PTYP_MV_BINARY: return "PtypMultipleBinary";
	default: return NULL;
	}
}

const char *mp_nspi_res_name(uint32_t rt)
{
	static const char *const names[] = {
		"RES_AND", "RES_OR", "RES_NOT", "RES_CONTENT", "RES_PROPERTY",
		"RES_COMPAREPROPS", "RES_BITMASK", "RES_SIZE", "RES_EXIST",
		"RES_SUBRESTRICTION",
	};
	return rt < sizeof(names) / sizeof(names[0]) ? names[rt] : NULL;
}

void mp_nspi_print_stat(struct mp_printer *p, const char *name, const struct mp_nspi_stat *s)
{
	mp_pr_begin(p, name);
	mp_pr_hex(p, "SortType", s->sort_type, 8);
	mp_pr_hex(p, "ContainerID", s->container_id, 8);
	mp_pr_hex(p, "CurrentRec", s->cur_rec, 8);
	mp_pr_int(p, "Delta", s->delta);
	mp_pr_uint(p, "NumPos", s->num_pos);
	mp_pr_uint(p, "TotalRecs", s->total_recs);
	mp_pr_uint(p, "CodePage", s->code_page);
	mp_pr_hex(p, "TemplateLocale", s->template_locale, 8);
	mp_pr_hex(p, "SortLocale", s->sort_locale, 8);
	mp_pr_end(p);
}

void mp_nspi_print_flatuid(struct mp_printer *p, const char *name,
			   const struct mp_nspi_flatuid *g)
{
	if (g)
		mp_pr_guid(p, name, g->ab);
	else
		mp_pr_str(p, name, NULL);
}

void mp_nspi_print_proptag(struct mp_printer *p, const char *name, uint32_t tag)
{
	mp_pr_enum(p, name, tag, 8, mp_proptag_name(tag));
}

void mp_nspi_print_proptags(struct mp_printer *p, const char *name,
			    const struct mp_nspi_proptags *t)
{
	if (!t) {
		mp_pr_str(p, name, NULL);
		return;
	}
	mp_pr_begin_array(p, name, t->count);
	for (uint32_t i = 0; t->tags && i < t->count; i++)
		mp_nspi_print_proptag(p, NULL, t->tags[i]);
	mp_pr_end_array(p);
}

void mp_nspi_print_mids(struct mp_printer *p, const char *name, const struct mp_nspi_proptags *t)
{
	if (!t) {
		mp_pr_str(p, name, NULL);
		return;
	}
	mp_pr_begin_array(p, name, t->count);
	for (uint32_t i = 0; t->tags && i < t->count; i++)
		mp_pr_hex(p, NULL, t->tags[i], 8);
	mp_pr_end_array(p);
}

void mp_nspi_print_entryid(struct mp_printer *p, const char *name,
			   const struct mp_nspi_entryid *e)
{
	mp_pr_begin(p, name);
	mp_pr_str(p, "Kind", e->kind == MP_NSPI_ENTRYID_EPHEMERAL ? "EphemeralEntryID"
							       : "PermanentEntryID");
	mp_pr_hex(p, "IDType", e->id_type, 2);
	mp_pr_guid(p, "ProviderUID", e->provider_uid.ab);
	mp_pr_hex(p, "R4", e->r4, 8);
	mp_pr_hex(p, "DisplayType", e->display_type, 8);
	if (e->kind == MP_NSPI_ENTRYID_EPHEMERAL)
		mp_pr_hex(p, "MId", e->mid, 8);
	else
		mp_pr_str(p, "DistinguishedName", e->dn);
	mp_pr_end(p);
}

void mp_nspi_print_binary(struct mp_printer *p, const char *name, const struct mp_nspi_binary *b)
{
	struct mp_nspi_entryid e;

	mp_pr_begin(p, name);
	mp_pr_uint(p, "cb", b->cb);
	if (b->lpb)
		mp_pr_bytes(p, "lpb", b->lpb, b->cb);
	else
		mp_pr_str(p, "lpb", NULL);
	if (mp_nspi_entryid_parse(b->lpb, b->lpb ? b->cb : 0, &e))
		mp_nspi_print_entryid(p, "EntryID", &e);
	mp_pr_end(p);
}

void mp_nspi_print_binary_array(struct mp_printer *p, const char *name,
				const struct mp_nspi_binary_array *a)
{
	if (!a->bins) {
		mp_pr_begin(p, name);
		mp_pr_uint(p, "cValues", a->count);
		mp_pr_str(p, "lpbin", NULL);
		mp_pr_end(p);
		return;
	}
	mp_pr_begin_array(p, name, a->count);
	for (uint32_t i = 0; i < a->count; i++)
		mp_nspi_print_binary(p, NULL, &a->bins[i]);
	mp_pr_end_array(p);
}

static void print_strings(struct mp_printer *p, const char *name, uint32_t count, char **strs)
{
	if (!strs) {
		mp_pr_begin(p, name);
		mp_pr_uint(p, "cValues", count);
		mp_pr_str(p, "values", NULL);
		mp_pr_end(p);
		return;
	}
	mp_pr_begin_array(p, name, count);
	for (uint32_t i = 0; i < count; i++)
		mp_pr_str(p, NULL, strs[i]);
	mp_pr_end_array(p);
}

/* An MV array whose pointer is NULL: show the count alone. */
static bool print_null_mv(struct mp_printer *p, const char *name, uint32_t count, const void *v)
{
	if (v)
		return false;
	mp_pr_begin(p, name);
	mp_pr_uint(p, "cValues", count);
	mp_pr_str(p, "values", NULL);
	mp_pr_end(p);
	return true;
}

void mp_nspi_print_propval(struct mp_printer *p, const char *name,
			   const struct mp_nspi_propval *v)
{
	if (!v) {
		mp_pr_str(p, name, NULL);
		return;
	}
	const union mp_nspi_prop_val *u = &v->value;
	uint16_t type = MP_NSPI_PROP_TYPE(v->proptag);

	mp_pr_begin(p, name);
	mp_nspi_print_proptag(p, "ulPropTag", v->proptag);
	mp_pr_enum(p, "type", type, 4, mp_nspi_ptyp_name(type));
	if (v->reserved)
		mp_pr_hex(p, "ulReserved", v->reserved, 8);
	if (mp_proptag_is_secret(v->proptag, true)) {
		size_t n = type == MP_PTYP_BINARY	 ? u->bin.cb
			   : type == MP_PTYP_STRING8 && u->lpszA ? strlen(u->lpszA)
			   : type == MP_PTYP_STRING && u->lpszW	 ? strlen(u->lpszW)
								 : 0;
		mp_pr_secret(p, "value", n);
		mp_pr_end(p);
		return;
	}
	switch (type) {
	case MP_PTYP_INTEGER16:
		mp_pr_int(p, "i", u->i);
		break;
	case MP_PTYP_INTEGER32:
		mp_pr_int(p, "l", u->l);
		break;
	case MP_PTYP_BOOLEAN:
		mp_pr_uint(p, "b", u->b);
		break;
	case MP_PTYP_STRING8:
		mp_pr_str(p, "lpszA", u->lpszA);
		break;
	case MP_PTYP_STRING:
		mp_pr_str(p, "lpszW", u->lpszW);
		break;
	case MP_PTYP_BINARY:
		mp_nspi_print_binary(p, "bin", &u->bin);
		break;
	case MP_PTYP_GUID:
		mp_nspi_print_flatuid(p, "lpguid", u->lpguid);
		break;
	case MP_PTYP_TIME:
		mp_pr_filetime(p, "ft", u->ft);
		break;
	case MP_PTYP_ERROR_CODE:
		mp_pr_enum(p, "err", (uint32_t)u->err, 8, mp_error_name((uint32_t)u->err));
		break;
	case MP_PTYP_MV_INTEGER16:
		if (print_null_mv(p, "MVi", u->MVi.count, u->MVi.values))
			break;
		mp_pr_begin_array(p, "MVi", u->MVi.count);
		for (uint32_t i = 0; i < u->MVi.count; i++)
			mp_pr_int(p, NULL, u->MVi.values[i]);
		mp_pr_end_array(p);
		break;
	case MP_PTYP_MV_INTEGER32:
		if (print_null_mv(p, "MVl", u->MVl.count, u->MVl.values))
			break;
		mp_pr_begin_array(p, "MVl", u->MVl.count);
		for (uint32_t i = 0; i < u->MVl.count; i++)
			mp_pr_int(p, NULL, u->MVl.values[i]);
		mp_pr_end_array(p);
		break;
	case MP_PTYP_MV_STRING8:
		print_strings(p, "MVszA", u->MVszA.count, u->MVszA.strs);
		break;
	case MP_PTYP_MV_STRING:
		print_strings(p, "MVszW", u->MVszW.count, u->MVszW.strs);
		break;
	case MP_PTYP_MV_BINARY:
		mp_nspi_print_binary_array(p, "MVbin", &u->MVbin);
		break;
	case MP_PTYP_MV_GUID:
		if (print_null_mv(p, "MVguid", u->MVguid.count, u->MVguid.guids))
			break;
		mp_pr_begin_array(p, "MVguid", u->MVguid.count);
		for (uint32_t i = 0; i < u->MVguid.count; i++)
			mp_nspi_print_flatuid(p, NULL, u->MVguid.guids[i]);
		mp_pr_end_array(p);
		break;
	case MP_PTYP_MV_TIME:
		if (print_null_mv(p, "MVft", u->MVft.count, u->MVft.values))
			break;
		mp_pr_begin_array(p, "MVft", u->MVft.count);
		for (uint32_t i = 0; i < u->MVft.count; i++)
			mp_pr_filetime(p, NULL, u->MVft.values[i]);
		mp_pr_end_array(p);
		break;
	default:
		mp_pr_int(p, "lReserved", u->reserved);
		break;
	}
	mp_pr_end(p);
}

void mp_nspi_print_row(struct mp_printer *p, const char *name, const struct mp_nspi_row *r)
{
	if (!r) {
		mp_pr_str(p, name, NULL);
		return;
	}
	mp_pr_begin(p, name);
	if (r->reserved)
		mp_pr_hex(p, "Reserved", r->reserved, 8);
	mp_pr_uint(p, "cValues", r->count);
	if (r->props) {
		mp_pr_begin_array(p, "lpProps", r->count);
		for (uint32_t i = 0; i < r->count; i++)
			mp_nspi_print_propval(p, NULL, &r->props[i]);
		mp_pr_end_array(p);
	} else {
		mp_pr_str(p, "lpProps", NULL);
	}
	mp_pr_end(p);
}

void mp_nspi_print_rowset(struct mp_printer *p, const char *name,
			  const struct mp_nspi_rowset *s)
{
	if (!s) {
		mp_pr_str(p, name, NULL);
		return;
	}
	mp_pr_begin_array(p, name, s->count);
	for (uint32_t i = 0; s->rows && i < s->count; i++)
		mp_nspi_print_row(p, NULL, &s->rows[i]);
	mp_pr_end_array(p);
}

void mp_nspi_print_restriction(struct mp_printer *p, const char *name,
			       const struct mp_nspi_restriction *r)
{
	if (!r) {
		mp_pr_str(p, name, NULL);
		return;
	}
	mp_pr_begin(p, name);
	mp_pr_enum(p, "rt", r->rt, 8, mp_nspi_res_name(r->rt));
	switch (r->rt) {
	case MP_NSPI_RES_AND:
	case MP_NSPI_RES_OR:
		mp_pr_uint(p, "cRes", r->res.and_or.count);
		if (!r->res.and_or.res) {
			mp_pr_str(p, "lpRes", NULL);
			break;
		}
		mp_pr_begin_array(p, "lpRes", r->res.and_or.count);
		for (uint32_t i = 0; i < r->res.and_or.count; i++)
			mp_nspi_print_restriction(p, NULL, &r->res.and_or.res[i]);
		mp_pr_end_array(p);
		break;
	case MP_NSPI_RES_NOT:
		mp_nspi_print_restriction(p, "lpRes", r->res.not_.res);
		break;
	case MP_NSPI_RES_CONTENT:
		mp_pr_hex(p, "ulFuzzyLevel", r->res.content.fuzzy_level, 8);
		mp_nspi_print_proptag(p, "ulPropTag", r->res.content.proptag);
		mp_nspi_print_propval(p, "lpProp", r->res.content.prop);
		break;
	case MP_NSPI_RES_PROPERTY:
		mp_pr_uint(p, "relop", r->res.property.relop);
		mp_nspi_print_proptag(p, "ulPropTag", r->res.property.proptag);
		mp_nspi_print_propval(p, "lpProp", r->res.property.prop);
		break;
	case MP_NSPI_RES_COMPARE_PROPS:
		mp_pr_uint(p, "relop", r->res.compare_props.relop);
		mp_nspi_print_proptag(p, "ulPropTag1", r->res.compare_props.proptag1);
		mp_nspi_print_proptag(p, "ulPropTag2", r->res.compare_props.proptag2);
		break;
	case MP_NSPI_RES_BITMASK:
		mp_pr_uint(p, "relBMR", r->res.bitmask.rel_bmr);
		mp_nspi_print_proptag(p, "ulPropTag", r->res.bitmask.proptag);
		mp_pr_hex(p, "ulMask", r->res.bitmask.mask, 8);
		break;
	case MP_NSPI_RES_SIZE:
		mp_pr_uint(p, "relop", r->res.size.relop);
		mp_nspi_print_proptag(p, "ulPropTag", r->res.size.proptag);
		mp_pr_uint(p, "cb", r->res.size.cb);
		break;
	case MP_NSPI_RES_EXIST:
		if (r->res.exist.reserved1)
			mp_pr_hex(p, "ulReserved1", r->res.exist.reserved1, 8);
		mp_nspi_print_proptag(p, "ulPropTag", r->res.exist.proptag);
		if (r->res.exist.reserved2)
			mp_pr_hex(p, "ulReserved2", r->res.exist.reserved2, 8);
		break;
	case MP_NSPI_RES_SUB:
		mp_nspi_print_proptag(p, "ulSubObject", r->res.sub.sub_object);
		mp_nspi_print_restriction(p, "lpRes", r->res.sub.res);
		break;
	default:
		break;
	}
	mp_pr_end(p);
}

void mp_nspi_print_propname(struct mp_printer *p, const char *name,
			    const struct mp_nspi_propname *n)
{
	if (!n) {
		mp_pr_str(p, name, NULL);
		return;
	}
	mp_pr_begin(p, name);
	mp_nspi_print_flatuid(p, "lpguid", n->guid);
	if (n->reserved)
		mp_pr_hex(p, "ulReserved", n->reserved, 8);
	mp_pr_hex(p, "lID", (uint32_t)n->id, 8);
	mp_pr_end(p);
}

void mp_nspi_print_propname_set(struct mp_printer *p, const char *name,
				const struct mp_nspi_propname_set *s)
{
	if (!s) {
		mp_pr_str(p, name, NULL);
		return;
	}
	mp_pr_begin_array(p, name, s->count);
	for (uint32_t i = 0; s->names && i < s->count; i++)
		mp_nspi_print_propname(p, NULL, &s->names[i]);
	mp_pr_end_array(p);
}

void mp_nspi_print_strings(struct mp_printer *p, const char *name,
			   const struct mp_nspi_strings *s)
{
	print_strings(p, name, s->count, s->strs);
}
