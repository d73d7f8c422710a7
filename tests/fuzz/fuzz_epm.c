/*
 * libFuzzer target: the endpoint mapper. The input is used as the stub of
 * ept_lookup (2), ept_map (3) and ept_lookup_handle_free (4) served from a
 * fixed table, and as an ept_map response and a tower for the client-side
 * decoders. Properties: a served answer decodes cleanly, a decoded tower
 * re-encodes to the same tower.
 */
#include "dcerpc/epm.h"
#include "dcerpc/iface.h"
#include "dcerpc/pdu.h"
#include "util/status.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static struct mp_epm_entry table[8];
static size_t n_table;

static void init_table(void)
{
	static const char *const names[] = {"exchange_emsmdb", "exchange_nsp", "exchange_ds_rfr",
					    "epmapper", "samr", "drsuapi"};
	if (n_table)
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct mp_epm_entry *e = &table[n_table++];
		if (mp_iface_resolve(names[i], &e->iface) != MP_OK)
			abort();
		e->port = (uint16_t)(6001 + i);
		e->ipv4[0] = 10;
		e->ipv4[3] = (uint8_t)i;
		e->annotation = names[i];
	}
}

/* Walk an ept_lookup answer the way a client would; abort if it is malformed. */
static void check_lookup_rsp(const struct mp_wbuf *wb)
{
	struct mp_rcursor rc;
	mp_rc_init(&rc, wb->data, wb->len);
	mp_rc_skip(&rc, MP_EPM_HANDLE_LEN);
	uint32_t n = mp_rc_u32(&rc);
	uint32_t max = mp_rc_u32(&rc);
	uint32_t off = mp_rc_u32(&rc);
	uint32_t actual = mp_rc_u32(&rc);
	check(!rc.bad && off == 0 && actual == n && n <= max && n <= n_table);
	for (uint32_t i = 0; i < n; i++) {
		mp_rc_skip(&rc, 16);
		check(mp_rc_u32(&rc) != 0);
		check(mp_rc_u32(&rc) == 0);
		uint32_t alen = mp_rc_u32(&rc);
		check(alen >= 1 && alen <= 64);
		const uint8_t *a = mp_rc_take(&rc, alen);
		check(a && a[alen - 1] == 0);
		mp_rc_align(&rc, 4);
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t mc = mp_rc_u32(&rc), tl = mp_rc_u32(&rc);
		check(mc == tl);
		const uint8_t *t = mp_rc_take(&rc, tl);
		struct mp_tower tw;
		check(t && mp_tower_decode(t, tl, &tw) == MP_OK);
		mp_rc_align(&rc, 4);
	}
	uint32_t status = mp_rc_u32(&rc);
	check(!rc.bad && mp_rc_left(&rc) == 0);
	check((status == MP_EPM_STATUS_OK) == (n > 0));
}

static void serve(uint16_t opnum, const uint8_t *stub, size_t len)
{
	struct mp_wbuf out;
	mp_wb_init(&out);
	uint32_t fault = 0xffffffff;
	int rc = mp_epm_serve(opnum, stub, len, table, n_table, &out, &fault);
	if (rc == MP_OK) {
		check(fault == 0 && !out.bad);
		if (opnum == MP_EPM_OP_MAP) {
			struct mp_tower towers[8];
			uint32_t n, status;
			check(mp_ept_map_rsp_decode(out.data, out.len, towers, 8, &n, &status) == MP_OK);
			check(n <= 4);
			check((status == MP_EPM_STATUS_OK) == (n > 0));
		} else if (opnum == MP_EPM_OP_LOOKUP) {
			check_lookup_rsp(&out);
		} else {
			check(out.len == MP_EPM_HANDLE_LEN + 4);
		}
	} else {
		check(fault != 0);
	}
	mp_wb_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 16)
		return 0;
	init_table();
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);

	serve(MP_EPM_OP_LOOKUP, buf, size);
	serve(MP_EPM_OP_MAP, buf, size);
	serve(MP_EPM_OP_LOOKUP_HANDLE_FREE, buf, size);
	if (size >= 2)
		serve((uint16_t)(buf[0] | buf[1] << 8), buf + 2, size - 2);

	struct mp_ept_map_req mreq;
	(void)mp_ept_map_req_decode(buf, size, &mreq);
	struct mp_ept_lookup_req lreq;
	(void)mp_ept_lookup_req_decode(buf, size, &lreq);

	struct mp_tower towers[4];
	uint32_t n = 0, status;
	if (mp_ept_map_rsp_decode(buf, size, towers, 4, &n, &status) == MP_OK)
		check(n <= 4);

	struct mp_tower t;
	if (mp_tower_decode(buf, size, &t) == MP_OK) {
		struct mp_wbuf wb;
		mp_wb_init(&wb);
		mp_tower_encode(&wb, &t);
		struct mp_tower u;
		check(mp_tower_decode(wb.data, wb.len, &u) == MP_OK);
		check(mp_syntax_equal(&u.iface, &t.iface) && mp_syntax_equal(&u.ts, &t.ts));
		check(u.port == t.port && memcmp(u.ipv4, t.ipv4, 4) == 0);
		mp_wb_free(&wb);
	}
	free(buf);
	return 0;
}
