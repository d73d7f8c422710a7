/*
 * rewrite — keep address book clients on the proxy (the original MAPIProxy's
 * "NSPI bindings replacement" and "NSPI referral replacement").
 *
 * An Outlook-style client learns where its servers are from the address
 * book: RfrGetNewDSA names the NSPI server, the user's PR_EMS_AB_HOME_MDB
 * names the mailbox server in a DN (".../cn=Servers/cn=EXSRV01/cn=Microsoft
 * Private MDB"), NspiDNToMId + NspiGetProps of that server object give its
 * PR_EMS_AB_NETWORK_ADDRESS bindings ("ncacn_ip_tcp:exsrv01.corp.test"),
 * and RfrGetFQDNFromServerDN turns a server DN into an FQDN. This module
 * puts the proxy's names in those answers, so the client comes back to the
 * proxy instead of going around it:
 *
 *   replies   RfrGetNewDSA, RfrGetFQDNFromServerDN    server FQDN -> ours
 *             NSPI rows (GetProps, QueryRows, SeekEntries, GetMatches,
 *             ResolveNames[W])
 *               PR_EMS_AB_NETWORK_ADDRESS              -> "PROTSEQ:our fqdn"
 *               strings naming ".../cn=Servers/cn=X"   X -> our name
 *               entry IDs and "EX:" search keys holding such a DN
 *               strings that are a server name seen before -> ours
 *   requests  NspiDNToMId, RfrGetFQDNFromServerDN      our name -> the
 *             server's name, so that the server finds its own objects
 *
 * The server's names are learnt from the replies (the first server name
 * seen in a DN is the one inbound DNs go back to) unless set:
 *
 *	rewrite:fqdn         our FQDN (default: mapiproxy:fqdn)
 *	rewrite:name         our name in DNs (default: the FQDN's first label)
 *	rewrite:bindings     protocol sequences advertised in network addresses
 *	                     (default: ncacn_ip_tcp)
 *	rewrite:server name  the server's name in DNs (default: learnt)
 *
 * docs/modules/rewrite.md describes the options, behaviour and limits.
 */
#include <mapiproxy/module.h>

#include "mapi/nspi.h"
#include "mapi/rfr.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <talloc.h>

#define PID(tag) ((tag) >> 16)
#define PID_NETWORK_ADDRESS 0x8170u   /* PR_EMS_AB_NETWORK_ADDRESS */
#define SERVERS_RDN "/cn=Servers/cn=" /* where a DN names an Exchange server */
#define MAX_LEARNT 16                 /* server names replaced where they stand alone */
#define MAX_BINDINGS 8

/* A server name seen in a reply, and what clients are shown instead. */
struct rw_name {
	char *name;
	const char *shown_as; /* rw_global's name or fqdn */
};

struct rw_global {
	char *fqdn;                   /* ours */
	char *name;                   /* ours, in DNs */
	char *bindings[MAX_BINDINGS]; /* "ncacn_ip_tcp:fqdn", ... */
	size_t n_bindings;
	char *server_name; /* the server's name in DNs: configured or first learnt */
	struct rw_name learnt[MAX_LEARNT]; /* every server name seen (DN names and hosts) */
	size_t n_learnt;
	bool warned_full;
};

/* ---- strings ---------------------------------------------------------- */

/* First case-insensitive (ASCII) occurrence of `needle` in `s`, or NULL. */
static const char *find_ci(const char *s, const char *needle)
{
	size_t n = strlen(needle);
	for (; *s; s++)
		if (strncasecmp(s, needle, n) == 0)
			return s;
	return NULL;
}

/* The server name a DN holds after "/cn=Servers/cn=": its offset and
 * length; false when the DN names no server. */
static bool dn_server(const char *dn, size_t *off, size_t *len)
{
	const char *p = find_ci(dn, SERVERS_RDN);
	if (!p)
		return false;
	p += strlen(SERVERS_RDN);
	*off = (size_t)(p - dn);
	*len = strcspn(p, "/");
	return *len > 0;
}

