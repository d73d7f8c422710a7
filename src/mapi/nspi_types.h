/*
 * NSPI data structures (MS-OXNSPI 2.2 and 2.3, IDL of MS-OXNSPI section 6)
 * and their NDR20 codecs, shared by the call codecs of nspi.c.
 *
 * Wire rules kept here (C706 chapter 14, MS-RPCE 2.2.5):
 * - Every pointer below a top-level parameter is a unique pointer: a
 *   referent ID (0 for NULL) in place, its referent deferred. Referents of
 *   the pointers embedded in a structure or array come after the whole
 *   structure or array, in member order, each referent complete (with its
 *   own deferred referents) before the next one.
 * - A conformant array at the end of a structure (PropertyRowSet_r,
 *   StringsArray_r, PropertyTagArray_r, ...) has its maximum count hoisted
 *   in front of the structure.
 * - Unions are non-encapsulated: the discriminant (a long) is sent before
 *   the arm and must equal the switch_is value (the property type of
 *   ulPropTag, the rt of a restriction); a mismatch is refused.
 * - Counts must agree with the size_is/length_is fields (MS-OXNSPI asks
 *   the runtime for strict NDR consistency checks) and stay in the IDL's
 *   [range]; strings must have max count = actual count, offset 0, one
 *   terminating NUL. Anything else is refused, so that a decoded stub
 *   re-encodes to the same bytes.
 *
 * C representation: a NULL unique pointer is a NULL C pointer. Counts
 * (cValues, cb, ...) are kept as sent, also when their pointer is NULL.
 * 8-bit strings are kept as sent (bytes in the session's code page, no
 * NUL inside); wide strings are converted to UTF-8 and back. All memory is
 * talloc'd under the pull's context.
 */
#ifndef MP_MAPI_NSPI_TYPES_H
#define MP_MAPI_NSPI_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ndr/ndr.h"
#include "util/printer.h"

/* Property types NSPI allows in PROP_VAL_UNION (MS-OXNSPI 2.2.1). */
enum mp_nspi_ptyp {
	MP_PTYP_NULL = 0x0001,
	MP_PTYP_INTEGER16 = 0x0002,
	MP_PTYP_INTEGER32 = 0x0003,
	MP_PTYP_ERROR_CODE = 0x000A,
	MP_PTYP_BOOLEAN = 0x000B,
	MP_PTYP_EMBEDDED_TABLE = 0x000D,
	MP_PTYP_STRING8 = 0x001E,
	MP_PTYP_STRING = 0x001F,
	MP_PTYP_TIME = 0x0040,
	MP_PTYP_GUID = 0x0048,
	MP_PTYP_BINARY = 0x0102,
	MP_PTYP_MV_INTEGER16 = 0x1002,
	MP_PTYP_MV_INTEGER32 = 0x1003,
	MP_PTYP_MV_STRING8 = 0x101E,
	MP_PTYP_MV_STRING = 0x101F,
	MP_PTYP_MV_TIME = 0x1040,
	MP_PTYP_MV_GUID = 0x1048,
	MP_PTYP_MV_BINARY = 0x1102,
};

#define MP_NSPI_PROP_TYPE(tag) ((uint16_t)((tag) & 0xFFFF))

/* Restriction types (MS-OXNSPI 2.2.5.x, Restriction_r.rt). */
enum mp_nspi_res_type {
	MP_NSPI_RES_AND = 0,
	MP_NSPI_RES_OR = 1,
	MP_NSPI_RES_NOT = 2,
	MP_NSPI_RES_CONTENT = 3,
	MP_NSPI_RES_PROPERTY = 4,
	MP_NSPI_RES_COMPARE_PROPS = 5,
	MP_NSPI_RES_BITMASK = 6,
	MP_NSPI_RES_SIZE = 7,
	MP_NSPI_RES_EXIST = 8,
	MP_NSPI_RES_SUB = 9,
};

/* Limits from the IDL's [range] attributes, and our nesting bound. */
#define MP_NSPI_MAX_VALUES 100000u	/* arrays, rows, restrictions */
#define MP_NSPI_MAX_PROPTAGS 100001u	/* PropertyTagArray_r.cValues */
#define MP_NSPI_MAX_BINARY 2097152u	/* Binary_r.cb */
#define MP_NSPI_MAX_RES_DEPTH 32	/* nested restrictions we decode */

/* STAT (MS-OXNSPI 2.2.8): a table position, 36 bytes. */
struct mp_nspi_stat {
	uint32_t sort_type;
	uint32_t container_id;
	uint32_t cur_rec;
	int32_t delta;
	uint32_t num_pos;
	uint32_t total_recs;
	uint32_t code_page;
	uint32_t template_locale;
	uint32_t sort_locale;
};

