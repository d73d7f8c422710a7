/*
 * NSPI client calls (MS-OXNSPI 3.1.4.1) over an rpc_conn association bound
 * to exchange_nsp: requests are built from the typed structures of
 * mapi/nspi.h and encoded with mp_nspi_push(); responses are decoded with
 * mp_mapi_decode() and returned as the typed response structure, talloc'd
 * under the caller's context.
 *
 * Every function returns MP_OK, MP_RPC_FAULT (a fault PDU), MP_CLIENT_ERESULT
 * (the call's result is not Success: cl->result holds it) or an MP_ERR_*;
 * cl->err then says what happened in a sentence.
 */
#ifndef MP_CLIENT_NSPI_CLIENT_H
#define MP_CLIENT_NSPI_CLIENT_H

#include <stdint.h>

#include "client/rpc_conn.h"
#include "mapi/nspi.h"


/* Code page and locale Outlook sends in STAT (Windows-1252, en-US). */
#define MP_NSPI_CLIENT_CODEPAGE 1252
#define MP_NSPI_CLIENT_LCID 0x409

struct mp_nspi_client {
	struct mp_rpc_conn *conn; /* borrowed */
	struct mp_ndr_handle handle;
	struct mp_nspi_flatuid server_guid;
	uint32_t result; /* last call's result */
	uint32_t fault;  /* last fault status */
	char err[256];
};

/* A STAT positioned at the start of the GAL (container 0). */
void mp_nspi_client_stat_init(struct mp_nspi_stat *st);

/* Encode a request body for opnum (from scratch); false when it cannot be. */
int mp_nspi_client_call(struct mp_nspi_client *cl, void *mem, uint16_t opnum, const void *req,
                        void **rsp);

int mp_nspi_client_bind(struct mp_nspi_client *cl, struct mp_rpc_conn *conn, uint32_t flags);
int mp_nspi_client_unbind(struct mp_nspi_client *cl);
/* NspiResolveNamesW: one MId and one row (tags) per name. */
int mp_nspi_client_resolve_names(struct mp_nspi_client *cl, void *mem, const char *const *names,
                                 uint32_t n, const uint32_t *tags, uint32_t n_tags,
                                 struct mp_nspi_proptags **mids, struct mp_nspi_rowset **rows);
/* NspiGetProps of one MId. */
int mp_nspi_client_get_props(struct mp_nspi_client *cl, void *mem, uint32_t mid,
                             const uint32_t *tags, uint32_t n_tags, struct mp_nspi_row **row);
/* NspiQueryRows: up to `count` rows from *stat (updated). */
int mp_nspi_client_query_rows(struct mp_nspi_client *cl, void *mem, struct mp_nspi_stat *stat,
                              uint32_t count, const uint32_t *tags, uint32_t n_tags,
                              struct mp_nspi_rowset **rows);
/* NspiGetMatches with a restriction (may be NULL): MIds and rows. */
int mp_nspi_client_get_matches(struct mp_nspi_client *cl, void *mem, struct mp_nspi_stat *stat,
                               struct mp_nspi_restriction *filter, uint32_t requested,
                               const uint32_t *tags, uint32_t n_tags,
                               struct mp_nspi_proptags **mids, struct mp_nspi_rowset **rows);
/* NspiDNToMId: MIds of 8-bit DNs (0 for unknown DNs). */
int mp_nspi_client_dn_to_mid(struct mp_nspi_client *cl, void *mem, const char *const *dns,
                             uint32_t n, struct mp_nspi_proptags **mids);

/* A row's string property (PtypString or PtypString8 of the tag's id), or NULL. */
const char *mp_nspi_client_row_str(const struct mp_nspi_row *row, uint32_t tag);

#endif
