/*
 * The pack module's blob (modules/pack/proxypack.c) and compression
 * (modules/pack/pack_compress.c):
 *
 *   - zstd and lz4 round trips at several levels; decompression refuses
 *     another size than announced, a size over the maximum (before
 *     allocating), truncated and corrupt data, and bombs (small data that
 *     restores to more than announced);
 *   - packing real ROP request buffers (the MS-OXCPRPT / MS-OXCTABL /
 *     MS-OXCFOLD example ROPs of test_rop_vectors.c, and the rop_request
 *     fuzz seeds) restores them byte for byte, in compat mode (listed ROPs
 *     only, the rest left in place behind the proxypack ROP) and whole mode
 *     (everything compressed), with every RopId listed in turn;
 *   - multi-segment response chains keep their segments and flags; blobs
 *     over one carrier are split and joined; limits refuse;
 *   - malformed blobs: every truncation, every single-byte change (either
 *     refused or restoring the very same bytes), wrong magic, version,
 *     kind, reserved bits, sizes, misplaced extracted ROPs, CRC mismatch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

#include "hexbytes.h"
#include "pack/pack_compress.h"
#include "pack/proxypack.h"
#include "util/cursor.h"
#include "util/status.h"

/* RPC_HEADER_EXT flags of a native request: Compressed, XorMagic, Last. */
#define REQ_FLAGS 0x0007

static void *mem;

static int setup(void **state)
{
	(void)state;
	mem = talloc_new(NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	talloc_free(mem);
	pack_compress_release();
	return 0;
}

/* A ROP request buffer from the protocol examples: RopGetContentsTable,
 * RopSetColumns (MS-OXCTABL 4.1.1, 4.2.1), RopSortTable (4.3.1),
 * RopSetProperties (MS-OXCPRPT 4.2.1), RopGetPropertiesSpecific (4.3.1),
 * RopCreateFolder (MS-OXCFOLD 4.1.1), then a handle table. */
static const char *const example_rops[] = {
    "05 00 00 01 00",
    "12 00 01 00 06 00 14 00 48 67 14 00 4a 67 14 00 4d 67 03 00 4e 67 1f 00 37 00 40 00 06 0e",
    "13 00 01 00 02 00 01 00 01 00 1f 30 08 80 00 40 00 06 0e 01",
    "0A 00 00 24 00 02 00 1F 00 3D 00 00 00 1F 00 1D 0E 48 00 65 00 6C 00 6C 00 6F 00 20 00 57 00 6F 00 72 00 6C 00 64 00 00 00",
    "07 00 00 00 00 01 00 03 00 0B 00 3E 86 03 00 3F 86 02 01 E2 65",
    "1C 00 00 02 01 01 00 00 46 00 6F 00 6C 00 64 00 65 00 72 00 31 00 00 00 00 00",
};

static size_t example_buffer(uint8_t *b, size_t cap)
{
	size_t n = 2;
	for (size_t i = 0; i < sizeof(example_rops) / sizeof(example_rops[0]); i++)
		n += hexbytes(example_rops[i], b + n, cap - n);
	mp_put_u16(b, (uint16_t)n);
	n += hexbytes("01 00 00 00 ff ff ff ff 22 00 00 00", b + n, cap - n);
	return n;
}

static struct proxypack_bufs one(const uint8_t *data, size_t len, uint16_t flags)
{
	struct proxypack_bufs b;
	b.segs = talloc_zero(mem, struct proxypack_seg);
	b.segs[0] = (struct proxypack_seg){flags, data, len};
	b.count = 1;
	return b;
}

static struct proxypack_opts opts(enum proxypack_kind kind, enum pack_algo algo,
                                  const bool *extract)
{
	return (struct proxypack_opts){.kind = kind,
	                               .algo = algo,
	                               .level = 0,
	                               .accept = pack_algo_mask(),
	                               .extract = extract,
	                               .max_payload = 0x8000,
	                               .max_fragments = 7};
}

static void assert_same(const struct proxypack_bufs *a, const struct proxypack_bufs *b)
{
	assert_int_equal(a->count, b->count);
	for (size_t i = 0; i < a->count; i++) {
		assert_int_equal(a->segs[i].flags, b->segs[i].flags);
		assert_int_equal(a->segs[i].len, b->segs[i].len);
		assert_memory_equal(a->segs[i].data, b->segs[i].data, a->segs[i].len);
	}
}

/* Pack, check the carrier shape, restore, compare. Returns the carriers. */
static struct proxypack_bufs round_trip(const struct proxypack_bufs *native,
                                        const struct proxypack_opts *o, size_t want_extracted)
{
	struct proxypack_bufs carrier, back;
	struct proxypack_info info, info2;
	const char *why = NULL;
	assert_int_equal(proxypack_pack(mem, native, o, &carrier, &info), MP_OK);
	assert_int_equal(info.extracted, want_extracted);
	assert_true(carrier.count >= 1);
	for (size_t i = 0; i < carrier.count; i++) {
		assert_true(proxypack_is_carrier(carrier.segs[i].data, carrier.segs[i].len));
		assert_true(carrier.segs[i].len <= o->max_payload);
	}
	assert_memory_equal(carrier.segs[0].data + PROXYPACK_ROP_HDR, "MPPK", 4);
	int rc = proxypack_unpack(mem, &carrier, o->kind, PROXYPACK_MAX_BODY, &back, &info2, &why);
	if (rc != MP_OK)
		fail_msg("unpack: %s", why);
	assert_same(native, &back);
	assert_int_equal(info2.crc, info.crc);
	assert_int_equal(info2.extracted, want_extracted);
	assert_int_equal(info2.accept, o->kind == PROXYPACK_REQUEST ? pack_algo_mask() : 0);
	return carrier;
}

/* ---- compression ---- */

static void fill_text(uint8_t *p, size_t n)
{
	static const char words[] = "Subject: Quarterly figures; From: Bob Builder; the figures "
	                            "are attached. PidTagNormalizedSubject PidTagBody ";
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)words[(i * 7 + i / 13) % (sizeof(words) - 1)];
}

