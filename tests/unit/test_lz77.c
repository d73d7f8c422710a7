/*
 * Unit tests: mapi/lz77 (LZ77 + DIRECT2 of MS-OXCRPC 3.1.4.1.1.2).
 *
 * Golden vectors: the Plain LZ77 examples of MS-XCA section 3.1 (the same
 * byte format as MS-OXCRPC's DIRECT2): "abcdefghijklmnopqrstuvwxyz" and
 * "abc" x 100, both ways. Hand-assembled streams for what our compressor
 * does not produce itself but a peer may send: two extended lengths sharing
 * one nibble byte, a byte extension followed by a shared high nibble, the
 * 16- and 32-bit length forms, a stream without its end marker. Then round
 * trips over text, random bytes, UTF-16, ROP-like rows, runs longer than
 * 0x10000, the 8192-byte window edge, every size up to 300; corrupt input
 * (every truncation, bad offsets, short length forms) refused without
 * writing past the output capacity (checked with a guard zone). Optionally
 * (MP_XCA_VECTORS_DIR): every stream of Samba's Windows-made test vectors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mapi/lz77.h"
#include "util/status.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_data.h"

#define GUARD 64

/* Output buffer with a guard zone after `cap` bytes. */
struct obuf {
	uint8_t *p;
	size_t cap;
};

static struct obuf obuf_new(size_t cap)
{
	struct obuf o = {malloc(cap + GUARD), cap};
	assert_non_null(o.p);
	memset(o.p, 0xee, cap + GUARD);
	return o;
}

static void obuf_check_free(struct obuf *o)
{
	for (size_t i = 0; i < GUARD; i++)
		assert_int_equal(o->p[o->cap + i], 0xee);
	free(o->p);
}

static uint32_t rng_state = 12345;

static uint32_t rnd(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return rng_state >> 8;
}

/* compress -> decompress must give the input back; returns the size. */
static size_t roundtrip(const uint8_t *in, size_t len)
{
	size_t bound = mp_lz77_compress_bound(len);
	struct obuf c = obuf_new(bound);
	ssize_t n = mp_lz77_compress(in, len, c.p, c.cap);
	assert_true(n >= 4);
	assert_true((size_t)n <= bound);

	/* Deterministic: the same input gives the same bytes. */
	uint8_t *again = malloc(bound);
	assert_int_equal(mp_lz77_compress(in, len, again, bound), n);
	assert_memory_equal(again, c.p, (size_t)n);
	free(again);

	struct obuf d = obuf_new(len);
	assert_int_equal(mp_lz77_decompress(c.p, (size_t)n, d.p, d.cap), (ssize_t)len);
	if (len)
		assert_memory_equal(d.p, in, len);
	obuf_check_free(&d);

	/* One byte less room than the data needs: refused, nothing past it. */
	if (len) {
		struct obuf s = obuf_new(len - 1);
		assert_int_equal(mp_lz77_decompress(c.p, (size_t)n, s.p, s.cap), MP_ERR_LIMIT);
		obuf_check_free(&s);
	}
	obuf_check_free(&c);
	return (size_t)n;
}

/* ---- MS-XCA 3.1 examples -------------------------------------------------- */

static const uint8_t xca_alpha_z[] = {
    0x3f, 0x00, 0x00, 0x00, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b,
    0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a,
};
static const uint8_t xca_abc_z[] = {0xff, 0xff, 0xff, 0x1f, 0x61, 0x62, 0x63,
                                    0x17, 0x00, 0x0f, 0xff, 0x26, 0x01};

static void test_spec_example_alphabet(void **state)
{
	const char *plain = "abcdefghijklmnopqrstuvwxyz";
	uint8_t out[64];

	assert_int_equal(mp_lz77_compress((const uint8_t *)plain, 26, out, sizeof(out)),
	                 sizeof(xca_alpha_z));
	assert_memory_equal(out, xca_alpha_z, sizeof(xca_alpha_z));
	assert_int_equal(mp_lz77_decompress(xca_alpha_z, sizeof(xca_alpha_z), out, 26), 26);
	assert_memory_equal(out, plain, 26);
}

