/*
 * Unit tests: mapi/emsmdb and mapi/asyncemsmdb (MS-OXCRPC call codecs).
 *
 * Vectors, tests/unit/data/emsmdb/ (*.bin), written by
 * tests/unit/data/gen_emsmdb.py from two producers other than our encoder:
 *   idl_*  packed field by field in Python from the IDL (MS-OXCRPC Appendix
 *          A; OpenChange/Wireshark for the legacy opnums) and C706's NDR
 *          rules, zero padding, Samba-style referent IDs: what our encoder
 *          must write from scratch;
 *   imp_*  impacket's NDR engine (padding 0xbf/0xcc/0xab, its own referent
 *          IDs): what our decoder must read and re-encode byte for byte.
 * MS-OXCRPC gives no NDR byte dumps; EcDoConnectEx's request and
 * EcDoRpcExt2's request and response carry the parameter values of its
 * examples 4.1 and 4.2. tests/system/test_emsmdb_tshark.py shows the idl_
 * vectors of opnums 0, 1, 2, 4 and 5 to Wireshark's EMSMDB dissector.
 *
 * Then: every truncation and a trailing byte refused; each NDR rule that a
 * stub can break refused with its reason; the protocol maxima (rgbOut
 * 0x40000, rgbAuxOut 0x1008) and one past them; max_count above the length
 * and non-Samba referent IDs kept; the downgrade and pack modules' edits;
 * encoding refused for structures that cannot be on the wire; printing.
 *
 * The data directory is $MP_TEST_DATA_DIR, else argv[1], else data/ next to
 * this source file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mapi/call.h"
#include "mapi/emsmdb.h"
#include "util/printer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

#include "test_data.h"

static const char *data_dir;

/* ---- vectors ------------------------------------------------------------- */

struct vec {
	const char *file; /* under data_dir/emsmdb/ */
	enum mp_mapi_iface iface;
	uint16_t opnum;
	enum mp_call_dir dir;
};

#define REQ MP_CALL_REQUEST
#define RSP MP_CALL_RESPONSE
#define EMS MP_MAPI_EMSMDB

static const struct vec vectors[] = {
	{"idl_connect_req", EMS, 0, REQ},
	{"idl_connect_rsp", EMS, 0, RSP},
	{"idl_disconnect_req", EMS, 1, REQ},
	{"idl_disconnect_rsp", EMS, 1, RSP},
	{"idl_rpc_req", EMS, 2, REQ},
	{"idl_rpc_rsp", EMS, 2, RSP},
	{"idl_get_more_rpc_req", EMS, 3, REQ},
	{"idl_get_more_rpc_rsp", EMS, 3, RSP},
	{"idl_register_push_req", EMS, 4, REQ},
	{"idl_register_push_rsp", EMS, 4, RSP},
	{"idl_unregister_push_req", EMS, 5, REQ},
	{"idl_unregister_push_rsp", EMS, 5, RSP},
	{"idl_dummy_req", EMS, 6, REQ},
	{"idl_dummy_rsp", EMS, 6, RSP},
	{"idl_get_dc_name_req", EMS, 7, REQ},
	{"idl_get_dc_name_rsp", EMS, 7, RSP},
	{"idl_net_get_dc_name_req", EMS, 8, REQ},
	{"idl_net_get_dc_name_rsp", EMS, 8, RSP},
	{"idl_rpc_ext_req", EMS, 9, REQ},
	{"idl_rpc_ext_rsp", EMS, 9, RSP},
	{"idl_connect_ex_req", EMS, 10, REQ},
	{"idl_connect_ex_rsp", EMS, 10, RSP},
	{"idl_rpc_ext2_req", EMS, 11, REQ},
	{"idl_rpc_ext2_rsp", EMS, 11, RSP},
	{"idl_async_connect_ex_req", EMS, 14, REQ},
	{"idl_async_connect_ex_rsp", EMS, 14, RSP},
	{"idl_async_wait_ex_req", MP_MAPI_ASYNCEMSMDB, 0, REQ},
	{"idl_async_wait_ex_rsp", MP_MAPI_ASYNCEMSMDB, 0, RSP},
	{"imp_connect_ex_req", EMS, 10, REQ},
	{"imp_connect_ex_rsp", EMS, 10, RSP},
	{"imp_rpc_ext2_req", EMS, 11, REQ},
	{"imp_rpc_ext2_rsp", EMS, 11, RSP},
	{"imp_register_push_req", EMS, 4, REQ},
	{"imp_get_dc_name_req", EMS, 7, REQ},
	{"imp_get_dc_name_rsp", EMS, 7, RSP},
	{"imp_rpc_req", EMS, 2, REQ},
	{"imp_async_wait_ex_req", MP_MAPI_ASYNCEMSMDB, 0, REQ},
};
#define NVECTORS (sizeof(vectors) / sizeof(vectors[0]))

static struct blob load(const char *name)
{
	char path[1024];
	struct blob b;
	snprintf(path, sizeof(path), "%s/emsmdb/%s.bin", data_dir, name);
	if (!read_path(path, &b))
		fail_msg("cannot read %s (set MP_TEST_DATA_DIR)", path);
	return b;
}

static const struct vec *find_vec(const char *file)
{
	for (size_t i = 0; i < NVECTORS; i++)
		if (strcmp(vectors[i].file, file) == 0)
			return &vectors[i];
	fail_msg("no vector %s", file);
	return NULL;
}

/* ---- values of gen_emsmdb.py ----------------------------------------------- */

static const char user_dn[] =
	"/o=First Organization/ou=First Administrative Group/CN=recipients/CN=janedow";
static const char dn_prefix[] = "/o=First Organization/ou=First Administrative Group";
/* The spec's session handle 0x00001234, in the first field of the UUID. */
static const uint8_t cxh_uuid[16] = {0x34, 0x12};
static const uint16_t client_version[3] = {0x000C, 0x183E, 0x03E8};
static const uint16_t server_version[3] = {0x000F, 0x0001, 0x0225};
/* RPC_HEADER_EXT {Version 0, Flags Last, Size 8, SizeActual 8} +
 * AUX_HEADER {Size 8, Version 1, Type 0x17 EXORGINFO} + OrgFlags 1. */
static const uint8_t aux_out[16] = {0x00, 0x00, 0x04, 0x00, 0x08, 0x00, 0x08, 0x00,
				    0x08, 0x00, 0x01, 0x17, 0x01, 0x00, 0x00, 0x00};

/* ---- helpers -------------------------------------------------------------- */

static struct mp_mapi_call *decode_vec(void *mem, const struct vec *v, const struct blob *b)
{
	const char *why = NULL;
	struct mp_mapi_call *call = mp_mapi_decode(mem, v->iface, v->opnum, v->dir, b->p, b->len,
						   &why);
	if (!call)
		fail_msg("%s: not decoded: %s", v->file, why ? why : "?");
	return call;
}

