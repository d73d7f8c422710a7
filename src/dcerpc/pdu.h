/*
 * Connection-oriented DCE/RPC PDUs (C706 ch. 12, MS-RPCE 2.2.2).
 *
 * mp_pdu_parse() decodes one complete fragment in place: pointers in the
 * result (stub, auth value) point into the caller's buffer. Encoders append a
 * whole fragment to an mp_wbuf.
 */
#ifndef MP_DCERPC_PDU_H
#define MP_DCERPC_PDU_H

#include "dcerpc/uuid.h"
#include "util/cursor.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MP_PDU_HDR_LEN 16
#define MP_PDU_REQUEST_HDR_LEN 24 /* common header + alloc_hint, p_cont_id, opnum */
#define MP_PDU_RESPONSE_HDR_LEN 24
#define MP_PDU_SEC_TRAILER_LEN 8
#define MP_PDU_MIN_FRAG 1432 /* smallest max_xmit/recv_frag a peer may offer (C706) */
#define MP_PDU_MIN_FRAG_CONF 2048 /* smallest fragment limit we let users configure */

/* X-macro: PDU types, value and name generated together. */
#define MP_PDU_TYPES(X)                                                                            \
	X(REQUEST, 0, "request")                                                                   \
	X(PING, 1, "ping")                                                                         \
	X(RESPONSE, 2, "response")                                                                 \
	X(FAULT, 3, "fault")                                                                       \
	X(WORKING, 4, "working")                                                                   \
	X(NOCALL, 5, "nocall")                                                                     \
	X(REJECT, 6, "reject")                                                                     \
	X(ACK, 7, "ack")                                                                           \
	X(CL_CANCEL, 8, "cl_cancel")                                                               \
	X(FACK, 9, "fack")                                                                         \
	X(CANCEL_ACK, 10, "cancel_ack")                                                            \
	X(BIND, 11, "bind")                                                                        \
	X(BIND_ACK, 12, "bind_ack")                                                                \
	X(BIND_NAK, 13, "bind_nak")                                                                \
	X(ALTER, 14, "alter_context")                                                              \
	X(ALTER_RESP, 15, "alter_context_resp")                                                    \
	X(AUTH3, 16, "auth3")                                                                      \
	X(SHUTDOWN, 17, "shutdown")                                                                \
	X(CO_CANCEL, 18, "co_cancel")                                                              \
	X(ORPHANED, 19, "orphaned")                                                                \
	X(RTS, 20, "rts")

enum mp_pdu_type {
#define MP_PDU_ENUM(name, val, str) MP_PDU_##name = val,
	MP_PDU_TYPES(MP_PDU_ENUM)
#undef MP_PDU_ENUM
};

const char *mp_pdu_type_name(unsigned ptype);

enum mp_pfc_flag {
	MP_PFC_FIRST_FRAG = 0x01,
	MP_PFC_LAST_FRAG = 0x02,
	MP_PFC_PENDING_CANCEL = 0x04, /* on bind/alter: PFC_SUPPORT_HEADER_SIGN */
	MP_PFC_SUPPORT_HEADER_SIGN = 0x04,
	MP_PFC_RESERVED_1 = 0x08,
	MP_PFC_CONC_MPX = 0x10,
	MP_PFC_DID_NOT_EXECUTE = 0x20,
	MP_PFC_MAYBE = 0x40,
	MP_PFC_OBJECT_UUID = 0x80,
};

/* Context results in bind_ack / alter_context_resp. */
enum mp_ctx_result {
	MP_CTX_ACCEPT = 0,
	MP_CTX_USER_REJECT = 1,
	MP_CTX_PROVIDER_REJECT = 2,
	MP_CTX_NEGOTIATE_ACK = 3, /* bind-time feature negotiation answer */
};

enum mp_ctx_reason {
	MP_REASON_NOT_SPECIFIED = 0,
	MP_REASON_ABSTRACT_SYNTAX_NOT_SUPPORTED = 1,
	MP_REASON_TRANSFER_SYNTAXES_NOT_SUPPORTED = 2,
	MP_REASON_LOCAL_LIMIT_EXCEEDED = 3,
};

