/*
 * The NSPI server module (MS-OXNSPI 3.1.4.1): context handles per session,
 * STAT positioning over the GAL snapshot of nspi_gal.c, and one handler
 * per opnum. The GAL is read-only: NspiModProps and NspiModLinkAtt answer
 * MAPI_E_NO_ACCESS. Templates do not exist here: NspiGetTemplateInfo
 * answers MAPI_E_NOT_FOUND and the address-creation table is empty.
 */
#include "dcerpc/pdu.h"
#include "mapi/call.h"
#include "mapi/nspi.h"
#include "proxy/conf.h"
#include "server/nspi_gal.h"
#include "server/server_conf.h"
#include "server/server_modules.h"
#include "server/store/store.h"
#include "util/log.h"
#include "util/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

/* A call on a context handle this association does not hold: the RPC
 * runtime's answer (nca_s_fault_context_mismatch, MS-RPCE 3.1.1.5.3.2). */
#define NCA_S_FAULT_CONTEXT_MISMATCH 0x1c00001au
#define MAX_HANDLES 8
#define HIERARCHY_VERSION 1u

struct nspi_global {
	struct mp_store *st;
	uint8_t guid[16]; /* this server's GUID (NspiBind) */
};

struct nspi_handle {
	bool used;
	uint8_t uuid[16];
};

struct nspi_sess {
	struct nspi_handle h[MAX_HANDLES];
};

struct ctx {
	struct mp_server_call *c;
	struct nspi_global *g;
	struct nspi_sess *s;
	void *mem;
	struct mp_gal *gal;
};

/* ---- helpers ---- */

static bool handle_ok(struct ctx *x, const struct mp_ndr_handle *h, int *slot)
{
	if (!x->s)
		return false;
	for (int i = 0; i < MAX_HANDLES; i++) {
		if (x->s->h[i].used && memcmp(x->s->h[i].uuid, h->uuid, 16) == 0) {
			if (slot)
				*slot = i;
			return true;
		}
	}
	return false;
}

static int load_gal(struct ctx *x)
{
	if (x->gal)
		return MP_OK;
	int rc = mp_gal_load(x->mem, x->g->st, x->c->conf->fqdn, &x->gal);
	if (rc == MP_OK)
		memcpy(x->gal->server_guid, x->g->guid, 16);
	return rc;
}

/* The row STAT points at after its Delta: MS-OXNSPI 3.1.4.5 (absolute
 * position by CurrentRec, then Delta rows, clamped to the table). */
static uint32_t position(const struct mp_gal *g, const struct mp_nspi_stat *st, size_t *pos)
{
	long long cur;
	if (st->container_id != 0)
		return MP_NSPI_E_INVALID_PARAMETER; /* one container: the GAL (id 0) */
	if (st->cur_rec == MP_NSPI_MID_BEGINNING) {
		cur = 0;
	} else if (st->cur_rec == MP_NSPI_MID_END) {
		cur = (long long)g->n;
	} else if (st->cur_rec == MP_NSPI_MID_CURRENT) {
		cur = st->num_pos > g->n ? (long long)g->n : st->num_pos; /* fractional position */
	} else {
		long i = mp_gal_index(g, st->cur_rec);
		if (i < 0)
			return MP_NSPI_E_NOT_FOUND;
		cur = i;
	}
	cur += st->delta;
	if (cur < 0)
		cur = 0;
	if (cur > (long long)g->n)
		cur = (long long)g->n;
	*pos = (size_t)cur;
	return MP_NSPI_SUCCESS;
}

static void set_position(const struct mp_gal *g, struct mp_nspi_stat *st, size_t pos)
{
	st->cur_rec = pos < g->n ? g->e[pos].mid : MP_NSPI_MID_END;
	st->num_pos = (uint32_t)pos;
	st->total_recs = (uint32_t)g->n;
	st->delta = 0;
}

/* pPropTags, or a default list for the code page when NULL. */
static struct mp_nspi_proptags *columns(struct ctx *x, struct mp_nspi_proptags *given,
                                        const uint32_t *def, size_t ndef, bool unicode)
{
	if (given)
		return given;
	struct mp_nspi_proptags *t = talloc_zero(x->mem, struct mp_nspi_proptags);
	if (!t || !(t->tags = talloc_array(t, uint32_t, ndef)))
		return NULL;
	for (size_t i = 0; i < ndef; i++)
		t->tags[i] = mp_gal_tag_for_cp(def[i], unicode);
	t->count = (uint32_t)ndef;
	return t;
}

