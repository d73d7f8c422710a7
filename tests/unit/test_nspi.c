/*
 * Unit tests: NSPI call codecs (src/mapi/nspi.c, nspi_types.c) on vectors
 * written out by hand from MS-OXNSPI and NDR20 (C706 chapter 14), each
 * field commented; the values of the NspiBind example come from MS-OXNSPI
 * section 4 (Protocol Examples), which shows field values but no bytes.
 *
 * Each vector must decode to the values written down, encode back to the
 * same bytes, and, built from scratch as a C structure, encode to the very
 * same bytes (our fresh referent IDs are 0x00020000 + 4n, as written here).
 * Malformed stubs (every truncation, trailing bytes, counts that disagree,
 * bad discriminants, types NSPI does not allow, nesting too deep, huge
 * counts, bad strings) are refused without crashing.
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
#include "hexbytes.h"

#define NSPI MP_MAPI_NSPI
#define REQ MP_CALL_REQUEST
#define RSP MP_CALL_RESPONSE

/* Hex with spaces allowed (hexbytes.h); returns a talloc'd buffer. */
static uint8_t *unhex(void *mem, const char *hex, size_t *len)
{
	size_t cap = strlen(hex) / 2 + 1;
	uint8_t *out = talloc_size(mem, cap);
	*len = hexbytes(hex, out, cap);
	return out;
}

#define HANDLE_HEX "00000000 00112233445566778899aabbccddeeff"
/* STAT of the NspiBind example (MS-OXNSPI section 4). */
#define SPEC_STAT_HEX                                                                              \
	"00000000 00000000 00000000 00000000 00000000 00000000 e4040000 09040000 09040000"

/* NspiBind request, MS-OXNSPI section 4. */
static const char bind_req_hex[] =
	"00000000"		/* dwFlags */
	SPEC_STAT_HEX		/* pStat ([in] STAT*: a reference, inline) */
	"00000200"		/* pServerGuid: referent ID */
	"00000000000000000000000000000000"; /* FlatUID_r to be filled by the server */

/* NspiBind response, MS-OXNSPI section 4: Success and the server GUID. */
static const char bind_rsp_hex[] =
	"00000200"				/* pServerGuid */
	"abbc8b867933c448a1ef1b53e63bdc46"	/* the GUID of the example */
	HANDLE_HEX				/* contextHandle */
	"00000000";				/* Success */

/* NspiGetProps request: the display name and the network addresses. */
static const char get_props_req_hex[] =
	HANDLE_HEX
	"00000000"				/* dwFlags */
	"00000000 00000000 99000000 00000000 00000000 00000000 b0040000 09040000 09040000"
	"00000200"				/* pPropTags: referent ID */
	"03000000"				/* max count = cValues + 1 (hoisted) */
	"02000000"				/* cValues */
	"00000000 02000000"			/* offset, actual count = cValues */
	"1f000130 1f107081";			/* 0x3001001F, 0x8170101F */

/* NspiGetProps response: a PropertyRow_r whose referents show NDR's
 * alignment rules: a short leaves a 2-byte gap, a FlatUID_r (BYTE[16])
 * follows an odd-length string with no gap, the next count is aligned. */
static const char get_props_rsp_hex[] =
	"00000200"		/* ppRows */
	"00000000"		/* Reserved */
	"04000000"		/* cValues */
	"04000200"		/* lpProps */
	"04000000"		/* max count of lpProps */
	"02004d3a 00000000 02000000 fbff 0000"	/* [0] 0x3A4D0002, i = -5, gap */
	"1e00063a 00000000 1e000000 08000200"	/* [1] 0x3A06001E, lpszA pointer */
	"48006e8c 00000000 48000000 0c000200"	/* [2] 0x8C6E0048, lpguid pointer */
	"1e107081 00000000 1e100000 01000000 10000200" /* [3] 0x8170101E: 1 value */
	"03000000 00000000 03000000 616200"	/* [1] "ab" */
	"dca740c8c042101ab4b908002b2fe182"	/* [2] GUID_NSPI at offset 103 */
	"00"					/* gap to the next count */
	"01000000 14000200"			/* [3] max count, string pointer */
	"0d000000 00000000 0d000000 6578636830312e6c6f63616c00" /* "exch01.local" */
	"000000"				/* gap */
	"00000000";				/* Success */

