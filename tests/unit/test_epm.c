/* Unit tests: dcerpc/epm (towers, ept_map / ept_lookup stubs, the local server). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dcerpc/epm.h"
#include "dcerpc/iface.h"
#include "dcerpc/pdu.h"
#include "util/status.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * Golden vectors: an ept_map exchange logged by Samba 4.0.9 (samba-tool drs,
 * "rpc request data" / "rpc reply data" at debug level 10, quoted in the
 * forum thread "Samba AD DC replication not working", 2013-10-08). The client
 * maps drsuapi e3514235-4b06-11d1-ab04-00c04fc2dcd2 v4.0 over ncacn_ip_tcp;
 * the DC answers one tower, port 1024, address 0.0.0.0 ("Mapped to DCERPC
 * endpoint 1024").
 */
static const uint8_t samba_map_req[132] = {
	0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
	0x4b, 0x00, 0x00, 0x00, 0x4b, 0x00, 0x00, 0x00, 0x05, 0x00, 0x13, 0x00,
	0x0d, 0x35, 0x42, 0x51, 0xe3, 0x06, 0x4b, 0xd1, 0x11, 0xab, 0x04, 0x00,
	0xc0, 0x4f, 0xc2, 0xdc, 0xd2, 0x04, 0x00, 0x02, 0x00, 0x00, 0x00, 0x13,
	0x00, 0x0d, 0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8,
	0x08, 0x00, 0x2b, 0x10, 0x48, 0x60, 0x02, 0x00, 0x02, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x0b, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x07, 0x02, 0x00,
	0x00, 0x00, 0x01, 0x00, 0x09, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
};

static const uint8_t samba_map_rsp[128] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x03, 0x00, 0x00, 0x00, 0x4b, 0x00, 0x00, 0x00, 0x4b, 0x00, 0x00, 0x00,
	0x05, 0x00, 0x13, 0x00, 0x0d, 0x35, 0x42, 0x51, 0xe3, 0x06, 0x4b, 0xd1,
	0x11, 0xab, 0x04, 0x00, 0xc0, 0x4f, 0xc2, 0xdc, 0xd2, 0x04, 0x00, 0x02,
	0x00, 0x00, 0x00, 0x13, 0x00, 0x0d, 0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c,
	0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60, 0x02, 0x00,
	0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x0b, 0x02, 0x00, 0x00, 0x00, 0x01,
	0x00, 0x07, 0x02, 0x00, 0x04, 0x00, 0x01, 0x00, 0x09, 0x04, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

#define SAMBA_TOWER_OFF 0x30 /* the tower octets inside samba_map_rsp */
#define TOWER_LEN 75

static struct mp_syntax syn(const char *spec)
{
	struct mp_syntax s;
	assert_int_equal(mp_iface_resolve(spec, &s), MP_OK);
	return s;
}

static struct mp_syntax syn_v(const char *name, uint16_t major, uint16_t minor)
{
	struct mp_syntax s = syn(name);
	s.major = major;
	s.minor = minor;
	return s;
}

static void assert_syntax_equal(const struct mp_syntax *a, const struct mp_syntax *b)
{
	assert_memory_equal(a->uuid.b, b->uuid.b, 16);
	assert_int_equal(a->major, b->major);
	assert_int_equal(a->minor, b->minor);
}

/* The endpoint table the server tests answer from. */
static struct mp_epm_entry table[6];
static size_t n_table;

static int setup_table(void **state)
{
	n_table = 0;
	table[n_table++] = (struct mp_epm_entry){.iface = syn("exchange_emsmdb"), .port = 6001,
						 .ipv4 = {10, 0, 0, 5}, .annotation = "EMSMDB"};
	table[n_table++] = (struct mp_epm_entry){.iface = syn("exchange_nsp"), .port = 6004,
						 .ipv4 = {10, 0, 0, 5}, .annotation = "NSPI"};
	table[n_table++] = (struct mp_epm_entry){.iface = syn("exchange_ds_rfr"), .port = 6002,
						 .ipv4 = {10, 0, 0, 5}, .annotation = NULL};
	table[n_table++] = (struct mp_epm_entry){.iface = syn("samr"), .port = 49154,
						 .ipv4 = {192, 168, 1, 2}, .annotation = "samr"};
	table[n_table++] = (struct mp_epm_entry){.iface = syn_v("exchange_emsmdb", 1, 0), .port = 6005,
						 .ipv4 = {10, 0, 0, 6}, .annotation = "EMSMDB v1"};
	table[n_table++] = (struct mp_epm_entry){.iface = syn("epmapper"), .port = 135,
						 .ipv4 = {10, 0, 0, 5}, .annotation = "epm"};
	return 0;
}

/* ---- towers ---- */

