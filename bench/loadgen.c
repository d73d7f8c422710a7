/*
 * mp-loadgen: a DCE/RPC (ncacn_ip_tcp) load client for benchmarking the relay.
 *
 * One thread per connection, plain blocking sockets. Each connection binds
 * once (NDR20; without --user no authentication, with --user NTLMSSP at
 * --level, see below), runs a warm-up, waits until every connection is warm,
 * then makes its measured calls back to back (one call in flight per
 * connection) and records each call's latency with CLOCK_MONOTONIC. The
 * result is one line of key=value pairs on stdout:
 *
 *   calls=N seconds=S calls_per_s=R p50_us=A p99_us=B mb_per_s=M errors=E faults=F cpu_us=C
 *   cpu2_us=D self_cpu_us=U
 *
 * calls      calls answered successfully in the measured phase
 * seconds    wall time of the measured phase (all connections start together)
 * mb_per_s   bytes written plus bytes read on the sockets in the measured phase
 *            (whole PDUs, both directions), in 10^6 B/s
 * errors     calls that failed (I/O error, unexpected PDU, unexpected fault or
 *            NTSTATUS), plus the calls of -n that could not be attempted
 *            because their connection died or -t expired (with -d: one per
 *            such connection); calls not made because -d expired are not errors
 * faults     fault PDUs received (expected ones in --call raw)
 * cpu_us     CPU time (utime+stime, /proc/PID/stat) used by --cpu-pid during the
 *            measured phase; -1 without --cpu-pid
 * cpu2_us    the same for a second --cpu-pid (e.g. the relay's upstream); -1 without
 * self_cpu_us CPU time of mp-loadgen itself (all threads) in the measured phase
 *
 * Calls (--call):
 *   samr-connect       SamrConnect (opnum 0, 8-byte stub: ServerName NULL,
 *                      DesiredAccess MAXIMUM_ALLOWED), then SamrCloseHandle
 *                      (opnum 1) on the returned handle; each counts as a call.
 *                      Samba opens its SAM database for every SamrConnect
 *                      (about 3 ms), so this measures Samba more than a relay.
 *   samr-enumdomains   SamrEnumerateDomainsInSamServer (opnum 6, 28-byte stub)
 *                      on a connect handle opened per connection before the
 *                      warm-up and closed after the measured phase (neither
 *                      counted); a cheap real call with a 100-byte response stub.
 *   samr-lookupdomain  SamrLookupDomainInSamServer (opnum 5) on that handle with
 *                      a DomainName of about --stub-size bytes of UTF-16 (at
 *                      most 32767 characters: its length fields are 16-bit);
 *                      Samba unmarshals and converts the whole name, searches
 *                      for it and answers STATUS_NO_SUCH_DOMAIN (expected). The
 *                      request is fragmented at the negotiated max_xmit_frag.
 *   raw                --opnum with --stub-size zero bytes; any response or
 *                      fault counts as answered.
 *
 * Authentication (--user, --password or env MP_LOADGEN_PASSWORD, --domain,
 * --level integrity|privacy): each connection binds with an NTLMSSP (auth
 * type 10) NEGOTIATE in the bind's sec_trailer, answers the CHALLENGE of the
 * bind_ack with an AUTHENTICATE in auth3 (NTLMv2, MIC), then signs
 * (PKT_INTEGRITY) or seals (PKT_PRIVACY) every request fragment and verifies
 * or unseals every response fragment (src/dcerpc/sec.h; the NTLMSSP state is
 * per connection, so the sign/seal cost is spread over the load threads).
 * Stubs are fragmented so that each fragment with its pad, trailer and
 * signature fits the negotiated max_xmit_frag. A signature or seal check
 * that fails counts as an error and ends the connection, as does a refused
 * bind (a wrong password shows at the first call: Samba faults it with
 * nca_s_proto_error, mapiproxy with access denied).
 *
 * Exit status: 0 if errors=0, 1 otherwise, 2 for usage errors.
 */
#include "auth/ntlmssp.h"
#include "dcerpc/iface.h"
#include "dcerpc/pdu.h"
#include "dcerpc/sec.h"
#include "util/cursor.h"
#include "util/status.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 1024
#define CTX_ID 0
#define AUTH_CTX_ID 1 /* auth_context_id of our sec_trailers */

enum call_kind { CALL_CONNECT, CALL_ENUMDOMAINS, CALL_LOOKUPDOMAIN, CALL_RAW };

struct opts {
	const char *host;
	const char *port;
	unsigned conns;
	unsigned long calls;  /* measured calls per connection */
	unsigned long warmup; /* per connection */
	double timeout;       /* whole run */
	double duration;      /* measured phase cap, 0 = none */
	struct mp_syntax iface;
	enum call_kind kind;
	size_t stub_size;
	unsigned opnum;
	unsigned max_frag;
	long cpu_pid, cpu_pid2;
	uint32_t access;
	bool verbose;
	/* NTLMSSP: user NULL = no authentication */
	const char *user;
	const char *password;
	const char *domain;
	uint8_t level; /* MP_AUTH_LEVEL_PKT_INTEGRITY or _PKT_PRIVACY */
};

