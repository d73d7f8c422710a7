/*
 * Endpoint mapper (EPMv4, C706 appendix L / MS-RPCE 2.2.1.2): protocol
 * towers and the NDR stubs of ept_map, ept_lookup and ept_lookup_handle_free.
 */
#ifndef MP_DCERPC_EPM_H
#define MP_DCERPC_EPM_H

#include "dcerpc/uuid.h"
#include "util/cursor.h"

#include <stdbool.h>
#include <stdint.h>

#define MP_EPM_OP_INSERT 0
#define MP_EPM_OP_DELETE 1
#define MP_EPM_OP_LOOKUP 2
#define MP_EPM_OP_MAP 3
#define MP_EPM_OP_LOOKUP_HANDLE_FREE 4
#define MP_EPM_OP_INQ_OBJECT 5
#define MP_EPM_OP_MGMT_DELETE 6

#define MP_EPM_STATUS_OK 0
#define MP_EPM_S_NOT_REGISTERED 0x16c9a0d6 /* also "no more entries" */
#define MP_EPM_MAX_TOWER 2000              /* tower_length range in the IDL */
#define MP_EPM_HANDLE_LEN 20

#define MP_EPM_PROTO_NCACN 0x0b
#define MP_EPM_PROTO_TCP 0x07
#define MP_EPM_PROTO_IP 0x09

/* A TCP/IP protocol tower (5 floors). */
struct mp_tower {
	struct mp_syntax iface;
	struct mp_syntax ts;
	uint8_t proto;   /* floor 4 protocol id; MP_EPM_PROTO_TCP for ncacn_ip_tcp */
	uint16_t port;   /* host order */
	uint8_t ipv4[4]; /* network order */
};

/* Decode the octets of a tower. Floors past the third are optional. */
int mp_tower_decode(const uint8_t *p, size_t len, struct mp_tower *out);
void mp_tower_encode(struct mp_wbuf *wb, const struct mp_tower *t);

/* One registered endpoint, as ept_lookup and ept_map report it. */
struct mp_epm_entry {
	struct mp_syntax iface;
	uint16_t port;
	uint8_t ipv4[4];
	const char *annotation; /* up to 63 characters */
};

struct mp_ept_map_req {
	bool has_object;
	struct mp_uuid object;
	bool has_tower;
	struct mp_tower tower;
	uint8_t handle[MP_EPM_HANDLE_LEN];
	uint32_t max_towers;
};

struct mp_ept_lookup_req {
	uint32_t inquiry_type;
	bool has_object;
	struct mp_uuid object;
	bool has_iface;
	struct mp_syntax iface;
	uint32_t vers_option;
	uint8_t handle[MP_EPM_HANDLE_LEN];
	uint32_t max_ents;
};

int mp_ept_map_req_decode(const uint8_t *stub, size_t len, struct mp_ept_map_req *out);
/* Client side: ask for `iface` over ncacn_ip_tcp. */
void mp_ept_map_req_encode(struct mp_wbuf *wb, const struct mp_syntax *iface, uint32_t max_towers);
void mp_ept_map_rsp_encode(struct mp_wbuf *wb, const uint8_t handle[MP_EPM_HANDLE_LEN],
			   uint32_t max_towers, const struct mp_tower *towers, uint32_t n,
			   uint32_t status);
/* Client side: decode up to `max` towers; *n is how many were stored. */
int mp_ept_map_rsp_decode(const uint8_t *stub, size_t len, struct mp_tower *towers, uint32_t max,
			  uint32_t *n, uint32_t *status);

int mp_ept_lookup_req_decode(const uint8_t *stub, size_t len, struct mp_ept_lookup_req *out);
void mp_ept_lookup_rsp_encode(struct mp_wbuf *wb, const uint8_t handle[MP_EPM_HANDLE_LEN],
			      uint32_t max_ents, const struct mp_epm_entry *e, uint32_t n,
			      uint32_t status);

/*
 * Answer one endpoint-mapper call from a table of endpoints. Returns MP_OK
 * with the response stub in `out`, or a fault status in *fault (opnum out of
 * range, malformed stub).
 */
int mp_epm_serve(uint16_t opnum, const uint8_t *stub, size_t len, const struct mp_epm_entry *table,
		 size_t n_table, struct mp_wbuf *out, uint32_t *fault);

#endif