static void test_tower_golden(void **state)
{
	struct mp_tower t;
	assert_int_equal(mp_tower_decode(samba_map_rsp + SAMBA_TOWER_OFF, TOWER_LEN, &t), MP_OK);
	struct mp_syntax drs = syn("drsuapi");
	assert_syntax_equal(&t.iface, &drs);
	assert_syntax_equal(&t.ts, &mp_syntax_ndr20);
	assert_int_equal(t.proto, MP_EPM_PROTO_TCP);
	assert_int_equal(t.port, 1024);
	const uint8_t zero[4] = {0};
	assert_memory_equal(t.ipv4, zero, 4);

	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_tower_encode(&wb, &t);
	assert_int_equal(wb.len, TOWER_LEN);
	assert_memory_equal(wb.data, samba_map_rsp + SAMBA_TOWER_OFF, TOWER_LEN);
	mp_wb_free(&wb);
}

static void test_tower_wire_layout(void **state)
{
	struct mp_tower t = {.iface = syn("exchange_nsp"), .ts = mp_syntax_ndr20,
			     .proto = MP_EPM_PROTO_TCP, .port = 49154, .ipv4 = {10, 1, 2, 3}};
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_tower_encode(&wb, &t);
	assert_int_equal(wb.len, TOWER_LEN);
	const uint8_t *p = wb.data;
	assert_int_equal(mp_get_u16(p), 5);      /* floor count */
	assert_int_equal(mp_get_u16(p + 2), 19); /* floor 1 lhs */
	assert_int_equal(p[4], 0x0d);
	assert_memory_equal(p + 5, t.iface.uuid.b, 16);
	assert_int_equal(mp_get_u16(p + 21), 56); /* major, little-endian */
	assert_int_equal(mp_get_u16(p + 23), 2);
	assert_int_equal(mp_get_u16(p + 25), 0); /* minor */
	assert_int_equal(p[27 + 2], 0x0d);       /* floor 2 */
	assert_int_equal(p[52 + 2], 0x0b);       /* floor 3: connection-oriented */
	assert_int_equal(p[59 + 2], 0x07);       /* floor 4: TCP */
	assert_int_equal(mp_get_u16(p + 62), 2);
	assert_int_equal(p[64], 0xc0); /* port 49154 = 0xc002, big-endian */
	assert_int_equal(p[65], 0x02);
	assert_int_equal(p[66 + 2], 0x09); /* floor 5: IP */
	assert_int_equal(mp_get_u16(p + 69), 4);
	const uint8_t ip[4] = {10, 1, 2, 3}; /* network order */
	assert_memory_equal(p + 71, ip, 4);

	struct mp_tower back;
	assert_int_equal(mp_tower_decode(wb.data, wb.len, &back), MP_OK);
	assert_syntax_equal(&back.iface, &t.iface);
	assert_syntax_equal(&back.ts, &t.ts);
	assert_int_equal(back.proto, MP_EPM_PROTO_TCP);
	assert_int_equal(back.port, 49154);
	assert_memory_equal(back.ipv4, ip, 4);
	mp_wb_free(&wb);
}

static void test_tower_decode_errors(void **state)
{
	uint8_t t[TOWER_LEN];
	struct mp_tower out;
	/* Truncated anywhere: refused (from an exact heap copy, for ASan). */
	for (size_t n = 0; n < TOWER_LEN; n++) {
		uint8_t *cut = malloc(n ? n : 1);
		memcpy(cut, samba_map_rsp + SAMBA_TOWER_OFF, n);
		if (mp_tower_decode(cut, n, &out) != MP_ERR_PARSE)
			fail_msg("tower cut to %zu bytes accepted", n);
		free(cut);
	}
	memcpy(t, samba_map_rsp + SAMBA_TOWER_OFF, TOWER_LEN);
	t[0] = 2; /* fewer than three floors */
	assert_int_equal(mp_tower_decode(t, TOWER_LEN, &out), MP_ERR_PARSE);
	memcpy(t, samba_map_rsp + SAMBA_TOWER_OFF, TOWER_LEN);
	t[4] = 0x0c; /* floor 1 is not a UUID floor */
	assert_int_equal(mp_tower_decode(t, TOWER_LEN, &out), MP_ERR_PARSE);
	memcpy(t, samba_map_rsp + SAMBA_TOWER_OFF, TOWER_LEN);
	t[2] = 18; /* floor 1 lhs of the wrong size */
	assert_int_equal(mp_tower_decode(t, TOWER_LEN, &out), MP_ERR_PARSE);
	memcpy(t, samba_map_rsp + SAMBA_TOWER_OFF, TOWER_LEN);
	t[0] = 6; /* claims a sixth floor that is not there */
	assert_int_equal(mp_tower_decode(t, TOWER_LEN, &out), MP_ERR_PARSE);
}