/* NspiGetMatches request: Filter = Not(Exist(PidTagSmtpAddress)). */
static const char get_matches_req_hex[] =
	HANDLE_HEX
	"00000000"				/* Reserved1 */
	SPEC_STAT_HEX
	"00000000"				/* pReserved: NULL */
	"00000000"				/* Reserved2 */
	"00000200"				/* Filter */
	"02000000 02000000 04000200"		/* rt RES_NOT, discriminant, lpRes */
	"08000000 08000000 00000000 1f00fe39 00000000" /* RES_EXIST 0x39FE001F */
	"00000000"				/* lpPropName: NULL */
	"0a000000"				/* ulRequested */
	"00000000";				/* pPropTags: NULL */

/* NspiDNToMId request: one DN (StringsArray_r: max count first). */
static const char dn_to_mid_req_hex[] =
	HANDLE_HEX
	"00000000"				/* Reserved */
	"01000000"				/* max count */
	"01000000"				/* Count */
	"00000200"				/* Strings[0] */
	"0e000000 00000000 0e000000 2f6f3d4f72672f636e3d45583100"; /* "/o=Org/cn=EX1" */

/* NspiDNToMId response: ppMIds = {0x1234}. */
static const char dn_to_mid_rsp_hex[] =
	"00000200 02000000 01000000 00000000 01000000 34120000"
	"00000000";

/* Opnum 15 (not used on the wire): the layout the IDL declares. */
static const char delete_entries_req_hex[] =
	HANDLE_HEX
	"00000000 99000000"			/* Reserved2, Reserved3 */
	"01000000 00000200"			/* Reserved4: BinaryArray_r, lpbin */
	"01000000"				/* max count */
	"02000000 04000200"			/* Binary_r: cb, lpb */
	"02000000 abcd";			/* lpb */

