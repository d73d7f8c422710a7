/*
 * Unit tests: the rewrite module (modules/rewrite.c) through its hooks, on
 * decoded structures built here, with the module API stubbed (the daemon
 * provides it in real life). What the system tests cannot reach with
 * mapiserver: several bindings with endpoints, entry IDs and "EX:" search
 * keys naming the server, multi-valued strings, names in other case, DNs
 * that only look like server DNs, RFR replies without a server, options.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <talloc.h>

#include <mapiproxy/module.h>

#include "mapi/nspi.h"
#include "mapi/rfr.h"

extern const struct mp_module mapiproxy_module;

/* ---- the module API, stubbed ---------------------------------------- */

struct mp_module_ctx {
	const char *const *opts; /* "name", "value", ..., NULL */
	void *global;
	char err[256];
};

struct mp_call {
	void *mem;
	const char *endpoint;
	uint16_t opnum;
	bool changed[2];
};

static struct mp_module_ctx *current; /* what mp_call_global() gives */

const char *mp_module_option(struct mp_module_ctx *ctx, const char *option, const char *def)
{
	for (const char *const *o = ctx->opts; o && *o; o += 2)
		if (strcmp(o[0], option) == 0)
			return o[1];
	return def;
}

void mp_module_error(struct mp_module_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx->err, sizeof(ctx->err), fmt, ap);
	va_end(ap);
}

void mp_module_set_global(struct mp_module_ctx *ctx, void *global)
{
	ctx->global = global;
}

void *mp_module_global(struct mp_module_ctx *ctx)
{
	return ctx->global;
}

const char *mp_module_fqdn(struct mp_module_ctx *ctx)
{
	(void)ctx;
	return "mproxy.edge.test";
}

void *mp_call_global(struct mp_call *call)
{
	(void)call;
	return current->global;
}

void *mp_call_mem(struct mp_call *call)
{
	return call->mem;
}

uint16_t mp_call_opnum(const struct mp_call *call)
{
	return call->opnum;
}

const char *mp_call_endpoint(const struct mp_call *call)
{
	return call->endpoint;
}

const char *mp_call_name(const struct mp_call *call)
{
	(void)call;
	return "test call";
}

void mp_call_changed(struct mp_call *call, enum mp_dir dir)
{
	call->changed[dir] = true;
}

void mp_module_log(int level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
}

/* ---- helpers ---------------------------------------------------------- */

#define ORG "/o=Org/ou=AG/cn=Configuration/cn=Servers/cn="
#define SERVER_DN ORG "EXSRV01"
#define PROXY_DN ORG "mproxy"

static struct mp_module_ctx *start(void *mem, const char *const *opts)
{
	struct mp_module_ctx *ctx = talloc_zero(mem, struct mp_module_ctx);
	ctx->opts = opts;
	current = ctx;
	assert_int_equal(mapiproxy_module.init(ctx), MP_MODULE_OK);
	return ctx;
}

static void stop(struct mp_module_ctx *ctx)
{
	mapiproxy_module.fini(ctx);
	current = NULL;
}

static struct mp_call *call_on(void *mem, const char *endpoint, uint16_t opnum)
{
	struct mp_call *c = talloc_zero(mem, struct mp_call);
	c->mem = mem;
	c->endpoint = endpoint;
	c->opnum = opnum;
	return c;
}

static char **strs(void *mem, int n, ...)
{
	char **out = talloc_array(mem, char *, n);
	va_list ap;
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		out[i] = talloc_strdup(mem, va_arg(ap, const char *));
	va_end(ap);
	return out;
}

/* A GetProps reply with `n` properties; runs the push hook. */
static struct mp_call *get_props(void *mem, struct mp_nspi_propval *props, uint32_t n)
{
	struct mp_nspi_row *row = talloc_zero(mem, struct mp_nspi_row);
	row->count = n;
	row->props = props;
	struct mp_nspi_get_props_rsp rsp = {.row = row};
	struct mp_call *c = call_on(mem, MP_ENDPOINT_NSPI, MP_NSPI_GET_PROPS);
	assert_int_equal(mapiproxy_module.push(c, &rsp), MP_MODULE_OK);
	return c;
}

static const char *restore(void *mem, const char *dn)
{
	struct mp_nspi_dn_to_mid_req req = {.names = {1, strs(mem, 1, dn)}};
	struct mp_call *c = call_on(mem, MP_ENDPOINT_NSPI, MP_NSPI_DN_TO_MID);
	assert_int_equal(mapiproxy_module.pull(c, &req), MP_MODULE_OK);
	assert_int_equal(c->changed[MP_REQUEST], strcmp(req.names.strs[0], dn) != 0);
	return req.names.strs[0];
}

