#include "ndr/ndr.h"

#include <string.h>
#include <talloc.h>

void mp_ndr_pull_init(struct mp_ndr_pull *pull, const void *data, size_t len, void *mem)
{
	memset(pull, 0, sizeof(*pull));
	mp_rc_init(&pull->rc, data, len);
	pull->mem = mem;
}

void mp_ndr_pull_fail(struct mp_ndr_pull *pull, const char *why)
{
	if (!pull->error)
		pull->error = why;
	pull->rc.bad = true;
}

bool mp_ndr_pull_at_end(const struct mp_ndr_pull *pull)
{
	return !pull->rc.bad && pull->rc.off == pull->rc.len;
}

static void check_bounds(struct mp_ndr_pull *pull)
{
	if (pull->rc.bad && !pull->error)
		pull->error = "stub too short";
}

static void record_pad(struct mp_ndr_pull *pull, size_t gap, const uint8_t *p, size_t len)
{
	struct mp_ndr_refs *r = &pull->refs;
	if (r->npads == pull->pads_cap) {
		size_t cap = pull->pads_cap ? pull->pads_cap * 2 : 8;
		struct mp_ndr_pad *pads = talloc_realloc(pull->mem, r->pads, struct mp_ndr_pad, cap);
		if (!pads) {
			mp_ndr_pull_fail(pull, "out of memory");
			return;
		}
		r->pads = pads;
		pull->pads_cap = cap;
	}
	struct mp_ndr_pad *pad = &r->pads[r->npads++];
	memset(pad, 0, sizeof(*pad));
	pad->gap = gap;
	pad->len = (uint8_t)len;
	memcpy(pad->bytes, p, len);
}

/* Skip to a multiple of n; a gap that is not all zeros is kept for replay. */
static void pull_gap(struct mp_ndr_pull *pull, size_t n)
{
	if (n <= 1 || pull->rc.bad)
		return;
	size_t len = (n - (pull->rc.off % n)) % n;
	if (!len)
		return;
	const uint8_t *p = mp_rc_take(&pull->rc, len);
	check_bounds(pull);
	if (!p)
		return;
	size_t gap = pull->gaps++;
	for (size_t i = 0; i < len; i++) {
		if (p[i]) {
			record_pad(pull, gap, p, len);
			break;
		}
	}
}

void mp_ndr_pull_align(struct mp_ndr_pull *pull, size_t n)
{
	pull_gap(pull, n);
}

uint8_t mp_ndr_pull_u8(struct mp_ndr_pull *pull)
{
	uint8_t v = mp_rc_u8(&pull->rc);
	check_bounds(pull);
	return v;
}

uint16_t mp_ndr_pull_u16(struct mp_ndr_pull *pull)
{
	pull_gap(pull, 2);
	uint16_t v = mp_rc_u16(&pull->rc);
	check_bounds(pull);
	return v;
}

uint32_t mp_ndr_pull_u32(struct mp_ndr_pull *pull)
{
	pull_gap(pull, 4);
	uint32_t v = mp_rc_u32(&pull->rc);
	check_bounds(pull);
	return v;
}

uint64_t mp_ndr_pull_u64(struct mp_ndr_pull *pull)
{
	pull_gap(pull, 8);
	uint64_t lo = mp_rc_u32(&pull->rc);
	uint64_t hi = mp_rc_u32(&pull->rc);
	check_bounds(pull);
	return lo | (hi << 32);
}

const uint8_t *mp_ndr_pull_bytes(struct mp_ndr_pull *pull, size_t n)
{
	if (n == 0)
		return pull->rc.bad ? NULL : (const uint8_t *)"";
	const uint8_t *p = mp_rc_take(&pull->rc, n);
	check_bounds(pull);
	return p;
}

uint8_t *mp_ndr_pull_bytes_dup(struct mp_ndr_pull *pull, size_t n)
{
	const uint8_t *p = mp_ndr_pull_bytes(pull, n);
	if (!p)
		return NULL;
	/* talloc_memdup of 0 bytes still returns a distinct allocation. */
	uint8_t *copy = talloc_size(pull->mem, n ? n : 1);
	if (!copy) {
		mp_ndr_pull_fail(pull, "out of memory");
		return NULL;
	}
	if (n)
		memcpy(copy, p, n);
	return copy;
}