static void test_spec_example_abc_x100(void **state)
{
	uint8_t plain[300], out[400];
	for (int i = 0; i < 100; i++)
		memcpy(plain + 3 * i, "abc", 3);

	/* Three literals, one match of 297 at offset 3 using the nibble 15,
	 * the byte 255 and the 16-bit length 294 = 297 - 3. */
	assert_int_equal(mp_lz77_compress(plain, 300, out, sizeof(out)), sizeof(xca_abc_z));
	assert_memory_equal(out, xca_abc_z, sizeof(xca_abc_z));
	assert_int_equal(mp_lz77_decompress(xca_abc_z, sizeof(xca_abc_z), out, 300), 300);
	assert_memory_equal(out, plain, 300);
}

/* ---- hand-assembled streams ----------------------------------------------- */

static void expect_abc(const uint8_t *z, size_t zlen, size_t n)
{
	uint8_t out[128];
	assert_true(n <= sizeof(out));
	assert_int_equal(mp_lz77_decompress(z, zlen, out, sizeof(out)), (ssize_t)n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(out[i], "abc"[i % 3]);
}

static void test_shared_nibble_byte(void **state)
{
	/* a b c, match(3, 12): length bits 7 + nibble 2 in a new byte;
	 * match(3, 13): length bits 7 + nibble 3 from the high half of that
	 * same byte (0x32), no byte of its own. */
	static const uint8_t z[] = {0xff, 0xff, 0xff, 0x1f, 'a',  'b',
	                            'c',  0x17, 0x00, 0x32, 0x17, 0x00};
	expect_abc(z, sizeof(z), 3 + 12 + 13);
}

static void test_byte_extension_then_high_nibble(void **state)
{
	/* match(3, 30): nibble 15 (low half of a new byte) + byte 5;
	 * match(3, 10): nibble 0 from the high half of the shared byte;
	 * match(3, 11): nibble 1 in a new shared byte. */
	static const uint8_t z[] = {0xff, 0xff, 0xff, 0x1f, 'a',  'b',  'c',  0x17,
	                            0x00, 0x0f, 0x05, 0x17, 0x00, 0x17, 0x00, 0x01};
	expect_abc(z, sizeof(z), 3 + 30 + 10 + 11);
}

static void test_short_lengths_inline(void **state)
{
	/* Lengths 3..9 in the low 3 bits: a b c, match(3, 3), match(3, 9). */
	static const uint8_t z[] = {0xff, 0xff, 0xff, 0x1f, 'a', 'b', 'c', 0x10, 0x00, 0x16, 0x00};
	expect_abc(z, sizeof(z), 3 + 3 + 9);
}

static void test_long_length_forms(void **state)
{
	/* One literal 'x', then match(1, L): L = 0x10002 in the 16-bit form
	 * (L - 3 = 0xffff, the largest it holds), L = 0x30000 in the 32-bit
	 * form that a 16-bit 0 announces. */
	static const uint8_t z16[] = {0xff, 0xff, 0xff, 0x7f, 'x', 0x07,
	                              0x00, 0x0f, 0xff, 0xff, 0xff};
	static const uint8_t z32[] = {0xff, 0xff, 0xff, 0x7f, 'x',  0x07, 0x00, 0x0f,
	                              0xff, 0x00, 0x00, 0xfd, 0xff, 0x02, 0x00};
	size_t n16 = 1 + 0xffff + 3, n32 = 1 + 0x2fffd + 3;
	uint8_t *out = malloc(n32);

	assert_int_equal(mp_lz77_decompress(z16, sizeof(z16), out, n32), (ssize_t)n16);
	for (size_t i = 0; i < n16; i++)
		assert_int_equal(out[i], 'x');
	assert_int_equal(mp_lz77_decompress(z32, sizeof(z32), out, n32), (ssize_t)n32);
	for (size_t i = 0; i < n32; i++)
		assert_int_equal(out[i], 'x');
	/* The same run from our compressor decodes back, whatever form it
	 * picked (a run needs one literal and one match). */
	assert_true(roundtrip(out, n32) < 24);
	free(out);
}

static void test_end_marker_variants(void **state)
{
	uint8_t out[64];

	/* Exactly 32 literals fill the indicator; the end marker is a whole
	 * extra indicator of 1 bits. */
	uint8_t z[4 + 32 + 4];
	memset(z, 0, 4);
	for (int i = 0; i < 32; i++)
		z[4 + i] = (uint8_t)('A' + i);
	memset(z + 36, 0xff, 4);
	assert_int_equal(mp_lz77_decompress(z, sizeof(z), out, sizeof(out)), 32);
	assert_int_equal(out[31], 'A' + 31);

	uint8_t lit32[32];
	memcpy(lit32, z + 4, 32);
	uint8_t c[64];
	assert_int_equal(mp_lz77_compress(lit32, 32, c, sizeof(c)), sizeof(z));
	assert_memory_equal(c, z, sizeof(z));

	/* Without the extra indicator (the input simply ends) it is the same
	 * data; so is a stream whose 0 bits outnumber its literals. */
	assert_int_equal(mp_lz77_decompress(z, 36, out, sizeof(out)), 32);
	static const uint8_t short_z[] = {0x00, 0x00, 0x00, 0x00, 'h', 'i'};
	assert_int_equal(mp_lz77_decompress(short_z, sizeof(short_z), out, sizeof(out)), 2);

	/* Empty input: an empty output; our compressor writes ff ff ff ff. */
	assert_int_equal(mp_lz77_decompress(z, 0, out, sizeof(out)), 0);
	assert_int_equal(mp_lz77_compress(NULL, 0, c, sizeof(c)), 4);
	assert_memory_equal(c, "\xff\xff\xff\xff", 4);
	assert_int_equal(mp_lz77_decompress(c, 4, out, sizeof(out)), 0);
}

/* ---- corrupt input -------------------------------------------------------- */

static void expect_fail(const uint8_t *z, size_t zlen, size_t cap, int want)
{
	struct obuf o = obuf_new(cap);
	assert_int_equal(mp_lz77_decompress(z, zlen, o.p, o.cap), want);
	obuf_check_free(&o);
}

static void test_corrupt_refused(void **state)
{
	/* A match before the first byte of output (offset 1, nothing yet). */
	static const uint8_t before_start[] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00};
	expect_fail(before_start, sizeof(before_start), 64, MP_ERR_PARSE);
	/* Offset 4 after 3 bytes. */
	static const uint8_t too_far[] = {0xff, 0xff, 0xff, 0x1f, 'a', 'b', 'c', 0x18, 0x00};
	expect_fail(too_far, sizeof(too_far), 64, MP_ERR_PARSE);
	/* Indicator of 1..3 bytes. */
	expect_fail(before_start, 1, 64, MP_ERR_PARSE);
	expect_fail(before_start, 3, 64, MP_ERR_PARSE);
	/* Metadata cut after one byte. */
	static const uint8_t cut_meta[] = {0xff, 0xff, 0xff, 0x7f, 'a', 0x00};
	expect_fail(cut_meta, sizeof(cut_meta), 64, MP_ERR_PARSE);
	/* Extended length with its nibble byte, extra byte, 16- or 32-bit
	 * length missing. */
	static const uint8_t cut_ext[] = {0xff, 0xff, 0xff, 0x7f, 'a',  0x07, 0x00,
	                                  0x0f, 0xff, 0x00, 0x00, 0x10, 0x00, 0x00};
	expect_fail(cut_ext, 7, 1 << 20, MP_ERR_PARSE);
	expect_fail(cut_ext, 8, 1 << 20, MP_ERR_PARSE);
	expect_fail(cut_ext, 9, 1 << 20, MP_ERR_PARSE);
	expect_fail(cut_ext, 10, 1 << 20, MP_ERR_PARSE);
	expect_fail(cut_ext, 13, 1 << 20, MP_ERR_PARSE);
	/* A 16-bit length below 22 (shorter forms exist). */
	static const uint8_t short16[] = {0xff, 0xff, 0xff, 0x7f, 'a', 0x07,
	                                  0x00, 0x0f, 0xff, 0x15, 0x00};
	expect_fail(short16, sizeof(short16), 1 << 20, MP_ERR_PARSE);
	/* A 32-bit length that wants 4 GiB: refused by the capacity. */
	static const uint8_t huge[] = {0xff, 0xff, 0xff, 0x7f, 'a',  0x07, 0x00, 0x0f,
	                               0xff, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff};
	expect_fail(huge, sizeof(huge), 1 << 20, MP_ERR_LIMIT);
}