/* ---- tests ------------------------------------------------------------ */

static void test_bindings_all_replaced_endpoints_dropped(void **state)
{
	void *mem = talloc_new(NULL);
	static const char *const opts[] = {"bindings", "ncacn_ip_tcp, ncacn_http", NULL};
	struct mp_module_ctx *ctx = start(mem, opts);
	struct mp_nspi_propval p[2] = {
	    {.proptag = 0x8170101E,
	     .value.MVszA = {4, strs(mem, 4, "ncacn_ip_tcp:exsrv01.corp.test[6001]",
	                             "ncacn_http:exsrv01.corp.test", "netbios:EXSRV01",
	                             "ncacn_np:EXSRV01")}},
	    {.proptag = 0x8170101F, .value.MVszW = {1, strs(mem, 1, "ncacn_ip_tcp:10.1.2.3")}},
	};
	struct mp_call *c = get_props(mem, p, 2);
	assert_true(c->changed[MP_RESPONSE]);
	for (int i = 0; i < 2; i++) {
		struct mp_nspi_string_array *a = i ? &p[i].value.MVszW : &p[i].value.MVszA;
		assert_int_equal(a->count, 2);
		assert_string_equal(a->strs[0], "ncacn_ip_tcp:mproxy.edge.test");
		assert_string_equal(a->strs[1], "ncacn_http:mproxy.edge.test");
	}
	/* The FQDN alone, as another property's whole value: ours. */
	struct mp_nspi_propval q = {.proptag = 0x3001001F,
	                            .value.lpszW = talloc_strdup(mem, "EXSRV01.corp.test")};
	get_props(mem, &q, 1);
	assert_string_equal(q.value.lpszW, "mproxy.edge.test");
	stop(ctx);
	talloc_free(mem);
	(void)state;
}

static void test_dns_strings_entry_ids_search_keys(void **state)
{
	void *mem = talloc_new(NULL);
	struct mp_module_ctx *ctx = start(mem, NULL);
	/* A permanent entry ID of the server object (GUID_NSPI, DN). */
	struct mp_nspi_entryid e = {.kind = MP_NSPI_ENTRYID_PERMANENT,
	                            .provider_uid = mp_nspi_guid_nspi,
	                            .r4 = 1,
	                            .display_type = 0,
	                            .dn = SERVER_DN};
	size_t eid_len;
	uint8_t *eid = mp_nspi_entryid_build(mem, &e, &eid_len);
	const char key[] = "EX:/O=ORG/OU=AG/CN=CONFIGURATION/CN=SERVERS/CN=EXSRV01/CN=MICROSOFT "
	                   "PRIVATE MDB";
	struct mp_nspi_propval p[6] = {
	    {.proptag = 0x8006001E,
	     .value.lpszA = talloc_strdup(mem, SERVER_DN "/cn=Microsoft Private MDB")},
	    {.proptag = 0x8007001F, /* a home MTA: any DN-valued string */
	     .value.lpszW = talloc_strdup(mem, "/o=Org/ou=AG/cn=Configuration/CN=SERVERS/"
	                                       "cn=exsrv01/cn=Microsoft MTA")},
	    {.proptag = 0x0FFF0102, .value.bin = {(uint32_t)eid_len, eid}},
	    {.proptag = 0x300B0102,
	     .value.bin = {sizeof(key), (uint8_t *)talloc_memdup(mem, key, sizeof(key))}},
	    {.proptag = 0x800F101F, /* proxy addresses: one DN among others */
	     .value.MVszW = {2, strs(mem, 2, "SMTP:a@b.test", "X500:" SERVER_DN)}},
	    {.proptag = 0x3003001F, /* a user DN, not a server: untouched */
	     .value.lpszW = talloc_strdup(mem, "/o=Org/ou=AG/cn=Recipients/cn=Servers")},
	};
	get_props(mem, p, 6);
	assert_string_equal(p[0].value.lpszA, PROXY_DN "/cn=Microsoft Private MDB");
	assert_string_equal(p[1].value.lpszW,
	                    "/o=Org/ou=AG/cn=Configuration/CN=SERVERS/cn=mproxy/cn=Microsoft MTA");
	struct mp_nspi_entryid got;
	assert_true(mp_nspi_entryid_parse(p[2].value.bin.lpb, p[2].value.bin.cb, &got));
	assert_int_equal(got.kind, MP_NSPI_ENTRYID_PERMANENT);
	assert_string_equal(got.dn, PROXY_DN);
	assert_int_equal(p[2].value.bin.cb, 28 + strlen(PROXY_DN) + 1);
	assert_string_equal((const char *)p[3].value.bin.lpb,
	                    "EX:/O=ORG/OU=AG/CN=CONFIGURATION/CN=SERVERS/CN=MPROXY/CN=MICROSOFT "
	                    "PRIVATE MDB");
	assert_int_equal(p[3].value.bin.cb, strlen((const char *)p[3].value.bin.lpb) + 1);
	assert_string_equal(p[4].value.MVszW.strs[0], "SMTP:a@b.test");
	assert_string_equal(p[4].value.MVszW.strs[1], "X500:" PROXY_DN);
	assert_string_equal(p[5].value.lpszW, "/o=Org/ou=AG/cn=Recipients/cn=Servers");
	/* The server object's display name: the name learnt above. */
	struct mp_nspi_propval dn = {.proptag = 0x3001001E,
	                             .value.lpszA = talloc_strdup(mem, "exsrv01")};
	get_props(mem, &dn, 1);
	assert_string_equal(dn.value.lpszA, "mproxy");
	stop(ctx);
	talloc_free(mem);
	(void)state;
}

