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

struct event_base;
struct mp_session;
struct mp_proxy_conf;
struct mp_server_deferred;

#define MP_MAX_SERVER_MODULES 8

/* One call for a server module: everything it may use, nothing more. */
struct mp_server_call {
	const struct mp_proxy_conf *conf;
	uint64_t session_id;
	uint32_t call_id;
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
	struct mp_server_deferred *deferred; /* set by mp_server_defer(); leave it alone */
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
	 * an opnum it does not serve), or MP_AGAIN after mp_server_defer(): the
	 * answer comes later (below). */
	int (*serve)(struct mp_server_call *call);
	/* The association closed: free *session_state, and drop the tokens of
	 * its deferred calls (mp_server_deferred_drop). May be NULL. */
	void (*session_end)(void *global, void *session_state);
	/* The daemon started draining (SIGTERM): answer every deferred call
	 * now, so that the drain does not wait for them. May be NULL. */
	void (*drain)(void *global);
};

/*
 * Deferred answers: a call the module answers later (AsyncEMSMDB's
 * EcDoAsyncWaitEx waits for a notification). Inside serve(), take a token
 * with mp_server_defer() and return MP_AGAIN; the call stays in flight (its
 * session is not idle, a drain waits for it) until the module passes the
 * token to mp_server_deferred_answer(), from an event callback of its own
 * (a timer on mp_server_event_base(), an event it activates) or from its
 * drain hook. The token names the session and the call by id, so an answer
 * for a session that has gone is dropped. The module owns the token until
 * it answers or drops it. Event-loop thread only.
 */

/* Inside serve(): a token for this call; then return MP_AGAIN. NULL when the
 * call cannot wait (no daemon runs it, as in unit tests; no memory): then
 * answer at once. */
struct mp_server_deferred *mp_server_defer(struct mp_server_call *call);
/* Answer a deferred call with `len` bytes of response stub (copied), or with
 * a fault when `fault` is not 0, and free the token. The call continues at
 * once where serve() left it (stackable modules' response hooks, the reply):
 * never call this from inside serve(). MP_OK, or MP_ERR_NOTFOUND when the
 * session or the call has gone (the answer is dropped). */
int mp_server_deferred_answer(struct mp_server_deferred *d, const uint8_t *stub, size_t len,
			      uint32_t fault);
/* Free a token without answering (session_end: the session is going away). */
void mp_server_deferred_drop(struct mp_server_deferred *d);
/* The daemon's event loop, for a module's timers; NULL when no daemon runs. */
struct event_base *mp_server_event_base(void);

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
