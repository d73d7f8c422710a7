/*
 * Unit tests: mapi/aux (auxiliary blocks of MS-OXCRPC 2.2.2.2).
 *
 * Every block is written here byte by byte after the layout of its spec
 * section (offsets counted from the AUX_HEADER, NUL-terminated UTF-16
 * strings, fields little-endian), with values like those Outlook sends in
 * rgbAuxIn of EcDoConnectEx (adapter speed 1000000, client ID 1, adapter
 * "Ethernet0", process "OUTLOOK.EXE", a session GUID and connection ID). For
 * each: the structure the (Version, Type) pair selects, every field value,
 * the received bytes re-encoded exactly, and the encoding from fields equal
 * to the hand-written bytes. Then: every fixed-size structure and version of
 * the spec's table; unknown types and versions kept opaque; blocks that do
 * not fit their structure kept opaque with a reason while the rest decodes;
 * bytes after a structure kept; broken header sequences refused; blocks
 * built from scratch; the whole EcDoConnectEx rgbAuxIn through
 * RPC_HEADER_EXT (compressed and obfuscated); printing; random edits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mapi/aux.h"
#include "mapi/rpc_ext.h"
#include "util/status.h"

#include <stdlib.h>
#include <string.h>
#include <talloc.h>

/* ---- a byte writer independent of the code under test ---------------------- */

struct w {
	uint8_t b[1024];
	size_t n;
};

static void w8(struct w *w, uint8_t v)
{
	w->b[w->n++] = v;
}

static void w16(struct w *w, uint16_t v)
{
	w8(w, (uint8_t)v);
	w8(w, (uint8_t)(v >> 8));
}

static void w32(struct w *w, uint32_t v)
{
	w16(w, (uint16_t)v);
	w16(w, (uint16_t)(v >> 16));
}

