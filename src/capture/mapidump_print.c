/*
 * mapidump's output (see mapidump_print.h).
 *
 * Text: each event is one tree whose first line says when, on which
 * connection, what (a header built here), with the details indented below
 * it. JSON: each event is one object on one line; the header's facts are
 * members ("time", "conn", "client", ...), so that jq can select on them.
 */
#include "capture/mapidump_print.h"

#include "dcerpc/iface.h"
#include "dcerpc/sec.h"
#include "mapi/call.h"
#include "mapi/mapi_print.h"
#include "util/printer.h"
#include "util/status.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <talloc.h>

#define MAX_FILTERS 32
#define MAX_OPSTATS 512

/* ---- operation names ------------------------------------------------------ */

/* Names of operations without an ExchangeRPC codec (or before it exists):
 * [MS-OXCRPC] 3.1.4 / 3.3.4, [MS-OXNSPI] 3.1.4, [MS-OXABREF] 3.1.4,
 * [MS-SAMR] 3.1.5, C706 appendix (epmapper, mgmt). */
static const char *const emsmdb_ops[] = {
    "EcDoConnect",
    "EcDoDisconnect",
    "EcDoRpc",
    "EcGetMoreRpc",
    "EcRRegisterPushNotification",
    "EcRUnregisterPushNotification",
    "EcDummyRpc",
    "EcRGetDCName",
    "EcRNetGetDCName",
    "EcDoRpcExt",
    "EcDoConnectEx",
    "EcDoRpcExt2",
    NULL,
    NULL,
    "EcDoAsyncConnectEx",
};
static const char *const asyncemsmdb_ops[] = {"EcDoAsyncWaitEx"};
static const char *const nspi_ops[] = {
    "NspiBind",
    "NspiUnbind",
    "NspiUpdateStat",
    "NspiQueryRows",
    "NspiSeekEntries",
    "NspiGetMatches",
    "NspiResortRestriction",
    "NspiDNToMId",
    "NspiGetPropList",
    "NspiGetProps",
    "NspiCompareMIds",
    "NspiModProps",
    "NspiGetSpecialTable",
    "NspiGetTemplateInfo",
    "NspiModLinkAtt",
    "NspiDeleteEntries",
    "NspiQueryColumns",
    "NspiGetNamesFromIDs",
    "NspiGetIDsFromNames",
    "NspiResolveNames",
    "NspiResolveNamesW",
};
static const char *const rfr_ops[] = {"RfrGetNewDSA", "RfrGetFQDNFromServerDN"};
static const char *const samr_ops[] = {
    "SamrConnect",
    "SamrCloseHandle",
    "SamrSetSecurityObject",
    "SamrQuerySecurityObject",
    NULL,
    "SamrLookupDomainInSamServer",
    "SamrEnumerateDomainsInSamServer",
    "SamrOpenDomain",
    "SamrQueryInformationDomain",
    "SamrSetInformationDomain",
    "SamrCreateGroupInDomain",
    "SamrEnumerateGroupsInDomain",
    "SamrCreateUserInDomain",
    "SamrEnumerateUsersInDomain",
    "SamrCreateAliasInDomain",
    "SamrEnumerateAliasesInDomain",
    "SamrGetAliasMembership",
    "SamrLookupNamesInDomain",
    "SamrLookupIdsInDomain",
    "SamrOpenGroup",
    "SamrQueryInformationGroup",
    "SamrSetInformationGroup",
    "SamrAddMemberToGroup",
    "SamrDeleteGroup",
    "SamrRemoveMemberFromGroup",
    "SamrGetMembersInGroup",
    "SamrSetMemberAttributesOfGroup",
    "SamrOpenAlias",
    "SamrQueryInformationAlias",
    "SamrSetInformationAlias",
    "SamrDeleteAlias",
    "SamrAddMemberToAlias",
    "SamrRemoveMemberFromAlias",
    "SamrGetMembersInAlias",
    "SamrOpenUser",
    "SamrDeleteUser",
    "SamrQueryInformationUser",
    "SamrSetInformationUser",
    "SamrChangePasswordUser",
    "SamrGetGroupsForUser",
    "SamrQueryDisplayInformation",
    "SamrGetDisplayEnumerationIndex",
    NULL,
    NULL,
    "SamrGetUserDomainPasswordInformation",
    "SamrRemoveMemberFromForeignDomain",
    "SamrQueryInformationDomain2",
    "SamrQueryInformationUser2",
    "SamrQueryDisplayInformation2",
    "SamrGetDisplayEnumerationIndex2",
    "SamrCreateUser2InDomain",
    "SamrQueryDisplayInformation3",
    "SamrAddMultipleMembersToAlias",
    "SamrRemoveMultipleMembersFromAlias",
    "SamrOemChangePasswordUser2",
    "SamrUnicodeChangePasswordUser2",
    "SamrGetDomainPasswordInformation",
    "SamrConnect2",
    "SamrSetInformationUser2",
    NULL,
    NULL,
    NULL,
    "SamrConnect4",
    NULL,
    "SamrConnect5",
    "SamrRidToSid",
    "SamrSetDSRMPassword",
    "SamrValidatePassword",
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    "SamrUnicodeChangePasswordUser4",
};
static const char *const epm_ops[] = {
    "ept_insert",     "ept_delete",      "ept_lookup", "ept_map", "ept_lookup_handle_free",
    "ept_inq_object", "ept_mgmt_delete",
};
static const char *const mgmt_ops[] = {
    "inq_if_ids", "inq_stats", "is_server_listening", "stop_server_listening", "inq_princ_name",
};

