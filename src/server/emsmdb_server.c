/*
 * The EMSMDB server module (MS-OXCRPC): connect / disconnect, EcDoRpcExt2
 * and the legacy EcDoRpc carrying ROP buffers to the dispatcher
 * (rop_dispatch.c), and the process's shared store (server_store.h).
 *
 * A session is one association: EcDoConnect(Ex) authenticates the
 * association's user against the mailbox the client names (szUserDN) and
 * hands out a context handle; every later call must present it. Anonymous
 * associations cannot connect (ecLoginPerm). Push notifications
 * (EcRRegisterPushNotification) are not supported; the reserved and legacy
 * opnums but EcDoConnect / EcDoRpc fault with nca_s_op_rng_error, as
 * Exchange 2010 and later do, so that clients fall back or move on.
 */
#include "server/rop_server.h"
#include "server/server_conf.h"
#include "server/server_modules.h"
#include "server/server_store.h"

#include "dcerpc/pdu.h"
#include "mapi/call.h"
#include "mapi/emsmdb.h"
#include "mapi/rpc_ext.h"
#include "util/log.h"
#include "util/status.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <talloc.h>

#define EC_NOT_SUPPORTED 0x80040102u
#define EC_LOGIN_PERM 0x000003F2u
#define EC_UNKNOWN_USER 0x000003EBu
#define EC_RPC_FORMAT 0x000004B6u
#define EC_BUFFER_TOO_SMALL 0x0000047Du
#define EC_ERROR 0x80004005u
#define NCA_S_FAULT_CONTEXT_MISMATCH 0x1c00001au

/* Polling and retry values Exchange recommends (MS-OXCRPC 3.1.4.1). */
#define POLLS_MAX_MS 60000
#define RETRY_COUNT 6
#define RETRY_DELAY_MS 10000

/* The server version we announce: Exchange 2007's (MS-OXCRPC 3.1.4.1.3). */
static const uint16_t server_version[3] = {0x0008, 0x82B4, 0x0003};

/* ---- The shared store ---- */

static struct mp_store *shared_store;
static unsigned shared_refs;
static bool shared_borrowed; /* set by mp_server_store_set: not ours to close */

struct mp_store *mp_server_store_get(const struct mp_config *cfg, char *err, size_t len)
{
	struct mp_server_conf sc;
	if (shared_store) {
		shared_refs++;
		return shared_store;
	}
	if (mp_server_conf_load(&sc, cfg, err, len) != MP_OK ||
	    mp_server_store_open(&sc, true, &shared_store, err, len) != MP_OK) {
		shared_store = NULL;
		return NULL;
	}
	shared_refs = 1;
	shared_borrowed = false;
	return shared_store;
}

void mp_server_store_put(struct mp_store *st)
{
	if (!st || st != shared_store || !shared_refs)
		return;
	if (--shared_refs == 0) {
		if (!shared_borrowed)
			mp_store_close(shared_store);
		shared_store = NULL;
	}
}

void mp_server_store_set(struct mp_store *st)
{
	shared_store = st;
	shared_refs = st ? 1 : 0;
	shared_borrowed = st != NULL;
}

/* ---- Module ---- */

static int emsmdb_init(const struct mp_config *cfg, const struct mp_proxy_conf *conf, void **global,
                       char *errbuf, size_t errlen)
{
	struct mp_store *st = mp_server_store_get(cfg, errbuf, errlen);
	if (!st)
		return MP_ERR_CONFIG;
	*global = st;
	return MP_OK;
}

static void emsmdb_shutdown(void *global)
{
	mp_server_store_put(global);
}

static void emsmdb_session_end(void *global, void *state)
{
	struct mp_emsmdb_sess *s = state;
	if (!s)
		return;
	mp_srv_notify_detach(s);
	mp_srv_release_all(s);
	talloc_free(s);
}

static bool same_handle(const struct mp_emsmdb_sess *s, const struct mp_ndr_handle *h)
{
	return s && s->connected && memcmp(h->uuid, s->cxh, 16) == 0;
}

static void set_handle(struct mp_ndr_handle *h, const uint8_t uuid[16])
{
	memset(h, 0, sizeof(*h));
	memcpy(h->uuid, uuid, 16);
}

