/*
 * A session: one client association and its upstream twin.
 *
 * Client fragments are read here. Requests on relayed contexts go upstream
 * fragment by fragment without copying when both legs accept the same
 * fragment size (the fast path); otherwise the call is reassembled and cut
 * again for the other leg. Sessions are freed from a deferred event, never
 * inside their own callbacks.
 */
#include "proxy/module.h"
#include "proxy/proxy.h"
#include "transport/frame.h"
#include "transport/relay.h"
#include "util/log.h"
#include "util/status.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

static void cli_read_cb(struct bufferevent *bev, void *arg);
static void cli_write_cb(struct bufferevent *bev, void *arg);
static void cli_event_cb(struct bufferevent *bev, short what, void *arg);

static double elapsed_ms(const struct timespec *since)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) * 1e3 +
	       (double)(now.tv_nsec - since->tv_nsec) / 1e6;
}

void mp_session_free(struct mp_session *s)
{
	struct mp_proxy *px = s->px;
	mp_upstream_free(s);
	mp_local_session_end(s);
	mp_modules_session_end(s);
	mp_auth_free(s);
	mp_dump_session_free(s);
	if (s->cli)
		bufferevent_free(s->cli);
	for (unsigned i = 0; i < px->conf.max_calls; i++) {
		mp_modules_call_free(&s->calls[i]);
		mp_wb_free(&s->calls[i].req_stub);
		mp_wb_free(&s->calls[i].rsp_stub);
	}
	free(s->calls);
	event_free(s->reap_ev);
	if (s->prev)
		s->prev->next = s->next;
	else
		px->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	px->n_sessions--;
	free(s);
}

static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct mp_session *s = arg;
	struct mp_proxy *px = s->px;

	mp_info("session %llu closed: %llu calls, %llu bytes in, %llu bytes out, %.1f s",
		(unsigned long long)s->id, (unsigned long long)s->n_done,
		(unsigned long long)s->bytes_in, (unsigned long long)s->bytes_out,
		elapsed_ms(&s->opened) / 1e3);
	mp_session_free(s);
	mp_proxy_session_gone(px);
}

static void schedule_reap(struct mp_session *s)
{
	if (s->reap_scheduled)
		return;
	s->reap_scheduled = true;
	event_active(s->reap_ev, EV_TIMEOUT, 0);
}

void mp_session_accept(struct mp_proxy *px, evutil_socket_t fd, const struct sockaddr *sa,
		       int salen)
{
	(void)salen;
	if (px->draining || px->n_sessions >= px->conf.max_sessions) {
		mp_warn("refusing connection: %s (mapiproxy:max sessions = %u)",
			px->draining ? "shutting down" : "session limit reached",
			px->conf.max_sessions);
		evutil_closesocket(fd);
		return;
	}
	struct mp_session *s = calloc(1, sizeof(*s));
	if (!s) {
		evutil_closesocket(fd);
		return;
	}
	s->calls = calloc(px->conf.max_calls, sizeof(*s->calls));
	s->cli = bufferevent_socket_new(px->base, fd, BEV_OPT_CLOSE_ON_FREE);
	s->reap_ev = event_new(px->base, -1, 0, reap_cb, s);
	if (!s->calls || !s->cli || !s->reap_ev) {
		if (s->cli)
			bufferevent_free(s->cli);
		else
			evutil_closesocket(fd);
		if (s->reap_ev)
			event_free(s->reap_ev);
		free(s->calls);
		free(s);
		return;
	}
	s->px = px;
	s->id = ++px->next_id;
	clock_gettime(CLOCK_MONOTONIC, &s->opened);
	s->next = px->sessions;
	if (px->sessions)
		px->sessions->prev = s;
	px->sessions = s;
	px->n_sessions++;

	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	char host[64] = "?";
	uint16_t port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	snprintf(s->peer, sizeof(s->peer), "%s:%u", host, port);

	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);
	if (getsockname(fd, (struct sockaddr *)&local, &llen) == 0) {
		if (local.ss_family == AF_INET) {
			const struct sockaddr_in *in = (const struct sockaddr_in *)&local;
			memcpy(s->local_ipv4, &in->sin_addr, 4);
			s->local_port = ntohs(in->sin_port);
		} else if (local.ss_family == AF_INET6) {
			s->local_port = ntohs(((const struct sockaddr_in6 *)&local)->sin6_port);
		}
	}

	/* Until bind: fragments up to our own limit. */
	s->cli_max_recv = px->conf.max_frag;
	s->cli_max_xmit = px->conf.max_frag;

	bufferevent_setcb(s->cli, cli_read_cb, cli_write_cb, cli_event_cb, s);
	/* Bound the input buffer to one maximal fragment plus slack. */
	bufferevent_setwatermark(s->cli, EV_READ, 0, 2 * MP_FRAME_MAX);
	bufferevent_setwatermark(s->cli, EV_WRITE, px->conf.max_buffered / 2, 0);
	struct timeval idle = {.tv_sec = px->conf.idle_timeout};
	struct timeval io = {.tv_sec = px->conf.io_timeout};
	bufferevent_set_timeouts(s->cli, &idle, &io);
	bufferevent_enable(s->cli, EV_READ | EV_WRITE);
	mp_info("session %llu open from %s on port %u", (unsigned long long)s->id, s->peer,
		s->local_port);
}