/* FlatUID_r: 16 raw bytes, byte-aligned (not a 4-aligned GUID). */
struct mp_nspi_flatuid {
	uint8_t ab[16];
};

/* PropertyTagArray_r: also the list of Minimal Entry IDs (MIds). On the
 * wire max count = cValues + 1, actual count = cValues. */
struct mp_nspi_proptags {
	uint32_t count; /* cValues */
	uint32_t *tags;
};

/* Binary_r. `lpb` NULL: a NULL pointer (cb is then kept as sent). */
struct mp_nspi_binary {
	uint32_t cb;
	uint8_t *lpb;
};

struct mp_nspi_short_array {
	uint32_t count;
	int16_t *values; /* NULL pointer when NULL */
};

struct mp_nspi_long_array {
	uint32_t count;
	int32_t *values;
};

/* StringArray_r (8-bit) and WStringArray_r (UTF-16 on the wire, UTF-8 here):
 * `strs` NULL is a NULL array pointer; an element NULL is a NULL string. */
struct mp_nspi_string_array {
	uint32_t count;
	char **strs;
};

struct mp_nspi_binary_array {
	uint32_t count;
	struct mp_nspi_binary *bins;
};

struct mp_nspi_flatuid_array {
	uint32_t count;
	struct mp_nspi_flatuid **guids; /* elements may be NULL */
};

/* DateTimeArray_r: FILETIMEs (low | high << 32). */
struct mp_nspi_datetime_array {
	uint32_t count;
	uint64_t *values;
};

/* PROP_VAL_UNION: the arm is chosen by the property type of the tag. */
union mp_nspi_prop_val {
	int16_t i;		/* PtypInteger16 */
	int32_t l;		/* PtypInteger32 */
	uint16_t b;		/* PtypBoolean (unsigned short on the wire) */
	char *lpszA;		/* PtypString8, may be NULL */
	char *lpszW;		/* PtypString (UTF-8 here), may be NULL */
	struct mp_nspi_binary bin;	/* PtypBinary */
	struct mp_nspi_flatuid *lpguid; /* PtypGuid, may be NULL */
	uint64_t ft;		/* PtypTime */
	int32_t err;		/* PtypErrorCode */
	struct mp_nspi_short_array MVi;
	struct mp_nspi_long_array MVl;
	struct mp_nspi_string_array MVszA;
	struct mp_nspi_binary_array MVbin;
	struct mp_nspi_flatuid_array MVguid;
	struct mp_nspi_string_array MVszW;
	struct mp_nspi_datetime_array MVft;
	int32_t reserved;	/* PtypNull, PtypEmbeddedTable */
};

/* PropertyValue_r. */
struct mp_nspi_propval {
	uint32_t proptag;
	uint32_t reserved;
	union mp_nspi_prop_val value;
};

/* PropertyRow_r. `props` NULL: NULL pointer (count kept as sent). */
struct mp_nspi_row {
	uint32_t reserved;
	uint32_t count; /* cValues */
	struct mp_nspi_propval *props;
};

/* PropertyRowSet_r. */
struct mp_nspi_rowset {
	uint32_t count; /* cRows */
	struct mp_nspi_row *rows;
};

/* Restriction_r and the arms of RestrictionUnion_r. */
struct mp_nspi_restriction {
	uint32_t rt; /* enum mp_nspi_res_type */
	union {
		struct {
			uint32_t count; /* cRes */
			struct mp_nspi_restriction *res;
		} and_or; /* resAnd, resOr */
		struct {
			struct mp_nspi_restriction *res;
		} not_;
		struct {
			uint32_t fuzzy_level;
			uint32_t proptag;
			struct mp_nspi_propval *prop;
		} content;
		struct {
			uint32_t relop;
			uint32_t proptag;
			struct mp_nspi_propval *prop;
		} property;
		struct {
			uint32_t relop;
			uint32_t proptag1;
			uint32_t proptag2;
		} compare_props;
		struct {
			uint32_t rel_bmr;
			uint32_t proptag;
			uint32_t mask;
		} bitmask;
		struct {
			uint32_t relop;
			uint32_t proptag;
			uint32_t cb;
		} size;
		struct {
			uint32_t reserved1;
			uint32_t proptag;
			uint32_t reserved2;
		} exist;
		struct {
			uint32_t sub_object;
			struct mp_nspi_restriction *res;
		} sub;
	} res;
};