static void test_tower_optional_floors(void **state)
{
	/* Three floors: interface, transfer syntax, RPC protocol. */
	uint8_t t[TOWER_LEN];
	memcpy(t, samba_map_rsp + SAMBA_TOWER_OFF, TOWER_LEN);
	t[0] = 3;
	struct mp_tower out;
	assert_int_equal(mp_tower_decode(t, 2 + 25 + 25 + 7, &out), MP_OK);
	assert_int_equal(out.proto, 0);
	assert_int_equal(out.port, 0);
	struct mp_syntax drs = syn("drsuapi");
	assert_syntax_equal(&out.iface, &drs);

	/* A named-pipe floor 4 (0x0f): the protocol is reported, no TCP port. */
	memcpy(t, samba_map_rsp + SAMBA_TOWER_OFF, TOWER_LEN);
	t[61] = 0x0f;
	assert_int_equal(mp_tower_decode(t, TOWER_LEN, &out), MP_OK);
	assert_int_equal(out.proto, 0x0f);
	assert_int_equal(out.port, 0);
}

/* ---- ept_map stubs ---- */

static void test_map_request_golden(void **state)
{
	struct mp_syntax drs = syn("drsuapi");
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_ept_map_req_encode(&wb, &drs, 1);
	assert_int_equal(wb.len, sizeof(samba_map_req));
	assert_memory_equal(wb.data, samba_map_req, sizeof(samba_map_req));
	mp_wb_free(&wb);

	struct mp_ept_map_req r;
	assert_int_equal(mp_ept_map_req_decode(samba_map_req, sizeof(samba_map_req), &r), MP_OK);
	assert_true(r.has_object);
	assert_true(mp_uuid_is_nil(&r.object));
	assert_true(r.has_tower);
	assert_syntax_equal(&r.tower.iface, &drs);
	assert_syntax_equal(&r.tower.ts, &mp_syntax_ndr20);
	assert_int_equal(r.tower.proto, MP_EPM_PROTO_TCP);
	assert_int_equal(r.tower.port, 0);
	assert_int_equal(r.max_towers, 1);
	const uint8_t zero[MP_EPM_HANDLE_LEN] = {0};
	assert_memory_equal(r.handle, zero, MP_EPM_HANDLE_LEN);
}

static void test_map_request_round_trip(void **state)
{
	struct mp_syntax nsp = syn("exchange_nsp");
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_ept_map_req_encode(&wb, &nsp, 4);
	struct mp_ept_map_req r;
	assert_int_equal(mp_ept_map_req_decode(wb.data, wb.len, &r), MP_OK);
	assert_syntax_equal(&r.tower.iface, &nsp);
	assert_int_equal(r.max_towers, 4);
	mp_wb_free(&wb);

	/* NULL object and NULL tower pointers. */
	uint8_t nulls[4 + 4 + 20 + 4] = {0};
	nulls[28] = 3;
	assert_int_equal(mp_ept_map_req_decode(nulls, sizeof(nulls), &r), MP_OK);
	assert_false(r.has_object);
	assert_false(r.has_tower);
	assert_int_equal(r.max_towers, 3);
}

static void test_map_request_malformed(void **state)
{
	struct mp_ept_map_req r;
	for (size_t n = 0; n < sizeof(samba_map_req); n++) {
		uint8_t *cut = malloc(n ? n : 1);
		memcpy(cut, samba_map_req, n);
		if (mp_ept_map_req_decode(cut, n, &r) != MP_ERR_PARSE)
			fail_msg("ept_map request cut to %zu bytes accepted", n);
		free(cut);
	}
	uint8_t bad[sizeof(samba_map_req)];
	memcpy(bad, samba_map_req, sizeof(bad));
	bad[24] = 0x4c; /* max_count != tower_length */
	assert_int_equal(mp_ept_map_req_decode(bad, sizeof(bad), &r), MP_ERR_PARSE);
	memcpy(bad, samba_map_req, sizeof(bad));
	mp_put_u32(bad + 24, 0xffffff00); /* enormous tower */
	mp_put_u32(bad + 28, 0xffffff00);
	assert_int_equal(mp_ept_map_req_decode(bad, sizeof(bad), &r), MP_ERR_PARSE);
}