/* Bind-time features (MS-RPCE 2.2.2.14). */
enum mp_btfn {
	MP_BTFN_SEC_CTX_MULTIPLEXING = 0x0001,
	MP_BTFN_KEEP_CONN_ON_ORPHAN = 0x0002,
};

enum mp_bind_nak_reason {
	MP_NAK_NOT_SPECIFIED = 0,
	MP_NAK_TEMPORARY_CONGESTION = 1,
	MP_NAK_LOCAL_LIMIT_EXCEEDED = 2,
	MP_NAK_CALLED_PADDR_UNKNOWN = 3,
	MP_NAK_PROTOCOL_VERSION_NOT_SUPPORTED = 4,
	MP_NAK_DEFAULT_CONTEXT_NOT_SUPPORTED = 5,
	MP_NAK_USER_DATA_NOT_READABLE = 6,
	MP_NAK_NO_PSAP_AVAILABLE = 7,
	MP_NAK_AUTH_TYPE_NOT_RECOGNIZED = 8,
	MP_NAK_INVALID_CHECKSUM = 9,
};

/* Fault status codes (C706 appendix E, MS-RPCE 2.2.2.10 / MS-ERREF). */
enum mp_fault {
	MP_FAULT_ACCESS_DENIED = 0x00000005,
	MP_FAULT_NDR = 0x000006f7,
	MP_FAULT_SEC_PKG_ERROR = 0x00000721,
	MP_FAULT_CANT_PERFORM = 0x000006d8,
	MP_NCA_S_COMM_FAILURE = 0x1c010001,
	MP_NCA_S_OP_RNG_ERROR = 0x1c010002,
	MP_NCA_S_UNKNOWN_IF = 0x1c010003,
	MP_NCA_S_PROTO_ERROR = 0x1c01000b,
	MP_NCA_S_OUT_ARGS_TOO_BIG = 0x1c010013,
	MP_NCA_S_SERVER_TOO_BUSY = 0x1c010014,
	MP_NCA_S_UNSUPPORTED_TYPE = 0x1c010017,
};

const char *mp_fault_name(uint32_t status);

#define MP_PDU_MAX_CTX 16 /* presentation contexts per bind; more is a local limit */
#define MP_PDU_MAX_TS 8   /* transfer syntaxes per context */

struct mp_pdu_hdr {
	uint8_t vers;
	uint8_t vers_minor;
	uint8_t ptype;
	uint8_t pfc_flags;
	uint8_t drep[4];
	uint16_t frag_len;
	uint16_t auth_len;
	uint32_t call_id;
};

struct mp_pdu_ctx {
	uint16_t id;
	uint8_t n_ts;
	struct mp_syntax abstract;
	struct mp_syntax ts[MP_PDU_MAX_TS];
};

/* bind and alter_context */
struct mp_pdu_bind {
	uint16_t max_xmit;
	uint16_t max_recv;
	uint32_t assoc_group;
	uint8_t n_ctx;
	struct mp_pdu_ctx ctx[MP_PDU_MAX_CTX];
};

struct mp_pdu_result {
	uint16_t result;
	uint16_t reason;
	struct mp_syntax ts;
};

/* bind_ack and alter_context_resp */
struct mp_pdu_bind_ack {
	uint16_t max_xmit;
	uint16_t max_recv;
	uint32_t assoc_group;
	char sec_addr[64]; /* secondary address (port as text); truncated if longer */
	uint8_t n_results;
	struct mp_pdu_result res[MP_PDU_MAX_CTX];
};

struct mp_pdu_bind_nak {
	uint16_t reason;
	uint8_t n_versions;
	uint8_t versions[4][2];
};

struct mp_pdu_request {
	uint32_t alloc_hint;
	uint16_t ctx_id;
	uint16_t opnum;
	bool has_object;
	struct mp_uuid object;
};

struct mp_pdu_response {
	uint32_t alloc_hint;
	uint16_t ctx_id;
	uint8_t cancel_count;
};

struct mp_pdu_fault {
	uint32_t alloc_hint;
	uint16_t ctx_id;
	uint8_t cancel_count;
	uint8_t flags;
	uint32_t status;
};

struct mp_pdu_auth {
	uint8_t type;
	uint8_t level;
	uint8_t pad_len;
	uint8_t reserved;
	uint32_t ctx_id;
	const uint8_t *value; /* auth_len bytes */
};