#define TABLE(t) t, sizeof(t) / sizeof(t[0])

static const char *from_table(const char *const *t, size_t n, uint16_t opnum)
{
	return opnum < n ? t[opnum] : NULL;
}

const char *mp_dump_opnum_name(const struct mp_dce_ctx *ctx, uint16_t opnum)
{
	if (!ctx)
		return NULL;
	if (ctx->mapi >= 0) {
		const struct mp_call_codec *cc =
		    mp_call_codec((enum mp_mapi_iface)ctx->mapi, opnum);
		if (cc && cc->name)
			return cc->name;
		switch (ctx->mapi) {
		case MP_MAPI_EMSMDB:
			return from_table(TABLE(emsmdb_ops), opnum);
		case MP_MAPI_ASYNCEMSMDB:
			return from_table(TABLE(asyncemsmdb_ops), opnum);
		case MP_MAPI_NSPI:
			return from_table(TABLE(nspi_ops), opnum);
		case MP_MAPI_RFR:
			return from_table(TABLE(rfr_ops), opnum);
		}
		return NULL;
	}
	if (!ctx->name)
		return NULL;
	if (strcmp(ctx->name, "samr") == 0)
		return from_table(TABLE(samr_ops), opnum);
	if (strcmp(ctx->name, "epmapper") == 0)
		return from_table(TABLE(epm_ops), opnum);
	if (strcmp(ctx->name, "mgmt") == 0)
		return from_table(TABLE(mgmt_ops), opnum);
	return NULL;
}

/* ---- state ---------------------------------------------------------------- */

struct filter {
	struct mp_uuid uuid;
	bool any_opnum;
	bool by_name;
	uint16_t opnum;
	char name[64];
};

struct opstat {
	char iface[80];
	bool have_opnum;
	uint16_t opnum;
	const char *name;
	unsigned long count;
	unsigned long incomplete;
};

#define MAX_STATES 64

struct mp_dump {
	struct mp_dump_opts o;
	struct mp_printer *p;
	struct filter filters[MAX_FILTERS];
	size_t n_filters;
	unsigned long warnings;
	unsigned long calls_shown;
	struct opstat ops[MAX_OPSTATS];
	size_t n_ops;
	unsigned long ops_other;
	/* ROP decoding state per connection (table columns, logons), as the
	 * proxy keeps per session; the oldest is dropped past MAX_STATES. */
	struct {
		uint64_t conn;
		struct mp_mapi_state *st;
	} states[MAX_STATES];
	size_t n_states, next_state;
};

static struct mp_mapi_state *conn_state(struct mp_dump *d, uint64_t conn)
{
	for (size_t i = 0; i < d->n_states; i++)
		if (d->states[i].conn == conn)
			return d->states[i].st;
	size_t i = d->n_states < MAX_STATES ? d->n_states++ : d->next_state++ % MAX_STATES;
	talloc_free(d->states[i].st);
	d->states[i].conn = conn;
	d->states[i].st = mp_mapi_state_new(d);
	return d->states[i].st;
}

static int dump_free(struct mp_dump *d)
{
	mp_printer_free(d->p);
	return 0;
}

struct mp_dump *mp_dump_new(void *mem, const struct mp_dump_opts *o)
{
	struct mp_dump *d = talloc_zero(mem, struct mp_dump);
	if (!d)
		return NULL;
	d->o = *o;
	if (!d->o.out)
		d->o.out = stdout;
	d->p = mp_printer_new(o->json ? MP_PRINT_JSON : MP_PRINT_TEXT);
	if (!d->p) {
		talloc_free(d);
		return NULL;
	}
	if (o->max_bytes)
		mp_printer_set_max_bytes(d->p, o->max_bytes);
	talloc_set_destructor(d, dump_free);
	return d;
}

unsigned long mp_dump_warnings(const struct mp_dump *d)
{
	return d->warnings;
}

/* ---- filters -------------------------------------------------------------- */

static const struct {
	const char *shortname;
	const char *cfg_name;
} mapi_aliases[] = {
    {"emsmdb", "exchange_emsmdb"},
    {"asyncemsmdb", "exchange_async_emsmdb"},
    {"nspi", "exchange_nsp"},
    {"rfr", "exchange_ds_rfr"},
};

