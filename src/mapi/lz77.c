/*
 * LZ77 + DIRECT2 (MS-OXCRPC 3.1.4.1.1.2): see lz77.h for the format.
 *
 * The decompressor runs on the relay path for every EcDoRpcExt2, so it
 * copies runs of literals and matches by words instead of byte by byte and
 * checks bounds once per element, not once per byte.
 */
#include "mapi/lz77.h"

#include "util/status.h"

#include <endian.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static inline uint16_t ld16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return le16toh(v);
}

static inline uint32_t ld32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static inline uint64_t ld64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static inline void st16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, sizeof(v));
}

static inline void st32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

/* Fixed-size copies the compiler turns into plain loads and stores. */
static inline void copy8(uint8_t *d, const uint8_t *s)
{
	memcpy(d, s, 8);
}

static inline void copy32(uint8_t *d, const uint8_t *s)
{
	memcpy(d, s, 32);
}

/* ---- decompression ------------------------------------------------------- */

/*
 * Copy a match of `len` bytes from `off` bytes back; the source may overlap
 * the destination (off < len repeats a pattern). The caller checked that
 * op - off >= start of output and op + len <= oend.
 */
static inline void copy_match(uint8_t *op, size_t off, size_t len, const uint8_t *oend)
{
	const uint8_t *s = op - off;

	if (off >= 8 && (size_t)(oend - op) - len >= 8) {
		/* Each 8-byte step reads bytes written at least 8 bytes earlier;
		 * the last step may write up to 7 bytes past the match, which
		 * the check above leaves room for (they are overwritten later or
		 * lie beyond the output). */
		uint8_t *e = op + len;
		do {
			copy8(op, s);
			op += 8;
			s += 8;
		} while (op < e);
		return;
	}
	if (off >= len) {
		memcpy(op, s, len);
		return;
	}
	if (len <= 32) {
		/* Short overlapping pattern (UTF-16 zeros, runs): a tight loop. */
		for (size_t i = 0; i < len; i++)
			op[i] = s[i];
		return;
	}
	/* Long repeat of a short pattern: the copied region doubles each
	 * step, so [s, op) stays a whole number of periods and never
	 * overlaps the next copy. */
	size_t dist = off;
	while (len > dist) {
		memcpy(op, s, dist);
		op += dist;
		len -= dist;
		dist <<= 1;
	}
	memcpy(op, s, len);
}

ssize_t mp_lz77_decompress(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap)
{
	if (in_len == 0)
		return 0;
	if (out_cap > (size_t)SSIZE_MAX)
		return MP_ERR_LIMIT;
	uint8_t none[1];
	if (!out) { /* nothing may be written: keep the pointer arithmetic defined */
		out = none;
		out_cap = 0;
	}
	const uint8_t *ip = in;
	const uint8_t *const iend = in + in_len;
	uint8_t *op = out;
	uint8_t *const oend = out + out_cap;
	const uint8_t *nibble = NULL; /* shared length byte with a free high half */
	uint32_t ind = 0;             /* next indicator bit in bit 31 */
	unsigned nbits = 0;           /* indicator bits left */

	for (;;) {
		if (nbits == 0) {
			size_t left = (size_t)(iend - ip);
			if (left == 0)
				break;
			if (left < 4)
				return MP_ERR_PARSE;
			ind = ld32(ip);
			ip += 4;
			nbits = 32;
		}

		/* Literals: the run of 0 bits, copied at once. The bits below
		 * the valid ones are 0, so a non-zero indicator has its first
		 * 1 among the valid bits. */
		unsigned run = ind ? (unsigned)__builtin_clz(ind) : nbits;
		if (run) {
			size_t ileft = (size_t)(iend - ip);
			size_t oleft = (size_t)(oend - op);
			size_t n = run < ileft ? run : ileft;
			if (n > oleft)
				return MP_ERR_LIMIT;
			if (ileft >= 32 && oleft >= 32)
				copy32(op, ip);
			else
				memcpy(op, ip, n);
			op += n;
			ip += n;
			if (n < run)
				break; /* input ended between two literals */
			nbits -= run;
			if (nbits == 0)
				continue;
			ind <<= run; /* run < 32 here */
		}

		/* A match (the bit is 1). */
		ind <<= 1;
		nbits--;
		size_t ileft = (size_t)(iend - ip);
		if (ileft == 0)
			break; /* end marker: 1 bits with no element behind */
		if (ileft < 2)
			return MP_ERR_PARSE;
		uint32_t m = ld16(ip);
		ip += 2;
		size_t off = (size_t)(m >> 3) + 1;
		uint64_t len = m & 7;
		if (len == 7) {
			unsigned nib;
			if (nibble) {
				nib = *nibble >> 4;
				nibble = NULL;
			} else {
				if (ip == iend)
					return MP_ERR_PARSE;
				nibble = ip;
				nib = *ip++ & 15;
			}
			len = 7 + nib;
			if (nib == 15) {
				if (ip == iend)
					return MP_ERR_PARSE;
				unsigned b = *ip++;
				if (b != 255) {
					len = 22 + b;
				} else {
					if (iend - ip < 2)
						return MP_ERR_PARSE;
					len = ld16(ip);
					ip += 2;
					if (len == 0) {
						if (iend - ip < 4)
							return MP_ERR_PARSE;
						len = ld32(ip);
						ip += 4;
					}
					/* The long forms hold length - 3 whole;
					 * shorter lengths have shorter forms. */
					if (len < 22)
						return MP_ERR_PARSE;
				}
			}
		}
		len += 3;
		if (off > (size_t)(op - out))
			return MP_ERR_PARSE;
		if (len > (uint64_t)(oend - op))
			return MP_ERR_LIMIT;
		copy_match(op, off, (size_t)len, oend);
		op += len;
	}
	return (ssize_t)(op - out);
}

