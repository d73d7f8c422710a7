/*
 * Extended buffers of EcDoRpcExt2 / EcDoConnectEx (MS-OXCRPC 2.2.2.1,
 * 3.1.4.1.1, 3.1.4.2.1): rgbIn, rgbOut, rgbAuxIn and rgbAuxOut are chains
 * of segments, each an 8-byte RPC_HEADER_EXT
 *
 *	Version u16 (0), Flags u16, Size u16, SizeActual u16
 *
 * followed by Size bytes of payload. The segment with the Last flag ends the
 * chain. A payload is LZ77-compressed (Compressed: Size < SizeActual, the
 * restored size) and then XORed with 0xA5 (XorMagic); the receiver reverts
 * in the opposite order. Each segment is restored on its own.
 *
 * Byte-exact re-encoding: a decoded segment keeps the bytes it arrived as
 * (`wire`). mp_rpc_ext_build() writes those bytes again unless the payload
 * was replaced through mp_rpc_ext_seg_set_payload(), which drops them; only
 * then is the payload compressed again. Re-compressing would not do: our
 * compressor need not pick the same matches as Exchange's, so only the
 * received bytes reproduce the received buffer. Payloads are read-only
 * (const) so that an in-place edit cannot silently leave stale wire bytes.
 *
 * Memory: everything decoded hangs off the talloc context the caller gives.
 * `wire` points into the caller's input buffer, and so does the payload of
 * a segment that was neither compressed nor obfuscated (no copy on the relay
 * path): that buffer must outlive the decoded structure.
 */
#ifndef MP_MAPI_RPC_EXT_H
#define MP_MAPI_RPC_EXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/cursor.h"
#include "util/printer.h"

#define MP_RHE_SIZE 8

/* RPC_HEADER_EXT.Flags */
#define MP_RHE_COMPRESSED 0x0001
#define MP_RHE_XORMAGIC 0x0002
#define MP_RHE_LAST 0x0004

/* Protocol maxima (MS-OXCRPC 3.1.4.2: pcbOut <= 0x40000, pcbAuxOut and
 * cbAuxIn <= 0x1008; 3.1.4.2.1: a single payload at most 32 KB). */
#define MP_RPC_EXT_MAX_ROP_BUF 0x40000u
#define MP_RPC_EXT_MAX_AUX_BUF 0x1008u
#define MP_RPC_EXT_MAX_PAYLOAD 0x8000u

/* Which parameter a buffer travels in: chooses the default limits. */
enum mp_rpc_ext_buf {
	MP_RPC_EXT_RGBIN,
	MP_RPC_EXT_RGBOUT,
	MP_RPC_EXT_RGBAUXIN,
	MP_RPC_EXT_RGBAUXOUT,
};

struct mp_rpc_ext_limits {
	size_t max_buf; /* whole input buffer */
	size_t max_segments;
	size_t max_payload; /* SizeActual of one segment (<= 0xffff) */
	size_t max_total;   /* restored bytes over all segments */
};

/* Spec limits for `buf`: max_buf 0x40000 (rgbIn/rgbOut) or 0x1008 (aux),
 * max_payload 0x8000, max_segments = max_buf / 8, and max_total =
 * max_buf * 16: compressed segments restore to more than they occupy, but a
 * peer must not make us allocate without bound. */
void mp_rpc_ext_limits_init(struct mp_rpc_ext_limits *lim, enum mp_rpc_ext_buf buf);

struct mp_rpc_ext_seg {
	uint16_t version;
	uint16_t flags;         /* as received or to be sent, unknown bits kept */
	uint16_t size;          /* bytes on the wire after the header */
	uint16_t size_actual;   /* restored payload size */
	const uint8_t *wire;    /* `size` bytes as received; NULL once replaced */
	const uint8_t *payload; /* restored: `size_actual` bytes */
};

struct mp_rpc_ext {
	struct mp_rpc_ext_seg *segs; /* talloc array */
	size_t count;
	size_t total; /* sum of size_actual */
	/* Bytes after the segment with the Last flag (none from a conforming
	 * peer), kept so that the buffer re-encodes whole. */
	const uint8_t *trailing;
	size_t trailing_len;
};

/*
 * Parse a whole buffer. `lim` NULL means the rgbOut limits. Returns MP_OK
 * and *out (talloc'd under mem), or
 *   MP_ERR_PARSE        truncated header or payload, no segment with the
 *                       Last flag, Size/SizeActual inconsistent with the
 *                       flags, corrupt compressed data, or a restored size
 *                       different from SizeActual;
 *   MP_ERR_UNSUPPORTED  a Version other than 0;
 *   MP_ERR_LIMIT        a limit of `lim` exceeded;
 *   MP_ERR_NOMEM.
 * *why (may be NULL) gets a static reason on failure.
 */
int mp_rpc_ext_parse(void *mem, const uint8_t *buf, size_t len, const struct mp_rpc_ext_limits *lim,
                     struct mp_rpc_ext **out, const char **why);

/*
 * Encode a chain: each segment's header, then its wire bytes when it still
 * has them (the received buffer again, byte for byte), otherwise its payload
 * compressed (when MP_RHE_COMPRESSED is set and it makes the payload
 * smaller; otherwise the flag is cleared) and XORed (MP_RHE_XORMAGIC), with
 * Size and SizeActual recomputed into the segment. Appends to `out`; returns
 * MP_OK, MP_ERR_NOMEM or MP_ERR_LIMIT (a payload over 0xffff bytes).
 * Compression is deterministic, so the same chain always encodes the same.
 */
int mp_rpc_ext_build(struct mp_rpc_ext *ext, struct mp_wbuf *out);

/* An empty chain under mem (NULL when out of memory). */
struct mp_rpc_ext *mp_rpc_ext_new(void *mem);

/*
 * Append a segment for `payload` (copied under the chain) with `flags`;
 * the Last flag moves to it from the previous segment. Returns the segment
 * (valid until the next add: the array may move) or NULL (no memory,
 * payload over 0xffff bytes).
 */
struct mp_rpc_ext_seg *mp_rpc_ext_add(struct mp_rpc_ext *ext, uint16_t flags, const void *payload,
                                      size_t len);

/* Replace a segment's payload (copied under `ext`); its wire bytes are
 * dropped so the next build encodes the new payload. MP_OK, MP_ERR_NOMEM or
 * MP_ERR_LIMIT (over 0xffff bytes). */
int mp_rpc_ext_seg_set_payload(struct mp_rpc_ext *ext, struct mp_rpc_ext_seg *seg,
                               const void *payload, size_t len);

/* All restored payloads, concatenated, under mem (NULL if out of memory;
 * *len gets the size). A ROP buffer spread over several segments is read
 * segment by segment; this is for callers that want it whole. */
uint8_t *mp_rpc_ext_join(void *mem, const struct mp_rpc_ext *ext, size_t *len);

/* XOR 0xA5 in place (obfuscation is its own inverse). */
void mp_rpc_ext_xor(uint8_t *p, size_t n);

/* "RPC_HEADER_EXT" segments with their fields (payloads as bytes). */
void mp_rpc_ext_print(struct mp_printer *p, const char *name, const struct mp_rpc_ext *ext);

#endif