int mp_dump_add_filter(struct mp_dump *d, const char *spec, char *err, size_t errlen)
{
	if (d->n_filters >= MAX_FILTERS) {
		snprintf(err, errlen, "at most %d --filter options", MAX_FILTERS);
		return MP_ERR_PARSE;
	}
	struct filter f = {.any_opnum = true};
	char iface[80];
	const char *colon = strchr(spec, ':');
	size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
	if (n == 0 || n >= sizeof(iface)) {
		snprintf(err, errlen, "--filter '%s': expected IFACE or IFACE:OPNUM", spec);
		return MP_ERR_PARSE;
	}
	memcpy(iface, spec, n);
	iface[n] = '\0';
	for (size_t i = 0; i < sizeof(mapi_aliases) / sizeof(mapi_aliases[0]); i++)
		if (strcasecmp(iface, mapi_aliases[i].shortname) == 0)
			snprintf(iface, sizeof(iface), "%s", mapi_aliases[i].cfg_name);
	struct mp_syntax syn;
	if (mp_iface_resolve(iface, &syn) != MP_OK) {
		snprintf(err, errlen,
		         "--filter '%s': unknown interface '%s' (use a name such as EMSMDB, NSPI, "
		         "RFR, AsyncEMSMDB, samr, epmapper, or a UUID)",
		         spec, iface);
		return MP_ERR_PARSE;
	}
	f.uuid = syn.uuid;
	if (colon) {
		const char *op = colon + 1;
		char *end;
		unsigned long v = strtoul(op, &end, 0);
		if (*op && *end == '\0' && v <= 0xffff) {
			f.opnum = (uint16_t)v;
		} else if (*op && strlen(op) < sizeof(f.name)) {
			f.by_name = true;
			snprintf(f.name, sizeof(f.name), "%s", op);
		} else {
			snprintf(err, errlen, "--filter '%s': OPNUM must be a number or a name",
			         spec);
			return MP_ERR_PARSE;
		}
		f.any_opnum = false;
	}
	d->filters[d->n_filters++] = f;
	return MP_OK;
}

static bool filter_match(const struct mp_dump *d, const struct mp_dce_ctx *ctx, bool have_opnum,
                         uint16_t opnum)
{
	if (!d->n_filters)
		return true;
	if (!ctx)
		return false;
	for (size_t i = 0; i < d->n_filters; i++) {
		const struct filter *f = &d->filters[i];
		if (!mp_uuid_equal(&f->uuid, &ctx->abstract.uuid))
			continue;
		if (f->any_opnum)
			return true;
		if (!have_opnum)
			continue;
		if (!f->by_name && f->opnum == opnum)
			return true;
		const char *name = mp_dump_opnum_name(ctx, opnum);
		if (f->by_name && name && strcasecmp(name, f->name) == 0)
			return true;
	}
	return false;
}

/* ---- helpers -------------------------------------------------------------- */

static void flush(struct mp_dump *d)
{
	size_t len;
	const char *s = mp_printer_output(d->p, &len);
	if (len) {
		fwrite(s, 1, len, d->o.out);
		if (d->o.json)
			fputc('\n', d->o.out);
	}
	mp_printer_reset(d->p);
}

static void fmt_time(const struct timespec *ts, char *out, size_t len)
{
	struct tm tm;
	time_t t = ts->tv_sec;
	if (!gmtime_r(&t, &tm)) {
		snprintf(out, len, "?");
		return;
	}
	long us = (long)(ts->tv_nsec / 1000);
	if (us < 0 || us > 999999)
		us = 0;
	snprintf(out, len, "%04d-%02u-%02uT%02u:%02u:%02u.%06luZ", (tm.tm_year + 1900) % 10000,
	         (unsigned)(tm.tm_mon + 1) % 100, (unsigned)tm.tm_mday % 100,
	         (unsigned)tm.tm_hour % 100, (unsigned)tm.tm_min % 100, (unsigned)tm.tm_sec % 100,
	         (unsigned long)us % 1000000);
}

static double ms_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

/* "samr", "EMSMDB", or the UUID when unknown, or "context 3" without a bind. */
static const char *iface_label(const struct mp_dce_ctx *ctx, uint16_t ctx_id, char *buf, size_t len)
{
	if (ctx && ctx->name)
		return ctx->name;
	if (ctx) {
		char u[MP_UUID_STR_LEN];
		mp_uuid_format(&ctx->abstract.uuid, u);
		snprintf(buf, len, "%s/%u.%u", u, ctx->abstract.major, ctx->abstract.minor);
		return buf;
	}
	snprintf(buf, len, "context %u", ctx_id);
	return buf;
}

