/*
 * The checks every ExchangeRPC call-codec fuzz target makes (fuzz_emsmdb.c,
 * fuzz_nspi.c): a stub that decodes must
 *   - re-encode (with its own referent IDs and gaps) to exactly the stub;
 *   - decode again from that encoding to a structure that encodes the same;
 *   - encode from scratch (Samba referent IDs, zero padding) to a stub that
 *     decodes and re-encodes from scratch to itself;
 *   - print as text and as JSON;
 * and an opnum without a codec must be refused as "unknown opnum". A failed
 * check aborts, which libFuzzer reports with the input.
 */
#ifndef MP_FUZZ_CALL_H
#define MP_FUZZ_CALL_H

#include "mapi/call.h"
#include "util/printer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

static void fuzz_check(bool ok)
{
	if (!ok)
		abort();
}

static bool fuzz_same(const struct mp_wbuf *w, const uint8_t *p, size_t n)
{
	return w->len == n && (n == 0 || memcmp(w->data, p, n) == 0);
}

static void fuzz_print_both(const struct mp_mapi_call *call)
{
	struct mp_printer *p = mp_printer_new(MP_PRINT_TEXT);
	fuzz_check(p != NULL);
	mp_mapi_print(p, call);
	fuzz_check(mp_printer_output(p, NULL) != NULL);
	mp_printer_free(p);
	p = mp_printer_new(MP_PRINT_JSON);
	fuzz_check(p != NULL);
	mp_mapi_print(p, call);
	const char *json = mp_printer_output(p, NULL);
	fuzz_check(json && json[0] == '{');
	mp_printer_free(p);
}

static bool fuzz_push_scratch(enum mp_mapi_iface iface, uint16_t opnum, enum mp_call_dir dir,
			      const void *body, struct mp_wbuf *out)
{
	return mp_call_codec_push(mp_call_codec(iface, opnum), dir, body, NULL, out);
}

static void fuzz_call(enum mp_mapi_iface iface, uint16_t opnum, enum mp_call_dir dir,
		      const uint8_t *stub, size_t len)
{
	/* An exact-size copy, so that any read past the stub is caught. */
	uint8_t *copy = malloc(len ? len : 1);
	fuzz_check(copy != NULL);
	if (len)
		memcpy(copy, stub, len);

	void *mem = talloc_new(NULL);
	const char *why = NULL;
	struct mp_mapi_call *call = mp_mapi_decode(mem, iface, opnum, dir, copy, len, &why);
	if (!mp_call_codec(iface, opnum))
		fuzz_check(!call && why && strcmp(why, "unknown opnum") == 0);
	if (!call) {
		fuzz_check(why != NULL);
		goto out;
	}

	struct mp_wbuf enc, enc2, scratch, scratch2;
	mp_wb_init(&enc);
	mp_wb_init(&enc2);
	mp_wb_init(&scratch);
	mp_wb_init(&scratch2);

	fuzz_check(mp_mapi_encode(call, &enc));
	fuzz_check(fuzz_same(&enc, copy, len));

	struct mp_mapi_call *again = mp_mapi_decode(mem, iface, opnum, dir, enc.data, enc.len, &why);
	fuzz_check(again != NULL);
	fuzz_check(mp_mapi_encode(again, &enc2));
	fuzz_check(fuzz_same(&enc2, copy, len));

	fuzz_check(fuzz_push_scratch(iface, opnum, dir, call->body, &scratch));
	struct mp_mapi_call *fresh =
	    mp_mapi_decode(mem, iface, opnum, dir, scratch.data, scratch.len, &why);
	fuzz_check(fresh != NULL);
	fuzz_check(fuzz_push_scratch(iface, opnum, dir, fresh->body, &scratch2));
	fuzz_check(fuzz_same(&scratch2, scratch.data, scratch.len));

	fuzz_print_both(call);

	mp_wb_free(&enc);
	mp_wb_free(&enc2);
	mp_wb_free(&scratch);
	mp_wb_free(&scratch2);
out:
	talloc_free(mem);
	free(copy);
}

#endif