static struct opts o = {
    .host = "127.0.0.1",
    .port = NULL,
    .conns = 1,
    .calls = 1000,
    .warmup = 100,
    .timeout = 60,
    .duration = 0,
    .kind = CALL_CONNECT,
    .stub_size = 0,
    .opnum = 0,
    .max_frag = 5840,
    .cpu_pid = -1,
    .cpu_pid2 = -1,
    .access = 0x02000000, /* MAXIMUM_ALLOWED */
    .domain = "",
    .level = MP_AUTH_LEVEL_PKT_PRIVACY,
};

/* Shared run state. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static unsigned n_ready; /* connections done with warm-up (or dead) */
static bool go;          /* measured phase may start */
static atomic_bool stop; /* -t expired: give up */
static struct timespec t_go;
static bool stop_sockets_done;

struct conn {
	pthread_t th;
	atomic_int fd;
	uint16_t max_xmit; /* negotiated: largest fragment we send */
	uint32_t call_id;
	struct mp_wbuf out; /* encoded request */
	uint8_t *in;        /* one fragment */
	struct mp_wbuf rsp; /* reassembled response stub */
	uint8_t *big_stub;  /* precomputed request stub, handle patched in */
	size_t big_len;
	uint8_t handle[20];
	bool have_handle;
	struct mp_ntlm *ntlm; /* NTLMSSP client context (--user) */
	struct mp_sec sec;
	bool authed; /* sec is set up: protect requests, unprotect responses */
	char err[200];
	/* measured phase */
	uint32_t *lat_ns; /* grows by doubling */
	unsigned long n_lat, cap_lat;
	unsigned long ok, errors, faults;
	uint64_t bytes;
	struct timespec t_end;
};

static double ts_diff(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void die_usage(const char *msg)
{
	fprintf(stderr, "mp-loadgen: %s (see --help)\n", msg);
	exit(2);
}

static void set_err(struct conn *c, const char *fmt, const char *detail)
{
	if (!c->err[0])
		snprintf(c->err, sizeof(c->err), fmt, detail);
}

/* ---- socket I/O ---- */

static int send_all(struct conn *c, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			set_err(c, "send: %s",
			        stop    ? "stopped (-t expired)"
			        : w < 0 ? strerror(errno)
			                : "closed");
			return -1;
		}
		p += w;
		n -= (size_t)w;
		c->bytes += (uint64_t)w;
	}
	return 0;
}

static int recv_all(struct conn *c, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = recv(c->fd, p, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			set_err(c, "recv: %s",
			        stop    ? "stopped (-t expired)"
			        : r < 0 ? strerror(errno)
			                : "connection closed by peer");
			return -1;
		}
		p += r;
		n -= (size_t)r;
		c->bytes += (uint64_t)r;
	}
	return 0;
}

/* Read one fragment into c->in and parse it. Once authenticated, response
 * fragments are verified (PKT_INTEGRITY) or unsealed in place (PKT_PRIVACY):
 * pdu->stub is then the clear stub. */
static int recv_frag(struct conn *c, struct mp_pdu *pdu)
{
	struct mp_pdu_hdr h;
	if (recv_all(c, c->in, MP_PDU_HDR_LEN) < 0)
		return -1;
	if (mp_pdu_check_hdr(c->in, 65535, &h) != MP_HDR_OK) {
		set_err(c, "%s", "bad PDU header from server");
		return -1;
	}
	if (recv_all(c, c->in + MP_PDU_HDR_LEN, h.frag_len - MP_PDU_HDR_LEN) < 0)
		return -1;
	if (c->authed && h.ptype == MP_PDU_RESPONSE) {
		int rc = mp_sec_unprotect(&c->sec, c->in, h.frag_len, pdu, NULL);
		if (rc != MP_OK) {
			char m[120];
			snprintf(m, sizeof(m), "%s (%s)",
			         rc == MP_ERR_AUTH ? "signature or seal check failed"
			                           : "bad security trailer",
			         mp_ntlm_status_name(rc));
			set_err(c, "response: %s", m);
			return -1;
		}
		return 0;
	}
	if (mp_pdu_parse(c->in, h.frag_len, pdu) != MP_OK) {
		set_err(c, "%s", "malformed PDU from server");
		return -1;
	}
	return 0;
}

/* ---- the association ---- */

