/*
 * libFuzzer target: mapi/lz77.
 *
 * The first byte picks what happens:
 *   even  the rest is a compressed stream: decompressed into a buffer of a
 *         capacity taken from the next two bytes, with a guard zone after
 *         it; the result is a documented code or a size within the cap,
 *         and the guard is intact;
 *   odd   the rest is plain data: compressed (into exactly
 *         mp_lz77_compress_bound bytes, and into one byte less than the
 *         result, which must be refused), then decompressed: the data comes
 *         back, and compressing again gives the same bytes.
 */
#include "mapi/lz77.h"
#include "util/status.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GUARD 32

static void check(int ok)
{
	if (!ok)
		abort();
}

static void fuzz_decompress(const uint8_t *in, size_t len)
{
	size_t cap = 0;
	if (len >= 2) {
		cap = (size_t)in[0] | (size_t)in[1] << 8;
		cap *= 4; /* up to 256 KiB, the size of an rgbOut */
		in += 2;
		len -= 2;
	}
	uint8_t *out = malloc(cap + GUARD);
	check(out != NULL);
	memset(out + cap, 0x5a, GUARD);
	ssize_t n = mp_lz77_decompress(in, len, out, cap);
	check(n == MP_ERR_PARSE || n == MP_ERR_LIMIT || (n >= 0 && (size_t)n <= cap));
	for (size_t i = 0; i < GUARD; i++)
		check(out[cap + i] == 0x5a);
	free(out);
}

static void fuzz_roundtrip(const uint8_t *in, size_t len)
{
	size_t bound = mp_lz77_compress_bound(len);
	uint8_t *z = malloc(bound + GUARD);
	uint8_t *z2 = malloc(bound);
	uint8_t *back = malloc(len + GUARD);
	check(z && z2 && back);
	memset(z + bound, 0x5a, GUARD);

	ssize_t n = mp_lz77_compress(in, len, z, bound);
	check(n >= 4 && (size_t)n <= bound);
	for (size_t i = 0; i < GUARD; i++)
		check(z[bound + i] == 0x5a);
	check(mp_lz77_compress(in, len, z2, bound) == n);
	check(memcmp(z, z2, (size_t)n) == 0);
	check(mp_lz77_compress(in, len, z2, (size_t)n - 1) == MP_ERR_LIMIT);

	memset(back + len, 0x5a, GUARD);
	check(mp_lz77_decompress(z, (size_t)n, back, len) == (ssize_t)len);
	check(len == 0 || memcmp(back, in, len) == 0);
	for (size_t i = 0; i < GUARD; i++)
		check(back[len + i] == 0x5a);
	free(z);
	free(z2);
	free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		fuzz_roundtrip(data + 1, size - 1);
	else
		fuzz_decompress(data + 1, size - 1);
	return 0;
}