static void wbytes(struct w *w, const void *p, size_t n)
{
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

/* ASCII as NUL-terminated UTF-16LE. */
static void wstr(struct w *w, const char *s)
{
	for (; *s; s++)
		w16(w, (uint16_t)(uint8_t)*s);
	w16(w, 0);
}

static void set16(struct w *w, size_t at, uint16_t v)
{
	w->b[at] = (uint8_t)v;
	w->b[at + 1] = (uint8_t)(v >> 8);
}

/* Start a block; end_block() pads it to 4 bytes and writes its Size. */
static size_t begin_block(struct w *w, uint8_t version, uint8_t type)
{
	size_t at = w->n;
	w16(w, 0);
	w8(w, version);
	w8(w, type);
	return at;
}

static void end_block(struct w *w, size_t at)
{
	while ((w->n - at) % 4)
		w8(w, 0);
	set16(w, at, (uint16_t)(w->n - at));
}

static const uint8_t guid_a[16] = {0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66,
                                   0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};

/* ---- helpers ---------------------------------------------------------------- */

static struct mp_aux_list *parse_ok(void *mem, const uint8_t *buf, size_t len)
{
	struct mp_aux_list *list = NULL;
	const char *why = NULL;
	int ret = mp_aux_parse(mem, buf, len, &list, &why);
	if (ret != MP_OK)
		fail_msg("parse failed: %s (%s)", mp_status_name(ret), why ? why : "?");
	return list;
}

/* Re-encode as received, then from fields: both must equal `want`. */
static void assert_encodes(struct mp_aux_list *list, const uint8_t *buf, size_t len,
                           const uint8_t *want_fields, size_t want_len)
{
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	assert_int_equal(mp_aux_build(list, &wb), MP_OK);
	assert_int_equal(wb.len, len);
	assert_memory_equal(wb.data, buf, len);
	mp_wb_free(&wb);

	for (size_t i = 0; i < list->count; i++)
		mp_aux_block_touch(&list->blocks[i]);
	mp_wb_init(&wb);
	assert_int_equal(mp_aux_build(list, &wb), MP_OK);
	assert_int_equal(wb.len, want_len);
	assert_memory_equal(wb.data, want_fields, want_len);
	mp_wb_free(&wb);
}

static void assert_str(const struct mp_aux_str *s, const char *ascii)
{
	if (!ascii) {
		assert_null(s->utf16);
		assert_int_equal(s->offset, 0);
		return;
	}
	assert_non_null(s->utf16);
	assert_int_equal(s->nbytes, 2 * strlen(ascii));
	for (size_t i = 0; ascii[i]; i++) {
		assert_int_equal(s->utf16[2 * i], (uint8_t)ascii[i]);
		assert_int_equal(s->utf16[2 * i + 1], 0);
	}
}

/* ---- blocks with variable fields --------------------------------------------- */

static size_t write_clientinfo(struct w *w)
{
	size_t at = begin_block(w, MP_AUX_VERSION_1, MP_AUX_TYPE_PERF_CLIENTINFO);
	w32(w, 1000000); /* AdapterSpeed */
	w16(w, 1);       /* ClientID */
	size_t offs = w->n;
	for (int i = 0; i < 9; i++)
		w16(w, 0); /* offsets and sizes, below */
	w16(w, MP_AUX_CLIENTMODE_CACHED);
	w16(w, 0); /* Reserved */
	/* MachineNameOffset */
	set16(w, offs, (uint16_t)(w->n - at));
	wstr(w, "WS0042");
	set16(w, offs + 2, (uint16_t)(w->n - at));
	wstr(w, "jdoe");
	set16(w, offs + 4, 4); /* ClientIPSize */
	set16(w, offs + 6, (uint16_t)(w->n - at));
	wbytes(w, "\xc0\xa8\x01\x0a", 4);
	set16(w, offs + 8, 4);
	set16(w, offs + 10, (uint16_t)(w->n - at));
	wbytes(w, "\xff\xff\xff\x00", 4);
	set16(w, offs + 12, (uint16_t)(w->n - at));
	wstr(w, "Ethernet0");
	set16(w, offs + 14, 6); /* MacAddressSize */
	set16(w, offs + 16, (uint16_t)(w->n - at));
	wbytes(w, "\x00\x15\x5d\x01\x02\x03", 6);
	end_block(w, at);
	return at;
}

static void test_perf_clientinfo(void **state)
{
	struct w w = {0};
	write_clientinfo(&w);
	void *mem = talloc_new(NULL);
	struct mp_aux_list *list = parse_ok(mem, w.b, w.n);
	assert_int_equal(list->count, 1);
	const struct mp_aux_block *b = &list->blocks[0];
	assert_int_equal(b->size, w.n);
	assert_int_equal(b->st, MP_AUX_PERF_CLIENTINFO);
	const struct mp_aux_perf_clientinfo *c = &b->u.perf_clientinfo;
	assert_int_equal(c->adapter_speed, 1000000);
	assert_int_equal(c->client_id, 1);
	assert_int_equal(c->machine_name.offset, 32);
	assert_str(&c->machine_name, "WS0042");
	assert_str(&c->user_name, "jdoe");
	assert_int_equal(c->client_ip.size, 4);
	assert_memory_equal(c->client_ip.data, "\xc0\xa8\x01\x0a", 4);
	assert_memory_equal(c->client_ip_mask.data, "\xff\xff\xff\x00", 4);
	assert_str(&c->adapter_name, "Ethernet0");
	assert_int_equal(c->mac_address.size, 6);
	assert_memory_equal(c->mac_address.data, "\x00\x15\x5d\x01\x02\x03", 6);
	assert_int_equal(c->client_mode, MP_AUX_CLIENTMODE_CACHED);
	assert_encodes(list, w.b, w.n, w.b, w.n);
	talloc_free(mem);
}

static void test_perf_clientinfo_absent_fields(void **state)
{
	/* Empty names (offset 0), no IP (size 0, offset 0), and a MAC size
	 * without an offset: absent, with the size kept as sent. */
	struct w w = {0};
	size_t at = begin_block(&w, 1, MP_AUX_TYPE_PERF_CLIENTINFO);
	w32(&w, 0);
	w16(&w, 7);
	for (int i = 0; i < 7; i++)
		w16(&w, 0);
	w16(&w, 6); /* MacAddressSize */
	w16(&w, 0); /* MacAddressOffset */
	w16(&w, MP_AUX_CLIENTMODE_CLASSIC);
	w16(&w, 0xbeef);
	end_block(&w, at);
	void *mem = talloc_new(NULL);
	struct mp_aux_list *list = parse_ok(mem, w.b, w.n);
	const struct mp_aux_perf_clientinfo *c = &list->blocks[0].u.perf_clientinfo;
	assert_int_equal(list->blocks[0].st, MP_AUX_PERF_CLIENTINFO);
	assert_str(&c->machine_name, NULL);
	assert_str(&c->adapter_name, NULL);
	assert_null(c->client_ip.data);
	assert_null(c->mac_address.data);
	assert_int_equal(c->mac_address.size, 6);
	assert_int_equal(c->reserved, 0xbeef);
	assert_encodes(list, w.b, w.n, w.b, w.n);
	talloc_free(mem);
}

static void test_perf_serverinfo(void **state)
{
	static const char *dn = "/o=First Organization/ou=Exchange Administrative Group "
	                        "(FYDIBOHF23SPDLT)/cn=Configuration/cn=Servers/cn=EX01";
	struct w w = {0};
	size_t at = begin_block(&w, 1, MP_AUX_TYPE_PERF_SERVERINFO);
	w16(&w, 3);
	w16(&w, MP_AUX_SERVERTYPE_PRIVATE);
	w16(&w, 12);
	w16(&w, (uint16_t)(12 + 2 * strlen(dn) + 2));
	wstr(&w, dn);
	wstr(&w, "EX01");
	end_block(&w, at);

	void *mem = talloc_new(NULL);
	struct mp_aux_list *list = parse_ok(mem, w.b, w.n);
	const struct mp_aux_perf_serverinfo *s = &list->blocks[0].u.perf_serverinfo;
	assert_int_equal(list->blocks[0].st, MP_AUX_PERF_SERVERINFO);
	assert_int_equal(s->server_id, 3);
	assert_int_equal(s->server_type, MP_AUX_SERVERTYPE_PRIVATE);
	assert_str(&s->server_dn, dn);
	assert_str(&s->server_name, "EX01");
	assert_encodes(list, w.b, w.n, w.b, w.n);
	talloc_free(mem);
}

static size_t write_processinfo(struct w *w, uint8_t version)
{
	size_t at = begin_block(w, version, MP_AUX_TYPE_PERF_PROCESSINFO);
	w16(w, 1);
	w16(w, 0);
	wbytes(w, guid_a, 16);
	w16(w, 28); /* ProcessNameOffset: 4 + 24 */
	w16(w, 0);
	wstr(w, "OUTLOOK.EXE");
	end_block(w, at);
	return at;
}

static void test_perf_processinfo(void **state)
{
	for (uint8_t v = 1; v <= 2; v++) {
		struct w w = {0};
		write_processinfo(&w, v);
		void *mem = talloc_new(NULL);
		struct mp_aux_list *list = parse_ok(mem, w.b, w.n);
		const struct mp_aux_perf_processinfo *p = &list->blocks[0].u.perf_processinfo;
		assert_int_equal(list->blocks[0].st, MP_AUX_PERF_PROCESSINFO);
		assert_int_equal(p->process_id, 1);
		assert_memory_equal(p->process_guid, guid_a, 16);
		assert_int_equal(p->process_name.offset, 28);
		assert_str(&p->process_name, "OUTLOOK.EXE");
		assert_encodes(list, w.b, w.n, w.b, w.n);
		talloc_free(mem);
	}
}

static size_t write_connection_info(struct w *w)
{
	size_t at = begin_block(w, 1, MP_AUX_TYPE_CLIENT_CONNECTION_INFO);
	wbytes(w, guid_a, 16);
	w16(w, 32); /* OffsetConnectionContextInfo: 4 + 28 */
	w16(w, 0);
	w32(w, 3);
	w32(w, MP_AUX_CONNECTION_FLAG_CLIENT_CACHED_MODE);
	wstr(w, "ctx=outlook;attempt=3");
	end_block(w, at);
	return at;
}

static void test_client_connection_info(void **state)
{
	struct w w = {0};
	write_connection_info(&w);
	void *mem = talloc_new(NULL);
	struct mp_aux_list *list = parse_ok(mem, w.b, w.n);
	const struct mp_aux_client_connection_info *c = &list->blocks[0].u.client_connection_info;
	assert_int_equal(list->blocks[0].st, MP_AUX_CLIENT_CONNECTION_INFO);
	assert_memory_equal(c->connection_guid, guid_a, 16);
	assert_int_equal(c->connection_attempts, 3);
	assert_int_equal(c->connection_flags, 1);
	assert_str(&c->connection_context_info, "ctx=outlook;attempt=3");
	assert_encodes(list, w.b, w.n, w.b, w.n);
	talloc_free(mem);
}

static void test_server_session_info(void **state)
{
	struct w w = {0};
	size_t at = begin_block(&w, 1, MP_AUX_TYPE_SERVER_SESSION_INFO);
	w16(&w, 6);
	wstr(&w, "EX01.contoso.com;sid=42");
	end_block(&w, at);
	void *mem = talloc_new(NULL);
	struct mp_aux_list *list = parse_ok(mem, w.b, w.n);
	assert_int_equal(list->blocks[0].st, MP_AUX_SERVER_SESSION_INFO);
	assert_str(&list->blocks[0].u.server_session_info.server_session_context_info,
	           "EX01.contoso.com;sid=42");
	assert_encodes(list, w.b, w.n, w.b, w.n);
	talloc_free(mem);
}

static void test_protocol_device_identification(void **state)
{
	static const char *v[5] = {"Contoso", "Phone 9", "SN-0001", "1.2", "fw-77"};
	struct w w = {0};
	size_t at = begin_block(&w, 1, MP_AUX_TYPE_PROTOCOL_DEVICE_IDENTIFICATION);
	size_t offs = w.n;
	for (int i = 0; i < 5; i++)
		w16(&w, 0);
	for (int i = 0; i < 5; i++) {
		set16(&w, offs + 2 * (size_t)i, (uint16_t)(w.n - at));
		wstr(&w, v[i]);
	}
	end_block(&w, at);
	void *mem = talloc_new(NULL);
	struct mp_aux_list *list = parse_ok(mem, w.b, w.n);
	const struct mp_aux_protocol_device_identification *d =
	    &list->blocks[0].u.protocol_device_identification;
	assert_int_equal(list->blocks[0].st, MP_AUX_PROTOCOL_DEVICE_IDENTIFICATION);
	assert_str(&d->device_manufacturer, v[0]);
	assert_str(&d->device_model, v[1]);
	assert_str(&d->device_serial_number, v[2]);
	assert_str(&d->device_version, v[3]);
	assert_str(&d->device_firmware_version, v[4]);
	assert_encodes(list, w.b, w.n, w.b, w.n);
	talloc_free(mem);
}

/* ---- fixed-size structures -------------------------------------------------- */

/* Body sizes by structure, from the spec's diagrams. */
static const struct {
	uint8_t type, version;
	enum mp_aux_struct st;
	size_t body;
} fixed[] = {
    {0x01, 1, MP_AUX_PERF_REQUESTID, 4},        {0x04, 1, MP_AUX_PERF_SESSIONINFO, 20},
    {0x04, 2, MP_AUX_PERF_SESSIONINFO_V2, 24},  {0x05, 1, MP_AUX_PERF_DEFMDB_SUCCESS, 12},
    {0x06, 1, MP_AUX_PERF_DEFGC_SUCCESS, 16},   {0x07, 1, MP_AUX_PERF_MDB_SUCCESS, 16},
    {0x07, 2, MP_AUX_PERF_MDB_SUCCESS_V2, 20},  {0x08, 1, MP_AUX_PERF_GC_SUCCESS, 20},
    {0x08, 2, MP_AUX_PERF_GC_SUCCESS_V2, 20},   {0x09, 1, MP_AUX_PERF_FAILURE, 24},
    {0x09, 2, MP_AUX_PERF_FAILURE_V2, 28},      {0x0a, 1, MP_AUX_CLIENT_CONTROL, 8},
    {0x0c, 1, MP_AUX_PERF_DEFMDB_SUCCESS, 12},  {0x0d, 1, MP_AUX_PERF_DEFGC_SUCCESS, 16},
    {0x0e, 1, MP_AUX_PERF_MDB_SUCCESS, 16},     {0x0e, 2, MP_AUX_PERF_MDB_SUCCESS_V2, 20},
    {0x0f, 1, MP_AUX_PERF_GC_SUCCESS, 20},      {0x0f, 2, MP_AUX_PERF_GC_SUCCESS_V2, 20},
    {0x10, 1, MP_AUX_PERF_FAILURE, 24},         {0x10, 2, MP_AUX_PERF_FAILURE_V2, 28},
    {0x11, 1, MP_AUX_PERF_DEFMDB_SUCCESS, 12},  {0x12, 1, MP_AUX_PERF_DEFGC_SUCCESS, 16},
    {0x13, 1, MP_AUX_PERF_MDB_SUCCESS, 16},     {0x13, 2, MP_AUX_PERF_MDB_SUCCESS_V2, 20},
    {0x14, 1, MP_AUX_PERF_GC_SUCCESS, 20},      {0x14, 2, MP_AUX_PERF_GC_SUCCESS_V2, 20},
    {0x15, 1, MP_AUX_PERF_FAILURE, 24},         {0x15, 2, MP_AUX_PERF_FAILURE_V2, 28},
    {0x16, 1, MP_AUX_OSVERSIONINFO, 156},       {0x17, 1, MP_AUX_EXORGINFO, 4},
    {0x18, 1, MP_AUX_PERF_ACCOUNTINFO, 20},     {0x46, 1, MP_AUX_SERVER_CAPABILITIES, 4},
    {0x48, 1, MP_AUX_ENDPOINT_CAPABILITIES, 4},
};

static void test_fixed_structures(void **state)
{
	for (size_t k = 0; k < sizeof(fixed) / sizeof(fixed[0]); k++) {
		/* Body bytes 1, 2, 3, ...: every field gets a distinct value. */
		struct w w = {0};
		size_t at = begin_block(&w, fixed[k].version, fixed[k].type);
		for (size_t i = 0; i < fixed[k].body; i++)
			w8(&w, (uint8_t)(i + 1));
		end_block(&w, at);
		assert_int_equal(w.n, 4 + fixed[k].body); /* bodies are 4-aligned */

		void *mem = talloc_new(NULL);
		struct mp_aux_list *list = parse_ok(mem, w.b, w.n);
		const struct mp_aux_block *b = &list->blocks[0];
		assert_int_equal(mp_aux_struct_of(fixed[k].version, fixed[k].type), fixed[k].st);
		assert_int_equal(b->st, fixed[k].st);
		assert_null(b->why);
		assert_non_null(mp_aux_struct_name(b->st));
		assert_non_null(mp_aux_type_name(b->type));
		assert_encodes(list, w.b, w.n, w.b, w.n);
		talloc_free(mem);
	}
}

static void test_fixed_field_values(void **state)
{
	struct w w = {0};
	size_t at;

	at = begin_block(&w, 1, MP_AUX_TYPE_PERF_REQUESTID);
	w16(&w, 0x0001);
	w16(&w, 0x0102);
	end_block(&w, at);

	at = begin_block(&w, 2, MP_AUX_TYPE_PERF_SESSIONINFO);
	w16(&w, 1);
	w16(&w, 0);
	wbytes(&w, guid_a, 16);
	w32(&w, 0x000a1b2c); /* ConnectionID as in Outlook's connection dialog */
	end_block(&w, at);

	at = begin_block(&w, 2, MP_AUX_TYPE_PERF_FG_FAILURE);
	w16(&w, 11); /* ProcessID */
	w16(&w, 12); /* ClientID */
	w16(&w, 13); /* ServerID */
	w16(&w, 14); /* SessionID */
	w16(&w, 15); /* RequestID */
	w16(&w, 0);
	w32(&w, 250);        /* TimeSinceRequest */
	w32(&w, 30000);      /* TimeToFailRequest */
	w32(&w, 0x80040115); /* ResultCode: MAPI_E_NETWORK_ERROR */
	w8(&w, 0x0b);        /* RequestOperation: EcDoRpcExt2 */
	wbytes(&w, "\0\0\0", 3);
	end_block(&w, at);

	at = begin_block(&w, 1, MP_AUX_TYPE_PERF_BG_GC_SUCCESS);
	w16(&w, 1);
	w16(&w, 2);
	w16(&w, 3);
	w16(&w, 0);
	w32(&w, 10);
	w32(&w, 20);
	w8(&w, 0x05); /* RequestOperation */
	wbytes(&w, "\0\0\0", 3);
	end_block(&w, at);

	at = begin_block(&w, 1, MP_AUX_TYPE_CLIENT_CONTROL);
	w32(&w, MP_AUX_ENABLE_PERF_SENDTOSERVER | MP_AUX_ENABLE_COMPRESSION);
	w32(&w, 3600000);
	end_block(&w, at);

	at = begin_block(&w, 1, MP_AUX_TYPE_OSVERSIONINFO);
	w32(&w, 148);
	w32(&w, 10);
	w32(&w, 0);
	w32(&w, 20348);
	for (int i = 0; i < 132; i++)
		w8(&w, 0);
	w16(&w, 0);
	w16(&w, 0);
	w32(&w, 0);
	end_block(&w, at);

	at = begin_block(&w, 1, MP_AUX_TYPE_EXORGINFO);
	w32(&w, MP_AUX_PUBLIC_FOLDERS_ENABLED);
	end_block(&w, at);

	at = begin_block(&w, 1, MP_AUX_TYPE_SERVER_CAPABILITIES);
	w32(&w,
	    MP_AUX_PACKED_FAST_TRANSFER_UPLOAD_BUFFERS | MP_AUX_PACKED_WRITE_STREAM_UPLOAD_BUFFERS);
	end_block(&w, at);

	at = begin_block(&w, 1, MP_AUX_TYPE_ENDPOINT_CAPABILITIES);
	w32(&w, MP_AUX_ENDPOINT_CAPABILITIES_SINGLE_ENDPOINT);
	end_block(&w, at);

	at = begin_block(&w, 1, MP_AUX_TYPE_PERF_ACCOUNTINFO);
	w16(&w, 1);
	w16(&w, 0);
	wbytes(&w, guid_a, 16);
	end_block(&w, at);

	void *mem = talloc_new(NULL);
	struct mp_aux_list *list = parse_ok(mem, w.b, w.n);
	assert_int_equal(list->count, 10);
	const struct mp_aux_block *b = list->blocks;

	assert_int_equal(b[0].u.perf_requestid.session_id, 1);
	assert_int_equal(b[0].u.perf_requestid.request_id, 0x102);

	assert_int_equal(b[1].st, MP_AUX_PERF_SESSIONINFO_V2);
	assert_int_equal(b[1].u.perf_sessioninfo.session_id, 1);
	assert_memory_equal(b[1].u.perf_sessioninfo.session_guid, guid_a, 16);
	assert_int_equal(b[1].u.perf_sessioninfo.connection_id, 0x000a1b2c);

	const struct mp_aux_perf_failure *f = &b[2].u.perf_failure;
	assert_int_equal(b[2].st, MP_AUX_PERF_FAILURE_V2);
	assert_int_equal(f->process_id, 11);
	assert_int_equal(f->client_id, 12);
	assert_int_equal(f->server_id, 13);
	assert_int_equal(f->session_id, 14);
	assert_int_equal(f->request_id, 15);
	assert_int_equal(f->time_since_request, 250);
	assert_int_equal(f->time_to_fail_request, 30000);
	assert_int_equal(f->result_code, 0x80040115);
	assert_int_equal(f->request_operation, 0x0b);

	const struct mp_aux_perf_gc_success *g = &b[3].u.perf_gc_success;
	assert_int_equal(b[3].st, MP_AUX_PERF_GC_SUCCESS);
	assert_int_equal(g->client_id, 1);
	assert_int_equal(g->server_id, 2);
	assert_int_equal(g->session_id, 3);
	assert_int_equal(g->time_since_request, 10);
	assert_int_equal(g->time_to_complete_request, 20);
	assert_int_equal(g->request_operation, 5);

	assert_int_equal(b[4].u.client_control.enable_flags, 0x5);
	assert_int_equal(b[4].u.client_control.expiry_time, 3600000);
	assert_int_equal(b[5].u.osversioninfo.os_version_info_size, 148);
	assert_int_equal(b[5].u.osversioninfo.major_version, 10);
	assert_int_equal(b[5].u.osversioninfo.build_number, 20348);
	assert_int_equal(b[6].u.exorginfo.org_flags, 1);
	assert_int_equal(b[7].u.server_capabilities.server_capability_flags, 3);
	assert_int_equal(b[8].u.endpoint_capabilities.endpoint_capability_flag, 1);
	assert_int_equal(b[9].u.perf_accountinfo.client_id, 1);
	assert_memory_equal(b[9].u.perf_accountinfo.account, guid_a, 16);

	assert_encodes(list, w.b, w.n, w.b, w.n);
	talloc_free(mem);
}

/* ---- opaque, broken, trailing ------------------------------------------------ */

static void test_unknown_kept(void **state)
{
	struct w w = {0};
	size_t at;
	at = begin_block(&w, 1, 0x99); /* unknown type */
	wbytes(&w, "\x01\x02\x03\x04\x05", 5);
	set16(&w, at, (uint16_t)(w.n - at));                 /* 9 bytes, no padding */
	at = begin_block(&w, 3, MP_AUX_TYPE_PERF_REQUESTID); /* unknown version */
	w32(&w, 0x04030201);
	end_block(&w, at);
	at = begin_block(&w, 2, MP_AUX_TYPE_CLIENT_CONTROL); /* no V2 in the spec */
	w32(&w, 1);
	w32(&w, 2);
	end_block(&w, at);
	at = begin_block(&w, 1, MP_AUX_TYPE_EXCEPTION_TRACE);
	w32(&w, 2);
	wbytes(&w, "boom\r\n", 6);
	end_block(&w, at);

	void *mem = talloc_new(NULL);
	struct mp_aux_list *list = parse_ok(mem, w.b, w.n);
	assert_int_equal(list->count, 4);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(list->blocks[i].st, MP_AUX_OPAQUE);
		assert_null(list->blocks[i].why);
	}
	assert_int_equal(list->blocks[0].size, 9);
	assert_int_equal(list->blocks[0].u.opaque.len, 5);
	assert_memory_equal(list->blocks[0].u.opaque.data, "\x01\x02\x03\x04\x05", 5);
	assert_string_equal(mp_aux_type_name(MP_AUX_TYPE_EXCEPTION_TRACE),
	                    "AUX_TYPE_EXCEPTION_TRACE");
	/* Opaque blocks encode the same from their bytes and fields. */
	assert_encodes(list, w.b, w.n, w.b, w.n);
	talloc_free(mem);
}

