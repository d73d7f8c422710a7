/* Restrictions (MS-OXCDATA 2.12); see restriction.h. */
#include "mapi/restriction.h"

#include <string.h>
#include <talloc.h>

#include "util/status.h"

static const char *const res_names[] = {
    "RES_AND",          "RES_OR",      "RES_NOT",  "RES_CONTENT", "RES_PROPERTY",
    "RES_COMPAREPROPS", "RES_BITMASK", "RES_SIZE", "RES_EXIST",   "RES_SUBRESTRICTION",
    "RES_COMMENT",      "RES_COUNT",
};

const char *mp_res_type_name(uint8_t rt)
{
	return rt < sizeof(res_names) / sizeof(res_names[0]) ? res_names[rt] : NULL;
}

const char *mp_relop_name(uint8_t relop)
{
	static const char *const names[] = {"RELOP_LT", "RELOP_LE", "RELOP_GT", "RELOP_GE",
	                                    "RELOP_EQ", "RELOP_NE", "RELOP_RE"};
	if (relop < sizeof(names) / sizeof(names[0]))
		return names[relop];
	return relop == MP_RELOP_MEMBER_OF_DL ? "RELOP_MEMBER_OF_DL" : NULL;
}

static int read_sub(struct mp_pv_rd *rd, struct mp_restriction **out)
{
	*out = talloc_zero(rd->mem, struct mp_restriction);
	if (!*out)
		return MP_ERR_NOMEM;
	return mp_restriction_read(rd, *out);
}

static int read_body(struct mp_pv_rd *rd, struct mp_restriction *r)
{
	struct mp_rcursor *rc = rd->rc;
	int st = MP_OK;

	switch (r->rt) {
	case MP_RES_AND:
	case MP_RES_OR: {
		uint32_t n = rd->ctx == MP_PV_EXT ? mp_rc_u32(rc) : mp_rc_u16(rc);
		/* Every restriction takes at least one byte. */
		if (rc->bad || n > mp_rc_left(rc))
			return MP_ERR_PARSE;
		r->u.andor.count = n;
		if (n) {
			r->u.andor.subs = talloc_zero_array(rd->mem, struct mp_restriction, n);
			if (!r->u.andor.subs)
				return MP_ERR_NOMEM;
		}
		for (uint32_t i = 0; i < n && st == MP_OK; i++)
			st = mp_restriction_read(rd, &r->u.andor.subs[i]);
		return st;
	}
	case MP_RES_NOT:
		return read_sub(rd, &r->u.not_);
	case MP_RES_CONTENT:
		r->u.content.fuzzy_low = mp_rc_u16(rc);
		r->u.content.fuzzy_high = mp_rc_u16(rc);
		r->u.content.tag = mp_rc_u32(rc);
		if (rc->bad)
			return MP_ERR_PARSE;
		return mp_tagged_pv_read(rd, &r->u.content.pv);
	case MP_RES_PROPERTY:
		r->u.prop.relop = mp_rc_u8(rc);
		r->u.prop.tag = mp_rc_u32(rc);
		if (rc->bad)
			return MP_ERR_PARSE;
		return mp_tagged_pv_read(rd, &r->u.prop.pv);
	case MP_RES_COMPAREPROPS:
		r->u.cmp.relop = mp_rc_u8(rc);
		r->u.cmp.tag1 = mp_rc_u32(rc);
		r->u.cmp.tag2 = mp_rc_u32(rc);
		break;
	case MP_RES_BITMASK:
		r->u.bitmask.relop = mp_rc_u8(rc);
		r->u.bitmask.tag = mp_rc_u32(rc);
		r->u.bitmask.mask = mp_rc_u32(rc);
		break;
	case MP_RES_SIZE:
		r->u.size.relop = mp_rc_u8(rc);
		r->u.size.tag = mp_rc_u32(rc);
		r->u.size.size = mp_rc_u32(rc);
		break;
	case MP_RES_EXIST:
		r->u.exist.tag = mp_rc_u32(rc);
		break;
	case MP_RES_SUBRESTRICTION:
		r->u.subobj.subobject = mp_rc_u32(rc);
		if (rc->bad)
			return MP_ERR_PARSE;
		return read_sub(rd, &r->u.subobj.sub);
	case MP_RES_COMMENT:
		r->u.comment.count = mp_rc_u8(rc);
		if (rc->bad)
			return MP_ERR_PARSE;
		st = mp_tagged_pvs_read(rd, r->u.comment.count, &r->u.comment.vals);
		if (st != MP_OK)
			return st;
		r->u.comment.present = mp_rc_u8(rc);
		if (rc->bad)
			return MP_ERR_PARSE;
		if (r->u.comment.present)
			return read_sub(rd, &r->u.comment.sub);
		break;
	case MP_RES_COUNT:
		r->u.count.count = mp_rc_u32(rc);
		if (rc->bad)
			return MP_ERR_PARSE;
		return read_sub(rd, &r->u.count.sub);
	default:
		return MP_ERR_PARSE;
	}
	return rc->bad ? MP_ERR_PARSE : MP_OK;
}

