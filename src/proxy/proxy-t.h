/*
 * Types of the relay: the daemon (mp_proxy), one session per client
 * association (mp_session) paired with at most one upstream association,
 * and the calls in flight on it (mp_call_slot).
 */
#ifndef MP_PROXY_PROXY_T_H
#define MP_PROXY_PROXY_T_H

#include "auth/userdb.h"
#include "dcerpc/epm.h"
#include "dcerpc/sec.h"
#include "dcerpc/pdu.h"
#include "proxy/conf.h"
#include "util/cursor.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

struct event_base;
struct event;
struct evconnlistener;
struct bufferevent;
struct mp_mapi_state;
struct mp_call;

enum mp_ctx_kind {
	MP_CTX_RELAY = 1, /* forwarded to the upstream association */
	MP_CTX_LOCAL_EPM, /* answered by our own endpoint mapper */
	MP_CTX_LOCAL,     /* answered by a server module (server.h) */
};

/* An accepted presentation context of a session. */
struct mp_sess_ctx {
	uint16_t id;
	uint8_t kind; /* enum mp_ctx_kind */
	struct mp_syntax iface;
	const char *name; /* known interface name or NULL */
	uint32_t mods;    /* stackable modules that see its calls (module.h) */
};

/* One call in flight, from its first request fragment to its last response. */
struct mp_call_slot {
	bool in_use;
	bool local;        /* served by us, not relayed */
	bool reasm_req;    /* request is reassembled (and re-fragmented upstream) */
	bool reasm_rsp;    /* response is reassembled (and re-fragmented to client) */
	bool request_done; /* last request fragment seen */
	bool rsp_started;
	bool dump;         /* decoded and printed when done (dump.c); reassembled */
	uint32_t call_id;
	struct mp_pdu_request req; /* ctx_id, opnum, object of the first fragment */
	struct mp_wbuf req_stub;   /* reassembly buffers (empty on the fast path) */
	struct mp_wbuf rsp_stub;
	size_t req_bytes; /* stub bytes seen, for logs and limits */
	size_t rsp_bytes;
	struct timespec start;
	/* Stackable modules (module.h): which see this call (bit per module;
	 * 0 = the fast path), their call object, and for a module's read-ahead
	 * call the client's call it serves. */
	uint32_t mods;
	struct mp_call *mcall;
	struct mp_call_slot *ahead_parent;
};

enum mp_sess_state {
	MP_SS_NEW = 0,  /* waiting for bind */
	MP_SS_BINDING,  /* bind or alter_context forwarded, waiting for upstream */
	MP_SS_BOUND,    /* calls flow */
	MP_SS_CLOSING,  /* flushing output, then freed */
};

enum mp_up_state {
	MP_UP_NONE = 0,
	MP_UP_RESOLVING, /* asking the upstream endpoint mapper for the port */
	MP_UP_CONNECTING,
	MP_UP_CONNECTED,
};

struct mp_proxy;

struct mp_session {
	struct mp_proxy *px; /* owner: the proxy's session list */
	struct mp_session *prev, *next;
	uint64_t id;
	enum mp_sess_state state;
	enum mp_up_state up_state;
	bool reap_scheduled;
	bool read_paused_cli; /* backpressure: client output full */
	bool read_paused_up;
	bool up_bound; /* the upstream association exists: next context change is an alter */

	struct bufferevent *cli; /* owned */
	struct bufferevent *up;  /* owned, NULL until a relayed context is bound */
	struct bufferevent *epm; /* owned, only while resolving the upstream port */
	struct event *reap_ev;   /* owned; frees the session outside its callbacks */
	char peer[80];
	uint16_t local_port;
	uint8_t local_ipv4[4];

	/* Negotiated fragment sizes. */
	uint16_t cli_max_xmit; /* we send to the client */
	uint16_t cli_max_recv; /* we accept from the client */
	uint16_t up_max_xmit;  /* we send upstream */
	uint16_t up_max_recv;  /* we accept from upstream */
	uint32_t assoc_group;
	uint8_t cli_flags; /* PFC flags of the client's bind (CONC_MPX) */

