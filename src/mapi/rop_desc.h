/*
 * The language the ROP family files (rop_*.c) describe ROPs in, and the
 * hooks they may give the engine (rop.c). Internal to src/mapi/.
 *
 * A ROP request or response is a layout: an array of fields, read in order
 * after the RopId byte. A field is
 *
 *   MP_RF_U8/U16/U32/U64  an integer
 *   MP_RF_FIXED           `arg` bytes (GUIDs, LongTermIds, ...)
 *   MP_RF_BYTES           as many bytes as the integer field `ref` says
 *   MP_RF_STR8/STR16      a NUL-terminated 8-bit / UTF-16LE string
 *   MP_RF_TAGS            `ref` property tags
 *   MP_RF_TPVS            `ref` TaggedPropertyValues
 *   MP_RF_NAMES           `ref` PropertyNames
 *   MP_RF_ROW / ROWS      one / `ref` PropertyRows; the `columns` hook says
 *                         which columns (request tags, table state, ...)
 *   MP_RF_ARRAY           `ref` elements of layout `sub` (no `ref`: until
 *                         the end of the enclosing sized window)
 *   MP_RF_STRUCT          one `sub`
 *   MP_RF_IF              `sub`, present when the condition holds: the
 *                         integer field `ref` compared with `arg` by `cond`,
 *                         or the `test` hook
 *   MP_RF_SIZED           `sub` inside a window of `ref` bytes; kept as bytes
 *                         when its contents cannot be decoded exactly
 *   MP_RF_RES             a Restriction in a window of `ref` bytes (absent
 *                         when 0), kept as bytes when it cannot be decoded
 *   MP_RF_REST            every byte left in RopsList (RopBufferTooSmall)
 *   MP_RF_CUSTOM          the `custom` hooks
 *
 * `ref` names an earlier field of the same layout or of an enclosing one.
 * Count and size fields are recomputed when encoding (see rop.h).
 * `role` marks the header fields the accessors return (logon id, handle
 * indexes, ReturnValue); `fmt` says how to print an integer or bytes.
 */
#ifndef MP_MAPI_ROP_DESC_H
#define MP_MAPI_ROP_DESC_H

#include "mapi/propval.h"
#include "mapi/rop.h"

enum mp_rf_kind {
	MP_RF_U8,
	MP_RF_U16,
	MP_RF_U32,
	MP_RF_U64,
	MP_RF_FIXED,
	MP_RF_BYTES,
	MP_RF_STR8,
	MP_RF_STR16,
	MP_RF_TAGS,
	MP_RF_TPVS,
	MP_RF_NAMES,
	MP_RF_ROW,
	MP_RF_ROWS,
	MP_RF_ARRAY,
	MP_RF_STRUCT,
	MP_RF_IF,
	MP_RF_SIZED,
	MP_RF_RES,
	MP_RF_REST,
	MP_RF_CUSTOM,
};

enum mp_rf_fmt {
	MP_FMT_DEC = 0, /* default for integers */
	MP_FMT_HEX,
	MP_FMT_BOOL,
	MP_FMT_ERR,    /* error code with its name */
	MP_FMT_TAG,    /* property tag with its name */
	MP_FMT_ID,     /* 64-bit folder/message id, hex */
	MP_FMT_TIME,   /* FILETIME */
	MP_FMT_ENUM,   /* `names` is a struct mp_flag_name[] of values */
	MP_FMT_FLAGS,  /* `names` is a struct mp_flag_name[] of bits */
	MP_FMT_GUID,   /* 16 bytes */
	MP_FMT_STR,    /* bytes shown as 8-bit text */
	MP_FMT_UTF16,  /* bytes shown as UTF-16LE text */
	MP_FMT_SINT,   /* signed integer */
	MP_FMT_SECRET, /* never printed */
};

enum mp_rf_role {
	MP_RR_NONE = 0,
	MP_RR_LOGON, /* LogonId */
	MP_RR_IN,    /* InputHandleIndex, SourceHandleIndex */
	MP_RR_OUT,   /* OutputHandleIndex */
	MP_RR_DEST,  /* DestHandleIndex (1 byte, requests) */
	MP_RR_RESP,  /* ResponseHandleIndex (requests) */
	MP_RR_RET,   /* ReturnValue */
	MP_RR_ECHO,  /* a response's handle index; `arg` = the request role it echoes */
};

