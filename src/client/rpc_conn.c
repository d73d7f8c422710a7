/*
 * Blocking DCE/RPC client association (see rpc_conn.h). The bind and call
 * sequence is the one bench/loadgen.c uses, with errors reported as
 * sentences and every socket operation bounded by the timeout.
 */
#include "client/rpc_conn.h"

#include "auth/ntlmssp.h"
#include "dcerpc/epm.h"
#include "dcerpc/iface.h"
#include "dcerpc/pdu.h"
#include "dcerpc/sec.h"
#include "mapi/names.h"
#include "util/status.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define CTX_ID 0
#define AUTH_CTX_ID 1
#define FRAG_BUF 65536

struct mp_rpc_conn {
	int fd;
	uint16_t port;
	uint16_t max_xmit;
	uint32_t call_id;
	uint8_t level;
	struct mp_wbuf out;
	uint8_t *in; /* one fragment */
	struct mp_ntlm *ntlm;
	struct mp_sec sec;
	bool authed; /* sec set up */
	bool dead;
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static const char *iface_label(const struct mp_syntax *s)
{
	const char *n = mp_iface_name(s);
	return n ? n : "the requested interface";
}

uint8_t mp_rpc_auth_level_parse(const char *s)
{
	if (!strcmp(s, "none"))
		return MP_AUTH_LEVEL_NONE;
	if (!strcmp(s, "connect"))
		return MP_AUTH_LEVEL_CONNECT;
	if (!strcmp(s, "integrity"))
		return MP_AUTH_LEVEL_PKT_INTEGRITY;
	if (!strcmp(s, "privacy"))
		return MP_AUTH_LEVEL_PKT_PRIVACY;
	return 0;
}

static int tcp_connect(const char *host, uint16_t port, unsigned timeout_ms, int *fdp, char *err,
                       size_t errlen)
{
	char ps[8];
	snprintf(ps, sizeof(ps), "%u", port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
	int rc = getaddrinfo(host, ps, &hints, &ai);
	if (rc != 0) {
		seterr(err, errlen, "cannot resolve %s: %s", host, gai_strerror(rc));
		return MP_ERR_IO;
	}
	int last = 0;
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		int fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			last = errno;
			continue;
		}
		struct timeval tv = {.tv_sec = timeout_ms / 1000,
		                     .tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000};
		/* SO_SNDTIMEO also bounds connect() on Linux. */
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			freeaddrinfo(ai);
			*fdp = fd;
			return MP_OK;
		}
		last = errno;
		close(fd);
	}
	freeaddrinfo(ai);
	seterr(err, errlen, "cannot connect to %s port %u: %s", host, port,
	       last == EINPROGRESS || last == EAGAIN ? "timed out" : strerror(last));
	return MP_ERR_IO;
}

static int send_all(int fd, const uint8_t *p, size_t n, char *err, size_t errlen)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			seterr(err, errlen, "send: %s",
			       w < 0 ? (errno == EAGAIN ? "timed out" : strerror(errno))
			             : "closed");
			return MP_ERR_IO;
		}
		p += w;
		n -= (size_t)w;
	}
	return MP_OK;
}

static int recv_all(int fd, uint8_t *p, size_t n, char *err, size_t errlen)
{
	while (n) {
		ssize_t r = recv(fd, p, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			seterr(err, errlen, "receive: %s",
			       r < 0 ? (errno == EAGAIN ? "timed out waiting for the server"
			                                : strerror(errno))
			             : "connection closed by the server");
			return MP_ERR_IO;
		}
		p += r;
		n -= (size_t)r;
	}
	return MP_OK;
}

/* Read one fragment into c->in; responses are verified/unsealed once the
 * security context is up. */