static void test_map_response_golden(void **state)
{
	struct mp_tower towers[4];
	uint32_t n = 99, status = 99;
	assert_int_equal(mp_ept_map_rsp_decode(samba_map_rsp, sizeof(samba_map_rsp), towers, 4, &n,
					       &status),
			 MP_OK);
	assert_int_equal(n, 1);
	assert_int_equal(status, MP_EPM_STATUS_OK);
	assert_int_equal(towers[0].port, 1024);
	struct mp_syntax drs = syn("drsuapi");
	assert_syntax_equal(&towers[0].iface, &drs);

	/* Re-encode what was decoded: the same bytes Samba sent. */
	const uint8_t zero[MP_EPM_HANDLE_LEN] = {0};
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_ept_map_rsp_encode(&wb, zero, 1, towers, n, status);
	assert_int_equal(wb.len, sizeof(samba_map_rsp));
	assert_memory_equal(wb.data, samba_map_rsp, sizeof(samba_map_rsp));
	mp_wb_free(&wb);

	/* Room for none: still parsed through to the status. */
	assert_int_equal(mp_ept_map_rsp_decode(samba_map_rsp, sizeof(samba_map_rsp), towers, 0, &n,
					       &status),
			 MP_OK);
	assert_int_equal(n, 0);
	assert_int_equal(status, 0);
}

static void test_map_response_round_trip(void **state)
{
	struct mp_tower in[3];
	for (int i = 0; i < 3; i++)
		in[i] = (struct mp_tower){.iface = syn("exchange_emsmdb"), .ts = mp_syntax_ndr20,
					  .proto = MP_EPM_PROTO_TCP, .port = (uint16_t)(6001 + i),
					  .ipv4 = {10, 0, 0, (uint8_t)(1 + i)}};
	uint8_t handle[MP_EPM_HANDLE_LEN];
	memset(handle, 0xab, sizeof(handle));
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_ept_map_rsp_encode(&wb, handle, 4, in, 3, MP_EPM_STATUS_OK);
	assert_int_equal(wb.len % 4, 0);
	assert_memory_equal(wb.data, handle, MP_EPM_HANDLE_LEN);
	struct mp_tower out[4];
	uint32_t n, status;
	assert_int_equal(mp_ept_map_rsp_decode(wb.data, wb.len, out, 4, &n, &status), MP_OK);
	assert_int_equal(n, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(out[i].port, 6001 + i);
		assert_int_equal(out[i].ipv4[3], 1 + i);
		assert_syntax_equal(&out[i].iface, &in[i].iface);
	}
	/* Fewer slots than towers: the first ones are kept. */
	assert_int_equal(mp_ept_map_rsp_decode(wb.data, wb.len, out, 2, &n, &status), MP_OK);
	assert_int_equal(n, 2);
	assert_int_equal(out[1].port, 6002);

	/* Truncated anywhere: refused. */
	for (size_t cut = 0; cut < wb.len; cut++) {
		uint8_t *p = malloc(cut ? cut : 1);
		memcpy(p, wb.data, cut);
		if (mp_ept_map_rsp_decode(p, cut, out, 4, &n, &status) != MP_ERR_PARSE)
			fail_msg("ept_map response cut to %zu bytes accepted", cut);
		free(p);
	}
	mp_wb_free(&wb);

	/* Empty answer: no towers, the "not registered" status. */
	mp_wb_init(&wb);
	mp_ept_map_rsp_encode(&wb, handle, 4, NULL, 0, MP_EPM_S_NOT_REGISTERED);
	assert_int_equal(mp_ept_map_rsp_decode(wb.data, wb.len, out, 4, &n, &status), MP_OK);
	assert_int_equal(n, 0);
	assert_int_equal(status, MP_EPM_S_NOT_REGISTERED);
	mp_wb_free(&wb);
}

static void test_map_response_malformed(void **state)
{
	struct mp_tower out[4];
	uint32_t n, status;
	uint8_t bad[sizeof(samba_map_rsp)];

	memcpy(bad, samba_map_rsp, sizeof(bad));
	bad[20] = 2; /* num_towers != actual_count */
	assert_int_equal(mp_ept_map_rsp_decode(bad, sizeof(bad), out, 4, &n, &status), MP_ERR_PARSE);
	memcpy(bad, samba_map_rsp, sizeof(bad));
	bad[28] = 1; /* non-zero offset */
	assert_int_equal(mp_ept_map_rsp_decode(bad, sizeof(bad), out, 4, &n, &status), MP_ERR_PARSE);
	memcpy(bad, samba_map_rsp, sizeof(bad));
	bad[24] = 0; /* actual_count > max_count */
	assert_int_equal(mp_ept_map_rsp_decode(bad, sizeof(bad), out, 4, &n, &status), MP_ERR_PARSE);
	memcpy(bad, samba_map_rsp, sizeof(bad));
	/* Absurd counts: refused at once, not looped over (4 billion referents). */
	mp_put_u32(bad + 20, 0xffffffff);
	mp_put_u32(bad + 24, 0xffffffff);
	mp_put_u32(bad + 32, 0xffffffff);
	clock_t t0 = clock();
	assert_int_equal(mp_ept_map_rsp_decode(bad, sizeof(bad), out, 4, &n, &status), MP_ERR_PARSE);
	assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 0.5);
}