	struct mp_sess_ctx ctx[MP_PDU_MAX_CTX];
	unsigned n_ctx;

	/* The bind or alter_context waiting for the upstream's answer. */
	struct {
		uint8_t ptype; /* MP_PDU_BIND or MP_PDU_ALTER */
		uint32_t call_id;
		struct mp_pdu_bind req;                /* as the client sent it */
		struct mp_pdu_bind fwd;                /* what goes upstream */
		uint8_t kind[MP_PDU_MAX_CTX];          /* per client context, 0 = rejected */
		uint8_t fwd_index[MP_PDU_MAX_CTX];     /* position in fwd */
		struct mp_pdu_result res[MP_PDU_MAX_CTX];
	} pend;
	struct mp_syntax up_iface; /* interface used to find the upstream port */
	uint16_t up_port;
	struct mp_wbuf epm_rsp; /* EPM response reassembly */

	struct mp_call_slot *calls; /* px->conf.max_calls slots */
	unsigned n_calls;           /* in use */
	size_t reasm_bytes;         /* sum of reassembly buffers, bounded by max call size */

	/* Client leg security: we are the server of its NTLMSSP exchange. */
	struct mp_ntlm *cli_ntlm; /* owned */
	struct mp_sec cli_sec;    /* valid when cli_auth_on */
	bool cli_auth_on;         /* the bind carried an auth trailer */
	bool cli_authed;          /* AUTHENTICATE verified */
	bool cli_auth_failed;
	bool passthrough;         /* the client's own auth is relayed; calls stay sealed */
	struct mp_wbuf cli_token; /* token for the next bind_ack/alter_context_resp */
	bool cli_token_in_alter;  /* cli_token answers an alter_context (SPNEGO legs) */
	/* SPNEGO around the client's NTLMSSP (auth_spnego.c). */
	uint8_t spnego_state;
	bool spnego_downgraded;          /* NTLMSSP was not the client's first mech */
	struct mp_wbuf spnego_mech_types; /* DER mechTypes as sent: the mechListMIC input */
	/* Upstream leg security: we are the client, with the configured identity. */
	struct mp_ntlm *up_ntlm; /* owned */
	struct mp_sec up_sec;    /* valid when up_authed */
	bool up_authed;
	uint8_t up_level;

	/* Server modules' per-session state (server.h), by registry index. */
	void *server_state[8 /* MP_MAX_SERVER_MODULES */];

	/* Stackable modules' per-session slots (module.h), by load index. */
	void *mod_priv[16 /* MP_MAX_MODULES */];
	uint32_t ahead_seq; /* call ids of read-ahead calls */

	/* Call dump (dump.c): ROP state across the session's calls. */
	struct mp_mapi_state *dump_state; /* talloc, lazily made */

	uint64_t n_done, bytes_in, bytes_out;
	struct timespec opened;
};

#define MP_PORT_CACHE 32

struct mp_proxy {
	struct event_base *base;
	struct mp_proxy_conf conf;
	struct evconnlistener *listeners[MP_CONF_MAX_IFACES + 2];
	unsigned n_listeners;
	struct sockaddr_storage up_addr; /* resolved once at start */
	socklen_t up_addrlen;
	char up_addr_text[80];

	struct mp_session *sessions;
	unsigned n_sessions;
	uint64_t next_id;
	uint32_t next_assoc;

	struct event *ev_term, *ev_int, *ev_hup, *drain_timer;
	struct mp_userdb *users; /* owned; NULL when no user db is configured */
	bool draining;

	/* Ports learnt from the upstream endpoint mapper. */
	struct {
		struct mp_syntax iface;
		uint16_t port;
		time_t at;
	} port_cache[MP_PORT_CACHE];
	unsigned n_port_cache;
};

#endif