static void test_compress_round_trips(void **state)
{
	(void)state;
	uint8_t src[20000];
	fill_text(src, sizeof(src));
	const enum pack_algo algos[] = {PACK_ALGO_ZSTD, PACK_ALGO_LZ4};
	const int levels[][3] = {{0, 1, 19}, {0, 1, 12}};
	for (int a = 0; a < 2; a++) {
		assert_true(pack_algo_available(algos[a]));
		for (int l = 0; l < 3; l++) {
			assert_null(pack_level_check(algos[a], levels[a][l]));
			uint8_t *z, *back;
			size_t zlen;
			assert_int_equal(pack_compress(mem, algos[a], levels[a][l], src,
			                               sizeof(src), sizeof(src), &z, &zlen),
			                 MP_OK);
			assert_true(zlen < sizeof(src) / 3);
			assert_int_equal(pack_decompress(mem, algos[a], z, zlen, sizeof(src),
			                                 sizeof(src), &back, NULL),
			                 MP_OK);
			assert_memory_equal(back, src, sizeof(src));
		}
	}
	assert_non_null(pack_level_check(PACK_ALGO_LZ4, 13));
	assert_non_null(pack_level_check(PACK_ALGO_ZSTD, 99));
	assert_non_null(pack_level_check(PACK_ALGO_NONE, 3));
	enum pack_algo x;
	assert_true(pack_algo_parse("ZSTD", &x) && x == PACK_ALGO_ZSTD);
	assert_true(pack_algo_parse("lz4", &x) && x == PACK_ALGO_LZ4);
	assert_false(pack_algo_parse("gzip", &x));
	assert_string_equal(pack_algo_name(7), "?");
}

