/*
 * The upstream leg of a session: find the interface's port through the
 * upstream endpoint mapper (unless the binding names one), connect, forward
 * the bind, then relay response fragments back to the client.
 */
#include "proxy/module.h"
#include "proxy/proxy.h"
#include "transport/frame.h"
#include "transport/relay.h"
#include "util/log.h"
#include "util/status.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>

#define EPM_CALL_BIND 1
#define EPM_CALL_MAP 2

static void up_connect(struct mp_session *s, uint16_t port);
static void on_secured_response(struct mp_session *s, struct mp_call_slot *c, struct evbuffer *in,
				const struct mp_pdu_hdr *h, const struct mp_pdu *pdu);

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

void mp_upstream_free(struct mp_session *s)
{
	if (s->up)
		bufferevent_free(s->up);
	if (s->epm)
		bufferevent_free(s->epm);
	s->up = s->epm = NULL;
	mp_wb_free(&s->epm_rsp);
	s->up_state = MP_UP_NONE;
	s->up_bound = false;
	mp_ntlm_free(s->up_ntlm);
	s->up_ntlm = NULL;
	s->up_authed = false;
}

static struct bufferevent *open_leg(struct mp_session *s, uint16_t port, bufferevent_data_cb rd,
				    bufferevent_event_cb ev)
{
	struct mp_proxy *px = s->px;
	struct bufferevent *bev = bufferevent_socket_new(px->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!bev)
		return NULL;
	struct sockaddr_storage ss = px->up_addr;
	set_port(&ss, port);
	struct timeval io = {.tv_sec = px->conf.io_timeout};
	bufferevent_setcb(bev, rd, NULL, ev, s);
	bufferevent_set_timeouts(bev, &io, &io);
	bufferevent_setwatermark(bev, EV_READ, 0, 2 * MP_FRAME_MAX);
	if (bufferevent_socket_connect(bev, (struct sockaddr *)&ss, (int)px->up_addrlen) < 0) {
		bufferevent_free(bev);
		return NULL;
	}
	return bev;
}

/* ---- resolving the port through the upstream endpoint mapper ---- */

static void epm_fail(struct mp_session *s, const char *why)
{
	char msg[400];
	snprintf(msg, sizeof(msg), "endpoint mapper %s port %u: %s", s->px->up_addr_text,
		 s->px->conf.upstream_epm_port, why);
	mp_session_upstream_failed(s, msg);
}

static void epm_send_map(struct mp_session *s)
{
	struct mp_wbuf stub, out;
	mp_wb_init(&stub);
	mp_wb_init(&out);
	mp_ept_map_req_encode(&stub, &s->up_iface, 4);
	struct mp_pdu_request r = {.ctx_id = 0, .opnum = MP_EPM_OP_MAP};
	mp_pdu_encode_request_frags(&out, EPM_CALL_MAP, &r, stub.data, stub.len, MP_PDU_MIN_FRAG);
	if (!out.bad)
		bufferevent_write(s->epm, out.data, out.len);
	mp_wb_free(&stub);
	mp_wb_free(&out);
}

static void epm_got_map(struct mp_session *s)
{
	struct mp_tower towers[4];
	uint32_t n = 0, status = 0;
	if (mp_ept_map_rsp_decode(s->epm_rsp.data, s->epm_rsp.len, towers, 4, &n, &status) !=
	    MP_OK) {
		epm_fail(s, "malformed ept_map response");
		return;
	}
	uint16_t port = 0;
	for (uint32_t i = 0; i < n && !port; i++)
		if (towers[i].proto == MP_EPM_PROTO_TCP)
			port = towers[i].port;
	if (!port) {
		char u[MP_UUID_STR_LEN], msg[160];
		mp_uuid_format(&s->up_iface.uuid, u);
		snprintf(msg, sizeof(msg), "interface %s v%u.%u is not registered (status 0x%08x)",
			 u, s->up_iface.major, s->up_iface.minor, status);
		epm_fail(s, msg);
		return;
	}
	bufferevent_free(s->epm);
	s->epm = NULL;
	mp_wb_free(&s->epm_rsp);
	mp_proxy_cache_port(s->px, &s->up_iface, port);
	up_connect(s, port);
}

