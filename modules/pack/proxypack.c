/*
 * The proxypack blob (proxypack.h): packing native ROP buffers into
 * carriers and restoring them, every length from the peer checked.
 */
#include "pack/proxypack.h"

#include "mapi/rop.h"
#include "util/cursor.h"
#include "util/status.h"

#include <string.h>
#include <talloc.h>
#include <zlib.h>

static const uint8_t magic[4] = {'M', 'P', 'P', 'K'};

uint32_t proxypack_crc(const struct proxypack_bufs *bufs)
{
	uLong crc = crc32(0L, Z_NULL, 0);
	for (size_t i = 0; i < bufs->count; i++) {
		uint8_t fl[2];
		mp_put_u16(fl, bufs->segs[i].flags); /* restored flags matter too */
		crc = crc32(crc, fl, 2);
		const uint8_t *p = bufs->segs[i].data;
		size_t n = bufs->segs[i].len;
		while (n) { /* zlib takes uInt lengths */
			uInt k = n > 0x40000000u ? 0x40000000u : (uInt)n;
			crc = crc32(crc, p, k);
			p += k;
			n -= k;
		}
	}
	return (uint32_t)crc;
}

bool proxypack_is_carrier(const uint8_t *buf, size_t len)
{
	/* RopSize > 2: there is a first ROP, and 0xA5 is its RopId (with
	 * RopSize 2 the byte would belong to the handle table). */
	return buf && len >= 3 && mp_get_u16(buf) > 2 && buf[2] == PROXYPACK_ROPID;
}

/* ---- packing ---- */

struct extracted {
	size_t off, len;
};

/* Find the listed ROPs of a request buffer: byte ranges, in order. A
 * buffer whose frame does not decode, or a ROP kept opaque, ends the
 * search there (what cannot be delimited stays in place). */
static int find_extract(void *mem, const struct proxypack_seg *seg, const bool *extract,
                        struct extracted **out, size_t *n_out)
{
	*out = NULL;
	*n_out = 0;
	struct mp_rop_buf *buf = NULL;
	void *tmp = talloc_new(mem);
	if (!tmp)
		return MP_ERR_NOMEM;
	int rc = mp_rop_buf_decode(tmp, seg->data, seg->len, false, NULL, NULL, &buf);
	if (rc == MP_ERR_NOMEM) {
		talloc_free(tmp);
		return rc;
	}
	if (rc != MP_OK || buf->count == 0) {
		talloc_free(tmp);
		return MP_OK;
	}
	struct extracted *ex = talloc_array(mem, struct extracted, buf->count);
	if (!ex) {
		talloc_free(tmp);
		return MP_ERR_NOMEM;
	}
	size_t n = 0, end = 2;
	for (size_t i = 0; i < buf->count; i++) {
		const struct mp_rop *rop = buf->rops[i];
		const uint8_t *bytes;
		size_t len, off;
		if (rop->opaque || !mp_rop_bytes(rop, &bytes, &len, &off))
			break;
		/* Ranges must be in order, inside RopsList, and not empty. */
		if (off < end || len == 0 || off + len > buf->rop_size)
			break;
		end = off + len;
		if (extract[rop->id])
			ex[n++] = (struct extracted){off, len};
	}
	talloc_free(tmp);
	*out = ex;
	*n_out = n;
	return MP_OK;
}

/* The first buffer without the extracted ROPs, RopSize lowered. */
static uint8_t *cut_rest(void *mem, const struct proxypack_seg *seg, const struct extracted *ex,
                         size_t n, size_t *rest_len)
{
	size_t cut = 0;
	for (size_t i = 0; i < n; i++)
		cut += ex[i].len;
	uint8_t *rest = talloc_size(mem, seg->len - cut);
	if (!rest)
		return NULL;
	size_t w = 0, r = 0;
	for (size_t i = 0; i < n; i++) {
		memcpy(rest + w, seg->data + r, ex[i].off - r);
		w += ex[i].off - r;
		r = ex[i].off + ex[i].len;
	}
	memcpy(rest + w, seg->data + r, seg->len - r);
	mp_put_u16(rest, (uint16_t)(mp_get_u16(seg->data) - cut));
	*rest_len = seg->len - cut;
	return rest;
}

