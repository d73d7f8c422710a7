#include "dcerpc/epm.h"

#include "dcerpc/pdu.h"
#include "util/status.h"

#include <string.h>

/* ---- towers ---- */

static void read_floor(struct mp_rcursor *rc, const uint8_t **lhs, uint16_t *lhs_len,
		       const uint8_t **rhs, uint16_t *rhs_len)
{
	*lhs_len = mp_rc_u16(rc);
	*lhs = mp_rc_take(rc, *lhs_len);
	*rhs_len = mp_rc_u16(rc);
	*rhs = mp_rc_take(rc, *rhs_len);
}

/* Floors 1 and 2: lhs = 0x0d, UUID, major (LE); rhs = minor (LE). */
static int syntax_floor(const uint8_t *lhs, uint16_t lhs_len, const uint8_t *rhs,
			uint16_t rhs_len, struct mp_syntax *s)
{
	if (lhs_len != 19 || lhs[0] != 0x0d || rhs_len != 2)
		return MP_ERR_PARSE;
	memcpy(s->uuid.b, lhs + 1, 16);
	s->major = mp_get_u16(lhs + 17);
	s->minor = mp_get_u16(rhs);
	return MP_OK;
}

int mp_tower_decode(const uint8_t *p, size_t len, struct mp_tower *out)
{
	struct mp_rcursor rc;
	const uint8_t *lhs, *rhs;
	uint16_t lhs_len, rhs_len;

	memset(out, 0, sizeof(*out));
	mp_rc_init(&rc, p, len);
	uint16_t floors = mp_rc_u16(&rc);
	if (rc.bad || floors < 3)
		return MP_ERR_PARSE;
	read_floor(&rc, &lhs, &lhs_len, &rhs, &rhs_len);
	if (rc.bad || syntax_floor(lhs, lhs_len, rhs, rhs_len, &out->iface) != MP_OK)
		return MP_ERR_PARSE;
	read_floor(&rc, &lhs, &lhs_len, &rhs, &rhs_len);
	if (rc.bad || syntax_floor(lhs, lhs_len, rhs, rhs_len, &out->ts) != MP_OK)
		return MP_ERR_PARSE;
	read_floor(&rc, &lhs, &lhs_len, &rhs, &rhs_len); /* RPC protocol: 0x0b = CO */
	if (rc.bad || lhs_len < 1)
		return MP_ERR_PARSE;
	for (unsigned f = 3; f < floors; f++) {
		read_floor(&rc, &lhs, &lhs_len, &rhs, &rhs_len);
		if (rc.bad || lhs_len < 1)
			return MP_ERR_PARSE;
		if (f == 3) {
			out->proto = lhs[0];
			if (lhs[0] == MP_EPM_PROTO_TCP && rhs_len == 2)
				out->port = (uint16_t)(rhs[0] << 8 | rhs[1]);
		} else if (f == 4 && lhs[0] == MP_EPM_PROTO_IP && rhs_len == 4) {
			memcpy(out->ipv4, rhs, 4);
		}
	}
	return MP_OK;
}

static void write_syntax_floor(struct mp_wbuf *wb, const struct mp_syntax *s)
{
	mp_wb_u16(wb, 19);
	mp_wb_u8(wb, 0x0d);
	mp_wb_bytes(wb, s->uuid.b, 16);
	mp_wb_u16(wb, s->major);
	mp_wb_u16(wb, 2);
	mp_wb_u16(wb, s->minor);
}

void mp_tower_encode(struct mp_wbuf *wb, const struct mp_tower *t)
{
	mp_wb_u16(wb, 5);
	write_syntax_floor(wb, &t->iface);
	write_syntax_floor(wb, &t->ts);
	mp_wb_u16(wb, 1);
	mp_wb_u8(wb, MP_EPM_PROTO_NCACN);
	mp_wb_u16(wb, 2);
	mp_wb_u16(wb, 0);
	mp_wb_u16(wb, 1);
	mp_wb_u8(wb, MP_EPM_PROTO_TCP);
	mp_wb_u16(wb, 2);
	mp_wb_u16be(wb, t->port);
	mp_wb_u16(wb, 1);
	mp_wb_u8(wb, MP_EPM_PROTO_IP);
	mp_wb_u16(wb, 4);
	mp_wb_bytes(wb, t->ipv4, 4);
}

