/*
 * libFuzzer target: ROP response buffers (mapi/rop.h), decoded against a
 * request buffer and a session. Input: u16 length L, L bytes of request
 * buffer, then the response buffer. The session first learns from the
 * pair (columns, logons, releases) and the response is decoded a second
 * time with that state. Properties as in fuzz_rop_request.c.
 */
#include "rop_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || size > 1 << 17)
		return 0;
	size_t qlen = data[0] | (size_t)data[1] << 8;
	if (qlen > size - 2)
		return 0;
	const uint8_t *q = data + 2, *s = data + 2 + qlen;
	size_t slen = size - 2 - qlen;
	void *mem = talloc_new(NULL);
	struct mp_rop_session *sess = mp_rop_session_new(mem);
	struct mp_rop_buf *req = NULL, *rsp = NULL;

	if (mp_rop_buf_decode(mem, q, qlen, false, NULL, sess, &req) != MP_OK)
		req = NULL;
	for (int round = 0; round < 2; round++) {
		if (mp_rop_buf_decode(mem, s, slen, true, req, sess, &rsp) != MP_OK)
			break;
		rop_check_buffer(mem, rsp, s, slen, req, sess);
		mp_rop_session_update(sess, req, rsp);
	}
	talloc_free(mem);
	return 0;
}