void mp_session_close(struct mp_session *s, const char *why)
{
	if (s->state == MP_SS_CLOSING)
		return;
	s->state = MP_SS_CLOSING;
	if (why)
		mp_info("session %llu closing: %s", (unsigned long long)s->id, why);
	mp_upstream_free(s);
	bufferevent_disable(s->cli, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(s->cli)) == 0) {
		schedule_reap(s);
		return;
	}
	/* Flush what is queued (a fault, a bind_nak), then reap from cli_write_cb. */
	bufferevent_setwatermark(s->cli, EV_WRITE, 0, 0);
	bufferevent_enable(s->cli, EV_WRITE);
}

void mp_session_send_cli(struct mp_session *s, const struct mp_wbuf *wb)
{
	if (wb->bad || !wb->len)
		return;
	mp_relay_write(s->cli, wb->data, wb->len);
	s->bytes_out += wb->len;
}

void mp_session_fault(struct mp_session *s, uint32_t call_id, uint16_t ctx_id, uint32_t status,
		      bool did_not_execute)
{
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_pdu_encode_fault(&wb, did_not_execute ? MP_PFC_DID_NOT_EXECUTE : 0, call_id, ctx_id,
			    status);
	mp_session_send_cli(s, &wb);
	mp_wb_free(&wb);
	mp_debug("session %llu call %u: fault %s (0x%08x)", (unsigned long long)s->id, call_id,
		 mp_fault_name(status), status);
}

/* A protocol violation by the client: answer with nca_s_proto_error, cut off. */
static void client_proto_error(struct mp_session *s, uint32_t call_id, const char *why)
{
	mp_warn("session %llu: protocol error from client %s: %s", (unsigned long long)s->id,
		s->peer, why);
	mp_session_fault(s, call_id, 0, MP_NCA_S_PROTO_ERROR, true);
	mp_session_close(s, "client protocol error");
}

const struct mp_sess_ctx *mp_session_ctx(const struct mp_session *s, uint16_t id)
{
	for (unsigned i = 0; i < s->n_ctx; i++)
		if (s->ctx[i].id == id)
			return &s->ctx[i];
	return NULL;
}

struct mp_call_slot *mp_session_find_call(struct mp_session *s, uint32_t call_id)
{
	for (unsigned i = 0; i < s->px->conf.max_calls; i++)
		if (s->calls[i].in_use && s->calls[i].call_id == call_id)
			return &s->calls[i];
	return NULL;
}

struct mp_call_slot *mp_session_new_call(struct mp_session *s, uint32_t call_id)
{
	for (unsigned i = 0; i < s->px->conf.max_calls; i++) {
		struct mp_call_slot *c = &s->calls[i];
		if (!c->in_use) {
			struct mp_wbuf keep_req = c->req_stub, keep_rsp = c->rsp_stub;
			memset(c, 0, sizeof(*c));
			/* Reuse reassembly buffers: their capacity survives calls. */
			c->req_stub = keep_req;
			c->rsp_stub = keep_rsp;
			c->req_stub.len = c->rsp_stub.len = 0;
			c->in_use = true;
			c->call_id = call_id;
			clock_gettime(CLOCK_MONOTONIC, &c->start);
			s->n_calls++;
			return c;
		}
	}
	return NULL;
}

