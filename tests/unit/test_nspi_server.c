/* Unit tests: the NSPI server module (src/server/nspi_server.c, nspi_gal.c)
 * called through serve() with a store in a temporary directory: requests
 * built with our NSPI codec, responses decoded with it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <talloc.h>

#include "dcerpc/pdu.h"
#include "mapi/nspi.h"
#include "proxy/conf.h"
#include "server/nspi_gal.h"
#include "server/server_conf.h"
#include "server/server_modules.h"
#include "server/store/store.h"
#include "util/config.h"
#include "util/status.h"

#define CONTEXT_MISMATCH 0x1c00001au
#define ORG "/o=First Organization/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"

struct fx {
	char dir[64];
	struct mp_config cfg;
	struct mp_proxy_conf conf;
	void *global;
	void *state;
	void *mem;
	uint32_t alice_mid, bob_mid;
	struct mp_ndr_handle h;
};

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char text[256], err[512] = "";
	snprintf(f->dir, sizeof(f->dir), "/tmp/mp-nspi-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(text, sizeof(text), "[global]\nmapiserver:data dir = %s/data\n", f->dir);
	assert_int_equal(mp_config_parse(&f->cfg, "t.conf", text, strlen(text), err, sizeof(err)),
	                 MP_OK);
	snprintf(f->conf.fqdn, sizeof(f->conf.fqdn), "mail.example.com");
	if (mp_server_nspi.init(&f->cfg, &f->conf, &f->global, err, sizeof(err)) != MP_OK)
		fail_msg("init: %s", err);
	struct mp_store *st = mp_server_store_current();
	assert_non_null(st);
	struct mp_store_user_new a = {
	    .name = "alice", .password = "pw", .display_name = "Alice Liddell"};
	struct mp_store_user_new b = {.name = "bob",
	                              .password = "pw",
	                              .display_name = "Bob Builder",
	                              .smtp = "bob@example.org"};
	struct mp_store_user_new c = {.name = "zed", .password = "pw", .display_name = "Zed Zulu"};
	uint32_t id;
	assert_int_equal(mp_store_user_add_simple(st, &b, &id, err, sizeof(err)), MP_OK);
	assert_int_equal(mp_store_user_add_simple(st, &a, &id, err, sizeof(err)), MP_OK);
	assert_int_equal(mp_store_user_add_simple(st, &c, &id, err, sizeof(err)), MP_OK);
	f->mem = talloc_new(NULL);
	struct mp_store_txn *txn;
	struct mp_store_user *u;
	assert_int_equal(mp_store_txn_begin(st, false, &txn), MP_OK);
	assert_int_equal(mp_store_user_by_name(txn, "alice", f->mem, &u), MP_OK);
	f->alice_mid = u->mid;
	assert_int_equal(mp_store_user_by_name(txn, "bob", f->mem, &u), MP_OK);
	f->bob_mid = u->mid;
	mp_store_txn_abort(txn);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	mp_server_nspi.session_end(f->global, f->state);
	mp_server_nspi.shutdown(f->global);
	mp_config_free(&f->cfg);
	nftw(f->dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	talloc_free(f->mem);
	free(f);
	return 0;
}

/* Serve raw stub bytes: MP_OK and *rsp decoded, or the error with *fault. */
static int serve_raw(struct fx *f, uint16_t opnum, const uint8_t *stub, size_t len, void **rsp,
                     uint32_t *fault)
{
	struct mp_wbuf out;
	mp_wb_init(&out);
	*fault = 0;
	struct mp_server_call c = {
	    .conf = &f->conf,
	    .session_id = 1,
	    .user = "alice",
	    .domain = "",
	    .auth_level = 6,
	    .global = f->global,
	    .session_state = &f->state,
	    .opnum = opnum,
	    .stub = stub,
	    .len = len,
	    .out = &out,
	    .fault = fault,
	};
	int rc = mp_server_nspi.serve(&c);
	if (rc == MP_OK && rsp) {
		const char *why = NULL;
		struct mp_mapi_call *call = mp_mapi_decode(
		    f->mem, MP_MAPI_NSPI, opnum, MP_CALL_RESPONSE, out.data, out.len, &why);
		if (!call)
			fail_msg("opnum %u: response does not decode: %s", opnum, why);
		*rsp = call->body;
	}
	mp_wb_free(&out);
	return rc;
}

