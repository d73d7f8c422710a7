/*
 * Unit tests: client/rpc_conn and client/nspi_client against a fake DCE/RPC
 * server on a loopback socket (one thread, one connection per test).
 *
 *   - bind without auth, a call whose answer comes in many small response
 *     fragments is reassembled to the exact stub;
 *   - a fault PDU is MP_RPC_FAULT with its status and the association stays
 *     usable; a malformed header, an answer for another call id are refused
 *     (MP_ERR_PROTO) without a crash and the connection is then dead;
 *   - bind_nak is MP_ERR_AUTH; a silent server times out (MP_ERR_IO) within
 *     the timeout;
 *   - NTLMSSP at PKT_PRIVACY, PKT_INTEGRITY and CONNECT against our NTLMSSP server
 *     code: the server unprotects the client's sealed request fragments to
 *     the stub sent, the client unprotects the sealed answer; a wrong
 *     password is refused by the server (access denied at the first call);
 *   - ept_map against a fake endpoint mapper (mp_epm_serve) finds the port;
 *     an unknown interface is MP_ERR_NOTFOUND;
 *   - EMSMDB: a server that faults EcDoConnectEx with nca_s_op_rng_error
 *     gets EcDoConnect and EcDoRpc (XOR only); a current one EcDoConnectEx
 *     and EcDoRpcExt2 (RPC_HEADER_EXT): the ROP bytes survive both ways;
 *   - NSPI: NspiBind's answer (built with mp_nspi_push) gives the handle;
 *     a non-zero result is MP_CLIENT_ERESULT; a truncated answer is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "auth/ntlm_crypto.h"
#include "auth/ntlmssp.h"
#include "client/emsmdb_client.h"
#include "client/nspi_client.h"
#include "client/rpc_conn.h"
#include "dcerpc/epm.h"
#include "dcerpc/iface.h"
#include "dcerpc/pdu.h"
#include "dcerpc/sec.h"
#include "mapi/emsmdb.h"
#include "mapi/rpc_ext.h"
#include "util/status.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <talloc.h>
#include <unistd.h>

enum fs_mode { FS_PLAIN, FS_NAK, FS_SILENT, FS_NTLM, FS_EPM, FS_EMSMDB_OLD, FS_EMSMDB_NEW };

struct fake {
	enum fs_mode mode;
	int lfd;
	uint16_t port;
	pthread_t th;
	/* NSPI-style canned answer for opnum 0 in FS_PLAIN */
	uint8_t canned[512];
	size_t canned_len;
	/* NTLM: what the server saw */
	uint8_t seen[70000];
	size_t seen_len;
	bool auth_ok;
};

