/*
 * Server modules: interfaces the daemon answers itself instead of relaying
 * them (the original's dcerpc_mapiproxy:server = true, and the per-interface
 * dcerpc_mapiproxy:nspi_server / emsmdb_server / rfr_server switches of a
 * hybrid proxy). A server module is the terminal stage of a call: stackable
 * modules run in front of it exactly as in front of a remote server.
 *
 * A program registers the modules it links (mapiproxy: RFR; mapiserver:
 * EMSMDB, AsyncEMSMDB, NSPI, RFR) before it loads the configuration; the
 * configuration decides which of them serve.
 */
#ifndef MP_PROXY_SERVER_H
#define MP_PROXY_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/ntlmssp.h"
#include "dcerpc/uuid.h"
#include "util/config.h"
#include "util/cursor.h"

struct mp_session;
struct mp_proxy_conf;

#define MP_MAX_SERVER_MODULES 8

/* One call for a server module: everything it may use, nothing more. */
struct mp_server_call {
	const struct mp_proxy_conf *conf;
	uint64_t session_id;
	/* The client's identity on this association ("" when anonymous). */
	const char *user;
	const char *domain;
	uint8_t auth_level;
	void *global;         /* what init() returned */
	void **session_state; /* this module's per-session slot (NULL at first) */
	uint16_t opnum;
	const uint8_t *stub; /* whole, clear request stub */
	size_t len;
	struct mp_wbuf *out; /* append the response stub here */
	uint32_t *fault;     /* or set a fault status and return an error */
};

struct mp_server_module {
	const char *iface;  /* interface name, as in dcerpc_mapiproxy:interfaces */
	const char *option; /* its switch: "dcerpc_mapiproxy:rfr_server" */
	/* Once, when the configuration serves this interface: read the
	 * module's own settings ("mapiserver:data dir", ...) and open what it
	 * needs; *global is handed to every call. MP_OK, or an error with a
	 * message ("file:line: what to do") in errbuf. May be NULL. */
	int (*init)(const struct mp_config *cfg, const struct mp_proxy_conf *conf, void **global,
		    char *errbuf, size_t errlen);
	void (*shutdown)(void *global); /* may be NULL */
	/* Answer one complete call: MP_OK with the response stub appended to
	 * call->out, or an error with *call->fault set (nca_s_op_rng_error for
	 * an opnum it does not serve). */
	int (*serve)(struct mp_server_call *call);
	/* The association closed: free *session_state. May be NULL. */
	void (*session_end)(void *global, void *session_state);
};

/* Register a module (before mp_proxy_conf_load). MP_OK, MP_ERR_LIMIT. */
int mp_server_register(const struct mp_server_module *m);
/* The registered modules, NULL-terminated. */
const struct mp_server_module *const *mp_server_modules(void);
/* Index of a registered module (its per-session slot), or -1. */
int mp_server_index(const struct mp_server_module *m);
/* Run init() of every module the configuration serves / shutdown() of
 * those that started. mp_server_global() gives a module's global. */
int mp_server_init_all(const struct mp_config *cfg, const struct mp_proxy_conf *conf,
		       char *errbuf, size_t errlen);
void mp_server_shutdown_all(void);
void *mp_server_global(int index);

/* Where client identities come from when no mapiproxy:user db is set: a
 * program serving its own users (mapiserver: the store's, through
 * mp_store_ntlm_lookup_cb) sets this before the configuration is loaded;
 * then mapiproxy:auth required = yes needs no user db. The user db, when
 * configured, still takes precedence. `fn` NULL unsets it. */
void mp_proxy_set_user_lookup(mp_ntlm_lookup_fn fn, void *arg);
bool mp_proxy_has_user_lookup(void);

/* RFR (MS-OXABREF): refers clients to our own FQDN (server_rfr.c). */
extern const struct mp_server_module mp_server_rfr;

#endif