static void record_ref(struct mp_ndr_pull *pull, uint32_t id)
{
	if (pull->refs.count == pull->refs_cap) {
		size_t cap = pull->refs_cap ? pull->refs_cap * 2 : 16;
		uint32_t *ids = talloc_realloc(pull->mem, pull->refs.ids, uint32_t, cap);
		if (!ids) {
			mp_ndr_pull_fail(pull, "out of memory");
			return;
		}
		pull->refs.ids = ids;
		pull->refs_cap = cap;
	}
	pull->refs.ids[pull->refs.count++] = id;
}

bool mp_ndr_pull_ptr(struct mp_ndr_pull *pull)
{
	uint32_t id = mp_ndr_pull_u32(pull);
	if (pull->rc.bad || id == 0)
		return false;
	record_ref(pull, id);
	return !pull->rc.bad;
}

uint32_t mp_ndr_pull_count(struct mp_ndr_pull *pull, size_t min_elem_size)
{
	uint32_t n = mp_ndr_pull_u32(pull);
	if (pull->rc.bad)
		return 0;
	if (n > MP_NDR_MAX_COUNT ||
	    (min_elem_size && (uint64_t)n * min_elem_size > mp_rc_left(&pull->rc))) {
		mp_ndr_pull_fail(pull, "array count larger than the stub");
		return 0;
	}
	return n;
}

/* Reads max/offset/actual of a varying string and checks them. */
static uint32_t pull_string_header(struct mp_ndr_pull *pull, size_t unit, uint32_t *max_count)
{
	uint32_t max = mp_ndr_pull_count(pull, 0);
	uint32_t offset = mp_ndr_pull_u32(pull);
	uint32_t actual = mp_ndr_pull_count(pull, unit);
	if (pull->rc.bad)
		return 0;
	if (offset != 0 || actual > max || actual == 0) {
		mp_ndr_pull_fail(pull, "bad string header");
		return 0;
	}
	if (max_count)
		*max_count = max;
	return actual;
}

char *mp_ndr_pull_string8(struct mp_ndr_pull *pull, uint32_t *max_count)
{
	uint32_t n = pull_string_header(pull, 1, max_count);
	const uint8_t *p = n ? mp_ndr_pull_bytes(pull, n) : NULL;
	if (!p)
		return NULL;
	if (p[n - 1] != 0 || memchr(p, 0, n - 1)) {
		mp_ndr_pull_fail(pull, "string not terminated by its only NUL");
		return NULL;
	}
	char *s = talloc_strndup(pull->mem, (const char *)p, n - 1);
	if (!s)
		mp_ndr_pull_fail(pull, "out of memory");
	return s;
}

char *mp_ndr_pull_string16(struct mp_ndr_pull *pull, uint32_t *max_count)
{
	uint32_t n = pull_string_header(pull, 2, max_count);
	const uint8_t *p = n ? mp_ndr_pull_bytes(pull, (size_t)n * 2) : NULL;
	if (!p)
		return NULL;
	if (mp_get_u16(p + (size_t)(n - 1) * 2) != 0) {
		mp_ndr_pull_fail(pull, "string not terminated");
		return NULL;
	}
	for (uint32_t i = 0; i + 1 < n; i++) {
		if (mp_get_u16(p + (size_t)i * 2) == 0) {
			mp_ndr_pull_fail(pull, "NUL inside a string");
			return NULL;
		}
	}
	char *s = mp_utf16le_to_utf8(pull->mem, p, (size_t)(n - 1) * 2);
	if (!s)
		mp_ndr_pull_fail(pull, "invalid UTF-16 string");
	return s;
}

void mp_ndr_pull_handle(struct mp_ndr_pull *pull, struct mp_ndr_handle *h)
{
	h->attributes = mp_ndr_pull_u32(pull);
	const uint8_t *p = mp_ndr_pull_bytes(pull, 16);
	if (p)
		memcpy(h->uuid, p, 16);
	else
		memset(h->uuid, 0, 16);
}