static void test_compress_refuses(void **state)
{
	(void)state;
	uint8_t src[4096], rnd[4096];
	fill_text(src, sizeof(src));
	srand(7);
	for (size_t i = 0; i < sizeof(rnd); i++)
		rnd[i] = (uint8_t)rand();
	const enum pack_algo algos[] = {PACK_ALGO_ZSTD, PACK_ALGO_LZ4};
	for (int a = 0; a < 2; a++) {
		enum pack_algo al = algos[a];
		uint8_t *z, *out = NULL;
		size_t zlen;
		const char *why;
		/* Random bytes do not shrink: no room below their size. */
		assert_int_equal(
		    pack_compress(mem, al, 0, rnd, sizeof(rnd), sizeof(rnd) - 1, &z, &zlen),
		    MP_ERR_LIMIT);
		assert_int_equal(pack_compress(mem, al, 0, src, sizeof(src), 0, &z, &zlen),
		                 MP_ERR_LIMIT);
		assert_int_equal(
		    pack_compress(mem, al, 0, src, sizeof(src), sizeof(src), &z, &zlen), MP_OK);
		/* Announced size wrong either way. */
		assert_int_equal(
		    pack_decompress(mem, al, z, zlen, sizeof(src) - 1, 1 << 20, &out, &why),
		    MP_ERR_PARSE);
		assert_int_equal(
		    pack_decompress(mem, al, z, zlen, sizeof(src) + 1, 1 << 20, &out, &why),
		    MP_ERR_PARSE);
		/* Over the maximum: refused before allocating. */
		assert_int_equal(
		    pack_decompress(mem, al, z, zlen, sizeof(src), sizeof(src) - 1, &out, &why),
		    MP_ERR_LIMIT);
		/* Every truncation, and garbage. */
		for (size_t cut = 0; cut < zlen; cut++)
			assert_int_not_equal(
			    pack_decompress(mem, al, z, cut, sizeof(src), 1 << 20, &out, &why),
			    MP_OK);
		assert_int_not_equal(
		    pack_decompress(mem, al, rnd, 64, sizeof(src), 1 << 20, &out, &why), MP_OK);
		assert_null(out);
	}
	assert_int_equal(
	    pack_compress(mem, PACK_ALGO_NONE, 0, src, 10, 10, &(uint8_t *){0}, &(size_t){0}),
	    MP_ERR_UNSUPPORTED);
}

static void test_decompression_bombs(void **state)
{
	(void)state;
	/* 1 MiB of zeros compresses to a few hundred bytes; announcing 1000
	 * bytes (or anything short of the truth) must not restore it. */
	size_t big = 1 << 20;
	uint8_t *zeros = talloc_zero_size(mem, big);
	const enum pack_algo algos[] = {PACK_ALGO_ZSTD, PACK_ALGO_LZ4};
	for (int a = 0; a < 2; a++) {
		uint8_t *z, *out = NULL;
		size_t zlen;
		const char *why = NULL;
		assert_int_equal(pack_compress(mem, algos[a], 0, zeros, big, big, &z, &zlen),
		                 MP_OK);
		assert_true(zlen < 8192);
		assert_int_equal(pack_decompress(mem, algos[a], z, zlen, 1000, 0x40000, &out, &why),
		                 MP_ERR_PARSE);
		assert_non_null(why);
		/* The truth is over the cap: refused before allocating. */
		assert_int_equal(pack_decompress(mem, algos[a], z, zlen, big, 0x40000, &out, &why),
		                 MP_ERR_LIMIT);
		assert_null(out);
	}

	/* The same bomb inside a blob that claims a small body. */
	uint8_t *z;
	size_t zlen;
	assert_int_equal(pack_compress(mem, PACK_ALGO_ZSTD, 0, zeros, big, big, &z, &zlen), MP_OK);
	size_t blen = PROXYPACK_HDR + zlen;
	uint8_t *blob = talloc_size(mem, blen);
	memcpy(blob, "MPPK", 4);
	blob[4] = PROXYPACK_VERSION;
	blob[5] = PROXYPACK_RESPONSE;
	blob[6] = PACK_ALGO_ZSTD;
	blob[7] = 0;
	blob[8] = PROXYPACK_NATIVE_IN_BODY;
	blob[9] = blob[10] = blob[11] = 0;
	mp_put_u32(blob + 12, 4096);
	mp_put_u32(blob + 16, 0);
	memcpy(blob + PROXYPACK_HDR, z, zlen);
	uint8_t *c = talloc_size(mem, PROXYPACK_ROP_HDR + blen);
	mp_put_u16(c, (uint16_t)(PROXYPACK_ROP_HDR + blen));
	c[2] = PROXYPACK_ROPID;
	c[3] = c[4] = 0;
	mp_put_u16(c + 5, (uint16_t)blen);
	memcpy(c + PROXYPACK_ROP_HDR, blob, blen);
	struct proxypack_bufs carrier = one(c, PROXYPACK_ROP_HDR + blen, 0), back;
	struct proxypack_info info;
	const char *why = NULL;
	assert_int_equal(proxypack_unpack(mem, &carrier, PROXYPACK_RESPONSE, PROXYPACK_MAX_BODY,
	                                  &back, &info, &why),
	                 MP_ERR_PARSE);
	/* And one whose claimed body is over the protocol maximum. */
	mp_put_u32(c + PROXYPACK_ROP_HDR + 12, PROXYPACK_MAX_BODY + 1);
	assert_int_equal(proxypack_unpack(mem, &carrier, PROXYPACK_RESPONSE, PROXYPACK_MAX_BODY,
	                                  &back, &info, &why),
	                 MP_ERR_LIMIT);
}