static struct mp_mapi_call *decode_file(void *mem, const char *file, struct blob *b)
{
	*b = load(file);
	return decode_vec(mem, find_vec(file), b);
}

/* Encode with the call's own referent IDs and gaps: must give `want`. */
static void assert_reencodes(const struct mp_mapi_call *call, const uint8_t *want, size_t len)
{
	struct mp_wbuf out;
	mp_wb_init(&out);
	assert_true(mp_mapi_encode(call, &out));
	assert_int_equal(out.len, len);
	if (len)
		assert_memory_equal(out.data, want, len);
	mp_wb_free(&out);
}

static const char *why_refused(enum mp_mapi_iface iface, uint16_t opnum, enum mp_call_dir dir,
			       const uint8_t *p, size_t len)
{
	void *mem = talloc_new(NULL);
	const char *why = NULL;
	struct mp_mapi_call *call = mp_mapi_decode(mem, iface, opnum, dir, p, len, &why);
	talloc_free(mem);
	if (call)
		return NULL;
	assert_non_null(why);
	return why;
}

static void assert_refused(uint16_t opnum, enum mp_call_dir dir, const uint8_t *p, size_t len,
			   const char *reason)
{
	const char *why = why_refused(EMS, opnum, dir, p, len);
	if (!why)
		fail_msg("opnum %u: malformed stub accepted (expected \"%s\")", opnum,
			 reason ? reason : "any reason");
	if (reason && !strstr(why, reason))
		fail_msg("opnum %u: refused for \"%s\", expected \"%s\"", opnum, why, reason);
}

static void put32(uint8_t *p, uint32_t v)
{
	mp_put_u32(p, v);
}

/* Print one call; the output is a talloc'd copy under mem. */
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

/* ---- every vector ---------------------------------------------------------- */

/* Decode, re-encode byte for byte, decode the re-encoding again, print. */
static void test_all_vectors_round_trip(void **state)
{
	for (size_t i = 0; i < NVECTORS; i++) {
		const struct vec *v = &vectors[i];
		void *mem = talloc_new(NULL);
		struct blob b = load(v->file);
		struct mp_mapi_call *call = decode_vec(mem, v, &b);
		assert_reencodes(call, b.p, b.len);

		struct mp_wbuf out;
		mp_wb_init(&out);
		assert_true(mp_mapi_encode(call, &out));
		struct mp_mapi_call *again = decode_vec(mem, v, &(struct blob){out.data, out.len});
		assert_reencodes(again, b.p, b.len);
		mp_wb_free(&out);

		char *text = print_call(mem, call, MP_PRINT_TEXT);
		assert_non_null(strstr(text, call->codec->name));
		char *json = print_call(mem, call, MP_PRINT_JSON);
		assert_int_equal(json[0], '{');
		free(b.p);
		talloc_free(mem);
	}
}

/* The idl_ vectors are what a from-scratch encoding of their fields gives:
 * mp_emsmdb_push (no replay) writes the same bytes. */
static void test_idl_vectors_from_scratch(void **state)
{
	for (size_t i = 0; i < NVECTORS; i++) {
		const struct vec *v = &vectors[i];
		if (strncmp(v->file, "idl_", 4) != 0)
			continue;
		void *mem = talloc_new(NULL);
		struct blob b = load(v->file);
		struct mp_mapi_call *call = decode_vec(mem, v, &b);
		struct mp_wbuf out;
		mp_wb_init(&out);
		bool ok = v->iface == EMS ? mp_emsmdb_push(v->opnum, v->dir, call->body, &out)
					  : mp_asyncemsmdb_push(v->opnum, v->dir, call->body, &out);
		if (!ok)
			fail_msg("%s: from-scratch push failed", v->file);
		if (out.len != b.len || (b.len && memcmp(out.data, b.p, b.len) != 0))
			fail_msg("%s: from-scratch encoding differs", v->file);
		mp_wb_free(&out);
		free(b.p);
		talloc_free(mem);
	}
}

/* Every proper prefix is refused ("stub too short" or a count check), and
 * so is one extra byte. */
static void test_truncations_and_trailing_bytes(void **state)
{
	for (size_t i = 0; i < NVECTORS; i++) {
		const struct vec *v = &vectors[i];
		struct blob b = load(v->file);
		for (size_t n = 0; n < b.len; n++) {
			/* malloc'd copy of exactly n bytes, so ASan sees any over-read */
			uint8_t *cut = malloc(n ? n : 1);
			assert_non_null(cut);
			memcpy(cut, b.p, n);
			if (!why_refused(v->iface, v->opnum, v->dir, cut, n))
				fail_msg("%s: %zu of %zu bytes accepted", v->file, n, b.len);
			free(cut);
		}
		uint8_t *longer = malloc(b.len + 1);
		assert_non_null(longer);
		if (b.len)
			memcpy(longer, b.p, b.len);
		longer[b.len] = 0;
		const char *why = why_refused(v->iface, v->opnum, v->dir, longer, b.len + 1);
		assert_non_null(why);
		assert_non_null(strstr(why, "trailing"));
		free(longer);
		free(b.p);
	}
}

/* ---- EcDoConnectEx (MS-OXCRPC 4.1) and EcDoConnect ------------------------ */

static void check_connect_req(const struct mp_emsmdb_connect_ex_req *r)
{
	assert_string_equal(r->szUserDN, user_dn);
	assert_int_equal(r->szUserDN_max, 0);
	assert_int_equal(r->ulFlags, 0);
	assert_int_equal(r->ulConMod, 0x00340567);
	assert_int_equal(r->cbLimit, 0);
	assert_int_equal(r->ulCpid, 1252);
	assert_int_equal(r->ulLcidString, 0x409);
	assert_int_equal(r->ulLcidSort, 0x409);
	assert_int_equal(r->ulIcxrLink, 0xFFFFFFFF);
	assert_int_equal(r->usFCanConvertCodePages, 1);
	assert_memory_equal(r->rgwClientVersion, client_version, sizeof(client_version));
	assert_int_equal(r->pulTimeStamp, 0);
}