static struct mp_mapi_call *decode_hex(void *mem, uint16_t opnum, enum mp_call_dir dir,
				       const char *hex, uint8_t **bytes, size_t *len)
{
	const char *why = NULL;
	*bytes = unhex(mem, hex, len);
	struct mp_mapi_call *call = mp_mapi_decode(mem, NSPI, opnum, dir, *bytes, *len, &why);
	if (!call)
		fail_msg("opnum %u: %s", opnum, why);
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

/* A structure built from scratch encodes to exactly these bytes. */
static void assert_push_is(uint16_t opnum, enum mp_call_dir dir, const void *body,
			   const uint8_t *p, size_t len)
{
	struct mp_wbuf out;
	mp_wb_init(&out);
	assert_true(mp_nspi_push(opnum, dir, body, &out));
	assert_int_equal(out.len, len);
	assert_memory_equal(out.data, p, len);
	mp_wb_free(&out);
}

static const uint8_t handle_uuid[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
					0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};

static void spec_stat(struct mp_nspi_stat *s)
{
	memset(s, 0, sizeof(*s));
	s->code_page = 0x4e4;
	s->template_locale = 0x409;
	s->sort_locale = 0x409;
}

static void test_bind_spec_example(void **state)
{
	void *mem = talloc_new(NULL);
	uint8_t *b;
	size_t len;
	struct mp_mapi_call *call = decode_hex(mem, MP_NSPI_BIND, REQ, bind_req_hex, &b, &len);
	assert_int_equal(len, 60);
	const struct mp_nspi_bind_req *rq = call->body;
	assert_int_equal(rq->flags, 0);
	assert_int_equal(rq->stat.code_page, 0x4e4);
	assert_int_equal(rq->stat.template_locale, 0x409);
	assert_int_equal(rq->stat.sort_locale, 0x409);
	assert_non_null(rq->server_guid);
	assert_int_equal(call->refs.count, 1);
	assert_int_equal(call->refs.ids[0], 0x00020000);
	assert_encodes_to(call, b, len);

	struct mp_nspi_bind_req built = {0};
	spec_stat(&built.stat);
	built.server_guid = talloc_zero(mem, struct mp_nspi_flatuid);
	assert_push_is(MP_NSPI_BIND, REQ, &built, b, len);

	struct mp_printer *p = mp_printer_new(MP_PRINT_TEXT);
	mp_mapi_print(p, call);
	const char *t = mp_printer_output(p, NULL);
	assert_non_null(strstr(t, "NspiBind\n"));
	assert_non_null(strstr(t, "  direction: \"request\"\n"));
	assert_non_null(strstr(t, "    CodePage: 1252\n"));
	assert_non_null(strstr(t, "    TemplateLocale: 0x00000409\n"));
	mp_printer_free(p);

	call = decode_hex(mem, MP_NSPI_BIND, RSP, bind_rsp_hex, &b, &len);
	const struct mp_nspi_bind_rsp *rs = call->body;
	static const uint8_t guid[16] = {0xab, 0xbc, 0x8b, 0x86, 0x79, 0x33, 0xc4, 0x48,
					 0xa1, 0xef, 0x1b, 0x53, 0xe6, 0x3b, 0xdc, 0x46};
	assert_memory_equal(rs->server_guid->ab, guid, 16);
	assert_memory_equal(rs->handle.uuid, handle_uuid, 16);
	assert_int_equal(rs->result, 0);
	assert_encodes_to(call, b, len);

	struct mp_nspi_bind_rsp rbuilt = {0};
	rbuilt.server_guid = talloc_memdup(mem, guid, 16);
	memcpy(rbuilt.handle.uuid, handle_uuid, 16);
	assert_push_is(MP_NSPI_BIND, RSP, &rbuilt, b, len);

	p = mp_printer_new(MP_PRINT_JSON);
	mp_mapi_print(p, call);
	t = mp_printer_output(p, NULL);
	assert_non_null(strstr(t, "\"pServerGuid\":\"{868bbcab-3379-48c4-a1ef-1b53e63bdc46}\""));
	assert_non_null(strstr(t, "\"result\":\"ecNone\""));
	mp_printer_free(p);
	talloc_free(mem);
}

static void test_get_props(void **state)
{
	void *mem = talloc_new(NULL);
	uint8_t *b;
	size_t len;
	struct mp_mapi_call *call =
		decode_hex(mem, MP_NSPI_GET_PROPS, REQ, get_props_req_hex, &b, &len);
	const struct mp_nspi_get_props_req *rq = call->body;
	assert_int_equal(rq->stat.cur_rec, 0x99);
	assert_int_equal(rq->stat.code_page, 0x4b0);
	assert_int_equal(rq->prop_tags->count, 2);
	assert_int_equal(rq->prop_tags->tags[0], 0x3001001F);
	assert_int_equal(rq->prop_tags->tags[1], 0x8170101F);
	assert_encodes_to(call, b, len);

	struct mp_nspi_get_props_req built = {0};
	memcpy(built.handle.uuid, handle_uuid, 16);
	spec_stat(&built.stat);
	built.stat.cur_rec = 0x99;
	built.stat.code_page = 0x4b0;
	uint32_t tags[] = {0x3001001F, 0x8170101F};
	struct mp_nspi_proptags pt = {.count = 2, .tags = tags};
	built.prop_tags = &pt;
	assert_push_is(MP_NSPI_GET_PROPS, REQ, &built, b, len);

	call = decode_hex(mem, MP_NSPI_GET_PROPS, RSP, get_props_rsp_hex, &b, &len);
	assert_int_equal(len, 160);
	const struct mp_nspi_get_props_rsp *rs = call->body;
	const struct mp_nspi_row *r = rs->row;
	assert_int_equal(r->count, 4);
	assert_int_equal(r->props[0].value.i, -5);
	assert_string_equal(r->props[1].value.lpszA, "ab");
	assert_memory_equal(r->props[2].value.lpguid->ab, mp_nspi_guid_nspi.ab, 16);
	assert_int_equal(r->props[3].value.MVszA.count, 1);
	assert_string_equal(r->props[3].value.MVszA.strs[0], "exch01.local");
	assert_ptr_equal(mp_nspi_row_find(r, 0x8170101E), &r->props[3]);
	assert_null(mp_nspi_row_find(r, 0x8170101F));
	assert_encodes_to(call, b, len);

	struct mp_nspi_propval props[4] = {
		{.proptag = 0x3A4D0002, .value.i = -5},
		{.proptag = 0x3A06001E, .value.lpszA = "ab"},
		{.proptag = 0x8C6E0048},
		{.proptag = 0x8170101E},
	};
	struct mp_nspi_flatuid g = mp_nspi_guid_nspi;
	props[2].value.lpguid = &g;
	char *addr[] = {"exch01.local"};
	props[3].value.MVszA.count = 1;
	props[3].value.MVszA.strs = addr;
	struct mp_nspi_row row = {.count = 4, .props = props};
	struct mp_nspi_get_props_rsp rbuilt = {.row = &row};
	assert_push_is(MP_NSPI_GET_PROPS, RSP, &rbuilt, b, len);
	talloc_free(mem);
}

static void test_get_matches_restriction(void **state)
{
	void *mem = talloc_new(NULL);
	uint8_t *b;
	size_t len;
	struct mp_mapi_call *call =
		decode_hex(mem, MP_NSPI_GET_MATCHES, REQ, get_matches_req_hex, &b, &len);
	const struct mp_nspi_get_matches_req *rq = call->body;
	assert_null(rq->reserved);
	assert_null(rq->prop_name);
	assert_null(rq->prop_tags);
	assert_int_equal(rq->requested, 10);
	assert_int_equal(rq->filter->rt, MP_NSPI_RES_NOT);
	const struct mp_nspi_restriction *e = rq->filter->res.not_.res;
	assert_int_equal(e->rt, MP_NSPI_RES_EXIST);
	assert_int_equal(e->res.exist.proptag, 0x39FE001F);
	assert_encodes_to(call, b, len);

	struct mp_nspi_restriction exist = {.rt = MP_NSPI_RES_EXIST};
	exist.res.exist.proptag = 0x39FE001F;
	struct mp_nspi_restriction not_ = {.rt = MP_NSPI_RES_NOT};
	not_.res.not_.res = &exist;
	struct mp_nspi_get_matches_req built = {0};
	memcpy(built.handle.uuid, handle_uuid, 16);
	spec_stat(&built.stat);
	built.filter = &not_;
	built.requested = 10;
	assert_push_is(MP_NSPI_GET_MATCHES, REQ, &built, b, len);
	talloc_free(mem);
}

static void test_dn_to_mid_and_opnum15(void **state)
{
	void *mem = talloc_new(NULL);
	uint8_t *b;
	size_t len;
	struct mp_mapi_call *call =
		decode_hex(mem, MP_NSPI_DN_TO_MID, REQ, dn_to_mid_req_hex, &b, &len);
	const struct mp_nspi_dn_to_mid_req *rq = call->body;
	assert_int_equal(rq->names.count, 1);
	assert_string_equal(rq->names.strs[0], "/o=Org/cn=EX1");
	assert_encodes_to(call, b, len);
	char *dn[] = {"/o=Org/cn=EX1"};
	struct mp_nspi_dn_to_mid_req built = {.names = {.count = 1, .strs = dn}};
	memcpy(built.handle.uuid, handle_uuid, 16);
	assert_push_is(MP_NSPI_DN_TO_MID, REQ, &built, b, len);

	call = decode_hex(mem, MP_NSPI_DN_TO_MID, RSP, dn_to_mid_rsp_hex, &b, &len);
	const struct mp_nspi_dn_to_mid_rsp *rs = call->body;
	assert_int_equal(rs->mids->count, 1);
	assert_int_equal(rs->mids->tags[0], 0x1234);
	assert_encodes_to(call, b, len);

	call = decode_hex(mem, MP_NSPI_DELETE_ENTRIES, REQ, delete_entries_req_hex, &b, &len);
	const struct mp_nspi_delete_entries_req *dq = call->body;
	assert_int_equal(dq->reserved3, 0x99);
	assert_int_equal(dq->entry_ids.count, 1);
	assert_int_equal(dq->entry_ids.bins[0].cb, 2);
	assert_int_equal(dq->entry_ids.bins[0].lpb[1], 0xcd);
	assert_encodes_to(call, b, len);
	talloc_free(mem);
}

/* Every proper prefix of every vector is refused, and so is one more byte. */
static void test_truncations_and_trailing_bytes(void **state)
{
	static const struct {
		uint16_t opnum;
		enum mp_call_dir dir;
		const char *hex;
	} v[] = {
		{MP_NSPI_BIND, REQ, bind_req_hex},
		{MP_NSPI_BIND, RSP, bind_rsp_hex},
		{MP_NSPI_GET_PROPS, REQ, get_props_req_hex},
		{MP_NSPI_GET_PROPS, RSP, get_props_rsp_hex},
		{MP_NSPI_GET_MATCHES, REQ, get_matches_req_hex},
		{MP_NSPI_DN_TO_MID, REQ, dn_to_mid_req_hex},
		{MP_NSPI_DN_TO_MID, RSP, dn_to_mid_rsp_hex},
		{MP_NSPI_DELETE_ENTRIES, REQ, delete_entries_req_hex},
	};
	void *mem = talloc_new(NULL);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t len;
		uint8_t *b = unhex(mem, v[i].hex, &len);
		const char *why;
		for (size_t n = 0; n < len; n++) {
			why = NULL;
			assert_null(mp_mapi_decode(mem, NSPI, v[i].opnum, v[i].dir, b, n, &why));
			assert_non_null(why);
		}
		uint8_t *longer = talloc_size(mem, len + 1);
		memcpy(longer, b, len);
		longer[len] = 0;
		why = NULL;
		assert_null(mp_mapi_decode(mem, NSPI, v[i].opnum, v[i].dir, longer, len + 1, &why));
		assert_string_equal(why, "trailing bytes after the decoded stub");
	}
	talloc_free(mem);
}

