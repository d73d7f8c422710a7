/*
 * libFuzzer target: ROP request buffers (mapi/rop.h). The input is a whole
 * buffer (RopSize, RopsList, handle table). Properties: a buffer that
 * decodes re-encodes to the same bytes, ROP by ROP and as a whole, and
 * decodes again to the same ROPs; nothing is dropped; printing is safe.
 * The same input is also decoded with a session that knows logon 0 as
 * private and 1 as public, which selects other optional fields.
 */
#include "rop_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 17)
		return 0;
	void *mem = talloc_new(NULL);
	struct mp_rop_session *sess = mp_rop_session_new(mem);
	mp_rop_session_set_logon(sess, 0, 0x01);
	mp_rop_session_set_logon(sess, 1, 0x00);

	for (int with_state = 0; with_state < 2; with_state++) {
		struct mp_rop_session *s = with_state ? sess : NULL;
		struct mp_rop_buf *buf = NULL;
		int st = mp_rop_buf_decode(mem, data, size, false, NULL, s, &buf);
		if (st != MP_OK) {
			/* Only a broken frame is refused. */
			rop_check(size < 2 || data[0] + (data[1] << 8) < 2 ||
			          (size_t)(data[0] + (data[1] << 8)) > size);
			continue;
		}
		rop_check_buffer(mem, buf, data, size, NULL, s);
	}
	talloc_free(mem);
	return 0;
}
