/*
 * Unit tests: NSPI and RFR call codecs against an independent encoder,
 * impacket (impacket.dcerpc.v5.nspi and .oxabref).
 *
 * tests/unit/data/gen_nspi_impacket.py built every file of
 * tests/unit/data/nspi/ with impacket (corrected where impacket departs from
 * the MS-OXNSPI IDL; the script lists each correction). Each file must
 * decode with our codec, show the values the script put in, and encode
 * back to the same bytes: impacket's referent IDs are random and it fills
 * alignment gaps with 0xaa/0xbb/0xcc/..., so this also checks the
 * referent-ID and gap replay of src/ndr.
 *
 * The other direction: `test_nspi_impacket --emit-ours DIR` writes calls
 * built here from C structures (encoded without replay: Samba-style IDs,
 * zero gaps); tests/system/test_nspi_impacket.py has impacket decode them
 * and checks the values.
 *
 * The data directory is $MP_TEST_DATA_DIR, else argv[1], else data/ next to
 * this source file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

#include "mapi/nspi.h"
#include "mapi/rfr.h"
#include "test_data.h"

static const char *data_dir;

#define NSPI MP_MAPI_NSPI
#define RFR MP_MAPI_RFR
#define REQ MP_CALL_REQUEST
#define RSP MP_CALL_RESPONSE

struct vec {
	const char *file;
	enum mp_mapi_iface iface;
	uint16_t opnum;
	enum mp_call_dir dir;
};

static const struct vec vectors[] = {
	{"bind_req", NSPI, 0, REQ},
	{"bind_rsp", NSPI, 0, RSP},
	{"unbind_req", NSPI, 1, REQ},
	{"unbind_rsp", NSPI, 1, RSP},
	{"update_stat_req", NSPI, 2, REQ},
	{"update_stat_rsp", NSPI, 2, RSP},
	{"query_rows_req", NSPI, 3, REQ},
	{"query_rows_rsp", NSPI, 3, RSP},
	{"seek_entries_req", NSPI, 4, REQ},
	{"seek_entries_rsp", NSPI, 4, RSP},
	{"get_matches_req", NSPI, 5, REQ},
	{"get_matches_rsp", NSPI, 5, RSP},
	{"get_matches_propname_req", NSPI, 5, REQ},
	{"resort_restriction_req", NSPI, 6, REQ},
	{"resort_restriction_rsp", NSPI, 6, RSP},
	{"dn_to_mid_req", NSPI, 7, REQ},
	{"dn_to_mid_rsp", NSPI, 7, RSP},
	{"get_prop_list_req", NSPI, 8, REQ},
	{"get_prop_list_rsp", NSPI, 8, RSP},
	{"get_props_req", NSPI, 9, REQ},
	{"get_props_rsp", NSPI, 9, RSP},
	{"compare_mids_req", NSPI, 10, REQ},
	{"compare_mids_rsp", NSPI, 10, RSP},
	{"mod_props_req", NSPI, 11, REQ},
	{"mod_props_rsp", NSPI, 11, RSP},
	{"get_special_table_req", NSPI, 12, REQ},
	{"get_special_table_rsp", NSPI, 12, RSP},
	{"get_template_info_req", NSPI, 13, REQ},
	{"get_template_info_rsp", NSPI, 13, RSP},
	{"mod_link_att_req", NSPI, 14, REQ},
	{"mod_link_att_rsp", NSPI, 14, RSP},
	{"delete_entries_req", NSPI, 15, REQ},
	{"delete_entries_rsp", NSPI, 15, RSP},
	{"query_columns_req", NSPI, 16, REQ},
	{"query_columns_rsp", NSPI, 16, RSP},
	{"get_names_from_ids_req", NSPI, 17, REQ},
	{"get_names_from_ids_rsp", NSPI, 17, RSP},
	{"get_names_from_ids_guid_req", NSPI, 17, REQ},
	{"get_ids_from_names_req", NSPI, 18, REQ},
	{"get_ids_from_names_rsp", NSPI, 18, RSP},
	{"resolve_names_req", NSPI, 19, REQ},
	{"resolve_names_rsp", NSPI, 19, RSP},
	{"resolve_names_w_req", NSPI, 20, REQ},
	{"resolve_names_w_rsp", NSPI, 20, RSP},
	{"rfr_get_new_dsa_req", RFR, 0, REQ},
	{"rfr_get_new_dsa_rsp", RFR, 0, RSP},
	{"rfr_get_fqdn_req", RFR, 1, REQ},
	{"rfr_get_fqdn_rsp", RFR, 1, RSP},
};
#define NVECTORS (sizeof(vectors) / sizeof(vectors[0]))

/* Values of gen_nspi_impacket.py. */
static const uint8_t server_guid[16] = {0xab, 0xbc, 0x8b, 0x86, 0x79, 0x33, 0xc4, 0x48,
					0xa1, 0xef, 0x1b, 0x53, 0xe6, 0x3b, 0xdc, 0x46};