/* The association's user may open the mailbox `u`. */
static bool user_matches(const struct mp_server_call *call, const struct mp_store_user *u)
{
	const char *who = call->user ? call->user : "";
	const char *bs = strrchr(who, '\\');
	if (bs)
		who = bs + 1;
	if (!*who)
		return false;
	return strcasecmp(who, u->name) == 0 || strcasecmp(who, u->smtp) == 0;
}

static int do_connect(struct mp_server_call *call, struct mp_store *st,
                      const struct mp_emsmdb_connect_ex_req *req, void *mem)
{
	struct mp_emsmdb_connect_ex_resp rsp;
	struct mp_store_txn *txn = NULL;
	struct mp_store_user *u = NULL;
	struct mp_emsmdb_sess *s = *call->session_state;
	uint32_t ec = 0;

	memset(&rsp, 0, sizeof(rsp));
	memcpy(rsp.rgwBestVersion, req->rgwClientVersion, sizeof(rsp.rgwBestVersion));
	rsp.pulTimeStamp = req->pulTimeStamp;
	if (mp_store_txn_begin(st, false, &txn) != MP_OK) {
		ec = EC_ERROR;
	} else if (mp_store_user_by_dn(txn, req->szUserDN, mem, &u) != MP_OK ||
	           (u->flags & MP_STORE_USER_DISABLED)) {
		ec = EC_UNKNOWN_USER;
	} else if (!user_matches(call, u)) {
		ec = EC_LOGIN_PERM;
	}
	mp_store_txn_abort(txn);
	if (ec == 0 && !s) {
		s = talloc_zero(NULL, struct mp_emsmdb_sess);
		if (s)
			s->rsess = mp_rop_session_new(s);
		if (!s || !s->rsess) {
			talloc_free(s);
			s = NULL;
			ec = EC_ERROR;
		}
		*call->session_state = s;
	}
	if (ec == 0) {
		/* A new connect on the association starts afresh. */
		mp_srv_release_all(s);
		talloc_free(s->user_name);
		talloc_free(s->user_dn);
		talloc_free(s->display_name);
		s->st = st;
		s->user_id = u->id;
		s->user_name = talloc_strdup(s, u->name);
		s->user_dn = talloc_strdup(s, u->dn);
		s->display_name = talloc_strdup(s, u->display_name);
		if (mp_store_guid_random(s->cxh) != MP_OK || !s->user_name || !s->user_dn ||
		    !s->display_name)
			ec = EC_ERROR;
	}
	if (ec) {
		mp_warn("session %llu: EcDoConnect for %s refused (0x%08x)",
		        (unsigned long long)call->session_id, req->szUserDN, ec);
		rsp.result = ec;
		if (s)
			s->connected = false;
		return mp_emsmdb_push(call->opnum, MP_CALL_RESPONSE, &rsp, call->out)
		           ? MP_OK
		           : MP_ERR_NOMEM;
	}
	s->connected = true;
	s->icxr = (uint16_t)call->session_id;
	mp_srv_notify_attach(s);
	set_handle(&rsp.pcxh, s->cxh);
	rsp.pcmsPollsMax = POLLS_MAX_MS;
	rsp.pcRetry = RETRY_COUNT;
	rsp.pcmsRetryDelay = RETRY_DELAY_MS;
	rsp.picxr = s->icxr;
	/* The DN prefix: the user's DN without its last (cn=NAME) part. */
	char *prefix = talloc_strdup(mem, u->dn);
	char *cut = prefix ? strrchr(prefix, '/') : NULL;
	if (cut && cut != prefix)
		*cut = '\0';
	rsp.szDNPrefix = prefix ? prefix : "";
	rsp.szDisplayName = s->display_name;
	memcpy(rsp.rgwServerVersion, server_version, sizeof(server_version));
	return mp_emsmdb_push(call->opnum, MP_CALL_RESPONSE, &rsp, call->out) ? MP_OK
	                                                                      : MP_ERR_NOMEM;
}