int mp_restriction_read(struct mp_pv_rd *rd, struct mp_restriction *out)
{
	memset(out, 0, sizeof(*out));
	if (rd->depth >= MP_PV_MAX_DEPTH)
		return MP_ERR_LIMIT;
	out->rt = mp_rc_u8(rd->rc);
	if (rd->rc->bad)
		return MP_ERR_PARSE;
	rd->depth++;
	int st = read_body(rd, out);
	rd->depth--;
	return st;
}

/* Writing recurses as deep as the tree; trees we built ourselves are as
 * deep as decoded ones at most, and callers building trees keep them flat. */
int mp_restriction_write(struct mp_wbuf *wb, enum mp_pv_ctx ctx, const struct mp_restriction *r)
{
	int st = MP_OK;

	mp_wb_u8(wb, r->rt);
	switch (r->rt) {
	case MP_RES_AND:
	case MP_RES_OR:
		if (ctx == MP_PV_EXT) {
			mp_wb_u32(wb, r->u.andor.count);
		} else {
			if (r->u.andor.count > 0xffff)
				return MP_ERR_PARSE;
			mp_wb_u16(wb, (uint16_t)r->u.andor.count);
		}
		for (uint32_t i = 0; i < r->u.andor.count && st == MP_OK; i++)
			st = mp_restriction_write(wb, ctx, &r->u.andor.subs[i]);
		break;
	case MP_RES_NOT:
		if (!r->u.not_)
			return MP_ERR_PARSE;
		st = mp_restriction_write(wb, ctx, r->u.not_);
		break;
	case MP_RES_CONTENT:
		mp_wb_u16(wb, r->u.content.fuzzy_low);
		mp_wb_u16(wb, r->u.content.fuzzy_high);
		mp_wb_u32(wb, r->u.content.tag);
		st = mp_tagged_pv_write(wb, ctx, &r->u.content.pv);
		break;
	case MP_RES_PROPERTY:
		mp_wb_u8(wb, r->u.prop.relop);
		mp_wb_u32(wb, r->u.prop.tag);
		st = mp_tagged_pv_write(wb, ctx, &r->u.prop.pv);
		break;
	case MP_RES_COMPAREPROPS:
		mp_wb_u8(wb, r->u.cmp.relop);
		mp_wb_u32(wb, r->u.cmp.tag1);
		mp_wb_u32(wb, r->u.cmp.tag2);
		break;
	case MP_RES_BITMASK:
		mp_wb_u8(wb, r->u.bitmask.relop);
		mp_wb_u32(wb, r->u.bitmask.tag);
		mp_wb_u32(wb, r->u.bitmask.mask);
		break;
	case MP_RES_SIZE:
		mp_wb_u8(wb, r->u.size.relop);
		mp_wb_u32(wb, r->u.size.tag);
		mp_wb_u32(wb, r->u.size.size);
		break;
	case MP_RES_EXIST:
		mp_wb_u32(wb, r->u.exist.tag);
		break;
	case MP_RES_SUBRESTRICTION:
		mp_wb_u32(wb, r->u.subobj.subobject);
		if (!r->u.subobj.sub)
			return MP_ERR_PARSE;
		st = mp_restriction_write(wb, ctx, r->u.subobj.sub);
		break;
	case MP_RES_COMMENT:
		mp_wb_u8(wb, r->u.comment.count);
		st = mp_tagged_pvs_write(wb, ctx, r->u.comment.vals, r->u.comment.count);
		if (st != MP_OK)
			return st;
		mp_wb_u8(wb, r->u.comment.present);
		if (r->u.comment.present) {
			if (!r->u.comment.sub)
				return MP_ERR_PARSE;
			st = mp_restriction_write(wb, ctx, r->u.comment.sub);
		}
		break;
	case MP_RES_COUNT:
		mp_wb_u32(wb, r->u.count.count);
		if (!r->u.count.sub)
			return MP_ERR_PARSE;
		st = mp_restriction_write(wb, ctx, r->u.count.sub);
		break;
	default:
		return MP_ERR_PARSE;
	}
	if (st != MP_OK)
		return st;
	return wb->bad ? MP_ERR_NOMEM : MP_OK;
}