/* ---- packing real buffers ---- */

static void test_compat_extracts_listed_rops(void **state)
{
	(void)state;
	uint8_t b[512];
	size_t n = example_buffer(b, sizeof(b));
	struct proxypack_bufs native = one(b, n, REQ_FLAGS);
	bool ex[256] = {false};
	ex[0x12] = ex[0x0A] = ex[0x1C] = true; /* SetColumns, SetProperties, CreateFolder */
	struct proxypack_opts o = opts(PROXYPACK_REQUEST, PACK_ALGO_NONE, ex);
	struct proxypack_bufs carrier = round_trip(&native, &o, 3);
	assert_int_equal(carrier.count, 1);
	/* The ROPs left in place follow the proxypack ROP, in order, and the
	 * handle table ends the carrier. */
	const uint8_t *c = carrier.segs[0].data;
	size_t cb = mp_get_u16(c + 5);
	size_t after = PROXYPACK_ROP_HDR + cb;
	assert_int_equal(c[after], 0x05);      /* RopGetContentsTable */
	assert_int_equal(c[after + 5], 0x13);  /* RopSortTable */
	assert_int_equal(c[after + 25], 0x07); /* RopGetPropertiesSpecific */
	assert_memory_equal(c + carrier.segs[0].len - 12, b + n - 12, 12);
	assert_int_equal(mp_get_u16(c), carrier.segs[0].len - 12);

	/* Nothing listed in this buffer: compat mode declines. */
	bool none[256] = {false};
	none[0x70] = true;
	o.extract = none;
	struct proxypack_info info;
	assert_int_equal(proxypack_pack(mem, &native, &o, &carrier, &info), MP_DECLINED);
	o.extract = NULL;
	assert_int_equal(proxypack_pack(mem, &native, &o, &carrier, &info), MP_DECLINED);
}

static void test_whole_mode_all_algorithms(void **state)
{
	(void)state;
	uint8_t b[512];
	size_t n = example_buffer(b, sizeof(b));
	struct proxypack_bufs native = one(b, n, REQ_FLAGS);
	bool ex[256] = {false};
	ex[0x13] = ex[0x07] = true;
	const enum pack_algo algos[] = {PACK_ALGO_ZSTD, PACK_ALGO_LZ4};
	for (int a = 0; a < 2; a++) {
		struct proxypack_opts o = opts(PROXYPACK_REQUEST, algos[a], NULL);
		struct proxypack_bufs carrier = round_trip(&native, &o, 0);
		/* Whole mode: the carrier holds the proxypack ROP only. */
		assert_int_equal(carrier.count, 1);
		assert_int_equal(mp_get_u16(carrier.segs[0].data), carrier.segs[0].len);
		o.extract = ex;
		round_trip(&native, &o, 2);
	}
}

/* Every rop_request fuzz seed, with each of its RopIds listed in turn, in
 * both modes: restored byte for byte. */
