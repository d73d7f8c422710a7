/*
 * NSPI client calls (see nspi_client.h).
 */
#include "client/nspi_client.h"

#include "mapi/names.h"
#include "util/status.h"

#include <stdio.h>
#include <string.h>
#include <talloc.h>

void mp_nspi_client_stat_init(struct mp_nspi_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->code_page = MP_NSPI_CLIENT_CODEPAGE;
	st->template_locale = MP_NSPI_CLIENT_LCID;
	st->sort_locale = MP_NSPI_CLIENT_LCID;
}

int mp_nspi_client_call(struct mp_nspi_client *cl, void *mem, uint16_t opnum, const void *req,
                        void **rsp)
{
	return mp_rpc_conn_mapi_call(cl->conn, MP_MAPI_NSPI, mem, opnum, req, rsp, &cl->result,
	                             &cl->fault, cl->err, sizeof(cl->err));
}

int mp_nspi_client_bind(struct mp_nspi_client *cl, struct mp_rpc_conn *conn, uint32_t flags)
{
	memset(cl, 0, sizeof(*cl));
	cl->conn = conn;
	void *mem = talloc_new(NULL);
	struct mp_nspi_bind_req req = {.flags = flags, .server_guid = &cl->server_guid};
	mp_nspi_client_stat_init(&req.stat);
	struct mp_nspi_bind_rsp *rsp;
	int rc = mp_nspi_client_call(cl, mem, MP_NSPI_BIND, &req, (void **)&rsp);
	if (rc == MP_OK) {
		cl->handle = rsp->handle;
		if (rsp->server_guid)
			cl->server_guid = *rsp->server_guid;
	}
	talloc_free(mem);
	return rc;
}

int mp_nspi_client_unbind(struct mp_nspi_client *cl)
{
	void *mem = talloc_new(NULL);
	struct mp_nspi_unbind_req req = {.handle = cl->handle};
	void *rsp;
	int rc = mp_nspi_client_call(cl, mem, MP_NSPI_UNBIND, &req, &rsp);
	/* NspiUnbind returns 1 (Success: "unbind succeeded") per MS-OXNSPI 3.1.4.1.2. */
	if (rc == MP_CLIENT_ERESULT && cl->result == 1)
		rc = MP_OK;
	memset(&cl->handle, 0, sizeof(cl->handle));
	talloc_free(mem);
	return rc;
}

static struct mp_nspi_proptags *tags_new(void *mem, const uint32_t *tags, uint32_t n)
{
	if (!tags)
		return NULL;
	struct mp_nspi_proptags *t = talloc_zero(mem, struct mp_nspi_proptags);
	if (!t)
		return NULL;
	t->count = n;
	t->tags = talloc_memdup(t, tags, n * sizeof(*tags));
	return t;
}

int mp_nspi_client_resolve_names(struct mp_nspi_client *cl, void *mem, const char *const *names,
                                 uint32_t n, const uint32_t *tags, uint32_t n_tags,
                                 struct mp_nspi_proptags **mids, struct mp_nspi_rowset **rows)
{
	struct mp_nspi_resolve_names_req req = {.handle = cl->handle};
	mp_nspi_client_stat_init(&req.stat);
	req.prop_tags = tags_new(mem, tags, n_tags);
	req.names.count = n;
	req.names.strs = (char **)names;
	struct mp_nspi_resolve_names_rsp *rsp;
	int rc = mp_nspi_client_call(cl, mem, MP_NSPI_RESOLVE_NAMES_W, &req, (void **)&rsp);
	if (rc == MP_OK) {
		*mids = rsp->mids;
		*rows = rsp->rows;
	}
	return rc;
}

int mp_nspi_client_get_props(struct mp_nspi_client *cl, void *mem, uint32_t mid,
                             const uint32_t *tags, uint32_t n_tags, struct mp_nspi_row **row)
{
	struct mp_nspi_get_props_req req = {.handle = cl->handle};
	mp_nspi_client_stat_init(&req.stat);
	req.stat.cur_rec = mid;
	req.prop_tags = tags_new(mem, tags, n_tags);
	struct mp_nspi_get_props_rsp *rsp;
	int rc = mp_nspi_client_call(cl, mem, MP_NSPI_GET_PROPS, &req, (void **)&rsp);
	/* ErrorsReturned (0x00040380): some properties are missing; still a row. */
	if (rc == MP_CLIENT_ERESULT && cl->result == 0x00040380)
		rc = MP_OK;
	if (rc == MP_OK)
		*row = rsp->row;
	return rc;
}

int mp_nspi_client_query_rows(struct mp_nspi_client *cl, void *mem, struct mp_nspi_stat *stat,
                              uint32_t count, const uint32_t *tags, uint32_t n_tags,
                              struct mp_nspi_rowset **rows)
{
	struct mp_nspi_query_rows_req req = {.handle = cl->handle, .stat = *stat, .count = count};
	req.prop_tags = tags_new(mem, tags, n_tags);
	struct mp_nspi_query_rows_rsp *rsp;
	int rc = mp_nspi_client_call(cl, mem, MP_NSPI_QUERY_ROWS, &req, (void **)&rsp);
	if (rc == MP_OK) {
		*stat = rsp->stat;
		*rows = rsp->rows;
	}
	return rc;
}

int mp_nspi_client_get_matches(struct mp_nspi_client *cl, void *mem, struct mp_nspi_stat *stat,
                               struct mp_nspi_restriction *filter, uint32_t requested,
                               const uint32_t *tags, uint32_t n_tags,
                               struct mp_nspi_proptags **mids, struct mp_nspi_rowset **rows)
{
	struct mp_nspi_get_matches_req req = {
	    .handle = cl->handle, .stat = *stat, .filter = filter, .requested = requested};
	req.prop_tags = tags_new(mem, tags, n_tags);
	struct mp_nspi_get_matches_rsp *rsp;
	int rc = mp_nspi_client_call(cl, mem, MP_NSPI_GET_MATCHES, &req, (void **)&rsp);
	if (rc == MP_OK) {
		*stat = rsp->stat;
		*mids = rsp->mids;
		*rows = rsp->rows;
	}
	return rc;
}

int mp_nspi_client_dn_to_mid(struct mp_nspi_client *cl, void *mem, const char *const *dns,
                             uint32_t n, struct mp_nspi_proptags **mids)
{
	struct mp_nspi_dn_to_mid_req req = {.handle = cl->handle};
	req.names.count = n;
	req.names.strs = (char **)dns;
	struct mp_nspi_dn_to_mid_rsp *rsp;
	int rc = mp_nspi_client_call(cl, mem, MP_NSPI_DN_TO_MID, &req, (void **)&rsp);
	if (rc == MP_OK)
		*mids = rsp->mids;
	return rc;
}

const char *mp_nspi_client_row_str(const struct mp_nspi_row *row, uint32_t tag)
{
	if (!row)
		return NULL;
	uint32_t id = tag & 0xFFFF0000u;
	const struct mp_nspi_propval *v = mp_nspi_row_find(row, id | MP_PTYP_STRING);
	if (v)
		return v->value.lpszW;
	v = mp_nspi_row_find(row, id | MP_PTYP_STRING8);
	return v ? v->value.lpszA : NULL;
}