static int rd(int fd, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = recv(fd, p, n, 0);
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int rd_frag(int fd, uint8_t *buf, size_t cap, size_t *len)
{
	struct mp_pdu_hdr h;
	if (rd(fd, buf, MP_PDU_HDR_LEN) < 0 || mp_pdu_check_hdr(buf, cap, &h) != MP_HDR_OK)
		return -1;
	if (rd(fd, buf + MP_PDU_HDR_LEN, h.frag_len - MP_PDU_HDR_LEN) < 0)
		return -1;
	*len = h.frag_len;
	return 0;
}

static void wr(int fd, const struct mp_wbuf *w)
{
	(void)!send(fd, w->data, w->len, MSG_NOSIGNAL);
}

static int lookup(void *arg, const char *user, const char *domain, uint8_t nt_hash[16])
{
	if (strcmp(user, "alice"))
		return MP_ERR_NOTFOUND;
	return mp_ntlm_ntowfv1("Secret123", nt_hash);
}

static void bind_ack(struct mp_wbuf *w, uint32_t call_id)
{
	struct mp_pdu_bind_ack a;
	memset(&a, 0, sizeof(a));
	a.max_xmit = 5840;
	a.max_recv = 5840;
	a.assoc_group = 0x1234;
	strcpy(a.sec_addr, "1234");
	a.n_results = 1;
	a.res[0].result = MP_CTX_ACCEPT;
	a.res[0].ts = mp_syntax_ndr20;
	mp_pdu_encode_bind_ack(w, MP_PDU_BIND_ACK, MP_PFC_FIRST_FRAG | MP_PFC_LAST_FRAG, call_id,
	                       &a);
}

static const struct mp_ndr_handle fake_cxh = {.attributes = 0, .uuid = {0xc0, 0xff, 0xee, 1}};

/* A fake EMSMDB: the old server faults EcDoConnectEx with nca_s_op_rng_error
 * and serves EcDoConnect + EcDoRpc; the new one serves EcDoConnectEx +
 * EcDoRpcExt2. ROP calls echo the request's buffer (already framed /
 * obfuscated the right way), EcDoDisconnect zeroes the handle. */
static void emsmdb_answer(struct fake *f, struct mp_wbuf *w, uint32_t call_id, uint16_t opnum,
                          const uint8_t *stub, size_t sl)
{
	void *mem = talloc_new(NULL);
	struct mp_wbuf st;
	mp_wb_init(&st);
	const char *why = NULL;
	struct mp_mapi_call *req =
	    mp_mapi_decode(mem, MP_MAPI_EMSMDB, opnum, MP_CALL_REQUEST, stub, sl, &why);
	bool old = f->mode == FS_EMSMDB_OLD;
	if (!req || (old && (opnum == MP_EMSMDB_DO_CONNECT_EX || opnum == MP_EMSMDB_DO_RPC_EXT2)) ||
	    (!old && (opnum == MP_EMSMDB_DO_CONNECT || opnum == MP_EMSMDB_DO_RPC))) {
		mp_pdu_encode_fault(w, MP_PFC_FIRST_FRAG | MP_PFC_LAST_FRAG, call_id, 0,
		                    req ? MP_NCA_S_OP_RNG_ERROR : MP_FAULT_NDR);
		goto out;
	}
	if (opnum == MP_EMSMDB_DO_CONNECT || opnum == MP_EMSMDB_DO_CONNECT_EX) {
		const struct mp_emsmdb_connect_ex_req *q = req->body;
		snprintf((char *)f->seen, sizeof(f->seen), "%s", q->szUserDN);
		struct mp_emsmdb_connect_ex_resp r = {.pcxh = fake_cxh,
		                                      .pcmsPollsMax = 60000,
		                                      .szDNPrefix = "/o=Org",
		                                      .szDisplayName = "srv",
		                                      .rgwServerVersion = {15, 1, 2}};
		assert_true(mp_emsmdb_push(opnum, MP_CALL_RESPONSE, &r, &st));
	} else if (opnum == MP_EMSMDB_DO_RPC) {
		const struct mp_emsmdb_rpc_req *q = req->body;
		f->canned[0] = q->rgb.len ? q->rgb.data[0] : 0; /* obfuscated? */
		struct mp_emsmdb_rpc_resp r = {.pcxh = q->pcxh, .rgb = q->rgb};
		r.rgb.max_count = 0;
		assert_true(mp_emsmdb_push(opnum, MP_CALL_RESPONSE, &r, &st));
	} else if (opnum == MP_EMSMDB_DO_RPC_EXT2) {
		const struct mp_emsmdb_rpc_ext2_req *q = req->body;
		/* RPC_HEADER_EXT flags, and the payload's first byte */
		f->canned[0] = q->rgbIn.len > 8 ? q->rgbIn.data[8] : 0;
		f->canned[1] = q->rgbIn.len > 8 ? q->rgbIn.data[2] : 0;
		struct mp_emsmdb_rpc_ext2_resp r = {.pcxh = q->pcxh, .rgbOut = q->rgbIn};
		assert_true(mp_emsmdb_push(opnum, MP_CALL_RESPONSE, &r, &st));
	} else if (opnum == MP_EMSMDB_DO_DISCONNECT) {
		struct mp_emsmdb_disconnect_resp r = {0};
		assert_true(mp_emsmdb_push(opnum, MP_CALL_RESPONSE, &r, &st));
	} else {
		mp_pdu_encode_fault(w, MP_PFC_FIRST_FRAG | MP_PFC_LAST_FRAG, call_id, 0,
		                    MP_NCA_S_OP_RNG_ERROR);
		goto out;
	}
	mp_pdu_encode_response_frags(w, call_id, 0, st.data, st.len, 5840);
out:
	mp_wb_free(&st);
	talloc_free(mem);
}

static void *serve(void *arg)
{
	struct fake *f = arg;
	int fd = accept(f->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	uint8_t *buf = malloc(65536);
	struct mp_wbuf w;
	mp_wb_init(&w);
	struct mp_ntlm *ntlm = NULL;
	struct mp_sec sec;
	bool authed = false;
	size_t len;
	struct mp_pdu pdu;
	for (int step = 0; step < 200; step++) {
		if (rd_frag(fd, buf, 65535, &len) < 0)
			break;
		if (f->mode == FS_SILENT)
			continue;
		w.len = 0;
		struct mp_pdu_hdr h;
		mp_pdu_check_hdr(buf, 65535, &h);
		if (h.ptype == MP_PDU_REQUEST && authed) {
			if (mp_sec_unprotect(&sec, buf, len, &pdu, NULL) != MP_OK) {
				mp_pdu_encode_fault(&w, MP_PFC_FIRST_FRAG | MP_PFC_LAST_FRAG,
				                    h.call_id, 0, MP_FAULT_SEC_PKG_ERROR);
				wr(fd, &w);
				break;
			}
		} else if (mp_pdu_parse(buf, len, &pdu) != MP_OK) {
			break;
		}
		if (h.ptype == MP_PDU_BIND) {
			if (f->mode == FS_NAK) {
				mp_pdu_encode_bind_nak(&w, h.call_id, 2);
				wr(fd, &w);
				continue;
			}
			bind_ack(&w, h.call_id);
			if (f->mode == FS_NTLM) {
				struct mp_ntlm_server_config cfg = {.nb_domain_name = "TEST",
				                                    .nb_computer_name = "SRV",
				                                    .lookup = lookup};
				struct mp_wbuf tok;
				mp_wb_init(&tok);
				assert_int_equal(mp_ntlm_server_new(&cfg, &ntlm), MP_OK);
				assert_int_equal(mp_ntlm_server_challenge(ntlm, pdu.auth.value,
				                                          pdu.hdr.auth_len, &tok),
				                 MP_OK);
				assert_int_equal(mp_sec_append_auth(&w, 0, MP_AUTH_TYPE_NTLMSSP,
				                                    pdu.auth.level, pdu.auth.ctx_id,
				                                    tok.data, tok.len),
				                 MP_OK);
				mp_wb_free(&tok);
			}
			wr(fd, &w);
			continue;
		}
		if (h.ptype == MP_PDU_AUTH3) {
			f->auth_ok = mp_ntlm_server_authenticate(ntlm, pdu.auth.value,
			                                         pdu.hdr.auth_len) == MP_OK;
			if (f->auth_ok) {
				assert_int_equal(mp_sec_init(&sec, MP_AUTH_TYPE_NTLMSSP,
				                             pdu.auth.level, pdu.auth.ctx_id, false,
				                             ntlm),
				                 MP_OK);
				authed = true;
			}
			continue;
		}
		if (h.ptype != MP_PDU_REQUEST)
			break;
		/* Reassemble a fragmented request. */
		static uint8_t stub[70000];
		size_t sl = 0;
		memcpy(stub, pdu.stub, pdu.stub_len);
		sl = pdu.stub_len;
		uint16_t opnum = pdu.u.request.opnum;
		while (!(h.pfc_flags & MP_PFC_LAST_FRAG)) {
			if (rd_frag(fd, buf, 65535, &len) < 0)
				goto out;
			mp_pdu_check_hdr(buf, 65535, &h);
			if (authed ? mp_sec_unprotect(&sec, buf, len, &pdu, NULL) != MP_OK
			           : mp_pdu_parse(buf, len, &pdu) != MP_OK)
				goto out;
			if (sl + pdu.stub_len > sizeof(stub))
				goto out;
			memcpy(stub + sl, pdu.stub, pdu.stub_len);
			sl += pdu.stub_len;
		}
		if (!authed && f->mode == FS_NTLM) {
			/* failed authentication: access denied, like Samba / mapiproxy */
			mp_pdu_encode_fault(&w, MP_PFC_FIRST_FRAG | MP_PFC_LAST_FRAG, h.call_id, 0,
			                    MP_FAULT_ACCESS_DENIED);
			wr(fd, &w);
			continue;
		}
		if (f->mode == FS_EPM) {
			static const struct mp_epm_entry tbl[] = {
			    {.port = 6004, .ipv4 = {127, 0, 0, 1}, .annotation = "nspi"}};
			struct mp_epm_entry t = tbl[0];
			mp_iface_resolve("exchange_nsp", &t.iface);
			struct mp_wbuf st;
			mp_wb_init(&st);
			uint32_t fault = 0;
			if (mp_epm_serve(opnum, stub, sl, &t, 1, &st, &fault) == MP_OK)
				mp_pdu_encode_response_frags(&w, h.call_id, 0, st.data, st.len,
				                             5840);
			else
				mp_pdu_encode_fault(&w, MP_PFC_FIRST_FRAG | MP_PFC_LAST_FRAG,
				                    h.call_id, 0, fault);
			mp_wb_free(&st);
			wr(fd, &w);
			continue;
		}
		if (f->mode == FS_NTLM) {
			memcpy(f->seen, stub, sl);
			f->seen_len = sl;
			/* answer the reversed stub, sealed/signed, in several fragments */
			for (size_t i = 0; i < sl / 2; i++) {
				uint8_t t = stub[i];
				stub[i] = stub[sl - 1 - i];
				stub[sl - 1 - i] = t;
			}
			assert_int_equal(
			    mp_sec_encode_response_frags(&sec, &w, h.call_id, 0, stub, sl, 1024),
			    MP_OK);
			wr(fd, &w);
			continue;
		}
		if (f->mode == FS_EMSMDB_OLD || f->mode == FS_EMSMDB_NEW) {
			emsmdb_answer(f, &w, h.call_id, opnum, stub, sl);
			wr(fd, &w);
			continue;
		}
		switch (opnum) {
		case 0: /* canned answer */
			mp_pdu_encode_response_frags(&w, h.call_id, 0, f->canned, f->canned_len,
			                             5840);
			break;
		case 1: /* echo, in small fragments */
			mp_pdu_encode_response_frags(&w, h.call_id, 0, stub, sl, 200);
			break;
		case 2:
			mp_pdu_encode_fault(&w, MP_PFC_FIRST_FRAG | MP_PFC_LAST_FRAG, h.call_id, 0,
			                    MP_NCA_S_OP_RNG_ERROR);
			break;
		case 3: /* garbage header */
			mp_wb_bytes(&w, "\x06\x00\x02\x03garbagegarbage!!", 20);
			break;
		case 4: /* another call id */
			mp_pdu_encode_response_frags(&w, h.call_id + 7, 0, stub, sl, 5840);
			break;
		default:
			break;
		}
		wr(fd, &w);
	}
out:
	mp_wb_free(&w);
	mp_ntlm_free(ntlm);
	free(buf);
	close(fd);
	return NULL;
}

static struct fake *fake_start(enum fs_mode mode)
{
	struct fake *f = calloc(1, sizeof(*f));
	f->mode = mode;
	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	socklen_t sl = sizeof(a);
	getsockname(f->lfd, (struct sockaddr *)&a, &sl);
	f->port = ntohs(a.sin_port);
	pthread_create(&f->th, NULL, serve, f);
	return f;
}

static void fake_stop(struct fake *f)
{
	pthread_join(f->th, NULL);
	close(f->lfd);
	free(f);
}

static struct mp_rpc_conn_opts opts(const struct fake *f)
{
	struct mp_rpc_conn_opts o = {.host = "127.0.0.1",
	                             .port = f->port,
	                             .timeout_ms = 3000,
	                             .auth_level = MP_AUTH_LEVEL_NONE};
	mp_iface_resolve("exchange_nsp", &o.iface);
	return o;
}

static void test_plain_calls(void **state)
{
	struct fake *f = fake_start(FS_PLAIN);
	struct mp_rpc_conn_opts o = opts(f);
	struct mp_rpc_conn *c = NULL;
	char err[300];
	assert_int_equal(mp_rpc_conn_open(&o, &c, err, sizeof(err)), MP_OK);
	assert_int_equal(mp_rpc_conn_max_xmit(c), 5840);

	/* 10000 bytes out in 2 fragments, back in ~60 fragments of 200 bytes */
	uint8_t stub[10000];
	for (size_t i = 0; i < sizeof(stub); i++)
		stub[i] = (uint8_t)(i * 7);
	struct mp_wbuf rsp;
	mp_wb_init(&rsp);
	uint32_t fault = 0;
	assert_int_equal(mp_rpc_conn_call(c, 1, stub, sizeof(stub), &rsp, &fault, err, sizeof(err)),
	                 MP_OK);
	assert_int_equal(rsp.len, sizeof(stub));
	assert_memory_equal(rsp.data, stub, sizeof(stub));

	/* a fault: reported, association still usable */
	assert_int_equal(mp_rpc_conn_call(c, 2, stub, 8, &rsp, &fault, err, sizeof(err)),
	                 MP_RPC_FAULT);
	assert_int_equal(fault, MP_NCA_S_OP_RNG_ERROR);
	assert_non_null(strstr(err, "0x1c010002"));
	assert_int_equal(mp_rpc_conn_call(c, 1, stub, 16, &rsp, &fault, err, sizeof(err)), MP_OK);
	assert_int_equal(rsp.len, 16);

	/* an answer for another call: refused, then the connection is dead */
	assert_int_equal(mp_rpc_conn_call(c, 4, stub, 16, &rsp, &fault, err, sizeof(err)),
	                 MP_ERR_PROTO);
	assert_int_equal(mp_rpc_conn_call(c, 1, stub, 16, &rsp, &fault, err, sizeof(err)),
	                 MP_ERR_IO);
	mp_rpc_conn_close(c);
	mp_wb_free(&rsp);
	fake_stop(f);
}

static void test_garbage_answer(void **state)
{
	struct fake *f = fake_start(FS_PLAIN);
	struct mp_rpc_conn_opts o = opts(f);
	struct mp_rpc_conn *c = NULL;
	char err[300];
	assert_int_equal(mp_rpc_conn_open(&o, &c, err, sizeof(err)), MP_OK);
	struct mp_wbuf rsp;
	mp_wb_init(&rsp);
	uint32_t fault = 0;
	assert_int_equal(
	    mp_rpc_conn_call(c, 3, (const uint8_t *)"abcd", 4, &rsp, &fault, err, sizeof(err)),
	    MP_ERR_PROTO);
	assert_non_null(strstr(err, "malformed"));
	mp_rpc_conn_close(c);
	mp_wb_free(&rsp);
	fake_stop(f);
}

static void test_bind_nak(void **state)
{
	struct fake *f = fake_start(FS_NAK);
	struct mp_rpc_conn_opts o = opts(f);
	struct mp_rpc_conn *c = NULL;
	char err[300];
	assert_int_equal(mp_rpc_conn_open(&o, &c, err, sizeof(err)), MP_ERR_AUTH);
	assert_null(c);
	assert_non_null(strstr(err, "bind refused"));
	fake_stop(f);
}

static void test_timeout(void **state)
{
	struct fake *f = fake_start(FS_SILENT);
	struct mp_rpc_conn_opts o = opts(f);
	o.timeout_ms = 300;
	struct mp_rpc_conn *c = NULL;
	char err[300];
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(mp_rpc_conn_open(&o, &c, err, sizeof(err)), MP_ERR_IO);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(secs >= 0.25 && secs < 2.5);
	assert_non_null(strstr(err, "timed out"));
	/* the fake server keeps reading until we close: it ends with us */
	fake_stop(f);
}

static void ntlm_level(uint8_t level)
{
	struct fake *f = fake_start(FS_NTLM);
	struct mp_rpc_conn_opts o = opts(f);
	o.auth_level = level;
	o.user = "alice";
	o.domain = "TEST";
	o.password = "Secret123";
	struct mp_rpc_conn *c = NULL;
	char err[300];
	assert_int_equal(mp_rpc_conn_open(&o, &c, err, sizeof(err)), MP_OK);
	uint8_t stub[7000];
	for (size_t i = 0; i < sizeof(stub); i++)
		stub[i] = (uint8_t)(i ^ 0x5a);
	struct mp_wbuf rsp;
	mp_wb_init(&rsp);
	uint32_t fault = 0;
	assert_int_equal(mp_rpc_conn_call(c, 9, stub, sizeof(stub), &rsp, &fault, err, sizeof(err)),
	                 MP_OK);
	assert_true(f->auth_ok);
	assert_int_equal(f->seen_len, sizeof(stub));
	assert_memory_equal(f->seen, stub, sizeof(stub));
	assert_int_equal(rsp.len, sizeof(stub));
	for (size_t i = 0; i < sizeof(stub); i++)
		assert_int_equal(rsp.data[i], stub[sizeof(stub) - 1 - i]);
	mp_rpc_conn_close(c);
	mp_wb_free(&rsp);
	fake_stop(f);
}

static void test_ntlm_privacy(void **state)
{
	ntlm_level(MP_AUTH_LEVEL_PKT_PRIVACY);
}

static void test_ntlm_integrity(void **state)
{
	ntlm_level(MP_AUTH_LEVEL_PKT_INTEGRITY);
}

static void test_ntlm_connect(void **state)
{
	ntlm_level(MP_AUTH_LEVEL_CONNECT);
}

static void test_ntlm_wrong_password(void **state)
{
	struct fake *f = fake_start(FS_NTLM);
	struct mp_rpc_conn_opts o = opts(f);
	o.auth_level = MP_AUTH_LEVEL_PKT_PRIVACY;
	o.user = "alice";
	o.password = "wrong";
	struct mp_rpc_conn *c = NULL;
	char err[300];
	/* auth3 has no answer: the refusal shows at the first call */
	assert_int_equal(mp_rpc_conn_open(&o, &c, err, sizeof(err)), MP_OK);
	struct mp_wbuf rsp;
	mp_wb_init(&rsp);
	uint32_t fault = 0;
	assert_int_equal(
	    mp_rpc_conn_call(c, 9, (const uint8_t *)"12345678", 8, &rsp, &fault, err, sizeof(err)),
	    MP_RPC_FAULT);
	assert_int_equal(fault, MP_FAULT_ACCESS_DENIED);
	assert_false(f->auth_ok);
	mp_rpc_conn_close(c);
	mp_wb_free(&rsp);
	fake_stop(f);
}

static void test_auth_needs_password(void **state)
{
	struct fake *f = fake_start(FS_PLAIN);
	struct mp_rpc_conn_opts o = opts(f);
	o.auth_level = MP_AUTH_LEVEL_PKT_PRIVACY;
	o.user = "alice";
	struct mp_rpc_conn *c = NULL;
	char err[300];
	assert_int_equal(mp_rpc_conn_open(&o, &c, err, sizeof(err)), MP_ERR_CONFIG);
	assert_null(c);
	fake_stop(f);
}

static void test_ept_map(void **state)
{
	struct fake *f = fake_start(FS_EPM);
	struct mp_syntax nsp;
	mp_iface_resolve("exchange_nsp", &nsp);
	uint16_t port = 0;
	char err[300];
	assert_int_equal(mp_rpc_ept_map("127.0.0.1", f->port, &nsp, 3000, &port, err, sizeof(err)),
	                 MP_OK);
	assert_int_equal(port, 6004);
	fake_stop(f);

	f = fake_start(FS_EPM);
	struct mp_syntax ems;
	mp_iface_resolve("exchange_emsmdb", &ems);
	assert_int_equal(mp_rpc_ept_map("127.0.0.1", f->port, &ems, 3000, &port, err, sizeof(err)),
	                 MP_ERR_NOTFOUND);
	assert_non_null(strstr(err, "no TCP endpoint"));
	fake_stop(f);
}

static void test_auth_level_parse(void **state)
{
	assert_int_equal(mp_rpc_auth_level_parse("none"), MP_AUTH_LEVEL_NONE);
	assert_int_equal(mp_rpc_auth_level_parse("connect"), MP_AUTH_LEVEL_CONNECT);
	assert_int_equal(mp_rpc_auth_level_parse("integrity"), MP_AUTH_LEVEL_PKT_INTEGRITY);
	assert_int_equal(mp_rpc_auth_level_parse("privacy"), MP_AUTH_LEVEL_PKT_PRIVACY);
	assert_int_equal(mp_rpc_auth_level_parse("seal"), 0);
}

/* NspiBind over the fake server: the canned answer is a real NspiBind
 * response structure encoded with mp_nspi_push. */
static void nspi_bind_with(const struct mp_nspi_bind_rsp *rsp, size_t cut, int want)
{
	struct fake *f = fake_start(FS_PLAIN);
	struct mp_wbuf w;
	mp_wb_init(&w);
	assert_true(mp_nspi_push(MP_NSPI_BIND, MP_CALL_RESPONSE, rsp, &w));
	assert_true(w.len - cut <= sizeof(f->canned));
	memcpy(f->canned, w.data, w.len - cut);
	f->canned_len = w.len - cut;
	mp_wb_free(&w);
	struct mp_rpc_conn_opts o = opts(f);
	struct mp_rpc_conn *c = NULL;
	char err[300];
	assert_int_equal(mp_rpc_conn_open(&o, &c, err, sizeof(err)), MP_OK);
	struct mp_nspi_client cl;
	assert_int_equal(mp_nspi_client_bind(&cl, c, 0), want);
	if (want == MP_OK) {
		assert_int_equal(cl.handle.attributes, rsp->handle.attributes);
		assert_memory_equal(cl.handle.uuid, rsp->handle.uuid, 16);
		assert_memory_equal(cl.server_guid.ab, rsp->server_guid->ab, 16);
	} else if (want == MP_CLIENT_ERESULT) {
		assert_int_equal(cl.result, rsp->result);
		assert_non_null(strstr(cl.err, "NspiBind returned"));
	} else {
		assert_non_null(strstr(cl.err, "malformed"));
	}
	mp_rpc_conn_close(c);
	fake_stop(f);
}

static void test_nspi_bind(void **state)
{
	struct mp_nspi_flatuid g = {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}};
	struct mp_nspi_bind_rsp rsp = {.server_guid = &g,
	                               .handle = {.attributes = 0, .uuid = {0xaa, 0xbb, 0xcc}},
	                               .result = 0};
	nspi_bind_with(&rsp, 0, MP_OK);
	rsp.result = 0x80040111; /* ecLogonFailed */
	nspi_bind_with(&rsp, 0, MP_CLIENT_ERESULT);
	rsp.result = 0;
	nspi_bind_with(&rsp, 6, MP_ERR_PARSE);
}

static void emsmdb_round(enum fs_mode mode)
{
	struct fake *f = fake_start(mode);
	struct mp_rpc_conn_opts o = opts(f);
	mp_iface_resolve("exchange_emsmdb", &o.iface);
	struct mp_rpc_conn *c = NULL;
	char err[300];
	assert_int_equal(mp_rpc_conn_open(&o, &c, err, sizeof(err)), MP_OK);
	struct mp_emsmdb_client em;
	assert_int_equal(mp_emsmdb_client_connect(&em, c, "/o=Org/cn=alice"), MP_OK);
	assert_int_equal(em.legacy, mode == FS_EMSMDB_OLD);
	assert_memory_equal(em.cxh.uuid, fake_cxh.uuid, 16);
	assert_string_equal((const char *)f->seen, "/o=Org/cn=alice");
	assert_int_equal(em.server_version[0], 15);
	assert_string_equal(em.dn_prefix, "/o=Org");
	void *mem = talloc_new(NULL);
	uint8_t rops[300];
	for (size_t i = 0; i < sizeof(rops); i++)
		rops[i] = (uint8_t)i;
	uint8_t *out = NULL;
	size_t n = 0;
	assert_int_equal(mp_emsmdb_client_rpc(&em, mem, rops, sizeof(rops), &out, &n), MP_OK);
	assert_int_equal(n, sizeof(rops));
	assert_memory_equal(out, rops, n);
	/* the ROP bytes went out XOR 0xA5 (rops[0] is 0) */
	assert_int_equal(f->canned[0], 0xA5);
	if (mode == FS_EMSMDB_NEW)
		assert_int_equal(f->canned[1], MP_RHE_XORMAGIC | MP_RHE_LAST);
	assert_int_equal(mp_emsmdb_client_disconnect(&em), MP_OK);
	talloc_free(mem);
	mp_rpc_conn_close(c);
	fake_stop(f);
}

/* EcDoConnectEx faulted with nca_s_op_rng_error: EcDoConnect, then EcDoRpc. */
static void test_emsmdb_legacy_fallback(void **state)
{
	emsmdb_round(FS_EMSMDB_OLD);
}

static void test_emsmdb_connect_ex(void **state)
{
	emsmdb_round(FS_EMSMDB_NEW);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_calls),
	    cmocka_unit_test(test_garbage_answer),
	    cmocka_unit_test(test_bind_nak),
	    cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_ntlm_privacy),
	    cmocka_unit_test(test_ntlm_integrity),
	    cmocka_unit_test(test_ntlm_connect),
	    cmocka_unit_test(test_ntlm_wrong_password),
	    cmocka_unit_test(test_auth_needs_password),
	    cmocka_unit_test(test_ept_map),
	    cmocka_unit_test(test_auth_level_parse),
	    cmocka_unit_test(test_nspi_bind),
	    cmocka_unit_test(test_emsmdb_legacy_fallback),
	    cmocka_unit_test(test_emsmdb_connect_ex),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