void mp_session_call_done(struct mp_session *s, struct mp_call_slot *c, const char *outcome)
{
	const struct mp_sess_ctx *ctx = mp_session_ctx(s, c->req.ctx_id);
	double ms = elapsed_ms(&c->start);
	mp_debug("session %llu call %u %s opnum %u: request %zu B, response %zu B, %s, %.3f ms",
		 (unsigned long long)s->id, c->call_id, ctx && ctx->name ? ctx->name : "iface",
		 c->req.opnum, c->req_bytes, c->rsp_bytes, outcome, ms);
	if (c->dump && !c->ahead_parent)
		mp_dump_call(s, c, outcome, ms);
	mp_modules_call_free(c);
	s->reasm_bytes -= c->req_stub.len + c->rsp_stub.len;
	/* Keep small buffers for reuse, give large ones back. */
	if (c->req_stub.cap > 65536)
		mp_wb_free(&c->req_stub);
	if (c->rsp_stub.cap > 65536)
		mp_wb_free(&c->rsp_stub);
	c->req_stub.len = c->rsp_stub.len = 0;
	c->in_use = false;
	s->n_calls--;
	s->n_done++;
	if (s->px->draining)
		mp_session_drain(s);
}

void mp_session_upstream_failed(struct mp_session *s, const char *why)
{
	if (s->state == MP_SS_CLOSING)
		return;
	mp_warn("session %llu: upstream failed: %s", (unsigned long long)s->id, why);
	if (s->state == MP_SS_BINDING) {
		mp_bind_upstream_unreachable(s, why);
		return;
	}
	for (unsigned i = 0; i < s->px->conf.max_calls; i++) {
		struct mp_call_slot *c = &s->calls[i];
		if (c->in_use && !c->local && c->request_done && c->ahead_parent) {
			mp_session_call_done(s, c, "upstream failed");
		} else if (c->in_use && !c->local && c->request_done) {
			/* The request reached the upstream: it may have run, so never
			 * claim did-not-execute (the client must not blindly retry). */
			mp_session_fault(s, c->call_id, c->req.ctx_id, MP_NCA_S_COMM_FAILURE,
					 false);
			mp_session_call_done(s, c, "upstream failed");
		}
	}
	/* The upstream association (its context handles) is gone: so is ours. */
	mp_session_close(s, "upstream connection lost");
}

void mp_session_drain(struct mp_session *s)
{
	if (s->state != MP_SS_CLOSING && s->n_calls == 0 && s->state != MP_SS_BINDING)
		mp_session_close(s, "shutting down");
}

/* Resume reading a leg; fragments already buffered get a (deferred) read callback,
 * since no new bytes may ever arrive to trigger one. */