static int recv_frag(struct mp_rpc_conn *c, struct mp_pdu *pdu, char *err, size_t errlen)
{
	struct mp_pdu_hdr h;
	int rc = recv_all(c->fd, c->in, MP_PDU_HDR_LEN, err, errlen);
	if (rc != MP_OK)
		return rc;
	if (mp_pdu_check_hdr(c->in, FRAG_BUF - 1, &h) != MP_HDR_OK) {
		seterr(err, errlen, "the server sent a malformed DCE/RPC header");
		return MP_ERR_PROTO;
	}
	rc = recv_all(c->fd, c->in + MP_PDU_HDR_LEN, h.frag_len - MP_PDU_HDR_LEN, err, errlen);
	if (rc != MP_OK)
		return rc;
	if (c->authed && h.ptype == MP_PDU_RESPONSE) {
		rc = mp_sec_unprotect(&c->sec, c->in, h.frag_len, pdu, NULL);
		if (rc != MP_OK) {
			seterr(err, errlen, "response %s (%s)",
			       rc == MP_ERR_AUTH ? "signature or seal check failed"
			                         : "has a bad security trailer",
			       mp_ntlm_status_name(rc));
			return rc == MP_ERR_AUTH ? MP_ERR_AUTH : MP_ERR_PROTO;
		}
		return MP_OK;
	}
	if (mp_pdu_parse(c->in, h.frag_len, pdu) != MP_OK) {
		seterr(err, errlen, "the server sent a malformed %s PDU",
		       mp_pdu_type_name(h.ptype));
		return MP_ERR_PROTO;
	}
	return MP_OK;
}

static int do_bind(struct mp_rpc_conn *c, const struct mp_rpc_conn_opts *o, char *err,
                   size_t errlen)
{
	uint16_t mf = o->max_frag ? o->max_frag : 5840;
	struct mp_pdu_bind b;
	memset(&b, 0, sizeof(b));
	b.max_xmit = mf;
	b.max_recv = mf;
	b.n_ctx = 1;
	b.ctx[0].id = CTX_ID;
	b.ctx[0].n_ts = 1;
	b.ctx[0].abstract = o->iface;
	b.ctx[0].ts[0] = mp_syntax_ndr20;
	c->out.len = 0;
	uint32_t bind_id = ++c->call_id;
	bool auth = c->level > MP_AUTH_LEVEL_NONE;
	mp_pdu_encode_bind(&c->out, MP_PDU_BIND, MP_PFC_FIRST_FRAG | MP_PFC_LAST_FRAG, bind_id, &b);
	int rc;
	if (auth) {
		if (!o->user || !o->password) {
			seterr(err, errlen, "authentication needs a user and a password");
			return MP_ERR_CONFIG;
		}
		struct mp_ntlm_client_config cfg = {
		    .user = o->user,
		    .domain = o->domain ? o->domain : "",
		    .password = o->password,
		    .want = c->level == MP_AUTH_LEVEL_PKT_PRIVACY     ? MP_NTLM_WANT_SEAL
		            : c->level == MP_AUTH_LEVEL_PKT_INTEGRITY ? MP_NTLM_WANT_SIGN
		                                                      : 0,
		};
		struct mp_wbuf tok;
		mp_wb_init(&tok);
		rc = mp_ntlm_client_new(&cfg, &c->ntlm);
		if (rc == MP_OK)
			rc = mp_ntlm_client_negotiate(c->ntlm, &tok);
		if (rc == MP_OK)
			rc = mp_sec_append_auth(&c->out, 0, MP_AUTH_TYPE_NTLMSSP, c->level,
			                        AUTH_CTX_ID, tok.data, tok.len);
		mp_wb_free(&tok);
		if (rc != MP_OK) {
			seterr(err, errlen, "NTLMSSP negotiate: %s", mp_ntlm_status_name(rc));
			return rc;
		}
	}
	if (c->out.bad) {
		seterr(err, errlen, "out of memory");
		return MP_ERR_NOMEM;
	}
	if ((rc = send_all(c->fd, c->out.data, c->out.len, err, errlen)) != MP_OK)
		return rc;
	struct mp_pdu pdu;
	if ((rc = recv_frag(c, &pdu, err, errlen)) != MP_OK)
		return rc;
	if (pdu.hdr.ptype == MP_PDU_BIND_NAK) {
		seterr(err, errlen, "bind refused by the server (bind_nak reason %u)%s",
		       pdu.u.bind_nak.reason,
		       auth ? ": authentication refused (wrong auth level or user?)" : "");
		return MP_ERR_AUTH;
	}
	if (pdu.hdr.ptype != MP_PDU_BIND_ACK) {
		seterr(err, errlen, "bind answered with %s", mp_pdu_type_name(pdu.hdr.ptype));
		return MP_ERR_PROTO;
	}
	if (pdu.u.bind_ack.n_results < 1 || pdu.u.bind_ack.res[0].result != MP_CTX_ACCEPT) {
		seterr(err, errlen, "the server does not offer interface %s here",
		       iface_label(&o->iface));
		return MP_ERR_PROTO;
	}
	c->max_xmit = pdu.u.bind_ack.max_recv < mf ? pdu.u.bind_ack.max_recv : mf;
	if (c->max_xmit < MP_PDU_MIN_FRAG) {
		seterr(err, errlen, "the server accepts fragments of %u bytes only",
		       pdu.u.bind_ack.max_recv);
		return MP_ERR_PROTO;
	}
	if (!auth)
		return MP_OK;
	if (!pdu.has_auth || pdu.auth.type != MP_AUTH_TYPE_NTLMSSP) {
		seterr(err, errlen,
		       "the server did not answer with an NTLMSSP challenge "
		       "(does it accept NTLM at this auth level?)");
		return MP_ERR_AUTH;
	}
	struct mp_wbuf tok;
	mp_wb_init(&tok);
	rc = mp_ntlm_client_authenticate(c->ntlm, pdu.auth.value, pdu.hdr.auth_len, &tok);
	if (rc == MP_OK) {
		c->out.len = 0;
		size_t start = mp_pdu_begin(&c->out, MP_PDU_AUTH3,
		                            MP_PFC_FIRST_FRAG | MP_PFC_LAST_FRAG, bind_id);
		mp_pdu_finish(&c->out, start, 0);
		rc = mp_sec_append_auth(&c->out, start, MP_AUTH_TYPE_NTLMSSP, c->level, AUTH_CTX_ID,
		                        tok.data, tok.len);
	}
	if (tok.data)
		memset(tok.data, 0, tok.len);
	mp_wb_free(&tok);
	if (rc == MP_OK)
		rc = mp_sec_init(&c->sec, MP_AUTH_TYPE_NTLMSSP, c->level, AUTH_CTX_ID, false,
		                 c->ntlm);
	if (rc != MP_OK) {
		seterr(err, errlen, "NTLMSSP authenticate: %s", mp_ntlm_status_name(rc));
		return rc;
	}
	if ((rc = send_all(c->fd, c->out.data, c->out.len, err, errlen)) != MP_OK)
		return rc;
	c->authed = true;
	return MP_OK;
}