/* Top of an event: the JSON members every event has, or the text header. */
static void ev_begin(struct mp_dump *d, const char *type, const char *header,
                     const struct mp_dce_conn_info *conn, const struct timespec *ts)
{
	struct mp_printer *p = d->p;
	if (!d->o.json) {
		mp_pr_begin(p, header);
		return;
	}
	mp_pr_str(p, "type", type);
	if (ts) {
		char t[48];
		fmt_time(ts, t, sizeof(t));
		mp_pr_str(p, "time", t);
	}
	if (conn) {
		mp_pr_uint(p, "conn", conn->id);
		mp_pr_str(p, "client", conn->cli);
		mp_pr_str(p, "server", conn->srv);
	}
}

static void ev_end(struct mp_dump *d)
{
	if (!d->o.json)
		mp_pr_end(d->p);
	flush(d);
}

static void syntax_str(const struct mp_syntax *s, char *out, size_t len)
{
	char u[MP_UUID_STR_LEN];
	mp_uuid_format(&s->uuid, u);
	const char *name = mp_syntax_equal(s, &mp_syntax_ndr20)   ? " (NDR)"
	                   : mp_syntax_equal(s, &mp_syntax_ndr64) ? " (NDR64)"
	                                                          : "";
	snprintf(out, len, "%s/%u.%u%s", u, s->major, s->minor, name);
}

/* ---- calls ---------------------------------------------------------------- */

static void count_op(struct mp_dump *d, const struct mp_dce_call *k, const char *iface,
                     const char *name)
{
	struct opstat *s = NULL;
	for (size_t i = 0; i < d->n_ops && !s; i++)
		if (d->ops[i].have_opnum == k->have_opnum && d->ops[i].opnum == k->opnum &&
		    strcmp(d->ops[i].iface, iface) == 0)
			s = &d->ops[i];
	if (!s) {
		if (d->n_ops >= MAX_OPSTATS) {
			d->ops_other++;
			return;
		}
		s = &d->ops[d->n_ops++];
		snprintf(s->iface, sizeof(s->iface), "%s", iface);
		s->have_opnum = k->have_opnum;
		s->opnum = k->opnum;
		s->name = name;
	}
	s->count++;
	if (k->end)
		s->incomplete++;
}

/* Why a stub is shown as bytes rather than decoded; NULL when it can be. */
static const char *undecodable(const struct mp_dce_call *k, const struct mp_dce_half *h, char *buf,
                               size_t len)
{
	if (!k->ctx) {
		snprintf(buf, len,
		         "presentation context %u is unknown (its bind is not in the capture)",
		         k->ctx_id);
		return buf;
	}
	if (k->ctx->mapi < 0) {
		snprintf(buf, len, "no decoder for %s",
		         k->ctx->name ? k->ctx->name : "this interface");
		return buf;
	}
	if (k->ctx->ndr64)
		return "NDR64 transfer syntax: not decoded";
	if (!k->have_opnum)
		return "the opnum is unknown (the request is not in the capture)";
	if (h->stub_cut)
		return "the stub is longer than the size limit: only its start was kept";
	if (h->gap)
		return "bytes of the stub are missing";
	if (h->prot == MP_CAP_PROT_BAD)
		return "the signature does not match: not decoded";
	return NULL;
}

/* Decode one half down to ROPs; NULL with *why set when it cannot be. */
static struct mp_mapi_view *decode_half(struct mp_dump *d, void *mem, const struct mp_dce_call *k,
                                        const struct mp_dce_half *h, enum mp_call_dir dir,
                                        const struct mp_mapi_view *request, char *buf,
                                        size_t len, const char **why)
{
	*why = h->stub ? undecodable(k, h, buf, len) : "no stub";
	if (*why)
		return NULL;
	const char *reason = NULL;
	struct mp_mapi_call *mc = mp_mapi_decode(mem, (enum mp_mapi_iface)k->ctx->mapi, k->opnum,
	                                         dir, h->stub, h->stub_kept, &reason);
	if (!mc) {
		if (reason && strcmp(reason, "unknown opnum") == 0)
			snprintf(buf, len, "no codec for this operation yet");
		else
			snprintf(buf, len, "decoding failed: %s", reason ? reason : "?");
		*why = buf;
		return NULL;
	}
	return mp_mapi_view_new(mem, mc, request, conn_state(d, k->conn->id), true);
}

static void print_stub(struct mp_dump *d, const struct mp_dce_half *h,
                       const struct mp_mapi_view *v, const char *why)
{
	struct mp_printer *p = d->p;
	if (v) {
		mp_mapi_view_print(p, v);
		return;
	}
	mp_pr_str(p, "undecoded", why);
	mp_pr_bytes(p, "stub", h->stub, h->stub_kept);
}

