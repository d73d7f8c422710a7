/*
 * libFuzzer target: mapi/rpc_ext (RPC_HEADER_EXT chains with LZ77 and XOR).
 *
 * The first byte picks the limits (bit 0: rgbOut or rgbAuxOut; bit 1: the
 * per-segment payload limit raised to 0xffff); the rest is a buffer.
 * Checked:
 *   - parse returns a documented code; on success the segments' sizes add
 *     up, each restored payload has SizeActual bytes, and every limit held;
 *   - build gives back the input byte for byte (wire bytes kept);
 *   - after replacing every payload with itself (so the chain is encoded
 *     again: compressed, obfuscated), build -> parse -> build is stable and
 *     the payloads survive;
 *   - the payloads concatenated by mp_rpc_ext_join are the segments'.
 */
#include "mapi/rpc_ext.h"
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	struct mp_rpc_ext_limits lim;
	mp_rpc_ext_limits_init(&lim, data[0] & 1 ? MP_RPC_EXT_RGBAUXOUT : MP_RPC_EXT_RGBOUT);
	if (data[0] & 2)
		lim.max_payload = 0xffff;
	data++;
	size--;

	void *mem = talloc_new(NULL);
	struct mp_rpc_ext *ext = NULL;
	const char *why = NULL;
	int ret = mp_rpc_ext_parse(mem, data, size, &lim, &ext, &why);
	check(ret == MP_OK || ret == MP_ERR_PARSE || ret == MP_ERR_LIMIT ||
	      ret == MP_ERR_UNSUPPORTED);
	if (ret != MP_OK) {
		check(ext == NULL && why != NULL);
		talloc_free(mem);
		return 0;
	}

	size_t total = 0, used = 0;
	check(ext->count >= 1 && ext->count <= lim.max_segments);
	for (size_t i = 0; i < ext->count; i++) {
		const struct mp_rpc_ext_seg *s = &ext->segs[i];
		check(s->size_actual <= lim.max_payload);
		check((s->flags & MP_RHE_LAST) == (i + 1 == ext->count ? MP_RHE_LAST : 0));
		total += s->size_actual;
		used += MP_RHE_SIZE + s->size;
	}
	check(total == ext->total && total <= lim.max_total);
	check(used + ext->trailing_len == size);

	struct mp_wbuf a;
	mp_wb_init(&a);
	check(mp_rpc_ext_build(ext, &a) == MP_OK);
	check(a.len == size && (size == 0 || memcmp(a.data, data, size) == 0));
	mp_wb_free(&a);

	size_t jlen = 0;
	uint8_t *joined = mp_rpc_ext_join(mem, ext, &jlen);
	check(joined != NULL && jlen == total);

	/* Encode every segment again from its payload. */
	for (size_t i = 0; i < ext->count; i++) {
		struct mp_rpc_ext_seg *s = &ext->segs[i];
		check(mp_rpc_ext_seg_set_payload(ext, s, s->payload, s->size_actual) == MP_OK);
	}
	ext->trailing_len = 0;
	mp_wb_init(&a);
	check(mp_rpc_ext_build(ext, &a) == MP_OK);
	struct mp_rpc_ext_limits big;
	mp_rpc_ext_limits_init(&big, MP_RPC_EXT_RGBOUT);
	big.max_buf = a.len;
	big.max_payload = 0xffff;
	big.max_total = total;
	big.max_segments = ext->count;
	struct mp_rpc_ext *back = NULL;
	check(mp_rpc_ext_parse(mem, a.data, a.len, &big, &back, NULL) == MP_OK);
	check(back->count == ext->count && back->total == total);
	size_t off = 0;
	for (size_t i = 0; i < back->count; i++) {
		const struct mp_rpc_ext_seg *s = &back->segs[i];
		check(s->size_actual == ext->segs[i].size_actual);
		check(s->size_actual == 0 || memcmp(s->payload, joined + off, s->size_actual) == 0);
		off += s->size_actual;
	}
	struct mp_wbuf b;
	mp_wb_init(&b);
	check(mp_rpc_ext_build(back, &b) == MP_OK);
	check(a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0));
	mp_wb_free(&a);
	mp_wb_free(&b);
	talloc_free(mem);
	return 0;
}