static void write_body(struct mp_wbuf *wb, const struct proxypack_bufs *native, bool whole,
                       const uint8_t *rest, size_t rest_len, const struct proxypack_seg *first,
                       const struct extracted *ex, size_t n)
{
	mp_wb_u16(wb, (uint16_t)native->count);
	for (size_t i = 0; i < native->count; i++) {
		mp_wb_u16(wb, native->segs[i].flags);
		if (!whole)
			continue;
		const uint8_t *p = i == 0 ? rest : native->segs[i].data;
		size_t len = i == 0 ? rest_len : native->segs[i].len;
		mp_wb_u16(wb, (uint16_t)len);
		mp_wb_bytes(wb, p, len);
	}
	mp_wb_u16(wb, (uint16_t)n);
	for (size_t i = 0; i < n; i++) {
		mp_wb_u16(wb, (uint16_t)ex[i].off);
		mp_wb_u16(wb, (uint16_t)ex[i].len);
		mp_wb_bytes(wb, first->data + ex[i].off, ex[i].len);
	}
}

/* Header + body (compressed when that makes it smaller). */
static uint8_t *make_blob(void *mem, const struct proxypack_opts *o, uint8_t flags, uint32_t crc,
                          const struct mp_wbuf *body, struct proxypack_info *info, size_t *blob_len,
                          int *rc)
{
	uint8_t *z = NULL;
	size_t zlen = 0;
	enum pack_algo used = PACK_ALGO_NONE;
	if (o->algo != PACK_ALGO_NONE && body->len > 1) {
		*rc = pack_compress(mem, o->algo, o->level, body->data, body->len, body->len - 1,
		                    &z, &zlen);
		if (*rc == MP_OK)
			used = o->algo;
		else if (*rc != MP_ERR_LIMIT)
			return NULL;
	}
	const uint8_t *payload = used == PACK_ALGO_NONE ? body->data : z;
	size_t plen = used == PACK_ALGO_NONE ? body->len : zlen;
	*blob_len = PROXYPACK_HDR + plen;
	uint8_t *blob = talloc_size(mem, *blob_len);
	if (!blob) {
		*rc = MP_ERR_NOMEM;
		return NULL;
	}
	memcpy(blob, magic, 4);
	blob[4] = PROXYPACK_VERSION;
	blob[5] = (uint8_t)o->kind;
	blob[6] = (uint8_t)used;
	blob[7] = o->kind == PROXYPACK_REQUEST ? o->accept : 0;
	blob[8] = flags;
	blob[9] = blob[10] = blob[11] = 0;
	mp_put_u32(blob + 12, (uint32_t)body->len);
	mp_put_u32(blob + 16, crc);
	memcpy(blob + PROXYPACK_HDR, payload, plen);
	talloc_free(z);
	info->algo = used;
	*rc = MP_OK;
	return blob;
}

static uint8_t *carrier_seg(void *mem, const uint8_t *frag, size_t cb, const uint8_t *after,
                            size_t after_rops, size_t after_len)
{
	size_t len = PROXYPACK_ROP_HDR + cb + after_len;
	uint8_t *c = talloc_size(mem, len);
	if (!c)
		return NULL;
	mp_put_u16(c, (uint16_t)(PROXYPACK_ROP_HDR + cb + after_rops));
	c[2] = PROXYPACK_ROPID;
	c[3] = 0; /* LogonId */
	c[4] = 0; /* InputHandleIndex */
	mp_put_u16(c + 5, (uint16_t)cb);
	memcpy(c + PROXYPACK_ROP_HDR, frag, cb);
	if (after_len)
		memcpy(c + PROXYPACK_ROP_HDR + cb, after, after_len);
	return c;
}