static void *call(struct fx *f, uint16_t opnum, const void *req)
{
	struct mp_wbuf in;
	void *rsp = NULL;
	uint32_t fault;
	mp_wb_init(&in);
	assert_true(mp_nspi_push(opnum, MP_CALL_REQUEST, req, &in));
	int rc = serve_raw(f, opnum, in.data, in.len, &rsp, &fault);
	mp_wb_free(&in);
	if (rc != MP_OK)
		fail_msg("opnum %u: fault 0x%08x", opnum, fault);
	return rsp;
}

static uint32_t call_fault(struct fx *f, uint16_t opnum, const void *req)
{
	struct mp_wbuf in;
	uint32_t fault;
	mp_wb_init(&in);
	assert_true(mp_nspi_push(opnum, MP_CALL_REQUEST, req, &in));
	assert_int_not_equal(serve_raw(f, opnum, in.data, in.len, NULL, &fault), MP_OK);
	mp_wb_free(&in);
	return fault;
}

static struct mp_nspi_stat stat_at(uint32_t cur)
{
	return (struct mp_nspi_stat){
	    .cur_rec = cur, .code_page = 1252, .template_locale = 0x409, .sort_locale = 0x409};
}

static void bind(struct fx *f)
{
	struct mp_nspi_flatuid g = {{0}};
	struct mp_nspi_bind_req q = {.stat = stat_at(0), .server_guid = &g};
	struct mp_nspi_bind_rsp *r = call(f, MP_NSPI_BIND, &q);
	assert_int_equal(r->result, 0);
	assert_non_null(r->server_guid);
	uint8_t zero[16] = {0};
	assert_memory_not_equal(r->handle.uuid, zero, 16);
	assert_memory_not_equal(r->server_guid->ab, zero, 16);
	f->h = r->handle;
}

static struct mp_nspi_proptags *tags(struct fx *f, int n, ...)
{
	struct mp_nspi_proptags *t = talloc_zero(f->mem, struct mp_nspi_proptags);
	t->tags = talloc_array(t, uint32_t, n);
	va_list ap;
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		t->tags[i] = va_arg(ap, uint32_t);
	va_end(ap);
	t->count = (uint32_t)n;
	return t;
}

static void test_bind_query_rows(void **state)
{
	struct fx *f = *state;
	bind(f);
	struct mp_nspi_query_rows_req q = {
	    .handle = f->h,
	    .stat = stat_at(MP_NSPI_MID_BEGINNING),
	    .count = 2,
	    .prop_tags = tags(f, 3, MP_PR_DISPLAY_NAME, 0x39FE001Eu, MP_PR_OBJECT_TYPE),
	};
	struct mp_nspi_query_rows_rsp *r = call(f, MP_NSPI_QUERY_ROWS, &q);
	assert_int_equal(r->result, 0);
	assert_int_equal(r->rows->count, 2);
	/* Sorted by display name although bob was created first. */
	assert_string_equal(r->rows->rows[0].props[0].value.lpszW, "Alice Liddell");
	assert_string_equal(r->rows->rows[1].props[0].value.lpszW, "Bob Builder");
	assert_int_equal(r->rows->rows[1].props[1].proptag, 0x39FE001Eu); /* String8 as asked */
	assert_string_equal(r->rows->rows[1].props[1].value.lpszA, "bob@example.org");
	assert_int_equal(r->rows->rows[0].props[2].value.l, 6); /* MAPI_MAILUSER */
	/* The STAT moved past the rows: on Zed now. */
	assert_int_equal(r->stat.num_pos, 2);
	assert_int_equal(r->stat.total_recs, 3);
	assert_int_not_equal(r->stat.cur_rec, MP_NSPI_MID_END);
	q.stat = r->stat;
	r = call(f, MP_NSPI_QUERY_ROWS, &q);
	assert_int_equal(r->rows->count, 1);
	assert_string_equal(r->rows->rows[0].props[0].value.lpszW, "Zed Zulu");
	assert_int_equal(r->stat.cur_rec, MP_NSPI_MID_END);
	/* An explicit table: these MIds in this order, unknown ones as errors. */
	uint32_t et[3] = {f->bob_mid, 0x7777, f->alice_mid};
	struct mp_nspi_query_rows_req e = {.handle = f->h,
	                                   .stat = stat_at(0),
	                                   .etable_count = 3,
	                                   .etable = et,
	                                   .count = 3,
	                                   .prop_tags = tags(f, 1, MP_PR_ACCOUNT)};
	r = call(f, MP_NSPI_QUERY_ROWS, &e);
	assert_int_equal(r->rows->count, 3);
	assert_string_equal(r->rows->rows[0].props[0].value.lpszW, "bob");
	assert_int_equal(r->rows->rows[1].props[0].proptag, 0x3A00000Au);
	assert_int_equal((uint32_t)r->rows->rows[1].props[0].value.err, MP_NSPI_E_NOT_FOUND);
	assert_string_equal(r->rows->rows[2].props[0].value.lpszW, "alice");
}