static void test_broken_block_kept_opaque(void **state)
{
	struct w w = {0};
	size_t at;

	/* 1: ProcessNameOffset past the block. */
	at = begin_block(&w, 2, MP_AUX_TYPE_PERF_PROCESSINFO);
	w16(&w, 1);
	w16(&w, 0);
	wbytes(&w, guid_a, 16);
	w16(&w, 200);
	w16(&w, 0);
	end_block(&w, at);
	/* 2: a string without its terminator. */
	at = begin_block(&w, 1, MP_AUX_TYPE_SERVER_SESSION_INFO);
	w16(&w, 6);
	wbytes(&w, "a\0b\0", 4);
	end_block(&w, at); /* padding 2 bytes of 0 -> that would terminate */
	w.b[w.n - 1] = 'x';
	/* 3: shorter than its structure. */
	at = begin_block(&w, 1, MP_AUX_TYPE_PERF_ACCOUNTINFO);
	w32(&w, 1);
	end_block(&w, at);
	/* 4: a string pointing into the fixed part. */
	at = begin_block(&w, 1, MP_AUX_TYPE_SERVER_SESSION_INFO);
	w16(&w, 4);
	w16(&w, 0);
	end_block(&w, at);
	/* 5: a byte field running past the block. */
	at = begin_block(&w, 1, MP_AUX_TYPE_PERF_CLIENTINFO);
	w32(&w, 0);
	w16(&w, 1);
	w16(&w, 0);
	w16(&w, 0);
	w16(&w, 8);  /* ClientIPSize */
	w16(&w, 32); /* ClientIPOffset */
	for (int i = 0; i < 7; i++)
		w16(&w, 0);
	w32(&w, 0x0a01a8c0);
	end_block(&w, at);
	/* 6: a good block after them still decodes. */
	at = begin_block(&w, 1, MP_AUX_TYPE_EXORGINFO);
	w32(&w, 2);
	end_block(&w, at);

	void *mem = talloc_new(NULL);
	struct mp_aux_list *list = parse_ok(mem, w.b, w.n);
	assert_int_equal(list->count, 6);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(list->blocks[i].st, MP_AUX_OPAQUE);
		assert_non_null(list->blocks[i].why);
		assert_int_equal(list->blocks[i].u.opaque.len, list->blocks[i].size - 4);
	}
	assert_int_equal(list->blocks[5].st, MP_AUX_EXORGINFO);
	assert_int_equal(list->blocks[5].u.exorginfo.org_flags, 2);
	assert_encodes(list, w.b, w.n, w.b, w.n);
	talloc_free(mem);
}