/* `dn` with its server name replaced by `to` when the name is `from` (NULL:
 * whatever it is), under mem; NULL when nothing changes (or no memory).
 * `upper`: write `to` in capitals (search keys are upper case). The name
 * found goes to found[] (cut to its size). */
static char *dn_swap(void *mem, const char *dn, const char *from, const char *to, bool upper,
                     char *found, size_t found_sz)
{
	size_t off, len;
	if (!dn || !dn_server(dn, &off, &len))
		return NULL;
	snprintf(found, found_sz, "%.*s", (int)len, dn + off);
	if (from && (strlen(from) != len || strncasecmp(dn + off, from, len) != 0))
		return NULL;
	if (strlen(to) == len && strncasecmp(dn + off, to, len) == 0)
		return NULL; /* already ours */
	char *out = talloc_asprintf(mem, "%.*s%s%s", (int)off, dn, to, dn + off + len);
	if (out && upper)
		for (char *p = out + off; p < out + off + strlen(to); p++)
			*p = (char)toupper((unsigned char)*p);
	return out;
}

/* ---- what we learn ---------------------------------------------------- */

static void learn(struct rw_global *g, const char *name, const char *where, const char *shown_as)
{
	if (!name[0] || strcasecmp(name, shown_as) == 0)
		return;
	for (size_t i = 0; i < g->n_learnt; i++)
		if (strcasecmp(g->learnt[i].name, name) == 0)
			return;
	if (g->n_learnt == MAX_LEARNT) {
		if (!g->warned_full)
			mp_module_log(MP_MODULE_LOG_INFO,
			              "more than %d server names seen; the others are not replaced "
			              "where they stand alone",
			              MAX_LEARNT);
		g->warned_full = true;
		return;
	}
	struct rw_name *n = &g->learnt[g->n_learnt];
	if (!(n->name = talloc_strdup(g, name)))
		return;
	n->shown_as = shown_as;
	g->n_learnt++;
	mp_module_log(MP_MODULE_LOG_INFO, "server name %s (from %s) is shown to clients as %s",
	              name, where, shown_as);
}

/* A whole value that is a server name we know (the server object's display
 * name, a host name property): what clients see instead, or NULL. */
static const char *known_name(const struct rw_global *g, const char *s)
{
	for (size_t i = 0; s && i < g->n_learnt; i++)
		if (strcasecmp(g->learnt[i].name, s) == 0)
			return g->learnt[i].shown_as;
	return NULL;
}

/* A server name in a DN: the first one is where inbound DNs go back to. */
static void learn_dn_name(struct rw_global *g, const char *name, const char *where)
{
	learn(g, name, where, g->name);
	if (!g->server_name && strcasecmp(name, g->name) != 0) {
		g->server_name = talloc_strdup(g, name);
		if (g->server_name)
			mp_module_log(MP_MODULE_LOG_INFO,
			              "DNs naming %s in requests go to the server as %s "
			              "(rewrite:server name pins this)",
			              g->name, g->server_name);
	}
}

/* ---- replies: NSPI rows ------------------------------------------------ */

struct rw_ctx {
	struct rw_global *g;
	void *mem;
	const char *where; /* "NspiGetProps", ... for the log */
};

/* A string that holds a server DN, or is a server name: replaced in place. */
static bool swap_string(struct rw_ctx *x, char **s)
{
	char found[256];
	char *n = dn_swap(x->mem, *s, NULL, x->g->name, false, found, sizeof(found));
	if (n) {
		learn_dn_name(x->g, found, x->where);
		*s = n;
		return true;
	}
	const char *ours = known_name(x->g, *s);
	if (!ours)
		return false;
	*s = (char *)ours; /* only read by the encoder */
	return true;
}

/* A binary value: a permanent entry ID, or an "EX:" search key, naming a
 * server DN. */