static void test_connect_ex_request_spec_values(void **state)
{
	void *mem = talloc_new(NULL);
	struct blob b;
	struct mp_mapi_call *call = decode_file(mem, "idl_connect_ex_req", &b);
	const struct mp_emsmdb_connect_ex_req *r = call->body;
	check_connect_req(r);
	assert_int_equal(r->rgbAuxIn.len, 0); /* "rgbAuxIn: NULL", "cbAuxIn: 0" */
	assert_int_equal(r->pcbAuxOut, 0x1008);
	/* The stub: max_count 77, offset 0, actual_count 77 (the 76-character DN
	 * and its NUL), 3 padding bytes, 7 u32, u16 + 3 u16, pulTimeStamp, empty
	 * rgbAuxIn (count 0), cbAuxIn 0, pcbAuxOut 0x1008. */
	assert_int_equal(b.len, 12 + 77 + 3 + 28 + 8 + 4 + 4 + 4 + 4);
	assert_int_equal(mp_get_u32(b.p), 77);
	assert_int_equal(mp_get_u32(b.p + 8), 77);
	assert_int_equal(mp_get_u32(b.p + b.len - 4), 0x1008);

	/* The same fields set by hand give the same stub. */
	struct mp_emsmdb_connect_ex_req mine = {
		.szUserDN = (char *)user_dn,
		.ulConMod = 0x00340567,
		.ulCpid = 1252,
		.ulLcidString = 0x409,
		.ulLcidSort = 0x409,
		.ulIcxrLink = 0xFFFFFFFF,
		.usFCanConvertCodePages = 1,
		.rgwClientVersion = {0x000C, 0x183E, 0x03E8},
		.pcbAuxOut = 0x1008,
	};
	struct mp_wbuf out;
	mp_wb_init(&out);
	assert_true(mp_emsmdb_push(MP_EMSMDB_DO_CONNECT_EX, REQ, &mine, &out));
	assert_int_equal(out.len, b.len);
	assert_memory_equal(out.data, b.p, b.len);
	mp_wb_free(&out);
	free(b.p);

	/* impacket's encoding, with an rgbAuxIn (an AUX_PERF_REQUESTID block). */
	call = decode_file(mem, "imp_connect_ex_req", &b);
	r = call->body;
	check_connect_req(r);
	assert_int_equal(r->rgbAuxIn.len, 16);
	assert_int_equal(r->rgbAuxIn.data[11], 0x01); /* AUX type */
	assert_reencodes(call, b.p, b.len);
	free(b.p);
	talloc_free(mem);
}

static void check_connect_rsp(const struct mp_emsmdb_connect_ex_resp *r)
{
	assert_int_equal(r->pcxh.attributes, 0);
	assert_memory_equal(r->pcxh.uuid, cxh_uuid, 16);
	assert_int_equal(r->pcmsPollsMax, 60000);
	assert_int_equal(r->pcRetry, 6);
	assert_int_equal(r->pcmsRetryDelay, 10000);
	assert_int_equal(r->picxr, 7);
	assert_string_equal(r->szDNPrefix, dn_prefix);
	assert_string_equal(r->szDisplayName, "Jane Dow");
	assert_memory_equal(r->rgwServerVersion, server_version, sizeof(server_version));
	assert_memory_equal(r->rgwBestVersion, client_version, sizeof(client_version));
	assert_int_equal(r->pulTimeStamp, 0x5AB0C1D2);
	assert_int_equal(r->result, 0);
}

static void test_connect_ex_response(void **state)
{
	static const char *const files[] = {"idl_connect_ex_rsp", "imp_connect_ex_rsp"};
	for (int i = 0; i < 2; i++) {
		void *mem = talloc_new(NULL);
		struct blob b;
		struct mp_mapi_call *call = decode_file(mem, files[i], &b);
		const struct mp_emsmdb_connect_ex_resp *r = call->body;
		check_connect_rsp(r);
		assert_int_equal(r->rgbAuxOut.len, sizeof(aux_out));
		assert_memory_equal(r->rgbAuxOut.data, aux_out, sizeof(aux_out));
		assert_int_equal(r->rgbAuxOut.max_count, 0);
		/* impacket's referent IDs are not Samba's; both come back. */
		assert_int_equal(call->refs.count, 2);
		if (i == 0) {
			assert_int_equal(call->refs.ids[0], 0x00020000);
			assert_int_equal(call->refs.ids[1], 0x00020004);
			assert_int_equal(call->refs.npads, 0);
		} else {
			assert_true(call->refs.npads > 0); /* impacket's 0xab/0xbf gaps */
		}
		assert_reencodes(call, b.p, b.len);
		free(b.p);
		talloc_free(mem);
	}
}

/* EcDoConnect (0): the same fields without the auxiliary buffers. */
static void test_connect_legacy(void **state)
{
	void *mem = talloc_new(NULL);
	struct blob req, rsp, ex;
	struct mp_mapi_call *call = decode_file(mem, "idl_connect_req", &req);
	check_connect_req(call->body);
	call = decode_file(mem, "idl_connect_rsp", &rsp);
	const struct mp_emsmdb_connect_ex_resp *r = call->body;
	check_connect_rsp(r);
	assert_int_equal(r->rgbAuxOut.len, 0);
	/* EcDoConnectEx's request is EcDoConnect's plus rgbAuxIn's count,
	 * cbAuxIn and pcbAuxOut. */
	ex = load("idl_connect_ex_req");
	assert_int_equal(ex.len, req.len + 12);
	assert_memory_equal(ex.p, req.p, req.len);
	free(ex.p);
	/* An EcDoConnectEx response is not an EcDoConnect one (trailing bytes),
	 * nor the other way round (too short). */
	ex = load("idl_connect_ex_rsp");
	assert_non_null(why_refused(EMS, 0, RSP, ex.p, ex.len));
	assert_non_null(why_refused(EMS, 10, RSP, rsp.p, rsp.len));
	free(ex.p);
	free(req.p);
	free(rsp.p);
	talloc_free(mem);
}

/* A failed connect: both strings are null unique pointers. */
static void test_connect_null_strings(void **state)
{
	void *mem = talloc_new(NULL);
	struct mp_emsmdb_connect_ex_resp r = {.pcRetry = 6, .result = 0x000003F2};
	struct mp_wbuf out;
	mp_wb_init(&out);
	assert_true(mp_emsmdb_push(MP_EMSMDB_DO_CONNECT_EX, RSP, &r, &out));
	/* 20 handle + 12 + u16 + pad 2 + two null pointers + 12 + 4 + 12
	 * (empty varying array) + 4 + 4. */
	assert_int_equal(out.len, 20 + 12 + 4 + 8 + 12 + 4 + 12 + 4 + 4);
	assert_int_equal(mp_get_u32(out.data + 36), 0);
	assert_int_equal(mp_get_u32(out.data + 40), 0);
	const char *why = NULL;
	struct mp_mapi_call *call =
		mp_mapi_decode(mem, EMS, 10, RSP, out.data, out.len, &why);
	assert_non_null(call);
	const struct mp_emsmdb_connect_ex_resp *d = call->body;
	assert_null(d->szDNPrefix);
	assert_null(d->szDisplayName);
	assert_int_equal(d->result, 0x000003F2);
	assert_int_equal(call->refs.count, 0);
	char *text = print_call(mem, call, MP_PRINT_TEXT);
	assert_non_null(strstr(text, "szDNPrefix: null"));
	assert_non_null(strstr(text, "result: ecLoginPerm (0x000003f2)"));
	assert_non_null(strstr(print_call(mem, call, MP_PRINT_JSON), "\"result\":\"ecLoginPerm\""));
	mp_wb_free(&out);
	talloc_free(mem);
}