static void test_bytes_after_structure(void **state)
{
	struct w w = {0};
	size_t at = begin_block(&w, 1, MP_AUX_TYPE_PERF_SESSIONINFO);
	w16(&w, 9);
	w16(&w, 0);
	wbytes(&w, guid_a, 16);
	wbytes(&w, "\xde\xad\xbe\xef\x01\x02\x03\x04", 8);
	end_block(&w, at);

	void *mem = talloc_new(NULL);
	struct mp_aux_list *list = parse_ok(mem, w.b, w.n);
	assert_int_equal(list->blocks[0].st, MP_AUX_PERF_SESSIONINFO);
	assert_int_equal(list->blocks[0].u.perf_sessioninfo.session_id, 9);

	struct mp_printer *p = mp_printer_new(MP_PRINT_TEXT);
	mp_aux_print(p, "aux", list);
	assert_non_null(strstr(mp_printer_output(p, NULL), "TrailingBytes: deadbeef01020304"));
	mp_printer_free(p);

	/* As received: kept. From fields: the structure alone, Size 24. */
	uint8_t want[24];
	memcpy(want, w.b, 24);
	want[0] = 24;
	assert_encodes(list, w.b, w.n, want, 24);
	talloc_free(mem);
}

static void test_malformed_refused(void **state)
{
	struct mp_aux_list *list = (void *)1;
	const char *why = NULL;
	void *mem = talloc_new(NULL);

	/* Size 0 and 3: no progress possible. */
	static const uint8_t size0[] = {0x00, 0x00, 0x01, 0x01, 0, 0, 0, 0};
	static const uint8_t size3[] = {0x03, 0x00, 0x01, 0x01};
	/* Size beyond the buffer. */
	static const uint8_t past[] = {0x10, 0x00, 0x01, 0x01, 0, 0, 0, 0};
	/* A good block, then 2 stray bytes. */
	static const uint8_t stray[] = {0x08, 0x00, 0x01, 0x01, 1, 0, 2, 0, 0x04, 0x00};
	const struct {
		const uint8_t *b;
		size_t n;
	} bad[] = {{size0, sizeof(size0)},
	           {size3, sizeof(size3)},
	           {past, sizeof(past)},
	           {stray, sizeof(stray)},
	           {stray, 9},
	           {stray, 3}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(mp_aux_parse(mem, bad[i].b, bad[i].n, &list, &why), MP_ERR_PARSE);
		assert_null(list);
		assert_non_null(why);
	}
	/* An empty payload is an empty list. */
	assert_int_equal(mp_aux_parse(mem, stray, 0, &list, &why), MP_OK);
	assert_int_equal(list->count, 0);
	talloc_free(mem);
}