int proxypack_pack(void *mem, const struct proxypack_bufs *native, const struct proxypack_opts *o,
                   struct proxypack_bufs *carrier, struct proxypack_info *info)
{
	memset(info, 0, sizeof(*info));
	memset(carrier, 0, sizeof(*carrier));
	if (native->count == 0 || native->count > 0xffff ||
	    o->max_payload <= PROXYPACK_ROP_HDR + PROXYPACK_HDR || o->max_fragments == 0)
		return MP_ERR_PARSE;
	for (size_t i = 0; i < native->count; i++) {
		info->native_bytes += native->segs[i].len;
		if (native->segs[i].len > 0xffff)
			return MP_ERR_PARSE;
	}
	bool whole = o->algo != PACK_ALGO_NONE;
	void *tmp = talloc_new(mem);
	if (!tmp)
		return MP_ERR_NOMEM;
	int rc = MP_OK;
	const struct proxypack_seg *first = &native->segs[0];
	struct extracted *ex = NULL;
	size_t n = 0;
	if (o->kind == PROXYPACK_REQUEST && o->extract &&
	    (rc = find_extract(tmp, first, o->extract, &ex, &n)) != MP_OK)
		goto out;
	if (!whole && (n == 0 || native->count != 1)) {
		rc = MP_DECLINED; /* compat mode packs listed ROPs of one buffer only */
		goto out;
	}
	size_t rest_len = first->len;
	const uint8_t *rest = first->data;
	if (n && !(rest = cut_rest(tmp, first, ex, n, &rest_len))) {
		rc = MP_ERR_NOMEM;
		goto out;
	}

	struct mp_wbuf body;
	mp_wb_init(&body);
	write_body(&body, native, whole, rest, rest_len, first, ex, n);
	if (body.bad || body.len > PROXYPACK_MAX_BODY) {
		rc = body.bad ? MP_ERR_NOMEM : MP_ERR_LIMIT;
		mp_wb_free(&body);
		goto out;
	}
	info->kind = o->kind;
	info->accept = o->kind == PROXYPACK_REQUEST ? o->accept : 0;
	info->flags = whole ? PROXYPACK_NATIVE_IN_BODY : 0;
	info->crc = proxypack_crc(native);
	info->body_len = body.len;
	info->extracted = n;
	size_t blob_len = 0;
	uint8_t *blob = make_blob(tmp, o, info->flags, info->crc, &body, info, &blob_len, &rc);
	mp_wb_free(&body);
	if (!blob)
		goto out;
	info->blob_len = blob_len;

	size_t room = o->max_payload - PROXYPACK_ROP_HDR;
	if (room > 0xffff)
		room = 0xffff;
	if (!whole) {
		/* One carrier: the blob, then the ROPs left in place and the
		 * handle table of the rest. */
		size_t rest_rops = mp_get_u16(rest) - 2;
		if (blob_len > room ||
		    PROXYPACK_ROP_HDR + blob_len + rest_len - 2 > o->max_payload ||
		    PROXYPACK_ROP_HDR + blob_len + rest_rops > 0xffff) {
			rc = MP_ERR_LIMIT;
			goto out;
		}
		carrier->segs = talloc_zero_array(mem, struct proxypack_seg, 1);
		uint8_t *c = carrier->segs ? carrier_seg(carrier->segs, blob, blob_len, rest + 2,
		                                         rest_rops, rest_len - 2)
		                           : NULL;
		if (!c) {
			rc = MP_ERR_NOMEM;
			goto out;
		}
		carrier->segs[0] =
		    (struct proxypack_seg){0, c, PROXYPACK_ROP_HDR + blob_len + rest_len - 2};
		carrier->count = 1;
		goto out;
	}
	size_t nfrag = (blob_len + room - 1) / room;
	if (nfrag > o->max_fragments) {
		rc = MP_ERR_LIMIT;
		goto out;
	}
	carrier->segs = talloc_zero_array(mem, struct proxypack_seg, nfrag);
	if (!carrier->segs) {
		rc = MP_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < nfrag; i++) {
		size_t off = i * room;
		size_t cb = blob_len - off < room ? blob_len - off : room;
		uint8_t *c = carrier_seg(carrier->segs, blob + off, cb, NULL, 0, 0);
		if (!c) {
			rc = MP_ERR_NOMEM;
			goto out;
		}
		carrier->segs[i] = (struct proxypack_seg){0, c, PROXYPACK_ROP_HDR + cb};
	}
	carrier->count = nfrag;
out:
	if (rc != MP_OK) {
		TALLOC_FREE(carrier->segs);
		carrier->count = 0;
	}
	talloc_free(tmp);
	return rc;
}