static void test_output_cap_respected(void **state)
{
	/* Literals that do not fit, a match that does not fit. */
	expect_fail(xca_alpha_z, sizeof(xca_alpha_z), 25, MP_ERR_LIMIT);
	expect_fail(xca_alpha_z, sizeof(xca_alpha_z), 0, MP_ERR_LIMIT);
	expect_fail(xca_abc_z, sizeof(xca_abc_z), 299, MP_ERR_LIMIT);
	expect_fail(xca_abc_z, sizeof(xca_abc_z), 3, MP_ERR_LIMIT);
	/* NULL output with no capacity: nothing can be written. */
	assert_int_equal(mp_lz77_decompress(xca_abc_z, sizeof(xca_abc_z), NULL, 0), MP_ERR_LIMIT);
}

static void test_every_truncation_and_mutation(void **state)
{
	/* A varied stream: text with repeats, an extended length, a run. */
	uint8_t plain[3000];
	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t) "Mailbox Folder Inbox Calendar "[(i * 7 + i / 50) % 30];
	memset(plain + 1000, 0, 500);
	uint8_t z[4000];
	ssize_t zn = mp_lz77_compress(plain, sizeof(plain), z, sizeof(z));
	assert_true(zn > 0);

	/* Every prefix: refused, or a prefix of the data (the input may end
	 * between two elements). */
	for (size_t cut = 0; cut < (size_t)zn; cut++) {
		struct obuf o = obuf_new(sizeof(plain));
		ssize_t n = mp_lz77_decompress(z, cut, o.p, o.cap);
		assert_true(n == MP_ERR_PARSE || n >= 0);
		if (n > 0)
			assert_memory_equal(o.p, plain, (size_t)n);
		obuf_check_free(&o);
	}
	/* Random byte changes: any result, never a write past the cap. */
	uint8_t m[4000];
	for (int round = 0; round < 3000; round++) {
		memcpy(m, z, (size_t)zn);
		int edits = 1 + (int)(rnd() % 4);
		for (int e = 0; e < edits; e++)
			m[rnd() % (uint32_t)zn] ^= (uint8_t)(1u << (rnd() % 8));
		size_t cap = rnd() % 2 ? sizeof(plain) : rnd() % sizeof(plain);
		struct obuf o = obuf_new(cap);
		ssize_t n = mp_lz77_decompress(m, (size_t)zn, o.p, o.cap);
		assert_true(n == MP_ERR_PARSE || n == MP_ERR_LIMIT || (n >= 0 && (size_t)n <= cap));
		obuf_check_free(&o);
	}
}

