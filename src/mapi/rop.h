/*
 * ROP buffers (MS-OXCROPS 2.2.1): the payload of EcDoRpcExt2 rgbIn/rgbOut
 * (after RPC_HEADER_EXT processing, see rpc_ext.h) and of MAPI/HTTP
 * Execute. A buffer is
 *
 *	RopSize (u16: size of RopSize + RopsList) | RopsList | ServerObjectHandleTable (u32 each)
 *
 * and RopsList is a sequence of ROP requests (client to server) or ROP
 * responses (server to client).
 *
 * Design
 * ------
 * The codec is driven by descriptors: each ROP's request and response is a
 * static table of fields (struct mp_rop_field in rop_desc.h) — integers,
 * fixed byte strings, counted arrays that name their count field, strings,
 * property tag arrays, property values and rows, restrictions, parts that
 * are present only under a condition ("ReturnValue == 0", "IsGhosted != 0",
 * "the logon is private") and windows sized by an earlier field. One
 * engine (rop.c) decodes, encodes and prints every ROP from its table, so a
 * ROP is added by describing it, in the family file of its protocol
 * (rop_store.c, rop_folder.c, rop_table.c, rop_message.c, rop_property.c,
 * rop_stream.c, rop_notify.c, rop_fxics.c, rop_permission.c, rop_rule.c,
 * rop_misc.c). Decoded fields are reached by name (mp_rop_field) and the
 * common header fields by role (logon id, handle indexes, ReturnValue).
 *
 * Responses cannot always be decoded alone: RopQueryRows rows follow the
 * columns of an earlier RopSetColumns on the same table, the values of
 * RopGetPropertiesSpecific follow the tags of its request, some fields exist
 * only for private-mailbox logons. The caller therefore passes the decoded
 * request buffer when decoding a response buffer, and a per-session state
 * (struct mp_rop_session, rop_state.c) that remembers table columns and
 * message recipient columns by server object handle, and logon kinds by
 * logon id, across calls. Responses
 * are matched to requests in order, by RopId and handle index
 * (MS-OXCROPS 3.1.4: one response per request except RopRelease, plus
 * RopNotify / RopPending / RopBackoff / RopBufferTooSmall, which answer no
 * request).
 *
 * Nothing is dropped: a ROP with an unknown RopId, a truncated or malformed
 * ROP, or a response whose state is missing (columns of a table opened
 * before the proxy saw the session) ends decoding at its first byte, and the
 * rest of RopsList is kept as one opaque ROP that is written back unchanged.
 * Inside a ROP, parts framed by their own size (restrictions, recipient
 * rows, notification rows, ...) are kept as bytes when they cannot be
 * decoded, and the ROP still decodes. Encoding a decoded buffer gives the
 * bytes it was decoded from; count and size fields are recomputed from what
 * is written, so a module that edits a decoded list gets a consistent
 * buffer.
 *
 * Memory: everything hangs off the talloc context given to the decoder. The
 * decoder copies the input once; decoded byte fields point into that copy.
 */
#ifndef MP_MAPI_ROP_H
#define MP_MAPI_ROP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/cursor.h"
#include "util/printer.h"

struct mp_rop_desc;
struct mp_rop_layout;
struct mp_rop_session;

/* RopIds with a special place in buffers (MS-OXCROPS 2.2.2). */
enum {
	MP_ROPID_RELEASE = 0x01,
	MP_ROPID_GETMESSAGESTATUS = 0x1F,
	MP_ROPID_SETMESSAGESTATUS = 0x20,
	MP_ROPID_NOTIFY = 0x2A,
	MP_ROPID_PENDING = 0x6E,
	MP_ROPID_BACKOFF = 0xF9,
	MP_ROPID_LOGON = 0xFE,
	MP_ROPID_BUFFERTOOSMALL = 0xFF,
};

/*
 * One decoded field. Which members are meaningful depends on the field's
 * kind (rop_desc.h):
 *   integers       u
 *   bytes/strings  bytes, n (byte length; strings keep their terminator)
 *   lists          p (array), n (element count)
 *   optional part  present, p (struct mp_rop_vals *)
 *   sized window   bytes, n (the window); p decoded contents, or NULL when
 *                  they were kept as bytes
 */
struct mp_rop_val {
	uint64_t u;
	void *p;
	const uint8_t *bytes;
	size_t n;
	bool present;
};

/* The values of one layout (a ROP, or a nested structure). */
struct mp_rop_vals {
	const struct mp_rop_layout *layout;
	struct mp_rop_val v[];
};

struct mp_rop {
	uint8_t id; /* RopId */
	bool response;
	bool opaque;                    /* not decoded: `raw` holds the bytes */
	const struct mp_rop_desc *desc; /* NULL when the RopId is unknown */
	const char *why;                /* opaque: why decoding stopped (static) */
	const struct mp_rop *req;       /* response: the request it answers, if known */
	size_t off;                     /* offset in the buffer decoded from */
	const uint8_t *raw;             /* the bytes received (NULL for built ROPs) */
	size_t raw_len;
	struct mp_rop_vals *vals; /* decoded fields, NULL when opaque */
};

struct mp_rop_buf {
	bool response;
	uint16_t rop_size; /* RopSize as received */
	size_t count;
	struct mp_rop **rops;
	size_t n_handles;
	uint32_t *handles;   /* ServerObjectHandleTable */
	const uint8_t *tail; /* bytes after the last whole handle (normally none) */
	size_t tail_len;
	const uint8_t *data; /* the decoder's copy of the input */
	size_t len;
};