/* ---- building ------------------------------------------------------------------ */

static void test_build_from_scratch(void **state)
{
	void *mem = talloc_new(NULL);
	struct mp_aux_list *list = mp_aux_list_new(mem);

	struct mp_aux_block *b = mp_aux_add(list, 1, MP_AUX_TYPE_SERVER_CAPABILITIES);
	assert_int_equal(b->st, MP_AUX_SERVER_CAPABILITIES);
	b->u.server_capabilities.server_capability_flags =
	    MP_AUX_ULTRA_LARGE_PACKED_DOWNLOAD_BUFFERS;

	b = mp_aux_add(list, 1, MP_AUX_TYPE_SERVER_SESSION_INFO);
	assert_int_equal(
	    mp_aux_str_set(mem, &b->u.server_session_info.server_session_context_info, "mapiproxy"),
	    MP_OK);

	b = mp_aux_add(list, 1, MP_AUX_TYPE_PERF_CLIENTINFO);
	b->u.perf_clientinfo.client_id = 2;
	assert_int_equal(mp_aux_str_set(mem, &b->u.perf_clientinfo.adapter_name, "LAN"), MP_OK);
	b->u.perf_clientinfo.mac_address.data = (const uint8_t *)"\x01\x02\x03\x04\x05\x06";
	b->u.perf_clientinfo.mac_address.size = 6;

	b = mp_aux_add(list, 1, 0x77);
	assert_int_equal(b->st, MP_AUX_OPAQUE);
	b->u.opaque.data = (const uint8_t *)"xyz";
	b->u.opaque.len = 3;

	struct mp_wbuf wb;
	mp_wb_init(&wb);
	assert_int_equal(mp_aux_build(list, &wb), MP_OK);

	/* The same bytes written by hand. */
	struct w w = {0};
	size_t at = begin_block(&w, 1, MP_AUX_TYPE_SERVER_CAPABILITIES);
	w32(&w, 8);
	end_block(&w, at);
	at = begin_block(&w, 1, MP_AUX_TYPE_SERVER_SESSION_INFO);
	w16(&w, 6);
	wstr(&w, "mapiproxy");
	end_block(&w, at);
	at = begin_block(&w, 1, MP_AUX_TYPE_PERF_CLIENTINFO);
	w32(&w, 0);
	w16(&w, 2);
	w16(&w, 0);  /* MachineName */
	w16(&w, 0);  /* UserName */
	w16(&w, 0);  /* ClientIPSize */
	w16(&w, 0);  /* ClientIP */
	w16(&w, 0);  /* ClientIPMaskSize */
	w16(&w, 0);  /* ClientIPMask */
	w16(&w, 32); /* AdapterName */
	w16(&w, 6);  /* MacAddressSize */
	w16(&w, 40); /* MacAddress: 32 + "LAN\0" */
	w16(&w, 0);
	w16(&w, 0);
	wstr(&w, "LAN");
	wbytes(&w, "\x01\x02\x03\x04\x05\x06", 6);
	end_block(&w, at);
	at = begin_block(&w, 1, 0x77);
	wbytes(&w, "xyz", 3);
	set16(&w, at, 7);

	assert_int_equal(wb.len, w.n);
	assert_memory_equal(wb.data, w.b, w.n);

	struct mp_aux_list *back = parse_ok(mem, wb.data, wb.len);
	assert_int_equal(back->count, 4);
	assert_str(&back->blocks[1].u.server_session_info.server_session_context_info, "mapiproxy");
	assert_str(&back->blocks[2].u.perf_clientinfo.adapter_name, "LAN");
	mp_wb_free(&wb);
	talloc_free(mem);
}