/* ---- round trips ---------------------------------------------------------- */

static void test_roundtrip_text(void **state)
{
	static const char *words[] = {"the ",     "message ",   "store ",    "folder ", "Exchange ",
	                              "Outlook ", "property ",  "row ",      "table ",  "of ",
	                              "and ",     "recipient ", "subject: ", "\r\n"};
	size_t len = 200000;
	uint8_t *t = malloc(len);
	for (size_t i = 0; i < len;) {
		const char *w = words[rnd() % 14];
		size_t wl = strlen(w);
		if (wl > len - i)
			wl = len - i;
		memcpy(t + i, w, wl);
		i += wl;
	}
	size_t z = roundtrip(t, len);
	/* Text of a small vocabulary compresses well. */
	assert_true(z < len / 3);
	free(t);
}

static void test_roundtrip_random(void **state)
{
	size_t len = 100000;
	uint8_t *r = malloc(len);
	for (size_t i = 0; i < len; i++)
		r[i] = (uint8_t)rnd();
	size_t z = roundtrip(r, len);
	/* Incompressible: only the indicators are added. */
	assert_true(z <= mp_lz77_compress_bound(len));
	assert_true(z >= len);
	free(r);
}

static void test_roundtrip_long_runs(void **state)
{
	size_t len = 0x30000;
	uint8_t *b = malloc(len);

	memset(b, 0, len); /* one run longer than 0x10000 */
	assert_true(roundtrip(b, len) < 24);

	for (size_t i = 0; i < len; i++) /* UTF-16 "A" repeated */
		b[i] = i % 2 ? 0 : 'A';
	assert_true(roundtrip(b, len) < 32);

	memset(b, 'q', 0x10003); /* run of exactly 0x10003, then text */
	for (size_t i = 0x10003; i < len; i++)
		b[i] = (uint8_t)('a' + i % 26);
	roundtrip(b, len);
	free(b);
}