static void epm_read_cb(struct bufferevent *bev, void *arg)
{
	struct mp_session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	for (;;) {
		struct mp_pdu_hdr h;
		enum mp_hdr_verdict v;
		enum mp_frame_state st = mp_frame_peek(in, MP_FRAME_MAX, &h, &v);
		if (st == MP_FRAME_NEED_MORE)
			return;
		if (st == MP_FRAME_BAD) {
			epm_fail(s, "malformed PDU header");
			return;
		}
		struct mp_pdu pdu;
		const uint8_t *frag = evbuffer_pullup(in, h.frag_len);
		int rc = frag ? mp_pdu_parse(frag, h.frag_len, &pdu) : MP_ERR_NOMEM;
		if (rc != MP_OK) {
			epm_fail(s, "malformed PDU");
			return;
		}
		if (h.ptype == MP_PDU_BIND_ACK && h.call_id == EPM_CALL_BIND) {
			if (pdu.u.bind_ack.n_results < 1 ||
			    pdu.u.bind_ack.res[0].result != MP_CTX_ACCEPT) {
				epm_fail(s, "bind to the endpoint mapper refused");
				return;
			}
			evbuffer_drain(in, h.frag_len);
			epm_send_map(s);
		} else if (h.ptype == MP_PDU_RESPONSE && h.call_id == EPM_CALL_MAP) {
			if (s->epm_rsp.len + pdu.stub_len > 1u << 20) {
				epm_fail(s, "ept_map response too large");
				return;
			}
			mp_wb_bytes(&s->epm_rsp, pdu.stub, pdu.stub_len);
			evbuffer_drain(in, h.frag_len);
			if (h.pfc_flags & MP_PFC_LAST_FRAG) {
				epm_got_map(s);
				return;
			}
		} else {
			char msg[80];
			snprintf(msg, sizeof(msg), "unexpected %s (status 0x%08x)",
				 mp_pdu_type_name(h.ptype),
				 h.ptype == MP_PDU_FAULT ? pdu.u.fault.status : 0);
			epm_fail(s, msg);
			return;
		}
	}
}