static const uint8_t handle_uuid[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
					0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
#define ORG "/o=First Organization/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
#define USER_DN ORG "/cn=Recipients/cn=jdoe"
#define SERVER_DN ORG "/cn=Configuration/cn=Servers/cn=EXCH01"
#define FT1 0x01D9A1B2C3D4E5F6ull
#define FT2 0x01C0000000000001ull

static const struct vec *find_vec(const char *file)
{
	for (size_t i = 0; i < NVECTORS; i++)
		if (strcmp(vectors[i].file, file) == 0)
			return &vectors[i];
	fail_msg("no vector %s", file);
	return NULL;
}

static struct blob load(const char *name)
{
	char path[1024];
	struct blob b;
	snprintf(path, sizeof(path), "%s/nspi/%s.bin", data_dir, name);
	if (!read_path(path, &b))
		fail_msg("cannot read %s (set MP_TEST_DATA_DIR)", path);
	return b;
}

/* Decode a vector file; *b keeps the bytes (free b->p). */
static struct mp_mapi_call *decode_file(void *mem, const char *name, struct blob *b)
{
	const struct vec *v = find_vec(name);
	const char *why = NULL;
	*b = load(name);
	struct mp_mapi_call *call = mp_mapi_decode(mem, v->iface, v->opnum, v->dir, b->p, b->len,
						   &why);
	if (!call)
		fail_msg("%s: %s", name, why);
	return call;
}

static void assert_encodes_to(const struct mp_mapi_call *call, const uint8_t *p, size_t len)
{
	struct mp_wbuf out;
	mp_wb_init(&out);
	assert_true(mp_mapi_encode(call, &out));
	assert_int_equal(out.len, len);
	assert_memory_equal(out.data, p, len);
	mp_wb_free(&out);
}

static char *print_call(void *mem, const struct mp_mapi_call *call, enum mp_printer_format fmt)
{
	struct mp_printer *p = mp_printer_new(fmt);
	assert_non_null(p);
	mp_mapi_print(p, call);
	assert_false(mp_printer_failed(p));
	char *s = talloc_strdup(mem, mp_printer_output(p, NULL));
	mp_printer_free(p);
	return s;
}

/* Every NSPI opnum 0..20 and both RFR opnums have a full codec; nothing
 * above. */
static void test_codec_tables(void **state)
{
	static const char *const names[] = {
		"NspiBind", "NspiUnbind", "NspiUpdateStat", "NspiQueryRows", "NspiSeekEntries",
		"NspiGetMatches", "NspiResortRestriction", "NspiDNToMId", "NspiGetPropList",
		"NspiGetProps", "NspiCompareMIds", "NspiModProps", "NspiGetSpecialTable",
		"NspiGetTemplateInfo", "NspiModLinkAtt", "NspiDeleteEntries", "NspiQueryColumns",
		"NspiGetNamesFromIDs", "NspiGetIDsFromNames", "NspiResolveNames",
		"NspiResolveNamesW",
	};
	for (uint16_t op = 0; op <= 20; op++) {
		const struct mp_call_codec *c = mp_nspi_codec(op);
		assert_non_null(c);
		assert_ptr_equal(c, mp_call_codec(NSPI, op));
		assert_string_equal(c->name, names[op]);
		for (int d = 0; d < 2; d++) {
			assert_non_null(c->pull[d]);
			assert_non_null(c->push[d]);
			assert_non_null(c->print[d]);
			assert_true(c->size[d] > 0);
		}
	}
	assert_null(mp_nspi_codec(21));
	assert_null(mp_nspi_codec(0xFFFF));
	assert_string_equal(mp_rfr_codec(0)->name, "RfrGetNewDSA");
	assert_string_equal(mp_rfr_codec(1)->name, "RfrGetFQDNFromServerDN");
	assert_ptr_equal(mp_rfr_codec(1), mp_call_codec(RFR, 1));
	assert_null(mp_rfr_codec(2));
}

/* Every impacket vector decodes, re-encodes to the same bytes, prints. */
static void test_all_vectors_round_trip(void **state)
{
	for (size_t i = 0; i < NVECTORS; i++) {
		void *mem = talloc_new(NULL);
		struct blob b;
		struct mp_mapi_call *call = decode_file(mem, vectors[i].file, &b);
		assert_encodes_to(call, b.p, b.len);
		char *t = print_call(mem, call, MP_PRINT_TEXT);
		assert_non_null(strstr(t, call->codec->name));
		char *j = print_call(mem, call, MP_PRINT_JSON);
		assert_true(j[0] == '{' && j[strlen(j) - 1] == '}');
		free(b.p);
		talloc_free(mem);
	}
}

/* impacket pads alignment gaps with non-zero bytes: the round trip above
 * only works because those gaps are replayed. Check that some are there. */
static void test_vectors_have_nonzero_gaps(void **state)
{
	void *mem = talloc_new(NULL);
	struct blob b;
	struct mp_mapi_call *call = decode_file(mem, "get_props_rsp", &b);
	assert_true(call->refs.npads > 0);
	assert_true(call->refs.count > 10);
	/* Without the replay the gaps come out as zeros: same length, other bytes. */
	struct mp_mapi_call bare = *call;
	bare.refs.npads = 0;
	struct mp_wbuf out;
	mp_wb_init(&out);
	assert_true(mp_mapi_encode(&bare, &out));
	assert_int_equal(out.len, b.len);
	assert_true(memcmp(out.data, b.p, b.len) != 0);
	mp_wb_free(&out);
	free(b.p);
	talloc_free(mem);
}

static void assert_spec_stat(const struct mp_nspi_stat *s)
{
	/* MS-OXNSPI section 4, NspiBind request. */
	assert_int_equal(s->sort_type, 0);
	assert_int_equal(s->container_id, 0);
	assert_int_equal(s->cur_rec, 0);
	assert_int_equal(s->delta, 0);
	assert_int_equal(s->code_page, 0x4e4);
	assert_int_equal(s->template_locale, 0x409);
	assert_int_equal(s->sort_locale, 0x409);
}

static void test_bind(void **state)
{
	void *mem = talloc_new(NULL);
	struct blob b;
	struct mp_mapi_call *call = decode_file(mem, "bind_req", &b);
	const struct mp_nspi_bind_req *rq = call->body;
	assert_int_equal(rq->flags, 0);
	assert_spec_stat(&rq->stat);
	assert_non_null(rq->server_guid);
	static const uint8_t zero[16];
	assert_memory_equal(rq->server_guid->ab, zero, 16);
	free(b.p);

	call = decode_file(mem, "bind_rsp", &b);
	const struct mp_nspi_bind_rsp *rs = call->body;
	assert_non_null(rs->server_guid);
	assert_memory_equal(rs->server_guid->ab, server_guid, 16);
	assert_int_equal(rs->handle.attributes, 0);
	assert_memory_equal(rs->handle.uuid, handle_uuid, 16);
	assert_int_equal(rs->result, 0);
	char *t = print_call(mem, call, MP_PRINT_TEXT);
	assert_non_null(strstr(t, "pServerGuid: {868bbcab-3379-48c4-a1ef-1b53e63bdc46}"));
	free(b.p);

	call = decode_file(mem, "unbind_rsp", &b);
	const struct mp_nspi_unbind_rsp *ur = call->body;
	assert_int_equal(ur->result, 1);
	free(b.p);
	talloc_free(mem);
}

static void test_update_stat(void **state)
{
	void *mem = talloc_new(NULL);
	struct blob b;
	struct mp_mapi_call *call = decode_file(mem, "update_stat_req", &b);
	const struct mp_nspi_update_stat_req *rq = call->body;
	assert_memory_equal(rq->handle.uuid, handle_uuid, 16);
	assert_int_equal(rq->stat.container_id, 0x10);
	assert_int_equal(rq->stat.cur_rec, 0x20);
	assert_int_equal(rq->stat.delta, -3);
	assert_non_null(rq->delta);
	assert_int_equal(*rq->delta, 5);
	free(b.p);
	call = decode_file(mem, "update_stat_rsp", &b);
	const struct mp_nspi_update_stat_rsp *rs = call->body;
	assert_int_equal(rs->stat.cur_rec, 0x30);
	assert_null(rs->delta);
	free(b.p);
	talloc_free(mem);
}

/* A row of the query_rows/get_matches/resolve_names vectors (small_row()). */
static void assert_small_row(const struct mp_nspi_row *r, uint32_t mid, const char *name)
{
	struct mp_nspi_entryid e;
	assert_int_equal(r->count, 4);
	assert_non_null(r->props);
	const struct mp_nspi_propval *v = mp_nspi_row_find(r, 0x0FFF0102);
	assert_non_null(v);
	assert_int_equal(v->value.bin.cb, 32);
	assert_true(mp_nspi_entryid_parse(v->value.bin.lpb, v->value.bin.cb, &e));
	assert_int_equal(e.kind, MP_NSPI_ENTRYID_EPHEMERAL);
	assert_memory_equal(e.provider_uid.ab, server_guid, 16);
	assert_int_equal(e.r4, 1);
	assert_int_equal(e.mid, mid);
	v = mp_nspi_row_find(r, 0x3001001F);
	assert_non_null(v);
	assert_string_equal(v->value.lpszW, name);
	v = mp_nspi_row_find(r, 0x8170101F);
	assert_non_null(v);
	assert_int_equal(v->value.MVszW.count, 2);
	assert_string_equal(v->value.MVszW.strs[0], "ncacn_ip_tcp:exch01.example.com");
	assert_string_equal(v->value.MVszW.strs[1], "ncacn_http:exch01");
}

static void test_query_rows(void **state)
{
	void *mem = talloc_new(NULL);
	struct blob b;
	struct mp_mapi_call *call = decode_file(mem, "query_rows_req", &b);
	const struct mp_nspi_query_rows_req *rq = call->body;
	assert_int_equal(rq->flags, 1);
	assert_int_equal(rq->stat.container_id, 0x12);
	assert_int_equal(rq->etable_count, 3);
	assert_non_null(rq->etable);
	assert_int_equal(rq->etable[0], 0x10);
	assert_int_equal(rq->etable[2], 0x30);
	assert_int_equal(rq->count, 50);
	assert_non_null(rq->prop_tags);
	assert_int_equal(rq->prop_tags->count, 3);
	assert_int_equal(rq->prop_tags->tags[0], 0x0FFF0102);
	assert_int_equal(rq->prop_tags->tags[2], 0x8170101F);
	free(b.p);

	call = decode_file(mem, "query_rows_rsp", &b);
	const struct mp_nspi_query_rows_rsp *rs = call->body;
	assert_int_equal(rs->stat.cur_rec, 0x30);
	assert_non_null(rs->rows);
	assert_int_equal(rs->rows->count, 2);
	assert_small_row(&rs->rows->rows[0], 0x10, "Alice");
	assert_small_row(&rs->rows->rows[1], 0x20, "Bob");
	assert_int_equal(rs->result, 0);
	free(b.p);
	talloc_free(mem);
}

static void test_seek_entries(void **state)
{
	void *mem = talloc_new(NULL);
	struct blob b;
	struct mp_mapi_call *call = decode_file(mem, "seek_entries_req", &b);
	const struct mp_nspi_seek_entries_req *rq = call->body;
	assert_int_equal(rq->stat.code_page, 0x4b0);
	assert_int_equal(rq->target.proptag, 0x3001001F);
	assert_string_equal(rq->target.value.lpszW, "Smith");
	assert_null(rq->etable);
	assert_non_null(rq->prop_tags);
	assert_int_equal(rq->prop_tags->count, 1);
	free(b.p);
	call = decode_file(mem, "seek_entries_rsp", &b);
	const struct mp_nspi_seek_entries_rsp *rs = call->body;
	assert_null(rs->rows);
	assert_int_equal(rs->stat.cur_rec, 0x44);
	assert_int_equal(rs->result, 0x8004010F);
	free(b.p);
	talloc_free(mem);
}

static void test_get_matches_restriction(void **state)
{
	void *mem = talloc_new(NULL);
	struct blob b;
	struct mp_mapi_call *call = decode_file(mem, "get_matches_req", &b);
	const struct mp_nspi_get_matches_req *rq = call->body;
	assert_null(rq->reserved);
	assert_null(rq->prop_name);
	assert_int_equal(rq->requested, 100);
	assert_int_equal(rq->prop_tags->count, 2);

	const struct mp_nspi_restriction *f = rq->filter;
	assert_non_null(f);
	assert_int_equal(f->rt, MP_NSPI_RES_AND);
	assert_int_equal(f->res.and_or.count, 6);
	const struct mp_nspi_restriction *a = f->res.and_or.res;

	assert_int_equal(a[0].rt, MP_NSPI_RES_CONTENT);
	assert_int_equal(a[0].res.content.fuzzy_level, 0x00010001);
	assert_int_equal(a[0].res.content.proptag, 0x3001001F);
	assert_string_equal(a[0].res.content.prop->value.lpszW, "Doe");

	assert_int_equal(a[1].rt, MP_NSPI_RES_OR);
	assert_int_equal(a[1].res.and_or.count, 2);
	const struct mp_nspi_restriction *o = a[1].res.and_or.res;
	assert_int_equal(o[0].rt, MP_NSPI_RES_EXIST);
	assert_int_equal(o[0].res.exist.proptag, 0x39FE001F);
	assert_int_equal(o[1].rt, MP_NSPI_RES_NOT);
	const struct mp_nspi_restriction *n = o[1].res.not_.res;
	assert_int_equal(n->rt, MP_NSPI_RES_PROPERTY);
	assert_int_equal(n->res.property.relop, 4);
	assert_int_equal(n->res.property.prop->value.l, 1);

	assert_int_equal(a[2].rt, MP_NSPI_RES_BITMASK);
	assert_int_equal(a[2].res.bitmask.rel_bmr, 1);
	assert_int_equal(a[2].res.bitmask.mask, 4);
	assert_int_equal(a[3].rt, MP_NSPI_RES_SIZE);
	assert_int_equal(a[3].res.size.relop, 2);
	assert_int_equal(a[3].res.size.cb, 32);
	assert_int_equal(a[4].rt, MP_NSPI_RES_COMPARE_PROPS);
	assert_int_equal(a[4].res.compare_props.proptag2, 0x3A00001F);
	assert_int_equal(a[5].rt, MP_NSPI_RES_SUB);
	assert_int_equal(a[5].res.sub.sub_object, 0x0E12000D);
	assert_int_equal(a[5].res.sub.res->rt, MP_NSPI_RES_EXIST);
	assert_int_equal(a[5].res.sub.res->res.exist.proptag, 0x3003001F);

	char *t = print_call(mem, call, MP_PRINT_TEXT);
	assert_non_null(strstr(t, "rt: RES_AND (0x00000000)"));
	assert_non_null(strstr(t, "rt: RES_SUBRESTRICTION (0x00000009)"));
	free(b.p);

	call = decode_file(mem, "get_matches_propname_req", &b);
	rq = call->body;
	assert_null(rq->filter);
	assert_null(rq->prop_tags);
	assert_int_equal(rq->stat.cur_rec, 0x99);
	assert_int_equal(rq->reserved->count, 1);
	assert_int_equal(rq->reserved->tags[0], 0x10);
	assert_non_null(rq->prop_name);
	assert_memory_equal(rq->prop_name->guid->ab, server_guid, 16);
	assert_int_equal(rq->prop_name->id, 0x8001);
	assert_int_equal(rq->requested, 5);
	free(b.p);

	call = decode_file(mem, "get_matches_rsp", &b);
	const struct mp_nspi_get_matches_rsp *rs = call->body;
	assert_int_equal(rs->mids->count, 2);
	assert_int_equal(rs->mids->tags[1], 0x20);
	assert_small_row(&rs->rows->rows[1], 0x20, "Bob");
	free(b.p);
	talloc_free(mem);
}

static void test_resort_dn_to_mid_prop_list(void **state)
{
	void *mem = talloc_new(NULL);
	struct blob b;
	struct mp_mapi_call *call = decode_file(mem, "resort_restriction_req", &b);
	const struct mp_nspi_resort_restriction_req *rq = call->body;
	assert_int_equal(rq->in_mids.count, 3);
	assert_int_equal(rq->in_mids.tags[0], 0x30);
	assert_null(rq->out_mids);
	free(b.p);
	call = decode_file(mem, "resort_restriction_rsp", &b);
	const struct mp_nspi_resort_restriction_rsp *rs = call->body;
	assert_int_equal(rs->out_mids->tags[0], 0x10);
	free(b.p);

	call = decode_file(mem, "dn_to_mid_req", &b);
	const struct mp_nspi_dn_to_mid_req *dq = call->body;
	assert_int_equal(dq->names.count, 2);
	assert_string_equal(dq->names.strs[0], SERVER_DN);
	assert_string_equal(dq->names.strs[1], USER_DN);
	free(b.p);
	call = decode_file(mem, "dn_to_mid_rsp", &b);
	const struct mp_nspi_dn_to_mid_rsp *ds = call->body;
	assert_int_equal(ds->mids->count, 2);
	assert_int_equal(ds->mids->tags[0], 0x99);
	assert_int_equal(ds->mids->tags[1], 0);
	free(b.p);

	call = decode_file(mem, "get_prop_list_req", &b);
	const struct mp_nspi_get_prop_list_req *pq = call->body;
	assert_int_equal(pq->mid, 0x99);
	assert_int_equal(pq->code_page, 0x4e4);
	free(b.p);
	call = decode_file(mem, "get_prop_list_rsp", &b);
	const struct mp_nspi_get_prop_list_rsp *ps = call->body;
	assert_int_equal(ps->prop_tags->count, 3);
	assert_int_equal(ps->prop_tags->tags[2], 0x8170101E);
	free(b.p);
	talloc_free(mem);
}

/* The rich row of NspiGetProps: every value type NSPI allows. */
static void test_get_props_every_type(void **state)
{
	void *mem = talloc_new(NULL);
	struct blob b;
	struct mp_mapi_call *call = decode_file(mem, "get_props_req", &b);
	const struct mp_nspi_get_props_req *rq = call->body;
	assert_int_equal(rq->stat.cur_rec, 0x99);
	assert_int_equal(rq->stat.code_page, 0x4b0);
	assert_int_equal(rq->prop_tags->count, 3);
	free(b.p);

	call = decode_file(mem, "get_props_rsp", &b);
	const struct mp_nspi_get_props_rsp *rs = call->body;
	assert_int_equal(rs->result, 0x00040380);
	const struct mp_nspi_row *r = rs->row;
	assert_non_null(r);
	assert_int_equal(r->count, 22);
	const struct mp_nspi_propval *p = r->props;

	assert_string_equal(p[0].value.lpszW, "J\xc3\xb6rg Doe");
	assert_string_equal(p[1].value.lpszA, "jdoe");
	assert_int_equal(p[2].value.l, 6);
	assert_int_equal(p[3].value.l, -2);
	assert_int_equal(p[4].value.i, -5);
	assert_int_equal(p[5].value.b, 1);

	struct mp_nspi_entryid e;
	assert_true(mp_nspi_entryid_parse(p[6].value.bin.lpb, p[6].value.bin.cb, &e));
	assert_int_equal(e.kind, MP_NSPI_ENTRYID_PERMANENT);
	assert_memory_equal(e.provider_uid.ab, mp_nspi_guid_nspi.ab, 16);
	assert_string_equal(e.dn, USER_DN);

	assert_memory_equal(p[7].value.lpguid->ab, server_guid, 16);
	assert_true(p[8].value.ft == FT1);
	assert_int_equal((uint32_t)p[9].value.err, 0x8004010F);

	assert_int_equal(p[10].value.MVi.count, 3);
	assert_int_equal(p[10].value.MVi.values[1], -2);
	assert_int_equal(p[11].value.MVl.count, 2);
	assert_int_equal(p[11].value.MVl.values[1], -20);
	assert_int_equal(p[12].proptag, 0x8170101E);
	assert_string_equal(p[12].value.MVszA.strs[0], "ncacn_ip_tcp:exch01.example.com");
	assert_int_equal(p[13].value.MVbin.count, 3);
	assert_int_equal(p[13].value.MVbin.bins[0].cb, 3);
	assert_int_equal(p[13].value.MVbin.bins[1].cb, 0);
	assert_non_null(p[13].value.MVbin.bins[1].lpb);
	assert_true(mp_nspi_entryid_parse(p[13].value.MVbin.bins[2].lpb, 32, &e));
	assert_int_equal(e.mid, 0x1234);
	assert_int_equal(p[14].value.MVguid.count, 2);
	assert_memory_equal(p[14].value.MVguid.guids[0]->ab, mp_nspi_guid_nspi.ab, 16);
	assert_string_equal(p[15].value.MVszW.strs[1], "X400:c=US;\xe2\x82\xac");
	assert_int_equal(p[16].value.MVft.count, 2);
	assert_true(p[16].value.MVft.values[1] == FT2);
	assert_int_equal(p[17].proptag, 0x80150001);
	assert_int_equal(p[18].proptag, 0x8016000D);
	assert_int_equal(p[19].value.i, 7);
	assert_string_equal(p[20].value.lpszA, "odd");
	/* This GUID follows a string of odd length: FlatUID_r is byte-aligned. */
	assert_memory_equal(p[21].value.lpguid->ab, mp_nspi_guid_nspi.ab, 16);

	char *t = print_call(mem, call, MP_PRINT_TEXT);
	assert_non_null(strstr(t, "Kind: \"PermanentEntryID\""));
	assert_non_null(strstr(t, "type: PtypMultipleTime (0x1040)"));
	char *j = print_call(mem, call, MP_PRINT_JSON);
	assert_non_null(strstr(j, "\"DistinguishedName\":\"" USER_DN "\""));
	free(b.p);
	talloc_free(mem);
}

static void test_small_calls(void **state)
{
	void *mem = talloc_new(NULL);
	struct blob b;
	struct mp_mapi_call *call = decode_file(mem, "compare_mids_rsp", &b);
	const struct mp_nspi_compare_mids_rsp *cr = call->body;
	assert_int_equal(cr->cmp, -1);
	free(b.p);

	call = decode_file(mem, "mod_props_req", &b);
	const struct mp_nspi_mod_props_req *mp = call->body;
	assert_int_equal(mp->row.count, 1);
	assert_string_equal(mp->row.props[0].value.lpszW, "Building 7");
	free(b.p);
	call = decode_file(mem, "mod_props_rsp", &b);
	assert_int_equal(((const struct mp_nspi_mod_props_rsp *)call->body)->result, 0x80070005);
	free(b.p);

	call = decode_file(mem, "get_special_table_req", &b);
	const struct mp_nspi_get_special_table_req *sq = call->body;
	assert_int_equal(sq->flags, 4);
	assert_int_equal(sq->version, 0);
	free(b.p);
	call = decode_file(mem, "get_special_table_rsp", &b);
	const struct mp_nspi_get_special_table_rsp *ss = call->body;
	assert_int_equal(ss->version, 0x1234);
	assert_int_equal(ss->rows->count, 2);
	assert_string_equal(mp_nspi_row_find(&ss->rows->rows[1], 0x3001001F)->value.lpszW,
			    "All Users");
	assert_int_equal(mp_nspi_row_find(&ss->rows->rows[1], 0xFFFD0003)->value.l, 0x12);
	free(b.p);

	call = decode_file(mem, "get_template_info_req", &b);
	const struct mp_nspi_get_template_info_req *tq = call->body;
	assert_int_equal(tq->flags, 0x11);
	assert_string_equal(tq->dn, USER_DN);
	assert_int_equal(tq->locale_id, 0x409);
	free(b.p);
	call = decode_file(mem, "get_template_info_rsp", &b);
	const struct mp_nspi_get_template_info_rsp *ts = call->body;
	assert_int_equal(ts->data->count, 2);
	assert_string_equal(ts->data->props[1].value.lpszA, "script");
	free(b.p);

	call = decode_file(mem, "mod_link_att_req", &b);
	const struct mp_nspi_mod_link_att_req *lq = call->body;
	assert_int_equal(lq->proptag, 0x8009101E);
	assert_int_equal(lq->entry_ids.count, 2);
	struct mp_nspi_entryid e;
	assert_true(mp_nspi_entryid_parse(lq->entry_ids.bins[1].lpb, lq->entry_ids.bins[1].cb, &e));
	assert_int_equal(e.kind, MP_NSPI_ENTRYID_EPHEMERAL);
	assert_int_equal(e.display_type, 6);
	assert_int_equal(e.mid, 0x55);
	free(b.p);

	call = decode_file(mem, "delete_entries_req", &b);
	const struct mp_nspi_delete_entries_req *xq = call->body;
	assert_int_equal(xq->reserved3, 0x99);
	assert_int_equal(xq->entry_ids.count, 1);
	free(b.p);

	call = decode_file(mem, "query_columns_rsp", &b);
	const struct mp_nspi_query_columns_rsp *qc = call->body;
	assert_int_equal(qc->columns->count, 4);
	assert_int_equal(qc->columns->tags[3], 0x8170101F);
	free(b.p);
	talloc_free(mem);
}

static void test_names_and_ids(void **state)
{
	void *mem = talloc_new(NULL);
	struct blob b;
	struct mp_mapi_call *call = decode_file(mem, "get_names_from_ids_req", &b);
	const struct mp_nspi_get_names_from_ids_req *nq = call->body;
	assert_null(nq->guid);
	assert_int_equal(nq->prop_tags->count, 2);
	free(b.p);
	call = decode_file(mem, "get_names_from_ids_guid_req", &b);
	nq = call->body;
	assert_memory_equal(nq->guid->ab, server_guid, 16);
	assert_null(nq->prop_tags);
	free(b.p);
	call = decode_file(mem, "get_names_from_ids_rsp", &b);
	const struct mp_nspi_get_names_from_ids_rsp *ns = call->body;
	assert_int_equal(ns->names->count, 2);
	assert_memory_equal(ns->names->names[0].guid->ab, server_guid, 16);
	assert_int_equal(ns->names->names[0].id, 0x8001);
	assert_null(ns->names->names[1].guid);
	free(b.p);

	call = decode_file(mem, "get_ids_from_names_req", &b);
	const struct mp_nspi_get_ids_from_names_req *iq = call->body;
	assert_int_equal(iq->flags, 2);
	assert_int_equal(iq->count, 3);
	assert_non_null(iq->names[0]);
	assert_int_equal(iq->names[0]->id, 0x8001);
	assert_null(iq->names[1]);
	assert_int_equal(iq->names[2]->id, -1);
	assert_memory_equal(iq->names[2]->guid->ab, mp_nspi_guid_nspi.ab, 16);
	free(b.p);
	call = decode_file(mem, "get_ids_from_names_rsp", &b);
	const struct mp_nspi_get_ids_from_names_rsp *is = call->body;
	assert_int_equal(is->prop_tags->tags[1], 0x0000000A);
	free(b.p);
	talloc_free(mem);
}

static void test_resolve_names(void **state)
{
	void *mem = talloc_new(NULL);
	struct blob b;
	struct mp_mapi_call *call = decode_file(mem, "resolve_names_req", &b);
	const struct mp_nspi_resolve_names_req *rq = call->body;
	assert_int_equal(rq->names.count, 3);
	assert_string_equal(rq->names.strs[0], "jdoe");
	assert_null(rq->names.strs[1]);
	assert_string_equal(rq->names.strs[2], "Smith");
	free(b.p);
	call = decode_file(mem, "resolve_names_rsp", &b);
	const struct mp_nspi_resolve_names_rsp *rs = call->body;
	assert_int_equal(rs->mids->count, 3);
	assert_int_equal(rs->mids->tags[2], 1);
	assert_small_row(&rs->rows->rows[0], 0x10, "John Doe");
	free(b.p);

	call = decode_file(mem, "resolve_names_w_req", &b);
	rq = call->body;
	assert_null(rq->prop_tags);
	assert_int_equal(rq->names.count, 2);
	assert_string_equal(rq->names.strs[0], "J\xc3\xb6rg");
	/* A CJK character and a character outside the BMP (surrogate pair). */
	assert_string_equal(rq->names.strs[1], "\xe6\x9d\x8e\xf0\x9f\x98\x80");
	free(b.p);
	call = decode_file(mem, "resolve_names_w_rsp", &b);
	rs = call->body;
	assert_null(rs->rows);
	assert_int_equal(rs->mids->tags[1], 2);
	free(b.p);
	talloc_free(mem);
}

static void test_rfr(void **state)
{
	void *mem = talloc_new(NULL);
	struct blob b;
	struct mp_mapi_call *call = decode_file(mem, "rfr_get_new_dsa_req", &b);
	const struct mp_rfr_get_new_dsa_req *nq = call->body;
	assert_string_equal(nq->user_dn, USER_DN);
	assert_false(nq->unused.present);
	assert_true(nq->server.present);
	assert_string_equal(nq->server.str, "");
	free(b.p);
	call = decode_file(mem, "rfr_get_new_dsa_rsp", &b);
	const struct mp_rfr_get_new_dsa_rsp *ns = call->body;
	assert_string_equal(ns->server.str, "exch01.example.com");
	assert_int_equal(ns->result, 0);
	free(b.p);
	call = decode_file(mem, "rfr_get_fqdn_req", &b);
	const struct mp_rfr_get_fqdn_req *fq = call->body;
	assert_int_equal(fq->cb, strlen(SERVER_DN) + 1);
	assert_string_equal(fq->server_dn, SERVER_DN);
	free(b.p);
	call = decode_file(mem, "rfr_get_fqdn_rsp", &b);
	const struct mp_rfr_get_fqdn_rsp *fs = call->body;
	assert_string_equal(fs->fqdn, "exch01.example.com");
	free(b.p);
	talloc_free(mem);
}

/* What the rewrite module does: replace the network addresses in a reply
 * with longer strings, encode (replaying the IDs of what is unchanged),
 * decode again. */
static void test_rewrite_network_address(void **state)
{
	void *mem = talloc_new(NULL);
	struct blob b;
	struct mp_mapi_call *call = decode_file(mem, "query_rows_rsp", &b);
	struct mp_nspi_query_rows_rsp *rs = call->body;
	for (uint32_t i = 0; i < rs->rows->count; i++) {
		struct mp_nspi_propval *v = mp_nspi_row_find(&rs->rows->rows[i], 0x8170101F);
		assert_non_null(v);
		for (uint32_t k = 0; k < v->value.MVszW.count; k++)
			v->value.MVszW.strs[k] =
				talloc_asprintf(call, "ncacn_ip_tcp:proxy-%u.mapiproxy.example", k);
	}
	struct mp_wbuf out;
	mp_wb_init(&out);
	assert_true(mp_mapi_encode(call, &out));
	assert_true(out.len > b.len);
	const char *why = NULL;
	struct mp_mapi_call *again = mp_mapi_decode(mem, NSPI, 3, RSP, out.data, out.len, &why);
	assert_non_null(again);
	const struct mp_nspi_query_rows_rsp *rs2 = again->body;
	assert_int_equal(rs2->rows->count, 2);
	const struct mp_nspi_propval *v = mp_nspi_row_find(&rs2->rows->rows[1], 0x8170101F);
	assert_string_equal(v->value.MVszW.strs[1], "ncacn_ip_tcp:proxy-1.mapiproxy.example");
	assert_string_equal(mp_nspi_row_find(&rs2->rows->rows[1], 0x3001001F)->value.lpszW, "Bob");
	/* Referent IDs of the untouched parts are the ones impacket chose. */
	assert_int_equal(again->refs.count, call->refs.count);
	assert_memory_equal(again->refs.ids, call->refs.ids, call->refs.count * 4);
	mp_wb_free(&out);
	free(b.p);

	/* And the server DN of an NspiDNToMId request. */
	call = decode_file(mem, "dn_to_mid_req", &b);
	struct mp_nspi_dn_to_mid_req *dq = call->body;
	dq->names.strs[0] = talloc_strdup(call, ORG "/cn=Configuration/cn=Servers/cn=REAL-SERVER");
	mp_wb_init(&out);
	assert_true(mp_mapi_encode(call, &out));
	again = mp_mapi_decode(mem, NSPI, 7, REQ, out.data, out.len, &why);
	assert_non_null(again);
	const struct mp_nspi_dn_to_mid_req *dq2 = again->body;
	assert_string_equal(dq2->names.strs[0], ORG "/cn=Configuration/cn=Servers/cn=REAL-SERVER");
	assert_string_equal(dq2->names.strs[1], USER_DN);
	mp_wb_free(&out);
	free(b.p);
	talloc_free(mem);
}

/* ---- calls built here, for impacket to decode (--emit-ours) ---------------- */

struct ours {
	const char *file;
	enum mp_mapi_iface iface;
	uint16_t opnum;
	enum mp_call_dir dir;
	void *body;
};

static struct mp_nspi_proptags *tags_new(void *mem, uint32_t n, const uint32_t *tags)
{
	struct mp_nspi_proptags *t = talloc_zero(mem, struct mp_nspi_proptags);
	t->count = n;
	t->tags = talloc_memdup(mem, tags, n * sizeof(uint32_t));
	return t;
}

static struct mp_nspi_propval pv_w(void *mem, uint32_t tag, const char *s)
{
	struct mp_nspi_propval v = {.proptag = tag};
	v.value.lpszW = talloc_strdup(mem, s);
	return v;
}

/* A row with the types impacket decodes without corrections. */
static struct mp_nspi_row *ours_row(void *mem)
{
	struct mp_nspi_row *r = talloc_zero(mem, struct mp_nspi_row);
	r->count = 9;
	r->props = talloc_zero_array(mem, struct mp_nspi_propval, r->count);
	struct mp_nspi_propval *p = r->props;
	p[0] = pv_w(mem, 0x3001001F, "Zo\xc3\xab Example");
	p[1].proptag = 0x3A00001E;
	p[1].value.lpszA = talloc_strdup(mem, "zoe");
	p[2].proptag = 0x0FFE0003;
	p[2].value.l = -7;
	p[3].proptag = 0x3A4D0002;
	p[3].value.i = 300;
	p[4].proptag = 0x3A40000B;
	p[4].value.b = 1;
	p[5].proptag = 0x0FFF0102;
	p[5].value.bin.cb = 4;
	p[5].value.bin.lpb = talloc_memdup(mem, "\x01\x02\x03\x04", 4);
	p[6].proptag = 0x3A5D000A;
	p[6].value.err = (int32_t)0x8004010F;
	p[7].proptag = 0x8170101F;
	p[7].value.MVszW.count = 2;
	p[7].value.MVszW.strs = talloc_array(mem, char *, 2);
	p[7].value.MVszW.strs[0] = talloc_strdup(mem, "ncacn_ip_tcp:a.example");
	p[7].value.MVszW.strs[1] = talloc_strdup(mem, "ncacn_http:b");
	p[8].proptag = 0x80091003;
	p[8].value.MVl.count = 3;
	p[8].value.MVl.values = talloc_array(mem, int32_t, 3);
	p[8].value.MVl.values[0] = 1;
	p[8].value.MVl.values[1] = -2;
	p[8].value.MVl.values[2] = 3;
	return r;
}

static size_t ours_build(void *mem, struct ours *o)
{
	size_t n = 0;
	static const uint32_t tags3[] = {0x3001001F, 0x8170101F, 0x0FFF0102};

	struct mp_nspi_bind_rsp *bind = talloc_zero(mem, struct mp_nspi_bind_rsp);
	bind->server_guid = talloc_memdup(mem, server_guid, 16);
	memcpy(bind->handle.uuid, handle_uuid, 16);
	o[n++] = (struct ours){"ours_bind_rsp", NSPI, 0, RSP, bind};

	struct mp_nspi_query_rows_req *qr = talloc_zero(mem, struct mp_nspi_query_rows_req);
	memcpy(qr->handle.uuid, handle_uuid, 16);
	qr->flags = 1;
	qr->stat.container_id = 0x12;
	qr->stat.code_page = 0x4e4;
	qr->etable_count = 2;
	qr->etable = talloc_array(mem, uint32_t, 2);
	qr->etable[0] = 0x10;
	qr->etable[1] = 0x20;
	qr->count = 50;
	qr->prop_tags = tags_new(mem, 3, tags3);
	o[n++] = (struct ours){"ours_query_rows_req", NSPI, 3, REQ, qr};

	struct mp_nspi_query_rows_rsp *qs = talloc_zero(mem, struct mp_nspi_query_rows_rsp);
	qs->stat.cur_rec = 0x30;
	qs->rows = talloc_zero(mem, struct mp_nspi_rowset);
	qs->rows->count = 1;
	qs->rows->rows = ours_row(mem);
	o[n++] = (struct ours){"ours_query_rows_rsp", NSPI, 3, RSP, qs};

	struct mp_nspi_get_props_rsp *gp = talloc_zero(mem, struct mp_nspi_get_props_rsp);
	gp->row = ours_row(mem);
	gp->result = 0x00040380;
	o[n++] = (struct ours){"ours_get_props_rsp", NSPI, 9, RSP, gp};

	struct mp_nspi_dn_to_mid_req *dn = talloc_zero(mem, struct mp_nspi_dn_to_mid_req);
	dn->names.count = 2;
	dn->names.strs = talloc_array(mem, char *, 2);
	dn->names.strs[0] = talloc_strdup(mem, SERVER_DN);
	dn->names.strs[1] = talloc_strdup(mem, USER_DN);
	o[n++] = (struct ours){"ours_dn_to_mid_req", NSPI, 7, REQ, dn};

	struct mp_nspi_resolve_names_req *rw = talloc_zero(mem, struct mp_nspi_resolve_names_req);
	rw->stat.code_page = 0x4b0;
	rw->prop_tags = tags_new(mem, 1, tags3);
	rw->names.count = 2;
	rw->names.strs = talloc_array(mem, char *, 2);
	rw->names.strs[0] = talloc_strdup(mem, "J\xc3\xb6rg");
	rw->names.strs[1] = talloc_strdup(mem, "\xe6\x9d\x8e");
	o[n++] = (struct ours){"ours_resolve_names_w_req", NSPI, 20, REQ, rw};

	struct mp_nspi_get_special_table_rsp *st =
		talloc_zero(mem, struct mp_nspi_get_special_table_rsp);
	st->version = 7;
	st->rows = talloc_zero(mem, struct mp_nspi_rowset);
	st->rows->count = 1;
	st->rows->rows = talloc_zero(mem, struct mp_nspi_row);
	st->rows->rows->count = 1;
	st->rows->rows->props = talloc_zero(mem, struct mp_nspi_propval);
	*st->rows->rows->props = pv_w(mem, 0x3001001F, "Global Address List");
	o[n++] = (struct ours){"ours_get_special_table_rsp", NSPI, 12, RSP, st};

	struct mp_rfr_get_new_dsa_rsp *rf = talloc_zero(mem, struct mp_rfr_get_new_dsa_rsp);
	rf->server.present = true;
	rf->server.str = talloc_strdup(mem, "proxy.example.com");
	o[n++] = (struct ours){"ours_rfr_get_new_dsa_rsp", RFR, 0, RSP, rf};

	struct mp_rfr_get_fqdn_req *fr = talloc_zero(mem, struct mp_rfr_get_fqdn_req);
	fr->server_dn = talloc_strdup(mem, SERVER_DN);
	o[n++] = (struct ours){"ours_rfr_get_fqdn_req", RFR, 1, REQ, fr};
	return n;
}

static bool ours_encode(const struct ours *o, struct mp_wbuf *out)
{
	mp_wb_init(out);
	if (o->iface == RFR)
		return mp_rfr_push(o->opnum, o->dir, o->body, out);
	return mp_nspi_push(o->opnum, o->dir, o->body, out);
}

/* Calls built from scratch encode, and decode back to what was built. */
static void test_ours_from_scratch(void **state)
{
	void *mem = talloc_new(NULL);
	struct ours o[16];
	size_t n = ours_build(mem, o);
	for (size_t i = 0; i < n; i++) {
		struct mp_wbuf out;
		const char *why = NULL;
		assert_true(ours_encode(&o[i], &out));
		struct mp_mapi_call *call =
			mp_mapi_decode(mem, o[i].iface, o[i].opnum, o[i].dir, out.data, out.len, &why);
		if (!call)
			fail_msg("%s: %s", o[i].file, why);
		/* Fresh IDs count like Samba: 0x00020000, +4. */
		if (call->refs.count)
			assert_int_equal(call->refs.ids[0], 0x00020000);
		assert_encodes_to(call, out.data, out.len);
		mp_wb_free(&out);
	}
	struct mp_wbuf out;
	assert_true(ours_encode(&o[5], &out));
	const struct mp_nspi_resolve_names_req *rw =
		mp_mapi_decode(mem, NSPI, 20, REQ, out.data, out.len, &(const char *){NULL})->body;
	assert_string_equal(rw->names.strs[1], "\xe6\x9d\x8e");
	mp_wb_free(&out);
	assert_true(ours_encode(&o[8], &out));
	const struct mp_rfr_get_fqdn_req *fr =
		mp_mapi_decode(mem, RFR, 1, REQ, out.data, out.len, &(const char *){NULL})->body;
	/* cb 0 means "the string's size". */
	assert_int_equal(fr->cb, strlen(SERVER_DN) + 1);
	mp_wb_free(&out);
	talloc_free(mem);
}

static int emit_ours(const char *dir)
{
	void *mem = talloc_new(NULL);
	struct ours o[16];
	size_t n = ours_build(mem, o);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		struct mp_wbuf out;
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s.bin", dir, o[i].file);
		if (!ours_encode(&o[i], &out) || !write_path(path, out.data, out.len)) {
			fprintf(stderr, "cannot write %s\n", path);
			rc = 1;
		}
		mp_wb_free(&out);
	}
	talloc_free(mem);
	return rc;
}

