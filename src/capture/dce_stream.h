/*
 * DCE/RPC over captured TCP streams, for mapidump: the two byte streams of
 * a connection in, PDUs and whole calls out.
 *
 * Per connection (struct mp_dce_conn):
 * - each direction is cut into fragments by the 16-byte common header
 *   (mp_pdu_check_hdr, src/dcerpc/pdu.h) and parsed with mp_pdu_parse; a
 *   leading "ncacn_http/1.0" (RPC over HTTP's ports) is skipped;
 * - after bytes missing from the capture, or a header that does not
 *   validate, the direction resynchronises: it scans for the next offset
 *   where a plausible header starts and a whole fragment parses, and says
 *   how many bytes it skipped;
 * - the association is followed: bind / alter_context proposals and their
 *   bind_ack / alter_context_resp results give each presentation context id
 *   its interface (known ones by name, src/dcerpc/iface.h; the four
 *   ExchangeRPC interfaces as mp_mapi_iface) and transfer syntax;
 * - auth trailers of bind / alter / auth3 / bind_ack / alter_resp feed one
 *   decrypt observer per auth_context_id (capture/decrypt.h); every
 *   request / response fragment is verified or unsealed in wire order;
 * - request fragments and response fragments are reassembled per call_id
 *   and paired; a call is reported when its request and response (or
 *   fault) are complete, or when it can no longer complete (end of
 *   capture, orphaned, evicted), with the reason. A response whose request
 *   was not seen waits for it (captures may reorder the two directions)
 *   and is reported at the latest when the connection ends.
 *
 * Limits keep memory bounded whatever the capture holds: one fragment
 * buffer (64 KiB) per direction, max_call_bytes of stub per request or
 * response (beyond: counted, not kept), max_calls in flight per
 * connection (the oldest is reported and dropped beyond), 64 presentation
 * contexts, 8 auth contexts.
 *
 * mp_dce_tracker glues this to tcp_reasm: it follows connections on the
 * given server ports, and (when `detect` is set) any other connection whose
 * first bytes are a DCE/RPC PDU header (normally the bind; another PDU when
 * the capture starts later or lost the bind); other streams are dropped at
 * once. Without a captured SYN, the type of the first PDU also tells which
 * side is the client.
 */
#ifndef MP_CAPTURE_DCE_STREAM_H
#define MP_CAPTURE_DCE_STREAM_H

#include "capture/decrypt.h"
#include "capture/tcp_reasm.h"
#include "dcerpc/pdu.h"
#include "dcerpc/uuid.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Who talks: what every report carries about its connection. */
struct mp_dce_conn_info {
	uint64_t id;
	char cli[MP_CAP_ADDR_STR_LEN]; /* "127.0.0.1:40112" */
	char srv[MP_CAP_ADDR_STR_LEN];
};

/* A presentation context of the association. */
struct mp_dce_ctx {
	uint16_t id;
	bool answered; /* a bind_ack / alter_resp result was seen for it */
	bool accepted; /* result 0 */
	uint16_t result, reason;
	struct mp_syntax abstract;
	struct mp_syntax ts; /* accepted transfer syntax (the first proposed before an answer) */
	const char *name;    /* "samr", "EMSMDB", ...; NULL if unknown */
	int mapi;            /* enum mp_mapi_iface, or -1 */
	bool ndr64;
};

/* One side (request or response) of a call. */
struct mp_dce_half {
	bool seen;     /* at least one fragment */
	bool complete; /* its last fragment was seen */
	unsigned frags;
	size_t wire_bytes; /* sum of frag_length */
	size_t stub_len;   /* stub bytes (clear, when available) */
	uint8_t *stub;     /* NULL when not available (why says so) */
	size_t stub_kept;  /* bytes in stub[] (< stub_len only when cut) */
	bool stub_cut;     /* more than max_call_bytes: stub_len counts, stub holds the start */
	bool gap;          /* bytes of it are missing from the capture */
	uint32_t alloc_hint;
	uint8_t auth_type, auth_level; /* of the first fragment (0, 0 without trailer) */
	int prot;                      /* enum mp_cap_prot, the worst over the fragments */
	const char *why;               /* why the stub is missing or untrustworthy */
	struct timespec t_first,
	    t_last; /* first byte of the first fragment, last byte of the last */
	uint64_t frame_first, frame_last;
};

struct mp_dce_call {
	const struct mp_dce_conn_info *conn;
	uint32_t call_id;
	uint16_t ctx_id;
	bool have_opnum; /* the request was seen */
	uint16_t opnum;
	const struct mp_dce_ctx *ctx; /* NULL if the context id is unknown */
	bool has_object;
	struct mp_uuid object;
	bool maybe; /* PFC_MAYBE: no response expected */
	struct mp_dce_half req, rsp;
	bool fault;
	uint32_t fault_status;
	bool did_not_execute;
	const char *end; /* NULL: complete; else why it ended without an answer */
};

