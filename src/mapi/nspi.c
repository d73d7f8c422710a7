/*
 * NSPI call codecs: the parameters of each opnum in IDL order (see nspi.h).
 * Top-level unique pointers carry their referent right after the referent
 * ID, before the next parameter.
 */
#include "mapi/nspi.h"

#include <talloc.h>

#include "mapi/names.h"

/* ------------------------------------------------------------------ */
/* Helpers for parameters that only appear at the top level            */
/* ------------------------------------------------------------------ */

static void print_handle(struct mp_printer *p, const char *name, const struct mp_ndr_handle *h)
{
	mp_pr_begin(p, name);
	mp_pr_hex(p, "attributes", h->attributes, 8);
	mp_pr_guid(p, "uuid", h->uuid);
	mp_pr_end(p);
}

/* [in,out,unique] long* */
static int32_t *pull_long_ptr(struct mp_ndr_pull *pull)
{
	if (!mp_ndr_pull_ptr(pull))
		return NULL;
	int32_t *v = talloc(pull->mem, int32_t);
	if (!v) {
		mp_ndr_pull_fail(pull, "out of memory");
		return NULL;
	}
	*v = (int32_t)mp_ndr_pull_u32(pull);
	return v;
}

static void push_long_ptr(struct mp_ndr_push *push, const int32_t *v)
{
	mp_ndr_push_ptr(push, v != NULL);
	if (v)
		mp_ndr_push_u32(push, (uint32_t)*v);
}

static void print_long_ptr(struct mp_printer *p, const char *name, const int32_t *v)
{
	if (v)
		mp_pr_int(p, name, *v);
	else
		mp_pr_str(p, name, NULL);
}

static void print_result(struct mp_printer *p, uint32_t result)
{
	mp_pr_enum(p, "result", result, 8, mp_error_name(result));
}

/* ------------------------------------------------------------------ */
/* 0 NspiBind                                                          */
/* ------------------------------------------------------------------ */

static void bind_req_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_bind_req *r = body;
	r->flags = mp_ndr_pull_u32(pull);
	mp_nspi_pull_stat(pull, &r->stat);
	r->server_guid = mp_nspi_pull_flatuid_ptr(pull);
}

static void bind_req_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_bind_req *r = body;
	mp_ndr_push_u32(push, r->flags);
	mp_nspi_push_stat(push, &r->stat);
	mp_nspi_push_flatuid_ptr(push, r->server_guid);
}

static void bind_req_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_bind_req *r = body;
	static const struct mp_flag_name flags[] = { { 0x20, "fAnonymousLogin" }, { 0, NULL } };
	mp_pr_flags(p, "dwFlags", r->flags, 8, flags);
	mp_nspi_print_stat(p, "pStat", &r->stat);
	mp_nspi_print_flatuid(p, "pServerGuid", r->server_guid);
}

static void bind_rsp_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_bind_rsp *r = body;
	r->server_guid = mp_nspi_pull_flatuid_ptr(pull);
	mp_ndr_pull_handle(pull, &r->handle);
	r->result = mp_ndr_pull_u32(pull);
}

static void bind_rsp_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_bind_rsp *r = body;
	mp_nspi_push_flatuid_ptr(push, r->server_guid);
	mp_ndr_push_handle(push, &r->handle);
	mp_ndr_push_u32(push, r->result);
}

static void bind_rsp_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_bind_rsp *r = body;
	mp_nspi_print_flatuid(p, "pServerGuid", r->server_guid);
	print_handle(p, "contextHandle", &r->handle);
	print_result(p, r->result);
}

/* ------------------------------------------------------------------ */
/* 1 NspiUnbind                                                        */
/* ------------------------------------------------------------------ */

static void unbind_req_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_unbind_req *r = body;
	mp_ndr_pull_handle(pull, &r->handle);
	r->reserved = mp_ndr_pull_u32(pull);
}

static void unbind_req_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_unbind_req *r = body;
	mp_ndr_push_handle(push, &r->handle);
	mp_ndr_push_u32(push, r->reserved);
}

static void unbind_req_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_unbind_req *r = body;
	print_handle(p, "contextHandle", &r->handle);
	mp_pr_hex(p, "Reserved", r->reserved, 8);
}

static void unbind_rsp_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_unbind_rsp *r = body;
	mp_ndr_pull_handle(pull, &r->handle);
	r->result = mp_ndr_pull_u32(pull);
}

static void unbind_rsp_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_unbind_rsp *r = body;
	mp_ndr_push_handle(push, &r->handle);
	mp_ndr_push_u32(push, r->result);
}

static void unbind_rsp_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_unbind_rsp *r = body;
	print_handle(p, "contextHandle", &r->handle);
	print_result(p, r->result);
}

/* ------------------------------------------------------------------ */
/* 2 NspiUpdateStat                                                    */
/* ------------------------------------------------------------------ */

static void update_stat_req_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_update_stat_req *r = body;
	mp_ndr_pull_handle(pull, &r->handle);
	r->reserved = mp_ndr_pull_u32(pull);
	mp_nspi_pull_stat(pull, &r->stat);
	r->delta = pull_long_ptr(pull);
}

static void update_stat_req_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_update_stat_req *r = body;
	mp_ndr_push_handle(push, &r->handle);
	mp_ndr_push_u32(push, r->reserved);
	mp_nspi_push_stat(push, &r->stat);
	push_long_ptr(push, r->delta);
}

static void update_stat_req_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_update_stat_req *r = body;
	print_handle(p, "hRpc", &r->handle);
	mp_pr_hex(p, "Reserved", r->reserved, 8);
	mp_nspi_print_stat(p, "pStat", &r->stat);
	print_long_ptr(p, "plDelta", r->delta);
}