/* Decode a changed copy of a vector: refused with this reason. */
static void assert_refused(void *mem, uint16_t opnum, enum mp_call_dir dir, const char *hex,
			   size_t off, const char *patch_hex, const char *reason)
{
	size_t len, plen;
	uint8_t *b = unhex(mem, hex, &len);
	uint8_t *patch = unhex(mem, patch_hex, &plen);
	assert_true(off + plen <= len);
	memcpy(b + off, patch, plen);
	const char *why = NULL;
	assert_null(mp_mapi_decode(mem, NSPI, opnum, dir, b, len, &why));
	assert_non_null(why);
	if (reason)
		assert_string_equal(why, reason);
}

static void test_malformed_fields(void **state)
{
	void *mem = talloc_new(NULL);
	const uint16_t gp = MP_NSPI_GET_PROPS;
	/* get_props_req: the PropertyTagArray_r starts at offset 64. */
	assert_refused(mem, gp, REQ, get_props_req_hex, 64, "02000000", /* max != cValues+1 */
		       "PropertyTagArray_r counts disagree");
	assert_refused(mem, gp, REQ, get_props_req_hex, 68, "01000000", /* cValues 1 */
		       "PropertyTagArray_r counts disagree");
	assert_refused(mem, gp, REQ, get_props_req_hex, 72, "01000000", /* offset 1 */
		       "PropertyTagArray_r counts disagree");
	assert_refused(mem, gp, REQ, get_props_req_hex, 64, "a3860100 a2860100", /* 100002 */
		       "count outside the range the IDL allows");
	/* get_props_rsp */
	assert_refused(mem, gp, RSP, get_props_rsp_hex, 28, "03000000", /* discriminant */
		       "PROP_VAL_UNION discriminant differs from the property type");
	assert_refused(mem, gp, RSP, get_props_rsp_hex, 20, "14004d3a 00000000 14000000",
		       "property type not allowed in PROP_VAL_UNION"); /* PtypInteger64 */
	assert_refused(mem, gp, RSP, get_props_rsp_hex, 16, "05000000", /* max != cValues */
		       "array size differs from its count field");
	assert_refused(mem, gp, RSP, get_props_rsp_hex, 8, "a1860100", /* cValues 100001 */
		       "count outside the range the IDL allows");
	assert_refused(mem, gp, RSP, get_props_rsp_hex, 88, "04000000", /* string max 4 */
		       "string size differs from its length");
	assert_refused(mem, gp, RSP, get_props_rsp_hex, 96, "04000000", /* actual > max */
		       "bad string header");
	assert_refused(mem, gp, RSP, get_props_rsp_hex, 100, "616263", /* no NUL */
		       "string not terminated by its only NUL");
	assert_refused(mem, gp, RSP, get_props_rsp_hex, 100, "610000", /* NUL inside */
		       "string not terminated by its only NUL");
	assert_refused(mem, gp, RSP, get_props_rsp_hex, 128, "0e000000", /* max 14, actual 13 */
		       "string size differs from its length");
	assert_refused(mem, gp, RSP, get_props_rsp_hex, 120, "02000000", /* MV max 2 */
		       "array size differs from its count field");
	/* get_matches_req: the restriction starts at offset 72. */
	const uint16_t gm = MP_NSPI_GET_MATCHES;
	assert_refused(mem, gm, REQ, get_matches_req_hex, 76, "03000000",
		       "RestrictionUnion_r discriminant differs from rt");
	assert_refused(mem, gm, REQ, get_matches_req_hex, 72, "0a000000 0a000000",
		       "unknown restriction type"); /* RES_COMMENT is not NSPI's */
	/* dn_to_mid_req: StringsArray_r max count != Count. */
	assert_refused(mem, MP_NSPI_DN_TO_MID, REQ, dn_to_mid_req_hex, 24, "02000000", NULL);
	talloc_free(mem);
}