static void test_bind_unicode_code_page_refused(void **state)
{
	struct fx *f = *state;
	struct mp_nspi_bind_req q = {.stat = stat_at(0)};
	q.stat.code_page = MP_NSPI_CP_WINUNICODE;
	struct mp_nspi_bind_rsp *r = call(f, MP_NSPI_BIND, &q);
	assert_int_equal(r->result, MP_NSPI_E_UNKNOWN_CPID);
	assert_null(r->server_guid);
}

static void test_dn_to_mid_and_get_props(void **state)
{
	struct fx *f = *state;
	bind(f);
	char *dns[3] = {ORG "/cn=Recipients/cn=BOB", ORG "/cn=Recipients/cn=nobody", NULL};
	struct mp_nspi_dn_to_mid_req q = {.handle = f->h, .names = {.count = 3, .strs = dns}};
	struct mp_nspi_dn_to_mid_rsp *r = call(f, MP_NSPI_DN_TO_MID, &q);
	assert_int_equal(r->mids->count, 3);
	assert_int_equal(r->mids->tags[0], f->bob_mid);
	assert_int_equal(r->mids->tags[1], 0);
	assert_int_equal(r->mids->tags[2], 0);

	struct mp_nspi_get_props_req p = {
	    .handle = f->h,
	    .flags = MP_NSPI_F_EPH_ID,
	    .stat = stat_at(f->bob_mid),
	    .prop_tags =
	        tags(f, 7, MP_PR_EMAIL_ADDRESS, MP_PR_EMS_AB_HOME_MDB, MP_PR_EMS_AB_NETWORK_ADDRESS,
	             MP_PR_ENTRYID, MP_PR_INSTANCE_KEY, MP_PR_ADDRTYPE, 0x66660003u),
	};
	struct mp_nspi_get_props_rsp *g = call(f, MP_NSPI_GET_PROPS, &p);
	assert_int_equal(g->result, MP_NSPI_WARN_WITH_ERRORS);
	struct mp_nspi_propval *v = g->row->props;
	assert_int_equal(g->row->count, 7);
	assert_string_equal(v[0].value.lpszW, ORG "/cn=Recipients/cn=bob");
	assert_string_equal(v[1].value.lpszW,
	                    ORG "/cn=Configuration/cn=Servers/cn=mail/cn=Microsoft "
	                        "Private MDB");
	assert_int_equal(v[2].value.MVszW.count, 1);
	assert_string_equal(v[2].value.MVszW.strs[0], "ncacn_ip_tcp:mail.example.com");
	struct mp_nspi_entryid e;
	assert_true(mp_nspi_entryid_parse(v[3].value.bin.lpb, v[3].value.bin.cb, &e));
	assert_int_equal(e.kind, MP_NSPI_ENTRYID_EPHEMERAL); /* fEphID asked */
	assert_int_equal(e.mid, f->bob_mid);
	assert_int_equal(v[4].value.bin.cb, 4);
	assert_int_equal(v[4].value.bin.lpb[0] | v[4].value.bin.lpb[1] << 8, f->bob_mid & 0xffff);
	assert_string_equal(v[5].value.lpszW, "EX");
	assert_int_equal(v[6].proptag, 0x6666000Au);
	/* Without fEphID: a permanent ID ending in the DN. */
	p.flags = 0;
	p.prop_tags = tags(f, 1, MP_PR_ENTRYID);
	g = call(f, MP_NSPI_GET_PROPS, &p);
	assert_int_equal(g->result, 0);
	assert_true(mp_nspi_entryid_parse(g->row->props[0].value.bin.lpb,
	                                  g->row->props[0].value.bin.cb, &e));
	assert_int_equal(e.kind, MP_NSPI_ENTRYID_PERMANENT);
	assert_string_equal(e.dn, ORG "/cn=Recipients/cn=bob");
	/* An unknown MId. */
	p.stat = stat_at(0x999999);
	g = call(f, MP_NSPI_GET_PROPS, &p);
	assert_int_equal(g->result, MP_NSPI_E_NOT_FOUND);
	assert_null(g->row);
}