static void update_stat_rsp_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_update_stat_rsp *r = body;
	mp_nspi_pull_stat(pull, &r->stat);
	r->delta = pull_long_ptr(pull);
	r->result = mp_ndr_pull_u32(pull);
}

static void update_stat_rsp_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_update_stat_rsp *r = body;
	mp_nspi_push_stat(push, &r->stat);
	push_long_ptr(push, r->delta);
	mp_ndr_push_u32(push, r->result);
}

static void update_stat_rsp_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_update_stat_rsp *r = body;
	mp_nspi_print_stat(p, "pStat", &r->stat);
	print_long_ptr(p, "plDelta", r->delta);
	print_result(p, r->result);
}

/* ------------------------------------------------------------------ */
/* 3 NspiQueryRows                                                     */
/* ------------------------------------------------------------------ */

static const struct mp_flag_name retrieve_flags[] = {
	{ 0x1, "fSkipObjects" },
	{ 0x2, "fEphID" },
	{ 0, NULL },
};

static void query_rows_req_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_query_rows_req *r = body;
	mp_ndr_pull_handle(pull, &r->handle);
	r->flags = mp_ndr_pull_u32(pull);
	mp_nspi_pull_stat(pull, &r->stat);
	r->etable_count = mp_ndr_pull_u32(pull);
	if (mp_ndr_pull_ok(pull) && r->etable_count > MP_NSPI_MAX_VALUES)
		mp_ndr_pull_fail(pull, "count outside the range the IDL allows");
	if (mp_ndr_pull_ptr(pull)) {
		uint32_t n = mp_ndr_pull_count(pull, 4);
		if (mp_ndr_pull_ok(pull) && n != r->etable_count)
			mp_ndr_pull_fail(pull, "array size differs from its count field");
		if (mp_ndr_pull_ok(pull)) {
			r->etable = talloc_array(pull->mem, uint32_t, n ? n : 1);
			if (!r->etable)
				mp_ndr_pull_fail(pull, "out of memory");
		}
		for (uint32_t i = 0; r->etable && i < n; i++)
			r->etable[i] = mp_ndr_pull_u32(pull);
	}
	r->count = mp_ndr_pull_u32(pull);
	r->prop_tags = mp_nspi_pull_proptags_ptr(pull);
}

static void query_rows_req_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_query_rows_req *r = body;
	mp_ndr_push_handle(push, &r->handle);
	mp_ndr_push_u32(push, r->flags);
	mp_nspi_push_stat(push, &r->stat);
	mp_ndr_push_u32(push, r->etable_count);
	mp_ndr_push_ptr(push, r->etable != NULL);
	if (r->etable) {
		mp_ndr_push_u32(push, r->etable_count);
		for (uint32_t i = 0; i < r->etable_count; i++)
			mp_ndr_push_u32(push, r->etable[i]);
	}
	mp_ndr_push_u32(push, r->count);
	mp_nspi_push_proptags_ptr(push, r->prop_tags);
}

static void query_rows_req_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_query_rows_req *r = body;
	print_handle(p, "hRpc", &r->handle);
	mp_pr_flags(p, "dwFlags", r->flags, 8, retrieve_flags);
	mp_nspi_print_stat(p, "pStat", &r->stat);
	mp_pr_uint(p, "dwETableCount", r->etable_count);
	if (r->etable) {
		mp_pr_begin_array(p, "lpETable", r->etable_count);
		for (uint32_t i = 0; i < r->etable_count; i++)
			mp_pr_hex(p, NULL, r->etable[i], 8);
		mp_pr_end_array(p);
	} else {
		mp_pr_str(p, "lpETable", NULL);
	}
	mp_pr_uint(p, "Count", r->count);
	mp_nspi_print_proptags(p, "pPropTags", r->prop_tags);
}

static void query_rows_rsp_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_query_rows_rsp *r = body;
	mp_nspi_pull_stat(pull, &r->stat);
	r->rows = mp_nspi_pull_rowset_ptr(pull);
	r->result = mp_ndr_pull_u32(pull);
}

static void query_rows_rsp_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_query_rows_rsp *r = body;
	mp_nspi_push_stat(push, &r->stat);
	mp_nspi_push_rowset_ptr(push, r->rows);
	mp_ndr_push_u32(push, r->result);
}

static void query_rows_rsp_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_query_rows_rsp *r = body;
	mp_nspi_print_stat(p, "pStat", &r->stat);
	mp_nspi_print_rowset(p, "ppRows", r->rows);
	print_result(p, r->result);
}

/* ------------------------------------------------------------------ */
/* 4 NspiSeekEntries                                                   */
/* ------------------------------------------------------------------ */

static void seek_entries_req_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_seek_entries_req *r = body;
	mp_ndr_pull_handle(pull, &r->handle);
	r->reserved = mp_ndr_pull_u32(pull);
	mp_nspi_pull_stat(pull, &r->stat);
	mp_nspi_pull_propval_all(pull, &r->target);
	r->etable = mp_nspi_pull_proptags_ptr(pull);
	r->prop_tags = mp_nspi_pull_proptags_ptr(pull);
}

static void seek_entries_req_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_seek_entries_req *r = body;
	mp_ndr_push_handle(push, &r->handle);
	mp_ndr_push_u32(push, r->reserved);
	mp_nspi_push_stat(push, &r->stat);
	mp_nspi_push_propval_all(push, &r->target);
	mp_nspi_push_proptags_ptr(push, r->etable);
	mp_nspi_push_proptags_ptr(push, r->prop_tags);
}

static void seek_entries_req_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_seek_entries_req *r = body;
	print_handle(p, "hRpc", &r->handle);
	mp_pr_hex(p, "Reserved", r->reserved, 8);
	mp_nspi_print_stat(p, "pStat", &r->stat);
	mp_nspi_print_propval(p, "pTarget", &r->target);
	mp_nspi_print_mids(p, "lpETable", r->etable);
	mp_nspi_print_proptags(p, "pPropTags", r->prop_tags);
}