/* ---- the server ---- */

static void lookup_req(struct mp_wbuf *wb, uint32_t inquiry, const struct mp_syntax *iface,
		       uint32_t vers_option, const uint8_t *handle, uint32_t max_ents)
{
	mp_wb_u32(wb, inquiry);
	mp_wb_u32(wb, 0); /* object: NULL */
	if (iface) {
		mp_wb_u32(wb, 0x20000);
		mp_wb_bytes(wb, iface->uuid.b, 16);
		mp_wb_u16(wb, iface->major);
		mp_wb_u16(wb, iface->minor);
	} else {
		mp_wb_u32(wb, 0);
	}
	mp_wb_u32(wb, vers_option);
	if (handle)
		mp_wb_bytes(wb, handle, MP_EPM_HANDLE_LEN);
	else
		mp_wb_zeros(wb, MP_EPM_HANDLE_LEN);
	mp_wb_u32(wb, max_ents);
}

struct lk_entry {
	struct mp_uuid object;
	struct mp_tower tower;
	char annotation[64];
};

struct lk_rsp {
	uint8_t handle[MP_EPM_HANDLE_LEN];
	uint32_t n;
	struct lk_entry e[64];
	uint32_t status;
};

/* An independent decoder for ept_lookup's answer (C706 appendix O, NDR). */
static void decode_lookup_rsp(const struct mp_wbuf *wb, struct lk_rsp *r)
{
	struct mp_rcursor rc;
	memset(r, 0, sizeof(*r));
	mp_rc_init(&rc, wb->data, wb->len);
	memcpy(r->handle, mp_rc_take(&rc, MP_EPM_HANDLE_LEN), MP_EPM_HANDLE_LEN);
	r->n = mp_rc_u32(&rc);
	uint32_t max_count = mp_rc_u32(&rc);
	uint32_t offset = mp_rc_u32(&rc);
	uint32_t actual = mp_rc_u32(&rc);
	assert_int_equal(offset, 0);
	assert_int_equal(actual, r->n);
	assert_true(actual <= max_count);
	assert_true(r->n <= 64);
	uint32_t refs[64];
	for (uint32_t i = 0; i < r->n; i++) {
		memcpy(r->e[i].object.b, mp_rc_take(&rc, 16), 16);
		refs[i] = mp_rc_u32(&rc);
		assert_int_equal(mp_rc_u32(&rc), 0); /* annotation offset */
		uint32_t alen = mp_rc_u32(&rc);
		assert_true(alen >= 1 && alen <= 64);
		const uint8_t *a = mp_rc_take(&rc, alen);
		assert_non_null(a);
		assert_int_equal(a[alen - 1], 0);
		memcpy(r->e[i].annotation, a, alen);
		mp_rc_align(&rc, 4);
	}
	for (uint32_t i = 0; i < r->n; i++) {
		assert_int_not_equal(refs[i], 0);
		uint32_t mc = mp_rc_u32(&rc);
		uint32_t tl = mp_rc_u32(&rc);
		assert_int_equal(mc, tl);
		const uint8_t *t = mp_rc_take(&rc, tl);
		assert_non_null(t);
		assert_int_equal(mp_tower_decode(t, tl, &r->e[i].tower), MP_OK);
		mp_rc_align(&rc, 4);
	}
	r->status = mp_rc_u32(&rc);
	assert_false(rc.bad);
	assert_int_equal(mp_rc_left(&rc), 0);
}

static void serve_lookup(uint32_t inquiry, const struct mp_syntax *iface, uint32_t vers_option,
			 const uint8_t *handle, uint32_t max_ents, struct lk_rsp *r)
{
	struct mp_wbuf req, out;
	mp_wb_init(&req);
	mp_wb_init(&out);
	lookup_req(&req, inquiry, iface, vers_option, handle, max_ents);
	uint32_t fault = 1;
	assert_int_equal(mp_epm_serve(MP_EPM_OP_LOOKUP, req.data, req.len, table, n_table, &out,
				      &fault),
			 MP_OK);
	assert_int_equal(fault, 0);
	decode_lookup_rsp(&out, r);
	mp_wb_free(&req);
	mp_wb_free(&out);
}

static bool handle_is_zero(const uint8_t h[MP_EPM_HANDLE_LEN])
{
	for (int i = 0; i < MP_EPM_HANDLE_LEN; i++)
		if (h[i])
			return false;
	return true;
}

