/*
 * EMSMDB client calls (MS-OXCRPC 3.1.4) over an rpc_conn association bound
 * to exchange_emsmdb: EcDoConnectEx (falling back to the legacy EcDoConnect
 * when the server faults the opnum with nca_s_op_rng_error, as Outlook
 * does), EcDoRpcExt2 with its RPC_HEADER_EXT framing (the answer's payload
 * decompressed and de-XORed; rpc_ext.h), EcDoRpc after a legacy connect
 * (XOR 0xA5 only), EcDoDisconnect, and for notifications EcDoAsyncConnectEx
 * and AsyncEMSMDB's EcDoAsyncWaitEx (3.3.4.1) on a second association.
 *
 * Returns as nspi_client.h: MP_OK, MP_RPC_FAULT, MP_CLIENT_ERESULT (cl->result)
 * or MP_ERR_*, with cl->err.
 */
#ifndef MP_CLIENT_EMSMDB_CLIENT_H
#define MP_CLIENT_EMSMDB_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/nspi_client.h"
#include "client/rpc_conn.h"
#include "dcerpc/pdu.h" /* MP_NCA_S_OP_RNG_ERROR */
#include "mapi/emsmdb.h"

struct mp_emsmdb_client {
	struct mp_rpc_conn *conn; /* borrowed */
	struct mp_ndr_handle cxh;
	bool legacy; /* connected with EcDoConnect: EcDoRpc for ROPs */
	uint16_t server_version[3];
	uint32_t max_polls_ms;
	char dn_prefix[256];
	char server_name[256];
	uint32_t result;
	uint32_t fault;
	char err[256];
};

/* The client version we announce (Outlook 2007 SP2's three WORDs). */
extern const uint16_t mp_emsmdb_client_version[3];

/* Connect as user_dn. Tries EcDoConnectEx; on nca_s_op_rng_error, EcDoConnect. */
int mp_emsmdb_client_connect(struct mp_emsmdb_client *cl, struct mp_rpc_conn *conn,
                             const char *user_dn);
/*
 * Send one ROP request buffer (RopSize | RopsList | handle table) and get
 * the ROP response buffer, talloc'd under mem. The request goes out in one
 * RPC_HEADER_EXT segment (XorMagic, Last); the response's first segment is
 * restored (decompressed, de-XORed).
 */
int mp_emsmdb_client_rpc(struct mp_emsmdb_client *cl, void *mem, const uint8_t *in, size_t len,
                         uint8_t **out, size_t *out_len);
int mp_emsmdb_client_disconnect(struct mp_emsmdb_client *cl);
/* EcDoAsyncConnectEx: the asynchronous context handle of the session. */
int mp_emsmdb_client_async_connect(struct mp_emsmdb_client *cl, struct mp_ndr_handle *acxh);
/*
 * EcDoAsyncWaitEx on `conn` (bound to exchange_async_emsmdb): blocks until
 * the server answers (a notification is pending, or up to 5 minutes pass;
 * set the connection's timeout longer). *flags gets pulFlagsOut
 * (MP_EMSMDB_NOTIFICATION_PENDING). Returns as the other calls; the
 * result (ecRejected, ecExiting) is in cl->result with MP_CLIENT_ERESULT.
 */
int mp_emsmdb_client_async_wait(struct mp_emsmdb_client *cl, struct mp_rpc_conn *conn,
                                const struct mp_ndr_handle *acxh, uint32_t *flags);

/* Build rgbIn for EcDoRpcExt2: one segment (flags) around `rops`; appends to out. */
int mp_emsmdb_client_wrap(const uint8_t *rops, size_t len, uint16_t flags, struct mp_wbuf *out);
/* Restore the first segment's payload of an rgbOut (under mem). */
int mp_emsmdb_client_unwrap(void *mem, const uint8_t *buf, size_t len, uint8_t **out,
                            size_t *out_len, const char **why);

#endif