static bool swap_binary(struct rw_ctx *x, struct mp_nspi_binary *b)
{
	char found[256];
	struct mp_nspi_entryid e;
	if (!b->lpb)
		return false;
	if (mp_nspi_entryid_parse(b->lpb, b->cb, &e) && e.kind == MP_NSPI_ENTRYID_PERMANENT) {
		char *dn = dn_swap(x->mem, e.dn, NULL, x->g->name, false, found, sizeof(found));
		size_t n;
		uint8_t *nb;
		if (!dn)
			return false;
		e.dn = dn;
		if (!(nb = mp_nspi_entryid_build(x->mem, &e, &n)))
			return false;
		learn_dn_name(x->g, found, x->where);
		b->lpb = nb;
		b->cb = (uint32_t)n;
		return true;
	}
	/* "EX:" + the DN in capitals + NUL (PR_SEARCH_KEY of MS-OXNSPI). */
	if (b->cb > 4 && memcmp(b->lpb, "EX:", 3) == 0 && b->lpb[b->cb - 1] == 0 &&
	    !memchr(b->lpb, 0, b->cb - 1)) {
		char *key = dn_swap(x->mem, (const char *)b->lpb, NULL, x->g->name, true, found,
		                    sizeof(found));
		if (!key)
			return false;
		learn_dn_name(x->g, found, x->where);
		b->lpb = (uint8_t *)key;
		b->cb = (uint32_t)strlen(key) + 1;
		return true;
	}
	return false;
}

/* PR_EMS_AB_NETWORK_ADDRESS: our bindings instead of the server's. */
static bool swap_bindings(struct rw_ctx *x, struct mp_nspi_string_array *a)
{
	if (!a->strs || a->count == 0)
		return false;
	for (uint32_t i = 0; i < a->count; i++) {
		const char *v = a->strs[i];
		const char *host = v ? strchr(v, ':') : NULL;
		if (host) {
			char name[256];
			snprintf(name, sizeof(name), "%.*s", (int)strcspn(host + 1, "["), host + 1);
			learn(x->g, name, x->where, x->g->fqdn);
		}
	}
	char **strs = talloc_array(x->mem, char *, x->g->n_bindings);
	if (!strs)
		return false;
	for (size_t i = 0; i < x->g->n_bindings; i++)
		strs[i] = x->g->bindings[i];
	a->strs = strs;
	a->count = (uint32_t)x->g->n_bindings;
	return true;
}

static bool rewrite_prop(struct rw_ctx *x, struct mp_nspi_propval *v)
{
	uint16_t type = MP_NSPI_PROP_TYPE(v->proptag);
	bool changed = false;
	if (PID(v->proptag) == PID_NETWORK_ADDRESS) {
		if (type == MP_PTYP_MV_STRING8)
			return swap_bindings(x, &v->value.MVszA);
		if (type == MP_PTYP_MV_STRING)
			return swap_bindings(x, &v->value.MVszW);
	}
	switch (type) {
	case MP_PTYP_STRING8:
		return swap_string(x, &v->value.lpszA);
	case MP_PTYP_STRING:
		return swap_string(x, &v->value.lpszW);
	case MP_PTYP_MV_STRING8:
	case MP_PTYP_MV_STRING: {
		struct mp_nspi_string_array *a =
		    type == MP_PTYP_MV_STRING8 ? &v->value.MVszA : &v->value.MVszW;
		for (uint32_t i = 0; a->strs && i < a->count; i++)
			changed |= swap_string(x, &a->strs[i]);
		return changed;
	}
	case MP_PTYP_BINARY:
		return swap_binary(x, &v->value.bin);
	case MP_PTYP_MV_BINARY:
		for (uint32_t i = 0; v->value.MVbin.bins && i < v->value.MVbin.count; i++)
			changed |= swap_binary(x, &v->value.MVbin.bins[i]);
		return changed;
	default:
		return false;
	}
}