static struct mp_rpc_conn *conn_new(void)
{
	struct mp_rpc_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->fd = -1;
	mp_wb_init(&c->out);
	c->in = malloc(FRAG_BUF);
	if (!c->in) {
		free(c);
		return NULL;
	}
	return c;
}

int mp_rpc_conn_open(const struct mp_rpc_conn_opts *o, struct mp_rpc_conn **out, char *err,
                     size_t errlen)
{
	*out = NULL;
	unsigned tmo = o->timeout_ms ? o->timeout_ms : 30000;
	uint16_t port = o->port;
	int rc;
	uint8_t level = o->auth_level ? o->auth_level : MP_AUTH_LEVEL_NONE;
	if (level < MP_AUTH_LEVEL_NONE || level > MP_AUTH_LEVEL_PKT_PRIVACY ||
	    level == MP_AUTH_LEVEL_CALL || level == MP_AUTH_LEVEL_PKT) {
		seterr(err, errlen, "unsupported auth level %u", level);
		return MP_ERR_CONFIG;
	}
	if (!port) {
		rc = mp_rpc_ept_map(o->host, o->epm_port ? o->epm_port : 135, &o->iface, tmo, &port,
		                    err, errlen);
		if (rc != MP_OK)
			return rc;
	}
	struct mp_rpc_conn *c = conn_new();
	if (!c) {
		seterr(err, errlen, "out of memory");
		return MP_ERR_NOMEM;
	}
	c->port = port;
	c->level = level;
	rc = tcp_connect(o->host, port, tmo, &c->fd, err, errlen);
	if (rc == MP_OK)
		rc = do_bind(c, o, err, errlen);
	if (rc != MP_OK) {
		mp_rpc_conn_close(c);
		return rc;
	}
	*out = c;
	return MP_OK;
}

