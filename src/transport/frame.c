#include "transport/frame.h"

enum mp_frame_state mp_frame_peek(struct evbuffer *in, size_t max_frag, struct mp_pdu_hdr *hdr,
				  enum mp_hdr_verdict *verdict)
{
	uint8_t raw[MP_PDU_HDR_LEN];
	if (evbuffer_get_length(in) < MP_PDU_HDR_LEN)
		return MP_FRAME_NEED_MORE;
	if (evbuffer_copyout(in, raw, sizeof(raw)) != (ev_ssize_t)sizeof(raw))
		return MP_FRAME_NEED_MORE;
	*verdict = mp_pdu_check_hdr(raw, max_frag, hdr);
	if (*verdict != MP_HDR_OK)
		return MP_FRAME_BAD;
	if (evbuffer_get_length(in) < hdr->frag_len)
		return MP_FRAME_NEED_MORE;
	return MP_FRAME_READY;
}