static bool rewrite_row(struct rw_ctx *x, struct mp_nspi_row *row)
{
	bool changed = false;
	for (uint32_t i = 0; row && row->props && i < row->count; i++)
		changed |= rewrite_prop(x, &row->props[i]);
	return changed;
}

static bool rewrite_rowset(struct rw_ctx *x, struct mp_nspi_rowset *set)
{
	bool changed = false;
	for (uint32_t i = 0; set && set->rows && i < set->count; i++)
		changed |= rewrite_row(x, &set->rows[i]);
	return changed;
}

static bool nspi_reply(struct rw_ctx *x, uint16_t opnum, void *rsp)
{
	switch (opnum) {
	case MP_NSPI_QUERY_ROWS:
		return rewrite_rowset(x, ((struct mp_nspi_query_rows_rsp *)rsp)->rows);
	case MP_NSPI_SEEK_ENTRIES:
		return rewrite_rowset(x, ((struct mp_nspi_seek_entries_rsp *)rsp)->rows);
	case MP_NSPI_GET_MATCHES:
		return rewrite_rowset(x, ((struct mp_nspi_get_matches_rsp *)rsp)->rows);
	case MP_NSPI_GET_PROPS:
		return rewrite_row(x, ((struct mp_nspi_get_props_rsp *)rsp)->row);
	case MP_NSPI_RESOLVE_NAMES:
	case MP_NSPI_RESOLVE_NAMES_W:
		return rewrite_rowset(x, ((struct mp_nspi_resolve_names_rsp *)rsp)->rows);
	default:
		return false;
	}
}

/* ---- replies: RFR ------------------------------------------------------ */

static bool swap_fqdn(struct rw_ctx *x, char **fqdn)
{
	if (!*fqdn || strcasecmp(*fqdn, x->g->fqdn) == 0)
		return false;
	learn(x->g, *fqdn, x->where, x->g->fqdn);
	*fqdn = x->g->fqdn;
	return true;
}

static bool rfr_reply(struct rw_ctx *x, uint16_t opnum, void *rsp)
{
	if (opnum == MP_RFR_GET_NEW_DSA) {
		struct mp_rfr_get_new_dsa_rsp *r = rsp;
		return r->server.present && swap_fqdn(x, &r->server.str);
	}
	if (opnum == MP_RFR_GET_FQDN_FROM_SERVER_DN)
		return swap_fqdn(x, &((struct mp_rfr_get_fqdn_rsp *)rsp)->fqdn);
	return false;
}

/* ---- requests: our name back to the server's --------------------------- */

/* A DN naming our server: the server's name instead; false when unchanged. */
static bool restore_dn(struct rw_ctx *x, char **dn)
{
	char found[256];
	if (!*dn)
		return false;
	if (!x->g->server_name) {
		/* Nothing learnt yet (no reply named the server since start). */
		size_t off, len;
		if (dn_server(*dn, &off, &len))
			mp_module_log(MP_MODULE_LOG_DEBUG,
			              "%s: %s sent as it is: the server's name is not known yet "
			              "(set rewrite:server name)",
			              x->where, *dn);
		return false;
	}
	char *n = dn_swap(x->mem, *dn, x->g->name, x->g->server_name, false, found, sizeof(found));
	if (!n)
		return false;
	mp_module_log(MP_MODULE_LOG_DEBUG, "%s: %s -> %s", x->where, *dn, n);
	*dn = n;
	return true;
}

static bool restore_request(struct rw_ctx *x, bool nspi, uint16_t opnum, void *req)
{
	bool changed = false;
	if (nspi && opnum == MP_NSPI_DN_TO_MID) {
		struct mp_nspi_strings *names = &((struct mp_nspi_dn_to_mid_req *)req)->names;
		for (uint32_t i = 0; names->strs && i < names->count; i++)
			changed |= restore_dn(x, &names->strs[i]);
	} else if (!nspi && opnum == MP_RFR_GET_FQDN_FROM_SERVER_DN) {
		struct mp_rfr_get_fqdn_req *r = req;
		if (restore_dn(x, &r->server_dn)) {
			size_t need = strlen(r->server_dn) + 1;
			r->cb = need < 10 ? 10 : (uint32_t)need; /* [range(10,1024)] */
			changed = true;
		}
	}
	return changed;
}