static int do_connect(struct conn *c)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
	int rc = getaddrinfo(o.host, o.port, &hints, &ai);
	if (rc != 0) {
		set_err(c, "getaddrinfo: %s", gai_strerror(rc));
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		set_err(c, "socket: %s", strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Safety net under the -t watchdog (which shuts the sockets down). */
	struct timeval tv = {.tv_sec = (time_t)o.timeout + 1};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	c->fd = fd;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		set_err(c, "connect: %s", strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	return 0;
}

static int do_bind(struct conn *c)
{
	struct mp_pdu_bind b;
	memset(&b, 0, sizeof(b));
	b.max_xmit = (uint16_t)o.max_frag;
	b.max_recv = (uint16_t)o.max_frag;
	b.n_ctx = 1;
	b.ctx[0].id = CTX_ID;
	b.ctx[0].n_ts = 1;
	b.ctx[0].abstract = o.iface;
	b.ctx[0].ts[0] = mp_syntax_ndr20;
	c->out.len = 0;
	uint32_t bind_id = ++c->call_id;
	mp_pdu_encode_bind(&c->out, MP_PDU_BIND, MP_PFC_FIRST_FRAG | MP_PFC_LAST_FRAG, bind_id, &b);
	if (o.user) {
		/* NTLMSSP NEGOTIATE in the bind's sec_trailer. */
		struct mp_ntlm_client_config cfg = {
		    .user = o.user,
		    .domain = o.domain,
		    .password = o.password,
		    .want = o.level == MP_AUTH_LEVEL_PKT_PRIVACY ? MP_NTLM_WANT_SEAL
		                                                 : MP_NTLM_WANT_SIGN,
		};
		struct mp_wbuf tok;
		mp_wb_init(&tok);
		int rc = mp_ntlm_client_new(&cfg, &c->ntlm);
		if (rc == MP_OK)
			rc = mp_ntlm_client_negotiate(c->ntlm, &tok);
		if (rc == MP_OK)
			rc = mp_sec_append_auth(&c->out, 0, MP_AUTH_TYPE_NTLMSSP, o.level,
			                        AUTH_CTX_ID, tok.data, tok.len);
		mp_wb_free(&tok);
		if (rc != MP_OK) {
			set_err(c, "NTLMSSP negotiate: %s", mp_ntlm_status_name(rc));
			return -1;
		}
	}
	if (c->out.bad || send_all(c, c->out.data, c->out.len) < 0)
		return -1;
	struct mp_pdu pdu;
	if (recv_frag(c, &pdu) < 0)
		return -1;
	if (pdu.hdr.ptype != MP_PDU_BIND_ACK) {
		char m[80];
		snprintf(m, sizeof(m), "%s%s", mp_pdu_type_name(pdu.hdr.ptype),
		         pdu.hdr.ptype == MP_PDU_BIND_NAK ? " (authentication or context refused)"
		                                          : "");
		set_err(c, "bind answered with %s", m);
		return -1;
	}
	if (pdu.u.bind_ack.n_results < 1 || pdu.u.bind_ack.res[0].result != MP_CTX_ACCEPT) {
		set_err(c, "%s", "bind: presentation context rejected");
		return -1;
	}
	c->max_xmit =
	    pdu.u.bind_ack.max_recv < o.max_frag ? pdu.u.bind_ack.max_recv : (uint16_t)o.max_frag;
	if (!o.user)
		return 0;

	/* The CHALLENGE in the bind_ack; the AUTHENTICATE goes out in auth3,
	 * which has no answer (a refusal shows at the first call). */
	if (!pdu.has_auth || pdu.auth.type != MP_AUTH_TYPE_NTLMSSP) {
		set_err(c, "%s", "bind_ack without an NTLMSSP CHALLENGE");
		return -1;
	}
	struct mp_wbuf tok;
	mp_wb_init(&tok);
	int rc = mp_ntlm_client_authenticate(c->ntlm, pdu.auth.value, pdu.hdr.auth_len, &tok);
	if (rc == MP_OK) {
		c->out.len = 0;
		size_t start = mp_pdu_begin(&c->out, MP_PDU_AUTH3,
		                            MP_PFC_FIRST_FRAG | MP_PFC_LAST_FRAG, bind_id);
		mp_pdu_finish(&c->out, start, 0);
		rc = mp_sec_append_auth(&c->out, start, MP_AUTH_TYPE_NTLMSSP, o.level, AUTH_CTX_ID,
		                        tok.data, tok.len);
	}
	if (tok.data)
		memset(tok.data, 0, tok.len);
	mp_wb_free(&tok);
	if (rc == MP_OK)
		rc = mp_sec_init(&c->sec, MP_AUTH_TYPE_NTLMSSP, o.level, AUTH_CTX_ID, false,
		                 c->ntlm);
	if (rc != MP_OK) {
		set_err(c, "NTLMSSP authenticate: %s", mp_ntlm_status_name(rc));
		return -1;
	}
	if (c->out.bad || send_all(c, c->out.data, c->out.len) < 0)
		return -1;
	c->authed = true;
	return 0;
}

/* One request/response exchange. Returns 0 (answered as expected), 1 (answered
 * but wrong: fault or bad status, the connection stays usable), -1 (dead). */
static int call(struct conn *c, uint16_t opnum, const uint8_t *stub, size_t len, bool fault_ok)
{
	struct mp_pdu_request r = {.ctx_id = CTX_ID, .opnum = opnum};
	uint32_t id = ++c->call_id;
	c->out.len = 0;
	int prc = mp_sec_encode_request_frags(c->authed ? &c->sec : NULL, &c->out, id, &r, stub,
	                                      len, c->max_xmit);
	if (prc != MP_OK || c->out.bad) {
		set_err(c, "cannot encode the request: %s",
		        prc != MP_OK ? mp_ntlm_status_name(prc) : "out of memory");
		return -1;
	}
	if (send_all(c, c->out.data, c->out.len) < 0)
		return -1;
	c->rsp.len = 0;
	for (;;) {
		struct mp_pdu pdu;
		if (recv_frag(c, &pdu) < 0)
			return -1;
		if (pdu.hdr.call_id != id) {
			set_err(c, "%s", "response for another call id");
			return -1;
		}
		if (pdu.hdr.ptype == MP_PDU_FAULT) {
			c->faults++;
			if (fault_ok)
				return 0;
			char m[80];
			snprintf(m, sizeof(m), "fault 0x%08x (%s)", pdu.u.fault.status,
			         mp_fault_name(pdu.u.fault.status));
			set_err(c, "opnum %s", m);
			return 1;
		}
		if (pdu.hdr.ptype != MP_PDU_RESPONSE) {
			set_err(c, "unexpected %s", mp_pdu_type_name(pdu.hdr.ptype));
			return -1;
		}
		if (c->rsp.len + pdu.stub_len > (16u << 20)) {
			set_err(c, "%s", "response larger than 16 MiB");
			return -1;
		}
		mp_wb_bytes(&c->rsp, pdu.stub, pdu.stub_len);
		if (pdu.hdr.pfc_flags & MP_PFC_LAST_FRAG)
			return c->rsp.bad ? -1 : 0;
	}
}

/* NTSTATUS: the last four bytes of every samr response stub. */
static uint32_t rsp_status(const struct conn *c)
{
	return c->rsp.len >= 4 ? mp_get_u32(c->rsp.data + c->rsp.len - 4) : 0xffffffffu;
}

static int check_status(struct conn *c, const char *what, uint32_t want)
{
	uint32_t st = rsp_status(c);
	if (st == want)
		return 0;
	char m[120];
	snprintf(m, sizeof(m), "%s returned NTSTATUS 0x%08x (expected 0x%08x)", what, st, want);
	set_err(c, "%s", m);
	return 1;
}

/* SamrConnect: [in,unique] uint16 *system_name (NULL), [in] access_mask;
 * [out,ref] policy_handle *connect_handle, NTSTATUS. 0 ok, 1 failed, -1 dead. */
static int samr_connect(struct conn *c)
{
	uint8_t stub[8];
	mp_put_u32(stub, 0);
	mp_put_u32(stub + 4, o.access);
	int rc = call(c, 0, stub, sizeof(stub), false);
	if (rc != 0)
		return rc;
	if (c->rsp.len < 24) {
		set_err(c, "%s", "short SamrConnect response");
		return 1;
	}
	if (check_status(c, "SamrConnect", 0))
		return 1;
	memcpy(c->handle, c->rsp.data, 20);
	c->have_handle = true;
	return 0;
}

/* SamrCloseHandle: [in,out,ref] policy_handle *handle. */
static int samr_close(struct conn *c)
{
	uint8_t stub[20];
	memcpy(stub, c->handle, 20);
	c->have_handle = false; /* whatever the answer, do not close it twice */
	int rc = call(c, 1, stub, sizeof(stub), false);
	return rc != 0 ? rc : check_status(c, "SamrCloseHandle", 0);
}

/* The next measured call of this connection. 0 ok, 1 failed, -1 dead. */
static int next_call(struct conn *c)
{
	int rc;
	switch (o.kind) {
	case CALL_RAW:
		return call(c, (uint16_t)o.opnum, c->big_stub, c->big_len, true);
	case CALL_CONNECT:
		return c->have_handle ? samr_close(c) : samr_connect(c);
	case CALL_ENUMDOMAINS:
		/* SamrEnumerateDomainsInSamServer: handle, [in,out,ref] resume_handle,
		 * [in] buf_size */
		memcpy(c->big_stub, c->handle, 20);
		rc = call(c, 6, c->big_stub, c->big_len, false);
		return rc != 0 ? rc : check_status(c, "SamrEnumerateDomainsInSamServer", 0);
	case CALL_LOOKUPDOMAIN:
		memcpy(c->big_stub, c->handle, 20);
		rc = call(c, 5, c->big_stub, c->big_len, false);
		return rc != 0 ? rc
		               : check_status(c, "SamrLookupDomainInSamServer",
		                              0xc00000df /* STATUS_NO_SUCH_DOMAIN */);
	}
	return -1;
}

/* Request stubs, the policy handle (first 20 bytes) patched in per call. */
static int build_stub(struct conn *c)
{
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	switch (o.kind) {
	case CALL_CONNECT:
		return 0;
	case CALL_RAW:
		mp_wb_zeros(&wb, o.stub_size ? o.stub_size : 0);
		if (!o.stub_size)
			mp_wb_zeros(&wb, 1); /* a non-NULL buffer */
		wb.len = o.stub_size;
		break;
	case CALL_ENUMDOMAINS:
		mp_wb_zeros(&wb, 20);
		mp_wb_u32(&wb, 0);           /* resume_handle */
		mp_wb_u32(&wb, 0xffffffffu); /* buf_size */
		break;
	case CALL_LOOKUPDOMAIN: {
		/* handle(20), lsa_String{length, size, referent}(8),
		 * conformant varying array{max, offset, actual}(12), UTF-16 name.
		 * length/size are 16-bit byte counts: at most 32767 characters. */
		size_t chars = o.stub_size > 42 ? (o.stub_size - 40) / 2 : 1;
		if (chars > 32767)
			chars = 32767;
		mp_wb_zeros(&wb, 20);
		mp_wb_u16(&wb, (uint16_t)(chars * 2));
		mp_wb_u16(&wb, (uint16_t)(chars * 2));
		mp_wb_u32(&wb, 0x00020000);
		mp_wb_u32(&wb, (uint32_t)chars);
		mp_wb_u32(&wb, 0);
		mp_wb_u32(&wb, (uint32_t)chars);
		/* A name no domain has: "nosuchdomain-nosuchdomain-..." */
		static const char pat[] = "nosuchdomain-";
		for (size_t i = 0; i < chars; i++)
			mp_wb_u16(&wb, (uint16_t)pat[i % (sizeof(pat) - 1)]);
		mp_wb_align(&wb, 4);
		break;
	}
	}
	if (wb.bad)
		return -1;
	c->big_stub = wb.data;
	c->big_len = wb.len;
	return 0;
}

static bool past(const struct timespec *deadline)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return ts_diff(deadline, &now) >= 0;
}

/* The handle-based calls use one SamrConnect handle per connection, opened
 * before the warm-up and closed after the measured phase (neither counted). */
static bool uses_setup_handle(void)
{
	return o.kind == CALL_ENUMDOMAINS || o.kind == CALL_LOOKUPDOMAIN;
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	bool alive = do_connect(c) == 0 && do_bind(c) == 0;
	if (alive && uses_setup_handle() && samr_connect(c) != 0)
		alive = false;

	for (unsigned long i = 0; alive && i < o.warmup && !stop; i++)
		if (next_call(c) != 0)
			alive = false;
	/* samr-connect: do not start the measured phase with a handle open. */
	if (alive && o.kind == CALL_CONNECT && c->have_handle && samr_close(c) != 0)
		alive = false;

	pthread_mutex_lock(&mu);
	n_ready++;
	pthread_cond_broadcast(&cv);
	while (!go && !stop)
		pthread_cond_wait(&cv, &mu);
	struct timespec start = t_go;
	pthread_mutex_unlock(&mu);

	struct timespec cap = start;
	if (o.duration > 0) {
		cap.tv_sec += (time_t)o.duration;
		cap.tv_nsec += (long)((o.duration - (double)(time_t)o.duration) * 1e9);
		if (cap.tv_nsec >= 1000000000L) {
			cap.tv_sec++;
			cap.tv_nsec -= 1000000000L;
		}
	}
	c->bytes = 0;
	c->faults = 0;
	unsigned long done = 0;
	bool capped = false;
	for (; alive && done < o.calls && !stop; done++) {
		/* The duration cap ends samr-connect between SamrConnect/Close
		 * pairs only, so Samba keeps no open handle. */
		if (o.duration > 0 && !(o.kind == CALL_CONNECT && c->have_handle) && past(&cap)) {
			capped = true;
			break;
		}
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		int rc = next_call(c);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (rc < 0) {
			alive = false;
			break;
		}
		if (rc > 0) {
			c->errors++;
			continue;
		}
		double ns = ts_diff(&t0, &t1) * 1e9;
		if (c->n_lat == c->cap_lat) {
			unsigned long ncap = c->cap_lat ? 2 * c->cap_lat : 4096;
			uint32_t *p = realloc(c->lat_ns, ncap * sizeof(*p));
			if (!p) {
				set_err(c, "%s", "out of memory");
				alive = false;
				break;
			}
			c->lat_ns = p;
			c->cap_lat = ncap;
		}
		c->lat_ns[c->n_lat++] = ns > 4e9 ? 4000000000u : (uint32_t)ns;
		c->ok++;
	}
	clock_gettime(CLOCK_MONOTONIC, &c->t_end);
	uint64_t keep_bytes = c->bytes;
	unsigned long keep_faults = c->faults;
	/* Not measured: close what is open (an odd -n, the setup handle). */
	if (alive && c->have_handle && !stop)
		(void)samr_close(c);
	c->bytes = keep_bytes;
	c->faults = keep_faults;
	/* Calls this connection should have made but could not: with -d only the
	 * call that failed (the count intended is unknown), else all the rest. */
	if (!capped && done < o.calls)
		c->errors += o.duration > 0 ? 1 : o.calls - done;
	int fd = atomic_exchange(&c->fd, -1);
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static long long read_cpu_us(long pid)
{
	if (pid <= 0)
		return -1;
	char path[64], buf[2048];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	/* after ") ": state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
	 * cmajflt utime(14) stime(15) */
	unsigned long long ut = 0, st = 0;
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	long hz = sysconf(_SC_CLK_TCK);
	return (long long)((ut + st) * 1000000ULL / (unsigned long long)(hz > 0 ? hz : 100));
}

static void usage(void)
{
	printf("Usage: mp-loadgen -p PORT [options]\n"
	       "\n"
	       "DCE/RPC (ncacn_ip_tcp) load generator: K connections, N calls each.\n"
	       "\n"
	       "  -h, --host HOST        server address (default 127.0.0.1)\n"
	       "  -p, --port PORT        server port (required)\n"
	       "  -c, --conns K          concurrent connections, one thread each (default 1)\n"
	       "  -n, --calls N          measured calls per connection (default 1000)\n"
	       "  -w, --warmup W         warm-up calls per connection (default 100)\n"
	       "  -t, --timeout SEC      give up after SEC seconds in all (default 60)\n"
	       "  -d, --duration SEC     end the measured phase after SEC seconds even if\n"
	       "                         N calls are not done (default: no cap)\n"
	       "  -i, --iface IFACE      interface name or UUID/major.minor (default samr)\n"
	       "      --call KIND        samr-connect (default without --stub-size),\n"
	       "                         samr-enumdomains, samr-lookupdomain (default with\n"
	       "                         --stub-size; default size 65536) or raw\n"
	       "      --stub-size BYTES  request stub size (samr-lookupdomain, raw)\n"
	       "      --opnum N          opnum for --call raw (default 0)\n"
	       "  -f, --max-frag BYTES   max_xmit/max_recv_frag offered in the bind (default "
	       "5840)\n"
	       "      --cpu-pid PID      report CPU time of PID in the measured phase (cpu_us);\n"
	       "                         a second --cpu-pid is reported as cpu2_us\n"
	       "      --user USER        authenticate with NTLMSSP (auth type 10) as USER\n"
	       "      --password PW      its password (default: env MP_LOADGEN_PASSWORD; prefer\n"
	       "                         the environment, a command line is visible to ps)\n"
	       "      --domain DOMAIN    its domain (default empty)\n"
	       "      --level LEVEL      integrity (sign) or privacy (seal, default): every\n"
	       "                         request is protected, every response checked\n"
	       "  -v, --verbose          print per-connection errors on stderr\n"
	       "      --help             this help\n"
	       "\n"
	       "Output: calls= seconds= calls_per_s= p50_us= p99_us= mb_per_s= errors= faults= "
	       "cpu_us= cpu2_us= self_cpu_us=\n");
}

static unsigned long parse_ul(const char *s, const char *what, unsigned long lo, unsigned long hi)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi) {
		char m[120];
		snprintf(m, sizeof(m), "bad %s: %s (%lu..%lu)", what, s, lo, hi);
		die_usage(m);
	}
	return v;
}