/* A PDU as it went by (every one: the printer chooses what to show). */
struct mp_dce_pdu_ev {
	const struct mp_dce_conn_info *conn;
	unsigned dir; /* 0 client to server, 1 server to client */
	struct timespec ts;
	uint64_t frame;
	const struct mp_pdu *pdu; /* views valid during the callback only */
	bool parsed;              /* false: header only (pdu->hdr), body malformed or unknown */
	bool have_opnum;          /* request, or response/fault to a seen request */
	uint16_t opnum;
	const struct mp_dce_ctx *ctx; /* request/response/fault: its context, if known */
	/* bind_ack / alter_context_resp: the contexts this answer settled */
	const struct mp_dce_ctx *results;
	size_t n_results;
	int prot; /* request/response: enum mp_cap_prot of this fragment */
};

enum mp_dce_note_level {
	MP_DCE_NOTE_INFO,
	MP_DCE_NOTE_WARN,
};

struct mp_dce_sink {
	void (*pdu)(void *arg, const struct mp_dce_pdu_ev *ev);
	void (*call)(void *arg, const struct mp_dce_call *call);
	void (*note)(void *arg, const struct mp_dce_conn_info *conn, const struct timespec *ts,
	             enum mp_dce_note_level level, const char *text);
	void *arg;
};

struct mp_dce_opts {
	size_t max_call_bytes;            /* stub bytes kept per request/response (0: 16 MiB) */
	size_t max_calls;                 /* calls in flight per connection (0: 256) */
	const struct mp_cap_creds *creds; /* may be NULL: nothing is decrypted */
};

struct mp_dce_stats {
	uint64_t pdus;
	uint64_t calls;
	uint64_t bad_pdus;         /* headers that validated, bodies that did not parse */
	uint64_t resyncs;          /* times a direction lost and found the PDU framing */
	uint64_t skipped_bytes;    /* bytes skipped while resynchronising */
	uint64_t decrypted;        /* fragments unsealed and verified */
	uint64_t verified;         /* fragments whose signature was checked */
	uint64_t sealed;           /* fragments left sealed (no key) */
	uint64_t bad_signature;    /* fragments whose signature did not match */
	uint64_t incomplete_calls; /* reported without a complete request and response */
};

struct mp_dce_conn;

/* A connection; talloc'd under mem; opts and sink are copied, creds borrowed. */
struct mp_dce_conn *mp_dce_conn_new(void *mem, const struct mp_dce_opts *opts,
                                    const struct mp_dce_sink *sink,
                                    const struct mp_dce_conn_info *info);

/* The next bytes of direction dir (0 client to server), in order. */
void mp_dce_conn_data(struct mp_dce_conn *c, unsigned dir, const uint8_t *data, size_t len,
                      const struct timespec *ts, uint64_t frame);

/* `bytes` bytes of direction dir are missing from the capture here. */
void mp_dce_conn_gap(struct mp_dce_conn *c, unsigned dir, uint64_t bytes,
                     const struct timespec *ts);

/* The connection ends: calls still open are reported with `why`. Does not free. */
void mp_dce_conn_end(struct mp_dce_conn *c, const char *why);

/* Nothing has been decoded yet in either direction. */
bool mp_dce_conn_fresh(const struct mp_dce_conn *c);

/* Swap the client and server names (before any data, see the tracker). */
void mp_dce_conn_swap(struct mp_dce_conn *c);

void mp_dce_conn_add_stats(const struct mp_dce_conn *c, struct mp_dce_stats *sum);

/* True if p[0..len) (len >= 16) starts like a bind PDU (or ncacn_http/1.0). */
bool mp_dce_looks_like_bind(const uint8_t *p, size_t len);

enum mp_dce_sender {
	MP_DCE_NOT_DCERPC = -1,
	MP_DCE_FROM_CLIENT = 0, /* bind, alter_context, auth3, request, co_cancel, orphaned */
	MP_DCE_FROM_SERVER = 1, /* bind_ack/nak, alter_context_resp, response, fault, shutdown */
	MP_DCE_FROM_EITHER = 2, /* rts, "ncacn_http/1.0" */
};

/* Whether p[0..len) starts with a plausible DCE/RPC PDU header (stricter
 * than mp_pdu_check_hdr: a connection-oriented type, all of drep, a length
 * that fits the type), and which side sends that type. */
int mp_dce_pdu_sender(const uint8_t *p, size_t len);

/* ---- tracker: the tcp_reasm consumer ------------------------------------- */

struct mp_dce_tracker_opts {
	const uint16_t *ports; /* server ports always followed (copied) */
	size_t n_ports;
	bool detect; /* also follow streams that start with a bind */
	struct mp_dce_opts dce;
};

struct mp_dce_tracker_stats {
	uint64_t followed; /* connections decoded as DCE/RPC */
	uint64_t ignored;  /* connections on other ports that did not start with a bind */
	struct mp_dce_stats dce;
};

struct mp_dce_tracker;

struct mp_dce_tracker *mp_dce_tracker_new(void *mem, const struct mp_dce_tracker_opts *o,
                                          const struct mp_dce_sink *sink);
/* The reassembler the tracker's events come from (for ignore/swap). */
void mp_dce_tracker_set_reasm(struct mp_dce_tracker *t, struct mp_tcp_reasm *r);
/* An mp_tcp_event_fn; arg is the tracker. */
void mp_dce_tracker_event(void *arg, struct mp_tcp_conn *c, const struct mp_tcp_event *ev);
void mp_dce_tracker_get_stats(const struct mp_dce_tracker *t, struct mp_dce_tracker_stats *out);

#endif