static void test_real_buffers_every_ropid(void **state)
{
	(void)state;
	const char *dir = getenv("MP_TEST_DATA_DIR");
	char path[1024];
	snprintf(path, sizeof(path), "%s/../../fuzz/corpus/rop_request",
	         dir ? dir : "tests/unit/data");
	DIR *d = opendir(path);
	assert_non_null(d);
	size_t files = 0, trips = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strstr(e->d_name, ".bin"))
			continue;
		char f[1300];
		snprintf(f, sizeof(f), "%s/%s", path, e->d_name);
		FILE *fp = fopen(f, "rb");
		assert_non_null(fp);
		uint8_t buf[4096];
		size_t n = fread(buf, 1, sizeof(buf), fp);
		fclose(fp);
		files++;
		struct proxypack_bufs native = one(buf, n, REQ_FLAGS);
		/* RopIds of this buffer: every byte value is tried, those present
		 * extract. */
		for (int id = 1; id < 0xff; id++) {
			bool ex[256] = {false};
			ex[id] = true;
			for (int mode = 0; mode < 2; mode++) {
				struct proxypack_opts o = opts(
				    PROXYPACK_REQUEST, mode ? PACK_ALGO_ZSTD : PACK_ALGO_NONE, ex);
				struct proxypack_bufs carrier, back;
				struct proxypack_info info, info2;
				const char *why = NULL;
				int rc = proxypack_pack(mem, &native, &o, &carrier, &info);
				if (rc == MP_DECLINED)
					continue;
				assert_int_equal(rc, MP_OK);
				rc = proxypack_unpack(mem, &carrier, PROXYPACK_REQUEST,
				                      PROXYPACK_MAX_BODY, &back, &info2, &why);
				if (rc != MP_OK)
					fail_msg("%s id %02x: %s", e->d_name, id, why);
				assert_same(&native, &back);
				trips++;
			}
		}
	}
	closedir(d);
	assert_true(files >= 10);
	assert_true(trips > 300); /* each file's whole mode at least, and extractions */
}

static void test_response_chain_and_fragments(void **state)
{
	(void)state;
	/* A chained response: three segments, compressed + obfuscated flags. */
	uint8_t s[3][3000];
	for (int i = 0; i < 3; i++) {
		fill_text(s[i], sizeof(s[i]));
		mp_put_u16(s[i], (uint16_t)(sizeof(s[i]) - 4));
	}
	struct proxypack_bufs native;
	native.count = 3;
	native.segs = talloc_zero_array(mem, struct proxypack_seg, 3);
	for (int i = 0; i < 3; i++)
		native.segs[i] = (struct proxypack_seg){(uint16_t)(0x0003 | (i == 2 ? 0x0004 : 0)),
		                                        s[i], sizeof(s[i])};
	struct proxypack_opts o = opts(PROXYPACK_RESPONSE, PACK_ALGO_LZ4, NULL);
	round_trip(&native, &o, 0);

	/* Stored (no gain from compression) over several small carriers. */
	uint8_t rnd[2000];
	srand(3);
	for (size_t i = 0; i < sizeof(rnd); i++)
		rnd[i] = (uint8_t)rand();
	struct proxypack_bufs r = one(rnd, sizeof(rnd), 0x0004);
	o = opts(PROXYPACK_RESPONSE, PACK_ALGO_ZSTD, NULL);
	o.max_payload = 300;
	o.max_fragments = 100;
	struct proxypack_bufs carrier = round_trip(&r, &o, 0);
	assert_true(carrier.count >= 7);
	struct proxypack_info info;
	assert_int_equal(proxypack_pack(mem, &r, &o, &carrier, &info), MP_OK);
	assert_int_equal(info.algo, PACK_ALGO_NONE);
	/* Not enough carriers allowed. */
	o.max_fragments = 3;
	assert_int_equal(proxypack_pack(mem, &r, &o, &carrier, &info), MP_ERR_LIMIT);
	/* A native payload over 64 KiB cannot be described. */
	struct proxypack_bufs huge = one(rnd, 0x10000, 0);
	assert_int_equal(proxypack_pack(mem, &huge, &o, &carrier, &info), MP_ERR_PARSE);
}

static void test_is_carrier(void **state)
{
	(void)state;
	const uint8_t packed[] = {0x0a, 0x00, 0xa5, 0, 0, 3, 0, 1, 2, 3};
	const uint8_t idle[] = {0x02, 0x00, 0xa5, 0xa5, 0xa5, 0xa5}; /* handle bytes */
	const uint8_t logon[] = {0x05, 0x00, 0xfe, 0x00, 0x00};
	assert_true(proxypack_is_carrier(packed, sizeof(packed)));
	assert_false(proxypack_is_carrier(idle, sizeof(idle)));
	assert_false(proxypack_is_carrier(logon, sizeof(logon)));
	assert_false(proxypack_is_carrier(packed, 2));
	assert_false(proxypack_is_carrier(NULL, 0));
}