int main(int argc, char **argv)
{
	static char here[1024];
	if (argc == 3 && strcmp(argv[1], "--emit-ours") == 0)
		return emit_ours(argv[2]);
	data_dir = getenv("MP_TEST_DATA_DIR");
	if (!data_dir && argc > 1)
		data_dir = argv[1];
	if (!data_dir) {
		snprintf(here, sizeof(here), "%s", __FILE__);
		char *slash = strrchr(here, '/');
		if (slash)
			snprintf(slash, sizeof(here) - (size_t)(slash - here), "/data");
		else
			snprintf(here, sizeof(here), "data");
		data_dir = here;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codec_tables),
		cmocka_unit_test(test_all_vectors_round_trip),
		cmocka_unit_test(test_vectors_have_nonzero_gaps),
		cmocka_unit_test(test_bind),
		cmocka_unit_test(test_update_stat),
		cmocka_unit_test(test_query_rows),
		cmocka_unit_test(test_seek_entries),
		cmocka_unit_test(test_get_matches_restriction),
		cmocka_unit_test(test_resort_dn_to_mid_prop_list),
		cmocka_unit_test(test_get_props_every_type),
		cmocka_unit_test(test_small_calls),
		cmocka_unit_test(test_names_and_ids),
		cmocka_unit_test(test_resolve_names),
		cmocka_unit_test(test_rfr),
		cmocka_unit_test(test_rewrite_network_address),
		cmocka_unit_test(test_ours_from_scratch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