void mp_ndr_pull_guid(struct mp_ndr_pull *pull, uint8_t out[16])
{
	mp_ndr_pull_align(pull, 4);
	const uint8_t *p = mp_ndr_pull_bytes(pull, 16);
	if (p)
		memcpy(out, p, 16);
	else
		memset(out, 0, 16);
}

struct mp_ndr_refs mp_ndr_pull_take_refs(struct mp_ndr_pull *pull, void *mem)
{
	struct mp_ndr_refs refs = pull->refs;
	if (refs.ids)
		talloc_steal(mem, refs.ids);
	if (refs.pads)
		talloc_steal(mem, refs.pads);
	memset(&pull->refs, 0, sizeof(pull->refs));
	pull->refs_cap = 0;
	pull->pads_cap = 0;
	return refs;
}

void mp_ndr_push_init(struct mp_ndr_push *push, const struct mp_ndr_refs *replay)
{
	memset(push, 0, sizeof(*push));
	mp_wb_init(&push->wb);
	push->replay = replay;
	push->next_ref = 0x00020000;
}

void mp_ndr_push_free(struct mp_ndr_push *push)
{
	mp_wb_free(&push->wb);
}

/* Pad to a multiple of n with the bytes the pull saw at this gap, or zeros. */
static void push_gap(struct mp_ndr_push *push, size_t n)
{
	if (n <= 1)
		return;
	size_t len = (n - (push->wb.len % n)) % n;
	if (!len)
		return;
	size_t gap = push->gaps++;
	const struct mp_ndr_refs *r = push->replay;
	if (r) {
		while (push->pads_next < r->npads && r->pads[push->pads_next].gap < gap)
			push->pads_next++;
		if (push->pads_next < r->npads && r->pads[push->pads_next].gap == gap &&
		    r->pads[push->pads_next].len == len) {
			mp_wb_bytes(&push->wb, r->pads[push->pads_next].bytes, len);
			push->pads_next++;
			return;
		}
	}
	mp_wb_zeros(&push->wb, len);
}

void mp_ndr_push_align(struct mp_ndr_push *push, size_t n)
{
	push_gap(push, n);
}

void mp_ndr_push_u8(struct mp_ndr_push *push, uint8_t v)
{
	mp_wb_u8(&push->wb, v);
}

void mp_ndr_push_u16(struct mp_ndr_push *push, uint16_t v)
{
	push_gap(push, 2);
	mp_wb_u16(&push->wb, v);
}

void mp_ndr_push_u32(struct mp_ndr_push *push, uint32_t v)
{
	push_gap(push, 4);
	mp_wb_u32(&push->wb, v);
}

void mp_ndr_push_u64(struct mp_ndr_push *push, uint64_t v)
{
	push_gap(push, 8);
	mp_wb_u32(&push->wb, (uint32_t)v);
	mp_wb_u32(&push->wb, (uint32_t)(v >> 32));
}

void mp_ndr_push_bytes(struct mp_ndr_push *push, const void *p, size_t n)
{
	if (n)
		mp_wb_bytes(&push->wb, p, n);
}

void mp_ndr_push_ptr(struct mp_ndr_push *push, bool present)
{
	if (!present) {
		mp_ndr_push_u32(push, 0);
		return;
	}
	uint32_t id;
	if (push->replay && push->replay_next < push->replay->count) {
		id = push->replay->ids[push->replay_next++];
	} else {
		id = push->next_ref;
		push->next_ref += 4;
	}
	mp_ndr_push_u32(push, id);
}

void mp_ndr_push_string8(struct mp_ndr_push *push, const char *s, uint32_t max_count)
{
	size_t n = strlen(s) + 1;
	if (n > MP_NDR_MAX_COUNT) {
		push->wb.bad = true;
		return;
	}
	mp_ndr_push_u32(push, max_count > n ? max_count : (uint32_t)n);
	mp_ndr_push_u32(push, 0);
	mp_ndr_push_u32(push, (uint32_t)n);
	mp_ndr_push_bytes(push, s, n);
}