static void test_resolve_names(void **state)
{
	struct fx *f = *state;
	bind(f);
	char *names[5] = {"alice", "SMTP:bob@example.org", "nobody", "b", "l"};
	struct mp_nspi_resolve_names_req q = {.handle = f->h,
	                                      .stat = stat_at(0),
	                                      .prop_tags = tags(f, 1, MP_PR_DISPLAY_NAME),
	                                      .names = {.count = 5, .strs = names}};
	struct mp_nspi_resolve_names_rsp *r = call(f, MP_NSPI_RESOLVE_NAMES_W, &q);
	assert_int_equal(r->result, 0);
	assert_int_equal(r->mids->count, 5);
	assert_int_equal(r->mids->tags[0], f->alice_mid);
	assert_int_equal(r->mids->tags[1], f->bob_mid);
	assert_int_equal(r->mids->tags[2], MP_NSPI_MID_UNRESOLVED);
	assert_int_equal(r->mids->tags[3], f->bob_mid);   /* "b": bob's name prefix, Bob Builder */
	assert_int_equal(r->mids->tags[4], f->alice_mid); /* "l": Liddell, a word of the name */
	assert_int_equal(r->rows->count, 4);
	/* 8-bit names in the code page; ambiguous prefix "Z"/"B"? "a" hits alice only. */
	char *n8[2] = {"\xc9ve", "zed"};
	q.names.strs = n8;
	q.names.count = 2;
	q.prop_tags = tags(f, 1, 0x3001001Eu);
	r = call(f, MP_NSPI_RESOLVE_NAMES, &q);
	assert_int_equal(r->mids->tags[0], MP_NSPI_MID_UNRESOLVED);
	assert_int_equal(r->rows->count, 1);
	assert_string_equal(r->rows->rows[0].props[0].value.lpszA, "Zed Zulu");
}

static void test_get_matches(void **state)
{
	struct fx *f = *state;
	bind(f);
	struct mp_nspi_propval anr = {.proptag = 0x360C001Fu, .value.lpszW = "zul"};
	struct mp_nspi_restriction res = {
	    .rt = MP_NSPI_RES_PROPERTY,
	    .res.property = {.relop = 4, .proptag = 0x360C001Fu, .prop = &anr}};
	struct mp_nspi_get_matches_req q = {.handle = f->h,
	                                    .stat = stat_at(0),
	                                    .filter = &res,
	                                    .requested = 10,
	                                    .prop_tags = tags(f, 1, MP_PR_DISPLAY_NAME)};
	struct mp_nspi_get_matches_rsp *r = call(f, MP_NSPI_GET_MATCHES, &q);
	assert_int_equal(r->result, 0);
	assert_int_equal(r->mids->count, 1);
	assert_string_equal(r->rows->rows[0].props[0].value.lpszW, "Zed Zulu");
	/* Prefix content restriction, case-insensitive: "a" and "b"? no: "Bo". */
	struct mp_nspi_propval pre = {.proptag = MP_PR_DISPLAY_NAME, .value.lpszW = "bo"};
	struct mp_nspi_restriction c = {
	    .rt = MP_NSPI_RES_CONTENT,
	    .res.content = {.fuzzy_level = 0x10002, .proptag = MP_PR_DISPLAY_NAME, .prop = &pre}};
	struct mp_nspi_restriction n = {.rt = MP_NSPI_RES_NOT, .res.not_.res = &c};
	q.filter = &n;
	r = call(f, MP_NSPI_GET_MATCHES, &q);
	assert_int_equal(r->mids->count, 2);
	assert_int_equal(r->mids->tags[0], f->alice_mid);
	/* More than requested: MAPI_E_TABLE_TOO_BIG. */
	q.requested = 1;
	r = call(f, MP_NSPI_GET_MATCHES, &q);
	assert_int_equal(r->result, MP_NSPI_E_TABLE_TOO_BIG);
	assert_null(r->mids);
	/* A restriction we cannot evaluate: MAPI_E_TOO_COMPLEX. */
	struct mp_nspi_restriction sub = {.rt = MP_NSPI_RES_SUB, .res.sub = {.res = &c}};
	q.filter = &sub;
	q.requested = 10;
	r = call(f, MP_NSPI_GET_MATCHES, &q);
	assert_int_equal(r->result, MP_NSPI_E_TOO_COMPLEX);
}