/* ---- malformed blobs ---- */

static struct proxypack_bufs copy_carrier(const struct proxypack_bufs *c)
{
	struct proxypack_bufs out;
	out.count = c->count;
	out.segs = talloc_zero_array(mem, struct proxypack_seg, c->count);
	for (size_t i = 0; i < c->count; i++) {
		out.segs[i] = c->segs[i];
		out.segs[i].data = talloc_memdup(mem, c->segs[i].data, c->segs[i].len);
	}
	return out;
}

static int unpack(const struct proxypack_bufs *c, enum proxypack_kind k,
                  struct proxypack_bufs *back, const char **why)
{
	struct proxypack_info info;
	return proxypack_unpack(mem, c, k, PROXYPACK_MAX_BODY, back, &info, why);
}

static void test_every_truncation_and_byte_change(void **state)
{
	(void)state;
	uint8_t b[512];
	size_t n = example_buffer(b, sizeof(b));
	struct proxypack_bufs native = one(b, n, REQ_FLAGS);
	bool ex[256] = {false};
	ex[0x12] = ex[0x07] = true;
	for (int mode = 0; mode < 3; mode++) {
		enum pack_algo al = mode == 0   ? PACK_ALGO_NONE
		                    : mode == 1 ? PACK_ALGO_ZSTD
		                                : PACK_ALGO_LZ4;
		struct proxypack_opts o = opts(PROXYPACK_REQUEST, al, ex);
		struct proxypack_bufs carrier, back;
		struct proxypack_info info;
		const char *why;
		assert_int_equal(proxypack_pack(mem, &native, &o, &carrier, &info), MP_OK);
		const struct proxypack_seg *s0 = &carrier.segs[0];
		for (size_t cut = 0; cut < s0->len; cut++) {
			struct proxypack_bufs t = one(s0->data, cut, 0);
			why = NULL;
			int rc = unpack(&t, PROXYPACK_REQUEST, &back, &why);
			/* Compat carriers may lose handle-table bytes and still
			 * parse, but then the CRC differs. */
			assert_int_not_equal(rc, MP_OK);
			assert_non_null(why);
		}
		for (size_t i = 0; i < s0->len; i++) {
			for (int bit = 0; bit < 8; bit++) {
				struct proxypack_bufs t = copy_carrier(&carrier);
				((uint8_t *)t.segs[0].data)[i] ^= (uint8_t)(1u << bit);
				int rc = unpack(&t, PROXYPACK_REQUEST, &back, &why);
				if (rc == MP_OK) /* only bits that do not matter: accept */
					assert_same(&native, &back);
			}
		}
	}
}

/* Build a carrier around a hand-made blob with a stored body. */
static struct proxypack_bufs hand_blob(const uint8_t *hdr_patch, size_t patch_at, size_t patch_len,
                                       const uint8_t *body, size_t body_len, uint32_t crc)
{
	size_t blen = PROXYPACK_HDR + body_len;
	uint8_t *c = talloc_zero_size(mem, PROXYPACK_ROP_HDR + blen);
	mp_put_u16(c, (uint16_t)(PROXYPACK_ROP_HDR + blen));
	c[2] = PROXYPACK_ROPID;
	mp_put_u16(c + 5, (uint16_t)blen);
	uint8_t *h = c + PROXYPACK_ROP_HDR;
	memcpy(h, "MPPK", 4);
	h[4] = PROXYPACK_VERSION;
	h[5] = PROXYPACK_REQUEST;
	h[6] = PACK_ALGO_NONE;
	h[8] = PROXYPACK_NATIVE_IN_BODY;
	mp_put_u32(h + 12, (uint32_t)body_len);
	mp_put_u32(h + 16, crc);
	memcpy(h + PROXYPACK_HDR, body, body_len);
	if (hdr_patch)
		memcpy(h + patch_at, hdr_patch, patch_len);
	return one(c, PROXYPACK_ROP_HDR + blen, 0);
}

