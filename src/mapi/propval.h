/*
 * Property values (MS-OXCDATA 2.9-2.11): tagged, typed and flagged values,
 * property rows, property tag arrays, named-property names and property
 * problems, for every property type including the multi-valued ones,
 * PtypServerId, PtypRestriction and PtypRuleAction.
 *
 * Decoding keeps the wire form, so that encoding a decoded value gives back
 * the same bytes: strings stay as the bytes received (UTF-16LE or 8-bit,
 * with their terminator), floating point values as their bit patterns,
 * booleans as the byte sent. Byte fields (struct mp_bin) point into the
 * input window, which must outlive the decoded value; arrays are talloc'd
 * under the reader's `mem`.
 *
 * Count widths depend on the context (MS-OXCDATA 2.11.1.1): in ROP buffers
 * PtypBinary and PtypServerId byte counts are 16 bits and multi-value counts
 * 32 bits; in extended rules (MS-OXORULE 2.2.4) every COUNT is 32 bits, and
 * restrictions and rule actions nested in them use their 4-byte count forms.
 *
 * Every count read from the wire is checked against the bytes left before
 * anything is allocated. Nesting (restrictions inside values inside
 * restrictions, ...) is bounded by MP_PV_MAX_DEPTH.
 *
 * PtypObject values are never sent in ROP buffers (MS-OXCDATA 2.11.1.5:
 * they are opened as streams or embedded messages), so reading one is an
 * error (MP_ERR_UNSUPPORTED) and the caller keeps the bytes opaque.
 */
#ifndef MP_MAPI_PROPVAL_H
#define MP_MAPI_PROPVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/cursor.h"
#include "util/printer.h"

/* Property data types (MS-OXCDATA 2.11.1). */
enum mp_ptype {
	MP_PT_UNSPECIFIED = 0x0000,
	MP_PT_NULL = 0x0001,
	MP_PT_INTEGER16 = 0x0002,
	MP_PT_INTEGER32 = 0x0003,
	MP_PT_FLOATING32 = 0x0004,
	MP_PT_FLOATING64 = 0x0005,
	MP_PT_CURRENCY = 0x0006,
	MP_PT_FLOATINGTIME = 0x0007,
	MP_PT_ERRORCODE = 0x000A,
	MP_PT_BOOLEAN = 0x000B,
	MP_PT_OBJECT = 0x000D,
	MP_PT_INTEGER64 = 0x0014,
	MP_PT_STRING8 = 0x001E,
	MP_PT_STRING = 0x001F,
	MP_PT_TIME = 0x0040,
	MP_PT_GUID = 0x0048,
	MP_PT_SERVERID = 0x00FB,
	MP_PT_RESTRICTION = 0x00FD,
	MP_PT_RULEACTION = 0x00FE,
	MP_PT_BINARY = 0x0102,
};

#define MP_PT_MV 0x1000u  /* multi-valued: PtypMultipleInteger16 = 0x1002, ... */
#define MP_PT_MVI 0x2000u /* multi-value instance: set together with MP_PT_MV in column tags */

#define MP_PROP_TYPE(tag) ((uint16_t)((tag)&0xffffu))
#define MP_PROP_ID(tag) ((uint16_t)((tag) >> 16))
#define MP_PROP_TAG(id, type) (((uint32_t)(id) << 16) | (uint16_t)(type))

/* Deepest nesting of restrictions / rule actions / values we decode. */
#define MP_PV_MAX_DEPTH 32

enum mp_pv_ctx {
	MP_PV_ROP = 0, /* ROP buffers: 16-bit byte counts, 32-bit value counts */
	MP_PV_EXT = 1, /* extended rules: every COUNT 32 bits */
};

/* A counted byte string as received (not NUL-terminated by us). */
struct mp_bin {
	const uint8_t *data;
	uint32_t len;
};

struct mp_restriction;
struct mp_rule_actions;

/* Multi-valued property: `count` values; the array that matches the base
 * type is set (i2 for 0x1002, i4 for 0x1003/0x1004, i8 for
 * 0x1005/0x1006/0x1007/0x1014/0x1040, guid for 0x1048, bin for
 * 0x101E/0x101F/0x1102 where strings keep their terminator). */
struct mp_mv {
	uint32_t count;
	uint16_t *i2;
	uint32_t *i4;
	uint64_t *i8;
	uint8_t (*guid)[16];
	struct mp_bin *bin;
};