static void test_stat_seek_compare_resort(void **state)
{
	struct fx *f = *state;
	bind(f);
	int32_t delta = 0;
	struct mp_nspi_update_stat_req u = {
	    .handle = f->h, .stat = stat_at(f->alice_mid), .delta = &delta};
	u.stat.delta = 5;
	struct mp_nspi_update_stat_rsp *ur = call(f, MP_NSPI_UPDATE_STAT, &u);
	assert_int_equal(ur->stat.cur_rec, MP_NSPI_MID_END); /* clamped at the end */
	assert_int_equal(ur->stat.num_pos, 3);
	assert_int_equal(*ur->delta, 3);

	struct mp_nspi_seek_entries_req s = {
	    .handle = f->h,
	    .stat = stat_at(0),
	    .target = {.proptag = MP_PR_DISPLAY_NAME, .value.lpszW = "bz"}};
	struct mp_nspi_seek_entries_rsp *sr = call(f, MP_NSPI_SEEK_ENTRIES, &s);
	assert_int_equal(sr->result, 0);
	assert_int_equal(sr->stat.num_pos, 2); /* first name >= "bz": Zed Zulu */
	s.target.value.lpszW = "zz";
	sr = call(f, MP_NSPI_SEEK_ENTRIES, &s);
	assert_int_equal(sr->result, MP_NSPI_E_NOT_FOUND);

	struct mp_nspi_compare_mids_req c = {
	    .handle = f->h, .stat = stat_at(0), .mid1 = f->bob_mid, .mid2 = f->alice_mid};
	struct mp_nspi_compare_mids_rsp *cr = call(f, MP_NSPI_COMPARE_MIDS, &c);
	assert_int_equal(cr->result, 0);
	assert_true(cr->cmp > 0);
	c.mid2 = 0x4242;
	cr = call(f, MP_NSPI_COMPARE_MIDS, &c);
	assert_int_equal(cr->result, MP_NSPI_E_NOT_FOUND);

	uint32_t in[3] = {f->bob_mid, 0x4242, f->alice_mid};
	struct mp_nspi_resort_restriction_req rr = {
	    .handle = f->h, .stat = stat_at(f->bob_mid), .in_mids = {.count = 3, .tags = in}};
	struct mp_nspi_resort_restriction_rsp *rs = call(f, MP_NSPI_RESORT_RESTRICTION, &rr);
	assert_int_equal(rs->out_mids->count, 2);
	assert_int_equal(rs->out_mids->tags[0], f->alice_mid);
	assert_int_equal(rs->out_mids->tags[1], f->bob_mid);
	assert_int_equal(rs->stat.num_pos, 1);
}