/* PropertyName_r and PropertyNameSet_r. */
struct mp_nspi_propname {
	struct mp_nspi_flatuid *guid; /* may be NULL */
	uint32_t reserved;
	int32_t id; /* lID */
};

struct mp_nspi_propname_set {
	uint32_t count; /* cNames */
	struct mp_nspi_propname *names;
};

/* StringsArray_r / WStringsArray_r: a conformant array of string pointers
 * (elements may be NULL). */
struct mp_nspi_strings {
	uint32_t count;
	char **strs;
};

/* Entry IDs carried in Binary_r values (MS-OXNSPI 2.2.9). */
enum mp_nspi_entryid_kind {
	MP_NSPI_ENTRYID_NONE,		/* not an NSPI entry ID */
	MP_NSPI_ENTRYID_EPHEMERAL,	/* ID type 0x87, 32 bytes */
	MP_NSPI_ENTRYID_PERMANENT,	/* ID type 0x00, ends in a DN */
};

struct mp_nspi_entryid {
	enum mp_nspi_entryid_kind kind;
	uint8_t id_type;
	uint8_t r1, r2, r3;
	struct mp_nspi_flatuid provider_uid;
	uint32_t r4;
	uint32_t display_type;
	uint32_t mid;		/* ephemeral */
	const char *dn;		/* permanent: points into the parsed bytes */
};

/* GUID_NSPI, the ProviderUID of every permanent entry ID. */
extern const struct mp_nspi_flatuid mp_nspi_guid_nspi;

/*
 * Codecs. NDR puts a structure's fixed part ("scalars") before the
 * referents of its embedded pointers ("buffers"); an element of an array
 * or a member of a structure is pulled/pushed with two calls, the buffers
 * call after every scalar of the enclosing construct. A top-level
 * parameter or a pointer's referent uses the _all form (both at once).
 * Errors set the pull's failure flag; callers check mp_ndr_pull_ok() once.
 */
void mp_nspi_pull_stat(struct mp_ndr_pull *pull, struct mp_nspi_stat *s);
void mp_nspi_push_stat(struct mp_ndr_push *push, const struct mp_nspi_stat *s);
void mp_nspi_pull_flatuid(struct mp_ndr_pull *pull, struct mp_nspi_flatuid *g);
void mp_nspi_push_flatuid(struct mp_ndr_push *push, const struct mp_nspi_flatuid *g);

/* A unique pointer to a T, referent inline (top-level use). Pull returns a
 * talloc'd T, or NULL for a NULL pointer or on error. */
struct mp_nspi_flatuid *mp_nspi_pull_flatuid_ptr(struct mp_ndr_pull *pull);
void mp_nspi_push_flatuid_ptr(struct mp_ndr_push *push, const struct mp_nspi_flatuid *g);
struct mp_nspi_proptags *mp_nspi_pull_proptags_ptr(struct mp_ndr_pull *pull);
void mp_nspi_push_proptags_ptr(struct mp_ndr_push *push, const struct mp_nspi_proptags *t);
struct mp_nspi_row *mp_nspi_pull_row_ptr(struct mp_ndr_pull *pull);
void mp_nspi_push_row_ptr(struct mp_ndr_push *push, const struct mp_nspi_row *r);
struct mp_nspi_rowset *mp_nspi_pull_rowset_ptr(struct mp_ndr_pull *pull);
void mp_nspi_push_rowset_ptr(struct mp_ndr_push *push, const struct mp_nspi_rowset *s);
struct mp_nspi_restriction *mp_nspi_pull_restriction_ptr(struct mp_ndr_pull *pull);
void mp_nspi_push_restriction_ptr(struct mp_ndr_push *push, const struct mp_nspi_restriction *r);
struct mp_nspi_propname *mp_nspi_pull_propname_ptr(struct mp_ndr_pull *pull);
void mp_nspi_push_propname_ptr(struct mp_ndr_push *push, const struct mp_nspi_propname *n);
struct mp_nspi_propname_set *mp_nspi_pull_propname_set_ptr(struct mp_ndr_pull *pull);
void mp_nspi_push_propname_set_ptr(struct mp_ndr_push *push,
				   const struct mp_nspi_propname_set *s);

