/*
 * proxypack: how two pack hops carry ROP buffers between them.
 *
 * What travels between the hops is still a ROP buffer (MS-OXCROPS 2.2.1)
 * in each RPC_HEADER_EXT segment, a "carrier" whose first ROP is the
 * original MAPIProxy's custom RopId 0xA5 (proxypack):
 *
 *	RopSize u16 | 0xA5 | LogonId 0 | InputHandleIndex 0 | cb u16 | cb bytes
 *	            | [compat mode: the ROPs left in place, then the handle table]
 *
 * The cb bytes of all carriers, in segment order, form the blob:
 *
 *	off  size
 *	 0    4   magic "MPPK"
 *	 4    1   version (1)
 *	 5    1   kind: 1 request, 2 response
 *	 6    1   algo: how the body is stored (0 none, 1 zstd, 2 lz4)
 *	 7    1   accept: request only, bit (1 << algo) for each algorithm the
 *	          sender restores in the response (0: answer natively)
 *	 8    1   flags: bit 0 NATIVE_IN_BODY (the buffers are in the body)
 *	 9    3   reserved, zero
 *	12    4   body_len: size of the body once restored
 *	16    4   crc: CRC-32 over the native buffers in order, each as its
 *	          flags (u16) then its payload
 *	20        body, stored with `algo`
 *
 * and the body:
 *
 *	count u16, then per native segment: flags u16 (its RPC_HEADER_EXT
 *	flags) and, with NATIVE_IN_BODY, len u16 and the payload;
 *	n u16, then per extracted ROP: offset u16 (where it began in the first
 *	native buffer, RopSize included), len u16, its bytes.
 *
 * Two modes. Whole (an algorithm configured): every native buffer goes
 * into the body with the extracted ROPs removed from the first one, and
 * the carriers hold nothing but the blob, split over as many segments as
 * it needs. Compat (no algorithm, the original's behaviour): only the
 * listed ROPs move into the blob; the others stay in the single carrier
 * behind the proxypack ROP with the handle table.
 *
 * The proxypack ROP comes first (the original appended it): a server that
 * does not know RopId 0xA5 stops at the first ROP it cannot parse, so a
 * packed buffer that reaches a native server executes nothing.
 *
 * Restoring inserts each extracted ROP back at its byte offset, so nothing
 * needs to parse a ROP to put it back, and checks the CRC: the result is
 * the sender's input byte for byte or an error.
 *
 * Memory: outputs are talloc'd under the caller's `mem`; restored
 * payloads may point into the input carriers.
 */
#ifndef MP_MODULE_PROXYPACK_H
#define MP_MODULE_PROXYPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pack/pack_compress.h"

#define PROXYPACK_ROPID 0xA5
#define PROXYPACK_VERSION 1
#define PROXYPACK_HDR 20
#define PROXYPACK_ROP_HDR 7 /* RopSize, RopId, LogonId, InputHandleIndex, cb */
#define PROXYPACK_NATIVE_IN_BODY 0x01

/* The largest restored body accepted: the native ROP buffers of one call
 * at most (rgbOut restores to at most 16 x 0x40000, MS-OXCRPC 3.1.4.2 with
 * rpc_ext.h's bound), their segment headers and the extracted ROPs. */
#define PROXYPACK_MAX_BODY (0x40000u * 16 + 0x40000u)

enum proxypack_kind {
	PROXYPACK_REQUEST = 1,
	PROXYPACK_RESPONSE = 2,
};

/* One ROP buffer: the restored payload of one RPC_HEADER_EXT segment (or
 * of the EcDoRpc buffer), with the segment's flags. */
struct proxypack_seg {
	uint16_t flags;
	const uint8_t *data;
	size_t len; /* <= 0xffff */
};

struct proxypack_bufs {
	struct proxypack_seg *segs;
	size_t count;
};

struct proxypack_opts {
	enum proxypack_kind kind;
	enum pack_algo algo; /* none: compat mode */
	int level;
	uint8_t accept;       /* request: pack_algo_mask() bits restored in responses */
	const bool *extract;  /* [256]: RopIds to extract from a request, or NULL */
	size_t max_payload;   /* carrier payload limit (RPC_HEADER_EXT: 0x8000) */
	size_t max_fragments; /* carriers allowed (1 for EcDoRpc) */
};

/* What a blob said, for logs and decisions. */
struct proxypack_info {
	enum proxypack_kind kind;
	enum pack_algo algo; /* how the body travelled (none: stored) */
	uint8_t accept;
	uint8_t flags;
	uint32_t crc;
	size_t body_len;
	size_t extracted;    /* ROPs moved into the blob */
	size_t native_bytes; /* sum of the native payloads */
	size_t blob_len;
};

/* CRC-32 over the buffers in order: each one's flags (u16 LE), payload. */
uint32_t proxypack_crc(const struct proxypack_bufs *bufs);

/* Does this ROP buffer start with a proxypack ROP? (A native buffer never
 * does: 0xA5 is no MAPI RopId.) */
bool proxypack_is_carrier(const uint8_t *buf, size_t len);

/*
 * Pack native buffers into carriers. Returns MP_OK (*carrier and *info
 * filled), MP_DECLINED (compat mode and no listed ROP in the request:
 * nothing to do), MP_ERR_LIMIT (the carriers would exceed max_payload x
 * max_fragments: relay natively), MP_ERR_PARSE (a payload over 0xffff
 * bytes, no buffer), MP_ERR_NOMEM.
 */
int proxypack_pack(void *mem, const struct proxypack_bufs *native, const struct proxypack_opts *o,
                   struct proxypack_bufs *carrier, struct proxypack_info *info);

/*
 * Restore the native buffers from carriers; `expect` is the kind wanted.
 * Returns MP_OK, or with *why (static) set:
 *   MP_ERR_PARSE        anything malformed, or a CRC mismatch;
 *   MP_ERR_UNSUPPORTED  another version, an algorithm not built in;
 *   MP_ERR_LIMIT        a body over max_body;
 *   MP_ERR_NOMEM.
 */
int proxypack_unpack(void *mem, const struct proxypack_bufs *carrier, enum proxypack_kind expect,
                     size_t max_body, struct proxypack_bufs *native, struct proxypack_info *info,
                     const char **why);

#endif