static void epm_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct mp_session *s = arg;
	if (what & BEV_EVENT_CONNECTED) {
		struct mp_pdu_bind b = {.max_xmit = 5840, .max_recv = 5840, .n_ctx = 1};
		b.ctx[0].id = 0;
		b.ctx[0].n_ts = 1;
		b.ctx[0].abstract = mp_syntax_epmapper;
		b.ctx[0].ts[0] = mp_syntax_ndr20;
		struct mp_wbuf wb;
		mp_wb_init(&wb);
		mp_pdu_encode_bind(&wb, MP_PDU_BIND, MP_PFC_FIRST_FRAG | MP_PFC_LAST_FRAG,
				   EPM_CALL_BIND, &b);
		bufferevent_write(bev, wb.data, wb.len);
		bufferevent_enable(bev, EV_READ | EV_WRITE);
		mp_wb_free(&wb);
		return;
	}
	epm_fail(s, (what & BEV_EVENT_TIMEOUT) ? "timed out"
		    : (what & BEV_EVENT_EOF)     ? "closed the connection"
						 : evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

/* ---- the relayed association ---- */

static void up_fail(struct mp_session *s, const char *why)
{
	mp_session_upstream_failed(s, why);
}

static void on_upstream_frag(struct mp_session *s, struct evbuffer *in, const struct mp_pdu_hdr *h)
{
	uint8_t *frag = evbuffer_pullup(in, h->frag_len);
	struct mp_pdu pdu;
	struct mp_sec *up_sec = mp_auth_up_sec(s);
	int rc;
	if (!frag) {
		up_fail(s, "out of memory");
		return;
	}
	/* Responses of a signing upstream are verified (and unsealed) in place. */
	if (h->ptype == MP_PDU_RESPONSE && up_sec)
		rc = mp_sec_unprotect(up_sec, frag, h->frag_len, &pdu, NULL);
	else
		rc = mp_pdu_parse(frag, h->frag_len, &pdu);
	if (rc != MP_OK) {
		up_fail(s, rc == MP_ERR_AUTH ? "upstream signature or seal check failed"
					     : "malformed PDU from upstream");
		return;
	}
	switch (h->ptype) {
	case MP_PDU_BIND_ACK:
	case MP_PDU_ALTER_RESP:
	case MP_PDU_BIND_NAK:
		if (s->state != MP_SS_BINDING || h->call_id != s->pend.call_id) {
			up_fail(s, "unexpected bind answer from upstream");
			return;
		}
		{
			struct timeval io = {.tv_sec = s->px->conf.io_timeout};
			bufferevent_set_timeouts(s->up, NULL, &io);
		}
		/* pdu points into the buffer: drain after it has been used. */
		mp_bind_from_upstream(s, &pdu);
		if (s->up && bufferevent_get_input(s->up) == in)
			evbuffer_drain(in, h->frag_len);
		return;
	case MP_PDU_RESPONSE:
	case MP_PDU_FAULT: {
		struct mp_call_slot *c = mp_session_find_call(s, h->call_id);
		if (!c || c->local || !c->request_done) {
			up_fail(s, "response for a call not in flight");
			return;
		}
		if (h->ptype == MP_PDU_FAULT && (c->ahead_parent || c->mcall)) {
			/* A module's read-ahead failed, or a module call faulted: the
			 * modules see no response. */
			uint32_t status = pdu.u.fault.status;
			evbuffer_drain(in, h->frag_len);
			mp_modules_on_fault(s, c, status);
			return;
		}
		if (!c->rsp_started)
			c->reasm_rsp = up_sec || mp_auth_cli_sec(s) || c->dump || c->mcall ||
				       c->ahead_parent;
		c->rsp_started = true;
		c->rsp_bytes += pdu.stub_len;
		if (h->ptype == MP_PDU_RESPONSE && c->reasm_rsp) {
			on_secured_response(s, c, in, h, &pdu);
			return;
		}
		s->bytes_out += h->frag_len;
		mp_relay_move(in, s->cli, h->frag_len);
		if (h->ptype == MP_PDU_FAULT) {
			char outcome[64];
			snprintf(outcome, sizeof(outcome), "fault %s (0x%08x)",
				 mp_fault_name(pdu.u.fault.status), pdu.u.fault.status);
			mp_session_call_done(s, c, outcome);
		} else if (h->pfc_flags & MP_PFC_LAST_FRAG) {
			mp_session_call_done(s, c, "ok");
		}
		return;
	}
	case MP_PDU_SHUTDOWN:
		evbuffer_drain(in, h->frag_len);
		mp_info("session %llu: upstream sent shutdown", (unsigned long long)s->id);
		return;
	default:
		break;
	}
	char why[80];
	snprintf(why, sizeof(why), "unexpected %s PDU from upstream", mp_pdu_type_name(h->ptype));
	up_fail(s, why);
}

/* A response that crosses a security boundary: reassemble the clear stub,
 * then protect it for the client at the client's fragment size. */
static void on_secured_response(struct mp_session *s, struct mp_call_slot *c, struct evbuffer *in,
				const struct mp_pdu_hdr *h, const struct mp_pdu *pdu)
{
	if (s->reasm_bytes + pdu->stub_len > s->px->conf.max_call_size) {
		evbuffer_drain(in, h->frag_len);
		mp_session_upstream_failed(s, "response exceeds mapiproxy:max call size");
		return;
	}
	mp_wb_bytes(&c->rsp_stub, pdu->stub, pdu->stub_len);
	s->reasm_bytes += pdu->stub_len;
	evbuffer_drain(in, h->frag_len);
	if (!(h->pfc_flags & MP_PFC_LAST_FRAG))
		return;
	if (c->mcall || c->ahead_parent)
		mp_modules_on_response(s, c);
	else
		mp_session_reply(s, c);
}

static void up_read_cb(struct bufferevent *bev, void *arg)
{
	struct mp_session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	while (s->up == bev && s->state != MP_SS_CLOSING && !s->read_paused_up) {
		struct mp_pdu_hdr h;
		enum mp_hdr_verdict v;
		size_t limit = s->up_max_recv ? s->up_max_recv : MP_FRAME_MAX;
		enum mp_frame_state st = mp_frame_peek(in, limit, &h, &v);
		if (st == MP_FRAME_NEED_MORE)
			break;
		if (st == MP_FRAME_BAD) {
			up_fail(s, v == MP_HDR_TOO_LONG ? "upstream fragment above negotiated size"
							: "malformed PDU header from upstream");
			break;
		}
		on_upstream_frag(s, in, &h);
		if (s->up == bev)
			mp_session_check_backpressure(s);
	}
}

static void up_write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	mp_session_check_backpressure(arg);
}