static void assert_entry_is(const struct lk_entry *e, const struct mp_epm_entry *t)
{
	assert_syntax_equal(&e->tower.iface, &t->iface);
	assert_syntax_equal(&e->tower.ts, &mp_syntax_ndr20);
	assert_int_equal(e->tower.proto, MP_EPM_PROTO_TCP);
	assert_int_equal(e->tower.port, t->port);
	assert_memory_equal(e->tower.ipv4, t->ipv4, 4);
	assert_string_equal(e->annotation, t->annotation ? t->annotation : "");
	assert_true(mp_uuid_is_nil(&e->object));
}

static void test_lookup_all(void **state)
{
	static struct lk_rsp r;
	serve_lookup(0 /* RPC_C_EP_ALL_ELTS */, NULL, 1, NULL, 500, &r);
	assert_int_equal(r.n, n_table);
	assert_int_equal(r.status, MP_EPM_STATUS_OK);
	assert_true(handle_is_zero(r.handle));
	for (size_t i = 0; i < n_table; i++)
		assert_entry_is(&r.e[i], &table[i]);
}

static void test_lookup_paged(void **state)
{
	for (uint32_t page = 1; page < n_table; page++) {
		static struct lk_rsp r;
		uint8_t handle[MP_EPM_HANDLE_LEN] = {0};
		size_t seen = 0;
		int calls = 0;
		for (;;) {
			serve_lookup(0, NULL, 1, handle, page, &r);
			calls++;
			assert_true(r.n <= page);
			assert_int_equal(r.status, MP_EPM_STATUS_OK);
			for (uint32_t i = 0; i < r.n; i++)
				assert_entry_is(&r.e[i], &table[seen + i]);
			seen += r.n;
			if (handle_is_zero(r.handle))
				break;
			assert_int_equal(r.n, page); /* a full page when more follow */
			memcpy(handle, r.handle, MP_EPM_HANDLE_LEN);
			assert_true(calls < 20);
		}
		assert_int_equal(seen, n_table);
		assert_int_equal(calls, (n_table + page - 1) / page);
	}
}

static void test_lookup_by_interface(void **state)
{
	static struct lk_rsp r;
	struct mp_syntax emsmdb = syn("exchange_emsmdb");        /* 0.81 */
	struct mp_syntax emsmdb_80 = syn_v("exchange_emsmdb", 0, 80);
	struct mp_syntax emsmdb_90 = syn_v("exchange_emsmdb", 0, 90);
	struct mp_syntax emsmdb_1 = syn_v("exchange_emsmdb", 1, 0);

	serve_lookup(1 /* by interface */, &emsmdb, 1 /* all versions */, NULL, 100, &r);
	assert_int_equal(r.n, 2);
	assert_entry_is(&r.e[0], &table[0]);
	assert_entry_is(&r.e[1], &table[4]);

	serve_lookup(1, &emsmdb_80, 2 /* compatible */, NULL, 100, &r);
	assert_int_equal(r.n, 1);
	assert_entry_is(&r.e[0], &table[0]);
	serve_lookup(1, &emsmdb, 2, NULL, 100, &r); /* same version is compatible */
	assert_int_equal(r.n, 1);
	assert_entry_is(&r.e[0], &table[0]);
	serve_lookup(1, &emsmdb_90, 2, NULL, 100, &r); /* older server minor: not */
	assert_int_equal(r.n, 0);

	serve_lookup(1, &emsmdb, 3 /* exact */, NULL, 100, &r);
	assert_int_equal(r.n, 1);
	assert_entry_is(&r.e[0], &table[0]);

	serve_lookup(1, &emsmdb_80, 3, NULL, 100, &r);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.status, MP_EPM_S_NOT_REGISTERED);
	assert_true(handle_is_zero(r.handle));

	serve_lookup(1, &emsmdb_1, 4 /* major only */, NULL, 100, &r);
	assert_int_equal(r.n, 1);
	assert_entry_is(&r.e[0], &table[4]);

	serve_lookup(1, &emsmdb_90, 5 /* up to */, NULL, 100, &r);
	assert_int_equal(r.n, 1);
	assert_entry_is(&r.e[0], &table[0]);
	serve_lookup(1, &emsmdb_1, 5, NULL, 100, &r);
	assert_int_equal(r.n, 2);

	struct mp_syntax drs = syn("drsuapi");
	serve_lookup(1, &drs, 1, NULL, 100, &r);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.status, MP_EPM_S_NOT_REGISTERED);

	/* Paging by interface: the handle skips entries that do not match. */
	serve_lookup(1, &emsmdb, 1, NULL, 1, &r);
	assert_int_equal(r.n, 1);
	assert_entry_is(&r.e[0], &table[0]);
	assert_false(handle_is_zero(r.handle));
	uint8_t h[MP_EPM_HANDLE_LEN];
	memcpy(h, r.handle, sizeof(h));
	serve_lookup(1, &emsmdb, 1, h, 1, &r);
	assert_int_equal(r.n, 1);
	assert_entry_is(&r.e[0], &table[4]);
	assert_true(handle_is_zero(r.handle));
}