/* ---- restoring ---- */

static int fail(const char **why, const char *reason, int rc)
{
	*why = reason;
	return rc;
}

/* The proxypack ROP of one carrier: its fragment (cb bytes at +7). */
static bool carrier_frag(const struct proxypack_seg *s, size_t *cb)
{
	if (!proxypack_is_carrier(s->data, s->len) || s->len < PROXYPACK_ROP_HDR)
		return false;
	size_t rop_size = mp_get_u16(s->data);
	*cb = mp_get_u16(s->data + 5);
	return rop_size >= PROXYPACK_ROP_HDR + *cb && rop_size <= s->len;
}

/* The blob: the fragments of all carriers joined (no copy for one). */
static int join_blob(void *mem, const struct proxypack_bufs *carrier, const uint8_t **blob,
                     size_t *blob_len, const char **why)
{
	size_t total = 0, cb = 0;
	for (size_t i = 0; i < carrier->count; i++) {
		if (!carrier_frag(&carrier->segs[i], &cb))
			return fail(why,
			            "a carrier buffer does not start with a whole proxypack ROP",
			            MP_ERR_PARSE);
		total += cb;
	}
	if (carrier->count == 1) {
		*blob = carrier->segs[0].data + PROXYPACK_ROP_HDR;
		*blob_len = total;
		return MP_OK;
	}
	uint8_t *b = talloc_size(mem, total ? total : 1);
	if (!b)
		return MP_ERR_NOMEM;
	size_t w = 0;
	for (size_t i = 0; i < carrier->count; i++) {
		carrier_frag(&carrier->segs[i], &cb);
		memcpy(b + w, carrier->segs[i].data + PROXYPACK_ROP_HDR, cb);
		w += cb;
	}
	*blob = b;
	*blob_len = total;
	return MP_OK;
}

static int parse_header(const uint8_t *blob, size_t len, enum proxypack_kind expect,
                        size_t max_body, struct proxypack_info *info, const char **why)
{
	if (len < PROXYPACK_HDR || memcmp(blob, magic, 4) != 0)
		return fail(why, "no proxypack magic", MP_ERR_PARSE);
	if (blob[4] != PROXYPACK_VERSION)
		return fail(why, "the peer speaks another proxypack version (this hop reads 1)",
		            MP_ERR_UNSUPPORTED);
	info->kind = blob[5];
	info->algo = blob[6];
	info->accept = blob[7];
	info->flags = blob[8];
	info->body_len = mp_get_u32(blob + 12);
	info->crc = mp_get_u32(blob + 16);
	info->blob_len = len;
	if (info->kind != expect)
		return fail(why,
		            expect == PROXYPACK_REQUEST ? "a response blob in a request"
		                                        : "a request blob in a response",
		            MP_ERR_PARSE);
	if (blob[6] >= PACK_ALGO_COUNT)
		return fail(why, "unknown compression algorithm", MP_ERR_PARSE);
	if (!pack_algo_available(blob[6]))
		return fail(why, "the peer compressed with an algorithm this build lacks",
		            MP_ERR_UNSUPPORTED);
	if ((blob[8] & ~PROXYPACK_NATIVE_IN_BODY) || blob[9] || blob[10] || blob[11])
		return fail(why, "unknown flags or reserved bytes set", MP_ERR_PARSE);
	if (info->body_len > max_body)
		return fail(why, "restored size over the protocol maximum", MP_ERR_LIMIT);
	if (info->algo == PACK_ALGO_NONE && info->body_len != len - PROXYPACK_HDR)
		return fail(why, "stored body length differs from the header", MP_ERR_PARSE);
	return MP_OK;
}