static void print_half(struct mp_dump *d, const struct mp_dce_half *h, enum mp_call_dir dir,
                       const struct mp_mapi_view *v, const char *why)
{
	struct mp_printer *p = d->p;
	const char *what = dir == MP_CALL_REQUEST ? "request" : "response";
	const char *level = h->auth_level ? mp_auth_level_name(h->auth_level) : NULL;
	const char *prot = mp_cap_prot_name((enum mp_cap_prot)h->prot);
	if (d->o.json) {
		mp_pr_begin(p, what);
		mp_pr_uint(p, "frags", h->frags);
		mp_pr_uint(p, "wire_bytes", h->wire_bytes);
		mp_pr_uint(p, "stub_bytes", h->stub_len);
		mp_pr_str(p, "auth_level", level);
		mp_pr_str(p, "protection", prot);
		mp_pr_uint(p, "frame_first", h->frame_first);
		mp_pr_uint(p, "frame_last", h->frame_last);
		if (!h->complete)
			mp_pr_bool(p, "complete", false);
	} else {
		char label[200];
		int n = snprintf(label, sizeof(label), "%s: %zu bytes, %u fragment%s", what,
		                 h->stub_len, h->frags, h->frags == 1 ? "" : "s");
		if (level && n > 0 && (size_t)n < sizeof(label))
			n += snprintf(label + n, sizeof(label) - (size_t)n, ", %s %s", level, prot);
		if (!h->complete && n > 0 && (size_t)n < sizeof(label))
			snprintf(label + n, sizeof(label) - (size_t)n, ", incomplete");
		mp_pr_begin(p, label);
	}
	if (h->why)
		mp_pr_str(p, "problem", h->why);
	if (h->stub)
		print_stub(d, h, v, why);
	mp_pr_end(p);
}

static void on_call(void *arg, const struct mp_dce_call *k)
{
	struct mp_dump *d = arg;
	if (!filter_match(d, k->ctx, k->have_opnum, k->opnum))
		return;
	char ibuf[80];
	const char *iface = iface_label(k->ctx, k->ctx_id, ibuf, sizeof(ibuf));
	const char *name = k->have_opnum ? mp_dump_opnum_name(k->ctx, k->opnum) : NULL;
	count_op(d, k, iface, name);
	d->calls_shown++;
	if (d->o.quiet)
		return;

	const struct timespec *t0 = k->req.seen ? &k->req.t_first : &k->rsp.t_first;
	bool timed = k->req.complete && k->rsp.complete;
	double lat = timed ? ms_between(&k->req.t_last, &k->rsp.t_last) : 0;
	struct mp_printer *p = d->p;

	char header[512] = "";
	if (!d->o.json) {
		char t[48], op[96], tail[200] = "";
		fmt_time(t0, t, sizeof(t));
		if (k->have_opnum)
			snprintf(op, sizeof(op), "%s (opnum %u)", name ? name : "?", k->opnum);
		else
			snprintf(op, sizeof(op), "opnum ?");
		size_t n = 0;
		if (timed)
			n += (size_t)snprintf(tail + n, sizeof(tail) - n, ", %.3f ms", lat);
		if (k->fault && n < sizeof(tail))
			n += (size_t)snprintf(tail + n, sizeof(tail) - n, ", fault 0x%08x %s",
			                      k->fault_status, mp_fault_name(k->fault_status));
		if (k->end && n < sizeof(tail))
			snprintf(tail + n, sizeof(tail) - n, ", INCOMPLETE");
		snprintf(header, sizeof(header), "%s #%" PRIu64 " %s -> %s %s %s call_id %u%s", t,
		         k->conn->id, k->conn->cli, k->conn->srv, iface, op, k->call_id, tail);
	}
	ev_begin(d, "call", header, k->conn, t0);
	if (d->o.json) {
		mp_pr_str(p, "interface", iface);
		if (k->ctx) {
			char syn[80];
			syntax_str(&k->ctx->abstract, syn, sizeof(syn));
			mp_pr_str(p, "uuid", syn);
		}
		mp_pr_uint(p, "ctx_id", k->ctx_id);
		mp_pr_uint(p, "call_id", k->call_id);
		if (k->have_opnum)
			mp_pr_uint(p, "opnum", k->opnum);
		else
			mp_pr_str(p, "opnum", NULL);
		mp_pr_str(p, "name", name);
		if (timed)
			mp_pr_double(p, "latency_ms", lat);
	}
	if (k->end)
		mp_pr_str(p, "incomplete", k->end);
	if (k->has_object)
		mp_pr_guid(p, "object", k->object.b);
	if (k->maybe)
		mp_pr_bool(p, "maybe", true);
	if (k->fault) {
		mp_pr_begin(p, "fault");
		mp_pr_enum(p, "status", k->fault_status, 8,
		           strcmp(mp_fault_name(k->fault_status), "unknown")
		               ? mp_fault_name(k->fault_status)
		               : NULL);
		mp_pr_bool(p, "did_not_execute", k->did_not_execute);
		mp_pr_end(p);
	}
	/* Both halves decoded first: the response's ROPs need the request's. */
	void *mem = talloc_new(NULL);
	char bq[160], bs[160];
	const char *wq = NULL, *ws = NULL;
	struct mp_mapi_view *vq = NULL, *vs = NULL;
	if (mem && k->req.seen)
		vq = decode_half(d, mem, k, &k->req, MP_CALL_REQUEST, NULL, bq, sizeof(bq), &wq);
	if (mem && k->rsp.seen && !k->fault)
		vs = decode_half(d, mem, k, &k->rsp, MP_CALL_RESPONSE, vq, bs, sizeof(bs), &ws);
	if (k->req.seen)
		print_half(d, &k->req, MP_CALL_REQUEST, vq, wq ? wq : "out of memory");
	if (k->rsp.seen && !k->fault)
		print_half(d, &k->rsp, MP_CALL_RESPONSE, vs, ws ? ws : "out of memory");
	if (vq && k->ctx)
		mp_mapi_state_update(conn_state(d, k->conn->id), vq, vs);
	talloc_free(mem);
	ev_end(d);
}