static void test_lookup_long_annotation(void **state)
{
	char longtext[100];
	memset(longtext, 'x', sizeof(longtext) - 1);
	longtext[99] = '\0';
	struct mp_epm_entry e = {.iface = syn("samr"), .port = 1, .annotation = longtext};
	const uint8_t zero[MP_EPM_HANDLE_LEN] = {0};
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_ept_lookup_rsp_encode(&wb, zero, 10, &e, 1, MP_EPM_STATUS_OK);
	static struct lk_rsp r;
	decode_lookup_rsp(&wb, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(strlen(r.e[0].annotation), 63);
	mp_wb_free(&wb);
}

static void serve_map(const struct mp_syntax *iface, uint32_t max_towers, struct mp_tower *towers,
		      uint32_t *n, uint32_t *status)
{
	struct mp_wbuf req, out;
	mp_wb_init(&req);
	mp_wb_init(&out);
	mp_ept_map_req_encode(&req, iface, max_towers);
	uint32_t fault = 1;
	assert_int_equal(mp_epm_serve(MP_EPM_OP_MAP, req.data, req.len, table, n_table, &out, &fault),
			 MP_OK);
	assert_int_equal(fault, 0);
	assert_int_equal(mp_ept_map_rsp_decode(out.data, out.len, towers, 4, n, status), MP_OK);
	mp_wb_free(&req);
	mp_wb_free(&out);
}

static void test_map_known_and_unknown(void **state)
{
	struct mp_tower t[4];
	uint32_t n, status;
	struct mp_syntax nsp = syn("exchange_nsp");
	serve_map(&nsp, 4, t, &n, &status);
	assert_int_equal(status, MP_EPM_STATUS_OK);
	assert_int_equal(n, 1);
	assert_int_equal(t[0].port, 6004);
	const uint8_t ip[4] = {10, 0, 0, 5};
	assert_memory_equal(t[0].ipv4, ip, 4);
	assert_syntax_equal(&t[0].iface, &nsp);

	struct mp_syntax samr = syn("samr");
	serve_map(&samr, 1, t, &n, &status);
	assert_int_equal(n, 1);
	assert_int_equal(t[0].port, 49154);

	/* Same UUID, other major version: a different interface. */
	struct mp_syntax emsmdb1 = syn_v("exchange_emsmdb", 1, 0);
	serve_map(&emsmdb1, 4, t, &n, &status);
	assert_int_equal(n, 1);
	assert_int_equal(t[0].port, 6005);

	struct mp_syntax drs = syn("drsuapi");
	serve_map(&drs, 4, t, &n, &status);
	assert_int_equal(n, 0);
	assert_int_equal(status, 0x16c9a0d6);
}

static void test_map_samba_request_end_to_end(void **state)
{
	/* Serving Samba's captured request from a table that holds drsuapi on
	 * port 1024 yields, byte for byte, the reply Samba's DC sent. */
	struct mp_epm_entry one = {.iface = syn("drsuapi"), .port = 1024};
	struct mp_wbuf out;
	mp_wb_init(&out);
	uint32_t fault = 1;
	assert_int_equal(mp_epm_serve(MP_EPM_OP_MAP, samba_map_req, sizeof(samba_map_req), &one, 1,
				      &out, &fault),
			 MP_OK);
	assert_int_equal(fault, 0);
	assert_int_equal(out.len, sizeof(samba_map_rsp));
	assert_memory_equal(out.data, samba_map_rsp, sizeof(samba_map_rsp));
	mp_wb_free(&out);

	/* The same request asking for a named-pipe tower finds nothing. */
	uint8_t np[sizeof(samba_map_req)];
	memcpy(np, samba_map_req, sizeof(np));
	np[0x20 + 61] = 0x0f;
	mp_wb_init(&out);
	assert_int_equal(mp_epm_serve(MP_EPM_OP_MAP, np, sizeof(np), &one, 1, &out, &fault), MP_OK);
	struct mp_tower t[1];
	uint32_t n, status;
	assert_int_equal(mp_ept_map_rsp_decode(out.data, out.len, t, 1, &n, &status), MP_OK);
	assert_int_equal(n, 0);
	assert_int_equal(status, MP_EPM_S_NOT_REGISTERED);
	mp_wb_free(&out);
}

static void test_lookup_handle_free(void **state)
{
	uint8_t h[MP_EPM_HANDLE_LEN];
	memset(h, 0x5a, sizeof(h));
	struct mp_wbuf out;
	mp_wb_init(&out);
	uint32_t fault = 1;
	assert_int_equal(mp_epm_serve(MP_EPM_OP_LOOKUP_HANDLE_FREE, h, sizeof(h), table, n_table, &out,
				      &fault),
			 MP_OK);
	assert_int_equal(fault, 0);
	assert_int_equal(out.len, MP_EPM_HANDLE_LEN + 4);
	const uint8_t zero[MP_EPM_HANDLE_LEN + 4] = {0};
	assert_memory_equal(out.data, zero, sizeof(zero)); /* zeroed handle, status 0 */
	mp_wb_free(&out);

	mp_wb_init(&out);
	assert_int_equal(mp_epm_serve(MP_EPM_OP_LOOKUP_HANDLE_FREE, h, 19, table, n_table, &out,
				      &fault),
			 MP_ERR_PARSE);
	assert_int_equal(fault, MP_FAULT_NDR);
	assert_int_equal(out.len, 0);
	mp_wb_free(&out);
}

static void test_unknown_and_refused_opnums(void **state)
{
	uint8_t stub[64] = {0};
	struct mp_wbuf out;
	uint32_t fault;
	static const uint16_t range[] = {7, 8, 100, 0xffff};
	for (size_t i = 0; i < sizeof(range) / sizeof(range[0]); i++) {
		mp_wb_init(&out);
		fault = 0;
		assert_int_equal(mp_epm_serve(range[i], stub, sizeof(stub), table, n_table, &out,
					      &fault),
				 MP_ERR_UNSUPPORTED);
		assert_int_equal(fault, MP_NCA_S_OP_RNG_ERROR);
		assert_int_equal(out.len, 0);
		mp_wb_free(&out);
	}
	/* insert, delete, inq_object, mgmt_delete: the map is read-only. */
	static const uint16_t refused[] = {MP_EPM_OP_INSERT, MP_EPM_OP_DELETE, MP_EPM_OP_INQ_OBJECT,
					   MP_EPM_OP_MGMT_DELETE};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		mp_wb_init(&out);
		fault = 0;
		assert_int_equal(mp_epm_serve(refused[i], stub, sizeof(stub), table, n_table, &out,
					      &fault),
				 MP_ERR_UNSUPPORTED);
		assert_int_equal(fault, MP_FAULT_ACCESS_DENIED);
		mp_wb_free(&out);
	}
}

