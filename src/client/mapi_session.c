/*
 * The Outlook path to a mailbox (see mapi_session.h).
 */
#include "client/mapi_session.h"

#include "dcerpc/iface.h"
#include "dcerpc/sec.h"
#include "mapi/rfr.h"
#include "util/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <talloc.h>

/* Properties of the user's own address book entry. */
#define TAG_DISPLAY_NAME 0x3001001Fu
#define TAG_EMAIL_ADDRESS 0x3003001Fu /* the legacy DN for EX entries */
#define TAG_SMTP_ADDRESS 0x39FE001Fu
#define TAG_HOME_MDB 0x8006001Fu
#define TAG_NETWORK_ADDRESS 0x8170101Fu

void mp_session_say(const struct mp_session *s, const char *fmt, ...)
{
	if (!s->o.verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("mapiclient: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int fail(struct mp_session *s, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct mp_session *s, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	return rc;
}

struct mp_session *mp_session_new(void *mem, const struct mp_client_opts *o)
{
	struct mp_session *s = talloc_zero(mem, struct mp_session);
	if (!s)
		return NULL;
	s->mem = s;
	s->o = *o;
	s->o.host = talloc_strdup(s, o->host);
	s->o.user = o->user ? talloc_strdup(s, o->user) : NULL;
	s->o.domain = o->domain ? talloc_strdup(s, o->domain) : NULL;
	return s;
}

int mp_session_connect_iface(struct mp_session *s, const char *iface_name, struct mp_rpc_conn **out)
{
	struct mp_rpc_conn_opts co = {
	    .host = s->o.host,
	    .port = s->o.port,
	    .epm_port = s->o.epm_port,
	    .auth_level = s->o.auth_level,
	    .user = s->o.user,
	    .domain = s->o.domain,
	    .password = s->o.password,
	    .timeout_ms = s->o.timeout_ms,
	};
	if (mp_iface_resolve(iface_name, &co.iface) != MP_OK)
		return fail(s, MP_ERR_CONFIG, "unknown interface %s", iface_name);
	char e[300];
	int rc = mp_rpc_conn_open(&co, out, e, sizeof(e));
	if (rc != MP_OK)
		return fail(s, rc, "%s: %s", iface_name, e);
	mp_session_say(s, "%s: bound on %s port %u (%s)", iface_name, s->o.host, mp_rpc_conn_port(*out),
	    mp_auth_level_name(co.auth_level));
	return MP_OK;
}

/* RfrGetNewDSA: the referral to an NSPI server. Failure is not fatal. */
static void rfr_referral(struct mp_session *s)
{
	struct mp_rpc_conn *c = NULL;
	if (mp_session_connect_iface(s, "exchange_ds_rfr", &c) != MP_OK) {
		mp_session_say(s, "RFR not reachable (%s); staying on %s", s->err, s->o.host);
		s->err[0] = 0;
		return;
	}
	struct mp_rfr_get_new_dsa_req req = {
	    .flags = 0,
	    .user_dn = (char *)(s->user_dn ? s->user_dn : ""),
	    .unused = {.present = true, .str = NULL},
	    .server = {.present = true, .str = NULL},
	};
	struct mp_wbuf in, out;
	mp_wb_init(&in);
	mp_wb_init(&out);
	char e[200];
	uint32_t fault = 0;
	if (mp_rfr_push(MP_RFR_GET_NEW_DSA, MP_CALL_REQUEST, &req, &in) &&
	    mp_rpc_conn_call(c, MP_RFR_GET_NEW_DSA, in.data, in.len, &out, &fault, e, sizeof(e)) ==
	        MP_OK) {
		const char *why = NULL;
		struct mp_mapi_call *call = mp_mapi_decode(
		    s, MP_MAPI_RFR, MP_RFR_GET_NEW_DSA, MP_CALL_RESPONSE, out.data, out.len, &why);
		struct mp_rfr_get_new_dsa_rsp *rsp = call ? call->body : NULL;
		if (rsp && rsp->result == 0 && rsp->server.str) {
			s->rfr_server = talloc_strdup(s, rsp->server.str);
			mp_session_say(s, "RfrGetNewDSA: NSPI server %s", s->rfr_server);
		} else {
			mp_session_say(s, "RfrGetNewDSA gave no server (%s)",
			    !call         ? why
			    : rsp->result ? "error result"
			                  : "empty");
		}
	} else {
		mp_session_say(s, "RfrGetNewDSA failed: %s", e);
	}
	mp_wb_free(&in);
	mp_wb_free(&out);
	mp_rpc_conn_close(c);
}

static char *dup_str(void *mem, const char *s)
{
	return s ? talloc_strdup(mem, s) : NULL;
}

int mp_session_open_ab(struct mp_session *s)
{
	rfr_referral(s);
	/* Outlook goes to the referred server. By default we stay on the given
	 * host (it answered RFR, so it serves NSPI too; a test server's own
	 * name is often not reachable from the client); with follow_referral we
	 * go there and fall back to the given host if it cannot be reached. */
	int rc = MP_ERR_NOTFOUND;
	const char *given = s->o.host;
	s->nspi_host = given;
	if (s->o.follow_referral && s->rfr_server && strcasecmp(s->rfr_server, given)) {
		s->o.host = s->rfr_server;
		rc = mp_session_connect_iface(s, "exchange_nsp", &s->nspi_conn);
		s->o.host = given;
		if (rc == MP_OK) {
			s->nspi_host = s->rfr_server;
		} else {
			mp_session_say(s, "referral %s not usable (%s); NSPI on %s", s->rfr_server, s->err,
			    given);
			s->err[0] = 0;
		}
	}
	if (rc != MP_OK)
		rc = mp_session_connect_iface(s, "exchange_nsp", &s->nspi_conn);
	if (rc != MP_OK)
		return rc;
	rc = mp_nspi_client_bind(&s->nspi, s->nspi_conn, 0);
	if (rc != MP_OK) {
		if (rc == MP_RPC_FAULT && s->nspi.fault == 5 &&
		    s->o.auth_level < MP_AUTH_LEVEL_PKT_INTEGRITY)
			return fail(s, rc,
			            "NSPI bind refused: access denied at auth level %s (the server "
			            "probably requires more: try --auth-level privacy; or a wrong "
			            "password?)",
			            mp_auth_level_name(s->o.auth_level));
		if (rc == MP_RPC_FAULT && s->nspi.fault == 5)
			return fail(s, rc,
			            "NSPI bind refused: access denied (wrong password or unknown "
			            "user %s?)",
			            s->o.user);
		if (rc == MP_RPC_FAULT)
			return fail(s, rc,
			            "NSPI bind refused: %s (wrong password? a wrong password shows "
			            "at the first call)",
			            s->nspi.err);
		return fail(s, rc, "NSPI bind failed: %s", s->nspi.err);
	}
	s->nspi_bound = true;
	mp_session_say(s, "NspiBind: ok");

	/* The user's own entry, by account name (ResolveNames matches it). */
	const char *names[1] = {s->o.user};
	static const uint32_t tags[] = {TAG_DISPLAY_NAME, TAG_EMAIL_ADDRESS, TAG_SMTP_ADDRESS};
	struct mp_nspi_proptags *mids = NULL;
	struct mp_nspi_rowset *rows = NULL;
	rc = mp_nspi_client_resolve_names(&s->nspi, s, names, 1, tags, 3, &mids, &rows);
	if (rc != MP_OK)
		return fail(s, rc, "NspiResolveNamesW for %s: %s", s->o.user, s->nspi.err);
	if (!mids || mids->count < 1 || mids->tags[0] <= 1)
		return fail(s, MP_ERR_NOTFOUND,
		            "the address book has no %s entry for %s (ask the administrator)",
		            mids && mids->count && mids->tags[0] == 1 ? "unambiguous" : "",
		            s->o.user);
	s->mid = mids->tags[0];
	static const uint32_t ptags[] = {TAG_DISPLAY_NAME, TAG_EMAIL_ADDRESS, TAG_SMTP_ADDRESS,
	                                 TAG_HOME_MDB, TAG_NETWORK_ADDRESS};
	struct mp_nspi_row *row = NULL;
	rc = mp_nspi_client_get_props(&s->nspi, s, s->mid, ptags, 5, &row);
	if (rc != MP_OK)
		return fail(s, rc, "NspiGetProps of %s: %s", s->o.user, s->nspi.err);
	s->display_name = dup_str(s, mp_nspi_client_row_str(row, TAG_DISPLAY_NAME));
	s->user_dn = dup_str(s, mp_nspi_client_row_str(row, TAG_EMAIL_ADDRESS));
	s->smtp = dup_str(s, mp_nspi_client_row_str(row, TAG_SMTP_ADDRESS));
	s->home_mdb = dup_str(s, mp_nspi_client_row_str(row, TAG_HOME_MDB));
	const struct mp_nspi_propval *na = mp_nspi_row_find(row, TAG_NETWORK_ADDRESS);
	if (na) {
		s->n_net_addrs = na->value.MVszW.count;
		s->net_addrs = na->value.MVszW.strs;
	}
	mp_session_say(s, "user %s: DN %s, home MDB %s", s->display_name ? s->display_name : "?",
	    s->user_dn ? s->user_dn : "?", s->home_mdb ? s->home_mdb : "?");
	return MP_OK;
}

int mp_session_open_store(struct mp_session *s)
{
	if (!s->user_dn)
		return fail(s, MP_ERR_NOTFOUND,
		            "the address book entry of %s has no legacy DN: cannot open a store",
		            s->o.user);
	int rc = mp_session_connect_iface(s, "exchange_emsmdb", &s->emsmdb_conn);
	if (rc != MP_OK)
		return rc;
	rc = mp_emsmdb_client_connect(&s->emsmdb, s->emsmdb_conn, s->user_dn);
	if (rc != MP_OK)
		return fail(s, rc, "EMSMDB connect failed: %s", s->emsmdb.err);
	s->connected = true;
	s->used_legacy_connect = s->emsmdb.legacy;
	mp_session_say(s, "%s: ok (server %u.%u.%u)", s->emsmdb.legacy ? "EcDoConnect" : "EcDoConnectEx",
	    s->emsmdb.server_version[0], s->emsmdb.server_version[1], s->emsmdb.server_version[2]);
	rc = mp_rop_client_init(&s->rop, s, &s->emsmdb);
	if (rc != MP_OK)
		return fail(s, rc, "out of memory");

	void *mem = talloc_new(s);
	struct mp_rop_req r;
	mp_rop_req_init(&r);
	uint8_t out = mp_rop_req_slot(&r);
	/* Private mailbox; USE_PER_MDB_REPLID_MAPPING | HOME_LOGON | TAKE_OWNERSHIP. */
	mp_rop_add_logon(&r, out, 0x01, 0x0100000Cu, s->user_dn);
	struct mp_rop_buf *rsp = NULL;
	const struct mp_rop *rop = NULL;
	rc = mp_rop_client_exec(&s->rop, mem, &r, &rsp);
	if (rc == MP_OK)
		rc = mp_rop_client_result(&s->rop, rsp, 0, "RopLogon", &rop);
	mp_rop_req_free(&r);
	if (rc != MP_OK) {
		fail(s, rc, "logon to the mailbox failed: %s", s->rop.err);
		talloc_free(mem);
		return rc;
	}
	static const char *const names[13] = {
	    "Root",   "DeferredAction", "SpoolerQueue", "IpmSubtree",  "Inbox",
	    "Outbox", "SentItems",      "DeletedItems", "CommonViews", "Schedule",
	    "Finder", "Views",          "Shortcuts"};
	for (int i = 0; i < 13; i++) {
		uint64_t v = 0;
		if (!mp_rop_get_uint(rop, names[i], &v)) {
			talloc_free(mem);
			return fail(s, MP_ERR_PARSE, "RopLogon answer lacks the %s folder ID",
			            names[i]);
		}
		s->folder_ids[i] = v;
	}
	if (rsp->n_handles <= out || rsp->handles[out] == MP_ROP_NO_HANDLE) {
		talloc_free(mem);
		return fail(s, MP_ERR_PARSE, "RopLogon answer has no logon object handle");
	}
	s->logon_handle = rsp->handles[out];
	s->logged_on = true;
	mp_session_say(s, "RopLogon: ok (Inbox 0x%016llx)", (unsigned long long)s->folder_ids[MP_FID_INBOX]);
	talloc_free(mem);
	return MP_OK;
}

void mp_session_close(struct mp_session *s)
{
	if (s->logged_on) {
		void *mem = talloc_new(s);
		struct mp_rop_req r;
		mp_rop_req_init(&r);
		mp_rop_add_release(&r, mp_rop_req_handle(&r, s->logon_handle));
		struct mp_rop_buf *rsp;
		(void)mp_rop_client_exec(&s->rop, mem, &r, &rsp);
		mp_rop_req_free(&r);
		talloc_free(mem);
		s->logged_on = false;
	}
	if (s->connected)
		(void)mp_emsmdb_client_disconnect(&s->emsmdb);
	s->connected = false;
	mp_rpc_conn_close(s->emsmdb_conn);
	s->emsmdb_conn = NULL;
	if (s->nspi_bound)
		(void)mp_nspi_client_unbind(&s->nspi);
	s->nspi_bound = false;
	mp_rpc_conn_close(s->nspi_conn);
	s->nspi_conn = NULL;
}