/* Put the extracted ROPs back into the rest, at their offsets. */
static int insert_extracted(void *mem, struct mp_rcursor *rc, size_t n, const uint8_t *rest,
                            size_t rest_len, struct proxypack_seg *out, const char **why)
{
	if (n == 0) {
		out->data = rest;
		out->len = rest_len;
		return MP_OK;
	}
	if (rest_len < 2 || mp_get_u16(rest) < 2 || mp_get_u16(rest) > rest_len)
		return fail(why, "bad RopSize in the buffer left in place", MP_ERR_PARSE);
	size_t rest_rops_end = mp_get_u16(rest);
	/* First pass: check every entry before allocating. */
	size_t save = rc->off, added = 0, prev_end = 2;
	for (size_t i = 0; i < n; i++) {
		size_t off = mp_rc_u16(rc), len = mp_rc_u16(rc);
		mp_rc_take(rc, len);
		if (rc->bad)
			return fail(why, "truncated extracted ROP", MP_ERR_PARSE);
		/* In order, not overlapping, inside the ROP list of the result. */
		if (len == 0 || off < prev_end || off - added > rest_rops_end)
			return fail(why, "extracted ROP out of place", MP_ERR_PARSE);
		prev_end = off + len;
		added += len;
	}
	if (rest_rops_end + added > 0xffff || rest_len + added > 0xffff)
		return fail(why, "restored buffer over 64 KiB", MP_ERR_PARSE);
	uint8_t *buf = talloc_size(mem, rest_len + added);
	if (!buf)
		return MP_ERR_NOMEM;
	rc->off = save;
	size_t w = 0, r = 0;
	for (size_t i = 0; i < n; i++) {
		size_t off = mp_rc_u16(rc), len = mp_rc_u16(rc);
		const uint8_t *p = mp_rc_take(rc, len);
		size_t copy = off - w; /* rest bytes before this ROP */
		memcpy(buf + w, rest + r, copy);
		w += copy;
		r += copy;
		memcpy(buf + w, p, len);
		w += len;
	}
	memcpy(buf + w, rest + r, rest_len - r);
	mp_put_u16(buf, (uint16_t)(rest_rops_end + added));
	out->data = buf;
	out->len = rest_len + added;
	return MP_OK;
}

static int parse_body(void *mem, const uint8_t *body, size_t len, bool whole, const uint8_t *rest,
                      size_t rest_len, struct proxypack_bufs *native, size_t *n_extracted,
                      const char **why)
{
	struct mp_rcursor rc;
	mp_rc_init(&rc, body, len);
	size_t count = mp_rc_u16(&rc);
	if (rc.bad || count == 0 || (!whole && count != 1))
		return fail(why, "bad native buffer count", MP_ERR_PARSE);
	struct proxypack_seg *segs = talloc_zero_array(mem, struct proxypack_seg, count);
	if (!segs)
		return MP_ERR_NOMEM;
	for (size_t i = 0; i < count; i++) {
		segs[i].flags = mp_rc_u16(&rc);
		if (whole) {
			segs[i].len = mp_rc_u16(&rc);
			segs[i].data = mp_rc_take(&rc, segs[i].len);
		} else {
			segs[0].data = rest;
			segs[0].len = rest_len;
		}
		if (rc.bad)
			return fail(why, "truncated native buffer", MP_ERR_PARSE);
	}
	size_t n = mp_rc_u16(&rc);
	if (rc.bad)
		return fail(why, "truncated body", MP_ERR_PARSE);
	int r = insert_extracted(mem, &rc, n, segs[0].data, segs[0].len, &segs[0], why);
	if (r != MP_OK)
		return r;
	if (mp_rc_left(&rc) != 0)
		return fail(why, "bytes after the body", MP_ERR_PARSE);
	native->segs = segs;
	native->count = count;
	*n_extracted = n;
	return MP_OK;
}