static void test_roundtrip_window_edge(void **state)
{
	/* A block repeated at exactly 8192 bytes can be matched; at 8193 it
	 * cannot (the offset has 13 bits) and must still round-trip. */
	for (size_t dist = 8190; dist <= 8194; dist++) {
		size_t len = dist + 300;
		uint8_t *b = malloc(len);
		for (size_t i = 0; i < len; i++)
			b[i] = (uint8_t)rnd();
		memcpy(b + dist, b, 300);
		size_t z = roundtrip(b, len);
		/* Random bytes cost themselves plus 4 bytes of indicator per 32;
		 * the repeat costs one match if in reach, 300 literals if not. */
		size_t t = dist + 4 * (dist / 32) + 150;
		if (dist <= MP_LZ77_WINDOW)
			assert_true(z < t);
		else
			assert_true(z > t);
		free(b);
	}
}

static void test_roundtrip_rop_rows(void **state)
{
	/* Rows as a RopQueryRows response carries them: tags, UTF-16
	 * subjects, 46-byte entry IDs sharing a prefix, FILETIMEs. */
	size_t len = 30000, i = 0;
	uint8_t *b = malloc(len);
	while (i + 160 < len) {
		static const uint8_t eid_prefix[] = {0x00, 0x00, 0x00, 0x00, 0x1f, 0x3c, 0x4e, 0x12,
		                                     0x9a, 0x3b, 0x41, 0x45, 0x8d, 0x3b, 0x3d, 0x41,
		                                     0x71, 0x23, 0x9e, 0x57, 0x01, 0x00};
		b[i++] = 0x00;
		memcpy(b + i, eid_prefix, sizeof(eid_prefix));
		i += sizeof(eid_prefix);
		for (int k = 0; k < 24; k++)
			b[i++] = (uint8_t)rnd();
		const char *subj = rnd() % 2 ? "Weekly status report" : "RE: Budget review";
		for (const char *s = subj; *s; s++) {
			b[i++] = (uint8_t)*s;
			b[i++] = 0;
		}
		b[i++] = 0;
		b[i++] = 0;
		uint32_t t = rnd();
		memcpy(b + i, "\x40\x00\x06\x0e", 4);
		i += 4;
		memcpy(b + i, &t, 4);
		i += 4;
		memcpy(b + i, "\x90\xd9\x01\x00", 4);
		i += 4;
	}
	size_t z = roundtrip(b, i);
	assert_true(z < i * 2 / 3);
	free(b);
}

static void test_roundtrip_small_sizes(void **state)
{
	uint8_t b[300];
	for (size_t len = 0; len <= sizeof(b); len++) {
		for (size_t i = 0; i < len; i++)
			b[i] = (uint8_t) "aab"[rnd() % 3];
		roundtrip(b, len);
	}
}

