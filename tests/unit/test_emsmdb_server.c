/*
 * The EMSMDB server module's serve(): stubs built with the EMSMDB codec,
 * answered over a real store, answers decoded again (MS-OXCRPC).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "server_fixture.h"

#include "dcerpc/pdu.h"
#include "mapi/call.h"
#include "mapi/emsmdb.h"
#include "mapi/rpc_ext.h"
#include "server/server_modules.h"
#include "server/server_store.h"

#include <talloc.h>

struct ctx {
	struct srv_fixture *f;
	void *global;
	void *state;
	const char *user;
	uint32_t fault;
	struct mp_wbuf out;
	void *mem;
};

static int setup(void **st)
{
	struct ctx *c = calloc(1, sizeof(*c));
	char err[128];
	c->f = fx_setup();
	if (!c->f)
		return -1;
	/* init() takes the process's shared store. */
	mp_server_store_set(c->f->st);
	if (mp_server_emsmdb.init(NULL, NULL, &c->global, err, sizeof(err)) != MP_OK)
		return -1;
	c->user = "alice";
	c->mem = talloc_new(NULL);
	*st = c;
	return 0;
}

static int teardown(void **st)
{
	struct ctx *c = *st;
	mp_server_emsmdb.session_end(c->global, c->state);
	mp_server_emsmdb.shutdown(c->global);
	mp_server_store_set(NULL);
	mp_wb_free(&c->out);
	talloc_free(c->mem);
	fx_teardown(c->f);
	free(c);
	return 0;
}

/* Serve one request structure; the response body (or NULL on a fault). */
static void *serve(struct ctx *c, uint16_t opnum, const void *req)
{
	struct mp_wbuf stub;
	const char *why = NULL;
	mp_wb_init(&stub);
	if (req)
		assert_true(mp_emsmdb_push(opnum, MP_CALL_REQUEST, req, &stub));
	mp_wb_free(&c->out);
	mp_wb_init(&c->out);
	c->fault = 0;
	struct mp_server_call call = {
	    .session_id = 7,
	    .user = c->user,
	    .domain = "EXAMPLE",
	    .global = c->global,
	    .session_state = &c->state,
	    .opnum = opnum,
	    .stub = stub.data ? stub.data : (const uint8_t *)"",
	    .len = stub.len,
	    .out = &c->out,
	    .fault = &c->fault,
	};
	int rc = mp_server_emsmdb.serve(&call);
	mp_wb_free(&stub);
	if (rc != MP_OK) {
		assert_int_not_equal(c->fault, 0);
		return NULL;
	}
	struct mp_mapi_call *mc = mp_mapi_decode(c->mem, MP_MAPI_EMSMDB, opnum, MP_CALL_RESPONSE,
	                                         c->out.data, c->out.len, &why);
	assert_non_null(mc);
	return mc->body;
}

static struct mp_emsmdb_connect_ex_resp *connect(struct ctx *c, const char *dn)
{
	struct mp_emsmdb_connect_ex_req req = {
	    .szUserDN = (char *)dn,
	    .ulCpid = 1252,
	    .ulLcidString = 0x409,
	    .ulLcidSort = 0x409,
	    .ulIcxrLink = 0xFFFFFFFF,
	    .rgwClientVersion = {0x000C, 0x1770, 0x0000},
	    .pcbAuxOut = 0x1008,
	};
	return serve(c, MP_EMSMDB_DO_CONNECT_EX, &req);
}

static void test_connect(void **st)
{
	struct ctx *c = *st;
	struct mp_emsmdb_connect_ex_resp *r = connect(c, c->f->alice_dn);
	assert_non_null(r);
	assert_int_equal(r->result, 0);
	assert_false(mp_emsmdb_handle_is_null(&r->pcxh));
	assert_string_equal(r->szDisplayName, "Alice A");
	assert_non_null(r->szDNPrefix);
	assert_true(strncmp(c->f->alice_dn, r->szDNPrefix, strlen(r->szDNPrefix)) == 0);
	assert_true(r->pcmsPollsMax > 0 && r->pcRetry > 0 && r->pcmsRetryDelay > 0);
	assert_int_equal(r->rgwServerVersion[0], 0x0008);
	assert_int_equal(r->rgwBestVersion[1], 0x1770);
}

static void test_connect_refused(void **st)
{
	struct ctx *c = *st;
	struct mp_emsmdb_connect_ex_resp *r = connect(c, c->f->bob_dn); /* alice as bob */
	assert_non_null(r);
	assert_int_equal(r->result, 0x000003F2); /* ecLoginPerm */
	assert_true(mp_emsmdb_handle_is_null(&r->pcxh));
	r = connect(c, "/o=Nowhere/cn=Recipients/cn=nobody");
	assert_int_equal(r->result, 0x000003EB); /* ecUnknownUser */
	c->user = "";
	r = connect(c, c->f->alice_dn); /* anonymous */
	assert_int_equal(r->result, 0x000003F2);
}