/*
 * One value. `type` is the type of the value as encoded (never
 * PtypUnspecified, never with MP_PT_MVI: a multi-value instance column
 * carries a single value of the base type).
 *   b   PtypBoolean (the byte sent)
 *   i2  PtypInteger16
 *   i4  PtypInteger32, PtypErrorCode, PtypFloating32 (bits)
 *   i8  PtypInteger64, PtypCurrency, PtypTime, PtypFloating64 and
 *       PtypFloatingTime (bits)
 *   bin PtypString (UTF-16LE with the 2-byte terminator), PtypString8 (with
 *       its NUL), PtypGuid (16 bytes), PtypBinary, PtypServerId (the bytes
 *       after COUNT: Ours, then ids or client data)
 *   res PtypRestriction, act PtypRuleAction, mv every PtypMultiple*.
 */
struct mp_propval {
	uint16_t type;
	union {
		uint8_t b;
		uint16_t i2;
		uint32_t i4;
		uint64_t i8;
		struct mp_bin bin;
		struct mp_restriction *res;
		struct mp_rule_actions *act;
		struct mp_mv mv;
	} v;
};

/* TaggedPropertyValue (MS-OXCDATA 2.11.4). */
struct mp_tagged_pv {
	uint32_t tag;
	struct mp_propval val;
};

/* Flags of FlaggedPropertyValue (MS-OXCDATA 2.11.5). */
enum {
	MP_PV_FLAG_VALUE = 0x00,
	MP_PV_FLAG_NONE = 0x01,
	MP_PV_FLAG_ERROR = 0x0A,
};

/* One column of a PropertyRow (MS-OXCDATA 2.8.1). In a standard row `flag`
 * is 0 and `val` holds the value. In a flagged row `flag` says whether a
 * value (0x00), nothing (0x01) or an error code (0x0A, val.type is
 * PtypErrorCode) follows. `has_type` is set for PtypUnspecified columns,
 * whose values carry their type (TypedPropertyValue or
 * FlaggedPropertyValueWithType); `type_sent` is that type. */
struct mp_row_value {
	bool has_type;
	uint16_t type_sent;
	uint8_t flag;
	struct mp_propval val;
};

enum {
	MP_ROW_STANDARD = 0x00,
	MP_ROW_FLAGGED = 0x01,
};

struct mp_prop_row {
	uint8_t flag;   /* MP_ROW_STANDARD or MP_ROW_FLAGGED */
	uint32_t count; /* number of columns */
	struct mp_row_value *vals;
};

/* PropertyName (MS-OXCDATA 2.6.1). The GUID is always present; LID for
 * kind 0x00, NameSize + Name (UTF-16LE, NameSize bytes) for kind 0x01,
 * nothing more for kind 0xFF. */
enum {
	MP_PNAME_LID = 0x00,
	MP_PNAME_NAME = 0x01,
	MP_PNAME_NONE = 0xFF,
};

struct mp_prop_name {
	uint8_t kind;
	uint8_t guid[16];
	uint32_t lid;
	struct mp_bin name; /* len = NameSize */
};

/* PropertyProblem (MS-OXCDATA 2.7). */
struct mp_prop_problem {
	uint16_t index;
	uint32_t tag;
	uint32_t err;
};

/* Reader state shared by the value, restriction and rule-action decoders. */
struct mp_pv_rd {
	struct mp_rcursor *rc;
	void *mem; /* talloc parent of decoded arrays */
	enum mp_pv_ctx ctx;
	unsigned depth; /* current nesting; refused beyond MP_PV_MAX_DEPTH */
};

/*
 * Readers return MP_OK, MP_ERR_PARSE (malformed or truncated: the cursor is
 * left bad or mid-value; the caller abandons the structure),
 * MP_ERR_UNSUPPORTED (a type that has no wire form here), MP_ERR_LIMIT
 * (nesting too deep) or MP_ERR_NOMEM. Writers append to `wb` and return
 * MP_OK, MP_ERR_PARSE for a structure that cannot be encoded (unknown type,
 * count too large for its field) or MP_ERR_NOMEM.
 */

/* A value of `type` (MP_PT_MVI | MP_PT_MV | base reads a single base
 * value; PtypUnspecified is refused: use mp_typed_pv_read). */
int mp_pv_read(struct mp_pv_rd *rd, uint16_t type, struct mp_propval *out);
int mp_pv_write(struct mp_wbuf *wb, enum mp_pv_ctx ctx, const struct mp_propval *pv);
/* Prints the value alone under `name`; `tag` (or 0) selects secret redaction. */
void mp_pv_print(struct mp_printer *p, const char *name, uint32_t tag, const struct mp_propval *pv);