static void up_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct mp_session *s = arg;
	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;
		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		s->up_state = MP_UP_CONNECTED;
		bufferevent_enable(bev, EV_READ | EV_WRITE);
		mp_upstream_send_bind(s);
		return;
	}
	if (s->up_state == MP_UP_CONNECTING && !s->px->conf.upstream.port)
		mp_proxy_uncache_port(s->px, &s->up_iface);
	if (what & BEV_EVENT_TIMEOUT) {
		up_fail(s, s->up_state == MP_UP_CONNECTING ? "connect timed out"
			   : (what & BEV_EVENT_WRITING)    ? "upstream stopped reading"
							   : "no answer to bind");
		return;
	}
	if (what & BEV_EVENT_EOF) {
		up_fail(s, "upstream closed the connection");
		return;
	}
	char why[160];
	snprintf(why, sizeof(why), "%s port %u: %s", s->px->up_addr_text, s->up_port,
		 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	up_fail(s, why);
}

static void up_connect(struct mp_session *s, uint16_t port)
{
	s->up_port = port;
	s->up = open_leg(s, port, up_read_cb, up_event_cb);
	if (!s->up) {
		up_fail(s, "cannot create upstream socket");
		return;
	}
	bufferevent_setcb(s->up, up_read_cb, up_write_cb, up_event_cb, s);
	bufferevent_setwatermark(s->up, EV_WRITE, s->px->conf.max_buffered / 2, 0);
	s->up_state = MP_UP_CONNECTING;
	mp_debug("session %llu: connecting upstream %s port %u", (unsigned long long)s->id,
		 s->px->up_addr_text, port);
}

void mp_upstream_start(struct mp_session *s)
{
	struct mp_proxy *px = s->px;
	uint16_t port = px->conf.upstream.port;
	if (!port)
		port = mp_proxy_cached_port(px, &s->up_iface);
	if (port) {
		up_connect(s, port);
		return;
	}
	s->up_state = MP_UP_RESOLVING;
	s->epm = open_leg(s, px->conf.upstream_epm_port, epm_read_cb, epm_event_cb);
	if (!s->epm)
		epm_fail(s, "cannot create socket");
}

void mp_upstream_send_bind(struct mp_session *s)
{
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	/* A client's alter_context may be the upstream's first bind (when the
	 * client's bind held only local contexts). */
	/* Header signing is offered upstream when the client offered it: the
	 * client's verification trailer (MS-RPCE 2.2.2.13) tells the server
	 * whether the client supports it, and Samba refuses a call whose trailer
	 * claims more than the bind did. */
	mp_pdu_encode_bind(&wb, s->up_bound ? MP_PDU_ALTER : MP_PDU_BIND,
			   (uint8_t)(MP_PFC_FIRST_FRAG | MP_PFC_LAST_FRAG |
				     (s->cli_flags & (MP_PFC_CONC_MPX | MP_PFC_SUPPORT_HEADER_SIGN))),
			   s->pend.call_id, &s->pend.fwd);
	if (!s->up_bound && s->passthrough)
		mp_sec_append_auth(&wb, 0, s->cli_sec.auth_type, s->cli_sec.auth_level,
				   s->cli_sec.auth_ctx_id, s->cli_token.data, s->cli_token.len);
	else if (!s->up_bound && mp_auth_up_wanted(s) && mp_auth_up_negotiate(s, &wb, 0) != MP_OK) {
		mp_wb_free(&wb);
		mp_session_upstream_failed(s, "cannot start NTLMSSP with the configured identity");
		return;
	}
	if (!wb.bad)
		bufferevent_write(s->up, wb.data, wb.len);
	mp_wb_free(&wb);
	struct timeval io = {.tv_sec = s->px->conf.io_timeout};
	bufferevent_set_timeouts(s->up, &io, &io);
}