static void test_connectex_auxin_through_rpc_ext(void **state)
{
	/* The rgbAuxIn of an EcDoConnectEx: client info, account, session,
	 * process and connection blocks, compressed and obfuscated in one
	 * RPC_HEADER_EXT with the Last flag. */
	struct w w = {0};
	size_t at;
	write_clientinfo(&w);
	at = begin_block(&w, 1, MP_AUX_TYPE_PERF_ACCOUNTINFO);
	w16(&w, 1);
	w16(&w, 0);
	wbytes(&w, guid_a, 16);
	end_block(&w, at);
	at = begin_block(&w, 2, MP_AUX_TYPE_PERF_SESSIONINFO);
	w16(&w, 1);
	w16(&w, 0);
	wbytes(&w, guid_a, 16);
	w32(&w, 7);
	end_block(&w, at);
	write_processinfo(&w, 2);
	write_connection_info(&w);

	void *mem = talloc_new(NULL);
	struct mp_rpc_ext *ext = mp_rpc_ext_new(mem);
	mp_rpc_ext_add(ext, MP_RHE_COMPRESSED | MP_RHE_XORMAGIC, w.b, w.n);
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	assert_int_equal(mp_rpc_ext_build(ext, &wb), MP_OK);
	assert_true(wb.len <= MP_RPC_EXT_MAX_AUX_BUF);

	struct mp_rpc_ext_limits lim;
	mp_rpc_ext_limits_init(&lim, MP_RPC_EXT_RGBAUXIN);
	struct mp_rpc_ext *rx = NULL;
	assert_int_equal(mp_rpc_ext_parse(mem, wb.data, wb.len, &lim, &rx, NULL), MP_OK);
	assert_int_equal(rx->segs[0].flags, MP_RHE_COMPRESSED | MP_RHE_XORMAGIC | MP_RHE_LAST);
	assert_true(rx->segs[0].size < rx->segs[0].size_actual);

	struct mp_aux_list *list = parse_ok(mem, rx->segs[0].payload, rx->segs[0].size_actual);
	assert_int_equal(list->count, 5);
	assert_int_equal(list->blocks[0].st, MP_AUX_PERF_CLIENTINFO);
	assert_str(&list->blocks[0].u.perf_clientinfo.adapter_name, "Ethernet0");
	assert_int_equal(list->blocks[1].st, MP_AUX_PERF_ACCOUNTINFO);
	assert_int_equal(list->blocks[2].st, MP_AUX_PERF_SESSIONINFO_V2);
	assert_int_equal(list->blocks[2].u.perf_sessioninfo.connection_id, 7);
	assert_int_equal(list->blocks[3].st, MP_AUX_PERF_PROCESSINFO);
	assert_str(&list->blocks[3].u.perf_processinfo.process_name, "OUTLOOK.EXE");
	assert_int_equal(list->blocks[4].st, MP_AUX_CLIENT_CONNECTION_INFO);
	assert_encodes(list, w.b, w.n, w.b, w.n);

	/* The received buffer re-encodes whole. */
	struct mp_wbuf again;
	mp_wb_init(&again);
	assert_int_equal(mp_rpc_ext_build(rx, &again), MP_OK);
	assert_int_equal(again.len, wb.len);
	assert_memory_equal(again.data, wb.data, wb.len);
	mp_wb_free(&again);
	mp_wb_free(&wb);
	talloc_free(mem);
}

