/*
 * Property ROPs (MS-OXCPRPT, MS-OXCROPS 2.2.8) on logons, folders,
 * messages and attachments, and the named-property mapping.
 */
#include "server/rop_server.h"

#include "util/status.h"

#include <string.h>
#include <talloc.h>

#define NAMES_CREATE 0x02

/* The input object's property bag; answers the error itself when none. */
static bool bag_of(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb,
                   struct mp_store_obj *obj, bool write)
{
	struct mp_sobj *o = mp_srv_obj_at(c, mp_rop_input_index(rop));
	if (!o || !mp_srv_obj_bag(o, obj)) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return false;
	}
	if (write && (o->type == MP_SOBJ_MESSAGE || o->type == MP_SOBJ_ATTACH) && !o->writable) {
		mp_srv_rsp_error(wb, rop, MP_EC_ACCESS_DENIED);
		return false;
	}
	return true;
}

void mp_srv_rop_get_props_specific(struct mp_rop_ctx *c, const struct mp_rop *rop,
                                   struct mp_wbuf *wb)
{
	struct mp_store_obj obj;
	const struct mp_rop_val *tags = mp_rop_field(rop, "PropertyTags");
	if (!bag_of(c, rop, wb, &obj, false))
		return;
	size_t mark = wb->len;
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), 0);
	/* PropertySizeLimit: 0 means only the response buffer limits values. */
	size_t limit = (size_t)mp_srv_uint(rop, "PropertySizeLimit");
	if (mp_srv_write_row_limited(c, &obj, tags ? tags->p : NULL, tags ? (uint32_t)tags->n : 0,
	                             limit, wb) != MP_OK) {
		wb->len = mark;
		mp_srv_rsp_error(wb, rop, MP_EC_OOM);
	}
}

void mp_srv_rop_get_props_all(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_store_obj obj;
	struct mp_store_prop *props = NULL;
	size_t n = 0;
	if (!bag_of(c, rop, wb, &obj, false))
		return;
	if (mp_store_prop_list(c->txn, &obj, c->mem, &props, &n) != MP_OK || n > 0xFFFF) {
		mp_srv_rsp_error(wb, rop, mp_srv_ec(c));
		return;
	}
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), 0);
	mp_wb_u16(wb, (uint16_t)n);
	for (size_t i = 0; i < n; i++) {
		if (props[i].form == MP_STORE_VAL_WIRE) {
			mp_wb_u32(wb, props[i].tag);
			mp_wb_bytes(wb, props[i].data, props[i].len);
		} else { /* too big for the buffer: read it as a stream */
			mp_wb_u32(wb, MP_PROP_TAG(MP_PROP_ID(props[i].tag), MP_PT_ERRORCODE));
			mp_wb_u32(wb, MP_EC_OOM);
		}
	}
}

void mp_srv_rop_get_props_list(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_store_obj obj;
	struct mp_store_prop *props = NULL;
	size_t n = 0;
	if (!bag_of(c, rop, wb, &obj, false))
		return;
	if (mp_store_prop_list(c->txn, &obj, c->mem, &props, &n) != MP_OK || n > 0xFFFF) {
		mp_srv_rsp_error(wb, rop, mp_srv_ec(c));
		return;
	}
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), 0);
	mp_wb_u16(wb, (uint16_t)n);
	for (size_t i = 0; i < n; i++)
		mp_wb_u32(wb, props[i].tag);
}

static void problems(struct mp_wbuf *wb, const struct mp_rop *rop, const struct mp_prop_problem *p,
                     size_t n)
{
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), 0);
	mp_wb_u16(wb, (uint16_t)n);
	for (size_t i = 0; i < n; i++)
		mp_prop_problem_write(wb, &p[i]);
}