/* EcDoRpcExt2: RPC_HEADER_EXT chain in, ROP buffer through, chain out. */
static int do_rpc_ext2(struct mp_server_call *call, struct mp_emsmdb_sess *s,
                       const struct mp_emsmdb_rpc_ext2_req *req, void *mem)
{
	struct mp_emsmdb_rpc_ext2_resp rsp;
	struct mp_rpc_ext_limits lim;
	struct mp_rpc_ext *in = NULL, *out = NULL;
	struct mp_wbuf rops, wire;
	size_t len = 0;
	uint32_t ec = 0;
	const char *why = NULL;

	memset(&rsp, 0, sizeof(rsp));
	rsp.pcxh = req->pcxh;
	mp_wb_init(&rops);
	mp_wb_init(&wire);
	mp_rpc_ext_limits_init(&lim, MP_RPC_EXT_RGBIN);
	uint8_t *rop_in = NULL;
	if (mp_rpc_ext_parse(mem, req->rgbIn.data, req->rgbIn.len, &lim, &in, &why) != MP_OK ||
	    !(rop_in = mp_rpc_ext_join(mem, in, &len))) {
		ec = EC_RPC_FORMAT;
	} else if (req->pcbOut < MP_RHE_SIZE + 2) {
		ec = EC_BUFFER_TOO_SMALL;
	} else if (mp_srv_rop_run(s, rop_in, len, req->pcbOut - MP_RHE_SIZE, &rops, &ec) != MP_OK) {
		if (!ec)
			ec = EC_ERROR;
	}
	if (ec == 0) {
		uint16_t flags = MP_RHE_LAST;
		if (!(req->pulFlags & MP_EMSMDB_RPC_NO_COMPRESSION))
			flags |= MP_RHE_COMPRESSED;
		if (!(req->pulFlags & MP_EMSMDB_RPC_NO_XOR_MAGIC))
			flags |= MP_RHE_XORMAGIC;
		out = mp_rpc_ext_new(mem);
		if (!out || !mp_rpc_ext_add(out, flags, rops.data, rops.len) ||
		    mp_rpc_ext_build(out, &wire) != MP_OK || wire.len > req->pcbOut)
			ec = EC_ERROR;
	}
	rsp.result = ec;
	if (ec == 0)
		mp_emsmdb_buf_set(&rsp.rgbOut, wire.data, (uint32_t)wire.len);
	bool ok = mp_emsmdb_push(call->opnum, MP_CALL_RESPONSE, &rsp, call->out);
	mp_wb_free(&rops);
	mp_wb_free(&wire);
	return ok ? MP_OK : MP_ERR_NOMEM;
}

/* Legacy EcDoRpc: the ROP buffer XORed with 0xA5, no RPC_HEADER_EXT. */
static int do_rpc(struct mp_server_call *call, struct mp_emsmdb_sess *s,
                  const struct mp_emsmdb_rpc_req *req, void *mem)
{
	struct mp_emsmdb_rpc_resp rsp;
	struct mp_wbuf rops;
	uint32_t ec = 0;
	memset(&rsp, 0, sizeof(rsp));
	rsp.pcxh = req->pcxh;
	mp_wb_init(&rops);
	uint8_t *in = talloc_memdup(mem, req->rgb.data ? req->rgb.data : (uint8_t *)"",
	                            req->rgb.len ? req->rgb.len : 1);
	if (!in) {
		ec = EC_ERROR;
	} else {
		mp_rpc_ext_xor(in, req->rgb.len);
		if (mp_srv_rop_run(s, in, req->rgb.len, req->usSize, &rops, &ec) != MP_OK && !ec)
			ec = EC_ERROR;
	}
	if (ec == 0 && rops.len <= 0xFFFF) {
		mp_rpc_ext_xor(rops.data, rops.len);
		mp_emsmdb_buf_set(&rsp.rgb, rops.data, (uint32_t)rops.len);
		rsp.rgb.max_count = req->usSize;
	}
	rsp.result = ec;
	bool ok = mp_emsmdb_push(call->opnum, MP_CALL_RESPONSE, &rsp, call->out);
	mp_wb_free(&rops);
	return ok ? MP_OK : MP_ERR_NOMEM;
}