struct mp_pdu {
	struct mp_pdu_hdr hdr;
	union {
		struct mp_pdu_bind bind;         /* BIND, ALTER */
		struct mp_pdu_bind_ack bind_ack; /* BIND_ACK, ALTER_RESP */
		struct mp_pdu_bind_nak bind_nak;
		struct mp_pdu_request request;
		struct mp_pdu_response response;
		struct mp_pdu_fault fault;
	} u;
	/* Body after the type-specific header (request/response/fault stub). */
	const uint8_t *stub;
	size_t stub_len;
	bool has_auth;
	struct mp_pdu_auth auth;
};

/* Why a header was refused; the caller picks the answer from this. */
enum mp_hdr_verdict {
	MP_HDR_OK = 0,
	MP_HDR_SHORT_FRAG,   /* frag_length < 16: framing is lost */
	MP_HDR_BAD_VERSION,  /* rpc_vers != 5 or minor not 0/1 */
	MP_HDR_BAD_DREP,     /* not little-endian / ASCII / IEEE */
	MP_HDR_TOO_LONG,     /* frag_length > the allowed maximum */
	MP_HDR_BAD_AUTH_LEN, /* auth_length does not fit in the fragment */
};

/* Decode and check the 16-byte common header. `max_frag` is the largest
 * frag_length accepted now. */
enum mp_hdr_verdict mp_pdu_check_hdr(const uint8_t hdr[MP_PDU_HDR_LEN], size_t max_frag,
				     struct mp_pdu_hdr *out);

/* Parse one whole fragment (len == frag_length). MP_OK, MP_ERR_PARSE for
 * malformed bodies, MP_ERR_LIMIT if a bind carries more contexts or transfer
 * syntaxes than this implementation holds, MP_ERR_UNSUPPORTED for a header the
 * check above refuses. */
int mp_pdu_parse(const uint8_t *buf, size_t len, struct mp_pdu *out);

/* --- encoders: each appends one complete fragment --- */

/* Start a fragment: writes the common header with frag_len = 0; returns the
 * offset of the header for mp_pdu_finish(). */
size_t mp_pdu_begin(struct mp_wbuf *wb, uint8_t ptype, uint8_t flags, uint32_t call_id);
/* Patch frag_length and auth_length of the fragment started at `start`. */
void mp_pdu_finish(struct mp_wbuf *wb, size_t start, uint16_t auth_len);

void mp_pdu_encode_bind(struct mp_wbuf *wb, uint8_t ptype, uint8_t flags, uint32_t call_id,
			const struct mp_pdu_bind *b);
void mp_pdu_encode_bind_ack(struct mp_wbuf *wb, uint8_t ptype, uint8_t flags, uint32_t call_id,
			    const struct mp_pdu_bind_ack *a);
void mp_pdu_encode_bind_nak(struct mp_wbuf *wb, uint32_t call_id, uint16_t reason);
void mp_pdu_encode_fault(struct mp_wbuf *wb, uint8_t flags, uint32_t call_id, uint16_t ctx_id,
			 uint32_t status);
/* Request/response fragments carrying `len` stub bytes. */
void mp_pdu_encode_request(struct mp_wbuf *wb, uint8_t flags, uint32_t call_id,
			   const struct mp_pdu_request *r, const void *stub, size_t len);
void mp_pdu_encode_response(struct mp_wbuf *wb, uint8_t flags, uint32_t call_id, uint32_t alloc_hint,
			    uint16_t ctx_id, const void *stub, size_t len);
/* Shutdown, orphaned, co_cancel: header only. */
void mp_pdu_encode_empty(struct mp_wbuf *wb, uint8_t ptype, uint8_t flags, uint32_t call_id);

/* Encode a whole call's stub as as many request (or response) fragments as
 * `max_frag` requires, with FIRST/LAST flags set. */
void mp_pdu_encode_request_frags(struct mp_wbuf *wb, uint32_t call_id,
				 const struct mp_pdu_request *r, const uint8_t *stub, size_t len,
				 size_t max_frag);
void mp_pdu_encode_response_frags(struct mp_wbuf *wb, uint32_t call_id, uint16_t ctx_id,
				  const uint8_t *stub, size_t len, size_t max_frag);

#endif