static void resume_leg(struct bufferevent *bev)
{
	bufferevent_enable(bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_input(bev)))
		bufferevent_trigger(bev, EV_READ,
				    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

void mp_session_check_backpressure(struct mp_session *s)
{
	size_t limit = s->px->conf.max_buffered;
	if (s->state == MP_SS_CLOSING)
		return;
	size_t cli_out = evbuffer_get_length(bufferevent_get_output(s->cli));
	size_t up_out = s->up ? evbuffer_get_length(bufferevent_get_output(s->up)) : 0;
	if (s->up) {
		if (cli_out > limit && !s->read_paused_up) {
			s->read_paused_up = true;
			bufferevent_disable(s->up, EV_READ);
		} else if (cli_out <= limit / 2 && s->read_paused_up) {
			s->read_paused_up = false;
			resume_leg(s->up);
		}
	}
	/* Answers we make ourselves (endpoint mapper, faults) are not held back by
	 * pausing the upstream: past twice the limit (relayed data alone stays below,
	 * since the upstream pauses at the limit), stop reading the client too. */
	bool cli_full = cli_out > 2 * limit;
	if ((up_out > limit || cli_full) && !s->read_paused_cli) {
		s->read_paused_cli = true;
		bufferevent_disable(s->cli, EV_READ);
	} else if (up_out <= limit / 2 && !cli_full && s->read_paused_cli) {
		s->read_paused_cli = false;
		resume_leg(s->cli);
	}
}

/* ---- requests ---- */

void mp_session_relay_request(struct mp_session *s, struct mp_call_slot *c)
{
	struct mp_wbuf out;
	mp_wb_init(&out);
	int rc = mp_sec_encode_request_frags(mp_auth_up_sec(s), &out, c->call_id, &c->req,
					     c->req_stub.data, c->req_stub.len, s->up_max_xmit);
	if (rc == MP_OK && !out.bad && s->up)
		mp_relay_write(s->up, out.data, out.len);
	else
		mp_session_upstream_failed(s, "cannot protect the request for upstream");
	mp_wb_free(&out);
}

void mp_session_reply(struct mp_session *s, struct mp_call_slot *c)
{
	struct mp_wbuf out;
	mp_wb_init(&out);
	int rc = c->rsp_stub.bad ? MP_ERR_NOMEM
				  : mp_sec_encode_response_frags(mp_auth_cli_sec(s), &out, c->call_id,
								 c->req.ctx_id, c->rsp_stub.data,
								 c->rsp_stub.len, s->cli_max_xmit);
	if (rc == MP_OK && !out.bad) {
		mp_session_send_cli(s, &out);
		mp_session_call_done(s, c, "ok");
	} else {
		mp_session_fault(s, c->call_id, c->req.ctx_id, MP_NCA_S_OUT_ARGS_TOO_BIG, false);
		mp_session_call_done(s, c, "cannot protect response");
	}
	mp_wb_free(&out);
}

static void forward_request(struct mp_session *s, struct mp_call_slot *c, struct evbuffer *in,
			    const struct mp_pdu_hdr *h)
{
	if (!c->reasm_req) {
		/* Fast path: the fragment fits upstream as it is; move it without copying. */
		mp_relay_move(in, s->up, h->frag_len);
		return;
	}
	evbuffer_drain(in, h->frag_len);
	if (h->pfc_flags & MP_PFC_LAST_FRAG)
		mp_session_relay_request(s, c);
}

/* Handle one request fragment at the front of `in`. Consumes it. */
static void on_request(struct mp_session *s, struct evbuffer *in, const struct mp_pdu_hdr *h,
		       const struct mp_pdu *pdu)
{
	uint32_t call_id = h->call_id;
	struct mp_call_slot *c = mp_session_find_call(s, call_id);

	if (h->pfc_flags & MP_PFC_FIRST_FRAG) {
		if (c) {
			evbuffer_drain(in, h->frag_len);
			client_proto_error(s, call_id, "first fragment of a call already in flight");
			return;
		}
		const struct mp_sess_ctx *ctx = mp_session_ctx(s, pdu->u.request.ctx_id);
		if (!ctx) {
			evbuffer_drain(in, h->frag_len);
			if (!(h->pfc_flags & MP_PFC_LAST_FRAG)) {
				client_proto_error(s, call_id, "fragmented call on an unknown context");
				return;
			}
			mp_warn("session %llu call %u: unknown presentation context %u",
				(unsigned long long)s->id, call_id, pdu->u.request.ctx_id);
			/* Samba answers with context id 0: the unknown one means nothing. */
			mp_session_fault(s, call_id, 0, MP_NCA_S_UNKNOWN_IF, true);
			return;
		}
		c = mp_session_new_call(s, call_id);
		if (!c) {
			evbuffer_drain(in, h->frag_len);
			if (!(h->pfc_flags & MP_PFC_LAST_FRAG)) {
				client_proto_error(s, call_id, "too many calls in flight");
				return;
			}
			mp_warn("session %llu call %u: more than %u calls in flight",
				(unsigned long long)s->id, call_id, s->px->conf.max_calls);
			mp_session_fault(s, call_id, pdu->u.request.ctx_id,
					 MP_NCA_S_SERVER_TOO_BUSY, true);
			return;
		}
		c->req = pdu->u.request;
		c->local = ctx->kind == MP_CTX_LOCAL_EPM || ctx->kind == MP_CTX_LOCAL;
		int iface;
		/* In pass-through the stubs stay sealed: nothing to decode. */
		c->dump = s->px->conf.dump && ctx->kind != MP_CTX_LOCAL_EPM && !s->passthrough &&
			  mp_dump_iface(ctx, &iface);
		/* Stackable modules: decided when the context was bound; none see
		 * pass-through calls (they stay sealed). */
		c->mods = s->passthrough ? 0 : ctx->mods;
		/* Crossing a security boundary (unseal here, seal there) needs the whole
		 * call; so does decoding it. */
		c->reasm_req = c->local || c->dump || c->mods || s->cli_max_recv > s->up_max_xmit ||
			       mp_auth_cli_sec(s) || mp_auth_up_sec(s);
	} else if (!c || c->request_done) {
		evbuffer_drain(in, h->frag_len);
		client_proto_error(s, call_id, "request fragment without a first fragment");
		return;
	} else if (pdu->u.request.ctx_id != c->req.ctx_id) {
		evbuffer_drain(in, h->frag_len);
		client_proto_error(s, call_id, "context id changed inside a call");
		return;
	}

	c->req_bytes += pdu->stub_len;
	if (c->reasm_req) {
		if (s->reasm_bytes + pdu->stub_len > s->px->conf.max_call_size) {
			evbuffer_drain(in, h->frag_len);
			mp_warn("session %llu call %u: request exceeds mapiproxy:max call size (%zu)",
				(unsigned long long)s->id, call_id, s->px->conf.max_call_size);
			c->in_use = false;
			s->n_calls--;
			s->reasm_bytes -= c->req_stub.len;
			c->req_stub.len = 0;
			mp_session_fault(s, call_id, c->req.ctx_id, MP_NCA_S_PROTO_ERROR, true);
			mp_session_close(s, "call too large");
			return;
		}
		mp_wb_bytes(&c->req_stub, pdu->stub, pdu->stub_len);
		s->reasm_bytes += pdu->stub_len;
		if (c->req_stub.bad) {
			evbuffer_drain(in, h->frag_len);
			mp_session_fault(s, call_id, c->req.ctx_id, MP_NCA_S_SERVER_TOO_BUSY, true);
			mp_session_close(s, "out of memory");
			return;
		}
	}
	if (h->pfc_flags & MP_PFC_LAST_FRAG)
		c->request_done = true;

	if (c->mods) {
		evbuffer_drain(in, h->frag_len);
		if (c->request_done)
			mp_modules_on_request(s, c);
		return;
	}
	if (c->local) {
		evbuffer_drain(in, h->frag_len);
		if (c->request_done)
			mp_local_serve(s, c);
		return;
	}
	forward_request(s, c, in, h);
}

/* ---- the client's byte stream ---- */

static void on_bad_header(struct mp_session *s, const struct mp_pdu_hdr *h,
			  enum mp_hdr_verdict v)
{
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	switch (v) {
	case MP_HDR_BAD_VERSION:
		/* C706 12.6.4.7: bind_nak with the versions we support. */
		mp_pdu_encode_bind_nak(&wb, h->call_id, MP_NAK_PROTOCOL_VERSION_NOT_SUPPORTED);
		mp_session_send_cli(s, &wb);
		mp_session_close(s, "unsupported RPC protocol version");
		break;
	case MP_HDR_BAD_DREP:
		if (h->ptype == MP_PDU_BIND) {
			mp_pdu_encode_bind_nak(&wb, h->call_id, MP_NAK_NOT_SPECIFIED);
			mp_session_send_cli(s, &wb);
			mp_session_close(s, "unsupported data representation (only little-endian, "
					    "ASCII, IEEE)");
		} else {
			mp_session_fault(s, h->call_id, 0, MP_NCA_S_UNSUPPORTED_TYPE, true);
			mp_session_close(s, "unsupported data representation");
		}
		break;
	case MP_HDR_TOO_LONG:
		client_proto_error(s, h->call_id, "fragment longer than the negotiated maximum");
		break;
	case MP_HDR_SHORT_FRAG:
	case MP_HDR_BAD_AUTH_LEN:
	default:
		/* The stream cannot be re-synchronised: just cut the connection. */
		mp_session_close(s, v == MP_HDR_SHORT_FRAG ? "frag_length shorter than a header"
							   : "auth_length larger than the fragment");
		break;
	}
	mp_wb_free(&wb);
}

/* The local endpoint mapper answers anonymous clients, as Windows' does:
 * clients look ports up before they authenticate to the interface itself. */
static bool anonymous_epm_call(struct mp_session *s, const uint8_t *frag,
			       const struct mp_pdu_hdr *h)
{
	if (s->cli_auth_on || h->frag_len < 24)
		return false;
	bool le = (frag[4] & 0x10) != 0; /* drep integer representation */
	uint16_t ctx_id = le ? mp_get_u16(frag + 20) : (uint16_t)((frag[20] << 8) | frag[21]);
	const struct mp_sess_ctx *ctx = mp_session_ctx(s, ctx_id);
	return ctx && ctx->kind == MP_CTX_LOCAL_EPM;
}

static void on_client_frag(struct mp_session *s, struct evbuffer *in, const struct mp_pdu_hdr *h)
{
	uint8_t *frag = evbuffer_pullup(in, h->frag_len);
	struct mp_pdu pdu;
	int rc;
	uint32_t fault = 0;

	s->bytes_in += h->frag_len;
	if (!frag) {
		mp_session_close(s, "out of memory");
		return;
	}
	if (h->ptype == MP_PDU_REQUEST && s->state != MP_SS_NEW) {
		if (!mp_auth_client_may_call(s, &fault) && !anonymous_epm_call(s, frag, h)) {
			evbuffer_drain(in, h->frag_len);
			mp_warn("session %llu call %u: refused: %s", (unsigned long long)s->id,
				h->call_id,
				s->cli_auth_failed ? "authentication failed"
				: s->cli_auth_on   ? "authentication incomplete or below mapiproxy:min auth level"
						   : "anonymous, and mapiproxy:auth required = yes");
			mp_session_fault(s, h->call_id, 0, fault, true);
			if (s->cli_auth_on)
				mp_session_close(s, "authentication failed");
			return;
		}
		/* Verify and unseal in place: the stub is clear from here on. In
		 * pass-through the trailer belongs to the upstream: leave it alone. */
		rc = s->passthrough ? mp_pdu_parse(frag, h->frag_len, &pdu)
				    : mp_sec_unprotect(mp_auth_cli_sec(s), frag, h->frag_len, &pdu,
						       &fault);
		if (rc != MP_OK && mp_auth_cli_sec(s)) {
			evbuffer_drain(in, h->frag_len);
			mp_warn("session %llu call %u: client PDU failed verification (%s)",
				(unsigned long long)s->id, h->call_id, mp_fault_name(fault));
			mp_session_fault(s, h->call_id, 0, fault, false);
			mp_session_close(s, "integrity check failed");
			return;
		}
	} else {
		rc = mp_pdu_parse(frag, h->frag_len, &pdu);
	}

	switch (h->ptype) {
	case MP_PDU_BIND:
	case MP_PDU_ALTER: {
		/* Drain first (a synchronous answer resumes reading), so the auth
		 * token must live in a copy. */
		struct mp_wbuf token;
		mp_wb_init(&token);
		if (rc == MP_OK && pdu.has_auth) {
			mp_wb_bytes(&token, pdu.auth.value, pdu.hdr.auth_len);
			pdu.auth.value = token.data;
		}
		evbuffer_drain(in, h->frag_len);
		if (rc == MP_OK && !token.bad) {
			mp_bind_from_client(s, &pdu);
		} else {
			struct mp_wbuf wb;
			mp_wb_init(&wb);
			mp_pdu_encode_bind_nak(&wb, h->call_id,
					       rc == MP_ERR_LIMIT ? MP_NAK_LOCAL_LIMIT_EXCEEDED
								  : MP_NAK_NOT_SPECIFIED);
			mp_session_send_cli(s, &wb);
			mp_wb_free(&wb);
			mp_session_close(s, rc == MP_ERR_LIMIT ? "bind with more contexts than supported"
							       : "malformed bind");
		}
		mp_wb_free(&token);
		return;
	}
	case MP_PDU_REQUEST:
		if (s->state == MP_SS_NEW) {
			evbuffer_drain(in, h->frag_len);
			client_proto_error(s, h->call_id, "request before bind");
			return;
		}
		if (rc != MP_OK) {
			evbuffer_drain(in, h->frag_len);
			client_proto_error(s, h->call_id, "malformed request");
			return;
		}
		on_request(s, in, h, &pdu);
		return;
	case MP_PDU_CO_CANCEL:
	case MP_PDU_ORPHANED: {
		struct mp_call_slot *c = mp_session_find_call(s, h->call_id);
		if (c && !c->local && s->up && s->up_state == MP_UP_CONNECTED) {
			evbuffer_remove_buffer(in, bufferevent_get_output(s->up), h->frag_len);
			return;
		}
		evbuffer_drain(in, h->frag_len);
		return;
	}
	case MP_PDU_AUTH3:
		if (s->passthrough && s->up && s->up_state == MP_UP_CONNECTED) {
			mp_relay_move(in, s->up, h->frag_len);
			return;
		}
		if (rc == MP_OK && s->cli_auth_on)
			mp_auth_client_auth3(s, &pdu); /* no answer: failures show at the next call */
		evbuffer_drain(in, h->frag_len);
		if (!s->cli_auth_on)
			client_proto_error(s, h->call_id, "auth3 without authentication");
		return;
	case MP_PDU_SHUTDOWN:
		/* Only servers send shutdown; a client's is meaningless. Ignore it. */
		evbuffer_drain(in, h->frag_len);
		return;
	default:
		break;
	}
	evbuffer_drain(in, h->frag_len);
	char why[80];
	snprintf(why, sizeof(why), "unexpected %s PDU (type %u)", mp_pdu_type_name(h->ptype),
		 h->ptype);
	client_proto_error(s, h->call_id, why);
}

static void cli_read_cb(struct bufferevent *bev, void *arg)
{
	struct mp_session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	while (s->state != MP_SS_CLOSING && !s->read_paused_cli) {
		struct mp_pdu_hdr h;
		enum mp_hdr_verdict v = MP_HDR_OK;
		/* Until the bind is done we accept our own maximum. */
		enum mp_frame_state st = mp_frame_peek(in, s->cli_max_recv, &h, &v);
		if (st == MP_FRAME_NEED_MORE)
			break;
		if (st == MP_FRAME_BAD) {
			on_bad_header(s, &h, v);
			break;
		}
		/* While a bind waits for the upstream, keep later PDUs queued. */
		if (s->state == MP_SS_BINDING) {
			bufferevent_disable(bev, EV_READ);
			break;
		}
		on_client_frag(s, in, &h);
		mp_session_check_backpressure(s);
	}
}

static void cli_write_cb(struct bufferevent *bev, void *arg)
{
	struct mp_session *s = arg;
	if (s->state == MP_SS_CLOSING) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			schedule_reap(s);
		return;
	}
	mp_session_check_backpressure(s);
}

