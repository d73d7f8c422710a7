/*
 * Unit tests: RFR call codecs (MS-OXABREF 3.1.4, src/mapi/rfr.c) on vectors
 * written out by hand from the IDL and NDR20 (MS-OXABREF shows no byte
 * dumps; the DN follows the format of MS-OXABREF 3.1.4.2). impacket's
 * oxabref encoder is checked in test_nspi_impacket.c.
 *
 * Each vector decodes to the values written down, encodes back to the same
 * bytes, and built from scratch encodes to the same bytes. Malformed stubs
 * are refused; a replaced server name or DN encodes to a valid stub.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>
#include <talloc.h>

#include "mapi/rfr.h"
#include "hexbytes.h"

#define RFR MP_MAPI_RFR
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

#define SERVER_DN "/o=Org/ou=AG/cn=Configuration/cn=Servers/cn=EX1"
#define SERVER_DN_HEX                                                                              \
	"2f6f3d4f72672f6f753d41472f636e3d436f6e66696775726174696f6e2f636e3d536572766572732f636e3d4558" \
	"3100"

/* RfrGetNewDSA request as Outlook sends it: ppszServer points to a NULL
 * string pointer for the server to fill. */
static const char new_dsa_req_hex[] =
	"00000000"					/* ulFlags */
	"0c000000 00000000 0c000000 2f6f3d4f72672f636e3d7500" /* pUserDN "/o=Org/cn=u" */
	"00000000"					/* ppszUnused: NULL */
	"00000200"					/* ppszServer: outer pointer */
	"00000000";					/* ... to a NULL string */

static const char new_dsa_rsp_hex[] =
	"00000000"					/* ppszUnused: NULL */
	"00000200 04000200"				/* ppszServer: outer, inner */
	"13000000 00000000 13000000 6578636830312e6578616d706c652e636f6d00"
	"00"						/* gap */
	"00000000";					/* success */

/* RfrGetFQDNFromServerDN: the string's conformance is cbMailboxServerDN. */
static const char fqdn_req_hex[] =
	"00000000"					/* ulFlags */
	"30000000"					/* cbMailboxServerDN = 48 */
	"30000000 00000000 30000000" SERVER_DN_HEX;	/* max = cb, offset, actual */

/* The same with cb larger than the string (max > actual is valid NDR). */
static const char fqdn_req_wide_hex[] =
	"00000000 40000000"
	"40000000 00000000 30000000" SERVER_DN_HEX;

static const char fqdn_rsp_hex[] =
	"00000200"					/* *ppszServerFQDN */
	"13000000 00000000 13000000 6578636830312e6578616d706c652e636f6d00"
	"00"
	"00000000";