static struct mp_nspi_rowset *rowset_new(void *mem, size_t n)
{
	struct mp_nspi_rowset *rs = talloc_zero(mem, struct mp_nspi_rowset);
	if (!rs || !(rs->rows = talloc_zero_array(rs, struct mp_nspi_row, n ? n : 1)))
		return NULL;
	return rs;
}

static struct mp_nspi_proptags *mids_new(void *mem, size_t n)
{
	struct mp_nspi_proptags *t = talloc_zero(mem, struct mp_nspi_proptags);
	if (!t || !(t->tags = talloc_zero_array(t, uint32_t, n ? n : 1)))
		return NULL;
	return t;
}

/* A row of errors (MAPI_E_NOT_FOUND) for a MId that is not in the table. */
static int error_row(void *mem, const struct mp_nspi_proptags *tags, struct mp_nspi_row *row)
{
	row->count = tags->count;
	row->props = talloc_zero_array(mem, struct mp_nspi_propval, tags->count ? tags->count : 1);
	if (!row->props)
		return MP_ERR_NOMEM;
	for (uint32_t i = 0; i < tags->count; i++) {
		row->props[i].proptag = (tags->tags[i] & 0xFFFF0000u) | MP_PTYP_ERROR_CODE;
		row->props[i].value.err = (int32_t)MP_NSPI_E_NOT_FOUND;
	}
	return MP_OK;
}

/* ---- handlers: each fills its response; MP_OK or MP_ERR_NOMEM ---- */

static int do_bind(struct ctx *x, const struct mp_nspi_bind_req *q, struct mp_nspi_bind_rsp *r)
{
	if (q->stat.code_page == MP_NSPI_CP_WINUNICODE) {
		r->result = MP_NSPI_E_UNKNOWN_CPID; /* 3.1.4.1.1: Unicode is not a bind code page */
		return MP_OK;
	}
	if (!x->s) {
		x->s = talloc_zero(NULL, struct nspi_sess);
		if (!x->s)
			return MP_ERR_NOMEM;
		*x->c->session_state = x->s;
	}
	int slot = -1;
	for (int i = 0; i < MAX_HANDLES && slot < 0; i++)
		if (!x->s->h[i].used)
			slot = i;
	if (slot < 0) {
		r->result = MP_NSPI_E_CALL_FAILED; /* a client that never unbinds */
		return MP_OK;
	}
	if (mp_store_guid_random(x->s->h[slot].uuid) != MP_OK)
		return MP_ERR_NOMEM;
	x->s->h[slot].used = true;
	memcpy(r->handle.uuid, x->s->h[slot].uuid, 16);
	r->handle.attributes = 0;
	if (q->server_guid) {
		r->server_guid = talloc_zero(x->mem, struct mp_nspi_flatuid);
		if (!r->server_guid)
			return MP_ERR_NOMEM;
		memcpy(r->server_guid->ab, x->g->guid, 16);
	}
	r->result = MP_NSPI_SUCCESS;
	return MP_OK;
}

static int do_update_stat(struct ctx *x, const struct mp_nspi_update_stat_req *q,
                          struct mp_nspi_update_stat_rsp *r)
{
	size_t pos;
	r->stat = q->stat;
	r->delta = q->delta;
	if ((r->result = position(x->gal, &q->stat, &pos)) != MP_NSPI_SUCCESS)
		return MP_OK;
	if (r->delta) {
		/* How far it really moved (the signed distance from CurrentRec). */
		struct mp_nspi_stat s0 = q->stat;
		size_t start = 0;
		s0.delta = 0;
		position(x->gal, &s0, &start);
		*r->delta = (int32_t)((long long)pos - (long long)start);
	}
	set_position(x->gal, &r->stat, pos);
	return MP_OK;
}

