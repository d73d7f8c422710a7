/*
 * Bounds-checked little-endian byte reader and growable writer.
 *
 * The reader never reads past its window: the first out-of-bounds access sets
 * `bad` and every later read returns zeros, so a parser can read a whole
 * structure and check `bad` once at the end.
 */
#ifndef MP_UTIL_CURSOR_H
#define MP_UTIL_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mp_rcursor {
	const uint8_t *data;
	size_t len;
	size_t off;
	bool bad;
};

static inline void mp_rc_init(struct mp_rcursor *rc, const void *data, size_t len)
{
	rc->data = data;
	rc->len = len;
	rc->off = 0;
	rc->bad = false;
}

static inline size_t mp_rc_left(const struct mp_rcursor *rc)
{
	return rc->bad ? 0 : rc->len - rc->off;
}

/* Returns a pointer to the next n bytes and advances, or NULL (and sets bad). */
const uint8_t *mp_rc_take(struct mp_rcursor *rc, size_t n);
uint8_t mp_rc_u8(struct mp_rcursor *rc);
uint16_t mp_rc_u16(struct mp_rcursor *rc);
uint32_t mp_rc_u32(struct mp_rcursor *rc);
uint16_t mp_rc_u16be(struct mp_rcursor *rc);
uint32_t mp_rc_u32be(struct mp_rcursor *rc);
void mp_rc_skip(struct mp_rcursor *rc, size_t n);
/* Skip to the next multiple of `align` counted from the start of the window. */
void mp_rc_align(struct mp_rcursor *rc, size_t align);

/* Writer: owns a malloc'd buffer that grows; `bad` is set on allocation failure. */
struct mp_wbuf {
	uint8_t *data;
	size_t len;
	size_t cap;
	bool bad;
};

void mp_wb_init(struct mp_wbuf *wb);
void mp_wb_free(struct mp_wbuf *wb);
/* Reserve n bytes at the end and return them (uninitialised), or NULL. */
uint8_t *mp_wb_grow(struct mp_wbuf *wb, size_t n);
void mp_wb_bytes(struct mp_wbuf *wb, const void *p, size_t n);
void mp_wb_zeros(struct mp_wbuf *wb, size_t n);
void mp_wb_u8(struct mp_wbuf *wb, uint8_t v);
void mp_wb_u16(struct mp_wbuf *wb, uint16_t v);
void mp_wb_u32(struct mp_wbuf *wb, uint32_t v);
void mp_wb_u16be(struct mp_wbuf *wb, uint16_t v);
void mp_wb_u32be(struct mp_wbuf *wb, uint32_t v);
void mp_wb_align(struct mp_wbuf *wb, size_t align);
/* Overwrite a little-endian u16/u32 at an earlier offset (lengths known late). */
void mp_wb_put_u16_at(struct mp_wbuf *wb, size_t off, uint16_t v);
void mp_wb_put_u32_at(struct mp_wbuf *wb, size_t off, uint32_t v);

static inline uint16_t mp_get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t mp_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static inline void mp_put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void mp_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

#endif