static void seek_entries_rsp_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_seek_entries_rsp *r = body;
	mp_nspi_pull_stat(pull, &r->stat);
	r->rows = mp_nspi_pull_rowset_ptr(pull);
	r->result = mp_ndr_pull_u32(pull);
}

static void seek_entries_rsp_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_seek_entries_rsp *r = body;
	mp_nspi_push_stat(push, &r->stat);
	mp_nspi_push_rowset_ptr(push, r->rows);
	mp_ndr_push_u32(push, r->result);
}

static void seek_entries_rsp_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_seek_entries_rsp *r = body;
	mp_nspi_print_stat(p, "pStat", &r->stat);
	mp_nspi_print_rowset(p, "ppRows", r->rows);
	print_result(p, r->result);
}

/* ------------------------------------------------------------------ */
/* 5 NspiGetMatches                                                    */
/* ------------------------------------------------------------------ */

static void get_matches_req_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_get_matches_req *r = body;
	mp_ndr_pull_handle(pull, &r->handle);
	r->reserved1 = mp_ndr_pull_u32(pull);
	mp_nspi_pull_stat(pull, &r->stat);
	r->reserved = mp_nspi_pull_proptags_ptr(pull);
	r->reserved2 = mp_ndr_pull_u32(pull);
	r->filter = mp_nspi_pull_restriction_ptr(pull);
	r->prop_name = mp_nspi_pull_propname_ptr(pull);
	r->requested = mp_ndr_pull_u32(pull);
	r->prop_tags = mp_nspi_pull_proptags_ptr(pull);
}

static void get_matches_req_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_get_matches_req *r = body;
	mp_ndr_push_handle(push, &r->handle);
	mp_ndr_push_u32(push, r->reserved1);
	mp_nspi_push_stat(push, &r->stat);
	mp_nspi_push_proptags_ptr(push, r->reserved);
	mp_ndr_push_u32(push, r->reserved2);
	mp_nspi_push_restriction_ptr(push, r->filter);
	mp_nspi_push_propname_ptr(push, r->prop_name);
	mp_ndr_push_u32(push, r->requested);
	mp_nspi_push_proptags_ptr(push, r->prop_tags);
}

static void get_matches_req_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_get_matches_req *r = body;
	print_handle(p, "hRpc", &r->handle);
	mp_pr_hex(p, "Reserved1", r->reserved1, 8);
	mp_nspi_print_stat(p, "pStat", &r->stat);
	mp_nspi_print_mids(p, "pReserved", r->reserved);
	mp_pr_hex(p, "Reserved2", r->reserved2, 8);
	mp_nspi_print_restriction(p, "Filter", r->filter);
	mp_nspi_print_propname(p, "lpPropName", r->prop_name);
	mp_pr_uint(p, "ulRequested", r->requested);
	mp_nspi_print_proptags(p, "pPropTags", r->prop_tags);
}

static void get_matches_rsp_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_get_matches_rsp *r = body;
	mp_nspi_pull_stat(pull, &r->stat);
	r->mids = mp_nspi_pull_proptags_ptr(pull);
	r->rows = mp_nspi_pull_rowset_ptr(pull);
	r->result = mp_ndr_pull_u32(pull);
}

static void get_matches_rsp_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_get_matches_rsp *r = body;
	mp_nspi_push_stat(push, &r->stat);
	mp_nspi_push_proptags_ptr(push, r->mids);
	mp_nspi_push_rowset_ptr(push, r->rows);
	mp_ndr_push_u32(push, r->result);
}

static void get_matches_rsp_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_get_matches_rsp *r = body;
	mp_nspi_print_stat(p, "pStat", &r->stat);
	mp_nspi_print_mids(p, "ppOutMIds", r->mids);
	mp_nspi_print_rowset(p, "ppRows", r->rows);
	print_result(p, r->result);
}

/* ------------------------------------------------------------------ */
/* 6 NspiResortRestriction                                             */
/* ------------------------------------------------------------------ */

static void resort_restriction_req_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_resort_restriction_req *r = body;
	mp_ndr_pull_handle(pull, &r->handle);
	r->reserved = mp_ndr_pull_u32(pull);
	mp_nspi_pull_stat(pull, &r->stat);
	mp_nspi_pull_proptags(pull, &r->in_mids);
	r->out_mids = mp_nspi_pull_proptags_ptr(pull);
}

static void resort_restriction_req_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_resort_restriction_req *r = body;
	mp_ndr_push_handle(push, &r->handle);
	mp_ndr_push_u32(push, r->reserved);
	mp_nspi_push_stat(push, &r->stat);
	mp_nspi_push_proptags(push, &r->in_mids);
	mp_nspi_push_proptags_ptr(push, r->out_mids);
}

static void resort_restriction_req_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_resort_restriction_req *r = body;
	print_handle(p, "hRpc", &r->handle);
	mp_pr_hex(p, "Reserved", r->reserved, 8);
	mp_nspi_print_stat(p, "pStat", &r->stat);
	mp_nspi_print_mids(p, "pInMIds", &r->in_mids);
	mp_nspi_print_mids(p, "ppOutMIds", r->out_mids);
}

static void resort_restriction_rsp_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_resort_restriction_rsp *r = body;
	mp_nspi_pull_stat(pull, &r->stat);
	r->out_mids = mp_nspi_pull_proptags_ptr(pull);
	r->result = mp_ndr_pull_u32(pull);
}

static void resort_restriction_rsp_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_resort_restriction_rsp *r = body;
	mp_nspi_push_stat(push, &r->stat);
	mp_nspi_push_proptags_ptr(push, r->out_mids);
	mp_ndr_push_u32(push, r->result);
}