static void test_requests_go_back_to_the_first_server(void **state)
{
	void *mem = talloc_new(NULL);
	struct mp_module_ctx *ctx = start(mem, NULL);
	/* Nothing learnt yet: sent as it is. */
	assert_string_equal(restore(mem, PROXY_DN), PROXY_DN);
	struct mp_nspi_propval p[2] = {
	    {.proptag = 0x8006001F, .value.lpszW = talloc_strdup(mem, SERVER_DN "/cn=x")},
	    {.proptag = 0x8006001F, .value.lpszW = talloc_strdup(mem, ORG "OTHER/cn=x")},
	};
	struct mp_nspi_rowset set = {1, &(struct mp_nspi_row){.count = 2, .props = p}};
	struct mp_nspi_query_rows_rsp rsp = {.rows = &set};
	struct mp_call *c = call_on(mem, MP_ENDPOINT_NSPI, MP_NSPI_QUERY_ROWS);
	assert_int_equal(mapiproxy_module.push(c, &rsp), MP_MODULE_OK);
	assert_string_equal(p[0].value.lpszW, PROXY_DN "/cn=x");
	assert_string_equal(p[1].value.lpszW, PROXY_DN "/cn=x");
	/* Our name, in any case, goes back to the first server seen. */
	assert_string_equal(restore(mem, ORG "MPROXY"), SERVER_DN);
	assert_string_equal(restore(mem, PROXY_DN "/cn=Microsoft Private MDB"),
	                    SERVER_DN "/cn=Microsoft Private MDB");
	/* Not our name (a prefix of it, another server, no server): as is. */
	assert_string_equal(restore(mem, ORG "mprox"), ORG "mprox");
	assert_string_equal(restore(mem, ORG "mproxy2"), ORG "mproxy2");
	assert_string_equal(restore(mem, "/o=Org/cn=Recipients/cn=mproxy"),
	                    "/o=Org/cn=Recipients/cn=mproxy");
	/* RfrGetFQDNFromServerDN: the DN and its declared size. */
	struct mp_rfr_get_fqdn_req fq = {.cb = sizeof(PROXY_DN), .server_dn = PROXY_DN};
	c = call_on(mem, MP_ENDPOINT_RFR, MP_RFR_GET_FQDN_FROM_SERVER_DN);
	assert_int_equal(mapiproxy_module.pull(c, &fq), MP_MODULE_OK);
	assert_string_equal(fq.server_dn, SERVER_DN);
	assert_int_equal(fq.cb, sizeof(SERVER_DN));
	/* Calls of other interfaces, and requests that did not decode. */
	c = call_on(mem, MP_ENDPOINT_EMSMDB, MP_NSPI_DN_TO_MID);
	assert_int_equal(mapiproxy_module.pull(c, NULL), MP_MODULE_OK);
	assert_false(c->changed[MP_REQUEST]);
	stop(ctx);
	talloc_free(mem);
	(void)state;
}

