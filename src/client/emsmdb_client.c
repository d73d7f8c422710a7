/*
 * EMSMDB client calls (see emsmdb_client.h).
 */
#include "client/emsmdb_client.h"

#include "mapi/names.h"
#include "mapi/rpc_ext.h"
#include "util/status.h"

#include <stdio.h>
#include <string.h>
#include <talloc.h>

/* 12.0.6423.1000 in the normalised form of MS-OXCRPC 3.1.4.1.3.1. */
const uint16_t mp_emsmdb_client_version[3] = {0x000c, 0x9917, 0x03e8};

/* Push, call, decode; *rsp is the typed response body under mem. */
static int em_call(struct mp_emsmdb_client *cl, void *mem, uint16_t opnum, const void *req,
                   void **rsp)
{
	return mp_rpc_conn_mapi_call(cl->conn, MP_MAPI_EMSMDB, mem, opnum, req, rsp, &cl->result,
	                             &cl->fault, cl->err, sizeof(cl->err));
}

int mp_emsmdb_client_connect(struct mp_emsmdb_client *cl, struct mp_rpc_conn *conn,
                             const char *user_dn)
{
	memset(cl, 0, sizeof(*cl));
	cl->conn = conn;
	void *mem = talloc_new(NULL);
	struct mp_emsmdb_connect_ex_req req = {
	    .szUserDN = (char *)user_dn,
	    .ulFlags = 0,
	    .ulConMod = 0x2dfa1a3c, /* a per-client value; any number */
	    .cbLimit = 0,
	    .ulCpid = MP_NSPI_CLIENT_CODEPAGE,
	    .ulLcidString = MP_NSPI_CLIENT_LCID,
	    .ulLcidSort = MP_NSPI_CLIENT_LCID,
	    .ulIcxrLink = 0xffffffffu,
	    .usFCanConvertCodePages = 1,
	    .pulTimeStamp = 0,
	    .pcbAuxOut = MP_EMSMDB_SMALL_RANGE,
	};
	memcpy(req.rgwClientVersion, mp_emsmdb_client_version, sizeof(req.rgwClientVersion));
	struct mp_emsmdb_connect_ex_resp *rsp;
	int rc = em_call(cl, mem, MP_EMSMDB_DO_CONNECT_EX, &req, (void **)&rsp);
	if (rc == MP_RPC_FAULT && cl->fault == MP_NCA_S_OP_RNG_ERROR) {
		/* An Exchange 2003-era server: no EcDoConnectEx. */
		cl->legacy = true;
		rc = em_call(cl, mem, MP_EMSMDB_DO_CONNECT, &req, (void **)&rsp);
	}
	if (rc == MP_OK) {
		cl->cxh = rsp->pcxh;
		memcpy(cl->server_version, rsp->rgwServerVersion, sizeof(cl->server_version));
		cl->max_polls_ms = rsp->pcmsPollsMax;
		snprintf(cl->dn_prefix, sizeof(cl->dn_prefix), "%s",
		         rsp->szDNPrefix ? rsp->szDNPrefix : "");
		snprintf(cl->server_name, sizeof(cl->server_name), "%s",
		         rsp->szDisplayName ? rsp->szDisplayName : "");
	}
	talloc_free(mem);
	return rc;
}

int mp_emsmdb_client_wrap(const uint8_t *rops, size_t len, uint16_t flags, struct mp_wbuf *out)
{
	if (len > MP_RPC_EXT_MAX_PAYLOAD)
		return MP_ERR_LIMIT;
	void *mem = talloc_new(NULL);
	struct mp_rpc_ext *ext = mp_rpc_ext_new(mem);
	int rc = MP_ERR_NOMEM;
	if (ext && mp_rpc_ext_add(ext, flags | MP_RHE_LAST, rops, len))
		rc = mp_rpc_ext_build(ext, out);
	talloc_free(mem);
	return rc;
}

int mp_emsmdb_client_unwrap(void *mem, const uint8_t *buf, size_t len, uint8_t **out,
                            size_t *out_len, const char **why)
{
	struct mp_rpc_ext *ext = NULL;
	struct mp_rpc_ext_limits lim;
	mp_rpc_ext_limits_init(&lim, MP_RPC_EXT_RGBOUT);
	int rc = mp_rpc_ext_parse(mem, buf, len, &lim, &ext, why);
	if (rc != MP_OK)
		return rc;
	if (ext->count < 1) {
		if (why)
			*why = "no segment";
		return MP_ERR_PARSE;
	}
	/* Each segment is a whole ROP response buffer; without the chain flag
	 * the server sends one. */
	*out = talloc_memdup(mem, ext->segs[0].payload,
	                     ext->segs[0].size_actual ? ext->segs[0].size_actual : 1);
	*out_len = ext->segs[0].size_actual;
	return *out ? MP_OK : MP_ERR_NOMEM;
}