static void resort_restriction_rsp_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_resort_restriction_rsp *r = body;
	mp_nspi_print_stat(p, "pStat", &r->stat);
	mp_nspi_print_mids(p, "ppOutMIds", r->out_mids);
	print_result(p, r->result);
}

/* ------------------------------------------------------------------ */
/* Responses made of one PropertyTagArray_r pointer and the result     */
/* (DNToMId, GetPropList, QueryColumns, GetIDsFromNames)               */
/* ------------------------------------------------------------------ */

static void pull_tags_result(struct mp_ndr_pull *pull, struct mp_nspi_proptags **tags,
			     uint32_t *result)
{
	*tags = mp_nspi_pull_proptags_ptr(pull);
	*result = mp_ndr_pull_u32(pull);
}

static void push_tags_result(struct mp_ndr_push *push, const struct mp_nspi_proptags *tags,
			     uint32_t result)
{
	mp_nspi_push_proptags_ptr(push, tags);
	mp_ndr_push_u32(push, result);
}

static void print_tags_result(struct mp_printer *p, const char *name,
			      const struct mp_nspi_proptags *tags, uint32_t result)
{
	mp_nspi_print_proptags(p, name, tags);
	print_result(p, result);
}

static void dn_to_mid_rsp_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_dn_to_mid_rsp *r = body;
	pull_tags_result(pull, &r->mids, &r->result);
}

static void dn_to_mid_rsp_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_dn_to_mid_rsp *r = body;
	push_tags_result(push, r->mids, r->result);
}

static void dn_to_mid_rsp_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_dn_to_mid_rsp *r = body;
	mp_nspi_print_mids(p, "ppMIds", r->mids);
	print_result(p, r->result);
}

static void get_prop_list_rsp_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_get_prop_list_rsp *r = body;
	pull_tags_result(pull, &r->prop_tags, &r->result);
}

static void get_prop_list_rsp_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_get_prop_list_rsp *r = body;
	push_tags_result(push, r->prop_tags, r->result);
}

static void get_prop_list_rsp_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_get_prop_list_rsp *r = body;
	print_tags_result(p, "ppPropTags", r->prop_tags, r->result);
}

static void query_columns_rsp_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_query_columns_rsp *r = body;
	pull_tags_result(pull, &r->columns, &r->result);
}

static void query_columns_rsp_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_query_columns_rsp *r = body;
	push_tags_result(push, r->columns, r->result);
}

static void query_columns_rsp_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_query_columns_rsp *r = body;
	print_tags_result(p, "ppColumns", r->columns, r->result);
}

static void get_ids_from_names_rsp_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_get_ids_from_names_rsp *r = body;
	pull_tags_result(pull, &r->prop_tags, &r->result);
}

static void get_ids_from_names_rsp_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_get_ids_from_names_rsp *r = body;
	push_tags_result(push, r->prop_tags, r->result);
}

static void get_ids_from_names_rsp_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_get_ids_from_names_rsp *r = body;
	print_tags_result(p, "ppPropTags", r->prop_tags, r->result);
}

/* Responses that are only the result (the first member: C11 6.7.2.1p15). */
static void result_rsp_pull(struct mp_ndr_pull *pull, void *body)
{
	uint32_t *result = body;
	*result = mp_ndr_pull_u32(pull);
}

static void result_rsp_push(struct mp_ndr_push *push, const void *body)
{
	const uint32_t *result = body;
	mp_ndr_push_u32(push, *result);
}

static void result_rsp_print(struct mp_printer *p, const void *body)
{
	const uint32_t *result = body;
	print_result(p, *result);
}

/* ------------------------------------------------------------------ */
/* 7 NspiDNToMId                                                       */
/* ------------------------------------------------------------------ */

static void dn_to_mid_req_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_dn_to_mid_req *r = body;
	mp_ndr_pull_handle(pull, &r->handle);
	r->reserved = mp_ndr_pull_u32(pull);
	mp_nspi_pull_strings(pull, &r->names, false);
}

static void dn_to_mid_req_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_dn_to_mid_req *r = body;
	mp_ndr_push_handle(push, &r->handle);
	mp_ndr_push_u32(push, r->reserved);
	mp_nspi_push_strings(push, &r->names, false);
}

static void dn_to_mid_req_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_dn_to_mid_req *r = body;
	print_handle(p, "hRpc", &r->handle);
	mp_pr_hex(p, "Reserved", r->reserved, 8);
	mp_nspi_print_strings(p, "pNames", &r->names);
}

/* ------------------------------------------------------------------ */
/* 8 NspiGetPropList                                                   */
/* ------------------------------------------------------------------ */

static void get_prop_list_req_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_get_prop_list_req *r = body;
	mp_ndr_pull_handle(pull, &r->handle);
	r->flags = mp_ndr_pull_u32(pull);
	r->mid = mp_ndr_pull_u32(pull);
	r->code_page = mp_ndr_pull_u32(pull);
}

static void get_prop_list_req_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_get_prop_list_req *r = body;
	mp_ndr_push_handle(push, &r->handle);
	mp_ndr_push_u32(push, r->flags);
	mp_ndr_push_u32(push, r->mid);
	mp_ndr_push_u32(push, r->code_page);
}

static void get_prop_list_req_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_get_prop_list_req *r = body;
	print_handle(p, "hRpc", &r->handle);
	mp_pr_flags(p, "dwFlags", r->flags, 8, retrieve_flags);
	mp_pr_hex(p, "dwMId", r->mid, 8);
	mp_pr_uint(p, "CodePage", r->code_page);
}

/* ------------------------------------------------------------------ */
/* 9 NspiGetProps                                                      */
/* ------------------------------------------------------------------ */

static void get_props_req_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_get_props_req *r = body;
	mp_ndr_pull_handle(pull, &r->handle);
	r->flags = mp_ndr_pull_u32(pull);
	mp_nspi_pull_stat(pull, &r->stat);
	r->prop_tags = mp_nspi_pull_proptags_ptr(pull);
}

