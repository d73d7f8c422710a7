/*
 * libFuzzer target: mapi/aux (auxiliary blocks), with and without the
 * RPC_HEADER_EXT around them.
 *
 * The first byte picks the input: even, the rest is a restored auxiliary
 * payload; odd, the rest is a whole rgbAuxIn/rgbAuxOut (RPC_HEADER_EXT
 * chain) whose first segment's payload is parsed. Checked:
 *   - parse returns MP_OK or MP_ERR_PARSE, and on success the blocks'
 *     sizes add up to the payload;
 *   - build gives back the payload byte for byte;
 *   - every block encoded from its fields parses again into the same
 *     structures, and encoding that again gives the same bytes;
 *   - printing (text and JSON) runs to completion.
 */
#include "mapi/aux.h"
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

static void fuzz_payload(void *mem, const uint8_t *buf, size_t len)
{
	struct mp_aux_list *list = NULL;
	int ret = mp_aux_parse(mem, buf, len, &list, NULL);
	check(ret == MP_OK || ret == MP_ERR_PARSE);
	if (ret != MP_OK)
		return;

	size_t sum = 0;
	for (size_t i = 0; i < list->count; i++)
		sum += list->blocks[i].size;
	check(sum == len);

	struct mp_wbuf a, b;
	mp_wb_init(&a);
	check(mp_aux_build(list, &a) == MP_OK);
	check(a.len == len && (len == 0 || memcmp(a.data, buf, len) == 0));
	mp_wb_free(&a);

	for (int fmt = 0; fmt < 2; fmt++) {
		struct mp_printer *p = mp_printer_new(fmt ? MP_PRINT_JSON : MP_PRINT_TEXT);
		check(p != NULL);
		mp_aux_print(p, "aux", list);
		size_t n = 0;
		check(mp_printer_output(p, &n) != NULL);
		mp_printer_free(p);
	}

	for (size_t i = 0; i < list->count; i++)
		mp_aux_block_touch(&list->blocks[i]);
	mp_wb_init(&a);
	ret = mp_aux_build(list, &a);
	check(ret == MP_OK || ret == MP_ERR_LIMIT);
	if (ret == MP_OK) {
		struct mp_aux_list *l2 = NULL;
		check(mp_aux_parse(mem, a.data, a.len, &l2, NULL) == MP_OK);
		check(l2->count == list->count);
		for (size_t i = 0; i < l2->count; i++) {
			check(l2->blocks[i].st == list->blocks[i].st);
			check(l2->blocks[i].version == list->blocks[i].version);
			check(l2->blocks[i].type == list->blocks[i].type);
			mp_aux_block_touch(&l2->blocks[i]);
		}
		mp_wb_init(&b);
		check(mp_aux_build(l2, &b) == MP_OK);
		check(a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0));
		mp_wb_free(&b);
	}
	mp_wb_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	void *mem = talloc_new(NULL);
	if (data[0] & 1) {
		struct mp_rpc_ext_limits lim;
		mp_rpc_ext_limits_init(&lim, MP_RPC_EXT_RGBAUXIN);
		struct mp_rpc_ext *ext = NULL;
		if (mp_rpc_ext_parse(mem, data + 1, size - 1, &lim, &ext, NULL) == MP_OK)
			fuzz_payload(mem, ext->segs[0].payload, ext->segs[0].size_actual);
	} else {
		fuzz_payload(mem, data + 1, size - 1);
	}
	talloc_free(mem);
	return 0;
}