static void test_malformed_stubs_fault_ndr(void **state)
{
	struct mp_wbuf lk;
	mp_wb_init(&lk);
	struct mp_syntax nsp = syn("exchange_nsp");
	lookup_req(&lk, 1, &nsp, 1, NULL, 10);
	const struct {
		uint16_t opnum;
		const uint8_t *stub;
		size_t len;
	} calls[] = {
		{MP_EPM_OP_MAP, samba_map_req, sizeof(samba_map_req)},
		{MP_EPM_OP_LOOKUP, lk.data, lk.len},
	};
	for (size_t c = 0; c < 2; c++) {
		for (size_t n = 0; n < calls[c].len; n++) {
			uint8_t *cut = malloc(n ? n : 1);
			memcpy(cut, calls[c].stub, n);
			struct mp_wbuf out;
			mp_wb_init(&out);
			uint32_t fault = 0;
			int rc = mp_epm_serve(calls[c].opnum, cut, n, table, n_table, &out, &fault);
			if (rc != MP_ERR_PARSE || fault != MP_FAULT_NDR)
				fail_msg("opnum %u, stub cut to %zu: rc %s fault 0x%x", calls[c].opnum,
					 n, mp_status_name(rc), fault);
			assert_int_equal(out.len, 0);
			mp_wb_free(&out);
			free(cut);
		}
	}
	mp_wb_free(&lk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tower_golden),
		cmocka_unit_test(test_tower_wire_layout),
		cmocka_unit_test(test_tower_decode_errors),
		cmocka_unit_test(test_tower_optional_floors),
		cmocka_unit_test(test_map_request_golden),
		cmocka_unit_test(test_map_request_round_trip),
		cmocka_unit_test(test_map_request_malformed),
		cmocka_unit_test(test_map_response_golden),
		cmocka_unit_test(test_map_response_round_trip),
		cmocka_unit_test(test_map_response_malformed),
		cmocka_unit_test(test_lookup_all),
		cmocka_unit_test(test_lookup_paged),
		cmocka_unit_test(test_lookup_by_interface),
		cmocka_unit_test(test_lookup_long_annotation),
		cmocka_unit_test(test_map_known_and_unknown),
		cmocka_unit_test(test_map_samba_request_end_to_end),
		cmocka_unit_test(test_lookup_handle_free),
		cmocka_unit_test(test_unknown_and_refused_opnums),
		cmocka_unit_test(test_malformed_stubs_fault_ndr),
	};
	return cmocka_run_group_tests(tests, setup_table, NULL);
}