/* ---- print and random edits ------------------------------------------------- */

static void test_print(void **state)
{
	struct w w = {0};
	write_clientinfo(&w);
	size_t at = begin_block(&w, 1, 0x99);
	w32(&w, 0xcafef00d);
	end_block(&w, at);
	void *mem = talloc_new(NULL);
	struct mp_aux_list *list = parse_ok(mem, w.b, w.n);

	struct mp_printer *p = mp_printer_new(MP_PRINT_TEXT);
	mp_aux_print(p, "rgbAuxIn", list);
	const char *t = mp_printer_output(p, NULL);
	assert_non_null(strstr(t, "rgbAuxIn: [2]"));
	assert_non_null(strstr(t, "Type: AUX_TYPE_PERF_CLIENTINFO (0x02)"));
	assert_non_null(strstr(t, "AUX_PERF_CLIENTINFO"));
	assert_non_null(strstr(t, "AdapterSpeed: 1000000"));
	assert_non_null(strstr(t, "MachineNameOffset: 32"));
	assert_non_null(strstr(t, "MachineName: \"WS0042\""));
	assert_non_null(strstr(t, "AdapterName: \"Ethernet0\""));
	assert_non_null(strstr(t, "ClientMode: CLIENTMODE_CACHED (0x0002)"));
	assert_non_null(strstr(t, "MacAddress: 00155d010203"));
	assert_non_null(strstr(t, "Body: 0df0feca"));
	mp_printer_free(p);

	p = mp_printer_new(MP_PRINT_JSON);
	mp_aux_print(p, "rgbAuxIn", list);
	t = mp_printer_output(p, NULL);
	assert_non_null(strstr(t, "\"UserName\":\"jdoe\""));
	assert_non_null(strstr(t, "\"Type\":\"AUX_TYPE_PERF_CLIENTINFO\""));
	assert_false(mp_printer_failed(p));
	mp_printer_free(p);
	talloc_free(mem);
}