static int do_query_rows(struct ctx *x, const struct mp_nspi_query_rows_req *q,
                         struct mp_nspi_query_rows_rsp *r)
{
	size_t nd, pos;
	const uint32_t *def = mp_gal_default_columns(&nd);
	uint32_t cp = q->stat.code_page;
	bool unicode = (q->flags & MP_NSPI_F_UNICODE_STRINGS) != 0;
	struct mp_nspi_proptags *tags = columns(x, q->prop_tags, def, nd, unicode);
	r->stat = q->stat;
	if (!tags)
		return MP_ERR_NOMEM;
	if (q->etable && q->etable_count) {
		/* An explicit table: the rows of these MIds, in this order. */
		if (!(r->rows = rowset_new(x->mem, q->etable_count)))
			return MP_ERR_NOMEM;
		for (uint32_t i = 0; i < q->etable_count; i++) {
			long k = mp_gal_index(x->gal, q->etable[i]);
			int rc = k < 0 ? error_row(x->mem, tags, &r->rows->rows[i])
			               : mp_gal_row(x->mem, x->gal, (size_t)k, tags, q->flags, cp,
			                            &r->rows->rows[i], NULL);
			if (rc != MP_OK)
				return rc;
		}
		r->rows->count = q->etable_count;
		r->result = MP_NSPI_SUCCESS;
		return MP_OK;
	}
	if (q->count == 0) {
		r->result = MP_NSPI_E_INVALID_PARAMETER;
		return MP_OK;
	}
	if ((r->result = position(x->gal, &q->stat, &pos)) != MP_NSPI_SUCCESS)
		return MP_OK;
	size_t n = x->gal->n - pos;
	if (n > q->count)
		n = q->count;
	if (!(r->rows = rowset_new(x->mem, n)))
		return MP_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		int rc = mp_gal_row(x->mem, x->gal, pos + i, tags, q->flags, cp, &r->rows->rows[i],
		                    NULL);
		if (rc != MP_OK)
			return rc;
	}
	r->rows->count = (uint32_t)n;
	set_position(x->gal, &r->stat, pos + n);
	return MP_OK;
}

static int do_seek_entries(struct ctx *x, const struct mp_nspi_seek_entries_req *q,
                           struct mp_nspi_seek_entries_rsp *r)
{
	uint32_t cp = q->stat.code_page;
	uint16_t t = MP_NSPI_PROP_TYPE(q->target.proptag);
	r->stat = q->stat;
	if ((q->target.proptag & 0xFFFF0000u) != (MP_PR_DISPLAY_NAME & 0xFFFF0000u) ||
	    (t != MP_PTYP_STRING && t != MP_PTYP_STRING8) || q->stat.sort_type != 0) {
		r->result = MP_NSPI_E_NO_SUPPORT; /* only the display-name sort exists */
		return MP_OK;
	}
	const char *want =
	    t == MP_PTYP_STRING
	        ? q->target.value.lpszW
	        : mp_gal_from_cp(x->mem, q->target.value.lpszA ? q->target.value.lpszA : "", cp);
	if (!want)
		want = "";
	size_t pos = mp_gal_seek(x->gal, want);
	if (q->etable) {
		/* Within the explicit table: first listed entry at or after it. */
		uint32_t i;
		for (i = 0; i < q->etable->count; i++) {
			long k = mp_gal_index(x->gal, q->etable->tags[i]);
			if (k >= 0 && (size_t)k >= pos)
				break;
		}
		if (i == q->etable->count) {
			r->result = MP_NSPI_E_NOT_FOUND;
			return MP_OK;
		}
		r->stat.cur_rec = q->etable->tags[i];
		r->stat.num_pos = i;
		r->stat.total_recs = q->etable->count;
		r->stat.delta = 0;
		if (q->prop_tags) {
			uint32_t n = q->etable->count - i;
			if (!(r->rows = rowset_new(x->mem, n)))
				return MP_ERR_NOMEM;
			for (uint32_t j = 0; j < n; j++) {
				long k = mp_gal_index(x->gal, q->etable->tags[i + j]);
				int rc = k < 0 ? error_row(x->mem, q->prop_tags, &r->rows->rows[j])
				               : mp_gal_row(x->mem, x->gal, (size_t)k, q->prop_tags,
				                            0, cp, &r->rows->rows[j], NULL);
				if (rc != MP_OK)
					return rc;
			}
			r->rows->count = n;
		}
		r->result = MP_NSPI_SUCCESS;
		return MP_OK;
	}
	if (pos == x->gal->n) {
		set_position(x->gal, &r->stat, pos);
		r->result = MP_NSPI_E_NOT_FOUND;
		return MP_OK;
	}
	set_position(x->gal, &r->stat, pos);
	if (q->prop_tags) {
		if (!(r->rows = rowset_new(x->mem, 1)))
			return MP_ERR_NOMEM;
		int rc =
		    mp_gal_row(x->mem, x->gal, pos, q->prop_tags, 0, cp, &r->rows->rows[0], NULL);
		if (rc != MP_OK)
			return rc;
		r->rows->count = 1;
	}
	r->result = MP_NSPI_SUCCESS;
	return MP_OK;
}