static void get_props_req_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_get_props_req *r = body;
	mp_ndr_push_handle(push, &r->handle);
	mp_ndr_push_u32(push, r->flags);
	mp_nspi_push_stat(push, &r->stat);
	mp_nspi_push_proptags_ptr(push, r->prop_tags);
}

static void get_props_req_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_get_props_req *r = body;
	print_handle(p, "hRpc", &r->handle);
	mp_pr_flags(p, "dwFlags", r->flags, 8, retrieve_flags);
	mp_nspi_print_stat(p, "pStat", &r->stat);
	mp_nspi_print_proptags(p, "pPropTags", r->prop_tags);
}

static void get_props_rsp_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_get_props_rsp *r = body;
	r->row = mp_nspi_pull_row_ptr(pull);
	r->result = mp_ndr_pull_u32(pull);
}

static void get_props_rsp_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_get_props_rsp *r = body;
	mp_nspi_push_row_ptr(push, r->row);
	mp_ndr_push_u32(push, r->result);
}

static void get_props_rsp_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_get_props_rsp *r = body;
	mp_nspi_print_row(p, "ppRows", r->row);
	print_result(p, r->result);
}

/* ------------------------------------------------------------------ */
/* 10 NspiCompareMIds                                                  */
/* ------------------------------------------------------------------ */

static void compare_mids_req_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_compare_mids_req *r = body;
	mp_ndr_pull_handle(pull, &r->handle);
	r->reserved = mp_ndr_pull_u32(pull);
	mp_nspi_pull_stat(pull, &r->stat);
	r->mid1 = mp_ndr_pull_u32(pull);
	r->mid2 = mp_ndr_pull_u32(pull);
}

static void compare_mids_req_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_compare_mids_req *r = body;
	mp_ndr_push_handle(push, &r->handle);
	mp_ndr_push_u32(push, r->reserved);
	mp_nspi_push_stat(push, &r->stat);
	mp_ndr_push_u32(push, r->mid1);
	mp_ndr_push_u32(push, r->mid2);
}

static void compare_mids_req_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_compare_mids_req *r = body;
	print_handle(p, "hRpc", &r->handle);
	mp_pr_hex(p, "Reserved", r->reserved, 8);
	mp_nspi_print_stat(p, "pStat", &r->stat);
	mp_pr_hex(p, "MId1", r->mid1, 8);
	mp_pr_hex(p, "MId2", r->mid2, 8);
}

static void compare_mids_rsp_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_compare_mids_rsp *r = body;
	r->cmp = (int32_t)mp_ndr_pull_u32(pull);
	r->result = mp_ndr_pull_u32(pull);
}

static void compare_mids_rsp_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_compare_mids_rsp *r = body;
	mp_ndr_push_u32(push, (uint32_t)r->cmp);
	mp_ndr_push_u32(push, r->result);
}

static void compare_mids_rsp_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_compare_mids_rsp *r = body;
	mp_pr_int(p, "plResult", r->cmp);
	print_result(p, r->result);
}

/* ------------------------------------------------------------------ */
/* 11 NspiModProps                                                     */
/* ------------------------------------------------------------------ */

static void mod_props_req_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_mod_props_req *r = body;
	mp_ndr_pull_handle(pull, &r->handle);
	r->reserved = mp_ndr_pull_u32(pull);
	mp_nspi_pull_stat(pull, &r->stat);
	r->prop_tags = mp_nspi_pull_proptags_ptr(pull);
	mp_nspi_pull_row_all(pull, &r->row);
}

static void mod_props_req_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_mod_props_req *r = body;
	mp_ndr_push_handle(push, &r->handle);
	mp_ndr_push_u32(push, r->reserved);
	mp_nspi_push_stat(push, &r->stat);
	mp_nspi_push_proptags_ptr(push, r->prop_tags);
	mp_nspi_push_row_all(push, &r->row);
}

static void mod_props_req_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_mod_props_req *r = body;
	print_handle(p, "hRpc", &r->handle);
	mp_pr_hex(p, "Reserved", r->reserved, 8);
	mp_nspi_print_stat(p, "pStat", &r->stat);
	mp_nspi_print_proptags(p, "pPropTags", r->prop_tags);
	mp_nspi_print_row(p, "pRow", &r->row);
}

/* ------------------------------------------------------------------ */
/* 12 NspiGetSpecialTable                                              */
/* ------------------------------------------------------------------ */

static void get_special_table_req_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_get_special_table_req *r = body;
	mp_ndr_pull_handle(pull, &r->handle);
	r->flags = mp_ndr_pull_u32(pull);
	mp_nspi_pull_stat(pull, &r->stat);
	r->version = mp_ndr_pull_u32(pull);
}

static void get_special_table_req_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_get_special_table_req *r = body;
	mp_ndr_push_handle(push, &r->handle);
	mp_ndr_push_u32(push, r->flags);
	mp_nspi_push_stat(push, &r->stat);
	mp_ndr_push_u32(push, r->version);
}

static void get_special_table_req_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_get_special_table_req *r = body;
	static const struct mp_flag_name flags[] = {
		{ 0x2, "NspiAddressCreationTemplates" },
		{ 0x4, "NspiUnicodeStrings" },
		{ 0, NULL },
	};
	print_handle(p, "hRpc", &r->handle);
	mp_pr_flags(p, "dwFlags", r->flags, 8, flags);
	mp_nspi_print_stat(p, "pStat", &r->stat);
	mp_pr_uint(p, "lpVersion", r->version);
}

static void get_special_table_rsp_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_get_special_table_rsp *r = body;
	r->version = mp_ndr_pull_u32(pull);
	r->rows = mp_nspi_pull_rowset_ptr(pull);
	r->result = mp_ndr_pull_u32(pull);
}