int mp_rpc_conn_call(struct mp_rpc_conn *c, uint16_t opnum, const uint8_t *stub, size_t len,
                     struct mp_wbuf *rsp, uint32_t *fault, char *err, size_t errlen)
{
	if (c->dead) {
		seterr(err, errlen, "the connection is closed after an earlier error");
		return MP_ERR_IO;
	}
	struct mp_pdu_request r = {.ctx_id = CTX_ID, .opnum = opnum};
	uint32_t id = ++c->call_id;
	c->out.len = 0;
	int rc = mp_sec_encode_request_frags(c->authed ? &c->sec : NULL, &c->out, id, &r, stub, len,
	                                     c->max_xmit);
	if (rc != MP_OK || c->out.bad) {
		seterr(err, errlen, "cannot encode the request: %s",
		       rc != MP_OK ? mp_ntlm_status_name(rc) : "out of memory");
		c->dead = true;
		return rc != MP_OK ? rc : MP_ERR_NOMEM;
	}
	if ((rc = send_all(c->fd, c->out.data, c->out.len, err, errlen)) != MP_OK)
		goto dead;
	rsp->len = 0;
	rsp->bad = false;
	for (;;) {
		struct mp_pdu pdu;
		if ((rc = recv_frag(c, &pdu, err, errlen)) != MP_OK)
			goto dead;
		if (pdu.hdr.call_id != id) {
			seterr(err, errlen, "the server answered call %u while %u was expected",
			       pdu.hdr.call_id, id);
			rc = MP_ERR_PROTO;
			goto dead;
		}
		if (pdu.hdr.ptype == MP_PDU_FAULT) {
			if (fault)
				*fault = pdu.u.fault.status;
			seterr(err, errlen, "the server answered with fault 0x%08x (%s)",
			       pdu.u.fault.status, mp_fault_name(pdu.u.fault.status));
			return MP_RPC_FAULT;
		}
		if (pdu.hdr.ptype != MP_PDU_RESPONSE) {
			seterr(err, errlen, "the server answered with %s",
			       mp_pdu_type_name(pdu.hdr.ptype));
			rc = MP_ERR_PROTO;
			goto dead;
		}
		if (rsp->len + pdu.stub_len > MP_RPC_CONN_MAX_RSP) {
			seterr(err, errlen, "response larger than %u bytes", MP_RPC_CONN_MAX_RSP);
			rc = MP_ERR_LIMIT;
			goto dead;
		}
		mp_wb_bytes(rsp, pdu.stub, pdu.stub_len);
		if (pdu.hdr.pfc_flags & MP_PFC_LAST_FRAG) {
			if (rsp->bad) {
				seterr(err, errlen, "out of memory");
				return MP_ERR_NOMEM;
			}
			return MP_OK;
		}
	}
dead:
	c->dead = true;
	return rc;
}

uint16_t mp_rpc_conn_max_xmit(const struct mp_rpc_conn *c)
{
	return c->max_xmit;
}

uint16_t mp_rpc_conn_port(const struct mp_rpc_conn *c)
{
	return c->port;
}