int mp_emsmdb_client_rpc(struct mp_emsmdb_client *cl, void *mem, const uint8_t *in, size_t len,
                         uint8_t **out, size_t *out_len)
{
	int rc;
	if (cl->legacy) {
		/* EcDoRpc: the ROP buffer XORed with 0xA5, no RPC_HEADER_EXT. */
		if (len > 0x8000) {
			snprintf(cl->err, sizeof(cl->err), "ROP request too large for EcDoRpc");
			return MP_ERR_LIMIT;
		}
		uint8_t *x = talloc_memdup(mem, in, len ? len : 1);
		if (!x)
			return MP_ERR_NOMEM;
		mp_rpc_ext_xor(x, len);
		struct mp_emsmdb_rpc_req req = {.pcxh = cl->cxh, .usSize = 0x8000};
		mp_emsmdb_buf_set(&req.rgb, x, (uint32_t)len);
		struct mp_emsmdb_rpc_resp *rsp;
		rc = em_call(cl, mem, MP_EMSMDB_DO_RPC, &req, (void **)&rsp);
		if (rc != MP_OK)
			return rc;
		cl->cxh = rsp->pcxh;
		*out = rsp->rgb.data;
		*out_len = rsp->rgb.len;
		if (*out)
			mp_rpc_ext_xor(*out, *out_len);
		return MP_OK;
	}
	struct mp_wbuf w;
	mp_wb_init(&w);
	rc = mp_emsmdb_client_wrap(in, len, MP_RHE_XORMAGIC, &w);
	if (rc != MP_OK || w.bad) {
		mp_wb_free(&w);
		snprintf(cl->err, sizeof(cl->err), "ROP request cannot be framed (%s)",
		         mp_status_name(rc));
		return rc != MP_OK ? rc : MP_ERR_NOMEM;
	}
	struct mp_emsmdb_rpc_ext2_req req = {
	    .pcxh = cl->cxh,
	    .pulFlags = 0,
	    .pcbOut = MP_EMSMDB_BIG_RANGE,
	    .pcbAuxOut = MP_EMSMDB_SMALL_RANGE,
	};
	mp_emsmdb_buf_set(&req.rgbIn, w.data, (uint32_t)w.len);
	struct mp_emsmdb_rpc_ext2_resp *rsp;
	rc = em_call(cl, mem, MP_EMSMDB_DO_RPC_EXT2, &req, (void **)&rsp);
	mp_wb_free(&w);
	if (rc != MP_OK)
		return rc;
	cl->cxh = rsp->pcxh;
	const char *why = NULL;
	rc = mp_emsmdb_client_unwrap(mem, rsp->rgbOut.data, rsp->rgbOut.len, out, out_len, &why);
	if (rc != MP_OK)
		snprintf(cl->err, sizeof(cl->err),
		         "EcDoRpcExt2: the answer's RPC_HEADER_EXT is malformed (%s)",
		         why ? why : mp_status_name(rc));
	return rc;
}

int mp_emsmdb_client_disconnect(struct mp_emsmdb_client *cl)
{
	if (mp_emsmdb_handle_is_null(&cl->cxh))
		return MP_OK;
	void *mem = talloc_new(NULL);
	struct mp_emsmdb_disconnect_req req = {.pcxh = cl->cxh};
	void *rsp;
	int rc = em_call(cl, mem, MP_EMSMDB_DO_DISCONNECT, &req, &rsp);
	memset(&cl->cxh, 0, sizeof(cl->cxh));
	talloc_free(mem);
	return rc;
}

int mp_emsmdb_client_async_connect(struct mp_emsmdb_client *cl, struct mp_ndr_handle *acxh)
{
	void *mem = talloc_new(NULL);
	struct mp_emsmdb_async_connect_ex_req req = {.cxh = cl->cxh};
	struct mp_emsmdb_async_connect_ex_resp *rsp;
	int rc = em_call(cl, mem, MP_EMSMDB_DO_ASYNC_CONNECT_EX, &req, (void **)&rsp);
	if (rc == MP_OK)
		*acxh = rsp->pacxh;
	talloc_free(mem);
	return rc;
}

int mp_emsmdb_client_async_wait(struct mp_emsmdb_client *cl, struct mp_rpc_conn *conn,
                                const struct mp_ndr_handle *acxh, uint32_t *flags)
{
	void *mem = talloc_new(NULL);
	struct mp_asyncemsmdb_wait_ex_req req = {.acxh = *acxh, .ulFlagsIn = 0};
	struct mp_asyncemsmdb_wait_ex_resp *rsp;
	*flags = 0;
	int rc = mp_rpc_conn_mapi_call(conn, MP_MAPI_ASYNCEMSMDB, mem,
	                               MP_ASYNCEMSMDB_DO_ASYNC_WAIT_EX, &req, (void **)&rsp,
	                               &cl->result, &cl->fault, cl->err, sizeof(cl->err));
	if (rc == MP_OK)
		*flags = rsp->pulFlagsOut;
	talloc_free(mem);
	return rc;
}
