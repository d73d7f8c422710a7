/* Functions shared by the relay's files; types are in proxy-t.h. */
#ifndef MP_PROXY_PROXY_H
#define MP_PROXY_PROXY_H

#include "proxy/proxy-t.h"

#include <event2/util.h>

/* ---- daemon.c ---- */

/* Build listeners, resolve the upstream, run until SIGTERM/SIGINT and the
 * drain complete. Returns a process exit code. */
int mp_proxy_run(const struct mp_proxy_conf *conf);
/* A session ended; lets a draining daemon exit when the last one goes. */
void mp_proxy_session_gone(struct mp_proxy *px);
/* Port of a relayed interface cached from the upstream endpoint mapper, or 0. */
uint16_t mp_proxy_cached_port(struct mp_proxy *px, const struct mp_syntax *iface);
void mp_proxy_cache_port(struct mp_proxy *px, const struct mp_syntax *iface, uint16_t port);
/* Forget a cached port (the upstream refused a connection to it). */
void mp_proxy_uncache_port(struct mp_proxy *px, const struct mp_syntax *iface);

/* ---- session.c ---- */

void mp_session_accept(struct mp_proxy *px, evutil_socket_t fd, const struct sockaddr *sa,
		       int salen);
/* Unlink and free at once (reaping, or the daemon exiting). */
void mp_session_free(struct mp_session *s);
/* Stop reading, flush what is queued for the client, then free. */
void mp_session_close(struct mp_session *s, const char *why);
/* Queue a complete PDU (or several) for the client. */
void mp_session_send_cli(struct mp_session *s, const struct mp_wbuf *wb);
/* Queue a fault for `call_id`. */
void mp_session_fault(struct mp_session *s, uint32_t call_id, uint16_t ctx_id, uint32_t status,
		      bool did_not_execute);
struct mp_call_slot *mp_session_find_call(struct mp_session *s, uint32_t call_id);
/* The last response fragment (or a fault) went to the client. */
void mp_session_call_done(struct mp_session *s, struct mp_call_slot *c, const char *outcome);
/* The upstream leg failed: fault the calls in flight, then close. */
void mp_session_upstream_failed(struct mp_session *s, const char *why);
/* Backpressure: pause reading `from` while `to`'s output is above the limit. */
void mp_session_check_backpressure(struct mp_session *s);
const struct mp_sess_ctx *mp_session_ctx(const struct mp_session *s, uint16_t id);
/* A draining daemon closes sessions with no call in flight. */
void mp_session_drain(struct mp_session *s);
/* A free call slot for `call_id` (NULL when all are in use). */
struct mp_call_slot *mp_session_new_call(struct mp_session *s, uint32_t call_id);
/* Send the complete request c->req_stub upstream, fragmented and protected. */
void mp_session_relay_request(struct mp_session *s, struct mp_call_slot *c);
/* Send the complete response c->rsp_stub to the client; the call is done. */
void mp_session_reply(struct mp_session *s, struct mp_call_slot *c);

/* ---- bind.c ---- */

/* A bind or alter_context arrived from the client (already parsed). */
void mp_bind_from_client(struct mp_session *s, const struct mp_pdu *pdu);
/* The upstream answered the forwarded bind/alter (bind_ack, alter_resp, bind_nak). */
void mp_bind_from_upstream(struct mp_session *s, const struct mp_pdu *pdu);
/* The upstream could not be reached for a pending bind. */
void mp_bind_upstream_unreachable(struct mp_session *s, const char *why);

/* ---- upstream.c ---- */

/* Connect (resolving the port first if needed) and send s->pend.fwd. */
void mp_upstream_start(struct mp_session *s);
/* Send s->pend.fwd on the connected upstream (bind or alter_context). */
void mp_upstream_send_bind(struct mp_session *s);
void mp_upstream_free(struct mp_session *s);

/* ---- auth.c ---- */