static void test_malformed_headers_and_bodies(void **state)
{
	(void)state;
	/* A valid body: one segment (flags 4) "03 00 01 ..." with no extracted. */
	uint8_t seg[] = {0x03, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00};
	uint8_t body[64];
	size_t bl = 0;
	mp_put_u16(body, 1);
	mp_put_u16(body + 2, 4);
	mp_put_u16(body + 4, sizeof(seg));
	memcpy(body + 6, seg, sizeof(seg));
	bl = 6 + sizeof(seg);
	mp_put_u16(body + bl, 0);
	bl += 2;
	struct proxypack_bufs segb = one(seg, sizeof(seg), 4);
	uint32_t crc = proxypack_crc(&segb);
	struct proxypack_bufs back;
	const char *why;

	struct proxypack_bufs ok = hand_blob(NULL, 0, 0, body, bl, crc);
	assert_int_equal(unpack(&ok, PROXYPACK_REQUEST, &back, &why), MP_OK);
	assert_same(&segb, &back);
	/* Kind: a request blob where a response is expected. */
	assert_int_equal(unpack(&ok, PROXYPACK_RESPONSE, &back, &why), MP_ERR_PARSE);

	struct {
		const char *patch;
		size_t at;
		int rc;
	} cases[] = {
	    {"4D 50 50 4C", 0, MP_ERR_PARSE},  /* magic */
	    {"02", 4, MP_ERR_UNSUPPORTED},     /* version 2 */
	    {"00", 4, MP_ERR_UNSUPPORTED},     /* version 0 */
	    {"03", 5, MP_ERR_PARSE},           /* kind */
	    {"09", 6, MP_ERR_PARSE},           /* algorithm */
	    {"03", 8, MP_ERR_PARSE},           /* unknown flag */
	    {"00 01", 9, MP_ERR_PARSE},        /* reserved */
	    {"FF FF FF 7F", 12, MP_ERR_LIMIT}, /* body size */
	    {"05 00 00 00", 12, MP_ERR_PARSE}, /* stored size differs */
	    {"00 00 00 00", 16, MP_ERR_PARSE}, /* CRC */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t p[8];
		size_t pn = hexbytes(cases[i].patch, p, sizeof(p));
		struct proxypack_bufs c = hand_blob(p, cases[i].at, pn, body, bl, crc);
		why = NULL;
		assert_int_equal(unpack(&c, PROXYPACK_REQUEST, &back, &why), cases[i].rc);
		assert_non_null(why);
	}

	/* Bodies: zero segments, bytes after the body, a truncated segment,
	 * an extracted ROP out of place or before RopSize. */
	uint8_t bad[80];
	memcpy(bad, body, bl);
	mp_put_u16(bad, 0);
	struct proxypack_bufs c = hand_blob(NULL, 0, 0, bad, bl, crc);
	assert_int_equal(unpack(&c, PROXYPACK_REQUEST, &back, &why), MP_ERR_PARSE);
	memcpy(bad, body, bl);
	bad[bl] = 0;
	c = hand_blob(NULL, 0, 0, bad, bl + 1, crc);
	assert_int_equal(unpack(&c, PROXYPACK_REQUEST, &back, &why), MP_ERR_PARSE);
	memcpy(bad, body, bl);
	mp_put_u16(bad + 4, 200);
	c = hand_blob(NULL, 0, 0, bad, bl, crc);
	assert_int_equal(unpack(&c, PROXYPACK_REQUEST, &back, &why), MP_ERR_PARSE);
	const char *entries[] = {
	    "01 00 00 00 01 00 AA",          /* offset 0: over RopSize */
	    "09 00 01 00 AA",                /* past the ROP list of the rest */
	    "02 00 00 00",                   /* empty */
	    "03 00 01 00 AA 02 00 01 00 BB", /* not in order */
	    "02 00 05 00 AA",                /* truncated */
	};
	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		memcpy(bad, body, bl - 2);
		size_t k = bl - 2;
		bool two = strlen(entries[i]) > 20;
		mp_put_u16(bad + k, two ? 2 : 1);
		k += 2;
		k += hexbytes(entries[i], bad + k, sizeof(bad) - k);
		c = hand_blob(NULL, 0, 0, bad, k, crc);
		why = NULL;
		assert_int_equal(unpack(&c, PROXYPACK_REQUEST, &back, &why), MP_ERR_PARSE);
		assert_non_null(why);
	}

	/* Whole-mode carriers with anything besides the proxypack ROP. */
	uint8_t *x = talloc_size(mem, ok.segs[0].len + 4);
	memcpy(x, ok.segs[0].data, ok.segs[0].len);
	memset(x + ok.segs[0].len, 0, 4);
	c = one(x, ok.segs[0].len + 4, 0);
	assert_int_equal(unpack(&c, PROXYPACK_REQUEST, &back, &why), MP_ERR_PARSE);
	/* A second carrier that is not one. */
	struct proxypack_bufs two;
	two.count = 2;
	two.segs = talloc_zero_array(mem, struct proxypack_seg, 2);
	two.segs[0] = ok.segs[0];
	two.segs[1] = (struct proxypack_seg){4, seg, sizeof(seg)};
	assert_int_equal(unpack(&two, PROXYPACK_REQUEST, &back, &why), MP_ERR_PARSE);
	struct proxypack_bufs empty = {NULL, 0};
	assert_int_equal(unpack(&empty, PROXYPACK_REQUEST, &back, &why), MP_ERR_PARSE);
}