/* ---- PDUs ----------------------------------------------------------------- */

static void print_ctx_entry(struct mp_dump *d, const struct mp_pdu_ctx *c)
{
	struct mp_printer *p = d->p;
	struct mp_dce_ctx x = {.abstract = c->abstract, .ts = c->ts[0]};
	char label[96];
	/* The same naming as the association uses. */
	const char *name = NULL;
	for (const struct mp_iface *i = mp_ifaces; i->name && !name; i++) {
		struct mp_uuid u;
		if (mp_uuid_parse(i->uuid, &u) == MP_OK && mp_uuid_equal(&u, &x.abstract.uuid))
			name = i->name;
	}
	char syn[80];
	syntax_str(&c->abstract, syn, sizeof(syn));
	if (d->o.json) {
		mp_pr_begin(p, NULL);
		mp_pr_uint(p, "ctx_id", c->id);
		mp_pr_str(p, "interface", name);
		mp_pr_str(p, "uuid", syn);
	} else {
		snprintf(label, sizeof(label), "context %u: %s", c->id, name ? name : syn);
		mp_pr_begin(p, label);
		if (name)
			mp_pr_str(p, "uuid", syn);
	}
	mp_pr_begin_array(p, "transfer_syntaxes", c->n_ts);
	for (unsigned t = 0; t < c->n_ts; t++) {
		syntax_str(&c->ts[t], syn, sizeof(syn));
		mp_pr_str(p, NULL, syn);
	}
	mp_pr_end_array(p);
	mp_pr_end(p);
}

static const char *result_name(uint16_t r)
{
	switch (r) {
	case MP_CTX_ACCEPT:
		return "acceptance";
	case MP_CTX_USER_REJECT:
		return "user_rejection";
	case MP_CTX_PROVIDER_REJECT:
		return "provider_rejection";
	case MP_CTX_NEGOTIATE_ACK:
		return "negotiate_ack";
	}
	return NULL;
}

static void print_auth_trailer(struct mp_dump *d, const struct mp_pdu *pdu)
{
	struct mp_printer *p = d->p;
	if (!pdu->has_auth)
		return;
	mp_pr_begin(p, "auth");
	mp_pr_enum(p, "type", pdu->auth.type, 2, mp_auth_type_name(pdu->auth.type));
	mp_pr_enum(p, "level", pdu->auth.level, 2, mp_auth_level_name(pdu->auth.level));
	mp_pr_uint(p, "ctx_id", pdu->auth.ctx_id);
	mp_pr_uint(p, "length", pdu->hdr.auth_len);
	int t = mp_ntlm_msg_type(pdu->auth.value, pdu->hdr.auth_len);
	if (t == MP_NTLM_NEGOTIATE || t == MP_NTLM_CHALLENGE || t == MP_NTLM_AUTHENTICATE)
		mp_pr_str(p, "ntlmssp",
		          t == MP_NTLM_NEGOTIATE   ? "NEGOTIATE"
		          : t == MP_NTLM_CHALLENGE ? "CHALLENGE"
		                                   : "AUTHENTICATE");
	mp_pr_end(p);
}