static int serve_emsmdb(struct mp_server_call *call)
{
	const char *why = NULL;
	void *mem = talloc_new(NULL);
	struct mp_store *st = call->global;
	struct mp_emsmdb_sess *s = *call->session_state;
	int rc = MP_ERR_PROTO;
	if (!mem) {
		*call->fault = MP_NCA_S_SERVER_TOO_BUSY;
		return MP_ERR_NOMEM;
	}
	struct mp_mapi_call *mc = mp_mapi_decode(mem, MP_MAPI_EMSMDB, call->opnum, MP_CALL_REQUEST,
	                                         call->stub, call->len, &why);
	if (!mc) {
		*call->fault = why && strcmp(why, "unknown opnum") == 0 ? MP_NCA_S_OP_RNG_ERROR
		                                                        : MP_NCA_S_PROTO_ERROR;
		talloc_free(mem);
		return MP_ERR_PROTO;
	}
	switch (call->opnum) {
	case MP_EMSMDB_DO_CONNECT:
	case MP_EMSMDB_DO_CONNECT_EX:
		rc = do_connect(call, st, mc->body, mem);
		break;
	case MP_EMSMDB_DO_DISCONNECT: {
		const struct mp_emsmdb_disconnect_req *req = mc->body;
		struct mp_emsmdb_disconnect_resp rsp = {.pcxh = req->pcxh};
		if (!same_handle(s, &req->pcxh)) {
			*call->fault = NCA_S_FAULT_CONTEXT_MISMATCH;
			break;
		}
		mp_srv_notify_detach(s);
		mp_srv_release_all(s);
		s->connected = false;
		memset(&rsp.pcxh, 0, sizeof(rsp.pcxh));
		rc = mp_emsmdb_push(call->opnum, MP_CALL_RESPONSE, &rsp, call->out) ? MP_OK
		                                                                    : MP_ERR_NOMEM;
		break;
	}
	case MP_EMSMDB_DO_RPC_EXT2: {
		const struct mp_emsmdb_rpc_ext2_req *req = mc->body;
		if (!same_handle(s, &req->pcxh)) {
			*call->fault = NCA_S_FAULT_CONTEXT_MISMATCH;
			break;
		}
		rc = do_rpc_ext2(call, s, req, mem);
		break;
	}
	case MP_EMSMDB_DO_RPC: {
		const struct mp_emsmdb_rpc_req *req = mc->body;
		if (!same_handle(s, &req->pcxh)) {
			*call->fault = NCA_S_FAULT_CONTEXT_MISMATCH;
			break;
		}
		rc = do_rpc(call, s, req, mem);
		break;
	}
	case MP_EMSMDB_REGISTER_PUSH_NOTIFICATION: {
		const struct mp_emsmdb_register_push_req *req = mc->body;
		struct mp_emsmdb_register_push_resp rsp = {.pcxh = req->pcxh,
		                                           .result = EC_NOT_SUPPORTED};
		if (!same_handle(s, &req->pcxh)) {
			*call->fault = NCA_S_FAULT_CONTEXT_MISMATCH;
			break;
		}
		rc = mp_emsmdb_push(call->opnum, MP_CALL_RESPONSE, &rsp, call->out) ? MP_OK
		                                                                    : MP_ERR_NOMEM;
		break;
	}
	case MP_EMSMDB_DUMMY_RPC: {
		struct mp_emsmdb_result_resp rsp = {.result = 0};
		rc = mp_emsmdb_push(call->opnum, MP_CALL_RESPONSE, &rsp, call->out) ? MP_OK
		                                                                    : MP_ERR_NOMEM;
		break;
	}
	case MP_EMSMDB_DO_ASYNC_CONNECT_EX: {
		const struct mp_emsmdb_async_connect_ex_req *req = mc->body;
		struct mp_emsmdb_async_connect_ex_resp rsp = {.result = 0};
		uint8_t uuid[16];
		if (!same_handle(s, &req->cxh)) {
			*call->fault = NCA_S_FAULT_CONTEXT_MISMATCH;
			break;
		}
		if (mp_store_guid_random(uuid) != MP_OK)
			memcpy(uuid, s->cxh, 16);
		set_handle(&rsp.pacxh, uuid);
		mp_srv_notify_set_acxh(s, uuid);
		rc = mp_emsmdb_push(call->opnum, MP_CALL_RESPONSE, &rsp, call->out) ? MP_OK
		                                                                    : MP_ERR_NOMEM;
		break;
	}
	default:
		*call->fault = MP_NCA_S_OP_RNG_ERROR;
		break;
	}
	if (rc == MP_ERR_NOMEM)
		*call->fault = MP_NCA_S_SERVER_TOO_BUSY;
	talloc_free(mem);
	return rc;
}

const struct mp_server_module mp_server_emsmdb = {
    .iface = "exchange_emsmdb",
    .option = "dcerpc_mapiproxy:emsmdb_server",
    .init = emsmdb_init,
    .shutdown = emsmdb_shutdown,
    .serve = serve_emsmdb,
    .session_end = emsmdb_session_end,
};