/* twr_t as NDR: conformance, tower_length, octets, then 4-byte alignment. */
static void write_twr(struct mp_wbuf *wb, const struct mp_tower *t)
{
	struct mp_wbuf tw;
	mp_wb_init(&tw);
	mp_tower_encode(&tw, t);
	if (tw.bad) {
		wb->bad = true;
		mp_wb_free(&tw);
		return;
	}
	mp_wb_u32(wb, (uint32_t)tw.len);
	mp_wb_u32(wb, (uint32_t)tw.len);
	mp_wb_bytes(wb, tw.data, tw.len);
	mp_wb_align(wb, 4);
	mp_wb_free(&tw);
}

static int read_twr(struct mp_rcursor *rc, struct mp_tower *t)
{
	uint32_t max_count = mp_rc_u32(rc);
	uint32_t tower_len = mp_rc_u32(rc);
	if (rc->bad || tower_len > MP_EPM_MAX_TOWER || max_count != tower_len)
		return MP_ERR_PARSE;
	const uint8_t *p = mp_rc_take(rc, tower_len);
	if (!p)
		return MP_ERR_PARSE;
	mp_rc_align(rc, 4);
	return mp_tower_decode(p, tower_len, t);
}

/* ---- ept_map ---- */

int mp_ept_map_req_decode(const uint8_t *stub, size_t len, struct mp_ept_map_req *out)
{
	struct mp_rcursor rc;
	memset(out, 0, sizeof(*out));
	mp_rc_init(&rc, stub, len);
	if (mp_rc_u32(&rc)) {
		const uint8_t *o = mp_rc_take(&rc, 16);
		if (o) {
			out->has_object = true;
			memcpy(out->object.b, o, 16);
		}
	}
	if (mp_rc_u32(&rc)) {
		out->has_tower = true;
		if (rc.bad || read_twr(&rc, &out->tower) != MP_OK)
			return MP_ERR_PARSE;
	}
	const uint8_t *h = mp_rc_take(&rc, MP_EPM_HANDLE_LEN);
	if (h)
		memcpy(out->handle, h, MP_EPM_HANDLE_LEN);
	out->max_towers = mp_rc_u32(&rc);
	return rc.bad ? MP_ERR_PARSE : MP_OK;
}

void mp_ept_map_req_encode(struct mp_wbuf *wb, const struct mp_syntax *iface, uint32_t max_towers)
{
	struct mp_tower t = {.iface = *iface, .ts = mp_syntax_ndr20, .proto = MP_EPM_PROTO_TCP};
	mp_wb_u32(wb, 1); /* object: non-NULL, nil UUID (as Windows sends it) */
	mp_wb_zeros(wb, 16);
	mp_wb_u32(wb, 2); /* map_tower referent */
	write_twr(wb, &t);
	mp_wb_zeros(wb, MP_EPM_HANDLE_LEN);
	mp_wb_u32(wb, max_towers);
}

void mp_ept_map_rsp_encode(struct mp_wbuf *wb, const uint8_t handle[MP_EPM_HANDLE_LEN],
			   uint32_t max_towers, const struct mp_tower *towers, uint32_t n,
			   uint32_t status)
{
	mp_wb_bytes(wb, handle, MP_EPM_HANDLE_LEN);
	mp_wb_u32(wb, n);
	mp_wb_u32(wb, max_towers); /* conformant varying array: max, offset, actual */
	mp_wb_u32(wb, 0);
	mp_wb_u32(wb, n);
	for (uint32_t i = 0; i < n; i++)
		mp_wb_u32(wb, 3 + i); /* referent ids */
	for (uint32_t i = 0; i < n; i++)
		write_twr(wb, &towers[i]);
	mp_wb_u32(wb, status);
}

int mp_ept_map_rsp_decode(const uint8_t *stub, size_t len, struct mp_tower *towers, uint32_t max,
			  uint32_t *n, uint32_t *status)
{
	struct mp_rcursor rc;
	mp_rc_init(&rc, stub, len);
	*n = 0;
	mp_rc_skip(&rc, MP_EPM_HANDLE_LEN);
	uint32_t num = mp_rc_u32(&rc);
	uint32_t max_count = mp_rc_u32(&rc);
	uint32_t offset = mp_rc_u32(&rc);
	uint32_t actual = mp_rc_u32(&rc);
	if (rc.bad || offset != 0 || actual != num || actual > max_count ||
	    actual > mp_rc_left(&rc) / 4)
		return MP_ERR_PARSE;
	uint32_t present = 0;
	for (uint32_t i = 0; i < actual; i++)
		if (mp_rc_u32(&rc))
			present++;
	for (uint32_t i = 0; i < present; i++) {
		struct mp_tower t;
		if (read_twr(&rc, &t) != MP_OK)
			return MP_ERR_PARSE;
		if (*n < max)
			towers[(*n)++] = t;
	}
	*status = mp_rc_u32(&rc);
	return rc.bad ? MP_ERR_PARSE : MP_OK;
}

