/*
 * libFuzzer target: the pack module's proxypack blob and its compression
 * (modules/pack/proxypack.c, pack_compress.c).
 *
 * The first byte picks what the rest is:
 *   bit 0 set   carriers from a peer: u16 length + bytes per carrier (at
 *               most 8), restored as a request (bit 1 clear) or a response;
 *               on success the restored buffers pack again (whole mode,
 *               zstd) and restore to the same bytes;
 *   bit 0 clear a native ROP request buffer: packed in compat mode with the
 *               RopIds of bits 2..7 (each selects a RopId of the buffer by
 *               position) or whole mode (zstd or lz4), restored, compared
 *               byte for byte; then compressed and decompressed with both
 *               algorithms, and the raw bytes given to the decompressors
 *               as if compressed (they must refuse or restore exactly).
 * Every result must be a documented code; nothing may read or write out
 * of bounds (ASan) or allocate more than the limits allow.
 */
#include "pack/pack_compress.h"
#include "pack/proxypack.h"
#include "util/cursor.h"
#include "util/status.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

static void same(const struct proxypack_bufs *a, const struct proxypack_bufs *b)
{
	check(a->count == b->count);
	for (size_t i = 0; i < a->count; i++) {
		check(a->segs[i].flags == b->segs[i].flags);
		check(a->segs[i].len == b->segs[i].len);
		check(memcmp(a->segs[i].data, b->segs[i].data, a->segs[i].len) == 0);
	}
}

static void round_trip(void *mem, const struct proxypack_bufs *native, enum proxypack_kind kind,
                       enum pack_algo algo, const bool *extract)
{
	struct proxypack_opts o = {.kind = kind,
	                           .algo = algo,
	                           .level = 1,
	                           .accept = pack_algo_mask(),
	                           .extract = extract,
	                           .max_payload = 0x8000,
	                           .max_fragments = 7};
	struct proxypack_bufs carrier, back;
	struct proxypack_info info, info2;
	const char *why = NULL;
	int rc = proxypack_pack(mem, native, &o, &carrier, &info);
	check(rc == MP_OK || rc == MP_DECLINED || rc == MP_ERR_LIMIT || rc == MP_ERR_PARSE);
	if (rc != MP_OK)
		return;
	rc = proxypack_unpack(mem, &carrier, kind, PROXYPACK_MAX_BODY, &back, &info2, &why);
	check(rc == MP_OK);
	same(native, &back);
	check(info2.crc == info.crc && info2.extracted == info.extracted);
}

static void codecs(void *mem, const uint8_t *p, size_t n)
{
	const enum pack_algo algos[] = {PACK_ALGO_ZSTD, PACK_ALGO_LZ4};
	for (int a = 0; a < 2; a++) {
		uint8_t *z = NULL, *back = NULL;
		size_t zlen = 0;
		int rc = pack_compress(mem, algos[a], 1, p, n, n + 64, &z, &zlen);
		check(rc == MP_OK || rc == MP_ERR_LIMIT);
		if (rc == MP_OK && n) {
			check(pack_decompress(mem, algos[a], z, zlen, n, n, &back, NULL) == MP_OK);
			check(memcmp(back, p, n) == 0);
		}
		/* Arbitrary bytes as compressed data, announced sizes from them. */
		size_t expect = n >= 2 ? mp_get_u16(p) : 1;
		back = NULL;
		rc = pack_decompress(mem, algos[a], p, n, expect, 0x10000, &back, NULL);
		check(rc == MP_OK || rc == MP_ERR_PARSE || rc == MP_ERR_LIMIT);
		check(rc != MP_OK || back != NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > (1u << 18))
		return 0;
	uint8_t mode = data[0];
	data++;
	size--;
	void *mem = talloc_new(NULL);

	if (mode & 1) {
		struct mp_rcursor rc;
		mp_rc_init(&rc, data, size);
		struct proxypack_bufs carrier = {talloc_zero_array(mem, struct proxypack_seg, 8),
		                                 0};
		while (carrier.count < 8 && mp_rc_left(&rc) >= 2) {
			size_t len = mp_rc_u16(&rc);
			if (len > mp_rc_left(&rc))
				len = mp_rc_left(&rc);
			carrier.segs[carrier.count++] =
			    (struct proxypack_seg){0, mp_rc_take(&rc, len), len};
		}
		enum proxypack_kind kind = mode & 2 ? PROXYPACK_RESPONSE : PROXYPACK_REQUEST;
		struct proxypack_bufs native;
		struct proxypack_info info;
		const char *why = NULL;
		int r =
		    proxypack_unpack(mem, &carrier, kind, PROXYPACK_MAX_BODY, &native, &info, &why);
		check(r == MP_OK || r == MP_ERR_PARSE || r == MP_ERR_UNSUPPORTED ||
		      r == MP_ERR_LIMIT);
		check(r == MP_OK || why != NULL);
		if (r == MP_OK) {
			check(proxypack_crc(&native) == info.crc);
			round_trip(mem, &native, kind, PACK_ALGO_ZSTD, NULL);
		}
	} else {
		struct proxypack_seg seg = {0x0005, data, size > 0xffff ? 0xffff : size};
		struct proxypack_bufs native = {&seg, 1};
		bool extract[256] = {false};
		/* Bits 2..7 pick RopIds by the byte at that position of RopsList. */
		for (int bit = 2; bit < 8; bit++) {
			size_t at = 2 + (size_t)(bit - 2) * 5;
			if ((mode >> bit) & 1 && at < seg.len)
				extract[data[at]] = true;
		}
		round_trip(mem, &native, PROXYPACK_REQUEST, PACK_ALGO_NONE, extract);
		round_trip(mem, &native, PROXYPACK_REQUEST,
		           mode & 2 ? PACK_ALGO_LZ4 : PACK_ALGO_ZSTD, extract);
		round_trip(mem, &native, PROXYPACK_RESPONSE, PACK_ALGO_ZSTD, NULL);
		codecs(mem, data, size);
	}
	talloc_free(mem);
	return 0;
}