/*
 * Decode a ROP request buffer (`req` NULL) or response buffer (`req` is the
 * decoded request buffer it answers; may be NULL, then responses needing
 * the request stay opaque). `sess` may be NULL (no state across calls).
 * The buffer is talloc'd under `mem`; the input is copied.
 * Returns MP_OK, MP_ERR_PARSE when the buffer frame itself is broken
 * (shorter than 2 bytes, RopSize below 2 or past the end: the caller relays
 * the bytes untouched) or MP_ERR_NOMEM. Undecodable ROPs are not errors:
 * they are kept opaque.
 */
int mp_rop_buf_decode(void *mem, const uint8_t *data, size_t len, bool response,
                      const struct mp_rop_buf *req, struct mp_rop_session *sess,
                      struct mp_rop_buf **out);

/* Append the buffer (RopSize recomputed, handle table, tail) to `out`.
 * Returns MP_OK, MP_ERR_LIMIT (RopsList over 64 KiB), MP_ERR_PARSE (a field
 * that cannot be encoded) or MP_ERR_NOMEM. */
int mp_rop_buf_encode(const struct mp_rop_buf *buf, struct mp_wbuf *out);
/* Append one ROP (its RopId and fields, or its opaque bytes). */
int mp_rop_encode(const struct mp_rop *rop, struct mp_wbuf *out);

/* Print a buffer: its ROPs (named fields) and handle table. */
void mp_rop_buf_print(struct mp_printer *p, const char *name, const struct mp_rop_buf *buf);
void mp_rop_print(struct mp_printer *p, const char *name, const struct mp_rop *rop);

/* Building buffers (the pack module moves ROPs between buffers). A ROP
 * added to a buffer is referenced, not copied: it must outlive the buffer. */
struct mp_rop_buf *mp_rop_buf_new(void *mem, bool response);
int mp_rop_buf_add(struct mp_rop_buf *buf, struct mp_rop *rop);
int mp_rop_buf_set_handles(struct mp_rop_buf *buf, const uint32_t *handles, size_t n);
/* An opaque ROP holding a copy of `len` bytes (its first byte is the RopId). */
struct mp_rop *mp_rop_new_raw(void *mem, bool response, const uint8_t *bytes, size_t len);

/* Accessors. Handle indexes and logon ids return -1 when the ROP has none
 * (or is opaque). */
const char *mp_rop_id_name(uint8_t id);                /* "RopLogon", or NULL */
const char *mp_rop_get_name(const struct mp_rop *rop); /* never NULL */
int mp_rop_logon_id(const struct mp_rop *rop);
int mp_rop_input_index(const struct mp_rop *rop);    /* Input/SourceHandleIndex */
int mp_rop_output_index(const struct mp_rop *rop);   /* OutputHandleIndex */
int mp_rop_dest_index(const struct mp_rop *rop);     /* DestHandleIndex (u8 requests) */
int mp_rop_response_index(const struct mp_rop *rop); /* the index a response echoes */
bool mp_rop_return_value(const struct mp_rop *rop, uint32_t *rv);
/* Original bytes of a ROP and their offset in its buffer (false when built). */
bool mp_rop_bytes(const struct mp_rop *rop, const uint8_t **bytes, size_t *len, size_t *off);

/* A decoded field by name, searched in the ROP's fields and in its present
 * optional parts (not inside lists); NULL when absent. */
const struct mp_rop_val *mp_rop_field(const struct mp_rop *rop, const char *name);
bool mp_rop_get_uint(const struct mp_rop *rop, const char *name, uint64_t *v);
/* Set an integer field; MP_ERR_NOTFOUND, MP_ERR_LIMIT (does not fit). */
int mp_rop_set_uint(struct mp_rop *rop, const char *name, uint64_t v);

/* Per-session state (rop_state.c). */
struct mp_rop_session *mp_rop_session_new(void *mem);
/* Learn from a request buffer and the response buffer that answered it:
 * columns set by RopSetColumns (by server handle), logons, released handles. */
void mp_rop_session_update(struct mp_rop_session *sess, const struct mp_rop_buf *req,
                           const struct mp_rop_buf *rsp);
bool mp_rop_session_columns(const struct mp_rop_session *sess, uint32_t handle,
                            const uint32_t **tags, uint32_t *n);
int mp_rop_session_set_columns(struct mp_rop_session *sess, uint32_t handle, const uint32_t *tags,
                               uint32_t n);
/* Recipient columns of an open message (learnt from RopOpenMessage,
 * RopOpenEmbeddedMessage, RopReloadCachedInformation responses). */
bool mp_rop_session_recipient_columns(const struct mp_rop_session *sess, uint32_t handle,
                                      const uint32_t **tags, uint32_t *n);
int mp_rop_session_set_recipient_columns(struct mp_rop_session *sess, uint32_t handle,
                                         const uint32_t *tags, uint32_t n);
void mp_rop_session_forget(struct mp_rop_session *sess, uint32_t handle);
/* LogonFlags of a logon id (bit 0x01: private mailbox), or -1 when unknown. */
int mp_rop_session_logon_flags(const struct mp_rop_session *sess, uint8_t logon_id);
void mp_rop_session_set_logon(struct mp_rop_session *sess, uint8_t logon_id, uint8_t flags);

#endif