/* Wide strings: UTF-16 in, UTF-8 out and back; unpaired surrogates refused. */
static void test_wide_strings(void **state)
{
	static const char hex[] =
		HANDLE_HEX "00000000"
		"00000000 00000000 00000000 00000000 00000000 00000000 b0040000 09040000 09040000"
		"00000000"				/* pPropTags NULL */
		"01000000 01000000 00000200"		/* WStringsArray_r */
		"05000000 00000000 05000000 4a00 f600 3dd8 00de 0000"; /* "J", "ö", U+1F600 */
	void *mem = talloc_new(NULL);
	uint8_t *b;
	size_t len;
	struct mp_mapi_call *call = decode_hex(mem, MP_NSPI_RESOLVE_NAMES_W, REQ, hex, &b, &len);
	const struct mp_nspi_resolve_names_req *rq = call->body;
	assert_string_equal(rq->names.strs[0], "J\xc3\xb6\xf0\x9f\x98\x80");
	assert_encodes_to(call, b, len);
	/* The same bytes as opnum 19 are four 8-bit strings' worth: refused
	 * there as a string with NULs inside. */
	const char *why = NULL;
	assert_null(mp_mapi_decode(mem, NSPI, MP_NSPI_RESOLVE_NAMES, REQ, b, len, &why));
	/* Unpaired high surrogate. */
	b[len - 4] = 0x41;
	b[len - 3] = 0x00;
	why = NULL;
	assert_null(mp_mapi_decode(mem, NSPI, MP_NSPI_RESOLVE_NAMES_W, REQ, b, len, &why));
	assert_string_equal(why, "invalid UTF-16 string");
	/* Pushing a string that is not UTF-8 fails. */
	struct mp_nspi_resolve_names_req built = *rq;
	char *bad[] = {"\xff"};
	built.names.strs = bad;
	struct mp_wbuf out;
	mp_wb_init(&out);
	assert_false(mp_nspi_push(MP_NSPI_RESOLVE_NAMES_W, REQ, &built, &out));
	assert_int_equal(out.len, 0);
	mp_wb_free(&out);
	talloc_free(mem);
}

