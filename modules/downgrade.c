/*
 * downgrade — keep EMSMDB clients on EcDoConnect / EcDoRpc (the original
 * MAPIProxy's "force EMSMDB protocol version").
 *
 * A client that offers EcDoConnectEx (opnum 10) falls back to EcDoConnect
 * (opnum 0), and then sends its ROPs in EcDoRpc (opnum 2) instead of
 * EcDoRpcExt2 (opnum 11), when the server faults the call with
 * nca_op_rng_error, as an Exchange 2000 server did. This module gives that
 * fault itself, without asking the server, and answers each EcDoConnect
 * with the Exchange 2000 server version, so that a client meeting a newer
 * server's version does not go back to EcDoConnectEx:
 *
 *	dcerpc_mapiproxy:modules = downgrade
 *
 * The result: ROP buffers that are only XOR-obfuscated, never compressed
 * (EcDoRpc has no RPC_HEADER_EXT), for the modules behind it and for a
 * dump. No options. docs/modules/downgrade.md describes the behaviour and
 * its limits.
 */
#include <mapiproxy/module.h>

#include "dcerpc/pdu.h"
#include "mapi/emsmdb.h"

#include <string.h>

/* 6.0.4417.5 (Exchange 2000) in the wire form of MS-OXCRPC 3.1.4.1.3.1:
 * the high bit of the second WORD clear, so the first WORD is the product
 * major version (minor 0), the second the build major number, the third the
 * build minor number. The value the original module wrote. */
static const uint16_t exchange2000_version[3] = {0x0006, 0x1141, 0x0005};

static int downgrade_dispatch(struct mp_call *call, void *request, struct mp_relay *relay)
{
	(void)request;
	if (mp_call_opnum(call) != MP_EMSMDB_DO_CONNECT_EX)
		return MP_MODULE_OK;
	/* "Not an operation of this server": the client tries EcDoConnect. */
	mp_call_set_fault(call, MP_NCA_S_OP_RNG_ERROR);
	relay->norelay = true;
	return MP_MODULE_OK;
}

static int downgrade_push(struct mp_call *call, void *response)
{
	if (mp_call_opnum(call) != MP_EMSMDB_DO_CONNECT)
		return MP_MODULE_OK;
	if (!response) {
		mp_module_log(MP_MODULE_LOG_WARN,
		              "EcDoConnect reply not decoded: the server's version goes to the "
		              "client unchanged");
		return MP_MODULE_OK;
	}
	struct mp_emsmdb_connect_ex_resp *rsp = response;
	if (memcmp(rsp->rgwServerVersion, exchange2000_version, sizeof(exchange2000_version)) == 0)
		return MP_MODULE_OK;
	mp_module_log(MP_MODULE_LOG_DEBUG,
	              "EcDoConnect: server version %04x.%04x.%04x -> 6.0.4417.5",
	              rsp->rgwServerVersion[0], rsp->rgwServerVersion[1], rsp->rgwServerVersion[2]);
	memcpy(rsp->rgwServerVersion, exchange2000_version, sizeof(exchange2000_version));
	mp_call_changed(call, MP_RESPONSE);
	return MP_MODULE_OK;
}

MP_MODULE_EXPORT = {
    .abi = MP_MODULE_ABI,
    .name = "downgrade",
    .description = "keeps clients on EcDoConnect/EcDoRpc (Exchange 2000 behaviour)",
    .endpoint = MP_ENDPOINT_EMSMDB,
    .dispatch = downgrade_dispatch,
    .push = downgrade_push,
};
