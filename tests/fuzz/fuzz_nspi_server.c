/*
 * libFuzzer target: the NSPI server module fed arbitrary request stubs.
 * Input byte 0 picks the opnum (0-22, so unknown opnums too); with bit 0x80
 * the bound context handle is written over the stub's handle so that the
 * handlers, not just the handle check, see the rest. A small store (three
 * users) is created once. Every answer must decode with our NSPI codec.
 */
#include "mapi/nspi.h"
#include "proxy/conf.h"
#include "server/server_conf.h"
#include "server/server_modules.h"
#include "server/store/store.h"
#include "util/config.h"
#include "util/log.h"
#include "util/status.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <talloc.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static struct mp_config cfg;
static struct mp_proxy_conf conf;
static void *global, *sess;
static uint8_t handle[16];
static bool bound;

static void check(bool ok)
{
	if (!ok)
		abort();
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

static void cleanup(void)
{
	mp_server_nspi.session_end(global, sess);
	mp_server_nspi.shutdown(global);
	mp_config_free(&cfg);
	nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

static int serve(uint16_t opnum, const uint8_t *stub, size_t len, void *mem, void **rsp)
{
	struct mp_wbuf out;
	uint32_t fault = 0;
	mp_wb_init(&out);
	struct mp_server_call c = {
	    .conf = &conf,
	    .session_id = 1,
	    .user = "alice",
	    .domain = "",
	    .auth_level = 6,
	    .global = global,
	    .session_state = &sess,
	    .opnum = opnum,
	    .stub = stub,
	    .len = len,
	    .out = &out,
	    .fault = &fault,
	};
	int rc = mp_server_nspi.serve(&c);
	if (rc == MP_OK) {
		const char *why;
		struct mp_mapi_call *call = mp_mapi_decode(
		    mem, MP_MAPI_NSPI, opnum, MP_CALL_RESPONSE, out.data, out.len, &why);
		check(call != NULL); /* what we answer must be well-formed */
		if (rsp)
			*rsp = call->body;
	} else {
		check(fault != 0); /* a refusal always carries a fault status */
	}
	mp_wb_free(&out);
	return rc;
}

static void do_bind(void)
{
	void *mem = talloc_new(NULL);
	struct mp_nspi_bind_req q = {.stat = {.code_page = 1252}};
	struct mp_wbuf in;
	struct mp_nspi_bind_rsp *r = NULL;
	mp_wb_init(&in);
	check(mp_nspi_push(MP_NSPI_BIND, MP_CALL_REQUEST, &q, &in));
	check(serve(MP_NSPI_BIND, in.data, in.len, mem, (void **)&r) == MP_OK);
	if (r->result == 0) {
		memcpy(handle, r->handle.uuid, 16);
		bound = true;
	}
	mp_wb_free(&in);
	talloc_free(mem);
}

static void init(void)
{
	char text[160], err[512];
	mp_log_level = 0;
	snprintf(dir, sizeof(dir), "/tmp/fuzz-nspi-XXXXXX");
	check(mkdtemp(dir) != NULL);
	snprintf(text, sizeof(text), "[global]\nmapiserver:data dir = %s/data\n", dir);
	check(mp_config_parse(&cfg, "fuzz.conf", text, strlen(text), err, sizeof(err)) == MP_OK);
	snprintf(conf.fqdn, sizeof(conf.fqdn), "mail.example.com");
	check(mp_server_nspi.init(&cfg, &conf, &global, err, sizeof(err)) == MP_OK);
	static const char *const users[][2] = {{"alice", "Alice Liddell"},
	                                       {"bob", "Bob Builder"},
	                                       {"zed", "Zed \xc3\x9c"
	                                               "ber"}};
	for (size_t i = 0; i < 3; i++) {
		struct mp_store_user_new u = {
		    .name = users[i][0], .password = "pw", .display_name = users[i][1]};
		check(mp_store_user_add_simple(mp_server_store_current(), &u, NULL, err,
		                               sizeof(err)) == MP_OK);
	}
	do_bind();
	atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		init();
		ready = true;
	}
	if (size < 1)
		return 0;
	uint16_t opnum = (uint16_t)((data[0] & 0x7f) % 23);
	size_t len = size - 1;
	uint8_t *stub = malloc(len ? len : 1);
	check(stub != NULL);
	memcpy(stub, data + 1, len);
	/* Every opnum but NspiBind starts with the context handle (u32 + GUID). */
	if ((data[0] & 0x80) && opnum != MP_NSPI_BIND && len >= 20 && bound)
		memcpy(stub + 4, handle, 16);
	void *mem = talloc_new(NULL);
	int rc = serve(opnum, stub, len, mem, NULL);
	talloc_free(mem);
	free(stub);
	if (opnum == MP_NSPI_UNBIND && rc == MP_OK) {
		bound = false; /* the fuzzer closed our handle: take a new one */
		do_bind();
	}
	return 0;
}