/* Blobs written by tests/fuzz/make_corpus_proxypack.py from the format
 * description alone (Python, not this code): read as they should be. */
static void test_independently_written_blobs(void **state)
{
	(void)state;
	const char *dir = getenv("MP_TEST_DATA_DIR");
	const struct {
		const char *file;
		int rc;
		size_t count, extracted;
	} want[] = {
	    {"whole_request.bin", MP_OK, 1, 0},     {"whole_request_two_carriers.bin", MP_OK, 1, 0},
	    {"whole_response.bin", MP_OK, 2, 0},    {"compat_request.bin", MP_OK, 1, 2},
	    {"bad_crc.bin", MP_ERR_PARSE, 0, 0},    {"bad_version.bin", MP_ERR_UNSUPPORTED, 0, 0},
	    {"bad_offset.bin", MP_ERR_PARSE, 0, 0},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char path[1024];
		snprintf(path, sizeof(path), "%s/../../fuzz/corpus/proxypack/%s",
		         dir ? dir : "tests/unit/data", want[i].file);
		FILE *fp = fopen(path, "rb");
		if (!fp)
			fail_msg("%s: run tests/fuzz/make_corpus_proxypack.py", path);
		static uint8_t d[8192];
		size_t n = fread(d, 1, sizeof(d), fp);
		fclose(fp);
		/* Mode byte, then u16 length + bytes per carrier. */
		struct mp_rcursor rc;
		mp_rc_init(&rc, d + 1, n - 1);
		struct proxypack_seg segs[8];
		struct proxypack_bufs c = {segs, 0};
		while (c.count < 8 && mp_rc_left(&rc) >= 2) {
			size_t l = mp_rc_u16(&rc);
			segs[c.count++] = (struct proxypack_seg){0, mp_rc_take(&rc, l), l};
		}
		assert_false(rc.bad);
		struct proxypack_bufs native;
		struct proxypack_info info;
		const char *why = NULL;
		int r = proxypack_unpack(mem, &c, d[0] & 2 ? PROXYPACK_RESPONSE : PROXYPACK_REQUEST,
		                         PROXYPACK_MAX_BODY, &native, &info, &why);
		if (r != want[i].rc)
			fail_msg("%s: %d (%s), want %d", want[i].file, r, why ? why : "",
			         want[i].rc);
		if (r == MP_OK) {
			assert_int_equal(native.count, want[i].count);
			assert_int_equal(info.extracted, want[i].extracted);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_compress_round_trips),
	    cmocka_unit_test(test_compress_refuses),
	    cmocka_unit_test(test_decompression_bombs),
	    cmocka_unit_test(test_compat_extracts_listed_rops),
	    cmocka_unit_test(test_whole_mode_all_algorithms),
	    cmocka_unit_test(test_real_buffers_every_ropid),
	    cmocka_unit_test(test_response_chain_and_fragments),
	    cmocka_unit_test(test_is_carrier),
	    cmocka_unit_test(test_every_truncation_and_byte_change),
	    cmocka_unit_test(test_malformed_headers_and_bodies),
	    cmocka_unit_test(test_independently_written_blobs),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