int proxypack_unpack(void *mem, const struct proxypack_bufs *carrier, enum proxypack_kind expect,
                     size_t max_body, struct proxypack_bufs *native, struct proxypack_info *info,
                     const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	*why = NULL;
	memset(info, 0, sizeof(*info));
	memset(native, 0, sizeof(*native));
	if (!carrier->count)
		return fail(why, "no buffer", MP_ERR_PARSE);
	void *tmp = talloc_new(mem);
	if (!tmp)
		return MP_ERR_NOMEM;
	const uint8_t *blob;
	size_t blob_len;
	int rc = join_blob(tmp, carrier, &blob, &blob_len, why);
	if (rc == MP_OK)
		rc = parse_header(blob, blob_len, expect, max_body, info, why);
	if (rc != MP_OK)
		goto out;
	bool whole = info->flags & PROXYPACK_NATIVE_IN_BODY;

	/* Whole: carriers hold the proxypack ROP only. Compat: one carrier,
	 * the rest of the buffer follows the proxypack ROP. */
	const uint8_t *rest = NULL;
	size_t rest_len = 0;
	if (whole) {
		for (size_t i = 0; i < carrier->count; i++) {
			const struct proxypack_seg *s = &carrier->segs[i];
			if (s->len != mp_get_u16(s->data) ||
			    s->len != PROXYPACK_ROP_HDR + (size_t)mp_get_u16(s->data + 5)) {
				rc = fail(why, "bytes besides the proxypack ROP", MP_ERR_PARSE);
				goto out;
			}
		}
	} else {
		const struct proxypack_seg *s = &carrier->segs[0];
		size_t skip = PROXYPACK_ROP_HDR - 2 + blob_len; /* the proxypack ROP */
		if (carrier->count != 1 || (size_t)mp_get_u16(s->data) < skip + 2) {
			rc = fail(why, "compat blob must be alone in one buffer", MP_ERR_PARSE);
			goto out;
		}
		uint8_t *r = talloc_size(mem, s->len - skip);
		if (!r) {
			rc = MP_ERR_NOMEM;
			goto out;
		}
		mp_put_u16(r, (uint16_t)(mp_get_u16(s->data) - skip));
		memcpy(r + 2, s->data + 2 + skip, s->len - 2 - skip);
		rest = r;
		rest_len = s->len - skip;
	}

	const uint8_t *body = blob + PROXYPACK_HDR;
	if (info->algo != PACK_ALGO_NONE) {
		uint8_t *z = NULL;
		rc = pack_decompress(mem, info->algo, blob + PROXYPACK_HDR,
		                     blob_len - PROXYPACK_HDR, info->body_len, max_body, &z, why);
		if (rc != MP_OK)
			goto out;
		body = z;
	} else if (carrier->count > 1) {
		/* The joined blob is temporary: keep the body. */
		uint8_t *b = talloc_memdup(mem, body, info->body_len ? info->body_len : 1);
		if (!b) {
			rc = MP_ERR_NOMEM;
			goto out;
		}
		body = b;
	}
	rc = parse_body(mem, body, info->body_len, whole, rest, rest_len, native, &info->extracted,
	                why);
	if (rc != MP_OK)
		goto out;
	info->native_bytes = 0;
	for (size_t i = 0; i < native->count; i++)
		info->native_bytes += native->segs[i].len;
	if (proxypack_crc(native) != info->crc) {
		rc = fail(why, "restored buffers differ from the sender's (CRC mismatch)",
		          MP_ERR_PARSE);
		goto out;
	}
out:
	if (rc != MP_OK) {
		native->segs = NULL;
		native->count = 0;
	}
	talloc_free(tmp);
	return rc;
}