/* TypedPropertyValue (MS-OXCDATA 2.11.3): PropertyType, then the value. */
int mp_typed_pv_read(struct mp_pv_rd *rd, struct mp_propval *out);
int mp_typed_pv_write(struct mp_wbuf *wb, enum mp_pv_ctx ctx, const struct mp_propval *pv);

int mp_tagged_pv_read(struct mp_pv_rd *rd, struct mp_tagged_pv *out);
int mp_tagged_pv_write(struct mp_wbuf *wb, enum mp_pv_ctx ctx, const struct mp_tagged_pv *tpv);
void mp_tagged_pv_print(struct mp_printer *p, const char *name, const struct mp_tagged_pv *tpv);

/* `n` tagged values (the count itself is the caller's field). */
int mp_tagged_pvs_read(struct mp_pv_rd *rd, uint32_t n, struct mp_tagged_pv **out);
int mp_tagged_pvs_write(struct mp_wbuf *wb, enum mp_pv_ctx ctx, const struct mp_tagged_pv *v,
                        uint32_t n);
void mp_tagged_pvs_print(struct mp_printer *p, const char *name, const struct mp_tagged_pv *v,
                         uint32_t n);

/* A PropertyRow for columns `cols` (MS-OXCDATA 2.8.1.1 / 2.8.1.2). The
 * columns are the caller's, not the wire's, and PtypNull columns take no
 * bytes: a caller decoding many rows bounds rows x columns itself (the ROP
 * engine allows four values per buffer byte). */
int mp_prop_row_read(struct mp_pv_rd *rd, const uint32_t *cols, uint32_t ncols,
                     struct mp_prop_row *out);
int mp_prop_row_write(struct mp_wbuf *wb, enum mp_pv_ctx ctx, const struct mp_prop_row *row);
/* `cols` (may be NULL) names the columns. */
void mp_prop_row_print(struct mp_printer *p, const char *name, const uint32_t *cols,
                       const struct mp_prop_row *row);

int mp_prop_name_read(struct mp_pv_rd *rd, struct mp_prop_name *out);
int mp_prop_name_write(struct mp_wbuf *wb, const struct mp_prop_name *pn);
void mp_prop_name_print(struct mp_printer *p, const char *name, const struct mp_prop_name *pn);

int mp_prop_problem_read(struct mp_pv_rd *rd, struct mp_prop_problem *out);
void mp_prop_problem_write(struct mp_wbuf *wb, const struct mp_prop_problem *pp);
void mp_prop_problem_print(struct mp_printer *p, const char *name,
                           const struct mp_prop_problem *pp);

/* `n` property tags, 4 bytes each, talloc'd under rd->mem. */
int mp_prop_tags_read(struct mp_pv_rd *rd, uint32_t n, uint32_t **out);
void mp_prop_tags_write(struct mp_wbuf *wb, const uint32_t *tags, uint32_t n);
void mp_prop_tags_print(struct mp_printer *p, const char *name, const uint32_t *tags, uint32_t n);
/* One tag: "PidTagSubject (0x0037001f)" when the name is known. */
void mp_prop_tag_print(struct mp_printer *p, const char *name, uint32_t tag);

/* PtypServerId contents (MS-OXCDATA 2.11.1.4): true when Ours is 1 and the
 * 21 bytes hold a folder id, message id and instance. */
bool mp_serverid_ids(const struct mp_bin *b, uint64_t *fid, uint64_t *mid, uint32_t *instance);

/* Name of a property type ("PtypString", "PtypMultipleInteger32", ...) or NULL. */
const char *mp_ptype_name(uint16_t type);
/* Size of a fixed-width value of `type` (0 for variable-size types). */
size_t mp_ptype_fixed_size(uint16_t type);

/* Bounds-checked helpers shared by the codecs of src/mapi/ (ROPs, rules):
 * a NUL-terminated 8-bit string / UTF-16LE string starting at the cursor,
 * terminator included; NULL (cursor bad) when unterminated. */
const uint8_t *mp_pv_take_str8(struct mp_rcursor *rc, size_t *len);
const uint8_t *mp_pv_take_str16(struct mp_rcursor *rc, size_t *len);
uint64_t mp_pv_get_u64(struct mp_rcursor *rc);
void mp_pv_put_u64(struct mp_wbuf *wb, uint64_t v);

#endif