enum mp_rf_cond {
	MP_IF_EQ,    /* ref == arg */
	MP_IF_NE,    /* ref != arg */
	MP_IF_SET,   /* (ref & arg) != 0 */
	MP_IF_CLEAR, /* (ref & arg) == 0 */
	MP_IF_TEST,  /* the `test` hook */
};

struct mp_rop_field;

/* Values in scope while decoding, encoding or printing a layout. */
struct mp_rop_scope {
	const struct mp_rop_vals *vals;
	const struct mp_rop_scope *up;
};

/* Decoding context handed to hooks. */
struct mp_rop_dctx {
	struct mp_pv_rd rd;               /* cursor, talloc parent, depth */
	struct mp_rop_session *sess;      /* may be NULL */
	const struct mp_rop_buf *buf;     /* buffer being decoded (ROPs so far) */
	size_t index;                     /* of the ROP being decoded */
	const struct mp_rop_buf *req_buf; /* responses: the request buffer */
	const struct mp_rop *req;         /* responses: the request answered */
	const struct mp_rop_scope *scope; /* innermost scope */
	const char *why;                  /* first reason decoding failed */
	size_t *row_budget;               /* row values the buffer may still decode */
};

/* Columns of a ROW/ROWS field; false when they are not known here. */
typedef bool mp_rop_columns_fn(const struct mp_rop_dctx *ctx, const uint32_t **tags, uint32_t *n);
/* Condition of an MP_IF_TEST part; false with *known false when it cannot
 * be decided (the ROP then stays opaque). */
typedef bool mp_rop_test_fn(const struct mp_rop_dctx *ctx, bool *known);

struct mp_rop_custom {
	/* Fill `val` from the cursor (ctx->rd.rc); MP_OK or an error. */
	int (*decode)(struct mp_rop_dctx *ctx, struct mp_rop_val *val);
	int (*encode)(struct mp_wbuf *wb, const struct mp_rop_val *val);
	void (*print)(struct mp_printer *p, const char *name, const struct mp_rop_val *val);
};

/* Rows decoded for a ROW/ROWS field (val->p). */
struct mp_rop_rows {
	uint32_t ncols;
	const uint32_t *cols;
	uint32_t count;
	struct mp_prop_row *rows;
};

struct mp_rop_layout {
	const struct mp_rop_field *f;
	uint16_t n;
};

struct mp_rop_field {
	const char *name;
	uint8_t kind; /* enum mp_rf_kind */
	uint8_t fmt;  /* enum mp_rf_fmt */
	uint8_t role; /* enum mp_rf_role */
	uint8_t cond; /* enum mp_rf_cond (MP_RF_IF) */
	const char *ref;
	uint64_t arg;
	const struct mp_rop_layout *sub;
	const struct mp_rop_custom *custom;
	const struct mp_flag_name *names;
	mp_rop_columns_fn *columns;
	mp_rop_test_fn *test;
};

/* ROP descriptor flags. */
enum {
	MP_ROPD_NO_RESPONSE = 0x01, /* RopRelease */
	MP_ROPD_UNSOLICITED = 0x02, /* a response that answers no request */
};

struct mp_rop_desc {
	uint8_t id;
	const char *name;
	const struct mp_rop_layout *req; /* NULL: never sent by clients */
	const struct mp_rop_layout *rsp; /* NULL: no response, or not described */
	unsigned flags;
};

/* Each family file exports its descriptors, terminated by a NULL name. */
extern const struct mp_rop_desc mp_rop_family_store[];
extern const struct mp_rop_desc mp_rop_family_folder[];
extern const struct mp_rop_desc mp_rop_family_table[];
extern const struct mp_rop_desc mp_rop_family_message[];
extern const struct mp_rop_desc mp_rop_family_property[];
extern const struct mp_rop_desc mp_rop_family_stream[];
extern const struct mp_rop_desc mp_rop_family_notify[];
extern const struct mp_rop_desc mp_rop_family_fxics[];
extern const struct mp_rop_desc mp_rop_family_permission[];
extern const struct mp_rop_desc mp_rop_family_rule[];
extern const struct mp_rop_desc mp_rop_family_misc[];