void mp_rpc_conn_set_timeout(struct mp_rpc_conn *c, unsigned timeout_ms)
{
	struct timeval tv = {.tv_sec = timeout_ms / 1000,
	                     .tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000};
	if (c->fd >= 0)
		setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

void mp_rpc_conn_close(struct mp_rpc_conn *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	mp_ntlm_free(c->ntlm);
	mp_wb_free(&c->out);
	free(c->in);
	free(c);
}

int mp_rpc_ept_map(const char *host, uint16_t epm_port, const struct mp_syntax *iface,
                   unsigned timeout_ms, uint16_t *port, char *err, size_t errlen)
{
	struct mp_rpc_conn_opts o = {
	    .host = host,
	    .port = epm_port,
	    .iface = mp_syntax_epmapper,
	    .auth_level = MP_AUTH_LEVEL_NONE,
	    .timeout_ms = timeout_ms,
	};
	struct mp_rpc_conn *c = NULL;
	char e2[160];
	int rc = mp_rpc_conn_open(&o, &c, e2, sizeof(e2));
	if (rc != MP_OK) {
		seterr(err, errlen, "endpoint mapper %s[%u]: %s", host, epm_port, e2);
		return rc;
	}
	struct mp_wbuf req, rsp;
	mp_wb_init(&req);
	mp_wb_init(&rsp);
	mp_ept_map_req_encode(&req, iface, 4);
	uint32_t fault = 0;
	rc = req.bad ? MP_ERR_NOMEM
	             : mp_rpc_conn_call(c, MP_EPM_OP_MAP, req.data, req.len, &rsp, &fault, e2,
	                                sizeof(e2));
	if (rc == MP_OK) {
		struct mp_tower t[4];
		uint32_t n = 0, status = 0;
		rc = mp_ept_map_rsp_decode(rsp.data, rsp.len, t, 4, &n, &status);
		if (rc != MP_OK) {
			seterr(err, errlen, "endpoint mapper %s[%u]: malformed ept_map answer",
			       host, epm_port);
			rc = MP_ERR_PROTO;
		} else {
			rc = MP_ERR_NOTFOUND;
			for (uint32_t i = 0; i < n; i++)
				if (t[i].proto == MP_EPM_PROTO_TCP && t[i].port) {
					*port = t[i].port;
					rc = MP_OK;
					break;
				}
			if (rc != MP_OK)
				seterr(err, errlen,
				       "endpoint mapper %s[%u] has no TCP endpoint for %s "
				       "(status 0x%08x); give the port explicitly",
				       host, epm_port, iface_label(iface), status);
		}
	} else {
		seterr(err, errlen, "endpoint mapper %s[%u]: %s", host, epm_port, e2);
		if (rc == MP_RPC_FAULT)
			rc = MP_ERR_PROTO;
	}
	mp_wb_free(&req);
	mp_wb_free(&rsp);
	mp_rpc_conn_close(c);
	return rc;
}

int mp_rpc_conn_mapi_call(struct mp_rpc_conn *c, enum mp_mapi_iface iface, void *mem,
			  uint16_t opnum, const void *req, void **rsp, uint32_t *result,
			  uint32_t *fault, char *err, size_t errlen)
{
	const struct mp_call_codec *codec = mp_call_codec(iface, opnum);
	const char *name = codec ? codec->name : "?";
	struct mp_wbuf in, out;
	mp_wb_init(&in);
	mp_wb_init(&out);
	err[0] = 0;
	*result = 0;
	*fault = 0;
	*rsp = NULL;
	int rc;
	if (!mp_call_codec_push(codec, MP_CALL_REQUEST, req, NULL, &in)) {
		snprintf(err, errlen, "%s: cannot encode the request", name);
		rc = MP_ERR_PARSE;
		goto out;
	}
	char e[200];
	rc = mp_rpc_conn_call(c, opnum, in.data, in.len, &out, fault, e, sizeof(e));
	if (rc != MP_OK) {
		snprintf(err, errlen, "%s: %s", name, e);
		goto out;
	}
	const char *why = NULL;
	struct mp_mapi_call *call =
	    mp_mapi_decode(mem, iface, opnum, MP_CALL_RESPONSE, out.data, out.len, &why);
	if (!call) {
		snprintf(err, errlen, "%s: the server's answer is malformed (%s)", name,
			 why ? why : "?");
		rc = MP_ERR_PARSE;
		goto out;
	}
	*rsp = call->body;
	/* Every response of these interfaces ends with its result. */
	*result = mp_get_u32(out.data + out.len - 4);
	if (*result != 0) {
		const char *label = mp_error_name(*result);
		snprintf(err, errlen, "%s returned 0x%08x (%s)", name, *result,
			 label ? label : "unknown error");
		rc = MP_CLIENT_ERESULT;
	}
out:
	mp_wb_free(&in);
	mp_wb_free(&out);
	return rc;
}
