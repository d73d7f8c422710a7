/*
 * mapiproxy stackable module API.
 *
 * A module is a shared object that exports one constant descriptor named
 * `mapiproxy_module` (MP_MODULE_EXPORT). The daemon loads the modules named
 * in `dcerpc_mapiproxy:modules`, in that order, from `mapiproxy:modules dir`
 * and runs their hooks on every call of the interfaces their `endpoint`
 * names:
 *
 *   request:   ndr_pull (raw stub) -> pull (decoded) -> dispatch
 *              ... in configured order, module 1 first
 *   relay:     upstream server or local server module, unless a dispatch
 *              set relay->norelay (that module answered itself)
 *   response:  ndr_push (raw stub) -> push (decoded)
 *              ... in reverse order, the last module first
 *
 * Each phase runs through every subscribed module before the next phase
 * begins: a module that changes the request does it in ndr_pull or pull,
 * so that every dispatch sees the request as it will leave. A module that
 * sets norelay in dispatch stops the dispatch phase there; only it and the
 * modules before it see the response (an onion: what a module did on the
 * way in it undoes on the way out).
 *
 * Read-ahead: a module that calls mp_call_ahead() (or sets relay->ahead)
 * has its dispatch hook called again once the response is in, with
 * mp_call_is_ahead() true on a fresh call object; if that dispatch gives the
 * call a request (mp_call_set_request / mp_call_set_rop_buffer) and keeps
 * relay->ahead set, the request passes the ndr_pull and pull hooks of the
 * modules after it and goes upstream; its response runs through the
 * response hooks of those modules and of the one that asked, and dispatch
 * is asked again. The client's own response is held until the module stops.
 *
 * A hook returns MP_MODULE_OK or MP_MODULE_ERROR. An error becomes a fault
 * for that call only (or, with `mapiproxy:module errors = relay`, the call
 * goes on untouched); the session carries on.
 *
 * Memory: mp_call_mem() is freed with the call; per-session state lives in
 * *mp_session_private() and is the module's to free in unbind(); global
 * state set with mp_module_set_global() in init() is freed in fini().
 *
 * This header is the whole public API: it needs nothing else from mapiproxy.
 * Build a module out of tree with
 *	cc -shared -fPIC $(pkg-config --cflags mapiproxy-module) -o m.so m.c
 * (docs/modules.md).
 */
#ifndef MAPIPROXY_MODULE_H
#define MAPIPROXY_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ABI version: the major changes when a structure or a signature changes;
 * the loader refuses a module built for another major, or for a newer minor
 * (functions it may call would be missing). */
#define MP_MODULE_ABI_MAJOR 1
#define MP_MODULE_ABI_MINOR 1 /* 1: mp_module_watch() */
#define MP_MODULE_ABI ((uint32_t)((MP_MODULE_ABI_MAJOR << 16) | MP_MODULE_ABI_MINOR))

/* The symbol the loader looks for. */
#define MP_MODULE_SYMBOL "mapiproxy_module"
#define MP_MODULE_EXPORT __attribute__((visibility("default"))) const struct mp_module mapiproxy_module

/* Hook results. */
#define MP_MODULE_OK 0
#define MP_MODULE_ERROR (-1)

/* Endpoint names for struct mp_module.endpoint (any other DCE/RPC interface
 * a proxy relays is seen by modules with endpoint "any"). */
#define MP_ENDPOINT_EMSMDB "exchange_emsmdb"
#define MP_ENDPOINT_ASYNC_EMSMDB "exchange_async_emsmdb"
#define MP_ENDPOINT_NSPI "exchange_nsp"
#define MP_ENDPOINT_RFR "exchange_ds_rfr"
#define MP_ENDPOINT_ANY "any"

/* Direction of a stub, a decoded structure or a ROP buffer. */
enum mp_dir {
	MP_REQUEST = 0,
	MP_RESPONSE = 1,
};

struct mp_module_ctx; /* given to init() and fini() */
struct mp_session;    /* one client association */
struct mp_call;       /* one call, from its request to its response */