static void on_pdu(void *arg, const struct mp_dce_pdu_ev *ev)
{
	struct mp_dump *d = arg;
	const struct mp_pdu *pdu = ev->pdu;
	uint8_t ptype = pdu->hdr.ptype;
	bool callpdu = ptype == MP_PDU_REQUEST || ptype == MP_PDU_RESPONSE || ptype == MP_PDU_FAULT;
	if (d->o.quiet || (callpdu && !d->o.pdus))
		return;
	if (d->n_filters && !filter_match(d, ev->ctx, ev->have_opnum, ev->opnum))
		return;
	struct mp_printer *p = d->p;
	char header[400] = "";
	if (!d->o.json) {
		char t[48], extra[96] = "";
		fmt_time(&ev->ts, t, sizeof(t));
		if (ev->have_opnum)
			snprintf(extra, sizeof(extra), " opnum %u", ev->opnum);
		snprintf(header, sizeof(header), "%s #%" PRIu64 " %s %s %s %s call_id %u%s%s", t,
		         ev->conn->id, ev->conn->cli, ev->dir ? "<-" : "->", ev->conn->srv,
		         mp_pdu_type_name(ptype), pdu->hdr.call_id, extra,
		         ev->parsed ? "" : " (malformed)");
	}
	ev_begin(d, "pdu", header, ev->conn, &ev->ts);
	if (d->o.json) {
		mp_pr_str(p, "dir", ev->dir ? "s2c" : "c2s");
		mp_pr_uint(p, "frame", ev->frame);
		mp_pr_uint(p, "ptype", ptype);
		mp_pr_str(p, "ptype_name", mp_pdu_type_name(ptype));
		mp_pr_uint(p, "call_id", pdu->hdr.call_id);
		if (ev->have_opnum)
			mp_pr_uint(p, "opnum", ev->opnum);
		if (!ev->parsed)
			mp_pr_bool(p, "malformed", true);
	}
	static const struct mp_flag_name pfc_names[] = {
	    {MP_PFC_FIRST_FRAG, "FIRST"},
	    {MP_PFC_LAST_FRAG, "LAST"},
	    {MP_PFC_PENDING_CANCEL, "PENDING_CANCEL/HDR_SIGN"},
	    {MP_PFC_CONC_MPX, "CONC_MPX"},
	    {MP_PFC_DID_NOT_EXECUTE, "DID_NOT_EXECUTE"},
	    {MP_PFC_MAYBE, "MAYBE"},
	    {MP_PFC_OBJECT_UUID, "OBJECT_UUID"},
	    {0, NULL},
	};
	mp_pr_flags(p, "flags", pdu->hdr.pfc_flags, 2, pfc_names);
	mp_pr_uint(p, "frag_len", pdu->hdr.frag_len);
	if (ev->parsed) {
		switch (ptype) {
		case MP_PDU_BIND:
		case MP_PDU_ALTER: {
			const struct mp_pdu_bind *b = &pdu->u.bind;
			mp_pr_uint(p, "max_xmit", b->max_xmit);
			mp_pr_uint(p, "max_recv", b->max_recv);
			mp_pr_hex(p, "assoc_group", b->assoc_group, 8);
			mp_pr_begin_array(p, "contexts", b->n_ctx);
			for (unsigned i = 0; i < b->n_ctx; i++)
				print_ctx_entry(d, &b->ctx[i]);
			mp_pr_end_array(p);
			break;
		}
		case MP_PDU_BIND_ACK:
		case MP_PDU_ALTER_RESP: {
			const struct mp_pdu_bind_ack *a = &pdu->u.bind_ack;
			mp_pr_uint(p, "max_xmit", a->max_xmit);
			mp_pr_uint(p, "max_recv", a->max_recv);
			mp_pr_hex(p, "assoc_group", a->assoc_group, 8);
			if (a->sec_addr[0])
				mp_pr_str(p, "sec_addr", a->sec_addr);
			mp_pr_begin_array(p, "results", ev->n_results);
			for (size_t i = 0; i < ev->n_results; i++) {
				const struct mp_dce_ctx *x = &ev->results[i];
				char syn[80], ib[80];
				mp_pr_begin(p, NULL);
				mp_pr_uint(p, "ctx_id", x->id);
				mp_pr_enum(p, "result", x->result, 0, result_name(x->result));
				if (!x->accepted)
					mp_pr_uint(p, "reason", x->reason);
				mp_pr_str(p, "interface", iface_label(x, x->id, ib, sizeof(ib)));
				syntax_str(&x->ts, syn, sizeof(syn));
				mp_pr_str(p, "transfer_syntax", syn);
				mp_pr_end(p);
			}
			mp_pr_end_array(p);
			break;
		}
		case MP_PDU_BIND_NAK:
			mp_pr_uint(p, "reason", pdu->u.bind_nak.reason);
			break;
		case MP_PDU_REQUEST:
			mp_pr_uint(p, "ctx_id", pdu->u.request.ctx_id);
			mp_pr_uint(p, "alloc_hint", pdu->u.request.alloc_hint);
			mp_pr_uint(p, "stub_bytes", pdu->stub_len);
			mp_pr_str(p, "protection", mp_cap_prot_name((enum mp_cap_prot)ev->prot));
			break;
		case MP_PDU_RESPONSE:
			mp_pr_uint(p, "ctx_id", pdu->u.response.ctx_id);
			mp_pr_uint(p, "alloc_hint", pdu->u.response.alloc_hint);
			mp_pr_uint(p, "stub_bytes", pdu->stub_len);
			mp_pr_str(p, "protection", mp_cap_prot_name((enum mp_cap_prot)ev->prot));
			break;
		case MP_PDU_FAULT:
			mp_pr_hex(p, "status", pdu->u.fault.status, 8);
			break;
		default:
			break;
		}
		print_auth_trailer(d, pdu);
	}
	ev_end(d);
}

/* ---- notes and summary --------------------------------------------------- */