/* The descriptor of a RopId, or NULL. */
const struct mp_rop_desc *mp_rop_desc_find(uint8_t id);

/* Engine services for hooks. */
/* The value of field `name` visible from `scope` (searched outwards), or NULL. */
const struct mp_rop_val *mp_rop_scope_find(const struct mp_rop_scope *scope, const char *name);
/* The tags of the request's field `name` (e.g. "PropertyTags"). */
bool mp_rop_req_tags(const struct mp_rop_dctx *ctx, const char *name, const uint32_t **tags,
                     uint32_t *n);
/* Columns of the table the request's input handle refers to: the last
 * RopSetColumns on that handle index earlier in the request buffer, else
 * the session's columns for its server handle. */
bool mp_rop_table_columns(const struct mp_rop_dctx *ctx, const uint32_t **tags, uint32_t *n);
/* LogonFlags of the ROP's logon (a RopLogon earlier in the request buffer,
 * else the session), or -1. For responses the request's logon is used. */
int mp_rop_logon_flags_of(const struct mp_rop_dctx *ctx, uint8_t logon_id);

/* ---- Table-writing helpers for the family files ---- */

#define MP_LAYOUT(arr)                                                                             \
	{                                                                                          \
		(arr), (uint16_t)(sizeof(arr) / sizeof((arr)[0]))                                  \
	}

#define F_U8(nm, ...)                                                                              \
	{                                                                                          \
		.name = (nm), .kind = MP_RF_U8, __VA_ARGS__                                        \
	}
#define F_U16(nm, ...)                                                                             \
	{                                                                                          \
		.name = (nm), .kind = MP_RF_U16, __VA_ARGS__                                       \
	}
#define F_U32(nm, ...)                                                                             \
	{                                                                                          \
		.name = (nm), .kind = MP_RF_U32, __VA_ARGS__                                       \
	}
#define F_U64(nm, ...)                                                                             \
	{                                                                                          \
		.name = (nm), .kind = MP_RF_U64, __VA_ARGS__                                       \
	}
#define F_BOOL(nm)                                                                                 \
	{                                                                                          \
		.name = (nm), .kind = MP_RF_U8, .fmt = MP_FMT_BOOL                                 \
	}
#define F_FID(nm)                                                                                  \
	{                                                                                          \
		.name = (nm), .kind = MP_RF_U64, .fmt = MP_FMT_ID                                  \
	}
#define F_TAG(nm)                                                                                  \
	{                                                                                          \
		.name = (nm), .kind = MP_RF_U32, .fmt = MP_FMT_TAG                                 \
	}
#define F_FIXED(nm, size, ...)                                                                     \
	{                                                                                          \
		.name = (nm), .kind = MP_RF_FIXED, .arg = (size), __VA_ARGS__                      \
	}
#define F_GUID(nm)                                                                                 \
	{                                                                                          \
		.name = (nm), .kind = MP_RF_FIXED, .arg = 16, .fmt = MP_FMT_GUID                   \
	}
#define F_LTID(nm)                                                                                 \
	{                                                                                          \
		.name = (nm), .kind = MP_RF_FIXED, .arg = 24                                       \
	}
#define F_BYTES(nm, r, ...)                                                                        \
	{                                                                                          \
		.name = (nm), .kind = MP_RF_BYTES, .ref = (r), __VA_ARGS__                         \
	}
#define F_STR8(nm)                                                                                 \
	{                                                                                          \
		.name = (nm), .kind = MP_RF_STR8                                                   \
	}
#define F_STR16(nm)                                                                                \
	{                                                                                          \
		.name = (nm), .kind = MP_RF_STR16                                                  \
	}
#define F_TAGS(nm, r)                                                                              \
	{                                                                                          \
		.name = (nm), .kind = MP_RF_TAGS, .ref = (r)                                       \
	}
#define F_TPVS(nm, r)                                                                              \
	{                                                                                          \
		.name = (nm), .kind = MP_RF_TPVS, .ref = (r)                                       \
	}