static void print_relop(struct mp_printer *p, const char *name, uint8_t relop)
{
	mp_pr_enum(p, name, relop, 2, mp_relop_name(relop));
}

void mp_restriction_print(struct mp_printer *p, const char *name, const struct mp_restriction *r)
{
	static const struct mp_flag_name fuzzy_low[] = {
	    {0x0001, "FL_SUBSTRING"}, {0x0002, "FL_PREFIX"}, {0, NULL}};
	static const struct mp_flag_name fuzzy_high[] = {{0x0001, "FL_IGNORECASE"},
	                                                 {0x0002, "FL_IGNORENONSPACE"},
	                                                 {0x0004, "FL_LOOSE"},
	                                                 {0, NULL}};

	mp_pr_begin(p, name);
	if (!r) {
		mp_pr_end(p);
		return;
	}
	mp_pr_enum(p, "RestrictType", r->rt, 2, mp_res_type_name(r->rt));
	switch (r->rt) {
	case MP_RES_AND:
	case MP_RES_OR:
		mp_pr_begin_array(p, "Restricts", r->u.andor.count);
		for (uint32_t i = 0; i < r->u.andor.count; i++)
			mp_restriction_print(p, NULL, &r->u.andor.subs[i]);
		mp_pr_end_array(p);
		break;
	case MP_RES_NOT:
		mp_restriction_print(p, "Restriction", r->u.not_);
		break;
	case MP_RES_CONTENT:
		mp_pr_flags(p, "FuzzyLevelLow", r->u.content.fuzzy_low, 4, fuzzy_low);
		mp_pr_flags(p, "FuzzyLevelHigh", r->u.content.fuzzy_high, 4, fuzzy_high);
		mp_prop_tag_print(p, "PropertyTag", r->u.content.tag);
		mp_tagged_pv_print(p, "TaggedValue", &r->u.content.pv);
		break;
	case MP_RES_PROPERTY:
		print_relop(p, "RelOp", r->u.prop.relop);
		mp_prop_tag_print(p, "PropTag", r->u.prop.tag);
		mp_tagged_pv_print(p, "TaggedValue", &r->u.prop.pv);
		break;
	case MP_RES_COMPAREPROPS:
		print_relop(p, "RelOp", r->u.cmp.relop);
		mp_prop_tag_print(p, "PropTag1", r->u.cmp.tag1);
		mp_prop_tag_print(p, "PropTag2", r->u.cmp.tag2);
		break;
	case MP_RES_BITMASK:
		mp_pr_enum(p, "BitmapRelOp", r->u.bitmask.relop, 2,
		           r->u.bitmask.relop == 0   ? "BMR_EQZ"
		           : r->u.bitmask.relop == 1 ? "BMR_NEZ"
		                                     : NULL);
		mp_prop_tag_print(p, "PropTag", r->u.bitmask.tag);
		mp_pr_hex(p, "Mask", r->u.bitmask.mask, 8);
		break;
	case MP_RES_SIZE:
		print_relop(p, "RelOp", r->u.size.relop);
		mp_prop_tag_print(p, "PropTag", r->u.size.tag);
		mp_pr_uint(p, "Size", r->u.size.size);
		break;
	case MP_RES_EXIST:
		mp_prop_tag_print(p, "PropTag", r->u.exist.tag);
		break;
	case MP_RES_SUBRESTRICTION:
		mp_prop_tag_print(p, "Subobject", r->u.subobj.subobject);
		mp_restriction_print(p, "Restriction", r->u.subobj.sub);
		break;
	case MP_RES_COMMENT:
		mp_tagged_pvs_print(p, "TaggedValues", r->u.comment.vals, r->u.comment.count);
		mp_pr_uint(p, "RestrictionPresent", r->u.comment.present);
		if (r->u.comment.present)
			mp_restriction_print(p, "Restriction", r->u.comment.sub);
		break;
	case MP_RES_COUNT:
		mp_pr_uint(p, "Count", r->u.count.count);
		mp_restriction_print(p, "SubRestriction", r->u.count.sub);
		break;
	}
	mp_pr_end(p);
}