static void on_note(void *arg, const struct mp_dce_conn_info *conn, const struct timespec *ts,
                    enum mp_dce_note_level level, const char *text)
{
	struct mp_dump *d = arg;
	if (level == MP_DCE_NOTE_WARN)
		d->warnings++;
	if (d->o.quiet || (d->n_filters && level != MP_DCE_NOTE_WARN))
		return;
	char header[700] = "";
	if (!d->o.json) {
		char t[48];
		fmt_time(ts, t, sizeof(t));
		snprintf(header, sizeof(header), "%s #%" PRIu64 " %s -> %s %s: %s", t, conn->id,
		         conn->cli, conn->srv, level == MP_DCE_NOTE_WARN ? "warning" : "note",
		         text);
	}
	ev_begin(d, "note", header, conn, ts);
	if (d->o.json) {
		mp_pr_str(d->p, "level", level == MP_DCE_NOTE_WARN ? "warning" : "info");
		mp_pr_str(d->p, "text", text);
	}
	ev_end(d);
}

void mp_dump_sink(struct mp_dump *d, struct mp_dce_sink *out)
{
	out->pdu = on_pdu;
	out->call = on_call;
	out->note = on_note;
	out->arg = d;
}

void mp_dump_summary(struct mp_dump *d, const struct mp_pcap_stats *pcap,
                     const struct mp_tcp_stats *tcp, const struct mp_dce_tracker_stats *dce)
{
	struct mp_printer *p = d->p;
	ev_begin(d, "summary", "summary", NULL, NULL);
	if (pcap) {
		mp_pr_begin(p, "capture");
		mp_pr_str(p, "link_type", mp_cap_dlt_name(pcap->dlt));
		mp_pr_uint(p, "frames", pcap->frames);
		mp_pr_uint(p, "tcp_segments", pcap->tcp);
		mp_pr_uint(p, "other_frames", pcap->not_tcp);
		if (pcap->ip_fragments)
			mp_pr_uint(p, "ip_fragments_skipped", pcap->ip_fragments);
		if (pcap->truncated)
			mp_pr_uint(p, "truncated_frames_skipped", pcap->truncated);
		if (pcap->cut_payload)
			mp_pr_uint(p, "segments_cut_by_snaplen", pcap->cut_payload);
		if (pcap->malformed)
			mp_pr_uint(p, "malformed_frames", pcap->malformed);
		mp_pr_end(p);
	}
	if (tcp) {
		mp_pr_begin(p, "tcp");
		mp_pr_uint(p, "connections", tcp->conns);
		mp_pr_uint(p, "gaps", tcp->gaps);
		mp_pr_uint(p, "missing_bytes", tcp->gap_bytes);
		mp_pr_uint(p, "retransmitted_bytes", tcp->retransmitted);
		mp_pr_uint(p, "out_of_order_segments", tcp->out_of_order);
		if (tcp->evicted)
			mp_pr_uint(p, "evicted_connections", tcp->evicted);
		mp_pr_end(p);
	}
	if (dce) {
		const struct mp_dce_stats *s = &dce->dce;
		mp_pr_begin(p, "dcerpc");
		mp_pr_uint(p, "connections", dce->followed);
		mp_pr_uint(p, "other_connections", dce->ignored);
		mp_pr_uint(p, "pdus", s->pdus);
		mp_pr_uint(p, "calls", s->calls);
		mp_pr_uint(p, "incomplete_calls", s->incomplete_calls);
		mp_pr_uint(p, "malformed_pdus", s->bad_pdus);
		mp_pr_uint(p, "resyncs", s->resyncs);
		mp_pr_uint(p, "skipped_bytes", s->skipped_bytes);
		mp_pr_uint(p, "fragments_decrypted", s->decrypted);
		mp_pr_uint(p, "fragments_verified", s->verified);
		mp_pr_uint(p, "fragments_sealed", s->sealed);
		mp_pr_uint(p, "bad_signatures", s->bad_signature);
		mp_pr_end(p);
	}
	mp_pr_uint(p, "calls_shown", d->calls_shown);
	mp_pr_uint(p, "warnings", d->warnings);
	mp_pr_begin_array(p, "operations", d->n_ops);
	for (size_t i = 0; i < d->n_ops; i++) {
		const struct opstat *s = &d->ops[i];
		mp_pr_begin(p, NULL);
		mp_pr_str(p, "interface", s->iface);
		if (s->have_opnum)
			mp_pr_uint(p, "opnum", s->opnum);
		else
			mp_pr_str(p, "opnum", NULL);
		mp_pr_str(p, "name", s->name);
		mp_pr_uint(p, "calls", s->count);
		if (s->incomplete)
			mp_pr_uint(p, "incomplete", s->incomplete);
		mp_pr_end(p);
	}
	mp_pr_end_array(p);
	if (d->ops_other)
		mp_pr_uint(p, "calls_of_other_operations", d->ops_other);
	ev_end(d);
}
