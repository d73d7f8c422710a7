/*
 * LZ77 + DIRECT2 compression of the EcDoRpcExt2 extended buffers
 * (MS-OXCRPC 3.1.4.1.1.2; the same byte format as MS-XCA "Plain LZ77").
 *
 * Stream format, as both functions read and write it:
 *   - a 32-bit little-endian indicator precedes every 32 elements; its bits,
 *     most significant first, say literal (0) or match (1);
 *   - a literal is one byte, copied as is;
 *   - a match is a 16-bit little-endian word: offset - 1 in the high 13 bits
 *     (offsets 1..8192), length - 3 in the low 3 bits; the value 7 extends
 *     the length with a nibble (the low, then the high half of a byte shared
 *     by two consecutive extended matches), the nibble 15 with one more byte,
 *     the byte 255 with a 16-bit total (length - 3), the total 0 with a
 *     32-bit total (length - 3);
 *   - after the last element the indicator bits are 1; when the last
 *     indicator is full, one more indicator 0xffffffff ends the stream.
 *
 * Neither function allocates from talloc or blocks; the compressor takes a
 * little scratch memory with malloc (the match finder's tables).
 */
#ifndef MP_MAPI_LZ77_H
#define MP_MAPI_LZ77_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Largest match offset of the format. */
#define MP_LZ77_WINDOW 8192

/*
 * Decompress `in` into `out` (at most `out_cap` bytes). The stream ends with
 * its input: the end marker bits, or the input running out between two
 * elements. Returns the number of bytes written, or
 *   MP_ERR_PARSE  corrupt input (a match reaching before the start of the
 *                 output, a truncated match or indicator, a bad length);
 *   MP_ERR_LIMIT  the output would exceed out_cap.
 * Never reads or writes outside the two buffers, whatever the input. The
 * caller compares the result with the size it expected (SizeActual).
 */
ssize_t mp_lz77_decompress(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap);

/* Output size that mp_lz77_compress() never exceeds for `len` input bytes. */
static inline size_t mp_lz77_compress_bound(size_t len)
{
	return len + 4 * (len / 32 + 2);
}

/*
 * Compress `in` into `out` (at most `out_cap` bytes); deterministic: the
 * same input always gives the same bytes. Returns the compressed size, or
 *   MP_ERR_LIMIT  out_cap is too small (always enough: compress_bound), or
 *                 the input is larger than 2 GiB;
 *   MP_ERR_NOMEM  the match finder's tables could not be allocated.
 * An empty input gives the 4-byte stream ff ff ff ff.
 */
ssize_t mp_lz77_compress(const uint8_t *in, size_t len, uint8_t *out, size_t out_cap);

#endif