/* ---- EcDoRpcExt2 (MS-OXCRPC 4.2) ------------------------------------------ */

static void test_rpc_ext2_spec_values(void **state)
{
	void *mem = talloc_new(NULL);
	struct blob b;
	struct mp_mapi_call *call = decode_file(mem, "idl_rpc_ext2_req", &b);
	const struct mp_emsmdb_rpc_ext2_req *q = call->body;
	assert_memory_equal(q->pcxh.uuid, cxh_uuid, 16);
	assert_int_equal(q->pulFlags, MP_EMSMDB_RPC_NO_COMPRESSION | MP_EMSMDB_RPC_NO_XOR_MAGIC);
	assert_int_equal(q->rgbIn.len, 0x15A); /* cbIn */
	/* RPC_HEADER_EXT {0x0000, 0x0004, 0x0152, 0x0152}, RopSize 0x0142 */
	static const uint8_t hdr_in[10] = {0, 0, 4, 0, 0x52, 0x01, 0x52, 0x01, 0x42, 0x01};
	assert_memory_equal(q->rgbIn.data, hdr_in, sizeof(hdr_in));
	assert_int_equal(q->pcbOut, 0x00018008);
	assert_int_equal(q->rgbAuxIn.len, 0);
	assert_int_equal(q->pcbAuxOut, 0x1008);
	free(b.p);

	call = decode_file(mem, "idl_rpc_ext2_rsp", &b);
	const struct mp_emsmdb_rpc_ext2_resp *r = call->body;
	assert_memory_equal(r->pcxh.uuid, cxh_uuid, 16);
	assert_int_equal(r->pulFlags, 0);
	assert_int_equal(r->rgbOut.len, 0x5A); /* *pcbOut */
	static const uint8_t hdr_out[10] = {0, 0, 4, 0, 0x52, 0, 0x52, 0, 0x42, 0};
	assert_memory_equal(r->rgbOut.data, hdr_out, sizeof(hdr_out));
	assert_int_equal(r->rgbAuxOut.len, 0);
	assert_int_equal(r->pulTransTime, 15);
	assert_int_equal(r->result, 0);
	/* max_count, offset, actual_count of rgbOut, then *pcbOut after 2
	 * padding bytes (0x5A is not a multiple of 4). */
	assert_int_equal(mp_get_u32(b.p + 24), 0x5A);
	assert_int_equal(mp_get_u32(b.p + 28), 0);
	assert_int_equal(mp_get_u32(b.p + 32), 0x5A);
	assert_int_equal(mp_get_u32(b.p + 36 + 0x5A + 2), 0x5A);
	free(b.p);

	/* impacket: odd sizes, so every array is followed by its 0xbf gap. */
	call = decode_file(mem, "imp_rpc_ext2_req", &b);
	q = call->body;
	assert_int_equal(q->rgbIn.len, 0x15A);
	assert_int_equal(q->rgbAuxIn.len, 7);
	assert_true(call->refs.npads >= 2);
	free(b.p);
	call = decode_file(mem, "imp_rpc_ext2_rsp", &b);
	r = call->body;
	assert_int_equal(r->rgbOut.len, 0x59);
	assert_int_equal(r->rgbAuxOut.len, 15);
	assert_int_equal(r->pulTransTime, 15);
	assert_int_equal(r->result, 0x4B6);
	free(b.p);
	talloc_free(mem);
}

/* ---- the other opnums ------------------------------------------------------- */

static void test_small_calls(void **state)
{
	void *mem = talloc_new(NULL);
	struct blob b;

	struct mp_mapi_call *call = decode_file(mem, "idl_disconnect_rsp", &b);
	const struct mp_emsmdb_disconnect_resp *dr = call->body;
	assert_true(mp_emsmdb_handle_is_null(&dr->pcxh));
	free(b.p);

	call = decode_file(mem, "idl_register_push_req", &b);
	const struct mp_emsmdb_register_push_req *rp = call->body;
	assert_int_equal(rp->iRpc, 1);
	assert_int_equal(rp->rgbContext.len, 3);
	assert_int_equal(rp->grbitAdviseBits, 0xFFFFFFFF);
	assert_int_equal(rp->rgbCallbackAddress.len, 16); /* a SOCKADDR_IN */
	assert_int_equal(rp->rgbCallbackAddress.data[0], 2);
	free(b.p);
	call = decode_file(mem, "idl_register_push_rsp", &b);
	assert_int_equal(((struct mp_emsmdb_register_push_resp *)call->body)->hNotification,
			 0xA01);
	free(b.p);

	call = decode_file(mem, "idl_unregister_push_req", &b);
	assert_int_equal(((struct mp_emsmdb_unregister_push_req *)call->body)->hNotification,
			 0xA01);
	free(b.p);

	call = decode_file(mem, "idl_dummy_req", &b);
	assert_int_equal(b.len, 0);
	free(b.p);

	call = decode_file(mem, "idl_get_dc_name_req", &b);
	assert_string_equal(((struct mp_emsmdb_dc_name_req *)call->body)->szDomainName, "EXAMPLE");
	free(b.p);
	call = decode_file(mem, "imp_get_dc_name_rsp", &b);
	const struct mp_emsmdb_dc_name_resp *dc = call->body;
	assert_memory_equal(dc->rgchDomainController, "DC01\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	assert_non_null(strstr(print_call(mem, call, MP_PRINT_TEXT),
			       "rgchDomainController: \"DC01\""));
	free(b.p);
	call = decode_file(mem, "idl_net_get_dc_name_rsp", &b);
	assert_int_equal(((struct mp_emsmdb_dc_name_resp *)call->body)->result, 0x3EB);
	free(b.p);

	call = decode_file(mem, "idl_rpc_ext_req", &b);
	const struct mp_emsmdb_rpc_ext_req *xq = call->body;
	assert_int_equal(xq->rgbIn.len, 0x15A);
	assert_int_equal(xq->pcbOut, 0x8000);
	assert_int_equal(xq->Reserved0.len, 0);
	free(b.p);
	call = decode_file(mem, "idl_rpc_ext_rsp", &b);
	assert_int_equal(((struct mp_emsmdb_rpc_ext_resp *)call->body)->rgbOut.len, 0x5A);
	free(b.p);

	call = decode_file(mem, "idl_async_connect_ex_rsp", &b);
	const struct mp_emsmdb_async_connect_ex_resp *ac = call->body;
	assert_false(mp_emsmdb_handle_is_null(&ac->pacxh));
	free(b.p);
	call = decode_file(mem, "idl_async_wait_ex_rsp", &b);
	assert_int_equal(((struct mp_asyncemsmdb_wait_ex_resp *)call->body)->pulFlagsOut,
			 MP_EMSMDB_NOTIFICATION_PENDING);
	assert_non_null(strstr(print_call(mem, call, MP_PRINT_TEXT),
			       "pulFlagsOut: 0x00000001 (NotificationPending)"));
	free(b.p);
	talloc_free(mem);
}