static struct mp_mapi_call *decode_hex(void *mem, uint16_t opnum, enum mp_call_dir dir,
				       const char *hex, uint8_t **b, size_t *len)
{
	const char *why = NULL;
	*b = unhex(mem, hex, len);
	struct mp_mapi_call *call = mp_mapi_decode(mem, RFR, opnum, dir, *b, *len, &why);
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

static void assert_push_is(uint16_t opnum, enum mp_call_dir dir, const void *body,
			   const uint8_t *p, size_t len)
{
	struct mp_wbuf out;
	mp_wb_init(&out);
	assert_true(mp_rfr_push(opnum, dir, body, &out));
	assert_int_equal(out.len, len);
	assert_memory_equal(out.data, p, len);
	mp_wb_free(&out);
}

static void test_get_new_dsa(void **state)
{
	void *mem = talloc_new(NULL);
	uint8_t *b;
	size_t len;
	struct mp_mapi_call *call = decode_hex(mem, MP_RFR_GET_NEW_DSA, REQ, new_dsa_req_hex, &b,
					       &len);
	const struct mp_rfr_get_new_dsa_req *rq = call->body;
	assert_int_equal(rq->flags, 0);
	assert_string_equal(rq->user_dn, "/o=Org/cn=u");
	assert_false(rq->unused.present);
	assert_true(rq->server.present);
	assert_null(rq->server.str);
	assert_encodes_to(call, b, len);
	struct mp_rfr_get_new_dsa_req built = {.user_dn = "/o=Org/cn=u",
					       .server = {.present = true}};
	assert_push_is(MP_RFR_GET_NEW_DSA, REQ, &built, b, len);

	call = decode_hex(mem, MP_RFR_GET_NEW_DSA, RSP, new_dsa_rsp_hex, &b, &len);
	const struct mp_rfr_get_new_dsa_rsp *rs = call->body;
	assert_false(rs->unused.present);
	assert_string_equal(rs->server.str, "exch01.example.com");
	assert_int_equal(rs->result, 0);
	assert_encodes_to(call, b, len);
	struct mp_rfr_get_new_dsa_rsp rbuilt = {
		.server = {.present = true, .str = "exch01.example.com"}};
	assert_push_is(MP_RFR_GET_NEW_DSA, RSP, &rbuilt, b, len);

	struct mp_printer *p = mp_printer_new(MP_PRINT_TEXT);
	mp_mapi_print(p, call);
	const char *t = mp_printer_output(p, NULL);
	assert_non_null(strstr(t, "RfrGetNewDSA\n"));
	assert_non_null(strstr(t, "  ppszUnused: null\n"));
	assert_non_null(strstr(t, "  ppszServer: \"exch01.example.com\"\n"));
	mp_printer_free(p);

	/* What the rewrite module does: point the client at the proxy. */
	struct mp_rfr_get_new_dsa_rsp *w = call->body;
	w->server.str = talloc_strdup(call, "mapiproxy.internal.example.com");
	struct mp_wbuf out;
	mp_wb_init(&out);
	assert_true(mp_mapi_encode(call, &out));
	const char *why = NULL;
	struct mp_mapi_call *again =
		mp_mapi_decode(mem, RFR, MP_RFR_GET_NEW_DSA, RSP, out.data, out.len, &why);
	assert_non_null(again);
	const struct mp_rfr_get_new_dsa_rsp *rs2 = again->body;
	assert_string_equal(rs2->server.str, "mapiproxy.internal.example.com");
	assert_int_equal(again->refs.ids[0], 0x00020000);
	assert_int_equal(again->refs.ids[1], 0x00020004);
	mp_wb_free(&out);
	talloc_free(mem);
}

static void test_get_fqdn(void **state)
{
	void *mem = talloc_new(NULL);
	uint8_t *b;
	size_t len;
	struct mp_mapi_call *call =
		decode_hex(mem, MP_RFR_GET_FQDN_FROM_SERVER_DN, REQ, fqdn_req_hex, &b, &len);
	const struct mp_rfr_get_fqdn_req *rq = call->body;
	assert_int_equal(rq->cb, 48);
	assert_string_equal(rq->server_dn, SERVER_DN);
	assert_encodes_to(call, b, len);
	struct mp_rfr_get_fqdn_req built = {.server_dn = SERVER_DN}; /* cb 0: the string's */
	assert_push_is(MP_RFR_GET_FQDN_FROM_SERVER_DN, REQ, &built, b, len);

	call = decode_hex(mem, MP_RFR_GET_FQDN_FROM_SERVER_DN, REQ, fqdn_req_wide_hex, &b, &len);
	rq = call->body;
	assert_int_equal(rq->cb, 64);
	assert_string_equal(rq->server_dn, SERVER_DN);
	assert_encodes_to(call, b, len);

	/* A replacement DN longer than cb raises cb and the conformance. */
	struct mp_rfr_get_fqdn_req *w = call->body;
	w->server_dn = talloc_strdup(call, SERVER_DN "/cn=a-much-longer-server-name-than-before");
	struct mp_wbuf out;
	mp_wb_init(&out);
	assert_true(mp_mapi_encode(call, &out));
	const char *why = NULL;
	struct mp_mapi_call *again = mp_mapi_decode(mem, RFR, MP_RFR_GET_FQDN_FROM_SERVER_DN, REQ,
						    out.data, out.len, &why);
	assert_non_null(again);
	const struct mp_rfr_get_fqdn_req *rq2 = again->body;
	assert_int_equal(rq2->cb, strlen(w->server_dn) + 1);
	assert_string_equal(rq2->server_dn, w->server_dn);
	mp_wb_free(&out);

	call = decode_hex(mem, MP_RFR_GET_FQDN_FROM_SERVER_DN, RSP, fqdn_rsp_hex, &b, &len);
	const struct mp_rfr_get_fqdn_rsp *rs = call->body;
	assert_string_equal(rs->fqdn, "exch01.example.com");
	assert_encodes_to(call, b, len);
	struct mp_rfr_get_fqdn_rsp rbuilt = {.fqdn = "exch01.example.com"};
	assert_push_is(MP_RFR_GET_FQDN_FROM_SERVER_DN, RSP, &rbuilt, b, len);
	/* A failed call: NULL FQDN and an error code. */
	struct mp_rfr_get_fqdn_rsp failed = {.result = 0x80004005};
	uint8_t *fb = unhex(mem, "00000000 05400080", &len);
	assert_push_is(MP_RFR_GET_FQDN_FROM_SERVER_DN, RSP, &failed, fb, len);
	talloc_free(mem);
}

static void assert_refused(void *mem, uint16_t opnum, enum mp_call_dir dir, const char *hex,
			   size_t off, const char *patch_hex, const char *reason)
{
	size_t len, plen;
	uint8_t *b = unhex(mem, hex, &len);
	uint8_t *patch = unhex(mem, patch_hex, &plen);
	memcpy(b + off, patch, plen);
	const char *why = NULL;
	assert_null(mp_mapi_decode(mem, RFR, opnum, dir, b, len, &why));
	assert_string_equal(why, reason);
}

static void test_malformed(void **state)
{
	static const struct {
		uint16_t opnum;
		enum mp_call_dir dir;
		const char *hex;
	} v[] = {
		{MP_RFR_GET_NEW_DSA, REQ, new_dsa_req_hex},
		{MP_RFR_GET_NEW_DSA, RSP, new_dsa_rsp_hex},
		{MP_RFR_GET_FQDN_FROM_SERVER_DN, REQ, fqdn_req_hex},
		{MP_RFR_GET_FQDN_FROM_SERVER_DN, REQ, fqdn_req_wide_hex},
		{MP_RFR_GET_FQDN_FROM_SERVER_DN, RSP, fqdn_rsp_hex},
	};
	void *mem = talloc_new(NULL);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t len;
		uint8_t *b = unhex(mem, v[i].hex, &len);
		const char *why;
		for (size_t n = 0; n < len; n++)
			assert_null(mp_mapi_decode(mem, RFR, v[i].opnum, v[i].dir, b, n, &why));
		uint8_t *longer = talloc_zero_size(mem, len + 4);
		memcpy(longer, b, len);
		assert_null(mp_mapi_decode(mem, RFR, v[i].opnum, v[i].dir, longer, len + 4, &why));
	}
	const uint16_t fq = MP_RFR_GET_FQDN_FROM_SERVER_DN;
	assert_refused(mem, fq, REQ, fqdn_req_hex, 4, "09000000", "cbMailboxServerDN outside 10..1024");
	assert_refused(mem, fq, REQ, fqdn_req_hex, 4, "01040000", "cbMailboxServerDN outside 10..1024");
	assert_refused(mem, fq, REQ, fqdn_req_hex, 4, "31000000",
		       "string size differs from cbMailboxServerDN");
	assert_refused(mem, MP_RFR_GET_NEW_DSA, REQ, new_dsa_req_hex, 4, "0d000000",
		       "string size differs from its length");
	/* No codec beyond opnum 1. */
	const char *why = NULL;
	uint8_t zero[4] = {0};
	assert_null(mp_mapi_decode(mem, RFR, 2, REQ, zero, 4, &why));
	assert_string_equal(why, "unknown opnum");
	assert_null(mp_rfr_codec(2));
	struct mp_wbuf out;
	mp_wb_init(&out);
	assert_false(mp_rfr_push(2, REQ, zero, &out));
	mp_wb_free(&out);
	talloc_free(mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_new_dsa),
		cmocka_unit_test(test_get_fqdn),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
