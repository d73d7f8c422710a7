/*
 * Printing a decoded ExchangeRPC call with everything inside it: the NDR
 * level (call.h) and, for EMSMDB's EcDoRpc / EcDoRpcExt / EcDoRpcExt2 and
 * their responses, the extended buffers (RPC_HEADER_EXT, compression,
 * obfuscation, AUX blocks) and the ROPs they carry.
 *
 * Decoding ROP responses needs state from earlier calls of the session
 * (the columns set on a table, ...) and the matching request: keep one
 * struct mp_mapi_print_state per session, give the request when printing
 * its response, and update the state once per call.
 */
#ifndef MP_MAPI_MAPI_PRINT_H
#define MP_MAPI_MAPI_PRINT_H

#include <stdbool.h>

#include "mapi/call.h"
#include "util/printer.h"

struct mp_mapi_print_state;

/* Per-session state, talloc'd under mem (NULL on allocation failure). */
struct mp_mapi_print_state *mp_mapi_print_state_new(void *mem);

/*
 * Print `call` (a request, or a response with `request` its decoded
 * request, which may be NULL if unknown). With `rops` false only the NDR
 * level is printed. `st` may be NULL (no cross-call state: some ROP
 * responses then stay opaque).
 */
void mp_mapi_print_call(struct mp_printer *p, const struct mp_mapi_call *call,
			const struct mp_mapi_call *request, const struct mp_mapi_print_state *st,
			bool rops);

/* After a call is printed (in as many formats as wanted): learn from it what
 * later responses need. `response` may be NULL (fault). */
void mp_mapi_print_state_update(struct mp_mapi_print_state *st, const struct mp_mapi_call *request,
				const struct mp_mapi_call *response);

#endif