/* EcDoRpc / EcGetMoreRpc: one buffer each way, max_count usSize. */
static void test_legacy_rpc(void **state)
{
	void *mem = talloc_new(NULL);
	struct blob b;
	struct mp_mapi_call *call = decode_file(mem, "idl_rpc_req", &b);
	const struct mp_emsmdb_rpc_req *q = call->body;
	assert_int_equal(q->usSize, 0x8000);
	assert_int_equal(q->rgb.len, 9);
	/* RopSize 5 XOR 0xA5, then RopRelease (0x01 ^ 0xA5) */
	assert_int_equal(q->rgb.data[0], 0x05 ^ 0xA5);
	assert_int_equal(q->rgb.data[2], 0x01 ^ 0xA5);
	free(b.p);
	call = decode_file(mem, "idl_rpc_rsp", &b);
	const struct mp_emsmdb_rpc_resp *r = call->body;
	assert_int_equal(r->rgb.len, 6);
	assert_int_equal(r->rgb.max_count, 0x8000);
	free(b.p);
	call = decode_file(mem, "idl_get_more_rpc_req", &b);
	assert_int_equal(((struct mp_emsmdb_rpc_req *)call->body)->rgb.len, 0);
	free(b.p);

	/* usSize below the length cannot be encoded. */
	struct mp_emsmdb_rpc_req bad = {.usSize = 2};
	uint8_t three[3] = {1, 2, 3};
	mp_emsmdb_buf_set(&bad.rgb, three, 3);
	struct mp_wbuf out;
	mp_wb_init(&out);
	assert_false(mp_emsmdb_push(MP_EMSMDB_DO_RPC, REQ, &bad, &out));
	assert_int_equal(out.len, 0);
	mp_wb_free(&out);
	talloc_free(mem);
}

/* ---- malformed stubs -------------------------------------------------------- */

static void test_malformed_rpc_ext2(void **state)
{
	struct blob b = load("idl_rpc_ext2_req");
	uint8_t *m = malloc(b.len);
	assert_non_null(m);
	/* offsets: handle 0, pulFlags 20, max_count 24, rgbIn 28..0x182,
	 * pad 2, cbIn 0x184, pcbOut 0x188, aux count 0x18c, cbAuxIn 0x190,
	 * pcbAuxOut 0x194 */
	const size_t cb_in = 28 + 0x15A + 2, pcb_out = cb_in + 4, aux = pcb_out + 4,
		     cb_aux = aux + 4, pcb_aux = cb_aux + 4;
	assert_int_equal(pcb_aux + 4, b.len);

	memcpy(m, b.p, b.len);
	put32(m + cb_in, 0x159);
	assert_refused(11, REQ, m, b.len, "cbIn differs");

	memcpy(m, b.p, b.len);
	put32(m + pcb_out, 0x40001);
	assert_refused(11, REQ, m, b.len, "pcbOut above 0x40000");
	put32(m + pcb_out, 0x40000);
	assert_null(why_refused(EMS, 11, REQ, m, b.len));

	memcpy(m, b.p, b.len);
	put32(m + pcb_aux, 0x1009);
	assert_refused(11, REQ, m, b.len, "pcbAuxOut above 0x1008");

	memcpy(m, b.p, b.len);
	put32(m + cb_aux, 1);
	assert_refused(11, REQ, m, b.len, "cbAuxIn differs");

	/* A count far beyond the stub: refused before any allocation. */
	memcpy(m, b.p, b.len);
	put32(m + 24, 0x00FFFFFF);
	assert_refused(11, REQ, m, b.len, "larger than the stub");
	put32(m + 24, 0xFFFFFFFF);
	assert_refused(11, REQ, m, b.len, NULL);
	free(m);
	free(b.p);

	b = load("idl_rpc_ext2_rsp");
	m = malloc(b.len);
	assert_non_null(m);
	memcpy(m, b.p, b.len);
	put32(m + 28, 1); /* rgbOut offset */
	assert_refused(11, RSP, m, b.len, "offset is not zero");
	memcpy(m, b.p, b.len);
	put32(m + 24, 0x59); /* max_count below actual_count */
	assert_refused(11, RSP, m, b.len, "longer than its maximum");
	memcpy(m, b.p, b.len);
	put32(m + 36 + 0x5A + 2, 0x5B); /* *pcbOut != actual_count */
	assert_refused(11, RSP, m, b.len, "pcbOut differs");
	free(m);
	free(b.p);
}

static void test_malformed_strings_and_counts(void **state)
{
	struct blob b = load("idl_connect_ex_req");
	uint8_t *m = malloc(b.len);
	assert_non_null(m);
	memcpy(m, b.p, b.len);
	m[12 + 76] = '!'; /* the DN's NUL */
	assert_refused(10, REQ, m, b.len, "not terminated");
	memcpy(m, b.p, b.len);
	m[12 + 5] = 0; /* a NUL inside */
	assert_refused(10, REQ, m, b.len, "not terminated");
	memcpy(m, b.p, b.len);
	put32(m + 4, 1); /* string offset */
	assert_refused(10, REQ, m, b.len, "bad string header");
	memcpy(m, b.p, b.len);
	put32(m + 0, 76); /* max_count below actual_count */
	assert_refused(10, REQ, m, b.len, "bad string header");
	free(m);
	free(b.p);

	b = load("idl_register_push_req");
	m = malloc(b.len);
	assert_non_null(m);
	memcpy(m, b.p, b.len);
	mp_put_u16(m + 32, 4); /* cbContext */
	assert_refused(4, REQ, m, b.len, "cbContext differs");
	free(m);
	free(b.p);

	b = load("idl_rpc_req");
	m = malloc(b.len);
	assert_non_null(m);
	memcpy(m, b.p, b.len);
	mp_put_u16(m + b.len - 2, 0x7FFF); /* usSize vs max_count 0x8000 */
	assert_refused(2, REQ, m, b.len, "usSize differs");
	memcpy(m, b.p, b.len);
	mp_put_u16(m + b.len - 4, 8); /* *pusLength vs actual_count 9 */
	assert_refused(2, REQ, m, b.len, "pusLength differs");
	free(m);
	free(b.p);
}

/* ---- protocol maxima -------------------------------------------------------- */