/* Top-level structures passed by reference (no referent ID). */
void mp_nspi_pull_proptags(struct mp_ndr_pull *pull, struct mp_nspi_proptags *t);
void mp_nspi_push_proptags(struct mp_ndr_push *push, const struct mp_nspi_proptags *t);
void mp_nspi_pull_propval_all(struct mp_ndr_pull *pull, struct mp_nspi_propval *v);
void mp_nspi_push_propval_all(struct mp_ndr_push *push, const struct mp_nspi_propval *v);
void mp_nspi_pull_row_all(struct mp_ndr_pull *pull, struct mp_nspi_row *r);
void mp_nspi_push_row_all(struct mp_ndr_push *push, const struct mp_nspi_row *r);
void mp_nspi_pull_binary_array_all(struct mp_ndr_pull *pull, struct mp_nspi_binary_array *a);
void mp_nspi_push_binary_array_all(struct mp_ndr_push *push,
				   const struct mp_nspi_binary_array *a);
/* StringsArray_r (wide = false) or WStringsArray_r (wide = true). */
void mp_nspi_pull_strings(struct mp_ndr_pull *pull, struct mp_nspi_strings *s, bool wide);
void mp_nspi_push_strings(struct mp_ndr_push *push, const struct mp_nspi_strings *s, bool wide);
/* [size_is(n)] PropertyName_r **: max count (must be n), n unique
 * pointers, then each PropertyName_r. NULL elements stay NULL. */
struct mp_nspi_propname **mp_nspi_pull_propname_ptrs(struct mp_ndr_pull *pull, uint32_t n);
void mp_nspi_push_propname_ptrs(struct mp_ndr_push *push, uint32_t n,
				struct mp_nspi_propname *const *names);
/* A unique pointer to a [string] char (NULL allowed), referent inline. */
char *mp_nspi_pull_string8_ptr(struct mp_ndr_pull *pull);
void mp_nspi_push_string8_ptr(struct mp_ndr_push *push, const char *s);

/* Printers: one named node per structure. */
void mp_nspi_print_stat(struct mp_printer *p, const char *name, const struct mp_nspi_stat *s);
void mp_nspi_print_flatuid(struct mp_printer *p, const char *name,
			   const struct mp_nspi_flatuid *g);
/* A property tag with its name ("PidTagDisplayName (0x3001001f)"). */
void mp_nspi_print_proptag(struct mp_printer *p, const char *name, uint32_t tag);
/* A PropertyTagArray_r holding property tags, or one holding MIds. */
void mp_nspi_print_proptags(struct mp_printer *p, const char *name,
			    const struct mp_nspi_proptags *t);
void mp_nspi_print_mids(struct mp_printer *p, const char *name, const struct mp_nspi_proptags *t);
void mp_nspi_print_binary(struct mp_printer *p, const char *name, const struct mp_nspi_binary *b);
void mp_nspi_print_binary_array(struct mp_printer *p, const char *name,
				const struct mp_nspi_binary_array *a);
void mp_nspi_print_propval(struct mp_printer *p, const char *name,
			   const struct mp_nspi_propval *v);
void mp_nspi_print_row(struct mp_printer *p, const char *name, const struct mp_nspi_row *r);
void mp_nspi_print_rowset(struct mp_printer *p, const char *name,
			  const struct mp_nspi_rowset *s);
void mp_nspi_print_restriction(struct mp_printer *p, const char *name,
			       const struct mp_nspi_restriction *r);
void mp_nspi_print_propname(struct mp_printer *p, const char *name,
			    const struct mp_nspi_propname *n);
void mp_nspi_print_propname_set(struct mp_printer *p, const char *name,
				const struct mp_nspi_propname_set *s);
void mp_nspi_print_strings(struct mp_printer *p, const char *name,
			   const struct mp_nspi_strings *s);
void mp_nspi_print_entryid(struct mp_printer *p, const char *name,
			   const struct mp_nspi_entryid *e);

/* Symbolic name of an NSPI property type ("PtypString"), NULL if unknown. */
const char *mp_nspi_ptyp_name(uint16_t type);
/* Symbolic name of a restriction type ("RES_AND"), NULL if unknown. */
const char *mp_nspi_res_name(uint32_t rt);

/* Recognise an entry ID in `n` bytes: true (and *e filled) for a 32-byte
 * ephemeral ID or a permanent ID with GUID_NSPI and a NUL-terminated DN. */
bool mp_nspi_entryid_parse(const uint8_t *b, size_t n, struct mp_nspi_entryid *e);
/* Build the bytes of an entry ID (talloc'd under mem, *n gets the length);
 * NULL when out of memory or e->kind is NONE. */
uint8_t *mp_nspi_entryid_build(void *mem, const struct mp_nspi_entryid *e, size_t *n);

/* First property of a row with this tag (exact match), or NULL. */
struct mp_nspi_propval *mp_nspi_row_find(const struct mp_nspi_row *row, uint32_t proptag);

#endif
