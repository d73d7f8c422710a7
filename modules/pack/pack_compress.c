/*
 * zstd and lz4 for the pack module (pack_compress.h). A library missing at
 * build time leaves its algorithm unavailable: the module refuses it in
 * its configuration, and a peer's blob using it is refused per call.
 */
#include "pack/pack_compress.h"

#include "util/status.h"

#include <limits.h>
#include <strings.h>
#include <talloc.h>

#if __has_include(<zstd.h>)
#include <zstd.h>
#include <zstd_errors.h>
#define PACK_HAVE_ZSTD 1
#else
#define PACK_HAVE_ZSTD 0
#endif

#if __has_include(<lz4.h>) && __has_include(<lz4hc.h>)
#include <lz4.h>
#include <lz4hc.h>
#define PACK_HAVE_LZ4 1
#else
#define PACK_HAVE_LZ4 0
#endif

static const char *const algo_names[PACK_ALGO_COUNT] = {"none", "zstd", "lz4"};

const char *pack_algo_name(unsigned algo)
{
	return algo < PACK_ALGO_COUNT ? algo_names[algo] : "?";
}

bool pack_algo_parse(const char *name, enum pack_algo *out)
{
	for (unsigned i = 0; i < PACK_ALGO_COUNT; i++) {
		if (strcasecmp(name, algo_names[i]) == 0) {
			*out = (enum pack_algo)i;
			return true;
		}
	}
	return false;
}

bool pack_algo_available(unsigned algo)
{
	switch (algo) {
	case PACK_ALGO_NONE:
		return true;
	case PACK_ALGO_ZSTD:
		return PACK_HAVE_ZSTD;
	case PACK_ALGO_LZ4:
		return PACK_HAVE_LZ4;
	default:
		return false;
	}
}

uint8_t pack_algo_mask(void)
{
	uint8_t m = 0;
	for (unsigned i = 0; i < PACK_ALGO_COUNT; i++)
		if (pack_algo_available(i))
			m |= (uint8_t)(1u << i);
	return m;
}

const char *pack_level_check(enum pack_algo algo, long level)
{
	switch (algo) {
	case PACK_ALGO_NONE:
		return level == 0 ? NULL : "takes no level without compression (leave it 0)";
	case PACK_ALGO_ZSTD:
#if PACK_HAVE_ZSTD
		if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())
			return "is out of zstd's range (negative for speed, 1..19 usual, 0 "
			       "default)";
#endif
		return NULL;
	case PACK_ALGO_LZ4:
		return level >= 0 && level <= 12
		           ? NULL
		           : "is out of lz4's range (0 fast, 1..12 HC levels)";
	default:
		return "names no algorithm";
	}
}

/* ---- cached contexts (the daemon runs each session on one thread) ---- */

#if PACK_HAVE_ZSTD
static _Thread_local ZSTD_CCtx *zcctx;
static _Thread_local ZSTD_DCtx *zdctx;
#endif
#if PACK_HAVE_LZ4
static _Thread_local void *lz4hc_state;
#endif

void pack_compress_release(void)
{
#if PACK_HAVE_ZSTD
	ZSTD_freeCCtx(zcctx);
	ZSTD_freeDCtx(zdctx);
	zcctx = NULL;
	zdctx = NULL;
#endif
#if PACK_HAVE_LZ4
	talloc_free(lz4hc_state);
	lz4hc_state = NULL;
#endif
}

/* ---- compress ---- */

