/*
 * Server modules: interfaces the daemon answers itself instead of relaying
 * them (the original's dcerpc_mapiproxy:server = true, and the per-interface
 * dcerpc_mapiproxy:nspi_server / emsmdb_server / rfr_server switches of a
 * hybrid proxy). A server module is the terminal stage of a call: stackable
 * modules run in front of it exactly as in front of a remote server.
 */
#ifndef MP_PROXY_SERVER_H
#define MP_PROXY_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "dcerpc/uuid.h"
#include "util/cursor.h"

struct mp_session;

struct mp_server_module {
	const char *iface;  /* interface name, as in dcerpc_mapiproxy:interfaces */
	const char *option; /* its switch: "dcerpc_mapiproxy:rfr_server" */
	/* Answer one complete call: append the response stub to `out` and
	 * return MP_OK, or return an error with *fault set (nca_s_op_rng_error
	 * for an opnum it does not serve). */
	int (*serve)(struct mp_session *s, uint16_t opnum, const uint8_t *stub, size_t len,
		     struct mp_wbuf *out, uint32_t *fault);
};

/* NULL-terminated list of the built-in server modules. */
extern const struct mp_server_module *const mp_server_modules[];

/* The module serving interface `name`, or NULL. */
const struct mp_server_module *mp_server_module_for(const char *name);

/* RFR (MS-OXABREF): refers clients to our own FQDN (server_rfr.c). */
extern const struct mp_server_module mp_server_rfr;

#endif