/* ---- hooks ------------------------------------------------------------- */

/* Which of our interfaces the call is on: 1 NSPI, 0 RFR, -1 neither. */
static int iface_of(struct mp_call *call)
{
	const char *e = mp_call_endpoint(call);
	if (strcasecmp(e, MP_ENDPOINT_NSPI) == 0)
		return 1;
	if (strcasecmp(e, MP_ENDPOINT_RFR) == 0)
		return 0;
	return -1;
}

static int rewrite_pull(struct mp_call *call, void *request)
{
	int nspi = iface_of(call);
	uint16_t opnum = mp_call_opnum(call);
	if (nspi < 0 || !request)
		return MP_MODULE_OK; /* not ours, or not decoded: relayed as it came */
	struct rw_ctx x = {mp_call_global(call), mp_call_mem(call), mp_call_name(call)};
	if (restore_request(&x, nspi == 1, opnum, request))
		mp_call_changed(call, MP_REQUEST);
	return MP_MODULE_OK;
}

static int rewrite_push(struct mp_call *call, void *response)
{
	int nspi = iface_of(call);
	uint16_t opnum = mp_call_opnum(call);
	if (nspi < 0)
		return MP_MODULE_OK;
	struct rw_ctx x = {mp_call_global(call), mp_call_mem(call), mp_call_name(call)};
	if (!response) {
		/* A reply the codec cannot read goes out as it came: say so
		 * when it is one that may name the server. */
		bool rows = opnum == MP_NSPI_QUERY_ROWS || opnum == MP_NSPI_SEEK_ENTRIES ||
		            opnum == MP_NSPI_GET_MATCHES || opnum == MP_NSPI_GET_PROPS ||
		            opnum == MP_NSPI_RESOLVE_NAMES || opnum == MP_NSPI_RESOLVE_NAMES_W;
		if (nspi == 1 ? rows : opnum < MP_RFR_OPNUM_COUNT)
			mp_module_log(
			    MP_MODULE_LOG_WARN,
			    "%s reply not decoded: relayed without rewriting (it may name the "
			    "server)",
			    x.where);
		return MP_MODULE_OK;
	}
	bool changed = nspi == 1 ? nspi_reply(&x, opnum, response) : rfr_reply(&x, opnum, response);
	if (changed)
		mp_call_changed(call, MP_RESPONSE);
	return MP_MODULE_OK;
}

/* ---- configuration ----------------------------------------------------- */

/* A host name we can put in a binding and a DN: no separators of either. */
static bool plain_name(const char *s)
{
	return s[0] && strcspn(s, "/:[]@, \t\\\"") == strlen(s);
}

static bool all_digits_and_dots(const char *s)
{
	return strspn(s, "0123456789.") == strlen(s);
}

/* Fill g from the options: MP_MODULE_OK, or MP_MODULE_ERROR with the
 * reason given to mp_module_error(). */