static double parse_d(const char *s, const char *what)
{
	char *end;
	double v = strtod(s, &end);
	if (*end || end == s || v < 0 || v > 86400) {
		char m[120];
		snprintf(m, sizeof(m), "bad %s: %s", what, s);
		die_usage(m);
	}
	return v;
}

int main(int argc, char **argv)
{
	enum { O_CALL = 256, O_STUB, O_OPNUM, O_CPU, O_HELP, O_USER, O_PASS, O_DOMAIN, O_LEVEL };
	static const struct option lo[] = {
	    {"host", required_argument, 0, 'h'},        {"port", required_argument, 0, 'p'},
	    {"conns", required_argument, 0, 'c'},       {"calls", required_argument, 0, 'n'},
	    {"warmup", required_argument, 0, 'w'},      {"timeout", required_argument, 0, 't'},
	    {"duration", required_argument, 0, 'd'},    {"iface", required_argument, 0, 'i'},
	    {"call", required_argument, 0, O_CALL},     {"stub-size", required_argument, 0, O_STUB},
	    {"opnum", required_argument, 0, O_OPNUM},   {"max-frag", required_argument, 0, 'f'},
	    {"cpu-pid", required_argument, 0, O_CPU},   {"verbose", no_argument, 0, 'v'},
	    {"help", no_argument, 0, O_HELP},           {"user", required_argument, 0, O_USER},
	    {"password", required_argument, 0, O_PASS}, {"domain", required_argument, 0, O_DOMAIN},
	    {"level", required_argument, 0, O_LEVEL},   {0, 0, 0, 0},
	};
	const char *iface = "samr", *kind = NULL, *level = NULL;
	int ch;
	while ((ch = getopt_long(argc, argv, "h:p:c:n:w:t:d:i:f:v", lo, NULL)) != -1) {
		switch (ch) {
		case 'h':
			o.host = optarg;
			break;
		case 'p':
			o.port = optarg;
			parse_ul(optarg, "port", 1, 65535);
			break;
		case 'c':
			o.conns = (unsigned)parse_ul(optarg, "connections", 1, MAX_CONNS);
			break;
		case 'n':
			o.calls = parse_ul(optarg, "calls", 1, 100000000);
			break;
		case 'w':
			o.warmup = parse_ul(optarg, "warm-up calls", 0, 100000000);
			break;
		case 't':
			o.timeout = parse_d(optarg, "timeout");
			break;
		case 'd':
			o.duration = parse_d(optarg, "duration");
			break;
		case 'i':
			iface = optarg;
			break;
		case 'f':
			o.max_frag = (unsigned)parse_ul(optarg, "max frag", MP_PDU_MIN_FRAG, 65535);
			break;
		case 'v':
			o.verbose = true;
			break;
		case O_CALL:
			kind = optarg;
			break;
		case O_STUB:
			o.stub_size = parse_ul(optarg, "stub size", 0, 16u << 20);
			break;
		case O_OPNUM:
			o.opnum = (unsigned)parse_ul(optarg, "opnum", 0, 65535);
			break;
		case O_CPU:
			if (o.cpu_pid > 0 && o.cpu_pid2 > 0)
				die_usage("--cpu-pid at most twice");
			*(o.cpu_pid > 0 ? &o.cpu_pid2 : &o.cpu_pid) =
			    (long)parse_ul(optarg, "pid", 1, 1u << 30);
			break;
		case O_USER:
			o.user = optarg;
			break;
		case O_PASS:
			o.password = optarg;
			break;
		case O_DOMAIN:
			o.domain = optarg;
			break;
		case O_LEVEL:
			level = optarg;
			break;
		case O_HELP:
			usage();
			return 0;
		default:
			die_usage("bad option");
		}
	}
	if (optind != argc)
		die_usage("unexpected argument");
	if (!o.port)
		die_usage("-p PORT is required");
	if (o.timeout <= 0)
		die_usage("-t must be positive");
	if (mp_iface_resolve(iface, &o.iface) != MP_OK)
		die_usage("bad interface (a known name or UUID/major.minor)");
	if (!kind)
		o.kind = o.stub_size ? CALL_LOOKUPDOMAIN : CALL_CONNECT;
	else if (!strcmp(kind, "samr-connect"))
		o.kind = CALL_CONNECT;
	else if (!strcmp(kind, "samr-enumdomains"))
		o.kind = CALL_ENUMDOMAINS;
	else if (!strcmp(kind, "samr-lookupdomain"))
		o.kind = CALL_LOOKUPDOMAIN;
	else if (!strcmp(kind, "raw"))
		o.kind = CALL_RAW;
	else
		die_usage(
		    "--call must be samr-connect, samr-enumdomains, samr-lookupdomain or raw");
	if (level && !strcmp(level, "integrity"))
		o.level = MP_AUTH_LEVEL_PKT_INTEGRITY;
	else if (level && !strcmp(level, "privacy"))
		o.level = MP_AUTH_LEVEL_PKT_PRIVACY;
	else if (level)
		die_usage("--level must be integrity or privacy");
	if (o.user && !*o.user)
		die_usage("--user must not be empty");
	if (!o.user && (o.password || level || *o.domain))
		die_usage("--password, --domain and --level need --user");
	if (o.user && !o.password)
		o.password = getenv("MP_LOADGEN_PASSWORD");
	if (o.user && !o.password)
		die_usage("--user needs --password or env MP_LOADGEN_PASSWORD");
	if (o.kind == CALL_LOOKUPDOMAIN && !o.stub_size)
		o.stub_size = 65536;
	if (o.kind == CALL_LOOKUPDOMAIN && o.stub_size > 40 + 2 * 32767)
		die_usage(
		    "--stub-size is at most 65574 for samr-lookupdomain (16-bit string length)");

	struct conn *cs = calloc(o.conns, sizeof(*cs));
	if (!cs) {
		perror("calloc");
		return 1;
	}
	for (unsigned i = 0; i < o.conns; i++) {
		struct conn *c = &cs[i];
		c->fd = -1;
		mp_wb_init(&c->out);
		mp_wb_init(&c->rsp);
		c->in = malloc(65536);
		if (!c->in || build_stub(c) < 0) {
			perror("malloc");
			return 1;
		}
	}

	struct timespec t_begin, deadline;
	clock_gettime(CLOCK_REALTIME, &t_begin);
	deadline = t_begin;
	deadline.tv_sec += (time_t)o.timeout;
	deadline.tv_nsec += (long)((o.timeout - (double)(time_t)o.timeout) * 1e9);
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}

	unsigned started = 0;
	for (unsigned i = 0; i < o.conns; i++) {
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setstacksize(&at, 256 * 1024);
		int rc = pthread_create(&cs[i].th, &at, conn_main, &cs[i]);
		pthread_attr_destroy(&at);
		if (rc != 0) {
			fprintf(stderr, "mp-loadgen: pthread_create: %s\n", strerror(rc));
			stop = true;
			break;
		}
		started++;
	}

	/* Wait for every connection to be warm, then start the measured phase. */
	long long cpu0 = -1, cpu0b = -1;
	struct timespec self0 = {0}, self1 = {0};
	bool expired = false;
	pthread_mutex_lock(&mu);
	while (n_ready < started && !stop)
		if (pthread_cond_timedwait(&cv, &mu, &deadline) == ETIMEDOUT)
			expired = true, stop = true;
	if (!stop) {
		cpu0 = read_cpu_us(o.cpu_pid);
		cpu0b = read_cpu_us(o.cpu_pid2);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &self0);
		clock_gettime(CLOCK_MONOTONIC, &t_go);
		go = true;
	}
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);

	/* Join; when -t expires shut the sockets down so blocked threads return. */
	for (unsigned i = 0; i < started; i++) {
		if (!expired) {
			int rc = pthread_timedjoin_np(cs[i].th, NULL, &deadline);
			if (rc == 0)
				continue;
			expired = true;
		}
		if (expired && !stop_sockets_done) {
			stop_sockets_done = true;
			stop = true;
			pthread_mutex_lock(&mu);
			pthread_cond_broadcast(&cv);
			pthread_mutex_unlock(&mu);
			fprintf(stderr, "mp-loadgen: timeout (-t %g s) expired\n", o.timeout);
			for (unsigned j = 0; j < started; j++) {
				int fd = atomic_load(&cs[j].fd);
				if (fd >= 0)
					shutdown(fd, SHUT_RDWR);
			}
		}
		/* The sockets are shut down: the thread returns promptly. */
		pthread_join(cs[i].th, NULL);
	}
	long long cpu1 = go ? read_cpu_us(o.cpu_pid) : -1;
	long long cpu1b = go ? read_cpu_us(o.cpu_pid2) : -1;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &self1);

	unsigned long ok = 0, errors = 0, faults = 0, n_lat = 0;
	uint64_t bytes = 0;
	struct timespec t_end = t_go;
	for (unsigned i = 0; i < o.conns; i++) {
		struct conn *c = &cs[i];
		if (i >= started)
			c->errors += o.calls;
		ok += c->ok;
		errors += c->errors;
		faults += c->faults;
		bytes += c->bytes;
		n_lat += c->n_lat;
		if (go && ts_diff(&t_end, &c->t_end) > 0)
			t_end = c->t_end;
		if (c->err[0] && (o.verbose || c->errors))
			fprintf(stderr, "mp-loadgen: connection %u: %s\n", i, c->err);
	}
	if (!go)
		errors = (unsigned long)o.conns * o.calls;

	uint32_t *all = malloc((n_lat ? n_lat : 1) * sizeof(*all));
	if (!all) {
		perror("malloc");
		return 1;
	}
	size_t k = 0;
	for (unsigned i = 0; i < o.conns; i++) {
		if (cs[i].n_lat)
			memcpy(all + k, cs[i].lat_ns, cs[i].n_lat * sizeof(*all));
		k += cs[i].n_lat;
	}
	qsort(all, n_lat, sizeof(*all), cmp_u32);
	double p50 = n_lat ? all[(n_lat - 1) * 50 / 100] / 1e3 : 0;
	double p99 = n_lat ? all[(n_lat - 1) * 99 / 100] / 1e3 : 0;
	double secs = go ? ts_diff(&t_go, &t_end) : 0;
	long long cpu_us = (cpu0 >= 0 && cpu1 >= 0) ? cpu1 - cpu0 : -1;
	long long cpu2_us = (cpu0b >= 0 && cpu1b >= 0) ? cpu1b - cpu0b : -1;

	printf("calls=%lu seconds=%.3f calls_per_s=%.1f p50_us=%.1f p99_us=%.1f mb_per_s=%.2f "
	       "errors=%lu faults=%lu cpu_us=%lld cpu2_us=%lld self_cpu_us=%.0f\n",
	       ok, secs, secs > 0 ? ok / secs : 0.0, p50, p99,
	       secs > 0 ? (double)bytes / secs / 1e6 : 0.0, errors, faults, cpu_us, cpu2_us,
	       go ? ts_diff(&self0, &self1) * 1e6 : -1.0);

	for (unsigned i = 0; i < o.conns; i++) {
		mp_wb_free(&cs[i].out);
		mp_wb_free(&cs[i].rsp);
		free(cs[i].in);
		free(cs[i].lat_ns);
		free(cs[i].big_stub);
		mp_ntlm_free(cs[i].ntlm);
	}
	free(cs);
	free(all);
	return errors ? 1 : 0;
}
