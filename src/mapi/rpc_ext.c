/*
 * RPC_HEADER_EXT chains (MS-OXCRPC 2.2.2.1): see rpc_ext.h.
 */
#include "mapi/rpc_ext.h"

#include "mapi/lz77.h"
#include "util/status.h"

#include <stdlib.h>
#include <string.h>
#include <talloc.h>

void mp_rpc_ext_limits_init(struct mp_rpc_ext_limits *lim, enum mp_rpc_ext_buf buf)
{
	bool aux = buf == MP_RPC_EXT_RGBAUXIN || buf == MP_RPC_EXT_RGBAUXOUT;

	lim->max_buf = aux ? MP_RPC_EXT_MAX_AUX_BUF : MP_RPC_EXT_MAX_ROP_BUF;
	lim->max_segments = lim->max_buf / MP_RHE_SIZE;
	lim->max_payload = MP_RPC_EXT_MAX_PAYLOAD;
	lim->max_total = lim->max_buf * 16;
}

void mp_rpc_ext_xor(uint8_t *p, size_t n)
{
	/* Eight bytes at a time: the same for every byte, so no endianness. */
	const uint64_t k = 0xa5a5a5a5a5a5a5a5ull;
	size_t i = 0;
	for (; n - i >= 8; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		w ^= k;
		memcpy(p + i, &w, 8);
	}
	for (; i < n; i++)
		p[i] ^= 0xa5;
}

static int fail(const char **why, const char *reason, int status)
{
	if (why)
		*why = reason;
	return status;
}

/* Restore one segment's payload from its wire bytes. */
static int restore(void *mem, struct mp_rpc_ext_seg *seg, const char **why)
{
	const uint8_t *src = seg->wire;
	uint8_t *tmp = NULL;

	if (!(seg->flags & (MP_RHE_COMPRESSED | MP_RHE_XORMAGIC))) {
		seg->payload = seg->wire;
		return MP_OK;
	}
	if (seg->flags & MP_RHE_XORMAGIC) {
		/* Obfuscated: de-XOR a copy (the payload itself when it is not
		 * also compressed). */
		tmp = talloc_size(mem, seg->size ? seg->size : 1);
		if (!tmp)
			return fail(why, "out of memory", MP_ERR_NOMEM);
		if (seg->size)
			memcpy(tmp, seg->wire, seg->size);
		mp_rpc_ext_xor(tmp, seg->size);
		src = tmp;
		if (!(seg->flags & MP_RHE_COMPRESSED)) {
			seg->payload = tmp;
			return MP_OK;
		}
	}
	uint8_t *out = talloc_size(mem, seg->size_actual);
	if (!out) {
		talloc_free(tmp);
		return fail(why, "out of memory", MP_ERR_NOMEM);
	}
	ssize_t n = mp_lz77_decompress(src, seg->size, out, seg->size_actual);
	talloc_free(tmp);
	if (n < 0) {
		talloc_free(out);
		if (n == MP_ERR_LIMIT)
			return fail(why, "compressed payload restores to more than SizeActual",
			            MP_ERR_PARSE);
		return fail(why, "corrupt compressed payload", MP_ERR_PARSE);
	}
	if ((size_t)n != seg->size_actual) {
		talloc_free(out);
		return fail(why, "compressed payload restores to less than SizeActual",
		            MP_ERR_PARSE);
	}
	seg->payload = out;
	return MP_OK;
}

int mp_rpc_ext_parse(void *mem, const uint8_t *buf, size_t len, const struct mp_rpc_ext_limits *lim,
                     struct mp_rpc_ext **out, const char **why)
{
	struct mp_rpc_ext_limits dflt;
	struct mp_rcursor rc;
	int ret;

	*out = NULL;
	if (!lim) {
		mp_rpc_ext_limits_init(&dflt, MP_RPC_EXT_RGBOUT);
		lim = &dflt;
	}
	if (len > lim->max_buf)
		return fail(why, "buffer larger than the protocol allows", MP_ERR_LIMIT);