static void get_special_table_rsp_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_get_special_table_rsp *r = body;
	mp_ndr_push_u32(push, r->version);
	mp_nspi_push_rowset_ptr(push, r->rows);
	mp_ndr_push_u32(push, r->result);
}

static void get_special_table_rsp_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_get_special_table_rsp *r = body;
	mp_pr_uint(p, "lpVersion", r->version);
	mp_nspi_print_rowset(p, "ppRows", r->rows);
	print_result(p, r->result);
}

/* ------------------------------------------------------------------ */
/* 13 NspiGetTemplateInfo                                              */
/* ------------------------------------------------------------------ */

static void get_template_info_req_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_get_template_info_req *r = body;
	mp_ndr_pull_handle(pull, &r->handle);
	r->flags = mp_ndr_pull_u32(pull);
	r->type = mp_ndr_pull_u32(pull);
	r->dn = mp_nspi_pull_string8_ptr(pull);
	r->code_page = mp_ndr_pull_u32(pull);
	r->locale_id = mp_ndr_pull_u32(pull);
}

static void get_template_info_req_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_get_template_info_req *r = body;
	mp_ndr_push_handle(push, &r->handle);
	mp_ndr_push_u32(push, r->flags);
	mp_ndr_push_u32(push, r->type);
	mp_nspi_push_string8_ptr(push, r->dn);
	mp_ndr_push_u32(push, r->code_page);
	mp_ndr_push_u32(push, r->locale_id);
}

static void get_template_info_req_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_get_template_info_req *r = body;
	static const struct mp_flag_name flags[] = {
		{ 0x01, "TI_TEMPLATE" },
		{ 0x04, "TI_SCRIPT" },
		{ 0x10, "TI_EMT" },
		{ 0x20, "TI_HELPFILE_NAME" },
		{ 0x40, "TI_HELPFILE_CONTENTS" },
		{ 0, NULL },
	};
	print_handle(p, "hRpc", &r->handle);
	mp_pr_flags(p, "dwFlags", r->flags, 8, flags);
	mp_pr_hex(p, "ulType", r->type, 8);
	mp_pr_str(p, "pDN", r->dn);
	mp_pr_uint(p, "dwCodePage", r->code_page);
	mp_pr_hex(p, "dwLocaleID", r->locale_id, 8);
}

static void get_template_info_rsp_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_get_template_info_rsp *r = body;
	r->data = mp_nspi_pull_row_ptr(pull);
	r->result = mp_ndr_pull_u32(pull);
}

static void get_template_info_rsp_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_get_template_info_rsp *r = body;
	mp_nspi_push_row_ptr(push, r->data);
	mp_ndr_push_u32(push, r->result);
}

static void get_template_info_rsp_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_get_template_info_rsp *r = body;
	mp_nspi_print_row(p, "ppData", r->data);
	print_result(p, r->result);
}

/* ------------------------------------------------------------------ */
/* 14 NspiModLinkAtt, 15 NspiDeleteEntries                             */
/* ------------------------------------------------------------------ */

static void mod_link_att_req_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_mod_link_att_req *r = body;
	mp_ndr_pull_handle(pull, &r->handle);
	r->flags = mp_ndr_pull_u32(pull);
	r->proptag = mp_ndr_pull_u32(pull);
	r->mid = mp_ndr_pull_u32(pull);
	mp_nspi_pull_binary_array_all(pull, &r->entry_ids);
}

static void mod_link_att_req_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_mod_link_att_req *r = body;
	mp_ndr_push_handle(push, &r->handle);
	mp_ndr_push_u32(push, r->flags);
	mp_ndr_push_u32(push, r->proptag);
	mp_ndr_push_u32(push, r->mid);
	mp_nspi_push_binary_array_all(push, &r->entry_ids);
}

static void mod_link_att_req_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_mod_link_att_req *r = body;
	static const struct mp_flag_name flags[] = { { 0x1, "fDelete" }, { 0, NULL } };
	print_handle(p, "hRpc", &r->handle);
	mp_pr_flags(p, "dwFlags", r->flags, 8, flags);
	mp_nspi_print_proptag(p, "ulPropTag", r->proptag);
	mp_pr_hex(p, "dwMId", r->mid, 8);
	mp_nspi_print_binary_array(p, "lpEntryIds", &r->entry_ids);
}

static void delete_entries_req_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_delete_entries_req *r = body;
	mp_ndr_pull_handle(pull, &r->handle);
	r->reserved2 = mp_ndr_pull_u32(pull);
	r->reserved3 = mp_ndr_pull_u32(pull);
	mp_nspi_pull_binary_array_all(pull, &r->entry_ids);
}

static void delete_entries_req_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_delete_entries_req *r = body;
	mp_ndr_push_handle(push, &r->handle);
	mp_ndr_push_u32(push, r->reserved2);
	mp_ndr_push_u32(push, r->reserved3);
	mp_nspi_push_binary_array_all(push, &r->entry_ids);
}

static void delete_entries_req_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_delete_entries_req *r = body;
	print_handle(p, "Reserved1", &r->handle);
	mp_pr_hex(p, "Reserved2", r->reserved2, 8);
	mp_pr_hex(p, "Reserved3", r->reserved3, 8);
	mp_nspi_print_binary_array(p, "Reserved4", &r->entry_ids);
}

/* ------------------------------------------------------------------ */
/* 16 NspiQueryColumns                                                 */
/* ------------------------------------------------------------------ */

static void query_columns_req_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_query_columns_req *r = body;
	mp_ndr_pull_handle(pull, &r->handle);
	r->reserved = mp_ndr_pull_u32(pull);
	r->flags = mp_ndr_pull_u32(pull);
}

static void query_columns_req_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_query_columns_req *r = body;
	mp_ndr_push_handle(push, &r->handle);
	mp_ndr_push_u32(push, r->reserved);
	mp_ndr_push_u32(push, r->flags);
}