/* ---- ept_lookup ---- */

int mp_ept_lookup_req_decode(const uint8_t *stub, size_t len, struct mp_ept_lookup_req *out)
{
	struct mp_rcursor rc;
	memset(out, 0, sizeof(*out));
	mp_rc_init(&rc, stub, len);
	out->inquiry_type = mp_rc_u32(&rc);
	if (mp_rc_u32(&rc)) {
		const uint8_t *o = mp_rc_take(&rc, 16);
		if (o) {
			out->has_object = true;
			memcpy(out->object.b, o, 16);
		}
	}
	if (mp_rc_u32(&rc)) {
		const uint8_t *u = mp_rc_take(&rc, 16);
		if (u) {
			out->has_iface = true;
			memcpy(out->iface.uuid.b, u, 16);
		}
		out->iface.major = mp_rc_u16(&rc);
		out->iface.minor = mp_rc_u16(&rc);
	}
	out->vers_option = mp_rc_u32(&rc);
	const uint8_t *h = mp_rc_take(&rc, MP_EPM_HANDLE_LEN);
	if (h)
		memcpy(out->handle, h, MP_EPM_HANDLE_LEN);
	out->max_ents = mp_rc_u32(&rc);
	return rc.bad ? MP_ERR_PARSE : MP_OK;
}

static struct mp_tower entry_tower(const struct mp_epm_entry *e)
{
	struct mp_tower t = {.iface = e->iface, .ts = mp_syntax_ndr20, .proto = MP_EPM_PROTO_TCP,
			     .port = e->port};
	memcpy(t.ipv4, e->ipv4, 4);
	return t;
}

void mp_ept_lookup_rsp_encode(struct mp_wbuf *wb, const uint8_t handle[MP_EPM_HANDLE_LEN],
			      uint32_t max_ents, const struct mp_epm_entry *e, uint32_t n,
			      uint32_t status)
{
	mp_wb_bytes(wb, handle, MP_EPM_HANDLE_LEN);
	mp_wb_u32(wb, n);
	mp_wb_u32(wb, max_ents);
	mp_wb_u32(wb, 0);
	mp_wb_u32(wb, n);
	for (uint32_t i = 0; i < n; i++) {
		const char *a = e[i].annotation ? e[i].annotation : "";
		size_t alen = strnlen(a, 63);
		mp_wb_zeros(wb, 16);      /* object: nil */
		mp_wb_u32(wb, 0x100 + i); /* tower referent */
		mp_wb_u32(wb, 0);         /* annotation: offset, actual count, chars + NUL */
		mp_wb_u32(wb, (uint32_t)alen + 1);
		mp_wb_bytes(wb, a, alen);
		mp_wb_u8(wb, 0);
		mp_wb_align(wb, 4);
	}
	for (uint32_t i = 0; i < n; i++) {
		struct mp_tower t = entry_tower(&e[i]);
		write_twr(wb, &t);
	}
	mp_wb_u32(wb, status);
}

/* ---- the server ---- */

/* Enumeration handles are stateless: a marker and the next index. */
static const uint8_t handle_marker[12] = {'m', 'a', 'p', 'i', 'p', 'r', 'o', 'x', 'y', 'e', 'p', 'm'};

static void make_handle(uint8_t h[MP_EPM_HANDLE_LEN], uint32_t next)
{
	memset(h, 0, MP_EPM_HANDLE_LEN);
	mp_put_u32(h + 4, next);
	memcpy(h + 8, handle_marker, sizeof(handle_marker));
}

static bool read_handle(const uint8_t h[MP_EPM_HANDLE_LEN], uint32_t *next)
{
	if (memcmp(h + 8, handle_marker, sizeof(handle_marker)) != 0)
		return false;
	*next = mp_get_u32(h + 4);
	return true;
}