	/* Count the segments first (headers only), so the array is sized
	 * once and nothing is allocated for a buffer that is malformed. */
	size_t count = 0;
	size_t total = 0;
	bool last = false;
	mp_rc_init(&rc, buf, len);
	while (!last) {
		if (mp_rc_left(&rc) == 0)
			return fail(why, "no segment with the Last flag", MP_ERR_PARSE);
		const uint8_t *h = mp_rc_take(&rc, MP_RHE_SIZE);
		if (!h)
			return fail(why, "truncated RPC_HEADER_EXT", MP_ERR_PARSE);
		uint16_t version = mp_get_u16(h);
		uint16_t flags = mp_get_u16(h + 2);
		uint16_t size = mp_get_u16(h + 4);
		uint16_t actual = mp_get_u16(h + 6);
		if (version != 0)
			return fail(why, "RPC_HEADER_EXT version is not 0", MP_ERR_UNSUPPORTED);
		if (flags & MP_RHE_COMPRESSED) {
			if (size >= actual)
				return fail(why, "compressed segment not smaller than SizeActual",
				            MP_ERR_PARSE);
		} else if (size != actual) {
			return fail(why, "Size differs from SizeActual without compression",
			            MP_ERR_PARSE);
		}
		if (!mp_rc_take(&rc, size))
			return fail(why, "payload shorter than Size", MP_ERR_PARSE);
		if (actual > lim->max_payload)
			return fail(why, "segment payload larger than the limit", MP_ERR_LIMIT);
		if (++count > lim->max_segments)
			return fail(why, "too many segments", MP_ERR_LIMIT);
		total += actual;
		if (total > lim->max_total)
			return fail(why, "restored payloads larger than the limit", MP_ERR_LIMIT);
		last = flags & MP_RHE_LAST;
	}

	struct mp_rpc_ext *ext = talloc_zero(mem, struct mp_rpc_ext);
	if (!ext)
		return fail(why, "out of memory", MP_ERR_NOMEM);
	ext->segs = talloc_zero_array(ext, struct mp_rpc_ext_seg, count);
	if (!ext->segs) {
		talloc_free(ext);
		return fail(why, "out of memory", MP_ERR_NOMEM);
	}
	ext->count = count;
	ext->total = total;

	const uint8_t *p = buf;
	for (size_t i = 0; i < count; i++) {
		struct mp_rpc_ext_seg *seg = &ext->segs[i];
		seg->version = mp_get_u16(p);
		seg->flags = mp_get_u16(p + 2);
		seg->size = mp_get_u16(p + 4);
		seg->size_actual = mp_get_u16(p + 6);
		seg->wire = p + MP_RHE_SIZE;
		p += MP_RHE_SIZE + seg->size;
		ret = restore(ext, seg, why);
		if (ret != MP_OK) {
			talloc_free(ext);
			return ret;
		}
	}
	ext->trailing = p;
	ext->trailing_len = len - (size_t)(p - buf);
	*out = ext;
	return MP_OK;
}

struct mp_rpc_ext *mp_rpc_ext_new(void *mem)
{
	return talloc_zero(mem, struct mp_rpc_ext);
}

int mp_rpc_ext_seg_set_payload(struct mp_rpc_ext *ext, struct mp_rpc_ext_seg *seg,
                               const void *payload, size_t len)
{
	if (len > 0xffff)
		return MP_ERR_LIMIT;
	uint8_t *copy = talloc_size(ext, len ? len : 1);
	if (!copy)
		return MP_ERR_NOMEM;
	if (len)
		memcpy(copy, payload, len);
	ext->total = ext->total - seg->size_actual + len;
	seg->payload = copy;
	seg->size_actual = (uint16_t)len;
	seg->size = (uint16_t)len; /* until the next build compresses it */
	seg->wire = NULL;
	return MP_OK;
}

struct mp_rpc_ext_seg *mp_rpc_ext_add(struct mp_rpc_ext *ext, uint16_t flags, const void *payload,
                                      size_t len)
{
	if (len > 0xffff)
		return NULL;
	struct mp_rpc_ext_seg *segs =
	    talloc_realloc(ext, ext->segs, struct mp_rpc_ext_seg, ext->count + 1);
	if (!segs)
		return NULL;
	ext->segs = segs;
	struct mp_rpc_ext_seg *seg = &segs[ext->count];
	memset(seg, 0, sizeof(*seg));
	if (mp_rpc_ext_seg_set_payload(ext, seg, payload, len) != MP_OK)
		return NULL;
	if (ext->count)
		segs[ext->count - 1].flags &= (uint16_t)~MP_RHE_LAST;
	seg->flags = flags | MP_RHE_LAST;
	ext->count++;
	return seg;
}

/* Encode a segment whose payload was replaced: compress if asked and
 * useful, then obfuscate if asked. */