static void query_columns_req_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_query_columns_req *r = body;
	static const struct mp_flag_name flags[] = {
		{ 0x80000000, "NspiUnicodeProptypes" },
		{ 0, NULL },
	};
	print_handle(p, "hRpc", &r->handle);
	mp_pr_hex(p, "Reserved", r->reserved, 8);
	mp_pr_flags(p, "dwFlags", r->flags, 8, flags);
}

/* ------------------------------------------------------------------ */
/* 17 NspiGetNamesFromIDs                                              */
/* ------------------------------------------------------------------ */

static void get_names_from_ids_req_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_get_names_from_ids_req *r = body;
	mp_ndr_pull_handle(pull, &r->handle);
	r->reserved = mp_ndr_pull_u32(pull);
	r->guid = mp_nspi_pull_flatuid_ptr(pull);
	r->prop_tags = mp_nspi_pull_proptags_ptr(pull);
}

static void get_names_from_ids_req_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_get_names_from_ids_req *r = body;
	mp_ndr_push_handle(push, &r->handle);
	mp_ndr_push_u32(push, r->reserved);
	mp_nspi_push_flatuid_ptr(push, r->guid);
	mp_nspi_push_proptags_ptr(push, r->prop_tags);
}

static void get_names_from_ids_req_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_get_names_from_ids_req *r = body;
	print_handle(p, "hRpc", &r->handle);
	mp_pr_hex(p, "Reserved", r->reserved, 8);
	mp_nspi_print_flatuid(p, "lpguid", r->guid);
	mp_nspi_print_proptags(p, "pPropTags", r->prop_tags);
}

static void get_names_from_ids_rsp_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_get_names_from_ids_rsp *r = body;
	r->prop_tags = mp_nspi_pull_proptags_ptr(pull);
	r->names = mp_nspi_pull_propname_set_ptr(pull);
	r->result = mp_ndr_pull_u32(pull);
}

static void get_names_from_ids_rsp_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_get_names_from_ids_rsp *r = body;
	mp_nspi_push_proptags_ptr(push, r->prop_tags);
	mp_nspi_push_propname_set_ptr(push, r->names);
	mp_ndr_push_u32(push, r->result);
}

static void get_names_from_ids_rsp_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_get_names_from_ids_rsp *r = body;
	mp_nspi_print_proptags(p, "ppReturnedPropTags", r->prop_tags);
	mp_nspi_print_propname_set(p, "ppNames", r->names);
	print_result(p, r->result);
}

/* ------------------------------------------------------------------ */
/* 18 NspiGetIDsFromNames                                              */
/* ------------------------------------------------------------------ */

static void get_ids_from_names_req_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_get_ids_from_names_req *r = body;
	mp_ndr_pull_handle(pull, &r->handle);
	r->reserved = mp_ndr_pull_u32(pull);
	r->flags = mp_ndr_pull_u32(pull);
	r->count = mp_ndr_pull_u32(pull);
	if (mp_ndr_pull_ok(pull) && r->count > MP_NSPI_MAX_VALUES)
		mp_ndr_pull_fail(pull, "count outside the range the IDL allows");
	r->names = mp_nspi_pull_propname_ptrs(pull, r->count);
}

static void get_ids_from_names_req_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_get_ids_from_names_req *r = body;
	mp_ndr_push_handle(push, &r->handle);
	mp_ndr_push_u32(push, r->reserved);
	mp_ndr_push_u32(push, r->flags);
	mp_ndr_push_u32(push, r->count);
	mp_nspi_push_propname_ptrs(push, r->count, r->names);
}

static void get_ids_from_names_req_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_get_ids_from_names_req *r = body;
	static const struct mp_flag_name flags[] = { { 0x2, "NspiVerifyNames" }, { 0, NULL } };
	print_handle(p, "hRpc", &r->handle);
	mp_pr_hex(p, "Reserved", r->reserved, 8);
	mp_pr_flags(p, "dwFlags", r->flags, 8, flags);
	mp_pr_begin_array(p, "pNames", r->count);
	for (uint32_t i = 0; r->names && i < r->count; i++)
		mp_nspi_print_propname(p, NULL, r->names[i]);
	mp_pr_end_array(p);
}

/* ------------------------------------------------------------------ */
/* 19 NspiResolveNames, 20 NspiResolveNamesW                           */
/* ------------------------------------------------------------------ */

static void resolve_req_pull(struct mp_ndr_pull *pull, struct mp_nspi_resolve_names_req *r,
			     bool wide)
{
	mp_ndr_pull_handle(pull, &r->handle);
	r->reserved = mp_ndr_pull_u32(pull);
	mp_nspi_pull_stat(pull, &r->stat);
	r->prop_tags = mp_nspi_pull_proptags_ptr(pull);
	mp_nspi_pull_strings(pull, &r->names, wide);
}

static void resolve_req_push(struct mp_ndr_push *push, const struct mp_nspi_resolve_names_req *r,
			     bool wide)
{
	mp_ndr_push_handle(push, &r->handle);
	mp_ndr_push_u32(push, r->reserved);
	mp_nspi_push_stat(push, &r->stat);
	mp_nspi_push_proptags_ptr(push, r->prop_tags);
	mp_nspi_push_strings(push, &r->names, wide);
}

static void resolve_req_print(struct mp_printer *p, const struct mp_nspi_resolve_names_req *r,
			      bool wide)
{
	print_handle(p, "hRpc", &r->handle);
	mp_pr_hex(p, "Reserved", r->reserved, 8);
	mp_nspi_print_stat(p, "pStat", &r->stat);
	mp_nspi_print_proptags(p, "pPropTags", r->prop_tags);
	mp_nspi_print_strings(p, wide ? "paWStr" : "paStr", &r->names);
}