static int compress_zstd(int level, const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                         size_t *out_len)
{
#if PACK_HAVE_ZSTD
	if (!zcctx && !(zcctx = ZSTD_createCCtx()))
		return MP_ERR_NOMEM;
	ZSTD_CCtx_reset(zcctx, ZSTD_reset_session_and_parameters);
	/* The frame carries the restored size: the peer checks it before
	 * decompressing. Integrity is the blob's CRC, not a frame checksum. */
	if (ZSTD_isError(ZSTD_CCtx_setParameter(zcctx, ZSTD_c_compressionLevel, level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(zcctx, ZSTD_c_contentSizeFlag, 1)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(zcctx, ZSTD_c_checksumFlag, 0)))
		return MP_ERR_UNSUPPORTED;
	size_t r = ZSTD_compress2(zcctx, dst, cap, src, n);
	if (ZSTD_isError(r))
		return ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation ? MP_ERR_NOMEM
		                                                            : MP_ERR_LIMIT;
	*out_len = r;
	return MP_OK;
#else
	(void)level, (void)src, (void)n, (void)dst, (void)cap, (void)out_len;
	return MP_ERR_UNSUPPORTED;
#endif
}

static int compress_lz4(int level, const uint8_t *src, size_t n, uint8_t *dst, size_t cap,
                        size_t *out_len)
{
#if PACK_HAVE_LZ4
	if (n > (size_t)LZ4_MAX_INPUT_SIZE)
		return MP_ERR_LIMIT;
	int icap = cap > INT_MAX ? INT_MAX : (int)cap;
	int r;
	if (level <= 0) {
		r = LZ4_compress_default((const char *)src, (char *)dst, (int)n, icap);
	} else {
		if (!lz4hc_state && !(lz4hc_state = talloc_size(NULL, (size_t)LZ4_sizeofStateHC())))
			return MP_ERR_NOMEM;
		r = LZ4_compress_HC_extStateHC(lz4hc_state, (const char *)src, (char *)dst, (int)n,
		                               icap, level);
	}
	if (r <= 0)
		return MP_ERR_LIMIT; /* lz4 says 0 when the output does not fit */
	*out_len = (size_t)r;
	return MP_OK;
#else
	(void)level, (void)src, (void)n, (void)dst, (void)cap, (void)out_len;
	return MP_ERR_UNSUPPORTED;
#endif
}

int pack_compress(void *mem, enum pack_algo algo, int level, const uint8_t *src, size_t n,
                  size_t cap, uint8_t **out, size_t *out_len)
{
	if (algo == PACK_ALGO_NONE || !pack_algo_available(algo))
		return MP_ERR_UNSUPPORTED;
	if (cap == 0)
		return MP_ERR_LIMIT;
	uint8_t *dst = talloc_size(mem, cap);
	if (!dst)
		return MP_ERR_NOMEM;
	size_t len = 0;
	int rc = algo == PACK_ALGO_ZSTD ? compress_zstd(level, src, n, dst, cap, &len)
	                                : compress_lz4(level, src, n, dst, cap, &len);
	if (rc != MP_OK) {
		talloc_free(dst);
		return rc;
	}
	/* Give back what the result did not use. */
	uint8_t *fit = talloc_realloc_size(mem, dst, len ? len : 1);
	*out = fit ? fit : dst;
	*out_len = len;
	return MP_OK;
}

/* ---- decompress ---- */

static int decompress_zstd(const uint8_t *src, size_t n, uint8_t *dst, size_t expect,
                           const char **why)
{
#if PACK_HAVE_ZSTD
	/* The frame must state its size, and state ours: refuse before
	 * spending time on a frame that claims anything else. */
	unsigned long long fcs = ZSTD_getFrameContentSize(src, n);
	if (fcs == ZSTD_CONTENTSIZE_ERROR) {
		*why = "not a zstd frame";
		return MP_ERR_PARSE;
	}
	if (fcs != (unsigned long long)expect) {
		*why = "zstd frame size differs from the blob's restored size";
		return MP_ERR_PARSE;
	}
	if (ZSTD_findFrameCompressedSize(src, n) != n) {
		*why = "bytes around the zstd frame";
		return MP_ERR_PARSE;
	}
	if (!zdctx && !(zdctx = ZSTD_createDCtx()))
		return MP_ERR_NOMEM;
	size_t r = ZSTD_decompressDCtx(zdctx, dst, expect, src, n);
	if (ZSTD_isError(r) || r != expect) {
		*why = "corrupt zstd data";
		return MP_ERR_PARSE;
	}
	return MP_OK;
#else
	(void)src, (void)n, (void)dst, (void)expect;
	*why = "zstd is not built in";
	return MP_ERR_UNSUPPORTED;
#endif
}

static int decompress_lz4(const uint8_t *src, size_t n, uint8_t *dst, size_t expect,
                          const char **why)
{
#if PACK_HAVE_LZ4
	if (n > INT_MAX || expect > INT_MAX) {
		*why = "lz4 block too large";
		return MP_ERR_LIMIT;
	}
	/* _safe never writes past `expect` nor reads past `n`. */
	int r = LZ4_decompress_safe((const char *)src, (char *)dst, (int)n, (int)expect);
	if (r < 0 || (size_t)r != expect) {
		*why = "corrupt lz4 data";
		return MP_ERR_PARSE;
	}
	return MP_OK;
#else
	(void)src, (void)n, (void)dst, (void)expect;
	*why = "lz4 is not built in";
	return MP_ERR_UNSUPPORTED;
#endif
}

int pack_decompress(void *mem, enum pack_algo algo, const uint8_t *src, size_t n, size_t expect,
                    size_t max, uint8_t **out, const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	if (algo == PACK_ALGO_NONE || !pack_algo_available(algo)) {
		*why = "compression algorithm not built in";
		return MP_ERR_UNSUPPORTED;
	}
	if (expect > max) {
		*why = "restored size over the protocol maximum";
		return MP_ERR_LIMIT;
	}
	if (expect == 0 || n == 0) {
		*why = "empty compressed data";
		return MP_ERR_PARSE;
	}
	uint8_t *dst = talloc_size(mem, expect);
	if (!dst)
		return MP_ERR_NOMEM;
	int rc = algo == PACK_ALGO_ZSTD ? decompress_zstd(src, n, dst, expect, why)
	                                : decompress_lz4(src, n, dst, expect, why);
	if (rc != MP_OK) {
		talloc_free(dst);
		return rc;
	}
	*out = dst;
	return MP_OK;
}