static void test_compress_cap(void **state)
{
	uint8_t plain[1000];
	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t)rnd();
	ssize_t need = 0;
	uint8_t big[1200];
	need = mp_lz77_compress(plain, sizeof(plain), big, sizeof(big));
	assert_true(need > 1000);
	/* Every smaller capacity is refused without writing past it. */
	for (size_t cap = 0; cap < (size_t)need; cap += 37) {
		struct obuf o = obuf_new(cap);
		assert_int_equal(mp_lz77_compress(plain, sizeof(plain), o.p, o.cap), MP_ERR_LIMIT);
		obuf_check_free(&o);
	}
	struct obuf o = obuf_new((size_t)need);
	assert_int_equal(mp_lz77_compress(plain, sizeof(plain), o.p, o.cap), need);
	obuf_check_free(&o);
}

/* ---- streams made by Windows (optional) ------------------------------------ */

/*
 * Plain LZ77 streams written by the Windows compression API (the Xpress
 * engine Exchange uses), as Samba keeps them in testdata/compression/:
 * DIR/decompressed/NAME.decomp and DIR/compressed-plain/NAME.lzplain,
 * DIR/compressed-more-plain/NAME.lzplain. They are not in this repository;
 * with MP_XCA_VECTORS_DIR=DIR every stream must decompress to its file
 * (Windows stores a file it cannot shrink as is: those are skipped), and
 * our compressor must stay within 10% of Windows' total size.
 */
static void check_windows_dir(const char *root, const char *sub, int *streams)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", root, sub);
	DIR *d = opendir(path);
	assert_non_null(d);
	size_t win = 0, ours = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		char *dot = strstr(de->d_name, ".lzplain");
		if (!dot)
			continue;
		struct blob z = {0}, plain = {0};
		snprintf(path, sizeof(path), "%s/%s/%s", root, sub, de->d_name);
		assert_true(read_path(path, &z));
		snprintf(path, sizeof(path), "%s/decompressed/%.*s.decomp", root,
		         (int)(dot - de->d_name), de->d_name);
		assert_true(read_path(path, &plain));
		if (z.len != plain.len || memcmp(z.p, plain.p, z.len) != 0) {
			struct obuf o = obuf_new(plain.len);
			assert_int_equal(mp_lz77_decompress(z.p, z.len, o.p, o.cap),
			                 (ssize_t)plain.len);
			assert_memory_equal(o.p, plain.p, plain.len);
			obuf_check_free(&o);
			win += z.len;
			ours += roundtrip(plain.p, plain.len);
			(*streams)++;
		}
		free(z.p);
		free(plain.p);
	}
	closedir(d);
	assert_true(ours <= win + win / 10);
}

static void test_windows_streams(void **state)
{
	const char *root = getenv("MP_XCA_VECTORS_DIR");
	if (!root || !*root)
		skip();
	int streams = 0;
	check_windows_dir(root, "compressed-plain", &streams);
	check_windows_dir(root, "compressed-more-plain", &streams);
	assert_true(streams > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spec_example_alphabet),
	    cmocka_unit_test(test_spec_example_abc_x100),
	    cmocka_unit_test(test_shared_nibble_byte),
	    cmocka_unit_test(test_byte_extension_then_high_nibble),
	    cmocka_unit_test(test_short_lengths_inline),
	    cmocka_unit_test(test_long_length_forms),
	    cmocka_unit_test(test_end_marker_variants),
	    cmocka_unit_test(test_corrupt_refused),
	    cmocka_unit_test(test_output_cap_respected),
	    cmocka_unit_test(test_every_truncation_and_mutation),
	    cmocka_unit_test(test_roundtrip_text),
	    cmocka_unit_test(test_roundtrip_random),
	    cmocka_unit_test(test_roundtrip_long_runs),
	    cmocka_unit_test(test_roundtrip_window_edge),
	    cmocka_unit_test(test_roundtrip_rop_rows),
	    cmocka_unit_test(test_roundtrip_small_sizes),
	    cmocka_unit_test(test_compress_cap),
	    cmocka_unit_test(test_windows_streams),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
