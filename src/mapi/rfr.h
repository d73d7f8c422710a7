/*
 * RFR call codecs (MS-OXABREF, interface 1544f5e0-613c-11d1-93df-
 * 00c04fd7bd09 v1.0): RfrGetNewDSA (opnum 0) and RfrGetFQDNFromServerDN
 * (opnum 1), decoded and encoded by the table behind mp_rfr_codec()
 * (call.h). Strings are 8-bit, kept as sent.
 */
#ifndef MP_MAPI_RFR_H
#define MP_MAPI_RFR_H

#include <stdbool.h>
#include <stdint.h>

#include "mapi/call.h"

enum mp_rfr_opnum {
	MP_RFR_GET_NEW_DSA = 0,
	MP_RFR_GET_FQDN_FROM_SERVER_DN = 1,
	MP_RFR_OPNUM_COUNT,
};

/* [in,out,unique,string] unsigned char **: the outer unique pointer
 * (`present`) and the inner one (`str`, NULL for a NULL inner pointer). */
struct mp_rfr_string_ref {
	bool present;
	char *str;
};

struct mp_rfr_get_new_dsa_req {
	uint32_t flags;
	char *user_dn;				/* [in, string]: never NULL */
	struct mp_rfr_string_ref unused;	/* ppszUnused */
	struct mp_rfr_string_ref server;	/* ppszServer */
};
struct mp_rfr_get_new_dsa_rsp {
	struct mp_rfr_string_ref unused;
	struct mp_rfr_string_ref server;	/* the NSPI server's FQDN */
	uint32_t result;
};

/* cb is cbMailboxServerDN, the string's declared size in bytes including
 * the NUL ([range(10,1024)], the conformance of the string). A push writes
 * max(cb, strlen(server_dn) + 1), so a longer replacement DN stays valid. */
struct mp_rfr_get_fqdn_req {
	uint32_t flags;
	uint32_t cb;
	char *server_dn;
};
struct mp_rfr_get_fqdn_rsp {
	char *fqdn; /* *ppszServerFQDN, may be NULL */
	uint32_t result;
};

/* Encode a call built from scratch, as mp_nspi_push() does for NSPI. */
bool mp_rfr_push(uint16_t opnum, enum mp_call_dir dir, const void *body, struct mp_wbuf *out);

#endif