/* A raw (clear, reassembled) stub: NDR-encoded call parameters. */
struct mp_stub {
	const uint8_t *data;
	size_t len;
};

/* What dispatch decides for the call. */
struct mp_relay {
	bool norelay; /* answered here: mp_call_set_response() or mp_call_set_fault() */
	bool ahead;   /* call dispatch again after the response (read-ahead) */
};

struct mp_module {
	uint32_t abi;            /* MP_MODULE_ABI */
	const char *name;        /* as written in dcerpc_mapiproxy:modules */
	const char *description; /* one line, for mapiproxy --list-modules */
	const char *endpoint;    /* MP_ENDPOINT_*: which calls reach the hooks; several
				  * as a comma-separated list ("exchange_nsp,
				  * exchange_ds_rfr"): calls of other interfaces stay on
				  * the fast path */

	/* Once at start-up (after the daemon detached): read "NAME:option"
	 * settings, open files. An error refuses to start; say why with
	 * mp_module_error(). May be NULL, as may every hook. */
	int (*init)(struct mp_module_ctx *ctx);
	/* At exit: free what init() made. */
	void (*fini)(struct mp_module_ctx *ctx);

	/* The request stub before it is decoded; may replace it. */
	int (*ndr_pull)(struct mp_call *call, struct mp_stub *stub);
	/* The decoded request (NULL when the interface has no codec or the
	 * stub did not decode); after changing it call mp_call_changed(). */
	int (*pull)(struct mp_call *call, void *request);
	/* Decide: relay, answer here (norelay), read ahead. */
	int (*dispatch)(struct mp_call *call, void *request, struct mp_relay *relay);
	/* The response stub before it is decoded; may replace it. */
	int (*ndr_push)(struct mp_call *call, struct mp_stub *stub);
	/* The decoded response; after changing it call mp_call_changed(). */
	int (*push)(struct mp_call *call, void *response);
	/* The association closed: free *mp_session_private(session). */
	void (*unbind)(struct mp_session *session);
};

/* ---- init: settings and global state ---------------------------------- */

/* "NAME:option" from the configuration (NAME is the module's name, or the
 * original's prefix mpm_NAME), or `def`. Option names compare like smb.conf:
 * case and spaces ignored. */
const char *mp_module_option(struct mp_module_ctx *ctx, const char *option, const char *def);
/* Integer / boolean / size (k, M, G suffixes) settings: MP_MODULE_OK, or
 * MP_MODULE_ERROR with the reason already given to mp_module_error(). */
int mp_module_option_int(struct mp_module_ctx *ctx, const char *option, long def, long min,
			 long max, long *out);
int mp_module_option_bool(struct mp_module_ctx *ctx, const char *option, bool def, bool *out);
int mp_module_option_size(struct mp_module_ctx *ctx, const char *option, uint64_t def,
			  uint64_t *out);