static int do_get_matches(struct ctx *x, const struct mp_nspi_get_matches_req *q,
                          struct mp_nspi_get_matches_rsp *r)
{
	uint32_t cp = q->stat.code_page;
	r->stat = q->stat;
	if (q->stat.container_id != 0) {
		r->result = MP_NSPI_E_INVALID_PARAMETER;
		return MP_OK;
	}
	if (!(r->mids = mids_new(x->mem, x->gal->n)))
		return MP_ERR_NOMEM;
	if (q->prop_name) {
		/* A link attribute's explicit table (members, reports): none here. */
		if (mp_gal_index(x->gal, q->stat.cur_rec) < 0) {
			r->mids = NULL;
			r->result = MP_NSPI_E_NOT_FOUND;
			return MP_OK;
		}
	} else if (!q->filter) {
		r->mids = NULL;
		r->result = MP_NSPI_E_INVALID_PARAMETER;
		return MP_OK;
	} else {
		for (size_t i = 0; i < x->gal->n; i++) {
			bool hit = false;
			if (mp_gal_match(x->gal, i, q->filter, cp, &hit) != MP_OK) {
				r->mids = NULL;
				r->result = MP_NSPI_E_TOO_COMPLEX;
				return MP_OK;
			}
			if (hit)
				r->mids->tags[r->mids->count++] = x->gal->e[i].mid;
		}
	}
	if (r->mids->count > q->requested) {
		r->mids = NULL;
		r->result = MP_NSPI_E_TABLE_TOO_BIG;
		return MP_OK;
	}
	if (q->prop_tags) {
		if (!(r->rows = rowset_new(x->mem, r->mids->count)))
			return MP_ERR_NOMEM;
		for (uint32_t i = 0; i < r->mids->count; i++) {
			long k = mp_gal_index(x->gal, r->mids->tags[i]);
			int rc = mp_gal_row(x->mem, x->gal, (size_t)k, q->prop_tags, 0, cp,
			                    &r->rows->rows[i], NULL);
			if (rc != MP_OK)
				return rc;
		}
		r->rows->count = r->mids->count;
	}
	/* The restricted table is the client's now: positioned at its start. */
	r->stat.cur_rec = MP_NSPI_MID_BEGINNING;
	r->stat.num_pos = 0;
	r->stat.delta = 0;
	r->stat.total_recs = r->mids->count;
	r->result = MP_NSPI_SUCCESS;
	return MP_OK;
}

static int do_resort(struct ctx *x, const struct mp_nspi_resort_restriction_req *q,
                     struct mp_nspi_resort_restriction_rsp *r)
{
	r->stat = q->stat;
	size_t n = q->in_mids.count;
	if (!(r->out_mids = mids_new(x->mem, n)))
		return MP_ERR_NOMEM;
	/* Sorted by display name = the GAL's own order. */
	for (size_t i = 0; i < x->gal->n; i++)
		for (size_t j = 0; j < n; j++)
			if (q->in_mids.tags[j] == x->gal->e[i].mid) {
				r->out_mids->tags[r->out_mids->count++] = x->gal->e[i].mid;
				break;
			}
	r->stat.num_pos = 0;
	for (uint32_t i = 0; i < r->out_mids->count; i++)
		if (r->out_mids->tags[i] == q->stat.cur_rec)
			r->stat.num_pos = i;
	r->stat.total_recs = r->out_mids->count;
	r->result = MP_NSPI_SUCCESS;
	return MP_OK;
}

