#include "util/cursor.h"

#include <stdlib.h>
#include <string.h>

const uint8_t *mp_rc_take(struct mp_rcursor *rc, size_t n)
{
	if (rc->bad || n > rc->len - rc->off) {
		rc->bad = true;
		return NULL;
	}
	const uint8_t *p = rc->data + rc->off;
	rc->off += n;
	return p;
}

uint8_t mp_rc_u8(struct mp_rcursor *rc)
{
	const uint8_t *p = mp_rc_take(rc, 1);
	return p ? p[0] : 0;
}

uint16_t mp_rc_u16(struct mp_rcursor *rc)
{
	const uint8_t *p = mp_rc_take(rc, 2);
	return p ? mp_get_u16(p) : 0;
}

uint32_t mp_rc_u32(struct mp_rcursor *rc)
{
	const uint8_t *p = mp_rc_take(rc, 4);
	return p ? mp_get_u32(p) : 0;
}

uint16_t mp_rc_u16be(struct mp_rcursor *rc)
{
	const uint8_t *p = mp_rc_take(rc, 2);
	return p ? (uint16_t)((p[0] << 8) | p[1]) : 0;
}

uint32_t mp_rc_u32be(struct mp_rcursor *rc)
{
	const uint8_t *p = mp_rc_take(rc, 4);
	return p ? ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]
		 : 0;
}

void mp_rc_skip(struct mp_rcursor *rc, size_t n)
{
	(void)mp_rc_take(rc, n);
}

void mp_rc_align(struct mp_rcursor *rc, size_t align)
{
	size_t pad = (align - (rc->off % align)) % align;
	mp_rc_skip(rc, pad);
}

void mp_wb_init(struct mp_wbuf *wb)
{
	memset(wb, 0, sizeof(*wb));
}

void mp_wb_free(struct mp_wbuf *wb)
{
	free(wb->data);
	mp_wb_init(wb);
}

uint8_t *mp_wb_grow(struct mp_wbuf *wb, size_t n)
{
	if (wb->bad)
		return NULL;
	if (n > SIZE_MAX / 2 - wb->len) {
		wb->bad = true;
		return NULL;
	}
	/* Allocate even for n == 0: `NULL + 0` is undefined behaviour in C. */
	if (wb->len + n > wb->cap || !wb->data) {
		size_t cap = wb->cap ? wb->cap : 256;
		while (cap < wb->len + n)
			cap *= 2;
		uint8_t *d = realloc(wb->data, cap);
		if (!d) {
			wb->bad = true;
			return NULL;
		}
		wb->data = d;
		wb->cap = cap;
	}
	uint8_t *p = wb->data + wb->len;
	wb->len += n;
	return p;
}

void mp_wb_bytes(struct mp_wbuf *wb, const void *src, size_t n)
{
	uint8_t *p = mp_wb_grow(wb, n);
	if (p && n)
		memcpy(p, src, n);
}

void mp_wb_zeros(struct mp_wbuf *wb, size_t n)
{
	uint8_t *p = mp_wb_grow(wb, n);
	if (p && n)
		memset(p, 0, n);
}

void mp_wb_u8(struct mp_wbuf *wb, uint8_t v)
{
	uint8_t *p = mp_wb_grow(wb, 1);
	if (p)
		p[0] = v;
}

void mp_wb_u16(struct mp_wbuf *wb, uint16_t v)
{
	uint8_t *p = mp_wb_grow(wb, 2);
	if (p)
		mp_put_u16(p, v);
}

void mp_wb_u32(struct mp_wbuf *wb, uint32_t v)
{
	uint8_t *p = mp_wb_grow(wb, 4);
	if (p)
		mp_put_u32(p, v);
}

void mp_wb_u16be(struct mp_wbuf *wb, uint16_t v)
{
	uint8_t *p = mp_wb_grow(wb, 2);
	if (p) {
		p[0] = (uint8_t)(v >> 8);
		p[1] = (uint8_t)v;
	}
}

void mp_wb_u32be(struct mp_wbuf *wb, uint32_t v)
{
	uint8_t *p = mp_wb_grow(wb, 4);
	if (p) {
		p[0] = (uint8_t)(v >> 24);
		p[1] = (uint8_t)(v >> 16);
		p[2] = (uint8_t)(v >> 8);
		p[3] = (uint8_t)v;
	}
}

void mp_wb_align(struct mp_wbuf *wb, size_t align)
{
	mp_wb_zeros(wb, (align - (wb->len % align)) % align);
}

void mp_wb_put_u16_at(struct mp_wbuf *wb, size_t off, uint16_t v)
{
	if (!wb->bad && off <= wb->len && wb->len - off >= 2)
		mp_put_u16(wb->data + off, v);
}

void mp_wb_put_u32_at(struct mp_wbuf *wb, size_t off, uint32_t v)
{
	if (!wb->bad && off <= wb->len && wb->len - off >= 4)
		mp_put_u32(wb->data + off, v);
}