/* EcDoRpcExt2 with a RopLogon, rgbIn built with `in_flags`, pulFlags `flags`. */
static struct mp_emsmdb_rpc_ext2_resp *logon_rpc(struct ctx *c, const struct mp_ndr_handle *cxh,
                                                 uint16_t in_flags, uint32_t flags)
{
	struct mp_wbuf rq, chain;
	rq_begin(&rq);
	rq_logon(&rq, 0, c->f->alice_dn);
	rq_end(&rq, NULL, 1);
	struct mp_rpc_ext *ext = mp_rpc_ext_new(c->mem);
	assert_non_null(mp_rpc_ext_add(ext, in_flags | MP_RHE_LAST, rq.data, rq.len));
	mp_wb_init(&chain);
	assert_int_equal(mp_rpc_ext_build(ext, &chain), MP_OK);
	mp_wb_free(&rq);
	struct mp_emsmdb_rpc_ext2_req req = {
	    .pcxh = *cxh, .pulFlags = flags, .pcbOut = 0x40000, .pcbAuxOut = 0x1008};
	uint8_t *copy = talloc_memdup(c->mem, chain.data, chain.len);
	mp_emsmdb_buf_set(&req.rgbIn, copy, (uint32_t)chain.len);
	mp_wb_free(&chain);
	return serve(c, MP_EMSMDB_DO_RPC_EXT2, &req);
}

/* The ROP response buffer of rgbOut, checking its segment flags. */
static void check_logon_out(struct ctx *c, const struct mp_emsmdb_rpc_ext2_resp *r, bool compressed,
                            bool xored)
{
	struct mp_rpc_ext *ext = NULL;
	size_t len = 0;
	assert_int_equal(r->result, 0);
	assert_int_equal(mp_rpc_ext_parse(c->mem, r->rgbOut.data, r->rgbOut.len, NULL, &ext, NULL),
	                 MP_OK);
	assert_int_equal(ext->count, 1);
	assert_int_equal((ext->segs[0].flags & MP_RHE_COMPRESSED) != 0, compressed);
	assert_int_equal((ext->segs[0].flags & MP_RHE_XORMAGIC) != 0, xored);
	assert_true(ext->segs[0].flags & MP_RHE_LAST);
	uint8_t *rops = mp_rpc_ext_join(c->mem, ext, &len);
	struct mp_wbuf w = {.data = rops, .len = len};
	struct mp_rcursor rc;
	assert_true(rs_begin(&rc, &w));
	assert_int_equal(mp_rc_u8(&rc), 0xFE);
	assert_int_equal(mp_rc_u8(&rc), 0);
	assert_int_equal(mp_rc_u32(&rc), 0);
	mp_rc_skip(&rc, 1);
	struct mp_store_mailbox mb = fx_mailbox(c->f, c->f->alice);
	for (int i = 0; i < MP_STORE_LOGON_FOLDERS; i++)
		assert_true(rs_u64(&rc) == mb.special[i]);
	assert_false(rc.bad);
}

static void test_rpc_ext2_compression_and_xor(void **st)
{
	struct ctx *c = *st;
	struct mp_emsmdb_connect_ex_resp *r = connect(c, c->f->alice_dn);
	struct mp_ndr_handle cxh = r->pcxh;
	/* Compressed and obfuscated in; compressed and obfuscated out. */
	struct mp_emsmdb_rpc_ext2_resp *x =
	    logon_rpc(c, &cxh, MP_RHE_COMPRESSED | MP_RHE_XORMAGIC, 0);
	assert_non_null(x);
	check_logon_out(c, x, true, true);
	/* Plain in; NoCompression | NoXorMagic asked: plain out. */
	x = logon_rpc(c, &cxh, 0, MP_EMSMDB_RPC_NO_COMPRESSION | MP_EMSMDB_RPC_NO_XOR_MAGIC);
	check_logon_out(c, x, false, false);
	/* XOR only. */
	x = logon_rpc(c, &cxh, MP_RHE_XORMAGIC, MP_EMSMDB_RPC_NO_COMPRESSION);
	check_logon_out(c, x, false, true);
}