static void test_maximum_sizes(void **state)
{
	void *mem = talloc_new(NULL);
	uint8_t *big = malloc(MP_EMSMDB_BIG_RANGE + 1);
	uint8_t *aux = malloc(MP_EMSMDB_SMALL_RANGE + 1);
	assert_non_null(big);
	assert_non_null(aux);
	for (size_t i = 0; i <= MP_EMSMDB_BIG_RANGE; i++)
		big[i] = (uint8_t)(i * 13 + (i >> 8));
	memset(aux, 0x5a, MP_EMSMDB_SMALL_RANGE + 1);

	struct mp_emsmdb_rpc_ext2_resp r = {.pulTransTime = 3};
	mp_emsmdb_buf_set(&r.rgbOut, big, MP_EMSMDB_BIG_RANGE);
	mp_emsmdb_buf_set(&r.rgbAuxOut, aux, MP_EMSMDB_SMALL_RANGE);
	struct mp_wbuf out;
	mp_wb_init(&out);
	assert_true(mp_emsmdb_push(MP_EMSMDB_DO_RPC_EXT2, RSP, &r, &out));
	assert_int_equal(out.len, 24 + 12 + 0x40000 + 4 + 12 + 0x1008 + 4 + 4 + 4);
	const char *why = NULL;
	struct mp_mapi_call *call = mp_mapi_decode(mem, EMS, 11, RSP, out.data, out.len, &why);
	assert_non_null(call);
	const struct mp_emsmdb_rpc_ext2_resp *d = call->body;
	assert_int_equal(d->rgbOut.len, 0x40000);
	assert_memory_equal(d->rgbOut.data, big, 0x40000);
	assert_int_equal(d->rgbAuxOut.len, 0x1008);
	assert_reencodes(call, out.data, out.len);

	/* One byte more is beyond BIG_RANGE_ULONG: not encoded... */
	struct mp_wbuf out2;
	mp_wb_init(&out2);
	r.rgbOut.len = MP_EMSMDB_BIG_RANGE + 1;
	assert_false(mp_emsmdb_push(MP_EMSMDB_DO_RPC_EXT2, RSP, &r, &out2));
	r.rgbOut.len = MP_EMSMDB_BIG_RANGE;
	r.rgbAuxOut.len = MP_EMSMDB_SMALL_RANGE + 1;
	assert_false(mp_emsmdb_push(MP_EMSMDB_DO_RPC_EXT2, RSP, &r, &out2));
	mp_wb_free(&out2);

	/* ... and not decoded: a well-formed stub carrying 0x40001 bytes. */
	size_t n = out.len + 4;
	uint8_t *m = malloc(n);
	assert_non_null(m);
	memcpy(m, out.data, 24);
	put32(m + 24, 0x40001);
	put32(m + 28, 0);
	put32(m + 32, 0x40001);
	memcpy(m + 36, big, 0x40001);
	memset(m + 36 + 0x40001, 0, 3);
	put32(m + 36 + 0x40004, 0x40001);
	memcpy(m + 36 + 0x40008, out.data + 36 + 0x40004, out.len - (36 + 0x40004));
	assert_refused(11, RSP, m, n, "pcbOut above 0x40000");
	free(m);

	/* A request may carry a full 0x40000-byte rgbIn (cbIn has no range). */
	struct mp_emsmdb_rpc_ext2_req q = {.pcbOut = MP_EMSMDB_BIG_RANGE,
					   .pcbAuxOut = MP_EMSMDB_SMALL_RANGE};
	mp_emsmdb_buf_set(&q.rgbIn, big, MP_EMSMDB_BIG_RANGE);
	mp_emsmdb_buf_set(&q.rgbAuxIn, aux, MP_EMSMDB_SMALL_RANGE);
	mp_wb_free(&out);
	mp_wb_init(&out);
	assert_true(mp_emsmdb_push(MP_EMSMDB_DO_RPC_EXT2, REQ, &q, &out));
	call = mp_mapi_decode(mem, EMS, 11, REQ, out.data, out.len, &why);
	assert_non_null(call);
	assert_int_equal(((struct mp_emsmdb_rpc_ext2_req *)call->body)->rgbIn.len, 0x40000);
	assert_reencodes(call, out.data, out.len);
	mp_wb_free(&out);
	free(big);
	free(aux);
	talloc_free(mem);
}

/* ---- byte-exactness beyond the defaults ------------------------------------- */

/* max_count above actual_count (allowed by NDR) and Windows-style referent
 * IDs are kept; a from-scratch encoding writes max = actual. */
static void test_max_count_and_referents_kept(void **state)
{
	void *mem = talloc_new(NULL);
	struct blob b = load("idl_connect_ex_rsp");
	uint8_t *m = malloc(b.len);
	assert_non_null(m);
	memcpy(m, b.p, b.len);
	/* referent IDs 0x00020000/0x00020004 -> Windows-like values */
	assert_int_equal(mp_get_u32(m + 36), 0x00020000);
	put32(m + 36, 0x0011F0A8);
	put32(m + 40 + 12 + 52, 0x0011F0E0); /* after the 52-byte DN prefix */
	/* the DN prefix's max_count 52 -> 64 */
	put32(m + 40, 64);
	/* rgbAuxOut max_count 16 -> 0x1008 */
	size_t aux_at = b.len - 4 - 4 - 16 - 12;
	assert_int_equal(mp_get_u32(m + aux_at), 16);
	put32(m + aux_at, 0x1008);

	const char *why = NULL;
	struct mp_mapi_call *call = mp_mapi_decode(mem, EMS, 10, RSP, m, b.len, &why);
	if (!call)
		fail_msg("refused: %s", why);
	const struct mp_emsmdb_connect_ex_resp *r = call->body;
	check_connect_rsp(r);
	assert_int_equal(r->szDNPrefix_max, 64);
	assert_int_equal(r->szDisplayName_max, 0);
	assert_int_equal(r->rgbAuxOut.max_count, 0x1008);
	assert_int_equal(r->rgbAuxOut.len, 16);
	assert_int_equal(call->refs.ids[0], 0x0011F0A8);
	assert_int_equal(call->refs.ids[1], 0x0011F0E0);
	assert_reencodes(call, m, b.len);

	/* From scratch (no replay) the same structure gets Samba's IDs but keeps
	 * the max counts it was given. */
	struct mp_wbuf out;
	mp_wb_init(&out);
	assert_true(mp_emsmdb_push(MP_EMSMDB_DO_CONNECT_EX, RSP, r, &out));
	assert_int_equal(mp_get_u32(out.data + 36), 0x00020000);
	assert_int_equal(mp_get_u32(out.data + 40), 64);
	assert_int_equal(mp_get_u32(out.data + aux_at), 0x1008);
	mp_wb_free(&out);
	free(m);
	free(b.p);
	talloc_free(mem);
}

/* ---- what modules do ---------------------------------------------------------- */

/* The downgrade module rewrites the versions in an EcDoConnect(Ex) reply:
 * only those 12 bytes change, impacket's gaps and IDs stay. */
