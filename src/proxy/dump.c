/*
 * The built-in call dump: binding flag [print] (the original's), `dump` in
 * dcerpc_mapiproxy:modules, or mpm_dump:json file. Each completed call of an
 * ExchangeRPC interface (EMSMDB, AsyncEMSMDB, NSPI, RFR) is decoded, request
 * and response, and printed as a tree on the log and/or as one JSON object
 * per line in the JSON file. The module issue turns this into the `dump`
 * module; the decoding lives in src/mapi/ either way.
 *
 * Dumped calls are reassembled (the stubs must be whole), which takes them
 * off the zero-copy fast path: the dump costs what it shows.
 */
#include "mapi/call.h"
#include "mapi/mapi_print.h"
#include "proxy/proxy.h"
#include "util/log.h"
#include "util/printer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <talloc.h>
#include <time.h>

static FILE *json_out;

int mp_dump_open(const struct mp_proxy_conf *c)
{
	if (!c->dump_json[0])
		return 0;
	FILE *f = fopen(c->dump_json, "a");
	if (!f)
		return -errno;
	setvbuf(f, NULL, _IOLBF, 0); /* whole lines, so tail -f and jq see calls */
	if (json_out)
		fclose(json_out);
	json_out = f;
	return 0;
}

void mp_dump_close(void)
{
	if (json_out)
		fclose(json_out);
	json_out = NULL;
}

bool mp_dump_iface(const struct mp_sess_ctx *ctx, int *iface)
{
	static const struct {
		const char *name;
		enum mp_mapi_iface iface;
	} known[] = {
		{"exchange_emsmdb", MP_MAPI_EMSMDB},
		{"exchange_async_emsmdb", MP_MAPI_ASYNCEMSMDB},
		{"exchange_nsp", MP_MAPI_NSPI},
		{"exchange_ds_rfr", MP_MAPI_RFR},
	};
	if (!ctx || !ctx->name)
		return false;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (strcmp(ctx->name, known[i].name) == 0) {
			*iface = known[i].iface;
			return true;
		}
	}
	return false;
}

/* One direction: the decoded tree, or the reason and the raw bytes. */
static void print_stub(struct mp_printer *p, const char *label, const struct mp_mapi_view *v,
		       const char *why, const struct mp_wbuf *stub)
{
	mp_pr_begin(p, label);
	if (v) {
		mp_mapi_view_print(p, v);
	} else {
		mp_pr_str(p, "undecoded", why);
		mp_pr_bytes(p, "stub", stub->data, stub->len);
	}
	mp_pr_end(p);
}

/* The text tree goes to the log one line at a time, each line tagged. */
static void log_tree(const struct mp_session *s, uint32_t call_id, const char *text)
{
	const char *line = text;
	while (*line) {
		const char *nl = strchr(line, '\n');
		int n = nl ? (int)(nl - line) : (int)strlen(line);
		mp_info("session %llu call %u | %.*s", (unsigned long long)s->id, call_id, n, line);
		line += n + (nl ? 1 : 0);
	}
}

void mp_dump_call(struct mp_session *s, const struct mp_call_slot *c, const char *outcome,
		  double ms)
{
	const struct mp_proxy_conf *conf = &s->px->conf;
	const struct mp_sess_ctx *ctx = mp_session_ctx(s, c->req.ctx_id);
	int iface;
	if (!mp_dump_iface(ctx, &iface))
		return;
	if (!s->dump_state && !(s->dump_state = mp_mapi_state_new(NULL)))
		return;
	void *mem = talloc_new(NULL);
	const struct mp_call_codec *codec = mp_call_codec(iface, c->req.opnum);
	const char *name = codec ? codec->name : "unknown opnum";
	bool have_rsp = strcmp(outcome, "ok") == 0;
	const char *req_why = NULL, *rsp_why = NULL;
	bool rops = conf->dump_rops;
	struct mp_mapi_call *req = mp_mapi_decode(mem, iface, c->req.opnum, MP_CALL_REQUEST,
						  c->req_stub.data, c->req_stub.len, &req_why);
	struct mp_mapi_call *rsp =
	    have_rsp ? mp_mapi_decode(mem, iface, c->req.opnum, MP_CALL_RESPONSE,
				      c->rsp_stub.data, c->rsp_stub.len, &rsp_why)
		     : NULL;
	/* Decoded once down to ROPs, printed in each format. */
	struct mp_mapi_view *req_v = req ? mp_mapi_view_new(mem, req, NULL, s->dump_state, rops)
					 : NULL;
	struct mp_mapi_view *rsp_v =
	    rsp ? mp_mapi_view_new(mem, rsp, req_v, s->dump_state, rops) : NULL;

	for (int fmt = 0; fmt < 2; fmt++) {
		if (fmt == 1 && !json_out)
			break;
		struct mp_printer *p = mp_printer_new(fmt == 0 ? MP_PRINT_TEXT : MP_PRINT_JSON);
		if (!p)
			break;
		mp_printer_set_max_bytes(p, conf->dump_max_bytes);
		mp_pr_begin(p, "call");
		mp_pr_uint(p, "session", s->id);
		mp_pr_uint(p, "call_id", c->call_id);
		mp_pr_str(p, "interface", mp_mapi_iface_name(iface));
		mp_pr_uint(p, "opnum", c->req.opnum);
		mp_pr_str(p, "name", name);
		mp_pr_str(p, "outcome", outcome);
		mp_pr_double(p, "latency_ms", ms);
		mp_pr_uint(p, "request_bytes", c->req_stub.len);
		mp_pr_uint(p, "response_bytes", c->rsp_stub.len);
		if (fmt == 1) {
			struct timespec now;
			clock_gettime(CLOCK_REALTIME, &now);
			mp_pr_double(p, "time", (double)now.tv_sec + now.tv_nsec / 1e9);
		}
		print_stub(p, "request", req_v, req_why, &c->req_stub);
		if (have_rsp)
			print_stub(p, "response", rsp_v, rsp_why, &c->rsp_stub);
		mp_pr_end(p);
		const char *out = mp_printer_output(p, NULL);
		if (fmt == 0)
			log_tree(s, c->call_id, out);
		else
			fprintf(json_out, "%s\n", out);
		mp_printer_free(p);
	}
	mp_mapi_state_update(s->dump_state, req_v, rsp_v);
	talloc_free(mem);
}

void mp_dump_session_free(struct mp_session *s)
{
	talloc_free(s->dump_state);
	s->dump_state = NULL;
}