/* A chain of n nested RES_NOT restrictions in a GetMatches request. */
static uint8_t *not_chain(void *mem, unsigned n, size_t *len)
{
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	static const uint8_t head[] = {0, 0, 0, 0, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
				       0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
	mp_wb_bytes(&wb, head, sizeof(head));
	mp_wb_u32(&wb, 0);		/* Reserved1 */
	mp_wb_zeros(&wb, 36);		/* STAT */
	mp_wb_u32(&wb, 0);		/* pReserved */
	mp_wb_u32(&wb, 0);		/* Reserved2 */
	mp_wb_u32(&wb, 0x20000);	/* Filter */
	for (unsigned i = 0; i < n; i++) {
		mp_wb_u32(&wb, MP_NSPI_RES_NOT);
		mp_wb_u32(&wb, MP_NSPI_RES_NOT);
		mp_wb_u32(&wb, i + 1 < n ? 0x20004 + 4 * i : 0); /* the last has a NULL lpRes */
	}
	mp_wb_u32(&wb, 0);		/* lpPropName */
	mp_wb_u32(&wb, 1);		/* ulRequested */
	mp_wb_u32(&wb, 0);		/* pPropTags */
	assert_false(wb.bad);
	uint8_t *b = talloc_memdup(mem, wb.data, wb.len);
	*len = wb.len;
	mp_wb_free(&wb);
	return b;
}

static void test_nesting_limit(void **state)
{
	void *mem = talloc_new(NULL);
	size_t len;
	const char *why = NULL;
	/* MP_NSPI_MAX_RES_DEPTH levels below the top one decode ... */
	uint8_t *b = not_chain(mem, MP_NSPI_MAX_RES_DEPTH + 1, &len);
	struct mp_mapi_call *call =
		mp_mapi_decode(mem, NSPI, MP_NSPI_GET_MATCHES, REQ, b, len, &why);
	assert_non_null(call);
	assert_encodes_to(call, b, len);
	const struct mp_nspi_get_matches_req *rq = call->body;
	struct mp_nspi_get_matches_req built = *rq;
	struct mp_wbuf out;
	mp_wb_init(&out);
	assert_true(mp_nspi_push(MP_NSPI_GET_MATCHES, REQ, &built, &out));
	mp_wb_free(&out);

	/* ... one more is refused, both ways. */
	b = not_chain(mem, MP_NSPI_MAX_RES_DEPTH + 2, &len);
	assert_null(mp_mapi_decode(mem, NSPI, MP_NSPI_GET_MATCHES, REQ, b, len, &why));
	assert_string_equal(why, "restriction nested too deep");
	struct mp_nspi_restriction top = {.rt = MP_NSPI_RES_NOT};
	top.res.not_.res = rq->filter;
	built.filter = &top;
	mp_wb_init(&out);
	assert_false(mp_nspi_push(MP_NSPI_GET_MATCHES, REQ, &built, &out));
	mp_wb_free(&out);

	/* A restriction that contains itself is refused by push, not looped on. */
	struct mp_nspi_restriction loop = {.rt = MP_NSPI_RES_NOT};
	loop.res.not_.res = &loop;
	built.filter = &loop;
	mp_wb_init(&out);
	assert_false(mp_nspi_push(MP_NSPI_GET_MATCHES, REQ, &built, &out));
	mp_wb_free(&out);
	talloc_free(mem);
}

/* Counts that promise more than the stub holds are refused before any
 * allocation of that size. */
static void test_huge_counts(void **state)
{
	void *mem = talloc_new(NULL);
	/* A PropertyRowSet_r claiming 100000 rows in 16 bytes. */
	static const char rows_hex[] =
		SPEC_STAT_HEX "00000200 a0860100 a0860100 00000000";
	size_t len;
	uint8_t *b = unhex(mem, rows_hex, &len);
	const char *why = NULL;
	assert_null(mp_mapi_decode(mem, NSPI, MP_NSPI_QUERY_ROWS, RSP, b, len, &why));
	assert_string_equal(why, "array count larger than the stub");
	/* A Binary_r of 2 MiB + 1 (over its [range]). */
	static const char bin_hex[] =
		"00000200 00000000 01000000 04000200 01000000"
		"02010000 00000000 02010000 01002000 08000200"
		"01002000" "00";
	b = unhex(mem, bin_hex, &len);
	assert_null(mp_mapi_decode(mem, NSPI, MP_NSPI_GET_PROPS, RSP, b, len, &why));
	assert_string_equal(why, "count outside the range the IDL allows");
	/* An lpETable larger than the stub. */
	static const char etable_hex[] =
		HANDLE_HEX "00000000" SPEC_STAT_HEX "40000000 00000200 40000000 00000000";
	b = unhex(mem, etable_hex, &len);
	assert_null(mp_mapi_decode(mem, NSPI, MP_NSPI_QUERY_ROWS, REQ, b, len, &why));
	assert_string_equal(why, "array count larger than the stub");
	talloc_free(mem);
}

static void test_entryids(void **state)
{
	void *mem = talloc_new(NULL);
	struct mp_nspi_entryid e = {.kind = MP_NSPI_ENTRYID_EPHEMERAL, .r4 = 1,
				    .display_type = 6, .mid = 0x1234};
	memcpy(e.provider_uid.ab, handle_uuid, 16);
	size_t n;
	uint8_t *b = mp_nspi_entryid_build(mem, &e, &n);
	assert_int_equal(n, 32);
	assert_int_equal(b[0], 0x87);
	struct mp_nspi_entryid d;
	assert_true(mp_nspi_entryid_parse(b, n, &d));
	assert_int_equal(d.kind, MP_NSPI_ENTRYID_EPHEMERAL);
	assert_int_equal(d.display_type, 6);
	assert_int_equal(d.mid, 0x1234);
	assert_false(mp_nspi_entryid_parse(b, 31, &d));

	struct mp_nspi_entryid pe = {.kind = MP_NSPI_ENTRYID_PERMANENT, .r4 = 1,
				     .provider_uid = mp_nspi_guid_nspi, .dn = "/o=Org/cn=x"};
	b = mp_nspi_entryid_build(mem, &pe, &n);
	assert_int_equal(n, 28 + 12);
	assert_true(mp_nspi_entryid_parse(b, n, &d));
	assert_int_equal(d.kind, MP_NSPI_ENTRYID_PERMANENT);
	assert_string_equal(d.dn, "/o=Org/cn=x");
	/* Not GUID_NSPI, no NUL at the end: not a permanent entry ID. */
	b[4] ^= 1;
	assert_false(mp_nspi_entryid_parse(b, n, &d));
	b[4] ^= 1;
	assert_false(mp_nspi_entryid_parse(b, n - 1, &d));
	talloc_free(mem);
}

/* NULL pointers everywhere they may be, and counts kept with NULL arrays. */
static void test_null_pointers(void **state)
{
	void *mem = talloc_new(NULL);
	struct mp_nspi_propval props[3] = {
		{.proptag = 0x3001001F},			/* lpszW NULL */
		{.proptag = 0x8170101E, .value.MVszA.count = 3},	/* array NULL, count 3 */
		{.proptag = 0x0FFF0102, .value.bin.cb = 7},	/* lpb NULL, cb 7 */
	};
	struct mp_nspi_row row = {.count = 3, .props = props};
	struct mp_nspi_rowset set = {.count = 1, .rows = &row};
	struct mp_nspi_query_rows_rsp rs = {.rows = &set, .result = 0x80040111};
	struct mp_wbuf out;
	mp_wb_init(&out);
	assert_true(mp_nspi_push(MP_NSPI_QUERY_ROWS, RSP, &rs, &out));
	const char *why = NULL;
	struct mp_mapi_call *call =
		mp_mapi_decode(mem, NSPI, MP_NSPI_QUERY_ROWS, RSP, out.data, out.len, &why);
	assert_non_null(call);
	const struct mp_nspi_query_rows_rsp *d = call->body;
	const struct mp_nspi_row *r = &d->rows->rows[0];
	assert_null(r->props[0].value.lpszW);
	assert_null(r->props[1].value.MVszA.strs);
	assert_int_equal(r->props[1].value.MVszA.count, 3);
	assert_null(r->props[2].value.bin.lpb);
	assert_int_equal(r->props[2].value.bin.cb, 7);
	assert_encodes_to(call, out.data, out.len);
	struct mp_printer *p = mp_printer_new(MP_PRINT_TEXT);
	mp_mapi_print(p, call);
	const char *t = mp_printer_output(p, NULL);
	assert_non_null(strstr(t, "lpszW: null"));
	assert_non_null(strstr(t, "(0x80040111)"));
	mp_printer_free(p);
	mp_wb_free(&out);

	/* Where NDR has no NULL (a conformant array inside a structure), a
	 * count without an array cannot be encoded: refused, not dereferenced. */
	struct mp_nspi_dn_to_mid_req dn = {.names = {.count = 2}};
	mp_wb_init(&out);
	assert_false(mp_nspi_push(MP_NSPI_DN_TO_MID, REQ, &dn, &out));
	assert_int_equal(out.len, 0);
	struct mp_nspi_rowset empty = {.count = 1};
	struct mp_nspi_query_rows_rsp qr = {.rows = &empty};
	assert_false(mp_nspi_push(MP_NSPI_QUERY_ROWS, RSP, &qr, &out));
	struct mp_nspi_proptags notags = {.count = 1};
	struct mp_nspi_get_props_req gp = {.prop_tags = &notags};
	assert_false(mp_nspi_push(MP_NSPI_GET_PROPS, REQ, &gp, &out));
	struct mp_nspi_get_ids_from_names_req ids = {.count = 1};
	assert_false(mp_nspi_push(MP_NSPI_GET_IDS_FROM_NAMES, REQ, &ids, &out));
	assert_int_equal(out.len, 0);
	mp_wb_free(&out);
	talloc_free(mem);
}

/* An address-book password never reaches a dump or mapidump output. */
static void test_password_values_redacted(void **state)
{
	(void)state;
	char secret[] = "hunter2-Secret";
	struct mp_nspi_propval v = {.proptag = 0x808C001F}; /* PR_EMS_AB_DXA_PASSWORD_UNICODE */
	v.value.lpszW = secret;
	struct mp_nspi_propval name = {.proptag = 0x3001001F}; /* PidTagDisplayName */
	name.value.lpszW = secret;
	for (int fmt = 0; fmt < 2; fmt++) {
		struct mp_printer *p = mp_printer_new(fmt ? MP_PRINT_JSON : MP_PRINT_TEXT);
		mp_nspi_print_propval(p, "secret", &v);
		const char *out = mp_printer_output(p, NULL);
		assert_null(strstr(out, "hunter2"));
		assert_non_null(strstr(out, "redacted"));
		mp_printer_reset(p);
		/* The same text in an ordinary property is shown. */
		mp_nspi_print_propval(p, "name", &name);
		assert_non_null(strstr(mp_printer_output(p, NULL), "hunter2"));
		mp_printer_free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bind_spec_example),
		cmocka_unit_test(test_get_props),
		cmocka_unit_test(test_get_matches_restriction),
		cmocka_unit_test(test_dn_to_mid_and_opnum15),
		cmocka_unit_test(test_truncations_and_trailing_bytes),
		cmocka_unit_test(test_malformed_fields),
		cmocka_unit_test(test_wide_strings),
		cmocka_unit_test(test_nesting_limit),
		cmocka_unit_test(test_huge_counts),
		cmocka_unit_test(test_entryids),
		cmocka_unit_test(test_null_pointers),
		cmocka_unit_test(test_password_values_redacted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