static int do_dn_to_mid(struct ctx *x, const struct mp_nspi_dn_to_mid_req *q,
                        struct mp_nspi_dn_to_mid_rsp *r)
{
	if (!(r->mids = mids_new(x->mem, q->names.count)))
		return MP_ERR_NOMEM;
	char *server = mp_gal_server_dn(x->mem, x->gal);
	if (!server)
		return MP_ERR_NOMEM;
	for (uint32_t i = 0; i < q->names.count; i++) {
		uint32_t mid = 0;
		const char *dn = q->names.strs ? q->names.strs[i] : NULL;
		for (size_t k = 0; dn && k < x->gal->n; k++)
			if (strcasecmp(x->gal->e[k].dn, dn) == 0)
				mid = x->gal->e[k].mid;
		if (dn && strcasecmp(dn, server) == 0)
			mid = MP_GAL_MID_SERVER;
		r->mids->tags[i] = mid; /* 0: not found (3.1.4.1.13) */
	}
	r->mids->count = q->names.count;
	r->result = MP_NSPI_SUCCESS;
	return MP_OK;
}

static int all_tags(struct ctx *x, bool unicode, struct mp_nspi_proptags **out)
{
	size_t n;
	const uint32_t *t = mp_gal_tags(&n);
	struct mp_nspi_proptags *p = mids_new(x->mem, n);
	if (!p)
		return MP_ERR_NOMEM;
	for (size_t i = 0; i < n; i++)
		p->tags[i] = mp_gal_tag_for_cp(t[i], unicode);
	p->count = (uint32_t)n;
	*out = p;
	return MP_OK;
}

static int do_get_prop_list(struct ctx *x, const struct mp_nspi_get_prop_list_req *q,
                            struct mp_nspi_get_prop_list_rsp *r)
{
	if (mp_gal_index(x->gal, q->mid) < 0) {
		r->result = MP_NSPI_E_NOT_FOUND;
		return MP_OK;
	}
	r->result = MP_NSPI_SUCCESS;
	return all_tags(x, q->code_page == MP_NSPI_CP_WINUNICODE, &r->prop_tags);
}

static int do_get_props(struct ctx *x, const struct mp_nspi_get_props_req *q,
                        struct mp_nspi_get_props_rsp *r)
{
	long k = mp_gal_index(x->gal, q->stat.cur_rec);
	bool server = q->stat.cur_rec == MP_GAL_MID_SERVER;
	if (k < 0 && !server) {
		r->result = MP_NSPI_E_NOT_FOUND;
		return MP_OK;
	}
	struct mp_nspi_proptags *tags = q->prop_tags;
	if (!tags) {
		int rc = all_tags(x, q->stat.code_page == MP_NSPI_CP_WINUNICODE, &tags);
		if (rc != MP_OK)
			return rc;
	}
	size_t errors = 0;
	if (!(r->row = talloc_zero(x->mem, struct mp_nspi_row)))
		return MP_ERR_NOMEM;
	int rc = server
	             ? mp_gal_server_row(x->mem, x->gal, tags, q->stat.code_page, r->row, &errors)
	             : mp_gal_row(x->mem, x->gal, (size_t)k, tags, q->flags, q->stat.code_page,
	                          r->row, &errors);
	r->result = errors ? MP_NSPI_WARN_WITH_ERRORS : MP_NSPI_SUCCESS;
	return rc;
}

static long mid_pos(const struct mp_gal *g, uint32_t mid)
{
	if (mid == MP_NSPI_MID_BEGINNING)
		return -1;
	if (mid == MP_NSPI_MID_END)
		return (long)g->n;
	long k = mp_gal_index(g, mid);
	return k < 0 ? -2 : k;
}

static int do_compare(struct ctx *x, const struct mp_nspi_compare_mids_req *q,
                      struct mp_nspi_compare_mids_rsp *r)
{
	long a = mid_pos(x->gal, q->mid1), b = mid_pos(x->gal, q->mid2);
	if (a == -2 || b == -2) {
		r->result = MP_NSPI_E_NOT_FOUND;
		return MP_OK;
	}
	r->cmp = a < b ? -1 : a > b;
	r->result = MP_NSPI_SUCCESS;
	return MP_OK;
}

