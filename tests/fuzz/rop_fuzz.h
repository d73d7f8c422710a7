/* Shared checks of the ROP buffer fuzz targets (fuzz_rop_request.c,
 * fuzz_rop_response.c). */
#ifndef MP_FUZZ_ROP_FUZZ_H
#define MP_FUZZ_ROP_FUZZ_H

#include <stdlib.h>
#include <string.h>
#include <talloc.h>

#include "mapi/rop.h"
#include "util/printer.h"
#include "util/status.h"

static inline void rop_check(bool ok)
{
	if (!ok)
		abort();
}

/* Encoding gives back the input; each decoded ROP re-encodes to its own
 * bytes; decoding the encoding gives the same ROPs; printing works. */
static inline void rop_check_buffer(void *mem, const struct mp_rop_buf *buf, const uint8_t *data,
                                    size_t len, const struct mp_rop_buf *req,
                                    struct mp_rop_session *sess)
{
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	rop_check(mp_rop_buf_encode(buf, &wb) == MP_OK);
	rop_check(wb.len == len && memcmp(wb.data, data, len) == 0);

	size_t covered = 2;
	for (size_t i = 0; i < buf->count; i++) {
		const struct mp_rop *r = buf->rops[i];
		const uint8_t *bytes;
		size_t n, off;
		rop_check(mp_rop_bytes(r, &bytes, &n, &off));
		rop_check(off == covered && n > 0);
		covered += n;
		struct mp_wbuf one;
		mp_wb_init(&one);
		rop_check(mp_rop_encode(r, &one) == MP_OK);
		rop_check(one.len == n && memcmp(one.data, bytes, n) == 0);
		mp_wb_free(&one);
		/* Only the last ROP may be an opaque tail. */
		rop_check(!r->opaque || i + 1 == buf->count);
	}
	rop_check(covered == buf->rop_size);

	struct mp_rop_buf *again = NULL;
	rop_check(mp_rop_buf_decode(mem, wb.data, wb.len, buf->response, req, sess, &again) ==
	          MP_OK);
	rop_check(again->count == buf->count && again->n_handles == buf->n_handles);
	for (size_t i = 0; i < buf->count; i++) {
		rop_check(again->rops[i]->id == buf->rops[i]->id);
		rop_check(again->rops[i]->opaque == buf->rops[i]->opaque);
		rop_check(again->rops[i]->raw_len == buf->rops[i]->raw_len);
	}
	mp_wb_free(&wb);

	for (int fmt = 0; fmt < 2; fmt++) {
		struct mp_printer *p = mp_printer_new(fmt ? MP_PRINT_JSON : MP_PRINT_TEXT);
		if (!p)
			continue;
		mp_rop_buf_print(p, "RopBuffer", buf);
		rop_check(mp_printer_output(p, NULL) != NULL);
		mp_printer_free(p);
	}
}

#endif