static int configure(struct mp_module_ctx *ctx, struct rw_global *g)
{
	const char *fqdn = mp_module_option(ctx, "fqdn", mp_module_fqdn(ctx));
	if (!plain_name(fqdn)) {
		mp_module_error(ctx,
		                "rewrite:fqdn '%s' is not a host name (set rewrite:fqdn or "
		                "mapiproxy:fqdn to the name clients reach the proxy by)",
		                fqdn);
		return MP_MODULE_ERROR;
	}
	g->fqdn = talloc_strdup(g, fqdn);
	const char *name = mp_module_option(ctx, "name", "");
	if (!name[0] && all_digits_and_dots(fqdn)) {
		mp_module_error(ctx,
		                "rewrite:fqdn %s is an address, it gives no name for DNs: set "
		                "rewrite:name (the proxy's short name, e.g. MAPIPROXY)",
		                fqdn);
		return MP_MODULE_ERROR;
	}
	g->name = name[0] ? talloc_strdup(g, name)
	                  : talloc_asprintf(g, "%.*s", (int)strcspn(fqdn, "."), fqdn);
	if (!g->fqdn || !g->name) {
		mp_module_error(ctx, "out of memory");
		return MP_MODULE_ERROR;
	}
	if (!plain_name(g->name) || strchr(g->name, '.')) {
		mp_module_error(ctx,
		                "rewrite:name '%s' must be a single name (no dots, slashes or "
		                "spaces), as in .../cn=Servers/cn=NAME",
		                g->name);
		return MP_MODULE_ERROR;
	}
	const char *server = mp_module_option(ctx, "server name", "");
	if (server[0]) {
		if (!plain_name(server) || strchr(server, '.')) {
			mp_module_error(ctx,
			                "rewrite:server name '%s' must be the server's name as "
			                "in .../cn=Servers/cn=NAME (no dots or slashes)",
			                server);
			return MP_MODULE_ERROR;
		}
		g->server_name = talloc_strdup(g, server);
		learn(g, server, "rewrite:server name", g->name);
	}
	/* "ncacn_ip_tcp, ncacn_http": each becomes "PROTSEQ:fqdn". */
	const char *list = mp_module_option(ctx, "bindings", "ncacn_ip_tcp");
	while (*list) {
		size_t skip = strspn(list, ", \t"), len;
		list += skip;
		len = strcspn(list, ", \t");
		if (!len)
			break;
		if (g->n_bindings == MAX_BINDINGS ||
		    strspn(list, "abcdefghijklmnopqrstuvwxyz0123456789_") < len) {
			mp_module_error(ctx,
			                "rewrite:bindings: '%.*s' %s (give up to %d protocol "
			                "sequences such as ncacn_ip_tcp, ncacn_http)",
			                (int)len, list,
			                g->n_bindings == MAX_BINDINGS
			                    ? "is one too many"
			                    : "is not a protocol sequence",
			                MAX_BINDINGS);
			return MP_MODULE_ERROR;
		}
		g->bindings[g->n_bindings] = talloc_asprintf(g, "%.*s:%s", (int)len, list, g->fqdn);
		if (!g->bindings[g->n_bindings++]) {
			mp_module_error(ctx, "out of memory");
			return MP_MODULE_ERROR;
		}
		list += len;
	}
	if (!g->n_bindings) {
		mp_module_error(ctx, "rewrite:bindings is empty: give at least ncacn_ip_tcp");
		return MP_MODULE_ERROR;
	}
	mp_module_log(MP_MODULE_LOG_INFO, "clients are shown %s (DNs: cn=%s)%s%s", g->fqdn, g->name,
	              g->server_name ? "; DNs go back to the server as cn=" : "",
	              g->server_name ? g->server_name : "");
	return MP_MODULE_OK;
}

static int rewrite_init(struct mp_module_ctx *ctx)
{
	struct rw_global *g = talloc_zero(NULL, struct rw_global);
	if (!g) {
		mp_module_error(ctx, "out of memory");
		return MP_MODULE_ERROR;
	}
	if (configure(ctx, g) != MP_MODULE_OK) {
		talloc_free(g);
		return MP_MODULE_ERROR;
	}
	mp_module_set_global(ctx, g);
	return MP_MODULE_OK;
}

static void rewrite_fini(struct mp_module_ctx *ctx)
{
	talloc_free(mp_module_global(ctx));
}

MP_MODULE_EXPORT = {
    .abi = MP_MODULE_ABI,
    .name = "rewrite",
    .description = "shows clients the proxy's name where NSPI and RFR name the server",
    .endpoint = MP_ENDPOINT_NSPI ", " MP_ENDPOINT_RFR,
    .init = rewrite_init,
    .fini = rewrite_fini,
    .pull = rewrite_pull,
    .push = rewrite_push,
};