static int do_special_table(struct ctx *x, const struct mp_nspi_get_special_table_req *q,
                            struct mp_nspi_get_special_table_rsp *r)
{
	r->version = HIERARCHY_VERSION;
	r->result = MP_NSPI_SUCCESS;
	if (q->flags & MP_NSPI_F_ADDR_TEMPLATES) {
		/* Address-creation templates: none (documented in docs/server.md). */
		r->rows = rowset_new(x->mem, 0);
		return r->rows ? MP_OK : MP_ERR_NOMEM;
	}
	if (!(r->rows = rowset_new(x->mem, 1)))
		return MP_ERR_NOMEM;
	r->rows->count = 1;
	return mp_gal_hierarchy_row(x->mem, (q->flags & MP_NSPI_F_UNICODE_STRINGS) != 0,
	                            q->stat.code_page, &r->rows->rows[0]);
}

static int do_query_columns(struct ctx *x, const struct mp_nspi_query_columns_req *q,
                            struct mp_nspi_query_columns_rsp *r)
{
	r->result = MP_NSPI_SUCCESS;
	return all_tags(x, (q->flags & MP_NSPI_F_UNICODE_PROPTYPES) != 0, &r->columns);
}

static int do_names_from_ids(struct ctx *x, const struct mp_nspi_get_names_from_ids_req *q,
                             struct mp_nspi_get_names_from_ids_rsp *r)
{
	/* The GAL has no named properties: every id is unknown. */
	uint32_t n = q->prop_tags ? q->prop_tags->count : 0;
	if (!(r->prop_tags = mids_new(x->mem, n)))
		return MP_ERR_NOMEM;
	if (!(r->names = talloc_zero(x->mem, struct mp_nspi_propname_set)) ||
	    !(r->names->names = talloc_zero_array(r->names, struct mp_nspi_propname, n ? n : 1)))
		return MP_ERR_NOMEM;
	for (uint32_t i = 0; i < n; i++) {
		r->prop_tags->tags[i] = (q->prop_tags->tags[i] & 0xFFFF0000u) | MP_PTYP_ERROR_CODE;
		r->names->names[i].guid = talloc_zero(x->mem, struct mp_nspi_flatuid);
		if (!r->names->names[i].guid)
			return MP_ERR_NOMEM;
	}
	r->prop_tags->count = n;
	r->names->count = n;
	r->result = n ? MP_NSPI_WARN_WITH_ERRORS : MP_NSPI_SUCCESS;
	return MP_OK;
}

static int do_ids_from_names(struct ctx *x, const struct mp_nspi_get_ids_from_names_req *q,
                             struct mp_nspi_get_ids_from_names_rsp *r)
{
	/* Unknown names map to PT_ERROR with id 0 (MS-OXNSPI 3.1.4.1.12); the
	 * GAL is read-only, so none is created either. */
	if (!(r->prop_tags = mids_new(x->mem, q->count)))
		return MP_ERR_NOMEM;
	for (uint32_t i = 0; i < q->count; i++)
		r->prop_tags->tags[i] = MP_PTYP_ERROR_CODE;
	r->prop_tags->count = q->count;
	r->result = q->count ? MP_NSPI_WARN_WITH_ERRORS : MP_NSPI_SUCCESS;
	return MP_OK;
}

static int do_resolve(struct ctx *x, const struct mp_nspi_resolve_names_req *q, bool wide,
                      struct mp_nspi_resolve_names_rsp *r)
{
	uint32_t cp = q->stat.code_page;
	uint32_t n = q->names.count;
	size_t nd;
	const uint32_t *def = mp_gal_default_columns(&nd);
	struct mp_nspi_proptags *tags = columns(x, q->prop_tags, def, nd, wide);
	size_t *hit = talloc_zero_array(x->mem, size_t, n ? n : 1);
	if (!tags || !hit || !(r->mids = mids_new(x->mem, n)) || !(r->rows = rowset_new(x->mem, n)))
		return MP_ERR_NOMEM;
	for (uint32_t i = 0; i < n; i++) {
		const char *s = q->names.strs ? q->names.strs[i] : NULL;
		if (s && !wide)
			s = mp_gal_from_cp(x->mem, s, cp);
		size_t k = 0, m = s ? mp_gal_resolve(x->gal, s, &k) : 0;
		r->mids->tags[i] = m == 0  ? MP_NSPI_MID_UNRESOLVED
		                   : m > 1 ? MP_NSPI_MID_AMBIGUOUS
		                           : x->gal->e[k].mid;
		if (m == 1) {
			int rc = mp_gal_row(x->mem, x->gal, k, tags, 0, cp,
			                    &r->rows->rows[r->rows->count++], NULL);
			if (rc != MP_OK)
				return rc;
		}
	}
	r->mids->count = n;
	r->result = MP_NSPI_SUCCESS;
	return MP_OK;
}