static void resolve_names_req_pull(struct mp_ndr_pull *pull, void *body)
{
	resolve_req_pull(pull, body, false);
}

static void resolve_names_req_push(struct mp_ndr_push *push, const void *body)
{
	resolve_req_push(push, body, false);
}

static void resolve_names_req_print(struct mp_printer *p, const void *body)
{
	resolve_req_print(p, body, false);
}

static void resolve_names_w_req_pull(struct mp_ndr_pull *pull, void *body)
{
	resolve_req_pull(pull, body, true);
}

static void resolve_names_w_req_push(struct mp_ndr_push *push, const void *body)
{
	resolve_req_push(push, body, true);
}

static void resolve_names_w_req_print(struct mp_printer *p, const void *body)
{
	resolve_req_print(p, body, true);
}

static void resolve_names_rsp_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_nspi_resolve_names_rsp *r = body;
	r->mids = mp_nspi_pull_proptags_ptr(pull);
	r->rows = mp_nspi_pull_rowset_ptr(pull);
	r->result = mp_ndr_pull_u32(pull);
}

static void resolve_names_rsp_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_nspi_resolve_names_rsp *r = body;
	mp_nspi_push_proptags_ptr(push, r->mids);
	mp_nspi_push_rowset_ptr(push, r->rows);
	mp_ndr_push_u32(push, r->result);
}

static void resolve_names_rsp_print(struct mp_printer *p, const void *body)
{
	const struct mp_nspi_resolve_names_rsp *r = body;
	mp_nspi_print_mids(p, "ppMIds", r->mids);
	mp_nspi_print_rowset(p, "ppRows", r->rows);
	print_result(p, r->result);
}

/* ------------------------------------------------------------------ */
/* Table                                                               */
/* ------------------------------------------------------------------ */

#define CODEC(nm, stem, rsp)                                                            \
	{                                                                               \
		.name = nm,                                                             \
		.size = { sizeof(struct mp_nspi_##stem##_req),                          \
			  sizeof(struct mp_nspi_##stem##_rsp) },                        \
		.pull = { stem##_req_pull, rsp##_rsp_pull },                            \
		.push = { stem##_req_push, rsp##_rsp_push },                            \
		.print = { stem##_req_print, rsp##_rsp_print },                         \
	}

static const struct mp_call_codec nspi_codecs[MP_NSPI_OPNUM_COUNT] = {
	[MP_NSPI_BIND] = CODEC("NspiBind", bind, bind),
	[MP_NSPI_UNBIND] = CODEC("NspiUnbind", unbind, unbind),
	[MP_NSPI_UPDATE_STAT] = CODEC("NspiUpdateStat", update_stat, update_stat),
	[MP_NSPI_QUERY_ROWS] = CODEC("NspiQueryRows", query_rows, query_rows),
	[MP_NSPI_SEEK_ENTRIES] = CODEC("NspiSeekEntries", seek_entries, seek_entries),
	[MP_NSPI_GET_MATCHES] = CODEC("NspiGetMatches", get_matches, get_matches),
	[MP_NSPI_RESORT_RESTRICTION] = CODEC("NspiResortRestriction", resort_restriction,
					     resort_restriction),
	[MP_NSPI_DN_TO_MID] = CODEC("NspiDNToMId", dn_to_mid, dn_to_mid),
	[MP_NSPI_GET_PROP_LIST] = CODEC("NspiGetPropList", get_prop_list, get_prop_list),
	[MP_NSPI_GET_PROPS] = CODEC("NspiGetProps", get_props, get_props),
	[MP_NSPI_COMPARE_MIDS] = CODEC("NspiCompareMIds", compare_mids, compare_mids),
	[MP_NSPI_MOD_PROPS] = CODEC("NspiModProps", mod_props, result),
	[MP_NSPI_GET_SPECIAL_TABLE] = CODEC("NspiGetSpecialTable", get_special_table,
					    get_special_table),
	[MP_NSPI_GET_TEMPLATE_INFO] = CODEC("NspiGetTemplateInfo", get_template_info,
					    get_template_info),
	[MP_NSPI_MOD_LINK_ATT] = CODEC("NspiModLinkAtt", mod_link_att, result),
	[MP_NSPI_DELETE_ENTRIES] = CODEC("NspiDeleteEntries", delete_entries, result),
	[MP_NSPI_QUERY_COLUMNS] = CODEC("NspiQueryColumns", query_columns, query_columns),
	[MP_NSPI_GET_NAMES_FROM_IDS] = CODEC("NspiGetNamesFromIDs", get_names_from_ids,
					     get_names_from_ids),
	[MP_NSPI_GET_IDS_FROM_NAMES] = CODEC("NspiGetIDsFromNames", get_ids_from_names,
					     get_ids_from_names),
	[MP_NSPI_RESOLVE_NAMES] = CODEC("NspiResolveNames", resolve_names, resolve_names),
	/* Same C structures as NspiResolveNames; wide strings on the wire. */
	[MP_NSPI_RESOLVE_NAMES_W] = {
		.name = "NspiResolveNamesW",
		.size = { sizeof(struct mp_nspi_resolve_names_req),
			  sizeof(struct mp_nspi_resolve_names_rsp) },
		.pull = { resolve_names_w_req_pull, resolve_names_rsp_pull },
		.push = { resolve_names_w_req_push, resolve_names_rsp_push },
		.print = { resolve_names_w_req_print, resolve_names_rsp_print },
	},
};

const struct mp_call_codec *mp_nspi_codec(uint16_t opnum)
{
	return opnum < MP_NSPI_OPNUM_COUNT ? &nspi_codecs[opnum] : NULL;
}

bool mp_nspi_push(uint16_t opnum, enum mp_call_dir dir, const void *body, struct mp_wbuf *out)
{
	return mp_call_codec_push(mp_nspi_codec(opnum), dir, body, NULL, out);
}