static int encode_payload(struct mp_rpc_ext_seg *seg, struct mp_wbuf *out)
{
	size_t hdr = out->len;
	uint8_t *h = mp_wb_grow(out, MP_RHE_SIZE);
	if (!h)
		return MP_ERR_NOMEM;

	size_t n = seg->size_actual;
	uint8_t *dst = NULL;
	if ((seg->flags & MP_RHE_COMPRESSED) && n) {
		/* Only a result smaller than the payload is allowed (Size <
		 * SizeActual), so the output never needs more than n - 1. */
		dst = mp_wb_grow(out, n - 1);
		if (!dst)
			return MP_ERR_NOMEM;
		ssize_t c = mp_lz77_compress(seg->payload, n, dst, n - 1);
		if (c == MP_ERR_NOMEM)
			return MP_ERR_NOMEM;
		if (c > 0) {
			out->len -= n - 1 - (size_t)c;
			n = (size_t)c;
		} else {
			out->len -= n - 1;
			dst = NULL;
		}
	}
	if (!dst) {
		seg->flags &= (uint16_t)~MP_RHE_COMPRESSED;
		dst = mp_wb_grow(out, n);
		if (!dst && n)
			return MP_ERR_NOMEM;
		if (n)
			memcpy(dst, seg->payload, n);
	}
	if (seg->flags & MP_RHE_XORMAGIC)
		mp_rpc_ext_xor(dst, n);
	seg->size = (uint16_t)n;
	h = out->data + hdr;
	mp_put_u16(h, seg->version);
	mp_put_u16(h + 2, seg->flags);
	mp_put_u16(h + 4, seg->size);
	mp_put_u16(h + 6, seg->size_actual);
	return MP_OK;
}

int mp_rpc_ext_build(struct mp_rpc_ext *ext, struct mp_wbuf *out)
{
	for (size_t i = 0; i < ext->count; i++) {
		struct mp_rpc_ext_seg *seg = &ext->segs[i];
		if (!seg->wire) {
			int ret = encode_payload(seg, out);
			if (ret != MP_OK)
				return ret;
			continue;
		}
		mp_wb_u16(out, seg->version);
		mp_wb_u16(out, seg->flags);
		mp_wb_u16(out, seg->size);
		mp_wb_u16(out, seg->size_actual);
		mp_wb_bytes(out, seg->wire, seg->size);
	}
	if (ext->trailing_len)
		mp_wb_bytes(out, ext->trailing, ext->trailing_len);
	return out->bad ? MP_ERR_NOMEM : MP_OK;
}

uint8_t *mp_rpc_ext_join(void *mem, const struct mp_rpc_ext *ext, size_t *len)
{
	uint8_t *all = talloc_size(mem, ext->total ? ext->total : 1);
	if (!all)
		return NULL;
	size_t off = 0;
	for (size_t i = 0; i < ext->count; i++) {
		const struct mp_rpc_ext_seg *seg = &ext->segs[i];
		if (seg->size_actual)
			memcpy(all + off, seg->payload, seg->size_actual);
		off += seg->size_actual;
	}
	*len = off;
	return all;
}

static const struct mp_flag_name rhe_flag_names[] = {
    {MP_RHE_COMPRESSED, "Compressed"},
    {MP_RHE_XORMAGIC, "XorMagic"},
    {MP_RHE_LAST, "Last"},
    {0, NULL},
};

void mp_rpc_ext_print(struct mp_printer *p, const char *name, const struct mp_rpc_ext *ext)
{
	mp_pr_begin_array(p, name, ext->count);
	for (size_t i = 0; i < ext->count; i++) {
		const struct mp_rpc_ext_seg *seg = &ext->segs[i];
		mp_pr_begin(p, NULL);
		mp_pr_begin(p, "RPC_HEADER_EXT");
		mp_pr_hex(p, "Version", seg->version, 4);
		mp_pr_flags(p, "Flags", seg->flags, 4, rhe_flag_names);
		mp_pr_uint(p, "Size", seg->size);
		mp_pr_uint(p, "SizeActual", seg->size_actual);
		mp_pr_end(p);
		mp_pr_bytes(p, "Payload", seg->payload, seg->size_actual);
		mp_pr_end(p);
	}
	mp_pr_end_array(p);
	if (ext->trailing_len)
		mp_pr_bytes(p, "TrailingBytes", ext->trailing, ext->trailing_len);
}