void mp_ndr_push_string16(struct mp_ndr_push *push, const char *s, uint32_t max_count)
{
	size_t nbytes;
	uint8_t *w = mp_utf8_to_utf16le(NULL, s, &nbytes);
	if (!w || nbytes / 2 + 1 > MP_NDR_MAX_COUNT) {
		talloc_free(w);
		push->wb.bad = true;
		return;
	}
	uint32_t n = (uint32_t)(nbytes / 2 + 1);
	mp_ndr_push_u32(push, max_count > n ? max_count : n);
	mp_ndr_push_u32(push, 0);
	mp_ndr_push_u32(push, n);
	mp_ndr_push_bytes(push, w, nbytes);
	mp_wb_u16(&push->wb, 0);
	talloc_free(w);
}

void mp_ndr_push_handle(struct mp_ndr_push *push, const struct mp_ndr_handle *h)
{
	mp_ndr_push_u32(push, h->attributes);
	mp_ndr_push_bytes(push, h->uuid, 16);
}

void mp_ndr_push_guid(struct mp_ndr_push *push, const uint8_t guid[16])
{
	mp_ndr_push_align(push, 4);
	mp_ndr_push_bytes(push, guid, 16);
}

char *mp_utf16le_to_utf8(void *mem, const uint8_t *le, size_t nbytes)
{
	if (nbytes % 2)
		return NULL;
	size_t units = nbytes / 2;
	/* At most 3 UTF-8 bytes per UTF-16 unit (a pair gives 4 for 2 units). */
	char *out = talloc_size(mem, units * 3 + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < units; i++) {
		uint32_t c = mp_get_u16(le + i * 2);
		if (c >= 0xD800 && c <= 0xDBFF) {
			uint32_t lo = i + 1 < units ? mp_get_u16(le + (i + 1) * 2) : 0;
			if (lo < 0xDC00 || lo > 0xDFFF)
				goto bad;
			c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
			i++;
		} else if (c >= 0xDC00 && c <= 0xDFFF) {
			goto bad;
		}
		if (c < 0x80) {
			out[o++] = (char)c;
		} else if (c < 0x800) {
			out[o++] = (char)(0xC0 | (c >> 6));
			out[o++] = (char)(0x80 | (c & 0x3F));
		} else if (c < 0x10000) {
			out[o++] = (char)(0xE0 | (c >> 12));
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
			out[o++] = (char)(0x80 | (c & 0x3F));
		} else {
			out[o++] = (char)(0xF0 | (c >> 18));
			out[o++] = (char)(0x80 | ((c >> 12) & 0x3F));
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
			out[o++] = (char)(0x80 | (c & 0x3F));
		}
	}
	out[o] = 0;
	return out;
bad:
	talloc_free(out);
	return NULL;
}

uint8_t *mp_utf8_to_utf16le(void *mem, const char *s, size_t *nbytes)
{
	size_t len = strlen(s);
	/* Each UTF-8 byte yields at most one UTF-16 unit. */
	uint8_t *out = talloc_size(mem, len * 2 + 2);
	if (!out)
		return NULL;
	const uint8_t *u = (const uint8_t *)s;
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		uint32_t c = u[i];
		size_t extra;
		uint32_t min;
		if (c < 0x80) {
			extra = 0, min = 0;
		} else if ((c & 0xE0) == 0xC0) {
			extra = 1, min = 0x80, c &= 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			extra = 2, min = 0x800, c &= 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			extra = 3, min = 0x10000, c &= 0x07;
		} else {
			goto bad;
		}
		if (extra > len - i - 1)
			goto bad;
		for (size_t k = 1; k <= extra; k++) {
			if ((u[i + k] & 0xC0) != 0x80)
				goto bad;
			c = (c << 6) | (u[i + k] & 0x3F);
		}
		if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
			goto bad;
		i += extra + 1;
		if (c >= 0x10000) {
			c -= 0x10000;
			mp_put_u16(out + o, (uint16_t)(0xD800 + (c >> 10)));
			mp_put_u16(out + o + 2, (uint16_t)(0xDC00 + (c & 0x3FF)));
			o += 4;
		} else {
			mp_put_u16(out + o, (uint16_t)c);
			o += 2;
		}
	}
	out[o] = out[o + 1] = 0;
	*nbytes = o;
	return out;
bad:
	talloc_free(out);
	return NULL;
}
