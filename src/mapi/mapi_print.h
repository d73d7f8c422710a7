/*
 * A decoded ExchangeRPC call with everything inside it: the NDR level
 * (call.h) and, for EMSMDB, the extended buffers — RPC_HEADER_EXT chains
 * (compression, obfuscation), AUX blocks, and the ROPs of EcDoRpcExt2 /
 * EcDoRpcExt / EcDoRpc. This is what the dump prints and what modules that
 * work at ROP level read.
 *
 * Decoding ROP responses needs the matching request and state from earlier
 * calls of the session (the columns set on a table, the kind of each
 * logon): keep one struct mp_mapi_state per session, decode the request
 * view first, give it when decoding the response view, then update the
 * state once with both.
 */
#ifndef MP_MAPI_MAPI_PRINT_H
#define MP_MAPI_MAPI_PRINT_H

#include <stdbool.h>
#include <stddef.h>

#include "mapi/aux.h"
#include "mapi/call.h"
#include "mapi/rop.h"
#include "mapi/rpc_ext.h"
#include "util/printer.h"

struct mp_mapi_state;

/* Per-session state, talloc'd under mem (NULL on allocation failure). */
struct mp_mapi_state *mp_mapi_state_new(void *mem);

struct mp_mapi_view {
	const struct mp_mapi_call *call;
	/* AUX buffer (rgbAuxIn / rgbAuxOut): its chain and blocks. */
	struct mp_rpc_ext *aux_ext;
	struct mp_aux_list *aux;
	const char *aux_why; /* why it is not decoded, or NULL */
	/* ROP buffer: the chain (NULL for the legacy EcDoRpc form) and one
	 * decoded ROP buffer per segment (responses may chain several). */
	bool legacy;
	struct mp_rpc_ext *rop_ext;
	struct mp_rop_buf **bufs;
	size_t n_bufs;
	const char *rop_why;
};

/*
 * Decode `call` down to ROPs (with `rops` false: the NDR level only). For a
 * response, `request` is the view of its request (may be NULL). `st` may be
 * NULL. Never fails: what cannot be decoded is said in the *_why fields and
 * printed as bytes. Memory under `mem`.
 */
struct mp_mapi_view *mp_mapi_view_new(void *mem, const struct mp_mapi_call *call,
				      const struct mp_mapi_view *request,
				      struct mp_mapi_state *st, bool rops);
/* The call's tree: its name, the NDR fields, then aux and ROPs. */
void mp_mapi_view_print(struct mp_printer *p, const struct mp_mapi_view *v);
/* Learn from a finished call (response may be NULL: a fault). */
void mp_mapi_state_update(struct mp_mapi_state *st, const struct mp_mapi_view *request,
			  const struct mp_mapi_view *response);

#endif