static void test_bad_calls(void **st)
{
	struct ctx *c = *st;
	struct mp_emsmdb_connect_ex_resp *r = connect(c, c->f->alice_dn);
	struct mp_ndr_handle cxh = r->pcxh, wrong = cxh;
	wrong.uuid[3] ^= 0xFF;
	/* A context handle we did not give: fault. */
	assert_null(logon_rpc(c, &wrong, 0, 0));
	assert_int_equal(c->fault, 0x1c00001a);
	/* rgbIn that is no RPC_HEADER_EXT chain: ecRpcFormat, empty rgbOut. */
	struct mp_emsmdb_rpc_ext2_req req = {.pcxh = cxh, .pcbOut = 0x40000, .pcbAuxOut = 0x1008};
	static uint8_t junk[5] = {1, 2, 3, 4, 5};
	mp_emsmdb_buf_set(&req.rgbIn, junk, sizeof(junk));
	struct mp_emsmdb_rpc_ext2_resp *x = serve(c, MP_EMSMDB_DO_RPC_EXT2, &req);
	assert_non_null(x);
	assert_int_equal(x->result, 0x000004B6);
	assert_int_equal(x->rgbOut.len, 0);
	/* Reserved opnums: nca_s_op_rng_error. */
	assert_null(serve(c, 12, NULL));
	assert_int_equal(c->fault, MP_NCA_S_OP_RNG_ERROR);
	/* Push notifications: not supported. */
	struct mp_emsmdb_register_push_req push = {.pcxh = cxh};
	struct mp_emsmdb_register_push_resp *p =
	    serve(c, MP_EMSMDB_REGISTER_PUSH_NOTIFICATION, &push);
	assert_int_equal(p->result, 0x80040102);
	/* EcDummyRpc answers 0. */
	struct mp_emsmdb_result_resp *d = serve(c, MP_EMSMDB_DUMMY_RPC, NULL);
	assert_int_equal(d->result, 0);
	/* Disconnect zeroes the handle; the old one is then refused. */
	struct mp_emsmdb_disconnect_req dr = {.pcxh = cxh};
	struct mp_emsmdb_disconnect_resp *dd = serve(c, MP_EMSMDB_DO_DISCONNECT, &dr);
	assert_int_equal(dd->result, 0);
	assert_true(mp_emsmdb_handle_is_null(&dd->pcxh));
	assert_null(logon_rpc(c, &cxh, 0, 0));
}

static void test_legacy_rpc(void **st)
{
	struct ctx *c = *st;
	struct mp_emsmdb_connect_ex_req creq = {.szUserDN = c->f->alice_dn,
	                                        .rgwClientVersion = {0x000B, 0, 0}};
	struct mp_emsmdb_connect_ex_resp *r = serve(c, MP_EMSMDB_DO_CONNECT, &creq);
	assert_non_null(r);
	assert_int_equal(r->result, 0);
	struct mp_wbuf rq;
	rq_begin(&rq);
	rq_logon(&rq, 0, c->f->alice_dn);
	rq_end(&rq, NULL, 1);
	mp_rpc_ext_xor(rq.data, rq.len);
	struct mp_emsmdb_rpc_req req = {.pcxh = r->pcxh, .usSize = 0x8000};
	uint8_t *copy = talloc_memdup(c->mem, rq.data, rq.len);
	mp_emsmdb_buf_set(&req.rgb, copy, (uint32_t)rq.len);
	mp_wb_free(&rq);
	struct mp_emsmdb_rpc_resp *x = serve(c, MP_EMSMDB_DO_RPC, &req);
	assert_non_null(x);
	assert_int_equal(x->result, 0);
	assert_true(x->rgb.len > 6);
	mp_rpc_ext_xor(x->rgb.data, x->rgb.len);
	assert_int_equal(x->rgb.data[2], 0xFE);
	assert_int_equal(mp_get_u32(x->rgb.data + 4), 0);
}

static void test_async_wait(void **st)
{
	struct ctx *c = *st;
	struct mp_emsmdb_connect_ex_resp *r = connect(c, c->f->alice_dn);
	struct mp_emsmdb_async_connect_ex_req areq = {.cxh = r->pcxh};
	struct mp_emsmdb_async_connect_ex_resp *a = serve(c, MP_EMSMDB_DO_ASYNC_CONNECT_EX, &areq);
	assert_non_null(a);
	assert_int_equal(a->result, 0);
	assert_false(mp_emsmdb_handle_is_null(&a->pacxh));
	/* EcDoAsyncWaitEx on the AsyncEMSMDB interface: answered at once, no event. */
	struct mp_asyncemsmdb_wait_ex_req wreq = {.acxh = a->pacxh};
	struct mp_wbuf stub, out;
	uint32_t fault = 0;
	void *state = NULL;
	mp_wb_init(&stub);
	mp_wb_init(&out);
	assert_true(
	    mp_asyncemsmdb_push(MP_ASYNCEMSMDB_DO_ASYNC_WAIT_EX, MP_CALL_REQUEST, &wreq, &stub));
	struct mp_server_call call = {.user = "alice",
	                              .session_state = &state,
	                              .opnum = MP_ASYNCEMSMDB_DO_ASYNC_WAIT_EX,
	                              .stub = stub.data,
	                              .len = stub.len,
	                              .out = &out,
	                              .fault = &fault};
	assert_int_equal(mp_server_asyncemsmdb.serve(&call), MP_OK);
	struct mp_mapi_call *mc = mp_mapi_decode(c->mem, MP_MAPI_ASYNCEMSMDB, 0, MP_CALL_RESPONSE,
	                                         out.data, out.len, NULL);
	assert_non_null(mc);
	const struct mp_asyncemsmdb_wait_ex_resp *w = mc->body;
	assert_int_equal(w->result, 0);
	assert_int_equal(w->pulFlagsOut, 0);
	/* Another opnum: nca_s_op_rng_error. */
	call.opnum = 1;
	assert_int_not_equal(mp_server_asyncemsmdb.serve(&call), MP_OK);
	assert_int_equal(fault, MP_NCA_S_OP_RNG_ERROR);
	mp_wb_free(&stub);
	mp_wb_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_connect, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_connect_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rpc_ext2_compression_and_xor, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_calls, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_legacy_rpc, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_async_wait, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