void mp_srv_rop_set_props(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_store_obj obj;
	const struct mp_rop_val *sized = mp_rop_field(rop, "Values");
	if (!bag_of(c, rop, wb, &obj, true))
		return;
	const struct mp_rop_val *vals = sized ? mp_srv_sub(sized->p, "PropertyValues") : NULL;
	if (!sized || !sized->p || !vals) {
		mp_srv_rsp_error(wb, rop, MP_EC_INVALID_PARAM);
		return;
	}
	const struct mp_tagged_pv *tpv = vals->p;
	struct mp_prop_problem *pp = talloc_array(c->mem, struct mp_prop_problem, vals->n + 1);
	size_t np = 0;
	if (!pp) {
		mp_srv_rsp_error(wb, rop, MP_EC_OOM);
		return;
	}
	for (size_t i = 0; i < vals->n; i++) {
		if (mp_store_prop_set_pv(c->txn, &obj, tpv[i].tag, &tpv[i].val) != MP_OK) {
			pp[np].index = (uint16_t)i;
			pp[np].tag = tpv[i].tag;
			pp[np].err = mp_srv_ec(c);
			np++;
		}
	}
	problems(wb, rop, pp, np);
}

void mp_srv_rop_delete_props(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_store_obj obj;
	const struct mp_rop_val *tags = mp_rop_field(rop, "PropertyTags");
	if (!bag_of(c, rop, wb, &obj, true))
		return;
	size_t n = tags ? tags->n : 0;
	const uint32_t *t = tags ? tags->p : NULL;
	struct mp_prop_problem *pp = talloc_array(c->mem, struct mp_prop_problem, n + 1);
	size_t np = 0;
	if (!pp) {
		mp_srv_rsp_error(wb, rop, MP_EC_OOM);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (mp_store_tag_is_computed(t[i]) ||
		    mp_store_prop_delete(c->txn, &obj, t[i]) != MP_OK) {
			pp[np].index = (uint16_t)i;
			pp[np].tag = t[i];
			pp[np].err = MP_EC_ACCESS_DENIED;
			np++;
		}
	}
	problems(wb, rop, pp, np);
}

void mp_srv_rop_ids_from_names(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *o = mp_srv_obj_at(c, mp_rop_input_index(rop));
	const struct mp_rop_val *names = mp_rop_field(rop, "PropertyNames");
	if (!o || o->type == MP_SOBJ_TABLE || o->type == MP_SOBJ_STREAM) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	bool create = mp_srv_uint(rop, "Flags") & NAMES_CREATE;
	size_t n = names ? names->n : 0;
	const struct mp_prop_name *pn = names ? names->p : NULL;
	uint16_t *ids = talloc_zero_array(c->mem, uint16_t, n + 1);
	bool missing = false;
	if (!ids) {
		mp_srv_rsp_error(wb, rop, MP_EC_OOM);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (mp_store_named_id(c->txn, o->mbox, &pn[i], create, &ids[i]) != MP_OK) {
			ids[i] = 0;
			missing = true;
		}
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop),
	               missing ? MP_EC_WARN_WITH_ERRORS : 0);
	mp_wb_u16(wb, (uint16_t)n);
	for (size_t i = 0; i < n; i++)
		mp_wb_u16(wb, ids[i]);
}

void mp_srv_rop_names_from_ids(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	/* PS_MAPI {00020328-0000-0000-C000-000000000046}: ids below 0x8000. */
	static const uint8_t ps_mapi[16] = {0x28, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
	                                    0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46};
	struct mp_sobj *o = mp_srv_obj_at(c, mp_rop_input_index(rop));
	const struct mp_rop_val *arr = mp_rop_field(rop, "PropertyIds");
	if (!o || o->type == MP_SOBJ_TABLE || o->type == MP_SOBJ_STREAM) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	size_t n = arr ? arr->n : 0;
	struct mp_rop_vals *const *e = arr ? arr->p : NULL;
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), 0);
	mp_wb_u16(wb, (uint16_t)n);
	for (size_t i = 0; i < n; i++) {
		uint16_t id = (uint16_t)e[i]->v[0].u;
		struct mp_prop_name pn;
		memset(&pn, 0, sizeof(pn));
		if (id < 0x8000) {
			pn.kind = MP_PNAME_LID;
			memcpy(pn.guid, ps_mapi, 16);
			pn.lid = id;
		} else if (mp_store_named_name(c->txn, o->mbox, id, c->mem, &pn) != MP_OK) {
			memset(&pn, 0, sizeof(pn));
			pn.kind = MP_PNAME_NONE;
		}
		mp_prop_name_write(wb, &pn);
	}
}
