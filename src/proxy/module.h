/*
 * The stackable module stack inside the daemon: loading (module_load.c),
 * the call pipeline that runs the hooks (module_call.c) and the accessors
 * the public API gives modules (module_api.c). The API itself is
 * include/mapiproxy/module.h.
 */
#ifndef MP_PROXY_MODULE_H
#define MP_PROXY_MODULE_H

#include "mapiproxy/module.h"
#include "proxy/proxy-t.h"
#include "util/config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define MP_MAX_MODULES 16

/* A loaded module and its state. */
struct mp_loaded_module {
	const struct mp_module *desc;
	void *dl;     /* dlopen handle */
	char path[512];
	void *global; /* mp_module_set_global() */
	bool started; /* init() succeeded */
	int iface_mask; /* which ExchangeRPC interfaces its endpoint names; -1 any */
};

/* Where modules live when mapiproxy:modules dir is not set: next to the
 * program in a build tree (build/modules), else the installed directory. */
const char *mp_modules_default_dir(void);

/* dlopen every module of `names` (NULL-terminated) from `dir`, check ABI
 * and symbols. MP_OK, or MP_ERR_CONFIG with the reason in errbuf. */
int mp_modules_load(const char *dir, char *const *names, char *errbuf, size_t errlen);
/* init() every loaded module (after daemonising); errors in errbuf. */
int mp_modules_init(const struct mp_config *cfg, const struct mp_proxy_conf *conf,
		    char *errbuf, size_t errlen);
/* fini() then dlclose, in reverse order. */
void mp_modules_unload(void);
size_t mp_modules_count(void);
struct mp_loaded_module *mp_module_at(size_t i);
/* Print every module found in `dir` (--list-modules). Returns the count. */
int mp_modules_list(const char *dir, FILE *out);

/* Does a descriptor's endpoint ("any", one name, or a comma-separated list
 * of them) take calls of interface `name` (NULL: only "any" does)? */
bool mp_module_endpoint_matches(const char *list, const char *name);
/* Which loaded modules (bit i = module i) see calls of this context. */
uint32_t mp_modules_mask(const struct mp_sess_ctx *ctx);

/* A call as modules see it (the public struct mp_call). Talloc'd; freed
 * with the call. */
struct mp_mapi_call;
struct mp_rpc_ext;
struct mp_call {
	struct mp_session *s;
	struct mp_call_slot *slot; /* stubs: slot->req_stub, slot->rsp_stub */
	uint32_t mods;             /* modules that see it */
	int iface;                 /* enum mp_mapi_iface, -1 for other interfaces */
	const char *endpoint;
	bool ahead;                /* a module's read-ahead call */
	int origin;                /* read-ahead: the module that asked */
	struct mp_call *parent;    /* read-ahead: the client's call */
	int answered_by;           /* module that set norelay, -1 */
	int ahead_by;              /* module that asked for read-ahead, -1 */
	unsigned n_ahead;          /* read-ahead calls made for this call */
	bool fault_set;
	uint32_t fault;
	struct mp_mapi_call *dec[2]; /* decoded lazily, per direction */
	bool dec_failed[2];
	bool changed[2];
	struct mp_rpc_ext *rops[2]; /* parsed ROP chain, lazily */
	bool rops_legacy[2];
	uint8_t *legacy_clear[2];   /* EcDoRpc: the de-obfuscated buffer */
	void *priv[MP_MAX_MODULES];
	uint8_t *saved;             /* mapiproxy:module errors = relay: the original */
	size_t saved_len;
};

/* Make a stub current again after mp_call_changed (module_api.c). */
int mp_call_flush(struct mp_call *mc, enum mp_dir dir);
/* Forget what was decoded from a stub that changed. */
void mp_call_invalidate(struct mp_call *mc, enum mp_dir dir);
/* Decode `dir` once; NULL when it does not decode. */
void *mp_call_decoded(struct mp_call *mc, enum mp_dir dir);

/* ---- the pipeline (module_call.c), driven by session.c / upstream.c ---- */

/* The request of a call with modules is complete in c->req_stub: run the
 * request hooks, then relay it (upstream or local server) or answer. */
void mp_modules_on_request(struct mp_session *s, struct mp_call_slot *c);
/* The response of such a call is complete in c->rsp_stub (relayed or
 * served): run the response hooks, read ahead if asked, answer the client. */
void mp_modules_on_response(struct mp_session *s, struct mp_call_slot *c);
/* The upstream answered a module call (or its read-ahead) with a fault. */
void mp_modules_on_fault(struct mp_session *s, struct mp_call_slot *c, uint32_t status);
/* The call is done or abandoned: free its module state. */
void mp_modules_call_free(struct mp_call_slot *c);
/* The session ends: unbind hooks. */
void mp_modules_session_end(struct mp_session *s);

/* Set by the pipeline around each hook: the module whose hook runs. */
extern int mp_module_current;

#endif