static void cli_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	struct mp_session *s = arg;
	if (what & BEV_EVENT_TIMEOUT) {
		if ((what & BEV_EVENT_READING) && (s->n_calls || s->state == MP_SS_BINDING)) {
			/* Idle only counts when nothing is in flight. */
			bufferevent_enable(s->cli, EV_READ);
			return;
		}
		if (s->state == MP_SS_CLOSING) {
			schedule_reap(s);
			return;
		}
		mp_session_close(s, (what & BEV_EVENT_READING) ? "idle timeout"
							       : "client stopped reading");
		schedule_reap(s);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		if (s->state != MP_SS_CLOSING) {
			mp_session_close(s, (what & BEV_EVENT_EOF) ? NULL : "client connection error");
			if (evbuffer_get_length(bufferevent_get_input(s->cli)))
				mp_info("session %llu: client closed mid-PDU", (unsigned long long)s->id);
		}
		schedule_reap(s);
	}
}

/* Called by bind.c after a bind/alter completes: resume queued client PDUs. */
void mp_session_resume_reading(struct mp_session *s);
void mp_session_resume_reading(struct mp_session *s)
{
	if (s->state == MP_SS_CLOSING)
		return;
	bufferevent_enable(s->cli, EV_READ);
	if (evbuffer_get_length(bufferevent_get_input(s->cli)))
		cli_read_cb(s->cli, s);
}
