/*
 * Restrictions (MS-OXCDATA 2.12): the filter trees of RopRestrict,
 * RopFindRow, RopSetSearchCriteria, RopSynchronizationConfigure, rule
 * conditions and PtypRestriction values.
 *
 * The And/Or restriction count is 2 bytes in ROP buffers and 4 bytes in
 * extended rules (MS-OXCDATA 2.12.1.1 / 2.12.2.1); the reader's context
 * (struct mp_pv_rd) selects it, and nested values follow the same context.
 * The Comment restriction's TaggedValuesCount is always 1 byte and the
 * Count restriction's Count always 4. Nesting is bounded by MP_PV_MAX_DEPTH.
 * Decoded byte fields point into the input window (see propval.h).
 */
#ifndef MP_MAPI_RESTRICTION_H
#define MP_MAPI_RESTRICTION_H

#include "mapi/propval.h"

enum mp_res_type {
	MP_RES_AND = 0x00,
	MP_RES_OR = 0x01,
	MP_RES_NOT = 0x02,
	MP_RES_CONTENT = 0x03,
	MP_RES_PROPERTY = 0x04,
	MP_RES_COMPAREPROPS = 0x05,
	MP_RES_BITMASK = 0x06,
	MP_RES_SIZE = 0x07,
	MP_RES_EXIST = 0x08,
	MP_RES_SUBRESTRICTION = 0x09,
	MP_RES_COMMENT = 0x0A,
	MP_RES_COUNT = 0x0B,
};

/* Relational operators (RelOp) of Property, CompareProperties and Size. */
enum mp_relop {
	MP_RELOP_LT = 0x00,
	MP_RELOP_LE = 0x01,
	MP_RELOP_GT = 0x02,
	MP_RELOP_GE = 0x03,
	MP_RELOP_EQ = 0x04,
	MP_RELOP_NE = 0x05,
	MP_RELOP_RE = 0x06,
	MP_RELOP_MEMBER_OF_DL = 0x64,
};

struct mp_restriction {
	uint8_t rt; /* enum mp_res_type */
	union {
		struct {
			uint32_t count;
			struct mp_restriction *subs;
		} andor; /* And, Or */
		struct mp_restriction *not_;
		struct {
			uint16_t fuzzy_low;
			uint16_t fuzzy_high;
			uint32_t tag;
			struct mp_tagged_pv pv;
		} content;
		struct {
			uint8_t relop;
			uint32_t tag;
			struct mp_tagged_pv pv;
		} prop;
		struct {
			uint8_t relop;
			uint32_t tag1;
			uint32_t tag2;
		} cmp;
		struct {
			uint8_t relop; /* BMR_EQZ 0, BMR_NEZ 1 */
			uint32_t tag;
			uint32_t mask;
		} bitmask;
		struct {
			uint8_t relop;
			uint32_t tag;
			uint32_t size;
		} size;
		struct {
			uint32_t tag;
		} exist;
		struct {
			uint32_t subobject;
			struct mp_restriction *sub;
		} subobj;
		struct {
			uint8_t count;
			struct mp_tagged_pv *vals;
			uint8_t present;            /* RestrictionPresent as sent */
			struct mp_restriction *sub; /* when present != 0 */
		} comment;
		struct {
			uint32_t count;
			struct mp_restriction *sub;
		} count;
	} u;
};

/* Read one restriction; returns MP_OK or an error as in propval.h. */
int mp_restriction_read(struct mp_pv_rd *rd, struct mp_restriction *out);
int mp_restriction_write(struct mp_wbuf *wb, enum mp_pv_ctx ctx, const struct mp_restriction *r);
void mp_restriction_print(struct mp_printer *p, const char *name, const struct mp_restriction *r);

/* "RES_AND", ... or NULL; "RELOP_EQ", ... or NULL. */
const char *mp_res_type_name(uint8_t rt);
const char *mp_relop_name(uint8_t relop);

#endif