static void test_tables_and_read_only(void **state)
{
	struct fx *f = *state;
	bind(f);
	struct mp_nspi_get_special_table_req st = {
	    .handle = f->h, .flags = MP_NSPI_F_UNICODE_STRINGS, .stat = stat_at(0)};
	struct mp_nspi_get_special_table_rsp *sr = call(f, MP_NSPI_GET_SPECIAL_TABLE, &st);
	assert_int_equal(sr->result, 0);
	assert_int_equal(sr->rows->count, 1);
	struct mp_nspi_propval *flags = mp_nspi_row_find(&sr->rows->rows[0], MP_PR_CONTAINER_FLAGS);
	assert_non_null(flags);
	assert_int_equal(flags->value.l, 9);
	st.flags = MP_NSPI_F_ADDR_TEMPLATES;
	sr = call(f, MP_NSPI_GET_SPECIAL_TABLE, &st);
	assert_int_equal(sr->rows->count, 0);

	struct mp_nspi_query_columns_req qc = {.handle = f->h,
	                                       .flags = MP_NSPI_F_UNICODE_PROPTYPES};
	struct mp_nspi_query_columns_rsp *cr = call(f, MP_NSPI_QUERY_COLUMNS, &qc);
	bool has = false;
	for (uint32_t i = 0; i < cr->columns->count; i++)
		has = has || cr->columns->tags[i] == MP_PR_SMTP_ADDRESS;
	assert_true(has);
	struct mp_nspi_get_prop_list_req pl = {
	    .handle = f->h, .mid = f->alice_mid, .code_page = 1252};
	struct mp_nspi_get_prop_list_rsp *pr = call(f, MP_NSPI_GET_PROP_LIST, &pl);
	has = false;
	for (uint32_t i = 0; i < pr->prop_tags->count; i++)
		has = has || pr->prop_tags->tags[i] == 0x39FE001Eu; /* String8 for code page 1252 */
	assert_true(has);

	struct mp_nspi_mod_props_req mp = {.handle = f->h, .stat = stat_at(f->alice_mid)};
	struct mp_nspi_mod_props_rsp *mr = call(f, MP_NSPI_MOD_PROPS, &mp);
	assert_int_equal(mr->result, MP_NSPI_E_NO_ACCESS);
	struct mp_nspi_mod_link_att_req ml = {.handle = f->h, .mid = f->alice_mid};
	struct mp_nspi_mod_link_att_rsp *lr = call(f, MP_NSPI_MOD_LINK_ATT, &ml);
	assert_int_equal(lr->result, MP_NSPI_E_NO_ACCESS);
	struct mp_nspi_get_template_info_req ti = {.handle = f->h, .type = 6, .code_page = 1252};
	struct mp_nspi_get_template_info_rsp *tr = call(f, MP_NSPI_GET_TEMPLATE_INFO, &ti);
	assert_int_equal(tr->result, MP_NSPI_E_NOT_FOUND);
	assert_null(tr->data);
}

static void test_bad_handles(void **state)
{
	struct fx *f = *state;
	struct mp_nspi_query_rows_req q = {.stat = stat_at(0), .count = 1};
	/* Before any bind: no session state, the runtime's context mismatch. */
	assert_int_equal(call_fault(f, MP_NSPI_QUERY_ROWS, &q), CONTEXT_MISMATCH);
	bind(f);
	q.handle = f->h;
	q.handle.uuid[0] ^= 1;
	assert_int_equal(call_fault(f, MP_NSPI_QUERY_ROWS, &q), CONTEXT_MISMATCH);
	/* Unbind closes the handle: 1 and a zeroed handle; later calls fault. */
	struct mp_nspi_unbind_req u = {.handle = f->h};
	struct mp_nspi_unbind_rsp *ur = call(f, MP_NSPI_UNBIND, &u);
	assert_int_equal(ur->result, 1);
	uint8_t zero[16] = {0};
	assert_memory_equal(ur->handle.uuid, zero, 16);
	q.handle = f->h;
	assert_int_equal(call_fault(f, MP_NSPI_QUERY_ROWS, &q), CONTEXT_MISMATCH);
}

static void test_malformed_stubs_refused(void **state)
{
	struct fx *f = *state;
	bind(f);
	uint8_t junk[64];
	uint32_t fault;
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(0xA5 ^ i * 7);
	for (uint16_t op = 0; op < MP_NSPI_OPNUM_COUNT; op++) {
		/* Truncated: every request has at least a handle or flags + STAT. */
		assert_int_not_equal(serve_raw(f, op, junk, 3, NULL, &fault), MP_OK);
		assert_int_not_equal(fault, 0);
		(void)serve_raw(f, op, junk, sizeof(junk), NULL, &fault); /* no crash */
	}
	assert_int_not_equal(serve_raw(f, 21, junk, 20, NULL, &fault), MP_OK);
	assert_int_equal(fault, MP_NCA_S_OP_RNG_ERROR);
	/* The session survives: its handle still works. */
	struct mp_nspi_query_rows_req q = {.handle = f->h,
	                                   .stat = stat_at(0),
	                                   .count = 1,
	                                   .prop_tags = tags(f, 1, MP_PR_DISPLAY_NAME)};
	struct mp_nspi_query_rows_rsp *r = call(f, MP_NSPI_QUERY_ROWS, &q);
	assert_int_equal(r->rows->count, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_bind_query_rows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bind_unicode_code_page_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dn_to_mid_and_get_props, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_names, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_get_matches, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stat_seek_compare_resort, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tables_and_read_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_handles, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_stubs_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