static void test_pinned_server_name(void **state)
{
	void *mem = talloc_new(NULL);
	static const char *const opts[] = {"server name", "EXSRV01", "name", "EDGE", NULL};
	struct mp_module_ctx *ctx = start(mem, opts);
	assert_string_equal(restore(mem, ORG "edge"), SERVER_DN);
	/* A later reply naming another server does not move it. */
	struct mp_nspi_propval p = {.proptag = 0x8006001F,
	                            .value.lpszW = talloc_strdup(mem, ORG "OTHER")};
	get_props(mem, &p, 1);
	assert_string_equal(p.value.lpszW, ORG "EDGE");
	assert_string_equal(restore(mem, ORG "EDGE"), SERVER_DN);
	stop(ctx);
	talloc_free(mem);
	(void)state;
}

static void test_rfr_replies(void **state)
{
	void *mem = talloc_new(NULL);
	static const char *const opts[] = {"fqdn", "edge.example.test", NULL};
	struct mp_module_ctx *ctx = start(mem, opts);
	struct mp_rfr_get_new_dsa_rsp dsa = {.server = {true, talloc_strdup(mem, "dc1.corp")}};
	struct mp_call *c = call_on(mem, MP_ENDPOINT_RFR, MP_RFR_GET_NEW_DSA);
	assert_int_equal(mapiproxy_module.push(c, &dsa), MP_MODULE_OK);
	assert_string_equal(dsa.server.str, "edge.example.test");
	assert_true(c->changed[MP_RESPONSE]);
	/* No server in the reply (an error): nothing to change. */
	struct mp_rfr_get_new_dsa_rsp none = {.server = {true, NULL}, .result = 0x80070057};
	c = call_on(mem, MP_ENDPOINT_RFR, MP_RFR_GET_NEW_DSA);
	assert_int_equal(mapiproxy_module.push(c, &none), MP_MODULE_OK);
	assert_null(none.server.str);
	assert_false(c->changed[MP_RESPONSE]);
	struct mp_rfr_get_fqdn_rsp fq = {.fqdn = talloc_strdup(mem, "exsrv01.corp")};
	c = call_on(mem, MP_ENDPOINT_RFR, MP_RFR_GET_FQDN_FROM_SERVER_DN);
	assert_int_equal(mapiproxy_module.push(c, &fq), MP_MODULE_OK);
	assert_string_equal(fq.fqdn, "edge.example.test");
	/* A reply that did not decode goes out as it came. */
	c = call_on(mem, MP_ENDPOINT_RFR, MP_RFR_GET_NEW_DSA);
	assert_int_equal(mapiproxy_module.push(c, NULL), MP_MODULE_OK);
	assert_false(c->changed[MP_RESPONSE]);
	stop(ctx);
	talloc_free(mem);
	(void)state;
}

static void test_bad_options(void **state)
{
	static const char *const cases[][3] = {
	    {"fqdn", "a/b", "rewrite:fqdn 'a/b' is not a host name"},
	    {"fqdn", "192.0.2.1", "rewrite:fqdn 192.0.2.1 is an address"},
	    {"name", "a.b", "rewrite:name 'a.b' must be a single name"},
	    {"server name", "x/y", "rewrite:server name 'x/y' must be"},
	    {"bindings", "ncacn_ip_tcp ncacn_http!", "'ncacn_http!' is not a protocol sequence"},
	    {"bindings", ",", "rewrite:bindings is empty"},
	    {"bindings", "a b c d e f g h i", "'i' is one too many"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		void *mem = talloc_new(NULL);
		const char *opts[] = {cases[i][0], cases[i][1], NULL};
		struct mp_module_ctx *ctx = talloc_zero(mem, struct mp_module_ctx);
		ctx->opts = opts;
		current = ctx;
		assert_int_equal(mapiproxy_module.init(ctx), MP_MODULE_ERROR);
		if (!strstr(ctx->err, cases[i][2]))
			fail_msg("%s = %s: %s", cases[i][0], cases[i][1], ctx->err);
		mapiproxy_module.fini(ctx); /* the daemon calls fini only after init
		                             * succeeded; it must cope either way */
		talloc_free(mem);
	}
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bindings_all_replaced_endpoints_dropped),
	    cmocka_unit_test(test_dns_strings_entry_ids_search_keys),
	    cmocka_unit_test(test_requests_go_back_to_the_first_server),
	    cmocka_unit_test(test_pinned_server_name),
	    cmocka_unit_test(test_rfr_replies),
	    cmocka_unit_test(test_bad_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
