/*
 * A blocking DCE/RPC client association over TCP (ncacn_ip_tcp), as an
 * Outlook-style client needs it: find the port with ept_map on the host's
 * endpoint mapper (or take a given one), bind one presentation context
 * (NDR20) with NTLMSSP at level none / connect / integrity / privacy
 * (NEGOTIATE in the bind, AUTHENTICATE in auth3), then make calls: the
 * request stub is fragmented (and signed or sealed) to fit the negotiated
 * fragment size, response fragments are checked and reassembled, faults
 * come back as errors with their status. Every socket operation has a
 * timeout. One call in flight at a time.
 */
#ifndef MP_CLIENT_RPC_CONN_H
#define MP_CLIENT_RPC_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dcerpc/uuid.h"
#include "mapi/call.h"
#include "util/cursor.h"

/* Largest reassembled response we accept (EcDoRpcExt2 rgbOut is 256 KiB). */
#define MP_RPC_CONN_MAX_RSP (4u << 20)

struct mp_rpc_conn_opts {
	const char *host;
	uint16_t port;     /* 0: ask the endpoint mapper */
	uint16_t epm_port; /* 0: 135 */
	struct mp_syntax iface;
	uint8_t auth_level; /* enum mp_auth_level: NONE (no auth) .. PKT_PRIVACY */
	const char *user;   /* NTLMSSP identity (auth_level above NONE) */
	const char *domain;
	const char *password;
	unsigned timeout_ms; /* per socket operation; 0: 30 s */
	uint16_t max_frag;   /* offered max_xmit/max_recv; 0: 5840 */
};

/* Results besides MP_OK / MP_ERR_*: */
#define MP_RPC_FAULT 100 /* the server answered with a fault PDU (*fault) */

struct mp_rpc_conn;

/*
 * Connect and bind. Returns MP_OK and *out, or an error with a sentence in
 * err: MP_ERR_IO (resolve/connect/send/receive), MP_ERR_NOTFOUND (the
 * endpoint mapper does not know the interface), MP_ERR_AUTH (bind_nak,
 * no NTLMSSP challenge), MP_ERR_PROTO (context refused, bad PDU).
 */
int mp_rpc_conn_open(const struct mp_rpc_conn_opts *o, struct mp_rpc_conn **out, char *err,
                     size_t errlen);

/*
 * One call: `stub` is the request stub; the response stub replaces rsp's
 * contents. Returns MP_OK, MP_RPC_FAULT (*fault = status; the association
 * stays usable unless the server closes it), or MP_ERR_IO / MP_ERR_PROTO /
 * MP_ERR_AUTH / MP_ERR_LIMIT with err filled (the association is dead).
 */
int mp_rpc_conn_call(struct mp_rpc_conn *c, uint16_t opnum, const uint8_t *stub, size_t len,
                     struct mp_wbuf *rsp, uint32_t *fault, char *err, size_t errlen);

/* The server returned a MAPI/NSPI error code (the call itself went through). */
#define MP_CLIENT_ERESULT 101

/*
 * One typed ExchangeRPC call: encode `req` (the request structure of
 * iface/opnum, src/mapi/), call, decode the response under `mem` into *rsp.
 * *result gets the call's return value (the last 4 bytes of every response
 * of these interfaces). Returns MP_OK, MP_RPC_FAULT (*fault), MP_CLIENT_ERESULT
 * (*result != 0, *rsp valid), or an error; err says which call and what.
 */
int mp_rpc_conn_mapi_call(struct mp_rpc_conn *c, enum mp_mapi_iface iface, void *mem,
			  uint16_t opnum, const void *req, void **rsp, uint32_t *result,
			  uint32_t *fault, char *err, size_t errlen);

/* Negotiated largest fragment we send. */
uint16_t mp_rpc_conn_max_xmit(const struct mp_rpc_conn *c);
/* The TCP port the association is on (after ept_map). */
uint16_t mp_rpc_conn_port(const struct mp_rpc_conn *c);
/* Wait at most timeout_ms for each answer from now on (a call the server
 * holds, such as EcDoAsyncWaitEx, needs longer than the usual timeout). */
void mp_rpc_conn_set_timeout(struct mp_rpc_conn *c, unsigned timeout_ms);
void mp_rpc_conn_close(struct mp_rpc_conn *c);

/*
 * Ask host:epm_port's endpoint mapper (ept_map, unauthenticated) for the TCP
 * port of `iface`. MP_OK and *port, MP_ERR_NOTFOUND (not registered), or
 * MP_ERR_IO / MP_ERR_PROTO with err filled.
 */
int mp_rpc_ept_map(const char *host, uint16_t epm_port, const struct mp_syntax *iface,
                   unsigned timeout_ms, uint16_t *port, char *err, size_t errlen);

/* Auth level from "none", "connect", "integrity", "privacy"; 0 if unknown. */
uint8_t mp_rpc_auth_level_parse(const char *s);

#endif
