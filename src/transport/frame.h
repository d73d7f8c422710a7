/* Cutting a TCP byte stream into DCE/RPC fragments (libevent evbuffers). */
#ifndef MP_TRANSPORT_FRAME_H
#define MP_TRANSPORT_FRAME_H

#include "dcerpc/pdu.h"

#include <event2/buffer.h>

enum mp_frame_state {
	MP_FRAME_NEED_MORE = 0, /* not a whole fragment yet */
	MP_FRAME_READY = 1,     /* *hdr describes a whole fragment at the front */
	MP_FRAME_BAD = -1,      /* *verdict says why; framing cannot continue */
};

/* Look at the front of `in` without consuming it. */
enum mp_frame_state mp_frame_peek(struct evbuffer *in, size_t max_frag, struct mp_pdu_hdr *hdr,
				  enum mp_hdr_verdict *verdict);

/* Largest fragment a peer could ever send: frag_length is 16 bits. */
#define MP_FRAME_MAX 65535

#endif