static void test_downgrade_rewrites_versions(void **state)
{
	void *mem = talloc_new(NULL);
	struct blob b;
	struct mp_mapi_call *call = decode_file(mem, "imp_connect_ex_rsp", &b);
	struct mp_emsmdb_connect_ex_resp *r = call->body;
	static const uint16_t exchange2003[3] = {0x0006, 0x1141, 0x0005};
	memcpy(r->rgwServerVersion, exchange2003, sizeof(exchange2003));
	memcpy(r->rgwBestVersion, exchange2003, sizeof(exchange2003));
	struct mp_wbuf out;
	mp_wb_init(&out);
	assert_true(mp_mapi_encode(call, &out));
	assert_int_equal(out.len, b.len);
	size_t diff = 0, first = 0;
	for (size_t i = 0; i < b.len; i++) {
		if (out.data[i] != b.p[i]) {
			if (!diff)
				first = i;
			diff++;
		}
	}
	assert_true(diff > 0 && diff <= 12);
	assert_true(first >= 0x82 && first < 0x82 + 12); /* the two version arrays */
	const char *why = NULL;
	struct mp_mapi_call *again = mp_mapi_decode(mem, EMS, 10, RSP, out.data, out.len, &why);
	assert_non_null(again);
	const struct mp_emsmdb_connect_ex_resp *a = again->body;
	assert_memory_equal(a->rgwServerVersion, exchange2003, 6);
	assert_memory_equal(a->rgwBestVersion, exchange2003, 6);
	assert_string_equal(a->szDisplayName, "Jane Dow");
	mp_wb_free(&out);
	free(b.p);
	talloc_free(mem);
}

/* The pack module replaces rgbIn: cbIn follows, the rest is unchanged. */
static void test_pack_rewrites_rgbin(void **state)
{
	void *mem = talloc_new(NULL);
	struct blob b;
	struct mp_mapi_call *call = decode_file(mem, "imp_rpc_ext2_req", &b);
	struct mp_emsmdb_rpc_ext2_req *q = call->body;
	uint8_t *packed = talloc_size(call, 1001);
	assert_non_null(packed);
	for (int i = 0; i < 1001; i++)
		packed[i] = (uint8_t)i;
	mp_emsmdb_buf_set(&q->rgbIn, packed, 1001);
	struct mp_wbuf out;
	mp_wb_init(&out);
	assert_true(mp_mapi_encode(call, &out));
	const char *why = NULL;
	struct mp_mapi_call *again = mp_mapi_decode(mem, EMS, 11, REQ, out.data, out.len, &why);
	if (!again)
		fail_msg("re-encoded stub refused: %s", why);
	const struct mp_emsmdb_rpc_ext2_req *a = again->body;
	assert_int_equal(a->rgbIn.len, 1001);
	assert_memory_equal(a->rgbIn.data, packed, 1001);
	assert_int_equal(mp_get_u32(out.data + 24), 1001);		/* max_count */
	assert_int_equal(mp_get_u32(out.data + 28 + 1001 + 3), 1001); /* cbIn */
	assert_int_equal(a->pulFlags, 3);
	assert_int_equal(a->pcbOut, 0x00018008);
	assert_int_equal(a->rgbAuxIn.len, 7);
	assert_int_equal(a->pcbAuxOut, 0x1008);
	mp_wb_free(&out);
	free(b.p);
	talloc_free(mem);
}

/* ---- encoder refusals, unknown opnums, printing --------------------------------- */

static void test_unencodable_structures(void **state)
{
	struct mp_wbuf out;
	mp_wb_init(&out);
	struct mp_emsmdb_connect_ex_req c = {.szUserDN = NULL};
	assert_false(mp_emsmdb_push(MP_EMSMDB_DO_CONNECT_EX, REQ, &c, &out));
	assert_false(mp_emsmdb_push(MP_EMSMDB_DO_CONNECT, REQ, &c, &out));
	c.szUserDN = "x";
	c.pcbAuxOut = MP_EMSMDB_SMALL_RANGE + 1;
	assert_false(mp_emsmdb_push(MP_EMSMDB_DO_CONNECT_EX, REQ, &c, &out));

	struct mp_emsmdb_rpc_ext2_req q = {.rgbIn = {.data = NULL, .len = 4}};
	assert_false(mp_emsmdb_push(MP_EMSMDB_DO_RPC_EXT2, REQ, &q, &out));
	q.rgbIn.len = 0;
	q.pcbOut = MP_EMSMDB_BIG_RANGE + 1;
	assert_false(mp_emsmdb_push(MP_EMSMDB_DO_RPC_EXT2, REQ, &q, &out));

	static uint8_t many[0x10000];
	struct mp_emsmdb_register_push_req rp = {0};
	mp_emsmdb_buf_set(&rp.rgbContext, many, sizeof(many)); /* cbContext is a u16 */
	assert_false(mp_emsmdb_push(MP_EMSMDB_REGISTER_PUSH_NOTIFICATION, REQ, &rp, &out));

	struct mp_emsmdb_dc_name_req dn = {.szDomainName = NULL};
	assert_false(mp_emsmdb_push(MP_EMSMDB_GET_DC_NAME, REQ, &dn, &out));
	assert_false(mp_emsmdb_push(12, REQ, &dn, &out));
	assert_false(mp_asyncemsmdb_push(1, REQ, &dn, &out));
	assert_int_equal(out.len, 0); /* nothing appended by any failure */

	/* An empty request still encodes (EcDummyRpc). */
	assert_true(mp_emsmdb_push(MP_EMSMDB_DUMMY_RPC, REQ, NULL, &out));
	assert_int_equal(out.len, 0);
	mp_wb_free(&out);
}

static void test_reserved_opnums_have_no_codec(void **state)
{
	static const uint16_t none[] = {12, 13, 15, 16, 255, 0xFFFF};
	static const uint8_t stub[24];
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		assert_null(mp_emsmdb_codec(none[i]));
		assert_int_equal(mp_emsmdb_body_size(none[i], REQ), 0);
		const char *why = why_refused(EMS, none[i], REQ, stub, sizeof(stub));
		assert_string_equal(why, "unknown opnum");
	}
	for (uint16_t op = 0; op <= 14; op++) {
		if (op == 12 || op == 13)
			continue;
		const struct mp_call_codec *c = mp_emsmdb_codec(op);
		assert_non_null(c);
		assert_non_null(c->pull[REQ]);
		assert_non_null(c->push[RSP]);
	}
	assert_string_equal(mp_emsmdb_codec(10)->name, "EcDoConnectEx");
	assert_string_equal(mp_emsmdb_codec(11)->name, "EcDoRpcExt2");
	assert_string_equal(mp_emsmdb_codec(14)->name, "EcDoAsyncConnectEx");
	assert_string_equal(mp_call_codec(MP_MAPI_ASYNCEMSMDB, 0)->name, "EcDoAsyncWaitEx");
	assert_null(mp_asyncemsmdb_codec(1));
	assert_int_equal(mp_emsmdb_body_size(10, REQ), sizeof(struct mp_emsmdb_connect_ex_req));
}

