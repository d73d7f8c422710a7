/*
 * libFuzzer target: NSPI and RFR call codecs (mapi/nspi, mapi/rfr).
 *
 * Input: <selector> <direction> <stub>. The selector is an NSPI opnum, or
 * 0x80 | opnum for RFR; bit 0 of the direction byte picks request or
 * response. A stub that decodes must:
 *   - re-encode (with its own referent IDs and alignment gaps) to exactly
 *     the stub;
 *   - decode again from that encoding to a structure that encodes the same;
 *   - encode from scratch (mp_nspi_push / mp_rfr_push: Samba referent IDs,
 *     zero gaps) to a stub that decodes and re-encodes from scratch to
 *     itself;
 *   - print as text and as JSON.
 * Opnums without a codec must be refused as "unknown opnum".
 * Seeds: tests/fuzz/corpus/nspi/, the impacket vectors of
 * tests/unit/data/nspi/ behind their selector and direction bytes.
 */
#include "mapi/call.h"
#include "mapi/nspi.h"
#include "mapi/rfr.h"
#include "util/printer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static bool same(const struct mp_wbuf *w, const uint8_t *p, size_t n)
{
	return w->len == n && (n == 0 || memcmp(w->data, p, n) == 0);
}

static bool push_scratch(enum mp_mapi_iface iface, uint16_t opnum, enum mp_call_dir dir,
			 const void *body, struct mp_wbuf *out)
{
	return iface == MP_MAPI_NSPI ? mp_nspi_push(opnum, dir, body, out)
				     : mp_rfr_push(opnum, dir, body, out);
}

static void print_both(const struct mp_mapi_call *call)
{
	struct mp_printer *p = mp_printer_new(MP_PRINT_TEXT);
	check(p != NULL);
	mp_mapi_print(p, call);
	check(mp_printer_output(p, NULL) != NULL);
	mp_printer_free(p);
	p = mp_printer_new(MP_PRINT_JSON);
	check(p != NULL);
	mp_mapi_print(p, call);
	const char *json = mp_printer_output(p, NULL);
	check(json && json[0] == '{');
	mp_printer_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	enum mp_mapi_iface iface = data[0] & 0x80 ? MP_MAPI_RFR : MP_MAPI_NSPI;
	uint16_t opnum = data[0] & 0x7f;
	enum mp_call_dir dir = data[1] & 1 ? MP_CALL_RESPONSE : MP_CALL_REQUEST;
	const uint8_t *stub = data + 2;
	size_t len = size - 2;

	/* An exact-size copy, so that any read past the stub is caught. */
	uint8_t *copy = malloc(len ? len : 1);
	check(copy != NULL);
	if (len)
		memcpy(copy, stub, len);

	void *mem = talloc_new(NULL);
	const char *why = NULL;
	struct mp_mapi_call *call = mp_mapi_decode(mem, iface, opnum, dir, copy, len, &why);
	const struct mp_call_codec *codec =
		iface == MP_MAPI_NSPI ? mp_nspi_codec(opnum) : mp_rfr_codec(opnum);
	check(codec == mp_call_codec(iface, opnum));
	if (!codec)
		check(!call && why && strcmp(why, "unknown opnum") == 0);
	if (!call) {
		check(why != NULL);
		goto out;
	}

	struct mp_wbuf enc, enc2, scratch, scratch2;
	mp_wb_init(&enc);
	mp_wb_init(&enc2);
	mp_wb_init(&scratch);
	mp_wb_init(&scratch2);

	check(mp_mapi_encode(call, &enc));
	check(same(&enc, copy, len));

	struct mp_mapi_call *again = mp_mapi_decode(mem, iface, opnum, dir, enc.data, enc.len, &why);
	check(again != NULL);
	check(mp_mapi_encode(again, &enc2));
	check(same(&enc2, copy, len));

	check(push_scratch(iface, opnum, dir, call->body, &scratch));
	struct mp_mapi_call *fresh =
		mp_mapi_decode(mem, iface, opnum, dir, scratch.data, scratch.len, &why);
	check(fresh != NULL);
	check(push_scratch(iface, opnum, dir, fresh->body, &scratch2));
	check(same(&scratch2, scratch.data, scratch.len));

	print_both(call);

	mp_wb_free(&enc);
	mp_wb_free(&enc2);
	mp_wb_free(&scratch);
	mp_wb_free(&scratch2);
out:
	talloc_free(mem);
	free(copy);
	return 0;
}