static uint32_t rng_state = 99;

static uint32_t rnd(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return rng_state >> 8;
}

static void test_random_edits(void **state)
{
	struct w w = {0};
	write_clientinfo(&w);
	write_processinfo(&w, 2);
	write_connection_info(&w);
	uint8_t m[1024];

	for (int round = 0; round < 5000; round++) {
		memcpy(m, w.b, w.n);
		int edits = 1 + (int)(rnd() % 3);
		for (int e = 0; e < edits; e++)
			m[rnd() % w.n] = (uint8_t)rnd();
		void *mem = talloc_new(NULL);
		struct mp_aux_list *list = NULL;
		int ret = mp_aux_parse(mem, m, w.n, &list, NULL);
		assert_true(ret == MP_OK || ret == MP_ERR_PARSE);
		if (ret == MP_OK) {
			struct mp_wbuf a, b;
			/* As received: the same bytes. */
			mp_wb_init(&a);
			assert_int_equal(mp_aux_build(list, &a), MP_OK);
			assert_int_equal(a.len, w.n);
			assert_memory_equal(a.data, m, w.n);
			mp_wb_free(&a);
			/* From fields: parses, and encodes the same again. */
			for (size_t i = 0; i < list->count; i++)
				mp_aux_block_touch(&list->blocks[i]);
			mp_wb_init(&a);
			assert_int_equal(mp_aux_build(list, &a), MP_OK);
			struct mp_aux_list *l2 = parse_ok(mem, a.data, a.len);
			assert_int_equal(l2->count, list->count);
			for (size_t i = 0; i < l2->count; i++) {
				assert_int_equal(l2->blocks[i].st, list->blocks[i].st);
				mp_aux_block_touch(&l2->blocks[i]);
			}
			mp_wb_init(&b);
			assert_int_equal(mp_aux_build(l2, &b), MP_OK);
			assert_int_equal(a.len, b.len);
			assert_memory_equal(a.data, b.data, a.len);
			mp_wb_free(&a);
			mp_wb_free(&b);
		}
		talloc_free(mem);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_perf_clientinfo),
	    cmocka_unit_test(test_perf_clientinfo_absent_fields),
	    cmocka_unit_test(test_perf_serverinfo),
	    cmocka_unit_test(test_perf_processinfo),
	    cmocka_unit_test(test_client_connection_info),
	    cmocka_unit_test(test_server_session_info),
	    cmocka_unit_test(test_protocol_device_identification),
	    cmocka_unit_test(test_fixed_structures),
	    cmocka_unit_test(test_fixed_field_values),
	    cmocka_unit_test(test_unknown_kept),
	    cmocka_unit_test(test_broken_block_kept_opaque),
	    cmocka_unit_test(test_bytes_after_structure),
	    cmocka_unit_test(test_malformed_refused),
	    cmocka_unit_test(test_build_from_scratch),
	    cmocka_unit_test(test_connectex_auxin_through_rpc_ext),
	    cmocka_unit_test(test_print),
	    cmocka_unit_test(test_random_edits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