/* ---- compression --------------------------------------------------------- */

/*
 * Match finder: hash chains over 4-byte prefixes within the 8 KiB window,
 * plus a one-entry table of 3-byte prefixes for the short matches the
 * chains cannot see; one step of lazy evaluation (a literal first when the
 * next position matches longer). The chain depths trade speed for ratio:
 * these give about zlib -1's ratio on ROP buffers (bench/compress.c).
 */
#define CHAIN_DEPTH 16
#define LAZY_DEPTH 8 /* the lazy probe looks less far */
#define NICE_LEN 96  /* a match this long ends the search */
#define LAZY_MAX 32  /* no lazy probe after a match this long */
#define MIN_MATCH 3
#define HASH_MIN_BITS 10
#define HASH_MAX_BITS 14
#define HASH3_BITS 12

struct enc {
	const uint8_t *in;
	size_t len;
	int32_t *head;  /* newest position per 4-byte hash, -1 for none */
	int32_t *prev;  /* previous position with the same hash, by pos % window */
	int32_t *head3; /* newest position per 3-byte hash, -1 for none */
	unsigned hshift;

	uint8_t *op; /* next output byte */
	uint8_t *oend;
	uint8_t *slot; /* where the current indicator goes */
	uint32_t ind;
	unsigned used;   /* elements in the current indicator */
	uint8_t *nibble; /* shared length byte whose high half is free */
};

static inline uint32_t hash4(const struct enc *e, uint32_t w)
{
	return (w * 2654435761u) >> e->hshift;
}

static inline uint32_t hash3(uint32_t w)
{
	return ((w & 0xffffffu) * 2654435761u) >> (32 - HASH3_BITS);
}

static inline size_t common_len(const uint8_t *a, const uint8_t *b, const uint8_t *bend)
{
	const uint8_t *start = b;
	while (bend - b >= 8) {
		uint64_t x = ld64(a) ^ ld64(b);
		if (x)
			return (size_t)(b - start) + ((unsigned)__builtin_ctzll(x) >> 3);
		a += 8;
		b += 8;
	}
	while (b < bend && *a == *b) {
		a++;
		b++;
	}
	return (size_t)(b - start);
}

static inline void insert(struct enc *e, size_t pos)
{
	if (e->len - pos < 4)
		return;
	uint32_t w = ld32(e->in + pos);
	uint32_t h = hash4(e, w);
	e->prev[pos & (MP_LZ77_WINDOW - 1)] = e->head[h];
	e->head[h] = (int32_t)pos;
	e->head3[hash3(w)] = (int32_t)pos;
}

/* Longest earlier match for `pos` (0 when none of MIN_MATCH), looking at
 * `depth` chain entries; then `pos` joins the tables. Positions whose 4-byte
 * load would pass the end are neither searched nor hashed. */
static size_t find_insert(struct enc *e, size_t pos, size_t *off, unsigned depth)
{
	if (e->len - pos < 4)
		return 0;
	const uint8_t *cur = e->in + pos;
	size_t avail = e->len - pos;
	uint32_t w = ld32(cur);
	size_t best = MIN_MATCH; /* chain matches must beat 3 */
	int32_t c = e->head[hash4(e, w)];
	for (; c >= 0 && depth; depth--) {
		size_t d = pos - (size_t)c;
		if (d > MP_LZ77_WINDOW)
			break;
		const uint8_t *cand = e->in + c;
		if (cand[best] == cur[best] && ld32(cand) == w) {
			size_t l = common_len(cand, cur, cur + avail);
			if (l > best) {
				best = l;
				*off = d;
				if (l >= NICE_LEN || l == avail)
					break;
			}
		}
		c = e->prev[(size_t)c & (MP_LZ77_WINDOW - 1)];
	}
	if (best == MIN_MATCH) {
		/* Nothing of 4: the newest position with the same 3 bytes. */
		best = 0;
		int32_t c3 = e->head3[hash3(w)];
		if (c3 >= 0 && pos - (size_t)c3 <= MP_LZ77_WINDOW &&
		    ((ld32(e->in + c3) ^ w) & 0xffffffu) == 0) {
			best = MIN_MATCH;
			*off = pos - (size_t)c3;
		}
	}
	insert(e, pos);
	return best;
}

