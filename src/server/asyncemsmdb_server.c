/*
 * The AsyncEMSMDB server module (MS-OXCRPC 3.3.4.1): EcDoAsyncWaitEx.
 * It answers at once: NotificationPending when the EMSMDB session that
 * EcDoAsyncConnectEx tied to this handle has queued notifications
 * (rops_notify.c), else no event. Parking the call until an event or five
 * minutes pass needs a deferred answer the server-module interface does
 * not offer yet; clients poll again, as after a timeout.
 */
#include "server/rop_server.h"
#include "server/server_modules.h"

#include "dcerpc/pdu.h"
#include "mapi/call.h"
#include "mapi/emsmdb.h"
#include "util/status.h"

#include <string.h>
#include <talloc.h>

static int serve_async(struct mp_server_call *call)
{
	const char *why = NULL;
	void *mem = talloc_new(NULL);
	int rc = MP_ERR_PROTO;
	if (!mem) {
		*call->fault = MP_NCA_S_SERVER_TOO_BUSY;
		return MP_ERR_NOMEM;
	}
	struct mp_mapi_call *mc = mp_mapi_decode(mem, MP_MAPI_ASYNCEMSMDB, call->opnum,
	                                         MP_CALL_REQUEST, call->stub, call->len, &why);
	if (!mc || call->opnum != MP_ASYNCEMSMDB_DO_ASYNC_WAIT_EX) {
		*call->fault = !mc && why && strcmp(why, "unknown opnum") != 0
		                   ? MP_NCA_S_PROTO_ERROR
		                   : MP_NCA_S_OP_RNG_ERROR;
	} else {
		const struct mp_asyncemsmdb_wait_ex_req *req = mc->body;
		struct mp_asyncemsmdb_wait_ex_resp rsp = {.result = 0};
		if (mp_srv_notify_pending_acxh(req->acxh.uuid))
			rsp.pulFlagsOut = MP_EMSMDB_NOTIFICATION_PENDING;
		rc = mp_asyncemsmdb_push(call->opnum, MP_CALL_RESPONSE, &rsp, call->out)
		         ? MP_OK
		         : MP_ERR_NOMEM;
		if (rc != MP_OK)
			*call->fault = MP_NCA_S_SERVER_TOO_BUSY;
	}
	talloc_free(mem);
	return rc;
}

const struct mp_server_module mp_server_asyncemsmdb = {
    .iface = "exchange_async_emsmdb",
    .option = "dcerpc_mapiproxy:emsmdb_server",
    .serve = serve_async,
};