static void test_print_text_and_json(void **state)
{
	void *mem = talloc_new(NULL);
	struct blob b;
	struct mp_mapi_call *call = decode_file(mem, "idl_connect_ex_req", &b);
	char *t = print_call(mem, call, MP_PRINT_TEXT);
	assert_non_null(strstr(t, "EcDoConnectEx\n"));
	assert_non_null(strstr(t, "  interface: \"EMSMDB\"\n"));
	assert_non_null(strstr(t, "  szUserDN: \"/o=First Organization/"));
	assert_non_null(strstr(t, "  ulIcxrLink: 0xffffffff\n"));
	assert_non_null(strstr(t, "  rgwClientVersion: [3]\n"));
	assert_non_null(strstr(t, "  cbAuxIn: 0\n"));
	char *j = print_call(mem, call, MP_PRINT_JSON);
	assert_non_null(strstr(j, "\"szUserDN\":\"/o=First Organization/ou=First Administrative "
				  "Group/CN=recipients/CN=janedow\""));
	assert_non_null(strstr(j, "\"ulCpid\":1252"));
	assert_non_null(strstr(j, "\"rgwClientVersion\":[12,6206,1000]"));
	free(b.p);

	call = decode_file(mem, "idl_rpc_ext2_req", &b);
	t = print_call(mem, call, MP_PRINT_TEXT);
	assert_non_null(strstr(t, "  pulFlags: 0x00000003 (NoCompression|NoXorMagic)\n"));
	assert_non_null(strstr(t, "  cbIn: 346\n"));
	assert_non_null(strstr(t, "  rgbIn: 000004005201520142010108"));
	assert_non_null(strstr(t, "more bytes)"));
	assert_non_null(strstr(t, "  pcxh\n    attributes: 0x00000000\n"));
	j = print_call(mem, call, MP_PRINT_JSON);
	assert_non_null(strstr(j, "\"cbIn\":346,\"rgbIn\":\"0000040052015201420101"));
	free(b.p);
	call = decode_file(mem, "imp_rpc_ext2_rsp", &b);
	assert_non_null(strstr(print_call(mem, call, MP_PRINT_TEXT),
			       "  result: ecRpcFormat (0x000004b6)\n"));
	free(b.p);
	talloc_free(mem);
}

/* The RPC_HEADER_EXT / AUX / ROP layers find their buffers, and a module
 * that replaces one through the accessor changes what is encoded. */
static void test_ext_buffers(void **state)
{
	void *mem = talloc_new(NULL);
	struct blob b;
	struct mp_emsmdb_ext_bufs x;
	struct mp_mapi_call *call = decode_file(mem, "idl_rpc_ext2_rsp", &b);
	assert_true(mp_emsmdb_ext_buffers(11, RSP, call->body, &x));
	assert_ptr_equal(x.rop, &((struct mp_emsmdb_rpc_ext2_resp *)call->body)->rgbOut);
	assert_ptr_equal(x.aux, &((struct mp_emsmdb_rpc_ext2_resp *)call->body)->rgbAuxOut);
	assert_false(x.legacy);
	assert_int_equal(x.rop->len, 0x5A);
	static uint8_t header_only[8] = {0, 0, 4, 0, 0, 0, 0, 0};
	mp_emsmdb_buf_set(x.rop, header_only, sizeof(header_only));
	struct mp_wbuf out;
	mp_wb_init(&out);
	assert_true(mp_mapi_encode(call, &out));
	assert_int_equal(out.len, b.len - 0x5A + 8 - 2); /* 2 padding bytes fewer */
	assert_int_equal(mp_get_u32(out.data + 36 + 8), 8); /* *pcbOut */
	mp_wb_free(&out);
	free(b.p);

	call = decode_file(mem, "idl_rpc_ext2_req", &b);
	assert_true(mp_emsmdb_ext_buffers(11, REQ, call->body, &x));
	assert_int_equal(x.rop->len, 0x15A);
	assert_int_equal(x.aux->len, 0);
	free(b.p);
	call = decode_file(mem, "imp_connect_ex_req", &b);
	assert_true(mp_emsmdb_ext_buffers(10, REQ, call->body, &x));
	assert_null(x.rop);
	assert_int_equal(x.aux->len, 16);
	free(b.p);
	call = decode_file(mem, "idl_connect_ex_rsp", &b);
	assert_true(mp_emsmdb_ext_buffers(10, RSP, call->body, &x));
	assert_memory_equal(x.aux->data, aux_out, sizeof(aux_out));
	free(b.p);
	call = decode_file(mem, "idl_rpc_req", &b);
	assert_true(mp_emsmdb_ext_buffers(2, REQ, call->body, &x));
	assert_true(x.legacy);
	assert_int_equal(x.rop->len, 9);
	assert_null(x.aux);
	free(b.p);
	call = decode_file(mem, "idl_get_more_rpc_rsp", &b);
	assert_true(mp_emsmdb_ext_buffers(3, RSP, call->body, &x));
	assert_int_equal(x.rop->len, 13);
	free(b.p);
	call = decode_file(mem, "idl_rpc_ext_rsp", &b);
	assert_true(mp_emsmdb_ext_buffers(9, RSP, call->body, &x));
	assert_int_equal(x.rop->len, 0x5A);
	assert_null(x.aux);
	free(b.p);
	call = decode_file(mem, "idl_disconnect_req", &b);
	assert_false(mp_emsmdb_ext_buffers(1, REQ, call->body, &x));
	assert_null(x.rop);
	free(b.p);
	assert_false(mp_emsmdb_ext_buffers(11, REQ, NULL, &x));
	talloc_free(mem);
}

int main(int argc, char **argv)
{
	static char here[1024];
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
		cmocka_unit_test(test_all_vectors_round_trip),
		cmocka_unit_test(test_idl_vectors_from_scratch),
		cmocka_unit_test(test_truncations_and_trailing_bytes),
		cmocka_unit_test(test_connect_ex_request_spec_values),
		cmocka_unit_test(test_connect_ex_response),
		cmocka_unit_test(test_connect_legacy),
		cmocka_unit_test(test_connect_null_strings),
		cmocka_unit_test(test_rpc_ext2_spec_values),
		cmocka_unit_test(test_small_calls),
		cmocka_unit_test(test_legacy_rpc),
		cmocka_unit_test(test_malformed_rpc_ext2),
		cmocka_unit_test(test_malformed_strings_and_counts),
		cmocka_unit_test(test_maximum_sizes),
		cmocka_unit_test(test_max_count_and_referents_kept),
		cmocka_unit_test(test_downgrade_rewrites_versions),
		cmocka_unit_test(test_pack_rewrites_rgbin),
		cmocka_unit_test(test_unencodable_structures),
		cmocka_unit_test(test_reserved_opnums_have_no_codec),
		cmocka_unit_test(test_print_text_and_json),
		cmocka_unit_test(test_ext_buffers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