/* ---- dispatch ---- */

static int dispatch(struct ctx *x, struct mp_mapi_call *call, void *rsp)
{
	uint16_t op = x->c->opnum;
	if (op == MP_NSPI_BIND)
		return do_bind(x, call->body, rsp);
	/* Every other call starts with its context handle. */
	const struct mp_ndr_handle *h = call->body;
	int slot;
	if (!handle_ok(x, h, &slot)) {
		*x->c->fault = NCA_S_FAULT_CONTEXT_MISMATCH;
		return MP_ERR_PROTO;
	}
	if (op == MP_NSPI_UNBIND) {
		struct mp_nspi_unbind_rsp *r = rsp;
		x->s->h[slot].used = false;
		memset(&r->handle, 0, sizeof(r->handle)); /* the handle is closed */
		r->result = 1;                            /* 3.1.4.1.2: the server returns 1 */
		return MP_OK;
	}
	if (op == MP_NSPI_MOD_PROPS || op == MP_NSPI_MOD_LINK_ATT) {
		*(uint32_t *)rsp = MP_NSPI_E_NO_ACCESS; /* the response is just the result */
		return MP_OK;
	}
	if (op == MP_NSPI_GET_TEMPLATE_INFO) {
		struct mp_nspi_get_template_info_rsp *r = rsp;
		r->result = MP_NSPI_E_NOT_FOUND; /* no display templates in this GAL */
		return MP_OK;
	}
	int rc = load_gal(x);
	if (rc != MP_OK)
		return rc;
	switch (op) {
	case MP_NSPI_UPDATE_STAT:
		return do_update_stat(x, call->body, rsp);
	case MP_NSPI_QUERY_ROWS:
		return do_query_rows(x, call->body, rsp);
	case MP_NSPI_SEEK_ENTRIES:
		return do_seek_entries(x, call->body, rsp);
	case MP_NSPI_GET_MATCHES:
		return do_get_matches(x, call->body, rsp);
	case MP_NSPI_RESORT_RESTRICTION:
		return do_resort(x, call->body, rsp);
	case MP_NSPI_DN_TO_MID:
		return do_dn_to_mid(x, call->body, rsp);
	case MP_NSPI_GET_PROP_LIST:
		return do_get_prop_list(x, call->body, rsp);
	case MP_NSPI_GET_PROPS:
		return do_get_props(x, call->body, rsp);
	case MP_NSPI_COMPARE_MIDS:
		return do_compare(x, call->body, rsp);
	case MP_NSPI_GET_SPECIAL_TABLE:
		return do_special_table(x, call->body, rsp);
	case MP_NSPI_QUERY_COLUMNS:
		return do_query_columns(x, call->body, rsp);
	case MP_NSPI_GET_NAMES_FROM_IDS:
		return do_names_from_ids(x, call->body, rsp);
	case MP_NSPI_GET_IDS_FROM_NAMES:
		return do_ids_from_names(x, call->body, rsp);
	case MP_NSPI_RESOLVE_NAMES:
		return do_resolve(x, call->body, false, rsp);
	case MP_NSPI_RESOLVE_NAMES_W:
		return do_resolve(x, call->body, true, rsp);
	default:
		*x->c->fault = MP_NCA_S_OP_RNG_ERROR;
		return MP_ERR_PROTO;
	}
}