/* One indicator bit for the element just written; a full indicator is
 * stored and the next one reserved right after the element. */
static inline bool put_bit(struct enc *e, uint32_t bit)
{
	e->ind = (e->ind << 1) | bit;
	if (++e->used < 32)
		return true;
	st32(e->slot, e->ind);
	if (e->oend - e->op < 4)
		return false;
	e->slot = e->op;
	e->op += 4;
	e->ind = 0;
	e->used = 0;
	return true;
}

static inline bool put_literal(struct enc *e, uint8_t b)
{
	if (e->op == e->oend)
		return false;
	*e->op++ = b;
	return put_bit(e, 0);
}

static bool put_match(struct enc *e, size_t off, size_t len)
{
	size_t v = len - MIN_MATCH;
	uint8_t tmp[10];
	size_t n = 2;
	uint8_t *nib_new = NULL;

	if (v < 7) {
		st16(tmp, (uint16_t)(((off - 1) << 3) | v));
	} else {
		st16(tmp, (uint16_t)(((off - 1) << 3) | 7));
		v -= 7;
		unsigned nib = v < 15 ? (unsigned)v : 15;
		if (e->nibble) {
			*e->nibble |= (uint8_t)(nib << 4);
			e->nibble = NULL;
		} else {
			tmp[n] = (uint8_t)nib;
			nib_new = e->op + n;
			n++;
		}
		if (nib == 15) {
			v -= 15;
			if (v < 255) {
				tmp[n++] = (uint8_t)v;
			} else {
				tmp[n++] = 255;
				v = len - MIN_MATCH;
				if (v <= 0xffff) {
					st16(tmp + n, (uint16_t)v);
					n += 2;
				} else {
					st16(tmp + n, 0);
					st32(tmp + n + 2, (uint32_t)v);
					n += 6;
				}
			}
		}
	}
	if ((size_t)(e->oend - e->op) < n)
		return false;
	memcpy(e->op, tmp, n);
	e->op += n;
	if (nib_new)
		e->nibble = nib_new;
	return put_bit(e, 1);
}

ssize_t mp_lz77_compress(const uint8_t *in, size_t len, uint8_t *out, size_t out_cap)
{
	if (len > INT32_MAX || out_cap > (size_t)SSIZE_MAX)
		return MP_ERR_LIMIT;
	if (out_cap < 4)
		return MP_ERR_LIMIT;

	unsigned hbits = HASH_MIN_BITS;
	while (hbits < HASH_MAX_BITS && ((size_t)1 << hbits) < len)
		hbits++;
	size_t hsize = (size_t)1 << hbits;
	size_t h3size = (size_t)1 << HASH3_BITS;
	size_t psize = len < MP_LZ77_WINDOW ? len : MP_LZ77_WINDOW;
	int32_t *tables = malloc((hsize + h3size + psize + 1) * sizeof(*tables));
	if (!tables)
		return MP_ERR_NOMEM;

	struct enc e = {
	    .in = in,
	    .len = len,
	    .head = tables,
	    .head3 = tables + hsize,
	    .prev = tables + hsize + h3size,
	    .hshift = 32 - hbits,
	    .op = out + 4,
	    .oend = out + out_cap,
	    .slot = out,
	};
	/* prev[] needs no initialisation: a chain is only followed from a
	 * head entry, and every prev slot on the way was written by the
	 * position that links to it. */
	memset(tables, 0xff, (hsize + h3size) * sizeof(*tables));

	bool ok = true;
	size_t pos = 0;
	size_t mlen = 0, moff = 0;
	bool have = false; /* mlen/moff already found for pos */
	while (ok && pos < len) {
		if (!have)
			mlen = find_insert(&e, pos, &moff, CHAIN_DEPTH);
		have = false;
		if (!mlen) {
			ok = put_literal(&e, in[pos]);
			pos++;
			continue;
		}
		size_t next = pos + 1;
		if (mlen < LAZY_MAX && next < len) {
			size_t noff = 0;
			size_t nlen = find_insert(&e, next, &noff, LAZY_DEPTH);
			if (nlen > mlen) {
				ok = put_literal(&e, in[pos]);
				pos = next;
				mlen = nlen;
				moff = noff;
				have = true;
				continue;
			}
			next++;
		}
		ok = put_match(&e, moff, mlen);
		for (size_t q = next; q < pos + mlen; q++)
			insert(&e, q);
		pos += mlen;
	}
	free(tables);
	if (!ok)
		return MP_ERR_LIMIT;

	/* End marker: the rest of the indicator is 1 bits (a whole fresh
	 * indicator of them when the last one was full). */
	if (e.used == 0)
		st32(e.slot, 0xffffffffu);
	else
		st32(e.slot, (e.ind << (32 - e.used)) | ((1u << (32 - e.used)) - 1));
	return (ssize_t)(e.op - out);
}
