/*
 * The RFR server module (MS-OXABREF): RfrGetNewDSA and
 * RfrGetFQDNFromServerDN both answer with our own FQDN (mapiproxy:fqdn), so
 * that a client looking for its address book server is referred to us.
 */
#include "mapi/rfr.h"
#include "mapi/call.h"
#include "proxy/conf.h"
#include "proxy/server.h"
#include "dcerpc/pdu.h"
#include "util/log.h"
#include "util/status.h"

#include <string.h>
#include <talloc.h>

static int serve_rfr(struct mp_server_call *c)
{
	const char *why = NULL;
	void *mem = talloc_new(NULL);
	uint16_t opnum = c->opnum;
	struct mp_wbuf *out = c->out;
	uint32_t *fault = c->fault;
	struct mp_mapi_call *call =
	    mp_mapi_decode(mem, MP_MAPI_RFR, opnum, MP_CALL_REQUEST, c->stub, c->len, &why);
	int rc = MP_ERR_PROTO;
	char *fqdn = (char *)c->conf->fqdn;
	if (!call) {
		/* Opnums we do not know, and stubs we cannot read, as Windows does. */
		*fault = why && strcmp(why, "unknown opnum") == 0 ? MP_NCA_S_OP_RNG_ERROR
								  : MP_NCA_S_PROTO_ERROR;
		mp_warn("session %llu: RFR opnum %u refused: %s", (unsigned long long)c->session_id,
			opnum, why);
	} else if (opnum == MP_RFR_GET_NEW_DSA) {
		const struct mp_rfr_get_new_dsa_req *req = call->body;
		struct mp_rfr_get_new_dsa_rsp rsp = {
			.unused = req->unused,
			.server = {.present = req->server.present, .str = fqdn},
			.result = req->server.present ? 0 : 0x80070057, /* MAPI_E_INVALID_PARAMETER */
		};
		if (!req->server.present)
			rsp.server.str = NULL;
		rc = mp_rfr_push(opnum, MP_CALL_RESPONSE, &rsp, out) ? MP_OK : MP_ERR_NOMEM;
	} else {
		struct mp_rfr_get_fqdn_rsp rsp = {.fqdn = fqdn, .result = 0};
		rc = mp_rfr_push(opnum, MP_CALL_RESPONSE, &rsp, out) ? MP_OK : MP_ERR_NOMEM;
	}
	if (rc == MP_ERR_NOMEM)
		*fault = MP_NCA_S_SERVER_TOO_BUSY;
	talloc_free(mem);
	return rc;
}

const struct mp_server_module mp_server_rfr = {
	.iface = "exchange_ds_rfr",
	.option = "dcerpc_mapiproxy:rfr_server",
	.serve = serve_rfr,
};
