/*
 * The pack module's compression between hops: zstd and lz4 behind one
 * interface, with hard size caps on both sides.
 *
 * Compression writes into a buffer of at most `cap` bytes and reports
 * MP_ERR_LIMIT when the result would not fit (the caller then stores the
 * data as is). Decompression is told the exact restored size, checked
 * against a maximum before anything is allocated; output that would be
 * larger, smaller or corrupt is refused (MP_ERR_PARSE), so a small input
 * cannot make us allocate or write more than the protocol allows.
 *
 * Contexts (a zstd context, the lz4 HC state) are cached per thread and
 * reused; pack_compress_release() frees the calling thread's.
 *
 * Memory: outputs are talloc'd under the caller's `mem`.
 */
#ifndef MP_MODULE_PACK_COMPRESS_H
#define MP_MODULE_PACK_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Algorithm numbers travel in the proxypack blob: never renumber. */
enum pack_algo { PACK_ALGO_NONE = 0, PACK_ALGO_ZSTD = 1, PACK_ALGO_LZ4 = 2, PACK_ALGO_COUNT };

/* "none", "zstd", "lz4" ("?" for others). */
const char *pack_algo_name(unsigned algo);
/* Parse a name (case-insensitive); false when unknown. */
bool pack_algo_parse(const char *name, enum pack_algo *out);
/* Was this build linked with the library? (none: always.) */
bool pack_algo_available(unsigned algo);
/* Bit (1 << algo) for each available algorithm. */
uint8_t pack_algo_mask(void);

/*
 * Check a level for an algorithm: 0 is the library's default (zstd 3, lz4
 * fast); zstd takes its own range (negative: faster), lz4 1..12 selects
 * LZ4 HC at that level; none takes only 0. NULL when fine, else a sentence.
 */
const char *pack_level_check(enum pack_algo algo, long level);

/*
 * Compress n bytes with `algo` (not none) into at most `cap` bytes.
 * MP_OK with *out (talloc under mem) and *out_len; MP_ERR_LIMIT when the
 * result does not fit in cap (or n is beyond what the library takes);
 * MP_ERR_UNSUPPORTED when the algorithm is not built in; MP_ERR_NOMEM.
 */
int pack_compress(void *mem, enum pack_algo algo, int level, const uint8_t *src, size_t n,
                  size_t cap, uint8_t **out, size_t *out_len);

/*
 * Decompress n bytes with `algo` (not none) into exactly `expect` bytes.
 * MP_ERR_LIMIT when expect > max (nothing allocated); MP_ERR_PARSE when
 * the data is corrupt or restores to any other size (*why: a static
 * reason); MP_ERR_UNSUPPORTED, MP_ERR_NOMEM.
 */
int pack_decompress(void *mem, enum pack_algo algo, const uint8_t *src, size_t n, size_t expect,
                    size_t max, uint8_t **out, const char **why);

/* Free the calling thread's cached contexts. */
void pack_compress_release(void);

#endif