/* Why init() failed, printed at start-up with the module's name. */
void mp_module_error(struct mp_module_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void mp_module_set_global(struct mp_module_ctx *ctx, void *global);
void *mp_module_global(struct mp_module_ctx *ctx);
/* The daemon's own name (mapiproxy:fqdn, else the host name). */
const char *mp_module_fqdn(struct mp_module_ctx *ctx);

/* ---- calls ------------------------------------------------------------- */

struct mp_session *mp_call_session(struct mp_call *call);
/* What init() gave mp_module_set_global() (for the module whose hook runs). */
void *mp_call_global(struct mp_call *call);
/* Talloc-compatible memory freed with the call (use talloc, or
 * mp_call_alloc for plain zeroed bytes). */
void *mp_call_mem(struct mp_call *call);
void *mp_call_alloc(struct mp_call *call, size_t size);
/* Per-call slot of the running module, NULL at first. */
void **mp_call_private(struct mp_call *call);

uint32_t mp_call_id(const struct mp_call *call);
uint16_t mp_call_opnum(const struct mp_call *call);
/* "exchange_emsmdb", ... or the interface UUID/version for others. */
const char *mp_call_endpoint(const struct mp_call *call);
/* "EcDoRpcExt2", "NspiGetProps", ... or "opnum N". */
const char *mp_call_name(const struct mp_call *call);
/* Did this call come from the client (false) or from a module's read-ahead? */
bool mp_call_is_ahead(const struct mp_call *call);

/* The current stubs (either direction may be asked from a response hook).
 * A read-ahead call's request starts as a copy of the client's request. */
int mp_call_stub(struct mp_call *call, enum mp_dir dir, struct mp_stub *out);
/* Replace a stub (copied): the request before it is relayed (ndr_pull,
 * pull, dispatch), the response (dispatch with norelay, ndr_push, push). */
int mp_call_set_request(struct mp_call *call, const uint8_t *data, size_t len);
int mp_call_set_response(struct mp_call *call, const uint8_t *data, size_t len);
/* Answer with a DCE/RPC fault instead: from a request hook (ndr_pull,
 * pull, dispatch) the call is answered here and never relayed, as with
 * norelay; from a response hook the client gets the fault. */
void mp_call_set_fault(struct mp_call *call, uint32_t status);
/* The decoded structure of `dir` was changed in place: encode it again. */
void mp_call_changed(struct mp_call *call, enum mp_dir dir);
/* Ask for read-ahead from a response hook (see the top of this file). */
void mp_call_ahead(struct mp_call *call);

/* EMSMDB ROP buffers (EcDoRpcExt2, EcDoRpcExt, EcDoRpc): the restored
 * bytes (decompressed, de-obfuscated) of segment `index` — RopSize, ROPs,
 * handle table. A request has one; a response may chain several. */
size_t mp_call_rop_buffer_count(struct mp_call *call, enum mp_dir dir);
int mp_call_rop_buffer(struct mp_call *call, enum mp_dir dir, size_t index, const uint8_t **data,
		       size_t *len);
/* Replace all ROP buffers of `dir` by this one; it is compressed and
 * obfuscated as the original was. */
int mp_call_set_rop_buffer(struct mp_call *call, enum mp_dir dir, const uint8_t *data,
			   size_t len);

/* ---- sessions ---------------------------------------------------------- */

uint64_t mp_session_number(const struct mp_session *session);
/* The client's identity on the association ("" when anonymous). */
const char *mp_session_user(const struct mp_session *session);
const char *mp_session_domain(const struct mp_session *session);
/* 1 none .. 6 privacy (DCE/RPC authentication levels); 0 unauthenticated. */
int mp_session_auth_level(const struct mp_session *session);
/* "address:port" of the client. */
const char *mp_session_peer(const struct mp_session *session);
/* Per-session slot of the module whose hook runs, NULL at first. */
void **mp_session_private(struct mp_session *session);

/* ---- waiting without blocking (ABI 1.1) ------------------------------- */

/* Called once by mp_module_watch(): `ready` is true when the descriptor
 * became readable, false when the timeout came first. */
typedef void mp_module_watch_fn(void *arg, int fd, bool ready);
/* From a hook: have the event loop that runs `session` call fn(arg, fd, ...)
 * once, when `fd` becomes readable or after `timeout_ms` (0: no timeout);
 * fd < 0 with a timeout is a plain timer. For a module that waits on
 * something (a child process through its pidfd, a pipe) without blocking
 * the daemon: hooks must never wait. The callback runs as the module's own
 * (logs carry its name) and may outlive the session; the module owns `fd`
 * and `arg` and keeps them valid until the callback ran or fini(). A watch
 * still pending when the daemon stops is dropped: fn is not called (fini()
 * then cleans up what it watched). MP_MODULE_OK, or MP_MODULE_ERROR (no
 * memory, not called from a hook). */
int mp_module_watch(struct mp_session *session, int fd, unsigned timeout_ms,
		    mp_module_watch_fn *fn, void *arg);

/* ---- logging (the daemon's log, tagged with the module's name) --------- */

enum mp_module_log_level {
	MP_MODULE_LOG_ERROR = 0,
	MP_MODULE_LOG_WARN,
	MP_MODULE_LOG_INFO,
	MP_MODULE_LOG_DEBUG,
};
void mp_module_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool mp_module_log_enabled(int level);

#ifdef __cplusplus
}
#endif

#endif