static bool if_matches(const struct mp_ept_lookup_req *r, const struct mp_syntax *s)
{
	/* Our entries carry the nil object UUID: a lookup by another object finds nothing. */
	bool object_ok = !r->has_object || mp_uuid_is_nil(&r->object);
	if (r->inquiry_type == 0 /* RPC_C_EP_ALL_ELTS */)
		return true;
	if (r->inquiry_type == 2 /* by object */)
		return object_ok;
	if (r->inquiry_type == 3 /* by interface and object */ && !object_ok)
		return false;
	if (!r->has_iface || !mp_uuid_equal(&r->iface.uuid, &s->uuid))
		return false;
	switch (r->vers_option) {
	case 1: /* all versions */
		return true;
	case 2: /* compatible */
		return s->major == r->iface.major && s->minor >= r->iface.minor;
	case 3: /* exact */
		return s->major == r->iface.major && s->minor == r->iface.minor;
	case 4: /* major only */
		return s->major == r->iface.major;
	case 5: /* up to */
		return s->major < r->iface.major ||
		       (s->major == r->iface.major && s->minor <= r->iface.minor);
	}
	return false;
}

static int serve_lookup(const uint8_t *stub, size_t len, const struct mp_epm_entry *table,
			size_t n_table, struct mp_wbuf *out, uint32_t *fault)
{
	struct mp_ept_lookup_req r;
	if (mp_ept_lookup_req_decode(stub, len, &r) != MP_OK) {
		*fault = MP_FAULT_NDR;
		return MP_ERR_PARSE;
	}
	uint32_t start = 0;
	if (!read_handle(r.handle, &start))
		start = 0;
	struct mp_epm_entry sel[64];
	uint32_t n = 0;
	size_t i = start;
	uint32_t limit = r.max_ents < 64 ? r.max_ents : 64;
	for (; i < n_table && n < limit; i++)
		if (if_matches(&r, &table[i].iface))
			sel[n++] = table[i];
	/* Skip non-matching tail so we know whether more entries remain. */
	while (i < n_table && !if_matches(&r, &table[i].iface))
		i++;
	uint8_t handle[MP_EPM_HANDLE_LEN] = {0};
	if (i < n_table && limit > 0) /* max_ents 0 must not hand out an endless cursor */
		make_handle(handle, (uint32_t)i);
	mp_ept_lookup_rsp_encode(out, handle, r.max_ents, sel, n,
				 n ? MP_EPM_STATUS_OK : MP_EPM_S_NOT_REGISTERED);
	return MP_OK;
}

static int serve_map(const uint8_t *stub, size_t len, const struct mp_epm_entry *table,
		     size_t n_table, struct mp_wbuf *out, uint32_t *fault)
{
	struct mp_ept_map_req r;
	if (mp_ept_map_req_decode(stub, len, &r) != MP_OK) {
		*fault = MP_FAULT_NDR;
		return MP_ERR_PARSE;
	}
	static const uint8_t zero[MP_EPM_HANDLE_LEN];
	struct mp_tower towers[4];
	uint32_t n = 0;
	if (r.has_tower && r.tower.proto == MP_EPM_PROTO_TCP) {
		for (size_t i = 0; i < n_table && n < r.max_towers && n < 4; i++) {
			const struct mp_syntax *s = &table[i].iface;
			if (mp_uuid_equal(&s->uuid, &r.tower.iface.uuid) &&
			    s->major == r.tower.iface.major)
				towers[n++] = entry_tower(&table[i]);
		}
	}
	mp_ept_map_rsp_encode(out, zero, r.max_towers, towers, n,
			      n ? MP_EPM_STATUS_OK : MP_EPM_S_NOT_REGISTERED);
	return MP_OK;
}

int mp_epm_serve(uint16_t opnum, const uint8_t *stub, size_t len, const struct mp_epm_entry *table,
		 size_t n_table, struct mp_wbuf *out, uint32_t *fault)
{
	*fault = 0;
	switch (opnum) {
	case MP_EPM_OP_LOOKUP:
		return serve_lookup(stub, len, table, n_table, out, fault);
	case MP_EPM_OP_MAP:
		return serve_map(stub, len, table, n_table, out, fault);
	case MP_EPM_OP_LOOKUP_HANDLE_FREE:
		/* in,out handle: answer a zeroed handle and success. */
		if (len < MP_EPM_HANDLE_LEN) {
			*fault = MP_FAULT_NDR;
			return MP_ERR_PARSE;
		}
		mp_wb_zeros(out, MP_EPM_HANDLE_LEN);
		mp_wb_u32(out, MP_EPM_STATUS_OK);
		return MP_OK;
	}
	/* insert/delete/inq_object/mgmt_*: a proxy's map is read-only. */
	*fault = opnum <= MP_EPM_OP_MGMT_DELETE ? MP_FAULT_ACCESS_DENIED : MP_NCA_S_OP_RNG_ERROR;
	return MP_ERR_UNSUPPORTED;
}