#define F_NAMES(nm, r)                                                                             \
	{                                                                                          \
		.name = (nm), .kind = MP_RF_NAMES, .ref = (r)                                      \
	}
#define F_ROW(nm, cols)                                                                            \
	{                                                                                          \
		.name = (nm), .kind = MP_RF_ROW, .columns = (cols)                                 \
	}
#define F_ROWS(nm, r, cols)                                                                        \
	{                                                                                          \
		.name = (nm), .kind = MP_RF_ROWS, .ref = (r), .columns = (cols)                    \
	}
#define F_ARRAY(nm, r, s)                                                                          \
	{                                                                                          \
		.name = (nm), .kind = MP_RF_ARRAY, .ref = (r), .sub = (s)                          \
	}
#define F_STRUCT(nm, s)                                                                            \
	{                                                                                          \
		.name = (nm), .kind = MP_RF_STRUCT, .sub = (s)                                     \
	}
#define F_SIZED(nm, r, s)                                                                          \
	{                                                                                          \
		.name = (nm), .kind = MP_RF_SIZED, .ref = (r), .sub = (s)                          \
	}
#define F_RES(nm, r)                                                                               \
	{                                                                                          \
		.name = (nm), .kind = MP_RF_RES, .ref = (r)                                        \
	}
#define F_REST(nm)                                                                                 \
	{                                                                                          \
		.name = (nm), .kind = MP_RF_REST                                                   \
	}
#define F_CUSTOM(nm, c)                                                                            \
	{                                                                                          \
		.name = (nm), .kind = MP_RF_CUSTOM, .custom = (c)                                  \
	}
#define F_IF(nm, r, c, a, s)                                                                       \
	{                                                                                          \
		.name = (nm), .kind = MP_RF_IF, .ref = (r), .cond = (c), .arg = (a), .sub = (s)    \
	}
#define F_IF_TEST(nm, t, s)                                                                        \
	{                                                                                          \
		.name = (nm), .kind = MP_RF_IF, .cond = MP_IF_TEST, .test = (t), .sub = (s)        \
	}

/* Common request and response headers. */
#define RQ_LOGON F_U8("LogonId", .role = MP_RR_LOGON)
#define RQ_IN F_U8("InputHandleIndex", .role = MP_RR_IN)
#define RQ_OUT F_U8("OutputHandleIndex", .role = MP_RR_OUT)
#define RQ_HDR RQ_LOGON, RQ_IN
#define RQ_HDR_OUT RQ_LOGON, RQ_IN, RQ_OUT
#define RS_RET F_U32("ReturnValue", .role = MP_RR_RET, .fmt = MP_FMT_ERR)
#define RS_IN F_U8("InputHandleIndex", .role = MP_RR_ECHO, .arg = MP_RR_IN)
#define RS_OUT F_U8("OutputHandleIndex", .role = MP_RR_ECHO, .arg = MP_RR_OUT)
#define RS_HDR_IN RS_IN, RS_RET
#define RS_HDR_OUT RS_OUT, RS_RET
#define IF_OK(s) F_IF("Success", "ReturnValue", MP_IF_EQ, 0, (s))

/* A descriptor entry. */
#define ROP(i, nm, rq, rs, ...)                                                                    \
	{                                                                                          \
		.id = (i), .name = (nm), .req = (rq), .rsp = (rs), __VA_ARGS__                     \
	}

/* Layouts every family uses. */
extern const struct mp_rop_layout mp_rop_rsp_hdr_in;  /* InputHandleIndex, ReturnValue */
extern const struct mp_rop_layout mp_rop_rsp_hdr_out; /* OutputHandleIndex, ReturnValue */
extern const struct mp_rop_layout mp_rop_req_hdr;     /* LogonId, InputHandleIndex */
extern const struct mp_rop_layout mp_rop_req_hdr_out; /* ..., OutputHandleIndex */

/* Column hooks shared by families. */
mp_rop_columns_fn mp_rop_cols_table;    /* the table's columns */
mp_rop_columns_fn mp_rop_cols_req_tags; /* the request's PropertyTags */

#endif