/* Large enough for every opnum's response structure. */
union nspi_rsp {
	struct mp_nspi_bind_rsp bind;
	struct mp_nspi_unbind_rsp unbind;
	struct mp_nspi_update_stat_rsp update_stat;
	struct mp_nspi_query_rows_rsp query_rows;
	struct mp_nspi_seek_entries_rsp seek;
	struct mp_nspi_get_matches_rsp matches;
	struct mp_nspi_resort_restriction_rsp resort;
	struct mp_nspi_dn_to_mid_rsp dn_to_mid;
	struct mp_nspi_get_prop_list_rsp prop_list;
	struct mp_nspi_get_props_rsp props;
	struct mp_nspi_compare_mids_rsp compare;
	struct mp_nspi_mod_props_rsp mod_props;
	struct mp_nspi_get_special_table_rsp special;
	struct mp_nspi_get_template_info_rsp template_info;
	struct mp_nspi_mod_link_att_rsp mod_link;
	struct mp_nspi_delete_entries_rsp delete_entries;
	struct mp_nspi_query_columns_rsp columns;
	struct mp_nspi_get_names_from_ids_rsp names_from_ids;
	struct mp_nspi_get_ids_from_names_rsp ids_from_names;
	struct mp_nspi_resolve_names_rsp resolve;
};

static int serve_nspi(struct mp_server_call *c)
{
	const char *why = NULL;
	struct ctx x = {.c = c, .g = c->global, .s = *c->session_state, .mem = talloc_new(NULL)};
	union nspi_rsp rsp;
	int rc = MP_ERR_PROTO;
	memset(&rsp, 0, sizeof(rsp));
	if (!x.mem || !x.g) {
		*c->fault = MP_NCA_S_SERVER_TOO_BUSY;
		talloc_free(x.mem);
		return MP_ERR_NOMEM;
	}
	struct mp_mapi_call *call =
	    mp_mapi_decode(x.mem, MP_MAPI_NSPI, c->opnum, MP_CALL_REQUEST, c->stub, c->len, &why);
	if (!call) {
		*c->fault =
		    why && strcmp(why, "unknown opnum") == 0 ? MP_NCA_S_OP_RNG_ERROR : MP_FAULT_NDR;
		mp_warn("session %llu: NSPI opnum %u refused: %s",
		        (unsigned long long)c->session_id, c->opnum, why ? why : "?");
		goto out;
	}
	rc = dispatch(&x, call, &rsp);
	if (rc == MP_OK && !mp_nspi_push(c->opnum, MP_CALL_RESPONSE, &rsp, c->out)) {
		mp_warn("session %llu: NSPI opnum %u: response cannot be encoded",
		        (unsigned long long)c->session_id, c->opnum);
		rc = MP_ERR_PROTO;
	}
	if (rc != MP_OK && !*c->fault)
		*c->fault = rc == MP_ERR_NOMEM ? MP_NCA_S_SERVER_TOO_BUSY : MP_FAULT_CANT_PERFORM;
out:
	talloc_free(x.mem);
	return rc;
}

static int init_nspi(const struct mp_config *cfg, const struct mp_proxy_conf *conf, void **global,
                     char *errbuf, size_t errlen)
{
	struct nspi_global *g = calloc(1, sizeof(*g));
	if (!g) {
		snprintf(errbuf, errlen, "NSPI server: out of memory");
		return MP_ERR_NOMEM;
	}
	int rc = mp_server_store_acquire(cfg, &g->st, errbuf, errlen);
	if (rc == MP_OK && mp_store_guid_random(g->guid) != MP_OK) {
		snprintf(errbuf, errlen, "NSPI server: no random bytes for the server GUID");
		mp_server_store_release(g->st);
		rc = MP_ERR_IO;
	}
	if (rc != MP_OK) {
		free(g);
		return rc;
	}
	*global = g;
	return MP_OK;
}

static void shutdown_nspi(void *global)
{
	struct nspi_global *g = global;
	if (!g)
		return;
	mp_server_store_release(g->st);
	free(g);
}

static void session_end_nspi(void *global, void *state)
{
	talloc_free(state);
}

const struct mp_server_module mp_server_nspi = {
    .iface = "exchange_nsp",
    .option = "dcerpc_mapiproxy:nspi_server",
    .init = init_nspi,
    .shutdown = shutdown_nspi,
    .serve = serve_nspi,
    .session_end = session_end_nspi,
};