/* The client's bind carries an auth trailer: start our side of its NTLMSSP
 * exchange (the CHALLENGE goes into s->cli_token). Returns MP_AUTH_BIND_ACCEPT,
 * or a bind_nak reason to refuse the bind with (0 is a reason: not specified). */
#define MP_AUTH_BIND_ACCEPT (-1)
int mp_auth_client_bind(struct mp_session *s, const struct mp_pdu *pdu);
/* Pass-through: the upstream's bind_ack token goes back to the client. */
int mp_auth_passthrough_ack(struct mp_session *s, const struct mp_pdu *ack);
/* auth3 (or the third leg) from the client: verify the AUTHENTICATE. */
void mp_auth_client_auth3(struct mp_session *s, const struct mp_pdu *pdu);
/* Check the client's AUTHENTICATE against the user db (logs a failure). */
int mp_auth_client_verify(struct mp_session *s, const uint8_t *msg, size_t len);
/* The client leg is authenticated: set up its signing/sealing, log who. */
int mp_auth_client_established(struct mp_session *s);

/* ---- auth_spnego.c ---- */

/* SPNEGO bind: answer the NegTokenInit (into s->cli_token). Returns
 * MP_AUTH_BIND_ACCEPT or a bind_nak reason. */
int mp_auth_spnego_init(struct mp_session *s, const uint8_t *tok, size_t len);
/* A later SPNEGO leg (NegTokenResp in alter_context): the answer goes into
 * s->cli_token. MP_OK (authenticated or one more leg expected) or an error:
 * refuse and close. */
int mp_auth_spnego_step(struct mp_session *s, const struct mp_pdu *pdu);
/* May a request run on this association? If not, *fault says how to refuse. */
bool mp_auth_client_may_call(struct mp_session *s, uint32_t *fault);
/* Security of each leg for protect/unprotect; NULL when the leg does not sign. */
struct mp_sec *mp_auth_cli_sec(struct mp_session *s);
struct mp_sec *mp_auth_up_sec(struct mp_session *s);
/* Upstream: do we authenticate? Append our NEGOTIATE to the bind at frag_start. */
bool mp_auth_up_wanted(const struct mp_session *s);
int mp_auth_up_negotiate(struct mp_session *s, struct mp_wbuf *wb, size_t frag_start);
/* Upstream bind_ack with the CHALLENGE: send auth3 with our AUTHENTICATE. */
int mp_auth_up_challenge(struct mp_session *s, const struct mp_pdu *ack);
void mp_auth_free(struct mp_session *s);

/* ---- dump.c ---- */

/* Open (or reopen, on SIGHUP) mpm_dump:json file. 0 or -errno. */
int mp_dump_open(const struct mp_proxy_conf *c);
void mp_dump_close(void);
/* Is this context one of the ExchangeRPC interfaces the dump decodes? */
bool mp_dump_iface(const struct mp_sess_ctx *ctx, int *iface);
/* Print a finished call (stubs reassembled); outcome "ok" or the failure. */
void mp_dump_call(struct mp_session *s, const struct mp_call_slot *c, const char *outcome,
		  double ms);
void mp_dump_session_free(struct mp_session *s);

/* ---- local_epm.c ---- */

/* Answer a complete local call (the endpoint mapper, a server module) and finish it. */
void mp_local_serve(struct mp_session *s, struct mp_call_slot *c);
/* Only compute the answer into c->rsp_stub: MP_OK, or an error with *fault, or
 * MP_AGAIN: a server module answers later (mp_server_deferred_answer). */
int mp_local_answer(struct mp_session *s, struct mp_call_slot *c, uint32_t *fault);
/* The association is gone: server modules free their per-session state. */
void mp_local_session_end(struct mp_session *s);
/* Deferred answers (server.h) go to px's sessions from mp_local_start until
 * mp_local_stop; mp_server_event_base() is px's loop meanwhile. */
void mp_local_start(struct mp_proxy *px);
void mp_local_stop(void);
/* The daemon starts draining: server modules answer their deferred calls. */
void mp_local_drain(struct mp_proxy *px);

#endif
